/*
 * frame.c - what the layers above may ask of a single frame: is it RAM,
 * how many references it has, and their private word.
 *
 * Reference counts change under the lock because the last put frees.
 */
#include "mm/buddy/internal.h"
#include "mm/failure.h"
#include "lib/kprintf.h"

/* The record of an allocated block's head, or NULL after reporting why not. */
static struct frame *allocated_head(uint64_t pa, const char *who)
{
	struct frame *f = (pa & (PAGE_SIZE - 1)) ? NULL : pfn_frame(pa_to_pfn(pa));

	if (f && f->state == FRAME_ALLOCATED)
		return f;
	MM_MISUSE("pmm", "%s 0x%llx: not the first frame of an allocated block",
		who, (unsigned long long)pa);
	return NULL;
}

/* pmm_frame_get: see buddy.h. */
unsigned pmm_frame_get(uint64_t pa)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	struct frame *f = allocated_head(pa, "frame_get");
	unsigned n = 0;

	if (f && f->refs == FRAME_MAX_REFS)
		MM_MISUSE("pmm", "frame_get 0x%llx: reference count saturated", (unsigned long long)pa);
	else if (f)
		f->refs++;
	if (f)
		n = f->refs;
	spin_unlock_irqrestore(&pmm.lock, irq);
	return n;
}

/* pmm_frame_put: see buddy.h. */
unsigned pmm_frame_put(uint64_t pa)
{
	uint64_t irq = spin_lock_irqsave(&pmm.lock);
	struct frame *f = allocated_head(pa, "frame_put");
	unsigned n = 0;

	if (f && --f->refs == 0)
		core_free(pa_to_pfn(pa), f->order);
	else if (f)
		n = f->refs;
	spin_unlock_irqrestore(&pmm.lock, irq);
	return n;
}

unsigned pmm_frame_refcount(uint64_t pa)
{
	struct frame *f = (pa & (PAGE_SIZE - 1)) ? NULL : pfn_frame(pa_to_pfn(pa));
	return f && f->state == FRAME_ALLOCATED ? f->refs : 0;
}

bool pmm_is_ram(uint64_t pa)
{
	return pfn_frame(pa_to_pfn(pa)) != NULL;
}

uint32_t pmm_frame_private(uint64_t pa)
{
	struct frame *f = pfn_frame(pa_to_pfn(pa));
	if (!f) {
		MM_MISUSE("pmm", "frame_private 0x%llx: not RAM the PMM manages", (unsigned long long)pa);
		return 0;
	}
	return f->private;
}

void pmm_frame_set_private(uint64_t pa, uint32_t v)
{
	struct frame *f = pfn_frame(pa_to_pfn(pa));
	if (!f) {
		MM_MISUSE("pmm", "frame_set_private 0x%llx: not RAM the PMM manages", (unsigned long long)pa);
		return;
	}
	f->private = v;
}
