#include "util.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/evp.h>

#include "buf.h"

bool sc_parse_size(const char *text, int64_t *out)
{
	if (!text || !*text)
		return false;
	errno = 0;
	char *end;
	double v = strtod(text, &end);
	if (errno || end == text || v < 0)
		return false;
	while (*end == ' ')
		end++;
	static const struct { const char *unit; double mul; } units[] = {
		{ "", 1 }, { "B", 1 }, { "bytes", 1 },
		{ "kB", 1024.0 }, { "KB", 1024.0 }, { "K", 1024.0 },
		{ "MB", 1048576.0 }, { "M", 1048576.0 },
		{ "GB", 1073741824.0 }, { "G", 1073741824.0 },
		{ "TB", 1099511627776.0 }, { "T", 1099511627776.0 },
	};
	for (size_t i = 0; i < sizeof units / sizeof units[0]; i++) {
		if (strcmp(end, units[i].unit) == 0) {
			double bytes = v * units[i].mul;
			if (bytes > 9.0e18)
				return false;
			*out = (int64_t)bytes;
			return true;
		}
	}
	return false;
}

char *sc_format_size(int64_t bytes)
{
	static const char *units[] = { "kB", "MB", "GB", "TB" };
	if (bytes < 0)
		return sc_xasprintf("-%s", "?");
	if (bytes < 1024)
		return sc_xasprintf("%" PRId64 " bytes", bytes);
	double v = (double)bytes;
	int u = -1;
	while (v >= 1024.0 && u < 3) {
		v /= 1024.0;
		u++;
	}
	return sc_xasprintf(v < 10 ? "%.1f %s" : "%.0f %s", v, units[u]);
}

bool sc_parse_seconds(const char *text, int *out)
{
	if (!text || !*text)
		return false;
	errno = 0;
	char *end;
	long v = strtol(text, &end, 10);
	if (errno || *end || v < 1 || v > 86400)
		return false;
	*out = (int)v;
	return true;
}

bool sc_parse_duration(const char *text, double *seconds)
{
	if (!text || !*text)
		return false;
	errno = 0;
	char *end;
	double v = strtod(text, &end);
	if (errno || end == text || !(v > 0))
		return false;
	double mul = 1;
	switch (*end) {
	case 's': end++; break;
	case 'm': mul = 60, end++; break;
	case 'h': mul = 3600, end++; break;
	case 'd': mul = 86400, end++; break;
	}
	if (*end || !(v * mul <= 315360000.0))
		return false;
	*seconds = v * mul;
	return true;
}

bool sc_parse_whole_duration(const char *text, long *seconds)
{
	double v;
	if (!sc_parse_duration(text, &v) || v < 1 || v != (double)(long)v)
		return false;
	*seconds = (long)v;
	return true;
}

char *sc_read_file(const char *path, size_t max_bytes, size_t *len_out,
		   const char *what, sc_error *err)
{
	FILE *f = fopen(path, "rb");
	if (!f) {
		sc_error_set(err, SC_EXIT_USAGE, "cannot read %s %s: %s", what, path,
			     strerror(errno));
		return NULL;
	}
	struct stat st;
	if (fstat(fileno(f), &st) == 0 && S_ISDIR(st.st_mode)) {
		fclose(f);
		sc_error_set(err, SC_EXIT_USAGE, "cannot read %s %s: is a directory", what,
			     path);
		return NULL;
	}
	sc_buf b = SC_BUF_INIT;
	char chunk[65536];
	size_t n;
	while ((n = fread(chunk, 1, sizeof chunk, f)) > 0) {
		if (b.len + n > max_bytes) {
			fclose(f);
			sc_buf_free(&b);
			sc_error_set(err, SC_EXIT_USAGE, "%s %s is larger than %zu bytes", what,
				     path, max_bytes);
			return NULL;
		}
		sc_buf_append(&b, chunk, n);
	}
	int failed = ferror(f);
	fclose(f);
	if (failed) {
		sc_buf_free(&b);
		sc_error_set(err, SC_EXIT_USAGE, "cannot read %s %s: read error", what, path);
		return NULL;
	}
	if (len_out)
		*len_out = b.len;
	return sc_buf_take(&b);
}

void sc_sha256_hex(const void *data, size_t len, char out[65])
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int mdlen = 0;
	EVP_Digest(data, len, md, &mdlen, EVP_sha256(), NULL);
	for (unsigned int i = 0; i < mdlen && i < 32; i++)
		snprintf(out + 2 * i, 3, "%02x", md[i]);
	out[64] = '\0';
}

double sc_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

/* Masks the value that follows each "password=" (case-insensitive) up to the
 * next '&', ' ' or end; quoted keyword values are masked to their quote. */
double sc_wall_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

char *sc_format_age(double seconds)
{
	if (seconds < 0)
		return sc_xasprintf("%.0f s in the future", -seconds);
	if (seconds < 120)
		return sc_xasprintf("%.0f s", seconds);
	if (seconds < 7200)
		return sc_xasprintf("%.0f min", seconds / 60);
	if (seconds < 172800)
		return sc_xasprintf("%.0f h", seconds / 3600);
	return sc_xasprintf("%.0f d", seconds / 86400);
}

static void mask_password_params(sc_buf *b)
{
	char *s = b->data;
	if (!s)
		return;
	sc_buf out = SC_BUF_INIT;
	size_t i = 0;
	while (s[i]) {
		if (strncasecmp(s + i, "password", 8) == 0) {
			size_t j = i + 8;
			while (s[j] == ' ')
				j++;
			if (s[j] == '=') {
				j++;
				while (s[j] == ' ')
					j++;
				sc_buf_append(&out, s + i, j - i);
				sc_buf_puts(&out, "***");
				if (s[j] == '\'') {
					j++;
					while (s[j] && s[j] != '\'') {
						if (s[j] == '\\' && s[j + 1])
							j++;
						j++;
					}
					if (s[j])
						j++;
				} else {
					while (s[j] && s[j] != '&' && s[j] != ' ')
						j++;
				}
				i = j;
				continue;
			}
		}
		sc_buf_putc(&out, s[i]);
		i++;
	}
	sc_buf_free(b);
	*b = out;
}

char *sc_redact_secrets(const char *uri)
{
	if (!uri)
		return sc_xstrdup("");
	sc_buf b = SC_BUF_INIT;
	const char *scheme = strstr(uri, "://");
	if (scheme) {
		const char *auth = scheme + 3;
		size_t alen = strcspn(auth, "/?#");
		/* The last '@' ends the userinfo: passwords may contain '@'. */
		const char *at = NULL;
		for (size_t k = 0; k < alen; k++)
			if (auth[k] == '@')
				at = auth + k;
		const char *colon = at ? memchr(auth, ':', (size_t)(at - auth)) : NULL;
		if (colon) {
			sc_buf_append(&b, uri, (size_t)(colon - uri) + 1);
			sc_buf_puts(&b, "***");
			sc_buf_puts(&b, at);
		} else {
			sc_buf_puts(&b, uri);
		}
	} else {
		sc_buf_puts(&b, uri);
	}
	mask_password_params(&b);
	return sc_buf_take(&b);
}

char *sc_scrub(const char *text, const char *secret)
{
	if (!text)
		return sc_xstrdup("");
	if (!secret || !*secret)
		return sc_xstrdup(text);
	sc_buf b = SC_BUF_INIT;
	size_t sl = strlen(secret);
	const char *p = text, *hit;
	while ((hit = strstr(p, secret)) != NULL) {
		sc_buf_append(&b, p, (size_t)(hit - p));
		sc_buf_puts(&b, "***");
		p = hit + sl;
	}
	sc_buf_puts(&b, p);
	return sc_buf_take(&b);
}

int sc_line_of_offset(const char *text, size_t offset, int *column_out)
{
	int line = 1, col = 1;
	for (size_t i = 0; i < offset && text[i]; i++) {
		if (text[i] == '\n') {
			line++;
			col = 1;
		} else {
			col++;
		}
	}
	if (column_out)
		*column_out = col;
	return line;
}

bool sc_is_http_url(const char *s)
{
	return s && (strncasecmp(s, "http://", 7) == 0 || strncasecmp(s, "https://", 8) == 0);
}
