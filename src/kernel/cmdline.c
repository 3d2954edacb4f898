/*
 * cmdline.c - finds key=value words in the command line. Plain C over a
 * string: the host tests run it as is.
 */
#include "kernel/cmdline.h"
#include "lib/kstring.h"
#include "lib/kprintf.h"

static const char *line = "";

void cmdline_init(const char *cmdline) { line = cmdline ? cmdline : ""; }

static size_t word_len(const char *s)
{
	size_t n = 0;
	while (s[n] && s[n] != ' ')
		n++;
	return n;
}

/* The first word "key=..." ; returns its value and sets *vlen, or 0 if none. */
static const char *find(const char *key, size_t *vlen)
{
	size_t klen = strlen(key);
	for (const char *s = line; *s; ) {
		while (*s == ' ')
			s++;
		size_t n = word_len(s);
		if (n > klen && s[klen] == '=' && !strncmp(s, key, klen)) {
			*vlen = n - klen - 1;
			return s + klen + 1;
		}
		s += n;
	}
	return 0;
}

int cmdline_get(const char *key, char *buf, size_t size)
{
	size_t vlen;
	const char *v = find(key, &vlen);
	if (!v)
		return 0;
	if (size == 0)
		return 1;
	if (vlen >= size)
		vlen = size - 1;
	memcpy(buf, v, vlen);
	buf[vlen] = '\0';
	return 1;
}

long cmdline_int(const char *key, long def)
{
	size_t vlen;
	const char *v = find(key, &vlen);
	long n = 0;
	if (!v || !vlen)
		return def;
	for (size_t i = 0; i < vlen; i++) {
		int d = v[i] - '0';
		if (d < 0 || d > 9 || n > (__LONG_MAX__ - d) / 10)
			return def;
		n = n * 10 + d;
	}
	return n;
}

int cmdline_is(const char *key, const char *s)
{
	size_t vlen;
	const char *v = find(key, &vlen);
	return v && vlen == strlen(s) && !strncmp(v, s, vlen);
}

unsigned cmdline_check(void (*report)(const char *msg))
{
	unsigned bad = 0;
	char word[41], msg[96];
	for (const char *s = line; *s; ) {
		while (*s == ' ')
			s++;
		size_t n = word_len(s), k = 0;
		while (k < n && s[k] != '=')
			k++;
		if (n && (k == n || k == 0)) {
			size_t w = n < sizeof(word) - 1 ? n : sizeof(word) - 1;
			memcpy(word, s, w);
			word[w] = '\0';
			ksnprintf(msg, sizeof(msg), "cmdline: '%s' is not key=value: ignored", word);
			report(msg);
			bad++;
		}
		s += n;
	}
	return bad;
}
