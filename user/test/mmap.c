/*
 * mmap.c - anonymous private mappings (shared ones and files: shm.c, file.c): what mmap returns and where, what
 * fresh pages hold, what MAP_FIXED and MAP_POPULATE do to the counters,
 * munmap and mprotect over whole and partial ranges, and every error.
 * Probes go through system calls, not loads, so a wrong answer is a
 * failed case rather than a killed test: write(1, p, n) returns -EFAULT
 * if p is not readable, meminfo(p) returns -EFAULT if p is not writable.
 */
#include "ktap.h"

#define RW (PROT_READ | PROT_WRITE)
#define PA (MAP_PRIVATE | MAP_ANONYMOUS)
#define HINT ((char *)(STRATA_MMAP_BASE + 0x40000000UL))       /* 1 GiB in: free */

static struct strata_meminfo m0, m1;

static char *map(void *addr, size_t len, int prot, int flags)
{
	return mmap(addr, len, prot, flags, -1, 0);
}

static int all_zero(const char *p, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (p[i])
			return 0;
	return 1;
}

/* Unmapped or unreadable: write() of one byte refuses with -EFAULT (and prints nothing). */
static int gone(const void *p) { return write(1, p, 1) == -EFAULT; }

static void t_one_page(void)
{
	char *p = map(NULL, PAGE_SIZE, RW, PA);

	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EQ((unsigned long)p % PAGE_SIZE, 0);
	T_EXPECT((unsigned long)p >= STRATA_MMAP_BASE && (unsigned long)p < STRATA_USER_END);
	T_EXPECT(all_zero(p, PAGE_SIZE));
	memset(p, 0xa5, PAGE_SIZE);
	T_EQ((unsigned char)p[0], 0xa5);
	T_EQ((unsigned char)p[PAGE_SIZE - 1], 0xa5);
	T_EQ(munmap(p, PAGE_SIZE), 0);
}

static void t_many_pages(void)
{
	size_t n = 64, len = n * PAGE_SIZE;
	char *p = map(NULL, len, RW, PA);

	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EXPECT(all_zero(p, len));
	for (size_t i = 0; i < n; i++)
		p[i * PAGE_SIZE + i] = (char)(i + 1);
	for (size_t i = 0; i < n; i++)
		T_EQ(p[i * PAGE_SIZE + i], (char)(i + 1));
	/* Two mappings do not overlap. */
	char *q = map(NULL, len, RW, PA);
	T_EXPECT(!is_err((long)q));
	T_EXPECT(q + len <= p || q >= p + len);
	T_EQ(munmap(q, len), 0);
	T_EQ(munmap(p, len), 0);
}

static void t_hint(void)
{
	char *p = map(HINT, PAGE_SIZE, RW, PA);

	T_EQ(p, HINT);
	if (p != HINT)
		return;
	p[0] = 'h';
	char *q = map(HINT, PAGE_SIZE, RW, PA);     /* taken: put elsewhere */
	T_EXPECT(!is_err((long)q));
	T_EXPECT(q != HINT);
	T_EQ(p[0], 'h');
	T_EXPECT(all_zero(q, PAGE_SIZE));
	munmap(q, PAGE_SIZE);
	munmap(p, PAGE_SIZE);
}

static void t_fixed_replaces(void)
{
	char *a = HINT + 0x100000;
	char *p = map(a, 3 * PAGE_SIZE, RW, PA | MAP_FIXED);

	T_EQ(p, a);
	if (p != a)
		return;
	memset(p, 0x77, 3 * PAGE_SIZE);
	char *q = map(a + PAGE_SIZE, PAGE_SIZE, RW, PA | MAP_FIXED);
	T_EQ(q, a + PAGE_SIZE);
	T_EXPECT(all_zero(a + PAGE_SIZE, PAGE_SIZE));
	T_EQ(a[0], 0x77);
	T_EQ(a[PAGE_SIZE - 1], 0x77);
	T_EQ(a[2 * PAGE_SIZE], 0x77);
	/* Replaced with read-only: the old writable page is gone. */
	q = map(a, PAGE_SIZE, PROT_READ, PA | MAP_FIXED);
	T_EQ(q, a);
	T_EXPECT(all_zero(a, PAGE_SIZE));
	T_EQ(meminfo((void *)a), -EFAULT);
	T_EQ(munmap(a, 3 * PAGE_SIZE), 0);
	T_EXPECT(gone(a) && gone(a + PAGE_SIZE) && gone(a + 2 * PAGE_SIZE));
}

static void t_populate(void)
{
	size_t n = 16, len = n * PAGE_SIZE;

	meminfo(&m0);
	char *p = map(NULL, len, RW, PA | MAP_POPULATE);
	meminfo(&m1);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EQ(m1.resident_kib - m0.resident_kib, len / 1024);
	T_EQ(m1.faults, m0.faults);
	T_EQ(m1.committed_kib - m0.committed_kib, len / 1024);
	for (size_t i = 0; i < n; i++)
		p[i * PAGE_SIZE] = 1;
	meminfo(&m0);
	T_EQ(m0.faults, m1.faults);                     /* already there */
	T_EQ(m0.resident_kib, m1.resident_kib);
	T_EXPECT(all_zero(p + 1, PAGE_SIZE - 1));
	T_EQ(munmap(p, len), 0);
	meminfo(&m1);
	T_EQ(m0.resident_kib - m1.resident_kib, len / 1024);
	T_EQ(m0.committed_kib - m1.committed_kib, len / 1024);
}

static void t_demand(void)
{
	size_t n = 8, len = n * PAGE_SIZE;

	meminfo(&m0);
	char *p = map(NULL, len, RW, PA);
	meminfo(&m1);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EQ(m1.resident_kib, m0.resident_kib);        /* nothing taken yet */
	T_EQ(m1.faults, m0.faults);
	T_EQ(m1.committed_kib - m0.committed_kib, len / 1024);
	/* Three first touches (writes), then the same pages again. */
	p[0] = 1;
	p[3 * PAGE_SIZE + 5] = 1;
	p[7 * PAGE_SIZE + PAGE_SIZE - 1] = 1;
	p[1] = 2;
	p[3 * PAGE_SIZE] = 2;
	meminfo(&m0);
	T_EQ(m0.faults - m1.faults, 3);
	T_EQ(m0.resident_kib - m1.resident_kib, 3 * PAGE_SIZE / 1024);
	T_EQ(munmap(p, len), 0);
	meminfo(&m1);
	T_EQ(m0.resident_kib - m1.resident_kib, 3 * PAGE_SIZE / 1024);
}

static void t_munmap_gone(void)
{
	char *p = map(NULL, 2 * PAGE_SIZE, RW, PA);

	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	p[0] = '#';
	p[PAGE_SIZE] = '#';
	T_EQ(munmap(p, 2 * PAGE_SIZE), 0);
	T_EXPECT(gone(p));
	T_EXPECT(gone(p + PAGE_SIZE));
	T_EQ(meminfo((void *)p), -EFAULT);
	/* Mapped again there, it is fresh. */
	char *q = map(p, 2 * PAGE_SIZE, RW, PA | MAP_FIXED);
	T_EQ(q, p);
	T_EXPECT(all_zero(q, 2 * PAGE_SIZE));
	T_EQ(munmap(q, 2 * PAGE_SIZE), 0);
}

static void t_munmap_middle(void)
{
	char *p = map(NULL, 5 * PAGE_SIZE, RW, PA);

	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	for (int i = 0; i < 5; i++)
		p[i * PAGE_SIZE] = (char)('0' + i);
	T_EQ(munmap(p + 2 * PAGE_SIZE, PAGE_SIZE), 0);
	T_EXPECT(gone(p + 2 * PAGE_SIZE));
	T_EQ(p[0], '0');
	T_EQ(p[PAGE_SIZE], '1');
	T_EQ(p[3 * PAGE_SIZE], '3');
	T_EQ(p[4 * PAGE_SIZE], '4');
	T_EQ(meminfo((void *)(p + 3 * PAGE_SIZE)), 0);  /* still writable */
	/* The range over the hole unmaps the rest. */
	T_EQ(munmap(p, 5 * PAGE_SIZE), 0);
	for (int i = 0; i < 5; i++)
		T_EXPECT(gone(p + i * PAGE_SIZE));
}

static void t_munmap_unmapped(void)
{
	T_EQ(munmap(HINT + 0x4000000, 16 * PAGE_SIZE), 0);
	T_EQ(munmap((void *)STRATA_MMAP_BASE + 0x7000000000UL, PAGE_SIZE), 0);
}

static void t_munmap_einval(void)
{
	char *p = map(NULL, PAGE_SIZE, RW, PA);

	T_EQ(munmap(p + 1, PAGE_SIZE), -EINVAL);
	T_EQ(p[0], 0);                          /* still mapped */
	T_EQ(munmap((void *)0xffff800000000000UL, PAGE_SIZE), -EINVAL);
	T_EQ(munmap(p, PAGE_SIZE), 0);
}

static void t_mmap_einval(void)
{
	T_EQ(map(NULL, 0, RW, PA), -EINVAL);
	T_EQ(map(HINT + 1, PAGE_SIZE, RW, PA | MAP_FIXED), -EINVAL);
	T_EQ(map(NULL, PAGE_SIZE, PROT_WRITE | PROT_EXEC, PA), -EINVAL);
	T_EQ(map(NULL, PAGE_SIZE, PROT_READ | PROT_WRITE | PROT_EXEC, PA), -EINVAL);
	T_EQ(map(NULL, PAGE_SIZE, RW, MAP_PRIVATE), -EBADF);         /* a file mapping, of fd -1 */
	T_EQ(mmap(NULL, PAGE_SIZE, RW, PA, 3, 0), -EINVAL);
	T_EQ(mmap(NULL, PAGE_SIZE, RW, PA, 0, 0), -EINVAL);
	T_EQ(map(NULL, PAGE_SIZE, RW, MAP_ANONYMOUS), -EINVAL);
	T_EQ(map(NULL, PAGE_SIZE, RW, MAP_SHARED | MAP_PRIVATE | MAP_ANONYMOUS), -EINVAL);
	T_EQ(map((void *)0xffff800000000000UL, PAGE_SIZE, RW, PA | MAP_FIXED), -EINVAL);
	T_EQ(map((void *)(STRATA_USER_END - PAGE_SIZE), 2 * PAGE_SIZE, RW, PA | MAP_FIXED), -EINVAL);
	T_EQ(map((void *)STRATA_USER_END, PAGE_SIZE, RW, PA | MAP_FIXED), -EINVAL);
	T_EQ(map(NULL, 1UL << 62, RW, PA), -ENOMEM);
}

static void t_mprotect_ro(void)
{
	static const char msg[] = "# read from a read-only page\n";
	char *p = map(NULL, 2 * PAGE_SIZE, RW, PA);

	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	memcpy(p, msg, sizeof(msg));
	T_EQ(mprotect(p, PAGE_SIZE, PROT_READ), 0);
	flush_line();
	T_EQ(write(1, p, sizeof(msg) - 1), sizeof(msg) - 1);   /* reading is allowed */
	T_EQ(meminfo((void *)p), -EFAULT);                      /* writing is not */
	T_EQ(memcmp(p, msg, sizeof(msg)), 0);
	T_EQ(meminfo((void *)(p + PAGE_SIZE)), 0);              /* the next page kept RW */
	T_EQ(mprotect(p, PAGE_SIZE, RW), 0);
	T_EQ(meminfo((void *)p), 0);
	p[100] = 1;
	T_EQ(munmap(p, 2 * PAGE_SIZE), 0);
}

static void t_mprotect_errors(void)
{
	char *p = map(NULL, 2 * PAGE_SIZE, RW, PA);

	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EQ(mprotect(HINT + 0x5000000, PAGE_SIZE, PROT_READ), -ENOMEM);
	T_EQ(munmap(p + PAGE_SIZE, PAGE_SIZE), 0);
	T_EQ(mprotect(p, 2 * PAGE_SIZE, PROT_READ), -ENOMEM);  /* half mapped */
	T_EQ(mprotect(p + 1, PAGE_SIZE, PROT_READ), -EINVAL);
	T_EQ(mprotect(p, PAGE_SIZE, PROT_WRITE | PROT_EXEC), -EINVAL);
	T_EQ(meminfo((void *)p), 0);                            /* none of them took effect */
	T_EQ(munmap(p, PAGE_SIZE), 0);
}

static void t_prot_none(void)
{
	char *p = map(NULL, PAGE_SIZE, PROT_NONE, PA);

	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EQ(meminfo((void *)p), -EFAULT);
	T_EXPECT(gone(p));
	T_EQ(mprotect(p, PAGE_SIZE, RW), 0);
	T_EXPECT(all_zero(p, PAGE_SIZE));
	p[0] = 9;
	T_EQ(p[0], 9);
	T_EQ(meminfo((void *)p), 0);
	T_EQ(munmap(p, PAGE_SIZE), 0);
}

static const struct ktap_case cases[] = {
	{ "one_page", t_one_page },
	{ "many_pages", t_many_pages },
	{ "hint", t_hint },
	{ "fixed_replaces", t_fixed_replaces },
	{ "populate", t_populate },
	{ "demand_faults", t_demand },
	{ "munmap_gone", t_munmap_gone },
	{ "munmap_middle", t_munmap_middle },
	{ "munmap_unmapped", t_munmap_unmapped },
	{ "munmap_einval", t_munmap_einval },
	{ "mmap_einval", t_mmap_einval },
	{ "mprotect_read_only", t_mprotect_ro },
	{ "mprotect_errors", t_mprotect_errors },
	{ "prot_none", t_prot_none },
};

int main(void)
{
	stack_touch(64);        /* later cases take no stack faults */
	meminfo(&m0);
	meminfo(&m1);
	return ktap_run(cases, ARRAY_SIZE(cases));
}
