#!/usr/bin/env bats
# syncctl schema client: the client-side schema from the sync rules and the
# live database, byte for byte as PowerSync's own generators write it.

load helpers

setup_file() {
	export PEERS=$("$ROOT/tests/lib/npm-peers")
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR BASE=${PGTMP_URI%/*}
	q "$URI" -c "CREATE DATABASE tasks" -c "CREATE DATABASE shop"
	q "$BASE/tasks" -f "$ROOT/tests/clientschema/db/tasks.sql"
	q "$BASE/shop" -f "$ROOT/tests/clientschema/db/shop.sql"
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

@test "conformance: the corpus in every --lang, --type-comments and --imports, byte for byte with the reference's generators" {
	# The release binary generates every variant; the sanitizer binary
	# every file once and every variant of four files.
	flags=()
	[[ "$SYNCCTL" == *asan* ]] && flags=(--sanitizer)
	run python3 "$ROOT/tests/conformance/clientschema_corpus.py" "$SYNCCTL" "$PEERS" "$ROOT/tests/clientschema/corpus" "$BASE" "$W" "${flags[@]}"
	echo "$output"
	[ "$status" -eq 0 ]
	n=$(ls "$ROOT"/tests/clientschema/corpus/*.yaml | wc -l)
	[ "$n" -ge 30 ]
	[[ "$output" == *"# $n files, "*": $n files agree, 0 differ"* ]]
}

@test "the default is ts: imports for web with react-native commented, a table per output table, the Database type" {
	cat >"$W/r.yaml" <<-'EOF'
	bucket_definitions:
	  user_lists:
	    parameters: SELECT request.user_id() AS user_id
	    data:
	      - SELECT id, name, position, archived FROM lists WHERE owner_id = bucket.user_id
	EOF
	sc schema client --rules "$W/r.yaml" --db "$BASE/tasks"
	expect_status 0
	[ "$stderr" = "" ]
	[ "$output" = "import { column, Schema, Table } from '@powersync/web';
// OR: import { column, Schema, Table } from '@powersync/react-native';

const lists = new Table(
  {
    // id column (text) is automatically included
    name: column.text,
    position: column.integer,
    archived: column.integer
  },
  { indexes: {} }
);

export const AppSchema = new Schema({
  lists
});

export type Database = (typeof AppSchema)['types'];" ]
}

@test "columns are typed as the service's type registry types them: domains as their base, enums, arrays and composites as text" {
	cat >"$W/r.yaml" <<-'EOF'
	bucket_definitions:
	  all:
	    data:
	      - SELECT id, rating, small, nested, priority, tags, labels, home, estimate, hours, views, completed, meta FROM todos
	EOF
	sc schema client --rules "$W/r.yaml" --db "$BASE/tasks" --lang drift
	expect_status 0
	[ "$output" = "-- Note: These definitions are only used to generate typed code. PowerSync manages the database schema.
CREATE TABLE todos(
  id TEXT NOT NULL PRIMARY KEY,
  rating REAL,
  small INTEGER,
  nested INTEGER,
  priority TEXT,
  tags TEXT,
  labels TEXT,
  home TEXT,
  estimate TEXT,
  hours REAL,
  views INTEGER,
  completed INTEGER,
  meta TEXT
);" ]
	sc schema client --rules "$W/r.yaml" --db "$BASE/tasks" --lang swift --type-comments
	expect_status 0
	[[ "$output" == *'        .real("rating"), // rating'* ]]
	[[ "$output" == *'        .integer("nested"), // nested_count'* ]]
	[[ "$output" == *'        .text("estimate"), // numeric(10,2)'* ]]
	[[ "$output" == *'        .text("meta") // jsonb'* ]]
}

@test "without a database: columns of a known type are generated, what needs one is exit 2 naming it" {
	cat >"$W/fixed.yaml" <<-'EOF'
	bucket_definitions:
	  b:
	    data:
	      - SELECT id, 'x' AS kind, upper(name) AS shout, length(name) AS len, CAST(n AS real) AS r FROM t
	EOF
	sc schema client --rules "$W/fixed.yaml" --lang dart
	expect_status 0
	[ "$output" = "Schema([
  Table('t', [
    Column.text('kind'),
    Column.text('shout'),
    Column.integer('len'),
    Column.real('r')
  ])
]);" ]
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT * FROM t\n' >"$W/star.yaml"
	sc schema client --rules "$W/star.yaml"
	expect_status 2
	[ "$output" = "" ]
	[ "$stderr" = "syncctl schema: error: 'b': SELECT * takes its columns from the database; give --db (or the configured source database) to generate the client schema" ]
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT id, n + 1 AS next FROM t\n' >"$W/col.yaml"
	sc schema client --rules "$W/col.yaml"
	expect_status 2
	[ "$stderr" = "syncctl schema: error: 'b': column next takes its type from the source column n; give --db (or the configured source database) to generate the client schema" ]
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT id, name FROM "t_%%"\n' >"$W/pattern.yaml"
	sc schema client --rules "$W/pattern.yaml"
	expect_status 2
	[[ "$stderr" == *"the table pattern public.t_% names its output tables after the database's tables"* ]]
	printf "config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT id, 1 AS one FROM t WHERE owner = subscription.parameter('o')\n" >"$W/param.yaml"
	sc schema client --rules "$W/param.yaml"
	expect_status 2
	[ "$stderr" = "syncctl schema: error: 's': subscription parameter o takes its type from the source column owner; give --db (or the configured source database) to generate the client schema" ]
}

@test "invalid rules: exit 1 with the diagnostics as rules validate prints them, on stderr; nothing on stdout" {
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT name FROM lists\n' >"$W/bad.yaml"
	sc schema client --rules "$W/bad.yaml" --db "$BASE/tasks"
	expect_status 1
	[ "$output" = "" ]
	[ "$stderr" = "$W/bad.yaml:4:16: error: Query must return an \"id\" column [b]
    4 |       - SELECT name FROM lists
      |                ^~~~
$W/bad.yaml: invalid: 1 error, 0 warnings" ]
	sc schema client --rules "$W/bad.yaml" --json
	expect_status 1
	[ "$(json_get "d['valid']")" = false ]
	[ "$(json_get "d['errors'][0]['message']")" = 'Query must return an "id" column' ]
}

@test "unusable input is exit 2, an unreachable database exit 3" {
	sc schema client --rules "$W/none.yaml"
	expect_status 2
	[[ "$stderr" == *"$W/none.yaml"* ]]
	printf 'bucket_definitions: [\n' >"$W/broken.yaml"
	sc schema client --rules "$W/broken.yaml"
	expect_status 2
	sc schema client
	expect_status 2
	[[ "$stderr" == *"which rules? give --rules FILE"* ]]
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT id, name FROM lists\n' >"$W/r.yaml"
	sc schema client --rules "$W/r.yaml" --db "postgresql://postgres@127.0.0.1:1/tasks"
	expect_status 3
	[[ "$stderr" == *"cannot connect to the source database (from --db)"* ]]
}

@test "usage: a bad --lang or --imports, --imports with another language, init's options, an operand" {
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT id FROM lists\n' >"$W/r.yaml"
	sc schema client --rules "$W/r.yaml" --lang cobol
	expect_status 2
	[[ "$stderr" == *"--lang takes ts, js, js-legacy, dart, kotlin, swift, dotnet, dotnet-class, room or drift, not 'cobol'"* ]]
	sc schema client --rules "$W/r.yaml" --imports node
	expect_status 2
	sc schema client --rules "$W/r.yaml" --lang dart --imports web
	expect_status 2
	[[ "$stderr" == *"--imports applies to --lang ts and js only"* ]]
	sc schema client --rules "$W/r.yaml" --dry-run
	expect_status 2
	[[ "$stderr" == *"--dry-run is an option of 'schema init', not 'schema client'"* ]]
	sc schema init --lang ts
	expect_status 2
	[[ "$stderr" == *"--lang is an option of 'schema client', not 'schema init'"* ]]
	sc schema client extra --rules "$W/r.yaml"
	expect_status 2
}

@test "--imports web and react-native import from one package, with the stream helpers' names when there are optional streams" {
	printf "config:\n  edition: 3\nstreams:\n  list_todos:\n    query: SELECT id, description FROM todos WHERE list_id = subscription.parameter('list')\n" >"$W/s.yaml"
	sc schema client --rules "$W/s.yaml" --db "$BASE/tasks" --imports react-native
	expect_status 0
	[ "$(head -1 <<<"$output")" = "import { column, Schema, Table, PowerSyncDatabase, SyncStream } from '@powersync/react-native';" ]
	[ "$(sed -n 2p <<<"$output")" = "" ]
	[[ "$output" == *"    listTodos(params: { list: string }): SyncStream {
      return db.syncStream('list_todos', params);
    }"* ]]
	sc schema client --rules "$W/s.yaml" --db "$BASE/tasks" --lang js --imports web
	expect_status 0
	[ "$(head -1 <<<"$output")" = "import { column, Schema, Table, PowerSyncDatabase, SyncStream } from '@powersync/web';" ]
	[[ "$output" != *"export type Database"* ]]
}

@test "--output (the global option) writes the file atomically: the same bytes, no temporary file left, a previous file replaced whole" {
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT * FROM lists\n' >"$W/r.yaml"
	sc schema client --rules "$W/r.yaml" --db "$BASE/tasks" --lang kotlin
	expect_status 0
	"$SYNCCTL" schema client --rules "$W/r.yaml" --db "$BASE/tasks" --lang kotlin >"$W/want.kt"
	mkdir "$W/out"
	echo "old content" >"$W/out/schema.kt"
	sc schema client --rules "$W/r.yaml" --db "$BASE/tasks" --lang kotlin --output "$W/out/schema.kt"
	expect_status 0
	[ "$output" = "" ]
	cmp "$W/want.kt" "$W/out/schema.kt"
	[ "$(ls "$W/out")" = "schema.kt" ]
	# cmd/output.c's sink: 0644 less the umask, as every --output.
	[ "$(stat -c %a "$W/out/schema.kt")" = "$(printf '%o' $((0644 & ~$(umask))))" ]
	# An unwritable place: exit 3 (the output layer's), and the file there is untouched.
	chmod 555 "$W/out"
	if [ "$(id -u)" -ne 0 ]; then
		sc schema client --rules "$W/r.yaml" --db "$BASE/tasks" --output "$W/out/schema.kt"
		expect_status 3
		cmp "$W/want.kt" "$W/out/schema.kt"
	fi
	chmod 755 "$W/out"
	sc schema client --rules "$W/r.yaml" --db "$BASE/tasks" --output "$W/missing/dir/schema.ts"
	expect_status 3
	[ "$stderr" = "syncctl schema: error: cannot write --output $W/missing/dir/schema.ts: No such file or directory" ]
	# Invalid rules write nothing.
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT name FROM lists\n' >"$W/bad.yaml"
	sc schema client --rules "$W/bad.yaml" --db "$BASE/tasks" --lang kotlin --output "$W/out/schema.kt"
	expect_status 1
	cmp "$W/want.kt" "$W/out/schema.kt"
}

@test "--json: the tables, columns, types, source types, stream parameters and the schema text" {
	printf "config:\n  edition: 3\nstreams:\n  lists:\n    query: SELECT id, name, position FROM lists WHERE owner_id = subscription.parameter('owner')\n" >"$W/s.yaml"
	sc schema client --rules "$W/s.yaml" --db "$BASE/tasks" --lang dart --json
	expect_status 0
	[ "$(json_get "d['lang']")" = dart ]
	[ "$(json_get "d['tables']")" = '[{"name": "lists", "columns": [{"name": "name", "type": "TEXT", "source_type": "text"}, {"name": "position", "type": "INTEGER", "source_type": "integer"}]}]' ]
	[ "$(json_get "d['streams']")" = '[{"name": "lists", "parameters": [{"name": "owner", "type": "TEXT"}]}]' ]
	[ "$(json_get "d['warnings']")" = '[]' ]
	[[ "$(json_get "d['schema']")" == "Schema(["* ]]
}

@test "what the database lacks: a warning naming it on stderr (the service's), exit 1 with --strict" {
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT id, description, gone FROM todos\n      - SELECT * FROM nowhere\n' >"$W/r.yaml"
	sc schema client --rules "$W/r.yaml" --db "$BASE/tasks" --lang drift
	expect_status 0
	[ "$stderr" = "syncctl schema: warning: 'b': column gone not found in public.todos (the service syncs it as null, typed text)
syncctl schema: warning: 'b': table public.nowhere not found in the database (the service syncs no columns of it)" ]
	[ "$output" = "-- Note: These definitions are only used to generate typed code. PowerSync manages the database schema.
CREATE TABLE todos(
  id TEXT NOT NULL PRIMARY KEY,
  description TEXT,
  gone TEXT
);
CREATE TABLE nowhere(
  id TEXT NOT NULL PRIMARY KEY
);" ]
	sc schema client --rules "$W/r.yaml" --db "$BASE/tasks" --strict
	expect_status 1
	sc schema client --rules "$W/r.yaml" --db "$BASE/tasks" -q
	expect_status 0
	[ "$stderr" = "" ]
}

@test "the rules and the database from the service config (sync_config, replication.connections)" {
	# (The service wants a password; trust authentication ignores it.)
	cat >"$W/service.yaml" <<-EOF
	replication:
	  connections:
	    - type: postgresql
	      uri: ${BASE/postgres@/postgres:unused@}/tasks
	      sslmode: disable
	sync_config:
	  content: |
	    bucket_definitions:
	      b:
	        data:
	          - SELECT id, email FROM users
	EOF
	sc schema client --powersync-config "$W/service.yaml" --lang room
	expect_status 0
	[ "$output" = 'import androidx.room.ColumnInfo
import androidx.room.Entity
import androidx.room.PrimaryKey

@Entity(tableName = "users")
data class Users(
  @PrimaryKey val id: String,
  @ColumnInfo("email") val email: String,
)' ]
}

@test "rules validate agrees with the reference on what the corpus found: t.*, IN ARRAY[..] in streams, not IN (a, b)" {
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT o.* FROM orgs o\n' >"$W/star.yaml"
	sc rules validate "$W/star.yaml"
	expect_status 0
	printf "config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT id FROM todos WHERE views IN ARRAY[1, 2] OR views IN ROW(3, 4)\n" >"$W/array.yaml"
	sc rules validate "$W/array.yaml"
	expect_status 0
	printf "config:\n  edition: 3\nstreams:\n  s:\n    query: SELECT id FROM todos WHERE views IN (1, 2)\n" >"$W/list.yaml"
	sc rules validate "$W/list.yaml"
	expect_status 1
	[[ "$output" == *"list.yaml:5:48: error: This expression is not supported by PowerSync [s]"* ]]
	(cd "$PEERS" && node rules_ref.mjs "$W/star.yaml" "$W/array.yaml" "$W/list.yaml") >"$W/ref.txt"
	[ "$(python3 -c 'import json,sys; print([json.loads(l)["valid"] for l in open(sys.argv[1])])' "$W/ref.txt")" = "[True, True, False]" ]
}

@test "the man page's examples run as written (in a project directory)" {
	mkdir -p "$W/app/src" "$W/app/lib"
	printf 'bucket_definitions:\n  b:\n    data:\n      - SELECT * FROM lists\n' >"$W/app/sync-rules.yaml"
	cd "$W/app"
	export SYNCCTL_DB="$BASE/tasks"
	sc schema client --rules sync-rules.yaml --imports react-native --type-comments --output src/AppSchema.ts
	expect_status 0
	[ "$(head -1 src/AppSchema.ts)" = "import { column, Schema, Table } from '@powersync/react-native';" ]
	grep -qx '    position: column.integer, // integer' src/AppSchema.ts
	sc schema client --rules sync-rules.yaml --lang dart --output lib/schema.dart
	expect_status 0
	grep -qx "    Column.integer('position')," lib/schema.dart
}
