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
	char **tables, **tenants, **key;
	size_t ntables, ntenants, nkey;
	char *key_text;
	bool have_direction, have_conflict;
	sc_ctx *ctx;
	cJSON *keys;                 /* --dry-run -v --json: the keys */
	bool progress_shown;
} ts_cli;

static const sc_opt opts[] = {
	{ "local", 0, required_argument, "URI", "the local database (default: SYNCCTL_LOCAL_DB)", OPT_LOCAL, NULL },
	{ "remote", 0, required_argument, "URI", "the remote database (default: SYNCCTL_REMOTE_DB)", OPT_REMOTE, NULL },
	{ "direction", 'd', required_argument, "DIR", "to-remote, to-local or both (required)", OPT_DIRECTION, "to-remote to-local both" },
	{ "table", 't', required_argument, "NAME", "a table to sync, or schema.table (repeatable; at least one)", OPT_TABLE, NULL },
	{ "tenant-column", 0, required_argument, "COL", "the column --tenant matches (default tenant_id; else a one-column key)", OPT_TENANT_COLUMN, NULL },
	{ "tenant", 0, required_argument, "ID", "only rows of this tenant (repeatable)", OPT_TENANT, NULL },
	{ "conflict", 0, required_argument, "POLICY", "both: skip (default), newer, local or remote", OPT_CONFLICT, "skip newer local remote" },
	{ "updated-column", 0, required_argument, "COL", "--conflict newer: the column compared (default updated_at)", OPT_UPDATED_COLUMN, NULL },
	{ "key", 0, required_argument, "COL,..", "match rows by these columns instead of the primary key", OPT_KEY, NULL },
	{ "delete", 0, no_argument, NULL, "to-remote/to-local: delete target rows the source does not have", OPT_DELETE, NULL },
	{ "dry-run", 'n', no_argument, NULL, "compute everything, write nothing (-v lists the keys)", OPT_DRY_RUN, NULL },
	{ "wait", 0, required_argument, "SECONDS", "wait this long for another run's lock (default: do not wait)", OPT_WAIT, NULL },
	{ 0 },
};

static void push(char ***v, size_t *n, char *s)
{
	*v = sc_xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

static int on_opt(sc_ctx *ctx, int id, const char *arg, void *data)
{
	ts_cli *c = data;
	switch (id) {
	case OPT_LOCAL: sc_config_set_flag(&ctx->cfg, SC_SET_LOCAL_DB, arg); return 0;
	case OPT_REMOTE: sc_config_set_flag(&ctx->cfg, SC_SET_REMOTE_DB, arg); return 0;
	case 'd':
	case OPT_DIRECTION:
		if (!strcmp(arg, "to-remote"))
			c->ts.direction = SC_TS_TO_REMOTE;
		else if (!strcmp(arg, "to-local"))
			c->ts.direction = SC_TS_TO_LOCAL;
		else if (!strcmp(arg, "both"))
			c->ts.direction = SC_TS_BOTH;
		else
			return sc_cli_usage_error(ctx, "--direction is to-remote, to-local or both, not '%s'", arg);
		c->have_direction = true;
		return 0;
	case 't':
	case OPT_TABLE:
		if (!*arg)
			return sc_cli_usage_error(ctx, "--table needs a table name");
		push(&c->tables, &c->ntables, (char *)arg);
		return 0;
	case OPT_TENANT_COLUMN: c->ts.tenant_column = arg; return 0;
	case OPT_TENANT: push(&c->tenants, &c->ntenants, (char *)arg); return 0;
	case OPT_CONFLICT:
		if (!strcmp(arg, "skip"))
			c->ts.conflict = SC_TS_SKIP;
		else if (!strcmp(arg, "newer"))
			c->ts.conflict = SC_TS_NEWER;
		else if (!strcmp(arg, "local"))
			c->ts.conflict = SC_TS_LOCAL;
		else if (!strcmp(arg, "remote"))
			c->ts.conflict = SC_TS_REMOTE;
		else
			return sc_cli_usage_error(ctx, "--conflict is skip, newer, local or remote, not '%s'", arg);
		c->have_conflict = true;
		return 0;
	case OPT_UPDATED_COLUMN: c->ts.updated_column = arg; return 0;
	case OPT_KEY: {
		free(c->key_text);
		free(c->key);
		c->key = NULL;
		c->nkey = 0;
		c->key_text = sc_xstrdup(arg);
		for (char *save = NULL, *k = strtok_r(c->key_text, ",", &save); k; k = strtok_r(NULL, ",", &save))
			push(&c->key, &c->nkey, k);
		if (!c->nkey)
			return sc_cli_usage_error(ctx, "--key needs column names, comma-separated");
		return 0;
	}
	case OPT_DELETE: c->ts.delete_rows = true; return 0;
	case 'n':
	case OPT_DRY_RUN: c->ts.dry_run = true; return 0;
	case OPT_WAIT:
		if (!sc_parse_duration(arg, &c->ts.wait_s) || c->ts.wait_s > 86400)
			return sc_cli_usage_error(ctx, "--wait takes seconds (e.g. 30, 5m, at most 1d), not '%s'", arg);
		return 0;
	}
	return -1;
}

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

static void print_text(ts_cli *c, const sc_ts_result *r)
{
	sc_ctx *ctx = c->ctx;
	if (r->nproblems) {
		for (size_t i = 0; i < r->nproblems; i++)
			printf("%s\n", r->problems[i]);
		printf("the tables differ between local and remote: nothing was written "
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
	fputs(out, stdout);
	free(out);
	sc_table_free(&t);
	const cJSON *e;
	if (!ctx->verbose || !c->ts.dry_run)
		cJSON_ArrayForEach(e, r->conflicts)
			printf("%s: conflict (%s): %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(e, "table")),
			       cJSON_GetStringValue(cJSON_GetObjectItem(e, "reason")),
			       cJSON_GetStringValue(cJSON_GetObjectItem(e, "key")));
	if (r->nconflicts > cJSON_GetArraySize(r->conflicts))
		printf("... %lld conflicts in all\n", r->nconflicts);
	if (r->nconflicts)
		printf("%lld conflicts left as they are: resolve them, or run with --conflict newer|local|remote\n", r->nconflicts);
	if (c->ts.dry_run)
		printf("dry run: nothing was written\n");
	else if (!ctx->quiet)
		printf("%s in %.2f s\n", r->written ? "done" : "nothing written", r->ms / 1000.0);
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	ts_cli c;
	memset(&c, 0, sizeof c);
	c.ctx = ctx;
	c.ts.tenant_column = "tenant_id";
	c.ts.updated_column = "updated_at";
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, on_opt, &c, &first, &rc))
		goto out;
	rc = SC_EXIT_USAGE;
	if (first < argc) {
		rc = sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
		goto out;
	}
	if (!c.have_direction) {
		rc = sc_cli_usage_error(ctx, "--direction to-remote|to-local|both is required");
		goto out;
	}
	if (!c.ntables) {
		rc = sc_cli_usage_error(ctx, "name the tables to sync: --table NAME (repeatable)");
		goto out;
	}
	if (c.ts.delete_rows && c.ts.direction == SC_TS_BOTH) {
		rc = sc_cli_usage_error(ctx, "--delete cannot be used with --direction both: a row missing on one side "
					"cannot be told apart from a new row on the other without history; "
					"use --direction to-remote or to-local with --delete");
		goto out;
	}
	if (c.have_conflict && c.ts.direction != SC_TS_BOTH) {
		rc = sc_cli_usage_error(ctx, "--conflict applies to --direction both; with %s the source side wins",
					c.ts.direction == SC_TS_TO_REMOTE ? "to-remote" : "to-local");
		goto out;
	}
	for (size_t i = 0; i < c.ntables; i++)
		for (size_t k = 0; k < i; k++)
			if (!strcmp(c.tables[i], c.tables[k])) {
				rc = sc_cli_usage_error(ctx, "--table %s is given twice", c.tables[i]);
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
	c.ts.tables = c.tables;
	c.ts.ntables = c.ntables;
	c.ts.tenants = c.tenants;
	c.ts.ntenants = c.ntenants;
	c.ts.key = c.key;
	c.ts.nkey = c.nkey;
	c.ts.timeout_s = ctx->timeout;
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
		if (ctx->json) {
			cJSON *j = sc_ts_json(&c.ts, &r);
			if (c.keys) {
				cJSON_AddItemToObject(j, "keys", c.keys);
				c.keys = NULL;
			}
			char *s = cJSON_Print(j);
			puts(s);
			free(s);
			cJSON_Delete(j);
		} else {
			print_text(&c, &r);
		}
		rc = r.nproblems || r.nconflicts ? SC_EXIT_PROBLEM : SC_EXIT_OK;
	}
	sc_ts_result_free(&r);
out:
	cJSON_Delete(c.keys);
	free(c.tables);
	free(c.tenants);
	free(c.key);
	free(c.key_text);
	return rc;
}

static const char *const usage[] = {
	"tenant-sync --direction to-remote|to-local|both --table NAME [--table NAME]..",
	"            [--local URI] [--remote URI] [--tenant ID].. [--tenant-column COL]",
	"            [--conflict skip|newer|local|remote] [--updated-column COL] [--key COL,..]",
	"            [--delete] [--dry-run] [--wait SECONDS] [--json]",
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
	.reports = true,
	.run = run,
};
