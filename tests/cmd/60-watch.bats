#!/usr/bin/env bats
# syncctl watch against a real server: the pgoutput stream decoded, stops,
# no slot left behind, the error cases, and --probe.

load helpers

setup_file() {
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	q "$URI" -c "CREATE TABLE tasks (id int PRIMARY KEY, title text, done boolean, meta jsonb)" \
		-c "CREATE TABLE notes (id int PRIMARY KEY, body text)" \
		-c "CREATE TABLE outside (id int PRIMARY KEY)" \
		-c "CREATE PUBLICATION powersync FOR TABLE tasks, notes" \
		-c "CREATE ROLE norepl LOGIN"
	export NOREPL_URI=${URI/postgres@/norepl@}
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

watch_slots() {
	q "$URI" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name LIKE 'syncctl_watch_%'"
}

@test "inserts, updates, deletes and truncate, with unicode and NULLs, one JSON line each" {
	watch_start --count 5
	q "$URI" -c "INSERT INTO tasks VALUES (1, 'Grüße, 世界 🌍', NULL, '{\"a\": [1, 2]}')" \
		-c "UPDATE tasks SET done = true WHERE id = 1" \
		-c "DELETE FROM tasks WHERE id = 1" \
		-c "INSERT INTO notes VALUES (7, 'x')" \
		-c "TRUNCATE notes"
	watch_wait
	[ "$WSTATUS" -eq 0 ]
	[ "$(wc -l <"$W/out")" -eq 5 ]
	[ "$(line 1 "[d['table'], d['op'], d['key']]")" = '["public.tasks", "insert", {"id": "1"}]' ]
	[ "$(line 1 "d['new']")" = '{"id": "1", "title": "Grüße, 世界 🌍", "done": null, "meta": "{\"a\": [1, 2]}"}' ]
	[ "$(line 1 "d['old']")" = null ]
	[[ "$(line 1 "d['commit_time']")" == 20??-??-??T??:??:??.??????Z ]]
	[ "$(line 2 "[d['op'], d['new']['done'], d['old']]")" = '["update", "t", null]' ]
	[ "$(line 3 "[d['op'], d['key'], d['new']]")" = '["delete", {"id": "1"}, null]' ]
	[ "$(line 4 "[d['table'], d['op']]")" = '["public.notes", "insert"]' ]
	[ "$(line 5 "[d['table'], d['op'], d['key']]")" = '["public.notes", "truncate", null]' ]
	[ "$(watch_slots)" = 0 ]
}

@test "JSON lines stay valid with quotes, backslashes and control characters" {
	watch_start --count 1
	q "$URI" -c "INSERT INTO notes VALUES (9, E'a\"b\\\\c\nd\te\x01f')"
	watch_wait
	[ "$(line 1 "d['new']['body'] == 'a\"b\\\\c\\nd\\te\\x01f'")" = true ]
	q "$URI" -c "DELETE FROM notes"
}

@test "text format: time, table, operation, key and values on one line" {
	"$SYNCCTL" watch --db "$URI" --count 1 >"$W/out" 2>"$W/err" &
	WPID=$!
	for _ in $(seq 200); do [ "$(watch_slots)" = 1 ] && break; sleep 0.05; done
	sleep 0.2
	q "$URI" -c "INSERT INTO notes VALUES (8, 'it''s here')"
	watch_wait
	[ "$WSTATUS" -eq 0 ]
	[[ "$(cat "$W/out")" == 20??-??-??" "??:??:??.??????" UTC  public.notes  INSERT  [id=8]  id=8 body='it''s here'" ]]
}

@test "updates: default identity gives no old row, FULL gives it, a key change gives the old key" {
	q "$URI" -c "INSERT INTO tasks VALUES (2, 'a', false, NULL)"
	watch_start --count 3
	q "$URI" -c "UPDATE tasks SET title = 'b' WHERE id = 2" \
		-c "UPDATE tasks SET id = 3 WHERE id = 2" \
		-c "ALTER TABLE tasks REPLICA IDENTITY FULL" \
		-c "UPDATE tasks SET title = 'c' WHERE id = 3"
	watch_wait
	q "$URI" -c "ALTER TABLE tasks REPLICA IDENTITY DEFAULT" -c "DELETE FROM tasks"
	[ "$(line 1 "d['old']")" = null ]
	[ "$(line 2 "[d['key'], d['old']]")" = '[{"id": "3"}, {"id": "2"}]' ]
	[ "$(line 3 "[d['new']['title'], d['old']]")" = '["c", {"id": "3", "title": "b", "done": "f", "meta": null}]' ]
}

@test "a multi-row transaction: every row, one commit time and xid" {
	watch_start --count 3
	q "$URI" -c "BEGIN; INSERT INTO notes VALUES (10, 'a'), (11, 'b'); UPDATE notes SET body = 'c' WHERE id = 10; COMMIT"
	watch_wait
	[ "$(line 1 "d['xid']")" = "$(line 3 "d['xid']")" ]
	[ "$(line 1 "d['commit_time']")" = "$(line 3 "d['commit_time']")" ]
	[ "$(line 3 "[d['op'], d['new']['body']]")" = '["update", "c"]' ]
	q "$URI" -c "DELETE FROM notes"
}

@test "a table outside the publication is not shown; --table filters" {
	watch_start --count 1 --table notes
	q "$URI" -c "INSERT INTO outside VALUES (1)" -c "INSERT INTO tasks VALUES (50, 'x', NULL, NULL)" \
		-c "INSERT INTO notes VALUES (50, 'shown')"
	watch_wait
	[ "$(wc -l <"$W/out")" -eq 1 ]
	[ "$(line 1 "[d['table'], d['new']['body']]")" = '["public.notes", "shown"]' ]
	watch_start --count 1 --table public.tasks
	q "$URI" -c "INSERT INTO notes VALUES (51, 'not shown')" -c "INSERT INTO tasks VALUES (51, 'shown', NULL, NULL)"
	watch_wait
	[ "$(line 1 "[d['table'], d['new']['title']]")" = '["public.tasks", "shown"]' ]
	q "$URI" -c "DELETE FROM notes" -c "DELETE FROM tasks" -c "DELETE FROM outside"
}

@test "--duration stops it (exit 0) and nothing is left behind" {
	start=$(date +%s%N)
	sc watch --db "$URI" --duration 1
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	expect_status 0
	[ "$elapsed" -ge 1000 ] && [ "$elapsed" -lt 4000 ]
	[ -z "$output" ]
	[ "$(watch_slots)" = 0 ]
}

@test "SIGTERM stops it cleanly (exit 0) and leaves no slot; SIGKILL leaves none either" {
	watch_start
	kill -TERM "$WPID"
	watch_wait
	[ "$WSTATUS" -eq 0 ]
	[ "$(watch_slots)" = 0 ]
	watch_start
	kill -KILL "$WPID"
	wait "$WPID" || true
	# What a killed process leaves of libmongoc's (see tests/run.sh).
	rm -f "/dev/shm/mongoc-$WPID"
	for _ in $(seq 100); do [ "$(watch_slots)" = 0 ] && break; sleep 0.05; done
	[ "$(watch_slots)" = 0 ]
}

@test "progress is reported: its slot's confirmed position follows what it printed" {
	watch_start --count 2
	q "$URI" -c "INSERT INTO notes VALUES (60, 'a')"
	sleep 1.5
	flushed=$(q "$URI" -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'syncctl_watch_$WPID'")
	after=$(q "$URI" -c "SELECT pg_current_wal_lsn()")
	q "$URI" -c "INSERT INTO notes VALUES (61, 'b')"
	watch_wait
	[ "$(q "$URI" -c "SELECT '$flushed'::pg_lsn >= '$after'::pg_lsn - 1024")" = t ] || { echo "flushed $flushed, wal $after" >&2; false; }
	q "$URI" -c "DELETE FROM notes"
}

@test "it never touches the service's own slots" {
	q "$URI" -c "SELECT pg_create_logical_replication_slot('powersync_1_beef', 'pgoutput')" >/dev/null
	before=$(q "$URI" -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'powersync_1_beef'")
	watch_start --count 1
	q "$URI" -c "INSERT INTO notes VALUES (70, 'a')"
	watch_wait
	[ "$(q "$URI" -c "SELECT confirmed_flush_lsn FROM pg_replication_slots WHERE slot_name = 'powersync_1_beef'")" = "$before" ]
	q "$URI" -c "SELECT pg_drop_replication_slot('powersync_1_beef')" -c "DELETE FROM notes" >/dev/null
}

@test "--probe: count, min, median, p95 and max are positive and consistent" {
	sc watch --db "$URI" --probe --count 5 --interval 0.1 --format json
	expect_status 0
	[ "$(grep -c '"probe":' <<<"$output")" -eq 5 ]
	summary=$(tail -1 <<<"$output")
	python3 - "$summary" <<-'PY'
	import json, sys
	s = json.loads(sys.argv[1])["summary"]
	assert s["count"] == 5, s
	assert 0 < s["min_ms"] <= s["median_ms"] <= s["p95_ms"] <= s["max_ms"] < 5000, s
	PY
	sc watch --db "$URI" --probe --count 3 --interval 0.1
	[ "$(tail -1 <<<"$output" | cut -d, -f1)" = "probes: 3" ]
}

@test "a missing publication: exit 1 with the CREATE PUBLICATION hint" {
	sc watch --db "$URI" --publication nope --count 1
	expect_status 1
	[[ "$stderr" == *"cannot start: publication nope does not exist"*"hint: CREATE PUBLICATION nope FOR ALL TABLES;"* ]]
}

@test "a role without REPLICATION: exit 1 with the ALTER ROLE hint" {
	sc watch --db "$NOREPL_URI" --count 1
	expect_status 1
	[[ "$stderr" == *"cannot start: role norepl lacks REPLICATION"*"hint: ALTER ROLE norepl WITH REPLICATION;"* ]]
}

@test "wal_level=replica, and no free slot: exit 1 with the slots hints" {
	pg_start --conf "wal_level = replica"
	local uri=$PGTMP_URI dir=$PGTMP_DIR
	q "$uri" -c "CREATE PUBLICATION powersync FOR ALL TABLES"
	sc watch --db "$uri" --count 1
	pg_stop "$dir"
	expect_status 1
	[[ "$stderr" == *"cannot start: wal_level is replica"*"hint: ALTER SYSTEM SET wal_level = logical; then restart Postgres"* ]]
	pg_start --conf "max_replication_slots = 1"
	uri=$PGTMP_URI dir=$PGTMP_DIR
	q "$uri" -c "CREATE PUBLICATION powersync FOR ALL TABLES" -c "SELECT pg_create_logical_replication_slot('powersync_1_a', 'pgoutput')" >/dev/null
	sc watch --db "$uri" --count 1
	pg_stop "$dir"
	expect_status 1
	[[ "$stderr" == *"cannot start: max_replication_slots = 1: 1 used, none free"* ]]
}

@test "an unreachable server is exit 3" {
	sc watch --db "postgresql://postgres@127.0.0.1:1/postgres" --count 1
	expect_status 3
	[[ "$stderr" == *"cannot connect to the source database"* ]]
}

@test "bad values are usage errors" {
	sc watch --db "$URI" --format xml
	expect_status 2
	sc watch --db "$URI" --count 0
	expect_status 2
	sc watch --db "$URI" --duration soon
	expect_status 2
}
