/* `tenant-sync`: keep the tenant records of two Postgres databases in step.
 *
 * Each database is read in one REPEATABLE READ snapshot; rows are matched by
 * key and compared by a hash computed on each server (lib/rowhash.h, one
 * method for both; canonical session settings on both), streamed in key order through
 * cursors and merged here in constant memory. Only the rows that differ
 * travel, over COPY, into temporary tables, and are applied in one
 * transaction per database (INSERT / UPDATE / DELETE), parents first.
 *
 * State (lib/tenant_state.c): each database records, in the transaction of
 * its own writes, the run, its peer, its snapshot and the keys both sides
 * agreed on. When both records agree the next run is stateful: it reads
 * only the rows whose xmin is not in the recorded snapshot (plus the keys
 * it needs to see deletions), and tells a one-sided change from a conflict.
 * Deleted rows are kept in syncctl.deleted_rows; sc_tenant_restore puts a
 * run's back. */
#ifndef SC_TENANT_H
#define SC_TENANT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "error.h"

enum sc_ts_direction { SC_TS_TO_REMOTE, SC_TS_TO_LOCAL, SC_TS_BOTH };
enum sc_ts_conflict { SC_TS_SKIP, SC_TS_NEWER, SC_TS_LOCAL, SC_TS_REMOTE };
/* Sides: 0 local, 1 remote. Per direction counts: [0] to-remote, [1] to-local. */
enum { SC_TS_INS, SC_TS_UPD, SC_TS_DEL, SC_TS_KEPT };

typedef struct sc_ts_opts {
	const char *local, *remote;        /* connection strings */
	int direction;
	char *const *tables;
	size_t ntables;
	const char *tenant_column;         /* default tenant_id */
	char *const *tenants;              /* none: every row */
	size_t ntenants;
	int conflict;
	const char *updated_column;        /* default updated_at */
	char *const *key;                  /* --key columns, or none for the primary key */
	size_t nkey;
	bool delete_rows, dry_run;
	bool full;                         /* --full: stateless, every row compared */
	bool allow_big_delete;
	long long max_delete_rows;         /* a run deleting more than this... (-1: no count limit) */
	double max_delete_pct;             /* ...and more than this % of a table's rows is refused (-1: none) */
	int keep_deleted_days;             /* syncctl.deleted_rows older than this are pruned */
	const char *restore;               /* --restore RUN_ID (sc_tenant_restore) */
	double wait_s;                     /* for the lock; 0: do not wait */
	int timeout_s;
	/* -v --dry-run: each key that would be written, and each conflict.
	 * action: "insert", "update", "delete", "conflict", "kept"; side:
	 * where (for a conflict, the reason). */
	void (*on_key)(void *ud, const char *table, const char *action, const char *side, const char *key);
	/* Progress: rows compared so far in a table (about every 100,000). */
	void (*on_progress)(void *ud, const char *table, const char *phase, long long rows);
	void *ud;
} sc_ts_opts;

typedef struct sc_ts_table {
	char *name;
	/* [direction][INS/UPD/DEL/KEPT]: KEPT counts the rows the direction's
	 * target keeps although its source has deleted (or lacks) them. */
	long long n[2][4];
	long long conflicts, unchanged;
	bool direct[2];                    /* an empty target filled by one COPY stream */
	bool stateful;
	char *mode_reason;                 /* why it ran stateless */
	double ms;
} sc_ts_table;

typedef struct sc_ts_result {
	sc_ts_table *tables;               /* in the order written (parents first) */
	size_t ntables;
	char **problems;                   /* schema differences: nothing written */
	size_t nproblems;
	cJSON *conflicts;                  /* [{"table", "key", "reason"}], at most 1000 */
	long long nconflicts;
	cJSON *unresolved;                 /* [{"table", "key", "kind", "reason"}]: every key left unresolved */
	long long nunresolved;
	cJSON *refused;                    /* [{"table", "side", "delete", "rows"}]: deletes over the limit */
	cJSON *notes;                      /* [string] */
	bool written;                      /* changes were committed */
	char run_id[37];
	bool state_recorded;               /* both databases recorded this run */
	char *state_reason;                /* why not */
	/* --restore: [{"side", "table", "restored", "skipped"}] */
	cJSON *restored;
	long long nrestored, nskipped;
	double ms;
} sc_ts_result;

/* Runs one sync. 0 when it ran (problems or conflicts are in r: exit 1);
 * -1 with err (2 unusable input, 3 connection, lock or server failure),
 * and then no database has any of the changes it would have had from a
 * transaction that did not commit. */
int sc_tenant_sync(const sc_ts_opts *o, sc_ts_result *r, sc_error *err);
/* --restore: puts the rows run o->restore deleted back, on each database
 * that kept some, where their keys are free. 0 when it ran (rows whose key
 * is taken again are counted in nskipped); -1 with err. */
int sc_tenant_restore(const sc_ts_opts *o, sc_ts_result *r, sc_error *err);
void sc_ts_result_free(sc_ts_result *r);
/* "stateful", "stateless" or "mixed" (some tables each way). */
const char *sc_ts_mode(const sc_ts_result *r);
cJSON *sc_ts_json(const sc_ts_opts *o, const sc_ts_result *r);
cJSON *sc_ts_restore_json(const sc_ts_opts *o, const sc_ts_result *r);

#endif
