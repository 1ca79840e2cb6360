/* Option parsing, configuration loading and report output shared by every
 * command. */
#include <getopt.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/jose.h"
#include "../lib/netaddr.h"
#include "../lib/token.h"
#include "../lib/pg.h"
#include "../lib/util.h"
#include "cli.h"

const sc_opt sc_global_opts[] = {
	{ "json", 0, no_argument, NULL, "print one JSON document on stdout", OPT_JSON, NULL },
	{ "color", 0, required_argument, "WHEN", "colour: auto (default), always, never", OPT_COLOR, "auto always never" },
	{ "quiet", 'q', no_argument, NULL, "print only failures", 'q', NULL },
	{ "verbose", 'v', no_argument, NULL, "add detail: SQL run, URLs fetched, check details", 'v', NULL },
	{ "strict", 0, no_argument, NULL, "treat warnings as failures (exit 1)", OPT_STRICT, NULL },
	{ "timeout", 0, required_argument, "SECONDS", "deadline for each network operation (default 10)", OPT_TIMEOUT, NULL },
	{ "env-file", 0, required_argument, "FILE", "read settings from a dotenv file (KEY=VALUE)", OPT_ENV_FILE, "file" },
	{ "powersync-config", 0, required_argument, "FILE", "read settings from the sync service's YAML config (none: do not look for ./powersync/service.yaml)", OPT_PS_CONFIG, "file" },
	{ "resolve", 0, required_argument, "HOST[:PORT]=ADDR[:PORT]", "connect to ADDR for HOST (repeatable), e.g. the names of a compose network", OPT_RESOLVE, NULL },
	{ "help", 'h', no_argument, NULL, "show this help", 'h', NULL },
	{ 0 },
};

static void vmsg(const sc_ctx *ctx, const char *kind, const char *fmt, va_list ap)
{
	fputs("syncctl", stderr);
	if (ctx && ctx->cmd)
		fprintf(stderr, " %s", ctx->cmd->name);
	fprintf(stderr, ": %s", kind);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
}

void sc_cli_error(const sc_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(ctx, "error: ", fmt, ap);
	va_end(ap);
}

void sc_cli_warn(const sc_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(ctx, "warning: ", fmt, ap);
	va_end(ap);
}

int sc_cli_fail(const sc_ctx *ctx, const sc_error *err)
{
	sc_cli_error(ctx, "%s", err->message);
	return err->code ? err->code : SC_EXIT_FAILED;
}

int sc_cli_usage_error(const sc_ctx *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const char *name = ctx && ctx->cmd ? ctx->cmd->name : NULL;
	fprintf(stderr, "syncctl%s%s: %s (see 'syncctl %s%s--help')\n", name ? " " : "",
		name ? name : "", msg, name ? name : "", name ? " " : "");
	return SC_EXIT_USAGE;
}

bool sc_cli_stderr_is_tty(void) { return isatty(STDERR_FILENO); }

bool sc_cli_color_stdout(const sc_ctx *ctx)
{
	if (ctx->color_mode == 1)
		return true;
	if (ctx->color_mode == 2)
		return false;
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return false;
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(STDOUT_FILENO);
}

static size_t count_opts(const sc_opt *o)
{
	size_t n = 0;
	while (o && o[n].name)
		n++;
	return n;
}

static int handle_global(sc_ctx *ctx, int id, const char *arg)
{
	switch (id) {
	case OPT_JSON: ctx->json = true; return 0;
	case 'q': ctx->quiet = true; return 0;
	case 'v': ctx->verbose = true; return 0;
	case OPT_STRICT: ctx->strict = true; return 0;
	case OPT_COLOR:
		if (strcmp(arg, "auto") == 0)
			ctx->color_mode = 0;
		else if (strcmp(arg, "always") == 0)
			ctx->color_mode = 1;
		else if (strcmp(arg, "never") == 0)
			ctx->color_mode = 2;
		else
			return sc_cli_usage_error(ctx, "--color takes auto, always or never, not '%s'", arg);
		return 0;
	case OPT_TIMEOUT:
		if (!sc_parse_seconds(arg, &ctx->timeout))
			return sc_cli_usage_error(ctx, "--timeout takes whole seconds from 1 to 86400, not '%s'", arg);
		return 0;
	case OPT_ENV_FILE: ctx->env_file = arg; return 0;
	case OPT_PS_CONFIG: ctx->ps_config = arg; return 0;
	case OPT_RESOLVE: {
		sc_error err;
		if (sc_resolve_add(arg, &err) != 0)
			return sc_cli_usage_error(ctx, "%s", err.message);
		return 0;
	}
	}
	return -1;
}

static void log_stderr(const char *line) { fprintf(stderr, "syncctl: %s\n", line); }

int sc_cli_parse(sc_ctx *ctx, int argc, char **argv, sc_opt_fn on_opt, void *data)
{
	const sc_opt *cmd_opts = ctx->cmd ? ctx->cmd->opts : NULL;
	size_t ng = count_opts(sc_global_opts), nc = count_opts(cmd_opts);
	struct option *lo = sc_xcalloc(ng + nc + 1, sizeof *lo);
	sc_buf shorts = SC_BUF_INIT;
	/* ':' first: a missing argument is told apart from an unknown option;
	 * '+' before the command: options after it belong to the command. */
	sc_buf_puts(&shorts, ctx->cmd ? ":" : "+:");
	size_t k = 0;
	for (int pass = 0; pass < 2; pass++) {
		const sc_opt *set = pass == 0 ? sc_global_opts : cmd_opts;
		for (size_t i = 0; set && set[i].name; i++) {
			lo[k].name = set[i].name;
			lo[k].has_arg = set[i].has_arg;
			lo[k].flag = NULL;
			lo[k].val = set[i].id;
			k++;
			if (set[i].short_name) {
				sc_buf_putc(&shorts, (char)set[i].short_name);
				if (set[i].has_arg == required_argument)
					sc_buf_putc(&shorts, ':');
			}
		}
	}
	int rc = 0;
	opterr = 0;
	optind = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shorts.data, lo, NULL);
		if (c == -1)
			break;
		if (c == '?' || c == ':') {
			const char *bad = argv[optind > 1 ? optind - 1 : 1];
			if (optopt && optopt < 256 && c == '?')
				rc = sc_cli_usage_error(ctx, "unknown option '-%c'", optopt);
			else if (c == '?')
				rc = sc_cli_usage_error(ctx, "unknown option '%s'", bad);
			else
				rc = sc_cli_usage_error(ctx, "option '%s' needs a value", bad);
			rc = -1;
			break;
		}
		if (c == 'h') {
			if (ctx->cmd)
				sc_cli_print_help(stdout, ctx->cmd);
			else
				sc_cli_print_overview(stdout);
			rc = -2;
			break;
		}
		int g = handle_global(ctx, c, optarg);
		if (g == -1 && on_opt)
			g = on_opt(ctx, c, optarg, data);
		if (g != 0) {
			rc = -1;
			break;
		}
	}
	if (rc == 0)
		rc = optind;
	if (ctx->verbose)
		sc_log_set(log_stderr);
	free(lo);
	sc_buf_free(&shorts);
	return rc;
}

bool sc_cli_start(sc_ctx *ctx, int argc, char **argv, sc_opt_fn on_opt, void *data,
		  int *first, int *rc)
{
	*first = sc_cli_parse(ctx, argc, argv, on_opt, data);
	if (*first >= 0)
		return true;
	*rc = *first == -2 ? SC_EXIT_OK : SC_EXIT_USAGE;
	return false;
}

int sc_ctx_load_config(sc_ctx *ctx)
{
	sc_error err;
	sc_error_clear(&err);
	if (ctx->env_file && sc_config_load_env_file(&ctx->cfg, ctx->env_file, &err) != 0)
		return sc_cli_fail(ctx, &err);
	const char *ps = ctx->ps_config ? ctx->ps_config : getenv("POWERSYNC_CONFIG_PATH");
	bool discovered = false;
	if (ps && strcmp(ps, "none") == 0) {
		ps = NULL;
	} else if (!ps || !*ps) {
		/* The layout of the powersync CLI's `init self-hosted`. */
		if (access("powersync/service.yaml", R_OK) == 0) {
			ps = "powersync/service.yaml";
			discovered = true;
		}
	}
	if (ps && *ps) {
		if (sc_config_load_powersync(&ctx->cfg, ps, &err) != 0)
			return sc_cli_fail(ctx, &err);
		ctx->cfg.ps_discovered = discovered;
		if (discovered)
			sc_log_verbose("using the service config ./powersync/service.yaml (--powersync-config none turns this off)");
		for (size_t i = 0; i < ctx->cfg.nissues; i++)
			sc_log_verbose("service config: %s", ctx->cfg.issues[i].message);
	}
	return 0;
}

const char *sc_cli_db(sc_ctx *ctx, const char **origin)
{
	const char *db = sc_config_get(&ctx->cfg, SC_SET_DB, origin);
	if (ctx->cfg.flag[SC_SET_DB] && sc_pg_conninfo_has_password(ctx->cfg.flag[SC_SET_DB]))
		sc_cli_warn(ctx, "a password in --db is visible to other users in ps; use SYNCCTL_DB, --env-file or ~/.pgpass");
	return db ? db : "";
}

sc_pg *sc_cli_connect_db(sc_ctx *ctx, sc_error *err)
{
	const char *origin;
	const char *db = sc_cli_db(ctx, &origin);
	if (!*db && !getenv("PGHOST") && !getenv("PGDATABASE")) {
		/* The service config names the source but it cannot be used. */
		const char *why = sc_config_blocked(&ctx->cfg, SC_SET_DB);
		const char *type = ctx->cfg.ps_source_type;
		if (why) {
			sc_error_set(err, SC_EXIT_USAGE, "%s", why);
			return NULL;
		}
		if (type && strcmp(type, "postgresql") != 0) {
			sc_error_set(err, SC_EXIT_USAGE, "the service config's source is a %s database (replication.connections[0].type): syncctl's Postgres checks do not apply; give --db for a Postgres source", type);
			return NULL;
		}
	}
	char *what = sc_xasprintf("the source database (from %s)", *db ? origin : "libpq's PG* defaults");
	sc_pg *pg = sc_pg_connect(db, what, ctx->timeout, err);
	free(what);
	return pg;
}

int sc_cli_print_report(sc_ctx *ctx, sc_report *r, const char *before)
{
	if (ctx->json) {
		char *s = sc_report_render_json(r);
		puts(s);
		free(s);
	} else {
		sc_render_opts o = { sc_cli_color_stdout(ctx), ctx->quiet, ctx->verbose, ctx->strict, false };
		if (before && *before && !ctx->quiet)
			fputs(before, stdout);
		char *s = sc_report_render_text(r, &o);
		fputs(s, stdout);
		free(s);
	}
	fflush(stdout);
	return sc_report_exit_code(r, ctx->strict);
}

static void print_opts(FILE *out, const sc_opt *opts)
{
	for (size_t i = 0; opts && opts[i].name; i++) {
		char left[96];
		const sc_opt *o = &opts[i];
		if (o->short_name)
			snprintf(left, sizeof left, "-%c, --%s%s%s", o->short_name, o->name,
				 o->argname ? " " : "", o->argname ? o->argname : "");
		else
			snprintf(left, sizeof left, "    --%s%s%s", o->name, o->argname ? " " : "",
				 o->argname ? o->argname : "");
		if (strlen(left) > 28)
			fprintf(out, "  %s\n  %-28s  %s\n", left, "", o->help);
		else
			fprintf(out, "  %-28s  %s\n", left, o->help);
	}
}

void sc_cli_print_help(FILE *out, const sc_cmd *cmd)
{
	for (size_t i = 0; cmd->usage[i]; i++)
		fprintf(out, "%s syncctl %s\n", i ? "      " : "Usage:", cmd->usage[i]);
	fprintf(out, "\n%s\n", cmd->description ? cmd->description : cmd->summary);
	if (count_opts(cmd->opts)) {
		fputs("\nOptions:\n", out);
		print_opts(out, cmd->opts);
	}
	fputs("\nGlobal options:\n", out);
	print_opts(out, sc_global_opts);
	fprintf(out, "\nExit status: 0 ok, 1 problems found, 2 usage error or unusable input, 3 could not do the job.\n"
		     "See syncctl-%s(1) for more.\n", cmd->name);
}

void sc_cli_print_overview(FILE *out)
{
	fputs("Usage: syncctl [global options] COMMAND [options] [args]\n\n"
	      "Operate offline-first sync deployments: the source Postgres, its replication\n"
	      "slots and publications, the schema, and more.\n\nCommands:\n", out);
	for (size_t i = 0; sc_commands[i]; i++)
		fprintf(out, "  %-14s %s\n", sc_commands[i]->name, sc_commands[i]->summary);
	fputs("\nGlobal options:\n", out);
	print_opts(out, sc_global_opts);
	fputs("\nRun 'syncctl help COMMAND' for a command's options; man syncctl for the rest.\n", out);
}

const sc_cmd *sc_cli_find(const char *name, bool *ambiguous)
{
	const sc_cmd *hit = NULL;
	size_t nhits = 0, len = strlen(name);
	*ambiguous = false;
	for (size_t i = 0; sc_commands[i]; i++) {
		if (strcmp(sc_commands[i]->name, name) == 0)
			return sc_commands[i];
		if (len && strncmp(sc_commands[i]->name, name, len) == 0) {
			hit = sc_commands[i];
			nhits++;
		}
	}
	if (nhits > 1) {
		*ambiguous = true;
		return NULL;
	}
	return hit;
}

int sc_settings_opt(sc_ctx *ctx, sc_settings *s, int id, const char *arg)
{
	switch (id) {
	case OPT_DB: sc_config_set_flag(&ctx->cfg, SC_SET_DB, arg); return 0;
	case OPT_STORAGE: sc_config_set_flag(&ctx->cfg, SC_SET_STORAGE, arg); return 0;
	case OPT_SERVICE: sc_config_set_flag(&ctx->cfg, SC_SET_SERVICE, arg); return 0;
	case OPT_JWKS: sc_config_set_flag(&ctx->cfg, SC_SET_JWKS, arg); return 0;
	case OPT_KID: sc_config_set_flag(&ctx->cfg, SC_SET_KID, arg); return 0;
	case OPT_RULES: sc_config_set_flag(&ctx->cfg, SC_SET_RULES, arg); return 0;
	case OPT_AUD: {
		/* Repeatable: kept as a comma list in the flag layer. */
		const char *prev = ctx->cfg.flag[SC_SET_AUDIENCE];
		char *v = prev ? sc_xasprintf("%s,%s", prev, arg) : sc_xstrdup(arg);
		sc_config_set_flag(&ctx->cfg, SC_SET_AUDIENCE, v);
		free(v);
		return 0;
	}
	case OPT_API_TOKEN_FILE: s->api_token_file = arg; return 0;
	case OPT_KEY: s->key_file = arg; return 0;
	case OPT_SECRET_FILE: s->secret_file = arg; return 0;
	case OPT_UPLOAD_TOKEN_FILE: s->upload_token_file = arg; return 0;
	case OPT_TOKEN_ENDPOINT: s->token_endpoint = arg; return 0;
	case OPT_UPLOAD_ENDPOINT: s->upload_endpoint = arg; return 0;
	}
	return -1;
}

int sc_cli_settings(sc_ctx *ctx, sc_settings *s)
{
	sc_error err;
	sc_error_clear(&err);
	int rc = sc_settings_resolve(&ctx->cfg, s, &err);
	for (size_t i = 0; i < s->nwarnings; i++)
		sc_cli_warn(ctx, "%s", s->warnings[i]);
	if (rc != 0)
		return sc_cli_fail(ctx, &err);
	if (ctx->cfg.flag[SC_SET_DB] && sc_pg_conninfo_has_password(ctx->cfg.flag[SC_SET_DB]))
		sc_cli_warn(ctx, "a password in --db is visible to other users in ps; use SYNCCTL_DB, --env-file or ~/.pgpass");
	return 0;
}
