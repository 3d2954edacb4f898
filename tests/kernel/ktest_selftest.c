/*
 * ktest_selftest.c - tests of the test machinery itself, run in the kernel.
 *
 * The fault catcher must report the vector, error code and address of a
 * real exception; a test that provokes nothing must see nothing. The
 * selftest_fail suite exists to fail: the harness boots it (ktest.fail=1)
 * to prove that a failing test fails the run.
 */
#include "kernel/ktest.h"
#include "kernel/kernel.h"
#include "arch/x86_64/trap.h"
#include "lib/kstring.h"
#include "mm/buddy/buddy.h"
#include "mm/arch.h"

static void do_ud2(void *arg) { (void)arg; __asm__ volatile("ud2"); }
static void do_read(void *arg) { (void)*(volatile uint64_t *)arg; }
static void do_nothing(void *arg) { (void)arg; }

/* Recurse until the stack runs into its guard page. */
static unsigned long overflow(volatile unsigned long depth)
{
	volatile char pad[256];
	if (depth > (1UL << 40))        /* never: the guard page comes first */
		return 0;
	pad[0] = (char)depth;
	return overflow(depth + 1) + pad[0];
}

static void do_overflow(void *arg) { (void)arg; overflow(0); }

KTEST(ktest, catches_invalid_opcode)
{
	struct fault_info f;
	KT_ASSERT(ktest_expect_fault(VEC_UD, do_ud2, 0, &f) == 1);
	KT_ASSERT(f.vector == VEC_UD);
}

KTEST(ktest, catches_page_fault_on_stack_guard)
{
	struct fault_info f;
	KT_ASSERT(ktest_expect_fault(VEC_PF, do_read, boot_stack_guard, &f) == 1);
	KT_EXPECT(f.cr2 == (uint64_t)boot_stack_guard);
	KT_EXPECT(!(f.error_code & PF_P));      /* not present */
	KT_EXPECT(!(f.error_code & PF_W));      /* a read */
	KT_EXPECT(!(f.error_code & PF_U));      /* from the kernel */
}

/*
 * The #PF on the guard page cannot push its frame on the full stack, so
 * the CPU raises #DF, which runs on its own IST stack: reported, not a
 * triple fault.
 */
KTEST(ktest, stack_overflow_is_a_double_fault)
{
	struct fault_info f;
	KT_ASSERT(ktest_expect_fault(VEC_DF, do_overflow, 0, &f) == 1);
	KT_EXPECT(f.vector == VEC_DF);
}

KTEST(ktest, no_fault_means_no_catch)
{
	struct fault_info f = { 0 };
	KT_ASSERT(ktest_expect_fault(VEC_PF, do_nothing, 0, &f) == 0);
	KT_EXPECT(f.vector == 0);
}

KTEST(ktest, ksnprintf_formats)
{
	char buf[64];
	ksnprintf(buf, sizeof(buf), "%d|%5u|%-3x|%08lx|%s|%c|%zu", -42, 7u, 0xau,
		  0xbeefUL, "mm", 'z', (size_t)99);
	KT_EXPECT(!strcmp(buf, "-42|    7|a  |0000beef|mm|z|99"));
}

KTEST(boot, memory_map_present)
{
	uint64_t avail = 0;
	KT_ASSERT(boot_info.has_mmap && boot_info.mmap_len > 0);
	for (size_t i = 0; i < boot_info.mmap_len; i++)
		if (boot_info.mmap[i].type == MEM_AVAILABLE)
			avail += boot_info.mmap[i].len;
	/* The PMM manages no more RAM than the firmware calls available, and enough to start. */
	struct pmm_stats s;
	pmm_get_stats(&s);
	KT_EXPECT(avail >= (s.free_pages + s.allocated_pages) * PAGE_SIZE);
	KT_EXPECT(avail >= PMM_MIN_FREE_PAGES * PAGE_SIZE);
}

KTEST(boot, command_line_has_mode)
{
	KT_EXPECT(!strncmp(boot_info.cmdline, "mode=test", 9));
}

/* Every module tag was recorded at boot, not only the parser's first MB2_MAX_MODULES. */
KTEST(boot, every_module_recorded)
{
	KT_EXPECT(boot_modules_len == boot_info.modules_total);
	KT_EXPECT(boot_info.modules_len <= boot_info.modules_total);
	for (size_t i = 0; i < boot_info.modules_len && i < boot_modules_len; i++) {
		KT_EXPECT(boot_modules[i].base == boot_info.modules[i].start);
		KT_EXPECT(boot_modules[i].base + boot_modules[i].len == boot_info.modules[i].end);
	}
}

KTEST(selftest_fail, built_to_fail)
{
	KT_EXPECT(1 + 1 == 3);
}
