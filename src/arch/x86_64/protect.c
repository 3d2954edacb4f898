/*
 * protect.c - turning on the CPU's protection features, each only where
 * CPUID reports it (setting a CR4 bit the CPU lacks raises #GP).
 */
#include "arch/x86_64/protect.h"
#include "arch/x86_64/io.h"
#include "mm/arch.h"
#include "mm/paging/paging.h"
#include "lib/kprintf.h"

#define MSR_EFER    0xc0000080
#define MSR_PAT     0x277
#define EFER_NXE    (1UL << 11)
#define CR0_WP      (1UL << 16)
#define CR4_PGE     (1UL << 7)
#define CR4_UMIP    (1UL << 11)
#define CR4_LA57    (1UL << 12)
#define CR4_PCIDE   (1UL << 17)
#define CR4_SMEP    (1UL << 20)
#define CR4_SMAP    (1UL << 21)
#define CR4_PKE     (1UL << 22)

static struct protect_state st;
bool protect_smap_on;

const struct protect_state *protect_state(void) { return &st; }

static void read_cpuid(uint32_t l1[4], uint32_t l7[4], uint32_t x1[4])
{
	uint32_t r[4];
	arch_cpuid(1, 0, l1);
	arch_cpuid(0, 0, r);
	if (r[0] >= 7)
		arch_cpuid(7, 0, l7);
	else
		l7[0] = l7[1] = l7[2] = l7[3] = 0;
	arch_cpuid(0x80000000, 0, r);
	if (r[0] >= 0x80000001)
		arch_cpuid(0x80000001, 0, x1);
	else
		x1[0] = x1[1] = x1[2] = x1[3] = 0;
}

/*
 * PA0..PA3 keep their power-on types, and nothing maps with the PAT bit
 * yet, so rewriting PA4 (WB -> WC) needs no cache flush; the TLB flush
 * drops any entry cached with the old attributes.
 */
static void program_pat(void)
{
	wrmsr(MSR_PAT, PG_PAT_MSR_VALUE);
	arch_flush_tlb_global();
	st.pat = rdmsr(MSR_PAT) == PG_PAT_MSR_VALUE;
}

void protect_init(void)
{
	uint32_t l1[4], l7[4], x1[4];
	read_cpuid(l1, l7, x1);
	uint64_t cr4 = read_cr4();

	if (x1[3] & (1u << 20)) {
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
		st.nx = true;
	}
	write_cr0(read_cr0() | CR0_WP);     /* the kernel too obeys read-only pages */
	st.wp = read_cr0() & CR0_WP;
	st.pge = l1[3] & (1u << 13);
	st.pcid = l1[2] & (1u << 17);
	st.smep = l7[1] & (1u << 7);
	st.smap = l7[1] & (1u << 20);
	st.umip = l7[2] & (1u << 2);
	st.pku = l7[2] & (1u << 3);
	st.la57 = cr4 & CR4_LA57;
	st.pdpe1gb = x1[3] & (1u << 26);
	cr4 |= (st.pge ? CR4_PGE : 0) | (st.pcid ? CR4_PCIDE : 0) | (st.smep ? CR4_SMEP : 0) |
	       (st.smap ? CR4_SMAP : 0) | (st.umip ? CR4_UMIP : 0) | (st.pku ? CR4_PKE : 0);
	write_cr4(cr4);
	if (st.pku)     /* every key allows everything until someone hands keys out */
		__asm__ volatile("wrpkru" : : "a"(0), "c"(0), "d"(0));
	protect_smap_on = st.smap;
	program_pat();
	kprintf("PROTECT nx=%d wp=%d smep=%d smap=%d umip=%d pge=%d pku=%d pcid=%d la57=%d pdpe1gb=%d pat=%d\n",
		st.nx, st.wp, st.smep, st.smap, st.umip, st.pge, st.pku, st.pcid, st.la57,
		st.pdpe1gb, st.pat);
}

/*
 * An application processor: the BSP's choice, bit for bit, so every CPU
 * enforces the same rules. An AP that lacks one of them is not brought
 * into service (returns false), since code would then behave differently
 * on it; QEMU gives every CPU the same model, so this is a check.
 */
bool protect_init_ap(void)
{
	uint32_t l1[4], l7[4], x1[4];
	read_cpuid(l1, l7, x1);
	bool same = (!st.nx || (x1[3] & (1u << 20))) && (!st.pge || (l1[3] & (1u << 13))) &&
		    (!st.pcid || (l1[2] & (1u << 17))) && (!st.smep || (l7[1] & (1u << 7))) &&
		    (!st.smap || (l7[1] & (1u << 20))) && (!st.umip || (l7[2] & (1u << 2))) &&
		    (!st.pku || (l7[2] & (1u << 3)));
	if (!same)
		return false;
	if (st.nx)
		wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_NXE);
	write_cr0(read_cr0() | CR0_WP);
	uint64_t cr4 = read_cr4() | (st.pge ? CR4_PGE : 0) | (st.pcid ? CR4_PCIDE : 0) |
		       (st.smep ? CR4_SMEP : 0) | (st.smap ? CR4_SMAP : 0) | (st.umip ? CR4_UMIP : 0) |
		       (st.pku ? CR4_PKE : 0);
	write_cr4(cr4);
	if (st.pku)
		__asm__ volatile("wrpkru" : : "a"(0), "c"(0), "d"(0));
	if (st.pat)
		wrmsr(MSR_PAT, PG_PAT_MSR_VALUE);
	arch_flush_tlb_global();
	return true;
}
