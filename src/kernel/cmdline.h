/*
 * cmdline.h - key=value options from the Multiboot2 command line.
 * Example: "mode=test ktest=buddy slab.debug=1".
 *
 * Options are words separated by spaces, each "key=value". There are no
 * bare flags: a word without '=' (or with nothing before it) is not an
 * option; cmdline_check() reports it and the getters never see it. When a
 * key appears twice, the first one counts.
 */
#ifndef STRATA_KERNEL_CMDLINE_H
#define STRATA_KERNEL_CMDLINE_H

#include <stddef.h>

void cmdline_init(const char *cmdline);
/* Copies the value of key into buf (cut to size - 1 bytes); returns 1 if present. */
int cmdline_get(const char *key, char *buf, size_t size);
/* The value as a decimal number, or def if absent, not a number or too big for a long. */
long cmdline_int(const char *key, long def);
/* Whether key is present with exactly the value s. */
int cmdline_is(const char *key, const char *s);
/*
 * Each word that is not key=value is passed to report as one message
 * ("cmdline: 'word' is not key=value: ignored"). Returns how many.
 */
unsigned cmdline_check(void (*report)(const char *msg));

#endif
