/*
 * heap.c - /bin/heap: the run demo's heap growing through brk and mmap,
 * touching each new page, with meminfo's resident size and fault count
 * after each step: every first touch is one fault. Then the same through
 * malloc, the user heap (user/lib/malloc/): its blocks come from 1 MiB
 * segments it maps, and sm_trim gives the emptied pages back.
 */
#include "strata.h"
#include "malloc/strata_malloc.h"

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

/* 256 blocks of 1 KiB: 256 KiB of one size class's pages, then all back. */
static int use_malloc(void)
{
	enum { N = 256 };
	char *p[N];

	for (int i = 0; i < N; i++) {
		if (!(p[i] = malloc(1024))) {
			printf("heap: malloc failed\n");
			return 1;
		}
		memset(p[i], i, 1024);
	}
	report("malloc 256 x 1 KiB");
	for (int i = 0; i < N; i++)
		free(p[i]);
	sm_trim();
	report("freed, sm_trim");
	return 0;
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
	return use_malloc();
}
