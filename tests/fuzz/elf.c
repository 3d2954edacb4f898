/*
 * elf.c - libFuzzer over the ELF checker (src/proc/elf.c).
 *
 * The input is the image, copied into a buffer exactly as long so ASan
 * sees a read one byte past it, and checked for the user range the
 * kernel uses. Properties: elf_check returns one of its codes and has a
 * string for it; when it accepts, the plan keeps every promise of elf.h
 * (tests/host/proc/elf_plan.h, a checker written apart from elf.c), and
 * every file byte the plan points at can be read.
 *
 * e_ident[15] (padding elf_check ignores) asks for repairs first, so the
 * fuzzer gets past what it would rarely guess: bit 0 writes a valid file
 * header, bit 1 puts the table at 64 with as many entries as fit, bit 2
 * makes each p_vaddr agree with its p_offset modulo a page, bit 3 moves
 * each p_vaddr into [LO, HI), bit 4 points e_entry at the start of the
 * last PT_LOAD marked executable. Real ELF files have 0 there.
 */
#include <string.h>
#include "fuzz.h"
#include "proc/elf.h"
#include "tests/host/proc/elf_plan.h"

#define LO 0x10000ull
#define HI 0x800000000000ull

static void put(uint8_t *p, uint64_t v, unsigned n) { memcpy(p, &v, n); }
static uint64_t get(const uint8_t *p, unsigned n) { uint64_t v = 0; memcpy(&v, p, n); return v; }

static void repair(uint8_t *img, size_t size)
{
	uint8_t how = img[15];
	if (how & 1) {
		memcpy(img, "\x7f" "ELF\x02\x01\x01", 7);
		put(img + 16, 2, 2), put(img + 18, 62, 2), put(img + 20, 1, 4);
		put(img + 52, 64, 2), put(img + 54, 56, 2);
	}
	if (how & 2) {
		uint64_t fit = (size - 64) / 56, n = get(img + 56, 2);
		put(img + 32, 64, 8);
		put(img + 56, n < fit ? n : fit, 2);
	}
	uint64_t phoff = get(img + 32, 8), phnum = get(img + 56, 2);
	if (phoff > size || phnum * 56 > size - phoff)
		return;
	for (uint64_t i = 0; i < phnum; i++) {
		uint8_t *ph = img + phoff + i * 56;
		uint64_t va = get(ph + 16, 8), off = get(ph + 8, 8);
		if (how & 8)
			va = LO + va % (HI - LO);
		if (how & 4)
			va = (va & ~0xfffull) | (off & 0xfff);
		put(ph + 16, va, 8);
		if ((how & 16) && get(ph, 4) == 1 && (get(ph + 4, 4) & ELF_PROT_X))
			put(img + 24, va, 8);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct elf_image im;
	uint8_t *img = malloc(size ? size : 1);
	memcpy(img, data, size);
	if (size >= 64)
		repair(img, size);
	int e = elf_check(img, size, LO, HI, &im);
	FUZZ_CHECK(e >= 0 && e < ELF_E_COUNT);
	FUZZ_CHECK(elf_error_str(e)[0] != '\0');
	if (e == ELF_OK) {
		const char *why = elf_plan_violation(img, size, LO, HI, &im);
		if (why)
			fprintf(stderr, "plan: %s\n", why);
		FUZZ_CHECK(why == NULL);
		volatile uint8_t sink = 0;
		for (unsigned i = 0; i < im.nsegs; i++)
			for (uint64_t b = 0; b < im.seg[i].filesz; b++)
				sink ^= img[im.seg[i].offset + b];
		(void)sink;
	}
	free(img);
	return 0;
}
