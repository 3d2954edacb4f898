; boot.asm - from GRUB's 32-bit protected mode to the higher-half C kernel.
;
; GRUB enters _start in 32-bit protected mode, paging off, with EAX holding
; the Multiboot2 magic and EBX the physical address of the information
; block. This stub checks both, builds the early page tables, turns on long
; mode and jumps to kmain() at its higher-half address.
;
; Early address space (4 levels; 5 when the CPU has LA57, see below):
;   0x0000000000000000  identity map of the first 64 GiB (2 MiB pages), for
;                       the stub only: the paging layer removes it
;   0xffff800000000000  HHDM: physical 0..64 GiB (2 MiB pages); same PDPT
;   0xffffffff80000000  kernel window: physical 0..8 MiB in 4 KiB pages, so
;                       the page under the boot stack can be left unmapped
;
; With LA57 a PML5 is put on top: PML5[0] and PML5[511] both point at the
; one PML4, so every address above means the same thing in 5 levels.

MB2_MAGIC      equ 0xe85250d6
MB2_BOOT_MAGIC equ 0x36d76289
KERNEL_VMA     equ 0xffffffff80000000
HHDM_GIB       equ 64
PTE_P          equ 1 << 0
PTE_W          equ 1 << 1
PTE_PS         equ 1 << 7
COM1           equ 0x3f8
DEBUG_EXIT     equ 0xf4

section .multiboot2
align 8
mb2_header:
	dd MB2_MAGIC
	dd 0                                  ; architecture: i386 protected mode
	dd mb2_header_end - mb2_header
	dd -(MB2_MAGIC + 0 + (mb2_header_end - mb2_header))
	dw 0, 0                               ; end tag
	dd 8
mb2_header_end:

section .boot.bss nobits alloc write
alignb 4096
global boot_pml5, boot_pml4, boot_pdpt_hhdm, boot_pdpt_kernel, boot_pd_kernel, boot_pt_kernel, boot_pd_hhdm
global boot_tables_start, boot_tables_end
boot_tables_start:
boot_pml5:        resb 4096
boot_pml4:        resb 4096
boot_pdpt_hhdm:   resb 4096
boot_pdpt_kernel: resb 4096
boot_pd_kernel:   resb 4096
boot_pt_kernel:   resb 4096 * 4
boot_pd_hhdm:     resb 4096 * HHDM_GIB
boot_tables_end:

section .bss
alignb 4096
global boot_stack_guard, boot_stack_bottom, boot_stack_top
boot_stack_guard:  resb 4096              ; left unmapped: an overflow faults
boot_stack_bottom: resb 16384
boot_stack_top:

section .boot.data
global boot_mb2_magic, boot_mb2_info, boot_cpu_flags
boot_mb2_magic: dd 0
boot_mb2_info:  dd 0
boot_cpu_flags: dd 0                      ; bit 0 NX, bit 1 LA57
align 8
gdt64:
	dq 0
	dq 0x00af9a000000ffff                 ; 0x08: 64-bit code, ring 0
	dq 0x00cf92000000ffff                 ; 0x10: data, ring 0
gdt64_end:
gdt64_ptr:
	dw gdt64_end - gdt64 - 1
	dq gdt64
msg_magic:    db "Strata: not started by a Multiboot2 loader (bad magic in EAX); halting", 13, 10, 0
msg_longmode: db "Strata: this CPU has no long mode (CPUID 0x80000001 EDX bit 29); halting", 13, 10, 0

section .boot.text
bits 32
global _start
_start:
	cli
	cld
	mov [boot_mb2_magic], eax
	mov [boot_mb2_info], ebx
	mov esp, boot_stack_top - KERNEL_VMA
	cmp eax, MB2_BOOT_MAGIC
	jne .bad_magic
	call check_long_mode
	test eax, eax
	jz .no_long_mode
	call build_tables
	jmp enter_long_mode
.bad_magic:
	mov esi, msg_magic
	jmp fail32
.no_long_mode:
	mov esi, msg_longmode
	jmp fail32

; EAX = 1 if the CPU has long mode. Also records NX and LA57 in boot_cpu_flags.
check_long_mode:
	pushfd                                ; CPUID exists if EFLAGS.ID can flip
	pop eax
	mov ecx, eax
	xor eax, 1 << 21
	push eax
	popfd
	pushfd
	pop eax
	push ecx
	popfd
	xor eax, ecx
	jz .no
	mov eax, 0x80000000
	cpuid
	cmp eax, 0x80000001
	jb .no
	mov eax, 0x80000001
	cpuid
	test edx, 1 << 29
	jz .no
	test edx, 1 << 20
	jz .nx_done
	or dword [boot_cpu_flags], 1
.nx_done:
	xor eax, eax
	cpuid
	cmp eax, 7
	jb .yes
	mov eax, 7
	xor ecx, ecx
	cpuid
	test ecx, 1 << 16
	jz .yes
	or dword [boot_cpu_flags], 2
.yes:
	mov eax, 1
	ret
.no:
	xor eax, eax
	ret

build_tables:
	; PML4[0] and PML4[256] share the HHDM PDPT: identity and HHDM alike.
	mov eax, boot_pdpt_hhdm
	or eax, PTE_P | PTE_W
	mov [boot_pml4], eax
	mov [boot_pml4 + 256 * 8], eax
	mov eax, boot_pdpt_kernel
	or eax, PTE_P | PTE_W
	mov [boot_pml4 + 511 * 8], eax
	; PML5[0] and PML5[511] -> the PML4 (used only with LA57).
	mov eax, boot_pml4
	or eax, PTE_P | PTE_W
	mov [boot_pml5], eax
	mov [boot_pml5 + 511 * 8], eax
	; HHDM_GIB page directories of 2 MiB pages, physical 0..HHDM_GIB GiB.
	xor ecx, ecx
.pdpt_loop:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pd_hhdm
	or eax, PTE_P | PTE_W
	mov [boot_pdpt_hhdm + ecx * 8], eax
	inc ecx
	cmp ecx, HHDM_GIB
	jb .pdpt_loop
	xor ecx, ecx                          ; ecx = index of the 2 MiB page
.pd_loop:
	mov eax, ecx
	shl eax, 21                           ; low 32 bits of the address
	or eax, PTE_P | PTE_W | PTE_PS
	mov edx, ecx
	shr edx, 11                           ; high bits of the address
	mov [boot_pd_hhdm + ecx * 8], eax
	mov [boot_pd_hhdm + ecx * 8 + 4], edx
	inc ecx
	cmp ecx, HHDM_GIB * 512
	jb .pd_loop
	; Kernel window: PDPT[510] -> PD -> 4 page tables of 4 KiB pages.
	mov eax, boot_pd_kernel
	or eax, PTE_P | PTE_W
	mov [boot_pdpt_kernel + 510 * 8], eax
	xor ecx, ecx
.kpd_loop:
	mov eax, ecx
	shl eax, 12
	add eax, boot_pt_kernel
	or eax, PTE_P | PTE_W
	mov [boot_pd_kernel + ecx * 8], eax
	inc ecx
	cmp ecx, 4
	jb .kpd_loop
	xor ecx, ecx
.kpt_loop:
	mov eax, ecx
	shl eax, 12
	or eax, PTE_P | PTE_W
	mov [boot_pt_kernel + ecx * 8], eax
	inc ecx
	cmp ecx, 4 * 512
	jb .kpt_loop
	mov eax, boot_stack_guard - KERNEL_VMA
	shr eax, 12
	mov dword [boot_pt_kernel + eax * 8], 0
	ret

enter_long_mode:
	mov eax, cr4
	or eax, 1 << 5                        ; PAE
	mov edx, boot_pml4
	test dword [boot_cpu_flags], 2
	jz .four_levels
	or eax, 1 << 12                       ; LA57: must be set before paging is on
	mov edx, boot_pml5
.four_levels:
	mov cr4, eax
	mov cr3, edx
	mov ecx, 0xc0000080                   ; EFER
	rdmsr
	or eax, 1 << 8                        ; LME
	test dword [boot_cpu_flags], 1
	jz .no_nx
	or eax, 1 << 11                       ; NXE
.no_nx:
	wrmsr
	mov eax, cr0
	or eax, (1 << 31) | (1 << 16)         ; PG, WP
	mov cr0, eax
	lgdt [gdt64_ptr]
	jmp 0x08:long_mode_low

; ESI = message. Says it on COM1, asks QEMU to exit with failure, halts.
fail32:
	mov dx, COM1 + 3
	mov al, 0x03                          ; 8N1; the divisor is left as the firmware set it
	out dx, al
.next:
	lodsb
	test al, al
	jz .done
	mov dx, COM1 + 5
	mov ah, al
.wait:
	in al, dx
	test al, 0x20
	jz .wait
	mov al, ah
	mov dx, COM1
	out dx, al
	jmp .next
.done:
	mov dx, DEBUG_EXIT
	mov eax, 0x11
	out dx, eax
.halt:
	hlt
	jmp .halt

bits 64
long_mode_low:
	mov rax, long_mode_high
	jmp rax

section .text
extern kmain
long_mode_high:
	mov ax, 0x10
	mov ds, ax
	mov es, ax
	mov ss, ax
	xor ax, ax
	mov fs, ax
	mov gs, ax
	mov rsp, boot_stack_top
	xor rbp, rbp                          ; the backtrace stops here
	mov edi, [boot_mb2_info]
	mov esi, [boot_mb2_magic]
	call kmain
.halt:
	cli
	hlt
	jmp .halt
