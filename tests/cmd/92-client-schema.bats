#!/usr/bin/env bats
# The generated TypeScript schema opened with the official SDK
# (@powersync/node): the client database has exactly the declared tables and
# columns; compare and doctor --client find no drift there, and each kind of
# drift on clients built from deliberately wrong schemas.

load helpers

setup_file() {
	export PEERS=$("$ROOT/tests/lib/npm-peers" @powersync/node@1.1.0 better-sqlite3@12.11.1 typescript@5)
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	q "$URI" -c "CREATE TABLE lists (id uuid PRIMARY KEY, name text, owner_id uuid, position int4)" \
		-c "CREATE TABLE todos (id uuid PRIMARY KEY, list_id uuid, description text, done boolean, rating float8, owner_id uuid)" \
		-c "CREATE TABLE comments (id text PRIMARY KEY, body text, likes bigint)"
	export RULES=$BATS_FILE_TMPDIR/rules.yaml
	cat >"$RULES" <<-'EOF'
	bucket_definitions:
	  user_lists:
	    parameters: SELECT request.user_id() AS user_id
	    data:
	      - SELECT * FROM lists WHERE owner_id = bucket.user_id
	      - SELECT id, list_id, description, done, rating FROM todos WHERE owner_id = bucket.user_id
	  global:
	    data:
	      - SELECT id, body, likes FROM comments
	EOF
	"$SYNCCTL" schema client --rules "$RULES" --db "$URI" --output "$BATS_FILE_TMPDIR/schema.ts"
	"$SYNCCTL" schema client --rules "$RULES" --db "$URI" --json >"$BATS_FILE_TMPDIR/schema.json"
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# client NAME [EDIT]...: a client database built by the SDK from the
# generated schema with these edits (regex=>replacement) to its TypeScript;
# one row of each synced table it lacks is in ps_untyped. Prints its path.
client() {
	local name=$1
	shift
	local dir=$BATS_FILE_TMPDIR/$name
	python3 -c 'import json,sys; print(json.dumps([[p, r.replace("\\n", "\n")] for p, r in (a.split("=>", 1) for a in sys.argv[1:])]))' "$@" >"$dir.edits.json"
	UNTYPED='["comments"]' node "$PEERS/clientschema_sdk.mjs" "$BATS_FILE_TMPDIR/schema.ts" "$dir" "$dir.edits.json" >"$dir.declared.json"
	echo "$dir/client.db"
}

# The views of a client database, read with Python's sqlite3: [[table, [[column, type]...]]...].
views() {
	python3 - "$1" <<-'EOF'
	import json, re, sqlite3, sys
	db = sqlite3.connect(f'file:{sys.argv[1]}?mode=ro', uri=True)
	out = []
	for name, sql in db.execute("SELECT name, sql FROM sqlite_master WHERE type = 'view' ORDER BY name"):
	    cols = re.findall(r'"((?:[^"]|"")*)"', sql.split(' AS SELECT ')[0].split('(', 1)[1])
	    types = re.findall(r' as (\w+)\)', sql)
	    out.append([name, [[c, t] for c, t in zip(cols[1:], types)]])
	print(json.dumps(out))
	EOF
}

@test "the generated TypeScript opens with @powersync/node: the client database has exactly the declared tables and columns" {
	db=$(client exact)
	# What the generator declared ...
	want=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); print(json.dumps(sorted([t["name"], [[c["name"], c["type"]] for c in t["columns"]]] for t in d["tables"])))' "$BATS_FILE_TMPDIR/schema.json")
	[ "$want" = '[["comments", [["body", "TEXT"], ["likes", "INTEGER"]]], ["lists", [["name", "TEXT"], ["owner_id", "TEXT"], ["position", "INTEGER"]]], ["todos", [["list_id", "TEXT"], ["description", "TEXT"], ["done", "INTEGER"], ["rating", "REAL"]]]]' ]
	# ... is what the SDK was given, and what it built.
	[ "$(python3 -c 'import json,sys; print(json.dumps(sorted([t["name"], [[c["name"], c["type"]] for c in t["columns"]]] for t in json.load(open(sys.argv[1])))))' "${db%/client.db}.declared.json")" = "$want" ]
	[ "$(views "$db")" = "$want" ]
	[ "$(python3 -c 'import sqlite3,sys; print(sorted(r[0] for r in sqlite3.connect(sys.argv[1]).execute("SELECT name FROM sqlite_master WHERE name LIKE \"ps_data%\"")))' "$db")" = "['ps_data__comments', 'ps_data__lists', 'ps_data__todos']" ]
}

@test "compare --rules: no drift on the client built from the generated schema" {
	db=$(client exact)
	sc compare --local "$db" --server "$URI" --rules "$RULES" --json
	expect_status 0
	[ "$(json_get "[(c['id'], c['status']) for c in d['schema']['checks']]")" = '[["client.schema.lists", "ok"], ["client.schema.todos", "ok"], ["client.schema.comments", "ok"]]' ]
	[ "$(json_get "d['schema']['status']")" = ok ]
	sc compare --local "$db" --server "$URI" --rules "$RULES"
	expect_status 0
	[[ "$output" == *"  ok    client.schema.todos     todos: the client declares the 4 columns the rules send, with their types"* ]]
	[[ "$output" != *"untyped rows"* ]]
	[ "${output##*$'\n'}" = "client schema: matches what the rules send" ]
}

@test "drift: a column the rules send that the client lacks (its data only in the JSON)" {
	db=$(client no-rating '^    rating: column.real\n=>')
	sc compare --local "$db" --server "$URI" --rules "$RULES" --json
	expect_status 1
	c="[c for c in d['schema']['checks'] if c['id']=='client.schema.todos.rating'][0]"
	[ "$(json_get "$c['status']")" = fail ]
	[ "$(json_get "$c['message']")" = "todos.rating: the rules send it, the client schema lacks it: its values stay in ps_data__todos.data, invisible to the app" ]
	[ "$(json_get "$c['hint']")" = "add to the table todos: rating: column.real" ]
	[ "$(json_get "[c['id'] for c in d['schema']['checks'] if c['status'] != 'ok']")" = '["client.schema.todos.rating"]' ]
}

@test "drift: a column the client declares that no rule sends (always NULL): a warning, a failure with --strict" {
	db=$(client extra-column '^    rating: column.real=>    rating: column.real,\n    archived_at: column.text')
	sc compare --local "$db" --server "$URI" --rules "$RULES" --json
	expect_status 0
	c="[c for c in d['schema']['checks'] if c['id']=='client.schema.todos.archived_at'][0]"
	[ "$(json_get "$c['status']")" = warn ]
	[ "$(json_get "$c['message']")" = "todos.archived_at: the client declares it, no rule sends it: it is always NULL" ]
	[ "$(json_get "$c['hint']")" = "remove from the table todos: archived_at: column.text" ]
	sc compare --local "$db" --server "$URI" --rules "$RULES" --strict
	expect_status 1
}

@test "drift: a type that differs from the generated one" {
	db=$(client wrong-type '^    done: column.integer,=>    done: column.text,' '^    likes: column.integer=>    likes: column.real')
	sc compare --local "$db" --server "$URI" --rules "$RULES" --json
	expect_status 1
	c="[c for c in d['schema']['checks'] if c['id']=='client.schema.todos.done'][0]"
	[ "$(json_get "$c['status']")" = fail ]
	[ "$(json_get "$c['message']")" = "todos.done: the client declares TEXT, the rules send INTEGER (from boolean): the app reads its values cast to TEXT" ]
	[ "$(json_get "$c['hint']")" = "in the table todos, declare it as: done: column.integer" ]
	[ "$(json_get "$c['details']")" = '{"table": "todos", "column": "done", "client_type": "TEXT", "rules_type": "INTEGER"}' ]
	[ "$(json_get "[c['hint'] for c in d['schema']['checks'] if c['id']=='client.schema.comments.likes'][0]")" = "in the table comments, declare it as: likes: column.integer" ]
}

@test "drift: a synced table absent from the client schema (its rows in ps_untyped)" {
	db=$(client no-comments '^  todos,\n  comments\n=>  todos\n')
	sc compare --local "$db" --server "$URI" --rules "$RULES" --json
	expect_status 1
	c="[c for c in d['schema']['checks'] if c['id']=='client.schema.comments'][0]"
	[ "$(json_get "$c['status']")" = fail ]
	[ "$(json_get "$c['message']")" = "comments: the rules sync it, the client schema has no such table: its rows sit in ps_untyped (1 now), invisible to the app" ]
	[ "$(json_get "$c['hint']")" = "add the table comments to the client schema with: body: column.text; likes: column.integer (syncctl schema client --lang ts writes it)" ]
	[ "$(json_get "d['untyped']")" = '{"comments": 1}' ]
}

@test "drift: a local-only table that the rules also sync" {
	db=$(client local-comments '^    likes: column.integer\n  },\n  \{ indexes: \{\} \}=>    likes: column.integer\n  },\n  { indexes: {}, localOnly: true }')
	[ "$(python3 -c 'import json,sys; print([t["localOnly"] for t in json.load(open(sys.argv[1])) if t["name"]=="comments"])' "${db%/client.db}.declared.json")" = "[True]" ]
	sc compare --local "$db" --server "$URI" --rules "$RULES" --json
	expect_status 1
	c="[c for c in d['schema']['checks'] if c['id']=='client.schema.comments'][0]"
	[ "$(json_get "$c['status']")" = fail ]
	[ "$(json_get "$c['message']")" = "comments: local-only in the client schema, but the rules sync it: synced rows never reach it (1 sit in ps_untyped)" ]
	[ "$(json_get "$c['hint']")" = "make comments a synced table (drop localOnly) declared as: body: column.text; likes: column.integer" ]
}

@test "drift: a synced table of the client that no rule sends" {
	db=$(client extra-table '^export const AppSchema = new Schema\(\{\n=>const notes = new Table({ body: column.text });\n\nexport const AppSchema = new Schema({\n  notes,\n')
	sc compare --local "$db" --server "$URI" --rules "$RULES" --json
	# (The server has no notes table: the counts differ too.)
	expect_status 1
	[ "$(json_get "d['schema']['status']")" = warn ]
	c="[c for c in d['schema']['checks'] if c['id']=='client.schema.notes'][0]"
	[ "$(json_get "$c['status']")" = warn ]
	[ "$(json_get "$c['message']")" = "notes: a synced table of the client schema that no rule sends: it stays empty (unless the app writes it)" ]
}

@test "--lang writes the fix lines in the app's language; the rules invalid is one failing check" {
	db=$(client no-rating2 '^    rating: column.real\n=>')
	sc compare --local "$db" --server "$URI" --rules "$RULES" --lang dart --json
	expect_status 1
	[ "$(json_get "[c['hint'] for c in d['schema']['checks'] if c['id']=='client.schema.todos.rating'][0]")" = "add to the table todos: Column.real('rating')" ]
	sc compare --local "$db" --server "$URI" --rules "$RULES" --lang swift --json
	[ "$(json_get "[c['hint'] for c in d['schema']['checks'] if c['id']=='client.schema.todos.rating'][0]")" = 'add to the table todos: .real("rating")' ]
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT name FROM lists\n' >"$W/bad.yaml"
	sc compare --local "$db" --server "$URI" --rules "$W/bad.yaml" --json
	expect_status 1
	[ "$(json_get "[(c['id'], c['status']) for c in d['schema']['checks']]")" = '[["client.schema", "fail"]]' ]
	[[ "$(json_get "d['schema']['checks'][0]['message']")" == "the rules are invalid (1 error; $W/bad.yaml:4:16: Query must return an \"id\" column): what they send cannot be known" ]]
	sc compare --local "$db" --server "$URI" --rules "$RULES" --lang cobol
	expect_status 2
}

@test "doctor --client: the client group, with the fix in --lang (default ts)" {
	db=$(client doctor-wrong '^    done: column.integer,=>    done: column.text,')
	sc doctor --client "$db" --db "$URI" --rules "$RULES" --only client --json
	expect_status 1
	[ "$(json_get "sorted(set(c['group'] for c in d['checks']))")" = '["client"]' ]
	[ "$(check_field client.schema.todos.done status)" = fail ]
	[ "$(check_field client.schema.todos.done hint)" = "in the table todos, declare it as: done: column.integer" ]
	sc doctor --client "$db" --db "$URI" --rules "$RULES" --only client --lang kotlin --json
	[ "$(check_field client.schema.todos.done hint)" = 'in the table todos, declare it as: Column.integer("done")' ]
	sc doctor --client "$db" --db "$URI" --rules "$RULES" --only client
	expect_status 1
	[[ "$output" == *$'client\n'*"FAIL  client.schema.todos.done"* ]]
	good=$(client doctor-good)
	sc doctor --client "$good" --db "$URI" --rules "$RULES" --only client --json
	expect_status 0
	sc doctor --only client --json
	expect_status 0
	[ "$(check_field client.schema status)" = skip ]
	[ "$(check_field client.schema hint)" = "give --client FILE (a PowerSync client database) to check its schema against the rules" ]
	sc doctor --client "$W/nope.db" --db "$URI" --rules "$RULES" --only client --json
	expect_status 1
	[[ "$(check_field client.schema message)" == "cannot read client database $W/nope.db: no such file" ]]
}

@test "--format nagios and prometheus: the client schema's checks beside the tables' (group client, as in doctor)" {
	db=$(client nagios-no-rating '^    rating: column.real\n=>')
	sc compare --local "$db" --server "$URI" --rules "$RULES" --format nagios
	expect_status 2
	[[ "$(head -1 <<<"$output")" == "SYNCCTL CRITICAL - 1 failed: client.schema.todos.rating todos.rating: the rules send it, the client schema lacks it: its values stay in ps_data__todos.data, invisible to the app | failed=1;;;0 warnings=0;;;0 ok=6;;;0 "* ]]
	[[ "$output" == *$'\nCRITICAL client.schema.todos.rating: todos.rating: the rules send it, the client schema lacks it: its values stay in ps_data__todos.data, invisible to the app (fix: add to the table todos: rating: column.real)\n'* ]]
	[[ "$output" == *$'\nOK client.schema.lists: lists: the client declares the 3 columns the rules send, with their types\n'* ]]
	sc compare --local "$db" --server "$URI" --rules "$RULES" --format prometheus
	expect_status 1
	printf '%s\n' "$output" | promtool check metrics
	[[ "$output" == *$'\nsyncctl_check_status{check="client.schema.todos.rating",group="client"} 2\n'* ]]
	[[ "$output" == *$'\nsyncctl_check_status{check="compare.table.todos",group="compare"} 0\n'* ]]
	[[ "$output" == *$'\nsyncctl_exit_code{command="compare"} 1\n'* ]]
}
