#include "rowhash.h"

#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"

bool sc_row_hash_values(int version_a, int version_b)
{
	return version_a >= 140000 && version_b >= 140000;
}

/* Types whose own extended hash function sees everything their text
 * shows (no display scale, no -0, no time zone, no structure it skips),
 * so equal hashes on the two servers mean equal values; hashing them
 * skips the text output. Not jsonb (its hash ignores where a nested
 * container ends: {"a": {"b": 1}, "c": 2} and {"a": {"b": 1, "c": 2}}
 * collide) and not arrays (their hash ignores dimensions and bounds):
 * those, and every other type, are hashed through their text. */
static bool hash_by_value(const sc_hash_col *c)
{
	static const unsigned ok[] = { 16, 17, 20, 21, 23, 25, 26, 1042, 1043, 1082, 1083, 1114, 1184, 2950 };
	if (!c->deterministic)
		return false;
	for (size_t i = 0; i < sizeof ok / sizeof *ok; i++)
		if (c->typid == ok[i])
			return true;
	return false;
}

/* Types built on float8 whose text changed in Postgres 12 (shortest exact
 * digits instead of 17 with extra_float_digits = 3), and the function that
 * gives their binary form, which has not: float4, float8, the geometric
 * types and arrays of floats. */
static const char *send_function(unsigned typid)
{
	switch (typid) {
	case 700: return "float4send";
	case 701: return "float8send";
	case 600: return "point_send";
	case 601: return "lseg_send";
	case 602: return "path_send";
	case 603: return "box_send";
	case 604: return "poly_send";
	case 628: return "line_send";
	case 718: return "circle_send";
	case 1021: /* float4[] */
	case 1022: /* float8[] */
		return "array_send";
	default: return NULL;
	}
}

char *sc_row_hash_sql(sc_pg *pg, const char *alias, const sc_hash_col *cols, size_t ncols, bool values)
{
	sc_buf h = SC_BUF_INIT;
	sc_buf_puts(&h, values ? "hash_record_extended(ROW(" : "md5(ROW(");
	for (size_t i = 0; i < ncols; i++) {
		const sc_hash_col *c = &cols[i];
		char *q = PQescapeIdentifier(pg->conn, c->name, strlen(c->name));
		const char *sep = i ? ", " : "";
		const char *send = send_function(c->typid);
		if (values && hash_by_value(c))
			sc_buf_printf(&h, "%s%s.%s", sep, alias, q ? q : "\"\"");
		else if (values)
			sc_buf_printf(&h, "%shashtextextended(%s.%s::text COLLATE \"C\", 0)", sep, alias, q ? q : "\"\"");
		else if (send)
			sc_buf_printf(&h, "%s%s(%s.%s)", sep, send, alias, q ? q : "\"\"");
		else
			sc_buf_printf(&h, "%s%s.%s", sep, alias, q ? q : "\"\"");
		PQfreemem(q);
	}
	sc_buf_puts(&h, values ? "), 0)" : ")::text)");
	return sc_buf_take(&h);
}
