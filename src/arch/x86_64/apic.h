/*
 * apic.h - the local APIC: each CPU's interrupt controller, its timer, and
 * the way CPUs interrupt one another (IPIs).
 *
 * x2APIC (registers as MSRs 0x800+, 32-bit IDs) where CPUID.1:ECX[21]
 * says so, xAPIC (a 4 KiB MMIO page, mapped uncached) otherwise. Intel
 * SDM vol. 3, chapter 11.
 */
#ifndef STRATA_ARCH_APIC_H
#define STRATA_ARCH_APIC_H

#include <stdbool.h>
#include <stdint.h>

/* ICR delivery modes and shorthands */
#define APIC_DM_FIXED   0x000
#define APIC_DM_NMI     0x400
#define APIC_DM_INIT    0x500
#define APIC_DM_STARTUP 0x600
#define APIC_LEVEL_ASSERT (1u << 14)
#define APIC_ALL_BUT_SELF (3u << 18)

/* The BSP: choose the mode, map the xAPIC page, enable. 0, or -1 if the CPU has no APIC. */
int apic_init_bsp(void);
/* An AP: the mode the BSP chose, then enable (LINT0 masked: the PIC is the BSP's). */
void apic_init_ap(void);
bool apic_x2(void);

uint32_t apic_id(void);
void apic_eoi(void);
/* Send an IPI to the CPU with APIC ID dest (ignored with a shorthand); returns once it is sent. */
void apic_send(uint32_t dest, uint32_t icr_low);

/*
 * The timer: calibrate against the TSC once (BSP), then one-shot counts
 * in the timer's ticks (divide by 16) on any CPU.
 */
uint64_t apic_timer_calibrate(void);     /* ticks per millisecond, 0 if it did not count */
void apic_timer_oneshot(uint32_t ticks, uint8_t vector);
void apic_timer_stop(void);
uint32_t apic_timer_current(void);

#endif
