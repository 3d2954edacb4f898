/*
 * crt0.S - a program's first instruction. The kernel enters here with
 * every register zero and RSP at argc; above it argv[], a NULL, envp[], a
 * NULL, and the auxiliary vector (src/proc/exec.c lays it out).
 */
	.section .text.start, "ax"
	.globl _start
_start:
	/* Keep the registers as the kernel left them, before any is used:
	 * a test checks that none leaks kernel values. RSP is not kept. */
	mov %rax, __entry_regs+0*8(%rip)
	mov %rbx, __entry_regs+1*8(%rip)
	mov %rcx, __entry_regs+2*8(%rip)
	mov %rdx, __entry_regs+3*8(%rip)
	mov %rsi, __entry_regs+4*8(%rip)
	mov %rdi, __entry_regs+5*8(%rip)
	mov %rbp, __entry_regs+6*8(%rip)
	mov %r8,  __entry_regs+7*8(%rip)
	mov %r9,  __entry_regs+8*8(%rip)
	mov %r10, __entry_regs+9*8(%rip)
	mov %r11, __entry_regs+10*8(%rip)
	mov %r12, __entry_regs+11*8(%rip)
	mov %r13, __entry_regs+12*8(%rip)
	mov %r14, __entry_regs+13*8(%rip)
	mov %r15, __entry_regs+14*8(%rip)

	xor %ebp, %ebp                  /* the end of every backtrace */
	mov (%rsp), %rdi                /* argc */
	lea 8(%rsp), %rsi               /* argv */
	lea 8(%rsi,%rdi,8), %rdx        /* envp: past argv's NULL */
	mov %rdx, environ(%rip)
	mov %rdx, %rax
1:	cmpq $0, (%rax)                 /* the auxv follows envp's NULL */
	lea 8(%rax), %rax
	jne 1b
	mov %rax, __auxv(%rip)
	and $-16, %rsp                  /* the ABI's alignment at a call */
	call main
	mov %eax, %edi
	call exit
	ud2

	.bss
	.balign 8
	.globl __entry_regs, environ, __auxv
__entry_regs:
	.zero 15*8
environ:
	.zero 8
__auxv:
	.zero 8
