/*
 * args.c - /bin/args SPEC ARG...: checks the argv the kernel delivered.
 * SPEC is "N:H": N is the argc the parent passed and H (hex) the FNV-1a
 * hash of argv[2..N-1] with their NULs. Exits 0 when all match; 1 argc
 * differs, 2 argv[0] is not "/bin/args", 3 argv[argc] is not NULL, 4 the
 * hash differs, 5 SPEC is malformed.
 */
#include "strata.h"

static unsigned long fnv1a(unsigned long h, const char *s)
{
	do {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3UL;
	} while (*s++);
	return h;
}

int main(int argc, char **argv)
{
	char spec[64];
	int ok;

	if (argc < 2)
		return 1;
	snprintf(spec, sizeof(spec), "%s", argv[1]);
	char *colon = spec;
	while (*colon && *colon != ':')
		colon++;
	if (*colon != ':')
		return 5;
	*colon = 0;
	unsigned long want_argc = strtoul_simple(spec, &ok);
	if (!ok)
		return 5;
	unsigned long want_hash = strtoul_simple(colon + 1, &ok);
	if (!ok)
		return 5;
	if ((unsigned long)argc != want_argc)
		return 1;
	if (strcmp(argv[0], "/bin/args") != 0)
		return 2;
	if (argv[argc] != NULL)
		return 3;
	unsigned long h = 0xcbf29ce484222325UL;
	for (int i = 2; i < argc; i++)
		h = fnv1a(h, argv[i]);
	return h == want_hash ? 0 : 4;
}
