/*
 * usermem.c - the memory system calls: mmap, munmap, mprotect, brk, over
 * the VMM's regions of the calling process's space.
 *
 * A range given to munmap or mprotect may cover several regions and the
 * holes between them, as POSIX allows; the VMM works region by region, so
 * the range is cut at region boundaries here. Each process may hold
 * PROC_LIMIT_KIB of regions (guards do not count: they hold no memory);
 * mmap and brk past it give -ENOMEM before anything is mapped.
 */
#include "proc/proc.h"
#include "proc/uaccess.h"
#include "abi/syscall.h"
#include "mm/arch.h"
#include "mm/slab/slab.h"
#include "fs/fs.h"

#define RANGE_BATCH 16

static uint64_t page_up(uint64_t a) { return (a + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }
static bool page_aligned(uint64_t a) { return !(a & (PAGE_SIZE - 1)); }

static void add_len(const struct vm_region *r, void *arg)
{
	if (r->kind != VM_GUARD)
		*(uint64_t *)arg += r->len;
}

uint64_t usermem_committed(struct vm_space *s)
{
	uint64_t n = 0;
	vmm_for_each(s, add_len, &n);
	return n;
}

static bool within_limit(struct proc *p, uint64_t more)
{
	uint64_t used = usermem_committed(p->space);
	return more <= PROC_LIMIT_KIB * 1024UL && used <= PROC_LIMIT_KIB * 1024UL - more;
}

/* The VMM flags for PROT_* bits. PROT_NONE keeps the region but not for user mode. */
static unsigned vm_flags_of(unsigned prot)
{
	if (!(prot & (PROT_READ | PROT_WRITE | PROT_EXEC)))
		return VM_READ;
	return VM_READ | VM_USER | (prot & PROT_WRITE ? VM_WRITE : 0) | (prot & PROT_EXEC ? VM_EXEC : 0);
}

static bool prot_ok(unsigned long prot)
{
	return !(prot & ~(unsigned long)(PROT_READ | PROT_WRITE | PROT_EXEC)) &&
	       (prot & (PROT_WRITE | PROT_EXEC)) != (PROT_WRITE | PROT_EXEC);
}

/* ---- ranges across regions ------------------------------------------------ */

struct overlap {
	uint64_t lo, hi;
	unsigned n;
	struct vm_region r[RANGE_BATCH];
	bool covered;           /* [lo, hi) has no hole */
	uint64_t next;          /* where the covered run reached */
};

static void collect(const struct vm_region *r, void *arg)
{
	struct overlap *o = arg;
	uint64_t end = r->base + r->len;
	if (end <= o->lo || r->base >= o->hi)
		return;
	if (r->base > o->next)
		o->covered = false;
	if (end > o->next)
		o->next = end;
	if (o->n < RANGE_BATCH)
		o->r[o->n++] = *r;
}

static void find_overlaps(struct vm_space *s, uint64_t lo, uint64_t hi, struct overlap *o)
{
	*o = (struct overlap){ .lo = lo, .hi = hi, .covered = true, .next = lo };
	vmm_for_each(s, collect, o);
	if (o->next < hi)
		o->covered = false;
}

static int errno_of(int vmm_err)
{
	switch (vmm_err) {
	case VMM_OK: return 0;
	case VMM_E_NO_MEMORY: case VMM_E_NO_SPACE: return -ENOMEM;
	case VMM_E_NO_REGION: case VMM_E_GUARD: return -ENOMEM;
	case VMM_E_ACCESS: return -EACCES;
	default: return -EINVAL;
	}
}

/* Unmap [lo, hi) whatever regions it crosses; holes are no error. */
static int unmap_range(struct vm_space *s, uint64_t lo, uint64_t hi)
{
	struct overlap o;
	for (;;) {
		find_overlaps(s, lo, hi, &o);
		if (!o.n)
			return 0;
		for (unsigned i = 0; i < o.n; i++) {
			uint64_t a = o.r[i].base > lo ? o.r[i].base : lo;
			uint64_t b = o.r[i].base + o.r[i].len < hi ? o.r[i].base + o.r[i].len : hi;
			int e = vmm_free(s, a, b - a);
			if (e)
				return errno_of(e);
		}
	}
}

/* ---- the calls ---------------------------------------------------------------- */

static int region_source(struct vm_req *r, bool shared, bool anon, bool populate, uint64_t fd,
			 uint64_t off, bool shared_write);
static int place(struct proc *p, uint64_t addr, uint64_t flags, struct vm_req *r, uint64_t *at);

long sys_mmap(uint64_t addr, uint64_t len, uint64_t prot, uint64_t flags, uint64_t fd, uint64_t off)
{
	struct proc *p = proc_current();
	const uint64_t known = MAP_SHARED | MAP_PRIVATE | MAP_FIXED | MAP_ANONYMOUS | MAP_POPULATE;
	bool shared = flags & MAP_SHARED, anon = flags & MAP_ANONYMOUS;
	if (!len || (flags & ~known) || !prot_ok(prot) || shared == !!(flags & MAP_PRIVATE))
		return -EINVAL;
	if (anon ? (long)fd != -1 || off : !page_aligned(off))
		return -EINVAL;
	if (len > VMM_USER_END)
		return -ENOMEM;
	len = page_up(len);
	if (!within_limit(p, len))
		return -ENOMEM;
	struct vm_req r = { .len = len, .flags = vm_flags_of(prot) };
	int e = region_source(&r, shared, anon, (flags & MAP_POPULATE) && prot != PROT_NONE,
			      fd, off, shared && (prot & PROT_WRITE));
	if (e)
		return e;
	e = place(p, addr, flags, &r, &addr);
	if (r.obj)
		vmo_put(r.obj);         /* the region holds its own reference, if it was made */
	if (e < 0)
		return e;
	proc_resident(p);
	return (long)addr;
}

/* An anonymous shared object lives in the heap; it goes when its last region does. */
static void anon_object_free(struct vm_object *o) { kfree(o); }

/*
 * What backs a new mapping, in r: private anonymous memory (now, or on
 * demand), a new object shared by whoever forks from here, or a window
 * of a file's pages, shared or private. With an object, r->obj holds a
 * reference of the caller's.
 */
static int region_source(struct vm_req *r, bool shared, bool anon, bool populate, uint64_t fd,
			 uint64_t off, bool shared_write)
{
	struct inode *ino;
	if (anon && !shared) {
		r->kind = populate ? VM_ANON : VM_DEMAND;
		return 0;
	}
	if (anon) {
		if (!(r->obj = kmalloc(sizeof(*r->obj))))
			return -ENOMEM;
		vmo_init(r->obj, r->len, anon_object_free);
		r->kind = VM_SHARED;
		r->flags |= VM_MAYWRITE;
		return 0;
	}
	bool writable;
	int e = file_for_mmap(fd, shared_write, &ino, &writable);
	if (e)
		return e;
	if (shared && writable)
		r->flags |= VM_MAYWRITE;        /* mprotect may add PROT_WRITE later; else -EACCES */
	if (off + r->len < off || (off + r->len) / PAGE_SIZE > VMO_MAX_PAGES)
		return -EINVAL;
	r->obj = fs_object(ino);
	vmo_get(r->obj);
	r->off = off;
	r->kind = shared ? VM_SHARED : VM_PRIVATE;
	return 0;
}

/* Put r at addr (MAP_FIXED: exactly there, or a free hint) or in mmap's area; its address in *at. */
static int place(struct proc *p, uint64_t addr, uint64_t flags, struct vm_req *r, uint64_t *at)
{
	uint64_t len = r->len;
	int e;
	if (flags & MAP_FIXED) {
		if (!page_aligned(addr) || !user_range_ok(addr, len))
			return -EINVAL;
		if ((e = unmap_range(p->space, addr, addr + len)))
			return e;
		e = vmm_alloc_fixed(p->space, addr, r);
	} else {
		/* A hint is taken if the pages there are free; otherwise mmap's area decides. */
		addr &= ~(PAGE_SIZE - 1);
		e = addr && user_range_ok(addr, len) ? vmm_alloc_fixed(p->space, addr, r) : VMM_E_OVERLAP;
		if (e) {
			r->lo = STRATA_MMAP_BASE, r->hi = STRATA_STACK_TOP - STRATA_STACK_MAX - PAGE_SIZE;
			e = vmm_alloc(p->space, r, &addr);
		}
	}
	*at = addr;
	return errno_of(e);
}

long sys_munmap(uint64_t addr, uint64_t len)
{
	if (!page_aligned(addr) || !len || !user_range_ok(addr, len))
		return -EINVAL;
	return unmap_range(proc_current()->space, addr, addr + page_up(len));
}

long sys_mprotect(uint64_t addr, uint64_t len, uint64_t prot)
{
	struct vm_space *s = proc_current()->space;
	if (!page_aligned(addr) || !prot_ok(prot) || !user_range_ok(addr, len))
		return -EINVAL;
	uint64_t hi = addr + page_up(len);
	struct overlap o;
	find_overlaps(s, addr, hi, &o);
	if (!o.covered)
		return -ENOMEM;         /* POSIX: pages in the range are not mapped */
	for (unsigned i = 0; i < o.n; i++)
		if (o.r[i].kind == VM_GUARD)
			return -ENOMEM;
	/* The batch may not hold every region of a long range: go on from where it ended. */
	for (uint64_t lo = addr; lo < hi;) {
		find_overlaps(s, lo, hi, &o);
		if (!o.n)
			break;
		for (unsigned i = 0; i < o.n; i++) {
			uint64_t a = o.r[i].base > lo ? o.r[i].base : lo;
			uint64_t b = o.r[i].base + o.r[i].len < hi ? o.r[i].base + o.r[i].len : hi;
			int e = vmm_protect(s, a, b - a, vm_flags_of(prot));
			if (e)
				return errno_of(e);
			lo = b;
		}
	}
	return 0;
}

long sys_brk(uint64_t addr)
{
	struct proc *p = proc_current();
	if (!addr)
		return (long)p->brk;
	if (addr < p->brk_base)
		return -EINVAL;
	if (addr > STRATA_MMAP_BASE)
		return -ENOMEM;
	uint64_t old_end = page_up(p->brk), new_end = page_up(addr);
	if (new_end > old_end) {
		if (!within_limit(p, new_end - old_end))
			return -ENOMEM;
		struct vm_req r = { .len = new_end - old_end, .kind = VM_DEMAND,
				    .flags = VM_READ | VM_WRITE | VM_USER };
		int e = vmm_alloc_fixed(p->space, old_end, &r);
		if (e)
			return e == VMM_E_OVERLAP ? -ENOMEM : errno_of(e);
	} else if (new_end < old_end) {
		int e = unmap_range(p->space, new_end, old_end);
		if (e)
			return e;
	}
	p->brk = addr;
	return (long)addr;
}

/* There is no disk behind any mapping: msync checks its arguments and that the range is mapped. */
long sys_msync(uint64_t addr, uint64_t len, uint64_t flags)
{
	if (!page_aligned(addr) || (flags & ~(uint64_t)(MS_ASYNC | MS_SYNC | MS_INVALIDATE)) ||
	    (flags & (MS_ASYNC | MS_SYNC)) == (MS_ASYNC | MS_SYNC) || !user_range_ok(addr, len))
		return -EINVAL;
	struct overlap o;
	find_overlaps(proc_current()->space, addr, addr + page_up(len), &o);
	return o.covered ? 0 : -ENOMEM;
}
