#!/usr/bin/env bats
# syncctl tenant-sync between two real Postgres servers whose TimeZone
# settings differ. Every result is checked row by row: each table is dumped
# on both sides (COPY, under one time zone) and the dumps compared.

load helpers

setup_file() {
	pg_start --conf "timezone = 'America/New_York'" --hba "host all alice 127.0.0.1/32 scram-sha-256"
	export A=$PGTMP_URI ADIR=$PGTMP_DIR APORT=$PGTMP_PORT
	pg_start --conf "timezone = 'Asia/Kolkata'"
	export B=$PGTMP_URI BDIR=$PGTMP_DIR
	q "$A" -c "CREATE ROLE alice LOGIN PASSWORD 'right-horse-battery'"
}

teardown_file() {
	pg_stop "$ADIR"
	pg_stop "$BDIR"
}

SCHEMA="
CREATE TABLE tenants (id text PRIMARY KEY, name text);
CREATE TABLE items (
  id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
  tenant_id text NOT NULL REFERENCES tenants,
  title text, body jsonb, raw bytea, tags text[], amount numeric(12,3), score float8,
  at timestamptz, updated_at timestamptz NOT NULL DEFAULT '2026-01-01 00:00:00+00',
  doubled bigint GENERATED ALWAYS AS (id * 2) STORED);
CREATE TABLE notes (id serial PRIMARY KEY, tenant_id text NOT NULL REFERENCES tenants,
  item_id bigint REFERENCES items, body text);
CREATE TABLE members (tenant_id text, user_id int, role text, PRIMARY KEY (tenant_id, user_id));
"

DATA="
INSERT INTO tenants VALUES ('t1', 'One'), ('t2', 'Two ✓'), ('o''brien\"x', 'quoted');
INSERT INTO items (tenant_id, title, body, raw, tags, amount, score, at) OVERRIDING SYSTEM VALUE VALUES
  ('t1', 'zażółć gęślą 日本', '{\"a\": [1, 2, {\"b\": null}], \"ü\": \"x\"}', '\\x00ff10', '{a,\"b c\",NULL}', 12.5, 0.1, '2024-02-29 23:59:59.123456+05:30'),
  ('t1', NULL, NULL, NULL, NULL, NULL, NULL, NULL),
  ('t2', E'tab\\there\\nnewline \\\\ backslash', '[]', '\\x', '{}', -0.001, -1e300, '1999-12-31 23:00:00-08'),
  ('o''brien\"x', 'quoted tenant', '{\"k\": \"it''s\"}', '\\xdeadbeef', '{x}', 1, 1.5, 'infinity');
INSERT INTO notes (tenant_id, item_id, body) VALUES ('t1', 1, 'first'), ('t2', 3, 'second'), ('t1', NULL, NULL);
INSERT INTO members VALUES ('t1', 1, 'owner'), ('t1', 2, 'member'), ('t2', 1, 'owner');
"

setup() {
	W=$BATS_TEST_TMPDIR
	for u in "$A" "$B"; do
		q "$u" -c "DROP SCHEMA public CASCADE" -c "DROP SCHEMA IF EXISTS syncctl CASCADE" -c "CREATE SCHEMA public" -c "$SCHEMA"
	done
}

# dump URI TABLE: the table's rows in key order, under one time zone.
dump() {
	PGTZ=UTC q "$1" -c "COPY (SELECT * FROM $2 ORDER BY 1, 2) TO STDOUT"
}

# same TABLE...: the tables are equal row by row on both sides.
same() {
	local t
	for t in "$@"; do
		if [ "$(dump "$A" "$t")" != "$(dump "$B" "$t")" ]; then
			echo "table $t differs:" >&2
			diff <(dump "$A" "$t") <(dump "$B" "$t") >&2 || true
			return 1
		fi
	done
}

ts() { sc tenant-sync --local "$A" --remote "$B" "$@"; }

# count DIRECTION TABLE FIELD: a figure from the JSON report.
count() {
	json_get "[t for t in d['tables'] if t['table']=='$2' and t['direction']=='$1'][0]['$3']"
}

@test "to-remote into an empty target: every type row by row, parents first, identity and sequences" {
	q "$A" -c "$DATA"
	# Children named first: the foreign keys order the writes.
	ts --direction to-remote --table notes --table members --table items --table tenants --json
	expect_status 0
	[ -z "$stderr" ]
	same tenants items notes members
	# Written parents first: tenants before items before notes.
	[ "$(json_get "[t['table'] for t in d['tables']]")" = '["members", "tenants", "items", "notes"]' ]
	[ "$(count to-remote items inserted)" = 4 ]
	[ "$(count to-remote items method)" = copy ]
	[ "$(json_get "d['written']")" = true ]
	# timestamptz kept its instant across servers in different zones.
	[ "$(q "$B" -c "SELECT at = '2024-02-29 18:29:59.123456+00' FROM items WHERE id = 1")" = t ]
	[ "$(q "$B" -c "SELECT raw = '\\x00ff10'::bytea AND tags = '{a,\"b c\",NULL}'::text[] AND body->'a'->2 = '{\"b\": null}' FROM items WHERE id = 1")" = t ]
	# The generated column is computed on the target; sequences moved past
	# the synced values, so the target's next insert does not collide.
	[ "$(q "$B" -c "SELECT doubled FROM items WHERE id = 4")" = 8 ]
	[ "$(q "$B" -c "INSERT INTO items (tenant_id) VALUES ('t1') RETURNING id")" = 5 ]
	[ "$(q "$B" -c "INSERT INTO notes (tenant_id) VALUES ('t1') RETURNING id")" = 4 ]
	# A second run finds nothing to do.
	q "$B" -c "DELETE FROM items WHERE id = 5" -c "DELETE FROM notes WHERE id = 4"
	ts --direction to-remote --table tenants --table items --table notes --table members --json
	expect_status 0
	[ "$(count to-remote items unchanged)" = 4 ]
	[ "$(count to-remote items inserted)" = 0 ]
	[ "$(count to-remote items updated)" = 0 ]
	[ "$(count to-remote items method)" = diff ]
}

@test "to-remote: differing rows updated, missing inserted, extra kept; --delete removes them children first" {
	q "$A" -c "$DATA"
	q "$B" -c "$DATA"
	q "$A" -c "UPDATE items SET title = 'changed ✓', body = body || '{\"n\": 1.50}', at = NULL WHERE id = 1" \
		-c "UPDATE items SET title = 'now set', raw = '\\x01', tags = '{NULL}' WHERE id = 2" \
		-c "UPDATE members SET role = 'admin' WHERE user_id = 2" \
		-c "INSERT INTO items (tenant_id, title) VALUES ('t2', 'new on local')" \
		-c "INSERT INTO members VALUES ('t2', 9, 'new')"
	q "$B" -c "INSERT INTO tenants VALUES ('t9', 'remote only')" \
		-c "INSERT INTO items (tenant_id, title) OVERRIDING SYSTEM VALUE VALUES ('t9', 'remote only')" \
		-c "INSERT INTO notes (id, tenant_id, item_id, body) VALUES (50, 't9', 5, 'child of a remote-only item')"
	# items 5 exists on both now (different rows): updated to local's.
	ts --direction to-remote --table tenants --table items --table notes --table members --json
	expect_status 0
	[ "$(count to-remote items updated)" = 3 ]
	[ "$(count to-remote items inserted)" = 0 ]
	[ "$(count to-remote items unchanged)" = 2 ]
	[ "$(count to-remote members updated)" = 1 ]
	[ "$(count to-remote members inserted)" = 1 ]
	[ "$(count to-remote tenants deleted)" = 0 ]
	same items members
	[ "$(q "$B" -c "SELECT count(*) FROM tenants WHERE id = 't9'")" = 1 ]
	[ "$(q "$B" -c "SELECT body FROM notes WHERE id = 50")" = "child of a remote-only item" ]
	# --delete: notes 50 goes before the tenant it references.
	q "$B" -c "UPDATE notes SET item_id = NULL WHERE id = 50"
	ts --direction to-remote --table tenants --table notes --table items --table members --delete --json
	expect_status 0
	[ "$(count to-remote tenants deleted)" = 1 ]
	[ "$(count to-remote notes deleted)" = 1 ]
	same tenants items notes members
}

@test "changes a value hash would miss are found: jsonb nesting, array shape and bounds, numeric scale, NULL against empty" {
	for u in "$A" "$B"; do q "$u" -c "CREATE TABLE shapes (id int PRIMARY KEY, j jsonb, a int[], n numeric, t text, f float8)"; done
	q "$A" -c "INSERT INTO shapes VALUES (1, '{\"a\": {\"b\": 1}, \"c\": 2}', '{1,2,3,4}', 1.5, NULL, 0), (2, '[[1], 2]', '{1,2}', 1, '', 1)"
	q "$B" -c "INSERT INTO shapes VALUES (1, '{\"a\": {\"b\": 1, \"c\": 2}}', '{{1,2},{3,4}}', 1.50, '', '-0'), (2, '[[1, 2]]', '[0:1]={1,2}', 1.0, NULL, 1)"
	ts --direction to-remote --table shapes --json
	expect_status 0
	[ "$(count to-remote shapes updated)" = 2 ]
	[ "$(dump "$B" shapes)" = "$(dump "$A" shapes)" ]
	# One difference at a time, each equal to local's value for a value
	# hash (the same elements, keys, number or zero) but not the same.
	for change in "j = '[[1, 2]]' WHERE id = 2" "a = '{{1},{2}}' WHERE id = 2" "a = '[5:6]={1,2}' WHERE id = 2" \
		"n = 1.000 WHERE id = 2" "t = NULL WHERE id = 2" "f = '-0' WHERE id = 1"; do
		q "$B" -c "UPDATE shapes SET $change"
		ts --direction to-remote --table shapes --json
		expect_status 0
		[ "$(count to-remote shapes updated)" = 1 ] || { echo "not found: $change" >&2; return 1; }
		[ "$(dump "$B" shapes)" = "$(dump "$A" shapes)" ]
	done
}

@test "to-local: the remote side is the truth" {
	q "$A" -c "$DATA"
	q "$B" -c "$DATA"
	q "$B" -c "UPDATE items SET amount = 99.999, score = 'NaN', body = NULL WHERE id = 3" \
		-c "INSERT INTO members VALUES ('t2', 7, 'remote')"
	q "$A" -c "UPDATE members SET role = 'local edit' WHERE user_id = 1 AND tenant_id = 't1'"
	ts --direction to-local --table items --table members --table tenants --json
	expect_status 0
	[ "$(count to-local items updated)" = 1 ]
	[ "$(count to-local members updated)" = 1 ]
	[ "$(count to-local members inserted)" = 1 ]
	same tenants items members
}

@test "--tenant limits every table to those tenants; other tenants' rows stay as they are" {
	q "$A" -c "$DATA"
	q "$B" -c "$DATA"
	q "$A" -c "UPDATE items SET title = 'only t1 travels' WHERE tenant_id = 't1'" \
		-c "UPDATE items SET title = 't2 stays local' WHERE tenant_id = 't2'" \
		-c "UPDATE items SET title = 'quoted travels' WHERE tenant_id = 'o''brien\"x'" \
		-c "UPDATE tenants SET name = 'renamed' WHERE id IN ('t1', 't2')" \
		-c "INSERT INTO members VALUES ('t1', 5, 'x'), ('t2', 5, 'y')"
	before_t2=$(PGTZ=UTC q "$B" -c "COPY (SELECT * FROM items WHERE tenant_id = 't2') TO STDOUT")
	# tenants has no tenant_id column: its one-column key is matched.
	ts --direction to-remote --table items --table tenants --table members --tenant t1 --tenant "o'brien\"x" --json
	expect_status 0
	[ "$(count to-remote items updated)" = 3 ]
	[ "$(count to-remote tenants updated)" = 1 ]
	[ "$(count to-remote members inserted)" = 1 ]
	[ "$(PGTZ=UTC q "$B" -c "COPY (SELECT * FROM items WHERE tenant_id = 't2') TO STDOUT")" = "$before_t2" ]
	[ "$(q "$B" -c "SELECT name FROM tenants WHERE id = 't2'")" = "Two ✓" ]
	[ "$(q "$B" -c "SELECT count(*) FROM members WHERE user_id = 5")" = 1 ]
	[ "$(q "$B" -c "SELECT title FROM items WHERE tenant_id = 'o''brien\"x'")" = "quoted travels" ]
	# A tenant id that is not a value of the column's type is bad input.
	q "$A" -c "CREATE TABLE counters (tenant_id int, n int, PRIMARY KEY (tenant_id, n))"
	q "$B" -c "CREATE TABLE counters (tenant_id int, n int, PRIMARY KEY (tenant_id, n))"
	ts --direction to-remote --table counters --tenant "1'; DROP TABLE items; --"
	expect_status 2
	[[ "$stderr" == *"--tenant: an ID is not a valid integer for counters.tenant_id: "*'"1'\''; DROP TABLE items; --"'* ]]
	[ "$(q "$A" -c "SELECT count(*) FROM items")" = 4 ]
}

both_setup() {
	q "$A" -c "$DATA"
	q "$B" -c "$DATA"
	# Row 1: changed on both sides, local later. Row 2: both, remote later.
	# Row 3: both, at the same time. One new row on each side.
	q "$A" -c "UPDATE items SET title = 'local 1', updated_at = '2026-03-02 00:00:00+00' WHERE id = 1" \
		-c "UPDATE items SET title = 'local 2', updated_at = '2026-03-01 00:00:00+00' WHERE id = 2" \
		-c "UPDATE items SET title = 'local 3', updated_at = '2026-03-05 00:00:00+00' WHERE id = 3" \
		-c "INSERT INTO items (id, tenant_id, title) OVERRIDING SYSTEM VALUE VALUES (10, 't1', 'new local')"
	q "$B" -c "UPDATE items SET title = 'remote 1', updated_at = '2026-03-01 00:00:00+00' WHERE id = 1" \
		-c "UPDATE items SET title = 'remote 2', updated_at = '2026-03-02 00:00:00+00' WHERE id = 2" \
		-c "UPDATE items SET title = 'remote 3', updated_at = '2026-03-05 00:00:00+00' WHERE id = 3" \
		-c "INSERT INTO items (id, tenant_id, title) OVERRIDING SYSTEM VALUE VALUES (20, 't2', 'new remote')"
}

title() { q "$1" -c "SELECT title FROM items WHERE id = $2"; }

@test "both, --conflict skip (the default): one-sided rows cross, conflicts listed, exit 1, neither conflicting row changes" {
	both_setup
	ts --direction both --table items --table tenants --json
	expect_status 1
	[ "$(json_get "d['status']")" = conflicts ]
	[ "$(json_get "d['conflicts_total']")" = 3 ]
	[ "$(json_get "sorted(c['key'] for c in d['conflicts'])")" = '["1", "2", "3"]' ]
	[ "$(count to-remote items inserted)" = 1 ]
	[ "$(count to-local items inserted)" = 1 ]
	[ "$(count to-remote items conflicts)" = 3 ]
	for i in 1 2 3; do
		[ "$(title "$A" $i)" = "local $i" ]
		[ "$(title "$B" $i)" = "remote $i" ]
	done
	[ "$(title "$A" 20)" = "new remote" ]
	[ "$(title "$B" 10)" = "new local" ]
	ts --direction both --table items
	expect_status 1
	[[ "$output" == *"items: conflict (differs on both sides): 1"* ]]
	[[ "$output" == *"3 conflicts left as they are"* ]]
}

@test "both, --conflict newer: the later updated_at wins, equal times stay conflicts" {
	both_setup
	ts --direction both --table items --conflict newer --json
	expect_status 1
	[ "$(json_get "d['conflicts_total']")" = 1 ]
	[ "$(json_get "d['conflicts'][0]['key']")" = 3 ]
	[ "$(count to-remote items updated)" = 1 ]
	[ "$(count to-local items updated)" = 1 ]
	[ "$(title "$B" 1)" = "local 1" ]
	[ "$(title "$A" 2)" = "remote 2" ]
	[ "$(title "$A" 3)" = "local 3" ]
	[ "$(title "$B" 3)" = "remote 3" ]
	q "$A" -c "UPDATE items SET title = 'remote 3' WHERE id = 3"
	ts --direction both --table items --conflict newer
	expect_status 0
	same items
	# A table without the column cannot be settled by time.
	ts --direction both --table tenants --conflict newer
	expect_status 2
	[[ "$stderr" == *"--conflict newer needs column updated_at in table tenants"* ]]
}

@test "both, --conflict local and --conflict remote" {
	both_setup
	ts --direction both --table items --conflict local --json
	expect_status 0
	[ "$(count to-remote items updated)" = 3 ]
	[ "$(count to-local items updated)" = 0 ]
	same items
	[ "$(title "$B" 2)" = "local 2" ]
	setup
	both_setup
	ts --direction both --table items --conflict remote --json
	expect_status 0
	[ "$(count to-local items updated)" = 3 ]
	same items
	[ "$(title "$A" 1)" = "remote 1" ]
	[ "$(title "$A" 10)" = "new local" ]
}

@test "--dry-run writes nothing; -v lists the keys it would write and the conflicts" {
	both_setup
	a=$(dump "$A" items) b=$(dump "$B" items)
	ts --direction both --table items --dry-run -v
	expect_status 1
	[[ "$output" == *"items: would insert on remote: 10"* ]]
	[[ "$output" == *"items: would insert on local: 20"* ]]
	[[ "$output" == *"items: conflict (differs on both sides): 2"* ]]
	[[ "$output" == *"dry run: nothing was written"* ]]
	[ "$(dump "$A" items)" = "$a" ]
	[ "$(dump "$B" items)" = "$b" ]
	# With --output the keys go to the file with the report, not to stdout.
	ts --direction both --table items --dry-run -v --output "$BATS_TEST_TMPDIR/dry.txt"
	expect_status 1
	[ -z "$output" ]
	grep -qxF "items: would insert on remote: 10" "$BATS_TEST_TMPDIR/dry.txt"
	grep -qxF "items: conflict (differs on both sides): 2" "$BATS_TEST_TMPDIR/dry.txt"
	grep -qF "dry run: nothing was written" "$BATS_TEST_TMPDIR/dry.txt"
	[ "$(grep -c "conflict (differs on both sides): 2" "$BATS_TEST_TMPDIR/dry.txt")" = 1 ]
	ts --direction both --table items --dry-run -v --format prometheus
	[[ "$output" != *"would insert"* ]]
	[[ "$output" == *"syncctl_exit_code"* ]]
	ts --direction to-remote --table items --delete --dry-run -v --json
	expect_status 0
	[ "$(json_get "d['written']")" = false ]
	[ "$(json_get "sorted((k['action'], k['key']) for k in d['keys'])")" = '[["delete", "20"], ["insert", "10"], ["update", "1"], ["update", "2"], ["update", "3"]]' ]
	[ "$(dump "$B" items)" = "$b" ]
	# An empty target in a dry run: counted, not copied.
	q "$B" -c "TRUNCATE items, notes"
	ts --direction to-remote --table items --dry-run --json
	expect_status 0
	[ "$(count to-remote items inserted)" = 5 ]
	[ "$(q "$B" -c "SELECT count(*) FROM items")" = 0 ]
}

@test "usage errors: --conflict one way, no direction, no table, bad --max-delete, --keep-deleted and --restore" {
	for bad in 10%% -1 1.5 200% 5%,6% 3,4 x ''; do
		ts --direction both --table items --delete --max-delete "$bad"
		expect_status 2
		[[ "$stderr" == *"--max-delete takes N rows, P% of a table's rows, or N,P% (both exceeded)"* ]]
	done
	ts --direction both --table items --keep-deleted 1.5
	expect_status 2
	[[ "$stderr" == *"--keep-deleted takes a whole number from 0 to 36500, not '1.5'"* ]]
	ts --restore not-a-run-id
	expect_status 2
	[[ "$stderr" == *"--restore takes the run_id of a run (a UUID, as its report shows), not 'not-a-run-id'"* ]]
	ts --restore 6d5a1c1e-0000-4000-8000-000000000001 --direction both
	expect_status 2
	[[ "$stderr" == *"--restore RUN_ID puts rows back; it takes --local, --remote, --table, --dry-run and --wait"* ]]
	# A usage error connects to nothing: nothing was created.
	[ "$(q "$A" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'syncctl'")" = 0 ]
	ts --direction to-remote --table items --conflict newer
	expect_status 2
	[[ "$stderr" == *"--conflict applies to --direction both"* ]]
	ts --table items
	expect_status 2
	[[ "$stderr" == *"--direction to-remote|to-local|both is required"* ]]
	ts --direction to-local
	expect_status 2
	[[ "$stderr" == *"--table NAME"* ]]
	ts --direction sideways --table items
	expect_status 2
	sc tenant-sync --direction both --table items --remote "$B"
	expect_status 2
	[[ "$stderr" == *"--local URI is required (or set SYNCCTL_LOCAL_DB)"* ]]
	ts --direction both --table no_such_table
	expect_status 2
	[[ "$stderr" == *"table no_such_table is not on the local database"* ]]
	ts --direction both --table items --remote "postgresql://x:y@[::1"
	expect_status 2
	[[ "$stderr" != *"y@"* ]]
}

@test "columns that differ are reported and nothing is written (exit 1)" {
	q "$A" -c "$DATA"
	q "$A" -c "ALTER TABLE members ALTER COLUMN role TYPE varchar(20)" -c "ALTER TABLE tenants ADD COLUMN extra int"
	ts --direction to-remote --table tenants --table members --table items --json
	expect_status 1
	[ "$(json_get "d['status']")" = schema_differs ]
	[[ "$(json_get "d['problems']")" == *"members: column role is character varying(20) on local, text on remote"* ]]
	[[ "$(json_get "d['problems']")" == *"tenants: column extra is on local only"* ]]
	[ "$(q "$B" -c "SELECT count(*) FROM items")" = 0 ]
	[ "$(q "$B" -c "SELECT count(*) FROM tenants")" = 0 ]
	ts --direction to-remote --table tenants
	expect_status 1
	[[ "$output" == *"nothing was written"* ]]
}

@test "a table without a primary key is an error naming it, unless --key" {
	for u in "$A" "$B"; do q "$u" -c "CREATE TABLE loose (code text NOT NULL UNIQUE, tenant_id text, n int)"; done
	q "$A" -c "INSERT INTO loose VALUES ('a', 't1', 1), ('b', 't1', 2)"
	q "$B" -c "INSERT INTO loose VALUES ('a', 't1', 5)"
	ts --direction to-remote --table loose
	expect_status 2
	[[ "$stderr" == *"table loose has no primary key on the local database"*"--key"* ]]
	ts --direction to-remote --table loose --key code --json
	expect_status 0
	[ "$(count to-remote loose updated)" = 1 ]
	[ "$(count to-remote loose inserted)" = 1 ]
	[ "$(dump "$B" loose)" = "$(dump "$A" loose)" ]
	ts --direction to-remote --table loose --key nope
	expect_status 2
	[[ "$stderr" == *"key column nope is not a column of loose"* ]]
	# A --key that does not identify rows is refused before anything is written.
	q "$B" -c "INSERT INTO loose VALUES ('c', 't1', 7), ('d', 't1', 7)"
	q "$A" -c "INSERT INTO loose VALUES ('e', 't1', 7), ('f', 't1', 7)"
	before=$(dump "$B" loose)
	ts --direction both --table loose --key tenant_id,n
	expect_status 2
	[[ "$stderr" == *"--key does not identify rows of loose: key (t1, 7) is on local more than once"* ]]
	[ "$(dump "$B" loose)" = "$before" ]
	ts --direction to-remote --table loose --table public.loose --key code
	expect_status 2
	[[ "$stderr" == *"--table loose and --table public.loose are the same table"* ]]
}

@test "hostile table, column and tenant names: quotes, spaces, semicolons, unicode" {
	T='we"ird; tbl ü'
	for u in "$A" "$B"; do
		q "$u" -c "CREATE TABLE \"we\"\"ird; tbl ü\" (\"co\"\"l; x\" int PRIMARY KEY, \"tenant id\" text, \"ünï cödé\" text)"
	done
	q "$A" -c "INSERT INTO \"we\"\"ird; tbl ü\" VALUES (1, 'o''brien\"; --', 'ä'), (2, 'other', 'b'), (3, 'o''brien\"; --', E'\\\\x')"
	ts --direction to-remote --table "$T" --tenant-column "tenant id" --tenant "o'brien\"; --" --json
	expect_status 0
	[ "$(count to-remote "$T" inserted)" = 2 ]
	[ "$(q "$B" -c "SELECT string_agg(\"co\"\"l; x\"::text || ':' || \"ünï cödé\", ',' ORDER BY 1) FROM \"we\"\"ird; tbl ü\"")" = '1:ä,3:\x' ]
	q "$A" -c "UPDATE \"we\"\"ird; tbl ü\" SET \"ünï cödé\" = 'ö'"
	ts --direction to-remote --table "public.$T" --tenant-column "tenant id" --tenant "o'brien\"; --" --json
	expect_status 0
	[ "$(count to-remote "public.$T" updated)" = 2 ]
	[ "$(q "$B" -c "SELECT count(*) FROM \"we\"\"ird; tbl ü\" WHERE \"ünï cödé\" = 'ö'")" = 2 ]
	# Keys that COPY must escape: tab, newline, backslash, a literal \N.
	for u in "$A" "$B"; do q "$u" -c "CREATE TABLE odd (k text PRIMARY KEY, v int)"; done
	q "$A" -c "INSERT INTO odd VALUES (E'a\\tb', 1), (E'line\\nbreak', 2), (E'back\\\\slash', 3), (E'\\\\N', 4), ('', 5)"
	q "$B" -c "INSERT INTO odd VALUES (E'a\\tb', 0), (E'\\\\N', 0)"
	ts --direction to-remote --table odd --json
	expect_status 0
	[ "$(count to-remote odd updated)" = 2 ]
	[ "$(count to-remote odd inserted)" = 3 ]
	[ "$(dump "$B" odd)" = "$(dump "$A" odd)" ]
	[ "$(q "$B" -c "SELECT string_agg(v::text, ',' ORDER BY v) FROM odd WHERE k IN (E'a\\tb', E'line\\nbreak', E'back\\\\slash', E'\\\\N', '')")" = 1,2,3,4,5 ]
}

@test "a wrong password: exit 3, the password never printed" {
	sc tenant-sync --local "postgresql://alice:Wr0ngHorse@127.0.0.1:$APORT/postgres" --remote "$B" --direction both --table items
	expect_status 3
	[[ "$stderr" == *"password authentication failed"* ]]
	[[ "$stderr" != *Wr0ngHorse* ]]
	[[ "$output" != *Wr0ngHorse* ]]
	[[ "$stderr" == *"a password in --local is visible to other users in ps"* ]]
}

@test "an unreachable server: exit 3 within the timeout" {
	start=$(date +%s)
	sc tenant-sync --local "$A" --remote "postgresql://postgres@127.0.0.1:1/postgres" --direction both --table items --timeout 2
	expect_status 3
	[[ "$stderr" == *"cannot connect to the remote database (--remote)"* ]]
	[ $(($(date +%s) - start)) -lt 10 ]
}

@test "the lock: a held lock is exit 3 naming the holder's pid and what it is; --wait waits for it" {
	q "$A" -c "$DATA"
	mkfifo "$W/hold"
	psql "$B" -X -q -At -c "SELECT pg_backend_pid(), pg_advisory_lock(1937337955, 1953706033)" -f "$W/hold" >"$W/holder" &
	exec 8>"$W/hold"
	for _ in $(seq 50); do [ -s "$W/holder" ] && break; sleep 0.1; done
	pid=$(cut -d'|' -f1 "$W/holder")
	[ -n "$pid" ]
	ts --direction to-remote --table tenants
	expect_status 3
	[[ "$stderr" == *"another tenant-sync is running on"*"(server pid $pid holds the lock: application 'psql', connected since 20"*" UTC, idle for "*" s; the server still counts its client as connected); wait for it or pass --wait SECONDS"* ]]
	start=$(date +%s%N)
	ts --direction to-remote --table tenants --wait 1
	expect_status 3
	[ $((($(date +%s%N) - start) / 1000000)) -ge 1000 ]
	# Released while the next run waits: it goes ahead.
	(sleep 1; exec 8>&-) &
	exec 8>&-
	ts --direction to-remote --table tenants --wait 20
	expect_status 0
	same tenants
}

@test "two runs at once: one waits for the other, no row is applied twice" {
	q "$A" -c "INSERT INTO tenants SELECT 't' || g, 'n' || g FROM generate_series(1, 150000) g"
	"$SYNCCTL" tenant-sync --local "$A" --remote "$B" --direction both --table tenants --wait 60 --json >"$W/one" 2>"$W/one.err" &
	p1=$!
	"$SYNCCTL" tenant-sync --local "$A" --remote "$B" --direction both --table tenants --wait 60 --json >"$W/two" 2>"$W/two.err" &
	p2=$!
	wait $p1
	wait $p2
	ins=$(python3 -c 'import json,sys; print(sum(t["inserted"] for f in sys.argv[1:] for t in json.load(open(f))["tables"]))' "$W/one" "$W/two")
	[ "$ins" = 150000 ]
	[ "$(q "$B" -c "SELECT count(*) FROM tenants")" = 150000 ]
	same tenants
	# Without --wait, the second run stops at once.
	q "$A" -c "UPDATE tenants SET name = name || '.'"
	"$SYNCCTL" tenant-sync --local "$A" --remote "$B" --direction to-remote --table tenants >"$W/one" 2>&1 &
	p1=$!
	for _ in $(seq 100); do
		[ "$(q "$B" -c "SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND granted")" = 1 ] && break
		sleep 0.05
	done
	ts --direction to-remote --table tenants
	wait $p1
	expect_status 3
	[[ "$stderr" == *"another tenant-sync is running"* ]]
	same tenants
}

@test "SYNCCTL_LOCAL_DB and SYNCCTL_REMOTE_DB, from the environment or --env-file" {
	q "$A" -c "$DATA"
	printf 'SYNCCTL_LOCAL_DB=%s\nSYNCCTL_REMOTE_DB="%s"\n' "$A" "$B" >"$W/env"
	sc tenant-sync --env-file "$W/env" --direction to-remote --table tenants --json
	expect_status 0
	[ "$(count to-remote tenants inserted)" = 3 ]
	SYNCCTL_LOCAL_DB=$B SYNCCTL_REMOTE_DB=$A sc tenant-sync --direction to-remote --table tenants --json
	expect_status 0
	[ "$(count to-remote tenants unchanged)" = 3 ]
}

@test "progress on stderr only when it is a terminal" {
	q "$A" -c "$DATA"
	q "$B" -c "$DATA"
	q "$A" -c "UPDATE tenants SET name = 'x'"
	script -qec "$SYNCCTL tenant-sync --local '$A' --remote '$B' --direction to-remote --table tenants" /dev/null >"$W/tty"
	grep -q "tenants: hashing rows on both servers" "$W/tty"
	grep -q "tenants  to-remote  0         3" "$W/tty"
	q "$A" -c "UPDATE tenants SET name = 'y'"
	ts --direction to-remote --table tenants
	expect_status 0
	[ -z "$stderr" ]
	[[ "$output" != *hashing* ]]
}

@test "a row the application changes during the run is not overwritten: exit 3, nothing written, the next run converges" {
	q "$A" -c "$DATA"
	q "$B" -c "$DATA"
	q "$A" -c "UPDATE items SET title = 'from local' WHERE id IN (1, 2)" -c "INSERT INTO members VALUES ('t2', 8, 'new')"
	# The application holds row 1 on the remote, uncommitted, while the run
	# takes its snapshot; the run's UPDATE waits for it.
	mkfifo "$W/app"
	psql "$B" -X -q -At -f "$W/app" >"$W/app.out" 2>&1 &
	app=$!
	exec 9>"$W/app"
	echo "BEGIN; UPDATE items SET title = 'from the app' WHERE id = 1;" >&9
	"$SYNCCTL" tenant-sync --local "$A" --remote "$B" --direction to-remote --table members --table items --timeout 30 >"$W/out" 2>"$W/err" &
	pid=$!
	for _ in $(seq 200); do
		[ "$(q "$B" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'syncctl tenant-sync %' AND wait_event_type = 'Lock'")" = 1 ] && break
		sleep 0.05
	done
	[ "$(q "$B" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'syncctl tenant-sync %' AND wait_event_type = 'Lock'")" = 1 ]
	echo "COMMIT;" >&9
	exec 9>&-
	wait "$app"
	status=0
	wait "$pid" || status=$?
	stderr=$(cat "$W/err")
	expect_status 3
	[[ "$stderr" == *"could not serialize access due to concurrent update"* ]]
	# The application's change stands; none of the run's writes happened.
	[ "$(title "$B" 1)" = "from the app" ]
	[ "$(title "$B" 2)" != "from local" ]
	[ "$(q "$B" -c "SELECT count(*) FROM members WHERE user_id = 8")" = 0 ]
	ts --direction to-remote --table members --table items
	expect_status 0
	same items members
}
