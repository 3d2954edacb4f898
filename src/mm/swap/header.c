/*
 * header.c - the swap area's header (swap.h has the layout): made, and
 * checked before a single slot of a disk is written.
 */
#include "mm/swap/swap.h"
#include "lib/kstring.h"

#define OFF_MAGIC     0
#define OFF_VERSION   16
#define OFF_PAGE_SIZE 20
#define OFF_PAGES     24
#define OFF_CRC       32

static const char *const error_text[] = {
	"ok", "no swap signature", "another version", "another page size",
	"the header's checksum does not match", "a size the area or the disk cannot have",
	"no such slot in use",
};

const char *swap_error_str(int e)
{
	return e <= 0 && -e < (int)(sizeof(error_text) / sizeof(error_text[0])) ? error_text[-e] : "?";
}

/* Bitwise, reflected polynomial 0xedb88320: 4 KiB a swap-on, no table needed. */
static uint32_t crc_update(uint32_t crc, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		crc ^= b[i];
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
	}
	return crc;
}

uint32_t swap_crc32(const void *p, size_t n)
{
	return ~crc_update(0xffffffffu, p, n);
}

static void put32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get32(const uint8_t *p)
{
	uint32_t v = 0;
	for (int i = 3; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

/* The page's CRC with the CRC field taken as zero. */
static uint32_t header_crc(const uint8_t *page)
{
	static const uint8_t zero[4];
	uint32_t crc = crc_update(0xffffffffu, page, OFF_CRC);
	crc = crc_update(crc, zero, 4);
	return ~crc_update(crc, page + OFF_CRC + 4, SWAP_PAGE - OFF_CRC - 4);
}

int swap_header_format(void *page, uint64_t pages)
{
	uint8_t *p = page;
	if (pages < SWAP_MIN_PAGES || pages > SWAP_MAX_PAGES)
		return SWAP_E_SIZE;
	memset(p, 0, SWAP_PAGE);
	memcpy(p + OFF_MAGIC, SWAP_MAGIC, sizeof(SWAP_MAGIC) - 1);
	put32(p + OFF_VERSION, SWAP_VERSION);
	put32(p + OFF_PAGE_SIZE, SWAP_PAGE);
	put64(p + OFF_PAGES, pages);
	put32(p + OFF_CRC, header_crc(p));
	return 0;
}

int swap_header_check(const void *page, uint64_t disk_pages, uint64_t *pages)
{
	const uint8_t *p = page;
	static const uint8_t magic[16] = SWAP_MAGIC;
	if (memcmp(p + OFF_MAGIC, magic, sizeof(magic)))
		return SWAP_E_MAGIC;
	if (get32(p + OFF_VERSION) != SWAP_VERSION)
		return SWAP_E_VERSION;
	if (get32(p + OFF_PAGE_SIZE) != SWAP_PAGE)
		return SWAP_E_PAGE_SIZE;
	if (get32(p + OFF_CRC) != header_crc(p))
		return SWAP_E_CHECKSUM;
	uint64_t n = get64(p + OFF_PAGES);
	if (n < SWAP_MIN_PAGES || n > SWAP_MAX_PAGES || n > disk_pages)
		return SWAP_E_SIZE;
	*pages = n;
	return 0;
}
