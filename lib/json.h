/* JSON from outside, read as JSON.parse reads it, and JSON written as
 * valid UTF-8 whatever it holds.
 *
 * cJSON keeps strings as C strings, so a string with an escaped NUL
 * ("k1\u0000x") would silently become "k1". sc_json_parse checks the
 * escapes of every string before cJSON sees the text and hands cJSON the
 * NUL as SC_NUL_MARK, the two bytes C0 80 (a sequence UTF-8 never holds,
 * and raw C0/C1 bytes in the input become U+FFFD as a UTF-8 decoder makes
 * them): the string keeps its full length and compares unequal to "k1".
 * sc_json_has_nul tells a comparison that it must refuse the string; the
 * printers show the mark as \u0000 again. */
#ifndef SC_JSON_H
#define SC_JSON_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "buf.h"

#define SC_NUL_MARK "\xC0\x80"

/* Parses one JSON value filling all of text[0..len) (whitespace around it
 * allowed). NULL on failure, with the reason in why: a NUL byte, a raw
 * control character in a string (JSON.parse refuses both), nesting deeper
 * than cJSON's limit of CJSON_NESTING_LIMIT, data after the value, or where
 * the text stops being JSON. */
cJSON *sc_json_parse(const char *text, size_t len, char *why, size_t whylen);

/* True when s (a string sc_json_parse produced) held an escaped NUL. */
bool sc_json_has_nul(const char *s);

/* cJSON_Print / cJSON_PrintUnformatted made valid UTF-8: the NUL mark as
 * \u0000, each byte that is not UTF-8 as \ufffd (U+FFFD, the replacement
 * character). Never NULL for a non-NULL j. */
char *sc_json_print(const cJSON *j, bool formatted);

/* Appends s as a JSON string literal (quotes included), with the same
 * rules: for JSON written without a cJSON tree (watch's JSON Lines). */
void sc_json_append_string(sc_buf *b, const char *s);

/* The length of the valid UTF-8 sequence at p (at most n bytes), or 0 when
 * p does not start one (overlong forms, surrogates and code points past
 * U+10FFFF are not UTF-8). */
size_t sc_utf8_seq(const unsigned char *p, size_t n);

#endif
