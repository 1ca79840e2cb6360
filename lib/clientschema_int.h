/* Internals shared by clientschema.c (the source database, the result,
 * sc_cs_compute), clientschema_legacy.c (bucket definitions and edition-2
 * streams) and clientschema_streams.c (edition-3 streams). */
#ifndef SC_CLIENTSCHEMA_INT_H
#define SC_CLIENTSCHEMA_INT_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "clientschema.h"

/* A JavaScript object: insertion order, but keys that are array indices
 * ("0", "12") iterate first, in numeric order. The reference keeps its
 * output tables, their columns and a table's source columns in objects. */
typedef struct cs_jsent {
	char *key;
	void *val;
} cs_jsent;

typedef struct cs_jsmap {
	cs_jsent *e;
	size_t n;
} cs_jsmap;

void *cs_jsmap_get(const cs_jsmap *m, const char *k);
void cs_jsmap_add(cs_jsmap *m, const char *k, void *v);
/* The entries' indices in JavaScript's iteration order (caller frees). */
size_t *cs_jsmap_order(const cs_jsmap *m);
void cs_jsmap_free(cs_jsmap *m, void (*free_val)(void *));

/* An expression's type (ExpressionType flags), the source column type it
 * carries (originalType, borrowed), and whether it depends on a column's
 * type (so needs the database). */
typedef struct cs_type {
	int flags;
	const char *orig;
	bool from_db;
	const char *db_column;  /* the first such column, for messages */
} cs_type;

typedef struct cs_outcol {
	char *name;
	int flags;
	char *orig;
} cs_outcol;

typedef struct cs_outtable {
	cs_jsmap cols;
} cs_outtable;

typedef struct cs_stream_out {
	char *name;
	cs_jsmap params;          /* name -> cs_outcol */
	bool optional;            /* not auto_subscribe */
} cs_stream_out;

typedef struct cs_compute {
	const sc_rules_result *rules;
	const sc_cs_source *src;  /* NULL: without a database */
	cs_jsmap tables;          /* name -> cs_outtable */
	cs_jsmap streams;         /* edition 3: name -> cs_stream_out, as Object.groupBy keys them */
	sc_cs_schema *out;
	sc_error *err;
	bool failed;
	const char *definition;   /* the bucket or stream being read */
} cs_compute;

void cs_warn(cs_compute *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void cs_fail(cs_compute *c, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Without a database, what needs one is refused, naming what needs it. */
void cs_need_db(cs_compute *c, const char *what);

cs_outtable *cs_out_table(cs_compute *c, const char *name);
/* BaseSqlDataQuery.resolveResultSets: the first definition of a column wins. */
void cs_add_first(cs_outtable *t, const char *name, int flags, const char *orig);
/* schema_inference.ts addOutputColumn: types are merged, the original type
 * kept only where both agree. */
void cs_add_merged(cs_outtable *t, const char *name, int flags, const char *orig);
/* The same for a stream parameter (resolveReferencedParameters). */
void cs_add_param(cs_compute *c, const char *stream, const char *name, const cs_type *t);

const sc_cs_source_column *cs_source_column(const sc_cs_source_table *t, const char *name);
/* TablePattern.matches: the schema, and the name or (ending in %) a prefix. */
bool cs_pattern_matches(const char *schema, const char *pattern, const sc_cs_source_table *t);
bool cs_is_wildcard(const char *pattern);

/* libpg_query's JSON tree: {"Type": {...}} */
cJSON *cs_node(const cJSON *wrapper, const char **type);
const char *cs_str(const cJSON *wrapper);          /* a String node's value */
int cs_loc(const cJSON *n);
cJSON *cs_get(const cJSON *n, const char *member);

/* ExpressionType.fromTypeText for a cast's target (int4 and float4, which
 * the parser writes for integer and real, taken as those); -1 when it is
 * not a cast the service takes. */
int cs_cast_flags(const char *to);
/* sql_functions.ts getOperatorReturnType */
int cs_operator_type(const char *op, int left, int right);

void cs_legacy_query(cs_compute *c, const sc_rules_query *q);
void cs_streams(cs_compute *c);

#endif
