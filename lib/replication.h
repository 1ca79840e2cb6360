/* Checks of the source Postgres for logical replication (syncctl-slots(1),
 * syncctl-publications(1)): settings, replication slots and publications.
 * Each adds checks to a report; -1 means the queries themselves failed (err set, exit 3). */
#ifndef SC_REPLICATION_H
#define SC_REPLICATION_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pg.h"
#include "report.h"

/* The publication the sync service reads, and the WAL an inactive slot may
 * hold before the slot checks fail, unless told otherwise. */
#define SC_DEFAULT_PUBLICATION "powersync"
#define SC_DEFAULT_MAX_RETAINED (1024LL * 1024 * 1024)

/* The sync service's WAL budget rule, one implementation for the slot
 * checks and the service's diagnostics (powersync-service
 * packages/service-core/src/api/diagnostics.ts, getSyncRulesStatus): the
 * share of max_slot_wal_keep_size that the slot's safe_wal_size still leaves,
 * in percent, rounded as JavaScript's Math.round and never below 0. -1 when
 * the rule does not apply: no limit (-1 or unknown), no safe_wal_size, or a
 * slot already lost. The budget is low at SC_WAL_BUDGET_LOW_PCT or less. */
#define SC_WAL_BUDGET_LOW_PCT 50
int sc_wal_budget_pct(const char *wal_status, const double *safe_wal_size,
		      const double *max_slot_wal_keep_size);
/* The service's own words for a low budget ("WAL budget is low: N%
 * remaining. ..."); a fresh string. */
char *sc_wal_budget_message(int pct);

/* pg.wal_level, pg.max_replication_slots, pg.max_wal_senders, pg.role */
/* pg.wal_level: fails unless wal_level is logical, the one check every
 * command that looks at it adds (slots, doctor, schema init). */
void sc_check_wal_level(const char *wal_level, sc_report *r);

int sc_replication_check_settings(sc_pg *pg, sc_report *r, sc_error *err);

/* pg.slot.NAME for every slot, its row in details. `max_retained` is the WAL
 * an inactive slot may hold before it fails (an active one warns). */
int sc_replication_check_slots(sc_pg *pg, sc_report *r, int64_t max_retained, sc_error *err);

/* Drops a slot unless it is active or missing (exit 1 with the reason). */
int sc_replication_drop_slot(sc_pg *pg, const char *name, sc_error *err);
/* Facts about one slot for a confirmation prompt: 1 found, 0 missing. */
int sc_replication_slot_info(sc_pg *pg, const char *name, int *active, int *active_pid,
			     int64_t *retained, sc_error *err);

/* Every publication with its operations and tables, as a JSON array; from
 * Postgres 15 also "column_lists" ({"schema.table": [columns]}, the tables
 * that publish only some columns) and "row_filters" ({"schema.table":
 * "expression"}), both empty before 15. */
cJSON *sc_publication_list(sc_pg *pg, sc_error *err);

/* One table of a publication as pgoutput sends it to the sync service. From
 * Postgres 15 a publication may publish only some of a table's columns (a
 * column list) and only the rows its row filter matches: the service
 * syncs what it receives, so the other columns and rows never reach
 * clients. Before 15, and without them, every column and every row. */
typedef struct sc_pub_table {
	char *schema, *table;   /* as in the catalog, unquoted */
	char *qualified;        /* schema.table, each quoted where needed */
	char **columns;         /* the published columns in table order when a column
				 * list leaves some (not generated) column out, else
				 * NULL: every column */
	size_t ncolumns;
	char *row_filter;       /* the filter's expression as the server prints it
				 * (pg_publication_tables.rowfilter), NULL: every row */
} sc_pub_table;

/* The tables publication `name` sends (with FOR ALL TABLES and partitions
 * resolved as Postgres does), ordered by schema and table. Returns 1 with
 * *tables and *n set (free with sc_pub_tables_free), 0 when there is no
 * such publication (*tables NULL, *n 0), -1 when a query failed (err). */
int sc_publication_tables(sc_pg *pg, const char *name, sc_pub_table **tables, size_t *n, sc_error *err);
void sc_pub_tables_free(sc_pub_table *tables, size_t n);

/* pg.publication* checks for publication `name`; each of `tables` must be
 * in it (pg.publication.table.T). From Postgres 15, pg.publication.columns
 * when some table has a column list (it fails when the list leaves out a
 * replica identity column while updates or deletes are published: Postgres
 * then rejects them) and pg.publication.row_filter when some table has a
 * row filter. */
int sc_publication_check(sc_pg *pg, sc_report *r, const char *name, char *const *tables,
			 size_t ntables, sc_error *err);

#endif
