#include "tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>
#include <openssl/rand.h>

#include "buf.h"
#include "pg.h"
#include "rowhash.h"
#include "tenant_int.h"
#include "util.h"

#define BATCH "20000"
#define BATCH_N 20000
/* pg_try_advisory_lock(int4, int4): "sync", "ts01". */
#define LOCK_A "1937337955"
#define LOCK_B "1953706033"

const char *const SC_TS_SIDE[2] = { "local", "remote" };
static const char *const SIDE[2] = { "local", "remote" };
static const char *const DIRECTION[2] = { "to-remote", "to-local" };

/* Type oids the merge compares natively. */
enum { OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_UUID = 2950, OID_DATE = 1082,
       OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184 };

typedef ts_col col;
typedef ts_side side_info;
typedef ts_tab tab;
typedef ts_run run;

/* ---- small helpers ---- */

char *sc_ts_qi(sc_pg *pg, const char *name)
{
	char *q = PQescapeIdentifier(pg->conn, name, strlen(name));
	char *s = sc_xstrdup(q ? q : "\"\"");
	PQfreemem(q);
	return s;
}
#define qi sc_ts_qi

/* Statements that move data run without a client deadline; the server's
 * statement_timeout is off for them too (see sc_ts_session). */
PGresult *sc_ts_data_exec(sc_pg *pg, const char *sql, int n, const char *const *p, sc_error *err)
{
	int keep = pg->timeout_s;
	pg->timeout_s = 0;
	PGresult *r = sc_pg_exec_keep(pg, sql, n, p, err);
	pg->timeout_s = keep;
	if (r && PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK &&
	    PQresultStatus(r) != PGRES_COPY_IN && PQresultStatus(r) != PGRES_COPY_OUT) {
		PQclear(r);
		return NULL;
	}
	return r;
}

static PGresult *data_exec(sc_pg *pg, const char *sql, sc_error *err)
{
	return sc_ts_data_exec(pg, sql, 0, NULL, err);
}

long long sc_ts_data_command(sc_pg *pg, const char *sql, int n, const char *const *p, sc_error *err)
{
	PGresult *r = sc_ts_data_exec(pg, sql, n, p, err);
	if (!r)
		return -1;
	long long rows = atoll(PQcmdTuples(r));
	PQclear(r);
	return rows;
}

static PGresult *data_wait(sc_pg *pg, sc_error *err)
{
	int keep = pg->timeout_s;
	pg->timeout_s = 0;
	PGresult *r = sc_pg_wait(pg, err);
	pg->timeout_s = keep;
	return r;
}

static void copy_escape(sc_buf *b, const char *v)
{
	for (; *v; v++) {
		switch (*v) {
		case '\\': sc_buf_puts(b, "\\\\"); break;
		case '\t': sc_buf_puts(b, "\\t"); break;
		case '\n': sc_buf_puts(b, "\\n"); break;
		case '\r': sc_buf_puts(b, "\\r"); break;
		default: sc_buf_putc(b, *v);
		}
	}
}

void sc_ts_copy_escape(FILE *f, const char *v)
{
	sc_buf b = SC_BUF_INIT;
	copy_escape(&b, v);
	if (b.len)
		fwrite(b.data, 1, b.len, f);
	sc_buf_free(&b);
}

static void lost(run *R, sc_pg *pg, const char *what)
{
	char *m = sc_pg_clean_message(pg, PQerrorMessage(pg->conn));
	size_t n = strlen(m);
	while (n && (m[n - 1] == '\n' || m[n - 1] == ' '))
		m[--n] = '\0';
	sc_error_set(R->err, SC_EXIT_FAILED, "%s on %s failed: %s", what, pg->display, m);
	free(m);
}

/* COPY ... FROM STDIN fed from a spool file. */
int sc_ts_copy_file_in(run *R, sc_pg *pg, const char *sql, FILE *f)
{
	PGresult *r = data_exec(pg, sql, R->err);
	if (!r)
		return -1;
	bool ok = PQresultStatus(r) == PGRES_COPY_IN;
	PQclear(r);
	if (!ok) {
		sc_error_set(R->err, SC_EXIT_FAILED, "%s did not start a COPY", pg->display);
		return -1;
	}
	rewind(f);
	char buf[65536];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, f)) > 0)
		if (PQputCopyData(pg->conn, buf, (int)n) != 1) {
			lost(R, pg, "COPY");
			return -1;
		}
	if (PQputCopyEnd(pg->conn, ferror(f) ? "reading the spool file failed" : NULL) != 1) {
		lost(R, pg, "COPY");
		return -1;
	}
	r = data_wait(pg, R->err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}
#define copy_file_in sc_ts_copy_file_in

/* COPY (query) TO STDOUT on one server, streamed into COPY ... FROM STDIN on
 * the other. Returns the rows the target took, or -1. */
long long sc_ts_copy_stream(run *R, sc_pg *src, const char *out_sql, sc_pg *dst, const char *in_sql)
{
	PGresult *r = data_exec(dst, in_sql, R->err);
	if (!r)
		return -1;
	bool ok = PQresultStatus(r) == PGRES_COPY_IN;
	PQclear(r);
	if (!ok) {
		sc_error_set(R->err, SC_EXIT_FAILED, "%s did not start a COPY", dst->display);
		return -1;
	}
	r = data_exec(src, out_sql, R->err);
	ok = r && PQresultStatus(r) == PGRES_COPY_OUT;
	PQclear(r);
	if (!ok) {
		if (!R->err->code)
			sc_error_set(R->err, SC_EXIT_FAILED, "%s did not start a COPY", src->display);
		PQputCopyEnd(dst->conn, "the source failed");
		return -1;
	}
	char *buf;
	int n;
	while ((n = PQgetCopyData(src->conn, &buf, 0)) > 0) {
		int put = PQputCopyData(dst->conn, buf, n);
		PQfreemem(buf);
		if (put != 1) {
			lost(R, dst, "COPY");
			return -1;
		}
	}
	if (n == -2) {
		lost(R, src, "COPY");
		PQputCopyEnd(dst->conn, "the source failed");
		return -1;
	}
	r = data_wait(src, R->err);
	if (!r) {
		PQputCopyEnd(dst->conn, "the source failed");
		sc_error e;
		PQclear(data_wait(dst, &e));
		return -1;
	}
	PQclear(r);
	if (PQputCopyEnd(dst->conn, NULL) != 1) {
		lost(R, dst, "COPY");
		return -1;
	}
	r = data_wait(dst, R->err);
	if (!r)
		return -1;
	long long rows = atoll(PQcmdTuples(r));
	PQclear(r);
	return rows;
}
#define copy_stream sc_ts_copy_stream

/* A test-only pause point: with SYNCCTL_TEST_PAUSE=PHASE:DIR the run
 * creates DIR/paused at PHASE and waits (at most two minutes) for
 * DIR/resume. The tests change rows there, or kill the run. */
void sc_ts_test_pause(const char *phase)
{
	const char *e = getenv("SYNCCTL_TEST_PAUSE");
	size_t n = strlen(phase);
	if (!e || strncmp(e, phase, n) != 0 || e[n] != ':')
		return;
	char *paused = sc_xasprintf("%s/paused", e + n + 1), *resume = sc_xasprintf("%s/resume", e + n + 1);
	FILE *f = fopen(paused, "w");
	if (f)
		fclose(f);
	for (int i = 0; i < 12000; i++) {
		FILE *g = fopen(resume, "r");
		if (g) {
			fclose(g);
			break;
		}
		struct timespec ts = { 0, 10 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	free(paused);
	free(resume);
}

/* ---- connections and the lock ---- */

int sc_ts_take_lock(run *R, sc_pg *pg)
{
	double deadline = sc_now_ms() + R->o->wait_s * 1000.0;
	for (;;) {
		PGresult *r = sc_pg_exec(pg, "SELECT pg_try_advisory_lock(" LOCK_A ", " LOCK_B ")", 0, NULL, R->err);
		if (!r)
			return -1;
		bool got = sc_pg_get_bool(r, 0, 0);
		PQclear(r);
		if (got)
			return 0;
		if (sc_now_ms() >= deadline)
			break;
		struct timespec ts = { 0, 200 * 1000 * 1000 };
		nanosleep(&ts, NULL);
	}
	char *who = sc_ts_lock_holder(R, pg);
	sc_error_set(R->err, SC_EXIT_FAILED, "another tenant-sync is running on %s (%s); wait for it or pass --wait SECONDS",
		     pg->display, who);
	free(who);
	return -1;
}

sc_pg *sc_ts_connect_side(run *R, int s)
{
	const char *uri = s == 0 ? R->o->local : R->o->remote;
	char *what = sc_xasprintf("the %s database (--%s)", SIDE[s], SIDE[s]);
	sc_pg *pg = sc_pg_connect(uri, what, R->o->timeout_s, R->err);
	free(what);
	return pg;
}

/* The session every tenant-sync connection runs in: the canonical
 * settings the hashes need; no statement deadline for the data
 * statements; no notices on stderr; an application name that tells whose
 * run it is (the lock message reads it); and, from 14, a server that
 * checks every second whether its client is still there, so a killed
 * run's backend stops its work and lets go of the lock instead of
 * finishing a long statement for nobody. */
int sc_ts_session(run *R, int s)
{
	sc_pg *pg = R->pg[s];
	char *app = sc_ts_app_name();
	const char *p[] = { app };
	int rc = sc_pg_canonical_session(pg, R->err);
	if (rc == 0)
		rc = sc_pg_command(pg, "SELECT set_config('statement_timeout', '0', false),"
				   " set_config('cursor_tuple_fraction', '1', false), set_config('work_mem', '128MB', false),"
				   " set_config('client_min_messages', 'warning', false),"
				   " CASE WHEN current_setting('application_name') = 'syncctl'"
				   " THEN set_config('application_name', $1, false) END", 1, p, R->err);
	if (rc == 0 && pg->server_version >= 140000)
		rc = sc_pg_command(pg, "SELECT set_config('client_connection_check_interval', '1000', false)", 0, NULL, R->err);
	free(app);
	return rc;
}

/* ---- the catalog ---- */

void sc_ts_free_side(side_info *s)
{
	for (size_t i = 0; i < s->ncols; i++) {
		free(s->cols[i].name);
		free(s->cols[i].type);
		free(s->cols[i].seq);
	}
	free(s->cols);
	for (size_t i = 0; i < s->npk; i++)
		free(s->pk[i]);
	free(s->pk);
	free(s->qt);
	free(s->oid);
	memset(s, 0, sizeof *s);
}

static void problem(run *R, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void problem(run *R, const char *fmt, ...)
{
	char line[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(line, sizeof line, fmt, ap);
	va_end(ap);
	R->r->problems = sc_xrealloc(R->r->problems, (R->r->nproblems + 1) * sizeof(char *));
	R->r->problems[R->r->nproblems++] = sc_xstrdup(line);
}

int sc_ts_read_side(run *R, int s, tab *t)
{
	sc_pg *pg = R->pg[s];
	const char *p[] = { t->name };
	PGresult *r = sc_pg_exec(pg,
		"SELECT c.oid::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND"
		" ((c.relname = $1 AND pg_table_is_visible(c.oid)) OR (strpos($1, '.') > 0 AND"
		" n.nspname = split_part($1, '.', 1) AND c.relname = substr($1, strpos($1, '.') + 1)))"
		" ORDER BY c.relname = $1 DESC LIMIT 1", 1, p, R->err);
	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		sc_error_set(R->err, SC_EXIT_USAGE, "table %s is not on the %s database %s (name it as it is, or schema.table)",
			     t->name, SIDE[s], pg->display);
		return -1;
	}
	char *oid = sc_xstrdup(sc_pg_get(r, 0, 0));
	PQclear(r);
	int rc = sc_ts_read_oid(R, s, t, oid);
	free(oid);
	return rc;
}

/* The table's columns, key and triggers, by its OID. */
int sc_ts_read_oid(run *R, int s, tab *t, const char *oid)
{
	sc_pg *pg = R->pg[s];
	side_info *si = &t->s[s];
	const char *p1[] = { oid };
	PGresult *r = sc_pg_exec(pg, "SELECT format('%I.%I', n.nspname, c.relname), EXISTS (SELECT 1 FROM pg_trigger g"
				 " WHERE g.tgrelid = c.oid AND NOT g.tgisinternal) OR EXISTS (SELECT 1 FROM pg_rewrite w"
				 " WHERE w.ev_class = c.oid AND w.ev_type <> '1') FROM pg_class c"
				 " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = $1::oid", 1, p1, R->err);
	if (!r)
		return -1;
	if (PQntuples(r) == 0) {
		PQclear(r);
		sc_error_set(R->err, SC_EXIT_FAILED, "table %s went away on the %s database", t->name, SIDE[s]);
		return -1;
	}
	si->oid = sc_xstrdup(oid);
	si->qt = sc_xstrdup(sc_pg_get(r, 0, 0));
	si->altered = sc_pg_get_bool(r, 0, 1);
	PQclear(r);
	const char *p2[] = { si->oid, si->qt };
	r = sc_pg_exec(pg, pg->server_version >= 120000
		? "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attgenerated <> '', a.attidentity,"
		  " pg_get_serial_sequence($2, a.attname), a.atttypid::int, coalesce(co.collisdeterministic, true)"
		  " FROM pg_attribute a LEFT JOIN pg_collation co ON co.oid = a.attcollation"
		  " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname COLLATE \"C\""
		/* Before 12, name is not collatable: it sorts through text. */
		: "SELECT a.attname, format_type(a.atttypid, a.atttypmod), false, a.attidentity,"
		  " pg_get_serial_sequence($2, a.attname), a.atttypid::int, true FROM pg_attribute a"
		  " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname::text COLLATE \"C\"",
		2, p2, R->err);
	if (!r)
		return -1;
	si->ncols = (size_t)PQntuples(r);
	si->cols = sc_xcalloc(si->ncols + 1, sizeof *si->cols);
	for (size_t i = 0; i < si->ncols; i++) {
		col *c = &si->cols[i];
		c->name = sc_xstrdup(sc_pg_get(r, (int)i, 0));
		c->type = sc_xstrdup(sc_pg_get(r, (int)i, 1));
		c->generated = sc_pg_get_bool(r, (int)i, 2);
		const char *id = sc_pg_get(r, (int)i, 3);
		c->identity = id && *id ? *id : 0;
		c->seq = sc_pg_get(r, (int)i, 4) ? sc_xstrdup(sc_pg_get(r, (int)i, 4)) : NULL;
		c->typid = (unsigned)sc_pg_get_ll(r, (int)i, 5, 0);
		c->deterministic = sc_pg_get_bool(r, (int)i, 6);
		if (c->identity)
			si->identity = true;
	}
	PQclear(r);
	r = sc_pg_exec(pg,
		"SELECT a.attname FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)"
		" JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
		" WHERE i.indrelid = $1::oid AND i.indisprimary ORDER BY k.n", 1, p2, R->err);
	if (!r)
		return -1;
	si->npk = (size_t)PQntuples(r);
	si->pk = sc_xcalloc(si->npk + 1, sizeof *si->pk);
	for (size_t i = 0; i < si->npk; i++)
		si->pk[i] = sc_xstrdup(sc_pg_get(r, (int)i, 0));
	PQclear(r);
	return 0;
}

ts_col *sc_ts_find_col(side_info *s, const char *name)
{
	for (size_t i = 0; i < s->ncols; i++)
		if (strcmp(s->cols[i].name, name) == 0)
			return &s->cols[i];
	return NULL;
}
#define find_col sc_ts_find_col

static long find_synced(const tab *t, const char *name)
{
	for (size_t i = 0; i < t->ncols; i++)
		if (strcmp(t->cols[i]->name, name) == 0)
			return (long)i;
	return -1;
}

/* The row hash both servers agree on (lib/rowhash.h), over the synced
 * columns in name order. */
static void row_hash(run *R, tab *t)
{
	t->binary = R->pg[0]->server_version / 10000 == R->pg[1]->server_version / 10000;
	sc_hash_col *hc = sc_xcalloc(t->ncols + 1, sizeof *hc);
	for (size_t i = 0; i < t->ncols; i++) {
		const col *c = t->cols[i];
		if (c->typid >= 16384) /* user-defined: binary COPY would carry its oid */
			t->binary = false;
		hc[i] = (sc_hash_col){ c->name, c->typid, c->deterministic };
	}
	t->hash = sc_row_hash_sql(R->pg[0], "t", hc, t->ncols,
				  sc_row_hash_values(R->pg[0]->server_version, R->pg[1]->server_version));
	free(hc);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* --tenant: the IDs go into a temporary table on each side, all of them
 * in one statement with one parameter (a JSON array: values never enter
 * SQL text, and 50,000 IDs cost one round trip), and every statement reads
 * the scope from there. An ID that is not a value of the column's type
 * fails that statement: bad input (exit 2) with the server's reason, which
 * names the value. */
static int scope_table(run *R, tab *t, const col *c)
{
	const sc_ts_opts *o = R->o;
	cJSON *arr = cJSON_CreateArray();
	for (size_t i = 0; i < o->ntenants; i++)
		cJSON_AddItemToArray(arr, cJSON_CreateString(o->tenants[i]));
	char *tenants = cJSON_PrintUnformatted(arr);
	cJSON_Delete(arr);
	int rc = 0;
	for (int s = 0; s < 2 && rc == 0; s++) {
		sc_pg *pg = R->pg[s];
		char *q = qi(pg, c->name);
		char *sql = sc_xasprintf("CREATE TEMP TABLE sc_scope_%d AS SELECT t.%s AS v FROM %s t WITH NO DATA",
					 t->index, q, t->s[s].qt);
		rc = sc_pg_command(pg, sql, 0, NULL, R->err);
		free(sql);
		free(q);
		if (rc)
			break;
		const char *p[] = { tenants };
		sql = sc_xasprintf("INSERT INTO pg_temp.sc_scope_%d SELECT DISTINCT CAST(v AS %s)"
				   " FROM json_array_elements_text($1::json) v", t->index, c->type);
		PGresult *res = sc_pg_exec_keep(pg, sql, 1, p, R->err);
		free(sql);
		if (!res) {
			rc = -1;
			break;
		}
		if (PQresultStatus(res) != PGRES_COMMAND_OK) {
			const char *state = PQresultErrorField(res, PG_DIAG_SQLSTATE);
			/* Class 22, data exception: invalid text for the type, out of
			 * range, bytes that are not UTF-8. */
			if (state && !strncmp(state, "22", 2)) {
				char *why = sc_xstrdup(R->err->message);
				sc_error_set(R->err, SC_EXIT_USAGE, "--tenant: an ID is not a valid %s for %s.%s: %s",
					     c->type, t->name, c->name, why);
				free(why);
			}
			PQclear(res);
			rc = -1;
			break;
		}
		PQclear(res);
		if (rc == 0) {
			sql = sc_xasprintf("ANALYZE pg_temp.sc_scope_%d", t->index);
			rc = sc_pg_command(pg, sql, 0, NULL, R->err);
			free(sql);
		}
	}
	free(tenants);
	return rc;
}

/* The columns matched by name on both sides (generated ones left out);
 * differences are problems. */
static int plan_columns(run *R, tab *t, size_t before)
{
	side_info *a = &t->s[0], *b = &t->s[1];
	t->cols = sc_xcalloc(a->ncols + 1, sizeof *t->cols);
	for (size_t i = 0; i < a->ncols; i++) {
		col *ca = &a->cols[i], *cb = find_col(b, ca->name);
		if (!cb) {
			if (!ca->generated)
				problem(R, "%s: column %s is on local only", t->name, ca->name);
			continue;
		}
		if (ca->generated != cb->generated) {
			problem(R, "%s: column %s is generated on %s only", t->name, ca->name, ca->generated ? "local" : "remote");
			continue;
		}
		if (strcmp(ca->type, cb->type) != 0) {
			problem(R, "%s: column %s is %s on local, %s on remote", t->name, ca->name, ca->type, cb->type);
			continue;
		}
		if (!ca->generated)
			t->cols[t->ncols++] = ca;
	}
	for (size_t i = 0; i < b->ncols; i++)
		if (!find_col(a, b->cols[i].name) && !b->cols[i].generated)
			problem(R, "%s: column %s is on remote only", t->name, b->cols[i].name);
	if (t->ncols == 0 && R->r->nproblems == before) {
		sc_error_set(R->err, SC_EXIT_USAGE, "table %s has no columns to sync", t->name);
		return -1;
	}
	return 0;
}

/* The key: --key, or the primary key (the same on both sides), recorded
 * with each key column's type. 1 when a problem stops the table. */
static int plan_key(run *R, tab *t, size_t before)
{
	const sc_ts_opts *o = R->o;
	side_info *a = &t->s[0], *b = &t->s[1];
	/* The key: --key, or the primary key (the same on both sides). */
	char *const *key = o->key;
	size_t nkey = o->nkey;
	if (!nkey) {
		for (int s = 0; s < 2; s++)
			if (!t->s[s].npk) {
				sc_error_set(R->err, SC_EXIT_USAGE,
					     "table %s has no primary key on the %s database: rows cannot be matched; "
					     "add one, or pass --key COLUMN[,COLUMN..] naming unique columns", t->name, SIDE[s]);
				return -1;
			}
		bool same = a->npk == b->npk;
		for (size_t i = 0; same && i < a->npk; i++)
			same = strcmp(a->pk[i], b->pk[i]) == 0;
		if (!same) {
			problem(R, "%s: the primary keys differ between local and remote", t->name);
			return 1;
		}
		key = a->pk;
		nkey = a->npk;
	}
	t->keys = sc_xcalloc(nkey, sizeof *t->keys);
	cJSON *kj = cJSON_CreateArray();
	for (size_t i = 0; i < nkey; i++) {
		long k = find_synced(t, key[i]);
		if (k < 0) {
			cJSON_Delete(kj);
			if (R->r->nproblems > before)
				return 1;
			sc_error_set(R->err, SC_EXIT_USAGE, "key column %s is not a column of %s on both sides", key[i], t->name);
			return -1;
		}
		t->keys[t->nkeys++] = (size_t)k;
		cJSON_AddItemToArray(kj, cJSON_CreateString(key[i]));
	}
	/* Recorded with the type of each key column: a changed type is a
	 * changed key. */
	for (size_t i = 0; i < t->nkeys; i++)
		cJSON_AddItemToArray(kj, cJSON_CreateString(t->cols[t->keys[i]]->type));
	t->key_text = cJSON_PrintUnformatted(kj);
	cJSON_Delete(kj);
	return R->r->nproblems > before;
}

/* The rows in scope: the tenant column, else a one-column key, matched
 * against the --tenant set loaded on each side (scope_table). */
static int plan_scope(run *R, tab *t)
{
	const sc_ts_opts *o = R->o;
	sc_pg *pg = R->pg[0];
	/* The scope: the tenant column, else a one-column key. */
	if (o->ntenants) {
		long tc = find_synced(t, o->tenant_column);
		if (tc < 0 && t->nkeys == 1)
			tc = (long)t->keys[0];
		if (tc < 0) {
			sc_error_set(R->err, SC_EXIT_USAGE,
				     "table %s has no column %s and a key of %zu columns: --tenant cannot scope it "
				     "(name its tenant column with --tenant-column, or leave the table out)",
				     t->name, o->tenant_column, t->nkeys);
			return -1;
		}
		const col *c = t->cols[tc];
		if (scope_table(R, t, c) != 0)
			return -1;
		char *q = qi(pg, c->name);
		t->scope_cond = sc_xasprintf("t.%s IN (SELECT v FROM pg_temp.sc_scope_%d)", q, t->index);
		free(q);
		/* Recorded: the column and the sorted, distinct tenants. */
		char **ids = sc_xcalloc(o->ntenants + 1, sizeof *ids);
		memcpy(ids, o->tenants, o->ntenants * sizeof *ids);
		qsort(ids, o->ntenants, sizeof *ids, cmp_str);
		cJSON *sj = cJSON_CreateObject(), *arr = cJSON_AddArrayToObject(sj, "tenants");
		cJSON_AddStringToObject(sj, "column", c->name);
		for (size_t i = 0; i < o->ntenants; i++)
			if (i == 0 || strcmp(ids[i], ids[i - 1]) != 0)
				cJSON_AddItemToArray(arr, cJSON_CreateString(ids[i]));
		t->scope_text = cJSON_PrintUnformatted(sj);
		cJSON_Delete(sj);
		free(ids);
	}
	t->scope = t->scope_cond ? sc_xasprintf(" WHERE %s", t->scope_cond) : sc_xstrdup("");
	t->scope_and = t->scope_cond ? sc_xasprintf(" AND %s", t->scope_cond) : sc_xstrdup("");
	if (!t->scope_text)
		t->scope_text = sc_xstrdup("");
	return 0;
}

/* --conflict newer: the column compared, as microseconds or an integer. */
static int plan_updated(run *R, tab *t)
{
	const sc_ts_opts *o = R->o;
	sc_pg *pg = R->pg[0];
	if (!(o->direction == SC_TS_BOTH && o->conflict == SC_TS_NEWER))
		return 0;
	long u = find_synced(t, o->updated_column);
	if (u < 0) {
		sc_error_set(R->err, SC_EXIT_USAGE,
			     "--conflict newer needs column %s in table %s on both sides (name another with --updated-column)",
			     o->updated_column, t->name);
		return -1;
	}
	const col *c = t->cols[u];
	char *q = qi(pg, c->name);
	if (c->typid == OID_TIMESTAMPTZ || c->typid == OID_TIMESTAMP || c->typid == OID_DATE)
		t->updated = sc_xasprintf("floor(extract(epoch FROM t.%s) * 1000000)::bigint", q);
	else if (c->typid == OID_INT2 || c->typid == OID_INT4 || c->typid == OID_INT8)
		t->updated = sc_xasprintf("t.%s::bigint", q);
	free(q);
	if (!t->updated) {
		sc_error_set(R->err, SC_EXIT_USAGE,
			     "--updated-column %s of %s is %s: it must be a timestamp, date or integer column",
			     c->name, t->name, c->type);
		return -1;
	}
	return 0;
}

/* Columns matched by name, the key, the scope. Differences between the
 * sides are problems (nothing is written); unusable options are errors. */
static int plan_table(run *R, tab *t)
{
	size_t before = R->r->nproblems;
	if (plan_columns(R, t, before) != 0)
		return -1;
	int k = plan_key(R, t, before);
	if (k != 0)
		return k < 0 ? -1 : 0;
	sc_pg *pg = R->pg[0];
	sc_buf cl = SC_BUF_INIT, tcl = SC_BUF_INIT;
	for (size_t i = 0; i < t->ncols; i++) {
		char *q = qi(pg, t->cols[i]->name);
		sc_buf_printf(&cl, "%s%s", i ? ", " : "", q);
		sc_buf_printf(&tcl, "%st.%s", i ? ", " : "", q);
		free(q);
	}
	t->collist = sc_buf_take(&cl);
	t->tcollist = sc_buf_take(&tcl);
	if (plan_scope(R, t) != 0)
		return -1;
	row_hash(R, t);
	return plan_updated(R, t);
}

/* Parents before children by the foreign keys among the synced tables
 * (either side's); a cycle keeps the order given. */
static int order_tables(run *R)
{
	size_t n = R->ntabs;
	bool *dep = sc_xcalloc(n * n + 1, sizeof *dep); /* dep[c*n+p]: c references p */
	for (int s = 0; s < 2; s++) {
		sc_buf arr = SC_BUF_INIT;
		sc_buf_puts(&arr, "{");
		for (size_t i = 0; i < n; i++)
			sc_buf_printf(&arr, "%s%s", i ? "," : "", R->tabs[i].s[s].oid);
		sc_buf_puts(&arr, "}");
		char *a = sc_buf_take(&arr);
		const char *p[] = { a };
		PGresult *r = sc_pg_exec(R->pg[s], "SELECT conrelid::text, confrelid::text FROM pg_constraint"
					 " WHERE contype = 'f' AND conrelid = ANY($1::oid[]) AND confrelid = ANY($1::oid[])",
					 1, p, R->err);
		free(a);
		if (!r) {
			free(dep);
			return -1;
		}
		for (int k = 0; k < PQntuples(r); k++) {
			size_t c = n, pa = n;
			for (size_t i = 0; i < n; i++) {
				if (!strcmp(R->tabs[i].s[s].oid, sc_pg_get(r, k, 0)))
					c = i;
				if (!strcmp(R->tabs[i].s[s].oid, sc_pg_get(r, k, 1)))
					pa = i;
			}
			if (c < n && pa < n && c != pa)
				dep[c * n + pa] = true;
		}
		PQclear(r);
	}
	R->order = sc_xcalloc(n + 1, sizeof *R->order);
	bool *done = sc_xcalloc(n + 1, sizeof *done);
	size_t k = 0;
	while (k < n) {
		bool progress = false;
		for (size_t i = 0; i < n; i++) {
			if (done[i])
				continue;
			bool ready = true;
			for (size_t p = 0; p < n && ready; p++)
				if (dep[i * n + p] && !done[p])
					ready = false;
			if (ready) {
				done[i] = true;
				R->order[k++] = i;
				progress = true;
			}
		}
		if (!progress) /* a cycle: the rest in the order given */
			for (size_t i = 0; i < n; i++)
				if (!done[i]) {
					done[i] = true;
					R->order[k++] = i;
					break;
				}
	}
	free(done);
	free(dep);
	return 0;
}

/* ---- key lists in SQL ---- */

char *sc_ts_key_match(const tab *t, sc_pg *pg, const char *l, const char *r)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		char *n = qi(pg, t->cols[t->keys[i]]->name);
		sc_buf_printf(&b, "%s%s.%s = %s.%s", i ? " AND " : "", l, n, r, n);
		free(n);
	}
	return sc_buf_take(&b);
}
#define key_match sc_ts_key_match

char *sc_ts_key_cols(const tab *t, sc_pg *pg, const char *prefix)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		char *n = qi(pg, t->cols[t->keys[i]]->name);
		sc_buf_printf(&b, "%s%s%s", i ? ", " : "", prefix, n);
		free(n);
	}
	return sc_buf_take(&b);
}
#define key_cols sc_ts_key_cols

/* The state's own tables name the key columns k1, k2, ... */
char *sc_ts_knames(const tab *t, const char *prefix)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++)
		sc_buf_printf(&b, "%s%sk%zu", i ? ", " : "", prefix, i + 1);
	return sc_buf_take(&b);
}

char *sc_ts_kmatch(const tab *t, sc_pg *pg, const char *l, const char *r)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		char *n = qi(pg, t->cols[t->keys[i]]->name);
		sc_buf_printf(&b, "%s%s.%s = %s.k%zu", i ? " AND " : "", l, n, r, i + 1);
		free(n);
	}
	return sc_buf_take(&b);
}

char *sc_ts_kkmatch(const tab *t, const char *l, const char *r)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++)
		sc_buf_printf(&b, "%s%s.k%zu = %s.k%zu", i ? " AND " : "", l, i + 1, r, i + 1);
	return sc_buf_take(&b);
}

/* ORDER BY over key expressions `exprs[i]` (e.g. "t.id" or "u.k1"): the
 * order both servers produce alike (native for integers and uuids, else
 * the text's bytes), which key_cmp below follows. */
static char *key_order(const tab *t, sc_pg *pg, const char *alias, bool knames)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		const col *c = t->cols[t->keys[i]];
		char *n = knames ? sc_xasprintf("k%zu", i + 1) : qi(pg, c->name);
		bool native = c->typid == OID_INT2 || c->typid == OID_INT4 || c->typid == OID_INT8 || c->typid == OID_UUID;
		sc_buf_printf(&b, native ? "%s%s.%s" : "%s%s.%s::text COLLATE \"C\"", i ? ", " : "", alias, n);
		free(n);
	}
	return sc_buf_take(&b);
}

/* ---- the merge ---- */

typedef struct hstream {
	sc_pg *pg;
	PGresult *res;
	int row, nrows;
	bool pending, done;
	sc_buf prev;              /* --key: the previous key, to refuse duplicates */
} hstream;

static int hs_fetch(run *R, hstream *h)
{
	PQclear(h->res);
	h->res = NULL;
	h->row = h->nrows = 0;
	if (h->done)
		return 0;
	if (!h->pending && sc_pg_send(h->pg, "FETCH " BATCH " FROM sc_h", 0, NULL, R->err) != 0)
		return -1;
	h->pending = false;
	h->res = data_wait(h->pg, R->err);
	if (!h->res)
		return -1;
	h->nrows = PQntuples(h->res);
	if (h->nrows < BATCH_N) {
		h->done = true;
	} else {
		/* The next batch is read on the server while this one is merged. */
		if (sc_pg_send(h->pg, "FETCH " BATCH " FROM sc_h", 0, NULL, R->err) != 0)
			return -1;
		h->pending = true;
	}
	return 0;
}

/* The next row, or false at the end (err set on failure). */
static bool hs_next(run *R, hstream *h, bool *failed)
{
	if (h->res && h->row + 1 < h->nrows) {
		h->row++;
		return true;
	}
	if (h->res && h->row + 1 >= h->nrows && h->done) {
		PQclear(h->res);
		h->res = NULL;
		h->nrows = 0;
		return false;
	}
	if (hs_fetch(R, h) != 0) {
		*failed = true;
		return false;
	}
	h->row = 0;
	return h->nrows > 0;
}

/* Both cursors are declared; the first FETCH runs each server's whole
 * scan, so both are sent before either is awaited. */
static int hs_start(run *R, hstream *a, hstream *b)
{
	a->pg = R->pg[0];
	b->pg = R->pg[1];
	if (sc_pg_send(a->pg, "FETCH " BATCH " FROM sc_h", 0, NULL, R->err) != 0)
		return -1;
	a->pending = true;
	if (sc_pg_send(b->pg, "FETCH " BATCH " FROM sc_h", 0, NULL, R->err) != 0) {
		PQclear(data_wait(a->pg, R->err));
		return -1;
	}
	b->pending = true;
	return 0;
}

static int key_cmp(const tab *t, const hstream *a, const hstream *b)
{
	for (size_t i = 0; i < t->nkeys; i++) {
		const char *x = PQgetvalue(a->res, a->row, (int)i), *y = PQgetvalue(b->res, b->row, (int)i);
		unsigned typ = t->cols[t->keys[i]]->typid;
		int c;
		if (typ == OID_INT2 || typ == OID_INT4 || typ == OID_INT8) {
			long long u = strtoll(x, NULL, 10), v = strtoll(y, NULL, 10);
			c = u < v ? -1 : u > v;
		} else {
			c = strcmp(x, y);
		}
		if (c)
			return c < 0 ? -1 : 1;
	}
	return 0;
}

static char *key_text(const tab *t, const hstream *h)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++)
		sc_buf_printf(&b, "%s%s", i ? ", " : "", PQgetvalue(h->res, h->row, (int)i));
	return sc_buf_take(&b);
}

/* Rows are matched one to one: a --key that is not unique on a side is an
 * error (a primary key always is). Called once per row, before it is used. */
static bool key_repeats(run *R, tab *t, int side, hstream *h)
{
	if (!R->o->nkey)
		return false;
	char *k = key_text(t, h);
	bool same = h->prev.len && !strcmp(sc_buf_str(&h->prev), k);
	if (same)
		sc_error_set(R->err, SC_EXIT_USAGE, "--key does not identify rows of %s: key (%s) is on %s more than once; "
			     "name unique columns", t->name, k, SIDE[side]);
	h->prev.len = 0;
	sc_buf_puts(&h->prev, k);
	free(k);
	return same;
}

static FILE *spool_file(run *R, tab *t, FILE **f)
{
	if (!*f) {
		*f = tmpfile();
		if (!*f && !R->err->code)
			sc_error_set(R->err, SC_EXIT_FAILED, "cannot create a temporary file for %s", t->name);
	}
	return *f;
}

static void spool_key(FILE *f, const tab *t, const hstream *h)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		if (i)
			sc_buf_putc(&b, '\t');
		copy_escape(&b, PQgetvalue(h->res, h->row, (int)i));
	}
	if (b.len)
		fwrite(b.data, 1, b.len, f);
	sc_buf_free(&b);
}

static void spool(run *R, tab *t, int side, int kind, const hstream *h)
{
	FILE *f = spool_file(R, t, &t->f[side][kind]);
	if (!f)
		return;
	spool_key(f, t, h);
	fputc('\n', f);
}

/* The state decision for a key (stateful: every key looked at; stateless:
 * the keys left unresolved): whether it is in the base both sides agree
 * on, and, when unresolved, the change flags the next run carries over
 * (-1: resolved). */
static void decide_state(run *R, tab *t, const hstream *h, bool inbase, int ul, int ur)
{
	if (!R->record)
		return;
	FILE *f = spool_file(R, t, &t->fdec);
	if (!f)
		return;
	spool_key(f, t, h);
	fprintf(f, "\t%s\t%s\t%s\n", inbase ? "t" : "f", ul < 0 ? "\\N" : ul ? "t" : "f", ur < 0 ? "\\N" : ur ? "t" : "f");
	t->ndec++;
}

static void note_key(run *R, tab *t, const char *action, int side, const hstream *h)
{
	if (!R->o->on_key)
		return;
	char *k = key_text(t, h);
	R->o->on_key(R->o->ud, t->name, action, SIDE[side], k);
	free(k);
}

static void list_unresolved(run *R, tab *t, const char *k, const char *kind, const char *why)
{
	R->r->nunresolved++;
	if (cJSON_GetArraySize(R->r->unresolved) < SC_TS_MAX_LISTED) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "table", t->name);
		cJSON_AddStringToObject(c, "key", k);
		cJSON_AddStringToObject(c, "kind", kind);
		cJSON_AddStringToObject(c, "reason", why);
		cJSON_AddItemToArray(R->r->unresolved, c);
	}
}

/* A row on `from` goes to the other side: inserted or updated there. */
static void send_row(run *R, tab *t, int from, int kind, const hstream *h)
{
	spool(R, t, from, kind, h);
	t->out->n[from][kind]++;
	note_key(R, t, kind == SC_TS_INS ? "insert" : "update", !from, h);
}

/* The row on side `on` is deleted (h is that side's stream). */
static void delete_row(run *R, tab *t, int on, const hstream *h)
{
	spool(R, t, on, SC_TS_DEL, h);
	t->out->n[!on][SC_TS_DEL]++;
	note_key(R, t, "delete", on, h);
}

/* The row stays on `on` although the other side deleted (or lacks) it. */
static void keep_row(run *R, tab *t, int on, const hstream *h, const char *why)
{
	t->out->n[!on][SC_TS_KEPT]++;
	char *k = key_text(t, h);
	if (R->o->on_key)
		R->o->on_key(R->o->ud, t->name, "kept", SIDE[on], k);
	list_unresolved(R, t, k, "kept", why);
	free(k);
}

static void conflict(run *R, tab *t, const hstream *a, const char *why)
{
	t->out->conflicts++;
	R->r->nconflicts++;
	char *k = key_text(t, a);
	if (R->o->on_key)
		R->o->on_key(R->o->ud, t->name, "conflict", why, k);
	if (cJSON_GetArraySize(R->r->conflicts) < SC_TS_MAX_LISTED) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "table", t->name);
		cJSON_AddStringToObject(c, "key", k);
		cJSON_AddStringToObject(c, "reason", why);
		cJSON_AddItemToArray(R->r->conflicts, c);
	}
	list_unresolved(R, t, k, "conflict", why);
	free(k);
}

/* Rows on both sides that differ, settled by --conflict (both) or by the
 * direction. `col_upd` is the column of the --conflict newer value.
 * Returns true when settled (the rows will be equal). */
static bool settle(run *R, tab *t, const hstream *a, const hstream *b, int col_upd, const char *why)
{
	const sc_ts_opts *o = R->o;
	if (o->direction == SC_TS_TO_REMOTE || (o->direction == SC_TS_BOTH && o->conflict == SC_TS_LOCAL)) {
		send_row(R, t, 0, SC_TS_UPD, a);
		return true;
	}
	if (o->direction == SC_TS_TO_LOCAL || o->conflict == SC_TS_REMOTE) {
		send_row(R, t, 1, SC_TS_UPD, b);
		return true;
	}
	if (o->conflict == SC_TS_NEWER) {
		bool na = PQgetisnull(a->res, a->row, col_upd), nb = PQgetisnull(b->res, b->row, col_upd);
		long long ua = na ? 0 : strtoll(PQgetvalue(a->res, a->row, col_upd), NULL, 10);
		long long ub = nb ? 0 : strtoll(PQgetvalue(b->res, b->row, col_upd), NULL, 10);
		if (na && nb) {
			conflict(R, t, a, "both updated columns are NULL");
			return false;
		}
		if (!nb && (na || ua < ub)) {
			send_row(R, t, 1, SC_TS_UPD, b);
			return true;
		}
		if (!na && (nb || ua > ub)) {
			send_row(R, t, 0, SC_TS_UPD, a);
			return true;
		}
		conflict(R, t, a, "the same updated time on both sides");
		return false;
	}
	conflict(R, t, a, why);
	return false;
}

static int hash_query(run *R, tab *t, int s)
{
	sc_pg *pg = R->pg[s];
	sc_buf q = SC_BUF_INIT;
	sc_buf_puts(&q, "DECLARE sc_h NO SCROLL CURSOR FOR SELECT ");
	for (size_t i = 0; i < t->nkeys; i++) {
		char *n = qi(pg, t->cols[t->keys[i]]->name);
		sc_buf_printf(&q, "t.%s::text, ", n);
		free(n);
	}
	char *ord = key_order(t, pg, "t", false);
	sc_buf_puts(&q, t->hash);
	if (t->updated)
		sc_buf_printf(&q, ", %s", t->updated);
	sc_buf_printf(&q, " FROM %s t%s ORDER BY %s", t->s[s].qt, t->scope, ord);
	free(ord);
	int rc = sc_pg_command(pg, q.data, 0, NULL, R->err);
	sc_buf_free(&q);
	return rc;
}

static void note_once(run *R, const char *text)
{
	const cJSON *e;
	cJSON_ArrayForEach(e, R->r->notes)
		if (!strcmp(cJSON_GetStringValue(e), text))
			return;
	cJSON_AddItemToArray(R->r->notes, cJSON_CreateString(text));
}

/* A row only on `side`, without state: copied to the other side, unless
 * the other side is the source (then deleted here with --delete, else
 * kept). */
static void one_sided(run *R, tab *t, int side, const hstream *h)
{
	int source_only = side == 0 ? SC_TS_TO_LOCAL : SC_TS_TO_REMOTE;
	if (R->o->direction != source_only) {
		send_row(R, t, side, SC_TS_INS, h);
		decide_state(R, t, h, true, -1, -1);
	} else if (R->o->delete_rows) {
		delete_row(R, t, side, h);
	} else {
		char why[64];
		snprintf(why, sizeof why, "on %s only, kept (no --delete)", SIDE[side]);
		keep_row(R, t, side, h, why);
		/* The next run of `both` sees it as new on that side. */
		decide_state(R, t, h, false, side == 0, side == 1);
	}
}

static int close_cursors(run *R, tab *t)
{
	if (sc_pg_command(R->pg[0], "CLOSE sc_h", 0, NULL, R->err) != 0 ||
	    sc_pg_command(R->pg[1], "CLOSE sc_h", 0, NULL, R->err) != 0)
		return -1;
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < 3; k++)
			if (t->f[s][k] && fflush(t->f[s][k]) != 0) {
				sc_error_set(R->err, SC_EXIT_FAILED, "writing a temporary file for %s failed (disk full?)", t->name);
				return -1;
			}
	if (t->fdec && fflush(t->fdec) != 0) {
		sc_error_set(R->err, SC_EXIT_FAILED, "writing a temporary file for %s failed (disk full?)", t->name);
		return -1;
	}
	return 0;
}

/* Without state: every row in scope hashed on both sides, merged by key. */
static int merge_table(run *R, tab *t)
{
	const sc_ts_opts *o = R->o;
	if (o->direction == SC_TS_BOTH && o->delete_rows && !o->dry_run)
		note_once(R, "--delete: without usable state a row on one side only may be new there or deleted on the "
			     "other, so it was copied and nothing was deleted; deletes are propagated from the next run on");
	if (hash_query(R, t, 0) != 0 || hash_query(R, t, 1) != 0)
		return -1;
	hstream a = { 0 }, b = { 0 };
	if (hs_start(R, &a, &b) != 0)
		return -1;
	if (o->on_progress)
		o->on_progress(o->ud, t->name, "hashing rows on both servers", 0);
	bool failed = false;
	bool ha = hs_next(R, &a, &failed), hb = hs_next(R, &b, &failed);
	long long seen = 0;
	int hcol = (int)t->nkeys;
	bool new_a = true, new_b = true;
	while (!failed && (ha || hb)) {
		if ((ha && new_a && key_repeats(R, t, 0, &a)) || (hb && new_b && key_repeats(R, t, 1, &b))) {
			failed = true;
			break;
		}
		t->rows[0] += ha && new_a;
		t->rows[1] += hb && new_b;
		new_a = new_b = false;
		if (o->on_progress && ++seen % 100000 == 0)
			o->on_progress(o->ud, t->name, "compared", seen);
		int c = !ha ? 1 : !hb ? -1 : key_cmp(t, &a, &b);
		if (c < 0) {
			one_sided(R, t, 0, &a);
			ha = hs_next(R, &a, &failed);
			new_a = true;
		} else if (c > 0) {
			one_sided(R, t, 1, &b);
			hb = hs_next(R, &b, &failed);
			new_b = true;
		} else {
			if (!strcmp(PQgetvalue(a.res, a.row, hcol), PQgetvalue(b.res, b.row, hcol)))
				t->out->unchanged++;
			else if (!settle(R, t, &a, &b, hcol + 1, "differs on both sides"))
				decide_state(R, t, &a, true, 1, 1);
			ha = hs_next(R, &a, &failed);
			hb = hs_next(R, &b, &failed);
			new_a = new_b = true;
		}
	}
	PQclear(a.res);
	PQclear(b.res);
	sc_buf_free(&a.prev);
	sc_buf_free(&b.prev);
	if (failed || R->err->code)
		return -1;
	return close_cursors(R, t);
}

/* ---- the stateful merge ---- */

/* Columns of the stateful stream after the keys. */
enum { SC_HASH, SC_UPD, SC_PRESENT, SC_CLASS, SC_INBASE, SC_UL, SC_UR };

/* Every key either side must look at (changed or written by the last run
 * on either side, deleted since, unresolved), each side's row for it
 * (present, its class, its hash), in key order: the same keys from both. */
static int state_query(run *R, tab *t, int s)
{
	sc_pg *pg = R->pg[s];
	const ts_prev *p = &t->prev[s];
	sc_buf q = SC_BUF_INIT;
	sc_buf_puts(&q, "DECLARE sc_h NO SCROLL CURSOR FOR SELECT ");
	for (size_t i = 0; i < t->nkeys; i++)
		sc_buf_printf(&q, "u.k%zu::text, ", i + 1);
	char *cls = sc_ts_cls_sql();
	char *kn = sc_ts_knames(t, "");
	char *m = sc_ts_kmatch(t, pg, "t", "u");
	char *kb = sc_ts_kkmatch(t, "b", "u"), *kr = sc_ts_kkmatch(t, "r", "u");
	char *ord = key_order(t, pg, "u", true);
	sc_buf_printf(&q, "CASE WHEN t.ctid IS NOT NULL THEN %s END, %s, t.ctid IS NOT NULL, CASE WHEN t.ctid IS NOT NULL"
		      " THEN %s END, b.k1 IS NOT NULL, ",
		      t->hash, t->updated ? t->updated : "NULL::bigint", cls);
	/* No unresolved keys on either side (the usual case): no third key
	 * set and no third probe per key. */
	if (t->nunres)
		sc_buf_printf(&q, "r.ul, r.ur FROM (SELECT %s FROM pg_temp.sc_i_%d UNION SELECT %s FROM pg_temp.sc_o_%d"
			      " UNION SELECT %s FROM syncctl.tenant_sync_unresolved_%lld) u",
			      kn, t->index, kn, t->index, kn, p->id);
	else
		sc_buf_printf(&q, "NULL::bool, NULL::bool FROM (SELECT %s FROM pg_temp.sc_i_%d UNION SELECT %s FROM pg_temp.sc_o_%d) u",
			      kn, t->index, kn, t->index);
	sc_buf_printf(&q, " LEFT JOIN %s t ON %s%s LEFT JOIN syncctl.tenant_sync_keys_%lld b ON %s", t->s[s].qt, m, t->scope_and,
		      p->id, kb);
	if (t->nunres)
		sc_buf_printf(&q, " LEFT JOIN syncctl.tenant_sync_unresolved_%lld r ON %s", p->id, kr);
	sc_buf_printf(&q, " ORDER BY %s", ord);
	free(cls);
	free(kn);
	free(m);
	free(kb);
	free(kr);
	free(ord);
	char ages[2][16];
	const char *params[5];
	sc_ts_cls_params(p, ages, params);
	int rc = sc_pg_command(pg, q.data, 5, params, R->err);
	sc_buf_free(&q);
	return rc;
}

/* The full stream (much changed): every row of the side with its class
 * and state, and the keys of the base or unresolved that it lacks. */
static int state_query_full(run *R, tab *t, int s)
{
	sc_pg *pg = R->pg[s];
	const ts_prev *p = &t->prev[s];
	long long id = p->id;
	sc_buf q = SC_BUF_INIT;
	sc_buf_puts(&q, "DECLARE sc_h NO SCROLL CURSOR FOR SELECT ");
	for (size_t i = 0; i < t->nkeys; i++)
		sc_buf_printf(&q, "x.k%zu::text, ", i + 1);
	char *cls = sc_ts_cls_sql();
	char *kn = sc_ts_knames(t, ""), *bk = sc_ts_knames(t, "b."), *rk = sc_ts_knames(t, "r.");
	char *mb = sc_ts_kmatch(t, pg, "t", "b"), *mr = sc_ts_kmatch(t, pg, "t", "r");
	char *br = sc_ts_kkmatch(t, "b", "r");
	sc_buf tk = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		char *n = qi(pg, t->cols[t->keys[i]]->name);
		sc_buf_printf(&tk, "%st.%s AS k%zu", i ? ", " : "", n, i + 1);
		free(n);
	}
	char *ord = key_order(t, pg, "x", true);
	sc_buf_printf(&q, "x.h, x.u, x.p, x.c, x.inb, x.ul, x.ur FROM ("
		      "SELECT %s, %s AS h, %s AS u, true AS p, %s AS c, b.k1 IS NOT NULL AS inb, r.ul, r.ur"
		      " FROM %s t LEFT JOIN syncctl.tenant_sync_keys_%lld b ON %s"
		      " LEFT JOIN syncctl.tenant_sync_unresolved_%lld r ON %s%s"
		      " UNION ALL SELECT %s, NULL, NULL, false, NULL, true, r.ul, r.ur FROM syncctl.tenant_sync_keys_%lld b"
		      " LEFT JOIN syncctl.tenant_sync_unresolved_%lld r ON %s WHERE NOT EXISTS (SELECT 1 FROM %s t WHERE %s%s)"
		      " UNION ALL SELECT %s, NULL, NULL, false, NULL, false, r.ul, r.ur FROM syncctl.tenant_sync_unresolved_%lld r"
		      " WHERE NOT EXISTS (SELECT 1 FROM syncctl.tenant_sync_keys_%lld b WHERE %s)"
		      " AND NOT EXISTS (SELECT 1 FROM %s t WHERE %s%s)) x ORDER BY %s",
		      tk.data, t->hash, t->updated ? t->updated : "NULL::bigint", cls, t->s[s].qt, id, mb, id, mr, t->scope,
		      bk, id, id, br, t->s[s].qt, mb, t->scope_and,
		      rk, id, id, br, t->s[s].qt, mr, t->scope_and, ord);
	(void)kn;
	free(cls);
	free(kn);
	free(bk);
	free(rk);
	free(mb);
	free(mr);
	free(br);
	free(ord);
	sc_buf_free(&tk);
	char ages[2][16];
	const char *params[5];
	sc_ts_cls_params(p, ages, params);
	int rc = sc_pg_command(pg, q.data, 5, params, R->err);
	sc_buf_free(&q);
	return rc;
}

static bool col_bool(const hstream *h, int base, int c)
{
	const char *v = PQgetvalue(h->res, h->row, base + c);
	return !PQgetisnull(h->res, h->row, base + c) && v[0] == 't';
}

/* One key, from both sides' records: the three-way decision. `a` or `b`
 * may be NULL (the full stream, a key that side knows nothing of: absent
 * there, not in the base, not unresolved). */
static void decide(run *R, tab *t, const hstream *a, const hstream *b, long long *present_a, long long *equal)
{
	const sc_ts_opts *o = R->o;
	int k = (int)t->nkeys;
	const hstream *c = a ? a : b;
	bool pA = a && col_bool(a, k, SC_PRESENT), pB = b && col_bool(b, k, SC_PRESENT);
	int cA = pA ? atoi(PQgetvalue(a->res, a->row, k + SC_CLASS)) : 0;
	int cB = pB ? atoi(PQgetvalue(b->res, b->row, k + SC_CLASS)) : 0;
	bool inb = col_bool(c, k, SC_INBASE);
	bool unres = !PQgetisnull(c->res, c->row, k + SC_UL);
	bool ul = col_bool(c, k, SC_UL), ur = col_bool(c, k, SC_UR);
	/* The state changes only when the key's base membership or its
	 * unresolved flags do: an updated row stays in the base as it was. */
#define decide_state(R_, t_, h_, inb_, ul_, ur_) \
	do { \
		bool inb2 = (inb_); \
		int ul2 = (ul_), ur2 = (ur_); \
		if (inb2 != inb || (ul2 >= 0) != unres || (unres && (ul2 != (int)ul || ur2 != (int)ur))) \
			decide_state((R_), (t_), (h_), inb2, ul2, ur2); \
	} while (0)
	/* Changed since the agreed state: written by someone else, new (not in
	 * the base), deleted (in the base, gone), or carried over unresolved. */
	bool dA = ul || (pA ? cA == 2 || !inb : inb);
	bool dB = ur || (pB ? cB == 2 || !inb : inb);
	*present_a += pA;
	bool same = pA && pB && !strcmp(PQgetvalue(a->res, a->row, k + SC_HASH), PQgetvalue(b->res, b->row, k + SC_HASH));
	if (same || (!pA && !pB)) {
		*equal += same;
		decide_state(R, t, c, pA, -1, -1);
		return;
	}
	if (o->direction != SC_TS_BOTH) {
		int src = o->direction == SC_TS_TO_REMOTE ? 0 : 1;
		const hstream *hs = src ? b : a, *ht = src ? a : b;
		bool ps = src ? pB : pA, pt = src ? pA : pB;
		if (ps) {
			send_row(R, t, src, pt ? SC_TS_UPD : SC_TS_INS, hs);
			decide_state(R, t, hs, true, -1, -1);
		} else if (o->delete_rows) {
			delete_row(R, t, !src, ht);
			decide_state(R, t, ht, false, -1, -1);
		} else {
			char why[64];
			snprintf(why, sizeof why, "on %s only, kept (no --delete)", SIDE[!src]);
			keep_row(R, t, !src, ht, why);
			decide_state(R, t, ht, inb, dA, dB);
		}
		return;
	}
	if (pA && pB) {
		/* Both there and different: one side's change wins; a change on
		 * both sides, or on neither (a conflict left earlier, a trigger
		 * rewriting what the last run wrote), is a conflict. */
		if (dA && !dB) {
			send_row(R, t, 0, SC_TS_UPD, a);
			decide_state(R, t, a, true, -1, -1);
		} else if (dB && !dA) {
			send_row(R, t, 1, SC_TS_UPD, b);
			decide_state(R, t, a, true, -1, -1);
		} else if (settle(R, t, a, b, k + SC_UPD, dA ? "differs on both sides" : "differs, changed on neither side")) {
			decide_state(R, t, a, true, -1, -1);
		} else {
			decide_state(R, t, a, inb, 1, 1);
		}
		return;
	}
	/* On one side only: `on` has it. */
	int on = pA ? 0 : 1;
	const hstream *h = on ? b : a;
	bool d_on = on ? dB : dA, d_off = on ? dA : dB;
	if (!d_off) {
		/* New on `on` (the other side has no trace of it). */
		send_row(R, t, on, SC_TS_INS, h);
		decide_state(R, t, h, true, -1, -1);
		return;
	}
	char why[96];
	if (!d_on) {
		/* Deleted on the other side, unchanged here. */
		if (o->delete_rows) {
			delete_row(R, t, on, h);
			decide_state(R, t, h, false, -1, -1);
		} else {
			snprintf(why, sizeof why, "deleted on %s, kept on %s", SIDE[!on], SIDE[on]);
			keep_row(R, t, on, h, why);
			decide_state(R, t, h, inb, on == 1, on == 0);
		}
		return;
	}
	/* Deleted on the other side, changed here. */
	snprintf(why, sizeof why, "deleted on %s, changed on %s", SIDE[!on], SIDE[on]);
	int pick = o->conflict == SC_TS_LOCAL ? 0 : o->conflict == SC_TS_REMOTE ? 1 : -1;
	if (o->conflict == SC_TS_NEWER || pick == on) {
		/* The change is kept (a deletion has no time to compare). */
		send_row(R, t, on, SC_TS_INS, h);
		decide_state(R, t, h, true, -1, -1);
	} else if (pick == !on && o->delete_rows) {
		delete_row(R, t, on, h);
		decide_state(R, t, h, false, -1, -1);
	} else if (pick == !on) {
		snprintf(why, sizeof why, "deleted on %s, kept on %s", SIDE[!on], SIDE[on]);
		keep_row(R, t, on, h, why);
		/* The deletion won: what stays pending is the deletion alone. */
		decide_state(R, t, h, inb, on == 1, on == 0);
	} else {
		conflict(R, t, h, why);
		decide_state(R, t, h, inb, 1, 1);
	}
}
#undef decide_state

/* With state: only the keys that changed on either side since the last
 * sync, that it wrote, that were deleted, or that it left unresolved. */
static int merge_stateful(run *R, tab *t)
{
	const sc_ts_opts *o = R->o;
	if (o->on_progress)
		o->on_progress(o->ud, t->name, "reading the changes on both servers", 0);
	long long n[2];
	if (sc_ts_changed_keys(R, t, n) != 0)
		return -1;
	long long examined_present = 0, equal = 0;
	if (t->full) {
		/* Every row of both sides, merged by key like a stateless run. */
		if (state_query_full(R, t, 0) != 0 || state_query_full(R, t, 1) != 0)
			return -1;
		hstream a = { 0 }, b = { 0 };
		if (hs_start(R, &a, &b) != 0)
			return -1;
		if (o->on_progress)
			o->on_progress(o->ud, t->name, "hashing rows on both servers", 0);
		bool failed = false;
		bool ha = hs_next(R, &a, &failed), hb = hs_next(R, &b, &failed);
		long long seen = 0;
		while (!failed && (ha || hb)) {
			if (o->on_progress && ++seen % 100000 == 0)
				o->on_progress(o->ud, t->name, "compared", seen);
			int c = !ha ? 1 : !hb ? -1 : key_cmp(t, &a, &b);
			decide(R, t, c <= 0 ? &a : NULL, c >= 0 ? &b : NULL, &examined_present, &equal);
			if (c <= 0)
				ha = hs_next(R, &a, &failed);
			if (c >= 0)
				hb = hs_next(R, &b, &failed);
		}
		PQclear(a.res);
		PQclear(b.res);
		if (failed || R->err->code)
			return -1;
		if (close_cursors(R, t) != 0)
			return -1;
	} else if (n[0] || n[1] || t->nunres) {
		/* Each side learns the other's keys. */
		for (int s = 0; s < 2; s++) {
			if (!n[s])
				continue;
			char *out = sc_xasprintf("COPY pg_temp.sc_i_%d TO STDOUT", t->index);
			char *in = sc_xasprintf("COPY pg_temp.sc_o_%d FROM STDIN", t->index);
			long long got = copy_stream(R, R->pg[s], out, R->pg[!s], in);
			free(out);
			free(in);
			if (got < 0)
				return -1;
			if (sc_ts_analyze_keys(R, !s, 'o', t->index) != 0)
				return -1;
		}
		if (sc_ts_plan(R, SC_TS_PLAN_PROBE) != 0)
			return -1;
		if (state_query(R, t, 0) != 0 || state_query(R, t, 1) != 0 || sc_ts_plan(R, SC_TS_PLAN_DEFAULT) != 0)
			return -1;
		hstream a = { 0 }, b = { 0 };
		if (hs_start(R, &a, &b) != 0)
			return -1;
		bool failed = false;
		bool ha = hs_next(R, &a, &failed), hb = hs_next(R, &b, &failed);
		long long seen = 0;
		while (!failed && ha && hb) {
			for (size_t i = 0; i < t->nkeys; i++)
				if (strcmp(PQgetvalue(a.res, a.row, (int)i), PQgetvalue(b.res, b.row, (int)i)) != 0 ||
				    col_bool(&a, (int)t->nkeys, SC_INBASE) != col_bool(&b, (int)t->nkeys, SC_INBASE) ||
				    col_bool(&a, (int)t->nkeys, SC_UL) != col_bool(&b, (int)t->nkeys, SC_UL) ||
				    col_bool(&a, (int)t->nkeys, SC_UR) != col_bool(&b, (int)t->nkeys, SC_UR)) {
					sc_error_set(R->err, SC_EXIT_FAILED,
						     "%s: the state recorded on local and on remote differs (edited by hand?); "
						     "run once with --full", t->name);
					failed = true;
					break;
				}
			if (failed)
				break;
			if (o->on_progress && ++seen % 100000 == 0)
				o->on_progress(o->ud, t->name, "compared", seen);
			decide(R, t, &a, &b, &examined_present, &equal);
			ha = hs_next(R, &a, &failed);
			hb = hs_next(R, &b, &failed);
		}
		if (!failed && (ha || hb)) {
			sc_error_set(R->err, SC_EXIT_FAILED, "%s: the two sides listed different keys to compare", t->name);
			failed = true;
		}
		PQclear(a.res);
		PQclear(b.res);
		if (failed || R->err->code)
			return -1;
		if (close_cursors(R, t) != 0)
			return -1;
	}
	t->out->unchanged = t->rows[0] - examined_present + equal;
	return 0;
}

static int table_empty(run *R, tab *t, int s, bool *empty)
{
	char *sql = sc_xasprintf("SELECT NOT EXISTS (SELECT 1 FROM %s t%s)", t->s[s].qt, t->scope);
	PGresult *r = data_exec(R->pg[s], sql, R->err);
	free(sql);
	if (!r)
		return -1;
	*empty = sc_pg_get_bool(r, 0, 0);
	PQclear(r);
	return 0;
}

static long long count_rows(run *R, tab *t, int s)
{
	char *sql = sc_xasprintf("SELECT count(*) FROM %s t%s", t->s[s].qt, t->scope);
	PGresult *r = data_exec(R->pg[s], sql, R->err);
	free(sql);
	if (!r)
		return -1;
	long long n = sc_pg_get_ll(r, 0, 0, 0);
	PQclear(r);
	return n;
}

static int diff_table(run *R, tab *t)
{
	const sc_ts_opts *o = R->o;
	if (t->stateful)
		return merge_stateful(R, t);
	if (table_empty(R, t, 0, &t->empty[0]) != 0 || table_empty(R, t, 1, &t->empty[1]) != 0)
		return -1;
	if (t->empty[0] && t->empty[1])
		return 0;
	/* An empty target is filled by one COPY stream from the source. */
	for (int s = 0; s < 2; s++) {
		bool toward = o->direction == SC_TS_BOTH || o->direction == (s == 0 ? SC_TS_TO_REMOTE : SC_TS_TO_LOCAL);
		if (toward && t->empty[!s] && !t->empty[s] && !o->dry_run) {
			t->out->direct[s] = true;
			return 0;
		}
	}
	return merge_table(R, t);
}

/* ---- applying ---- */

static int make_temp(run *R, tab *t, int s)
{
	sc_pg *pg = R->pg[s];
	char *kc = key_cols(t, pg, "t.");
	sc_buf kk = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		char *n = qi(pg, t->cols[t->keys[i]]->name);
		sc_buf_printf(&kk, "%st.%s AS k%zu", i ? ", " : "", n, i + 1);
		free(n);
	}
	static const char *const kinds[] = { "ki", "ku", "kd" };
	int rc = 0;
	bool writes = !R->o->dry_run, state = R->state_ok[0] && R->state_ok[1] && !R->o->full;
	for (int k = 0; k < 3 && rc == 0 && writes; k++) {
		char *sql = sc_xasprintf("CREATE TEMP TABLE sc_%s_%d AS SELECT %s FROM %s t WITH NO DATA", kinds[k], t->index, kc, t->s[s].qt);
		rc = sc_pg_command(pg, sql, 0, NULL, R->err);
		free(sql);
	}
	for (int k = 0; k < 2 && rc == 0 && writes; k++) {
		char *sql = sc_xasprintf("CREATE TEMP TABLE sc_d%c_%d AS SELECT %s FROM %s t WITH NO DATA", "iu"[k], t->index, t->tcollist, t->s[s].qt);
		rc = sc_pg_command(pg, sql, 0, NULL, R->err);
		free(sql);
	}
	/* The state's: changed keys here (sc_i), the other side's (sc_o), and
	 * the decisions for the state's key tables (sc_dec). */
	for (int k = 0; k < 2 && rc == 0 && state; k++) {
		char *sql = sc_xasprintf("CREATE TEMP TABLE sc_%c_%d AS SELECT %s FROM %s t WITH NO DATA", "io"[k], t->index,
					 kk.data, t->s[s].qt);
		rc = sc_pg_command(pg, sql, 0, NULL, R->err);
		free(sql);
	}
	if (rc == 0 && R->record) {
		char *sql = sc_xasprintf("CREATE TEMP TABLE sc_dec_%d AS SELECT %s, true AS inb, true AS ul, true AS ur"
					 " FROM %s t WITH NO DATA", t->index, kk.data, t->s[s].qt);
		rc = sc_pg_command(pg, sql, 0, NULL, R->err);
		free(sql);
	}
	sc_buf_free(&kk);
	free(kc);
	return rc;
}

/* Sends the spooled rows of side `from` (to insert and to update on the
 * other side) into the other side's temporary tables. */
static int transfer(run *R, tab *t, int from)
{
	sc_pg *src = R->pg[from], *dst = R->pg[!from];
	for (int k = SC_TS_INS; k <= SC_TS_UPD; k++) {
		if (!t->f[from][k])
			continue;
		char c = k == SC_TS_INS ? 'i' : 'u';
		char *in = sc_xasprintf("COPY pg_temp.sc_k%c_%d FROM STDIN", c, t->index);
		int rc = copy_file_in(R, src, in, t->f[from][k]);
		free(in);
		if (rc != 0)
			return -1;
		char *kname = sc_xasprintf("pg_temp.sc_k%c_%d", c, t->index);
		char *m = key_match(t, src, "t", "k");
		const char *fmt = t->binary ? " (FORMAT binary)" : "";
		char *out = sc_xasprintf("COPY (SELECT %s FROM %s t JOIN %s k ON %s) TO STDOUT%s", t->tcollist, t->s[from].qt, kname, m, fmt);
		char *into = sc_xasprintf("COPY pg_temp.sc_d%c_%d (%s) FROM STDIN%s", c, t->index, t->collist, fmt);
		long long n = copy_stream(R, src, out, dst, into);
		free(kname);
		free(m);
		free(out);
		free(into);
		if (n < 0)
			return -1;
		/* Statistics, so the apply joins by the key's index instead of
		 * scanning the whole target for a few rows: of the key columns
		 * only, the join's (all columns cost 65 ms for 10,000 rows). */
		char *kn = key_cols(t, dst, "");
		char *an = sc_xasprintf("ANALYZE pg_temp.sc_d%c_%d (%s)", c, t->index, kn);
		free(kn);
		int arc = n > 0 ? sc_pg_command(dst, an, 0, NULL, R->err) : 0;
		free(an);
		if (arc != 0)
			return -1;
		if (n != t->out->n[from][k]) {
			sc_error_set(R->err, SC_EXIT_FAILED, "%s: %lld rows to send from %s, %lld read; nothing was written",
				     t->name, t->out->n[from][k], SIDE[from], n);
			return -1;
		}
	}
	if (t->f[!from][SC_TS_DEL]) {
		char *in = sc_xasprintf("COPY pg_temp.sc_kd_%d FROM STDIN", t->index);
		int rc = copy_file_in(R, dst, in, t->f[!from][SC_TS_DEL]);
		free(in);
		in = sc_xasprintf("ANALYZE pg_temp.sc_kd_%d", t->index);
		if (rc == 0)
			rc = sc_pg_command(dst, in, 0, NULL, R->err);
		free(in);
		if (rc != 0)
			return -1;
	}
	return 0;
}

static int expect(run *R, tab *t, const char *what, long long got, long long want, int side)
{
	if (got < 0)
		return -1;
	if (got != want) {
		sc_error_set(R->err, SC_EXIT_FAILED,
			     "%s: %lld rows %s on %s where %lld were expected (rows changed during the run, or a key "
			     "outside the --tenant scope is taken); nothing was written, run again",
			     t->name, got, what, SIDE[side], want);
		return -1;
	}
	return 0;
}

static bool writes_to(const sc_ts_opts *o, int s);

/* A side whose table was empty gets the other's rows streamed in. */
static int apply_direct(run *R, tab *t, int to)
{
	int from = !to;
	if (R->o->on_progress)
		R->o->on_progress(R->o->ud, t->name, to ? "copying to remote" : "copying to local", 0);
	const char *fmt = t->binary ? " (FORMAT binary)" : "";
	char *out = sc_xasprintf("COPY (SELECT %s FROM %s t%s) TO STDOUT%s", t->tcollist, t->s[from].qt, t->scope, fmt);
	char *into = sc_xasprintf("COPY %s (%s) FROM STDIN%s", t->s[to].qt, t->collist, fmt);
	long long n = copy_stream(R, R->pg[from], out, R->pg[to], into);
	free(out);
	free(into);
	if (n < 0)
		return -1;
	t->out->n[from][SC_TS_INS] = n;
	t->rows[from] = n;
	return 0;
}

static char *update_sql(run *R, tab *t, int to)
{
	sc_pg *pg = R->pg[to];
	sc_buf set = SC_BUF_INIT;
	for (size_t i = 0, n = 0; i < t->ncols; i++) {
		bool is_key = false;
		for (size_t k = 0; k < t->nkeys; k++)
			is_key |= t->keys[k] == i;
		if (is_key)
			continue;
		char *q = qi(pg, t->cols[i]->name);
		sc_buf_printf(&set, "%s%s = s.%s", n++ ? ", " : "", q, q);
		free(q);
	}
	char *sql = NULL;
	if (set.len) {
		char *m = key_match(t, pg, "t", "s");
		sql = sc_xasprintf("UPDATE %s t SET %s FROM pg_temp.sc_du_%d s WHERE %s", t->s[to].qt, set.data, t->index, m);
		free(m);
	}
	sc_buf_free(&set);
	return sql;
}

/* Inserts, then updates, the rows each side receives, on both sides at
 * once (each side's own order is kept: parents first, by the caller). */
static int apply_rows(run *R, tab *t, int unused)
{
	(void)unused;
	char *sql[2][2] = { { NULL, NULL }, { NULL, NULL } }; /* [step][side] */
	int rc = 0;
	for (int to = 0; to < 2 && rc == 0; to++) {
		int from = !to;
		if (!writes_to(R->o, to))
			continue;
		if (t->out->direct[from]) {
			rc = apply_direct(R, t, to);
			continue;
		}
		if (R->o->on_progress && (t->out->n[from][SC_TS_INS] || t->out->n[from][SC_TS_UPD]))
			R->o->on_progress(R->o->ud, t->name, to ? "writing to remote" : "writing to local", 0);
		if (t->out->n[from][SC_TS_INS])
			sql[0][to] = sc_xasprintf("INSERT INTO %s (%s)%s SELECT %s FROM pg_temp.sc_di_%d", t->s[to].qt, t->collist,
						  t->s[to].identity ? " OVERRIDING SYSTEM VALUE" : "", t->collist, t->index);
		if (t->out->n[from][SC_TS_UPD])
			sql[1][to] = update_sql(R, t, to);
	}
	static const char *const what[2] = { "inserted", "updated" };
	static const int kind[2] = { SC_TS_INS, SC_TS_UPD };
	for (int step = 0; step < 2 && rc == 0; step++) {
		PGresult *res[2];
		if (!sql[step][0] && !sql[step][1])
			continue;
		rc = sc_ts_both_exec(R, sql[step], NULL, 0, res);
		for (int to = 0; to < 2; to++) {
			if (rc == 0 && res[to])
				rc = expect(R, t, what[step], atoll(PQcmdTuples(res[to])), t->out->n[!to][kind[step]], to);
			PQclear(res[to]);
		}
	}
	for (int step = 0; step < 2; step++)
		for (int to = 0; to < 2; to++)
			free(sql[step][to]);
	return rc;
}

static int apply_deletes(run *R, tab *t, int to)
{
	if (!t->out->n[!to][SC_TS_DEL])
		return 0;
	return expect(R, t, "deleted", sc_ts_delete_keeping(R, t, to), t->out->n[!to][SC_TS_DEL], to);
}

/* Sequences owned by synced columns move past the highest value now in the
 * table, so the target's own next insert does not collide. */
int sc_ts_advance_sequences(run *R, tab *t, int to)
{
	sc_pg *pg = R->pg[to];
	for (size_t i = 0; i < t->s[to].ncols; i++) {
		const col *c = &t->s[to].cols[i];
		if (!c->seq || c->generated)
			continue;
		char *q = qi(pg, c->name);
		char *sql = sc_xasprintf("SELECT setval($1::regclass, m) FROM (SELECT max(t.%s)::bigint AS m FROM %s t) x"
					 " WHERE m >= coalesce(pg_sequence_last_value($1::regclass),"
					 " (SELECT seqstart FROM pg_sequence WHERE seqrelid = $1::regclass))", q, t->s[to].qt);
		const char *p[] = { c->seq };
		PGresult *r = sc_ts_data_exec(pg, sql, 1, p, R->err);
		free(sql);
		free(q);
		if (!r)
			return -1;
		PQclear(r);
	}
	return 0;
}

static bool receives(const tab *t, int to)
{
	const long long *n = t->out->n[!to];
	return t->out->direct[!to] || n[SC_TS_INS] || n[SC_TS_UPD];
}

/* ---- deletes over the limit ---- */

static bool too_many(const sc_ts_opts *o, long long del, long long rows)
{
	if (del <= 0 || o->allow_big_delete)
		return false;
	bool by_rows = o->max_delete_rows < 0 || del > o->max_delete_rows;
	bool by_pct = o->max_delete_pct < 0 || (rows > 0 ? 100.0 * (double)del / (double)rows > o->max_delete_pct : true);
	if (o->max_delete_rows < 0 && o->max_delete_pct < 0)
		return false;
	return by_rows && by_pct;
}

static bool check_deletes(run *R)
{
	bool refused = false;
	for (size_t i = 0; i < R->ntabs; i++) {
		tab *t = &R->tabs[i];
		for (int on = 0; on < 2; on++) {
			long long del = t->out->n[!on][SC_TS_DEL];
			if (!too_many(R->o, del, t->rows[on]))
				continue;
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "table", t->name);
			cJSON_AddStringToObject(e, "side", SIDE[on]);
			cJSON_AddNumberToObject(e, "delete", (double)del);
			cJSON_AddNumberToObject(e, "rows", (double)t->rows[on]);
			cJSON_AddItemToArray(R->r->refused, e);
			refused = true;
		}
	}
	return refused;
}

/* ---- the run ---- */

static void free_tab(tab *t)
{
	free(t->name);
	sc_ts_free_side(&t->s[0]);
	sc_ts_free_side(&t->s[1]);
	free(t->cols);
	free(t->keys);
	free(t->collist);
	free(t->tcollist);
	free(t->scope_cond);
	free(t->scope);
	free(t->scope_and);
	free(t->scope_text);
	free(t->key_text);
	free(t->updated);
	free(t->hash);
	free(t->mode_reason);
	sc_ts_free_prev(&t->prev[0]);
	sc_ts_free_prev(&t->prev[1]);
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < 3; k++)
			if (t->f[s][k])
				fclose(t->f[s][k]);
	if (t->fdec)
		fclose(t->fdec);
}

static bool writes_to(const sc_ts_opts *o, int s)
{
	return !o->dry_run && (o->direction == SC_TS_BOTH || o->direction == (s == 0 ? SC_TS_TO_LOCAL : SC_TS_TO_REMOTE));
}

static void new_run_id(char out[37])
{
	unsigned char b[16];
	if (RAND_bytes(b, sizeof b) != 1) {
		/* No randomness from OpenSSL: the clock and the pid still tell runs apart. */
		unsigned long long x = (unsigned long long)time(NULL) * 1000003ULL ^ (unsigned long long)sc_now_ms();
		for (size_t i = 0; i < sizeof b; i++, x = x * 6364136223846793005ULL + 1442695040888963407ULL)
			b[i] = (unsigned char)(x >> 56);
	}
	b[6] = (unsigned char)((b[6] & 0x0f) | 0x40);
	b[8] = (unsigned char)((b[8] & 0x3f) | 0x80);
	snprintf(out, 37, "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x", b[0], b[1], b[2], b[3],
		 b[4], b[5], b[6], b[7], b[8], b[9], b[10], b[11], b[12], b[13], b[14], b[15]);
}

static int connect_all(run *R)
{
	for (int s = 0; s < 2; s++)
		if (!(R->pg[s] = sc_ts_connect_side(R, s)))
			return -1;
	/* Local first on every run, so two runs cannot each hold one side. */
	for (int s = 0; s < 2; s++)
		if (sc_ts_take_lock(R, R->pg[s]) != 0)
			return -1;
	for (int s = 0; s < 2; s++)
		if (sc_ts_session(R, s) != 0)
			return -1;
	return 0;
}

/* Connected, both sides identified, the state's tables ready; --delete
 * needs each written side able to keep what it deletes. */
static int sync_prepare(run *R)
{
	const sc_ts_opts *o = R->o;
	if (connect_all(R) != 0)
		return -1;
	for (int s = 0; s < 2; s++)
		if (sc_ts_identify(R, s) != 0 || sc_ts_state_setup(R, s) != 0)
			return -1;
	R->record = !o->dry_run && R->state_ok[0] && R->state_ok[1];
	if (!o->dry_run && !R->record) {
		int s = R->state_ok[0] ? 1 : 0;
		R->r->state_reason = sc_xasprintf("the %s database cannot hold it: %s", SIDE[s],
						  R->state_why[s] ? R->state_why[s] : "unknown");
	}
	/* Every row a run deletes is kept first, where --restore finds it. */
	if (!o->dry_run && o->delete_rows)
		for (int s = 0; s < 2; s++)
			if (writes_to(o, s) && !R->keep_ok[s]) {
				sc_error_set(R->err, SC_EXIT_FAILED,
					     "--delete: the %s database cannot keep the rows it would delete (syncctl.deleted_rows: %s); "
					     "create schema syncctl for this role, or run without --delete",
					     SIDE[s], R->state_why[s] ? R->state_why[s] : "missing");
				return -1;
			}
	return 0;
}

/* Each table read on both sides and planned, in foreign-key order. 1 when
 * the schemas differ (problems reported, nothing read or written). */
static int sync_plan(run *R)
{
	const sc_ts_opts *o = R->o;
	R->ntabs = o->ntables;
	R->tabs = sc_xcalloc(R->ntabs + 1, sizeof *R->tabs);
	for (size_t i = 0; i < R->ntabs; i++) {
		tab *t = &R->tabs[i];
		t->name = sc_xstrdup(o->tables[i]);
		t->index = (int)i;
		for (int s = 0; s < 2; s++)
			if (sc_ts_read_side(R, s, t) != 0)
				return -1;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(R->tabs[k].s[0].oid, t->s[0].oid)) {
				sc_error_set(R->err, SC_EXIT_USAGE, "--table %s and --table %s are the same table (%s)",
					     R->tabs[k].name, t->name, t->s[0].qt);
				return -1;
			}
		if (plan_table(R, t) != 0)
			return -1;
		for (int s = 0; s < 2; s++)
			R->altered[s] |= t->s[s].altered;
	}
	if (R->r->nproblems) {
		/* The schemas differ: nothing is read or written. */
		if (R->record)
			R->r->state_reason = sc_xstrdup("the tables differ: nothing was written");
		return 1;
	}
	if (order_tables(R) != 0)
		return -1;
	R->r->ntables = R->ntabs;
	R->r->tables = sc_xcalloc(R->ntabs + 1, sizeof *R->r->tables);
	for (size_t k = 0; k < R->ntabs; k++) {
		tab *t = &R->tabs[R->order[k]];
		t->out = &R->r->tables[k];
		t->out->name = sc_xstrdup(t->name);
	}
	return 0;
}

/* The temporary tables, each side's transaction and snapshot, and the
 * state each table's mode is decided from. */
static int sync_begin(run *R)
{
	const sc_ts_opts *o = R->o;
	/* Temporary tables exist before the snapshot: a read-only transaction
	 * may fill them but not create them. */
	for (size_t i = 0; i < R->ntabs; i++)
		for (int s = 0; s < 2; s++)
			if (make_temp(R, &R->tabs[i], s) != 0)
				return -1;
	for (int s = 0; s < 2; s++) {
		bool rw = writes_to(o, s) || R->record;
		if (sc_pg_command(R->pg[s], rw ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
					       : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
				  0, NULL, R->err) != 0 ||
		    sc_ts_snapshot(R, s) != 0)
			return -1;
	}
	/* From here on the statements join few rows (changed keys, differing
	 * rows) to big tables: costed for cached data, the planner probes the
	 * key's index instead of hashing the whole table. The full scans keep
	 * the server's own setting (set before this, they ran before). */
	for (size_t k = 0; k < R->ntabs; k++) {
		tab *t = &R->tabs[R->order[k]];
		if (sc_ts_state_read(R, t) != 0)
			return -1;
		t->out->stateful = t->stateful;
		t->out->mode_reason = t->mode_reason ? sc_xstrdup(t->mode_reason) : NULL;
	}
	return 0;
}

/* What differs, table by table (with --dry-run, the rows each side would
 * receive counted). */
static int sync_diff(run *R)
{
	const sc_ts_opts *o = R->o;
	for (size_t k = 0; k < R->ntabs; k++) {
		tab *t = &R->tabs[R->order[k]];
		double t0 = sc_now_ms();
		if (diff_table(R, t) != 0)
			return -1;
		if (o->dry_run)
			for (int s = 0; s < 2; s++)
				if (t->out->direct[s] && (t->out->n[s][SC_TS_INS] = count_rows(R, t, s)) < 0)
					return -1;
		t->out->ms = sc_now_ms() - t0;
	}
	return 0;
}

static int transfer_both(run *R, tab *t, int unused)
{
	(void)unused;
	return transfer(R, t, 0) != 0 || transfer(R, t, 1) != 0 ? -1 : 0;
}

/* step(R, t, arg) for each table, parents first (or children first), its
 * time added to the table's. */
static int each_table(run *R, bool children_first, int (*step)(run *, tab *, int), int arg)
{
	for (size_t i = 0; i < R->ntabs; i++) {
		tab *t = &R->tabs[R->order[children_first ? R->ntabs - 1 - i : i]];
		double t0 = sc_now_ms();
		if (step(R, t, arg) != 0)
			return -1;
		t->out->ms += sc_now_ms() - t0;
	}
	return 0;
}

/* The writes: rows moved and applied parents first, deletes children
 * first, sequences advanced, kept rows pruned, the state recorded. */
static int sync_write(run *R)
{
	const sc_ts_opts *o = R->o;
	sc_ts_test_pause("before-write");
	for (int s = 0; s < 2; s++)
		if (sc_pg_command(R->pg[s], "SELECT set_config('random_page_cost', '1.1', false)", 0, NULL, R->err) != 0)
			return -1;
	/* Rows both ways, then applied parents first, then deletes children
	 * first (each side in its own order; the sides apart). */
	if (each_table(R, false, transfer_both, 0) != 0 || each_table(R, false, apply_rows, 0) != 0)
		return -1;
	for (int to = 0; to < 2; to++) {
		if (!writes_to(o, to))
			continue;
		if (each_table(R, true, apply_deletes, to) != 0)
			return -1;
		for (size_t k = 0; k < R->ntabs; k++) {
			tab *t = &R->tabs[R->order[k]];
			if (receives(t, to) && sc_ts_advance_sequences(R, t, to) != 0)
				return -1;
		}
	}
	for (int s = 0; s < 2; s++)
		if (R->keep_ok[s] && (writes_to(o, s) || R->record) && sc_ts_prune(R, s) != 0)
			return -1;
	if (R->record)
		for (int s = 0; s < 2; s++) {
			if (o->on_progress)
				o->on_progress(o->ud, s ? "remote" : "local", "recording the state", 0);
			if (sc_ts_state_write(R, s) != 0)
				return -1;
		}
	return 0;
}

static int sync_all(run *R)
{
	const sc_ts_opts *o = R->o;
	if (sync_prepare(R) != 0)
		return -1;
	int planned = sync_plan(R);
	if (planned != 0)
		return planned < 0 ? -1 : 0;
	if (sync_begin(R) != 0 || sync_diff(R) != 0)
		return -1;
	if (check_deletes(R)) {
		/* Refused: nothing is written, and the next run sees the same. */
		if (R->record)
			R->r->state_reason = sc_xstrdup("deletes over --max-delete: nothing was written");
		return 0;
	}
	if (o->dry_run)
		return 0;
	if (sync_write(R) != 0)
		return -1;
	/* Each database commits all of its changes (and its state) or none;
	 * the second commit failing leaves the first database done and the
	 * second untouched: their records then differ, and the next run is
	 * stateless and converges. */
	if (sc_pg_command(R->pg[0], "COMMIT", 0, NULL, R->err) != 0)
		return -1;
	sc_ts_test_pause("between-commits");
	if (sc_pg_command(R->pg[1], "COMMIT", 0, NULL, R->err) != 0)
		return -1;
	R->r->written = true;
	R->r->state_recorded = R->record;
	return 0;
}

static void result_init(sc_ts_result *r)
{
	memset(r, 0, sizeof *r);
	r->conflicts = cJSON_CreateArray();
	r->unresolved = cJSON_CreateArray();
	r->refused = cJSON_CreateArray();
	r->notes = cJSON_CreateArray();
	r->restored = cJSON_CreateArray();
}

static void run_free(run *R)
{
	/* Closing the connections rolls back whatever did not commit and
	 * releases the locks. */
	for (int s = 0; s < 2; s++) {
		sc_pg_close(R->pg[s]);
		sc_ts_free_ident(&R->id[s]);
		free(R->state_why[s]);
		free(R->snapshot[s]);
	}
	for (size_t i = 0; i < R->ntabs; i++)
		free_tab(&R->tabs[i]);
	free(R->tabs);
	free(R->order);
}

int sc_tenant_sync(const sc_ts_opts *o, sc_ts_result *r, sc_error *err)
{
	result_init(r);
	double t0 = sc_now_ms();
	run R = { .o = o, .r = r, .err = err };
	new_run_id(R.run_id);
	memcpy(r->run_id, R.run_id, sizeof r->run_id);
	sc_error_clear(err);
	int rc = sync_all(&R);
	if (rc != 0 && !err->code)
		sc_error_set(err, SC_EXIT_FAILED, "tenant-sync failed");
	run_free(&R);
	r->ms = sc_now_ms() - t0;
	return rc;
}

/* ---- --restore ---- */


int sc_tenant_restore(const sc_ts_opts *o, sc_ts_result *r, sc_error *err)
{
	result_init(r);
	double t0 = sc_now_ms();
	run R = { .o = o, .r = r, .err = err };
	snprintf(r->run_id, sizeof r->run_id, "%s", o->restore);
	sc_error_clear(err);
	int rc = connect_all(&R);
	for (int s = 0; s < 2 && rc == 0; s++)
		rc = sc_ts_restore_side(&R, s);
	/* Each database restores all of its rows or none; local commits first. */
	for (int s = 0; s < 2 && rc == 0; s++)
		rc = sc_pg_command(R.pg[s], "COMMIT", 0, NULL, err);
	if (rc == 0)
		r->written = r->nrestored > 0;
	if (rc != 0 && !err->code)
		sc_error_set(err, SC_EXIT_FAILED, "tenant-sync --restore failed");
	run_free(&R);
	r->ms = sc_now_ms() - t0;
	return rc;
}

void sc_ts_result_free(sc_ts_result *r)
{
	for (size_t i = 0; i < r->ntables; i++) {
		free(r->tables[i].name);
		free(r->tables[i].mode_reason);
	}
	free(r->tables);
	for (size_t i = 0; i < r->nproblems; i++)
		free(r->problems[i]);
	free(r->problems);
	free(r->state_reason);
	cJSON_Delete(r->conflicts);
	cJSON_Delete(r->unresolved);
	cJSON_Delete(r->refused);
	cJSON_Delete(r->notes);
	cJSON_Delete(r->restored);
	memset(r, 0, sizeof *r);
}

const char *sc_ts_mode(const sc_ts_result *r)
{
	size_t n = 0;
	for (size_t i = 0; i < r->ntables; i++)
		n += r->tables[i].stateful;
	return n == 0 ? "stateless" : n == r->ntables ? "stateful" : "mixed";
}

cJSON *sc_ts_json(const sc_ts_opts *o, const sc_ts_result *r)
{
	static const char *const dirs[] = { "to-remote", "to-local", "both" };
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "status", r->nproblems ? "schema_differs" : cJSON_GetArraySize(r->refused) ? "delete_refused"
					     : r->nconflicts ? "conflicts" : "ok");
	cJSON_AddStringToObject(j, "direction", dirs[o->direction]);
	cJSON_AddBoolToObject(j, "dry_run", o->dry_run);
	cJSON_AddBoolToObject(j, "written", r->written);
	cJSON_AddStringToObject(j, "run_id", r->run_id);
	cJSON_AddStringToObject(j, "mode", sc_ts_mode(r));
	const char *reason = NULL;
	for (size_t i = 0; i < r->ntables && !reason; i++)
		reason = r->tables[i].mode_reason;
	if (reason)
		cJSON_AddStringToObject(j, "mode_reason", reason);
	else
		cJSON_AddNullToObject(j, "mode_reason");
	cJSON_AddBoolToObject(j, "state_recorded", r->state_recorded);
	if (r->state_reason)
		cJSON_AddStringToObject(j, "state_reason", r->state_reason);
	else
		cJSON_AddNullToObject(j, "state_reason");
	cJSON *tabs = cJSON_AddArrayToObject(j, "tables");
	for (size_t i = 0; i < r->ntables; i++) {
		const sc_ts_table *t = &r->tables[i];
		for (int d = 0; d < 2; d++) {
			if (o->direction != SC_TS_BOTH && o->direction != d)
				continue;
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "table", t->name);
			cJSON_AddStringToObject(e, "direction", DIRECTION[d]);
			/* n[from]: rows from local go to remote (to-remote). */
			cJSON_AddNumberToObject(e, "inserted", (double)t->n[d][SC_TS_INS]);
			cJSON_AddNumberToObject(e, "updated", (double)t->n[d][SC_TS_UPD]);
			cJSON_AddNumberToObject(e, "deleted", (double)t->n[d][SC_TS_DEL]);
			cJSON_AddNumberToObject(e, "kept", (double)t->n[d][SC_TS_KEPT]);
			cJSON_AddNumberToObject(e, "conflicts", (double)t->conflicts);
			cJSON_AddNumberToObject(e, "unchanged", (double)t->unchanged);
			cJSON_AddStringToObject(e, "method", t->direct[d] ? "copy" : "diff");
			cJSON_AddStringToObject(e, "mode", t->stateful ? "stateful" : "stateless");
			if (t->mode_reason)
				cJSON_AddStringToObject(e, "mode_reason", t->mode_reason);
			else
				cJSON_AddNullToObject(e, "mode_reason");
			cJSON_AddNumberToObject(e, "duration_ms", (double)(long long)t->ms);
			cJSON_AddItemToArray(tabs, e);
		}
	}
	cJSON *p = cJSON_AddArrayToObject(j, "problems");
	for (size_t i = 0; i < r->nproblems; i++)
		cJSON_AddItemToArray(p, cJSON_CreateString(r->problems[i]));
	cJSON_AddItemToObject(j, "refused", cJSON_Duplicate(r->refused, true));
	cJSON_AddNumberToObject(j, "conflicts_total", (double)r->nconflicts);
	cJSON_AddItemToObject(j, "conflicts", cJSON_Duplicate(r->conflicts, true));
	cJSON_AddNumberToObject(j, "unresolved_total", (double)r->nunresolved);
	cJSON_AddItemToObject(j, "unresolved", cJSON_Duplicate(r->unresolved, true));
	cJSON_AddItemToObject(j, "notes", cJSON_Duplicate(r->notes, true));
	cJSON_AddNumberToObject(j, "duration_ms", (double)(long long)r->ms);
	return j;
}

cJSON *sc_ts_restore_json(const sc_ts_opts *o, const sc_ts_result *r)
{
	(void)o;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "status", r->nskipped ? "partial" : r->nrestored ? "ok" : "nothing_to_restore");
	cJSON_AddStringToObject(j, "run_id", r->run_id);
	cJSON_AddBoolToObject(j, "written", r->written);
	cJSON_AddNumberToObject(j, "restored_total", (double)r->nrestored);
	cJSON_AddNumberToObject(j, "skipped_total", (double)r->nskipped);
	cJSON_AddItemToObject(j, "tables", cJSON_Duplicate(r->restored, true));
	cJSON_AddNumberToObject(j, "duration_ms", (double)(long long)r->ms);
	return j;
}
