/* syncctl slots: replication slots with health, lag and retained WAL;
 * `slots drop NAME`. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/pg.h"
#include "../lib/replication.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct {
	int64_t max_retained;
	bool yes;
} slots_opts;

static const sc_opt opts[] = {
	OPT_SETTING("db", 0, SC_SET_DB, "URI", "source Postgres (default: SYNCCTL_DB, DATABASE_URL, PG* variables)",
		    .doc = "Else the *--env-file*, the *--powersync-config*, then libpq's *PG\\** variables."),
	OPT_SIZE(slots_opts, "max-retained", 0, max_retained, "SIZE",
		 "WAL an inactive slot may retain before it fails, an active one warns (default 1GB; kB, MB, GB)",
		 .doc = "Units: bytes, kB, MB, GB, TB (powers of 1024, as in Postgres settings)."),
	OPT_FLAG(slots_opts, "yes", 'y', yes, "slots drop: do not ask for confirmation"),
	OPT_END,
};

static char *slot_table(const cJSON *slots)
{
	static const char *const header[] = { "SLOT", "PLUGIN", "TYPE", "DATABASE", "ACTIVE", "WAL_STATUS", "LAG", "RETAINED", "SAFE_WAL" };
	sc_table t;
	sc_table_init(&t, 9, header);
	const cJSON *s;
	cJSON_ArrayForEach(s, slots) {
		char *lag = NULL, *ret = NULL, *safe = NULL, pid[32] = "no";
		const cJSON *v;
		if (cJSON_IsNumber(v = cJSON_GetObjectItem(s, "lag_bytes")))
			lag = sc_format_size((int64_t)v->valuedouble);
		if (cJSON_IsNumber(v = cJSON_GetObjectItem(s, "retained_bytes")))
			ret = sc_format_size((int64_t)v->valuedouble);
		if (cJSON_IsNumber(v = cJSON_GetObjectItem(s, "safe_wal_size")))
			safe = sc_format_size((int64_t)v->valuedouble);
		if (cJSON_IsTrue(cJSON_GetObjectItem(s, "active"))) {
			v = cJSON_GetObjectItem(s, "active_pid");
			snprintf(pid, sizeof pid, "yes (%d)", cJSON_IsNumber(v) ? v->valueint : 0);
		}
		const char *row[] = {
			cJSON_GetStringValue(cJSON_GetObjectItem(s, "name")),
			cJSON_GetStringValue(cJSON_GetObjectItem(s, "plugin")),
			cJSON_GetStringValue(cJSON_GetObjectItem(s, "slot_type")),
			cJSON_GetStringValue(cJSON_GetObjectItem(s, "database")),
			pid,
			cJSON_GetStringValue(cJSON_GetObjectItem(s, "wal_status")),
			lag ? lag : "-", ret ? ret : "-", safe ? safe : "-",
		};
		for (int i = 0; i < 9; i++)
			if (!row[i])
				row[i] = "-";
		sc_table_add(&t, row);
		free(lag);
		free(ret);
		free(safe);
	}
	char *out = t.nrows > 1 ? sc_table_render(&t, "  ", false) : sc_xstrdup("  (no replication slots)\n");
	sc_table_free(&t);
	sc_buf b = SC_BUF_INIT;
	sc_buf_printf(&b, "Replication slots:\n%s\nChecks:\n", out);
	free(out);
	return sc_buf_take(&b);
}

static bool confirm(const char *name, int64_t retained)
{
	char *size = sc_format_size(retained);
	fprintf(stderr, "Drop replication slot \"%s\" (it retains %s of WAL)? Its consumer will have to start over. [y/N] ", name, size);
	free(size);
	char line[16];
	if (!fgets(line, sizeof line, stdin))
		return false;
	return line[0] == 'y' || line[0] == 'Y';
}

static int drop(sc_ctx *ctx, sc_pg *pg, const char *name, bool yes)
{
	sc_error err;
	sc_error_clear(&err);
	if (!yes) {
		if (!isatty(STDIN_FILENO) || !isatty(STDERR_FILENO))
			return sc_cli_usage_error(ctx, "refusing to drop slot \"%s\" without --yes when not on a terminal", name);
		int active = 0, pid = 0;
		int64_t retained = 0;
		int found = sc_replication_slot_info(pg, name, &active, &pid, &retained, &err);
		if (found < 0)
			return sc_cli_fail(ctx, &err);
		if (found && !active && !confirm(name, retained)) {
			fprintf(stderr, "syncctl slots: not dropped\n");
			return SC_EXIT_PROBLEM;
		}
	}
	if (sc_replication_drop_slot(pg, name, &err) != 0)
		return sc_cli_fail(ctx, &err);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "dropped", true);
	cJSON_AddStringToObject(o, "slot", name);
	char *text = sc_xasprintf("dropped replication slot \"%s\"\n", name);
	int rc = sc_cli_data(ctx, o, text, SC_EXIT_OK);
	free(text);
	return rc;
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	slots_opts o = { SC_DEFAULT_MAX_RETAINED, false };
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc))
		return rc;
	const char *sub = first < argc ? argv[first] : "list";
	bool is_drop = strcmp(sub, "drop") == 0;
	if (!is_drop && strcmp(sub, "list") != 0)
		return sc_cli_usage_error(ctx, "unknown subcommand '%s' (list or drop)", sub);
	if (is_drop && argc - first != 2)
		return sc_cli_usage_error(ctx, "slots drop takes exactly one slot name");
	if (is_drop && (rc = sc_cli_text_or_json(ctx, "slots drop")) != 0)
		return rc;
	if (!is_drop && argc - first > 1)
		return sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first + 1]);
	rc = sc_ctx_load_config(ctx);
	if (rc)
		return rc;

	sc_error err;
	sc_error_clear(&err);
	sc_pg *pg = sc_cli_connect_db(ctx, &err);
	if (!pg)
		return sc_cli_fail(ctx, &err);
	if (is_drop) {
		rc = drop(ctx, pg, argv[first + 1], o.yes);
		sc_pg_close(pg);
		return rc;
	}
	sc_report r;
	sc_report_init(&r);
	if (sc_replication_check_settings(pg, &r, &err) != 0 ||
	    sc_replication_check_slots(pg, &r, o.max_retained, &err) != 0) {
		rc = sc_cli_fail(ctx, &err);
	} else {
		char *table = slot_table(cJSON_GetObjectItem(r.extra, "slots"));
		/* The rows are in each slot check's details. */
		cJSON_DeleteItemFromObject(r.extra, "slots");
		rc = sc_cli_print_report(ctx, &r, table);
		free(table);
	}
	sc_report_free(&r);
	sc_pg_close(pg);
	return rc;
}

static const char *const usage[] = {
	"slots [list] [--db URI] [--max-retained SIZE] [--format FORMAT]",
	"slots drop NAME [--db URI] [--yes]",
	NULL,
};

const sc_cmd cmd_slots = {
	.name = "slots",
	.summary = "replication slots: health, lag, retained WAL; drop one",
	.usage = usage,
	.description =
		"Lists the replication slots of the source Postgres and checks them and the\n"
		"settings logical replication needs: wal_level, free slots and WAL senders, and\n"
		"the REPLICATION attribute of the connecting role. A lost slot (with the reason\n"
		"the server gives), or an inactive one retaining more WAL than --max-retained,\n"
		"fails; an active one lagging more warns, as do an unreserved slot, one with at\n"
		"most half of its max_slot_wal_keep_size budget left, and an inactive one with\n"
		"no limit on its WAL. 'slots drop NAME' drops an inactive slot (asks on a\n"
		"terminal, else needs --yes) and refuses an active one.",
	.subcommands = "list drop",
	.opts = opts,
	.formats = SC_FMT_ALL,
	.run = run,
};
