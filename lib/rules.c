#include "rules.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <pg_query.h>
#include <pg_query/pg_query.pb-c.h>

#include "buf.h"
#include "util.h"
#include "yamldoc.h"

#define MAX_DEPTH 64

/* Functions data queries may use (the service's SQLite-compatible set). */
static const char *const row_functions[] = {
	"upper", "lower", "substring", "hex", "length", "base64", "uuid_blob", "typeof", "ifnull",
	"iif", "instr", "json_extract", "json_array_length", "json_valid", "json_keys", "unixepoch",
	"datetime", "st_asgeojson", "st_astext", "st_x", "st_y", NULL,
};
static const char *const basic_operators[] = {
	"=", "!=", "<>", "<", ">", "<=", ">=", "+", "-", "*", "/", "||", "->", "->>", NULL,
};

typedef enum { Q_DATA, Q_PARAMETER, Q_STREAM } query_kind;

typedef struct rctx {
	const char *text;
	size_t len;
	size_t *line_starts;  /* byte offset of each line */
	size_t nlines;
	sc_yaml y;
	sc_rules_result *out;
	const char *bucket;
	const char *sql;       /* the query being checked */
	size_t *map;           /* SQL byte offset -> file byte offset */
	size_t maplen;
	size_t scalar_start;   /* file byte offset where the scalar's value starts */
	int *inserted;         /* positions of characters added by rewrite_in_columns */
	size_t ninserted;
	char *rewritten;
	bool is_stream_edition3;
	struct e3ctx *e3;      /* edition 3: the CTEs in scope */
	bool auto_subscribe;   /* the stream being read has auto_subscribe: true */
	/* Unknown keys, reported only when nothing else is fatal (the
	 * service's schema check runs last, and only then). */
	struct { size_t start, end; char *msg; const char *bucket; } *deferred;
	size_t ndeferred;
} rctx;

static bool in_list(const char *const *list, const char *s)
{
	for (size_t i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

/* ---- positions ---- */

static void index_lines(rctx *c)
{
	c->nlines = 1;
	for (size_t i = 0; i < c->len; i++)
		c->nlines += c->text[i] == '\n';
	c->line_starts = sc_xcalloc(c->nlines + 1, sizeof *c->line_starts);
	size_t l = 1;
	for (size_t i = 0; i < c->len; i++)
		if (c->text[i] == '\n')
			c->line_starts[l++] = i + 1;
	c->line_starts[l] = c->len + 1;
}

/* libyaml marks count characters; the file is UTF-8 bytes. */
static size_t mark_to_byte(const rctx *c, yaml_mark_t m)
{
	if (m.line >= c->nlines)
		return c->len;
	size_t p = c->line_starts[m.line];
	for (size_t col = 0; col < m.column && p < c->len && c->text[p] != '\n'; col++) {
		p++;
		while (p < c->len && ((unsigned char)c->text[p] & 0xC0) == 0x80)
			p++;
	}
	return p;
}

static void byte_to_linecol(const rctx *c, size_t off, int *line, int *col)
{
	if (off > c->len)
		off = c->len;
	size_t lo = 0, hi = c->nlines - 1;
	while (lo < hi) {
		size_t mid = (lo + hi + 1) / 2;
		if (c->line_starts[mid] <= off)
			lo = mid;
		else
			hi = mid - 1;
	}
	*line = (int)lo + 1;
	int cc = 1;
	for (size_t p = c->line_starts[lo]; p < off; p++)
		if (((unsigned char)c->text[p] & 0xC0) != 0x80)
			cc++;
	*col = cc;
}

static void add_diag_at(rctx *c, sc_rules_severity sev, size_t start, size_t end, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add_diag_at(rctx *c, sc_rules_severity sev, size_t start, size_t end, const char *fmt, ...)
{
	sc_rules_result *r = c->out;
	r->diags = sc_xrealloc(r->diags, (r->ndiags + 1) * sizeof *r->diags);
	sc_rules_diag *d = &r->diags[r->ndiags++];
	memset(d, 0, sizeof *d);
	d->severity = sev;
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	d->message = sc_xstrdup(msg);
	if (start != (size_t)-1) {
		byte_to_linecol(c, start, &d->line, &d->column);
		byte_to_linecol(c, end > start ? end : start + 1, &d->end_line, &d->end_column);
	}
	d->bucket = c->bucket ? sc_xstrdup(c->bucket) : NULL;
	d->query = c->sql ? sc_xstrdup(c->sql) : NULL;
}

static void node_range(const rctx *c, yaml_node_t *n, size_t *s, size_t *e)
{
	*s = mark_to_byte(c, n->start_mark);
	*e = mark_to_byte(c, n->end_mark);
}

#define NODE_DIAG(c, sev, node, ...)                                   \
	do {                                                          \
		size_t s_, e_;                                        \
		node_range((c), (node), &s_, &e_);                    \
		add_diag_at((c), (sev), s_, e_, __VA_ARGS__);         \
	} while (0)

/* Maps each byte of a scalar's value to the byte of the file it came from,
 * for plain, quoted, literal (|) and folded (>) scalars: the value is
 * walked along the source, skipping indentation and folding, and taking an
 * escape sequence or a doubled quote for the character it stands for. */
static void build_map(rctx *c, yaml_node_t *n)
{
	const char *v = (const char *)n->data.scalar.value;
	size_t vlen = n->data.scalar.length;
	size_t start, end;
	node_range(c, n, &start, &end);
	yaml_scalar_style_t st = n->data.scalar.style;
	size_t p = start;
	if (st == YAML_LITERAL_SCALAR_STYLE || st == YAML_FOLDED_SCALAR_STYLE) {
		while (p < end && c->text[p] != '\n')
			p++;
		if (p < end)
			p++;
	} else if (st == YAML_SINGLE_QUOTED_SCALAR_STYLE || st == YAML_DOUBLE_QUOTED_SCALAR_STYLE) {
		p++;
	}
	c->scalar_start = p;
	free(c->map);
	c->map = sc_xcalloc(vlen + 1, sizeof *c->map);
	c->maplen = vlen + 1;
	for (size_t i = 0; i < vlen; i++) {
		char ch = v[i];
		for (;;) {
			if (p >= end) {
				c->map[i] = end;
				break;
			}
			char s = c->text[p];
			if (st == YAML_DOUBLE_QUOTED_SCALAR_STYLE && s == '\\') {
				char nx = p + 1 < end ? c->text[p + 1] : 0;
				if (nx == '\n') {
					p += 2;
					continue;
				}
				c->map[i] = p;
				size_t w = nx == 'x' ? 4 : nx == 'u' ? 6 : nx == 'U' ? 10 : 2;
				p += w;
				/* An escape may stand for a multi-byte character. */
				while (i + 1 < vlen && ((unsigned char)v[i + 1] & 0xC0) == 0x80) {
					c->map[i + 1] = c->map[i];
					i++;
				}
				break;
			}
			if (st == YAML_SINGLE_QUOTED_SCALAR_STYLE && s == '\'' && p + 1 < end && c->text[p + 1] == '\'') {
				c->map[i] = p;
				p += 2;
				break;
			}
			if (s == ch) {
				c->map[i] = p++;
				break;
			}
			if ((ch == ' ' || ch == '\n') && (s == ' ' || s == '\n' || s == '\t' || s == '\r')) {
				c->map[i] = p++;
				break;
			}
			p++;
		}
	}
	c->map[vlen] = p < end ? p : end;
}

/* PowerSync's SQL grammar (pgsql-ast-parser) takes "x IN <expression>"
 * where the expression is a column, a function call (auth.parameter('p')),
 * a string literal or a ->> chain: the value is a JSON array. Postgres's
 * grammar wants IN (list). Using the real scanner, each IN not followed by
 * "(" gets its expression wrapped in parentheses, and the added characters
 * are remembered so locations map back. "IN (x)" is then the same one
 * expression, as it is in PowerSync's grammar (not a one-element list).
 *
 * It also takes "JOIN t" without ON (a cross join; sync streams filter in
 * WHERE): such a JOIN (or INNER JOIN) is turned into a comma, padded with
 * spaces so every offset stays where it was. */
static bool tok_is_name(const PgQuery__ScanToken *t)
{
	return t->token == PG_QUERY__TOKEN__IDENT ||
	       (t->keyword_kind != PG_QUERY__KEYWORD_KIND__NO_KEYWORD &&
		t->keyword_kind != PG_QUERY__KEYWORD_KIND__RESERVED_KEYWORD);
}

/* The end (exclusive token index) of the operand starting at token i. */
static size_t operand_end(PgQuery__ScanToken **tk, size_t n, const char *sql, size_t i)
{
	if (i >= n)
		return i;
	PgQuery__Token t = tk[i]->token;
	size_t k = i;
	if (t == PG_QUERY__TOKEN__SCONST || t == PG_QUERY__TOKEN__ICONST || t == PG_QUERY__TOKEN__FCONST ||
	    t == PG_QUERY__TOKEN__PARAM || t == PG_QUERY__TOKEN__USCONST) {
		k = i + 1;
	} else if (t == PG_QUERY__TOKEN__ARRAY && i + 1 < n && tk[i + 1]->token == PG_QUERY__TOKEN__ASCII_91) {
		/* IN ARRAY[a, b] (compiler/sqlite.ts desugarInValues). */
		int depth = 0;
		for (k = i + 1; k < n; k++) {
			if (tk[k]->token == PG_QUERY__TOKEN__ASCII_91)
				depth++;
			else if (tk[k]->token == PG_QUERY__TOKEN__ASCII_93 && --depth == 0) {
				k++;
				break;
			}
		}
	} else if (tok_is_name(tk[i])) {
		k = i + 1;
		while (k + 1 < n && tk[k]->token == PG_QUERY__TOKEN__ASCII_46 && tok_is_name(tk[k + 1]))
			k += 2;
		if (k < n && tk[k]->token == PG_QUERY__TOKEN__ASCII_40) {
			int depth = 0;
			for (; k < n; k++) {
				if (tk[k]->token == PG_QUERY__TOKEN__ASCII_40)
					depth++;
				else if (tk[k]->token == PG_QUERY__TOKEN__ASCII_41 && --depth == 0) {
					k++;
					break;
				}
			}
		}
	} else {
		return i;
	}
	/* Postfix: ::type, and the JSON operators with another operand. */
	for (;;) {
		if (k + 1 < n && tk[k]->token == PG_QUERY__TOKEN__TYPECAST && tok_is_name(tk[k + 1])) {
			k += 2;
			continue;
		}
		if (k + 1 < n && tk[k]->token == PG_QUERY__TOKEN__Op) {
			size_t len = (size_t)(tk[k]->end - tk[k]->start);
			const char *op = sql + tk[k]->start;
			if ((len == 2 && strncmp(op, "->", 2) == 0) || (len == 3 && strncmp(op, "->>", 3) == 0)) {
				size_t e = operand_end(tk, n, sql, k + 1);
				if (e > k + 1) {
					k = e;
					continue;
				}
			}
		}
		break;
	}
	return k;
}

static void rewrite_sql(rctx *c)
{
	free(c->rewritten);
	free(c->inserted);
	c->rewritten = NULL;
	c->inserted = NULL;
	c->ninserted = 0;
	PgQueryScanResult sr = pg_query_scan(c->sql);
	if (sr.error) {
		pg_query_free_scan_result(sr);
		return;
	}
	PgQuery__ScanResult *res = pg_query__scan_result__unpack(NULL, sr.pbuf.len, (const uint8_t *)sr.pbuf.data);
	size_t n = res ? res->n_tokens : 0;
	PgQuery__ScanToken **tk = res ? res->tokens : NULL;
	char *base = sc_xstrdup(c->sql);
	bool changed = false;
	/* JOIN without ON or USING: a comma, in place. */
	for (size_t i = 0; i < n; i++) {
		if (tk[i]->token != PG_QUERY__TOKEN__JOIN)
			continue;
		size_t first = i;
		if (i > 0 && tk[i - 1]->token == PG_QUERY__TOKEN__INNER_P)
			first = i - 1;
		else if (i > 0 && (tk[i - 1]->token == PG_QUERY__TOKEN__CROSS || tk[i - 1]->token == PG_QUERY__TOKEN__NATURAL ||
				   tk[i - 1]->token == PG_QUERY__TOKEN__LEFT || tk[i - 1]->token == PG_QUERY__TOKEN__RIGHT ||
				   tk[i - 1]->token == PG_QUERY__TOKEN__FULL || tk[i - 1]->token == PG_QUERY__TOKEN__OUTER_P))
			continue;
		int depth = 0;
		bool has_on = false;
		for (size_t k = i + 1; k < n; k++) {
			PgQuery__Token t = tk[k]->token;
			if (t == PG_QUERY__TOKEN__ASCII_40) {
				depth++;
				continue;
			}
			if (t == PG_QUERY__TOKEN__ASCII_41) {
				if (depth-- == 0)
					break;
				continue;
			}
			if (depth)
				continue;
			if (t == PG_QUERY__TOKEN__ON || t == PG_QUERY__TOKEN__USING) {
				has_on = true;
				break;
			}
			if (t == PG_QUERY__TOKEN__JOIN || t == PG_QUERY__TOKEN__WHERE || t == PG_QUERY__TOKEN__ASCII_44 ||
			    t == PG_QUERY__TOKEN__GROUP_P || t == PG_QUERY__TOKEN__ORDER || t == PG_QUERY__TOKEN__LIMIT ||
			    t == PG_QUERY__TOKEN__INNER_P || t == PG_QUERY__TOKEN__LEFT || t == PG_QUERY__TOKEN__CROSS ||
			    t == PG_QUERY__TOKEN__UNION || t == PG_QUERY__TOKEN__ASCII_59)
				break;
		}
		if (has_on)
			continue;
		for (int p = tk[first]->start; p < tk[i]->end; p++)
			base[p] = p == tk[first]->start ? ',' : ' ';
		changed = true;
	}
	/* IN <expression> -> IN (<expression>). */
	sc_buf b = SC_BUF_INIT;
	size_t copied = 0;
	for (size_t i = 0; i + 1 < n; i++) {
		if (tk[i]->token != PG_QUERY__TOKEN__IN_P || tk[i + 1]->token == PG_QUERY__TOKEN__ASCII_40)
			continue;
		size_t e = operand_end(tk, n, c->sql, i + 1);
		if (e <= i + 1)
			continue;
		size_t start = (size_t)tk[i + 1]->start, end = (size_t)tk[e - 1]->end;
		sc_buf_append(&b, base + copied, start - copied);
		c->inserted = sc_xrealloc(c->inserted, (c->ninserted + 2) * sizeof *c->inserted);
		c->inserted[c->ninserted++] = (int)b.len;
		sc_buf_putc(&b, '(');
		sc_buf_append(&b, base + start, end - start);
		c->inserted[c->ninserted++] = (int)b.len;
		sc_buf_putc(&b, ')');
		copied = end;
		i = e - 1;
	}
	if (c->ninserted || changed) {
		sc_buf_puts(&b, base + copied);
		c->rewritten = sc_buf_take(&b);
		c->sql = c->rewritten;
	}
	sc_buf_free(&b);
	free(base);
	if (res)
		pg_query__scan_result__free_unpacked(res, NULL);
	pg_query_free_scan_result(sr);
}

static size_t sql_to_file(const rctx *c, int loc)
{
	/* Back from the rewritten text to the scalar's own. */
	int shift = 0;
	for (size_t i = 0; i < c->ninserted; i++)
		if (c->inserted[i] < loc)
			shift++;
	loc -= shift;
	if (loc < 0 || !c->map)
		return c->scalar_start;
	if ((size_t)loc >= c->maplen)
		return c->map[c->maplen - 1];
	return c->map[loc];
}

/* The length of the SQL token at a location (an identifier, a keyword, a
 * quoted name): for the caret's tildes. */
static size_t token_len(const char *sql, int loc)
{
	if (loc < 0)
		return 1;
	const char *p = sql + loc;
	if (*p == '"') {
		const char *q = strchr(p + 1, '"');
		return q ? (size_t)(q - p + 1) : 1;
	}
	size_t n = 0;
	while (p[n] && (isalnum((unsigned char)p[n]) || p[n] == '_' || p[n] == '.' || (unsigned char)p[n] >= 0x80))
		n++;
	return n ? n : 1;
}

static void sql_diag(rctx *c, sc_rules_severity sev, int loc, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void sql_diag(rctx *c, sc_rules_severity sev, int loc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	size_t s = sql_to_file(c, loc < 0 ? 0 : loc);
	size_t e = sql_to_file(c, (loc < 0 ? 0 : loc) + (int)token_len(c->sql, loc < 0 ? 0 : loc));
	add_diag_at(c, sev, s, e, "%s", msg);
}

/* ---- the parse tree (libpg_query's JSON) ---- */

static cJSON *node_of(cJSON *wrapper, const char **type)
{
	/* {"ColumnRef": {...}}: the one member's name is the node type. */
	if (!cJSON_IsObject(wrapper) || !wrapper->child) {
		*type = "";
		return NULL;
	}
	*type = wrapper->child->string;
	return wrapper->child;
}

static int loc_of(cJSON *n)
{
	cJSON *l = cJSON_GetObjectItemCaseSensitive(n, "location");
	return cJSON_IsNumber(l) ? l->valueint : -1;
}

static const char *str_node(cJSON *w)
{
	const char *t;
	cJSON *n = node_of(w, &t);
	if (strcmp(t, "String") == 0)
		return cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "sval"));
	return NULL;
}

/* ColumnRef fields as strings; "*" for A_Star. */
static int colref_fields(cJSON *n, const char *f[3])
{
	cJSON *fields = cJSON_GetObjectItemCaseSensitive(n, "fields");
	int k = 0;
	cJSON *x;
	cJSON_ArrayForEach(x, fields) {
		const char *t;
		node_of(x, &t);
		const char *s = strcmp(t, "A_Star") == 0 ? "*" : str_node(x);
		if (k < 3)
			f[k] = s ? s : "?";
		k++;
	}
	return k;
}

typedef struct qstate {
	query_kind kind;
	const char *table_alias;   /* name columns may be qualified with */
	const char *table;         /* for refs */
	sc_rules_table_ref *ref;
	char **bucket_params;      /* data query: the bucket's parameters */
	size_t nbucket_params;
	char **used;               /* bucket.x seen in the WHERE */
	size_t nused;
	bool dangerous;            /* uses client-set parameters */
	bool in_match;             /* inside an allowed = / IN with a bucket parameter */
} qstate;

static bool is_bucket_ref(cJSON *w, const char **param)
{
	const char *t;
	cJSON *n = node_of(w, &t);
	if (strcmp(t, "ColumnRef") != 0)
		return false;
	const char *f[3] = { 0 };
	if (colref_fields(n, f) == 2 && strcmp(f[0], "bucket") == 0) {
		*param = f[1];
		return true;
	}
	return false;
}

static void record_column(qstate *q, const char *col, int loc, rctx *c)
{
	sc_rules_table_ref *r = q->ref;
	if (!r || strcmp(col, "*") == 0)
		return;
	for (size_t i = 0; i < r->ncolumns; i++)
		if (strcmp(r->columns[i], col) == 0)
			return;
	r->columns = sc_xrealloc(r->columns, (r->ncolumns + 1) * sizeof *r->columns);
	r->col_offsets = sc_xrealloc(r->col_offsets, (r->ncolumns + 1) * sizeof *r->col_offsets);
	r->columns[r->ncolumns] = sc_xstrdup(col);
	r->col_offsets[r->ncolumns] = (int)sql_to_file(c, loc);
	r->ncolumns++;
}

/* Unquoted identifiers are lower-cased: warn where the source had capitals
 * and the name was not quoted, as the service does. */
static void check_case(rctx *c, int loc, const char *name)
{
	if (loc < 0 || (size_t)loc >= strlen(c->sql))
		return;
	const char *p = c->sql + loc;
	if (*p == '"')
		return;
	size_t n = strlen(name);
	if (strncasecmp(p, name, n) == 0 && strncmp(p, name, n) != 0)
		sql_diag(c, SC_RULES_WARNING, loc, "Unquoted identifiers are converted to lower-case. Use \"%.*s\" instead.",
			 (int)n, p);
}

static void check_expr(rctx *c, qstate *q, cJSON *w);

static void check_list(rctx *c, qstate *q, cJSON *arr)
{
	cJSON *x;
	cJSON_ArrayForEach(x, arr)
		check_expr(c, q, x);
}

static void check_funccall(rctx *c, qstate *q, cJSON *n)
{
	cJSON *names = cJSON_GetObjectItemCaseSensitive(n, "funcname");
	int nn = cJSON_GetArraySize(names);
	const char *schema = nn >= 2 ? str_node(cJSON_GetArrayItem(names, nn - 2)) : NULL;
	const char *fn = str_node(cJSON_GetArrayItem(names, nn - 1));
	int loc = loc_of(n);
	if (!fn)
		return;
	if (schema && strcmp(schema, "pg_catalog") == 0)
		schema = NULL;
	cJSON *args = cJSON_GetObjectItemCaseSensitive(n, "args");
	if (schema) {
		bool request_ns = strcmp(schema, "request") == 0;
		bool stream_ns = strcmp(schema, "auth") == 0 || strcmp(schema, "subscription") == 0 ||
				 strcmp(schema, "connection") == 0;
		if (q->kind == Q_DATA) {
			if (request_ns)
				sql_diag(c, SC_RULES_ERROR, loc, "%s schema is not available in data queries", schema);
			else
				sql_diag(c, SC_RULES_ERROR, loc, "Function '%s.%s' is not defined", schema, fn);
			return;
		}
		if (q->kind == Q_PARAMETER) {
			if (!request_ns || (strcmp(fn, "user_id") != 0 && strcmp(fn, "jwt") != 0 && strcmp(fn, "parameters") != 0)) {
				sql_diag(c, SC_RULES_ERROR, loc, "Function '%s.%s' is not defined", schema, fn);
				return;
			}
			if (cJSON_GetArraySize(args) != 0) {
				sql_diag(c, SC_RULES_ERROR, loc, "Function '%s.%s' takes 0 arguments.", schema, fn);
				return;
			}
			if (strcmp(fn, "parameters") == 0)
				q->dangerous = true;
			return;
		}
		/* Streams: auth.*, subscription.*, connection.* */
		if (!stream_ns) {
			sql_diag(c, SC_RULES_ERROR, loc, "Function '%s.%s' is not defined", schema, fn);
			return;
		}
		bool known = strcmp(fn, "parameters") == 0 || strcmp(fn, "parameter") == 0 ||
			     (strcmp(schema, "auth") == 0 && strcmp(fn, "user_id") == 0);
		if (!known)
			sql_diag(c, SC_RULES_ERROR, loc, "Function '%s.%s' is not defined", schema, fn);
		if (strcmp(schema, "subscription") == 0)
			q->dangerous = true;
		check_list(c, q, args);
		return;
	}
	if (!in_list(row_functions, fn)) {
		sql_diag(c, SC_RULES_ERROR, loc, "Function '%s' is not defined", fn);
		return;
	}
	check_list(c, q, args);
}

static const char *op_name(cJSON *n)
{
	cJSON *name = cJSON_GetObjectItemCaseSensitive(n, "name");
	return str_node(cJSON_GetArrayItem(name, cJSON_GetArraySize(name) - 1));
}

static void use_bucket_param(rctx *c, qstate *q, const char *p, int loc)
{
	(void)c;
	(void)loc;
	q->used = sc_xrealloc(q->used, (q->nused + 1) * sizeof *q->used);
	q->used[q->nused++] = sc_xstrdup(p);
}

static void check_expr_inner(rctx *c, qstate *q, cJSON *w, bool here);

/* in_match is true only at the top of the WHERE clause and under AND/OR:
 * the places a parameter match (col = bucket.x) may stand. */
static void check_expr(rctx *c, qstate *q, cJSON *w)
{
	bool here = q->in_match;
	q->in_match = false;
	check_expr_inner(c, q, w, here);
	q->in_match = here;
}

/* A column reference: bucket.x, token_parameters.x, the table's own columns. */
static void check_column_ref(rctx *c, qstate *q, cJSON *n, int loc)
{
	/* Compiled streams resolve columns against the schema and may
	 * join: no table context to check names against here. */
	if (q->kind == Q_STREAM && !q->table_alias)
		return;
	const char *f[3] = { 0 };
	int k = colref_fields(n, f);
	if (k >= 3) {
		sql_diag(c, SC_RULES_ERROR, loc, "Schema is not supported in column references");
		return;
	}
	if (k == 2) {
		if (strcmp(f[0], "bucket") == 0 && q->kind == Q_DATA) {
			sql_diag(c, SC_RULES_ERROR, loc,
				 "bucket.%s can only be used as column = bucket.%s or bucket.%s IN column", f[1], f[1], f[1]);
			return;
		}
		if (strcmp(f[0], "token_parameters") == 0 && q->kind == Q_PARAMETER)
			return;
		if (strcmp(f[0], "user_parameters") == 0 && q->kind == Q_PARAMETER) {
			q->dangerous = true;
			return;
		}
		if (q->table_alias && strcmp(f[0], q->table_alias) == 0) {
			if (strcmp(f[1], "*") == 0) {
				sql_diag(c, SC_RULES_ERROR, loc, "* not supported here");
				return;
			}
			record_column(q, f[1], loc, c);
			return;
		}
		sql_diag(c, SC_RULES_ERROR, loc, "Undefined reference: %s.%s", f[0], f[1]);
		return;
	}
	if (k == 1) {
		if (strcmp(f[0], "*") == 0) {
			sql_diag(c, SC_RULES_ERROR, loc, "* not supported here");
			return;
		}
		if (!q->table_alias) {
			sql_diag(c, SC_RULES_ERROR, loc, "Undefined reference: %s", f[0]);
			return;
		}
		check_case(c, loc, f[0]);
		record_column(q, f[0], loc, c);
	}
}

/* x IN y: only "x IN column" (rewritten to a one-element list by
 * rewrite_in_columns); a literal list is not supported. */
static void check_in(rctx *c, qstate *q, cJSON *l, cJSON *r, bool lb, const char *lp, int loc, bool here)
{
	cJSON *lst = cJSON_GetObjectItemCaseSensitive(r, "List");
	if (lst)
		r = cJSON_GetObjectItemCaseSensitive(lst, "items");
	bool rewritten = false;
	if (cJSON_IsArray(r) && cJSON_GetArraySize(r) == 1) {
		const char *et;
		int eloc = loc_of(node_of(cJSON_GetArrayItem(r, 0), &et));
		for (size_t i = 0; i < c->ninserted; i++)
			rewritten = rewritten || c->inserted[i] + 1 == eloc;
	}
	if (!rewritten) {
		const char *et;
		int eloc = cJSON_IsArray(r) ? loc_of(node_of(cJSON_GetArrayItem(r, 0), &et)) : loc;
		sql_diag(c, SC_RULES_ERROR, eloc > 0 ? eloc - 1 : loc, "list not supported here");
		return;
	}
	if (lb && q->kind == Q_DATA) {
		if (!here) {
			sql_diag(c, SC_RULES_ERROR, loc, "Parameter match clauses cannot be used here");
			return;
		}
		use_bucket_param(c, q, lp, loc);
		if (cJSON_IsArray(r))
			check_list(c, q, r);
		else
			check_expr(c, q, r);
		return;
	}
	check_expr(c, q, l);
	if (cJSON_IsArray(r))
		check_list(c, q, r);
	else
		check_expr(c, q, r);
}

/* An operator expression: a parameter match (column = bucket.x), IN, the
 * operators the service supports. */
static void check_a_expr(rctx *c, qstate *q, cJSON *n, int loc, bool here)
{
	const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "kind"));
	const char *op = op_name(n);
	cJSON *l = cJSON_GetObjectItemCaseSensitive(n, "lexpr"), *r = cJSON_GetObjectItemCaseSensitive(n, "rexpr");
	const char *lp, *rp;
	bool lb = is_bucket_ref(l, &lp), rb = is_bucket_ref(r, &rp);
	if (kind && strcmp(kind, "AEXPR_OP") == 0 && op && strcmp(op, "=") == 0 && (lb || rb) && q->kind == Q_DATA) {
		if (lb && rb) {
			sql_diag(c, SC_RULES_ERROR, loc, "Cannot have bucket parameters on both sides of = operator");
			return;
		}
		if (!here) {
			sql_diag(c, SC_RULES_ERROR, loc, "Parameter match clauses cannot be used here");
			return;
		}
		use_bucket_param(c, q, lb ? lp : rp, loc);
		check_expr(c, q, lb ? r : l);
		return;
	}
	if (kind && strcmp(kind, "AEXPR_IN") == 0) {
		check_in(c, q, l, r, lb, lp, loc, here);
		return;
	}
	if (kind && strcmp(kind, "AEXPR_OP") == 0) {
		if (op && !in_list(basic_operators, op)) {
			sql_diag(c, SC_RULES_ERROR, loc, "Operator not supported: %s", op);
			return;
		}
		check_expr(c, q, l);
		check_expr(c, q, r);
		return;
	}
	if (kind && (strcmp(kind, "AEXPR_LIKE") == 0 || strcmp(kind, "AEXPR_ILIKE") == 0 ||
		     strcmp(kind, "AEXPR_BETWEEN") == 0 || strcmp(kind, "AEXPR_SIMILAR") == 0)) {
		sql_diag(c, SC_RULES_ERROR, loc, "Operator not supported: %s", op ? op : kind);
		return;
	}
	check_expr(c, q, l);
	check_expr(c, q, r);
}

static void check_expr_inner(rctx *c, qstate *q, cJSON *w, bool here)
{
	const char *t;
	cJSON *n = node_of(w, &t);
	if (!n)
		return;
	int loc = loc_of(n);
	if (strcmp(t, "ColumnRef") == 0) {
		check_column_ref(c, q, n, loc);
		return;
	}
	if (strcmp(t, "A_Const") == 0 || strcmp(t, "ParamRef") == 0)
		return;
	if (strcmp(t, "FuncCall") == 0) {
		check_funccall(c, q, n);
		return;
	}
	if (strcmp(t, "TypeCast") == 0) {
		check_expr(c, q, cJSON_GetObjectItemCaseSensitive(n, "arg"));
		return;
	}
	if (strcmp(t, "NullTest") == 0) {
		check_expr(c, q, cJSON_GetObjectItemCaseSensitive(n, "arg"));
		return;
	}
	if (strcmp(t, "BoolExpr") == 0) {
		const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "boolop"));
		bool keep = here && op && strcmp(op, "NOT_EXPR") != 0;
		cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(n, "args")) {
			q->in_match = keep;
			check_expr(c, q, x);
		}
		q->in_match = false;
		return;
	}
	if (strcmp(t, "A_Expr") == 0) {
		check_a_expr(c, q, n, loc, here);
		return;
	}
	if (strcmp(t, "SubLink") == 0) {
		if (q->kind == Q_STREAM)
			return; /* streams take subqueries in their filters */
		sql_diag(c, SC_RULES_ERROR, loc, "Subqueries are not supported yet");
		return;
	}
	if (strcmp(t, "CoalesceExpr") == 0) {
		sql_diag(c, SC_RULES_ERROR, loc, "Function 'coalesce' is not defined");
		return;
	}
	if (strcmp(t, "CaseExpr") == 0) {
		sql_diag(c, SC_RULES_ERROR, loc, "CASE not supported here");
		return;
	}
	if (strcmp(t, "A_Indirection") == 0 || strcmp(t, "A_ArrayExpr") == 0 || strcmp(t, "RowExpr") == 0) {
		sql_diag(c, SC_RULES_ERROR, loc, "%s not supported here", t);
		return;
	}
}

/* ---- bucket definitions: the reference's clause compiler ----
 *
 * The service (legacy/sql_filters.ts, sql_support.ts) compiles every
 * expression of a bucket definition's query into one of: a static value, a
 * row value (depends on the table's row), a parameter value (depends on
 * bucket.* in data queries; on token_parameters.*, user_parameters.* and
 * request.*() in parameter queries), a parameter match (a filter that
 * binds parameters: col = bucket.x, bucket.x IN col), or an error. AND, OR,
 * =, IN and function calls combine them by its rules, so "WHERE
 * bucket.is_admin" (a parameter used as a boolean) binds is_admin, and the
 * sides of an OR must bind the same parameters. */
typedef enum { CL_ERROR, CL_STATIC, CL_ROW, CL_PARAM, CL_MATCH } cl_kind;

typedef struct clause {
	cl_kind kind;
	char *key;          /* CL_PARAM: what it depends on, e.g. "bucket.x" */
	char **keys;        /* CL_MATCH: the input parameters, unique */
	bool *expands;      /* CL_MATCH: per key, "col IN token_parameters.arr" */
	size_t nkeys;
	bool unbounded;     /* CL_MATCH: "bucket.x IN col" (one per query) */
	bool error;         /* CL_MATCH: made from an error */
} clause;

typedef struct lctx {
	bool data;                /* a data query: bucket.* parameters */
	const char *table;        /* the table's name or alias; NULL without FROM */
	bool dangerous;           /* client-set parameters used */
	const char *call_table;   /* json_each(...) AS name: its columns are parameters */
	qstate *q;
} lctx;

static void cl_free(clause *x)
{
	free(x->key);
	for (size_t i = 0; i < x->nkeys; i++)
		free(x->keys[i]);
	free(x->keys);
	free(x->expands);
	memset(x, 0, sizeof *x);
}

static clause cl_make(cl_kind k)
{
	clause x;
	memset(&x, 0, sizeof x);
	x.kind = k;
	return x;
}

static void cl_addkey(clause *x, const char *key, bool expands)
{
	for (size_t i = 0; i < x->nkeys; i++)
		if (strcmp(x->keys[i], key) == 0)
			return;
	x->keys = sc_xrealloc(x->keys, (x->nkeys + 1) * sizeof *x->keys);
	x->expands = sc_xrealloc(x->expands, (x->nkeys + 1) * sizeof *x->expands);
	x->keys[x->nkeys] = sc_xstrdup(key);
	x->expands[x->nkeys] = expands;
	x->nkeys++;
}

static bool cl_isrow(const clause *x)
{
	return x->kind == CL_ROW || x->kind == CL_STATIC;
}

/* Any clause as a filter (toBooleanParameterSetClause). Consumes x. */
static clause cl_to_match(clause x)
{
	if (x.kind == CL_MATCH)
		return x;
	clause m = cl_make(CL_MATCH);
	if (x.kind == CL_PARAM)
		cl_addkey(&m, x.key, false);
	m.error = x.kind == CL_ERROR;
	cl_free(&x);
	return m;
}

static clause cl_error(rctx *c, int loc, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static clause cl_error(rctx *c, int loc, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	sql_diag(c, SC_RULES_ERROR, loc < 0 ? 0 : loc, "%s", msg);
	return cl_make(CL_ERROR);
}

static int node_loc(cJSON *w)
{
	const char *t;
	cJSON *n = node_of(w, &t);
	if (!n)
		return -1;
	if (strcmp(t, "A_Expr") == 0 || strcmp(t, "BoolExpr") == 0) {
		/* The service points at an operator's left operand. */
		cJSON *l = cJSON_GetObjectItemCaseSensitive(n, strcmp(t, "A_Expr") == 0 ? "lexpr" : "args");
		if (cJSON_IsArray(l))
			l = cJSON_GetArrayItem(l, 0);
		int ll = l ? node_loc(l) : -1;
		if (ll >= 0)
			return ll;
	}
	return loc_of(n);
}

/* getComposeType and composeFunction: a function or operator over args.
 * Consumes args. in_op: the IN operator's own message. */
static clause cl_compose(rctx *c, lctx *lc, clause *args, cJSON **exprs, size_t n, bool in_op, const char *name)
{
	cl_kind type = CL_STATIC;
	clause out = cl_make(CL_STATIC);
	for (size_t i = 0; i < n && out.kind != CL_ERROR; i++) {
		clause *a = &args[i];
		if (a->kind == CL_ERROR) {
			out = cl_make(CL_ERROR);
		} else if (a->kind == CL_STATIC) {
		} else if (a->kind == CL_PARAM) {
			if (lc->data)
				out = cl_error(c, node_loc(exprs[i]), in_op ? "Cannot use bucket parameters on the right side of IN operators"
									  : "Cannot use bucket parameters in expressions");
			else if (type == CL_STATIC || type == CL_PARAM)
				type = CL_PARAM;
			else
				out = cl_error(c, node_loc(exprs[i]), "Cannot use table values and parameters in the same clauses");
		} else if (a->kind == CL_ROW) {
			if (type == CL_STATIC || type == CL_ROW)
				type = CL_ROW;
			else
				out = cl_error(c, node_loc(exprs[i]), "Cannot use table values and parameters in the same clauses");
		} else {
			out = cl_error(c, node_loc(exprs[i]), "Parameter match clauses cannot be used here");
		}
	}
	if (out.kind != CL_ERROR) {
		out.kind = type;
		if (type == CL_PARAM) {
			sc_buf b = SC_BUF_INIT;
			sc_buf_printf(&b, "%s(", name);
			for (size_t i = 0; i < n; i++)
				sc_buf_printf(&b, "%s%s", i ? "," : "", args[i].kind == CL_PARAM ? args[i].key : "_");
			sc_buf_putc(&b, ')');
			out.key = sc_buf_take(&b);
		}
	}
	for (size_t i = 0; i < n; i++)
		cl_free(&args[i]);
	return out;
}

static clause cl_compile(rctx *c, lctx *lc, cJSON *w);

static clause cl_param(const char *key)
{
	clause x = cl_make(CL_PARAM);
	x.key = sc_xstrdup(key);
	return x;
}

static clause cl_and_or(rctx *c, clause a, clause b, bool is_and, int loc)
{
	if (a.kind == CL_ERROR || b.kind == CL_ERROR) {
		cl_free(&a);
		cl_free(&b);
		return cl_make(CL_ERROR);
	}
	if (cl_isrow(&a) && cl_isrow(&b)) {
		cl_free(&a);
		cl_free(&b);
		return cl_make(CL_ROW);
	}
	if (a.kind == CL_PARAM && b.kind == CL_PARAM) {
		clause x = cl_make(CL_PARAM);
		x.key = sc_xasprintf("%s(%s,%s)", is_and ? "and" : "or", a.key, b.key);
		cl_free(&a);
		cl_free(&b);
		return x;
	}
	a = cl_to_match(a);
	b = cl_to_match(b);
	clause m = cl_make(CL_MATCH);
	m.error = a.error || b.error;
	if (is_and) {
		if (a.unbounded && b.unbounded) {
			cl_free(&a);
			cl_free(&b);
			cl_free(&m);
			return cl_error(c, loc, "Cannot have multiple IN expressions on bucket parameters");
		}
		m.unbounded = a.unbounded || b.unbounded;
	} else {
		bool same = a.nkeys == b.nkeys;
		for (size_t i = 0; same && i < a.nkeys; i++) {
			bool found = false;
			for (size_t k = 0; k < b.nkeys; k++)
				found = found || strcmp(a.keys[i], b.keys[k]) == 0;
			same = found;
		}
		if (!same) {
			sc_buf l = SC_BUF_INIT, r = SC_BUF_INIT;
			for (size_t i = 0; i < a.nkeys; i++)
				sc_buf_printf(&l, "%s{\"key\":\"%s\",\"expands\":%s}", i ? "," : "", a.keys[i], a.expands[i] ? "true" : "false");
			for (size_t i = 0; i < b.nkeys; i++)
				sc_buf_printf(&r, "%s{\"key\":\"%s\",\"expands\":%s}", i ? "," : "", b.keys[i], b.expands[i] ? "true" : "false");
			clause e = cl_error(c, loc, "Left and right sides of OR must use the same parameters, or split into separate queries. [%s] != [%s]",
					    sc_buf_str(&l), sc_buf_str(&r));
			sc_buf_free(&l);
			sc_buf_free(&r);
			cl_free(&a);
			cl_free(&b);
			cl_free(&m);
			return e;
		}
		m.unbounded = a.unbounded || b.unbounded;
	}
	for (size_t i = 0; i < a.nkeys; i++)
		cl_addkey(&m, a.keys[i], a.expands[i]);
	for (size_t i = 0; i < b.nkeys; i++)
		cl_addkey(&m, b.keys[i], b.expands[i]);
	cl_free(&a);
	cl_free(&b);
	return m;
}

static clause cl_funccall(rctx *c, lctx *lc, cJSON *n)
{
	cJSON *names = cJSON_GetObjectItemCaseSensitive(n, "funcname");
	int nn = cJSON_GetArraySize(names);
	const char *schema = nn >= 2 ? str_node(cJSON_GetArrayItem(names, nn - 2)) : NULL;
	const char *fn = str_node(cJSON_GetArrayItem(names, nn - 1));
	int loc = loc_of(n);
	if (!fn)
		return cl_error(c, loc, "Function is not defined");
	if (schema && strcmp(schema, "pg_catalog") == 0)
		schema = NULL;
	cJSON *args = cJSON_GetObjectItemCaseSensitive(n, "args");
	size_t na = (size_t)cJSON_GetArraySize(args);
	if (schema) {
		if (strcmp(schema, "request") != 0)
			return cl_error(c, loc, "Function '%s.%s' is not defined", schema, fn);
		if (lc->data)
			return cl_error(c, loc, "%s schema is not available in data queries", schema);
		if (strcmp(fn, "user_id") != 0 && strcmp(fn, "jwt") != 0 && strcmp(fn, "parameters") != 0)
			return cl_error(c, loc, "Function '%s.%s' is not defined", schema, fn);
		if (na != 0)
			return cl_error(c, loc, "Function '%s.%s' takes 0 arguments.", schema, fn);
		if (strcmp(fn, "parameters") == 0)
			lc->dangerous = true;
		char *key = sc_xasprintf("request.%s()", fn);
		clause x = cl_param(key);
		free(key);
		return x;
	}
	if (!in_list(row_functions, fn) && strcmp(fn, "json_each") != 0)
		return cl_error(c, loc, "Function '%s' is not defined", fn);
	clause *a = sc_xcalloc(na ? na : 1, sizeof *a);
	cJSON **e = sc_xcalloc(na ? na : 1, sizeof *e);
	size_t i = 0;
	cJSON *x;
	cJSON_ArrayForEach(x, args) {
		e[i] = x;
		a[i++] = cl_compile(c, lc, x);
	}
	clause out = cl_compose(c, lc, a, e, na, false, fn);
	free(a);
	free(e);
	return out;
}

static clause cl_colref(rctx *c, lctx *lc, cJSON *n)
{
	int loc = loc_of(n);
	const char *f[3] = { 0 };
	int k = colref_fields(n, f);
	if (strcmp(f[k > 3 ? 2 : k - 1], "*") == 0)
		return cl_error(c, loc, "* not supported here");
	if (k >= 3)
		return cl_error(c, loc, "Schema is not supported in column references");
	if (k == 2) {
		if (lc->data && strcmp(f[0], "bucket") == 0) {
			char *key = sc_xasprintf("bucket.%s", f[1]);
			clause x = cl_param(key);
			free(key);
			return x;
		}
		if (!lc->data && (strcmp(f[0], "token_parameters") == 0 || strcmp(f[0], "user_parameters") == 0)) {
			if (f[0][0] == 'u')
				lc->dangerous = true;
			char *key = sc_xasprintf("%s.%s", f[0], f[1]);
			clause x = cl_param(key);
			free(key);
			return x;
		}
		if (lc->call_table && strcmp(f[0], lc->call_table) == 0) {
			char *key = sc_xasprintf("%s.%s", f[0], f[1]);
			clause x = cl_param(key);
			free(key);
			return x;
		}
		if (lc->table && strcmp(f[0], lc->table) == 0) {
			record_column(lc->q, f[1], loc, c);
			return cl_make(CL_ROW);
		}
		return cl_error(c, loc, "Undefined reference: %s.%s", f[0], f[1]);
	}
	if (lc->call_table && !lc->table) {
		char *key = sc_xasprintf("%s.%s", lc->call_table, f[0]);
		clause x = cl_param(key);
		free(key);
		return x;
	}
	if (!lc->table)
		return cl_error(c, loc, "Undefined reference: %s", f[0]);
	check_case(c, loc, f[0]);
	record_column(lc->q, f[0], loc, c);
	return cl_make(CL_ROW);
}

static clause cl_in(rctx *c, lctx *lc, cJSON *l, cJSON *r)
{
	clause a = cl_compile(c, lc, l), b = cl_compile(c, lc, r);
	if (a.kind == CL_ERROR || b.kind == CL_ERROR) {
		cl_free(&a);
		cl_free(&b);
		return cl_make(CL_ERROR);
	}
	/* The standard composition first (getComposeType), silently. */
	const char *err = NULL;
	cJSON *errexpr = NULL;
	bool any_row = false, any_param = false;
	clause *args[2] = { &a, &b };
	cJSON *exprs[2] = { l, r };
	for (int i = 0; i < 2 && !err; i++) {
		if (args[i]->kind == CL_PARAM) {
			if (lc->data)
				err = "Cannot use bucket parameters on the right side of IN operators";
			else if (any_row)
				err = "Cannot use table values and parameters in the same clauses";
			any_param = true;
		} else if (args[i]->kind == CL_ROW) {
			if (any_param)
				err = "Cannot use table values and parameters in the same clauses";
			any_row = true;
		} else if (args[i]->kind == CL_MATCH) {
			err = "Parameter match clauses cannot be used here";
		}
		if (err)
			errexpr = exprs[i];
	}
	if (!err) {
		clause pair[2] = { a, b };
		return cl_compose(c, lc, pair, exprs, 2, true, "in");
	}
	if (a.kind == CL_PARAM && cl_isrow(&b)) {
		/* bucket.x IN row.array */
		clause m = cl_make(CL_MATCH);
		cl_addkey(&m, a.key, false);
		m.unbounded = true;
		cl_free(&a);
		cl_free(&b);
		return m;
	}
	if (!lc->data && cl_isrow(&a) && b.kind == CL_PARAM) {
		/* row.value IN token_parameters.array */
		clause m = cl_make(CL_MATCH);
		char *key = sc_xasprintf("%s[*]", b.key);
		cl_addkey(&m, key, true);
		free(key);
		cl_free(&a);
		cl_free(&b);
		return m;
	}
	cl_free(&a);
	cl_free(&b);
	return cl_error(c, node_loc(errexpr), "%s", err);
}

/* The right side of IN: one expression (a one-element list is one in
 * PowerSync's grammar); NULL for a list, which the service does not take. */
static cJSON *in_operand(rctx *c, cJSON *r, int loc)
{
	cJSON *lst = cJSON_GetObjectItemCaseSensitive(r, "List");
	cJSON *items = lst ? cJSON_GetObjectItemCaseSensitive(lst, "items") : r;
	if (cJSON_IsArray(items)) {
		if (cJSON_GetArraySize(items) == 1)
			return cJSON_GetArrayItem(items, 0);
		/* The service points at the list's first item. */
		sql_diag(c, SC_RULES_ERROR, node_loc(cJSON_GetArrayItem(items, 0)) >= 0 ? node_loc(cJSON_GetArrayItem(items, 0)) : loc,
			 "list not supported here");
		return NULL;
	}
	return r;
}

static clause cl_compile(rctx *c, lctx *lc, cJSON *w)
{
	const char *t;
	cJSON *n = node_of(w, &t);
	if (!n)
		return cl_make(CL_STATIC);
	int loc = loc_of(n);
	if (strcmp(t, "A_Const") == 0)
		return cl_make(CL_STATIC);
	if (strcmp(t, "ColumnRef") == 0)
		return cl_colref(c, lc, n);
	if (strcmp(t, "FuncCall") == 0)
		return cl_funccall(c, lc, n);
	if (strcmp(t, "ParamRef") == 0)
		return cl_error(c, loc, "parameter not supported here");
	if (strcmp(t, "TypeCast") == 0) {
		cJSON *names = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "typeName"), "names");
		const char *to = str_node(cJSON_GetArrayItem(names, cJSON_GetArraySize(names) - 1));
		static const char *const casts[] = { "text", "numeric", "integer", "real", "blob", NULL };
		clause a = cl_compile(c, lc, cJSON_GetObjectItemCaseSensitive(n, "arg"));
		/* Postgres names integer int4 and real float4 in its tree. */
		if (to && strcmp(to, "int4") == 0)
			to = "integer";
		else if (to && strcmp(to, "float4") == 0)
			to = "real";
		if (!to || !in_list(casts, to)) {
			cl_free(&a);
			return cl_error(c, loc, "CAST not supported for '%s'", to ? to : "?");
		}
		cJSON *e[1] = { cJSON_GetObjectItemCaseSensitive(n, "arg") };
		return cl_compose(c, lc, &a, e, 1, false, "cast");
	}
	if (strcmp(t, "NullTest") == 0) {
		cJSON *arg = cJSON_GetObjectItemCaseSensitive(n, "arg");
		clause a = cl_compile(c, lc, arg);
		return cl_compose(c, lc, &a, &arg, 1, false, "is_null");
	}
	if (strcmp(t, "BoolExpr") == 0) {
		const char *op = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "boolop"));
		cJSON *args = cJSON_GetObjectItemCaseSensitive(n, "args");
		if (op && strcmp(op, "NOT_EXPR") == 0) {
			cJSON *arg = cJSON_GetArrayItem(args, 0);
			clause a = cl_compile(c, lc, arg);
			return cl_compose(c, lc, &a, &arg, 1, false, "not");
		}
		bool is_and = op && strcmp(op, "AND_EXPR") == 0;
		/* Postgres flattens a AND b AND c; the service folds from the left. */
		cJSON *x = args ? args->child : NULL;
		clause acc = x ? cl_compile(c, lc, x) : cl_make(CL_STATIC);
		for (x = x ? x->next : NULL; x; x = x->next) {
			clause b = cl_compile(c, lc, x);
			acc = cl_and_or(c, acc, b, is_and, node_loc(cJSON_GetArrayItem(args, 0)));
		}
		return acc;
	}
	if (strcmp(t, "A_Expr") == 0) {
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "kind"));
		const char *op = op_name(n);
		cJSON *l = cJSON_GetObjectItemCaseSensitive(n, "lexpr"), *r = cJSON_GetObjectItemCaseSensitive(n, "rexpr");
		int eloc = node_loc(w);
		if (kind && strcmp(kind, "AEXPR_IN") == 0) {
			cJSON *rr = in_operand(c, r, loc);
			if (!rr)
				return cl_make(CL_ERROR);
			if (op && strcmp(op, "<>") == 0)
				return cl_error(c, eloc, "Operator not supported: NOT IN");
			return cl_in(c, lc, l, rr);
		}
		if (kind && strcmp(kind, "AEXPR_OP") == 0 && op && strcmp(op, "=") == 0) {
			clause a = cl_compile(c, lc, l), b = cl_compile(c, lc, r);
			if (a.kind == CL_ERROR || b.kind == CL_ERROR) {
				cl_free(&a);
				cl_free(&b);
				return cl_make(CL_ERROR);
			}
			if (!lc->data && a.kind == CL_PARAM && b.kind == CL_PARAM) {
				clause args[2] = { a, b };
				cJSON *e[2] = { l, r };
				return cl_compose(c, lc, args, e, 2, false, "=");
			}
			if (!cl_isrow(&a) && !cl_isrow(&b)) {
				cl_free(&a);
				cl_free(&b);
				return cl_error(c, eloc, "Cannot have bucket parameters on both sides of = operator");
			}
			clause *row = cl_isrow(&a) ? &a : &b, *other = cl_isrow(&a) ? &b : &a;
			if (cl_isrow(other)) {
				cl_kind k = row->kind == CL_ROW || other->kind == CL_ROW ? CL_ROW : CL_STATIC;
				cl_free(&a);
				cl_free(&b);
				return cl_make(k);
			}
			if (other->kind == CL_PARAM) {
				clause m = cl_make(CL_MATCH);
				cl_addkey(&m, other->key, false);
				cl_free(&a);
				cl_free(&b);
				return m;
			}
			cl_free(&a);
			cl_free(&b);
			return cl_error(c, eloc, "Parameter match clauses cannot be used here");
		}
		if (kind && strcmp(kind, "AEXPR_OP") == 0) {
			if (!l) {
				clause b = cl_compile(c, lc, r);
				cl_free(&b);
				return cl_error(c, loc, "Operator %s is not supported", op ? op : "?");
			}
			if (op && !in_list(basic_operators, op))
				return cl_error(c, eloc, "Operator not supported: %s", op);
			clause args[2] = { cl_compile(c, lc, l), cl_compile(c, lc, r) };
			cJSON *e[2] = { l, r };
			return cl_compose(c, lc, args, e, 2, false, op ? op : "op");
		}
		if (kind && strcmp(kind, "AEXPR_DISTINCT") == 0) {
			clause args[2] = { cl_compile(c, lc, l), cl_compile(c, lc, r) };
			cJSON *e[2] = { l, r };
			return cl_compose(c, lc, args, e, 2, false, "is");
		}
		return cl_error(c, eloc, "Operator not supported: %s", op ? op : kind ? kind : "?");
	}
	if (strcmp(t, "SubLink") == 0)
		return cl_error(c, loc, "Subqueries are not supported yet");
	if (strcmp(t, "CoalesceExpr") == 0)
		return cl_error(c, loc, "Function 'coalesce' is not defined");
	if (strcmp(t, "CaseExpr") == 0)
		return cl_error(c, loc, "case not supported here");
	if (strcmp(t, "BooleanTest") == 0)
		return cl_error(c, loc, "Operator IS TRUE is not supported");
	return cl_error(c, loc, "%s not supported here", t);
}

/* The output name of a select-list entry: its alias, else a column's name. */
static const char *output_name(cJSON *res)
{
	const char *alias = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(res, "name"));
	if (alias)
		return alias;
	const char *t;
	cJSON *n = node_of(cJSON_GetObjectItemCaseSensitive(res, "val"), &t);
	if (strcmp(t, "ColumnRef") == 0) {
		const char *f[3] = { 0 };
		int k = colref_fields(n, f);
		return k ? f[k > 3 ? 2 : k - 1] : NULL;
	}
	return NULL;
}

static void add_unique(cJSON *arr, const char *s)
{
	cJSON *x;
	cJSON_ArrayForEach(x, arr)
		if (strcmp(x->valuestring, s) == 0)
			return;
	cJSON_AddItemToArray(arr, cJSON_CreateString(s));
}

static sc_rules_table_ref *new_ref(rctx *c, const char *schema, const char *table, int loc)
{
	sc_rules_result *r = c->out;
	r->refs = sc_xrealloc(r->refs, (r->nrefs + 1) * sizeof *r->refs);
	sc_rules_table_ref *ref = &r->refs[r->nrefs++];
	memset(ref, 0, sizeof *ref);
	ref->schema = sc_xstrdup(schema);
	ref->table = sc_xstrdup(table);
	ref->offset = sql_to_file(c, loc);
	ref->bucket = c->bucket ? sc_xstrdup(c->bucket) : NULL;
	return ref;
}

/* Keeps a parsed query for what needs its result set (clientschema.c). */
static void record_query(rctx *c, sc_rules_query_kind kind, cJSON *tree, cJSON *sel, const char *cte_name)
{
	if (!tree || !sel)
		return;
	sc_rules_result *r = c->out;
	r->queries = sc_xrealloc(r->queries, (r->nqueries + 1) * sizeof *r->queries);
	sc_rules_query *q = &r->queries[r->nqueries++];
	memset(q, 0, sizeof *q);
	q->kind = kind;
	q->definition = c->bucket ? sc_xstrdup(c->bucket) : NULL;
	q->cte_name = cte_name ? sc_xstrdup(cte_name) : NULL;
	q->sql = sc_xstrdup(c->sql);
	if (c->ninserted) {
		q->inserted = sc_xcalloc(c->ninserted, sizeof *q->inserted);
		memcpy(q->inserted, c->inserted, c->ninserted * sizeof *q->inserted);
		q->ninserted = c->ninserted;
	}
	q->tree = cJSON_Duplicate(tree, 1);
	/* The same SelectStmt in the copy: stmts[0].stmt.SelectStmt. */
	cJSON *stmt = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(q->tree, "stmts"), 0), "stmt");
	q->select = stmt && stmt->child ? stmt->child : NULL;
	q->offset = c->scalar_start;
	q->auto_subscribe = c->auto_subscribe;
}

/* Parses one query and checks it. Returns the parsed select (owned by
 * *tree) or NULL when it could not be analysed at all (a fatal error was
 * reported). For parameter queries, fills *outputs with the output names. */
static cJSON *parse_select(rctx *c, cJSON **tree)
{
	*tree = NULL;
	PgQueryParseResult pr = pg_query_parse(c->sql);
	if (pr.error) {
		int pos = pr.error->cursorpos > 0 ? pr.error->cursorpos - 1 : 0;
		sql_diag(c, SC_RULES_ERROR, pos, "%s", pr.error->message);
		pg_query_free_parse_result(pr);
		return NULL;
	}
	*tree = cJSON_Parse(pr.parse_tree);
	pg_query_free_parse_result(pr);
	cJSON *stmts = cJSON_GetObjectItemCaseSensitive(*tree, "stmts");
	int n = cJSON_GetArraySize(stmts);
	if (n == 0) {
		sql_diag(c, SC_RULES_ERROR, 0, "Only SELECT statements are supported");
		return NULL;
	}
	if (n > 1) {
		cJSON *second = cJSON_GetArrayItem(stmts, 1);
		cJSON *loc = cJSON_GetObjectItemCaseSensitive(second, "stmt_location");
		sql_diag(c, SC_RULES_ERROR, cJSON_IsNumber(loc) ? loc->valueint : 0, "Only a single SELECT statement is supported");
		return NULL;
	}
	const char *t;
	cJSON *sel = node_of(cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(stmts, 0), "stmt"), &t);
	const char *setop = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(sel, "op"));
	if (strcmp(t, "SelectStmt") != 0 || cJSON_GetObjectItemCaseSensitive(sel, "withClause") ||
	    cJSON_GetObjectItemCaseSensitive(sel, "valuesLists") || (setop && strcmp(setop, "SETOP_NONE") != 0)) {
		sql_diag(c, SC_RULES_ERROR, 0, "Only SELECT statements are supported");
		return NULL;
	}
	return sel;
}

static void check_unsupported(rctx *c, cJSON *sel)
{
	static const struct { const char *member, *message; } feats[] = {
		{ "limitCount", "LIMIT is not supported" },
		{ "limitOffset", "LIMIT is not supported" },
		{ "sortClause", "ORDER BY is not supported" },
		{ "havingClause", "HAVING is not supported" },
		{ "groupClause", "GROUP BY is not supported" },
		{ "distinctClause", "DISTINCT is not supported" },
		{ "lockingClause", "SELECT FOR is not supported" },
	};
	for (size_t i = 0; i < sizeof feats / sizeof feats[0]; i++) {
		cJSON *m = cJSON_GetObjectItemCaseSensitive(sel, feats[i].member);
		if (!m)
			continue;
		int loc = -1;
		const char *t;
		cJSON *first = cJSON_IsArray(m) ? cJSON_GetArrayItem(m, 0) : m;
		cJSON *n = node_of(first, &t);
		if (n)
			loc = loc_of(n);
		if (strcmp(t, "SortBy") == 0)
			loc = loc_of(node_of(cJSON_GetObjectItemCaseSensitive(n, "node"), &t));
		sql_diag(c, SC_RULES_ERROR, loc < 0 ? 0 : loc, "%s", feats[i].message);
		if (strcmp(feats[i].member, "limitCount") == 0 && cJSON_GetObjectItemCaseSensitive(sel, "limitOffset"))
			i++;
	}
}

/* The single table of FROM; NULL (and a fatal diagnostic) otherwise. */
static cJSON *single_table(rctx *c, cJSON *sel, query_kind kind, bool *is_function)
{
	*is_function = false;
	cJSON *from = cJSON_GetObjectItemCaseSensitive(sel, "fromClause");
	if (!from) {
		/* Parameter queries may have no FROM; the caller checks first. */
		if (kind != Q_PARAMETER)
			sql_diag(c, SC_RULES_ERROR, 0, "Must SELECT from a single table");
		return NULL;
	}
	cJSON *first = cJSON_GetArrayItem(from, 0);
	const char *t;
	cJSON *n = node_of(first, &t);
	if (cJSON_GetArraySize(from) != 1 || (strcmp(t, "RangeVar") != 0 && strcmp(t, "RangeFunction") != 0 &&
					     strcmp(t, "RangeSubselect") != 0)) {
		int loc = n ? loc_of(n) : 0;
		if (strcmp(t, "JoinExpr") == 0)
			loc = loc_of(node_of(cJSON_GetObjectItemCaseSensitive(n, "larg"), &t));
		sql_diag(c, SC_RULES_ERROR, loc < 0 ? 0 : loc, "Must SELECT from a single table");
		return NULL;
	}
	if (strcmp(t, "RangeSubselect") == 0) {
		sql_diag(c, SC_RULES_ERROR, 0, kind == Q_PARAMETER ? "Subqueries are not supported yet" : "Must SELECT from a single table");
		return NULL;
	}
	if (strcmp(t, "RangeFunction") == 0) {
		if (kind != Q_PARAMETER) {
			sql_diag(c, SC_RULES_ERROR, 0, "Must SELECT from a single table");
			return NULL;
		}
		*is_function = true;
	}
	return n;
}

/* The schema (NULL when unqualified), table and alias (NULL when none) of a
 * RangeVar. */
static void range_names(cJSON *rv, const char **schema, const char **rel, const char **alias)
{
	*schema = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rv, "schemaname"));
	*rel = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rv, "relname"));
	*alias = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(
		cJSON_GetObjectItemCaseSensitive(rv, "alias"), "aliasname"));
}

static void data_query(rctx *c, yaml_node_t *node, char **params, size_t nparams, bool params_known,
		       cJSON *bucket_info)
{
	cJSON *tree;
	cJSON *sel = parse_select(c, &tree);
	if (!sel) {
		cJSON_Delete(tree);
		return;
	}
	if (!params_known) {
		NODE_DIAG(c, SC_RULES_ERROR, node, "Bucket parameters must be defined (a parameter query of this bucket failed)");
		cJSON_Delete(tree);
		return;
	}
	check_unsupported(c, sel);
	bool fn;
	cJSON *rv = single_table(c, sel, Q_DATA, &fn);
	if (!rv) {
		cJSON_Delete(tree);
		return;
	}
	record_query(c, SC_RULES_Q_DATA, tree, sel, NULL);
	const char *schema, *rel, *alias;
	range_names(rv, &schema, &rel, &alias);
	if (!schema)
		check_case(c, loc_of(rv), rel);
	qstate q;
	memset(&q, 0, sizeof q);
	q.kind = Q_DATA;
	q.table_alias = alias ? alias : rel;
	q.bucket_params = params;
	q.nbucket_params = nparams;
	q.ref = new_ref(c, schema ? schema : "public", rel, loc_of(rv));
	lctx lc = { .data = true, .table = q.table_alias, .q = &q };
	char *src = sc_xasprintf("%s.%s", schema ? schema : "public", rel);
	add_unique(c->out->source_tables, src);
	add_unique(cJSON_GetObjectItemCaseSensitive(bucket_info, "source_tables"), src);
	free(src);
	const char *out_name = alias ? alias : rel;
	add_unique(c->out->output_tables, out_name);
	add_unique(cJSON_GetObjectItemCaseSensitive(bucket_info, "output_tables"), out_name);

	bool has_id = false;
	cJSON *res;
	cJSON *targets = cJSON_GetObjectItemCaseSensitive(sel, "targetList");
	cJSON_ArrayForEach(res, targets) {
		const char *t;
		cJSON *rt = node_of(res, &t);
		cJSON *val = cJSON_GetObjectItemCaseSensitive(rt, "val");
		const char *vt;
		cJSON *vn = node_of(val, &vt);
		if (strcmp(vt, "ColumnRef") == 0) {
			const char *f[3] = { 0 };
			int k = colref_fields(vn, f);
			/* t.* is * too: the output name is the reference's last
			 * part (SqlTools.getOutputName). */
			if (k >= 1 && k <= 3 && strcmp(f[k - 1], "*") == 0) {
				has_id = true; /* without a schema, * is taken to include id */
				q.ref->star = true;
				continue;
			}
		}
		const char *name = output_name(rt);
		if (name && strcmp(name, "id") == 0)
			has_id = true;
		if (!name && strcmp(vt, "ColumnRef") != 0) {
			int loc = loc_of(rt);
			sql_diag(c, SC_RULES_ERROR, loc < 0 ? 0 : loc, "alias is required");
		}
		clause x = cl_compile(c, &lc, val);
		if (x.kind == CL_PARAM || x.kind == CL_MATCH)
			sql_diag(c, SC_RULES_ERROR, node_loc(val) < 0 ? 0 : node_loc(val), "Parameter match expression is not allowed here");
		cl_free(&x);
	}
	if (!has_id) {
		cJSON *first = cJSON_GetArrayItem(targets, 0);
		const char *t;
		int loc = loc_of(node_of(first, &t));
		sql_diag(c, SC_RULES_ERROR, loc < 0 ? 0 : loc, "Query must return an \"id\" column");
	}
	cJSON *where = cJSON_GetObjectItemCaseSensitive(sel, "whereClause");
	clause f = cl_to_match(where ? cl_compile(c, &lc, where) : cl_make(CL_STATIC));
	/* Every bucket parameter bound, and no other (SqlDataQuery.ts). */
	size_t all = f.nkeys;
	for (size_t i = 0; i < nparams; i++) {
		bool seen = false;
		for (size_t k = 0; k < f.nkeys; k++)
			seen = seen || (strncmp(f.keys[k], "bucket.", 7) == 0 && strcmp(f.keys[k] + 7, params[i]) == 0);
		all += !seen;
	}
	if ((!f.error && all != f.nkeys) || all != nparams) {
		sc_buf want = SC_BUF_INIT, got = SC_BUF_INIT;
		for (size_t i = 0; i < nparams; i++)
			sc_buf_printf(&want, "%s\"bucket.%s\"", i ? "," : "", params[i]);
		for (size_t i = 0; i < f.nkeys; i++)
			sc_buf_printf(&got, "%s\"%s\"", i ? "," : "", f.keys[i]);
		sql_diag(c, SC_RULES_ERROR, 0, "Query must cover all bucket parameters. Expected: [%s] Got: [%s]",
			 sc_buf_str(&want), sc_buf_str(&got));
		sc_buf_free(&want);
		sc_buf_free(&got);
	}
	cl_free(&f);
	for (size_t i = 0; i < q.nused; i++)
		free(q.used[i]);
	free(q.used);
	cJSON_Delete(tree);
}

/* Returns the parameter names, or NULL when the query could not be
 * analysed. */
/* The special _priority output of a parameter query (sql_filters.ts
 * extractBucketPriority). */
static void bucket_priority(rctx *c, cJSON *val, bool *priority_set)
{
	if (*priority_set) {
		sql_diag(c, SC_RULES_ERROR, 0, "Cannot set priority multiple times.");
		return;
	}
	*priority_set = true;
	const char *t;
	cJSON *n = node_of(val, &t);
	cJSON *iv = strcmp(t, "A_Const") == 0 ? cJSON_GetObjectItemCaseSensitive(n, "ival") : NULL;
	if (!iv) {
		sql_diag(c, SC_RULES_ERROR, node_loc(val) < 0 ? 0 : node_loc(val), "Priority must be a simple integer literal");
		return;
	}
	cJSON *v = cJSON_GetObjectItemCaseSensitive(iv, "ival");
	double x = cJSON_IsNumber(v) ? v->valuedouble : 0;
	if (x < 0 || x > 3)
		sql_diag(c, SC_RULES_ERROR, node_loc(val) < 0 ? 0 : node_loc(val),
			 "Invalid value for priority, must be between 0 and 3 (inclusive).");
}

/* Returns the parameter names, or NULL when the query could not be
 * analysed. priority_set: whether the bucket has a priority already (the
 * YAML key); a _priority output sets it. */
static char **parameter_query(rctx *c, size_t *nout, bool accept_dangerous, cJSON *info, bool *priority_set)
{
	*nout = 0;
	cJSON *tree;
	cJSON *sel = parse_select(c, &tree);
	if (!sel) {
		cJSON_Delete(tree);
		return NULL;
	}
	check_unsupported(c, sel);
	qstate q;
	memset(&q, 0, sizeof q);
	q.kind = Q_PARAMETER;
	lctx lc = { .data = false, .q = &q };
	const char *call_table = NULL;
	bool fn = false;
	cJSON *from = cJSON_GetObjectItemCaseSensitive(sel, "fromClause");
	if (from) {
		cJSON *rv = single_table(c, sel, Q_PARAMETER, &fn);
		if (!rv) {
			cJSON_Delete(tree);
			return NULL;
		}
		if (fn) {
			const char *t;
			/* functions: [{"List": {"items": [FuncCall, ...]}}] */
			cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(rv, "functions"), 0), "List");
			cJSON *call = node_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(list, "items"), 0), &t);
			cJSON *names = cJSON_GetObjectItemCaseSensitive(call, "funcname");
			const char *name = str_node(cJSON_GetArrayItem(names, cJSON_GetArraySize(names) - 1));
			if (!name || strcmp(name, "json_each") != 0) {
				sql_diag(c, SC_RULES_ERROR, loc_of(call) < 0 ? 0 : loc_of(call), "Table-valued function %s is not defined.", name ? name : "?");
				cJSON_Delete(tree);
				return NULL;
			}
			const char *schema, *rel, *alias;
			range_names(rv, &schema, &rel, &alias);
			call_table = alias ? alias : "json_each";
			cJSON *arg0 = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(call, "args"), 0);
			if (arg0) {
				clause x = cl_compile(c, &lc, arg0);
				if (x.kind == CL_ROW || x.kind == CL_MATCH)
					sql_diag(c, SC_RULES_ERROR, node_loc(arg0) < 0 ? 0 : node_loc(arg0), "Parameter match expression is not allowed here");
				cl_free(&x);
			}
		} else {
			const char *schema, *rel, *alias;
			range_names(rv, &schema, &rel, &alias);
			if (alias)
				sql_diag(c, SC_RULES_ERROR, loc_of(rv), "Table aliases not supported in parameter queries");
			if (!schema)
				check_case(c, loc_of(rv), rel);
			q.table_alias = rel;
			lc.table = rel;
			q.ref = new_ref(c, schema ? schema : "public", rel, loc_of(rv));
			char *src = sc_xasprintf("%s.%s", schema ? schema : "public", rel);
			add_unique(c->out->source_tables, src);
			add_unique(cJSON_GetObjectItemCaseSensitive(info, "source_tables"), src);
			free(src);
		}
	}
	lc.call_table = call_table;
	char **names = NULL;
	bool failed = false;
	cJSON *res;
	cJSON_ArrayForEach(res, cJSON_GetObjectItemCaseSensitive(sel, "targetList")) {
		const char *t;
		cJSON *rt = node_of(res, &t);
		const char *name = output_name(rt);
		cJSON *val = cJSON_GetObjectItemCaseSensitive(rt, "val");
		if (name && strcmp(name, "_priority") == 0) {
			bucket_priority(c, val, priority_set);
			continue;
		}
		const char *vt;
		node_of(val, &vt);
		clause x = cl_compile(c, &lc, val);
		bool table_ref = lc.table && strcmp(vt, "ColumnRef") == 0 && x.kind == CL_ROW;
		if (!table_ref && (x.kind == CL_ROW || x.kind == CL_MATCH))
			sql_diag(c, SC_RULES_ERROR, node_loc(val) < 0 ? 0 : node_loc(val), "Parameter match expression is not allowed here");
		cl_free(&x);
		if (!name) {
			/* The service cannot name the parameter: the query fails. */
			sql_diag(c, SC_RULES_ERROR, loc_of(rt) < 0 ? 0 : loc_of(rt), "alias is required");
			failed = true;
			continue;
		}
		names = sc_xrealloc(names, (*nout + 1) * sizeof *names);
		names[(*nout)++] = sc_xstrdup(name);
	}
	cJSON *where = cJSON_GetObjectItemCaseSensitive(sel, "whereClause");
	if (lc.table) {
		clause f = cl_to_match(where ? cl_compile(c, &lc, where) : cl_make(CL_STATIC));
		size_t expanding = 0;
		for (size_t i = 0; i < f.nkeys; i++)
			expanding += f.expands[i];
		if (expanding > 1)
			sql_diag(c, SC_RULES_ERROR, 0, "Cannot have multiple array input parameters");
		cl_free(&f);
	} else if (where) {
		clause f = cl_compile(c, &lc, where);
		if (f.kind == CL_ROW || f.kind == CL_MATCH)
			sql_diag(c, SC_RULES_ERROR, node_loc(where) < 0 ? 0 : node_loc(where), "Parameter match expression is not allowed here");
		cl_free(&f);
	}
	if (lc.dangerous && !accept_dangerous)
		add_diag_at(c, SC_RULES_WARNING, c->scalar_start, c->scalar_start + strlen(c->sql),
			    "Potentially dangerous query based on parameters set by the client. The client can send any value for these parameters so it's not a good place to do authorization.");
	cJSON_Delete(tree);
	if (failed) {
		for (size_t i = 0; i < *nout; i++)
			free(names[i]);
		free(names);
		*nout = 0;
		return NULL;
	}
	if (!names)
		names = sc_xcalloc(1, sizeof *names);
	return names;
}

/* ---- edition 3: the sync streams compiler ----
 *
 * What the newer compiler (compiler/parser.ts, compiler/sqlite.ts) checks
 * without a schema: names resolve against the tables, aliases and common
 * table expressions in scope (so token_parameters.x is an unknown table
 * there), every function in every clause (result columns, subqueries,
 * CTEs) is one it knows with its arity, subqueries and CTEs return the
 * columns their use needs. */
typedef struct scope3 {
	const char *names[32];
	size_t n;
	struct scope3 *parent;
} scope3;

typedef struct cte3 {
	const char *name;
	int ncols;             /* -1: it did not compile */
	bool used;
	yaml_node_t *key;
} cte3;

typedef struct e3ctx {
	cte3 *ctes;
	size_t nctes;
	bool dangerous;
	int dangerous_loc;     /* the first subscription.*() call */
} e3ctx;

static cte3 *e3_cte(e3ctx *e, const char *name)
{
	/* Later entries (the stream's own) shadow earlier (global) ones. */
	for (size_t i = e->nctes; i-- > 0;)
		if (strcasecmp(e->ctes[i].name, name) == 0)
			return &e->ctes[i];
	return NULL;
}

static bool e3_resolve(const scope3 *s, const char *name)
{
	for (; s; s = s->parent)
		for (size_t i = 0; i < s->n; i++)
			if (strcmp(s->names[i], name) == 0)
				return true;
	return false;
}

static void e3_expr(rctx *c, e3ctx *e, scope3 *s, cJSON *w);
static int e3_select(rctx *c, e3ctx *e, cJSON *sel, scope3 *parent, bool main_query);

static void e3_list(rctx *c, e3ctx *e, scope3 *s, cJSON *arr)
{
	cJSON *x;
	cJSON_ArrayForEach(x, arr)
		e3_expr(c, e, s, x);
}

static const struct { const char *name; int min, max; } e3_functions[] = {
	{ "hex", 1, 1 }, { "ifnull", 2, -1 }, { "iif", 3, 3 }, { "instr", 2, 2 }, { "length", 1, 1 },
	{ "lower", 1, 1 }, { "substring", 2, 3 }, { "typeof", 1, 1 }, { "upper", 1, 1 },
	{ "json_array_length", 1, 2 }, { "json_extract", 2, -1 }, { "unixepoch", 1, -1 }, { "datetime", 1, -1 },
	{ "base64", 1, 1 }, { "json_keys", 1, 1 }, { "uuid_blob", 1, 1 }, { "st_asgeojson", 1, 1 },
	{ "st_astext", 1, 1 }, { "st_x", 1, 1 }, { "st_y", 1, 1 },
};

static void e3_funccall(rctx *c, e3ctx *e, scope3 *s, cJSON *n)
{
	cJSON *names = cJSON_GetObjectItemCaseSensitive(n, "funcname");
	int nn = cJSON_GetArraySize(names);
	const char *schema = nn >= 2 ? str_node(cJSON_GetArrayItem(names, nn - 2)) : NULL;
	const char *fn = str_node(cJSON_GetArrayItem(names, nn - 1));
	int loc = loc_of(n);
	cJSON *args = cJSON_GetObjectItemCaseSensitive(n, "args");
	int na = cJSON_GetArraySize(args);
	if (!fn)
		return;
	if (schema && strcmp(schema, "pg_catalog") == 0)
		schema = NULL;
	if (schema) {
		if (strcmp(schema, "auth") == 0 || strcmp(schema, "subscription") == 0 || strcmp(schema, "connection") == 0) {
			if (strcmp(schema, "subscription") == 0 && !e->dangerous) {
				e->dangerous = true;
				e->dangerous_loc = loc;
			}
			if (strcmp(fn, "parameter") == 0 && na != 1)
				sql_diag(c, SC_RULES_ERROR, loc, "Expected a single argument here");
			else if (strcmp(fn, "user_id") == 0 && strcmp(schema, "auth") != 0)
				sql_diag(c, SC_RULES_ERROR, loc, ".user_id() is only available on auth schema");
			else if (strcmp(fn, "parameters") != 0 && strcmp(fn, "parameter") != 0 && strcmp(fn, "user_id") != 0)
				sql_diag(c, SC_RULES_ERROR, loc, "Unknown request function");
			e3_list(c, e, s, args);
			return;
		}
		/* Row metadata of a (wildcard) table: t.schema(), t.table_name(),
		 * t.table_suffix(), from the newer source (be42e25); 0.38.1
		 * refuses them ("Invalid schema in function name"). */
		if (strcasecmp(fn, "schema") == 0 || strcasecmp(fn, "table_name") == 0 || strcasecmp(fn, "table_suffix") == 0) {
			if (!e3_resolve(s, schema))
				sql_diag(c, SC_RULES_ERROR, loc, "Table '%s' has not been added in a FROM clause here.", schema);
			else if (na != 0)
				sql_diag(c, SC_RULES_ERROR, loc, "Expected no arguments here");
			return;
		}
		sql_diag(c, SC_RULES_ERROR, loc, "Invalid schema in function name");
		return;
	}
	if (cJSON_GetObjectItemCaseSensitive(n, "agg_distinct") || cJSON_GetObjectItemCaseSensitive(n, "agg_order") ||
	    cJSON_GetObjectItemCaseSensitive(n, "agg_filter") || cJSON_GetObjectItemCaseSensitive(n, "over")) {
		sql_diag(c, SC_RULES_ERROR, loc, "DISTINCT, ORDER BY, FILTER and OVER clauses are not supported");
		return;
	}
	if (strcasecmp(fn, "random") == 0 || strcasecmp(fn, "randomblob") == 0) {
		sql_diag(c, SC_RULES_ERROR, loc, "Forbidden call: Sync definitions must be deterministic.");
		return;
	}
	size_t i;
	for (i = 0; i < sizeof e3_functions / sizeof e3_functions[0]; i++)
		if (strcasecmp(e3_functions[i].name, fn) == 0)
			break;
	if (i == sizeof e3_functions / sizeof e3_functions[0]) {
		sql_diag(c, SC_RULES_ERROR, loc, "Unknown function");
		return;
	}
	if (na < e3_functions[i].min)
		sql_diag(c, SC_RULES_ERROR, loc, "Expected at least %d arguments", e3_functions[i].min);
	else if (e3_functions[i].max >= 0 && na > e3_functions[i].max)
		sql_diag(c, SC_RULES_ERROR, loc, "Expected at most %d arguments", e3_functions[i].max);
	e3_list(c, e, s, args);
}

static void e3_expr(rctx *c, e3ctx *e, scope3 *s, cJSON *w)
{
	const char *t;
	cJSON *n = node_of(w, &t);
	if (!n)
		return;
	int loc = loc_of(n);
	if (strcmp(t, "A_Const") == 0)
		return;
	if (strcmp(t, "ColumnRef") == 0) {
		const char *f[3] = { 0 };
		int k = colref_fields(n, f);
		if (k == 1) {
			if (strcmp(f[0], "*") == 0)
				sql_diag(c, SC_RULES_ERROR, loc, "* columns are not supported here");
			else if (s->n != 1)
				sql_diag(c, SC_RULES_ERROR, loc, "Invalid unqualified reference since multiple tables are in scope");
		} else if (k >= 2) {
			if (!e3_resolve(s, f[k - 2]))
				sql_diag(c, SC_RULES_ERROR, loc, "Table '%s' has not been added in a FROM clause here.", f[k - 2]);
			else if (strcmp(f[k - 1], "*") == 0)
				sql_diag(c, SC_RULES_ERROR, loc, "* columns are not supported here");
		}
		return;
	}
	if (strcmp(t, "FuncCall") == 0) {
		e3_funccall(c, e, s, n);
		return;
	}
	if (strcmp(t, "ParamRef") == 0) {
		sql_diag(c, SC_RULES_ERROR, loc, "SQL parameters are not allowed. Use parameter functions instead: https://docs.powersync.com/usage/sync-streams#accessing-parameters");
		return;
	}
	if (strcmp(t, "TypeCast") == 0) {
		cJSON *names = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "typeName"), "names");
		const char *to = str_node(cJSON_GetArrayItem(names, cJSON_GetArraySize(names) - 1));
		static const char *const casts[] = { "text", "numeric", "integer", "int4", "real", "float4", "blob", NULL };
		if (!to || !in_list(casts, to))
			sql_diag(c, SC_RULES_ERROR, loc, "Invalid SQLite cast");
		e3_expr(c, e, s, cJSON_GetObjectItemCaseSensitive(n, "arg"));
		return;
	}
	if (strcmp(t, "NullTest") == 0 || strcmp(t, "BooleanTest") == 0) {
		e3_expr(c, e, s, cJSON_GetObjectItemCaseSensitive(n, "arg"));
		return;
	}
	if (strcmp(t, "BoolExpr") == 0) {
		e3_list(c, e, s, cJSON_GetObjectItemCaseSensitive(n, "args"));
		return;
	}
	if (strcmp(t, "CaseExpr") == 0) {
		e3_expr(c, e, s, cJSON_GetObjectItemCaseSensitive(n, "arg"));
		cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(n, "args")) {
			cJSON *cw = cJSON_GetObjectItemCaseSensitive(x, "CaseWhen");
			e3_expr(c, e, s, cJSON_GetObjectItemCaseSensitive(cw, "expr"));
			e3_expr(c, e, s, cJSON_GetObjectItemCaseSensitive(cw, "result"));
		}
		e3_expr(c, e, s, cJSON_GetObjectItemCaseSensitive(n, "defresult"));
		return;
	}
	if (strcmp(t, "CoalesceExpr") == 0) {
		sql_diag(c, SC_RULES_ERROR, loc, "Unknown function");
		return;
	}
	if (strcmp(t, "SubLink") == 0) {
		const char *type = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "subLinkType"));
		cJSON *test = cJSON_GetObjectItemCaseSensitive(n, "testexpr");
		cJSON *sub = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "subselect"), "SelectStmt");
		if (!type || strcmp(type, "ANY_SUBLINK") != 0 || !test || !sub) {
			sql_diag(c, SC_RULES_ERROR, loc, "Invalid position for subqueries. Subqueries are only supported in WHERE clauses.");
			return;
		}
		e3_expr(c, e, s, test);
		int cols = e3_select(c, e, sub, s, false);
		if (cols >= 0 && cols != 1)
			sql_diag(c, SC_RULES_ERROR, loc_of(sub) >= 0 ? loc_of(sub) : loc, "Must return a single expression column");
		return;
	}
	if (strcmp(t, "A_Expr") == 0) {
		const char *kind = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "kind"));
		const char *op = op_name(n);
		cJSON *l = cJSON_GetObjectItemCaseSensitive(n, "lexpr"), *r = cJSON_GetObjectItemCaseSensitive(n, "rexpr");
		int eloc = node_loc(w);
		if (kind && (strcmp(kind, "AEXPR_LIKE") == 0 || strcmp(kind, "AEXPR_ILIKE") == 0)) {
			sql_diag(c, SC_RULES_ERROR, eloc, "LIKE expressions are not currently supported.");
			return;
		}
		if (kind && strcmp(kind, "AEXPR_IN") == 0) {
			e3_expr(c, e, s, l);
			cJSON *lst = cJSON_GetObjectItemCaseSensitive(r, "List");
			cJSON *items = lst ? cJSON_GetObjectItemCaseSensitive(lst, "items") : r;
			if (cJSON_IsArray(items) && cJSON_GetArraySize(items) > 1) {
				/* x IN (a, b): PowerSync's grammar reads (a, b) as a
				 * list, which the streams compiler cannot lower
				 * (sqlite.ts: "not supported"). The list's "(". */
				int first = node_loc(cJSON_GetArrayItem(items, 0));
				while (first > 0 && c->sql[first - 1] != '(')
					first--;
				sql_diag(c, SC_RULES_ERROR, first > 0 ? first - 1 : loc, "This expression is not supported by PowerSync");
				return;
			}
			if (cJSON_IsArray(items) && cJSON_GetArraySize(items) == 1) {
				const char *it;
				cJSON *one = node_of(cJSON_GetArrayItem(items, 0), &it);
				const char *f[3] = { 0 };
				/* IN ARRAY[a, b] and IN ROW(a, b) are lists of values
				 * (sqlite.ts desugarInValues). */
				if (strcmp(it, "A_ArrayExpr") == 0) {
					e3_list(c, e, s, cJSON_GetObjectItemCaseSensitive(one, "elements"));
					return;
				}
				if (strcmp(it, "RowExpr") == 0) {
					e3_list(c, e, s, cJSON_GetObjectItemCaseSensitive(one, "args"));
					return;
				}
				if (strcmp(it, "ColumnRef") == 0 && colref_fields(one, f) == 1) {
					cte3 *cte = e3_cte(e, f[0]);
					if (cte) {
						cte->used = true;
						if (cte->ncols >= 0 && cte->ncols != 1)
							sql_diag(c, SC_RULES_ERROR, loc_of(one), "Common-table expression must return a single column");
						return;
					}
				}
			}
			if (cJSON_IsArray(items))
				e3_list(c, e, s, items);
			else
				e3_expr(c, e, s, items);
			return;
		}
		if (kind && strcmp(kind, "AEXPR_OP") == 0) {
			static const char *const ops3[] = { "=", "!=", "<>", "<", ">", "<=", ">=", "&", "|", "<<", ">>", "+",
							    "-", "*", "/", "%", "||", "->", "->>", "&&", NULL };
			if (!l && op && strcmp(op, "-") == 0) {
				sql_diag(c, SC_RULES_ERROR, loc, "Unary minus is not currently supported");
				return;
			}
			if (op && !in_list(ops3, op)) {
				sql_diag(c, SC_RULES_ERROR, eloc, "Unsupported binary operator");
				return;
			}
			e3_expr(c, e, s, l);
			e3_expr(c, e, s, r);
			return;
		}
		if (kind && (strcmp(kind, "AEXPR_BETWEEN") == 0 || strcmp(kind, "AEXPR_NOT_BETWEEN") == 0)) {
			e3_expr(c, e, s, l);
			e3_list(c, e, s, cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(r, "List"), "items"));
			return;
		}
		if (kind && (strcmp(kind, "AEXPR_DISTINCT") == 0 || strcmp(kind, "AEXPR_NOT_DISTINCT") == 0)) {
			e3_expr(c, e, s, l);
			e3_expr(c, e, s, r);
			return;
		}
		sql_diag(c, SC_RULES_ERROR, eloc, "This expression is not supported by PowerSync");
		return;
	}
	sql_diag(c, SC_RULES_ERROR, loc, "This expression is not supported by PowerSync");
}

static void e3_from(rctx *c, e3ctx *e, scope3 *s, cJSON *w)
{
	const char *t;
	cJSON *n = node_of(w, &t);
	if (!n)
		return;
	const char *name = NULL;
	if (strcmp(t, "RangeVar") == 0) {
		const char *schema, *rel, *alias;
		range_names(n, &schema, &rel, &alias);
		name = alias ? alias : rel;
		cte3 *cte = !schema && rel ? e3_cte(e, rel) : NULL;
		if (cte)
			cte->used = true;
	} else if (strcmp(t, "RangeFunction") == 0) {
		cJSON *list = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(n, "functions"), 0), "List");
		const char *ft;
		cJSON *call = node_of(cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(list, "items"), 0), &ft);
		cJSON *fnames = cJSON_GetObjectItemCaseSensitive(call, "funcname");
		const char *fname = str_node(cJSON_GetArrayItem(fnames, cJSON_GetArraySize(fnames) - 1));
		e3_list(c, e, s, cJSON_GetObjectItemCaseSensitive(call, "args"));
		name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "alias"), "aliasname"));
		if (!name)
			name = fname;
	} else if (strcmp(t, "RangeSubselect") == 0) {
		cJSON *sub = cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "subquery"), "SelectStmt");
		/* A subquery in FROM does not see the outer names. */
		if (sub)
			e3_select(c, e, sub, NULL, false);
		name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(cJSON_GetObjectItemCaseSensitive(n, "alias"), "aliasname"));
	} else if (strcmp(t, "JoinExpr") == 0) {
		e3_from(c, e, s, cJSON_GetObjectItemCaseSensitive(n, "larg"));
		e3_from(c, e, s, cJSON_GetObjectItemCaseSensitive(n, "rarg"));
		const char *jt = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(n, "jointype"));
		int jl = loc_of(node_of(cJSON_GetObjectItemCaseSensitive(n, "rarg"), &t));
		if (jt && strcmp(jt, "JOIN_INNER") != 0)
			sql_diag(c, SC_RULES_ERROR, jl < 0 ? 0 : jl, "FULL JOIN is not supported");
		if (cJSON_GetObjectItemCaseSensitive(n, "usingClause"))
			sql_diag(c, SC_RULES_ERROR, jl < 0 ? 0 : jl, "USING is not supported");
		e3_expr(c, e, s, cJSON_GetObjectItemCaseSensitive(n, "quals"));
		return;
	}
	if (name && s->n < sizeof s->names / sizeof s->names[0])
		s->names[s->n++] = name;
}

/* Checks a SELECT of a stream (main_query), a subquery or a CTE; returns
 * the number of result columns, or -1 with a '*' where one may not be. */
static int e3_select(rctx *c, e3ctx *e, cJSON *sel, scope3 *parent, bool main_query)
{
	scope3 s;
	memset(&s, 0, sizeof s);
	s.parent = parent;
	check_unsupported(c, sel);
	cJSON *x;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sel, "fromClause"))
		e3_from(c, e, &s, x);
	e3_expr(c, e, &s, cJSON_GetObjectItemCaseSensitive(sel, "whereClause"));
	int cols = 0;
	bool bad = false;
	cJSON_ArrayForEach(x, cJSON_GetObjectItemCaseSensitive(sel, "targetList")) {
		const char *t;
		cJSON *rt = node_of(x, &t);
		cJSON *val = cJSON_GetObjectItemCaseSensitive(rt, "val");
		const char *vt;
		cJSON *vn = node_of(val, &vt);
		if (strcmp(vt, "ColumnRef") == 0) {
			const char *f[3] = { 0 };
			int k = colref_fields(vn, f);
			if (strcmp(f[k > 3 ? 2 : k - 1], "*") == 0) {
				if (!main_query) {
					sql_diag(c, SC_RULES_ERROR, loc_of(vn), "* columns are not allowed in subqueries or common table expressions");
					bad = true;
				} else if (k >= 2 && !e3_resolve(&s, f[k - 2])) {
					sql_diag(c, SC_RULES_ERROR, loc_of(vn), "Table '%s' has not been added in a FROM clause here.", f[k - 2]);
				} else if (k == 1 && s.n != 1) {
					sql_diag(c, SC_RULES_ERROR, loc_of(vn), "Invalid unqualified reference since multiple tables are in scope");
				}
				continue;
			}
		}
		e3_expr(c, e, &s, val);
		cols++;
	}
	return bad ? -1 : cols;
}

/* Parses a CTE's SQL (the scalar set with set_sql) and records it. */
static void e3_define_cte(rctx *c, e3ctx *e, const char *name, yaml_node_t *key)
{
	cJSON *tree;
	int ncols = -1;
	cJSON *sel = parse_select(c, &tree);
	if (sel) {
		ncols = e3_select(c, e, sel, NULL, false);
		record_query(c, SC_RULES_Q_CTE, tree, sel, name);
	}
	cJSON_Delete(tree);
	e->ctes = sc_xrealloc(e->ctes, (e->nctes + 1) * sizeof *e->ctes);
	e->ctes[e->nctes].name = name;
	e->ctes[e->nctes].ncols = ncols;
	e->ctes[e->nctes].used = false;
	e->ctes[e->nctes].key = key;
	e->nctes++;
}

static void stream_query(rctx *c, cJSON *info, bool accept_dangerous, int edition)
{
	cJSON *tree;
	cJSON *sel = parse_select(c, &tree);
	if (!sel) {
		cJSON_Delete(tree);
		return;
	}
	bool fn;
	record_query(c, SC_RULES_Q_STREAM, tree, sel, NULL);
	if (edition >= 3) {
		/* Compiled streams take joins and subqueries (e3_select). */
		e3ctx *e3 = c->e3;
		e3->dangerous = false;
		e3_select(c, e3, sel, NULL, true);
		if (e3->dangerous && !accept_dangerous)
			sql_diag(c, SC_RULES_WARNING, e3->dangerous_loc,
				 "Clients can send any value for this unauthenticated parameter, so this is unsuitable for authorization. Consider further constraining this with an authenticated parameter.");
		cJSON *from = cJSON_GetObjectItemCaseSensitive(sel, "fromClause");
		cJSON *first = cJSON_GetArrayItem(from, 0);
		const char *t3;
		cJSON *rv3 = node_of(first, &t3);
		const char *sch = NULL, *rel = NULL, *alias3 = NULL;
		if (rv3 && strcmp(t3, "RangeVar") == 0)
			range_names(rv3, &sch, &rel, &alias3);
		if (rel && (sch || !e3_cte(e3, rel))) {
			char *src = sc_xasprintf("%s.%s", sch ? sch : "public", rel);
			add_unique(c->out->source_tables, src);
			add_unique(cJSON_GetObjectItemCaseSensitive(info, "source_tables"), src);
			add_unique(c->out->output_tables, rel);
			add_unique(cJSON_GetObjectItemCaseSensitive(info, "output_tables"), rel);
			free(src);
		} else if (!from) {
			sql_diag(c, SC_RULES_ERROR, 0, "Must SELECT from a table");
		}
		cJSON_Delete(tree);
		return;
	}
	check_unsupported(c, sel);
	cJSON *rv = single_table(c, sel, Q_STREAM, &fn);
	if (!rv) {
		cJSON_Delete(tree);
		return;
	}
	const char *schema, *rel, *alias;
	range_names(rv, &schema, &rel, &alias);
	qstate q;
	memset(&q, 0, sizeof q);
	q.kind = Q_STREAM;
	q.table_alias = alias ? alias : rel;
	q.ref = new_ref(c, schema ? schema : "public", rel, loc_of(rv));
	char *src = sc_xasprintf("%s.%s", schema ? schema : "public", rel);
	add_unique(c->out->source_tables, src);
	add_unique(cJSON_GetObjectItemCaseSensitive(info, "source_tables"), src);
	free(src);
	add_unique(c->out->output_tables, alias ? alias : rel);
	add_unique(cJSON_GetObjectItemCaseSensitive(info, "output_tables"), alias ? alias : rel);
	bool has_id = false;
	cJSON *res, *targets = cJSON_GetObjectItemCaseSensitive(sel, "targetList");
	cJSON_ArrayForEach(res, targets) {
		const char *t;
		cJSON *rt = node_of(res, &t);
		const char *vt;
		cJSON *vn = node_of(cJSON_GetObjectItemCaseSensitive(rt, "val"), &vt);
		if (strcmp(vt, "ColumnRef") == 0) {
			const char *f[3] = { 0 };
			int k = colref_fields(vn, f);
			const char *last = k > 0 ? f[k > 3 ? 2 : k - 1] : NULL;
			if (last && strcmp(last, "*") == 0) {
				has_id = true;
				q.ref->star = true;
				continue;
			}
		}
		const char *name = output_name(rt);
		if (name && strcmp(name, "id") == 0)
			has_id = true;
		check_expr(c, &q, cJSON_GetObjectItemCaseSensitive(rt, "val"));
	}
	if (!has_id) {
		const char *t;
		int loc = loc_of(node_of(cJSON_GetArrayItem(targets, 0), &t));
		sql_diag(c, SC_RULES_ERROR, loc < 0 ? 0 : loc, "Query must return an \"id\" column");
	}
	check_expr(c, &q, cJSON_GetObjectItemCaseSensitive(sel, "whereClause"));
	if (q.dangerous && !accept_dangerous)
		add_diag_at(c, SC_RULES_WARNING, c->scalar_start, c->scalar_start + strlen(c->sql),
			    "Clients can send any value for this unauthenticated parameter, so this is unsuitable for authorization.");
	cJSON_Delete(tree);
}

/* ---- the YAML structure ---- */

static bool yaml_bool(yaml_node_t *n, bool *out)
{
	const char *v = sc_yaml_scalar(n);
	if (!v || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0) {
		*out = true;
		return true;
	}
	if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0) {
		*out = false;
		return true;
	}
	return false;
}

static bool yaml_int(yaml_node_t *n, long *out)
{
	const char *v = sc_yaml_scalar(n);
	if (!v || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE || !*v)
		return false;
	char *end;
	long x = strtol(v, &end, 10);
	if (*end)
		return false;
	*out = x;
	return true;
}

/* Points a diagnostic at a key's first character, as the service does for
 * token errors. */
static void key_diag(rctx *c, sc_rules_severity sev, yaml_node_t *key, const char *fmt, const char *arg)
{
	size_t s = mark_to_byte(c, key->start_mark);
	add_diag_at(c, sev, s, s + 1, fmt, arg);
}

static void set_sql(rctx *c, yaml_node_t *scalar)
{
	c->sql = (const char *)scalar->data.scalar.value;
	build_map(c, scalar);
	rewrite_sql(c);
}

static void check_mapping_keys(rctx *c, yaml_node_t *map, const char *const *allowed, const char *what,
			       bool *bad)
{
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start; p < map->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&c->y.doc, p->key);
		const char *name = sc_yaml_scalar(k);
		(void)what;
		if (!name) {
			/* yaml_validation.ts: a key that is not a scalar. */
			NODE_DIAG(c, SC_RULES_ERROR, k, allowed ? "Unexpected additional key." : "Expected a scalar here.");
			*bad = true;
			continue;
		}
		if (allowed && !in_list(allowed, name)) {
			/* The newer source reports unknown keys where they are
			 * (yaml_validation.ts, YamlMapState's dispose); 0.38.1's
			 * schema check said "must NOT have additional
			 * properties" without a place. */
			NODE_DIAG(c, SC_RULES_ERROR, k, "Unknown key '%s'.", name);
			*bad = true;
		}
		for (yaml_node_pair_t *q = map->data.mapping.pairs.start; q < p; q++) {
			const char *other = sc_yaml_scalar(yaml_document_get_node(&c->y.doc, q->key));
			if (other && strcmp(other, name) == 0) {
				NODE_DIAG(c, SC_RULES_ERROR, k, "Map keys must be unique: '%s' is given twice", name);
				*bad = true;
			}
		}
	}
}

static int parse_priority(rctx *c, yaml_node_t *def, cJSON *info)
{
	yaml_node_t *p = sc_yaml_get(&c->y, def, "priority");
	if (!p)
		return 0;
	long v;
	if (!yaml_int(p, &v) || v < 0 || v > 3) {
		size_t s = mark_to_byte(c, p->start_mark);
		add_diag_at(c, SC_RULES_ERROR, s, s + 1, "Invalid priority, expected a number between 0 and 3 (inclusive).");
		return -1;
	}
	cJSON_AddNumberToObject(info, "priority", (double)v);
	return 0;
}

static bool parse_accept(rctx *c, yaml_node_t *def)
{
	yaml_node_t *a = sc_yaml_get(&c->y, def, "accept_potentially_dangerous_queries");
	bool v = false;
	if (a && !yaml_bool(a, &v)) {
		NODE_DIAG(c, SC_RULES_ERROR, a, "accept_potentially_dangerous_queries must be a boolean");
		return false;
	}
	return v;
}

/* The summary entry of a bucket or stream, and the checks every definition
 * shares (an object, known keys, priority). NULL when it is not an object. */
static cJSON *begin_definition(rctx *c, yaml_node_t *key, yaml_node_t *def, const char *name,
			       const char *kind, const char *const *keys)
{
	cJSON *info = cJSON_CreateObject();
	cJSON_AddStringToObject(info, "name", name);
	cJSON_AddStringToObject(info, "kind", kind);
	cJSON_AddArrayToObject(info, "parameters");
	cJSON_AddArrayToObject(info, "source_tables");
	cJSON_AddArrayToObject(info, "output_tables");
	cJSON_AddItemToArray(c->out->buckets, info);
	if (def->type != YAML_MAPPING_NODE) {
		char msg[64];
		snprintf(msg, sizeof msg, "'%%s' %s definition must be an object", kind);
		key_diag(c, SC_RULES_ERROR, key, msg, name);
		return NULL;
	}
	bool bad = false;
	check_mapping_keys(c, def, keys, name, &bad);
	parse_priority(c, def, info);
	return info;
}

static void bucket_definitions(rctx *c, yaml_node_t *defs)
{
	if (defs->type != YAML_MAPPING_NODE) {
		NODE_DIAG(c, SC_RULES_ERROR, defs, "Expected a map here.");
		return;
	}
	bool bad = false;
	check_mapping_keys(c, defs, NULL, "bucket_definitions", &bad);
	static const char *const keys[] = { "parameters", "data", "priority", "accept_potentially_dangerous_queries", NULL };
	for (yaml_node_pair_t *p = defs->data.mapping.pairs.start; p < defs->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&c->y.doc, p->key);
		yaml_node_t *def = yaml_document_get_node(&c->y.doc, p->value);
		const char *name = sc_yaml_scalar(k);
		if (!name)
			continue;
		c->bucket = name;
		cJSON *info = begin_definition(c, k, def, name, "bucket", keys);
		if (!info)
			continue;
		cJSON *params_json = cJSON_GetObjectItemCaseSensitive(info, "parameters");
		bool accept = parse_accept(c, def);
		bool priority_set = cJSON_GetObjectItemCaseSensitive(info, "priority") != NULL;

		/* Parameter queries: all must return the same names. */
		yaml_node_t *params = sc_yaml_get(&c->y, def, "parameters");
		char **names = NULL;
		size_t nnames = 0;
		bool known = params == NULL;
		if (!params)
			names = sc_xcalloc(1, sizeof *names);
		yaml_node_t *plist[256];
		size_t np = 0;
		if (params && params->type == YAML_SCALAR_NODE) {
			plist[np++] = params;
		} else if (params && params->type == YAML_SEQUENCE_NODE) {
			for (size_t i = 0; i < sc_yaml_len(params) && np < 256; i++)
				plist[np++] = sc_yaml_item(&c->y, params, i);
		} else if (params) {
			NODE_DIAG(c, SC_RULES_ERROR, params, "Parameters must be a string or array of strings");
		}
		for (size_t i = 0; i < np; i++) {
			if (plist[i]->type != YAML_SCALAR_NODE) {
				NODE_DIAG(c, SC_RULES_ERROR, plist[i], "Expected a scalar here.");
				continue;
			}
			set_sql(c, plist[i]);
			size_t n = 0;
			char **got = parameter_query(c, &n, accept, info, &priority_set);
			if (got && !known) {
				names = got;
				nnames = n;
				known = true;
				for (size_t k2 = 0; k2 < n; k2++)
					cJSON_AddItemToArray(params_json, cJSON_CreateString(got[k2]));
			} else if (got) {
				bool same = n == nnames;
				for (size_t a = 0; same && a < n; a++) {
					bool found = false;
					for (size_t b = 0; b < nnames; b++)
						found = found || strcmp(got[a], names[b]) == 0;
					same = found;
				}
				if (!same)
					add_diag_at(c, SC_RULES_ERROR, c->scalar_start, c->scalar_start + strlen(c->sql),
						    "Bucket parameters must match for each parameter query within a bucket");
				for (size_t k2 = 0; k2 < n; k2++)
					free(got[k2]);
				free(got);
			}
			c->sql = NULL;
		}
		yaml_node_t *data = sc_yaml_get(&c->y, def, "data");
		if (!data) {
			NODE_DIAG(c, SC_RULES_ERROR, def, "Missing required keys: data");
		} else if (data->type != YAML_SEQUENCE_NODE) {
			NODE_DIAG(c, SC_RULES_ERROR, data, "Expected a sequence here.");
		} else {
			for (size_t i = 0; i < sc_yaml_len(data); i++) {
				yaml_node_t *q = sc_yaml_item(&c->y, data, i);
				if (q->type != YAML_SCALAR_NODE) {
					NODE_DIAG(c, SC_RULES_ERROR, q, "Expected a scalar here.");
					continue;
				}
				set_sql(c, q);
				data_query(c, q, names, nnames, known, info);
				c->sql = NULL;
			}
		}
		for (size_t i = 0; i < nnames; i++)
			free(names[i]);
		free(names);
	}
	c->bucket = NULL;
}

/* The with: block of edition 3 (global or a stream's): every CTE is
 * parsed where it is defined, referenced or not (from_yaml.ts
 * parseCommonTableExpressions). */
static void e3_ctes(rctx *c, e3ctx *e, yaml_node_t *with)
{
	if (with->type != YAML_MAPPING_NODE) {
		NODE_DIAG(c, SC_RULES_ERROR, with, "Expected a map here.");
		return;
	}
	for (yaml_node_pair_t *p = with->data.mapping.pairs.start; p < with->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&c->y.doc, p->key);
		yaml_node_t *v = yaml_document_get_node(&c->y.doc, p->value);
		const char *name = sc_yaml_scalar(k);
		if (!name) {
			NODE_DIAG(c, SC_RULES_ERROR, k, "Expected a scalar here.");
			continue;
		}
		if (v->type != YAML_SCALAR_NODE) {
			NODE_DIAG(c, SC_RULES_ERROR, v, "Expected a scalar here.");
			continue;
		}
		set_sql(c, v);
		e3_define_cte(c, e, name, k);
		c->sql = NULL;
	}
}

static void e3_unused(rctx *c, e3ctx *e, size_t from)
{
	for (size_t i = from; i < e->nctes; i++)
		if (!e->ctes[i].used)
			key_diag(c, SC_RULES_WARNING, e->ctes[i].key, "This common table expression isn't referenced.%s", "");
	e->nctes = from;
}

static void streams(rctx *c, yaml_node_t *defs, int edition)
{
	if (defs->type != YAML_MAPPING_NODE) {
		NODE_DIAG(c, SC_RULES_ERROR, defs, "Expected a map here.");
		return;
	}
	if (edition < 3) {
		NODE_DIAG(c, SC_RULES_WARNING, defs,
			  "This is using an alpha version of Sync Streams. We recommend upgrading `config.edition` to version 3 to support the latest features.");
	}
	bool bad = false;
	check_mapping_keys(c, defs, NULL, "streams", &bad);
	static const char *const keys[] = { "query", "queries", "auto_subscribe", "priority", "with",
					    "accept_potentially_dangerous_queries", NULL };
	for (yaml_node_pair_t *p = defs->data.mapping.pairs.start; p < defs->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(&c->y.doc, p->key);
		yaml_node_t *def = yaml_document_get_node(&c->y.doc, p->value);
		const char *name = sc_yaml_scalar(k);
		if (!name)
			continue;
		c->bucket = name;
		cJSON *info = begin_definition(c, k, def, name, "stream", keys);
		if (!info)
			continue;
		bool accept = parse_accept(c, def);
		yaml_node_t *as = sc_yaml_get(&c->y, def, "auto_subscribe");
		bool b = false;
		if (as && !yaml_bool(as, &b))
			NODE_DIAG(c, SC_RULES_ERROR, as, "auto_subscribe must be a boolean");
		c->auto_subscribe = as && b;
		yaml_node_t *query = sc_yaml_get(&c->y, def, "query");
		yaml_node_t *queries = sc_yaml_get(&c->y, def, "queries");
		if (edition < 3) {
			yaml_node_t *w = sc_yaml_get(&c->y, def, "with");
			if (w)
				NODE_DIAG(c, SC_RULES_ERROR, w, "Common table expressions are not supported without the `sync_config_compiler` option.");
			if (queries)
				NODE_DIAG(c, SC_RULES_ERROR, queries, "Multiple queries not supported without the `sync_config_compiler` option.");
			if (!query || query->type != YAML_SCALAR_NODE) {
				size_t s = query ? mark_to_byte(c, query->start_mark) : mark_to_byte(c, k->start_mark);
				add_diag_at(c, SC_RULES_ERROR, s, s + 1, "Must be a string.");
				continue;
			}
		} else if ((query == NULL) == (queries == NULL)) {
			NODE_DIAG(c, SC_RULES_ERROR, def, "One of `queries` or `query` must be given.");
			continue;
		}
		size_t global_ctes = c->e3 ? c->e3->nctes : 0;
		yaml_node_t *local_with = sc_yaml_get(&c->y, def, "with");
		if (edition >= 3 && local_with)
			e3_ctes(c, c->e3, local_with);
		if (queries && queries->type != YAML_SEQUENCE_NODE)
			NODE_DIAG(c, SC_RULES_ERROR, queries, "Expected a sequence here.");
		yaml_node_t *qlist[256];
		size_t nq = 0;
		if (query)
			qlist[nq++] = query;
		if (queries && queries->type == YAML_SEQUENCE_NODE)
			for (size_t i = 0; i < sc_yaml_len(queries) && nq < 256; i++)
				qlist[nq++] = sc_yaml_item(&c->y, queries, i);
		for (size_t i = 0; i < nq; i++) {
			if (qlist[i]->type != YAML_SCALAR_NODE) {
				NODE_DIAG(c, SC_RULES_ERROR, qlist[i], "Expected a scalar here.");
				continue;
			}
			set_sql(c, qlist[i]);
			if (edition < 2)
				add_diag_at(c, SC_RULES_ERROR, c->scalar_start, c->scalar_start + 1,
					    "Sync streams require edition 2 or later. Add a `config: {edition: 3}` block to the rules file.");
			else
				stream_query(c, info, accept, edition);
			c->sql = NULL;
		}
		if (edition >= 3)
			e3_unused(c, c->e3, global_ctes);
	}
	c->bucket = NULL;
	c->auto_subscribe = false;
}

/* ---- the config: block ----
 *
 * As the newer source reads it (from_yaml.ts #parseCompatibilityOptions,
 * #validateStorageVersion; compatibility.ts; StorageVersion.ts), with its
 * messages and places. The keys and their types are those of the schema
 * the reference ships (schema/sync_rules.json, "config"); a test checks
 * this list against that file. */
static const struct config_key {
	const char *name;
	enum { CK_EDITION, CK_BOOL, CK_PRECISION, CK_STORAGE } type;
	int fixed_in;      /* CK_BOOL: on by default from this edition (0: never) */
} config_keys[] = {
	{ "edition", CK_EDITION, 0 },
	{ "storage_version", CK_STORAGE, 0 },
	{ "timestamp_max_precision", CK_PRECISION, 0 },
	{ "timestamps_iso8601", CK_BOOL, 2 },
	{ "versioned_bucket_ids", CK_BOOL, 2 },
	{ "fixed_json_extract", CK_BOOL, 2 },
	{ "custom_postgres_types", CK_BOOL, 2 },
	{ "unstable_sqlite_expression_engine", CK_BOOL, 0 },
};

const char *sc_rules_config_key(size_t i)
{
	return i < sizeof config_keys / sizeof config_keys[0] ? config_keys[i].name : NULL;
}

/* A plain scalar the YAML core schema (what the service loads with)
 * resolves to a number, a boolean, null, or else a string. */
typedef enum { YV_STRING, YV_NUMBER, YV_BOOL, YV_NULL } yaml_value_type;

static yaml_value_type yaml_core_type(yaml_node_t *n, double *num, bool *b)
{
	const char *v = sc_yaml_scalar(n);
	if (!v || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return YV_STRING;
	if (!*v || strcmp(v, "~") == 0 || strcmp(v, "null") == 0 || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0)
		return YV_NULL;
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0) {
		*b = true;
		return YV_BOOL;
	}
	if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0) {
		*b = false;
		return YV_BOOL;
	}
	const char *p = v;
	if (*p == '+' || *p == '-')
		p++;
	if (strcmp(p, ".inf") == 0 || strcmp(p, ".Inf") == 0 || strcmp(p, ".INF") == 0) {
		*num = *v == '-' ? -1e308 : 1e308;
		return YV_NUMBER;
	}
	if (strcmp(v, ".nan") == 0 || strcmp(v, ".NaN") == 0 || strcmp(v, ".NAN") == 0) {
		*num = 0.5; /* not an integer, which is all that matters here */
		return YV_NUMBER;
	}
	if (strncmp(v, "0x", 2) == 0 || strncmp(v, "0o", 2) == 0) {
		const char *d = v + 2;
		if (!*d)
			return YV_STRING;
		for (const char *q = d; *q; q++)
			if (!(v[1] == 'x' ? isxdigit((unsigned char)*q) : (*q >= '0' && *q <= '7')))
				return YV_STRING;
		*num = (double)strtoll(d, NULL, v[1] == 'x' ? 16 : 8);
		return YV_NUMBER;
	}
	/* [-+]?(\.[0-9]+|[0-9]+(\.[0-9]*)?)([eE][-+]?[0-9]+)? */
	const char *q = p;
	size_t digits = 0;
	while (isdigit((unsigned char)*q))
		q++, digits++;
	if (*q == '.') {
		q++;
		while (isdigit((unsigned char)*q))
			q++, digits++;
	}
	if (!digits)
		return YV_STRING;
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!isdigit((unsigned char)*q))
			return YV_STRING;
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (*q)
		return YV_STRING;
	*num = strtod(v, NULL);
	return YV_NUMBER;
}

static int parse_config(rctx *c, yaml_node_t *config, yaml_node_t **edition_node, double *edition_value)
{
	if (config->type != YAML_MAPPING_NODE) {
		NODE_DIAG(c, SC_RULES_ERROR, config, "Expected a map here.");
		return 1;
	}
	size_t nkeys = sizeof config_keys / sizeof config_keys[0];
	int set[sizeof config_keys / sizeof config_keys[0]];  /* booleans: -1 unset, 0, 1 */
	bool precision = false;
	double edition = 1;
	for (size_t i = 0; i < nkeys; i++) {
		set[i] = -1;
		yaml_node_t *v = sc_yaml_get(&c->y, config, config_keys[i].name);
		if (!v)
			continue;
		if (v->type != YAML_SCALAR_NODE) {
			NODE_DIAG(c, SC_RULES_ERROR, v, "Expected a scalar here.");
			continue;
		}
		double num = 0;
		bool b = false;
		yaml_value_type t = yaml_core_type(v, &num, &b);
		switch (config_keys[i].type) {
		case CK_EDITION:
			if (t != YV_NUMBER) {
				NODE_DIAG(c, SC_RULES_ERROR, v, "must be numeric");
				break;
			}
			edition = num;
			*edition_node = v;
			*edition_value = num;
			break;
		case CK_BOOL:
			if (t != YV_BOOL)
				NODE_DIAG(c, SC_RULES_ERROR, v, "must be a boolean");
			else
				set[i] = b;
			break;
		case CK_PRECISION: {
			static const char *const allowed[] = { "seconds", "milliseconds", "microseconds", "nanoseconds", NULL };
			if (t != YV_STRING)
				NODE_DIAG(c, SC_RULES_ERROR, v, "must be a string");
			else if (!in_list(allowed, sc_yaml_scalar(v)))
				NODE_DIAG(c, SC_RULES_ERROR, v, "Unknown time precision, allowed are seconds, milliseconds, microseconds, nanoseconds");
			else
				precision = true;
			break;
		}
		case CK_STORAGE:
			if (t != YV_NUMBER)
				NODE_DIAG(c, SC_RULES_ERROR, v, "Storage version must be numeric");
			else if (num != 2 && num != 3)
				NODE_DIAG(c, SC_RULES_ERROR, v, "Storage version %s is not supported", sc_yaml_scalar(v));
			else if (num == 3)
				NODE_DIAG(c, SC_RULES_WARNING, v,
					  "Storage version 3 is unstable, and may cause unexpected behavior or stop functioning in any release");
			break;
		}
	}
	/* An option is on when set, else from the edition it is fixed in. */
#define CFG_ON(i) (set[i] >= 0 ? set[i] == 1 : config_keys[i].fixed_in && config_keys[i].fixed_in <= edition)
	if (precision && !CFG_ON(3))
		NODE_DIAG(c, SC_RULES_ERROR, config, "'timestamp_max_precision' requires 'timestamps_iso8601' to be enabled.");
	if (CFG_ON(7)) {
		if (edition < 3)
			NODE_DIAG(c, SC_RULES_ERROR, config, "Enabling unstable_sqlite_expression_engine requires edition: 3");
		else if (!CFG_ON(5))
			NODE_DIAG(c, SC_RULES_ERROR, config, "Enabling unstable_sqlite_expression_engine requires fixed_json_extract");
	}
	c->out->fixed_json_extract = CFG_ON(5);
#undef CFG_ON
	const char *names[sizeof config_keys / sizeof config_keys[0] + 1];
	for (size_t i = 0; i < nkeys; i++)
		names[i] = config_keys[i].name;
	names[nkeys] = NULL;
	bool bad = false;
	check_mapping_keys(c, config, names, "config", &bad);
	return edition >= 3 ? 3 : edition >= 2 ? 2 : 1;
}

/* Aliases make one node appear in two places; libyaml's loader resolves
 * them, so a node referenced twice is how they show. They are refused, as
 * are documents deeper than MAX_DEPTH (both are resource traps). */
static int check_shape(rctx *c, const char *name, sc_error *err)
{
	size_t n = (size_t)(c->y.doc.nodes.top - c->y.doc.nodes.start);
	if (n == 0)
		return 0; /* a document of comments only: no nodes */
	unsigned char *refs = sc_xcalloc(n + 1, 1);
	int *depth = sc_xcalloc(n + 1, sizeof *depth);
	int rc = 0;
	depth[1] = 1;
	/* Nodes are numbered in document order: a parent comes before its
	 * children, so one pass gives every depth. */
	for (size_t i = 1; i <= n && rc == 0; i++) {
		yaml_node_t *node = yaml_document_get_node(&c->y.doc, (int)i);
		int kids[2];
		if (node->type == YAML_SEQUENCE_NODE) {
			for (yaml_node_item_t *it = node->data.sequence.items.start; it < node->data.sequence.items.top; it++) {
				if (refs[*it]++ || (size_t)*it <= i) {
					rc = -1;
					break;
				}
				depth[*it] = depth[i] + 1;
			}
		} else if (node->type == YAML_MAPPING_NODE) {
			for (yaml_node_pair_t *p = node->data.mapping.pairs.start; p < node->data.mapping.pairs.top; p++) {
				kids[0] = p->key;
				kids[1] = p->value;
				for (int k = 0; k < 2; k++) {
					if (refs[kids[k]]++ || (size_t)kids[k] <= i) {
						rc = -1;
						break;
					}
					depth[kids[k]] = depth[i] + 1;
				}
			}
		}
		if (rc == 0 && depth[i] > MAX_DEPTH)
			rc = -2;
	}
	if (rc == -1)
		sc_error_set(err, SC_EXIT_USAGE, "%s: YAML anchors and aliases (&name, *name) are not supported in sync rules; write the value out", name);
	else if (rc == -2)
		sc_error_set(err, SC_EXIT_USAGE, "%s: nested deeper than %d levels: not a sync rules file", name, MAX_DEPTH);
	free(refs);
	free(depth);
	return rc ? -1 : 0;
}

int sc_rules_validate(const char *text, size_t len, const char *name, sc_rules_result *out, sc_error *err)
{
	memset(out, 0, sizeof *out);
	out->text = text;
	out->len = len;
	out->buckets = cJSON_CreateArray();
	out->source_tables = cJSON_CreateArray();
	out->output_tables = cJSON_CreateArray();
	if (len > SC_RULES_MAX_BYTES) {
		sc_error_set(err, SC_EXIT_USAGE, "%s is larger than %u bytes: not a sync rules file", name, SC_RULES_MAX_BYTES);
		return -1;
	}
	if (memchr(text, '\0', len)) {
		sc_error_set(err, SC_EXIT_USAGE, "%s holds NUL bytes: not a YAML text file", name);
		return -1;
	}
	bool blank = true;
	for (size_t i = 0; i < len && blank; i++)
		blank = isspace((unsigned char)text[i]);
	if (blank) {
		sc_error_set(err, SC_EXIT_USAGE, "%s is empty: a sync rules file needs bucket_definitions or streams", name);
		return -1;
	}
	rctx c;
	memset(&c, 0, sizeof c);
	c.text = text;
	c.len = len;
	c.out = out;
	if (sc_yaml_load(&c.y, text, len, name, err) != 0)
		return -1;
	index_lines(&c);
	int rc = -1;
	if (check_shape(&c, name, err) != 0)
		goto done;
	yaml_node_t *root = sc_yaml_root(&c.y);
	rc = 0;
	if (!root || root->type != YAML_MAPPING_NODE) {
		add_diag_at(&c, SC_RULES_ERROR, 0, 1, "'bucket_definitions' or 'streams' is required");
		goto done;
	}
	static const char *const top[] = { "bucket_definitions", "streams", "config", "with", "event_definitions", NULL };
	bool bad = false;
	int edition = 1;
	yaml_node_t *config = sc_yaml_get(&c.y, root, "config");
	yaml_node_t *edition_node = NULL;
	double edition_value = 1;
	if (config)
		edition = parse_config(&c, config, &edition_node, &edition_value);
	out->edition = edition;
	yaml_node_t *buckets = sc_yaml_get(&c.y, root, "bucket_definitions");
	yaml_node_t *strms = sc_yaml_get(&c.y, root, "streams");
	if (edition >= 3 && !strms)
		add_diag_at(&c, SC_RULES_ERROR, (size_t)-1, 0, "'streams' are required.");
	else if (!buckets && !strms)
		add_diag_at(&c, SC_RULES_ERROR, (size_t)-1, 0, "'bucket_definitions' or 'streams' is required");
	if (edition >= 3 && buckets) {
		NODE_DIAG(&c, SC_RULES_ERROR, buckets,
			  "'bucket_definitions' are not supported by the new compiler. Consider using https://powersync-community.github.io/bucket-definitions-to-sync-streams/ to translate them to streams.");
	} else if (buckets) {
		bucket_definitions(&c, buckets);
	}
	e3ctx e3;
	memset(&e3, 0, sizeof e3);
	c.e3 = &e3;
	yaml_node_t *with = sc_yaml_get(&c.y, root, "with");
	if (with && edition < 3)
		NODE_DIAG(&c, SC_RULES_ERROR, with, "Common table expressions are not supported without the `sync_config_compiler` option.");
	else if (with)
		e3_ctes(&c, &e3, with);
	size_t nglobal = e3.nctes;
	if (strms)
		streams(&c, strms, edition);
	if (edition >= 3) {
		e3.nctes = nglobal;
		e3_unused(&c, &e3, 0);
	}
	free(e3.ctes);
	c.e3 = NULL;
	check_mapping_keys(&c, root, top, "sync rules", &bad);
	/* The JSON schema (schema/sync_rules.json) runs last, and only when
	 * nothing else is fatal: of its rules, only the edition's range is
	 * not checked above. */
	if (edition_node && sc_rules_count(out, SC_RULES_ERROR) == 0) {
		if (edition_value != (double)(long)edition_value)
			NODE_DIAG(&c, SC_RULES_ERROR, edition_node, "must be integer");
		else if (edition_value < 1)
			NODE_DIAG(&c, SC_RULES_ERROR, edition_node, "must be >= 1");
		else if (edition_value >= 4)
			NODE_DIAG(&c, SC_RULES_ERROR, edition_node, "must be < 4");
	}
	c.bucket = NULL;
done:
	free(c.rewritten);
	free(c.inserted);
	for (size_t i = 0; i < c.ndeferred; i++)
		free(c.deferred[i].msg);
	free(c.deferred);
	free(c.map);
	free(c.line_starts);
	sc_yaml_free(&c.y);
	return rc;
}

size_t sc_rules_count(const sc_rules_result *r, sc_rules_severity sev)
{
	size_t n = 0;
	for (size_t i = 0; i < r->ndiags; i++)
		n += r->diags[i].severity == sev;
	return n;
}

void sc_rules_result_free(sc_rules_result *r)
{
	for (size_t i = 0; i < r->ndiags; i++) {
		free(r->diags[i].message);
		free(r->diags[i].bucket);
		free(r->diags[i].query);
	}
	free(r->diags);
	for (size_t i = 0; i < r->nrefs; i++) {
		sc_rules_table_ref *t = &r->refs[i];
		free(t->schema);
		free(t->table);
		for (size_t k = 0; k < t->ncolumns; k++)
			free(t->columns[k]);
		free(t->columns);
		free(t->col_offsets);
		free(t->bucket);
	}
	free(r->refs);
	for (size_t i = 0; i < r->nqueries; i++) {
		free(r->queries[i].definition);
		free(r->queries[i].cte_name);
		free(r->queries[i].sql);
		free(r->queries[i].inserted);
		cJSON_Delete(r->queries[i].tree);
	}
	free(r->queries);
	cJSON_Delete(r->buckets);
	cJSON_Delete(r->source_tables);
	cJSON_Delete(r->output_tables);
	memset(r, 0, sizeof *r);
}

/* ---- live checks ---- */

static size_t edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b);
	if (la > 64 || lb > 64)
		return 99;
	size_t d[65][65];
	for (size_t i = 0; i <= la; i++)
		d[i][0] = i;
	for (size_t j = 0; j <= lb; j++)
		d[0][j] = j;
	for (size_t i = 1; i <= la; i++)
		for (size_t j = 1; j <= lb; j++) {
			size_t sub = d[i - 1][j - 1] + (tolower((unsigned char)a[i - 1]) != tolower((unsigned char)b[j - 1]));
			size_t del = d[i - 1][j] + 1, ins = d[i][j - 1] + 1;
			d[i][j] = sub < del ? (sub < ins ? sub : ins) : (del < ins ? del : ins);
		}
	return d[la][lb];
}

/* The nearest of the candidates (a PGresult column), if near enough. */
static const char *did_you_mean(const char *name, PGresult *res, int col)
{
	const char *best = NULL;
	size_t bestd = 99, limit = strlen(name) / 3 + 1;
	for (int i = 0; i < PQntuples(res); i++) {
		const char *cand = sc_pg_get(res, i, col);
		size_t d = edit_distance(name, cand);
		if (d < bestd) {
			bestd = d;
			best = cand;
		}
	}
	return bestd <= limit ? best : NULL;
}

static bool json_has(const cJSON *arr, const char *s)
{
	const cJSON *x;
	cJSON_ArrayForEach(x, arr)
		if (cJSON_IsString(x) && strcmp(x->valuestring, s) == 0)
			return true;
	return false;
}

/* Everything the checks need, for every table the rules name, in one
 * statement whatever their number (a round trip per table is 30 s over a
 * 30 ms link for 500 tables): the tables come as one JSON parameter. From
 * Postgres 15, pg_publication_tables also says which columns are published
 * (attnames: all of them without a column list) and the row filter. */
static const char live_sql_head[] =
	"SELECT w.i, c.oid IS NOT NULL, c.relreplident,"
	" EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisprimary),"
	" EXISTS (SELECT 1 FROM pg_index x WHERE x.indrelid = c.oid AND x.indisreplident),"
	" pt.tablename IS NOT NULL,"
	" EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $2),"
	" CASE WHEN c.oid IS NOT NULL THEN format('%I.%I', n.nspname, c.relname) END, quote_ident($2),"
	" (SELECT json_agg(a.attname ORDER BY a.attnum) FROM pg_attribute a"
	"   WHERE a.attrelid = c.oid AND a.attnum > 0 AND NOT a.attisdropped),"
	" CASE WHEN w.pattern THEN (SELECT count(*) FROM pg_class c2 JOIN pg_namespace n2 ON n2.oid = c2.relnamespace"
	"   WHERE n2.nspname = w.schema AND c2.relname LIKE w.tbl AND c2.relkind IN ('r', 'p')) END,";
static const char live_sql_15[] = " to_json(pt.attnames), pt.rowfilter";
static const char live_sql_old[] = " NULL::json, NULL::text";
static const char live_sql_tail[] =
	" FROM json_to_recordset($1::json) AS w(i int, schema text, tbl text, pattern bool)"
	" LEFT JOIN pg_namespace n ON n.nspname = w.schema AND NOT w.pattern"
	" LEFT JOIN pg_class c ON c.relnamespace = n.oid AND c.relname = w.tbl AND c.relkind IN ('r', 'p')"
	" LEFT JOIN pg_publication_tables pt ON pt.pubname = $2 AND pt.schemaname = n.nspname AND pt.tablename = c.relname"
	" ORDER BY w.i";

int sc_rules_check_live(sc_pg *pg, const char *publication, sc_rules_result *r, sc_error *err)
{
	rctx c;
	memset(&c, 0, sizeof c);
	c.text = r->text;
	c.len = r->len;
	c.out = r;
	index_lines(&c);
	size_t nrefs = r->nrefs;
	if (nrefs == 0) {
		free(c.line_starts);
		return 0;
	}
	PGresult *alltables = sc_pg_exec(pg,
		"SELECT n.nspname || '.' || c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
		" WHERE c.relkind IN ('r', 'p') AND n.nspname NOT IN ('pg_catalog', 'information_schema')", 0, NULL, err);
	if (!alltables) {
		free(c.line_starts);
		return -1;
	}
	cJSON *want = cJSON_CreateArray();
	for (size_t i = 0; i < nrefs; i++) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddNumberToObject(o, "i", (double)i);
		cJSON_AddStringToObject(o, "schema", r->refs[i].schema);
		cJSON_AddStringToObject(o, "tbl", r->refs[i].table);
		cJSON_AddBoolToObject(o, "pattern", strchr(r->refs[i].table, '%') != NULL);
		cJSON_AddItemToArray(want, o);
	}
	char *wantj = cJSON_PrintUnformatted(want);
	cJSON_Delete(want);
	char *sql = sc_xasprintf("%s%s%s", live_sql_head, pg->server_version >= 150000 ? live_sql_15 : live_sql_old, live_sql_tail);
	const char *params[] = { wantj, publication };
	PGresult *res = sc_pg_exec(pg, sql, 2, params, err);
	free(sql);
	free(wantj);
	if (!res) {
		PQclear(alltables);
		free(c.line_starts);
		return -1;
	}
	for (int row = 0; row < PQntuples(res); row++) {
		long long i = sc_pg_get_ll(res, row, 0, -1);
		if (i < 0 || (size_t)i >= nrefs)
			continue;
		sc_rules_table_ref *t = &r->refs[i];
		c.bucket = t->bucket;
		size_t end = t->offset + strlen(t->table);
		if (strchr(t->table, '%')) {
			if (sc_pg_get_ll(res, row, 10, 0) == 0)
				add_diag_at(&c, SC_RULES_WARNING, t->offset, end, "No table matches the pattern %s.%s", t->schema, t->table);
			continue;
		}
		if (!sc_pg_get_bool(res, row, 1)) {
			char *full = sc_xasprintf("%s.%s", t->schema, t->table);
			const char *near = did_you_mean(full, alltables, 0);
			add_diag_at(&c, SC_RULES_ERROR, t->offset, end, "Table %s not found in the database%s%s%s", full,
				    near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
			free(full);
			continue;
		}
		const char *qname = sc_pg_get(res, row, 7), *qpub = sc_pg_get(res, row, 8);
		const char *ri = sc_pg_get(res, row, 2);
		char ident = ri ? ri[0] : 'd';
		bool has_pk = sc_pg_get_bool(res, row, 3), has_ri = sc_pg_get_bool(res, row, 4);
		bool in_pub = sc_pg_get_bool(res, row, 5);
		if (!in_pub) {
			if (sc_pg_get_bool(res, row, 6))
				add_diag_at(&c, SC_RULES_ERROR, t->offset, end,
					    "Table %s is not in publication %s: its changes never reach the sync service (ALTER PUBLICATION %s ADD TABLE %s;)",
					    qname, publication, qpub, qname);
			else
				add_diag_at(&c, SC_RULES_ERROR, t->offset, end,
					    "Publication %s does not exist, so table %s is not replicated (CREATE PUBLICATION %s FOR ALL TABLES;)",
					    publication, qname, qpub);
		}
		if (!(ident == 'f' || (ident == 'd' && has_pk) || (ident == 'i' && has_ri)))
			add_diag_at(&c, SC_RULES_ERROR, t->offset, end,
				    "Table %s has no primary key or replica identity: its updates and deletes cannot be replicated (ALTER TABLE %s REPLICA IDENTITY FULL;)",
				    qname, qname);
		const char *colsj = sc_pg_get(res, row, 9);
		cJSON *cols = cJSON_Parse(colsj ? colsj : "[]");
		const char *pubj = sc_pg_get(res, row, 11);
		cJSON *pubcols = in_pub && pubj ? cJSON_Parse(pubj) : NULL;
		for (size_t k = 0; k < t->ncolumns; k++) {
			size_t off = (size_t)t->col_offsets[k];
			if (!json_has(cols, t->columns[k])) {
				/* did_you_mean reads a PGresult column; the names are few. */
				const char *near = NULL;
				size_t bestd = 99, limit = strlen(t->columns[k]) / 3 + 1;
				const cJSON *x;
				cJSON_ArrayForEach(x, cols) {
					size_t d = edit_distance(t->columns[k], x->valuestring);
					if (d < bestd) {
						bestd = d;
						near = x->valuestring;
					}
				}
				if (bestd > limit)
					near = NULL;
				add_diag_at(&c, SC_RULES_ERROR, off, off + strlen(t->columns[k]), "Column %s not found in table %s%s%s%s",
					    t->columns[k], qname, near ? " (did you mean " : "", near ? near : "", near ? "?)" : "");
			} else if (pubcols && !json_has(pubcols, t->columns[k])) {
				add_diag_at(&c, SC_RULES_ERROR, off, off + strlen(t->columns[k]),
					    "Column %s of table %s is not published by publication %s (its column list): it would sync as NULL (ALTER PUBLICATION %s SET TABLE %s;)",
					    t->columns[k], qname, publication, qpub, qname);
			}
		}
		if (pubcols && t->star) {
			sc_buf missing = SC_BUF_INIT;
			const cJSON *x;
			cJSON_ArrayForEach(x, cols)
				if (!json_has(pubcols, x->valuestring))
					sc_buf_printf(&missing, "%s%s", missing.len ? ", " : "", x->valuestring);
			if (missing.len)
				add_diag_at(&c, SC_RULES_WARNING, t->offset, end,
					    "Publication %s publishes only some columns of %s: SELECT * syncs without %s (ALTER PUBLICATION %s SET TABLE %s;)",
					    publication, qname, missing.data, qpub, qname);
			sc_buf_free(&missing);
		}
		const char *filter = in_pub ? sc_pg_get(res, row, 12) : NULL;
		if (filter)
			add_diag_at(&c, SC_RULES_WARNING, t->offset, end,
				    "Publication %s has a row filter on %s (WHERE %s): rows it leaves out never sync",
				    publication, qname, filter);
		cJSON_Delete(cols);
		cJSON_Delete(pubcols);
	}
	PQclear(res);
	PQclear(alltables);
	free(c.line_starts);
	return 0;
}

/* ---- output ---- */

static const char *line_text(const sc_rules_result *r, int line, size_t *len)
{
	const char *p = r->text, *end = r->text + r->len;
	for (int l = 1; l < line && p < end; l++) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		if (!nl)
			return NULL;
		p = nl + 1;
	}
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	*len = nl ? (size_t)(nl - p) : (size_t)(end - p);
	return p;
}

static int cmp_diag(const void *a, const void *b)
{
	const sc_rules_diag *x = a, *y = b;
	if (x->line != y->line)
		return x->line - y->line;
	return x->column - y->column;
}

char *sc_rules_render(const sc_rules_result *r, const char *name, bool color)
{
	sc_buf b = SC_BUF_INIT;
	sc_rules_diag *sorted = sc_xmalloc((r->ndiags ? r->ndiags : 1) * sizeof *sorted);
	if (r->ndiags)
		memcpy(sorted, r->diags, r->ndiags * sizeof *sorted);
	qsort(sorted, r->ndiags, sizeof *sorted, cmp_diag);
	for (size_t i = 0; i < r->ndiags; i++) {
		const sc_rules_diag *d = &sorted[i];
		const char *sev = d->severity == SC_RULES_ERROR ? "error" : "warning";
		const char *on = color ? (d->severity == SC_RULES_ERROR ? "\033[1;31m" : "\033[1;33m") : "";
		const char *off = color ? "\033[0m" : "";
		if (d->line)
			sc_buf_printf(&b, "%s:%d:%d: %s%s:%s %s", name, d->line, d->column, on, sev, off, d->message);
		else
			sc_buf_printf(&b, "%s: %s%s:%s %s", name, on, sev, off, d->message);
		if (d->bucket)
			sc_buf_printf(&b, " [%s]", d->bucket);
		sc_buf_putc(&b, '\n');
		size_t len;
		const char *text = d->line ? line_text(r, d->line, &len) : NULL;
		if (!text)
			continue;
		sc_buf_printf(&b, "%5d | ", d->line);
		sc_buf_append(&b, text, len);
		sc_buf_puts(&b, "\n      | ");
		/* The caret under the token: tabs kept so it lines up. */
		int col = 1;
		const char *p = text;
		for (; col < d->column && p < text + len; p++) {
			if (((unsigned char)*p & 0xC0) == 0x80)
				continue;
			sc_buf_putc(&b, *p == '\t' ? '\t' : ' ');
			col++;
		}
		sc_buf_puts(&b, on);
		sc_buf_putc(&b, '^');
		int width = d->end_line == d->line ? d->end_column - d->column : 1;
		for (int k = 1; k < width && k < 80; k++)
			sc_buf_putc(&b, '~');
		sc_buf_puts(&b, off);
		sc_buf_putc(&b, '\n');
	}
	free(sorted);
	return sc_buf_take(&b);
}

cJSON *sc_rules_json(const sc_rules_result *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "valid", sc_rules_count(r, SC_RULES_ERROR) == 0);
	cJSON *errs = cJSON_AddArrayToObject(o, "errors");
	sc_rules_diag *sorted = sc_xmalloc((r->ndiags ? r->ndiags : 1) * sizeof *sorted);
	if (r->ndiags)
		memcpy(sorted, r->diags, r->ndiags * sizeof *sorted);
	qsort(sorted, r->ndiags, sizeof *sorted, cmp_diag);
	for (size_t i = 0; i < r->ndiags; i++) {
		const sc_rules_diag *d = &sorted[i];
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "severity", d->severity == SC_RULES_ERROR ? "error" : "warning");
		cJSON_AddStringToObject(e, "message", d->message);
		if (d->line) {
			cJSON_AddNumberToObject(e, "line", d->line);
			cJSON_AddNumberToObject(e, "column", d->column);
			cJSON_AddNumberToObject(e, "end_line", d->end_line);
			cJSON_AddNumberToObject(e, "end_column", d->end_column);
		} else {
			cJSON_AddNullToObject(e, "line");
			cJSON_AddNullToObject(e, "column");
			cJSON_AddNullToObject(e, "end_line");
			cJSON_AddNullToObject(e, "end_column");
		}
		if (d->bucket)
			cJSON_AddStringToObject(e, "bucket", d->bucket);
		else
			cJSON_AddNullToObject(e, "bucket");
		if (d->query)
			cJSON_AddStringToObject(e, "query", d->query);
		else
			cJSON_AddNullToObject(e, "query");
		cJSON_AddItemToArray(errs, e);
	}
	free(sorted);
	cJSON_AddItemToObject(o, "buckets", cJSON_Duplicate(r->buckets, 1));
	cJSON_AddItemToObject(o, "source_tables", cJSON_Duplicate(r->source_tables, 1));
	cJSON_AddItemToObject(o, "output_tables", cJSON_Duplicate(r->output_tables, 1));
	return o;
}
