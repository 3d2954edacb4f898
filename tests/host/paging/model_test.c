/*
 * model_test.c - long random sequences of map, unmap and protect over
 * mixed page sizes, against a model that knows nothing of page tables: a
 * dictionary from each 4 KiB page to (pa, flags). After every operation
 * the pages it touched are compared with pg_translate and with the tests'
 * own walker; every so often the whole window is. At the end everything
 * is unmapped and the buddy must have every table back.
 */
#include <string.h>
#include "fixture.h"

#define WIN   (4 * GiB)                 /* the window the sequence plays in */
#define PAGES (WIN / 4096)

struct page { uint64_t pa; unsigned flags; };   /* flags 0: not mapped */
static struct page *model;
static uint64_t win;                            /* straddles a top-level boundary */
static uint64_t root;
static unsigned done[4];                        /* maps, unmaps, protects that succeeded; refusals */

static uint64_t pick_len(uint64_t *s)
{
	switch (rnd_next(s) % 8) {
	case 0: return GiB;
	case 1: case 2: return (1 + rnd_next(s) % 4) * 2 * MiB;
	case 3: return (1 + rnd_next(s) % 1100) * 4096;
	default: return (1 + rnd_next(s) % 24) * 4096;
	}
}

/* va aligned like len, mostly; pa sharing va's alignment (huge pages), or not. */
static void pick(uint64_t *s, uint64_t *va, uint64_t *pa, uint64_t *len)
{
	*len = pick_len(s);
	uint64_t align = *len >= GiB ? GiB : *len >= 2 * MiB && rnd_next(s) % 2 ? 2 * MiB : 4096;
	*va = win + (rnd_next(s) % ((WIN - *len) / align + 1)) * align;
	if (rnd_next(s) % 4)
		*va = win + ((*va - win) & ~(2 * MiB - 1)) + (rnd_next(s) % 2) * 4096 * (rnd_next(s) % 8);
	if (*va + *len > win + WIN)
		*va = win + WIN - *len;
	uint64_t pbase = (1 + rnd_next(s) % 4096) * GiB;
	*pa = rnd_next(s) % 3 ? pbase + ((*va - win) % GiB) : pbase + (rnd_next(s) % 1024) * 4096;
}

static unsigned pick_flags(uint64_t *s)
{
	static const unsigned cache[4] = { PG_CACHE_WB, PG_CACHE_WT, PG_CACHE_UC, PG_CACHE_WC };
	unsigned f = PG_READ | cache[rnd_next(s) % 4];
	f |= rnd_next(s) % 2 ? PG_WRITE : 0;
	f |= rnd_next(s) % 2 ? PG_EXEC : 0;
	f |= rnd_next(s) % 3 ? 0 : PG_USER;
	f |= rnd_next(s) % 5 ? 0 : PG_GLOBAL;
	return f;
}

static bool any_mapped(uint64_t va, uint64_t len, bool all)
{
	for (uint64_t i = (va - win) / 4096; i < (va - win + len) / 4096; i++)
		if (!!model[i].flags != all)
			return !all;
	return all;
}

static void check_page(uint64_t i)
{
	uint64_t va = win + i * 4096, pa = 0;
	unsigned f = 0;
	int rc = pg_translate(root, va, &pa, &f, NULL);
	struct hw_xlate x = hw_walk(root, va);
	if (!model[i].flags) {
		CHECK_EQ(rc, PG_E_NOT_MAPPED);
		CHECK(!x.ok);
		return;
	}
	unsigned want = expect_flags(model[i].flags);
	CHECK_EQ(rc, PG_OK);
	CHECK_EQ(pa, model[i].pa);
	CHECK_EQ(f, want);
	CHECK(x.ok && !x.bad_bits && x.pa == model[i].pa);
	CHECK_EQ(x.w, !!(want & PG_WRITE));
	CHECK_EQ(x.u, !!(want & PG_USER));
	CHECK_EQ(x.nx, !(want & PG_EXEC));
	if (check_failed_in_test) {
		printf("#   page %" PRIx64 "\n", va);
		exit(1);
	}
}

static void check_range_pages(uint64_t va, uint64_t len)
{
	uint64_t lo = va - win > 2 * MiB ? va - win - 2 * MiB : 0;
	uint64_t hi = va - win + len + 2 * MiB < WIN ? va - win + len + 2 * MiB : WIN;
	uint64_t step = hi - lo > 64 * MiB ? 97 : 1;                 /* big ranges: a sample */
	for (uint64_t i = lo / 4096; i < hi / 4096; i += step)
		check_page(i);
}

static void set_model(uint64_t va, uint64_t pa, uint64_t len, unsigned flags, bool keep_pa)
{
	for (uint64_t off = 0; off < len; off += 4096) {
		struct page *p = &model[(va - win + off) / 4096];
		if (!keep_pa)
			p->pa = flags ? pa + off : 0;
		p->flags = flags;
	}
}

static void step(uint64_t *s)
{
	uint64_t va, pa, len;
	pick(s, &va, &pa, &len);
	unsigned f = pick_flags(s), op = rnd_next(s) % 10;
	if (op < 4) {
		unsigned opt = rnd_next(s) % 3 ? 0 : PG_MAP_REPLACE;
		int want = (opt || !any_mapped(va, len, false)) ? PG_OK : PG_E_EXISTS;
		CHECK_EQ(pg_map(root, va, pa, len, f | opt | PG_ALLOW_WX), want);
		done[want == PG_OK ? 0 : 3]++;
		if (want == PG_OK)
			set_model(va, pa, len, f, false);
	} else if (op < 7) {
		int want = any_mapped(va, len, true) ? PG_OK : PG_E_NOT_MAPPED;
		CHECK_EQ(pg_unmap(root, va, len), want);
		done[want == PG_OK ? 1 : 3]++;
		if (want == PG_OK)
			set_model(va, 0, len, 0, false);
	} else {
		int want = any_mapped(va, len, true) ? PG_OK : PG_E_NOT_MAPPED;
		CHECK_EQ(pg_protect(root, va, len, f | PG_ALLOW_WX), want);
		done[want == PG_OK ? 2 : 3]++;
		if (want == PG_OK)
			set_model(va, 0, len, f, true);
	}
	check_range_pages(va, len);
}

/* Unmap each run of mapped pages with one call. */
static void unmap_all(void)
{
	for (uint64_t i = 0; i < PAGES;) {
		if (!model[i].flags) {
			i++;
			continue;
		}
		uint64_t j = i;
		while (j < PAGES && model[j].flags)
			j++;
		CHECK_EQ(pg_unmap(root, win + i * 4096, (j - i) * 4096), PG_OK);
		set_model(win + i * 4096, 0, (j - i) * 4096, 0, false);
		i = j;
	}
}

static void run_model(const struct cpu_cfg *c, uint64_t seed, unsigned steps)
{
	fixture_boot(64 * MiB, c);
	model = calloc(PAGES, sizeof(*model));
	/* 2 GiB below the end of the first top-level entry (512 GiB, or 256 TiB with 5 levels). */
	win = (1ULL << (c->levels == 5 ? 48 : 39)) - 2 * GiB;
	root = pg_root_create();
	fake_cpu.cr3 = root;
	uint64_t base = pmm_free_count(), s = seed;
	memset(done, 0, sizeof(done));
	for (unsigned n = 1; n <= steps && !check_failed_in_test; n++) {
		step(&s);
		if (n % 500 == 0) {
			for (uint64_t i = 0; i < PAGES; i += 13)
				check_page(i);
			CHECK_EQ(pmm_check(), 0);
		}
	}
	printf("# model: %u maps, %u unmaps, %u protects done, %u refused as the model said\n",
	       done[0], done[1], done[2], done[3]);
	CHECK(done[0] > steps / 10 && done[1] > steps / 20 && done[2] > steps / 20);
	unmap_all();
	CHECK_EQ(pmm_free_count(), base);                       /* no table leaked */
	fake_cpu.cr3 = 0;
	pg_root_destroy(root);
	free(model);
}

void test_model_4level(void) { run_model(&cpu_full, 0x5eed1234, 3000); }
void test_model_5level(void) { run_model(&cpu_la57, 0xfeedbeef, 2000); }
void test_model_no_1g_no_nx(void) { run_model(&cpu_bare, 0xabcdef99, 2000); }
