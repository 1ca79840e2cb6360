#!/usr/bin/env bats
# syncctl storage, service and doctor: real Postgres servers; for MongoDB
# and the sync service (which cannot be installed here), test servers that
# play their documented protocol (tests/lib/fake_mongo.py, fake_stack.py).

load helpers

PY=/usr/bin/python3

setup_file() {
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	q "$URI" -c "CREATE TABLE lists (id uuid PRIMARY KEY, name text, owner_id uuid)" \
		-c "CREATE PUBLICATION powersync FOR ALL TABLES" \
		-c "SELECT pg_create_logical_replication_slot('powersync_1_a3f2', 'pgoutput')" >/dev/null
	export K=$BATS_FILE_TMPDIR
	"$SYNCCTL" token keygen --alg ES256 --kid k1 --out "$K/k1.pem" >"$K/jwks.json" 2>/dev/null
	"$SYNCCTL" token keygen --alg ES256 --kid other --out "$K/other.pem" >/dev/null 2>&1
	printf 'admin-token\n' >"$K/api-token"
	chmod 600 "$K/api-token"
	printf 'bucket_definitions:\n  mine:\n    parameters: SELECT request.user_id() AS owner\n    data:\n      - SELECT id, name FROM lists WHERE owner_id = bucket.owner\n' >"$K/rules.yaml"
}

teardown_file() {
	pkill -f "fake_stack.py|fake_mongo.py|blackhole.py" 2>/dev/null || true
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# start_server SCRIPT ARGS..: a test server in the background; its port in
# $PORT, its pid in $SPID.
start_server() {
	local script=$1
	shift
	$PY "$ROOT/tests/lib/$script" "$@" >"$W/port" 2>"$W/server.err" &
	SPID=$!
	for _ in $(seq 100); do
		[ -s "$W/port" ] && break
		sleep 0.05
	done
	PORT=$(head -1 "$W/port")
	[ -n "$PORT" ] || { cat "$W/server.err" >&2; return 1; }
}

stop_server() {
	kill "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || true
}

mongo_uri() { echo "mongodb://127.0.0.1:$PORT/powersync"; }

@test "storage: a replica set with ACTIVE rules, a fresh keepalive and the slot on the source passes" {
	start_server fake_mongo.py replset
	sc storage --storage "$(mongo_uri)" --db "$URI" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.replica_set message)" = "replica set rs0" ]
	[ "$(check_field storage.sync_rules status)" = ok ]
	[ "$(check_field storage.keepalive status)" = ok ]
	[ "$(check_field storage.slot message)" = "slot powersync_1_a3f2 exists on the source database" ]
}

@test "storage: a standalone fails with the rs.initiate hint; a sharded cluster fails" {
	start_server fake_mongo.py standalone
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.replica_set status)" = fail ]
	[[ "$(check_field storage.replica_set hint)" == *"rs.initiate()"* ]]
	start_server fake_mongo.py sharded
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[[ "$(check_field storage.replica_set message)" == "this is a sharded cluster (mongos)"* ]]
}

@test "storage: MongoDB older than 6.0 warns" {
	start_server fake_mongo.py replset --version 5.0.14
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.version status)" = warn ]
	[ "$(check_field storage.version message)" = "MongoDB 5.0.14 is older than 6.0, which the service expects" ]
}

@test "storage: ERRORED shows last_fatal_error; PROCESSING before the snapshot warns" {
	start_server fake_mongo.py replset --state ERRORED --fatal "replication slot powersync_1_a3f2 was dropped"
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.sync_rules message)" = "sync rules ERRORED: replication slot powersync_1_a3f2 was dropped" ]
	start_server fake_mongo.py replset --state PROCESSING --snapshot-done 0
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.sync_rules message)" = "initial replication in progress (state PROCESSING)" ]
}

@test "storage: a keepalive older than 5 minutes warns, older than 15 fails" {
	start_server fake_mongo.py replset --keepalive-age 400
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	[ "$(check_field storage.keepalive status)" = warn ]
	start_server fake_mongo.py replset --keepalive-age 1000
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.keepalive status)" = fail ]
	[[ "$(check_field storage.keepalive message)" == *"(over 15 minutes): replication has stopped" ]]
}

@test "storage: a slot missing on the source database fails" {
	start_server fake_mongo.py replset --slot powersync_9_dead
	sc storage --storage "$(mongo_uri)" --db "$URI" --json
	stop_server
	expect_status 1
	[ "$(check_field storage.slot message)" = "the storage points at slot powersync_9_dead, which does not exist on the source database" ]
}

@test "storage init: initiates a never-initiated replica set, and does nothing the second time" {
	start_server fake_mongo.py uninitiated
	sc storage --storage "$(mongo_uri)" --json
	[ "$(check_field storage.replica_set hint)" = "syncctl storage init (or: mongosh --eval 'rs.initiate()')" ]
	sc storage init --storage "$(mongo_uri)?replicaSet=rs0"
	expect_status 0
	[[ "$output" == "initiated replica set rs0 with one member, 127.0.0.1:$PORT" ]]
	sc storage init --storage "$(mongo_uri)"
	expect_status 0
	[ "$output" = "replica set rs0 is already initiated: nothing to do" ]
	stop_server
}

@test "storage: an unreachable MongoDB fails within --timeout" {
	start=$(date +%s%N)
	sc storage --storage "mongodb://127.0.0.1:1/powersync" --timeout 2 --json
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	expect_status 1
	[ "$(check_field storage.connect status)" = fail ]
	[ "$elapsed" -lt 5000 ]
}

@test "storage: Postgres bucket storage reads powersync.sync_rules" {
	q "$URI" -c "CREATE SCHEMA powersync" -c "CREATE TABLE powersync.sync_rules (id int PRIMARY KEY, state text, snapshot_done boolean, last_fatal_error text, last_keepalive_ts timestamptz, slot_name text)" \
		-c "INSERT INTO powersync.sync_rules VALUES (1, 'ACTIVE', true, NULL, now(), 'powersync_1_a3f2')"
	sc storage --storage "$URI" --db "$URI" --json
	expect_status 0
	[ "$(check_field storage.sync_rules message)" = "sync rules are ACTIVE (slot powersync_1_a3f2)" ]
	q "$URI" -c "UPDATE powersync.sync_rules SET state = 'ERRORED', last_fatal_error = 'no space left'"
	sc storage --storage "$URI" --json
	expect_status 1
	[ "$(check_field storage.sync_rules message)" = "sync rules ERRORED: no space left" ]
	q "$URI" -c "DROP SCHEMA powersync CASCADE"
}

@test "service: probes, diagnostics and a real sync stream pass against a healthy service" {
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync --api-token admin-token
	sc service --service "http://127.0.0.1:$PORT" --api-token-file "$K/api-token" --key "$K/k1.pem" --kid k1 --aud powersync --json
	stop_server
	expect_status 0
	for p in startup readiness liveness; do [ "$(check_field service.probe.$p status)" = ok ]; done
	[ "$(check_field service.sync_rules status)" = ok ]
	[ "$(check_field service.stream message)" = "the service accepted a token from this key and audience (200)" ]
}

@test "service: a 400 probe is explained; a wrong admin token fails; an unreachable service fails fast" {
	start_server fake_stack.py --not-ready --api-token right
	printf 'wrong\n' >"$W/tok"
	chmod 600 "$W/tok"
	sc service --service "http://127.0.0.1:$PORT" --api-token-file "$W/tok" --json
	stop_server
	expect_status 1
	[[ "$(check_field service.probe.readiness message)" == "readiness: 400, the service says it is not ready (started: yes, last touched: "* ]]
	[ "$(check_field service.probe.liveness status)" = ok ]
	[ "$(check_field service.diagnostics message)" = "the service refused the admin API token (HTTP 401)" ]
	sc service --service "http://127.0.0.1:1" --json
	expect_status 1
	[ "$(check_field service.probe.startup status)" = fail ]
	[ "$(check_field service.stream message)" = "not tried: the service did not answer" ]
}

@test "service: diagnostics errors and warnings become checks" {
	cat >"$W/diag.json" <<-'JSON'
	{"connections": [{"id": "default", "uri": "postgresql://db", "connected": true,
	  "errors": [{"level": "fatal", "message": "permission denied to start WAL sender"}]}],
	 "active_sync_rules": {"errors": [{"level": "warning", "message": "Table public.todos not found"}],
	  "connections": [{"id": "1", "tag": "default", "slot_name": "powersync_1_a3f2", "initial_replication_done": false, "tables": []}]}}
	JSON
	start_server fake_stack.py --api-token admin-token --diagnostics "$W/diag.json"
	sc service --service "http://127.0.0.1:$PORT" --api-token-file "$K/api-token" --json
	stop_server
	expect_status 1
	[ "$(check_field service.connection.default message)" = "source connection: permission denied to start WAL sender" ]
	[ "$(check_field service.sync_rules status)" = warn ]
	[ "$(check_field service.replication.powersync_1_a3f2 message)" = "initial replication in progress (slot powersync_1_a3f2)" ]
}

@test "service: a 401 on the sync stream is explained from its PSYNC code (aud, unknown kid)" {
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync
	sc service --service "http://127.0.0.1:$PORT" --key "$K/k1.pem" --kid k1 --aud wrong --json
	[ "$(check_field service.stream status)" = fail ]
	[[ "$(check_field service.stream message)" == *"PSYNC_S2105"* ]]
	[[ "$(check_field service.stream hint)" == *"client_auth.audience"* ]]
	sc service --service "http://127.0.0.1:$PORT" --key "$K/other.pem" --kid other --aud powersync --json
	stop_server
	[[ "$(check_field service.stream message)" == *"PSYNC_S2101"* ]]
	[[ "$(check_field service.stream hint)" == *"serve this key in the JWKS"* ]]
}

@test "backend: JWKS URL, token endpoint and upload endpoint" {
	"$SYNCCTL" token mint --key "$K/k1.pem" --kid k1 --sub u1 --aud powersync >"$W/good.jwt"
	start_server fake_stack.py --jwks "$K/jwks.json" --token-file "$W/good.jwt" --upload-status 200
	sc service --service "http://127.0.0.1:$PORT" --jwks "http://127.0.0.1:$PORT/jwks.json" --aud powersync \
		--token-endpoint "http://127.0.0.1:$PORT/api/auth/token?user_id=u1" --upload-endpoint "http://127.0.0.1:$PORT/api/data" --json
	stop_server
	[ "$(check_field backend.jwks message)" = "1 key(s): k1" ]
	[ "$(check_field backend.token message)" = "the token endpoint's token verifies against the JWKS (kid k1)" ]
	[ "$(check_field backend.upload message)" = "an empty upload batch was accepted (HTTP 200)" ]
}

@test "backend: a token with the wrong aud, an oct key at the JWKS URL, a failing upload endpoint" {
	"$SYNCCTL" token mint --key "$K/k1.pem" --kid k1 --sub u1 --aud elsewhere >"$W/bad.jwt"
	printf '{"keys":[{"kty":"oct","kid":"s","k":"c2VjcmV0"}]}' >"$W/oct.json"
	start_server fake_stack.py --jwks "$K/jwks.json" --token-file "$W/bad.jwt" --upload-status 500
	sc service --service "http://127.0.0.1:$PORT" --jwks "http://127.0.0.1:$PORT/jwks.json" --aud powersync \
		--token-endpoint "http://127.0.0.1:$PORT/api/auth/token" --upload-endpoint "http://127.0.0.1:$PORT/api/data" --json
	stop_server
	expect_status 1
	[[ "$(check_field backend.token message)" == "the service would reject the endpoint's token: PSYNC_S2105 Unexpected \"aud\" claim value"* ]]
	[[ "$(check_field backend.upload message)" == "an empty upload batch got HTTP 500"* ]]
	start_server fake_stack.py --jwks "$W/oct.json"
	sc doctor --only backend --jwks "http://127.0.0.1:$PORT/jwks.json" --json
	stop_server
	expect_status 1
	[ "$(check_field backend.jwks message)" = "0 usable key(s); 1 skipped (an oct key at a JWKS URL is ignored by the service, as are keys not for signatures)" ]
}

@test "doctor: a healthy stack passes in every group, checks tagged with their group" {
	start_server fake_stack.py --jwks "$K/jwks.json" --aud powersync --api-token admin-token
	sc doctor --db "$URI" --rules "$K/rules.yaml" --jwks "http://127.0.0.1:$PORT/jwks.json" --key "$K/k1.pem" --kid k1 \
		--aud powersync --service "http://127.0.0.1:$PORT" --api-token-file "$K/api-token" --skip storage --json
	stop_server
	expect_status 0
	[ "$(json_get "sorted(set(c['group'] for c in d['checks']))")" = '["auth", "backend", "rules", "service", "source"]' ]
	[ "$(check_field rules.file status)" = ok ]
	[ "$(check_field auth.roundtrip status)" = ok ]
	[ "$(check_field service.stream status)" = ok ]
	[ "$(check_field pg.publication group)" = source ]
}

@test "doctor: what is not configured is skipped with the setting that enables it; --only limits groups" {
	sc doctor --json
	expect_status 0
	[ "$(json_get "d['status']")" = skip ]
	[[ "$(check_field source hint)" == *"--db, SYNCCTL_DB or DATABASE_URL"* ]]
	[[ "$(check_field storage hint)" == *"--storage URI, SYNCCTL_STORAGE"* ]]
	sc doctor --only source,rules --db "$URI" --rules "$K/rules.yaml" --json
	[ "$(json_get "sorted(set(c['group'] for c in d['checks']))")" = '["rules", "source"]' ]
	sc doctor --only nonsense
	expect_status 2
}

@test "doctor: failures in several groups at once, each with its fix; the human report groups them" {
	printf 'bucket_definitions:\n  g:\n    data:\n      - SELECT id FROM missing_table\n' >"$W/bad-rules.yaml"
	start_server fake_mongo.py standalone
	sc doctor --db "$URI" --rules "$W/bad-rules.yaml" --storage "$(mongo_uri)" --jwks "$K/jwks.json" --key "$K/other.pem" --kid other --aud p
	stop_server
	expect_status 1
	[[ "$output" == *$'rules\n  FAIL  rules.file'*"Table public.missing_table not found"* ]]
	[[ "$output" == *$'storage\n'*"FAIL  storage.replica_set"* ]]
	[[ "$output" == *"FAIL  auth.roundtrip"*"hint: serve this key's public half in the JWKS"* ]]
	[[ "${output##*$'\n'}" == "FAILED: "*" failed, "* ]]
}

@test "doctor: a Postgres port and an HTTP endpoint that never answer: done in under 5 s with --timeout 2" {
	$PY "$ROOT/tests/lib/blackhole.py" 30 >"$W/hole1" &
	h1=$!
	$PY "$ROOT/tests/lib/blackhole.py" 30 >"$W/hole2" &
	h2=$!
	for _ in $(seq 100); do [ -s "$W/hole1" ] && [ -s "$W/hole2" ] && break; sleep 0.05; done
	p1=$(cat "$W/hole1")
	p2=$(cat "$W/hole2")
	start=$(date +%s%N)
	sc doctor --timeout 2 --db "postgresql://postgres@127.0.0.1:$p1/postgres" --service "http://127.0.0.1:$p2" \
		--rules "$K/rules.yaml" --jwks "$K/jwks.json" --aud powersync --json
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	kill $h1 $h2 2>/dev/null || true
	expect_status 1
	[ "$elapsed" -lt 5000 ] || { echo "took $elapsed ms" >&2; false; }
	[ "$(check_field pg.connect status)" = fail ]
	[ "$(check_field service.probe.startup status)" = fail ]
	[ "$(check_field auth.jwks status)" = ok ]
	[ "$(check_field rules.live status)" = fail ]
}

@test "doctor --strict fails on warnings" {
	printf 'bucket_definitions:\n  g:\n    data:\n      - SELECT id, Name FROM lists\n' >"$W/warn.yaml"
	sc doctor --only rules --rules "$W/warn.yaml"
	expect_status 0
	sc doctor --only rules --rules "$W/warn.yaml" --strict
	expect_status 1
}

@test "auth: a JWKS without any audience configured fails auth.audience (the service rejects every token)" {
	sc doctor --only auth --jwks "$K/jwks.json" --json
	expect_status 1
	[ "$(check_field auth.audience status)" = fail ]
	[[ "$(check_field auth.audience hint)" == "set client_auth.audience in the service config"* ]]
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

@test "storage: a database the URI names that does not exist yet warns; Postgres storage without its schema warns" {
	start_server fake_mongo.py replset --database other --no-rules
	sc storage --storage "$(mongo_uri)" --json
	stop_server
	expect_status 0
	[ "$(check_field storage.database message)" = "database powersync does not exist (yet)" ]
	[ "$(check_field storage.sync_rules status)" = warn ]
	sc storage --storage "$URI" --json
	expect_status 0
	[ "$(check_field storage.database message)" = "schema powersync has no sync_rules table (yet)" ]
}
