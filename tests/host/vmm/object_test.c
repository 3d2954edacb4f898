/*
 * object_test.c - memory objects (src/mm/vmm/object.c) and the regions
 * that map them (VM_SHARED, VM_PRIVATE), against what they must do: the
 * index holds what a plain array of pages would, through random growth
 * and cuts; every frame is counted once for the object and once per
 * mapping, and all come back when the last holder goes, in any order; a
 * write through a shared region is the object's and every other
 * mapping's at once, across spaces and across a fork; a private region
 * reads the object in place and copies a page at its first write; a page
 * past the object's end faults as VMF_BEYOND_END; and out of memory
 * leaves every count where it was.
 */
#include <stdlib.h>
#include <string.h>
#include "vmm_test.h"
#include "fake_arch.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "lib/prng.h"

#define PG 4096UL
#define URW (VM_READ | VM_WRITE | VM_USER)
#define UR (VM_READ | VM_USER)
#define UW (VM_ACC_WRITE | VM_ACC_USER)
#define BASE 0x40000000UL

static unsigned releases;
static void count_release(struct vm_object *o) { (void)o; releases++; }

static uint64_t pa_of(struct vm_space *s, uintptr_t va, unsigned *flags)
{
	uint64_t pa;
	if (pg_translate(vmm_space_root(s), va & ~(PG - 1), &pa, flags, 0))
		return 0;
	return pa;      /* the page's frame */
}

/* An access as the CPU makes it: fault first where the tables refuse it. */
static enum vm_fault_why touch(struct vm_space *s, uintptr_t va, bool write)
{
	unsigned fl;
	uint64_t pa = pa_of(s, va, &fl);
	if (pa && (!write || (fl & PG_WRITE)))
		return VMF_RESOLVED;
	return vmm_fault(s, va, (write ? UW : VM_ACC_USER) | (pa ? VM_ACC_PRESENT : 0), 0);
}

static bool write_byte(struct vm_space *s, uintptr_t va, uint8_t v)
{
	if (touch(s, va, true) != VMF_RESOLVED)
		return false;
	*(uint8_t *)phys_to_virt(pa_of(s, va, 0) + (va & (PG - 1))) = v;
	return true;
}

static int read_byte(struct vm_space *s, uintptr_t va)
{
	if (touch(s, va, false) != VMF_RESOLVED)
		return -1;
	return *(uint8_t *)phys_to_virt(pa_of(s, va, 0) + (va & (PG - 1)));
}

/* The object's byte at off, read as a file system would: -1 if the page is not there. */
static int obj_byte(struct vm_object *o, uint64_t off)
{
	pa_t pa;
	if (vmo_page(o, off / PG, false, &pa))
		return -1;
	int v = *(uint8_t *)phys_to_virt(pa + off % PG);
	vmo_page_put(pa);
	return v;
}

static void obj_write(struct vm_object *o, uint64_t off, uint8_t v)
{
	pa_t pa;
	REQUIRE(vmo_page(o, off / PG, true, &pa) == 0);
	*(uint8_t *)phys_to_virt(pa + off % PG) = v;
	vmo_page_put(pa);
}

static int map(struct vm_space *s, uintptr_t va, size_t pages, enum vm_kind kind, unsigned flags,
	       struct vm_object *o, uint64_t off)
{
	struct vm_req r = { .len = pages * PG, .kind = kind, .flags = flags, .obj = o, .off = off };
	return vmm_alloc_fixed(s, va, &r);
}

/*
 * Random pages made, looked up and cut away, against an array that says
 * which pages exist and the tag written into each; the index's counts are
 * checked after every step, and an object put at the end gives back every
 * frame it took.
 */
#define MODEL_PAGES 3000
static void object_against_model(void)
{
	vmm_test_boot(64);
	static uint8_t tag[MODEL_PAGES];        /* 0: no page; else the byte its frame starts with */
	memset(tag, 0, sizeof(tag));
	pmm_drain_all_caches();
	uint64_t start = pmm_free_count(), seed = 15, size = MODEL_PAGES * PG;
	struct vm_object o;
	vmo_init(&o, size, count_release);
	releases = 0;
	for (unsigned step = 0; step < 4000; step++) {
		/* Pages far apart (whole second-level spans) as well as neighbours. */
		uint64_t idx = prng_next(&seed) % MODEL_PAGES, r = prng_next(&seed) % 100;
		pa_t pa;
		if (r < 60) {
			int e = vmo_page(&o, idx, true, &pa);
			if (idx * PG >= size) {
				CHECK_EQ(e, VMM_E_BOUNDS);
				continue;
			}
			REQUIRE(e == 0);
			uint8_t *p = phys_to_virt(pa);
			if (!tag[idx]) {
				CHECK_EQ(p[0], 0);       /* new pages are zeroed */
				tag[idx] = (uint8_t)(1 + step % 255);
				p[0] = tag[idx];
			}
			CHECK_EQ(p[0], tag[idx]);
			CHECK_EQ(pmm_frame_refcount(pa), 2);    /* the object's and ours */
			vmo_page_put(pa);
		} else if (r < 90) {
			int e = vmo_page(&o, idx, false, &pa);
			if (idx * PG >= size)
				CHECK_EQ(e, VMM_E_BOUNDS);
			else if (!tag[idx])
				CHECK_EQ(e, VMM_E_NOT_MAPPED);
			else {
				CHECK_EQ(e, 0);
				if (!e) {
					CHECK_EQ(*(uint8_t *)phys_to_virt(pa), tag[idx]);
					vmo_page_put(pa);
				}
			}
		} else {
			/* Cut to a random size (not page aligned), or grow back. */
			uint64_t nsize = r < 97 ? prng_next(&seed) % (MODEL_PAGES * PG) : MODEL_PAGES * PG;
			CHECK_EQ(vmo_resize(&o, nsize), 0);
			for (uint64_t i = (nsize + PG - 1) / PG; i < MODEL_PAGES && nsize < size; i++)
				tag[i] = 0;
			size = nsize;
		}
		uint64_t n = 0;
		for (unsigned i = 0; i < MODEL_PAGES; i++)
			n += tag[i] != 0;
		CHECK_EQ(o.pages, n);
		if (step % 97 == 0)
			CHECK_EQ(vmo_check(&o), 0);
	}
	CHECK_EQ(vmo_check(&o), 0);
	CHECK(o.tables > 0);
	vmo_put(&o);
	CHECK_EQ(releases, 1);
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), start);
	CHECK_EQ(pmm_check(), 0);
}

/* Bytes past the end of the last page are zeroed by a cut, so growing back reads zeroes. */
static void object_cut_zeroes_the_tail(void)
{
	vmm_test_boot(64);
	struct vm_object o;
	vmo_init(&o, 2 * PG, 0);
	obj_write(&o, 100, 'a');
	obj_write(&o, 3000, 'b');
	obj_write(&o, PG + 5, 'c');
	CHECK_EQ(vmo_resize(&o, 1000), 0);
	CHECK_EQ(o.pages, 1);
	CHECK_EQ(vmo_resize(&o, 2 * PG), 0);
	CHECK_EQ(obj_byte(&o, 100), 'a');
	CHECK_EQ(obj_byte(&o, 3000), 0);
	CHECK_EQ(obj_byte(&o, PG + 5), -1);     /* the cut page is gone: not there */
	CHECK_EQ(vmo_resize(&o, (VMO_MAX_PAGES + 1) * PG), VMM_E_INVAL);
	vmo_put(&o);
}

/* vmo_page failing at each allocation it makes (three index pages, the frame): nothing left. */
static void object_out_of_memory_leaves_nothing(void)
{
	vmm_test_boot(64);
	struct vm_object o;
	vmo_init(&o, VMO_MAX_PAGES * PG, 0);
	obj_write(&o, 0, 1);
	unsigned failed = 0;
	uint64_t far = (1UL << 38) / PG + 5;    /* a page in another top-level span: 3 new levels */
	for (unsigned nth = 1; nth <= 5; nth++) {
		pmm_drain_all_caches();
		uint64_t before = pmm_free_count(), pages = o.pages, tables = o.tables;
		pa_t pa;
		pmm_fail_nth(nth);
		int e = vmo_page(&o, far, true, &pa);
		pmm_fail_nth(0);
		if (e) {
			failed++;
			CHECK_EQ(e, VMM_E_NO_MEMORY);
			pmm_drain_all_caches();
			CHECK_EQ(pmm_free_count(), before);
			CHECK_EQ(o.pages, pages);
			CHECK_EQ(o.tables, tables);
		} else {
			vmo_page_put(pa);
			CHECK_EQ(vmo_resize(&o, PG), 0);     /* cut it away again */
			CHECK_EQ(vmo_resize(&o, VMO_MAX_PAGES * PG), 0);
		}
		CHECK_EQ(vmo_check(&o), 0);
	}
	CHECK_EQ(failed, 3);    /* two index levels and the frame were refused once each */
	CHECK_EQ(obj_byte(&o, 0), 1);
	vmo_put(&o);
}

/*
 * One object shared by two spaces, and by a fork of one of them: a write
 * by any is seen by all and by the object; the frame is one, counted once
 * for the object and once per mapping.
 */
static void shared_region_is_one_memory(void)
{
	vmm_test_boot(64);
	pmm_drain_all_caches();
	uint64_t start = pmm_free_count();
	struct vm_object *o = malloc(sizeof(*o));
	REQUIRE(o);
	vmo_init(o, 4 * PG, count_release);
	releases = 0;
	struct vm_space *a = vmm_space_create(), *b = vmm_space_create(), *c;
	REQUIRE(a && b);
	REQUIRE(map(a, BASE, 4, VM_SHARED, URW, o, 0) == 0);
	REQUIRE(map(b, BASE + 64 * PG, 2, VM_SHARED, URW, o, 2 * PG) == 0);    /* pages 2 and 3 */
	CHECK(write_byte(a, BASE + 2 * PG + 9, 'A'));
	CHECK_EQ(read_byte(b, BASE + 64 * PG + 9), 'A');
	CHECK(write_byte(b, BASE + 65 * PG, 'B'));
	CHECK_EQ(read_byte(a, BASE + 3 * PG), 'B');
	CHECK_EQ(obj_byte(o, 3 * PG), 'B');
	obj_write(o, 2 * PG + 10, 'O');                          /* as write() would */
	CHECK_EQ(read_byte(a, BASE + 2 * PG + 10), 'O');
	CHECK_EQ(pa_of(a, BASE + 2 * PG, 0), pa_of(b, BASE + 64 * PG, 0));
	CHECK_EQ(pmm_frame_refcount(pa_of(a, BASE + 2 * PG, 0)), 3);

	uint64_t shared = 0;
	REQUIRE(vmm_fork(a, &c, &shared) == 0);
	CHECK_EQ(shared, 2);
	unsigned fl;
	CHECK(pa_of(c, BASE + 2 * PG, &fl) && (fl & PG_WRITE));   /* no copy-on-write: still writable */
	CHECK(write_byte(c, BASE + 2 * PG + 11, 'C'));
	CHECK_EQ(read_byte(a, BASE + 2 * PG + 11), 'C');
	CHECK_EQ(read_byte(b, BASE + 64 * PG + 11), 'C');
	struct vm_stats st;
	vmm_stats(c, &st);
	CHECK_EQ(st.object_pages, 2);
	CHECK_EQ(st.shared, 0);
	CHECK_EQ(st.cow_copied, 0);

	/* Half of a's region goes (a split, then a free): the object and the rest stay. */
	CHECK_EQ(vmm_free(a, BASE, 2 * PG), 0);
	CHECK_EQ(vmm_check(a), 0);
	CHECK_EQ(read_byte(a, BASE + 3 * PG), 'B');
	CHECK_EQ(o->refs, 4);            /* the maker, a, b, c */
	CHECK_EQ(vmm_space_destroy(b), 0);
	CHECK_EQ(vmm_space_destroy(a), 0);
	CHECK_EQ(read_byte(c, BASE + 3 * PG), 'B');
	CHECK_EQ(vmm_space_destroy(c), 0);
	CHECK_EQ(o->refs, 1);
	CHECK_EQ(releases, 0);
	CHECK_EQ(obj_byte(o, 2 * PG + 11), 'C');         /* the object outlives its mappings */
	vmo_put(o);
	CHECK_EQ(releases, 1);
	free(o);
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), start);
}

/*
 * A private region reads the object in place (its frame, read-only) and
 * copies a page at its first write: the object does not see the write,
 * and the region no longer sees the object's later writes to that page.
 */
static void private_region_copies_on_write(void)
{
	vmm_test_boot(64);
	pmm_drain_all_caches();
	uint64_t start = pmm_free_count();
	struct vm_object o;
	vmo_init(&o, 4 * PG, 0);
	obj_write(&o, 0, 'x');
	obj_write(&o, PG, 'y');
	obj_write(&o, 2 * PG + 50, 'r');
	struct vm_space *s = vmm_space_create(), *c;
	REQUIRE(s);
	REQUIRE(map(s, BASE, 4, VM_PRIVATE, URW, &o, 0) == 0);
	CHECK_EQ(read_byte(s, BASE), 'x');
	unsigned fl;
	pa_t pa0 = pa_of(s, BASE, &fl);
	CHECK(!(fl & PG_WRITE));
	obj_write(&o, 1, 'z');                   /* not written by s yet: it sees the object's page */
	CHECK_EQ(read_byte(s, BASE + 1), 'z');
	CHECK(write_byte(s, BASE, 'p'));         /* present read-only: copied now */
	CHECK(pa_of(s, BASE, 0) != pa0);
	CHECK_EQ(obj_byte(&o, 0), 'x');
	obj_write(&o, 2, 'q');
	CHECK_EQ(read_byte(s, BASE + 2), 0);     /* its own copy now */
	CHECK(write_byte(s, BASE + PG + 3, 'w'));        /* not present: copied at once */
	CHECK_EQ(read_byte(s, BASE + PG), 'y');
	CHECK_EQ(obj_byte(&o, PG + 3), 0);
	struct vm_stats st;
	vmm_stats(s, &st);
	CHECK_EQ(st.cow_copied, 2);

	/* A hole reads as zeroes from a frame of the region's own: the object gains no page. */
	CHECK_EQ(read_byte(s, BASE + 3 * PG), 0);
	CHECK_EQ(obj_byte(&o, 3 * PG), -1);
	CHECK_EQ(o.pages, 3);

	/* A fork shares the copies copy-on-write too; the object's pages stay the object's. */
	CHECK_EQ(read_byte(s, BASE + 2 * PG + 50), 'r');  /* a third page, read only */
	REQUIRE(vmm_fork(s, &c, 0) == 0);
	CHECK(write_byte(c, BASE, 'C'));
	CHECK_EQ(read_byte(s, BASE), 'p');
	CHECK(write_byte(c, BASE + 2 * PG, 'D'));
	CHECK_EQ(obj_byte(&o, 2 * PG), 0);
	CHECK_EQ(read_byte(s, BASE + 2 * PG), 0);
	/* mprotect read-only then back: pages of the object stay read-only, so a write still copies. */
	CHECK_EQ(vmm_protect(s, BASE, 4 * PG, UR), 0);
	CHECK_EQ(vmm_protect(s, BASE, 4 * PG, URW), 0);
	CHECK(pa_of(s, BASE + 2 * PG, &fl) && !(fl & PG_WRITE));
	CHECK(write_byte(s, BASE + 2 * PG, 'E'));
	CHECK_EQ(obj_byte(&o, 2 * PG), 0);
	CHECK_EQ(vmm_check(s), 0);
	CHECK_EQ(vmm_check(c), 0);
	CHECK_EQ(vmm_space_destroy(s), 0);
	CHECK_EQ(vmm_space_destroy(c), 0);
	CHECK_EQ(o.refs, 1);
	vmo_put(&o);
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), start);
}

/* Past the object's end: VMF_BEYOND_END; a cut object leaves a mapped page with its mapping. */
static void past_the_end_and_cut(void)
{
	vmm_test_boot(64);
	pmm_drain_all_caches();
	uint64_t start = pmm_free_count();
	struct vm_object o;
	vmo_init(&o, PG + 10, 0);            /* one page and ten bytes: two pages */
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	REQUIRE(map(s, BASE, 4, VM_SHARED, URW, &o, 0) == 0);
	CHECK(write_byte(s, BASE + PG + 100, 'e'));      /* the last page: whole, as mmap gives it */
	CHECK_EQ(touch(s, BASE + 2 * PG, false), VMF_BEYOND_END);
	CHECK_EQ(touch(s, BASE + 3 * PG, true), VMF_BEYOND_END);
	struct vm_fault f;
	vmm_fault(s, BASE + 2 * PG, VM_ACC_USER, &f);
	char line[200];
	vmm_fault_explain(&f, line, sizeof(line));
	CHECK(strstr(line, "past the end") != NULL);
	/* Cut to nothing: the object lets go, the mapping keeps the frame until it goes. */
	pa_t pa = pa_of(s, BASE + PG, 0);
	CHECK_EQ(vmo_resize(&o, 0), 0);
	CHECK_EQ(o.pages, 0);
	CHECK_EQ(pmm_frame_refcount(pa), 1);
	CHECK_EQ(read_byte(s, BASE + PG + 100), 'e');
	CHECK_EQ(touch(s, BASE, false), VMF_BEYOND_END);
	CHECK_EQ(vmm_space_destroy(s), 0);
	vmo_put(&o);
	pmm_drain_all_caches();
	CHECK_EQ(pmm_free_count(), start);
}

/* Object regions need an object and an aligned offset that does not wrap. */
static void object_region_arguments(void)
{
	vmm_test_boot(64);
	struct vm_object o;
	vmo_init(&o, PG, 0);
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	CHECK_EQ(map(s, BASE, 1, VM_SHARED, URW, 0, 0), VMM_E_INVAL);
	CHECK_EQ(map(s, BASE, 1, VM_PRIVATE, URW, &o, 100), VMM_E_INVAL);
	CHECK_EQ(map(s, BASE, 1, VM_SHARED, URW, &o, -PG), VMM_E_INVAL);
	CHECK_EQ(map(s, BASE, 1, VM_SHARED + 7, URW, &o, 0), VMM_E_INVAL);
	CHECK_EQ(o.refs, 1);
	CHECK_EQ(vmm_space_destroy(s), 0);
	vmo_put(&o);
}

/*
 * A fault in a private region failing at each allocation (a table, the
 * copy, a zeroed frame for a hole): VMF_NO_FRAME, nothing taken, and the
 * object untouched (a private region never adds to it).
 */
static void object_fault_out_of_memory(void)
{
	vmm_test_boot(64);
	struct vm_object o;
	vmo_init(&o, 8 * PG, 0);
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	REQUIRE(map(s, BASE, 8, VM_PRIVATE, URW, &o, 0) == 0);
	for (unsigned i = 0; i < 4; i++)
		obj_write(&o, i * PG, (uint8_t)(1 + i));        /* pages 0-3 are copied, 4-7 holes */
	unsigned failed = 0;
	for (unsigned nth = 1; nth <= 8; nth++) {
		pmm_drain_all_caches();
		uint64_t before = pmm_free_count(), pages = o.pages, tables = o.tables;
		pmm_fail_nth(nth);
		enum vm_fault_why why = vmm_fault(s, BASE + nth * PG - PG, UW, 0);
		pmm_fail_nth(0);
		if (why != VMF_RESOLVED) {
			failed++;
			CHECK_EQ(why, VMF_NO_FRAME);
			pmm_drain_all_caches();
			CHECK_EQ(pmm_free_count(), before);
			CHECK_EQ(o.tables, tables);
			CHECK_EQ(o.pages, pages);
		}
		CHECK_EQ(vmm_check(s), 0);
		CHECK_EQ(vmo_check(&o), 0);
	}
	CHECK(failed >= 4);
	for (unsigned i = 0; i < 8; i++)
		CHECK_EQ(read_byte(s, BASE + i * PG), i < 4 ? 1 + i : 0);
	CHECK_EQ(o.pages, 4);
	CHECK_EQ(vmm_space_destroy(s), 0);
	vmo_put(&o);
}

/*
 * A shared region made read-only without VM_MAYWRITE (a file open for
 * reading) cannot be made writable; with it, or made writable, it can.
 */
static void shared_region_write_needs_maywrite(void)
{
	vmm_test_boot(64);
	struct vm_object o;
	vmo_init(&o, 4 * PG, 0);
	struct vm_space *s = vmm_space_create();
	REQUIRE(s);
	REQUIRE(map(s, BASE, 2, VM_SHARED, UR, &o, 0) == 0);
	REQUIRE(map(s, BASE + 8 * PG, 2, VM_SHARED, UR | VM_MAYWRITE, &o, 0) == 0);
	REQUIRE(map(s, BASE + 16 * PG, 2, VM_SHARED, URW, &o, 0) == 0);
	CHECK_EQ(read_byte(s, BASE), 0);
	CHECK_EQ(vmm_protect(s, BASE, PG, URW), VMM_E_ACCESS);
	CHECK_EQ(touch(s, BASE, true), VMF_WRITE_RO);            /* and nothing changed */
	CHECK_EQ(vmm_protect(s, BASE + 8 * PG, PG, URW), 0);       /* a split keeps the right */
	CHECK(write_byte(s, BASE + 8 * PG, 'm'));
	CHECK_EQ(vmm_protect(s, BASE + 9 * PG, PG, UR), 0);
	CHECK_EQ(vmm_protect(s, BASE + 9 * PG, PG, URW), 0);
	CHECK_EQ(vmm_protect(s, BASE + 16 * PG, 2 * PG, UR), 0);   /* made writable: may be again */
	CHECK_EQ(vmm_protect(s, BASE + 16 * PG, 2 * PG, URW), 0);
	struct vm_space *c;
	REQUIRE(vmm_fork(s, &c, 0) == 0);                         /* the child inherits each */
	CHECK_EQ(vmm_protect(c, BASE, PG, URW), VMM_E_ACCESS);
	CHECK_EQ(vmm_protect(c, BASE + 9 * PG, PG, URW), 0);
	CHECK_EQ(obj_byte(&o, 0), 'm');
	CHECK_EQ(vmm_check(s), 0);
	CHECK_EQ(vmm_space_destroy(c), 0);
	CHECK_EQ(vmm_space_destroy(s), 0);
	vmo_put(&o);
}

void object_tests(void)
{
	RUN(shared_region_write_needs_maywrite);
	RUN(object_against_model);
	RUN(object_cut_zeroes_the_tail);
	RUN(object_out_of_memory_leaves_nothing);
	RUN(shared_region_is_one_memory);
	RUN(private_region_copies_on_write);
	RUN(past_the_end_and_cut);
	RUN(object_region_arguments);
	RUN(object_fault_out_of_memory);
}
