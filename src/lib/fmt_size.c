#include "lib/kprintf.h"

/*
 * Bytes in the largest unit that holds them exactly: "3 GiB", "639 KiB";
 * a size that is not whole KiB gets a tenth: "2120.8 KiB".
 */
void fmt_size(char *buf, size_t n, uint64_t bytes)
{
	static const char *const unit[] = { "B", "KiB", "MiB", "GiB", "TiB" };
	unsigned u = 0;

	if (bytes >= 1024 && (bytes & 1023)) {
		ksnprintf(buf, n, "%llu.%llu KiB", (unsigned long long)bytes >> 10,
			  (unsigned long long)((bytes & 1023) * 10 >> 10));
		return;
	}
	while (u < 4 && bytes && !(bytes & 1023))
		bytes >>= 10, u++;
	ksnprintf(buf, n, "%llu %s", (unsigned long long)bytes, unit[u]);
}

