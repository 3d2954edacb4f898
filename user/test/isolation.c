/*
 * isolation.c - a process is killed for touching what is not its own,
 * with the reason wait() reports, while its parent goes on: /bin/crash
 * does one bad thing per run. Then two processes at one virtual address:
 * a child cannot see the parent's page there, and maps its own.
 */
#include "ktap.h"

#define PEEK_VA (STRATA_MMAP_BASE + 0x100000000UL)
#define PATTERN 0x0123456789abcdefUL

static int has_nx;

/* CPUID leaf 0x80000001, EDX bit 20: the CPU can mark pages no-execute. */
static int cpu_has_nx(void)
{
	unsigned int a, b, c, d;

	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000000), "c"(0));
	if (a < 0x80000001)
		return 0;
	__asm__ volatile("cpuid" : "=a"(a), "=b"(b), "=c"(c), "=d"(d) : "a"(0x80000001), "c"(0));
	return (d >> 20) & 1;
}

/* Run /bin/crash WHAT; expect it killed for why (or, if why is 0, exit code 0). */
static void expect_crash(const char *what, int why)
{
	char *argv[] = { "/bin/crash", (char *)what, NULL };
	int status = -1;
	long pid = spawn_wait(argv[0], argv, &status);

	if (pid <= 0) {
		ktap_fail("spawn/wait /bin/crash %s: %ld", what, pid);
		return;
	}
	int got = STRATA_KILL_REASON(status), code = STRATA_EXIT_CODE(status);
	/* Killed: the reason, and no exit code; not killed (why 0): exit 0. */
	if (got != why || code != 0 || (status >> 16))
		ktap_fail("/bin/crash %s: status 0x%x (reason %d, code %d), want reason %d (NX %s)",
			  what, status, got, code, why, has_nx ? "yes" : "no");
}

static void t_kernel_read(void) { expect_crash("kernel", KILL_KERNEL_ADDRESS); }
static void t_kernel_text_write(void) { expect_crash("ktext", KILL_KERNEL_ADDRESS); }
static void t_unmapped(void) { expect_crash("unmapped", KILL_UNMAPPED); }
static void t_null(void) { expect_crash("null", KILL_UNMAPPED); }
static void t_guard(void) { expect_crash("guard", KILL_GUARD); }
static void t_recursion(void) { expect_crash("recurse", KILL_GUARD); }
static void t_text_write(void) { expect_crash("text", KILL_WRITE_RO); }
static void t_rodata_write(void) { expect_crash("rodata", KILL_WRITE_RO); }
static void t_exec_stack(void) { expect_crash("exec_stack", has_nx ? KILL_EXEC_NX : 0); }
static void t_exec_heap(void) { expect_crash("exec_heap", has_nx ? KILL_EXEC_NX : 0); }
static void t_prot_none(void) { expect_crash("prot_none", KILL_NO_ACCESS); }
static void t_ud2(void) { expect_crash("ud2", KILL_INVALID_OP); }
static void t_divide(void) { expect_crash("divide", KILL_DIVIDE); }
static void t_cli(void) { expect_crash("cli", KILL_GP); }
static void t_hlt(void) { expect_crash("hlt", KILL_GP); }
static void t_cr3(void) { expect_crash("cr3", KILL_GP); }
static void t_sse(void) { expect_crash("sse", KILL_INVALID_OP); }

/* The test of the tests: a harmless run is not reported as a kill. */
static void t_unknown_action_exits(void)
{
	char *argv[] = { "/bin/crash", "nothing", NULL };
	int status = -1;

	T_EXPECT(spawn_wait(argv[0], argv, &status) > 0);
	T_EQ(status, 98);
}

static volatile unsigned long *parent_page;

static void t_other_va_unmapped(void)
{
	char addr[32];

	parent_page = mmap((void *)PEEK_VA, PAGE_SIZE, PROT_READ | PROT_WRITE,
			   MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
	T_EQ(parent_page, PEEK_VA);
	if ((unsigned long)parent_page != PEEK_VA)
		return;
	parent_page[0] = PATTERN;
	parent_page[PAGE_SIZE / 8 - 1] = ~PATTERN;
	snprintf(addr, sizeof(addr), "0x%lx", PEEK_VA);
	char *argv[] = { "/bin/peek", "read", addr, NULL };
	int status = -1;
	T_EXPECT(spawn_wait(argv[0], argv, &status) > 0);
	T_EQ(STRATA_KILL_REASON(status), KILL_UNMAPPED);
	T_EQ(parent_page[0], PATTERN);
}

static void t_same_va_own_data(void)
{
	char addr[32];

	if ((unsigned long)parent_page != PEEK_VA) {
		ktap_fail("the parent's page at 0x%lx is missing", PEEK_VA);
		return;
	}
	snprintf(addr, sizeof(addr), "0x%lx", PEEK_VA);
	char *argv[] = { "/bin/peek", "map", addr, NULL };
	/* Two children at once, both at the parent's address. */
	long a = spawn(argv[0], argv), b = spawn(argv[0], argv);
	int sa = -1, sb = -1;
	T_EXPECT(a > 0 && b > 0);
	T_EQ(wait(a, &sa), a);
	T_EQ(wait(b, &sb), b);
	T_EQ(sa, 0);
	T_EQ(sb, 0);
	T_EQ(parent_page[0], PATTERN);
	T_EQ(parent_page[PAGE_SIZE / 8 - 1], ~PATTERN);
	for (unsigned long i = 1; i < PAGE_SIZE / 8 - 1; i++)
		if (parent_page[i] != 0)
			ktap_fail("parent's page word %lu is 0x%lx", i, parent_page[i]);
	T_EQ(munmap((void *)parent_page, PAGE_SIZE), 0);
}

/* Killed processes give back everything: after a warm-up, no frame is lost. */
static void t_kills_free_memory(void)
{
	struct strata_meminfo m0, m1;

	expect_crash("recurse", KILL_GUARD);
	expect_crash("exec_heap", has_nx ? KILL_EXEC_NX : 0);
	meminfo(&m0);
	for (int i = 0; i < 5; i++) {
		expect_crash("recurse", KILL_GUARD);
		expect_crash("exec_heap", has_nx ? KILL_EXEC_NX : 0);
		expect_crash("kernel", KILL_KERNEL_ADDRESS);
	}
	meminfo(&m1);
	T_EQ(m1.free_kib, m0.free_kib);
	T_EQ(m1.processes, m0.processes);
}

static const struct ktap_case cases[] = {
	{ "kernel_address_read", t_kernel_read },
	{ "kernel_text_write", t_kernel_text_write },
	{ "unmapped_read", t_unmapped },
	{ "null_read", t_null },
	{ "stack_guard_page", t_guard },
	{ "stack_overflow_recursion", t_recursion },
	{ "write_own_text", t_text_write },
	{ "write_rodata", t_rodata_write },
	{ "exec_stack", t_exec_stack },
	{ "exec_heap", t_exec_heap },
	{ "prot_none_touch", t_prot_none },
	{ "ud2", t_ud2 },
	{ "divide_by_zero", t_divide },
	{ "cli", t_cli },
	{ "hlt", t_hlt },
	{ "read_cr3", t_cr3 },
	{ "sse_instruction", t_sse },
	{ "harmless_child_exits", t_unknown_action_exits },
	{ "other_process_va_unmapped", t_other_va_unmapped },
	{ "same_va_own_data", t_same_va_own_data },
	{ "kills_free_memory", t_kills_free_memory },
};

int main(void)
{
	has_nx = cpu_has_nx();
	return ktap_run(cases, ARRAY_SIZE(cases));
}
