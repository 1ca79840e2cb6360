/* Edition-3 streams (the sync streams compiler), for the client schema:
 *
 *  - each query is lowered as compiler/parser.ts and compiler/sqlite.ts
 *    lower it: result sets from FROM (tables, common table expressions
 *    and subqueries inlined, table-valued json_each), expressions in the
 *    sync plan's form (sync_plan/expression.ts), x IN (SELECT ...), x IN
 *    cte and x IN <array> desugared into joins;
 *  - its result columns are typed as sync_plan/schema_inference.ts
 *    resolveResultSets types them, per source table the query matches;
 *  - its filter is put in disjunctive normal form, and each term resolved
 *    from the table synced as compiler/querier_graph.ts resolves it:
 *    partition keys (sorted by the compiler's stable hash, equality.ts),
 *    the values instantiating them (request data, lookups in other
 *    tables, table-valued functions) and the request filters. From those,
 *    SyncPlanSchemaAnalyzer.resolveReferencedParameters gives the types of
 *    the subscription parameters of each optional stream.
 *
 * Not reproduced: the merging of buckets across queries of one stream
 * (querier_graph.ts mergeBuckets) can, for a stream with several queries
 * of which an earlier one has OR terms, list a later query's table
 * before an earlier one's; here tables follow the queries' order. */
#include <ctype.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "buf.h"
#include "clientschema_int.h"

/* ---- the compiler's model ---- */

typedef enum { RS_TABLE, RS_TVF } rs_kind;

struct xnode;

typedef struct rset {
	rs_kind kind;
	char *schema, *pattern;     /* RS_TABLE; schema NULL: the default one */
	char *explicit_name;        /* the alias in FROM, or NULL */
	char *fn;                   /* RS_TVF */
	struct xnode **inputs;      /* RS_TVF */
	size_t ninputs;
	struct rset *input;         /* RS_TVF over a table's rows, or NULL */
	bool over_request;          /* RS_TVF over request data */
} rset;

typedef enum {
	X_COLUMN, X_REQUEST, X_UNARY, X_BINARY, X_BETWEEN, X_SCALAR_IN, X_CASE, X_CAST, X_FUNC,
	X_NULL, X_INT, X_DOUBLE, X_STRING,
} xkind;

typedef struct xnode {
	xkind k;
	char *s;                    /* operator, function, cast type, literal text, column, request source */
	rset *rs;                   /* X_COLUMN */
	double d;                   /* X_DOUBLE */
	struct xnode **kids;
	size_t nkids;
	bool has_operand, has_else; /* X_CASE: kids = [operand] (when+then)* [else] */
} xnode;

/* A subquery or common table expression in FROM: its columns are inlined
 * where they are referenced. */
typedef struct subq {
	char **names;
	xnode **exprs;
	size_t n;
} subq;

typedef struct scope_ent {
	char *name;                 /* lower case */
	rset *rs;
	subq *sq;
} scope_ent;

typedef struct scope {
	struct scope *parent;
	scope_ent *e;
	size_t n;
} scope;

typedef struct colsrc {
	bool star;
	xnode *expr;
	char *alias;
} colsrc;

typedef struct sstream {
	cs_compute *c;
	const char *name;
	const sc_rules_query *q;    /* the query being lowered */
	/* Everything allocated while reading a stream, freed at its end. */
	void **arena;
	size_t narena;
	bool bad;                   /* something the compiler would refuse */
	bool untypable;             /* a result column 0.38.1's generator cannot type */
} sstream;

typedef struct parser {
	sstream *S;
	scope *sc;
	rset **rsets;               /* every result set the statement reads */
	size_t nrsets;
	xnode **where;              /* AND terms */
	size_t nwhere;
	rset *primary;
	colsrc *cols;
	size_t ncols;
	int *synthetic;             /* counter for synthetic:N names */
} parser;

static void *arena(sstream *S, size_t n)
{
	void *p = sc_xcalloc(1, n);
	S->arena = sc_xrealloc(S->arena, (S->narena + 1) * sizeof *S->arena);
	S->arena[S->narena++] = p;
	return p;
}

static char *astr(sstream *S, const char *s)
{
	char *p = arena(S, strlen(s) + 1);
	strcpy(p, s);
	return p;
}

static void push(sstream *S, void ***v, size_t *n, void *x)
{
	void **nv = arena(S, (*n + 1) * sizeof *nv);
	if (*n)
		memcpy(nv, *v, *n * sizeof *nv);
	nv[(*n)++] = x;
	*v = nv;
}

static xnode *xn(sstream *S, xkind k, const char *s)
{
	xnode *x = arena(S, sizeof *x);
	x->k = k;
	x->s = s ? astr(S, s) : NULL;
	return x;
}

static xnode *xn2(sstream *S, xkind k, const char *s, xnode *a, xnode *b)
{
	xnode *x = xn(S, k, s);
	push(S, (void ***)&x->kids, &x->nkids, a);
	if (b)
		push(S, (void ***)&x->kids, &x->nkids, b);
	return x;
}

static xnode *negate(sstream *S, xnode *inner)
{
	return xn2(S, X_UNARY, "not", inner, NULL);
}

/* ---- scopes (compiler/scope.ts) ---- */

static scope *scope_new(sstream *S, scope *parent)
{
	scope *s = arena(S, sizeof *s);
	s->parent = parent;
	return s;
}

static void scope_add(sstream *S, scope *s, const char *name, rset *rs, subq *sq)
{
	char *lower = astr(S, name);
	for (char *p = lower; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->e[i].name, lower) == 0) {
			S->bad = true; /* "Table with name x already exists in scope" */
			return;
		}
	scope_ent *ne = arena(S, (s->n + 1) * sizeof *ne);
	if (s->n)
		memcpy(ne, s->e, s->n * sizeof *ne);
	ne[s->n].name = lower;
	ne[s->n].rs = rs;
	ne[s->n].sq = sq;
	s->e = ne;
	s->n++;
}

static const scope_ent *scope_find(const scope *s, const char *name)
{
	for (; s; s = s->parent)
		for (size_t i = 0; i < s->n; i++)
			if (strcasecmp(s->e[i].name, name) == 0)
				return &s->e[i];
	return NULL;
}

static const scope_ent *scope_default(const scope *s)
{
	for (; s; s = s->parent) {
		if (s->n == 1)
			return &s->e[0];
		if (s->n > 1)
			return NULL;
	}
	return NULL;
}

/* A common table expression in scope: the stream's own, then the global ones. */
static const sc_rules_query *find_cte(sstream *S, const char *name)
{
	const sc_rules_result *r = S->c->rules;
	for (int pass = 0; pass < 2; pass++)
		for (size_t i = r->nqueries; i-- > 0;) {
			const sc_rules_query *q = &r->queries[i];
			if (q->kind != SC_RULES_Q_CTE || strcasecmp(q->cte_name, name) != 0)
				continue;
			if (pass == 0 ? q->definition && strcmp(q->definition, S->name) == 0 : !q->definition)
				return q;
		}
	return NULL;
}

/* ---- lowering (compiler/sqlite.ts PostgresToSqlite) ---- */

static xnode *lower_expr(parser *P, const cJSON *w);
static bool process_select(parser *P, const cJSON *sel, bool for_subquery);
static parser *nested(parser *P, scope *parent);

static const char *last_name(const cJSON *list)
{
	int k = cJSON_GetArraySize(list);
	return k ? cs_str(cJSON_GetArrayItem(list, k - 1)) : NULL;
}

static void add_rset(parser *P, rset *rs)
{
	push(P->S, (void ***)&P->rsets, &P->nrsets, rs);
}

static void add_where(parser *P, xnode *x)
{
	if (x)
		push(P->S, (void ***)&P->where, &P->nwhere, x);
}

/* A reference to a column: a column of a result set, or a subquery's
 * column inlined. */
static xnode *lower_column(parser *P, const char *table, const char *column)
{
	const scope_ent *e = table ? scope_find(P->sc, table) : scope_default(P->sc);
	if (!e) {
		P->S->bad = true;
		return xn(P->S, X_NULL, NULL);
	}
	if (e->sq) {
		for (size_t i = 0; i < e->sq->n; i++)
			if (strcmp(e->sq->names[i], column) == 0)
				return e->sq->exprs[i];
		P->S->bad = true; /* Column not found in subquery. */
		return xn(P->S, X_NULL, NULL);
	}
	xnode *x = xn(P->S, X_COLUMN, column);
	x->rs = e->rs;
	return x;
}

static xnode *request(parser *P, const char *source, const char *fn, const cJSON *args)
{
	sstream *S = P->S;
	xnode *data = xn(S, X_REQUEST, source);
	if (strcasecmp(fn, "parameters") == 0)
		return data;
	if (strcasecmp(fn, "parameter") == 0 && cJSON_GetArraySize(args) == 1)
		return xn2(S, X_FUNC, "->>", data, lower_expr(P, cJSON_GetArrayItem(args, 0)));
	if (strcasecmp(fn, "user_id") == 0 && strcmp(source, "auth") == 0) {
		xnode *sub = xn(S, X_STRING, "$.sub");
		return xn2(S, X_FUNC, "->>", data, sub);
	}
	S->bad = true;
	return xn(S, X_NULL, NULL);
}

/* translateInOrOverlapOperator: x IN (SELECT ...), x IN cte, x IN <array>. */
static xnode *join_subquery(parser *P, const cJSON *sel)
{
	sstream *S = P->S;
	parser *inner = nested(P, P->sc);
	if (!process_select(inner, sel, true))
		return NULL;
	const cJSON *targets = cs_get(sel, "targetList");
	if (cJSON_GetArraySize(targets) != 1) {
		S->bad = true;
		return NULL;
	}
	const char *t;
	const cJSON *rt = cs_node(cJSON_GetArrayItem(targets, 0), &t);
	xnode *out = lower_expr(inner, cs_get(rt, "val"));
	for (size_t i = 0; i < inner->nrsets; i++) {
		bool have = false;
		for (size_t k = 0; k < P->nrsets; k++)
			have = have || P->rsets[k] == inner->rsets[i];
		if (!have)
			add_rset(P, inner->rsets[i]);
	}
	/* (x = out) AND filter AND ...: the caller builds the equality. */
	xnode *filters = NULL;
	for (size_t i = 0; i < inner->nwhere; i++)
		filters = filters ? xn2(S, X_BINARY, "and", filters, inner->where[i]) : inner->where[i];
	xnode *pair = xn2(S, X_BINARY, ",", out, filters);
	return pair;
}

static xnode *in_operator(parser *P, const cJSON *left, const cJSON *right_sel, const cJSON *right_expr, bool negated)
{
	sstream *S = P->S;
	xnode *l = lower_expr(P, left);
	const cJSON *sel = right_sel;
	const char *rt = "";
	const cJSON *rn = right_expr ? cs_node(right_expr, &rt) : NULL;
	const sc_rules_query *cte = NULL;
	if (!sel && rn && strcmp(rt, "ColumnRef") == 0) {
		const cJSON *fields = cs_get(rn, "fields");
		if (cJSON_GetArraySize(fields) == 1) {
			const char *name = cs_str(cJSON_GetArrayItem(fields, 0));
			/* A CTE's name wins over a column's (sqlite.ts expand). */
			if (name)
				cte = find_cte(S, name);
			if (name && cte) {
				/* $cte as (SELECT $onlyColumn FROM $cte) */
				const cJSON *ctargets = cs_get(cte->select, "targetList");
				if (cJSON_GetArraySize(ctargets) != 1) {
					S->bad = true;
					return xn(S, X_NULL, NULL);
				}
				/* Lowered as a subquery over the CTE: its FROM and WHERE join. */
				sel = cte->select;
				const sc_rules_query *saved = S->q;
				S->q = cte;
				xnode *pair = join_subquery(P, sel);
				S->q = saved;
				if (!pair)
					return xn(S, X_NULL, NULL);
				xnode *eq = xn2(S, X_BINARY, "=", l, pair->kids[0]);
				xnode *x = pair->nkids > 1 && pair->kids[1] ? xn2(S, X_BINARY, "and", eq, pair->kids[1]) : eq;
				return negated ? negate(S, x) : x;
			}
		}
	}
	if (!sel && rn && (strcmp(rt, "A_ArrayExpr") == 0 || (strcmp(rt, "RowExpr") == 0))) {
		xnode *x = xn(S, X_SCALAR_IN, NULL);
		push(S, (void ***)&x->kids, &x->nkids, l);
		const cJSON *e;
		cJSON_ArrayForEach(e, cs_get(rn, strcmp(rt, "A_ArrayExpr") == 0 ? "elements" : "args"))
			push(S, (void ***)&x->kids, &x->nkids, lower_expr(P, e));
		return negated ? negate(S, x) : x;
	}
	if (!sel) {
		xnode *r = lower_expr(P, right_expr);
		if (negated) {
			xnode *f = xn2(S, X_FUNC, "ps_json_contains", l, r);
			return negate(S, f);
		}
		/* x IN a: x IN (SELECT value FROM json_each(a) AS synthetic:N) */
		rset *tv = arena(S, sizeof *tv);
		tv->kind = RS_TVF;
		tv->fn = astr(S, "json_each");
		push(S, (void ***)&tv->inputs, &tv->ninputs, r);
		/* Its inputs decide what it is attached to. */
		bool row = false, req = false;
		rset *over = NULL;
		xnode *stack[256];
		size_t sp = 0;
		stack[sp++] = r;
		while (sp) {
			xnode *x = stack[--sp];
			if (x->k == X_COLUMN) {
				row = true;
				over = x->rs;
			} else if (x->k == X_REQUEST) {
				req = true;
			}
			for (size_t i = 0; i < x->nkids && sp < 256; i++)
				stack[sp++] = x->kids[i];
		}
		if (row && req)
			S->bad = true;
		tv->input = row ? (over && over->kind == RS_TABLE ? over : NULL) : NULL;
		tv->over_request = req;
		add_rset(P, tv);
		xnode *value = xn(S, X_COLUMN, "value");
		value->rs = tv;
		xnode *eq = xn2(S, X_BINARY, "=", l, value);
		return eq;
	}
	xnode *pair = join_subquery(P, sel);
	if (!pair)
		return xn(S, X_NULL, NULL);
	xnode *eq = xn2(S, X_BINARY, "=", l, pair->kids[0]);
	xnode *x = pair->nkids > 1 && pair->kids[1] ? xn2(S, X_BINARY, "and", eq, pair->kids[1]) : eq;
	return negated ? negate(S, x) : x;
}

static xnode *lower_const(sstream *S, const cJSON *n)
{
	const cJSON *x;
	if (cJSON_IsTrue(cs_get(n, "isnull")))
		return xn(S, X_NULL, NULL);
	if ((x = cs_get(n, "boolval")))
		return xn(S, X_INT, cJSON_IsTrue(cs_get(x, "boolval")) ? "1" : "0");
	if ((x = cs_get(n, "ival"))) {
		const cJSON *iv = cs_get(x, "ival");
		char buf[32];
		snprintf(buf, sizeof buf, "%lld", cJSON_IsNumber(iv) ? (long long)iv->valuedouble : 0LL);
		return xn(S, X_INT, buf);
	}
	if ((x = cs_get(n, "fval"))) {
		const char *s = cJSON_GetStringValue(cs_get(x, "fval"));
		if (!s)
			s = "0";
		if (!strpbrk(s, ".eE"))
			return xn(S, X_INT, s);
		xnode *d = xn(S, X_DOUBLE, s);
		d->d = strtod(s, NULL);
		return d;
	}
	if ((x = cs_get(n, "sval"))) {
		const char *s = cJSON_GetStringValue(cs_get(x, "sval"));
		return xn(S, X_STRING, s ? s : "");
	}
	return xn(S, X_NULL, NULL);
}

static xnode *lower_expr(parser *P, const cJSON *w)
{
	sstream *S = P->S;
	const char *t;
	const cJSON *n = cs_node(w, &t);
	if (!n)
		return xn(S, X_NULL, NULL);
	if (strcmp(t, "A_Const") == 0)
		return lower_const(S, n);
	if (strcmp(t, "ColumnRef") == 0) {
		const cJSON *fields = cs_get(n, "fields");
		int k = cJSON_GetArraySize(fields);
		const char *col = cs_str(cJSON_GetArrayItem(fields, k - 1));
		if (!col || k > 2) {
			S->bad = true;
			return xn(S, X_NULL, NULL);
		}
		return lower_column(P, k == 2 ? cs_str(cJSON_GetArrayItem(fields, 0)) : NULL, col);
	}
	if (strcmp(t, "FuncCall") == 0) {
		const cJSON *names = cs_get(n, "funcname");
		const cJSON *args = cs_get(n, "args");
		const char *fn = last_name(names);
		const char *schema = cJSON_GetArraySize(names) > 1 ? cs_str(cJSON_GetArrayItem(names, 0)) : NULL;
		if (!fn)
			return xn(S, X_NULL, NULL);
		if (schema && (strcmp(schema, "auth") == 0 || strcmp(schema, "subscription") == 0 || strcmp(schema, "connection") == 0))
			return request(P, schema, fn, args);
		char *lower = astr(S, fn);
		for (char *p = lower; *p; p++)
			*p = (char)tolower((unsigned char)*p);
		/* The SQL substring(x FROM a FOR b) is substr in the lowered form. */
		const char *fmt = cJSON_GetStringValue(cs_get(n, "funcformat"));
		if (schema && strcmp(schema, "pg_catalog") == 0 && strcmp(lower, "substring") == 0 && fmt &&
		    strcmp(fmt, "COERCE_SQL_SYNTAX") == 0)
			lower = astr(S, "substr");
		xnode *x = xn(S, X_FUNC, lower);
		const cJSON *a;
		cJSON_ArrayForEach(a, args)
			push(S, (void ***)&x->kids, &x->nkids, lower_expr(P, a));
		return x;
	}
	if (strcmp(t, "TypeCast") == 0) {
		const char *to = last_name(cs_get(cs_get(n, "typeName"), "names"));
		if (cs_cast_flags(to) < 0) {
			S->bad = true;
			return xn(S, X_NULL, NULL);
		}
		const char *as = strcmp(to, "int4") == 0 ? "integer" : strcmp(to, "float4") == 0 ? "real" : to;
		return xn2(S, X_CAST, as, lower_expr(P, cs_get(n, "arg")), NULL);
	}
	if (strcmp(t, "NullTest") == 0) {
		const char *kind = cJSON_GetStringValue(cs_get(n, "nulltesttype"));
		xnode *is = xn2(S, X_BINARY, "is", lower_expr(P, cs_get(n, "arg")), xn(S, X_NULL, NULL));
		return kind && strcmp(kind, "IS_NOT_NULL") == 0 ? negate(S, is) : is;
	}
	if (strcmp(t, "BooleanTest") == 0) {
		const char *kind = cJSON_GetStringValue(cs_get(n, "booltesttype"));
		bool truth = kind && strstr(kind, "TRUE");
		bool not = kind && strstr(kind, "_NOT_");
		xnode *is = xn2(S, X_BINARY, "is", lower_expr(P, cs_get(n, "arg")), xn(S, X_INT, truth ? "1" : "0"));
		return not ? negate(S, is) : is;
	}
	if (strcmp(t, "BoolExpr") == 0) {
		const char *op = cJSON_GetStringValue(cs_get(n, "boolop"));
		const cJSON *args = cs_get(n, "args");
		if (op && strcmp(op, "NOT_EXPR") == 0)
			return negate(S, lower_expr(P, cJSON_GetArrayItem(args, 0)));
		const char *bop = op && strcmp(op, "OR_EXPR") == 0 ? "or" : "and";
		xnode *acc = NULL;
		const cJSON *a;
		cJSON_ArrayForEach(a, args) {
			xnode *x = lower_expr(P, a);
			acc = acc ? xn2(S, X_BINARY, bop, acc, x) : x;
		}
		return acc ? acc : xn(S, X_NULL, NULL);
	}
	if (strcmp(t, "SubLink") == 0) {
		const char *kind = cJSON_GetStringValue(cs_get(n, "subLinkType"));
		const char *st;
		const cJSON *sub = cs_node(cs_get(n, "subselect"), &st);
		if (kind && strcmp(kind, "ANY_SUBLINK") == 0 && sub && strcmp(st, "SelectStmt") == 0)
			return in_operator(P, cs_get(n, "testexpr"), sub, NULL, false);
		S->bad = true;
		return xn(S, X_NULL, NULL);
	}
	if (strcmp(t, "CaseExpr") == 0) {
		xnode *x = xn(S, X_CASE, NULL);
		const cJSON *arg = cs_get(n, "arg");
		if (arg) {
			x->has_operand = true;
			push(S, (void ***)&x->kids, &x->nkids, lower_expr(P, arg));
		}
		const cJSON *cw;
		cJSON_ArrayForEach(cw, cs_get(n, "args")) {
			const char *ct;
			const cJSON *when = cs_node(cw, &ct);
			push(S, (void ***)&x->kids, &x->nkids, lower_expr(P, cs_get(when, "expr")));
			push(S, (void ***)&x->kids, &x->nkids, lower_expr(P, cs_get(when, "result")));
		}
		const cJSON *def = cs_get(n, "defresult");
		if (def) {
			x->has_else = true;
			push(S, (void ***)&x->kids, &x->nkids, lower_expr(P, def));
		}
		return x;
	}
	if (strcmp(t, "A_Expr") == 0) {
		const char *kind = cJSON_GetStringValue(cs_get(n, "kind"));
		const char *op = last_name(cs_get(n, "name"));
		const cJSON *l = cs_get(n, "lexpr"), *r = cs_get(n, "rexpr");
		if (kind && strcmp(kind, "AEXPR_IN") == 0) {
			const cJSON *items = cs_get(cs_get(r, "List"), "items");
			if (cJSON_GetArraySize(items) != 1) {
				/* A list (a, b) is not an expression the service takes. */
				S->bad = true;
				return xn(S, X_NULL, NULL);
			}
			return in_operator(P, l, NULL, cJSON_GetArrayItem(items, 0), op && strcmp(op, "<>") == 0);
		}
		if (kind && (strcmp(kind, "AEXPR_BETWEEN") == 0 || strcmp(kind, "AEXPR_NOT_BETWEEN") == 0)) {
			const cJSON *items = cs_get(cs_get(r, "List"), "items");
			xnode *x = xn(S, X_BETWEEN, NULL);
			push(S, (void ***)&x->kids, &x->nkids, lower_expr(P, l));
			push(S, (void ***)&x->kids, &x->nkids, lower_expr(P, cJSON_GetArrayItem(items, 0)));
			push(S, (void ***)&x->kids, &x->nkids, lower_expr(P, cJSON_GetArrayItem(items, 1)));
			return strcmp(kind, "AEXPR_NOT_BETWEEN") == 0 ? negate(S, x) : x;
		}
		if (kind && (strcmp(kind, "AEXPR_LIKE") == 0 || strcmp(kind, "AEXPR_ILIKE") == 0)) {
			S->bad = true;
			return xn2(S, X_FUNC, "like", lower_expr(P, l), lower_expr(P, r));
		}
		if (!kind || strcmp(kind, "AEXPR_OP") != 0 || !op) {
			S->bad = true;
			return xn(S, X_NULL, NULL);
		}
		if (!l) {
			if (strcmp(op, "+") == 0)
				return xn2(S, X_UNARY, "+", lower_expr(P, r), NULL);
			S->bad = true; /* Unary minus is not currently supported */
			return xn(S, X_NULL, NULL);
		}
		if (strcmp(op, "->") == 0 || strcmp(op, "->>") == 0)
			return xn2(S, X_FUNC, op, lower_expr(P, l), lower_expr(P, r));
		if (strcmp(op, "&&") == 0)
			return in_operator(P, l, NULL, r, false);
		if (strcmp(op, "<>") == 0 || strcmp(op, "!=") == 0)
			return negate(S, xn2(S, X_BINARY, "=", lower_expr(P, l), lower_expr(P, r)));
		static const char *const ops[] = { "=", "<", ">", "<=", ">=", "&", "|", "<<", ">>", "+", "-", "*", "/", "%", "||", NULL };
		for (size_t i = 0; ops[i]; i++)
			if (strcmp(op, ops[i]) == 0)
				return xn2(S, X_BINARY, op, lower_expr(P, l), lower_expr(P, r));
		S->bad = true;
		return xn(S, X_NULL, NULL);
	}
	S->bad = true;
	return xn(S, X_NULL, NULL);
}

/* ---- statements (compiler/parser.ts StreamQueryParser) ---- */

static parser *nested(parser *P, scope *parent)
{
	parser *n = arena(P->S, sizeof *n);
	n->S = P->S;
	n->sc = scope_new(P->S, parent);
	n->synthetic = P->synthetic;
	for (size_t i = 0; i < P->nrsets; i++)
		add_rset(n, P->rsets[i]);
	return n;
}

static subq *parse_as_subquery(parser *P, const cJSON *sel, bool *ok);

static scope *root_scope(scope *s)
{
	while (s->parent)
		s = s->parent;
	return s;
}

/* A subquery in FROM (a CTE reference or a RangeSubselect): its tables and
 * filter join this statement, its columns are inlined. */
static void add_subquery(parser *P, const char *name, const cJSON *sel, const sc_rules_query *text)
{
	sstream *S = P->S;
	parser *inner = nested(P, root_scope(P->sc));
	const sc_rules_query *saved = S->q;
	if (text)
		S->q = text;
	bool ok;
	subq *sq = parse_as_subquery(inner, sel, &ok);
	S->q = saved;
	if (!ok)
		return;
	scope_add(S, P->sc, name, NULL, sq);
	for (size_t i = 0; i < inner->nrsets; i++) {
		bool have = false;
		for (size_t k = 0; k < P->nrsets; k++)
			have = have || P->rsets[k] == inner->rsets[i];
		if (!have)
			add_rset(P, inner->rsets[i]);
	}
	xnode *w = NULL;
	for (size_t i = 0; i < inner->nwhere; i++)
		w = w ? xn2(S, X_BINARY, "and", w, inner->where[i]) : inner->where[i];
	add_where(P, w);
}

static void process_from(parser *P, const cJSON *w)
{
	sstream *S = P->S;
	const char *t;
	const cJSON *n = cs_node(w, &t);
	if (!n)
		return;
	if (strcmp(t, "JoinExpr") == 0) {
		const char *jt = cJSON_GetStringValue(cs_get(n, "jointype"));
		if (jt && strcmp(jt, "JOIN_INNER") != 0)
			S->bad = true;
		if (cs_get(n, "usingClause"))
			S->bad = true;
		process_from(P, cs_get(n, "larg"));
		process_from(P, cs_get(n, "rarg"));
		if (cs_get(n, "quals"))
			add_where(P, lower_expr(P, cs_get(n, "quals")));
		return;
	}
	if (strcmp(t, "RangeVar") == 0) {
		const char *schema = cJSON_GetStringValue(cs_get(n, "schemaname"));
		const char *rel = cJSON_GetStringValue(cs_get(n, "relname"));
		const char *alias = cJSON_GetStringValue(cs_get(cs_get(n, "alias"), "aliasname"));
		if (!rel)
			return;
		const sc_rules_query *cte = schema ? NULL : find_cte(S, rel);
		if (cte) {
			add_subquery(P, alias ? alias : rel, cte->select, cte);
			return;
		}
		rset *rs = arena(S, sizeof *rs);
		rs->kind = RS_TABLE;
		rs->schema = schema ? astr(S, schema) : NULL;
		rs->pattern = astr(S, rel);
		rs->explicit_name = alias ? astr(S, alias) : NULL;
		scope_add(S, P->sc, alias ? alias : rel, rs, NULL);
		add_rset(P, rs);
		return;
	}
	if (strcmp(t, "RangeSubselect") == 0) {
		const char *alias = cJSON_GetStringValue(cs_get(cs_get(n, "alias"), "aliasname"));
		const char *st;
		const cJSON *sel = cs_node(cs_get(n, "subquery"), &st);
		if (sel && alias)
			add_subquery(P, alias, sel, NULL);
		else
			S->bad = true;
		return;
	}
	if (strcmp(t, "RangeFunction") == 0) {
		const char *alias = cJSON_GetStringValue(cs_get(cs_get(n, "alias"), "aliasname"));
		const cJSON *first = cJSON_GetArrayItem(cs_get(cJSON_GetArrayItem(cs_get(n, "functions"), 0), "List"), 0);
		const cJSON *items = cs_get(cs_get(cJSON_GetArrayItem(cs_get(n, "functions"), 0), "List"), "items");
		first = cJSON_GetArrayItem(items, 0);
		const char *ft;
		const cJSON *fc = cs_node(first, &ft);
		if (!fc || strcmp(ft, "FuncCall") != 0) {
			S->bad = true;
			return;
		}
		rset *rs = arena(S, sizeof *rs);
		rs->kind = RS_TVF;
		rs->fn = astr(S, last_name(cs_get(fc, "funcname")) ? last_name(cs_get(fc, "funcname")) : "?");
		bool row = false, req = false;
		rset *over = NULL;
		const cJSON *a;
		cJSON_ArrayForEach(a, cs_get(fc, "args")) {
			xnode *x = lower_expr(P, a);
			push(S, (void ***)&rs->inputs, &rs->ninputs, x);
			xnode *stack[256];
			size_t sp = 0;
			stack[sp++] = x;
			while (sp) {
				xnode *y = stack[--sp];
				if (y->k == X_COLUMN) {
					row = true;
					over = y->rs;
				} else if (y->k == X_REQUEST) {
					req = true;
				}
				for (size_t i = 0; i < y->nkids && sp < 256; i++)
					stack[sp++] = y->kids[i];
			}
		}
		if (row && req)
			S->bad = true;
		rs->input = row && over && over->kind == RS_TABLE ? over : NULL;
		rs->over_request = req;
		scope_add(S, P->sc, alias ? alias : rs->fn, rs, NULL);
		add_rset(P, rs);
		return;
	}
	S->bad = true;
}

/* inferColumnName for an unaliased expression: its text as written. */
static char *expression_text(sstream *S, const cJSON *rt)
{
	const sc_rules_query *q = S->q;
	int start = cs_loc(rt);
	if (start < 0 || (size_t)start >= strlen(q->sql))
		return astr(S, "?");
	PgQueryScanResult sr = pg_query_scan(q->sql + start);
	size_t end = strlen(q->sql + start);
	if (!sr.error) {
		PgQuery__ScanResult *res = pg_query__scan_result__unpack(NULL, sr.pbuf.len, (const uint8_t *)sr.pbuf.data);
		int depth = 0;
		for (size_t i = 0; res && i < res->n_tokens; i++) {
			PgQuery__ScanToken *tk = res->tokens[i];
			if (tk->token == PG_QUERY__TOKEN__ASCII_40 || tk->token == PG_QUERY__TOKEN__ASCII_91)
				depth++;
			else if (tk->token == PG_QUERY__TOKEN__ASCII_41 || tk->token == PG_QUERY__TOKEN__ASCII_93)
				depth--;
			else if (depth == 0 && (tk->token == PG_QUERY__TOKEN__ASCII_44 || tk->token == PG_QUERY__TOKEN__FROM))
				break;
			end = (size_t)tk->end;
		}
		if (res)
			pg_query__scan_result__free_unpacked(res, NULL);
	}
	pg_query_free_scan_result(sr);
	/* Without the characters the rules' rewriting added. */
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < end; i++) {
		bool added = false;
		for (size_t k = 0; k < q->ninserted; k++)
			added = added || (size_t)q->inserted[k] == (size_t)start + i;
		if (!added)
			sc_buf_putc(&b, q->sql[start + i]);
	}
	char *s = sc_buf_take(&b);
	char *out = astr(S, s);
	free(s);
	return out;
}

static void process_result_columns(parser *P, const cJSON *targets)
{
	sstream *S = P->S;
	const cJSON *res;
	cJSON_ArrayForEach(res, targets) {
		const char *t;
		const cJSON *rt = cs_node(res, &t);
		const cJSON *val = cs_get(rt, "val");
		const char *alias = cJSON_GetStringValue(cs_get(rt, "name"));
		const char *vt;
		const cJSON *vn = cs_node(val, &vt);
		if (!alias && strcmp(vt, "ColumnRef") == 0) {
			const cJSON *fields = cs_get(vn, "fields");
			int k = cJSON_GetArraySize(fields);
			const char *ft;
			cs_node(cJSON_GetArrayItem(fields, k - 1), &ft);
			if (strcmp(ft, "A_Star") == 0) {
				const scope_ent *e = k == 2 ? scope_find(P->sc, cs_str(cJSON_GetArrayItem(fields, 0))) : scope_default(P->sc);
				if (!e) {
					S->bad = true;
					continue;
				}
				if (e->rs) {
					if (e->rs->kind != RS_TABLE || (P->primary && P->primary != e->rs)) {
						S->bad = true;
						continue;
					}
					P->primary = e->rs;
					colsrc c = { true, NULL, NULL };
					P->cols = sc_xrealloc(P->cols, (P->ncols + 1) * sizeof *P->cols);
					P->cols[P->ncols++] = c;
				} else {
					for (size_t i = 0; i < e->sq->n; i++) {
						colsrc c = { false, e->sq->exprs[i], e->sq->names[i] };
						P->cols = sc_xrealloc(P->cols, (P->ncols + 1) * sizeof *P->cols);
						P->cols[P->ncols++] = c;
					}
				}
				continue;
			}
		}
		xnode *x = lower_expr(P, val);
		const char *name = alias;
		if (!name && strcmp(vt, "ColumnRef") == 0) {
			const cJSON *fields = cs_get(vn, "fields");
			name = cs_str(cJSON_GetArrayItem(fields, cJSON_GetArraySize(fields) - 1));
		}
		colsrc c = { false, x, name ? astr(S, name) : expression_text(S, rt) };
		P->cols = sc_xrealloc(P->cols, (P->ncols + 1) * sizeof *P->cols);
		P->cols[P->ncols++] = c;
	}
	/* The table synced is the one the result columns read. */
	for (size_t i = 0; i < P->ncols; i++) {
		if (P->cols[i].star)
			continue;
		xnode *stack[512];
		size_t sp = 0;
		stack[sp++] = P->cols[i].expr;
		while (sp) {
			xnode *y = stack[--sp];
			if (y->k == X_COLUMN) {
				if (y->rs->kind != RS_TABLE || (P->primary && P->primary != y->rs))
					S->bad = true;
				else
					P->primary = y->rs;
			} else if (y->k == X_REQUEST) {
				S->bad = true;
			}
			for (size_t k = 0; k < y->nkids && sp < 512; k++)
				stack[sp++] = y->kids[k];
		}
	}
}

static bool process_select(parser *P, const cJSON *sel, bool for_subquery)
{
	const cJSON *f;
	cJSON_ArrayForEach(f, cs_get(sel, "fromClause"))
		process_from(P, f);
	if (cs_get(sel, "whereClause"))
		add_where(P, lower_expr(P, cs_get(sel, "whereClause")));
	if (!for_subquery)
		process_result_columns(P, cs_get(sel, "targetList"));
	return true;
}

static subq *parse_as_subquery(parser *P, const cJSON *sel, bool *ok)
{
	sstream *S = P->S;
	*ok = process_select(P, sel, true);
	subq *sq = arena(S, sizeof *sq);
	const cJSON *res;
	cJSON_ArrayForEach(res, cs_get(sel, "targetList")) {
		const char *t;
		const cJSON *rt = cs_node(res, &t);
		const cJSON *val = cs_get(rt, "val");
		const char *alias = cJSON_GetStringValue(cs_get(rt, "name"));
		const char *vt;
		const cJSON *vn = cs_node(val, &vt);
		const char *name = alias;
		if (!name && strcmp(vt, "ColumnRef") == 0) {
			const cJSON *fields = cs_get(vn, "fields");
			name = cs_str(cJSON_GetArrayItem(fields, cJSON_GetArraySize(fields) - 1));
		}
		xnode *x = lower_expr(P, val);
		push(S, (void ***)&sq->names, &sq->n, name ? astr(S, name) : expression_text(S, rt));
		sq->n--;
		push(S, (void ***)&sq->exprs, &sq->n, x);
	}
	return sq;
}

/* ---- types (sync_plan/schema_inference.ts ExpressionTypeInference) ---- */

static cs_type type_of(sstream *S, const xnode *x, const sc_cs_source_table *table, bool have_db)
{
	cs_type t = { SC_CS_NONE, NULL, false, NULL };
	switch (x->k) {
	case X_COLUMN:
		if (!have_db) {
			t.from_db = true;
			t.db_column = x->s;
			return t;
		}
		{
			const sc_cs_source_column *c = cs_source_column(table, x->s);
			if (c) {
				t.flags = c->flags;
				t.orig = c->internal_type;
			}
			t.from_db = true;
			t.db_column = x->s;
		}
		return t;
	case X_REQUEST:
		return t;
	case X_UNARY:
		if (strcmp(x->s, "not") == 0) {
			t.flags = SC_CS_INTEGER;
			t.orig = "bool";
			return t;
		}
		return type_of(S, x->kids[0], table, have_db);
	case X_BINARY: {
		cs_type a = type_of(S, x->kids[0], table, have_db), b = type_of(S, x->kids[1], table, have_db);
		char up[16];
		snprintf(up, sizeof up, "%s", x->s);
		for (char *p = up; *p; p++)
			*p = (char)toupper((unsigned char)*p);
		t.flags = cs_operator_type(up, a.flags, b.flags);
		if (strchr("+-*/", up[0]) && !up[1]) {
			t.from_db = a.from_db || b.from_db;
			t.db_column = a.from_db ? a.db_column : b.db_column;
		}
		return t;
	}
	case X_BETWEEN:
	case X_SCALAR_IN:
		t.flags = SC_CS_INTEGER;
		t.orig = "bool";
		return t;
	case X_CASE: {
		size_t pairs_end = x->nkids - (x->has_else ? 1 : 0);
		for (size_t i = x->has_operand ? 1 : 0; i + 1 < pairs_end; i += 2) {
			cs_type th = type_of(S, x->kids[i + 1], table, have_db);
			t.flags |= th.flags;
			if (th.from_db && !t.from_db) {
				t.from_db = true;
				t.db_column = th.db_column;
			}
		}
		if (x->has_else) {
			cs_type el = type_of(S, x->kids[x->nkids - 1], table, have_db);
			t.flags |= el.flags;
			if (el.from_db && !t.from_db) {
				t.from_db = true;
				t.db_column = el.db_column;
			}
		}
		return t;
	}
	case X_CAST:
		t.flags = cs_cast_flags(x->s);
		if (t.flags < 0)
			t.flags = SC_CS_NONE;
		return t;
	case X_FUNC: {
		cs_type *args = sc_xcalloc(x->nkids + 1, sizeof *args);
		for (size_t i = 0; i < x->nkids; i++)
			args[i] = type_of(S, x->kids[i], table, have_db);
		const char *f = x->s;
		/* sql_functions.ts has no ->, ->>, substr or like: the
		 * reference's inference throws there. Typed as the
		 * operators of the other compiler are. */
		if (strcmp(f, "->") == 0 || strcmp(f, "->>") == 0 || strcmp(f, "substr") == 0 || strcmp(f, "like") == 0) {
			S->untypable = true;
			t.flags = strcmp(f, "substr") == 0 ? SC_CS_TEXT : strcmp(f, "like") == 0 ? SC_CS_INTEGER
				: SC_CS_TEXT | SC_CS_INTEGER | SC_CS_REAL;
		} else if (strcmp(f, "ifnull") == 0) {
			t.flags = x->nkids == 0 ? SC_CS_NONE : x->nkids == 1 ? args[0].flags : args[0].flags | args[1].flags;
			for (size_t i = 0; i < x->nkids && i < 2; i++)
				if (args[i].from_db && !t.from_db) {
					t.from_db = true;
					t.db_column = args[i].db_column;
				}
		} else {
			static const struct { const char *fn; int flags; } fixed[] = {
				{ "upper", SC_CS_TEXT }, { "lower", SC_CS_TEXT }, { "substring", SC_CS_TEXT },
				{ "hex", SC_CS_TEXT }, { "base64", SC_CS_TEXT }, { "typeof", SC_CS_TEXT },
				{ "json_keys", SC_CS_TEXT }, { "datetime", SC_CS_TEXT }, { "st_asgeojson", SC_CS_TEXT },
				{ "st_astext", SC_CS_TEXT }, { "length", SC_CS_INTEGER }, { "instr", SC_CS_INTEGER },
				{ "json_valid", SC_CS_INTEGER }, { "json_array_length", SC_CS_INTEGER },
				{ "uuid_blob", SC_CS_BLOB }, { "iif", SC_CS_ANY },
				{ "json_extract", SC_CS_TEXT | SC_CS_INTEGER | SC_CS_REAL },
				{ "unixepoch", SC_CS_INTEGER | SC_CS_REAL }, { "st_x", SC_CS_REAL }, { "st_y", SC_CS_REAL },
			};
			for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++)
				if (strcmp(f, fixed[i].fn) == 0)
					t.flags = fixed[i].flags;
		}
		free(args);
		return t;
	}
	case X_NULL:
		return t;
	case X_INT:
		t.flags = SC_CS_INTEGER;
		return t;
	case X_DOUBLE:
		t.flags = SC_CS_REAL;
		return t;
	case X_STRING:
		t.flags = SC_CS_TEXT;
		return t;
	}
	return t;
}

/* ---- the stable hash (compiler/equality.ts StableHasher) ---- */

typedef struct hasher {
	uint32_t h;
} hasher;

#define HASH_SEED 614160925u

static void hash_add(hasher *hs, uint64_t value)
{
	uint32_t h = (uint32_t)(0x1fffffffu & (uint32_t)((uint64_t)hs->h + value));
	h = 0x1fffffffu & (h + ((0x0007ffffu & h) << 10));
	hs->h = h ^ (h >> 6);
}

/* addString: each UTF-16 code unit, as charCodeAt gives them. */
static void hash_string(hasher *hs, const char *s)
{
	const unsigned char *p = (const unsigned char *)s;
	while (*p) {
		uint32_t cp;
		int n;
		if (*p < 0x80) {
			cp = *p;
			n = 1;
		} else if ((*p & 0xE0) == 0xC0 && p[1]) {
			cp = (uint32_t)(*p & 0x1F) << 6 | (p[1] & 0x3F);
			n = 2;
		} else if ((*p & 0xF0) == 0xE0 && p[1] && p[2]) {
			cp = (uint32_t)(*p & 0x0F) << 12 | (uint32_t)(p[1] & 0x3F) << 6 | (p[2] & 0x3F);
			n = 3;
		} else if ((*p & 0xF8) == 0xF0 && p[1] && p[2] && p[3]) {
			cp = (uint32_t)(*p & 0x07) << 18 | (uint32_t)(p[1] & 0x3F) << 12 | (uint32_t)(p[2] & 0x3F) << 6 | (p[3] & 0x3F);
			n = 4;
		} else {
			cp = *p;
			n = 1;
		}
		if (cp >= 0x10000) {
			cp -= 0x10000;
			hash_add(hs, 0xD800 + (cp >> 10));
			hash_add(hs, 0xDC00 + (cp & 0x3FF));
		} else {
			hash_add(hs, cp);
		}
		p += n;
	}
}

static uint32_t hash_code(const hasher *hs)
{
	uint32_t h = hs->h;
	h = 0x1fffffffu & (h + ((0x03ffffffu & h) << 3));
	h = h ^ (h >> 11);
	return 0x1fffffffu & (h + ((0x00003fffu & h) << 15));
}

/* ---- SQL text (sync_plan/expression_to_sql.ts), for the hash ---- */

typedef struct sqlw {
	sc_buf b;
	bool need_space;
} sqlw;

static void lexeme(sqlw *w, const char *text, bool space_left, bool space_right)
{
	if (w->need_space && space_left)
		sc_buf_putc(&w->b, ' ');
	sc_buf_puts(&w->b, text);
	w->need_space = space_right;
}

static int binary_precedence(const char *op)
{
	static const struct { const char *op; int p; } t[] = {
		{ "or", 1 }, { "and", 2 }, { "=", 4 }, { "is", 4 }, { "<", 5 }, { ">", 5 }, { "<=", 5 }, { ">=", 5 },
		{ "&", 6 }, { "|", 6 }, { "<<", 6 }, { ">>", 6 }, { "+", 7 }, { "-", 7 }, { "*", 8 }, { "/", 8 },
		{ "%", 8 }, { "||", 9 },
	};
	for (size_t i = 0; i < sizeof t / sizeof t[0]; i++)
		if (strcmp(t[i].op, op) == 0)
			return t[i].p;
	return 0;
}

static void to_sql(sqlw *w, const xnode *x, int outer);

static void quoted(sqlw *w, const char *s, char q)
{
	sc_buf b = SC_BUF_INIT;
	sc_buf_putc(&b, q);
	for (const char *p = s; *p; p++) {
		if (*p == q)
			sc_buf_putc(&b, q);
		sc_buf_putc(&b, *p);
	}
	sc_buf_putc(&b, q);
	lexeme(w, sc_buf_str(&b), true, true);
	sc_buf_free(&b);
}

static void paren_open(sqlw *w) { lexeme(w, "(", true, false); }
static void paren_close(sqlw *w) { lexeme(w, ")", false, true); }

static void to_sql(sqlw *w, const xnode *x, int outer)
{
	switch (x->k) {
	case X_COLUMN:
	case X_REQUEST:
		lexeme(w, "?", true, true);
		return;
	case X_UNARY: {
		int inner = strcmp(x->s, "not") == 0 ? 3 : 11;
		bool p = outer >= inner;
		if (p)
			paren_open(w);
		lexeme(w, x->s, true, true);
		to_sql(w, x->kids[0], inner);
		if (p)
			paren_close(w);
		return;
	}
	case X_BINARY: {
		int inner = binary_precedence(x->s);
		bool p = outer >= inner;
		if (p)
			paren_open(w);
		to_sql(w, x->kids[0], inner);
		lexeme(w, x->s, true, true);
		to_sql(w, x->kids[1], inner);
		if (p)
			paren_close(w);
		return;
	}
	case X_BETWEEN: {
		bool p = outer >= 4;
		if (p)
			paren_open(w);
		to_sql(w, x->kids[0], 4);
		lexeme(w, "BETWEEN", true, true);
		to_sql(w, x->kids[1], 4);
		lexeme(w, "AND", true, true);
		to_sql(w, x->kids[2], 4);
		if (p)
			paren_close(w);
		return;
	}
	case X_SCALAR_IN: {
		if (x->nkids == 1) {
			lexeme(w, "FALSE", true, true);
			return;
		}
		bool p = outer >= 4;
		if (p)
			paren_open(w);
		to_sql(w, x->kids[0], 4);
		lexeme(w, "IN", true, true);
		paren_open(w);
		for (size_t i = 1; i < x->nkids; i++) {
			if (i > 1)
				lexeme(w, ",", false, true);
			to_sql(w, x->kids[i], 0);
		}
		paren_close(w);
		if (p)
			paren_close(w);
		return;
	}
	case X_CASE: {
		lexeme(w, "CASE", true, true);
		size_t i = 0;
		if (x->has_operand)
			to_sql(w, x->kids[i++], 0);
		size_t end = x->nkids - (x->has_else ? 1 : 0);
		for (; i + 1 < end; i += 2) {
			lexeme(w, "WHEN", true, true);
			to_sql(w, x->kids[i], 0);
			lexeme(w, "THEN", true, true);
			to_sql(w, x->kids[i + 1], 0);
		}
		if (x->has_else) {
			lexeme(w, "ELSE", true, true);
			to_sql(w, x->kids[x->nkids - 1], 0);
		}
		lexeme(w, "END", true, true);
		return;
	}
	case X_CAST:
		lexeme(w, "CAST(", true, false);
		to_sql(w, x->kids[0], 0);
		lexeme(w, "AS", true, true);
		lexeme(w, x->s, true, true);
		lexeme(w, ")", false, true);
		return;
	case X_FUNC:
		quoted(w, x->s, '"');
		lexeme(w, "(", false, false);
		for (size_t i = 0; i < x->nkids; i++) {
			if (i)
				lexeme(w, ",", false, true);
			to_sql(w, x->kids[i], 0);
		}
		lexeme(w, ")", false, true);
		return;
	case X_NULL:
		lexeme(w, "NULL", true, true);
		return;
	case X_INT:
		lexeme(w, x->s, true, true);
		return;
	case X_DOUBLE: {
		/* value.toString(), with .0 when the double is whole. */
		char buf[64];
		double d = x->d;
		if (d == (double)(long long)d && d > -1e21 && d < 1e21)
			snprintf(buf, sizeof buf, "%lld.0", (long long)d);
		else {
			for (int p = 1; p <= 17; p++) {
				snprintf(buf, sizeof buf, "%.*g", p, d);
				if (strtod(buf, NULL) == d)
					break;
			}
		}
		lexeme(w, buf, true, true);
		return;
	}
	case X_STRING:
		quoted(w, x->s, '\'');
		return;
	}
}

/* The data leaves of an expression, in order (SyncExpression.instantiation). */
static void leaves(const xnode *x, const xnode ***out, size_t *n)
{
	if (x->k == X_COLUMN || x->k == X_REQUEST) {
		*out = sc_xrealloc(*out, (*n + 1) * sizeof **out);
		(*out)[(*n)++] = x;
		return;
	}
	for (size_t i = 0; i < x->nkids; i++)
		leaves(x->kids[i], out, n);
}

/* SyncExpression.assumingSameResultSetEqualityHashCode */
static void hash_expr(hasher *hs, const xnode *x)
{
	sqlw w = { SC_BUF_INIT, false };
	to_sql(&w, x, 0);
	hash_string(hs, sc_buf_str(&w.b));
	sc_buf_free(&w.b);
	const xnode **ls = NULL;
	size_t n = 0;
	leaves(x, &ls, &n);
	for (size_t i = 0; i < n; i++)
		hash_string(hs, ls[i]->s);
	free(ls);
}

static bool expr_equal(const xnode *a, const xnode *b)
{
	sqlw wa = { SC_BUF_INIT, false }, wb = { SC_BUF_INIT, false };
	to_sql(&wa, a, 0);
	to_sql(&wb, b, 0);
	bool same = strcmp(sc_buf_str(&wa.b), sc_buf_str(&wb.b)) == 0;
	sc_buf_free(&wa.b);
	sc_buf_free(&wb.b);
	const xnode **la = NULL, **lb = NULL;
	size_t na = 0, nb = 0;
	leaves(a, &la, &na);
	leaves(b, &lb, &nb);
	same = same && na == nb;
	for (size_t i = 0; same && i < na; i++)
		same = la[i]->k == lb[i]->k && strcmp(la[i]->s, lb[i]->s) == 0;
	free(la);
	free(lb);
	return same;
}

/* ---- dependencies (compiler/filter.ts) ---- */

static rset *eval_target(rset *rs)
{
	return rs && rs->kind == RS_TVF && rs->input ? rs->input : rs;
}

static bool compatible(rset *a, rset *b)
{
	if (a == b)
		return true;
	if (a->kind == RS_TVF)
		return a->input == b;
	if (b->kind == RS_TVF)
		return b->input == a;
	return false;
}

typedef struct dep {
	xnode *expr;
	rset *rs;          /* the result set it reads, or NULL */
	bool connection;   /* it reads request data */
} dep;

static bool single_dependency(const xnode *x, dep *d)
{
	const xnode **ls = NULL;
	size_t n = 0;
	leaves(x, &ls, &n);
	d->expr = (xnode *)x;
	d->rs = NULL;
	d->connection = false;
	bool ok = true;
	for (size_t i = 0; i < n && ok; i++) {
		if (ls[i]->k == X_COLUMN) {
			if (d->connection || (d->rs && !compatible(d->rs, ls[i]->rs)))
				ok = false;
			d->rs = ls[i]->rs;
		} else {
			if (d->rs)
				ok = false;
			d->connection = true;
		}
	}
	free(ls);
	return ok;
}

/* A base term of the filter: an equality (A = B) or one expression. */
typedef struct term {
	bool equals;
	dep one;          /* !equals */
	dep left, right;  /* equals */
	bool done;        /* removed from the pending factors */
} term;

/* ---- the filter's disjunctive normal form (parser.ts prepareToDNF) ---- */

typedef enum { B_BASE, B_AND, B_OR, B_NOT } bkind;

typedef struct bnode {
	bkind k;
	xnode *base;
	struct bnode **kids;
	size_t n;
} bnode;

static bnode *bnew(sstream *S, bkind k, xnode *base)
{
	bnode *b = arena(S, sizeof *b);
	b->k = k;
	b->base = base;
	return b;
}

static void badd(sstream *S, bnode *b, bnode *kid)
{
	push(S, (void ***)&b->kids, &b->n, kid);
}

static bnode *extract_bool(sstream *S, xnode *x)
{
	if (x->k == X_BINARY && (strcmp(x->s, "and") == 0 || strcmp(x->s, "or") == 0)) {
		bnode *b = bnew(S, x->s[0] == 'a' ? B_AND : B_OR, NULL);
		badd(S, b, extract_bool(S, x->kids[0]));
		badd(S, b, extract_bool(S, x->kids[1]));
		return b;
	}
	if (x->k == X_UNARY && strcmp(x->s, "not") == 0) {
		bnode *b = bnew(S, B_NOT, NULL);
		badd(S, b, extract_bool(S, x->kids[0]));
		return b;
	}
	return bnew(S, B_BASE, x);
}

static bnode *dnf(sstream *S, bnode *e)
{
	switch (e->k) {
	case B_NOT: {
		bnode *in = e->kids[0];
		if (in->k == B_NOT)
			return in->kids[0];
		if (in->k == B_AND || in->k == B_OR) {
			bnode *x = bnew(S, in->k == B_AND ? B_OR : B_AND, NULL);
			for (size_t i = 0; i < in->n; i++) {
				bnode *nt = bnew(S, B_NOT, NULL);
				badd(S, nt, in->kids[i]);
				badd(S, x, dnf(S, nt));
			}
			return dnf(S, x);
		}
		return bnew(S, B_BASE, negate(S, in->base));
	}
	case B_AND: {
		bnode *base = bnew(S, B_AND, NULL);
		bnode **ors = NULL;
		size_t nor = 0, expanded = 1;
		for (size_t i = 0; i < e->n; i++) {
			bnode *nt = dnf(S, e->kids[i]);
			if (nt->k == B_AND) {
				for (size_t k = 0; k < nt->n; k++)
					badd(S, base, nt->kids[k]);
			} else if (nt->k == B_OR) {
				push(S, (void ***)&ors, &nor, nt);
				expanded *= nt->n;
			} else {
				badd(S, base, nt);
			}
		}
		if (!nor)
			return base;
		if (expanded > 100) {
			S->bad = true;
			return base;
		}
		/* cartesianProduct of the OR terms, each with the base factors. */
		bnode *out = bnew(S, B_OR, NULL);
		size_t *idx = sc_xcalloc(nor + 1, sizeof *idx);
		for (;;) {
			bnode *conj = bnew(S, B_AND, NULL);
			for (size_t i = 0; i < nor; i++)
				badd(S, conj, ors[i]->kids[idx[i]]);
			for (size_t i = 0; i < base->n; i++)
				badd(S, conj, base->kids[i]);
			badd(S, out, dnf(S, conj));
			size_t k = nor;
			while (k > 0) {
				k--;
				if (++idx[k] < ors[k]->n)
					break;
				idx[k] = 0;
				if (k == 0) {
					k = (size_t)-1;
					break;
				}
			}
			if (k == (size_t)-1)
				break;
		}
		free(idx);
		return out;
	}
	case B_OR: {
		bnode *out = bnew(S, B_OR, NULL);
		for (size_t i = 0; i < e->n; i++) {
			bnode *nt = dnf(S, e->kids[i]);
			if (nt->k == B_OR)
				for (size_t k = 0; k < nt->n; k++)
					badd(S, out, nt->kids[k]);
			else
				badd(S, out, nt);
		}
		return out;
	}
	case B_BASE:
		return e;
	}
	return e;
}

/* ---- resolving a term (querier_graph.ts PendingQuerierPath) ---- */

typedef enum { PV_REQUEST, PV_LOOKUP, PV_INTERSECTION } pv_kind;

struct lookup;

typedef struct pvalue {
	pv_kind k;
	xnode *expr;               /* PV_REQUEST */
	struct lookup *lookup;     /* PV_LOOKUP */
	size_t index;              /* PV_LOOKUP: the lookup's output */
	struct pvalue **inner;     /* PV_INTERSECTION */
	size_t ninner;
} pvalue;

typedef struct pkey {
	bool table_valued;
	xnode *expr;               /* scalar: the row expression; table-valued: the output */
	rset *fn;                  /* table-valued: the function */
	uint32_t hash;
	pvalue **values;
	size_t nvalues;
} pkey;

typedef struct resolved {
	pkey **keys;               /* sorted by hash */
	size_t nkeys;
	xnode **filters;           /* what only this row decides */
	size_t nfilters;
} resolved;

typedef struct lookup {
	rset *source;
	bool point;                /* a parameter lookup in a table; else a table-valued function */
	resolved res;
	xnode **outputs;
	size_t noutputs;
} lookup;

typedef struct path {
	sstream *S;
	term **pending;
	size_t npending;
	rset **stack;
	size_t nstack;
	lookup **lookups;
	size_t nlookups;
} path;

static uint32_t key_hash(const pkey *k)
{
	hasher hs = { HASH_SEED };
	if (!k->table_valued) {
		hash_expr(&hs, k->expr);
	} else {
		/* SourceRowProcessorAddedTableValuedFunction, then the output. */
		hash_string(&hs, k->fn->fn);
		for (size_t i = 0; i < k->fn->ninputs; i++)
			hash_expr(&hs, k->fn->inputs[i]);
		hash_expr(&hs, k->expr);
	}
	return hash_code(&hs);
}

static bool key_equal(const pkey *a, const pkey *b)
{
	if (a->table_valued != b->table_valued)
		return false;
	if (a->table_valued && (strcmp(a->fn->fn, b->fn->fn) != 0 || a->fn->ninputs != b->fn->ninputs))
		return false;
	for (size_t i = 0; a->table_valued && i < a->fn->ninputs; i++)
		if (!expr_equal(a->fn->inputs[i], b->fn->inputs[i]))
			return false;
	return expr_equal(a->expr, b->expr);
}

static bool on_stack(const path *p, rset *rs)
{
	for (size_t i = 0; i < p->nstack; i++)
		if (p->stack[i] == rs || (rs->kind == RS_TVF && rs->input == p->stack[i]))
			return true;
	return false;
}

static void resolve_result_set(path *p, rset *source, resolved *out);

static lookup *expanding_lookup(path *p, rset *rs)
{
	if (rs->kind == RS_TVF && rs->input)
		return expanding_lookup(p, rs->input);
	for (size_t i = 0; i < p->nlookups; i++)
		if (p->lookups[i]->source == rs)
			return p->lookups[i];
	lookup *l = arena(p->S, sizeof *l);
	l->source = rs;
	l->point = rs->kind == RS_TABLE;
	push(p->S, (void ***)&p->lookups, &p->nlookups, l);
	resolve_result_set(p, rs, &l->res);
	return l;
}

static void partition_by(path *p, resolved *st, term *t, pkey *proto, dep *other)
{
	sstream *S = p->S;
	if (other->rs && on_stack(p, other->rs))
		return;
	t->done = true;
	pkey *key = NULL;
	for (size_t i = 0; i < st->nkeys; i++)
		if (key_equal(st->keys[i], proto))
			key = st->keys[i];
	if (!key) {
		key = arena(S, sizeof *key);
		*key = *proto;
		key->values = NULL;
		key->nvalues = 0;
		key->hash = key_hash(key);
		push(S, (void ***)&st->keys, &st->nkeys, key);
	}
	pvalue *v = arena(S, sizeof *v);
	if (other->rs) {
		lookup *l = expanding_lookup(p, other->rs);
		v->k = PV_LOOKUP;
		v->lookup = l;
		v->index = l->noutputs;
		for (size_t i = 0; i < l->noutputs; i++)
			if (expr_equal(l->outputs[i], other->expr)) {
				v->index = i;
				break;
			}
		if (v->index == l->noutputs)
			push(S, (void ***)&l->outputs, &l->noutputs, other->expr);
	} else {
		v->k = PV_REQUEST;
		v->expr = other->expr;
	}
	push(S, (void ***)&key->values, &key->nvalues, v);
}

static void resolve_result_set(path *p, rset *source, resolved *out)
{
	sstream *S = p->S;
	memset(out, 0, sizeof *out);
	push(S, (void ***)&p->stack, &p->nstack, source);
	for (size_t i = 0; i < p->npending; i++) {
		term *t = p->pending[i];
		if (t->done)
			continue;
		if (!t->equals) {
			if (t->one.rs && eval_target(t->one.rs) == source) {
				t->done = true; /* a filter of this row */
				push(S, (void ***)&out->filters, &out->nfilters, t->one.expr);
			}
			continue;
		}
		pkey proto;
		memset(&proto, 0, sizeof proto);
		if (t->left.rs == source) {
			proto.expr = t->left.expr;
			partition_by(p, out, t, &proto, &t->right);
		} else if (t->right.rs == source) {
			proto.expr = t->right.expr;
			partition_by(p, out, t, &proto, &t->left);
		} else if (t->left.rs && t->left.rs->kind == RS_TVF && t->left.rs->input == source) {
			proto.table_valued = true;
			proto.fn = t->left.rs;
			proto.expr = t->left.expr;
			partition_by(p, out, t, &proto, &t->right);
		} else if (t->right.rs && t->right.rs->kind == RS_TVF && t->right.rs->input == source) {
			proto.table_valued = true;
			proto.fn = t->right.rs;
			proto.expr = t->right.expr;
			partition_by(p, out, t, &proto, &t->left);
		}
	}
	p->nstack--;
	/* resolvePartitions: a stable sort by the keys' hash. */
	for (size_t i = 1; i < out->nkeys; i++) {
		pkey *k = out->keys[i];
		size_t j = i;
		while (j > 0 && out->keys[j - 1]->hash > k->hash) {
			out->keys[j] = out->keys[j - 1];
			j--;
		}
		out->keys[j] = k;
	}
}

/* ---- parameter types (schema_inference.ts resolveReferencedParameters) ---- */

typedef struct infer {
	sstream *S;
	bool have_db;
} infer;

static const cs_type type_any = { SC_CS_ANY, NULL, false, NULL };
static const cs_type type_text = { SC_CS_TEXT, NULL, false, NULL };
static const cs_type type_boolean = { SC_CS_INTEGER, "bool", false, NULL };

static void merge_type(cs_type *a, const cs_type *b)
{
	a->flags |= b->flags;
	bool same = (!a->orig && !b->orig) || (a->orig && b->orig && strcmp(a->orig, b->orig) == 0);
	if (!same)
		a->orig = NULL;
	if (b->from_db && !a->from_db) {
		a->from_db = true;
		a->db_column = b->db_column;
	}
}

/* ParameterTypeInference: subscription.parameter('x') (->> of the
 * subscription's parameters and a string) takes the expected type; inside
 * anything else, parameters are ANY. */
static void visit_params(infer *I, const xnode *x, const cs_type *expected)
{
	sstream *S = I->S;
	if (x->k == X_FUNC && strcmp(x->s, "->>") == 0 && x->nkids == 2 && x->kids[0]->k == X_REQUEST &&
	    strcmp(x->kids[0]->s, "subscription") == 0 && x->kids[1]->k == X_STRING) {
		if (expected->from_db && !I->have_db) {
			char what[512];
			snprintf(what, sizeof what, "subscription parameter %s takes its type from the source column %s",
				 x->kids[1]->s, expected->db_column ? expected->db_column : "?");
			cs_need_db(S->c, what);
			return;
		}
		cs_add_param(S->c, S->name, x->kids[1]->s, expected);
		return;
	}
	for (size_t i = 0; i < x->nkids; i++)
		visit_params(I, x->kids[i], &type_any);
}

/* inferSourceParameters: the partition keys' types over every table the
 * lookup's (or the bucket's) source matches, merged. NULL when none
 * matches (where the reference's generator fails). */
static cs_type *source_parameter_types(infer *I, rset *source, const resolved *res)
{
	sstream *S = I->S;
	cs_type *types = sc_xcalloc(res->nkeys + 1, sizeof *types);
	if (!I->have_db) {
		for (size_t k = 0; k < res->nkeys; k++)
			types[k] = res->keys[k]->table_valued ? (cs_type){ SC_CS_NONE, NULL, false, NULL }
							      : type_of(S, res->keys[k]->expr, NULL, false);
		return types;
	}
	bool any = false;
	const char *schema = source->schema ? source->schema : "public";
	for (size_t i = 0; i < S->c->src->ntables; i++) {
		const sc_cs_source_table *t = &S->c->src->tables[i];
		if (!cs_pattern_matches(schema, source->pattern, t))
			continue;
		for (size_t k = 0; k < res->nkeys; k++) {
			/* A table-valued key reads the function's output: no column. */
			cs_type ty = res->keys[k]->table_valued ? (cs_type){ SC_CS_NONE, NULL, false, NULL }
								: type_of(S, res->keys[k]->expr, t, true);
			if (!any)
				types[k] = ty;
			else
				merge_type(&types[k], &ty);
		}
		any = true;
	}
	if (!any) {
		free(types);
		return NULL;
	}
	return types;
}

static void infer_value(infer *I, const cs_type *expected, const pvalue *v);

static void infer_lookup(infer *I, const lookup *l)
{
	if (!l->point) {
		/* Inputs to table-valued functions must be strings. */
		for (size_t i = 0; i < l->source->ninputs; i++)
			visit_params(I, l->source->inputs[i], &type_text);
		return;
	}
	cs_type *types = source_parameter_types(I, l->source, &l->res);
	if (!types && l->res.nkeys) {
		cs_fail(I->S->c, SC_EXIT_USAGE,
			"'%s': the table %s of a subquery is not in the database: the service's generator cannot type this stream's parameters",
			I->S->name, l->source->pattern);
		return;
	}
	for (size_t k = 0; k < l->res.nkeys; k++)
		for (size_t i = 0; i < l->res.keys[k]->nvalues; i++)
			infer_value(I, &types[k], l->res.keys[k]->values[i]);
	free(types);
}

static void infer_value(infer *I, const cs_type *expected, const pvalue *v)
{
	switch (v->k) {
	case PV_REQUEST:
		visit_params(I, v->expr, expected);
		break;
	case PV_LOOKUP:
		infer_lookup(I, v->lookup);
		break;
	case PV_INTERSECTION:
		for (size_t i = 0; i < v->ninner; i++)
			infer_value(I, expected, v->inner[i]);
		break;
	}
}

/* ---- a query ---- */

static void result_columns(sstream *S, parser *P)
{
	cs_compute *c = S->c;
	rset *pr = P->primary;
	const char *schema = pr->schema ? pr->schema : "public";
	/* RowEvaluator.outputName: the alias, else the name; an unaliased
	 * wildcard names each output after the table. */
	const char *fixed = pr->explicit_name ? pr->explicit_name : cs_is_wildcard(pr->pattern) ? NULL : pr->pattern;
	if (!c->src) {
		if (!fixed) {
			char what[512];
			snprintf(what, sizeof what, "the table pattern %s names its output tables after the database's tables", pr->pattern);
			cs_need_db(c, what);
			return;
		}
		cs_outtable *out = NULL;
		for (size_t i = 0; i < P->ncols && !c->failed; i++) {
			if (P->cols[i].star || cs_is_wildcard(pr->pattern)) {
				cs_need_db(c, P->cols[i].star ? "SELECT * takes its columns from the database"
							  : "a table pattern takes its columns from the database");
				return;
			}
			cs_type t = type_of(S, P->cols[i].expr, NULL, false);
			if (strcmp(P->cols[i].alias, "id") == 0)
				continue; /* the row's key, never a declared column */
			if (t.from_db) {
				char what[512];
				snprintf(what, sizeof what, "column %s takes its type from the source column %s", P->cols[i].alias,
					 t.db_column ? t.db_column : "?");
				cs_need_db(c, what);
				return;
			}
			if (!out)
				out = cs_out_table(c, fixed);
			cs_add_merged(out, P->cols[i].alias, t.flags, t.orig);
		}
		if (!out)
			cs_out_table(c, fixed);
		return;
	}
	bool matched = false;
	for (size_t i = 0; i < c->src->ntables; i++) {
		const sc_cs_source_table *t = &c->src->tables[i];
		if (!cs_pattern_matches(schema, pr->pattern, t))
			continue;
		matched = true;
		cs_outtable *out = cs_out_table(c, fixed ? fixed : t->name);
		for (size_t k = 0; k < P->ncols; k++) {
			if (P->cols[k].star) {
				for (size_t j = 0; j < t->ncolumns; j++)
					cs_add_merged(out, t->columns[j].name, t->columns[j].flags, t->columns[j].internal_type);
				continue;
			}
			cs_type ty = type_of(S, P->cols[k].expr, t, true);
			cs_add_merged(out, P->cols[k].alias, ty.flags, ty.orig);
		}
	}
	if (!matched)
		cs_warn(c, "'%s': table %s.%s not found in the database (the service syncs nothing of it)", S->name, schema, pr->pattern);
}

/* One resolved term of a query's filter: a StreamResolver. */
typedef struct qterm {
	parser *P;
	resolved prim;             /* the bucket's partitions */
	lookup **lookups;          /* its lookup stages, flattened */
	size_t nlookups;
	xnode **request_filters;
	size_t nrequest_filters;
} qterm;

/* ---- identical instantiation (bucket_resolver.ts), to merge buckets ---- */

static bool lookup_equal(const lookup *a, const lookup *b);

static bool pvalue_equal(const pvalue *a, const pvalue *b)
{
	if (a->k != b->k)
		return false;
	switch (a->k) {
	case PV_REQUEST: return expr_equal(a->expr, b->expr);
	case PV_LOOKUP: return a->index == b->index && lookup_equal(a->lookup, b->lookup);
	case PV_INTERSECTION:
		if (a->ninner != b->ninner)
			return false;
		for (size_t i = 0; i < a->ninner; i++)
			if (!pvalue_equal(a->inner[i], b->inner[i]))
				return false;
		return true;
	}
	return false;
}

/* A key's value: the one value, or their intersection. */
static bool key_values_equal(const pkey *a, const pkey *b)
{
	if (a->nvalues != b->nvalues)
		return false;
	for (size_t i = 0; i < a->nvalues; i++)
		if (!pvalue_equal(a->values[i], b->values[i]))
			return false;
	return true;
}

static bool exprs_unordered_equal(xnode *const *a, size_t na, xnode *const *b, size_t nb)
{
	if (na != nb)
		return false;
	bool *used = sc_xcalloc(nb + 1, sizeof *used);
	bool ok = true;
	for (size_t i = 0; i < na && ok; i++) {
		bool found = false;
		for (size_t k = 0; k < nb && !found; k++)
			if (!used[k] && expr_equal(a[i], b[k]))
				found = used[k] = true;
		ok = found;
	}
	free(used);
	return ok;
}

static bool lookup_equal(const lookup *a, const lookup *b)
{
	if (a == b)
		return true;
	if (a->point != b->point || a->res.nkeys != b->res.nkeys || a->noutputs != b->noutputs)
		return false;
	if (a->point) {
		const char *sa = a->source->schema ? a->source->schema : "", *sb = b->source->schema ? b->source->schema : "";
		if (strcmp(sa, sb) != 0 || strcmp(a->source->pattern, b->source->pattern) != 0)
			return false;
	} else if (strcmp(a->source->fn, b->source->fn) != 0 || a->source->ninputs != b->source->ninputs) {
		return false;
	} else {
		for (size_t i = 0; i < a->source->ninputs; i++)
			if (!expr_equal(a->source->inputs[i], b->source->inputs[i]))
				return false;
	}
	for (size_t i = 0; i < a->res.nkeys; i++)
		if (!key_equal(a->res.keys[i], b->res.keys[i]) || !key_values_equal(a->res.keys[i], b->res.keys[i]))
			return false;
	for (size_t i = 0; i < a->noutputs; i++)
		if (!expr_equal(a->outputs[i], b->outputs[i]))
			return false;
	return exprs_unordered_equal(a->res.filters, a->res.nfilters, b->res.filters, b->res.nfilters);
}

static bool same_instantiation(const qterm *a, const qterm *b)
{
	if (!exprs_unordered_equal(a->request_filters, a->nrequest_filters, b->request_filters, b->nrequest_filters))
		return false;
	if (a->nlookups != b->nlookups || a->prim.nkeys != b->prim.nkeys)
		return false;
	bool *used = sc_xcalloc(b->nlookups + 1, sizeof *used);
	bool ok = true;
	for (size_t i = 0; i < a->nlookups && ok; i++) {
		bool found = false;
		for (size_t k = 0; k < b->nlookups && !found; k++)
			if (!used[k] && lookup_equal(a->lookups[i], b->lookups[k]))
				found = used[k] = true;
		ok = found;
	}
	free(used);
	for (size_t i = 0; ok && i < a->prim.nkeys; i++)
		ok = key_values_equal(a->prim.keys[i], b->prim.keys[i]);
	return ok;
}

/* ---- a query's filter, resolved term by term ---- */

static void query_terms(sstream *S, parser *P, qterm ***out, size_t *nout)
{
	cs_compute *c = S->c;
	/* The filter: ON clauses and WHERE, ANDed, in normal form. */
	xnode *all = NULL;
	for (size_t i = 0; i < P->nwhere; i++)
		all = all ? xn2(S, X_BINARY, "and", all, P->where[i]) : P->where[i];
	bnode *root = bnew(S, B_AND, NULL);
	if (all)
		badd(S, root, extract_bool(S, all));
	bnode *d = dnf(S, root);
	bnode **conj = NULL;
	size_t nconj = 0;
	if (d->k == B_OR) {
		for (size_t i = 0; i < d->n; i++)
			push(S, (void ***)&conj, &nconj, d->kids[i]);
	} else {
		push(S, (void ***)&conj, &nconj, d);
	}
	for (size_t ci = 0; ci < nconj && !c->failed; ci++) {
		bnode *cj = conj[ci];
		path p;
		memset(&p, 0, sizeof p);
		p.S = S;
		size_t nb = cj->k == B_AND ? cj->n : 1;
		for (size_t i = 0; i < nb; i++) {
			bnode *b = cj->k == B_AND ? cj->kids[i] : cj;
			if (b->k != B_BASE)
				continue;
			term *t = arena(S, sizeof *t);
			xnode *x = b->base;
			if (x->k == X_BINARY && strcmp(x->s, "=") == 0) {
				t->equals = true;
				if (!single_dependency(x->kids[0], &t->left) || !single_dependency(x->kids[1], &t->right))
					S->bad = true;
			} else if (!single_dependency(x, &t->one)) {
				S->bad = true;
			}
			push(S, (void ***)&p.pending, &p.npending, t);
		}
		qterm *qt = arena(S, sizeof *qt);
		qt->P = P;
		resolve_result_set(&p, P->primary, &qt->prim);
		/* processExistsOperators: lookups that only decide whether to sync. */
		for (size_t i = 0; i < p.npending; i++) {
			term *t = p.pending[i];
			if (t->done)
				continue;
			if (t->equals) {
				if (t->left.connection && t->right.rs)
					expanding_lookup(&p, t->right.rs);
				else if (t->right.connection && t->left.rs)
					expanding_lookup(&p, t->left.rs);
			} else if (t->one.rs) {
				expanding_lookup(&p, t->one.rs);
			}
		}
		qt->lookups = p.lookups;
		qt->nlookups = p.nlookups;
		/* Request filters: what is left that reads only the request. */
		for (size_t i = 0; i < p.npending; i++) {
			term *t = p.pending[i];
			if (!t->done && !t->equals && !t->one.rs)
				push(S, (void ***)&qt->request_filters, &qt->nrequest_filters, t->one.expr);
		}
		push(S, (void ***)out, nout, qt);
	}
}

/* resolveReferencedParameters for one querier: the bucket's partition
 * keys typed over its table, each value told its expected type; then the
 * request filters, expected to be booleans. */
static void term_parameters(sstream *S, const qterm *qt)
{
	cs_compute *c = S->c;
	infer I = { S, c->src != NULL };
	parser *P = qt->P;
	cs_type *types = source_parameter_types(&I, P->primary, &qt->prim);
	if (!types && qt->prim.nkeys) {
		cs_fail(c, SC_EXIT_USAGE,
			"'%s': the table %s is not in the database: the service's generator cannot type this stream's parameters",
			S->name, P->primary->pattern);
		return;
	}
	for (size_t k = 0; k < qt->prim.nkeys && !c->failed; k++) {
		pkey *key = qt->prim.keys[k];
		if (key->nvalues == 1) {
			infer_value(&I, &types[k], key->values[0]);
		} else {
			pvalue iv = { PV_INTERSECTION, NULL, NULL, 0, key->values, key->nvalues };
			infer_value(&I, &types[k], &iv);
		}
	}
	free(types);
	for (size_t i = 0; i < qt->nrequest_filters && !c->failed; i++)
		visit_params(&I, qt->request_filters[i], &type_boolean);
}

static void stream_queries(cs_compute *c, const char *name, bool auto_subscribe)
{
	const sc_rules_result *r = c->rules;
	sstream S;
	memset(&S, 0, sizeof S);
	S.c = c;
	S.name = name;
	c->definition = name;
	int synthetic = 0;
	qterm **terms = NULL;
	size_t nterms = 0;
	parser **parsers = NULL;
	size_t nparsers = 0;
	for (size_t i = 0; i < r->nqueries && !c->failed; i++) {
		const sc_rules_query *q = &r->queries[i];
		if (q->kind != SC_RULES_Q_STREAM || !q->definition || strcmp(q->definition, name) != 0)
			continue;
		S.q = q;
		parser *P = arena(&S, sizeof *P);
		P->S = &S;
		P->sc = scope_new(&S, NULL);
		P->synthetic = &synthetic;
		process_select(P, q->select, false);
		push(&S, (void ***)&parsers, &nparsers, P);
		if (!P->primary)
			continue;
		if (!cs_jsmap_get(&c->streams, name)) {
			/* Object.groupBy(resolvers by stream name). */
			cs_stream_out *so = sc_xcalloc(1, sizeof *so);
			so->name = sc_xstrdup(name);
			so->optional = !auto_subscribe;
			cs_jsmap_add(&c->streams, name, so);
		}
		size_t before = nterms;
		query_terms(&S, P, &terms, &nterms);
		for (size_t k = before; k < nterms && !c->failed; k++)
			term_parameters(&S, terms[k]);
		if (S.bad)
			cs_warn(c, "'%s': part of a query is not one the stream compiler takes as written here; its parameters may be incomplete",
				name);
		S.bad = false;
	}
	/* QuerierGraphBuilder.mergeBuckets: terms with the same instantiation
	 * share a bucket, whose rows come from each of their queries; tables
	 * follow the buckets, then the queries in each. */
	qterm **groups = NULL;
	size_t ngroups = 0;
	parser ***members = NULL;
	size_t *nmembers = NULL;
	for (size_t i = 0; i < nterms && !c->failed; i++) {
		size_t g;
		for (g = 0; g < ngroups && !same_instantiation(groups[g], terms[i]); g++)
			;
		if (g == ngroups) {
			groups = sc_xrealloc(groups, (ngroups + 1) * sizeof *groups);
			members = sc_xrealloc(members, (ngroups + 1) * sizeof *members);
			nmembers = sc_xrealloc(nmembers, (ngroups + 1) * sizeof *nmembers);
			groups[g] = terms[i];
			members[g] = NULL;
			nmembers[g] = 0;
			ngroups++;
		}
		bool have = false;
		for (size_t k = 0; k < nmembers[g]; k++)
			have = have || members[g][k] == terms[i]->P;
		if (!have)
			push(&S, (void ***)&members[g], &nmembers[g], terms[i]->P);
	}
	for (size_t g = 0; g < ngroups && !c->failed; g++)
		for (size_t k = 0; k < nmembers[g] && !c->failed; k++) {
			parser *P = members[g][k];
			S.untypable = false;
			S.q = NULL;
			result_columns(&S, P);
			if (S.untypable)
				cs_warn(c, "'%s': a result column uses ->, ->>, substring(... FROM ...) or LIKE, which the reference's "
					   "generator (0.38.1) cannot type in edition 3 (it throws); typed as the operator's result, as "
					   "bucket definitions type it", name);
		}
	free(groups);
	free(members);
	free(nmembers);
	for (size_t i = 0; i < nparsers; i++)
		free(parsers[i]->cols);
	for (size_t i = 0; i < S.narena; i++)
		free(S.arena[i]);
	free(S.arena);
}

void cs_streams(cs_compute *c)
{
	const sc_rules_result *r = c->rules;
	/* The streams, in Object.groupBy's key order (the plan's streams). */
	cs_jsmap names = { NULL, 0 };
	for (size_t i = 0; i < r->nqueries; i++) {
		const sc_rules_query *q = &r->queries[i];
		if (q->kind == SC_RULES_Q_STREAM && q->definition && !cs_jsmap_get(&names, q->definition))
			cs_jsmap_add(&names, q->definition, (void *)q);
	}
	size_t *order = cs_jsmap_order(&names);
	for (size_t i = 0; i < names.n && !c->failed; i++) {
		const sc_rules_query *q = names.e[order[i]].val;
		stream_queries(c, q->definition, q->auto_subscribe);
	}
	free(order);
	cs_jsmap_free(&names, NULL);
}
