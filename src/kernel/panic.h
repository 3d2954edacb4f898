/* panic.h - stop the kernel with a reason; and how the kernel ends QEMU. */
#ifndef STRATA_KERNEL_PANIC_H
#define STRATA_KERNEL_PANIC_H

#include <stdint.h>

#define panic(...) panic_at(__FILE__, __LINE__, __VA_ARGS__)
void panic_at(const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 3, 4)));

/* isa-debug-exit values (see README, "The serial protocol"). */
#define EXIT_PASS 0x10
#define EXIT_FAIL 0x11
void kernel_exit(uint32_t code) __attribute__((noreturn));

/* Take the NMI that stops this CPU when another one panics. */
void panic_init(void);

/* Set by kmain from the command line: panics end QEMU in mode=test and bench. */
extern int panic_exits;

#endif
