/*
 * pmm_report.c - statistics, names (errors, zones) and the boot report.
 *
 * The tables fit an 80-column serial console. The MEMINFO line is for
 * programs (the QEMU harness): its keys stay as they are.
 */
#include "mm/buddy/pmm_state.h"
#include "lib/kprintf.h"

/* pmm_watermarks: see buddy.h. */
void pmm_watermarks(struct pmm_watermarks *w)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	uint64_t min = s.total_pages / 256;
	min = min < 32 ? 32 : min > 16384 ? 16384 : min;
	*w = (struct pmm_watermarks){ .min = min, .low = 2 * min, .high = 3 * min };
}

/* pmm_get_stats: see buddy.h. Under every lock of the layer: one consistent picture. */
void pmm_get_stats(struct pmm_stats *s)
{
	uint64_t irq = pmm_lock_all();

	*s = (struct pmm_stats){ 0 };
	for (int z = 0; z < NR_ZONES; z++) {
		s->zone_total[z] = pmm.zones[z].total_pages;
		s->zone_free[z] = pmm.zones[z].free_pages;
		for (int o = 0; o <= PMM_MAX_ORDER; o++)
			s->free_blocks[o] += pmm.zones[z].nr[o];
	}
	for (int c = 0; c < ARCH_MAX_CPUS; c++)
		for (unsigned i = 0; i < pmm.pcp[c].count; i++)
			s->zone_free[pfn_zone(pmm.pcp[c].pfn[i])]++;
	for (int z = 0; z < NR_ZONES; z++)
		s->free_pages += s->zone_free[z];
	s->total_pages = pmm.total_pages;
	s->reserved_pages = pmm.reserved_pages;
	s->allocated_pages = pmm.total_pages - s->free_pages - pmm.reserved_pages;
	s->metadata_bytes = pmm.metadata_pages << PAGE_SHIFT;
	s->kernel_pages = pmm.kernel_pages;
	pmm_unlock_all(irq);
}

static const char *protect_name(uint32_t kind)
{
	static const char *const name[] = { "other", "kernel", "multiboot2 info", "module", "boot tables" };
	return kind < 5 ? name[kind] : "other";
}

static void print_protected(void)
{
	char sz[24];

	kprintf("pmm: protected ranges (%zu)\n", pmm.boot.protect_len);
	for (size_t i = 0; i < pmm.boot.protect_len; i++) {
		const struct mem_range *r = &pmm.protect[i];
		fmt_size(sz, sizeof(sz), r->len);
		kprintf("  0x%016llx 0x%016llx %11s  %s%s\n", (unsigned long long)r->base,
			(unsigned long long)(r->base + r->len), sz, protect_name(r->type),
			pmm.released[i] ? " (released)" : "");
	}
}

const char *pmm_error_str(int e)
{
	static const char *const s[] = {
		"ok", "no usable RAM", "too little RAM", "no room for the frame records",
		"too many protected ranges", "not RAM the PMM manages", "misaligned",
		"order too large", "reserved frame", "double free", "not an allocated block",
		"wrong order", "still shared", "too many ranges of RAM",
	};
	_Static_assert(sizeof(s) / sizeof(s[0]) == 1 - PMM_E_MIN, "one text per enum pmm_error");
	return e <= 0 && e >= PMM_E_MIN ? s[-e] : "?";
}

/* pmm_zone_of: see buddy.h. */
enum zone_id pmm_zone_of(pa_t pa)
{
	return pfn_zone(pa_to_pfn(pa));
}

/* pmm_zone_name: see buddy.h. */
const char *pmm_zone_name(enum zone_id z)
{
	static const char *const name[] = { "DMA", "DMA32", "NORMAL" };
	return z < NR_ZONES ? name[z] : "?";
}

static void print_zones(void)
{
	struct pmm_stats s;
	char t[24], f[24];

	pmm_get_stats(&s);
	kprintf("pmm: %-8s %12s %12s\n", "zone", "RAM", "free");
	for (int z = 0; z < NR_ZONES; z++) {
		fmt_size(t, sizeof(t), s.zone_total[z] << PAGE_SHIFT);
		fmt_size(f, sizeof(f), s.zone_free[z] << PAGE_SHIFT);
		kprintf("pmm: %-8s %12s %12s\n", pmm_zone_name(z), t, f);
	}
	kprintf("pmm: free blocks per order (order:count, a block is 4 KiB << order)\n");
	for (int o = 0; o <= PMM_MAX_ORDER; o++)
		kprintf("%s%2d:%-6llu%s", o % 8 ? "" : " ", o, (unsigned long long)s.free_blocks[o],
			o % 8 == 7 || o == PMM_MAX_ORDER ? "\n" : "");
}

static void print_totals(void)
{
	struct pmm_stats s;
	uint64_t low = 0, ram;
	char a[24], b[24], c[24];

	pmm_get_stats(&s);
	for (size_t i = 0; i < pmm.nsec; i++)
		for (pfn_t p = pmm.sec[i].base_pfn; p < pmm.sec[i].base_pfn + pmm.sec[i].npages && p < FIRST_MIB_PFN; p++)
			low++;
	ram = s.total_pages << PAGE_SHIFT;
	fmt_size(a, sizeof(a), s.reserved_pages << PAGE_SHIFT);
	fmt_size(b, sizeof(b), low << PAGE_SHIFT);
	fmt_size(c, sizeof(c), (s.reserved_pages - low - pmm.metadata_pages) << PAGE_SHIFT);
	kprintf("pmm: reserved %s: first MiB %s, protected %s, ", a, b, c);
	fmt_size(a, sizeof(a), s.metadata_bytes);
	kprintf("metadata %s\n", a);
	kprintf("pmm: metadata %s, %llu frames (%zu-byte records, maps) = %llu.%03llu %% of RAM\n", a,
		(unsigned long long)s.total_pages, sizeof(struct frame),
		(unsigned long long)((s.metadata_bytes * 100000 + ram / 2) / ram / 1000),
		(unsigned long long)((s.metadata_bytes * 100000 + ram / 2) / ram % 1000));
	kprintf("MEMINFO usable_kib=%llu free_kib=%llu reserved_kib=%llu kernel_kib=%llu metadata_kib=%llu\n",
		(unsigned long long)s.total_pages * 4, (unsigned long long)s.free_pages * 4,
		(unsigned long long)s.reserved_pages * 4, (unsigned long long)s.kernel_pages * 4,
		(unsigned long long)s.metadata_bytes / 1024);
}

/* pmm_report: see buddy.h. */
void pmm_report(void)
{
	if (!pmm.nsec) {
		kprintf("pmm: not initialised\n");
		return;
	}
	/* The firmware's map was printed by the boot report just before. */
	if (pmm.fw_dropped)
		kprintf("pmm: %zu firmware entries beyond %d were dropped\n", pmm.fw_dropped, PMM_MAX_MAP);
	mem_map_print("pmm: sanitized memory map", pmm.san, pmm.nsan);
	print_protected();
	print_zones();
	print_totals();
}
