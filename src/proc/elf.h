/*
 * elf.h - checking a program's ELF image before anything is created for it.
 *
 * elf_check() reads an ELF64 executable from memory and either accepts it,
 * producing the plan the loader follows (entry point, one record per
 * PT_LOAD segment), or refuses it with the first thing that is wrong. It
 * trusts nothing in the file: every offset and size is checked against the
 * image's length and every address against the user half, with overflow
 * in mind. It allocates nothing and touches only the bytes it is given,
 * so it runs unchanged on the host (tests/host/proc, tests/fuzz/elf.c).
 *
 * What is accepted: ELFCLASS64, little-endian, version 1, EM_X86_64,
 * ET_EXEC (static, no PT_INTERP, no PT_DYNAMIC), program headers of
 * sizeof(Elf64_Phdr) inside the file, 1 to ELF_MAX_SEGMENTS PT_LOAD
 * segments (one with p_memsz 0 holds nothing and is skipped, as linkers
 * emit them for an empty output section) with p_filesz <= p_memsz, p_vaddr congruent to p_offset modulo
 * the page size (p_align 0, 1 or a power of two >= the page size),
 * segments lying wholly in [lo, hi), no two touching the same page, none
 * both writable and executable, and an entry point inside an executable
 * segment.
 */
#ifndef STRATA_PROC_ELF_H
#define STRATA_PROC_ELF_H

#include <stddef.h>
#include <stdint.h>

#define ELF_MAX_SEGMENTS 16

/* A segment's permissions: p_flags's own bits (PF_X, PF_W, PF_R in the ELF specification). */
#define ELF_PROT_X 1u
#define ELF_PROT_W 2u
#define ELF_PROT_R 4u

struct elf_segment {
	uint64_t va;            /* p_vaddr: where the first byte goes (not page aligned in general) */
	uint64_t memsz;         /* bytes in memory; those past filesz are zero */
	uint64_t filesz;        /* bytes copied from the file */
	uint64_t offset;        /* p_offset: where they are in the file */
	unsigned prot;          /* ELF_PROT_* from p_flags */
};

struct elf_image {
	uint64_t entry;
	unsigned nsegs;
	struct elf_segment seg[ELF_MAX_SEGMENTS];   /* sorted by va */
	uint64_t end;           /* the end of the highest segment, rounded up to a page */
};

enum elf_error {
	ELF_OK = 0,
	ELF_E_SHORT,            /* smaller than an ELF header */
	ELF_E_MAGIC,            /* no \x7fELF */
	ELF_E_CLASS,            /* not ELFCLASS64 */
	ELF_E_DATA,             /* not little-endian */
	ELF_E_VERSION,          /* e_ident[EI_VERSION] or e_version not 1 */
	ELF_E_MACHINE,          /* not EM_X86_64 */
	ELF_E_TYPE,             /* not ET_EXEC */
	ELF_E_EHSIZE,           /* e_ehsize is not sizeof(Elf64_Ehdr) */
	ELF_E_PHENTSIZE,        /* e_phentsize is not sizeof(Elf64_Phdr) */
	ELF_E_PHDRS,            /* the program header table is not inside the file */
	ELF_E_NO_LOAD,          /* no PT_LOAD segment with bytes in memory */
	ELF_E_TOO_MANY,         /* more than ELF_MAX_SEGMENTS PT_LOAD segments */
	ELF_E_DYNAMIC,          /* PT_INTERP or PT_DYNAMIC: only static programs */
	ELF_E_FILESZ,           /* p_filesz > p_memsz */
	ELF_E_FILE_BOUNDS,      /* a segment's bytes are not inside the file */
	ELF_E_ALIGN,            /* p_align not a power of two, or p_vaddr and p_offset disagree modulo a page */
	ELF_E_ADDRESS,          /* a segment not wholly inside [lo, hi) (the kernel half, address 0, overflow) */
	ELF_E_OVERLAP,          /* two segments touch the same page */
	ELF_E_WX,               /* a segment both writable and executable */
	ELF_E_ENTRY,            /* the entry point is not inside an executable segment */
	ELF_E_COUNT
};

/*
 * Check the len bytes at img as a program for the user range [lo, hi)
 * (both page aligned). Returns ELF_OK with *out filled in, or the first
 * error found (*out is then unspecified).
 */
int elf_check(const void *img, size_t len, uint64_t lo, uint64_t hi, struct elf_image *out);

/* One line for people: "a segment is both writable and executable". */
const char *elf_error_str(int e);

#endif
