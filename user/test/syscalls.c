/*
 * syscalls.c - every system call once for success and once for each
 * error src/abi/syscall.h documents; the registers a system call keeps;
 * the registers, argv and auxv a program starts with.
 */
#include "ktap.h"

#define KPTR ((void *)0xffff800000000000UL)
#define UNMAPPED_LOW ((void *)STRATA_USER_BASE)  /* the lowest user page: nothing is linked there */

static int main_argc;
static char **main_argv;

static void *map(size_t len, int prot)
{
	return mmap(NULL, len, prot, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
}

static void t_getpid(void)
{
	long a = getpid(), b = getpid();

	T_EXPECT(a > 0);
	T_EQ(a, b);
}

static void t_yield(void)
{
	T_EQ(yield(), 0);
	T_EQ(yield(), 0);
}

static void t_write(void)
{
	static const char line[] = "# write to fd 1\n", line2[] = "# write to fd 2\n";

	flush_line();
	T_EQ(write(1, line, sizeof(line) - 1), sizeof(line) - 1);
	T_EQ(write(2, line2, sizeof(line2) - 1), sizeof(line2) - 1);
	T_EQ(write(1, line, 0), 0);
}

static void t_write_ebadf(void)
{
	T_EQ(write(3, "x", 1), -EBADF);
	T_EQ(write(0, "x", 1), -EBADF);
	T_EQ(write(-1, "x", 1), -EBADF);
}

static void t_write_efault(void)
{
	T_EQ(write(1, KPTR, 8), -EFAULT);
	T_EQ(write(1, (void *)0xffffffff80100000UL, 8), -EFAULT);
	T_EQ(write(1, UNMAPPED_LOW, 8), -EFAULT);
	T_EQ(write(1, NULL, 8), -EFAULT);
	char *p = map(PAGE_SIZE, PROT_READ | PROT_WRITE);
	T_EXPECT(!is_err((long)p));
	p[0] = '#';
	T_EQ(munmap(p, PAGE_SIZE), 0);
	T_EQ(write(1, p, 1), -EFAULT);
	/* A range starting in user memory and running into the kernel half. */
	T_EQ(write(1, (void *)(STRATA_USER_END - 8), 16), -EFAULT);
}

static void t_enosys(void)
{
	T_EQ(syscall0(200), -ENOSYS);
	T_EQ(syscall0(-1), -ENOSYS);
	T_EQ(syscall0(SYS_COUNT), -ENOSYS);
	T_EQ(syscall0(0x100000000L + SYS_getpid), -ENOSYS);
}

static void t_meminfo(void)
{
	struct strata_meminfo mi;

	memset(&mi, 0xff, sizeof(mi));
	T_EQ(meminfo(&mi), 0);
	T_EXPECT(mi.limit_kib > 0 && mi.limit_kib != ~0UL);
	T_EXPECT(mi.free_kib > 0);
	T_EXPECT(mi.total_kib >= mi.free_kib);
	T_EXPECT(mi.processes >= 1 && mi.processes != ~0UL);
	T_EXPECT(mi.resident_kib > 0 && mi.resident_kib % 4 == 0);
	T_EXPECT(mi.peak_kib >= mi.resident_kib);
	T_EXPECT(mi.committed_kib >= mi.resident_kib && mi.committed_kib <= mi.limit_kib);
	T_EQ(mi.brk, (unsigned long)brk(0));
}

static void t_meminfo_efault(void)
{
	T_EQ(meminfo(NULL), -EFAULT);
	T_EQ(meminfo(KPTR), -EFAULT);
	T_EQ(meminfo(UNMAPPED_LOW), -EFAULT);
	T_EQ(meminfo((void *)(STRATA_USER_END - 8)), -EFAULT);
	/* The record's last bytes fall on an unmapped page. */
	char *p = map(2 * PAGE_SIZE, PROT_READ | PROT_WRITE);
	T_EXPECT(!is_err((long)p));
	T_EQ(munmap(p + PAGE_SIZE, PAGE_SIZE), 0);
	T_EQ(meminfo((void *)(p + PAGE_SIZE - 8)), -EFAULT);
	/* Read-only memory is no place to write to. */
	T_EQ(meminfo((void *)"a string in .rodata, longer than the record ......"), -EFAULT);
	T_EQ(meminfo((void *)_start), -EFAULT);
	munmap(p, PAGE_SIZE);
}

static void t_spawn_enoent(void)
{
	char *argv[] = { "/bin/no_such_program", NULL };

	T_EQ(spawn(argv[0], argv), -ENOENT);
	char *argv2[] = { "", NULL };
	T_EQ(spawn("", argv2), -ENOENT);
	char *argv3[] = { "/bin", NULL };
	T_EQ(spawn("/bin", argv3), -ENOENT);
}

static void t_spawn_efault(void)
{
	char *argv[] = { "/bin/exitcode", "0", NULL };
	char *bad_elem[] = { "/bin/exitcode", KPTR, NULL };

	T_EQ(spawn(KPTR, argv), -EFAULT);
	T_EQ(spawn(UNMAPPED_LOW, argv), -EFAULT);
	T_EQ(spawn("/bin/exitcode", KPTR), -EFAULT);
	T_EQ(spawn("/bin/exitcode", UNMAPPED_LOW), -EFAULT);
	T_EQ(spawn("/bin/exitcode", bad_elem), -EFAULT);
}

static void t_spawn_enametoolong(void)
{
	static char path[200];
	char *argv[] = { "/bin/exitcode", "0", NULL };

	memset(path, 'a', sizeof(path));
	T_EQ(spawn(path, argv), -ENAMETOOLONG);
	path[150] = 0;
	T_EQ(spawn(path, argv), -ENAMETOOLONG);
}

/* Strings of total bytes (NULs included) over nargs strings, in buf. */
static void fill_args(char **argv, int nargs, char *buf, size_t total)
{
	size_t each = total / nargs, extra = total % nargs;

	for (int i = 0; i < nargs; i++) {
		size_t len = each + (i == 0 ? extra : 0);
		memset(buf, 'a' + i % 26, len - 1);
		buf[len - 1] = 0;
		argv[i] = buf;
		buf += len;
	}
	argv[nargs] = NULL;
}

static void t_spawn_e2big_bytes(void)
{
	static char buf[3 * STRATA_ARG_MAX];
	static char *argv[8];

	/* argv[0] "/bin/exitcode" (14 bytes), "7" (2), then strings making the total 4097. */
	argv[0] = "/bin/exitcode";
	argv[1] = "7";
	fill_args(argv + 2, 3, buf, STRATA_ARG_MAX + 1 - 16);
	T_EQ(spawn(argv[0], argv), -E2BIG);
	fill_args(argv + 2, 2, buf, 3 * STRATA_ARG_MAX);
	T_EQ(spawn(argv[0], argv), -E2BIG);
}

static void t_spawn_e2big_count(void)
{
	static char *argv[STRATA_ARGC_MAX + 2];

	argv[0] = "/bin/exitcode";
	for (int i = 1; i <= STRATA_ARGC_MAX; i++)
		argv[i] = "x";
	argv[STRATA_ARGC_MAX + 1] = NULL;       /* argc 65 */
	T_EQ(spawn(argv[0], argv), -E2BIG);
}

static void t_spawn_enoexec(void)
{
	static const char *const files[] = { "/data/not_elf.txt", "/data/bad_wx.elf", "/data/bad_kernel.elf" };

	for (int i = 0; i < ARRAY_SIZE(files); i++) {
		char *argv[] = { (char *)files[i], NULL };
		long r = spawn(files[i], argv);
		if (r != -ENOEXEC)
			ktap_fail("spawn %s: got %ld, want %d", files[i], r, -ENOEXEC);
		if (r > 0)
			wait(r, &(int){ 0 });
	}
}

static void t_wait_echild(void)
{
	int status = 0x5555;

	T_EQ(wait(-1, &status), -ECHILD);
	T_EQ(wait(getpid(), &status), -ECHILD);
	T_EQ(wait(100000, &status), -ECHILD);
	T_EQ(status, 0x5555);
}

static void t_spawn_wait_exit(void)
{
	char *argv[] = { "/bin/exitcode", "42", NULL };
	int status = -1;
	long pid = spawn(argv[0], argv);

	T_EXPECT(pid > 0);
	T_EXPECT(pid != getpid());
	T_EQ(wait(pid, &status), pid);
	T_EQ(STRATA_EXIT_CODE(status), 42);
	T_EQ(STRATA_KILL_REASON(status), 0);
	T_EQ(status, 42);
	/* Reaped: no longer a child. */
	T_EQ(wait(pid, &status), -ECHILD);
}

static void t_exit_low_byte(void)
{
	char *argv[] = { "/bin/exitcode", "0x1234", NULL };
	int status = -1;

	T_EXPECT(spawn_wait(argv[0], argv, &status) > 0);
	T_EQ(status, 0x34);
}

static unsigned long fnv1a(unsigned long h, const char *s)
{
	do {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3UL;
	} while (*s++);
	return h;
}

/* /bin/args with argv[2..] = args; returns its exit status (0: delivered exactly). */
static int run_args(char **args, int n)
{
	static char *argv[STRATA_ARGC_MAX + 1];
	static char spec[64];
	unsigned long h = 0xcbf29ce484222325UL;

	for (int i = 0; i < n; i++)
		h = fnv1a(h, args[i]);
	snprintf(spec, sizeof(spec), "%d:0x%lx", n + 2, h);
	argv[0] = "/bin/args";
	argv[1] = spec;
	for (int i = 0; i < n; i++)
		argv[i + 2] = args[i];
	argv[n + 2] = NULL;
	int status = -1;
	long pid = spawn_wait(argv[0], argv, &status);
	return pid > 0 ? status : (int)pid;
}

static void t_argv_delivered(void)
{
	char *args[] = { "hello", "", "with space", "x", "\x01\x7f\xff", "last" };

	T_EQ(run_args(args, ARRAY_SIZE(args)), 0);
	T_EQ(run_args(args, 0), 0);
	/* The check can fail: a wrong hash is seen by /bin/args. */
	char *spec_bad[] = { "/bin/args", "3:0x1", "hello", NULL };
	int status = -1;
	T_EXPECT(spawn_wait(spec_bad[0], spec_bad, &status) > 0);
	T_EQ(status, 4);
}

static void t_argv_limits_exact(void)
{
	static char buf[STRATA_ARG_MAX];
	static char *args[STRATA_ARGC_MAX];

	/* argc exactly STRATA_ARGC_MAX. */
	for (int i = 0; i < STRATA_ARGC_MAX - 2; i++)
		args[i] = "y";
	T_EQ(run_args(args, STRATA_ARGC_MAX - 2), 0);

	/*
	 * Exactly STRATA_ARG_MAX bytes of strings: "/bin/args" (10), the spec
	 * "3:0x<hash>" and one long argument. The spec's length depends on the
	 * hash, which depends on the argument's: settle it in a few rounds.
	 */
	int speclen = 20;
	for (int round = 0; round < 8; round++) {
		fill_args(args, 1, buf, STRATA_ARG_MAX - 10 - (speclen + 1));
		char spec[32];
		int l = snprintf(spec, sizeof(spec), "3:0x%lx", fnv1a(0xcbf29ce484222325UL, args[0]));
		if (l == speclen)
			break;
		speclen = l;
	}
	T_EQ(10 + speclen + 1 + (long)strlen(args[0]) + 1, STRATA_ARG_MAX);
	T_EQ(run_args(args, 1), 0);
}

/* Set by regs_probe: every register after a getpid system call. */
unsigned long regs_after[17];     /* rax..r15, then RSP before and after */
void regs_probe(void);
extern char regs_probe_ret[];

__asm__(
	".text\n"
	".globl regs_probe, regs_probe_ret\n"
	"regs_probe:\n"
	"	push %rbx\n push %rbp\n push %r12\n push %r13\n push %r14\n push %r15\n"
	"	mov %rsp, regs_after+15*8(%rip)\n"
	"	movabs $0x1111111111111111, %rbx\n"
	"	movabs $0x3333333333333333, %rdx\n"
	"	movabs $0x4444444444444444, %rsi\n"
	"	movabs $0x5555555555555555, %rdi\n"
	"	movabs $0x6666666666666666, %rbp\n"
	"	movabs $0x7777777777777777, %r8\n"
	"	movabs $0x8888888888888888, %r9\n"
	"	movabs $0x9999999999999999, %r10\n"
	"	movabs $0xbbbbbbbbbbbbbbbb, %r12\n"
	"	movabs $0xcccccccccccccccc, %r13\n"
	"	movabs $0xdddddddddddddddd, %r14\n"
	"	movabs $0xeeeeeeeeeeeeeeee, %r15\n"
	"	mov $2, %eax\n"                         /* SYS_getpid */
	"	syscall\n"
	"regs_probe_ret:\n"
	"	mov %rax, regs_after+0*8(%rip)\n"
	"	mov %rbx, regs_after+1*8(%rip)\n"
	"	mov %rcx, regs_after+2*8(%rip)\n"
	"	mov %rdx, regs_after+3*8(%rip)\n"
	"	mov %rsi, regs_after+4*8(%rip)\n"
	"	mov %rdi, regs_after+5*8(%rip)\n"
	"	mov %rbp, regs_after+6*8(%rip)\n"
	"	mov %r8, regs_after+7*8(%rip)\n"
	"	mov %r9, regs_after+8*8(%rip)\n"
	"	mov %r10, regs_after+9*8(%rip)\n"
	"	mov %r11, regs_after+10*8(%rip)\n"
	"	mov %r12, regs_after+11*8(%rip)\n"
	"	mov %r13, regs_after+12*8(%rip)\n"
	"	mov %r14, regs_after+13*8(%rip)\n"
	"	mov %r15, regs_after+14*8(%rip)\n"
	"	mov %rsp, regs_after+16*8(%rip)\n"
	"	pop %r15\n pop %r14\n pop %r13\n pop %r12\n pop %rbp\n pop %rbx\n"
	"	ret\n");

static void t_syscall_keeps_registers(void)
{
	static const unsigned long want[15] = {
		0, 0x1111111111111111, 0, 0x3333333333333333, 0x4444444444444444,
		0x5555555555555555, 0x6666666666666666, 0x7777777777777777,
		0x8888888888888888, 0x9999999999999999, 0, 0xbbbbbbbbbbbbbbbb,
		0xcccccccccccccccc, 0xdddddddddddddddd, 0xeeeeeeeeeeeeeeee,
	};
	static const char *const names[15] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10",
		"r11", "r12", "r13", "r14", "r15",
	};

	regs_probe();
	T_EQ(regs_after[0], getpid());
	T_EQ(regs_after[2], (unsigned long)regs_probe_ret);
	T_EXPECT(regs_after[10] & 0x200);               /* RFLAGS.IF */
	T_EQ(regs_after[16], regs_after[15]);           /* RSP unchanged */
	for (int i = 0; i < 15; i++)
		if (i != 0 && i != 2 && i != 10 && regs_after[i] != want[i])
			ktap_fail("%s: got 0x%lx, want 0x%lx", names[i], regs_after[i], want[i]);
}

static void t_entry_registers(void)
{
	static const char *const names[15] = {
		"rax", "rbx", "rcx", "rdx", "rsi", "rdi", "rbp", "r8", "r9", "r10",
		"r11", "r12", "r13", "r14", "r15",
	};

	for (int i = 0; i < 15; i++)
		if (__entry_regs[i] != 0)
			ktap_fail("%s was 0x%lx at _start, want 0", names[i], __entry_regs[i]);
}

static void t_entry_stack(void)
{
	T_EQ(main_argc, 1);
	T_EXPECT(main_argv[0] != NULL);
	T_EQ(main_argv[1], 0);
	T_EXPECT(main_argv[0] && strcmp(main_argv[0], "/test/syscalls") == 0);
	T_EQ(environ, main_argv + main_argc + 1);
	T_EXPECT((unsigned long)main_argv < STRATA_STACK_TOP);
	T_EXPECT((unsigned long)main_argv > STRATA_STACK_TOP - STRATA_STACK_MAX);
}

static void t_auxv(void)
{
	unsigned long seen = 0;

	for (unsigned long *a = __auxv; a[0] != AT_NULL; a += 2) {
		if (a[0] < 64)
			seen |= 1UL << a[0];
		if (a[0] == AT_PAGESZ)
			T_EQ(a[1], PAGE_SIZE);
		if (a[0] == AT_ENTRY)
			T_EQ(a[1], (unsigned long)_start);
		if (a[0] == AT_PHNUM)
			T_EQ(a[1], 3);          /* user/user.ld's three PT_LOADs */
	}
	T_EXPECT(seen & (1UL << AT_PAGESZ));
	T_EXPECT(seen & (1UL << AT_ENTRY));
	T_EXPECT(seen & (1UL << AT_PHNUM));
	T_EXPECT(seen & (1UL << AT_PHDR));
}

static const struct ktap_case cases[] = {
	{ "entry_registers_zero", t_entry_registers },
	{ "entry_argv_envp", t_entry_stack },
	{ "entry_auxv", t_auxv },
	{ "getpid", t_getpid },
	{ "yield", t_yield },
	{ "write", t_write },
	{ "write_ebadf", t_write_ebadf },
	{ "write_efault", t_write_efault },
	{ "enosys", t_enosys },
	{ "meminfo", t_meminfo },
	{ "meminfo_efault", t_meminfo_efault },
	{ "spawn_enoent", t_spawn_enoent },
	{ "spawn_efault", t_spawn_efault },
	{ "spawn_enametoolong", t_spawn_enametoolong },
	{ "spawn_e2big_bytes", t_spawn_e2big_bytes },
	{ "spawn_e2big_count", t_spawn_e2big_count },
	{ "spawn_enoexec", t_spawn_enoexec },
	{ "wait_echild", t_wait_echild },
	{ "spawn_wait_exit_42", t_spawn_wait_exit },
	{ "exit_keeps_low_byte", t_exit_low_byte },
	{ "argv_delivered", t_argv_delivered },
	{ "argv_at_limits", t_argv_limits_exact },
	{ "syscall_keeps_registers", t_syscall_keeps_registers },
};

int main(int argc, char **argv)
{
	main_argc = argc;
	main_argv = argv;
	return ktap_run(cases, ARRAY_SIZE(cases));
}
