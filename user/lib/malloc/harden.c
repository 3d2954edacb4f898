/*
 * harden.c - the per-process secret, and the one-line report of misuse.
 *
 * Free blocks link to each other through encoded words (sm_encode): the
 * next block's address xor the secret xor the link's own address. A
 * use-after-free write cannot aim a link at an address of its choosing
 * without the secret, and a link copied from one block to another decodes
 * to garbage there.
 */
#include "sm_internal.h"

uintptr_t sm_secret;
unsigned sm_options = SM_OPT_UNINIT;    /* the fast paths test one word: uninitialized or debugging */
static sm_misuse_fn misuse_hook;
static int initialized;

void sm_set_misuse_hook(sm_misuse_fn fn) { misuse_hook = fn; }
void sm_set_options(unsigned opts) { sm_options = opts | (sm_options & SM_OPT_UNINIT); }

/* Once, from the first allocation (under os_lock in heap creation, or alone). */
void sm_init_once(void)
{
	if (__atomic_load_n(&initialized, __ATOMIC_ACQUIRE))
		return;
	bool first = false;
	os_lock();
	if (!initialized) {
		uintptr_t s = 0;
		while (!s)
			s = (uintptr_t)os_random();
		sm_secret = s;
		sm_options = (sm_options | os_env_options()) & ~SM_OPT_UNINIT;
		__atomic_store_n(&initialized, 1, __ATOMIC_RELEASE);
		first = true;
	}
	os_unlock();
	if (first)              /* once, and outside the lock: it may allocate (and so come back here) */
		os_init();
}


static size_t put_hex(char *b, uintptr_t v)
{
	size_t n = 0;
	char tmp[16];
	do {
		tmp[n++] = "0123456789abcdef"[v & 15];
		v >>= 4;
	} while (v);
	for (size_t i = 0; i < n; i++)
		b[i] = tmp[n - 1 - i];
	return n;
}

void sm_misuse(const char *what, const void *p)
{
	char line[160];
	size_t n = 0;
	const char *head = "strata_malloc: ";
	while (*head)
		line[n++] = *head++;
	while (*what && n < 120)
		line[n++] = *what++;
	line[n++] = ' ', line[n++] = '0', line[n++] = 'x';
	n += put_hex(line + n, (uintptr_t)p);
	line[n] = 0;
	if (misuse_hook) {
		misuse_hook(line);
		return;
	}
	line[n++] = '\n';
	os_write_err(line, n);
	os_abort();
}
