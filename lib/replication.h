/* Checks of the source Postgres for logical replication (DESIGN.md §6):
 * settings, replication slots and publications. Each adds checks to a
 * report; -1 means the queries themselves failed (err set, exit 3). */
#ifndef SC_REPLICATION_H
#define SC_REPLICATION_H

#include <stddef.h>
#include <stdint.h>

#include <cjson/cJSON.h>

#include "pg.h"
#include "report.h"

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
int sc_replication_check_settings(sc_pg *pg, sc_report *r, sc_error *err);

/* pg.slot.NAME for every slot, its row in details. `max_retained` is the WAL
 * an inactive slot may hold before it fails (an active one warns). */
int sc_replication_check_slots(sc_pg *pg, sc_report *r, int64_t max_retained, sc_error *err);

/* Drops a slot unless it is active or missing (exit 1 with the reason). */
int sc_replication_drop_slot(sc_pg *pg, const char *name, sc_error *err);
/* Facts about one slot for a confirmation prompt: 1 found, 0 missing. */
int sc_replication_slot_info(sc_pg *pg, const char *name, int *active, int *active_pid,
			     int64_t *retained, sc_error *err);

/* Every publication with its operations and tables, as a JSON array. */
cJSON *sc_publication_list(sc_pg *pg, sc_error *err);

/* pg.publication* checks for publication `name`; each of `tables` must be
 * in it (pg.publication.table.T). */
int sc_publication_check(sc_pg *pg, sc_report *r, const char *name, char *const *tables,
			 size_t ntables, sc_error *err);

#endif
