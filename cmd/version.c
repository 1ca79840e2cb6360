/* syncctl version: its own version and the linked libraries'. */
#include <stdio.h>
#include <stdlib.h>

#include <cjson/cJSON.h>

#include "../lib/version.h"
#include "cli.h"

static int run(sc_ctx *ctx, int argc, char **argv)
{
	int first = sc_cli_parse(ctx, argc, argv, NULL, NULL);
	if (first == -2)
		return SC_EXIT_OK;
	if (first < 0)
		return SC_EXIT_USAGE;
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
