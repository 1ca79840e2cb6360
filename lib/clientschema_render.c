/* The client schema as PowerSync's generators write it, byte for byte:
 * npm @powersync/service-sync-rules 0.38.1, dist/schema-generators/
 * (TsSchemaGenerator, JsLegacySchemaGenerator, DartSchemaGenerator,
 * KotlinSchemaGenerator, SwiftSchemaGenerator, DotNetSchemaGenerator and
 * DotNetClassSchemaGenerator, RoomSchemaGenerator, SqlSchemaGenerator for
 * drift). Each function below follows the generator of its name; the
 * column's type is SchemaGenerator.sqlTypeName (TEXT first, then REAL,
 * then INTEGER, else text). */
#include "clientschema.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"

static const char *const lang_names[SC_LANG_COUNT] = {
	"ts", "js", "js-legacy", "dart", "kotlin", "swift", "dotnet", "dotnet-class", "room", "drift",
};

const char *sc_cs_lang_name(size_t i)
{
	return i < SC_LANG_COUNT ? lang_names[i] : NULL;
}

bool sc_cs_lang_parse(const char *name, sc_cs_lang *out)
{
	for (size_t i = 0; i < SC_LANG_COUNT; i++)
		if (strcmp(lang_names[i], name) == 0) {
			*out = (sc_cs_lang)i;
			return true;
		}
	return false;
}

/* sqlTypeName: the SDK column type. */
static const char *type_name(int flags)
{
	if (flags & SC_CS_TEXT)
		return "text";
	if (flags & SC_CS_REAL)
		return "real";
	if (flags & SC_CS_INTEGER)
		return "integer";
	return "text";
}

const char *sc_cs_sql_type(int flags)
{
	const char *t = type_name(flags);
	return strcmp(t, "text") == 0 ? "TEXT" : strcmp(t, "real") == 0 ? "REAL" : "INTEGER";
}

/* SchemaGenerator.toCamelCase: chunks split at _ and -, empty chunks
 * dropped, every chunk but a leading one capitalised. (JavaScript's
 * toUpperCase maps non-ASCII letters too; here only ASCII ones are.) */
static void camel(sc_buf *b, const char *s, bool initial_upper)
{
	bool any = false;
	const char *p = s;
	while (*p) {
		size_t n = strcspn(p, "_-");
		if (n) {
			if (any || initial_upper)
				sc_buf_putc(b, (char)toupper((unsigned char)p[0]));
			else
				sc_buf_putc(b, p[0]);
			sc_buf_append(b, p + 1, n - 1);
			any = true;
		}
		p += n;
		if (*p)
			p++;
	}
}

static char *camel_dup(const char *s, bool initial_upper)
{
	sc_buf b = SC_BUF_INIT;
	camel(&b, s, initial_upper);
	return sc_buf_take(&b);
}

/* DotNetSchemaGenerator.toUpperCaseFirstLetter */
static void upper_first(sc_buf *b, const char *s)
{
	if (!*s)
		return;
	sc_buf_putc(b, (char)toupper((unsigned char)s[0]));
	sc_buf_puts(b, s + 1);
}

static void comment(sc_buf *b, const sc_cs_render_opts *o, const sc_cs_column *c)
{
	if (o->type_comments && c->original)
		sc_buf_printf(b, " // %s", c->original);
}

/* ---- TypeScript and JavaScript (TsSchemaGenerator) ---- */

static const char *ts_value_type(int flags)
{
	return flags & (SC_CS_INTEGER | SC_CS_REAL) ? "number" : "string";
}

static void ts_column(sc_buf *b, const sc_cs_column *c)
{
	sc_buf_printf(b, "%s: column.%s", c->name, type_name(c->flags));
}

static void ts_imports(sc_buf *b, const sc_cs_render_opts *o, bool streams)
{
	const char *names = streams ? "column, Schema, Table, PowerSyncDatabase, SyncStream" : "column, Schema, Table";
	if (o->imports == SC_IMPORTS_WEB)
		sc_buf_printf(b, "import { %s } from '@powersync/web';", names);
	else if (o->imports == SC_IMPORTS_REACT_NATIVE)
		sc_buf_printf(b, "import { %s } from '@powersync/react-native';", names);
	else
		sc_buf_printf(b, "import { %s } from '@powersync/web';\n// OR: import { %s } from '@powersync/react-native';",
			      names, names);
}

static void render_ts(sc_buf *b, const sc_cs_schema *s, const sc_cs_render_opts *o)
{
	bool ts = o->lang == SC_LANG_TS;
	ts_imports(b, o, s->nstreams > 0);
	sc_buf_puts(b, "\n\n");
	for (size_t i = 0; i < s->ntables; i++) {
		const sc_cs_table *t = &s->tables[i];
		if (i)
			sc_buf_puts(b, "\n\n");
		sc_buf_printf(b, "const %s = new Table(\n  {\n    // id column (text) is automatically included\n", t->name);
		for (size_t k = 0; k < t->ncolumns; k++) {
			sc_buf_puts(b, k ? "\n    " : "    ");
			ts_column(b, &t->columns[k]);
			if (k + 1 < t->ncolumns)
				sc_buf_putc(b, ',');
			comment(b, o, &t->columns[k]);
		}
		sc_buf_puts(b, "\n  },\n  { indexes: {} }\n);");
	}
	sc_buf_puts(b, "\n\nexport const AppSchema = new Schema({\n  ");
	for (size_t i = 0; i < s->ntables; i++)
		sc_buf_printf(b, "%s%s", i ? ",\n  " : "", s->tables[i].name);
	sc_buf_puts(b, "\n});\n\n");
	if (ts)
		sc_buf_puts(b, "export type Database = (typeof AppSchema)['types'];\n");
	sc_buf_putc(b, '\n');
	if (s->nstreams) {
		/* generateStreamHelper: the same text for js (it has types). */
		sc_buf_puts(b, "export function typedStreams(db: PowerSyncDatabase) {\n  return {\n");
		for (size_t i = 0; i < s->nstreams; i++) {
			const sc_cs_stream *st = &s->streams[i];
			sc_buf_puts(b, "    ");
			camel(b, st->name, false);
			sc_buf_putc(b, '(');
			if (st->nparams) {
				sc_buf_puts(b, "params: { ");
				for (size_t k = 0; k < st->nparams; k++)
					sc_buf_printf(b, "%s%s: %s", k ? ", " : "", st->params[k].name, ts_value_type(st->params[k].flags));
				sc_buf_puts(b, " }");
			}
			sc_buf_printf(b, "): SyncStream {\n      return db.syncStream('%s', %s);\n    }", st->name,
				      st->nparams ? "params" : "{}");
			if (i + 1 < s->nstreams)
				sc_buf_puts(b, ",\n");
		}
		sc_buf_puts(b, "\n  };\n}\n");
	}
}

/* ---- JavaScript, legacy syntax (JsLegacySchemaGenerator) ---- */

static void render_js_legacy(sc_buf *b, const sc_cs_schema *s)
{
	sc_buf_puts(b, "new Schema([\n  ");
	for (size_t i = 0; i < s->ntables; i++) {
		const sc_cs_table *t = &s->tables[i];
		if (i)
			sc_buf_puts(b, ",\n  ");
		sc_buf_printf(b, "new Table({\n    name: '%s',\n    columns: [\n      ", t->name);
		for (size_t k = 0; k < t->ncolumns; k++) {
			const char *ty = type_name(t->columns[k].flags);
			sc_buf_printf(b, "%snew Column({ name: '%s', type: ColumnType.%s })", k ? ",\n      " : "",
				      t->columns[k].name,
				      strcmp(ty, "text") == 0 ? "TEXT" : strcmp(ty, "real") == 0 ? "REAL" : "INTEGER");
		}
		sc_buf_puts(b, "\n    ]\n  })");
	}
	sc_buf_puts(b, "\n])\n");
}

/* ---- Dart ---- */

static const char *dart_type(int flags)
{
	return flags & SC_CS_TEXT ? "String" : flags & SC_CS_REAL ? "double" : flags & SC_CS_INTEGER ? "int" : "String";
}

static void render_dart(sc_buf *b, const sc_cs_schema *s, const sc_cs_render_opts *o)
{
	sc_buf_puts(b, "Schema([\n  ");
	for (size_t i = 0; i < s->ntables; i++) {
		const sc_cs_table *t = &s->tables[i];
		if (i)
			sc_buf_puts(b, ",\n  ");
		sc_buf_printf(b, "Table('%s', [\n", t->name);
		for (size_t k = 0; k < t->ncolumns; k++) {
			sc_buf_printf(b, "%s    Column.%s('%s')", k ? "\n" : "", type_name(t->columns[k].flags), t->columns[k].name);
			if (k + 1 < t->ncolumns)
				sc_buf_putc(b, ',');
			comment(b, o, &t->columns[k]);
		}
		sc_buf_puts(b, "\n  ])");
	}
	sc_buf_puts(b, "\n]);\n");
	if (s->nstreams) {
		sc_buf_puts(b, "\nextension type TypedSyncStreams(PowerSyncDatabase _db) {\n");
		for (size_t i = 0; i < s->nstreams; i++) {
			const sc_cs_stream *st = &s->streams[i];
			sc_buf_puts(b, "  SyncStream ");
			camel(b, st->name, false);
			sc_buf_putc(b, '(');
			if (st->nparams) {
				sc_buf_putc(b, '{');
				for (size_t k = 0; k < st->nparams; k++) {
					sc_buf_printf(b, "%srequired %s ", k ? ", " : "", dart_type(st->params[k].flags));
					camel(b, st->params[k].name, false);
				}
				sc_buf_putc(b, '}');
			}
			sc_buf_printf(b, ") => _db.syncStream('%s', {", st->name);
			for (size_t k = 0; k < st->nparams; k++) {
				sc_buf_printf(b, "%s'%s': ", k ? ", " : "", st->params[k].name);
				camel(b, st->params[k].name, false);
				sc_buf_putc(b, ',');
			}
			sc_buf_puts(b, "});\n");
		}
		sc_buf_puts(b, "}\n");
	}
}

/* ---- Kotlin ---- */

static const char *kotlin_type(int flags)
{
	return flags & SC_CS_TEXT ? "String" : flags & SC_CS_REAL ? "Double" : flags & SC_CS_INTEGER ? "Int" : "String";
}

static void render_kotlin(sc_buf *b, const sc_cs_schema *s, const sc_cs_render_opts *o)
{
	sc_buf_puts(b, "import com.powersync.db.schema.Column\nimport com.powersync.db.schema.Schema\nimport com.powersync.db.schema.Table\n");
	if (s->nstreams)
		sc_buf_puts(b, "import com.powersync.PowerSyncDatabase\nimport com.powersync.sync.SyncStream\n"
			       "import com.powersync.utils.JsonParam\nimport kotlin.jvm.JvmInline\n");
	sc_buf_puts(b, "\nval schema = Schema(\n  ");
	for (size_t i = 0; i < s->ntables; i++) {
		const sc_cs_table *t = &s->tables[i];
		if (i)
			sc_buf_puts(b, ",\n  ");
		sc_buf_printf(b, "Table(\n    name = \"%s\",\n    columns = listOf(\n", t->name);
		for (size_t k = 0; k < t->ncolumns; k++) {
			sc_buf_printf(b, "%s        Column.%s(\"%s\")", k ? "\n" : "", type_name(t->columns[k].flags), t->columns[k].name);
			if (k + 1 < t->ncolumns)
				sc_buf_putc(b, ',');
			comment(b, o, &t->columns[k]);
		}
		sc_buf_puts(b, "\n    )\n  )");
	}
	sc_buf_puts(b, "\n)\n");
	if (s->nstreams) {
		sc_buf_puts(b, "\n@JvmInline\nvalue class TypedSyncStreams(private val db: PowerSyncDatabase) {\n");
		for (size_t i = 0; i < s->nstreams; i++) {
			const sc_cs_stream *st = &s->streams[i];
			sc_buf_puts(b, "  fun ");
			camel(b, st->name, false);
			sc_buf_putc(b, '(');
			for (size_t k = 0; k < st->nparams; k++) {
				if (k)
					sc_buf_puts(b, ", ");
				camel(b, st->params[k].name, false);
				sc_buf_printf(b, ": %s", kotlin_type(st->params[k].flags));
			}
			sc_buf_printf(b, "): SyncStream = db.syncStream(\"%s\", ", st->name);
			if (st->nparams) {
				sc_buf_puts(b, "buildMap {\n");
				for (size_t k = 0; k < st->nparams; k++) {
					sc_buf_printf(b, "    put(\"%s\", %s(", st->params[k].name,
						      st->params[k].flags & (SC_CS_INTEGER | SC_CS_REAL) ? "JsonParam.Number" : "JsonParam.String");
					camel(b, st->params[k].name, false);
					sc_buf_puts(b, "))\n");
				}
				sc_buf_puts(b, "  }");
			} else {
				sc_buf_puts(b, "emptyMap()");
			}
			sc_buf_puts(b, ")\n");
		}
		sc_buf_puts(b, "}\n");
	}
}

/* ---- Swift ---- */

static const char *swift_type(int flags)
{
	return flags & SC_CS_TEXT ? "String" : flags & SC_CS_REAL ? "Double" : flags & SC_CS_INTEGER ? "Int" : "String";
}

static const char *swift_json(int flags)
{
	return flags & SC_CS_INTEGER ? "JsonValue.int" : flags & SC_CS_REAL ? "JsonValue.double" : "JsonValue.string";
}

static void render_swift(sc_buf *b, const sc_cs_schema *s, const sc_cs_render_opts *o)
{
	sc_buf_puts(b, "import PowerSync\n\nlet schema = Schema(\n  ");
	for (size_t i = 0; i < s->ntables; i++) {
		const sc_cs_table *t = &s->tables[i];
		if (i)
			sc_buf_puts(b, ",\n  ");
		sc_buf_printf(b, "Table(\n    name: \"%s\",\n    columns: [\n", t->name);
		for (size_t k = 0; k < t->ncolumns; k++) {
			sc_buf_printf(b, "%s        .%s(\"%s\")", k ? "\n" : "", type_name(t->columns[k].flags), t->columns[k].name);
			if (k + 1 < t->ncolumns)
				sc_buf_putc(b, ',');
			comment(b, o, &t->columns[k]);
		}
		sc_buf_puts(b, "\n    ]\n  )");
	}
	sc_buf_puts(b, "\n)\n");
	if (s->nstreams) {
		sc_buf_puts(b, "\nstruct TypedSyncStreams {\n    private var db: PowerSyncDatabaseProtocol\n"
			       "    init(_ db: PowerSyncDatabaseProtocol) {\n        self.db = db\n    }\n");
		for (size_t i = 0; i < s->nstreams; i++) {
			const sc_cs_stream *st = &s->streams[i];
			sc_buf_puts(b, "    func ");
			camel(b, st->name, false);
			sc_buf_putc(b, '(');
			for (size_t k = 0; k < st->nparams; k++) {
				if (k)
					sc_buf_puts(b, ", ");
				camel(b, st->params[k].name, false);
				sc_buf_printf(b, ": %s", swift_type(st->params[k].flags));
			}
			sc_buf_printf(b, ") -> SyncStream {\n        return db.syncStream(name: \"%s\", params: ", st->name);
			if (st->nparams) {
				sc_buf_puts(b, "[\n");
				for (size_t k = 0; k < st->nparams; k++) {
					sc_buf_printf(b, "            \"%s\": %s(", st->params[k].name, swift_json(st->params[k].flags));
					camel(b, st->params[k].name, false);
					sc_buf_puts(b, ")\n");
				}
				sc_buf_puts(b, "        ]");
			} else {
				sc_buf_puts(b, "[:]");
			}
			sc_buf_puts(b, ")\n    }\n");
		}
		sc_buf_puts(b, "}");
	}
	sc_buf_putc(b, '\n');
}

/* ---- .NET (DotNetSchemaGenerator, DotNetClassSchemaGenerator) ---- */

static const char *cs_type(int flags)
{
	return flags & SC_CS_TEXT ? "string" : flags & SC_CS_REAL ? "double" : flags & SC_CS_INTEGER ? "int" : "string";
}

static const char *cs_column_type(int flags)
{
	return flags & SC_CS_TEXT ? "ColumnType.Text" : flags & SC_CS_REAL ? "ColumnType.Real"
		: flags & SC_CS_INTEGER ? "ColumnType.Integer" : "ColumnType.Text";
}

/* generateCSharpStreamHelper; returns false when there are no streams. */
static bool cs_stream_helper(sc_buf *b, const sc_cs_schema *s)
{
	if (!s->nstreams)
		return false;
	sc_buf_puts(b, "\npublic readonly ref struct TypedSyncStreams(PowerSyncDatabase db)\n{\n"
		       "    private PowerSyncDatabase db { get; } = db;\n");
	for (size_t i = 0; i < s->nstreams; i++) {
		const sc_cs_stream *st = &s->streams[i];
		sc_buf_puts(b, "    public ISyncStream ");
		camel(b, st->name, true);
		sc_buf_putc(b, '(');
		for (size_t k = 0; k < st->nparams; k++) {
			sc_buf_printf(b, "%s%s ", k ? ", " : "", cs_type(st->params[k].flags));
			camel(b, st->params[k].name, false);
		}
		sc_buf_puts(b, ")\n    {\n        var parameters = new Dictionary<string, object>() {");
		for (size_t k = 0; k < st->nparams; k++) {
			sc_buf_printf(b, "%s\n            { \"%s\", ", k ? "," : "", st->params[k].name);
			camel(b, st->params[k].name, false);
			sc_buf_puts(b, " }");
		}
		if (st->nparams)
			sc_buf_puts(b, "\n        ");
		sc_buf_printf(b, "};\n        return db.SyncStream(\"%s\", parameters);\n    }\n", st->name);
	}
	sc_buf_puts(b, "}");
	return true;
}

static void render_dotnet(sc_buf *b, const sc_cs_schema *s, const sc_cs_render_opts *o)
{
	sc_buf_puts(b, "using PowerSync.Common.DB.Schema;\n\nclass AppSchema\n{\n");
	for (size_t i = 0; i < s->ntables; i++) {
		const sc_cs_table *t = &s->tables[i];
		if (i)
			sc_buf_puts(b, "\n\n");
		sc_buf_puts(b, "    public static Table ");
		upper_first(b, t->name);
		sc_buf_printf(b, " = new Table\n    {\n        Name = \"%s\",\n        Columns =\n        {\n", t->name);
		for (size_t k = 0; k < t->ncolumns; k++) {
			sc_buf_printf(b, "%s            [\"%s\"] = %s,", k ? "\n" : "", t->columns[k].name, cs_column_type(t->columns[k].flags));
			comment(b, o, &t->columns[k]);
		}
		sc_buf_puts(b, "\n        },\n    };");
	}
	sc_buf_puts(b, "\n\n    public static Schema PowerSyncSchema = new Schema(");
	for (size_t i = 0; i < s->ntables; i++) {
		if (i)
			sc_buf_puts(b, ", ");
		upper_first(b, s->tables[i].name);
	}
	sc_buf_puts(b, ");\n}");
	sc_buf helper = SC_BUF_INIT;
	if (cs_stream_helper(&helper, s)) {
		sc_buf_printf(b, "\n%s\n", sc_buf_str(&helper));
	}
	sc_buf_free(&helper);
}

static void render_dotnet_class(sc_buf *b, const sc_cs_schema *s, const sc_cs_render_opts *o)
{
	sc_buf_puts(b, "using PowerSync.Common.DB.Schema;\nusing PowerSync.Common.DB.Schema.Attributes;\n\n");
	for (size_t i = 0; i < s->ntables; i++) {
		const sc_cs_table *t = &s->tables[i];
		if (i)
			sc_buf_puts(b, "\n\n");
		sc_buf_printf(b, "[Table(\"%s\")]\npublic class ", t->name);
		camel(b, t->name, true);
		sc_buf_puts(b, "Item\n{\n    // An \"id\" property is required when using a class-based schema.\n"
			       "    [Column(\"id\")]\n    public string Id { get; set; }\n\n");
		for (size_t k = 0; k < t->ncolumns; k++) {
			const sc_cs_column *c = &t->columns[k];
			if (k)
				sc_buf_puts(b, "\n\n");
			sc_buf_printf(b, "    [Column(\"%s\")]\n    public %s ", c->name, cs_type(c->flags));
			camel(b, c->name, true);
			sc_buf_puts(b, " { get; set; }");
			/* generateProperty tests originalType for truthiness: an
			 * empty one gets no comment. */
			if (o->type_comments && c->original && *c->original)
				sc_buf_printf(b, " // %s", c->original);
		}
		sc_buf_puts(b, "\n}");
	}
	sc_buf_puts(b, "\n\npublic class AppSchema\n{\n    public static Schema PowerSyncSchema = new Schema(");
	for (size_t i = 0; i < s->ntables; i++) {
		sc_buf_puts(b, i ? ", typeof(" : "typeof(");
		camel(b, s->tables[i].name, true);
		sc_buf_puts(b, "Item)");
	}
	sc_buf_puts(b, ");\n}\n");
	sc_buf helper = SC_BUF_INIT;
	if (cs_stream_helper(&helper, s))
		sc_buf_printf(b, "%s\n", sc_buf_str(&helper));
	sc_buf_free(&helper);
}

/* ---- Room (RoomSchemaGenerator) ---- */

static void render_room(sc_buf *b, const sc_cs_schema *s)
{
	sc_buf_puts(b, "import androidx.room.ColumnInfo\nimport androidx.room.Entity\nimport androidx.room.PrimaryKey\n");
	for (size_t i = 0; i < s->ntables; i++) {
		const sc_cs_table *t = &s->tables[i];
		sc_buf_printf(b, "\n@Entity(tableName = \"%s\")\ndata class ", t->name);
		camel(b, t->name, true);
		sc_buf_puts(b, "(\n  @PrimaryKey val id: String,\n");
		for (size_t k = 0; k < t->ncolumns; k++) {
			const char *ty = type_name(t->columns[k].flags);
			sc_buf_printf(b, "  @ColumnInfo(\"%s\") val ", t->columns[k].name);
			camel(b, t->columns[k].name, false);
			sc_buf_printf(b, ": %s,\n", strcmp(ty, "text") == 0 ? "String" : strcmp(ty, "real") == 0 ? "Double" : "Long");
		}
		sc_buf_puts(b, ")\n");
	}
}

/* ---- drift (SqlSchemaGenerator('Drift', 'tables.drift')) ---- */

static void render_drift(sc_buf *b, const sc_cs_schema *s)
{
	sc_buf_puts(b, "-- Note: These definitions are only used to generate typed code. PowerSync manages the database schema.\n");
	for (size_t i = 0; i < s->ntables; i++) {
		const sc_cs_table *t = &s->tables[i];
		sc_buf_printf(b, "CREATE TABLE %s(\n  id TEXT NOT NULL PRIMARY KEY", t->name);
		for (size_t k = 0; k < t->ncolumns; k++)
			sc_buf_printf(b, ",\n  %s %s", t->columns[k].name, sc_cs_sql_type(t->columns[k].flags));
		sc_buf_puts(b, "\n);\n");
	}
}

char *sc_cs_render(const sc_cs_schema *s, const sc_cs_render_opts *o)
{
	sc_buf b = SC_BUF_INIT;
	switch (o->lang) {
	case SC_LANG_TS:
	case SC_LANG_JS: render_ts(&b, s, o); break;
	case SC_LANG_JS_LEGACY: render_js_legacy(&b, s); break;
	case SC_LANG_DART: render_dart(&b, s, o); break;
	case SC_LANG_KOTLIN: render_kotlin(&b, s, o); break;
	case SC_LANG_SWIFT: render_swift(&b, s, o); break;
	case SC_LANG_DOTNET: render_dotnet(&b, s, o); break;
	case SC_LANG_DOTNET_CLASS: render_dotnet_class(&b, s, o); break;
	case SC_LANG_ROOM: render_room(&b, s); break;
	case SC_LANG_DRIFT: render_drift(&b, s); break;
	case SC_LANG_COUNT: break;
	}
	return sc_buf_take(&b);
}

char *sc_cs_render_column(const sc_cs_render_opts *o, const sc_cs_column *c)
{
	sc_buf b = SC_BUF_INIT;
	const char *ty = type_name(c->flags);
	switch (o->lang) {
	case SC_LANG_TS:
	case SC_LANG_JS: ts_column(&b, c); break;
	case SC_LANG_JS_LEGACY:
		sc_buf_printf(&b, "new Column({ name: '%s', type: ColumnType.%s })", c->name,
			      strcmp(ty, "text") == 0 ? "TEXT" : strcmp(ty, "real") == 0 ? "REAL" : "INTEGER");
		break;
	case SC_LANG_DART: sc_buf_printf(&b, "Column.%s('%s')", ty, c->name); break;
	case SC_LANG_KOTLIN: sc_buf_printf(&b, "Column.%s(\"%s\")", ty, c->name); break;
	case SC_LANG_SWIFT: sc_buf_printf(&b, ".%s(\"%s\")", ty, c->name); break;
	case SC_LANG_DOTNET: sc_buf_printf(&b, "[\"%s\"] = %s", c->name, cs_column_type(c->flags)); break;
	case SC_LANG_DOTNET_CLASS: {
		char *p = camel_dup(c->name, true);
		sc_buf_printf(&b, "[Column(\"%s\")] public %s %s { get; set; }", c->name, cs_type(c->flags), p);
		free(p);
		break;
	}
	case SC_LANG_ROOM: {
		char *p = camel_dup(c->name, false);
		sc_buf_printf(&b, "@ColumnInfo(\"%s\") val %s: %s", c->name, p,
			      strcmp(ty, "text") == 0 ? "String" : strcmp(ty, "real") == 0 ? "Double" : "Long");
		free(p);
		break;
	}
	case SC_LANG_DRIFT: sc_buf_printf(&b, "%s %s", c->name, sc_cs_sql_type(c->flags)); break;
	case SC_LANG_COUNT: break;
	}
	return sc_buf_take(&b);
}
