/*
 * main.c - the swap area's header and slot allocator (src/mm/swap/)
 * against what they must do: the CRC is zlib's; a header made is a
 * header accepted, and every damaged byte, every field changed, a disk
 * too small, a foreign page are refused with their reason; the slots
 * against a model (an array of flags) through long random runs, next-fit
 * order, full, wrap-around, and every misuse refused with nothing changed.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "mm/swap/swap.h"
#include "lib/prng.h"

static uint8_t page[SWAP_PAGE];

static void crc_is_zlibs(void)
{
	CHECK_EQ(swap_crc32("123456789", 9), 0xcbf43926u);       /* the CRC-32 check value */
	CHECK_EQ(swap_crc32("", 0), 0);
	uint8_t zeros[SWAP_PAGE] = { 0 };
	CHECK_EQ(swap_crc32(zeros, sizeof(zeros)), 0xc71c0011u); /* zlib.crc32(bytes(4096)) */
}

static void header_round_trip(void)
{
	uint64_t pages = 0;
	CHECK_EQ(swap_header_format(page, 4096), 0);
	CHECK_EQ(memcmp(page, "STRATA-SWAP\0\0\0\0\0", 16), 0);
	CHECK_EQ(page[16], 1);                   /* version, little-endian */
	CHECK_EQ(page[21], 0x10);                /* 4096 = 0x1000 */
	CHECK_EQ(page[25], 0x10);                /* 4096 pages */
	CHECK_EQ(swap_header_check(page, 4096, &pages), 0);
	CHECK_EQ(pages, 4096);
	CHECK_EQ(swap_header_check(page, 1UL << 30, &pages), 0);  /* a disk larger than the area */
	CHECK_EQ(swap_header_check(page, 4095, &pages), SWAP_E_SIZE);
	CHECK_EQ(swap_header_format(page, 1), SWAP_E_SIZE);
	CHECK_EQ(swap_header_format(page, SWAP_MAX_PAGES + 1), SWAP_E_SIZE);
	CHECK_EQ(swap_header_format(page, SWAP_MIN_PAGES), 0);
	CHECK_EQ(swap_header_check(page, SWAP_MIN_PAGES, &pages), 0);
}

/* Any one byte of the page changed, anywhere in it, is refused; never accepted. */
static void header_damage_refused(void)
{
	uint64_t pages = 77;
	CHECK_EQ(swap_header_format(page, 1000), 0);
	for (unsigned i = 0; i < SWAP_PAGE; i++) {
		uint8_t old = page[i];
		page[i] ^= (uint8_t)(1u << (i % 8));
		int e = swap_header_check(page, 1000, &pages);
		CHECK(e < 0);
		if (i < 16)
			CHECK_EQ(e, SWAP_E_MAGIC);
		else if (i < 20)
			CHECK_EQ(e, SWAP_E_VERSION);
		else if (i < 24)
			CHECK_EQ(e, SWAP_E_PAGE_SIZE);
		else
			CHECK_EQ(e, SWAP_E_CHECKSUM);
		page[i] = old;
	}
	CHECK_EQ(pages, 77);                     /* never set by a refusal */
	CHECK_EQ(swap_header_check(page, 1000, &pages), 0);
	/* A page that is no header at all: zeroes, a file system's first page. */
	memset(page, 0, sizeof(page));
	CHECK_EQ(swap_header_check(page, 1000, &pages), SWAP_E_MAGIC);
	memset(page, 0xff, sizeof(page));
	CHECK_EQ(swap_header_check(page, 1000, &pages), SWAP_E_MAGIC);
	CHECK(strcmp(swap_error_str(SWAP_E_CHECKSUM), "?") != 0);
	CHECK_EQ(strcmp(swap_error_str(-100), "?"), 0);
}

/* Random allocations and frees against an array of flags, for several area sizes. */
static void slots_against_model(void)
{
	static const uint64_t sizes[] = { 2, 3, 63, 64, 65, 130, 1000, 4097 };
	uint64_t seed = 16;
	for (unsigned k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		uint64_t pages = sizes[k];
		uint64_t *bits = malloc(swap_slots_bytes(pages));
		uint8_t *model = calloc(pages, 1);
		uint64_t *held = calloc(pages, sizeof(*held)), nheld = 0;
		REQUIRE(bits && model && held);
		struct swap_slots s;
		swap_slots_init(&s, bits, pages);
		CHECK_EQ(swap_slots_free(&s), pages - 1);
		for (unsigned step = 0; step < 20000; step++) {
			if (prng_next(&seed) % 100 < 55) {
				uint64_t slot = swap_slot_alloc(&s);
				if (nheld == pages - 1) {
					CHECK_EQ(slot, 0);       /* full */
					continue;
				}
				REQUIRE(slot > 0 && slot < pages);
				CHECK_EQ(model[slot], 0);        /* never one in use */
				model[slot] = 1;
				held[nheld++] = slot;
			} else if (nheld) {
				uint64_t i = prng_next(&seed) % nheld, slot = held[i];
				CHECK_EQ(swap_slot_free(&s, slot), 0);
				model[slot] = 0;
				held[i] = held[--nheld];
			}
			CHECK_EQ(s.used, nheld);
			if (step % 501 == 0) {
				for (uint64_t slot = 0; slot < pages; slot++)
					CHECK_EQ(swap_slot_in_use(&s, slot), slot == 0 || model[slot]);
				CHECK_EQ(swap_slots_check(&s), 0);
			}
		}
		CHECK_EQ(swap_slots_check(&s), 0);
		free(bits), free(model), free(held);
	}
}

/* Next-fit: consecutive allocations take consecutive slots, and the search wraps. */
static void slots_next_fit(void)
{
	uint64_t bits[2];
	struct swap_slots s;
	swap_slots_init(&s, bits, 100);
	for (uint64_t i = 1; i < 100; i++)
		CHECK_EQ(swap_slot_alloc(&s), i);
	CHECK_EQ(swap_slot_alloc(&s), 0);
	CHECK_EQ(swap_slots_free(&s), 0);
	CHECK_EQ(swap_slot_free(&s, 10), 0);
	CHECK_EQ(swap_slot_free(&s, 70), 0);
	CHECK_EQ(swap_slot_alloc(&s), 10);       /* wrapped: the cursor was at the end */
	CHECK_EQ(swap_slot_alloc(&s), 70);
	CHECK_EQ(swap_slot_free(&s, 5), 0);
	CHECK_EQ(swap_slot_free(&s, 80), 0);
	CHECK_EQ(swap_slot_alloc(&s), 80);       /* from the cursor (71) on first */
	CHECK_EQ(swap_slot_alloc(&s), 5);
}

/* Misuse: refused, reported, and nothing changed. */
static void slots_misuse_refused(void)
{
	uint64_t bits[1];
	struct swap_slots s;
	swap_slots_init(&s, bits, 10);
	uint64_t a = swap_slot_alloc(&s);
	CHECK_EQ(swap_slot_free(&s, 0), SWAP_E_SLOT);           /* the header */
	CHECK_EQ(swap_slot_free(&s, 10), SWAP_E_SLOT);          /* past the end */
	CHECK_EQ(swap_slot_free(&s, ~0ULL), SWAP_E_SLOT);
	CHECK_EQ(swap_slot_free(&s, a + 1), SWAP_E_SLOT);       /* free */
	CHECK_EQ(s.used, 1);
	CHECK_EQ(swap_slot_free(&s, a), 0);
	CHECK_EQ(swap_slot_free(&s, a), SWAP_E_SLOT);           /* double free */
	CHECK_EQ(s.used, 0);
	CHECK_EQ(swap_slots_check(&s), 0);
	CHECK(!swap_slot_in_use(&s, 10));
	CHECK(swap_slot_in_use(&s, 0));
}

/*
 * The kept table against a model (an array by owner and page): random
 * adds, takes and range drops over two owners and a few hundred pages,
 * so probe runs collide, wrap round the table's end and are shifted back
 * by deletions; every lookup checked against the model, and the table
 * never past three quarters.
 */
#define KOWNERS 2
#define KPAGES  300
struct kmodel { uint64_t slot[KOWNERS][KPAGES]; uint64_t dropped; };

static void count_drop(uint64_t slot, void *arg)
{
	struct kmodel *m = arg;
	(void)slot;
	m->dropped++;
}

static void kept_against_model(void)
{
	static const uint64_t caps[] = { 64, 128, 1024 };
	static const char owners[KOWNERS];
	uint64_t seed = 99;
	for (unsigned c = 0; c < 3; c++) {
		struct swap_kept k;
		struct swap_kept_entry *mem = malloc(swap_kept_bytes(caps[c]));
		struct kmodel m = { 0 };
		uint64_t n = 0, next_slot = 1;
		REQUIRE(mem);
		swap_kept_init(&k, mem, caps[c]);
		for (unsigned step = 0; step < 30000; step++) {
			unsigned o = prng_next(&seed) % KOWNERS, p = prng_next(&seed) % KPAGES, op = prng_next(&seed) % 100;
			uint64_t va = 0x400000 + (uint64_t)p * SWAP_PAGE, slot = 0, pa = 0;
			if (op < 50) {
				int e = swap_kept_add(&k, &owners[o], va, next_slot, next_slot << 12);
				if (m.slot[o][p]) {
					CHECK_EQ(e, SWAP_E_SLOT);        /* kept already: misuse, nothing changed */
				} else if (4 * (n + 1) > 3 * caps[c]) {
					CHECK_EQ(e, SWAP_E_FULL);
				} else {
					CHECK_EQ(e, 0);
					m.slot[o][p] = next_slot++, n++;
				}
			} else if (op < 90) {
				bool got = swap_kept_take(&k, &owners[o], va, &slot, &pa);
				CHECK_EQ(got, m.slot[o][p] != 0);
				if (got) {
					CHECK_EQ(slot, m.slot[o][p]);
					CHECK_EQ(pa, slot << 12);
					m.slot[o][p] = 0, n--;
				}
			} else {
				/* A range: short ones looked up page by page, long ones by a pass over the table. */
				unsigned len = op < 97 ? 1 + prng_next(&seed) % 8 : 1 + prng_next(&seed) % KPAGES;
				uint64_t want = 0;
				for (unsigned q = p; q < p + len && q < KPAGES; q++)
					want += m.slot[o][q] != 0, m.slot[o][q] = 0;
				m.dropped = 0;
				CHECK_EQ(swap_kept_drop(&k, &owners[o], va, (uint64_t)len * SWAP_PAGE, count_drop, &m), want);
				CHECK_EQ(m.dropped, want);
				n -= want;
			}
			CHECK_EQ(k.n, n);
			if (step % 997 == 0) {
				for (unsigned q = 0; q < KOWNERS; q++) {
					uint64_t mine = 0;
					for (unsigned r = 0; r < KPAGES; r++)
						mine += m.slot[q][r] != 0;
					CHECK_EQ(swap_kept_count(&k, &owners[q]), mine);
				}
				CHECK_EQ(swap_kept_count(&k, 0), n);
			}
		}
		CHECK_EQ(swap_kept_add(&k, 0, 0x1000, 5, 0), SWAP_E_SLOT);      /* no owner */
		CHECK_EQ(swap_kept_add(&k, &owners[0], 0x1000, 0, 0), SWAP_E_SLOT);     /* no slot */
		free(mem);
	}
}

int main(void)
{
	RUN(crc_is_zlibs);
	RUN(header_round_trip);
	RUN(header_damage_refused);
	RUN(slots_against_model);
	RUN(slots_next_fit);
	RUN(slots_misuse_refused);
	RUN(kept_against_model);
	return check_finish();
}
