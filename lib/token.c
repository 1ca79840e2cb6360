#include "token.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include <openssl/crypto.h>

#include "buf.h"
#include "http.h"
#include "util.h"

#define MAX_JWKS_BYTES (1u << 20)

void sc_format_time_utc(long long t, char out[32])
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm)) {
		snprintf(out, 32, "%lld", t);
		return;
	}
	strftime(out, 32, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int sc_token_load_jwks(const char *source, int timeout_s, sc_keyset *out, sc_error *err)
{
	if (!sc_is_http_url(source)) {
		size_t len;
		char *text = sc_read_file(source, MAX_JWKS_BYTES, &len, "JWKS file", err);
		if (!text)
			return -1;
		char *what = sc_xasprintf("JWKS file %s", source);
		int rc = sc_keyset_from_jwks(text, len, false, what, out, err);
		free(what);
		free(text);
		return rc;
	}
	const char *hdr[] = { "Accept: application/json", NULL };
	sc_http_response resp;
	if (sc_http_request("GET", source, hdr, NULL, timeout_s, MAX_JWKS_BYTES, &resp, err) != 0)
		return -1;
	char *shown = sc_redact_secrets(source);
	int rc = -1;
	if (resp.status < 200 || resp.status > 299) {
		sc_error_set(err, SC_EXIT_FAILED, "JWKS request to %s failed with HTTP %ld", shown, resp.status);
	} else {
		char *what = sc_xasprintf("the JWKS at %s", shown);
		rc = sc_keyset_from_jwks(resp.body, resp.len, true, what, out, err);
		free(what);
		/* The server's answer is unusable: the job could not be done. */
		if (rc != 0)
			err->code = SC_EXIT_FAILED;
	}
	free(shown);
	sc_http_response_free(&resp);
	return rc;
}

static bool loose_mode(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && S_ISREG(st.st_mode) && (st.st_mode & 077);
}

int sc_token_load_key_file(const char *path, sc_key *out, bool *loose, sc_error *err)
{
	size_t len;
	char *pem = sc_read_file(path, 1u << 20, &len, "key file", err);
	if (!pem)
		return -1;
	*loose = loose_mode(path);
	char *what = sc_xasprintf("key file %s", path);
	int rc = sc_key_from_pem(pem, len, what, out, err);
	free(what);
	OPENSSL_cleanse(pem, len);
	free(pem);
	return rc;
}

int sc_token_key_from_text(const char *text, const char *what, sc_key *out, sc_error *err)
{
	if (strstr(text, "-----BEGIN"))
		return sc_key_from_pem(text, strlen(text), what, out, err);
	/* base64 of a JWK: normalise to base64url without padding or blanks. */
	sc_buf b = SC_BUF_INIT;
	for (const char *p = text; *p; p++) {
		if (*p == '+')
			sc_buf_putc(&b, '-');
		else if (*p == '/')
			sc_buf_putc(&b, '_');
		else if (*p == '=' || *p == '\n' || *p == '\r' || *p == ' ' || *p == '\t')
			continue;
		else
			sc_buf_putc(&b, *p);
	}
	size_t len = 0;
	unsigned char *json = b.len ? sc_b64url_decode(b.data, b.len, &len) : NULL;
	sc_buf_free(&b);
	if (!json) {
		sc_error_set(err, SC_EXIT_USAGE, "%s is neither a PEM key nor the base64 of a JSON Web Key", what);
		return -1;
	}
	int rc = sc_key_from_private_jwk((const char *)json, len, what, out, err);
	OPENSSL_cleanse(json, len);
	free(json);
	return rc;
}

int sc_token_load_secret_file(const char *path, sc_key *out, bool *loose, sc_error *err)
{
	size_t len;
	char *s = sc_read_file(path, 4096, &len, "secret file", err);
	if (!s)
		return -1;
	*loose = loose_mode(path);
	while (len && (s[len - 1] == '\n' || s[len - 1] == '\r'))
		len--;
	if (len == 0) {
		free(s);
		sc_error_set(err, SC_EXIT_USAGE, "secret file %s is empty", path);
		return -1;
	}
	sc_key_from_secret((unsigned char *)s, len, out);
	memset(s, 0, len);
	free(s);
	return 0;
}

static bool reserved(const char *k)
{
	static const char *names[] = { "sub", "iat", "exp", "aud", "iss", "parameters" };
	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (strcmp(k, names[i]) == 0)
			return true;
	return false;
}

cJSON *sc_token_claims(const sc_mint_opts *o, long long now, sc_error *err)
{
	cJSON *c = cJSON_CreateObject();
	cJSON_AddStringToObject(c, "sub", o->sub);
	cJSON_AddNumberToObject(c, "iat", (double)now);
	cJSON_AddNumberToObject(c, "exp", (double)(now + o->ttl));
	if (o->naud == 1) {
		cJSON_AddStringToObject(c, "aud", o->aud[0]);
	} else if (o->naud > 1) {
		cJSON *a = cJSON_AddArrayToObject(c, "aud");
		for (size_t i = 0; i < o->naud; i++)
			cJSON_AddItemToArray(a, cJSON_CreateString(o->aud[i]));
	}
	if (o->iss)
		cJSON_AddStringToObject(c, "iss", o->iss);
	for (size_t i = 0; i < o->nclaims + o->nclaims_json; i++) {
		bool is_json = i >= o->nclaims;
		const sc_kv_arg *kv = is_json ? &o->claims_json[i - o->nclaims] : &o->claims[i];
		if (reserved(kv->key)) {
			sc_error_set(err, SC_EXIT_USAGE, "claim \"%s\" is set by its own option (--sub, --aud, --iss, --ttl, --param), not --claim", kv->key);
			goto fail;
		}
		if (cJSON_GetObjectItemCaseSensitive(c, kv->key)) {
			sc_error_set(err, SC_EXIT_USAGE, "claim \"%s\" is given twice", kv->key);
			goto fail;
		}
		cJSON *v = is_json ? cJSON_Parse(kv->value) : cJSON_CreateString(kv->value);
		if (!v) {
			sc_error_set(err, SC_EXIT_USAGE, "--claim-json %s: the value is not JSON", kv->key);
			goto fail;
		}
		cJSON_AddItemToObject(c, kv->key, v);
	}
	if (o->nparams) {
		cJSON *p = cJSON_AddObjectToObject(c, "parameters");
		for (size_t i = 0; i < o->nparams; i++) {
			if (cJSON_GetObjectItemCaseSensitive(p, o->params[i].key)) {
				sc_error_set(err, SC_EXIT_USAGE, "parameter \"%s\" is given twice", o->params[i].key);
				goto fail;
			}
			cJSON_AddStringToObject(p, o->params[i].key, o->params[i].value);
		}
	}
	return c;
fail:
	cJSON_Delete(c);
	return NULL;
}
