/* syncctl watch: row changes as they leave Postgres through logical
 * replication; --probe measures the replication round trip. */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>


#include "../lib/buf.h"
#include "../lib/pg.h"
#include "../lib/util.h"
#include "../lib/watch.h"
#include "cli.h"

typedef struct {
	const char *publication;
	char **tables;
	size_t ntables;
	bool json;
	long long count;
	double duration;
	bool probe;
	double interval;
} watch_opts;

static const sc_opt opts[] = {
	{ "db", 0, required_argument, "URI", "source Postgres (default: SYNCCTL_DB, DATABASE_URL, PG* variables)", OPT_DB, NULL },
	{ "publication", 0, required_argument, "NAME", "the publication to follow (default powersync)", OPT_PUBLICATION, NULL },
	{ "table", 't', required_argument, "TABLE", "only this table (repeatable; table or schema.table)", OPT_TABLE, NULL },
	{ "format", 0, required_argument, "FMT", "text (default) or json (one JSON object a line)", OPT_FORMAT, "text json" },
	{ "count", 'n', required_argument, "N", "stop after N changes (with --probe: N probes)", OPT_COUNT, NULL },
	{ "duration", 0, required_argument, "DURATION", "stop after this long: 30, 30s, 5m, 1h", OPT_DURATION, NULL },
	{ "probe", 0, no_argument, NULL, "measure the replication round trip of logical messages (PostgreSQL 14+)", OPT_PROBE, NULL },
	{ "interval", 0, required_argument, "DURATION", "--probe: time between probes (default 1s; 0.2s works)", OPT_INTERVAL, NULL },
	{ 0 },
};

static int on_opt(sc_ctx *ctx, int id, const char *arg, void *data)
{
	watch_opts *o = data;
	switch (id) {
	case OPT_DB: sc_config_set_flag(&ctx->cfg, SC_SET_DB, arg); return 0;
	case OPT_PUBLICATION:
		if (!*arg)
			return sc_cli_usage_error(ctx, "--publication needs a name");
		o->publication = arg;
		return 0;
	case 't':
	case OPT_TABLE:
		o->tables = sc_xrealloc(o->tables, (o->ntables + 1) * sizeof *o->tables);
		o->tables[o->ntables++] = (char *)arg;
		return 0;
	case OPT_FORMAT:
		if (strcmp(arg, "json") == 0)
			o->json = true;
		else if (strcmp(arg, "text") == 0)
			o->json = false;
		else
			return sc_cli_usage_error(ctx, "--format takes text or json, not '%s'", arg);
		return 0;
	case 'n':
	case OPT_COUNT: {
		char *end;
		errno = 0;
		long long v = strtoll(arg, &end, 10);
		if (errno || *end || end == arg || v < 1)
			return sc_cli_usage_error(ctx, "--count takes a positive number, not '%s'", arg);
		o->count = v;
		return 0;
	}
	case OPT_DURATION:
		if (!sc_parse_duration(arg, &o->duration))
			return sc_cli_usage_error(ctx, "--duration takes a duration such as 30, 30s, 5m, not '%s'", arg);
		return 0;
	case OPT_PROBE: o->probe = true; return 0;
	case OPT_INTERVAL:
		if (!sc_parse_duration(arg, &o->interval))
			return sc_cli_usage_error(ctx, "--interval takes a duration such as 1, 0.5, 2s, not '%s'", arg);
		return 0;
	}
	return -1;
}

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
	sc_buf_putc(b, '\'');
	for (const char *p = v; *p; p++) {
		if (*p == '\'')
			sc_buf_putc(b, '\'');
		if (*p == '\n')
			sc_buf_puts(b, "\\n");
		else
			sc_buf_putc(b, *p);
	}
	sc_buf_putc(b, '\'');
}

static void put_tuple(sc_buf *b, const sc_change *c, const char *const *vals, const char *kind,
		      bool keys_only)
{
	bool first = true;
	for (int i = 0; i < c->ncols; i++) {
		if (keys_only && !c->is_key[i])
			continue;
		/* A key-only old tuple carries NULL in its other columns. */
		sc_buf_printf(b, "%s%s=", first ? "" : " ", c->names[i]);
		put_value(b, kind[i], vals[i]);
		first = false;
	}
}

/* JSON output is written directly: at hundreds of thousands of changes a
 * second, building a cJSON tree per row costs more than decoding it. The
 * string escaping follows RFC 8259 (quote, backslash, control characters). */
static void json_str(sc_buf *b, const char *v)
{
	sc_buf_putc(b, '"');
	const char *run = v;
	for (const char *p = v; *p; p++) {
		unsigned char ch = (unsigned char)*p;
		if (ch >= 0x20 && ch != '"' && ch != '\\')
			continue;
		sc_buf_append(b, run, (size_t)(p - run));
		if (ch == '"' || ch == '\\') {
			sc_buf_putc(b, '\\');
			sc_buf_putc(b, (char)ch);
		} else if (ch == '\n') {
			sc_buf_puts(b, "\\n");
		} else if (ch == '\t') {
			sc_buf_puts(b, "\\t");
		} else if (ch == '\r') {
			sc_buf_puts(b, "\\r");
		} else {
			sc_buf_printf(b, "\\u%04x", ch);
		}
		run = p + 1;
	}
	sc_buf_puts(b, run);
	sc_buf_putc(b, '"');
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
	sc_buf_printf(&b, "%s  %s.%s  %s", when, c->schema, c->table, c->op);
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
	o.publication = "powersync";
	o.interval = 1.0;
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, on_opt, &o, &first, &rc))
		goto done;
	if (first < argc) {
		rc = sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
		goto done;
	}
	if ((rc = sc_ctx_load_config(ctx)) != 0)
		goto done;
	if (ctx->json)
		o.json = true;

	sc_error err;
	sc_error_clear(&err);
	const char *origin;
	const char *db = sc_cli_db(ctx, &origin);
	char *what = sc_xasprintf("the source database (from %s)", *db ? origin : "libpq's PG* defaults");
	sc_pg *pg = sc_pg_connect(db, what, ctx->timeout, &err);
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

	sc_watch_opts wo = { o.publication, o.tables, o.ntables, o.count, o.duration, o.probe, o.interval,
			     ctx->timeout, &stop_requested };
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
	free(o.tables);
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
	.run = run,
};
