/*
 * main.c - the VMM's host test: the code that boots, compiled for Linux
 * under ASan and UBSan, over fake RAM, the real buddy and the real paging
 * layer.
 */
#include <stdlib.h>
#include "vmm_test.h"
#include "mm_boot.h"

/* RAM from 1 MiB up, a CPU with NX and PGE, 4 levels, the kernel's tables, the VMM. */
void vmm_test_boot(size_t ram_mb)
{
	host_mm_boot(ram_mb << 20, false);
	vmm_set_fault_around(0);
}

int main(void)
{
	tree_tests();
	space_tests();
	fault_tests();
	inject_tests();
	policy_tests();
	fork_tests();
	object_tests();
	swap_tests();
	return check_finish();
}
