/*
 * trace.c - the memory layers' narration switch (mm/trace.h), here
 * because the buddy is the one layer every build of the others links.
 */
#include "mm/trace.h"

int mm_trace;
