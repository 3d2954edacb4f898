/*
 * initrd.c - reading a ustar archive in place (initrd.h).
 *
 * Layout (POSIX.1-2017, pax, "ustar Interchange Format"): 512-byte
 * header blocks, each followed by its file's data padded to 512. In a
 * header: name[100] at 0, size[12] at 124 and chksum[8] at 148 (octal
 * ASCII), typeflag at 156, magic[6] at 257 with version[2] at 263
 * ("ustar\0" "00"; GNU tar writes "ustar " " \0"), prefix[155] at 345.
 * The checksum is the sum of the header's bytes as unsigned, counting
 * the chksum field as 8 spaces. name and prefix are NUL-terminated unless
 * they fill their field. Types 1, 2, 3, 4 and 6 (links, devices, FIFOs)
 * store no data whatever their size field says; the others store size
 * bytes.
 */
#include "proc/initrd.h"
#include "lib/kstring.h"

#define BLOCK 512u

#define H_NAME 0
#define H_SIZE 124
#define H_CHKSUM 148
#define H_TYPE 156
#define H_MAGIC 257
#define H_VERSION 263
#define H_PREFIX 345

static size_t field_len(const uint8_t *f, size_t max)
{
	size_t n = 0;
	while (n < max && f[n])
		n++;
	return n;
}

/*
 * An octal number field: optional leading spaces, at least one digit,
 * then only NULs and spaces to the field's end. Returns false otherwise
 * (a GNU base-256 number among them).
 */
static bool parse_octal(const uint8_t *f, size_t n, uint64_t *v)
{
	size_t i = 0;
	while (i < n && f[i] == ' ')
		i++;
	size_t first = i;
	for (*v = 0; i < n && f[i] >= '0' && f[i] <= '7'; i++)
		*v = *v << 3 | (uint64_t)(f[i] - '0');
	if (i == first)
		return false;
	for (; i < n; i++)
		if (f[i] != '\0' && f[i] != ' ')
			return false;
	return true;
}

static bool zero_block(const uint8_t *h)
{
	for (unsigned i = 0; i < BLOCK; i++)
		if (h[i])
			return false;
	return true;
}

static bool good_magic(const uint8_t *h)
{
	return !memcmp(h + H_MAGIC, "ustar\0" "00", 8) ||
	       !memcmp(h + H_MAGIC, "ustar  \0", 8);
}

static bool good_checksum(const uint8_t *h)
{
	uint64_t want, sum = 0;
	if (!parse_octal(h + H_CHKSUM, 8, &want))
		return false;
	for (unsigned i = 0; i < BLOCK; i++)
		sum += i >= H_CHKSUM && i < H_CHKSUM + 8 ? ' ' : h[i];
	return sum == want;
}

/* prefix "/" name into path, without leading "./" or "/"; false if it does not fit. */
static bool make_path(const uint8_t *h, char *path)
{
	char full[155 + 1 + 100 + 1];
	size_t np = field_len(h + H_PREFIX, 155), nn = field_len(h + H_NAME, 100), n = 0;
	memcpy(full, h + H_PREFIX, np);
	n = np;
	if (np)
		full[n++] = '/';
	memcpy(full + n, h + H_NAME, nn);
	n += nn;
	full[n] = '\0';
	const char *s = full;
	for (;;) {
		if (s[0] == '/')
			s++;
		else if (s[0] == '.' && s[1] == '/')
			s += 2;
		else
			break;
	}
	size_t len = strlen(s);
	if (len >= INITRD_NAME_MAX)
		return false;
	memcpy(path, s, len + 1);
	return true;
}

/* Types whose entries store no data blocks (POSIX: LNKTYPE .. FIFOTYPE but DIRTYPE). */
static bool has_no_data(uint8_t type)
{
	return type == '1' || type == '2' || type == '3' || type == '4' || type == '6';
}

int initrd_next(const struct initrd *rd, size_t *cursor, struct initrd_file *f)
{
	for (;;) {
		size_t at = *cursor;
		if (at >= rd->len)
			return -INITRD_E_NO_END;
		if (rd->len - at < BLOCK)
			return -INITRD_E_SHORT;
		const uint8_t *h = rd->base + at;
		/* A zero block ends the archive: the second one and tar's padding are not read. */
		if (zero_block(h))
			return 0;
		if (!good_magic(h))
			return -INITRD_E_MAGIC;
		if (!good_checksum(h))
			return -INITRD_E_CHECKSUM;
		uint64_t size;
		if (!parse_octal(h + H_SIZE, 12, &size))
			return -INITRD_E_SIZE;
		if (h[H_NAME] == '\0')
			return -INITRD_E_NAME;
		uint8_t type = h[H_TYPE];
		if (has_no_data(type))
			size = 0;
		if (size > rd->len - at - BLOCK)
			return -INITRD_E_SHORT;
		bool regular = type == '0' || type == '\0';
		if (regular && (!make_path(h, f->path) || f->path[0] == '\0'))
			return -INITRD_E_NAME;
		/* size < 8^12, so rounding it up cannot wrap. */
		*cursor = at + BLOCK + ((size + BLOCK - 1) & ~(uint64_t)(BLOCK - 1));
		if (regular) {
			f->data = h + BLOCK;
			f->size = size;
			return 1;
		}
	}
}

bool initrd_find(const struct initrd *rd, const char *path, struct initrd_file *f)
{
	size_t cursor = 0;
	while (*path == '/')
		path++;
	while (initrd_next(rd, &cursor, f) == 1)
		if (!strcmp(f->path, path))
			return true;
	return false;
}

int initrd_check(const struct initrd *rd, size_t *files)
{
	struct initrd_file f;
	size_t cursor = 0;
	int r;
	*files = 0;
	while ((r = initrd_next(rd, &cursor, &f)) == 1)
		(*files)++;
	return -r;
}

static const char *const initrd_errors[INITRD_E_COUNT] = {
	[INITRD_OK] = "a valid archive",
	[INITRD_E_SHORT] = "a header or a file runs past the end of the archive",
	[INITRD_E_MAGIC] = "a header without the ustar magic",
	[INITRD_E_CHECKSUM] = "a header's checksum does not match",
	[INITRD_E_SIZE] = "a size field is not an octal number",
	[INITRD_E_NAME] = "an empty or overlong file name",
	[INITRD_E_NO_END] = "the archive ends without a zero block",
};

const char *initrd_error_str(int e)
{
	if (e < 0)
		e = -e;
	if (e >= INITRD_E_COUNT)
		return "unknown initrd error";
	return initrd_errors[e];
}
