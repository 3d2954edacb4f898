/*
 * swap_entry_test.c - swap entries (paging.h): a mapped page becomes one
 * with its frame handed back and its TLB entry gone; the CPU sees it as
 * not present (the tests' own walker reads the raw entry: P clear, the
 * mark, the value); it keeps its table alive through unmaps around it;
 * pg_map over it needs PG_MAP_REPLACE; dropping the last one frees the
 * tables; the walk lists them in order; the dirty bit as it was comes
 * back; and bad calls change nothing.
 */
#include "fixture.h"

#define RAM (64 * MiB)
#define VA  (0x7f0000000000ULL)
#define RW  (PG_READ | PG_WRITE | PG_USER)

struct seen { unsigned n; uint64_t va[8], value[8]; };

static void collect(uint64_t va, uint64_t value, void *arg)
{
	struct seen *s = arg;
	if (s->n < 8)
		s->va[s->n] = va, s->value[s->n] = value;
	s->n++;
}

void test_swap_entries(void)
{
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create(), base = pmm_free_count(), pa = 0, v = 0;
	uint64_t frame = pmm_alloc_page(0);
	CHECK_EQ(pg_map(root, VA, frame, 4096, RW), PG_OK);
	CHECK_EQ(pg_map(root, VA + 4096, frame, 4096, RW), PG_OK);      /* a neighbour in the table */
	uint64_t tables = base - pmm_free_count() - 1;
	bool dirty = true;
	CHECK_EQ(pg_swap_out(root, VA, 12345, &pa, &dirty), PG_OK);
	CHECK_EQ(pa, frame);
	CHECK(!dirty);                           /* never written since it was mapped */
	uint64_t raw = hw_pte(root, VA);
	CHECK_EQ(raw & 1, 0);                    /* not present: the CPU faults on it */
	CHECK_EQ(raw, (12345ULL << 12) | (1ULL << 9));
	CHECK(!hw_walk(root, VA).ok);
	CHECK_EQ(pg_translate(root, VA, NULL, NULL, NULL), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_swap_entry(root, VA, &v), PG_OK);
	CHECK_EQ(v, 12345);
	CHECK_EQ(pg_swap_entry(root, VA + 4096, &v), PG_E_NOT_MAPPED);  /* a present page */
	CHECK_EQ(pg_swap_entry(root, VA + 8192, &v), PG_E_NOT_MAPPED);  /* an empty entry */
	/* Twice, or over a swap entry: refused. */
	CHECK_EQ(pg_swap_out(root, VA, 1, &pa, NULL), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_swap_out(root, VA + 8192, 1, &pa, NULL), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_swap_out(root, VA + 4096, PG_SWAP_MAX + 1, &pa, NULL), PG_E_UNSUPPORTED);
	CHECK_EQ(pg_swap_out(root, VA + 1, 1, &pa, NULL), PG_E_ALIGN);
	CHECK_EQ(pg_map(root, VA, frame, 4096, RW), PG_E_EXISTS);
	CHECK_EQ(pg_unmap(root, VA, 8192), PG_E_NOT_MAPPED);            /* as a hole would be */
	CHECK_EQ(pg_swap_entry(root, VA, &v), PG_OK);                   /* nothing changed */
	/* The neighbour goes: the table stays, for the swap entry. */
	CHECK_EQ(pg_unmap(root, VA + 4096, 4096), PG_OK);
	CHECK_EQ(pg_swap_entry(root, VA, &v), PG_OK);
	CHECK_EQ(base - pmm_free_count() - 1, tables);
	/* A second entry; the walk sees both, in order, with their values. */
	CHECK_EQ(pg_map(root, VA + 3 * 4096, frame, 4096, RW), PG_OK);
	*hw_pte_ptr(root, VA + 3 * 4096) |= 1ULL << 6;                   /* the CPU wrote it: D */
	CHECK_EQ(pg_swap_out(root, VA + 3 * 4096, PG_SWAP_MAX, &pa, &dirty), PG_OK);
	CHECK(dirty);
	struct seen s = { 0 };
	pg_walk_swap(root, VA, 16 * 4096, collect, &s);
	CHECK_EQ(s.n, 2);
	CHECK(s.va[0] == VA && s.value[0] == 12345 && s.va[1] == VA + 3 * 4096 && s.value[1] == PG_SWAP_MAX);
	s.n = 0;
	pg_walk_swap(root, VA + 4096, 4096, collect, &s);
	CHECK_EQ(s.n, 0);
	/* The page comes back: pg_map with PG_MAP_REPLACE writes over the entry. */
	CHECK_EQ(pg_map(root, VA + 3 * 4096, frame, 4096, RW | PG_MAP_REPLACE), PG_OK);
	CHECK(hw_walk(root, VA + 3 * 4096).ok);
	CHECK_EQ(pg_swap_entry(root, VA + 3 * 4096, &v), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_unmap(root, VA + 3 * 4096, 4096), PG_OK);
	/* The last entry dropped: its tables go, the count is where it began. */
	CHECK_EQ(pg_swap_drop(root, VA + 8192, &v), PG_E_NOT_MAPPED);
	CHECK_EQ(pg_swap_drop(root, VA, &v), PG_OK);
	CHECK_EQ(v, 12345);
	CHECK_EQ(pg_swap_drop(root, VA, &v), PG_E_NOT_MAPPED);
	pmm_free_page(frame);
	CHECK_EQ(pmm_free_count(), base);
	/* A huge page cannot be swapped a 4 KiB page at a time. */
	CHECK_EQ(pg_map(root, VA, 0x40000000ULL, 2 * MiB, RW | PG_SIZE_2M), PG_OK);
	CHECK_EQ(pg_swap_out(root, VA, 1, &pa, NULL), PG_E_UNSUPPORTED);
	CHECK_EQ(pg_unmap(root, VA, 2 * MiB), PG_OK);
	CHECK_EQ(pmm_free_count(), base);
	pg_root_destroy(root);
}

/* The accessed bit as a clock reads it: set by "the CPU", seen once, cleared. */
void test_accessed_bit(void)
{
	fixture_boot(RAM, &cpu_full);
	uint64_t root = pg_root_create();
	CHECK_EQ(pg_map(root, VA, 0x200000, 4096, RW), PG_OK);
	CHECK_EQ(pg_test_clear_accessed(root, VA), 0);           /* never touched */
	*hw_pte_ptr(root, VA) |= 1u << 5;                         /* the CPU loads the entry */
	CHECK_EQ(pg_test_clear_accessed(root, VA), 1);
	CHECK_EQ(hw_pte(root, VA) & (1u << 5), 0);
	CHECK(hw_walk(root, VA).ok);                              /* still mapped, same rights */
	CHECK_EQ(pg_test_clear_accessed(root, VA), 0);
	CHECK_EQ(pg_test_clear_accessed(root, VA + 4096), PG_E_NOT_MAPPED);
	uint64_t pa;
	CHECK_EQ(pg_swap_out(root, VA, 3, &pa, NULL), PG_OK);
	CHECK_EQ(pg_test_clear_accessed(root, VA), PG_E_NOT_MAPPED); /* a swap entry has no A bit */
	CHECK_EQ(pg_swap_drop(root, VA, 0), PG_OK);
	pg_root_destroy(root);
}
