/*
 * uaccess.h - the kernel's only ways to touch a process's memory.
 *
 * A pointer from a system call is the process's word, not a fact: its whole
 * range must lie in the user half, and the pages may be missing, guarded or
 * read-only. copy_from_user and copy_to_user check the range, open SMAP
 * (user_access_begin) only for the copy, and if a page fault at a user
 * address cannot be resolved by the VMM they stop and return -EFAULT
 * instead of taking the kernel down. A fault inside them is judged with the
 * process's rights (as if the process had made the access): the kernel
 * does not read a PROT_NONE page or write a read-only one for it.
 */
#ifndef STRATA_PROC_UACCESS_H
#define STRATA_PROC_UACCESS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "mm/vmm/vmm.h"

/*
 * [va, va + len) lies in the user half [VMM_USER_BASE, VMM_USER_END),
 * without wrapping. A zero len is in range wherever va is, except that va
 * itself must still be in the half or at its end.
 */
static inline bool user_range_ok(uint64_t va, uint64_t len)
{
	if (va < VMM_USER_BASE || va > VMM_USER_END)
		return false;
	return len <= VMM_USER_END - va;
}

/* 0, or -EFAULT. */
int copy_from_user(void *dst, uint64_t usrc, size_t len);
int copy_to_user(uint64_t udst, const void *src, size_t len);

/*
 * Copy a NUL-terminated string of at most max - 1 characters into dst.
 * Returns its length, -EFAULT, or -ENAMETOOLONG if no NUL came within max
 * bytes (dst then holds max - 1 of them and a NUL).
 */
long copy_string_from_user(char *dst, uint64_t usrc, size_t max);

/*
 * Called by the #PF handler for a kernel-mode fault: if a copy is under
 * way and addr is a user address the VMM could not resolve, resume at the
 * copy's error path (does not return). Otherwise returns and the fault is
 * the kernel's own.
 */
void uaccess_fault(uint64_t addr);
bool uaccess_active(void);

#endif
