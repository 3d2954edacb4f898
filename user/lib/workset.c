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

unsigned long workset_churn(volatile unsigned long *p, unsigned long bytes, unsigned long who)
{
	unsigned long words = bytes / sizeof(long), bad = 0;
	for (unsigned long i = 0; i < words; i++) {
		p[i] = workset_word(who, i);
		if (i % (64 * 1024) == 0)
			yield();                /* the other processes run too: every set is live */
	}
	for (unsigned long i = 0; i < words; i++)
		bad += p[i] != workset_word(who, i);
	return bad;
}
