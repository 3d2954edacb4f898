/*
 * syscall.h - the system-call interface between Strata's kernel and its
 * programs: numbers, arguments, error values, flags and the records the
 * kernel writes back. The kernel (src/proc/) and user/ include this one
 * file, so the two sides cannot disagree. It uses no libc and no kernel
 * header: plain C types only.
 *
 * Calling convention (the same as Linux on x86_64): the number in RAX,
 * arguments in RDI, RSI, RDX, R10, R8, R9, then `syscall`. The result
 * comes back in RAX; RCX and R11 are the user's own RIP and RFLAGS (the
 * instruction uses them); every other register is as the program left it.
 * A result in [-4095, -1] is a negated errno value below; anything else
 * is success.
 */
#ifndef STRATA_ABI_SYSCALL_H
#define STRATA_ABI_SYSCALL_H

/* ---- numbers ------------------------------------------------------------ */

#define SYS_exit     0  /* exit(int status): never returns; the low 8 bits are kept */
#define SYS_write    1  /* write(int fd, const void *buf, size_t len): fd 1 or 2, the serial console; returns len */
#define SYS_getpid   2  /* getpid(void): this process's id (1 for /init) */
#define SYS_yield    3  /* yield(void): let the next runnable process run; returns 0 */
#define SYS_spawn    4  /* spawn(const char *path, char *const argv[]): a new process from the ramdisk; returns its pid */
#define SYS_wait     5  /* wait(long pid, int *status): pid -1 for any child; blocks; returns the pid reaped */
#define SYS_mmap     6  /* mmap(void *addr, size_t len, int prot, int flags, int fd, long off): returns the address */
#define SYS_munmap   7  /* munmap(void *addr, size_t len): pages not mapped are no error */
#define SYS_mprotect 8  /* mprotect(void *addr, size_t len, int prot): the whole range must be mapped */
#define SYS_brk      9  /* brk(void *addr): 0 asks for the current break; returns the new break */
#define SYS_meminfo 10  /* meminfo(struct strata_meminfo *out): returns 0 */
#define SYS_ps      11  /* ps(void): the kernel prints its process table on the console; returns 0 */
#define SYS_fork    12  /* fork(void): a copy of this process, its memory shared copy-on-write; the child's pid, 0 in the child */
#define SYS_open    13  /* open(const char *path, int flags): a descriptor (3 and up) for a file of the in-memory file system */
#define SYS_close   14  /* close(int fd) */
#define SYS_read    15  /* read(int fd, void *buf, size_t len): bytes read, 0 at the end */
#define SYS_lseek   16  /* lseek(int fd, long off, int whence): the new offset */
#define SYS_ftruncate 17 /* ftruncate(int fd, long len): the file becomes len bytes long */
#define SYS_unlink  18  /* unlink(const char *path): the name goes; the file when its last holder does */
#define SYS_msync   19  /* msync(void *addr, size_t len, int flags): the range must be mapped; nothing to write back */
#define SYS_exec    20  /* exec(const char *path, char *const argv[]): replace this program; returns only on error */
#define SYS_COUNT   21

/* ---- errors: Linux's values, returned negated ------------------------------ */

#define EPERM         1
#define ENOENT        2  /* spawn, exec, open, unlink: no such file */
#define ESRCH         3
#define EIO           5
#define E2BIG         7  /* spawn: argv longer than STRATA_ARG_MAX */
#define ENOEXEC       8  /* spawn: the file is not a valid Strata ELF (the console says why) */
#define EBADF         9  /* not an open descriptor (1 and 2 are the console), or not open for that */
#define ECHILD       10  /* wait: no such child */
#define EAGAIN       11  /* spawn, fork: the process table is full */
#define ENOMEM       12  /* out of frames, or past the process's memory limit */
#define EACCES       13
#define EFAULT       14  /* a pointer argument is not readable/writable user memory */
#define EBUSY        16  /* swap: an area is on already, or a slot still in use */
#define EEXIST       17  /* open: O_CREAT|O_EXCL of a file that exists */
#define ENODEV       19  /* no such device (vblk: no virtio-blk disk) */
#define EINVAL       22  /* a bad flag, length, alignment or address */
#define ENFILE       23  /* open: the file system holds FS_FILES_MAX files */
#define EMFILE       24  /* open: the process has no free descriptor */
#define EFBIG        27  /* write, ftruncate: past the largest file */
#define ENOSPC       28  /* swap: every slot is taken */
#define ESPIPE       29  /* lseek on the console */
#define ENAMETOOLONG 36  /* spawn: path longer than STRATA_PATH_MAX */
#define ENOSYS       38  /* no such system call */

/* ---- mmap and mprotect ---------------------------------------------------------- */

#define PROT_NONE  0x0
#define PROT_READ  0x1
#define PROT_WRITE 0x2
#define PROT_EXEC  0x4          /* PROT_WRITE | PROT_EXEC together: -EINVAL (W^X) */

#define MAP_SHARED    0x01      /* writes reach the file (or, anonymous, every process that shares it across fork) */
#define MAP_PRIVATE   0x02      /* writes copy the page: the file and other mappings never see them */
#define MAP_FIXED     0x10      /* exactly addr; whatever was mapped there is unmapped first */
#define MAP_ANONYMOUS 0x20      /* zeroed memory, no file: fd must be -1 and off 0 */
#define MAP_POPULATE  0x8000    /* private anonymous: take and map every frame now instead of on first touch */

#define MS_ASYNC      1         /* msync: there is no disk, so all three only check the range */
#define MS_INVALIDATE 2
#define MS_SYNC       4

/* ---- open and lseek (Linux's values) --------------------------------------------- */

#define O_RDONLY   0x000
#define O_WRONLY   0x001
#define O_RDWR     0x002
#define O_ACCMODE  0x003
#define O_CREAT    0x040        /* make the file if it does not exist */
#define O_EXCL     0x080        /* with O_CREAT: -EEXIST if it does */
#define O_TRUNC    0x200        /* writable: cut it to 0 bytes */
#define O_APPEND   0x400        /* every write goes to the end */

#define SEEK_SET 0
#define SEEK_CUR 1
#define SEEK_END 2

#define STRATA_OPEN_MAX 16      /* descriptors a process may hold, 0-2 (the console) included */

#define MAP_FAILED ((void *)-1)

/* ---- spawn and wait ------------------------------------------------------------- */

#define STRATA_PATH_MAX 100     /* a ustar name field */
#define STRATA_ARG_MAX  4096    /* argv strings, with their NULs, in bytes */
#define STRATA_ARGC_MAX 64

/*
 * What wait() stores in *status: the exit code in bits 0-7, and in bits
 * 8-15 the reason the kernel killed the process (0 if it called exit).
 */
#define STRATA_EXIT_CODE(s)   ((s) & 0xff)
#define STRATA_KILL_REASON(s) (((s) >> 8) & 0xff)

/*
 * Why the kernel killed a process: the reason= of its KILL line, and
 * STRATA_KILL_REASON of its status. X(name, number, text).
 */
#define STRATA_KILL_REASONS(X) \
	X(KILL_KERNEL_ADDRESS, 1, "kernel_address")   /* touched the kernel half */ \
	X(KILL_UNMAPPED,       2, "unmapped")         /* no region at that address */ \
	X(KILL_GUARD,          3, "guard")            /* a guard page (below the stack, ...) */ \
	X(KILL_WRITE_RO,       4, "write_ro")         /* wrote to a page without write permission */ \
	X(KILL_EXEC_NX,        5, "exec_nx")          /* executed a page without exec permission */ \
	X(KILL_NO_ACCESS,      6, "no_access")        /* touched a PROT_NONE page */ \
	X(KILL_OOM,            7, "oom")              /* a fault found no free frame */ \
	X(KILL_RESERVED_BIT,   8, "reserved_bit")     /* a page table has a reserved bit set */ \
	X(KILL_GP,             9, "general_protection") \
	X(KILL_INVALID_OP,    10, "invalid_opcode")   /* includes SSE/x87: Strata keeps no FPU state yet */ \
	X(KILL_DIVIDE,        11, "divide_error") \
	X(KILL_EXCEPTION,     12, "exception")        /* any other CPU exception */ \
	X(KILL_TIMEOUT,       13, "timeout")          /* a test program ran past its time */ \
	X(KILL_SIGBUS,        14, "sigbus")           /* a mapped file's page past the file's end */ \
	X(KILL_SWAP_IO,       15, "swap-io")          /* its page is in swap and the disk failed */ \
	X(KILL_ASKED,         16, "killed")           /* someone asked: the monitor's kill (mode=shell) */

#define STRATA_KILL_ENUM_(name, num, text) name = num,
enum strata_kill_reason { KILL_NONE = 0, STRATA_KILL_REASONS(STRATA_KILL_ENUM_) };
#undef STRATA_KILL_ENUM_

/* ---- a process's address space (src/proc/exec.c lays it out) --------------------- */

#define STRATA_USER_BASE 0x0000000000010000UL   /* below: never mapped, so NULL faults */
#define STRATA_USER_END  0x0000800000000000UL   /* the kernel half starts at 0xffff800000000000 */
#define STRATA_TEXT_BASE 0x0000000000400000UL   /* user/user.ld links programs here */
#define STRATA_STACK_TOP 0x00007ffffffff000UL   /* the stack grows down from here ... */
#define STRATA_STACK_MAX (1UL << 20)            /* ... on demand, this far; the page below is a guard */
#define STRATA_MMAP_BASE 0x0000100000000000UL   /* mmap without a usable hint takes the lowest gap from here */
/* The break starts at the page after the program's last segment and may grow up to STRATA_MMAP_BASE. */

/*
 * The auxiliary vector after envp's NULL: (type, value) pairs ending with
 * AT_NULL. AT_PHDR and AT_PHNUM are there when a segment loads the program
 * headers (user/user.ld makes the text segment do so).
 */
#define AT_NULL   0
#define AT_PHDR   3
#define AT_PHNUM  5
#define AT_PAGESZ 6
#define AT_ENTRY  9

/* ---- meminfo --------------------------------------------------------------------- */

struct strata_meminfo {
	/* this process */
	unsigned long resident_kib;     /* its pages mapped now */
	unsigned long peak_kib;         /* the most resident_kib has been */
	unsigned long faults;           /* page faults taken (resolved or not) */
	unsigned long limit_kib;        /* memory limit: mmap/brk past it give -ENOMEM */
	unsigned long committed_kib;    /* what counts against the limit (every region but guards) */
	unsigned long brk;              /* the current program break */
	/* the system */
	unsigned long free_kib;         /* free RAM: the buddy's and the per-CPU caches' frames */
	unsigned long total_kib;        /* RAM the buddy manages */
	unsigned long processes;        /* processes alive, zombies included */
	unsigned long tsc_khz;          /* the TSC's rate as the kernel calibrated it, for timing with rdtsc */
	/* copy-on-write (fork) */
	unsigned long shared_kib;       /* of resident_kib, copy-on-write pages held elsewhere too (another
	                                 * process, or the page cache for a MAP_PRIVATE file page): a write copies */
	unsigned long cow_copied;       /* copy-on-write faults that copied a page */
	unsigned long cow_reused;       /* ... that found the page no longer shared: no copy */
	/* swap (docs/swap.md): the machine's area, and this process's pages in it */
	unsigned long swap_kib;         /* the area's slots; 0: no swap */
	unsigned long swap_used_kib;
	unsigned long swap_out, swap_in;        /* pages written out and read back, machine-wide, since boot */
	unsigned long swapped_kib;      /* of this process's memory, what is in swap now */
	unsigned long swap_errors;      /* swap reads and writes the disk failed, machine-wide, since boot */
	unsigned long swap_clean;       /* pages reclaimed with no write (clean, their slot kept), since boot */
	unsigned long swap_kept_kib;    /* of swap_used_kib, slots kept for clean pages back in RAM */
};

#endif
