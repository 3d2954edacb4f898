/*
 * limit.c - a process's memory limit: mmap in 1 MiB chunks until -ENOMEM
 * must stop at exactly the limit meminfo reports, brk and MAP_POPULATE
 * are refused there too, and unmapping everything makes room again.
 */
#include "ktap.h"

#define CHUNK (1UL << 20)
#define MAX_CHUNKS 8192

static char *chunks[MAX_CHUNKS];
static int nchunks;
static size_t touched;                  /* pages touched in each chunk */
static struct strata_meminfo m0, m1;

static char *map(size_t len, int flags)
{
	return mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | flags, -1, 0);
}

/* How many pages of each chunk to touch: all if RAM is plenty, else fewer. */
static size_t touch_pages(const struct strata_meminfo *mi)
{
	if (mi->free_kib > 2 * mi->limit_kib)
		return CHUNK / PAGE_SIZE;
	if (mi->free_kib > 2 * (mi->limit_kib / 256))
		return 1;
	return 0;
}

static void t_fill_to_limit(void)
{
	meminfo(&m0);
	unsigned long want = (m0.limit_kib - m0.committed_kib) / 1024;
	size_t touch = touched = touch_pages(&m0);
	char *p = NULL;

	if (want > MAX_CHUNKS) {
		ktap_skip_case("limit above 8 GiB");
		return;
	}
	while (nchunks < MAX_CHUNKS) {
		p = map(CHUNK, 0);
		if (is_err((long)p))
			break;
		for (size_t i = 0; i < touch; i++)
			p[i * PAGE_SIZE] = 1;
		chunks[nchunks++] = p;
	}
	meminfo(&m1);
	T_EQ(p, -ENOMEM);
	T_EQ(nchunks, want);
	T_EQ(m1.committed_kib - m0.committed_kib, nchunks * (CHUNK / 1024));
	T_EQ(m1.resident_kib - m0.resident_kib, nchunks * touch * (PAGE_SIZE / 1024));
	T_EXPECT(m1.committed_kib <= m1.limit_kib);
}

static void t_rest_fits_exactly(void)
{
	meminfo(&m0);
	size_t pages = (m0.limit_kib - m0.committed_kib) / (PAGE_SIZE / 1024);
	char *rest = NULL;

	T_EXPECT(m0.limit_kib - m0.committed_kib < CHUNK / 1024);
	if (pages) {
		rest = map(pages * PAGE_SIZE, 0);
		T_EXPECT(!is_err((long)rest));
		if (is_err((long)rest))
			rest = NULL;
	}
	T_EQ(map(PAGE_SIZE, 0), -ENOMEM);
	T_EQ(map(PAGE_SIZE, MAP_POPULATE), -ENOMEM);
	char *b = brk(0);
	T_EQ(brk(b + PAGE_SIZE), -ENOMEM);
	T_EQ(brk(0), b);
	meminfo(&m1);
	T_EXPECT(m1.limit_kib - m1.committed_kib < PAGE_SIZE / 1024);
	if (rest)
		T_EQ(munmap(rest, pages * PAGE_SIZE), 0);
}

static void t_unmap_makes_room(void)
{
	meminfo(&m0);
	for (int i = 0; i < nchunks; i++)
		if (munmap(chunks[i], CHUNK) != 0)
			ktap_fail("munmap chunk %d failed", i);
	meminfo(&m1);
	T_EQ(m0.committed_kib - m1.committed_kib, nchunks * (CHUNK / 1024));
	T_EQ(m0.resident_kib - m1.resident_kib, nchunks * touched * (PAGE_SIZE / 1024));
	char *p = map(CHUNK, MAP_POPULATE);
	T_EXPECT(!is_err((long)p));
	if (!is_err((long)p)) {
		p[CHUNK - 1] = 1;
		T_EQ(munmap(p, CHUNK), 0);
	}
	char *b = brk(0);
	T_EQ(brk(b + PAGE_SIZE), b + PAGE_SIZE);
	T_EQ(brk(b), b);
}

static const struct ktap_case cases[] = {
	{ "mmap_until_limit", t_fill_to_limit },
	{ "rest_fits_exactly", t_rest_fits_exactly },
	{ "unmap_makes_room", t_unmap_makes_room },
};

int main(void)
{
	stack_touch(64);
	memset(chunks, 0, sizeof(chunks));      /* resident before counting */
	memset(&m0, 0, sizeof(m0));
	memset(&m1, 0, sizeof(m1));
	return ktap_run(cases, ARRAY_SIZE(cases));
}
