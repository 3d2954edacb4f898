#include <string.h>
#include "fixture.h"
#include "lib/kprintf.h"
#include "mm/buddy/pmm_state.h"     /* ORDER_MAP_WORDS */

int fixture_boot(size_t ram, const struct mem_range *map, size_t n,
		 const struct mem_range *prot, size_t np)
{
	if (fake_ram_size() != ram)
		fake_ram_init(ram);
	capture_start();
	struct pmm_boot b = { map, n, prot, np, ram };
	return pmm_init(&b);
}

/*
 * 128 MiB: low RAM to 639 KiB, BIOS areas, RAM 1..48 MiB, an ACPI hole,
 * RAM 50..127.9 MiB. Kernel at 1 MiB, boot info and a module up high.
 */
const struct mem_range small_map[] = {
	{ 0x0, 0x9fc00, MEM_AVAILABLE },
	{ 0x9fc00, 0x400, MEM_RESERVED },
	{ 0xf0000, 0x10000, MEM_RESERVED },
	{ 0x100000, 0x2f00000, MEM_AVAILABLE },
	{ 0x3000000, 0x200000, MEM_ACPI_RECLAIMABLE },
	{ 0x3200000, 0x4df0000, MEM_AVAILABLE },
	{ 0x7ff0000, 0x10000, MEM_RESERVED },
};
const size_t small_map_len = sizeof(small_map) / sizeof(small_map[0]);
const struct mem_range small_prot[] = {
	{ 0x100000, 0x212345, PMM_PROTECT_KERNEL },
	{ 0x5000123, 0x2000, PMM_PROTECT_BOOTINFO },
	{ 0x6000000, 0x300005, PMM_PROTECT_MODULE },
};
const size_t small_prot_len = sizeof(small_prot) / sizeof(small_prot[0]);

int fixture_small(void)
{
	return fixture_boot(128 * MiB, small_map, small_map_len, small_prot, small_prot_len);
}

static bool overlaps(uint64_t a, uint64_t alen, uint64_t b, uint64_t blen)
{
	uint64_t ae = a + alen < a ? UINT64_MAX : a + alen;
	uint64_t be = b + blen < b ? UINT64_MAX : b + blen;
	return a < be && b < ae;
}

bool page_allowed(uint64_t pa, const struct mem_range *map, size_t n,
		  const struct mem_range *prot, size_t np)
{
	bool ram = false;
	if (pa < MiB)
		return false;
	for (size_t i = 0; i < np; i++)
		if (prot[i].len && overlaps(pa, 4096, prot[i].base, prot[i].len))
			return false;
	for (size_t i = 0; i < n; i++) {
		if (!map[i].len || !overlaps(pa, 4096, map[i].base, map[i].len))
			continue;
		if (map[i].type != MEM_AVAILABLE)
			return false;
		ram = true;
	}
	return ram;   /* partial coverage by several entries is not crafted in these maps */
}

/*
 * The console sink: keep what the PMM says so tests can look for messages;
 * echo it as TAP comments when capture_echo is set.
 */
static char captured[1 << 16];
static size_t captured_len;
bool capture_echo;

static void capture_putc(char c)
{
	static bool line_start = true;
	if (capture_echo) {
		if (line_start)
			fputs("# ", stdout);
		putchar(c);
		line_start = c == '\n';
	}
	if (captured_len + 1 < sizeof(captured))
		captured[captured_len++] = c, captured[captured_len] = 0;
}

void capture_start(void)
{
	fflush(stdout);
	captured_len = 0, captured[0] = 0;
	console_set_sink(capture_putc);
}

unsigned capture_count(const char *needle)
{
	unsigned n = 0;
	for (const char *p = captured; *needle && (p = strstr(p, needle)); p++)
		n++;
	captured_len = 0, captured[0] = 0;
	return n;
}

const char *capture_text(void)
{
	return captured;
}

bool same_free_shape(const struct pmm_stats *a, const struct pmm_stats *b)
{
	if (a->free_pages != b->free_pages || a->reserved_pages != b->reserved_pages)
		return false;
	for (int z = 0; z < NR_ZONES; z++)
		if (a->zone_free[z] != b->zone_free[z])
			return false;
	for (int o = 0; o <= PMM_MAX_ORDER; o++)
		if (a->free_blocks[o] != b->free_blocks[o])
			return false;
	return true;
}

/* 8-byte words one section [base, end) of frames needs: see fixture.h. */
static uint64_t section_words(uint64_t base, uint64_t end)
{
	uint64_t words = (4 * (end - base) + 7) / 8 + ORDER_MAP_WORDS;

	for (unsigned o = 0; o <= PMM_MAX_ORDER; o++) {
		uint64_t bits = ((end - 1) >> o) - (base >> o) + 1;
		do {
			bits = (bits + 63) / 64;        /* words of this level = bits of the next */
			words += bits;
		} while (bits > 1);
	}
	return words;
}

uint64_t meta_pages(const uint64_t (*ranges)[2], size_t n)
{
	static const uint64_t cut[] = { (16 * MiB) >> 12, (4 * GiB) >> 12 };
	uint64_t words = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t p = ranges[i][0], end = ranges[i][1];
		while (p < end) {
			uint64_t e = end;
			for (int c = 0; c < 2; c++)
				if (p < cut[c] && cut[c] < e)
					e = cut[c];
			words += section_words(p, e);
			p = e;
		}
	}
	return (words * 8 + 4095) / 4096;
}
