/* syncctl compare: row counts (and which rows) local vs server, for a
 * PowerSync client database or a second Postgres. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/clientschema.h"
#include "../lib/compare.h"
#include "../lib/pg.h"
#include "../lib/report.h"
#include "../lib/rules.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct {
	const char *local;
	char **tables;
	size_t ntables;
	const char *user;
	const char *rules;
	bool ids, checksum;
	long limit;
	const char *schema;
	sc_cs_lang lang;
} compare_opts;

static const sc_opt opts[] = {
	{ "server", 0, required_argument, "URI", "the server Postgres (default: the source DB: SYNCCTL_DB, DATABASE_URL, ...)", OPT_SERVICE, NULL },
	{ "local", 0, required_argument, "PATH|URI", "a client SQLite file, or a second Postgres", OPT_LOCAL, "file" },
	{ "table", 't', required_argument, "T", "only this table (repeatable)", OPT_TABLE, NULL },
	{ "user", 0, required_argument, "ID", "count on the server what this user should have (with --rules)", OPT_USER, NULL },
	{ "rules", 0, required_argument, "FILE", "the sync rules: for --user, and to check the client's schema against (default: SYNCCTL_RULES, the service config)", OPT_RULES, "file" },
	{ "lang", 0, required_argument, "LANG", "the client schema's language, for the fix lines (default ts; see schema client)", OPT_LANG,
	  "ts js js-legacy dart kotlin swift dotnet dotnet-class room drift" },
	{ "ids", 0, no_argument, NULL, "list the ids only local and only on the server, for tables that differ", OPT_IDS, NULL },
	{ "limit", 0, required_argument, "N", "--ids: at most N ids each side and table (default 20)", OPT_LIMIT, NULL },
	{ "checksum", 0, no_argument, NULL, "Postgres vs Postgres: also compare content, hashed on each server", OPT_CHECKSUM, NULL },
	{ "schema", 0, required_argument, "NAME", "Postgres vs Postgres: the schema compared (default public)", OPT_SCHEMA, NULL },
	{ 0 },
};

static int on_opt(sc_ctx *ctx, int id, const char *arg, void *data)
{
	compare_opts *o = data;
	switch (id) {
	case OPT_SERVICE: sc_config_set_flag(&ctx->cfg, SC_SET_DB, arg); return 0;
	case OPT_LOCAL: o->local = arg; return 0;
	case 't':
	case OPT_TABLE:
		o->tables = sc_xrealloc(o->tables, (o->ntables + 1) * sizeof *o->tables);
		o->tables[o->ntables++] = (char *)arg;
		return 0;
	case OPT_USER: o->user = arg; return 0;
	case OPT_RULES: sc_config_set_flag(&ctx->cfg, SC_SET_RULES, arg); return 0;
	case OPT_IDS: o->ids = true; return 0;
	case OPT_LANG:
		if (!sc_cs_lang_parse(arg, &o->lang))
			return sc_cli_usage_error(ctx, "--lang takes ts, js, js-legacy, dart, kotlin, swift, dotnet, dotnet-class, room or drift, not '%s'", arg);
		return 0;
	case OPT_CHECKSUM: o->checksum = true; return 0;
	case OPT_SCHEMA: o->schema = arg; return 0;
	case OPT_LIMIT: {
		char *end;
		errno = 0;
		long v = strtol(arg, &end, 10);
		if (errno || *end || end == arg || v < 1 || v > 100000)
			return sc_cli_usage_error(ctx, "--limit takes a number from 1 to 100000, not '%s'", arg);
		o->limit = v;
		return 0;
	}
	}
	return -1;
}

static bool is_pg(const char *s)
{
	return !strncmp(s, "postgres://", 11) || !strncmp(s, "postgresql://", 13) || strchr(s, '=') != NULL;
}

static void print_text(sc_ctx *ctx, const sc_cmp_result *r)
{
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
	char *out = sc_table_render(&t, "", false);
	fputs(out, stdout);
	free(out);
	sc_table_free(&t);
	for (size_t i = 0; i < r->ntables; i++) {
		const sc_cmp_table *x = &r->tables[i];
		for (size_t k = 0; k < x->n_only_local; k++)
			printf("%s: only local: %s\n", x->name, x->only_local[k]);
		for (size_t k = 0; k < x->n_only_server; k++)
			printf("%s: only on the server: %s\n", x->name, x->only_server[k]);
		if (x->ids_truncated)
			printf("%s: more ids differ than --limit shows\n", x->name);
		if (x->local_sum && x->server_sum && !ctx->quiet)
			printf("%s: content %s\n", x->name, strcmp(x->local_sum, x->server_sum) ? "differs" : "same");
	}
	if (r->powersync && !ctx->quiet) {
		const cJSON *e, *op;
		cJSON_ArrayForEach(e, r->pending_by_op) {
			printf("pending uploads, %s:", e->string);
			cJSON_ArrayForEach(op, e)
				printf(" %s %d", op->string, op->valueint);
			putchar('\n');
		}
		cJSON_ArrayForEach(e, r->untyped)
			printf("untyped rows (no table in the client schema), %s: %d\n", e->string, e->valueint);
		cJSON_ArrayForEach(e, r->local_only)
			printf("local-only table %s: %d rows\n", cJSON_GetStringValue(cJSON_GetObjectItem(e, "name")),
			       cJSON_GetObjectItem(e, "count")->valueint);
		printf("last sync: %s\n", r->last_sync ? r->last_sync : "never (no ps_sync_state entry)");
	}
	size_t differ = 0;
	for (size_t i = 0; i < r->ntables; i++)
		differ += strcmp(r->tables[i].status, "in_sync") != 0;
	if (sc_cmp_in_sync(r))
		printf("in sync: %zu tables\n", r->ntables);
	else
		printf("NOT in sync: %zu of %zu tables differ, %lld pending uploads\n", differ, r->ntables, r->pending_total);
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	compare_opts o;
	memset(&o, 0, sizeof o);
	o.limit = 20;
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, on_opt, &o, &first, &rc))
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
	size_t rules_len = 0;
	const char *rules_path = sc_config_get(&ctx->cfg, SC_SET_RULES, NULL);
	const char *rules_name = rules_path ? rules_path : "sync_config.content";
	if (o.user && !rules_path && !ctx->cfg.ps_rules_content) {
		rc = sc_cli_usage_error(ctx, "--user needs the sync rules: --rules FILE");
		goto out;
	}
	if (rules_path || ctx->cfg.ps_rules_content) {
		rules_text = rules_path ? sc_read_file(rules_path, SC_RULES_MAX_BYTES, &rules_len, "rules file", &err)
					: sc_xstrdup(ctx->cfg.ps_rules_content);
		if (!rules_text) {
			rc = sc_cli_fail(ctx, &err);
			goto out;
		}
		if (!rules_path)
			rules_len = strlen(rules_text);
	}
	sc_pg *server = sc_cli_connect_db(ctx, &err);
	if (!server) {
		free(rules_text);
		rc = sc_cli_fail(ctx, &err);
		goto out;
	}
	sc_cmp_opts co = { o.tables, o.ntables, o.schema, o.ids, (size_t)o.limit, o.checksum, o.user, o.user ? rules_text : NULL, ctx->timeout };
	/* With the rules, a client database's schema is checked against
	 * what they send for this database. */
	sc_report schema;
	sc_report_init(&schema);
	bool schema_checked = false;
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
		if (x == 0 && rules_text && r.powersync) {
			sc_cs_render_opts lang = { o.lang, SC_IMPORTS_AUTO, false };
			x = sc_client_schema_compare(o.local, server, rules_text, rules_len, rules_name, &lang, ctx->timeout, &schema, &err);
			schema_checked = x == 0;
		}
	}
	if (x != 0) {
		rc = sc_cli_fail(ctx, &err);
	} else {
		if (ctx->json) {
			cJSON *j = sc_cmp_json(&r);
			if (schema_checked) {
				char *sj = sc_report_render_json(&schema);
				cJSON_AddItemToObject(j, "schema", cJSON_Parse(sj));
				free(sj);
			}
			char *s = cJSON_Print(j);
			puts(s);
			free(s);
			cJSON_Delete(j);
		} else {
			print_text(ctx, &r);
			if (schema_checked) {
				sc_render_opts ro = { sc_cli_color_stdout(ctx), ctx->quiet, ctx->verbose, ctx->strict, true };
				char *t = sc_report_render_text(&schema, &ro);
				printf("client schema against the rules (%s):\n%s", rules_name, t);
				free(t);
				sc_check_status st = sc_report_status(&schema);
				printf("client schema: %s\n", st == SC_CHECK_FAIL ? "differs from what the rules send"
							   : st == SC_CHECK_WARN ? "declares what the rules do not send"
										 : "matches what the rules send");
			}
		}
		rc = sc_cmp_in_sync(&r) ? SC_EXIT_OK : SC_EXIT_PROBLEM;
		if (schema_checked && sc_report_exit_code(&schema, ctx->strict))
			rc = SC_EXIT_PROBLEM;
	}
	sc_report_free(&schema);
	sc_cmp_result_free(&r);
	sc_pg_close(server);
	free(rules_text);
out:
	free(o.tables);
	return rc;
}

static const char *const usage[] = {
	"compare --local PATH|URI [--server URI] [--table T].. [--user ID] [--rules FILE [--lang LANG]]",
	"        [--ids [--limit N]] [--checksum] [--schema NAME] [--json]",
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
		"the server what that user should have. With the rules, the client's schema (the\n"
		"views the SDK built) is checked against what they send for the server's database:\n"
		"missing and extra columns and tables, types, local-only tables the rules sync;\n"
		"each fix is the line of the schema to change, in --lang. Or --local is a second\n"
		"Postgres: counts per table, --checksum compares content. --ids lists the ids\n"
		"that differ.",
	.opts = opts,
	.reports = true,
	.run = run,
};
