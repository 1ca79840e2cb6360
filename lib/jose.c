#include "jose.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/crypto.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/param_build.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "buf.h"
#include "error.h"
#include "json.h"
#include "text.h"

static const struct {
	sc_alg alg;
	const char *name;
	const char *md;        /* digest, NULL for EdDSA */
	int ec_size;           /* bytes of r and of s for ES* */
	const char *crv;       /* the curve an ES* alg needs */
} algs[] = {
	{ SC_ALG_RS256, "RS256", "SHA256", 0, NULL },
	{ SC_ALG_RS384, "RS384", "SHA384", 0, NULL },
	{ SC_ALG_RS512, "RS512", "SHA512", 0, NULL },
	{ SC_ALG_ES256, "ES256", "SHA256", 32, "P-256" },
	{ SC_ALG_ES384, "ES384", "SHA384", 48, "P-384" },
	{ SC_ALG_ES512, "ES512", "SHA512", 66, "P-521" },
	{ SC_ALG_EDDSA, "EdDSA", NULL, 0, NULL },
	{ SC_ALG_HS256, "HS256", "SHA256", 0, NULL },
	{ SC_ALG_HS384, "HS384", "SHA384", 0, NULL },
	{ SC_ALG_HS512, "HS512", "SHA512", 0, NULL },
};
#define NALGS (sizeof algs / sizeof algs[0])

static int alg_index(sc_alg a)
{
	for (size_t i = 0; i < NALGS; i++)
		if (algs[i].alg == a)
			return (int)i;
	return -1;
}

sc_alg sc_alg_from_name(const char *name)
{
	for (size_t i = 0; name && i < NALGS; i++)
		if (strcmp(algs[i].name, name) == 0)
			return algs[i].alg;
	return SC_ALG_UNKNOWN;
}

const char *sc_alg_name(sc_alg a)
{
	int i = alg_index(a);
	return i < 0 ? "unknown" : algs[i].name;
}

bool sc_alg_is_hmac(sc_alg a) { return a == SC_ALG_HS256 || a == SC_ALG_HS384 || a == SC_ALG_HS512; }
static bool alg_is_rsa(sc_alg a) { return a == SC_ALG_RS256 || a == SC_ALG_RS384 || a == SC_ALG_RS512; }
static bool alg_is_ec(sc_alg a) { return a == SC_ALG_ES256 || a == SC_ALG_ES384 || a == SC_ALG_ES512; }

/* Digests are fetched once: a fetch per token costs more than an EdDSA
 * verification. */
static EVP_MD *digest_for(sc_alg a)
{
	static EVP_MD *cache[3];
	static const char *names[3] = { "SHA256", "SHA384", "SHA512" };
	int i = alg_index(a);
	if (i < 0 || !algs[i].md)
		return NULL;
	for (int k = 0; k < 3; k++)
		if (strcmp(names[k], algs[i].md) == 0) {
			if (!cache[k])
				cache[k] = EVP_MD_fetch(NULL, names[k], NULL);
			return cache[k];
		}
	return NULL;
}

/* ---- base64url ---- */

static const char b64url_chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";

char *sc_b64url_encode(const void *data, size_t len)
{
	const unsigned char *p = data;
	char *out = sc_xmalloc(len / 3 * 4 + 5);
	size_t o = 0, i = 0;
	for (; i + 2 < len; i += 3) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8 | p[i + 2];
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
		out[o++] = b64url_chars[v & 63];
	}
	if (len - i == 1) {
		unsigned v = (unsigned)p[i] << 16;
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
	} else if (len - i == 2) {
		unsigned v = (unsigned)p[i] << 16 | (unsigned)p[i + 1] << 8;
		out[o++] = b64url_chars[v >> 18 & 63];
		out[o++] = b64url_chars[v >> 12 & 63];
		out[o++] = b64url_chars[v >> 6 & 63];
	}
	out[o] = '\0';
	return out;
}

/* Value of each byte in the base64url alphabet, 64 for any other byte. */
static unsigned char b64url_table[256];

static void b64url_table_init(void)
{
	if (b64url_table[0] == 64)
		return;
	memset(b64url_table, 64, sizeof b64url_table);
	for (int i = 0; i < 64; i++)
		b64url_table[(unsigned char)b64url_chars[i]] = (unsigned char)i;
}

unsigned char *sc_b64url_decode(const char *s, size_t len, size_t *out_len)
{
	if (len % 4 == 1)
		return NULL;
	b64url_table_init();
	unsigned char *out = sc_xmalloc(len / 4 * 3 + 3);
	size_t o = 0;
	unsigned acc = 0;
	int bits = 0;
	for (size_t i = 0; i < len; i++) {
		unsigned v = b64url_table[(unsigned char)s[i]];
		if (v == 64) {
			free(out);
			return NULL;
		}
		acc = (acc << 6 | v) & 0xFFFFFF;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits & 0xFF);
		}
	}
	/* Leftover bits must be zero: one encoding per value. */
	if (bits && (acc & ((1u << bits) - 1))) {
		free(out);
		return NULL;
	}
	*out_len = o;
	return out;
}

/* ---- keys ---- */

void sc_key_free(sc_key *k)
{
	if (!k)
		return;
	free(k->kid);
	EVP_PKEY_CTX_free(k->verify_ctx);
	EVP_PKEY_free(k->pkey);
	if (k->secret)
		OPENSSL_clear_free(k->secret, k->secret_len);
	memset(k, 0, sizeof *k);
}

void sc_keyset_free(sc_keyset *ks)
{
	for (size_t i = 0; i < ks->n; i++)
		sc_key_free(&ks->keys[i]);
	free(ks->keys);
	memset(ks, 0, sizeof *ks);
}

void sc_keyset_add(sc_keyset *ks, sc_key *k)
{
	ks->keys = sc_xrealloc(ks->keys, (ks->n + 1) * sizeof *ks->keys);
	ks->keys[ks->n++] = *k;
	memset(k, 0, sizeof *k);
}

/* Fills kty/crv from the EVP_PKEY; false for a key type JOSE here lacks. */
static bool describe_pkey(sc_key *k)
{
	EVP_PKEY *p = k->pkey;
	if (EVP_PKEY_is_a(p, "RSA")) {
		k->kty = "RSA";
		return true;
	}
	if (EVP_PKEY_is_a(p, "ED25519")) {
		k->kty = "OKP";
		k->crv = "Ed25519";
		return true;
	}
	if (EVP_PKEY_is_a(p, "EC")) {
		char group[64] = "";
		size_t glen = 0;
		if (!EVP_PKEY_get_utf8_string_param(p, OSSL_PKEY_PARAM_GROUP_NAME, group, sizeof group, &glen))
			return false;
		k->kty = "EC";
		if (strcmp(group, "prime256v1") == 0 || strcmp(group, "P-256") == 0)
			k->crv = "P-256";
		else if (strcmp(group, "secp384r1") == 0 || strcmp(group, "P-384") == 0)
			k->crv = "P-384";
		else if (strcmp(group, "secp521r1") == 0 || strcmp(group, "P-521") == 0)
			k->crv = "P-521";
		else
			return false;
		return true;
	}
	return false;
}

int sc_key_generate(sc_alg alg, int bits, sc_key *out, sc_error *err)
{
	memset(out, 0, sizeof *out);
	EVP_PKEY *p = NULL;
	if (alg_is_rsa(alg)) {
		if (bits == 0)
			bits = 2048;
		if (bits < 2048 || bits > 8192) {
			sc_error_set(err, SC_EXIT_USAGE, "--bits must be from 2048 to 8192 for RSA (the service's JOSE library refuses smaller keys)");
			return -1;
		}
		p = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)bits);
	} else if (alg_is_ec(alg)) {
		p = EVP_PKEY_Q_keygen(NULL, NULL, "EC", algs[alg_index(alg)].crv);
	} else if (alg == SC_ALG_EDDSA) {
		p = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	} else {
		sc_error_set(err, SC_EXIT_USAGE, "cannot generate a key for %s", sc_alg_name(alg));
		return -1;
	}
	if (!p) {
		ERR_clear_error();
		sc_error_set(err, SC_EXIT_FAILED, "key generation failed for %s", sc_alg_name(alg));
		return -1;
	}
	out->pkey = p;
	out->alg = alg;
	out->has_private = true;
	describe_pkey(out);
	return 0;
}

static int no_passphrase(char *buf, int size, int rw, void *u)
{
	(void)buf;
	(void)size;
	(void)rw;
	*(int *)u = 1;
	return 0;
}

int sc_key_from_pem(const char *pem, size_t len, const char *what, sc_key *out, sc_error *err)
{
	memset(out, 0, sizeof *out);
	if (len > (1u << 20)) {
		sc_error_set(err, SC_EXIT_USAGE, "%s is too large to be a key", what);
		return -1;
	}
	int asked = 0;
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	EVP_PKEY *p = PEM_read_bio_PrivateKey(b, NULL, no_passphrase, &asked);
	BIO_free(b);
	if (p) {
		out->has_private = true;
	} else {
		ERR_clear_error();
		if (asked) {
			sc_error_set(err, SC_EXIT_USAGE, "%s is encrypted with a passphrase; decrypt it first (openssl pkey -in KEY -out PLAIN)", what);
			return -1;
		}
		b = BIO_new_mem_buf(pem, (int)len);
		p = PEM_read_bio_PUBKEY(b, NULL, NULL, NULL);
		BIO_free(b);
		ERR_clear_error();
	}
	if (!p) {
		sc_error_set(err, SC_EXIT_USAGE, "%s is not a PEM private or public key", what);
		return -1;
	}
	out->pkey = p;
	if (!describe_pkey(out)) {
		sc_key_free(out);
		sc_error_set(err, SC_EXIT_USAGE, "%s: unsupported key type (RSA, EC P-256/P-384/P-521 or Ed25519)", what);
		return -1;
	}
	return 0;
}

void sc_key_from_secret(const unsigned char *secret, size_t len, sc_key *out)
{
	memset(out, 0, sizeof *out);
	out->kty = "oct";
	out->secret = sc_xmalloc(len ? len : 1);
	memcpy(out->secret, secret, len);
	out->secret_len = len;
	out->has_private = true;
}

sc_alg sc_key_default_alg(const sc_key *k)
{
	if (k->alg)
		return k->alg;
	if (strcmp(k->kty, "RSA") == 0)
		return SC_ALG_RS256;
	if (strcmp(k->kty, "oct") == 0)
		return SC_ALG_HS256;
	if (strcmp(k->kty, "OKP") == 0)
		return SC_ALG_EDDSA;
	for (size_t i = 0; i < NALGS; i++)
		if (algs[i].crv && k->crv && strcmp(algs[i].crv, k->crv) == 0)
			return algs[i].alg;
	return SC_ALG_UNKNOWN;
}

bool sc_key_accepts(const sc_key *k, sc_alg a)
{
	if (a == SC_ALG_UNKNOWN)
		return false;
	/* The family must fit whatever the key claims: an RSA key never
	 * verifies an HMAC, whatever its alg member says. */
	bool family;
	if (strcmp(k->kty, "RSA") == 0)
		family = alg_is_rsa(a);
	else if (strcmp(k->kty, "oct") == 0)
		family = sc_alg_is_hmac(a);
	else if (strcmp(k->kty, "OKP") == 0)
		family = a == SC_ALG_EDDSA;
	else
		family = alg_is_ec(a) && k->crv && strcmp(algs[alg_index(a)].crv, k->crv) == 0;
	if (!family)
		return false;
	return k->alg == SC_ALG_UNKNOWN || k->alg == a;
}

char *sc_key_private_pem(const sc_key *k)
{
	if (!k->pkey || !k->has_private)
		return NULL;
	BIO *b = BIO_new(BIO_s_mem());
	if (!PEM_write_bio_PrivateKey(b, k->pkey, NULL, NULL, 0, NULL, NULL)) {
		BIO_free(b);
		ERR_clear_error();
		return NULL;
	}
	char *data;
	long n = BIO_get_mem_data(b, &data);
	char *s = sc_xstrndup(data, (size_t)n);
	BIO_free(b);
	return s;
}

static char *bn_param_b64(const EVP_PKEY *p, const char *name, int pad)
{
	BIGNUM *bn = NULL;
	if (!EVP_PKEY_get_bn_param(p, name, &bn))
		return NULL;
	int n = pad ? pad : BN_num_bytes(bn);
	unsigned char *buf = sc_xmalloc((size_t)n + 1);
	BN_bn2binpad(bn, buf, n);
	char *s = sc_b64url_encode(buf, (size_t)n);
	free(buf);
	BN_free(bn);
	return s;
}

static int ec_field_bytes(const char *crv)
{
	return strcmp(crv, "P-256") == 0 ? 32 : strcmp(crv, "P-384") == 0 ? 48 : 66;
}

/* Public members, b64url: n,e | x,y | x. Returns false on failure. */
static bool public_members(const sc_key *k, char **a, char **b)
{
	*a = *b = NULL;
	if (strcmp(k->kty, "RSA") == 0) {
		*a = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_RSA_N, 0);
		*b = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_RSA_E, 0);
	} else if (strcmp(k->kty, "EC") == 0) {
		int size = ec_field_bytes(k->crv);
		*a = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_X, size);
		*b = bn_param_b64(k->pkey, OSSL_PKEY_PARAM_EC_PUB_Y, size);
	} else if (strcmp(k->kty, "OKP") == 0) {
		unsigned char raw[64];
		size_t rl = sizeof raw;
		if (EVP_PKEY_get_raw_public_key(k->pkey, raw, &rl))
			*a = sc_b64url_encode(raw, rl);
		return *a != NULL;
	} else {
		return false;
	}
	return *a && *b;
}

cJSON *sc_key_public_jwk(const sc_key *k)
{
	char *a, *b;
	if (!public_members(k, &a, &b)) {
		free(a);
		free(b);
		ERR_clear_error();
		return NULL;
	}
	cJSON *o = cJSON_CreateObject();
	cJSON_AddStringToObject(o, "kty", k->kty);
	if (k->kid)
		cJSON_AddStringToObject(o, "kid", k->kid);
	sc_alg alg = sc_key_default_alg(k);
	if (alg)
		cJSON_AddStringToObject(o, "alg", sc_alg_name(alg));
	cJSON_AddStringToObject(o, "use", "sig");
	if (strcmp(k->kty, "RSA") == 0) {
		cJSON_AddStringToObject(o, "n", a);
		cJSON_AddStringToObject(o, "e", b);
	} else {
		cJSON_AddStringToObject(o, "crv", k->crv);
		cJSON_AddStringToObject(o, "x", a);
		if (b)
			cJSON_AddStringToObject(o, "y", b);
	}
	free(a);
	free(b);
	return o;
}

char *sc_key_thumbprint(const sc_key *k)
{
	char *a, *b;
	if (!public_members(k, &a, &b)) {
		free(a);
		free(b);
		ERR_clear_error();
		return NULL;
	}
	/* RFC 7638: the required members only, in lexicographic order, no
	 * white space. The values are base64url or fixed names: no escaping. */
	char *canon;
	if (strcmp(k->kty, "RSA") == 0)
		canon = sc_xasprintf("{\"e\":\"%s\",\"kty\":\"RSA\",\"n\":\"%s\"}", b, a);
	else if (strcmp(k->kty, "EC") == 0)
		canon = sc_xasprintf("{\"crv\":\"%s\",\"kty\":\"EC\",\"x\":\"%s\",\"y\":\"%s\"}", k->crv, a, b);
	else
		canon = sc_xasprintf("{\"crv\":\"%s\",\"kty\":\"OKP\",\"x\":\"%s\"}", k->crv, a);
	unsigned char md[32];
	unsigned int mdlen = 0;
	EVP_Digest(canon, strlen(canon), md, &mdlen, EVP_sha256(), NULL);
	char *t = sc_b64url_encode(md, mdlen);
	free(canon);
	free(a);
	free(b);
	return t;
}

/* ---- JWKS ---- */

/* A value from outside as a message shows it: escaped (lib/text.h: the
 * NUL of a JSON string as \u0000, control characters and bytes that are
 * not UTF-8 as \xNN), at most max bytes, cut on a character boundary. */
static char *shown(const char *s, size_t max)
{
	char *t = sc_text_safe(s ? s : "");
	size_t n = strlen(t);
	if (n > max) {
		while (max > 0 && ((unsigned char)t[max] & 0xC0) == 0x80)
			max--;
		t = sc_xrealloc(t, max + 4);
		memcpy(t + max, "...", 4);
	}
	return t;
}

/* A JSON value as a message shows it: its JSON text, escaped the same way. */
static char *shown_json(const cJSON *v, size_t max)
{
	char *j = sc_json_print(v, false);
	char *t = shown(j, max);
	free(j);
	return t;
}

/* What a message adds about a string that held an escaped NUL. */
static const char *nul_note(const char *s)
{
	return sc_json_has_nul(s) ? " (it holds a NUL character, shown as \\u0000: the service compares the whole string)" : "";
}

/* JavaScript's truthiness of a parsed JSON value (absent counts false). */
static bool js_truthy(const cJSON *v)
{
	if (!v || cJSON_IsNull(v) || cJSON_IsFalse(v))
		return false;
	if (cJSON_IsNumber(v))
		return v->valuedouble != 0;
	if (cJSON_IsString(v))
		return v->valuestring[0] != '\0';
	return true;
}

static const cJSON *member(const cJSON *o, const char *name)
{
	return cJSON_GetObjectItemCaseSensitive(o, name);
}

static unsigned char *member_b64(const cJSON *o, const char *name, size_t *len)
{
	const char *s = cJSON_GetStringValue(member(o, name));
	return s ? sc_b64url_decode(s, strlen(s), len) : NULL;
}

static EVP_PKEY *pkey_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *p = NULL;
	if (ctx && params && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &p, EVP_PKEY_PUBLIC_KEY, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return p;
}

/* Writes a reason; false, for `return why_set(...)` and `ok = why_set(...)`. */
static bool why_set(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static bool why_set(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	return false;
}

#define WHY(...) why_set(why, whylen, __VA_ARGS__)
#define WHY_BUF(buf, ...) why_set(buf, sizeof buf, __VA_ARGS__)

/* "has an unsupported crv "X" (LIST)", or "has no crv (LIST)". */
static bool bad_crv(const cJSON *crv, const char *list, char *why, size_t whylen)
{
	if (!cJSON_IsString(crv))
		return WHY("has no crv (%s)", list);
	char *c = shown(crv->valuestring, 40);
	bool ok = WHY("has an unsupported crv \"%s\" (%s)%s", c, list, nul_note(crv->valuestring));
	free(c);
	return ok;
}

/* False, with the reason, when a member of the JWK (a string, or a string
 * in a list such as key_ops) holds an escaped NUL. The service would
 * compare it whole ("RS256\u0000x" is no alg, "sig\u0000x" no use, a kid
 * "k1\u0000x" not k1); syncctl refuses the key and names the member, so
 * nobody mistakes it for the key it looks like. */
static bool jwk_no_nul(const cJSON *j, char *why, size_t whylen)
{
	const cJSON *m;
	cJSON_ArrayForEach(m, j) {
		const cJSON *v = m;
		if (cJSON_IsArray(m)) {
			const cJSON *e;
			v = NULL;
			cJSON_ArrayForEach(e, m)
				if (cJSON_IsString(e) && sc_json_has_nul(e->valuestring))
					v = e;
		}
		if (v && cJSON_IsString(v) && sc_json_has_nul(v->valuestring)) {
			char *name = shown(m->string, 40);
			char *val = shown_json(v, 60);
			WHY("has a \"%s\" member holding a NUL character (%s): a key member with a NUL is refused (the service compares it whole, so it is not the value it looks like)",
			    name, val);
			free(name);
			free(val);
			return false;
		}
	}
	return true;
}

/* One JWK into a key; false, with the reason in why, when it cannot be
 * one. Members are compared whole: "P-256\u0000x" is no curve. */
static bool import_jwk(const cJSON *j, sc_key *k, char *why, size_t whylen)
{
	memset(k, 0, sizeof *k);
	why[0] = '\0';
	const char *kty = cJSON_GetStringValue(member(j, "kty"));
	if (!kty)
		return WHY("has no kty");
	const cJSON *kid = member(j, "kid");
	if (kid && !cJSON_IsString(kid))
		return WHY("has a kid that is not a string");
	/* The service imports a key whatever its alg (jose's importJWK leaves
	 * an RSA, EC or OKP key's alg to node, which ignores it) and then pins
	 * tokens to it when it is truthy (KeySpec.matchesAlgorithm: jwtAlg ===
	 * source.alg): with an alg that names no algorithm it takes ("A128KW")
	 * the key verifies nothing. Refused here with the reason: a JWKS whose
	 * key can never verify a token is a mistake to fix, not to skip. */
	const cJSON *alg = member(j, "alg");
	sc_alg alg_id = SC_ALG_UNKNOWN;
	if (js_truthy(alg)) {
		alg_id = cJSON_IsString(alg) ? sc_alg_from_name(alg->valuestring) : SC_ALG_UNKNOWN;
		if (!alg_id) {
			char *t = shown_json(alg, 40);
			WHY("has alg %s, which is no algorithm the service verifies tokens with (" SC_ALG_LIST "): the service would load the key and match no token's alg to it",
			    t);
			free(t);
			return false;
		}
	}
	size_t la = 0, lb = 0;
	unsigned char *a = NULL, *b = NULL;
	bool ok = true;
	if (strcmp(kty, "RSA") == 0) {
		k->kty = "RSA";
		a = member_b64(j, "n", &la);
		b = member_b64(j, "e", &lb);
		if (!a || !b || !la || !lb) {
			ok = WHY("lacks a valid n or e");
			goto out;
		}
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		BIGNUM *n = BN_bin2bn(a, (int)la, NULL), *e = BN_bin2bn(b, (int)lb, NULL);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, n);
		OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, e);
		k->pkey = pkey_fromdata("RSA", bld);
		OSSL_PARAM_BLD_free(bld);
		BN_free(n);
		BN_free(e);
	} else if (strcmp(kty, "EC") == 0) {
		k->kty = "EC";
		const cJSON *crvj = member(j, "crv");
		const char *crv = cJSON_GetStringValue(crvj);
		const char *group = !crv ? NULL : strcmp(crv, "P-256") == 0 ? "prime256v1"
				    : strcmp(crv, "P-384") == 0 ? "secp384r1"
				    : strcmp(crv, "P-521") == 0 ? "secp521r1" : NULL;
		if (!group) {
			ok = bad_crv(crvj, "P-256, P-384, P-521", why, whylen);
			goto out;
		}
		k->crv = strcmp(crv, "P-256") == 0 ? "P-256" : strcmp(crv, "P-384") == 0 ? "P-384" : "P-521";
		size_t size = (size_t)ec_field_bytes(k->crv);
		a = member_b64(j, "x", &la);
		b = member_b64(j, "y", &lb);
		if (!a || !b || la != size || lb != size) {
			ok = WHY("lacks a valid x or y for its curve");
			goto out;
		}
		unsigned char point[1 + 2 * 66];
		point[0] = 0x04;
		memcpy(point + 1, a, size);
		memcpy(point + 1 + size, b, size);
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
		OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, 1 + 2 * size);
		k->pkey = pkey_fromdata("EC", bld);
		OSSL_PARAM_BLD_free(bld);
		if (k->pkey) {
			/* A point off the curve is refused here, not at verify time. */
			EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
			int on = c && EVP_PKEY_public_check(c) == 1;
			EVP_PKEY_CTX_free(c);
			if (!on) {
				ok = WHY("has a point that is not on its curve");
				goto out;
			}
		}
	} else if (strcmp(kty, "OKP") == 0) {
		k->kty = "OKP";
		const cJSON *crvj = member(j, "crv");
		if (!cJSON_IsString(crvj) || strcmp(crvj->valuestring, "Ed25519") != 0) {
			ok = bad_crv(crvj, "Ed25519", why, whylen);
			goto out;
		}
		k->crv = "Ed25519";
		a = member_b64(j, "x", &la);
		if (!a || la != 32) {
			ok = WHY("lacks a valid x");
			goto out;
		}
		k->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, a, la);
	} else if (strcmp(kty, "oct") == 0) {
		a = member_b64(j, "k", &la);
		if (!a || !la) {
			ok = WHY("lacks a valid k");
			goto out;
		}
		sc_key_from_secret(a, la, k);
	} else {
		char *t = shown(kty, 40);
		ok = WHY("has an unsupported kty \"%s\" (RSA, EC, OKP, oct)%s", t, nul_note(kty));
		free(t);
		goto out;
	}
	k->alg = alg_id;
	if (!k->pkey && strcmp(k->kty, "oct") != 0)
		ok = WHY("could not be imported");
	if (ok && kid)
		k->kid = sc_xstrdup(kid->valuestring);
	if (ok && k->alg && !sc_key_accepts(k, k->alg))
		ok = WHY("has an alg that does not fit its kty or crv");
out:
	if (a)
		OPENSSL_clear_free(a, la);
	if (b)
		OPENSSL_clear_free(b, lb);
	ERR_clear_error();
	if (!ok)
		sc_key_free(k);
	return ok;
}

static BIGNUM *member_bn(const cJSON *o, const char *name)
{
	size_t len = 0;
	unsigned char *b = member_b64(o, name, &len);
	BIGNUM *bn = b && len ? BN_bin2bn(b, (int)len, NULL) : NULL;
	if (b)
		OPENSSL_clear_free(b, len);
	return bn;
}

static EVP_PKEY *keypair_fromdata(const char *type, OSSL_PARAM_BLD *bld)
{
	OSSL_PARAM *params = OSSL_PARAM_BLD_to_param(bld);
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_from_name(NULL, type, NULL);
	EVP_PKEY *p = NULL;
	if (ctx && params && EVP_PKEY_fromdata_init(ctx) > 0)
		EVP_PKEY_fromdata(ctx, &p, EVP_PKEY_KEYPAIR, params);
	EVP_PKEY_CTX_free(ctx);
	OSSL_PARAM_free(params);
	return p;
}

/* "X is not valid JSON at byte N", "X is not valid JSON: a NUL byte ...",
 * or, for a document deeper than cJSON reads (which may well be valid
 * JSON), "X cannot be read as JSON: nested deeper than 1000 levels". */
static void json_error(sc_error *err, const char *what, const char *why)
{
	if (strncmp(why, "not valid JSON ", 15) == 0)
		sc_error_set(err, SC_EXIT_USAGE, "%s is %s", what, why);
	else if (strncmp(why, "nested deeper", 13) == 0)
		sc_error_set(err, SC_EXIT_USAGE, "%s cannot be read as JSON: %s (syncctl reads JSON to that depth)", what, why);
	else
		sc_error_set(err, SC_EXIT_USAGE, "%s is not valid JSON: %s", what, why);
}

int sc_key_from_private_jwk(const char *json, size_t len, const char *what, sc_key *out, sc_error *err)
{
	memset(out, 0, sizeof *out);
	char why[256] = "";
	cJSON *j = sc_json_parse(json, len, why, sizeof why);
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		if (why[0])
			sc_error_set(err, SC_EXIT_USAGE, "%s is not a JSON Web Key: %s", what, why);
		else
			sc_error_set(err, SC_EXIT_USAGE, "%s is not a JSON Web Key", what);
		return -1;
	}
	const char *kty = cJSON_GetStringValue(member(j, "kty"));
	bool ok = jwk_no_nul(j, why, sizeof why);
	if (!ok) {
		/* reported below */
	} else if (kty && strcmp(kty, "oct") == 0) {
		ok = import_jwk(j, out, why, sizeof why);
	} else if (kty && strcmp(kty, "RSA") == 0) {
		static const struct { const char *jwk, *param; } parts[] = {
			{ "n", OSSL_PKEY_PARAM_RSA_N }, { "e", OSSL_PKEY_PARAM_RSA_E }, { "d", OSSL_PKEY_PARAM_RSA_D },
			{ "p", OSSL_PKEY_PARAM_RSA_FACTOR1 }, { "q", OSSL_PKEY_PARAM_RSA_FACTOR2 },
			{ "dp", OSSL_PKEY_PARAM_RSA_EXPONENT1 }, { "dq", OSSL_PKEY_PARAM_RSA_EXPONENT2 },
			{ "qi", OSSL_PKEY_PARAM_RSA_COEFFICIENT1 },
		};
		BIGNUM *bn[8] = { 0 };
		OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
		bool crt = true;
		for (int i = 0; i < 8; i++) {
			bn[i] = member_bn(j, parts[i].jwk);
			if (i >= 3 && !bn[i])
				crt = false;
		}
		if (!bn[0] || !bn[1] || !bn[2]) {
			ok = WHY_BUF(why, "lacks n, e or d");
		} else {
			for (int i = 0; i < (crt ? 8 : 3); i++)
				OSSL_PARAM_BLD_push_BN(bld, parts[i].param, bn[i]);
			out->pkey = keypair_fromdata("RSA", bld);
		}
		OSSL_PARAM_BLD_free(bld);
		for (int i = 0; i < 8; i++)
			BN_clear_free(bn[i]);
	} else if (kty && strcmp(kty, "EC") == 0) {
		/* The public half as a JWK, then the private scalar d. */
		sc_key pub;
		bool have_pub = import_jwk(j, &pub, why, sizeof why);
		BIGNUM *d = member_bn(j, "d");
		ok = have_pub;
		if (ok && !d)
			ok = WHY_BUF(why, "lacks d");
		if (ok) {
			const char *group = strcmp(pub.crv, "P-256") == 0 ? "prime256v1" : strcmp(pub.crv, "P-384") == 0 ? "secp384r1" : "secp521r1";
			unsigned char point[1 + 2 * 66];
			unsigned char *enc = NULL;
			size_t plen = EVP_PKEY_get1_encoded_public_key(pub.pkey, &enc);
			if (plen && plen <= sizeof point)
				memcpy(point, enc, plen);
			OPENSSL_free(enc);
			OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
			OSSL_PARAM_BLD_push_utf8_string(bld, OSSL_PKEY_PARAM_GROUP_NAME, group, 0);
			OSSL_PARAM_BLD_push_octet_string(bld, OSSL_PKEY_PARAM_PUB_KEY, point, plen);
			OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_PRIV_KEY, d);
			out->pkey = keypair_fromdata("EC", bld);
			OSSL_PARAM_BLD_free(bld);
		}
		if (have_pub)
			sc_key_free(&pub);
		BN_clear_free(d);
	} else if (kty && strcmp(kty, "OKP") == 0) {
		size_t dl = 0;
		unsigned char *d = member_b64(j, "d", &dl);
		const cJSON *crvj = member(j, "crv");
		if (!cJSON_IsString(crvj) || strcmp(crvj->valuestring, "Ed25519") != 0)
			ok = bad_crv(crvj, "Ed25519", why, sizeof why);
		else if (!d || dl != 32)
			ok = WHY_BUF(why, "lacks a valid d");
		else
			out->pkey = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, d, dl);
		if (d)
			OPENSSL_clear_free(d, dl);
	} else if (kty) {
		char *t = shown(kty, 40);
		ok = WHY_BUF(why, "has an unsupported kty \"%s\" (RSA, EC, OKP, oct)%s", t, nul_note(kty));
		free(t);
	} else {
		ok = WHY_BUF(why, "has no kty");
	}
	if (ok && strcmp(kty, "oct") != 0) {
		if (!out->pkey || !describe_pkey(out)) {
			ok = WHY_BUF(why, "could not be imported");
		} else {
			const cJSON *kid = member(j, "kid");
			const char *alg = cJSON_GetStringValue(member(j, "alg"));
			if (cJSON_IsString(kid))
				out->kid = sc_xstrdup(kid->valuestring);
			if (alg)
				out->alg = sc_alg_from_name(alg);
			if (alg && (!out->alg || !sc_key_accepts(out, out->alg)))
				ok = WHY_BUF(why, "has an alg that does not fit its kty or crv");
		}
	}
	ERR_clear_error();
	cJSON_Delete(j);
	if (!ok) {
		sc_key_free(out);
		sc_error_set(err, SC_EXIT_USAGE, "%s: the JSON Web Key %s", what, why);
		return -1;
	}
	out->has_private = true;
	return 0;
}

/* Why RemoteJWKSCollector.getKeys (packages/service-core/src/auth/
 * RemoteJWKSCollector.ts) passes a key over, or NULL when it takes it:
 * kty other than RSA, OKP and EC (oct keys are secrets); a string use
 * other than "sig"; a key_ops list without "verify". From a file the key
 * types are not filtered (inline keys may be secrets). Strings compare
 * whole: "sig\u0000x" is not "sig". */
static char *skip_reason(const cJSON *j, bool from_uri)
{
	const cJSON *ktyj = member(j, "kty");
	const char *kty = cJSON_GetStringValue(ktyj);
	if (from_uri && !(kty && (strcmp(kty, "RSA") == 0 || strcmp(kty, "EC") == 0 || strcmp(kty, "OKP") == 0))) {
		char *t = ktyj ? shown_json(ktyj, 40) : sc_xstrdup("none");
		char *r = sc_xasprintf("kty %s (a JWKS URI serves RSA, EC and OKP keys only)", t);
		free(t);
		return r;
	}
	const cJSON *use = member(j, "use");
	if (cJSON_IsString(use) && strcmp(use->valuestring, "sig") != 0) {
		char *t = shown_json(use, 40);
		char *r = sc_xasprintf("use %s is not \"sig\"", t);
		free(t);
		return r;
	}
	const cJSON *ops = member(j, "key_ops");
	if (cJSON_IsArray(ops)) {
		const cJSON *op;
		cJSON_ArrayForEach(op, ops)
			if (cJSON_IsString(op) && strcmp(op->valuestring, "verify") == 0)
				return NULL;
		char *t = shown_json(ops, 80);
		char *r = sc_xasprintf("key_ops %s lacks \"verify\"", t);
		free(t);
		return r;
	}
	return NULL;
}

int sc_keyset_from_jwks(const char *json, size_t len, bool from_uri, const char *what,
			sc_keyset *out, sc_error *err)
{
	memset(out, 0, sizeof *out);
	char why[256];
	cJSON *doc = sc_json_parse(json, len, why, sizeof why);
	if (!doc) {
		json_error(err, what, why);
		return -1;
	}
	cJSON *keys = cJSON_GetObjectItemCaseSensitive(doc, "keys");
	/* A single JWK (not a set) is accepted from a file. */
	cJSON *single = NULL;
	if (!keys && !from_uri && cJSON_GetObjectItemCaseSensitive(doc, "kty")) {
		single = cJSON_CreateArray();
		cJSON_AddItemReferenceToArray(single, doc);
		keys = single;
	}
	if (!cJSON_IsArray(keys)) {
		cJSON_Delete(doc);
		cJSON_Delete(single);
		sc_error_set(err, SC_EXIT_USAGE, "%s has no \"keys\" array: no keys found in the JWKS", what);
		return -1;
	}
	int i = 0;
	const cJSON *j;
	cJSON_ArrayForEach(j, keys) {
		if (!cJSON_IsObject(j)) {
			sc_error_set(err, SC_EXIT_USAGE, "%s: keys[%d] is not an object", what, i);
			goto fail;
		}
		sc_key k;
		if (!jwk_no_nul(j, why, sizeof why)) {
			sc_error_set(err, SC_EXIT_USAGE, "%s: keys[%d] %s", what, i, why);
			goto fail;
		}
		char *skip = skip_reason(j, from_uri);
		if (skip) {
			sc_log_verbose("%s: keys[%d] skipped, as the service skips it: %s", what, i, skip);
			free(skip);
			out->skipped++;
			i++;
			continue;
		}
		if (!import_jwk(j, &k, why, sizeof why)) {
			const char *kid = cJSON_GetStringValue(member(j, "kid"));
			if (kid) {
				char *t = shown(kid, 64);
				sc_error_set(err, SC_EXIT_USAGE, "%s: key \"%s\" (keys[%d]) %s", what, t, i, why);
				free(t);
			} else {
				sc_error_set(err, SC_EXIT_USAGE, "%s: keys[%d] %s", what, i, why);
			}
			goto fail;
		}
		sc_keyset_add(out, &k);
		i++;
	}
	cJSON_Delete(single);
	cJSON_Delete(doc);
	return 0;
fail:
	cJSON_Delete(single);
	cJSON_Delete(doc);
	sc_keyset_free(out);
	return -1;
}

/* ---- signatures ---- */

static unsigned char *sign_bytes(sc_alg alg, const sc_key *k, const unsigned char *tbs, size_t tbslen,
				 size_t *siglen, sc_error *err)
{
	if (sc_alg_is_hmac(alg)) {
		unsigned char *out = sc_xmalloc(EVP_MAX_MD_SIZE);
		size_t outlen = 0;
		const char *md = algs[alg_index(alg)].md;
		if (!EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, k->secret, k->secret_len, tbs, tbslen, out,
			       EVP_MAX_MD_SIZE, &outlen)) {
			free(out);
			ERR_clear_error();
			sc_error_set(err, SC_EXIT_FAILED, "HMAC failed");
			return NULL;
		}
		*siglen = outlen;
		return out;
	}
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	unsigned char *sig = NULL;
	size_t len = 0;
	if (EVP_DigestSignInit(ctx, NULL, digest_for(alg), NULL, k->pkey) <= 0 ||
	    EVP_DigestSign(ctx, NULL, &len, tbs, tbslen) <= 0) {
		EVP_MD_CTX_free(ctx);
		ERR_clear_error();
		sc_error_set(err, SC_EXIT_FAILED, "signing with %s failed", sc_alg_name(alg));
		return NULL;
	}
	sig = sc_xmalloc(len);
	if (EVP_DigestSign(ctx, sig, &len, tbs, tbslen) <= 0) {
		free(sig);
		EVP_MD_CTX_free(ctx);
		ERR_clear_error();
		sc_error_set(err, SC_EXIT_FAILED, "signing with %s failed", sc_alg_name(alg));
		return NULL;
	}
	EVP_MD_CTX_free(ctx);
	if (alg_is_ec(alg)) {
		/* JWS wants r||s, each the field size; OpenSSL gives DER. */
		const unsigned char *p = sig;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		free(sig);
		if (!es) {
			sc_error_set(err, SC_EXIT_FAILED, "signing with %s failed", sc_alg_name(alg));
			return NULL;
		}
		int size = algs[alg_index(alg)].ec_size;
		unsigned char *raw = sc_xmalloc((size_t)size * 2);
		BN_bn2binpad(ECDSA_SIG_get0_r(es), raw, size);
		BN_bn2binpad(ECDSA_SIG_get0_s(es), raw + size, size);
		ECDSA_SIG_free(es);
		*siglen = (size_t)size * 2;
		return raw;
	}
	*siglen = len;
	return sig;
}

static bool verify_bytes(sc_alg alg, const sc_key *k, const unsigned char *tbs, size_t tbslen,
			 const unsigned char *sig, size_t siglen)
{
	if (sc_alg_is_hmac(alg)) {
		unsigned char mac[EVP_MAX_MD_SIZE];
		size_t maclen = 0;
		const char *md = algs[alg_index(alg)].md;
		if (!EVP_Q_mac(NULL, "HMAC", NULL, md, NULL, k->secret, k->secret_len, tbs, tbslen, mac,
			       sizeof mac, &maclen)) {
			ERR_clear_error();
			return false;
		}
		return maclen == siglen && CRYPTO_memcmp(mac, sig, maclen) == 0;
	}
	if (alg == SC_ALG_EDDSA) {
		/* Pure EdDSA hashes inside: one call, no reusable context. */
		EVP_MD_CTX *ctx = EVP_MD_CTX_new();
		bool ok = EVP_DigestVerifyInit(ctx, NULL, NULL, NULL, k->pkey) > 0 &&
			  EVP_DigestVerify(ctx, sig, siglen, tbs, tbslen) == 1;
		EVP_MD_CTX_free(ctx);
		ERR_clear_error();
		return ok;
	}
	unsigned char *der = NULL;
	const unsigned char *use = sig;
	size_t uselen = siglen;
	if (alg_is_ec(alg)) {
		size_t size = (size_t)algs[alg_index(alg)].ec_size;
		if (siglen != 2 * size)
			return false;
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, (int)size, NULL), *s = BN_bin2bn(sig + size, (int)size, NULL);
		ECDSA_SIG_set0(es, r, s);
		int dlen = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (dlen <= 0)
			return false;
		use = der;
		uselen = (size_t)dlen;
	}
	/* Hash, then verify the digest with a context set up once per key and
	 * algorithm. */
	EVP_MD *md = digest_for(alg);
	unsigned char digest[EVP_MAX_MD_SIZE];
	unsigned int dlen = 0;
	bool ok = false;
	sc_key *mk = (sc_key *)k;
	if (mk->verify_ctx && mk->verify_alg != alg) {
		EVP_PKEY_CTX_free(mk->verify_ctx);
		mk->verify_ctx = NULL;
	}
	if (!mk->verify_ctx) {
		EVP_PKEY_CTX *c = EVP_PKEY_CTX_new_from_pkey(NULL, k->pkey, NULL);
		if (c && EVP_PKEY_verify_init(c) > 0 && EVP_PKEY_CTX_set_signature_md(c, md) > 0 &&
		    (!alg_is_rsa(alg) || EVP_PKEY_CTX_set_rsa_padding(c, RSA_PKCS1_PADDING) > 0)) {
			mk->verify_ctx = c;
			mk->verify_alg = alg;
		} else {
			EVP_PKEY_CTX_free(c);
		}
	}
	if (mk->verify_ctx && EVP_Digest(tbs, tbslen, digest, &dlen, md, NULL))
		ok = EVP_PKEY_verify(mk->verify_ctx, use, uselen, digest, dlen) == 1;
	OPENSSL_free(der);
	ERR_clear_error();
	return ok;
}

char *sc_jwt_sign(sc_alg alg, const sc_key *key, const char *kid, const cJSON *claims, sc_error *err)
{
	if (!sc_key_accepts(key, alg)) {
		sc_error_set(err, SC_EXIT_USAGE, "a %s key%s%s cannot sign %s", key->kty, key->crv ? " on " : "",
			     key->crv ? key->crv : "", sc_alg_name(alg));
		return NULL;
	}
	if (!key->has_private) {
		sc_error_set(err, SC_EXIT_USAGE, "signing needs a private key, not a public one");
		return NULL;
	}
	cJSON *h = cJSON_CreateObject();
	cJSON_AddStringToObject(h, "alg", sc_alg_name(alg));
	cJSON_AddStringToObject(h, "typ", "JWT");
	if (kid)
		cJSON_AddStringToObject(h, "kid", kid);
	/* Valid UTF-8 JSON whatever the strings hold: a kid or claim read from
	 * JSON with an escaped NUL signs as \u0000 again. */
	char *hs = sc_json_print(h, false);
	char *cs = sc_json_print(claims, false);
	cJSON_Delete(h);
	char *h64 = sc_b64url_encode(hs, strlen(hs));
	char *c64 = sc_b64url_encode(cs, strlen(cs));
	free(hs);
	free(cs);
	char *input = sc_xasprintf("%s.%s", h64, c64);
	free(h64);
	free(c64);
	size_t siglen = 0;
	unsigned char *sig = sign_bytes(alg, key, (const unsigned char *)input, strlen(input), &siglen, err);
	if (!sig) {
		free(input);
		return NULL;
	}
	char *s64 = sc_b64url_encode(sig, siglen);
	char *token = sc_xasprintf("%s.%s", input, s64);
	free(sig);
	free(s64);
	free(input);
	return token;
}

/* ---- verification ---- */

/* What the sync service does with a token is the spec: KeyStore.verifyJwt
 * and getCachedKey (packages/service-core/src/auth/KeyStore.ts), KeySpec
 * (KeySpec.ts), mapJoseError (utils.ts), and jose 4's jwtVerify as
 * KeyStore calls it: clockTolerance 60, algorithms HS/RS/ES/EdDSA,
 * requiredClaims sub, iat, exp; no issuer, no audience, no maxTokenAge,
 * no typ (jose src/lib/jwt_claims_set.ts checks iat against the clock
 * only with maxTokenAge, iss only with issuer, typ only with typ). */

static void fail(sc_jwt_result *r, const char *code, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void fail(sc_jwt_result *r, const char *code, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	r->failures = sc_xrealloc(r->failures, (r->nfailures + 1) * sizeof *r->failures);
	r->failures[r->nfailures].code = code;
	r->failures[r->nfailures].message = sc_xstrdup(msg);
	r->nfailures++;
}

/* An object with no member name twice (cJSON keeps both; a JWT parser that
 * takes the first and one that takes the last would disagree). */
static bool unique_members(const cJSON *o)
{
	for (const cJSON *a = o->child; a; a = a->next)
		for (const cJSON *b = a->next; b; b = b->next)
			if (strcmp(a->string, b->string) == 0)
				return false;
	return true;
}

static cJSON *decode_segment(const char *s, size_t len, const char *what, sc_jwt_result *r)
{
	size_t n;
	unsigned char *raw = sc_b64url_decode(s, len, &n);
	if (!raw) {
		fail(r, "PSYNC_S2101", "Token is not a well-formed JWT: the %s is not base64url", what);
		return NULL;
	}
	char why[256];
	cJSON *j = sc_json_parse((const char *)raw, n, why, sizeof why);
	free(raw);
	if (!j) {
		if (strncmp(why, "nested deeper", 13) == 0)
			/* Maybe valid JSON, which the service's JSON.parse reads:
			 * what it would say is unknown here. */
			fail(r, "SYNCCTL_NESTING", "The token's %s cannot be read here: it is %s (syncctl reads JSON to that depth; the service's JSON.parse reads deeper, so its verdict is not known)",
			     what, why);
		else if (strncmp(why, "not valid JSON ", 15) == 0)
			fail(r, "PSYNC_S2101", "Token is not a well-formed JWT: the %s is %s", what, why);
		else
			fail(r, "PSYNC_S2101", "Token is not a well-formed JWT: the %s is not valid JSON: %s", what, why);
		return NULL;
	}
	if (!cJSON_IsObject(j)) {
		cJSON_Delete(j);
		fail(r, "PSYNC_S2101", "Token is not a well-formed JWT: the %s is not a JSON object", what);
		return NULL;
	}
	if (!unique_members(j)) {
		cJSON_Delete(j);
		fail(r, "PSYNC_S2101", "Token is not a well-formed JWT: the %s has a member twice", what);
		return NULL;
	}
	return j;
}

/* Whether the token's aud (a string or a list) holds s, compared whole
 * (audiences.includes(a) in KeyStore.verifyJwt). A value with an escaped
 * NUL equals no configured audience: those come from argv and the
 * environment, which hold no NUL. */
static bool aud_contains(const cJSON *aud, const char *s)
{
	if (cJSON_IsString(aud))
		return !sc_json_has_nul(aud->valuestring) && strcmp(aud->valuestring, s) == 0;
	if (!cJSON_IsArray(aud))
		return false;
	const cJSON *a;
	cJSON_ArrayForEach(a, aud)
		if (cJSON_IsString(a) && !sc_json_has_nul(a->valuestring) && strcmp(a->valuestring, s) == 0)
			return true;
	return false;
}

static bool aud_has_nul(const cJSON *aud)
{
	if (cJSON_IsString(aud))
		return sc_json_has_nul(aud->valuestring);
	const cJSON *a;
	if (cJSON_IsArray(aud))
		cJSON_ArrayForEach(a, aud)
			if (cJSON_IsString(a) && sc_json_has_nul(a->valuestring))
				return true;
	return false;
}

static void check_claims(const cJSON *c, const sc_verify_opts *o, sc_jwt_result *r)
{
	/* Presence as jose's requiredClaims checks it (`claim in payload`):
	 * "sub": null is there. Any sub is taken: BaseJwtPayload normalizes it
	 * (sc_jwt_user_id; the service's test auth.test.ts "KeyStore
	 * normalizes sub claim values"). */
	static const char *required[] = { "sub", "iat", "exp" };
	for (int i = 0; i < 3; i++)
		if (!cJSON_GetObjectItemCaseSensitive(c, required[i]))
			fail(r, "PSYNC_S2101", "JWT payload is missing a required claim \"%s\"", required[i]);
	const cJSON *iat = cJSON_GetObjectItemCaseSensitive(c, "iat");
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(c, "exp");
	const cJSON *nbf = cJSON_GetObjectItemCaseSensitive(c, "nbf");
	static const char *times[] = { "iat", "exp", "nbf" };
	const cJSON *tv[] = { iat, exp, nbf };
	for (int i = 0; i < 3; i++)
		if (tv[i] && !cJSON_IsNumber(tv[i]))
			fail(r, "PSYNC_S2101", "\"%s\" claim must be a number", times[i]);
	double now = (double)o->now;
	if (cJSON_IsNumber(exp) && exp->valuedouble + (double)o->leeway <= now)
		fail(r, "PSYNC_S2103", "JWT has expired (exp was %.0f s ago, beyond the %ld s leeway)", now - exp->valuedouble,
		     o->leeway);
	if (cJSON_IsNumber(nbf) && nbf->valuedouble > now + (double)o->leeway)
		fail(r, "PSYNC_S2101", "\"nbf\" claim timestamp check failed (not valid for another %.0f s)",
		     nbf->valuedouble - now);
	/* iat ahead of the clock is no failure: jose checks it only with
	 * maxTokenAge, which KeyStore does not pass. */
	if (cJSON_IsNumber(iat) && cJSON_IsNumber(exp) && exp->valuedouble - iat->valuedouble > (double)o->max_lifetime)
		fail(r, "PSYNC_S2104", "Token must expire in a maximum of %ld seconds, got %.0fs", o->max_lifetime,
		     exp->valuedouble - iat->valuedouble);

	/* `aud == null` is missing; a string is a list of one. */
	const cJSON *aud = cJSON_GetObjectItemCaseSensitive(c, "aud");
	char *allowed = NULL;
	{
		cJSON *a = cJSON_CreateArray();
		for (size_t i = 0; i < o->naudiences; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(o->audiences[i]));
		allowed = shown_json(a, 200);
		cJSON_Delete(a);
	}
	if (!aud || cJSON_IsNull(aud)) {
		fail(r, "PSYNC_S2105", "JWT payload is missing a required claim \"aud\" (this configuration allows %s)", allowed);
	} else {
		bool hit = false;
		for (size_t i = 0; i < o->naudiences && !hit; i++)
			hit = aud_contains(aud, o->audiences[i]);
		if (!hit) {
			char *got = shown_json(aud, 200);
			const char *nul = aud_has_nul(aud) ? "; a value holds a NUL character, shown as \\u0000: the service compares whole strings" : "";
			if (o->naudiences == 0)
				fail(r, "PSYNC_S2105", "Unexpected \"aud\" claim value: %s (no audience is configured, so every token fails; pass --aud%s)", got, nul);
			else
				fail(r, "PSYNC_S2105", "Unexpected \"aud\" claim value: %s (this configuration allows %s%s)", got, allowed, nul);
			free(got);
		}
	}
	free(allowed);
	/* The service never checks iss (KeyStore passes jose no issuer):
	 * --iss is syncctl's own check, with its own code. */
	if (o->issuer) {
		const cJSON *iss = cJSON_GetObjectItemCaseSensitive(c, "iss");
		char *want = shown(o->issuer, 100);
		if (!iss) {
			fail(r, "SYNCCTL_ISS", "the token has no \"iss\" claim; --iss requires \"%s\" (syncctl's own check: the sync service does not check iss)", want);
		} else if (!cJSON_IsString(iss) || sc_json_has_nul(iss->valuestring) || strcmp(iss->valuestring, o->issuer) != 0) {
			char *got = shown_json(iss, 100);
			fail(r, "SYNCCTL_ISS", "\"iss\" claim value %s is not the one --iss requires, \"%s\" (syncctl's own check: the sync service does not check iss)%s",
			     got, want, cJSON_IsString(iss) ? nul_note(iss->valuestring) : "");
			free(got);
		}
		free(want);
	}
	const cJSON *params = cJSON_GetObjectItemCaseSensitive(c, "parameters");
	if (params && !cJSON_IsNull(params) && !cJSON_IsObject(params))
		fail(r, "PSYNC_S2101", "Payload parameters must be an object");
}

static char *known_kids(const sc_keyset *ks)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < ks->n && b.len < 300; i++) {
		char *k = ks->keys[i].kid ? shown(ks->keys[i].kid, 64) : sc_xstrdup("(no kid)");
		sc_buf_printf(&b, "%s%s", b.len ? ", " : "", k);
		free(k);
	}
	if (!b.len)
		sc_buf_puts(&b, "none");
	char *all = sc_buf_take(&b);
	char *s = shown(all, 300);
	free(all);
	return s;
}

void sc_jwt_verify(const char *token, size_t len, const sc_keyset *ks, const sc_verify_opts *o,
		   sc_jwt_result *r)
{
	memset(r, 0, sizeof *r);
	if (len > SC_JWT_MAX_LEN) {
		fail(r, "PSYNC_S2101", "Token is not a well-formed JWT: it is %zu bytes long (the limit is %d)", len,
		     SC_JWT_MAX_LEN);
		return;
	}
	const char *d1 = memchr(token, '.', len);
	const char *d2 = d1 ? memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token)) : NULL;
	size_t parts = 1;
	for (size_t i = 0; i < len; i++)
		parts += token[i] == '.';
	if (parts != 3) {
		fail(r, "PSYNC_S2101", "Token is not a well-formed JWT: it has %zu parts (needs 3)", parts);
		return;
	}
	r->header = decode_segment(token, (size_t)(d1 - token), "header", r);
	r->claims = decode_segment(d1 + 1, (size_t)(d2 - d1 - 1), "payload", r);
	size_t siglen = 0;
	const char *s64 = d2 + 1;
	unsigned char *sig = sc_b64url_decode(s64, len - (size_t)(s64 - token), &siglen);
	if (!sig)
		fail(r, "PSYNC_S2101", "Token is not a well-formed JWT: the signature is not base64url");
	if (!r->header || !sig) {
		free(sig);
		return;
	}
	r->well_formed = r->claims != NULL;

	/* The alg is compared whole: "RS256\u0000x" is no algorithm (jose:
	 * '"alg" (Algorithm) Header Parameter not allowed', before any key). */
	const cJSON *alg_j = cJSON_GetObjectItemCaseSensitive(r->header, "alg");
	const char *alg_name = cJSON_GetStringValue(alg_j);
	sc_alg alg = sc_alg_from_name(alg_name);
	bool header_ok = true;
	if (!alg) {
		char *a = alg_name ? shown(alg_name, 64) : NULL;
		fail(r, "PSYNC_S2101", "Unsupported token algorithm %s%s%s", a ? a : alg_j ? "(not a string)" : "(none given)",
		     alg_name && strcmp(alg_name, "none") == 0 ? ": unsigned tokens are never accepted" : "",
		     alg_name ? nul_note(alg_name) : "");
		free(a);
		header_ok = false;
	}
	const cJSON *crit = cJSON_GetObjectItemCaseSensitive(r->header, "crit");
	if (crit) {
		fail(r, "PSYNC_S2101", "Extension header parameters marked critical (crit) are not supported");
		header_ok = false;
	}
	const cJSON *kid_j = cJSON_GetObjectItemCaseSensitive(r->header, "kid");
	if (kid_j && !cJSON_IsString(kid_j)) {
		fail(r, "PSYNC_S2101", "Token is not a well-formed JWT: kid is not a string");
		header_ok = false;
	}
	const char *kid = cJSON_GetStringValue(kid_j);

	const unsigned char *tbs = (const unsigned char *)token;
	size_t tbslen = (size_t)(d2 - token);
	if (header_ok) {
		/* A key with the token's kid is the key, whatever else; otherwise
		 * keys without a kid are tried (KeyStore.getCachedKey: `if (kid)`,
		 * so an empty kid is none). Kids compare whole: a kid
		 * "k1\u0000x" is not k1. */
		const sc_key *match = NULL;
		for (size_t i = 0; kid && *kid && i < ks->n && !match; i++)
			if (ks->keys[i].kid && strcmp(ks->keys[i].kid, kid) == 0)
				match = &ks->keys[i];
		if (match) {
			if (!sc_key_accepts(match, alg)) {
				char *mk = shown(match->kid, 64);
				fail(r, "PSYNC_S2101", "Unexpected token algorithm %s (key %s: alg %s, kty %s)", sc_alg_name(alg), mk,
				     match->alg ? sc_alg_name(match->alg) : "unset", match->kty);
				free(mk);
			} else if (alg_is_rsa(alg) && EVP_PKEY_get_bits(match->pkey) < 2048) {
				fail(r, "PSYNC_S2101", "%s requires key modulusLength to be 2048 bits or larger", sc_alg_name(alg));
			} else if (verify_bytes(alg, match, tbs, tbslen, sig, siglen)) {
				r->signature_valid = true;
				r->kid = sc_xstrdup(match->kid);
			} else {
				fail(r, "PSYNC_S2101", "signature verification failed");
			}
		} else {
			bool tried = false;
			for (size_t i = 0; i < ks->n && !r->signature_valid; i++) {
				const sc_key *k = &ks->keys[i];
				if (k->kid || !sc_key_accepts(k, alg))
					continue;
				if (alg_is_rsa(alg) && EVP_PKEY_get_bits(k->pkey) < 2048)
					continue;
				tried = true;
				r->signature_valid = verify_bytes(alg, k, tbs, tbslen, sig, siglen);
			}
			if (!r->signature_valid) {
				char *known = known_kids(ks);
				char *tk = kid ? shown(kid, 64) : sc_xstrdup("none");
				if (tried && !kid)
					fail(r, "PSYNC_S2101", "signature verification failed");
				else
					fail(r, "PSYNC_S2101",
					     "Could not find an appropriate key in the keystore. The key is missing or no key matched the token KID (token kid: %s; known keys: %s)%s",
					     tk, known, kid ? nul_note(kid) : "");
				free(tk);
				free(known);
			}
		}
	}
	free(sig);
	if (r->claims)
		check_claims(r->claims, o, r);
	r->valid = r->well_formed && r->signature_valid && r->nfailures == 0;
}

void sc_jwt_result_free(sc_jwt_result *r)
{
	for (size_t i = 0; i < r->nfailures; i++)
		free(r->failures[i].message);
	free(r->failures);
	cJSON_Delete(r->header);
	cJSON_Delete(r->claims);
	free(r->kid);
	memset(r, 0, sizeof *r);
}

cJSON *sc_jwt_result_json(const sc_jwt_result *r)
{
	cJSON *o = cJSON_CreateObject();
	cJSON_AddBoolToObject(o, "valid", r->valid);
	cJSON_AddBoolToObject(o, "signature_valid", r->signature_valid);
	if (r->kid)
		cJSON_AddStringToObject(o, "kid", r->kid);
	else
		cJSON_AddNullToObject(o, "kid");
	char *uid = sc_jwt_user_id(cJSON_GetObjectItemCaseSensitive(r->claims, "sub"));
	if (uid)
		cJSON_AddStringToObject(o, "user_id", uid);
	else
		cJSON_AddNullToObject(o, "user_id");
	free(uid);
	cJSON *errs = cJSON_AddArrayToObject(o, "errors");
	for (size_t i = 0; i < r->nfailures; i++) {
		cJSON *e = cJSON_CreateObject();
		cJSON_AddStringToObject(e, "code", r->failures[i].code);
		cJSON_AddStringToObject(e, "message", r->failures[i].message);
		cJSON_AddItemToArray(errs, e);
	}
	cJSON_AddItemToObject(o, "header", r->header ? cJSON_Duplicate(r->header, 1) : cJSON_CreateNull());
	cJSON_AddItemToObject(o, "claims", r->claims ? cJSON_Duplicate(r->claims, 1) : cJSON_CreateNull());
	return o;
}

int sc_jwt_decode(const char *token, size_t len, cJSON **header, cJSON **claims, sc_error *err)
{
	sc_jwt_result r;
	memset(&r, 0, sizeof r);
	*header = *claims = NULL;
	size_t parts = 1;
	for (size_t i = 0; i < len; i++)
		parts += token[i] == '.';
	if (len > SC_JWT_MAX_LEN || parts != 3) {
		sc_error_set(err, SC_EXIT_USAGE, "not a JWT: %s", len > SC_JWT_MAX_LEN ? "too long" : "it needs 3 dot-separated parts");
		return -1;
	}
	const char *d1 = memchr(token, '.', len);
	const char *d2 = memchr(d1 + 1, '.', len - (size_t)(d1 + 1 - token));
	*header = decode_segment(token, (size_t)(d1 - token), "header", &r);
	*claims = decode_segment(d1 + 1, (size_t)(d2 - d1 - 1), "payload", &r);
	if (!*header || !*claims) {
		sc_error_set(err, SC_EXIT_USAGE, "not a JWT: %s", r.failures[0].message);
		cJSON_Delete(*header);
		cJSON_Delete(*claims);
		*header = *claims = NULL;
		sc_jwt_result_free(&r);
		return -1;
	}
	sc_jwt_result_free(&r);
	return 0;
}

/* ---- the user id the service makes of sub ---- */

/* A number as JavaScript's Number.prototype.toString writes it (ECMA-262
 * Number::toString: the shortest digits that read back as the same double,
 * plain from 1e-6 to below 1e21, else d.ddde+N). */
static void js_number(sc_buf *b, double v)
{
	if (v == 0) {
		sc_buf_putc(b, '0'); /* -0 too */
		return;
	}
	if (v < 0) {
		sc_buf_putc(b, '-');
		v = -v;
	}
	char buf[64];
	for (int p = 1; p <= 17; p++) {
		snprintf(buf, sizeof buf, "%.*e", p - 1, v);
		if (strtod(buf, NULL) == v)
			break;
	}
	char digits[32];
	int k = 0;
	const char *q = buf;
	for (; *q && *q != 'e' && k < 30; q++)
		if (*q >= '0' && *q <= '9')
			digits[k++] = *q;
	int n = (*q == 'e' ? atoi(q + 1) : 0) + 1; /* value = 0.digits x 10^n */
	while (k > 1 && digits[k - 1] == '0')
		k--;
	if (k <= n && n <= 21) {
		sc_buf_append(b, digits, (size_t)k);
		for (int i = k; i < n; i++)
			sc_buf_putc(b, '0');
	} else if (0 < n && n <= 21) {
		sc_buf_append(b, digits, (size_t)n);
		sc_buf_putc(b, '.');
		sc_buf_append(b, digits + n, (size_t)(k - n));
	} else if (-6 < n && n <= 0) {
		sc_buf_puts(b, "0.");
		for (int i = n; i < 0; i++)
			sc_buf_putc(b, '0');
		sc_buf_append(b, digits, (size_t)k);
	} else {
		sc_buf_putc(b, digits[0]);
		if (k > 1) {
			sc_buf_putc(b, '.');
			sc_buf_append(b, digits + 1, (size_t)(k - 1));
		}
		sc_buf_printf(b, "e%c%d", n - 1 >= 0 ? '+' : '-', n - 1 >= 0 ? n - 1 : 1 - n);
	}
}

/* A string as JSON.stringify quotes it. The NUL of a JSON string is
 * \u0000 again; a byte that is not UTF-8 is U+FFFD, as the service's
 * UTF-8 decoder made it. */
static void js_string(sc_buf *b, const char *s)
{
	sc_buf_putc(b, '"');
	const unsigned char *p = (const unsigned char *)s;
	size_t n = strlen(s);
	for (size_t i = 0; i < n;) {
		unsigned char c = p[i];
		if (c >= 0x80) {
			size_t k = sc_utf8_seq(p + i, n - i);
			if (k) {
				sc_buf_append(b, s + i, k);
				i += k;
			} else if (c == 0xC0 && i + 1 < n && p[i + 1] == 0x80) {
				sc_buf_puts(b, "\\u0000");
				i += 2;
			} else {
				sc_buf_puts(b, "\xEF\xBF\xBD");
				i++;
			}
			continue;
		}
		switch (c) {
		case '"': sc_buf_puts(b, "\\\""); break;
		case '\\': sc_buf_puts(b, "\\\\"); break;
		case '\b': sc_buf_puts(b, "\\b"); break;
		case '\f': sc_buf_puts(b, "\\f"); break;
		case '\n': sc_buf_puts(b, "\\n"); break;
		case '\r': sc_buf_puts(b, "\\r"); break;
		case '\t': sc_buf_puts(b, "\\t"); break;
		default:
			if (c < 0x20)
				sc_buf_printf(b, "\\u%04x", c);
			else
				sc_buf_putc(b, (char)c);
		}
		i++;
	}
	sc_buf_putc(b, '"');
}

/* A member name that JavaScript keeps as an array index: such names come
 * first in an object's key order, ascending (OrdinaryOwnPropertyKeys). */
static bool js_array_index(const char *s, unsigned long long *v)
{
	if (!*s || (s[0] == '0' && s[1]) || strlen(s) > 10)
		return false;
	unsigned long long x = 0;
	for (const char *p = s; *p; p++) {
		if (*p < '0' || *p > '9')
			return false;
		x = x * 10 + (unsigned long long)(*p - '0');
	}
	*v = x;
	return x <= 4294967294ULL;
}

/* An object member in JavaScript's key order. */
struct js_key {
	const cJSON *e;
	size_t pos;                 /* where its name first stands */
	unsigned long long index;
	bool is_index;
};

static int js_key_order(const void *pa, const void *pb)
{
	const struct js_key *a = pa, *b = pb;
	if (a->is_index != b->is_index)
		return a->is_index ? -1 : 1;
	if (a->is_index && a->index != b->index)
		return a->index < b->index ? -1 : 1;
	return a->pos < b->pos ? -1 : a->pos > b->pos;
}

/* The service's JSONBig.stringify (packages/jsonbig/src/json.ts) of a
 * JSON.parse result: numbers as JavaScript writes them, with ".0" when
 * that is an integer; members in JavaScript's key order, a name given
 * twice where it first stood with its last value. */
static void jsonbig(sc_buf *b, const cJSON *v)
{
	if (cJSON_IsString(v)) {
		js_string(b, v->valuestring);
	} else if (cJSON_IsNumber(v)) {
		size_t at = b->len;
		js_number(b, v->valuedouble);
		bool integer = true;
		for (size_t i = at; i < b->len; i++)
			if (!(b->data[i] == '-' || (b->data[i] >= '0' && b->data[i] <= '9')))
				integer = false;
		if (integer)
			sc_buf_puts(b, ".0");
	} else if (cJSON_IsTrue(v)) {
		sc_buf_puts(b, "true");
	} else if (cJSON_IsFalse(v)) {
		sc_buf_puts(b, "false");
	} else if (cJSON_IsArray(v)) {
		sc_buf_putc(b, '[');
		const cJSON *e;
		bool first = true;
		cJSON_ArrayForEach(e, v) {
			if (!first)
				sc_buf_putc(b, ',');
			first = false;
			jsonbig(b, e);
		}
		sc_buf_putc(b, ']');
	} else if (cJSON_IsObject(v)) {
		size_t n = 0;
		for (const cJSON *e = v->child; e; e = e->next)
			n++;
		struct js_key *keys = sc_xcalloc(n ? n : 1, sizeof *keys);
		size_t nk = 0;
		/* Each name once, where it first stands. */
		for (const cJSON *e = v->child; e; e = e->next) {
			bool seen = false;
			for (size_t i = 0; i < nk && !seen; i++)
				seen = strcmp(keys[i].e->string, e->string) == 0;
			if (!seen) {
				keys[nk].e = e;
				keys[nk].pos = nk;
				keys[nk].is_index = js_array_index(e->string, &keys[nk].index);
				nk++;
			}
		}
		/* Array indices first, ascending; the rest in order. */
		qsort(keys, nk, sizeof *keys, js_key_order);
		sc_buf_putc(b, '{');
		for (size_t i = 0; i < nk; i++) {
			const cJSON *last = keys[i].e;
			for (const cJSON *e = last->next; e; e = e->next)
				if (strcmp(e->string, keys[i].e->string) == 0)
					last = e;
			if (i)
				sc_buf_putc(b, ',');
			js_string(b, keys[i].e->string);
			sc_buf_putc(b, ':');
			jsonbig(b, last);
		}
		sc_buf_putc(b, '}');
		free(keys);
	} else {
		sc_buf_puts(b, "null");
	}
}

char *sc_jwt_user_id(const cJSON *sub)
{
	if (!sub)
		return NULL;
	if (cJSON_IsString(sub))
		return sc_xstrdup(sub->valuestring);
	if (cJSON_IsTrue(sub))
		return sc_xstrdup("1"); /* SQLITE_TRUE, 1n */
	if (cJSON_IsFalse(sub))
		return sc_xstrdup("0");
	if (cJSON_IsNull(sub))
		return sc_xstrdup("null"); /* userIdJson?.toString() ?? 'null' */
	sc_buf b = SC_BUF_INIT;
	if (cJSON_IsNumber(sub))
		js_number(&b, sub->valuedouble);
	else
		jsonbig(&b, sub);
	return sc_buf_take(&b);
}
