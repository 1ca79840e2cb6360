/* syncctl publications: list every publication; check one covers what the
 * sync service needs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/pg.h"
#include "../lib/replication.h"
#include "cli.h"

typedef struct {
	const char *name;
	sc_list tables;
} pub_opts;

static const sc_opt opts[] = {
	OPT_SETTING("db", 0, SC_SET_DB, "URI", "source Postgres (default: SYNCCTL_DB, DATABASE_URL, PG* variables)"),
	OPT_STRING(pub_opts, "name", 'n', name, "NAME", "the publication to check (default powersync)", .nonempty = true),
	OPT_LIST(pub_opts, "table", 't', tables, "TABLE", "a table that must be in it (repeatable; schema.table)", .nonempty = true,
		 .doc = "Named as SQL would name it: *tasks*, *public.tasks*, *\"Mixed Case\"*. The name is only ever passed to the server as a parameter."),
	OPT_END,
};

static char *pub_table(const cJSON *pubs)
{
	static const char *const header[] = { "PUBLICATION", "PUBLISHES", "ALL TABLES", "VIA ROOT", "TABLES" };
	sc_table t;
	sc_table_init(&t, 5, header);
	const cJSON *p;
	cJSON_ArrayForEach(p, pubs) {
		sc_buf ops = SC_BUF_INIT, tabs = SC_BUF_INIT;
		const cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItem(p, "publish"))
			sc_buf_printf(&ops, "%s%s", ops.len ? "," : "", x->valuestring);
		int n = 0, total = cJSON_GetArraySize(cJSON_GetObjectItem(p, "tables"));
		const cJSON *lists = cJSON_GetObjectItem(p, "column_lists"), *filters = cJSON_GetObjectItem(p, "row_filters");
		cJSON_ArrayForEach(x, cJSON_GetObjectItem(p, "tables")) {
			if (n++ == 6) {
				sc_buf_printf(&tabs, ", ... (%d in all)", total);
				break;
			}
			sc_buf_printf(&tabs, "%s%s", tabs.len ? ", " : "", x->valuestring);
			/* What pgoutput sends of it (15+): "t (a, b) WHERE (expr)". */
			const cJSON *cols = cJSON_GetObjectItem(lists, x->valuestring), *c;
			if (cJSON_IsArray(cols)) {
				int k = 0;
				sc_buf_puts(&tabs, " (");
				cJSON_ArrayForEach(c, cols)
					sc_buf_printf(&tabs, "%s%s", k++ ? ", " : "", cJSON_GetStringValue(c) ? c->valuestring : "");
				sc_buf_puts(&tabs, ")");
			}
			const char *f = cJSON_GetStringValue(cJSON_GetObjectItem(filters, x->valuestring));
			if (f)
				sc_buf_printf(&tabs, " WHERE %s", f);
		}
		const char *row[] = {
			cJSON_GetStringValue(cJSON_GetObjectItem(p, "name")),
			ops.len ? ops.data : "(nothing)",
			cJSON_IsTrue(cJSON_GetObjectItem(p, "all_tables")) ? "yes" : "no",
			cJSON_IsTrue(cJSON_GetObjectItem(p, "via_partition_root")) ? "yes" : "no",
			tabs.len ? tabs.data : "(none)",
		};
		sc_table_add(&t, row);
		sc_buf_free(&ops);
		sc_buf_free(&tabs);
	}
	char *out = t.nrows > 1 ? sc_table_render(&t, "  ", false) : sc_xstrdup("  (no publications)\n");
	sc_table_free(&t);
	char *s = sc_xasprintf("Publications:\n%s\nChecks:\n", out);
	free(out);
	return s;
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	pub_opts o = { SC_DEFAULT_PUBLICATION, { 0 } };
	int first, rc = SC_EXIT_OK;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc))
		goto out;
	if (first < argc && strcmp(argv[first], "list") != 0 && strcmp(argv[first], "check") != 0) {
		rc = sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
		goto out;
	}
	if ((rc = sc_ctx_load_config(ctx)) != 0)
		goto out;
	sc_error err;
	sc_error_clear(&err);
	sc_pg *pg = sc_cli_connect_db(ctx, &err);
	if (!pg) {
		rc = sc_cli_fail(ctx, &err);
		goto out;
	}
	sc_report r;
	sc_report_init(&r);
	cJSON *list = sc_publication_list(pg, &err);
	if (!list || sc_publication_check(pg, &r, o.name, o.tables.v, o.tables.n, &err) != 0) {
		rc = sc_cli_fail(ctx, &err);
		cJSON_Delete(list);
	} else {
		char *table = pub_table(list);
		cJSON_AddItemToObject(r.extra, "publications", list);
		rc = sc_cli_print_report(ctx, &r, table);
		free(table);
	}
	sc_report_free(&r);
	sc_pg_close(pg);
out:
	sc_list_free(&o.tables);
	return rc;
}

static const char *const usage[] = {
	"publications [--db URI] [--name NAME] [--table TABLE].. [--format FORMAT]",
	NULL,
};

const sc_cmd cmd_publications = {
	.name = "publications",
	.summary = "publications: list them, check one covers what the sync service needs",
	.usage = usage,
	.description =
		"Lists every publication of the source Postgres (operations, all-tables,\n"
		"publish_via_partition_root, tables; from PostgreSQL 15 the column lists and\n"
		"row filters that limit what pgoutput sends) and checks the one named by --name\n"
		"(default powersync): it exists, publishes insert, update, delete and truncate,\n"
		"does not publish via the partition root, every table in it has a primary key or\n"
		"a usable replica identity (kept by its column list), and tables with row level\n"
		"security are readable by the role (BYPASSRLS). Each --table must be in it.",
	.opts = opts,
	.formats = SC_FMT_ALL,
	.run = run,
};
