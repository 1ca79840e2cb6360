/* The program's side: the command table, options declared once and bound
 * to their targets, the output layer. Commands parse, call lib/, render;
 * no SQL or HTTP here. See README "Hacking". */
#ifndef SC_CLI_H
#define SC_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "../lib/config.h"
#include "../lib/error.h"
#include "../lib/report.h"
#include "../lib/settings.h"

#define SYNCCTL_VERSION "0.1.0"

struct sc_ctx;
struct sc_opt;

/* A repeatable option's values (they point into argv). */
typedef struct sc_list {
	char **v;
	size_t n;
} sc_list;

void sc_list_push(sc_list *l, char *s);
void sc_list_free(sc_list *l);

/* What an option writes, and how its argument is read. */
typedef enum sc_opt_type {
	SC_OPT_END = 0,  /* the table's end; a declaration without a type is refused */
	SC_OPT_FLAG,     /* bool target = true */
	SC_OPT_VALUE,    /* int target = .min (e.g. --json: the format) */
	SC_OPT_STRING,   /* const char * target */
	SC_OPT_LIST,     /* sc_list target, one item an occurrence */
	SC_OPT_INT,      /* long target, from .min to .max */
	SC_OPT_DURATION, /* double target, seconds (30, 5m, 1.5h, 1d), above 0, at most .max */
	SC_OPT_SIZE,     /* int64_t target, bytes (512MB, 1GB) */
	SC_OPT_ENUM,     /* int target: the index of the argument in .values */
	SC_OPT_SETTING,  /* the configuration's flag layer: setting .setting (comma-joined when repeatable) */
	SC_OPT_CALL,     /* .fn(ctx, opt, arg, target) */
} sc_opt_type;

/* One option, declared once: the parser, --help, the completions, the man
 * pages' SYNOPSIS and OPTIONS and the README synopses all come from it. */
typedef struct sc_opt {
	const char *name;      /* long name, without -- */
	int short_name;        /* an alias of the long option, or 0 */
	sc_opt_type type;
	const char *arg;       /* the argument's name, e.g. "URI"; NULL for FLAG and VALUE */
	const char *help;      /* one line */
	const char *doc;       /* more for the man page, or NULL */
	size_t offset;         /* the target in the options struct (sc_ctx for globals) */
	size_t size;           /* sizeof the target, checked against the type */
	bool targeted;         /* set by the declaring macros */
	const char *values;    /* ENUM: the words; otherwise completion words, or NULL */
	long min, max;         /* INT: the range; DURATION: max; VALUE: the value */
	int setting;           /* SETTING: an sc_setting_id */
	bool repeatable;
	bool nonempty;         /* an empty argument is a usage error */
	bool file;             /* the argument is a path (completion) */
	int (*fn)(struct sc_ctx *ctx, const struct sc_opt *o, const char *arg, void *target);
} sc_opt;

/* Declarations (T is the options struct; F a member, nested members
 * allowed). A member that does not exist does not build; one of the wrong
 * size fails `syncctl completion lint` (tests/cmd/00-cli.bats). Extra
 * fields go in ..., e.g. .doc = "...", .values = "a b". */
#define SC_TARGET(T, F) .offset = offsetof(T, F), .size = sizeof(((T *)0)->F), .targeted = true
#define OPT_FLAG(T, N, S, F, H, ...) { .name = N, .short_name = S, .type = SC_OPT_FLAG, .help = H, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_VALUE(T, N, S, F, V, H, ...) { .name = N, .short_name = S, .type = SC_OPT_VALUE, .help = H, .min = V, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_STRING(T, N, S, F, A, H, ...) { .name = N, .short_name = S, .type = SC_OPT_STRING, .arg = A, .help = H, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_FILE(T, N, S, F, A, H, ...) { .name = N, .short_name = S, .type = SC_OPT_STRING, .arg = A, .help = H, .file = true, .nonempty = true, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_LIST(T, N, S, F, A, H, ...) { .name = N, .short_name = S, .type = SC_OPT_LIST, .arg = A, .help = H, .repeatable = true, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_INT(T, N, S, F, A, LO, HI, H, ...) { .name = N, .short_name = S, .type = SC_OPT_INT, .arg = A, .help = H, .min = LO, .max = HI, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_DURATION(T, N, S, F, A, HI, H, ...) { .name = N, .short_name = S, .type = SC_OPT_DURATION, .arg = A, .help = H, .max = HI, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_SIZE(T, N, S, F, A, H, ...) { .name = N, .short_name = S, .type = SC_OPT_SIZE, .arg = A, .help = H, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_ENUM(T, N, S, F, A, W, H, ...) { .name = N, .short_name = S, .type = SC_OPT_ENUM, .arg = A, .values = W, .help = H, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_SETTING(N, S, ID, A, H, ...) { .name = N, .short_name = S, .type = SC_OPT_SETTING, .arg = A, .help = H, .setting = ID, .targeted = true, __VA_ARGS__ }
#define OPT_CALL(T, N, S, F, A, FN, H, ...) { .name = N, .short_name = S, .type = SC_OPT_CALL, .arg = A, .help = H, .fn = FN, SC_TARGET(T, F), __VA_ARGS__ }
#define OPT_END { .type = SC_OPT_END }

/* Output formats a command can give (--format; --json is --format json). */
typedef enum sc_format {
	SC_FORMAT_TEXT = 0,
	SC_FORMAT_JSON,
	SC_FORMAT_NAGIOS,
	SC_FORMAT_PROMETHEUS,
} sc_format;

#define SC_FMT(f) (1u << (f))
#define SC_FMT_TEXT_JSON (SC_FMT(SC_FORMAT_TEXT) | SC_FMT(SC_FORMAT_JSON))
#define SC_FMT_ALL (SC_FMT_TEXT_JSON | SC_FMT(SC_FORMAT_NAGIOS) | SC_FMT(SC_FORMAT_PROMETHEUS))

typedef struct sc_cmd {
	const char *name;
	const char *summary;           /* one line, for `syncctl help` */
	const char *const *usage;      /* synopsis forms, without "syncctl "; a form may
					* go on in the next entries, which start with a blank */
	const char *description;       /* a paragraph for --help */
	const char *subcommands;       /* space-separated, for completion; or NULL */
	const sc_opt *opts;            /* ends with OPT_END */
	unsigned formats;              /* SC_FMT() bits; 0 means text only */
	const char *format_note;       /* what --format means for it, when special (watch) */
	bool on_main_page;             /* documented in syncctl(1), not a page of its own */
	int (*run)(struct sc_ctx *ctx, int argc, char **argv);
} sc_cmd;

typedef struct sc_ctx {
	const sc_cmd *cmd;
	int format;                    /* sc_format */
	bool json;                     /* format == json, for the data commands */
	bool quiet, verbose, strict;
	int color_mode;                /* 0 auto, 1 always, 2 never */
	long timeout;                  /* seconds, for every network operation */
	const char *env_file;
	const char *ps_config;
	const char *output;            /* --output FILE */
	sc_list resolve;
	sc_config cfg;
	bool reported;                 /* the output layer printed the command's result */
	char last_error[1024];         /* the last error printed, for --format nagios */
} sc_ctx;

extern const sc_cmd *const sc_commands[];
extern const sc_opt sc_global_opts[];

/* Command entries, one per file (cmd/NAME.c). */
extern const sc_cmd cmd_doctor, cmd_slots, cmd_publications, cmd_schema, cmd_rules, cmd_token,
	cmd_compare, cmd_tenant_sync, cmd_storage, cmd_service, cmd_watch, cmd_version, cmd_help, cmd_completion;

/* The settings options doctor, storage and service share, for an options
 * struct T with a member `s` of type sc_settings. */
#define SETTINGS_OPT_DB OPT_SETTING("db", 0, SC_SET_DB, "URI", "source Postgres (default: SYNCCTL_DB, DATABASE_URL, the service config)")
#define SETTINGS_OPT_STORAGE OPT_SETTING("storage", 0, SC_SET_STORAGE, "URI", "bucket storage: mongodb:// or postgresql:// (default: SYNCCTL_STORAGE, the service config)")
#define SETTINGS_OPT_SERVICE OPT_SETTING("service", 0, SC_SET_SERVICE, "URL", "the sync service (default: POWERSYNC_URL, http://localhost:PORT from the service config)")
#define SETTINGS_OPT_JWKS OPT_SETTING("jwks", 0, SC_SET_JWKS, "URL|FILE", "the JWKS (default: SYNCCTL_JWKS, client_auth.jwks_uri)", .file = true)
#define SETTINGS_OPT_KID OPT_SETTING("kid", 0, SC_SET_KID, "KID", "the signing key's id (default: POWERSYNC_KEY_ID, the key's own, else its thumbprint)")
#define SETTINGS_OPT_AUD OPT_SETTING("aud", 0, SC_SET_AUDIENCE, "AUD", "an accepted audience (repeatable; default: SYNCCTL_AUDIENCE, client_auth.audience)", .repeatable = true)
#define SETTINGS_OPTS(T)                                                                                                          \
	SETTINGS_OPT_DB, SETTINGS_OPT_STORAGE, SETTINGS_OPT_SERVICE,                                                              \
	OPT_FILE(T, "api-token-file", 0, s.api_token_file, "FILE", "the service's admin API token (default: POWERSYNC_API_TOKEN, api.tokens in the service config)"), \
	SETTINGS_OPT_JWKS,                                                                                                        \
	OPT_FILE(T, "key", 'k', s.key_file, "FILE", "a private signing key (default: POWERSYNC_PRIVATE_KEY, else an HS key of client_auth.jwks)"), \
	OPT_FILE(T, "secret-file", 0, s.secret_file, "FILE", "an HS256 shared secret to mint test tokens with, instead of --key"), \
	SETTINGS_OPT_KID, SETTINGS_OPT_AUD,                                                                                       \
	OPT_STRING(T, "token-endpoint", 0, s.token_endpoint, "URL", "the backend's token endpoint, e.g. .../api/auth/token?user_id=1"), \
	OPT_STRING(T, "upload-endpoint", 0, s.upload_endpoint, "URL", "the backend's upload endpoint, e.g. .../api/data"),       \
	OPT_FILE(T, "upload-token-file", 0, s.upload_token_file, "FILE", "a token the upload endpoint accepts (default: one minted with the signing key)")

/* Resolves the settings (lib/settings.h), prints its warnings; returns 0 or
 * the exit code of unusable input (printed). */
int sc_cli_settings(sc_ctx *ctx, sc_settings *s);

/* Parses argv with the global and the command's options, writing each into
 * its target in `opts` (the command's options struct). Returns optind
 * (first operand), or -1 after a usage error was printed (exit 2), or -2
 * after --help was printed (exit 0). */
int sc_cli_parse(sc_ctx *ctx, int argc, char **argv, void *opts);

/* The usual start of a command: parses, and says whether to go on. On false,
 * *rc is the exit code (0 after --help, 2 after a usage error). */
bool sc_cli_start(sc_ctx *ctx, int argc, char **argv, void *opts, int *first, int *rc);

/* What is wrong with the option tables (every command's and the globals'):
 * printed one a line; returns how many problems. */
int sc_cli_lint(FILE *out, const sc_cmd *const *commands);

/* Loads --env-file and --powersync-config (in that order, so !env tags can
 * read the env file). Prints the error and returns its exit code, or 0. */
int sc_ctx_load_config(sc_ctx *ctx);

/* "syncctl CMD: message" on stderr. */
void sc_cli_error(sc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sc_cli_warn(const sc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints err (one line) and returns its code. */
int sc_cli_fail(sc_ctx *ctx, const sc_error *err);
int sc_cli_usage_error(sc_ctx *ctx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

bool sc_cli_color_stdout(const sc_ctx *ctx);
bool sc_cli_stderr_is_tty(void);

/* ---- the one output layer (cmd/output.c) ---- */

/* What a command has to show. A checking command gives its report; a data
 * command its JSON document and a text renderer; compare and tenant-sync
 * give all three (their report feeds Nagios and Prometheus). */
typedef struct sc_out {
	sc_report *report;
	cJSON *json;                   /* the JSON document when it is not the report's (taken) */
	void (*text)(sc_ctx *ctx, FILE *out, void *data);  /* text when it is not the report's */
	void *data;
	const char *before;            /* text shown above the report's checks */
	int rc;                        /* the exit code; -1: the one the report earns */
} sc_out;

/* The report as text, for a text renderer that shows more around it. */
void sc_cli_report_text(sc_ctx *ctx, FILE *out, const sc_report *r, const char *before);

/* Renders in ctx->format to stdout (or --output FILE, written atomically)
 * and returns the exit code: the report's (or o->rc), or for nagios the
 * plugin's 0/1/2/3. */
int sc_cli_output(sc_ctx *ctx, sc_out *o);

/* A data command's result: the JSON document (taken) with --format json,
 * else `text` (unless -q). Returns rc. */
int sc_cli_data(sc_ctx *ctx, cJSON *json, const char *text, int rc);
/* A usage error unless the format is text or json (a subcommand that has
 * no report, like `slots drop`). */
int sc_cli_text_or_json(sc_ctx *ctx, const char *what);

/* Prints a report as the options say and returns the exit code it earns. */
int sc_cli_print_report(sc_ctx *ctx, sc_report *r, const char *before);

/* After a command ran: with --format nagios, a run that printed no status
 * line (usage error, unreachable server) gets "SYNCCTL UNKNOWN - why" and 3. */
int sc_cli_finish(sc_ctx *ctx, int rc);

/* Help for one command (the same text as CMD --help). */
void sc_cli_print_help(FILE *out, const sc_cmd *cmd);
void sc_cli_print_overview(FILE *out);
const sc_cmd *sc_cli_find(const char *name, bool *ambiguous);

/* The scdoc text generated for a man page from the table: SYNOPSIS and
 * OPTIONS of one command (or of syncctl itself, cmd NULL). */
char *sc_cli_man_synopsis(const sc_cmd *cmd);
char *sc_cli_man_options(const sc_cmd *cmd);
/* The README's synopsis block of a command. */
char *sc_cli_readme_usage(const sc_cmd *cmd);

/* Resolves the source DB from --db, the environment, the env file and the
 * service config; warns when a password came in argv. */
const char *sc_cli_db(sc_ctx *ctx, const char **origin);
/* Connects to the source DB within --timeout; the error names the setting
 * it came from. */
struct sc_pg *sc_cli_connect_db(sc_ctx *ctx, sc_error *err);
/* The sync rules a command works on: the file at path, else the service
 * config's sync_config content (named "sync_config.content"), validated
 * into r. 0 with *text (the caller frees it after r) and *name set; else
 * the exit code, the error shown (`which` is the usage error when there
 * are no rules at all) and nothing left to free. */
struct sc_rules_result;
int sc_cli_rules(sc_ctx *ctx, const char *path, const char *which, struct sc_rules_result *r, char **text,
		 const char **name);

#endif
