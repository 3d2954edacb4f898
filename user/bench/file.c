/*
 * file.c - /bench/file: reading a file through read() into a buffer
 * against reading it through a mapping of its pages, timed from ring 3
 * with the TSC. A file of FILE_MIB MiB is written once; then, per page:
 *   file_read_copy      read() of the whole file in 64 KiB pieces into a
 *                       buffer (a copy out of the page cache, every byte)
 *   file_mmap_shared    mmap(MAP_SHARED) and a load from every page, the
 *                       first touch of each a fault that maps the page
 *                       cache's frame (nothing copied), then munmap
 *   file_mmap_private   the same with MAP_PRIVATE (read in place too)
 *   file_mmap_write     MAP_PRIVATE, a store to every page: each a copy
 * Each line carries sum= (the bytes added up), the same for every way of
 * reading, so the loops cannot be skipped. Under TCG with -icount the
 * cycles are guest instructions.
 */
#include "strata.h"

#define MIB (1UL << 20)
#define FILE_MIB 8
#define PIECE (64 * 1024UL)

static unsigned long khz;
static char piece[PIECE];

static void report(const char *name, unsigned long ops, unsigned long cycles, unsigned long sum)
{
	unsigned long c100 = cycles * 100 / ops;
	unsigned long ns100 = khz ? c100 * 1000000 / khz : 0;
	printf("BENCH name=%s ops=%lu ns_per_op=%lu.%02lu cycles_per_op=%lu.%02lu mib=%d sum=%lu\n",
	       name, ops, ns100 / 100, ns100 % 100, c100 / 100, c100 % 100, FILE_MIB, sum);
}

/* Every byte of n at p added up (what a reader of the file does with it). */
static unsigned long add_up(const volatile unsigned char *p, unsigned long n)
{
	unsigned long s = 0;
	for (unsigned long i = 0; i < n; i++)
		s += p[i];
	return s;
}

static void by_read(int fd, unsigned long pages)
{
	unsigned long sum = 0, t = bench_rdtsc();
	lseek(fd, 0, SEEK_SET);
	for (long n; (n = read(fd, piece, PIECE)) > 0;)
		sum += add_up((unsigned char *)piece, (unsigned long)n);
	report("file_read_copy", pages, bench_rdtsc() - t, sum);
}

static void by_map(int fd, unsigned long pages, int flags, int write, const char *name)
{
	unsigned long sum = 0, t = bench_rdtsc();
	volatile unsigned char *p = mmap(0, FILE_MIB * MIB, PROT_READ | (write ? PROT_WRITE : 0), flags, fd, 0);
	if (is_err((long)p)) {
		printf("bench: file: mmap failed: %ld\n", (long)p);
		return;
	}
	if (write)
		for (unsigned long i = 0; i < FILE_MIB * MIB; i += PAGE_SIZE)
			p[i] = p[i];            /* the same byte back: the sum stays */
	sum = add_up(p, FILE_MIB * MIB);
	munmap((void *)p, FILE_MIB * MIB);
	report(name, pages, bench_rdtsc() - t, sum);
}

int main(void)
{
	struct strata_meminfo m;
	meminfo(&m);
	khz = m.tsc_khz;
	long fd = open("/tmp/bench-file", O_RDWR | O_CREAT | O_TRUNC);
	if (fd < 0) {
		printf("bench: file: open failed: %ld\n", fd);
		return 1;
	}
	for (unsigned long i = 0; i < PIECE; i++)
		piece[i] = (char)(i * 131 + (i >> 8));
	for (unsigned long off = 0; off < FILE_MIB * MIB; off += PIECE)
		if (write((int)fd, piece, PIECE) != (long)PIECE) {
			printf("bench: file: write failed\n");
			return 1;
		}
	unsigned long pages = FILE_MIB * MIB / PAGE_SIZE;
	by_read((int)fd, pages);
	by_map((int)fd, pages, MAP_SHARED, 0, "file_mmap_shared");
	by_map((int)fd, pages, MAP_PRIVATE, 0, "file_mmap_private");
	by_map((int)fd, pages, MAP_PRIVATE, 1, "file_mmap_write");
	close((int)fd);
	unlink("/tmp/bench-file");
	return 0;
}
