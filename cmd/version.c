/* syncctl version: its own version and the linked libraries'. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "../lib/version.h"
#include "cli.h"

static int run(sc_ctx *ctx, int argc, char **argv)
{
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, NULL, NULL, &first, &rc))
		return rc;
	if (first < argc)
		return sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
	sc_libversion v[16];
	size_t n = sc_library_versions(v, 16);
	if (ctx->json) {
		cJSON *o = cJSON_CreateObject();
		cJSON_AddStringToObject(o, "version", SYNCCTL_VERSION);
		cJSON *libs = cJSON_AddObjectToObject(o, "libraries");
		for (size_t i = 0; i < n; i++)
			cJSON_AddStringToObject(libs, v[i].name, v[i].version);
		char *s = cJSON_Print(o);
		puts(s);
		free(s);
		cJSON_Delete(o);
	} else {
		printf("syncctl %s\n", SYNCCTL_VERSION);
		for (size_t i = 0; i < n; i++)
			printf("  %-12s %s\n", v[i].name, v[i].version);
	}
	return SC_EXIT_OK;
}

static const char *const usage[] = { "version [--json]", NULL };

const sc_cmd cmd_version = {
	.name = "version",
	.summary = "print the version of syncctl and of the libraries it uses",
	.usage = usage,
	.description = "Prints syncctl's version and those of libpq, libcurl, OpenSSL, cJSON,\nlibmongoc, libyaml, SQLite and libpg_query.",
	.run = run,
};
