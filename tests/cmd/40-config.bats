#!/usr/bin/env bats
# Configuration precedence and bad input: flags > environment > --env-file >
# --powersync-config; clear one-line errors, right exit codes, no secrets.

load helpers

setup_file() {
	pg_start --hba "host all pwuser 127.0.0.1/32 scram-sha-256"
	export URI=$PGTMP_URI DIR=$PGTMP_DIR PORT=$PGTMP_PORT
	q "$URI" -c "SET password_encryption = 'scram-sha-256'; CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD 'right-password'"
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

@test "--env-file supplies SYNCCTL_DB" {
	printf '# comment\nexport SYNCCTL_DB="%s"\n' "$URI" >"$W/.env"
	sc slots --env-file "$W/.env" --json
	expect_status 0
	[ "$(check_field pg.role status)" = ok ]
}

@test "the environment beats the env file, and --db beats both" {
	printf 'SYNCCTL_DB=postgresql://postgres@127.0.0.1:1/nope\n' >"$W/.env"
	SYNCCTL_DB=$URI sc slots --env-file "$W/.env" --json
	expect_status 0
	SYNCCTL_DB=postgresql://postgres@127.0.0.1:1/nope sc slots --db "$URI" --json
	expect_status 0
	SYNCCTL_DB=postgresql://postgres@127.0.0.1:1/nope sc slots --env-file "$W/.env"
	expect_status 3
	[[ "$stderr" == *"from SYNCCTL_DB"* ]]
}

@test "DATABASE_URL is used when SYNCCTL_DB is unset" {
	DATABASE_URL=$URI sc publications
	expect_status 1
	[[ "$output" == *"publication powersync does not exist"* ]]
}

@test "--powersync-config: replication.connections[0].uri with an !env tag" {
	cat >"$W/config.yaml" <<-'YAML'
		replication:
		  connections:
		    - type: postgresql
		      uri: !env PS_DATA_SOURCE_URI
		      sslmode: disable
		storage:
		  type: mongodb
		  uri: mongodb://localhost:27017/powersync
		port: 8080
	YAML
	PS_DATA_SOURCE_URI=${URI/postgres@/postgres:unused@} sc slots --powersync-config "$W/config.yaml" --json
	expect_status 0
	[ "$(check_field pg.wal_level status)" = ok ]
}

@test "--powersync-config: hostname/port/database/username/password fields, !env from --env-file" {
	cat >"$W/config.yaml" <<-YAML
		replication:
		  connections:
		    - type: postgresql
		      hostname: 127.0.0.1
		      port: !env PS_PG_PORT::number
		      database: postgres
		      username: pwuser
		      password: !env PS_PG_PASSWORD
		      sslmode: disable
	YAML
	printf 'PS_PG_PASSWORD=right-password\nPS_PG_PORT=%s\n' "$PORT" >"$W/.env"
	sc slots --powersync-config "$W/config.yaml" --env-file "$W/.env" --json
	expect_status 0
	[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.role'][0]['details']['role']")" = pwuser ]
}

@test "POWERSYNC_CONFIG_PATH names the service config" {
	printf 'replication:\n  connections:\n    - type: postgresql\n      uri: %s\n      password: x\n      sslmode: disable\n' "$URI" >"$W/c.yaml"
	POWERSYNC_CONFIG_PATH=$W/c.yaml sc slots --json
	expect_status 0
}

@test "an unset !env variable the command needs is exit 2 with one line naming it and its place" {
	printf 'replication:\n  connections:\n    - type: postgresql\n      uri: !env PS_NOT_SET_ANYWHERE\n' >"$W/config.yaml"
	sc slots --powersync-config "$W/config.yaml"
	expect_status 2
	[ "$stderr" = "syncctl slots: error: $W/config.yaml:4:12: Attempted to substitute environment variable \"PS_NOT_SET_ANYWHERE\" which is undefined. Set this variable on the environment." ]
	[ -z "$output" ]
}

@test "an !env variable without the PS_ prefix is refused, as the service does, where it is used" {
	printf 'replication:\n  connections:\n    - type: postgresql\n      uri: !env HOME\n' >"$W/config.yaml"
	sc slots --powersync-config "$W/config.yaml"
	expect_status 2
	[[ "$stderr" == *"Attempting to substitute environment variable HOME is not allowed. Variables must start with \"PS_\""* ]]
}

@test "a malformed --powersync-config is exit 2 with file, line and column" {
	printf 'replication:\n  connections: [\n    uri: "x\n' >"$W/bad.yaml"
	sc slots --powersync-config "$W/bad.yaml"
	expect_status 2
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[[ "$stderr" == "syncctl slots: error: powersync config $W/bad.yaml:"*":"*": "* ]]
}

@test "a missing --powersync-config or --env-file is exit 2" {
	sc slots --powersync-config "$W/nope.yaml"
	expect_status 2
	[[ "$stderr" == *"cannot read powersync config $W/nope.yaml"* ]]
	sc slots --env-file "$W/nope.env"
	expect_status 2
	[[ "$stderr" == *"cannot read env file $W/nope.env"* ]]
}

@test "a malformed env file is exit 2 with its line" {
	printf 'GOOD=1\nthis is not a setting\n' >"$W/.env"
	sc slots --env-file "$W/.env"
	expect_status 2
	[[ "$stderr" == *"$W/.env:2: expected KEY=VALUE"* ]]
}

@test "a bad URI is exit 2 and never shows the password" {
	sc slots --db "postgresql://alice:hunter2-secret@127.0.0.1:$PORT/postgres?nonsense=1"
	expect_status 2
	[[ "$stderr" == *"invalid connection string"*"alice:***@"*'invalid URI query parameter: "nonsense"'* ]]
	[[ "$stderr$output" != *hunter2* ]]
}

@test "a wrong password is exit 3 and never shows the password" {
	sc slots --db "postgresql://pwuser:wrong-hunter2@127.0.0.1:$PORT/postgres"
	expect_status 3
	[[ "$stderr" == *'password authentication failed for user "pwuser"'* ]]
	[[ "$stderr$output" != *hunter2* ]]
	[[ "$stderr" == *"a password in --db is visible to other users in ps"* ]]
}

@test "the right password from the environment connects" {
	SYNCCTL_DB="postgresql://pwuser:right-password@127.0.0.1:$PORT/postgres" sc slots --json
	expect_status 0
	[[ "$stderr" != *"visible to other users"* ]]
}

@test "connection refused is exit 3 with one line" {
	sc slots --db "postgresql://postgres@127.0.0.1:1/postgres"
	expect_status 3
	[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ]
	[[ "$stderr" == *"cannot connect to the source database (from --db) at postgres@127.0.0.1:1/postgres: "*"Connection refused"* ]]
}

@test "a host that accepts and never answers gives up within --timeout (exit 3)" {
	coproc HOLE { exec python3 "$ROOT/tests/lib/blackhole.py" 30; }
	read -r hole_port <&"${HOLE[0]}"
	start=$(date +%s%N)
	sc slots --db "postgresql://bob:sekrit-pw@127.0.0.1:$hole_port/postgres" --timeout 2
	elapsed_ms=$(( ($(date +%s%N) - start) / 1000000 ))
	kill "$HOLE_PID" 2>/dev/null || true
	expect_status 3
	[ "$elapsed_ms" -lt 5000 ]
	[[ "$stderr" == *"timeout expired"* ]]
	[[ "$stderr$output" != *sekrit* ]]
}

@test "--timeout rejects a non-number (exit 2)" {
	sc slots --timeout soon
	expect_status 2
	[ "$stderr" = "syncctl slots: --timeout takes a whole number from 1 to 86400, not 'soon' (see 'syncctl slots --help')" ]
}
