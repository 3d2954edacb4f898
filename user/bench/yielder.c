/*
 * yielder.c - /bench/yielder N: yield N times, then exit 0. The other
 * half of the context-switch benchmark (proc.c), and with N = 0 the
 * smallest program there is, for spawn+exit.
 */
#include "strata.h"

int main(int argc, char **argv)
{
	long n = 0;
	for (const char *c = argc > 1 ? argv[1] : ""; *c >= '0' && *c <= '9'; c++)
		n = n * 10 + (*c - '0');
	while (n-- > 0)
		yield();
	return 0;
}
