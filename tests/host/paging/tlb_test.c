/*
 * tlb_test.c - TLB maintenance as the fake CPU sees it: invlpg for each
 * changed leaf of the current root, a full flush past the threshold,
 * nothing for another root's user half, PCID tags kept across switches.
 */
#include "fixture.h"

#define VA 0x7f0000000000ULL
#define PA 0x100000000ULL

void test_tlb(void)
{
	fixture_boot(64 * MiB, &cpu_full);
	uint64_t root = pg_root_create(), other = pg_root_create();
	unsigned rw = PG_READ | PG_WRITE;
	fake_cpu.cr3 = root;
	CHECK_EQ(pg_map(root, VA, PA, 64 * 4096, rw | PG_SIZE_4K), PG_OK);
	CHECK_EQ(fake_cpu.invlpg_count + fake_cpu.flush_count, 0);     /* new entries: nothing to drop */
	CHECK_EQ(pg_unmap(root, VA + 4096, 4096), PG_OK);
	CHECK_EQ(fake_cpu.invlpg_count, 1);
	CHECK_EQ(fake_cpu.last_invlpg, VA + 4096);
	CHECK_EQ(pg_protect(root, VA + 8192, 3 * 4096, PG_READ), PG_OK);
	CHECK_EQ(fake_cpu.invlpg_count, 4);
	CHECK_EQ(pg_protect(root, VA + 8192, 3 * 4096, PG_READ), PG_OK); /* no change, no flush */
	CHECK_EQ(fake_cpu.invlpg_count, 4);
	CHECK_EQ(pg_map(root, VA + 4096, PA, 4096, rw | PG_MAP_REPLACE), PG_OK);
	CHECK_EQ(fake_cpu.invlpg_count, 4);                             /* it was not present */
	CHECK_EQ(pg_map(root, VA + 4096, PA, 4096, PG_READ | PG_MAP_REPLACE), PG_OK);
	CHECK_EQ(fake_cpu.invlpg_count, 5);
	CHECK_EQ(pg_unmap(root, VA, 64 * 4096), PG_OK);                 /* 64 > threshold */
	CHECK_EQ(fake_cpu.invlpg_count, 5);
	CHECK_EQ(fake_cpu.flush_count, 1);
	CHECK_EQ(fake_cpu.global_flush_count, 0);
	CHECK_EQ(pg_map(root, VA, PA, 64 * 4096, rw | PG_GLOBAL | PG_SIZE_4K), PG_OK);
	CHECK_EQ(pg_unmap(root, VA, 64 * 4096), PG_OK);
	CHECK_EQ(fake_cpu.global_flush_count, 1);                       /* global entries need CR4.PGE toggled */

	/* Splitting a 2 MiB page to unmap 4 KiB: the huge entry and the page, two invlpgs. */
	CHECK_EQ(pg_map(root, VA, PA, 2 * MiB, rw), PG_OK);
	uint64_t n = fake_cpu.invlpg_count;
	CHECK_EQ(pg_unmap(root, VA + 4096, 4096), PG_OK);
	CHECK(fake_cpu.invlpg_count - n >= 2 && fake_cpu.invlpg_count - n <= 3);

	/* Not the current root: its user half cannot be in the TLB. */
	fake_cpu = (struct fake_cpu){ .cr3 = other };
	CHECK_EQ(pg_unmap(root, VA, 4096), PG_OK);
	CHECK_EQ(pg_protect(root, VA + 8192, 4096, PG_READ), PG_OK);
	CHECK_EQ(fake_cpu.invlpg_count + fake_cpu.flush_count + fake_cpu.global_flush_count, 0);
	/* ...but the kernel half is shared by every root. */
	CHECK_EQ(pg_map(root, 0xffffc00000000000ULL, PA, 4096, rw), PG_OK);
	CHECK_EQ(pg_unmap(root, 0xffffc00000000000ULL, 4096), PG_OK);
	CHECK_EQ(fake_cpu.invlpg_count, 1);
	/* The public entry point: per page, then full. */
	fake_cpu = (struct fake_cpu){ .cr3 = root };
	tlb_flush_range(root, VA, 3 * 4096);
	CHECK_EQ(fake_cpu.invlpg_count, 3);
	tlb_flush_range(root, VA, (TLB_FULL_FLUSH_PAGES + 1) * 4096);
	CHECK_EQ(fake_cpu.invlpg_count, 3);
	CHECK_EQ(fake_cpu.flush_count, 1);
	tlb_flush_range(other, VA, 4096);
	CHECK_EQ(fake_cpu.invlpg_count, 3);
	CHECK_EQ(pg_current_root(), root);
	fake_cpu.cr3 = 0;
	pg_root_destroy(root);
	pg_root_destroy(other);
}

void test_pcid(void)
{
	struct cpu_cfg c = cpu_full;
	c.pcid = true;
	fixture_boot(64 * MiB, &c);
	uint64_t a = pg_root_create(), b = pg_root_create();
	const uint64_t keep = 1ULL << 63;
	pg_switch(a);
	CHECK_EQ(fake_cpu.cr3 & ~keep, a | 1);
	CHECK(!(fake_cpu.cr3 & keep));                  /* a new PCID may hold anything: flush it */
	pg_switch(b);
	CHECK_EQ(fake_cpu.cr3, b | 2);
	CHECK_EQ(pg_current_root(), b);
	pg_switch(a);
	CHECK_EQ(fake_cpu.cr3, a | 1 | keep);           /* a's entries are still good */
	CHECK_EQ(pg_map(b, VA, PA, 4096, PG_READ), PG_OK);
	CHECK_EQ(pg_unmap(b, VA, 4096), PG_OK);         /* b is not current: no invlpg, but b is stale */
	CHECK_EQ(fake_cpu.invlpg_count, 0);
	pg_switch(b);
	CHECK_EQ(fake_cpu.cr3, b | 2);
	pg_switch(a);
	CHECK_EQ(fake_cpu.cr3, a | 1 | keep);
	CHECK_EQ(pg_map(a, 0xffffc00000000000ULL, PA, 4096, PG_READ), PG_OK);
	CHECK_EQ(pg_unmap(a, 0xffffc00000000000ULL, 4096), PG_OK);   /* kernel half, not global */
	pg_switch(b);
	CHECK_EQ(fake_cpu.cr3, b | 2);                  /* b may cache the old kernel entry */
	pg_switch(a);
	pg_root_destroy(b);
	uint64_t c2 = pg_root_create();                 /* may reuse b's frame: must not inherit its PCID */
	pg_switch(c2);
	CHECK(!(fake_cpu.cr3 & keep));
	fake_cpu.cr3 = 0;
	pg_root_destroy(a);
	pg_root_destroy(c2);
}

/* Touch every 4 KiB page of [va, va+len) through the TLB model; the number that did not translate to pa+off. */
static unsigned touch(uintptr_t va, uint64_t pa, size_t len, size_t step)
{
	unsigned wrong = 0;
	for (size_t off = 0; off < len; off += step) {
		struct fake_xlate x = fake_tlb_access(va + off);
		wrong += !x.ok || x.pa != pa + off;
	}
	return wrong;
}

/*
 * pg_map(PG_MAP_REPLACE) of a huge page over a table: every small page the
 * TLB held below it goes, not just the first (issue 9).
 */
void test_replace_flush(void)
{
	const unsigned rw = PG_READ | PG_WRITE;
	const uintptr_t kva = 0xffffc00000000000ULL;
	fixture_boot(64 * MiB, &cpu_full);
	uint64_t root = pg_root_create();
	fake_cpu.cr3 = root;

	/* 2 MiB over a PT of 512 cached pages */
	CHECK_EQ(pg_map(root, VA, PA, 2 * MiB, rw | PG_SIZE_4K), PG_OK);
	CHECK_EQ(touch(VA, PA, 2 * MiB, 4096), 0);
	CHECK_EQ(fake_tlb_stale(), 0);
	CHECK_EQ(pg_map(root, VA, PA + 2 * MiB, 2 * MiB, PG_READ | PG_MAP_REPLACE), PG_OK);
	CHECK_EQ(fake_tlb_stale(), 0);
	CHECK_EQ(touch(VA, PA + 2 * MiB, 2 * MiB, 4096), 0);
	CHECK_EQ(pg_unmap(root, VA, 2 * MiB), PG_OK);

	/* 1 GiB over a PD of PTs and 2 MiB pages, a few of them cached */
	CHECK_EQ(pg_map(root, VA, PA, 8 * 4096, rw | PG_SIZE_4K), PG_OK);
	CHECK_EQ(pg_map(root, VA + 512 * MiB, PA, 3 * 4096, rw | PG_SIZE_4K), PG_OK);
	CHECK_EQ(pg_map(root, VA + 2 * MiB, PA + 2 * MiB, 2 * MiB, rw), PG_OK);
	CHECK_EQ(touch(VA, PA, 8 * 4096, 4096) + touch(VA + 512 * MiB, PA, 3 * 4096, 4096), 0);
	CHECK_EQ(touch(VA + 2 * MiB, PA + 2 * MiB, 2 * MiB, 64 * 4096), 0);
	CHECK_EQ(pg_map(root, VA, 4 * GiB, GiB, PG_READ | PG_MAP_REPLACE), PG_OK);
	CHECK_EQ(fake_tlb_stale(), 0);
	CHECK_EQ(touch(VA, 4 * GiB, 8 * 4096, 4096), 0);
	CHECK_EQ(touch(VA + 512 * MiB, 4 * GiB + 512 * MiB, 3 * 4096, 4096), 0);
	CHECK_EQ(pg_unmap(root, VA, GiB), PG_OK);

	/* the kernel half, global small pages: invalidated as global entries */
	CHECK_EQ(pg_map(root, kva, PA, 3 * 4096, rw | PG_GLOBAL | PG_SIZE_4K), PG_OK);
	CHECK_EQ(touch(kva, PA, 3 * 4096, 4096), 0);
	CHECK_EQ(pg_map(root, kva, PA + 2 * MiB, 2 * MiB, PG_READ | PG_GLOBAL | PG_MAP_REPLACE), PG_OK);
	CHECK_EQ(fake_tlb_stale(), 0);
	CHECK_EQ(touch(kva, PA + 2 * MiB, 3 * 4096, 4096), 0);
	CHECK_EQ(pg_unmap(root, kva, 2 * MiB), PG_OK);
	fake_cpu.cr3 = 0;
	pg_root_destroy(root);
}

/* The TLB model itself: what each invalidation drops, as the SDM says (fake_arch.c). */
void test_tlb_model(void)
{
	struct cpu_cfg c = cpu_full;
	c.pcid = true;
	fixture_boot(64 * MiB, &c);
	uint64_t a = pg_root_create(), b = pg_root_create();
	const uint64_t keep = 1ULL << 63;
	CHECK_EQ(pg_map(a, VA, PA, 2 * 4096, PG_READ | PG_WRITE | PG_SIZE_4K), PG_OK);
	arch_write_cr3(a | 1);
	CHECK(fake_tlb_access(VA).ok && fake_tlb_access(VA + 4096).w);
	CHECK_EQ(fake_tlb_entries(), 2);
	/* a change made behind the CPU's back is stale until invalidated */
	arch_write_cr3(b | 2);
	CHECK(!fake_tlb_access(VA).ok);                             /* b maps nothing; a's PCID is not b's */
	CHECK_EQ(pg_unmap(a, VA + 4096, 4096), PG_OK);              /* a not current: no invlpg */
	arch_write_cr3(a | 1 | keep);                               /* bit 63: nothing dropped */
	CHECK_EQ(fake_tlb_entries(), 2);
	CHECK_EQ(fake_tlb_stale(), 1);
	CHECK(fake_tlb_access(VA + 4096).ok);                       /* the stale entry still serves */
	arch_invlpg(VA + 4096);
	CHECK_EQ(fake_tlb_stale(), 0);
	CHECK(!fake_tlb_access(VA + 4096).ok);
	arch_write_cr3(a | 1);                                      /* without bit 63: PCID 1's entries go */
	CHECK_EQ(fake_tlb_entries(), 0);
	/* a global entry serves every PCID; invlpg drops it whatever the PCID */
	CHECK_EQ(pg_map(a, VA + 8192, PA, 4096, PG_READ | PG_GLOBAL), PG_OK);
	CHECK(fake_tlb_access(VA + 8192).ok);
	arch_write_cr3(b | 2);
	CHECK(fake_tlb_access(VA + 8192).ok);                       /* b does not map it: the TLB does */
	arch_invlpg(VA + 8192);
	CHECK(!fake_tlb_access(VA + 8192).ok);
	arch_write_cr3(a | 1);
	CHECK(fake_tlb_access(VA + 8192).ok);
	arch_write_cr3(b | 2);
	arch_flush_tlb();                                           /* MOV CR3, CR3: globals stay */
	CHECK(fake_tlb_access(VA + 8192).ok);
	arch_flush_tlb_global();                                    /* CR4.PGE toggled: all go */
	CHECK_EQ(fake_tlb_entries(), 0);
	fake_cpu.cr3 = 0;
	pg_root_destroy(a);
	pg_root_destroy(b);
}

/*
 * An unmap that frees more tables than a batch holds flushes early; a
 * table freed after that flush, with no leaf changed since (a PD left
 * empty), still needs one: the CPU may have walked through it meanwhile.
 */
void test_free_after_early_flush(void)
{
	fixture_boot(64 * MiB, &cpu_full);
	uint64_t root = pg_root_create();
	fake_cpu.cr3 = root;
	const unsigned n = TLB_FULL_FLUSH_PAGES + 1;    /* n full PTs under one PD */
	CHECK_EQ(pg_map(root, VA, PA, n * 2 * MiB, PG_READ | PG_SIZE_4K), PG_OK);
	fake_tlb_speculate(VA + (n - 1) * 2 * MiB);
	CHECK_EQ(pg_unmap(root, VA, n * 2 * MiB), PG_OK);
	CHECK_EQ(fake_tlb_stale(), 0);
	fake_tlb_reset(4, false);
	fake_cpu.cr3 = 0;
	pg_root_destroy(root);
}
