/*
 * root.c - address spaces: making, sharing and destroying roots, and the
 * kernel's own, built with the engine.
 *
 * The kernel half (top-level entries 256..511) of every root points to the
 * same tables, made once by kernel_half_init() and never freed: a kernel
 * mapping made later lands in one of them and so appears in every address
 * space at once, with no top-level entry to copy around.
 *
 * The boot stub's tables identity-map the first 64 GiB and map the same 64 GiB as
 * HHDM whatever the machine has. paging_build_kernel replaces them: the
 * HHDM covers what the memory map calls RAM (and ACPI and NVS, which
 * drivers read), in the largest pages that fit, and the kernel image is
 * mapped section by section so that no page is both writable and
 * executable.
 */
#include "mm/paging/pte.h"
#include "mm/buddy/buddy.h"
#include "lib/kstring.h"


pg_root_t pg_kernel_root(void) { return pg.kroot; }

pg_root_t pg_root_create(void)
{
	pa_t pa = pmm_alloc_page(PMM_ZERO);
	return pa == PMM_NO_FRAME ? PG_NO_ROOT : pa;
}

pg_root_t pg_root_create_user(void)
{
	pg_root_t root = pg_root_create();
	if (root == PG_NO_ROOT || !pg.kroot)
		return root;
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	memcpy(table_at(root) + PT_ENTRIES / 2, table_at(pg.kroot) + PT_ENTRIES / 2,
	       PT_ENTRIES / 2 * sizeof(pte_t));
	spin_unlock_irqrestore(&pg.lock, irq);
	return root;
}

/*
 * Give every empty top-level entry of the kernel half of root a zeroed
 * table. Returns 0, or PG_E_NO_MEMORY having added none.
 */
static int kernel_half_init(pg_root_t root)
{
	pte_t *t = table_at(root);
	size_t need = 0;
	for (unsigned i = PT_ENTRIES / 2; i < PT_ENTRIES; i++)
		need += !pte_present(t[i]);
	struct reserve r;
	unsigned at;
	if (reserve_fill(&r, need))
		return PG_E_NO_MEMORY;
	for (va_t va = ~lower_half_last(); va; va += level_size(top_level()))
		walk(root, va, top_level() - 1, &r, NULL, &at);     /* makes the missing table */
	return 0;
}

void pg_root_destroy(pg_root_t root)
{
	if (root == pg.kroot || root == pg_current_root() || !root || (root & (PAGE_SIZE - 1))) {
		MM_MISUSE("paging", "pg_root_destroy: %lx is the kernel's, the current or no root; kept",
			  root);
		return;
	}
	struct tlb_batch b;
	tlb_begin(&b, root);
	uint64_t irq = spin_lock_irqsave(&pg.lock);
	if (pg_root_active(root)) {
		spin_unlock_irqrestore(&pg.lock, irq);
		MM_MISUSE("paging", "pg_root_destroy: %lx is running on another CPU; kept", root);
		return;
	}
	pcid_forget(root);
	free_tables(root, &b);
	tlb_free_table(&b, root, 0);
	tlb_flush_here(&b);
	spin_unlock_irqrestore(&pg.lock, irq);
	tlb_flush_there(&b);
}

/* ---- the kernel's address space ---- */

#define HHDM_FLAGS (PG_READ | PG_WRITE | PG_GLOBAL | PG_CACHE_WB)

static bool hhdm_type(uint32_t type)
{
	return type == MEM_AVAILABLE || type == MEM_ACPI_RECLAIMABLE || type == MEM_NVS;
}

/*
 * Map each RAM, ACPI and NVS range of the sanitized map at PG_HHDM_BASE
 * + pa, rounded out to pages; done tracks what is mapped so that two
 * ranges sharing a page map it once.
 */
static int map_hhdm(pg_root_t root)
{
	size_t n;
	const struct mem_range *m = pmm_sanitized_map(&n);
	pa_t done = 0;
	for (size_t i = 0; i < n; i++) {
		pa_t start = m[i].base & ~(PAGE_SIZE - 1);
		pa_t end = (m[i].base + m[i].len + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1);
		if (!hhdm_type(m[i].type))
			continue;
		if (start < done)
			start = done;
		if (end <= start)
			continue;
		int err = pg_map(root, PG_HHDM_BASE + start, start, end - start, HHDM_FLAGS);
		if (err)
			return err;
		done = end;
	}
	return 0;
}

static int map_sections(pg_root_t root, const struct kernel_layout *k)
{
	for (unsigned i = 0; i < k->nsect; i++) {
		const struct kernel_section *s = &k->sect[i];
		int err = pg_map(root, s->va_start, s->pa_start, s->va_end - s->va_start,
				 s->flags | PG_GLOBAL | PG_SIZE_4K);
		if (err)
			return err;
	}
	for (unsigned i = 0; i < k->nguard; i++) {
		int err = pg_unmap(root, k->guard[i], PAGE_SIZE);
		if (err)
			return err;
	}
	return 0;
}

/*
 * The HHDM maps the image's frames a second time: make that alias of every
 * section the image does not write (text, rodata) read-only, so that W^X
 * holds per frame, not only per address. Splits the HHDM's large pages
 * around the image.
 */
static int protect_image_alias(pg_root_t root, const struct kernel_layout *k)
{
	for (unsigned i = 0; i < k->nsect; i++) {
		const struct kernel_section *s = &k->sect[i];
		if (s->flags & PG_WRITE)
			continue;
		int err = pg_protect(root, PG_HHDM_BASE + s->pa_start, s->va_end - s->va_start,
				     HHDM_FLAGS & ~PG_WRITE);
		if (err)
			return err;
	}
	return 0;
}

int paging_build_kernel(const struct kernel_layout *k)
{
#ifndef STRATA_HOST     /* on the host, RAM is a heap block: hhdm_offset is its address */
	if (hhdm_offset != PG_HHDM_BASE)
		MM_PANIC("paging", "paging_build_kernel: the HHDM is at %lx, not %lx", hhdm_offset, PG_HHDM_BASE);
#endif
	pg_root_t root = pg_root_create(), old = pg.kroot;
	if (root == PG_NO_ROOT)
		return PG_E_NO_MEMORY;
	pg.kroot = root;            /* so that no unmap below frees a kernel-half table */
	int err = kernel_half_init(root);
	if (!err)
		err = map_hhdm(root);
	if (!err)
		err = map_sections(root, k);
	if (!err)
		err = protect_image_alias(root, k);
	if (err) {
		pg.kroot = 0;
		pg_root_destroy(root);
		pg.kroot = old;
		return err;
	}
	pg_switch(root);
	arch_flush_tlb_global();    /* the boot tables' global entries, if any, go too */
	return 0;
}
