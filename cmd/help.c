/* syncctl help [CMD]: the same text as CMD --help. */
#include <stdio.h>

#include "cli.h"

static int run(sc_ctx *ctx, int argc, char **argv)
{
	struct { bool unused; } o = { false };
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc))
		return rc;
	if (first >= argc) {
		sc_cli_print_overview(stdout);
		return SC_EXIT_OK;
	}
	if (argc - first > 1)
		return sc_cli_usage_error(ctx, "help takes one command name");
	bool ambiguous;
	const sc_cmd *cmd = sc_cli_find(argv[first], &ambiguous);
	if (!cmd)
		return sc_cli_usage_error(ctx, "%s command '%s'", ambiguous ? "ambiguous" : "unknown", argv[first]);
	sc_cli_print_help(stdout, cmd);
	return SC_EXIT_OK;
}

static const char *const usage[] = { "help [COMMAND]", NULL };

const sc_cmd cmd_help = {
	.name = "help",
	.summary = "show the help of a command (the same as COMMAND --help)",
	.usage = usage,
	.description = "Without a command, lists the commands; with one, shows its options.",
	.on_main_page = true,
	.run = run,
};
