/*
 * basic_test.c - the flag encoding table, every error case, failure
 * injected at each table allocation, huge-page splits and replacement.
 */
#include <string.h>
#include "fixture.h"

#define RAM (64 * MiB)
#define VA  (0x7f0000000000ULL)     /* a 1 GiB aligned spot in the user half */
#define PA  (0x123400000000ULL)     /* targets need not be RAM: mapping never touches them */

/* Every level, every cache type, the protection bits: the raw entry is what pte.h promises. */
void test_encoding(void)
{
	static const unsigned cache[4] = { PG_CACHE_WB, PG_CACHE_WT, PG_CACHE_UC, PG_CACHE_WC };
	static const unsigned pat_index[4] = { 0, 1, 3, 4 };    /* WB, WT, UC, WC in protect.c's PAT */
	static const uint64_t sizes[3] = { 4 * KiB, 2 * MiB, GiB };
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create(), base = pmm_free_count();
	for (unsigned lv = 0; lv < 3; lv++)
		for (unsigned c = 0; c < 4; c++)
			for (unsigned p = 0; p < 16; p++) {
				unsigned f = PG_READ | cache[c] | (p & 1 ? PG_WRITE : 0) | (p & 2 ? PG_EXEC : 0) |
					     (p & 4 ? PG_USER : 0) | (p & 8 ? PG_GLOBAL : 0);
				unsigned got;
				size_t sz;
				uint64_t off = lv ? 4096 : 0;   /* a page inside a huge one */
				CHECK_EQ(pg_map(root, VA, PA, sizes[lv], f | ((lv + 1) << 9) | PG_ALLOW_WX), PG_OK);
				struct hw_xlate x = hw_walk(root, VA + off);
				CHECK(x.ok && !x.bad_bits);
				CHECK_EQ(x.size, sizes[lv]);
				CHECK_EQ(x.pa, PA + off);
				CHECK_EQ(x.pat_index, pat_index[c]);
				CHECK_EQ(x.w, !!(p & 1));
				CHECK_EQ(x.nx, !(p & 2));
				CHECK_EQ(x.u, !!(p & 4));
				CHECK_EQ(x.g, !!(p & 8));
				CHECK_EQ(pg_translate(root, VA + off, NULL, &got, &sz), PG_OK);
				CHECK_EQ(got, f);
				CHECK_EQ(sz, sizes[lv]);
				CHECK_EQ(pg_unmap(root, VA, sizes[lv]), PG_OK);
			}
	CHECK_EQ(pmm_free_count(), base);

	/* Without NX and PGE the CPU cannot say no-execute or global: no such bits, and translate says so. */
	fixture_boot(RAM, &cpu_bare);
	root = pg_root_create();
	unsigned got;
	CHECK_EQ(pg_map(root, VA, PA, 2 * MiB, PG_READ | PG_GLOBAL), PG_OK);
	struct hw_xlate x = hw_walk(root, VA);
	CHECK(x.ok && !x.nx && !x.g && x.size == 2 * MiB);
	CHECK_EQ(pg_translate(root, VA, NULL, &got, NULL), PG_OK);
	CHECK_EQ(got, PG_READ | PG_EXEC);
}

/* The pages of [va, va+len) translate as before: nothing changed. */
static uint64_t digest(uint64_t root, uint64_t va, uint64_t len)
{
	uint64_t h = 1469598103934665603ULL;
	for (uint64_t a = va; a - va < len; a += 4096) {
		uint64_t pa = 0;
		unsigned f = 0;
		size_t sz = 0;
		int rc = pg_translate(root, a, &pa, &f, &sz);
		h = (h ^ (uint64_t)rc ^ pa ^ f ^ sz) * 1099511628211ULL;
	}
	return h;
}

#define REFUSED(call, err) do { \
	uint64_t free_ = pmm_free_count(), d_ = digest(root, VA - 2 * MiB, 8 * MiB); \
	CHECK_EQ((call), (uint64_t)(err)); \
	CHECK_EQ(pmm_free_count(), free_); \
	CHECK_EQ(digest(root, VA - 2 * MiB, 8 * MiB), d_); } while (0)

void test_errors(void)
{
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create();
	unsigned rw = PG_READ | PG_WRITE;
	CHECK_EQ(pg_map(root, VA + 4096, PA, 4096, rw), PG_OK);
	REFUSED(pg_map(root, VA, PA, 0, rw), PG_E_LENGTH);
	REFUSED(pg_map(root, VA + 1, PA, 4096, rw), PG_E_ALIGN);
	REFUSED(pg_map(root, VA, PA + 8, 4096, rw), PG_E_ALIGN);
	REFUSED(pg_map(root, VA, PA, 4095, rw), PG_E_ALIGN);
	REFUSED(pg_map(root, 0x0000800000000000ULL, PA, 4096, rw), PG_E_CANONICAL);
	REFUSED(pg_map(root, 0x00007ffffffff000ULL, PA, 8192, rw), PG_E_CANONICAL);
	REFUSED(pg_map(root, 0xffff7ffffffff000ULL, PA, 8192, rw), PG_E_CANONICAL);
	REFUSED(pg_map(root, 0xfffffffffffff000ULL, PA, 8192, rw), PG_E_LENGTH);
	REFUSED(pg_map(root, VA, 1ULL << 46, 4096, rw), PG_E_PHYS_RANGE);
	REFUSED(pg_map(root, VA, (1ULL << 46) - 4096, 8192, rw), PG_E_PHYS_RANGE);
	REFUSED(pg_map(root, VA, 0xfffffffffffff000ULL, 8192, rw), PG_E_LENGTH);
	REFUSED(pg_map(root, VA, PA, 4096, PG_WRITE), PG_E_UNSUPPORTED);
	REFUSED(pg_map(root, VA, PA, 4096, rw | (1u << 15)), PG_E_UNSUPPORTED);
	REFUSED(pg_map(root, VA, PA, 2 * MiB, rw | PG_SIZE_2M), PG_E_EXISTS);
	REFUSED(pg_map(root, VA + 4096, PA, 2 * MiB, rw | PG_SIZE_2M), PG_E_ALIGN);
	REFUSED(pg_map(root, VA, PA + 4096, 2 * MiB, rw | PG_SIZE_2M), PG_E_ALIGN);
	REFUSED(pg_map(root, VA, PA, 3 * 4096, rw), PG_E_EXISTS);        /* the middle page is there */
	REFUSED(pg_unmap(root, VA, 3 * 4096), PG_E_NOT_MAPPED);          /* the first is not */
	REFUSED(pg_unmap(root, VA + 8192, 4096), PG_E_NOT_MAPPED);
	REFUSED(pg_unmap(root, VA, 0), PG_E_LENGTH);
	REFUSED(pg_unmap(root, 0x0000800000000000ULL, 4096), PG_E_CANONICAL);
	REFUSED(pg_protect(root, VA, 2 * 4096, rw), PG_E_NOT_MAPPED);
	REFUSED(pg_protect(root, VA + 4096, 4096, PG_WRITE), PG_E_UNSUPPORTED);
	REFUSED(pg_protect(root, VA + 4096, 4096, rw | PG_MAP_REPLACE), PG_E_UNSUPPORTED);
	REFUSED(pg_translate(root, 0x0000800000000000ULL, NULL, NULL, NULL), PG_E_CANONICAL);
	REFUSED(pg_translate(root, VA, NULL, NULL, NULL), PG_E_NOT_MAPPED);
	CHECK(!strcmp(pg_error_str(PG_E_EXISTS), "already mapped"));
	CHECK_EQ(paging_init(3), PG_E_UNSUPPORTED);

	fixture_boot(RAM, &cpu_bare);                                   /* no 1 GiB pages */
	root = pg_root_create();
	REFUSED(pg_map(root, VA, PA, GiB, rw | PG_SIZE_1G), PG_E_UNSUPPORTED);
	CHECK_EQ(pg_map(root, VA, PA, GiB, rw), PG_OK);                 /* falls back to 2 MiB */
	size_t sz;
	CHECK_EQ(pg_translate(root, VA, NULL, NULL, &sz), PG_OK);
	CHECK_EQ(sz, 2 * MiB);
	/* The last page of the address space: va+len wraps to exactly 0, which is fine. */
	CHECK_EQ(pg_map(root, 0xfffffffffffff000ULL, PA, 4096, rw), PG_OK);
	CHECK_EQ(pg_unmap(root, 0xfffffffffffff000ULL, 4096), PG_OK);
}

void test_errors_la57(void)
{
	fixture_boot(RAM, &cpu_la57);
	uint64_t root = pg_root_create();
	unsigned rw = PG_READ | PG_WRITE;
	CHECK(pg_va_canonical(0x0000800000000000ULL));
	CHECK(!pg_va_canonical(0x0100000000000000ULL));
	CHECK(pg_va_canonical(0xff00000000000000ULL));
	REFUSED(pg_map(root, 0x0100000000000000ULL, PA, 4096, rw), PG_E_CANONICAL);
	REFUSED(pg_map(root, 0x00fffffffffff000ULL, PA, 8192, rw), PG_E_CANONICAL);
	CHECK_EQ(pg_map(root, 0x00fffffffffff000ULL, PA, 4096, rw), PG_OK);
	CHECK_EQ(pg_map(root, 0x0000800000000000ULL, PA, 4096, rw), PG_OK);
	struct hw_xlate x = hw_walk(root, 0x00fffffffffff000ULL);
	CHECK(x.ok && x.pa == PA);
	uint64_t before = pmm_free_count();
	CHECK_EQ(pg_unmap(root, 0x00fffffffffff000ULL, 4096), PG_OK);
	CHECK_EQ(pg_unmap(root, 0x0000800000000000ULL, 4096), PG_OK);
	CHECK_EQ(pmm_free_count(), before + 8);   /* 4 tables under each, all empty now */
}

/*
 * Run op with the i-th allocation failing, for i = 1, 2, ... until op
 * succeeds: every failure must leave free frames and translations as they were.
 */
static void fail_each(uint64_t root, int (*op)(uint64_t), uint64_t va, uint64_t len, unsigned min_fails)
{
	unsigned fails = 0;
	for (unsigned i = 1; i < 64; i++) {
		uint64_t free0 = pmm_free_count(), d = digest(root, va, len);
		pmm_fail_nth(i);
		int rc = op(root);
		pmm_fail_nth(0);
		if (rc == PG_OK)
			break;
		fails++;
		CHECK_EQ(rc, PG_E_NO_MEMORY);
		CHECK_EQ(pmm_free_count(), free0);
		CHECK_EQ(digest(root, va, len), d);
	}
	CHECK(fails >= min_fails);
	CHECK_EQ(pmm_check(), 0);
}

static int op_map_one(uint64_t r) { return pg_map(r, VA, PA, 4096, PG_READ); }
#define SPAN_VA (5 * GiB - 32 * KiB)
static int op_map_span(uint64_t r)          /* 4 KiB pages across a 1 GiB boundary */
{
	return pg_map(r, SPAN_VA, PA, 64 * KiB, PG_READ | PG_SIZE_4K);
}
static int op_map_span_high(uint64_t r)    /* across a 512 GiB boundary */
{
	return pg_map(r, 0x008000000000ULL - 3 * MiB, PA, 6 * MiB + 8192, PG_READ);
}
static int op_unmap_in_1g(uint64_t r) { return pg_unmap(r, VA + GiB + 3 * MiB + 4096, 4096); }
static int op_protect_in_1g(uint64_t r) { return pg_protect(r, VA + GiB + 5 * MiB, 2 * MiB + 4096, PG_READ); }
static int op_replace_in_1g(uint64_t r)
{
	return pg_map(r, VA + GiB + 9 * MiB, PA, 4096, PG_READ | PG_MAP_REPLACE);
}

void test_fail_injection(void)
{
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create(), base = pmm_free_count();
	fail_each(root, op_map_one, VA, 4096, 3);               /* PDPT, PD, PT */
	fail_each(root, op_map_span, SPAN_VA, 64 * KiB, 5);       /* PDPT, 2 PDs, 2 PTs */
	fail_each(root, op_map_span_high, 0x008000000000ULL - 3 * MiB, 6 * MiB + 8192, 4);
	CHECK_EQ(pg_map(root, VA + GiB, PA, GiB, PG_READ | PG_WRITE), PG_OK);
	fail_each(root, op_unmap_in_1g, VA + GiB, 16 * MiB, 2);   /* 1G -> 2M -> 4K */
	fail_each(root, op_protect_in_1g, VA + GiB, 16 * MiB, 1);
	fail_each(root, op_replace_in_1g, VA + GiB, 16 * MiB, 1);
	CHECK_EQ(pg_unmap(root, VA, 4096), PG_OK);
	CHECK_EQ(pg_unmap(root, SPAN_VA, 64 * KiB), PG_OK);
	CHECK_EQ(pg_unmap(root, 0x008000000000ULL - 3 * MiB, 6 * MiB + 8192), PG_OK);
	CHECK_EQ(pg_unmap(root, VA + GiB, GiB - 0), PG_E_NOT_MAPPED);   /* one page is gone */
	CHECK_EQ(pg_unmap(root, VA + GiB, 3 * MiB + 4096), PG_OK);
	CHECK_EQ(pg_unmap(root, VA + GiB + 3 * MiB + 8192, GiB - 3 * MiB - 8192), PG_OK);
	CHECK_EQ(pmm_free_count(), base);
}

/* Unmapping or re-protecting part of a huge page keeps every other page as it was. */
void test_split(void)
{
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create(), base = pmm_free_count();
	unsigned rw = PG_READ | PG_WRITE | PG_CACHE_WC;
	CHECK_EQ(pg_map(root, VA, PA, GiB, rw), PG_OK);
	CHECK_EQ(pg_protect(root, VA + 6 * MiB + 4096, 4096, PG_READ | PG_CACHE_WC), PG_OK);
	CHECK_EQ(pg_unmap(root, VA + 10 * MiB, 2 * MiB), PG_OK);
	for (uint64_t off = 0; off < GiB; off += (off < 16 * MiB ? 4096 : 64 * 4096)) {
		struct hw_xlate x = hw_walk(root, VA + off);
		bool gone = off >= 10 * MiB && off < 12 * MiB;
		CHECK_EQ(x.ok, !gone);
		if (gone || !x.ok)
			continue;
		CHECK(!x.bad_bits);
		CHECK_EQ(x.pa, PA + off);
		CHECK_EQ(x.pat_index, 4);                       /* WC survives the PAT bit's move */
		CHECK_EQ(x.w, off != 6 * MiB + 4096);
		CHECK_EQ(x.size, off >= 6 * MiB && off < 8 * MiB ? 4096 : 2 * MiB);
	}
	CHECK_EQ(pmm_free_count(), base - 3);                   /* PDPT, the 1G's PD, the 2M's PT */
	CHECK_EQ(pg_unmap(root, VA, 10 * MiB), PG_OK);
	CHECK_EQ(pg_unmap(root, VA + 12 * MiB, GiB - 12 * MiB), PG_OK);
	CHECK_EQ(pmm_free_count(), base);
}

/*
 * One-page unmap and protect (map.c's edit_one_fast, and the general path
 * it leaves the other cases to): a 4 KiB leaf among others, the last leaf
 * of a table (which then goes), a page inside a 2 MiB leaf (which splits),
 * and a page not mapped (refused, nothing changed).
 */
void test_one_page_edits(void)
{
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create(), base = pmm_free_count();
	unsigned rw = PG_READ | PG_WRITE;
	CHECK_EQ(pg_map(root, VA, PA, 3 * 4096, rw | PG_SIZE_4K), PG_OK);
	CHECK_EQ(pmm_free_count(), base - 3);                   /* PDPT, PD, PT */
	CHECK_EQ(pg_protect(root, VA + 4096, 4096, PG_READ), PG_OK);
	struct hw_xlate x = hw_walk(root, VA + 4096);
	CHECK(x.ok && !x.w && x.pa == PA + 4096);
	CHECK(hw_walk(root, VA).w && hw_walk(root, VA + 8192).w);
	CHECK_EQ(pg_unmap(root, VA + 4096, 4096), PG_OK);
	CHECK(!hw_walk(root, VA + 4096).ok && hw_walk(root, VA).ok && hw_walk(root, VA + 8192).ok);
	CHECK_EQ(pg_unmap(root, VA + 4096, 4096), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_protect(root, VA + 4096, 4096, PG_READ), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_unmap(root, VA, 4096), PG_OK);
	CHECK_EQ(pmm_free_count(), base - 3);                   /* the PT still holds a page */
	CHECK_EQ(pg_unmap(root, VA + 8192, 4096), PG_OK);       /* its last: the tables go */
	CHECK_EQ(pmm_free_count(), base);
	CHECK(!hw_walk(root, VA + 8192).ok);

	CHECK_EQ(pg_map(root, VA, PA, 2 * MiB, rw), PG_OK);     /* one 2 MiB leaf */
	CHECK_EQ(pg_protect(root, VA + 5 * 4096, 4096, PG_READ), PG_OK);
	x = hw_walk(root, VA + 5 * 4096);
	CHECK(x.ok && x.size == 4096 && !x.w && x.pa == PA + 5 * 4096);
	CHECK_EQ(pg_unmap(root, VA + 7 * 4096, 4096), PG_OK);
	CHECK(!hw_walk(root, VA + 7 * 4096).ok);
	x = hw_walk(root, VA + 6 * 4096);
	CHECK(x.ok && x.w && x.pa == PA + 6 * 4096);
	CHECK_EQ(pg_unmap(root, VA, 2 * MiB), PG_E_NOT_MAPPED);  /* a hole in it now */
	CHECK_EQ(pg_unmap(root, VA, 7 * 4096), PG_OK);
	CHECK_EQ(pg_unmap(root, VA + 8 * 4096, 2 * MiB - 8 * 4096), PG_OK);
	CHECK_EQ(pmm_free_count(), base);
}

/* PG_MAP_REPLACE over tables and huge pages: the old subtree goes back to the buddy. */
void test_replace(void)
{
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create(), base = pmm_free_count();
	CHECK_EQ(pg_map(root, VA, PA, 4 * MiB, PG_READ | PG_SIZE_4K), PG_OK);
	CHECK_EQ(pmm_free_count(), base - 4);                   /* PDPT, PD, 2 PTs */
	CHECK_EQ(pg_map(root, VA, PA + GiB, GiB, PG_READ | PG_WRITE), PG_E_EXISTS);
	CHECK_EQ(pg_map(root, VA, PA + GiB, GiB, PG_READ | PG_WRITE | PG_MAP_REPLACE), PG_OK);
	CHECK_EQ(pmm_free_count(), base - 1);                   /* only the PDPT is left */
	struct hw_xlate x = hw_walk(root, VA + 5 * MiB);
	CHECK(x.ok && x.size == GiB && x.pa == PA + GiB + 5 * MiB && x.w);
	CHECK_EQ(pg_map(root, VA + 4096, PA, 4096, PG_READ | PG_MAP_REPLACE), PG_OK);
	x = hw_walk(root, VA + 4096);
	CHECK(x.ok && x.size == 4096 && x.pa == PA && !x.w);
	x = hw_walk(root, VA + 8192);
	CHECK(x.ok && x.size == 4096 && x.pa == PA + GiB + 8192 && x.w);
	CHECK_EQ(pg_unmap(root, VA, GiB), PG_OK);
	CHECK_EQ(pmm_free_count(), base);
}

/* W^X: a writable, executable mapping only when the caller says so (issue 9). */
void test_wx(void)
{
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create(), base = pmm_free_count();
	const unsigned wx = PG_READ | PG_WRITE | PG_EXEC;
	CHECK_EQ(pg_map(root, VA, PA, 4096, wx), PG_E_WX);
	CHECK_EQ(pg_map(root, VA, PA, 2 * MiB, wx | PG_USER), PG_E_WX);
	CHECK_EQ(pg_translate(root, VA, NULL, NULL, NULL), PG_E_NOT_MAPPED);
	CHECK_EQ(pmm_free_count(), base);
	CHECK(strcmp(pg_error_str(PG_E_WX), "?") != 0);
	CHECK_EQ(pg_map(root, VA, PA, 4096, PG_READ | PG_WRITE), PG_OK);
	CHECK_EQ(pg_protect(root, VA, 4096, wx), PG_E_WX);
	unsigned f;
	CHECK_EQ(pg_translate(root, VA, NULL, &f, NULL), PG_OK);
	CHECK_EQ(f & (PG_WRITE | PG_EXEC), PG_WRITE);
	CHECK_EQ(pg_protect(root, VA, 4096, wx | PG_ALLOW_WX), PG_OK);
	CHECK_EQ(pg_translate(root, VA, NULL, &f, NULL), PG_OK);
	CHECK_EQ(f & (PG_WRITE | PG_EXEC | PG_ALLOW_WX), PG_WRITE | PG_EXEC);      /* never stored */
	CHECK_EQ(pg_map(root, VA + 4096, PA, 4096, wx | PG_ALLOW_WX), PG_OK);
	CHECK_EQ(pg_map(root, VA + 8192, PA, 4096, PG_READ | PG_EXEC), PG_OK);
	CHECK_EQ(pg_unmap(root, VA, 3 * 4096), PG_OK);
	pg_root_destroy(root);
}

/* A root whose PML4 entry for VA has PS set: no 512 GiB pages exist, so the table is corrupt. */
static uint64_t corrupt_root(void)
{
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create();
	CHECK_EQ(pg_map(root, VA, PA, 4096, PG_READ), PG_OK);
	((uint64_t *)(hhdm_offset + root))[(VA >> 39) & 511] |= 1ULL << 7;
	return root;
}

/*
 * A broken table stops the layer with "PANIC: paging" instead of being
 * followed. Each panic leaves pg.lock held: fixture_boot starts over.
 */
void test_corrupt_table(void)
{
	uint64_t root = corrupt_root();
	CHECK(FAKE_PANICS(pg_translate(root, VA, NULL, NULL, NULL)));
	CHECK(strncmp(fake_panic_msg, "paging: ", 8) == 0);
	root = corrupt_root();
	CHECK(FAKE_PANICS(pg_unmap(root, VA, 4096)));
	root = corrupt_root();
	CHECK(FAKE_PANICS(pg_map(root, VA + 4096, PA, 4096, PG_READ | PG_MAP_REPLACE)));
	root = corrupt_root();
	CHECK(FAKE_PANICS(pg_protect(root, VA, 4096, PG_READ | PG_WRITE)));
	fixture_boot(RAM, &cpu_full);
}
