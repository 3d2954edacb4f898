#include <stdarg.h>
#include "kernel/panic.h"
#include "arch/x86_64/io.h"
#include "arch/x86_64/trap.h"
#include "lib/kprintf.h"
#include "mm/failure.h"

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

static void __attribute__((noreturn))
vpanic(const char *layer, const char *file, int line, const char *fmt, va_list ap)
{
	static int panicking;
	__asm__ volatile("cli");
	if (panicking++)        /* a panic while panicking: say no more */
		kernel_exit(EXIT_FAIL);
	kprintf("\nPANIC: ");
	if (layer)
		kprintf("%s: ", layer);
	kvprintf(fmt, ap);
	kprintf(" (%s:%d)\n  backtrace:\n", file, line);
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
