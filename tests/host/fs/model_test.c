/*
 * model_test.c - random opens, writes, reads, truncates, unlinks and puts
 * against a model (one byte array per file), checked byte for byte.
 */
#include <stdlib.h>
#include <string.h>
#include "fs_test.h"

#define NAMES     6
#define SLOTS     16                    /* model files: named or kept by an open reference */
#define MAX_SIZE  (24 * PAGE_SIZE)      /* the model's bound, not the file system's */

struct mfile {
	bool live, linked;
	struct inode *ino;
	unsigned refs;                  /* the test's references of ino */
	uint8_t *data;                  /* MAX_SIZE bytes, zero past size */
	uint64_t size;
	unsigned seq;                   /* creation order */
};

static struct mfile m[SLOTS];
static int named[NAMES];                /* slot of each name, or -1 */
static unsigned seq;
static uint8_t buf[MAX_SIZE + PAGE_SIZE];
static struct { unsigned writes, reads, read_bytes, unlinked_open, truncates; } did;

static void name_of(int n, char *p) { snprintf(p, 16, "/d%d/f", n); }

static void slot_drop_if_unused(int s)
{
	if (!m[s].refs && !m[s].linked) {
		free(m[s].data);
		m[s] = (struct mfile){ 0 };
	}
}

static int open_slot(void)
{
	for (int s = 0; s < SLOTS; s++)
		if (m[s].live && m[s].refs)
			return s;
	return -1;
}

static int random_open_slot(void)
{
	int s = (int)(rnd() % SLOTS);
	for (int i = 0; i < SLOTS; i++, s = (s + 1) % SLOTS)
		if (m[s].live && m[s].refs)
			return s;
	return -1;
}

static void op_open(void)
{
	int n = (int)(rnd() % NAMES);
	bool create = rnd() % 4, excl = create && !(rnd() % 4);
	char p[16];
	name_of(n, p);
	struct inode *ino = NULL;
	int e = fs_open(p, create, excl, &ino);
	int s = named[n];
	if (s >= 0) {
		CHECK_EQ(e, excl ? -EEXIST : 0);
		if (!e) {
			CHECK(ino == m[s].ino);
			m[s].refs++;
		}
		return;
	}
	if (!create) {
		CHECK_EQ(e, -ENOENT);
		return;
	}
	for (s = 0; s < SLOTS && m[s].live; s++)
		;
	if (s == SLOTS) {               /* the model is full: give the file back */
		if (!e) {
			fs_put(ino);
			CHECK_EQ(fs_unlink(p), 0);
		}
		return;
	}
	CHECK_EQ(e, 0);
	if (e)
		return;
	m[s] = (struct mfile){ .live = true, .linked = true, .ino = ino, .refs = 1,
			       .data = calloc(1, MAX_SIZE), .seq = seq++ };
	named[n] = s;
	CHECK_EQ(fs_size(ino), 0);
}

static void op_put(void)
{
	int s = random_open_slot();
	if (s < 0)
		return;
	fs_put(m[s].ino);
	m[s].refs--;
	slot_drop_if_unused(s);
}

static void op_unlink(void)
{
	int n = (int)(rnd() % NAMES);
	char p[16];
	name_of(n, p);
	int s = named[n];
	CHECK_EQ(fs_unlink(p), s >= 0 ? 0 : -ENOENT);
	if (s < 0)
		return;
	named[n] = -1;
	m[s].linked = false;
	did.unlinked_open += m[s].refs > 0;
	slot_drop_if_unused(s);
}

/* An offset and a length, mostly small, sometimes across pages, now and then past the end. */
static void random_range(uint64_t size, uint64_t *off, size_t *len)
{
	uint64_t span = size + PAGE_SIZE < MAX_SIZE ? size + PAGE_SIZE : MAX_SIZE;
	*off = rnd() % span;
	size_t most = (size_t)(MAX_SIZE - *off);
	*len = (size_t)(rnd() % 3 ? rnd() % 64 : rnd() % (3 * PAGE_SIZE));
	if (*len > most)
		*len = most;
}

static void op_write(void)
{
	int s = random_open_slot();
	if (s < 0)
		return;
	uint64_t off;
	size_t len;
	random_range(m[s].size, &off, &len);
	for (size_t i = 0; i < len; i++)
		buf[i] = (uint8_t)rnd();
	CHECK_EQ(fs_write(m[s].ino, off, buf, len, copy_ok), len);
	memcpy(m[s].data + off, buf, len);
	did.writes++;
	if (len && off + len > m[s].size)
		m[s].size = off + len;
	CHECK_EQ(fs_size(m[s].ino), m[s].size);
}

static void op_read(void)
{
	int s = random_open_slot();
	if (s < 0)
		return;
	uint64_t off;
	size_t len;
	random_range(m[s].size, &off, &len);
	if (rnd() % 8 == 0)
		len += PAGE_SIZE;       /* may run past MAX_SIZE: the read stops at the end */
	size_t want = off >= m[s].size ? 0 : (m[s].size - off < len ? (size_t)(m[s].size - off) : len);
	memset(buf, 0x5a, len);
	long n = fs_read(m[s].ino, off, buf, len, copy_ok);
	CHECK_EQ(n, want);
	did.reads++, did.read_bytes += (unsigned)want;
	if (n == (long)want && memcmp(buf, m[s].data + off, want)) {
		printf("#   slot %d: bytes [%llu, +%zu) differ\n", s, (unsigned long long)off, want);
		CHECK(0);
	}
	CHECK(len == want || buf[want] == 0x5a);
}

static void op_truncate(void)
{
	int s = random_open_slot();
	if (s < 0)
		return;
	uint64_t size = rnd() % (MAX_SIZE + 1);
	if (rnd() % 2)
		size = m[s].size / 2;
	CHECK_EQ(fs_truncate(m[s].ino, size), 0);
	did.truncates++;
	if (size < m[s].size)
		memset(m[s].data + size, 0, m[s].size - size);
	m[s].size = size;
}

static void note(const char *path, uint64_t size, void *arg)
{
	unsigned *seen = arg;
	int n = path[2] - '0';
	CHECK(n >= 0 && n < NAMES && named[n] >= 0);
	if (n < 0 || n >= NAMES || named[n] < 0)
		return;
	struct mfile *f = &m[named[n]];
	CHECK_EQ(size, f->size);
	CHECK(f->seq >= seen[0]);       /* creation order */
	seen[0] = f->seq;
	seen[1]++;
}

static void compare_all(void)
{
	struct fs_stats st;
	unsigned live = 0, unlinked = 0, named_files = 0;
	fs_stats(&st);
	for (int s = 0; s < SLOTS; s++) {
		live += m[s].live;
		unlinked += m[s].live && !m[s].linked;
		if (!m[s].live || !m[s].refs)
			continue;
		CHECK_EQ(fs_read(m[s].ino, 0, buf, MAX_SIZE, copy_ok), m[s].size);
		CHECK(!memcmp(buf, m[s].data, m[s].size));
	}
	for (int n = 0; n < NAMES; n++)
		named_files += named[n] >= 0;
	CHECK_EQ(st.files, live);
	CHECK_EQ(st.unlinked, unlinked);
	unsigned seen[2] = { 0, 0 };
	fs_for_each(note, seen);
	CHECK_EQ(seen[1], named_files);
	CHECK_EQ(fs_check(), 0);
}

static void close_all(void)
{
	for (int s = 0; s < SLOTS; s++) {
		while (m[s].live && m[s].refs) {
			fs_put(m[s].ino);
			m[s].refs--;
			slot_drop_if_unused(s);
		}
	}
	for (int n = 0; n < NAMES; n++) {
		char p[16];
		name_of(n, p);
		CHECK_EQ(fs_unlink(p), named[n] >= 0 ? 0 : -ENOENT);
		if (named[n] >= 0) {
			m[named[n]].linked = false;
			slot_drop_if_unused(named[n]);
			named[n] = -1;
		}
	}
}

static void random_against_model(void)
{
	fs_baseline();
	memset(m, 0, sizeof(m));
	for (int n = 0; n < NAMES; n++)
		named[n] = -1;
	rnd_seed(7);
	for (unsigned step = 0; step < 20000 && !check_failed_in_test; step++) {
		unsigned r = (unsigned)(rnd() % 100);
		if (r < 12 || open_slot() < 0)
			op_open();
		else if (r < 20)
			op_put();
		else if (r < 26)
			op_unlink();
		else if (r < 55)
			op_write();
		else if (r < 85)
			op_read();
		else
			op_truncate();
		if (step % 500 == 0)
			compare_all();
	}
	compare_all();
	printf("# model: %u writes, %u reads (%u bytes), %u truncates, %u unlinks of open files\n",
	       did.writes, did.reads, did.read_bytes, did.truncates, did.unlinked_open);
	close_all();
	fs_expect_back();
}

void model_tests(void)
{
	RUN(random_against_model);
}
