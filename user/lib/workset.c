/*
 * workset.c - working sets the swap tests fill and check: every word
 * distinct per process and per index, so a page read back from the wrong
 * slot, or another process's page, shows as a wrong word.
 */
#include "strata.h"

unsigned long workset_word(unsigned long who, unsigned long i)
{
	unsigned long x = (who << 40) ^ (i * 0x9e3779b97f4a7c15UL);
	return x ^ (x >> 29);
}

unsigned long workset_wrong(volatile unsigned long *p, unsigned long bytes, unsigned long who)
{
	unsigned long bad = 0;
	for (unsigned long i = 0; i < bytes / sizeof(long); i++)
		bad += p[i] != workset_word(who, i);
	return bad;
}

unsigned long workset_churn(volatile unsigned long *p, unsigned long bytes, unsigned long who)
{
	for (unsigned long i = 0; i < bytes / sizeof(long); i++) {
		p[i] = workset_word(who, i);
		if (i % (64 * 1024) == 0)
			yield();                /* the other processes run too: every set is live */
	}
	return workset_wrong(p, bytes, who);
}

volatile unsigned long *workset_map(unsigned long bytes, unsigned long who)
{
	volatile unsigned long *p = mmap(0, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err((long)p))
		return 0;
	for (unsigned long i = 0; i < bytes / sizeof(long); i++)
		p[i] = workset_word(who, i);
	return p;
}
