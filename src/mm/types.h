/*
 * types.h - the kinds of address the memory layers pass each other.
 *
 * All are integers of the same width, so C will not stop a mix-up; the
 * names are there so every prototype says which kind it takes:
 *   pa_t   a physical address (what the buddy hands out, what a PTE holds);
 *   pfn_t  a physical frame number, pa >> PAGE_SHIFT (what indexes frame records);
 *   va_t   a virtual address (what paging maps and the VMM manages).
 * A page-table root is a pa_t; paging names it pg_root_t (mm/paging/paging.h).
 */
#ifndef STRATA_MM_TYPES_H
#define STRATA_MM_TYPES_H

#include <stdint.h>

typedef uint64_t pa_t;
typedef uint64_t pfn_t;
typedef uintptr_t va_t;

#endif
