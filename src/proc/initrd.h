/*
 * initrd.h - the initial ramdisk: a ustar archive GRUB loads as a boot
 * module, read in place.
 *
 * The archive is untrusted input: every header's checksum, size field and
 * name is checked before it is used, and no file may run past the end of
 * the archive. Reading stops at the first bad header (reported by
 * initrd_check) or at the first zero block: tar writes two and pads to
 * its record size, and GRUB passes the file's exact length, so one zero
 * block is taken as the end and nothing after it is read. An archive
 * whose last entry is not followed by a zero block is INITRD_E_NO_END.
 * Only regular files ('0' or '\0') are listed; directories and other
 * entries are skipped. A path is prefix "/" name (ustar's split of a long
 * name); a path of 256 bytes or more (a full prefix and a full name) is
 * refused as INITRD_E_NAME, as is an empty one.
 * Pure code over a byte range: it runs on the host too (tests/host/proc,
 * tests/fuzz/initrd.c).
 */
#ifndef STRATA_PROC_INITRD_H
#define STRATA_PROC_INITRD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define INITRD_NAME_MAX 256     /* ustar prefix (155) + "/" + name (100), with the NUL */

struct initrd {
	const uint8_t *base;
	size_t len;
};

struct initrd_file {
	char path[INITRD_NAME_MAX];     /* as archived, without a leading "./" or "/" */
	const uint8_t *data;
	size_t size;
};

enum initrd_error {
	INITRD_OK = 0,
	INITRD_E_SHORT,         /* a header or a file's data runs past the archive's end */
	INITRD_E_MAGIC,         /* a header without the "ustar" magic */
	INITRD_E_CHECKSUM,      /* a header whose checksum does not match */
	INITRD_E_SIZE,          /* a size field that is not octal digits */
	INITRD_E_NAME,          /* an empty name, or a path too long for INITRD_NAME_MAX */
	INITRD_E_NO_END,        /* the archive ends without a zero block */
	INITRD_E_COUNT
};

/*
 * Walk the archive: *cursor starts at 0. Returns 1 and fills *f with the
 * next regular file, 0 at the end of the archive, or a negative
 * enum initrd_error (negated) at a bad header.
 */
int initrd_next(const struct initrd *rd, size_t *cursor, struct initrd_file *f);

/*
 * Find a regular file by path; a leading "/" in path is ignored ("/init"
 * finds "init" and "./init"). Returns true and fills *f, or false.
 */
bool initrd_find(const struct initrd *rd, const char *path, struct initrd_file *f);

/* Check the whole archive: INITRD_OK, or the first error (and *files counts files before it). */
int initrd_check(const struct initrd *rd, size_t *files);

const char *initrd_error_str(int e);

#endif
