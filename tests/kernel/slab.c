/*
 * slab.c - the kernel heap's self-tests, on the real stack: the buddy, the
 * kernel's page tables, real interrupts. Each test gives back what it takes
 * and reaps, so the runner's leak check (free frames, heap objects) holds.
 */
#include "kernel/ktest.h"
#include "mm/slab/slab.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"
#include "mm/arch.h"
#include "lib/kstring.h"
#include "lib/prng.h"

static uint64_t seed = 0x5eed;

static uint64_t rnd(void)
{
	return prng_next(&seed);
}

static uint64_t kernel_root(void)
{
	return pg_kernel_root() ? pg_kernel_root() : arch_read_cr3() & ~0xfffULL;
}

KTEST(slab, kmalloc_sizes)
{
	for (size_t sz = 1; sz <= 20000; sz += sz < 300 ? 1 : 97) {
		uint8_t *p = kmalloc(sz);
		KT_ASSERT(p);
		KT_EXPECT((uintptr_t)p % 8 == 0);
		KT_EXPECT(ksize(p) >= sz);
		memset(p, 0x5a, sz);
		KT_EXPECT(p[sz - 1] == 0x5a);
		kfree(p);
	}
	KT_EXPECT(kmalloc(0) == NULL);
	KT_EXPECT(kmalloc((size_t)-1) == NULL);
	KT_EXPECT(kcalloc((size_t)1 << 40, (size_t)1 << 40) == NULL);
	kfree(NULL);
	slab_reap();
}

static unsigned ctor_runs;
static void ctor(void *p) { memset(p, 0x11, 32); ctor_runs++; }

KTEST(slab, cache_lifecycle)
{
	struct cache *c = cache_create("ktest", 32, 32, ctor);
	void *p[100];
	KT_ASSERT(c);
	for (int i = 0; i < 100; i++) {
		p[i] = cache_alloc(c);
		KT_ASSERT(p[i]);
		KT_EXPECT((uintptr_t)p[i] % 32 == 0);
		KT_EXPECT(*(uint8_t *)p[i] == 0x11);
	}
	KT_EXPECT(cache_destroy(c) == -1);      /* live objects: refused */
	for (int i = 0; i < 100; i++)
		cache_free(c, p[i]);
	KT_EXPECT(cache_destroy(c) == 0);
	KT_EXPECT(slab_check() == 0);
	slab_reap();
}

/* A random mix against a small model: contents survive, no overlap by construction of the checks. */
KTEST(slab, random_model)
{
	enum { N = 512 };
	static uint8_t *p[N];
	static uint16_t sz[N];
	for (int step = 0; step < 50000; step++) {
		unsigned i = (unsigned)(rnd() % N);
		if (p[i]) {
			for (unsigned k = 0; k < sz[i]; k++)
				if (p[i][k] != (uint8_t)i) {
					KT_EXPECT(!"object contents changed");
					break;
				}
			kfree(p[i]);
			p[i] = NULL;
		} else {
			sz[i] = (uint16_t)(1 + rnd() % (rnd() % 8 ? 256 : 12000));
			p[i] = kmalloc(sz[i]);
			KT_ASSERT(p[i]);
			memset(p[i], (int)i, sz[i]);
		}
	}
	for (int i = 0; i < N; i++) {
		kfree(p[i]);
		p[i] = NULL;
	}
	KT_EXPECT(slab_check() == 0);
	slab_reap();
}

KTEST(slab, misuse_reported)
{
	unsigned e = slab_error_count();
	int local;
	char *p = kmalloc(64);
	KT_ASSERT(p);
	kfree(&local);
	KT_EXPECT(slab_last_error().kind == SLAB_E_FOREIGN);
	kfree(p + 1);
	kfree(p + 64);                           /* never handed out */
	KT_EXPECT(slab_last_error().kind == SLAB_E_DOUBLE_FREE);
	KT_EXPECT(slab_error_count() == e + 3);
	kfree(p);
	KT_EXPECT(slab_check() == 0);
	slab_reap();
}

/*
 * A double kfree through a magazine, with the default flags: reported, and
 * the object is not handed out twice; after a reap the slab of an object
 * still live is still mapped.
 */
KTEST(slab, double_free_through_magazine)
{
	unsigned e = slab_error_count();
	void *keep = kmalloc(64), *p = kmalloc(64);
	KT_ASSERT(keep && p);
	kfree(p);
	kfree(p);
	KT_EXPECT(slab_error_count() == e + 1);
	KT_EXPECT(slab_last_error().kind == SLAB_E_DOUBLE_FREE);
	void *a = kmalloc(64), *b = kmalloc(64);
	KT_EXPECT(a && b && a != b);
	kfree(a);
	kfree(b);
	slab_reap();
	KT_EXPECT(pg_translate(kernel_root(), (uintptr_t)keep, NULL, NULL, NULL) == 0);
	memset(keep, 0x42, 64);
	kfree(keep);
	KT_EXPECT(slab_error_count() == e + 1);
	KT_EXPECT(slab_check() == 0);
	slab_reap();
}

KTEST(slab, debug_aids)
{
	unsigned was = slab_debug_get(), e = slab_error_count();
	slab_debug_set(SLAB_DEBUG_ALL);
	void *keep = kmalloc(64);               /* holds the slab: an empty one is unmapped at once */
	uint8_t *p = kmalloc(64);
	KT_ASSERT(keep && p);
	KT_EXPECT(p[0] == SLAB_FILL_ALLOC);
	kfree(p);
	KT_EXPECT(p[0] == SLAB_POISON_FREE);
	p[3] = 0;                                /* use after free */
	uint8_t *q = kmalloc(64);
	KT_EXPECT(q == p);
	KT_EXPECT(slab_last_error().kind == SLAB_E_USE_AFTER_FREE);
	kfree(q);
	kfree(q);                                /* double free */
	KT_EXPECT(slab_last_error().kind == SLAB_E_DOUBLE_FREE);
	kfree(keep);
	struct cache *c = cache_create("ktest-rz", 40, 0, NULL);   /* made now: has redzones */
	KT_ASSERT(c);
	uint8_t *o = cache_alloc(c);
	o[40] = 1;                               /* overrun */
	cache_free(c, o);
	KT_EXPECT(slab_last_error().kind == SLAB_E_REDZONE);
	KT_EXPECT(cache_destroy(c) == 0);
	KT_EXPECT(slab_error_count() == e + 3);
	slab_debug_set(was);
	KT_EXPECT(slab_check() == 0);
	slab_reap();
}

/* Failure injection at every step of a small workload: NULLs, no leak, no crash. */
KTEST(slab, failure_injection)
{
	for (unsigned n = 1; n < 40; n++) {
		if (n & 1)
			slab_fail_nth(n);
		else
			pmm_fail_nth(n);
		void *a = kmalloc(100), *b = kmalloc(5000), *c = kmalloc(40000), *d = kcalloc(3, 700);
		void *e = a ? krealloc(a, 3000) : NULL;
		if (e)
			a = e;
		kfree(a), kfree(b), kfree(c), kfree(d);
		slab_fail_nth(0), pmm_fail_nth(0);
	}
	KT_EXPECT(slab_check() == 0);
	slab_reap();
}

/*
 * The alloc(5) path, layer by layer: the heap grew through the VMM (a new
 * anonymous region in the heap area), the buddy gave a frame, the page is
 * mapped in the kernel half; and all of it goes back.
 */
KTEST(slab, alloc5_path)
{
	struct vm_stats st0, st1;
	struct vm_region r;
	slab_reap();
	vmm_stats(vmm_kernel_space(), &st0);
	uint64_t free_before = pmm_free_count();
	uint8_t *p = kmalloc(5);
	KT_ASSERT(p);
	KT_EXPECT(ksize(p) == 8);
	KT_EXPECT(pmm_free_count() < free_before);              /* frames were taken */
	vmm_stats(vmm_kernel_space(), &st1);
	KT_EXPECT(st1.regions > st0.regions);   /* the VMM grew the heap (the class; magazines have a warm slab) */
	KT_EXPECT((uintptr_t)p >= VMM_KHEAP_BASE && (uintptr_t)p < VMM_KLARGE_BASE);
	KT_ASSERT(vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r));
	KT_EXPECT(r.kind == VM_ANON && r.flags == (VM_READ | VM_WRITE) && r.resident == r.len / PAGE_SIZE);
	uint64_t pa = 0;
	unsigned flags = 0;
	KT_ASSERT(pg_translate(kernel_root(), (uintptr_t)p, &pa, &flags, NULL) == 0);
	KT_EXPECT((flags & (PG_READ | PG_WRITE)) == (PG_READ | PG_WRITE));
	KT_EXPECT(!(flags & PG_USER) && (!(flags & PG_EXEC) || !paging_features()->nx));  /* no NX: every page runs */
	KT_EXPECT(pmm_is_ram(pa));
	KT_EXPECT(pmm_frame_refcount(pa & ~0xfffULL) == 1);      /* a frame the buddy handed out */
	kfree(p);
	slab_reap();
	KT_EXPECT(!vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r));
	KT_EXPECT(pg_translate(kernel_root(), (uintptr_t)p, NULL, NULL, NULL) != 0);
	KT_EXPECT(pmm_free_count() == free_before);
}

/* Above the classes: whole pages in the large area, mapped, and unmapped by kfree. */
KTEST(slab, large_through_vmm)
{
	struct vm_region r;
	uint8_t *p = kmalloc(40000);
	KT_ASSERT(p);
	KT_EXPECT((uintptr_t)p >= VMM_KLARGE_BASE && (uintptr_t)p < VMM_KMMIO_BASE);
	KT_ASSERT(vmm_lookup(vmm_kernel_space(), (uintptr_t)p, &r));
	KT_EXPECT(r.base == (uintptr_t)p && r.len == 10 * PAGE_SIZE);
	memset(p, 0x3c, 40000);
	KT_EXPECT(p[39999] == 0x3c);
	kfree(p);
	KT_EXPECT(pg_translate(kernel_root(), (uintptr_t)p, NULL, NULL, NULL) != 0);
	slab_reap();
}
