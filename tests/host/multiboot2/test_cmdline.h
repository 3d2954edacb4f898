/* test_cmdline.h - the command-line tests, run by test_multiboot2.c's main. */
void test_cmdline_all(void);
