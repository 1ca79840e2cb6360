/* The one output layer: every command's result goes through here, in the
 * format the options ask for, to stdout or (--output) a file written
 * atomically. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/util.h"
#include "../lib/json.h"
#include "../lib/text.h"
#include "cli.h"

/* Where the output goes: stdout, or a temporary file beside --output that
 * sc_out_close renames over it (node_exporter never reads half a file). */
typedef struct sink {
	FILE *f;
	char *tmp;
} sink;

static int sink_open(sc_ctx *ctx, sink *s)
{
	memset(s, 0, sizeof *s);
	if (!ctx->output) {
		s->f = stdout;
		return 0;
	}
	s->tmp = sc_xasprintf("%s.tmp.%ld", ctx->output, (long)getpid());
	/* O_EXCL: a file (or a link) already there under that name is not
	 * written through. */
	int fd = open(s->tmp, O_WRONLY | O_CREAT | O_EXCL, 0644);
	s->f = fd >= 0 ? fdopen(fd, "w") : NULL;
	if (!s->f) {
		if (fd >= 0)
			close(fd);
		sc_cli_error(ctx, "cannot write --output %s: %s", ctx->output, strerror(errno));
		free(s->tmp);
		s->tmp = NULL;
		return SC_EXIT_FAILED;
	}
	return 0;
}

static int sink_close(sc_ctx *ctx, sink *s)
{
	if (!s->tmp) {
		fflush(stdout);
		return 0;
	}
	bool ok = fflush(s->f) == 0 && fsync(fileno(s->f)) == 0;
	ok = fclose(s->f) == 0 && ok;
	if (ok && rename(s->tmp, ctx->output) != 0)
		ok = false;
	if (!ok) {
		sc_cli_error(ctx, "cannot write --output %s: %s", ctx->output, strerror(errno));
		unlink(s->tmp);
	}
	free(s->tmp);
	return ok ? 0 : SC_EXIT_FAILED;
}

void sc_cli_report_text(sc_ctx *ctx, FILE *out, const sc_report *r, const char *before)
{
	sc_render_opts ro = { sc_cli_color_stdout(ctx), ctx->quiet, ctx->verbose, ctx->strict, false };
	if (before && *before && !ctx->quiet)
		fputs(before, out);
	char *t = sc_report_render_text(r, &ro);
	fputs(t, out);
	free(t);
}

/* The last guard of text output: whatever a renderer printed, what a
 * terminal would obey is escaped (lib/text.h), but for the colour
 * sequences the renderers themselves write (ESC [ digits ; m). */
static void put_text_guarded(FILE *out, const char *s, size_t n)
{
	sc_buf b = SC_BUF_INIT;
	size_t i = 0, run = 0;
	while (i < n) {
		if (s[i] != '\033') {
			i++;
			continue;
		}
		size_t k = i + 1;
		if (k < n && s[k] == '[') {
			k++;
			while (k < n && k - i < 10 && ((s[k] >= '0' && s[k] <= '9') || s[k] == ';'))
				k++;
		}
		if (k < n && s[k] == 'm' && k > i + 1) {
			sc_text_append_safe(&b, s + run, i - run, true);
			sc_buf_append(&b, s + i, k + 1 - i);
			i = run = k + 1;
		} else {
			i++;
		}
	}
	sc_text_append_safe(&b, s + run, n - run, true);
	if (b.len)
		fwrite(b.data, 1, b.len, out);
	sc_buf_free(&b);
}

static void render_text(sc_ctx *ctx, FILE *out, sc_out *o)
{
	char *mem = NULL;
	size_t memlen = 0;
	FILE *m = open_memstream(&mem, &memlen);
	if (!m)
		return;
	if (o->text)
		o->text(ctx, m, o->data);
	else if (o->report)
		sc_cli_report_text(ctx, m, o->report, o->before);
	fclose(m);
	put_text_guarded(out, mem, memlen);
	free(mem);
}

int sc_cli_output(sc_ctx *ctx, sc_out *o)
{
	sink s;
	int rc = sink_open(ctx, &s);
	if (rc)
		return rc;
	rc = o->rc >= 0 ? o->rc : o->report ? sc_report_exit_code(o->report, ctx->strict) : 0;
	switch (ctx->format) {
	case SC_FORMAT_JSON: {
		char *doc = o->json ? sc_json_print(o->json, true) : o->report ? sc_report_render_json(o->report) : NULL;
		if (doc) {
			fputs(doc, s.f);
			fputc('\n', s.f);
		}
		free(doc);
		break;
	}
	case SC_FORMAT_NAGIOS: {
		char *t = sc_report_render_nagios(o->report, ctx->strict, &rc);
		fputs(t, s.f);
		free(t);
		break;
	}
	case SC_FORMAT_PROMETHEUS: {
		struct timespec ts;
		clock_gettime(CLOCK_REALTIME, &ts);
		char *t = sc_report_render_prometheus(o->report, ctx->cmd->name, (double)ts.tv_sec + ts.tv_nsec / 1e9, rc);
		fputs(t, s.f);
		free(t);
		break;
	}
	default:
		render_text(ctx, s.f, o);
		break;
	}
	cJSON_Delete(o->json);
	o->json = NULL;
	ctx->reported = true;
	int wrc = sink_close(ctx, &s);
	return wrc ? wrc : rc;
}

static void text_line(sc_ctx *ctx, FILE *out, void *data)
{
	if (!ctx->quiet && data)
		fputs(data, out);
}

int sc_cli_data(sc_ctx *ctx, cJSON *json, const char *text, int rc)
{
	sc_out o = { .json = json, .text = text_line, .data = (void *)text, .rc = rc };
	return sc_cli_output(ctx, &o);
}

int sc_cli_text_or_json(sc_ctx *ctx, const char *what)
{
	if (ctx->format == SC_FORMAT_TEXT || ctx->format == SC_FORMAT_JSON)
		return 0;
	int fmt = ctx->format;
	ctx->format = SC_FORMAT_TEXT;
	static const char *const names[] = { "text", "json", "nagios", "prometheus" };
	return sc_cli_usage_error(ctx, "--format %s is not one %s gives (it gives text, json)", names[fmt], what);
}

int sc_cli_print_report(sc_ctx *ctx, sc_report *r, const char *before)
{
	sc_out o = { .report = r, .before = before, .rc = -1 };
	return sc_cli_output(ctx, &o);
}

int sc_cli_finish(sc_ctx *ctx, int rc)
{
	if (ctx->format == SC_FORMAT_PROMETHEUS && !ctx->reported && rc != 0 && ctx->cmd) {
		/* Nothing was checked (a usage error, a server out of reach): the
		 * textfile still says so, rather than keeping the last good run. */
		sc_report r;
		sc_report_init(&r);
		sc_out o = { .report = &r, .rc = rc };
		int wrc = sc_cli_output(ctx, &o);
		sc_report_free(&r);
		return wrc == rc || wrc == 0 ? rc : wrc;
	}
	if (ctx->format != SC_FORMAT_NAGIOS)
		return rc;
	if (!ctx->reported && rc != 0) {
		char *t = sc_report_nagios_unknown(ctx->last_error[0] ? ctx->last_error : "the command printed no result");
		fputs(t, stdout);
		free(t);
		fflush(stdout);
		return 3;
	}
	return rc;
}
