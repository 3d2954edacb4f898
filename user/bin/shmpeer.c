/*
 * shmpeer.c - /bin/shmpeer NAME: the other end of /test/shm's named
 * shared memory. It maps the object NAME (shm_open), checks the parent's
 * greeting in the first bytes, answers after it, and exits 0; any step
 * that fails exits with its own code, so the parent can tell which.
 */
#include "strata.h"

int main(int argc, char **argv)
{
	if (argc != 2)
		return 10;
	long fd = shm_open(argv[1], O_RDWR);
	if (fd < 0)
		return 11;
	char *p = mmap(0, PAGE_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, (int)fd, 0);
	close((int)fd);         /* the mapping keeps the object */
	if (is_err((long)p))
		return 12;
	if (strcmp(p, "hello from the parent") != 0)
		return 13;
	memcpy(p + 64, "hello from the peer", 20);
	return 0;
}
