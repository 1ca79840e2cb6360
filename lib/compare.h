/* `compare`: row counts (and which rows) of a PowerSync client database
 * (SQLite) or a second Postgres, against the server Postgres. */
#ifndef SC_COMPARE_H
#define SC_COMPARE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "clientschema.h"
#include "error.h"
#include "pg.h"
#include "report.h"

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

/* The client-side schema a PowerSync client database was opened with: the
 * views the SDK created over ps_data__* (synced tables) and
 * ps_data_local__* (local-only tables), with their columns and the type
 * each is cast to. */
typedef struct sc_client_column {
	char *name;
	char *type;                /* TEXT, INTEGER or REAL, as the view casts it */
} sc_client_column;

typedef struct sc_client_table {
	char *name;
	bool local_only;
	sc_client_column *columns; /* without id */
	size_t ncolumns;
} sc_client_table;

typedef struct sc_client_schema {
	sc_client_table *tables;
	size_t ntables;
	cJSON *untyped;            /* {"type": rows} of ps_untyped */
} sc_client_schema;

/* Reads it from a client database, read-only (as sc_compare_sqlite opens
 * it). Not a PowerSync client database: exit 2. */
int sc_client_schema_read(const char *path, int timeout_s, sc_client_schema *out, sc_error *err);
void sc_client_schema_free(sc_client_schema *s);
/* Compares it with what the rules send (want, from sc_cs_compute): one
 * check per difference, ids client.schema.TABLE and client.schema.TABLE.COLUMN:
 * a column sent but not declared (fail: the data stays in the JSON), a
 * column declared but never sent (warn: always NULL), a type that differs
 * (fail), a synced table the client lacks (fail: rows in ps_untyped), a
 * local-only table the rules sync (fail), a synced table no rule sends
 * (warn); an ok check per table that matches. Each hint is the line to
 * add, remove or change in the generated schema, in lang. */
void sc_client_schema_check(const sc_client_schema *have, const sc_cs_schema *want, const sc_cs_render_opts *lang,
			    sc_report *r);
/* All of it for one client database: the rules validated (invalid: a
 * failing client.schema check naming the first error), the output tables
 * computed for the source database, the client's schema read and checked.
 * -1 with err when the database or the client file cannot be read. */
int sc_client_schema_compare(const char *client_path, sc_pg *source, const char *rules_text, size_t rules_len,
			     const char *rules_name, const sc_cs_render_opts *lang, int timeout_s, sc_report *r,
			     sc_error *err);
bool sc_cmp_in_sync(const sc_cmp_result *r);
cJSON *sc_cmp_json(const sc_cmp_result *r);

#endif
