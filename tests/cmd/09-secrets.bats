#!/usr/bin/env bats
# A password reaches syncctl five ways besides the URI's user:password@: the
# URI's query (?password=), PGPASSWORD, a .pgpass file, a service file, and
# a URI whose host is mapped by --resolve. Whichever way, right or wrong, it
# is never in a message, a -v line or a JSON document, in any command that
# connects.

load helpers

RIGHT='Right-S3cret-XYZ'
WRONG='Wrong-S3cret-QRS'

setup_file() {
	pg_start --hba "host all pwuser 127.0.0.1/32 scram-sha-256"
	export URI=$PGTMP_URI DIR=$PGTMP_DIR PORT=$PGTMP_PORT
	q "$URI" -c "SET password_encryption = 'scram-sha-256'; CREATE ROLE pwuser LOGIN SUPERUSER PASSWORD '$RIGHT'" \
		-c "CREATE DATABASE b" -c "CREATE TABLE t (id int PRIMARY KEY, tenant_id int)" -c "INSERT INTO t VALUES (1, 1)" \
		-c "CREATE PUBLICATION powersync FOR ALL TABLES"
	export B=${URI%/*}/b
	q "$B" -c "CREATE TABLE t (id int PRIMARY KEY, tenant_id int)"
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# every_command DB: each command that connects, with -v and --json, then in
# text; none may show either password. The statuses are kept in $W/statuses.
every_command() {
	local db=$1
	: >"$W/statuses"
	local cmds=(
		"slots --db $db"
		"publications --db $db"
		"doctor --db $db --only source"
		"schema init --db $db --dry-run"
		"rules validate $W/rules.yaml --db $db"
		"compare --server $db --local $B --checksum"
		"tenant-sync --local $db --remote $B --direction to-remote --table t"
		"watch --db $db --duration 1"
	)
	printf 'bucket_definitions:\n  g:\n    data:\n      - SELECT id FROM t\n' >"$W/rules.yaml"
	local c
	for c in "${cmds[@]}"; do
		# shellcheck disable=SC2086
		sc $c -v --json
		echo "$status" >>"$W/statuses"
		if [[ "$output$stderr" == *"$RIGHT"* || "$output$stderr" == *"$WRONG"* ]]; then
			echo "a password shown by: syncctl $c -v --json" >&2
			printf '%s\n%s\n' "$output" "$stderr" >&2
			return 1
		fi
		# shellcheck disable=SC2086
		sc $c
		if [[ "$output$stderr" == *"$RIGHT"* || "$output$stderr" == *"$WRONG"* ]]; then
			echo "a password shown by: syncctl $c" >&2
			return 1
		fi
	done
}

# refused: the wrong password is exit 3 in every command; doctor, whose
# connection is one of its checks, fails that check (exit 1).
refused() {
	[ "$(tr '\n' ' ' <"$W/statuses")" = "3 3 1 3 3 3 3 3 " ] || { echo "statuses: $(tr '\n' ' ' <"$W/statuses")" >&2; return 1; }
}

# connected: the right password got every command in (0 or 1, never 3).
connected() {
	! grep -qx 3 "$W/statuses" || { echo "statuses: $(tr '\n' ' ' <"$W/statuses")" >&2; return 1; }
	! grep -qx 2 "$W/statuses" || { echo "statuses: $(tr '\n' ' ' <"$W/statuses")" >&2; return 1; }
}

@test "?password= in the URI's query" {
	every_command "postgresql://pwuser@127.0.0.1:$PORT/postgres?password=$RIGHT"
	connected
	every_command "postgresql://pwuser@127.0.0.1:$PORT/postgres?password=$WRONG"
	refused
}

@test "PGPASSWORD" {
	PGPASSWORD=$RIGHT every_command "postgresql://pwuser@127.0.0.1:$PORT/postgres"
	connected
	PGPASSWORD=$WRONG every_command "postgresql://pwuser@127.0.0.1:$PORT/postgres"
	refused
}

@test "a .pgpass file (PGPASSFILE)" {
	printf '127.0.0.1:%s:*:pwuser:%s\n' "$PORT" "$RIGHT" >"$W/pgpass"
	chmod 600 "$W/pgpass"
	PGPASSFILE=$W/pgpass every_command "postgresql://pwuser@127.0.0.1:$PORT/postgres"
	connected
	printf '127.0.0.1:%s:*:pwuser:%s\n' "$PORT" "$WRONG" >"$W/pgpass"
	PGPASSFILE=$W/pgpass every_command "postgresql://pwuser@127.0.0.1:$PORT/postgres"
	refused
}

@test "a service file (PGSERVICEFILE)" {
	printf '[right]\nhost=127.0.0.1\nport=%s\nuser=pwuser\ndbname=postgres\npassword=%s\n[wrong]\nhost=127.0.0.1\nport=%s\nuser=pwuser\ndbname=postgres\npassword=%s\n' \
		"$PORT" "$RIGHT" "$PORT" "$WRONG" >"$W/services"
	PGSERVICEFILE=$W/services every_command "postgresql:///?service=right"
	connected
	PGSERVICEFILE=$W/services every_command "postgresql:///?service=wrong"
	refused
}

@test "a URI whose host --resolve maps" {
	# every_command's commands take global options after the command too.
	local db="postgresql://pwuser:$RIGHT@db.internal:5432/postgres"
	sc slots --db "$db" --resolve "db.internal:5432=127.0.0.1:$PORT" -v --json
	expect_status 0
	[[ "$output$stderr" != *"$RIGHT"* ]]
	sc doctor --db "$db" --resolve "db.internal:5432=127.0.0.1:$PORT" --only source -v --json
	[ "$status" -le 1 ]
	[[ "$output$stderr" != *"$RIGHT"* ]]
	sc tenant-sync --local "$db" --remote "$B" --resolve "db.internal:5432=127.0.0.1:$PORT" --direction to-remote --table t -v --json
	expect_status 0
	[[ "$output$stderr" != *"$RIGHT"* ]]
	sc slots --db "postgresql://pwuser:$WRONG@db.internal:5432/postgres" --resolve "db.internal:5432=127.0.0.1:$PORT" -v --json
	expect_status 3
	[[ "$output$stderr" != *"$WRONG"* ]]
	[[ "$stderr" == *'password authentication failed for user "pwuser"'* ]]
}
