/*
 * mm_boot.c - brings up the memory layers in order and tells each what
 * boot left behind: which RAM is still in use (the kernel image, the boot
 * stub's tables, the Multiboot2 block, modules) and which will come back.
 */
#include "kernel/kernel.h"
#include "kernel/ktest.h"
#include "kernel/panic.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"
#include "mm/slab/slab.h"
#include "kernel/cmdline.h"
#include "kernel/tsc.h"
#include "arch/x86_64/protect.h"
#include "lib/kprintf.h"

/* The boot stub maps the first 64 GiB in the HHDM (boot.asm, HHDM_GIB). */
#define BOOT_HHDM_LIMIT (64ULL << 30)

/*
 * What pmm_init must keep: the kernel image (split around the stub's
 * tables), the Multiboot2 block, then the boot modules in the rest of the
 * PMM's table, merged into spans when there are more modules than room.
 */
static struct mem_range protect[PMM_MAX_PROTECT];
static size_t nprotect;

/* Every module GRUB passed, read from the tags at boot (the block is released after). */
struct mem_range *boot_modules;
size_t boot_modules_len;

static void protect_range(uint64_t start, uint64_t end, uint32_t kind)
{
	if (end > start && nprotect < PMM_MAX_PROTECT)
		protect[nprotect++] = (struct mem_range){ start, end - start, kind };
}

static const struct mem_range *find_protected(uint32_t kind)
{
	for (size_t i = 0; i < nprotect; i++)
		if (protect[i].type == kind)
			return &protect[i];
	return 0;
}

_Static_assert(MB2_SPAN_TYPE == PMM_PROTECT_MODULE, "module spans carry the PMM's module kind");

/* Module spans from mb2_module_spans(), which wants one slot of scratch. */
static struct mem_range spans[PMM_MAX_PROTECT + 1];

/*
 * Protect every module tag of the block, however many there are: modules
 * share spans when there are more than the PMM's table has room for. Says
 * so on the console, and how much more that keeps.
 */
static void protect_modules(const void *block)
{
	struct mb2_spans st;
	size_t n = mb2_module_spans(block, spans, PMM_MAX_PROTECT - nprotect, &st);
	for (size_t i = 0; i < n; i++)
		protect[nprotect++] = spans[i];
	if (st.modules > n)
		kprintf("boot: %zu modules protected as %zu ranges (%lu KiB, %lu KiB of it between modules)\n",
			st.modules, n, st.kept >> 10, st.kept > st.bytes ? (st.kept - st.bytes) >> 10 : 0);
}

static void collect_protected(void)
{
	uint64_t start = (uint64_t)kernel_phys_start, end = (uint64_t)kernel_phys_end;
	uint64_t tables = (uint64_t)boot_tables_start, tables_end = (uint64_t)boot_tables_end;
	protect_range(start, tables, PMM_PROTECT_KERNEL);
	protect_range(tables, tables_end, PMM_PROTECT_BOOT_TABLES);
	protect_range(tables_end, end, PMM_PROTECT_KERNEL);
	protect_range(boot_info_pa, boot_info_pa + boot_info.total_size, PMM_PROTECT_BOOTINFO);
	protect_modules(phys_to_virt(boot_info_pa));
}

/*
 * Copy every module's range out of the block into frames from the PMM, so
 * the self-tests can check the allocator against what GRUB said, not
 * against the protection built from it. On failure the test run fails.
 */
static void record_modules(void)
{
	const void *block = phys_to_virt(boot_info_pa);
	size_t n = boot_info.modules_total, cursor = 0, i = 0;
	unsigned order = 0;
	uint64_t start, end;

	if (!n)
		return;
	while ((PAGE_SIZE << order) < n * sizeof(*boot_modules))
		order++;
	uint64_t pa = pmm_alloc(order, 0);
	if (pa == PMM_NO_FRAME) {
		kprintf("boot: no memory to record %zu boot modules for the self-tests\n", n);
		ktest_problem("boot modules not recorded (no memory)");
		return;
	}
	boot_modules = phys_to_virt(pa);
	while (i < n && mb2_next_module(block, &cursor, &start, &end))
		boot_modules[i++] = (struct mem_range){ start, end > start ? end - start : 0, 0 };
	boot_modules_len = i;
}

/*
 * Everything the kernel needs from the Multiboot2 block was copied into
 * boot_info by read_boot_info(), so its frames can go back now.
 */
static void release_boot_info(void)
{
	const struct mem_range *r = find_protected(PMM_PROTECT_BOOTINFO);
	if (r)
		pmm_release(r);
}

static uint64_t page_up(const char *p) { return ((uint64_t)p + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

static struct kernel_section section(const char *start, const char *end, unsigned flags)
{
	return (struct kernel_section){
		(uintptr_t)start, page_up(end), (uint64_t)start - PG_KERNEL_BASE, flags,
	};
}

/*
 * The final page tables: W^X kernel sections, the HHDM over all RAM, no
 * identity map. Once CR3 points at them the stub's tables are garbage.
 */
static void paging_up(void)
{
	protect_init();
	int e = paging_init(boot_cpu_flags & 2 ? 5 : 4);
	if (e)
		panic("paging_init: %s", pg_error_str(e));
	struct kernel_layout k = {
		.sect = {
			section(kernel_text_start, kernel_text_end, PG_READ | PG_EXEC),
			section(kernel_rodata_start, kernel_rodata_end, PG_READ),
			section(kernel_data_start, kernel_data_end, PG_READ | PG_WRITE),
		},
		.nsect = 3,
		.guard = { (uintptr_t)boot_stack_guard },
		.nguard = 1,
	};
	e = paging_build_kernel(&k);
	if (e)
		panic("paging_build_kernel: %s", pg_error_str(e));
	const struct mem_range *r = find_protected(PMM_PROTECT_BOOT_TABLES);
	if (r)
		pmm_release(r);
}

/*
 * Free frames once the heap has given back its empty slabs: what a cache
 * keeps for its working set (a program's buffer, say) is not a leak.
 */
static uint64_t free_frames_settled(void)
{
	slab_reap();
	return pmm_free_count();
}

/*
 * How long pmm_init and pmm_add_range took, per GiB of RAM they manage:
 * the start-up cost a reader compares across machine sizes (the host
 * benchmark measures the same on fake RAM, bench/host/buddy_main.c).
 */
static void report_pmm_init(uint64_t ticks)
{
	uint64_t khz = tsc_khz(), us = khz ? ticks * 1000 / khz : 0;
	struct pmm_stats st;
	uint64_t mib;

	pmm_get_stats(&st);
	mib = st.total_pages >> (20 - PAGE_SHIFT);

	kprintf("pmm: init took %llu us for %llu MiB of RAM (%llu us per GiB, %llu TSC ticks)\n",
		(unsigned long long)us, (unsigned long long)mib,
		(unsigned long long)(mib ? us * 1024 / mib : 0), (unsigned long long)ticks);
}

void mm_boot(void)
{
	collect_protected();
	struct pmm_boot pb = {
		.map = boot_info.mmap, .map_len = boot_info.mmap_len,
		.protect = protect, .protect_len = nprotect,
		.reachable = BOOT_HHDM_LIMIT,
	};
	uint64_t t0 = arch_rdtsc();
	int e = pmm_init(&pb);
	uint64_t init_ticks = arch_rdtsc() - t0;
	if (e)
		panic("the physical memory manager cannot start: %s (Strata needs %d KiB of RAM free after\n"
		      "its image, boot modules and frame records; README.md, \"Requirements\")",
		      pmm_error_str(e), PMM_MIN_FREE_PAGES * 4);
	record_modules();
	release_boot_info();
	paging_up();
	t0 = arch_rdtsc();
	e = pmm_add_range(0, UINT64_MAX);   /* RAM above the stub's HHDM: the final tables map it */
	init_ticks += arch_rdtsc() - t0;
	if (e)
		kprintf("mm: some RAM is left out: %s\n", pmm_error_str(e));
	report_pmm_init(init_ticks);
	if (vmm_init())
		panic("vmm_init: no memory for the kernel address space");
	pagefault_init();
	slab_debug_set((unsigned)cmdline_int("slab.debug", 0));
	slab_init();
	slab_trace_set(cmdline_int("slab.trace", 0) == 1);
	ktest_register_counter("free_frames", free_frames_settled);
	ktest_register_counter("heap_objects", slab_live_objects);
}

void mm_report(void)
{
	pmm_report();
	kprintf("paging: the kernel address space (root 0x%lx)\n", pg_kernel_root());
	pg_dump(pg_kernel_root(), 0, 0);
	vmm_report(vmm_kernel_space(), "kernel");
}
