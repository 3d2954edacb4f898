/*
 * kernel_test.c - the kernel's tables, built on the host: HHDM over RAM
 * only in the largest pages, sections with W^X, the guard unmapped, no
 * identity map, the kernel half shared by user roots, an AP coming
 * online on them. Also pg_walk and pg_dump.
 */
#include <string.h>
#include <pthread.h>
#include "fixture.h"

#define KV(off) (PG_KERNEL_BASE + 0x100000 + (off))

static void boot_with_map(size_t ram, const struct cpu_cfg *c)
{
	/* A PC-like map: low RAM, a reserved hole, RAM, ACPI tables, more RAM, a device. */
	static struct mem_range map[6];
	map[0] = (struct mem_range){ 0, 0x9fc00, MEM_AVAILABLE };
	map[1] = (struct mem_range){ 0xf0000, 0x10000, MEM_RESERVED };
	map[2] = (struct mem_range){ 1 * MiB, ram - 2 * MiB - 1 * MiB, MEM_AVAILABLE };
	map[3] = (struct mem_range){ ram - 2 * MiB, 0x800, MEM_ACPI_RECLAIMABLE };
	map[4] = (struct mem_range){ ram - 2 * MiB + 4096, 2 * MiB - 4096, MEM_AVAILABLE };
	map[5] = (struct mem_range){ 0xfec00000, 0x1000, MEM_RESERVED };
	fixture_boot(ram, c);
	struct pmm_boot b = { map, 6, NULL, 0, 0 };
	if (pmm_init(&b))
		abort();
}

static struct kernel_layout layout(void)
{
	struct kernel_layout k = { .nsect = 3, .nguard = 1 };
	k.sect[0] = (struct kernel_section){ KV(0), KV(0x20000), 0x100000, PG_READ | PG_EXEC };
	k.sect[1] = (struct kernel_section){ KV(0x20000), KV(0x28000), 0x120000, PG_READ };
	k.sect[2] = (struct kernel_section){ KV(0x28000), KV(0x40000), 0x128000, PG_READ | PG_WRITE };
	k.guard[0] = KV(0x30000);
	return k;
}

struct count { uint64_t leaves, bytes, big; };
static void count_leaf(uintptr_t va, uint64_t pa, size_t size, unsigned flags, void *arg)
{
	struct count *c = arg;
	(void)va, (void)pa, (void)flags;
	c->leaves++, c->bytes += size, c->big = size > c->big ? size : c->big;
}

static void check_kernel(size_t ram, bool gb)
{
	struct kernel_layout k = layout();
	uint64_t free0 = pmm_free_count();
	REQUIRE(paging_build_kernel(&k) == PG_OK);
	uint64_t root = pg_kernel_root();
	CHECK_EQ(fake_cpu.cr3, root);
	unsigned top_entries = 256;
	/* the root, the kernel half's tables, and what the maps below need */
	CHECK(free0 - pmm_free_count() > top_entries);

	uint64_t pa;
	unsigned f;
	size_t sz;
	CHECK_EQ(pg_translate(root, PG_HHDM_BASE + 0x1000, &pa, &f, &sz), PG_OK);
	CHECK_EQ(pa, 0x1000);
	CHECK_EQ(f, expect_flags(PG_READ | PG_WRITE | PG_GLOBAL));
	CHECK_EQ(pg_translate(root, PG_HHDM_BASE + 0xa0000, NULL, NULL, NULL), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_translate(root, PG_HHDM_BASE + 0xf0000, NULL, NULL, NULL), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_translate(root, PG_HHDM_BASE + 0xfec00000, NULL, NULL, NULL), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_translate(root, PG_HHDM_BASE + ram - 2 * MiB, &pa, NULL, NULL), PG_OK); /* ACPI */
	CHECK_EQ(pg_translate(root, PG_HHDM_BASE + ram - 4096, &pa, NULL, NULL), PG_OK);
	CHECK_EQ(pg_translate(root, PG_HHDM_BASE + ram, NULL, NULL, NULL), PG_E_NOT_MAPPED);
	if (ram > 2 * GiB) {
		CHECK_EQ(pg_translate(root, PG_HHDM_BASE + GiB + 4096, NULL, NULL, &sz), PG_OK);
		CHECK_EQ(sz, gb ? GiB : 2 * MiB);
	}
	CHECK_EQ(pg_translate(root, PG_HHDM_BASE + 2 * MiB, NULL, NULL, &sz), PG_OK);
	CHECK_EQ(sz, 2 * MiB);

	CHECK_EQ(pg_translate(root, KV(0x1000), &pa, &f, &sz), PG_OK);
	CHECK(pa == 0x101000 && f == expect_flags(PG_READ | PG_EXEC | PG_GLOBAL) && sz == 4096);
	CHECK_EQ(pg_translate(root, KV(0x21000), &pa, &f, NULL), PG_OK);
	CHECK(pa == 0x121000 && f == expect_flags(PG_READ | PG_GLOBAL));
	CHECK_EQ(pg_translate(root, KV(0x2f000), &pa, &f, NULL), PG_OK);
	CHECK(pa == 0x12f000 && f == expect_flags(PG_READ | PG_WRITE | PG_GLOBAL));
	CHECK_EQ(pg_translate(root, KV(0x30000), NULL, NULL, NULL), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_translate(root, KV(0x31000), NULL, NULL, NULL), PG_OK);
	CHECK_EQ(pg_translate(root, KV(0x40000), NULL, NULL, NULL), PG_E_NOT_MAPPED);

	struct count low = { 0 }, hhdm = { 0 }, img = { 0 };
	pg_walk(root, 0, 0, count_leaf, &low);
	CHECK_EQ(low.leaves, 0);                                    /* no identity map */
	pg_walk(root, PG_HHDM_BASE, ram, count_leaf, &hhdm);
	CHECK_EQ(hhdm.bytes, ram - 0x60000 - 4096);                 /* holes at 0x9f000..1M; last ACPI page shared */
	CHECK_EQ(hhdm.big, gb && ram > 2 * GiB ? GiB : 2 * MiB);
	pg_walk(root, PG_KERNEL_BASE, 0, count_leaf, &img);
	CHECK_EQ(img.bytes, 0x40000 - 4096);
	CHECK_EQ(img.big, 4096);
	pg_dump(root, PG_KERNEL_BASE, 0);

	/* W^X everywhere in the kernel's space, checked with the tests' own walker. */
	for (uint64_t off = 0; off < 0x40000; off += 4096) {
		struct hw_xlate x = hw_walk(root, KV(off));
		CHECK(!x.ok || !(x.w && !x.nx) || !paging_features()->nx);
		CHECK(!x.ok || !x.bad_bits);
	}
	fake_cpu.cr3 = 0;
}

void test_kernel_build(void)
{
	boot_with_map(2 * GiB + 4 * MiB, &cpu_full);
	check_kernel(2 * GiB + 4 * MiB, true);
	boot_with_map(64 * MiB, &cpu_bare);
	check_kernel(64 * MiB, false);
}

void test_kernel_build_la57(void)
{
	boot_with_map(2 * GiB + 4 * MiB, &cpu_la57);
	check_kernel(2 * GiB + 4 * MiB, true);
	/* The kernel half at the top level: PML5[256..511]. */
	uint64_t *pml5 = (uint64_t *)(hhdm_offset + pg_kernel_root());
	for (unsigned i = 256; i < 512; i++)
		CHECK(pml5[i] & 1);
	for (unsigned i = 0; i < 256; i++)
		CHECK_EQ(pml5[i], 0);
}

/* Kernel mappings made after a user root was created appear in it; destroying it frees only its own. */
void test_kernel_half_shared(void)
{
	boot_with_map(64 * MiB, &cpu_full);
	struct kernel_layout k = layout();
	REQUIRE(paging_build_kernel(&k) == PG_OK);
	uint64_t kroot = pg_kernel_root(), free0 = pmm_free_count();
	uint64_t user = pg_root_create_user();
	REQUIRE(user != PG_NO_ROOT);
	CHECK_EQ(pg_map(kroot, 0xffffc90000000000ULL, 0x200000, 4096, PG_READ | PG_WRITE), PG_OK);
	uint64_t pa;
	CHECK_EQ(pg_translate(user, 0xffffc90000000000ULL, &pa, NULL, NULL), PG_OK);
	CHECK_EQ(pa, 0x200000);
	CHECK_EQ(pg_map(user, 0x400000, 0x300000, 8 * MiB, PG_READ | PG_USER), PG_OK);
	CHECK_EQ(pg_translate(kroot, 0x400000, NULL, NULL, NULL), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_unmap(user, 0xffffc90000000000ULL, 4096), PG_OK);   /* through either root */
	CHECK_EQ(pg_translate(kroot, 0xffffc90000000000ULL, NULL, NULL, NULL), PG_E_NOT_MAPPED);
	uint64_t *top = (uint64_t *)(hhdm_offset + kroot);
	CHECK(top[0x1ff & (0xffffc90000000000ULL >> 39)] & 1);          /* the shared table stays */
	fake_cpu.cr3 = kroot;
	pg_root_destroy(kroot);                                         /* refused */
	CHECK_EQ(pg_kernel_root(), kroot);
	pg_root_destroy(user);
	CHECK_EQ(pmm_free_count(), free0);
	fake_cpu.cr3 = 0;
}

struct rec { unsigned n; uintptr_t va[8]; size_t size[8]; };
static void record(uintptr_t va, uint64_t pa, size_t size, unsigned flags, void *arg)
{
	struct rec *r = arg;
	(void)pa, (void)flags;
	if (r->n < 8)
		r->va[r->n] = va, r->size[r->n] = size;
	r->n++;
}

void test_walk_dump(void)
{
	fixture_boot(64 * MiB, &cpu_full);
	uint64_t root = pg_root_create();
	CHECK_EQ(pg_map(root, 0x40000000, 0x40000000, GiB + 2 * MiB + 8192, PG_READ | PG_WRITE), PG_OK);
	struct rec r = { 0 };
	pg_walk(root, 0x40000000 + 4096, GiB + 2 * MiB, record, &r);
	CHECK_EQ(r.n, 3);       /* whole leaves that overlap: 1G, 2M, 4K */
	CHECK(r.va[0] == 0x40000000 && r.size[0] == GiB);
	CHECK(r.va[1] == 0x80000000 && r.size[1] == 2 * MiB);
	CHECK(r.va[2] == 0x80200000 && r.size[2] == 4096);
	r.n = 0;
	pg_walk(root, 0, 0, record, &r);
	CHECK_EQ(r.n, 4);
	pg_dump(root, 0, 0);
	CHECK_EQ(pg_unmap(root, 0x40000000, GiB + 2 * MiB + 8192), PG_OK);
	pg_root_destroy(root);
}

/*
 * With PCID, a kernel-half table freed while another PCID cached it: the
 * paging-structure caches ignore G, so that PCID must be flushed before it
 * runs again - and so must a non-global kernel leaf changed in the same
 * edit as a global one (issue 9).
 */
void test_pcid_kernel_tables(void)
{
	struct cpu_cfg c = cpu_full;
	c.pcid = true;
	const uintptr_t kx = 0xffffc00000000000ULL;
	const unsigned rw = PG_READ | PG_WRITE;
	boot_with_map(64 * MiB, &c);
	struct kernel_layout k = layout();
	REQUIRE(paging_build_kernel(&k) == PG_OK);
	uint64_t a = pg_root_create_user(), b = pg_root_create_user();
	REQUIRE(a != PG_NO_ROOT && b != PG_NO_ROOT);

	pg_switch(a);
	CHECK_EQ(pg_map(a, kx, 0x200000, 4096, rw | PG_GLOBAL), PG_OK);
	CHECK(fake_tlb_access(kx).ok);              /* a's PCID caches the PDPTE and PDE, the leaf is global */
	pg_switch(b);
	CHECK_EQ(pg_unmap(b, kx, 4096), PG_OK);     /* frees the PT and the PD below the shared PDPT */
	CHECK_EQ(fake_tlb_stale(), 0);
	pg_switch(a);
	CHECK_EQ(fake_tlb_stale(), 0);              /* a's caches into the freed tables are gone */
	CHECK(!fake_tlb_access(kx).ok);

	/* one edit, a global and a non-global kernel leaf */
	CHECK_EQ(pg_map(a, kx, 0x200000, 4096, rw | PG_GLOBAL), PG_OK);
	CHECK_EQ(pg_map(a, kx + 4096, 0x201000, 4096, rw), PG_OK);
	CHECK(fake_tlb_access(kx).w && fake_tlb_access(kx + 4096).w);
	pg_switch(b);
	CHECK_EQ(pg_protect(b, kx, 2 * 4096, PG_READ), PG_OK);
	pg_switch(a);
	CHECK_EQ(fake_tlb_stale(), 0);
	CHECK(!fake_tlb_access(kx + 4096).w);
	CHECK_EQ(pg_unmap(a, kx, 2 * 4096), PG_OK);

	pg_switch(pg_kernel_root());
	pg_root_destroy(a);
	pg_root_destroy(b);
	fake_cpu.cr3 = 0;
}

/* The HHDM alias of the kernel's text and rodata frames is read-only and NX; data stays RW (issue 9). */
void test_hhdm_wx(void)
{
	boot_with_map(64 * MiB, &cpu_full);
	struct kernel_layout k = layout();
	REQUIRE(paging_build_kernel(&k) == PG_OK);
	uint64_t root = pg_kernel_root();
	for (uint64_t pa = 0x100000; pa < 0x140000 + 0x2000; pa += 4096) {
		struct hw_xlate x = hw_walk(root, PG_HHDM_BASE + pa);
		bool image_ro = pa >= 0x100000 && pa < 0x128000;     /* text, rodata */
		CHECK(x.ok && x.pa == pa && !x.bad_bits);
		CHECK_EQ(x.w, !image_ro);
		CHECK(x.nx && x.g);
	}
	/* the rest of the HHDM keeps its large pages */
	size_t sz;
	CHECK_EQ(pg_translate(root, PG_HHDM_BASE + 8 * MiB, NULL, NULL, &sz), PG_OK);
	CHECK_EQ(sz, 2 * MiB);
	fake_cpu.cr3 = 0;
}

struct online_seen {
	uint64_t cr3, global_flushes;
};

static void *ap_start(void *p)
{
	struct online_seen *o = p;
	fake_cpu_index = 1;
	fake_cpu.cr3 = 0x5000;                      /* the trampoline's tables */
	pg_cpu_online();
	o->cr3 = fake_cpu.cr3, o->global_flushes = fake_cpu.global_flush_count;
	return NULL;
}

/* An AP coming online drops all it cached, globals too, and runs the kernel root with a PCID of its own. */
void test_cpu_online(void)
{
	struct cpu_cfg c = cpu_full;
	c.pcid = true;
	boot_with_map(64 * MiB, &c);
	struct kernel_layout k = layout();
	REQUIRE(paging_build_kernel(&k) == PG_OK);
	fake_online_mask = 0x3;
	struct online_seen o = { 0, 0 };
	pthread_t t;
	REQUIRE(!pthread_create(&t, NULL, ap_start, &o) && !pthread_join(t, NULL));
	CHECK_EQ(o.cr3 & 0x000ffffffffff000ULL, pg_kernel_root());
	CHECK_EQ(o.cr3 & 0xfff, 1);                 /* CPU 1's first PCID: slots are per CPU */
	CHECK(!(o.cr3 >> 63));
	CHECK_EQ(o.global_flushes, 1);
	uint64_t u = pg_root_create_user();
	pg_switch(u);
	CHECK_EQ(pg_map(u, 0xffffc00000000000ULL, 0x200000, 4096, PG_READ), PG_OK);
	uint64_t calls = fake_shootdowns.calls;
	CHECK_EQ(pg_unmap(u, 0xffffc00000000000ULL, 4096), PG_OK);
	CHECK_EQ(fake_shootdowns.calls, calls + 1);
	CHECK_EQ(fake_shootdowns.last_cpus, 1u << 1);
	pg_switch(pg_kernel_root());
	pg_root_destroy(u);
	fake_online_mask = 1;
	fake_cpu.cr3 = 0;
}
