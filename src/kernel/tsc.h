/* tsc.h - the time-stamp counter's frequency, measured once at boot. */
#ifndef STRATA_KERNEL_TSC_H
#define STRATA_KERNEL_TSC_H

#include <stdint.h>

void tsc_calibrate(void);
uint64_t tsc_khz(void);
const char *tsc_source(void);   /* "CPUID 0x15" or "PIT" */

#endif
