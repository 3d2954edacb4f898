/*
 * area.c - the one swap area: a device handed down by the kernel's glue,
 * its header checked before anything is written, and its slots.
 *
 * A page goes out to a slot and comes back from it (swap_write_page,
 * swap_read_page); choosing which pages go (reclaim) and the faults that
 * bring them back are not here yet (docs/swap.md).
 */
#include "mm/swap/swap.h"
#include "mm/buddy/buddy.h"
#include "mm/arch.h"
#include "mm/failure.h"
#include "abi/syscall.h"
#include "lib/kprintf.h"

static struct {
	struct swap_dev dev;
	struct swap_slots slots;
	pa_t bitmap;                    /* the slots' bits: a block of the buddy */
	unsigned order;
	bool on;
	struct swap_kept kept;
	pa_t kept_block;                /* the kept table: a block of the buddy, or none */
	unsigned kept_order;
	bool keep_off;                  /* swap_keep_off: every page rewritten */
	uint64_t out, in, reclaim_runs, errors, clean;
} area;

/* The buddy order of a block holding bytes. */
static unsigned order_for(size_t bytes)
{
	unsigned o = 0;
	while (((size_t)PAGE_SIZE << o) < bytes)
		o++;
	return o;
}

/*
 * Read page 0 into a frame and check it, or (format) write a new header
 * there first. 0 and *pages, -EINVAL (no valid header: said why), or the
 * device's errno.
 */
static int header(const struct swap_dev *dev, bool format, uint64_t *pages)
{
	pa_t f = pmm_alloc_page(PMM_ZERO);
	if (f == PMM_NO_FRAME)
		return -ENOMEM;
	void *page = phys_to_virt(f);
	int e = dev->read(0, page), bad = 0;
	if (e)
		kprintf("swap: %s: the header could not be read (%d)\n", dev->name, e);
	else if ((bad = swap_header_check(page, dev->pages, pages)) && !format)
		kprintf("swap: %s: not used: %s (swap.format=1 writes a header over it)\n", dev->name,
			swap_error_str(bad));
	else if (bad) {
		kprintf("swap: %s: %s: writing a new header (swap.format=1)\n", dev->name, swap_error_str(bad));
		if (swap_header_format(page, dev->pages) ||
		    swap_header_check(page, dev->pages, pages)) {
			kprintf("swap: %s: %llu pages: too small or too large for an area\n", dev->name,
				(unsigned long long)dev->pages);
		} else if ((e = dev->write(0, page)) || (dev->flush && (e = dev->flush()))) {
			kprintf("swap: %s: the header could not be written (%d)\n", dev->name, e);
		} else {
			bad = 0;
		}
	}
	pmm_free_page(f);
	return e ? e : bad ? -EINVAL : 0;
}

/*
 * The kept table: a slot is worth keeping only for a page in RAM, so an
 * entry per frame of RAM at most (32 bytes per 4 KiB frame: 0.8 %), and per
 * slot; 32768 entries at most (1 MiB). No block from the buddy: no slot
 * is kept, nothing else lost.
 */
#define KEPT_MAX 32768
static void kept_table_init(uint64_t slots)
{
	struct pmm_stats ps;
	pmm_get_stats(&ps);
	uint64_t want = slots < ps.total_pages ? slots : ps.total_pages, cap = 64;
	while (cap < KEPT_MAX && cap * 2 <= want)
		cap *= 2;
	area.kept_order = order_for(swap_kept_bytes(cap));
	area.kept_block = pmm_alloc(area.kept_order, 0);
	if (area.kept_block == PMM_NO_FRAME)
		cap = 0;
	swap_kept_init(&area.kept, cap ? phys_to_virt(area.kept_block) : 0, cap);
}

int swap_on(const struct swap_dev *dev, bool format)
{
	uint64_t pages;
	if (area.on)
		return -EBUSY;
	int e = header(dev, format, &pages);
	if (e)
		return e;
	unsigned order = order_for(swap_slots_bytes(pages));
	pa_t bits = pmm_alloc(order, PMM_ZERO);
	if (bits == PMM_NO_FRAME)
		return -ENOMEM;
	area.dev = *dev, area.bitmap = bits, area.order = order;
	swap_slots_init(&area.slots, phys_to_virt(bits), pages);
	kept_table_init(pages - 1);
	area.on = true;
	kprintf("swap: %s: %llu KiB of slots\n", dev->name, (unsigned long long)(pages - 1) * 4);
	return 0;
}

int swap_off(void)
{
	if (!area.on)
		return 0;
	if (area.slots.used)
		return -EBUSY;
	pmm_free(area.bitmap, area.order);
	if (area.kept.cap)
		pmm_free(area.kept_block, area.kept_order);
	area.on = false;
	return 0;
}

int swap_slot_take(uint64_t *slot)
{
	if (!area.on)
		return -ENODEV;
	uint64_t n = swap_slot_alloc(&area.slots);
	if (!n)
		return -ENOSPC;
	*slot = n;
	return 0;
}

/* A slot's page to or from the disk: the area on, the slot taken, the device asked, counted. */
static int slot_io(uint64_t slot, void *page, bool write)
{
	if (!area.on)
		return -ENODEV;
	if (!slot || !swap_slot_in_use(&area.slots, slot)) {
		MM_MISUSE("swap", "%s slot %llu, which %s", write ? "write to" : "read of",
			  (unsigned long long)slot, write ? "is not taken" : "holds no page");
		return -EINVAL;
	}
	int e = write ? area.dev.write(slot, page) : area.dev.read(slot, page);
	if (e) {
		kprintf("swap: %s: slot %llu could not be %s (%d)\n", area.dev.name,
			(unsigned long long)slot, write ? "written" : "read", e);
		area.errors++;
		return e;
	}
	*(write ? &area.out : &area.in) += 1;
	return 0;
}

int swap_write_slot(uint64_t slot, const void *page)
{
	return slot_io(slot, (void *)page, true);     /* a write only reads the page */
}

int swap_write_page(const void *page, uint64_t *slot)
{
	uint64_t n;
	int e = swap_slot_take(&n);
	if (!e && (e = swap_write_slot(n, page)))
		swap_slot_free(&area.slots, n);
	if (!e)
		*slot = n;
	return e;
}

int swap_read_page(uint64_t slot, void *page)
{
	return slot_io(slot, page, false);
}

int swap_free_slot(uint64_t slot)
{
	if (!area.on)
		return -ENODEV;
	return swap_slot_free(&area.slots, slot) ? -EINVAL : 0;
}

void swap_count_reclaim(void) { area.reclaim_runs++; }
void swap_count_clean(void) { area.clean++; }

void swap_keep_off(void) { area.keep_off = true; }

bool swap_keep(const void *owner, uint64_t va, uint64_t slot, uint64_t pa)
{
	if (area.on && !area.keep_off && !swap_kept_add(&area.kept, owner, va, slot, pa))
		return true;
	swap_free_slot(slot);
	return false;
}

bool swap_unkeep(const void *owner, uint64_t va, uint64_t *slot, uint64_t *pa)
{
	return area.on && swap_kept_take(&area.kept, owner, va, slot, pa);
}

static void free_kept(uint64_t slot, void *arg)
{
	(void)arg;
	swap_free_slot(slot);
}

uint64_t swap_drop_kept(const void *owner, uint64_t va, uint64_t len)
{
	return area.on ? swap_kept_drop(&area.kept, owner, va, len, free_kept, 0) : 0;
}

uint64_t swap_kept_of(const void *owner) { return area.on ? swap_kept_count(&area.kept, owner) : 0; }

void swap_stats(struct swap_stats *st)
{
	*st = (struct swap_stats){
		.on = area.on, .pages = area.on ? area.slots.pages - 1 : 0,
		.used = area.on ? area.slots.used : 0,
		.out = area.out, .in = area.in, .reclaim_runs = area.reclaim_runs,
		.errors = area.errors, .kept = area.on ? area.kept.n : 0, .clean = area.clean,
	};
}

void swap_report(void)
{
	struct swap_stats st;
	swap_stats(&st);
	kprintf("SWAP size_kib=%llu used_kib=%llu out=%llu in=%llu reclaim_runs=%llu errors=%llu kept=%llu "
		"clean=%llu\n", (unsigned long long)st.pages * 4, (unsigned long long)st.used * 4,
		(unsigned long long)st.out, (unsigned long long)st.in,
		(unsigned long long)st.reclaim_runs, (unsigned long long)st.errors,
		(unsigned long long)st.kept, (unsigned long long)st.clean);
}
