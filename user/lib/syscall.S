/*
 * syscall.S - one stub for every system call: the C arguments (RDI, RSI,
 * RDX, RCX, R8, R9, then the number on the stack) moved to the kernel's
 * convention (number in RAX, fourth argument in R10, since `syscall` takes
 * RCX for the return address).
 */
	.text
	.globl syscall6
syscall6:
	mov %rdi, %rax
	mov %rsi, %rdi
	mov %rdx, %rsi
	mov %rcx, %rdx
	mov %r8, %r10
	mov %r9, %r8
	mov 8(%rsp), %r9
	syscall
	ret
