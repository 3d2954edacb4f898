/*
 * virtio_blk.h - a virtio-blk disk over the virtio 1.0 ("modern") PCI transport.
 *
 * vblk_init finds the first virtio-blk function on the PCI bus (device ID
 * 0x1042, or the transitional 0x1001 that QEMU's i440fx machine gives by
 * default: its modern capabilities are used all the same, never the
 * legacy I/O BAR), maps the four virtio structures its capabilities name
 * (common, notify, ISR, device configuration) as VM_MMIO regions of the
 * kernel space, uncached, negotiates VIRTIO_F_VERSION_1 (refusing a device
 * without it) and VIRTIO_BLK_F_FLUSH if offered, and sets up one split
 * virtqueue in a zeroed frame from the buddy.
 *
 * One request is in flight at a time, under the driver's lock, as a chain
 * of three descriptors: header (device-readable), data, status byte (both
 * device-writable for a read). Data goes through a bounce buffer of
 * VBLK_BOUNCE_SECTORS contiguous frames owned by the driver, so callers may
 * pass any kernel address (heap, stack, HHDM); larger transfers are cut
 * into several requests.
 *
 * Completion is polled on the used ring, not taken by interrupt: the
 * kernel routes only the legacy 8259's lines (arch/x86_64/irq.c) and the
 * local APIC's timer (apic.c); there is no I/O APIC or MSI-X set-up to
 * deliver a PCI interrupt yet. The device is told not to interrupt
 * (VIRTQ_AVAIL_F_NO_INTERRUPT, and INTx disabled in the command register).
 * A request that does not complete in VBLK_TIMEOUT_MS is an error. The
 * poll holds the driver's lock with interrupts off (answering other CPUs'
 * TLB flushes meanwhile); a swap path that must not stall the CPU wants a
 * sleeping wait on an interrupt once the I/O APIC or MSI-X is set up.
 *
 * Errors are negative errno values (abi/syscall.h): -ENODEV (no device,
 * or not one this driver can drive), -EINVAL (a range past the disk's
 * end), -EACCES (a write to a read-only disk), -EIO (the device answered
 * with a status other than OK, did not answer in time, or failed set-up),
 * -ENOMEM (no frames for the queue). Every device error is reported on
 * the console as "vblk: ...".
 */
#ifndef STRATA_DRIVERS_VIRTIO_BLK_H
#define STRATA_DRIVERS_VIRTIO_BLK_H

#include <stdint.h>
#include "drivers/pci/pci.h"   /* the boot path scans the bus (pci_report) before vblk_init */

#define VBLK_SECTOR_SIZE 512
#define VBLK_BOUNCE_ORDER 4     /* 16 frames: 64 KiB, 128 sectors a request */
#define VBLK_BOUNCE_SECTORS ((4096u << VBLK_BOUNCE_ORDER) / VBLK_SECTOR_SIZE)
#define VBLK_TIMEOUT_MS 5000

/*
 * Find and start the first virtio-blk device. Prints "VBLK sectors=N" when
 * it is up, "vblk: no virtio-blk device" when there is none. Returns 0
 * (also when already up), or a negative errno with nothing kept.
 */
int vblk_init(void);

/* count sectors from sector into buf / from buf. 0 or a negative errno; count 0 does nothing. */
int vblk_read(uint64_t sector, void *buf, unsigned count);
int vblk_write(uint64_t sector, const void *buf, unsigned count);

/* Make every completed write durable. 0 (also when the device has no write cache to flush) or -errno. */
int vblk_flush(void);

/* The disk's size in sectors; 0 when no device is up. */
uint64_t vblk_sectors(void);

/* 1 if the device offered VIRTIO_BLK_F_FLUSH (a flush is sent), 0 if not. */
int vblk_has_flush(void);

/* Frames the driver holds now (queue and bounce buffer): for tests. */
unsigned vblk_frames(void);

/*
 * Reset the device, unmap its structures and give back every frame; a
 * later vblk_init starts over. Returns 0, or -ENODEV if none was up.
 */
int vblk_shutdown(void);

/*
 * One request as given, without the driver's range check: the device's
 * own answer, for tests of the error path. type is VIRTIO_BLK_T_*;
 * count at most VBLK_BOUNCE_SECTORS.
 */
#define VIRTIO_BLK_T_IN     0
#define VIRTIO_BLK_T_OUT    1
#define VIRTIO_BLK_T_FLUSH  4
int vblk_request(uint32_t type, uint64_t sector, void *buf, unsigned count);

#endif
