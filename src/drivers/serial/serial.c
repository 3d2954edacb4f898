/* serial.c - COM1 at 115200 8N1, polled; no interrupts, so it works in any state. */
#include "drivers/serial/serial.h"
#include "arch/x86_64/io.h"

#define COM1 0x3f8
enum { DATA = 0, IER = 1, FCR = 2, LCR = 3, MCR = 4, LSR = 5 };
#define LCR_DLAB 0x80
#define LSR_DATA_READY 0x01
#define LSR_THR_EMPTY 0x20

void serial_init(void)
{
	outb(COM1 + IER, 0x00);
	outb(COM1 + LCR, LCR_DLAB);
	outb(COM1 + DATA, 1);          /* divisor 1: 115200 baud */
	outb(COM1 + IER, 0);
	outb(COM1 + LCR, 0x03);        /* 8 bits, no parity, 1 stop */
	outb(COM1 + FCR, 0xc7);        /* FIFOs on and cleared */
	outb(COM1 + MCR, 0x03);        /* DTR, RTS */
}

static void put_raw(char c)
{
	while (!(inb(COM1 + LSR) & LSR_THR_EMPTY))
		;
	outb(COM1 + DATA, (uint8_t)c);
}

void serial_putc(char c)
{
	if (c == '\n')
		put_raw('\r');
	put_raw(c);
}

int serial_getc(void)
{
	if (!(inb(COM1 + LSR) & LSR_DATA_READY))
		return -1;
	return inb(COM1 + DATA);
}
