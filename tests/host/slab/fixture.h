/* fixture.h - the slab host tests' common set-up and helpers. */
#ifndef STRATA_TESTS_SLAB_FIXTURE_H
#define STRATA_TESTS_SLAB_FIXTURE_H

#include <stdint.h>
#include <stddef.h>
#include "check.h"
#include "fake_arch.h"
#include "mm/buddy/buddy.h"
#include "mm/slab/slab.h"

#define MiB (1UL << 20)

/* Fake RAM of ram_mb MiB, the buddy, paging, and a fresh heap with debug flags dbg. */
void slab_boot(size_t ram_mb, unsigned dbg);
/* pmm_free_count() right after slab_boot. */
extern uint64_t baseline_free;
/* Reap and check that every frame came back and the heap is sound. */
void expect_all_back(void);


void model_tests(void);
void cache_tests(void);
void kmalloc_tests(void);
void debug_tests(void);
void inject_tests(void);
void pages_tests(void);
void fastpath_tests(void);
void misuse_tests(void);
void ws_tests(void);

#endif
