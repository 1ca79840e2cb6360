#!/usr/bin/env bats
# tenant-sync and compare between servers of different Postgres majors:
# the oldest with the newest both ways (11 with 18), 12 and 13 against
# Debian's 15 (where compare --checksum once hashed each side its own way),
# and 15 with 18 (both hash values with hash_record_extended).

load ../cmd/helpers
load matrix

MAJORS=(11 12 13 15 18)

setup_file() {
	pg_start_majors "${MAJORS[@]}"
	for m in "${MAJORS[@]}"; do
		u=URI_$m
		q "${!u}" -c "$SCHEMA_SQL"
	done
}

teardown_file() {
	pg_stop_majors "${MAJORS[@]}"
}

@test "tenant-sync 11 to 18 (to-remote) fills the newer server: rows equal on both" {
	fill_rows "$URI_11"
	sc tenant-sync --local "$URI_11" --remote "$URI_18" --direction to-remote --table lists --table todos --json
	expect_status 0
	[ "$(json_get "[(t['table'], t['inserted'], t['updated']) for t in d['tables']]")" = '[["lists", 2, 0], ["todos", 3, 0]]' ]
	[ "$(rows "$URI_18")" = "$(rows "$URI_11")" ]
}

@test "tenant-sync 18 to 11 (to-local) brings a change back; both ways then finds nothing to do" {
	q "$URI_18" -c "UPDATE todos SET score = 0.30000000000000004, ratio = 0.7, meta = '{\"a\": {\"b\": 1, \"c\": 2}}' WHERE id = 1"
	sc tenant-sync --local "$URI_11" --remote "$URI_18" --direction to-local --table lists --table todos --json
	expect_status 0
	[ "$(json_get "[(t['table'], t['inserted'], t['updated'], t['unchanged']) for t in d['tables']]")" = '[["lists", 0, 0, 2], ["todos", 0, 1, 2]]' ]
	[ "$(rows "$URI_11")" = "$(rows "$URI_18")" ]
	# Equal floats, jsonb and the rest hash alike on 11 and 18.
	sc tenant-sync --local "$URI_11" --remote "$URI_18" --direction both --table lists --table todos --json
	expect_status 0
	[ "$(json_get "[(t['table'], t['direction'], t['inserted'] + t['updated'] + t['conflicts'], t['unchanged']) for t in d['tables']]")" = '[["lists", "to-remote", 0, 2], ["lists", "to-local", 0, 2], ["todos", "to-remote", 0, 3], ["todos", "to-local", 0, 3]]' ]
}

@test "tenant-sync both ways between 11 and 18, with state: one-sided rows and edits cross, the same row edited on both is a conflict" {
	q "$URI_11" -c "INSERT INTO todos (id, title, score) VALUES (10, 'from 11', 2.5)" \
		-c "UPDATE todos SET score = 0.2 WHERE id = 2"
	q "$URI_18" -c "INSERT INTO todos (id, title, score) VALUES (11, 'from 18', -0.0)" \
		-c "UPDATE todos SET score = 0.1000000000000001 WHERE id = 2" -c "UPDATE todos SET title = 'edited on 18' WHERE id = 3"
	sc tenant-sync --local "$URI_11" --remote "$URI_18" --direction both --table todos --json
	expect_status 1
	[ "$(json_get "d['mode']")" = stateful ]
	[ "$(json_get "[(t['direction'], t['inserted'], t['updated'], t['conflicts']) for t in d['tables']]")" = '[["to-remote", 1, 0, 1], ["to-local", 1, 1, 1]]' ]
	[ "$(json_get "d['conflicts']")" = '[{"table": "todos", "key": "2", "reason": "differs on both sides"}]' ]
	[ "$(q "$URI_11" -c "SELECT title FROM todos WHERE id = 3")" = "edited on 18" ]
	[ "$(q "$URI_11" -c "SELECT title FROM todos WHERE id = 11")" = "from 18" ]
	[ "$(q "$URI_18" -c "SELECT title FROM todos WHERE id = 10")" = "from 11" ]
	sc tenant-sync --local "$URI_11" --remote "$URI_18" --direction both --table todos --conflict remote --json
	expect_status 0
	[ "$(rows "$URI_11")" = "$(rows "$URI_18")" ]
}

@test "compare --checksum 11 against 18: 0 when equal, 1 after one changed value" {
	sc compare --server "$URI_18" --local "$URI_11" --checksum --json
	expect_status 0
	[ "$(json_get "[(t['name'], t['status'], t['checksum']) for t in d['tables']]")" = '[["lists", "in_sync", "same"], ["todos", "in_sync", "same"]]' ]
	q "$URI_11" -c "UPDATE todos SET ratio = 0.25 WHERE id = 3"
	sc compare --server "$URI_18" --local "$URI_11" --checksum --json
	expect_status 1
	[ "$(json_get "[(t['name'], t['status'], t['checksum']) for t in d['tables']]")" = '[["lists", "in_sync", "same"], ["todos", "differs", "differs"]]' ]
	q "$URI_11" -c "UPDATE todos SET ratio = NULL WHERE id = 3"
}

@test "compare --checksum 12 and 13 against 15: identical tables are in sync, one changed value differs" {
	for m in 12 13 15; do
		u=URI_$m
		fill_rows "${!u}"
	done
	for m in 12 13; do
		u=URI_$m
		sc compare --server "$URI_15" --local "${!u}" --checksum --json
		expect_status 0
		[ "$(json_get "[(t['name'], t['status'], t['checksum']) for t in d['tables']]")" = '[["lists", "in_sync", "same"], ["todos", "in_sync", "same"]]' ]
		q "${!u}" -c "UPDATE todos SET amount = 1.51 WHERE id = 1"
		sc compare --server "$URI_15" --local "${!u}" --checksum --json
		expect_status 1
		[ "$(json_get "[t['checksum'] for t in d['tables'] if t['name'] == 'todos'][0]")" = differs ]
	done
}

@test "compare --checksum 15 against 18 (values hashed on both): 0 when equal, 1 after one changed value" {
	q "$URI_18" -c "DELETE FROM todos" -c "DELETE FROM lists"
	fill_rows "$URI_18"
	sc compare --server "$URI_18" --local "$URI_15" --checksum --json
	expect_status 0
	[ "$(json_get "[t['checksum'] for t in d['tables']]")" = '["same", "same"]' ]
	# jsonb whose nesting changed: its own hash would not see it.
	q "$URI_15" -c "UPDATE todos SET meta = '{\"a\": {\"b\": 1, \"c\": 2}}' WHERE id = 1"
	sc compare --server "$URI_18" --local "$URI_15" --checksum --json
	expect_status 1
	[ "$(json_get "[(t['name'], t['checksum']) for t in d['tables']]")" = '[["lists", "same"], ["todos", "differs"]]' ]
}
