/*
 * kprintf.c - a small printf over a character sink.
 *
 * One formatter serves both the console and ksnprintf: it emits characters
 * through a callback, so the kernel needs no buffer and the host tests can
 * check the output byte for byte.
 */
#include <stdint.h>
#include "lib/kprintf.h"
#include "mm/arch.h"

struct out {
	void (*emit)(struct out *o, char c);
	char *buf;
	size_t size, len;
};

static void (*console_putc)(char c);

void console_set_sink(void (*putc)(char c)) { console_putc = putc; }

static void emit_console(struct out *o, char c)
{
	o->len++;
	if (console_putc)
		console_putc(c);
}

static void emit_buffer(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

struct spec {
	int width;
	char pad;       /* ' ' or '0' */
	int left;       /* '-' flag */
	int longs;      /* count of 'l' (z counts as one) */
};

static void emit_padded(struct out *o, const struct spec *sp, const char *s, int n)
{
	int fill = sp->width > n ? sp->width - n : 0;
	if (!sp->left && sp->pad == '0' && n > 0 && s[0] == '-') {
		o->emit(o, '-');
		s++, n--;
	}
	if (!sp->left)
		while (fill--)
			o->emit(o, sp->pad);
	while (n--)
		o->emit(o, *s++);
	if (sp->left)
		while (fill-- > 0)
			o->emit(o, ' ');
}

static int format_unsigned(char *tmp, uint64_t v, unsigned base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	char rev[24];
	int n = 0, i = 0;
	do {
		rev[n++] = digits[v % base];
		v /= base;
	} while (v);
	while (n)
		tmp[i++] = rev[--n];
	return i;
}

static uint64_t take_unsigned(va_list *ap, int longs)
{
	if (longs >= 1)
		return va_arg(*ap, unsigned long);
	return va_arg(*ap, unsigned int);
}

static int64_t take_signed(va_list *ap, int longs)
{
	if (longs >= 1)
		return va_arg(*ap, long);
	return va_arg(*ap, int);
}

static const char *parse_spec(const char *f, struct spec *sp)
{
	sp->width = 0, sp->pad = ' ', sp->left = 0, sp->longs = 0;
	for (;; f++) {
		if (*f == '-')
			sp->left = 1;
		else if (*f == '0')
			sp->pad = '0';
		else
			break;
	}
	while (*f >= '0' && *f <= '9')
		sp->width = sp->width * 10 + (*f++ - '0');
	for (;; f++) {
		if (*f == 'l')
			sp->longs++;
		else if (*f == 'z')
			sp->longs = 1;
		else
			break;
	}
	return f;
}

static void format_one(struct out *o, char conv, struct spec *sp, va_list *ap)
{
	char tmp[24];
	int n;
	switch (conv) {
	case 'd': case 'i': {
		int64_t v = take_signed(ap, sp->longs);
		uint64_t mag = v < 0 ? -(uint64_t)v : (uint64_t)v;
		n = 0;
		if (v < 0)
			tmp[n++] = '-';
		n += format_unsigned(tmp + n, mag, 10, 0);
		emit_padded(o, sp, tmp, n);
		break;
	}
	case 'u':
		emit_padded(o, sp, tmp, format_unsigned(tmp, take_unsigned(ap, sp->longs), 10, 0));
		break;
	case 'x': case 'X':
		emit_padded(o, sp, tmp, format_unsigned(tmp, take_unsigned(ap, sp->longs), 16, conv == 'X'));
		break;
	case 'p':
		tmp[0] = '0', tmp[1] = 'x';
		n = 2 + format_unsigned(tmp + 2, (uintptr_t)va_arg(*ap, void *), 16, 0);
		emit_padded(o, sp, tmp, n);
		break;
	case 's': {
		const char *s = va_arg(*ap, const char *);
		if (!s)
			s = "(null)";
		for (n = 0; s[n]; n++)
			;
		sp->pad = ' ';
		emit_padded(o, sp, s, n);
		break;
	}
	case 'c':
		tmp[0] = (char)va_arg(*ap, int);
		emit_padded(o, sp, tmp, 1);
		break;
	case '%':
		o->emit(o, '%');
		break;
	default:    /* unknown: show it rather than guess */
		o->emit(o, '%');
		o->emit(o, conv);
	}
}

static void format(struct out *o, const char *f, va_list ap)
{
	va_list aq;
	va_copy(aq, ap);
	while (*f) {
		if (*f != '%') {
			o->emit(o, *f++);
			continue;
		}
		struct spec sp;
		f = parse_spec(f + 1, &sp);
		if (!*f)
			break;
		format_one(o, *f++, &sp, &aq);
	}
	va_end(aq);
}

/*
 * One CPU prints at a time, so each kprintf's text arrives whole. The
 * owner is the CPU's index + 1; the owner may print again from inside
 * (an exception or NMI handler on the same CPU), and a panic takes the
 * console whoever held it (console_take), since the holder is stopped.
 */
static int console_owner;

static int console_enter(void)
{
	int me = (int)arch_cpu_index() + 1, free = 0;
	if (__atomic_load_n(&console_owner, __ATOMIC_RELAXED) == me)
		return 0;
	while (!__atomic_compare_exchange_n(&console_owner, &free, me, false,
					    __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)) {
		free = 0;
		arch_spin_relax();
	}
	return 1;
}

static void console_leave(int entered)
{
	if (entered)
		__atomic_store_n(&console_owner, 0, __ATOMIC_RELEASE);
}

void console_take(void) { __atomic_store_n(&console_owner, (int)arch_cpu_index() + 1, __ATOMIC_RELEASE); }

void kvprintf(const char *fmt, va_list ap)
{
	struct out o = { emit_console, 0, 0, 0 };
	int entered = console_enter();
	format(&o, fmt, ap);
	console_leave(entered);
}

void kprintf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	kvprintf(fmt, ap);
	va_end(ap);
}

int ksnprintf(char *buf, size_t size, const char *fmt, ...)
{
	struct out o = { emit_buffer, buf, size, 0 };
	va_list ap;
	va_start(ap, fmt);
	format(&o, fmt, ap);
	va_end(ap);
	if (size)
		buf[o.len < size ? o.len : size - 1] = '\0';
	return (int)o.len;
}
