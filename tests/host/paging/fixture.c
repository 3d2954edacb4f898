#include <string.h>
#include "fixture.h"

const struct cpu_cfg cpu_full = { 4, true, true, true, false };
const struct cpu_cfg cpu_bare = { 4, false, false, false, false };
const struct cpu_cfg cpu_la57 = { 5, true, true, true, false };

void fixture_boot(size_t ram, const struct cpu_cfg *c)
{
	static struct mem_range map[1];
	if (fake_ram_size() != ram)
		fake_ram_init(ram);
	map[0] = (struct mem_range){ 1 * MiB, ram - 1 * MiB, MEM_AVAILABLE };
	struct pmm_boot b = { map, 1, NULL, 0, 0 };
	fake_set_phys_bits(46);
	if (pmm_init(&b))
		abort();
	fake_cpuid_reset();
	fake_cpuid_set(1, 0, 0, c->pcid ? 1u << 17 : 0, c->pge ? 1u << 13 : 0);
	fake_cpuid_set(0x80000000, 0x80000008, 0, 0, 0);
	fake_cpuid_set(0x80000001, 0, 0, 0, (c->nx ? 1u << 20 : 0) | (c->gb ? 1u << 26 : 0));
	fake_cpu = (struct fake_cpu){ 0 };
	fake_tlb_reset(c->levels, c->pcid);
	if (paging_init(c->levels))
		abort();
}

/* The bits, written out again here on purpose (Intel SDM vol. 3, 4.5). */
#define P (1ULL << 0)
#define W (1ULL << 1)
#define U (1ULL << 2)
#define PWT (1ULL << 3)
#define PCD (1ULL << 4)
#define PS (1ULL << 7)
#define G (1ULL << 8)
#define NX (1ULL << 63)
#define ADDR 0x000ffffffffff000ULL

static uint64_t *tbl(uint64_t pa) { return (uint64_t *)(hhdm_offset + pa); }

struct hw_xlate hw_walk(uint64_t root, uint64_t va)
{
	struct hw_xlate x = { .w = true, .u = true };
	uint64_t t = root;
	for (int l = paging_features()->levels - 1; l >= 0; l--) {
		uint64_t e = tbl(t)[(va >> (12 + 9 * l)) & 511];
		if (!(e & P))
			return x;
		x.w &= !!(e & W), x.u &= !!(e & U), x.nx |= !!(e & NX);
		if (l == 0 || (e & PS)) {
			if (l > 2)
				x.bad_bits = true;      /* no 512 GiB pages */
			x.size = 1ULL << (12 + 9 * l);
			uint64_t pat = l ? (e >> 12) & 1 : (e >> 7) & 1;
			uint64_t base = e & ADDR & ~(l ? 0x1000ULL : 0);
			if (base & (x.size - 1))
				x.bad_bits = true;      /* address bits below the page size */
			x.pa = base + (va & (x.size - 1));
			x.g = e & G;
			x.pat_index = pat << 2 | !!(e & PCD) << 1 | !!(e & PWT);
			x.ok = true;
			return x;
		}
		if (!(e & W) || !(e & U) || (e & NX) || (e & (PWT | PCD | G)))
			x.bad_bits = true;              /* a table entry must leave it to the leaf */
		t = e & ADDR;
	}
	return x;
}

uint64_t hw_leaf(uint64_t root, uint64_t va, unsigned *level)
{
	uint64_t t = root;
	for (int l = paging_features()->levels - 1; l >= 0; l--) {
		uint64_t e = tbl(t)[(va >> (12 + 9 * l)) & 511];
		if (!(e & P))
			return 0;
		if (l == 0 || (e & PS)) {
			*level = l;
			return e;
		}
		t = e & ADDR;
	}
	return 0;
}

uint64_t *hw_pte_ptr(uint64_t root, uint64_t va)
{
	uint64_t t = root;
	for (int l = paging_features()->levels - 1; l > 0; l--) {
		uint64_t e = tbl(t)[(va >> (12 + 9 * l)) & 511];
		if (!(e & P) || (e & PS))
			return 0;
		t = e & ADDR;
	}
	return &tbl(t)[(va >> 12) & 511];
}

uint64_t hw_pte(uint64_t root, uint64_t va)
{
	uint64_t *e = hw_pte_ptr(root, va);
	return e ? *e : 0;
}

unsigned expect_flags(unsigned f)
{
	const struct paging_features *pf = paging_features();
	f &= PG_READ | PG_WRITE | PG_EXEC | PG_USER | PG_GLOBAL | PG_CACHE_MASK;
	if (!pf->nx)
		f |= PG_EXEC;
	if (!pf->pge)
		f &= ~PG_GLOBAL;
	return f;
}
