/*
 * The allocator against a reference model: long random sequences of every
 * kind of allocation and free, each result checked against what the model
 * knows (which pages are RAM, protected, owned), the counters checked every
 * step, and every invariant (pmm_check) after each of the first 3000 steps
 * and every CHECK_EVERY steps after that. Then random maps
 * through pmm_init.
 */
#include <string.h>
#include "fixture.h"

#define STEPS 40000
#define CHECK_EVERY 250
#define RAM_SIZE (4 * GiB + 64 * MiB)

static const struct mem_range model_map[] = {
	{ 0, 0x9fc00, MEM_AVAILABLE }, { 0x9fc00, 0x400, MEM_RESERVED }, { 0xf0000, 0x10000, MEM_RESERVED },
	{ 0x100000, 0x1f00000, MEM_AVAILABLE }, { 0x2000000, 0x100000, MEM_ACPI_RECLAIMABLE },
	{ 0x2100000, 0x1f00000, MEM_AVAILABLE }, { 0xfec00000, 0x1000, MEM_RESERVED },
	{ 0x100000000, 0x4000000, MEM_AVAILABLE }, { 0x103000000, 0x5000, MEM_BAD },
	{ 0xfd00000000, 0x300000000, MEM_RESERVED },
};
static const struct mem_range model_prot[] = {
	{ 0x100000, 0x300000, PMM_PROTECT_KERNEL }, { 0x1234567, 0x3456, PMM_PROTECT_BOOTINFO },
	{ 0x100800000, 0x100001, PMM_PROTECT_MODULE },
};
#define NMAP (sizeof(model_map) / sizeof(model_map[0]))
#define NPROT (sizeof(model_prot) / sizeof(model_prot[0]))

enum kind { K_ALLOC, K_PAGE, K_ALIGNED, K_REF };
struct live {
	uint64_t pa, npages;
	unsigned order;
	enum kind kind;
	uint64_t tag;
};

static struct live live[8192];
static size_t nlive;
static uint32_t *owner;         /* per page of fake RAM: 1 + index into live, or 0 */
static uint64_t owned_pages;
static uint64_t seed = 12345;
static unsigned n_ok, n_fail, max_live_pages;

static unsigned check_block(uint64_t pa, uint64_t npages, uint64_t align, unsigned flags)
{
	uint64_t end = pa + npages * 4096;
	unsigned bad = 0;

	bad += pa % align != 0;
	bad += (flags & PMM_DMA) && end > 16 * MiB;
	bad += (flags & PMM_DMA32) && end > 4 * GiB;
	bad += (pa < 16 * MiB) != (end - 1 < 16 * MiB) || (pa < 4 * GiB) != (end - 1 < 4 * GiB);
	for (uint64_t p = pa; p < end && !bad; p += 4096)
		bad += !page_allowed(p, model_map, NMAP, model_prot, NPROT) || owner[p >> 12];
	if (flags & PMM_ZERO) {
		const uint64_t *w = phys_to_virt(pa);
		for (size_t i = 0; i < (npages > 8 ? 8 : npages) * 512; i++)
			bad += w[i] != 0;
	}
	return bad;
}

static void own(struct live *l, uint32_t who)
{
	for (uint64_t p = l->pa >> 12; p < (l->pa >> 12) + l->npages; p++)
		owner[p] = who;
}

static uint64_t *tag_at(const struct live *l, int last)
{
	return phys_to_virt(l->pa + (last ? l->npages * 4096 - 8 : 0));
}

static unsigned random_flags(void)
{
	unsigned r = rnd_next(&seed) % 100, f = r < 60 ? 0 : r < 85 ? PMM_DMA32 : PMM_DMA;
	return f | (rnd_next(&seed) % 10 == 0 ? PMM_ZERO : 0);
}

static unsigned random_order(void)
{
	unsigned r = rnd_next(&seed) % 100;
	if (r < 50)
		return rnd_next(&seed) % 3;
	return r < 85 ? 3 + rnd_next(&seed) % 6 : 9 + rnd_next(&seed) % 10;
}

/* No block of at least 2^order on any list, so a flag-free allocation had to fail. */
static bool nothing_free_from(unsigned order)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	for (unsigned o = order; o <= PMM_MAX_ORDER; o++)
		if (s.free_blocks[o])
			return false;
	return order > 0 || s.free_pages == 0;
}

static unsigned step_alloc(void)
{
	struct live l = { 0 };
	unsigned flags = random_flags(), r = rnd_next(&seed) % 100;
	uint64_t align = 4096;

	if (nlive == sizeof(live) / sizeof(live[0]))
		return 0;
	if (r < 35) {
		l.kind = K_PAGE, l.npages = 1;
		l.pa = pmm_alloc_page(flags);
	} else if (r < 80) {
		l.kind = K_ALLOC, l.order = random_order(), l.npages = 1ULL << l.order;
		l.pa = pmm_alloc(l.order, flags);
		align = 4096ULL << l.order;
	} else {
		l.kind = K_ALIGNED, l.npages = 1 + rnd_next(&seed) % (rnd_next(&seed) % 4 ? 40 : 3000);
		align = 4096ULL << (rnd_next(&seed) % 12);
		l.pa = pmm_alloc_aligned(l.npages, align, flags);
	}
	if (l.pa == PMM_NO_FRAME) {
		unsigned need = 0;
		n_fail++;
		while ((1ULL << need) < (l.npages > align / 4096 ? l.npages : align / 4096))
			need++;
		return flags & (PMM_DMA | PMM_DMA32) ? 0 : !nothing_free_from(need);
	}
	if (l.kind == K_ALLOC && l.order == 0 && rnd_next(&seed) % 4 == 0)
		l.kind = K_REF;
	unsigned bad = check_block(l.pa, l.npages, align, flags);
	if (bad)
		return bad;
	l.tag = rnd_next(&seed);
	*tag_at(&l, 0) = l.tag, *tag_at(&l, 1) = ~l.tag;
	n_ok++;
	live[nlive++] = l;
	own(&live[nlive - 1], (uint32_t)nlive);
	owned_pages += l.npages;
	return 0;
}

static unsigned step_free(void)
{
	if (!nlive)
		return 0;
	size_t i = rnd_next(&seed) % nlive;
	struct live l = live[i];
	unsigned bad = *tag_at(&l, 0) != l.tag || *tag_at(&l, 1) != ~l.tag;   /* nobody wrote into it */
	int r = 0;

	own(&live[i], 0);
	owned_pages -= l.npages;
	live[i] = live[--nlive];
	if (i < nlive)
		own(&live[i], (uint32_t)i + 1);
	switch (l.kind) {
	case K_PAGE:    r = rnd_next(&seed) % 8 ? pmm_free_page(l.pa) : pmm_free(l.pa, 0); break;
	case K_ALLOC:   r = l.order == 0 && rnd_next(&seed) % 8 == 0 ? pmm_free_page(l.pa) : pmm_free(l.pa, l.order); break;
	case K_ALIGNED: r = pmm_free_aligned(l.pa, l.npages); break;
	case K_REF:
		bad += pmm_frame_get(l.pa) != 2 || pmm_frame_put(l.pa) != 1 || pmm_frame_put(l.pa) != 0;
		break;
	}
	return bad + (r != 0);
}

void test_model(void)
{
	struct pmm_stats s0, s;
	unsigned bad = 0;

	REQUIRE(fixture_boot(RAM_SIZE, model_map, NMAP, model_prot, NPROT) == 0);
	owner = calloc(RAM_SIZE >> 12, sizeof(*owner));
	REQUIRE(owner);
	nlive = 0, owned_pages = 0;
	pmm_get_stats(&s0);
	uint64_t reserved = s0.reserved_pages, total = s0.total_pages;
	for (int step = 0; step < STEPS && !bad; step++) {
		bool filling = (step / 3000) % 2 == 0;
		bool alloc = rnd_next(&seed) % 100 < (filling ? 70u : 30u);
		unsigned b = alloc ? step_alloc() : step_free();
		pmm_get_stats(&s);
		unsigned c = s.free_pages + owned_pages + reserved != total || s.allocated_pages != owned_pages ||
			     s.free_pages != pmm_free_count();
		unsigned k = step < 3000 || step % CHECK_EVERY == 0 ? pmm_check() : 0;
		if (owned_pages > max_live_pages)
			max_live_pages = owned_pages;
		bad += b + c + k;
		if (bad)
			printf("#   model: step %d (%s) went wrong: op %u, counters %u, check %u\n",
			       step, alloc ? "alloc" : "free", b, c, k);
	}
	CHECK_EQ(bad, 0);
	printf("# model: %d steps, %u allocations, %u refused, at most %u of %llu free pages held\n",
	       STEPS, n_ok, n_fail, max_live_pages, (unsigned long long)s0.free_pages);
	while (nlive && !bad)
		bad += step_free();
	CHECK_EQ(bad, 0);
	CHECK_EQ(owned_pages, 0);
	pmm_drain_all_caches();
	pmm_get_stats(&s);
	CHECK(same_free_shape(&s, &s0));   /* fully merged again: the lists are as at start */
	CHECK_EQ(pmm_check(), 0);
	free(owner);
}

/* ---- random maps through pmm_init ---- */

static void random_boot_map(struct mem_range *m, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t r = rnd_next(&seed);
		m[i].base = (rnd_next(&seed) % (72 * 256)) * 4096 + (r & 1 ? rnd_next(&seed) % 4096 : 0);
		m[i].len = (rnd_next(&seed) % (r & 2 ? 16 * 256 : 64)) * 4096 + (r & 4 ? rnd_next(&seed) % 4096 : 0);
		m[i].type = r & 8 ? MEM_AVAILABLE : (uint32_t)(rnd_next(&seed) % 7);
		if ((r >> 8) % 32 == 0)
			m[i].len = UINT64_MAX - rnd_next(&seed) % 4096;
	}
}

void test_init_fuzz(void)
{
	static const struct mem_range all = { 0, 64 * MiB, MEM_AVAILABLE };
	struct mem_range map[30], prot[3];
	unsigned inited = 0, bad = 0;
	static uint64_t got[256];

	for (int it = 0; it < 2000 && !bad; it++) {
		size_t n = 1 + rnd_next(&seed) % 30, np = rnd_next(&seed) % 4;
		random_boot_map(map, n);
		for (size_t i = 0; i < np; i++)
			prot[i] = (struct mem_range){ rnd_next(&seed) % (64 * MiB), rnd_next(&seed) % (4 * MiB), PMM_PROTECT_MODULE };
		int r = fixture_boot(64 * MiB, map, n, prot, np);
		capture_count("");
		if (r) {
			bad += r != PMM_E_NO_RAM && r != PMM_E_TOO_LITTLE && r != PMM_E_NO_METADATA;
			continue;
		}
		inited++;
		struct pmm_stats s0, s;
		pmm_get_stats(&s0);
		bad += pmm_check();
		size_t k = 0;
		for (; k < 256; k++) {
			unsigned order = rnd_next(&seed) % 6;
			uint64_t pa = pmm_alloc(order, 0);
			if (pa == PMM_NO_FRAME)
				break;
			got[k] = pa | order;
			for (uint64_t p = pa; p < pa + (4096ULL << order); p += 4096)
				bad += p < MiB || p >= 64 * MiB || !page_ram_only(map, n, 1ULL << 46, p) ||
				       !page_allowed(p, &all, 1, prot, np);
		}
		bad += pmm_check();
		while (k--)
			bad += pmm_free(got[k] & ~0xfffULL, got[k] & 0xfff) != 0;
		pmm_get_stats(&s);
		bad += !same_free_shape(&s, &s0) + pmm_check();
		if (bad)
			printf("#   init fuzz: iteration %d went wrong\n", it);
	}
	printf("# init fuzz: %u of 2000 maps booted\n", inited);
	CHECK_EQ(bad, 0);
	CHECK(inited > 500);
}
