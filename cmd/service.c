/* syncctl service: the sync service over HTTP (probes, diagnostics, a real
 * sync stream) and the app backend's endpoints. */
#include <stdio.h>
#include <string.h>

#include "../lib/service.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct {
	sc_settings s;
} service_opts;

static const sc_opt opts[] = {
	SETTINGS_OPT_SERVICE,
	OPT_FILE(service_opts, "api-token-file", 0, s.api_token_file, "FILE", "the admin API token (default: POWERSYNC_API_TOKEN, api.tokens in the service config)"),
	OPT_FILE(service_opts, "key", 'k', s.key_file, "FILE", "a private signing key for the stream probe (default: POWERSYNC_PRIVATE_KEY, else an HS key of client_auth.jwks)"),
	OPT_FILE(service_opts, "secret-file", 0, s.secret_file, "FILE", "an HS256 shared secret to mint test tokens with, instead of --key"),
	SETTINGS_OPT_KID,
	OPT_SETTING("aud", 0, SC_SET_AUDIENCE, "AUD", "the audience to mint for (repeatable; default: SYNCCTL_AUDIENCE)", .repeatable = true),
	SETTINGS_OPT_JWKS,
	OPT_STRING(service_opts, "token-endpoint", 0, s.token_endpoint, "URL", "the backend's token endpoint"),
	OPT_STRING(service_opts, "upload-endpoint", 0, s.upload_endpoint, "URL", "the backend's upload endpoint"),
	OPT_FILE(service_opts, "upload-token-file", 0, s.upload_token_file, "FILE", "a token the upload endpoint accepts (default: one minted with the signing key)"),
	OPT_END,
};

static int run(sc_ctx *ctx, int argc, char **argv)
{
	service_opts o;
	memset(&o, 0, sizeof o);
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc))
		return rc;
	sc_settings s = o.s;
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
	"        [--token-endpoint URL] [--upload-endpoint URL [--upload-token-file F]] [--format FORMAT]",
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
	.formats = SC_FMT_ALL,
	.run = run,
};
