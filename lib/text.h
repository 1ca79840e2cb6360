/* Text for a terminal: data from outside (a token's kid, a row value, a
 * table name, a server's message) is shown, never obeyed. */
#ifndef SC_TEXT_H
#define SC_TEXT_H

#include <stdbool.h>
#include <stddef.h>

#include "buf.h"

/* Appends s[0..len) with what a terminal would act on escaped: C0 control
 * characters and DEL as \xNN (tab kept; newline kept with keep_newlines),
 * C1 controls (U+0080 to U+009F) and the bidirectional overrides and
 * isolates (U+202A to U+202E, U+2066 to U+2069) as \uNNNN, an escaped
 * NUL of JSON input (SC_NUL_MARK) as \u0000, and each byte that is not
 * UTF-8 as \xNN. A backslash stays a backslash. */
void sc_text_append_safe(sc_buf *b, const char *s, size_t len, bool keep_newlines);

/* True when sc_text_append_safe would change nothing (newlines kept). */
bool sc_text_is_safe(const char *s, size_t len);

/* A copy of s made safe, newlines escaped too: for one-line fields. */
char *sc_text_safe(const char *s);

#endif
