#include "compare.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <pthread.h>
#include <sys/stat.h>

#include <pg_query.h>
#include <sqlite3.h>

#include "buf.h"
#include "json.h"
#include "rowhash.h"
#include "rules.h"
#include "util.h"
#include "yamldoc.h"

void sc_cmp_result_free(sc_cmp_result *r)
{
	for (size_t i = 0; i < r->ntables; i++) {
		sc_cmp_table *t = &r->tables[i];
		free(t->name);
		free(t->note);
		free(t->server_table);
		free(t->local_sum);
		free(t->server_sum);
		for (size_t k = 0; k < t->n_only_local; k++)
			free(t->only_local[k]);
		for (size_t k = 0; k < t->n_only_server; k++)
			free(t->only_server[k]);
		free(t->only_local);
		free(t->only_server);
	}
	free(r->tables);
	cJSON_Delete(r->pending_by_op);
	cJSON_Delete(r->untyped);
	cJSON_Delete(r->local_only);
	free(r->last_sync);
	memset(r, 0, sizeof *r);
}

static sc_cmp_table *find_table(sc_cmp_result *r, const char *name)
{
	for (size_t i = 0; i < r->ntables; i++)
		if (strcmp(r->tables[i].name, name) == 0)
			return &r->tables[i];
	return NULL;
}

static sc_cmp_table *add_table(sc_cmp_result *r, const char *name)
{
	sc_cmp_table *t = find_table(r, name);
	if (t)
		return t;
	r->tables = sc_xrealloc(r->tables, (r->ntables + 1) * sizeof *r->tables);
	t = &r->tables[r->ntables++];
	memset(t, 0, sizeof *t);
	t->name = sc_xstrdup(name);
	t->local = t->server = -1;
	return t;
}

static bool wanted(const sc_cmp_opts *o, const char *name)
{
	if (!o->ntables)
		return true;
	for (size_t i = 0; i < o->ntables; i++)
		if (strcmp(o->tables[i], name) == 0)
			return true;
	return false;
}

static void set_status(sc_cmp_table *t)
{
	if (t->note)
		t->status = "unscoped";
	else if (t->local < 0)
		t->status = "missing_local";
	else if (t->server < 0)
		t->status = "missing_server";
	else if (t->local < t->server)
		t->status = "local_behind";
	else if (t->local > t->server)
		t->status = "local_ahead";
	else if ((t->local_sum && t->server_sum && strcmp(t->local_sum, t->server_sum) != 0) || t->n_only_local ||
		 t->n_only_server)
		t->status = "differs";
	else
		t->status = "in_sync";
}

bool sc_cmp_in_sync(const sc_cmp_result *r)
{
	for (size_t i = 0; i < r->ntables; i++)
		if (strcmp(r->tables[i].status, "in_sync") != 0)
			return false;
	return r->pending_total == 0;
}

/* ---- ids, streamed in order from both sides, merged in constant memory ---- */

typedef struct idstream {
	sqlite3_stmt *st;    /* SQLite side */
	PGconn *conn;        /* Postgres side (single-row mode) */
	PGresult *row;
	bool done;
	const char *cur;
	char error[256];     /* why the server's stream ended early, or "" */
} idstream;

static bool id_next(idstream *s)
{
	if (s->done)
		return false;
	if (s->st) {
		if (sqlite3_step(s->st) != SQLITE_ROW) {
			s->done = true;
			return false;
		}
		s->cur = (const char *)sqlite3_column_text(s->st, 0);
		if (!s->cur)
			s->cur = "";
		return true;
	}
	PQclear(s->row);
	s->row = PQgetResult(s->conn);
	if (!s->row || PQresultStatus(s->row) != PGRES_SINGLE_TUPLE) {
		/* Drain: the final TUPLES_OK (or an error), then NULL. */
		if (s->row && PQresultStatus(s->row) == PGRES_FATAL_ERROR)
			snprintf(s->error, sizeof s->error, "%s", PQresultErrorField(s->row, PG_DIAG_MESSAGE_PRIMARY));
		while (s->row) {
			PQclear(s->row);
			s->row = PQgetResult(s->conn);
		}
		s->done = true;
		return false;
	}
	s->cur = PQgetisnull(s->row, 0, 0) ? "" : PQgetvalue(s->row, 0, 0);
	return true;
}

static int pg_stream(idstream *s, sc_pg *pg, const char *sql, int n, const char *const *params, sc_error *err)
{
	memset(s, 0, sizeof *s);
	s->conn = pg->conn;
	sc_log_verbose("SQL: %s", sql);
	if (!PQsendQueryParams(pg->conn, sql, n, NULL, params, NULL, NULL, 0) || !PQsetSingleRowMode(pg->conn)) {
		sc_error_set(err, SC_EXIT_FAILED, "cannot list ids on %s", pg->display);
		return -1;
	}
	return 0;
}

static void push_id(char ***v, size_t *n, const char *id)
{
	*v = sc_xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = sc_xstrdup(id);
}

/* Both streams ascending by byte order (SQLite's BINARY, Postgres's "C"). */
static int merge_ids(idstream *a, idstream *b, sc_cmp_table *t, size_t limit, sc_error *err)
{
	bool ha = id_next(a), hb = id_next(b);
	while (ha || hb) {
		int c = !ha ? 1 : !hb ? -1 : strcmp(a->cur, b->cur);
		if (c == 0) {
			ha = id_next(a);
			hb = id_next(b);
		} else if (c < 0) {
			if (t->n_only_local < limit)
				push_id(&t->only_local, &t->n_only_local, a->cur);
			else
				t->ids_truncated = true;
			ha = id_next(a);
		} else {
			if (t->n_only_server < limit)
				push_id(&t->only_server, &t->n_only_server, b->cur);
			else
				t->ids_truncated = true;
			hb = id_next(b);
		}
	}
	/* Whatever is left is read to the end so the connection is free. */
	while (id_next(a) || id_next(b))
		;
	PQclear(a->row);
	PQclear(b->row);
	a->row = b->row = NULL;
	const char *e = a->error[0] ? a->error : b->error;
	if (*e) {
		sc_error_set(err, SC_EXIT_FAILED, "listing the ids of %s failed: %s", t->name, e);
		return -1;
	}
	return 0;
}

/* ---- --user: evaluating the sync rules on the server ---- */

typedef struct scope {
	char *table;          /* output table */
	sc_buf sql;           /* UNION ALL of id selects */
	char **params;
	size_t nparams;
	size_t nparts;
	char *reason;         /* unscoped: why */
} scope;

typedef struct scopes {
	scope *v;
	size_t n;
} scopes;

static scope *get_scope(scopes *s, const char *table)
{
	for (size_t i = 0; i < s->n; i++)
		if (strcmp(s->v[i].table, table) == 0)
			return &s->v[i];
	s->v = sc_xrealloc(s->v, (s->n + 1) * sizeof *s->v);
	scope *x = &s->v[s->n++];
	memset(x, 0, sizeof *x);
	x->table = sc_xstrdup(table);
	return x;
}

static void scopes_free(scopes *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->v[i].table);
		sc_buf_free(&s->v[i].sql);
		for (size_t k = 0; k < s->v[i].nparams; k++)
			free(s->v[i].params[k]);
		free(s->v[i].params);
		free(s->v[i].reason);
	}
	free(s->v);
}

static const char *node_type(cJSON *w, cJSON **n)
{
	*n = w && w->child ? w->child : NULL;
	return *n ? (*n)->string : "";
}

/* Whether an expression is built only from columns, literals, =, IN (list),
 * AND, OR, IS [NOT] NULL and the request functions: what is evaluated
 * here. Else *why says what is not. */
static bool supported(cJSON *w, const char **why)
{
	cJSON *n;
	const char *t = node_type(w, &n);
	if (!n)
		return true;
	if (!strcmp(t, "ColumnRef") || !strcmp(t, "A_Const"))
		return true;
	if (!strcmp(t, "NullTest"))
		return supported(cJSON_GetObjectItem(n, "arg"), why);
	if (!strcmp(t, "BoolExpr")) {
		const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(n, "boolop"));
		if (op && !strcmp(op, "NOT_EXPR")) {
			*why = "NOT";
			return false;
		}
		cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItem(n, "args"))
			if (!supported(x, why))
				return false;
		return true;
	}
	if (!strcmp(t, "A_Expr")) {
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItem(n, "kind"));
		cJSON *name = cJSON_GetObjectItem(n, "name");
		const char *op = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(name, 0), "String"), "sval"));
		if (kind && !strcmp(kind, "AEXPR_OP") && op && !strcmp(op, "="))
			return supported(cJSON_GetObjectItem(n, "lexpr"), why) && supported(cJSON_GetObjectItem(n, "rexpr"), why);
		if (kind && !strcmp(kind, "AEXPR_IN")) {
			cJSON *l = cJSON_GetObjectItem(cJSON_GetObjectItem(n, "rexpr"), "List");
			cJSON *x;
			cJSON_ArrayForEach(x, cJSON_GetObjectItem(l, "items"))
				if (!supported(x, why))
					return false;
			return supported(cJSON_GetObjectItem(n, "lexpr"), why);
		}
		*why = op ? op : "an operator";
		return false;
	}
	if (!strcmp(t, "FuncCall")) {
		cJSON *names = cJSON_GetObjectItem(n, "funcname");
		const char *a = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(names, 0), "String"), "sval"));
		const char *b = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(cJSON_GetArrayItem(names, 1), "String"), "sval"));
		if (a && b && !strcmp(a, "request") && !strcmp(b, "user_id"))
			return true;
		*why = "a function other than request.user_id()";
		return false;
	}
	*why = t;
	return false;
}

/* Replaces every occurrence of `from` by `to` (tokens the parse tree has
 * confirmed are there). */
static char *replace_all(const char *s, const char *from, const char *to)
{
	sc_buf b = SC_BUF_INIT;
	size_t fl = strlen(from);
	const char *p = s, *hit;
	while ((hit = strstr(p, from)) != NULL) {
		sc_buf_append(&b, p, (size_t)(hit - p));
		sc_buf_puts(&b, to);
		p = hit + fl;
	}
	sc_buf_puts(&b, p);
	return sc_buf_take(&b);
}

typedef struct paramset {
	char **names;
	char **values;
	size_t n;
} paramset;

static cJSON *parse_select(const char *sql, cJSON **tree)
{
	PgQueryParseResult pr = pg_query_parse(sql);
	*tree = pr.error ? NULL : cJSON_Parse(pr.parse_tree);
	pg_query_free_parse_result(pr);
	cJSON *stmt = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(*tree, "stmts"), 0), "stmt");
	return cJSON_GetObjectItem(stmt, "SelectStmt");
}

/* Runs one parameter query for the user; appends its rows as parameter
 * sets. Returns a reason when it cannot be evaluated here. */
static const char *eval_parameter_query(sc_pg *pg, const char *sql, const char *user, paramset **sets, size_t *nsets)
{
	cJSON *tree;
	cJSON *sel = parse_select(sql, &tree);
	const char *why = NULL;
	if (!sel) {
		cJSON_Delete(tree);
		return "the parameter query does not parse";
	}
	if (!supported(cJSON_GetObjectItem(sel, "whereClause"), &why))
		goto out;
	cJSON *x;
	cJSON_ArrayForEach(x, cJSON_GetObjectItem(sel, "targetList")) {
		cJSON *val = cJSON_GetObjectItem(cJSON_GetObjectItem(x, "ResTarget"), "val");
		if (!supported(val, &why))
			goto out;
	}
	if (strstr(sql, "token_parameters.") && !strstr(sql, "token_parameters.user_id")) {
		why = "token parameters other than user_id";
		goto out;
	}
	/* Untyped parameters: Postgres gives them the type of what they are
	 * compared with. */
	char *a = replace_all(sql, "request.user_id()", "$1");
	char *q = replace_all(a, "token_parameters.user_id", "$1");
	free(a);
	const char *p[] = { user };
	sc_error err;
	PGresult *res = sc_pg_exec(pg, q, 1, p, &err);
	free(q);
	if (!res) {
		why = "its parameter query does not run on Postgres";
		goto out;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		*sets = sc_xrealloc(*sets, (*nsets + 1) * sizeof **sets);
		paramset *ps = &(*sets)[(*nsets)++];
		ps->n = (size_t)PQnfields(res);
		ps->names = sc_xcalloc(ps->n, sizeof *ps->names);
		ps->values = sc_xcalloc(ps->n, sizeof *ps->values);
		for (size_t f = 0; f < ps->n; f++) {
			ps->names[f] = sc_xstrdup(PQfname(res, (int)f));
			ps->values[f] = PQgetisnull(res, row, (int)f) ? NULL : sc_xstrdup(PQgetvalue(res, row, (int)f));
		}
	}
	PQclear(res);
out:
	cJSON_Delete(tree);
	return why;
}

static void add_data_query(scope *sc, const char *sql, const paramset *sets, size_t nsets, bool bucket_known)
{
	if (sc->reason)
		return;
	cJSON *tree;
	cJSON *sel = parse_select(sql, &tree);
	const char *why = NULL;
	cJSON *rv = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(sel, "fromClause"), 0), "RangeVar");
	cJSON *where = cJSON_GetObjectItem(sel, "whereClause");
	if (!sel || !rv) {
		sc->reason = sc_xstrdup("a data query this command cannot read");
		goto out;
	}
	if (!bucket_known) {
		sc->reason = sc_xstrdup("its bucket's parameter queries cannot be evaluated here");
		goto out;
	}
	if (!supported(where, &why)) {
		sc->reason = sc_xasprintf("its filter uses %s", why);
		goto out;
	}
	if (strstr(sql, " IN bucket.") || (strstr(sql, "bucket.") && strstr(sql, " IN ") && !strstr(sql, " IN ("))) {
		sc->reason = sc_xstrdup("bucket.x IN column (JSON arrays) is not evaluated here");
		goto out;
	}
	/* The id output: id, *, or `expr AS id` on a column. */
	const char *idcol = NULL;
	cJSON *x;
	cJSON_ArrayForEach(x, cJSON_GetObjectItem(sel, "targetList")) {
		cJSON *rt = cJSON_GetObjectItem(x, "ResTarget");
		const char *alias = cJSON_GetStringValue(cJSON_GetObjectItem(rt, "name"));
		cJSON *cr = cJSON_GetObjectItem(cJSON_GetObjectItem(rt, "val"), "ColumnRef");
		cJSON *fields = cJSON_GetObjectItem(cr, "fields");
		cJSON *last = cJSON_GetArrayItem(fields, cJSON_GetArraySize(fields) - 1);
		const char *col = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(last, "String"), "sval"));
		bool star = cJSON_GetObjectItem(last, "A_Star") != NULL;
		if ((alias && !strcmp(alias, "id") && col) || (!alias && col && !strcmp(col, "id")))
			idcol = col;
		else if (star && !idcol)
			idcol = "id";
	}
	if (!idcol) {
		sc->reason = sc_xstrdup("its id is not a plain column");
		goto out;
	}
	const char *schema = cJSON_GetStringValue(cJSON_GetObjectItem(rv, "schemaname"));
	const char *rel = cJSON_GetStringValue(cJSON_GetObjectItem(rv, "relname"));
	const char *alias = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(rv, "alias"), "aliasname"));
	cJSON *wl = where ? where->child : NULL;
	int wloc = wl ? (int)cJSON_GetNumberValue(cJSON_GetObjectItem(wl, "location")) : -1;
	/* For a BoolExpr the location is its operator: take the text after
	 * WHERE instead. */
	const char *wtext = NULL;
	if (where) {
		const char *kw = NULL;
		for (const char *p = sql; *p; p++)
			if (!strncasecmp(p, "where", 5) && (p == sql || p[-1] == ' ' || p[-1] == '\n' || p[-1] == '\t'))
				kw = p;
		wtext = kw ? kw + 5 : (wloc >= 0 ? sql + wloc : NULL);
		if (!wtext) {
			sc->reason = sc_xstrdup("a filter this command cannot read");
			goto out;
		}
	}
	for (size_t i = 0; i < nsets; i++) {
		char *w = wtext ? sc_xstrdup(wtext) : NULL;
		bool usable = true;
		for (size_t k = 0; w && k < sets[i].n; k++) {
			char *tok = sc_xasprintf("bucket.%s", sets[i].names[k]);
			if (strstr(w, tok)) {
				if (!sets[i].values[k]) {
					usable = false; /* NULL parameters match nothing */
				} else {
					sc->params = sc_xrealloc(sc->params, (sc->nparams + 1) * sizeof *sc->params);
					sc->params[sc->nparams++] = sc_xstrdup(sets[i].values[k]);
					char *ph = sc_xasprintf("$%zu", sc->nparams);
					char *nw = replace_all(w, tok, ph);
					free(w);
					w = nw;
					free(ph);
				}
			}
			free(tok);
		}
		if (w && strstr(w, "bucket.")) {
			free(w);
			sc->reason = sc_xstrdup("its filter names a bucket parameter no parameter query gives");
			goto out;
		}
		if (usable) {
			const char *qual = w;
			sc_buf_printf(&sc->sql, "%sSELECT (%s%s%s)::text AS id FROM %s%s%s%s%s%s%s", sc->nparts ? " UNION ALL " : "",
				      alias ? alias : "", alias ? "." : "", idcol, schema ? schema : "", schema ? "." : "", rel,
				      alias ? " AS " : "", alias ? alias : "", qual ? " WHERE " : "", qual ? qual : "");
			sc->nparts++;
		}
		free(w);
	}
out:
	cJSON_Delete(tree);
}

static int build_scopes(sc_pg *pg, const sc_cmp_opts *o, scopes *out, sc_error *err)
{
	memset(out, 0, sizeof *out);
	sc_yaml y;
	if (sc_yaml_load(&y, o->rules_text, strlen(o->rules_text), "--rules", err) != 0)
		return -1;
	yaml_node_t *root = sc_yaml_root(&y);
	yaml_node_t *defs = sc_yaml_get(&y, root, "bucket_definitions");
	yaml_node_t *streams = sc_yaml_get(&y, root, "streams");
	for (size_t i = 0; streams && streams->type == YAML_MAPPING_NODE &&
			   i < (size_t)(streams->data.mapping.pairs.top - streams->data.mapping.pairs.start); i++) {
		yaml_node_t *def = yaml_document_get_node(&y.doc, streams->data.mapping.pairs.start[i].value);
		const char *q = sc_yaml_scalar(sc_yaml_get(&y, def, "query"));
		cJSON *tree;
		cJSON *sel = q ? parse_select(q, &tree) : NULL;
		const char *rel = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(
			cJSON_GetArrayItem(cJSON_GetObjectItem(sel, "fromClause"), 0), "RangeVar"), "relname"));
		if (rel) {
			scope *sc = get_scope(out, rel);
			if (!sc->reason)
				sc->reason = sc_xstrdup("sync streams depend on the client's subscriptions");
		}
		if (q)
			cJSON_Delete(tree);
	}
	for (size_t i = 0; defs && defs->type == YAML_MAPPING_NODE &&
			   i < (size_t)(defs->data.mapping.pairs.top - defs->data.mapping.pairs.start); i++) {
		yaml_node_t *def = yaml_document_get_node(&y.doc, defs->data.mapping.pairs.start[i].value);
		yaml_node_t *params = sc_yaml_get(&y, def, "parameters");
		paramset *sets = NULL;
		size_t nsets = 0;
		const char *why = NULL;
		if (!params) {
			sets = sc_xcalloc(1, sizeof *sets);
			nsets = 1;
		} else {
			size_t np = params->type == YAML_SEQUENCE_NODE ? sc_yaml_len(params) : 1;
			for (size_t k = 0; k < np && !why; k++) {
				const char *q = sc_yaml_scalar(params->type == YAML_SEQUENCE_NODE ? sc_yaml_item(&y, params, k) : params);
				why = q ? eval_parameter_query(pg, q, o->user, &sets, &nsets) : "a parameter query is not text";
			}
		}
		yaml_node_t *data = sc_yaml_get(&y, def, "data");
		for (size_t k = 0; k < sc_yaml_len(data); k++) {
			const char *q = sc_yaml_scalar(sc_yaml_item(&y, data, k));
			cJSON *tree;
			cJSON *sel = q ? parse_select(q, &tree) : NULL;
			cJSON *rv = cJSON_GetObjectItem(cJSON_GetArrayItem(cJSON_GetObjectItem(sel, "fromClause"), 0), "RangeVar");
			const char *rel = cJSON_GetStringValue(cJSON_GetObjectItem(rv, "relname"));
			const char *alias = cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetObjectItem(rv, "alias"), "aliasname"));
			if (rel) {
				scope *sc = get_scope(out, alias ? alias : rel);
				if (why && !sc->reason)
					sc->reason = sc_xasprintf("its bucket's parameter query uses %s", why);
				add_data_query(sc, q, sets, nsets, why == NULL);
			}
			if (q)
				cJSON_Delete(tree);
		}
		for (size_t k = 0; k < nsets; k++) {
			for (size_t f = 0; f < sets[k].n; f++) {
				free(sets[k].names[f]);
				free(sets[k].values[f]);
			}
			free(sets[k].names);
			free(sets[k].values);
		}
		free(sets);
	}
	sc_yaml_free(&y);
	return 0;
}

/* ---- SQLite ---- */

static int sqlite_count(sqlite3 *db, const char *sql, long long *out)
{
	sqlite3_stmt *st;
	if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*out = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

/* The read-only URI of a file (SQLite's URI rules, sqlite.org/uri.html):
 * '%', '?' and '#' escaped, so a name holding them is still the name; an
 * absolute path after "file://" (an empty authority), so "//x" is a path. */
static char *sqlite_ro_uri(const char *path)
{
	sc_buf b = SC_BUF_INIT;
	sc_buf_puts(&b, path[0] == '/' ? "file://" : "file:");
	for (const char *p = path; *p; p++) {
		if (*p == '%' || *p == '?' || *p == '#')
			sc_buf_printf(&b, "%%%02X", (unsigned char)*p);
		else
			sc_buf_putc(&b, *p);
	}
	sc_buf_puts(&b, "?mode=ro");
	return sc_buf_take(&b);
}

static char *sqlite_ident(const char *name)
{
	char *q = sqlite3_mprintf("\"%w\"", name);
	char *s = sc_xstrdup(q);
	sqlite3_free(q);
	return s;
}

/* Server counts for the tables, in one snapshot. */
static int server_counts(sc_pg *server, sc_cmp_result *r, const scopes *sc, sc_error *err)
{
	if (sc_pg_command(server, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, err) != 0)
		return -1;
	for (size_t i = 0; i < r->ntables; i++) {
		sc_cmp_table *t = &r->tables[i];
		const scope *s = NULL;
		for (size_t k = 0; sc && k < sc->n; k++)
			if (!strcmp(sc->v[k].table, t->name))
				s = &sc->v[k];
		const char *p[] = { t->name };
		PGresult *res = sc_pg_exec(server, "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c"
						   " JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(quote_ident($1))",
					   1, p, err);
		if (!res)
			goto fail;
		char *qname = PQntuples(res) ? sc_xstrdup(sc_pg_get(res, 0, 0)) : NULL;
		PQclear(res);
		if (!qname)
			continue; /* server -1: missing */
		t->server_table = sc_xstrdup(qname);
		char *sql;
		PGresult *cnt;
		if (s && !s->reason) {
			sql = s->nparts ? sc_xasprintf("SELECT count(DISTINCT id) FROM (%s) s", s->sql.data) : sc_xstrdup("SELECT 0");
			cnt = sc_pg_exec(server, sql, (int)s->nparams, (const char *const *)s->params, err);
		} else {
			if (s && s->reason)
				t->note = sc_xstrdup(s->reason);
			else if (sc)
				t->note = sc_xstrdup("no data query of the rules reads it");
			sql = sc_xasprintf("SELECT count(*) FROM %s", qname);
			cnt = sc_pg_exec(server, sql, 0, NULL, err);
		}
		free(sql);
		free(qname);
		if (!cnt)
			goto fail;
		t->server = sc_pg_get_ll(cnt, 0, 0, 0);
		PQclear(cnt);
	}
	return sc_pg_command(server, "COMMIT", 0, NULL, err);
fail:
	if (server->conn && PQstatus(server->conn) == CONNECTION_OK) {
		sc_error keep;
		sc_pg_command(server, "ROLLBACK", 0, NULL, &keep);
	}
	return -1;
}

/* Each client table counted: PowerSync's ps_data__ tables under their
 * logical names (local-only tables listed apart), a plain file's tables as
 * they are. */
static int client_counts(sqlite3 *db, const char *path, char **tables, size_t ntables, const sc_cmp_opts *o,
			 sc_cmp_result *r, sc_error *err)
{
	for (size_t i = 0; i < ntables; i++) {
		const char *name = tables[i];
		const char *logical = NULL;
		if (r->powersync) {
			if (!strncmp(name, "ps_data__", 9))
				logical = name + 9;
			else if (!strncmp(name, "ps_data_local__", 15)) {
				char *qi = sqlite_ident(name);
				char *sql = sc_xasprintf("SELECT count(*) FROM %s", qi);
				long long n = 0;
				sqlite_count(db, sql, &n);
				cJSON *e = cJSON_CreateObject();
				cJSON_AddStringToObject(e, "name", name + 15);
				cJSON_AddNumberToObject(e, "count", (double)n);
				cJSON_AddItemToArray(r->local_only, e);
				free(sql);
				free(qi);
				continue;
			} else
				continue;
		} else if (!strncmp(name, "sqlite_", 7)) {
			continue;
		} else {
			logical = name;
		}
		if (!wanted(o, logical))
			continue;
		sc_cmp_table *t = add_table(r, logical);
		char *qi = sqlite_ident(name);
		char *sql = sc_xasprintf("SELECT count(*) FROM %s", qi);
		if (sqlite_count(db, sql, &t->local) != 0) {
			sc_error_set(err, SC_EXIT_USAGE, "cannot count %s in %s: %s", name, path, sqlite3_errmsg(db));
			free(sql);
			free(qi);
			return -1;
		}
		free(sql);
		free(qi);
	}
	return 0;
}

/* A PowerSync client's pending uploads (by table and operation), untyped
 * rows and last sync. */
static void client_uploads(sqlite3 *db, sc_cmp_result *r)
{
	sqlite3_stmt *s;
	/* Each upload's JSON read here (lib/json.h), not by SQLite's
	 * json_extract, which cuts a string at an escaped NUL: a type
	 * "lists\u0000x" is its own type, never the table lists. */
	if (sqlite3_prepare_v2(db, "SELECT data, count(*) FROM ps_crud GROUP BY data", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW) {
			const char *data = (const char *)sqlite3_column_text(s, 0);
			cJSON *j = data ? sc_json_parse(data, (size_t)sqlite3_column_bytes(s, 0), NULL, 0) : NULL;
			const cJSON *jt = cJSON_GetObjectItemCaseSensitive(j, "type");
			const cJSON *jo = cJSON_GetObjectItemCaseSensitive(j, "op");
			const char *type = cJSON_IsString(jt) ? jt->valuestring : NULL;
			const char *op = cJSON_IsString(jo) ? jo->valuestring : NULL;
			long long n = sqlite3_column_int64(s, 1);
			if (!type)
				type = "?";
			cJSON *per = cJSON_GetObjectItemCaseSensitive(r->pending_by_op, type);
			if (!per)
				per = cJSON_AddObjectToObject(r->pending_by_op, type);
			cJSON *count = cJSON_GetObjectItemCaseSensitive(per, op ? op : "?");
			if (count)
				cJSON_SetNumberValue(count, count->valuedouble + (double)n);
			else
				cJSON_AddNumberToObject(per, op ? op : "?", (double)n);
			r->pending_total += n;
			sc_cmp_table *t = find_table(r, type);
			if (t)
				t->pending += n;
			cJSON_Delete(j);
		}
		sqlite3_finalize(s);
	}
	if (sqlite3_prepare_v2(db, "SELECT type, count(*) FROM ps_untyped GROUP BY type", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW)
			cJSON_AddNumberToObject(r->untyped, (const char *)sqlite3_column_text(s, 0),
						(double)sqlite3_column_int64(s, 1));
		sqlite3_finalize(s);
	}
	if (sqlite3_prepare_v2(db, "SELECT datetime(max(last_synced_at), 'unixepoch') || 'Z' FROM ps_sync_state", -1, &s, NULL) == SQLITE_OK) {
		if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_text(s, 0))
			r->last_sync = sc_xstrdup((const char *)sqlite3_column_text(s, 0));
		sqlite3_finalize(s);
	}
}

/* --ids: the ids only on one side, for each table on both sides with rows
 * (equal counts can still hide different ids), merged in byte order. */
static int client_ids(sqlite3 *db, sc_pg *server, const sc_cmp_opts *o, sc_cmp_result *r, const scopes *sc, sc_error *err)
{
	for (size_t i = 0; i < r->ntables; i++) {
		sc_cmp_table *t = &r->tables[i];
		/* Equal counts can still hide different ids: every table
		 * present on both sides with rows is merged. */
		if (t->local < 0 || t->server < 0 || !t->server_table || t->note || (t->local == 0 && t->server == 0))
			continue;
		char *tbl = sc_xasprintf(r->powersync ? "ps_data__%s" : "%s", t->name);
		char *qi = sqlite_ident(tbl);
		char *sql = sc_xasprintf("SELECT id FROM %s ORDER BY id", qi);
		idstream a, b;
		memset(&a, 0, sizeof a);
		if (sqlite3_prepare_v2(db, sql, -1, &a.st, NULL) != SQLITE_OK) {
			free(sql);
			free(qi);
			free(tbl);
			continue;
		}
		const scope *s = NULL;
		for (size_t k = 0; k < sc->n; k++)
			if (!strcmp(sc->v[k].table, t->name))
				s = &sc->v[k];
		char *ssql = s && !s->reason && s->nparts
				     ? sc_xasprintf("SELECT id FROM (SELECT DISTINCT id FROM (%s) s) d ORDER BY id COLLATE \"C\"", s->sql.data)
				     : sc_xasprintf("SELECT id::text AS id FROM %s ORDER BY id::text COLLATE \"C\"", t->server_table);
		int mrc = pg_stream(&b, server, ssql, s && !s->reason ? (int)s->nparams : 0,
				    s && !s->reason ? (const char *const *)s->params : NULL, err);
		if (mrc == 0)
			mrc = merge_ids(&a, &b, t, o->limit, err);
		sqlite3_finalize(a.st);
		if (mrc != 0) {
			free(ssql);
			free(sql);
			free(qi);
			free(tbl);
			return -1;
		}
		free(ssql);
		free(sql);
		free(qi);
		free(tbl);
	}
	return 0;
}

/* A client database opened read-only (neither the file nor its -wal is
 * ever written), waiting up to timeout_s for the app's locks. NULL with
 * err set when it is missing or cannot be opened. */
static sqlite3 *open_client(const char *path, int timeout_s, sc_error *err)
{
	struct stat st;
	if (stat(path, &st) != 0) {
		sc_error_set(err, SC_EXIT_USAGE, "cannot read client database %s: no such file", path);
		return NULL;
	}
	char *uri = sqlite_ro_uri(path);
	sqlite3 *db = NULL;
	int rc = sqlite3_open_v2(uri, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_URI, NULL);
	free(uri);
	if (rc != SQLITE_OK) {
		sc_error_set(err, SC_EXIT_USAGE, "cannot open client database %s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return NULL;
	}
	sqlite3_busy_timeout(db, timeout_s * 1000);
	return db;
}

int sc_compare_sqlite(const char *path, sc_pg *server, const sc_cmp_opts *o, sc_cmp_result *r, sc_error *err)
{
	memset(r, 0, sizeof *r);
	sqlite3 *db = open_client(path, o->timeout_s, err);
	if (!db)
		return -1;
	int rc;
	sqlite3_stmt *names = NULL;
	rc = sqlite3_prepare_v2(db, "SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name", -1, &names, NULL);
	if (rc != SQLITE_OK) {
		int code = sqlite3_errcode(db);
		sc_error_set(err, SC_EXIT_USAGE, "%s is not a readable SQLite database: %s%s", path, sqlite3_errmsg(db),
			     code == SQLITE_BUSY || code == SQLITE_LOCKED ? " (locked past --timeout)" : "");
		sqlite3_close(db);
		return -1;
	}
	char **tables = NULL;
	size_t ntables = 0;
	while ((rc = sqlite3_step(names)) == SQLITE_ROW) {
		tables = sc_xrealloc(tables, (ntables + 1) * sizeof *tables);
		tables[ntables++] = sc_xstrdup((const char *)sqlite3_column_text(names, 0));
	}
	sqlite3_finalize(names);
	int ret = -1;
	if (rc != SQLITE_DONE) {
		sc_error_set(err, SC_EXIT_USAGE, "%s is not a readable SQLite database: %s", path, sqlite3_errmsg(db));
		goto out;
	}
	for (size_t i = 0; i < ntables; i++)
		if (!strncmp(tables[i], "ps_data__", 9) || !strcmp(tables[i], "ps_crud"))
			r->powersync = true;
	r->pending_by_op = cJSON_CreateObject();
	r->untyped = cJSON_CreateObject();
	r->local_only = cJSON_CreateArray();
	if (client_counts(db, path, tables, ntables, o, r, err) != 0)
		goto out;
	if (r->powersync)
		client_uploads(db, r);
	/* Tables asked for that the client lacks. */
	for (size_t i = 0; i < o->ntables; i++)
		add_table(r, o->tables[i]);

	scopes sc;
	memset(&sc, 0, sizeof sc);
	if (o->user && build_scopes(server, o, &sc, err) != 0)
		goto out;
	if (server_counts(server, r, o->user ? &sc : NULL, err) != 0) {
		scopes_free(&sc);
		goto out;
	}
	if (o->ids && client_ids(db, server, o, r, &sc, err) != 0) {
		scopes_free(&sc);
		goto out;
	}
	scopes_free(&sc);
	for (size_t i = 0; i < r->ntables; i++)
		set_status(&r->tables[i]);
	ret = 0;
out:
	for (size_t i = 0; i < ntables; i++)
		free(tables[i]);
	free(tables);
	sqlite3_close(db);
	return ret;
}

/* ---- Postgres against Postgres ---- */

/* The content hash of one table: the sum of each row's 64-bit hash, so row
 * order does not matter, by the method both servers agreed on
 * (lib/rowhash.h), over the columns in name order. */
static char *checksum_query(sc_pg *pg, const char *oid, const char *qtable, bool values, sc_error *err)
{
	const char *p[] = { oid };
	/* Before 12, name is not collatable and there is no collisdeterministic. */
	PGresult *res = sc_pg_exec(pg, pg->server_version >= 120000
		? "SELECT a.attname, a.atttypid::int, coalesce(co.collisdeterministic, true) FROM pg_attribute a"
		  " LEFT JOIN pg_collation co ON co.oid = a.attcollation"
		  " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname COLLATE \"C\""
		: "SELECT a.attname, a.atttypid::int, true FROM pg_attribute a"
		  " WHERE a.attrelid = $1::oid AND a.attnum > 0 AND NOT a.attisdropped ORDER BY a.attname::text COLLATE \"C\"",
		1, p, err);
	if (!res)
		return NULL;
	size_t n = (size_t)PQntuples(res);
	sc_hash_col *cols = sc_xcalloc(n + 1, sizeof *cols);
	for (size_t i = 0; i < n; i++)
		cols[i] = (sc_hash_col){ sc_pg_get(res, (int)i, 0), (unsigned)sc_pg_get_ll(res, (int)i, 1, 0),
					 sc_pg_get_bool(res, (int)i, 2) };
	char *h = sc_row_hash_sql(pg, "t", cols, n, values);
	char *sql = values
		? sc_xasprintf("SELECT count(*), 'h' || coalesce(sum(%s::numeric), 0)::text FROM %s t", h, qtable)
		: sc_xasprintf("SELECT count(*), 'm' || coalesce(sum(('x' || substr(%s, 1, 16))::bit(64)::bigint::numeric), 0)::text"
			       " FROM %s t", h, qtable);
	free(h);
	free(cols);
	PQclear(res);
	return sql;
}

static int pg_side(sc_pg *pg, const sc_cmp_opts *o, sc_cmp_result *r, bool local, bool values, sc_error *err)
{
	if (sc_pg_canonical_session(pg, err) != 0 ||
	    sc_pg_command(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY", 0, NULL, err) != 0)
		return -1;
	const char *p[] = { o->schema ? o->schema : "public" };
	PGresult *tabs = sc_pg_exec(pg, "SELECT c.relname, format('%I.%I', n.nspname, c.relname), c.oid::text FROM pg_class c"
					" JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'p')"
					" ORDER BY 1", 1, p, err);
	if (!tabs)
		return -1;
	int rc = 0;
	for (int i = 0; i < PQntuples(tabs) && rc == 0; i++) {
		const char *name = sc_pg_get(tabs, i, 0);
		if (!wanted(o, name))
			continue;
		sc_cmp_table *t = add_table(r, name);
		char *sql = o->checksum ? checksum_query(pg, sc_pg_get(tabs, i, 2), sc_pg_get(tabs, i, 1), values, err)
					: sc_xasprintf("SELECT count(*) FROM %s", sc_pg_get(tabs, i, 1));
		PGresult *res = sql ? sc_pg_exec(pg, sql, 0, NULL, err) : NULL;
		free(sql);
		if (!res) {
			rc = -1;
			break;
		}
		if (local)
			t->local = sc_pg_get_ll(res, 0, 0, 0);
		else
			t->server = sc_pg_get_ll(res, 0, 0, 0);
		if (o->checksum) {
			char **sum = local ? &t->local_sum : &t->server_sum;
			free(*sum);
			*sum = sc_xstrdup(sc_pg_get(res, 0, 1));
		}
		PQclear(res);
	}
	PQclear(tabs);
	sc_error keep;
	sc_pg_command(pg, rc == 0 ? "COMMIT" : "ROLLBACK", 0, NULL, rc == 0 ? err : &keep);
	return rc;
}

/* The primary key of a table as one text value, ordered byte-wise. */
static char *key_query(sc_pg *pg, const char *schema, const char *table, sc_error *err)
{
	const char *p[] = { schema, table };
	PGresult *res = sc_pg_exec(pg,
		"SELECT string_agg(format('%I::text', a.attname), ', ' ORDER BY k.n), format('%I.%I', $1::text, $2::text)"
		" FROM pg_index i CROSS JOIN LATERAL unnest(i.indkey::int2[]) WITH ORDINALITY AS k(attnum, n)"
		" JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum"
		" WHERE i.indrelid = format('%I.%I', $1::text, $2::text)::regclass AND i.indisprimary", 2, p, err);
	if (!res)
		return NULL;
	char *q = NULL;
	if (sc_pg_get(res, 0, 0))
		q = sc_xasprintf("SELECT k FROM (SELECT concat_ws(',', %s) AS k FROM %s) s ORDER BY k COLLATE \"C\"",
				 sc_pg_get(res, 0, 0), sc_pg_get(res, 0, 1));
	PQclear(res);
	return q;
}

typedef struct side_job {
	sc_pg *pg;
	const sc_cmp_opts *o;
	sc_cmp_result part;
	bool local;
	bool values;       /* the hash method both sides use */
	int rc;
	sc_error err;
} side_job;

static void *side_thread(void *arg)
{
	side_job *j = arg;
	j->rc = pg_side(j->pg, j->o, &j->part, j->local, j->values, &j->err);
	return NULL;
}

int sc_compare_pg(sc_pg *local, sc_pg *server, const sc_cmp_opts *o, sc_cmp_result *r, sc_error *err)
{
	memset(r, 0, sizeof *r);
	r->pending_by_op = cJSON_CreateObject();
	r->untyped = cJSON_CreateObject();
	r->local_only = cJSON_CreateArray();
	/* The two databases are read at once: each side is its own server's
	 * work, and the slower one sets the time. */
	side_job jobs[2];
	memset(jobs, 0, sizeof jobs);
	jobs[0].pg = local;
	jobs[0].local = true;
	jobs[1].pg = server;
	jobs[0].o = jobs[1].o = o;
	/* One hash method for both sides, or equal rows hash differently. */
	jobs[0].values = jobs[1].values = sc_row_hash_values(local->server_version, server->server_version);
	pthread_t th;
	bool threaded = pthread_create(&th, NULL, side_thread, &jobs[0]) == 0;
	if (!threaded)
		side_thread(&jobs[0]);
	side_thread(&jobs[1]);
	if (threaded)
		pthread_join(th, NULL);
	for (int k = 0; k < 2; k++) {
		for (size_t i = 0; i < jobs[k].part.ntables; i++) {
			sc_cmp_table *src = &jobs[k].part.tables[i];
			sc_cmp_table *t = add_table(r, src->name);
			if (jobs[k].local) {
				t->local = src->local;
				t->local_sum = src->local_sum;
				src->local_sum = NULL;
			} else {
				t->server = src->server;
				t->server_sum = src->server_sum;
				src->server_sum = NULL;
			}
		}
		sc_cmp_result_free(&jobs[k].part);
	}
	for (int k = 0; k < 2; k++)
		if (jobs[k].rc != 0) {
			*err = jobs[k].err;
			return -1;
		}
	for (size_t i = 0; i < o->ntables; i++)
		add_table(r, o->tables[i]);
	if (o->ids) {
		const char *schema = o->schema ? o->schema : "public";
		for (size_t i = 0; i < r->ntables; i++) {
			sc_cmp_table *t = &r->tables[i];
			if (t->local < 0 || t->server < 0)
				continue;
			bool same_sum = t->local_sum && t->server_sum && !strcmp(t->local_sum, t->server_sum);
			if (t->local == t->server && (same_sum || !o->checksum) && t->local == 0)
				continue;
			char *ql = key_query(local, schema, t->name, err), *qs = key_query(server, schema, t->name, err);
			int mrc = ql && qs ? 0 : -1;
			if (mrc != 0 && !err->code)
				sc_error_set(err, SC_EXIT_PROBLEM, "table %s has no primary key on both sides: --ids needs one", t->name);
			if (ql && qs) {
				idstream a, b;
				mrc = pg_stream(&a, local, ql, 0, NULL, err);
				if (mrc == 0)
					mrc = pg_stream(&b, server, qs, 0, NULL, err);
				if (mrc == 0)
					mrc = merge_ids(&a, &b, t, o->limit, err);
			}
			free(ql);
			free(qs);
			if (mrc != 0)
				return -1;
		}
	}
	for (size_t i = 0; i < r->ntables; i++)
		set_status(&r->tables[i]);
	return 0;
}

cJSON *sc_cmp_json(const sc_cmp_result *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "in_sync", sc_cmp_in_sync(r));
	cJSON_AddNumberToObject(o, "pending_uploads", (double)r->pending_total);
	cJSON *arr = cJSON_AddArrayToObject(o, "tables");
	for (size_t i = 0; i < r->ntables; i++) {
		const sc_cmp_table *t = &r->tables[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "name", t->name);
		if (t->local >= 0)
			cJSON_AddNumberToObject(e, "local", (double)t->local);
		else
			cJSON_AddNullToObject(e, "local");
		if (t->server >= 0)
			cJSON_AddNumberToObject(e, "server", (double)t->server);
		else
			cJSON_AddNullToObject(e, "server");
		cJSON_AddNumberToObject(e, "pending_uploads", (double)t->pending);
		cJSON_AddStringToObject(e, "status", t->status);
		if (t->note)
			cJSON_AddStringToObject(e, "reason", t->note);
		if (t->local_sum || t->server_sum)
			cJSON_AddStringToObject(e, "checksum", t->local_sum && t->server_sum && !strcmp(t->local_sum, t->server_sum) ? "same" : "differs");
		if (t->n_only_local || t->n_only_server) {
			cJSON *l = cJSON_AddArrayToObject(e, "only_local_ids");
			for (size_t k = 0; k < t->n_only_local; k++)
				cJSON_AddItemToArray(l, cJSON_CreateString(t->only_local[k]));
			cJSON *s = cJSON_AddArrayToObject(e, "only_server_ids");
			for (size_t k = 0; k < t->n_only_server; k++)
				cJSON_AddItemToArray(s, cJSON_CreateString(t->only_server[k]));
			if (t->ids_truncated)
				cJSON_AddBoolToObject(e, "ids_truncated", true);
		}
		cJSON_AddItemToArray(arr, e);
	}
	if (r->powersync) {
		cJSON_AddItemToObject(o, "pending_by_table", cJSON_Duplicate(r->pending_by_op, 1));
		cJSON_AddItemToObject(o, "untyped", cJSON_Duplicate(r->untyped, 1));
		cJSON_AddItemToObject(o, "local_only_tables", cJSON_Duplicate(r->local_only, 1));
		if (r->last_sync)
			cJSON_AddStringToObject(o, "last_sync", r->last_sync);
		else
			cJSON_AddNullToObject(o, "last_sync");
	}
	return o;
}

/* ---- the client's schema against the rules' ---- */

/* Reads a quoted or bare SQLite identifier at *p; NULL when there is none. */
static char *read_ident(const char **p)
{
	const char *s = *p;
	while (*s == ' ')
		s++;
	sc_buf b = SC_BUF_INIT;
	if (*s == '"' || *s == '`' || *s == '[') {
		char close = *s == '[' ? ']' : *s;
		for (s++; *s; s++) {
			if (*s == close) {
				if (close != ']' && s[1] == close) {
					sc_buf_putc(&b, close);
					s++;
					continue;
				}
				break;
			}
			sc_buf_putc(&b, *s);
		}
		if (*s != close) {
			sc_buf_free(&b);
			return NULL;
		}
		s++;
	} else {
		while (*s && (*s == '_' || (unsigned char)*s >= 0x80 || (*s >= '0' && *s <= '9') || ((*s | 32) >= 'a' && (*s | 32) <= 'z')))
			sc_buf_putc(&b, *s++);
		if (!b.len) {
			sc_buf_free(&b);
			return NULL;
		}
	}
	*p = s;
	return sc_buf_take(&b);
}

/* The select list's items at the top level (quotes and parentheses kept
 * together), up to FROM; then the table after FROM. */
static size_t split_select(const char *s, char ***items, char **from)
{
	size_t n = 0;
	int depth = 0;
	const char *start = s;
	*items = NULL;
	*from = NULL;
	for (const char *p = s;; p++) {
		if (*p == '\'' || *p == '"') {
			char q = *p;
			for (p++; *p && !(*p == q && p[1] != q); p++)
				if (*p == q)
					p++;
			if (!*p)
				break;
			continue;
		}
		if (*p == '(')
			depth++;
		else if (*p == ')')
			depth--;
		bool at_from = depth == 0 && strncasecmp(p, " FROM ", 6) == 0;
		if (!*p || at_from || (depth == 0 && *p == ',')) {
			*items = sc_xrealloc(*items, (n + 1) * sizeof **items);
			const char *a = start, *e = p;
			while (*a == ' ')
				a++;
			while (e > a && e[-1] == ' ')
				e--;
			(*items)[n++] = sc_xstrndup(a, (size_t)(e - a));
			if (at_from) {
				const char *t = p + 6;
				*from = read_ident(&t);
			}
			if (!*p || at_from)
				break;
			start = p + 1;
		}
	}
	return n;
}

static const char *find_nocase(const char *s, const char *what)
{
	size_t n = strlen(what);
	for (; *s; s++)
		if (strncasecmp(s, what, n) == 0)
			return s;
	return NULL;
}

/* The views of PowerSync's SQLite core extension:
 *   CREATE VIEW "todos"("id", "description", ...) AS SELECT id,
 *   CAST(json_extract(data, '$.description') as TEXT), ... FROM "ps_data__todos"
 * Returns false for any other view. */
static bool parse_view(const char *name, const char *sql, sc_client_table *t)
{
	memset(t, 0, sizeof *t);
	const char *p = strchr(sql, '(');
	const char *as = find_nocase(sql, " AS SELECT ");
	if (!p || !as || p > as)
		return false;
	p++;
	char **cols = NULL;
	size_t ncols = 0;
	for (;;) {
		char *c = read_ident(&p);
		if (!c)
			break;
		cols = sc_xrealloc(cols, (ncols + 1) * sizeof *cols);
		cols[ncols++] = c;
		while (*p == ' ')
			p++;
		if (*p != ',')
			break;
		p++;
	}
	char **items = NULL, *from = NULL;
	size_t nitems = split_select(as + 11, &items, &from);
	bool ok = from && nitems == ncols && ncols > 0 &&
		  (!strncmp(from, "ps_data__", 9) || !strncmp(from, "ps_data_local__", 15));
	if (ok) {
		t->name = sc_xstrdup(name);
		t->local_only = !strncmp(from, "ps_data_local__", 15);
		t->columns = sc_xcalloc(ncols + 1, sizeof *t->columns);
		for (size_t i = 0; i < ncols; i++) {
			if (i == 0 && strcmp(cols[i], "id") == 0)
				continue;
			/* CAST(... as TYPE): the word before the last ")". */
			const char *it = items[i];
			size_t len = strlen(it);
			const char *type = "?";
			char buf[32];
			if (len && it[len - 1] == ')') {
				const char *e = it + len - 1, *b = e;
				while (b > it && b[-1] != ' ')
					b--;
				size_t tl = (size_t)(e - b);
				if (tl && tl < sizeof buf) {
					for (size_t k = 0; k < tl; k++)
						buf[k] = (char)((b[k] >= 'a' && b[k] <= 'z') ? b[k] - 32 : b[k]);
					buf[tl] = '\0';
					type = buf;
				}
			}
			sc_client_column *cc = &t->columns[t->ncolumns++];
			cc->name = sc_xstrdup(cols[i]);
			cc->type = sc_xstrdup(type);
		}
	}
	for (size_t i = 0; i < ncols; i++)
		free(cols[i]);
	free(cols);
	for (size_t i = 0; i < nitems; i++)
		free(items[i]);
	free(items);
	free(from);
	return ok;
}

void sc_client_schema_free(sc_client_schema *s)
{
	for (size_t i = 0; i < s->ntables; i++) {
		free(s->tables[i].name);
		for (size_t k = 0; k < s->tables[i].ncolumns; k++) {
			free(s->tables[i].columns[k].name);
			free(s->tables[i].columns[k].type);
		}
		free(s->tables[i].columns);
	}
	free(s->tables);
	cJSON_Delete(s->untyped);
	memset(s, 0, sizeof *s);
}

int sc_client_schema_read(const char *path, int timeout_s, sc_client_schema *out, sc_error *err)
{
	memset(out, 0, sizeof *out);
	sqlite3 *db = open_client(path, timeout_s, err);
	if (!db)
		return -1;
	int rc;
	sqlite3_stmt *s = NULL;
	if (sqlite3_prepare_v2(db, "SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name", -1, &s, NULL) != SQLITE_OK) {
		int code = sqlite3_errcode(db);
		sc_error_set(err, SC_EXIT_USAGE, "%s is not a readable SQLite database: %s%s", path, sqlite3_errmsg(db),
			     code == SQLITE_BUSY || code == SQLITE_LOCKED ? " (locked past --timeout)" : "");
		sqlite3_close(db);
		return -1;
	}
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		const char *name = (const char *)sqlite3_column_text(s, 0), *sql = (const char *)sqlite3_column_text(s, 1);
		sc_client_table t;
		if (name && sql && parse_view(name, sql, &t)) {
			out->tables = sc_xrealloc(out->tables, (out->ntables + 1) * sizeof *out->tables);
			out->tables[out->ntables++] = t;
		}
	}
	sqlite3_finalize(s);
	int ret = 0;
	if (rc != SQLITE_DONE) {
		sc_error_set(err, SC_EXIT_USAGE, "%s is not a readable SQLite database: %s", path, sqlite3_errmsg(db));
		ret = -1;
	}
	out->untyped = cJSON_CreateObject();
	if (ret == 0 && sqlite3_prepare_v2(db, "SELECT type, count(*) FROM ps_untyped GROUP BY type", -1, &s, NULL) == SQLITE_OK) {
		while (sqlite3_step(s) == SQLITE_ROW)
			if (sqlite3_column_text(s, 0))
				cJSON_AddNumberToObject(out->untyped, (const char *)sqlite3_column_text(s, 0), (double)sqlite3_column_int64(s, 1));
		sqlite3_finalize(s);
	} else if (ret == 0) {
		sc_error_set(err, SC_EXIT_USAGE, "%s is not a PowerSync client database (no ps_untyped table)", path);
		ret = -1;
	}
	sqlite3_close(db);
	if (ret != 0)
		sc_client_schema_free(out);
	return ret;
}

static const sc_client_table *client_table(const sc_client_schema *s, const char *name)
{
	for (size_t i = 0; i < s->ntables; i++)
		if (strcmp(s->tables[i].name, name) == 0)
			return &s->tables[i];
	return NULL;
}

static cJSON *column_json(const char *table, const char *column, const char *client_type, const char *rules_type)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "table", table);
	if (column)
		cJSON_AddStringToObject(d, "column", column);
	if (client_type)
		cJSON_AddStringToObject(d, "client_type", client_type);
	if (rules_type)
		cJSON_AddStringToObject(d, "rules_type", rules_type);
	return d;
}

void sc_client_schema_check(const sc_client_schema *have, const sc_cs_schema *want, const sc_cs_render_opts *lang,
			    sc_report *r)
{
	for (size_t i = 0; i < want->ntables; i++) {
		const sc_cs_table *w = &want->tables[i];
		const sc_client_table *h = client_table(have, w->name);
		const cJSON *u = cJSON_GetObjectItemCaseSensitive(have->untyped, w->name);
		long long untyped = cJSON_IsNumber(u) ? (long long)u->valuedouble : 0;
		sc_buf lines = SC_BUF_INIT;
		for (size_t k = 0; k < w->ncolumns; k++) {
			char *line = sc_cs_render_column(lang, &w->columns[k]);
			sc_buf_printf(&lines, "%s%s", k ? "; " : "", line);
			free(line);
		}
		sc_report_mark(r);
		char *id = sc_xasprintf("client.schema.%s", w->name);
		if (!h) {
			sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL,
						    "%s: the rules sync it, the client schema has no such table: its rows sit in ps_untyped (%lld now), invisible to the app",
						    w->name, untyped);
			sc_check_set_hint(c, "add the table %s to the client schema with: %s (syncctl schema client --lang %s writes it)",
					  w->name, w->ncolumns ? sc_buf_str(&lines) : "no columns but id", sc_cs_lang_name(lang->lang));
			sc_check_set_details(c, column_json(w->name, NULL, NULL, NULL));
			free(id);
			sc_buf_free(&lines);
			continue;
		}
		if (h->local_only) {
			sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL,
						    "%s: local-only in the client schema, but the rules sync it: synced rows never reach it (%lld sit in ps_untyped)",
						    w->name, untyped);
			sc_check_set_hint(c, "make %s a synced table (drop localOnly) declared as: %s", w->name,
					  w->ncolumns ? sc_buf_str(&lines) : "no columns but id");
			sc_check_set_details(c, column_json(w->name, NULL, NULL, NULL));
			free(id);
			sc_buf_free(&lines);
			continue;
		}
		sc_buf_free(&lines);
		size_t problems = 0;
		for (size_t k = 0; k < w->ncolumns; k++) {
			const sc_cs_column *wc = &w->columns[k];
			const sc_client_column *hc = NULL;
			for (size_t j = 0; j < h->ncolumns && !hc; j++)
				if (strcmp(h->columns[j].name, wc->name) == 0)
					hc = &h->columns[j];
			const char *wt = sc_cs_sql_type(wc->flags);
			char *line = sc_cs_render_column(lang, wc);
			char *cid = sc_xasprintf("client.schema.%s.%s", w->name, wc->name);
			if (!hc) {
				sc_report_mark(r);
				sc_check *c = sc_report_add(r, cid, SC_CHECK_FAIL,
							    "%s.%s: the rules send it, the client schema lacks it: its values stay in ps_data__%s.data, invisible to the app",
							    w->name, wc->name, w->name);
				sc_check_set_hint(c, "add to the table %s: %s", w->name, line);
				sc_check_set_details(c, column_json(w->name, wc->name, NULL, wt));
				problems++;
			} else if (strcmp(hc->type, wt) != 0) {
				sc_report_mark(r);
				sc_check *c = sc_report_add(r, cid, SC_CHECK_FAIL,
							    "%s.%s: the client declares %s, the rules send %s%s%s%s: the app reads its values cast to %s",
							    w->name, wc->name, hc->type, wt, wc->original ? " (from " : "",
							    wc->original ? wc->original : "", wc->original ? ")" : "", hc->type);
				sc_check_set_hint(c, "in the table %s, declare it as: %s", w->name, line);
				sc_check_set_details(c, column_json(w->name, wc->name, hc->type, wt));
				problems++;
			}
			free(cid);
			free(line);
		}
		for (size_t j = 0; j < h->ncolumns; j++) {
			const sc_client_column *hc = &h->columns[j];
			bool sent = false;
			for (size_t k = 0; k < w->ncolumns && !sent; k++)
				sent = strcmp(w->columns[k].name, hc->name) == 0;
			if (sent)
				continue;
			int flags = !strcmp(hc->type, "INTEGER") ? SC_CS_INTEGER : !strcmp(hc->type, "REAL") ? SC_CS_REAL : SC_CS_TEXT;
			sc_cs_column as_declared = { hc->name, flags, NULL };
			char *line = sc_cs_render_column(lang, &as_declared);
			char *cid = sc_xasprintf("client.schema.%s.%s", w->name, hc->name);
			sc_report_mark(r);
			sc_check *c = sc_report_add(r, cid, SC_CHECK_WARN,
						    "%s.%s: the client declares it, no rule sends it: it is always NULL", w->name, hc->name);
			sc_check_set_hint(c, "remove from the table %s: %s", w->name, line);
			sc_check_set_details(c, column_json(w->name, hc->name, hc->type, NULL));
			problems++;
			free(cid);
			free(line);
		}
		if (!problems) {
			sc_check *c = sc_report_add(r, id, SC_CHECK_OK, "%s: the client declares the %zu column%s the rules send, with their types",
						    w->name, w->ncolumns, w->ncolumns == 1 ? "" : "s");
			sc_check_set_details(c, column_json(w->name, NULL, NULL, NULL));
		}
		free(id);
	}
	for (size_t i = 0; i < have->ntables; i++) {
		const sc_client_table *h = &have->tables[i];
		if (h->local_only || sc_cs_find_table(want, h->name))
			continue;
		char *id = sc_xasprintf("client.schema.%s", h->name);
		sc_report_mark(r);
		sc_check *c = sc_report_add(r, id, SC_CHECK_WARN,
					    "%s: a synced table of the client schema that no rule sends: it stays empty (unless the app writes it)", h->name);
		sc_check_set_hint(c, "remove the table %s from the client schema, or make it localOnly", h->name);
		sc_check_set_details(c, column_json(h->name, NULL, NULL, NULL));
		free(id);
	}
}

int sc_client_schema_compare(const char *client_path, sc_pg *source, const char *rules_text, size_t rules_len,
			     const char *rules_name, const sc_cs_render_opts *lang, int timeout_s, sc_report *r,
			     sc_error *err)
{
	sc_client_schema have;
	if (sc_client_schema_read(client_path, timeout_s, &have, err) != 0)
		return -1;
	sc_rules_result rules;
	sc_report_mark(r);
	if (sc_rules_validate(rules_text, rules_len, rules_name, &rules, err) != 0) {
		sc_check *c = sc_report_add(r, "client.schema", SC_CHECK_FAIL, "%s", err->message);
		sc_check_set_hint(c, "fix the rules file; syncctl rules validate %s shows where", rules_name);
		sc_error_clear(err);
		sc_rules_result_free(&rules);
		sc_client_schema_free(&have);
		return 0;
	}
	size_t errors = sc_rules_count(&rules, SC_RULES_ERROR);
	if (errors) {
		const sc_rules_diag *d = NULL;
		for (size_t i = 0; i < rules.ndiags && !d; i++)
			if (rules.diags[i].severity == SC_RULES_ERROR)
				d = &rules.diags[i];
		sc_check *c = sc_report_add(r, "client.schema", SC_CHECK_FAIL,
					    "the rules are invalid (%zu error%s; %s:%d:%d: %s): what they send cannot be known", errors,
					    errors == 1 ? "" : "s", rules_name, d->line, d->column, d->message);
		sc_check_set_hint(c, "syncctl rules validate %s", rules_name);
		sc_rules_result_free(&rules);
		sc_client_schema_free(&have);
		return 0;
	}
	sc_cs_source src;
	if (sc_cs_source_load(source, &src, err) != 0) {
		sc_rules_result_free(&rules);
		sc_client_schema_free(&have);
		return -1;
	}
	sc_cs_schema want;
	if (sc_cs_compute(&rules, &src, &want, err) != 0) {
		sc_check *c = sc_report_add(r, "client.schema", SC_CHECK_FAIL, "%s", err->message);
		sc_check_set_hint(c, "syncctl schema client --rules %s shows the same", rules_name);
		sc_error_clear(err);
	} else {
		sc_client_schema_check(&have, &want, lang, r);
		sc_cs_schema_free(&want);
	}
	sc_cs_source_free(&src);
	sc_rules_result_free(&rules);
	sc_client_schema_free(&have);
	return 0;
}
