/*
 * lockcheck.c - the lock checker: classes, the order graph, held locks per CPU.
 *
 * The idea is lockdep's, kept small. Every lock belongs to a class (its
 * name pointer and subclass). Each CPU keeps the stack of locks it holds.
 * Taking a lock of class B while holding one of class A records the order
 * A -> B in a 64 x 64 bit matrix shared by all CPUs (after[A] bit B). An
 * order is checked only the first time it is seen: if B -> ... -> A is
 * already in the matrix, adding A -> B would close a cycle, and a cycle
 * means CPUs taking those locks in those orders can deadlock, even if they
 * never happened to. Each cycle is found when its last order is added, so
 * orders seen before cost one bit test a held lock. The inverting order is
 * reported and not recorded, so the matrix stays acyclic.
 *
 * A full class table or held stack is the checker's limit, not a bug in
 * the locking: it is said once on the console, not reported, and the
 * checker goes on with what it can track.
 *
 * The matrix and the class table only grow, under a small lock of their
 * own (graph); readers use atomics. The held stacks are per CPU and are
 * touched only with interrupts off (the spinlock calls in with them off),
 * so nothing else runs on that CPU meanwhile.
 */
#include "lib/lockcheck.h"
#include "lib/kprintf.h"
#include "mm/failure.h"

#define NO_CLASS 0xff
#define MSG_MAX  320

struct lock_class {
	const char *name;
	unsigned sub;
};

struct held {
	struct spinlock *l;
	uintptr_t at;           /* where it was taken */
	uint8_t class;          /* NO_CLASS if the table had no room for it */
	bool recursive;         /* a reported second take: its unlock releases nothing */
};

struct cpu_held {
	unsigned n;
	struct held h[LOCKCHECK_DEPTH];
};

static struct lock_class classes[LOCKCHECK_CLASSES];
static unsigned nclasses;                               /* published with release */
static uint64_t after[LOCKCHECK_CLASSES];               /* after[a] bit b: a -> b seen */
static uintptr_t first_at[LOCKCHECK_CLASSES][LOCKCHECK_CLASSES];  /* where a -> b was first seen */
static struct cpu_held cpus[ARCH_MAX_CPUS];
static int graph;                                       /* writers of the three above */
static bool said_full, said_deep;

void (*lockcheck_report)(const char *msg) = lockcheck_panic;

void lockcheck_panic(const char *msg)
{
	mm_panic_at("lock", __FILE__, __LINE__, "%s", msg);
}

void lockcheck_set(bool on)
{
	__atomic_store_n(&lockcheck_on, on, __ATOMIC_SEQ_CST);
}

static void graph_take(void)
{
	while (__atomic_exchange_n(&graph, 1, __ATOMIC_ACQUIRE))
		while (__atomic_load_n(&graph, __ATOMIC_RELAXED))
			arch_spin_relax();
}

static void graph_give(void) { __atomic_store_n(&graph, 0, __ATOMIC_RELEASE); }

/* ---- messages ---- */

/* A report line being built: only n needs a start (0), SAY writes from there on. */
struct msg {
	char s[MSG_MAX];
	size_t n;
};

#define SAY(m, ...) do { \
	if ((m)->n < MSG_MAX) \
		(m)->n += ksnprintf((m)->s + (m)->n, MSG_MAX - (m)->n, __VA_ARGS__); \
	} while (0)

/* "name", or "name"/sub for a subclass. */
static void say_lock(struct msg *m, const char *name, unsigned sub)
{
	SAY(m, "\"%s\"", name ? name : "(unnamed)");
	if (sub)
		SAY(m, "/%u", sub);
}

static void say_class(struct msg *m, unsigned k)
{
	say_lock(m, classes[k].name, classes[k].sub);
}

static void report(struct msg *m)
{
	lockcheck_report(m->s);
}

/* ---- classes ---- */

static int class_find(const char *name, unsigned sub, unsigned from, unsigned to)
{
	for (unsigned k = from; k < to; k++)
		if (classes[k].name == name && classes[k].sub == sub)
			return (int)k;
	return -1;
}

/* l's class with this subclass, made on first use; NO_CLASS once the table is full. */
static unsigned class_of(struct spinlock *l, unsigned sub)
{
	unsigned n = __atomic_load_n(&nclasses, __ATOMIC_ACQUIRE);
	unsigned hint = __atomic_load_n(&l->class, __ATOMIC_RELAXED) - 1u;
	int k;

	if (sub == 0 && hint < n && classes[hint].name == l->name && classes[hint].sub == 0)
		return hint;
	if ((k = class_find(l->name, sub, 0, n)) < 0) {
		graph_take();
		unsigned now = nclasses;
		if ((k = class_find(l->name, sub, n, now)) < 0 && now < LOCKCHECK_CLASSES) {
			classes[now] = (struct lock_class){ l->name, sub };
			__atomic_store_n(&nclasses, now + 1, __ATOMIC_RELEASE);
			k = (int)now;
		}
		graph_give();
	}
	if (k < 0) {
		if (!__atomic_exchange_n(&said_full, true, __ATOMIC_RELAXED)) {
			struct msg m;
			m.n = 0;
			SAY(&m, "lockcheck: class table full (%u classes): ", LOCKCHECK_CLASSES);
			say_lock(&m, l->name, sub);
			SAY(&m, " and later new classes are checked only for recursion and bad unlocks");
			kprintf("%s\n", m.s);
		}
		return NO_CLASS;
	}
	if (sub == 0)
		__atomic_store_n(&l->class, (uint8_t)(k + 1), __ATOMIC_RELAXED);
	return (unsigned)k;
}

/* ---- the order graph ---- */

/*
 * Whether from -> ... -> to is in the matrix: a breadth-first walk over
 * 64-bit sets, leaving in prev[x] the class each x was reached from.
 * Called under graph.
 */
static bool path(unsigned from, unsigned to, uint8_t prev[LOCKCHECK_CLASSES])
{
	uint64_t seen = 1ULL << from, frontier = seen;

	while (frontier) {
		uint64_t next = 0;
		for (uint64_t f = frontier; f; f &= f - 1) {
			unsigned x = (unsigned)__builtin_ctzll(f);
			uint64_t fresh = __atomic_load_n(&after[x], __ATOMIC_RELAXED) & ~(seen | next);
			for (uint64_t g = fresh; g; g &= g - 1)
				prev[__builtin_ctzll(g)] = (uint8_t)x;
			next |= fresh;
		}
		if (next & (1ULL << to))
			return true;
		seen |= next;
		frontier = next;
	}
	return false;
}

/*
 * The order a -> b, seen at at: recorded if new and harmless; if b -> ... -> a
 * was seen before, reported (naming each step and where it was first seen)
 * and not recorded. Returns true if it reported. m is the caller's, so that
 * a checked acquire keeps one report buffer on the stack.
 */
static bool add_order(unsigned a, unsigned b, uintptr_t at, struct msg *m)
{
	uint8_t prev[LOCKCHECK_CLASSES];

	if (__atomic_load_n(&after[a], __ATOMIC_ACQUIRE) & (1ULL << b))
		return false;
	graph_take();
	if (!(after[a] & (1ULL << b)) && !path(b, a, prev)) {
		first_at[a][b] = at;
		__atomic_or_fetch(&after[a], 1ULL << b, __ATOMIC_RELEASE);
		graph_give();
		return false;
	}
	if (after[a] & (1ULL << b)) {  /* another CPU recorded it meanwhile */
		graph_give();
		return false;
	}
	SAY(m, "lockcheck: order inversion: took ");
	say_class(m, b);
	SAY(m, " while holding ");
	say_class(m, a);
	SAY(m, " at 0x%lx; ", (unsigned long)at);
	/* Walk the path back from a: each class was taken while holding the one before it. */
	for (unsigned x = a, step = 0; x != b; x = prev[x], step++) {
		say_class(m, x);
		SAY(m, step ? " while holding " : " was taken while holding ");
		say_class(m, prev[x]);
		SAY(m, " at 0x%lx%s", (unsigned long)first_at[prev[x]][x], prev[x] != b ? ", " : "");
	}
	graph_give();
	report(m);
	return true;
}

/* ---- the held stack of this CPU ---- */

static struct cpu_held *this_cpu(void)
{
	unsigned cpu = arch_cpu_index();
	return cpu < ARCH_MAX_CPUS ? &cpus[cpu] : 0;
}

/* The top-most entry for l, or -1. */
static int held_find(const struct cpu_held *c, const struct spinlock *l)
{
	for (int i = (int)c->n - 1; i >= 0; i--)
		if (c->h[i].l == l)
			return i;
	return -1;
}

static void held_push(struct cpu_held *c, struct spinlock *l, unsigned class, uintptr_t at, bool recursive)
{
	if (c->n == LOCKCHECK_DEPTH) {
		if (!__atomic_exchange_n(&said_deep, true, __ATOMIC_RELAXED)) {
			struct msg m;
			m.n = 0;
			SAY(&m, "lockcheck: CPU %u holds more than %u locks: ", arch_cpu_index(), LOCKCHECK_DEPTH);
			say_lock(&m, l->name, 0);
			SAY(&m, " taken at 0x%lx and any more are not checked for order", (unsigned long)at);
			kprintf("%s\n", m.s);
		}
		return;
	}
	c->h[c->n++] = (struct held){ l, at, (uint8_t)class, recursive };
}

/* Drop entry i; the locks above it move down (a release need not be the last one taken). */
static void held_remove(struct cpu_held *c, int i)
{
	for (unsigned j = (unsigned)i; j + 1 < c->n; j++)
		c->h[j] = c->h[j + 1];
	c->n--;
}

/* ---- the entry points (spinlock.h), interrupts off ---- */

/*
 * Check taking l with this subclass, then count it held. Returns true if
 * this CPU holds l already: it was reported, and l must not be spun for.
 */
bool lockcheck_acquire(struct spinlock *l, unsigned subclass)
{
	uintptr_t at = (uintptr_t)__builtin_return_address(0);
	struct cpu_held *c = this_cpu();
	struct msg m;
	m.n = 0;

	if (!c)
		return false;
	if (spin_lock_held(l)) {
		int i = held_find(c, l);
		SAY(&m, "lockcheck: recursion: took ");
		say_lock(&m, l->name, subclass);
		SAY(&m, " at 0x%lx on CPU %u, which holds it", (unsigned long)at, arch_cpu_index());
		if (i >= 0)
			SAY(&m, " (taken at 0x%lx)", (unsigned long)c->h[i].at);
		report(&m);
		held_push(c, l, NO_CLASS, at, true);
		return true;
	}
	unsigned k = class_of(l, subclass);
	for (unsigned i = 0; k != NO_CLASS && i < c->n; i++) {
		const struct held *h = &c->h[i];
		if (h->class == NO_CLASS)
			continue;
		if (h->class == k) {
			SAY(&m, "lockcheck: recursion on a class: took ");
			say_class(&m, k);
			SAY(&m, " at 0x%lx while holding another lock of that class (taken at 0x%lx); "
			    "spin_lock_irqsave_nested says it is meant", (unsigned long)at, (unsigned long)h->at);
			report(&m);
			break;
		}
		if (add_order(h->class, k, at, &m))
			break;
	}
	held_push(c, l, k, at, false);
	return false;
}

/* l was taken by a trylock: held from now on, but a trylock orders nothing (it cannot deadlock). */
void lockcheck_acquired_try(struct spinlock *l)
{
	struct cpu_held *c = this_cpu();
	if (c)
		held_push(c, l, class_of(l, 0), (uintptr_t)__builtin_return_address(0), false);
}

/*
 * Check releasing l and count it released. Returns true if the lock must
 * be left as it is: the unlock of a reported recursive take, or a bad
 * unlock (releasing another CPU's lock would break its critical section).
 */
bool lockcheck_release(struct spinlock *l)
{
	uintptr_t at = (uintptr_t)__builtin_return_address(0);
	struct cpu_held *c = this_cpu();
	struct msg m;
	m.n = 0;

	if (!c)
		return false;
	int i = held_find(c, l);
	if (i >= 0 && c->h[i].recursive) {
		held_remove(c, i);
		return true;
	}
	if (i >= 0)
		held_remove(c, i);
	if (spin_lock_held(l))
		return false;   /* held and tracked, or taken before the checker was on */
	unsigned owner = __atomic_load_n(&l->owner, __ATOMIC_RELAXED);
	SAY(&m, "lockcheck: bad unlock: released ");
	say_lock(&m, l->name, 0);
	SAY(&m, " at 0x%lx on CPU %u, which does not hold it", (unsigned long)at, arch_cpu_index());
	if (owner)
		SAY(&m, " (CPU %u does)", owner - 1);
	else
		SAY(&m, " (nobody does)");
	report(&m);
	return true;
}

unsigned lockcheck_held(const struct spinlock **out, unsigned max)
{
	uint64_t irq = arch_irq_save();
	const struct cpu_held *c = this_cpu();
	unsigned n = 0;

	for (; c && n < c->n && n < max; n++)
		out[n] = c->h[n].l;
	arch_irq_restore(irq);
	return n;
}

void lockcheck_reset(void)
{
	graph_take();
	__atomic_store_n(&nclasses, 0, __ATOMIC_RELEASE);
	for (unsigned a = 0; a < LOCKCHECK_CLASSES; a++) {
		classes[a] = (struct lock_class){ 0, 0 };
		__atomic_store_n(&after[a], 0, __ATOMIC_RELAXED);
		for (unsigned b = 0; b < LOCKCHECK_CLASSES; b++)
			first_at[a][b] = 0;
	}
	for (unsigned i = 0; i < ARCH_MAX_CPUS; i++)
		cpus[i].n = 0;
	said_full = said_deep = false;
	graph_give();
}
