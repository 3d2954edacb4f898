/*
 * pci.h - the PCI bus: functions found through configuration space.
 *
 * Configuration space is reached through the legacy mechanism #1, ports
 * 0xCF8 (address) and 0xCFC (data), which every PC chipset QEMU offers has
 * (i440fx and q35 alike) and which needs no mapping, so the scan can run
 * before or after the VMM. ECAM (the MCFG table) would reach the extended
 * space past byte 256; nothing here needs it yet: virtio's capabilities
 * sit in the first 256 bytes.
 *
 * pci_scan walks the buses from bus 0 through every PCI-to-PCI bridge's
 * secondary bus (not all 256 buses: each absent function costs a port
 * round trip) and keeps the first PCI_MAX_FUNCS functions found. The table
 * is written once at boot and only read afterwards.
 */
#ifndef STRATA_DRIVERS_PCI_H
#define STRATA_DRIVERS_PCI_H

#include <stdbool.h>
#include <stdint.h>

#define PCI_MAX_FUNCS 64

/* Configuration-space offsets of the common header. */
#define PCI_VENDOR_ID   0x00
#define PCI_DEVICE_ID   0x02
#define PCI_COMMAND     0x04
#define PCI_STATUS      0x06
#define PCI_CLASS_REV   0x08    /* revision, prog-if, subclass, class (low to high) */
#define PCI_HEADER_TYPE 0x0e
#define PCI_BAR0        0x10
#define PCI_SECONDARY_BUS 0x19  /* type 1 (bridge) header */
#define PCI_CAP_PTR     0x34

#define PCI_CMD_IO        (1u << 0)
#define PCI_CMD_MEMORY    (1u << 1)
#define PCI_CMD_MASTER    (1u << 2)     /* the function may DMA */
#define PCI_CMD_INTX_OFF  (1u << 10)    /* the function may not raise INTx */
#define PCI_STATUS_CAPS   (1u << 4)     /* a capability list at PCI_CAP_PTR */

#define PCI_CAP_VENDOR  0x09            /* vendor-specific capability (virtio's) */

struct pci_func {
	uint8_t bus, dev, fn;
	uint16_t vendor, device;
	uint8_t class, subclass, prog_if, header;
};

/* Scan the buses once (later calls return the count kept); returns the functions found. */
unsigned pci_scan(void);

/* The i-th function found (scan order), or NULL past the end. */
const struct pci_func *pci_func_at(unsigned i);

/*
 * Scan, then list every function, one a line
 *   pci: 00:03.0 1af4:1042 class 01.00 virtio-blk
 * and end with "PCI devices=N".
 */
void pci_report(void);

/* Configuration space of f: off is the byte offset, aligned to the access size. */
uint8_t pci_read8(const struct pci_func *f, unsigned off);
uint16_t pci_read16(const struct pci_func *f, unsigned off);
uint32_t pci_read32(const struct pci_func *f, unsigned off);
void pci_write16(const struct pci_func *f, unsigned off, uint16_t v);
void pci_write32(const struct pci_func *f, unsigned off, uint32_t v);

/*
 * The offset of the first capability of f with id cap_id at or after the
 * one at offset from (0: from the start of the list), or 0 if none. The
 * walk is bounded, so a looping list ends.
 */
unsigned pci_find_cap(const struct pci_func *f, uint8_t cap_id, unsigned from);

/*
 * Memory BAR bar of f: its base (both halves of a 64-bit BAR) into *base.
 * Returns false for an I/O BAR, a bar past 5, the upper half of a 64-bit
 * BAR or one the firmware left unassigned (base 0).
 */
bool pci_bar_mem(const struct pci_func *f, unsigned bar, uint64_t *base);

#endif
