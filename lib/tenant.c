#include "tenant.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <libpq-fe.h>

#include "buf.h"
#include "pg.h"
#include "rowhash.h"
#include "util.h"

#define BATCH "20000"
#define BATCH_N 20000
#define MAX_LISTED 1000
/* pg_try_advisory_lock(int4, int4): "sync", "ts01". */
#define LOCK_A "1937337955"
#define LOCK_B "1953706033"

static const char *const SIDE[2] = { "local", "remote" };
static const char *const DIRECTION[2] = { "to-remote", "to-local" };

/* Type oids the merge compares natively. */
enum { OID_INT8 = 20, OID_INT2 = 21, OID_INT4 = 23, OID_UUID = 2950, OID_DATE = 1082,
       OID_TIMESTAMP = 1114, OID_TIMESTAMPTZ = 1184 };

typedef struct col {
	char *name, *type, *seq;
	unsigned typid;
	bool generated, deterministic;
	char identity;
} col;

typedef struct side_info {
	char *qt;                 /* schema.table, quoted */
	char *oid;
	col *cols;
	size_t ncols;
	char **pk;
	size_t npk;
	bool identity;            /* has identity columns: inserts override them */
} side_info;

typedef struct tab {
	char *name;
	side_info s[2];
	col **cols;               /* synced columns (local side's entries), by name */
	size_t ncols;
	char *collist;            /* "a", "b" */
	char *tcollist;           /* t."a", t."b" */
	size_t *keys;             /* indexes into cols */
	size_t nkeys;
	char *scope;              /* " WHERE ..." or "" */
	char *updated;            /* expression for --conflict newer, or NULL */
	char *hash;               /* the row hash expression */
	bool binary;              /* built-in types only: COPY in binary */
	FILE *f[2][3];            /* per side: keys to insert / update on the other side, to delete here */
	bool empty[2];
	int index;
	sc_ts_table *out;
} tab;

typedef struct run {
	const sc_ts_opts *o;
	sc_pg *pg[2];
	tab *tabs;
	size_t ntabs;
	size_t *order;            /* parents first */
	sc_ts_result *r;
	sc_error *err;
} run;

/* ---- small helpers ---- */

static char *qi(sc_pg *pg, const char *name)
{
	char *q = PQescapeIdentifier(pg->conn, name, strlen(name));
	char *s = sc_xstrdup(q ? q : "\"\"");
	PQfreemem(q);
	return s;
}

static char *ql(sc_pg *pg, const char *value)
{
	char *q = PQescapeLiteral(pg->conn, value, strlen(value));
	char *s = sc_xstrdup(q ? q : "''");
	PQfreemem(q);
	return s;
}

/* Statements that move data run without a client deadline; the server's
 * statement_timeout is off for them too (see connect_side). */
static PGresult *data_exec_params(sc_pg *pg, const char *sql, int n, const char *const *p, sc_error *err)
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
	return data_exec_params(pg, sql, 0, NULL, err);
}

static long long data_command(sc_pg *pg, const char *sql, sc_error *err)
{
	PGresult *r = data_exec(pg, sql, err);
	if (!r)
		return -1;
	long long n = atoll(PQcmdTuples(r));
	PQclear(r);
	return n;
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
static int copy_file_in(run *R, sc_pg *pg, const char *sql, FILE *f)
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

/* COPY (query) TO STDOUT on one server, streamed into COPY ... FROM STDIN on
 * the other. Returns the rows the target took, or -1. */
static long long copy_stream(run *R, sc_pg *src, const char *out_sql, sc_pg *dst, const char *in_sql)
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

/* ---- connections and the lock ---- */

static int take_lock(run *R, sc_pg *pg)
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
	PGresult *r = sc_pg_exec(pg, "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND classid = " LOCK_A
				 " AND objid = " LOCK_B " AND objsubid = 2 AND granted LIMIT 1", 0, NULL, R->err);
	const char *pid = r ? sc_pg_get(r, 0, 0) : NULL;
	sc_error_set(R->err, SC_EXIT_FAILED,
		     "another tenant-sync is running on %s (server pid %s holds the lock); "
		     "wait for it or pass --wait SECONDS", pg->display, pid ? pid : "unknown");
	PQclear(r);
	return -1;
}

/* ---- the catalog ---- */

static void free_side(side_info *s)
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

static int read_side(run *R, int s, tab *t)
{
	sc_pg *pg = R->pg[s];
	const char *p[] = { t->name };
	PGresult *r = sc_pg_exec(pg,
		"SELECT c.oid::text, format('%I.%I', n.nspname, c.relname) FROM pg_class c"
		" JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind IN ('r', 'p') AND"
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
	side_info *si = &t->s[s];
	si->oid = sc_xstrdup(sc_pg_get(r, 0, 0));
	si->qt = sc_xstrdup(sc_pg_get(r, 0, 1));
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

static col *find_col(side_info *s, const char *name)
{
	for (size_t i = 0; i < s->ncols; i++)
		if (strcmp(s->cols[i].name, name) == 0)
			return &s->cols[i];
	return NULL;
}

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

/* Columns matched by name, the key, the scope. Differences between the
 * sides are problems (nothing is written); unusable options are errors. */
static int plan_table(run *R, tab *t)
{
	const sc_ts_opts *o = R->o;
	side_info *a = &t->s[0], *b = &t->s[1];
	t->cols = sc_xcalloc(a->ncols + 1, sizeof *t->cols);
	size_t before = R->r->nproblems;
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
			return 0;
		}
		key = a->pk;
		nkey = a->npk;
	}
	t->keys = sc_xcalloc(nkey, sizeof *t->keys);
	for (size_t i = 0; i < nkey; i++) {
		long k = find_synced(t, key[i]);
		if (k < 0) {
			if (R->r->nproblems > before)
				return 0;
			sc_error_set(R->err, SC_EXIT_USAGE, "key column %s is not a column of %s on both sides", key[i], t->name);
			return -1;
		}
		t->keys[t->nkeys++] = (size_t)k;
	}
	if (R->r->nproblems > before)
		return 0;
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
	/* The scope: the tenant column, else a one-column key. */
	sc_buf sc = SC_BUF_INIT;
	if (o->ntenants) {
		long tc = find_synced(t, o->tenant_column);
		if (tc < 0 && t->nkeys == 1)
			tc = (long)t->keys[0];
		if (tc < 0) {
			sc_error_set(R->err, SC_EXIT_USAGE,
				     "table %s has no column %s and a key of %zu columns: --tenant cannot scope it "
				     "(name its tenant column with --tenant-column, or leave the table out)",
				     t->name, o->tenant_column, t->nkeys);
			sc_buf_free(&sc);
			return -1;
		}
		const col *c = t->cols[tc];
		char *q = qi(pg, c->name);
		sc_buf_printf(&sc, " WHERE t.%s IN (", q);
		free(q);
		for (size_t i = 0; i < o->ntenants; i++) {
			const char *p[] = { o->tenants[i] };
			char *sql = sc_xasprintf("SELECT CAST($1::text AS %s)", c->type);
			sc_error e;
			PGresult *r = sc_pg_exec(pg, sql, 1, p, &e);
			free(sql);
			if (!r) {
				sc_error_set(R->err, SC_EXIT_USAGE, "--tenant %s is not a valid %s for %s.%s: %s",
					     o->tenants[i], c->type, t->name, c->name, e.message);
				sc_buf_free(&sc);
				return -1;
			}
			PQclear(r);
			char *lit = ql(pg, o->tenants[i]);
			sc_buf_printf(&sc, "%sCAST(%s AS %s)", i ? ", " : "", lit, c->type);
			free(lit);
		}
		sc_buf_puts(&sc, ")");
	}
	t->scope = sc_buf_take(&sc);
	row_hash(R, t);
	if (o->direction == SC_TS_BOTH && o->conflict == SC_TS_NEWER) {
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
	}
	return 0;
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

static char *key_text(const tab *t, const hstream *h);

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

static void spool(run *R, tab *t, int side, int kind, const hstream *h)
{
	if (!t->f[side][kind]) {
		t->f[side][kind] = tmpfile();
		if (!t->f[side][kind]) {
			if (!R->err->code)
				sc_error_set(R->err, SC_EXIT_FAILED, "cannot create a temporary file for %s", t->name);
			return;
		}
	}
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		if (i)
			sc_buf_putc(&b, '\t');
		copy_escape(&b, PQgetvalue(h->res, h->row, (int)i));
	}
	sc_buf_putc(&b, '\n');
	fwrite(b.data, 1, b.len, t->f[side][kind]);
	sc_buf_free(&b);
}

static char *key_text(const tab *t, const hstream *h)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++)
		sc_buf_printf(&b, "%s%s", i ? ", " : "", PQgetvalue(h->res, h->row, (int)i));
	return sc_buf_take(&b);
}

static void note_key(run *R, tab *t, const char *action, int side, const hstream *h)
{
	if (!R->o->on_key)
		return;
	char *k = key_text(t, h);
	R->o->on_key(R->o->ud, t->name, action, SIDE[side], k);
	free(k);
}

/* A row on `from` goes to the other side: inserted or updated there. */
static void send_row(run *R, tab *t, int from, int kind, const hstream *h)
{
	spool(R, t, from, kind, h);
	t->out->n[from][kind]++;
	note_key(R, t, kind == SC_TS_INS ? "insert" : "update", !from, h);
}

/* A row only on `side`: copied to the other side, unless the other side is
 * the source (then, with --delete, deleted here). */
static void one_sided(run *R, tab *t, int side, const hstream *h)
{
	int source_only = side == 0 ? SC_TS_TO_LOCAL : SC_TS_TO_REMOTE;
	if (R->o->direction != source_only) {
		send_row(R, t, side, SC_TS_INS, h);
	} else if (R->o->delete_rows) {
		spool(R, t, side, SC_TS_DEL, h);
		t->out->n[!side][SC_TS_DEL]++;
		note_key(R, t, "delete", side, h);
	}
}

static void conflict(run *R, tab *t, const hstream *a, const char *why)
{
	t->out->conflicts++;
	R->r->nconflicts++;
	char *k = key_text(t, a);
	if (R->o->on_key)
		R->o->on_key(R->o->ud, t->name, "conflict", why, k);
	if (cJSON_GetArraySize(R->r->conflicts) < MAX_LISTED) {
		cJSON *c = cJSON_CreateObject();
		cJSON_AddStringToObject(c, "table", t->name);
		cJSON_AddStringToObject(c, "key", k);
		cJSON_AddStringToObject(c, "reason", why);
		cJSON_AddItemToArray(R->r->conflicts, c);
	}
	free(k);
}

static int hash_query(run *R, tab *t, int s)
{
	sc_pg *pg = R->pg[s];
	sc_buf q = SC_BUF_INIT, ord = SC_BUF_INIT;
	sc_buf_puts(&q, "DECLARE sc_h NO SCROLL CURSOR FOR SELECT ");
	for (size_t i = 0; i < t->nkeys; i++) {
		const col *c = t->cols[t->keys[i]];
		char *n = qi(pg, c->name);
		sc_buf_printf(&q, "t.%s::text, ", n);
		bool native = c->typid == OID_INT2 || c->typid == OID_INT4 || c->typid == OID_INT8 || c->typid == OID_UUID;
		sc_buf_printf(&ord, "%s%s", i ? ", " : "", "");
		if (native)
			sc_buf_printf(&ord, "t.%s", n);
		else
			sc_buf_printf(&ord, "t.%s::text COLLATE \"C\"", n);
		free(n);
	}
	sc_buf_puts(&q, t->hash);
	if (t->updated)
		sc_buf_printf(&q, ", %s", t->updated);
	sc_buf_printf(&q, " FROM %s t%s ORDER BY %s", t->s[s].qt, t->scope, ord.data);
	sc_buf_free(&ord);
	int rc = sc_pg_command(pg, q.data, 0, NULL, R->err);
	sc_buf_free(&q);
	return rc;
}

static int merge_table(run *R, tab *t)
{
	const sc_ts_opts *o = R->o;
	int dir = o->direction;
	if (hash_query(R, t, 0) != 0 || hash_query(R, t, 1) != 0)
		return -1;
	hstream a = { .pg = R->pg[0] }, b = { .pg = R->pg[1] };
	/* The first FETCH runs each server's whole scan and sort: both are
	 * sent before either is awaited, so the servers work at once. */
	if (sc_pg_send(a.pg, "FETCH " BATCH " FROM sc_h", 0, NULL, R->err) != 0)
		return -1;
	a.pending = true;
	if (sc_pg_send(b.pg, "FETCH " BATCH " FROM sc_h", 0, NULL, R->err) != 0) {
		PQclear(data_wait(a.pg, R->err));
		return -1;
	}
	b.pending = true;
	if (o->on_progress)
		o->on_progress(o->ud, t->name, "hashing rows on both servers", 0);
	bool failed = false;
	bool ha = hs_next(R, &a, &failed), hb = hs_next(R, &b, &failed);
	long long seen = 0;
	size_t hcol = t->nkeys;
	bool new_a = true, new_b = true;
	while (!failed && (ha || hb)) {
		if ((ha && new_a && key_repeats(R, t, 0, &a)) || (hb && new_b && key_repeats(R, t, 1, &b))) {
			failed = true;
			break;
		}
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
			if (!strcmp(PQgetvalue(a.res, a.row, (int)hcol), PQgetvalue(b.res, b.row, (int)hcol))) {
				t->out->unchanged++;
			} else if (dir == SC_TS_TO_REMOTE) {
				send_row(R, t, 0, SC_TS_UPD, &a);
			} else if (dir == SC_TS_TO_LOCAL) {
				send_row(R, t, 1, SC_TS_UPD, &b);
			} else if (o->conflict == SC_TS_LOCAL) {
				send_row(R, t, 0, SC_TS_UPD, &a);
			} else if (o->conflict == SC_TS_REMOTE) {
				send_row(R, t, 1, SC_TS_UPD, &b);
			} else if (o->conflict == SC_TS_NEWER) {
				bool na = PQgetisnull(a.res, a.row, (int)hcol + 1), nb = PQgetisnull(b.res, b.row, (int)hcol + 1);
				long long ua = na ? 0 : strtoll(PQgetvalue(a.res, a.row, (int)hcol + 1), NULL, 10);
				long long ub = nb ? 0 : strtoll(PQgetvalue(b.res, b.row, (int)hcol + 1), NULL, 10);
				if (na && nb)
					conflict(R, t, &a, "both updated columns are NULL");
				else if (!nb && (na || ua < ub))
					send_row(R, t, 1, SC_TS_UPD, &b);
				else if (!na && (nb || ua > ub))
					send_row(R, t, 0, SC_TS_UPD, &a);
				else
					conflict(R, t, &a, "the same updated time on both sides");
			} else {
				conflict(R, t, &a, "differs on both sides");
			}
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
	if (sc_pg_command(R->pg[0], "CLOSE sc_h", 0, NULL, R->err) != 0 ||
	    sc_pg_command(R->pg[1], "CLOSE sc_h", 0, NULL, R->err) != 0)
		return -1;
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < 3; k++)
			if (t->f[s][k] && fflush(t->f[s][k]) != 0) {
				sc_error_set(R->err, SC_EXIT_FAILED, "writing a temporary file for %s failed (disk full?)", t->name);
				return -1;
			}
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

static char *key_match(const tab *t, sc_pg *pg, const char *l, const char *r)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		char *n = qi(pg, t->cols[t->keys[i]]->name);
		sc_buf_printf(&b, "%s%s.%s = %s.%s", i ? " AND " : "", l, n, r, n);
		free(n);
	}
	return sc_buf_take(&b);
}

static char *key_cols(const tab *t, sc_pg *pg, const char *prefix)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < t->nkeys; i++) {
		char *n = qi(pg, t->cols[t->keys[i]]->name);
		sc_buf_printf(&b, "%s%s%s", i ? ", " : "", prefix, n);
		free(n);
	}
	return sc_buf_take(&b);
}

static int make_temp(run *R, tab *t, int s)
{
	sc_pg *pg = R->pg[s];
	char *kc = key_cols(t, pg, "t.");
	static const char *const kinds[] = { "ki", "ku", "kd" };
	int rc = 0;
	for (int k = 0; k < 3 && rc == 0; k++) {
		char *sql = sc_xasprintf("CREATE TEMP TABLE sc_%s_%d AS SELECT %s FROM %s t WITH NO DATA", kinds[k], t->index, kc, t->s[s].qt);
		rc = sc_pg_command(pg, sql, 0, NULL, R->err);
		free(sql);
	}
	for (int k = 0; k < 2 && rc == 0; k++) {
		char *sql = sc_xasprintf("CREATE TEMP TABLE sc_d%c_%d AS SELECT %s FROM %s t WITH NO DATA", "iu"[k], t->index, t->tcollist, t->s[s].qt);
		rc = sc_pg_command(pg, sql, 0, NULL, R->err);
		free(sql);
	}
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
		 * scanning the whole target for a few rows. */
		char *an = sc_xasprintf("ANALYZE pg_temp.sc_d%c_%d", c, t->index);
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

/* Inserts and updates the rows side `to` receives. */
static int apply_rows(run *R, tab *t, int to)
{
	sc_pg *pg = R->pg[to];
	int from = !to;
	const char *over = t->s[to].identity ? " OVERRIDING SYSTEM VALUE" : "";
	if (t->out->direct[from]) {
		if (R->o->on_progress)
			R->o->on_progress(R->o->ud, t->name, to ? "copying to remote" : "copying to local", 0);
		const char *fmt = t->binary ? " (FORMAT binary)" : "";
		char *out = sc_xasprintf("COPY (SELECT %s FROM %s t%s) TO STDOUT%s", t->tcollist, t->s[from].qt, t->scope, fmt);
		char *into = sc_xasprintf("COPY %s (%s) FROM STDIN%s", t->s[to].qt, t->collist, fmt);
		long long n = copy_stream(R, R->pg[from], out, pg, into);
		free(out);
		free(into);
		if (n < 0)
			return -1;
		t->out->n[from][SC_TS_INS] = n;
		return 0;
	}
	if (t->out->n[from][SC_TS_INS]) {
		char *sql = sc_xasprintf("INSERT INTO %s (%s)%s SELECT %s FROM pg_temp.sc_di_%d", t->s[to].qt, t->collist,
					 over, t->collist, t->index);
		int rc = expect(R, t, "inserted", data_command(pg, sql, R->err), t->out->n[from][SC_TS_INS], to);
		free(sql);
		if (rc)
			return -1;
	}
	if (t->out->n[from][SC_TS_UPD]) {
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
		char *m = key_match(t, pg, "t", "s");
		char *sql = sc_xasprintf("UPDATE %s t SET %s FROM pg_temp.sc_du_%d s WHERE %s", t->s[to].qt, set.data, t->index, m);
		int rc = set.len ? expect(R, t, "updated", data_command(pg, sql, R->err), t->out->n[from][SC_TS_UPD], to) : 0;
		free(sql);
		free(m);
		sc_buf_free(&set);
		if (rc)
			return -1;
	}
	return 0;
}

static int apply_deletes(run *R, tab *t, int to)
{
	if (!t->out->n[!to][SC_TS_DEL])
		return 0;
	sc_pg *pg = R->pg[to];
	char *m = key_match(t, pg, "t", "k");
	char *sql = sc_xasprintf("DELETE FROM %s t USING pg_temp.sc_kd_%d k WHERE %s", t->s[to].qt, t->index, m);
	int rc = expect(R, t, "deleted", data_command(pg, sql, R->err), t->out->n[!to][SC_TS_DEL], to);
	free(sql);
	free(m);
	return rc;
}

/* Sequences owned by synced columns move past the highest value now in the
 * table, so the target's own next insert does not collide. */
static int advance_sequences(run *R, tab *t, int to)
{
	sc_pg *pg = R->pg[to];
	for (size_t i = 0; i < t->ncols; i++) {
		const col *c = find_col(&t->s[to], t->cols[i]->name);
		if (!c || !c->seq)
			continue;
		char *q = qi(pg, c->name);
		char *sql = sc_xasprintf("SELECT setval($1::regclass, m) FROM (SELECT max(t.%s)::bigint AS m FROM %s t) x"
					 " WHERE m >= coalesce(pg_sequence_last_value($1::regclass),"
					 " (SELECT seqstart FROM pg_sequence WHERE seqrelid = $1::regclass))", q, t->s[to].qt);
		const char *p[] = { c->seq };
		PGresult *r = data_exec_params(pg, sql, 1, p, R->err);
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

/* ---- the run ---- */

static sc_pg *connect_side(run *R, int s)
{
	const char *uri = s == 0 ? R->o->local : R->o->remote;
	char *what = sc_xasprintf("the %s database (--%s)", SIDE[s], SIDE[s]);
	sc_pg *pg = sc_pg_connect(uri, what, R->o->timeout_s, R->err);
	free(what);
	return pg;
}

static void free_tab(tab *t)
{
	free(t->name);
	free_side(&t->s[0]);
	free_side(&t->s[1]);
	free(t->cols);
	free(t->keys);
	free(t->collist);
	free(t->tcollist);
	free(t->scope);
	free(t->updated);
	free(t->hash);
	for (int s = 0; s < 2; s++)
		for (int k = 0; k < 3; k++)
			if (t->f[s][k])
				fclose(t->f[s][k]);
}

static bool writes_to(const sc_ts_opts *o, int s)
{
	return !o->dry_run && (o->direction == SC_TS_BOTH || o->direction == (s == 0 ? SC_TS_TO_LOCAL : SC_TS_TO_REMOTE));
}

static int sync_all(run *R)
{
	const sc_ts_opts *o = R->o;
	for (int s = 0; s < 2; s++)
		if (!(R->pg[s] = connect_side(R, s)))
			return -1;
	/* Local first on every run, so two runs cannot each hold one side. */
	for (int s = 0; s < 2; s++)
		if (take_lock(R, R->pg[s]) != 0)
			return -1;
	for (int s = 0; s < 2; s++)
		if (sc_pg_canonical_session(R->pg[s], R->err) != 0 ||
		    sc_pg_command(R->pg[s], "SELECT set_config('statement_timeout', '0', false),"
				  " set_config('cursor_tuple_fraction', '1', false), set_config('work_mem', '128MB', false)",
				  0, NULL, R->err) != 0)
			return -1;
	R->ntabs = o->ntables;
	R->tabs = sc_xcalloc(R->ntabs + 1, sizeof *R->tabs);
	for (size_t i = 0; i < R->ntabs; i++) {
		tab *t = &R->tabs[i];
		t->name = sc_xstrdup(o->tables[i]);
		t->index = (int)i;
		for (int s = 0; s < 2; s++)
			if (read_side(R, s, t) != 0)
				return -1;
		for (size_t k = 0; k < i; k++)
			if (!strcmp(R->tabs[k].s[0].oid, t->s[0].oid)) {
				sc_error_set(R->err, SC_EXIT_USAGE, "--table %s and --table %s are the same table (%s)",
					     R->tabs[k].name, t->name, t->s[0].qt);
				return -1;
			}
		if (plan_table(R, t) != 0)
			return -1;
	}
	if (R->r->nproblems)
		return 0; /* the schemas differ: nothing is read or written */
	if (order_tables(R) != 0)
		return -1;
	R->r->ntables = R->ntabs;
	R->r->tables = sc_xcalloc(R->ntabs + 1, sizeof *R->r->tables);
	for (size_t k = 0; k < R->ntabs; k++) {
		tab *t = &R->tabs[R->order[k]];
		t->out = &R->r->tables[k];
		t->out->name = sc_xstrdup(t->name);
	}
	/* Temporary tables exist before the snapshot: a read-only transaction
	 * may fill them but not create them. */
	if (!o->dry_run)
		for (size_t i = 0; i < R->ntabs; i++)
			for (int s = 0; s < 2; s++)
				if (make_temp(R, &R->tabs[i], s) != 0)
					return -1;
	for (int s = 0; s < 2; s++)
		if (sc_pg_command(R->pg[s], writes_to(o, s) ? "BEGIN ISOLATION LEVEL REPEATABLE READ"
							     : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
				  0, NULL, R->err) != 0)
			return -1;
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
	if (o->dry_run)
		return 0;
	/* From here on the statements join a few rows (the differing ones) to
	 * big tables: costed for cached data, the planner probes the key's
	 * index instead of hashing the whole table. The full scans above keep
	 * the server's own setting. */
	for (int s = 0; s < 2; s++)
		if (sc_pg_command(R->pg[s], "SELECT set_config('random_page_cost', '1.1', false)", 0, NULL, R->err) != 0)
			return -1;
	for (size_t k = 0; k < R->ntabs; k++) {
		tab *t = &R->tabs[R->order[k]];
		double t0 = sc_now_ms();
		for (int s = 0; s < 2; s++)
			if (transfer(R, t, s) != 0)
				return -1;
		t->out->ms += sc_now_ms() - t0;
	}
	for (int to = 0; to < 2; to++) {
		if (!writes_to(o, to))
			continue;
		for (size_t k = 0; k < R->ntabs; k++) {
			tab *t = &R->tabs[R->order[k]];
			double t0 = sc_now_ms();
			if (o->on_progress && receives(t, to) && !t->out->direct[!to])
				o->on_progress(o->ud, t->name, to ? "writing to remote" : "writing to local", 0);
			if (apply_rows(R, t, to) != 0)
				return -1;
			t->out->ms += sc_now_ms() - t0;
		}
		for (size_t k = R->ntabs; k-- > 0;) {
			tab *t = &R->tabs[R->order[k]];
			double t0 = sc_now_ms();
			if (apply_deletes(R, t, to) != 0)
				return -1;
			t->out->ms += sc_now_ms() - t0;
		}
		for (size_t k = 0; k < R->ntabs; k++) {
			tab *t = &R->tabs[R->order[k]];
			if (receives(t, to) && advance_sequences(R, t, to) != 0)
				return -1;
		}
	}
	/* Each database commits all of its changes or none; the second commit
	 * failing leaves the first database done and the second untouched, and
	 * the next run converges. */
	for (int s = 0; s < 2; s++)
		if (sc_pg_command(R->pg[s], "COMMIT", 0, NULL, R->err) != 0)
			return -1;
	R->r->written = true;
	return 0;
}

int sc_tenant_sync(const sc_ts_opts *o, sc_ts_result *r, sc_error *err)
{
	memset(r, 0, sizeof *r);
	r->conflicts = cJSON_CreateArray();
	double t0 = sc_now_ms();
	run R = { .o = o, .r = r, .err = err };
	sc_error_clear(err);
	int rc = sync_all(&R);
	if (rc != 0 && !err->code)
		sc_error_set(err, SC_EXIT_FAILED, "tenant-sync failed");
	/* Closing the connections rolls back whatever did not commit and
	 * releases the locks. */
	for (int s = 0; s < 2; s++)
		sc_pg_close(R.pg[s]);
	for (size_t i = 0; i < R.ntabs; i++)
		free_tab(&R.tabs[i]);
	free(R.tabs);
	free(R.order);
	r->ms = sc_now_ms() - t0;
	return rc;
}

void sc_ts_result_free(sc_ts_result *r)
{
	for (size_t i = 0; i < r->ntables; i++)
		free(r->tables[i].name);
	free(r->tables);
	for (size_t i = 0; i < r->nproblems; i++)
		free(r->problems[i]);
	free(r->problems);
	cJSON_Delete(r->conflicts);
	memset(r, 0, sizeof *r);
}

cJSON *sc_ts_json(const sc_ts_opts *o, const sc_ts_result *r)
{
	static const char *const dirs[] = { "to-remote", "to-local", "both" };
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "status", r->nproblems ? "schema_differs" : r->nconflicts ? "conflicts" : "ok");
	cJSON_AddStringToObject(j, "direction", dirs[o->direction]);
	cJSON_AddBoolToObject(j, "dry_run", o->dry_run);
	cJSON_AddBoolToObject(j, "written", r->written);
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
			cJSON_AddNumberToObject(e, "conflicts", (double)t->conflicts);
			cJSON_AddNumberToObject(e, "unchanged", (double)t->unchanged);
			cJSON_AddStringToObject(e, "method", t->direct[d] ? "copy" : "diff");
			cJSON_AddNumberToObject(e, "duration_ms", (double)(long long)t->ms);
			cJSON_AddItemToArray(tabs, e);
		}
	}
	cJSON *p = cJSON_AddArrayToObject(j, "problems");
	for (size_t i = 0; i < r->nproblems; i++)
		cJSON_AddItemToArray(p, cJSON_CreateString(r->problems[i]));
	cJSON_AddNumberToObject(j, "conflicts_total", (double)r->nconflicts);
	cJSON_AddItemToObject(j, "conflicts", cJSON_Duplicate(r->conflicts, true));
	cJSON_AddNumberToObject(j, "duration_ms", (double)(long long)r->ms);
	return j;
}
