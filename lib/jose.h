/* JWK, JWS and JWT on OpenSSL libcrypto and cJSON. The framing (base64url,
 * header, claims) is small and written here; every cryptographic operation
 * is OpenSSL's. JSON is read with sc_json_parse (lib/json.h), as the
 * service's JSON.parse reads it: a string with an escaped NUL keeps its
 * full length (the NUL as SC_NUL_MARK), so kids, algs, audiences and
 * issuers are compared whole, as the service compares them. Messages show
 * outside values escaped (lib/text.h). */
#ifndef SC_JOSE_H
#define SC_JOSE_H

#include <stdbool.h>
#include <stddef.h>

#include <cjson/cJSON.h>
#include <openssl/evp.h>

#include "error.h"

typedef enum {
	SC_ALG_UNKNOWN = 0,
	SC_ALG_RS256, SC_ALG_RS384, SC_ALG_RS512,
	SC_ALG_ES256, SC_ALG_ES384, SC_ALG_ES512,
	SC_ALG_EDDSA,
	SC_ALG_HS256, SC_ALG_HS384, SC_ALG_HS512,
} sc_alg;

/* The algorithms the sync service verifies tokens with (KeySpec.ts). */
#define SC_ALG_LIST "RS256, RS384, RS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512"

sc_alg sc_alg_from_name(const char *name);
const char *sc_alg_name(sc_alg alg);
bool sc_alg_is_hmac(sc_alg alg);

/* base64url without padding. Decoding is strict: any other character,
 * padding, or an impossible length is refused (NULL). */
char *sc_b64url_encode(const void *data, size_t len);
unsigned char *sc_b64url_decode(const char *s, size_t len, size_t *out_len);

/* A key: asymmetric (RSA, EC, OKP) or a shared secret (oct). */
typedef struct sc_key {
	char *kid;              /* NULL: a key without kid matches any token kid */
	sc_alg alg;             /* pinned algorithm, or SC_ALG_UNKNOWN (by kty/crv) */
	const char *kty;        /* "RSA", "EC", "OKP", "oct" */
	const char *crv;        /* "P-256", "P-384", "P-521", "Ed25519", or NULL */
	EVP_PKEY *pkey;
	unsigned char *secret;  /* oct */
	size_t secret_len;
	bool has_private;
	/* A verification context kept for the next token with the same alg:
	 * OpenSSL's per-call set-up costs as much as an RSA verification.
	 * So a key is not to be shared between threads. */
	EVP_PKEY_CTX *verify_ctx;
	sc_alg verify_alg;
} sc_key;

typedef struct sc_keyset {
	sc_key *keys;
	size_t n;
	size_t skipped;         /* keys a JWKS URI may not serve (oct, use != sig) */
} sc_keyset;

void sc_key_free(sc_key *k);
void sc_keyset_free(sc_keyset *ks);
/* Moves k into the set. */
void sc_keyset_add(sc_keyset *ks, sc_key *k);

/* A new key for alg (bits for RSA; 0 = 2048). */
int sc_key_generate(sc_alg alg, int bits, sc_key *out, sc_error *err);
/* A PEM private or public key (PKCS#8, traditional, SPKI). `what` names it
 * in errors, which never quote key material. */
int sc_key_from_pem(const char *pem, size_t len, const char *what, sc_key *out, sc_error *err);
/* A private JSON Web Key (RSA with n/e/d and its CRT members, EC with d,
 * OKP Ed25519 with d, or oct): what PowerSync's key generator and demo
 * backends keep in POWERSYNC_PRIVATE_KEY, base64-encoded. */
int sc_key_from_private_jwk(const char *json, size_t len, const char *what, sc_key *out, sc_error *err);
/* A shared secret for HS256/384/512. */
void sc_key_from_secret(const unsigned char *secret, size_t len, sc_key *out);
/* The algorithm a key signs with by default: RS256, ES256/384/512, EdDSA, HS256. */
sc_alg sc_key_default_alg(const sc_key *k);
/* Whether a token alg may be verified with this key: the key's own alg when
 * it has one, else its family (kty and curve). */
bool sc_key_accepts(const sc_key *k, sc_alg alg);

char *sc_key_private_pem(const sc_key *k);
/* The public JWK: kty, kid, alg, use "sig", n/e, crv/x/y or crv/x. Never a
 * private parameter. */
cJSON *sc_key_public_jwk(const sc_key *k);
/* RFC 7638 SHA-256 thumbprint, base64url. */
char *sc_key_thumbprint(const sc_key *k);

/* Parses a JWKS document. from_uri: as the sync service reads a jwks_uri,
 * oct keys and keys not for signatures are skipped (counted). A malformed
 * document or key is exit 2 naming `what`. */
int sc_keyset_from_jwks(const char *json, size_t len, bool from_uri, const char *what,
			sc_keyset *out, sc_error *err);

/* Signs claims (a JSON object) as a compact JWS: header {alg, typ, kid}. */
char *sc_jwt_sign(sc_alg alg, const sc_key *key, const char *kid, const cJSON *claims,
		  sc_error *err);

typedef struct sc_jwt_failure {
	/* PSYNC_S2101 ... as the sync service reports it; syncctl's own
	 * checks have their own codes: SYNCCTL_ISS (--iss, which the service
	 * never checks) and SYNCCTL_NESTING (JSON nested deeper than syncctl
	 * reads, so the service's verdict is unknown). */
	const char *code;
	char *message;      /* outside values in it escaped (lib/text.h) */
} sc_jwt_failure;

typedef struct sc_jwt_result {
	bool well_formed;
	bool signature_valid;
	bool valid;
	cJSON *header;      /* owned, NULL when it did not parse */
	cJSON *claims;      /* owned, NULL when it did not parse */
	char *kid;          /* the kid of the key that verified it */
	sc_jwt_failure *failures;
	size_t nfailures;
} sc_jwt_result;

typedef struct sc_verify_opts {
	char *const *audiences;  /* accepted aud values; none = every token fails */
	size_t naudiences;
	const char *issuer;      /* NULL: not checked (the service never checks iss) */
	long leeway;             /* seconds, for exp and nbf */
	long max_lifetime;       /* exp - iat at most this */
	long long now;           /* unix seconds */
} sc_verify_opts;

#define SC_JWT_MAX_LEN 65536

/* Verifies everything at once and lists every failure. */
void sc_jwt_verify(const char *token, size_t len, const sc_keyset *ks, const sc_verify_opts *o,
		   sc_jwt_result *res);
void sc_jwt_result_free(sc_jwt_result *res);
/* {"valid", "signature_valid", "kid", "user_id", "errors": [{"code","message"}], "header", "claims"} */
cJSON *sc_jwt_result_json(const sc_jwt_result *res);

/* The user id the service makes of a sub claim of any JSON type, NULL for
 * none: JwtPayload.userIdString (packages/service-core/src/auth/
 * JwtPayload.ts) of BaseJwtPayload.userIdJson (packages/sync-rules/src/
 * types.ts, jsonValueToSqlite in utils.ts): a string as it is, a number as
 * JavaScript prints it, true "1", false "0", null "null", an object or
 * array as the service's JSONBig writes it ({"id":1.0}). */
char *sc_jwt_user_id(const cJSON *sub);

/* Header and claims without any verification; exit 2 when malformed. */
int sc_jwt_decode(const char *token, size_t len, cJSON **header, cJSON **claims, sc_error *err);

#endif
