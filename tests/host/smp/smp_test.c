/*
 * smp_test.c - the buddy and the heap with several CPUs at once: host
 * threads are CPUs (fake_arch.c: fake_cpu and fake_cpu_index are per
 * thread). Four workers allocate and free pages of mixed orders and
 * kmalloc objects of mixed sizes, each filled with a pattern that names it
 * and checked before its free; a share of each worker's objects is handed
 * to the next worker, which frees it (cross-CPU frees). Meanwhile a fifth
 * CPU drains every page cache and flushes every magazine, over and over,
 * and runs pmm_check on the running PMM. At the end every frame and
 * object is back and both checks report nothing.
 *
 * The heap's pages are reached through the software MMU (fake_arch.c),
 * whose SIGSEGV handler and window were written for one thread: a fill is
 * one mmap of one page, atomic, and a flush drops the window so the next
 * access fills again, which threads survive; the TLB model stays empty
 * (no test here asks it anything).
 */
#include <pthread.h>
#include <string.h>
#include "check.h"
#include "mm_boot.h"
#include "mm/slab/slab_private.h"       /* kheap.classes, mag_flush_all: white-box */

#define MiB (1UL << 20)

#define WORKERS 4
#define ROUNDS  40000
#define HELD    48              /* blocks and objects a worker holds at once */
#define HANDOFF 64              /* a worker's mailbox for the next one */

struct obj { void *p; size_t sz; uint64_t tag; };
struct page { pa_t pa; unsigned order; uint64_t tag; };

/* A single-producer single-consumer ring: worker i puts, worker i+1 takes. */
struct mailbox {
	struct obj slot[HANDOFF];
	unsigned head, tail;        /* head: next put (producer), tail: next take (consumer) */
};

static struct mailbox box[WORKERS];
static int workers_started, workers_done, stop_drainer;
static unsigned drains, drain_check_bad;
static uint64_t bad_pattern;

/* The boot CPU's registers (CR3: the kernel's tables), which every CPU starts with. */
static struct fake_cpu boot_cpu;

static void cpu_start(unsigned cpu)
{
	fake_cpu = boot_cpu;
	fake_cpu_index = cpu;
}

static uint64_t tag_of(unsigned cpu, uint64_t n) { return (uint64_t)cpu << 56 | n; }

static void fill(void *p, size_t len, uint64_t tag)
{
	for (size_t i = 0; i + 8 <= len; i += 8)
		memcpy((char *)p + i, &tag, 8);
	memset((char *)p + (len & ~(size_t)7), (int)(tag & 0xff), len & 7);
}

static bool intact(const void *p, size_t len, uint64_t tag)
{
	for (size_t i = 0; i + 8 <= len; i += 8)
		if (memcmp((const char *)p + i, &tag, 8))
			return false;
	for (size_t i = len & ~(size_t)7; i < len; i++)
		if (((const unsigned char *)p)[i] != (tag & 0xff))
			return false;
	return true;
}

static void obj_free(struct obj *o)
{
	if (!intact(o->p, o->sz, o->tag))
		__atomic_add_fetch(&bad_pattern, 1, __ATOMIC_RELAXED);
	kfree(o->p);
}

static void page_free(struct page *g)
{
	size_t len = PAGE_SIZE << g->order;

	if (!intact(phys_to_virt(g->pa), len < 512 ? len : 512, g->tag))   /* the head of each block is enough */
		__atomic_add_fetch(&bad_pattern, 1, __ATOMIC_RELAXED);
	if (g->order)
		CHECK_EQ(pmm_free(g->pa, g->order), 0);
	else
		CHECK_EQ(pmm_free_page(g->pa), 0);
}

static bool box_put(struct mailbox *b, struct obj o)
{
	unsigned h = b->head, t = __atomic_load_n(&b->tail, __ATOMIC_ACQUIRE);
	if (h - t == HANDOFF)
		return false;
	b->slot[h % HANDOFF] = o;
	__atomic_store_n(&b->head, h + 1, __ATOMIC_RELEASE);
	return true;
}

static bool box_take(struct mailbox *b, struct obj *o)
{
	unsigned t = b->tail, h = __atomic_load_n(&b->head, __ATOMIC_ACQUIRE);
	if (t == h)
		return false;
	*o = b->slot[t % HANDOFF];
	__atomic_store_n(&b->tail, t + 1, __ATOMIC_RELEASE);
	return true;
}

static const size_t sizes[] = { 8, 24, 64, 100, 256, 512, 1000, 2048 };

/* Free what arrived from the previous worker: objects it allocated on its CPU. */
static void take_mail(unsigned cpu)
{
	struct obj o;
	while (box_take(&box[(cpu + WORKERS - 1) % WORKERS], &o))
		obj_free(&o);
}

static void *worker(void *arg)
{
	unsigned cpu = (unsigned)(uintptr_t)arg;
	struct obj objs[HELD] = { 0 };
	struct page pages[HELD] = { 0 };
	uint64_t seed = 0x5eed + cpu, n = 0;

	cpu_start(cpu);
	__atomic_add_fetch(&workers_started, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&workers_started, __ATOMIC_ACQUIRE) < WORKERS)
		;       /* all at once, so that they overlap */
	for (unsigned r = 0; r < ROUNDS; r++) {
		unsigned k = (unsigned)(rnd_next(&seed) % HELD);
		struct page *g = &pages[k];
		struct obj *o = &objs[k];

		if (g->tag)
			page_free(g), g->tag = 0;
		else {
			unsigned order = rnd_next(&seed) % 4 ? 0 : (unsigned)(rnd_next(&seed) % 4);
			pa_t pa = order ? pmm_alloc(order, 0) : pmm_alloc_page(0);
			if (pa != PMM_NO_FRAME) {
				*g = (struct page){ pa, order, tag_of(cpu, ++n) };
				fill(phys_to_virt(pa), (PAGE_SIZE << order) < 512 ? (PAGE_SIZE << order) : 512, g->tag);
			}
		}
		if (o->p) {
			/* One in three goes to the next CPU to free; if its box is full, free it here. */
			if (rnd_next(&seed) % 3 || !box_put(&box[cpu], *o))
				obj_free(o);
			o->p = NULL;
		} else {
			size_t sz = sizes[rnd_next(&seed) % (sizeof(sizes) / sizeof(sizes[0]))];
			void *p = kmalloc(sz);
			if (p) {
				*o = (struct obj){ p, sz, tag_of(cpu, ++n) };
				fill(p, sz, o->tag);
			}
		}
		take_mail(cpu);
	}
	for (unsigned k = 0; k < HELD; k++) {
		if (pages[k].tag)
			page_free(&pages[k]);
		if (objs[k].p)
			obj_free(&objs[k]);
	}
	__atomic_add_fetch(&workers_done, 1, __ATOMIC_RELEASE);
	/* The next worker may still be putting: take its mail until everyone is done. */
	while (__atomic_load_n(&workers_done, __ATOMIC_ACQUIRE) < WORKERS)
		take_mail(cpu);
	take_mail(cpu);
	return NULL;
}

/* Another CPU, emptying every CPU's page cache and magazines while they work. */
static void *drainer(void *arg)
{
	(void)arg;
	cpu_start(WORKERS);
	while (!__atomic_load_n(&stop_drainer, __ATOMIC_ACQUIRE)) {
		pmm_drain_all_caches();
		for (unsigned c = 0; c < KMALLOC_CLASSES; c++)
			mag_flush_all(&kheap.classes[c]);
		if (drains % 4 == 0)
			slab_reap();
		if (drains % 8 == 0 && pmm_check())
			drain_check_bad++;
		drains++;
	}
	return NULL;
}

static void test_smp_stress(void)
{
	pthread_t w[WORKERS], d;
	uint64_t before;

	host_mm_boot(64 * MiB, true);
	slab_init();
	fake_online_mask = (1u << (WORKERS + 1)) - 1;
	pmm_drain_all_caches();
	before = pmm_free_count();
	boot_cpu = fake_cpu;
	REQUIRE(pthread_create(&d, NULL, drainer, NULL) == 0);
	for (uintptr_t i = 0; i < WORKERS; i++)
		REQUIRE(pthread_create(&w[i], NULL, worker, (void *)i) == 0);
	for (int i = 0; i < WORKERS; i++)
		pthread_join(w[i], NULL);
	__atomic_store_n(&stop_drainer, 1, __ATOMIC_RELEASE);
	pthread_join(d, NULL);
	fake_online_mask = 1;
	printf("# %u drains and flushes ran while the workers did\n", drains);
	CHECK(drains > 0);
	CHECK_EQ(bad_pattern, 0);
	CHECK_EQ(drain_check_bad, 0);
	CHECK_EQ(slab_live_objects(), 0);
	CHECK_EQ(slab_check(), 0);
	slab_reap();
	pmm_drain_all_caches();
	CHECK_EQ(pmm_check(), 0);
	CHECK_EQ(pmm_free_count(), before);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(test_smp_stress);
	return check_finish();
}
