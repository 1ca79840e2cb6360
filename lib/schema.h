/* `schema init`: apply SQL files, the publication and the replication role
 * in one transaction, idempotently (files are recorded by name and SHA-256
 * in syncctl.applied_files). */
#ifndef SC_SCHEMA_H
#define SC_SCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "pg.h"
#include "report.h"

typedef struct sc_schema_opts {
	char *const *files;
	size_t nfiles;
	const char *publication;     /* default "powersync" */
	char *const *tables;         /* publication tables; none = FOR ALL TABLES */
	size_t ntables;
	const char *role;            /* replication role to create, or NULL */
	const char *role_password;   /* its password (from a file), or NULL */
	bool dry_run;
	bool reapply;
} sc_schema_opts;

/* Fills the report (schema.file.NAME, schema.publication, schema.role,
 * pg.wal_level) and r->extra ("changed", "dry_run", "statements").
 * Returns the exit code: 0 done (or nothing to do), 1 a changed file or a
 * failing statement (everything rolled back), 2 unusable input, 3 could not
 * do the job; err holds the one-line reason for 1-3. */
int sc_schema_init(sc_pg *pg, const sc_schema_opts *o, sc_report *r, sc_error *err);

#endif
