/* A growable string buffer. Allocation failure aborts: there is nothing
 * useful a CLI can do without memory. */
#ifndef SC_BUF_H
#define SC_BUF_H

#include <stddef.h>

typedef struct sc_buf {
	char *data;
	size_t len;
	size_t cap;
} sc_buf;

#define SC_BUF_INIT { NULL, 0, 0 }

void sc_buf_append(sc_buf *b, const char *s, size_t n);
void sc_buf_puts(sc_buf *b, const char *s);
void sc_buf_putc(sc_buf *b, char c);
void sc_buf_printf(sc_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Returns the string (never NULL) and leaves the buffer empty. */
char *sc_buf_take(sc_buf *b);
const char *sc_buf_str(sc_buf *b);
void sc_buf_free(sc_buf *b);

void *sc_xmalloc(size_t n);
void *sc_xcalloc(size_t n, size_t size);
void *sc_xrealloc(void *p, size_t n);
char *sc_xstrdup(const char *s);
char *sc_xstrndup(const char *s, size_t n);
char *sc_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

#endif
