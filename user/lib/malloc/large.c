/*
 * large.c - blocks above the largest class: a segment each, straight from
 * the OS, given back whole by free. The segment header comes first, the
 * block after it at the asked alignment; with SM_OPT_GUARD the block ends
 * against a page the OS maps with no access.
 */
#include "sm_internal.h"

#define HEADER (((sizeof(struct sm_segment)) + SM_OS_PAGE - 1) & ~(SM_OS_PAGE - 1))
#define RECENT 64

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
	struct sm_segment *s = sm_segment_new(size, align > SM_SEG_SIZE ? align : SM_SEG_SIZE, SEG_LARGE);
	os_unlock();
	if (!s)
		return 0;
	uintptr_t end = (uintptr_t)s + off + usable, block = (uintptr_t)s + off;
	if (guard) {
		os_protect_none((void *)end, guard);
		block = (end - n) & ~(align - 1);       /* the block's end meets the guard */
	}
	s->block = block;
	s->usable = end - block;
	s->request = n;
	return (void *)block;
}

void sm_large_free(struct sm_segment *s, void *p)
{
	if ((uintptr_t)p != s->block) {
		sm_misuse("free of a pointer inside a block", p);
		return;
	}
	os_lock();
	recent[recent_next++ % RECENT] = (uintptr_t)p;
	sm_segment_free(s);
	os_unlock();
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
