/* `compare`: row counts (and which rows) of a PowerSync client database
 * (SQLite) or a second Postgres, against the server Postgres. */
#ifndef SC_COMPARE_H
#define SC_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "pg.h"

typedef struct sc_cmp_table {
	char *name;
	long long local;           /* -1: the table is not on that side */
	long long server;
	long long pending;         /* uploads waiting in ps_crud */
	const char *status;        /* in_sync, local_behind, local_ahead, differs, unscoped, missing_local, missing_server */
	char *note;                /* why unscoped, or NULL */
	char *server_table;        /* the server's table, schema-qualified and quoted (client databases) */
	char *local_sum, *server_sum;
	char **only_local, **only_server;
	size_t n_only_local, n_only_server;
	bool ids_truncated;
} sc_cmp_table;

typedef struct sc_cmp_result {
	sc_cmp_table *tables;
	size_t ntables;
	long long pending_total;
	bool powersync;            /* the local side is a PowerSync client database */
	cJSON *pending_by_op;      /* {"todos": {"PUT": 3, ...}} */
	cJSON *untyped;            /* {"type": count} from ps_untyped */
	cJSON *local_only;         /* [{"name", "count"}] ps_data_local__* */
	char *last_sync;           /* from ps_sync_state, or NULL */
} sc_cmp_result;

typedef struct sc_cmp_opts {
	char *const *tables;       /* a subset, or none for all */
	size_t ntables;
	const char *schema;        /* Postgres vs Postgres: default public */
	bool ids;
	size_t limit;              /* ids listed per side and table */
	bool checksum;
	const char *user;          /* --user: scope server counts by the rules */
	const char *rules_text;    /* the rules YAML for --user */
	int timeout_s;
} sc_cmp_opts;

/* A SQLite file: opened read-only (never written), busy timeout. Not
 * SQLite, truncated, missing or locked past the timeout: exit 2. */
int sc_compare_sqlite(const char *path, sc_pg *server, const sc_cmp_opts *o, sc_cmp_result *r, sc_error *err);
int sc_compare_pg(sc_pg *local, sc_pg *server, const sc_cmp_opts *o, sc_cmp_result *r, sc_error *err);
void sc_cmp_result_free(sc_cmp_result *r);
bool sc_cmp_in_sync(const sc_cmp_result *r);
cJSON *sc_cmp_json(const sc_cmp_result *r);

#endif
