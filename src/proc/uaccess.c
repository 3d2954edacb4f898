/*
 * uaccess.c - copies between the kernel and a process, which fail with
 * -EFAULT instead of faulting the kernel.
 *
 * Before a copy the range is checked against the user half, so a kernel
 * address never reaches the copy. During it, a page fault at a user
 * address goes to the VMM with the process's rights (pagefault.c); if the
 * VMM cannot resolve it, uaccess_fault() jumps back here, dropping the
 * fault's frame, and the copy returns -EFAULT. One CPU, and system calls
 * do not nest, so one jump buffer serves.
 */
#include "proc/uaccess.h"
#include "abi/syscall.h"
#include "arch/x86_64/protect.h"
#include "arch/x86_64/trap.h"
#include "lib/kstring.h"

static struct kjmp fixup;
static volatile bool active;

bool uaccess_active(void) { return active; }

void uaccess_fault(uint64_t addr)
{
	if (!active || addr >= VMM_USER_END)
		return;
	active = false;
	kjmp_jump(&fixup, 1);
}

/* Both directions: one of to/from is a checked user address. */
static int copy(void *to, const void *from, size_t len)
{
	if (kjmp_set(&fixup)) {
		user_access_end();
		return -EFAULT;
	}
	active = true;
	user_access_begin();
	memcpy(to, from, len);
	user_access_end();
	active = false;
	return 0;
}

int copy_from_user(void *dst, uint64_t usrc, size_t len)
{
	if (!user_range_ok(usrc, len))
		return -EFAULT;
	return len ? copy(dst, (const void *)usrc, len) : 0;
}

int copy_to_user(uint64_t udst, const void *src, size_t len)
{
	if (!user_range_ok(udst, len))
		return -EFAULT;
	return len ? copy((void *)udst, src, len) : 0;
}

/* A byte at a time up to the NUL: simple, and strings here are short (paths, argv). */
long copy_string_from_user(char *dst, uint64_t usrc, size_t max)
{
	for (size_t i = 0; i < max; i++) {
		int e = copy_from_user(&dst[i], usrc + i, 1);
		if (e)
			return e;
		if (!dst[i])
			return (long)i;
	}
	dst[max - 1] = '\0';
	return -ENAMETOOLONG;
}
