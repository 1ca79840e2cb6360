/* Bucket storage checks: MongoDB (libmongoc) or the Postgres schema
 * "powersync", and the sync state the service keeps there. */
#ifndef SC_STORAGE_H
#define SC_STORAGE_H

#include "error.h"
#include "report.h"

/* Once per process, before threads. */
void sc_storage_global_init(void);
void sc_storage_global_cleanup(void);

typedef struct sc_storage_opts {
	const char *uri;            /* mongodb:// or postgresql:// */
	const char *type;           /* "mongodb", "postgresql", or NULL (from the URI) */
	const char *source_db;      /* to look for the slot in, or NULL */
	int timeout_s;
	double now_ms;              /* wall clock for ages (0: now) */
} sc_storage_opts;

/* storage.connect, storage.replica_set, storage.version, storage.database,
 * storage.sync_rules (the active rules), storage.deploying (rules being
 * deployed, when there are), storage.keepalive, storage.slot,
 * storage.deploying.slot; read as the sync service reads its own storage
 * (powersync-service 1.25, modules/module-mongodb-storage and
 * module-postgres-storage). Returns 0, or -1 when a check could not be
 * made (unreachable server, a server error such as "not authorized"): the
 * report then holds a failing check with the server's message and err
 * says why (exit 3 for a command that checks only the storage). */
int sc_storage_check(const sc_storage_opts *o, sc_report *r, sc_error *err);

/* Initiates a single-member replica set when the server runs with a
 * replica set name but was never initiated. 0 done, 1 nothing to do
 * (message says what was done, or why nothing), -1 err set (2 a bad URI,
 * 3 out of reach, 1 a server that cannot be initiated). */
int sc_storage_init_replica_set(const char *uri, int timeout_s, char *message, size_t msglen, sc_error *err);

#endif
