/*
 * cmdline.h - key=value options from the Multiboot2 command line.
 * Example: "mode=test ktest=buddy slab.debug=1".
 */
#ifndef STRATA_KERNEL_CMDLINE_H
#define STRATA_KERNEL_CMDLINE_H

#include <stddef.h>

void cmdline_init(const char *cmdline);
/* Copies the value of key into buf; returns 1 if present (a bare "key" has value "1"). */
int cmdline_get(const char *key, char *buf, size_t size);
/* The value as a number, or def if absent or not a number. */
long cmdline_int(const char *key, long def);
/* Whether the value of key equals s. */
int cmdline_is(const char *key, const char *s);

#endif
