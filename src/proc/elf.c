/*
 * elf.c - checking an ELF64 executable and planning its load (elf.h).
 *
 * Layouts (System V ABI, ELF-64 Object File Format 1.5): the file header
 * is 64 bytes: e_ident[16] (magic, class at 4, data at 5, version at 6),
 * e_type at 16, e_machine at 18, e_version at 20, e_entry at 24, e_phoff
 * at 32, e_ehsize at 52, e_phentsize at 54, e_phnum at 56. A program
 * header is 56 bytes: p_type at 0, p_flags at 4, p_offset at 8, p_vaddr
 * at 16, p_filesz at 32, p_memsz at 40, p_align at 48. Fields are read
 * with memcpy: the image may lie at any alignment.
 *
 * The order of the checks: the file header, the table's bounds, then each
 * program header in table order, then the segments against each other
 * (sorted by address), then the entry point.
 */
#include "proc/elf.h"
#include "lib/kstring.h"

#define PAGE 4096ull

#define EHDR_SIZE 64
#define PHDR_SIZE 56

#define ELFCLASS64 2
#define ELFDATA2LSB 1
#define EV_CURRENT 1
#define ET_EXEC 2
#define EM_X86_64 62

#define PT_LOAD 1
#define PT_DYNAMIC 2
#define PT_INTERP 3

struct ehdr {
	uint8_t ident[16];
	uint16_t type, machine;
	uint32_t version;
	uint64_t entry, phoff;
	uint16_t ehsize, phentsize, phnum;
};

struct phdr {
	uint32_t type, flags;
	uint64_t offset, vaddr, filesz, memsz, align;
};

static uint16_t rd16(const uint8_t *p) { uint16_t v; memcpy(&v, p, 2); return v; }
static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static uint64_t page_down(uint64_t a) { return a & ~(PAGE - 1); }
static uint64_t page_up(uint64_t a) { return (a + PAGE - 1) & ~(PAGE - 1); }

static void read_ehdr(const uint8_t *p, struct ehdr *h)
{
	memcpy(h->ident, p, 16);
	h->type = rd16(p + 16);
	h->machine = rd16(p + 18);
	h->version = rd32(p + 20);
	h->entry = rd64(p + 24);
	h->phoff = rd64(p + 32);
	h->ehsize = rd16(p + 52);
	h->phentsize = rd16(p + 54);
	h->phnum = rd16(p + 56);
}

static void read_phdr(const uint8_t *p, struct phdr *ph)
{
	ph->type = rd32(p);
	ph->flags = rd32(p + 4);
	ph->offset = rd64(p + 8);
	ph->vaddr = rd64(p + 16);
	ph->filesz = rd64(p + 32);
	ph->memsz = rd64(p + 40);
	ph->align = rd64(p + 48);
}

/* The file header alone: what kind of file this is. */
static int check_ehdr(const struct ehdr *h)
{
	if (memcmp(h->ident, "\x7f" "ELF", 4))
		return ELF_E_MAGIC;
	if (h->ident[4] != ELFCLASS64)
		return ELF_E_CLASS;
	if (h->ident[5] != ELFDATA2LSB)
		return ELF_E_DATA;
	if (h->ident[6] != EV_CURRENT || h->version != EV_CURRENT)
		return ELF_E_VERSION;
	if (h->machine != EM_X86_64)
		return ELF_E_MACHINE;
	if (h->type != ET_EXEC)
		return ELF_E_TYPE;
	if (h->ehsize != EHDR_SIZE)
		return ELF_E_EHSIZE;
	if (h->phentsize != PHDR_SIZE)
		return ELF_E_PHENTSIZE;
	return ELF_OK;
}

/* One PT_LOAD segment with bytes in memory, on its own. */
static int check_load(const struct phdr *ph, size_t len, uint64_t lo, uint64_t hi)
{
	if (ph->filesz > ph->memsz)
		return ELF_E_FILESZ;
	if (ph->offset > len || ph->filesz > len - ph->offset)
		return ELF_E_FILE_BOUNDS;
	if (ph->align > 1 && ((ph->align & (ph->align - 1)) || ph->align < PAGE))
		return ELF_E_ALIGN;
	if ((ph->vaddr ^ ph->offset) & (PAGE - 1))
		return ELF_E_ALIGN;
	if (ph->vaddr < lo || ph->vaddr >= hi || ph->memsz > hi - ph->vaddr)
		return ELF_E_ADDRESS;
	if ((ph->flags & ELF_PROT_W) && (ph->flags & ELF_PROT_X))
		return ELF_E_WX;
	return ELF_OK;
}

/* Insert ph into out->seg, keeping it sorted by va. */
static void add_segment(struct elf_image *out, const struct phdr *ph)
{
	unsigned i = out->nsegs++;
	for (; i > 0 && out->seg[i - 1].va > ph->vaddr; i--)
		out->seg[i] = out->seg[i - 1];
	out->seg[i] = (struct elf_segment){
		.va = ph->vaddr, .memsz = ph->memsz, .filesz = ph->filesz,
		.offset = ph->offset,
		.prot = ph->flags & (ELF_PROT_R | ELF_PROT_W | ELF_PROT_X),
	};
}

/* Every program header in table order; fills out->seg. */
static int check_phdrs(const uint8_t *img, size_t len, const struct ehdr *h,
		       uint64_t lo, uint64_t hi, struct elf_image *out)
{
	out->nsegs = 0;
	for (unsigned i = 0; i < h->phnum; i++) {
		struct phdr ph;
		read_phdr(img + h->phoff + (uint64_t)i * PHDR_SIZE, &ph);
		if (ph.type == PT_INTERP || ph.type == PT_DYNAMIC)
			return ELF_E_DYNAMIC;
		if (ph.type != PT_LOAD || ph.memsz == 0)
			continue;
		if (out->nsegs == ELF_MAX_SEGMENTS)
			return ELF_E_TOO_MANY;
		int e = check_load(&ph, len, lo, hi);
		if (e)
			return e;
		add_segment(out, &ph);
	}
	return out->nsegs ? ELF_OK : ELF_E_NO_LOAD;
}

/* Sorted segments must not share a page; the entry must be in an executable one. */
static int check_plan(struct elf_image *out)
{
	for (unsigned i = 1; i < out->nsegs; i++) {
		const struct elf_segment *a = &out->seg[i - 1], *b = &out->seg[i];
		if (page_down(b->va) < page_up(a->va + a->memsz))
			return ELF_E_OVERLAP;
	}
	for (unsigned i = 0; i < out->nsegs; i++) {
		const struct elf_segment *s = &out->seg[i];
		if ((s->prot & ELF_PROT_X) && out->entry >= s->va && out->entry - s->va < s->memsz) {
			const struct elf_segment *last = &out->seg[out->nsegs - 1];
			out->end = page_up(last->va + last->memsz);
			return ELF_OK;
		}
	}
	return ELF_E_ENTRY;
}

int elf_check(const void *img, size_t len, uint64_t lo, uint64_t hi, struct elf_image *out)
{
	const uint8_t *p = img;
	struct ehdr h;
	if (len < EHDR_SIZE)
		return ELF_E_SHORT;
	read_ehdr(p, &h);
	int e = check_ehdr(&h);
	if (e)
		return e;
	/* e_phnum is 16 bits: phnum * 56 cannot wrap, e_phoff can. */
	if (h.phoff > len || (uint64_t)h.phnum * PHDR_SIZE > len - h.phoff)
		return ELF_E_PHDRS;
	e = check_phdrs(p, len, &h, lo, hi, out);
	if (e)
		return e;
	out->entry = h.entry;
	return check_plan(out);
}

static const char *const elf_errors[ELF_E_COUNT] = {
	[ELF_OK] = "a valid program",
	[ELF_E_SHORT] = "smaller than an ELF header",
	[ELF_E_MAGIC] = "not an ELF file",
	[ELF_E_CLASS] = "not a 64-bit ELF file",
	[ELF_E_DATA] = "not little-endian",
	[ELF_E_VERSION] = "not ELF version 1",
	[ELF_E_MACHINE] = "not an x86-64 program",
	[ELF_E_TYPE] = "not a static executable (ET_EXEC)",
	[ELF_E_EHSIZE] = "the ELF header size is wrong",
	[ELF_E_PHENTSIZE] = "the program header size is wrong",
	[ELF_E_PHDRS] = "the program headers are not inside the file",
	[ELF_E_NO_LOAD] = "no loadable segment",
	[ELF_E_TOO_MANY] = "too many loadable segments",
	[ELF_E_DYNAMIC] = "a dynamically linked program (PT_INTERP or PT_DYNAMIC)",
	[ELF_E_FILESZ] = "a segment has more bytes in the file than in memory",
	[ELF_E_FILE_BOUNDS] = "a segment's bytes are not inside the file",
	[ELF_E_ALIGN] = "a segment is misaligned",
	[ELF_E_ADDRESS] = "a segment lies outside the user address range",
	[ELF_E_OVERLAP] = "two segments share a page",
	[ELF_E_WX] = "a segment is both writable and executable",
	[ELF_E_ENTRY] = "the entry point is not in an executable segment",
};

const char *elf_error_str(int e)
{
	if (e < 0 || e >= ELF_E_COUNT)
		return "unknown ELF error";
	return elf_errors[e];
}
