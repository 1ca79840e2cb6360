#include "report.h"

#include <ctype.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "json.h"
#include "text.h"
#include "util.h"

#define C_RESET "\033[0m"
#define C_RED "\033[31m"
#define C_GREEN "\033[32m"
#define C_YELLOW "\033[33m"
#define C_DIM "\033[2m"
#define C_BOLD "\033[1m"

void sc_report_init(sc_report *r)
{
	memset(r, 0, sizeof *r);
	r->started_ms = r->mark_ms = sc_now_ms();
	r->extra = cJSON_CreateObject();
}

void sc_report_free(sc_report *r)
{
	for (size_t i = 0; i < r->n; i++) {
		free(r->checks[i].id);
		free(r->checks[i].message);
		free(r->checks[i].hint);
		cJSON_Delete(r->checks[i].details);
		for (size_t k = 0; k < r->checks[i].nmetrics; k++)
			free(r->checks[i].metrics[k].name);
		free(r->checks[i].metrics);
	}
	free(r->checks);
	cJSON_Delete(r->extra);
	memset(r, 0, sizeof *r);
}

void sc_report_mark(sc_report *r) { r->mark_ms = sc_now_ms(); }

sc_check *sc_report_add(sc_report *r, const char *id, sc_check_status status,
			const char *fmt, ...)
{
	if (r->n == r->cap) {
		r->cap = r->cap ? r->cap * 2 : 16;
		r->checks = sc_xrealloc(r->checks, r->cap * sizeof *r->checks);
	}
	sc_check *c = &r->checks[r->n++];
	memset(c, 0, sizeof *c);
	c->id = sc_xstrdup(id);
	c->status = status;
	sc_buf b = SC_BUF_INIT;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n > 0) {
		char *m = sc_xmalloc((size_t)n + 1);
		va_start(ap, fmt);
		vsnprintf(m, (size_t)n + 1, fmt, ap);
		va_end(ap);
		sc_buf_puts(&b, m);
		free(m);
	}
	c->message = sc_buf_take(&b);
	double now = sc_now_ms();
	c->duration_ms = now - r->mark_ms;
	r->mark_ms = now;
	return c;
}

void sc_check_set_hint(sc_check *c, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	free(c->hint);
	c->hint = sc_xmalloc((size_t)(n > 0 ? n : 0) + 1);
	c->hint[0] = '\0';
	va_start(ap, fmt);
	vsnprintf(c->hint, (size_t)(n > 0 ? n : 0) + 1, fmt, ap);
	va_end(ap);
}

void sc_check_set_details(sc_check *c, cJSON *details)
{
	cJSON_Delete(c->details);
	c->details = details;
}

void sc_check_metric(sc_check *c, const char *name, double value, const char *uom)
{
	c->metrics = sc_xrealloc(c->metrics, (c->nmetrics + 1) * sizeof *c->metrics);
	c->metrics[c->nmetrics].name = sc_xstrdup(name);
	c->metrics[c->nmetrics].value = value;
	c->metrics[c->nmetrics].uom = uom ? uom : "";
	c->nmetrics++;
}

void sc_report_append(sc_report *dst, sc_report *src, const char *group)
{
	for (size_t i = 0; i < src->n; i++) {
		if (dst->n == dst->cap) {
			dst->cap = dst->cap ? dst->cap * 2 : 16;
			dst->checks = sc_xrealloc(dst->checks, dst->cap * sizeof *dst->checks);
		}
		dst->checks[dst->n] = src->checks[i];
		dst->checks[dst->n].group = group;
		dst->n++;
	}
	src->n = 0;
}

sc_check_status sc_report_status(const sc_report *r)
{
	sc_check_status worst = SC_CHECK_OK;
	bool any_real = false, any_skip = false;
	for (size_t i = 0; i < r->n; i++) {
		sc_check_status s = r->checks[i].status;
		if (s == SC_CHECK_SKIP) {
			any_skip = true;
			continue;
		}
		any_real = true;
		if (s > worst)
			worst = s;
	}
	if (!any_real && any_skip)
		return SC_CHECK_SKIP;
	return worst;
}

const char *sc_check_status_name(sc_check_status s)
{
	switch (s) {
	case SC_CHECK_OK: return "ok";
	case SC_CHECK_SKIP: return "skip";
	case SC_CHECK_WARN: return "warn";
	case SC_CHECK_FAIL: return "fail";
	}
	return "fail";
}

int sc_report_exit_code(const sc_report *r, bool strict)
{
	sc_check_status s = sc_report_status(r);
	if (s == SC_CHECK_FAIL || (strict && s == SC_CHECK_WARN))
		return 1;
	return 0;
}

static double round_ms(double ms) { return (double)(long long)(ms + 0.5); }

char *sc_report_render_json(sc_report *r)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddStringToObject(doc, "status", sc_check_status_name(sc_report_status(r)));
	cJSON *arr = cJSON_AddArrayToObject(doc, "checks");
	for (size_t i = 0; i < r->n; i++) {
		sc_check *c = &r->checks[i];
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "id", c->id);
		if (c->group)
			cJSON_AddStringToObject(o, "group", c->group);
		cJSON_AddStringToObject(o, "status", sc_check_status_name(c->status));
		cJSON_AddStringToObject(o, "message", c->message);
		if (c->hint)
			cJSON_AddStringToObject(o, "hint", c->hint);
		else
			cJSON_AddNullToObject(o, "hint");
		if (c->details)
			cJSON_AddItemToObject(o, "details", cJSON_Duplicate(c->details, 1));
		else
			cJSON_AddNullToObject(o, "details");
		if (c->nmetrics) {
			/* The figures the Nagios and Prometheus renderers give, by name
			 * (base units: bytes, seconds, counts). */
			cJSON *m = cJSON_AddObjectToObject(o, "metrics");
			for (size_t k = 0; k < c->nmetrics; k++)
				cJSON_AddNumberToObject(m, c->metrics[k].name, c->metrics[k].value);
		}
		cJSON_AddNumberToObject(o, "duration_ms", round_ms(c->duration_ms));
		cJSON_AddItemToArray(arr, o);
	}
	cJSON_AddNumberToObject(doc, "duration_ms", round_ms(sc_now_ms() - r->started_ms));
	for (cJSON *e = r->extra ? r->extra->child : NULL; e; e = e->next)
		cJSON_AddItemToObject(doc, e->string, cJSON_Duplicate(e, 1));
	char *s = sc_json_print(doc, true);
	cJSON_Delete(doc);
	return s;
}

static const char *status_color(sc_check_status s)
{
	switch (s) {
	case SC_CHECK_OK: return C_GREEN;
	case SC_CHECK_SKIP: return C_DIM;
	case SC_CHECK_WARN: return C_YELLOW;
	case SC_CHECK_FAIL: return C_RED;
	}
	return "";
}

static const char *status_label(sc_check_status s)
{
	switch (s) {
	case SC_CHECK_OK: return "ok  ";
	case SC_CHECK_SKIP: return "skip";
	case SC_CHECK_WARN: return "warn";
	case SC_CHECK_FAIL: return "FAIL";
	}
	return "FAIL";
}

/* Display width of a UTF-8 string: counts code points, not bytes. */
static size_t display_width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xC0) != 0x80)
			w++;
	return w;
}

/* Text from a check (an id, a message, a line of a hint, a cell) for a
 * terminal: what it would obey is escaped (lib/text.h). */
static void put_safe(sc_buf *b, const char *s, size_t n)
{
	sc_text_append_safe(b, s, n, false);
}

static size_t safe_width(const char *s)
{
	char *t = sc_text_safe(s);
	size_t w = display_width(t);
	free(t);
	return w;
}

static void put_padded(sc_buf *b, const char *s, size_t width)
{
	put_safe(b, s, strlen(s));
	for (size_t w = safe_width(s); w < width; w++)
		sc_buf_putc(b, ' ');
}

static void put_indented(sc_buf *b, const char *prefix, const char *text)
{
	/* Multi-line hints keep their lines, each indented under the check. */
	const char *p = text;
	while (*p) {
		size_t n = strcspn(p, "\n");
		sc_buf_puts(b, prefix);
		put_safe(b, p, n);
		sc_buf_putc(b, '\n');
		p += n;
		if (*p == '\n')
			p++;
	}
}

char *sc_report_render_verdict(const sc_report *r, const sc_render_opts *o)
{
	size_t counts[4] = { 0 };
	for (size_t i = 0; i < r->n; i++)
		counts[r->checks[i].status]++;
	sc_check_status worst = sc_report_status(r);
	const char *verdict = worst == SC_CHECK_FAIL ? "FAILED"
			      : worst == SC_CHECK_WARN ? (o->strict ? "FAILED (strict)" : "OK with warnings")
			      : "OK";
	sc_buf b = SC_BUF_INIT;
	if (o->color)
		sc_buf_printf(&b, "%s%s%s%s: ", C_BOLD, status_color(worst), verdict, C_RESET);
	else
		sc_buf_printf(&b, "%s: ", verdict);
	sc_buf_printf(&b, "%zu failed, %zu warnings, %zu ok, %zu skipped (%.0f ms)\n", counts[SC_CHECK_FAIL],
		      counts[SC_CHECK_WARN], counts[SC_CHECK_OK], counts[SC_CHECK_SKIP], sc_now_ms() - r->started_ms);
	return sc_buf_take(&b);
}

/* The checks of one group (or all, group NULL and all true), aligned. */
static void render_checks(sc_buf *b, const sc_report *r, const sc_render_opts *o, const char *group, bool all)
{
	size_t idw = 0;
	for (size_t i = 0; i < r->n; i++) {
		if (!all && (!r->checks[i].group || strcmp(r->checks[i].group, group) != 0))
			continue;
		size_t w = safe_width(r->checks[i].id);
		if (w > idw)
			idw = w;
	}
	for (size_t i = 0; i < r->n; i++) {
		const sc_check *c = &r->checks[i];
		if (!all && (!c->group || strcmp(c->group, group) != 0))
			continue;
		bool failing = c->status == SC_CHECK_FAIL ||
			       (o->strict && c->status == SC_CHECK_WARN);
		if (o->quiet && !failing)
			continue;
		sc_buf_puts(b, "  ");
		if (o->color)
			sc_buf_printf(b, "%s%s%s", status_color(c->status),
				      status_label(c->status), C_RESET);
		else
			sc_buf_puts(b, status_label(c->status));
		sc_buf_puts(b, "  ");
		put_padded(b, c->id, idw);
		sc_buf_puts(b, "  ");
		put_safe(b, c->message, strlen(c->message));
		sc_buf_putc(b, '\n');
		if (c->hint && c->status != SC_CHECK_OK) {
			char *prefix = sc_xasprintf("%*s%s", (int)(idw + 10), "",
						    o->color ? C_DIM "hint: " C_RESET : "hint: ");
			char *cont = sc_xasprintf("%*s", (int)(idw + 16), "");
			size_t first = strcspn(c->hint, "\n");
			sc_buf_puts(b, prefix);
			put_safe(b, c->hint, first);
			sc_buf_putc(b, '\n');
			if (c->hint[first])
				put_indented(b, cont, c->hint + first + 1);
			free(prefix);
			free(cont);
		}
		if (o->verbose && c->details) {
			char *d = sc_json_print(c->details, false);
			char *prefix = sc_xasprintf("%*s", (int)(idw + 10), "");
			sc_buf_printf(b, "%sdetails: ", prefix);
			put_safe(b, d, strlen(d));
			sc_buf_putc(b, '\n');
			free(prefix);
			free(d);
		}
	}
}

char *sc_report_render_text(const sc_report *r, const sc_render_opts *o)
{
	sc_buf b = SC_BUF_INIT;
	size_t counts[4] = { 0 };
	bool grouped = false;
	for (size_t i = 0; i < r->n; i++) {
		counts[r->checks[i].status]++;
		grouped = grouped || r->checks[i].group;
	}
	if (!grouped) {
		render_checks(&b, r, o, NULL, true);
	} else {
		/* doctor: each group under its name, in the order they come. */
		for (size_t i = 0; i < r->n; i++) {
			const char *g = r->checks[i].group;
			bool first = true;
			for (size_t k = 0; k < i && first; k++)
				first = !(r->checks[k].group && g && strcmp(r->checks[k].group, g) == 0);
			if (!first || !g)
				continue;
			sc_buf part = SC_BUF_INIT;
			render_checks(&part, r, o, g, false);
			if (part.len) {
				sc_buf_puts(&b, b.len ? "\n" : "");
				put_safe(&b, g, strlen(g));
				sc_buf_printf(&b, "\n%s", part.data);
			}
			sc_buf_free(&part);
		}
	}
	if (!o->no_verdict && (!o->quiet || counts[SC_CHECK_FAIL] || (o->strict && counts[SC_CHECK_WARN]))) {
		char *v = sc_report_render_verdict(r, o);
		sc_buf_printf(&b, "\n%s", v);
		free(v);
	}
	return sc_buf_take(&b);
}

void sc_table_init(sc_table *t, size_t ncols, const char *const *header)
{
	memset(t, 0, sizeof *t);
	t->ncols = ncols;
	sc_table_add(t, header);
}

void sc_table_add(sc_table *t, const char *const *row)
{
	if (t->nrows == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 8;
		t->cells = sc_xrealloc(t->cells, t->cap * t->ncols * sizeof *t->cells);
	}
	/* Tables are text: cells are kept as they will be shown. */
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = sc_text_safe(row[c] ? row[c] : "");
	t->nrows++;
}

char *sc_table_render(const sc_table *t, const char *indent, bool bold_header)
{
	size_t *w = sc_xcalloc(t->ncols, sizeof *w);
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t cw = display_width(t->cells[r * t->ncols + c]);
			if (cw > w[c])
				w[c] = cw;
		}
	sc_buf b = SC_BUF_INIT;
	for (size_t r = 0; r < t->nrows; r++) {
		sc_buf_puts(&b, indent);
		if (r == 0 && bold_header)
			sc_buf_puts(&b, C_BOLD);
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			if (c + 1 == t->ncols) {
				sc_buf_puts(&b, cell);
			} else {
				put_padded(&b, cell, w[c]);
				sc_buf_puts(&b, "  ");
			}
		}
		if (r == 0 && bold_header)
			sc_buf_puts(&b, C_RESET);
		/* Trailing blanks of a short last column are not kept. */
		while (b.len && b.data[b.len - 1] == ' ')
			b.data[--b.len] = '\0';
		sc_buf_putc(&b, '\n');
	}
	free(w);
	return sc_buf_take(&b);
}

void sc_table_free(sc_table *t)
{
	for (size_t i = 0; i < t->nrows * t->ncols; i++)
		free(t->cells[i]);
	free(t->cells);
	memset(t, 0, sizeof *t);
}

/* ---- Nagios / Icinga ---- */

static const char *nagios_name(int code)
{
	static const char *const names[] = { "OK", "WARNING", "CRITICAL", "UNKNOWN" };
	return names[code >= 0 && code <= 3 ? code : 3];
}

/* A perfdata label: single-quoted when it needs it, quotes doubled, no '='. */
static void perf_label(sc_buf *b, const char *id, const char *metric)
{
	sc_buf t = SC_BUF_INIT;
	sc_buf_printf(&t, "%s%s%s", id, metric ? "_" : "", metric ? metric : "");
	bool quote = false;
	for (const char *p = t.data; *p; p++)
		if (!(isalnum((unsigned char)*p) || *p == '.' || *p == '_' || *p == '-'))
			quote = true;
	if (quote)
		sc_buf_putc(b, '\'');
	for (const char *p = t.data; *p; p++) {
		/* ASCII only: '=' (the separator), controls and other bytes as '_'. */
		if (*p == '=' || (unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
			sc_buf_putc(b, '_');
		else if (*p == '\'')
			sc_buf_puts(b, "''");
		else
			sc_buf_putc(b, *p);
	}
	if (quote)
		sc_buf_putc(b, '\'');
	sc_buf_free(&t);
}

/* One line: text with line breaks and '|' (the perfdata separator) replaced. */
static void plain_line(sc_buf *b, const char *s)
{
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;
		if (ch == '\n' || ch == '\r' || ch == '\t')
			sc_buf_putc(b, ' ');
		else if (ch == '|')
			sc_buf_putc(b, '/');
		else if (ch < 0x20 || ch == 0x7f || ch >= 0x80)
			break;
		else
			sc_buf_putc(b, (char)ch);
	}
	if (*s) {
		/* The rest through the terminal-safe escaper, line breaks and
		 * pipes first made spaces and slashes. */
		sc_buf t = SC_BUF_INIT;
		for (; *s; s++)
			sc_buf_putc(&t, *s == '\n' || *s == '\r' || *s == '\t' ? ' ' : *s == '|' ? '/' : *s);
		sc_text_append_safe(b, t.data, t.len, false);
		sc_buf_free(&t);
	}
}

/* A perfdata value: the guidelines' [-0-9.]+, so never an exponent; whole
 * numbers as such, others to 3 decimals. Not a number is "U" (unknown). */
static void perf_value(sc_buf *b, double v)
{
	if (isnan(v) || isinf(v))
		sc_buf_puts(b, "U");
	else if (v >= 9e15 || v <= -9e15)
		sc_buf_printf(b, "%.0f", v);
	else if (v == (double)(long long)v)
		sc_buf_printf(b, "%lld", (long long)v);
	else
		sc_buf_printf(b, "%.3f", v);
}

char *sc_report_render_nagios(const sc_report *r, bool strict, int *code)
{
	size_t counts[4] = { 0 };
	for (size_t i = 0; i < r->n; i++)
		counts[r->checks[i].status]++;
	sc_check_status worst = sc_report_status(r);
	*code = worst == SC_CHECK_FAIL ? 2 : worst == SC_CHECK_WARN ? (strict ? 2 : 1) : worst == SC_CHECK_SKIP || !r->n ? 3 : 0;
	sc_buf b = SC_BUF_INIT;
	sc_buf_printf(&b, "SYNCCTL %s - ", nagios_name(*code));
	if (*code == 3) {
		sc_buf_puts(&b, "nothing was checked (every check skipped)");
	} else if (worst == SC_CHECK_FAIL || worst == SC_CHECK_WARN) {
		sc_check_status want = worst;
		size_t shown = 0, total = counts[want];
		sc_buf_printf(&b, "%zu %s: ", total, want == SC_CHECK_FAIL ? "failed" : "warnings");
		for (size_t i = 0; i < r->n && shown < 3; i++) {
			if (r->checks[i].status != want)
				continue;
			sc_buf_printf(&b, "%s", shown ? "; " : "");
			plain_line(&b, r->checks[i].id);
			sc_buf_puts(&b, " ");
			plain_line(&b, r->checks[i].message);
			shown++;
		}
		if (total > shown)
			sc_buf_printf(&b, "; and %zu more", total - shown);
	} else {
		sc_buf_printf(&b, "%zu checks ok", counts[SC_CHECK_OK]);
		if (counts[SC_CHECK_SKIP])
			sc_buf_printf(&b, ", %zu skipped", counts[SC_CHECK_SKIP]);
	}
	/* Perfdata: the counts, every measured figure, each check's time. */
	sc_buf_printf(&b, " | failed=%zu;;;0 warnings=%zu;;;0 ok=%zu;;;0", counts[SC_CHECK_FAIL], counts[SC_CHECK_WARN], counts[SC_CHECK_OK]);
	for (size_t i = 0; i < r->n; i++) {
		const sc_check *c = &r->checks[i];
		for (size_t k = 0; k < c->nmetrics; k++) {
			sc_buf_putc(&b, ' ');
			perf_label(&b, c->id, c->metrics[k].name);
			sc_buf_putc(&b, '=');
			perf_value(&b, c->metrics[k].value);
			sc_buf_printf(&b, "%s;;;", c->metrics[k].uom);
		}
	}
	sc_buf_printf(&b, " duration=%.3fs;;;0\n", (sc_now_ms() - r->started_ms) / 1000.0);
	for (size_t i = 0; i < r->n; i++) {
		const sc_check *c = &r->checks[i];
		sc_buf_printf(&b, "%s ", c->status == SC_CHECK_OK ? "OK" : c->status == SC_CHECK_WARN ? "WARNING"
									    : c->status == SC_CHECK_FAIL ? "CRITICAL" : "SKIPPED");
		plain_line(&b, c->id);
		sc_buf_puts(&b, ": ");
		plain_line(&b, c->message);
		if (c->hint && c->status != SC_CHECK_OK && c->status != SC_CHECK_SKIP) {
			sc_buf_puts(&b, " (fix: ");
			plain_line(&b, c->hint);
			sc_buf_putc(&b, ')');
		}
		sc_buf_putc(&b, '\n');
	}
	return sc_buf_take(&b);
}

char *sc_report_nagios_unknown(const char *message)
{
	sc_buf b = SC_BUF_INIT;
	sc_buf_puts(&b, "SYNCCTL UNKNOWN - ");
	plain_line(&b, message && *message ? message : "the command could not run");
	sc_buf_putc(&b, '\n');
	return sc_buf_take(&b);
}

/* ---- Prometheus ---- */

/* A label value: UTF-8 with \\, \" and \n escaped, as the exposition
 * format wants; bytes that are not UTF-8 become U+FFFD. */
static void prom_label_value(sc_buf *b, const char *s)
{
	sc_buf_putc(b, '"');
	const unsigned char *p = (const unsigned char *)(s ? s : "");
	size_t n = strlen((const char *)p);
	for (size_t i = 0; i < n;) {
		if (p[i] >= 0x80) {
			size_t k = sc_utf8_seq(p + i, n - i);
			if (k)
				sc_buf_append(b, (const char *)p + i, k);
			else
				sc_buf_puts(b, "\xEF\xBF\xBD");
			i += k ? k : 1;
			continue;
		}
		if (p[i] == '\\')
			sc_buf_puts(b, "\\\\");
		else if (p[i] == '"')
			sc_buf_puts(b, "\\\"");
		else if (p[i] == '\n')
			sc_buf_puts(b, "\\n");
		else
			sc_buf_putc(b, (char)p[i]);
		i++;
	}
	sc_buf_putc(b, '"');
}

/* A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*. */
static void prom_name(sc_buf *b, const char *s)
{
	sc_buf_puts(b, "syncctl_");
	for (const char *p = s; *p; p++)
		sc_buf_putc(b, isalnum((unsigned char)*p) || *p == '_' ? *p : '_');
}

static void prom_labels(sc_buf *b, const sc_check *c, const char *command)
{
	sc_buf_puts(b, "{check=");
	prom_label_value(b, c->id);
	sc_buf_puts(b, ",group=");
	prom_label_value(b, c->group ? c->group : command);
	sc_buf_putc(b, '}');
}

/* A sample value as the exposition format spells it (Go's ParseFloat):
 * whole numbers as such, NaN and +Inf/-Inf by name. */
static void prom_number(sc_buf *b, double v)
{
	if (isnan(v))
		sc_buf_puts(b, " NaN\n");
	else if (isinf(v))
		sc_buf_puts(b, v > 0 ? " +Inf\n" : " -Inf\n");
	else if (v < 9e15 && v > -9e15 && v == (double)(long long)v)
		sc_buf_printf(b, " %lld\n", (long long)v);
	else
		sc_buf_printf(b, " %.9g\n", v);
}

char *sc_report_render_prometheus(const sc_report *r, const char *command, double now_s, int exit_code)
{
	sc_buf b = SC_BUF_INIT;
	sc_buf_puts(&b, "# HELP syncctl_check_status Status of a syncctl check: 0 ok, 1 warn, 2 fail, 3 skip.\n"
			"# TYPE syncctl_check_status gauge\n");
	for (size_t i = 0; i < r->n; i++) {
		const sc_check *c = &r->checks[i];
		int v = c->status == SC_CHECK_OK ? 0 : c->status == SC_CHECK_WARN ? 1 : c->status == SC_CHECK_FAIL ? 2 : 3;
		sc_buf_puts(&b, "syncctl_check_status");
		prom_labels(&b, c, command);
		prom_number(&b, v);
	}
	sc_buf_puts(&b, "# HELP syncctl_check_duration_seconds Time a syncctl check took.\n"
			"# TYPE syncctl_check_duration_seconds gauge\n");
	for (size_t i = 0; i < r->n; i++) {
		sc_buf_puts(&b, "syncctl_check_duration_seconds");
		prom_labels(&b, &r->checks[i], command);
		prom_number(&b, r->checks[i].duration_ms / 1000.0);
	}
	/* Each measured figure once as a family, every check's value under it. */
	for (size_t i = 0; i < r->n; i++) {
		for (size_t k = 0; k < r->checks[i].nmetrics; k++) {
			const char *name = r->checks[i].metrics[k].name;
			bool seen = false;
			for (size_t a = 0; a <= i && !seen; a++)
				for (size_t m = 0; m < (a == i ? k : r->checks[a].nmetrics) && !seen; m++)
					seen = strcmp(r->checks[a].metrics[m].name, name) == 0;
			if (seen)
				continue;
			sc_buf_puts(&b, "# HELP ");
			prom_name(&b, name);
			sc_buf_printf(&b, " A figure syncctl's checks measure (%s).\n# TYPE ", name);
			prom_name(&b, name);
			sc_buf_puts(&b, " gauge\n");
			for (size_t a = i; a < r->n; a++)
				for (size_t m = 0; m < r->checks[a].nmetrics; m++) {
					if (strcmp(r->checks[a].metrics[m].name, name) != 0)
						continue;
					prom_name(&b, name);
					prom_labels(&b, &r->checks[a], command);
					prom_number(&b, r->checks[a].metrics[m].value);
				}
		}
	}
	/* As the Nagios renderer: a run in which nothing was checked (every
	 * check skipped, or none at all) is 3, not ok. */
	sc_check_status worst = sc_report_status(r);
	bool checked = false;
	for (size_t i = 0; i < r->n && !checked; i++)
		checked = r->checks[i].status != SC_CHECK_SKIP;
	int wv = !checked ? 3 : worst == SC_CHECK_OK ? 0 : worst == SC_CHECK_WARN ? 1 : worst == SC_CHECK_FAIL ? 2 : 3;
	sc_buf_puts(&b, "# HELP syncctl_status Worst status of the run: 0 ok, 1 warn, 2 fail, 3 nothing checked.\n"
			"# TYPE syncctl_status gauge\nsyncctl_status{command=");
	prom_label_value(&b, command);
	sc_buf_printf(&b, "} %d\n", wv);
	sc_buf_puts(&b, "# HELP syncctl_exit_code syncctl's exit code: 0 ok, 1 problems found, 2 usage error or unusable input, 3 could not do the job.\n"
			"# TYPE syncctl_exit_code gauge\nsyncctl_exit_code{command=");
	prom_label_value(&b, command);
	sc_buf_printf(&b, "} %d\n", exit_code);
	sc_buf_puts(&b, "# HELP syncctl_run_timestamp_seconds When the run ended, seconds since the epoch.\n"
			"# TYPE syncctl_run_timestamp_seconds gauge\nsyncctl_run_timestamp_seconds{command=");
	prom_label_value(&b, command);
	sc_buf_printf(&b, "} %.3f\n", now_s);
	sc_buf_puts(&b, "# HELP syncctl_run_duration_seconds How long the run took.\n"
			"# TYPE syncctl_run_duration_seconds gauge\nsyncctl_run_duration_seconds{command=");
	prom_label_value(&b, command);
	sc_buf_printf(&b, "} %.3f\n", (sc_now_ms() - r->started_ms) / 1000.0);
	return sc_buf_take(&b);
}
