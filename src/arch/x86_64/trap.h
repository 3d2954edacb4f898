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
