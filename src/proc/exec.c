/*
 * exec.c - a program's address space, from its checked ELF image.
 *
 *   STRATA_STACK_TOP  +---------------------------+
 *                     | argv strings, auxv, envp, |  the stack: demand-zero,
 *                     | argv[], argc  <- RSP      |  grows down on faults
 *                     |            ...            |
 *      - STACK_MAX    +---------------------------+
 *                     | guard page                |  a touch kills: reason=guard
 *                     +---------------------------+
 *                     |   (free: mmap's area      |
 *                     |    from STRATA_MMAP_BASE) |
 *                     +---------------------------+
 *                     | the break, grown by brk   |
 *      image end      +---------------------------+
 *                     | .data/.bss  rw-           |  file bytes copied; the pages
 *                     |                           |  past them zero on demand
 *                     | .rodata     r--           |
 *   STRATA_TEXT_BASE  | .text       r-x           |
 *                     +---------------------------+
 *
 * Every segment's pages that hold file bytes are a VM_ANON region (taken
 * and zeroed now, the bytes copied in through the HHDM, since the user
 * mapping may be read-only); the pages past them, its .bss, are a
 * VM_DEMAND region. Nothing is mapped writable and executable.
 */
#include "proc/proc.h"
#include "proc/elf.h"
#include "abi/syscall.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "mm/arch.h"

static uint64_t page_down(uint64_t a) { return a & ~(PAGE_SIZE - 1); }
static uint64_t page_up(uint64_t a) { return (a + PAGE_SIZE - 1) & ~(PAGE_SIZE - 1); }

static unsigned vm_flags_of(unsigned elf_prot)
{
	return VM_READ | VM_USER | (elf_prot & ELF_PROT_W ? VM_WRITE : 0) |
	       (elf_prot & ELF_PROT_X ? VM_EXEC : 0);
}

static int err_of(int vmm_err) { return vmm_err == VMM_E_NO_MEMORY ? -ENOMEM : -ENOEXEC; }

/*
 * Copy len bytes to va in s through the HHDM, page by page; a page not
 * mapped yet (the stack's) is faulted in first, as the process would.
 */
static int space_write(struct vm_space *s, uint64_t va, const void *src, size_t len)
{
	const uint8_t *from = src;
	while (len) {
		size_t off = va & (PAGE_SIZE - 1), n = PAGE_SIZE - off;
		if (n > len)
			n = len;
		pa_t pa;
		if (pg_translate(vmm_space_root(s), va, &pa, NULL, NULL)) {
			if (vmm_fault(s, va, VM_ACC_WRITE | VM_ACC_USER, NULL) != VMF_RESOLVED)
				return -ENOMEM;
			if (pg_translate(vmm_space_root(s), va, &pa, NULL, NULL))
				return -ENOMEM;
		}
		memcpy(phys_to_virt(pa), from, n);
		va += n, from += n, len -= n;
	}
	return 0;
}

static int load_segment(struct vm_space *s, const struct elf_segment *g, const uint8_t *img)
{
	uint64_t lo = page_down(g->va), file_end = page_up(g->va + g->filesz), hi = page_up(g->va + g->memsz);
	unsigned flags = vm_flags_of(g->prot);
	int e;
	if (file_end > lo) {
		struct vm_req r = { .len = file_end - lo, .kind = VM_ANON, .flags = flags };
		if ((e = vmm_alloc_fixed(s, lo, &r)))
			return err_of(e);
		if ((e = space_write(s, g->va, img + g->offset, g->filesz)))
			return e;
	}
	if (hi > file_end) {
		struct vm_req r = { .len = hi - file_end, .kind = VM_DEMAND, .flags = flags };
		if ((e = vmm_alloc_fixed(s, file_end, &r)))
			return err_of(e);
	}
	return 0;
}

static int make_stack(struct vm_space *s)
{
	uint64_t base = STRATA_STACK_TOP - STRATA_STACK_MAX;
	struct vm_req guard = { .len = PAGE_SIZE, .kind = VM_GUARD };
	struct vm_req stack = { .len = STRATA_STACK_MAX, .kind = VM_DEMAND,
				.flags = VM_READ | VM_WRITE | VM_USER };
	int e = vmm_alloc_fixed(s, base - PAGE_SIZE, &guard);
	if (!e)
		e = vmm_alloc_fixed(s, base, &stack);
	return e ? err_of(e) : 0;
}

/*
 * The System V start-up stack: argc, argv[] and NULL, envp's NULL, the
 * auxiliary vector, and above them the strings. RSP ends 16-byte aligned
 * at argc.
 */
/*
 * Where the program headers are in the process, for AT_PHDR: the address
 * of file offset e_phoff in the segment that loads it; 0 if none does.
 */
static uint64_t phdr_va(const struct elf_image *im, const uint8_t *img, uint16_t *phnum)
{
	uint64_t phoff;
	memcpy(&phoff, img + 32, 8);    /* e_phoff and e_phnum: elf_check read them already */
	memcpy(phnum, img + 56, 2);
	for (unsigned i = 0; i < im->nsegs; i++) {
		const struct elf_segment *g = &im->seg[i];
		if (phoff >= g->offset && phoff - g->offset + (uint64_t)*phnum * 56 <= g->filesz)
			return g->va + (phoff - g->offset);
	}
	return 0;
}

static int push_args(struct vm_space *s, unsigned argc, char *const argv[],
		     const struct elf_image *im, const uint8_t *img, uint64_t *sp)
{
	uint64_t top = STRATA_STACK_TOP, ptrs[STRATA_ARGC_MAX + 1];
	for (unsigned i = argc; i-- > 0;) {
		size_t n = strlen(argv[i]) + 1;
		top -= n;
		if (space_write(s, top, argv[i], n))
			return -ENOMEM;
		ptrs[i] = top;
	}
	ptrs[argc] = 0;
	uint64_t words[1 + STRATA_ARGC_MAX + 1 + 1 + 10];
	uint16_t phnum;
	uint64_t phdr = phdr_va(im, img, &phnum);
	unsigned w = 0;
	words[w++] = argc;
	for (unsigned i = 0; i <= argc; i++)
		words[w++] = ptrs[i];
	words[w++] = 0;                                 /* envp: empty */
	words[w++] = AT_PAGESZ, words[w++] = PAGE_SIZE;
	words[w++] = AT_ENTRY, words[w++] = im->entry;
	if (phdr) {
		words[w++] = AT_PHDR, words[w++] = phdr;
		words[w++] = AT_PHNUM, words[w++] = phnum;
	}
	words[w++] = AT_NULL, words[w++] = 0;
	top = (top - w * 8) & ~15UL;
	if (space_write(s, top, words, w * 8))
		return -ENOMEM;
	*sp = top;
	return 0;
}

int exec_load(struct vm_space *s, const char *path, const struct initrd_file *f,
	      unsigned argc, char *const argv[], struct exec_info *out)
{
	static struct elf_image im;     /* one CPU, system calls not preempted: one at a time */
	int e = elf_check(f->data, f->size, VMM_USER_BASE, STRATA_MMAP_BASE, &im);
	if (e) {
		kprintf("spawn: %s is not a program Strata runs: %s\n", path, elf_error_str(e));
		return -ENOEXEC;
	}
	for (unsigned i = 0; i < im.nsegs; i++)
		if ((e = load_segment(s, &im.seg[i], f->data)))
			return e;
	if ((e = make_stack(s)) || (e = push_args(s, argc, argv, &im, f->data, &out->sp)))
		return e;
	out->entry = im.entry;
	out->brk_base = im.end;
	return 0;
}
