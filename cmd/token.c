/* syncctl token keygen|jwks|mint|verify|decode. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/jose.h"
#include "../lib/token.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct kv_list {
	sc_kv_arg *v;
	size_t n;
} kv_list;

typedef struct {
	const char *alg;
	long bits;
	const char *kid;
	const char *out;
	bool force;
	sc_list keys;
	const char *secret_file;
	const char *sub;
	sc_list aud;
	const char *iss;
	long ttl;
	kv_list claims, claims_json, params;
	bool allow_long_ttl;
	const char *jwks;
	long leeway;
	long max_lifetime;
	bool batch;
	long at;                /* -1: now */
	char *aud_from_config;  /* the comma list the configured aud entries point into */
} token_opts;

/* --claim K=V and friends: the key copied, the value in argv. */
static int kv_opt(sc_ctx *ctx, const sc_opt *o, const char *arg, void *target)
{
	kv_list *l = target;
	const char *eq = strchr(arg, '=');
	if (!eq || eq == arg)
		return sc_cli_usage_error(ctx, "--%s takes KEY=VALUE, not '%s'", o->name, arg);
	l->v = sc_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n].key = sc_xstrndup(arg, (size_t)(eq - arg));
	l->v[l->n].value = eq + 1;
	l->n++;
	return 0;
}

/* --ttl, --max-lifetime: whole seconds, as 300, 5m, 1h. */
static int whole_duration_opt(sc_ctx *ctx, const sc_opt *o, const char *arg, void *target)
{
	if (!sc_parse_whole_duration(arg, target))
		return sc_cli_usage_error(ctx, "--%s takes a duration such as 300, 5m, 1h, not '%s'", o->name, arg);
	return 0;
}

#define ALGS "RS256 RS384 RS512 ES256 ES384 ES512 EdDSA HS256 HS384 HS512"

static const sc_opt opts[] = {
	OPT_STRING(token_opts, "alg", 0, alg, "ALG", "keygen, mint: RS256 RS384 RS512 ES256 ES384 ES512 EdDSA (HS256/384/512 with --secret-file)", .values = ALGS,
		   .doc = "EdDSA is Ed25519. For *mint*, default: the key's own."),
	OPT_INT(token_opts, "bits", 0, bits, "N", 1, 16384, "keygen: RSA key size (default 2048)"),
	OPT_SETTING("kid", 0, SC_SET_KID, "KID", "key id (default: POWERSYNC_KEY_ID, else the RFC 7638 thumbprint)", .nonempty = true),
	OPT_FILE(token_opts, "out", 'o', out, "FILE", "keygen: where the private key goes (mode 0600)"),
	OPT_FLAG(token_opts, "force", 0, force, "keygen: overwrite --out"),
	OPT_LIST(token_opts, "key", 'k', keys, "FILE", "PEM key file (jwks: repeatable; mint: private; verify: public or private)", .file = true, .nonempty = true,
		 .doc = "Encrypted keys are refused with a hint. A private key file readable by group or others gets a warning."),
	OPT_FILE(token_opts, "secret-file", 0, secret_file, "FILE", "mint, verify: HS256/384/512 shared secret",
		 .doc = "The file's bytes, less a trailing newline."),
	OPT_STRING(token_opts, "sub", 0, sub, "USER", "mint: the user id (sub claim)", .nonempty = true),
	OPT_LIST(token_opts, "aud", 0, aud, "AUD", "mint: audience; verify: an accepted audience (repeatable; default SYNCCTL_AUDIENCE)"),
	OPT_STRING(token_opts, "iss", 0, iss, "ISS", "mint: issuer; verify: the issuer required"),
	OPT_CALL(token_opts, "ttl", 0, ttl, "DURATION", whole_duration_opt, "mint: lifetime, e.g. 300, 5m, 1h (default 5m; at most 24h)"),
	OPT_CALL(token_opts, "claim", 0, claims, "K=V", kv_opt, "mint: an extra string claim (repeatable)", .repeatable = true,
		 .doc = "sub, iat, exp, aud, iss and parameters have their own options."),
	OPT_CALL(token_opts, "claim-json", 0, claims_json, "K=JSON", kv_opt, "mint: an extra claim with a JSON value (repeatable)", .repeatable = true),
	OPT_CALL(token_opts, "param", 0, params, "K=V", kv_opt, "mint: a member of the parameters claim (repeatable)", .repeatable = true),
	OPT_FLAG(token_opts, "allow-long-ttl", 0, allow_long_ttl, "mint: allow a ttl over 24h (the sync service rejects such tokens)"),
	OPT_STRING(token_opts, "jwks", 0, jwks, "URL|FILE", "verify: the JWKS (default SYNCCTL_JWKS, the config's jwks_uri)", .file = true, .nonempty = true,
		   .doc = "Fetched within *--timeout*; read as the service reads a jwks_uri (oct keys skipped)."),
	OPT_INT(token_opts, "leeway", 0, leeway, "SECONDS", 0, 86400, "verify: clock tolerance for exp, nbf, iat (default 60)"),
	OPT_CALL(token_opts, "max-lifetime", 0, max_lifetime, "DURATION", whole_duration_opt, "verify: the longest exp - iat accepted (default 24h)"),
	OPT_FLAG(token_opts, "batch", 0, batch, "verify: one token a line on stdin, one JSON result a line; mint: one sub a line, one token a line"),
	OPT_INT(token_opts, "at", 0, at, "UNIXTIME", 0, 253402300799L, "verify, decode, mint: take this as the current time",
		.doc = "Check a token as of then, or mint one issued then."),
	OPT_END,
};

static void push(sc_list *l, char *s) { sc_list_push(l, s); }

/* No --aud: the configured audience (SYNCCTL_AUDIENCE, the env file, the
 * service config's client_auth.audience), a comma list. */
static void resolve_audience(sc_ctx *ctx, token_opts *o)
{
	if (o->aud.n)
		return;
	const char *a = sc_config_get(&ctx->cfg, SC_SET_AUDIENCE, NULL);
	if (!a)
		return;
	o->aud_from_config = sc_xstrdup(a);
	for (char *t = strtok(o->aud_from_config, ","); t; t = strtok(NULL, ","))
		push(&o->aud, t);
}

static long long now_of(const token_opts *o)
{
	return o->at >= 0 ? (long long)o->at : (long long)time(NULL);
}

/* A JWKS is the output in every format. */
static void print_json(sc_ctx *ctx, cJSON *o)
{
	char *s = cJSON_Print(o);
	char *line = sc_xasprintf("%s\n", s);
	bool quiet = ctx->quiet;
	ctx->quiet = false;
	sc_cli_data(ctx, cJSON_Duplicate(o, 1), line, 0);
	ctx->quiet = quiet;
	free(line);
	free(s);
}

static void warn_loose(sc_ctx *ctx, const char *path, bool loose)
{
	if (loose)
		sc_cli_warn(ctx, "%s is readable by group or others; chmod 600 %s", path, path);
}

/* Writes the PEM with mode 0600: a new file (O_EXCL), or with --force a
 * temporary beside it renamed over the old one. */
static int write_private(sc_ctx *ctx, const char *path, const char *pem, bool force)
{
	char *tmp = force ? sc_xasprintf("%s.tmp.%ld", path, (long)getpid()) : NULL;
	const char *target = tmp ? tmp : path;
	int fd = open(target, O_WRONLY | O_CREAT | O_EXCL, 0600);
	if (fd < 0) {
		if (errno == EEXIST && !force)
			sc_cli_error(ctx, "%s exists; refusing to overwrite a key without --force", path);
		else
			sc_cli_error(ctx, "cannot write %s: %s", path, strerror(errno));
		free(tmp);
		return errno == EEXIST ? SC_EXIT_USAGE : SC_EXIT_FAILED;
	}
	size_t len = strlen(pem);
	bool ok = write(fd, pem, len) == (ssize_t)len && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (ok && tmp)
		ok = rename(tmp, path) == 0;
	if (!ok) {
		sc_cli_error(ctx, "cannot write %s: %s", path, strerror(errno));
		unlink(target);
		free(tmp);
		return SC_EXIT_FAILED;
	}
	free(tmp);
	return 0;
}

static cJSON *jwks_of(sc_key *keys, size_t n)
{
	cJSON *doc = cJSON_CreateObject();
	cJSON *arr = cJSON_AddArrayToObject(doc, "keys");
	for (size_t i = 0; i < n; i++) {
		cJSON *j = sc_key_public_jwk(&keys[i]);
		if (j)
			cJSON_AddItemToArray(arr, j);
	}
	return doc;
}

static int do_keygen(sc_ctx *ctx, token_opts *o)
{
	sc_alg alg = o->alg ? sc_alg_from_name(o->alg) : SC_ALG_RS256;
	if (!alg || sc_alg_is_hmac(alg))
		return sc_cli_usage_error(ctx, "--alg for keygen is one of RS256 RS384 RS512 ES256 ES384 ES512 EdDSA");
	if (o->bits && alg != SC_ALG_RS256 && alg != SC_ALG_RS384 && alg != SC_ALG_RS512)
		return sc_cli_usage_error(ctx, "--bits goes with RSA algorithms only");
	sc_error err;
	sc_error_clear(&err);
	sc_key k;
	if (sc_key_generate(alg, (int)o->bits, &k, &err) != 0)
		return sc_cli_fail(ctx, &err);
	k.kid = o->kid ? sc_xstrdup(o->kid) : sc_key_thumbprint(&k);
	char *defpath = o->out ? NULL : sc_xasprintf("%s.pem", k.kid);
	const char *path = o->out ? o->out : defpath;
	if (!o->out && strpbrk(k.kid, "/\\")) {
		sc_key_free(&k);
		free(defpath);
		return sc_cli_usage_error(ctx, "the kid holds a '/': give --out FILE");
	}
	char *pem = sc_key_private_pem(&k);
	int rc = pem ? write_private(ctx, path, pem, o->force) : SC_EXIT_FAILED;
	if (pem) {
		memset(pem, 0, strlen(pem));
		free(pem);
	}
	if (rc == 0) {
		if (!ctx->quiet)
			fprintf(stderr, "syncctl token: private key written to %s (mode 0600); the public JWKS follows\n", path);
		cJSON *doc = jwks_of(&k, 1);
		print_json(ctx, doc);
		cJSON_Delete(doc);
	}
	free(defpath);
	sc_key_free(&k);
	return rc;
}

static int do_jwks(sc_ctx *ctx, token_opts *o)
{
	if (!o->keys.n)
		return sc_cli_usage_error(ctx, "token jwks needs at least one --key FILE");
	if (o->kid && o->keys.n > 1)
		return sc_cli_usage_error(ctx, "--kid names one key; with several, each gets its thumbprint");
	sc_key *keys = sc_xcalloc(o->keys.n, sizeof *keys);
	int rc = 0;
	size_t loaded = 0;
	for (size_t i = 0; i < o->keys.n; i++) {
		sc_error err;
		bool loose = false;
		if (sc_token_load_key_file(o->keys.v[i], &keys[i], &loose, &err) != 0) {
			rc = sc_cli_fail(ctx, &err);
			break;
		}
		loaded++;
		if (keys[i].has_private)
			warn_loose(ctx, o->keys.v[i], loose);
		keys[i].kid = o->kid ? sc_xstrdup(o->kid) : sc_key_thumbprint(&keys[i]);
	}
	if (rc == 0) {
		cJSON *doc = jwks_of(keys, loaded);
		print_json(ctx, doc);
		cJSON_Delete(doc);
	}
	for (size_t i = 0; i < loaded; i++)
		sc_key_free(&keys[i]);
	free(keys);
	return rc;
}

/* The signing key: --secret-file, --key, or POWERSYNC_PRIVATE_KEY. */
static int signing_key(sc_ctx *ctx, token_opts *o, sc_key *k)
{
	sc_error err;
	sc_error_clear(&err);
	bool loose = false;
	if (o->secret_file && o->keys.n)
		return sc_cli_usage_error(ctx, "give --key or --secret-file, not both");
	if (o->keys.n > 1)
		return sc_cli_usage_error(ctx, "mint signs with one --key");
	if (o->secret_file) {
		if (sc_token_load_secret_file(o->secret_file, k, &loose, &err) != 0)
			return sc_cli_fail(ctx, &err);
		warn_loose(ctx, o->secret_file, loose);
		return 0;
	}
	if (o->keys.n) {
		if (sc_token_load_key_file(o->keys.v[0], k, &loose, &err) != 0)
			return sc_cli_fail(ctx, &err);
		warn_loose(ctx, o->keys.v[0], loose);
		return 0;
	}
	const char *pem = sc_config_env(&ctx->cfg, "POWERSYNC_PRIVATE_KEY");
	if (!pem)
		return sc_cli_usage_error(ctx, "no signing key: give --key FILE, --secret-file FILE, or set POWERSYNC_PRIVATE_KEY");
	if (sc_token_key_from_text(pem, "POWERSYNC_PRIVATE_KEY", k, &err) != 0)
		return sc_cli_fail(ctx, &err);
	return 0;
}

static int do_mint(sc_ctx *ctx, token_opts *o)
{
	if (!o->sub && !o->batch)
		return sc_cli_usage_error(ctx, "token mint needs --sub USER");
	if (o->ttl > 86400 && !o->allow_long_ttl)
		return sc_cli_usage_error(ctx, "--ttl %lds is over 24h: the sync service rejects such tokens (PSYNC_S2104); add --allow-long-ttl to mint one anyway", o->ttl);
	sc_key k;
	memset(&k, 0, sizeof k);
	int rc = signing_key(ctx, o, &k);
	if (rc)
		return rc;
	sc_alg alg = o->alg ? sc_alg_from_name(o->alg) : sc_key_default_alg(&k);
	if (!alg) {
		sc_key_free(&k);
		return sc_cli_usage_error(ctx, "unknown --alg '%s'", o->alg);
	}
	if (!k.has_private) {
		sc_key_free(&k);
		return sc_cli_usage_error(ctx, "minting needs a private key; that is a public one");
	}
	/* The kid: --kid, POWERSYNC_KEY_ID, else the key's thumbprint (none
	 * for a shared secret). */
	const char *kidsrc = sc_config_get(&ctx->cfg, SC_SET_KID, NULL);
	char *kid = kidsrc ? sc_xstrdup(kidsrc) : strcmp(k.kty, "oct") == 0 ? NULL : sc_key_thumbprint(&k);
	resolve_audience(ctx, o);
	if (!o->aud.n)
		sc_cli_warn(ctx, "no --aud: the sync service rejects a token without an audience it accepts (PSYNC_S2105)");
	sc_mint_opts mo = { o->sub, o->aud.v, o->aud.n, o->iss, o->ttl, o->claims.v, o->claims.n, o->claims_json.v,
			    o->claims_json.n, o->params.v, o->params.n };
	const char *url = sc_config_get(&ctx->cfg, SC_SET_SERVICE, NULL);
	char *line = NULL;
	size_t cap = 0;
	for (;;) {
		if (o->batch) {
			ssize_t n = getline(&line, &cap, stdin);
			if (n < 0)
				break;
			while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			if (!n)
				continue;
			mo.sub = line;
		}
		sc_error err;
		sc_error_clear(&err);
		long long now = now_of(o);
		cJSON *claims = sc_token_claims(&mo, now, &err);
		char *token = claims ? sc_jwt_sign(alg, &k, kid, claims, &err) : NULL;
		cJSON_Delete(claims);
		if (!token) {
			rc = sc_cli_fail(ctx, &err);
			break;
		}
		if (!o->batch) {
			/* The answer of a backend's token endpoint, or the token alone. */
			char when[32];
			sc_format_time_utc(now + o->ttl, when);
			cJSON *j = cJSON_CreateObject();
			cJSON_AddStringToObject(j, "token", token);
			cJSON_AddStringToObject(j, "expires_at", when);
			cJSON_AddStringToObject(j, "user_id", mo.sub);
			if (url)
				cJSON_AddStringToObject(j, "powersync_url", url);
			else
				cJSON_AddNullToObject(j, "powersync_url");
			char *text = sc_xasprintf("%s\n", token);
			bool quiet = ctx->quiet;
			ctx->quiet = false;
			sc_cli_data(ctx, j, text, 0);
			ctx->quiet = quiet;
			free(text);
		} else {
			puts(token);
		}
		free(token);
		if (!o->batch)
			break;
	}
	free(line);
	free(kid);
	sc_key_free(&k);
	return rc;
}

/* Keys to verify with: --jwks (or the configured one), --key, --secret-file. */
static int verification_keys(sc_ctx *ctx, token_opts *o, sc_keyset *ks)
{
	memset(ks, 0, sizeof *ks);
	sc_error err;
	sc_error_clear(&err);
	const char *jwks = o->jwks;
	if (!jwks && !o->keys.n && !o->secret_file)
		jwks = sc_config_get(&ctx->cfg, SC_SET_JWKS, NULL);
	if (!jwks && !o->keys.n && !o->secret_file)
		return sc_cli_usage_error(ctx, "no keys: give --jwks URL|FILE, --key FILE or --secret-file FILE (or set SYNCCTL_JWKS)");
	if (jwks && sc_token_load_jwks(jwks, ctx->timeout, ks, &err) != 0)
		return sc_cli_fail(ctx, &err);
	for (size_t i = 0; i < o->keys.n; i++) {
		sc_key k;
		bool loose;
		if (sc_token_load_key_file(o->keys.v[i], &k, &loose, &err) != 0) {
			sc_keyset_free(ks);
			return sc_cli_fail(ctx, &err);
		}
		if (o->kid)
			k.kid = sc_xstrdup(o->kid);
		sc_keyset_add(ks, &k);
	}
	if (o->secret_file) {
		sc_key k;
		bool loose;
		if (sc_token_load_secret_file(o->secret_file, &k, &loose, &err) != 0) {
			sc_keyset_free(ks);
			return sc_cli_fail(ctx, &err);
		}
		if (o->kid)
			k.kid = sc_xstrdup(o->kid);
		sc_keyset_add(ks, &k);
	}
	if (ks->n == 0) {
		size_t skipped = ks->skipped;
		sc_keyset_free(ks);
		sc_error_set(&err, jwks && strncmp(jwks, "http", 4) == 0 ? SC_EXIT_FAILED : SC_EXIT_USAGE,
			     "the JWKS has no usable keys (%zu skipped: oct keys and keys not for signatures are ignored at a JWKS URI)",
			     skipped);
		return sc_cli_fail(ctx, &err);
	}
	return 0;
}

static char *read_token_arg(sc_ctx *ctx, int argc, char **argv, int first, size_t *len, int *rc)
{
	if (argc - first > 1) {
		*rc = sc_cli_usage_error(ctx, "one token at a time (or --batch with tokens on stdin)");
		return NULL;
	}
	if (first < argc && strcmp(argv[first], "-") != 0) {
		*len = strlen(argv[first]);
		return sc_xstrdup(argv[first]);
	}
	/* From stdin: the first line, whatever its size (the verifier bounds it). */
	char *line = NULL;
	size_t cap = 0;
	ssize_t n = getline(&line, &cap, stdin);
	if (n < 0) {
		free(line);
		*rc = sc_cli_usage_error(ctx, "no token given (argument, or on stdin)");
		return NULL;
	}
	while (n && (line[n - 1] == '\n' || line[n - 1] == '\r' || line[n - 1] == ' '))
		line[--n] = '\0';
	*len = (size_t)n;
	return line;
}

struct verdict {
	const sc_jwt_result *r;
	long long now;
};

static void verdict_text(sc_ctx *ctx, FILE *out, void *data)
{
	const sc_jwt_result *r = ((struct verdict *)data)->r;
	long long now = ((struct verdict *)data)->now;
	if (r->valid) {
		if (ctx->quiet)
			return;
		const cJSON *exp = cJSON_GetObjectItemCaseSensitive(r->claims, "exp");
		char when[32] = "?";
		if (cJSON_IsNumber(exp))
			sc_format_time_utc((long long)exp->valuedouble, when);
		fprintf(out, "valid: sub %s, kid %s, %s, expires %s (in %.0f s)\n",
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->claims, "sub")),
		       r->kid ? r->kid : "(key without kid)",
		       cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r->header, "alg")), when,
		       cJSON_IsNumber(exp) ? exp->valuedouble - (double)now : 0.0);
		return;
	}
	fprintf(out, "invalid: %zu problem%s\n", r->nfailures, r->nfailures == 1 ? "" : "s");
	for (size_t i = 0; i < r->nfailures; i++)
		fprintf(out, "  %s  %s\n", r->failures[i].code, r->failures[i].message);
}

static int do_verify(sc_ctx *ctx, token_opts *o, int argc, char **argv, int first)
{
	if (o->batch && first < argc)
		return sc_cli_usage_error(ctx, "--batch reads tokens from stdin, not arguments");
	sc_keyset ks;
	int rc = verification_keys(ctx, o, &ks);
	if (rc)
		return rc;
	resolve_audience(ctx, o);
	sc_verify_opts vo = { o->aud.v, o->aud.n, o->iss, o->leeway, o->max_lifetime, now_of(o) };
	if (o->batch) {
		char *line = NULL;
		size_t cap = 0;
		ssize_t n;
		long lineno = 0;
		bool all_valid = true;
		while ((n = getline(&line, &cap, stdin)) >= 0) {
			lineno++;
			while (n && (line[n - 1] == '\n' || line[n - 1] == '\r'))
				line[--n] = '\0';
			sc_jwt_result r;
			sc_jwt_verify(line, (size_t)n, &ks, &vo, &r);
			all_valid = all_valid && r.valid;
			/* One compact line per token: the verdict, not the claims. */
			sc_buf b = SC_BUF_INIT;
			sc_buf_printf(&b, "{\"line\":%ld,\"valid\":%s", lineno, r.valid ? "true" : "false");
			const char *sub = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(r.claims, "sub"));
			if (sub) {
				char *s = cJSON_PrintUnformatted(cJSON_GetObjectItemCaseSensitive(r.claims, "sub"));
				sc_buf_printf(&b, ",\"sub\":%s", s);
				free(s);
			}
			sc_buf_puts(&b, ",\"errors\":[");
			for (size_t i = 0; i < r.nfailures; i++) {
				cJSON *m = cJSON_CreateString(r.failures[i].message);
				char *ms = cJSON_PrintUnformatted(m);
				sc_buf_printf(&b, "%s{\"code\":\"%s\",\"message\":%s}", i ? "," : "", r.failures[i].code, ms);
				free(ms);
				cJSON_Delete(m);
			}
			sc_buf_puts(&b, "]}\n");
			fwrite(b.data, 1, b.len, stdout);
			sc_buf_free(&b);
			sc_jwt_result_free(&r);
		}
		free(line);
		rc = all_valid ? SC_EXIT_OK : SC_EXIT_PROBLEM;
	} else {
		size_t len = 0;
		char *token = read_token_arg(ctx, argc, argv, first, &len, &rc);
		if (token) {
			sc_jwt_result r;
			sc_jwt_verify(token, len, &ks, &vo, &r);
			struct verdict v = { &r, vo.now };
			sc_out out = { .json = sc_jwt_result_json(&r), .text = verdict_text, .data = &v,
				       .rc = r.valid ? SC_EXIT_OK : SC_EXIT_PROBLEM };
			rc = sc_cli_output(ctx, &out);
			sc_jwt_result_free(&r);
			free(token);
		}
	}
	sc_keyset_free(&ks);
	return rc;
}

/* The decoded token in text is the same JSON, marked unverified on stderr. */
static void decoded_text(sc_ctx *ctx, FILE *out, void *data)
{
	(void)ctx;
	fprintf(stderr, "syncctl token: UNVERIFIED: decoded without checking the signature (use token verify)\n");
	fprintf(out, "%s\n", (const char *)data);
}

static int do_decode(sc_ctx *ctx, token_opts *o, int argc, char **argv, int first)
{
	int rc = 0;
	size_t len = 0;
	char *token = read_token_arg(ctx, argc, argv, first, &len, &rc);
	if (!token)
		return rc;
	sc_error err;
	cJSON *header, *claims;
	if (sc_jwt_decode(token, len, &header, &claims, &err) != 0) {
		free(token);
		return sc_cli_fail(ctx, &err);
	}
	free(token);
	long long now = now_of(o);
	cJSON *doc = cJSON_CreateObject();
	cJSON_AddBoolToObject(doc, "verified", false);
	cJSON_AddItemToObject(doc, "header", header);
	cJSON_AddItemToObject(doc, "claims", claims);
	cJSON *times = cJSON_AddObjectToObject(doc, "times");
	static const char *names[] = { "iat", "nbf", "exp" };
	for (int i = 0; i < 3; i++) {
		const cJSON *t = cJSON_GetObjectItemCaseSensitive(claims, names[i]);
		if (cJSON_IsNumber(t)) {
			char buf[32];
			sc_format_time_utc((long long)t->valuedouble, buf);
			cJSON_AddStringToObject(times, names[i], buf);
		}
	}
	const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
	if (cJSON_IsNumber(exp))
		cJSON_AddNumberToObject(doc, "expires_in", exp->valuedouble - (double)now);
	else
		cJSON_AddNullToObject(doc, "expires_in");
	char *pretty = cJSON_Print(doc);
	sc_out out = { .json = doc, .text = decoded_text, .data = pretty, .rc = SC_EXIT_OK };
	rc = sc_cli_output(ctx, &out);
	free(pretty);
	return rc;
}

static void free_opts(token_opts *o)
{
	kv_list *lists[] = { &o->claims, &o->claims_json, &o->params };
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < lists[k]->n; i++)
			free((char *)lists[k]->v[i].key);
		free(lists[k]->v);
	}
	sc_list_free(&o->keys);
	sc_list_free(&o->aud);
	free(o->aud_from_config);
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	token_opts o;
	memset(&o, 0, sizeof o);
	o.ttl = 300;
	o.leeway = 60;
	o.max_lifetime = 86400;
	o.at = -1;
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc)) {
		free_opts(&o);
		return rc;
	}
	o.kid = ctx->cfg.flag[SC_SET_KID];
	const char *sub = first < argc ? argv[first] : NULL;
	if (!sub) {
		rc = sc_cli_usage_error(ctx, "which one? keygen, jwks, mint, verify or decode");
	} else if ((rc = sc_ctx_load_config(ctx)) != 0) {
		/* reported */
	} else if (strcmp(sub, "keygen") == 0 || strcmp(sub, "jwks") == 0 || strcmp(sub, "mint") == 0) {
		if (argc - first > 1)
			rc = sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first + 1]);
		else if (strcmp(sub, "keygen") == 0)
			rc = do_keygen(ctx, &o);
		else if (strcmp(sub, "jwks") == 0)
			rc = do_jwks(ctx, &o);
		else
			rc = do_mint(ctx, &o);
	} else if (strcmp(sub, "verify") == 0) {
		rc = do_verify(ctx, &o, argc, argv, first + 1);
	} else if (strcmp(sub, "decode") == 0) {
		rc = do_decode(ctx, &o, argc, argv, first + 1);
	} else {
		rc = sc_cli_usage_error(ctx, "unknown subcommand '%s' (keygen, jwks, mint, verify, decode)", sub);
	}
	free_opts(&o);
	return rc;
}

static const char *const usage[] = {
	"token keygen [--alg ALG] [--bits N] [--kid KID] [--out FILE] [--force]",
	"token jwks --key FILE [--key FILE]... [--kid KID]",
	"token mint --sub USER --aud AUD [--aud AUD].. [--iss ISS] [--ttl DURATION]",
	"           [--claim K=V].. [--claim-json K=JSON].. [--param K=V].. [--key FILE|--secret-file FILE]",
	"token verify [TOKEN|-] (--jwks URL|FILE | --key FILE | --secret-file FILE) [--aud AUD]..",
	"             [--iss ISS] [--leeway SECONDS] [--max-lifetime DURATION] [--batch]",
	"token decode [TOKEN|-]",
	NULL,
};

const sc_cmd cmd_token = {
	.name = "token",
	.summary = "JWTs for the sync service: keygen, jwks, mint, verify, decode",
	.usage = usage,
	.description =
		"keygen writes a private key (PEM, mode 0600) and prints its public JWKS; jwks\n"
		"prints the JWKS of PEM keys, for /.well-known/jwks.json and key rotation; mint\n"
		"signs a token the sync service accepts; verify checks a token as the service\n"
		"does (kid, pinned algorithm, signature, exp/nbf/iat with leeway, aud, iss,\n"
		"lifetime, sub, parameters) and lists every failure with the service's code;\n"
		"decode shows header and claims, unverified.",
	.subcommands = "keygen jwks mint verify decode",
	.opts = opts,
	.formats = SC_FMT_TEXT_JSON,
	.run = run,
};
