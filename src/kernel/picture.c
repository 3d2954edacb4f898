/*
 * picture.c - the lines scripts/picture.py draws a picture of memory from
 * (docs/picture.md): the physical address space, the zones, free blocks
 * by order, who holds the allocated frames, and the heap's caches. Tagged
 * lines only (PICTURE, PIC...), printed at the end of mode=run, once the
 * processes have ended; picture=0 leaves them out.
 *
 * The buddy keeps no owner per frame, so owners are counted where the
 * frames are taken: paging counts its tables, the heap its slab pages,
 * the VMM its node pages and resident pages, the file system its page
 * cache. What none of them counts is printed as what is left.
 *
 * Kernel code, not a layer's: public interfaces only, read-only.
 */
#include "kernel/kernel.h"
#include "kernel/cmdline.h"
#include "lib/kprintf.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"
#include "mm/slab/slab.h"
#include "fs/fs.h"
#include "proc/proc.h"

void picture_report(void);

#define ZONE_DMA_END   (16ULL << 20)
#define ZONE_DMA32_END (4ULL << 30)

static const char *type_word(uint32_t t)
{
	switch (t) {
	case MEM_AVAILABLE:        return "available";
	case MEM_ACPI_RECLAIMABLE: return "acpi";
	case MEM_NVS:              return "nvs";
	case MEM_BAD:              return "bad";
	default:                   return "reserved";
	}
}

static const char *kind_word(uint32_t k)
{
	switch (k) {
	case PMM_PROTECT_KERNEL:      return "kernel";
	case PMM_PROTECT_BOOTINFO:    return "bootinfo";
	case PMM_PROTECT_MODULE:      return "module";
	case PMM_PROTECT_BOOT_TABLES: return "boot_tables";
	default:                      return "other";
	}
}

static void map_lines(const char *src, const struct mem_range *m, size_t n)
{
	for (size_t i = 0; i < n; i++)
		kprintf("PICMAP src=%s base=0x%llx end=0x%llx type=%s\n", src,
			(unsigned long long)m[i].base, (unsigned long long)(m[i].base + m[i].len),
			type_word(m[i].type));
}

/* The firmware's map, the PMM's sanitized one, what it protected, the modules, the image. */
static void space_lines(void)
{
	const struct pmm_boot *pb = pmm_boot_info();
	const struct mem_range *san;
	size_t nsan;

	map_lines("firmware", pb->map, pb->map_len);
	san = pmm_sanitized_map(&nsan);
	map_lines("sanitized", san, nsan);
	for (size_t i = 0; i < pb->protect_len; i++)
		kprintf("PICRANGE kind=%s base=0x%llx end=0x%llx released=%d\n",
			kind_word(pb->protect[i].type), (unsigned long long)pb->protect[i].base,
			(unsigned long long)(pb->protect[i].base + pb->protect[i].len),
			pmm_protect_released(i));
	for (size_t i = 0; i < boot_info.modules_len; i++)
		kprintf("PICMODULE name=%s base=0x%llx end=0x%llx\n", boot_info.modules[i].name[0] ?
			boot_info.modules[i].name : "-", (unsigned long long)boot_info.modules[i].start,
			(unsigned long long)boot_info.modules[i].end);
	kprintf("PICSECTION name=text base=0x%lx end=0x%lx\n",
		(uintptr_t)kernel_text_start - PG_KERNEL_BASE, (uintptr_t)kernel_text_end - PG_KERNEL_BASE);
	kprintf("PICSECTION name=rodata base=0x%lx end=0x%lx\n",
		(uintptr_t)kernel_rodata_start - PG_KERNEL_BASE, (uintptr_t)kernel_rodata_end - PG_KERNEL_BASE);
	kprintf("PICSECTION name=data base=0x%lx end=0x%lx\n",
		(uintptr_t)kernel_data_start - PG_KERNEL_BASE, (uintptr_t)kernel_data_end - PG_KERNEL_BASE);
}

/* The top of RAM the sanitized map reports: where NORMAL ends. */
static uint64_t ram_top(void)
{
	size_t n;
	const struct mem_range *m = pmm_sanitized_map(&n);
	uint64_t top = 0;

	for (size_t i = 0; i < n; i++)
		if (m[i].type == MEM_AVAILABLE && m[i].base + m[i].len > top)
			top = m[i].base + m[i].len;
	return top;
}

/* Zones, free blocks per order, and the frame totals. Returns the allocated pages. */
static uint64_t buddy_lines(void)
{
	static const uint64_t lo[NR_ZONES] = { 0, ZONE_DMA_END, ZONE_DMA32_END };
	uint64_t hi[NR_ZONES] = { ZONE_DMA_END, ZONE_DMA32_END, ram_top() };
	struct pmm_stats st;
	uint64_t in_blocks = 0;

	pmm_get_stats(&st);
	for (unsigned z = 0; z < NR_ZONES; z++)
		kprintf("PICZONE name=%s base=0x%llx end=0x%llx ram_kib=%llu free_kib=%llu\n", pmm_zone_name(z),
			(unsigned long long)lo[z], (unsigned long long)(hi[z] > lo[z] ? hi[z] : lo[z]),
			(unsigned long long)(st.zone_total[z] << 2), (unsigned long long)(st.zone_free[z] << 2));
	for (unsigned o = 0; o <= PMM_MAX_ORDER; o++) {
		kprintf("PICFREE order=%u blocks=%llu\n", o, (unsigned long long)st.free_blocks[o]);
		in_blocks += st.free_blocks[o] << o;
	}
	kprintf("PICFRAMES total=%llu free=%llu reserved=%llu allocated=%llu cpu_cached=%llu "
		"kernel=%llu metadata_kib=%llu\n", (unsigned long long)st.total_pages,
		(unsigned long long)st.free_pages, (unsigned long long)st.reserved_pages,
		(unsigned long long)st.allocated_pages,
		(unsigned long long)(st.free_pages > in_blocks ? st.free_pages - in_blocks : 0),
		(unsigned long long)st.kernel_pages, (unsigned long long)(st.metadata_bytes >> 10));
	return st.allocated_pages;
}

static void owner(const char *name, uint64_t pages, uint64_t *sum)
{
	kprintf("PICOWNER name=%s pages=%llu\n", name, (unsigned long long)pages);
	*sum += pages;
}

/* Who holds the allocated frames, each layer counting its own; then what is left. */
static void owner_lines(uint64_t allocated)
{
	struct slab_stats ss;
	struct vm_stats ks;
	struct fs_stats fst;
	uint64_t sum = 0, heap;

	slab_get_stats(&ss);
	vmm_stats(vmm_kernel_space(), &ks);
	fs_stats(&fst);
	heap = ss.slab_pages + ss.large_pages;
	owner("page_tables", pg_table_count(pg_kernel_root()), &sum);
	owner("slabs", ss.slab_pages, &sum);
	owner("large", ss.large_pages, &sum);
	/* The heap's pages are kernel-space regions too: the rest of the space's resident pages. */
	owner("kernel_regions", ks.resident > heap ? ks.resident - heap : 0, &sum);
	owner("vmm_nodes", ks.node_pages, &sum);
	owner("page_cache", fst.pages, &sum);
	for (unsigned i = 0; proc_slot(i); i++) {
		struct proc *p = proc_slot(i);
		if (p->state == P_FREE || p->state == P_ZOMBIE || !p->space)
			continue;
		struct vm_stats ps;
		vmm_stats(p->space, &ps);
		kprintf("PICPROC pid=%d name=%s resident=%llu tables=%llu node_pages=%llu\n", p->pid, p->name,
			(unsigned long long)ps.resident, (unsigned long long)ps.tables,
			(unsigned long long)ps.node_pages);
		owner("process", ps.resident + ps.node_pages, &sum);
	}
	kprintf("PICOWNER name=uncounted pages=%llu\n", (unsigned long long)(allocated > sum ? allocated - sum : 0));
}

/* Every cache of the heap, empty ones too: objects per slab, slabs, in use, free, parked. */
static void cache_lines(void)
{
	struct slab_cache_info ci;

	for (unsigned i = 0; slab_cache_nth(i, &ci); i++) {
		uint64_t total = ci.slabs * ci.nobj;
		uint64_t out = total - ci.free;
		kprintf("PICCACHE name=%s size=%zu pages_per_slab=%u objs_per_slab=%u slabs=%llu active=%llu "
			"free=%llu parked=%llu grows=%llu\n", ci.name, ci.size, ci.npages, ci.nobj,
			(unsigned long long)ci.slabs, (unsigned long long)(out > ci.parked ? out - ci.parked : 0),
			(unsigned long long)ci.free, (unsigned long long)ci.parked, (unsigned long long)ci.grows);
	}
}

/* picture_report: see the top of the file. */
void picture_report(void)
{
	if (cmdline_int("picture", 1) != 1)
		return;
	kprintf("PICTURE part=begin version=1 levels=%u page_kib=%lu\n", paging_features()->levels,
		(unsigned long)(PAGE_SIZE >> 10));
	space_lines();
	owner_lines(buddy_lines());
	cache_lines();
	kprintf("PICTURE part=end\n");
}
