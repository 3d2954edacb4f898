/*
 * space.c - address spaces: the kernel's, and any number of processes'.
 *
 * A process space is two frames to begin with: its root table, whose
 * kernel half is a copy of the kernel root's (paging made every one of
 * those entries point to a table that lives forever, so the copy never
 * goes stale), and one page holding the struct vm_space followed by its
 * first region nodes. Everything else it ever holds hangs off those two
 * and goes back to the buddy in vmm_space_destroy().
 */
#include "mm/vmm/internal.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"

static struct vm_space kernel_space;
static struct vm_space *current[ARCH_MAX_CPUS];

/* Start the VMM on the kernel's tables. Returns 0, or VMM_E_NO_MEMORY. */
int vmm_init(void)
{
	kernel_space = (struct vm_space){
		.lock = SPINLOCK_INIT("vmm kernel"),
		.root = pg_kernel_root(),
		.lo = VMM_KERNEL_BASE, .hi = VMM_KERNEL_END,
		.kernel = true,
	};
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		current[i] = 0;
	if (!kernel_space.root) {
		kprintf("vmm: no kernel root: paging_build_kernel has not run\n");
		return VMM_E_INVAL;
	}
	/* The first node page now, so kernel regions made later do not move the free count. */
	return pool_reserve(&kernel_space.pool, 1) ? 0 : VMM_E_NO_MEMORY;
}

struct vm_space *vmm_kernel_space(void) { return &kernel_space; }

/* A process space in one page of its own, plus a root table. NULL if out of frames. */
struct vm_space *vmm_space_create(void)
{
	uint64_t page = pmm_alloc_page(PMM_ZERO);
	if (page == PMM_NO_FRAME)
		return 0;
	pg_root_t root = pg_root_create_user();
	if (root == PG_NO_ROOT) {
		pmm_free_page(page);
		return 0;
	}
	struct vm_space *s = phys_to_virt(page);
	*s = (struct vm_space){
		.lock = SPINLOCK_INIT("vmm space"),
		.root = root,
		.lo = VMM_USER_BASE, .hi = VMM_USER_END,
		.own_page = true,
	};
	pool_seed(&s->pool, s + 1, PAGE_SIZE - sizeof(*s));
	return s;
}

/*
 * pg_walk callback: the frame of a VM_ANON or VM_DEMAND page goes back to
 * the buddy. The space is not in any CR3 and its tables go next, so no
 * mapping outlives the frame where it could be used. The VMM maps such
 * pages one 4 KiB frame at a time and took each from the buddy: anything
 * else means its tables or the buddy's records are not what it made.
 */
static void free_leaf(uintptr_t va, uint64_t pa, size_t size, unsigned flags, void *arg)
{
	(void)flags, (void)arg;
	if (size != PAGE_SIZE)
		MM_PANIC("vmm", "anonymous page %lx is mapped by a %zu KiB page", va, size >> 10);
	back_free_frame(va, pa);
}

/*
 * Frames first (found by walking each region's mappings), then every
 * table at once: pg_root_destroy frees the lower half's tables, so no
 * mapping needs to be taken out one by one (xv6's uvmfree does the same).
 */
int vmm_space_destroy(struct vm_space *s)
{
	if (s->kernel || !s->own_page) {
		MM_MISUSE("vmm", "vmm_space_destroy: refusing to destroy the kernel's space");
		return VMM_E_INVAL;
	}
	if (pg_current_root() == s->root) {
		MM_MISUSE("vmm", "vmm_space_destroy: space %p is in CR3: switch away first", (void *)s);
		return VMM_E_IN_USE;
	}
	for (struct vm_region *r = rt_first_ending_after(s->tree, 0); r;
	     r = rt_first_ending_after(s->tree, region_end(r)))
		if (r->kind == VM_ANON || r->kind == VM_DEMAND)
			pg_walk(s->root, r->base, r->len, free_leaf, 0);
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		if (current[i] == s)
			current[i] = 0;
	pg_root_destroy(s->root);
	pool_release(&s->pool);
	pmm_free_page(virt_to_phys(s));
	return 0;
}

/* Make s the running address space. */
void vmm_switch(struct vm_space *s)
{
	pg_switch(s->root);
	current[arch_cpu_index()] = s;
}

/* The space in CR3: the last one switched to, unless CR3 was changed behind our back. */
struct vm_space *vmm_current(void)
{
	struct vm_space *s = current[arch_cpu_index()];
	if (s && s->root == pg_current_root())
		return s;
	return &kernel_space;
}

uint64_t vmm_space_root(const struct vm_space *s) { return s->root; }
