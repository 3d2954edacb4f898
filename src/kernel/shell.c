/*
 * shell.c - mode=shell: a monitor on the serial console, for playing with
 * the memory layers by hand (docs/shell.md).
 *
 * One line a command, read from COM1 by polling, echoed, with backspace
 * and Ctrl-U. Each answer is the layers' own report (pmm_report,
 * slab_report, vmm_report, pg_dump, proc_list) or one line that starts
 * with the command's name; a mistake is one line "error: ...", and the
 * prompt comes back. A harness reads these lines: keep their wording.
 *
 * While the shell waits for a key, the scheduler runs whatever processes
 * `run PROG &` left behind, so `ps` and `kill` have something to act on.
 * The shell never hands the kernel a pointer it did not get from it:
 * `free` takes only what `alloc` returned, `pages` frees only its frames.
 */
#include "kernel/shell.h"
#include "kernel/kernel.h"
#include "kernel/panic.h"
#include "drivers/serial/serial.h"
#include "lib/kprintf.h"
#include "lib/kstring.h"
#include "mm/arch.h"
#include "mm/trace.h"
#include "mm/buddy/buddy.h"
#include "mm/paging/paging.h"
#include "mm/vmm/vmm.h"
#include "mm/slab/slab.h"
#include "mm/swap/swap.h"
#include "proc/proc.h"

#define PROMPT "strata> "
#define LINE_MAX 128
#define ARGS_MAX 12
#define ALLOCS_MAX 64
#define ALLOC_MAX_BYTES (64UL << 20)
#define RUN_TIMEOUT_TICKS (30 * PROC_HZ)  /* a foreground program past this is killed */
#define PAGES_NARRATED 3                  /* pages N tells the buddy's story for this many */
#define SHELL_KILL_REASON KILL_ASKED

static bool trace_on = true;              /* the layers narrate what the shell asks of them */
static void *allocs[ALLOCS_MAX];          /* what alloc returned and free has not taken back */
static size_t alloc_sizes[ALLOCS_MAX];
static pa_t pages_head = PMM_NO_FRAME;    /* pages N's frames, chained through their first word */
static uint64_t pages_held;

/* ---- input ------------------------------------------------------------ */

static int pending = -1;                  /* a byte read by input_ready, not yet taken */

static bool input_ready(void *arg)
{
	(void)arg;
	if (pending < 0)
		pending = serial_getc();
	return pending >= 0;
}

/*
 * The next byte from the console. Until one comes, the scheduler runs the
 * background processes (or halts until the next tick when there are none).
 */
static int getc_wait(void)
{
	if (!input_ready(NULL))
		sched_loop(input_ready, NULL);
	int c = pending;
	pending = -1;
	return c;
}

/*
 * A line into buf (NUL-terminated, without its end), echoing what is
 * typed. Enter is CR or LF (a CR LF pair counts once); backspace and DEL
 * erase a character, Ctrl-U the line; an escape sequence (arrow keys) and
 * other control bytes are dropped, and so is what does not fit.
 */
static void read_line(char *buf, size_t cap)
{
	static bool last_cr;
	size_t n = 0;
	int esc = 0;                            /* bytes of an escape sequence seen */

	for (;;) {
		int c = getc_wait();
		if (c == '\n' && last_cr) {     /* the LF of a CR LF */
			last_cr = false;
			continue;
		}
		last_cr = c == '\r';
		if (esc) {
			/* ESC [ params final: the final byte is in 0x40..0x7e */
			if (esc == 1 && c != '[')
				esc = 0;
			else if (esc++ > 1 && c >= 0x40 && c <= 0x7e)
				esc = 0;
			continue;
		}
		if (c == '\r' || c == '\n') {
			serial_putc('\n');
			buf[n] = '\0';
			return;
		}
		if (c == 0x1b) {
			esc = 1;
		} else if (c == 0x7f || c == '\b') {
			if (n) {
				n--;
				kprintf("\b \b");
			}
		} else if (c == 0x15) {         /* Ctrl-U */
			for (; n; n--)
				kprintf("\b \b");
		} else if (c >= 0x20 && c < 0x7f && n + 1 < cap) {
			buf[n++] = (char)c;
			serial_putc((char)c);
		}
	}
}

/* Split line in place at spaces and tabs into at most max words; returns how many. */
static int split(char *line, char *argv[], int max)
{
	int argc = 0;
	char *p = line;
	for (;;) {
		while (*p == ' ' || *p == '\t')
			*p++ = '\0';
		if (!*p)
			return argc;
		if (argc == max)
			return -1;
		argv[argc++] = p;
		while (*p && *p != ' ' && *p != '\t')
			p++;
	}
}

/* A number in decimal or 0x hex, the whole word, into *v; false for anything else or overflow. */
static bool parse_u64(const char *s, uint64_t *v)
{
	unsigned base = 10;
	uint64_t x = 0;
	if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		base = 16;
		s += 2;
	}
	if (!*s)
		return false;
	for (; *s; s++) {
		unsigned d;
		if (*s >= '0' && *s <= '9')
			d = *s - '0';
		else if (base == 16 && *s >= 'a' && *s <= 'f')
			d = *s - 'a' + 10;
		else if (base == 16 && *s >= 'A' && *s <= 'F')
			d = *s - 'A' + 10;
		else
			return false;
		if (x > (UINT64_MAX - d) / base)
			return false;
		x = x * base + d;
	}
	*v = x;
	return true;
}

/* ---- meminfo: each layer's one-line summary, from its own report ------ */

/*
 * meminfo shows only the tagged lines of the layers' reports: the console
 * sink is swapped for one that keeps a line back and lets it through only
 * if it starts with the tag wanted. The reports stay the one place that
 * formats them.
 */
static const char *filter_tag;
static char filter_buf[512];
static size_t filter_len;

static void filter_putc(char c)
{
	if (filter_len < sizeof(filter_buf))
		filter_buf[filter_len++] = c;
	if (c != '\n')
		return;
	size_t t = strlen(filter_tag);
	if (filter_len > t && !strncmp(filter_buf, filter_tag, t) && filter_buf[t] == ' ')
		for (size_t i = 0; i < filter_len; i++)
			serial_putc(filter_buf[i]);
	filter_len = 0;
}

static void report_only(const char *tag, void (*report)(void))
{
	filter_tag = tag;
	filter_len = 0;
	console_set_sink(filter_putc);
	report();
	console_set_sink(serial_putc);
}

static void vmm_report_kernel(void)
{
	vmm_report(vmm_kernel_space(), "kernel");
}

static int cmd_meminfo(int argc, char **argv)
{
	(void)argc, (void)argv;
	report_only("MEMINFO", pmm_report);
	report_only("SLABINFO", slab_report);
	report_only("VMM", vmm_report_kernel);
	swap_report();
	unsigned live = 0;
	for (unsigned i = 0; i < ALLOCS_MAX; i++)
		live += allocs[i] != NULL;
	kprintf("meminfo: %llu frames free; the shell holds %llu from pages, %u object(s) from alloc\n",
		(unsigned long long)pmm_free_count(), (unsigned long long)pages_held, live);
	return 0;
}

/* ---- the layers' own reports --------------------------------------------- */

static int cmd_buddy(int argc, char **argv)
{
	(void)argc, (void)argv;
	pmm_report();
	return 0;
}

static int cmd_slabinfo(int argc, char **argv)
{
	(void)argc, (void)argv;
	slab_report();
	return 0;
}

static int error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int error(const char *fmt, ...)
{
	va_list ap;
	kprintf("error: ");
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
	kprintf("\n");
	return -1;
}

/* The process with that pid if it is alive (not yet ended), else NULL. */
static struct proc *live_proc(uint64_t pid)
{
	struct proc *p = pid <= 0x7fffffff ? proc_by_pid((int)pid) : NULL;
	return p && p->state != P_ZOMBIE ? p : NULL;
}

/* The space a word names: "kernel" (or no word), or a live process's pid; NULL after saying why. */
static struct vm_space *space_of(const char *cmd, const char *word, char *name, size_t cap)
{
	uint64_t pid;
	if (!word || !strcmp(word, "kernel")) {
		ksnprintf(name, cap, "kernel");
		return vmm_kernel_space();
	}
	if (!parse_u64(word, &pid)) {
		error("%s: '%s' is neither kernel nor a pid", cmd, word);
		return NULL;
	}
	struct proc *p = live_proc(pid);
	if (!p || !p->space) {
		error("%s: no live process with pid %s (ps lists them)", cmd, word);
		return NULL;
	}
	ksnprintf(name, cap, "pid%d", p->pid);
	return p->space;
}

static int cmd_regions(int argc, char **argv)
{
	char name[24];
	struct vm_space *s = space_of("regions", argc > 1 ? argv[1] : NULL, name, sizeof(name));
	if (!s)
		return -1;
	vmm_report(s, name);
	return 0;
}

/* pt VA [SPACE]: the translation, then the leaf as the page-table dump prints it. */
static int cmd_pt(int argc, char **argv)
{
	uint64_t va, pa;
	unsigned fl;
	size_t psz;
	char name[24];

	if (argc < 2 || !parse_u64(argv[1], &va))
		return error("pt: give a virtual address, e.g. pt 0xffffffff80100000");
	struct vm_space *s = space_of("pt", argc > 2 ? argv[2] : NULL, name, sizeof(name));
	if (!s)
		return -1;
	pg_root_t root = vmm_space_root(s);
	int e = pg_translate(root, va, &pa, &fl, &psz);
	if (e == PG_E_CANONICAL)
		return error("pt: %llx is not a canonical address", (unsigned long long)va);
	if (e)
		return error("pt: %llx is not mapped in the %s space", (unsigned long long)va, name);
	kprintf("pt: va %llx -> pa 0x%llx, %zu KiB page, %c%c%c %c%s (the %s space, root at 0x%llx)\n",
		(unsigned long long)va, (unsigned long long)pa, psz >> 10, fl & PG_READ ? 'r' : '-',
		fl & PG_WRITE ? 'w' : '-', fl & PG_EXEC ? 'x' : '-', fl & PG_USER ? 'u' : 'k',
		fl & PG_GLOBAL ? " g" : "", name, (unsigned long long)root);
	uint64_t leaf = va & ~(uint64_t)(psz - 1);
	pg_dump(root, leaf, leaf + psz);
	return 0;
}

/* ---- alloc and free, through kmalloc ----------------------------------- */

/* on: the layers narrate what comes next, if the shell's trace is on; off: they stop. */
static void traced(bool on)
{
	slab_trace_set(on && trace_on);
}

static int cmd_alloc(int argc, char **argv)
{
	uint64_t size;
	unsigned i;

	if (argc < 2 || !parse_u64(argv[1], &size) || !size || size > ALLOC_MAX_BYTES)
		return error("alloc: give a size in bytes, 1 to %lu", ALLOC_MAX_BYTES);
	for (i = 0; i < ALLOCS_MAX && allocs[i]; i++)
		;
	if (i == ALLOCS_MAX)
		return error("alloc: the shell keeps at most %u pointers: free one first", ALLOCS_MAX);
	traced(true);
	void *p = kmalloc(size);
	traced(false);
	if (!p)
		return error("alloc: kmalloc(%llu) returned NULL: out of memory", (unsigned long long)size);
	allocs[i] = p;
	alloc_sizes[i] = size;
	kprintf("alloc: %llu bytes at %p (ksize %zu)\n", (unsigned long long)size, p, ksize(p));
	return 0;
}

static int cmd_free(int argc, char **argv)
{
	uint64_t v;
	unsigned i;

	if (argc < 2 || !parse_u64(argv[1], &v))
		return error("free: give a pointer that alloc returned");
	for (i = 0; i < ALLOCS_MAX && allocs[i] != (void *)v; i++)
		;
	if (!v || i == ALLOCS_MAX)
		return error("free: %llx is not a pointer alloc gave, or it was freed already",
			     (unsigned long long)v);
	traced(true);
	kfree(allocs[i]);
	traced(false);
	kprintf("free: %p (%zu bytes) freed\n", allocs[i], alloc_sizes[i]);
	allocs[i] = NULL;
	return 0;
}

/* ---- pages: frames straight from the buddy ------------------------------- */

static int cmd_pages(int argc, char **argv)
{
	uint64_t n, got = 0;

	if (argc < 2 || !parse_u64(argv[1], &n) || !n)
		return error("pages: give a count of 4 KiB frames, at least 1");
	for (; got < n; got++) {
		traced(got < PAGES_NARRATED);
		pa_t pa = pmm_alloc_page(0);
		traced(false);
		if (pa == PMM_NO_FRAME)
			break;
		*(pa_t *)phys_to_virt(pa) = pages_head;
		pages_head = pa;
		pages_held++;
	}
	if (trace_on && got > PAGES_NARRATED)
		kprintf("  (%llu more frame(s), not narrated)\n", (unsigned long long)(got - PAGES_NARRATED));
	if (got < n)
		return error("pages: the buddy ran out after %llu of %llu frames (the shell holds %llu; "
			     "unpages gives them back)", (unsigned long long)got, (unsigned long long)n,
			     (unsigned long long)pages_held);
	kprintf("pages: took %llu frame(s) from the buddy; the shell holds %llu\n", (unsigned long long)got,
		(unsigned long long)pages_held);
	return 0;
}

static int cmd_unpages(int argc, char **argv)
{
	(void)argc, (void)argv;
	uint64_t n = 0;
	while (pages_head != PMM_NO_FRAME) {
		pa_t pa = pages_head;
		pages_head = *(pa_t *)phys_to_virt(pa);
		traced(n < PAGES_NARRATED);
		pmm_free_page(pa);
		traced(false);
		n++;
	}
	pages_held = 0;
	kprintf("unpages: gave %llu frame(s) back to the buddy\n", (unsigned long long)n);
	return 0;
}

static int cmd_trace(int argc, char **argv)
{
	if (argc > 1 && !strcmp(argv[1], "on"))
		trace_on = true;
	else if (argc > 1 && !strcmp(argv[1], "off"))
		trace_on = false;
	else if (argc > 1)
		return error("trace: on or off");
	kprintf("trace: %s\n", trace_on ? "on" : "off");
	return 0;
}

/* ---- processes ------------------------------------------------------------ */

static int cmd_ps(int argc, char **argv)
{
	(void)argc, (void)argv;
	proc_list();
	return 0;
}

/* How a process ended, from its wait() status: "ended: status 7" or "ended: killed, reason=guard". */
static void say_ended(int pid, const char *name, int status)
{
	kprintf("run: pid %d%s%s%s ended: ", pid, name ? " (" : "", name ? name : "", name ? ")" : "");
	if (STRATA_KILL_REASON(status))
		kprintf("killed, reason=%s\n", proc_kill_name(STRATA_KILL_REASON(status)));
	else
		kprintf("status %d\n", status & 0xff);
}

/* Background processes that ended: said and reaped (the kernel is their parent). */
static void reap_background(void)
{
	for (unsigned i = 0; i < PROC_MAX; i++) {
		struct proc *p = proc_slot(i);
		if (p->state != P_ZOMBIE || !p->kernel_reaps)
			continue;
		say_ended(p->pid, p->name, p->status);
		proc_reap(p);
	}
}

static const char *spawn_error(int e)
{
	switch (-e) {
	case ENOENT: return "no such program";
	case ENOEXEC: return "not a program the kernel can load (see the line above)";
	case ENOMEM: return "out of memory";
	case EAGAIN: return "the process table is full";
	default: return "could not start";
	}
}

/* run PROG [ARG...] [&]: spawn from the file system; wait for it unless the last word is &. */
static int cmd_run(int argc, char **argv)
{
	bool bg = argc > 2 && !strcmp(argv[argc - 1], "&");
	if (bg)
		argc--;
	if (argc < 2)
		return error("run: give a program, e.g. run /bin/exitcode 7");
	char *args[ARGS_MAX + 1];
	unsigned n = 0;
	for (int i = 1; i < argc; i++)
		args[n++] = argv[i];
	args[n] = NULL;
	int pid = proc_spawn(argv[1], n, args, NULL);
	if (pid < 0)
		return error("run: %s: %s (error %d)", argv[1], spawn_error(pid), pid);
	if (bg) {
		kprintf("run: pid %d started in the background\n", pid);
		return 0;
	}
	traced(true);                   /* its faults, told by the VMM, the buddy and paging */
	int st = proc_run(pid, RUN_TIMEOUT_TICKS);
	traced(false);
	say_ended(pid, NULL, st);
	return 0;
}

static bool gone(void *arg)
{
	struct proc *p = proc_by_pid((int)(uintptr_t)arg);
	return !p || p->state == P_ZOMBIE;
}

/* kill PID: the process is marked and ends on its next way back to ring 3; the shell waits for that. */
static int cmd_kill(int argc, char **argv)
{
	uint64_t pid;
	if (argc < 2 || !parse_u64(argv[1], &pid))
		return error("kill: give a pid (ps lists them)");
	struct proc *p = live_proc(pid);
	if (!p)
		return error("kill: no live process with pid %s", argv[1]);
	proc_mark_killed(p, SHELL_KILL_REASON);
	sched_loop(gone, (void *)(uintptr_t)pid);
	kprintf("kill: pid %d is gone\n", (int)pid);
	reap_background();
	return 0;
}

/* ---- the table ---------------------------------------------------------- */

static int cmd_help(int argc, char **argv);

static int cmd_exit(int argc, char **argv)
{
	(void)argc, (void)argv;
	kprintf("shell: bye\n");
	kernel_exit(EXIT_PASS);
}

struct command {
	const char *name, *args, *what;
	int (*fn)(int argc, char **argv);
};

static const struct command commands[] = {
	{ "help", "", "this list", cmd_help },
	{ "meminfo", "", "each layer's summary line: MEMINFO, SLABINFO, VMM, SWAP", cmd_meminfo },
	{ "buddy", "", "the buddy's report: memory map, zones, free blocks per order", cmd_buddy },
	{ "slabinfo", "", "the kernel heap's caches", cmd_slabinfo },
	{ "regions", "[kernel|PID]", "the regions of an address space", cmd_regions },
	{ "pt", "VA [kernel|PID]", "what the page tables map VA to", cmd_pt },
	{ "alloc", "SIZE", "kmalloc(SIZE), the layers narrating", cmd_alloc },
	{ "free", "PTR", "kfree a pointer alloc returned", cmd_free },
	{ "pages", "N", "take N frames from the buddy", cmd_pages },
	{ "unpages", "", "give back every frame pages took", cmd_unpages },
	{ "trace", "[on|off]", "the layers' narration of alloc, free, pages, run", cmd_trace },
	{ "ps", "", "the process table", cmd_ps },
	{ "run", "PROG [ARG...] [&]", "run a program from the file system (& : in the background)", cmd_run },
	{ "kill", "PID", "end a process", cmd_kill },
	{ "exit", "", "end QEMU (also: quit)", cmd_exit },
	{ "quit", NULL, NULL, cmd_exit },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_help(int argc, char **argv)
{
	(void)argc, (void)argv;
	for (unsigned i = 0; i < NCOMMANDS; i++) {
		const struct command *c = &commands[i];
		char usage[40];
		if (!c->what)
			continue;
		ksnprintf(usage, sizeof(usage), "%s %s", c->name, c->args);
		kprintf("  %-26s %s\n", usage, c->what);
	}
	kprintf("  numbers are decimal or 0x hex\n");
	return 0;
}

static void execute(char *line)
{
	char *argv[ARGS_MAX + 1];
	int argc = split(line, argv, ARGS_MAX);
	if (argc < 0) {
		error("more than %d words", ARGS_MAX);
		return;
	}
	if (!argc)
		return;
	for (unsigned i = 0; i < NCOMMANDS; i++)
		if (!strcmp(argv[0], commands[i].name)) {
			commands[i].fn(argc, argv);
			return;
		}
	error("unknown command '%s' (help lists them)", argv[0]);
}

/* shell_run: see shell.h. */
void shell_run(void)
{
	char line[LINE_MAX];

	slab_trace_set(false);
	kprintf("shell: the Strata monitor; help lists the commands, exit ends QEMU\n");
	for (;;) {
		reap_background();
		kprintf(PROMPT);
		read_line(line, sizeof(line));
		execute(line);
	}
}
