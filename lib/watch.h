/* `watch`: the logical replication stream the sync service consumes, read
 * through a TEMPORARY pgoutput slot and decoded into row changes; and the
 * replication round trip of logical messages (--probe). */
#ifndef SC_WATCH_H
#define SC_WATCH_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "pg.h"
#include "report.h"

typedef struct sc_change {
	const char *op;            /* insert, update, delete, truncate */
	const char *schema;
	const char *table;
	long long commit_time_us;  /* unix microseconds */
	uint32_t xid;
	uint64_t lsn;              /* the transaction's commit LSN */
	int ncols;
	const char *const *names;
	const bool *is_key;
	/* Values as pgoutput sends them (text); kind 'n' null, 'u' unchanged
	 * TOASTed value, 't' text. No new tuple for delete/truncate; an old
	 * one for delete and for updates where the replica identity gives it. */
	bool has_new, has_old;
	bool old_is_key_only;      /* the old tuple holds the key columns only */
	const char *const *new_vals;
	const char *new_kind;
	const char *const *old_vals;
	const char *old_kind;
} sc_change;

typedef struct sc_watch_opts {
	const char *publication;
	char *const *tables;       /* filter: schema.table or table */
	size_t ntables;
	long long count;           /* stop after this many changes (or probes); 0 = no limit */
	double duration_s;         /* stop after this long; 0 = no limit */
	bool probe;
	double interval_s;         /* between probes */
	int timeout_s;
	volatile sig_atomic_t *stop;  /* set by a signal handler */
} sc_watch_opts;

typedef struct sc_watch_callbacks {
	void (*change)(const sc_change *c, void *data);
	void (*probe)(long long seq, double rtt_ms, void *data);
	/* Called before progress is reported to the server: what was printed
	 * must be out before the server may drop the WAL behind it. */
	void (*flush)(void *data);
	void *data;
} sc_watch_callbacks;

typedef struct sc_watch_stats {
	long long changes;
	long long probes;
	double *rtt_ms;            /* every probe's round trip, in order */
	const char *stopped_by;    /* "count", "duration", "signal" */
	char slot[64];
} sc_watch_stats;

/* Checks what watch needs (wal_level, free slots and senders, REPLICATION,
 * the publication, and for `probe` a server of 14 or later: pgoutput carries
 * no logical messages before, pg.probe); adds the failing ones to r with
 * their hints. Returns the number of failing checks, or -1 when the queries
 * failed (err). */
int sc_watch_preflight(sc_pg *pg, const char *publication, bool probe, sc_report *r, sc_error *err);

/* Streams until a stop condition. -1 with err on failure (exit 1 for what
 * the server refused, or a probe on a server before 14; 3 for connection
 * loss). */
int sc_watch_run(const char *conninfo, const char *what, const sc_watch_opts *o,
		 const sc_watch_callbacks *cb, sc_watch_stats *stats, sc_error *err);
void sc_watch_stats_free(sc_watch_stats *s);

#endif
