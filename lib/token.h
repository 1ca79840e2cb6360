/* Token operations for the CLI and for doctor: keys from where operators
 * keep them, minting with the service's rules. */
#ifndef SC_TOKEN_H
#define SC_TOKEN_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>

#include "jose.h"

/* 2026-11-22T03:35:00Z */
void sc_format_time_utc(long long t, char out[32]);

/* A JWKS from an http(s) URL (read as the service reads a jwks_uri: oct
 * keys and non-signature keys skipped) or a file. An unreachable URL, an
 * HTTP error or an unusable answer is exit 3; an unusable file exit 2. */
int sc_token_load_jwks(const char *source, int timeout_s, sc_keyset *out, sc_error *err);
/* A PEM key file; *loose is set when group or others may read it. */
int sc_token_load_key_file(const char *path, sc_key *out, bool *loose, sc_error *err);
/* A private key given as text (POWERSYNC_PRIVATE_KEY): PEM, or the
 * base64 (standard or URL-safe, padded or not) of a private JWK. */
int sc_token_key_from_text(const char *text, const char *what, sc_key *out, sc_error *err);
/* A shared secret file (trailing newline dropped); *loose as above. */
int sc_token_load_secret_file(const char *path, sc_key *out, bool *loose, sc_error *err);

typedef struct sc_kv_arg {
	const char *key;
	const char *value;
} sc_kv_arg;

typedef struct sc_mint_opts {
	const char *sub;
	char *const *aud;
	size_t naud;
	const char *iss;
	long ttl;
	sc_kv_arg *claims;       /* --claim k=v (string values) */
	size_t nclaims;
	sc_kv_arg *claims_json;  /* --claim-json k=JSON */
	size_t nclaims_json;
	sc_kv_arg *params;       /* --param k=v: the parameters object */
	size_t nparams;
} sc_mint_opts;

/* The claims set: sub, iat, exp, aud (a string for one, a list for more),
 * iss, parameters, extra claims. A claim given twice, or one that would
 * replace sub/iat/exp/aud/iss, is exit 2. */
cJSON *sc_token_claims(const sc_mint_opts *o, long long now, sc_error *err);

#endif
