/*
 * pci.c - configuration space through ports 0xCF8/0xCFC, and the scan.
 *
 * Mechanism #1: write the function's address with bit 31 set to 0xCF8,
 * then move the dword at 0xCFC. The pair of accesses must not be split by
 * another CPU's, so they happen under one lock.
 */
#include "drivers/pci/pci.h"
#include "arch/x86_64/io.h"
#include "lib/kprintf.h"
#include "lib/spinlock.h"

#define PCI_ADDR 0xcf8
#define PCI_DATA 0xcfc

static struct spinlock cfg_lock = SPINLOCK_INIT("pci_cfg");
static struct pci_func funcs[PCI_MAX_FUNCS];
static unsigned nfuncs, dropped;
static bool scanned;

static inline uint32_t inl(uint16_t port)
{
	uint32_t v;
	__asm__ volatile("inl %1, %0" : "=a"(v) : "Nd"(port));
	return v;
}

static inline void outw(uint16_t port, uint16_t v)
{
	__asm__ volatile("outw %0, %1" : : "a"(v), "Nd"(port));
}

static uint32_t cfg_addr(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	return 0x80000000u | bus << 16 | dev << 11 | fn << 8 | (off & 0xfc);
}

static uint32_t cfg_read(unsigned bus, unsigned dev, unsigned fn, unsigned off)
{
	uint64_t fl = spin_lock_irqsave(&cfg_lock);
	outl(PCI_ADDR, cfg_addr(bus, dev, fn, off));
	uint32_t v = inl(PCI_DATA);
	spin_unlock_irqrestore(&cfg_lock, fl);
	return v;
}

/*
 * Writes go at their own width (0xCFC + the byte offset): a dword write of
 * the command register would also write the status register beside it,
 * whose error bits clear when written with 1.
 */
static void cfg_write(unsigned bus, unsigned dev, unsigned fn, unsigned off, unsigned size, uint32_t v)
{
	uint64_t fl = spin_lock_irqsave(&cfg_lock);
	outl(PCI_ADDR, cfg_addr(bus, dev, fn, off));
	if (size == 2)
		outw(PCI_DATA + (off & 2), v);
	else
		outl(PCI_DATA, v);
	spin_unlock_irqrestore(&cfg_lock, fl);
}

uint32_t pci_read32(const struct pci_func *f, unsigned off) { return cfg_read(f->bus, f->dev, f->fn, off); }
uint16_t pci_read16(const struct pci_func *f, unsigned off) { return pci_read32(f, off) >> ((off & 2) * 8); }
uint8_t pci_read8(const struct pci_func *f, unsigned off) { return pci_read32(f, off) >> ((off & 3) * 8); }
void pci_write16(const struct pci_func *f, unsigned off, uint16_t v) { cfg_write(f->bus, f->dev, f->fn, off, 2, v); }
void pci_write32(const struct pci_func *f, unsigned off, uint32_t v) { cfg_write(f->bus, f->dev, f->fn, off, 4, v); }

static void scan_bus(unsigned bus, unsigned depth);

static void add_func(unsigned bus, unsigned dev, unsigned fn, uint32_t id, unsigned depth)
{
	struct pci_func f = { .bus = bus, .dev = dev, .fn = fn, .vendor = id & 0xffff, .device = id >> 16 };
	uint32_t cr = pci_read32(&f, PCI_CLASS_REV);
	f.class = cr >> 24;
	f.subclass = cr >> 16;
	f.prog_if = cr >> 8;
	f.header = pci_read8(&f, PCI_HEADER_TYPE);
	if (nfuncs < PCI_MAX_FUNCS)
		funcs[nfuncs++] = f;
	else
		dropped++;
	/* A PCI-to-PCI bridge: its secondary bus is behind it. 0 would loop back to the root. */
	if ((f.header & 0x7f) == 1 && f.class == 0x06 && f.subclass == 0x04) {
		unsigned sec = pci_read8(&f, PCI_SECONDARY_BUS);
		if (sec > bus && depth < 8)
			scan_bus(sec, depth + 1);
	}
}

static void scan_bus(unsigned bus, unsigned depth)
{
	for (unsigned dev = 0; dev < 32; dev++) {
		uint32_t id = cfg_read(bus, dev, 0, PCI_VENDOR_ID);
		if ((id & 0xffff) == 0xffff)
			continue;
		add_func(bus, dev, 0, id, depth);
		if (!(cfg_read(bus, dev, 0, PCI_HEADER_TYPE & ~3) >> 16 & 0x80))
			continue;       /* not multi-function */
		for (unsigned fn = 1; fn < 8; fn++) {
			id = cfg_read(bus, dev, fn, PCI_VENDOR_ID);
			if ((id & 0xffff) != 0xffff)
				add_func(bus, dev, fn, id, depth);
		}
	}
}

unsigned pci_scan(void)
{
	if (scanned)
		return nfuncs;
	scanned = true;
	/*
	 * A multi-function host bridge at 00:00 means one root bus per
	 * function (function n is bus n's controller); otherwise bus 0 is the
	 * only root.
	 */
	uint32_t hdr = cfg_read(0, 0, 0, PCI_HEADER_TYPE & ~3) >> 16;
	if ((cfg_read(0, 0, 0, 0) & 0xffff) != 0xffff && (hdr & 0x80)) {
		for (unsigned fn = 0; fn < 8; fn++)
			if ((cfg_read(0, 0, fn, 0) & 0xffff) != 0xffff)
				scan_bus(fn, 0);
	} else {
		scan_bus(0, 0);
	}
	return nfuncs;
}

const struct pci_func *pci_func_at(unsigned i)
{
	return i < nfuncs ? &funcs[i] : 0;
}

unsigned pci_find_cap(const struct pci_func *f, uint8_t cap_id, unsigned from)
{
	if (!(pci_read16(f, PCI_STATUS) & PCI_STATUS_CAPS))
		return 0;
	unsigned off = from ? pci_read8(f, from + 1) : pci_read8(f, PCI_CAP_PTR);
	/* 48 capabilities of 4 bytes fill the 192 bytes past the header: more is a loop. */
	for (unsigned n = 0; n < 48 && off >= 0x40; n++) {
		off &= 0xfc;
		if (pci_read8(f, off) == cap_id)
			return off;
		off = pci_read8(f, off + 1);
	}
	return 0;
}

bool pci_bar_mem(const struct pci_func *f, unsigned bar, uint64_t *base)
{
	if (bar > 5 || (f->header & 0x7f) != 0)
		return false;
	uint32_t lo = pci_read32(f, PCI_BAR0 + 4 * bar);
	if (lo & 1)
		return false;                   /* I/O space */
	uint64_t b = lo & ~0xfu;
	if (((lo >> 1) & 3) == 2) {             /* 64-bit: the next BAR is the upper half */
		if (bar == 5)
			return false;
		b |= (uint64_t)pci_read32(f, PCI_BAR0 + 4 * (bar + 1)) << 32;
	}
	if (!b)
		return false;
	*base = b;
	return true;
}

/* What to call a function in the report: known devices by ID, the rest by class. */
static const char *func_name(const struct pci_func *f)
{
	if (f->vendor == 0x1af4) {
		switch (f->device) {
		case 0x1001: case 0x1042: return "virtio-blk";
		case 0x1000: case 0x1041: return "virtio-net";
		}
		if (f->device >= 0x1000 && f->device <= 0x107f)
			return "virtio";
	}
	static const struct { uint8_t c, s; const char *name; } names[] = {
		{ 0x01, 0x01, "IDE controller" }, { 0x01, 0x06, "SATA controller" },
		{ 0x01, 0x08, "NVMe controller" }, { 0x02, 0x00, "Ethernet controller" },
		{ 0x03, 0x00, "VGA controller" }, { 0x06, 0x00, "host bridge" },
		{ 0x06, 0x01, "ISA bridge" }, { 0x06, 0x04, "PCI bridge" },
		{ 0x06, 0x80, "bridge" }, { 0x0c, 0x03, "USB controller" },
		{ 0x0c, 0x05, "SMBus controller" },
	};
	for (unsigned i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (names[i].c == f->class && names[i].s == f->subclass)
			return names[i].name;
	return "device";
}

void pci_report(void)
{
	unsigned n = pci_scan();
	for (unsigned i = 0; i < n; i++) {
		const struct pci_func *f = &funcs[i];
		kprintf("pci: %02x:%02x.%x %04x:%04x class %02x.%02x %s\n", f->bus, f->dev, f->fn,
			f->vendor, f->device, f->class, f->subclass, func_name(f));
	}
	if (dropped)
		kprintf("pci: %u more functions not kept (more than %d)\n", dropped, PCI_MAX_FUNCS);
	kprintf("PCI devices=%u\n", n + dropped);
}
