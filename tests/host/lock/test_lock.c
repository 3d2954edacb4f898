/*
 * test_lock.c - the lock checker (src/lib/lockcheck.c) through the real
 * spinlock calls: what it must report (recursion, inversions direct and
 * through other classes, bad unlocks, a full class table), what it must
 * not (orders kept by every CPU, annotated nesting, trylocks, the checker
 * off), and that its held set follows out-of-order releases. A host
 * thread is a CPU: each sets fake_cpu_index.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "fake_arch.h"
#include "lib/lockcheck.h"
#include "lib/kprintf.h"

/* ---- the report hook, captured ---- */

#define MAX_MSGS 8
static pthread_mutex_t msgs_mu = PTHREAD_MUTEX_INITIALIZER;
static char msgs[MAX_MSGS][400];
static int nmsgs;

static void capture(const char *m)
{
	pthread_mutex_lock(&msgs_mu);
	if (nmsgs < MAX_MSGS)
		snprintf(msgs[nmsgs], sizeof(msgs[0]), "%s", m);
	nmsgs++;
	pthread_mutex_unlock(&msgs_mu);
}

static void setup(void)
{
	lockcheck_reset();
	nmsgs = 0;
	lockcheck_report = capture;
	fake_cpu_index = 0;
	lockcheck_set(true);
}

static void show(void)
{
	for (int i = 0; i < nmsgs && i < MAX_MSGS; i++)
		printf("#   report %d: %s\n", i, msgs[i]);
}

/* Report i holds every one of the strings (NULL-ended). */
static int said(int i, ...)
{
	va_list ap;
	const char *s;
	int ok = i < nmsgs && i < MAX_MSGS;
	va_start(ap, i);
	while ((s = va_arg(ap, const char *)))
		if (ok && !strstr(msgs[i], s)) {
			printf("#   report %d lacks '%s'\n", i, s);
			ok = 0;
		}
	va_end(ap);
	return ok;
}

/* Every "0x..." in report i is a real address, not 0. */
static int addresses_nonzero(int i)
{
	int n = 0;
	for (const char *p = msgs[i]; (p = strstr(p, "0x")); p += 2, n++)
		if (strtoul(p, NULL, 16) == 0)
			return 0;
	return n > 0;
}

#define LOCK(l)   uint64_t irq_##l = spin_lock_irqsave(&l)
#define UNLOCK(l) spin_unlock_irqrestore(&l, irq_##l)

/* ---- reports ---- */

static void recursion_reported(void)
{
	static struct spinlock a = SPINLOCK_INIT("A");
	setup();
	uint64_t f1 = spin_lock_irqsave(&a);
	CHECK(spin_lock_held(&a));
	uint64_t f2 = spin_lock_irqsave(&a);   /* reported, and not spun for */
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "lockcheck: recursion: took \"A\"", "CPU 0, which holds it", NULL));
	CHECK(addresses_nonzero(0));
	spin_unlock_irqrestore(&a, f2);         /* the inner unlock releases nothing */
	CHECK(a.locked && spin_lock_held(&a));
	spin_unlock_irqrestore(&a, f1);
	CHECK(!a.locked && !spin_lock_held(&a));
	CHECK_EQ(nmsgs, 1);
	show();
}

static void inversion_reported(void)
{
	static struct spinlock a = SPINLOCK_INIT("A"), b = SPINLOCK_INIT("B");
	setup();
	{ LOCK(a); LOCK(b); UNLOCK(b); UNLOCK(a); }
	CHECK_EQ(nmsgs, 0);
	{ LOCK(b); LOCK(a); UNLOCK(a); UNLOCK(b); }
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "lockcheck: order inversion: took \"A\" while holding \"B\" at 0x",
		   "; \"B\" was taken while holding \"A\" at 0x", NULL));
	CHECK(addresses_nonzero(0));
	/* The inverting order was not recorded: the first order stays quiet, the second reports again. */
	{ LOCK(a); LOCK(b); UNLOCK(b); UNLOCK(a); }
	CHECK_EQ(nmsgs, 1);
	{ LOCK(b); LOCK(a); UNLOCK(a); UNLOCK(b); }
	CHECK_EQ(nmsgs, 2);
	show();
}

static void transitive_cycle_reported(void)
{
	static struct spinlock a = SPINLOCK_INIT("A"), b = SPINLOCK_INIT("B"), c = SPINLOCK_INIT("C");
	setup();
	{ LOCK(a); LOCK(b); UNLOCK(b); UNLOCK(a); }
	{ LOCK(b); LOCK(c); UNLOCK(c); UNLOCK(b); }
	CHECK_EQ(nmsgs, 0);
	{ LOCK(c); LOCK(a); UNLOCK(a); UNLOCK(c); }
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "order inversion: took \"A\" while holding \"C\"",
		   "\"C\" was taken while holding \"B\" at 0x", "\"B\" while holding \"A\" at 0x", NULL));
	CHECK(addresses_nonzero(0));
	show();
}

static void bad_unlock_reported(void)
{
	static struct spinlock a = SPINLOCK_INIT("A");
	setup();
	spin_unlock_irqrestore(&a, 0);
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "lockcheck: bad unlock: released \"A\"", "on CPU 0, which does not hold it (nobody does)", NULL));
	CHECK(!a.locked);
	show();
}

/* CPU 1 holds a lock while CPU 0 "releases" it: reported, and CPU 1 still holds it. */
static struct spinlock shared = SPINLOCK_INIT("shared");
static volatile int stage;

static void *hold_shared(void *arg)
{
	(void)arg;
	fake_cpu_index = 1;
	uint64_t f = spin_lock_irqsave(&shared);
	__atomic_store_n(&stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 2)
		arch_spin_relax();
	spin_unlock_irqrestore(&shared, f);
	return NULL;
}

static void bad_unlock_of_other_cpu(void)
{
	pthread_t t;
	setup();
	stage = 0;
	pthread_create(&t, NULL, hold_shared, NULL);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 1)
		arch_spin_relax();
	CHECK(!spin_lock_held(&shared));
	spin_unlock_irqrestore(&shared, 0);
	CHECK(shared.locked);                   /* a bad unlock releases nothing */
	__atomic_store_n(&stage, 2, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "bad unlock: released \"shared\"", "on CPU 0, which does not hold it (CPU 1 does)", NULL));
	CHECK(!shared.locked);
	show();
}

/* ---- held set, nesting, trylock ---- */

static void held_set_after_out_of_order_release(void)
{
	static struct spinlock p1 = SPINLOCK_INIT("pair"), p2 = SPINLOCK_INIT("pair");
	static struct spinlock a = SPINLOCK_INIT("A"), b = SPINLOCK_INIT("B"), c = SPINLOCK_INIT("C");
	static struct spinlock y = SPINLOCK_INIT("Y");
	const struct spinlock *h[8];
	uint64_t fy;
	setup();
	{ LOCK(a); LOCK(b); LOCK(c);
	  UNLOCK(b);                            /* from the middle */
	  CHECK_EQ(lockcheck_held(h, 8), 2);
	  CHECK(h[0] == &a && h[1] == &c);
	  UNLOCK(a);                            /* from the bottom */
	  CHECK_EQ(lockcheck_held(h, 8), 1);
	  CHECK(h[0] == &c);
	  UNLOCK(c); }
	CHECK_EQ(lockcheck_held(h, 8), 0);
	/*
	 * If p1 were still counted after its release, taking p2 (its class)
	 * would be a class recursion. Y is a trylock so that no order ties it
	 * to "pair".
	 */
	LOCK(p1);
	CHECK(spin_trylock_irqsave(&y, &fy));
	UNLOCK(p1);
	LOCK(p2);
	CHECK_EQ(lockcheck_held(h, 8), 2);
	CHECK(h[0] == &y && h[1] == &p2);
	spin_unlock_irqrestore(&y, fy);
	UNLOCK(p2);
	CHECK_EQ(lockcheck_held(h, 8), 0);
	CHECK_EQ(nmsgs, 0);
	show();
}

static void same_class_nesting(void)
{
	static struct spinlock s1 = SPINLOCK_INIT("space"), s2 = SPINLOCK_INIT("space");
	setup();
	{ LOCK(s1); LOCK(s2); UNLOCK(s2); UNLOCK(s1); }
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "lockcheck: recursion on a class: took \"space\"", "spin_lock_irqsave_nested", NULL));
	/* Annotated, it is two classes, in an order of their own. */
	uint64_t f1 = spin_lock_irqsave(&s1), f2 = spin_lock_irqsave_nested(&s2, 1);
	spin_unlock_irqrestore(&s2, f2);
	spin_unlock_irqrestore(&s1, f1);
	CHECK_EQ(nmsgs, 1);
	f1 = spin_lock_irqsave_nested(&s2, 1), f2 = spin_lock_irqsave(&s1);
	spin_unlock_irqrestore(&s1, f2);
	spin_unlock_irqrestore(&s2, f1);
	CHECK_EQ(nmsgs, 2);
	CHECK(said(1, "took \"space\" while holding \"space\"/1", "\"space\"/1 was taken while holding \"space\" at", NULL));
	show();
}

static void trylock_orders_nothing(void)
{
	static struct spinlock a = SPINLOCK_INIT("A"), b = SPINLOCK_INIT("B"), c = SPINLOCK_INIT("C");
	const struct spinlock *h[4];
	uint64_t fa, fb, fx;
	setup();
	fb = spin_lock_irqsave(&b);
	CHECK(spin_trylock_irqsave(&a, &fa));   /* B -> A is not an order: a trylock cannot wait */
	CHECK(!spin_trylock_irqsave(&a, &fx));  /* held: fails, and is no recursion */
	CHECK_EQ(lockcheck_held(h, 4), 2);
	CHECK(h[1] == &a);
	{ LOCK(c); UNLOCK(c); }                 /* but what is taken under it is ordered after it */
	spin_unlock_irqrestore(&a, fa);
	spin_unlock_irqrestore(&b, fb);
	CHECK_EQ(nmsgs, 0);
	{ LOCK(a); LOCK(b); UNLOCK(b); UNLOCK(a); }
	CHECK_EQ(nmsgs, 0);
	{ LOCK(c); LOCK(a); UNLOCK(a); UNLOCK(c); }
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "took \"A\" while holding \"C\"", NULL));
	show();
}

/* ---- the checker's limits ---- */

/* What kprintf says meanwhile, captured (shown as a TAP comment). */
static char console[512];
static size_t console_len;

static void console_capture(char c)
{
	if (console_len < sizeof(console) - 1)
		console[console_len++] = c;
}

static void console_stdout(char c) { putchar(c); }

static void console_begin(void)
{
	console_len = 0;
	console_set_sink(console_capture);
}

static void console_end(void)
{
	console[console_len] = '\0';
	console_set_sink(console_stdout);
	printf("#   console: %s", console);
}

/* Take x, then y under it. */
static void pair(struct spinlock *x, struct spinlock *y)
{
	uint64_t fx = spin_lock_irqsave(x), fy = spin_lock_irqsave(y);
	spin_unlock_irqrestore(y, fy);
	spin_unlock_irqrestore(x, fx);
}

static void class_table_full(void)
{
	enum { N = LOCKCHECK_CLASSES + 3 };
	static char names[N][16];
	static struct spinlock l[N];
	setup();
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "L%d", i);
		l[i] = (struct spinlock)SPINLOCK_INIT(names[i]);
	}
	for (int i = 0; i < LOCKCHECK_CLASSES; i++) {
		uint64_t f = spin_lock_irqsave(&l[i]);
		spin_unlock_irqrestore(&l[i], f);
	}
	CHECK_EQ(nmsgs, 0);
	console_begin();
	for (int i = LOCKCHECK_CLASSES; i < N; i++) {
		uint64_t f = spin_lock_irqsave(&l[i]);
		spin_unlock_irqrestore(&l[i], f);
	}
	console_end();
	/* The checker's limit, not a locking bug: said once on the console, not reported. */
	CHECK_EQ(nmsgs, 0);
	CHECK(!strcmp(console, "lockcheck: class table full (64 classes): \"L64\" and later new classes "
		      "are checked only for recursion and bad unlocks\n"));
	/* Known classes are still checked... */
	pair(&l[0], &l[1]);
	pair(&l[1], &l[0]);
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "took \"L0\" while holding \"L1\"", NULL));
	/* ...classless locks only for recursion and unlocks, and never for order. */
	pair(&l[64], &l[0]);
	pair(&l[0], &l[64]);
	CHECK_EQ(nmsgs, 1);
	uint64_t f1 = spin_lock_irqsave(&l[65]), f2 = spin_lock_irqsave(&l[65]);
	spin_unlock_irqrestore(&l[65], f2);
	spin_unlock_irqrestore(&l[65], f1);
	CHECK_EQ(nmsgs, 2);
	CHECK(said(1, "recursion: took \"L65\"", NULL));
	CHECK(!l[65].locked);
	show();
}

/* Past LOCKCHECK_DEPTH held locks: said once; the rest are not tracked, but release cleanly. */
static void too_many_held(void)
{
	enum { N = LOCKCHECK_DEPTH + 2 };
	static char names[N][16];
	static struct spinlock l[N];
	const struct spinlock *h[N];
	uint64_t f[N];
	setup();
	for (int i = 0; i < N; i++) {
		snprintf(names[i], sizeof(names[i]), "D%d", i);
		l[i] = (struct spinlock)SPINLOCK_INIT(names[i]);
	}
	console_begin();
	for (int i = 0; i < N; i++)
		f[i] = spin_lock_irqsave(&l[i]);
	console_end();
	CHECK(strstr(console, "lockcheck: CPU 0 holds more than 16 locks: \"D16\" taken at 0x"));
	CHECK(!strstr(console, "D17"));
	CHECK_EQ(lockcheck_held(h, N), LOCKCHECK_DEPTH);
	for (int i = 0; i < N; i++)
		spin_unlock_irqrestore(&l[i], f[i]);
	CHECK_EQ(lockcheck_held(h, N), 0);
	CHECK_EQ(nmsgs, 0);
	for (int i = 0; i < N; i++)
		CHECK(!l[i].locked);
	show();
}

/* ---- off ---- */

static void off_reports_nothing(void)
{
	static struct spinlock a = SPINLOCK_INIT("A"), b = SPINLOCK_INIT("B");
	const struct spinlock *h[4];
	setup();
	lockcheck_set(false);
	{ LOCK(a); LOCK(b); CHECK_EQ(lockcheck_held(h, 4), 0); UNLOCK(b); UNLOCK(a); }
	{ LOCK(b); LOCK(a); UNLOCK(a); UNLOCK(b); }
	spin_unlock_irqrestore(&a, 0);
	CHECK_EQ(nmsgs, 0);
	CHECK(!a.locked && !b.locked);
	lockcheck_set(true);                    /* nothing was recorded while off */
	{ LOCK(b); LOCK(a); UNLOCK(a); UNLOCK(b); }
	CHECK_EQ(nmsgs, 0);
	/* A lock taken while off and released while on is no bad unlock. */
	lockcheck_set(false);
	LOCK(a);
	lockcheck_set(true);
	UNLOCK(a);
	CHECK_EQ(nmsgs, 0);
	show();
}

/* ---- several CPUs ---- */

static struct spinlock ma = SPINLOCK_INIT("MA"), mb = SPINLOCK_INIT("MB");

static void *a_then_b(void *arg)
{
	fake_cpu_index = (unsigned)(uintptr_t)arg;
	LOCK(ma); LOCK(mb); UNLOCK(mb); UNLOCK(ma);
	return NULL;
}

static void *b_then_a(void *arg)
{
	fake_cpu_index = (unsigned)(uintptr_t)arg;
	LOCK(mb); LOCK(ma); UNLOCK(ma); UNLOCK(mb);
	return NULL;
}

static void *hold_ma(void *arg)
{
	(void)arg;
	fake_cpu_index = 1;
	LOCK(ma);
	__atomic_store_n(&stage, 1, __ATOMIC_RELEASE);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 2)
		arch_spin_relax();
	UNLOCK(ma);
	return NULL;
}

static void *take_mb(void *arg)
{
	(void)arg;
	fake_cpu_index = 2;
	LOCK(mb); UNLOCK(mb);
	return NULL;
}

static void run_on(void *(*fn)(void *), unsigned cpu)
{
	pthread_t t;
	pthread_create(&t, NULL, fn, (void *)(uintptr_t)cpu);
	pthread_join(t, NULL);
}

static void orders_are_global_held_sets_per_cpu(void)
{
	pthread_t t;
	setup();
	/* One CPU holds MA while another takes MB: no order between them. */
	stage = 0;
	pthread_create(&t, NULL, hold_ma, NULL);
	while (__atomic_load_n(&stage, __ATOMIC_ACQUIRE) != 1)
		arch_spin_relax();
	run_on(take_mb, 2);
	__atomic_store_n(&stage, 2, __ATOMIC_RELEASE);
	pthread_join(t, NULL);
	run_on(b_then_a, 3);
	CHECK_EQ(nmsgs, 0);
	/* MB -> MA seen on CPU 3; MA -> MB on CPU 4 is the deadlock-prone pair. */
	run_on(a_then_b, 4);
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "took \"MB\" while holding \"MA\"", "\"MA\" was taken while holding \"MB\" at 0x", NULL));
	show();
}

/*
 * Locks with a fixed rank, taken in rank order by several CPUs at once and
 * released in any order: never a report. Then one inversion on this CPU
 * is reported, so the orders were seen.
 */
#define RANKS 12
#define CPUS 4
#define ROUNDS 20000
static struct spinlock ranked[RANKS];
static char rank_names[RANKS][16];
static uint64_t in_lock[RANKS];         /* guarded by ranked[i] */
static int broken;

static void *ranked_worker(void *arg)
{
	uint64_t seed = (uintptr_t)arg * 0x9e3779b97f4a7c15ULL | 1, flags[RANKS];
	unsigned order[RANKS];
	fake_cpu_index = (unsigned)(uintptr_t)arg;
	for (int r = 0; r < ROUNDS; r++) {
		unsigned mask = (unsigned)rnd_next(&seed) & ((1u << RANKS) - 1), n = 0;
		for (unsigned i = 0; i < RANKS; i++)
			if (mask & (1u << i)) {
				flags[i] = spin_lock_irqsave(&ranked[i]);
				if (in_lock[i]++)
					__atomic_store_n(&broken, 1, __ATOMIC_RELAXED);
				order[n++] = i;
			}
		for (unsigned i = n; i > 1; i--) {      /* release in a random order */
			unsigned j = (unsigned)(rnd_next(&seed) % i), t = order[i - 1];
			order[i - 1] = order[j], order[j] = t;
		}
		for (unsigned i = 0; i < n; i++) {
			in_lock[order[i]]--;
			spin_unlock_irqrestore(&ranked[order[i]], flags[order[i]]);
		}
		const struct spinlock *h[1];
		if (lockcheck_held(h, 1))
			__atomic_store_n(&broken, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static void consistent_orders_never_reported(void)
{
	pthread_t t[CPUS];
	setup();
	for (int i = 0; i < RANKS; i++) {
		snprintf(rank_names[i], sizeof(rank_names[i]), "R%d", i);
		ranked[i] = (struct spinlock)SPINLOCK_INIT(rank_names[i]);
	}
	for (uintptr_t i = 0; i < CPUS; i++)
		pthread_create(&t[i], NULL, ranked_worker, (void *)(i + 1));
	for (int i = 0; i < CPUS; i++)
		pthread_join(t[i], NULL);
	CHECK_EQ(nmsgs, 0);
	CHECK(!broken);
	uint64_t f1 = spin_lock_irqsave(&ranked[RANKS - 1]), f2 = spin_lock_irqsave(&ranked[0]);
	spin_unlock_irqrestore(&ranked[0], f2);
	spin_unlock_irqrestore(&ranked[RANKS - 1], f1);
	CHECK_EQ(nmsgs, 1);
	CHECK(said(0, "took \"R0\" while holding \"R11\"", NULL));
	show();
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	RUN(recursion_reported);
	RUN(inversion_reported);
	RUN(transitive_cycle_reported);
	RUN(bad_unlock_reported);
	RUN(bad_unlock_of_other_cpu);
	RUN(held_set_after_out_of_order_release);
	RUN(same_class_nesting);
	RUN(trylock_orders_nothing);
	RUN(class_table_full);
	RUN(too_many_held);
	RUN(off_reports_nothing);
	RUN(orders_are_global_held_sets_per_cpu);
	RUN(consistent_orders_never_reported);
	lockcheck_set(false);
	return check_finish();
}
