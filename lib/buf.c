#include "buf.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void oom(void)
{
	fputs("syncctl: out of memory\n", stderr);
	abort();
}

void *sc_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (!p)
		oom();
	return p;
}

void *sc_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (!p)
		oom();
	return p;
}

void *sc_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (!q)
		oom();
	return q;
}

char *sc_xstrdup(const char *s)
{
	return sc_xstrndup(s, strlen(s));
}

char *sc_xstrndup(const char *s, size_t n)
{
	char *p = sc_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *sc_xasprintf(const char *fmt, ...)
{
	sc_buf b = SC_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return sc_xstrdup("");
	b.data = sc_xmalloc((size_t)n + 1);
	va_start(ap, fmt);
	vsnprintf(b.data, (size_t)n + 1, fmt, ap);
	va_end(ap);
	return b.data;
}

static void grow(sc_buf *b, size_t extra)
{
	if (b->len + extra + 1 <= b->cap)
		return;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < b->len + extra + 1)
		cap *= 2;
	b->data = sc_xrealloc(b->data, cap);
	b->cap = cap;
}

void sc_buf_append(sc_buf *b, const char *s, size_t n)
{
	grow(b, n);
	memcpy(b->data + b->len, s, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void sc_buf_puts(sc_buf *b, const char *s) { sc_buf_append(b, s, strlen(s)); }
void sc_buf_putc(sc_buf *b, char c) { sc_buf_append(b, &c, 1); }

void sc_buf_printf(sc_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n <= 0)
		return;
	grow(b, (size_t)n);
	va_start(ap, fmt);
	vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *sc_buf_str(sc_buf *b) { return b->data ? b->data : ""; }

char *sc_buf_take(sc_buf *b)
{
	char *s = b->data ? b->data : sc_xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	return s;
}

void sc_buf_free(sc_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}
