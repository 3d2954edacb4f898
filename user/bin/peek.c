/*
 * peek.c - /bin/peek read ADDR | map ADDR: another process's view of a
 * virtual address. "read" loads from ADDR (the kernel should kill it:
 * nothing is mapped there in this process; exits 99 if it survives).
 * "map" maps ADDR itself, expects zeroes (not the parent's data), writes
 * its own value and reads it back: exits 0 if all held, else 1-4.
 */
#include "strata.h"

int main(int argc, char **argv)
{
	int ok;

	if (argc != 3)
		return 10;
	unsigned long a = strtoul_simple(argv[2], &ok);
	if (!ok)
		return 11;
	if (strcmp(argv[1], "read") == 0) {
		(void)*(volatile unsigned long *)a;
		return 99;
	}
	if (strcmp(argv[1], "map") != 0)
		return 12;
	volatile unsigned long *p = mmap((void *)a, PAGE_SIZE, PROT_READ | PROT_WRITE,
					 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	if ((unsigned long)p != a)
		return 1;
	for (unsigned long i = 0; i < PAGE_SIZE / 8; i++)
		if (p[i] != 0)
			return 2;
	unsigned long mine = 0xc41d000000000000UL | (unsigned long)getpid();
	p[0] = mine;
	yield();
	if (p[0] != mine)
		return 3;
	return munmap((void *)p, PAGE_SIZE) == 0 ? 0 : 4;
}
