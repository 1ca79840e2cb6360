#!/usr/bin/env bats
# Hostile names: every option that takes a table, column, schema,
# publication, role or slot name, against a real server, with names in mixed
# case, with spaces, quotes, semicolons, unicode, a keyword and SQL text.
# Each name is data: the object of that name is found and nothing else runs.
#
# The options take names two ways, as their man pages say:
#   SQL syntax (quoted where needed): publications --table, schema init --tables
#   as the catalog spells them: every other name option

load helpers

NAMES=(
	'Foo'
	'with space'
	'quo"te'
	'semi;colon'
	'ünïcödé'
	'select'
	"it's"
	'x); DROP TABLE victim; --'
)

# ident NAME: NAME as a quoted SQL identifier.
ident() { printf '"%s"' "${1//\"/\"\"}"; }
# lit NAME: NAME as an SQL string literal.
lit() { printf "'%s'" "${1//\'/\'\'}"; }

setup_file() {
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	local base=${URI%/*}
	q "$URI" -c "CREATE DATABASE a" -c "CREATE DATABASE b" -c "CREATE DATABASE c"
	export A=$base/a B=$base/b C=$base/c
	local n i sql
	for db in "$A" "$B"; do
		q "$db" -c "CREATE TABLE victim (id int PRIMARY KEY)" -c "INSERT INTO victim VALUES (1)"
	done
	for n in "${NAMES[@]}"; do
		i=$(ident "$n")
		sql="CREATE TABLE $i (id int PRIMARY KEY, $i int NOT NULL, body text)"
		q "$A" -c "$sql" -c "INSERT INTO $i VALUES (1, 7, 'one'), (2, 7, 'two'), (3, 8, 'other tenant')"
		q "$B" -c "$sql"
		q "$C" -c "CREATE TABLE $i (id int PRIMARY KEY)"
	done
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# victims_intact: the table a pasted name would drop is still there.
victims_intact() {
	[ "$(q "$A" -c "SELECT count(*) FROM victim")" = 1 ]
	[ "$(q "$B" -c "SELECT count(*) FROM victim")" = 1 ]
}

@test "publications --name and --table: each name found, checked and listed" {
	local n i
	for n in "${NAMES[@]}"; do
		i=$(ident "$n")
		q "$A" -c "CREATE PUBLICATION $i FOR TABLE $i"
		sc publications --db "$A" --name "$n" --table "public.$i" --json
		expect_status 0 || { echo "name: $n" >&2; return 1; }
		[ "$(json_get "[c['status'] for c in d['checks'] if c['id'].startswith('pg.publication.table')]")" = '["ok"]' ]
		[ "$(json_get "[p['name'] for p in d['publications'] if p['name']==$($PY -c 'import json,sys; print(json.dumps(sys.argv[1]))' "$n")]")" != '[]' ]
		# Not in it: the check fails naming the table, nothing else breaks.
		sc publications --db "$A" --name "$n" --table victim --json
		expect_status 1
		[ "$(check_field pg.publication status)" = ok ]
		sc publications --db "$A" --name "$n"
		[[ "$output" == *"$n"* ]]
	done
	# A name that does not exist is a failed check, never SQL.
	sc publications --db "$A" --name "x'; DROP TABLE victim; --" --json
	expect_status 1
	[ "$(check_field pg.publication status)" = fail ]
	victims_intact
}

@test "schema init --publication, --tables and --role: the objects of those names, nothing else" {
	local n i k=0
	echo 's3cret-pw' >"$W/pw"
	chmod 600 "$W/pw"
	for n in "${NAMES[@]}"; do
		i=$(ident "$n")
		k=$((k + 1))
		sc schema init --db "$C" --publication "$n" --tables "$i" --role "$n" --password-file "$W/pw" --json
		expect_status 0 || { echo "name: $n" >&2; return 1; }
		[ "$(q "$C" -c "SELECT count(*) FROM pg_publication_tables WHERE pubname = $(lit "$n") AND tablename = $(lit "$n")")" = 1 ]
		[ "$(q "$C" -c "SELECT rolreplication FROM pg_roles WHERE rolname = $(lit "$n")")" = t ]
	done
	[ "$(q "$C" -c "SELECT count(*) FROM pg_publication")" = "$k" ]
}

@test "rules validate --db --publication: rules naming each table, quoted as the rules' SQL quotes it" {
	local n i
	for n in "${NAMES[@]}"; do
		i=$(ident "$n")
		printf 'bucket_definitions:\n  g:\n    data:\n      - SELECT id, body FROM %s\n' "$i" >"$W/rules.yaml"
		sc rules validate "$W/rules.yaml" --db "$A" --publication "$n" --json
		expect_status 0 || { echo "name: $n" >&2; return 1; }
	done
	victims_intact
}

@test "compare --table and --schema (Postgres to Postgres): equal, then one value changed" {
	local n i
	q "$A" -c "CREATE SCHEMA \"Odd Schema;\"" -c "CREATE TABLE \"Odd Schema;\".\"T\" (id int PRIMARY KEY)" -c "INSERT INTO \"Odd Schema;\".\"T\" VALUES (1)"
	q "$B" -c "CREATE SCHEMA \"Odd Schema;\"" -c "CREATE TABLE \"Odd Schema;\".\"T\" (id int PRIMARY KEY)" -c "INSERT INTO \"Odd Schema;\".\"T\" VALUES (1)"
	sc compare --server "$A" --local "$B" --schema "Odd Schema;" --table T --checksum --json
	expect_status 0
	[ "$(json_get "[t['name'] for t in d['tables']]")" = '["T"]' ]
	for n in "${NAMES[@]}"; do
		i=$(ident "$n")
		q "$B" -c "DELETE FROM $i" -c "INSERT INTO $i SELECT * FROM (VALUES (1, 7, 'one'), (2, 7, 'two'), (3, 8, 'other tenant')) v"
		sc compare --server "$A" --local "$B" --table "$n" --checksum --json
		expect_status 0 || { echo "name: $n" >&2; return 1; }
		[ "$(json_get "[t['status'] for t in d['tables']]")" = '["in_sync"]' ]
		q "$B" -c "UPDATE $i SET body = 'changed' WHERE id = 2"
		sc compare --server "$A" --local "$B" --table "$n" --checksum --json
		expect_status 1 || { echo "name: $n" >&2; return 1; }
		sc compare --server "$A" --local "$B" --table "$n" --checksum
		[[ "$output" == *"$n"* ]]
	done
	victims_intact
}

@test "tenant-sync --table, --tenant-column, --key: the rows of that tenant copied, nothing else touched" {
	local n i
	for n in "${NAMES[@]}"; do
		i=$(ident "$n")
		q "$B" -c "DELETE FROM $i"
		sc tenant-sync --local "$A" --remote "$B" --direction to-remote --table "$n" --tenant-column "$n" --tenant 7 --key id --json
		expect_status 0 || { echo "name: $n" >&2; return 1; }
		[ "$(q "$B" -c "SELECT string_agg(id || ':' || body, ',' ORDER BY id) FROM $i")" = "1:one,2:two" ]
		sc tenant-sync --local "$A" --remote "$B" --direction to-remote --table "public.$n" --tenant-column "$n" --tenant 8
		expect_status 0 || { echo "name: $n" >&2; return 1; }
		[ "$(q "$B" -c "SELECT count(*) FROM $i")" = 3 ]
	done
	victims_intact
}

@test "watch --publication and --table: the inserted row of each table, shown under its name" {
	local n i
	for n in 'Foo' 'quo"te' 'x); DROP TABLE victim; --'; do
		i=$(ident "$n")
		q "$A" -c "SET client_min_messages = warning" -c "DROP PUBLICATION IF EXISTS $i" -c "CREATE PUBLICATION $i FOR TABLE $i, victim"
		"$SYNCCTL" watch --db "$A" --format json --publication "$n" --table "$n" >"$W/out" 2>"$W/err" &
		local wpid=$!
		watch_slot_ready "$A" "$wpid"
		q "$A" -c "INSERT INTO victim VALUES (2)" -c "INSERT INTO $i VALUES (9, 7, 'watched')" -c "DELETE FROM victim WHERE id = 2"
		for _ in $(seq 400); do
			grep -q watched "$W/out" && break
			sleep 0.05
		done
		kill -TERM "$wpid"
		wait "$wpid" || { cat "$W/err" >&2; return 1; }
		# JSON names the table as the catalog spells it, schema.table.
		[ "$($PY -c 'import json,sys; print(json.dumps([json.loads(l)["table"] for l in open(sys.argv[1])]))' "$W/out")" = "[$($PY -c 'import json,sys; print(json.dumps("public." + sys.argv[1]))' "$n")]" ]
		q "$A" -c "DELETE FROM $i WHERE id = 9"
	done
	victims_intact
}

@test "slots drop: a name no slot can have is refused, never pasted" {
	sc slots drop "x'; DROP TABLE victim; --" --db "$A" --yes
	[ "$status" -eq 1 ] || [ "$status" -eq 2 ]
	[[ "$stderr$output" == *"x'; DROP TABLE victim; --"* ]]
	[ "$(printf '%s\n' "$stderr$output" | wc -l)" -le 2 ]
	victims_intact
}
