/*
 * segment.c - segments from the OS, the registry of their addresses, and
 * pages taken from them and given back. Everything here runs under
 * os_lock; pages are taken once per 64 KiB of allocation, so the lock is
 * far from the fast paths.
 *
 * The registry keeps one byte per SM_SEG_SIZE chunk of the address space:
 * 0 for none of ours, 1 for the first chunk of a segment, v >= 2 for a
 * chunk v - 1 chunks after one that is closer to the start (a large
 * segment spans many chunks, and an aligned block may start far into
 * it). sm_segment_of (sm_internal.h, inline) walks back to the start and
 * checks its magic, so a pointer into no segment of ours is found out
 * before any of its bytes is read.
 */
#include "sm_internal.h"

struct sm_segment *sm_all_segments;
static struct sm_segment *spare;        /* one empty small segment kept for the next need */
uint64_t sm_os_reserves, sm_os_releases, sm_os_decommits;

static void link_segment(struct sm_segment *s)
{
	s->prev = 0;
	s->next = sm_all_segments;
	if (sm_all_segments)
		sm_all_segments->prev = s;
	sm_all_segments = s;
}

static void unlink_segment(struct sm_segment *s)
{
	if (s->prev)
		s->prev->next = s->next;
	else
		sm_all_segments = s->next;
	if (s->next)
		s->next->prev = s->prev;
}

/* Mark (or, with set false, clear) every chunk of s in the registry. false if out of memory. */
static bool registry_mark(struct sm_segment *s, bool set)
{
	uintptr_t first = (uintptr_t)s >> SM_SEG_SHIFT, n = (s->size + SM_SEG_SIZE - 1) >> SM_SEG_SHIFT;
	for (uintptr_t k = 0; k < n; k++) {
		unsigned char *b = os_registry(first + k, set);
		if (!b) {
			if (set)
				while (k--)
					*os_registry(first + k, false) = 0;
			return !set;
		}
		*b = !set ? 0 : k == 0 ? 1 : (unsigned char)((k < 254 ? k : 254) + 1);
	}
	return true;
}

struct sm_segment *sm_segment_new(size_t size, size_t align, unsigned kind)
{
	struct sm_segment *s = os_reserve(size, align);
	if (!s)
		return 0;
	sm_os_reserves++;
	s->kind = kind;
	s->size = size;
	s->free_pages = kind == SEG_SMALL ? SM_PAGES - 1 : 0;
	s->magic = sm_seg_magic(s);
	if (!registry_mark(s, true)) {
		os_release(s, size);
		sm_os_releases++;
		return 0;
	}
	link_segment(s);
	return s;
}

void sm_segment_free(struct sm_segment *s)
{
	if (s == spare)
		spare = 0;
	registry_mark(s, false);
	unlink_segment(s);
	s->magic = 0;
	os_release(s, s->size);
	sm_os_releases++;
}

struct sm_segment *sm_segment_of_page(const struct sm_page *pg)
{
	return (struct sm_segment *)((uintptr_t)pg & ~(SM_SEG_SIZE - 1));
}

uintptr_t sm_page_start(const struct sm_page *pg)
{
	struct sm_segment *s = sm_segment_of_page(pg);
	return (uintptr_t)s + (uintptr_t)(pg - s->pages) * SM_PAGE_SIZE;
}

/* A page for class cls, owned by h: from a segment with room, else a new segment. */
struct sm_page *sm_page_take(unsigned cls, struct sm_heap *h)
{
	struct sm_segment *s = sm_all_segments;
	while (s && !(s->kind == SEG_SMALL && s->free_pages))
		s = s->next;
	if (!s)
		s = sm_segment_new(SM_SEG_SIZE, SM_SEG_SIZE, SEG_SMALL);
	if (!s) {                       /* the OS said no: the cached large segments go back first */
		sm_large_trim_locked();
		s = sm_segment_new(SM_SEG_SIZE, SM_SEG_SIZE, SEG_SMALL);
	}
	if (!s)
		return 0;
	if (s == spare)
		spare = 0;
	struct sm_page *pg = 0;
	for (unsigned i = 1; i < SM_PAGES; i++)
		if (!s->pages[i].block_size) {
			pg = &s->pages[i];
			break;
		}
	size_t bs = sm_class_size(cls);
	*pg = (struct sm_page){
		.start = (uintptr_t)s + (uintptr_t)(pg - s->pages) * SM_PAGE_SIZE,
		.block_size = (uint32_t)bs, .capacity = (uint32_t)(SM_PAGE_SIZE / bs),
		.recip = (uint32_t)(((1ULL << 32) + bs - 1) / bs),
		.cls = (uint8_t)cls, .heap = h,
	};
	s->free_pages--;
	return pg;
}

/* pg has no block out: its frames go back; an empty segment is kept once, else released. */
void sm_page_retire(struct sm_page *pg)
{
	struct sm_segment *s = sm_segment_of_page(pg);
	os_decommit((void *)sm_page_start(pg), SM_PAGE_SIZE);
	sm_os_decommits++;
	*pg = (struct sm_page){ 0 };
	if (++s->free_pages < SM_PAGES - 1)
		return;
	if (!spare)
		spare = s;
	else if (spare != s)
		sm_segment_free(s);
}

void sm_trim_locked(void)
{
	if (spare)
		sm_segment_free(spare);
}
