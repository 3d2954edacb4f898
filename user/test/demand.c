/*
 * demand.c - memory taken on first touch: the stack grows down page by
 * page to near its limit, heap pages cost one fault each, and peak_kib
 * remembers the most resident_kib has been.
 */
#include "ktap.h"

#define STACK_LOW (STRATA_STACK_TOP - STRATA_STACK_MAX)

static struct strata_meminfo m0, m1;
static unsigned long peak_seen;

static void note_peak(void)
{
	struct strata_meminfo mi;

	meminfo(&mi);
	if (mi.peak_kib < mi.resident_kib)
		ktap_fail("peak %lu KiB below resident %lu KiB", mi.peak_kib, mi.resident_kib);
	if (mi.peak_kib < peak_seen)
		ktap_fail("peak fell from %lu to %lu KiB", peak_seen, mi.peak_kib);
	if (mi.resident_kib > peak_seen)
		peak_seen = mi.resident_kib;
}

/*
 * Pages below where this function runs, down to 64 KiB above the stack's
 * limit: each first write is one fault and one more page. The kernel
 * enters on its own stack, so memory below RSP is safe to use.
 */
static void t_stack_growth(void)
{
	unsigned long sp = (unsigned long)__builtin_frame_address(0);
	unsigned long hi = (sp - (128UL << 10)) & ~(PAGE_SIZE - 1);
	unsigned long lo = STACK_LOW + (64UL << 10);
	unsigned long n = (hi - lo) / PAGE_SIZE;

	T_EXPECT(sp < STRATA_STACK_TOP && sp > STACK_LOW + (256UL << 10));
	/* Down to hi first, unmeasured, so the grown stack has no holes. */
	for (unsigned long a = (sp & ~(PAGE_SIZE - 1)) - PAGE_SIZE; a >= hi; a -= PAGE_SIZE)
		*(volatile char *)a = 0;
	meminfo(&m0);
	for (unsigned long a = hi - PAGE_SIZE; a >= lo; a -= PAGE_SIZE)
		*(volatile char *)a = 1;
	meminfo(&m1);
	T_EQ(m1.faults - m0.faults, n);
	T_EQ(m1.resident_kib - m0.resident_kib, n * (PAGE_SIZE / 1024));
	/* Fresh stack pages were zero apart from the byte written. */
	for (unsigned long a = lo; a < hi; a += PAGE_SIZE)
		for (unsigned long off = 1; off < PAGE_SIZE; off += 64)
			if (*(volatile char *)(a + off)) {
				ktap_fail("stack page 0x%lx not zero at +%lu", a, off);
				return;
			}
	/* Touched again: no more faults. */
	meminfo(&m0);
	for (unsigned long a = hi - PAGE_SIZE; a >= lo; a -= PAGE_SIZE)
		*(volatile char *)a = 2;
	meminfo(&m1);
	T_EQ(m1.faults, m0.faults);
	T_EQ(m1.resident_kib, m0.resident_kib);
	note_peak();
}

static void t_heap_pages(void)
{
	size_t n = 32;
	char *p = mmap(NULL, n * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	for (size_t k = 1; k <= n; k *= 2) {    /* 1, 2, 4, ... new pages at a time */
		meminfo(&m0);
		for (size_t i = k - 1; i < 2 * k - 1 && i < n; i++)
			p[i * PAGE_SIZE + i] = (char)i;
		meminfo(&m1);
		size_t touched = (2 * k - 1 < n ? 2 * k - 1 : n) - (k - 1);
		T_EQ(m1.faults - m0.faults, touched);
		T_EQ(m1.resident_kib - m0.resident_kib, touched * (PAGE_SIZE / 1024));
		note_peak();
	}
	for (size_t i = 0; i < n; i++)
		T_EQ(p[i * PAGE_SIZE + i], (char)i);
	meminfo(&m0);
	T_EQ(munmap(p, n * PAGE_SIZE), 0);
	meminfo(&m1);
	T_EQ(m0.resident_kib - m1.resident_kib, n * (PAGE_SIZE / 1024));
	T_EQ(m1.peak_kib, m0.peak_kib);                 /* the peak stays */
	T_EXPECT(m1.peak_kib >= m0.resident_kib);
	note_peak();
}

static void t_read_fault_counts(void)
{
	char *p = mmap(NULL, 4 * PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	/* A first read faults too, and reads zero. */
	meminfo(&m0);
	char c = *(volatile char *)p | *(volatile char *)(p + 2 * PAGE_SIZE);
	meminfo(&m1);
	T_EQ(c, 0);
	T_EQ(m1.faults - m0.faults, 2);
	T_EQ(munmap(p, 4 * PAGE_SIZE), 0);
}

static void t_peak_after_munmap(void)
{
	size_t n = 64;
	meminfo(&m0);
	char *p = mmap(NULL, n * PAGE_SIZE, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	meminfo(&m1);
	unsigned long high = m1.resident_kib;
	T_EXPECT(m1.peak_kib >= high);
	T_EQ(munmap(p, n * PAGE_SIZE), 0);
	meminfo(&m1);
	T_EQ(m1.resident_kib, m0.resident_kib);
	T_EXPECT(m1.peak_kib >= high);
	T_EXPECT(m1.peak_kib >= m0.resident_kib + n * (PAGE_SIZE / 1024));
	note_peak();
}

static const struct ktap_case cases[] = {
	{ "stack_grows_on_demand", t_stack_growth },
	{ "heap_page_per_fault", t_heap_pages },
	{ "first_read_faults", t_read_fault_counts },
	{ "peak_stays_after_munmap", t_peak_after_munmap },
};

int main(void)
{
	stack_touch(16);
	memset(&m0, 0, sizeof(m0));     /* resident before anything is counted */
	memset(&m1, 0, sizeof(m1));
	note_peak();
	return ktap_run(cases, ARRAY_SIZE(cases));
}
