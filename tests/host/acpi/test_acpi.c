/*
 * test_acpi.c - the MADT reader against crafted ACPI tables.
 *
 * "Physical memory" is one heap buffer exactly as long as the tables: the
 * mapper refuses anything outside it, and AddressSanitizer catches any
 * read past what the mapper granted.
 */
#include <stdlib.h>
#include <string.h>
#include "check.h"
#include "boot/acpi.h"
#include "acpi_image.h"

#define XSDT_AT 0x000
#define RSDT_AT 0x100
#define MADT_AT 0x200
#define FACP_AT 0x400
#define MEM_LEN 0x500

static void put32(uint8_t *p, uint32_t v) { memcpy(p, &v, 4); }
static void put64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }

static void header(uint8_t *t, const char *sig, uint32_t len)
{
	memcpy(t, sig, 4);
	put32(t + 4, len);
	t[8] = 1;
	acpi_fix_sum(t, len, 9);
}

/* A MADT: two enabled local APICs, one disabled, one online-capable x2APIC. */
static uint32_t build_madt(uint8_t *t)
{
	uint32_t off = 44;
	put32(t + 36, 0xfee00000);
	const uint8_t lapics[3][3] = { { 0, 0, 1 }, { 1, 1, 1 }, { 2, 2, 0 } };
	for (int i = 0; i < 3; i++, off += 8) {
		t[off] = 0, t[off + 1] = 8, t[off + 2] = lapics[i][0], t[off + 3] = lapics[i][1];
		put32(t + off + 4, lapics[i][2]);
	}
	t[off] = 9, t[off + 1] = 16;
	put32(t + off + 4, 300);
	put32(t + off + 8, 2);
	off += 16;
	t[off] = 1, t[off + 1] = 12;    /* an I/O APIC: skipped */
	off += 12;
	header(t, "APIC", off);
	return off;
}

static uint8_t rsdp[36];

/* Tables for revision rev (0: RSDT only, 2: XSDT too), all sums right. */
static void build(int rev)
{
	free(acpi_mem);
	acpi_mem_len = MEM_LEN;
	acpi_mem = calloc(1, acpi_mem_len);
	build_madt(acpi_mem + MADT_AT);
	header(acpi_mem + FACP_AT, "FACP", 36);
	put32(acpi_mem + RSDT_AT + 36, PHYS_BASE + FACP_AT);
	put32(acpi_mem + RSDT_AT + 40, PHYS_BASE + MADT_AT);
	header(acpi_mem + RSDT_AT, "RSDT", 44);
	put64(acpi_mem + XSDT_AT + 36, PHYS_BASE + FACP_AT);
	put64(acpi_mem + XSDT_AT + 44, PHYS_BASE + MADT_AT);
	header(acpi_mem + XSDT_AT, "XSDT", 52);
	memset(rsdp, 0, sizeof(rsdp));
	memcpy(rsdp, "RSD PTR ", 8);
	rsdp[15] = (uint8_t)rev;
	put32(rsdp + 16, PHYS_BASE + RSDT_AT);
	put32(rsdp + 20, 36);
	put64(rsdp + 24, PHYS_BASE + XSDT_AT);
	acpi_fix_sum(rsdp, 20, 8);
	acpi_fix_sum(rsdp, 36, 32);
}

static void expect_four_listed(int rev)
{
	struct acpi_cpus c;
	build(rev);
	CHECK_EQ(acpi_find_cpus(rsdp, rev ? 36 : 20, acpi_image_map, &c), ACPI_OK);
	CHECK_EQ(c.present, 3);
	CHECK_EQ(c.disabled, 1);
	CHECK_EQ(c.apic_id[0], 0);
	CHECK_EQ(c.apic_id[1], 1);
	CHECK_EQ(c.apic_id[2], 300);
	CHECK_EQ(c.lapic_base, 0xfee00000);
}

static void rsdt_is_read(void) { expect_four_listed(0); }
static void xsdt_is_read(void) { expect_four_listed(2); }

/* With an XSDT whose MADT pointer is broken, the RSDT is not consulted behind its back. */
static void xsdt_preferred_over_rsdt(void)
{
	struct acpi_cpus c;
	build(2);
	put64(acpi_mem + XSDT_AT + 44, PHYS_BASE + FACP_AT);
	header(acpi_mem + XSDT_AT, "XSDT", 52);
	CHECK_EQ(acpi_find_cpus(rsdp, 36, acpi_image_map, &c), ACPI_E_NO_MADT);
}

static void bad_rsdp_refused(void)
{
	struct acpi_cpus c;
	build(0);
	CHECK_EQ(acpi_find_cpus(rsdp, 19, acpi_image_map, &c), ACPI_E_NO_RSDP);
	rsdp[9] ^= 1;
	CHECK_EQ(acpi_find_cpus(rsdp, 20, acpi_image_map, &c), ACPI_E_NO_RSDP);
	CHECK_EQ(acpi_find_cpus(rsdp, 0, acpi_image_map, &c), ACPI_E_NO_RSDP);
	CHECK_EQ(c.present, 0);
}

static void bad_checksum_refused(void)
{
	struct acpi_cpus c;
	build(0);
	acpi_mem[MADT_AT + 50] ^= 0x40;
	CHECK_EQ(acpi_find_cpus(rsdp, 20, acpi_image_map, &c), ACPI_E_BAD_TABLE);
	build(0);
	acpi_mem[RSDT_AT + 20] ^= 0x40;
	CHECK_EQ(acpi_find_cpus(rsdp, 20, acpi_image_map, &c), ACPI_E_BAD_TABLE);
}

/* A length past the end of memory is refused by the mapper, not read. */
static void table_longer_than_memory_refused(void)
{
	struct acpi_cpus c;
	build(0);
	put32(acpi_mem + MADT_AT + 4, 0x10000);
	CHECK_EQ(acpi_find_cpus(rsdp, 20, acpi_image_map, &c), ACPI_E_BAD_TABLE);
	put32(acpi_mem + MADT_AT + 4, 0xffffffff);
	CHECK_EQ(acpi_find_cpus(rsdp, 20, acpi_image_map, &c), ACPI_E_BAD_TABLE);
}

/* An entry of length 0 would loop for ever; one running past the table would read past it. */
static void bad_entries_refused(void)
{
	struct acpi_cpus c;
	build(0);
	acpi_mem[MADT_AT + 44 + 1] = 0;
	header(acpi_mem + MADT_AT, "APIC", 44 + 3 * 8 + 16 + 12);
	CHECK_EQ(acpi_find_cpus(rsdp, 20, acpi_image_map, &c), ACPI_E_BAD_ENTRY);
	build(0);
	acpi_mem[MADT_AT + 44 + 24 + 16 + 1] = 200;
	header(acpi_mem + MADT_AT, "APIC", 44 + 3 * 8 + 16 + 12);
	CHECK_EQ(acpi_find_cpus(rsdp, 20, acpi_image_map, &c), ACPI_E_BAD_ENTRY);
}

static void no_madt(void)
{
	struct acpi_cpus c;
	build(0);
	put32(acpi_mem + RSDT_AT + 40, PHYS_BASE + FACP_AT);
	header(acpi_mem + RSDT_AT, "RSDT", 44);
	CHECK_EQ(acpi_find_cpus(rsdp, 20, acpi_image_map, &c), ACPI_E_NO_MADT);
	put32(acpi_mem + RSDT_AT + 40, 0xdead0000);          /* a pointer outside memory */
	header(acpi_mem + RSDT_AT, "RSDT", 44);
	CHECK_EQ(acpi_find_cpus(rsdp, 20, acpi_image_map, &c), ACPI_E_NO_MADT);
}

/*
 * Random corruption of tables and RSDP, checksums then repaired half the
 * time so the parser meets tables it must believe: never a wild read
 * (ASan), never more CPUs than the MADT has room for.
 */
static void corrupted_tables(void)
{
	uint64_t s = 0x9c1d;
	for (int i = 0; i < 20000; i++) {
		struct acpi_cpus c;
		int rev = rnd_next(&s) & 1 ? 2 : 0;
		build(rev);
		for (int k = 0, n = 1 + rnd_next(&s) % 4; k < n; k++) {
			uint64_t r = rnd_next(&s);
			size_t at = r % (MEM_LEN + 36);
			uint8_t v = (uint8_t)(r >> 32);
			if (at < MEM_LEN)
				acpi_mem[at] = v;
			else
				rsdp[at - MEM_LEN] = v;
		}
		if (rnd_next(&s) & 1) {
			static const size_t at[] = { XSDT_AT, RSDT_AT, MADT_AT };
			for (int k = 0; k < 3; k++) {
				uint32_t len;
				memcpy(&len, acpi_mem + at[k] + 4, 4);
				if (len >= 36 && len <= MEM_LEN - at[k])
					acpi_fix_sum(acpi_mem + at[k], len, 9);
			}
		}
		int e = acpi_find_cpus(rsdp, rev ? 36 : 20, acpi_image_map, &c);
		CHECK(e <= 0 && e >= ACPI_E_BAD_ENTRY);
		CHECK(c.present + c.disabled <= MEM_LEN / 2);
		if (e)
			CHECK(acpi_error_str(e)[0] != '\0');
	}
}

int main(void)
{
	RUN(rsdt_is_read);
	RUN(xsdt_is_read);
	RUN(xsdt_preferred_over_rsdt);
	RUN(bad_rsdp_refused);
	RUN(bad_checksum_refused);
	RUN(table_longer_than_memory_refused);
	RUN(bad_entries_refused);
	RUN(no_madt);
	RUN(corrupted_tables);
	free(acpi_mem);
	return check_finish();
}
