/*
 * trace.c - the memory layers' one narration switch (mm/trace.h).
 */
#include "mm/trace.h"

int mm_trace;
