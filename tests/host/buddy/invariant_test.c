/*
 * invariant_test.c - the failure policy (mm/failure.h) as buddy applies it.
 *
 * White-box: these tests reach into the records (pmm_state.h) to break what
 * no caller can break through the API, then check that the core stops with
 * "PANIC: pmm: ..." instead of writing through a lie. Each starts the PMM
 * over again, since a panic leaves the lock held.
 */
#include <string.h>
#include "fixture.h"
#include "mm/buddy/pmm_state.h"

_Static_assert(sizeof(struct frame) == FRAME_RECORD_BYTES, "the other tests count records by FRAME_RECORD_BYTES");

/* The caught panic was the buddy layer's (fake_panic_msg is "<layer>: <what>"). */
static bool panicked_pmm(void)
{
	return strncmp(fake_panic_msg, "pmm: ", 5) == 0;
}

/* Two order-0 pages that are buddies: lo even, hi = lo + 1 page, both allocated. */
static void buddy_pair(uint64_t *lo, uint64_t *hi)
{
	uint64_t a = pmm_alloc(1, 0);
	*lo = *hi = PMM_NO_FRAME;
	if (a == PMM_NO_FRAME || pmm_free(a, 1))
		return;
	*lo = pmm_alloc(1, 0);                  /* the same block again, taken apart by hand */
	if (*lo != PMM_NO_FRAME) {
		pfn_frame(pa_to_pfn(*lo))->order = 0;
		mark_allocated(pfn_frame(pa_to_pfn(*lo) + 1), 0);
		*hi = *lo + PAGE_SIZE;
	}
}

/*
 * A freed page written to by its old owner: nothing of the allocator lives
 * in free pages, so the merge goes on and the checker finds nothing.
 */
void test_write_after_free_harmless(void)
{
	uint64_t lo, hi;

	REQUIRE(fixture_small() == 0);
	buddy_pair(&lo, &hi);
	REQUIRE(lo != PMM_NO_FRAME);
	CHECK_EQ(pmm_free(lo, 0), 0);
	memset(phys_to_virt(lo), 0xa5, PAGE_SIZE);    /* a use after free */
	CHECK_EQ(pmm_free(hi, 0), 0);                 /* the merge takes lo */
	CHECK_EQ(pmm_check(), 0);
}

/* A free block whose bit someone cleared: the map and the records disagree, and the merge stops. */
void test_panic_map_lost_block(void)
{
	uint64_t lo, hi;

	REQUIRE(fixture_small() == 0);
	buddy_pair(&lo, &hi);
	REQUIRE(lo != PMM_NO_FRAME);
	CHECK_EQ(pmm_check(), 0);
	CHECK_EQ(pmm_free(lo, 0), 0);                 /* lo is a free block of order 0 */
	struct section *s = pfn_section(pa_to_pfn(lo));
	CHECK(freemap_clear(s, 0, pa_to_pfn(lo)));    /* the map forgets it */
	s->map[0].nr++;                               /* (the count does not) */
	capture_start();
	CHECK(pmm_check() > 0);
	CHECK(FAKE_PANICS(pmm_free(hi, 0)));          /* the merge unlinks lo */
	CHECK(panicked_pmm() && strstr(fake_panic_msg, "free map"));
}

/* A buddy whose record claims a free block of a higher order: misaligned, or it would hold us. */
void test_panic_buddy_disagrees(void)
{
	uint64_t lo, hi;

	REQUIRE(fixture_small() == 0);
	buddy_pair(&lo, &hi);
	REQUIRE(lo != PMM_NO_FRAME);
	struct frame *hf = pfn_frame(pa_to_pfn(hi));
	hf->state = FRAME_FREE, hf->order = 1, hf->refs = 0;    /* the record lies */
	capture_start();
	CHECK(FAKE_PANICS(pmm_free(lo, 0)));
	CHECK(panicked_pmm() && strstr(fake_panic_msg, "buddy"));
}

/*
 * A page in the per-CPU cache whose record says it is allocated: in two
 * states at once. pmm_check reports it; the drain into the lists stops.
 */
void test_panic_cached_twice(void)
{
	REQUIRE(fixture_small() == 0);
	uint64_t p = pmm_alloc_page(0);
	REQUIRE(p != PMM_NO_FRAME);
	CHECK_EQ(pmm_free_page(p), 0);
	mark_allocated(pfn_frame(pa_to_pfn(p)), 0);
	capture_start();
	CHECK(pmm_check() > 0);
	CHECK(FAKE_PANICS(pmm_drain_cache()));
	CHECK(panicked_pmm() && strstr(fake_panic_msg, "cache"));
}

/* A free list whose first entry's record has another order. */
void test_panic_list_record(void)
{
	REQUIRE(fixture_small() == 0);
	struct pmm_stats s;
	pmm_get_stats(&s);
	unsigned o = 0;
	while (o <= PMM_MAX_ORDER && !pmm.zones[ZONE_DMA32].nr[o])
		o++;
	REQUIRE(o < PMM_MAX_ORDER);
	pfn_frame(zone_first_free(ZONE_DMA32, o))->order = o + 1;
	capture_start();
	CHECK(FAKE_PANICS(pmm_alloc(o, PMM_DMA32)));
	CHECK(panicked_pmm());
}

/* Misuse is not a panic, and every enum pmm_error has its own words. */
void test_error_str(void)
{
	static const char *seen[1 - PMM_E_MIN];
	for (int e = 0; e >= PMM_E_MIN; e--) {
		const char *t = pmm_error_str(e);
		CHECK(t && *t && strcmp(t, "?") != 0);
		for (int k = 0; k > e; k--)
			CHECK(strcmp(seen[-k], t) != 0);
		seen[-e] = t;
	}
	CHECK(!strcmp(pmm_error_str(0), "ok"));
	CHECK(!strcmp(pmm_error_str(PMM_E_SHARED), "still shared"));
	CHECK(!strcmp(pmm_error_str(PMM_E_MIN - 1), "?"));
	CHECK(!strcmp(pmm_error_str(1), "?"));
	REQUIRE(fixture_small() == 0);
	uint64_t a = pmm_alloc(0, 0);
	CHECK_EQ(pmm_free(a, 0), 0);
	CHECK(!FAKE_PANICS(CHECK_EQ(pmm_free(a, 0), PMM_E_DOUBLE_FREE)));
	CHECK_EQ(pmm_check(), 0);
}
