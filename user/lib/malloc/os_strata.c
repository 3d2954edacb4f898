/*
 * os_strata.c - the heap's needs from Strata: mmap and munmap for
 * segments (a fresh mapping over a range gives its frames back), a small
 * hash table for the registry (a process has at most 32 MiB), and one
 * thread, so no lock and a plain heap pointer.
 */
#include "strata.h"
#include "sm_internal.h"

__attribute__((weak)) int errno;        /* user/lib may define its own */

void *os_reserve(size_t size, size_t align)
{
	size_t extra = align > PAGE_SIZE ? align : 0;
	long r = (long)mmap(0, size + extra, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (is_err(r))
		return 0;
	uintptr_t p = (uintptr_t)r, a = (p + (extra ? align - 1 : 0)) & ~(extra ? align - 1 : 0);
	if (a > p)
		munmap((void *)p, a - p);
	if (a + size < p + size + extra)
		munmap((void *)(a + size), p + size + extra - (a + size));
	return (void *)a;
}

void os_release(void *p, size_t size) { munmap(p, size); }

void os_decommit(void *p, size_t size)
{
	munmap(p, size);
	mmap(p, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
}

int os_protect_none(void *p, size_t size) { return (int)mprotect(p, size, PROT_NONE); }

#define REG_SLOTS 4096
static struct { uintptr_t key; unsigned char v; } reg[REG_SLOTS];     /* key: chunk + 1, 0 empty */

unsigned char *os_registry(uintptr_t chunk, bool create)
{
	unsigned i = (unsigned)((chunk * 0x9e3779b97f4a7c15ULL) >> 52) % REG_SLOTS;
	for (unsigned n = 0; n < REG_SLOTS; n++, i = (i + 1) % REG_SLOTS) {
		if (reg[i].key == chunk + 1)
			return &reg[i].v;
		if (!reg[i].key) {
			if (!create)
				return 0;
			reg[i].key = chunk + 1;         /* a key once placed stays: chains never break */
			return &reg[i].v;
		}
	}
	return 0;
}

void os_lock(void) {}
void os_unlock(void) {}

struct sm_heap *sm_tl_heap;            /* one thread */
void os_heap_created(struct sm_heap *h) { (void)h; }
void os_init(void) {}

uint64_t os_random(void)
{
	uint32_t lo, hi;
	__asm__ volatile("rdtsc" : "=a"(lo), "=d"(hi));
	return (((uint64_t)hi << 32 | lo) * 0x9e3779b97f4a7c15ULL) ^ (uintptr_t)&lo;
}

void os_write_err(const char *s, size_t n) { write(2, s, n); }

void os_abort(void)
{
	os_write_err("strata_malloc: abort\n", 21);
	exit(134);
}

void os_set_enomem(void) { errno = 12; }
void os_set_einval(void) { errno = 22; }
unsigned os_env_options(void) { return 0; }
