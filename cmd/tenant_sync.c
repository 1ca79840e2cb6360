/* syncctl tenant-sync: keep tenant records of two Postgres databases in
 * step, in either direction, from cron. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/pg.h"
#include "../lib/report.h"
#include "../lib/tenant.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct {
	sc_ts_opts ts;
	sc_list tables, tenants, key;
	char *key_text;
	sc_ctx *ctx;
	cJSON *keys;                 /* --dry-run -v --json: the keys */
	bool progress_shown;
} ts_cli;

/* --key a,b: the columns rows are matched by. */
static int key_opt(sc_ctx *ctx, const sc_opt *o, const char *arg, void *target)
{
	(void)o;
	ts_cli *c = (ts_cli *)((char *)target - offsetof(ts_cli, key));
	free(c->key_text);
	sc_list_free(&c->key);
	c->key_text = sc_xstrdup(arg);
	for (char *save = NULL, *k = strtok_r(c->key_text, ",", &save); k; k = strtok_r(NULL, ",", &save))
		sc_list_push(&c->key, k);
	if (!c->key.n)
		return sc_cli_usage_error(ctx, "--key needs column names, comma-separated");
	return 0;
}

static const sc_opt opts[] = {
	OPT_SETTING("local", 0, SC_SET_LOCAL_DB, "URI", "the local database (default: SYNCCTL_LOCAL_DB)",
		    .doc = "Also from *--env-file*. A password in argv is visible in *ps*: keep it in the environment, an env file or ~/.pgpass."),
	OPT_SETTING("remote", 0, SC_SET_REMOTE_DB, "URI", "the remote database (default: SYNCCTL_REMOTE_DB)"),
	OPT_ENUM(ts_cli, "direction", 'd', ts.direction, "DIR", "to-remote to-local both", "to-remote, to-local or both (required)"),
	OPT_LIST(ts_cli, "table", 't', tables, "NAME", "a table to sync, or schema.table (repeatable; at least one)", .nonempty = true,
		 .doc = "_NAME_ is the table's name as it is (no quoting), found on the search path, or _schema.table_."),
	OPT_STRING(ts_cli, "tenant-column", 0, ts.tenant_column, "COL", "the column --tenant matches (default tenant_id; else a one-column key)", .nonempty = true),
	OPT_LIST(ts_cli, "tenant", 0, tenants, "ID", "only rows of this tenant (repeatable)"),
	OPT_ENUM(ts_cli, "conflict", 0, ts.conflict, "POLICY", "skip newer local remote", "both: skip (default), newer, local or remote"),
	OPT_STRING(ts_cli, "updated-column", 0, ts.updated_column, "COL", "--conflict newer: the column compared (default updated_at)", .nonempty = true),
	OPT_CALL(ts_cli, "key", 0, key, "COL,..", key_opt, "match rows by these columns instead of the primary key",
		 .doc = "They must identify rows: a key found twice on a side stops the run before anything is written (exit 2)."),
	OPT_FLAG(ts_cli, "delete", 0, ts.delete_rows, "to-remote/to-local: delete target rows the source does not have"),
	OPT_FLAG(ts_cli, "dry-run", 'n', ts.dry_run, "compute everything, write nothing (-v lists the keys)",
		 .doc = "With *-v*, each key it would insert, update or delete, and each conflict (in *--json*, as \"keys\")."),
	OPT_DURATION(ts_cli, "wait", 0, ts.wait_s, "SECONDS", 86400, "wait this long for another run's lock (default: do not wait)"),
	OPT_END,
};

static void on_key(void *ud, const char *table, const char *action, const char *side, const char *key)
{
	ts_cli *c = ud;
	if (c->keys) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "table", table);
		cJSON_AddStringToObject(e, "action", action);
		cJSON_AddStringToObject(e, strcmp(action, "conflict") ? "on" : "reason", side);
		cJSON_AddStringToObject(e, "key", key);
		cJSON_AddItemToArray(c->keys, e);
	} else if (!strcmp(action, "conflict")) {
		printf("%s: conflict (%s): %s\n", table, side, key);
	} else {
		printf("%s: would %s on %s: %s\n", table, action, side, key);
	}
}

static void on_progress(void *ud, const char *table, const char *phase, long long rows)
{
	ts_cli *c = ud;
	if (rows)
		fprintf(stderr, "\r\033[K%s: %s %lld rows", table, phase, rows);
	else
		fprintf(stderr, "\r\033[K%s: %s", table, phase);
	c->progress_shown = true;
}

struct ts_show {
	ts_cli *c;
	const sc_ts_result *r;
};

static void print_text(sc_ctx *ctx, FILE *fout, void *data)
{
	ts_cli *c = ((struct ts_show *)data)->c;
	const sc_ts_result *r = ((struct ts_show *)data)->r;
	if (r->nproblems) {
		for (size_t i = 0; i < r->nproblems; i++)
			fprintf(fout, "%s\n", r->problems[i]);
		fprintf(fout, "the tables differ between local and remote: nothing was written "
		       "(make the schemas match, then run again)\n");
		return;
	}
	static const char *const header[] = { "TABLE", "DIRECTION", "INSERTED", "UPDATED", "DELETED", "CONFLICTS", "UNCHANGED", "TIME" };
	static const char *const dirs[] = { "to-remote", "to-local" };
	sc_table t;
	sc_table_init(&t, 8, header);
	for (size_t i = 0; i < r->ntables; i++) {
		const sc_ts_table *x = &r->tables[i];
		for (int d = 0; d < 2; d++) {
			if (c->ts.direction != SC_TS_BOTH && c->ts.direction != d)
				continue;
			long long changed = x->n[d][0] + x->n[d][1] + x->n[d][2];
			if (ctx->quiet && !changed && !x->conflicts)
				continue;
			char f[6][32];
			snprintf(f[0], 32, "%lld", x->n[d][SC_TS_INS]);
			snprintf(f[1], 32, "%lld", x->n[d][SC_TS_UPD]);
			snprintf(f[2], 32, "%lld", x->n[d][SC_TS_DEL]);
			snprintf(f[3], 32, "%lld", x->conflicts);
			snprintf(f[4], 32, x->direct[d] ? "-" : "%lld", x->unchanged);
			snprintf(f[5], 32, "%.2f s", x->ms / 1000.0);
			const char *row[] = { x->name, dirs[d], f[0], f[1], f[2], f[3], f[4], f[5] };
			sc_table_add(&t, row);
		}
	}
	char *out = sc_table_render(&t, "", false);
	fputs(out, fout);
	free(out);
	sc_table_free(&t);
	const cJSON *e;
	if (!ctx->verbose || !c->ts.dry_run)
		cJSON_ArrayForEach(e, r->conflicts)
			fprintf(fout, "%s: conflict (%s): %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(e, "table")),
			       cJSON_GetStringValue(cJSON_GetObjectItem(e, "reason")),
			       cJSON_GetStringValue(cJSON_GetObjectItem(e, "key")));
	if (r->nconflicts > cJSON_GetArraySize(r->conflicts))
		fprintf(fout, "... %lld conflicts in all\n", r->nconflicts);
	if (r->nconflicts)
		fprintf(fout, "%lld conflicts left as they are: resolve them, or run with --conflict newer|local|remote\n", r->nconflicts);
	if (c->ts.dry_run)
		fprintf(fout, "dry run: nothing was written\n");
	else if (!ctx->quiet)
		fprintf(fout, "%s in %.2f s\n", r->written ? "done" : "nothing written", r->ms / 1000.0);
}

/* The run as checks, for --format nagios and prometheus: a check a table
 * with what it wrote and the conflicts left, and the verdict. */
static void result_report(const ts_cli *c, const sc_ts_result *r, sc_report *rep)
{
	for (size_t i = 0; i < r->nproblems; i++)
		sc_report_add(rep, "tenant_sync.schema", SC_CHECK_FAIL, "%s", r->problems[i]);
	for (size_t i = 0; i < r->ntables; i++) {
		const sc_ts_table *x = &r->tables[i];
		char *id = sc_xasprintf("tenant_sync.table.%s", x->name);
		sc_check *k = sc_report_add(rep, id, x->conflicts ? SC_CHECK_FAIL : SC_CHECK_OK, "%s: %lld conflicts, %lld unchanged",
					    x->name, x->conflicts, x->unchanged);
		static const char *const dirs[] = { "to_remote", "to_local" };
		static const char *const ops[] = { "inserted", "updated", "deleted" };
		for (int d = 0; d < 2; d++) {
			if (c->ts.direction != SC_TS_BOTH && c->ts.direction != d)
				continue;
			for (int op = 0; op < 3; op++) {
				char *m = sc_xasprintf("%s_%s_rows", dirs[d], ops[op]);
				sc_check_metric(k, m, (double)x->n[d][op], "");
				free(m);
			}
		}
		sc_check_metric(k, "conflicts", (double)x->conflicts, "");
		sc_check_metric(k, "seconds", x->ms / 1000.0, "s");
		free(id);
	}
	sc_check *k;
	if (r->nproblems)
		k = sc_report_add(rep, "tenant_sync", SC_CHECK_FAIL, "the tables differ between local and remote: nothing was written");
	else if (r->nconflicts)
		k = sc_report_add(rep, "tenant_sync", SC_CHECK_FAIL, "%lld conflicts left as they are", r->nconflicts);
	else
		k = sc_report_add(rep, "tenant_sync", SC_CHECK_OK, "%s", r->written ? "done" : "nothing written");
	sc_check_metric(k, "conflicts", (double)r->nconflicts, "");
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	ts_cli c;
	memset(&c, 0, sizeof c);
	c.ctx = ctx;
	c.ts.tenant_column = "tenant_id";
	c.ts.updated_column = "updated_at";
	c.ts.direction = -1;
	c.ts.conflict = -1;
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &c, &first, &rc))
		goto out;
	rc = SC_EXIT_USAGE;
	if (first < argc) {
		rc = sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
		goto out;
	}
	bool have_conflict = c.ts.conflict >= 0;
	if (c.ts.conflict < 0)
		c.ts.conflict = SC_TS_SKIP;
	if (c.ts.direction < 0) {
		rc = sc_cli_usage_error(ctx, "--direction to-remote|to-local|both is required");
		goto out;
	}
	if (!c.tables.n) {
		rc = sc_cli_usage_error(ctx, "name the tables to sync: --table NAME (repeatable)");
		goto out;
	}
	if (c.ts.delete_rows && c.ts.direction == SC_TS_BOTH) {
		rc = sc_cli_usage_error(ctx, "--delete cannot be used with --direction both: a row missing on one side "
					"cannot be told apart from a new row on the other without history; "
					"use --direction to-remote or to-local with --delete");
		goto out;
	}
	if (have_conflict && c.ts.direction != SC_TS_BOTH) {
		rc = sc_cli_usage_error(ctx, "--conflict applies to --direction both; with %s the source side wins",
					c.ts.direction == SC_TS_TO_REMOTE ? "to-remote" : "to-local");
		goto out;
	}
	for (size_t i = 0; i < c.tables.n; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(c.tables.v[i], c.tables.v[k])) {
				rc = sc_cli_usage_error(ctx, "--table %s is given twice", c.tables.v[i]);
				goto out;
			}
	if ((rc = sc_ctx_load_config(ctx)) != 0)
		goto out;
	const char *uri[2];
	static const char *const names[] = { "--local", "--remote" };
	static const char *const envs[] = { "SYNCCTL_LOCAL_DB", "SYNCCTL_REMOTE_DB" };
	sc_error err;
	sc_error_clear(&err);
	for (int s = 0; s < 2; s++) {
		sc_setting_id id = s ? SC_SET_REMOTE_DB : SC_SET_LOCAL_DB;
		uri[s] = sc_config_get(&ctx->cfg, id, NULL);
		if (!uri[s] || !*uri[s]) {
			rc = sc_cli_usage_error(ctx, "%s URI is required (or set %s)", names[s], envs[s]);
			goto out;
		}
		if (ctx->cfg.flag[id] && sc_pg_conninfo_has_password(ctx->cfg.flag[id]))
			sc_cli_warn(ctx, "a password in %s is visible to other users in ps; use %s, --env-file or ~/.pgpass",
				    names[s], envs[s]);
		if (sc_pg_check_conninfo(uri[s], names[s], &err) != 0) {
			rc = sc_cli_fail(ctx, &err);
			goto out;
		}
	}
	c.ts.local = uri[0];
	c.ts.remote = uri[1];
	c.ts.tables = c.tables.v;
	c.ts.ntables = c.tables.n;
	c.ts.tenants = c.tenants.v;
	c.ts.ntenants = c.tenants.n;
	c.ts.key = c.key.v;
	c.ts.nkey = c.key.n;
	c.ts.timeout_s = (int)ctx->timeout;
	c.ts.ud = &c;
	if (c.ts.dry_run && ctx->verbose) {
		c.ts.on_key = on_key;
		if (ctx->json)
			c.keys = cJSON_CreateArray();
	}
	if (sc_cli_stderr_is_tty() && !ctx->quiet)
		c.ts.on_progress = on_progress;
	sc_ts_result r;
	int x = sc_tenant_sync(&c.ts, &r, &err);
	if (c.progress_shown)
		fputs("\r\033[K", stderr);
	if (x != 0) {
		rc = sc_cli_fail(ctx, &err);
	} else {
		cJSON *j = sc_ts_json(&c.ts, &r);
		if (c.keys) {
			cJSON_AddItemToObject(j, "keys", c.keys);
			c.keys = NULL;
		}
		sc_report rep;
		sc_report_init(&rep);
		result_report(&c, &r, &rep);
		struct ts_show show = { &c, &r };
		sc_out out = { .report = &rep, .json = j, .text = print_text, .data = &show,
			       .rc = r.nproblems || r.nconflicts ? SC_EXIT_PROBLEM : SC_EXIT_OK };
		rc = sc_cli_output(ctx, &out);
		sc_report_free(&rep);
	}
	sc_ts_result_free(&r);
out:
	cJSON_Delete(c.keys);
	sc_list_free(&c.tables);
	sc_list_free(&c.tenants);
	sc_list_free(&c.key);
	free(c.key_text);
	return rc;
}

static const char *const usage[] = {
	"tenant-sync --direction to-remote|to-local|both --table NAME [--table NAME]..",
	"            [--local URI] [--remote URI] [--tenant ID].. [--tenant-column COL]",
	"            [--conflict skip|newer|local|remote] [--updated-column COL] [--key COL,..]",
	"            [--delete] [--dry-run] [--wait SECONDS] [--format FORMAT]",
	NULL,
};

const sc_cmd cmd_tenant_sync = {
	.name = "tenant-sync",
	.summary = "keep tenant records of two Postgres databases in step, in either direction",
	.usage = usage,
	.description =
		"Rows are matched by primary key (or --key) and compared by a hash computed on\n"
		"each server in one REPEATABLE READ snapshot; only differing rows travel, over\n"
		"COPY. to-remote/to-local: the source wins; --delete removes target rows the\n"
		"source lacks. both: rows on one side only are copied across; rows that differ\n"
		"are conflicts, settled by --conflict (skip lists them and exits 1). Each\n"
		"database gets all of its changes in one transaction or none; one run at a time\n"
		"per database (advisory lock: exit 3, or --wait).",
	.opts = opts,
	.formats = SC_FMT_ALL,
	.run = run,
};
