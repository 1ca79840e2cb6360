/* syncctl service: the sync service over HTTP (probes, diagnostics, a real
 * sync stream) and the app backend's endpoints. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "../lib/service.h"
#include "cli.h"

static const sc_opt opts[] = {
	{ "service", 0, required_argument, "URL", "the sync service (default: POWERSYNC_URL, the service config's port)", OPT_SERVICE, NULL },
	{ "api-token-file", 0, required_argument, "FILE", "the admin API token (default: POWERSYNC_API_TOKEN)", OPT_API_TOKEN_FILE, "file" },
	{ "key", 'k', required_argument, "FILE", "a private signing key for the stream probe (default: POWERSYNC_PRIVATE_KEY, else an HS key of client_auth.jwks)", OPT_KEY, "file" },
	{ "secret-file", 0, required_argument, "FILE", "an HS256 shared secret to mint test tokens with, instead of --key", OPT_SECRET_FILE, "file" },
	{ "kid", 0, required_argument, "KID", "its key id (default: POWERSYNC_KEY_ID, else its thumbprint)", OPT_KID, NULL },
	{ "aud", 0, required_argument, "AUD", "the audience to mint for (repeatable; default: SYNCCTL_AUDIENCE)", OPT_AUD, NULL },
	{ "jwks", 0, required_argument, "URL|FILE", "the backend's JWKS (default: SYNCCTL_JWKS, client_auth.jwks_uri)", OPT_JWKS, "file" },
	{ "token-endpoint", 0, required_argument, "URL", "the backend's token endpoint", OPT_TOKEN_ENDPOINT, NULL },
	{ "upload-endpoint", 0, required_argument, "URL", "the backend's upload endpoint", OPT_UPLOAD_ENDPOINT, NULL },
	{ "upload-token-file", 0, required_argument, "FILE", "a token the upload endpoint accepts (default: one minted with the signing key)", OPT_UPLOAD_TOKEN_FILE, "file" },
	{ 0 },
};

static int on_opt(sc_ctx *ctx, int id, const char *arg, void *data)
{
	return sc_settings_opt(ctx, data, id == 'k' ? OPT_KEY : id, arg);
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	sc_settings s;
	memset(&s, 0, sizeof s);
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, on_opt, &s, &first, &rc))
		return rc;
	if (first < argc)
		return sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
	if ((rc = sc_ctx_load_config(ctx)) != 0 || (rc = sc_cli_settings(ctx, &s)) != 0) {
		sc_settings_free(&s);
		return rc;
	}
	if (!s.service) {
		sc_settings_free(&s);
		return sc_cli_usage_error(ctx, "no sync service URL: give --service URL, POWERSYNC_URL or --powersync-config");
	}
	sc_report r;
	sc_report_init(&r);
	sc_service_opts so = { s.service, s.api_token, s.key, s.kid, s.aud, s.naud, ctx->timeout, s.key_error };
	sc_service_check(&so, &r);
	const char *jwks_url = s.njwks && sc_is_http_url(s.jwks[0].where) && !s.jwks[0].refused ? s.jwks[0].where : NULL;
	if (jwks_url || s.token_endpoint || s.upload_endpoint) {
		sc_backend_opts bo = { jwks_url, s.token_endpoint, s.upload_endpoint, s.aud, s.naud, ctx->timeout,
				       s.upload_token, s.key, s.kid, s.key_error };
		sc_backend_check(&bo, &r);
	}
	cJSON_AddItemToObject(r.extra, "settings", sc_settings_json(&ctx->cfg, &s));
	rc = sc_cli_print_report(ctx, &r, NULL);
	sc_report_free(&r);
	sc_settings_free(&s);
	return rc;
}

static const char *const usage[] = {
	"service [--service URL] [--api-token-file F] [--key FILE|--secret-file F --aud AUD] [--jwks URL]",
	"        [--token-endpoint URL] [--upload-endpoint URL [--upload-token-file F]] [--json]",
	NULL,
};

const sc_cmd cmd_service = {
	.name = "service",
	.summary = "the sync service over HTTP: probes, diagnostics, a real sync stream; the backend",
	.usage = usage,
	.description =
		"Checks the sync service: its startup, readiness and liveness probes (with\n"
		"response times); with an admin API token, its diagnostics (connection errors,\n"
		"sync rules errors and warnings, replication lag); with a signing key and an\n"
		"audience, a real /sync/stream with a freshly minted token (a 401 is explained\n"
		"from its PSYNC_S21xx code). With the backend's JWKS URL, token and upload\n"
		"endpoints, checks those too.",
	.opts = opts,
	.reports = true,
	.run = run,
};
