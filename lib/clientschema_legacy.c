/* Result columns of bucket definitions' data queries and of edition-2
 * streams, typed as the service types them: SqlDataQuery.ts and
 * streams/from_sql.ts build one extractor per result column from
 * SqlTools.compileRowValueExtractor (sql_filters.ts); its
 * getColumnDefinition gives the type. A clause whose arguments are all
 * static is evaluated when the rules are compiled (composeFunction), so a
 * constant's type is that of its value: 7 / 2 is an integer (3), 1 / 0 is
 * null (typed text), '{"a":1.0}' ->> 'a' is a real. Functions and casts
 * follow sql_functions.ts and cast.ts; JSON numbers are integers when
 * their text is (service-jsonbig). */
#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "buf.h"
#include "clientschema_int.h"
#include "json.h"

/* ---- values, as the service's JavaScript holds them ---- */

typedef enum { V_UNDEF, V_NULL, V_INT, V_REAL, V_TEXT, V_BLOB } vkind;

typedef struct sval {
	vkind k;
	long long i;   /* V_INT (a BigInt there; 64 bits here) */
	double r;      /* V_REAL (a number) */
	char *s;       /* V_TEXT, V_BLOB */
	size_t len;
} sval;

static sval v_null(void) { sval v = { V_NULL, 0, 0, NULL, 0 }; return v; }
static sval v_int(long long i) { sval v = { V_INT, i, 0, NULL, 0 }; return v; }
static sval v_real(double r) { sval v = { V_REAL, 0, r, NULL, 0 }; return v; }

static sval v_textn(const char *s, size_t n)
{
	sval v = { V_TEXT, 0, 0, sc_xstrndup(s, n), n };
	return v;
}

static sval v_text(const char *s) { return v_textn(s, strlen(s)); }

static sval v_take_text(char *s)
{
	sval v = { V_TEXT, 0, 0, s, strlen(s) };
	return v;
}

static sval v_blob(const char *s, size_t n)
{
	sval v = { V_BLOB, 0, 0, sc_xmalloc(n + 1), n };
	memcpy(v.s, s, n);
	v.s[n] = '\0';
	return v;
}

static void v_free(sval *v)
{
	free(v->s);
	v->s = NULL;
}

static sval v_copy(const sval *v)
{
	sval c = *v;
	if (v->s) {
		c.s = sc_xmalloc(v->len + 1);
		memcpy(c.s, v->s, v->len + 1);
	}
	return c;
}

static bool v_nullish(const sval *v) { return v->k == V_NULL || v->k == V_UNDEF; }

/* sqliteTypeOf, as ExpressionType flags. */
static int v_flags(const sval *v)
{
	switch (v->k) {
	case V_INT: return SC_CS_INTEGER;
	case V_REAL: return SC_CS_REAL;
	case V_TEXT: return SC_CS_TEXT;
	case V_BLOB: return SC_CS_BLOB;
	default: return SC_CS_NONE;
	}
}

/* Number.prototype.toString: the shortest text that reads back. */
static char *js_number(double d)
{
	if (isnan(d))
		return sc_xstrdup("NaN");
	if (isinf(d))
		return sc_xstrdup(d > 0 ? "Infinity" : "-Infinity");
	if (d == 0)
		return sc_xstrdup("0");
	char buf[64];
	if (fabs(d) < 1e21 && d == floor(d)) {
		snprintf(buf, sizeof buf, "%.0f", d);
		return sc_xstrdup(buf);
	}
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof buf, "%.*g", p, d);
		if (strtod(buf, NULL) == d)
			break;
	}
	/* C writes 1e-07 and 1e+21, JavaScript 1e-7 and 1e+21. */
	char *e = strchr(buf, 'e');
	if (e) {
		char sign = e[1];
		char *digits = e + 2;
		while (*digits == '0' && digits[1])
			digits++;
		char out[64];
		snprintf(out, sizeof out, "%.*se%c%s", (int)(e - buf), buf, sign, digits);
		return sc_xstrdup(out);
	}
	return sc_xstrdup(buf);
}

/* castAsText: NULL for null. */
static char *as_text(const sval *v)
{
	switch (v->k) {
	case V_INT: return sc_xasprintf("%lld", v->i);
	case V_REAL: return js_number(v->r);
	case V_TEXT:
	case V_BLOB: return sc_xstrndup(v->s, v->len);
	default: return NULL;
	}
}

/* cast.ts parseNumeric: /^\s*([+\-]?)(?:(\d+)(\.\d*)?|\.(\d+))(e[+\-]?\d+)?/i */
static sval parse_numeric(const char *t)
{
	const char *p = t;
	while (isspace((unsigned char)*p))
		p++;
	const char *start = p;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	const char *digits = p;
	bool frac = false, expo = false;
	if (isdigit((unsigned char)*p)) {
		while (isdigit((unsigned char)*p))
			p++;
		if (*p == '.') {
			frac = true;
			p++;
			while (isdigit((unsigned char)*p))
				p++;
		}
	} else if (*p == '.' && isdigit((unsigned char)p[1])) {
		frac = true;
		p++;
		while (isdigit((unsigned char)*p))
			p++;
	} else {
		return v_int(0);
	}
	if ((*p == 'e' || *p == 'E')) {
		const char *q = p + 1;
		if (*q == '+' || *q == '-')
			q++;
		if (isdigit((unsigned char)*q)) {
			expo = true;
			while (isdigit((unsigned char)*q))
				q++;
			p = q;
		}
	}
	if (frac || expo) {
		char *s = sc_xstrndup(start, (size_t)(p - start));
		double d = strtod(s, NULL);
		free(s);
		return isnan(d) ? v_int(0) : v_real(d);
	}
	unsigned long long x = 0;
	for (const char *q = digits; q < p; q++)
		x = x * 10 + (unsigned long long)(*q - '0');
	return v_int(neg ? (long long)(0 - x) : (long long)x);
}

/* JavaScript's parseFloat: the longest prefix that is a number. */
static double js_parse_float(const char *t)
{
	const char *p = t;
	while (isspace((unsigned char)*p))
		p++;
	const char *q = p;
	if (*q == '+' || *q == '-')
		q++;
	if (strncmp(q, "Infinity", 8) == 0)
		return *p == '-' ? -INFINITY : INFINITY;
	/* strtod takes hex and "inf"/"nan", which parseFloat does not. */
	if ((q[0] == '0' && (q[1] == 'x' || q[1] == 'X')) || !(isdigit((unsigned char)*q) || *q == '.'))
		return q[0] == '0' ? (*p == '-' ? -0.0 : 0.0) : NAN;
	char *end;
	double d = strtod(p, &end);
	return end == p ? NAN : d;
}

/* cast.ts parseBigInt: /^\s*([+\-]?)(\d+)/ */
static long long parse_bigint(const char *t)
{
	const char *p = t;
	while (isspace((unsigned char)*p))
		p++;
	bool neg = false;
	if (*p == '+' || *p == '-')
		neg = *p++ == '-';
	unsigned long long x = 0;
	while (isdigit((unsigned char)*p))
		x = x * 10 + (unsigned long long)(*p++ - '0');
	return neg ? (long long)(0 - x) : (long long)x;
}

/* cast.ts cast(); null stays null. */
static sval cast_to(const sval *v, const char *to)
{
	if (v_nullish(v))
		return v_null();
	if (strcmp(to, "text") == 0)
		return v_take_text(as_text(v));
	if (strcmp(to, "numeric") == 0) {
		if (v->k == V_TEXT || v->k == V_BLOB)
			return parse_numeric(v->s);
		return v_copy(v);
	}
	if (strcmp(to, "real") == 0) {
		if (v->k == V_TEXT || v->k == V_BLOB) {
			double d = js_parse_float(v->s);
			return v_real(isnan(d) ? 0.0 : d);
		}
		return v_real(v->k == V_REAL ? v->r : (double)v->i);
	}
	if (strcmp(to, "integer") == 0) {
		if (v->k == V_TEXT || v->k == V_BLOB)
			return v_int(parse_bigint(v->s));
		if (v->k == V_REAL)
			return v_int(isfinite(v->r) ? (long long)floor(v->r) : 0);
		return v_copy(v);
	}
	/* blob */
	char *t = as_text(v);
	sval b = v_blob(t, strlen(t));
	free(t);
	return b;
}

/* sqliteBool */
static bool v_bool(const sval *v)
{
	switch (v->k) {
	case V_INT: return v->i != 0;
	case V_REAL: return v->r != 0 && !isnan(v->r);
	case V_TEXT: {
		/* parseInt(value): sign, digits (or 0x and hex digits); NaN is false. */
		const char *p = v->s;
		while (isspace((unsigned char)*p))
			p++;
		if (*p == '+' || *p == '-')
			p++;
		if (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) {
			p += 2;
			bool any = false;
			while (isxdigit((unsigned char)*p))
				any = any || *p++ != '0';
			return any;
		}
		bool any = false;
		while (isdigit((unsigned char)*p))
			any = any || *p++ != '0';
		return any;
	}
	default: return false;
	}
}

/* ---- the compile-time evaluation ---- */

typedef struct lctx {
	cs_compute *c;
	const sc_cs_source_table *table;   /* the source table of this pass */
	bool have_db;
	bool fixed_json;                   /* compatibility: fixed_json_extract */
	bool thrown;
	char thrown_msg[256];
} lctx;

static sval throw_js(lctx *L, const char *msg)
{
	if (!L->thrown) {
		L->thrown = true;
		snprintf(L->thrown_msg, sizeof L->thrown_msg, "%s", msg);
	}
	return v_null();
}

/* compare(): SQLite's ordering of mixed types (sql_functions.ts). */
static int type_order(const sval *v)
{
	switch (v->k) {
	case V_INT:
	case V_REAL: return 1;
	case V_TEXT: return 2;
	case V_BLOB: return 3;
	default: return 0;
	}
}

static int compare(lctx *L, const sval *a, const sval *b)
{
	if (v_nullish(a) && v_nullish(b))
		return 0;
	bool an = a->k == V_INT || a->k == V_REAL, bn = b->k == V_INT || b->k == V_REAL;
	if (an && bn) {
		if (a->k == V_INT && b->k == V_INT)
			return a->i == b->i ? 0 : a->i > b->i ? 1 : -1;
		double x = a->k == V_INT ? (double)a->i : a->r, y = b->k == V_INT ? (double)b->i : b->r;
		return x == y ? 0 : x > y ? 1 : -1;
	}
	if (a->k == V_TEXT && b->k == V_TEXT) {
		int d = strcmp(a->s, b->s);
		return d == 0 ? 0 : d > 0 ? 1 : -1;
	}
	if (a->k == V_BLOB && b->k == V_BLOB) {
		throw_js(L, "Comparing blobs is not supported currently");
		return 0;
	}
	return type_order(a) - type_order(b);
}

static sval do_math(const char *op, const sval *a, const sval *b)
{
	if (v_nullish(a) || v_nullish(b))
		return v_null();
	sval na = cast_to(a, "numeric"), nb = cast_to(b, "numeric");
	bool nb_zero = nb.k == V_INT ? nb.i == 0 : nb.r == 0;
	if (*op == '/' && nb_zero)
		return v_null();
	if (na.k == V_INT && nb.k == V_INT) {
		/* BigInt arithmetic; wrapping where a BigInt would grow. */
		unsigned long long x = (unsigned long long)na.i, y = (unsigned long long)nb.i;
		switch (*op) {
		case '+': return v_int((long long)(x + y));
		case '-': return v_int((long long)(x - y));
		case '*': return v_int((long long)(x * y));
		default:
			if (na.i == INT64_MIN && nb.i == -1)
				return v_int(INT64_MIN);
			return v_int(na.i / nb.i);
		}
	}
	double x = na.k == V_INT ? (double)na.i : na.r, y = nb.k == V_INT ? (double)nb.i : nb.r;
	switch (*op) {
	case '+': return v_real(x + y);
	case '-': return v_real(x - y);
	case '*': return v_real(x * y);
	default: return v_real(x / y);
	}
}

/* ---- JSON (JSONBig: integers as BigInt, the rest as numbers) ---- */

typedef struct jdoc {
	cJSON *root;
	const cJSON **nums;   /* number nodes in document order */
	bool *is_int;         /* whether each one's text is an integer */
	size_t n;
} jdoc;

static void collect_numbers(jdoc *d, const cJSON *n)
{
	for (; n; n = n->next) {
		if (cJSON_IsNumber(n)) {
			d->nums = sc_xrealloc(d->nums, (d->n + 1) * sizeof *d->nums);
			d->nums[d->n++] = n;
		}
		collect_numbers(d, n->child);
	}
}

/* Parses JSON text; false (and the error JSONBig.parse throws) when it is
 * not JSON. */
static bool jdoc_parse(lctx *L, jdoc *d, const char *text)
{
	memset(d, 0, sizeof d[0]);
	/* As JSON.parse: raw controls in strings and trailing text refused. */
	char why[160];
	d->root = sc_json_parse(text, strlen(text), why, sizeof why);
	if (!d->root) {
		throw_js(L, "invalid JSON");
		return false;
	}
	collect_numbers(d, d->root);
	/* The number tokens of the text, in order: integers have no '.', 'e'. */
	d->is_int = sc_xcalloc(d->n + 1, sizeof *d->is_int);
	size_t k = 0;
	for (const char *p = text; *p && k < d->n; p++) {
		if (*p == '"') {
			for (p++; *p && *p != '"'; p++)
				if (*p == '\\' && p[1])
					p++;
			if (!*p)
				break;
			continue;
		}
		if (*p == '-' || isdigit((unsigned char)*p)) {
			bool integer = true;
			while (*p == '-' || *p == '+' || isdigit((unsigned char)*p) || *p == '.' || *p == 'e' || *p == 'E') {
				if (*p == '.' || *p == 'e' || *p == 'E')
					integer = false;
				p++;
			}
			d->is_int[k++] = integer;
			p--;
		}
	}
	return true;
}

static void jdoc_free(jdoc *d)
{
	cJSON_Delete(d->root);
	free(d->nums);
	free(d->is_int);
}

static bool jdoc_is_int(const jdoc *d, const cJSON *n)
{
	for (size_t i = 0; i < d->n; i++)
		if (d->nums[i] == n)
			return d->is_int[i];
	return false;
}

/* jsonValueToSqlite */
static sval json_to_sqlite(const jdoc *d, const cJSON *n, bool fixed)
{
	if (!n)
		return v_null();
	if (cJSON_IsBool(n))
		return v_int(cJSON_IsTrue(n));
	if (cJSON_IsNull(n))
		return fixed ? v_null() : v_text("null");
	if (cJSON_IsObject(n) || cJSON_IsArray(n))
		return v_take_text(cJSON_PrintUnformatted(n));
	if (cJSON_IsString(n))
		return v_text(n->valuestring);
	if (cJSON_IsNumber(n))
		return jdoc_is_int(d, n) ? v_int((long long)n->valuedouble) : v_real(n->valuedouble);
	return v_null();
}

/* jsonExtract / jsonExtractFromRecord; op is "json_extract", "->" or "->>". */
static sval json_extract(lctx *L, const sval *src, const sval *path, const char *op)
{
	char *text = as_text(src);
	if (!text || v_nullish(path)) {
		free(text);
		return v_null();
	}
	jdoc d;
	if (!jdoc_parse(L, &d, text)) {
		free(text);
		return v_null();
	}
	free(text);
	char *pt = as_text(path);
	bool proper = pt[0] == '$';
	if (strcmp(op, "json_extract") == 0 && !proper) {
		free(pt);
		jdoc_free(&d);
		return throw_js(L, "JSON path must start with $.");
	}
	/* The components: with fixed_json_extract only a $ path splits. */
	char **comp = NULL;
	size_t nc = 0;
	if (L->fixed_json && !proper) {
		comp = sc_xcalloc(1, sizeof *comp);
		comp[nc++] = sc_xstrdup(pt);
	} else {
		const char *p = pt;
		for (;;) {
			size_t n = strcspn(p, ".");
			comp = sc_xrealloc(comp, (nc + 1) * sizeof *comp);
			comp[nc++] = sc_xstrndup(p, n);
			if (!p[n])
				break;
			p += n + 1;
		}
		if (proper) {
			free(comp[0]);
			memmove(comp, comp + 1, (nc - 1) * sizeof *comp);
			nc--;
		}
	}
	const cJSON *v = d.root;
	bool undefined = false;
	for (size_t i = 0; i < nc; i++) {
		if (!v || cJSON_IsNull(v))
			break;
		const cJSON *next = NULL;
		if (cJSON_IsObject(v)) {
			next = cJSON_GetObjectItemCaseSensitive(v, comp[i]);
		} else if (cJSON_IsArray(v)) {
			unsigned long long idx;
			char *e;
			idx = strtoull(comp[i], &e, 10);
			if (*comp[i] && !*e && (comp[i][0] != '0' || !comp[i][1]))
				next = cJSON_GetArrayItem(v, (int)idx);
		}
		v = next;
		if (!v)
			undefined = true;
	}
	sval out;
	if (strcmp(op, "->") == 0) {
		if (undefined || !v)
			out = v_null();
		else if (!L->fixed_json && cJSON_IsNull(v))
			out = v_null();
		else
			out = v_take_text(cJSON_PrintUnformatted(v));
	} else {
		out = undefined ? v_null() : json_to_sqlite(&d, v, L->fixed_json);
	}
	for (size_t i = 0; i < nc; i++)
		free(comp[i]);
	free(comp);
	free(pt);
	jdoc_free(&d);
	return out;
}

/* uuid's validate() (uuid 14, regex.js). */
static bool uuid_valid(const char *s)
{
	if (strlen(s) != 36)
		return false;
	if (strcasecmp(s, "00000000-0000-0000-0000-000000000000") == 0 ||
	    strcasecmp(s, "ffffffff-ffff-ffff-ffff-ffffffffffff") == 0)
		return true;
	for (int i = 0; i < 36; i++) {
		bool dash = i == 8 || i == 13 || i == 18 || i == 23;
		if (dash ? s[i] != '-' : !isxdigit((unsigned char)s[i]))
			return false;
	}
	return s[14] >= '1' && s[14] <= '8' && strchr("89abAB", s[19]) != NULL;
}

/* convertToDate's validity, for datetime() and unixepoch() of constants:
 * ISO dates and times (as JavaScript's Date reads them), and Julian day
 * numbers. */
static bool date_valid(const sval *v)
{
	if (v->k == V_INT || v->k == V_REAL)
		return true;
	if (v->k != V_TEXT)
		return false;
	const char *s = v->s;
	int n = 0;
	while (isdigit((unsigned char)s[n]))
		n++;
	if (n && (!s[n] || (s[n] == '.' && strspn(s + n + 1, "0123456789") == strlen(s + n + 1))))
		return true; /* a Julian day */
	int y, mo, d, consumed = 0;
	if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &consumed) != 3 || consumed != 10)
		return false;
	return mo >= 1 && mo <= 12 && d >= 1 && d <= 31;
}

/* ---- clauses ---- */

typedef struct lval {
	bool is_static;
	sval v;        /* static: the value */
	cs_type t;     /* a row value: its type */
} lval;

static lval l_static(sval v)
{
	lval l;
	memset(&l, 0, sizeof l);
	l.is_static = true;
	l.v = v;
	return l;
}

static lval l_row(int flags, const char *orig, bool from_db, const char *col)
{
	lval l;
	memset(&l, 0, sizeof l);
	l.t.flags = flags;
	l.t.orig = orig;
	l.t.from_db = from_db;
	l.t.db_column = col;
	return l;
}

static cs_type l_type(const lval *l)
{
	if (l->is_static) {
		cs_type t = { v_flags(&l->v), NULL, false, NULL };
		return t;
	}
	return l->t;
}

/* A function's return type from its arguments' (getReturnType); from_db
 * when it depends on them. */
static int return_type(const char *fn, const cs_type *a, size_t n, bool *uses_args)
{
	*uses_args = false;
	static const char *const text[] = { "upper", "lower", "substring", "hex", "base64", "typeof", "json_keys",
					    "datetime", "st_asgeojson", "st_astext", "||", NULL };
	static const char *const integer[] = { "length", "instr", "json_valid", "json_array_length", "not", "is_null",
					       "is_not_null", "in", "=", "!=", "<", ">", "<=", ">=", NULL };
	for (size_t i = 0; text[i]; i++)
		if (strcmp(fn, text[i]) == 0)
			return SC_CS_TEXT;
	for (size_t i = 0; integer[i]; i++)
		if (strcmp(fn, integer[i]) == 0)
			return SC_CS_INTEGER;
	if (strcmp(fn, "uuid_blob") == 0)
		return SC_CS_BLOB;
	if (strcmp(fn, "iif") == 0)
		return SC_CS_ANY;
	if (strcmp(fn, "json_extract") == 0 || strcmp(fn, "->") == 0 || strcmp(fn, "->>") == 0)
		return SC_CS_TEXT | SC_CS_INTEGER | SC_CS_REAL;
	if (strcmp(fn, "unixepoch") == 0)
		return SC_CS_INTEGER | SC_CS_REAL;
	if (strcmp(fn, "st_x") == 0 || strcmp(fn, "st_y") == 0)
		return SC_CS_REAL;
	if (strcmp(fn, "ifnull") == 0) {
		*uses_args = true;
		return n == 0 ? SC_CS_NONE : n == 1 ? a[0].flags : a[0].flags | a[1].flags;
	}
	if (strncmp(fn, "cast:", 5) == 0) {
		int f = cs_cast_flags(fn + 5);
		return f < 0 ? SC_CS_NONE : f;
	}
	if (strcmp(fn, "+") == 0 || strcmp(fn, "-") == 0 || strcmp(fn, "*") == 0 || strcmp(fn, "/") == 0) {
		*uses_args = true;
		return cs_operator_type(fn, n > 0 ? a[0].flags : 0, n > 1 ? a[1].flags : 0);
	}
	return SC_CS_NONE;
}

static const sval *arg_at(const lval *args, size_t n, size_t i)
{
	static const sval undef = { V_UNDEF, 0, 0, NULL, 0 };
	return i < n ? &args[i].v : &undef;
}

/* fnImpl.call() on constants. */
static sval call_static(lctx *L, const char *fn, const lval *args, size_t n)
{
	const sval *a = arg_at(args, n, 0), *b = arg_at(args, n, 1), *z = arg_at(args, n, 2);
	if (strcmp(fn, "upper") == 0 || strcmp(fn, "lower") == 0) {
		char *t = as_text(a);
		if (!t)
			return v_null();
		for (char *p = t; *p; p++)
			*p = (char)(fn[0] == 'u' ? toupper((unsigned char)*p) : tolower((unsigned char)*p));
		return v_take_text(t);
	}
	if (strcmp(fn, "substring") == 0) {
		char *t = as_text(a);
		if (!t)
			return v_null();
		sval start = cast_to(b, "integer");
		if (v_nullish(&start) || z->k == V_NULL) {
			free(t);
			return v_null();
		}
		long long len = (long long)strlen(t);
		sval cl = cast_to(z, "integer");
		long long real_len = v_nullish(&cl) ? len + 1 : cl.i;
		long long rs;
		if (start.i < 0) {
			rs = len + start.i > 0 ? len + start.i : 0;
		} else if (start.i == 0) {
			rs = 0;
			real_len -= 1;
		} else {
			rs = start.i - 1;
		}
		long long from = real_len < 0 ? rs + real_len : rs, to = real_len < 0 ? rs : rs + real_len;
		/* String.prototype.substring clamps and swaps. */
		if (from < 0)
			from = 0;
		if (to < 0)
			to = 0;
		if (from > len)
			from = len;
		if (to > len)
			to = len;
		if (from > to) {
			long long x = from;
			from = to;
			to = x;
		}
		sval out = v_textn(t + from, (size_t)(to - from));
		free(t);
		return out;
	}
	if (strcmp(fn, "hex") == 0 || strcmp(fn, "base64") == 0) {
		char *t = as_text(a);
		if (!t)
			return v_text("");
		free(t);
		return v_text("?");
	}
	if (strcmp(fn, "length") == 0) {
		if (v_nullish(a))
			return v_null();
		if (a->k == V_BLOB)
			return v_int((long long)a->len);
		char *t = as_text(a);
		long long chars = 0;
		for (const char *p = t; *p; p++)
			chars += ((unsigned char)*p & 0xC0) != 0x80;
		free(t);
		return v_int(chars);
	}
	if (strcmp(fn, "uuid_blob") == 0) {
		char *t = as_text(a);
		if (!t)
			return v_null();
		bool ok = uuid_valid(t);
		free(t);
		if (!ok)
			return throw_js(L, "Cannot call uuid_blob on a non UUID value");
		return v_blob("0123456789abcdef", 16);
	}
	if (strcmp(fn, "typeof") == 0) {
		static const char *const names[] = { "null", "null", "integer", "real", "text", "blob" };
		return v_text(names[a->k]);
	}
	if (strcmp(fn, "ifnull") == 0)
		return v_copy(v_nullish(a) ? b : a);
	if (strcmp(fn, "iif") == 0)
		return v_copy(v_bool(a) ? b : z);
	if (strcmp(fn, "instr") == 0)
		return v_nullish(a) || v_nullish(b) ? v_null() : v_int(0);
	if (strcmp(fn, "json_extract") == 0 || strcmp(fn, "->") == 0 || strcmp(fn, "->>") == 0)
		return json_extract(L, a, b, fn);
	if (strcmp(fn, "json_array_length") == 0) {
		sval src = v_nullish(b) ? v_copy(a) : json_extract(L, a, b, "json_extract");
		char *t = as_text(&src);
		v_free(&src);
		if (!t)
			return v_null();
		jdoc d;
		bool ok = jdoc_parse(L, &d, t);
		free(t);
		if (!ok)
			return v_null();
		sval out = v_int(cJSON_IsArray(d.root) ? cJSON_GetArraySize(d.root) : 0);
		jdoc_free(&d);
		return out;
	}
	if (strcmp(fn, "json_valid") == 0) {
		char *t = as_text(a);
		if (!t)
			return v_int(0);
		char why[160];
		cJSON *j = sc_json_parse(t, strlen(t), why, sizeof why);
		free(t);
		bool ok = j != NULL;
		cJSON_Delete(j);
		return v_int(ok);
	}
	if (strcmp(fn, "json_keys") == 0) {
		char *t = as_text(a);
		if (!t)
			return v_null();
		jdoc d;
		bool ok = jdoc_parse(L, &d, t);
		free(t);
		if (!ok)
			return v_null();
		bool obj = cJSON_IsObject(d.root);
		bool arr = cJSON_IsArray(d.root);
		jdoc_free(&d);
		if (!obj)
			return throw_js(L, arr ? "Cannot call json_keys on an array" : "Cannot call json_keys on a scalar");
		return v_text("[]");
	}
	if (strcmp(fn, "unixepoch") == 0 || strcmp(fn, "datetime") == 0) {
		if (v_nullish(a))
			return v_null();
		bool subsec = false;
		if (!v_nullish(b)) {
			char *s1 = as_text(b);
			bool ue = b->k == V_TEXT && strcmp(s1, "unixepoch") == 0;
			bool ss = b->k == V_TEXT && (strcmp(s1, "subsec") == 0 || strcmp(s1, "subsecond") == 0);
			free(s1);
			if (ue && !v_nullish(z)) {
				char *s2 = as_text(z);
				ss = z->k == V_TEXT && (strcmp(s2, "subsec") == 0 || strcmp(s2, "subsecond") == 0);
				free(s2);
				if (!ss)
					return v_null();
			} else if (!ue && !ss) {
				return v_null();
			}
			subsec = ss;
		}
		if (!date_valid(a))
			return v_null();
		if (fn[0] == 'd')
			return v_text("1970-01-01 00:00:00");
		return subsec ? v_real(0.5) : v_int(0);
	}
	if (strncmp(fn, "st_", 3) == 0) {
		if (v_nullish(a) || (a->k != V_TEXT && a->k != V_BLOB))
			return v_null();
		if (strcmp(fn, "st_x") == 0 || strcmp(fn, "st_y") == 0)
			return v_real(0);
		return v_text("");
	}
	if (strncmp(fn, "cast:", 5) == 0) {
		const char *to = fn + 5;
		if (strcmp(to, "int4") == 0)
			to = "integer";
		else if (strcmp(to, "float4") == 0)
			to = "real";
		return cast_to(a, to);
	}
	if (strcmp(fn, "not") == 0)
		return v_int(!v_bool(a));
	if (strcmp(fn, "is_null") == 0 || strcmp(fn, "is_not_null") == 0) {
		sval nul = v_null();
		int d = compare(L, a, &nul);
		return v_int(fn[3] == 'n' ? d == 0 : d != 0);
	}
	if (strcmp(fn, "!=") == 0 || strcmp(fn, "<") == 0 || strcmp(fn, ">") == 0 || strcmp(fn, "<=") == 0 ||
	    strcmp(fn, ">=") == 0) {
		if (v_nullish(a) || v_nullish(b))
			return v_null();
		int d = compare(L, a, b);
		bool r = strcmp(fn, "!=") == 0 ? d != 0 : strcmp(fn, "<") == 0 ? d < 0 : strcmp(fn, ">") == 0 ? d > 0
			: strcmp(fn, "<=") == 0 ? d <= 0 : d >= 0;
		return v_int(r);
	}
	if (strcmp(fn, "+") == 0 || strcmp(fn, "-") == 0 || strcmp(fn, "*") == 0 || strcmp(fn, "/") == 0)
		return do_math(fn, a, b);
	if (strcmp(fn, "||") == 0) {
		char *x = as_text(a), *y = as_text(b);
		sval out = x && y ? v_take_text(sc_xasprintf("%s%s", x, y)) : v_null();
		free(x);
		free(y);
		return out;
	}
	if (strcmp(fn, "in") == 0) {
		if (v_nullish(a) || v_nullish(b))
			return v_null();
		if (b->k != V_TEXT)
			return throw_js(L, "IN is only supported on JSON arrays");
		jdoc d;
		if (!jdoc_parse(L, &d, b->s))
			return v_null();
		if (!cJSON_IsArray(d.root)) {
			jdoc_free(&d);
			return throw_js(L, b->s);
		}
		bool found = false;
		const cJSON *x;
		cJSON_ArrayForEach(x, d.root) {
			sval e = json_to_sqlite(&d, x, true);
			found = found || compare(L, &e, a) == 0;
			v_free(&e);
		}
		jdoc_free(&d);
		return v_int(found);
	}
	return v_null();
}

static lval compose(lctx *L, const char *fn, lval *args, size_t n)
{
	bool row = false;
	for (size_t i = 0; i < n; i++)
		row = row || !args[i].is_static;
	lval out;
	if (row) {
		cs_type *ts = sc_xcalloc(n + 1, sizeof *ts);
		for (size_t i = 0; i < n; i++)
			ts[i] = l_type(&args[i]);
		bool uses;
		int f = return_type(fn, ts, n, &uses);
		out = l_row(f, NULL, false, NULL);
		if (uses)
			for (size_t i = 0; i < n; i++)
				if (ts[i].from_db) {
					out.t.from_db = true;
					out.t.db_column = ts[i].db_column;
					break;
				}
		free(ts);
	} else {
		out = l_static(call_static(L, fn, args, n));
	}
	for (size_t i = 0; i < n; i++)
		v_free(&args[i].v);
	return out;
}

static lval leval(lctx *L, const cJSON *w);

static lval leval_const(const cJSON *n)
{
	const cJSON *x;
	if (cJSON_IsTrue(cs_get(n, "isnull")))
		return l_static(v_null());
	if ((x = cs_get(n, "ival"))) {
		/* Protobuf leaves a zero out: {"ival": {}}. */
		const cJSON *iv = cs_get(x, "ival");
		return l_static(v_int(cJSON_IsNumber(iv) ? (long long)iv->valuedouble : 0));
	}
	if ((x = cs_get(n, "fval"))) {
		const char *s = cJSON_GetStringValue(cs_get(x, "fval"));
		if (!s)
			s = "0";
		if (strpbrk(s, ".eE"))
			return l_static(v_real(strtod(s, NULL)));
		/* An integer too large for the parser's int: still an integer. */
		return l_static(v_int(strtoll(s, NULL, 10)));
	}
	if ((x = cs_get(n, "sval"))) {
		const char *s = cJSON_GetStringValue(cs_get(x, "sval"));
		return l_static(v_text(s ? s : ""));
	}
	if ((x = cs_get(n, "boolval")))
		return l_static(v_int(cJSON_IsTrue(cs_get(x, "boolval"))));
	if ((x = cs_get(n, "bsval"))) {
		const char *s = cJSON_GetStringValue(cs_get(x, "bsval"));
		return l_static(v_text(s ? s : ""));
	}
	return l_static(v_null());
}

static const char *colref_name(const cJSON *n)
{
	const cJSON *fields = cs_get(n, "fields");
	int k = cJSON_GetArraySize(fields);
	return k ? cs_str(cJSON_GetArrayItem(fields, k - 1)) : NULL;
}

static lval leval_column(lctx *L, const char *name)
{
	if (!name)
		return l_row(SC_CS_NONE, NULL, false, NULL);
	if (!L->have_db)
		return l_row(SC_CS_NONE, NULL, true, name);
	const sc_cs_source_column *col = cs_source_column(L->table, name);
	if (!col) {
		cs_warn(L->c, "'%s': column %s not found in %s.%s (the service syncs it as null, typed text)",
			L->c->definition ? L->c->definition : "?", name, L->table ? L->table->schema : "?",
			L->table ? L->table->name : "?");
		return l_row(SC_CS_NONE, NULL, true, name);
	}
	return l_row(col->flags, col->internal_type, true, name);
}

static const char *func_name(const cJSON *n)
{
	const cJSON *names = cs_get(n, "funcname");
	int k = cJSON_GetArraySize(names);
	return k ? cs_str(cJSON_GetArrayItem(names, k - 1)) : NULL;
}

static const char *aexpr_op(const cJSON *n)
{
	const cJSON *names = cs_get(n, "name");
	int k = cJSON_GetArraySize(names);
	return k ? cs_str(cJSON_GetArrayItem(names, k - 1)) : NULL;
}

static lval leval_args(lctx *L, const char *fn, const cJSON *const *nodes, size_t n)
{
	lval *args = sc_xcalloc(n + 1, sizeof *args);
	for (size_t i = 0; i < n; i++)
		args[i] = leval(L, nodes[i]);
	lval out = compose(L, fn, args, n);
	free(args);
	return out;
}

static lval leval(lctx *L, const cJSON *w)
{
	const char *t;
	const cJSON *n = cs_node(w, &t);
	if (!n)
		return l_static(v_int(1)); /* compileClause(null): SQLITE_TRUE */
	if (strcmp(t, "A_Const") == 0)
		return leval_const(n);
	if (strcmp(t, "ColumnRef") == 0)
		return leval_column(L, colref_name(n));
	if (strcmp(t, "FuncCall") == 0) {
		const char *fn = func_name(n);
		const cJSON *args = cs_get(n, "args");
		size_t na = (size_t)cJSON_GetArraySize(args);
		const cJSON **nodes = sc_xcalloc(na + 1, sizeof *nodes);
		size_t k = 0;
		const cJSON *a;
		cJSON_ArrayForEach(a, args)
			nodes[k++] = a;
		char *lower = sc_xstrdup(fn ? fn : "");
		lval out = leval_args(L, lower, nodes, k);
		free(lower);
		free(nodes);
		return out;
	}
	if (strcmp(t, "TypeCast") == 0) {
		const cJSON *names = cs_get(cs_get(n, "typeName"), "names");
		const char *to = cs_str(cJSON_GetArrayItem(names, cJSON_GetArraySize(names) - 1));
		char *fn = sc_xasprintf("cast:%s", to ? to : "");
		const cJSON *arg = cs_get(n, "arg");
		lval out = leval_args(L, fn, &arg, 1);
		free(fn);
		return out;
	}
	if (strcmp(t, "NullTest") == 0) {
		const char *kind = cJSON_GetStringValue(cs_get(n, "nulltesttype"));
		const cJSON *arg = cs_get(n, "arg");
		return leval_args(L, kind && strcmp(kind, "IS_NOT_NULL") == 0 ? "is_not_null" : "is_null", &arg, 1);
	}
	if (strcmp(t, "BoolExpr") == 0) {
		const char *op = cJSON_GetStringValue(cs_get(n, "boolop"));
		const cJSON *args = cs_get(n, "args");
		if (op && strcmp(op, "NOT_EXPR") == 0) {
			const cJSON *arg = cJSON_GetArrayItem(args, 0);
			return leval_args(L, "not", &arg, 1);
		}
		/* andFilters/orFilters of row values: a row value, integer. */
		const cJSON *a;
		cJSON_ArrayForEach(a, args) {
			lval x = leval(L, a);
			v_free(&x.v);
		}
		return l_row(SC_CS_INTEGER, NULL, false, NULL);
	}
	if (strcmp(t, "A_Expr") == 0) {
		const char *kind = cJSON_GetStringValue(cs_get(n, "kind"));
		const char *op = aexpr_op(n);
		const cJSON *l = cs_get(n, "lexpr"), *r = cs_get(n, "rexpr");
		if (kind && strcmp(kind, "AEXPR_IN") == 0) {
			const cJSON *items = cs_get(cs_get(r, "List"), "items");
			const cJSON *nodes[2] = { l, items ? cJSON_GetArrayItem(items, 0) : r };
			return leval_args(L, "in", nodes, 2);
		}
		if (!op)
			return l_row(SC_CS_NONE, NULL, false, NULL);
		if (strcmp(op, "=") == 0) {
			/* compileStaticOperator: a row value even of constants. */
			lval x = leval(L, l), y = leval(L, r);
			v_free(&x.v);
			v_free(&y.v);
			return l_row(SC_CS_INTEGER, NULL, false, NULL);
		}
		const cJSON *nodes[2] = { l, r };
		if (strcmp(op, "<>") == 0)
			op = "!=";
		return leval_args(L, op, nodes, 2);
	}
	/* Anything else the service refuses (the validator said so). */
	return l_row(SC_CS_NONE, NULL, false, NULL);
}

/* ---- a data query's result set ---- */

typedef struct qcol {
	char *name;
	int flags;
	const char *orig;
	bool set;
} qcol;

/* One pass of getColumnOutputsFor over a source table (or, without a
 * database, over none): explicit columns are set (a later pass for the
 * same name overwrites), * adds what is not there yet. */
static void pass(cs_compute *c, lctx *L, const cJSON *targets, cs_jsmap *outm)
{
	const cJSON *res;
	cJSON_ArrayForEach(res, targets) {
		const char *t;
		const cJSON *rt = cs_node(res, &t);
		const cJSON *val = cs_get(rt, "val");
		const char *vt;
		const cJSON *vn = cs_node(val, &vt);
		const char *alias = cJSON_GetStringValue(cs_get(rt, "name"));
		if (!alias && strcmp(vt, "ColumnRef") == 0) {
			const cJSON *fields = cs_get(vn, "fields");
			const char *ft;
			cs_node(cJSON_GetArrayItem(fields, cJSON_GetArraySize(fields) - 1), &ft);
			if (strcmp(ft, "A_Star") == 0) {
				if (!L->have_db) {
					cs_need_db(c, "SELECT * takes its columns from the database");
					return;
				}
				for (size_t i = 0; L->table && i < L->table->ncolumns; i++) {
					const sc_cs_source_column *sc = &L->table->columns[i];
					if (cs_jsmap_get(outm, sc->name))
						continue;
					qcol *q = sc_xcalloc(1, sizeof *q);
					q->name = sc_xstrdup(sc->name);
					q->flags = sc->flags;
					q->orig = sc->internal_type;
					cs_jsmap_add(outm, sc->name, q);
				}
				continue;
			}
		}
		const char *name = alias ? alias : strcmp(vt, "ColumnRef") == 0 ? colref_name(vn) : NULL;
		/* id is the row's key, never a declared column. */
		if (!name || (!L->have_db && strcmp(name, "id") == 0))
			continue;
		lval v = leval(L, val);
		if (L->thrown) {
			cs_fail(c, SC_EXIT_PROBLEM, "'%s': %s: the service refuses this query (%s)", c->definition ? c->definition : "?",
				name, L->thrown_msg);
			v_free(&v.v);
			return;
		}
		cs_type ty = l_type(&v);
		v_free(&v.v);
		if (!L->have_db && ty.from_db) {
			char what[512];
			snprintf(what, sizeof what, "column %s takes its type from the source column %s", name,
				 ty.db_column ? ty.db_column : "?");
			cs_need_db(c, what);
			return;
		}
		qcol *q = cs_jsmap_get(outm, name);
		if (!q) {
			q = sc_xcalloc(1, sizeof *q);
			q->name = sc_xstrdup(name);
			cs_jsmap_add(outm, name, q);
		}
		q->flags = ty.flags;
		q->orig = ty.orig;
	}
}

static void qcol_free(void *p)
{
	qcol *q = p;
	free(q->name);
	free(q);
}

static void flush(cs_compute *c, const char *table, cs_jsmap *outm)
{
	cs_outtable *t = cs_out_table(c, table);
	size_t *o = cs_jsmap_order(outm);
	for (size_t i = 0; i < outm->n; i++) {
		qcol *q = outm->e[o[i]].val;
		cs_add_first(t, q->name, q->flags, q->orig);
	}
	free(o);
	cs_jsmap_free(outm, qcol_free);
}

void cs_legacy_query(cs_compute *c, const sc_rules_query *q)
{
	const cJSON *sel = q->select;
	const cJSON *from = cs_get(sel, "fromClause");
	const char *t;
	const cJSON *rv = cs_node(cJSON_GetArrayItem(from, 0), &t);
	if (!rv || strcmp(t, "RangeVar") != 0)
		return;
	const char *schema = cJSON_GetStringValue(cs_get(rv, "schemaname"));
	const char *rel = cJSON_GetStringValue(cs_get(rv, "relname"));
	const char *alias = cJSON_GetStringValue(cs_get(cs_get(rv, "alias"), "aliasname"));
	if (!rel)
		return;
	if (!schema)
		schema = "public";
	const char *sql_name = alias ? alias : rel;
	bool aliased = strcmp(sql_name, rel) != 0;
	bool wildcard = cs_is_wildcard(rel);
	const cJSON *targets = cs_get(sel, "targetList");
	lctx L;
	memset(&L, 0, sizeof L);
	L.c = c;
	L.fixed_json = c->rules->fixed_json_extract;
	if (!c->src) {
		if (wildcard && !aliased) {
			char what[512];
			snprintf(what, sizeof what, "the table pattern %s.%s names its output tables after the database's tables", schema, rel);
			cs_need_db(c, what);
			return;
		}
		cs_jsmap outm = { NULL, 0 };
		pass(c, &L, targets, &outm);
		if (c->failed) {
			cs_jsmap_free(&outm, qcol_free);
			return;
		}
		if (wildcard) {
			char what[512];
			snprintf(what, sizeof what, "the table pattern %s.%s takes its columns from the database", schema, rel);
			cs_jsmap_free(&outm, qcol_free);
			cs_need_db(c, what);
			return;
		}
		flush(c, sql_name, &outm);
		return;
	}
	L.have_db = true;
	size_t matched = 0;
	cs_jsmap merged = { NULL, 0 };
	for (size_t i = 0; i < c->src->ntables && !c->failed; i++) {
		const sc_cs_source_table *st = &c->src->tables[i];
		if (!cs_pattern_matches(schema, rel, st))
			continue;
		matched++;
		L.table = st;
		if (wildcard && !aliased) {
			/* Unaliased wildcard: one output table per source table. */
			cs_jsmap outm = { NULL, 0 };
			pass(c, &L, targets, &outm);
			flush(c, st->name, &outm);
		} else {
			pass(c, &L, targets, &merged);
		}
	}
	if (!matched)
		cs_warn(c, "'%s': table %s.%s not found in the database (the service syncs no columns of it)",
			c->definition ? c->definition : "?", schema, rel);
	if (!(wildcard && !aliased))
		flush(c, sql_name, &merged);
	else
		cs_jsmap_free(&merged, qcol_free);
}
