/*
 * fixture.h - shared set-up for the buddy tests: fake RAM, crafted maps,
 * and the model's view of which pages may ever be handed out.
 */
#ifndef STRATA_TESTS_BUDDY_FIXTURE_H
#define STRATA_TESTS_BUDDY_FIXTURE_H

#include <stdbool.h>
#include "check.h"
#include "fake_arch.h"
#include "mm/buddy/buddy.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)
#define FRAME_RECORD_BYTES 4          /* sizeof(struct frame), checked in invariant_test.c */

/*
 * Pages of metadata for RAM [base, base + npages) in frames, cut into
 * sections at 16 MiB and 4 GiB as the PMM cuts it: per section, 4 bytes a
 * frame rounded up to 8, then per order a bit for each aligned block that
 * meets the section, and above each map words of one bit per word below
 * until one word is left (docs/buddy.md). All sections in one run.
 */
uint64_t meta_pages(const uint64_t (*ranges)[2], size_t n);

/* Boot a PMM over fake RAM of ram bytes; reachable is the fake RAM's end. */
int fixture_boot(size_t ram, const struct mem_range *map, size_t n,
		 const struct mem_range *prot, size_t np);

/* A 128 MiB machine: RAM with a hole, the usual low reserved bits, three protected ranges. */
int fixture_small(void);
extern const struct mem_range small_map[], small_prot[];
extern const size_t small_map_len, small_prot_len;

/* Every page a frame handed out may cover: available in map, in no other type, above 1 MiB, outside prot. */
bool page_allowed(uint64_t pa, const struct mem_range *map, size_t n,
		  const struct mem_range *prot, size_t np);

/* True if every byte of [pg, pg+4K) is RAM in the raw map in and no other type (below limit). */
bool page_ram_only(const struct mem_range *in, size_t n, uint64_t limit, uint64_t pg);

/*
 * The console is captured: capture_count(s) counts s in what was printed
 * since the last call (and forgets it). capture_echo also prints it as
 * TAP comments.
 */
extern bool capture_echo;
void capture_start(void);
unsigned capture_count(const char *needle);
const char *capture_text(void);

/* Same free pages in the same blocks per order and zone (the lists' shape). */
bool same_free_shape(const struct pmm_stats *a, const struct pmm_stats *b);

/* Test entry points, one file each. */
void test_sanitize_cases(void);
void test_sanitize_thousands(void);
void test_sanitize_truncates(void);
void test_sanitize_fuzz(void);
void test_init_small(void);
void test_init_seabios_4g(void);
void test_init_no_ram(void);
void test_init_too_little(void);
void test_init_fuzz(void);
void test_misuse(void);
void test_zero(void);
void test_refcount(void);
void test_free_shared(void);
void test_fail_nth(void);
void test_aligned(void);
void test_zone_flags(void);
void test_exhaust(void);
void test_release(void);
void test_pcp(void);
void test_trace(void);
void test_pcp_drain_on_failure(void);
void test_pcp_fast_and_full(void);
void test_pcp_drain_for_order(void);
void test_pcp_drain_other_cpus(void);
void test_pcp_windows_merge(void);
void test_report(void);
void test_hotadd(void);
void test_hotadd_seam(void);
void test_model(void);
void test_write_after_free_harmless(void);
void test_panic_map_lost_block(void);
void test_freemap_model(void);
void test_panic_buddy_disagrees(void);
void test_panic_cached_twice(void);
void test_panic_list_record(void);
void test_error_str(void);

#endif
