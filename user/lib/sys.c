/* sys.c - the system calls by name, over syscall6 (syscall.S). */
#include "strata.h"

void exit(int status)
{
	flush_line();
	syscall1(SYS_exit, status);
	__builtin_unreachable();
}

long write(int fd, const void *buf, size_t len) { return syscall3(SYS_write, fd, (long)buf, (long)len); }
long getpid(void) { return syscall0(SYS_getpid); }
long yield(void) { return syscall0(SYS_yield); }
long spawn(const char *path, char *const argv[]) { return syscall2(SYS_spawn, (long)path, (long)argv); }
long wait(long pid, int *status) { return syscall2(SYS_wait, pid, (long)status); }
long munmap(void *addr, size_t len) { return syscall2(SYS_munmap, (long)addr, (long)len); }
long mprotect(void *addr, size_t len, int prot) { return syscall3(SYS_mprotect, (long)addr, (long)len, prot); }
void *brk(void *addr) { return (void *)syscall1(SYS_brk, (long)addr); }
long meminfo(struct strata_meminfo *out) { return syscall1(SYS_meminfo, (long)out); }
long fork(void) { return syscall0(SYS_fork); }
long open(const char *path, int flags) { return syscall2(SYS_open, (long)path, flags); }
long close(int fd) { return syscall1(SYS_close, fd); }
long read(int fd, void *buf, size_t len) { return syscall3(SYS_read, fd, (long)buf, (long)len); }
long lseek(int fd, long off, int whence) { return syscall3(SYS_lseek, fd, off, whence); }
long ftruncate(int fd, long len) { return syscall2(SYS_ftruncate, fd, len); }
long unlink(const char *path) { return syscall1(SYS_unlink, (long)path); }
long msync(void *addr, size_t len, int flags) { return syscall3(SYS_msync, (long)addr, (long)len, flags); }
long exec(const char *path, char *const argv[]) { return syscall2(SYS_exec, (long)path, (long)argv); }

/* Named shared memory: a file under /shm, as POSIX's shm_open names one. */
static int shm_path(char *out, size_t size, const char *name)
{
	if (!name || name[0] != '/' || !name[1])
		return -EINVAL;
	return snprintf(out, size, "/shm%s", name) < (int)size ? 0 : -ENAMETOOLONG;
}

long shm_open(const char *name, int flags)
{
	char path[128];
	int e = shm_path(path, sizeof(path), name);
	return e ? e : open(path, flags);
}

long shm_unlink(const char *name)
{
	char path[128];
	int e = shm_path(path, sizeof(path), name);
	return e ? e : unlink(path);
}

void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off)
{
	return (void *)syscall6(SYS_mmap, (long)addr, (long)len, prot, flags, fd, off);
}

long spawn_wait(const char *path, char *const argv[], int *status)
{
	long pid = spawn(path, argv);

	*status = -1;
	if (is_err(pid))
		return pid;
	long r = wait(pid, status);
	return r == pid ? pid : (r < 0 ? r : -1);
}

__attribute__((noinline)) void stack_touch(size_t kib)
{
	volatile char *sp = __builtin_alloca(kib * 1024);

	/* From the top down, as the stack grows: no page is skipped. */
	for (size_t off = kib * 1024; off >= PAGE_SIZE; off -= PAGE_SIZE)
		sp[off - PAGE_SIZE] = 0;
}

long ps(void) { return syscall0(SYS_ps); }

int errno;

void abort(void)
{
	char line[48];
	int n = snprintf(line, sizeof(line), "abort: pid %ld\n", getpid());

	flush_line();           /* what the program printed comes first */
	write(2, line, (size_t)n);
	exit(134);
}
