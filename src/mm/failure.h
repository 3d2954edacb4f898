/*
 * failure.h - the one failure policy of src/mm, used by every layer.
 *
 * Three kinds of failure, three answers:
 *
 *   a broken invariant   the layer's own state is wrong (a corrupted free
 *                        list, an object on two lists, a freed table still
 *                        referenced). Nothing the caller does can make it
 *                        right, so MM_PANIC stops the kernel with
 *                        "PANIC: <layer>: <what>" (a host test aborts, or
 *                        returns to a test that asked to catch it).
 *   misuse by a caller   double free, wild pointer, wrong order or size.
 *                        MM_MISUSE prints "<layer>: <what>"; the function
 *                        then returns an error and the allocator is left
 *                        as it was before the call.
 *   out of memory        an ordinary event: an error value, never either
 *                        of the above.
 *
 * The checks stay on in every build: a corrupted heap must stop, not limp on.
 */
#ifndef STRATA_MM_FAILURE_H
#define STRATA_MM_FAILURE_H

#include "lib/kprintf.h"

/*
 * Stop with "PANIC: <layer>: <what>". The kernel's is in src/kernel/panic.c,
 * the host tests' in tests/host/common/fake_arch.c.
 */
void mm_panic_at(const char *layer, const char *file, int line, const char *fmt, ...)
	__attribute__((noreturn, format(printf, 4, 5)));

#define MM_PANIC(layer, ...) mm_panic_at(layer, __FILE__, __LINE__, __VA_ARGS__)

/* A broken invariant unless cond holds. */
#define MM_ASSERT(layer, cond, ...) \
	do { if (__builtin_expect(!(cond), 0)) MM_PANIC(layer, __VA_ARGS__); } while (0)

/* A caller's misuse: said on the console; the caller then returns its error. */
#define MM_MISUSE(layer, fmt, ...) kprintf(layer ": " fmt "\n", ##__VA_ARGS__)

#endif
