/*
 * page_heap.c - exercise skeleton: see page_heap.h. Both calls fail as
 * shipped; `make exercise-page-heap` reports which checks that breaks.
 */
#include "page_heap.h"
#include "mm/vmm/vmm.h"

void *ph_alloc(size_t size)
{
	(void)size;
	/*
	 * TODO: n = ceil(size / 4096) pages. vmm_alloc a VM_ANON region of n
	 * pages (VM_READ | VM_WRITE) in [VMM_KLARGE_BASE, VMM_KMMIO_BASE), then
	 * vmm_alloc_fixed a one-page VM_GUARD region at its end. If that page
	 * is taken, or the guard fails, free the first region and say so.
	 * Hint: ask for n + 1 pages of VM_GUARD first to find the room, free
	 * it, then place both inside it.
	 */
	return NULL;
}

int ph_free(void *p)
{
	(void)p;
	/* TODO: vmm_lookup the region holding p, check it is one of ours (anon, a guard right after it), free both. */
	return -1;
}
