#include "text.h"

#include <string.h>

#include "json.h"

/* Bytes of s at i that must be escaped (0 when none): their count. */
static size_t unsafe_at(const unsigned char *p, size_t n, size_t i, bool keep_newlines)
{
	unsigned char c = p[i];
	if (c < 0x80) {
		if (c == '\t' || (c == '\n' && keep_newlines))
			return 0;
		return c < 0x20 || c == 0x7F ? 1 : 0;
	}
	size_t k = sc_utf8_seq(p + i, n - i);
	if (!k)
		return c == 0xC0 && i + 1 < n && p[i + 1] == 0x80 ? 2 : 1;
	if (k == 2 && c == 0xC2 && p[i + 1] < 0xA0)
		return 2; /* U+0080..U+009F */
	if (k == 3 && c == 0xE2 && ((p[i + 1] == 0x80 && p[i + 2] >= 0xAA && p[i + 2] <= 0xAE) ||
				    (p[i + 1] == 0x81 && p[i + 2] >= 0xA6 && p[i + 2] <= 0xA9)))
		return 3; /* U+202A..U+202E, U+2066..U+2069 */
	return 0;
}

static size_t next_unsafe(const unsigned char *p, size_t n, size_t i, bool keep_newlines, size_t *k)
{
	while (i < n) {
		if (p[i] >= 0x20 && p[i] < 0x7F) {
			i++;
			continue;
		}
		if ((*k = unsafe_at(p, n, i, keep_newlines)) != 0)
			return i;
		size_t step = p[i] < 0x80 ? 1 : sc_utf8_seq(p + i, n - i);
		i += step ? step : 1;
	}
	*k = 0;
	return n;
}

bool sc_text_is_safe(const char *s, size_t len)
{
	size_t k;
	return next_unsafe((const unsigned char *)s, len, 0, true, &k) == len;
}

void sc_text_append_safe(sc_buf *b, const char *s, size_t len, bool keep_newlines)
{
	const unsigned char *p = (const unsigned char *)s;
	size_t i = 0, k;
	for (;;) {
		size_t at = next_unsafe(p, len, i, keep_newlines, &k);
		sc_buf_append(b, s + i, at - i);
		if (at == len)
			return;
		if (k == 1) {
			sc_buf_printf(b, "\\x%02x", p[at]);
		} else if (k == 2 && p[at] == 0xC0) {
			sc_buf_puts(b, "\\u0000");
		} else if (k == 2) {
			sc_buf_printf(b, "\\u%04x", 0x80 + (p[at + 1] - 0x80));
		} else {
			unsigned cp = ((p[at] & 0x0Fu) << 12) | ((p[at + 1] & 0x3Fu) << 6) | (p[at + 2] & 0x3Fu);
			sc_buf_printf(b, "\\u%04x", cp);
		}
		i = at + k;
	}
}

char *sc_text_safe(const char *s)
{
	sc_buf b = SC_BUF_INIT;
	if (s)
		sc_text_append_safe(&b, s, strlen(s), false);
	return sc_buf_take(&b);
}
