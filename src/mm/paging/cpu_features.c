/*
 * cpu_features.c - what the CPU offers, read once: the level count, NX,
 * 1 GiB pages, global pages, PCID and the physical address width; and
 * the definition of all of paging's state, struct paging_state pg (the
 * features, the lock, the kernel root, each CPU's root and PCID slots).
 */
#include "mm/paging/pte.h"
#include "lib/kstring.h"

struct paging_state pg = {
	.feat = { .levels = 4, .phys_bits = 36 },
	.lock = SPINLOCK_INIT("paging"),
};

#define CPUID1_ECX_PCID    (1u << 17)
#define CPUID1_EDX_PGE     (1u << 13)
#define CPUIDX1_EDX_NX     (1u << 20)
#define CPUIDX1_EDX_1GB    (1u << 26)

int paging_init(unsigned levels)
{
	uint32_t r[4];
	if (levels != 4 && levels != 5)
		return PG_E_UNSUPPORTED;
	pg.feat = (struct paging_features){ .levels = levels, .phys_bits = arch_phys_bits() };
	arch_cpuid(1, 0, r);
	pg.feat.pge = r[3] & CPUID1_EDX_PGE;
	pg.feat.pcid = r[2] & CPUID1_ECX_PCID;
	arch_cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001) {
		arch_cpuid(0x80000001, 0, r);
		pg.feat.nx = r[3] & CPUIDX1_EDX_NX;
		pg.feat.pdpe1gb = r[3] & CPUIDX1_EDX_1GB;
	}
	if (pg.feat.phys_bits < 32 || pg.feat.phys_bits > 52)
		pg.feat.phys_bits = 36;
	pg.kroot = 0;
	pg.kernel_gen = 0;
	memset(pg.cpu, 0, sizeof(pg.cpu));                     /* no CPU runs a root, no PCID is given */
	pg.lock = (struct spinlock)SPINLOCK_INIT("paging");     /* a host test may have panicked holding it */
	return 0;
}

const struct paging_features *paging_features(void) { return &pg.feat; }
