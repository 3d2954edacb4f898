/*
 * spinlock.h - a test-and-test-and-set lock taken with interrupts off.
 *
 * Interrupts go off first so an interrupt handler on the same CPU can never
 * spin on a lock its own CPU holds.
 *
 * The lock knows which CPU holds it (owner), for spin_lock_held() and for
 * the reports of the lock checker (lib/lockcheck.h): when lockcheck_on is
 * set, every acquire and release also goes through lockcheck.c, which
 * reports recursion, lock-order inversions and bad unlocks. When it is off
 * the checker costs one load and one branch that is never taken.
 */
#ifndef STRATA_LIB_SPINLOCK_H
#define STRATA_LIB_SPINLOCK_H

#include <stdbool.h>
#include <stdint.h>
#include "mm/arch.h"

struct spinlock {
	volatile int locked;
	uint16_t owner;         /* 1 + the index of the CPU holding it, 0 if none */
	uint8_t class;          /* lockcheck's class of it + 1, 0 until it looks (a hint) */
	const char *name;       /* also the lock's class: locks named by one string are alike */
};

#define SPINLOCK_INIT(n) { .locked = 0, .owner = 0, .class = 0, .name = (n) }

/*
 * The checker's entry points (lockcheck.c), called with interrupts off.
 * The weak definition lets code that links no lockcheck.c (host tests of
 * one layer, fuzzers, benches) still link: there the flag stays false and
 * the functions are never called.
 */
__attribute__((weak)) bool lockcheck_on;
bool lockcheck_acquire(struct spinlock *l, unsigned subclass) __attribute__((weak));
void lockcheck_acquired_try(struct spinlock *l) __attribute__((weak));
bool lockcheck_release(struct spinlock *l) __attribute__((weak));

static inline __attribute__((always_inline)) void spin_set_owner(struct spinlock *l, unsigned v)
{
	__atomic_store_n(&l->owner, (uint16_t)v, __ATOMIC_RELAXED);
}

/*
 * Take l. subclass tells the checker that this lock nests inside another
 * of its own class on purpose (two address spaces: the first 0, the second
 * 1); spin_lock_irqsave is subclass 0. If the checker reports that this CPU
 * already holds l and its report hook returns, l is not spun for (that
 * would hang); the matching unlock then releases nothing.
 */
static inline __attribute__((always_inline)) uint64_t spin_lock_irqsave_nested(struct spinlock *l,
									       unsigned subclass)
{
	uint64_t flags = arch_irq_save();
	if (__builtin_expect(lockcheck_on, 0) && lockcheck_acquire(l, subclass))
		return flags;
	for (;;) {
		if (!__atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE))
			break;
		while (__atomic_load_n(&l->locked, __ATOMIC_RELAXED))
			arch_spin_relax();
	}
	spin_set_owner(l, arch_cpu_index() + 1);
	return flags;
}

static inline __attribute__((always_inline)) uint64_t spin_lock_irqsave(struct spinlock *l)
{
	return spin_lock_irqsave_nested(l, 0);
}

/*
 * Take l if it is free now: true and *flags to give back to
 * spin_unlock_irqrestore, or false with interrupts as they were. A trylock
 * cannot deadlock, so the checker records no order for it, only that it
 * is held.
 */
static inline __attribute__((always_inline)) bool spin_trylock_irqsave(struct spinlock *l, uint64_t *flags)
{
	*flags = arch_irq_save();
	if (__atomic_load_n(&l->locked, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		arch_irq_restore(*flags);
		return false;
	}
	spin_set_owner(l, arch_cpu_index() + 1);
	if (__builtin_expect(lockcheck_on, 0))
		lockcheck_acquired_try(l);
	return true;
}

/*
 * A try and its release for fast paths that hold the lock for a few
 * instructions, wait for nothing and take nothing inside (the per-CPU page
 * cache): one exchange and one store, interrupts off, no call. They bypass
 * the lock checker, which has nothing to learn from them (a try never
 * waits, so it cannot close a cycle), and leave owner unset: a report made
 * meanwhile names no holder. Between them the caller may not take a lock.
 */
static inline __attribute__((always_inline)) bool spin_trylock_fast(struct spinlock *l, uint64_t *flags)
{
	*flags = arch_irq_save();
	if (__atomic_load_n(&l->locked, __ATOMIC_RELAXED) ||
	    __atomic_exchange_n(&l->locked, 1, __ATOMIC_ACQUIRE)) {
		arch_irq_restore(*flags);
		return false;
	}
	return true;
}

static inline __attribute__((always_inline)) void spin_unlock_fast(struct spinlock *l, uint64_t flags)
{
	__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	arch_irq_restore(flags);
}

static inline __attribute__((always_inline)) void spin_unlock_irqrestore(struct spinlock *l, uint64_t flags)
{
	if (!(__builtin_expect(lockcheck_on, 0) && lockcheck_release(l))) {
		spin_set_owner(l, 0);
		__atomic_store_n(&l->locked, 0, __ATOMIC_RELEASE);
	}
	arch_irq_restore(flags);
}

/* Whether the running CPU holds l (for MM_ASSERT): only this CPU writes its own index there. */
static inline bool spin_lock_held(const struct spinlock *l)
{
	return __atomic_load_n(&l->owner, __ATOMIC_RELAXED) == arch_cpu_index() + 1;
}

#endif
