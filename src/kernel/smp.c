/*
 * smp.c - starting the application processors, and giving them work.
 *
 * The BSP lends a page below 1 MiB from the PMM (lowmem.c), copies the
 * trampoline (trampoline.asm) there and builds a root below 4 GiB that
 * maps the page where it is and shares the kernel half. Then, one AP at a
 * time (Intel SDM vol. 3, 9.4.4 and 11.6):
 *
 *   BSP                                    AP (APIC ID from the MADT)
 *   fill the page's data block:
 *     stack (its own, over a guard page),
 *     index, entry = ap_entry
 *   INIT IPI, wait 10 ms
 *   STARTUP IPI (vector = page >> 12) -->  real mode at the page
 *   wait 200 us, STARTUP again if silent   -> 32-bit -> 64-bit -> ap_entry:
 *                                          GS, GDT/TSS, IDT, the kernel's
 *                                          root, the BSP's protection
 *   wait up to 1 s for online  <--------   features, syscall MSRs, APIC;
 *                                          online = 1; the idle loop
 *
 * An AP that does not come online in time is reported and left out; its
 * index is given to the next one, so indices stay dense. Afterwards the
 * page goes back to the PMM and the temporary tables are freed.
 *
 * Work: each AP has one slot (fn, arg, busy). smp_start_on fills it and
 * sends the AP a VEC_IPI_CALL, which wakes it from hlt; the idle loop
 * runs the function with interrupts on, clears busy and halts again.
 */
#include "kernel/kernel.h"
#include "kernel/smp.h"
#include "kernel/tsc.h"
#include "kernel/cmdline.h"
#include "arch/x86_64/apic.h"
#include "arch/x86_64/percpu.h"
#include "arch/x86_64/protect.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/io.h"
#include "mm/arch.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"

#define AP_STACK_SIZE 16384

/* The trampoline page's data block (trampoline.asm, TR_*). */
#define TR_GDTR   0xf00
#define TR_PM_PTR 0xf08
#define TR_LM_PTR 0xf10
#define TR_CR3    0xf18
#define TR_FLAGS  0xf1c
#define TR_ENTRY  0xf20
#define TR_STACK  0xf28
#define TR_ARG    0xf30
#define TR_GDT    0xf40

extern const uint8_t trampoline_start[], trampoline_end[];
extern const uint32_t trampoline_offsets[2];

static unsigned ncpus = 1;
static uint64_t timer_per_ms;

static struct work {
	smp_fn fn;
	void *arg;
	int busy;
} works[ARCH_MAX_CPUS];

unsigned smp_cpus(void) { return __atomic_load_n(&ncpus, __ATOMIC_ACQUIRE); }
uint64_t smp_apic_timer_khz(void) { return timer_per_ms; }

/* ---- the AP's side ------------------------------------------------------ */

static void __attribute__((noreturn)) idle_loop(unsigned me)
{
	struct work *w = &works[me];
	for (;;) {
		__asm__ volatile("cli");
		if (__atomic_load_n(&w->busy, __ATOMIC_ACQUIRE)) {
			__asm__ volatile("sti");
			w->fn(w->arg);
			__atomic_store_n(&w->busy, 0, __ATOMIC_RELEASE);
			continue;
		}
		__asm__ volatile("sti; hlt" : : : "memory");   /* sti's shadow: no wake-up is lost */
	}
}

/* From the trampoline, on the AP's own stack, with the temporary root. */
static void __attribute__((noreturn, used)) ap_entry(unsigned me)
{
	struct percpu *p = &percpu_blocks[me];
	percpu_init(me, p->apic_id);
	gdt_init();
	idt_load();
	arch_write_cr3(pg_kernel_root());       /* PCID 0, as CR4.PCIDE wants */
	if (!protect_init_ap()) {
		__atomic_store_n(&p->online, false, __ATOMIC_RELEASE);
		for (;;)
			__asm__ volatile("cli; hlt");
	}
	syscall_init();
	apic_init_ap();
	/*
	 * Online first, then pg_cpu_online: from the moment this CPU is in the
	 * mask every edit shoots it, and pg_cpu_online drops whatever it
	 * cached before (an edit made before the mask had it did not reach it).
	 */
	smp_mark_online(me);
	pg_cpu_online();
	__atomic_store_n(&p->online, true, __ATOMIC_RELEASE);
	idle_loop(me);
}

/* ---- the BSP's side ----------------------------------------------------- */

static void wait_us(uint64_t us)
{
	uint64_t t0 = arch_rdtsc(), n = tsc_khz() * us / 1000;
	while (arch_rdtsc() - t0 < n)
		__builtin_ia32_pause();
}

static bool wait_online(struct percpu *p, uint64_t us)
{
	uint64_t t0 = arch_rdtsc(), n = tsc_khz() * us / 1000;
	while (arch_rdtsc() - t0 < n)
		if (__atomic_load_n(&p->online, __ATOMIC_ACQUIRE))
			return true;
	return false;
}

/*
 * The temporary root: the kernel half of the kernel's root, and this
 * page identity-mapped by one 2 MiB page (the first 2 MiB). Every table
 * below 4 GiB. Returns 0 if there is no memory; tables[] gets what to free.
 */
static pa_t temp_root(unsigned levels, pa_t tables[4], unsigned *ntables)
{
	*ntables = 0;
	for (unsigned i = 0; i < levels - 1; i++) {
		tables[i] = pmm_alloc_page(PMM_DMA32 | PMM_ZERO);
		if (tables[i] == PMM_NO_FRAME)
			return 0;
		(*ntables)++;
	}
	uint64_t *top = phys_to_virt(tables[0]);
	const uint64_t *k = phys_to_virt(pg_kernel_root());
	for (unsigned i = 256; i < 512; i++)
		top[i] = k[i];
	for (unsigned i = 0; i + 1 < levels - 1; i++)
		((uint64_t *)phys_to_virt(tables[i]))[0] = tables[i + 1] | 3;   /* present, writable */
	((uint64_t *)phys_to_virt(tables[levels - 2]))[0] = 0 | 0x83;   /* PD[0]: 2 MiB at 0 */
	return tables[0];
}

static void fill_page(uint8_t *page, pa_t pa, pa_t cr3)
{
	memcpy(page, trampoline_start, (size_t)(trampoline_end - trampoline_start));
	static const uint64_t gdt[4] = {
		0, 0x00cf9a000000ffff, 0x00cf92000000ffff, 0x00af9a000000ffff,
	};
	memcpy(page + TR_GDT, gdt, sizeof(gdt));
	*(uint16_t *)(page + TR_GDTR) = sizeof(gdt) - 1;
	*(uint32_t *)(page + TR_GDTR + 2) = (uint32_t)(pa + TR_GDT);
	*(uint32_t *)(page + TR_PM_PTR) = (uint32_t)(pa + trampoline_offsets[0]);
	*(uint16_t *)(page + TR_PM_PTR + 4) = 0x08;
	*(uint32_t *)(page + TR_LM_PTR) = (uint32_t)(pa + trampoline_offsets[1]);
	*(uint16_t *)(page + TR_LM_PTR + 4) = 0x18;
	*(uint32_t *)(page + TR_CR3) = (uint32_t)cr3;
	/* boot_cpu_flags lives in the stub, unmapped by now: ask the layers that used it. */
	*(uint32_t *)(page + TR_FLAGS) = (protect_state()->nx ? 1 : 0) | (paging_features()->levels == 5 ? 2 : 0);
	*(uint64_t *)(page + TR_ENTRY) = (uint64_t)ap_entry;
}

/* INIT, then STARTUP twice unless the first one brought it in. */
static bool start_ap(unsigned idx, uint32_t apic, uint8_t *page, pa_t pa)
{
	struct percpu *p = &percpu_blocks[idx];
	va_t stack = kstack_alloc(AP_STACK_SIZE);
	if (!stack) {
		kprintf("SMP: no memory for CPU %u's stack\n", idx);
		return false;
	}
	p->apic_id = apic;
	p->stack_top = stack + PAGE_SIZE + AP_STACK_SIZE;
	p->online = false;
	*(uint64_t *)(page + TR_STACK) = p->stack_top;
	*(uint32_t *)(page + TR_ARG) = idx;
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	apic_send(apic, APIC_DM_INIT | APIC_LEVEL_ASSERT);
	wait_us(10000);
	/* smp.nosipi=ID: the test of an AP that never answers (it gets no STARTUP). */
	int silent = cmdline_int("smp.nosipi", -1) == (int)apic;
	for (int i = 0; i < 2 && !silent; i++) {
		apic_send(apic, APIC_DM_STARTUP | (uint32_t)(pa >> 12));
		if (wait_online(p, i ? 1000000 : 200))
			return true;
	}
	if (silent)
		wait_online(p, 1000000);
	kprintf("SMP: CPU with APIC ID %u did not come online within 1 s: left out\n", apic);
	/* It may still be running the trampoline: its stack is never freed. */
	return false;
}

static void start_all(void)
{
	unsigned levels = paging_features()->levels;
	pa_t tables[4];
	unsigned nt;
	pa_t page_pa = pmm_lend_low_page();
	pa_t cr3 = page_pa == PMM_NO_FRAME ? 0 : temp_root(levels, tables, &nt);
	if (!cr3) {
		kprintf("SMP: no %s for the start-up: one CPU\n",
			page_pa == PMM_NO_FRAME ? "free page below 1 MiB" : "memory below 4 GiB");
		goto out;
	}
	uint8_t *page = phys_to_virt(page_pa);
	fill_page(page, page_pa, cr3);
	uint32_t me = apic_id();
	unsigned max = (unsigned)cmdline_int("smp.max", ARCH_MAX_CPUS);
	for (unsigned i = 0; i < boot_cpus.present && i < ACPI_MAX_CPUS; i++) {
		uint32_t id = boot_cpus.apic_id[i];
		if (id == me)
			continue;
		if (ncpus >= ARCH_MAX_CPUS || ncpus >= max) {
			kprintf("SMP: %u CPUs are the most this kernel runs: CPU with APIC ID %u left out\n",
				ncpus, id);
			continue;
		}
		if (!apic_x2() && id > 0xfe) {
			kprintf("SMP: APIC ID %u needs x2APIC: left out\n", id);
			continue;
		}
		if (start_ap(ncpus, id, page, page_pa))
			__atomic_store_n(&ncpus, ncpus + 1, __ATOMIC_RELEASE);
	}
	memset(page, 0, PAGE_SIZE);
out:
	for (unsigned i = 0; cr3 && i < nt; i++)
		pmm_free_page(tables[i]);
	if (page_pa != PMM_NO_FRAME)
		pmm_return_low_page(page_pa);
}

void smp_boot(void)
{
	smp_ipi_init();
	if (apic_init_bsp()) {
		kprintf("APIC: none usable: one CPU\n");
		kprintf("CPUS online=1 present=%u\n", boot_cpus.present);
		return;
	}
	percpu_blocks[0].apic_id = apic_id();
	timer_per_ms = apic_timer_calibrate();
	kprintf("APIC: %s, BSP APIC ID %u, timer %lu kHz (against the TSC)\n",
		apic_x2() ? "x2APIC" : "xAPIC", percpu_blocks[0].apic_id, timer_per_ms);
	percpu_blocks[0].online = true;
	if (boot_cpus.present > 1)
		start_all();
	kprintf("CPUS online=%u present=%u\n", ncpus, boot_cpus.present);
}

/* ---- work for the APs --------------------------------------------------- */

int smp_start_on(unsigned cpu, smp_fn fn, void *arg)
{
	if (cpu == 0 || cpu >= smp_cpus())
		return -1;
	struct work *w = &works[cpu];
	if (__atomic_load_n(&w->busy, __ATOMIC_ACQUIRE))
		return -1;
	w->fn = fn, w->arg = arg;
	__atomic_store_n(&w->busy, 1, __ATOMIC_RELEASE);
	apic_send(percpu_blocks[cpu].apic_id, APIC_DM_FIXED | VEC_IPI_CALL);
	return 0;
}

void smp_wait(unsigned cpu)
{
	if (cpu == 0 || cpu >= smp_cpus())
		return;
	while (__atomic_load_n(&works[cpu].busy, __ATOMIC_ACQUIRE))
		arch_spin_relax();
}

void smp_run_all(smp_fn fn, void *arg)
{
	unsigned n = smp_cpus();
	for (unsigned c = 1; c < n; c++)
		smp_start_on(c, fn, arg);
	fn(arg);
	for (unsigned c = 1; c < n; c++)
		smp_wait(c);
}
