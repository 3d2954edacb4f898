/*
 * model.c - the reference the region tree is held to: a sorted array,
 * searched linearly, implementing the documented first-fit policy.
 */
#include <string.h>
#include "vmm_test.h"

void model_init(struct model *m, uintptr_t lo, uintptr_t hi)
{
	m->n = 0, m->lo = lo, m->hi = hi;
}

bool model_overlaps(const struct model *m, uintptr_t va, size_t len)
{
	for (size_t i = 0; i < m->n; i++)
		if (m->r[i].base < va + len && va < m->r[i].base + m->r[i].len)
			return true;
	return false;
}

/* Every hole in order, clipped to [lo, hi); the first of len + align - page bytes wins. */
bool model_first_fit(const struct model *m, uintptr_t lo, uintptr_t hi, size_t len, size_t align, uintptr_t *va)
{
	size_t need = len + align - 4096;
	uintptr_t a = m->lo;
	for (size_t i = 0; i <= m->n; i++) {
		uintptr_t b = i < m->n ? m->r[i].base : m->hi;
		uintptr_t ca = a < lo ? lo : a, cb = b > hi ? hi : b;
		if (cb > ca && cb - ca >= need) {
			*va = (ca + align - 1) & ~(align - 1);
			return true;
		}
		if (i < m->n)
			a = m->r[i].base + m->r[i].len;
	}
	return false;
}

void model_insert(struct model *m, uintptr_t va, size_t len, unsigned flags, enum vm_kind kind)
{
	size_t i = 0;
	while (i < m->n && m->r[i].base < va)
		i++;
	memmove(&m->r[i + 1], &m->r[i], (m->n - i) * sizeof(m->r[0]));
	m->r[i] = (struct model_region){ va, len, flags, kind };
	m->n++;
}

int model_find(const struct model *m, uintptr_t va)
{
	for (size_t i = 0; i < m->n; i++)
		if (va >= m->r[i].base && va < m->r[i].base + m->r[i].len)
			return (int)i;
	return -1;
}

void model_cut(struct model *m, int i, uintptr_t va, size_t len, bool keep, unsigned flags)
{
	struct model_region old = m->r[i];
	memmove(&m->r[i], &m->r[i + 1], (m->n - i - 1) * sizeof(m->r[0]));
	m->n--;
	if (va > old.base)
		model_insert(m, old.base, va - old.base, old.flags, old.kind);
	if (keep)
		model_insert(m, va, len, flags, old.kind);
	if (va + len < old.base + old.len)
		model_insert(m, va + len, old.base + old.len - (va + len), old.flags, old.kind);
}
