/*
 * tree.c - the region tree on its own (region_tree.c: the AVL tree, the
 * gap search, the check) against the model: long random sequences of first-fit and
 * fixed inserts and removals, every invariant checked after every step.
 */
#include <stdlib.h>
#include <string.h>
#include "vmm_test.h"
#include "mm/vmm/vmm_private.h"

#define LO 0x10000UL
#define HI 0x10000000UL         /* 256 MiB of address space: crowded enough to run out */
#define NODES 2048

static struct vm_node nodes[NODES];
static struct vm_node *free_nodes[NODES];
static size_t nfree;
static struct model m;
static struct vm_node *root;

static void reset(void)
{
	root = 0;
	model_init(&m, LO, HI);
	nfree = 0;
	for (size_t i = 0; i < NODES; i++)
		free_nodes[nfree++] = &nodes[i];
}

static void add(uintptr_t va, size_t len)
{
	struct vm_node *n = free_nodes[--nfree];
	memset(n, 0, sizeof(*n));
	n->r.base = va, n->r.len = len;
	rt_insert(&root, n);
	model_insert(&m, va, len, 0, VM_GUARD);
}

/* Tree and model hold the same regions in the same order. */
static void same_as_model(void)
{
	size_t i = 0;
	uintptr_t at = 0;
	for (struct vm_node *r = rt_first_ending_after(root, at); r;
	     r = rt_first_ending_after(root, r->r.base + r->r.len), i++) {
		if (i >= m.n || r->r.base != m.r[i].base || r->r.len != m.r[i].len) {
			CHECK(!"tree differs from model");
			return;
		}
	}
	CHECK_EQ(i, m.n);
}

static size_t rand_len(void)
{
	static const size_t sizes[] = { 1, 1, 1, 2, 3, 8, 16, 100, 512, 4096 };
	return sizes[rnd() % 10] * 4096;
}

static size_t rand_align(void)
{
	static const size_t al[] = { 4096, 4096, 4096, 8192, 65536, 0x200000 };
	return al[rnd() % 6];
}

static void step_first_fit(void)
{
	size_t len = rand_len(), align = rand_align();
	uintptr_t lo = LO, hi = HI, va = 0, mva = 0;
	if (rnd() % 4 == 0) {   /* a window, as the kernel's areas are */
		lo = LO + (rnd() % (HI / 4096 / 2)) * 4096;
		hi = lo + (rnd() % (HI / 4096 / 2)) * 4096 + 4096;
	}
	bool got = rt_find_gap(root, LO, HI, lo, hi, len, align, &va);
	bool mgot = model_first_fit(&m, lo, hi, len, align, &mva);
	CHECK_EQ(got, mgot);
	if (got && mgot) {
		CHECK_EQ(va, mva);
		CHECK(va % align == 0 && va >= lo && va + len <= hi);
		CHECK(!model_overlaps(&m, va, len));
		if (nfree && va == mva)
			add(va, len);
	}
}

static void step_fixed(void)
{
	size_t len = rand_len();
	uintptr_t va = LO + (rnd() % ((HI - LO) / 4096)) * 4096;
	if (va + len > HI)
		return;
	struct vm_node *r = rt_first_ending_after(root, va);
	bool taken = r && r->r.base < va + len;
	CHECK_EQ(taken, model_overlaps(&m, va, len));
	if (!taken && nfree)
		add(va, len);
}

static void step_remove(void)
{
	if (!m.n)
		return;
	size_t i = rnd() % m.n;
	struct vm_node *r = rt_find(root, m.r[i].base + (rnd() % (m.r[i].len / 4096)) * 4096);
	REQUIRE(r && r->r.base == m.r[i].base);
	rt_remove(&root, r);
	free_nodes[nfree++] = r;
	model_cut(&m, (int)i, m.r[i].base, m.r[i].len, false, 0);
}

static void step_lookup(void)
{
	uintptr_t va = LO + (rnd() % ((HI - LO) / 4096)) * 4096 + rnd() % 4096;
	struct vm_node *r = rt_find(root, va);
	int i = model_find(&m, va);
	CHECK_EQ(r != 0, i >= 0);
	if (r && i >= 0)
		CHECK_EQ(r->r.base, m.r[i].base);
}

static void run_sequence(uint64_t seed, unsigned steps, unsigned remove_weight)
{
	reset();
	rnd_seed(seed);
	for (unsigned s = 0; s < steps && !check_failed_in_test; s++) {
		unsigned op = rnd() % (8 + remove_weight);
		if (op < 3)
			step_first_fit();
		else if (op < 5)
			step_fixed();
		else if (op < 8)
			step_lookup();
		else
			step_remove();
		if (rt_check(root, LO, HI)) {
			CHECK(!"tree invariant broken");
			printf("#   seed %lu step %u\n", (unsigned long)seed, s);
		}
	}
	same_as_model();
}

/* Mostly growth: the space fills, first fit runs out and must say so. */
static void tree_random_filling(void)
{
	for (uint64_t seed = 1; seed <= 8; seed++)
		run_sequence(seed, 6000, 2);
}

/* Nearly as many removals as inserts: holes everywhere, the gap search earns its keep. */
static void tree_random_churn(void)
{
	for (uint64_t seed = 100; seed < 108; seed++)
		run_sequence(seed, 20000, 3);
}

/* Ascending inserts are AVL's classic worst case for balance. */
static void tree_ascending_stays_balanced(void)
{
	reset();
	for (size_t i = 0; i < 1000; i++)
		add(LO + i * 2 * 4096, 4096);
	CHECK_EQ(rt_check(root, LO, HI), 0);
	CHECK(root->height <= 15);      /* 1.44 log2(1001) ~ 14.4 */
	CHECK_EQ(root->max_gap, 4096);
	for (size_t i = 0; i < 1000; i += 2)
		rt_remove(&root, rt_find(root, LO + i * 2 * 4096));
	CHECK_EQ(rt_check(root, LO, HI), 0);
	CHECK_EQ(root->max_gap, 3 * 4096);
}

/* The trap Osdev-Notes fell into: a hole is measured from the previous region's end. */
static void tree_gap_measured_from_end(void)
{
	reset();
	uintptr_t va;
	add(LO, 16 * 4096);             /* [LO, LO+64K) */
	add(LO + 20 * 4096, 4096);      /* hole of 4 pages before it */
	CHECK(rt_find_gap(root, LO, HI, LO, HI, 4 * 4096, 4096, &va));
	CHECK_EQ(va, LO + 16 * 4096);
	CHECK(rt_find_gap(root, LO, HI, LO, HI, 5 * 4096, 4096, &va));
	CHECK_EQ(va, LO + 21 * 4096);
	/* Aligned: the 4-page hole at LO+64K is 64K-aligned, but first fit asks 4 + 15 pages. */
	CHECK(rt_find_gap(root, LO, HI, LO, HI, 4 * 4096, 65536, &va));
	CHECK(va % 65536 == 0 && va >= LO + 21 * 4096);
}

static void tree_broken_augmentation_is_caught(void)
{
	reset();
	for (size_t i = 0; i < 10; i++)
		add(LO + i * 3 * 4096, 4096);
	root->max_gap += 4096;
	printf("# (a report of wrong gap augmentation is expected)\n");
	CHECK(rt_check(root, LO, HI) >= 1);
	root->max_gap -= 4096;
	CHECK_EQ(rt_check(root, LO, HI), 0);
}

void tree_tests(void)
{
	RUN(tree_random_filling);
	RUN(tree_random_churn);
	RUN(tree_ascending_stays_balanced);
	RUN(tree_gap_measured_from_end);
	RUN(tree_broken_augmentation_is_caught);
}
