/* The output tables of the sync rules and their column types, computed as
 * the sync service computes them for its schema generators (see
 * clientschema.h for the files followed). Three parts:
 *
 *  - the source database as getConnectionSchema and the type registry
 *    describe it;
 *  - bucket definitions and edition-2 streams: every result column
 *    compiled as sql_filters.ts compiles it (static values folded and
 *    typed by their value, functions and operators by their return type,
 *    columns by the source), merged as BaseSqlDataQuery.resolveResultSets
 *    merges them (the first definition of a column wins);
 *  - edition-3 streams: the result columns lowered as compiler/sqlite.ts
 *    lowers them and typed as sync_plan/schema_inference.ts types them
 *    (types of the same column merged), and each optional stream's
 *    subscription parameters typed from the partition keys they
 *    instantiate, found as compiler/querier_graph.ts finds them.
 *
 * Output tables and columns are JavaScript objects in the reference, so
 * they are listed in its key order: keys that are array indices ("0",
 * "12") first, in numeric order, then the others as inserted. */
#include "clientschema.h"

#include <ctype.h>
#include <stdarg.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "clientschema_int.h"
#include "json.h"

/* ---- JavaScript objects: insertion order, array indices first ---- */

static bool js_index_key(const char *k, unsigned long long *v)
{
	if (!*k || (k[0] == '0' && k[1]) || strlen(k) > 10)
		return false;
	unsigned long long x = 0;
	for (const char *p = k; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	if (x > 4294967294ULL)
		return false;
	*v = x;
	return true;
}

void *cs_jsmap_get(const cs_jsmap *m, const char *k)
{
	for (size_t i = 0; i < m->n; i++)
		if (strcmp(m->e[i].key, k) == 0)
			return m->e[i].val;
	return NULL;
}

void cs_jsmap_add(cs_jsmap *m, const char *k, void *v)
{
	m->e = sc_xrealloc(m->e, (m->n + 1) * sizeof *m->e);
	m->e[m->n].key = sc_xstrdup(k);
	m->e[m->n].val = v;
	m->n++;
}

size_t *cs_jsmap_order(const cs_jsmap *m)
{
	size_t *o = sc_xcalloc(m->n + 1, sizeof *o);
	size_t k = 0;
	/* Array indices, ascending (insertion sort: maps are small). */
	for (size_t i = 0; i < m->n; i++) {
		unsigned long long v;
		if (!js_index_key(m->e[i].key, &v))
			continue;
		size_t j = k++;
		while (j > 0) {
			unsigned long long w;
			js_index_key(m->e[o[j - 1]].key, &w);
			if (w <= v)
				break;
			o[j] = o[j - 1];
			j--;
		}
		o[j] = i;
	}
	for (size_t i = 0; i < m->n; i++) {
		unsigned long long v;
		if (!js_index_key(m->e[i].key, &v))
			o[k++] = i;
	}
	return o;
}

void cs_jsmap_free(cs_jsmap *m, void (*free_val)(void *))
{
	for (size_t i = 0; i < m->n; i++) {
		free(m->e[i].key);
		if (free_val)
			free_val(m->e[i].val);
	}
	free(m->e);
	memset(m, 0, sizeof *m);
}

/* ---- the source database ---- */

/* PostgresRouteAPIAdapter.getConnectionSchema's statement, verbatim: the
 * same rows in the same order, so tables come out as the service lists
 * them. (Its source credits vscode-postgres for it.) */
static const char connection_schema_sql[] =
	"SELECT\n"
	"tbl.schemaname,\n"
	"tbl.tablename,\n"
	"tbl.quoted_name,\n"
	"json_agg(a ORDER BY attnum) as columns\n"
	"FROM\n"
	"(\n"
	"  SELECT\n"
	"    n.nspname as schemaname,\n"
	"    c.relname as tablename,\n"
	"    (quote_ident(n.nspname) || '.' || quote_ident(c.relname)) as quoted_name\n"
	"  FROM\n"
	"    pg_catalog.pg_class c\n"
	"    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace\n"
	"  WHERE\n"
	"    c.relkind = 'r'\n"
	"    AND n.nspname not in ('information_schema', 'pg_catalog', 'pg_toast')\n"
	"    AND n.nspname not like 'pg_temp_%'\n"
	"    AND n.nspname not like 'pg_toast_temp_%'\n"
	"    AND c.relnatts > 0\n"
	"    AND has_schema_privilege(n.oid, 'USAGE') = true\n"
	"    AND has_table_privilege(quote_ident(n.nspname) || '.' || quote_ident(c.relname), 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') = true\n"
	") as tbl\n"
	"LEFT JOIN (\n"
	"  SELECT\n"
	"    attrelid,\n"
	"    attname,\n"
	"    atttypid,\n"
	"    format_type(atttypid, atttypmod) as data_type,\n"
	"    (SELECT typname FROM pg_catalog.pg_type WHERE oid = atttypid) as pg_type,\n"
	"    attnum,\n"
	"    attisdropped\n"
	"  FROM\n"
	"    pg_attribute\n"
	") as a ON (\n"
	"  a.attrelid = tbl.quoted_name::regclass\n"
	"  AND a.attnum > 0\n"
	"  AND NOT a.attisdropped\n"
	"  AND has_column_privilege(tbl.quoted_name, a.attname, 'SELECT, INSERT, UPDATE, REFERENCES')\n"
	")\n"
	"GROUP BY schemaname, tablename, quoted_name";

/* The domains, for the registry's rule that a domain syncs as its base
 * type (resolver.ts fetchTypes, 'd'). */
static const char domains_sql[] =
	"SELECT oid::text, typbasetype::text FROM pg_catalog.pg_type WHERE typtype = 'd'";

/* registry.ts CustomTypeRegistry: builtins by their pgwire oid; arrays,
 * composites, ranges, enums and everything unknown are text. */
static int builtin_flags(unsigned long oid)
{
	switch (oid) {
	case 16:  /* bool */
	case 20:  /* int8 */
	case 21:  /* int2 */
	case 23:  /* int4 */
	case 26:  /* oid */
		return SC_CS_INTEGER;
	case 700: /* float4 */
	case 701: /* float8 */
		return SC_CS_REAL;
	case 17:  /* bytea */
		return SC_CS_BLOB;
	default:
		return SC_CS_TEXT;
	}
}

typedef struct domain_map {
	unsigned long *oid, *base;
	size_t n;
} domain_map;

static int type_flags(const domain_map *d, unsigned long oid)
{
	/* A domain of a domain resolves through both (setDomainType looks
	 * the inner type up again); the bound guards a catalog loop. */
	for (int depth = 0; depth < 64; depth++) {
		size_t i;
		for (i = 0; i < d->n && d->oid[i] != oid; i++)
			;
		if (i == d->n)
			break;
		oid = d->base[i];
	}
	return builtin_flags(oid);
}

static void source_table_free(sc_cs_source_table *t)
{
	free(t->schema);
	free(t->name);
	for (size_t i = 0; i < t->ncolumns; i++) {
		free(t->columns[i].name);
		free(t->columns[i].internal_type);
	}
	free(t->columns);
}

void sc_cs_source_free(sc_cs_source *s)
{
	for (size_t i = 0; i < s->ntables; i++)
		source_table_free(&s->tables[i]);
	free(s->tables);
	memset(s, 0, sizeof *s);
}

int sc_cs_source_load(sc_pg *pg, sc_cs_source *out, sc_error *err)
{
	memset(out, 0, sizeof *out);
	PGresult *dr = sc_pg_exec(pg, domains_sql, 0, NULL, err);
	if (!dr)
		return -1;
	domain_map dm = { NULL, NULL, 0 };
	int nd = PQntuples(dr);
	dm.oid = sc_xcalloc((size_t)nd + 1, sizeof *dm.oid);
	dm.base = sc_xcalloc((size_t)nd + 1, sizeof *dm.base);
	for (int i = 0; i < nd; i++) {
		dm.oid[i] = strtoul(PQgetvalue(dr, i, 0), NULL, 10);
		dm.base[i] = strtoul(PQgetvalue(dr, i, 1), NULL, 10);
	}
	dm.n = (size_t)nd;
	PQclear(dr);
	sc_pg *keep = pg;
	pg->log_as = "getConnectionSchema (PostgresRouteAPIAdapter.ts)";
	PGresult *r = sc_pg_exec(keep, connection_schema_sql, 0, NULL, err);
	if (!r) {
		free(dm.oid);
		free(dm.base);
		return -1;
	}
	/* `schemas` is an object keyed by schema name: tables are grouped
	 * by schema in its key order, each group in row order. */
	cs_jsmap schemas = { NULL, 0 };
	int rows = PQntuples(r);
	size_t *group = sc_xcalloc((size_t)rows + 1, sizeof *group);
	for (int i = 0; i < rows; i++) {
		const char *sch = PQgetvalue(r, i, 0);
		size_t g;
		for (g = 0; g < schemas.n && strcmp(schemas.e[g].key, sch) != 0; g++)
			;
		if (g == schemas.n)
			cs_jsmap_add(&schemas, sch, NULL);
		group[i] = g;
	}
	size_t *order = cs_jsmap_order(&schemas);
	out->tables = sc_xcalloc((size_t)rows + 1, sizeof *out->tables);
	for (size_t gi = 0; gi < schemas.n; gi++) {
		size_t g = order[gi];
		for (int i = 0; i < rows; i++) {
			if (group[i] != g)
				continue;
			sc_cs_source_table *t = &out->tables[out->ntables++];
			t->schema = sc_xstrdup(PQgetvalue(r, i, 0));
			t->name = sc_xstrdup(PQgetvalue(r, i, 1));
			char why[160];
			cJSON *cols = sc_json_parse(PQgetvalue(r, i, 3), (size_t)PQgetlength(r, i, 3), why, sizeof why);
			/* StaticSchema keys the columns by name (an object). */
			cs_jsmap cm = { NULL, 0 };
			sc_cs_source_column *tmp = sc_xcalloc((size_t)cJSON_GetArraySize(cols) + 1, sizeof *tmp);
			size_t nt = 0;
			const cJSON *c;
			cJSON_ArrayForEach(c, cols) {
				const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "attname"));
				const cJSON *oid = cJSON_GetObjectItemCaseSensitive(c, "atttypid");
				const char *dt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(c, "data_type"));
				/* json_agg writes oids as strings (Number() there). */
				unsigned long typid = cJSON_IsNumber(oid) ? (unsigned long)oid->valuedouble
					: cJSON_IsString(oid) ? strtoul(oid->valuestring, NULL, 10) : 0;
				if (!name || cs_jsmap_get(&cm, name))
					continue;
				tmp[nt].name = sc_xstrdup(name);
				tmp[nt].flags = type_flags(&dm, typid);
				tmp[nt].internal_type = sc_xstrdup(dt ? dt : "");
				cs_jsmap_add(&cm, name, &tmp[nt]);
				nt++;
			}
			size_t *co = cs_jsmap_order(&cm);
			t->columns = sc_xcalloc(nt + 1, sizeof *t->columns);
			for (size_t k = 0; k < nt; k++)
				t->columns[k] = *(sc_cs_source_column *)cm.e[co[k]].val;
			t->ncolumns = nt;
			free(co);
			free(tmp);
			cs_jsmap_free(&cm, NULL);
			cJSON_Delete(cols);
		}
	}
	free(order);
	free(group);
	cs_jsmap_free(&schemas, NULL);
	PQclear(r);
	free(dm.oid);
	free(dm.base);
	return 0;
}

const sc_cs_source_column *cs_source_column(const sc_cs_source_table *t, const char *name)
{
	for (size_t i = 0; t && i < t->ncolumns; i++)
		if (strcmp(t->columns[i].name, name) == 0)
			return &t->columns[i];
	return NULL;
}

bool cs_pattern_matches(const char *schema, const char *pattern, const sc_cs_source_table *t)
{
	if (strcmp(schema, t->schema) != 0)
		return false;
	size_t n = strlen(pattern);
	if (n && pattern[n - 1] == '%')
		return strncmp(t->name, pattern, n - 1) == 0;
	return strcmp(t->name, pattern) == 0;
}

bool cs_is_wildcard(const char *pattern)
{
	size_t n = strlen(pattern);
	return n && pattern[n - 1] == '%';
}


/* ---- the result ---- */

static void outcol_free(void *p)
{
	cs_outcol *c = p;
	free(c->name);
	free(c->orig);
	free(c);
}

static void outtable_free(void *p)
{
	cs_outtable *t = p;
	cs_jsmap_free(&t->cols, outcol_free);
	free(t);
}

static void stream_out_free(void *p)
{
	cs_stream_out *s = p;
	free(s->name);
	cs_jsmap_free(&s->params, outcol_free);
	free(s);
}

void cs_warn(cs_compute *c, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	for (size_t i = 0; i < c->out->nwarnings; i++)
		if (strcmp(c->out->warnings[i], msg) == 0)
			return;
	c->out->warnings = sc_xrealloc(c->out->warnings, (c->out->nwarnings + 1) * sizeof *c->out->warnings);
	c->out->warnings[c->out->nwarnings++] = sc_xstrdup(msg);
}

void cs_fail(cs_compute *c, int code, const char *fmt, ...)
{
	if (c->failed)
		return;
	va_list ap;
	va_start(ap, fmt);
	sc_error_setv(c->err, code, fmt, ap);
	va_end(ap);
	c->failed = true;
}

void cs_need_db(cs_compute *c, const char *what)
{
	cs_fail(c, SC_EXIT_USAGE,
		"'%s': %s; give --db (or the configured source database) to generate the client schema",
		c->definition ? c->definition : "?", what);
}

cs_outtable *cs_out_table(cs_compute *c, const char *name)
{
	cs_outtable *t = cs_jsmap_get(&c->tables, name);
	if (!t) {
		t = sc_xcalloc(1, sizeof *t);
		cs_jsmap_add(&c->tables, name, t);
	}
	return t;
}

void cs_add_first(cs_outtable *t, const char *name, int flags, const char *orig)
{
	if (strcmp(name, "id") == 0 || cs_jsmap_get(&t->cols, name))
		return;
	cs_outcol *oc = sc_xcalloc(1, sizeof *oc);
	oc->name = sc_xstrdup(name);
	oc->flags = flags;
	oc->orig = orig ? sc_xstrdup(orig) : NULL;
	cs_jsmap_add(&t->cols, name, oc);
}

static void merge_into(cs_jsmap *m, const char *name, int flags, const char *orig)
{
	cs_outcol *oc = cs_jsmap_get(m, name);
	if (!oc) {
		oc = sc_xcalloc(1, sizeof *oc);
		oc->name = sc_xstrdup(name);
		oc->flags = flags;
		oc->orig = orig ? sc_xstrdup(orig) : NULL;
		cs_jsmap_add(m, name, oc);
		return;
	}
	oc->flags |= flags;
	bool same = (!oc->orig && !orig) || (oc->orig && orig && strcmp(oc->orig, orig) == 0);
	if (!same) {
		free(oc->orig);
		oc->orig = NULL;
	}
}

void cs_add_merged(cs_outtable *t, const char *name, int flags, const char *orig)
{
	if (strcmp(name, "id") != 0)
		merge_into(&t->cols, name, flags, orig);
}

void cs_add_param(cs_compute *c, const char *stream, const char *name, const cs_type *t)
{
	cs_stream_out *s = cs_jsmap_get(&c->streams, stream);
	if (s)
		merge_into(&s->params, name, t->flags, t->orig);
}

/* ---- the parse tree ---- */

cJSON *cs_node(const cJSON *wrapper, const char **type)
{
	if (!cJSON_IsObject(wrapper) || !wrapper->child) {
		*type = "";
		return NULL;
	}
	*type = wrapper->child->string;
	return wrapper->child;
}

const char *cs_str(const cJSON *wrapper)
{
	const char *t;
	cJSON *n = cs_node(wrapper, &t);
	return n && strcmp(t, "String") == 0 ? cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "sval")) : NULL;
}

int cs_loc(const cJSON *n)
{
	const cJSON *l = cJSON_GetObjectItemCaseSensitive(n, "location");
	return cJSON_IsNumber(l) ? l->valueint : -1;
}

cJSON *cs_get(const cJSON *n, const char *member)
{
	return n ? cJSON_GetObjectItemCaseSensitive(n, member) : NULL;
}

int cs_cast_flags(const char *to)
{
	if (!to)
		return -1;
	if (strcmp(to, "text") == 0)
		return SC_CS_TEXT;
	if (strcmp(to, "numeric") == 0)
		return SC_CS_INTEGER | SC_CS_REAL;
	if (strcmp(to, "integer") == 0 || strcmp(to, "int4") == 0)
		return SC_CS_INTEGER;
	if (strcmp(to, "real") == 0 || strcmp(to, "float4") == 0)
		return SC_CS_REAL;
	if (strcmp(to, "blob") == 0)
		return SC_CS_BLOB;
	return -1;
}

int cs_operator_type(const char *op, int left, int right)
{
	static const char *const boolean[] = { "=", "!=", ">", "<", ">=", "<=", "IS", "IS NOT", "AND", "OR", "IN", "&&", NULL };
	for (size_t i = 0; boolean[i]; i++)
		if (strcasecmp(op, boolean[i]) == 0)
			return SC_CS_INTEGER;
	if (strcmp(op, "+") == 0 || strcmp(op, "-") == 0 || strcmp(op, "*") == 0 || strcmp(op, "/") == 0) {
		bool ln = left && (left & (SC_CS_INTEGER | SC_CS_REAL)) == left;
		bool rn = right && (right & (SC_CS_INTEGER | SC_CS_REAL)) == right;
		if (left == SC_CS_INTEGER && right == SC_CS_INTEGER)
			return SC_CS_INTEGER;
		if (ln && rn)
			return SC_CS_REAL;
		return SC_CS_INTEGER | SC_CS_REAL;
	}
	if (strcmp(op, "||") == 0)
		return SC_CS_TEXT;
	return SC_CS_NONE;
}

/* ---- sc_cs_compute ---- */

int sc_cs_compute(const sc_rules_result *r, const sc_cs_source *src, sc_cs_schema *out, sc_error *err)
{
	memset(out, 0, sizeof *out);
	cs_compute c;
	memset(&c, 0, sizeof c);
	c.rules = r;
	c.src = src;
	c.out = out;
	c.err = err;
	if (sc_rules_count(r, SC_RULES_ERROR)) {
		sc_error_set(err, SC_EXIT_PROBLEM, "the rules are invalid");
		return -1;
	}
	if (r->edition >= 3) {
		cs_streams(&c);
	} else {
		/* SyncConfigFromYaml reads bucket definitions first, then streams. */
		for (int pass = 0; pass < 2 && !c.failed; pass++)
			for (size_t i = 0; i < r->nqueries && !c.failed; i++) {
				const sc_rules_query *q = &r->queries[i];
				if (q->kind == (pass == 0 ? SC_RULES_Q_DATA : SC_RULES_Q_STREAM)) {
					c.definition = q->definition;
					cs_legacy_query(&c, q);
				}
			}
	}
	if (!c.failed) {
		size_t *to = cs_jsmap_order(&c.tables);
		out->tables = sc_xcalloc(c.tables.n + 1, sizeof *out->tables);
		for (size_t i = 0; i < c.tables.n; i++) {
			cs_outtable *t = c.tables.e[to[i]].val;
			sc_cs_table *ot = &out->tables[out->ntables++];
			ot->name = sc_xstrdup(c.tables.e[to[i]].key);
			size_t *co = cs_jsmap_order(&t->cols);
			ot->columns = sc_xcalloc(t->cols.n + 1, sizeof *ot->columns);
			for (size_t k = 0; k < t->cols.n; k++) {
				cs_outcol *oc = t->cols.e[co[k]].val;
				ot->columns[k].name = sc_xstrdup(oc->name);
				ot->columns[k].flags = oc->flags;
				ot->columns[k].original = oc->orig ? sc_xstrdup(oc->orig) : NULL;
			}
			ot->ncolumns = t->cols.n;
			free(co);
		}
		free(to);
		size_t *so = cs_jsmap_order(&c.streams);
		out->streams = sc_xcalloc(c.streams.n + 1, sizeof *out->streams);
		for (size_t i = 0; i < c.streams.n; i++) {
			cs_stream_out *s = c.streams.e[so[i]].val;
			if (!s->optional)
				continue;
			sc_cs_stream *os = &out->streams[out->nstreams++];
			os->name = sc_xstrdup(s->name);
			size_t *po = cs_jsmap_order(&s->params);
			os->params = sc_xcalloc(s->params.n + 1, sizeof *os->params);
			for (size_t k = 0; k < s->params.n; k++) {
				cs_outcol *oc = s->params.e[po[k]].val;
				os->params[k].name = sc_xstrdup(oc->name);
				os->params[k].flags = oc->flags;
				os->params[k].original = oc->orig ? sc_xstrdup(oc->orig) : NULL;
			}
			os->nparams = s->params.n;
			free(po);
		}
		free(so);
	}
	cs_jsmap_free(&c.tables, outtable_free);
	cs_jsmap_free(&c.streams, stream_out_free);
	if (c.failed) {
		sc_cs_schema_free(out);
		return -1;
	}
	return 0;
}

static void columns_free(sc_cs_column *c, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(c[i].name);
		free(c[i].original);
	}
	free(c);
}

void sc_cs_schema_free(sc_cs_schema *s)
{
	for (size_t i = 0; i < s->ntables; i++) {
		free(s->tables[i].name);
		columns_free(s->tables[i].columns, s->tables[i].ncolumns);
	}
	free(s->tables);
	for (size_t i = 0; i < s->nstreams; i++) {
		free(s->streams[i].name);
		columns_free(s->streams[i].params, s->streams[i].nparams);
	}
	free(s->streams);
	for (size_t i = 0; i < s->nwarnings; i++)
		free(s->warnings[i]);
	free(s->warnings);
	memset(s, 0, sizeof *s);
}

const sc_cs_table *sc_cs_find_table(const sc_cs_schema *s, const char *name)
{
	for (size_t i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i].name, name) == 0)
			return &s->tables[i];
	return NULL;
}
