/* The sync service and the app backend over HTTP: probes, the admin
 * diagnostics, a real /sync/stream with a minted token; the backend's
 * JWKS, token and upload endpoints; the auth chain. */
#ifndef SC_SERVICE_H
#define SC_SERVICE_H

#include <stdbool.h>
#include <stddef.h>

#include "http.h"
#include "jose.h"
#include "report.h"
#include "settings.h"

typedef struct sc_service_opts {
	const char *url;             /* http://localhost:8080 */
	const char *api_token;       /* admin API token, or NULL */
	const sc_key *key;           /* signing key for the stream probe, or NULL */
	const char *kid;
	char *const *aud;
	size_t naud;
	int timeout_s;
	const char *key_error;       /* why the configured key cannot be used, or NULL */
} sc_service_opts;

/* service.probe.startup|readiness|liveness; service.diagnostics and what
 * the diagnostics say: service.connection.ID, service.sync_rules (the
 * active rules), service.replication.SLOT, service.wal_budget.SLOT,
 * service.table.SCHEMA.TABLE, service.error.PSYNC_Sxxxx,
 * service.replication_error, service.lag, and the same under
 * service.deploying for rules being deployed; service.stream. Ids come
 * from names and codes, never from positions in a list. */
void sc_service_check(const sc_service_opts *o, sc_report *r);

/* What sc_service_check makes of each answer, without HTTP (the HTTP path
 * calls these; the fuzzer and tests feed them answers directly): a probe's
 * (0 startup, 1 readiness, 2 liveness: service.probe.NAME), the
 * diagnostics' (service.diagnostics and what they say; returns whether
 * sync rules are being deployed), the /sync/stream's (service.stream; only
 * its status and error body are read: a 200 stream is not). */
void sc_service_probe_answer(int probe, const sc_http_response *resp, sc_report *r);
bool sc_service_diagnostics_answer(const sc_http_response *resp, sc_report *r);
void sc_service_stream_answer(const sc_http_response *resp, bool deploying, sc_report *r);

typedef struct sc_backend_opts {
	const char *jwks;            /* URL or file, or NULL */
	const char *token_endpoint;  /* URL, or NULL */
	const char *upload_endpoint; /* URL, or NULL */
	char *const *aud;
	size_t naud;
	int timeout_s;
	/* Credentials for the upload endpoint, sent as the app's connector
	 * sends them (Authorization: Bearer): a given token, else one minted
	 * with this key (asymmetric or an HS secret). */
	const char *upload_token;
	const sc_key *key;
	const char *kid;
	const char *key_error;
} sc_backend_opts;

/* backend.jwks, backend.token (its token verifies as the service would
 * verify it; powersync_url or endpoint is a usable URL), backend.upload. */
void sc_backend_check(const sc_backend_opts *o, sc_report *r);

typedef struct sc_auth_opts {
	const sc_jwks_source *jwks;  /* every JWKS the service would use */
	size_t njwks;
	const sc_key *key;
	const char *kid;
	char *const *aud;
	size_t naud;
	int timeout_s;
	const char *key_error;
} sc_auth_opts;

/* auth.jwks (and auth.jwks.HOST, .inline, .supabase for more sources: each
 * as the service would use it, a blocked address refused as it refuses
 * it), auth.audience, auth.roundtrip (against all their keys at once, as
 * the service's KeyStore verifies). */
void sc_auth_check(const sc_auth_opts *o, sc_report *r);

#endif
