#!/usr/bin/env bats
# syncctl rules validate: conformance with the npm reference, compiler-style
# diagnostics, live checks against a real database, and bad input.

load helpers

setup_file() {
	export PEERS=$("$ROOT/tests/lib/npm-peers")
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	q "$URI" -c "CREATE TABLE lists (id uuid PRIMARY KEY, name text, owner_id uuid)" \
		-c "CREATE TABLE todos (id uuid PRIMARY KEY, list_id uuid, description text, completed boolean)" \
		-c "CREATE TABLE notes (body text)" \
		-c "CREATE TABLE hidden (id uuid PRIMARY KEY, secret text)" \
		-c "CREATE PUBLICATION powersync FOR TABLE lists, todos, notes"
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

@test "conformance: every corpus file gets the reference's verdict and fatal lines (npm @powersync/service-sync-rules)" {
	run python3 "$ROOT/tests/conformance/rules_compare.py" "$SYNCCTL" "$PEERS" "$ROOT/tests/rules/corpus" "$ROOT/tests/rules/DIVERGENCES"
	echo "$output" | grep -v '^ok' >&2 || true
	[ "$status" -eq 0 ]
	[ "$(ls "$ROOT"/tests/rules/corpus/*.yaml | wc -l)" -ge 80 ]
	# Valid and invalid files both well represented.
	[ "$(grep -c ': both valid' <<<"$output")" -ge 30 ]
	[ "$(grep -c ': both invalid' <<<"$output")" -ge 50 ]
}

@test "diagnostics: FILE:LINE:COL, the line and a caret, for a plain scalar" {
	printf 'bucket_definitions:\n  global:\n    data:\n      - SELECT * FROM todos ORDER BY created_at\n' >"$W/r.yaml"
	sc rules validate "$W/r.yaml"
	expect_status 1
	expected="$W/r.yaml:4:38: error: ORDER BY is not supported [global]
    4 |       - SELECT * FROM todos ORDER BY created_at
      |                                      ^~~~~~~~~~
$W/r.yaml: invalid: 1 error, 0 warnings"
	[ "$output" = "$expected" ]
}

@test "diagnostics map SQL offsets back through literal, folded and quoted scalars" {
	printf 'bucket_definitions:\n  g:\n    data:\n      - |\n        SELECT id,\n               name\n        FROM lists\n        ORDER BY name\n' >"$W/lit.yaml"
	sc rules validate "$W/lit.yaml" --json
	[ "$(json_get "[(e['line'], e['column'], e['end_column']) for e in d['errors']]")" = "[[8, 18, 22]]" ]
	printf 'bucket_definitions:\n  g:\n    data:\n      - >\n        SELECT id FROM todos\n        LIMIT 5\n' >"$W/fold.yaml"
	sc rules validate "$W/fold.yaml" --json
	[ "$(json_get "[(e['line'], e['column']) for e in d['errors']]")" = "[[6, 15]]" ]
	printf 'bucket_definitions:\n  g:\n    data:\n      - "SELECT id FROM todos WHERE t = \\"x\\" LIMIT 5"\n' >"$W/dq.yaml"
	sc rules validate "$W/dq.yaml" --json
	[ "$(json_get "[(e['line'], e['column']) for e in d['errors']]")" = "[[4, 53]]" ]
	[ "$(sed -n 4p "$W/dq.yaml" | cut -c53)" = 5 ]
	printf "bucket_definitions:\n  g:\n    data:\n      - 'SELECT id FROM todos WHERE x = ''y'' LIMIT 5'\n" >"$W/sq.yaml"
	sc rules validate "$W/sq.yaml" --json
	[ "$(json_get "[(e['line'], e['column']) for e in d['errors']]")" = "[[4, 53]]" ]
	[ "$(sed -n 4p "$W/sq.yaml" | cut -c53)" = 5 ]
}

@test "--json: valid, errors with severity, positions, bucket and query; buckets and tables" {
	sc rules validate "$ROOT/tests/rules/corpus/v20-many-data.yaml" --json
	expect_status 0
	[ "$(json_get "d['valid']")" = true ]
	[ "$(json_get "d['errors']")" = "[]" ]
	[ "$(json_get "d['buckets'][0]['name']")" = user_data ]
	[ "$(json_get "d['buckets'][0]['parameters']")" = '["user_id"]' ]
	[ "$(json_get "d['source_tables']")" = '["public.lists", "public.todos", "public.settings"]' ]
	[ "$(json_get "d['output_tables']")" = '["lists", "todos", "settings"]' ]
	sc rules validate "$ROOT/tests/rules/corpus/e15-request-in-data.yaml" --json
	expect_status 1
	[ "$(json_get "d['errors'][0]")" = '{"severity": "error", "message": "request schema is not available in data queries", "line": 4, "column": 46, "end_line": 4, "end_column": 61, "bucket": "global", "query": "SELECT * FROM lists WHERE owner_id = request.user_id()"}' ]
}

@test "a valid file prints a summary of buckets, parameters and tables (exit 0)" {
	sc rules validate "$ROOT/tests/rules/corpus/v26-static-and-table.yaml"
	expect_status 0
	[[ "$output" == *"v26-static-and-table.yaml: valid: 2 buckets, 0 warnings"* ]]
	[[ "$output" == *"bucket mine(org_id)  <- public.orgs, public.teams"* ]]
	[[ "$output" == *"source tables: public.orgs, public.teams, public.plans"* ]]
}

@test "warnings pass (exit 0) unless --strict; the service's lower-case warning" {
	sc rules validate "$ROOT/tests/rules/corpus/v31-mixed-case-warning.yaml"
	expect_status 0
	[[ "$output" == *'4:20: warning: Unquoted identifiers are converted to lower-case. Use "Name" instead.'* ]]
	sc rules validate "$ROOT/tests/rules/corpus/v31-mixed-case-warning.yaml" --strict
	expect_status 1
	sc rules validate "$ROOT/tests/rules/corpus/v32-dangerous-warning.yaml" --json
	expect_status 0
	[[ "$(json_get "d['errors'][0]['message']")" == "Potentially dangerous query based on parameters set by the client."* ]]
}

@test "--db: a valid file against the live database passes" {
	printf 'bucket_definitions:\n  user_lists:\n    parameters: SELECT request.user_id() AS owner\n    data:\n      - SELECT id, name FROM lists WHERE owner_id = bucket.owner\n  global:\n    data:\n      - SELECT id, description, completed FROM todos\n' >"$W/ok.yaml"
	sc rules validate "$W/ok.yaml" --db "$URI"
	expect_status 0
}

@test "--db: missing table, missing column with did-you-mean, table outside the publication, keyless table" {
	cat >"$W/live.yaml" <<-'YAML'
	bucket_definitions:
	  global:
	    data:
	      - SELECT id, nmae FROM lists
	      - SELECT id FROM todo_items
	      - SELECT id, secret FROM hidden
	      - SELECT body AS id FROM notes
	YAML
	sc rules validate "$W/live.yaml" --db "$URI" --json
	expect_status 1
	[ "$(json_get "[(e['line'], e['message']) for e in d['errors']]")" = '[[4, "Column nmae not found in table public.lists (did you mean name?)"], [5, "Table public.todo_items not found in the database (did you mean public.todos?)"], [6, "Table public.hidden is not in publication powersync: its changes never reach the sync service (ALTER PUBLICATION powersync ADD TABLE public.hidden;)"], [7, "Table public.notes has no primary key or replica identity: its updates and deletes cannot be replicated (ALTER TABLE public.notes REPLICA IDENTITY FULL;)"]]' ]
	[ "$(json_get "d['errors'][0]['column']")" = 20 ]
}

@test "--powersync-config: the rules path relative to the config, and the source DB, from the service config" {
	mkdir -p "$W/etc"
	printf 'bucket_definitions:\n  g:\n    data:\n      - SELECT id, nmae FROM lists\n' >"$W/etc/sync-rules.yaml"
	printf 'replication:\n  connections:\n    - uri: %s\nsync_config:\n  path: sync-rules.yaml\n' "$URI" >"$W/etc/config.yaml"
	sc rules validate --powersync-config "$W/etc/config.yaml"
	expect_status 1
	[[ "$output" == *"$W/etc/sync-rules.yaml:4:20: error: Column nmae not found in table public.lists (did you mean name?)"* ]]
	printf 'sync_config:\n  content: |\n    bucket_definitions:\n      g:\n        data:\n          - SELECT id FROM lists\n' >"$W/etc/inline.yaml"
	sc rules validate --powersync-config "$W/etc/inline.yaml"
	expect_status 0
	[[ "$output" == "sync_config.content: valid: 1 bucket"* ]]
}

@test "bad input: binary garbage, 10 MB, deep nesting, aliases, tabs, empty, not UTF-8, missing: exit 2, one line" {
	head -c 4096 /dev/urandom >"$W/garbage.yaml"
	python3 -c "print('a: ' + 'x' * 10485760)" >"$W/big.yaml"
	python3 -c "print('a: ' + '[' * 5000 + ']' * 5000)" >"$W/deep.yaml"
	printf 'x: &b\n  data:\n    - SELECT id FROM t\nbucket_definitions:\n  g: *b\n' >"$W/alias.yaml"
	printf 'bucket_definitions:\n\tg:\n' >"$W/tabs.yaml"
	: >"$W/empty.yaml"
	printf 'bucket_definitions:\n  g:\n    data:\n      - SELECT id FROM t WHERE x = \xe9t\xe9\n' >"$W/latin1.yaml"
	for f in garbage big deep alias tabs empty latin1 missing; do
		sc rules validate "$W/$f.yaml"
		expect_status 2
		[ "$(printf '%s\n' "$stderr" | wc -l)" -eq 1 ] || { echo "$f: $stderr" >&2; false; }
		[ -z "$output" ]
	done
	sc rules validate "$W/alias.yaml"
	[[ "$stderr" == *"anchors and aliases"* ]]
	sc rules validate "$W/latin1.yaml"
	[[ "$stderr" =~ "byte "[0-9]+": invalid".*"(the file must be UTF-8 text)" ]]
}

@test "usage: no file, unknown subcommand" {
	sc rules validate
	expect_status 2
	[[ "$stderr" == *"which rules file?"* ]]
	sc rules check x.yaml
	expect_status 2
}

@test "a file of comments only is invalid (exit 1), not a crash (found by the fuzzer)" {
	printf '# nothing here yet\n' >"$W/c.yaml"
	sc rules validate "$W/c.yaml" --json
	expect_status 1
	[ "$(json_get "d['errors'][0]['message']")" = "'bucket_definitions' or 'streams' is required" ]
}
