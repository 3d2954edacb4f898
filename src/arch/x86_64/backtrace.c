/*
 * backtrace.c - follow the frame-pointer chain (the kernel is built with
 * -fno-omit-frame-pointer): [rbp] holds the caller's rbp, [rbp + 8] the
 * return address. The harness turns the addresses into names with
 * addr2line on build/strata.elf.
 */
#include <stdint.h>
#include "arch/x86_64/trap.h"
#include "lib/kprintf.h"

#define MAX_FRAMES 16

/* Read only what lies in the kernel half and is aligned: never fault here. */
static int plausible_frame(uint64_t rbp)
{
	return rbp >= 0xffff800000000000UL && rbp <= 0xffffffffffffffe0UL && !(rbp & 7);
}

void backtrace_from(uint64_t rbp)
{
	for (int i = 1; i < MAX_FRAMES && plausible_frame(rbp); i++) {
		const uint64_t *fp = (const uint64_t *)rbp;
		if (!fp[1])
			break;
		kprintf("  [%d] 0x%016lx\n", i, fp[1]);
		if (fp[0] <= rbp)       /* stacks grow down: callers are above */
			break;
		rbp = fp[0];
	}
}
