/* syncctl compare: row counts (and which rows) local vs server, for a
 * PowerSync client database or a second Postgres. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/compare.h"
#include "../lib/pg.h"
#include "../lib/report.h"
#include "../lib/rules.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct {
	const char *local;
	sc_list tables;
	const char *user;
	bool ids, checksum;
	long limit;
	const char *schema;
} compare_opts;

static const sc_opt opts[] = {
	OPT_SETTING("server", 0, SC_SET_DB, "URI", "the server Postgres (default: the source DB: SYNCCTL_DB, DATABASE_URL, ...)"),
	OPT_FILE(compare_opts, "local", 0, local, "PATH|URI", "a client SQLite file, or a second Postgres",
		 .doc = "A PowerSync client database is opened read-only and never written, even while the app holds it."),
	OPT_LIST(compare_opts, "table", 't', tables, "T", "only this table (repeatable)", .nonempty = true),
	OPT_STRING(compare_opts, "user", 0, user, "ID", "count on the server what this user should have (with --rules)",
		   .doc = "Tables whose rules cannot be evaluated here are *unscoped*, with the reason."),
	OPT_SETTING("rules", 0, SC_SET_RULES, "FILE", "the sync rules for --user (default: SYNCCTL_RULES, the service config)", .file = true),
	OPT_FLAG(compare_opts, "ids", 0, ids, "list the ids only local and only on the server, for tables that differ",
		 .doc = "Streamed and merged in key order, in constant memory."),
	OPT_INT(compare_opts, "limit", 0, limit, "N", 1, 100000, "--ids: at most N ids each side and table (default 20)"),
	OPT_FLAG(compare_opts, "checksum", 0, checksum, "Postgres vs Postgres: also compare content, hashed on each server"),
	OPT_STRING(compare_opts, "schema", 0, schema, "NAME", "Postgres vs Postgres: the schema compared (default public)", .nonempty = true),
	OPT_END,
};

static bool is_pg(const char *s)
{
	return !strncmp(s, "postgres://", 11) || !strncmp(s, "postgresql://", 13) || strchr(s, '=') != NULL;
}

static void print_text(sc_ctx *ctx, FILE *out, void *data)
{
	const sc_cmp_result *r = data;
	static const char *const header[] = { "TABLE", "LOCAL", "SERVER", "PENDING", "STATUS" };
	sc_table t;
	sc_table_init(&t, 5, header);
	long long tl = 0, ts = 0;
	for (size_t i = 0; i < r->ntables; i++) {
		const sc_cmp_table *x = &r->tables[i];
		char l[32] = "-", s[32] = "-", p[32];
		if (x->local >= 0)
			snprintf(l, sizeof l, "%lld", x->local), tl += x->local;
		if (x->server >= 0)
			snprintf(s, sizeof s, "%lld", x->server), ts += x->server;
		snprintf(p, sizeof p, "%lld", x->pending);
		char *status = x->note ? sc_xasprintf("%s (%s)", x->status, x->note) : sc_xstrdup(x->status);
		const char *row[] = { x->name, l, s, p, status };
		if (!ctx->quiet || strcmp(x->status, "in_sync") != 0)
			sc_table_add(&t, row);
		free(status);
	}
	char l[32], s[32], p[32];
	snprintf(l, sizeof l, "%lld", tl);
	snprintf(s, sizeof s, "%lld", ts);
	snprintf(p, sizeof p, "%lld", r->pending_total);
	const char *tot[] = { "total", l, s, p, "" };
	sc_table_add(&t, tot);
	char *table_text = sc_table_render(&t, "", false);
	fputs(table_text, out);
	free(table_text);
	sc_table_free(&t);
	for (size_t i = 0; i < r->ntables; i++) {
		const sc_cmp_table *x = &r->tables[i];
		for (size_t k = 0; k < x->n_only_local; k++)
			fprintf(out, "%s: only local: %s\n", x->name, x->only_local[k]);
		for (size_t k = 0; k < x->n_only_server; k++)
			fprintf(out, "%s: only on the server: %s\n", x->name, x->only_server[k]);
		if (x->ids_truncated)
			fprintf(out, "%s: more ids differ than --limit shows\n", x->name);
		if (x->local_sum && x->server_sum && !ctx->quiet)
			fprintf(out, "%s: content %s\n", x->name, strcmp(x->local_sum, x->server_sum) ? "differs" : "same");
	}
	if (r->powersync && !ctx->quiet) {
		const cJSON *e, *op;
		cJSON_ArrayForEach(e, r->pending_by_op) {
			fprintf(out, "pending uploads, %s:", e->string);
			cJSON_ArrayForEach(op, e)
				fprintf(out, " %s %d", op->string, op->valueint);
			fputc('\n', out);
		}
		cJSON_ArrayForEach(e, r->untyped)
			fprintf(out, "untyped rows (no table in the client schema), %s: %d\n", e->string, e->valueint);
		cJSON_ArrayForEach(e, r->local_only)
			fprintf(out, "local-only table %s: %d rows\n", cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")),
			       cJSON_GetObjectItem(e, "count")->valueint);
		fprintf(out, "last sync: %s\n", r->last_sync ? r->last_sync : "never (no ps_sync_state entry)");
	}
	size_t differ = 0;
	for (size_t i = 0; i < r->ntables; i++)
		differ += strcmp(r->tables[i].status, "in_sync") != 0;
	if (sc_cmp_in_sync(r))
		fprintf(out, "in sync: %zu tables\n", r->ntables);
	else
		fprintf(out, "NOT in sync: %zu of %zu tables differ, %lld pending uploads\n", differ, r->ntables, r->pending_total);
}

/* Compare's result as checks, for --format nagios and prometheus: a check
 * a table with its counts, and the verdict. */
static void result_report(const sc_cmp_result *r, sc_report *rep)
{
	size_t differ = 0;
	for (size_t i = 0; i < r->ntables; i++) {
		const sc_cmp_table *x = &r->tables[i];
		bool same = strcmp(x->status, "in_sync") == 0;
		differ += !same;
		char *id = sc_xasprintf("compare.table.%s", x->name);
		sc_check *c = sc_report_add(rep, id, same ? SC_CHECK_OK : SC_CHECK_FAIL, "%s: %s (local %lld, server %lld, %lld pending)",
					    x->name, x->status, x->local, x->server, x->pending);
		if (x->local >= 0)
			sc_check_metric(c, "local_rows", (double)x->local, "");
		if (x->server >= 0)
			sc_check_metric(c, "server_rows", (double)x->server, "");
		sc_check_metric(c, "pending_uploads", (double)x->pending, "");
		free(id);
	}
	sc_check *c = sc_report_add(rep, "compare", sc_cmp_in_sync(r) ? SC_CHECK_OK : SC_CHECK_FAIL,
				    sc_cmp_in_sync(r) ? "in sync: %zu tables" : "NOT in sync: %zu of the tables differ", sc_cmp_in_sync(r) ? r->ntables : differ);
	sc_check_metric(c, "differing_tables", (double)differ, "");
	sc_check_metric(c, "pending_uploads", (double)r->pending_total, "");
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	compare_opts o;
	memset(&o, 0, sizeof o);
	o.limit = 20;
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc))
		goto out;
	rc = SC_EXIT_USAGE;
	if (first < argc) {
		rc = sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
		goto out;
	}
	if (!o.local) {
		rc = sc_cli_usage_error(ctx, "--local PATH|URI is required: a client database file or a second Postgres");
		goto out;
	}
	if ((rc = sc_ctx_load_config(ctx)) != 0)
		goto out;
	sc_error err;
	sc_error_clear(&err);
	char *rules_text = NULL;
	if (o.user) {
		const char *path = sc_config_get(&ctx->cfg, SC_SET_RULES, NULL);
		if (!path && !ctx->cfg.ps_rules_content) {
			rc = sc_cli_usage_error(ctx, "--user needs the sync rules: --rules FILE");
			goto out;
		}
		size_t len;
		rules_text = path ? sc_read_file(path, SC_RULES_MAX_BYTES, &len, "rules file", &err) : sc_xstrdup(ctx->cfg.ps_rules_content);
		if (!rules_text) {
			rc = sc_cli_fail(ctx, &err);
			goto out;
		}
	}
	sc_pg *server = sc_cli_connect_db(ctx, &err);
	if (!server) {
		free(rules_text);
		rc = sc_cli_fail(ctx, &err);
		goto out;
	}
	sc_cmp_opts co = { o.tables.v, o.tables.n, o.schema, o.ids, (size_t)o.limit, o.checksum, o.user, rules_text, (int)ctx->timeout };
	sc_cmp_result r;
	memset(&r, 0, sizeof r);
	int x;
	if (is_pg(o.local)) {
		sc_pg *local = sc_pg_connect(o.local, "the local database (--local)", ctx->timeout, &err);
		x = local ? sc_compare_pg(local, server, &co, &r, &err) : -1;
		sc_pg_close(local);
	} else {
		if (o.checksum)
			sc_cli_warn(ctx, "--checksum compares two Postgres databases; a client database is compared by counts and --ids");
		x = sc_compare_sqlite(o.local, server, &co, &r, &err);
	}
	if (x != 0) {
		rc = sc_cli_fail(ctx, &err);
	} else {
		sc_report rep;
		sc_report_init(&rep);
		result_report(&r, &rep);
		sc_out out = { .report = &rep, .json = sc_cmp_json(&r), .text = print_text, .data = &r,
			       .rc = sc_cmp_in_sync(&r) ? SC_EXIT_OK : SC_EXIT_PROBLEM };
		rc = sc_cli_output(ctx, &out);
		sc_report_free(&rep);
	}
	sc_cmp_result_free(&r);
	sc_pg_close(server);
	free(rules_text);
out:
	sc_list_free(&o.tables);
	return rc;
}

static const char *const usage[] = {
	"compare --local PATH|URI [--server URI] [--table T].. [--user ID --rules FILE]",
	"        [--ids [--limit N]] [--checksum] [--schema NAME] [--format FORMAT]",
	NULL,
};

const sc_cmd cmd_compare = {
	.name = "compare",
	.summary = "row counts (and which rows) local vs server: a client database or a second Postgres",
	.usage = usage,
	.description =
		"Is this device in sync? --local is a PowerSync client database (SQLite, opened\n"
		"read-only): its synced tables (ps_data__*) are counted against the server's, in\n"
		"one snapshot, with pending uploads (ps_crud) per table and operation, untyped\n"
		"rows, local-only tables and the last sync time. --user with --rules counts on\n"
		"the server what that user should have. Or --local is a second Postgres: counts\n"
		"per table, --checksum compares content. --ids lists the ids that differ.",
	.opts = opts,
	.formats = SC_FMT_ALL,
	.run = run,
};
