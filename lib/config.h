/* Configuration (DESIGN.md §4): command-line flag > environment >
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

typedef struct sc_config {
	char *flag[SC_SETTING_COUNT];     /* from the command line */
	char *ps[SC_SETTING_COUNT];       /* from the powersync config */
	sc_dotenv env_file;
	char *env_file_path;
	char *ps_path;
	char *ps_storage_type;            /* mongodb | postgresql */
	char *ps_rules_content;           /* inline sync_config.content */
	char *ps_api_token;               /* api.tokens[0] (a secret) */
	char *ps_jwks_json;               /* inline client_auth.jwks, as JSON */
	char *origin;                     /* scratch for sc_config_get's origin */
} sc_config;

void sc_config_init(sc_config *c);
void sc_config_free(sc_config *c);

/* Sets a command-line value (copied). */
void sc_config_set_flag(sc_config *c, sc_setting_id id, const char *value);

/* Parses dotenv text: KEY=VALUE lines, optional `export`, # comments,
 * single quotes (literal) and double quotes (\n \t \" \\ escapes). */
int sc_dotenv_parse(sc_dotenv *out, const char *text, const char *name, sc_error *err);
void sc_dotenv_free(sc_dotenv *d);
const char *sc_dotenv_get(const sc_dotenv *d, const char *key);

int sc_config_load_env_file(sc_config *c, const char *path, sc_error *err);
/* Reads the service config; resolves every `!env PS_X[::number|::boolean]`
 * from the environment (then the env file), failing on an unset one. */
int sc_config_load_powersync(sc_config *c, const char *path, sc_error *err);
int sc_config_load_powersync_text(sc_config *c, const char *text, size_t len,
				  const char *name, sc_error *err);

/* The effective value (NULL when unset) and where it came from, e.g.
 * "--db", "SYNCCTL_DB", "SYNCCTL_DB in .env", "powersync config". */
const char *sc_config_get(sc_config *c, sc_setting_id id, const char **origin);
/* A variable from the environment, else from the env file (secrets such as
 * POWERSYNC_PRIVATE_KEY that have no flag). */
const char *sc_config_env(sc_config *c, const char *name);

/* The flag and environment names of a setting, for hints. */
const char *sc_setting_flag(sc_setting_id id);
const char *sc_setting_env(sc_setting_id id);

#endif
