#include "json.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

size_t sc_utf8_seq(const unsigned char *p, size_t n)
{
	if (n == 0)
		return 0;
	unsigned c = p[0];
	if (c < 0x80)
		return 1;
	size_t len;
	unsigned min, cp;
	if (c >= 0xC2 && c <= 0xDF) {
		len = 2, min = 0x80, cp = c & 0x1F;
	} else if (c >= 0xE0 && c <= 0xEF) {
		len = 3, min = 0x800, cp = c & 0x0F;
	} else if (c >= 0xF0 && c <= 0xF4) {
		len = 4, min = 0x10000, cp = c & 0x07;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		cp = (cp << 6) | (p[i] & 0x3F);
	}
	if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
		return 0;
	return len;
}

static bool is_hex4_zero(const char *p, const char *end)
{
	return end - p >= 4 && memcmp(p, "0000", 4) == 0;
}

#define SAY(...) ((why && whylen) ? (void)snprintf(why, whylen, __VA_ARGS__) : (void)0)

cJSON *sc_json_parse(const char *text, size_t len, char *why, size_t whylen)
{
	if (why && whylen)
		why[0] = '\0';
	if (!text)
		return NULL;
	/* One pass over the text: strings' escapes and raw bytes, the nesting
	 * depth outside them (the reasons cJSON would not give). The copy
	 * differs from the text only where an escaped NUL or a raw C0/C1 byte
	 * stands, so cJSON's positions are the text's but near those. */
	sc_buf b = SC_BUF_INIT;
	bool in_str = false;
	int depth = 0;
	const char *end = text + len;
	for (const char *p = text; p < end; p++) {
		unsigned char ch = (unsigned char)*p;
		size_t off = (size_t)(p - text);
		if (ch == 0) {
			SAY("a NUL byte at byte %zu", off);
			goto fail;
		}
		if (!in_str) {
			if (ch == '"')
				in_str = true;
			else if (ch == '[' || ch == '{') {
				if (++depth > CJSON_NESTING_LIMIT) {
					SAY("nested deeper than %d levels", CJSON_NESTING_LIMIT);
					goto fail;
				}
			} else if (ch == ']' || ch == '}') {
				depth--;
			}
			sc_buf_putc(&b, (char)ch);
			continue;
		}
		if (ch == '"') {
			in_str = false;
			sc_buf_putc(&b, '"');
		} else if (ch < 0x20) {
			SAY("a raw control character (0x%02x) in a string at byte %zu: JSON needs it escaped", ch, off);
			goto fail;
		} else if (ch == '\\') {
			if (p + 1 < end && p[1] == 'u' && is_hex4_zero(p + 2, end)) {
				sc_buf_puts(&b, SC_NUL_MARK);
				p += 5;
			} else if (p + 1 < end) {
				sc_buf_append(&b, p, 2);
				p++;
			} else {
				sc_buf_putc(&b, '\\');
			}
		} else if (ch == 0xC0 || ch == 0xC1) {
			sc_buf_puts(&b, "\xEF\xBF\xBD");
		} else {
			sc_buf_putc(&b, (char)ch);
		}
	}
	const char *copy = b.data ? b.data : "";
	const char *stop = NULL;
	cJSON *j = cJSON_ParseWithLengthOpts(copy, b.len, &stop, false);
	if (!j) {
		size_t at = stop && stop >= copy ? (size_t)(stop - copy) : 0;
		SAY("not valid JSON %s byte %zu", b.len == len ? "at" : "near", at);
		goto fail;
	}
	if (stop) {
		while (stop < copy + b.len && (*stop == ' ' || *stop == '\t' || *stop == '\n' || *stop == '\r'))
			stop++;
		if (stop < copy + b.len) {
			SAY("data after the JSON value at byte %zu", (size_t)(stop - copy));
			cJSON_Delete(j);
			goto fail;
		}
	}
	sc_buf_free(&b);
	return j;
fail:
	sc_buf_free(&b);
	return NULL;
}

bool sc_json_has_nul(const char *s)
{
	return s && strstr(s, SC_NUL_MARK) != NULL;
}

/* Copies printed JSON, making each byte that is not UTF-8 (they stand
 * only inside strings: cJSON's own output is ASCII) an escape. */
static void utf8_clean(sc_buf *b, const char *s, size_t n)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, run = 0;
	while (i < n) {
		if (p[i] < 0x80) {
			i++;
			continue;
		}
		size_t k = sc_utf8_seq(p + i, n - i);
		if (k) {
			i += k;
			continue;
		}
		sc_buf_append(b, s + run, i - run);
		if (p[i] == 0xC0 && i + 1 < n && p[i + 1] == 0x80) {
			sc_buf_puts(b, "\\u0000");
			i += 2;
		} else {
			sc_buf_puts(b, "\\ufffd");
			i++;
		}
		run = i;
	}
	sc_buf_append(b, s + run, n - run);
}

char *sc_json_print(const cJSON *j, bool formatted)
{
	if (!j)
		return NULL;
	char *raw = formatted ? cJSON_Print(j) : cJSON_PrintUnformatted(j);
	if (!raw)
		return sc_xstrdup("null");
	sc_buf b = SC_BUF_INIT;
	utf8_clean(&b, raw, strlen(raw));
	cJSON_free(raw);
	return sc_buf_take(&b);
}

void sc_json_append_string(sc_buf *b, const char *v)
{
	sc_buf_putc(b, '"');
	const unsigned char *p = (const unsigned char *)v;
	size_t n = strlen(v), run = 0, i = 0;
	while (i < n) {
		unsigned char ch = p[i];
		if (ch >= 0x20 && ch < 0x80 && ch != '"' && ch != '\\') {
			i++;
			continue;
		}
		if (ch >= 0x80) {
			size_t k = sc_utf8_seq(p + i, n - i);
			if (k) {
				i += k;
				continue;
			}
		}
		sc_buf_append(b, v + run, i - run);
		if (ch == '"' || ch == '\\') {
			sc_buf_putc(b, '\\');
			sc_buf_putc(b, (char)ch);
		} else if (ch == '\n') {
			sc_buf_puts(b, "\\n");
		} else if (ch == '\t') {
			sc_buf_puts(b, "\\t");
		} else if (ch == '\r') {
			sc_buf_puts(b, "\\r");
		} else if (ch < 0x20) {
			sc_buf_printf(b, "\\u%04x", ch);
		} else if (ch == 0xC0 && i + 1 < n && p[i + 1] == 0x80) {
			sc_buf_puts(b, "\\u0000");
			i++;
		} else {
			sc_buf_puts(b, "\\ufffd");
		}
		i++;
		run = i;
	}
	sc_buf_append(b, v + run, n - run);
	sc_buf_putc(b, '"');
}
