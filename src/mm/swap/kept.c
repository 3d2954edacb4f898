/*
 * kept.c - slots kept for clean pages: a page read back from swap by a
 * read fault keeps its slot while it stays clean, so reclaim can drop the
 * frame again without writing it (docs/swap.md, "Clean pages").
 *
 * A table keyed by (owner, va) - the address space and the page - holding
 * the slot and the frame the slot was read into. The frame is part of
 * the promise: a page whose frame changed since (a copy-on-write copy)
 * may hold other bytes even with its dirty bit clear, so reclaim checks
 * both. Open addressing with linear probing and backward-shift deletion:
 * no tombstones, so a lookup stops at the first empty entry. Filled to
 * three quarters at most; past that a page simply keeps no slot. Pure
 * code over memory the caller gives, like the slot bitmap.
 */
#include "mm/swap/swap.h"
#include "mm/failure.h"

size_t swap_kept_bytes(uint64_t cap) { return cap * sizeof(struct swap_kept_entry); }

void swap_kept_init(struct swap_kept *k, struct swap_kept_entry *mem, uint64_t cap)
{
	if (cap & (cap - 1))
		MM_PANIC("swap", "kept table of %llu entries: not a power of two", (unsigned long long)cap);
	for (uint64_t i = 0; i < cap; i++)
		mem[i].owner = 0;
	*k = (struct swap_kept){ .e = mem, .cap = cap };
}

/* Where (owner, va) starts its probe: a multiplicative hash of both. */
static uint64_t home(const struct swap_kept *k, const void *owner, uint64_t va)
{
	uint64_t h = ((uint64_t)(uintptr_t)owner * 0x9e3779b97f4a7c15ULL) ^ ((va >> 12) * 0xc2b2ae3d27d4eb4fULL);
	return (h ^ (h >> 31)) & (k->cap - 1);
}

static struct swap_kept_entry *find(const struct swap_kept *k, const void *owner, uint64_t va)
{
	for (uint64_t i = home(k, owner, va), n = 0; n < k->cap; i = (i + 1) & (k->cap - 1), n++) {
		struct swap_kept_entry *e = &k->e[i];
		if (!e->owner)
			return 0;
		if (e->owner == owner && e->va == va)
			return e;
	}
	return 0;
}

/* Empty entry i, moving back each later entry of the run whose probe would pass i. */
static void remove_at(struct swap_kept *k, uint64_t i)
{
	uint64_t mask = k->cap - 1;
	for (uint64_t j = (i + 1) & mask; k->e[j].owner; j = (j + 1) & mask) {
		uint64_t h = home(k, k->e[j].owner, k->e[j].va);
		/* j's entry may move to i if its home is not in (i, j] (cyclically). */
		if (((j - h) & mask) >= ((j - i) & mask)) {
			k->e[i] = k->e[j];
			i = j;
		}
	}
	k->e[i].owner = 0;
	k->n--;
}

int swap_kept_add(struct swap_kept *k, const void *owner, uint64_t va, uint64_t slot, uint64_t pa)
{
	if (!owner || !slot) {
		MM_MISUSE("swap", "kept slot %llu with no owner or no slot", (unsigned long long)slot);
		return SWAP_E_SLOT;
	}
	if (find(k, owner, va)) {
		MM_MISUSE("swap", "page %llx keeps a slot already", (unsigned long long)va);
		return SWAP_E_SLOT;
	}
	if (4 * (k->n + 1) > 3 * k->cap)
		return SWAP_E_FULL;
	uint64_t i = home(k, owner, va);
	while (k->e[i].owner)
		i = (i + 1) & (k->cap - 1);
	k->e[i] = (struct swap_kept_entry){ .owner = owner, .va = va, .slot = slot, .pa = pa };
	k->n++;
	return 0;
}

bool swap_kept_take(struct swap_kept *k, const void *owner, uint64_t va, uint64_t *slot, uint64_t *pa)
{
	struct swap_kept_entry *e = k->n ? find(k, owner, va) : 0;
	if (!e)
		return false;
	*slot = e->slot, *pa = e->pa;
	remove_at(k, (uint64_t)(e - k->e));
	return true;
}

uint64_t swap_kept_drop(struct swap_kept *k, const void *owner, uint64_t va, uint64_t len,
			void (*fn)(uint64_t slot, void *arg), void *arg)
{
	uint64_t dropped = 0, slot, pa;
	if (!k->n)
		return 0;
	if (len / SWAP_PAGE <= k->cap / 4) {            /* a few pages: look each up */
		for (uint64_t p = va; p - va < len; p += SWAP_PAGE)
			if (swap_kept_take(k, owner, p, &slot, &pa))
				fn(slot, arg), dropped++;
		return dropped;
	}
	/* A long range: one pass over the table; an entry moved back into i is looked at again. */
	for (uint64_t i = 0; i < k->cap && k->n;) {
		struct swap_kept_entry *e = &k->e[i];
		if (e->owner == owner && e->va - va < len) {
			slot = e->slot;
			remove_at(k, i);
			fn(slot, arg), dropped++;
		} else {
			i++;
		}
	}
	return dropped;
}

uint64_t swap_kept_count(const struct swap_kept *k, const void *owner)
{
	uint64_t n = 0;
	for (uint64_t i = 0; i < k->cap; i++)
		n += owner ? k->e[i].owner == owner : k->e[i].owner != 0;
	return n;
}
