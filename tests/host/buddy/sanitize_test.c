/* The sanitizer against crafted maps with exact expected output, and fuzzed maps with invariants. */
#include <string.h>
#include "fixture.h"

#define A  MEM_AVAILABLE
#define RS MEM_RESERVED
#define AC MEM_ACPI_RECLAIMABLE
#define NV MEM_NVS
#define BD MEM_BAD
#define MAXE 32

struct san_case {
	const char *name;
	unsigned phys_bits;
	struct mem_range in[MAXE];
	size_t n;
	struct mem_range out[MAXE];   /* expected; .len 0 ends it */
};

/* Entries as { base, end, type } for readability of the expected side. */
#define E(b, e, t) { (b), (e) - (b), (t) }

static const struct san_case cases[] = {
	{ "empty", 46, { { 0 } }, 0, { { 0 } } },
	{ "one range", 46, { { 0x100000, 0x100000, A } }, 1, { E(0x100000, 0x200000, A) } },
	{ "unsorted", 46, { { 0x300000, 0x100000, A }, { 0x0, 0x1000, RS }, { 0x100000, 0x100000, A } }, 3,
	  { E(0, 0x1000, RS), E(0x100000, 0x200000, A), E(0x300000, 0x400000, A) } },
	{ "overlapping RAM", 46, { { 0x1000, 0x5000, A }, { 0x3000, 0x5000, A } }, 2, { E(0x1000, 0x8000, A) } },
	{ "adjacent RAM", 46, { { 0x2000, 0x1000, A }, { 0x1000, 0x1000, A } }, 2, { E(0x1000, 0x3000, A) } },
	{ "adjacent other types", 46, { { 0x1000, 0x1000, A }, { 0x2000, 0x1000, AC } }, 2,
	  { E(0x1000, 0x2000, A), E(0x2000, 0x3000, AC) } },
	{ "reserved inside RAM", 46, { { 0x0, 0x10000, A }, { 0x4000, 0x2000, RS } }, 2,
	  { E(0, 0x4000, A), E(0x4000, 0x6000, RS), E(0x6000, 0x10000, A) } },
	{ "RAM inside reserved", 46, { { 0x0, 0x10000, RS }, { 0x4000, 0x2000, A } }, 2, { E(0, 0x10000, RS) } },
	{ "unaligned RAM trimmed inward", 46, { { 0x1234, 0x5000, A } }, 1, { E(0x2000, 0x6000, A) } },
	{ "sub-page RAM dropped, reserved keeps bytes", 46, { { 0x1800, 0xc00, A }, { 0x10000, 0x123, RS } }, 2,
	  { E(0x10000, 0x10123, RS) } },
	{ "zero length", 46, { { 0x1000, 0, A }, { 0x2000, 0, RS }, { 0x3000, 0x1000, A }, { 0, 0, 9 } }, 4,
	  { E(0x3000, 0x4000, A) } },
	{ "wraps past 2^64", 46, { { 0xfffffffffffff000, 0x2000, A }, { 0x1000, UINT64_MAX, RS }, { 0, 0x1000, A } }, 3,
	  { E(0, 0x1000, A), E(0x1000, 1ULL << 46, RS) } },
	{ "wrapping RAM clipped at 36 bits", 36, { { 0x100000, 0xffffffffffff0000, A } }, 1,
	  { E(0x100000, 1ULL << 36, A) } },
	{ "all reserved", 46, { { 0, 0x1000, RS }, { 0x1000, 0x1000, RS }, { 0x5000, 0x1000, NV } }, 3,
	  { E(0, 0x2000, RS), E(0x5000, 0x6000, NV) } },
	{ "unknown types are reserved", 46, { { 0, 0x1000, 7 }, { 0x1000, 0x1000, RS }, { 0x2000, 0x1000, 0 }, { 0x8000, 0x1000, 12 } }, 4,
	  { E(0, 0x3000, RS), E(0x8000, 0x9000, RS) } },
	{ "overlapping non-RAM types", 46, { { 0, 0x3000, AC }, { 0x2000, 0x2000, NV }, { 0x10000, 0x4000, NV }, { 0x11000, 0x1000, BD } }, 4,
	  { E(0, 0x2000, AC), E(0x2000, 0x4000, NV), E(0x10000, 0x11000, NV), E(0x11000, 0x12000, BD), E(0x12000, 0x14000, NV) } },
	{ "beyond phys_bits", 40, { { 0xffc0000000, 0x80000000, A }, { 0x20000000000, 0x1000, A } }, 2,
	  { E(0xffc0000000, 0x10000000000, A) } },
	{ "nested RAM", 46, { { 0x10000, 0x1000, A }, { 0, 0x100000, A }, { 0x20000, 0x30000, A } }, 3, { E(0, 0x100000, A) } },
	{ "duplicates", 46, { { 0x5000, 0x3000, A }, { 0x5000, 0x3000, A }, { 0x5000, 0x3000, A } }, 3, { E(0x5000, 0x8000, A) } },
	{ "RAM cut by unaligned reserved on both sides", 46, { { 0x1000, 0xf000, A }, { 0, 0x1800, RS }, { 0xf800, 0x10800, RS } }, 3,
	  { E(0, 0x1800, RS), E(0x2000, 0xf000, A), E(0xf800, 0x20000, RS) } },
	{ "bad RAM inside RAM", 46, { { 0x100000, 0x400000, A }, { 0x200000, 0x1000, BD } }, 2,
	  { E(0x100000, 0x200000, A), E(0x200000, 0x201000, BD), E(0x201000, 0x500000, A) } },
	{ "SeaBIOS 4G", 40, {
		{ 0x100000000, 0x40000000, A }, { 0x0, 0x9fc00, A }, { 0x9fc00, 0x400, RS }, { 0xf0000, 0x10000, RS },
		{ 0x100000, 0xbfee0000, A }, { 0xbffe0000, 0x20000, RS }, { 0xfeffc000, 0x4000, RS },
		{ 0xfffc0000, 0x40000, RS }, { 0xfd00000000, 0x300000000, RS } }, 9,
	  { E(0, 0x9f000, A), E(0x9fc00, 0xa0000, RS), E(0xf0000, 0x100000, RS), E(0x100000, 0xbffe0000, A),
	    E(0xbffe0000, 0xc0000000, RS), E(0xfeffc000, 0xff000000, RS), E(0xfffc0000, 0x100000000, RS),
	    E(0x100000000, 0x140000000, A), E(0xfd00000000, 0x10000000000, RS) } },
	{ "SeaBIOS 4G on a 36-bit CPU", 36, {
		{ 0x0, 0x9fc00, A }, { 0x9fc00, 0x400, RS }, { 0xf0000, 0x10000, RS }, { 0x100000, 0xbfee0000, A },
		{ 0xbffe0000, 0x20000, RS }, { 0xfeffc000, 0x4000, RS }, { 0xfffc0000, 0x40000, RS },
		{ 0x100000000, 0x40000000, A }, { 0xfd00000000, 0x300000000, RS } }, 9,
	  { E(0, 0x9f000, A), E(0x9fc00, 0xa0000, RS), E(0xf0000, 0x100000, RS), E(0x100000, 0xbffe0000, A),
	    E(0xbffe0000, 0xc0000000, RS), E(0xfeffc000, 0xff000000, RS), E(0xfffc0000, 0x100000000, RS),
	    E(0x100000000, 0x140000000, A) } },
	{ "OVMF-like, fragmented", 40, {
		{ 0x7e8ef000, 0x100000, RS }, { 0x0, 0xa0000, A }, { 0x100000, 0x700000, A }, { 0x800000, 0x8000, NV },
		{ 0x808000, 0x3000, A }, { 0x80b000, 0x1000, NV }, { 0x80c000, 0x4000, A }, { 0x810000, 0xf0000, NV },
		{ 0x900000, 0x6700000, A }, { 0x8000000, 0x76000000, A }, { 0x7000000, 0x1000000, A },
		{ 0x7e000000, 0x8ef000, A }, { 0x7e9ef000, 0x180000, A }, { 0x7eb6f000, 0x7000, AC },
		{ 0x7eb76000, 0x80000, NV }, { 0x7ebf6000, 0x2a000, RS }, { 0x7ebf6000, 0x2000, 20 },
		{ 0x7ec20000, 0x1000, RS }, { 0x7ec21000, 0x8df000, A }, { 0x7f500000, 0x4000, RS },
		{ 0x7f504000, 0x2fc000, A }, { 0x7f800000, 0x800000, RS }, { 0xb0000000, 0x10000000, RS },
		{ 0xffc00000, 0x400000, RS }, { 0xfd00000000, 0x300000000, RS } }, 25,
	  { E(0, 0xa0000, A), E(0x100000, 0x800000, A), E(0x800000, 0x808000, NV), E(0x808000, 0x80b000, A),
	    E(0x80b000, 0x80c000, NV), E(0x80c000, 0x810000, A), E(0x810000, 0x900000, NV),
	    E(0x900000, 0x7e8ef000, A), E(0x7e8ef000, 0x7e9ef000, RS), E(0x7e9ef000, 0x7eb6f000, A),
	    E(0x7eb6f000, 0x7eb76000, AC), E(0x7eb76000, 0x7ebf6000, NV), E(0x7ebf6000, 0x7ec21000, RS),
	    E(0x7ec21000, 0x7f500000, A), E(0x7f500000, 0x7f504000, RS), E(0x7f504000, 0x7f800000, A),
	    E(0x7f800000, 0x80000000, RS), E(0xb0000000, 0xc0000000, RS), E(0xffc00000, 0x100000000, RS),
	    E(0xfd00000000, 0x10000000000, RS) } },
	{ "phys_bits out of range means 52", 0, { { 0x1000, UINT64_MAX - 0x1000, A } }, 1, { E(0x1000, 1ULL << 52, A) } },
};

static void dump(const char *what, const struct mem_range *m, size_t n)
{
	printf("#   %s:\n", what);
	for (size_t i = 0; i < n; i++)
		printf("#     0x%" PRIx64 "-0x%" PRIx64 " type %u\n", m[i].base, m[i].base + m[i].len, m[i].type);
}

void test_sanitize_cases(void)
{
	REQUIRE(sizeof(cases) / sizeof(cases[0]) >= 20);
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const struct san_case *k = &cases[c];
		struct mem_range out[MAXE + 8];
		size_t want = 0;
		while (want < MAXE && k->out[want].len)
			want++;
		size_t got = memmap_sanitize(k->in, k->n, out, MAXE + 8, k->phys_bits);
		bool same = got == want;
		for (size_t i = 0; same && i < got; i++)
			same = out[i].base == k->out[i].base && out[i].len == k->out[i].len &&
			       out[i].type == k->out[i].type;
		if (!same) {
			printf("#   case \"%s\" differs\n", k->name);
			dump("expected", k->out, want);
			dump("got", out, got);
		}
		CHECK(same);
	}
}

static void shuffle(struct mem_range *m, size_t n, uint64_t *seed)
{
	for (size_t i = n - 1; i > 0; i--) {
		*seed = *seed * 6364136223846793005ULL + 1442695040888963407ULL;
		size_t j = (*seed >> 33) % (i + 1);
		struct mem_range t = m[i];
		m[i] = m[j], m[j] = t;
	}
}

void test_sanitize_thousands(void)
{
	enum { N = 4000 };
	static struct mem_range in[N], out[N + 8];
	uint64_t seed = 42;

	/* Alternating RAM and reserved pages, shuffled: nothing merges, all comes back sorted. */
	for (size_t i = 0; i < N; i++)
		in[i] = (struct mem_range){ i * 0x1000, 0x1000, i % 2 ? RS : A };
	shuffle(in, N, &seed);
	size_t got = memmap_sanitize(in, N, out, N + 8, 46);
	CHECK_EQ(got, N);
	for (size_t i = 0; i < got && i < N; i++) {
		CHECK_EQ(out[i].base, i * 0x1000);
		CHECK_EQ(out[i].len, 0x1000);
		CHECK_EQ(out[i].type, i % 2 ? RS : A);
	}

	/* Overlapping RAM pieces, shuffled: one range. */
	for (size_t i = 0; i < N; i++)
		in[i] = (struct mem_range){ i * 0x1000 + 0x100000, 0x2000, A };
	shuffle(in, N, &seed);
	got = memmap_sanitize(in, N, out, N + 8, 46);
	CHECK_EQ(got, 1);
	CHECK_EQ(out[0].base, 0x100000);
	CHECK_EQ(out[0].len, (N + 1) * 0x1000ULL);
}

void test_sanitize_truncates(void)
{
	struct mem_range in[10], out[6];
	for (size_t i = 0; i < 10; i++)
		in[9 - i] = (struct mem_range){ i * 0x1000, 0x1000, i % 2 ? RS : A };
	for (size_t i = 0; i < 6; i++)
		out[i] = (struct mem_range){ 0xdead, 0xbeef, 99 };
	CHECK_EQ(memmap_sanitize(in, 10, out, 4, 46), 4);
	for (size_t i = 0; i < 4; i++)
		CHECK(out[i].base == i * 0x1000 && out[i].len == 0x1000 && out[i].type == (i % 2 ? RS : A));
	CHECK(out[4].base == 0xdead && out[5].type == 99);   /* nothing written past out_cap */
	CHECK_EQ(memmap_sanitize(in, 10, out, 0, 46), 0);
	CHECK_EQ(memmap_sanitize(NULL, 0, NULL, 0, 46), 0);
}

/* ---- fuzz ---- */

static uint64_t end_of(const struct mem_range *r, uint64_t limit)
{
	return r->len > limit - r->base ? limit : r->base + r->len;
}

/* Which input entries cover byte p (below limit): any RAM, and the strongest other type. */
static void cover(const struct mem_range *in, size_t n, uint64_t limit, uint64_t p, bool *ram, bool *other)
{
	*ram = *other = false;
	for (size_t i = 0; i < n; i++) {
		if (!in[i].len || in[i].base >= limit || p < in[i].base || p >= end_of(&in[i], limit))
			continue;
		if (in[i].type == A)
			*ram = true;
		else
			*other = true;
	}
}

/* The output entry covering p, or NULL. */
static const struct mem_range *out_at(const struct mem_range *out, size_t m, uint64_t p)
{
	for (size_t i = 0; i < m; i++)
		if (p >= out[i].base && p - out[i].base < out[i].len)
			return &out[i];
	return NULL;
}

/* True if every byte of [pg, pg+4K) is covered by input RAM and by nothing else. */
bool page_ram_only(const struct mem_range *in, size_t n, uint64_t limit, uint64_t pg)
{
	uint64_t cur = pg;
	for (size_t i = 0; i < n; i++)
		if (in[i].type != A && in[i].len && in[i].base < limit && in[i].base < pg + 4096 &&
		    end_of(&in[i], limit) > pg)
			return false;
	while (cur < pg + 4096) {
		uint64_t next = cur;
		for (size_t i = 0; i < n; i++)
			if (in[i].type == A && in[i].len && in[i].base < limit && in[i].base <= cur &&
			    end_of(&in[i], limit) > next)
				next = end_of(&in[i], limit);
		if (next == cur)
			return false;
		cur = next;
	}
	return true;
}

static void random_map(uint64_t *s, struct mem_range *in, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		uint64_t r = rnd_next(s);
		in[i].base = (rnd_next(s) % 64) * 0x800 + (r & 1 ? rnd_next(s) % 0x800 : 0);
		in[i].len = (rnd_next(s) % 24) * 0x800 + (r & 2 ? rnd_next(s) % 0x800 : 0);
		in[i].type = r & 4 ? A : (uint32_t)(rnd_next(s) % 8);
		if ((r >> 8) % 16 == 0)
			in[i].len = UINT64_MAX - (rnd_next(s) % 0x10000);      /* wraps */
		if ((r >> 8) % 16 == 1)
			in[i].base = UINT64_MAX - (rnd_next(s) % 0x100000);   /* far above */
	}
}

/* Check one sanitized map against its input; returns the number of problems. */
static unsigned check_sanitized(const struct mem_range *in, size_t n, const struct mem_range *out,
				size_t m, unsigned bits, uint64_t *s)
{
	uint64_t limit = 1ULL << bits;
	unsigned bad = 0;

	for (size_t i = 0; i < m; i++) {
		bad += out[i].len == 0 || out[i].base + out[i].len > limit || out[i].base + out[i].len < out[i].base;
		if (out[i].type == A)
			bad += (out[i].base | out[i].len) & 0xfff ? 1 : 0;
		if (i) {
			bad += out[i - 1].base + out[i - 1].len > out[i].base;   /* sorted, disjoint */
			bad += out[i - 1].base + out[i - 1].len == out[i].base && out[i - 1].type == out[i].type;
		}
		bad += out[i].type < 1 || out[i].type > 5;
	}
	/* Probe addresses: boundaries of the input, and random points. */
	for (size_t k = 0; k < 4 * n + 16; k++) {
		uint64_t p = k < 2 * n ? (k % 2 ? in[k / 2].base : in[k / 2].base + in[k / 2].len - 1)
				       : rnd_next(s) % (64 * 0x800 + 24 * 0x800);
		bool ram, other;
		if (p >= limit)
			continue;
		cover(in, n, limit, p, &ram, &other);
		const struct mem_range *o = out_at(out, m, p);
		if (other)
			bad += !o || o->type == A;
		else if (ram)
			bad += page_ram_only(in, n, limit, p & ~0xfffULL) ? (!o || o->type != A) : (o != NULL);
		else
			bad += o != NULL;
	}
	return bad;
}

void test_sanitize_fuzz(void)
{
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	struct mem_range in[40], out[128];
	unsigned failures = 0;

	for (int it = 0; it < 4000; it++) {
		size_t n = rnd_next(&s) % 40;
		unsigned bits = it % 3 ? 46 : 16;     /* 16 bits: the limit cuts through the maps */
		random_map(&s, in, n);
		size_t m = memmap_sanitize(in, n, out, 128, bits);
		unsigned bad = check_sanitized(in, n, out, m, bits, &s);
		if (bad && failures++ < 3) {
			printf("#   fuzz iteration %d: %u problems\n", it, bad);
			dump("input", in, n);
			dump("output", out, m);
		}
	}
	CHECK_EQ(failures, 0);
}
