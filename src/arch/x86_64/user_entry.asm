; user_entry.asm - the way in from ring 3 by `syscall`, the way back by
; `sysret`, and the switch between two kernel stacks.
;
; `syscall` leaves the user's RIP in RCX and RFLAGS in R11, clears the
; flags in IA32_FMASK (IF among them: the kernel runs system calls with
; interrupts off) and does not touch RSP. So the entry first moves to the
; current process's kernel stack (the per-CPU block's kstack, which the
; scheduler keeps equal to the TSS's rsp0; percpu.h), then builds the same
; struct trap_frame an interrupt would (src/arch/x86_64/trap.h), so the
; scheduler and the kill path see one format. swapgs first: GS is the
; user's until then. Interrupts stay off (FMASK) until sysret, so nothing
; can see the moment between the two swapgs.

PERCPU_KSTACK   equ 16                    ; percpu.h
PERCPU_USER_RSP equ 24

section .text
bits 64
extern syscall_dispatch

global syscall_entry
syscall_entry:
	swapgs
	mov [gs:PERCPU_USER_RSP], rsp
	mov rsp, [gs:PERCPU_KSTACK]
	push qword 0x1b                       ; ss: user data
	push qword [gs:PERCPU_USER_RSP]       ; rsp
	push r11                              ; rflags
	push qword 0x23                       ; cs: user code
	push rcx                              ; rip
	push qword 0                          ; error code
	push qword 256                        ; vector: VEC_SYSCALL
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
	mov rdi, rsp
	cld
	call syscall_dispatch
	; syscall_dispatch has set the frame's RCX to its RIP and R11 to its
	; RFLAGS, and made sure RIP is a user address: sysret would otherwise
	; raise #GP in ring 0 with the user's RSP loaded (the SDM's warning
	; about a non-canonical RCX).
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
	mov rsp, [rsp + 24]                   ; the user's RSP; IF is still 0
	swapgs
	o64 sysret

; void swtch(uint64_t *save, uint64_t next): save this kernel stack's
; callee-saved registers and RSP in *save, continue on next's. The other
; registers are the C caller's to lose.
global swtch
swtch:
	push rbp
	push rbx
	push r12
	push r13
	push r14
	push r15
	mov [rdi], rsp
	mov rsp, rsi
	pop r15
	pop r14
	pop r13
	pop r12
	pop rbx
	pop rbp
	ret
