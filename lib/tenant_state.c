/* tenant-sync state: what each database remembers of the last run, so the
 * next one reads only what changed and tells a one-sided change from a
 * conflict; the rows a run deleted, kept for --restore.
 *
 * Tables (schema syncctl, created on first use):
 *   tenant_sync_state            UNLOGGED; one row per peer database and
 *                                table: the run id (the same on both sides),
 *                                both identities, the table's OID, key and
 *                                scope, this side's snapshot at the start of
 *                                the run and the xids of its own writes.
 *   tenant_sync_keys_<id>        UNLOGGED; the keys both sides agreed on
 *                                after that run (the base of the three-way
 *                                merge), typed like the table's key.
 *   tenant_sync_unresolved_<id>  UNLOGGED; keys left unresolved (conflicts,
 *                                kept deletes) with the change flags the
 *                                next run carries over.
 *   deleted_rows                 an ordinary table (a crash must not lose
 *                                it): every row a run deleted, as JSON.
 * UNLOGGED tables are never published (a FOR ALL TABLES publication skips
 * them; ALTER PUBLICATION refuses them), so the sync service sees none of
 * the state; a crash or a restore from a base backup empties them and the
 * next run is stateless, which is safe. */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "tenant_int.h"
#include "util.h"

typedef ts_tab tab;
typedef ts_run run;

#define SIDE SC_TS_SIDE
#define qi sc_ts_qi

/* How far a recorded snapshot may fall behind: row xmins are 32-bit, and
 * age() compares them within 2^31 of now. */
#define HORIZON (2147483648ULL - 16777216ULL)

void sc_ts_free_ident(ts_ident *i)
{
	free(i->sysid);
	free(i->dboid);
	free(i->dbname);
	memset(i, 0, sizeof *i);
}

void sc_ts_free_prev(ts_prev *p)
{
	free(p->run_id);
	free(p->role);
	free(p->table_oid);
	free(p->key_columns);
	free(p->scope);
	free(p->snapshot);
	free(p->own);
	free(p->xip32);
	free(p->own32);
	sc_ts_free_ident(&p->self);
	sc_ts_free_ident(&p->peer);
	memset(p, 0, sizeof *p);
}

static char *dup_or_empty(const char *s)
{
	return sc_xstrdup(s ? s : "");
}

/* "syncctl tenant-sync PID@HOST": the lock message of a later run reads
 * it to tell a live run from the orphaned session of a killed one. */
char *sc_ts_app_name(void)
{
	char host[256] = "";
	if (gethostname(host, sizeof host - 1) != 0)
		host[0] = '\0';
	host[sizeof host - 1] = '\0';
	char *dot = strchr(host, '.');
	if (dot)
		*dot = '\0';
	char *s = sc_xasprintf("syncctl tenant-sync %ld@%.30s", (long)getpid(), host);
	return s;
}

int sc_ts_identify(run *R, int s)
{
	sc_pg *pg = R->pg[s];
	sc_error e;
	PGresult *r = sc_pg_exec(pg, "SELECT y.system_identifier::text, c.timeline_id, d.oid::text, d.datname"
				 " FROM pg_control_system() y, pg_control_checkpoint() c, pg_database d"
				 " WHERE d.datname = current_database()", 0, NULL, &e);
	if (!r) {
		if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
			*R->err = e;
			return -1;
		}
		R->state_why[s] = sc_xasprintf("its identity cannot be read (%s)", e.message);
		return 0;
	}
	ts_ident *id = &R->id[s];
	id->sysid = dup_or_empty(sc_pg_get(r, 0, 0));
	id->timeline = (int)sc_pg_get_ll(r, 0, 1, 0);
	id->dboid = dup_or_empty(sc_pg_get(r, 0, 2));
	id->dbname = dup_or_empty(sc_pg_get(r, 0, 3));
	PQclear(r);
	return 0;
}

static const char *const STATE_DDL[] = {
	"CREATE UNLOGGED TABLE syncctl.tenant_sync_state ("
	" id serial PRIMARY KEY, peer text NOT NULL, tbl text NOT NULL, run_id uuid NOT NULL, role text NOT NULL,"
	" self_sysid text NOT NULL, self_timeline int NOT NULL, self_dboid oid NOT NULL, self_dbname text NOT NULL,"
	" peer_sysid text NOT NULL, peer_timeline int NOT NULL, peer_dboid oid NOT NULL, peer_dbname text NOT NULL,"
	" peer_uri text NOT NULL, table_oid oid NOT NULL, key_columns text NOT NULL, scope text NOT NULL,"
	" snapshot text NOT NULL, own_xids text NOT NULL, verify_own boolean NOT NULL, base_rows bigint NOT NULL,"
	" direction text NOT NULL,"
	" recorded_at timestamptz NOT NULL DEFAULT now(), UNIQUE (peer, tbl))",
	"COMMENT ON TABLE syncctl.tenant_sync_state IS 'syncctl tenant-sync: what each run leaves for the next one"
	" (UNLOGGED: never published; a crash empties it and the next run is stateless). Reset: DELETE FROM it.'",
	NULL,
};

static const char *const KEEP_DDL[] = {
	"CREATE TABLE syncctl.deleted_rows (id bigserial PRIMARY KEY, run_id uuid NOT NULL,"
	" deleted_at timestamptz NOT NULL DEFAULT now(), table_schema text NOT NULL, table_name text NOT NULL,"
	" key_columns text[] NOT NULL, reason text NOT NULL, data jsonb NOT NULL)",
	"CREATE INDEX deleted_rows_run_id ON syncctl.deleted_rows (run_id)",
	"COMMENT ON TABLE syncctl.deleted_rows IS 'syncctl tenant-sync: every row a run deleted, each column as text;"
	" syncctl tenant-sync --restore RUN_ID puts a run''s rows back; pruned after --keep-deleted days'",
	NULL,
};

/* Runs DDL in its own transaction; false with the server's message. */
static bool create_all(sc_pg *pg, const char *const *ddl, char **why)
{
	sc_error e;
	if (sc_pg_command(pg, "BEGIN", 0, NULL, &e) != 0) {
		*why = sc_xstrdup(e.message);
		return false;
	}
	for (size_t i = 0; ddl[i]; i++)
		if (sc_pg_command(pg, ddl[i], 0, NULL, &e) != 0) {
			*why = sc_xstrdup(e.message);
			sc_pg_command(pg, "ROLLBACK", 0, NULL, &e);
			return false;
		}
	if (sc_pg_command(pg, "COMMIT", 0, NULL, &e) != 0) {
		*why = sc_xstrdup(e.message);
		return false;
	}
	return true;
}

/* Outside the run's transactions (a failed statement there must not
 * abort anything): are the tables there, may this role use them, and,
 * when the run writes, create what is missing. */
int sc_ts_state_setup(run *R, int s)
{
	sc_pg *pg = R->pg[s];
	if (R->state_why[s])
		return 0; /* no identity: no state */
	sc_error e;
	PGresult *r = sc_pg_exec(pg,
		"SELECT n.oid IS NOT NULL, coalesce(has_schema_privilege(n.oid, 'CREATE, USAGE'), false),"
		" to_regclass('syncctl.tenant_sync_state') IS NOT NULL, to_regclass('syncctl.deleted_rows') IS NOT NULL,"
		" coalesce(has_table_privilege(to_regclass('syncctl.tenant_sync_state'), 'SELECT, INSERT, UPDATE, DELETE'), false),"
		" coalesce(has_table_privilege(to_regclass('syncctl.deleted_rows'), 'SELECT, INSERT, DELETE'), false),"
		" coalesce(has_table_privilege(to_regclass('syncctl.tenant_sync_state'), 'SELECT'), false),"
		" has_database_privilege(current_database(), 'CREATE'), pg_is_in_recovery(),"
		" current_setting('transaction_read_only') = 'on'"
		" FROM (SELECT 1) x LEFT JOIN pg_namespace n ON n.nspname = 'syncctl'", 0, NULL, &e);
	if (!r) {
		*R->err = e;
		return -1;
	}
	bool schema = sc_pg_get_bool(r, 0, 0), schema_ok = sc_pg_get_bool(r, 0, 1);
	bool have_state = sc_pg_get_bool(r, 0, 2), have_keep = sc_pg_get_bool(r, 0, 3);
	bool state_rw = sc_pg_get_bool(r, 0, 4), keep_rw = sc_pg_get_bool(r, 0, 5), state_r = sc_pg_get_bool(r, 0, 6);
	bool db_create = sc_pg_get_bool(r, 0, 7), standby = sc_pg_get_bool(r, 0, 8), ro = sc_pg_get_bool(r, 0, 9);
	PQclear(r);
	if (R->o->dry_run) {
		/* Read, never created. */
		R->state_ok[s] = have_state && state_r;
		if (!R->state_ok[s])
			R->state_why[s] = sc_xstrdup(have_state ? "no SELECT on syncctl.tenant_sync_state" : "no state recorded yet");
		return 0;
	}
	if (standby || ro) {
		R->state_why[s] = sc_xstrdup(standby ? "it is a standby (read-only)" : "its sessions are read-only");
		return 0;
	}
	if (!schema && !db_create) {
		R->state_why[s] = sc_xstrdup("the role may not create schema syncctl");
		return 0;
	}
	if (!schema && !create_all(pg, (const char *const[]){ "CREATE SCHEMA syncctl", NULL }, &R->state_why[s]))
		return 0;
	if (schema && !schema_ok) {
		R->state_why[s] = sc_xstrdup("the role may not create tables in schema syncctl");
		return 0;
	}
	if (!have_state) {
		if (!create_all(pg, STATE_DDL, &R->state_why[s]))
			return 0;
		state_rw = true;
	}
	if (!have_keep) {
		if (!create_all(pg, KEEP_DDL, &R->state_why[s]))
			return 0;
		keep_rw = true;
	}
	if (!state_rw || !keep_rw) {
		R->state_why[s] = sc_xstrdup(!state_rw ? "the role may not write syncctl.tenant_sync_state"
						       : "the role may not write syncctl.deleted_rows");
		return 0;
	}
	R->state_ok[s] = R->keep_ok[s] = true;
	return 0;
}

static unsigned long long parse_xid(const char **p)
{
	char *end;
	unsigned long long v = strtoull(*p, &end, 10);
	*p = end;
	return v;
}

/* "xmin:xmax:xip,xip": false when malformed. */
static bool parse_snapshot(const char *text, unsigned long long *xmin, unsigned long long *xmax, sc_buf *xip32)
{
	const char *p = text;
	*xmin = parse_xid(&p);
	if (*p++ != ':')
		return false;
	*xmax = parse_xid(&p);
	if (*p++ != ':')
		return false;
	sc_buf_puts(xip32, "{");
	bool first = true;
	while (*p) {
		unsigned long long x = parse_xid(&p);
		sc_buf_printf(xip32, "%s%llu", first ? "" : ",", x & 0xffffffffULL);
		first = false;
		if (*p == ',')
			p++;
		else if (*p)
			return false;
	}
	sc_buf_puts(xip32, "}");
	return *xmin <= *xmax;
}

int sc_ts_snapshot(run *R, int s)
{
	sc_pg *pg = R->pg[s];
	PGresult *r = sc_pg_exec(pg, pg->server_version >= 130000 ? "SELECT pg_current_snapshot()::text"
								  : "SELECT txid_current_snapshot()::text", 0, NULL, R->err);
	if (!r)
		return -1;
	R->snapshot[s] = dup_or_empty(sc_pg_get(r, 0, 0));
	PQclear(r);
	unsigned long long xmin;
	sc_buf xip = SC_BUF_INIT;
	if (!parse_snapshot(R->snapshot[s], &xmin, &R->xmax_now[s], &xip)) {
		sc_buf_free(&xip);
		sc_error_set(R->err, SC_EXIT_FAILED, "%s gave a snapshot syncctl cannot read: %s", pg->display, R->snapshot[s]);
		return -1;
	}
	sc_buf_free(&xip);
	return 0;
}

static char *peer_key(const ts_ident *id)
{
	return sc_xasprintf("%s/%s", id->sysid ? id->sysid : "", id->dbname ? id->dbname : "");
}

static int read_prev(run *R, tab *t, int s)
{
	sc_pg *pg = R->pg[s];
	ts_prev *p = &t->prev[s];
	char *peer = peer_key(&R->id[!s]);
	const char *params[] = { peer, t->s[s].qt };
	PGresult *r = sc_pg_exec(pg,
		"SELECT s.id, s.run_id::text, s.role, s.self_sysid, s.self_timeline, s.self_dboid::text, s.self_dbname,"
		" s.peer_sysid, s.peer_timeline, s.peer_dboid::text, s.peer_dbname, s.table_oid::text, s.key_columns,"
		" s.scope, s.snapshot, s.own_xids, s.base_rows, s.verify_own,"
		" to_regclass(format('syncctl.tenant_sync_keys_%s', s.id)) IS NOT NULL"
		" AND to_regclass(format('syncctl.tenant_sync_unresolved_%s', s.id)) IS NOT NULL"
		" FROM syncctl.tenant_sync_state s WHERE s.peer = $1 AND s.tbl = $2", 2, params, R->err);
	free(peer);
	if (!r)
		return -1;
	if (PQntuples(r) == 1) {
		p->found = true;
		p->id = sc_pg_get_ll(r, 0, 0, 0);
		p->run_id = dup_or_empty(sc_pg_get(r, 0, 1));
		p->role = dup_or_empty(sc_pg_get(r, 0, 2));
		p->self.sysid = dup_or_empty(sc_pg_get(r, 0, 3));
		p->self.timeline = (int)sc_pg_get_ll(r, 0, 4, 0);
		p->self.dboid = dup_or_empty(sc_pg_get(r, 0, 5));
		p->self.dbname = dup_or_empty(sc_pg_get(r, 0, 6));
		p->peer.sysid = dup_or_empty(sc_pg_get(r, 0, 7));
		p->peer.timeline = (int)sc_pg_get_ll(r, 0, 8, 0);
		p->peer.dboid = dup_or_empty(sc_pg_get(r, 0, 9));
		p->peer.dbname = dup_or_empty(sc_pg_get(r, 0, 10));
		p->table_oid = dup_or_empty(sc_pg_get(r, 0, 11));
		p->key_columns = dup_or_empty(sc_pg_get(r, 0, 12));
		p->scope = dup_or_empty(sc_pg_get(r, 0, 13));
		p->snapshot = dup_or_empty(sc_pg_get(r, 0, 14));
		p->own = dup_or_empty(sc_pg_get(r, 0, 15));
		p->base_rows = sc_pg_get_ll(r, 0, 16, 0);
		p->verify_own = sc_pg_get_bool(r, 0, 17);
		p->tables_ok = sc_pg_get_bool(r, 0, 18);
	}
	PQclear(r);
	return 0;
}

/* Why a recorded identity is not the database's own, or NULL. */
static const char *ident_differs(const ts_ident *rec, const ts_ident *now)
{
	if (strcmp(rec->sysid, now->sysid) != 0)
		return "another cluster (its system identifier changed: restored into a new cluster, or pg_upgrade)";
	if (strcmp(rec->dbname, now->dbname) != 0)
		return "another database (renamed)";
	if (strcmp(rec->dboid, now->dboid) != 0)
		return "re-created (its database OID changed: restored from a dump?)";
	if (rec->timeline != now->timeline)
		return "on a new timeline (promoted, or recovered to a point in time)";
	return NULL;
}

static void stateless(tab *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void stateless(tab *t, const char *fmt, ...)
{
	char line[512];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	t->stateful = false;
	free(t->mode_reason);
	t->mode_reason = sc_xstrdup(line);
}

/* The 32-bit forms of the recorded xids, and their ages now (age() in
 * this transaction, whose reference stays fixed: the classification's
 * ages are comparable with these). */
static int derive(run *R, tab *t, int s)
{
	ts_prev *p = &t->prev[s];
	sc_buf xip = SC_BUF_INIT;
	if (!parse_snapshot(p->snapshot, &p->xmin, &p->xmax, &xip)) {
		sc_buf_free(&xip);
		stateless(t, "the %s record's snapshot is unreadable", SIDE[s]);
		return 0;
	}
	p->xip32 = sc_buf_take(&xip);
	sc_buf own = SC_BUF_INIT;
	sc_buf_puts(&own, "{");
	const char *q = p->own;
	for (bool first = true; *q; first = false) {
		unsigned long long x = parse_xid(&q);
		sc_buf_printf(&own, "%s%llu", first ? "" : ",", x & 0xffffffffULL);
		if (*q == ',')
			q++;
		else
			break;
	}
	sc_buf_puts(&own, "}");
	p->own32 = sc_buf_take(&own);
	if (R->xmax_now[s] < p->xmax) {
		stateless(t, "the transaction counter of the %s database went back since the last sync "
			  "(restored from a file-level copy?)", SIDE[s]);
		return 0;
	}
	if (R->xmax_now[s] - p->xmin > HORIZON) {
		stateless(t, "over two billion transactions on the %s database since the last sync: row xmins (32-bit) "
			  "can no longer be compared with its snapshot", SIDE[s]);
		return 0;
	}
	char a[24], b[24];
	snprintf(a, sizeof a, "%llu", p->xmin & 0xffffffffULL);
	snprintf(b, sizeof b, "%llu", p->xmax & 0xffffffffULL);
	const char *params[] = { a, b };
	PGresult *r = sc_pg_exec(R->pg[s], "SELECT age($1::xid), age($2::xid)", 2, params, R->err);
	if (!r)
		return -1;
	p->age_xmin = (int)sc_pg_get_ll(r, 0, 0, -1);
	p->age_xmax = (int)sc_pg_get_ll(r, 0, 1, -1);
	PQclear(r);
	if (p->age_xmin < 0 || p->age_xmax < 0 || p->age_xmax > p->age_xmin) {
		stateless(t, "the %s record's snapshot is not in the past of the database (xid wraparound?)", SIDE[s]);
		return 0;
	}
	return 0;
}

int sc_ts_state_read(run *R, tab *t)
{
	const sc_ts_opts *o = R->o;
	t->stateful = false;
	if (o->full) {
		stateless(t, "--full");
		return 0;
	}
	for (int s = 0; s < 2; s++)
		if (!R->state_ok[s]) {
			stateless(t, "the %s database holds no state: %s", SIDE[s], R->state_why[s] ? R->state_why[s] : "unknown");
			return 0;
		}
	for (int s = 0; s < 2; s++)
		if (read_prev(R, t, s) != 0)
			return -1;
	ts_prev *l = &t->prev[0], *r = &t->prev[1];
	if (!l->found && !r->found) {
		stateless(t, "first sync of %s between these databases (no state recorded yet)", t->name);
		return 0;
	}
	for (int s = 0; s < 2; s++)
		if (!t->prev[s].found) {
			stateless(t, "the %s database has no record of the last sync of %s (reset, lost in a crash, or a "
				  "run ended between its two commits)", SIDE[s], t->name);
			return 0;
		}
	if (strcmp(l->run_id, r->run_id) != 0) {
		stateless(t, "the two databases recorded different runs for %s (a run ended between its two commits?)", t->name);
		return 0;
	}
	if (strcmp(l->role, "local") != 0 || strcmp(r->role, "remote") != 0) {
		stateless(t, "--local and --remote are the other way round than in the last sync");
		return 0;
	}
	for (int s = 0; s < 2; s++) {
		const char *why = ident_differs(&t->prev[s].self, &R->id[s]);
		if (!why)
			why = ident_differs(&t->prev[!s].peer, &R->id[s]);
		if (why) {
			stateless(t, "the %s database is not the one of the last sync: %s", SIDE[s], why);
			return 0;
		}
	}
	for (int s = 0; s < 2; s++) {
		const ts_prev *p = &t->prev[s];
		if (strcmp(p->table_oid, t->s[s].oid) != 0) {
			stateless(t, "table %s was re-created on the %s database since the last sync (its OID changed: restored?)",
				  t->name, SIDE[s]);
			return 0;
		}
		if (strcmp(p->key_columns, t->key_text) != 0) {
			stateless(t, "the key of %s changed since the last sync", t->name);
			return 0;
		}
		if (strcmp(p->scope, t->scope_text) != 0) {
			stateless(t, "the scope (--tenant, --tenant-column) differs from the last sync's");
			return 0;
		}
		if (!p->tables_ok) {
			stateless(t, "the state's key tables for %s are missing on the %s database", t->name, SIDE[s]);
			return 0;
		}
	}
	t->stateful = true;
	for (int s = 0; s < 2 && t->stateful; s++)
		if (derive(R, t, s) != 0)
			return -1;
	return 0;
}

/* 0: unchanged since the recorded snapshot (committed before it, or older
 * than its horizon: frozen rows keep their xmin, and ancient ones fall
 * outside the window); 1: written by the last run itself, to be compared
 * (0 when nothing on that side could have altered what it wrote: no
 * triggers or rules on the synced tables); 2: changed. */
char *sc_ts_cls_sql(void)
{
	/* The usual row, older than the recorded snapshot, is decided by the
	 * first comparison: one age() instead of the two NOT BETWEEN takes
	 * (the scan of a million rows 120 ms instead of 220). */
	return sc_xstrdup("CASE WHEN age(t.xmin) > $1::int OR age(t.xmin) < 0 THEN 0"
			  " WHEN t.xmin = ANY($4::xid[]) THEN $5::int"
			  " WHEN age(t.xmin) > $2::int AND t.xmin <> ALL($3::xid[]) THEN 0 ELSE 2 END");
}

void sc_ts_cls_params(const ts_prev *p, char buf[2][16], const char *out[5])
{
	snprintf(buf[0], 16, "%d", p->age_xmin);
	snprintf(buf[1], 16, "%d", p->age_xmax);
	out[0] = buf[0];
	out[1] = buf[1];
	out[2] = p->xip32;
	out[3] = p->own32;
	out[4] = p->verify_own ? "1" : "0";
}

/* Sends each side its statement (a side whose sql is NULL is left out)
 * and waits for both: the servers work at once. 0, or -1 with R->err set
 * by the first that failed (the other is still waited for). */
int sc_ts_both_exec(run *R, char *const sql[2], const char *const *params[2], int nparams, PGresult *out[2])
{
	out[0] = out[1] = NULL;
	bool sent[2] = { false, false };
	int rc = 0;
	for (int s = 0; s < 2 && rc == 0; s++) {
		if (!sql[s])
			continue;
		sc_pg *pg = R->pg[s];
		int keep = pg->timeout_s;
		pg->timeout_s = 0;
		rc = sc_pg_send(pg, sql[s], nparams, params ? params[s] : NULL, R->err);
		pg->timeout_s = keep;
		sent[s] = rc == 0;
	}
	for (int s = 0; s < 2; s++) {
		if (!sent[s])
			continue;
		sc_pg *pg = R->pg[s];
		int keep = pg->timeout_s;
		pg->timeout_s = 0;
		sc_error e;
		out[s] = sc_pg_wait(pg, rc == 0 ? R->err : &e);
		pg->timeout_s = keep;
		if (!out[s])
			rc = -1;
	}
	if (rc != 0) {
		PQclear(out[0]);
		PQclear(out[1]);
		out[0] = out[1] = NULL;
	}
	return rc;
}

/* Planner settings for the stateful statements, local to the run's
 * transaction and put back after each (SC_TS_PLAN_DEFAULT).
 *
 * SC_TS_PLAN_SCAN, for the scan that finds the changed rows and counts the
 * rows in scope: no index-only scan for the count. It is chosen from the
 * visibility map's state at the last VACUUM, but every run's own writes
 * (and the application's) clear it page by page, and then it fetches the
 * heap row by row: 830 ms for a million rows after one 1% run, where the
 * sequential scan takes 120 ms (160 with the map fresh).
 *
 * SC_TS_PLAN_PROBE, for a few changed keys. The planner joins a few
 * thousand of them with a table of a million rows (and with the base's
 * key table) by hashing the whole big side: at 1,000,000 rows with 1%
 * changed on each side, the base check took 600 ms and the stream's query
 * 1,050 ms that way, 60 and 430 ms through the indexes. The key tables are
 * UNLOGGED and rewritten each run, so their visibility map is rarely set
 * and an index-only scan is costed with a heap fetch per row;
 * random_page_cost 4 does the rest. Joins are forced through indexes only
 * for a primary key: a --key column may have no index, and a nested loop
 * without one would scan the table once per key. The keys are made
 * unique by sorting, not hashing, so the probes go in key order (the
 * stream's query 265 ms instead of 370). And no JIT: compiling the
 * stream's row hash cost 130 ms of its 490. */
int sc_ts_plan(run *R, int how)
{
	const char *sql;
	if (how == SC_TS_PLAN_SCAN)
		sql = "SELECT set_config('enable_indexonlyscan', 'off', true)";
	else if (how == SC_TS_PLAN_PROBE)
		sql = R->o->nkey ? "SELECT set_config('jit', 'off', true), set_config('enable_hashagg', 'off', true)"
				 : "SELECT set_config('jit', 'off', true), set_config('enable_hashagg', 'off', true),"
				   " set_config('enable_hashjoin', 'off', true), set_config('enable_mergejoin', 'off', true)";
	else
		sql = "SELECT set_config(name, reset_val, true) FROM pg_settings WHERE name IN"
		      " ('jit', 'enable_hashagg', 'enable_hashjoin', 'enable_mergejoin', 'enable_indexonlyscan')";
	for (int s = 0; s < 2; s++)
		if (sc_pg_command(R->pg[s], sql, 0, NULL, R->err) != 0)
			return -1;
	return 0;
}

/* sc_ts_both_exec under the planner settings `how`, then the session's
 * again. */
static int both_exec_planned(run *R, int how, char *const sql[2], const char *const *params[2], int nparams,
			     PGresult *res[2])
{
	res[0] = res[1] = NULL;
	if (sc_ts_plan(R, how) != 0 || sc_ts_both_exec(R, sql, params, nparams, res) != 0)
		return -1;
	if (sc_ts_plan(R, SC_TS_PLAN_DEFAULT) != 0) {
		PQclear(res[0]);
		PQclear(res[1]);
		res[0] = res[1] = NULL;
		return -1;
	}
	return 0;
}

int sc_ts_analyze_keys(run *R, int s, char set, int index)
{
	char *an = sc_xasprintf("ANALYZE pg_temp.sc_%c_%d", set, index);
	int rc = sc_pg_command(R->pg[s], an, 0, NULL, R->err);
	free(an);
	return rc;
}

int sc_ts_changed_keys(run *R, tab *t, long long n[2])
{
	char *q1[2], *q2[2], *q3[2];
	char ages[2][2][16];
	const char *cp[2][5];
	const char *const *params[2];
	long long deleted[2];
	char *kn = sc_ts_knames(t, "");
	char *cls = sc_ts_cls_sql();
	/* Past a quarter of the rows, the keys are not collected: the run
	 * reads every row (sc_ts_full). */
	long long cap = t->prev[0].base_rows / 4;
	if (cap < 10000)
		cap = 10000;
	if (getenv("SYNCCTL_TEST_FULL")) /* test-only: the tests run both ways on small tables */
		cap = 0;
	t->full = false;
	for (int s = 0; s < 2; s++) {
		sc_pg *pg = R->pg[s];
		long long id = t->prev[s].id;
		char *kc = sc_ts_key_cols(t, pg, "t.");
		char *mu = sc_ts_kmatch(t, pg, "t", "u"), *mb = sc_ts_kmatch(t, pg, "t", "b");
		char *iu = sc_ts_kkmatch(t, "i", "u"), *ib = sc_ts_kkmatch(t, "i", "b");
		char *ub = sc_ts_kkmatch(t, "u", "b");
		char *bk = sc_ts_knames(t, "b.");
		/* Every row's xmin is looked at (the scan costs what reading the
		 * table costs); only the keys of changed rows are kept. */
		q1[s] = sc_xasprintf("WITH ins AS (INSERT INTO pg_temp.sc_i_%d (%s) SELECT %s FROM %s t WHERE %s <> 0%s LIMIT %lld"
				     " RETURNING 1) SELECT (SELECT count(*) FROM ins), (SELECT count(*) FROM %s t%s)",
				     t->index, kn, kc, t->s[s].qt, cls, t->scope_and, cap, t->s[s].qt, t->scope);
		/* The counts that tell whether keys of the base are gone. */
		q2[s] = sc_xasprintf("SELECT (SELECT count(*) FROM pg_temp.sc_i_%d i WHERE NOT EXISTS"
				     " (SELECT 1 FROM syncctl.tenant_sync_unresolved_%lld u WHERE %s) AND NOT EXISTS"
				     " (SELECT 1 FROM syncctl.tenant_sync_keys_%lld b WHERE %s)),"
				     " (SELECT count(*) FROM syncctl.tenant_sync_unresolved_%lld u JOIN %s t ON %s%s),"
				     " (SELECT count(*) FROM syncctl.tenant_sync_unresolved_%lld u JOIN syncctl.tenant_sync_keys_%lld b ON %s),"
				     " (SELECT count(*) FROM syncctl.tenant_sync_unresolved_%lld)",
				     t->index, id, iu, id, ib, id, t->s[s].qt, mu, t->scope_and, id, id, ub, id);
		q3[s] = sc_xasprintf("INSERT INTO pg_temp.sc_i_%d (%s) SELECT %s FROM syncctl.tenant_sync_keys_%lld b"
				     " WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE %s%s)"
				     " AND NOT EXISTS (SELECT 1 FROM syncctl.tenant_sync_unresolved_%lld u WHERE %s)",
				     t->index, kn, bk, id, t->s[s].qt, mb, t->scope_and, id, ub);
		free(kc);
		free(mu);
		free(mb);
		free(iu);
		free(ib);
		free(ub);
		free(bk);
		sc_ts_cls_params(&t->prev[s], ages[s], cp[s]);
		params[s] = cp[s];
	}
	free(kn);
	free(cls);
	PGresult *res[2] = { NULL, NULL };
	int rc = -1;
	if (both_exec_planned(R, SC_TS_PLAN_SCAN, q1, params, 5, res) != 0)
		goto out;
	long long ins[2];
	for (int s = 0; s < 2; s++) {
		ins[s] = sc_pg_get_ll(res[s], 0, 0, 0);
		t->rows[s] = sc_pg_get_ll(res[s], 0, 1, 0);
		PQclear(res[s]);
	}
	if (ins[0] >= cap || ins[1] >= cap) {
		t->full = true;
		sc_log_verbose("%s: over %lld rows changed on a side: every row is read", t->name, cap);
		n[0] = n[1] = 0;
		rc = 0;
		goto out;
	}
	/* Statistics for the joins below and the stream (few keys, or many). */
	for (int s = 0; s < 2; s++)
		if (ins[s] && sc_ts_analyze_keys(R, s, 'i', t->index) != 0)
			goto out;
	const char *const *none[2] = { NULL, NULL };
	if (both_exec_planned(R, SC_TS_PLAN_PROBE, q2, none, 0, res) != 0)
		goto out;
	for (int s = 0; s < 2; s++) {
		long long iv = sc_pg_get_ll(res[s], 0, 0, 0), upresent = sc_pg_get_ll(res[s], 0, 1, 0);
		long long uk = sc_pg_get_ll(res[s], 0, 2, 0);
		long long nu = sc_pg_get_ll(res[s], 0, 3, 0);
		if (!s || nu > t->nunres)
			t->nunres = nu;
		PQclear(res[s]);
		/* Keys of the base (outside the unresolved ones) still here: the
		 * rows unchanged since the last sync (every one of them is in the
		 * base) and the changed ones that are in it. */
		long long present = t->rows[s] - upresent - iv;
		deleted[s] = (t->prev[s].base_rows - uk) - present;
		sc_log_verbose("%s on %s: %lld rows, %lld changed or written by the last run, %lld keys of the base gone",
			       t->name, SIDE[s], t->rows[s], ins[s], deleted[s]);
	}
	/* Only when keys of the base are gone: which ones (an anti-join of the
	 * base and the table's key). */
	for (int s = 0; s < 2; s++) {
		n[s] = ins[s];
		if (!deleted[s])
			continue;
		long long found = sc_ts_data_command(R->pg[s], q3[s], 0, NULL, R->err);
		if (found < 0)
			goto out;
		if (found != deleted[s]) {
			sc_log_verbose("%s on %s: the base's count was off by %lld; it is counted again", t->name, SIDE[s],
				       deleted[s] - found);
			t->recount = true;
		}
		n[s] += found;
	}
	for (int s = 0; s < 2; s++)
		if (n[s] != ins[s] && sc_ts_analyze_keys(R, s, 'i', t->index) != 0)
			goto out;
	rc = 0;
out:
	for (int s = 0; s < 2; s++) {
		free(q1[s]);
		free(q2[s]);
		free(q3[s]);
	}
	return rc;
}

/* The xids of this side's own writes: the transaction's, and those of
 * subtransactions a trigger opened while the run wrote (their rows carry
 * them instead), found among the rows the run wrote. */
static char *own_xids(run *R, int s)
{
	sc_pg *pg = R->pg[s];
	PGresult *r = sc_pg_exec(pg, pg->server_version >= 130000 ? "SELECT pg_current_xact_id()::text"
								  : "SELECT txid_current()::text", 0, NULL, R->err);
	if (!r)
		return NULL;
	unsigned long long top = strtoull(sc_pg_get(r, 0, 0) ? sc_pg_get(r, 0, 0) : "0", NULL, 10);
	PQclear(r);
	sc_buf b = SC_BUF_INIT;
	sc_buf_printf(&b, "%llu", top);
	char top32[24];
	snprintf(top32, sizeof top32, "%llu", top & 0xffffffffULL);
	for (size_t k = 0; k < R->ntabs; k++) {
		tab *t = &R->tabs[k];
		const long long *n = t->out->n[!s];
		if (!t->s[s].altered || !(t->out->direct[!s] || n[SC_TS_INS] || n[SC_TS_UPD]))
			continue;
		char *sql;
		if (t->out->direct[!s]) {
			/* The target had no rows in scope: every row there now is the run's. */
			sql = sc_xasprintf("SELECT DISTINCT t.xmin::text FROM %s t WHERE t.xmin <> $1::xid%s", t->s[s].qt, t->scope_and);
		} else {
			char *mi = sc_ts_key_match(t, pg, "t", "i"), *mu = sc_ts_key_match(t, pg, "t", "u");
			sql = sc_xasprintf("SELECT DISTINCT t.xmin::text FROM %s t WHERE t.xmin <> $1::xid AND (EXISTS"
					   " (SELECT 1 FROM pg_temp.sc_di_%d i WHERE %s) OR EXISTS (SELECT 1 FROM pg_temp.sc_du_%d u WHERE %s))",
					   t->s[s].qt, t->index, mi, t->index, mu);
			free(mi);
			free(mu);
		}
		const char *p[] = { top32 };
		r = sc_ts_data_exec(pg, sql, 1, p, R->err);
		free(sql);
		if (!r) {
			sc_buf_free(&b);
			return NULL;
		}
		for (int i = 0; i < PQntuples(r); i++) {
			unsigned long long x = strtoull(sc_pg_get(r, i, 0), NULL, 10);
			/* A subtransaction's xid comes after its parent's. */
			unsigned long long full = top + ((x - (top & 0xffffffffULL)) & 0xffffffffULL);
			sc_buf_printf(&b, ",%llu", full);
		}
		PQclear(r);
	}
	return sc_buf_take(&b);
}

static long long command(run *R, int s, const char *sql, int n, const char *const *p)
{
	return sc_ts_data_command(R->pg[s], sql, n, p, R->err);
}

/* The base and the unresolved keys of table t on side s after this run. */
static int write_keys(run *R, tab *t, int s, long long id)
{
	sc_pg *pg = R->pg[s];
	long long base = t->stateful ? t->prev[s].base_rows : 0;
	char *kn = sc_ts_knames(t, "");
	char *dkn = sc_ts_knames(t, "d.");
	int rc = -1;
	if (!t->stateful) {
		/* Rebuilt: the keys this side has now (after the run's writes, as
		 * this transaction sees them); the decisions then take out what
		 * the other side does not have. */
		sc_buf kk = SC_BUF_INIT;
		for (size_t i = 0; i < t->nkeys; i++) {
			char *c = qi(pg, t->cols[t->keys[i]]->name);
			sc_buf_printf(&kk, "%st.%s AS k%zu", i ? ", " : "", c, i + 1);
			free(c);
		}
		char *drop = sc_xasprintf("DROP TABLE IF EXISTS syncctl.tenant_sync_keys_%lld, syncctl.tenant_sync_unresolved_%lld", id, id);
		char *ctas = sc_xasprintf("CREATE UNLOGGED TABLE syncctl.tenant_sync_keys_%lld AS SELECT %s FROM %s t%s",
					  id, kk.data, t->s[s].qt, t->scope);
		char *pk = sc_xasprintf("ALTER TABLE syncctl.tenant_sync_keys_%lld ADD PRIMARY KEY (%s)", id, kn);
		char *un = sc_xasprintf("CREATE UNLOGGED TABLE syncctl.tenant_sync_unresolved_%lld AS SELECT %s, NULL::bool AS ul,"
					" NULL::bool AS ur FROM syncctl.tenant_sync_keys_%lld WITH NO DATA", id, kn, id);
		char *upk = sc_xasprintf("ALTER TABLE syncctl.tenant_sync_unresolved_%lld ADD PRIMARY KEY (%s)", id, kn);
		char *an = sc_xasprintf("ANALYZE syncctl.tenant_sync_keys_%lld", id);
		sc_buf_free(&kk);
		bool ok = command(R, s, drop, 0, NULL) >= 0 && (base = command(R, s, ctas, 0, NULL)) >= 0 &&
			  command(R, s, pk, 0, NULL) >= 0 && command(R, s, un, 0, NULL) >= 0 &&
			  command(R, s, upk, 0, NULL) >= 0 && command(R, s, an, 0, NULL) >= 0;
		free(drop);
		free(ctas);
		free(pk);
		free(un);
		free(upk);
		free(an);
		if (!ok)
			goto out;
	}
	if (t->ndec) {
		char *in = sc_xasprintf("COPY pg_temp.sc_dec_%d (%s, inb, ul, ur) FROM STDIN", t->index, kn);
		int crc = sc_ts_copy_file_in(R, pg, in, t->fdec);
		free(in);
		if (crc != 0)
			goto out;
		char *bd = sc_ts_kkmatch(t, "b", "d"), *ud = sc_ts_kkmatch(t, "u", "d");
		char *del = sc_xasprintf("DELETE FROM syncctl.tenant_sync_keys_%lld b USING pg_temp.sc_dec_%d d WHERE %s AND NOT d.inb",
					 id, t->index, bd);
		char *ins = sc_xasprintf("INSERT INTO syncctl.tenant_sync_keys_%lld (%s) SELECT %s FROM pg_temp.sc_dec_%d d"
					 " WHERE d.inb ON CONFLICT DO NOTHING", id, kn, dkn, t->index);
		char *udel = sc_xasprintf("DELETE FROM syncctl.tenant_sync_unresolved_%lld u USING pg_temp.sc_dec_%d d WHERE %s",
					  id, t->index, ud);
		char *uins = sc_xasprintf("INSERT INTO syncctl.tenant_sync_unresolved_%lld (%s, ul, ur) SELECT %s, d.ul, d.ur"
					  " FROM pg_temp.sc_dec_%d d WHERE d.ul IS NOT NULL", id, kn, dkn, t->index);
		long long nd = command(R, s, del, 0, NULL), ni = nd < 0 ? -1 : command(R, s, ins, 0, NULL);
		bool ok = nd >= 0 && ni >= 0 && command(R, s, udel, 0, NULL) >= 0 && command(R, s, uins, 0, NULL) >= 0;
		free(bd);
		free(ud);
		free(del);
		free(ins);
		free(udel);
		free(uins);
		if (!ok)
			goto out;
		base += ni - nd;
	}
	if (t->recount) {
		char *sql = sc_xasprintf("SELECT count(*) FROM syncctl.tenant_sync_keys_%lld", id);
		PGresult *r = sc_ts_data_exec(pg, sql, 0, NULL, R->err);
		free(sql);
		if (!r)
			goto out;
		base = sc_pg_get_ll(r, 0, 0, 0);
		PQclear(r);
	}
	t->base_rows = base;
	rc = 0;
out:
	free(kn);
	free(dkn);
	return rc;
}

int sc_ts_state_write(run *R, int s)
{
	sc_pg *pg = R->pg[s];
	char *own = own_xids(R, s);
	if (!own)
		return -1;
	static const char *const dirs[] = { "to-remote", "to-local", "both" };
	char *peer = peer_key(&R->id[!s]);
	char tl[2][16];
	snprintf(tl[0], sizeof tl[0], "%d", R->id[s].timeline);
	snprintf(tl[1], sizeof tl[1], "%d", R->id[!s].timeline);
	int rc = -1;
	for (size_t k = 0; k < R->ntabs; k++) {
		tab *t = &R->tabs[R->order[k]];
		const char *p[] = { peer, t->s[s].qt, R->run_id, SIDE[s], R->id[s].sysid, tl[0], R->id[s].dboid,
				    R->id[s].dbname, R->id[!s].sysid, tl[1], R->id[!s].dboid, R->id[!s].dbname,
				    R->pg[!s]->display, t->s[s].oid, t->key_text, t->scope_text, R->snapshot[s], own,
				    dirs[R->o->direction], R->altered[s] ? "true" : "false" };
		PGresult *r = sc_pg_exec(pg,
			"INSERT INTO syncctl.tenant_sync_state AS s (peer, tbl, run_id, role, self_sysid, self_timeline,"
			" self_dboid, self_dbname, peer_sysid, peer_timeline, peer_dboid, peer_dbname, peer_uri, table_oid,"
			" key_columns, scope, snapshot, own_xids, verify_own, base_rows, direction)"
			" VALUES ($1, $2, $3::uuid, $4, $5, $6::int, $7::oid, $8, $9, $10::int, $11::oid, $12, $13, $14::oid,"
			" $15, $16, $17, $18, $20::boolean, 0, $19)"
			" ON CONFLICT (peer, tbl) DO UPDATE SET run_id = EXCLUDED.run_id, role = EXCLUDED.role,"
			" self_sysid = EXCLUDED.self_sysid, self_timeline = EXCLUDED.self_timeline, self_dboid = EXCLUDED.self_dboid,"
			" self_dbname = EXCLUDED.self_dbname, peer_sysid = EXCLUDED.peer_sysid, peer_timeline = EXCLUDED.peer_timeline,"
			" peer_dboid = EXCLUDED.peer_dboid, peer_dbname = EXCLUDED.peer_dbname, peer_uri = EXCLUDED.peer_uri,"
			" table_oid = EXCLUDED.table_oid, key_columns = EXCLUDED.key_columns, scope = EXCLUDED.scope,"
			" snapshot = EXCLUDED.snapshot, own_xids = EXCLUDED.own_xids, verify_own = EXCLUDED.verify_own,"
			" direction = EXCLUDED.direction, recorded_at = now() RETURNING s.id", 20, p, R->err);
		if (!r)
			goto out;
		long long id = sc_pg_get_ll(r, 0, 0, 0);
		PQclear(r);
		if (t->stateful && id != t->prev[s].id) {
			sc_error_set(R->err, SC_EXIT_FAILED, "%s: the state record of %s changed during the run", t->name, SIDE[s]);
			goto out;
		}
		if (write_keys(R, t, s, id) != 0)
			goto out;
		char ids[24], base[24];
		snprintf(ids, sizeof ids, "%lld", id);
		snprintf(base, sizeof base, "%lld", t->base_rows);
		const char *p2[] = { ids, base };
		if (sc_pg_command(pg, "UPDATE syncctl.tenant_sync_state SET base_rows = $2::bigint WHERE id = $1::int", 2, p2,
				  R->err) != 0)
			goto out;
		t->state_id[s] = id;
	}
	/* Key tables of records that are gone (a record deleted by hand to
	 * reset it). */
	PGresult *r = sc_pg_exec(pg,
		"SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
		" WHERE n.nspname = 'syncctl' AND c.relkind = 'r' AND c.relname ~ '^tenant_sync_(keys|unresolved)_[0-9]+$'"
		" AND NOT EXISTS (SELECT 1 FROM syncctl.tenant_sync_state s"
		" WHERE s.id::text = substring(c.relname from '[0-9]+$'))", 0, NULL, R->err);
	if (!r)
		goto out;
	for (int i = 0; i < PQntuples(r); i++) {
		char *sql = sc_xasprintf("DROP TABLE %s", sc_pg_get(r, i, 0));
		int drc = sc_pg_command(pg, sql, 0, NULL, R->err);
		free(sql);
		if (drc != 0) {
			PQclear(r);
			goto out;
		}
	}
	PQclear(r);
	rc = 0;
out:
	free(own);
	free(peer);
	return rc;
}

/* A JSON array of strings, for a text[] parameter ($N: json). */
static char *json_names(const tab *t, bool keys_only)
{
	cJSON *a = cJSON_CreateArray();
	size_t n = keys_only ? t->nkeys : t->ncols;
	for (size_t i = 0; i < n; i++)
		cJSON_AddItemToArray(a, cJSON_CreateString(t->cols[keys_only ? t->keys[i] : i]->name));
	char *s = cJSON_PrintUnformatted(a);
	cJSON_Delete(a);
	return s;
}

/* What --keep-deleted no longer keeps (a run that writes there). */
int sc_ts_prune(run *R, int s)
{
	char days[16];
	snprintf(days, sizeof days, "%d", R->o->keep_deleted_days);
	const char *pd[] = { days };
	return sc_ts_data_command(R->pg[s], "DELETE FROM syncctl.deleted_rows"
				  " WHERE deleted_at < now() - make_interval(days => $1::int)", 1, pd, R->err) < 0 ? -1 : 0;
}

long long sc_ts_delete_keeping(run *R, tab *t, int to)
{
	sc_pg *pg = R->pg[to];
	char *m = sc_ts_key_match(t, pg, "t", "k");
	sc_buf vals = SC_BUF_INIT;
	for (size_t i = 0; i < t->ncols; i++) {
		char *q = qi(pg, t->cols[i]->name);
		sc_buf_printf(&vals, "%sd.%s::text", i ? ", " : "", q);
		free(q);
	}
	char *sql = sc_xasprintf(
		"WITH d AS (DELETE FROM %s t USING pg_temp.sc_kd_%d k WHERE %s RETURNING %s)"
		" INSERT INTO syncctl.deleted_rows (run_id, table_schema, table_name, key_columns, reason, data)"
		" SELECT $1::uuid, c.nspname, c.relname, ARRAY(SELECT json_array_elements_text($3::json)), $4,"
		" json_object(ARRAY(SELECT json_array_elements_text($5::json)), ARRAY[%s])::jsonb"
		" FROM d, (SELECT n.nspname, r.relname FROM pg_class r JOIN pg_namespace n ON n.oid = r.relnamespace"
		" WHERE r.oid = $2::oid) c",
		t->s[to].qt, t->index, m, t->tcollist, vals.data);
	char *keys = json_names(t, true), *cols = json_names(t, false);
	char *why = R->o->direction == SC_TS_BOTH ? sc_xasprintf("deleted on %s", SIDE[!to])
						  : sc_xasprintf("not on %s (the source)", SIDE[!to]);
	const char *p[] = { R->run_id, t->s[to].oid, keys, why, cols };
	long long n = sc_ts_data_command(pg, sql, 5, p, R->err);
	free(m);
	sc_buf_free(&vals);
	free(sql);
	free(keys);
	free(cols);
	free(why);
	return n;
}

char *sc_ts_lock_holder(run *R, sc_pg *pg)
{
	sc_error e;
	PGresult *r = sc_pg_exec(pg,
		"SELECT l.pid, a.application_name, to_char(a.backend_start AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS'),"
		" a.state, extract(epoch FROM now() - coalesce(a.state_change, a.backend_start))::bigint"
		" FROM pg_locks l LEFT JOIN pg_stat_activity a ON a.pid = l.pid"
		" WHERE l.locktype = 'advisory' AND l.classid = 1937337955 AND l.objid = 1953706033 AND l.objsubid = 2"
		" AND l.granted LIMIT 1", 0, NULL, &e);
	(void)R;
	if (!r || PQntuples(r) == 0) {
		PQclear(r);
		return sc_xstrdup("the lock's holder has just let go of it");
	}
	sc_buf b = SC_BUF_INIT;
	const char *pid = sc_pg_get(r, 0, 0), *app = sc_pg_get(r, 0, 1), *start = sc_pg_get(r, 0, 2);
	const char *state = sc_pg_get(r, 0, 3), *secs = sc_pg_get(r, 0, 4);
	sc_buf_printf(&b, "server pid %s holds the lock", pid ? pid : "unknown");
	if (app) {
		sc_buf_printf(&b, ": application '%s'", app);
		if (start)
			sc_buf_printf(&b, ", connected since %s UTC", start);
		if (state)
			sc_buf_printf(&b, ", %s for %s s", state, secs ? secs : "?");
		sc_buf_puts(&b, "; the server still counts its client as connected");
		long cpid = 0;
		char host[128] = "";
		if (sscanf(app, "syncctl tenant-sync %ld@%127s", &cpid, host) >= 1 && cpid > 0) {
			char *mine = sc_ts_app_name();
			char *at = strchr(mine, '@');
			bool here = at && !strcmp(at + 1, host);
			free(mine);
			if (!here)
				sc_buf_printf(&b, "; its client runs on host %s", host);
			else if (kill((pid_t)cpid, 0) == 0 || errno == EPERM)
				sc_buf_printf(&b, "; its client, process %ld on this host, is running: a live run", cpid);
			else
				sc_buf_printf(&b, "; its client, process %ld on this host, is gone: the orphaned session of a killed run, "
					      "which the server ends when it notices (within a second from PostgreSQL 14, "
					      "when its current statement ends before 14)", cpid);
		}
	} else {
		sc_buf_puts(&b, " (its session details are hidden from this role: pg_read_all_stats shows them)");
	}
	PQclear(r);
	return sc_buf_take(&b);
}

/* ---- --restore ---- */

static bool wanted(const sc_ts_opts *o, const char *schema, const char *name)
{
	if (!o->ntables)
		return true;
	for (size_t i = 0; i < o->ntables; i++) {
		const char *want = o->tables[i];
		const char *dot = strchr(want, '.');
		if (!strcmp(want, name) ||
		    (dot && (size_t)(dot - want) == strlen(schema) && !strncmp(want, schema, strlen(schema)) && !strcmp(dot + 1, name)))
			return true;
	}
	return false;
}

static void restored(run *R, int s, const char *table, long long n, long long skipped, const char *why)
{
	cJSON *e = cJSON_CreateObject();
	cJSON_AddStringToObject(e, "side", SIDE[s]);
	cJSON_AddStringToObject(e, "table", table);
	cJSON_AddNumberToObject(e, "restored", (double)n);
	cJSON_AddNumberToObject(e, "skipped", (double)skipped);
	if (why)
		cJSON_AddStringToObject(e, "reason", why);
	cJSON_AddItemToArray(R->r->restored, e);
	R->r->nrestored += n;
	R->r->nskipped += skipped;
}

/* One table's rows of the run: back where their key is free. */
static int restore_table(run *R, int s, const char *schema, const char *name, const char *keys_json, long long total)
{
	sc_pg *pg = R->pg[s];
	const char *pl[] = { schema, name };
	PGresult *r = sc_pg_exec(pg, "SELECT c.oid::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
				 " WHERE n.nspname = $1 AND c.relname = $2 AND c.relkind IN ('r', 'p')", 2, pl, R->err);
	if (!r)
		return -1;
	char *label = sc_xasprintf("%s.%s", schema, name);
	if (PQntuples(r) == 0) {
		PQclear(r);
		restored(R, s, label, 0, total, "the table is not there");
		free(label);
		return 0;
	}
	char *oid = sc_xstrdup(sc_pg_get(r, 0, 0));
	PQclear(r);
	tab t;
	memset(&t, 0, sizeof t);
	t.name = label;
	int rc = -1;
	cJSON *kj = cJSON_Parse(keys_json);
	if (sc_ts_read_oid(R, s, &t, oid) != 0)
		goto out;
	/* The columns the kept rows have, that are still columns to write. */
	const char *p3[] = { R->o->restore, schema, name };
	r = sc_pg_exec(pg, "SELECT array_to_json(array(SELECT jsonb_object_keys((SELECT data FROM syncctl.deleted_rows"
			   " WHERE run_id = $1::uuid AND table_schema = $2 AND table_name = $3 LIMIT 1))))::text",
			   3, p3, R->err);
	if (!r)
		goto out;
	cJSON *have = cJSON_Parse(sc_pg_get(r, 0, 0) ? sc_pg_get(r, 0, 0) : "[]");
	PQclear(r);
	cJSON *names = cJSON_CreateArray(), *types = cJSON_CreateArray();
	sc_buf cols = SC_BUF_INIT, vals = SC_BUF_INIT, match = SC_BUF_INIT;
	int nc = 0;
	for (size_t i = 0; i < t.s[s].ncols; i++) {
		const ts_col *c = &t.s[s].cols[i];
		bool in = false;
		const cJSON *h;
		cJSON_ArrayForEach(h, have)
			in |= !strcmp(cJSON_GetStringValue(h), c->name);
		if (!in || c->generated)
			continue;
		char *q = qi(pg, c->name);
		nc++;
		sc_buf_printf(&cols, "%s%s", cols.len ? ", " : "", q);
		sc_buf_printf(&vals, "%sCAST(r.data ->> ($4::text[])[%d] AS %s)", vals.len ? ", " : "", nc, c->type);
		const cJSON *k;
		cJSON_ArrayForEach(k, kj)
			if (!strcmp(cJSON_GetStringValue(k), c->name))
				sc_buf_printf(&match, " AND t.%s = CAST(d.data ->> ($4::text[])[%d] AS %s)", q, nc, c->type);
		cJSON_AddItemToArray(names, cJSON_CreateString(c->name));
		cJSON_AddItemToArray(types, cJSON_CreateString(c->type));
		free(q);
	}
	cJSON_Delete(have);
	cJSON_Delete(types);
	char *names_s = cJSON_PrintUnformatted(names);
	cJSON_Delete(names);
	/* The names as a text[] literal, built by the server from JSON. */
	const char *p4[] = { names_s };
	r = sc_pg_exec(pg, "SELECT ARRAY(SELECT json_array_elements_text($1::json))::text", 1, p4, R->err);
	char *arr = r ? sc_xstrdup(sc_pg_get(r, 0, 0)) : NULL;
	PQclear(r);
	free(names_s);
	if (!arr || !nc || !match.len) {
		if (arr && !R->err->code)
			sc_error_set(R->err, SC_EXIT_FAILED, "%s: the kept rows of %s do not carry its key", pg->display, t.name);
		free(arr);
		sc_buf_free(&cols);
		sc_buf_free(&vals);
		sc_buf_free(&match);
		goto out;
	}
	const char *p5[] = { R->o->restore, schema, name, arr };
	long long n;
	if (R->o->dry_run) {
		char *sql = sc_xasprintf("SELECT count(*) FROM syncctl.deleted_rows d WHERE d.run_id = $1::uuid AND d.table_schema = $2"
					 " AND d.table_name = $3 AND NOT EXISTS (SELECT 1 FROM %s t WHERE true%s) AND $4::text[] IS NOT NULL",
					 t.s[s].qt, match.data);
		r = sc_ts_data_exec(pg, sql, 4, p5, R->err);
		free(sql);
		n = r ? sc_pg_get_ll(r, 0, 0, 0) : -1;
		PQclear(r);
	} else {
		char *sql = sc_xasprintf("WITH r AS (DELETE FROM syncctl.deleted_rows d WHERE d.run_id = $1::uuid AND d.table_schema = $2"
					 " AND d.table_name = $3 AND NOT EXISTS (SELECT 1 FROM %s t WHERE true%s) RETURNING d.data)"
					 " INSERT INTO %s (%s)%s SELECT %s FROM r",
					 t.s[s].qt, match.data, t.s[s].qt, cols.data, t.s[s].identity ? " OVERRIDING SYSTEM VALUE" : "",
					 vals.data);
		n = sc_ts_data_command(pg, sql, 4, p5, R->err);
		free(sql);
	}
	free(arr);
	sc_buf_free(&cols);
	sc_buf_free(&vals);
	sc_buf_free(&match);
	if (n < 0)
		goto out;
	if (!R->o->dry_run && n > 0 && sc_ts_advance_sequences(R, &t, s) != 0)
		goto out;
	restored(R, s, t.name, n, total - n, total > n ? "their keys are taken again" : NULL);
	rc = 0;
out:
	cJSON_Delete(kj);
	free(oid);
	free(t.name);
	sc_ts_free_side(&t.s[0]);
	sc_ts_free_side(&t.s[1]);
	return rc;
}

int sc_ts_restore_side(run *R, int s)
{
	sc_pg *pg = R->pg[s];
	if (sc_pg_command(pg, "BEGIN", 0, NULL, R->err) != 0)
		return -1;
	PGresult *r = sc_pg_exec(pg, "SELECT to_regclass('syncctl.deleted_rows') IS NOT NULL", 0, NULL, R->err);
	if (!r)
		return -1;
	bool have = sc_pg_get_bool(r, 0, 0);
	PQclear(r);
	if (!have)
		return 0;
	/* Parents first: they were deleted last. */
	const char *p[] = { R->o->restore };
	r = sc_pg_exec(pg, "SELECT table_schema, table_name, array_to_json(key_columns)::text, count(*) FROM syncctl.deleted_rows"
			   " WHERE run_id = $1::uuid GROUP BY 1, 2, 3 ORDER BY max(id) DESC", 1, p, R->err);
	if (!r)
		return -1;
	int rc = 0;
	for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
		const char *schema = sc_pg_get(r, i, 0), *name = sc_pg_get(r, i, 1);
		if (!wanted(R->o, schema, name))
			continue;
		rc = restore_table(R, s, schema, name, sc_pg_get(r, i, 2), sc_pg_get_ll(r, i, 3, 0));
	}
	PQclear(r);
	return rc;
}
