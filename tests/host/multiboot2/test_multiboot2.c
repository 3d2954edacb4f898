/*
 * test_multiboot2.c - the Multiboot2 parser against crafted blocks.
 *
 * Each block is built in a buffer exactly as long as the block, so any read
 * past its end is caught by AddressSanitizer, not just by the checks.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "boot/multiboot2.h"
#include "test_cmdline.h"

struct builder {
	uint8_t buf[32768];
	size_t len;
};

static void b_start(struct builder *b)
{
	memset(b, 0, sizeof(*b));
	b->len = 8;
}

static void b_put(struct builder *b, const void *p, size_t n)
{
	memcpy(b->buf + b->len, p, n);
	b->len += n;
}

static void b_u32(struct builder *b, uint32_t v) { b_put(b, &v, 4); }
static void b_u64(struct builder *b, uint64_t v) { b_put(b, &v, 8); }
static void b_align(struct builder *b) { b->len = (b->len + 7) & ~(size_t)7; }

static void b_string_tag(struct builder *b, uint32_t type, const char *s)
{
	b_u32(b, type);
	b_u32(b, 8 + (uint32_t)strlen(s) + 1);
	b_put(b, s, strlen(s) + 1);
	b_align(b);
}

static void b_mmap_tag(struct builder *b, const struct mem_range *r, size_t n, uint32_t esize)
{
	b_u32(b, MB2_TAG_MMAP);
	b_u32(b, 16 + (uint32_t)(n * esize));
	b_u32(b, esize);
	b_u32(b, 0);
	for (size_t i = 0; i < n; i++) {
		size_t start = b->len;
		b_u64(b, r[i].base);
		b_u64(b, r[i].len);
		b_u32(b, r[i].type);
		b_u32(b, 0);
		b->len = start + esize;
	}
	b_align(b);
}

static void b_end(struct builder *b)
{
	b_u32(b, MB2_TAG_END);
	b_u32(b, 8);
	uint32_t total = (uint32_t)b->len;
	memcpy(b->buf, &total, 4);
}

/* Parse a copy of exactly `len` bytes so ASan sees any overread. */
static enum mb2_error parse_exact(const struct builder *b, size_t len, struct mb2_info *info)
{
	uint8_t *copy = malloc(len ? len : 1);
	memcpy(copy, b->buf, len);
	enum mb2_error e = mb2_parse(copy, len, info);
	free(copy);
	return e;
}

static const struct mem_range qemu_map[] = {
	{ 0x0, 0x9fc00, MEM_AVAILABLE },
	{ 0x9fc00, 0x400, MEM_RESERVED },
	{ 0xf0000, 0x10000, MEM_RESERVED },
	{ 0x100000, 0x7ee0000, MEM_AVAILABLE },
	{ 0xfd00000000, 0x300000000, MEM_RESERVED },
};

static struct mb2_info info;

static void build_typical(struct builder *b)
{
	b_start(b);
	b_string_tag(b, MB2_TAG_CMDLINE, "mode=test ktest=buddy");
	b_string_tag(b, MB2_TAG_BOOTLOADER, "GRUB 2.06");
	b_mmap_tag(b, qemu_map, 5, 24);
	b_end(b);
}

static void typical_block_parses(void)
{
	struct builder b;
	build_typical(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
	CHECK(!strcmp(info.cmdline, "mode=test ktest=buddy"));
	CHECK(!strcmp(info.bootloader, "GRUB 2.06"));
	CHECK(info.has_mmap);
	REQUIRE(info.mmap_len == 5);
	for (size_t i = 0; i < 5; i++) {
		CHECK_EQ(info.mmap[i].base, qemu_map[i].base);
		CHECK_EQ(info.mmap[i].len, qemu_map[i].len);
		CHECK_EQ(info.mmap[i].type, qemu_map[i].type);
	}
	CHECK_EQ(info.total_size, b.len);
}

static void every_type_is_kept(void)
{
	struct mem_range r[6];
	for (uint32_t t = 0; t < 6; t++)
		r[t] = (struct mem_range){ t * 0x1000, 0x1000, t + 1 };
	struct builder b;
	b_start(&b);
	b_mmap_tag(&b, r, 6, 24);
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
	REQUIRE(info.mmap_len == 6);
	for (uint32_t t = 0; t < 6; t++)
		CHECK_EQ(info.mmap[t].type, t + 1);
}

/* A loader may use bigger entries than 24 bytes; the stride must follow entry_size. */
static void larger_entry_size_is_honoured(void)
{
	struct builder b;
	b_start(&b);
	b_mmap_tag(&b, qemu_map, 5, 40);
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
	REQUIRE(info.mmap_len == 5);
	CHECK_EQ(info.mmap[3].base, 0x100000);
	CHECK_EQ(info.mmap[4].len, 0x300000000);
}

/* A memory-map tag with room for one 24-byte entry that claims entry_size bytes per entry. */
static void b_mmap_claiming(struct builder *b, uint32_t entry_size)
{
	b_start(b);
	b_u32(b, MB2_TAG_MMAP);
	b_u32(b, 16 + 24);
	b_u32(b, entry_size);
	b_u32(b, 0);
	b->len += 24;
	b_end(b);
}

static void bad_entry_sizes_rejected(void)
{
	uint32_t sizes[] = { 0, 8, 20, 25 };
	for (size_t i = 0; i < 4; i++) {
		struct builder b;
		b_mmap_claiming(&b, sizes[i]);
		CHECK_EQ(parse_exact(&b, b.len, &info), MB2_ERR_MMAP_ENTRY);
	}
}

static void modules_and_efi_map(void)
{
	struct builder b;
	b_start(&b);
	b_u32(&b, MB2_TAG_MODULE);
	b_u32(&b, 16 + 7);
	b_u32(&b, 0x200000);
	b_u32(&b, 0x234000);
	b_put(&b, "initrd", 7);
	b_align(&b);
	b_u32(&b, MB2_TAG_EFI_MMAP);
	b_u32(&b, 16 + 3 * 48);
	b_u32(&b, 48);
	b_u32(&b, 1);
	b.len += 3 * 48;
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
	REQUIRE(info.modules_len == 1);
	CHECK_EQ(info.modules[0].start, 0x200000);
	CHECK_EQ(info.modules[0].end, 0x234000);
	CHECK(!strcmp(info.modules[0].name, "initrd"));
	CHECK(info.has_efi_mmap);
	CHECK_EQ(info.efi_desc_count, 3);
	CHECK(!info.has_mmap);
}

static void unknown_tags_skipped(void)
{
	struct builder b;
	b_start(&b);
	b_u32(&b, 21);          /* image load base */
	b_u32(&b, 12);
	b_u32(&b, 0x100000);
	b_align(&b);
	b_string_tag(&b, MB2_TAG_CMDLINE, "x");
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
	CHECK(!strcmp(info.cmdline, "x"));
	CHECK_EQ(info.tag_count, 3);
}

static void truncated_block(void)
{
	struct builder b;
	build_typical(&b);
	/* Every length shorter than total_size must fail cleanly. */
	for (size_t len = 0; len < b.len; len++) {
		enum mb2_error e = parse_exact(&b, len, &info);
		CHECK(e == MB2_ERR_TRUNCATED);
	}
}

static void total_size_too_small(void)
{
	struct builder b;
	b_start(&b);
	uint32_t total = 8;
	memcpy(b.buf, &total, 4);
	CHECK_EQ(parse_exact(&b, 16, &info), MB2_ERR_TOTAL_SIZE);
	CHECK_EQ(mb2_parse(NULL, 100, &info), MB2_ERR_NULL);
}

static void tag_size_below_header(void)
{
	for (uint32_t size = 0; size < 8; size++) {
		struct builder b;
		b_start(&b);
		b_u32(&b, MB2_TAG_CMDLINE);
		b_u32(&b, size);
		b.len += 8;
		b_end(&b);
		CHECK_EQ(parse_exact(&b, b.len, &info), MB2_ERR_TAG_SIZE);
	}
}

static void tag_runs_past_end(void)
{
	struct builder b;
	b_start(&b);
	b_u32(&b, MB2_TAG_CMDLINE);
	b_u32(&b, 4000);
	b_put(&b, "abc", 4);
	b_align(&b);
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_ERR_TAG_OVERRUN);
}

static void missing_end_tag(void)
{
	struct builder b;
	b_start(&b);
	b_string_tag(&b, MB2_TAG_CMDLINE, "mode=run");
	uint32_t total = (uint32_t)b.len;
	memcpy(b.buf, &total, 4);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_ERR_NO_END);
	CHECK(!strcmp(info.cmdline, "mode=run"));   /* what came before is kept */
	/* A block whose last 4 bytes cannot hold a tag header. */
	b.len += 4;
	total = (uint32_t)b.len;
	memcpy(b.buf, &total, 4);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_ERR_NO_END);
}

static void unterminated_string(void)
{
	struct builder b;
	b_start(&b);
	b_u32(&b, MB2_TAG_CMDLINE);
	b_u32(&b, 8 + 4);
	b_put(&b, "abcd", 4);
	b_align(&b);
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_ERR_STRING);
}

/* A 600-byte line (GRUB passes such) is kept whole. */
static void long_command_line_kept(void)
{
	char s[600];
	memset(s, 'a', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	struct builder b;
	b_start(&b);
	b_string_tag(&b, MB2_TAG_CMDLINE, s);
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
	CHECK(!strcmp(info.cmdline, s));
	CHECK_EQ(info.cmdline_len, 599);
}

/* A line longer than the kernel keeps is cut, and cmdline_len says by how much. */
static void too_long_command_line_detected(void)
{
	static char s[MB2_CMDLINE_MAX + 100];
	memset(s, 'b', sizeof(s) - 1);
	s[sizeof(s) - 1] = '\0';
	static struct builder b;
	b_start(&b);
	b_string_tag(&b, MB2_TAG_CMDLINE, s);
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
	CHECK_EQ(strlen(info.cmdline), MB2_CMDLINE_MAX - 1);
	CHECK_EQ(info.cmdline_len, sizeof(s) - 1);
}

static void b_module(struct builder *b, uint32_t start, uint32_t end, const char *name)
{
	b_u32(b, MB2_TAG_MODULE);
	b_u32(b, 16 + (uint32_t)strlen(name) + 1);
	b_u32(b, start);
	b_u32(b, end);
	b_put(b, name, strlen(name) + 1);
	b_align(b);
}

/*
 * 40 modules: the parser keeps the first MB2_MAX_MODULES with names, counts
 * all, and mb2_next_module() yields every one from the block, in order.
 */
static void more_modules_than_the_table(void)
{
	enum { N = 40 };
	struct builder b;
	char name[16];
	b_start(&b);
	b_string_tag(&b, MB2_TAG_CMDLINE, "mode=test");
	for (uint32_t i = 0; i < N; i++) {
		snprintf(name, sizeof(name), "mod%u", i);
		b_module(&b, 0x1000000 + i * 0x3000, 0x1000000 + i * 0x3000 + 0x1800 + i, name);
		if (i == 20)
			b_u32(&b, 21), b_u32(&b, 12), b_u32(&b, 0), b_align(&b);   /* another tag between */
	}
	b_end(&b);
	uint8_t *copy = malloc(b.len);
	memcpy(copy, b.buf, b.len);
	CHECK_EQ(mb2_parse(copy, b.len, &info), MB2_OK);
	CHECK_EQ(info.modules_len, MB2_MAX_MODULES);
	CHECK_EQ(info.modules_total, N);
	CHECK(!strcmp(info.modules[15].name, "mod15"));
	size_t cursor = 0, n = 0;
	uint64_t start, end;
	while (mb2_next_module(copy, &cursor, &start, &end)) {
		CHECK_EQ(start, 0x1000000 + n * 0x3000);
		CHECK_EQ(end, 0x1000000 + n * 0x3000 + 0x1800 + n);
		n++;
	}
	CHECK_EQ(n, N);
	CHECK(!mb2_next_module(copy, &cursor, &start, &end));   /* stays at the end */
	free(copy);
}

/*
 * Spans over many scattered modules, for several table sizes: every byte of
 * every module is inside a span; spans are page aligned, sorted, disjoint,
 * not touching, at most cap; each span starts and ends on a module's page.
 */
static void module_spans_cover_every_module(void)
{
	enum { N = 300 };
	static uint32_t ms[N], me[N];
	static struct builder b;
	struct mem_range sp[33];
	uint64_t seed = 0x2545f4914f6cdd1dULL;
	size_t caps[] = { 1, 2, 7, 28, 32 };

	b_start(&b);
	for (int i = 0; i < N; i++) {
		ms[i] = (uint32_t)(rnd_next(&seed) % 0x40000000);
		me[i] = ms[i] + (uint32_t)(rnd_next(&seed) % (i % 5 ? 0x5000 : 0x300000));  /* some empty */
		b_module(&b, ms[i], me[i], "m");
	}
	b_end(&b);
	uint8_t *copy = malloc(b.len);
	memcpy(copy, b.buf, b.len);
	REQUIRE(mb2_parse(copy, b.len, &info) == MB2_OK);
	struct mb2_spans none;
	CHECK_EQ(mb2_module_spans(copy, sp, 0, &none), 0);      /* no room: none, and counted */
	CHECK_EQ(none.modules, N);
	for (size_t c = 0; c < sizeof(caps) / sizeof(caps[0]); c++) {
		struct mb2_spans st;
		size_t n = mb2_module_spans(copy, sp, caps[c], &st), uncovered = 0, bad = 0;
		CHECK_EQ(st.modules, N);
		CHECK(n >= 1 && n <= caps[c]);
		for (size_t i = 0; i < n; i++) {
			bad += sp[i].base % 4096 || sp[i].len % 4096 || !sp[i].len || sp[i].type != 3;
			bad += i > 0 && sp[i].base <= sp[i - 1].base + sp[i - 1].len;
			int starts = 0, ends = 0;
			for (int m = 0; m < N; m++) {
				if (me[m] <= ms[m])
					continue;
				starts += (ms[m] & ~4095u) == sp[i].base;
				ends += ((me[m] + 4095ull) & ~4095ull) == sp[i].base + sp[i].len;
			}
			bad += !starts || !ends;
		}
		for (int m = 0; m < N; m++) {
			if (me[m] <= ms[m])
				continue;
			size_t i;
			for (i = 0; i < n && !(sp[i].base <= ms[m] && me[m] <= sp[i].base + sp[i].len); i++)
				;
			uncovered += i == n;
		}
		CHECK_EQ(uncovered, 0);
		CHECK_EQ(bad, 0);
	}
	free(copy);
}

/* The smallest gaps go first: three clusters, cap 3, three spans exactly over them. */
static void module_spans_merge_the_closest(void)
{
	struct builder b;
	struct mem_range sp[4];
	b_start(&b);
	uint32_t base[3] = { 0x1000000, 0x8000000, 0x20000000 };
	for (int k = 0; k < 3; k++)
		for (uint32_t j = 0; j < 5; j++)   /* modules 1 page long, 1 page apart */
			b_module(&b, base[k] + j * 0x2000, base[k] + j * 0x2000 + 0x1000, "m");
	b_end(&b);
	uint8_t *copy = malloc(b.len);
	memcpy(copy, b.buf, b.len);
	REQUIRE(mb2_parse(copy, b.len, &info) == MB2_OK);
	REQUIRE(mb2_module_spans(copy, sp, 3, NULL) == 3);
	for (int k = 0; k < 3; k++) {
		CHECK_EQ(sp[k].base, base[k]);
		CHECK_EQ(sp[k].len, 4 * 0x2000 + 0x1000);
	}
	free(copy);
}

/* No module tag at all: the walk yields nothing. */
static void no_modules(void)
{
	struct builder b;
	build_typical(&b);
	uint8_t *copy = malloc(b.len);
	memcpy(copy, b.buf, b.len);
	CHECK_EQ(mb2_parse(copy, b.len, &info), MB2_OK);
	size_t cursor = 0;
	uint64_t start, end;
	CHECK(!mb2_next_module(copy, &cursor, &start, &end));
	CHECK_EQ(info.modules_total, 0);
	free(copy);
}

static void too_many_entries_counted(void)
{
	static struct mem_range r[MB2_MAX_MMAP + 10];
	for (size_t i = 0; i < MB2_MAX_MMAP + 10; i++)
		r[i] = (struct mem_range){ i << 12, 4096, MEM_AVAILABLE };
	/* Too big for the builder's buffer: write the block by hand. */
	size_t n = MB2_MAX_MMAP + 10, len = 8 + 16 + n * 24 + 8;
	uint8_t *blk = calloc(1, len);
	uint32_t hdr[4] = { MB2_TAG_MMAP, (uint32_t)(16 + n * 24), 24, 0 };
	memcpy(blk + 8, hdr, 16);
	for (size_t i = 0; i < n; i++)
		memcpy(blk + 24 + i * 24, &r[i], 20);
	uint32_t end[2] = { 0, 8 }, total = (uint32_t)len;
	memcpy(blk + len - 8, end, 8);
	memcpy(blk, &total, 4);
	CHECK_EQ(mb2_parse(blk, len, &info), MB2_OK);
	CHECK_EQ(info.mmap_len, MB2_MAX_MMAP);
	CHECK_EQ(info.mmap_dropped, 10);
	free(blk);
}

/*
 * Found by libFuzzer: a 33-byte block whose memory-map tag gives entry size
 * 0xfffffff8. In 32 bits 16 + 0xfffffff8 wraps to 8, which passed the
 * bound check, and the parser read an entry past the tag and the block.
 */
static void mmap_entry_size_near_4g(void)
{
	static const uint8_t blk[33] = {
		33, 0, 0, 0, 0, 0, 0, 0,                        /* total_size 33 */
		MB2_TAG_MMAP, 0, 0, 0, 25, 0, 0, 0,             /* tag 6, size 25 */
		0xf8, 0xff, 0xff, 0xff, 0, 0, 0, 0,             /* entry_size, version */
	};
	uint8_t *copy = malloc(sizeof(blk));
	memcpy(copy, blk, sizeof(blk));
	CHECK(mb2_parse(copy, sizeof(blk), &info) != MB2_OK);
	CHECK_EQ(info.mmap_len, 0);
	free(copy);
}

/* An entry size that fits no whole entry in the tag: no entry, no read past it. */
static void mmap_entry_larger_than_tag(void)
{
	uint32_t sizes[] = { 32, 0x7ffffff8, 0xfffffff0, 0xfffffff8 };
	for (size_t i = 0; i < 4; i++) {
		struct builder b;
		b_mmap_claiming(&b, sizes[i]);
		CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
		CHECK_EQ(info.mmap_len, 0);
	}
}

/* Random corruption of a valid block: never a crash, never an overread. */
static void fuzz_corrupted_blocks(void)
{
	struct builder b;
	build_typical(&b);
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	unsigned ok = 0;
	for (int i = 0; i < 20000; i++) {
		struct builder c = b;
		int flips = 1 + i % 4;
		for (int k = 0; k < flips; k++) {
			rnd_next(&s);
			c.buf[s % c.len] = (uint8_t)(s >> 32);
		}
		size_t len = (i % 3) ? c.len : (s >> 40) % (c.len + 1);
		ok += parse_exact(&c, len, &info) == MB2_OK;
	}
	printf("# fuzz: %u of 20000 corrupted blocks still parsed\n", ok);
	CHECK(ok < 20000);
}

static void b_rsdp_tag(struct builder *b, uint32_t type, uint8_t fill, uint32_t n)
{
	uint8_t r[40];
	memset(r, fill, sizeof(r));
	b_u32(b, type);
	b_u32(b, 8 + n);
	b_put(b, r, n);
	b_align(b);
}

/* The ACPI 2.0 copy (tag 15) wins over the 1.0 one (tag 14), in either order. */
static void rsdp_tags_kept(void)
{
	struct builder b;
	struct mb2_info info;
	for (int order = 0; order < 2; order++) {
		b_start(&b);
		b_rsdp_tag(&b, order ? MB2_TAG_ACPI_NEW : MB2_TAG_ACPI_OLD, order ? 0xbb : 0xaa, order ? 36 : 20);
		b_rsdp_tag(&b, order ? MB2_TAG_ACPI_OLD : MB2_TAG_ACPI_NEW, order ? 0xaa : 0xbb, order ? 20 : 36);
		b_end(&b);
		CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
		CHECK_EQ(info.acpi_rsdp_len, 36);
		CHECK_EQ(info.acpi_rsdp[0], 0xbb);
		CHECK_EQ(info.acpi_rsdp[35], 0xbb);
	}
	b_start(&b);
	b_rsdp_tag(&b, MB2_TAG_ACPI_OLD, 0xaa, 20);
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_OK);
	CHECK_EQ(info.acpi_rsdp_len, 20);
	b_start(&b);
	b_rsdp_tag(&b, MB2_TAG_ACPI_NEW, 0xbb, 12);     /* shorter than any RSDP */
	b_end(&b);
	CHECK_EQ(parse_exact(&b, b.len, &info), MB2_ERR_TAG_SIZE);
}

int main(void)
{
	RUN(typical_block_parses);
	RUN(every_type_is_kept);
	RUN(larger_entry_size_is_honoured);
	RUN(bad_entry_sizes_rejected);
	RUN(modules_and_efi_map);
	RUN(unknown_tags_skipped);
	RUN(truncated_block);
	RUN(total_size_too_small);
	RUN(tag_size_below_header);
	RUN(tag_runs_past_end);
	RUN(missing_end_tag);
	RUN(unterminated_string);
	RUN(long_command_line_kept);
	RUN(too_long_command_line_detected);
	RUN(more_modules_than_the_table);
	RUN(no_modules);
	RUN(module_spans_cover_every_module);
	RUN(module_spans_merge_the_closest);
	RUN(too_many_entries_counted);
	RUN(mmap_entry_size_near_4g);
	RUN(mmap_entry_larger_than_tag);
	RUN(rsdp_tags_kept);
	RUN(fuzz_corrupted_blocks);
	test_cmdline_all();
	return check_finish();
}
