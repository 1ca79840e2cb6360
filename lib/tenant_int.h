/* tenant-sync internals shared by lib/tenant.c (the run: catalog, merges,
 * writes) and lib/tenant_state.c (what each database remembers between
 * runs, the rows a run deleted, --restore). Not a public interface. */
#ifndef SC_TENANT_INT_H
#define SC_TENANT_INT_H

#include <stdbool.h>
#include <stdio.h>

#include <libpq-fe.h>

#include "pg.h"
#include "tenant.h"

#define SC_TS_MAX_LISTED 1000

extern const char *const SC_TS_SIDE[2];   /* "local", "remote" */

typedef struct ts_col {
	char *name, *type, *seq;
	unsigned typid;
	bool generated, deterministic;
	char identity;
} ts_col;

typedef struct ts_side {
	char *qt;                 /* schema.table, quoted */
	char *oid;
	ts_col *cols;
	size_t ncols;
	char **pk;
	size_t npk;
	bool identity;            /* has identity columns: inserts override them */
	bool altered;             /* has user triggers or rules: what the run writes may be altered */
} ts_side;

/* A database's identity as the state records it. */
typedef struct ts_ident {
	char *sysid, *dboid, *dbname;
	int timeline;
} ts_ident;

/* One side's record of the last run for a table, and what the
 * classification of this run's rows derives from it. */
typedef struct ts_prev {
	bool found;
	long long id;             /* names syncctl.tenant_sync_keys_<id> and _unresolved_<id> */
	char *run_id, *role, *table_oid, *key_columns, *scope, *snapshot, *own;
	ts_ident self, peer;
	long long base_rows;      /* keys in the base */
	bool verify_own;          /* rows the last run wrote are compared (triggers or rules there) */
	bool tables_ok;           /* its key tables exist with the key's types */
	/* From the snapshot and own xids, for this run's classification. */
	unsigned long long xmin, xmax;
	char *xip32, *own32;      /* xid[] literals */
	int age_xmin, age_xmax;
} ts_prev;

typedef struct ts_tab {
	char *name;
	ts_side s[2];
	ts_col **cols;            /* synced columns (local side's entries), by name */
	size_t ncols;
	char *collist;            /* "a", "b" */
	char *tcollist;           /* t."a", t."b" */
	size_t *keys;             /* indexes into cols */
	size_t nkeys;
	char *scope_cond;         /* t."tenant_id" IN (...) or NULL */
	char *scope;              /* " WHERE " scope_cond, or "" */
	char *scope_and;          /* " AND " scope_cond, or "" */
	char *scope_text;         /* the scope as recorded: "" or column and tenants */
	char *key_text;           /* the key columns as recorded (a text[] literal) */
	char *updated;            /* expression for --conflict newer, or NULL */
	char *hash;               /* the row hash expression */
	bool binary;              /* built-in types only: COPY in binary */
	FILE *f[2][3];            /* per side: keys to insert / update on the other side, to delete here */
	FILE *fdec;               /* state: key, in base, unresolved flags (tenant_state.c) */
	long long ndec;
	bool empty[2];
	int index;
	long long rows[2];        /* rows in scope at the snapshot, each side */
	/* State. */
	bool stateful;
	char *mode_reason;        /* why stateless */
	ts_prev prev[2];
	long long state_id[2];    /* the record written this run */
	long long base_delta;     /* stateful: keys that entered the base minus those that left */
	long long base_rows;      /* the base after this run (as recorded) */
	long long nunres;         /* stateful: keys left unresolved by the last run */
	bool recount;             /* the base's recorded count was off: count it again */
	bool full;                /* stateful, but so much changed that every row is read */
	sc_ts_table *out;
} ts_tab;

typedef struct ts_run {
	const sc_ts_opts *o;
	sc_pg *pg[2];
	ts_tab *tabs;
	size_t ntabs;
	size_t *order;            /* parents first */
	sc_ts_result *r;
	sc_error *err;
	/* State. */
	ts_ident id[2];
	bool state_ok[2];         /* the side can hold state (tables exist, may be written) */
	bool keep_ok[2];          /* syncctl.deleted_rows exists there */
	bool altered[2];          /* a synced table there has triggers or rules */
	char *state_why[2];       /* why it cannot */
	bool record;              /* this run records state on both sides */
	char *snapshot[2];        /* this run's snapshot on each side */
	unsigned long long xmax_now[2];
	char run_id[37];
} ts_run;

/* tenant.c helpers tenant_state.c uses. */
char *sc_ts_qi(sc_pg *pg, const char *name);
char *sc_ts_key_cols(const ts_tab *t, sc_pg *pg, const char *prefix);
char *sc_ts_key_match(const ts_tab *t, sc_pg *pg, const char *l, const char *r);
char *sc_ts_knames(const ts_tab *t, const char *prefix); /* k1, k2 (prefixed) */
char *sc_ts_kmatch(const ts_tab *t, sc_pg *pg, const char *l, const char *r); /* l.col = r.k1 */
char *sc_ts_kkmatch(const ts_tab *t, const char *l, const char *r);            /* l.k1 = r.k1 */
PGresult *sc_ts_data_exec(sc_pg *pg, const char *sql, int n, const char *const *p, sc_error *err);
long long sc_ts_data_command(sc_pg *pg, const char *sql, int n, const char *const *p, sc_error *err);
int sc_ts_copy_file_in(ts_run *R, sc_pg *pg, const char *sql, FILE *f);
long long sc_ts_copy_stream(ts_run *R, sc_pg *src, const char *out_sql, sc_pg *dst, const char *in_sql);
int sc_ts_read_side(ts_run *R, int s, ts_tab *t);
int sc_ts_read_oid(ts_run *R, int s, ts_tab *t, const char *oid);
void sc_ts_free_side(ts_side *s);
ts_col *sc_ts_find_col(ts_side *s, const char *name);
int sc_ts_advance_sequences(ts_run *R, ts_tab *t, int to);
int sc_ts_take_lock(ts_run *R, sc_pg *pg);
sc_pg *sc_ts_connect_side(ts_run *R, int s);
int sc_ts_session(ts_run *R, int s);
void sc_ts_copy_escape(FILE *f, const char *v);
void sc_ts_test_pause(const char *phase);

/* tenant_state.c. */
int sc_ts_identify(ts_run *R, int s);
/* Creates the state tables on first use (not with --dry-run); on a side
 * that cannot have them, state_ok stays false with the reason. */
int sc_ts_state_setup(ts_run *R, int s);
/* Inside the run's transactions: this run's snapshot on each side. */
int sc_ts_snapshot(ts_run *R, int s);
/* Reads both sides' records of table t and decides whether t runs
 * stateful (t->stateful, else t->mode_reason). */
int sc_ts_state_read(ts_run *R, ts_tab *t);
/* The row classification against the side's record, for SQL (alias t):
 * 0 unchanged since the last sync, 1 written by the last run, 2 changed.
 * Parameters $1..$5 (sc_ts_cls_params). */
char *sc_ts_cls_sql(void);
void sc_ts_cls_params(const ts_prev *p, char buf[2][16], const char *out[5]);
/* Stateful: the keys each side must look at, into pg_temp.sc_i_<n>
 * (n[side] of them), or, when a quarter of the rows changed, t->full. */
int sc_ts_changed_keys(ts_run *R, ts_tab *t, long long ninteresting[2]);
/* Each side's statement (NULL: none there) at once; both waited for.
 * 0, or -1 with R->err from the first that failed. */
int sc_ts_both_exec(ts_run *R, char *const sql[2], const char *const *params[2], int nparams, PGresult *out[2]);
/* Planner settings for the stateful statements (see the function for
 * why), local to the transaction: the scan of the changed rows, the
 * probes of a few keys, and back to the session's own. */
enum { SC_TS_PLAN_DEFAULT, SC_TS_PLAN_SCAN, SC_TS_PLAN_PROBE };
int sc_ts_plan(ts_run *R, int how);
/* ANALYZE pg_temp.sc_<set>_<index> on side s (the changed keys, 'i', or
 * the other side's, 'o'), for the joins that follow. */
int sc_ts_analyze_keys(ts_run *R, int s, char set, int index);
/* A key's new base membership and unresolved flags (-1: resolved). */
void sc_ts_decide_state(ts_run *R, ts_tab *t, PGresult *res, int row, bool inbase, int ul, int ur);
/* After the writes, in each side's transaction: the record and its key
 * tables. */
int sc_ts_state_write(ts_run *R, int s);
/* Prunes syncctl.deleted_rows past --keep-deleted on side s. */
int sc_ts_prune(ts_run *R, int s);
/* Deletes the rows of pg_temp.sc_kd_<n> from table t on side `to`,
 * keeping each in syncctl.deleted_rows first. Returns the rows deleted. */
long long sc_ts_delete_keeping(ts_run *R, ts_tab *t, int to);
/* --restore on side s: in its transaction (the caller commits). */
int sc_ts_restore_side(ts_run *R, int s);
/* The lock holder, described for the "another tenant-sync" message. */
char *sc_ts_lock_holder(ts_run *R, sc_pg *pg);
void sc_ts_free_prev(ts_prev *p);
void sc_ts_free_ident(ts_ident *i);
/* The application name of this run's sessions. */
char *sc_ts_app_name(void);

#endif
