#!/usr/bin/env bats
# Hostile input, honest output: terminal escapes from outside shown escaped
# in every text renderer, every --json document valid UTF-8 whatever the
# bytes, NUL kept as what it is, nothing on stderr the command did not
# choose to print, and no secret in any message, -v line or JSON.
# (The token side of the same rules is in 51-token-hostile.bats.)

load helpers

ESC=$'\e'
BEL=$'\a'

setup_file() {
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	local e=$'\e' b=$'\a'
	# Names and values a hostile application could store.
	q "$URI" -c "CREATE TABLE \"e${e}[2Jx${b}\" (id text PRIMARY KEY, body text)" \
		-c "INSERT INTO \"e${e}[2Jx${b}\" VALUES ('k${e}]0;pwned${b}', 'v${e}[31m')" \
		-c "CREATE TABLE \"Foo\" (id text PRIMARY KEY)" \
		-c "INSERT INTO \"Foo\" VALUES ('f-1'), ('f-2')" \
		-c "CREATE PUBLICATION powersync FOR ALL TABLES"
	# A database that keeps any byte: SQL_ASCII stores what it is given.
	q "$URI" -c "CREATE DATABASE raw ENCODING SQL_ASCII LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
	export RAW=${URI%/*}/raw
	printf 'CREATE TABLE "t\xff\xfe" (id text PRIMARY KEY, body text);\nINSERT INTO "t\xff\xfe" VALUES ($$\xc0\xaf$$, $$\xff\xfe\xc0\xaf$$);\nCREATE PUBLICATION powersync FOR ALL TABLES;\n' >"$BATS_FILE_TMPDIR/raw.sql"
	q "$RAW" -f "$BATS_FILE_TMPDIR/raw.sql"
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# The segments the shm test leaves (their processes are gone).
teardown() {
	local f
	for f in /dev/shm/mongoc-*; do
		[ -e "$f" ] || continue
		kill -0 "${f##*-}" 2>/dev/null || rm -f "$f"
	done
}

# no_raw_controls: neither stdout nor stderr holds a control character
# other than newline and tab (colour is off: NO_COLOR).
no_raw_controls() {
	if printf '%s%s' "$output" "$stderr" | LC_ALL=C grep -qP '[\x00-\x08\x0b-\x1f\x7f]'; then
		echo "raw control characters in:" >&2
		printf '%s\n%s\n' "$output" "$stderr" | od -c | head -40 >&2
		return 1
	fi
}

# valid_json_utf8 FILE: the file is one JSON document (or JSON Lines with
# --lines), strictly UTF-8.
valid_json_utf8() {
	$PY - "$@" <<'EOF'
import json, sys
data = open(sys.argv[1], "rb").read().decode("utf-8", errors="strict")
if len(sys.argv) > 2:
    for line in data.splitlines():
        json.loads(line)
else:
    json.loads(data)
EOF
}

# scj ARGS..: sc, with stdout also kept as bytes in $W/out.json.
scj() {
	status=0
	"$SYNCCTL" "$@" >"$W/out.json" 2>"$W/err" || status=$?
	output=$(cat "$W/out.json")
	stderr=$(cat "$W/err")
	! grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/err"
}

@test "publications: a table name with ESC and BEL, escaped in text, nagios and check messages" {
	sc publications --db "$URI"
	expect_status 0
	no_raw_controls
	[[ "$output" == *'public."e\x1b[2Jx\x07"'* ]]
	sc publications --db "$URI" --table "\"missing${ESC}[2J\""
	expect_status 1
	no_raw_controls
	[[ "$output$stderr" == *'missing\x1b[2J'* ]]
	sc publications --db "$URI" --table "\"missing${ESC}[2J\"" --format nagios
	no_raw_controls
	[[ "$output" == *'missing\x1b[2J'* ]]
	# JSON keeps the name as it is, escaped the JSON way.
	sc publications --db "$URI" --json
	[ "$(json_get "[t for p in d['publications'] for t in p['tables'] if t.startswith('public.\"e')][0]")" = "public.\"e${ESC}[2Jx${BEL}\"" ]
}

@test "server messages: a database name with ESC in the server's error, escaped" {
	sc slots --db "${URI%/*}/no${ESC}]0;title${BEL}db"
	expect_status 3
	no_raw_controls
	[[ "$stderr$output" == *'no\x1b]0;title\x07db'* ]]
}

@test "watch: table names and values with ESC and BEL escaped in text lines, kept in JSON lines" {
	"$SYNCCTL" watch --db "$URI" >"$W/out" 2>"$W/err" &
	local wpid=$!
	watch_slot_ready "$URI" "$wpid"
	q "$URI" -c "INSERT INTO \"e${ESC}[2Jx${BEL}\" VALUES ('w${ESC}c', 'b${BEL}${ESC}[?1049h')"
	for _ in $(seq 400); do
		grep -q 'w\\x1bc' "$W/out" && break
		sleep 0.05
	done
	kill -TERM "$wpid"
	wait "$wpid"
	output=$(cat "$W/out") stderr=$(cat "$W/err")
	no_raw_controls
	[[ "$output" == *"  public.e\\x1b[2Jx\\x07  INSERT  [id='w\\x1bc']  id='w\\x1bc' "* ]]
	[[ "$output" == *"body='b\\x07\\x1b[?1049h'"* ]]
}

@test "watch --format json: a value of invalid UTF-8 bytes is valid JSON Lines" {
	"$SYNCCTL" watch --db "$RAW" --format json >"$W/out.json" 2>"$W/err" &
	local wpid=$!
	watch_slot_ready "$RAW" "$wpid"
	printf 'INSERT INTO "t\xff\xfe" VALUES ($$w\xff$$, $$\xfe\xc0\xaf\x1b$$);\n' | q "$RAW"
	for _ in $(seq 400); do
		[ -s "$W/out.json" ] && break
		sleep 0.05
	done
	kill -TERM "$wpid"
	wait "$wpid"
	valid_json_utf8 "$W/out.json" --lines
	# Each byte that is not UTF-8 is U+FFFD; the control character is \u001b.
	[ "$($PY -c 'import json,sys; d=json.loads(open(sys.argv[1],encoding="utf-8").readline()); print(ascii([d["table"], d["new"]["body"]]))' "$W/out.json")" = "['public.t\\ufffd\\ufffd', '\\ufffd\\ufffd\\ufffd\\x1b']" ]
}

@test "--json is valid UTF-8 on a database of invalid bytes: publications, slots, rules validate, compare, doctor, tenant-sync" {
	local t
	t=$(printf 't\xff\xfe')
	scj publications --db "$RAW" --json
	expect_status 0
	valid_json_utf8 "$W/out.json"
	[ "$(json_get "d['publications'][0]['tables']")" = '["public.\"t\ufffd\ufffd\""]' ]
	scj slots --db "$RAW" --json
	valid_json_utf8 "$W/out.json"
	printf 'bucket_definitions:\n  g:\n    data:\n      - SELECT id, body FROM "t%%"\n' >"$W/rules.yaml"
	scj rules validate "$W/rules.yaml" --db "$RAW" --json
	expect_status 0
	valid_json_utf8 "$W/out.json"
	scj doctor --db "$RAW" --json
	valid_json_utf8 "$W/out.json"
	# A SQL_ASCII database's names and values pass as they are, both ways.
	q "$URI" -c "CREATE DATABASE raw2 ENCODING SQL_ASCII LC_COLLATE 'C' LC_CTYPE 'C' TEMPLATE template0"
	printf 'CREATE TABLE "t\xff\xfe" (id text PRIMARY KEY, body text);\n' | q "${URI%/*}/raw2"
	scj tenant-sync --local "$RAW" --remote "${URI%/*}/raw2" --direction to-remote --table "$t" --json
	expect_status 0
	valid_json_utf8 "$W/out.json"
	[ "$(q "${URI%/*}/raw2" -c "SELECT count(*) FROM \"$t\"")" = "$(q "$RAW" -c "SELECT count(*) FROM \"$t\"")" ]
	scj compare --server "$RAW" --local "${URI%/*}/raw2" --checksum --ids --json
	expect_status 0
	valid_json_utf8 "$W/out.json"
	[ "$(json_get "[t['checksum'] for t in d['tables']]")" = '["same"]' ]
	# A client database holds any bytes too.
	$PY -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.executescript("CREATE TABLE x (id TEXT PRIMARY KEY); INSERT INTO x VALUES (CAST(X'"'FFFE41'"' AS TEXT))")' "$W/c.db"
	q "$URI" -c "CREATE TABLE IF NOT EXISTS x (id text PRIMARY KEY)"
	scj compare --server "$URI" --local "$W/c.db" --ids --json
	expect_status 1
	valid_json_utf8 "$W/out.json"
	[ "$(json_get "[t['only_local_ids'] for t in d['tables'] if t['name']=='x'][0]")" = '["\ufffd\ufffdA"]' ]
	sc compare --server "$URI" --local "$W/c.db" --ids
	[[ "$output" == *'x: only local: \xff\xfeA'* ]]
}

@test "rules validate: ESC in the file is refused; ESC from a YAML escape is shown escaped under the caret" {
	printf 'bucket_definitions:\n  g:\n    data:\n      - SELECT id, body FROM t WHERE no_such_fn(\x1b[2J, id)\n' >"$W/rules.yaml"
	sc rules validate "$W/rules.yaml"
	expect_status 2
	no_raw_controls
	[[ "$stderr" == *"rules.yaml: byte 83: control characters are not allowed (the file must be UTF-8 text)" ]]
	printf 'bucket_definitions:\n  g:\n    data:\n      - "SELECT id, body FROM t WHERE no_such_fn(\\e[2J\\a, id)"\n' >"$W/rules.yaml"
	sc rules validate "$W/rules.yaml"
	expect_status 1
	no_raw_controls
	[[ "$output" == *'error: syntax error at or near "\x1b" [g]'* ]]
}

@test "service: an error answer with ESC, and a diagnostics document nested 20,000 deep, named for what they are" {
	mkdir -p "$W/c"
	for p in startup liveness readiness; do echo '{}' >"$W/c/probes_$p.body"; done
	$PY -c 'import sys; sys.stdout.write("{\"data\":" + "[" * 20000 + "]" * 20000 + "}")' >"$W/c/api_admin_v1_diagnostics.body"
	echo tok >"$W/tok"
	start_server canned_http.py "$W/c"
	sc service --service "http://127.0.0.1:$PORT" --api-token-file "$W/tok" --json
	expect_status 1
	[ "$(check_field service.diagnostics message)" = "diagnostics answered HTTP 200 with a body that is not JSON: nested deeper than 1000 levels" ]
	# An error envelope whose description carries terminal escapes.
	printf '{"error":{"code":"PSYNC_S2101","status":401,"description":"no\\u001b]0;pwned\\u0007 \\u001b[2J","name":"AuthorizationError"}}' >"$W/c/api_admin_v1_diagnostics.body"
	echo 401 >"$W/c/api_admin_v1_diagnostics.status"
	sc service --service "http://127.0.0.1:$PORT" --api-token-file "$W/tok"
	expect_status 1
	no_raw_controls
	[[ "$output" == *'no\x1b]0;pwned\x07 \x1b[2J'* ]]
	# Invalid UTF-8 in it: --json stays valid.
	printf '{"error":{"code":"PSYNC_S2101","status":401,"description":"\xff\xfe\xc0\xaf","name":"AuthorizationError"}}' >"$W/c/api_admin_v1_diagnostics.body"
	scj service --service "http://127.0.0.1:$PORT" --api-token-file "$W/tok" --json
	valid_json_utf8 "$W/out.json"
	stop_server
}

@test "compare --ids with a client database: a mixed-case table, ids with ESC, an upload type with NUL" {
	$PY - "$W/client.db" <<'EOF'
import sqlite3, sys
db = sqlite3.connect(sys.argv[1])
db.executescript("""
CREATE TABLE "ps_data__Foo" (id TEXT PRIMARY KEY, data TEXT);
CREATE TABLE "ps_data__e\x1b[2Jx\x07" (id TEXT PRIMARY KEY, data TEXT);
CREATE TABLE ps_crud (id INTEGER PRIMARY KEY AUTOINCREMENT, data TEXT, tx_id INTEGER);
INSERT INTO "ps_data__Foo" VALUES ('f-1', '{}'), ('f-9', '{}');
INSERT INTO "ps_data__e\x1b[2Jx\x07" VALUES ('local\x1b[5m', '{}');
""")
db.execute("INSERT INTO ps_crud (data, tx_id) VALUES (?, 1)", ['{"op":"PUT","type":"Foo\\u0000.evil","id":"x"}'])
db.execute("INSERT INTO ps_crud (data, tx_id) VALUES (?, 1)", ['{"op":"PUT","type":"Foo","id":"y"}'])
db.commit()
EOF
	sc compare --server "$URI" --local "$W/client.db" --ids --json
	expect_status 1
	[ "$(json_get "[t['only_local_ids'] for t in d['tables'] if t['name']=='Foo'][0]")" = '["f-9"]' ]
	[ "$(json_get "[t['only_server_ids'] for t in d['tables'] if t['name']=='Foo'][0]")" = '["f-2"]' ]
	# The upload whose type holds a NUL is its own type, shown with it.
	[ "$(json_get "sorted(d['pending_by_table'].keys())")" = '["Foo", "Foo\u0000.evil"]' ]
	sc compare --server "$URI" --local "$W/client.db" --ids
	expect_status 1
	no_raw_controls
	[[ "$output" == *'local\x1b[5m'* ]]
	[[ "$output" == *'k\x1b]0;pwned\x07'* ]]
	[[ "$output" == *'Foo\u0000.evil'* ]]
}

@test "compare: a client database whose path has ?, # and %" {
	mkdir -p "$W/a?b#c%41"
	$PY -c 'import sqlite3,sys; db=sqlite3.connect(sys.argv[1]); db.execute("CREATE TABLE \"Foo\" (id TEXT PRIMARY KEY)"); db.execute("INSERT INTO \"Foo\" VALUES (\"f-1\"), (\"f-2\")"); db.commit()' "$W/a?b#c%41/client.db"
	sc compare --server "$URI" --local "$W/a?b#c%41/client.db" --table Foo --json
	expect_status 0
	[ "$(json_get "[t['local'] for t in d['tables']]")" = '[2]' ]
	[ ! -e "$W/a" ]
}

@test "no stray stderr: a stale libmongoc segment of the process's own PID" {
	local asan=
	[[ "$SYNCCTL" == */asan/* ]] && asan=verify_asan_link_order=0:
	# Reproduced: libmongoc loaded before main (as it was when linked)
	# finds the segment and warns on stderr.
	run bash -c 'touch /dev/shm/mongoc-$$; LD_PRELOAD=libmongoc-1.0.so.0 ASAN_OPTIONS=$1$ASAN_OPTIONS exec "$0" version 2>&1 >/dev/null; ' "$SYNCCTL" "$asan"
	[[ "$output" == *"Falling back to malloc for counters"* ]]
	# syncctl as built: nothing, with libmongoc unused or used.
	for cmd in "version" "rules validate /dev/null" "storage --storage mongodb://127.0.0.1:1/x --timeout 1" "storage --storage mongodb://127.0.0.1:1/x --timeout 1 --json"; do
		run bash -c 'touch /dev/shm/mongoc-$$; exec "$0" '"$cmd"' 2>&1 >/dev/null' "$SYNCCTL"
		[[ "$output" != *"mongoc"* ]] || { echo "$cmd: $output" >&2; return 1; }
		[[ "$output" != *"WARNING"* ]]
	done
	run bash -c 'touch /dev/shm/mongoc-$$; exec "$0" version 2>&1 >/dev/null' "$SYNCCTL"
	[ -z "$output" ]
	run bash -c 'touch /dev/shm/mongoc-$$; exec "$0" storage --storage mongodb://127.0.0.1:1/x --timeout 1 -q 2>&1 >/dev/null' "$SYNCCTL"
	[ "$(printf '%s\n' "$output" | grep -c .)" -le 1 ]
	[[ "$output" != *mongoc:* ]]
}

@test "YAML: a \\0 escape in a service config or rules value is refused where it is, never cut at the NUL" {
	printf 'replication:\n  connections:\n    - type: postgresql\n      uri: postgresql://postgres:pw@127.0.0.1:5432/db\n      sslmode: disable\nport: 8080\nclient_auth:\n  jwks:\n    keys:\n      - kty: oct\n        kid: "k1\\0x"\n        k: c2VjcmV0\n        alg: HS256\n' >"$W/ps.yaml"
	sc doctor --powersync-config "$W/ps.yaml" --only config
	expect_status 2
	[ "$stderr" = "syncctl doctor: error: powersync config $W/ps.yaml:11:14: a NUL character (\\0) in a value: not supported" ]
	printf 'bucket_definitions:\n  g:\n    data:\n      - "SELECT id FROM t\\0 x"\n' >"$W/rules.yaml"
	sc rules validate "$W/rules.yaml"
	expect_status 2
	[ "$stderr" = "syncctl rules: error: $W/rules.yaml:4:9: a NUL character (\\0) in a value: not supported" ]
}
