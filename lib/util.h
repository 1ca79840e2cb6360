/* Small helpers with no better home: sizes, files, hashes, clocks, secrets. */
#ifndef SC_UTIL_H
#define SC_UTIL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "error.h"

/* "1GB", "512MB", "64kB", "100" (bytes); units are powers of 1024 as in
 * Postgres settings. Returns false for anything else. */
bool sc_parse_size(const char *text, int64_t *out);
/* "1.2 GB", "512 kB", "12 bytes": always a fresh string. */
char *sc_format_size(int64_t bytes);
/* Whole seconds, 1..86400. */
bool sc_parse_seconds(const char *text, int *out);
/* "0.5", "30", "30s", "5m", "1.5h", "1d": seconds, more than 0 and at most
 * 10 years. */
bool sc_parse_duration(const char *text, double *seconds);
/* The same, but only a whole number of seconds (at least 1). */
bool sc_parse_whole_duration(const char *text, long *seconds);

/* Reads a whole file (at most max_bytes). Unreadable or too large: exit 2
 * error naming `what` (the option or role of the file). */
char *sc_read_file(const char *path, size_t max_bytes, size_t *len_out,
		   const char *what, sc_error *err);

/* Lower-case hex SHA-256 of the bytes (65 bytes incl. NUL into out). */
void sc_sha256_hex(const void *data, size_t len, char out[65]);

/* Monotonic milliseconds. */
double sc_now_ms(void);
/* Milliseconds since the epoch (the wall clock), for ages of timestamps
 * other systems wrote. */
double sc_wall_ms(void);
/* An age for people: "42 s", "12 min", "5 h", "3 d". Fresh string. */
char *sc_format_age(double seconds);

/* A copy of `uri` with any password shown as ***: the userinfo password of a
 * URI (scheme://user:secret@host) and password=... in a query string or a
 * keyword/value connection string. Never fails. */
char *sc_redact_secrets(const char *uri);

/* True for an http:// or https:// URL (the scheme in any case, as URLs
 * have it): the one test of "is this a URL or a file" everywhere. */
bool sc_is_http_url(const char *s);
/* A copy of `text` in which every occurrence of `secret` (if non-empty) is
 * replaced by ***. */
char *sc_scrub(const char *text, const char *secret);

/* 1-based line number of a byte offset in text. */
int sc_line_of_offset(const char *text, size_t offset, int *column_out);

#endif
