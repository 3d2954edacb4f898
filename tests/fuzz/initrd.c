/*
 * initrd.c - libFuzzer over the ustar reader (src/proc/initrd.c).
 *
 * The input is the archive, copied into a buffer exactly as long so ASan
 * sees a read one byte past it. Properties: every file initrd_next yields
 * has a non-empty NUL-terminated path without a leading "/" or "./" and
 * data wholly inside the archive (every byte is read); the walk ends with
 * 0 or one of the errors; initrd_check agrees with the walk on the count
 * and the error; initrd_find finds each listed path, with or without a
 * leading "/".
 */
#include <string.h>
#include "fuzz.h"
#include "proc/initrd.h"

static void check_file(const struct initrd *rd, const struct initrd_file *f)
{
	size_t n = strnlen(f->path, INITRD_NAME_MAX);
	FUZZ_CHECK(n > 0 && n < INITRD_NAME_MAX);
	FUZZ_CHECK(f->path[0] != '/' && strncmp(f->path, "./", 2) != 0);
	FUZZ_CHECK(f->data >= rd->base + 512 && f->data <= rd->base + rd->len);
	FUZZ_CHECK(f->size <= (size_t)(rd->base + rd->len - f->data));
	volatile uint8_t sink = 0;
	for (size_t i = 0; i < f->size; i++)
		sink ^= f->data[i];
	(void)sink;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(size ? size : 1);
	memcpy(buf, data, size);
	struct initrd rd = { buf, size };
	struct initrd_file f, g;
	size_t cursor = 0, files = 0, counted;
	int r;
	while ((r = initrd_next(&rd, &cursor, &f)) == 1) {
		check_file(&rd, &f);
		files++;
		FUZZ_CHECK(cursor <= size || cursor - size < 512);
		if (files <= 8) {
			char slash[INITRD_NAME_MAX + 1] = "/";
			memcpy(slash + 1, f.path, strlen(f.path) + 1);
			FUZZ_CHECK(initrd_find(&rd, f.path, &g) && !strcmp(g.path, f.path));
			FUZZ_CHECK(initrd_find(&rd, slash, &g) && !strcmp(g.path, f.path));
			check_file(&rd, &g);
		}
	}
	FUZZ_CHECK(r <= 0 && r > -INITRD_E_COUNT);
	FUZZ_CHECK(initrd_error_str(r)[0] != '\0');
	FUZZ_CHECK(initrd_check(&rd, &counted) == -r);
	FUZZ_CHECK(counted == files);
	free(buf);
	return 0;
}
