/*
 * vmm.h - the virtual memory manager: address spaces, their regions, and
 * the page faults that fill them in.
 *
 * An address space is a root page table plus a tree of regions: ranges of
 * virtual addresses that mean something (memory, a device, a guard). The
 * VMM decides where a region goes and what backs it; the paging layer
 * (mm/paging/paging.h) only writes the tables it is told to. Memory backed
 * on demand gets its frames in vmm_fault(), one page at a time, when it is
 * first touched. docs/vmm.md explains the design.
 *
 * The kernel's address space is the higher half; every process space
 * shares it (its root copies the kernel half) and owns its lower half:
 *
 *  0xffffffffffffffff +------------------------------+
 *                     | kernel image                 |  paging layer
 *  0xffffffff80000000 +------------------------------+
 *                     | (unused)                     |
 *  0xfffff00000000000 +------------------------------+ VMM_KMMIO_END = VMM_KERNEL_END
 *                     | MMIO: devices, 16 TiB        |  VM_MMIO regions
 *  0xffffe00000000000 +------------------------------+ VMM_KMMIO_BASE
 *                     | large kernel allocations     |  16 TiB
 *  0xffffd00000000000 +------------------------------+ VMM_KLARGE_BASE
 *                     | kernel heap area, 16 TiB     |  for the slab layer
 *  0xffffc00000000000 +------------------------------+ VMM_KHEAP_BASE = VMM_KERNEL_BASE
 *                     | HHDM: all RAM, up to 64 TiB  |  paging layer
 *  0xffff800000000000 +------------------------------+
 *                     | non-canonical hole           |
 *  0x0000800000000000 +------------------------------+ VMM_USER_END
 *                     | process regions              |  one tree per process
 *  0x0000000000010000 +------------------------------+ VMM_USER_BASE
 *                     | never mapped: null pointers  |
 *  0x0000000000000000 +------------------------------+
 *
 * Every call takes the space's lock; none sleeps. Errors are negative
 * enum vmm_error values and leave the space exactly as it was; an error
 * of the paging layer comes back as the vmm_error that says the same
 * (PG_E_NO_MEMORY as VMM_E_NO_MEMORY, PG_E_WX as VMM_E_WX, ...). A broken
 * invariant of the VMM's own state stops the kernel ("PANIC: vmm: ...",
 * mm/failure.h).
 */
#ifndef STRATA_MM_VMM_H
#define STRATA_MM_VMM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/types.h"
#include "mm/paging/paging.h"
#include "lib/spinlock.h"

#define VMM_USER_BASE   0x0000000000010000UL
#define VMM_USER_END    0x0000800000000000UL   /* 47 bits, with 4 or 5 levels */
/*
 * The kernel's three areas (heap, large, MMIO) follow one another, each
 * VMM_KAREA_SIZE bytes. The slab layer uses their bounds as constants (in
 * static initialisers and its inlined owner look-up), so they stay macros,
 * and so the one difference between kernel and host stays here too: the
 * host tests run the heap over the VMM and touch what it maps, and a Linux
 * process cannot touch the upper half. So on the host (STRATA_HOST) the
 * areas are a window of the process's own half, 1 TiB each, that the test
 * fixture reserves and backs with a software MMU (tests/host/common/
 * fake_arch.c). Same order and alignment; the kernel's values are what the
 * hardware sees and do not change.
 */
#ifndef STRATA_HOST
#define VMM_KERNEL_BASE 0xffffc00000000000UL
#define VMM_KAREA_SIZE  (1UL << 44)     /* 16 TiB */
#else
#define VMM_KERNEL_BASE 0x0000500000000000UL
#define VMM_KAREA_SIZE  (1UL << 40)     /* 1 TiB */
#endif
#define VMM_KHEAP_BASE  VMM_KERNEL_BASE
#define VMM_KLARGE_BASE (VMM_KERNEL_BASE + VMM_KAREA_SIZE)
#define VMM_KMMIO_BASE  (VMM_KERNEL_BASE + 2 * VMM_KAREA_SIZE)
#define VMM_KMMIO_END   (VMM_KERNEL_BASE + 3 * VMM_KAREA_SIZE)
#define VMM_KERNEL_END  VMM_KMMIO_END

/* What a region allows: the paging layer's portable flags, by another name. */
#define VM_READ   (1u << 0)         /* required: x86 has no write-only page */
#define VM_WRITE  (1u << 1)
#define VM_EXEC   (1u << 2)
#define VM_USER   (1u << 3)         /* user mode may touch it (a process region without it: VM_READ alone, PROT_NONE) */
#define VM_PROT   (VM_READ | VM_WRITE | VM_EXEC | VM_USER)
/*
 * W^X: a region both writable and executable is refused (VMM_E_WX) unless
 * its flags also carry VM_ALLOW_WX, which says the caller means it (a JIT,
 * a test). The region keeps the flag; its pages are mapped with paging's
 * PG_ALLOW_WX.
 */
#define VM_ALLOW_WX (1u << 4)
/*
 * VM_SHARED: the region may be made writable later (vmm_protect). Its
 * maker gives it when the object may be written through it (a file open
 * for writing, anonymous shared memory); without it, VM_WRITE is refused
 * with VMM_E_ACCESS. A region made writable has it. Kept across protect,
 * split and fork.
 */
#define VM_MAYWRITE (1u << 5)

/* Cache types for MMIO regions (anonymous memory is always write-back). */
enum vm_cache { VM_CACHE_WB, VM_CACHE_WT, VM_CACHE_UC, VM_CACHE_WC };

enum vm_kind {
	VM_ANON,        /* anonymous, zeroed, every frame taken at allocation */
	VM_DEMAND,      /* anonymous, zeroed, each frame taken at its first touch */
	VM_MMIO,        /* a given physical range; its frames are not the buddy's */
	VM_GUARD,       /* reserved addresses that are never mapped: touching one is a bug */
	VM_SHARED,      /* the pages of a vm_object, found on a fault; writes reach the object */
	VM_PRIVATE,     /* the pages of a vm_object read in place, each copied at its first write */
};
#define VM_KIND_LAST VM_PRIVATE

enum vmm_error {
	VMM_OK = 0,
	VMM_E_INVAL = -1,       /* zero length, misaligned, bad flags, kind, alignment or pa */
	VMM_E_BOUNDS = -2,      /* not inside the space's bounds (or the asked-for window) */
	VMM_E_OVERLAP = -3,     /* a fixed allocation overlaps a region, or a page mapped behind the VMM */
	VMM_E_NO_SPACE = -4,    /* no gap large enough: out of virtual space */
	VMM_E_NO_MEMORY = -5,   /* out of frames (for pages, tables or region nodes) */
	VMM_E_NO_REGION = -6,   /* free/protect: the range is not inside one region */
	VMM_E_GUARD = -7,       /* protect of a guard region: it has no protection */
	VMM_E_WX = -8,          /* VM_WRITE | VM_EXEC without VM_ALLOW_WX */
	VMM_E_IN_USE = -9,      /* destroy of the space in this CPU's CR3, or another CPU's current one */
	VMM_E_NOT_MAPPED = -10, /* a page the region maps is missing from the tables */
	VMM_E_ACCESS = -11,     /* protect: VM_WRITE for a VM_SHARED region without VM_MAYWRITE */
	VMM_E_BUSY = -12,       /* swap out: the page is shared (copy-on-write) or not anonymous */
	VMM_E_IO = -13,         /* swap out: no swap area, it is full, or the disk failed */
};
const char *vmm_error_str(int e);

/*
 * A region: [base, base + len), page aligned. The VMM hands out copies
 * (vmm_lookup, vmm_for_each, struct vm_fault); how it keeps them is its own.
 */
struct vm_region {
	va_t base;
	size_t len;
	unsigned flags;         /* VM_READ ... (and VM_ALLOW_WX) */
	enum vm_kind kind;
	enum vm_cache cache;    /* VM_MMIO only */
	pa_t pa;                /* VM_MMIO only: physical address of base */
	uint64_t resident;      /* pages mapped now */
	struct vm_object *obj;  /* VM_SHARED, VM_PRIVATE: whose pages (the region holds a reference) */
	uint64_t off;           /* ... and the byte of it at base, page aligned */
};

struct vm_space;            /* opaque: made by vmm_space_create, or the kernel's */

/* What to allocate. Zeroes mean: align a page, window the whole space. */
struct vm_req {
	size_t len;             /* bytes, a multiple of PAGE_SIZE */
	size_t align;           /* a power of two; vmm_alloc only */
	enum vm_kind kind;
	unsigned flags;         /* VM_PROT bits, VM_ALLOW_WX; ignored for VM_GUARD */
	enum vm_cache cache;    /* VM_MMIO */
	pa_t pa;                /* VM_MMIO: page aligned */
	va_t lo, hi;            /* vmm_alloc: search only [lo, hi) of the space */
	struct vm_object *obj;  /* VM_SHARED, VM_PRIVATE: the object, which the region takes a reference of */
	uint64_t off;           /* ... the offset in it of the region's first byte, page aligned */
};

/* ---- memory objects ------------------------------------------------------ */

/*
 * A vm_object is a set of pages, each a frame, found by page index: the
 * memory behind a shared anonymous mapping, or a file's page cache. A
 * region of kind VM_SHARED or VM_PRIVATE maps a window of one; whoever
 * else holds it (a file system) reads and writes the same frames. Each
 * frame is counted once for the object and once for each mapping of it
 * (pmm_frame_get), so it lives while anyone holds it. object.c says how
 * the pages are kept.
 *
 * The object's memory is its maker's: vmo_init sets it up with one
 * reference (the maker's), vmo_put drops one, and at the last the object
 * gives back every frame and calls release(o) (which may be NULL). The VMM
 * puts a region's object only with no space lock held, so release may use
 * the heap. Lock order: a space's lock, then an object's.
 */
struct vm_object {
	struct spinlock lock;
	unsigned refs;          /* the maker's and each region's */
	uint64_t size;          /* bytes; a page wholly at or past it is not there (VMF_BEYOND_END) */
	uint64_t pages;         /* frames held */
	uint64_t tables;        /* index pages holding them */
	pa_t root;              /* the index: three levels of 512 (object.c), 0 while empty */
	void (*release)(struct vm_object *o);
};
#define VMO_MAX_PAGES (1ULL << 27)      /* 512 GiB: what three levels of 512 entries index */

void vmo_init(struct vm_object *o, uint64_t size, void (*release)(struct vm_object *o));
void vmo_get(struct vm_object *o);
void vmo_put(struct vm_object *o);

/*
 * The frame of page idx into *pa, with a reference for the caller (drop it
 * with vmo_page_put). A page not there yet is made, zeroed, if create is
 * set. Returns 0, VMM_E_BOUNDS (the page lies past the object's size),
 * VMM_E_NOT_MAPPED (not there, and create not set) or VMM_E_NO_MEMORY
 * (nothing taken).
 */
int vmo_page(struct vm_object *o, uint64_t idx, bool create, pa_t *pa);
void vmo_page_put(pa_t pa);

/*
 * Make the object size bytes long (at most VMO_MAX_PAGES pages). Pages
 * past a smaller size are dropped from it (a mapping still holding one
 * keeps its frame until it unmaps it); the bytes of the last page past
 * the end (the new one when it shrinks, the old one when it grows: a
 * mapping may have stored there) are zeroed. Returns 0 or VMM_E_INVAL.
 */
int vmo_resize(struct vm_object *o, uint64_t size);

/* Check the object's counts against its index; prints each problem, returns how many. */
unsigned vmo_check(struct vm_object *o);

/* ---- address spaces --------------------------------------------------- */

/*
 * Start the VMM on the kernel's tables (paging_build_kernel must have run):
 * the kernel space covers [VMM_KERNEL_BASE, VMM_KERNEL_END). Returns 0, or
 * VMM_E_NO_MEMORY if the first page for region nodes could not be had.
 */
int vmm_init(void);

/* The kernel's address space. */
struct vm_space *vmm_kernel_space(void);

/*
 * A new process address space: a root table that shares the kernel half
 * and an empty lower half [VMM_USER_BASE, VMM_USER_END). Costs two frames
 * (the root, and a page holding the space and its first region nodes).
 * Returns NULL if they cannot be had.
 */
struct vm_space *vmm_space_create(void);

/*
 * Give back everything the space holds: every frame its regions took,
 * every table of its lower half, its region nodes and itself. MMIO frames
 * are left alone. Returns 0, or (reported, nothing freed) VMM_E_INVAL for
 * the kernel's space and VMM_E_IN_USE for the space in this CPU's CR3 or
 * the one another CPU last switched to (it runs there).
 */
int vmm_space_destroy(struct vm_space *s);

/*
 * A copy of process space p that shares every page with it, copy-on-write
 * (fork.c): *child gets the new space, *shared (if not NULL) the pages
 * shared. A write to a shared page, in either space, copies it then. No
 * page is copied here. Returns 0, or VMM_E_NO_MEMORY with nothing left
 * behind (every frame's count as it was), or VMM_E_INVAL for the kernel's.
 */
int vmm_fork(struct vm_space *p, struct vm_space **child, uint64_t *shared);

/* Load s's root into CR3 (with its PCID where the CPU has one). */
void vmm_switch(struct vm_space *s);

/* The space whose root is in CR3 (the kernel's if none of ours is). */
struct vm_space *vmm_current(void);

/* The root table's physical address, for code that must name it (tests). */
pg_root_t vmm_space_root(const struct vm_space *s);

/* ---- regions ------------------------------------------------------------ */

/*
 * Allocate a region anywhere in [r->lo, r->hi) (the space's bounds when
 * both are 0): the lowest gap that holds r->len at any alignment offset
 * (r->len + r->align - PAGE_SIZE bytes), the address aligned up. VM_ANON
 * takes and maps every frame now; VM_MMIO maps r->pa; VM_DEMAND and
 * VM_GUARD map nothing. An MMIO range may not touch RAM, nor lie beyond
 * the CPU's physical address width (VMM_E_INVAL). Sets *va and returns 0,
 * or a negative vmm_error.
 */
int vmm_alloc(struct vm_space *s, const struct vm_req *r, va_t *va);

/* As vmm_alloc, at exactly va. VMM_E_OVERLAP if any byte is taken. */
int vmm_alloc_fixed(struct vm_space *s, va_t va, const struct vm_req *r);

/*
 * Free [va, va + len), which must lie inside one region: its frames go
 * back to the buddy (not an MMIO region's), its mappings and the tables
 * they leave empty go. A part of a region leaves one or two regions behind.
 * Returns 0, VMM_E_INVAL, VMM_E_NO_REGION, or VMM_E_NO_MEMORY (a node for
 * a split, or a table to split a huge MMIO page).
 */
int vmm_free(struct vm_space *s, va_t va, size_t len);

/*
 * Give [va, va + len), inside one region, the VM_PROT flags; the region
 * splits around it if needed and its mapped pages change at once. Returns
 * 0, VMM_E_NO_REGION, VMM_E_GUARD, VMM_E_INVAL, VMM_E_WX or VMM_E_NO_MEMORY;
 * VMM_E_NOT_MAPPED if a page of an anonymous or MMIO region was unmapped
 * behind the VMM's back.
 */
int vmm_protect(struct vm_space *s, va_t va, size_t len, unsigned flags);

/*
 * A copy of the region holding va into *out. Returns true, or false if va
 * lies in no region.
 */
bool vmm_lookup(struct vm_space *s, va_t va, struct vm_region *out);

/* ---- page faults --------------------------------------------------------- */

/* What the faulting access was (the #PF glue translates PF_* bits). */
#define VM_ACC_WRITE   (1u << 0)
#define VM_ACC_EXEC    (1u << 1)
#define VM_ACC_USER    (1u << 2)    /* from user mode */
#define VM_ACC_PRESENT (1u << 3)    /* the page was mapped: a protection fault */

enum vm_fault_why {
	VMF_RESOLVED,           /* a frame was mapped (or the mapping was already there) */
	VMF_NO_REGION,          /* the address lies in no region */
	VMF_GUARD,              /* a guard region */
	VMF_WRITE_RO,           /* write to a region without VM_WRITE */
	VMF_EXEC_NX,            /* instruction fetch from a region without VM_EXEC */
	VMF_USER_KERNEL,        /* user mode touched a region without VM_USER */
	VMF_KERNEL_USER,        /* the kernel touched a user page it may not (SMAP) */
	VMF_NOT_DEMAND,         /* not-present page in a region that is not on demand */
	VMF_NO_FRAME,           /* on demand, but the buddy is out of frames */
	VMF_MISMATCH,           /* mapped, allowed by the region, refused by the tables: a bug */
	VMF_BEYOND_END,         /* a page of an object's region past the object's end (SIGBUS) */
	VMF_SWAP_IO,            /* the page is in swap and the disk failed to give it back */
};

/* The explanation vmm_fault gives for a fault it could not resolve. */
struct vm_fault {
	va_t addr;
	unsigned access;        /* VM_ACC_* */
	enum vm_fault_why why;
	bool in_region;
	struct vm_region region;        /* a copy, if in_region */
};

/*
 * Handle a page fault at addr in space s. Addresses in the kernel half are
 * looked up in the kernel's space whatever s is, since every space shares
 * those tables. In a VM_DEMAND region whose flags allow the access, a
 * zeroed frame is mapped (and up to vmm_set_fault_around pages after it that
 * are not mapped yet). Returns VMF_RESOLVED, or another vm_fault_why with
 * *f filled in (f may be NULL). Counted in s's (or the kernel's) faults.
 */
enum vm_fault_why vmm_fault(struct vm_space *s, va_t addr, unsigned access, struct vm_fault *f);

/* Write one line explaining f into buf ("vmm: write to read-only ..."). */
void vmm_fault_explain(const struct vm_fault *f, char *buf, size_t size);

/*
 * Set how many further pages a demand fault maps after the one touched, if
 * they are in the region, unmapped, and frames are to be had; returns the
 * number it replaces. 0 by default: bench/vmm.c measures what more buys.
 */
unsigned vmm_set_fault_around(unsigned pages);

/* ---- swap (swap.c; the area is mm/swap/swap.h's) ------------------------------ */

/*
 * Write page va of process space s out to the swap area and free its
 * frame; its PTE keeps the slot (a swap entry, paging.h), and the next
 * touch reads it back (vmm_fault). Only a page of a VM_ANON or VM_DEMAND
 * region whose frame is s's alone may go. Returns 0, VMM_E_NO_REGION,
 * VMM_E_NOT_MAPPED (not resident), VMM_E_BUSY (shared, an object's, or
 * not anonymous), VMM_E_IO (no area, full, or the disk failed: the page
 * stays as it was), or VMM_E_INVAL for the kernel's space.
 */
int vmm_swap_out(struct vm_space *s, va_t va);

/* Pages of s in swap now. */
uint64_t vmm_swapped(struct vm_space *s);

/*
 * Reclaim: write up to `want` pages of s out to swap, chosen by a clock
 * over its resident private anonymous pages that goes on from where the
 * last call stopped: a page whose accessed bit is set has been used since
 * the hand last passed, so it gets a second chance (the bit cleared); one
 * whose bit is clear goes out. At most two turns of the clock (every
 * resident page seen twice). Returns the pages written out; fewer when
 * the pages are busy (shared, the kernel's) or swap is full.
 */
uint64_t vmm_reclaim(struct vm_space *s, uint64_t want);

/* ---- reports ---------------------------------------------------------------- */

struct vm_stats {
	uint64_t regions;
	uint64_t resident;      /* pages mapped by regions with frames (all but VM_MMIO, VM_GUARD) */
	uint64_t mmio_pages;    /* pages of VM_MMIO regions */
	uint64_t tables;        /* page tables holding mappings in the space's bounds (and the root) */
	uint64_t node_pages;    /* frames holding region nodes (and the space) */
	uint64_t faults;        /* every fault handed to vmm_fault */
	uint64_t faults_resolved;
	uint64_t shared;        /* resident copy-on-write pages: their frame is held elsewhere too, a write copies */
	uint64_t object_pages;  /* resident pages of VM_SHARED regions (an object's frames) */
	uint64_t swapped;       /* pages in swap (their PTEs hold the slots) */
	uint64_t cow_copied;    /* copy-on-write faults that copied the frame (and first writes to VM_PRIVATE) */
	uint64_t cow_reused;    /* ... that found the frame no longer shared and took it back */
};
void vmm_stats(struct vm_space *s, struct vm_stats *st);

/* Pages s's anonymous and demand regions map now: vm_stats.resident, without the table walk. */
uint64_t vmm_resident(struct vm_space *s);

/*
 * Print s's regions, one a line (base, end, kind, flags, size, resident
 * pages), and its counters, ending with the line
 *   VMM space=<name> regions=.. resident=.. tables=.. faults=.. resolved=..
 */
void vmm_report(struct vm_space *s, const char *name);

/*
 * Call fn for each region of s in address order, with a copy; fn must not
 * call into the VMM for s.
 */
void vmm_for_each(struct vm_space *s, void (*fn)(const struct vm_region *r, void *arg), void *arg);

/* Check every invariant of s's tree; prints each problem, returns how many. */
unsigned vmm_check(struct vm_space *s);

#endif
