/*
 * pmm.c - libFuzzer over the physical memory manager's API, against a model.
 *
 * Each input boots a PMM over 32 MiB of fake RAM (tests/host/common/
 * fake_arch.c) with a fuzzed map laid over it and fuzzed protected ranges,
 * then runs a fuzzed sequence of pmm_alloc, pmm_alloc_page,
 * pmm_alloc_aligned, frees (right, with a wrong order, of frames not held),
 * pmm_frame_get and pmm_frame_put. The model knows which pages each live
 * block holds and the refcount of each. Checked after every step: no page
 * handed out twice, every page handed out is RAM for its whole 4 KiB by the
 * map, above 1 MiB and outside every protected range, alignment and zone
 * limits, zeroing, free pages + held pages = what init left free; a free
 * of a frame not held is an error and changes nothing; the words written
 * into a block survive until it is freed; pmm_check() == 0 at the end and
 * every 64 steps. A free of a block whose refcount is above 1 may be
 * refused (the buddy reports that as misuse); the model then keeps it.
 */
#include <stdbool.h>
#include <string.h>
#include "fuzz.h"
#include "fake_arch.h"
#include "lib/kprintf.h"
#include "mm/buddy/buddy.h"

#define RAM (32ULL << 20)
#define NPAGES (RAM >> 12)
#define MAX_MAP 8
#define MAX_PROT 4
#define MAX_LIVE 512
#define MAX_STEPS 1500

enum kind { K_ALLOC, K_PAGE, K_ALIGNED };
struct live {
	uint64_t pa, npages, tag;
	unsigned order, refs;
	enum kind kind;
};

static struct mem_range map[MAX_MAP + 1], prot[MAX_PROT];
static size_t nmap, nprot;
static struct live live[MAX_LIVE];
static size_t nlive;
static uint16_t owner[NPAGES];       /* 1 + index into live, or 0 */
static bool allowed[NPAGES];         /* page_allowed(), computed once per input */
static uint64_t held, free_at_start;

static void quiet(char c) { (void)c; }

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc, (void)argv;
	fake_ram_init(RAM);
	console_set_sink(quiet);
	return 0;
}

/* The model's own loops are not the code under test: no coverage feedback for them. */
#define MODEL __attribute__((no_sanitize("coverage")))

MODEL static bool touches(const struct mem_range *r, uint64_t pg)
{
	return r->len && r->base < pg + 4096 && pg - r->base < r->len;
}

/*
 * The page at pg may be handed out: wholly RAM by the map, nothing else on
 * it, not protected.
 */
MODEL static bool page_allowed(uint64_t pg)
{
	uint64_t cur = pg;
	if (pg < (1ULL << 20))
		return false;
	for (size_t i = 0; i < nprot; i++)
		if (touches(&prot[i], pg))
			return false;
	for (size_t i = 0; i < nmap; i++)
		if (map[i].type != MEM_AVAILABLE && touches(&map[i], pg))
			return false;
	while (cur < pg + 4096) {
		uint64_t next = cur;
		for (size_t i = 0; i < nmap; i++)
			if (map[i].type == MEM_AVAILABLE && map[i].len && map[i].base <= cur &&
			    map[i].base + map[i].len > next)
				next = map[i].base + map[i].len;
		if (next == cur)
			return false;
		cur = next;
	}
	return true;
}

static uint64_t *tag_word(const struct live *l, int last)
{
	return phys_to_virt(l->pa + (last ? l->npages * 4096 - 8 : 0));
}

MODEL static void own(size_t i, uint16_t who)
{
	for (uint64_t p = live[i].pa >> 12; p < (live[i].pa >> 12) + live[i].npages; p++)
		owner[p] = who;
}

/* A new block from the PMM: check it against the model, then hold it. */
static void take(struct live l, uint64_t align, unsigned flags)
{
	uint64_t end = l.pa + l.npages * 4096;
	FUZZ_CHECK(l.pa % align == 0 && end <= RAM && end > l.pa);
	FUZZ_CHECK(!(flags & PMM_DMA) || end <= (16ULL << 20));
	FUZZ_CHECK(!(flags & PMM_DMA32) || end <= (4ULL << 30));
	for (uint64_t p = l.pa; p < end; p += 4096) {
		FUZZ_CHECK(owner[p >> 12] == 0);       /* never handed out twice */
		FUZZ_CHECK(allowed[p >> 12]);
	}
	if (flags & PMM_ZERO)
		for (uint64_t p = l.pa; p < end; p += 4096)
			FUZZ_CHECK(((uint64_t *)phys_to_virt(p))[0] == 0 && ((uint64_t *)phys_to_virt(p))[511] == 0);
	if (nlive == MAX_LIVE) {        /* the model is full: give it straight back */
		FUZZ_CHECK(l.kind == K_ALIGNED ? pmm_free_aligned(l.pa, l.npages) == 0
			   : l.kind == K_PAGE ? pmm_free_page(l.pa) == 0 : pmm_free(l.pa, l.order) == 0);
		return;
	}
	l.refs = 1;
	l.tag = l.pa * 0x9e3779b97f4a7c15ULL;
	live[nlive] = l;
	*tag_word(&live[nlive], 0) = l.tag, *tag_word(&live[nlive], 1) = ~l.tag;
	own(nlive, (uint16_t)(nlive + 1));
	nlive++;
	held += l.npages;
}

/* The words take() wrote are still there: nobody else wrote into the block. */
static void check_tag(size_t i)
{
	FUZZ_CHECK(*tag_word(&live[i], 0) == live[i].tag && *tag_word(&live[i], 1) == ~live[i].tag);
}

/* Forget live[i]: its pages went back to the PMM. */
static void drop(size_t i)
{
	own(i, 0);
	held -= live[i].npages;
	live[i] = live[--nlive];
	if (i < nlive)
		own(i, (uint16_t)(i + 1));
}

/* No block of 2^order or more on the free lists, so an unconstrained request had to fail. */
static bool lists_empty_from(unsigned order)
{
	struct pmm_stats s;
	pmm_get_stats(&s);
	for (unsigned o = order; o <= PMM_MAX_ORDER; o++)
		if (s.free_blocks[o])
			return false;
	return true;
}

static unsigned flags_from(uint8_t b)
{
	unsigned f = b % 4 == 1 ? PMM_DMA32 : b % 4 == 2 ? PMM_DMA : 0;
	return f | (b & 4 ? PMM_ZERO : 0);
}

static void step_alloc(struct fuzz_in *in, unsigned what)
{
	uint8_t b = fuzz_u8(in), a = fuzz_u8(in);
	unsigned flags = flags_from(b);
	struct live l = { 0 };
	uint64_t align = 4096;

	if (what == 0) {
		l.kind = K_PAGE, l.npages = 1;
		l.pa = pmm_alloc_page(flags);
	} else if (what == 1) {
		l.kind = K_ALLOC, l.order = a % 12, l.npages = 1ULL << l.order;
		align = 4096ULL << l.order;
		l.pa = pmm_alloc(l.order, flags);
		if (l.pa == PMM_NO_FRAME && !flags)
			FUZZ_CHECK(lists_empty_from(l.order));
	} else {
		l.kind = K_ALIGNED, l.npages = 1 + a % 100;
		align = 4096ULL << (b >> 4) % 10;
		l.pa = pmm_alloc_aligned(l.npages, align, flags);
	}
	if (l.pa != PMM_NO_FRAME)
		take(l, align, flags);
}

/* Free live[i] the way it was allocated; one holder too many may be refused. */
static void free_live(size_t i)
{
	struct live *l = &live[i];
	check_tag(i);
	int e = l->kind == K_ALIGNED ? pmm_free_aligned(l->pa, l->npages)
		: l->kind == K_PAGE ? pmm_free_page(l->pa) : pmm_free(l->pa, l->order);
	if (e == 0)
		drop(i);
	else
		FUZZ_CHECK(e < 0 && l->refs > 1);
}

/* A frame the model does not hold: freeing it is an error and changes nothing. */
static void free_not_held(struct fuzz_in *in)
{
	uint64_t pa = (fuzz_u32(in) % (RAM + (1ULL << 20))) & ~(fuzz_u8(in) & 1 ? 0 : 0xfffULL);
	unsigned order = fuzz_u8(in) % 20;
	if (pa < RAM && owner[pa >> 12])
		return;
	uint64_t before = pmm_free_count();
	FUZZ_CHECK(pmm_free(pa, order) < 0);
	FUZZ_CHECK(pmm_free_count() == before);
}

static void step(struct fuzz_in *in)
{
	uint8_t op = fuzz_u8(in);
	size_t i = nlive ? fuzz_u16(in) % nlive : 0;

	switch (op % 8) {
	case 0: case 1: case 2:
		step_alloc(in, op % 3);
		break;
	case 3: case 4:
		if (nlive)
			free_live(i);
		break;
	case 5:         /* wrong order: refused, the block stays held */
		if (nlive && live[i].kind == K_ALLOC)
			FUZZ_CHECK(pmm_free(live[i].pa, live[i].order + 1 + op % 3) < 0);
		break;
	case 6:
		free_not_held(in);
		break;
	case 7:         /* another holder, or one fewer */
		if (!nlive || live[i].kind == K_ALIGNED)
			break;
		if (op & 8 && live[i].refs < 1000) {
			FUZZ_CHECK(pmm_frame_get(live[i].pa) == ++live[i].refs);
		} else {
			check_tag(i);
			unsigned r = pmm_frame_put(live[i].pa);
			FUZZ_CHECK(r == --live[i].refs);
			if (r == 0)
				drop(i);
		}
		break;
	}
	FUZZ_CHECK(pmm_free_count() + held == free_at_start);
}

/* The map: all of fake RAM available, then fuzzed entries of any type laid over it. */
MODEL static void read_boot(struct fuzz_in *in)
{
	nmap = 0, nprot = 0;
	map[nmap++] = (struct mem_range){ 0, RAM, MEM_AVAILABLE };
	for (unsigned k = fuzz_u8(in) % (MAX_MAP + 1); k; k--) {
		uint64_t base = fuzz_u32(in) % RAM, len = fuzz_u32(in) % (RAM / 4);
		map[nmap++] = (struct mem_range){ base, len, fuzz_u8(in) % 7 };
	}
	for (unsigned k = fuzz_u8(in) % (MAX_PROT + 1); k; k--) {
		uint64_t base = fuzz_u32(in) % RAM, len = fuzz_u32(in) % (RAM / 8);
		prot[nprot++] = (struct mem_range){ base, len, 1 + fuzz_u8(in) % 4 };
	}
	for (uint64_t p = 0; p < NPAGES; p++)
		allowed[p] = page_allowed(p << 12);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_in in = { data, size };
	read_boot(&in);
	struct pmm_boot b = { map, nmap, prot, nprot, RAM };
	if (pmm_init(&b))
		return 0;       /* too little RAM left by this map: a refusal, not a bug */
	FUZZ_CHECK(pmm_check() == 0);
	memset(owner, 0, sizeof(owner));
	nlive = 0, held = 0;
	free_at_start = pmm_free_count();
	for (unsigned s = 0; in.n && s < MAX_STEPS; s++) {
		step(&in);
		if (s % 64 == 63)
			FUZZ_CHECK(pmm_check() == 0);
	}
	FUZZ_CHECK(pmm_check() == 0);
	while (nlive) {
		struct live *l = &live[nlive - 1];
		while (l->refs > 1) {
			FUZZ_CHECK(pmm_frame_put(l->pa) == l->refs - 1);
			l->refs--;
		}
		free_live(nlive - 1);
	}
	FUZZ_CHECK(pmm_free_count() == free_at_start);
	FUZZ_CHECK(pmm_check() == 0);
	return 0;
}
