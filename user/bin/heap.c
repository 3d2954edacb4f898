/*
 * heap.c - /bin/heap: the run demo's heap growing through brk and mmap,
 * touching each new page, with meminfo's resident size and fault count
 * after each step: every first touch is one fault.
 */
#include "strata.h"

static void report(const char *step)
{
	struct strata_meminfo mi;

	memset(&mi, 0, sizeof(mi));
	meminfo(&mi);
	printf("heap: %-22s resident %4lu KiB, faults %3lu, brk %p\n",
	       step, mi.resident_kib, mi.faults, (void *)mi.brk);
}

static void touch(char *p, size_t pages)
{
	for (size_t i = 0; i < pages; i++)
		p[i * PAGE_SIZE] = 1;
}

int main(void)
{
	report("start");
	char *b = brk(0);
	if (is_err((long)brk(b + 8 * PAGE_SIZE))) {
		printf("heap: brk failed\n");
		return 1;
	}
	report("brk +8 pages");
	touch(b, 8);
	report("touched 8 brk pages");
	char *m = mmap(NULL, 16 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err((long)m)) {
		printf("heap: mmap failed\n");
		return 1;
	}
	report("mmap 16 pages");
	touch(m, 16);
	report("touched 16 mmap pages");
	munmap(m, 16 * PAGE_SIZE);
	brk(b);
	report("freed both");
	return 0;
}
