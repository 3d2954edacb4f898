/*
 * test_elf.c - the ELF checker (src/proc/elf.c) against images built here.
 *
 * build() writes a file header, program headers and patterned segment
 * bytes into a heap buffer exactly as long as the file, so ASan catches
 * a read one byte past it. Each refusal test makes one defect in a valid
 * image and expects exactly its error. The mutation test and the real
 * program (tests/fuzz/corpus/elf/user-init, linked by user/user.ld) are
 * judged by elf_plan.h, a checker written apart from elf.c. The files
 * in user/data/ (scripts/mkbadelf.py) get the errors their names promise.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "proc/elf.h"
#include "elf_plan.h"
#include "test_initrd.h"

#define LO 0x10000ull
#define HI 0x800000000000ull
#define KERNEL_VA 0xffffffff80000000ull

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_INTERP 3
#define PT_NOTE 4
#define PT_GNU_STACK 0x6474e551u
#define R ELF_PROT_R
#define W ELF_PROT_W
#define X ELF_PROT_X

struct ph {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz, memsz, align;
};

struct img {
	uint8_t *p;
	size_t len;
	struct ph ph[20];
	unsigned n;
	uint64_t entry;
};

static void put16(uint8_t *p, uint16_t v) { memcpy(p, &v, 2); }
static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

/* The program user/user.ld makes: text r-x, rodata r--, data rw- with bss; a note and a stack. */
static void spec_default(struct img *m)
{
	memset(m, 0, sizeof(*m));
	m->ph[0] = (struct ph){ PT_LOAD, R | X, 0x1000, 0x401000, 0x800, 0x800, 0x1000 };
	m->ph[1] = (struct ph){ PT_LOAD, R, 0x2000, 0x402000, 0x100, 0x100, 0x1000 };
	m->ph[2] = (struct ph){ PT_LOAD, R | W, 0x3000, 0x403000, 0x80, 0x2000, 0x1000 };
	m->ph[3] = (struct ph){ PT_NOTE, R, 0x2100, 0x402100, 0x20, 0x20, 4 };
	m->ph[4] = (struct ph){ PT_GNU_STACK, R | W, 0, 0, 0, 0, 16 };
	m->n = 5;
	m->entry = 0x401010;
}

/* Lay out m's headers and segments into a fresh buffer of exactly the file's length. */
static void build(struct img *m)
{
	size_t len = 64 + (size_t)m->n * 56;
	for (unsigned i = 0; i < m->n; i++) {
		const struct ph *h = &m->ph[i];
		if (h->offset < 0x100000 && h->filesz < 0x100000 && h->offset + h->filesz > len)
			len = h->offset + h->filesz;
	}
	free(m->p);
	m->len = len;
	m->p = calloc(1, len);
	for (size_t i = 64 + (size_t)m->n * 56; i < len; i++)
		m->p[i] = (uint8_t)(i * 7 + 1);
	memcpy(m->p, "\x7f" "ELF\x02\x01\x01", 7);
	put16(m->p + 16, 2);
	put16(m->p + 18, 62);
	put32(m->p + 20, 1);
	put64(m->p + 24, m->entry);
	put64(m->p + 32, 64);
	put16(m->p + 52, 64);
	put16(m->p + 54, 56);
	put16(m->p + 56, (uint16_t)m->n);
	for (unsigned i = 0; i < m->n; i++) {
		uint8_t *q = m->p + 64 + i * 56;
		const struct ph *h = &m->ph[i];
		put32(q, h->type);
		put32(q + 4, h->flags);
		put64(q + 8, h->offset);
		put64(q + 16, h->vaddr);
		put64(q + 24, h->vaddr);
		put64(q + 32, h->filesz);
		put64(q + 40, h->memsz);
		put64(q + 48, h->align);
	}
}

static int check_img(struct img *m, struct elf_image *out)
{
	return elf_check(m->p, m->len, LO, HI, out);
}

/* Build m, expect refusal with want; frees the buffer. */
static void expect_error(struct img *m, int want)
{
	struct elf_image out;
	build(m);
	int e = check_img(m, &out);
	if (e != want)
		printf("#   got %d (%s), want %d (%s)\n", e, elf_error_str(e), want, elf_error_str(want));
	CHECK_EQ(e, want);
	free(m->p);
	m->p = NULL;
}

static void expect_ok(struct img *m, struct elf_image *out)
{
	build(m);
	int e = check_img(m, out);
	if (e)
		printf("#   refused: %s\n", elf_error_str(e));
	CHECK_EQ(e, ELF_OK);
	if (!e) {
		const char *why = elf_plan_violation(m->p, m->len, LO, HI, out);
		if (why)
			printf("#   plan: %s\n", why);
		CHECK(why == NULL);
	}
}

static void valid_program_planned(void)
{
	struct img m;
	struct elf_image out;
	spec_default(&m);
	expect_ok(&m, &out);
	CHECK_EQ(out.entry, 0x401010);
	CHECK_EQ(out.nsegs, 3);
	CHECK_EQ(out.seg[0].va, 0x401000);
	CHECK_EQ(out.seg[0].offset, 0x1000);
	CHECK_EQ(out.seg[0].filesz, 0x800);
	CHECK_EQ(out.seg[0].prot, R | X);
	CHECK_EQ(out.seg[1].va, 0x402000);
	CHECK_EQ(out.seg[1].prot, R);
	CHECK_EQ(out.seg[2].va, 0x403000);
	CHECK_EQ(out.seg[2].filesz, 0x80);
	CHECK_EQ(out.seg[2].memsz, 0x2000);
	CHECK_EQ(out.seg[2].prot, R | W);
	CHECK_EQ(out.end, 0x405000);
	free(m.p);
}

static void segments_sorted_by_va(void)
{
	struct img m;
	struct elf_image out;
	spec_default(&m);
	struct ph t = m.ph[0];
	m.ph[0] = m.ph[2], m.ph[2] = t;     /* data first, text last in the table */
	expect_ok(&m, &out);
	REQUIRE(out.nsegs == 3);
	CHECK_EQ(out.seg[0].va, 0x401000);
	CHECK_EQ(out.seg[1].va, 0x402000);
	CHECK_EQ(out.seg[2].va, 0x403000);
	CHECK_EQ(out.seg[2].prot, R | W);
	CHECK_EQ(out.end, 0x405000);
	free(m.p);
}

static void empty_load_skipped(void)
{
	struct img m;
	struct elf_image out;
	spec_default(&m);
	/* What ld emits for an empty .data: p_vaddr 0, nothing in memory. */
	m.ph[m.n++] = (struct ph){ PT_LOAD, R | W, 0xe8, 0, 0, 0, 0x1000 };
	expect_ok(&m, &out);
	CHECK_EQ(out.nsegs, 3);
	CHECK_EQ(out.seg[0].va, 0x401000);
	free(m.p);
}

static void unaligned_start_and_odd_addresses(void)
{
	struct img m;
	struct elf_image out;
	spec_default(&m);
	m.ph[1] = (struct ph){ PT_LOAD, R, 0x2345, 0x402345, 0x10, 0x10, 0 };
	m.ph[2].align = 1;
	m.ph[0].align = 0x200000;
	m.ph[0].memsz = 0x1000;     /* ends exactly at the page the next starts in: allowed */
	build(&m);
	uint8_t *odd = malloc(m.len + 1);
	memcpy(odd + 1, m.p, m.len);
	int e = elf_check(odd + 1, m.len, LO, HI, &out);
	CHECK_EQ(e, ELF_OK);
	CHECK(e || elf_plan_violation(odd + 1, m.len, LO, HI, &out) == NULL);
	CHECK_EQ(out.seg[1].va, 0x402345);
	CHECK_EQ(out.seg[1].offset, 0x2345);
	free(odd);
	free(m.p);
}

static void sixteen_segments_but_not_seventeen(void)
{
	struct img m;
	struct elf_image out;
	memset(&m, 0, sizeof(m));
	for (unsigned i = 0; i < ELF_MAX_SEGMENTS; i++)
		m.ph[i] = (struct ph){ PT_LOAD, i ? R : R | X, 0x1000, 0x401000 + 0x1000ull * i * 2, 0x10, 0x10, 0x1000 };
	m.n = ELF_MAX_SEGMENTS;
	m.entry = 0x401000;
	expect_ok(&m, &out);
	CHECK_EQ(out.nsegs, ELF_MAX_SEGMENTS);
	CHECK_EQ(out.end, 0x401000 + 0x2000ull * 15 + 0x1000);
	m.ph[m.n++] = (struct ph){ PT_LOAD, R, 0x1000, 0x500000, 0x10, 0x10, 0x1000 };
	expect_error(&m, ELF_E_TOO_MANY);
}

static void segment_may_end_at_hi(void)
{
	struct img m;
	struct elf_image out;
	spec_default(&m);
	m.ph[2].vaddr = HI - 0x2000;
	m.ph[2].offset = 0x3000;
	expect_ok(&m, &out);
	CHECK_EQ(out.end, HI);
	free(m.p);
	spec_default(&m);
	m.ph[0] = (struct ph){ PT_LOAD, R | X, 0x1000, LO, 0x800, 0x800, 0x1000 };
	m.entry = LO;
	expect_ok(&m, &out);
	CHECK_EQ(out.seg[0].va, LO);
	free(m.p);
}

/* One edit of the file header, expecting err. */
static void header_defect(unsigned off, unsigned width, uint64_t v, int err)
{
	struct img m;
	struct elf_image out;
	spec_default(&m);
	build(&m);
	memcpy(m.p + off, &v, width);
	int e = check_img(&m, &out);
	if (e != err)
		printf("#   offset %u = 0x%llx: got %s\n", off, (unsigned long long)v, elf_error_str(e));
	CHECK_EQ(e, err);
	free(m.p);
}

static void header_defects_refused(void)
{
	header_defect(0, 1, 0x7e, ELF_E_MAGIC);
	header_defect(3, 1, 'f', ELF_E_MAGIC);
	header_defect(4, 1, 1, ELF_E_CLASS);       /* ELFCLASS32 */
	header_defect(5, 1, 2, ELF_E_DATA);        /* big-endian */
	header_defect(6, 1, 0, ELF_E_VERSION);
	header_defect(20, 4, 2, ELF_E_VERSION);
	header_defect(18, 2, 3, ELF_E_MACHINE);    /* EM_386 */
	header_defect(16, 2, 3, ELF_E_TYPE);       /* ET_DYN */
	header_defect(16, 2, 1, ELF_E_TYPE);       /* ET_REL */
	header_defect(52, 2, 52, ELF_E_EHSIZE);
	header_defect(54, 2, 32, ELF_E_PHENTSIZE);
	header_defect(54, 2, 57, ELF_E_PHENTSIZE);
}

static void short_files_refused(void)
{
	struct img m;
	struct elf_image out;
	spec_default(&m);
	build(&m);
	CHECK_EQ(elf_check(m.p, 0, LO, HI, &out), ELF_E_SHORT);
	CHECK_EQ(elf_check(m.p, 63, LO, HI, &out), ELF_E_SHORT);
	/* A whole header, but the table cut short by one byte. */
	CHECK_EQ(elf_check(m.p, 64 + 5 * 56 - 1, LO, HI, &out), ELF_E_PHDRS);
	/* The table whole, the last segment's bytes cut short. */
	CHECK_EQ(elf_check(m.p, m.len - 1, LO, HI, &out), ELF_E_FILE_BOUNDS);
	free(m.p);
}

static void program_header_table_outside(void)
{
	header_defect(32, 8, 0xffffffffffffffc0ull, ELF_E_PHDRS);  /* + 56 wraps */
	header_defect(32, 8, 0xffffffffffffffffull, ELF_E_PHDRS);
	header_defect(32, 8, 0x10000000, ELF_E_PHDRS);
	header_defect(56, 2, 0xffff, ELF_E_PHDRS);                 /* 0xffff * 56 */
	struct img m;
	spec_default(&m);
	build(&m);
	uint64_t phoff = m.len - 5 * 56 + 1;                        /* one byte over the end */
	memcpy(m.p + 32, &phoff, 8);
	struct elf_image out;
	CHECK_EQ(check_img(&m, &out), ELF_E_PHDRS);
	free(m.p);
}

static void no_loadable_segment(void)
{
	struct img m;
	spec_default(&m);
	m.n = 0;
	expect_error(&m, ELF_E_NO_LOAD);
	spec_default(&m);
	m.ph[0] = m.ph[3], m.ph[1] = m.ph[4];
	m.n = 2;
	expect_error(&m, ELF_E_NO_LOAD);
	spec_default(&m);
	m.ph[0].memsz = m.ph[0].filesz = 0;
	m.n = 1;
	expect_error(&m, ELF_E_NO_LOAD);
}

static void dynamic_programs_refused(void)
{
	struct img m;
	spec_default(&m);
	m.ph[3].type = PT_INTERP;
	expect_error(&m, ELF_E_DYNAMIC);
	spec_default(&m);
	m.ph[3].type = PT_DYNAMIC;
	expect_error(&m, ELF_E_DYNAMIC);
}

static void filesz_above_memsz(void)
{
	struct img m;
	spec_default(&m);
	m.ph[1].memsz = m.ph[1].filesz - 1;
	expect_error(&m, ELF_E_FILESZ);
}

static void file_bytes_outside(void)
{
	struct img m;
	struct elf_image out;
	spec_default(&m);
	build(&m);
	/* Segment 2's bytes end the file; make them one longer. */
	put64(m.p + 64 + 2 * 56 + 32, 0x81);
	CHECK_EQ(check_img(&m, &out), ELF_E_FILE_BOUNDS);
	/* p_offset + p_filesz wraps to a small number. */
	put64(m.p + 64 + 2 * 56 + 8, 0xfffffffffffff000ull);
	put64(m.p + 64 + 2 * 56 + 32, 0x1080);
	put64(m.p + 64 + 2 * 56 + 40, 0x2000);
	CHECK_EQ(check_img(&m, &out), ELF_E_FILE_BOUNDS);
	/* p_offset past the end, filesz 0. */
	put64(m.p + 64 + 2 * 56 + 8, 0x100000);
	put64(m.p + 64 + 2 * 56 + 32, 0);
	CHECK_EQ(check_img(&m, &out), ELF_E_FILE_BOUNDS);
	free(m.p);
}

static void misaligned_segments(void)
{
	struct img m;
	spec_default(&m);
	m.ph[1].align = 0x1800;        /* not a power of two */
	expect_error(&m, ELF_E_ALIGN);
	spec_default(&m);
	m.ph[1].align = 0x800;         /* a power of two below the page size */
	expect_error(&m, ELF_E_ALIGN);
	spec_default(&m);
	m.ph[1].vaddr = 0x402010;      /* offset 0x2000: disagree modulo the page */
	expect_error(&m, ELF_E_ALIGN);
	spec_default(&m);
	m.ph[1].align = 0;
	m.ph[1].vaddr = 0x402001;      /* even with no alignment asked for */
	expect_error(&m, ELF_E_ALIGN);
}

static void addresses_outside_user_range(void)
{
	struct img m;
	spec_default(&m);
	m.ph[1].vaddr = KERNEL_VA;     /* the kernel half */
	expect_error(&m, ELF_E_ADDRESS);
	spec_default(&m);
	m.ph[1].vaddr = 0;             /* below lo */
	m.ph[1].offset = 0x2000;
	expect_error(&m, ELF_E_ADDRESS);
	spec_default(&m);
	m.ph[1].vaddr = LO - 0x1000;   /* ends at lo's page but starts below */
	expect_error(&m, ELF_E_ADDRESS);
	spec_default(&m);
	m.ph[2].vaddr = HI - 0x1000;   /* runs one page past hi */
	expect_error(&m, ELF_E_ADDRESS);
	spec_default(&m);
	m.ph[2].vaddr = HI;            /* starts at hi */
	expect_error(&m, ELF_E_ADDRESS);
	spec_default(&m);
	m.ph[2].memsz = 0xffffffffffffff00ull;   /* p_vaddr + p_memsz wraps */
	expect_error(&m, ELF_E_ADDRESS);
	spec_default(&m);
	m.ph[2].vaddr = 0xfffffffffffff000ull;   /* wraps to 0x1000 */
	expect_error(&m, ELF_E_ADDRESS);
}

static void segments_sharing_a_page(void)
{
	struct img m;
	spec_default(&m);
	m.ph[1].vaddr = 0x401800;      /* starts in text's page: bytes apart, page shared */
	m.ph[1].offset = 0x2800;
	expect_error(&m, ELF_E_OVERLAP);
	spec_default(&m);
	m.ph[2].memsz = 0x3000;        /* identical ranges */
	m.ph[1] = m.ph[2];
	m.ph[1].flags = R;
	expect_error(&m, ELF_E_OVERLAP);
	spec_default(&m);
	m.ph[1].vaddr = 0x401000 + 0x10000;   /* rodata inside bss's pages, listed apart */
	m.ph[2].vaddr = 0x40f000;
	m.ph[2].memsz = 0x4000;
	expect_error(&m, ELF_E_OVERLAP);
}

static void writable_and_executable(void)
{
	struct img m;
	spec_default(&m);
	m.ph[2].flags = R | W | X;
	expect_error(&m, ELF_E_WX);
	spec_default(&m);
	m.ph[0].flags = W | X;
	expect_error(&m, ELF_E_WX);
}

static void entry_outside_executable_segment(void)
{
	struct img m;
	struct elf_image out;
	spec_default(&m);
	m.entry = 0x403010;            /* in data */
	expect_error(&m, ELF_E_ENTRY);
	spec_default(&m);
	m.entry = 0x401800;            /* one past text */
	expect_error(&m, ELF_E_ENTRY);
	spec_default(&m);
	m.entry = 0;
	expect_error(&m, ELF_E_ENTRY);
	spec_default(&m);
	m.entry = 0x4017ff;            /* text's last byte: fine */
	expect_ok(&m, &out);
	free(m.p);
}

static void every_error_has_a_string(void)
{
	for (int e = 0; e < ELF_E_COUNT; e++) {
		CHECK(elf_error_str(e) != NULL && elf_error_str(e)[0]);
		for (int f = 0; f < e; f++)
			CHECK(strcmp(elf_error_str(e), elf_error_str(f)) != 0);
	}
	CHECK(elf_error_str(ELF_E_COUNT)[0]);
	CHECK(elf_error_str(-1)[0]);
}

/* Interesting values for a mutated field. */
static uint64_t odd_value(uint64_t old)
{
	static const uint64_t v[] = { 0, 1, 0x1000, 0xfff, 0x400000, 0x401000, HI, HI - 0x1000,
				      KERNEL_VA, ~0ull, ~0ull - 0xfff, 1ull << 63, 56, 64 };
	switch (rnd() % 4) {
	case 0: return v[rnd() % (sizeof(v) / sizeof(v[0]))];
	case 1: return old + (rnd() % 9) - 4;
	case 2: return old ^ (1ull << (rnd() % 64));
	default: return rnd();
	}
}

static void mutations_refused_or_sound(void)
{
	struct img m;
	unsigned accepted = 0, refused = 0, counts[ELF_E_COUNT] = { 0 };
	rnd_seed(42);
	spec_default(&m);
	build(&m);
	uint8_t *orig = m.p, *p = malloc(m.len);
	size_t hdr_end = 64 + m.n * 56;
	for (unsigned it = 0; it < 40000; it++) {
		memcpy(p, orig, m.len);
		unsigned edits = 1 + rnd() % 3;
		for (unsigned k = 0; k < edits; k++) {
			size_t at = rnd() % hdr_end;
			unsigned width = 1u << (rnd() % 4);
			if (at + width > hdr_end)
				at = hdr_end - width;
			uint64_t old = 0, v;
			memcpy(&old, p + at, width);
			v = odd_value(old);
			memcpy(p + at, &v, width);
		}
		size_t len = rnd() % 8 ? m.len : rnd() % (m.len + 1);
		struct elf_image out;
		int e = elf_check(p, len, LO, HI, &out);
		CHECK(e >= 0 && e < ELF_E_COUNT);
		if (e < 0 || e >= ELF_E_COUNT)
			break;
		counts[e]++;
		if (e) {
			refused++;
			continue;
		}
		accepted++;
		const char *why = elf_plan_violation(p, len, LO, HI, &out);
		if (why) {
			printf("#   iteration %u: %s\n", it, why);
			CHECK(0);
			break;
		}
	}
	printf("#   %u accepted, %u refused\n", accepted, refused);
	CHECK(accepted > 1000 && refused > 1000);
	/* The mutations reach most refusals, so the walk is not stuck at the header. */
	unsigned kinds = 0;
	for (int e = 1; e < ELF_E_COUNT; e++)
		kinds += counts[e] != 0;
	CHECK(kinds >= ELF_E_COUNT - 3);
	free(p);
	free(orig);
}

/* A program linked by user/user.ld, kept as a fuzz seed: what the kernel will really load. */
static void real_program_accepted(void)
{
	FILE *f = fopen("tests/fuzz/corpus/elf/user-init", "rb");
	REQUIRE(f != NULL);
	static uint8_t buf[1 << 20];
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	uint8_t *p = malloc(len);
	memcpy(p, buf, len);
	struct elf_image out;
	int e = elf_check(p, len, LO, HI, &out);
	CHECK_EQ(e, ELF_OK);
	CHECK(e || elf_plan_violation(p, len, LO, HI, &out) == NULL);
	CHECK(out.nsegs >= 1 && out.seg[0].va >= 0x400000 && (out.seg[0].prot & X));
	CHECK(out.entry == out.seg[0].va);
	/* The same file for a range that starts above it: refused. */
	CHECK_EQ(elf_check(p, len, 0x800000, HI, &out), ELF_E_ADDRESS);
	free(p);
}

static int check_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	static uint8_t buf[1 << 16];
	struct elf_image out;
	if (!f)
		return -1;
	size_t len = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	uint8_t *p = malloc(len ? len : 1);
	memcpy(p, buf, len);
	int e = elf_check(p, len, LO, HI, &out);
	free(p);
	return e;
}

/* The files scripts/mkbadelf.py wrote for spawn's tests, and the program they spoil. */
static void bad_programs_in_user_data(void)
{
	CHECK_EQ(check_file("tests/fuzz/corpus/elf/tiny.elf"), ELF_OK);
	CHECK_EQ(check_file("user/data/bad_wx.elf"), ELF_E_WX);
	CHECK_EQ(check_file("user/data/bad_kernel.elf"), ELF_E_ADDRESS);
	CHECK_EQ(check_file("user/data/bad_trunc.elf"), ELF_E_PHDRS);
	CHECK_EQ(check_file("user/data/not_elf.txt"), ELF_E_MAGIC);
}

int main(void)
{
	RUN(valid_program_planned);
	RUN(segments_sorted_by_va);
	RUN(empty_load_skipped);
	RUN(unaligned_start_and_odd_addresses);
	RUN(sixteen_segments_but_not_seventeen);
	RUN(segment_may_end_at_hi);
	RUN(header_defects_refused);
	RUN(short_files_refused);
	RUN(program_header_table_outside);
	RUN(no_loadable_segment);
	RUN(dynamic_programs_refused);
	RUN(filesz_above_memsz);
	RUN(file_bytes_outside);
	RUN(misaligned_segments);
	RUN(addresses_outside_user_range);
	RUN(segments_sharing_a_page);
	RUN(writable_and_executable);
	RUN(entry_outside_executable_segment);
	RUN(every_error_has_a_string);
	RUN(mutations_refused_or_sound);
	RUN(real_program_accepted);
	RUN(bad_programs_in_user_data);
	test_initrd_all();
	return check_finish();
}
