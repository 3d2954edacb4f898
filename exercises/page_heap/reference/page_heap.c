/*
 * page_heap.c - a reference solution of the page heap exercise
 * (docs/exercises.md): see page_heap.h. Reading it before writing your
 * own spoils the exercise; `make exercise-reference` grades it.
 *
 * An object of n pages is two regions of the kernel's large area:
 *
 *      va                              va + n pages       + 1 page
 *      | VM_ANON, n pages   [ object ] | VM_GUARD, 1 page |
 *                           ^ p        ^ the object's end, at most 15 bytes before
 *
 * The room is found by reserving n + 1 pages as one guard region; its
 * first n pages are then given back and taken at once as VM_ANON (zeroed,
 * every frame mapped), so the page after them is already the guard. If
 * another CPU takes those pages in between, the guard goes back too and
 * the allocation fails.
 *
 * The objects handed out are kept in a fixed table, as KFENCE keeps its
 * pool's: the region alone cannot tell p from p + 16, and ph_free must
 * refuse anything it did not hand out. A full table fails like the VMM.
 */
#include "page_heap.h"
#include "mm/vmm/vmm.h"
#include "mm/failure.h"
#include "lib/spinlock.h"

#define PG              4096UL
#define PH_MAX_OBJECTS  1024
#define PH_BUSY         ((va_t)1)       /* a slot taken by a ph_alloc not finished yet */

static struct spinlock ph_lock = SPINLOCK_INIT("page_heap");
static va_t ph_objects[PH_MAX_OBJECTS]; /* each live object's start, 0 = free slot */

/* Find the slot holding v and store w in it. Returns its index, or -1 if none holds v. */
static int swap_slot(va_t v, va_t w)
{
	uint64_t irq = spin_lock_irqsave(&ph_lock);
	int i = 0;

	while (i < PH_MAX_OBJECTS && ph_objects[i] != v)
		i++;
	if (i < PH_MAX_OBJECTS)
		ph_objects[i] = w;
	spin_unlock_irqrestore(&ph_lock, irq);
	return i < PH_MAX_OBJECTS ? i : -1;
}

static void set_slot(int i, va_t v)
{
	uint64_t irq = spin_lock_irqsave(&ph_lock);
	ph_objects[i] = v;
	spin_unlock_irqrestore(&ph_lock, irq);
}

/* The n pages at va and the guard page after them, or -1 with nothing left behind. */
static int map_object(size_t n, va_t *va)
{
	struct vm_space *ks = vmm_kernel_space();
	struct vm_req room = { .len = (n + 1) * PG, .kind = VM_GUARD, .lo = VMM_KLARGE_BASE, .hi = VMM_KMMIO_BASE };
	struct vm_req anon = { .len = n * PG, .kind = VM_ANON, .flags = VM_READ | VM_WRITE };

	if (vmm_alloc(ks, &room, va))
		return -1;
	if (vmm_free(ks, *va, n * PG)) {
		vmm_free(ks, *va, (n + 1) * PG);        /* no node for the split: the room goes back whole */
		return -1;
	}
	if (vmm_alloc_fixed(ks, *va, &anon)) {
		vmm_free(ks, *va + n * PG, PG);         /* out of frames, or the pages were taken meanwhile */
		return -1;
	}
	return 0;
}

/* ph_alloc: see page_heap.h. */
void *ph_alloc(size_t size)
{
	size_t n = size / PG + (size % PG != 0);
	va_t va, p;
	int slot;

	if (size == 0 || size > VMM_KAREA_SIZE / 2)
		return NULL;
	if ((slot = swap_slot(0, PH_BUSY)) < 0)
		return NULL;
	if (map_object(n, &va)) {
		set_slot(slot, 0);
		return NULL;
	}
	p = va + n * PG - ((size + PH_ALIGN - 1) & ~(size_t)(PH_ALIGN - 1));
	set_slot(slot, p);
	return (void *)p;
}

/* ph_free: see page_heap.h. The slot is emptied first, so a second free of p is refused. */
int ph_free(void *p)
{
	struct vm_space *ks = vmm_kernel_space();
	struct vm_region r;
	bool found;
	int e;

	if (!p || swap_slot((va_t)p, 0) < 0) {
		MM_MISUSE("page_heap", "free %p: not an object it handed out", p);
		return -1;
	}
	/* Ours since ph_alloc: a region gone or refused means someone freed it behind our back. */
	found = vmm_lookup(ks, (va_t)p, &r);
	MM_ASSERT("page_heap", found && r.kind == VM_ANON, "object %p lost its region", p);
	e = vmm_free(ks, r.base + r.len, PG);
	if (e == 0)
		e = vmm_free(ks, r.base, r.len);
	MM_ASSERT("page_heap", e == 0, "object %p: its regions would not go: %s", p, vmm_error_str(e));
	return 0;
}
