/* serial.h - the 16550 UART on COM1, polled: the kernel's console. */
#ifndef STRATA_DRIVERS_SERIAL_H
#define STRATA_DRIVERS_SERIAL_H

void serial_init(void);
void serial_putc(char c);   /* '\n' goes out as "\r\n" */
/* A received byte (0..255), or -1 if none is waiting: polled, never blocks. */
int serial_getc(void);

#endif
