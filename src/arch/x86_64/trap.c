/*
 * trap.c - the IDT and what happens on a CPU exception.
 *
 * An exception goes, in order, to: a self-test that armed a catch for
 * it; the handler a layer installed (the VMM's page-fault handler); and
 * otherwise to a full report and panic.
 */
#include <stdint.h>
#include "arch/x86_64/trap.h"
#include "arch/x86_64/io.h"
#include "kernel/panic.h"
#include "lib/kprintf.h"
#include "mm/arch.h"

struct idt_entry {
	uint16_t offset_lo, selector;
	uint8_t ist, flags;
	uint16_t offset_mid;
	uint32_t offset_hi, zero;
} __attribute__((packed));

extern const uint64_t isr_table[256];
static struct idt_entry idt[256];
static trap_handler_t handlers[32];
static irq_handler_t vector_handlers[256];      /* local APIC vectors, VEC_APIC_FIRST.. */
static void (*user_fault_hook)(struct trap_frame *f);
static void (*user_return_hook)(struct trap_frame *f);
static trap_handler_t nmi_hook;

void trap_set_nmi_hook(trap_handler_t h) { nmi_hook = h; }

/* Each CPU catches its own faults: a test may expect one on another CPU. */
static struct {
	int armed;
	unsigned vector;
	struct kjmp *buf;
	struct caught_fault *out;
} catchers[ARCH_MAX_CPUS];

static const char *const names[32] = {
	"divide error", "debug", "NMI", "breakpoint", "overflow", "bound range",
	"invalid opcode", "device not available", "double fault", "coprocessor overrun",
	"invalid TSS", "segment not present", "stack fault", "general protection",
	"page fault", "reserved", "x87 error", "alignment check", "machine check",
	"SIMD error", "virtualization", "control protection", "reserved", "reserved",
	"reserved", "reserved", "reserved", "reserved", "hypervisor injection",
	"VMM communication", "security", "reserved",
};

static void set_gate(unsigned v, uint64_t handler, uint8_t ist)
{
	idt[v] = (struct idt_entry){
		.offset_lo = handler & 0xffff,
		.selector = 0x08,
		.ist = ist,
		.flags = 0x8e,          /* present, DPL 0, interrupt gate */
		.offset_mid = (handler >> 16) & 0xffff,
		.offset_hi = handler >> 32,
	};
}

void idt_init(void)
{
	for (unsigned v = 0; v < 256; v++)
		set_gate(v, isr_table[v], v == VEC_DF ? 1 : v == VEC_NMI ? 2 : 0);
	idt_load();
}

/* Every CPU uses the one IDT. */
void idt_load(void)
{
	struct { uint16_t limit; uint64_t base; } __attribute__((packed)) ptr = {
		sizeof(idt) - 1, (uint64_t)idt,
	};
	__asm__ volatile("lidt %0" : : "m"(ptr));
}

void trap_set_handler(unsigned vector, trap_handler_t h) { handlers[vector] = h; }
void trap_set_vector_handler(unsigned vector, irq_handler_t h) { vector_handlers[vector] = h; }

void trap_set_user_hooks(void (*fault)(struct trap_frame *f), void (*ret)(struct trap_frame *f))
{
	user_fault_hook = fault, user_return_hook = ret;
}

const char *trap_name(unsigned vector) { return vector < 32 ? names[vector] : "interrupt"; }

void trap_catch_arm(unsigned vector, struct kjmp *buf, struct caught_fault *out)
{
	unsigned c = arch_cpu_index();
	catchers[c].vector = vector, catchers[c].buf = buf, catchers[c].out = out;
	__atomic_store_n(&catchers[c].armed, 1, __ATOMIC_RELEASE);
}

void trap_catch_disarm(void) { catchers[arch_cpu_index()].armed = 0; }

static void print_pf_error(uint64_t e)
{
	kprintf("  #PF: %s, %s, %s mode%s%s%s, CR2=0x%016lx\n",
		e & PF_P ? "protection violation" : "page not present",
		e & PF_W ? "write" : "read",
		e & PF_U ? "user" : "supervisor",
		e & PF_RSVD ? ", reserved bit set" : "",
		e & PF_I ? ", instruction fetch" : "",
		e & PF_PK ? ", protection key" : "",
		read_cr2());
}

static void print_frame(const struct trap_frame *f)
{
	kprintf("  RIP=0x%016lx CS=0x%lx RFLAGS=0x%lx RSP=0x%016lx SS=0x%lx\n",
		f->rip, f->cs, f->rflags, f->rsp, f->ss);
	kprintf("  RAX=%016lx RBX=%016lx RCX=%016lx RDX=%016lx\n", f->rax, f->rbx, f->rcx, f->rdx);
	kprintf("  RSI=%016lx RDI=%016lx RBP=%016lx R8 =%016lx\n", f->rsi, f->rdi, f->rbp, f->r8);
	kprintf("  R9 =%016lx R10=%016lx R11=%016lx R12=%016lx\n", f->r9, f->r10, f->r11, f->r12);
	kprintf("  R13=%016lx R14=%016lx R15=%016lx\n", f->r13, f->r14, f->r15);
}

static void report(const struct trap_frame *f)
{
	kprintf("\nEXCEPTION vector=%lu (%s) error=0x%lx\n", f->vector,
		names[f->vector & 31], f->error_code);
	if (f->vector == VEC_PF)
		print_pf_error(f->error_code);
	print_frame(f);
	kprintf("  backtrace:\n  [0] 0x%016lx\n", f->rip);
	backtrace_from(f->rbp);
}

void trap_dispatch(struct trap_frame *f)
{
	int from_user = (f->cs & 3) == 3;
	if (f->vector >= VEC_APIC_FIRST && f->vector < 256) {
		if (vector_handlers[f->vector])
			vector_handlers[f->vector](f);
		if (from_user && user_return_hook)
			user_return_hook(f);
		return;
	}
	if (f->vector >= VEC_IRQ0 && f->vector < VEC_IRQ0 + 16) {
		irq_dispatch(f);
		if (from_user && user_return_hook)
			user_return_hook(f);
		return;
	}
	if (f->vector == VEC_NMI && nmi_hook && nmi_hook(f))
		return;
	unsigned c = arch_cpu_index();
	if (catchers[c].armed && catchers[c].vector == f->vector) {
		catchers[c].armed = 0;
		*catchers[c].out = (struct caught_fault){
			(unsigned)f->vector, f->error_code,
			f->vector == VEC_PF ? read_cr2() : 0, f->rip,
		};
		kjmp_jump(catchers[c].buf, 1);
	}
	if (f->vector < 32 && handlers[f->vector] && handlers[f->vector](f))
		return;
	if (from_user && user_fault_hook)
		user_fault_hook(f);     /* ends the process: does not return */
	static int reporting;
	if (reporting++)        /* the report itself faulted: say the least */
		panic("exception %lu at rip 0x%lx while reporting another", f->vector, f->rip);
	report(f);
	panic_at("trap.c", 0, "unhandled CPU exception %lu (%s)", f->vector, names[f->vector & 31]);
}
