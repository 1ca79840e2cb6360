#!/usr/bin/env bats
# syncctl compare: a real PowerSync client database built by the official
# SDK (@powersync/node), and Postgres against Postgres.

load helpers

setup_file() {
	export PEERS=$("$ROOT/tests/lib/npm-peers" @powersync/node@1.1.0 better-sqlite3@12.11.1)
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	q "$URI" -c "CREATE TABLE todos (id text PRIMARY KEY, description text, list_id text, owner_id text, done int)" \
		-c "CREATE TABLE lists (id text PRIMARY KEY, name text, owner_id text)" \
		-c "INSERT INTO todos VALUES ('t-1', 'a', NULL, 'alice', 0), ('t-2', 'b', NULL, 'alice', 0), ('t-3', 'c', NULL, 'bob', 0)" \
		-c "INSERT INTO lists VALUES ('l-1', 'shared', 'alice')"
	# The client database, held open by the app (WAL mode) while compare runs.
	export CLIENT=$BATS_FILE_TMPDIR/client
	mkdir -p "$CLIENT"
	mkfifo "$BATS_FILE_TMPDIR/hold"
	(cd "$PEERS" && node powersync_client.mjs "$CLIENT" <"$BATS_FILE_TMPDIR/hold" >"$BATS_FILE_TMPDIR/app.out" 2>&1) 3>&- &
	exec 7>"$BATS_FILE_TMPDIR/hold"
	for _ in $(seq 300); do grep -q ready "$BATS_FILE_TMPDIR/app.out" 2>/dev/null && break; sleep 0.1; done
	grep -q ready "$BATS_FILE_TMPDIR/app.out"
	pg_start
	export URI2=$PGTMP_URI DIR2=$PGTMP_DIR
}

teardown_file() {
	exec 7>&- || true
	pg_stop "$DIR"
	pg_stop "$DIR2"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

@test "client database: counts, pending uploads by table and operation, untyped rows, local-only tables" {
	[ -s "$CLIENT/client.db-wal" ]
	sc compare --server "$URI" --local "$CLIENT/client.db" --json
	expect_status 1
	[ "$(json_get "[(t['name'], t['local'], t['server'], t['pending_uploads'], t['status']) for t in d['tables']]")" = '[["lists", 1, 1, 0, "in_sync"], ["todos", 4, 3, 4, "local_ahead"]]' ]
	[ "$(json_get "d['pending_uploads']")" = 4 ]
	[ "$(json_get "d['pending_by_table']")" = '{"todos": {"DELETE": 1, "PATCH": 1, "PUT": 2}}' ]
	[ "$(json_get "d['untyped']")" = '{"comments": 2, "tags": 1}' ]
	[ "$(json_get "d['local_only_tables']")" = '[{"name": "drafts", "count": 1}]' ]
	[ "$(json_get "d['last_sync']")" = "2026-11-18 11:06:40Z" ]
	[ "$(json_get "d['in_sync']")" = false ]
}

@test "client database: opened read-only while the app holds it; neither the file nor its -wal changes" {
	before=$(sha256sum "$CLIENT/client.db" "$CLIENT/client.db-wal")
	sc compare --server "$URI" --local "$CLIENT/client.db" --ids
	expect_status 1
	[ "$(sha256sum "$CLIENT/client.db" "$CLIENT/client.db-wal")" = "$before" ]
	[[ "$output" == *"todos: only local: t-4"* ]]
	[[ "$output" == *"pending uploads, todos: DELETE 1 PATCH 1 PUT 2"* ]]
	[[ "$output" == *"NOT in sync: 1 of 2 tables differ, 4 pending uploads"* ]]
}

@test "--user with --rules: the server counts what that user should have" {
	printf 'bucket_definitions:\n  user_todos:\n    parameters: SELECT request.user_id() AS owner\n    data:\n      - SELECT * FROM todos WHERE owner_id = bucket.owner\n  global:\n    data:\n      - SELECT * FROM lists\n' >"$W/rules.yaml"
	sc compare --server "$URI" --local "$CLIENT/client.db" --user alice --rules "$W/rules.yaml" --json
	[ "$(json_get "[(t['name'], t['server'], t['status']) for t in d['tables']]")" = '[["lists", 1, "in_sync"], ["todos", 2, "local_ahead"]]' ]
	sc compare --server "$URI" --local "$CLIENT/client.db" --user bob --rules "$W/rules.yaml" --json
	[ "$(json_get "[t['server'] for t in d['tables'] if t['name'] == 'todos'][0]")" = 1 ]
	sc compare --server "$URI" --local "$CLIENT/client.db" --user alice --rules "$W/rules.yaml" --ids --table todos --json
	[ "$(json_get "d['tables'][0]['only_local_ids']")" = '["t-3", "t-4"]' ]
}

@test "--user: a table whose rules this command cannot evaluate is unscoped, with the reason" {
	printf 'bucket_definitions:\n  odd:\n    parameters: SELECT request.user_id() AS owner\n    data:\n      - SELECT * FROM todos WHERE upper(owner_id) = bucket.owner\n' >"$W/rules.yaml"
	sc compare --server "$URI" --local "$CLIENT/client.db" --user alice --rules "$W/rules.yaml" --json --table todos
	expect_status 1
	[ "$(json_get "d['tables'][0]['status']")" = unscoped ]
	[ "$(json_get "d['tables'][0]['server']")" = 3 ]
	[ "$(json_get "d['tables'][0]['reason']")" = "its filter uses a function other than request.user_id()" ]
}

@test "Postgres vs Postgres: equal databases are in sync (exit 0)" {
	q "$URI2" -c "CREATE TABLE todos (id text PRIMARY KEY, description text, list_id text, owner_id text, done int)" \
		-c "CREATE TABLE lists (id text PRIMARY KEY, name text, owner_id text)" \
		-c "INSERT INTO todos VALUES ('t-1', 'a', NULL, 'alice', 0), ('t-2', 'b', NULL, 'alice', 0), ('t-3', 'c', NULL, 'bob', 0)" \
		-c "INSERT INTO lists VALUES ('l-1', 'shared', 'alice')"
	sc compare --server "$URI" --local "$URI2" --checksum --json
	expect_status 0
	[ "$(json_get "[(t['name'], t['status'], t['checksum']) for t in d['tables']]")" = '[["lists", "in_sync", "same"], ["todos", "in_sync", "same"]]' ]
	sc compare --server "$URI" --local "$URI2"
	expect_status 0
	[[ "${output##*$'\n'}" == "in sync: 2 tables" ]]
}

@test "Postgres vs Postgres: a missing row, and a changed row --checksum catches while counts agree" {
	q "$URI2" -c "DELETE FROM todos WHERE id = 't-3'"
	sc compare --server "$URI" --local "$URI2" --ids --json
	expect_status 1
	[ "$(json_get "[(t['name'], t['status']) for t in d['tables']]")" = '[["lists", "in_sync"], ["todos", "local_behind"]]' ]
	[ "$(json_get "[t['only_server_ids'] for t in d['tables'] if t['name'] == 'todos'][0]")" = '["t-3"]' ]
	q "$URI2" -c "INSERT INTO todos VALUES ('t-3', 'c', NULL, 'bob', 1)"
	sc compare --server "$URI" --local "$URI2" --json
	expect_status 0
	sc compare --server "$URI" --local "$URI2" --checksum --json
	expect_status 1
	[ "$(json_get "[[t['name'], t['status'], t['checksum']] for t in d['tables'] if t['name'] == 'todos'][0]")" = '["todos", "differs", "differs"]' ]
	q "$URI2" -c "UPDATE todos SET done = 0 WHERE id = 't-3'"
}

@test "Postgres vs Postgres: a table missing on one side" {
	q "$URI2" -c "CREATE TABLE extra (id int PRIMARY KEY)"
	sc compare --server "$URI" --local "$URI2" --json
	expect_status 1
	[ "$(json_get "[t['status'] for t in d['tables'] if t['name'] == 'extra'][0]")" = missing_server ]
	q "$URI2" -c "DROP TABLE extra" -c "DROP TABLE lists"
	sc compare --server "$URI" --local "$URI2" --json
	[ "$(json_get "[t['status'] for t in d['tables'] if t['name'] == 'lists'][0]")" = missing_local ]
}

@test "bad input: not SQLite, a truncated file, a missing file, a locked database: exit 2, one line" {
	printf 'this is not a database at all, just text\n%.0s' $(seq 100) >"$W/text.db"
	/usr/bin/python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE t (v text)')
c.executemany('INSERT INTO t VALUES (?)', [('x' * 100,)] * 2000); c.commit()" "$W/whole.db"
	head -c 20000 "$W/whole.db" >"$W/truncated.db"
	for f in "$W/text.db" "$W/truncated.db" "$W/missing.db"; do
		sc compare --server "$URI" --local "$f"
		expect_status 2
		[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || { echo "$f: $stderr" >&2; false; }
	done
	[[ "$stderr" == *"no such file"* ]]
	/usr/bin/python3 -c "
import sqlite3, sys, time
c = sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE t (id text)'); c.commit()
c.isolation_level = None; c.execute('BEGIN EXCLUSIVE'); c.execute('INSERT INTO t VALUES (1)')
print('locked', flush=True); time.sleep(6)" "$W/locked.db" >"$W/lock.out" &
	for _ in $(seq 100); do grep -q locked "$W/lock.out" 2>/dev/null && break; sleep 0.1; done
	grep -q locked "$W/lock.out"
	sc compare --server "$URI" --local "$W/locked.db" --timeout 1
	expect_status 2
	[[ "$stderr" == *"locked"* ]]
}

@test "a SQLite file without PowerSync tables is compared table by table" {
	/usr/bin/python3 -c "
import sqlite3, sys
c = sqlite3.connect(sys.argv[1]); c.execute('CREATE TABLE lists (id text PRIMARY KEY, name text)')
c.execute(\"INSERT INTO lists VALUES ('l-1', 'shared'), ('l-9', 'only here')\"); c.commit()" "$W/plain.db"
	sc compare --server "$URI" --local "$W/plain.db" --ids --json
	expect_status 1
	[ "$(json_get "[(t['name'], t['local'], t['server'], t['status']) for t in d['tables']]")" = '[["lists", 2, 1, "local_ahead"]]' ]
	[ "$(json_get "d['tables'][0]['only_local_ids']")" = '["l-9"]' ]
	[ "$(json_get "'pending_by_table' in d")" = false ]
}

@test "usage: --local is required" {
	sc compare --server "$URI"
	expect_status 2
	[[ "$stderr" == *"--local PATH|URI is required"* ]]
}
