/* Bucket storage checks: MongoDB (libmongoc) or the Postgres schema
 * "powersync", and the sync state the service keeps there. */
#ifndef SC_STORAGE_H
#define SC_STORAGE_H

#include "report.h"

/* Once per process, before threads. */
void sc_storage_global_init(void);
void sc_storage_global_cleanup(void);

typedef struct sc_storage_opts {
	const char *uri;            /* mongodb:// or postgresql:// */
	const char *type;           /* "mongodb", "postgresql", or NULL (from the URI) */
	const char *source_db;      /* to look for the slot in, or NULL */
	int timeout_s;
	long long now;              /* unix seconds, for keepalive ages */
} sc_storage_opts;

/* storage.connect, storage.replica_set, storage.version, storage.database,
 * storage.sync_rules, storage.keepalive, storage.slot. */
void sc_storage_check(const sc_storage_opts *o, sc_report *r);

/* Initiates a single-member replica set when the server runs with a
 * replica set name but was never initiated. 0 done, 1 nothing to do
 * (message says why), -1 error. */
int sc_storage_init_replica_set(const char *uri, int timeout_s, char *message, size_t msglen, int *exit_code);

#endif
