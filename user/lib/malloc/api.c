/*
 * api.c - the C interface over small and large blocks: sizes, alignment,
 * zeroing, realloc, the errors programs expect, the debug mode's fill and
 * redzones, and the statistics.
 */
#include "sm_internal.h"

#define DBG_TAIL (SM_REDZONE + sizeof(size_t))  /* a redzone, then the request's size */
#define FILL_ALLOC 0xa5
#define FILL_FREE  0x6b
#define FILL_RED   0xbb

static void *fail(void)
{
	os_set_enomem();
	return 0;
}

/* The block for n bytes at align (a power of two >= 16), with no debug layout. */
static void *block_alloc(size_t n, size_t align)
{
	if (n <= SM_SMALL_MAX && align <= SM_ALIGN)
		return sm_small_alloc(n, sm_class_of(n ? n : 1));
	if (n <= SM_SMALL_MAX && align <= SM_PAGE_SIZE) {
		unsigned c = sm_class_aligned(n, align);
		if (c < SM_CLASSES)
			return sm_small_alloc(n, c);
	}
	return sm_large_alloc(n, align);
}

static size_t block_usable(struct sm_segment *s, const void *p)
{
	if (s->kind == SEG_LARGE)
		return s->usable;
	bool at;
	struct sm_page *pg = sm_page_of(s, p, &at);
	return pg ? pg->block_size : 0;
}

/* ---- the debug mode: [request, filled 0xa5][redzone 0xbb ...][size_t request] ---- */

static void *dbg_alloc(size_t n, size_t align)
{
	if (n > ((size_t)1 << 46))
		return 0;
	uint8_t *p = block_alloc(n + DBG_TAIL, align);
	if (!p)
		return 0;
	size_t u = block_usable(sm_segment_of(p), p);
	__builtin_memset(p, FILL_ALLOC, n);
	__builtin_memset(p + n, FILL_RED, u - n - sizeof(size_t));
	__builtin_memcpy(p + u - sizeof(size_t), &n, sizeof(n));
	return p;
}

static size_t dbg_request(struct sm_segment *s, const void *p)
{
	size_t u = block_usable(s, p), n;
	__builtin_memcpy(&n, (const uint8_t *)p + u - sizeof(size_t), sizeof(n));
	return n + DBG_TAIL <= u ? n : (size_t)-1;
}

/* False (after a report) if the block's tail was written over. */
static bool dbg_check(struct sm_segment *s, void *p)
{
	size_t u = block_usable(s, p), n = dbg_request(s, p);
	if (n == (size_t)-1) {
		sm_misuse("the size kept after the block was overwritten at", p);
		return false;
	}
	for (size_t i = n; i < u - sizeof(size_t); i++)
		if (((uint8_t *)p)[i] != FILL_RED) {
			sm_misuse("a write past the end of the block at", p);
			return false;
		}
	if (s->kind == SEG_SMALL)
		__builtin_memset(p, FILL_FREE, u);
	return true;
}

/* ---- the interface -------------------------------------------------------------- */

static void *alloc_any(size_t n, size_t align)
{
	if (__builtin_expect(sm_options & SM_OPT_UNINIT, 0))
		sm_init_once();
	if (__builtin_expect(sm_options & SM_OPT_DEBUG, 0)) {
		void *p = dbg_alloc(n, align);
		return p ? p : fail();
	}
	void *p = block_alloc(n, align);
	return __builtin_expect(p != 0, 1) ? p : fail();
}

void *sm_malloc(size_t n)
{
	if (__builtin_expect(n <= SM_SMALL_MAX && !(sm_options & (SM_OPT_DEBUG | SM_OPT_UNINIT)), 1)) {
		void *p = sm_small_alloc(n, sm_class_of(n ? n : 1));
		return __builtin_expect(p != 0, 1) ? p : fail();
	}
	return alloc_any(n, SM_ALIGN);
}

/* The segment of p, or NULL after reporting why p is not a block of ours. */
static struct sm_segment *owner(const void *p, const char *what)
{
	struct sm_segment *s = sm_segment_of(p);
	if (!s || s->kind == SEG_CACHED) {
		sm_misuse(sm_large_was_freed(p) ? "double free of" : what, p);
		return 0;
	}
	return s;
}

void sm_free(void *p)
{
	if (!p)
		return;
	struct sm_segment *s = owner(p, "free of a pointer it never gave");
	if (!s)
		return;
	if (s->kind == SEG_LARGE) {
		if (!(sm_options & SM_OPT_DEBUG) || (uintptr_t)p != s->block || dbg_check(s, p))
			sm_large_free(s, p);
		return;
	}
	if (sm_options & SM_OPT_DEBUG) {
		if (sm_small_is_free(s, p)) {
			sm_small_free(s, p);    /* reports it */
			return;
		}
		if (!dbg_check(s, p))
			return;
	}
	sm_small_free(s, p);
}

size_t sm_malloc_usable_size(const void *p)
{
	if (!p)
		return 0;
	struct sm_segment *s = owner(p, "usable size of a pointer it never gave");
	if (!s)
		return 0;
	if (sm_options & SM_OPT_DEBUG) {
		size_t n = dbg_request(s, p);
		return n == (size_t)-1 ? 0 : n;
	}
	return s->kind == SEG_LARGE ? s->usable - ((uintptr_t)p - s->block) : block_usable(s, p);
}

static bool mul_overflows(size_t a, size_t b, size_t *out) { return __builtin_mul_overflow(a, b, out); }

void *sm_calloc(size_t n, size_t size)
{
	size_t total;
	if (mul_overflows(n, size, &total))
		return fail();
	void *p = sm_malloc(total);
	if (!p)
		return 0;
	struct sm_segment *s = sm_segment_of(p);
	if (s->kind == SEG_SMALL || s->dirty || (sm_options & SM_OPT_DEBUG))
		__builtin_memset(p, 0, total);  /* a large block fresh from the OS is zero already */
	return p;
}

void *sm_realloc(void *p, size_t n)
{
	if (!p)
		return sm_malloc(n);
	if (n == 0) {
		sm_free(p);
		return 0;
	}
	struct sm_segment *s = owner(p, "realloc of a pointer it never gave");
	if (!s)
		return 0;
	if (s->kind == SEG_SMALL && sm_small_is_free(s, p)) {
		sm_misuse("realloc of a freed pointer", p);
		return 0;
	}
	size_t have = sm_malloc_usable_size(p);
	/* In place while the block holds n and is not more than twice n (or less than a page over). */
	if (!(sm_options & SM_OPT_DEBUG) && n <= have && (have <= 2 * n || have - n < SM_ALIGN ||
						   (s->kind == SEG_LARGE && have - n < SM_PAGE_SIZE)))
		return p;
	void *q = sm_malloc(n);
	if (!q)
		return 0;
	__builtin_memcpy(q, p, have < n ? have : n);
	sm_free(p);
	return q;
}

void *sm_reallocarray(void *p, size_t n, size_t size)
{
	size_t total;
	if (mul_overflows(n, size, &total))
		return fail();
	return sm_realloc(p, total);
}

static bool pow2(size_t a) { return a && !(a & (a - 1)); }

void *sm_aligned_alloc(size_t align, size_t n)
{
	if (!pow2(align)) {
		os_set_einval();        /* as glibc 2.38 and later */
		return 0;
	}
	return alloc_any(n, align < SM_ALIGN ? SM_ALIGN : align);
}

void *sm_memalign(size_t align, size_t n) { return sm_aligned_alloc(align, n); }

int sm_posix_memalign(void **out, size_t align, size_t n)
{
	if (!pow2(align) || align % sizeof(void *))
		return 22;              /* EINVAL */
	void *p = alloc_any(n, align < SM_ALIGN ? SM_ALIGN : align);
	if (!p)
		return 12;              /* ENOMEM */
	*out = p;
	return 0;
}

void *sm_valloc(size_t n) { return alloc_any(n, SM_OS_PAGE); }

void *sm_pvalloc(size_t n)
{
	if (n > ((size_t)1 << 46))
		return fail();
	return alloc_any((n + SM_OS_PAGE - 1) & ~(SM_OS_PAGE - 1), SM_OS_PAGE);
}

/* ---- statistics: a walk of every segment, exact when no other thread runs ---- */

static unsigned list_len(uintptr_t head)
{
	unsigned n = 0;
	for (; head && n < 1u << 20; n++)
		head = sm_decode(*(uintptr_t *)head, head);
	return n;
}

void sm_stats(struct sm_stats *o)
{
	*o = (struct sm_stats){ 0 };
	os_lock();
	for (struct sm_segment *s = sm_all_segments; s; s = s->next) {
		o->segments++;
		o->reserved_bytes += s->size;
		if (s->kind == SEG_CACHED) {
			o->committed_bytes += s->dirty ? s->size : SM_OS_PAGE;
			continue;
		}
		if (s->kind == SEG_LARGE) {
			o->committed_bytes += s->size;
			o->live_blocks++;
			o->live_bytes += s->usable;
			continue;
		}
		o->committed_bytes += SM_PAGE_SIZE;     /* the header page */
		for (unsigned i = 1; i < SM_PAGES; i++) {
			const struct sm_page *pg = &s->pages[i];
			if (!pg->block_size)
				continue;
			uint64_t live = pg->used - list_len(__atomic_load_n(&pg->thread_free, __ATOMIC_ACQUIRE));
			o->committed_bytes += SM_PAGE_SIZE;
			o->live_blocks += live;
			o->live_bytes += live * pg->block_size;
		}
	}
	o->os_reserves = sm_os_reserves;
	o->os_releases = sm_os_releases;
	o->os_decommits = sm_os_decommits;
	os_unlock();
}
