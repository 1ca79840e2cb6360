/* The program's side: the command table, options as data, global options,
 * and rendering helpers. Commands parse, call lib/, render; no SQL here. */
#ifndef SC_CLI_H
#define SC_CLI_H

#include <stdbool.h>
#include <stdio.h>

#include "../lib/config.h"
#include "../lib/error.h"
#include "../lib/report.h"

#define SYNCCTL_VERSION "0.1.0"

/* One option, declared once: getopt_long, --help, the man page check and
 * the completion scripts all read it. */
typedef struct sc_opt {
	const char *name;      /* long name, without -- */
	int short_name;        /* 0 when none */
	int has_arg;           /* no_argument / required_argument */
	const char *argname;   /* e.g. "URI" */
	const char *help;
	int id;                /* value getopt_long returns */
	const char *complete;  /* "file", "dir", or a space-separated word list */
} sc_opt;

enum {
	/* Long-only option ids start past any character. */
	OPT_JSON = 256, OPT_COLOR, OPT_TIMEOUT, OPT_ENV_FILE, OPT_PS_CONFIG, OPT_STRICT,
	OPT_DB, OPT_MAX_RETAINED, OPT_YES, OPT_NAME, OPT_TABLE, OPT_PUBLICATION,
	OPT_TABLES, OPT_ALL_TABLES, OPT_ROLE, OPT_PASSWORD_FILE, OPT_DRY_RUN, OPT_REAPPLY,
	OPT_FILE,
	OPT_ALG, OPT_BITS, OPT_KID, OPT_OUT, OPT_FORCE, OPT_KEY, OPT_SECRET_FILE, OPT_SUB,
	OPT_AUD, OPT_ISS, OPT_TTL, OPT_CLAIM, OPT_CLAIM_JSON, OPT_PARAM, OPT_ALLOW_LONG_TTL,
	OPT_JWKS, OPT_LEEWAY, OPT_MAX_LIFETIME, OPT_BATCH, OPT_AT,
	OPT_FORMAT, OPT_COUNT, OPT_DURATION, OPT_PROBE, OPT_INTERVAL,
	OPT_RULES,
	OPT_STORAGE, OPT_SERVICE, OPT_API_TOKEN_FILE, OPT_TOKEN_ENDPOINT, OPT_UPLOAD_ENDPOINT,
	OPT_ONLY, OPT_SKIP,
	OPT_LOCAL, OPT_USER, OPT_IDS, OPT_LIMIT, OPT_CHECKSUM, OPT_SCHEMA,
	OPT_REMOTE, OPT_DIRECTION, OPT_TENANT_COLUMN, OPT_TENANT, OPT_CONFLICT, OPT_UPDATED_COLUMN,
	OPT_DELETE, OPT_WAIT, OPT_UPLOAD_TOKEN_FILE, OPT_RESOLVE,
	OPT_FULL, OPT_MAX_DELETE, OPT_ALLOW_BIG_DELETE, OPT_KEEP_DELETED, OPT_RESTORE,
};

struct sc_ctx;

typedef struct sc_cmd {
	const char *name;
	const char *summary;           /* one line, for `syncctl help` */
	const char *const *usage;      /* synopsis lines, without "syncctl " */
	const char *description;       /* a paragraph for --help */
	const char *subcommands;       /* space-separated, for completion; or NULL */
	const sc_opt *opts;            /* terminated by a zero entry */
	bool reports;                  /* takes the report options (--json, -q, ...) */
	int (*run)(struct sc_ctx *ctx, int argc, char **argv);
} sc_cmd;

typedef struct sc_ctx {
	const sc_cmd *cmd;
	bool json, quiet, verbose, strict;
	int color_mode;                /* 0 auto, 1 always, 2 never */
	int timeout;                   /* seconds */
	const char *env_file;
	const char *ps_config;
	sc_config cfg;
} sc_ctx;

extern const sc_cmd *const sc_commands[];
extern const sc_opt sc_global_opts[];

/* Command entries, one per file (cmd/cmd_NAME.c). */
extern const sc_cmd cmd_doctor, cmd_slots, cmd_publications, cmd_schema, cmd_rules, cmd_token,
	cmd_compare, cmd_tenant_sync, cmd_storage, cmd_service, cmd_watch, cmd_version, cmd_help, cmd_completion;

#include "../lib/settings.h"

/* Options for the settings (--storage, --service, --key, ...) shared by
 * doctor, storage and service. */
int sc_settings_opt(sc_ctx *ctx, sc_settings *s, int id, const char *arg);
/* Resolves the settings (lib/settings.h), prints its warnings; returns 0 or
 * the exit code of unusable input (printed). */
int sc_cli_settings(sc_ctx *ctx, sc_settings *s);

/* Parses argv with the global and the command's options; calls `on_opt`
 * for the command's own. Returns optind (first operand), or -1 after a usage
 * error was printed (exit 2), or -2 after --help was printed (exit 0). */
typedef int (*sc_opt_fn)(sc_ctx *ctx, int id, const char *arg, void *data);
int sc_cli_parse(sc_ctx *ctx, int argc, char **argv, sc_opt_fn on_opt, void *data);

/* The usual start of a command: parses, and says whether to go on. On false,
 * *rc is the exit code (0 after --help, 2 after a usage error). */
bool sc_cli_start(sc_ctx *ctx, int argc, char **argv, sc_opt_fn on_opt, void *data,
		  int *first, int *rc);

/* Loads --env-file and --powersync-config (in that order, so !env tags can
 * read the env file). Prints the error and returns its exit code, or 0. */
int sc_ctx_load_config(sc_ctx *ctx);

/* "syncctl CMD: message" on stderr. */
void sc_cli_error(const sc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sc_cli_warn(const sc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints err (one line) and returns its code. */
int sc_cli_fail(const sc_ctx *ctx, const sc_error *err);
int sc_cli_usage_error(const sc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool sc_cli_color_stdout(const sc_ctx *ctx);
bool sc_cli_stderr_is_tty(void);

/* Prints a report as the options say (JSON or text) and returns the exit
 * code the report earns. `before` is text shown above the checks. */
int sc_cli_print_report(sc_ctx *ctx, sc_report *r, const char *before);

/* Help for one command (the same text as CMD --help). */
void sc_cli_print_help(FILE *out, const sc_cmd *cmd);
void sc_cli_print_overview(FILE *out);
const sc_cmd *sc_cli_find(const char *name, bool *ambiguous);

/* Resolves the source DB from --db, the environment, the env file and the
 * service config; warns when a password came in argv. */
const char *sc_cli_db(sc_ctx *ctx, const char **origin);
/* Connects to the source DB within --timeout; the error names the setting
 * it came from. */
struct sc_pg *sc_cli_connect_db(sc_ctx *ctx, sc_error *err);

#endif
