#define _GNU_SOURCE
#include <stdlib.h>
#include <stdio.h>
#include <stdarg.h>
#include <string.h>
#include <signal.h>
#include <unistd.h>
#include <ucontext.h>
#include <sys/mman.h>
#include <x86intrin.h>
#include "fake_arch.h"
#include "lib/kprintf.h"
#include "mm/failure.h"

#ifndef MAP_FIXED_NOREPLACE
#define MAP_FIXED_NOREPLACE 0x100000
#endif

uintptr_t hhdm_offset;
__thread struct fake_cpu fake_cpu;
__thread unsigned fake_cpu_index;
uint64_t fake_online_mask = 1;
struct fake_shootdowns fake_shootdowns;
void (*fake_shootdown_hook)(uint64_t cpus, const struct arch_tlb_flush *f);

static void *ram;
static size_t ram_size;
static int ram_fd = -1;
static unsigned phys_bits = 46;

#define FAKE_LEAVES 16
static struct { uint32_t leaf, r[4]; int used; } leaves[FAKE_LEAVES];

/*
 * The kernel's console lines (reports, dumps, warnings) land on stdout
 * between the TAP results: each is printed as a "# " diagnostic, so a
 * strict TAP reader sees only plans, results and comments.
 */
static int host_line_start = 1;

static void host_putc(char c)
{
	if (host_line_start)
		fputs("# ", stdout);
	putchar(c);
	host_line_start = c == '\n';
}

void fake_console_end_line(void)
{
	if (!host_line_start)
		putchar('\n');
	host_line_start = 1;
}

jmp_buf *fake_panic_jmp;
char fake_panic_msg[256];

void mm_panic_at(const char *layer, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(fake_panic_msg, sizeof(fake_panic_msg), "%s: ", layer);
	va_start(ap, fmt);
	vsnprintf(fake_panic_msg + n, sizeof(fake_panic_msg) - n, fmt, ap);
	va_end(ap);
	/* A diagnostic too: tests provoke panics on purpose. */
	fake_console_end_line();
	printf("# PANIC: %s (%s:%d)\n", fake_panic_msg, file, line);
	fflush(stdout);
	if (fake_panic_jmp)
		longjmp(*fake_panic_jmp, 1);
	abort();
}

static void die(const char *what)
{
	perror(what);
	exit(2);
}

/* RAM is a memfd mapped shared, so the MMU can map any frame a second time. */
void *fake_ram_init(size_t size)
{
	fake_ram_free();
	ram_fd = memfd_create("strata-ram", MFD_CLOEXEC);
	if (ram_fd < 0 || ftruncate(ram_fd, (off_t)size))
		die("fake_ram_init: memfd");
	ram = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_NORESERVE, ram_fd, 0);
	if (ram == MAP_FAILED)
		die("fake_ram_init: mmap");
	ram_size = size;
	hhdm_offset = (uintptr_t)ram;
	console_set_sink(host_putc);
	return ram;
}

void fake_ram_free(void)
{
	if (ram)
		munmap(ram, ram_size);
	if (ram_fd >= 0)
		close(ram_fd);
	ram = NULL, ram_size = 0, ram_fd = -1;
}

size_t fake_ram_size(void) { return ram_size; }

void fake_cpuid_set(uint32_t leaf, uint32_t eax, uint32_t ebx, uint32_t ecx, uint32_t edx)
{
	for (int i = 0; i < FAKE_LEAVES; i++) {
		if (!leaves[i].used || leaves[i].leaf == leaf) {
			leaves[i].used = 1, leaves[i].leaf = leaf;
			leaves[i].r[0] = eax, leaves[i].r[1] = ebx, leaves[i].r[2] = ecx, leaves[i].r[3] = edx;
			return;
		}
	}
	abort();
}

void fake_cpuid_reset(void) { memset(leaves, 0, sizeof(leaves)); }
void fake_set_phys_bits(unsigned bits) { phys_bits = bits; }

void arch_cpuid(uint32_t leaf, uint32_t subleaf, uint32_t out[4])
{
	(void)subleaf;
	out[0] = out[1] = out[2] = out[3] = 0;
	for (int i = 0; i < FAKE_LEAVES; i++)
		if (leaves[i].used && leaves[i].leaf == leaf)
			memcpy(out, leaves[i].r, sizeof(leaves[i].r));
}

/* ---- the software MMU ------------------------------------------------- */

static uintptr_t mmu_lo, mmu_hi;        /* the window; 0, 0 until fake_mmu_init */
static fake_translate_fn mmu_translate;
static struct sigaction chained;        /* the handler before ours (ASan's) */
uint64_t fake_mmu_fills;

static bool in_window(uintptr_t va) { return va >= mmu_lo && va < mmu_hi; }

/* Drop [va, va+len) of the window back to "not loaded": no access, no frame. */
static void mmu_drop(uintptr_t va, size_t len)
{
	if (mmap((void *)va, len, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE | MAP_FIXED,
		 -1, 0) == MAP_FAILED)
		die("fake_mmu: drop");
}

static void chain(int sig, siginfo_t *info, void *ctx)
{
	if (chained.sa_flags & SA_SIGINFO && chained.sa_sigaction) {
		chained.sa_sigaction(sig, info, ctx);
		return;
	}
	if (chained.sa_handler != SIG_DFL && chained.sa_handler != SIG_IGN) {
		chained.sa_handler(sig);
		return;
	}
	signal(sig, SIG_DFL);   /* returning re-runs the access, which now kills us */
}

/*
 * A fault: in the window and mapped by the tables with the access allowed,
 * load the page (the "TLB fill") and retry; anything else is a real crash.
 * The error code's bit 1 says it was a write (x86 #PF layout).
 */
static void on_segv(int sig, siginfo_t *info, void *ctx)
{
	uintptr_t va = (uintptr_t)info->si_addr & ~(PAGE_SIZE - 1);
	bool write = ((ucontext_t *)ctx)->uc_mcontext.gregs[REG_ERR] & 2, writable;
	uint64_t pa;

	if (!in_window(va) || !mmu_translate || mmu_translate(va, &pa, &writable) ||
	    (write && !writable) || pa + PAGE_SIZE > ram_size) {
		chain(sig, info, ctx);
		return;
	}
	if (mmap((void *)va, PAGE_SIZE, writable ? PROT_READ | PROT_WRITE : PROT_READ,
		 MAP_SHARED | MAP_FIXED, ram_fd, (off_t)pa) == MAP_FAILED)
		chain(sig, info, ctx);
	fake_mmu_fills++;
}

void fake_mmu_init(uintptr_t lo, uintptr_t hi, fake_translate_fn translate)
{
	struct sigaction sa;

	mmu_translate = translate;
	if (mmu_lo == lo && mmu_hi == hi)
		return;
	if (mmu_lo || mmap((void *)lo, hi - lo, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE |
			   MAP_FIXED_NOREPLACE, -1, 0) != (void *)lo)
		die("fake_mmu_init: reserve the window");
	mmu_lo = lo, mmu_hi = hi;
	memset(&sa, 0, sizeof(sa));
	sa.sa_sigaction = on_segv;
	sa.sa_flags = SA_SIGINFO | SA_NODEFER;
	sigemptyset(&sa.sa_mask);
	if (sigaction(SIGSEGV, &sa, &chained))
		die("fake_mmu_init: sigaction");
}

/* The whole window unloaded: what a TLB flush does. */
static void mmu_flush(void)
{
	if (mmu_lo)
		mmu_drop(mmu_lo, mmu_hi - mmu_lo);
}

/* ---- the TLB model: PCID-tagged TLB and paging-structure caches --------
 *
 * Intel SDM vol. 3, 4.10. A translation the model makes (fake_tlb_access)
 * caches everything a CPU may cache, so staleness shows as much as it can:
 *
 *   TLB entries        va page -> pa and rights, tagged with the PCID, or
 *                      global (G in the leaf): usable under every PCID.
 *   paging-structure   for each non-leaf entry the walk used (PML5E,
 *   caches             PML4E, PDPTE, PDE): the va prefix -> the next table,
 *                      tagged with the PCID. They ignore G (4.10.3).
 *
 * A later walk starts at the lowest cached table, so a cache pointing into
 * a freed frame is followed. What each operation drops (4.10.4.1):
 *
 *   INVLPG va           TLB entries for va's page in the current PCID,
 *                       global entries for it in any PCID, and every
 *                       paging-structure cache entry of the current PCID.
 *   MOV CR3, bit 63 = 0 the new PCID's non-global TLB entries and its
 *                       paging-structure caches (PCID 0 without PCIDE).
 *   MOV CR3, bit 63 = 1 nothing (PCIDE only; without it bit 63 is #GP).
 *   CR4.PGE toggle      everything, in every PCID.
 *
 * INVPCID is not modelled: no layer uses it (arch.h has no such call).
 *
 * A CPU may also walk the tables at any time (speculatively): the model
 * re-walks the addresses fake_tlb_speculate names right after every
 * invalidation, the worst moment for code that frees a table later.
 */
#define TLB_SLOTS 2048
#define PSC_SLOTS 1024
struct tlb_ent { uint64_t va, size, pa; unsigned pcid; bool g, w, u, nx; };
struct psc_ent { uint64_t va, size, table; unsigned pcid, level; };
static struct tlb_ent tlb[TLB_SLOTS];
static struct psc_ent psc[PSC_SLOTS];
static unsigned ntlb, npsc, tlb_levels = 4;
static bool tlb_pcide, tlb_strict;   /* strict: a test set the model up */
#define SPEC_SLOTS 8
static uintptr_t spec[SPEC_SLOTS];
static unsigned nspec;

void fake_tlb_reset(unsigned levels, bool pcide)
{
	ntlb = npsc = nspec = 0;
	tlb_strict = true;
	tlb_levels = levels;
	tlb_pcide = pcide;
}

static unsigned cur_pcid(void) { return tlb_pcide ? fake_cpu.cr3 & 0xfff : 0; }
static unsigned new_pcid(uint64_t cr3) { return tlb_pcide ? cr3 & 0xfff : 0; }
static uint64_t cur_root(void) { return fake_cpu.cr3 & 0x000ffffffffff000ULL; }

/* Drop every entry for which drop() is true (order does not matter). */
static void tlb_drop_if(bool (*drop)(const struct tlb_ent *, uint64_t, unsigned), uint64_t va,
			unsigned pcid)
{
	for (unsigned i = 0; i < ntlb;)
		if (drop(&tlb[i], va, pcid))
			tlb[i] = tlb[--ntlb];
		else
			i++;
}

static void psc_drop_pcid(unsigned pcid, bool all)
{
	for (unsigned i = 0; i < npsc;)
		if (all || psc[i].pcid == pcid)
			psc[i] = psc[--npsc];
		else
			i++;
}

static bool drop_page(const struct tlb_ent *e, uint64_t va, unsigned pcid)
{
	return va - e->va < e->size && (e->g || e->pcid == pcid);
}

static bool drop_local(const struct tlb_ent *e, uint64_t va, unsigned pcid)
{
	(void)va;
	return !e->g && e->pcid == pcid;
}

static bool drop_all(const struct tlb_ent *e, uint64_t va, unsigned pcid)
{
	(void)e, (void)va, (void)pcid;
	return true;
}

static void speculate(void);

static void model_invlpg(uint64_t va)
{
	tlb_drop_if(drop_page, va, cur_pcid());
	psc_drop_pcid(cur_pcid(), false);
	speculate();
}

static void model_write_cr3(uint64_t cr3)
{
	if (tlb_strict && !tlb_pcide && (cr3 >> 63)) {
		fprintf(stderr, "fake_tlb: MOV CR3 with bit 63 set but CR4.PCIDE clear: #GP\n");
		abort();
	}
	if (cr3 >> 63)
		return;
	unsigned pcid = new_pcid(cr3);
	tlb_drop_if(drop_local, 0, pcid);
	psc_drop_pcid(pcid, false);
}

static void model_flush_all(void)
{
	tlb_drop_if(drop_all, 0, 0);
	psc_drop_pcid(0, true);
	speculate();
}

static uint64_t ram_read(uint64_t pa)
{
	if (pa + 8 > ram_size) {
		fprintf(stderr, "fake_tlb: a walk reads pa %#lx, outside RAM\n", (unsigned long)pa);
		abort();
	}
	uint64_t v;
	memcpy(&v, (char *)ram + pa, 8);
	return v;
}

#define E_P  (1ULL << 0)
#define E_W  (1ULL << 1)
#define E_U  (1ULL << 2)
#define E_PS (1ULL << 7)
#define E_G  (1ULL << 8)
#define E_NX (1ULL << 63)
#define E_ADDR 0x000ffffffffff000ULL

static uint64_t lsize(unsigned l) { return 1ULL << (12 + 9 * l); }

/*
 * Walk from table t at level l (its entries are of level l) for va, as the
 * CPU does; rights start as given. Fills *x. With fill, every non-leaf
 * entry used goes into the paging-structure caches under pcid, the leaf
 * into the TLB.
 */
static void walk_from(uint64_t t, int l, uint64_t va, struct fake_xlate *x, bool fill, unsigned pcid)
{
	for (;; l--) {
		uint64_t e = ram_read(t + ((va >> (12 + 9 * l)) & 511) * 8);
		if (!(e & E_P))
			return;
		x->w &= !!(e & E_W), x->u &= !!(e & E_U), x->nx |= !!(e & E_NX);
		if (l == 0 || (e & E_PS)) {
			uint64_t base = e & E_ADDR & ~(l ? 0x1000ULL : 0);
			x->ok = true, x->size = lsize(l), x->g = e & E_G;
			x->pa = base + (va & (x->size - 1));
			if (fill && ntlb < TLB_SLOTS)
				tlb[ntlb++] = (struct tlb_ent){ va & ~(x->size - 1), x->size, base, pcid,
								x->g, x->w, x->u, x->nx };
			return;
		}
		t = e & E_ADDR;
		if (fill && npsc < PSC_SLOTS)
			psc[npsc++] = (struct psc_ent){ va & ~(lsize(l) - 1), lsize(l), t, pcid, (unsigned)l };
	}
}

/* The table the lowest paging-structure cache entry of pcid for va names, and its level. */
static const struct psc_ent *psc_lookup(uint64_t va, unsigned pcid)
{
	const struct psc_ent *best = NULL;
	for (unsigned i = 0; i < npsc; i++)
		if (psc[i].pcid == pcid && va - psc[i].va < psc[i].size &&
		    (!best || psc[i].level < best->level))
			best = &psc[i];
	return best;
}

struct fake_xlate fake_tlb_access(uintptr_t va)
{
	struct fake_xlate x = { .w = true, .u = true };
	unsigned pcid = cur_pcid();
	for (unsigned i = 0; i < ntlb; i++) {
		const struct tlb_ent *e = &tlb[i];
		if (va - e->va < e->size && (e->g || e->pcid == pcid)) {
			x = (struct fake_xlate){ true, e->pa + (va - e->va), e->size, e->w, e->u, e->nx, e->g };
			return x;
		}
	}
	const struct psc_ent *c = psc_lookup(va, pcid);
	if (c)      /* the rights of the levels above are not kept: a simplification */
		walk_from(c->table, (int)c->level - 1, va, &x, true, pcid);
	else
		walk_from(cur_root(), (int)tlb_levels - 1, va, &x, true, pcid);
	return x;
}

/* The CPU walks the named addresses on its own, now: fills, no fault. */
static void speculate(void)
{
	for (unsigned i = 0; i < nspec; i++)
		(void)fake_tlb_access(spec[i]);
}

void fake_tlb_speculate(uintptr_t va)
{
	if (nspec < SPEC_SLOTS)
		spec[nspec++] = va;
}

struct fake_xlate fake_tlb_walk(uintptr_t va)
{
	struct fake_xlate x = { .w = true, .u = true };
	walk_from(cur_root(), (int)tlb_levels - 1, va, &x, false, 0);
	return x;
}

/* The table a fresh walk from the current root finds below the level-l entry for va, or 0. */
static uint64_t table_below(uint64_t va, unsigned level)
{
	uint64_t t = cur_root();
	for (int l = (int)tlb_levels - 1; l >= (int)level; l--) {
		uint64_t e = ram_read(t + ((va >> (12 + 9 * l)) & 511) * 8);
		if (!(e & E_P) || (l > 0 && (e & E_PS)) || l == 0)
			return 0;
		t = e & E_ADDR;
	}
	return t;
}

unsigned fake_tlb_stale(void)
{
	unsigned pcid = cur_pcid(), n = 0;
	for (unsigned i = 0; i < ntlb; i++) {
		const struct tlb_ent *e = &tlb[i];
		if (!e->g && e->pcid != pcid)
			continue;
		struct fake_xlate now = fake_tlb_walk(e->va);
		if (!now.ok || now.pa != e->pa || now.size != e->size || now.w != e->w ||
		    now.u != e->u || now.nx != e->nx)
			n++;
	}
	for (unsigned i = 0; i < npsc; i++)
		if (psc[i].pcid == pcid && table_below(psc[i].va, psc[i].level) != psc[i].table)
			n++;
	return n;
}

unsigned fake_tlb_entries(void) { return ntlb; }

uint64_t arch_read_cr3(void) { return fake_cpu.cr3; }

void arch_write_cr3(uint64_t cr3)
{
	model_write_cr3(cr3);
	fake_cpu.cr3 = cr3;
	fake_cpu.flush_count++;
	mmu_flush();
	speculate();
}

void arch_invlpg(uintptr_t va)
{
	fake_cpu.invlpg_count++;
	fake_cpu.last_invlpg = va;
	model_invlpg(va);
	if (in_window(va))
		mmu_drop(va & ~(PAGE_SIZE - 1), PAGE_SIZE);
}

/* The kernel's: MOV CR3 of CR3 itself (bit 63 reads as 0). */
void arch_flush_tlb(void)
{
	model_write_cr3(fake_cpu.cr3 & ~(1ULL << 63));
	fake_cpu.flush_count++;
	mmu_flush();
	speculate();
}

/* The kernel's: CR4.PGE toggled. */
void arch_flush_tlb_global(void)
{
	model_flush_all();
	fake_cpu.global_flush_count++;
	mmu_flush();
}
uint64_t arch_rdtsc(void) { return __rdtsc(); }

uint64_t arch_irq_save(void)
{
	uint64_t was = fake_cpu.irq_disabled;
	fake_cpu.irq_disabled = 1;
	return was;
}

void arch_irq_restore(uint64_t flags) { fake_cpu.irq_disabled = (int)flags; }
unsigned arch_cpu_index(void) { return fake_cpu_index; }
uint64_t arch_cpus_online(void) { return __atomic_load_n(&fake_online_mask, __ATOMIC_RELAXED); }
void arch_spin_relax(void) { __builtin_ia32_pause(); }

/* Host threads share one TLB model, so a shootdown is only recorded. */
void arch_tlb_shootdown(uint64_t cpus, const struct arch_tlb_flush *f)
{
	__atomic_add_fetch(&fake_shootdowns.calls, 1, __ATOMIC_RELAXED);
	__atomic_or_fetch(&fake_shootdowns.cpus_seen, cpus, __ATOMIC_RELAXED);
	fake_shootdowns.last_cpus = cpus;
	fake_shootdowns.last = *f;
	fake_shootdowns.last.va = NULL;
	for (unsigned i = 0; i < f->n && i < FAKE_SHOOT_VAS; i++)
		fake_shootdowns.last_va[i] = f->va[i];
	if (fake_shootdown_hook)
		fake_shootdown_hook(cpus, f);
}
unsigned arch_phys_bits(void) { return phys_bits; }
