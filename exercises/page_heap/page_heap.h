/*
 * page_heap.h - exercise: a page heap on VM_GUARD (docs/exercises.md).
 *
 * A debugging allocator in the spirit of Windows' page heap and
 * Electric Fence: each object gets pages of its own in the kernel's
 * large area [VMM_KLARGE_BASE, VMM_KMMIO_BASE), its end placed against a
 * VM_GUARD page that is never mapped, so the first byte written past it
 * faults where the overrun happens instead of corrupting a neighbour.
 */
#ifndef STRATA_EXERCISES_PAGE_HEAP_H
#define STRATA_EXERCISES_PAGE_HEAP_H

#include <stddef.h>

#define PH_ALIGN 16     /* objects start on 16 bytes, so at most 15 bytes of slack before the guard */

/*
 * size bytes (1 or more), zeroed: a VM_ANON region of ceil(size / 4096)
 * pages, then a one-page VM_GUARD region directly after it; the object
 * starts at the highest multiple of PH_ALIGN that leaves size bytes
 * before the guard. Returns NULL for size 0 or when the VMM refuses, with
 * nothing left behind.
 */
void *ph_alloc(size_t size);

/* Give back both regions of an object from ph_alloc. 0, or -1 (nothing changed) for any other pointer. */
int ph_free(void *p);

#endif
