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
#define VEC_IRQ0 32             /* the legacy PIC's IRQs 0-15 are vectors 32-47 */
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

/* The stack the CPU loads when an interrupt or exception leaves ring 3. */
void tss_set_rsp0(uint64_t rsp0);

/*
 * syscall/sysret: EFER.SCE, STAR (kernel CS 0x08, user CS 0x23 / SS 0x1b),
 * LSTAR = syscall_entry, FMASK (IF, TF, DF, AC, NT cleared on entry); and
 * CR0.EM, so that x87 and SSE instructions in ring 3 fault (#NM, #UD):
 * the kernel keeps no FPU state per process. syscall_kstack is the kernel
 * stack the entry moves to (the scheduler sets it with tss_set_rsp0).
 */
void syscall_init(void);
extern uint64_t syscall_kstack;

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
