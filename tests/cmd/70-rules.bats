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
	printf 'replication:\n  connections:\n    - type: postgresql\n      uri: %s\n      password: unused\n      sslmode: disable\nsync_config:\n  path: sync-rules.yaml\n' "$URI" >"$W/etc/config.yaml"
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

# ---- issue 14: the reference's verdict on real-world files ----

# rules_diag FILE [ARGS]: runs rules validate --json; $diag holds every
# finding as "severity line:col message", one a line.
rules_diag() {
	sc rules validate "$@" --json
	diag=$(json_get "'\n'.join(f\"{e['severity']} {e['line']}:{e['column']} {e['message']}\" for e in d['errors'])")
}

@test "PowerSync's own corpus (../shared/corpora/rules-powersync): the reference's verdict on every file, the newer source's where listed" {
	cases=$ROOT/../shared/corpora/rules-powersync/cases
	if [ ! -d "$cases" ]; then
		echo "# ../shared/corpora/rules-powersync is absent: PowerSync's corpus not run" >&3
		skip "../shared/corpora/rules-powersync is absent"
	fi
	run python3 "$ROOT/tests/conformance/rules_corpus.py" "$SYNCCTL" "$PEERS" "$cases" "$ROOT/tests/rules/README.md"
	echo "$output" | grep -v '^ok' >&2 || true
	[ "$status" -eq 0 ]
	[ "$(grep -c '^ok' <<<"$output")" -eq "$(ls "$cases" | grep -c '\.ya\?ml$')" ]
	grep -q '^# verdicts: 430 of 430 agree with the reference, 9 follow the newer source; first fatal line: 65 of 65 (100.0%)' <<<"$output"
}

@test "config: the keys syncctl checks are exactly those of the reference's schema/sync_rules.json" {
	ours=$(sc version >/dev/null; python3 - "$ROOT/lib/rules.c" <<-'PY'
	import re, sys
	src = open(sys.argv[1]).read()
	table = src[src.index('} config_keys[] = {'):]
	table = table[:table.index('};')]
	print(' '.join(sorted(re.findall(r'\{ "([a-z0-9_]+)", CK_', table))))
	PY
	)
	theirs=$(python3 -c 'import json,sys; print(" ".join(sorted(json.load(open(sys.argv[1]))["properties"]["config"]["properties"])))' \
		"$PEERS/node_modules/@powersync/service-sync-rules/schema/sync_rules.json")
	[ -n "$theirs" ]
	[ "$ours" = "$theirs" ]
	# And the types: the schema's booleans are the options syncctl reads as booleans.
	bools=$(python3 -c 'import json,sys; p=json.load(open(sys.argv[1]))["properties"]["config"]["properties"]; print(" ".join(sorted(k for k,v in p.items() if v.get("type")=="boolean")))' \
		"$PEERS/node_modules/@powersync/service-sync-rules/schema/sync_rules.json")
	[ "$bools" = "$(grep -oE '\{ "[a-z0-9_]+", CK_BOOL' "$ROOT/lib/rules.c" | cut -d'"' -f2 | sort | tr '\n' ' ' | sed 's/ $//')" ]
}

@test "IN <expression>: function calls, ->> chains, string literals and NOT IN in streams; IN (x) is one expression" {
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT * FROM todos WHERE list_id IN auth.parameter('"'"'lists'"'"')\n' >"$W/a.yaml"
	rules_diag "$W/a.yaml"; [ "$diag" = "" ]
	expect_status 0
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT * FROM todos WHERE list_id IN subscription.parameter('"'"'lists'"'"')\n' >"$W/b.yaml"
	rules_diag "$W/b.yaml"; [ "$diag" = "warning 5:49 Clients can send any value for this unauthenticated parameter, so this is unsuitable for authorization. Consider further constraining this with an authenticated parameter." ]
	expect_status 0
	printf 'bucket_definitions:\n  b:\n    parameters: SELECT id AS list_id FROM lists WHERE id IN request.parameters() ->> '"'"'ids'"'"'\n    data:\n      - SELECT * FROM todos WHERE list_id = bucket.list_id\n' >"$W/c.yaml"
	rules_diag "$W/c.yaml"; [ "$diag" = "warning 3:17 Potentially dangerous query based on parameters set by the client. The client can send any value for these parameters so it's not a good place to do authorization." ]
	expect_status 0
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT * FROM todos WHERE status IN '"'"'["open","done"]'"'"' AND kind NOT IN '"'"'["x"]'"'"'\n' >"$W/d.yaml"
	rules_diag "$W/d.yaml"; [ "$diag" = "" ]
	expect_status 0
	printf 'bucket_definitions:\n  b:\n    parameters: SELECT token_parameters.user_id AS user_id\n    data:\n      - SELECT * FROM todos WHERE bucket.user_id IN (todos.members)\n' >"$W/e.yaml"
	rules_diag "$W/e.yaml"; [ "$diag" = "" ]
	expect_status 0
	# Negative: a real list, NOT IN in bucket definitions, a parameter on the right.
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT * FROM todos WHERE status IN ('"'"'a'"'"', '"'"'b'"'"')\n' >"$W/f.yaml"
	rules_diag "$W/f.yaml"; [ "$diag" = "error 4:46 list not supported here" ]
	expect_status 1
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT * FROM todos WHERE status NOT IN '"'"'["a"]'"'"'\n' >"$W/g.yaml"
	rules_diag "$W/g.yaml"; [ "$diag" = "error 4:35 Operator not supported: NOT IN" ]
	printf 'bucket_definitions:\n  b:\n    parameters: SELECT token_parameters.ids AS ids\n    data:\n      - SELECT * FROM todos WHERE todos.id IN bucket.ids\n' >"$W/h.yaml"
	rules_diag "$W/h.yaml"; [ "$diag" = "error 5:47 Cannot use bucket parameters on the right side of IN operators" ]
}

@test "JOIN without ON in streams; still one table in bucket definitions" {
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT todos.* FROM todos JOIN json_each(auth.parameter('"'"'lists'"'"')) AS l WHERE todos.list_id = l.value\n' >"$W/a.yaml"
	rules_diag "$W/a.yaml"; [ "$diag" = "" ]
	expect_status 0
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT todos.* FROM todos INNER JOIN lists WHERE todos.list_id = lists.id AND lists.owner_id = auth.user_id()\n' >"$W/b.yaml"
	rules_diag "$W/b.yaml"; [ "$diag" = "" ]
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT todos.* FROM todos JOIN lists WHERE todos.list_id = lists.id\n' >"$W/c.yaml"
	rules_diag "$W/c.yaml"; [ "$diag" = "error 4:29 Must SELECT from a single table" ]
	expect_status 1
}

@test "a bare boolean bucket parameter is a filter; OR sides must bind the same parameters" {
	printf 'bucket_definitions:\n  b:\n    parameters: SELECT token_parameters.is_admin AS is_admin\n    data:\n      - SELECT * FROM todos WHERE bucket.is_admin\n' >"$W/a.yaml"
	rules_diag "$W/a.yaml"; [ "$diag" = "" ]
	expect_status 0
	printf 'bucket_definitions:\n  b:\n    parameters: SELECT token_parameters.is_admin AS is_admin\n    data:\n      - SELECT * FROM todos WHERE NOT bucket.is_admin\n' >"$W/b.yaml"
	rules_diag "$W/b.yaml"; [ "$diag" = "error 5:39 Cannot use bucket parameters in expressions" ]
	expect_status 1
	printf 'bucket_definitions:\n  b:\n    parameters: SELECT token_parameters.user_id AS user_id\n    data:\n      - SELECT * FROM todos WHERE owner_id = bucket.user_id OR assignee_id = bucket.user_id\n' >"$W/c.yaml"
	rules_diag "$W/c.yaml"; [ "$diag" = "" ]
	printf 'bucket_definitions:\n  b:\n    parameters: SELECT token_parameters.user_id AS user_id, token_parameters.org_id AS org_id\n    data:\n      - SELECT * FROM todos WHERE owner_id = bucket.user_id OR org_id = bucket.org_id\n' >"$W/d.yaml"
	rules_diag "$W/d.yaml"; [ "$diag" = 'error 5:35 Left and right sides of OR must use the same parameters, or split into separate queries. [{"key":"bucket.user_id","expands":false}] != [{"key":"bucket.org_id","expands":false}]' ]
	expect_status 1
}

@test "_priority of a parameter query: sets the priority, once, within 0..3" {
	printf 'bucket_definitions:\n  b:\n    parameters: SELECT 1 AS _priority\n    data:\n      - SELECT * FROM todos\n' >"$W/a.yaml"
	rules_diag "$W/a.yaml"; [ "$diag" = "" ]
	expect_status 0
	printf 'bucket_definitions:\n  b:\n    priority: 1\n    parameters: SELECT 0 AS _priority\n    data:\n      - SELECT * FROM todos\n' >"$W/b.yaml"
	rules_diag "$W/b.yaml"; [ "$diag" = "error 4:17 Cannot set priority multiple times." ]
	expect_status 1
	printf 'bucket_definitions:\n  b:\n    parameters: SELECT 5 AS _priority\n    data:\n      - SELECT * FROM todos\n' >"$W/c.yaml"
	rules_diag "$W/c.yaml"; [ "$diag" = "error 3:24 Invalid value for priority, must be between 0 and 3 (inclusive)." ]
}

@test "config: unknown keys, value types, precision and its dependency, storage versions, the SQLite engine" {
	body='bucket_definitions:\n  b:\n    data: [SELECT * FROM todos]\n'
	printf "config:\n  edition: 3\n  storage_version: 2\n  timestamps_iso8601: true\n  versioned_bucket_ids: true\n  fixed_json_extract: true\n  custom_postgres_types: false\n  unstable_sqlite_expression_engine: true\n  timestamp_max_precision: microseconds\nstreams:\n  s:\n    query: SELECT * FROM todos\n" >"$W/ok.yaml"
	rules_diag "$W/ok.yaml"; [ "$diag" = "" ]
	expect_status 0
	printf "config:\n  edition: 2\n  sync_config_compiler: true\n$body" >"$W/a.yaml"
	rules_diag "$W/a.yaml"; [ "$diag" = "error 3:3 Unknown key 'sync_config_compiler'." ]
	expect_status 1
	printf "config:\n  timestamp_max_precision: seconds\n$body" >"$W/b.yaml"
	rules_diag "$W/b.yaml"; [ "$diag" = "error 2:3 'timestamp_max_precision' requires 'timestamps_iso8601' to be enabled." ]
	printf "config:\n  edition: 2\n  timestamp_max_precision: milliseconds\n$body" >"$W/c.yaml"
	rules_diag "$W/c.yaml"; [ "$diag" = "" ]
	expect_status 0
	printf "config:\n  edition: 2\n  timestamp_max_precision: years\n$body" >"$W/d.yaml"
	rules_diag "$W/d.yaml"; [ "$diag" = "error 3:28 Unknown time precision, allowed are seconds, milliseconds, microseconds, nanoseconds" ]
	printf "config:\n  edition: two\n  timestamps_iso8601: yes\n  timestamp_max_precision: 3\n$body" >"$W/e.yaml"
	rules_diag "$W/e.yaml"; [ "$diag" = "error 2:12 must be numeric
error 3:23 must be a boolean
error 4:28 must be a string" ]
	printf "config:\n  edition: 2\n  storage_version: 1\n$body" >"$W/f.yaml"
	rules_diag "$W/f.yaml"; [ "$diag" = "error 3:20 Storage version 1 is not supported" ]
	printf "config:\n  edition: 2\n  storage_version: 3\n$body" >"$W/g.yaml"
	rules_diag "$W/g.yaml"; [ "$diag" = "warning 3:20 Storage version 3 is unstable, and may cause unexpected behavior or stop functioning in any release" ]
	expect_status 0
	printf "config:\n  edition: 2\n  unstable_sqlite_expression_engine: true\n$body" >"$W/h.yaml"
	rules_diag "$W/h.yaml"; [ "$diag" = "error 2:3 Enabling unstable_sqlite_expression_engine requires edition: 3" ]
	expect_status 1
	printf "config:\n  edition: 3\n  fixed_json_extract: false\n  unstable_sqlite_expression_engine: true\nstreams:\n  s:\n    query: SELECT * FROM todos\n" >"$W/i.yaml"
	rules_diag "$W/i.yaml"; [ "$diag" = "error 2:3 Enabling unstable_sqlite_expression_engine requires fixed_json_extract" ]
	printf "config:\n  edition: 4\nstreams:\n  s:\n    query: SELECT * FROM todos\n" >"$W/j.yaml"
	rules_diag "$W/j.yaml"; [ "$diag" = "error 2:12 must be < 4" ]
}

@test "common table expressions: one column where used with IN, parsed even when unreferenced, scalars only" {
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    with:\n      mine: SELECT id FROM lists WHERE owner_id = auth.user_id()\n    query: SELECT * FROM todos WHERE list_id IN mine\n' >"$W/a.yaml"
	rules_diag "$W/a.yaml"; [ "$diag" = "" ]
	expect_status 0
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    with:\n      mine: SELECT id, name FROM lists WHERE owner_id = auth.user_id()\n    query: SELECT * FROM todos WHERE list_id IN mine\n' >"$W/b.yaml"
	rules_diag "$W/b.yaml"; [ "$diag" = "error 7:49 Common-table expression must return a single column" ]
	expect_status 1
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    with:\n      mine: SELECT id FROM lists WHERE\n    query: SELECT * FROM todos\n' >"$W/c.yaml"
	rules_diag "$W/c.yaml"; [ "$diag" = "warning 6:7 This common table expression isn't referenced.
error 6:39 syntax error at end of input" ]
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    with:\n      mine:\n        - SELECT id FROM lists\n    query: SELECT * FROM todos WHERE list_id IN mine\n' >"$W/d.yaml"
	rules_diag "$W/d.yaml"; [ "$diag" = "error 7:9 Expected a scalar here." ]
}

@test "edition 3: functions in result columns, subqueries and CTEs; token_parameters is not there" {
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT id, upper(name) AS n FROM todos WHERE owner_id = auth.user_id()\n' >"$W/ok.yaml"
	rules_diag "$W/ok.yaml"; [ "$diag" = "" ]
	expect_status 0
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT id, md5(name) AS h FROM todos\n' >"$W/a.yaml"
	rules_diag "$W/a.yaml"; [ "$diag" = "error 5:23 Unknown function" ]
	expect_status 1
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT * FROM todos WHERE list_id IN (SELECT id FROM lists WHERE owner_id = now())\n' >"$W/b.yaml"
	rules_diag "$W/b.yaml"; [ "$diag" = "error 5:88 Unknown function" ]
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    with:\n      mine: SELECT id FROM lists WHERE owner_id = gen_random_uuid()\n    query: SELECT * FROM todos WHERE list_id IN mine\n' >"$W/c.yaml"
	rules_diag "$W/c.yaml"; [ "$diag" = "error 6:51 Unknown function" ]
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT * FROM todos WHERE owner_id = token_parameters.user_id\n' >"$W/d.yaml"
	rules_diag "$W/d.yaml"; [ "$diag" = "error 5:49 Table 'token_parameters' has not been added in a FROM clause here." ]
}

@test "queries: and data: given as scalars" {
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    queries: SELECT * FROM todos\n' >"$W/a.yaml"
	rules_diag "$W/a.yaml"; [ "$diag" = "error 5:14 Expected a sequence here." ]
	expect_status 1
	printf 'bucket_definitions:\n  b:\n    data: SELECT * FROM todos\n' >"$W/b.yaml"
	rules_diag "$W/b.yaml"; [ "$diag" = "error 3:11 Expected a sequence here." ]
	expect_status 1
	printf 'config:\n  edition: 3\nstreams:\n  s:\n    queries:\n      - SELECT * FROM todos\n      - SELECT * FROM lists\n' >"$W/c.yaml"
	rules_diag "$W/c.yaml"; [ "$diag" = "" ]
	expect_status 0
}

# rules_tables N: a rules file over N tables t_1..t_N (a bucket each).
rules_tables() {
	echo "bucket_definitions:"
	for ((i = 1; i <= $1; i++)); do
		printf '  b_%d:\n    data:\n      - SELECT id, v FROM t_%d\n' "$i" "$i"
	done
}

@test "--db: the same number of statements for 5 tables and for 500" {
	q "$URI" -c "CREATE DATABASE many"
	many=${URI%/*}/many
	python3 -c 'print(";".join(f"CREATE TABLE t_{i} (id int PRIMARY KEY, v text)" for i in range(1, 501)) + "; CREATE PUBLICATION powersync FOR ALL TABLES;")' | q "$many"
	rules_tables 5 >"$W/r5.yaml"
	rules_tables 500 >"$W/r500.yaml"
	sc -v rules validate "$W/r5.yaml" --db "$many"
	expect_status 0
	n5=$(grep -c 'SQL: ' <<<"$stderr")
	sc -v rules validate "$W/r500.yaml" --db "$many"
	expect_status 0
	n500=$(grep -c 'SQL: ' <<<"$stderr")
	[ "$n5" -gt 0 ]
	[ "$n5" -eq "$n500" ]
	[ "$n500" -le 3 ]
}

@test "--db (Postgres 15+): a column outside the publication's column list fails; SELECT * of such a table and a row filter warn" {
	[ "$(q "$URI" -c 'SHOW server_version_num')" -ge 150000 ]
	q "$URI" -c "CREATE TABLE items (id uuid PRIMARY KEY, name text, secret text)" \
		-c "CREATE TABLE events (id uuid PRIMARY KEY, kind text)" \
		-c "CREATE PUBLICATION colpub FOR TABLE items (id, name), events WHERE (kind <> 'debug'), lists"
	printf 'bucket_definitions:\n  g:\n    data:\n      - SELECT id, name FROM items\n      - SELECT id, secret FROM items\n      - SELECT * FROM items\n      - SELECT * FROM events\n      - SELECT id, name FROM lists\n' >"$W/p.yaml"
	sc rules validate "$W/p.yaml" --db "$URI" --publication colpub --json
	expect_status 1
	[ "$(json_get "'\n'.join(f\"{e['severity']} {e['line']}:{e['column']} {e['message']}\" for e in d['errors'])")" = "error 5:20 Column secret of table public.items is not published by publication colpub (its column list): it would sync as NULL (ALTER PUBLICATION colpub SET TABLE public.items;)
warning 6:23 Publication colpub publishes only some columns of public.items: SELECT * syncs without secret (ALTER PUBLICATION colpub SET TABLE public.items;)
warning 7:23 Publication colpub has a row filter on public.events (WHERE (kind <> 'debug'::text)): rows it leaves out never sync" ]
	# Without the failing query: warnings only, exit 0 (1 with --strict).
	sed -i 5d "$W/p.yaml"
	sc rules validate "$W/p.yaml" --db "$URI" --publication colpub
	expect_status 0
	sc rules validate "$W/p.yaml" --db "$URI" --publication colpub --strict
	expect_status 1
}
