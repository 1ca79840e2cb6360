#!/usr/bin/env bats
# syncctl service (and doctor's service and backend groups) against
# tests/lib/fake_stack.py, which answers as powersync-service 1.25's own
# routes do (files cited there; its diagnostics are decoded with the real
# @powersync/service-types codecs in 83-service-types.bats).

load helpers

setup_file() {
	export K=$BATS_FILE_TMPDIR
	"$SYNCCTL" token keygen --alg ES256 --kid k1 --out "$K/k1.pem" >"$K/jwks.json" 2>/dev/null
	"$SYNCCTL" token keygen --alg ES256 --kid other --out "$K/other.pem" >/dev/null 2>&1
	"$SYNCCTL" token keygen --alg RS256 --kid k1 --out "$K/rs-k1.pem" >/dev/null 2>&1
	printf 'admin-token\n' >"$K/api-token"
	printf 'hs-upload-secret\n' >"$K/hs-secret"
	printf 'another-secret\n' >"$K/wrong-secret"
	chmod 600 "$K/api-token" "$K/hs-secret" "$K/wrong-secret"
}

setup() {
	W=$BATS_TEST_TMPDIR
	SPID=
}

teardown() {
	[ -z "$SPID" ] || stop_server
}

svc() { sc service --service "http://127.0.0.1:$PORT" "$@" --json; }

# The backend group alone (a signing key would also be tried on the stream).
backend() { sc doctor --only backend "$@" --json; }

diag() { # diag SCENARIO: the service's checks for that diagnostics scenario
	start_server fake_stack.py --api-token admin-token --diagnostics "$1"
	svc --api-token-file "$K/api-token"
	stop_server
}

@test "service: probes, diagnostics and a real sync stream pass against a healthy service" {
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync --api-token admin-token
	svc --api-token-file "$K/api-token" --key "$K/k1.pem" --kid k1 --aud powersync
	expect_status 0
	for p in startup readiness liveness; do [ "$(check_field service.probe.$p status)" = ok ]; done
	[ "$(check_field service.diagnostics message)" = "read the service's diagnostics" ]
	[ "$(check_field service.connection.default message)" = "connected to its source database postgresql://pg-db:5432/postgres" ]
	[ "$(check_field service.sync_rules message)" = "active sync rules (slot powersync_1_a3f2)" ]
	[ "$(check_field service.replication.powersync_1_a3f2 message)" = "replicating, lag 1.0 kB (slot powersync_1_a3f2)" ]
	[ "$(check_field service.wal_budget.powersync_1_a3f2 message)" = "WAL budget: 80% of max_slot_wal_keep_size (1.0 GB) remains" ]
	[ "$(check_field service.lag status)" = ok ]
	[ "$(check_field service.stream message)" = "the service accepted a token from this key and audience (200)" ]
}

@test "service: probes as endpoints/probes.ts defines them: not started, a stale liveness, probes switched off" {
	start_server fake_stack.py --probes starting --api-token admin-token
	svc --api-token-file "$K/api-token"
	stop_server
	expect_status 1
	[[ "$(check_field service.probe.startup message)" == "startup: 400, the service has not started (last touched: 20"* ]]
	[[ "$(check_field service.probe.readiness message)" == "readiness: 400, the service says it is not ready (started: no, last touched: "* ]]
	[[ "$(check_field service.probe.readiness hint)" == "the service turns ready (and started) once its start-up has finished"* ]]
	[ "$(check_field service.probe.liveness status)" = ok ]
	start_server fake_stack.py --probes stale
	svc
	stop_server
	expect_status 1
	[[ "$(check_field service.probe.liveness message)" == "liveness: 400, the service last reported itself alive at 20"*", 10 s or more ago" ]]
	[[ "$(check_field service.probe.liveness hint)" == "its replication loop touches the probe every few seconds"* ]]
	start_server fake_stack.py --probes off --api-token admin-token
	svc --api-token-file "$K/api-token"
	stop_server
	expect_status 0
	[ "$(check_field service.probe.startup status)" = warn ]
	[ "$(check_field service.probe.liveness message)" = "liveness: 404 PSYNC_S2002, the service runs without HTTP probes (healthcheck.probes.use_http is off)" ]
	[[ "$(check_field service.probe.startup hint)" == *"healthcheck: {probes: {use_http: true}}"* ]]
	# The service answered: the diagnostics are still read.
	[ "$(check_field service.diagnostics status)" = ok ]
}

@test "service: the admin API token: refused as the service refuses it; Token and Bearer both accepted; api.tokens[0] from the config" {
	start_server fake_stack.py --api-token right
	printf 'wrong\n' >"$W/tok"
	chmod 600 "$W/tok"
	svc --api-token-file "$W/tok"
	expect_status 1
	[ "$(check_field service.diagnostics message)" = "the service refused the admin API token (HTTP 401 PSYNC_S2101 Authorization failed)" ]
	# routes/auth.ts authApi: /^(Token|Bearer) (\S+)$/.
	for scheme in Token Bearer; do
		[ "$(curl -s -o /dev/null -w '%{http_code}' -X POST -H "Authorization: $scheme right" -H 'Content-Type: application/json' \
			-d '{}' "http://127.0.0.1:$PORT/api/admin/v1/diagnostics")" = 200 ]
	done
	printf 'port: %s\nstorage: {type: mongodb, uri: "mongodb://localhost/ps"}\napi:\n  tokens:\n    - right\n' "$PORT" >"$W/ps.yaml"
	sc service --powersync-config "$W/ps.yaml" --service "http://127.0.0.1:$PORT" --json
	stop_server
	expect_status 0
	[ "$(check_field service.diagnostics status)" = ok ]
	[[ "$output" != *right* ]]
}

@test "service: an unreachable service fails fast, the rest is not tried" {
	sc service --service "http://127.0.0.1:1" --json
	expect_status 1
	[ "$(check_field service.probe.startup status)" = fail ]
	[ "$(check_field service.stream message)" = "not tried: the service did not answer" ]
}

@test "diagnostics: a first deploy (deploying_sync_rules only) warns with its progress, never 'no active sync rules'" {
	diag first-deploy
	expect_status 0
	[ "$(check_field service.sync_rules status)" = warn ]
	[ "$(check_field service.sync_rules message)" = "no active sync rules yet: the first deploy is in its initial replication" ]
	[ "$(check_field service.deploying message)" = "the first sync rules (slot powersync_1_a3f2) are in their initial replication" ]
	[ "$(check_field service.deploying.replication.powersync_1_a3f2 message)" = "initial replication in progress (slot powersync_1_a3f2)" ]
	! has_check service.lag
	diag none
	[ "$(check_field service.sync_rules message)" = "the service has no active sync rules" ]
}

@test "diagnostics: connection errors are checks with the service's own message and level" {
	diag publication-missing
	expect_status 1
	[ "$(check_field service.connection.default status)" = fail ]
	[ "$(check_field service.connection.default message)" = "source connection: [PSYNC_S1141] Publication 'powersync' does not exist. Run: \`CREATE PUBLICATION powersync FOR ALL TABLES\`, or read the documentation for details." ]
	[[ "$(check_field service.connection.default hint)" == "the service's message says the fix; syncctl publications"* ]]
	diag disconnected
	expect_status 1
	[ "$(check_field service.connection.default message)" = "the service cannot connect to its source database: connect ECONNREFUSED 10.0.0.5:5432" ]
	[ "$(check_field service.table.public.lists message)" = "table public.lists: connection failed" ]
}

@test "diagnostics: table errors are one check a table (reported once, not again among the rules' errors)" {
	diag table-errors
	expect_status 1
	[ "$(check_field service.table.public.todos status)" = warn ]
	[ "$(check_field service.table.public.todos message)" = "table public.todos: Table public.todos not found." ]
	[ "$(check_field service.table.public.lists status)" = fail ]
	[[ "$(check_field service.table.public.lists message)" == "table public.lists: Table public.lists is not part of publication 'powersync'. Run: \`ALTER PUBLICATION powersync ADD TABLE public.lists\`.; [PSYNC_S1145] Row Level Security"* ]]
	[ "$(json_get "[c for c in d['checks'] if c['id']=='service.table.public.lists'][0]['details']['errors'][1]['level']")" = warning ]
	! has_check service.table.public.users
	! has_check service.replication_error
	! has_check service.error.PSYNC_S1145
	[ "$(check_field service.sync_rules status)" = ok ]
}

@test "diagnostics: the lag error gets a replication hint, as warning and as fatal" {
	diag lag-warning
	expect_status 0
	[ "$(check_field service.lag status)" = warn ]
	[ "$(check_field service.lag message)" = "No replicated commit in more than 420s" ]
	[[ "$(check_field service.lag hint)" == "replication from the source has stalled"* ]]
	[ "$(check_field service.sync_rules status)" = ok ]
	diag lag-fatal
	expect_status 1
	[ "$(check_field service.lag status)" = fail ]
	[ "$(check_field service.lag message)" = "No replicated commit in more than 1000s" ]
}

@test "diagnostics: the WAL budget by the service's own rule: warn at 50% or less, the service's words; unreserved warns" {
	diag wal-low
	expect_status 0
	[ "$(check_field service.wal_budget.powersync_1_a3f2 status)" = warn ]
	[ "$(check_field service.wal_budget.powersync_1_a3f2 message)" = "WAL budget is low: 30% remaining. The replication slot may be invalidated if WAL consumption continues at this rate. Consider increasing max_slot_wal_keep_size." ]
	# The service's own warning is that same check, not a second one.
	[ "$(json_get "sum(1 for c in d['checks'] if 'WAL budget is low' in c['message'])")" = 1 ]
	diag unreserved
	[ "$(check_field service.replication.powersync_1_a3f2 status)" = warn ]
	[[ "$(check_field service.replication.powersync_1_a3f2 message)" == "slot powersync_1_a3f2 is about to be invalidated (wal_status=unreserved"* ]]
	[ "$(check_field service.wal_budget.powersync_1_a3f2 message)" = "WAL budget is low: 0% remaining. The replication slot may be invalidated if WAL consumption continues at this rate. Consider increasing max_slot_wal_keep_size." ]
	diag unlimited-wal
	! has_check service.wal_budget.powersync_1_a3f2
	diag old-service
	expect_status 0
	[ "$(check_field service.replication.powersync_1_a3f2 message)" = "replicating, lag unknown (slot powersync_1_a3f2)" ]
}

@test "diagnostics: a lost slot reaches the service as last_fatal_error and a replacement deploying, and is reported from there" {
	diag lost-slot
	expect_status 1
	[ "$(check_field service.error.PSYNC_S1146 status)" = fail ]
	[[ "$(check_field service.error.PSYNC_S1146 message)" == "replication error: [PSYNC_S1146] Replication slot powersync_1_a3f2 was invalidated"* ]]
	[[ "$(check_field service.error.PSYNC_S1146 hint)" == "the slot was lost"* ]]
	[ "$(check_field service.replication.powersync_1_a3f2 message)" = "slot powersync_1_a3f2 was invalidated (wal_status=lost): it cannot replicate any more" ]
	[ "$(check_field service.deploying message)" = "new sync rules, replacing the active ones, (slot powersync_2_5b1c) are in their initial replication" ]
	[ "$(check_field service.lag status)" = fail ]
	! has_check service.wal_budget.powersync_1_a3f2
}

@test "diagnostics: sync config errors fail service.sync_rules; other replication errors are their own check" {
	diag config-error
	expect_status 1
	[ "$(check_field service.sync_rules message)" = "the active sync rules: Function 'no_such_fn' is not defined; Potentially dangerous query based on parameters set by the client." ]
	[ "$(json_get "[e['level'] for e in [c for c in d['checks'] if c['id']=='service.sync_rules'][0]['details']['errors']]")" = '["fatal", "warning"]' ]
	diag unparsable
	expect_status 1
	[ "$(check_field service.sync_rules message)" = "the active sync rules: Unexpected end of YAML" ]
	diag replication-error
	expect_status 1
	[ "$(check_field service.replication_error message)" = "replication error: permission denied for table lists" ]
	[[ "$(check_field service.replication_error hint)" == "the replication role lacks a privilege"* ]]
}

@test "diagnostics: check ids come from names and codes, the same on every run" {
	diag table-errors
	first=$(json_get "[c['id'] for c in d['checks']]")
	diag table-errors
	[ "$(json_get "[c['id'] for c in d['checks']]")" = "$first" ]
	[ "$(json_get "len(set(c['id'] for c in d['checks'])) == len(d['checks'])")" = true ]
}

@test "stream: a 401 is explained by its code's real meaning (S2105 audience, S2101 unknown kid and pinned algorithm)" {
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync
	svc --key "$K/k1.pem" --kid k1 --aud wrong
	[ "$(check_field service.stream status)" = fail ]
	[ "$(check_field service.stream message)" = 'the service refused the token: HTTP 401 PSYNC_S2105: Unexpected "aud" claim value: "wrong"' ]
	[[ "$(check_field service.stream hint)" == *"client_auth.audience"* ]]
	svc --key "$K/other.pem" --kid other --aud powersync
	[[ "$(check_field service.stream message)" == *"PSYNC_S2101: Could not find an appropriate key in the keystore"* ]]
	[[ "$(check_field service.stream hint)" == *"serve this key in the JWKS"* ]]
	# kid k1 is an ES256 key in the JWKS: an RS256 token under that kid.
	svc --key "$K/rs-k1.pem" --kid k1 --aud powersync
	stop_server
	[ "$(check_field service.stream message)" = "the service refused the token: HTTP 401 PSYNC_S2101: Unexpected token algorithm RS256" ]
	[[ "$(check_field service.stream hint)" == "the key with this kid pins another algorithm"* ]]
}

@test "stream: older services put the reason of an S2101 in details, which is shown and explained" {
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync --legacy-auth-errors
	svc --key "$K/k1.pem" --kid k1 --aud wrong
	stop_server
	[ "$(check_field service.stream message)" = 'the service refused the token: HTTP 401 PSYNC_S2101: Authorization failed (Unexpected "aud" claim value: "wrong")' ]
}

@test "stream: S2204 is the service's own JWKS problem; S2302 comes after the token was accepted" {
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync --jwks-failing
	svc --key "$K/other.pem" --kid other --aud powersync
	stop_server
	[ "$(check_field service.stream message)" = "the service refused the token because of its own auth setup: HTTP 401 PSYNC_S2204: JWKS request failed" ]
	[[ "$(check_field service.stream hint)" == "the service cannot fetch, or will not use, its JWKS: a service-side fix"* ]]
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync --no-sync-config --api-token admin-token --diagnostics none
	svc --key "$K/k1.pem" --kid k1 --aud powersync --api-token-file "$K/api-token"
	stop_server
	[ "$(check_field service.stream status)" = fail ]
	[ "$(check_field service.stream message)" = "the service accepted the token, but has no sync config to serve yet (HTTP 500 PSYNC_S2302)" ]
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync --no-sync-config --api-token admin-token --diagnostics first-deploy
	svc --key "$K/k1.pem" --kid k1 --aud powersync --api-token-file "$K/api-token"
	stop_server
	[ "$(check_field service.stream status)" = warn ]
	[ "$(check_field service.stream hint)" = "the sync rules are still in their initial replication (service.deploying)" ]
}

@test "backend: JWKS URL, token endpoint and upload endpoint" {
	"$SYNCCTL" token mint --key "$K/k1.pem" --kid k1 --sub u1 --aud powersync >"$W/good.jwt"
	start_server fake_stack.py --jwks "$K/jwks.json" --token-file "$W/good.jwt" --upload-status 200
	svc --jwks "http://127.0.0.1:$PORT/jwks.json" --aud powersync \
		--token-endpoint "http://127.0.0.1:$PORT/api/auth/token?user_id=u1" --upload-endpoint "http://127.0.0.1:$PORT/api/data"
	stop_server
	[ "$(check_field backend.jwks message)" = "1 key(s): k1" ]
	[ "$(check_field backend.token message)" = "the token endpoint's token verifies against the JWKS (kid k1)" ]
	[ "$(check_field backend.upload message)" = "an empty upload batch was accepted (HTTP 200)" ]
}

@test "backend: a token with the wrong aud, an oct key at the JWKS URL, a failing upload endpoint" {
	"$SYNCCTL" token mint --key "$K/k1.pem" --kid k1 --sub u1 --aud elsewhere >"$W/bad.jwt"
	printf '{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}' >"$W/oct.json"
	start_server fake_stack.py --jwks "$K/jwks.json" --token-file "$W/bad.jwt" --upload-status 500
	svc --jwks "http://127.0.0.1:$PORT/jwks.json" --aud powersync \
		--token-endpoint "http://127.0.0.1:$PORT/api/auth/token" --upload-endpoint "http://127.0.0.1:$PORT/api/data"
	stop_server
	expect_status 1
	[[ "$(check_field backend.token message)" == "the service would reject the endpoint's token: PSYNC_S2105 Unexpected \"aud\" claim value"* ]]
	[ "$(check_field backend.upload message)" = 'an empty upload batch got HTTP 500: {"ok":false}' ]
	start_server fake_stack.py --jwks "$W/oct.json"
	sc doctor --only backend --jwks "http://127.0.0.1:$PORT/jwks.json" --json
	stop_server
	expect_status 1
	[ "$(check_field backend.jwks message)" = "0 usable key(s); 1 skipped (an oct key at a JWKS URL is ignored by the service, as are keys not for signatures)" ]
}

@test "backend: an upload endpoint that wants credentials warns without them, passes with a minted HS256 token or a given one, fails on a wrong one" {
	start_server fake_stack.py --upload-secret "$K/hs-secret"
	url="http://127.0.0.1:$PORT/api/data"
	backend --upload-endpoint "$url"
	expect_status 0
	[ "$(check_field backend.upload status)" = warn ]
	[ "$(check_field backend.upload message)" = "the upload endpoint wants the app's credentials (HTTP 401 to a request without a token)" ]
	[[ "$(check_field backend.upload hint)" == "give --upload-token-file F, or a signing key"* ]]
	backend --upload-endpoint "$url" --secret-file "$K/hs-secret" --aud powersync
	expect_status 0
	[ "$(check_field backend.upload message)" = "an empty upload batch was accepted (HTTP 200, with a token minted with the signing key)" ]
	"$SYNCCTL" token mint --secret-file "$K/hs-secret" --sub u1 --aud powersync >"$W/up.jwt"
	chmod 600 "$W/up.jwt"
	backend --upload-endpoint "$url" --upload-token-file "$W/up.jwt"
	expect_status 0
	[ "$(check_field backend.upload message)" = "an empty upload batch was accepted (HTTP 200, with the given upload token)" ]
	backend --upload-endpoint "$url" --secret-file "$K/wrong-secret" --aud powersync
	stop_server
	expect_status 1
	[ "$(check_field backend.upload message)" = 'the upload endpoint refused a token minted with the signing key (HTTP 401: {"message":"Unauthorized"})' ]
}

@test "backend: the HS secret of the service config's inline keys mints the upload token" {
	secret=$(tr -d '\n' <"$K/hs-secret" | base64 -w0 | tr '+/' '-_' | tr -d '=')
	printf 'storage: {type: mongodb, uri: "mongodb://localhost/ps"}\nclient_auth:\n  audience: [powersync]\n  jwks:\n    keys:\n      - kty: oct\n        kid: dev\n        alg: HS256\n        k: %s\n' "$secret" >"$W/ps.yaml"
	start_server fake_stack.py --upload-secret "$K/hs-secret"
	sc doctor --only backend --powersync-config "$W/ps.yaml" --upload-endpoint "http://127.0.0.1:$PORT/api/data" --json
	stop_server
	expect_status 0
	[ "$(check_field backend.upload message)" = "an empty upload batch was accepted (HTTP 200, with a token minted with the signing key)" ]
	[[ "$output" != *"$secret"* ]]
}

@test "backend: the Django demo's upload endpoint (PUT/PATCH/DELETE only) warns naming the allowed methods" {
	start_server fake_stack.py
	svc --upload-endpoint "http://127.0.0.1:$PORT/api/upload_data/"
	stop_server
	expect_status 0
	[ "$(check_field backend.upload status)" = warn ]
	[ "$(check_field backend.upload message)" = "the upload endpoint does not take POST (HTTP 405; it allows PUT, PATCH, DELETE, OPTIONS)" ]
	[[ "$(check_field backend.upload hint)" == "PowerSync defines no upload protocol"* ]]
}

@test "backend: a 404 says 'no such endpoint' with the URL, never the HTML page; a powersync_url that is not a URL warns" {
	start_server fake_stack.py --jwks "$K/jwks.json"
	svc --token-endpoint "http://127.0.0.1:$PORT/api/get_powersync_token/" --upload-endpoint "http://127.0.0.1:$PORT/nope"
	stop_server
	expect_status 1
	[ "$(check_field backend.token message)" = "no such endpoint (HTTP 404): http://127.0.0.1:$PORT/api/get_powersync_token/" ]
	[ "$(check_field backend.upload message)" = "no such endpoint (HTTP 404): http://127.0.0.1:$PORT/nope" ]
	[[ "$output" != *"<h1>"* ]]
	"$SYNCCTL" token mint --key "$K/k1.pem" --kid k1 --sub 1 --aud powersync >"$W/good.jwt"
	start_server fake_stack.py --jwks "$K/jwks.json" --token-file "$W/good.jwt" --token-url powersync-dev
	svc --jwks "http://127.0.0.1:$PORT/jwks.json" --aud powersync --token-endpoint "http://127.0.0.1:$PORT/api/auth/token"
	stop_server
	expect_status 0
	[ "$(check_field backend.token status)" = warn ]
	[ "$(check_field backend.token message)" = 'the token verifies (kid k1), but the answer'"'"'s powersync_url "powersync-dev" is not a URL a client can connect to' ]
}

@test "backend: two keys sharing a kid fail backend.jwks" {
	python3 -c "
import json, sys
k = json.load(open(sys.argv[1]))['keys'][0]
print(json.dumps({'keys': [k, dict(k)]}))" "$K/jwks.json" >"$W/dup.json"
	start_server fake_stack.py --jwks "$W/dup.json"
	sc doctor --only backend --jwks "http://127.0.0.1:$PORT/jwks.json" --json
	stop_server
	expect_status 1
	[ "$(check_field backend.jwks message)" = "two keys share kid k1: the service cannot tell them apart" ]
}

@test "stream: S2003 is a restarting service; S2002 on /sync/stream means the URL is not the sync service's" {
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync --shutting-down
	svc --key "$K/k1.pem" --kid k1 --aud powersync
	[ "$(check_field service.stream message)" = "the service refused the token: HTTP 503 PSYNC_S2003: Service temporarily unavailable" ]
	[ "$(check_field service.stream hint)" = "the service is restarting or shutting down: retry shortly" ]
	sc service --service "http://127.0.0.1:$PORT/api/admin" --key "$K/k1.pem" --kid k1 --aud powersync --json
	stop_server
	[[ "$(check_field service.stream message)" == "the service refused the token: HTTP 404 PSYNC_S2002: The path does not exist on this server (The path POST \"/api/admin/sync/stream\" does not exist on this server)" ]]
	[[ "$(check_field service.stream hint)" == "there is no /sync/stream here"* ]]
}
