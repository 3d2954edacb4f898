/*
 * elf_plan.h - an independent check of a plan elf_check() accepted, for
 * the host tests and the fuzz target (tests/fuzz/elf.c).
 *
 * It re-reads the program headers itself and does its sums in 128 bits,
 * so it shares neither code nor overflow reasoning with src/proc/elf.c.
 * Returns NULL if every promise of elf.h holds, else the one broken.
 */
#ifndef STRATA_TESTS_ELF_PLAN_H
#define STRATA_TESTS_ELF_PLAN_H

#include <stdint.h>
#include <string.h>
#include "proc/elf.h"

typedef unsigned __int128 elf_u128;

static inline uint64_t elf_plan_rd(const uint8_t *img, uint64_t off, unsigned n)
{
	uint64_t v = 0;
	memcpy(&v, img + off, n);
	return v;
}

/* Is there a PT_LOAD header with exactly s's fields? */
static inline int elf_plan_has_phdr(const uint8_t *img, const struct elf_segment *s)
{
	uint64_t phoff = elf_plan_rd(img, 32, 8);
	unsigned phnum = (unsigned)elf_plan_rd(img, 56, 2);
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t p = phoff + (uint64_t)i * 56;
		if (elf_plan_rd(img, p, 4) == 1 && elf_plan_rd(img, p + 16, 8) == s->va &&
		    elf_plan_rd(img, p + 8, 8) == s->offset && elf_plan_rd(img, p + 32, 8) == s->filesz &&
		    elf_plan_rd(img, p + 40, 8) == s->memsz && (elf_plan_rd(img, p + 4, 4) & 7) == s->prot)
			return 1;
	}
	return 0;
}

static inline const char *elf_plan_header_violation(const uint8_t *img, size_t len,
						    const struct elf_image *im)
{
	if (len < 64 || memcmp(img, "\x7f" "ELF\x02\x01\x01", 7))
		return "accepted a file without ELF64 LSB version 1 ident";
	if (elf_plan_rd(img, 16, 2) != 2 || elf_plan_rd(img, 18, 2) != 62 || elf_plan_rd(img, 20, 4) != 1)
		return "accepted a wrong e_type, e_machine or e_version";
	if (elf_plan_rd(img, 52, 2) != 64 || elf_plan_rd(img, 54, 2) != 56)
		return "accepted a wrong e_ehsize or e_phentsize";
	uint64_t phoff = elf_plan_rd(img, 32, 8), phnum = elf_plan_rd(img, 56, 2);
	if ((elf_u128)phoff + phnum * 56 > len)
		return "accepted program headers outside the file";
	unsigned loads = 0;
	for (unsigned i = 0; i < phnum; i++) {
		uint64_t type = elf_plan_rd(img, phoff + i * 56, 4);
		if (type == 2 || type == 3)
			return "accepted PT_DYNAMIC or PT_INTERP";
		loads += type == 1 && elf_plan_rd(img, phoff + i * 56 + 40, 8) != 0;
	}
	if (loads != im->nsegs)
		return "nsegs is not the number of PT_LOADs with bytes in memory";
	if (im->entry != elf_plan_rd(img, 24, 8))
		return "entry is not e_entry";
	return NULL;
}

static inline const char *elf_plan_violation(const uint8_t *img, size_t len, uint64_t lo,
					     uint64_t hi, const struct elf_image *im)
{
	const char *why = elf_plan_header_violation(img, len, im);
	if (why)
		return why;
	if (im->nsegs < 1 || im->nsegs > ELF_MAX_SEGMENTS)
		return "nsegs out of 1..ELF_MAX_SEGMENTS";
	int entry_ok = 0;
	for (unsigned i = 0; i < im->nsegs; i++) {
		const struct elf_segment *s = &im->seg[i];
		elf_u128 end = (elf_u128)s->va + s->memsz;
		if (s->memsz == 0 || s->filesz > s->memsz)
			return "a segment with memsz 0 or filesz > memsz";
		if ((elf_u128)s->offset + s->filesz > len)
			return "a segment's file bytes outside the file";
		if (s->va < lo || end > hi)
			return "a segment outside [lo, hi)";
		if (s->va % 4096 != s->offset % 4096)
			return "va and offset disagree modulo a page";
		if (s->prot & ~7u)
			return "prot has bits other than R, W, X";
		if ((s->prot & ELF_PROT_W) && (s->prot & ELF_PROT_X))
			return "a W+X segment";
		if (i > 0) {
			const struct elf_segment *a = &im->seg[i - 1];
			elf_u128 a_end_page = ((elf_u128)a->va + a->memsz + 4095) / 4096;
			if (a->va > s->va)
				return "segments not sorted by va";
			if (s->va / 4096 < a_end_page)
				return "two segments share a page";
		}
		if ((s->prot & ELF_PROT_X) && im->entry >= s->va && im->entry < end)
			entry_ok = 1;
		if (!elf_plan_has_phdr(img, s))
			return "a segment no PT_LOAD header describes";
	}
	if (!entry_ok)
		return "the entry is in no executable segment";
	const struct elf_segment *last = &im->seg[im->nsegs - 1];
	if ((elf_u128)im->end != ((elf_u128)last->va + last->memsz + 4095) / 4096 * 4096)
		return "end is not the page-rounded end of the highest segment";
	return NULL;
}

#endif
