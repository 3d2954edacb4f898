/*
 * ustar.h - ustar archives written by host tests, header by header as
 * POSIX describes them, for the readers under test (src/proc/initrd.c and
 * fs_init): a test appends entries to its own buffer and may spoil a
 * header afterwards (then calls ustar_checksum, or not).
 */
#ifndef STRATA_TESTS_USTAR_H
#define STRATA_TESTS_USTAR_H

#include <stddef.h>
#include <stdint.h>

/* An octal field of n bytes: n - 1 digits and a NUL, as GNU tar writes size fields. */
void ustar_octal(uint8_t *field, size_t n, uint64_t v);
/* The header's checksum over its 512 bytes, the field taken as spaces. */
void ustar_checksum(uint8_t *h);
/*
 * Append an entry of type ('0' a file, '5' a directory, ...) at buf + *len,
 * its data (NULL: none written, zeroes stay) padded to 512 bytes; prefix
 * may be NULL. Returns its header.
 */
uint8_t *ustar_add(uint8_t *buf, size_t *len, const char *prefix, const char *name, char type,
		   const void *data, size_t size);

#endif
