/*
 * strata.h - what a Strata program has: the system calls as C functions,
 * printing through write(), and the few string functions GCC may call.
 * The numbers, flags and errors are the kernel's own (src/abi/syscall.h).
 */
#ifndef STRATA_USER_H
#define STRATA_USER_H

#include <stddef.h>
#include <stdint.h>
#include <stdarg.h>
#include "abi/syscall.h"

long syscall6(long n, long a, long b, long c, long d, long e, long f);

static inline long syscall0(long n) { return syscall6(n, 0, 0, 0, 0, 0, 0); }
static inline long syscall1(long n, long a) { return syscall6(n, a, 0, 0, 0, 0, 0); }
static inline long syscall2(long n, long a, long b) { return syscall6(n, a, b, 0, 0, 0, 0); }
static inline long syscall3(long n, long a, long b, long c) { return syscall6(n, a, b, c, 0, 0, 0); }

__attribute__((noreturn)) void exit(int status);
long write(int fd, const void *buf, size_t len);
long getpid(void);
long yield(void);
long spawn(const char *path, char *const argv[]);
long wait(long pid, int *status);
void *mmap(void *addr, size_t len, int prot, int flags, int fd, long off);
long munmap(void *addr, size_t len);
long mprotect(void *addr, size_t len, int prot);
void *brk(void *addr);
long meminfo(struct strata_meminfo *out);
long ps(void);                  /* the kernel prints its process table */
long fork(void);                /* the child's pid in the parent, 0 in the child */
long open(const char *path, int flags);  /* O_* of abi/syscall.h; a descriptor, 3 and up */
long close(int fd);
long read(int fd, void *buf, size_t len);
long lseek(int fd, long off, int whence);
long ftruncate(int fd, long len);
long unlink(const char *path);
long msync(void *addr, size_t len, int flags);
long exec(const char *path, char *const argv[]);        /* returns only on error */
long shm_open(const char *name, int flags);  /* "/name": the file /shm/name */
long shm_unlink(const char *name);

/* A raw result in [-4095, -1] is an error; mmap's and brk's too. */
static inline int is_err(long r) { return r < 0 && r >= -4095; }

int printf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap);
int snprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int puts(const char *s);

void *memcpy(void *d, const void *s, size_t n);
void *memmove(void *d, const void *s, size_t n);
void *memset(void *d, int c, size_t n);
int memcmp(const void *a, const void *b, size_t n);
size_t strlen(const char *s);
int strcmp(const char *a, const char *b);
int strncmp(const char *a, const char *b, size_t n);
unsigned long strtoul_simple(const char *s, int *ok);

/*
 * The heap: user/lib/malloc/ (docs/user_heap.md), by the C names
 * (user/lib/malloc_strata.c). Failures return NULL with errno ENOMEM
 * (or EINVAL for a bad alignment); posix_memalign returns the error.
 */
void *malloc(size_t n);
void free(void *p);
void *calloc(size_t n, size_t size);
void *realloc(void *p, size_t n);
void *reallocarray(void *p, size_t n, size_t size);
void *aligned_alloc(size_t align, size_t n);
int posix_memalign(void **out, size_t align, size_t n);
void *memalign(size_t align, size_t n);
void *valloc(size_t n);
void *pvalloc(size_t n);
size_t malloc_usable_size(void *p);

/* The last error a library call set (the heap's); system calls return theirs. */
extern int errno;

/* "abort: pid N" on standard error, then exit with 134 (128 + SIGABRT, as a shell shows it). */
__attribute__((noreturn)) void abort(void);

/* Write out a partial line printf holds (exit does it too). */
void flush_line(void);

/* Set by crt0.S: the registers the kernel entered with (rax rbx rcx rdx
 * rsi rdi rbp r8-r15), the environment and the auxiliary vector. */
extern unsigned long __entry_regs[15];
extern char **environ;
extern unsigned long *__auxv;
void _start(void);

#define PAGE_SIZE 4096UL

/* Benchmarks (bench.c): a TSC read that waits for earlier instructions, and one BENCH line. */
static inline unsigned long bench_rdtsc(void)
{
	unsigned lo, hi;
	__asm__ volatile("lfence; rdtsc" : "=a"(lo), "=d"(hi) :: "memory");
	return ((unsigned long)hi << 32) | lo;
}
void bench_set_khz(unsigned long tsc_khz);
void bench_report(const char *name, unsigned long ops, unsigned long cycles);

/* spawn, then wait for that child: its pid, or spawn's error; *status set. */
long spawn_wait(const char *path, char *const argv[], int *status);
/* Make the next kib of stack resident, so later code takes no stack faults. */
void stack_touch(size_t kib);

/*
 * Working sets for the swap tests (workset.c): word i of process who's
 * set, and a pass that writes every word of bytes at p (yielding now and
 * then, so sets of several processes are live at once) and reads them
 * all back: the number of wrong words.
 */
unsigned long workset_word(unsigned long who, unsigned long i);
unsigned long workset_churn(volatile unsigned long *p, unsigned long bytes, unsigned long who);
/* bytes of new private memory holding who's set (NULL if mmap failed), and its wrong words. */
volatile unsigned long *workset_map(unsigned long bytes, unsigned long who);
unsigned long workset_wrong(volatile unsigned long *p, unsigned long bytes, unsigned long who);

#endif
