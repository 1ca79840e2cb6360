#include "service.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "http.h"
#include "token.h"
#include "util.h"

#define MAX_BODY (1u << 20)

static char *url_join(const char *base, const char *path)
{
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	return sc_xasprintf("%.*s%s", (int)n, base, path);
}

static char *short_body(const char *body)
{
	const char *b = body ? body : "";
	char *s = sc_xstrndup(b, strnlen(b, 200));
	for (char *p = s; *p; p++)
		if (*p == '\n' || *p == '\r')
			*p = ' ';
	return s;
}

/* Returns false when the service did not answer at all: the other checks
 * would each wait out the timeout again. */
static bool probes(const sc_service_opts *o, sc_report *r)
{
	static const char *const names[] = { "startup", "readiness", "liveness" };
	for (int i = 0; i < 3; i++) {
		sc_report_mark(r);
		char id[64], path[64];
		snprintf(id, sizeof id, "service.probe.%s", names[i]);
		snprintf(path, sizeof path, "/probes/%s", names[i]);
		char *url = url_join(o->url, path);
		sc_http_response resp;
		sc_error err;
		if (sc_http_request("GET", url, NULL, NULL, o->timeout_s, MAX_BODY, &resp, &err) != 0) {
			sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "%s", err.message);
			sc_check_set_hint(c, "is the sync service running? (docker compose ps, or its logs); is --service right?");
			free(url);
			return false;
		}
		char *body = short_body(resp.body);
		if (resp.status == 200) {
			sc_report_add(r, id, SC_CHECK_OK, "%s: 200 in %.0f ms", names[i], resp.total_ms);
		} else if (resp.status == 400) {
			/* {"ready": false, "started": ..., "touched_at": ...} */
			cJSON *j = cJSON_Parse(resp.body);
			bool started = cJSON_IsTrue(cJSON_GetObjectItem(j, "started"));
			const char *touched = cJSON_GetStringValue(cJSON_GetObjectItem(j, "touched_at"));
			sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "%s: 400, the service says it is not %s (started: %s, last touched: %s)",
						    names[i], i == 0 ? "started" : i == 1 ? "ready" : "alive", started ? "yes" : "no",
						    touched ? touched : "never");
			sc_check_set_hint(c, i == 0 ? "it is still starting, or failed to: see its logs"
						    : "it has not finished replicating or lost a connection: syncctl service with --api-token-file shows why");
			cJSON_Delete(j);
		} else {
			sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "%s: HTTP %ld: %s", names[i], resp.status, body);
			sc_check_set_hint(c, "is this URL the sync service? (--service, POWERSYNC_URL)");
		}
		free(body);
		free(url);
		sc_http_response_free(&resp);
	}
	return true;
}

static void add_errors(sc_report *r, const char *id, const char *what, cJSON *errors, const char *hint)
{
	sc_buf fatal = SC_BUF_INIT, warn = SC_BUF_INIT;
	const cJSON *e;
	cJSON_ArrayForEach(e, errors) {
		const char *level = cJSON_GetStringValue(cJSON_GetObjectItem(e, "level"));
		const char *msg = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
		sc_buf *b = level && strcmp(level, "warning") == 0 ? &warn : &fatal;
		sc_buf_printf(b, "%s%s", b->len ? "; " : "", msg ? msg : "?");
	}
	sc_check *c;
	if (fatal.len) {
		c = sc_report_add(r, id, SC_CHECK_FAIL, "%s: %s", what, fatal.data);
		sc_check_set_hint(c, "%s", hint);
	} else if (warn.len) {
		c = sc_report_add(r, id, SC_CHECK_WARN, "%s: %s", what, warn.data);
		sc_check_set_hint(c, "%s", hint);
	} else {
		sc_report_add(r, id, SC_CHECK_OK, "%s: no errors", what);
	}
	sc_buf_free(&fatal);
	sc_buf_free(&warn);
}

static void diagnostics(const sc_service_opts *o, sc_report *r)
{
	sc_report_mark(r);
	if (!o->api_token) {
		sc_report_add(r, "service.diagnostics", SC_CHECK_SKIP,
			      "no admin API token: set --api-token-file or POWERSYNC_API_TOKEN to read the service's diagnostics");
		return;
	}
	char *url = url_join(o->url, "/api/admin/v1/diagnostics");
	char *auth = sc_xasprintf("Authorization: Bearer %s", o->api_token);
	const char *hdr[] = { auth, "Content-Type: application/json", "Accept: application/json", NULL };
	sc_http_response resp;
	sc_error err;
	int rc = sc_http_request("POST", url, hdr, "{}", o->timeout_s, MAX_BODY, &resp, &err);
	free(auth);
	free(url);
	if (rc != 0) {
		sc_report_add(r, "service.diagnostics", SC_CHECK_FAIL, "%s", err.message);
		return;
	}
	cJSON *j = cJSON_Parse(resp.body);
	if (resp.status == 401 || resp.status == 403) {
		sc_check *c = sc_report_add(r, "service.diagnostics", SC_CHECK_FAIL, "the service refused the admin API token (HTTP %ld)", resp.status);
		sc_check_set_hint(c, "use a token from the service config's api.tokens");
	} else if (resp.status != 200 || !cJSON_IsObject(j)) {
		char *body = short_body(resp.body);
		sc_report_add(r, "service.diagnostics", SC_CHECK_FAIL, "diagnostics answered HTTP %ld: %s", resp.status, body);
		free(body);
	} else {
		cJSON *d = cJSON_GetObjectItem(j, "data") ? cJSON_GetObjectItem(j, "data") : j;
		const cJSON *conn;
		int i = 0;
		cJSON_ArrayForEach(conn, cJSON_GetObjectItem(d, "connections")) {
			const char *cid = cJSON_GetStringValue(cJSON_GetObjectItem(conn, "id"));
			char id[96];
			snprintf(id, sizeof id, "service.connection.%.60s", cid ? cid : "default");
			if (!cJSON_IsTrue(cJSON_GetObjectItem(conn, "connected"))) {
				sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "the service is not connected to its source database");
				add_errors(r, id, "connection", cJSON_GetObjectItem(conn, "errors"), "");
				sc_check_set_hint(c, "check replication.connections in the service config; syncctl slots checks the database");
				/* The duplicate id from add_errors says why. */
			} else {
				add_errors(r, id, "source connection", cJSON_GetObjectItem(conn, "errors"),
					   "check replication.connections in the service config; syncctl slots checks the database");
			}
			i++;
		}
		cJSON *active = cJSON_GetObjectItem(d, "active_sync_rules");
		if (!cJSON_IsObject(active)) {
			sc_check *c = sc_report_add(r, "service.sync_rules", SC_CHECK_WARN, "the service has no active sync rules");
			sc_check_set_hint(c, "deploy sync rules (sync_config in the service config); syncctl rules validate first");
		} else {
			add_errors(r, "service.sync_rules", "active sync rules", cJSON_GetObjectItem(active, "errors"),
				   "fix the sync rules (syncctl rules validate FILE --db ...) and redeploy");
			const cJSON *rc2;
			cJSON_ArrayForEach(rc2, cJSON_GetObjectItem(active, "connections")) {
				const char *slot = cJSON_GetStringValue(cJSON_GetObjectItem(rc2, "slot_name"));
				char id[128];
				snprintf(id, sizeof id, "service.replication.%.80s", slot ? slot : "default");
				cJSON *lag = cJSON_GetObjectItem(rc2, "replication_lag_bytes");
				bool done = cJSON_IsTrue(cJSON_GetObjectItem(rc2, "initial_replication_done"));
				if (!done) {
					sc_check *c = sc_report_add(r, id, SC_CHECK_WARN, "initial replication in progress (slot %s)", slot ? slot : "?");
					sc_check_set_hint(c, "wait for the snapshot to finish");
				} else if (cJSON_IsNumber(lag) && lag->valuedouble > 1073741824.0) {
					char *l = sc_format_size((int64_t)lag->valuedouble);
					sc_check *c = sc_report_add(r, id, SC_CHECK_WARN, "replication lags %s behind the source (slot %s)", l, slot ? slot : "?");
					sc_check_set_hint(c, "check the service's load and logs; syncctl slots shows the slot");
					free(l);
				} else {
					char *l = sc_format_size(cJSON_IsNumber(lag) ? (int64_t)lag->valuedouble : 0);
					sc_report_add(r, id, SC_CHECK_OK, "replicating, lag %s (slot %s)", l, slot ? slot : "?");
					free(l);
				}
			}
		}
	}
	cJSON_Delete(j);
	sc_http_response_free(&resp);
}

static const char *explain_code(const char *code)
{
	if (!code)
		return "see the message";
	if (strcmp(code, "PSYNC_S2101") == 0)
		return "the token's kid or algorithm matches no key the service knows: serve this key in the JWKS (syncctl token jwks) or fix --kid";
	if (strcmp(code, "PSYNC_S2103") == 0)
		return "the token expired: check the clocks and the token's lifetime";
	if (strcmp(code, "PSYNC_S2104") == 0)
		return "the token lives longer than the service allows (24h): mint shorter tokens";
	if (strcmp(code, "PSYNC_S2105") == 0)
		return "the token's aud is not one the service accepts: match client_auth.audience in the service config";
	return "see the service's documentation for this code";
}

static void stream(const sc_service_opts *o, sc_report *r)
{
	sc_report_mark(r);
	if (!o->key) {
		sc_report_add(r, "service.stream", SC_CHECK_SKIP,
			      "no signing key: set --key or POWERSYNC_PRIVATE_KEY (and --aud) to try a real sync stream");
		return;
	}
	if (!o->naud) {
		sc_report_add(r, "service.stream", SC_CHECK_SKIP, "no audience: set --aud or SYNCCTL_AUDIENCE to try a real sync stream");
		return;
	}
	sc_mint_opts mo;
	memset(&mo, 0, sizeof mo);
	mo.sub = "syncctl-doctor";
	mo.aud = o->aud;
	mo.naud = o->naud;
	mo.ttl = 60;
	sc_error err;
	cJSON *claims = sc_token_claims(&mo, (long long)time(NULL), &err);
	char *token = claims ? sc_jwt_sign(sc_key_default_alg(o->key), o->key, o->kid, claims, &err) : NULL;
	cJSON_Delete(claims);
	if (!token) {
		sc_report_add(r, "service.stream", SC_CHECK_FAIL, "cannot mint a token: %s", err.message);
		return;
	}
	char *url = url_join(o->url, "/sync/stream");
	char *auth = sc_xasprintf("Authorization: Token %s", token);
	free(token);
	const char *hdr[] = { auth, "Content-Type: application/json", "Accept: application/x-ndjson", NULL };
	sc_http_response resp;
	/* The stream stays open on success: its status is all that is read. */
	int rc = sc_http_request_head("POST", url, hdr, "{\"buckets\":[],\"include_checksum\":true,\"raw_data\":true}",
				      o->timeout_s, &resp, &err);
	free(auth);
	free(url);
	if (rc != 0) {
		sc_report_add(r, "service.stream", SC_CHECK_FAIL, "%s", err.message);
		return;
	}
	if (resp.status == 200) {
		sc_report_add(r, "service.stream", SC_CHECK_OK, "the service accepted a token from this key and audience (200)");
	} else {
		cJSON *j = cJSON_Parse(resp.body);
		cJSON *e = cJSON_GetObjectItem(j, "error");
		const char *code = cJSON_GetStringValue(cJSON_GetObjectItem(e, "code"));
		const char *desc = cJSON_GetStringValue(cJSON_GetObjectItem(e, "description"));
		if (!desc)
			desc = cJSON_GetStringValue(cJSON_GetObjectItem(e, "message"));
		sc_check *c = sc_report_add(r, "service.stream", SC_CHECK_FAIL, "the service refused the token: HTTP %ld %s%s%s", resp.status,
					    code ? code : "", desc ? ": " : "", desc ? desc : "");
		sc_check_set_hint(c, "%s", explain_code(code));
		cJSON_Delete(j);
	}
	sc_http_response_free(&resp);
}

void sc_service_check(const sc_service_opts *o, sc_report *r)
{
	if (!probes(o, r)) {
		sc_report_add(r, "service.diagnostics", SC_CHECK_SKIP, "not tried: the service did not answer");
		sc_report_add(r, "service.stream", SC_CHECK_SKIP, "not tried: the service did not answer");
		return;
	}
	diagnostics(o, r);
	stream(o, r);
}

/* ---- the app backend ---- */

static bool jwks_check(const char *jwks, int timeout_s, const char *id, sc_report *r, sc_keyset *out)
{
	sc_report_mark(r);
	sc_error err;
	bool url = strncmp(jwks, "http://", 7) == 0 || strncmp(jwks, "https://", 8) == 0;
	if (sc_token_load_jwks(jwks, timeout_s, out, &err) != 0) {
		sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "%s", err.message);
		sc_check_set_hint(c, url ? "the backend must serve {\"keys\": [...]} there (syncctl token jwks builds it)"
					 : "syncctl token jwks --key KEY.pem builds a JWKS");
		return false;
	}
	/* Kids must be unique: the service picks the key by kid. */
	for (size_t i = 0; i < out->n; i++)
		for (size_t k = i + 1; k < out->n; k++)
			if (out->keys[i].kid && out->keys[k].kid && strcmp(out->keys[i].kid, out->keys[k].kid) == 0) {
				sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "two keys share kid %s: the service cannot tell them apart", out->keys[i].kid);
				sc_check_set_hint(c, "give each key its own kid (the default is its thumbprint)");
				return false;
			}
	if (out->n == 0 || (url && out->skipped)) {
		sc_check *c = sc_report_add(r, id, out->n ? SC_CHECK_FAIL : SC_CHECK_FAIL,
					    "%zu usable key(s); %zu skipped (an oct key at a JWKS URL is ignored by the service, as are keys not for signatures)",
					    out->n, out->skipped);
		sc_check_set_hint(c, "serve only public RSA, EC or OKP keys at a JWKS URL; configure shared secrets inline in the service");
		return out->n > 0;
	}
	sc_buf kids = SC_BUF_INIT;
	for (size_t i = 0; i < out->n; i++)
		sc_buf_printf(&kids, "%s%s", kids.len ? ", " : "", out->keys[i].kid ? out->keys[i].kid : "(no kid)");
	sc_report_add(r, id, SC_CHECK_OK, "%zu key(s): %s", out->n, kids.data);
	sc_buf_free(&kids);
	return true;
}

/* The first string in a JSON document that looks like a JWT. */
static const char *find_jwt(const cJSON *j)
{
	if (cJSON_IsString(j)) {
		const char *s = j->valuestring;
		int dots = 0;
		for (const char *p = s; *p; p++)
			dots += *p == '.';
		return dots == 2 && strncmp(s, "eyJ", 3) == 0 ? s : NULL;
	}
	for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
		const char *t = find_jwt(c);
		if (t)
			return t;
	}
	return NULL;
}

void sc_backend_check(const sc_backend_opts *o, sc_report *r)
{
	sc_keyset ks;
	memset(&ks, 0, sizeof ks);
	bool have_keys = false;
	if (o->jwks)
		have_keys = jwks_check(o->jwks, o->timeout_s, "backend.jwks", r, &ks);
	else
		sc_report_add(r, "backend.jwks", SC_CHECK_SKIP, "no JWKS configured: set --jwks or SYNCCTL_JWKS (or client_auth.jwks_uri)");

	sc_report_mark(r);
	if (!o->token_endpoint) {
		sc_report_add(r, "backend.token", SC_CHECK_SKIP, "no token endpoint: set --token-endpoint URL to check it");
	} else {
		sc_http_response resp;
		sc_error err;
		const char *hdr[] = { "Accept: application/json", NULL };
		if (sc_http_request("GET", o->token_endpoint, hdr, NULL, o->timeout_s, MAX_BODY, &resp, &err) != 0) {
			sc_report_add(r, "backend.token", SC_CHECK_FAIL, "%s", err.message);
		} else if (resp.status < 200 || resp.status > 299) {
			char *body = short_body(resp.body);
			sc_report_add(r, "backend.token", SC_CHECK_FAIL, "the token endpoint answered HTTP %ld: %s", resp.status, body);
			free(body);
		} else {
			cJSON *j = cJSON_Parse(resp.body);
			const char *token = find_jwt(j);
			if (!token) {
				sc_check *c = sc_report_add(r, "backend.token", SC_CHECK_FAIL, "the token endpoint's answer holds no JWT");
				sc_check_set_hint(c, "answer JSON such as {\"token\": \"eyJ...\"}");
			} else if (!have_keys) {
				sc_report_add(r, "backend.token", SC_CHECK_WARN, "got a token, but there is no usable JWKS to verify it against");
			} else {
				sc_verify_opts vo = { o->aud, o->naud, NULL, 60, 86400, (long long)time(NULL) };
				sc_jwt_result res;
				sc_jwt_verify(token, strlen(token), &ks, &vo, &res);
				if (res.valid) {
					sc_report_add(r, "backend.token", SC_CHECK_OK, "the token endpoint's token verifies against the JWKS (kid %s)",
						      res.kid ? res.kid : "-");
				} else {
					sc_buf why = SC_BUF_INIT;
					for (size_t i = 0; i < res.nfailures; i++)
						sc_buf_printf(&why, "%s%s %s", i ? "; " : "", res.failures[i].code, res.failures[i].message);
					sc_check *c = sc_report_add(r, "backend.token", SC_CHECK_FAIL, "the service would reject the endpoint's token: %s", why.data);
					sc_check_set_hint(c, "syncctl token verify TOKEN --jwks ... --aud ... explains each failure");
					sc_buf_free(&why);
				}
				sc_jwt_result_free(&res);
			}
			cJSON_Delete(j);
		}
		sc_http_response_free(&resp);
	}

	sc_report_mark(r);
	if (!o->upload_endpoint) {
		sc_report_add(r, "backend.upload", SC_CHECK_SKIP, "no upload endpoint: set --upload-endpoint URL to check it");
	} else {
		sc_http_response resp;
		sc_error err;
		const char *hdr[] = { "Content-Type: application/json", NULL };
		if (sc_http_request("POST", o->upload_endpoint, hdr, "{\"batch\":[]}", o->timeout_s, MAX_BODY, &resp, &err) != 0) {
			sc_report_add(r, "backend.upload", SC_CHECK_FAIL, "%s", err.message);
		} else if (resp.status >= 200 && resp.status <= 299) {
			sc_report_add(r, "backend.upload", SC_CHECK_OK, "an empty upload batch was accepted (HTTP %ld)", resp.status);
		} else {
			char *body = short_body(resp.body);
			sc_check *c = sc_report_add(r, "backend.upload", SC_CHECK_FAIL, "an empty upload batch got HTTP %ld: %s", resp.status, body);
			sc_check_set_hint(c, "the endpoint must accept POST {\"batch\": [...]} with op PUT, PATCH or DELETE");
			free(body);
		}
		sc_http_response_free(&resp);
	}
	sc_keyset_free(&ks);
}

void sc_auth_check(const sc_auth_opts *o, sc_report *r)
{
	sc_keyset ks;
	memset(&ks, 0, sizeof ks);
	bool have = false;
	if (o->jwks)
		have = jwks_check(o->jwks, o->timeout_s, "auth.jwks", r, &ks);
	else
		sc_report_add(r, "auth.jwks", SC_CHECK_SKIP, "no JWKS configured: set --jwks, SYNCCTL_JWKS or client_auth.jwks_uri");

	sc_report_mark(r);
	if (o->naud) {
		sc_buf a = SC_BUF_INIT;
		for (size_t i = 0; i < o->naud; i++)
			sc_buf_printf(&a, "%s%s", i ? ", " : "", o->aud[i]);
		sc_report_add(r, "auth.audience", SC_CHECK_OK, "accepted audience: %s", a.data);
		sc_buf_free(&a);
	} else {
		sc_check *c = sc_report_add(r, "auth.audience", o->jwks ? SC_CHECK_FAIL : SC_CHECK_SKIP,
					    "no audience configured: the service rejects every token (PSYNC_S2105)");
		sc_check_set_hint(c, "set client_auth.audience in the service config, and --aud or SYNCCTL_AUDIENCE here");
	}

	sc_report_mark(r);
	if (!o->key) {
		sc_report_add(r, "auth.roundtrip", SC_CHECK_SKIP, "no signing key: set --key or POWERSYNC_PRIVATE_KEY for a mint-and-verify round trip");
	} else if (!have || !o->naud) {
		sc_report_add(r, "auth.roundtrip", SC_CHECK_SKIP, "a round trip needs a usable JWKS and an audience");
	} else {
		sc_mint_opts mo;
		memset(&mo, 0, sizeof mo);
		mo.sub = "syncctl-doctor";
		mo.aud = o->aud;
		mo.naud = o->naud;
		mo.ttl = 300;
		sc_error err;
		long long now = (long long)time(NULL);
		cJSON *claims = sc_token_claims(&mo, now, &err);
		char *token = claims ? sc_jwt_sign(sc_key_default_alg(o->key), o->key, o->kid, claims, &err) : NULL;
		cJSON_Delete(claims);
		if (!token) {
			sc_report_add(r, "auth.roundtrip", SC_CHECK_FAIL, "cannot mint with the signing key: %s", err.message);
		} else {
			sc_verify_opts vo = { o->aud, o->naud, NULL, 60, 86400, now };
			sc_jwt_result res;
			sc_jwt_verify(token, strlen(token), &ks, &vo, &res);
			if (res.valid) {
				sc_report_add(r, "auth.roundtrip", SC_CHECK_OK, "a token minted with the signing key verifies against the JWKS (kid %s)",
					      res.kid ? res.kid : "-");
			} else {
				sc_check *c = sc_report_add(r, "auth.roundtrip", SC_CHECK_FAIL,
							    "a token minted with the signing key does not verify against the JWKS: %s",
							    res.nfailures ? res.failures[0].message : "?");
				sc_check_set_hint(c, "serve this key's public half in the JWKS (syncctl token jwks --key KEY) with the same kid");
			}
			sc_jwt_result_free(&res);
			free(token);
		}
	}
	sc_keyset_free(&ks);
}
