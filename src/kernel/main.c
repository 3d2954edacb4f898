/*
 * main.c - kmain: from the boot stub to the mode the command line asks for.
 *
 * Start-up runs the layers bottom up, each reporting as it arrives:
 * console, CPU tables, the bootloader's information, then the memory
 * layers. mode=run reports and ends, mode=test runs the self-tests,
 * mode=bench the benchmarks, mode=shell a monitor on the serial console.
 */
#include "kernel/kernel.h"
#include "kernel/ktest.h"
#include "kernel/cmdline.h"
#include "kernel/panic.h"
#include "kernel/tsc.h"
#include "kernel/smp.h"
#include "kernel/shell.h"
#include "arch/x86_64/trap.h"
#include "arch/x86_64/percpu.h"
#include "drivers/serial/serial.h"
#include "drivers/virtio/virtio_blk.h"
#include "lib/kprintf.h"
#include "mm/arch.h"
#include "mm/slab/slab.h"
#include "proc/proc.h"
#include "lib/kstring.h"
#include "lib/lockcheck.h"

#define MB2_MAX_BLOCK (1UL << 20)   /* no sane loader passes more */

struct mb2_info boot_info;
uint64_t boot_info_pa;

/*
 * The mode= option; absent means run. An unknown value is reported and
 * ends the boot with failure: whatever was meant, it was not this.
 */
static enum kernel_mode parse_mode(void)
{
	char m[32];
	if (!cmdline_get("mode", m, sizeof(m)) || cmdline_is("mode", "run"))
		return MODE_RUN;
	if (cmdline_is("mode", "test"))
		return MODE_TEST;
	if (cmdline_is("mode", "bench"))
		return MODE_BENCH;
	if (cmdline_is("mode", "shell"))
		return MODE_SHELL;
	kprintf("cmdline: unknown mode=%s (the modes are run, test, bench, shell): stopping\n", m);
	kernel_exit(EXIT_FAIL);
}

static void cmdline_report(const char *msg)
{
	kprintf("%s\n", msg);
	ktest_problem(msg);
}

/*
 * Say what is wrong with the command line: a line cut to what the kernel
 * keeps, words that are not options. In mode=test each fails the run
 * (ktest_problem); in the other modes they are warnings.
 */
static void check_cmdline(void)
{
	if (boot_info.cmdline_len >= MB2_CMDLINE_MAX) {
		char msg[128];
		ksnprintf(msg, sizeof(msg), "cmdline: the command line is %lu bytes, the kernel keeps %u: "
			  "the rest is ignored", (unsigned long)boot_info.cmdline_len, MB2_CMDLINE_MAX - 1);
		cmdline_report(msg);
	}
	cmdline_check(cmdline_report);
}

static void read_boot_info(uint64_t mbi_pa, uint32_t magic)
{
	if (magic != MB2_BOOT_MAGIC)
		panic("not started by a Multiboot2 loader: magic 0x%x", magic);
	boot_info_pa = mbi_pa;
	const void *block = phys_to_virt(mbi_pa);
	uint32_t total = *(const uint32_t *)block;
	enum mb2_error e = mb2_parse(block, total < MB2_MAX_BLOCK ? total : MB2_MAX_BLOCK, &boot_info);
	if (e != MB2_OK)
		panic("Multiboot2 information at 0x%lx is malformed: %s", mbi_pa, mb2_error_str(e));
	if (!boot_info.has_mmap)
		panic("the bootloader passed no memory map (Multiboot2 tag 6)");
}

static void cpu_report(void)
{
	kprintf("CPU: %s paging, NX %s; TSC %lu kHz (calibrated by %s)\n",
		boot_cpu_flags & 2 ? "5-level" : "4-level",
		boot_cpu_flags & 1 ? "on" : "absent", tsc_khz(), tsc_source());
}

/*
 * The ramdisk is the module GRUB was told to call "initrd" (grub.cfg's
 * module2 line). Its headers are checked once here; a bad one is
 * reported, and the files before it stay usable.
 */
static void procs_init(void)
{
	struct initrd rd = { 0 };
	for (size_t i = 0; i < boot_info.modules_len; i++)
		if (!strcmp(boot_info.modules[i].name, "initrd")) {
			rd.base = phys_to_virt(boot_info.modules[i].start);
			rd.len = boot_info.modules[i].end - boot_info.modules[i].start;
			break;
		}
	if (!rd.base) {
		kprintf("initrd: no boot module named initrd: no programs to run\n");
	} else {
		size_t files = 0;
		int e = initrd_check(&rd, &files);
		kprintf("initrd: %zu files in %zu KiB%s%s\n", files, rd.len / 1024,
			e ? ", then a bad header: " : "", e ? initrd_error_str(e) : "");
	}
	proc_init(&rd);
}

/* mode=run: /init shows processes at work; the kernel says how it ended. */
static void run_init(void)
{
	int st = proc_run_init();
	if (st < 0)
		kprintf("run: /init could not start (error %d)\n", st);
	else
		kprintf("run: /init ended with status %d\n", st);
}

void kmain(uint64_t mbi_pa, uint32_t magic)
{
	percpu_init(0, 0);      /* first: arch_cpu_index reads GS */
	serial_init();
	console_set_sink(serial_putc);
	kprintf("\nStrata x86_64 - a kernel about memory management\n");
	gdt_init();
	idt_init();
	read_boot_info(mbi_pa, magic);
	cmdline_init(boot_info.cmdline);
	enum kernel_mode mode = parse_mode();
	check_cmdline();
	panic_exits = mode != MODE_RUN;
	if (cmdline_int("lockcheck", mode == MODE_TEST) == 1) {    /* before any lock is taken */
		lockcheck_set(true);
		kprintf("lockcheck: on (recursion, lock order, bad unlocks)\n");
	}
	tsc_calibrate();
	boot_report();
	cpu_report();
	mm_boot();
	panic_init();
	smp_boot();
	pci_report();
	vblk_init();     /* a disk, if there is one; none is not an error */
	swap_boot();     /* that disk as the swap area, if its header says it is one */
	procs_init();
	if (mode == MODE_RUN) {
		oracle_run();           /* oracle=1: QEMU checks the tables (tests/oracle/) */
		mm_report();
		vmm_demo();
		slab_trace_demo();
		slab_report();
		run_init();
		picture_report();       /* the PIC lines (docs/picture.md) */
	}
	ktest_add_suite("user", user_suite_run);

	switch (mode) {
	case MODE_TEST:
		kernel_exit(ktest_run_all() ? EXIT_PASS : EXIT_FAIL);
	case MODE_BENCH:
		bench_run_all();
		kprintf("bench: done\n");
		kernel_exit(EXIT_PASS);
	case MODE_RUN:
		kprintf("run: done\n");
		kernel_exit(EXIT_PASS);
	case MODE_SHELL:
		shell_run();
	}
}
