#include "kernel/cmdline.h"
#include "lib/kstring.h"

static const char *line = "";

void cmdline_init(const char *cmdline) { line = cmdline ? cmdline : ""; }

static size_t word_len(const char *s)
{
	size_t n = 0;
	while (s[n] && s[n] != ' ')
		n++;
	return n;
}

int cmdline_get(const char *key, char *buf, size_t size)
{
	size_t klen = strlen(key);
	for (const char *s = line; *s; ) {
		while (*s == ' ')
			s++;
		size_t n = word_len(s);
		if (n >= klen && !strncmp(s, key, klen) && (n == klen || s[klen] == '=')) {
			const char *v = n == klen ? "1" : s + klen + 1;
			size_t vlen = n == klen ? 1 : n - klen - 1;
			if (vlen >= size)
				vlen = size - 1;
			memcpy(buf, v, vlen);
			buf[vlen] = '\0';
			return 1;
		}
		s += n;
	}
	return 0;
}

long cmdline_int(const char *key, long def)
{
	char buf[32];
	if (!cmdline_get(key, buf, sizeof(buf)) || !buf[0])
		return def;
	long v = 0;
	for (const char *p = buf; *p; p++) {
		if (*p < '0' || *p > '9')
			return def;
		v = v * 10 + (*p - '0');
	}
	return v;
}

int cmdline_is(const char *key, const char *s)
{
	char buf[64];
	return cmdline_get(key, buf, sizeof(buf)) && !strcmp(buf, s);
}
