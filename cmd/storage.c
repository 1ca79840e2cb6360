/* syncctl storage: the bucket storage and the sync state in it;
 * `storage init` initiates a never-initiated single-member replica set. */
#include <stdio.h>
#include <string.h>

#include "../lib/storage.h"
#include "cli.h"

typedef struct {
	sc_settings s;
} storage_opts;

static const sc_opt opts[] = {
	OPT_SETTING("storage", 0, SC_SET_STORAGE, "URI", "bucket storage: mongodb:// or postgresql:// (default: SYNCCTL_STORAGE, the service config)",
		    .doc = "mongodb://HOST:PORT/DATABASE, or a Postgres URI for Postgres bucket storage."),
	OPT_SETTING("db", 0, SC_SET_DB, "URI", "the source Postgres, to look for the storage's slot (default: SYNCCTL_DB, ...)"),
	OPT_END,
};

static void init_text(sc_ctx *ctx, FILE *out, void *data)
{
	if (!ctx->quiet)
		fprintf(out, "%s\n", (const char *)data);
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	storage_opts o;
	memset(&o, 0, sizeof o);
	sc_settings s;
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc))
		return rc;
	s = o.s;
	const char *sub = first < argc ? argv[first] : "check";
	if (strcmp(sub, "check") != 0 && strcmp(sub, "init") != 0)
		return sc_cli_usage_error(ctx, "unknown subcommand '%s' (check or init)", sub);
	if (argc - first > 1)
		return sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first + 1]);
	if ((rc = sc_ctx_load_config(ctx)) != 0 || (rc = sc_cli_settings(ctx, &s)) != 0) {
		sc_settings_free(&s);
		return rc;
	}
	if (!s.storage) {
		const char *why = s.storage_blocked;
		rc = why ? (sc_cli_error(ctx, "%s", why), SC_EXIT_USAGE)
			 : sc_cli_usage_error(ctx, "no bucket storage: give --storage URI, SYNCCTL_STORAGE or --powersync-config");
		sc_settings_free(&s);
		return rc;
	}
	if (strcmp(sub, "init") == 0) {
		if ((rc = sc_cli_text_or_json(ctx, "storage init")) != 0) {
			sc_settings_free(&s);
			return rc;
		}
		char msg[1024];
		sc_error err;
		int r = sc_storage_init_replica_set(s.storage, ctx->timeout, msg, sizeof msg, &err);
		if (r < 0) {
			rc = sc_cli_fail(ctx, &err);
		} else {
			cJSON *j = cJSON_CreateObject();
			cJSON_AddBoolToObject(j, "initiated", r == 0);
			cJSON_AddStringToObject(j, "message", msg);
			sc_out out = { .json = j, .text = init_text, .data = msg, .rc = 0 };
			rc = sc_cli_output(ctx, &out);
		}
		sc_settings_free(&s);
		return rc;
	}
	sc_report r;
	sc_report_init(&r);
	sc_storage_opts so = { s.storage, s.storage_type, s.db, ctx->timeout, 0 };
	sc_error err;
	int checked = sc_storage_check(&so, &r, &err);
	cJSON_AddItemToObject(r.extra, "settings", sc_settings_json(&ctx->cfg, &s));
	rc = sc_cli_print_report(ctx, &r, NULL);
	/* A check that could not be made (unreachable, not authorized) is not a
	 * finding: exit 2 or 3, the report above says which check and why. */
	if (checked != 0)
		rc = err.code ? err.code : SC_EXIT_FAILED;
	sc_report_free(&r);
	sc_settings_free(&s);
	return rc;
}

static const char *const usage[] = {
	"storage [check] [--storage URI] [--db URI] [--format FORMAT]",
	"storage init [--storage URI]",
	NULL,
};

const sc_cmd cmd_storage = {
	.name = "storage",
	.summary = "bucket storage: replica set, sync state, keepalive, slot; init a replica set",
	.usage = usage,
	.description =
		"Checks the bucket storage the sync service keeps: MongoDB (must be a replica\n"
		"set; 6.0 or later; the URI's database) or Postgres (schema powersync), and the\n"
		"sync state in sync_rules: the current rules' state, the age of the last\n"
		"replication keepalive (warn over 5 minutes, fail over 15), and that its slot\n"
		"exists on the source database. 'storage init' initiates a single-member replica\n"
		"set when mongod runs with a replica set name that was never initiated.",
	.subcommands = "check init",
	.opts = opts,
	.formats = SC_FMT_ALL,
	.run = run,
};
