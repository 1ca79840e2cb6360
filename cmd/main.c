/* syncctl: global options, then one command from the table. */
#include <stdlib.h>
#include <string.h>

#include "../lib/http.h"
#include "../lib/netaddr.h"
#include "../lib/storage.h"
#include "cli.h"

/* The one command table: dispatch, help, man page and completion checks. */
const sc_cmd *const sc_commands[] = {
	&cmd_doctor,
	&cmd_slots,
	&cmd_publications,
	&cmd_schema,
	&cmd_rules,
	&cmd_token,
	&cmd_compare,
	&cmd_tenant_sync,
	&cmd_storage,
	&cmd_service,
	&cmd_watch,
	&cmd_version,
	&cmd_help,
	&cmd_completion,
	NULL,
};

int main(int argc, char **argv)
{
	sc_ctx ctx;
	memset(&ctx, 0, sizeof ctx);
	ctx.timeout = 10;
	sc_config_init(&ctx.cfg);
	sc_http_global_init();
	sc_storage_global_init();

	/* --format nagios turns every failure into its UNKNOWN line, and
	 * prometheus into a syncctl_exit_code sample, even one met before the
	 * option itself is read. */
	for (int i = 1; i < argc; i++) {
		const char *f = strncmp(argv[i], "--format=", 9) == 0 ? argv[i] + 9
				: strcmp(argv[i], "--format") == 0 && i + 1 < argc ? argv[i + 1] : NULL;
		if (f && strcmp(f, "nagios") == 0)
			ctx.format = SC_FORMAT_NAGIOS;
		else if (f && strcmp(f, "prometheus") == 0)
			ctx.format = SC_FORMAT_PROMETHEUS;
	}
	int first = sc_cli_parse(&ctx, argc, argv, NULL);
	int rc;
	if (first == -2) {
		rc = 0;
		goto out;
	}
	if (first < 0) {
		rc = SC_EXIT_USAGE;
		goto out;
	}
	if (first >= argc) {
		sc_cli_print_overview(stderr);
		rc = SC_EXIT_USAGE;
		goto out;
	}
	bool ambiguous;
	const sc_cmd *cmd = sc_cli_find(argv[first], &ambiguous);
	if (!cmd) {
		if (ambiguous) {
			fprintf(stderr, "syncctl: '%s' is ambiguous; it could be:", argv[first]);
			for (size_t i = 0; sc_commands[i]; i++)
				if (strncmp(sc_commands[i]->name, argv[first], strlen(argv[first])) == 0)
					fprintf(stderr, " %s", sc_commands[i]->name);
			fputc('\n', stderr);
		} else {
			fprintf(stderr, "syncctl: unknown command '%s' (see 'syncctl help')\n", argv[first]);
		}
		rc = SC_EXIT_USAGE;
		goto out;
	}
	ctx.cmd = cmd;
	rc = cmd->run(&ctx, argc - first, argv + first);
out:
	rc = sc_cli_finish(&ctx, rc);
	sc_list_free(&ctx.resolve);
	sc_config_free(&ctx.cfg);
	sc_storage_global_cleanup();
	sc_http_global_cleanup();
	sc_resolve_clear();
	return rc;
}
