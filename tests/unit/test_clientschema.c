/* Unit tests: the JavaScript object order the reference's output follows,
 * and the generators' text for an empty schema (each string below is what
 * npm @powersync/service-sync-rules 0.38.1's generator of that language
 * printed for rules whose only stream reads a table the database lacks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/clientschema_int.h"

static void array_index_keys_come_first_in_numeric_order(void **state)
{
	(void)state;
	cs_jsmap m = { NULL, 0 };
	const char *keys[] = { "b", "2", "a", "10", "01", "4294967295", "4294967294", "-1", "1.5", "0" };
	for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
		cs_jsmap_add(&m, keys[i], NULL);
	size_t *o = cs_jsmap_order(&m);
	const char *want[] = { "0", "2", "10", "4294967294", "b", "a", "01", "4294967295", "-1", "1.5" };
	for (size_t i = 0; i < m.n; i++)
		assert_string_equal(m.e[o[i]].key, want[i]);
	free(o);
	cs_jsmap_free(&m, NULL);
}

static void every_language_has_a_name_and_parses_back(void **state)
{
	(void)state;
	size_t n = 0;
	for (const char *name; (name = sc_cs_lang_name(n)); n++) {
		sc_cs_lang l;
		assert_true(sc_cs_lang_parse(name, &l));
		assert_int_equal((size_t)l, n);
	}
	assert_int_equal(n, SC_LANG_COUNT);
	sc_cs_lang l;
	assert_false(sc_cs_lang_parse("typescript", &l));
}

static void an_empty_schema_is_what_each_generator_prints(void **state)
{
	(void)state;
	static const struct { const char *lang, *text; } cases[] = {
		{ "ts", "import { column, Schema, Table } from '@powersync/web';\n// OR: import { column, Schema, Table } from '@powersync/react-native';\n\n\n\nexport const AppSchema = new Schema({\n  \n});\n\nexport type Database = (typeof AppSchema)['types'];\n\n" },
		{ "js", "import { column, Schema, Table } from '@powersync/web';\n// OR: import { column, Schema, Table } from '@powersync/react-native';\n\n\n\nexport const AppSchema = new Schema({\n  \n});\n\n\n" },
		{ "js-legacy", "new Schema([\n  \n])\n" },
		{ "dart", "Schema([\n  \n]);\n" },
		{ "kotlin", "import com.powersync.db.schema.Column\nimport com.powersync.db.schema.Schema\nimport com.powersync.db.schema.Table\n\nval schema = Schema(\n  \n)\n" },
		{ "swift", "import PowerSync\n\nlet schema = Schema(\n  \n)\n\n" },
		{ "dotnet", "using PowerSync.Common.DB.Schema;\n\nclass AppSchema\n{\n\n\n    public static Schema PowerSyncSchema = new Schema();\n}" },
		{ "dotnet-class", "using PowerSync.Common.DB.Schema;\nusing PowerSync.Common.DB.Schema.Attributes;\n\n\n\npublic class AppSchema\n{\n    public static Schema PowerSyncSchema = new Schema();\n}\n" },
		{ "room", "import androidx.room.ColumnInfo\nimport androidx.room.Entity\nimport androidx.room.PrimaryKey\n" },
		{ "drift", "-- Note: These definitions are only used to generate typed code. PowerSync manages the database schema.\n" },
	};
	sc_cs_schema s;
	memset(&s, 0, sizeof s);
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sc_cs_render_opts o = { SC_LANG_TS, SC_IMPORTS_AUTO, false };
		assert_true(sc_cs_lang_parse(cases[i].lang, &o.lang));
		char *t = sc_cs_render(&s, &o);
		assert_string_equal(t, cases[i].text);
		free(t);
	}
}

static void a_column_line_in_each_language(void **state)
{
	(void)state;
	sc_cs_column c = { (char *)"due_at", SC_CS_TEXT | SC_CS_INTEGER, NULL };
	static const char *const want[SC_LANG_COUNT] = {
		"due_at: column.text", "due_at: column.text", "new Column({ name: 'due_at', type: ColumnType.TEXT })",
		"Column.text('due_at')", "Column.text(\"due_at\")", ".text(\"due_at\")", "[\"due_at\"] = ColumnType.Text",
		"[Column(\"due_at\")] public string DueAt { get; set; }", "@ColumnInfo(\"due_at\") val dueAt: String",
		"due_at TEXT",
	};
	for (size_t i = 0; i < SC_LANG_COUNT; i++) {
		sc_cs_render_opts o = { (sc_cs_lang)i, SC_IMPORTS_AUTO, false };
		char *t = sc_cs_render_column(&o, &c);
		assert_string_equal(t, want[i]);
		free(t);
	}
	/* sqlTypeName: text first, then real, then integer, else text. */
	assert_string_equal(sc_cs_sql_type(SC_CS_INTEGER | SC_CS_REAL), "REAL");
	assert_string_equal(sc_cs_sql_type(SC_CS_BLOB), "TEXT");
	assert_string_equal(sc_cs_sql_type(SC_CS_NONE), "TEXT");
	assert_string_equal(sc_cs_sql_type(SC_CS_ANY), "TEXT");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(array_index_keys_come_first_in_numeric_order),
		cmocka_unit_test(every_language_has_a_name_and_parses_back),
		cmocka_unit_test(an_empty_schema_is_what_each_generator_prints),
		cmocka_unit_test(a_column_line_in_each_language),
	};
	return cmocka_run_group_tests_name("clientschema", tests, NULL, NULL);
}
