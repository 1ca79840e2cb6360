/* syncctl watch: row changes as they leave Postgres through logical
 * replication; --probe measures the replication round trip. */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "../lib/buf.h"
#include "../lib/pg.h"
#include "../lib/replication.h"
#include "../lib/util.h"
#include "../lib/watch.h"
#include "../lib/json.h"
#include "../lib/text.h"
#include "cli.h"

typedef struct {
	const char *publication;
	sc_list tables;
	bool json;
	long count;
	double duration;
	bool probe;
	double interval;
} watch_opts;

static const sc_opt opts[] = {
	OPT_SETTING("db", 0, SC_SET_DB, "URI", "source Postgres (default: SYNCCTL_DB, DATABASE_URL, PG* variables)",
		    .doc = "The role needs REPLICATION."),
	OPT_STRING(watch_opts, "publication", 0, publication, "NAME", "the publication to follow (default powersync)", .nonempty = true),
	OPT_LIST(watch_opts, "table", 't', tables, "TABLE", "only this table (repeatable; table or schema.table)", .nonempty = true),
	OPT_INT(watch_opts, "count", 'n', count, "N", 1, 1000000000000L, "stop after N changes (with --probe: N probes)"),
	OPT_DURATION(watch_opts, "duration", 0, duration, "DURATION", 0, "stop after this long: 30, 30s, 5m, 1h",
		     .doc = "Fractions allowed. *--timeout* bounds connecting and each command, not the watch itself."),
	OPT_FLAG(watch_opts, "probe", 0, probe, "measure the replication round trip of logical messages (needs PostgreSQL 14)"),
	OPT_DURATION(watch_opts, "interval", 0, interval, "DURATION", 0, "--probe: time between probes (default 1s; 0.2s works)"),
	OPT_END,
};

static volatile sig_atomic_t stop_requested;
static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static void format_time(long long us, char *out, size_t n, bool iso)
{
	time_t t = (time_t)(us / 1000000);
	struct tm tm;
	gmtime_r(&t, &tm);
	char base[32];
	strftime(base, sizeof base, iso ? "%Y-%m-%dT%H:%M:%S" : "%Y-%m-%d %H:%M:%S", &tm);
	snprintf(out, n, iso ? "%s.%06lldZ" : "%s.%06lld UTC", base, us % 1000000);
}

/* A value for the text format: bare when plain, else single-quoted. */
static void put_value(sc_buf *b, char kind, const char *v)
{
	if (kind == 'n') {
		sc_buf_puts(b, "NULL");
		return;
	}
	if (kind == 'u') {
		sc_buf_puts(b, "<unchanged>");
		return;
	}
	bool plain = *v != '\0';
	for (const char *p = v; *p && plain; p++)
		plain = (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
			strchr("_.:+-@/", *p);
	if (plain) {
		sc_buf_puts(b, v);
		return;
	}
	/* Quotes doubled, a newline as \n, and what a terminal would obey
	 * escaped (lib/text.h). */
	sc_buf_putc(b, '\'');
	const char *run = v;
	for (const char *p = v;; p++) {
		if (*p && *p != '\'' && *p != '\n')
			continue;
		sc_text_append_safe(b, run, (size_t)(p - run), false);
		if (!*p)
			break;
		sc_buf_puts(b, *p == '\'' ? "''" : "\\n");
		run = p + 1;
	}
	sc_buf_putc(b, '\'');
}

static void put_name(sc_buf *b, const char *s)
{
	sc_text_append_safe(b, s, strlen(s), false);
}

static void put_tuple(sc_buf *b, const sc_change *c, const char *const *vals, const char *kind,
		      bool keys_only)
{
	bool first = true;
	for (int i = 0; i < c->ncols; i++) {
		if (keys_only && !c->is_key[i])
			continue;
		/* A key-only old tuple carries NULL in its other columns. */
		sc_buf_puts(b, first ? "" : " ");
		put_name(b, c->names[i]);
		sc_buf_putc(b, '=');
		put_value(b, kind[i], vals[i]);
		first = false;
	}
}

/* JSON output is written directly: at hundreds of thousands of changes a
 * second, building a cJSON tree per row costs more than decoding it. The
 * strings as RFC 8259 wants them, in valid UTF-8 (lib/json.h). */
static void json_str(sc_buf *b, const char *v)
{
	sc_json_append_string(b, v);
}

static void json_tuple(sc_buf *b, const sc_change *c, const char *const *vals, const char *kind,
		       bool keys_only, bool *any_unchanged)
{
	sc_buf_putc(b, '{');
	bool first = true;
	for (int i = 0; i < c->ncols; i++) {
		if (keys_only && !c->is_key[i])
			continue;
		if (kind[i] == 'u') {
			if (any_unchanged)
				*any_unchanged = true;
			continue;
		}
		if (!first)
			sc_buf_putc(b, ',');
		first = false;
		json_str(b, c->names[i]);
		sc_buf_putc(b, ':');
		if (kind[i] == 'n')
			sc_buf_puts(b, "null");
		else
			json_str(b, vals[i]);
	}
	sc_buf_putc(b, '}');
}

static void on_change(const sc_change *c, void *data)
{
	watch_opts *o = data;
	/* The key comes from the new row, or the old one for deletes. */
	const char *const *kv = c->has_new ? c->new_vals : c->old_vals;
	const char *kk = c->has_new ? c->new_kind : c->old_kind;
	bool have_key = c->has_new || c->has_old;
	char when[48];
	format_time(c->commit_time_us, when, sizeof when, o->json);
	if (o->json) {
		static sc_buf j = SC_BUF_INIT;
		j.len = 0;
		sc_buf_printf(&j, "{\"commit_time\":\"%s\",\"lsn\":\"%X/%X\",\"xid\":%u,\"table\":", when,
			      (unsigned)(c->lsn >> 32), (unsigned)c->lsn, (unsigned)c->xid);
		char *table = sc_xasprintf("%s.%s", c->schema, c->table);
		json_str(&j, table);
		free(table);
		sc_buf_printf(&j, ",\"op\":\"%s\",\"key\":", c->op);
		if (have_key)
			json_tuple(&j, c, kv, kk, true, NULL);
		else
			sc_buf_puts(&j, "null");
		bool unchanged = false;
		sc_buf_puts(&j, ",\"new\":");
		if (c->has_new)
			json_tuple(&j, c, c->new_vals, c->new_kind, false, &unchanged);
		else
			sc_buf_puts(&j, "null");
		sc_buf_puts(&j, ",\"old\":");
		if (c->has_old)
			json_tuple(&j, c, c->old_vals, c->old_kind, c->old_is_key_only, NULL);
		else
			sc_buf_puts(&j, "null");
		if (unchanged) {
			sc_buf_puts(&j, ",\"unchanged\":[");
			bool first = true;
			for (int i = 0; i < c->ncols; i++)
				if (c->new_kind[i] == 'u') {
					if (!first)
						sc_buf_putc(&j, ',');
					first = false;
					json_str(&j, c->names[i]);
				}
			sc_buf_putc(&j, ']');
		}
		sc_buf_puts(&j, "}\n");
		fwrite(j.data, 1, j.len, stdout);
		return;
	}
	sc_buf b = SC_BUF_INIT;
	sc_buf_printf(&b, "%s  ", when);
	put_name(&b, c->schema);
	sc_buf_putc(&b, '.');
	put_name(&b, c->table);
	sc_buf_printf(&b, "  %s", c->op);
	for (char *p = b.data + b.len - strlen(c->op); *p; p++)
		*p = (char)(*p - 'a' + 'A');
	if (have_key) {
		sc_buf_puts(&b, "  [");
		put_tuple(&b, c, kv, kk, true);
		sc_buf_putc(&b, ']');
	}
	if (c->has_new) {
		sc_buf_puts(&b, "  ");
		put_tuple(&b, c, c->new_vals, c->new_kind, false);
	}
	if (c->has_old && !(c->old_is_key_only && !c->has_new)) {
		sc_buf_puts(&b, "  (old: ");
		put_tuple(&b, c, c->old_vals, c->old_kind, c->old_is_key_only);
		sc_buf_putc(&b, ')');
	}
	sc_buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, stdout);
	sc_buf_free(&b);
}

static void on_probe(long long seq, double rtt, void *data)
{
	watch_opts *o = data;
	if (o->json)
		printf("{\"probe\":%lld,\"rtt_ms\":%.3f}\n", seq, rtt);
	else
		printf("probe %lld: %.2f ms\n", seq, rtt);
	fflush(stdout);
}

static void on_flush(void *data)
{
	(void)data;
	fflush(stdout);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void print_probe_summary(const watch_opts *o, const sc_watch_stats *st)
{
	long long n = st->probes;
	if (n == 0) {
		if (o->json)
			puts("{\"summary\":{\"count\":0}}");
		else
			puts("probes: none arrived");
		return;
	}
	double *v = sc_xmalloc((size_t)n * sizeof *v);
	memcpy(v, st->rtt_ms, (size_t)n * sizeof *v);
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
	/* Nearest-rank p95. */
	long long rank = (long long)ceil(0.95 * (double)n);
	double p95 = v[(rank < 1 ? 1 : rank) - 1];
	if (o->json)
		printf("{\"summary\":{\"count\":%lld,\"min_ms\":%.3f,\"median_ms\":%.3f,\"p95_ms\":%.3f,\"max_ms\":%.3f}}\n",
		       n, v[0], median, p95, v[n - 1]);
	else
		printf("probes: %lld, min %.2f ms, median %.2f ms, p95 %.2f ms, max %.2f ms\n", n, v[0], median, p95,
		       v[n - 1]);
	free(v);
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	watch_opts o;
	memset(&o, 0, sizeof o);
	o.publication = SC_DEFAULT_PUBLICATION;
	o.interval = 1.0;
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc))
		goto done;
	if (first < argc) {
		rc = sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
		goto done;
	}
	if ((rc = sc_ctx_load_config(ctx)) != 0)
		goto done;
	/* --format json: one JSON object a change (JSON Lines), as they come. */
	o.json = ctx->format == SC_FORMAT_JSON;

	sc_error err;
	sc_error_clear(&err);
	const char *origin;
	const char *db = sc_config_get(&ctx->cfg, SC_SET_DB, &origin);
	char *what = sc_xasprintf("the source database (from %s)", db ? origin : "libpq's PG* defaults");
	if (!db)
		db = "";
	sc_pg *pg = sc_cli_connect_db(ctx, &err);
	if (!pg) {
		free(what);
		rc = sc_cli_fail(ctx, &err);
		goto done;
	}
	/* Say why it cannot start, with the same hints as slots/publications. */
	sc_report r;
	sc_report_init(&r);
	int fails = sc_watch_preflight(pg, o.publication, o.probe, &r, &err);
	sc_pg_close(pg);
	if (fails != 0) {
		if (fails < 0) {
			rc = sc_cli_fail(ctx, &err);
		} else {
			for (size_t i = 0; i < r.n; i++) {
				sc_cli_error(ctx, "cannot start: %s [%s]", r.checks[i].message, r.checks[i].id);
				if (r.checks[i].hint)
					fprintf(stderr, "  hint: %s\n", r.checks[i].hint);
			}
			rc = SC_EXIT_PROBLEM;
		}
		sc_report_free(&r);
		free(what);
		goto done;
	}
	sc_report_free(&r);

	struct sigaction sa;
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = on_signal;
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	sc_watch_opts wo = { o.publication, o.tables.v, o.tables.n, o.count, o.duration, o.probe, o.interval,
			     (int)ctx->timeout, &stop_requested };
	sc_watch_callbacks cb = { on_change, on_probe, on_flush, &o };
	sc_watch_stats st;
	if (sc_watch_run(db, what, &wo, &cb, &st, &err) != 0) {
		fflush(stdout);
		rc = sc_cli_fail(ctx, &err);
	} else {
		if (o.probe)
			print_probe_summary(&o, &st);
		fflush(stdout);
		if (strcmp(st.stopped_by, "server") == 0) {
			sc_cli_error(ctx, "the server ended the replication stream");
			rc = SC_EXIT_FAILED;
		} else {
			rc = SC_EXIT_OK;
		}
		if (ctx->verbose || sc_cli_stderr_is_tty())
			fprintf(stderr, "syncctl watch: stopped (%s) after %lld %s; slot %s is gone with the session\n",
				st.stopped_by, o.probe ? st.probes : st.changes, o.probe ? "probes" : "changes", st.slot);
	}
	sc_watch_stats_free(&st);
	free(what);
done:
	sc_list_free(&o.tables);
	return rc;
}

static const char *const usage[] = {
	"watch [--db URI] [--publication NAME] [--table T].. [--format text|json]",
	"      [--count N] [--duration D] [--probe [--interval D]]",
	NULL,
};

const sc_cmd cmd_watch = {
	.name = "watch",
	.summary = "row changes as they leave Postgres; the replication round trip (--probe)",
	.usage = usage,
	.description =
		"Subscribes to the publication (default powersync) through a TEMPORARY logical\n"
		"slot with the pgoutput plugin, as the sync service does, and prints one line per\n"
		"row change: commit time, table, operation, key, new values (and old ones where the\n"
		"replica identity gives them). It never touches the service's slots; its own\n"
		"goes away with the session. Stops after --count changes, --duration, or on\n"
		"Ctrl-C/SIGTERM. --probe emits logical messages every --interval and prints the\n"
		"time each takes to come back on the stream, then count/min/median/p95/max.",
	.opts = opts,
	.formats = SC_FMT_TEXT_JSON,
	.format_note = "json is a stream: one JSON object a change, a line each",
	.run = run,
};
