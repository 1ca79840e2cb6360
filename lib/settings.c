#include "settings.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

#include "buf.h"
#include "netaddr.h"
#include "token.h"
#include "util.h"

static void warn(sc_settings *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void warn(sc_settings *s, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	s->warnings = sc_xrealloc(s->warnings, (s->nwarnings + 1) * sizeof *s->warnings);
	s->warnings[s->nwarnings++] = sc_xstrdup(msg);
}

static bool file_is_loose(const char *path)
{
	struct stat st;
	return stat(path, &st) == 0 && (st.st_mode & 077);
}

/* A token kept in a file: trailing newlines dropped, a loose mode warned. */
static char *read_token_file(sc_settings *s, const char *path, const char *what, sc_error *err)
{
	size_t len;
	char *t = sc_read_file(path, 16384, &len, what, err);
	if (!t)
		return NULL;
	while (len && (t[len - 1] == '\n' || t[len - 1] == '\r'))
		t[--len] = '\0';
	if (file_is_loose(path))
		warn(s, "%s is readable by group or others; chmod 600 %s", path, path);
	return t;
}

/* The first HS (oct) key of the service config's inline client_auth.jwks. */
static bool config_hs_key(sc_config *c, sc_key *out)
{
	if (!c->ps_jwks_json)
		return false;
	sc_keyset ks;
	sc_error err;
	memset(&ks, 0, sizeof ks);
	if (sc_keyset_from_jwks(c->ps_jwks_json, strlen(c->ps_jwks_json), false, "client_auth.jwks", &ks, &err) != 0)
		return false;
	bool found = false;
	for (size_t i = 0; i < ks.n && !found; i++) {
		if (strcmp(ks.keys[i].kty, "oct") != 0)
			continue;
		*out = ks.keys[i];
		memset(&ks.keys[i], 0, sizeof ks.keys[i]);
		found = true;
	}
	sc_keyset_free(&ks);
	return found;
}

static void add_jwks(sc_settings *s, const char *id, const char *where, const char *json, const char *origin, bool supabase)
{
	s->jwks = sc_xrealloc(s->jwks, (s->njwks + 1) * sizeof *s->jwks);
	sc_jwks_source *j = &s->jwks[s->njwks++];
	memset(j, 0, sizeof *j);
	j->id = sc_xstrdup(id);
	j->where = where ? sc_xstrdup(where) : NULL;
	j->json = json ? sc_xstrdup(json) : NULL;
	j->origin = sc_xstrdup(origin);
	j->supabase = supabase;
}

/* The host of an http(s) URL, for a check id. */
static char *url_host(const char *url)
{
	const char *p = strstr(url, "://");
	p = p ? p + 3 : url;
	const char *at = strchr(p, '@');
	const char *end = p + strcspn(p, "/?#");
	if (at && at < end)
		p = at + 1;
	size_t n = (size_t)(end - p);
	if (*p == '[') {
		const char *close = memchr(p, ']', n);
		return close ? sc_xstrndup(p + 1, (size_t)(close - p - 1)) : sc_xstrndup(p, n);
	}
	return sc_xstrndup(p, strcspn(p, ":/?#"));
}

/* Whether the service would refuse this URI's address (block_local_jwks,
 * jwks_reject_ip_ranges: libs/lib-services/src/ip/lookup.ts). A name is
 * judged by the service where it resolves it: said, not guessed here. */
static void judge_address(sc_config *c, sc_jwks_source *j)
{
	if (!j->where || !sc_is_http_url(j->where) || !c->ps_nreject)
		return;
	char *host = url_host(j->where);
	bool is_ip = false;
	sc_error err;
	sc_error_clear(&err);
	j->refused = sc_ip_refusal(host, c->ps_reject_ranges, c->ps_nreject, c->ps_reject_ipv6, &is_ip, &err);
	/* A dotless name (a compose service, localhost) resolves to a private
	 * or loopback address wherever the service runs beside it. */
	j->named_host = !is_ip && (c->ps_reject_ipv6 || c->ps_nreject) && !strchr(host, '.');
	bool local = false;
	for (size_t i = 0; i < c->ps_nreject; i++)
		local = local || strcmp(c->ps_reject_ranges[i], "local") == 0;
	j->named_host = j->named_host && local;
	free(host);
}

static void resolve_jwks(sc_config *c, sc_settings *s)
{
	const char *origin = NULL;
	const char *first = sc_config_get(c, SC_SET_JWKS, &origin);
	if (first)
		add_jwks(s, "auth.jwks", first, NULL, origin, false);
	/* The other jwks_uri entries of the service config, when it is the
	 * config that names the JWKS: the service checks every one. */
	bool from_config = first && !c->flag[SC_SET_JWKS] && c->ps[SC_SET_JWKS] && strcmp(first, c->ps[SC_SET_JWKS]) == 0;
	if (from_config || !first) {
		for (size_t i = from_config ? 1 : 0; i < c->ps_njwks_uris; i++) {
			char *host = url_host(c->ps_jwks_uris[i]);
			char *id = sc_xasprintf("auth.jwks.%s", host);
			for (char *p = id + 10; *p; p++)
				if (!(isalnum((unsigned char)*p) || *p == '-' || *p == '.' || *p == '_'))
					*p = '_';
			char *o = sc_xasprintf("client_auth.jwks_uri[%zu]", i);
			add_jwks(s, s->njwks ? id : "auth.jwks", c->ps_jwks_uris[i], NULL, o, false);
			free(o);
			free(id);
			free(host);
		}
	}
	if (c->ps_jwks_json)
		add_jwks(s, "auth.jwks.inline", NULL, c->ps_jwks_json, "client_auth.jwks", false);
	if (c->ps_supabase_jwks)
		add_jwks(s, "auth.jwks.supabase", c->ps_supabase_jwks, NULL,
			 "client_auth.supabase (from the source's db.<ref>.supabase.co host)", true);
	if (c->ps_supabase_secret) {
		/* StaticSupabaseKeyCollector: HS256, k = the secret's own bytes, no kid. */
		char *k = sc_b64url_encode(c->ps_supabase_secret, strlen(c->ps_supabase_secret));
		char *doc = sc_xasprintf("{\"keys\":[{\"kty\":\"oct\",\"alg\":\"HS256\",\"k\":\"%s\"}]}", k);
		add_jwks(s, "auth.jwks.supabase_secret", NULL, doc, "client_auth.supabase_jwt_secret", true);
		memset(doc, 0, strlen(doc));
		memset(k, 0, strlen(k));
		free(doc);
		free(k);
	}
	for (size_t i = 0; i < s->njwks; i++)
		judge_address(c, &s->jwks[i]);
}

static void resolve_key(sc_config *c, sc_settings *s)
{
	sc_key k;
	bool loose = false;
	sc_error err;
	sc_error_clear(&err);
	int rc = 1;
	if (s->key_file && s->secret_file) {
		s->key_error = sc_xstrdup("--key and --secret-file both name a signing key; give one");
		return;
	}
	if (s->key_file) {
		rc = sc_token_load_key_file(s->key_file, &k, &loose, &err);
		s->key_origin = "--key";
		if (rc == 0 && loose && k.has_private)
			warn(s, "%s is readable by group or others; chmod 600 %s", s->key_file, s->key_file);
	} else if (s->secret_file) {
		rc = sc_token_load_secret_file(s->secret_file, &k, &loose, &err);
		s->key_origin = "--secret-file";
		if (rc == 0 && loose)
			warn(s, "%s is readable by group or others; chmod 600 %s", s->secret_file, s->secret_file);
	} else if (sc_config_env(c, "POWERSYNC_PRIVATE_KEY")) {
		rc = sc_token_key_from_text(sc_config_env(c, "POWERSYNC_PRIVATE_KEY"), "POWERSYNC_PRIVATE_KEY", &k, &err);
		s->key_origin = "POWERSYNC_PRIVATE_KEY";
	} else if (config_hs_key(c, &k)) {
		rc = 0;
		s->key_origin = "an HS key of client_auth.jwks in the service config";
	} else {
		return;
	}
	if (rc != 0) {
		s->key_error = sc_xstrdup(err.message);
		return;
	}
	if (!k.has_private) {
		sc_key_free(&k);
		s->key_error = sc_xasprintf("the signing key from %s is a public key: minting needs the private key", s->key_origin);
		return;
	}
	if (!s->kid && k.kid)
		s->kid = sc_xstrdup(k.kid);
	if (!s->kid)
		s->kid = sc_key_thumbprint(&k);
	s->key = sc_xmalloc(sizeof *s->key);
	*s->key = k;
}

int sc_settings_resolve(sc_config *c, sc_settings *s, sc_error *err)
{
	s->db = sc_config_get(c, SC_SET_DB, &s->db_origin);
	s->db_origin = s->db ? sc_xstrdup(s->db_origin) : NULL;
	if (!s->db) {
		s->db_blocked = sc_config_blocked(c, SC_SET_DB);
		if (!s->db_blocked && c->ps_source_type && strcmp(c->ps_source_type, "postgresql") != 0)
			s->db_skip = c->ps_source_type;
		if (!s->db_blocked && !s->db_skip && (getenv("PGHOST") || getenv("PGDATABASE")))
			s->db = "";
	} else {
		s->db_sslmode_default = c->ps_sslmode_default && c->ps[SC_SET_DB] && strcmp(s->db, c->ps[SC_SET_DB]) == 0;
	}
	s->storage = sc_config_get(c, SC_SET_STORAGE, NULL);
	s->storage_type = s->storage && c->flag[SC_SET_STORAGE] ? NULL : c->ps_storage_type;
	if (!s->storage)
		s->storage_blocked = sc_config_blocked(c, SC_SET_STORAGE);
	const char *so = NULL;
	s->service = sc_config_get(c, SC_SET_SERVICE, &so);
	s->service_origin = s->service ? sc_xstrdup(so) : NULL;
	s->rules = sc_config_get(c, SC_SET_RULES, NULL);
	s->rules_content = s->rules ? NULL : c->ps_rules_content;
	if (!s->rules && !s->rules_content)
		s->rules_blocked = sc_config_blocked(c, SC_SET_RULES);
	const char *kid = sc_config_get(c, SC_SET_KID, NULL);
	s->kid = kid ? sc_xstrdup(kid) : NULL;
	const char *aud = sc_config_get(c, SC_SET_AUDIENCE, NULL);
	if (aud) {
		char *copy = sc_xstrdup(aud), *save = NULL;
		for (char *t = strtok_r(copy, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
			s->aud = sc_xrealloc(s->aud, (s->naud + 1) * sizeof *s->aud);
			s->aud[s->naud++] = sc_xstrdup(t);
		}
		free(copy);
	}
	resolve_jwks(c, s);
	if (s->api_token_file) {
		if (!(s->api_token = read_token_file(s, s->api_token_file, "API token file", err)))
			return -1;
	} else {
		const char *t = sc_config_env(c, "POWERSYNC_API_TOKEN");
		if (!t)
			t = c->ps_api_token;
		s->api_token = t ? sc_xstrdup(t) : NULL;
	}
	if (s->upload_token_file && !(s->upload_token = read_token_file(s, s->upload_token_file, "upload token file", err)))
		return -1;
	resolve_key(c, s);
	return 0;
}

static void free_secret(char *p)
{
	if (p) {
		memset(p, 0, strlen(p));
		free(p);
	}
}

void sc_settings_free(sc_settings *s)
{
	free((char *)s->db_origin);
	free((char *)s->service_origin);
	free_secret(s->api_token);
	free_secret(s->upload_token);
	for (size_t i = 0; i < s->njwks; i++) {
		free(s->jwks[i].id);
		free(s->jwks[i].where);
		free_secret(s->jwks[i].json);
		free(s->jwks[i].origin);
		free(s->jwks[i].refused);
	}
	free(s->jwks);
	if (s->key) {
		sc_key_free(s->key);
		free(s->key);
	}
	free(s->key_error);
	free(s->kid);
	for (size_t i = 0; i < s->naud; i++)
		free(s->aud[i]);
	free(s->aud);
	for (size_t i = 0; i < s->nwarnings; i++)
		free(s->warnings[i]);
	free(s->warnings);
	s->jwks = NULL;
	s->aud = NULL;
	s->warnings = NULL;
}

static void setting(cJSON *o, const char *name, const char *value, const char *origin)
{
	cJSON *e = cJSON_AddObjectToObject(o, name);
	if (value)
		cJSON_AddStringToObject(e, "value", value);
	else
		cJSON_AddNullToObject(e, "value");
	cJSON_AddStringToObject(e, "origin", origin ? origin : "default");
}

cJSON *sc_settings_json(sc_config *c, const sc_settings *s)
{
	cJSON *o = cJSON_CreateObject();
	if (c->ps_path)
		setting(o, "powersync_config", c->ps_path,
			c->ps_discovered ? "discovered: ./powersync/service.yaml" : getenv("POWERSYNC_CONFIG_PATH") && !strcmp(getenv("POWERSYNC_CONFIG_PATH"), c->ps_path) ? "POWERSYNC_CONFIG_PATH" : "--powersync-config");
	if (s->db) {
		bool from_config = c->ps[SC_SET_DB] && strcmp(s->db, c->ps[SC_SET_DB]) == 0;
		char *shown = from_config && c->ps_source_shown ? sc_xstrdup(c->ps_source_shown) : sc_redact_secrets(*s->db ? s->db : "(libpq's PG* variables)");
		setting(o, "db", shown, s->db_origin);
		free(shown);
		if (from_config && c->ps_sslmode)
			setting(o, "sslmode", c->ps_sslmode, c->ps_sslmode_default ? "default of the service (the config sets none)" : "replication.connections[0].sslmode");
	} else if (s->db_blocked || s->db_skip) {
		cJSON *e = cJSON_AddObjectToObject(o, "db");
		cJSON_AddNullToObject(e, "value");
		cJSON_AddStringToObject(e, "origin", "powersync config (replication.connections[0])");
		cJSON_AddStringToObject(e, s->db_blocked ? "blocked" : "skipped", s->db_blocked ? s->db_blocked : s->db_skip);
	}
	if (c->ps_source_type)
		setting(o, "source_type", c->ps_source_type, "replication.connections[0].type");
	if (s->storage) {
		const char *origin = NULL;
		sc_config_get(c, SC_SET_STORAGE, &origin);
		bool from_config = c->ps[SC_SET_STORAGE] && strcmp(s->storage, c->ps[SC_SET_STORAGE]) == 0;
		char *shown = from_config && c->ps_storage_shown ? sc_xstrdup(c->ps_storage_shown) : sc_redact_secrets(s->storage);
		setting(o, "storage", shown, origin);
		free(shown);
		if (s->storage_type)
			setting(o, "storage_type", s->storage_type, "storage.type");
	} else if (s->storage_blocked) {
		cJSON *e = cJSON_AddObjectToObject(o, "storage");
		cJSON_AddNullToObject(e, "value");
		cJSON_AddStringToObject(e, "origin", "powersync config (storage)");
		cJSON_AddStringToObject(e, "blocked", s->storage_blocked);
	}
	if (s->service)
		setting(o, "service", s->service, s->service_origin);
	if (s->api_token) {
		const char *origin = s->api_token_file ? "--api-token-file" : sc_config_env(c, "POWERSYNC_API_TOKEN") ? "POWERSYNC_API_TOKEN" : "api.tokens[0]";
		setting(o, "api_token", "***", origin);
	}
	if (s->njwks) {
		cJSON *arr = cJSON_AddArrayToObject(o, "jwks");
		for (size_t i = 0; i < s->njwks; i++) {
			cJSON *e = cJSON_CreateObject();
			cJSON_AddStringToObject(e, "check", s->jwks[i].id);
			if (s->jwks[i].where) {
				char *shown = sc_redact_secrets(s->jwks[i].where);
				cJSON_AddStringToObject(e, "value", shown);
				free(shown);
			} else {
				cJSON_AddStringToObject(e, "value", "(inline keys)");
			}
			cJSON_AddStringToObject(e, "origin", s->jwks[i].origin);
			cJSON_AddItemToArray(arr, e);
		}
	}
	if (s->naud) {
		sc_buf b = SC_BUF_INIT;
		for (size_t i = 0; i < s->naud; i++)
			sc_buf_printf(&b, "%s%s", i ? "," : "", s->aud[i]);
		const char *origin = NULL;
		sc_config_get(c, SC_SET_AUDIENCE, &origin);
		setting(o, "audience", b.data, origin);
		sc_buf_free(&b);
	}
	if (s->key || s->key_error) {
		cJSON *e = cJSON_AddObjectToObject(o, "signing_key");
		cJSON_AddStringToObject(e, "value", s->key ? s->key->kty : "unusable");
		cJSON_AddStringToObject(e, "origin", s->key_origin ? s->key_origin : "?");
		if (s->key_error)
			cJSON_AddStringToObject(e, "error", s->key_error);
		if (s->kid)
			cJSON_AddStringToObject(e, "kid", s->kid);
	}
	if (s->rules || s->rules_content) {
		const char *origin = NULL;
		if (s->rules)
			sc_config_get(c, SC_SET_RULES, &origin);
		setting(o, "rules", s->rules ? s->rules : "(inline sync_config.content)", s->rules ? origin : "sync_config.content");
	} else if (s->rules_blocked) {
		cJSON *e = cJSON_AddObjectToObject(o, "rules");
		cJSON_AddNullToObject(e, "value");
		cJSON_AddStringToObject(e, "origin", "powersync config");
		cJSON_AddStringToObject(e, "blocked", s->rules_blocked);
	}
	return o;
}
