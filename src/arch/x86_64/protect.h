/*
 * protect.h - the CPU's memory-protection features, each turned on where
 * CPUID says the CPU has it: NX, WP, SMEP, SMAP, UMIP, global pages, PKU,
 * PCID; and the PAT, so that write-combining exists.
 */
#ifndef STRATA_ARCH_PROTECT_H
#define STRATA_ARCH_PROTECT_H

#include <stdbool.h>

struct protect_state {
	bool nx, wp, smep, smap, umip, pge, pku, pcid, la57, pdpe1gb, pat;
};

/*
 * Turn on what the CPU has and print one line saying what is on:
 *   PROTECT nx=1 wp=1 smep=1 smap=1 umip=1 pge=1 pku=0 pcid=1 la57=0 pdpe1gb=1 pat=1
 * Call once, early, before paging_init() (which assumes CR4.PCIDE is set
 * exactly when CPUID has PCID) and while CR3 still holds PCID 0.
 */
void protect_init(void);
const struct protect_state *protect_state(void);
/* The same features on an application processor (CR3 must hold PCID 0); false if it lacks one. */
bool protect_init_ap(void);

/*
 * SMAP faults any supervisor access to a user page. The few places that
 * must touch user memory (copy-in, copy-out) bracket it with these,
 * which set and clear EFLAGS.AC; without SMAP they do nothing. They use
 * POPF rather than STAC/CLAC: the nested KVM this project is tested on
 * stops the guest with an internal error on STAC, and POPF sets the same
 * flag everywhere.
 */
extern bool protect_smap_on;
static inline void user_access_begin(void)
{
	if (protect_smap_on)
		__asm__ volatile("pushfq; orq $0x40000, (%%rsp); popfq" : : : "memory", "cc");
}
static inline void user_access_end(void)
{
	if (protect_smap_on)
		__asm__ volatile("pushfq; andq $~0x40000, (%%rsp); popfq" : : : "memory", "cc");
}

#endif
