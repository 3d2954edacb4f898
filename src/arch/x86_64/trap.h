/* trap.h - descriptor tables, exception entry and the saved CPU state. */
#ifndef STRATA_ARCH_TRAP_H
#define STRATA_ARCH_TRAP_H

#include <stdint.h>

struct trap_frame {
	uint64_t r15, r14, r13, r12, r11, r10, r9, r8;
	uint64_t rbp, rdi, rsi, rdx, rcx, rbx, rax;
	uint64_t vector, error_code;
	uint64_t rip, cs, rflags, rsp, ss;      /* pushed by the CPU */
};

#define VEC_DE 0
#define VEC_UD 6
#define VEC_DF 8
#define VEC_GP 13
#define VEC_PF 14
#define VEC_NM 7
#define VEC_NMI 2
#define VEC_IRQ0 32             /* the legacy PIC's IRQs 0-15 are vectors 32-47 */
/* The local APIC's vectors (apic.h): 0xf0 and up, above every device's. */
#define VEC_APIC_FIRST 0xf0
#define VEC_APIC_TIMER 0xf0
#define VEC_IPI_CALL   0xf1     /* "look at your mailbox": TLB shootdowns (smp.c) */
#define VEC_IPI_STOP   0xf2     /* fixed-IPI fallback of the panic stop */
#define VEC_SPURIOUS   0xff
#define VEC_SYSCALL 256         /* not a vector: marks a frame built by syscall_entry */

#define USER_CS 0x23
#define USER_DS 0x1b

/* #PF error code bits (Intel SDM vol. 3, 4.7) */
#define PF_P    (1u << 0)
#define PF_W    (1u << 1)
#define PF_U    (1u << 2)
#define PF_RSVD (1u << 3)
#define PF_I    (1u << 4)
#define PF_PK   (1u << 5)
#define PF_SS   (1u << 6)

void gdt_init(void);
void idt_init(void);
void idt_load(void);


/*
 * syscall/sysret: EFER.SCE, STAR (kernel CS 0x08, user CS 0x23 / SS 0x1b),
 * LSTAR = syscall_entry, FMASK (IF, TF, DF, AC, NT cleared on entry); and
 * CR0.EM, so that x87 and SSE instructions in ring 3 fault (#NM, #UD):
 * the kernel keeps no FPU state per process. The kernel stack the entry
 * moves to is the per-CPU block's (percpu.h, cpu_set_kernel_stack).
 */
void syscall_init(void);

/* Continue on another kernel stack (user_entry.asm). */
void swtch(uint64_t *save, uint64_t next);
/* Restores a struct trap_frame at RSP and returns from it with iretq (isr.asm). */
extern char trap_return[];

/*
 * Legacy PIC interrupts (irq.c): remapped to vectors 32-47, all masked
 * but those with a handler. The PIT ticks IRQ 0 at hz.
 */
typedef void (*irq_handler_t)(struct trap_frame *f);
void irq_init(void);
void irq_set_handler(unsigned irq, irq_handler_t h);
void pit_start(unsigned hz);
void irq_dispatch(struct trap_frame *f);        /* trap.c: a vector of the 8259's range */

/*
 * What happens in ring 3 is the process layer's business: an exception
 * from user mode that no handler resolved goes to the fault hook (which
 * ends the process, so it does not return); after any interrupt from user
 * mode, the return hook may switch processes (preemption).
 */
void trap_set_user_hooks(void (*fault)(struct trap_frame *f), void (*ret)(struct trap_frame *f));
const char *trap_name(unsigned vector);

/*
 * A handler a higher layer installs for one vector (the VMM for #PF).
 * Returns 1 if it resolved the exception and execution may resume.
 */
typedef int (*trap_handler_t)(struct trap_frame *f);
void trap_set_handler(unsigned vector, trap_handler_t h);
/* The handler of a local APIC vector (VEC_APIC_FIRST..255); it sends its own EOI. */
void trap_set_vector_handler(unsigned vector, irq_handler_t h);
/* Asked first about every NMI; returns 1 if it was the hook's (a panic stop never returns). */
void trap_set_nmi_hook(trap_handler_t h);

struct kjmp { uint64_t regs[8]; };
int kjmp_set(struct kjmp *buf) __attribute__((returns_twice));
void kjmp_jump(struct kjmp *buf, int value) __attribute__((noreturn));

/* Catch the next exception with this vector: the trap code jumps to buf. */
struct caught_fault {
	unsigned vector;
	uint64_t error_code, cr2, rip;
};
void trap_catch_arm(unsigned vector, struct kjmp *buf, struct caught_fault *out);
void trap_catch_disarm(void);

void backtrace_from(uint64_t rbp);

/* Called by every stub of isr.asm with the frame it pushed. */
void trap_dispatch(struct trap_frame *f);

#endif
