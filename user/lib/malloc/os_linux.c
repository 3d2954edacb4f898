/*
 * os_linux.c - the heap's needs from Linux: mmap for segments, madvise to
 * give frames back, a byte per 4 MiB chunk for the registry, a spin lock,
 * a thread-local heap with a pthread key to notice threads ending, and
 * fork handlers so a child never inherits the lock held.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <pthread.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/mman.h>
#include <sys/random.h>
#include "sm_internal.h"

#define ADDR_BITS 47
#define CHUNKS (1UL << (ADDR_BITS - SM_SEG_SHIFT))

void *os_reserve(size_t size, size_t align)
{
	size_t extra = align > (size_t)sysconf(_SC_PAGESIZE) ? align : 0;
	/*
	 * Small segments may be reserved without the kernel's overcommit check
	 * (their pages are touched a few at a time); a large block is asked for
	 * whole, so Linux may refuse it and malloc returns NULL with ENOMEM.
	 */
	int noreserve = size <= SM_SEG_SIZE ? MAP_NORESERVE : 0;
	char *p = mmap(0, size + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | noreserve, -1, 0);
	if (p == MAP_FAILED)
		return 0;
	if (!extra)
		return p;
	char *a = (char *)(((uintptr_t)p + align - 1) & ~(align - 1));
	if (a > p)
		munmap(p, (size_t)(a - p));
	if (a + size < p + size + extra)
		munmap(a + size, (size_t)(p + size + extra - (a + size)));
	return a;
}

void os_release(void *p, size_t size) { munmap(p, size); }
void os_decommit(void *p, size_t size) { madvise(p, size, MADV_DONTNEED); }
int os_protect_none(void *p, size_t size) { return mprotect(p, size, PROT_NONE); }

unsigned char *sm_registry_map;         /* CHUNKS bytes, reserved once, touched where used */

unsigned char *os_registry(uintptr_t chunk, bool create)
{
	unsigned char *r = __atomic_load_n(&sm_registry_map, __ATOMIC_ACQUIRE);
	if (chunk >= CHUNKS)
		return 0;
	if (!r) {
		if (!create)
			return 0;
		r = mmap(0, CHUNKS, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
		if (r == MAP_FAILED)
			return 0;
		__atomic_store_n(&sm_registry_map, r, __ATOMIC_RELEASE);        /* created under os_lock */
	}
	return r + chunk;
}

static int lock_word;

void os_lock(void)
{
	for (unsigned spins = 0; __atomic_exchange_n(&lock_word, 1, __ATOMIC_ACQUIRE); spins++)
		while (__atomic_load_n(&lock_word, __ATOMIC_RELAXED))
			if (spins++ > 100)
				sched_yield();
			else
				__builtin_ia32_pause();
}

void os_unlock(void) { __atomic_store_n(&lock_word, 0, __ATOMIC_RELEASE); }

__thread struct sm_heap *sm_tl_heap __attribute__((tls_model("initial-exec")));
static pthread_key_t heap_key;
static pthread_once_t key_once = PTHREAD_ONCE_INIT;


static void thread_ends(void *h)
{
	if (h && h == sm_tl_heap) {
		sm_tl_heap = 0;
		sm_heap_abandon(h);
	}
}

static void make_key(void) { pthread_key_create(&heap_key, thread_ends); }

void os_heap_created(struct sm_heap *h)
{
	pthread_once(&key_once, make_key);
	pthread_setspecific(heap_key, h);
}

static void child_after_fork(void)
{
	lock_word = 0;
}

void os_init(void) { pthread_atfork(os_lock, os_unlock, child_after_fork); }

uint64_t os_random(void)
{
	uint64_t v = 0;
	if (getrandom(&v, sizeof(v), GRND_NONBLOCK) != sizeof(v))
		v = __builtin_ia32_rdtsc() ^ (uint64_t)(uintptr_t)&v;
	return v;
}

void os_write_err(const char *s, size_t n)
{
	while (n) {
		ssize_t w = write(2, s, n);
		if (w <= 0)
			return;
		s += w, n -= (size_t)w;
	}
}

void os_abort(void) { abort(); }
void os_set_enomem(void) { errno = ENOMEM; }
void os_set_einval(void) { errno = EINVAL; }

unsigned os_env_options(void)
{
	const char *e = getenv("STRATA_MALLOC");
	unsigned o = 0;
	if (e && strstr(e, "debug"))
		o |= SM_OPT_DEBUG;
	if (e && strstr(e, "guard"))
		o |= SM_OPT_GUARD;
	return o;
}
