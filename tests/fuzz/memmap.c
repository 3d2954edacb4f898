/*
 * memmap.c - libFuzzer over memmap_sanitize (src/mm/buddy/memmap.c), the
 * PMM's reading of the firmware's memory map.
 *
 * Input: one byte of physical-address bits, then 20-byte entries (base,
 * length, type as the Multiboot2 tag has them), at most MAX_IN. The output
 * must be what buddy.h promises: sorted, disjoint, same-type neighbours
 * merged, no empty entry, known types only, RAM on 4 KiB boundaries,
 * nothing at or above 2^phys_bits; and at every probe address (each
 * input entry's edges, each output entry's edges) RAM only where the input
 * says RAM for the whole page and nothing else covers it, another type
 * wherever the input has another type.
 */
#include <stdbool.h>
#include <string.h>
#include "fuzz.h"
#include "mm/buddy/buddy.h"

#define MAX_IN 64
#define OUT_CAP (4 * MAX_IN + 8)
#define A MEM_AVAILABLE

static uint64_t end_of(const struct mem_range *r, uint64_t limit)
{
	if (r->base >= limit)
		return limit;
	return r->len > limit - r->base ? limit : r->base + r->len;
}

static bool covers(const struct mem_range *r, uint64_t limit, uint64_t p)
{
	return r->len && r->base < limit && p >= r->base && p < end_of(r, limit);
}

/* True if every byte of [pg, pg + 4K) is input RAM and no other type touches it. */
static bool page_ram_only(const struct mem_range *in, size_t n, uint64_t limit, uint64_t pg)
{
	uint64_t cur = pg;
	if (pg > limit - 4096)
		return false;
	for (size_t i = 0; i < n; i++)
		if (in[i].type != A && in[i].len && in[i].base < limit && in[i].base < pg + 4096 &&
		    end_of(&in[i], limit) > pg)
			return false;
	while (cur < pg + 4096) {
		uint64_t next = cur;
		for (size_t i = 0; i < n; i++)
			if (in[i].type == A && covers(&in[i], limit, cur) && end_of(&in[i], limit) > next)
				next = end_of(&in[i], limit);
		if (next == cur)
			return false;
		cur = next;
	}
	return true;
}

static const struct mem_range *out_at(const struct mem_range *out, size_t m, uint64_t p)
{
	for (size_t i = 0; i < m; i++)
		if (p >= out[i].base && p - out[i].base < out[i].len)
			return &out[i];
	return NULL;
}

static void probe(const struct mem_range *in, size_t n, const struct mem_range *out, size_t m,
		  uint64_t limit, uint64_t p)
{
	bool ram = false, other = false;
	if (p >= limit)
		return;
	for (size_t i = 0; i < n; i++)
		if (covers(&in[i], limit, p))
			*(in[i].type == A ? &ram : &other) = true;
	const struct mem_range *o = out_at(out, m, p);
	if (other)
		FUZZ_CHECK(o && o->type != A);
	else if (ram && page_ram_only(in, n, limit, p & ~0xfffULL))
		FUZZ_CHECK(o && o->type == A);
	else
		FUZZ_CHECK(!o);      /* a page part RAM is dropped whole; no entry, nothing */
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct mem_range in[MAX_IN], out[OUT_CAP];
	struct fuzz_in f = { data, size };
	unsigned bits = fuzz_u8(&f);
	size_t n = 0;

	while (f.n && n < MAX_IN) {
		in[n].base = fuzz_u64(&f);
		in[n].len = fuzz_u64(&f);
		in[n].type = fuzz_u32(&f);
		n++;
	}
	size_t m = memmap_sanitize(in, n, out, OUT_CAP, bits);
	unsigned eff = bits >= 12 && bits <= 63 ? bits : 52;
	uint64_t limit = 1ULL << eff;

	FUZZ_CHECK(m <= OUT_CAP);
	for (size_t i = 0; i < m; i++) {
		FUZZ_CHECK(out[i].len && out[i].base < limit && out[i].len <= limit - out[i].base);
		FUZZ_CHECK(out[i].type >= MEM_AVAILABLE && out[i].type <= MEM_BAD);
		if (out[i].type == A)
			FUZZ_CHECK(!((out[i].base | out[i].len) & 0xfff));
		if (i) {
			uint64_t pend = out[i - 1].base + out[i - 1].len;
			FUZZ_CHECK(pend <= out[i].base);
			FUZZ_CHECK(pend < out[i].base || out[i - 1].type != out[i].type);
		}
	}
	if (m == OUT_CAP)
		return 0;      /* cut to its lowest entries: the probes above would miss */
	for (size_t i = 0; i < n; i++) {
		probe(in, n, out, m, limit, in[i].base);
		probe(in, n, out, m, limit, in[i].base - 1);
		probe(in, n, out, m, limit, in[i].base + in[i].len - 1);
		probe(in, n, out, m, limit, in[i].base + in[i].len);
	}
	for (size_t i = 0; i < m; i++) {
		probe(in, n, out, m, limit, out[i].base);
		probe(in, n, out, m, limit, out[i].base + out[i].len - 1);
	}
	return 0;
}
