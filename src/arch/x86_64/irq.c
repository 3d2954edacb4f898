/*
 * irq.c - the legacy 8259 PIC pair and the 8254 PIT: the timer that drives
 * preemption until SMP brings the local APIC timer.
 *
 * The PICs are remapped so that IRQs 0-15 arrive as vectors 32-47, clear
 * of the CPU's exceptions, and every line is masked but those given a
 * handler. A spurious IRQ 7 or 15 (the in-service bit is clear) is not
 * acknowledged, as the 8259's data sheet says.
 */
#include "arch/x86_64/trap.h"
#include "arch/x86_64/io.h"

#define PIC1_CMD 0x20
#define PIC1_DATA 0x21
#define PIC2_CMD 0xa0
#define PIC2_DATA 0xa1
#define PIC_EOI 0x20
#define PIC_READ_ISR 0x0b

#define PIT_CH0 0x40
#define PIT_CMD 0x43
#define PIT_HZ 1193182u

static irq_handler_t irq_handlers[16];
static uint16_t irq_mask = 0xffff & ~(1u << 2);     /* IRQ 2 is the cascade */

static void pic_write_mask(void)
{
	outb(PIC1_DATA, irq_mask & 0xff);
	outb(PIC2_DATA, irq_mask >> 8);
}

void irq_init(void)
{
	outb(PIC1_CMD, 0x11);           /* ICW1: edge, cascade, ICW4 follows */
	outb(PIC2_CMD, 0x11);
	outb(PIC1_DATA, VEC_IRQ0);      /* ICW2: vector bases */
	outb(PIC2_DATA, VEC_IRQ0 + 8);
	outb(PIC1_DATA, 4);             /* ICW3: the slave on IRQ 2 */
	outb(PIC2_DATA, 2);
	outb(PIC1_DATA, 1);             /* ICW4: 8086 mode */
	outb(PIC2_DATA, 1);
	pic_write_mask();
}

void irq_set_handler(unsigned irq, irq_handler_t h)
{
	irq_handlers[irq] = h;
	if (h)
		irq_mask &= ~(1u << irq);
	else
		irq_mask |= 1u << irq;
	pic_write_mask();
}

void pit_start(unsigned hz)
{
	unsigned div = PIT_HZ / hz;
	outb(PIT_CMD, 0x34);            /* channel 0, lo/hi byte, rate generator */
	outb(PIT_CH0, div & 0xff);
	outb(PIT_CH0, div >> 8);
}

static int spurious(unsigned irq)
{
	if (irq != 7 && irq != 15)
		return 0;
	uint16_t cmd = irq == 7 ? PIC1_CMD : PIC2_CMD;
	outb(cmd, PIC_READ_ISR);
	if (inb(cmd) & 0x80)
		return 0;
	if (irq == 15)
		outb(PIC1_CMD, PIC_EOI);        /* the master did see the cascade */
	return 1;
}

void irq_dispatch(struct trap_frame *f)
{
	unsigned irq = f->vector - VEC_IRQ0;
	if (irq >= 16 || spurious(irq))
		return;
	if (irq >= 8)
		outb(PIC2_CMD, PIC_EOI);
	outb(PIC1_CMD, PIC_EOI);
	if (irq_handlers[irq])
		irq_handlers[irq](f);
}
