/* shell.h - mode=shell: a monitor on the serial console (docs/shell.md). */
#ifndef STRATA_KERNEL_SHELL_H
#define STRATA_KERNEL_SHELL_H

/* Read commands from COM1 and answer them until exit or quit, which end QEMU (EXIT_PASS). */
void shell_run(void) __attribute__((noreturn));

#endif
