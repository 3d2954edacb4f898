; jump.asm - a setjmp/longjmp pair for the kernel.
;
; The self-tests use it to survive a CPU exception they provoke on purpose:
; the trap handler jumps back to where the test armed it, dropping the
; exception frame, which lives on the same stack below the saved RSP.

section .text
bits 64

; int kjmp_set(struct kjmp *buf): 0 when armed, the value given to kjmp_jump later.
global kjmp_set
kjmp_set:
	mov [rdi + 0], rbx
	mov [rdi + 8], rbp
	mov [rdi + 16], r12
	mov [rdi + 24], r13
	mov [rdi + 32], r14
	mov [rdi + 40], r15
	lea rax, [rsp + 8]                    ; the caller's RSP after return
	mov [rdi + 48], rax
	mov rax, [rsp]                        ; the return address
	mov [rdi + 56], rax
	xor eax, eax
	ret

; void kjmp_jump(struct kjmp *buf, int value): returns from kjmp_set again.
global kjmp_jump
kjmp_jump:
	mov rbx, [rdi + 0]
	mov rbp, [rdi + 8]
	mov r12, [rdi + 16]
	mov r13, [rdi + 24]
	mov r14, [rdi + 32]
	mov r15, [rdi + 40]
	mov rsp, [rdi + 48]
	mov eax, esi
	jmp [rdi + 56]
