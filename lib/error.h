/* Errors and exit codes shared by the library and the program.
 * Library functions never exit or print: they fill an sc_error and return. */
#ifndef SC_ERROR_H
#define SC_ERROR_H

#include <stdarg.h>

enum sc_exit {
	SC_EXIT_OK = 0,      /* success: everything checked is fine */
	SC_EXIT_PROBLEM = 1, /* the command ran and found problems */
	SC_EXIT_USAGE = 2,   /* usage error or unusable input */
	SC_EXIT_FAILED = 3,  /* could not do the job (connection, timeout, lock) */
};

typedef struct sc_error {
	int code;            /* one of enum sc_exit; 0 when no error */
	char message[1024];  /* one line, already free of secrets */
} sc_error;

void sc_error_set(sc_error *err, int code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));
void sc_error_setv(sc_error *err, int code, const char *fmt, va_list ap);
void sc_error_clear(sc_error *err);

/* Optional diagnostic sink for -v: the program installs one that writes to
 * stderr; the library calls sc_log_verbose() to describe SQL and URLs. */
typedef void (*sc_log_fn)(const char *line);
void sc_log_set(sc_log_fn fn);
void sc_log_verbose(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int sc_log_enabled(void);

#endif
