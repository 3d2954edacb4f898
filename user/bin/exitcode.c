/*
 * exitcode.c - /bin/exitcode CODE: exits with CODE (decimal or 0x hex),
 * or with getpid() & 0xff if CODE is "pid", so a parent can check the
 * status wait() gives and which pid ran.
 */
#include "strata.h"

int main(int argc, char **argv)
{
	int ok;

	if (argc != 2)
		return 250;
	if (strcmp(argv[1], "pid") == 0)
		return (int)(getpid() & 0xff);
	unsigned long code = strtoul_simple(argv[1], &ok);
	return ok ? (int)code : 251;
}
