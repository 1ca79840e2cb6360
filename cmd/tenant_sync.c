/* syncctl tenant-sync: keep tenant records of two Postgres databases in
 * step, in either direction, from cron. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/pg.h"
#include "../lib/report.h"
#include "../lib/tenant.h"
#include "../lib/text.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct {
	sc_ts_opts ts;
	sc_list tables, tenants, key;
	char *key_text;
	const char *tenant_file;     /* --tenant-file: one ID a line */
	char *tenant_text;           /* its contents, split in place */
	const char *max_delete;      /* --max-delete N|P%|N,P% */
	const char *restore;         /* --restore RUN_ID */
	long keep_deleted;           /* --keep-deleted DAYS; -1: not given */
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
	OPT_ENUM(ts_cli, "direction", 'd', ts.direction, "DIR", "to-remote to-local both", "to-remote, to-local or both (required, except with --restore)"),
	OPT_LIST(ts_cli, "table", 't', tables, "NAME", "a table to sync, or schema.table (repeatable; at least one)", .nonempty = true,
		 .doc = "_NAME_ is the table's name as it is (no quoting), found on the search path, or _schema.table_."),
	OPT_STRING(ts_cli, "tenant-column", 0, ts.tenant_column, "COL", "the column --tenant matches (default tenant_id; else a one-column key)", .nonempty = true),
	OPT_LIST(ts_cli, "tenant", 0, tenants, "ID", "only rows of this tenant (repeatable)",
		 .doc = "An ID is data: quotes, semicolons and any UTF-8 are matched as they are."),
	OPT_FILE(ts_cli, "tenant-file", 0, tenant_file, "FILE", "only rows of the tenants in FILE, one ID a line",
		 .doc = "Each line is an ID as it is (a trailing CR is dropped; empty lines are skipped); with *--tenant*, both count. "
			"A file without an ID is a usage error (exit 2): an empty list would widen the scope to every row."),
	OPT_ENUM(ts_cli, "conflict", 0, ts.conflict, "POLICY", "skip newer local remote", "both: skip (default), newer, local or remote"),
	OPT_STRING(ts_cli, "updated-column", 0, ts.updated_column, "COL", "--conflict newer: the column compared (default updated_at)", .nonempty = true),
	OPT_CALL(ts_cli, "key", 0, key, "COL,..", key_opt, "match rows by these columns instead of the primary key",
		 .doc = "They must identify rows: a key found twice on a side stops the run before anything is written (exit 2)."),
	OPT_FLAG(ts_cli, "delete", 0, ts.delete_rows, "propagate deletes: target rows the source lacks (both: deleted since the last sync)",
		 .doc = "Only rows in scope. With *both*, only a run with state deletes (see *DESCRIPTION*); one without "
			"deletes nothing, says so and records state, so the next run does."),
	OPT_STRING(ts_cli, "max-delete", 0, max_delete, "N|P%|N,P%", "refuse a run deleting more than this from a table (default 100,10%: both exceeded)",
		   .doc = "_N_ rows, _P_ percent of the table's rows in scope on that side, or both (see *DELETES*)."),
	OPT_FLAG(ts_cli, "allow-big-delete", 0, ts.allow_big_delete, "run even when the deletes exceed --max-delete"),
	OPT_INT(ts_cli, "keep-deleted", 0, keep_deleted, "DAYS", 0, 36500, "keep deleted rows for --restore this long (default 30)",
		.doc = "In *syncctl.deleted_rows*; 0 prunes them on the next run that writes there."),
	OPT_STRING(ts_cli, "restore", 0, restore, "RUN_ID", "put back the rows that run deleted (its run_id in the report)",
		   .doc = "See *DELETES*. Takes *--local*, *--remote*, *--table*, *--dry-run*, *--wait*."),
	OPT_FLAG(ts_cli, "full", 0, ts.full, "ignore the state: compare every row by hash (and record state afresh)"),
	OPT_FLAG(ts_cli, "dry-run", 'n', ts.dry_run, "compute everything, write nothing (-v lists the keys)",
		 .doc = "Not the state either. With *-v*, each key it would insert, update or delete, each row kept and each "
			"conflict (in *--json*, as \"keys\"; with *--output*, in the file before the table; not in the nagios "
			"and prometheus formats)."),
	OPT_DURATION(ts_cli, "wait", 0, ts.wait_s, "SECONDS", 86400, "wait this long for another run's lock (default: do not wait)"),
	OPT_END,
};

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

/* --tenant-file: one ID a line, added to --tenant's. A file with none is
 * refused: an empty scope would be every row. */
static int read_tenant_file(ts_cli *c)
{
	sc_ctx *ctx = c->ctx;
	sc_error err;
	sc_error_clear(&err);
	size_t len = 0;
	c->tenant_text = sc_read_file(c->tenant_file, (size_t)256 << 20, &len, "--tenant-file", &err);
	if (!c->tenant_text)
		return sc_cli_fail(ctx, &err);
	size_t before = c->tenants.n, line = 1;
	for (char *p = c->tenant_text, *end = c->tenant_text + len; p < end; line++) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		char *e = nl ? nl : end;
		if (memchr(p, '\0', (size_t)(e - p)))
			return sc_cli_usage_error(ctx, "--tenant-file %s: line %zu has a NUL byte, which no tenant ID can hold",
						  c->tenant_file, line);
		*e = '\0';
		if (e > p && e[-1] == '\r')
			e[-1] = '\0';
		if (*p)
			sc_list_push(&c->tenants, p);
		p = e + 1;
	}
	if (c->tenants.n == before)
		return sc_cli_usage_error(ctx, "--tenant-file %s has no tenant IDs (one a line): an empty list would "
					  "widen the scope to every row", c->tenant_file);
	return 0;
}

/* A key of --dry-run -v in text: names and keys are data from outside,
 * shown escaped. */
static void key_line(FILE *f, const char *table, const char *action, const char *side, const char *key)
{
	char *t = sc_text_safe(table), *k = sc_text_safe(key);
	if (!strcmp(action, "conflict"))
		fprintf(f, "%s: conflict (%s): %s\n", t, side, k);
	else if (!strcmp(action, "kept"))
		fprintf(f, "%s: would keep on %s: %s\n", t, side, k);
	else
		fprintf(f, "%s: would %s on %s: %s\n", t, action, side, k);
	free(t);
	free(k);
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
		return;
	}
	/* Straight to stdout while the run goes on. */
	key_line(stdout, table, action, side, key);
}

static void on_progress(void *ud, const char *table, const char *phase, long long rows)
{
	ts_cli *c = ud;
	char *t = sc_text_safe(table);
	if (rows)
		fprintf(stderr, "\r\033[K%s: %s %lld rows", t, phase, rows);
	else
		fprintf(stderr, "\r\033[K%s: %s", t, phase);
	free(t);
	c->progress_shown = true;
}

static const char *jstr(const cJSON *e, const char *k)
{
	const char *s = cJSON_GetStringValue(cJSON_GetObjectItem(e, k));
	return s ? s : "";
}

static long long jnum(const cJSON *e, const char *k)
{
	return (long long)cJSON_GetNumberValue(cJSON_GetObjectItem(e, k));
}

/* "TABLE: WHAT (REASON): KEY", the table and key escaped (one line each,
 * whatever they hold). */
static void print_key_line(FILE *out, const cJSON *e, const char *what)
{
	char *t = sc_text_safe(jstr(e, "table")), *k = sc_text_safe(jstr(e, "key"));
	fprintf(out, "%s: %s (%s): %s\n", t, what, jstr(e, "reason"), k);
	free(t);
	free(k);
}

static void print_mode(FILE *out, const ts_cli *c, const sc_ts_result *r)
{
	const char *mode = sc_ts_mode(r);
	if (!strcmp(mode, "stateful")) {
		fprintf(out, "mode: stateful (both databases' records of the last sync agree: only changed rows were read)\n");
	} else {
		/* One line per distinct reason. */
		for (size_t i = 0; i < r->ntables; i++) {
			const sc_ts_table *x = &r->tables[i];
			if (x->stateful || !x->mode_reason)
				continue;
			bool seen = false;
			for (size_t k = 0; k < i && !seen; k++)
				seen = !r->tables[k].stateful && r->tables[k].mode_reason && !strcmp(r->tables[k].mode_reason, x->mode_reason);
			if (!seen) {
				char *why = sc_text_safe(x->mode_reason);
				fprintf(out, "mode: stateless: %s\n", why);
				free(why);
			}
		}
	}
	if (c->ts.dry_run)
		return;
	if (r->state_recorded)
		fprintf(out, "state: recorded (run %s); the next run is stateful\n", r->run_id);
	else if (r->state_reason)
		fprintf(out, "state: not recorded (%s)\n", r->state_reason);
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
		for (size_t i = 0; i < r->nproblems; i++) {
			char *s = sc_text_safe(r->problems[i]);
			fprintf(fout, "%s\n", s);
			free(s);
		}
		fprintf(fout, "the tables differ between local and remote: nothing was written "
		       "(make the schemas match, then run again)\n");
		return;
	}
	const cJSON *k;
	cJSON_ArrayForEach(k, c->keys) /* --output: the keys the run found */
		key_line(fout, jstr(k, "table"), jstr(k, "action"), jstr(k, strcmp(jstr(k, "action"), "conflict") ? "on" : "reason"),
			 jstr(k, "key"));
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
		fputs(out, fout);
		free(out);
	}
	sc_table_free(&t);
	const cJSON *e;
	if (!ctx->verbose || !c->ts.dry_run)
		cJSON_ArrayForEach(e, r->conflicts)
			print_key_line(fout, e, "conflict");
	if (r->nconflicts > cJSON_GetArraySize(r->conflicts))
		fprintf(fout, "... %lld conflicts in all\n", r->nconflicts);
	long long kept = r->nunresolved - r->nconflicts;
	if (kept > 0 && !ctx->quiet) {
		if (ctx->verbose && !c->ts.dry_run)
			cJSON_ArrayForEach(e, r->unresolved)
				if (!strcmp(jstr(e, "kind"), "kept"))
					print_key_line(fout, e, "kept");
		fprintf(fout, "%lld rows kept that the other side deleted or lacks (%s)\n", kept,
			c->ts.delete_rows ? "listed with -v" : "--delete deletes them; -v lists them");
	}
	cJSON_ArrayForEach(e, r->refused) {
		char *tn = sc_text_safe(jstr(e, "table"));
		fprintf(fout, "%s: refused to delete %lld of the %lld rows on %s (over --max-delete; run with --allow-big-delete "
			"if that is meant)\n", tn, jnum(e, "delete"), jnum(e, "rows"), jstr(e, "side"));
		free(tn);
	}
	if (cJSON_GetArraySize(r->refused))
		fprintf(fout, "nothing was written\n");
	if (!ctx->quiet)
		cJSON_ArrayForEach(e, r->notes) {
			char *n = sc_text_safe(cJSON_GetStringValue(e) ? cJSON_GetStringValue(e) : "");
			fprintf(fout, "note: %s\n", n);
			free(n);
		}
	if (r->nconflicts)
		fprintf(fout, "%lld conflicts left as they are: resolve them, or run with --conflict newer|local|remote\n", r->nconflicts);
	if (!ctx->quiet)
		print_mode(fout, c, r);
	if (c->ts.dry_run)
		fprintf(fout, "dry run: nothing was written\n");
	else if (!ctx->quiet)
		fprintf(fout, "%s in %.2f s\n", r->written ? "done" : "nothing written", r->ms / 1000.0);
}

static void print_restore(sc_ctx *ctx, FILE *fout, void *data)
{
	ts_cli *c = ((struct ts_show *)data)->c;
	const sc_ts_result *r = ((struct ts_show *)data)->r;
	const cJSON *e;
	cJSON_ArrayForEach(e, r->restored) {
		long long k = jnum(e, "skipped");
		char *tn = sc_text_safe(jstr(e, "table"));
		fprintf(fout, "%s: %s %lld rows on %s", tn, c->ts.dry_run ? "would restore" : "restored", jnum(e, "restored"), jstr(e, "side"));
		free(tn);
		if (k)
			fprintf(fout, ", %lld not (%s)", k, jstr(e, "reason"));
		fprintf(fout, "\n");
	}
	if (!r->nrestored && !r->nskipped)
		fprintf(fout, "nothing to restore for run %s (no deleted rows of it are kept: pruned after --keep-deleted days, "
			"or already restored)\n", r->run_id);
	else if (c->ts.dry_run)
		fprintf(fout, "dry run: nothing was written\n");
	else if (!ctx->quiet)
		fprintf(fout, "%lld rows restored in %.2f s; the next tenant-sync brings them to the other side\n", r->nrestored, r->ms / 1000.0);
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
		sc_check *k = sc_report_add(rep, id, x->conflicts ? SC_CHECK_FAIL : SC_CHECK_OK, "%s: %lld conflicts, %lld unchanged (%s)",
					    x->name, x->conflicts, x->unchanged, x->stateful ? "stateful" : "stateless");
		static const char *const dirs[] = { "to_remote", "to_local" };
		static const char *const ops[] = { "inserted", "updated", "deleted", "kept" };
		for (int d = 0; d < 2; d++) {
			if (c->ts.direction != SC_TS_BOTH && c->ts.direction != d)
				continue;
			for (int op = 0; op < 4; op++) {
				char *m = sc_xasprintf("%s_%s_rows", dirs[d], ops[op]);
				sc_check_metric(k, m, (double)x->n[d][op], "");
				free(m);
			}
		}
		sc_check_metric(k, "conflicts", (double)x->conflicts, "");
		sc_check_metric(k, "stateful", x->stateful ? 1 : 0, "");
		sc_check_metric(k, "seconds", x->ms / 1000.0, "s");
		free(id);
	}
	const cJSON *e;
	cJSON_ArrayForEach(e, r->refused) {
		char *id = sc_xasprintf("tenant_sync.delete_refused.%s", jstr(e, "table"));
		sc_report_add(rep, id, SC_CHECK_FAIL, "%s: refused to delete %lld of the %lld rows on %s (over --max-delete)",
			      jstr(e, "table"), jnum(e, "delete"), jnum(e, "rows"), jstr(e, "side"));
		free(id);
	}
	sc_check *k;
	if (r->nproblems)
		k = sc_report_add(rep, "tenant_sync", SC_CHECK_FAIL, "the tables differ between local and remote: nothing was written");
	else if (cJSON_GetArraySize(r->refused))
		k = sc_report_add(rep, "tenant_sync", SC_CHECK_FAIL, "deletes over --max-delete refused: nothing was written");
	else if (r->nconflicts)
		k = sc_report_add(rep, "tenant_sync", SC_CHECK_FAIL, "%lld conflicts left as they are", r->nconflicts);
	else
		k = sc_report_add(rep, "tenant_sync", SC_CHECK_OK, "%s (%s)", r->written ? "done" : "nothing written", sc_ts_mode(r));
	sc_check_metric(k, "conflicts", (double)r->nconflicts, "");
	sc_check_metric(k, "unresolved", (double)r->nunresolved, "");
}

/* --restore as checks: a check a table and side, and the verdict. */
static void restore_report(const sc_ts_result *r, sc_report *rep)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, r->restored) {
		char *id = sc_xasprintf("tenant_sync.restore.%s.%s", jstr(e, "side"), jstr(e, "table"));
		sc_check *k = sc_report_add(rep, id, jnum(e, "skipped") ? SC_CHECK_FAIL : SC_CHECK_OK, "%s on %s: %lld restored, %lld skipped",
					    jstr(e, "table"), jstr(e, "side"), jnum(e, "restored"), jnum(e, "skipped"));
		sc_check_metric(k, "restored_rows", (double)jnum(e, "restored"), "");
		sc_check_metric(k, "skipped_rows", (double)jnum(e, "skipped"), "");
		free(id);
	}
	if (!r->nrestored && !r->nskipped)
		sc_report_add(rep, "tenant_sync.restore", SC_CHECK_FAIL, "nothing to restore for run %s", r->run_id);
	else
		sc_report_add(rep, "tenant_sync.restore", r->nskipped ? SC_CHECK_FAIL : SC_CHECK_OK, "%lld rows restored, %lld skipped",
			      r->nrestored, r->nskipped);
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
	c.ts.max_delete_rows = 100;
	c.ts.max_delete_pct = 10;
	c.keep_deleted = -1;
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
	bool have_delete_opts = c.max_delete || c.ts.allow_big_delete || c.keep_deleted >= 0;
	c.ts.keep_deleted_days = c.keep_deleted >= 0 ? (int)c.keep_deleted : 30;
	if (c.max_delete && !parse_max_delete(c.max_delete, &c.ts)) {
		rc = sc_cli_usage_error(ctx, "--max-delete takes N rows, P%% of a table's rows, or N,P%% (both "
					"exceeded), e.g. 100,10%%; not '%s'", c.max_delete);
		goto out;
	}
	if (c.restore) {
		if (!is_uuid(c.restore)) {
			rc = sc_cli_usage_error(ctx, "--restore takes the run_id of a run (a UUID, as its report shows), not '%s'", c.restore);
			goto out;
		}
		if (c.ts.direction >= 0 || have_conflict || c.ts.delete_rows || c.ts.full || have_delete_opts ||
		    c.tenants.n || c.tenant_file || c.key.n) {
			rc = sc_cli_usage_error(ctx, "--restore RUN_ID puts rows back; it takes --local, --remote, --table, --dry-run "
						"and --wait, not the options of a sync");
			goto out;
		}
		c.ts.restore = c.restore;
	}
	if (c.ts.direction < 0 && !c.ts.restore) {
		rc = sc_cli_usage_error(ctx, "--direction to-remote|to-local|both is required");
		goto out;
	}
	if (!c.tables.n && !c.ts.restore) {
		rc = sc_cli_usage_error(ctx, "name the tables to sync: --table NAME (repeatable)");
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
	if (c.tenant_file && (rc = read_tenant_file(&c)) != 0)
		goto out;
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
	/* --dry-run -v's keys: streamed to stdout in text; kept for the
	 * document with --json, and for the file with --output (text); not
	 * part of the nagios and prometheus formats. */
	if (c.ts.dry_run && ctx->verbose && (ctx->format == SC_FORMAT_TEXT || ctx->json)) {
		c.ts.on_key = on_key;
		if (ctx->json || ctx->output)
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
	} else {
		sc_report rep;
		sc_report_init(&rep);
		struct ts_show show = { &c, &r };
		sc_out out = { .report = &rep, .data = &show };
		if (c.ts.restore) {
			restore_report(&r, &rep);
			out.json = sc_ts_restore_json(&c.ts, &r);
			out.text = print_restore;
			out.rc = r.nskipped || !r.nrestored ? SC_EXIT_PROBLEM : SC_EXIT_OK;
		} else {
			result_report(&c, &r, &rep);
			out.json = sc_ts_json(&c.ts, &r);
			if (c.keys && ctx->json) {
				cJSON_AddItemToObject(out.json, "keys", c.keys);
				c.keys = NULL;
			}
			out.text = print_text;
			out.rc = r.nproblems || r.nconflicts || cJSON_GetArraySize(r.refused) ? SC_EXIT_PROBLEM : SC_EXIT_OK;
		}
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
	free(c.tenant_text);
	return rc;
}

static const char *const usage[] = {
	"tenant-sync --direction to-remote|to-local|both --table NAME [--table NAME]..",
	"            [--local URI] [--remote URI] [--tenant ID].. [--tenant-file FILE] [--tenant-column COL]",
	"            [--conflict skip|newer|local|remote] [--updated-column COL] [--key COL,..]",
	"            [--delete [--max-delete N|P%|N,P%] [--allow-big-delete]] [--keep-deleted DAYS]",
	"            [--full] [--dry-run] [--wait SECONDS] [--format FORMAT]",
	"tenant-sync --restore RUN_ID [--local URI] [--remote URI] [--table NAME].. [--dry-run] [--format FORMAT]",
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
	.formats = SC_FMT_ALL,
	.run = run,
};
