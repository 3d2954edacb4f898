/*
 * printf.c - formatted output. vsnprintf does the formatting; printf and
 * puts gather a line and write it with one write(1, ...), so lines of
 * processes sharing the console never interleave mid-line.
 */
#include "strata.h"

struct out {
	char *buf;
	size_t size, len;       /* len counts every byte, even those past size */
};

static void put(struct out *o, char c)
{
	if (o->len + 1 < o->size)
		o->buf[o->len] = c;
	o->len++;
}

static void pad(struct out *o, char c, int n)
{
	while (n-- > 0)
		put(o, c);
}

/* One converted field: s (n bytes) padded to width. */
static void field(struct out *o, const char *s, int n, int width, int left, char padc)
{
	if (!left && padc == '0' && n > 0 && s[0] == '-') {
		put(o, '-');
		s++, n--, width--;
	}
	if (!left)
		pad(o, padc, width - n);
	for (int i = 0; i < n; i++)
		put(o, s[i]);
	if (left)
		pad(o, ' ', width - n);
}

/* v in base into tmp's end; returns the digits' start. */
static char *utoa(char *end, unsigned long v, int base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";

	*--end = 0;
	do {
		*--end = digits[v % base];
		v /= base;
	} while (v);
	return end;
}

int vsnprintf(char *buf, size_t size, const char *fmt, va_list ap)
{
	struct out o = { buf, size, 0 };
	char tmp[32];

	for (; *fmt; fmt++) {
		if (*fmt != '%') {
			put(&o, *fmt);
			continue;
		}
		int left = 0, width = 0, lng = 0;
		char padc = ' ';
		fmt++;
		for (; *fmt == '-' || *fmt == '0'; fmt++) {
			if (*fmt == '-')
				left = 1;
			else
				padc = '0';
		}
		for (; *fmt >= '0' && *fmt <= '9'; fmt++)
			width = width * 10 + (*fmt - '0');
		for (; *fmt == 'l' || *fmt == 'z'; fmt++)
			lng = 1;
		if (left)
			padc = ' ';

		char *s;
		unsigned long u;
		long d;
		switch (*fmt) {
		case 'd':
		case 'i':
			d = lng ? va_arg(ap, long) : va_arg(ap, int);
			u = d < 0 ? -(unsigned long)d : (unsigned long)d;
			s = utoa(tmp + sizeof(tmp), u, 10, 0);
			if (d < 0)
				*--s = '-';
			field(&o, s, strlen(s), width, left, padc);
			break;
		case 'u':
		case 'x':
		case 'X':
			u = lng ? va_arg(ap, unsigned long) : va_arg(ap, unsigned int);
			s = utoa(tmp + sizeof(tmp), u, *fmt == 'u' ? 10 : 16, *fmt == 'X');
			field(&o, s, strlen(s), width, left, padc);
			break;
		case 'p':
			u = (unsigned long)va_arg(ap, void *);
			s = utoa(tmp + sizeof(tmp), u, 16, 0);
			*--s = 'x';
			*--s = '0';
			field(&o, s, strlen(s), width, left, ' ');
			break;
		case 's':
			s = va_arg(ap, char *);
			if (!s)
				s = "(null)";
			field(&o, s, strlen(s), width, left, ' ');
			break;
		case 'c':
			tmp[0] = (char)va_arg(ap, int);
			field(&o, tmp, 1, width, left, ' ');
			break;
		case '%':
			put(&o, '%');
			break;
		case 0:
			fmt--;          /* a lone '%' at the end */
			break;
		default:
			put(&o, '%');
			put(&o, *fmt);
			break;
		}
	}
	if (size)
		buf[o.len < size ? o.len : size - 1] = 0;
	return (int)o.len;
}

int snprintf(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return n;
}

/* The line being gathered for fd 1. */
static char line[256];
static size_t line_len;

void flush_line(void)
{
	if (line_len)
		write(1, line, line_len);
	line_len = 0;
}

static void out_bytes(const char *s, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		line[line_len++] = s[i];
		if (s[i] == '\n' || line_len == sizeof(line))
			flush_line();
	}
}

int printf(const char *fmt, ...)
{
	char buf[256];
	va_list ap;

	va_start(ap, fmt);
	int n = vsnprintf(buf, sizeof(buf), fmt, ap);
	va_end(ap);
	out_bytes(buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
	return n;
}

int puts(const char *s)
{
	out_bytes(s, strlen(s));
	out_bytes("\n", 1);
	return 0;
}
