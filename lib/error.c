#include "error.h"

#include <stdio.h>
#include <string.h>

void sc_error_setv(sc_error *err, int code, const char *fmt, va_list ap)
{
	if (!err)
		return;
	err->code = code;
	vsnprintf(err->message, sizeof err->message, fmt, ap);
	/* Keep errors to one line: a multi-line libpq message is folded, and
	 * runs of blanks become one. */
	char *w = err->message;
	for (char *p = err->message; *p; p++) {
		char c = (*p == '\n' || *p == '\r' || *p == '\t') ? ' ' : *p;
		if (c == ' ' && w > err->message && w[-1] == ' ')
			continue;
		*w++ = c;
	}
	*w = '\0';
	size_t n = strlen(err->message);
	while (n > 0 && err->message[n - 1] == ' ')
		err->message[--n] = '\0';
}

void sc_error_set(sc_error *err, int code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	sc_error_setv(err, code, fmt, ap);
	va_end(ap);
}

void sc_error_clear(sc_error *err)
{
	if (err) {
		err->code = 0;
		err->message[0] = '\0';
	}
}

static sc_log_fn log_fn;

void sc_log_set(sc_log_fn fn) { log_fn = fn; }
int sc_log_enabled(void) { return log_fn != NULL; }

void sc_log_verbose(const char *fmt, ...)
{
	if (!log_fn)
		return;
	char line[4096];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	log_fn(line);
}
