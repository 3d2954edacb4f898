/*
 * exec.c - exec replaces a program: after fork, the child runs another
 * program from the file system with the arguments given (its exit code
 * shows which ran), keeps its pid, and gives back the old memory; a file
 * written at run time is a program like the ramdisk's; and an exec that
 * fails (no such file, a malformed ELF, a bad pointer) leaves the caller
 * running with its memory as it was.
 */
#include "ktap.h"

static volatile unsigned long canary = 0x5eed;
static char elf[64 * 1024];

static int reap(long pid)
{
	int status = -1;
	if (wait(pid, &status) != pid || STRATA_KILL_REASON(status))
		return -1;
	return STRATA_EXIT_CODE(status);
}

static void t_exec_replaces(void)
{
	long pid = fork();
	if (pid == 0) {
		char *argv[] = { "/bin/exitcode", "pid", NULL };
		exec("/bin/exitcode", argv);
		exit(99);                       /* exec returned: it failed */
	}
	T_EXPECT(pid > 0);
	T_EQ(reap(pid), pid & 0xff);            /* the new program, with the same pid */
}

static void t_exec_failures_leave_caller(void)
{
	char *argv[] = { "x", NULL };
	T_EQ(exec("/nope", argv), -ENOENT);
	T_EQ(exec("/data/not_elf.txt", argv), -ENOEXEC);
	T_EQ(exec("/data/bad_trunc.elf", argv), -ENOEXEC);
	T_EQ(exec("/data/bad_wx.elf", argv), -ENOEXEC);
	volatile unsigned long kernel = 0xffff800000000000UL, low = 0x10;  /* not constants GCC can see */
	T_EQ(exec((const char *)kernel, argv), -EFAULT);
	T_EQ(exec("/bin/exitcode", (char **)low), -EFAULT);
	T_EQ(canary, 0x5eed);
	canary++;
	T_EQ(canary, 0x5eee);                   /* memory still ours and writable */
}

/* A copy of /bin/exitcode written with write() runs as well as the ramdisk's. */
static void t_exec_written_file(void)
{
	long in = open("/bin/exitcode", O_RDONLY);
	T_EXPECT(in >= 3);
	if (in < 0)
		return;
	long n = read((int)in, elf, sizeof(elf));
	T_EXPECT(n > 0 && n < (long)sizeof(elf));
	close((int)in);
	long out = open("/tmp/exitcode-copy", O_WRONLY | O_CREAT | O_TRUNC);
	T_EQ(write((int)out, elf, (size_t)n), n);
	close((int)out);
	long pid = fork();
	if (pid == 0) {
		char *argv[] = { "exitcode-copy", "42", NULL };
		exec("/tmp/exitcode-copy", argv);
		exit(99);
	}
	T_EQ(reap(pid), 42);
	/* Cut short, the copy is a malformed ELF: refused, nothing run. */
	out = open("/tmp/exitcode-copy", O_WRONLY);
	T_EQ(ftruncate((int)out, n / 2), 0);
	close((int)out);
	char *argv[] = { "exitcode-copy", "1", NULL };
	T_EQ(exec("/tmp/exitcode-copy", argv), -ENOEXEC);
	T_EQ(unlink("/tmp/exitcode-copy"), 0);
}

static const struct ktap_case cases[] = {
	{ "exec_replaces_the_program", t_exec_replaces },
	{ "failed_exec_leaves_the_caller_running", t_exec_failures_leave_caller },
	{ "exec_of_a_file_written_at_run_time", t_exec_written_file },
};

int main(void)
{
	stack_touch(32);
	return ktap_run(cases, ARRAY_SIZE(cases));
}
