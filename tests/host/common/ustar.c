/* ustar.c - ustar headers for the host tests' archives (ustar.h). */
#include <string.h>
#include "ustar.h"

void ustar_octal(uint8_t *f, size_t n, uint64_t v)
{
	f[n - 1] = '\0';
	for (size_t i = n - 1; i-- > 0; v >>= 3)
		f[i] = (uint8_t)('0' + (v & 7));
}

void ustar_checksum(uint8_t *h)
{
	unsigned sum = 0;
	memset(h + 148, ' ', 8);
	for (int i = 0; i < 512; i++)
		sum += h[i];
	ustar_octal(h + 148, 7, sum);   /* six digits, NUL, then the space left from above */
}

uint8_t *ustar_add(uint8_t *buf, size_t *len, const char *prefix, const char *name, char type,
		   const void *data, size_t size)
{
	uint8_t *h = buf + *len;
	memset(h, 0, 512);
	memcpy(h, name, strnlen(name, 100));
	memcpy(h + 100, "0000644", 8);
	memcpy(h + 108, "0000000", 8);
	memcpy(h + 116, "0000000", 8);
	ustar_octal(h + 124, 12, size);
	ustar_octal(h + 136, 12, 0);
	h[156] = (uint8_t)type;
	memcpy(h + 257, "ustar\0" "00", 8);
	if (prefix)
		memcpy(h + 345, prefix, strnlen(prefix, 155));
	ustar_checksum(h);
	*len += 512;
	if (data)
		memcpy(buf + *len, data, size);
	*len += (size + 511) / 512 * 512;
	return h;
}
