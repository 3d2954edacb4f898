/*
 * swap_boot.c - the glue between the disk and the swap area: the
 * virtio-blk driver, seen as the 4 KiB pages a struct swap_dev reads and
 * writes (eight sectors each), handed to swap_on at boot. The swap layer
 * never calls a driver by name: drivers sit above the memory layers.
 *
 * swap.fail_read=N makes the Nth page read from the disk (the header's
 * read at boot is the first) fail as a device error would, once: the
 * harness's swapio boot shows a failed swap-in kills only the process
 * that needed the page (docs/swap.md). swap.keep=0: no slot is kept for
 * a clean page, every page reclaimed is written (to measure the saving).
 */
#include "kernel/kernel.h"
#include "kernel/cmdline.h"
#include "drivers/virtio/virtio_blk.h"
#include "mm/swap/swap.h"
#include "abi/syscall.h"
#include "lib/kprintf.h"

#define SECTORS_PER_PAGE (SWAP_PAGE / VBLK_SECTOR_SIZE)

static uint64_t reads, fail_read;      /* fail_read: the read that fails; 0: none */

static int vblk_page_read(uint64_t page, void *buf)
{
	if (++reads == fail_read) {
		kprintf("swap: read %lu (page %lu) fails as asked (swap.fail_read)\n", reads, page);
		return -EIO;
	}
	return vblk_read(page * SECTORS_PER_PAGE, buf, SECTORS_PER_PAGE);
}
static int vblk_page_write(uint64_t page, const void *buf) { return vblk_write(page * SECTORS_PER_PAGE, buf, SECTORS_PER_PAGE); }

static struct swap_dev disk = { .name = "virtio-blk", .read = vblk_page_read, .write = vblk_page_write };

const struct swap_dev *swap_boot_dev(void)
{
	disk.pages = vblk_sectors() / SECTORS_PER_PAGE;
	disk.flush = vblk_has_flush() ? vblk_flush : 0;
	return disk.pages ? &disk : 0;
}

/* The disk, if there is one, as the swap area: its header checked, or written with swap.format=1. */
void swap_boot(void)
{
	const struct swap_dev *dev = swap_boot_dev();
	long n = cmdline_int("swap.fail_read", 0);
	fail_read = n > 0 ? (uint64_t)n : 0;
	if (cmdline_int("swap.keep", 1) == 0)
		swap_keep_off();                /* to measure what keeping clean pages' slots saves */
	if (dev)
		swap_on(dev, cmdline_int("swap.format", 0) == 1);
	else
		kprintf("swap: no disk: no swap area\n");
	swap_report();
}
