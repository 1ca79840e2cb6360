/* The deployment's settings, resolved from the configuration layers
 * (flags, environment, --env-file, the service config; config.h) as
 * doctor, storage and service use them. Library code: it fills an
 * sc_error and lists its warnings for the caller to show. */
#ifndef SC_SETTINGS_H
#define SC_SETTINGS_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "config.h"
#include "error.h"
#include "jose.h"

/* Where a JWKS comes from: an http(s) URL or a file, or the service
 * config's inline keys or Supabase secret (json set). */
typedef struct sc_jwks_source {
	char *id;         /* the check id: auth.jwks, auth.jwks.HOST, auth.jwks.inline, auth.jwks.supabase */
	char *where;      /* URL or file, or NULL for inline keys */
	char *json;       /* inline JWKS document, or NULL */
	char *origin;     /* --jwks, SYNCCTL_JWKS, the config's key */
	bool supabase;    /* keys that take audience "authenticated" only */
	char *refused;    /* why the service refuses this URI (blocked range), or NULL */
	/* A dotless host name (a compose service, localhost) while the service
	 * blocks local addresses: refused where the service resolves it. */
	bool named_host;
} sc_jwks_source;

typedef struct sc_settings {
	/* Given by the command's options. */
	const char *api_token_file, *key_file, *secret_file, *upload_token_file;
	const char *token_endpoint, *upload_endpoint;

	/* Resolved. Pointers into the configuration, or owned where noted. */
	const char *db;              /* NULL when not configured ("" for libpq's PG* defaults) */
	const char *db_origin;
	const char *db_blocked;      /* the config's source cannot be used: why */
	const char *db_skip;         /* a source of another type: why the Postgres checks do not apply */
	bool db_sslmode_default;     /* the config's source, without sslmode: verify-full */
	const char *storage;
	const char *storage_type;
	const char *storage_blocked;
	const char *service;
	const char *service_origin;
	char *api_token;             /* owned */
	sc_jwks_source *jwks;        /* owned */
	size_t njwks;
	sc_key *key;                 /* owned, or NULL */
	char *key_error;             /* owned: why the configured signing key cannot be used */
	const char *key_origin;
	char *kid;                   /* owned */
	char **aud;                  /* owned list */
	size_t naud;
	const char *rules;           /* a path, or NULL */
	const char *rules_content;   /* inline content, or NULL */
	const char *rules_blocked;
	char *upload_token;          /* owned */
	char **warnings;             /* owned: for the caller to print */
	size_t nwarnings;
} sc_settings;

/* Resolves everything. -1 (err set, exit 2) only for input that is unusable
 * on its face (an unreadable token file); a signing key that cannot be
 * used is kept in key_error, for the checks that need it. */
int sc_settings_resolve(sc_config *c, sc_settings *s, sc_error *err);
void sc_settings_free(sc_settings *s);

/* {"NAME": {"value", "origin"}} for every derived setting, secrets masked:
 * the report's "settings". */
cJSON *sc_settings_json(sc_config *c, const sc_settings *s);

#endif
