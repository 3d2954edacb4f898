/*
 * object.c - memory objects: pages found by index, each one frame, shared
 * by every mapping of the object and by whoever else holds it (vmm.h).
 *
 * The index is a radix tree of three levels, each a page of 512 entries
 * (the page tables' own shape), so a lookup is three loads and an object
 * of a few pages costs three index pages, however far apart its pages lie:
 *
 *     o->root --> [ 512 ] --> [ 512 ] --> [ 512 ] --> frame of page idx
 *                idx bits 26-18  17-9      8-0
 *
 * An entry is the physical address of the next level (or, at the last,
 * of the page's frame) with bit 0 set, or 0 when empty. Index pages are
 * made when a page below them is, and go when the last page below them
 * does (vmo_resize, the last vmo_put), so an emptied object holds none.
 *
 * Frame counts: the object holds one reference of each of its frames, and
 * each caller of vmo_page one more, until vmo_page_put. A frame dropped by
 * the object while a mapping holds it (a file cut short) stays that
 * mapping's until it unmaps it.
 */
#include "mm/vmm/vmm_private.h"
#include "mm/buddy/buddy.h"
#include "lib/kstring.h"

#define LEVELS  3
#define FANOUT  512
#define PRESENT 1ULL

static inline pa_t *table_of(pa_t e) { return phys_to_virt(e & ~PRESENT); }
static inline unsigned index_at(uint64_t idx, int level) { return (idx >> (9 * level)) & (FANOUT - 1); }
static inline uint64_t pages_for(uint64_t size) { return (size + PAGE_SIZE - 1) / PAGE_SIZE; }

void vmo_init(struct vm_object *o, uint64_t size, void (*release)(struct vm_object *o))
{
	*o = (struct vm_object){
		.lock = SPINLOCK_INIT("vm object"),
		.refs = 1, .size = size, .release = release,
	};
}

void vmo_get(struct vm_object *o)
{
	uint64_t flags = spin_lock_irqsave(&o->lock);
	if (!o->refs)
		MM_PANIC("vmm", "vmo_get of object %p, which has no reference left", (void *)o);
	o->refs++;
	spin_unlock_irqrestore(&o->lock, flags);
}

void vmo_page_put(pa_t pa)
{
	back_free_frame(0, pa);
}

/*
 * The leaf entry of page idx, making the index pages on the way if create
 * is set. NULL if a level is missing (and not made), or out of frames
 * (prune_path takes back what was made).
 */
static pa_t *leaf(struct vm_object *o, uint64_t idx, bool create)
{
	pa_t *e = &o->root;
	for (int level = LEVELS - 1; level >= 0; level--) {
		if (!*e) {
			pa_t t = create ? pmm_alloc_page(PMM_ZERO) : PMM_NO_FRAME;
			if (t == PMM_NO_FRAME)
				return 0;
			*e = t | PRESENT;
			o->tables++;
		}
		e = &table_of(*e)[index_at(idx, level)];
	}
	return e;
}

static bool table_empty(const pa_t *t)
{
	for (unsigned i = 0; i < FANOUT; i++)
		if (t[i])
			return false;
	return true;
}

/* After a vmo_page that failed: the index pages on idx's path that hold nothing go. */
static void prune_path(struct vm_object *o, uint64_t idx)
{
	pa_t *path[LEVELS], *e = &o->root;
	int n = 0;
	for (int level = LEVELS - 1; level >= 0 && *e; level--) {
		path[n++] = e;
		e = &table_of(*e)[index_at(idx, level)];
	}
	while (n-- > 0 && table_empty(table_of(*path[n]))) {
		pmm_free_page(*path[n] & ~PRESENT);
		*path[n] = 0, o->tables--;
	}
}

int vmo_page(struct vm_object *o, uint64_t idx, bool create, pa_t *pa)
{
	int e = 0;
	uint64_t flags = spin_lock_irqsave(&o->lock);
	pa_t *slot = idx < pages_for(o->size) ? leaf(o, idx, create) : 0;
	if (idx >= pages_for(o->size))
		e = VMM_E_BOUNDS;
	else if (!slot)
		e = create ? VMM_E_NO_MEMORY : VMM_E_NOT_MAPPED;
	else if (!*slot && !create)
		e = VMM_E_NOT_MAPPED;
	else if (!*slot) {
		pa_t f = pmm_alloc_page(PMM_ZERO);
		if (f == PMM_NO_FRAME)
			e = VMM_E_NO_MEMORY;
		else
			*slot = f | PRESENT, o->pages++;
	}
	if (!e) {
		*pa = *slot & ~PRESENT;
		pmm_frame_get(*pa);
	} else if (e == VMM_E_NO_MEMORY) {
		prune_path(o, idx);
	}
	spin_unlock_irqrestore(&o->lock, flags);
	return e;
}

/*
 * Drop every page at index first or above from the subtree at *e (level
 * `level`, covering pages from base), and the index pages left empty.
 * Returns true if *e is now empty.
 */
static bool cut(struct vm_object *o, pa_t *e, int level, uint64_t base, uint64_t first)
{
	uint64_t span = 1ULL << (9 * level);    /* pages under one entry of this level */
	pa_t *t = table_of(*e);
	bool empty = true;
	for (unsigned i = 0; i < FANOUT; i++) {
		uint64_t lo = base + i * span;
		if (!t[i])
			continue;
		if (lo + span <= first) {       /* wholly below the cut: kept */
			empty = false;
			continue;
		}
		if (level == 0) {
			vmo_page_put(t[i] & ~PRESENT);
			t[i] = 0, o->pages--;
		} else if (cut(o, &t[i], level - 1, lo, first)) {
			t[i] = 0;
		} else {
			empty = false;
		}
	}
	if (empty) {
		pmm_free_page(*e & ~PRESENT);
		*e = 0, o->tables--;
	}
	return empty;
}

/* Zero the bytes of the last page from the end on, so a later growth reads zeroes there. */
static void zero_tail(struct vm_object *o, uint64_t size)
{
	if (!(size % PAGE_SIZE))
		return;
	pa_t *slot = leaf(o, size / PAGE_SIZE, false);
	if (slot && *slot)
		memset((char *)phys_to_virt(*slot & ~PRESENT) + size % PAGE_SIZE, 0, PAGE_SIZE - size % PAGE_SIZE);
}

int vmo_resize(struct vm_object *o, uint64_t size)
{
	if (pages_for(size) > VMO_MAX_PAGES)
		return VMM_E_INVAL;
	uint64_t flags = spin_lock_irqsave(&o->lock);
	if (size < o->size) {
		if (o->root)
			cut(o, &o->root, LEVELS - 1, 0, pages_for(size));
		zero_tail(o, size);
	} else {
		zero_tail(o, o->size);  /* what a mapping stored past the old end: the growth reads zeroes */
	}
	o->size = size;
	spin_unlock_irqrestore(&o->lock, flags);
	return 0;
}

void vmo_put(struct vm_object *o)
{
	uint64_t flags = spin_lock_irqsave(&o->lock);
	if (!o->refs)
		MM_PANIC("vmm", "vmo_put of object %p, which has no reference left", (void *)o);
	bool last = --o->refs == 0;
	if (last && o->root)
		cut(o, &o->root, LEVELS - 1, 0, 0);
	spin_unlock_irqrestore(&o->lock, flags);
	if (last && (o->pages || o->tables))
		MM_PANIC("vmm", "object %p emptied, still counts %llu pages in %llu index pages", (void *)o,
			 (unsigned long long)o->pages, (unsigned long long)o->tables);
	if (last && o->release)
		o->release(o);
}

/* Count the frames and index pages under *e; report entries past the object's end. */
static unsigned count(const struct vm_object *o, pa_t e, int level, uint64_t base,
		      uint64_t *pages, uint64_t *tables)
{
	uint64_t span = 1ULL << (9 * level);
	const pa_t *t = table_of(e);
	unsigned problems = 0;
	(*tables)++;
	for (unsigned i = 0; i < FANOUT; i++) {
		if (!t[i])
			continue;
		if (level)
			problems += count(o, t[i], level - 1, base + i * span, pages, tables);
		else if ((*pages)++, base + i >= pages_for(o->size)) {
			kprintf("vmo: check: page %llu lies past the end (%llu bytes)\n",
				(unsigned long long)(base + i), (unsigned long long)o->size);
			problems++;
		}
	}
	return problems;
}

unsigned vmo_check(struct vm_object *o)
{
	uint64_t pages = 0, tables = 0;
	uint64_t flags = spin_lock_irqsave(&o->lock);
	unsigned problems = o->root ? count(o, o->root, LEVELS - 1, 0, &pages, &tables) : 0;
	if (pages != o->pages || tables != o->tables) {
		kprintf("vmo: check: counts say %llu pages in %llu index pages, the index holds %llu in %llu\n",
			(unsigned long long)o->pages, (unsigned long long)o->tables,
			(unsigned long long)pages, (unsigned long long)tables);
		problems++;
	}
	spin_unlock_irqrestore(&o->lock, flags);
	return problems;
}
