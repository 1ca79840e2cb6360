/* syncctl version: its own version and the linked libraries'. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "../lib/buf.h"
#include "../lib/version.h"
#include "cli.h"

static int run(sc_ctx *ctx, int argc, char **argv)
{
	struct { bool unused; } opts = { false };
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &opts, &first, &rc))
		return rc;
	if (first < argc)
		return sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
	sc_libversion v[16];
	size_t n = sc_library_versions(v, 16);
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "version", SYNCCTL_VERSION);
	cJSON *libs = cJSON_AddObjectToObject(o, "libraries");
	sc_buf t = SC_BUF_INIT;
	sc_buf_printf(&t, "syncctl %s\n", SYNCCTL_VERSION);
	for (size_t i = 0; i < n; i++) {
		cJSON_AddStringToObject(libs, v[i].name, v[i].version);
		sc_buf_printf(&t, "  %-12s %s\n", v[i].name, v[i].version);
	}
	bool quiet = ctx->quiet;
	ctx->quiet = false; /* the version is the output, not detail */
	rc = sc_cli_data(ctx, o, t.data, SC_EXIT_OK);
	ctx->quiet = quiet;
	sc_buf_free(&t);
	return rc;
}

static const char *const usage[] = { "version [--format text|json]", NULL };

const sc_cmd cmd_version = {
	.name = "version",
	.summary = "print the version of syncctl and of the libraries it uses",
	.usage = usage,
	.description = "Prints syncctl's version and those of libpq, libcurl, OpenSSL, cJSON,\nlibmongoc, libyaml, SQLite and libpg_query.",
	.formats = SC_FMT_TEXT_JSON,
	.on_main_page = true,
	.run = run,
};
