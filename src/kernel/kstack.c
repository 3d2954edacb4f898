/*
 * kstack.c - kernel stacks over a guard page, for processes and for the
 * application processors.
 *
 * A guard page with the stack above it, in the kernel's area for large
 * allocations: reserve both as a guard, then back the upper part. A stack
 * overflow then faults on the guard and the VMM names it.
 */
#include "kernel/kernel.h"
#include "mm/arch.h"
#include "mm/vmm/vmm.h"

/* Returns the base (the guard page's address), or 0 if there is no memory. */
va_t kstack_alloc(size_t size)
{
	struct vm_space *k = vmm_kernel_space();
	struct vm_req g = { .len = PAGE_SIZE + size, .kind = VM_GUARD,
			    .lo = VMM_KLARGE_BASE, .hi = VMM_KMMIO_BASE };
	struct vm_req s = { .len = size, .kind = VM_ANON, .flags = VM_READ | VM_WRITE };
	va_t va;
	if (vmm_alloc(k, &g, &va))
		return 0;
	if (vmm_free(k, va + PAGE_SIZE, size)) {
		vmm_free(k, va, PAGE_SIZE + size);
		return 0;
	}
	if (vmm_alloc_fixed(k, va + PAGE_SIZE, &s)) {
		vmm_free(k, va, PAGE_SIZE);
		return 0;
	}
	return va;
}

void kstack_free(va_t base, size_t size)
{
	struct vm_space *k = vmm_kernel_space();
	vmm_free(k, base + PAGE_SIZE, size);
	vmm_free(k, base, PAGE_SIZE);
}
