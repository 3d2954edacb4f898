/*
 * sm_internal.h - segments, pages and heaps (docs/user_heap.md).
 *
 * Ownership: a page's free list and used count belong to the heap that
 * owns the page (page->heap); its thread_free list to everyone (atomic
 * pushes, the owner's exchange). Segments, the registry, the abandoned
 * pages and the statistics' walk are under the global lock (os_lock).
 */
#ifndef STRATA_SM_INTERNAL_H
#define STRATA_SM_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#if __STDC_HOSTED__
#pragma GCC visibility push(hidden)     /* in the shared library only export_linux.c exports */
#endif
#include "strata_malloc.h"

#if !__STDC_HOSTED__ && !defined(SM_STRATA)
#define SM_STRATA                       /* freestanding: built into Strata's programs */
#endif
#ifdef SM_STRATA
#define SM_SEG_SHIFT 20                 /* 1 MiB: Strata's processes have 32 MiB */
#else
#define SM_SEG_SHIFT 22                 /* 4 MiB */
#endif
#define SM_SEG_SIZE   (1UL << SM_SEG_SHIFT)
#define SM_PAGE_SHIFT 16
#define SM_PAGE_SIZE  (1UL << SM_PAGE_SHIFT)
#define SM_PAGES      (SM_SEG_SIZE / SM_PAGE_SIZE)      /* page 0 is the header */
#define SM_OS_PAGE    4096UL
#define SM_SMALL_MAX  32768UL
#define SM_CLASSES    40
#define SM_KEEP       8                 /* empty pages a heap keeps before giving one back */
#define SM_ALIGN      16UL
#define SM_REDZONE    16UL

#define SM_OPT_UNINIT (1u << 31)        /* in sm_options until sm_init_once ran */

#define SEG_SMALL 1
#define SEG_LARGE 2
#define SEG_CACHED 3                    /* a large segment freed, kept for the next large block */

struct sm_heap;

struct sm_page {
	uintptr_t start;                /* the page's first block */
	uint32_t block_size;            /* 0: the page is not in use */
	uint32_t capacity;              /* blocks that fit */
	uint32_t used;                  /* blocks out (the owner's count: uncollected frees still count) */
	uint32_t carved;                /* blocks handed out at least once: the bump index */
	uint32_t recip;                 /* 2^32 / block_size, rounded up: off / size as a multiply */
	uint8_t cls;
	uint8_t full;                   /* on its class's full list */
	uint8_t kept;                   /* in its heap's kept[] */
	uintptr_t free;                 /* the first free block, plain; links inside are encoded */
	uintptr_t thread_free;          /* atomic: blocks freed by other threads */
	struct sm_heap *heap;           /* the owner; NULL while abandoned */
	struct sm_page *next, *prev;    /* in the owner's class list, or the abandoned list */
};

struct sm_segment {
	uint64_t magic;                 /* SEG_MAGIC ^ the secret ^ the address */
	uint32_t kind;                  /* SEG_SMALL, SEG_LARGE */
	uint32_t free_pages;            /* small: pages 1.. not in use */
	size_t size;                    /* bytes reserved */
	uintptr_t block;                /* large: the block */
	size_t usable;                  /* large: its usable bytes */
	size_t request;                 /* large: what was asked (debug mode's redzone) */
	bool dirty;                     /* cached: its pages still hold frames */
	struct sm_segment *next, *prev; /* every segment (the statistics, sm_trim) */
	struct sm_page pages[SM_PAGES];
};
_Static_assert(sizeof(struct sm_segment) <= SM_PAGE_SIZE, "the header fits page 0");

struct sm_heap {
	struct sm_page *avail[SM_CLASSES];      /* pages that may have free blocks, the current first */
	struct sm_page *fullp[SM_CLASSES];      /* pages found full */
	struct sm_page *kept[SM_KEEP];          /* empty pages kept, oldest first (hysteresis) */
	unsigned nkept;
	struct sm_heap *next_free;              /* in the pool of unused heaps */
};

/* ---- harden.c ---- */
extern uintptr_t sm_secret;
extern unsigned sm_options;
void sm_init_once(void);
static inline uintptr_t sm_encode(uintptr_t next, uintptr_t at) { return next ^ sm_secret ^ at; }
static inline uintptr_t sm_decode(uintptr_t v, uintptr_t at) { return v ^ sm_secret ^ at; }
/* Report misuse: "strata_malloc: <what> 0x<p>"; aborts unless a hook returns. */
void sm_misuse(const char *what, const void *p);
#define SM_SEG_MAGIC 0x53544d4c53454721ULL       /* "STMLSEG!" */
static inline uint64_t sm_seg_magic(const struct sm_segment *s) { return SM_SEG_MAGIC ^ sm_secret ^ (uintptr_t)s; }

/* ---- class.c ---- */
unsigned sm_class_of_big(size_t n);     /* 1024 < n <= SM_SMALL_MAX */
extern const uint8_t sm_class_small[65];        /* the class of n <= 1024, by (n + 15) / 16 */
static inline unsigned sm_class_of(size_t n)    /* n <= SM_SMALL_MAX */
{
	return n <= 1024 ? sm_class_small[(n + 15) >> 4] : sm_class_of_big(n);
}
size_t sm_class_size(unsigned c);
/* The smallest class of at least n bytes whose size is a multiple of align; SM_CLASSES if none. */
unsigned sm_class_aligned(size_t n, size_t align);

/* ---- segment.c (all under os_lock but sm_segment_of) ---- */
struct sm_page *sm_page_take(unsigned cls, struct sm_heap *h);
void sm_page_retire(struct sm_page *pg);
struct sm_segment *sm_segment_new(size_t size, size_t align, unsigned kind);
void sm_segment_free(struct sm_segment *s);
extern struct sm_segment *sm_all_segments;
extern uint64_t sm_os_reserves, sm_os_releases, sm_os_decommits;
uintptr_t sm_page_start(const struct sm_page *pg);
struct sm_segment *sm_segment_of_page(const struct sm_page *pg);
void sm_trim_locked(void);

/* ---- pages ---- */

/* off / block_size for an offset into a page (off < 2^16, size < 2^16: exact). */
static inline uint32_t sm_block_index(const struct sm_page *pg, uintptr_t off)
{
	return (uint32_t)(((uint64_t)off * pg->recip) >> 32);
}

/* b is a block of pg that was handed out at least once. */
static inline bool sm_in_page(const struct sm_page *pg, uintptr_t b)
{
	uintptr_t off = b - pg->start;
	if (off >= SM_PAGE_SIZE)
		return false;
	uint32_t i = sm_block_index(pg, off);
	return (uintptr_t)i * pg->block_size == off && i < pg->carved;
}

/* ---- heap.c ---- */
void *sm_small_alloc(size_t n, unsigned cls);
void sm_small_free(struct sm_segment *s, void *p);
struct sm_page *sm_page_of(struct sm_segment *s, const void *p, bool *at_block);
void sm_heap_abandon(struct sm_heap *h);
bool sm_small_is_free(struct sm_segment *s, const void *p);
extern struct sm_page *sm_abandoned[SM_CLASSES];

/* ---- large.c ---- */
void *sm_large_alloc(size_t n, size_t align);
void sm_large_free(struct sm_segment *s, void *p);
bool sm_large_was_freed(const void *p);      /* one of the last large blocks freed */
void sm_large_trim_locked(void);                /* the cached large segments back to the OS */

/* ---- the OS (os_linux.c, os_strata.c) ---- */
void *os_reserve(size_t size, size_t align);    /* RW, zero, committed on touch; NULL on failure */
void os_release(void *p, size_t size);
void os_decommit(void *p, size_t size);         /* frames back to the OS; reads zero after */
int os_protect_none(void *p, size_t size);
unsigned char *os_registry(uintptr_t chunk, bool create);      /* the chunk's byte; NULL if none */
/* The chunk's byte without creating anything: inline on Linux (a flat map). */
#ifdef SM_STRATA
static inline unsigned char os_registry_peek(uintptr_t chunk)
{
	unsigned char *b = os_registry(chunk, false);
	return b ? *b : 0;
}
#else
extern unsigned char *sm_registry_map;
static inline unsigned char os_registry_peek(uintptr_t chunk)
{
	unsigned char *r = __atomic_load_n(&sm_registry_map, __ATOMIC_ACQUIRE);
	return r && chunk < (1UL << (47 - SM_SEG_SHIFT)) ? __atomic_load_n(r + chunk, __ATOMIC_ACQUIRE) : 0;
}
#endif

/*
 * The segment p lies in, or NULL if none of ours: the registry's byte for
 * p's chunk (0 none, 1 a segment starts here, v: v - 1 chunks back), then
 * the segment's magic.
 */
static inline struct sm_segment *sm_segment_of(const void *p)
{
	uintptr_t chunk = (uintptr_t)p >> SM_SEG_SHIFT;
	unsigned char v;
	while ((v = os_registry_peek(chunk)) >= 2)
		chunk -= v - 1;
	if (!v)
		return 0;
	struct sm_segment *s = (struct sm_segment *)(chunk << SM_SEG_SHIFT);
	return s->magic == sm_seg_magic(s) ? s : 0;
}
void os_lock(void);
void os_unlock(void);
/* This thread's heap pointer: the fast paths read it inline. */
#ifdef SM_STRATA
extern struct sm_heap *sm_tl_heap;
#else
extern __thread struct sm_heap *sm_tl_heap __attribute__((tls_model("initial-exec")));
#endif
static inline struct sm_heap **os_heap_slot(void) { return &sm_tl_heap; }
void os_heap_created(struct sm_heap *h);        /* register the thread-exit hook */
uint64_t os_random(void);
void os_write_err(const char *s, size_t n);
__attribute__((noreturn)) void os_abort(void);
void os_set_enomem(void);
void os_set_einval(void);
unsigned os_env_options(void);
void os_init(void);                             /* once, after the secret (fork handlers) */

#if __STDC_HOSTED__
#pragma GCC visibility pop
#endif
#endif
