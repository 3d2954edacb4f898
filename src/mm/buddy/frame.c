/*
 * frame.c - what callers may ask of a single frame (is it RAM, how many
 * references it has) and whether a free of it is legal, and why not.
 *
 * Reference counts change under the lock because the last put frees.
 * Every misuse check reads only the per-frame records, which live apart
 * from the memory handed out, so a wrong free is caught before it touches
 * a list.
 */
#include "mm/buddy/pmm_state.h"
#include "mm/failure.h"
#include "lib/kprintf.h"

/*
 * The free or allocated block that contains the TAIL frame pfn: try each
 * aligned head below it, smallest block first. Returns its record, or NULL.
 */
static struct frame *enclosing_block(pfn_t pfn, pfn_t *head)
{
	for (unsigned o = 1; o <= PMM_MAX_ORDER; o++) {
		pfn_t h = pfn & ~((1ULL << o) - 1);
		struct frame *f = pfn_frame(h);
		if (f && (f->state == FRAME_FREE || f->state == FRAME_ALLOCATED) && f->order >= o) {
			*head = h;
			return f;
		}
	}
	return NULL;
}

static int tail_misuse(pa_t pa, const char *who)
{
	pfn_t head;
	struct frame *f = enclosing_block(pa_to_pfn(pa), &head);

	if (f && f->state == FRAME_FREE) {
		MM_MISUSE("pmm", "%s 0x%llx: double free: inside the free block of order %u at 0x%llx",
			who, (unsigned long long)pa, (unsigned)f->order,
			(unsigned long long)pfn_to_pa(head));
		return PMM_E_DOUBLE_FREE;
	}
	if (f) {
		MM_MISUSE("pmm", "%s 0x%llx: not the start of a block: inside the block of order %u allocated at 0x%llx",
			who, (unsigned long long)pa, (unsigned)f->order,
			(unsigned long long)pfn_to_pa(head));
		return PMM_E_NOT_ALLOCATED;
	}
	MM_MISUSE("pmm", "%s 0x%llx: frame was never allocated", who, (unsigned long long)pa);
	return PMM_E_NOT_ALLOCATED;
}

/*
 * 0 if pa is the head of a block allocated with this order that no one
 * else holds a reference to (refcount 1); otherwise
 * report what is wrong (who names the caller) and return the error.
 * Called with pmm.lock held, or on a frame no other CPU can touch.
 */
int check_freeable(pa_t pa, unsigned order, const char *who)
{
	unsigned long long a = pa;
	struct frame *f;

	if (order > PMM_MAX_ORDER) {
		MM_MISUSE("pmm", "%s 0x%llx: order %u is above the largest, %u", who, a, order, PMM_MAX_ORDER);
		return PMM_E_BAD_ORDER;
	}
	if (pa & (PAGE_SIZE - 1)) {
		MM_MISUSE("pmm", "%s 0x%llx: address is not page aligned", who, a);
		return PMM_E_MISALIGNED;
	}
	if (!(f = pfn_frame(pa_to_pfn(pa)))) {
		MM_MISUSE("pmm", "%s 0x%llx: not RAM the PMM manages", who, a);
		return PMM_E_NOT_RAM;
	}
	if (pa_to_pfn(pa) & ((1ULL << order) - 1)) {
		MM_MISUSE("pmm", "%s 0x%llx: address is not aligned to order %u", who, a, order);
		return PMM_E_MISALIGNED;
	}
	switch (f->state) {
	case FRAME_ALLOCATED:
		if (f->order != order) {
			MM_MISUSE("pmm", "%s 0x%llx: wrong order: allocated with order %u, freed with %u",
				who, a, (unsigned)f->order, order);
			return PMM_E_WRONG_ORDER;
		}
		if (f->refs > 1) {      /* the other holders' puts would free the next owner's page */
			MM_MISUSE("pmm", "%s 0x%llx: still shared (%u references): drop yours with pmm_frame_put",
				who, a, (unsigned)f->refs);
			return PMM_E_SHARED;
		}
		return 0;
	case FRAME_FREE:
	case FRAME_CACHED:
		MM_MISUSE("pmm", "%s 0x%llx: double free: frame is already free", who, a);
		return PMM_E_DOUBLE_FREE;
	case FRAME_RESERVED:
		MM_MISUSE("pmm", "%s 0x%llx: frame is reserved", who, a);
		return PMM_E_RESERVED;
	default:
		return tail_misuse(pa, who);
	}
}

/* The record of an allocated block's head, or NULL after reporting why not. */
static struct frame *allocated_head(pa_t pa, const char *who)
{
	struct frame *f = (pa & (PAGE_SIZE - 1)) ? NULL : pfn_frame(pa_to_pfn(pa));

	if (f && f->state == FRAME_ALLOCATED)
		return f;
	MM_MISUSE("pmm", "%s 0x%llx: not the first frame of an allocated block",
		who, (unsigned long long)pa);
	return NULL;
}

/* pmm_frame_get: see buddy.h. */
unsigned pmm_frame_get(pa_t pa)
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
unsigned pmm_frame_put(pa_t pa)
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

/* pmm_frame_refcount: see buddy.h. Without the lock: a snapshot, exact only to a holder of the block. */
unsigned pmm_frame_refcount(pa_t pa)
{
	struct frame *f = (pa & (PAGE_SIZE - 1)) ? NULL : pfn_frame(pa_to_pfn(pa));
	return f && f->state == FRAME_ALLOCATED ? f->refs : 0;
}

bool pmm_is_ram(pa_t pa)
{
	return pfn_frame(pa_to_pfn(pa)) != NULL;
}
