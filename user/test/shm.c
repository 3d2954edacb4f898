/*
 * shm.c - shared memory between processes: a MAP_SHARED|MAP_ANONYMOUS
 * region stays one memory across fork (a write by either is the other's
 * at once, and no page is copied); two processes pass messages through a
 * ring buffer in a shared page; a named object (shm_open) maps the same
 * frames into a program spawned separately; and a frame lives while any
 * mapping holds it, then every frame comes back.
 */
#include "ktap.h"

#define RW (PROT_READ | PROT_WRITE)
#define SA (MAP_SHARED | MAP_ANONYMOUS)

static struct strata_meminfo m0, m1;
/* The child's counts, in a page of their own: writing them copies that page once, before the count. */
static struct strata_meminfo c[2] __attribute__((aligned(4096)));

static int reap(long pid)
{
	int status = -1;
	if (wait(pid, &status) != pid || STRATA_KILL_REASON(status))
		return -1;
	return STRATA_EXIT_CODE(status);
}

static void t_shared_across_fork(void)
{
	volatile char *p = mmap(0, 2 * PAGE_SIZE, RW, SA, -1, 0);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	p[0] = 'a';
	long pid = fork();
	if (pid == 0) {
		meminfo(&c[0]);                 /* copies c's page (copy-on-write) */
		meminfo(&c[0]);                 /* the count after that copy */
		int ok = p[0] == 'a';
		p[1] = 'c';                     /* the parent must see this */
		while (p[2] != 'p')             /* and this child the parent's */
			yield();
		p[PAGE_SIZE] = 'C';             /* a page neither touched before the fork */
		meminfo(&c[1]);
		ok = ok && c[1].cow_copied == c[0].cow_copied;  /* shared pages are never copied */
		exit(ok ? 0 : 1);
	}
	T_EXPECT(pid > 0);
	while (p[1] != 'c')
		yield();
	p[2] = 'p';
	T_EQ(reap(pid), 0);
	T_EQ(p[PAGE_SIZE], 'C');
	T_EQ(munmap((void *)p, 2 * PAGE_SIZE), 0);
}

/* A single-producer, single-consumer ring in one shared page. */
struct ring {
	volatile unsigned long head, tail;      /* written by the producer, the consumer */
	volatile unsigned long slot[64];
};
#define MESSAGES 2000

static void t_ring_buffer(void)
{
	struct ring *r = mmap(0, PAGE_SIZE, RW, SA, -1, 0);
	T_EXPECT(!is_err((long)r));
	if (is_err((long)r))
		return;
	long pid = fork();
	if (pid == 0) {
		for (unsigned long i = 1; i <= MESSAGES; i++) {
			while (r->head - r->tail == 64)
				yield();
			r->slot[r->head % 64] = i * i;
			__atomic_store_n(&r->head, r->head + 1, __ATOMIC_RELEASE);
		}
		exit(0);
	}
	unsigned long got = 0, bad = 0;
	while (got < MESSAGES) {
		while (__atomic_load_n(&r->head, __ATOMIC_ACQUIRE) == r->tail)
			yield();
		got++;
		bad += r->slot[r->tail % 64] != got * got;
		r->tail = r->tail + 1;
	}
	T_EQ(bad, 0);
	T_EQ(reap(pid), 0);
	T_EQ(munmap(r, PAGE_SIZE), 0);
}

/* A program started apart (spawn shares no memory) finds the object by its name. */
static void t_named_object(void)
{
	long fd = shm_open("/strata-test", O_RDWR | O_CREAT | O_EXCL);
	T_EXPECT(fd >= 3);
	if (fd < 0)
		return;
	T_EQ(ftruncate((int)fd, PAGE_SIZE), 0);
	char *p = mmap(0, PAGE_SIZE, RW, MAP_SHARED, (int)fd, 0);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	memcpy(p, "hello from the parent", 22);
	char *argv[] = { "/bin/shmpeer", "/strata-test", NULL };
	int status;
	T_EXPECT(spawn_wait("/bin/shmpeer", argv, &status) > 0);
	T_EQ(status, 0);
	T_EQ(strcmp(p + 64, "hello from the peer"), 0);
	char back[20];
	T_EQ(lseek((int)fd, 64, SEEK_SET), 64);
	T_EQ(read((int)fd, back, 20), 20);                /* read() sees the same frame */
	T_EQ(memcmp(back, "hello from the peer", 20), 0);
	T_EQ(shm_open("/strata-test", O_RDWR | O_CREAT | O_EXCL), -EEXIST);
	T_EQ(shm_unlink("/strata-test"), 0);
	T_EQ(shm_open("/strata-test", O_RDWR), -ENOENT);
	T_EQ(shm_open("no-slash", O_RDWR), -EINVAL);
	T_EQ(close((int)fd), 0);
	T_EQ(p[0], 'h');                 /* unlinked and closed: the mapping still holds it */
	T_EQ(munmap(p, PAGE_SIZE), 0);
}

/* The parent lets go first; the child's mapping keeps the frame; then all of it comes back. */
static void t_frame_lives_while_mapped(void)
{
	meminfo(&m0);
	volatile char *p = mmap(0, PAGE_SIZE, RW, SA, -1, 0);
	T_EXPECT(!is_err((long)p));
	if (is_err((long)p))
		return;
	p[0] = 7;
	long pid = fork();
	if (pid == 0) {
		while (p[1] != 1)
			yield();
		for (int i = 0; i < 5; i++)
			yield();                /* the parent unmaps meanwhile */
		exit(p[0] == 7 ? 0 : 1);
	}
	p[1] = 1;
	T_EQ(munmap((void *)p, PAGE_SIZE), 0);
	T_EQ(reap(pid), 0);
	meminfo(&m1);
	T_EQ(m1.free_kib, m0.free_kib);
}

static const struct ktap_case cases[] = {
	{ "anonymous_shared_memory_across_fork", t_shared_across_fork },
	{ "ring_buffer_between_two_processes", t_ring_buffer },
	{ "named_object_between_unrelated_programs", t_named_object },
	{ "frame_lives_while_any_mapping_holds_it", t_frame_lives_while_mapped },
};

int main(void)
{
	stack_touch(32);
	return ktap_run(cases, ARRAY_SIZE(cases));
}
