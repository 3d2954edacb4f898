/*
 * mb2.c - libFuzzer over the Multiboot2 parser and what reads the block
 * after it: the module walk, the module spans the PMM protects, and the
 * command-line options of whatever line the block carried.
 *
 * The input is the block, copied into a buffer exactly as long, so ASan
 * sees a read one byte past it. Properties: mb2_parse never reads outside;
 * on an accepted block every module the walk yields lies inside a span,
 * spans are page aligned, sorted, disjoint and at most cap; the walk sees
 * modules_total modules; the command-line getters and checker terminate
 * inside the line.
 */
#include <string.h>
#include "fuzz.h"
#include "boot/multiboot2.h"
#include "kernel/cmdline.h"

static struct mb2_info info;

static void check_spans(const uint8_t *blk, size_t cap)
{
	struct mem_range sp[33];
	struct mb2_spans st;
	size_t n = mb2_module_spans(blk, sp, cap, &st), cursor = 0;
	uint64_t s, e;

	FUZZ_CHECK(n <= cap);
	FUZZ_CHECK(st.modules == info.modules_total);
	for (size_t i = 0; i < n; i++) {
		FUZZ_CHECK(sp[i].len && !(sp[i].base % 4096) && !(sp[i].len % 4096));
		FUZZ_CHECK(i == 0 || sp[i].base > sp[i - 1].base + sp[i - 1].len);
	}
	while (mb2_next_module(blk, &cursor, &s, &e)) {
		size_t i;
		if (e <= s)
			continue;
		for (i = 0; i < n && !(sp[i].base <= s && e <= sp[i].base + sp[i].len); i++)
			;
		FUZZ_CHECK(i < n);
	}
}

static void ignore(const char *msg) { (void)msg; }

static void check_cmdline(void)
{
	char buf[64];
	cmdline_init(info.cmdline);
	cmdline_check(ignore);
	cmdline_get("mode", buf, sizeof(buf));
	cmdline_is("ktest", "buddy");
	(void)cmdline_int("slab.debug", 0);
	FUZZ_CHECK(strlen(info.cmdline) < MB2_CMDLINE_MAX);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t *blk = malloc(size ? size : 1);
	memcpy(blk, data, size);
	enum mb2_error e = mb2_parse(size ? blk : NULL, size, &info);
	FUZZ_CHECK(mb2_error_str(e) != NULL);
	if (e == MB2_OK) {
		size_t n = 0, cursor = 0;
		uint64_t s, end;
		while (mb2_next_module(blk, &cursor, &s, &end))
			n++;
		FUZZ_CHECK(n == info.modules_total);
		FUZZ_CHECK(info.modules_len == (n < MB2_MAX_MODULES ? n : MB2_MAX_MODULES));
		FUZZ_CHECK(info.mmap_len <= MB2_MAX_MMAP);
		check_spans(blk, 1);
		check_spans(blk, 3);
		check_spans(blk, 28);
	}
	check_cmdline();
	free(blk);
	return 0;
}
