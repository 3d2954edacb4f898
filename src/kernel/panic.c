#include <stdarg.h>
#include "kernel/panic.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/trap.h"
#include "lib/kprintf.h"
#include "mm/failure.h"
#include "mm/arch.h"
#include "arch/x86_64/apic.h"

#define DEBUG_EXIT_PORT 0xf4

int panic_exits;

/*
 * QEMU's isa-debug-exit turns the value into exit status (v << 1) | 1; on
 * real hardware the port write does nothing and we halt.
 */
void kernel_exit(uint32_t code)
{
	outl(DEBUG_EXIT_PORT, code);
	halt_forever();
}

/*
 * One report, whichever CPUs fail: the first CPU to panic owns it. It
 * stops the others with an NMI (which no interrupt mask holds back), waits
 * a moment for each to say it stopped, takes the console from whoever
 * held it, and prints. A CPU that panics after it just stops; the owner
 * panicking again (its report faulted) ends the run at once.
 */
static int panic_owner;                 /* CPU index + 1 */
static uint64_t cpus_stopped;

static void __attribute__((noreturn)) stop_here(void)
{
	__atomic_or_fetch(&cpus_stopped, 1ULL << arch_cpu_index(), __ATOMIC_RELEASE);
	for (;;)
		__asm__ volatile("cli; hlt");
}

/* The NMI hook: an NMI during a panic is the order to stop. */
static int panic_nmi(struct trap_frame *f)
{
	(void)f;
	if (!__atomic_load_n(&panic_owner, __ATOMIC_ACQUIRE))
		return 0;
	stop_here();
}

void panic_init(void) { trap_set_nmi_hook(panic_nmi); }

static void stop_others(void)
{
	uint64_t others = arch_cpus_online() & ~(1ULL << arch_cpu_index());
	if (!others)
		return;
	apic_send(0, APIC_DM_NMI | APIC_ALL_BUT_SELF);
	for (uint64_t i = 0; i < 100000000 && (__atomic_load_n(&cpus_stopped, __ATOMIC_ACQUIRE) & others) != others; i++)
		__builtin_ia32_pause();
}

static void __attribute__((noreturn))
vpanic(const char *layer, const char *file, int line, const char *fmt, va_list ap)
{
	int me = (int)arch_cpu_index() + 1, none = 0;
	__asm__ volatile("cli");
	if (!__atomic_compare_exchange_n(&panic_owner, &none, me, false, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
		if (none != me)
			stop_here();    /* another CPU reports */
		kernel_exit(EXIT_FAIL); /* a panic while panicking: say no more */
	}
	stop_others();
	console_take();
	kprintf("\nPANIC: ");
	if (layer)
		kprintf("%s: ", layer);
	kvprintf(fmt, ap);
	kprintf(" (%s:%d) on CPU %u\n  backtrace:\n", file, line, (unsigned)me - 1);
	backtrace_from((uint64_t)__builtin_frame_address(0));
	if (panic_exits)
		kernel_exit(EXIT_FAIL);
	halt_forever();
}

void panic_at(const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpanic(0, file, line, fmt, ap);
}

/* The memory layers' broken invariants (mm/failure.h). */
void mm_panic_at(const char *layer, const char *file, int line, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vpanic(layer, file, line, fmt, ap);
}
