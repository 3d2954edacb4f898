/*
 * large.c - blocks above the largest class: a segment each, straight from
 * the OS, given back whole by free. The segment header comes first, the
 * block after it at the asked alignment; with SM_OPT_GUARD the block ends
 * against a page the OS maps with no access.
 *
 * A freed large segment (of at most CACHE_MAX bytes) is cached rather than
 * unmapped, so a program that allocates and frees large blocks in a loop
 * does not map and unmap each time: the two freed last keep their frames
 * (dirty), older ones give them back (decommitted) but keep the address
 * range, and the CACHE-th oldest is unmapped. A cached segment has kind
 * SEG_CACHED, so a second free of its old block is still named.
 */
#include "sm_internal.h"

#define HEADER (((sizeof(struct sm_segment)) + SM_OS_PAGE - 1) & ~(SM_OS_PAGE - 1))
#define RECENT 64
#ifdef SM_STRATA                        /* a process has 32 MiB: cache little */
#define CACHE 2
#define CACHE_DIRTY 1
#define CACHE_MAX (2UL << 20)
#else
#define CACHE 8
#define CACHE_DIRTY 2
#define CACHE_MAX (64UL << 20)
#endif

static struct sm_segment *cache[CACHE];        /* most recently freed first; under os_lock */
static unsigned ncache;

static struct sm_segment *from_cache(size_t size);

static uintptr_t recent[RECENT];        /* the last large blocks freed: a second free is named */
static unsigned recent_next;

static size_t up(size_t n, size_t a) { return (n + a - 1) & ~(a - 1); }

void *sm_large_alloc(size_t n, size_t align)
{
	sm_init_once();         /* the segment's magic uses the secret */
	if (align < SM_ALIGN)
		align = SM_ALIGN;
	size_t off = up(HEADER, align < SM_OS_PAGE ? SM_OS_PAGE : align);
	size_t guard = sm_options & SM_OPT_GUARD ? SM_OS_PAGE : 0;
	if (n > ((size_t)1 << 46) || align > ((size_t)1 << 40))
		return 0;
	size_t usable = up(n, SM_OS_PAGE), size = off + usable + guard;
	os_lock();
	struct sm_segment *s = guard || align > SM_SEG_SIZE ? 0 : from_cache(size);
	if (!s)
		s = sm_segment_new(size, align > SM_SEG_SIZE ? align : SM_SEG_SIZE, SEG_LARGE);
	if (!s) {                       /* the OS said no: what the heap keeps goes back first */
		sm_large_trim_locked();
		sm_trim_locked();
		s = sm_segment_new(size, align > SM_SEG_SIZE ? align : SM_SEG_SIZE, SEG_LARGE);
	}
	os_unlock();
	if (!s)
		return 0;
	uintptr_t end = (uintptr_t)s + (guard ? off + usable : s->size), block = (uintptr_t)s + off;
	if (guard) {
		os_protect_none((void *)end, guard);
		block = (end - n) & ~(align - 1);       /* the block's end meets the guard */
	}
	s->block = block;
	s->usable = end - block;
	s->request = n;
	return (void *)block;
}

/* A cached segment of at least size bytes and not more than twice that, out of the cache. */
static struct sm_segment *from_cache(size_t size)
{
	for (unsigned i = 0; i < ncache; i++) {
		struct sm_segment *s = cache[i];
		if (s->size < size || s->size / 2 > size)
			continue;
		for (ncache--; i < ncache; i++)
			cache[i] = cache[i + 1];
		s->kind = SEG_LARGE;
		return s;               /* dirty stays as it was: calloc zeroes a dirty one */
	}
	return 0;
}

static void to_cache(struct sm_segment *s)
{
	if (ncache == CACHE)
		sm_segment_free(cache[--ncache]);
	for (unsigned i = ncache++; i > 0; i--)
		cache[i] = cache[i - 1];
	cache[0] = s;
	s->kind = SEG_CACHED;
	s->dirty = true;
	if (ncache > CACHE_DIRTY && cache[CACHE_DIRTY]->dirty) {
		struct sm_segment *old = cache[CACHE_DIRTY];
		uintptr_t first = (uintptr_t)old + HEADER;             /* the header stays */
		os_decommit((void *)first, (uintptr_t)old + old->size - first);
		sm_os_decommits++;
		old->dirty = false;
	}
}

void sm_large_free(struct sm_segment *s, void *p)
{
	if ((uintptr_t)p != s->block) {
		sm_misuse("free of a pointer inside a block", p);
		return;
	}
	os_lock();
	recent[recent_next++ % RECENT] = (uintptr_t)p;
	if (s->size <= CACHE_MAX && !(sm_options & SM_OPT_GUARD))
		to_cache(s);
	else
		sm_segment_free(s);
	os_unlock();
}

void sm_large_trim_locked(void)
{
	while (ncache)
		sm_segment_free(cache[--ncache]);
}

bool sm_large_was_freed(const void *p)
{
	bool found = false;
	os_lock();
	for (unsigned i = 0; i < RECENT; i++)
		found |= recent[i] == (uintptr_t)p && p;
	os_unlock();
	return found;
}
