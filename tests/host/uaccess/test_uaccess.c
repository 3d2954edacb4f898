/*
 * test_uaccess.c - the check every system-call pointer passes before the
 * kernel touches it: user_range_ok (src/proc/uaccess.h), against a model
 * written the slow way (128-bit arithmetic, so nothing wraps).
 */
#include "check.h"
#include "proc/uaccess.h"

/* The whole of [va, va + len) inside [VMM_USER_BASE, VMM_USER_END]. */
static int model(uint64_t va, uint64_t len)
{
	unsigned __int128 end = (unsigned __int128)va + len;
	return va >= VMM_USER_BASE && end <= VMM_USER_END;
}

static void edges_of_the_user_half(void)
{
	CHECK(user_range_ok(VMM_USER_BASE, 1));
	CHECK(user_range_ok(VMM_USER_END - 1, 1));
	CHECK(user_range_ok(VMM_USER_END - 4096, 4096));
	CHECK(user_range_ok(VMM_USER_BASE, VMM_USER_END - VMM_USER_BASE));
	CHECK(!user_range_ok(VMM_USER_BASE - 1, 1));            /* the null-pointer pages */
	CHECK(!user_range_ok(0, 8));
	CHECK(!user_range_ok(VMM_USER_END - 4096, 4097));       /* one byte over the top */
	CHECK(!user_range_ok(VMM_USER_END, 1));
	CHECK(user_range_ok(VMM_USER_END, 0));                  /* empty, at the end */
	CHECK(!user_range_ok(VMM_USER_BASE, VMM_USER_END));     /* longer than the half */
}

static void kernel_pointers_refused(void)
{
	CHECK(!user_range_ok(0xffff800000000000UL, 1));         /* the HHDM */
	CHECK(!user_range_ok(0xffffffff80000000UL, 4096));      /* the kernel image */
	CHECK(!user_range_ok(0x0000800000000000UL, 8));         /* non-canonical */
	CHECK(!user_range_ok(0xfffffffffffff000UL, 0x1000));
}

static void lengths_that_wrap_refused(void)
{
	/* va + len wraps past 2^64 back into the user half: must not pass. */
	CHECK(!user_range_ok(0x400000, UINT64_MAX));
	CHECK(!user_range_ok(0x400000, UINT64_MAX - 0x400000 + 0x10001));
	CHECK(!user_range_ok(VMM_USER_END - 1, UINT64_MAX));
	CHECK(!user_range_ok(0x7fffffffe000UL, 1UL << 63));
}

static uint64_t interesting(void)
{
	static const uint64_t pts[] = {
		0, 1, VMM_USER_BASE - 1, VMM_USER_BASE, VMM_USER_BASE + 1, VMM_USER_END - 1,
		VMM_USER_END, VMM_USER_END + 1, 1UL << 63, UINT64_MAX, UINT64_MAX - 4095,
	};
	uint64_t r = rnd();
	switch (r % 4) {
	case 0: return pts[(r >> 8) % (sizeof(pts) / sizeof(pts[0]))];
	case 1: return pts[(r >> 8) % (sizeof(pts) / sizeof(pts[0]))] + (int64_t)((r >> 40) % 64) - 32;
	case 2: return rnd() & (VMM_USER_END * 2 - 1);
	default: return rnd();
	}
}

static void agrees_with_the_model(void)
{
	rnd_seed(11);
	unsigned disagree = 0, in = 0;
	for (unsigned i = 0; i < 1000000; i++) {
		uint64_t va = interesting(), len = interesting();
		int want = model(va, len);
		in += want;
		if (user_range_ok(va, len) != want && disagree++ < 5)
			printf("#   va 0x%" PRIx64 " len 0x%" PRIx64 ": model says %d\n", va, len, want);
	}
	CHECK_EQ(disagree, 0);
	CHECK(in > 1000);               /* the inputs reach both answers */
}

int main(void)
{
	RUN(edges_of_the_user_half);
	RUN(kernel_pointers_refused);
	RUN(lengths_that_wrap_refused);
	RUN(agrees_with_the_model);
	return check_finish();
}
