/*
 * crt0.S - a program's first instruction. The kernel enters here with
 * every register zero and RSP at argc; above it argv[], a NULL, envp[], a
 * NULL, and the auxiliary vector (src/proc/exec.c lays it out).
 */
	.section .text.start, "ax"
	.globl _start
_start:
	xor %ebp, %ebp                  /* the end of every backtrace */
	mov (%rsp), %rdi                /* argc */
	lea 8(%rsp), %rsi               /* argv */
	lea 8(%rsi,%rdi,8), %rdx        /* envp: past argv's NULL */
	and $-16, %rsp                  /* the ABI's alignment at a call */
	call main
	mov %eax, %edi
	call exit
	ud2
