/*
 * trace.h - the memory layers' one narration switch.
 *
 * When mm_trace is non-zero, each layer prints a line for what it does on
 * the paths worth showing (the heap growing, the VMM creating a region and
 * mapping its frames), so one allocation can be followed down the stack
 * with real addresses: mode=run's alloc(5) path, or slab.trace=1. It is
 * defined in the buddy (src/mm/buddy/trace.c), the lowest layer, which
 * every build links; a layer only reads it.
 */
#ifndef STRATA_MM_TRACE_H
#define STRATA_MM_TRACE_H

extern int mm_trace;

#endif
