#!/usr/bin/env bats
# syncctl doctor: every group at once, against real Postgres servers and,
# for MongoDB and the sync service (which cannot be installed here), the
# stand-ins that follow their source (tests/lib/fake_mongo.py,
# fake_stack.py). The groups' own checks: 81-storage.bats, 82-service.bats.

load helpers

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
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
	SPID=
}

teardown() {
	[ -z "$SPID" ] || stop_server
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
	for _ in $(seq 400); do [ -s "$W/hole1" ] && [ -s "$W/hole2" ] && break; sleep 0.05; done
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

