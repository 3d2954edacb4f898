/*
 * lockcheck.h - a small lock checker in the spirit of Linux's lockdep.
 *
 * Switched on (lockcheck_set), it watches every spinlock acquire and
 * release and reports, before the lock is spun for:
 *
 *   recursion        taking a lock this CPU already holds (it would hang),
 *                    or a second lock of a class this CPU holds without a
 *                    spin_lock_irqsave_nested() subclass saying it is meant;
 *   order inversion  taking B while holding A when B -> ... -> A was seen
 *                    before (directly or through other classes): two CPUs
 *                    taking them in the two orders can deadlock;
 *   bad unlock       releasing a lock this CPU does not hold.
 *
 * A class is a lock's name pointer and subclass: every lock made with the
 * same name string is one class, as lockdep keys classes by their static
 * key. Up to LOCKCHECK_CLASSES classes; once the table is full that is
 * said once on the console (the checker's limit, not a locking bug), and
 * locks of classes not in it are checked only for recursion and bad
 * unlocks. Each report is one line, passed to the hook lockcheck_report
 * (by default a panic, layer "lock").
 *
 * Turn the checker on or off only while no CPU holds a lock it will
 * release with the other setting (at boot, or in a test between its locks).
 */
#ifndef STRATA_LIB_LOCKCHECK_H
#define STRATA_LIB_LOCKCHECK_H

#include "lib/spinlock.h"

#define LOCKCHECK_CLASSES 64
#define LOCKCHECK_DEPTH   16    /* locks one CPU holds that the checker tracks */

void lockcheck_set(bool on);

/*
 * Where reports go. The hook may return: the lock is then taken as if all
 * were well (a recursive take is not spun for, and its unlock does nothing).
 */
extern void (*lockcheck_report)(const char *msg);
void lockcheck_panic(const char *msg);  /* the default hook */

/* The locks the running CPU holds, oldest first, up to max of them; returns how many. */
unsigned lockcheck_held(const struct spinlock **out, unsigned max);

/* Forget every class and order seen (tests; no CPU may hold a lock). */
void lockcheck_reset(void);

#endif
