/*
 * fixture.h - shared set-up for the paging tests: fake RAM with a buddy on
 * it, fake CPUID answers, and a page-table walker of the tests' own that
 * reads the entry bits as the CPU does, without the engine's code.
 */
#ifndef STRATA_TESTS_PAGING_FIXTURE_H
#define STRATA_TESTS_PAGING_FIXTURE_H

#include <stdbool.h>
#include "check.h"
#include "fake_arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"

#define KiB (1ULL << 10)
#define MiB (1ULL << 20)
#define GiB (1ULL << 30)

struct cpu_cfg {
	unsigned levels;        /* 4 or 5 */
	bool nx, gb, pge, pcid;
};
extern const struct cpu_cfg cpu_full, cpu_bare, cpu_la57;

/* Fake RAM of ram bytes (RAM from 1 MiB to its end), a buddy on it, fake CPUID, paging_init. */
void fixture_boot(size_t ram, const struct cpu_cfg *c);

/* What the CPU would do with va: effective rights (AND/OR over all levels) and the PAT type. */
struct hw_xlate {
	bool ok;
	uint64_t pa, size;
	bool w, u, nx, g;
	unsigned pat_index;     /* PAT:PCD:PWT of the leaf */
	bool bad_bits;          /* reserved bits set, or an intermediate entry that restricts */
};
struct hw_xlate hw_walk(uint64_t root, uint64_t va);
/* The raw leaf entry for va (0 if none) and its level. */
uint64_t hw_leaf(uint64_t root, uint64_t va, unsigned *level);

/* The raw level-0 entry for va, present or not (0 if a table above is missing). */
uint64_t hw_pte(uint64_t root, uint64_t va);
uint64_t *hw_pte_ptr(uint64_t root, uint64_t va);      /* to play the CPU: set A or D as it would */

/* Portable flags the engine should report for a map with flags f on this CPU. */
unsigned expect_flags(unsigned f);


void test_encoding(void);
void test_errors(void);
void test_errors_la57(void);
void test_fail_injection(void);
void test_split(void);
void test_one_page_edits(void);
void test_replace(void);
void test_swap_entries(void);
void test_accessed_bit(void);
void test_model_4level(void);
void test_model_5level(void);
void test_model_no_1g_no_nx(void);
void test_tlb(void);
void test_pcid(void);
void test_replace_flush(void);
void test_free_after_early_flush(void);
void test_tlb_model(void);
void test_shootdown_user(void);
void test_shootdown_kernel_half(void);
void test_shootdown_frees_after(void);
void test_shootdown_pcid(void);
void test_pcid_kernel_tables(void);
void test_wx(void);
void test_hhdm_wx(void);
void test_corrupt_table(void);
void test_kernel_build(void);
void test_kernel_build_la57(void);
void test_kernel_half_shared(void);
void test_walk_dump(void);
void test_cpu_online(void);

#endif
