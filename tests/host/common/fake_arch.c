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
struct fake_cpu fake_cpu;

static void *ram;
static size_t ram_size;
static int ram_fd = -1;
static unsigned phys_bits = 46;

#define FAKE_LEAVES 16
static struct { uint32_t leaf, r[4]; int used; } leaves[FAKE_LEAVES];

static void host_putc(char c) { putchar(c); }

jmp_buf *fake_panic_jmp;
char fake_panic_msg[256];

void mm_panic_at(const char *layer, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	int n = snprintf(fake_panic_msg, sizeof(fake_panic_msg), "%s: ", layer);
	va_start(ap, fmt);
	vsnprintf(fake_panic_msg + n, sizeof(fake_panic_msg) - n, fmt, ap);
	va_end(ap);
	printf("PANIC: %s (%s:%d)\n", fake_panic_msg, file, line);
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

uint64_t arch_read_cr3(void) { return fake_cpu.cr3; }
void arch_write_cr3(uint64_t cr3) { fake_cpu.cr3 = cr3; fake_cpu.flush_count++; mmu_flush(); }

void arch_invlpg(uintptr_t va)
{
	fake_cpu.invlpg_count++;
	fake_cpu.last_invlpg = va;
	if (in_window(va))
		mmu_drop(va & ~(PAGE_SIZE - 1), PAGE_SIZE);
}

void arch_flush_tlb(void) { fake_cpu.flush_count++; mmu_flush(); }
void arch_flush_tlb_global(void) { fake_cpu.global_flush_count++; mmu_flush(); }
uint64_t arch_rdtsc(void) { return __rdtsc(); }

uint64_t arch_irq_save(void)
{
	uint64_t was = fake_cpu.irq_disabled;
	fake_cpu.irq_disabled = 1;
	return was;
}

void arch_irq_restore(uint64_t flags) { fake_cpu.irq_disabled = (int)flags; }
unsigned arch_cpu_index(void) { return 0; }
unsigned arch_phys_bits(void) { return phys_bits; }
