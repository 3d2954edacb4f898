/*
 * syscall_msr.c - the MSRs behind `syscall` and `sysret` (Intel SDM vol. 3,
 * 5.8.8), and CR0.EM.
 *
 * STAR[47:32] is the kernel's CS (SS is CS + 8); sysret loads CS from
 * STAR[63:48] + 16 and SS from STAR[63:48] + 8, both with RPL 3, so with
 * 0x10 there the user's SS is 0x1b and CS 0x23: gdt.c's order (user data
 * before user code) is the one sysret needs.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/io.h"

#define MSR_EFER  0xc0000080
#define MSR_STAR  0xc0000081
#define MSR_LSTAR 0xc0000082
#define MSR_FMASK 0xc0000084
#define EFER_SCE  (1UL << 0)
#define CR0_MP    (1UL << 1)
#define CR0_EM    (1UL << 2)

/* TF, IF, DF, AC, NT: a system call starts with none of them set. */
#define FMASK_BITS ((1UL << 8) | (1UL << 9) | (1UL << 10) | (1UL << 18) | (1UL << 14))

extern char syscall_entry[];

void syscall_init(void)
{
	wrmsr(MSR_EFER, rdmsr(MSR_EFER) | EFER_SCE);
	wrmsr(MSR_STAR, (0x10UL << 48) | (0x08UL << 32));
	wrmsr(MSR_LSTAR, (uint64_t)syscall_entry);
	wrmsr(MSR_FMASK, FMASK_BITS);
	write_cr0((read_cr0() & ~CR0_MP) | CR0_EM);
}
