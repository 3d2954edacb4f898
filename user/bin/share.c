/*
 * share.c - /bin/share, mode=run's tour of memory shared between
 * processes: a fork whose child shares every page until it writes one
 * (meminfo shows the pages shared and the one copied), two processes
 * passing messages through a MAP_SHARED page, and a file mapped into
 * memory: written with write(), read through the mapping, changed
 * through the mapping and read back with read().
 */
#include "strata.h"

#define RW (PROT_READ | PROT_WRITE)

static struct strata_meminfo m0, m1;
static char data[8 * PAGE_SIZE];

static void fork_demo(void)
{
	for (unsigned i = 0; i < sizeof(data); i += PAGE_SIZE)
		data[i] = 1;
	long pid = fork();
	if (pid == 0) {
		meminfo(&m1);                   /* copies the page m0 and m1 are in: not counted below */
		meminfo(&m0);
		data[0] = 2;                    /* one page copied */
		meminfo(&m1);
		printf("share: child %ld shares %lu of its %lu KiB with its parent; one write copied %lu page\n",
		       getpid(), m0.shared_kib, m0.resident_kib, m1.cow_copied - m0.cow_copied);
		exit(0);
	}
	int status;
	wait(pid, &status);
	printf("share: the parent still reads %d where the child wrote 2\n", data[0]);
}

struct mailbox {
	volatile int full;
	char text[60];
};

static void message_demo(void)
{
	struct mailbox *box = mmap(0, PAGE_SIZE, RW, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
	if (is_err((long)box))
		return;
	long pid = fork();
	if (pid == 0) {
		for (int i = 1; i <= 3; i++) {
			while (box->full)
				yield();
			snprintf(box->text, sizeof(box->text), "message %d from pid %ld", i, getpid());
			box->full = 1;
		}
		exit(0);
	}
	for (int i = 1; i <= 3; i++) {
		while (!box->full)
			yield();
		printf("share: pid %ld got \"%s\" through a shared page\n", getpid(), box->text);
		box->full = 0;
	}
	int status;
	wait(pid, &status);
	munmap(box, PAGE_SIZE);
}

static void file_demo(void)
{
	static const char text[] = "written with write()";
	long fd = open("/tmp/share-demo", O_RDWR | O_CREAT | O_TRUNC);
	if (fd < 0)
		return;
	write((int)fd, text, sizeof(text));
	char *p = mmap(0, PAGE_SIZE, RW, MAP_SHARED, (int)fd, 0);
	if (!is_err((long)p)) {
		printf("share: the mapped file reads \"%s\"\n", p);
		memcpy(p, "stored by the mapping", 22);
		char back[32] = "";
		lseek((int)fd, 0, SEEK_SET);
		read((int)fd, back, 22);
		printf("share: read() now gives \"%s\": one page cache\n", back);
		munmap(p, PAGE_SIZE);
	}
	close((int)fd);
	unlink("/tmp/share-demo");
}

int main(void)
{
	fork_demo();
	message_demo();
	file_demo();
	return 0;
}
