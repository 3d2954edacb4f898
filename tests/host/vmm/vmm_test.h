/*
 * vmm_test.h - what the files of the VMM's host test share: the reference
 * model of an address space's regions, and the set-up of fake RAM, the
 * buddy and the paging layer under the VMM.
 */
#ifndef STRATA_TESTS_VMM_TEST_H
#define STRATA_TESTS_VMM_TEST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "check.h"
#include "mm/vmm/vmm.h"

/* The model: a sorted array of regions, the obviously-right way. */
#define MODEL_MAX 4096
struct model_region { uintptr_t base; size_t len; unsigned flags; enum vm_kind kind; };
struct model {
	struct model_region r[MODEL_MAX];
	size_t n;
	uintptr_t lo, hi;
};
void model_init(struct model *m, uintptr_t lo, uintptr_t hi);
bool model_overlaps(const struct model *m, uintptr_t va, size_t len);
bool model_first_fit(const struct model *m, uintptr_t lo, uintptr_t hi, size_t len, size_t align, uintptr_t *va);
void model_insert(struct model *m, uintptr_t va, size_t len, unsigned flags, enum vm_kind kind);
int model_find(const struct model *m, uintptr_t va);   /* index of the region holding va, -1 */
/* Cut [va, va+len), inside region i, out of it; with keep, re-add it with new flags. */
void model_cut(struct model *m, int i, uintptr_t va, size_t len, bool keep, unsigned flags);

/* Fake RAM of ram_mb MiB, the buddy over it, paging (4 levels) and the VMM. */
void vmm_test_boot(size_t ram_mb);

/* The test lists of each file. */
void tree_tests(void);
void space_tests(void);
void fault_tests(void);
void inject_tests(void);
void policy_tests(void);
void fork_tests(void);
void object_tests(void);
void swap_tests(void);

#endif
