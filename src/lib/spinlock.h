/*
 * spinlock.h - a test-and-test-and-set lock taken with interrupts off.
 *
 * Interrupts go off first so an interrupt handler on the same CPU can never
 * spin on a lock its own CPU holds.
 */
#ifndef STRATA_LIB_SPINLOCK_H
#define STRATA_LIB_SPINLOCK_H

#include <stdint.h>
#include "mm/arch.h"

struct spinlock {
	volatile int locked;
	const char *name;
};

#define SPINLOCK_INIT(n) { 0, (n) }

static inline uint64_t spin_lock_irqsave(struct spinlock *l)
{
	uint64_t flags = arch_irq_save();
	for (;;) {
		if (!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
			return flags;
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			arch_spin_relax();
	}
}

static inline void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	arch_irq_restore(flags);
}

#endif
