/*
 * smp.h - the other CPUs: starting them, and giving them work.
 *
 * smp_boot() finds the CPUs in the MADT, starts each application
 * processor (INIT-SIPI-SIPI) and reports
 *   CPUS online=N present=M
 * An AP that is online waits in its idle loop for work: a function given
 * to it with smp_start_on runs there in thread context (interrupts on,
 * its own stack), one at a time. The boot CPU runs everything else.
 */
#ifndef STRATA_KERNEL_SMP_H
#define STRATA_KERNEL_SMP_H

#include <stdbool.h>
#include <stdint.h>

void smp_boot(void);

/* CPUs running (the boot CPU counts); indices are 0..smp_cpus()-1. */
unsigned smp_cpus(void);

typedef void (*smp_fn)(void *arg);

/*
 * Start fn(arg) on AP cpu and return at once. Returns -1 if cpu is not an
 * online AP or is still busy with earlier work.
 */
int smp_start_on(unsigned cpu, smp_fn fn, void *arg);
/* Wait until the work last started on cpu has returned. */
void smp_wait(unsigned cpu);
/* fn(arg) on every online CPU at once, this one included; returns when all have. */
void smp_run_all(smp_fn fn, void *arg);

/* The local APIC timer's rate, measured against the TSC at boot (0 if none). */
uint64_t smp_apic_timer_khz(void);

#endif
