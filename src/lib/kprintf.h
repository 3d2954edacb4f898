/*
 * kprintf.h - formatted output for every layer.
 *
 * Formats: %d %i %u %x %X %p %s %c %% with the l, ll and z length modifiers,
 * a field width, '-' and '0' flags. Output goes to the console sink: the
 * serial port in the kernel, stdout on the host.
 */
#ifndef STRATA_LIB_KPRINTF_H
#define STRATA_LIB_KPRINTF_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void kprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
void kvprintf(const char *fmt, va_list ap);
int ksnprintf(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* Bytes in the largest unit that holds them exactly: "3 GiB", "639 KiB", "2120.8 KiB". */
void fmt_size(char *buf, size_t n, uint64_t bytes);

/* Where kprintf's characters go: set at start-up (the monitor, shell.c, swaps it for a moment to keep only a report's tagged line). */
void console_set_sink(void (*putc)(char c));
/* The console for this CPU from now on, whoever held it: the panic path. */
void console_take(void);

#endif
