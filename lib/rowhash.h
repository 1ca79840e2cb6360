/* The row hash two Postgres servers agree on, whatever their majors
 * (tenant-sync and compare --checksum): each server computes it over its
 * own rows, and equal rows must give equal hashes on both. */
#ifndef SC_ROWHASH_H
#define SC_ROWHASH_H

#include <stdbool.h>
#include <stddef.h>

#include "pg.h"

/* One column as the hash sees it. */
typedef struct sc_hash_col {
	const char *name;
	unsigned typid;
	bool deterministic;   /* its collation is deterministic (always before 12) */
} sc_hash_col;

/* The method for a pair of servers: hash_record_extended over the values
 * when both are 14 or later (it exists from 14), else the md5 of the row's
 * text. Both sides must use the one method, or equal rows differ. */
bool sc_row_hash_values(int version_a, int version_b);

/* The hash expression (a bigint with `values`, an md5 text without) over
 * the columns of the row `alias`, in the order given (callers sort them by
 * name, so column order on each side does not matter). Under
 * sc_pg_canonical_session, the same on every major: types whose text
 * differs between majors (floats before 12 print 17 digits, after it the
 * shortest exact text) enter by their binary send form. */
char *sc_row_hash_sql(sc_pg *pg, const char *alias, const sc_hash_col *cols, size_t ncols, bool values);

#endif
