#include "boot/bootinfo.h"
#include "lib/kprintf.h"

const char *mem_type_name(uint32_t type)
{
	switch (type) {
	case MEM_AVAILABLE: return "available";
	case MEM_RESERVED: return "reserved";
	case MEM_ACPI_RECLAIMABLE: return "ACPI reclaimable";
	case MEM_NVS: return "ACPI NVS";
	case MEM_BAD: return "bad RAM";
	default: return "reserved (unknown type)";
	}
}

void mem_map_print(const char *title, const struct mem_range *m, size_t n)
{
	uint64_t sum[MEM_BAD + 1] = { 0 };
	char sz[24];

	kprintf("%s, %zu entries:\n", title, n);
	kprintf("  %-18s %-18s %11s  %s\n", "base", "end", "size", "type");
	for (size_t i = 0; i < n; i++) {
		fmt_size(sz, sizeof(sz), m[i].len);
		kprintf("  0x%016lx 0x%016lx %11s  %s\n", m[i].base, m[i].base + m[i].len, sz,
			mem_type_name(m[i].type));
		sum[m[i].type <= MEM_BAD ? m[i].type : MEM_RESERVED] += m[i].len;
	}
	for (uint32_t t = MEM_AVAILABLE; t <= MEM_BAD; t++) {
		if (!sum[t])
			continue;
		fmt_size(sz, sizeof(sz), sum[t]);
		kprintf("  total %-20s %11s\n", mem_type_name(t), sz);
	}
}
