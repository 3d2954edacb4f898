/*
 * tsc.c - TSC calibration.
 *
 * CPUID leaf 0x15 gives the TSC/crystal ratio and, on newer CPUs, the
 * crystal's frequency: then no measurement is needed. Otherwise count TSC
 * ticks across a known PIT interval: channel 2 in mode 0 counts down from
 * N at 1.193182 MHz and raises its output (port 0x61 bit 5) at zero.
 */
#include "kernel/tsc.h"
#include "arch/x86_64/io.h"
#include "mm/arch.h"

#define PIT_HZ 1193182UL
#define PIT_TICKS 11932            /* 10 ms */

static uint64_t khz;
static const char *source = "none";

static uint64_t from_cpuid(void)
{
	uint32_t r[4];
	arch_cpuid(0, 0, r);
	if (r[0] < 0x15)
		return 0;
	arch_cpuid(0x15, 0, r);
	if (!r[0] || !r[1] || !r[2])
		return 0;
	return (uint64_t)r[2] * r[1] / r[0] / 1000;
}

static uint64_t pit_measure(void)
{
	uint8_t gate = inb(0x61);
	outb(0x61, (gate & ~0x02) | 0x01);     /* gate on, speaker off */
	outb(0x43, 0xb0);                      /* channel 2, lo/hi byte, mode 0 */
	outb(0x42, PIT_TICKS & 0xff);
	outb(0x42, PIT_TICKS >> 8);
	uint64_t t0 = arch_rdtsc();
	while (!(inb(0x61) & 0x20))
		;
	uint64_t t1 = arch_rdtsc();
	outb(0x61, gate);
	return (t1 - t0) * PIT_HZ / PIT_TICKS / 1000;
}

void tsc_calibrate(void)
{
	khz = from_cpuid();
	if (khz) {
		source = "CPUID 0x15";
		return;
	}
	uint64_t best = 0;
	for (int i = 0; i < 3; i++) {      /* the smallest is least disturbed */
		uint64_t k = pit_measure();
		if (!best || k < best)
			best = k;
	}
	khz = best ? best : 1000000;
	source = "PIT";
}

uint64_t tsc_khz(void) { return khz; }
const char *tsc_source(void) { return source; }
