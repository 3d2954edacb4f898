/*
 * samevar.c - /bin/samevar: the run demo's two copies each map a page at
 * the same virtual address and write their own string there; yielding
 * between writes and reads lets the other run, yet each reads back its own.
 */
#include "strata.h"

#define SAMEVAR_VA (STRATA_MMAP_BASE + 0x200000000UL)

int main(void)
{
	long pid = getpid();
	char *p = mmap((void *)SAMEVAR_VA, PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);

	if (p != (char *)SAMEVAR_VA) {
		printf("samevar: pid %ld: mmap failed: %ld\n", pid, (long)p);
		return 1;
	}
	snprintf(p, PAGE_SIZE, "hello from pid %ld", pid);
	for (int i = 0; i < 4; i++)
		yield();
	printf("samevar: pid %ld sees '%s' at %p\n", pid, p, p);
	char want[32];
	snprintf(want, sizeof(want), "hello from pid %ld", pid);
	return strcmp(p, want) == 0 ? 0 : 2;
}
