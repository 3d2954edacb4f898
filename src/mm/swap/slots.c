/*
 * slots.c - which slots of the swap area hold a page: a bitmap, searched
 * next-fit from a cursor a word at a time (swap.h says why next-fit).
 */
#include "mm/swap/swap.h"
#include "mm/failure.h"
#include "lib/kstring.h"

#define WORD 64

static uint64_t words(uint64_t pages) { return (pages + WORD - 1) / WORD; }

size_t swap_slots_bytes(uint64_t pages) { return words(pages) * sizeof(uint64_t); }

void swap_slots_init(struct swap_slots *s, uint64_t *bits, uint64_t pages)
{
	*s = (struct swap_slots){ .bits = bits, .pages = pages, .cursor = 1 };
	memset(bits, 0, swap_slots_bytes(pages));
	bits[0] = 1;                                    /* the header */
	if (pages % WORD)                               /* bits past the end: never free */
		bits[words(pages) - 1] |= ~0ULL << (pages % WORD);
}

bool swap_slot_in_use(const struct swap_slots *s, uint64_t slot)
{
	return slot < s->pages && (s->bits[slot / WORD] >> (slot % WORD) & 1);
}

/* The first free bit at or after `from` in [from, s->pages), or 0. */
static uint64_t first_free(const struct swap_slots *s, uint64_t from)
{
	uint64_t w = from / WORD;
	uint64_t v = ~s->bits[w] & (~0ULL << (from % WORD));   /* free bits from `from` on */
	for (;;) {
		if (v)
			return w * WORD + (uint64_t)__builtin_ctzll(v);
		if (++w == words(s->pages))
			return 0;
		v = ~s->bits[w];
	}
}

uint64_t swap_slot_alloc(struct swap_slots *s)
{
	if (!swap_slots_free(s))
		return 0;
	uint64_t slot = first_free(s, s->cursor);
	if (!slot)
		slot = first_free(s, 1);                /* wrap around: one is free, so found */
	MM_ASSERT("swap", slot && slot < s->pages, "slots: %llu counted free, none found",
		  (unsigned long long)swap_slots_free(s));
	s->bits[slot / WORD] |= 1ULL << (slot % WORD);
	s->used++;
	s->cursor = slot + 1 < s->pages ? slot + 1 : 1;
	return slot;
}

int swap_slot_free(struct swap_slots *s, uint64_t slot)
{
	if (!slot || !swap_slot_in_use(s, slot)) {
		MM_MISUSE("swap", "free of slot %llu, which is %s", (unsigned long long)slot,
			  slot && slot < s->pages ? "free already" : "not a slot of the area");
		return SWAP_E_SLOT;
	}
	s->bits[slot / WORD] &= ~(1ULL << (slot % WORD));
	s->used--;
	return 0;
}

unsigned swap_slots_check(const struct swap_slots *s)
{
	uint64_t n = 0;
	unsigned problems = 0;
	for (uint64_t slot = 1; slot < s->pages; slot++)
		n += swap_slot_in_use(s, slot);
	if (!swap_slot_in_use(s, 0)) {
		kprintf("swap: check: the header's slot is free\n");
		problems++;
	}
	if (n != s->used) {
		kprintf("swap: check: %llu slots in use, %llu counted\n", (unsigned long long)n,
			(unsigned long long)s->used);
		problems++;
	}
	return problems;
}
