; isr.asm - an entry point for each of the 256 vectors: the 32 exceptions,
; the legacy PIC's interrupts (32-47) and the local APIC's (trap.h).
;
; Each stub makes the stack look the same (an error code, zero where the
; CPU pushes none, then the vector), saves the general registers in the
; order of struct trap_frame, and calls trap_dispatch(frame). trap_return
; restores such a frame and returns with iretq: a new process starts there
; (src/proc/sched.c builds it a frame on its kernel stack).

section .text
bits 64
extern trap_dispatch

%macro ISR_NOERR 1
isr%1:
	push 0
	push %1
	jmp isr_common
%endmacro

%macro ISR_ERR 1
isr%1:
%if %1 == 8
	push %1
	jmp isr_paranoid
%else
	push %1
	jmp isr_common
%endif
%endmacro

%macro ISR_PARANOID 1
isr%1:
	push 0
	push %1
	jmp isr_paranoid
%endmacro

; Vectors 8, 10-14, 17, 21, 29 and 30 come with an error code.
%assign i 0
%rep 256
%if i == 8 || (i >= 10 && i <= 14) || i == 17 || i == 21 || i == 29 || i == 30
ISR_ERR i
%elif i == 2 || i == 18
ISR_PARANOID i
%else
ISR_NOERR i
%endif
%assign i i + 1
%endrep

%macro SAVE_REGS 0
	push rax
	push rbx
	push rcx
	push rdx
	push rsi
	push rdi
	push rbp
	push r8
	push r9
	push r10
	push r11
	push r12
	push r13
	push r14
	push r15
%endmacro

%macro RESTORE_REGS 0
	pop r15
	pop r14
	pop r13
	pop r12
	pop r11
	pop r10
	pop r9
	pop r8
	pop rbp
	pop rdi
	pop rsi
	pop rdx
	pop rcx
	pop rbx
	pop rax
	add rsp, 16                           ; vector and error code
%endmacro

; GS: the kernel's per-CPU block while in the kernel, the user's GS base
; in ring 3 (swapgs exchanges the two). Code that came from ring 3 (CS
; RPL 3 in the frame) swaps on the way in and on the way out.
isr_common:
	test byte [rsp + 24], 3               ; the interrupted CS
	jz .kernel
	swapgs
.kernel:
	SAVE_REGS
	mov rdi, rsp
	cld
	call trap_dispatch
global trap_return
trap_return:
	RESTORE_REGS
	test byte [rsp + 8], 3
	jz .to_kernel
	swapgs
.to_kernel:
	iretq

; NMI and machine check can arrive anywhere, also between a swapgs and the
; sysret or iretq after it, where CS says kernel but GS is still the
; user's. So they ask the MSR: a user GS base is below 4 GiB (ring 3 can
; only load one from a descriptor), the kernel's is a higher-half address.
; The double fault (8) never returns, so it takes this path too.
isr_paranoid:
	SAVE_REGS
	xor ebx, ebx
	mov ecx, 0xc0000101                   ; IA32_GS_BASE
	rdmsr
	test edx, edx
	jnz .have_kernel_gs
	swapgs
	mov ebx, 1
.have_kernel_gs:
	mov rdi, rsp
	cld
	call trap_dispatch
	test ebx, ebx                         ; rbx is callee-saved
	jz .done
	swapgs
.done:
	RESTORE_REGS
	iretq

section .rodata
global isr_table
isr_table:
%assign i 0
%rep 256
	dq isr %+ i
%assign i i + 1
%endrep
