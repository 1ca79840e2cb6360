/* Sync rules validation: the YAML structure (libyaml, with marks), every
 * SQL query (libpg_query, the real Postgres parser) against PowerSync's
 * rules for bucket definitions and sync streams, diagnostics mapped back to
 * the file's lines and columns. */
#ifndef SC_RULES_H
#define SC_RULES_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "error.h"
#include "pg.h"

#define SC_RULES_MAX_BYTES (2u * 1024u * 1024u)

typedef enum { SC_RULES_ERROR = 0, SC_RULES_WARNING = 1 } sc_rules_severity;

typedef struct sc_rules_diag {
	sc_rules_severity severity;
	char *message;
	int line, column, end_line, end_column;   /* 1-based; 0 when unknown */
	char *bucket;                              /* bucket or stream, or NULL */
	char *query;                               /* the SQL, or NULL */
} sc_rules_diag;

/* A table a query reads, with the columns it names (for --db). */
typedef struct sc_rules_table_ref {
	char *schema;
	char *table;           /* may hold % wildcards (quoted names) */
	char **columns;
	int *col_offsets;      /* byte offsets in the file of each column */
	size_t ncolumns;
	size_t offset;         /* byte offset in the file of the table name */
	bool star;             /* SELECT *: every column the table has */
	char *bucket;
} sc_rules_table_ref;

/* A query of the rules as parsed, for what depends on its result set
 * (schema client): a bucket definition's data query, a stream's query, or
 * an edition-3 common table expression. */
typedef enum { SC_RULES_Q_DATA, SC_RULES_Q_STREAM, SC_RULES_Q_CTE } sc_rules_query_kind;

typedef struct sc_rules_query {
	sc_rules_query_kind kind;
	char *definition;      /* the bucket or stream; NULL for a global CTE */
	char *cte_name;        /* SC_RULES_Q_CTE: its name */
	char *sql;             /* the text the tree's locations point into */
	int *inserted;         /* positions in sql of the characters rewriting added */
	size_t ninserted;
	cJSON *tree;           /* libpg_query's parse tree (JSON), owned */
	cJSON *select;         /* its SelectStmt, inside tree */
	size_t offset;         /* byte offset in the file where the query starts */
	bool auto_subscribe;   /* streams: auto_subscribe: true */
} sc_rules_query;

typedef struct sc_rules_result {
	sc_rules_diag *diags;
	size_t ndiags;
	cJSON *buckets;        /* [{name, kind, parameters, priority, source_tables, output_tables}] */
	cJSON *source_tables;  /* unique "schema.table" */
	cJSON *output_tables;  /* unique names */
	sc_rules_table_ref *refs;
	size_t nrefs;
	int edition;
	bool fixed_json_extract;   /* config: on, or by the edition (compatibility.ts) */
	sc_rules_query *queries;   /* in the order the service reads them: buckets, then streams */
	size_t nqueries;
	/* For diagnostics added later (--db): the text and its line starts. */
	const char *text;
	size_t len;
} sc_rules_result;

/* Validates the rules text. YAML that does not parse, aliases, more than 64
 * levels, an empty file: -1 with err (exit 2). Otherwise 0, the findings in
 * out. `text` must outlive out. */
int sc_rules_validate(const char *text, size_t len, const char *name, sc_rules_result *out, sc_error *err);
/* The keys of the config: block syncctl checks, i from 0; NULL past the
 * last (a test compares them with the reference's schema file). */
const char *sc_rules_config_key(size_t i);
size_t sc_rules_count(const sc_rules_result *r, sc_rules_severity sev);
void sc_rules_result_free(sc_rules_result *r);

/* The live checks against the source database: tables and columns exist
 * (with a did-you-mean), tables are in the publication and have a key or
 * replica identity; from Postgres 15, named columns are in the
 * publication's column list (else an error: they sync as NULL), and a
 * SELECT * table with unpublished columns or a row filter warns. Two
 * statements whatever the number of tables. Findings become diagnostics;
 * -1 when queries failed. */
int sc_rules_check_live(sc_pg *pg, const char *publication, sc_rules_result *r, sc_error *err);

/* FILE:LINE:COL: error: MESSAGE, the source line, a caret under the token. */
char *sc_rules_render(const sc_rules_result *r, const char *name, bool color);
/* {valid, errors: [...], buckets, source_tables, output_tables} */
cJSON *sc_rules_json(const sc_rules_result *r);

#endif
