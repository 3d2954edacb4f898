/* test_initrd.h - the ustar reader tests, run by test_elf.c main. */
void test_initrd_all(void);
