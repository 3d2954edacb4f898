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
	uint64_t out, in, reclaim_runs, errors;
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

void swap_stats(struct swap_stats *st)
{
	*st = (struct swap_stats){
		.on = area.on, .pages = area.on ? area.slots.pages - 1 : 0,
		.used = area.on ? area.slots.used : 0,
		.out = area.out, .in = area.in, .reclaim_runs = area.reclaim_runs,
		.errors = area.errors,
	};
}

void swap_report(void)
{
	struct swap_stats st;
	swap_stats(&st);
	kprintf("SWAP size_kib=%llu used_kib=%llu out=%llu in=%llu reclaim_runs=%llu errors=%llu\n",
		(unsigned long long)st.pages * 4, (unsigned long long)st.used * 4,
		(unsigned long long)st.out, (unsigned long long)st.in,
		(unsigned long long)st.reclaim_runs, (unsigned long long)st.errors);
}
