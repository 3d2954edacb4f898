/* init.c - /init, the first process. */
#include "strata.h"

int main(int argc, char **argv)
{
	(void)argc;
	static const char hello[] = "init: hello from ring 3\n";
	write(1, hello, sizeof(hello) - 1);
	(void)argv;
	return 0;
}
