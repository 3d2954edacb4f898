/*
 * virtio_blk.c - the virtio-blk driver: PCI capabilities, feature
 * negotiation, one split virtqueue, polled requests (virtio_blk.h says why).
 *
 * Layout of the queue's frame (VBLK_QSIZE descriptors):
 *   0x000 descriptor table, 16 bytes each     (16-byte aligned)
 *   0x400 available ring: flags, idx, ring[]  (2-byte aligned)
 *   0x600 used ring: flags, idx, ring[] of {id, len}   (4-byte aligned)
 *   0x800 request header (16 bytes), 0x810 status byte
 * The device gets physical addresses (the frame's), the CPU goes through
 * the HHDM (phys_to_virt). Virtio 1.0 is little-endian, as x86 is.
 */
#include "drivers/virtio/virtio_blk.h"
#include "abi/syscall.h"
#include "kernel/tsc.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "lib/spinlock.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/vmm/vmm.h"

/* virtio_pci_cap.cfg_type */
#define VIRTIO_PCI_CAP_COMMON 1
#define VIRTIO_PCI_CAP_NOTIFY 2
#define VIRTIO_PCI_CAP_ISR    3
#define VIRTIO_PCI_CAP_DEVICE 4

/* virtio_pci_common_cfg offsets */
#define CC_DFSELECT   0x00
#define CC_DF         0x04
#define CC_GFSELECT   0x08
#define CC_GF         0x0c
#define CC_NUM_QUEUES 0x12
#define CC_STATUS     0x14
#define CC_CFGGEN     0x15
#define CC_Q_SELECT   0x16
#define CC_Q_SIZE     0x18
#define CC_Q_MSIX     0x1a
#define CC_Q_ENABLE   0x1c
#define CC_Q_NOFF     0x1e
#define CC_Q_DESC     0x20
#define CC_Q_AVAIL    0x28
#define CC_Q_USED     0x30

#define ST_ACKNOWLEDGE 1
#define ST_DRIVER      2
#define ST_DRIVER_OK   4
#define ST_FEATURES_OK 8
#define ST_NEEDS_RESET 64
#define ST_FAILED      128

#define F_BLK_RO    (1ull << 5)
#define F_BLK_FLUSH (1ull << 9)
#define F_VERSION_1 (1ull << 32)

#define VIRTQ_DESC_F_NEXT  1
#define VIRTQ_DESC_F_WRITE 2
#define VIRTQ_AVAIL_F_NO_INTERRUPT 1
#define VIRTIO_MSI_NO_VECTOR 0xffff

#define VIRTIO_BLK_S_OK     0
#define VIRTIO_BLK_S_IOERR  1
#define VIRTIO_BLK_S_UNSUPP 2

#define VBLK_QSIZE 16           /* at most: one request of three descriptors needs no more */
#define OFF_AVAIL  0x400
#define OFF_USED   0x600
#define OFF_HDR    0x800
#define OFF_STATUS 0x810

struct virtq_desc { uint64_t addr; uint32_t len; uint16_t flags, next; };
struct virtq_avail { uint16_t flags, idx, ring[VBLK_QSIZE]; };
struct virtq_used_elem { uint32_t id, len; };
struct virtq_used { uint16_t flags, idx; struct virtq_used_elem ring[VBLK_QSIZE]; };
struct blk_hdr { uint32_t type, reserved; uint64_t sector; };

_Static_assert(VBLK_QSIZE * sizeof(struct virtq_desc) <= OFF_AVAIL, "descriptors overlap the avail ring");
_Static_assert(OFF_AVAIL + sizeof(struct virtq_avail) + 2 <= OFF_USED, "avail ring overlaps the used ring");
_Static_assert(OFF_USED + sizeof(struct virtq_used) + 2 <= OFF_HDR, "used ring overlaps the header");

/* One mapped virtio structure: where the VMM put it, and the region to free. */
struct window {
	volatile uint8_t *p;    /* the structure's first byte */
	size_t size;            /* the structure's length, from its capability */
	va_t va;                /* the region */
	size_t len;
};

static struct spinlock lock = SPINLOCK_INIT("vblk");   /* one request at a time; guards up */

static struct {
	bool up;
	const struct pci_func *pci;
	struct window common, notify, isr, device;
	uint32_t notify_mult;
	volatile uint16_t *notify_q;    /* queue 0's doorbell */
	uint64_t features;              /* negotiated */
	uint64_t sectors;
	unsigned qsize;
	pa_t ring_pa, bounce_pa;
	uint16_t avail_idx, used_idx;
	unsigned frames;
} vb;

static inline void mb(void) { __asm__ volatile("mfence" : : : "memory"); }
static inline void compiler_barrier(void) { __asm__ volatile("" : : : "memory"); }

static uint8_t cc_r8(unsigned off) { return vb.common.p[off]; }
static uint16_t cc_r16(unsigned off) { return *(volatile uint16_t *)(vb.common.p + off); }
static uint32_t cc_r32(unsigned off) { return *(volatile uint32_t *)(vb.common.p + off); }
static void cc_w8(unsigned off, uint8_t v) { vb.common.p[off] = v; }
static void cc_w16(unsigned off, uint16_t v) { *(volatile uint16_t *)(vb.common.p + off) = v; }
static void cc_w32(unsigned off, uint32_t v) { *(volatile uint32_t *)(vb.common.p + off) = v; }
/* 64-bit fields as two dwords, low first: the spec allows it, and every device takes it. */
static void cc_w64(unsigned off, uint64_t v) { cc_w32(off, (uint32_t)v); cc_w32(off + 4, v >> 32); }

static struct virtq_desc *q_desc(void) { return phys_to_virt(vb.ring_pa); }
static volatile struct virtq_avail *q_avail(void) { return phys_to_virt(vb.ring_pa + OFF_AVAIL); }
static volatile struct virtq_used *q_used(void) { return phys_to_virt(vb.ring_pa + OFF_USED); }
static struct blk_hdr *q_hdr(void) { return phys_to_virt(vb.ring_pa + OFF_HDR); }
static volatile uint8_t *q_status(void) { return phys_to_virt(vb.ring_pa + OFF_STATUS); }

static void unmap(struct window *w)
{
	if (w->len)
		vmm_free(vmm_kernel_space(), w->va, w->len);
	*w = (struct window){ 0 };
}

/*
 * Map the structure a virtio_pci_cap at cap describes: len bytes at offset
 * off of its BAR, the pages around them uncached in the kernel's MMIO area.
 */
static int map_cap(unsigned cap, struct window *w)
{
	const struct pci_func *f = vb.pci;
	unsigned bar = pci_read8(f, cap + 4);
	uint32_t off = pci_read32(f, cap + 8), len = pci_read32(f, cap + 12);
	uint64_t base;
	if (!len || !pci_bar_mem(f, bar, &base)) {
		kprintf("vblk: capability at 0x%x names BAR %u, which is not an assigned memory BAR\n", cap, bar);
		return -ENODEV;
	}
	pa_t pa = base + off, first = pa & ~(PAGE_SIZE - 1);
	size_t span = ((pa + len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1)) - first;
	struct vm_req r = { .len = span, .kind = VM_MMIO, .flags = VM_READ | VM_WRITE,
			    .cache = VM_CACHE_UC, .pa = first, .lo = VMM_KMMIO_BASE, .hi = VMM_KMMIO_END };
	va_t va;
	int e = vmm_alloc(vmm_kernel_space(), &r, &va);
	if (e) {
		kprintf("vblk: cannot map 0x%lx bytes at 0x%lx: %s\n", (unsigned long)span, first, vmm_error_str(e));
		return e == VMM_E_NO_MEMORY ? -ENOMEM : -ENODEV;
	}
	*w = (struct window){ .p = (volatile uint8_t *)(va + (pa - first)), .size = len, .va = va, .len = span };
	return 0;
}

/* Find the first capability of each type the driver needs and map it. */
static int map_caps(void)
{
	static const struct { uint8_t type; const char *name; } need[] = {
		{ VIRTIO_PCI_CAP_COMMON, "common" }, { VIRTIO_PCI_CAP_NOTIFY, "notify" },
		{ VIRTIO_PCI_CAP_ISR, "isr" }, { VIRTIO_PCI_CAP_DEVICE, "device" },
	};
	struct window *win[] = { &vb.common, &vb.notify, &vb.isr, &vb.device };
	for (unsigned i = 0; i < 4; i++) {
		unsigned cap = 0;
		while ((cap = pci_find_cap(vb.pci, PCI_CAP_VENDOR, cap)) && pci_read8(vb.pci, cap + 3) != need[i].type)
			;
		if (!cap) {
			kprintf("vblk: no virtio %s capability: not a virtio 1.0 (modern) device\n", need[i].name);
			return -ENODEV;
		}
		int e = map_cap(cap, win[i]);
		if (e)
			return e;
		if (need[i].type == VIRTIO_PCI_CAP_NOTIFY)
			vb.notify_mult = pci_read32(vb.pci, cap + 16);
	}
	return 0;
}

static void reset_device(void)
{
	cc_w8(CC_STATUS, 0);
	/* The reset is done when the status reads back 0. */
	for (unsigned i = 0; i < 1000000 && cc_r8(CC_STATUS); i++)
		__asm__ volatile("pause");
}

/* Undo whatever set-up got so far; the device is left reset, so it touches no freed frame. */
static void teardown(void)
{
	if (vb.common.p)
		reset_device();
	if (vb.pci)
		pci_write16(vb.pci, PCI_COMMAND, pci_read16(vb.pci, PCI_COMMAND) & ~PCI_CMD_MASTER);
	unmap(&vb.common), unmap(&vb.notify), unmap(&vb.isr), unmap(&vb.device);
	if (vb.ring_pa)
		pmm_free_page(vb.ring_pa);
	if (vb.bounce_pa)
		pmm_free(vb.bounce_pa, VBLK_BOUNCE_ORDER);
	memset(&vb, 0, sizeof(vb));
}

static uint64_t read_capacity(void)
{
	uint8_t gen;
	uint64_t cap;
	do {    /* the generation counter says whether the device changed it mid-read */
		gen = cc_r8(CC_CFGGEN);
		cap = *(volatile uint32_t *)vb.device.p | (uint64_t)*(volatile uint32_t *)(vb.device.p + 4) << 32;
	} while (gen != cc_r8(CC_CFGGEN));
	return cap;
}

static int negotiate(void)
{
	cc_w32(CC_DFSELECT, 0);
	uint64_t offered = cc_r32(CC_DF);
	cc_w32(CC_DFSELECT, 1);
	offered |= (uint64_t)cc_r32(CC_DF) << 32;
	if (!(offered & F_VERSION_1)) {
		kprintf("vblk: the device does not offer VIRTIO_F_VERSION_1 (features 0x%lx)\n", offered);
		return -ENODEV;
	}
	vb.features = offered & (F_VERSION_1 | F_BLK_FLUSH | F_BLK_RO);
	cc_w32(CC_GFSELECT, 0);
	cc_w32(CC_GF, (uint32_t)vb.features);
	cc_w32(CC_GFSELECT, 1);
	cc_w32(CC_GF, vb.features >> 32);
	cc_w8(CC_STATUS, cc_r8(CC_STATUS) | ST_FEATURES_OK);
	if (!(cc_r8(CC_STATUS) & ST_FEATURES_OK)) {
		kprintf("vblk: the device refused features 0x%lx\n", vb.features);
		return -EIO;
	}
	return 0;
}

static int setup_queue(void)
{
	if (cc_r16(CC_NUM_QUEUES) < 1) {
		kprintf("vblk: the device has no queue\n");
		return -ENODEV;
	}
	cc_w16(CC_Q_SELECT, 0);
	unsigned max = cc_r16(CC_Q_SIZE);
	if (!max) {
		kprintf("vblk: queue 0 is not available\n");
		return -ENODEV;
	}
	unsigned qs = max < VBLK_QSIZE ? max : VBLK_QSIZE;
	while (qs & (qs - 1))   /* split queues are a power of two long */
		qs &= qs - 1;
	if (qs < 3) {
		kprintf("vblk: queue 0 holds %u descriptors, a request needs 3\n", qs);
		return -ENODEV;
	}
	vb.qsize = qs;
	vb.ring_pa = pmm_alloc_page(PMM_ZERO);
	if (vb.ring_pa == PMM_NO_FRAME) {
		vb.ring_pa = 0;
		return -ENOMEM;
	}
	vb.frames++;
	vb.bounce_pa = pmm_alloc(VBLK_BOUNCE_ORDER, PMM_ZERO);
	if (vb.bounce_pa == PMM_NO_FRAME) {
		vb.bounce_pa = 0;
		return -ENOMEM;
	}
	vb.frames += 1u << VBLK_BOUNCE_ORDER;
	q_avail()->flags = VIRTQ_AVAIL_F_NO_INTERRUPT;
	cc_w16(CC_Q_SIZE, qs);
	cc_w16(CC_Q_MSIX, VIRTIO_MSI_NO_VECTOR);
	cc_w64(CC_Q_DESC, vb.ring_pa);
	cc_w64(CC_Q_AVAIL, vb.ring_pa + OFF_AVAIL);
	cc_w64(CC_Q_USED, vb.ring_pa + OFF_USED);
	uint64_t noff = (uint64_t)cc_r16(CC_Q_NOFF) * vb.notify_mult;
	if (noff + 2 > vb.notify.size) {
		kprintf("vblk: queue 0's doorbell (offset 0x%lx) lies outside the notify structure\n", noff);
		return -ENODEV;
	}
	vb.notify_q = (volatile uint16_t *)(vb.notify.p + noff);
	cc_w16(CC_Q_ENABLE, 1);
	return 0;
}

/* Start the device at f: the virtio 1.0 initialisation sequence (3.1.1). */
static int start(const struct pci_func *f)
{
	vb.pci = f;
	/* Memory decoding on, DMA allowed, INTx off: completion is polled. */
	pci_write16(f, PCI_COMMAND, pci_read16(f, PCI_COMMAND) | PCI_CMD_MEMORY | PCI_CMD_MASTER | PCI_CMD_INTX_OFF);
	int e = map_caps();
	if (e)
		return e;
	reset_device();
	if (cc_r8(CC_STATUS)) {
		kprintf("vblk: the device does not reset\n");
		return -EIO;
	}
	cc_w8(CC_STATUS, ST_ACKNOWLEDGE);
	cc_w8(CC_STATUS, ST_ACKNOWLEDGE | ST_DRIVER);
	if ((e = negotiate()) || (e = setup_queue())) {
		cc_w8(CC_STATUS, cc_r8(CC_STATUS) | ST_FAILED);
		return e;
	}
	cc_w8(CC_STATUS, cc_r8(CC_STATUS) | ST_DRIVER_OK);
	vb.sectors = read_capacity();
	if (cc_r8(CC_STATUS) & (ST_NEEDS_RESET | ST_FAILED)) {
		kprintf("vblk: the device failed during set-up (status 0x%x)\n", cc_r8(CC_STATUS));
		return -EIO;
	}
	return 0;
}

int vblk_init(void)
{
	uint64_t fl = spin_lock_irqsave(&lock);
	bool up = vb.up;
	spin_unlock_irqrestore(&lock, fl);
	if (up)
		return 0;
	const struct pci_func *f = 0;
	pci_scan();
	for (unsigned i = 0; (f = pci_func_at(i)); i++)
		if (f->vendor == 0x1af4 && (f->device == 0x1042 || f->device == 0x1001))
			break;
	if (!f) {
		kprintf("vblk: no virtio-blk device\n");
		return -ENODEV;
	}
	int e = start(f);
	if (e) {
		kprintf("vblk: %02x:%02x.%x not started (error %d)\n", f->bus, f->dev, f->fn, e);
		teardown();
		return e;
	}
	kprintf("vblk: %02x:%02x.%x %s, features 0x%lx (flush %s%s), queue %u, %lu KiB\n",
		f->bus, f->dev, f->fn, f->device == 0x1001 ? "transitional, modern interface" : "modern",
		vb.features, vb.features & F_BLK_FLUSH ? "yes" : "no", vb.features & F_BLK_RO ? ", read-only" : "",
		vb.qsize, vb.sectors / 2);
	kprintf("VBLK sectors=%lu\n", vb.sectors);
	fl = spin_lock_irqsave(&lock);
	vb.up = true;
	spin_unlock_irqrestore(&lock, fl);
	return 0;
}

/*
 * Post the chain at descriptor 0 and poll the used ring for it. Called
 * with the lock held; the data, if any, is in the bounce buffer.
 */
static int submit(uint32_t type, uint64_t sector, unsigned count)
{
	struct virtq_desc *d = q_desc();
	struct blk_hdr *h = q_hdr();
	volatile uint8_t *st = q_status();
	h->type = type;
	h->reserved = 0;
	h->sector = sector;
	*st = 0xff;             /* a value the device never writes: it must overwrite it */
	d[0] = (struct virtq_desc){ vb.ring_pa + OFF_HDR, sizeof(*h), VIRTQ_DESC_F_NEXT, 1 };
	unsigned last = 1;
	if (count) {
		uint16_t w = type == VIRTIO_BLK_T_IN ? VIRTQ_DESC_F_WRITE : 0;
		d[1] = (struct virtq_desc){ vb.bounce_pa, count * VBLK_SECTOR_SIZE, w | VIRTQ_DESC_F_NEXT, 2 };
		last = 2;
	}
	d[last] = (struct virtq_desc){ vb.ring_pa + OFF_STATUS, 1, VIRTQ_DESC_F_WRITE, 0 };
	volatile struct virtq_avail *av = q_avail();
	av->ring[vb.avail_idx % vb.qsize] = 0;
	compiler_barrier();     /* the ring entry before the index (x86 keeps stores in order) */
	av->idx = ++vb.avail_idx;
	mb();                   /* the index visible before the doorbell */
	*vb.notify_q = 0;
	volatile struct virtq_used *u = q_used();
	uint64_t t0 = arch_rdtsc(), limit = tsc_khz() * VBLK_TIMEOUT_MS;
	while (u->idx == vb.used_idx) {
		if (arch_rdtsc() - t0 > limit) {
			kprintf("vblk: request type %u at sector %lu not completed in %u ms (device status 0x%x)\n",
				type, sector, VBLK_TIMEOUT_MS, cc_r8(CC_STATUS));
			return -EIO;
		}
		arch_spin_relax();      /* and answer other CPUs' TLB flushes while interrupts are off */
	}
	compiler_barrier();     /* the used entry and the status after the index */
	struct virtq_used_elem e = u->ring[vb.used_idx % vb.qsize];
	vb.used_idx++;
	(void)*vb.isr.p;        /* reading the ISR status clears it (and any INTx) */
	if (e.id != 0) {
		kprintf("vblk: the device completed descriptor %u, only 0 was posted\n", e.id);
		return -EIO;
	}
	uint8_t s = *st;
	if (s != VIRTIO_BLK_S_OK) {
		kprintf("vblk: request type %u at sector %lu, %u sectors: device status %u (%s)\n", type, sector,
			count, s, s == VIRTIO_BLK_S_IOERR ? "I/O error" : s == VIRTIO_BLK_S_UNSUPP ? "unsupported" :
			"not written");
		return -EIO;
	}
	return 0;
}

int vblk_request(uint32_t type, uint64_t sector, void *buf, unsigned count)
{
	if (count > VBLK_BOUNCE_SECTORS || (count && !buf))
		return -EINVAL;
	uint64_t fl = spin_lock_irqsave(&lock);
	int e = -ENODEV;
	if (vb.up) {
		void *bounce = phys_to_virt(vb.bounce_pa);
		if (type != VIRTIO_BLK_T_IN && count)
			memcpy(bounce, buf, count * VBLK_SECTOR_SIZE);
		e = submit(type, sector, count);
		if (!e && type == VIRTIO_BLK_T_IN && count)
			memcpy(buf, bounce, count * VBLK_SECTOR_SIZE);
	}
	spin_unlock_irqrestore(&lock, fl);
	return e;
}

static int transfer(uint32_t type, uint64_t sector, uint8_t *buf, unsigned count)
{
	uint64_t n = vblk_sectors();
	if (!n)
		return -ENODEV;
	if (sector > n || count > n - sector)
		return -EINVAL;
	if (type == VIRTIO_BLK_T_OUT && (vb.features & F_BLK_RO))
		return -EACCES;
	while (count) {
		unsigned c = count < VBLK_BOUNCE_SECTORS ? count : VBLK_BOUNCE_SECTORS;
		int e = vblk_request(type, sector, buf, c);
		if (e)
			return e;
		sector += c, buf += (size_t)c * VBLK_SECTOR_SIZE, count -= c;
	}
	return 0;
}

int vblk_read(uint64_t sector, void *buf, unsigned count)
{
	return transfer(VIRTIO_BLK_T_IN, sector, buf, count);
}

int vblk_write(uint64_t sector, const void *buf, unsigned count)
{
	return transfer(VIRTIO_BLK_T_OUT, sector, (uint8_t *)buf, count);
}

int vblk_flush(void)
{
	if (!vblk_sectors())
		return -ENODEV;
	/* Without VIRTIO_BLK_F_FLUSH the device has no cache to write back: its writes are durable. */
	return vb.features & F_BLK_FLUSH ? vblk_request(VIRTIO_BLK_T_FLUSH, 0, 0, 0) : 0;
}

uint64_t vblk_sectors(void)
{
	return vb.up ? vb.sectors : 0;
}

int vblk_has_flush(void)
{
	return vb.up && (vb.features & F_BLK_FLUSH);
}

unsigned vblk_frames(void)
{
	return vb.frames;
}

int vblk_shutdown(void)
{
	uint64_t fl = spin_lock_irqsave(&lock);
	bool up = vb.up;
	vb.up = false;          /* no new request from here on */
	spin_unlock_irqrestore(&lock, fl);
	if (!up)
		return -ENODEV;
	teardown();
	return 0;
}
