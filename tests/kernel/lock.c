/*
 * lock.c - the lock checker in the kernel: two test locks taken in both
 * orders are the deadlock-prone pair lockdep exists for, and must be
 * reported by name; a second take of a held lock must be reported and not
 * hang. The report hook is captured for the test and given back after;
 * the checker is on for the test even if lockcheck=0 turned it off.
 */
#include "kernel/ktest.h"
#include "lib/lockcheck.h"
#include "lib/kstring.h"

static char got[320];
static unsigned reports;

static void capture(const char *msg)
{
	if (!reports++) {
		size_t n = strlen(msg) < sizeof(got) - 1 ? strlen(msg) : sizeof(got) - 1;
		memcpy(got, msg, n);
		got[n] = '\0';
	}
}

static bool contains(const char *s, const char *part)
{
	for (size_t n = strlen(part); *s; s++)
		if (!strncmp(s, part, n))
			return true;
	return false;
}

static void (*saved_hook)(const char *);
static bool saved_on;

static void capture_begin(void)
{
	saved_hook = lockcheck_report, saved_on = lockcheck_on;
	reports = 0, got[0] = '\0';
	lockcheck_report = capture;
	lockcheck_set(true);
}

static void capture_end(void)
{
	lockcheck_set(saved_on);
	lockcheck_report = saved_hook;
	if (reports)
		kprintf("    # captured: %s\n", got);
}

/* Both names are this test's own, so no lock of the kernel shares their classes. */
static struct spinlock first = SPINLOCK_INIT("ktest lock first");
static struct spinlock second = SPINLOCK_INIT("ktest lock second");

KTEST(lock, inversion_reported)
{
	uint64_t f1, f2;

	capture_begin();
	f1 = spin_lock_irqsave(&first), f2 = spin_lock_irqsave(&second);
	spin_unlock_irqrestore(&second, f2);
	spin_unlock_irqrestore(&first, f1);
	unsigned quiet = reports;
	f1 = spin_lock_irqsave(&second), f2 = spin_lock_irqsave(&first);
	spin_unlock_irqrestore(&first, f2);
	spin_unlock_irqrestore(&second, f1);
	capture_end();
	KT_EXPECT(quiet == 0);
	KT_ASSERT(reports == 1);
	KT_EXPECT(contains(got, "lockcheck: order inversion: took \"ktest lock first\" "
			   "while holding \"ktest lock second\" at 0x"));
	KT_EXPECT(contains(got, "\"ktest lock second\" was taken while holding \"ktest lock first\" at 0x"));
	KT_EXPECT(!first.locked && !second.locked);
}

KTEST(lock, recursion_reported)
{
	uint64_t f1, f2;

	capture_begin();
	f1 = spin_lock_irqsave(&first);
	f2 = spin_lock_irqsave(&first);         /* reported, not spun for */
	spin_unlock_irqrestore(&first, f2);
	bool still = spin_lock_held(&first);
	spin_unlock_irqrestore(&first, f1);
	capture_end();
	KT_ASSERT(reports == 1);
	KT_EXPECT(contains(got, "lockcheck: recursion: took \"ktest lock first\""));
	KT_EXPECT(still);
	KT_EXPECT(!first.locked && !spin_lock_held(&first));
}

KTEST(lock, held_is_this_cpu)
{
	uint64_t f = spin_lock_irqsave(&second);
	bool held = spin_lock_held(&second);
	spin_unlock_irqrestore(&second, f);
	KT_EXPECT(held);
	KT_EXPECT(!spin_lock_held(&second));
}
