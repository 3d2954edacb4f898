/*
 * acpi.c - from the RSDP to the MADT's processor entries.
 *
 * Layouts (ACPI 6.5, sections 5.2.5-5.2.12): the RSDP is "RSD PTR ", a
 * checksum over its first 20 bytes, the RSDT's 32-bit address at 16 and,
 * from revision 2, its length at 20 and the XSDT's 64-bit address at 24.
 * Every system table starts with a 36-byte header: signature, length,
 * and a checksum that makes all its bytes sum to 0. The RSDT's entries are
 * 32-bit addresses, the XSDT's 64-bit. The MADT has 8 more bytes (local
 * APIC address, flags), then entries of (type, length): type 0 is a local
 * APIC (flags at 4), type 9 a local x2APIC (id at 4, flags at 8); flag bit
 * 0 is enabled, bit 1 online-capable.
 */
#include "boot/acpi.h"
#include "lib/kstring.h"

#define SDT_HEADER 36
#define MADT_FIXED 44
#define MADT_LAPIC 0
#define MADT_X2APIC 9
#define CPU_ENABLED 1u
#define CPU_ONLINE_CAPABLE 2u

static uint32_t rd32(const uint8_t *p) { uint32_t v; memcpy(&v, p, 4); return v; }
static uint64_t rd64(const uint8_t *p) { uint64_t v; memcpy(&v, p, 8); return v; }

static int sums_to_zero(const uint8_t *p, size_t n)
{
	uint8_t s = 0;
	while (n--)
		s += *p++;
	return s == 0;
}

/* The table at pa if its signature is sig (or sig is NULL) and it is whole; else NULL. */
static const uint8_t *map_table(uint64_t pa, const char *sig, acpi_map_fn map, uint32_t *len)
{
	const uint8_t *h = pa ? map(pa, SDT_HEADER) : NULL;
	if (!h || (sig && memcmp(h, sig, 4)))
		return NULL;
	*len = rd32(h + 4);
	if (*len < SDT_HEADER)
		return NULL;
	const uint8_t *t = map(pa, *len);
	return t && sums_to_zero(t, *len) ? t : NULL;
}

/* The MADT, searched for in the XSDT (entries of 8 bytes) or the RSDT (of 4). */
static int find_madt(const uint8_t *rsdp, size_t len, acpi_map_fn map,
		     const uint8_t **madt, uint32_t *mlen)
{
	if (len < 20 || memcmp(rsdp, "RSD PTR ", 8) || !sums_to_zero(rsdp, 20))
		return ACPI_E_NO_RSDP;
	int x = rsdp[15] >= 2 && len >= 36 && rd32(rsdp + 20) >= 36 &&
		sums_to_zero(rsdp, 36) && rd64(rsdp + 24);
	uint64_t root_pa = x ? rd64(rsdp + 24) : rd32(rsdp + 16);
	uint32_t rlen, esize = x ? 8 : 4;
	const uint8_t *root = map_table(root_pa, x ? "XSDT" : "RSDT", map, &rlen);
	if (!root)
		return ACPI_E_BAD_TABLE;
	for (uint32_t off = SDT_HEADER; rlen - off >= esize; off += esize) {
		uint64_t pa = x ? rd64(root + off) : rd32(root + off);
		const uint8_t *h = pa ? map(pa, SDT_HEADER) : NULL;
		if (h && !memcmp(h, "APIC", 4)) {
			*madt = map_table(pa, "APIC", map, mlen);
			return *madt && *mlen >= MADT_FIXED ? ACPI_OK : ACPI_E_BAD_TABLE;
		}
	}
	return ACPI_E_NO_MADT;
}

static void add_cpu(struct acpi_cpus *out, uint32_t apic_id, uint32_t flags)
{
	if (!(flags & (CPU_ENABLED | CPU_ONLINE_CAPABLE))) {
		out->disabled++;
		return;
	}
	if (out->present < ACPI_MAX_CPUS)
		out->apic_id[out->present] = apic_id;
	out->present++;
}

int acpi_find_cpus(const uint8_t *rsdp, size_t len, acpi_map_fn map, struct acpi_cpus *out)
{
	const uint8_t *m;
	uint32_t mlen;
	memset(out, 0, sizeof(*out));
	int e = find_madt(rsdp, len, map, &m, &mlen);
	if (e)
		return e;
	out->lapic_base = rd32(m + SDT_HEADER);
	for (uint32_t off = MADT_FIXED; off < mlen; ) {
		if (mlen - off < 2 || m[off + 1] < 2 || m[off + 1] > mlen - off)
			return ACPI_E_BAD_ENTRY;
		const uint8_t *ent = m + off;
		if (ent[0] == MADT_LAPIC && ent[1] >= 8)
			add_cpu(out, ent[3], rd32(ent + 4));
		else if (ent[0] == MADT_X2APIC && ent[1] >= 16)
			add_cpu(out, rd32(ent + 4), rd32(ent + 8));
		off += ent[1];
	}
	return ACPI_OK;
}

const char *acpi_error_str(int e)
{
	switch (e) {
	case ACPI_OK: return "ok";
	case ACPI_E_NO_RSDP: return "no valid RSDP (bad signature or checksum)";
	case ACPI_E_BAD_TABLE: return "RSDT/XSDT or MADT with a bad signature, length or checksum";
	case ACPI_E_NO_MADT: return "no MADT (\"APIC\" table)";
	case ACPI_E_BAD_ENTRY: return "a MADT entry runs past the table";
	}
	return "unknown error";
}
