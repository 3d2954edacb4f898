/*
 * file.c - files of the in-memory file system and their mappings: what
 * write puts in, read gives back; the ramdisk's files are there; a
 * MAP_SHARED mapping and read/write are one page cache (each sees the
 * other's writes at once); a MAP_PRIVATE write stays the mapping's; a
 * page past the end of the file kills with reason=sigbus; a file
 * unlinked while mapped lives until the mapping goes; and every error.
 */
#include "ktap.h"

#define RW (PROT_READ | PROT_WRITE)
#define F1 "/tmp/file-test-1"
#define CREATE (O_RDWR | O_CREAT | O_TRUNC)

static char buf[3 * PAGE_SIZE], back[3 * PAGE_SIZE];
static struct strata_meminfo m0, m1;

static void fill(char *p, size_t n, unsigned seed)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (char)(seed + i * 7 + (i >> 9));
}

static void t_write_read_lseek(void)
{
	long fd = open(F1, CREATE);
	T_EXPECT(fd >= 3);
	if (fd < 0)
		return;
	fill(buf, sizeof(buf), 1);
	T_EQ(write((int)fd, buf, 10000), 10000);
	T_EQ(lseek((int)fd, 0, SEEK_CUR), 10000);
	T_EQ(lseek((int)fd, 0, SEEK_END), 10000);
	T_EQ(lseek((int)fd, 0, SEEK_SET), 0);
	T_EQ(read((int)fd, back, sizeof(back)), 10000);
	T_EQ(memcmp(buf, back, 10000), 0);
	T_EQ(read((int)fd, back, 10), 0);                  /* at the end */
	T_EQ(lseek((int)fd, 5000, SEEK_SET), 5000);
	T_EQ(write((int)fd, "XY", 2), 2);                  /* overwrite in the middle */
	T_EQ(lseek((int)fd, 4999, SEEK_SET), 4999);
	T_EQ(read((int)fd, back, 4), 4);
	T_EXPECT(back[0] == buf[4999] && back[1] == 'X' && back[2] == 'Y' && back[3] == buf[5002]);
	T_EQ(lseek((int)fd, 20000, SEEK_SET), 20000);      /* past the end: a hole when written */
	T_EQ(write((int)fd, "Z", 1), 1);
	T_EQ(lseek((int)fd, 12000, SEEK_SET), 12000);
	T_EQ(read((int)fd, back, 8), 8);
	T_EXPECT(!back[0] && !back[7]);
	T_EQ(close((int)fd), 0);
	fd = open(F1, O_RDONLY);                           /* it is still there, with its bytes */
	T_EQ(lseek((int)fd, 0, SEEK_END), 20001);
	T_EQ(close((int)fd), 0);
	T_EQ(unlink(F1), 0);
	T_EQ(open(F1, O_RDONLY), -ENOENT);
}

/* The ramdisk's files are in the file system: this program's own ELF among them. */
static void t_ramdisk_files(void)
{
	long fd = open("/test/file", O_RDONLY);
	T_EXPECT(fd >= 3);
	if (fd < 0)
		return;
	T_EQ(read((int)fd, back, 4), 4);
	T_EQ(memcmp(back, "\177ELF", 4), 0);
	T_EXPECT(lseek((int)fd, 0, SEEK_END) > 4096);
	T_EQ(close((int)fd), 0);
}

static void t_shared_mapping_is_the_page_cache(void)
{
	long fd = open(F1, CREATE);
	T_EXPECT(fd >= 3);
	if (fd < 0)
		return;
	T_EQ(ftruncate((int)fd, 2 * PAGE_SIZE), 0);
	char *p = mmap(0, 2 * PAGE_SIZE, RW, MAP_SHARED, (int)fd, 0);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EQ(p[100], 0);
	T_EQ(lseek((int)fd, 100, SEEK_SET), 100);
	T_EQ(write((int)fd, "written", 7), 7);          /* write() -> the mapping */
	T_EQ(memcmp(p + 100, "written", 7), 0);
	memcpy(p + PAGE_SIZE + 5, "stored", 6);         /* the mapping -> read() */
	T_EQ(lseek((int)fd, PAGE_SIZE + 5, SEEK_SET), PAGE_SIZE + 5);
	T_EQ(read((int)fd, back, 6), 6);
	T_EQ(memcmp(back, "stored", 6), 0);
	/* A second mapping of the same file, at an offset, sees the same page. */
	char *q = mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, (int)fd, PAGE_SIZE);
	T_EXPECT(!is_err((long)q));
	if (!is_err((long)q)) {
		T_EQ(memcmp(q + 5, "stored", 6), 0);
		p[PAGE_SIZE + 5] = 'S';
		T_EQ(q[5], 'S');
		T_EQ(munmap(q, PAGE_SIZE), 0);
	}
	T_EQ(msync(p, 2 * PAGE_SIZE, MS_SYNC), 0);
	T_EQ(munmap(p, 2 * PAGE_SIZE), 0);
	T_EQ(msync(p, PAGE_SIZE, MS_SYNC), -ENOMEM);    /* no longer mapped */
	T_EQ(close((int)fd), 0);
	T_EQ(unlink(F1), 0);
}

static void t_private_mapping_copies(void)
{
	long fd = open(F1, CREATE);
	T_EXPECT(fd >= 3);
	if (fd < 0)
		return;
	fill(buf, 2 * PAGE_SIZE, 9);
	T_EQ(write((int)fd, buf, 2 * PAGE_SIZE), 2 * PAGE_SIZE);
	char *p = mmap(0, 2 * PAGE_SIZE, RW, MAP_PRIVATE, (int)fd, 0);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EQ(memcmp(p, buf, 2 * PAGE_SIZE), 0);
	meminfo(&m0);
	p[10] = 'P';                                     /* the first write copies the page */
	meminfo(&m1);
	T_EQ(m1.cow_copied, m0.cow_copied + 1);
	T_EQ(lseek((int)fd, 10, SEEK_SET), 10);
	T_EQ(read((int)fd, back, 1), 1);
	T_EQ(back[0], buf[10]);                          /* read() does not see it */
	T_EQ(p[11], buf[11]);
	T_EQ(munmap(p, 2 * PAGE_SIZE), 0);
	/* Writable private mappings of a read-only descriptor are allowed; shared ones are not. */
	long ro = open(F1, O_RDONLY);
	T_EXPECT(ro >= 3);
	char *q = mmap(0, PAGE_SIZE, RW, MAP_PRIVATE, (int)ro, 0);
	T_EXPECT(!is_err((long)q));
	if (!is_err((long)q)) {
		q[0] = 1;
		T_EQ(munmap(q, PAGE_SIZE), 0);
	}
	T_EQ(mmap(0, PAGE_SIZE, RW, MAP_SHARED, (int)ro, 0), -EACCES);
	/* Nor can mprotect make a read-only descriptor's shared mapping writable. */
	char *s = mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, (int)ro, 0);
	T_EXPECT(!is_err((long)s));
	if (!is_err((long)s)) {
		T_EQ(mprotect(s, PAGE_SIZE, RW), -EACCES);
		T_EQ(mprotect(s, PAGE_SIZE, PROT_NONE), 0);
		T_EQ(mprotect(s, PAGE_SIZE, PROT_READ), 0);
		T_EQ(s[0], buf[0]);
		T_EQ(munmap(s, PAGE_SIZE), 0);
	}
	/* Through a descriptor open for writing, it can. */
	s = mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, (int)fd, 0);
	T_EXPECT(!is_err((long)s));
	if (!is_err((long)s)) {
		T_EQ(mprotect(s, PAGE_SIZE, RW), 0);
		s[1] = 'w';
		T_EQ(lseek((int)fd, 1, SEEK_SET), 1);
		T_EQ(read((int)fd, back, 1), 1);
		T_EQ(back[0], 'w');
		T_EQ(munmap(s, PAGE_SIZE), 0);
	}
	T_EQ(close((int)ro), 0);
	T_EQ(close((int)fd), 0);
	T_EQ(unlink(F1), 0);
}

/* A child touches the page past the end of a 100-byte file: KILL reason=sigbus. */
static void t_past_the_end_is_sigbus(void)
{
	long fd = open(F1, CREATE);
	T_EXPECT(fd >= 3);
	if (fd < 0)
		return;
	T_EQ(write((int)fd, buf, 100), 100);
	volatile char *p = mmap(0, 2 * PAGE_SIZE, PROT_READ, MAP_SHARED, (int)fd, 0);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EQ(p[99], buf[99]);
	T_EQ(p[100], 0);                 /* the rest of the last page reads as zeroes */
	T_EQ(p[PAGE_SIZE - 1], 0);
	long pid = fork();
	if (pid == 0)
		exit(p[PAGE_SIZE]);      /* the second page: past the end */
	int status = 0;
	T_EQ(wait(pid, &status), pid);
	T_EQ(STRATA_KILL_REASON(status), KILL_SIGBUS);
	T_EQ(munmap((void *)p, 2 * PAGE_SIZE), 0);
	T_EQ(close((int)fd), 0);
	T_EQ(unlink(F1), 0);
}

/* Unlinked and closed while mapped: the mapping keeps the file; when it goes, so do the frames. */
static void t_unlink_while_mapped(void)
{
	meminfo(&m0);
	long fd = open(F1, CREATE);
	T_EXPECT(fd >= 3);
	if (fd < 0)
		return;
	fill(buf, 3 * PAGE_SIZE, 3);
	T_EQ(write((int)fd, buf, 3 * PAGE_SIZE), 3 * PAGE_SIZE);
	char *p = mmap(0, 3 * PAGE_SIZE, PROT_READ, MAP_SHARED, (int)fd, 0);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	T_EQ(close((int)fd), 0);
	T_EQ(unlink(F1), 0);
	T_EQ(open(F1, O_RDONLY), -ENOENT);
	T_EQ(memcmp(p, buf, 3 * PAGE_SIZE), 0);
	T_EQ(munmap(p, 3 * PAGE_SIZE), 0);
	meminfo(&m1);
	T_EQ(m1.free_kib, m0.free_kib);
}

static void t_errors(void)
{
	T_EQ(open("relative", O_RDONLY), -EINVAL);
	T_EQ(open("/a//b", O_RDWR | O_CREAT), -EINVAL);
	T_EQ(open("/tmp/x", O_RDWR | O_WRONLY), -EINVAL);
	T_EQ(open("/tmp/x", 0x100000), -EINVAL);
	T_EQ(open((const char *)0xffff800000000000UL, O_RDONLY), -EFAULT);
	T_EQ(read(3, back, 1), -EBADF);
	T_EQ(read(1, back, 1), -EBADF);
	T_EQ(close(3), -EBADF);
	T_EQ(close(99), -EBADF);
	T_EQ(lseek(1, 0, SEEK_SET), -ESPIPE);
	T_EQ(unlink("/tmp/none"), -ENOENT);
	long fd = open(F1, CREATE);
	T_EXPECT(fd >= 3);
	T_EQ(open(F1, O_RDWR | O_CREAT | O_EXCL), -EEXIST);
	T_EQ(lseek((int)fd, -1, SEEK_SET), -EINVAL);
	T_EQ(lseek((int)fd, 0, 7), -EINVAL);
	T_EQ(read((int)fd, (void *)0xffff800000000000UL, 1), -EFAULT);
	T_EQ(write((int)fd, (void *)0x10, 1), -EFAULT);
	T_EQ(ftruncate((int)fd, -1), -EINVAL);
	T_EQ(mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, (int)fd, 100), -EINVAL);    /* unaligned offset */
	T_EQ(mmap(0, PAGE_SIZE, PROT_READ, MAP_SHARED, 12, 0), -EBADF);
	T_EQ(msync(buf + 1, 1, MS_SYNC), -EINVAL);
	T_EQ(msync(0, PAGE_SIZE, MS_SYNC | MS_ASYNC), -EINVAL);
	long w = open(F1, O_WRONLY);
	T_EQ(read((int)w, back, 1), -EBADF);
	T_EQ(mmap(0, PAGE_SIZE, PROT_READ, MAP_PRIVATE, (int)w, 0), -EACCES);
	T_EQ(close((int)w), 0);
	long r = open(F1, O_RDONLY);
	T_EQ(write((int)r, "x", 1), -EBADF);
	T_EQ(ftruncate((int)r, 0), -EINVAL);
	T_EQ(close((int)r), 0);
	/* Descriptors run out: -EMFILE, and every one closes again. */
	long fds[STRATA_OPEN_MAX], n = 0, e;
	while ((e = open(F1, O_RDONLY)) >= 0 && n < STRATA_OPEN_MAX)
		fds[n++] = e;
	T_EQ(e, -EMFILE);
	T_EQ(n, STRATA_OPEN_MAX - 4);            /* 0-2 are the console; fd is open */
	while (n > 0)
		T_EQ(close((int)fds[--n]), 0);
	T_EQ(close((int)fd), 0);
	T_EQ(unlink(F1), 0);
}

/* fork shares open files: the offset moves for both. */
static void t_fork_shares_offsets(void)
{
	long fd = open(F1, CREATE);
	T_EXPECT(fd >= 3);
	if (fd < 0)
		return;
	long pid = fork();
	if (pid == 0)
		exit(write((int)fd, "child", 5) == 5 ? 0 : 1);
	int status = -1;
	T_EQ(wait(pid, &status), pid);
	T_EQ(status, 0);
	T_EQ(write((int)fd, "parent", 6), 6);
	T_EQ(lseek((int)fd, 0, SEEK_SET), 0);
	T_EQ(read((int)fd, back, 11), 11);
	T_EQ(memcmp(back, "childparent", 11), 0);
	T_EQ(close((int)fd), 0);
	T_EQ(unlink(F1), 0);
}

static const struct ktap_case cases[] = {
	{ "write_read_lseek", t_write_read_lseek },
	{ "ramdisk_files_are_there", t_ramdisk_files },
	{ "shared_mapping_is_the_page_cache", t_shared_mapping_is_the_page_cache },
	{ "private_mapping_write_not_seen_by_read", t_private_mapping_copies },
	{ "past_the_end_of_the_file_is_sigbus", t_past_the_end_is_sigbus },
	{ "unlinked_while_mapped_lives_until_unmapped", t_unlink_while_mapped },
	{ "errors", t_errors },
	{ "fork_shares_open_files", t_fork_shares_offsets },
};

int main(void)
{
	stack_touch(32);
	return ktap_run(cases, ARRAY_SIZE(cases));
}
