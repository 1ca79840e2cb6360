#include "replication.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

int sc_wal_budget_pct(const char *wal_status, const double *safe_wal_size,
		      const double *max_slot_wal_keep_size)
{
	if ((wal_status && strcmp(wal_status, "lost") == 0) || !safe_wal_size ||
	    !max_slot_wal_keep_size || !(*max_slot_wal_keep_size > 0))
		return -1;
	/* Math.max(0, Math.round(safe / max * 100)); Math.round is floor(x + 0.5). */
	double pct = floor(*safe_wal_size / *max_slot_wal_keep_size * 100.0 + 0.5);
	if (pct < 0)
		pct = 0;
	return pct > 1e9 ? 1000000000 : (int)pct;
}

char *sc_wal_budget_message(int pct)
{
	return sc_xasprintf("WAL budget is low: %d%% remaining. The replication slot may be invalidated if WAL"
			    " consumption continues at this rate. Consider increasing max_slot_wal_keep_size.", pct);
}

void sc_check_wal_level(const char *wal_level, sc_report *r)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "wal_level", wal_level);
	sc_check *c;
	if (strcmp(wal_level, "logical") == 0) {
		c = sc_report_add(r, "pg.wal_level", SC_CHECK_OK, "wal_level is logical");
	} else {
		c = sc_report_add(r, "pg.wal_level", SC_CHECK_FAIL,
				  "wal_level is %s; logical replication needs logical", wal_level);
		sc_check_set_hint(c, "ALTER SYSTEM SET wal_level = logical; then restart Postgres");
	}
	sc_check_set_details(c, d);
}

int sc_replication_check_settings(sc_pg *pg, sc_report *r, sc_error *err)
{
	sc_report_mark(r);
	/* max_slot_wal_keep_size exists from Postgres 13. */
	PGresult *res = sc_pg_exec(pg, pg->server_version >= 130000
		? "SELECT current_setting('wal_level'),"
		  " current_setting('max_replication_slots')::int,"
		  " (SELECT count(*) FROM pg_replication_slots),"
		  " current_setting('max_wal_senders')::int,"
		  " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'),"
		  " r.rolsuper, r.rolreplication, r.rolbypassrls, quote_ident(current_user),"
		  " current_setting('max_slot_wal_keep_size'), pg_size_bytes(current_setting('max_slot_wal_keep_size'))"
		  " FROM pg_roles r WHERE r.rolname = current_user"
		: "SELECT current_setting('wal_level'),"
		  " current_setting('max_replication_slots')::int,"
		  " (SELECT count(*) FROM pg_replication_slots),"
		  " current_setting('max_wal_senders')::int,"
		  " (SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'walsender'),"
		  " r.rolsuper, r.rolreplication, r.rolbypassrls, quote_ident(current_user), NULL::text, NULL::bigint"
		  " FROM pg_roles r WHERE r.rolname = current_user", 0, NULL, err);
	if (!res)
		return -1;
	if (PQntuples(res) != 1) {
		PQclear(res);
		sc_error_set(err, SC_EXIT_FAILED, "cannot read the settings of %s", pg->display);
		return -1;
	}
	const char *wal_level = sc_pg_get(res, 0, 0);
	long long max_slots = sc_pg_get_ll(res, 0, 1, 0), used_slots = sc_pg_get_ll(res, 0, 2, 0);
	long long max_senders = sc_pg_get_ll(res, 0, 3, 0), used_senders = sc_pg_get_ll(res, 0, 4, 0);
	bool super = sc_pg_get_bool(res, 0, 5), repl = sc_pg_get_bool(res, 0, 6);
	const char *role = sc_pg_get(res, 0, 8);

	sc_check_wal_level(wal_level, r);

	static const struct { const char *id, *setting, *what; int col; } limits[] = {
		{ "pg.max_replication_slots", "max_replication_slots", "replication slots", 1 },
		{ "pg.max_wal_senders", "max_wal_senders", "WAL senders", 3 },
	};
	for (int i = 0; i < 2; i++) {
		long long max = i == 0 ? max_slots : max_senders;
		long long used = i == 0 ? used_slots : used_senders;
		long long free_n = max - used;
		cJSON *ld = cJSON_CreateObject();
		cJSON_AddNumberToObject(ld, "max", (double)max);
		cJSON_AddNumberToObject(ld, "used", (double)used);
		cJSON_AddNumberToObject(ld, "free", (double)(free_n > 0 ? free_n : 0));
		sc_check *c;
		if (free_n > 0) {
			c = sc_report_add(r, limits[i].id, SC_CHECK_OK, "%s = %lld: %lld used, %lld free",
					  limits[i].setting, max, used, free_n);
		} else {
			c = sc_report_add(r, limits[i].id, SC_CHECK_FAIL,
					  "%s = %lld: %lld used, none free; the sync service needs one (two while it redeploys sync rules)",
					  limits[i].setting, max, used);
			if (i == 0)
				sc_check_set_hint(c, "ALTER SYSTEM SET max_replication_slots = %lld; then restart Postgres (or drop unused slots: syncctl slots drop NAME)",
						  used + 2 > 10 ? used + 2 : 10);
			else
				sc_check_set_hint(c, "ALTER SYSTEM SET max_wal_senders = %lld; then restart Postgres",
						  used + 2 > 10 ? used + 2 : 10);
		}
		sc_check_set_details(c, ld);
	}

	/* What a slot may retain (13 and later): shown, not judged here; the
	 * slot checks use it. -1, the default, is no limit at all. */
	const char *keep = sc_pg_get(res, 0, 9);
	if (keep) {
		long long keep_bytes = sc_pg_get_ll(res, 0, 10, -1);
		cJSON *kd = cJSON_CreateObject();
		cJSON_AddStringToObject(kd, "max_slot_wal_keep_size", keep);
		cJSON_AddNumberToObject(kd, "bytes", (double)keep_bytes);
		cJSON_AddBoolToObject(kd, "unlimited", keep_bytes < 0);
		sc_check *c;
		if (keep_bytes < 0) {
			c = sc_report_add(r, "pg.max_slot_wal_keep_size", SC_CHECK_OK,
					  "max_slot_wal_keep_size = -1: unlimited retention, a slot keeps all the WAL its consumer has not confirmed");
		} else {
			char *size = sc_format_size(keep_bytes);
			c = sc_report_add(r, "pg.max_slot_wal_keep_size", SC_CHECK_OK,
					  "max_slot_wal_keep_size = %s: a slot retaining more WAL is invalidated", size);
			free(size);
		}
		sc_check_set_details(c, kd);
	}

	cJSON *rd = cJSON_CreateObject();
	cJSON_AddStringToObject(rd, "role", role);
	cJSON_AddBoolToObject(rd, "superuser", super);
	cJSON_AddBoolToObject(rd, "replication", repl);
	cJSON_AddBoolToObject(rd, "bypassrls", sc_pg_get_bool(res, 0, 7));
	if (super || repl) {
		sc_check_set_details(sc_report_add(r, "pg.role", SC_CHECK_OK,
						   "role %s has %s", role, super ? "superuser" : "REPLICATION"), rd);
	} else {
		sc_check *c = sc_report_add(r, "pg.role", SC_CHECK_FAIL,
					    "role %s lacks REPLICATION: the sync service gets \"permission denied to start WAL sender\"",
					    role);
		sc_check_set_hint(c, "ALTER ROLE %s WITH REPLICATION;", role);
		sc_check_set_details(c, rd);
	}
	PQclear(res);
	return 0;
}

static void add_num_or_null(cJSON *o, const char *key, const PGresult *res, int row, int col)
{
	const char *v = sc_pg_get(res, row, col);
	if (v)
		cJSON_AddNumberToObject(o, key, (double)sc_pg_get_ll(res, row, col, 0));
	else
		cJSON_AddNullToObject(o, key);
}

static void add_str_or_null(cJSON *o, const char *key, const PGresult *res, int row, int col)
{
	const char *v = sc_pg_get(res, row, col);
	if (v)
		cJSON_AddStringToObject(o, key, v);
	else
		cJSON_AddNullToObject(o, key);
}

/* The columns of pg_replication_slots this server has, in a fixed order:
 * wal_status and safe_wal_size from 13, conflicting from 16,
 * invalidation_reason and inactive_since from 17; NULL where it lacks them,
 * then its max_slot_wal_keep_size in bytes (NULL before 13) and whether it
 * is a standby. */
static char *slots_query(const sc_pg *pg)
{
	int v = pg->server_version;
	return sc_xasprintf(
		"WITH cur AS (SELECT CASE WHEN pg_is_in_recovery() THEN pg_last_wal_replay_lsn()"
		" ELSE pg_current_wal_lsn() END AS lsn)"
		" SELECT s.slot_name, s.plugin, s.slot_type, s.database, s.active, s.active_pid,"
		" %s, pg_wal_lsn_diff(cur.lsn, s.confirmed_flush_lsn)::bigint,"
		" pg_wal_lsn_diff(cur.lsn, s.restart_lsn)::bigint, %s, s.temporary,"
		" quote_literal(s.slot_name), %s, %s, %s, %s, pg_is_in_recovery()"
		" FROM pg_replication_slots s, cur ORDER BY s.slot_name",
		v >= 130000 ? "s.wal_status" : "NULL::text",
		v >= 130000 ? "s.safe_wal_size" : "NULL::bigint",
		v >= 160000 ? "s.conflicting" : "NULL::bool",
		v >= 170000 ? "s.invalidation_reason" : "NULL::text",
		v >= 170000 ? "to_char(s.inactive_since AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"')" : "NULL::text",
		v >= 130000 ? "pg_size_bytes(current_setting('max_slot_wal_keep_size'))" : "NULL::bigint");
}

/* Why a slot was invalidated and what to do about it, by its
 * invalidation_reason (17+); on 16, by conflicting on a standby (a
 * conflict with recovery: 16 sets conflicting for every invalidation, so on
 * a primary it means the WAL was removed, as it always does on 13 to 15). */
static sc_check *invalidated(sc_report *r, const char *id, const char *name, const char *lit,
			     const char *reason, bool conflicting)
{
	sc_buf why = SC_BUF_INIT;
	sc_buf_puts(&why, "wal_status=lost");
	if (reason)
		sc_buf_printf(&why, ", invalidation_reason=%s", reason);
	else if (conflicting)
		sc_buf_puts(&why, ", conflicting with recovery");
	sc_check *c;
	if (reason && strcmp(reason, "rows_removed") == 0) {
		c = sc_report_add(r, id, SC_CHECK_FAIL,
				  "slot %s was invalidated (%s): the primary removed rows its decoding needed, and its consumer cannot resume",
				  name, why.data);
		sc_check_set_hint(c, "SELECT pg_drop_replication_slot(%s); so its consumer starts over, and on the standby set"
				  " hot_standby_feedback = on with a physical slot from the primary (primary_slot_name)", lit);
	} else if (reason && strcmp(reason, "wal_level_insufficient") == 0) {
		c = sc_report_add(r, id, SC_CHECK_FAIL,
				  "slot %s was invalidated (%s): the primary's wal_level fell below logical, and its consumer cannot resume",
				  name, why.data);
		sc_check_set_hint(c, "on the primary: ALTER SYSTEM SET wal_level = logical; then restart it; then"
				  " SELECT pg_drop_replication_slot(%s); so its consumer starts over", lit);
	} else if (reason && strcmp(reason, "idle_timeout") == 0) {
		c = sc_report_add(r, id, SC_CHECK_FAIL,
				  "slot %s was invalidated (%s): it was inactive for longer than idle_replication_slot_timeout, and its consumer cannot resume",
				  name, why.data);
		sc_check_set_hint(c, "SELECT pg_drop_replication_slot(%s); so its consumer starts over, and raise"
				  " idle_replication_slot_timeout (0 turns it off: ALTER SYSTEM SET idle_replication_slot_timeout = 0; SELECT pg_reload_conf();)", lit);
	} else if (!reason && conflicting) {
		c = sc_report_add(r, id, SC_CHECK_FAIL,
				  "slot %s was invalidated (%s): on this standby, the primary removed rows its decoding needed or its wal_level fell below logical; its consumer cannot resume",
				  name, why.data);
		sc_check_set_hint(c, "SELECT pg_drop_replication_slot(%s); so its consumer starts over; keep wal_level = logical on the"
				  " primary, and on the standby set hot_standby_feedback = on with a physical slot from the primary", lit);
	} else {
		c = sc_report_add(r, id, SC_CHECK_FAIL,
				  "slot %s was invalidated (%s): the WAL it needed is gone and its consumer cannot resume",
				  name, why.data);
		sc_check_set_hint(c, "SELECT pg_drop_replication_slot(%s); so its consumer starts over, and raise max_slot_wal_keep_size (ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT pg_reload_conf();)",
				  lit);
	}
	sc_buf_free(&why);
	return c;
}

int sc_replication_check_slots(sc_pg *pg, sc_report *r, int64_t max_retained, sc_error *err)
{
	sc_report_mark(r);
	char *sql = slots_query(pg);
	PGresult *res = sc_pg_exec(pg, sql, 0, NULL, err);
	free(sql);
	if (!res)
		return -1;
	char *limit = sc_format_size(max_retained);
	cJSON *all = cJSON_CreateArray();
	for (int i = 0; i < PQntuples(res); i++) {
		const char *name = sc_pg_get(res, i, 0);
		bool active = sc_pg_get_bool(res, i, 4);
		const char *wal_status = sc_pg_get(res, i, 6);
		long long lag = sc_pg_get_ll(res, i, 7, -1);
		long long retained = sc_pg_get_ll(res, i, 8, -1);
		const char *lit = sc_pg_get(res, i, 11);
		bool conflicting = sc_pg_get(res, i, 12) && sc_pg_get_bool(res, i, 12);
		bool standby = sc_pg_get_bool(res, i, 16);
		const char *reason = sc_pg_get(res, i, 13);
		const char *since = sc_pg_get(res, i, 14);
		/* -1: no limit (the default from 13; before 13 there is none). */
		long long keep = sc_pg_get_ll(res, i, 15, -1);
		cJSON *row = cJSON_CreateObject();
		cJSON_AddStringToObject(row, "name", name);
		add_str_or_null(row, "plugin", res, i, 1);
		add_str_or_null(row, "slot_type", res, i, 2);
		add_str_or_null(row, "database", res, i, 3);
		cJSON_AddBoolToObject(row, "active", active);
		add_num_or_null(row, "active_pid", res, i, 5);
		add_str_or_null(row, "wal_status", res, i, 6);
		add_num_or_null(row, "lag_bytes", res, i, 7);
		add_num_or_null(row, "retained_bytes", res, i, 8);
		add_num_or_null(row, "safe_wal_size", res, i, 9);
		cJSON_AddBoolToObject(row, "temporary", sc_pg_get_bool(res, i, 10));
		if (pg->server_version >= 160000)
			cJSON_AddBoolToObject(row, "conflicting", conflicting);
		if (pg->server_version >= 170000) {
			add_str_or_null(row, "invalidation_reason", res, i, 13);
			add_str_or_null(row, "inactive_since", res, i, 14);
		}
		cJSON_AddItemToArray(all, cJSON_Duplicate(row, 1));

		char *id = sc_xasprintf("pg.slot.%s", name);
		char *ret_s = sc_format_size(retained > 0 ? retained : 0);
		char *lag_s = sc_format_size(lag > 0 ? lag : 0);
		char *keep_s = keep >= 0 ? sc_format_size(keep) : NULL;
		/* " (inactive since ...)" where the server says (17 and later). */
		char *since_s = !active && since ? sc_xasprintf(" (inactive since %s)", since) : sc_xstrdup("");
		double safe = (double)sc_pg_get_ll(res, i, 9, 0), keep_d = (double)keep;
		int budget = sc_wal_budget_pct(wal_status, sc_pg_get(res, i, 9) ? &safe : NULL,
					       keep >= 0 ? &keep_d : NULL);
		sc_check *c;
		if ((wal_status && strcmp(wal_status, "lost") == 0) || reason || conflicting) {
			c = invalidated(r, id, name, lit, reason, conflicting && standby);
		} else if (!active && retained > max_retained) {
			c = sc_report_add(r, id, SC_CHECK_FAIL,
					  "inactive slot %s%s retains %s of WAL (limit %s): it is filling the disk",
					  name, since_s, ret_s, limit);
			sc_check_set_hint(c, "if its consumer is gone for good: syncctl slots drop %s (or SELECT pg_drop_replication_slot(%s);)",
					  name, lit);
		} else if (active && lag > max_retained) {
			c = sc_report_add(r, id, SC_CHECK_WARN,
					  "active slot %s lags %s behind (limit %s)", name, lag_s, limit);
			sc_check_set_hint(c, "check that its consumer (pid %s) keeps up: syncctl service, or the sync service's logs",
					  sc_pg_get(res, i, 5) ? sc_pg_get(res, i, 5) : "?");
		} else if (wal_status && strcmp(wal_status, "unreserved") == 0) {
			c = sc_report_add(r, id, SC_CHECK_WARN,
					  "slot %s is about to be invalidated (wal_status=unreserved: it retains %s, more than max_slot_wal_keep_size = %s keeps; the next checkpoint may remove WAL it needs)",
					  name, ret_s, keep_s ? keep_s : "?");
			sc_check_set_hint(c, "let its consumer catch up now, or raise max_slot_wal_keep_size (ALTER SYSTEM SET max_slot_wal_keep_size = '%lldMB'; SELECT pg_reload_conf();)",
					  keep > 0 ? keep / 1048576 * 2 : 10240);
		} else if (budget >= 0 && budget <= SC_WAL_BUDGET_LOW_PCT) {
			char *m = sc_wal_budget_message(budget);
			c = sc_report_add(r, id, SC_CHECK_WARN, "slot %s: %s", name, m);
			free(m);
			sc_check_set_hint(c, "let its consumer catch up, or raise the limit: ALTER SYSTEM SET max_slot_wal_keep_size = '%lldMB'; SELECT pg_reload_conf();",
					  keep / 1048576 * 2 > 1 ? keep / 1048576 * 2 : 1);
		} else if (!active && keep < 0) {
			/* Nothing caps what it keeps: the disk fills if its consumer never returns. */
			c = sc_report_add(r, id, SC_CHECK_WARN,
					  "inactive slot %s%s retains %s of WAL with no limit (%s): it can fill the disk if its consumer does not come back",
					  name, since_s, ret_s,
					  pg->server_version >= 130000 ? "max_slot_wal_keep_size = -1" : "no max_slot_wal_keep_size before PostgreSQL 13");
			if (pg->server_version >= 130000)
				sc_check_set_hint(c, "cap what a slot may retain: ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT pg_reload_conf();"
						  " (and if its consumer is gone for good: syncctl slots drop %s)", name);
			else
				sc_check_set_hint(c, "if its consumer is gone for good: syncctl slots drop %s (PostgreSQL 13 and later can cap what a slot retains with max_slot_wal_keep_size)",
						  name);
		} else {
			char *left = budget >= 0 ? sc_xasprintf(", %d%% of its WAL budget left", budget) : sc_xstrdup("");
			c = sc_report_add(r, id, SC_CHECK_OK, "%s slot %s%s, %s, lag %s, retains %s%s",
					  active ? "active" : "inactive", name, since_s,
					  wal_status ? wal_status : "ok", lag_s, ret_s, left);
			free(left);
		}
		sc_check_set_details(c, row);
		if (lag >= 0)
			sc_check_metric(c, "lag_bytes", (double)lag, "B");
		if (retained >= 0)
			sc_check_metric(c, "retained_bytes", (double)retained, "B");
		free(since_s);
		free(keep_s);
		free(ret_s);
		free(lag_s);
		free(id);
	}
	cJSON_AddItemToObject(r->extra, "slots", all);
	free(limit);
	PQclear(res);
	return 0;
}

int sc_replication_slot_info(sc_pg *pg, const char *name, int *active, int *active_pid,
			     int64_t *retained, sc_error *err)
{
	const char *p[] = { name };
	PGresult *res = sc_pg_exec(pg,
		"SELECT active, active_pid, pg_wal_lsn_diff(CASE WHEN pg_is_in_recovery()"
		" THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END, restart_lsn)::bigint"
		" FROM pg_replication_slots WHERE slot_name = $1", 1, p, err);
	if (!res)
		return -1;
	int found = PQntuples(res) == 1;
	if (found) {
		*active = sc_pg_get_bool(res, 0, 0);
		*active_pid = (int)sc_pg_get_ll(res, 0, 1, 0);
		*retained = sc_pg_get_ll(res, 0, 2, 0);
	}
	PQclear(res);
	return found;
}

int sc_replication_drop_slot(sc_pg *pg, const char *name, sc_error *err)
{
	int active = 0, pid = 0;
	int64_t retained = 0;
	int found = sc_replication_slot_info(pg, name, &active, &pid, &retained, err);
	if (found < 0)
		return -1;
	if (!found) {
		sc_error_set(err, SC_EXIT_PROBLEM, "replication slot \"%s\" does not exist (see: syncctl slots)", name);
		return -1;
	}
	if (active) {
		sc_error_set(err, SC_EXIT_PROBLEM,
			     "replication slot \"%s\" is active (pid %d): refusing to drop it; stop its consumer first",
			     name, pid);
		return -1;
	}
	const char *p[] = { name };
	PGresult *res = sc_pg_exec(pg, "SELECT pg_drop_replication_slot($1)", 1, p, err);
	if (!res) {
		/* It became active between the check and the drop. */
		if (strstr(err->message, "is active"))
			err->code = SC_EXIT_PROBLEM;
		return -1;
	}
	PQclear(res);
	return 0;
}

/* Runs a catalog query with JIT compilation off for it. The planner's
 * estimate for pg_publication_tables' column lists (15 and later) is in the
 * millions, over jit_above_cost, and a server built with LLVM (Debian's)
 * then spends a third of a second compiling a query that reads a few rows.
 * The session's own setting is put back. */
static PGresult *exec_without_jit(sc_pg *pg, const char *sql, int n, const char *const *p, sc_error *err)
{
	PGresult *old = sc_pg_exec(pg, "SELECT current_setting('jit', true)", 0, NULL, err);
	if (!old)
		return NULL;
	const char *was = sc_pg_get(old, 0, 0);
	PGresult *res = NULL;
	if (!was || sc_pg_command(pg, "SELECT set_config('jit', 'off', false)", 0, NULL, err) == 0) {
		res = sc_pg_exec(pg, sql, n, p, err);
		if (was) {
			const char *q[] = { was };
			sc_error ignore;
			sc_pg_command(pg, "SELECT set_config('jit', $1, false)", 1, q, &ignore);
		}
	}
	PQclear(old);
	return res;
}

/* The published tables of one publication ($1): pubname,
 * schema, table, schema.table quoted; then from 15: the published columns
 * (a JSON array) when a column list leaves a column out, the row filter,
 * the replica identity columns the column list leaves out (JSON), and
 * those two column lists quoted for SQL ("a, b"). */
static PGresult *published_tables(sc_pg *pg, const char *name, sc_error *err)
{
	const char *p[] = { name };
	return exec_without_jit(pg, pg->server_version >= 150000
		? "SELECT pt.pubname, pt.schemaname, pt.tablename, format('%I.%I', pt.schemaname, pt.tablename),"
		  " CASE WHEN partial THEN to_json(pt.attnames::text[])::text END, pt.rowfilter,"
		  " CASE WHEN ri.names IS NOT NULL THEN to_json(ri.names)::text END,"
		  " CASE WHEN partial THEN (SELECT string_agg(quote_ident(x), ', ' ORDER BY k)"
		  "  FROM unnest(pt.attnames::text[]) WITH ORDINALITY u(x, k)) END,"
		  " (SELECT string_agg(quote_ident(x), ', ' ORDER BY k) FROM unnest(ri.names) WITH ORDINALITY u(x, k))"
		  " FROM pg_publication_tables pt"
		  " JOIN pg_namespace n ON n.nspname = pt.schemaname"
		  " JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename"
		  /* A column list leaves out a column (generated ones aside, which
		   * pgoutput does not send before 18 unless listed). */
		  " CROSS JOIN LATERAL (SELECT EXISTS (SELECT 1 FROM pg_attribute a WHERE a.attrelid = c.oid"
		  "  AND a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''"
		  "  AND a.attname <> ALL (pt.attnames)) AS partial) l"
		  /* The replica identity columns not published. */
		  " CROSS JOIN LATERAL (SELECT array_agg(a.attname::text ORDER BY a.attnum) AS names FROM pg_attribute a"
		  "  WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped AND a.attname <> ALL (pt.attnames)"
		  "  AND (c.relreplident = 'f' OR a.attnum IN (SELECT unnest(i.indkey::int2[]) FROM pg_index i"
		  "   WHERE i.indrelid = c.oid AND ((c.relreplident = 'd' AND i.indisprimary)"
		  "   OR (c.relreplident = 'i' AND i.indisreplident))))) ri"
		  " WHERE pt.pubname = $1"
		  " ORDER BY pt.schemaname, pt.tablename"
		: "SELECT pubname, schemaname, tablename, format('%I.%I', schemaname, tablename),"
		  " NULL::text, NULL::text, NULL::text, NULL::text, NULL::text FROM pg_publication_tables"
		  " WHERE pubname = $1"
		  " ORDER BY schemaname, tablename", 1, p, err);
}

/* A JSON array of strings as a NULL-terminated vector. */
static char **json_strings(const char *text, size_t *n)
{
	*n = 0;
	cJSON *a = text ? cJSON_Parse(text) : NULL;
	if (!cJSON_IsArray(a)) {
		cJSON_Delete(a);
		return NULL;
	}
	char **v = sc_xcalloc((size_t)cJSON_GetArraySize(a) + 1, sizeof *v);
	const cJSON *x;
	cJSON_ArrayForEach(x, a)
		if (cJSON_IsString(x))
			v[(*n)++] = sc_xstrdup(x->valuestring);
	cJSON_Delete(a);
	return v;
}

static void free_strings(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

int sc_publication_tables(sc_pg *pg, const char *name, sc_pub_table **tables, size_t *n, sc_error *err)
{
	*tables = NULL;
	*n = 0;
	const char *p[] = { name };
	PGresult *pub = sc_pg_exec(pg, "SELECT 1 FROM pg_publication WHERE pubname = $1", 1, p, err);
	if (!pub)
		return -1;
	int found = PQntuples(pub) == 1;
	PQclear(pub);
	if (!found)
		return 0;
	PGresult *res = published_tables(pg, name, err);
	if (!res)
		return -1;
	size_t rows = (size_t)PQntuples(res);
	sc_pub_table *t = sc_xcalloc(rows + 1, sizeof *t);
	for (size_t i = 0; i < rows; i++) {
		t[i].schema = sc_xstrdup(sc_pg_get(res, (int)i, 1));
		t[i].table = sc_xstrdup(sc_pg_get(res, (int)i, 2));
		t[i].qualified = sc_xstrdup(sc_pg_get(res, (int)i, 3));
		t[i].columns = json_strings(sc_pg_get(res, (int)i, 4), &t[i].ncolumns);
		t[i].row_filter = sc_pg_get(res, (int)i, 5) ? sc_xstrdup(sc_pg_get(res, (int)i, 5)) : NULL;
	}
	PQclear(res);
	*tables = t;
	*n = rows;
	return 1;
}

void sc_pub_tables_free(sc_pub_table *tables, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(tables[i].schema);
		free(tables[i].table);
		free(tables[i].qualified);
		free_strings(tables[i].columns, tables[i].ncolumns);
		free(tables[i].row_filter);
	}
	free(tables);
}

cJSON *sc_publication_list(sc_pg *pg, sc_error *err)
{
	const char *sql = pg->server_version >= 130000
		? "SELECT pubname, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate,"
		  " pubviaroot, pg_get_userbyid(pubowner) FROM pg_publication ORDER BY pubname"
		: "SELECT pubname, puballtables, pubinsert, pubupdate, pubdelete, pubtruncate,"
		  " false, pg_get_userbyid(pubowner) FROM pg_publication ORDER BY pubname";
	PGresult *pubs = sc_pg_exec(pg, sql, 0, NULL, err);
	if (!pubs)
		return NULL;
	cJSON *arr = cJSON_CreateArray();
	static const char *ops[] = { "insert", "update", "delete", "truncate" };
	for (int i = 0; i < PQntuples(pubs); i++) {
		const char *name = sc_pg_get(pubs, i, 0);
		sc_pub_table *tabs;
		size_t ntabs;
		if (sc_publication_tables(pg, name, &tabs, &ntabs, err) < 0) {
			cJSON_Delete(arr);
			PQclear(pubs);
			return NULL;
		}
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "name", name);
		cJSON_AddBoolToObject(o, "all_tables", sc_pg_get_bool(pubs, i, 1));
		cJSON *pub = cJSON_AddArrayToObject(o, "publish");
		for (int k = 0; k < 4; k++)
			if (sc_pg_get_bool(pubs, i, 2 + k))
				cJSON_AddItemToArray(pub, cJSON_CreateString(ops[k]));
		cJSON_AddBoolToObject(o, "via_partition_root", sc_pg_get_bool(pubs, i, 6));
		add_str_or_null(o, "owner", pubs, i, 7);
		cJSON *t = cJSON_AddArrayToObject(o, "tables");
		cJSON *cl = cJSON_AddObjectToObject(o, "column_lists");
		cJSON *rf = cJSON_AddObjectToObject(o, "row_filters");
		for (size_t j = 0; j < ntabs; j++) {
			cJSON_AddItemToArray(t, cJSON_CreateString(tabs[j].qualified));
			if (tabs[j].columns)
				cJSON_AddItemToObject(cl, tabs[j].qualified,
						      cJSON_CreateStringArray((const char *const *)tabs[j].columns, (int)tabs[j].ncolumns));
			if (tabs[j].row_filter)
				cJSON_AddStringToObject(rf, tabs[j].qualified, tabs[j].row_filter);
		}
		sc_pub_tables_free(tabs, ntabs);
		cJSON_AddItemToArray(arr, o);
	}
	PQclear(pubs);
	return arr;
}

/* pg.publication.columns and pg.publication.row_filter (Postgres 15 and
 * later), for the tables that have them. `writes` is whether updates or
 * deletes are published: then Postgres rejects them on a table whose
 * column list leaves out a replica identity column. */
static int check_lists(sc_pg *pg, sc_report *r, const char *name, const char *qpub, bool writes,
		       sc_error *err)
{
	if (pg->server_version < 150000)
		return 0;
	sc_report_mark(r);
	PGresult *res = published_tables(pg, name, err);
	if (!res)
		return -1;
	sc_buf cols = SC_BUF_INIT, bad = SC_BUF_INIT, bad_hint = SC_BUF_INIT, filters = SC_BUF_INIT;
	cJSON *cd = cJSON_CreateObject(), *fd = cJSON_CreateObject(), *bd = cJSON_CreateObject();
	int ncols = 0, nfilters = 0, nbad = 0;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *t = sc_pg_get(res, i, 3);
		const char *list = sc_pg_get(res, i, 7), *miss = sc_pg_get(res, i, 8);
		if (sc_pg_get(res, i, 4)) {
			ncols++;
			sc_buf_printf(&cols, "%s%s (%s)", cols.len ? "; " : "", t, list ? list : "");
			cJSON_AddItemToObject(cd, t, cJSON_Parse(sc_pg_get(res, i, 4)));
			if (writes && miss) {
				nbad++;
				sc_buf_printf(&bad, "%s%s (leaves out %s)", bad.len ? "; " : "", t, miss);
				sc_buf_printf(&bad_hint, "%sALTER PUBLICATION %s DROP TABLE %s; ALTER PUBLICATION %s ADD TABLE %s (%s%s%s);",
					      bad_hint.len ? "\n" : "", qpub, t, qpub, t, list ? list : "", list ? ", " : "", miss);
				cJSON_AddItemToObject(bd, t, cJSON_Parse(sc_pg_get(res, i, 6)));
			}
		}
		if (sc_pg_get(res, i, 5)) {
			nfilters++;
			sc_buf_printf(&filters, "%s%s WHERE %s", filters.len ? "; " : "", t, sc_pg_get(res, i, 5));
			cJSON_AddStringToObject(fd, t, sc_pg_get(res, i, 5));
		}
	}
	PQclear(res);
	if (nbad) {
		sc_check *c = sc_report_add(r, "pg.publication.columns", SC_CHECK_FAIL,
					    "%d table(s) with a column list that leaves out replica identity columns: %s; Postgres rejects"
					    " their UPDATE and DELETE (\"column list used by the publication does not cover the replica identity\")",
					    nbad, bad.data);
		sc_check_set_hint(c, "%s", bad_hint.data);
		cJSON *d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, "column_lists", cd);
		cJSON_AddItemToObject(d, "replica_identity_left_out", bd);
		sc_check_set_details(c, d);
	} else if (ncols) {
		sc_check *c = sc_report_add(r, "pg.publication.columns", SC_CHECK_OK,
					    "%d table(s) publish only some columns, and the sync service receives only those: %s",
					    ncols, cols.data);
		cJSON *d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, "column_lists", cd);
		sc_check_set_details(c, d);
		cJSON_Delete(bd);
	} else {
		cJSON_Delete(cd);
		cJSON_Delete(bd);
	}
	if (nfilters) {
		sc_check *c = sc_report_add(r, "pg.publication.row_filter", SC_CHECK_OK,
					    "%d table(s) publish only the rows their row filter matches; other rows never reach the sync service: %s",
					    nfilters, filters.data);
		cJSON *d = cJSON_CreateObject();
		cJSON_AddItemToObject(d, "row_filters", fd);
		sc_check_set_details(c, d);
	} else {
		cJSON_Delete(fd);
	}
	sc_buf_free(&cols);
	sc_buf_free(&bad);
	sc_buf_free(&bad_hint);
	sc_buf_free(&filters);
	return 0;
}

static void check_tables(sc_pg *pg, sc_report *r, const char *name, char *const *tables,
			 size_t ntables, const char *qpub)
{
	for (size_t i = 0; i < ntables; i++) {
		sc_report_mark(r);
		char *id = sc_xasprintf("pg.publication.table.%s", tables[i]);
		const char *p[] = { tables[i], name };
		sc_error qerr;
		/* A partitioned table is published through its leaf partitions
		 * (without publish_via_partition_root pg_publication_tables lists
		 * those, not it): it is in when every leaf is. Found through
		 * pg_inherits, which every major has (pg_partition_tree is 12+). */
		PGresult *res = sc_pg_exec(pg,
			"WITH RECURSIVE leaf(oid, top) AS (SELECT to_regclass($1)::oid, true"
			" UNION ALL SELECT i.inhrelid, false FROM pg_inherits i JOIN leaf ON i.inhparent = leaf.oid),"
			" pub AS (SELECT l.oid, l.top, c.relkind, format('%I.%I', n.nspname, c.relname) AS q,"
			"  EXISTS (SELECT 1 FROM pg_publication_tables pt WHERE pt.pubname = $2"
			"  AND pt.schemaname = n.nspname AND pt.tablename = c.relname) AS published"
			"  FROM leaf l JOIN pg_class c ON c.oid = l.oid JOIN pg_namespace n ON n.oid = c.relnamespace)"
			" SELECT t.q, t.published, t.relkind = 'p',"
			"  (SELECT string_agg(q, ', ' ORDER BY q) FROM pub WHERE NOT top AND relkind <> 'p' AND NOT published),"
			"  (SELECT string_agg(q, ', ' ORDER BY q) FROM pub WHERE NOT top AND relkind <> 'p')"
			" FROM pub t WHERE t.top", 2, p, &qerr);
		if (!res) {
			sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "cannot look up table %s: %s",
						    tables[i], qerr.message);
			sc_check_set_hint(c, "name the table as SQL would: schema.table, with double quotes around mixed-case or unusual names");
		} else if (PQntuples(res) == 0) {
			sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "table %s does not exist", tables[i]);
			sc_check_set_hint(c, "create it (syncctl schema init -f FILE) or check the name and search_path");
		} else if (sc_pg_get_bool(res, 0, 2) && !sc_pg_get_bool(res, 0, 1) && sc_pg_get(res, 0, 4)) {
			const char *t = sc_pg_get(res, 0, 0), *missing = sc_pg_get(res, 0, 3), *leaves = sc_pg_get(res, 0, 4);
			if (missing) {
				sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL,
							    "partitioned table %s: its partitions %s are not in publication %s: their changes never reach the sync service",
							    t, missing, name);
				/* Before 13 a partitioned table cannot be added, its partitions can. */
				if (pg->server_version >= 130000)
					sc_check_set_hint(c, "ALTER PUBLICATION %s ADD TABLE %s;", qpub, t);
				else
					sc_check_set_hint(c, "ALTER PUBLICATION %s ADD TABLE %s;", qpub, missing);
			} else {
				sc_report_add(r, id, SC_CHECK_OK,
					      "partitioned table %s is in publication %s through its partitions (%s): the sync service receives"
					      " their changes under the partitions' names",
					      t, name, leaves);
			}
		} else if (!sc_pg_get_bool(res, 0, 1)) {
			sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL,
						    "table %s is not in publication %s: its changes never reach the sync service",
						    sc_pg_get(res, 0, 0), name);
			sc_check_set_hint(c, "ALTER PUBLICATION %s ADD TABLE %s;", qpub, sc_pg_get(res, 0, 0));
		} else {
			sc_report_add(r, id, SC_CHECK_OK, "table %s is in publication %s",
				      sc_pg_get(res, 0, 0), name);
		}
		PQclear(res);
		free(id);
	}
}

int sc_publication_check(sc_pg *pg, sc_report *r, const char *name, char *const *tables,
			 size_t ntables, sc_error *err)
{
	sc_report_mark(r);
	char *qpub = sc_pg_quote_ident(pg, name);
	const char *p[] = { name };
	const char *sql = pg->server_version >= 130000
		? "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, pubviaroot"
		  " FROM pg_publication WHERE pubname = $1"
		: "SELECT puballtables, pubinsert, pubupdate, pubdelete, pubtruncate, false"
		  " FROM pg_publication WHERE pubname = $1";
	PGresult *res = sc_pg_exec(pg, sql, 1, p, err);
	if (!res) {
		free(qpub);
		return -1;
	}
	if (PQntuples(res) == 0) {
		sc_check *c = sc_report_add(r, "pg.publication", SC_CHECK_FAIL,
					    "publication %s does not exist: nothing is replicated to the sync service", name);
		sc_check_set_hint(c, "CREATE PUBLICATION %s FOR ALL TABLES; (or: syncctl schema init)", qpub);
		for (size_t i = 0; i < ntables; i++) {
			char *id = sc_xasprintf("pg.publication.table.%s", tables[i]);
			sc_report_add(r, id, SC_CHECK_SKIP, "publication %s does not exist", name);
			free(id);
		}
		PQclear(res);
		free(qpub);
		return 0;
	}
	bool all_tables = sc_pg_get_bool(res, 0, 0);
	bool via_root = sc_pg_get_bool(res, 0, 5);
	bool writes = sc_pg_get_bool(res, 0, 2) || sc_pg_get_bool(res, 0, 3);
	static const char *ops[] = { "insert", "update", "delete", "truncate" };
	sc_buf missing = SC_BUF_INIT;
	for (int k = 0; k < 4; k++)
		if (!sc_pg_get_bool(res, 0, 1 + k))
			sc_buf_printf(&missing, "%s%s", missing.len ? ", " : "", ops[k]);
	PQclear(res);

	PGresult *tabs = sc_pg_exec(pg,
		"SELECT format('%I.%I', n.nspname, c.relname), c.relreplident,"
		" EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary),"
		" EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisreplident),"
		" c.relrowsecurity, c.relforcerowsecurity, c.relowner = r.oid,"
		" r.rolsuper OR r.rolbypassrls, quote_ident(r.rolname)"
		" FROM pg_publication_tables pt"
		" JOIN pg_namespace n ON n.nspname = pt.schemaname"
		" JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = pt.tablename"
		" JOIN pg_roles r ON r.rolname = current_user"
		" WHERE pt.pubname = $1 ORDER BY 1", 1, p, err);
	if (!tabs) {
		sc_buf_free(&missing);
		free(qpub);
		return -1;
	}
	int ntab = PQntuples(tabs);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddBoolToObject(d, "all_tables", all_tables);
	cJSON_AddNumberToObject(d, "tables", ntab);
	sc_check_set_details(sc_report_add(r, "pg.publication", SC_CHECK_OK,
					   "publication %s exists (%s, %d tables)", name,
					   all_tables ? "FOR ALL TABLES" : "listed tables", ntab), d);

	sc_report_mark(r);
	if (missing.len) {
		sc_check *c = sc_report_add(r, "pg.publication.operations", SC_CHECK_FAIL,
					    "publication %s does not publish %s: those changes never reach clients",
					    name, missing.data);
		sc_check_set_hint(c, "ALTER PUBLICATION %s SET (publish = 'insert, update, delete, truncate');", qpub);
	} else {
		sc_report_add(r, "pg.publication.operations", SC_CHECK_OK,
			      "publishes insert, update, delete and truncate");
	}
	sc_buf_free(&missing);

	if (via_root) {
		sc_check *c = sc_report_add(r, "pg.publication.via_root", SC_CHECK_FAIL,
					    "publication %s uses publish_via_partition_root, which the sync service does not support",
					    name);
		sc_check_set_hint(c, "ALTER PUBLICATION %s SET (publish_via_partition_root = false);", qpub);
	} else {
		sc_report_add(r, "pg.publication.via_root", SC_CHECK_OK,
			      "publish_via_partition_root is off");
	}

	if (ntab == 0) {
		sc_check *c = sc_report_add(r, "pg.publication.tables", SC_CHECK_WARN,
					    "publication %s covers no tables", name);
		sc_check_set_hint(c, "ALTER PUBLICATION %s ADD TABLE your_table;", qpub);
	}

	sc_buf bad = SC_BUF_INIT, bad_hint = SC_BUF_INIT, rls = SC_BUF_INIT;
	cJSON *bad_list = cJSON_CreateArray(), *rls_list = cJSON_CreateArray();
	const char *role = ntab ? sc_pg_get(tabs, 0, 8) : NULL;
	for (int i = 0; i < ntab; i++) {
		const char *t = sc_pg_get(tabs, i, 0);
		char ident = sc_pg_get(tabs, i, 1)[0];
		bool has_pk = sc_pg_get_bool(tabs, i, 2), has_ri = sc_pg_get_bool(tabs, i, 3);
		bool usable = ident == 'f' || (ident == 'd' && has_pk) || (ident == 'i' && has_ri);
		if (!usable) {
			sc_buf_printf(&bad, "%s%s", bad.len ? ", " : "", t);
			sc_buf_printf(&bad_hint, "%sALTER TABLE %s ADD PRIMARY KEY (id);  -- or: ALTER TABLE %s REPLICA IDENTITY FULL;",
				      bad_hint.len ? "\n" : "", t, t);
			cJSON *o = cJSON_CreateObject();
			cJSON_AddStringToObject(o, "table", t);
			cJSON_AddStringToObject(o, "replica_identity",
						ident == 'n' ? "nothing" : ident == 'i' ? "index (missing)" : "default (no primary key)");
			cJSON_AddItemToArray(bad_list, o);
		}
		bool rls_on = sc_pg_get_bool(tabs, i, 4), forced = sc_pg_get_bool(tabs, i, 5);
		bool owner = sc_pg_get_bool(tabs, i, 6), bypass = sc_pg_get_bool(tabs, i, 7);
		if (rls_on && !bypass && (!owner || forced)) {
			sc_buf_printf(&rls, "%s%s", rls.len ? ", " : "", t);
			cJSON_AddItemToArray(rls_list, cJSON_CreateString(t));
		}
	}
	if (bad.len) {
		sc_check *c = sc_report_add(r, "pg.publication.replica_identity", SC_CHECK_FAIL,
					    "%d table(s) without a primary key or usable replica identity: %s (updates and deletes cannot be replicated)",
					    cJSON_GetArraySize(bad_list), bad.data);
		sc_check_set_hint(c, "%s", bad_hint.data);
		sc_check_set_details(c, bad_list);
	} else {
		cJSON_Delete(bad_list);
		if (ntab)
			sc_report_add(r, "pg.publication.replica_identity", SC_CHECK_OK,
				      "every published table has a primary key or replica identity");
	}
	if (rls.len) {
		sc_check *c = sc_report_add(r, "pg.publication.rls", SC_CHECK_WARN,
					    "row level security is on for %s and role %s lacks BYPASSRLS: their rows replicate as 0 rows, silently",
					    rls.data, role);
		sc_check_set_hint(c, "ALTER ROLE %s WITH BYPASSRLS;", role);
		sc_check_set_details(c, rls_list);
	} else {
		cJSON_Delete(rls_list);
	}
	sc_buf_free(&bad);
	sc_buf_free(&bad_hint);
	sc_buf_free(&rls);
	PQclear(tabs);

	if (check_lists(pg, r, name, qpub, writes, err) != 0) {
		free(qpub);
		return -1;
	}
	check_tables(pg, r, name, tables, ntables, qpub);
	free(qpub);
	return 0;
}
