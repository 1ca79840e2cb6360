/* The client-side schema an app declares (AppSchema.ts, schema.dart, ...):
 * the output tables and columns of the sync rules, typed as the sync
 * service types them for the source database, and rendered as PowerSync's
 * own schema generators write them.
 *
 * The spec is the service's source (npm @powersync/service-sync-rules
 * 0.38.1): schema-generators/ (every generator) for the text, BaseSqlDataQuery.ts and
 * sql_filters.ts (bucket definitions and edition-2 streams),
 * sync_plan/schema_inference.ts and compiler/ (the streams compiler) (edition-3 streams) for
 * the columns and their types, StaticSchema.ts and ExpressionType.ts for
 * the source columns; module-postgres's PostgresRouteAPIAdapter.ts
 * (getConnectionSchema) and types/registry.ts, types/resolver.ts for how
 * Postgres columns are typed. */
#ifndef SC_CLIENTSCHEMA_H
#define SC_CLIENTSCHEMA_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"
#include "pg.h"
#include "rules.h"

/* ExpressionType.ts: a set of SQLite storage classes. */
enum {
	SC_CS_NONE = 0,
	SC_CS_BLOB = 1,
	SC_CS_TEXT = 2,
	SC_CS_INTEGER = 4,
	SC_CS_REAL = 8,
	SC_CS_ANY = 15,
};

/* A source column as getConnectionSchema describes it: sqlite_type from
 * the type registry, internal_type from format_type(). */
typedef struct sc_cs_source_column {
	char *name;
	int flags;
	char *internal_type;
} sc_cs_source_column;

typedef struct sc_cs_source_table {
	char *schema;
	char *name;
	sc_cs_source_column *columns;   /* in the order StaticSchema keeps them */
	size_t ncolumns;
} sc_cs_source_table;

/* The source database, tables in the order StaticSchema holds them. */
typedef struct sc_cs_source {
	sc_cs_source_table *tables;
	size_t ntables;
} sc_cs_source;

/* Reads the database as PostgresRouteAPIAdapter.getConnectionSchema does
 * (its statement, verbatim) and types each column as its type registry
 * does (domains as their base type; arrays, enums, composites, ranges and
 * every other type as text). Two statements. */
int sc_cs_source_load(sc_pg *pg, sc_cs_source *out, sc_error *err);
void sc_cs_source_free(sc_cs_source *s);

typedef struct sc_cs_column {
	char *name;
	int flags;
	char *original;        /* the source column's type, when known and unique */
} sc_cs_column;

typedef struct sc_cs_table {
	char *name;
	sc_cs_column *columns; /* without id, in the generators' order */
	size_t ncolumns;
} sc_cs_table;

/* An optional stream (edition 3, not auto_subscribe) and its subscription
 * parameters, for the generators' typed helpers. */
typedef struct sc_cs_stream {
	char *name;
	sc_cs_column *params;
	size_t nparams;
} sc_cs_stream;

typedef struct sc_cs_schema {
	sc_cs_table *tables;
	size_t ntables;
	sc_cs_stream *streams;
	size_t nstreams;
	char **warnings;       /* what the service would warn about (missing tables, columns) */
	size_t nwarnings;
} sc_cs_schema;

/* Computes the output tables of valid rules (no errors in r) against the
 * source. With src NULL, anything that needs the database (SELECT *, a
 * table pattern, a column's type, a stream parameter typed by a column) is
 * an error (exit 2) naming the definition and the column. Exit 2 also for
 * what the reference itself cannot type. */
int sc_cs_compute(const sc_rules_result *r, const sc_cs_source *src, sc_cs_schema *out, sc_error *err);
void sc_cs_schema_free(sc_cs_schema *s);
/* The table of that name, or NULL. */
const sc_cs_table *sc_cs_find_table(const sc_cs_schema *s, const char *name);

/* The --lang values: the keys of the reference's schemaGenerators map
 * (generators.ts) in kebab case, and its Room and drift generators. */
typedef enum {
	SC_LANG_TS, SC_LANG_JS, SC_LANG_JS_LEGACY, SC_LANG_DART, SC_LANG_KOTLIN, SC_LANG_SWIFT,
	SC_LANG_DOTNET, SC_LANG_DOTNET_CLASS, SC_LANG_ROOM, SC_LANG_DRIFT, SC_LANG_COUNT,
} sc_cs_lang;

typedef enum { SC_IMPORTS_AUTO, SC_IMPORTS_WEB, SC_IMPORTS_REACT_NATIVE } sc_cs_imports;

typedef struct sc_cs_render_opts {
	sc_cs_lang lang;
	sc_cs_imports imports;     /* TsSchemaGenerator's imports (ts, js) */
	bool type_comments;        /* includeTypeComments */
} sc_cs_render_opts;

/* The name of a language (its --lang value), i from 0; NULL past the last. */
const char *sc_cs_lang_name(size_t i);
bool sc_cs_lang_parse(const char *name, sc_cs_lang *out);
/* The schema as the generator writes it (a fresh string). */
char *sc_cs_render(const sc_cs_schema *s, const sc_cs_render_opts *o);
/* The line of one column's declaration in that language (what to add to a
 * generated schema), without indentation or trailing comma. */
char *sc_cs_render_column(const sc_cs_render_opts *o, const sc_cs_column *c);
/* The SQLite column type the SDKs give a column of these flags: "TEXT",
 * "INTEGER" or "REAL" (SchemaGenerator.ts sqlTypeName). */
const char *sc_cs_sql_type(int flags);

#endif
