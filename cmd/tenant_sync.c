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
	bool have_direction, have_conflict, have_delete_opts;
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
	{ "delete", 0, no_argument, NULL, "propagate deletes: target rows the source lacks (both: deleted since the last sync)", OPT_DELETE, NULL },
	{ "max-delete", 0, required_argument, "N|P%|N,P%", "refuse a run deleting more than this from a table (default 100,10%: both exceeded)", OPT_MAX_DELETE, NULL },
	{ "allow-big-delete", 0, no_argument, NULL, "run even when the deletes exceed --max-delete", OPT_ALLOW_BIG_DELETE, NULL },
	{ "keep-deleted", 0, required_argument, "DAYS", "keep deleted rows for --restore this long (default 30)", OPT_KEEP_DELETED, NULL },
	{ "restore", 0, required_argument, "RUN_ID", "put back the rows that run deleted (its run_id in the report)", OPT_RESTORE, NULL },
	{ "full", 0, no_argument, NULL, "ignore the state: compare every row by hash (and record state afresh)", OPT_FULL, NULL },
	{ "dry-run", 'n', no_argument, NULL, "compute everything, write nothing (-v lists the keys)", OPT_DRY_RUN, NULL },
	{ "wait", 0, required_argument, "SECONDS", "wait this long for another run's lock (default: do not wait)", OPT_WAIT, NULL },
	{ 0 },
};

static void push(char ***v, size_t *n, char *s)
{
	*v = sc_xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

/* N, P% or both (N,P% / P%,N). */
static bool parse_max_delete(const char *arg, sc_ts_opts *o)
{
	long long rows = -1;
	double pct = -1;
	const char *p = arg;
	for (int part = 0; part < 2 && *p; part++) {
		char *end;
		double v = strtod(p, &end);
		if (end == p || v < 0)
			return false;
		if (*end == '%') {
			if (pct >= 0 || v > 100)
				return false;
			pct = v;
			end++;
		} else {
			if (rows >= 0 || v != (double)(long long)v)
				return false;
			rows = (long long)v;
		}
		p = end;
		if (*p == ',' && part == 0)
			p++;
		else if (*p)
			return false;
	}
	if (*p || (rows < 0 && pct < 0))
		return false;
	o->max_delete_rows = rows;
	o->max_delete_pct = pct;
	return true;
}

static bool is_uuid(const char *s)
{
	static const char shape[] = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx";
	if (strlen(s) != sizeof shape - 1)
		return false;
	for (size_t i = 0; shape[i]; i++)
		if (shape[i] == '-' ? s[i] != '-' : !strchr("0123456789abcdefABCDEF", s[i]))
			return false;
	return true;
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
	case OPT_MAX_DELETE:
		if (!parse_max_delete(arg, &c->ts))
			return sc_cli_usage_error(ctx, "--max-delete takes N rows, P%% of a table's rows, or N,P%% (both "
						  "exceeded), e.g. 100,10%%; not '%s'", arg);
		c->have_delete_opts = true;
		return 0;
	case OPT_ALLOW_BIG_DELETE: c->ts.allow_big_delete = true; c->have_delete_opts = true; return 0;
	case OPT_KEEP_DELETED: {
		char *end;
		long d = strtol(arg, &end, 10);
		if (!*arg || *end || d < 0 || d > 36500)
			return sc_cli_usage_error(ctx, "--keep-deleted takes whole days (0 to 36500), not '%s'", arg);
		c->ts.keep_deleted_days = (int)d;
		c->have_delete_opts = true;
		return 0;
	}
	case OPT_RESTORE:
		if (!is_uuid(arg))
			return sc_cli_usage_error(ctx, "--restore takes the run_id of a run (a UUID, as its report shows), not '%s'", arg);
		c->ts.restore = arg;
		return 0;
	case OPT_FULL: c->ts.full = true; return 0;
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
	} else if (!strcmp(action, "kept")) {
		printf("%s: would keep on %s: %s\n", table, side, key);
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

static const char *jstr(const cJSON *e, const char *k)
{
	return cJSON_GetStringValue(cJSON_GetObjectItem(e, k));
}

static void print_mode(ts_cli *c, const sc_ts_result *r)
{
	const char *mode = sc_ts_mode(r);
	if (!strcmp(mode, "stateful")) {
		printf("mode: stateful (both databases' records of the last sync agree: only changed rows were read)\n");
	} else {
		/* One line per distinct reason. */
		for (size_t i = 0; i < r->ntables; i++) {
			const sc_ts_table *x = &r->tables[i];
			if (x->stateful || !x->mode_reason)
				continue;
			bool seen = false;
			for (size_t k = 0; k < i && !seen; k++)
				seen = !r->tables[k].stateful && r->tables[k].mode_reason && !strcmp(r->tables[k].mode_reason, x->mode_reason);
			if (!seen)
				printf("mode: stateless: %s\n", x->mode_reason);
		}
	}
	if (c->ts.dry_run)
		return;
	if (r->state_recorded)
		printf("state: recorded (run %s); the next run is stateful\n", r->run_id);
	else if (r->state_reason)
		printf("state: not recorded (%s)\n", r->state_reason);
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
	static const char *const header[] = { "TABLE", "DIRECTION", "INSERTED", "UPDATED", "DELETED", "KEPT", "CONFLICTS", "UNCHANGED", "TIME" };
	static const char *const dirs[] = { "to-remote", "to-local" };
	sc_table t;
	sc_table_init(&t, 9, header);
	size_t shown = 0;
	for (size_t i = 0; i < r->ntables; i++) {
		const sc_ts_table *x = &r->tables[i];
		for (int d = 0; d < 2; d++) {
			if (c->ts.direction != SC_TS_BOTH && c->ts.direction != d)
				continue;
			long long changed = x->n[d][0] + x->n[d][1] + x->n[d][2];
			if (ctx->quiet && !changed && !x->conflicts)
				continue;
			char f[7][32];
			snprintf(f[0], 32, "%lld", x->n[d][SC_TS_INS]);
			snprintf(f[1], 32, "%lld", x->n[d][SC_TS_UPD]);
			snprintf(f[2], 32, "%lld", x->n[d][SC_TS_DEL]);
			snprintf(f[3], 32, "%lld", x->n[d][SC_TS_KEPT]);
			snprintf(f[4], 32, "%lld", x->conflicts);
			snprintf(f[5], 32, x->direct[d] ? "-" : "%lld", x->unchanged);
			snprintf(f[6], 32, "%.2f s", x->ms / 1000.0);
			const char *row[] = { x->name, dirs[d], f[0], f[1], f[2], f[3], f[4], f[5], f[6] };
			sc_table_add(&t, row);
			shown++;
		}
	}
	if (shown || !ctx->quiet) {
		char *out = sc_table_render(&t, "", false);
		fputs(out, stdout);
		free(out);
	}
	sc_table_free(&t);
	const cJSON *e;
	if (!ctx->verbose || !c->ts.dry_run)
		cJSON_ArrayForEach(e, r->conflicts)
			printf("%s: conflict (%s): %s\n", jstr(e, "table"), jstr(e, "reason"), jstr(e, "key"));
	if (r->nconflicts > cJSON_GetArraySize(r->conflicts))
		printf("... %lld conflicts in all\n", r->nconflicts);
	long long kept = r->nunresolved - r->nconflicts;
	if (kept > 0 && !ctx->quiet) {
		if (ctx->verbose && !c->ts.dry_run)
			cJSON_ArrayForEach(e, r->unresolved)
				if (!strcmp(jstr(e, "kind"), "kept"))
					printf("%s: kept (%s): %s\n", jstr(e, "table"), jstr(e, "reason"), jstr(e, "key"));
		printf("%lld rows kept that the other side deleted or lacks (%s)\n", kept,
		       c->ts.delete_rows ? "listed with -v" : "--delete deletes them; -v lists them");
	}
	const cJSON *f;
	cJSON_ArrayForEach(f, r->refused)
		printf("%s: refused to delete %lld of the %lld rows on %s (over --max-delete; run with --allow-big-delete "
		       "if that is meant)\n", jstr(f, "table"), (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(f, "delete")),
		       (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(f, "rows")), jstr(f, "side"));
	if (cJSON_GetArraySize(r->refused))
		printf("nothing was written\n");
	if (!ctx->quiet)
		cJSON_ArrayForEach(f, r->notes)
			printf("note: %s\n", cJSON_GetStringValue(f));
	if (r->nconflicts)
		printf("%lld conflicts left as they are: resolve them, or run with --conflict newer|local|remote\n", r->nconflicts);
	if (!ctx->quiet)
		print_mode(c, r);
	if (c->ts.dry_run)
		printf("dry run: nothing was written\n");
	else if (!ctx->quiet)
		printf("%s in %.2f s\n", r->written ? "done" : "nothing written", r->ms / 1000.0);
}

static void print_restore(ts_cli *c, const sc_ts_result *r)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, r->restored) {
		long long n = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "restored"));
		long long k = (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(e, "skipped"));
		printf("%s: %s %lld rows on %s", jstr(e, "table"), c->ts.dry_run ? "would restore" : "restored", n, jstr(e, "side"));
		if (k)
			printf(", %lld not (%s)", k, jstr(e, "reason"));
		printf("\n");
	}
	if (!r->nrestored && !r->nskipped)
		printf("nothing to restore for run %s (no deleted rows of it are kept: pruned after --keep-deleted days, "
		       "or already restored)\n", r->run_id);
	else if (c->ts.dry_run)
		printf("dry run: nothing was written\n");
	else if (!c->ctx->quiet)
		printf("%lld rows restored in %.2f s; the next tenant-sync brings them to the other side\n", r->nrestored, r->ms / 1000.0);
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	ts_cli c;
	memset(&c, 0, sizeof c);
	c.ctx = ctx;
	c.ts.tenant_column = "tenant_id";
	c.ts.updated_column = "updated_at";
	c.ts.max_delete_rows = 100;
	c.ts.max_delete_pct = 10;
	c.ts.keep_deleted_days = 30;
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, on_opt, &c, &first, &rc))
		goto out;
	rc = SC_EXIT_USAGE;
	if (first < argc) {
		rc = sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
		goto out;
	}
	if (c.ts.restore && (c.have_direction || c.have_conflict || c.ts.delete_rows || c.ts.full || c.have_delete_opts)) {
		rc = sc_cli_usage_error(ctx, "--restore RUN_ID puts rows back; it takes --local, --remote, --table, --dry-run "
					"and --wait, not the options of a sync");
		goto out;
	}
	if (!c.have_direction && !c.ts.restore) {
		rc = sc_cli_usage_error(ctx, "--direction to-remote|to-local|both is required");
		goto out;
	}
	if (!c.ntables && !c.ts.restore) {
		rc = sc_cli_usage_error(ctx, "name the tables to sync: --table NAME (repeatable)");
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
	int x = c.ts.restore ? sc_tenant_restore(&c.ts, &r, &err) : sc_tenant_sync(&c.ts, &r, &err);
	if (c.progress_shown)
		fputs("\r\033[K", stderr);
	if (x != 0) {
		rc = sc_cli_fail(ctx, &err);
	} else if (c.ts.restore) {
		if (ctx->json) {
			cJSON *j = sc_ts_restore_json(&c.ts, &r);
			char *s = cJSON_Print(j);
			puts(s);
			free(s);
			cJSON_Delete(j);
		} else {
			print_restore(&c, &r);
		}
		rc = r.nskipped || !r.nrestored ? SC_EXIT_PROBLEM : SC_EXIT_OK;
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
		rc = r.nproblems || r.nconflicts || cJSON_GetArraySize(r.refused) ? SC_EXIT_PROBLEM : SC_EXIT_OK;
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
	"            [--delete [--max-delete N|P%|N,P%] [--allow-big-delete]] [--keep-deleted DAYS]",
	"            [--full] [--dry-run] [--wait SECONDS] [--json]",
	"tenant-sync --restore RUN_ID [--local URI] [--remote URI] [--table NAME].. [--dry-run] [--json]",
	NULL,
};

const sc_cmd cmd_tenant_sync = {
	.name = "tenant-sync",
	.summary = "keep tenant records of two Postgres databases in step, in either direction",
	.usage = usage,
	.description =
		"Rows are matched by primary key (or --key) and compared by a hash computed on\n"
		"each server in one REPEATABLE READ snapshot; only differing rows travel, over\n"
		"COPY. Each database records the sync (schema syncctl, UNLOGGED: never\n"
		"published); when both records agree the next run is stateful: it reads only\n"
		"rows changed since (by xmin) and knows which side changed a row. to-remote/\n"
		"to-local: the source wins; --delete removes target rows the source lacks.\n"
		"both: a row changed on one side crosses; changed on both, a conflict, settled\n"
		"by --conflict (skip lists them and exits 1); with --delete, deletes cross.\n"
		"A run deleting more than --max-delete writes nothing (exit 1); deleted rows\n"
		"are kept for --restore RUN_ID. Each database gets all of its changes in one\n"
		"transaction or none; one run at a time per database (advisory lock: exit 3,\n"
		"or --wait).",
	.opts = opts,
	.reports = true,
	.run = run,
};
