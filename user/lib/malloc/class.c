/*
 * class.c - size classes: 16-byte steps to 128, then four per power of
 * two up to 32 KiB (docs/user_heap.md). Every class is a multiple of 16.
 */
#include "sm_internal.h"

static const uint32_t sizes[SM_CLASSES] = {
	16, 32, 48, 64, 80, 96, 112, 128,
	160, 192, 224, 256, 320, 384, 448, 512,
	640, 768, 896, 1024, 1280, 1536, 1792, 2048,
	2560, 3072, 3584, 4096, 5120, 6144, 7168, 8192,
	10240, 12288, 14336, 16384, 20480, 24576, 28672, 32768,
};

size_t sm_class_size(unsigned c) { return sizes[c]; }

/* Classes of 0..1024 bytes by 16-byte step, the table sm_class_of reads inline. */
const uint8_t sm_class_small[65] = {
	0, 0, 1, 2, 3, 4, 5, 6, 7,                      /* 0, 16, ... 128 */
	8, 8, 9, 9, 10, 10, 11, 11,                     /* ... 256 */
	12, 12, 12, 12, 13, 13, 13, 13, 14, 14, 14, 14, 15, 15, 15, 15,        /* ... 512 */
	16, 16, 16, 16, 16, 16, 16, 16, 17, 17, 17, 17, 17, 17, 17, 17,
	18, 18, 18, 18, 18, 18, 18, 18, 19, 19, 19, 19, 19, 19, 19, 19,        /* ... 1024 */
};

/* n in 129..SM_SMALL_MAX: the first class that holds it, found from n's top bits. */
unsigned sm_class_of_big(size_t n)
{
	unsigned b = 63 - (unsigned)__builtin_clzl(n - 1);     /* 2^b < n <= 2^(b+1) */
	unsigned quarter = (unsigned)((n - 1) >> (b - 2)) & 3;  /* which quarter of (2^b, 2^(b+1)] */
	return 8 + (b - 7) * 4 + quarter;
}

unsigned sm_class_aligned(size_t n, size_t align)
{
	for (unsigned c = sm_class_of(n ? n : 1); c < SM_CLASSES; c++)
		if (sizes[c] % align == 0)
			return c;
	return SM_CLASSES;
}
