/*
 * apic.c - the local APIC in xAPIC or x2APIC mode.
 *
 * Every register is reached through apic_read/apic_write, which pick the
 * MMIO page or the MSR (x2APIC register = MSR 0x800 + offset / 16). The
 * ICR is the one difference in shape: two 32-bit halves in xAPIC (the
 * destination in the high one, written first: the low write sends), one
 * 64-bit MSR in x2APIC.
 */
#include "arch/x86_64/apic.h"
#include "arch/x86_64/io.h"
#include "mm/arch.h"
#include "mm/vmm/vmm.h"
#include "lib/kprintf.h"
#include "kernel/tsc.h"

#define MSR_APIC_BASE   0x1b
#define APIC_BASE_EN    (1UL << 11)
#define APIC_BASE_EXTD  (1UL << 10)
#define APIC_BASE_ADDR  0xffffff000UL

#define REG_ID      0x020
#define REG_TPR     0x080
#define REG_EOI     0x0b0
#define REG_SVR     0x0f0
#define REG_ICR_LO  0x300
#define REG_ICR_HI  0x310
#define REG_LVT_TIMER 0x320
#define REG_LVT_LINT0 0x350
#define REG_LVT_LINT1 0x360
#define REG_LVT_ERROR 0x370
#define REG_TIMER_INIT 0x380
#define REG_TIMER_CUR  0x390
#define REG_TIMER_DIV  0x3e0

#define SVR_ENABLE   (1u << 8)
#define LVT_MASKED   (1u << 16)
#define LVT_EXTINT   0x700
#define LVT_NMI      0x400
#define ICR_PENDING  (1u << 12)
#define TIMER_DIV_16 0x3

static bool x2;
static volatile uint32_t *mmio;

bool apic_x2(void) { return x2; }

static uint32_t apic_read(unsigned reg)
{
	return x2 ? (uint32_t)rdmsr(0x800 + (reg >> 4)) : mmio[reg / 4];
}

static void apic_write(unsigned reg, uint32_t v)
{
	if (x2)
		wrmsr(0x800 + (reg >> 4), v);
	else
		mmio[reg / 4] = v;
}

uint32_t apic_id(void) { return x2 ? apic_read(REG_ID) : apic_read(REG_ID) >> 24; }
void apic_eoi(void) { apic_write(REG_EOI, 0); }

void apic_send(uint32_t dest, uint32_t icr_low)
{
	if (x2) {
		/* x2APIC ICR writes are not serializing: order earlier stores first (SDM 11.12.3). */
		__asm__ volatile("mfence" : : : "memory");
		wrmsr(0x830, ((uint64_t)dest << 32) | icr_low);
		return;
	}
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	mmio[REG_ICR_HI / 4] = dest << 24;
	mmio[REG_ICR_LO / 4] = icr_low;
	while (mmio[REG_ICR_LO / 4] & ICR_PENDING)
		__builtin_ia32_pause();
}

/* Software-enable, nothing masked by priority, errors and spurious to their vectors. */
static void enable(bool bsp)
{
	uint64_t base = rdmsr(MSR_APIC_BASE) | APIC_BASE_EN;
	wrmsr(MSR_APIC_BASE, base);
	if (x2)
		wrmsr(MSR_APIC_BASE, base | APIC_BASE_EXTD);
	apic_write(REG_TPR, 0);
	apic_write(REG_SVR, SVR_ENABLE | 0xff);
	apic_write(REG_LVT_TIMER, LVT_MASKED);
	apic_write(REG_LVT_ERROR, LVT_MASKED);
	/* Virtual wire: the 8259's interrupts reach the BSP through LINT0. */
	apic_write(REG_LVT_LINT0, bsp ? LVT_EXTINT : LVT_MASKED);
	apic_write(REG_LVT_LINT1, LVT_NMI);
}

int apic_init_bsp(void)
{
	uint32_t r[4];
	arch_cpuid(1, 0, r);
	if (!(r[3] & (1u << 9)))
		return -1;
	x2 = r[2] & (1u << 21);
	if (!x2) {
		pa_t pa = rdmsr(MSR_APIC_BASE) & APIC_BASE_ADDR;
		struct vm_req q = { .len = PAGE_SIZE, .kind = VM_MMIO, .flags = VM_READ | VM_WRITE,
				    .cache = VM_CACHE_UC, .pa = pa, .lo = VMM_KMMIO_BASE, .hi = VMM_KMMIO_END };
		va_t va;
		int e = vmm_alloc(vmm_kernel_space(), &q, &va);
		if (e) {
			kprintf("APIC: cannot map the xAPIC page at 0x%lx: %s\n", pa, vmm_error_str(e));
			return -1;
		}
		mmio = (volatile uint32_t *)va;
	}
	enable(true);
	return 0;
}

void apic_init_ap(void) { enable(false); }

void apic_timer_oneshot(uint32_t ticks, uint8_t vector)
{
	apic_write(REG_TIMER_DIV, TIMER_DIV_16);
	apic_write(REG_LVT_TIMER, vector);
	apic_write(REG_TIMER_INIT, ticks);
}

void apic_timer_stop(void)
{
	apic_write(REG_LVT_TIMER, LVT_MASKED);
	apic_write(REG_TIMER_INIT, 0);
}

uint32_t apic_timer_current(void) { return apic_read(REG_TIMER_CUR); }

/*
 * Let the timer count down from its largest value, masked, across 10 ms of
 * TSC (itself calibrated against the PIT or CPUID): what it counted is the
 * rate. A delay between starting it and reading the TSC only adds counts,
 * so the smallest of three is the least disturbed.
 */
uint64_t apic_timer_calibrate(void)
{
	uint64_t best = 0, window = tsc_khz() * 10;
	for (int i = 0; i < 3; i++) {
		apic_write(REG_TIMER_DIV, TIMER_DIV_16);
		apic_write(REG_LVT_TIMER, LVT_MASKED);
		apic_write(REG_TIMER_INIT, 0xffffffff);
		uint64_t t0 = arch_rdtsc();
		while (arch_rdtsc() - t0 < window)
			;
		uint32_t left = apic_read(REG_TIMER_CUR);
		uint64_t per_ms = (0xffffffffULL - left) / 10;
		if (!best || per_ms < best)
			best = per_ms;
	}
	apic_timer_stop();
	return best;
}
