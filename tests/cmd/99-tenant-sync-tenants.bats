#!/usr/bin/env bats
# tenant-sync's scope: --tenant and --tenant-file, many IDs, IDs that look
# like SQL. The IDs reach the servers as one array parameter per table and
# side: the number of statements does not grow with them, and no ID is in
# any statement's text.

load helpers

setup_file() {
	pg_start_pair
}

teardown_file() {
	pg_stop_pair
}

SCHEMA="
CREATE TABLE tenants (id text PRIMARY KEY, name text);
CREATE TABLE items (id int PRIMARY KEY, tenant_id text NOT NULL REFERENCES tenants, title text);
"

setup() {
	W=$BATS_TEST_TMPDIR
	for u in "$A" "$B"; do
		q "$u" -c "DROP SCHEMA public CASCADE" -c "DROP SCHEMA IF EXISTS syncctl CASCADE" -c "CREATE SCHEMA public" -c "$SCHEMA"
	done
}

ts() { sc tenant-sync --local "$A" --remote "$B" "$@"; }

rows() { q "$1" -c "COPY (SELECT * FROM $2 ORDER BY 1) TO STDOUT"; }

@test "--tenant-file: exactly the rows of its tenants cross; an ID with quotes, a semicolon or unicode is data" {
	q "$A" -c "INSERT INTO tenants VALUES ('t1', 'one'), ('o''brien\"x', 'quoted'), ('x''; DROP TABLE items; --', 'sql'),
		('日本 ✓', 'unicode'), (' spaced ', 'spaces kept'), ('t9', 'not in the file'), ('t1'';', 'near t1')" \
		-c "INSERT INTO items VALUES (1, 't1', 'a'), (2, 'o''brien\"x', 'b'), (3, 'x''; DROP TABLE items; --', 'c'),
		(4, '日本 ✓', 'd'), (5, ' spaced ', 'e'), (6, 't9', 'f'), (7, 't1'';', 'g')"
	# CRLF on one line, blank lines, a duplicate.
	printf 't1\r\n\no'"'"'brien"x\nx'"'"'; DROP TABLE items; --\n日本 ✓\n spaced \n\nt1\n' >"$W/tenants.txt"
	ts --direction to-remote --table items --table tenants --tenant-file "$W/tenants.txt" --json
	expect_status 0
	[ "$(json_get "d['status']")" = ok ]
	[ "$(rows "$B" tenants)" = "$(printf '%s\n' " spaced 	spaces kept" "o'brien\"x	quoted" "t1	one" "x'; DROP TABLE items; --	sql" "日本 ✓	unicode")" ]
	[ "$(rows "$B" items)" = "$(printf '%s\n' "1	t1	a" "2	o'brien\"x	b" "3	x'; DROP TABLE items; --	c" "4	日本 ✓	d" "5	 spaced 	e")" ]
	# The source is as it was.
	[ "$(q "$A" -c "SELECT count(*) FROM items")" = 7 ]
	# --tenant and --tenant-file together: both count.
	ts --direction to-remote --table items --table tenants --tenant-file "$W/tenants.txt" --tenant t9 --json
	expect_status 0
	[ "$(q "$B" -c "SELECT string_agg(id::text, ',' ORDER BY id) FROM items")" = 1,2,3,4,5,6 ]
}

@test "--tenant-file without an ID is a usage error naming the file, in one line; nothing is read or written" {
	: >"$W/empty.txt"
	printf '\n\r\n\n' >"$W/blank.txt"
	for f in "$W/empty.txt" "$W/blank.txt"; do
		# Unreachable servers: the file is refused before any connection.
		sc tenant-sync --local "postgresql://127.0.0.1:1/x" --remote "postgresql://127.0.0.1:1/y" \
			--direction to-remote --table items --tenant-file "$f"
		expect_status 2
		[ "$output" = "" ]
		[ "$(printf '%s\n' "$stderr" | wc -l)" = 1 ]
		[[ "$stderr" == *"--tenant-file $f has no tenant IDs"* ]]
		[[ "$stderr" == *"widen the scope to every row"* ]]
	done
	sc tenant-sync --local "$A" --remote "$B" --direction to-remote --table items --tenant-file "$W/missing.txt"
	expect_status 2
	[ "$(printf '%s\n' "$stderr" | wc -l)" = 1 ]
	[[ "$stderr" == *"$W/missing.txt"* ]]
	printf 't1\nt\0x\n' >"$W/nul.txt"
	sc tenant-sync --local "$A" --remote "$B" --direction to-remote --table items --tenant-file "$W/nul.txt"
	expect_status 2
	[[ "$stderr" == *"--tenant-file $W/nul.txt: line 2 has a NUL byte"* ]]
	for u in "$A" "$B"; do
		[ "$(q "$u" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'syncctl'")" = 0 ]
	done
}

@test "50,000 tenants, from a file or as --tenant: one array parameter a table and side, the same statements as for one" {
	q "$A" -c "INSERT INTO tenants SELECT 'tenant-' || lpad(g::text, 6, '0'), 'n' || g FROM generate_series(1, 50010) g" \
		-c "INSERT INTO items SELECT g, 'tenant-' || lpad((g * 7 % 50010 + 1)::text, 6, '0'), 'i' || g FROM generate_series(1, 2000) g"
	seq -f 'tenant-%06g' 1 50000 >"$W/many.txt"
	ts --direction to-remote --table tenants --table items --tenant-file "$W/many.txt" --json -v
	expect_status 0
	many_sql=$(grep -c 'SQL: ' <<<"$stderr")
	[ "$(q "$B" -c "SELECT count(*), min(id), max(id) FROM tenants")" = "50000|tenant-000001|tenant-050000" ]
	[ "$(q "$B" -c "SELECT count(*) FROM items")" = "$(q "$A" -c "SELECT count(*) FROM items WHERE tenant_id <= 'tenant-050000'")" ]
	[ "$(rows "$B" items)" = "$(q "$A" -c "COPY (SELECT * FROM items WHERE tenant_id <= 'tenant-050000' ORDER BY 1) TO STDOUT")" ]
	# No ID in any statement's text.
	[[ "$stderr" != *"tenant-049999"* ]]
	[[ "$stderr" != *"tenant-000001"* ]]
	# The same statements with one ID (a fresh pair, so the runs match).
	for u in "$A" "$B"; do q "$u" -c "DROP SCHEMA syncctl CASCADE"; done
	q "$B" -c "TRUNCATE items, tenants"
	ts --direction to-remote --table tenants --table items --tenant tenant-000008 --json -v
	expect_status 0
	[ "$(grep -c 'SQL: ' <<<"$stderr")" = "$many_sql" ]
	# 50,000 --tenant options on the command line; --direction both with
	# that scope recorded, and the next run stateful.
	for u in "$A" "$B"; do q "$u" -c "DROP SCHEMA syncctl CASCADE"; done
	q "$B" -c "TRUNCATE items, tenants"
	# (No shell loop: bats traps every command, 100,000 of them are slow.)
	mapfile -t args < <(sed 's/^/--tenant\n/' "$W/many.txt")
	[ "${#args[@]}" = 100000 ] && [ "${args[0]} ${args[1]}" = "--tenant tenant-000001" ]
	ts --direction both --table tenants --table items "${args[@]}" --json
	expect_status 0
	[ "$(q "$B" -c "SELECT count(*) FROM tenants")" = 50000 ]
	[ "$(json_get "d['mode']")" = stateless ]
	q "$A" -c "UPDATE tenants SET name = 'edited' WHERE id = 'tenant-000042'"
	q "$A" -c "UPDATE tenants SET name = 'outside' WHERE id = 'tenant-050005'"
	ts --direction both --table tenants --table items "${args[@]}" --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	[ "$(q "$B" -c "SELECT name FROM tenants WHERE id = 'tenant-000042'")" = edited ]
	[ "$(q "$B" -c "SELECT count(*) FROM tenants WHERE id > 'tenant-050000'")" = 0 ]
}

@test "a tenant ID that is not a value of the column's type: exit 2 naming the table, the column and the value" {
	q "$A" -c "CREATE TABLE counters (tenant_id int, n int, PRIMARY KEY (tenant_id, n))"
	q "$B" -c "CREATE TABLE counters (tenant_id int, n int, PRIMARY KEY (tenant_id, n))"
	printf '1\n2\n3; DROP TABLE counters\n' >"$W/ints.txt"
	ts --direction to-remote --table counters --tenant-file "$W/ints.txt"
	expect_status 2
	[ "$(printf '%s\n' "$stderr" | wc -l)" = 1 ]
	[[ "$stderr" == *"--tenant: an ID is not a valid integer for counters.tenant_id: "*'"3; DROP TABLE counters"'* ]]
	[ "$(q "$B" -c "SELECT count(*) FROM counters")" = 0 ]
}

@test "conflict keys and table names in text output are shown with control characters escaped" {
	for u in "$A" "$B"; do
		q "$u" -c "CREATE TABLE esc (id text PRIMARY KEY, v text)" \
			-c "CREATE TABLE \"e$(printf '\033')[2Jx\" (id text PRIMARY KEY, v text)"
	done
	q "$A" -c "INSERT INTO esc VALUES (E'k\\x1b]0;pwned\\x07\\n2', 'a')" \
		-c "INSERT INTO \"e$(printf '\033')[2Jx\" VALUES ('same', 'a')"
	q "$B" -c "INSERT INTO esc VALUES (E'k\\x1b]0;pwned\\x07\\n2', 'b')" \
		-c "INSERT INTO \"e$(printf '\033')[2Jx\" VALUES ('same', 'b')"
	ts --direction both --table esc --table "e$(printf '\033')[2Jx"
	expect_status 1
	[[ "$output" != *$'\033'* ]]
	[[ "$output" != *$'\007'* ]]
	[[ "$output" == *'esc: conflict ('*'): k\x1b]0;pwned\x07\x0a2'* ]]
	[[ "$output" == *'e\x1b[2Jx: conflict ('*'): same'* ]]
	# -v --dry-run prints the keys as the run goes: escaped too.
	ts --direction both --table esc --dry-run -v
	[[ "$output" != *$'\033'* ]]
	[[ "$output" == *'k\x1b]0;pwned\x07\x0a2'* ]]
}

@test "--format nagios and prometheus: a refused delete is critical naming the table, the mode a metric; --restore as checks" {
	q "$A" -c "INSERT INTO tenants SELECT 't' || g, 'n' FROM generate_series(1, 300) g"
	ts --direction both --table tenants --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateless ]
	q "$A" -c "DELETE FROM tenants"
	ts --direction both --table tenants --delete --format nagios
	expect_status 2
	[[ "$(head -1 <<<"$output")" == "SYNCCTL CRITICAL - "* ]]
	[[ "$output" == *"tenant_sync.delete_refused.tenants"*"refused to delete 300 of the 300 rows on remote"* ]]
	[[ "$output" == *"tenant_sync.table.tenants_stateful=1;;;"* ]]
	[ "$(q "$B" -c "SELECT count(*) FROM tenants")" = 300 ]
	ts --direction both --table tenants --delete --allow-big-delete --json
	expect_status 0
	run_id=$(json_get "d['run_id']")
	[ "$(q "$B" -c "SELECT count(*) FROM tenants")" = 0 ]
	ts --restore "$run_id" --format prometheus
	expect_status 0
	[[ "$output" == *'syncctl_check_status{check="tenant_sync.restore.remote.public.tenants",group="tenant-sync"} 0'* ]]
	[[ "$output" == *'syncctl_restored_rows{check="tenant_sync.restore.remote.public.tenants",group="tenant-sync"} 300'* ]]
	[ "$(q "$B" -c "SELECT count(*) FROM tenants")" = 300 ]
}
