/*
 * crash.c - /bin/crash WHAT: does one thing the kernel must kill a
 * process for, chosen by WHAT. It prints nothing; if the bad access
 * returns, it exits 99 so the parent sees "not killed" (the exec cases
 * return 0 there when the CPU has no NX: a `ret` just returns). Exit 98:
 * WHAT unknown; 97: a set-up step failed.
 */
#include "strata.h"

#define KERNEL_HALF 0xffff800000000000UL
#define KERNEL_TEXT 0xffffffff80100000UL
#define UNMAPPED    0x0000600000000000UL        /* no region: far above the mmap base's gaps */

static const char rodata_string[] = "constant";

int main(int argc, char **argv);

static void load(unsigned long a) { (void)*(volatile unsigned long *)a; }
static void store(unsigned long a) { *(volatile unsigned long *)a = 0x5a5a5a5a; }

/* Each frame touches its own 1 KiB, and uses it after the call so the
 * call is no tail call: the stack runs down into the guard page. */
static volatile int depth_max = 1 << 30;      /* never reached: 1 TiB of stack */

__attribute__((noinline, noclone)) static int recurse(int depth)
{
	volatile char local[1024];

	if (depth == depth_max)
		return 0;
	local[0] = (char)depth;
	int r = recurse(depth + 1);
	return r + local[0];
}

static int exec_page(volatile unsigned char *code)
{
	code[0] = 0xc3;                         /* ret */
	((void (*)(void))(unsigned long)code)();
	return 0;
}

static int exec_stack(void)
{
	volatile unsigned char buf[16];

	return exec_page(buf);
}

static int exec_heap(void)
{
	void *p = mmap(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (is_err((long)p))
		return 97;
	return exec_page(p);
}

static int prot_none(void)
{
	void *p = mmap(NULL, PAGE_SIZE, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (is_err((long)p))
		return 97;
	load((unsigned long)p);
	return 99;
}

static int divide(void)
{
	unsigned long a = 1, d = 0;

	__asm__ volatile("xor %%edx, %%edx\n\tdiv %1" : "+a"(a) : "r"(d) : "rdx");
	return 99;
}

static int act(const char *what)
{
	if (!strcmp(what, "kernel"))
		load(KERNEL_HALF);
	else if (!strcmp(what, "ktext"))
		store(KERNEL_TEXT);
	else if (!strcmp(what, "unmapped"))
		load(UNMAPPED);
	else if (!strcmp(what, "null"))
		load(0);
	else if (!strcmp(what, "guard"))
		load(STRATA_STACK_TOP - STRATA_STACK_MAX - PAGE_SIZE);
	else if (!strcmp(what, "recurse"))
		(void)recurse(0);
	else if (!strcmp(what, "text"))
		store((unsigned long)main);
	else if (!strcmp(what, "rodata"))
		*(volatile char *)(unsigned long)rodata_string = 'X';
	else if (!strcmp(what, "exec_stack"))
		return exec_stack();
	else if (!strcmp(what, "exec_heap"))
		return exec_heap();
	else if (!strcmp(what, "prot_none"))
		return prot_none();
	else if (!strcmp(what, "ud2"))
		__asm__ volatile("ud2");
	else if (!strcmp(what, "divide"))
		return divide();
	else if (!strcmp(what, "cli"))
		__asm__ volatile("cli");
	else if (!strcmp(what, "hlt"))
		__asm__ volatile("hlt");
	else if (!strcmp(what, "cr3")) {
		unsigned long cr3;
		__asm__ volatile("mov %%cr3, %0" : "=r"(cr3));
	} else if (!strcmp(what, "sse"))
		__asm__ volatile(".byte 0x0f, 0x57, 0xc0");     /* xorps %xmm0, %xmm0 */
	else
		return 98;
	return 99;
}

int main(int argc, char **argv)
{
	if (argc != 2)
		return 98;
	return act(argv[1]);
}
