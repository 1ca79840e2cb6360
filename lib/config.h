/* Configuration (syncctl(1) CONFIGURATION): command-line flag > environment >
 * --env-file (dotenv) > --powersync-config (the sync service's own YAML). */
#ifndef SC_CONFIG_H
#define SC_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "error.h"

typedef enum {
	SC_SET_DB,          /* source Postgres */
	SC_SET_SERVICE,     /* sync service URL */
	SC_SET_STORAGE,     /* bucket storage URI */
	SC_SET_JWKS,        /* JWKS URL or file */
	SC_SET_KID,         /* signing key id */
	SC_SET_AUDIENCE,    /* comma list */
	SC_SET_RULES,       /* sync rules file */
	SC_SET_LOCAL_DB,    /* tenant-sync local side */
	SC_SET_REMOTE_DB,   /* tenant-sync remote side */
	SC_SETTING_COUNT
} sc_setting_id;

typedef struct sc_kv {
	char *key;
	char *value;
} sc_kv;

typedef struct sc_dotenv {
	sc_kv *items;
	size_t n;
} sc_dotenv;

/* Something the service config says that the service would refuse to start
 * on (fail) or silently ignore (warn): doctor's `config` checks. */
typedef struct sc_config_issue {
	char *id;          /* config.env.PS_X, config.source, config.unknown_key.PATH, ... */
	bool fail;
	char *message;
	char *hint;        /* or NULL */
} sc_config_issue;

typedef struct sc_config {
	char *flag[SC_SETTING_COUNT];     /* from the command line */
	char *ps[SC_SETTING_COUNT];       /* from the powersync config */
	char *ps_where[SC_SETTING_COUNT]; /* the config's keys it came from */
	/* Why the config's value of a setting cannot be used (an unset !env
	 * variable it depends on, a value the service refuses), or NULL. */
	char *blocked[SC_SETTING_COUNT];
	sc_dotenv env_file;
	char *env_file_path;
	char *ps_path;
	bool ps_discovered;               /* found as ./powersync/service.yaml */
	char *ps_source_type;             /* replication.connections[0].type */
	char *ps_source_shown;            /* the source as the service connects, password *** */
	char *ps_sslmode;                 /* its sslmode (verify-full when the config sets none) */
	bool ps_sslmode_default;
	char *ps_storage_type;            /* mongodb | postgresql */
	char *ps_storage_shown;
	char *ps_rules_content;           /* inline sync_config.content */
	char *ps_api_token;               /* api.tokens[0] (a secret) */
	char *ps_jwks_json;               /* inline client_auth.jwks, as JSON */
	char **ps_jwks_uris;              /* client_auth.jwks_uri, every one */
	size_t ps_njwks_uris;
	bool ps_supabase;                 /* client_auth.supabase */
	char *ps_supabase_jwks;           /* derived from a db.<ref>.supabase.co source */
	char *ps_supabase_secret;         /* supabase_jwt_secret (a secret) */
	char **ps_reject_ranges;          /* jwks_reject_ip_ranges (+ local for block_local_jwks) */
	size_t ps_nreject;
	bool ps_reject_ipv6;
	sc_config_issue *issues;
	size_t nissues;
	char *tmpdir;                     /* private files for PEM text handed to libpq */
	char *origin;                     /* scratch for sc_config_get's origin */
} sc_config;

void sc_config_init(sc_config *c);
void sc_config_free(sc_config *c);

/* Sets a command-line value (copied). */
void sc_config_set_flag(sc_config *c, sc_setting_id id, const char *value);

/* Parses dotenv text: KEY=VALUE lines, optional `export`, # comments,
 * single quotes (literal) and double quotes (\n \t \" \\ escapes), and
 * interpolation as docker compose does it for .env files: $VAR, ${VAR},
 * ${VAR:-d}, ${VAR-d}, ${VAR:+a}, ${VAR+a}, ${VAR:?msg}, ${VAR?msg}, $$ for
 * a $, none inside single quotes; values from the process environment
 * first, then earlier lines of the file. */
int sc_dotenv_parse(sc_dotenv *out, const char *text, const char *name, sc_error *err);
void sc_dotenv_free(sc_dotenv *d);
const char *sc_dotenv_get(const sc_dotenv *d, const char *key);

int sc_config_load_env_file(sc_config *c, const char *path, sc_error *err);
/* Reads the service config as the service reads it (powersync-service 1.25:
 * packages/service-core/src/util/config/compound-config-collector.ts,
 * collectors/impl/yaml-env.ts, libs/lib-postgres and libs/lib-mongodb
 * types.ts): `!env PS_X[::string|number|boolean]` from the environment
 * (then the env file), the source connection, the storage, client_auth,
 * sync_config, port, api.tokens. -1 (exit 2) only for a file that cannot be
 * used at all (unreadable, not YAML, not a mapping). What the service would
 * refuse to start on, or ignore, becomes an issue (c->issues), and the
 * settings that depend on it are blocked with the reason. */
int sc_config_load_powersync(sc_config *c, const char *path, sc_error *err);
int sc_config_load_powersync_text(sc_config *c, const char *text, size_t len,
				  const char *name, sc_error *err);

/* The effective value (NULL when unset) and where it came from, e.g.
 * "--db", "SYNCCTL_DB", "SYNCCTL_DB in .env", "powersync config". */
const char *sc_config_get(sc_config *c, sc_setting_id id, const char **origin);
/* A variable from the environment, else from the env file (secrets such as
 * POWERSYNC_PRIVATE_KEY that have no flag). */
const char *sc_config_env(sc_config *c, const char *name);

/* Every key path the service's config schema knows ("[]" an item,
 * "{type=X}" a branch), for the unknown-key warnings and their test. */
const char *const *sc_config_known_keys(size_t *n);

/* Why the service config's value of a setting cannot be used, or NULL. */
const char *sc_config_blocked(const sc_config *c, sc_setting_id id);
/* A short name for a setting ("db", "storage", ...), for the JSON settings. */
const char *sc_setting_name(sc_setting_id id);

/* The flag and environment names of a setting, for hints. */
const char *sc_setting_flag(sc_setting_id id);
const char *sc_setting_env(sc_setting_id id);

#endif
