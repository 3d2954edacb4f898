/*
 * heap.c - a thread's heap: small blocks out of pages, back from the
 * owner (no atomic operation) or from any other thread (a lock-free push
 * on the page's thread_free list, collected by the owner in one exchange).
 * docs/user_heap.md, "A thread's heap".
 */
#include "sm_internal.h"

struct sm_page *sm_abandoned[SM_CLASSES];      /* under os_lock */
static struct sm_heap *heap_pool;              /* under os_lock */
static uintptr_t heap_chunk, heap_chunk_end;   /* under os_lock */

/* ---- class lists ---------------------------------------------------------- */

static void list_push(struct sm_page **head, struct sm_page *pg)
{
	pg->prev = 0;
	pg->next = *head;
	if (*head)
		(*head)->prev = pg;
	*head = pg;
}

static void list_insert_after(struct sm_page *at, struct sm_page *pg)
{
	pg->prev = at;
	pg->next = at->next;
	if (at->next)
		at->next->prev = pg;
	at->next = pg;
}

static void list_unlink(struct sm_page **head, struct sm_page *pg)
{
	if (pg->prev)
		pg->prev->next = pg->next;
	else
		*head = pg->next;
	if (pg->next)
		pg->next->prev = pg->prev;
	pg->next = pg->prev = 0;
}

static struct sm_page **list_of(struct sm_heap *h, struct sm_page *pg)
{
	return pg->full ? &h->fullp[pg->cls] : &h->avail[pg->cls];
}

/* ---- heaps ---------------------------------------------------------------- */

static struct sm_heap *heap_new(void)
{
	struct sm_heap *h = heap_pool;
	if (h) {
		heap_pool = h->next_free;
	} else {
		if (heap_chunk + sizeof(*h) > heap_chunk_end) {
			void *c = os_reserve(SM_PAGE_SIZE, SM_OS_PAGE);
			if (!c)
				return 0;
			heap_chunk = (uintptr_t)c, heap_chunk_end = heap_chunk + SM_PAGE_SIZE;
		}
		h = (struct sm_heap *)heap_chunk;
		heap_chunk += (sizeof(*h) + 63) & ~63UL;
	}
	for (unsigned c = 0; c < SM_CLASSES; c++)
		h->avail[c] = h->fullp[c] = 0;
	h->nkept = 0;
	h->next_free = 0;
	return h;
}

static __attribute__((noinline)) struct sm_heap *heap_create(void)
{
	sm_init_once();
	os_lock();
	struct sm_heap *h = heap_new();
	os_unlock();
	if (h) {
		*os_heap_slot() = h;
		os_heap_created(h);
	}
	return h;
}

static inline struct sm_heap *my_heap(void)
{
	struct sm_heap *h = *os_heap_slot();
	return __builtin_expect(h != 0, 1) ? h : heap_create();
}

/* ---- pages ------------------------------------------------------------------ */

#define in_page sm_in_page

/* Take every block other threads freed into pg. Returns how many. */
static unsigned collect(struct sm_page *pg)
{
	uintptr_t b = __atomic_exchange_n(&pg->thread_free, 0, __ATOMIC_ACQUIRE), tail = 0;
	unsigned n = 0;
	for (uintptr_t x = b; x; n++) {
		if (!in_page(pg, x)) {
			sm_misuse("a broken cross-thread free list at", (void *)x);
			return 0;       /* what cannot be walked is lost, the page stays sound */
		}
		tail = x;
		x = sm_decode(*(uintptr_t *)x, x);
	}
	if (!n)
		return 0;
	*(uintptr_t *)tail = sm_encode(pg->free, tail);
	pg->free = b;
	pg->used -= n;
	return n;
}

/* pg, empty and kept, is in use again: out of the kept list. */
static __attribute__((noinline)) void page_unkeep(struct sm_heap *h, struct sm_page *pg)
{
	if (!pg->kept)
		return;
	unsigned i = 0;
	while (h->kept[i] != pg)
		i++;
	for (h->nkept--; i < h->nkept; i++)
		h->kept[i] = h->kept[i + 1];
	pg->kept = 0;
}

static inline void *page_pop(struct sm_heap *h, struct sm_page *pg)
{
	uintptr_t b = pg->free;
	if (b) {
		uintptr_t next = sm_decode(*(uintptr_t *)b, b);
		/* A range check: a forged or broken link decodes to noise, far out of the page. */
		if (__builtin_expect(next && next - pg->start >= SM_PAGE_SIZE, 0)) {
			sm_misuse("a broken free list (a write after free?) at", (void *)b);
			next = 0;       /* the rest of the list is lost; the page stays sound */
		}
		pg->free = next;
		*(uintptr_t *)b = 0;    /* no link left in a live block: already_free stays exact */
	} else if (pg->carved < pg->capacity) {
		b = pg->start + (uintptr_t)pg->carved++ * pg->block_size;
	} else {
		return 0;
	}
	pg->used++;
	if (__builtin_expect(pg->kept, 0))
		page_unkeep(h, pg);
	return (void *)b;
}

static void retire(struct sm_heap *h, struct sm_page *pg)
{
	list_unlink(list_of(h, pg), pg);
	os_lock();
	sm_page_retire(pg);
	os_unlock();
}

/*
 * pg has no block out. The heap keeps its last SM_KEEP empty pages, any
 * class, so a loop that frees a batch and allocates it again never goes
 * to the OS; past that the page emptied longest ago goes back.
 */
static void page_empty(struct sm_heap *h, struct sm_page *pg)
{
	if (pg->kept)
		return;
	if (h->nkept == SM_KEEP) {
		struct sm_page *old = h->kept[0];
		page_unkeep(h, old);
		retire(h, old);
	}
	pg->kept = 1;
	h->kept[h->nkept++] = pg;
}

static __attribute__((noinline)) void *alloc_slow(struct sm_heap *h, unsigned cls)
{
	void *b;
	struct sm_page *pg, *next;
	for (pg = h->avail[cls]; pg; pg = next) {       /* the current page is full: the others */
		next = pg->next;
		collect(pg);
		if ((b = page_pop(h, pg))) {
			if (pg != h->avail[cls]) {
				list_unlink(&h->avail[cls], pg);
				list_push(&h->avail[cls], pg);
			}
			return b;
		}
		list_unlink(&h->avail[cls], pg);
		pg->full = 1;
		list_push(&h->fullp[cls], pg);
	}
	for (pg = h->fullp[cls]; pg; pg = next) {       /* frees from other threads */
		next = pg->next;
		if (__atomic_load_n(&pg->thread_free, __ATOMIC_RELAXED) && collect(pg)) {
			list_unlink(&h->fullp[cls], pg);
			pg->full = 0;
			list_push(&h->avail[cls], pg);
			return page_pop(h, pg);
		}
	}
	os_lock();
	if ((pg = sm_abandoned[cls])) {                 /* a page a dead thread left */
		list_unlink(&sm_abandoned[cls], pg);
		pg->heap = h;
	} else {
		pg = sm_page_take(cls, h);
	}
	os_unlock();
	if (!pg)
		return 0;
	collect(pg);
	pg->full = 0;
	list_push(&h->avail[cls], pg);
	b = page_pop(h, pg);
	return b ? b : alloc_slow(h, cls);
}

void *sm_small_alloc(size_t n, unsigned cls)
{
	(void)n;
	struct sm_heap *h = my_heap();
	if (__builtin_expect(!h, 0))
		return 0;
	struct sm_page *pg = h->avail[cls];
	void *b = pg ? page_pop(h, pg) : 0;
	return __builtin_expect(b != 0, 1) ? b : alloc_slow(h, cls);
}

/* ---- free ------------------------------------------------------------------- */

static inline struct sm_page *page_of(struct sm_segment *s, const void *p, bool *at_block)
{
	uintptr_t idx = ((uintptr_t)p - (uintptr_t)s) >> SM_PAGE_SHIFT;
	if (idx == 0 || idx >= SM_PAGES)
		return 0;
	struct sm_page *pg = &s->pages[idx];
	if (!pg->block_size)
		return 0;
	*at_block = in_page(pg, (uintptr_t)p);
	return pg;
}

struct sm_page *sm_page_of(struct sm_segment *s, const void *p, bool *at_block)
{
	return page_of(s, p, at_block);
}

static bool on_list(const struct sm_page *pg, uintptr_t head, uintptr_t p)
{
	for (unsigned n = 0; head && n <= pg->capacity; n++) {
		if (head == p)
			return true;
		if (!in_page(pg, head))
			return false;
		head = sm_decode(*(uintptr_t *)head, head);
	}
	return false;
}

static __attribute__((noinline)) bool already_free_slow(const struct sm_page *pg, uintptr_t p)
{
	return on_list(pg, pg->free, p) ||
	       on_list(pg, __atomic_load_n(&pg->thread_free, __ATOMIC_ACQUIRE), p);
}

/*
 * A block whose first word decodes to a block of its page (or to the end
 * of a list) may be free already; then, and only then, the lists are
 * searched. Live data decodes to a link by chance about never.
 */
static inline bool already_free(const struct sm_page *pg, uintptr_t p)
{
	uintptr_t next = sm_decode(*(uintptr_t *)p, p);
	if (__builtin_expect(next && next - pg->start >= SM_PAGE_SIZE, 1))
		return false;
	return already_free_slow(pg, p);
}

static void free_remote(struct sm_page *pg, uintptr_t b);

/* A free left pg (not the current page) empty, or gave a full page a free block again. */
static __attribute__((noinline)) void freed_to_unusual(struct sm_heap *h, struct sm_page *pg)
{
	if (pg->full) {         /* second in line: the current page stays current */
		struct sm_page **head = &h->avail[pg->cls];
		list_unlink(&h->fullp[pg->cls], pg);
		pg->full = 0;
		if (*head)
			list_insert_after(*head, pg);
		else
			list_push(head, pg);
	}
	if (pg->used == 0 && pg != h->avail[pg->cls])
		page_empty(h, pg);
}

void sm_small_free(struct sm_segment *s, void *p)
{
	bool at_block = false;
	struct sm_page *pg = page_of(s, p, &at_block);
	if (__builtin_expect(!pg || !at_block, 0)) {
		sm_misuse(pg ? "free of a pointer inside a block" : "free of a pointer it never gave", p);
		return;
	}
	struct sm_heap *h = *os_heap_slot();
	uintptr_t b = (uintptr_t)p;
	if (h && pg->heap == h) {
		if (__builtin_expect(already_free(pg, b), 0)) {
			sm_misuse("double free of", p);
			return;
		}
		*(uintptr_t *)b = sm_encode(pg->free, b);
		pg->free = b;
		/* An empty current page stays as it is: the next malloc takes from it. */
		if (__builtin_expect(--pg->used == 0 && pg != h->avail[pg->cls], 0) || __builtin_expect(pg->full, 0))
			freed_to_unusual(h, pg);
		return;
	}
	free_remote(pg, b);
}

/* A block of a page this thread does not own: onto its thread_free list, lock-free. */
static __attribute__((noinline)) void free_remote(struct sm_page *pg, uintptr_t b)
{
	void *p = (void *)b;
	uintptr_t old = __atomic_load_n(&pg->thread_free, __ATOMIC_RELAXED);
	uintptr_t next = sm_decode(*(uintptr_t *)b, b);
	/*
	 * Suspicious only: a live block's first word was cleared when handed out.
	 * The owner's list is read without its owner's knowledge: a block being
	 * freed here is out, so it is on that list only if freed already.
	 */
	if (__builtin_expect(!next || in_page(pg, next), 0) &&
	    (on_list(pg, old, b) || on_list(pg, __atomic_load_n(&pg->free, __ATOMIC_RELAXED), b))) {
		sm_misuse("double free of", p);
		return;
	}
	do
		*(uintptr_t *)b = sm_encode(old, b);
	while (!__atomic_compare_exchange_n(&pg->thread_free, &old, b, true,
					    __ATOMIC_RELEASE, __ATOMIC_RELAXED));
}

/* ---- a thread ends ------------------------------------------------------------ */

static void abandon_list(struct sm_page **head)
{
	while (*head) {
		struct sm_page *pg = *head;
		list_unlink(head, pg);
		collect(pg);
		pg->full = 0;
		if (pg->used == 0) {
			sm_page_retire(pg);
		} else {
			pg->heap = 0;
			list_push(&sm_abandoned[pg->cls], pg);
		}
	}
}

/* Pages with blocks out go to the abandoned lists, the rest back to the OS; h is free for reuse. */
void sm_heap_abandon(struct sm_heap *h)
{
	os_lock();
	for (unsigned i = 0; i < h->nkept; i++)
		h->kept[i]->kept = 0;
	h->nkept = 0;
	for (unsigned c = 0; c < SM_CLASSES; c++) {
		abandon_list(&h->avail[c]);
		abandon_list(&h->fullp[c]);
	}
	h->next_free = heap_pool;
	heap_pool = h;
	os_unlock();
}

static void trim_list(struct sm_page **head)
{
	for (struct sm_page *pg = *head, *next; pg; pg = next) {
		next = pg->next;
		collect(pg);
		if (pg->used == 0) {
			list_unlink(head, pg);
			sm_page_retire(pg);
		}
	}
}

/* Every empty page of this thread's heap, and the spare segment, back to the OS. */
void sm_trim(void)
{
	struct sm_heap *h = *os_heap_slot();
	os_lock();
	for (unsigned i = 0; h && i < h->nkept; i++)
		h->kept[i]->kept = 0;
	if (h)
		h->nkept = 0;
	for (unsigned c = 0; h && c < SM_CLASSES; c++) {
		trim_list(&h->avail[c]);
		trim_list(&h->fullp[c]);
	}
	for (unsigned c = 0; c < SM_CLASSES; c++)      /* pages of ended threads that fell empty */
		for (struct sm_page *pg = sm_abandoned[c], *next; pg; pg = next) {
			next = pg->next;
			collect(pg);
			if (pg->used == 0) {
				list_unlink(&sm_abandoned[c], pg);
				sm_page_retire(pg);
			}
		}
	sm_trim_locked();
	sm_large_trim_locked();
	os_unlock();
}

/* For realloc: is p, a block of s, free now (as far as this thread can tell)? */
bool sm_small_is_free(struct sm_segment *s, const void *p)
{
	bool at_block = false;
	struct sm_page *pg = sm_page_of(s, p, &at_block);
	return !pg || !at_block || already_free(pg, (uintptr_t)p);
}
