/*
 * space_test.c - the region calls through the public interface, against
 * the model: random allocate / fixed allocate / free / partial free /
 * protect with pages faulted in between; bad input; destroy giving back
 * every frame and table; the kernel's space and its shared half.
 */
#include <string.h>
#include "vmm_test.h"
#include "fake_arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"

#define PG 4096UL
#define WLO 0x400000UL                  /* the window the random sequences play in */
#define WHI (WLO + 0x4000000UL)         /* 64 MiB: small enough to run out */
#define URW (VM_READ | VM_WRITE | VM_USER)

static struct model m;

struct cmp { const struct model *m; size_t i; bool bad; };

static void cmp_region(const struct vm_region *r, void *arg)
{
	struct cmp *c = arg;
	const struct model_region *e = c->i < c->m->n ? &c->m->r[c->i] : 0;
	if (!e || e->base != r->base || e->len != r->len || e->kind != r->kind ||
	    (e->kind != VM_GUARD && e->flags != r->flags)) {
		if (!c->bad)
			printf("#   region %lx+%lx kind %d flags %x differs from model\n",
			       r->base, r->len, r->kind, r->flags);
		c->bad = true;
	}
	c->i++;
}

/* The space holds exactly the model's regions, and its own checks pass. */
static void same_as_model(struct vm_space *s)
{
	struct cmp c = { &m, 0, false };
	vmm_for_each(s, cmp_region, &c);
	CHECK(!c.bad);
	CHECK_EQ(c.i, m.n);
	CHECK_EQ(vmm_check(s), 0);
}

static size_t rand_len(void)
{
	static const size_t pages[] = { 1, 1, 2, 3, 5, 8, 16, 64, 300, 2048 };
	return pages[rnd() % 10] * PG;
}

static enum vm_kind rand_kind(void)
{
	static const enum vm_kind k[] = { VM_DEMAND, VM_DEMAND, VM_GUARD, VM_ANON };
	return k[rnd() % 4];
}

static unsigned rand_prot(void)
{
	static const unsigned p[] = { VM_READ | VM_USER, URW, URW | VM_EXEC | VM_ALLOW_WX, VM_READ | VM_EXEC | VM_USER };
	return p[rnd() % 4];
}

static void op_alloc(struct vm_space *s)
{
	struct vm_req r = { .len = rand_len(), .kind = rand_kind(), .flags = rand_prot(),
			    .align = rnd() % 3 ? PG : PG << (rnd() % 10), .lo = WLO, .hi = WHI };
	if (r.kind == VM_ANON && r.len > 64 * PG)
		r.len = 64 * PG;
	uintptr_t va = 0, want = 0;
	bool fits = model_first_fit(&m, WLO, WHI, r.len, r.align, &want);
	int e = vmm_alloc(s, &r, &va);
	CHECK_EQ(e, fits ? VMM_OK : VMM_E_NO_SPACE);
	if (!e) {
		CHECK_EQ(va, want);
		model_insert(&m, va, r.len, r.flags, r.kind);
	}
}

static void op_fixed(struct vm_space *s)
{
	struct vm_req r = { .len = rand_len(), .kind = rnd() % 2 ? VM_DEMAND : VM_GUARD, .flags = rand_prot() };
	uintptr_t va = WLO + (rnd() % ((WHI - WLO) / PG)) * PG;
	if (va + r.len > WHI)
		return;
	bool taken = model_overlaps(&m, va, r.len);
	int e = vmm_alloc_fixed(s, va, &r);
	CHECK_EQ(e, taken ? VMM_E_OVERLAP : VMM_OK);
	if (!e)
		model_insert(&m, va, r.len, r.flags, r.kind);
}

/* A piece of a random region: all of it, its head, its tail or its middle. */
static bool pick_piece(uintptr_t *va, size_t *len, int *idx)
{
	if (!m.n)
		return false;
	*idx = (int)(rnd() % m.n);
	struct model_region *e = &m.r[*idx];
	size_t pages = e->len / PG, first = 0, n = pages;
	if (rnd() % 2 && pages > 1) {
		first = rnd() % pages;
		n = 1 + rnd() % (pages - first);
	}
	*va = e->base + first * PG, *len = n * PG;
	return true;
}

static void op_free(struct vm_space *s, bool whole)
{
	uintptr_t va;
	size_t len;
	int i;
	if (!pick_piece(&va, &len, &i))
		return;
	if (whole)
		va = m.r[i].base, len = m.r[i].len;
	CHECK_EQ(vmm_free(s, va, len), VMM_OK);
	model_cut(&m, i, va, len, false, 0);
	/* Freed means gone: nothing there any more. */
	struct vm_region got;
	CHECK(!vmm_lookup(s, va, &got));
}

static void op_protect(struct vm_space *s)
{
	uintptr_t va;
	size_t len;
	int i;
	if (!pick_piece(&va, &len, &i))
		return;
	unsigned prot = rand_prot();
	int e = vmm_protect(s, va, len, prot);
	if (m.r[i].kind == VM_GUARD) {
		CHECK_EQ(e, VMM_E_GUARD);
		return;
	}
	CHECK_EQ(e, VMM_OK);
	model_cut(&m, i, va, len, true, prot);
}

/* Fault a page of a demand region in, so that splits have resident pages to share. */
static void op_touch(struct vm_space *s)
{
	if (!m.n)
		return;
	struct model_region *e = &m.r[rnd() % m.n];
	uintptr_t va = e->base + (rnd() % (e->len / PG)) * PG;
	enum vm_fault_why w = vmm_fault(s, va, VM_ACC_USER, 0);
	CHECK_EQ(w, e->kind == VM_GUARD ? VMF_GUARD : VMF_RESOLVED);
}

static void space_random_vs_model(void)
{
	vmm_test_boot(64);
	uint64_t free0 = pmm_free_count();
	for (uint64_t seed = 1; seed <= 6 && !check_failed_in_test; seed++) {
		struct vm_space *s = vmm_space_create();
		REQUIRE(s);
		model_init(&m, VMM_USER_BASE, VMM_USER_END);
		rnd_seed(seed);
		for (unsigned step = 0; step < 1500 && !check_failed_in_test; step++) {
			switch (rnd() % 10) {
			case 0: case 1: case 2: op_alloc(s); break;
			case 3: op_fixed(s); break;
			case 4: op_free(s, true); break;
			case 5: op_free(s, false); break;
			case 6: op_protect(s); break;
			default: op_touch(s); break;
			}
			same_as_model(s);
			if (check_failed_in_test)
				printf("#   seed %lu step %u\n", (unsigned long)seed, step);
		}
		vmm_space_destroy(s);
		CHECK_EQ(pmm_free_count(), free0);
	}
	CHECK_EQ(pmm_check(), 0);
}

/* A snapshot to prove a refused call changed nothing. */
struct snap { uint64_t free; struct vm_stats st; };
static struct snap snap(struct vm_space *s)
{
	struct snap x = { pmm_free_count(), { 0 } };
	vmm_stats(s, &x.st);
	return x;
}

static void same_snap(struct vm_space *s, struct snap a)
{
	struct snap b = snap(s);
	CHECK_EQ(b.free, a.free);
	CHECK_EQ(b.st.regions, a.st.regions);
	CHECK_EQ(b.st.resident, a.st.resident);
	CHECK_EQ(b.st.tables, a.st.tables);
	CHECK_EQ(vmm_check(s), 0);
}

static void space_bad_input(void)
{
	vmm_test_boot(64);
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	uintptr_t va;
	struct vm_req d = { .len = 16 * PG, .kind = VM_DEMAND, .flags = URW };
	REQUIRE(vmm_alloc_fixed(s, 0x100000, &d) == 0);
	struct vm_req g = { .len = PG, .kind = VM_GUARD };
	REQUIRE(vmm_alloc_fixed(s, 0x100000 + 16 * PG, &g) == 0);
	REQUIRE(vmm_fault(s, 0x100000, VM_ACC_WRITE | VM_ACC_USER, 0) == VMF_RESOLVED);
	struct snap before = snap(s);

	struct vm_req r = d;
	CHECK_EQ(vmm_alloc_fixed(s, 0x100000 + 15 * PG, &r), VMM_E_OVERLAP);      /* last page */
	CHECK_EQ(vmm_alloc_fixed(s, 0x100000 - PG, &r), VMM_E_OVERLAP);           /* first page */
	r.len = 0;
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_INVAL);
	r.len = 100;
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_INVAL);
	r.len = VMM_USER_END;
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_BOUNDS);
	r.len = PG;
	CHECK_EQ(vmm_alloc_fixed(s, 0, &r), VMM_E_BOUNDS);                       /* the null page */
	CHECK_EQ(vmm_alloc_fixed(s, VMM_USER_END - PG, &r), VMM_OK);             /* the last page: fine */
	CHECK_EQ(vmm_free(s, VMM_USER_END - PG, PG), VMM_OK);
	CHECK_EQ(vmm_alloc_fixed(s, VMM_USER_END, &r), VMM_E_BOUNDS);
	CHECK_EQ(vmm_alloc_fixed(s, 0x100001, &r), VMM_E_INVAL);
	r.lo = 0x200000, r.hi = 0x100000;
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_BOUNDS);
	r.lo = 0x100000, r.hi = 0x100000 + 17 * PG;                              /* all taken */
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_NO_SPACE);
	r.lo = r.hi = 0;
	r.align = 3 * PG;
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_INVAL);
	r.align = 0;
	r.flags = VM_WRITE | VM_USER;                                            /* no VM_READ */
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_INVAL);
	r.flags = VM_READ | VM_WRITE;                                            /* kernel flags here */
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_INVAL);
	r.flags = URW | (1u << 9);
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_INVAL);
	r = (struct vm_req){ .len = PG, .kind = VM_MMIO, .flags = URW, .pa = 2 << 20 };  /* RAM */
	CHECK_EQ(vmm_alloc(s, &r, &va), VMM_E_INVAL);

	CHECK_EQ(vmm_free(s, 0x100000 + PG * 17, PG), VMM_E_NO_REGION);          /* nothing there */
	CHECK_EQ(vmm_free(s, 0x100000 + PG * 8, PG * 9), VMM_E_NO_REGION);       /* runs past the end */
	CHECK_EQ(vmm_free(s, 0x100000, 0), VMM_E_INVAL);
	CHECK_EQ(vmm_free(s, 0x100800, PG), VMM_E_INVAL);
	CHECK_EQ(vmm_protect(s, 0x0ff000, PG * 2, VM_READ | VM_USER), VMM_E_NO_REGION);
	CHECK_EQ(vmm_protect(s, 0x100000 + 16 * PG, PG, VM_READ | VM_USER), VMM_E_GUARD);
	CHECK_EQ(vmm_protect(s, 0x100000, PG, VM_WRITE | VM_USER), VMM_E_INVAL);
	same_snap(s, before);

	/* Out of virtual space: the whole lower half taken by one guard, then nothing fits. */
	struct vm_space *t = vmm_space_create();
	REQUIRE(t);
	struct vm_req big = { .len = VMM_USER_END - VMM_USER_BASE, .kind = VM_GUARD };
	CHECK_EQ(vmm_alloc(t, &big, &va), VMM_OK);
	CHECK_EQ(va, VMM_USER_BASE);
	struct snap tb = snap(t);
	big.len = PG;
	CHECK_EQ(vmm_alloc(t, &big, &va), VMM_E_NO_SPACE);
	same_snap(t, tb);
	vmm_space_destroy(t);
	vmm_space_destroy(s);
}

/* Regions spread so that they need many tables at every level; all of it comes back. */
static void space_destroy_returns_everything(void)
{
	vmm_test_boot(64);
	uint64_t free0 = pmm_free_count();
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	CHECK_EQ(free0 - pmm_free_count(), 2);          /* the space's page and its root */
	uintptr_t bases[] = { 0x10000, 0x7fff00000000, 0x40000000, 0x8000000000, 0x200000 };
	for (unsigned i = 0; i < 5; i++) {
		struct vm_req r = { .len = 32 * PG, .kind = i % 2 ? VM_ANON : VM_DEMAND, .flags = URW };
		REQUIRE(vmm_alloc_fixed(s, bases[i], &r) == 0);
		for (unsigned p = 0; p < 32; p += 3)
			vmm_fault(s, bases[i] + p * PG, VM_ACC_WRITE | VM_ACC_USER, 0);
	}
	struct vm_req io = { .len = 2 << 20, .kind = VM_MMIO, .flags = URW, .pa = 0xfd000000, .cache = VM_CACHE_UC };
	REQUIRE(vmm_alloc_fixed(s, 0x600000000, &io) == 0);
	struct vm_req g = { .len = 1 << 30, .kind = VM_GUARD };
	uintptr_t va;
	REQUIRE(vmm_alloc(s, &g, &va) == 0);
	for (unsigned i = 0; i < 100; i++) {            /* enough regions to grow the node pool */
		struct vm_req r = { .len = PG, .kind = VM_DEMAND, .flags = URW };
		REQUIRE(vmm_alloc(s, &r, &va) == 0);
	}
	struct vm_stats st;
	vmm_stats(s, &st);
	CHECK(st.node_pages >= 2);
	CHECK_EQ(st.resident, 2 * 32 + 3 * 11);
	CHECK_EQ(st.mmio_pages, 512);
	/* Every frame the space holds is a page, a table or a node page: nothing else. */
	CHECK_EQ(free0 - pmm_free_count(), st.resident + st.tables + st.node_pages);
	vmm_report(s, "test");
	vmm_space_destroy(s);
	CHECK_EQ(pmm_free_count(), free0);
	CHECK_EQ(pmm_check(), 0);
}

static void space_create_destroy_many(void)
{
	vmm_test_boot(64);
	uint64_t free0 = pmm_free_count();
	struct vm_space *sp[64];
	for (unsigned round = 0; round < 16; round++) {
		for (unsigned i = 0; i < 64; i++) {
			sp[i] = vmm_space_create();
			REQUIRE(sp[i]);
			struct vm_req r = { .len = PG, .kind = VM_ANON, .flags = URW };
			REQUIRE(vmm_alloc_fixed(sp[i], 0x10000 + i * PG, &r) == 0);
		}
		for (unsigned i = 0; i < 64; i++)
			vmm_space_destroy(sp[i]);
	}
	CHECK_EQ(pmm_free_count(), free0);
}

/* The kernel's space: its areas, its rules, and its half shared by every process. */
static void space_kernel_half(void)
{
	vmm_test_boot(64);
	struct vm_space *k = vmm_kernel_space();
	struct vm_space *a = vmm_space_create(), *b = vmm_space_create();
	REQUIRE(a && b);
	uint64_t free0 = pmm_free_count();
	uintptr_t va;
	struct vm_req r = { .len = 8 * PG, .kind = VM_DEMAND, .flags = VM_READ | VM_WRITE,
			    .lo = VMM_KLARGE_BASE, .hi = VMM_KMMIO_BASE };
	REQUIRE(vmm_alloc(k, &r, &va) == 0);
	CHECK_EQ(va, VMM_KLARGE_BASE);
	r.flags |= VM_USER;
	CHECK_EQ(vmm_alloc(k, &r, &va), VMM_E_INVAL);    /* no user pages in the kernel's space */
	/* A kernel fault taken while a process space is current lands in the kernel's tables. */
	CHECK_EQ(vmm_fault(a, VMM_KLARGE_BASE + PG, VM_ACC_WRITE, 0), VMF_RESOLVED);
	uint64_t pa_a, pa_b, pa_k;
	CHECK_EQ(pg_translate(vmm_space_root(k), VMM_KLARGE_BASE + PG, &pa_k, 0, 0), 0);
	/*
	 * On the host the kernel areas are a window of the lower half (vmm.h),
	 * which process roots do not share: the sharing through a and b is
	 * checked only where the areas are the upper half (the kernel build).
	 */
	pa_a = pa_b = pa_k;
	if (VMM_KLARGE_BASE >> 63) {
		CHECK_EQ(pg_translate(vmm_space_root(a), VMM_KLARGE_BASE + PG, &pa_a, 0, 0), 0);
		CHECK_EQ(pg_translate(vmm_space_root(b), VMM_KLARGE_BASE + PG, &pa_b, 0, 0), 0);
	}
	CHECK(pa_a == pa_b && pa_b == pa_k);
	struct vm_stats st;
	vmm_stats(a, &st);
	CHECK_EQ(st.faults, 0);                 /* counted where it was handled */
	vmm_stats(k, &st);
	CHECK_EQ(st.faults, 1);
	CHECK_EQ(st.resident, 1);
	/* User mode may not touch it, whichever space it comes from. */
	CHECK_EQ(vmm_fault(b, VMM_KLARGE_BASE, VM_ACC_USER, 0), VMF_USER_KERNEL);
	/* MMIO in the kernel's MMIO area: mapped uncached, and freeing it frees no frame. */
	struct vm_req io = { .len = PG, .kind = VM_MMIO, .flags = VM_READ | VM_WRITE, .pa = 0xfee00000,
			     .cache = VM_CACHE_UC, .lo = VMM_KMMIO_BASE, .hi = VMM_KMMIO_END };
	uintptr_t mva;
	REQUIRE(vmm_alloc(k, &io, &mva) == 0);
	CHECK_EQ(mva, VMM_KMMIO_BASE);
	unsigned fl;
	CHECK_EQ(pg_translate(vmm_space_root(VMM_KMMIO_BASE >> 63 ? a : k), mva, &pa_a, &fl, 0), 0);
	CHECK_EQ(pa_a, 0xfee00000);
	CHECK_EQ(fl & PG_CACHE_MASK, PG_CACHE_UC);
	CHECK(fl & PG_GLOBAL);
	uint64_t before = pmm_free_count();
	CHECK_EQ(vmm_free(k, mva, PG), 0);
	CHECK(pmm_free_count() >= before);      /* at most tables come back, never the device page */
	CHECK_EQ(pmm_frame_refcount(0xfee00000), 0);
	CHECK_EQ(vmm_free(k, va, 8 * PG), 0);
	CHECK_EQ(pmm_free_count(), free0);
	vmm_report(k, "kernel");
	vmm_space_destroy(a);
	vmm_space_destroy(b);
	/* The kernel's space cannot be destroyed. */
	CHECK_EQ(vmm_space_destroy(k), VMM_E_INVAL);
	CHECK_EQ(vmm_check(k), 0);
}

/* Switching: CR3 and the current space follow; the current space cannot be destroyed. */
static void space_switch(void)
{
	vmm_test_boot(64);
	struct vm_space *a = vmm_space_create();
	REQUIRE(a);
	CHECK(vmm_current() == vmm_kernel_space());
	vmm_switch(a);
	CHECK_EQ(pg_current_root(), vmm_space_root(a));
	CHECK(vmm_current() == a);
	uint64_t free0 = pmm_free_count();
	CHECK_EQ(vmm_space_destroy(a), VMM_E_IN_USE);   /* refused: it is in CR3 */
	CHECK_EQ(pmm_free_count(), free0);
	vmm_switch(vmm_kernel_space());
	CHECK(vmm_current() == vmm_kernel_space());
	vmm_space_destroy(a);
	CHECK(pmm_free_count() > free0);
}

/*
 * A space another CPU last switched to runs there: destroying it from
 * this CPU would free the tables under that CPU, so it is refused until
 * that CPU switches away. (One host thread plays both CPUs: CR3 is the
 * thread's, the VMM's record of each CPU's space is per index.)
 */
static void space_destroy_running_elsewhere(void)
{
	vmm_test_boot(64);
	struct vm_space *a = vmm_space_create();
	REQUIRE(a);
	fake_cpu_index = 1;
	vmm_switch(a);
	fake_cpu_index = 0;
	vmm_switch(vmm_kernel_space());
	uint64_t free0 = pmm_free_count();
	CHECK_EQ(vmm_space_destroy(a), VMM_E_IN_USE);   /* CPU 1 runs in it */
	CHECK_EQ(pmm_free_count(), free0);
	fake_cpu_index = 1;
	vmm_switch(vmm_kernel_space());
	fake_cpu_index = 0;
	CHECK_EQ(vmm_space_destroy(a), 0);
	CHECK(pmm_free_count() > free0);
}

/*
 * The kernel's node pool rises and falls with its regions (the slab heap
 * makes one per slab): idle node pages go back, but the first.
 */
static void space_kernel_nodes_come_back(void)
{
	vmm_test_boot(64);
	struct vm_space *k = vmm_kernel_space();
	struct vm_stats st0, st;
	vmm_stats(k, &st0);
	uint64_t free0 = pmm_free_count();
	uintptr_t va[300];
	struct vm_req r = { .len = PG, .kind = VM_ANON, .flags = VM_READ | VM_WRITE,
			    .lo = VMM_KHEAP_BASE, .hi = VMM_KLARGE_BASE };
	for (unsigned i = 0; i < 300; i++)
		REQUIRE(vmm_alloc(k, &r, &va[i]) == 0);
	vmm_stats(k, &st);
	CHECK(st.node_pages > st0.node_pages);
	for (unsigned i = 0; i < 300; i += 2)        /* every other one: each page keeps some in use */
		CHECK_EQ(vmm_free(k, va[i], PG), 0);
	vmm_stats(k, &st);
	CHECK(st.node_pages > st0.node_pages);
	for (unsigned i = 1; i < 300; i += 2)
		CHECK_EQ(vmm_free(k, va[i], PG), 0);
	vmm_stats(k, &st);
	CHECK_EQ(st.node_pages, st0.node_pages);
	CHECK_EQ(st.regions, st0.regions);
	CHECK_EQ(pmm_free_count(), free0);
	CHECK_EQ(vmm_check(k), 0);
}

/*
 * A region made in the middle of a burst takes a node from a page grown
 * for the burst. When the burst is over, the live nodes fit in the first
 * page again: they move there, and the grown page goes back, the survivor
 * intact and found at its address.
 */
static void space_kernel_nodes_compact_after_burst(void)
{
	vmm_test_boot(64);
	struct vm_space *k = vmm_kernel_space();
	struct vm_stats st0, st;
	vmm_stats(k, &st0);
	uint64_t free0 = pmm_free_count();
	uintptr_t va[300], keep[3];
	struct vm_req r = { .len = PG, .kind = VM_ANON, .flags = VM_READ | VM_WRITE,
			    .lo = VMM_KHEAP_BASE, .hi = VMM_KLARGE_BASE };
	for (unsigned i = 0; i < 300; i++) {
		REQUIRE(vmm_alloc(k, &r, &va[i]) == 0);
		if (i == 150 || i == 250 || i == 299)
			REQUIRE(vmm_alloc(k, &r, &keep[i == 150 ? 0 : i == 250 ? 1 : 2]) == 0);
	}
	pa_t pa[3];
	for (unsigned i = 0; i < 3; i++)
		REQUIRE(pg_translate(vmm_space_root(k), keep[i], &pa[i], 0, 0) == 0);
	for (unsigned i = 0; i < 300; i++)
		CHECK_EQ(vmm_free(k, va[i], PG), 0);
	vmm_stats(k, &st);
	CHECK_EQ(st.node_pages, st0.node_pages);
	CHECK_EQ(st.regions, st0.regions + 3);
	for (unsigned i = 0; i < 3; i++) {
		struct vm_region reg;
		pa_t now;
		CHECK(vmm_lookup(k, keep[i], &reg) && reg.base == keep[i] && reg.len == PG && reg.resident == 1);
		CHECK(pg_translate(vmm_space_root(k), keep[i], &now, 0, 0) == 0 && now == pa[i]);
	}
	CHECK_EQ(vmm_check(k), 0);
	for (unsigned i = 0; i < 3; i++)
		CHECK_EQ(vmm_free(k, keep[i], PG), 0);
	CHECK_EQ(pmm_free_count(), free0);
}

void space_tests(void)
{
	RUN(space_random_vs_model);
	RUN(space_bad_input);
	RUN(space_destroy_returns_everything);
	RUN(space_kernel_nodes_compact_after_burst);
	RUN(space_create_destroy_many);
	RUN(space_kernel_half);
	RUN(space_kernel_nodes_come_back);
	RUN(space_switch);
	RUN(space_destroy_running_elsewhere);
}
