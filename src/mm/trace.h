/*
 * trace.h - the memory layers' one narration switch.
 *
 * When mm_trace is non-zero, each layer prints a line for what it does on
 * the paths worth showing (the heap growing, the VMM creating a region,
 * the buddy handing out a frame, paging filling a PTE), so one allocation
 * can be followed down the stack with real addresses: mode=run's alloc(5)
 * path, or slab.trace=1. The switch is here, in src/mm itself, so every
 * layer reads the same one and none owns it.
 *
 * MM_TRACE("vmm", "region %lx-%lx created", lo, hi) prints
 *   "  vmm:    region ... created"
 * with the layer's name in a column, so the layers' lines read as one
 * indented story under the caller's heading.
 */
#ifndef STRATA_MM_TRACE_H
#define STRATA_MM_TRACE_H

#include "lib/kprintf.h"

extern int mm_trace;

#define MM_TRACE(layer, fmt, ...) \
	do { \
		if (mm_trace) \
			kprintf("  %-8s" fmt "\n", layer ":", ##__VA_ARGS__); \
	} while (0)

#endif
