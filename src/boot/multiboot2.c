/*
 * multiboot2.c - a bounds-checked walk over the Multiboot2 information.
 *
 * Layout (Multiboot2 specification, section 3.6): a u32 total_size and a
 * reserved u32, then tags, each starting on an 8-byte boundary with a u32
 * type and a u32 size that counts the tag's header but not its padding.
 * The walk ends at a tag of type 0 and size 8.
 */
#include "boot/multiboot2.h"
#include "lib/kstring.h"

struct tag {
	uint32_t type;
	uint32_t size;
};

static uint32_t read32(const uint8_t *p)
{
	uint32_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

static uint64_t read64(const uint8_t *p)
{
	uint64_t v;
	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * True if len bytes at off lie inside n bytes. Written so that no sum can
 * wrap: every bound in the block is checked this way.
 */
static int fits(size_t off, size_t len, size_t n)
{
	return off <= n && len <= n - off;
}

/* The length of the string in a field of n bytes; n if it holds no NUL. */
static size_t field_len(const uint8_t *src, size_t n)
{
	size_t len = 0;
	while (len < n && src[len])
		len++;
	return len;
}

/* Copy a string field of n bytes that must hold a NUL; truncates to cap. */
static enum mb2_error copy_string(char *dst, size_t cap, const uint8_t *src, size_t n)
{
	size_t len = field_len(src, n);
	if (len == n)
		return MB2_ERR_STRING;
	if (len >= cap)
		len = cap - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
	return MB2_OK;
}

/* Entries fill the tag at a stride of entry_size; a partial last one is ignored. */
static enum mb2_error parse_mmap(const uint8_t *t, uint32_t size, struct mb2_info *out)
{
	if (size < 16)
		return MB2_ERR_TAG_SIZE;
	uint32_t esize = read32(t + 8);
	if (esize < 24 || esize % 8)
		return MB2_ERR_MMAP_ENTRY;
	out->has_mmap = 1;
	for (size_t off = 16; fits(off, esize, size); off += esize) {
		if (out->mmap_len == MB2_MAX_MMAP) {
			out->mmap_dropped++;
			continue;
		}
		struct mem_range *r = &out->mmap[out->mmap_len++];
		r->base = read64(t + off);
		r->len = read64(t + off + 8);
		r->type = read32(t + off + 16);
	}
	return MB2_OK;
}

static enum mb2_error parse_module(const uint8_t *t, uint32_t size, struct mb2_info *out)
{
	struct mb2_module m;
	if (size < 17)
		return MB2_ERR_TAG_SIZE;
	m.start = read32(t + 8);
	m.end = read32(t + 12);
	enum mb2_error e = copy_string(m.name, sizeof(m.name), t + 16, size - 16);
	if (e != MB2_OK)
		return e;
	out->modules_total++;
	if (out->modules_len < MB2_MAX_MODULES)
		out->modules[out->modules_len++] = m;
	return MB2_OK;
}

static enum mb2_error parse_efi_mmap(const uint8_t *t, uint32_t size, struct mb2_info *out)
{
	if (size < 16)
		return MB2_ERR_TAG_SIZE;
	uint32_t dsize = read32(t + 8);
	if (dsize == 0)
		return MB2_ERR_MMAP_ENTRY;
	out->has_efi_mmap = 1;
	out->efi_desc_size = dsize;
	out->efi_desc_count = (size - 16) / dsize;
	return MB2_OK;
}

/* Keep the RSDP copy; a 2.0 one (tag 15) wins over a 1.0 one (tag 14). */
static enum mb2_error parse_rsdp(const uint8_t *t, uint32_t type, uint32_t size, struct mb2_info *out)
{
	if (!fits(8, 20, size))
		return MB2_ERR_TAG_SIZE;
	uint32_t n = size - 8;
	if (type == MB2_TAG_ACPI_OLD && out->acpi_rsdp_len > 20)
		return MB2_OK;
	if (n > MB2_RSDP_MAX)
		n = MB2_RSDP_MAX;
	memcpy(out->acpi_rsdp, t + 8, n);
	out->acpi_rsdp_len = n;
	return MB2_OK;
}

static enum mb2_error parse_tag(const uint8_t *t, uint32_t type, uint32_t size, struct mb2_info *out)
{
	switch (type) {
	case MB2_TAG_CMDLINE:
		out->cmdline_len = field_len(t + 8, size - 8);
		return copy_string(out->cmdline, sizeof(out->cmdline), t + 8, size - 8);
	case MB2_TAG_BOOTLOADER:
		return copy_string(out->bootloader, sizeof(out->bootloader), t + 8, size - 8);
	case MB2_TAG_MODULE:
		return parse_module(t, size, out);
	case MB2_TAG_MMAP:
		return parse_mmap(t, size, out);
	case MB2_TAG_EFI_MMAP:
		return parse_efi_mmap(t, size, out);
	case MB2_TAG_ACPI_OLD:
	case MB2_TAG_ACPI_NEW:
		return parse_rsdp(t, type, size, out);
	default:
		return MB2_OK;      /* tags we do not use are skipped */
	}
}

enum mb2_error mb2_parse(const void *block, size_t readable, struct mb2_info *out)
{
	memset(out, 0, sizeof(*out));
	if (!block)
		return MB2_ERR_NULL;
	if (readable < 8)
		return MB2_ERR_TRUNCATED;
	const uint8_t *b = block;
	uint32_t total = read32(b);
	out->total_size = total;
	if (total < 16)
		return MB2_ERR_TOTAL_SIZE;
	if (total > readable)
		return MB2_ERR_TRUNCATED;
	for (size_t off = 8; off < total; ) {
		if (!fits(off, 8, total))
			return MB2_ERR_NO_END;
		uint32_t type = read32(b + off), size = read32(b + off + 4);
		if (size < 8)
			return MB2_ERR_TAG_SIZE;
		if (!fits(off, size, total))
			return MB2_ERR_TAG_OVERRUN;
		out->tag_count++;
		if (type == MB2_TAG_END)
			return size == 8 ? MB2_OK : MB2_ERR_TAG_SIZE;
		enum mb2_error e = parse_tag(b + off, type, size, out);
		if (e != MB2_OK)
			return e;
		off += ((size_t)size + 7) & ~(size_t)7;
	}
	return MB2_ERR_NO_END;
}

int mb2_next_module(const void *block, size_t *cursor, uint64_t *start, uint64_t *end)
{
	const uint8_t *b = block;
	uint32_t total = read32(b);
	size_t off = *cursor ? *cursor : 8;
	while (fits(off, 8, total)) {
		uint32_t type = read32(b + off), size = read32(b + off + 4);
		if (type == MB2_TAG_END || size < 8 || !fits(off, size, total))
			break;
		size_t next = off + (((size_t)size + 7) & ~(size_t)7);
		if (type == MB2_TAG_MODULE && size >= 16) {
			*start = read32(b + off + 8);
			*end = read32(b + off + 12);
			*cursor = next;
			return 1;
		}
		off = next;
	}
	*cursor = total;
	return 0;
}

#define MB2_PAGE 4096ULL

static uint64_t pg_down(uint64_t a) { return a & ~(MB2_PAGE - 1); }
static uint64_t pg_up(uint64_t a) { return (a + MB2_PAGE - 1) & ~(MB2_PAGE - 1); }
static uint64_t span_end(const struct mem_range *r) { return r->base + r->len; }

/* Merge s[i + 1] into s[i]; n spans before. */
static void merge_next(struct mem_range *s, size_t n, size_t i)
{
	if (span_end(&s[i + 1]) > span_end(&s[i]))
		s[i].len = span_end(&s[i + 1]) - s[i].base;
	memmove(&s[i + 1], &s[i + 2], (n - i - 2) * sizeof(*s));
}

/* The index of the span followed by the smallest gap (n >= 2). */
static size_t closest_pair(const struct mem_range *s, size_t n)
{
	size_t best = 0;
	for (size_t i = 1; i + 1 < n; i++)
		if (s[i + 1].base - span_end(&s[i]) < s[best + 1].base - span_end(&s[best]))
			best = i;
	return best;
}

/* Insert page-rounded [start, end) into n sorted disjoint spans; returns the new count (<= cap). */
static size_t span_add(struct mem_range *s, size_t n, size_t cap, uint64_t start, uint64_t end)
{
	size_t i = 0;
	while (i < n && s[i].base < start)
		i++;
	memmove(&s[i + 1], &s[i], (n - i) * sizeof(*s));
	s[i] = (struct mem_range){ start, end - start, MB2_SPAN_TYPE };
	n++;
	if (i > 0 && span_end(&s[i - 1]) >= start)
		merge_next(s, n--, --i);
	while (i + 1 < n && span_end(&s[i]) >= s[i + 1].base)
		merge_next(s, n--, i);
	if (n > cap) {
		size_t j = closest_pair(s, n);
		merge_next(s, n--, j);
	}
	return n;
}

size_t mb2_module_spans(const void *block, struct mem_range *out, size_t cap, struct mb2_spans *st)
{
	struct mb2_spans z = { 0, 0, 0 };
	size_t cursor = 0, n = 0;
	uint64_t start, end;

	while (mb2_next_module(block, &cursor, &start, &end)) {
		z.modules++;
		if (end <= start || !cap)
			continue;     /* an empty (or inverted) module holds nothing */
		z.bytes += pg_up(end) - pg_down(start);
		n = span_add(out, n, cap, pg_down(start), pg_up(end));
	}
	for (size_t i = 0; i < n; i++)
		z.kept += out[i].len;
	if (st)
		*st = z;
	return n;
}

const char *mb2_error_str(enum mb2_error e)
{
	switch (e) {
	case MB2_OK: return "ok";
	case MB2_ERR_NULL: return "no information block";
	case MB2_ERR_TRUNCATED: return "block truncated (shorter than total_size)";
	case MB2_ERR_TOTAL_SIZE: return "total_size out of range";
	case MB2_ERR_TAG_SIZE: return "tag size below its fixed fields";
	case MB2_ERR_TAG_OVERRUN: return "tag runs past the end of the block";
	case MB2_ERR_NO_END: return "no end tag";
	case MB2_ERR_STRING: return "string not terminated inside its tag";
	case MB2_ERR_MMAP_ENTRY: return "memory map entry size invalid";
	}
	return "unknown error";
}
