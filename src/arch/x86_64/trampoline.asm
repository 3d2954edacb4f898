; trampoline.asm - an application processor's way from real mode to the
; kernel.
;
; A SIPI starts the AP in real mode at CS:IP = (vector << 8):0000, so this
; code is copied to a page below 1 MiB (the PMM lends one) and runs there
; at whatever address that is: the 16- and 32-bit parts find themselves
; from CS. The BSP fills the data block at the end of the page (offsets
; TR_* below, mirrored in smp.c) before each SIPI.
;
;   real mode  -> load the page's GDT, set CR0.PE, far jump to 32-bit code
;   32-bit     -> CR4.PAE (and LA57), CR3 = a root below 4 GiB (MOV CR3 in
;                 32-bit mode takes 32 bits) that maps this page where it
;                 is and the kernel half; EFER.LME (and NXE, since the
;                 kernel's tables use NX); CR0.PG|WP; far jump to 64-bit
;   64-bit     -> the stack and C entry the BSP left, in the higher half
;
; The C entry (smp.c: ap_entry) then loads the kernel's own root.

section .rodata
bits 16
global trampoline_start, trampoline_end

TR_GDTR    equ 0xf00                      ; limit (2) + base (4)
TR_PM_PTR  equ 0xf08                      ; 32-bit offset + selector
TR_LM_PTR  equ 0xf10                      ; 32-bit offset + selector
TR_CR3     equ 0xf18
TR_FLAGS   equ 0xf1c                      ; bit 0 NX, bit 1 LA57
TR_ENTRY   equ 0xf20
TR_STACK   equ 0xf28
TR_ARG     equ 0xf30
TR_GDT     equ 0xf40                      ; null, code32 0x08, data 0x10, code64 0x18

trampoline_start:
	cli
	cld
	mov ax, cs
	mov ds, ax
	xor ebx, ebx
	mov bx, ax
	shl ebx, 4                            ; ebx = the page's physical address
	lgdt [TR_GDTR]
	mov eax, cr0
	or eax, 1
	mov cr0, eax
	jmp dword far [TR_PM_PTR]

bits 32
pm32:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	mov eax, cr4
	or eax, 1 << 5                        ; PAE
	test dword [ebx + TR_FLAGS], 2
	jz .four
	or eax, 1 << 12                       ; LA57, before paging is on
.four:
	mov cr4, eax
	mov eax, [ebx + TR_CR3]
	mov cr3, eax
	mov ecx, 0xc0000080                   ; EFER
	rdmsr
	or eax, 1 << 8                        ; LME
	test dword [ebx + TR_FLAGS], 1
	jz .no_nx
	or eax, 1 << 11                       ; NXE
.no_nx:
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16)         ; PG, WP
	mov cr0, eax
	jmp far [ebx + TR_LM_PTR]

bits 64
lm64:
	mov rsp, [rbx + TR_STACK]
	mov edi, [rbx + TR_ARG]
	xor ebp, ebp                          ; the backtrace stops here
	mov rax, [rbx + TR_ENTRY]
	call rax
.halt:
	cli
	hlt
	jmp .halt
trampoline_end:

; Where the 32- and 64-bit parts start, as offsets into the page.
align 4
global trampoline_offsets
trampoline_offsets:
	dd pm32 - trampoline_start
	dd lm64 - trampoline_start
