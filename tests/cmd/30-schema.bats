#!/usr/bin/env bats
# syncctl schema init: idempotent, all-or-nothing, dry runs change nothing.

load helpers

setup_file() {
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	pg_start --conf "wal_level = replica"
	export REPLICA_URI=$PGTMP_URI REPLICA_DIR=$PGTMP_DIR
}

teardown_file() {
	pg_stop "$DIR"
	pg_stop "$REPLICA_DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# Every object a run could leave behind, as one comparable line.
db_state() {
	q "$1" -c "SELECT string_agg(n.nspname || '.' || c.relname, ',' ORDER BY 1) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname NOT IN ('pg_catalog', 'information_schema', 'pg_toast')" \
		-c "SELECT count(*) FROM pg_publication" \
		-c "SELECT count(*) FROM pg_roles WHERE rolname = 'sync_reader'"
}

@test "schema init applies files, records them, creates the publication; a second run is a no-op" {
	cat >"$W/01-lists.sql" <<-'SQL'
		CREATE TABLE lists (id uuid PRIMARY KEY, name text NOT NULL);
		CREATE TABLE todos (id uuid PRIMARY KEY, list_id uuid REFERENCES lists (id), done boolean);
	SQL
	sc schema init --db "$URI" -f "$W/01-lists.sql" --json
	expect_status 0
	[ "$(json_get "d['changed']")" = true ]
	[ "$(check_field schema.file.01-lists.sql message)" = "01-lists.sql applied (2 statements)" ]
	[ "$(check_field schema.publication message)" = "created publication powersync FOR ALL TABLES" ]
	[ "$(q "$URI" -c "SELECT count(*) FROM syncctl.applied_files WHERE name = '01-lists.sql' AND sha256 = '$(sha256sum "$W/01-lists.sql" | cut -d' ' -f1)'")" = 1 ]
	[ "$(q "$URI" -c "SELECT pubinsert AND pubupdate AND pubdelete AND pubtruncate AND puballtables FROM pg_publication WHERE pubname = 'powersync'")" = t ]
	cp "$W/01-lists.sql" "$BATS_FILE_TMPDIR/01-lists.sql"

	sc schema init --db "$URI" -f "$W/01-lists.sql"
	expect_status 0
	[[ "$output" == *"01-lists.sql already applied"* ]]
	[[ "$output" == *"schema init: nothing to do"* ]]
}

@test "a file changed since it was applied is refused (exit 1) and nothing runs" {
	before=$(db_state "$URI")
	{ cat "$BATS_FILE_TMPDIR/01-lists.sql"; echo "CREATE TABLE extra (id int PRIMARY KEY);"; } >"$W/01-lists.sql"
	cat >"$W/02-more.sql" <<-'SQL'
		CREATE TABLE more (id int PRIMARY KEY);
	SQL
	sc schema init --db "$URI" -f "$W/01-lists.sql" -f "$W/02-more.sql" --json
	expect_status 1
	[ "$(check_field schema.file.01-lists.sql status)" = fail ]
	[[ "$(check_field schema.file.01-lists.sql hint)" == *"--reapply -f $W/01-lists.sql" ]]
	[ "$(db_state "$URI")" = "$before" ]
}

@test "--reapply runs a changed file again and records its new hash" {
	{ echo "CREATE TABLE IF NOT EXISTS lists (id uuid PRIMARY KEY, name text NOT NULL);"; echo "CREATE TABLE extra (id int PRIMARY KEY);"; } >"$W/01-lists.sql"
	sc schema init --db "$URI" -f "$W/01-lists.sql" --reapply --json
	expect_status 0
	[ "$(check_field schema.file.01-lists.sql message)" = "01-lists.sql re-applied (2 statements)" ]
	[ "$(q "$URI" -c "SELECT to_regclass('public.extra') IS NOT NULL")" = t ]
	[ "$(q "$URI" -c "SELECT sha256 FROM syncctl.applied_files WHERE name = '01-lists.sql'")" = "$(sha256sum "$W/01-lists.sql" | cut -d' ' -f1)" ]
}

@test "a failing statement rolls everything back and names the file and line" {
	before=$(db_state "$URI")
	printf 'CREATE TABLE good_one (id int PRIMARY KEY);\n' >"$W/10-good.sql"
	printf 'CREATE TABLE fine (id int PRIMARY KEY);\n\nINSERT INTO\n  no_such_table VALUES (1);\n' >"$W/11-bad.sql"
	sc schema init --db "$URI" -f "$W/10-good.sql" -f "$W/11-bad.sql" --role sync_reader --password-file /dev/null
	expect_status 2
	sc schema init --db "$URI" -f "$W/10-good.sql" -f "$W/11-bad.sql"
	expect_status 1
	[[ "$stderr" == *"$W/11-bad.sql:4:3: relation \"no_such_table\" does not exist (nothing was applied)"* ]]
	[ "$(db_state "$URI")" = "$before" ]
	[ "$(q "$URI" -c "SELECT count(*) FROM syncctl.applied_files WHERE name IN ('10-good.sql', '11-bad.sql')")" = 0 ]
}

@test "a syntax error is found by the parser before anything runs (exit 2)" {
	before=$(db_state "$URI")
	printf 'CREATE TABLE ok1 (id int);\nCREATE TABL oops (id int);\n' >"$W/syntax.sql"
	sc schema init --db "$URI" -f "$W/syntax.sql"
	expect_status 2
	[[ "$stderr" == *"$W/syntax.sql:2:8: syntax error at or near \"TABL\""* ]]
	[ "$(db_state "$URI")" = "$before" ]
}

@test "transaction control in a file is refused (exit 2)" {
	printf 'BEGIN;\nCREATE TABLE t1 (id int);\nCOMMIT;\n' >"$W/tx.sql"
	sc schema init --db "$URI" -f "$W/tx.sql"
	expect_status 2
	[[ "$stderr" == *"tx.sql:1: transaction control (BEGIN/COMMIT/ROLLBACK) is not allowed"* ]]
}

@test "--dry-run prints the SQL it would run and changes nothing" {
	before=$(db_state "$URI")
	printf 'CREATE TABLE dry (id int PRIMARY KEY);\n' >"$W/20-dry.sql"
	printf 's3cret-pw\n' >"$W/pw"
	chmod 600 "$W/pw"
	sc schema init --db "$URI" -f "$W/20-dry.sql" --role sync_reader --password-file "$W/pw" --dry-run
	expect_status 0
	[ "${output%%$'\n'*}" = "BEGIN;" ]
	[[ "$output" == *$'\nCREATE TABLE dry (id int PRIMARY KEY);\n'* ]]
	[[ "$output" == *"CREATE ROLE sync_reader WITH LOGIN REPLICATION BYPASSRLS PASSWORD '***';"* ]]
	[[ "$output" != *"s3cret-pw"* && "$stderr" != *"s3cret-pw"* ]]
	[ "${output##*$'\n'}" = "COMMIT;" ]
	[[ "$stderr" == *"nothing was changed"* ]]
	[ "$(db_state "$URI")" = "$before" ]
}

@test "--role creates a LOGIN REPLICATION BYPASSRLS role with SELECT, password hashed" {
	printf 's3cret-pw\n' >"$W/pw"
	chmod 600 "$W/pw"
	sc schema init --db "$URI" --role sync_reader --password-file "$W/pw" --json
	expect_status 0
	[ "$(check_field schema.role status)" = ok ]
	[[ "$output" != *"s3cret-pw"* ]]
	[ "$(q "$URI" -c "SELECT rolcanlogin AND rolreplication AND rolbypassrls FROM pg_roles WHERE rolname = 'sync_reader'")" = t ]
	[ "$(q "$URI" -c "SELECT has_table_privilege('sync_reader', 'public.lists', 'SELECT')")" = t ]
	[[ "$(q "$URI" -c "SELECT rolpassword FROM pg_authid WHERE rolname = 'sync_reader'")" == SCRAM-SHA-256* ]]
	# The role now passes the slots role check.
	sc slots --db "${URI/postgres@/sync_reader@}" --json
	[ "$(check_field pg.role status)" = ok ]
}

@test "a world-readable password file warns" {
	printf 's3cret-pw\n' >"$W/pw"
	chmod 644 "$W/pw"
	sc schema init --db "$URI" --role sync_reader --password-file "$W/pw"
	expect_status 0
	[[ "$stderr" == *"password file $W/pw is readable by group or others"* ]]
}

@test "an existing publication without delete is brought to all four operations" {
	q "$URI" -c "ALTER PUBLICATION powersync SET (publish = 'insert')"
	sc schema init --db "$URI" --json
	expect_status 0
	[ "$(check_field schema.publication message)" = "publication powersync now publishes insert, update, delete, truncate" ]
	[ "$(q "$URI" -c "SELECT pubdelete AND pubtruncate FROM pg_publication WHERE pubname = 'powersync'")" = t ]
}

@test "--tables creates a publication for the listed tables, hostile names quoted" {
	q "$URI" -c 'CREATE TABLE "Odd; Name" (id int PRIMARY KEY)'
	sc schema init --db "$URI" --publication narrow --tables 'lists, "Odd; Name"' --json
	expect_status 0
	[ "$(q "$URI" -c "SELECT string_agg(tablename, '|' ORDER BY tablename) FROM pg_publication_tables WHERE pubname = 'narrow'")" = "Odd; Name|lists" ]
}

@test "on a wal_level=replica server schema init applies what it can and fails pg.wal_level as slots does" {
	sc schema init --db "$REPLICA_URI" --json
	expect_status 1
	[ "$(check_field pg.wal_level status)" = fail ]
	[ "$(check_field pg.wal_level message)" = "wal_level is replica; logical replication needs logical" ]
	[ "$(check_field pg.wal_level hint)" = "ALTER SYSTEM SET wal_level = logical; then restart Postgres" ]
	[ "$(q "$REPLICA_URI" -c "SELECT count(*) FROM pg_publication WHERE pubname = 'powersync'")" = 1 ]
	sc slots --db "$REPLICA_URI" --json
	[ "$(check_field pg.wal_level status)" = fail ]
	[ "$(check_field pg.wal_level message)" = "wal_level is replica; logical replication needs logical" ]
}

@test "an unreadable SQL file is exit 2 naming it" {
	sc schema init --db "$URI" -f "$W/missing.sql"
	expect_status 2
	[[ "$stderr" == *"cannot read SQL file $W/missing.sql: No such file or directory"* ]]
}

@test "schema without init, or with stray arguments, is a usage error" {
	sc schema --db "$URI"
	expect_status 2
	sc schema init extra.sql --db "$URI"
	expect_status 2
	[[ "$stderr" == *"SQL files go with -f"* ]]
}

@test "-v logs each statement on stderr, the role's password hash as ***" {
	printf 'another-pw\n' >"$W/pw"
	chmod 600 "$W/pw"
	sc schema init --db "$URI" --role sync_reader --password-file "$W/pw" -v
	expect_status 0
	[[ "$stderr" == *"syncctl: SQL: ALTER ROLE sync_reader WITH LOGIN REPLICATION BYPASSRLS PASSWORD '***'"* ]]
	[[ "$stderr" == *"syncctl: SQL: GRANT SELECT ON ALL TABLES IN SCHEMA public TO sync_reader"* ]]
	[[ "$stderr$output" != *SCRAM-SHA-256* && "$stderr$output" != *another-pw* ]]
	[ -z "$(grep -v '^syncctl: ' <<<"$stderr")" ]
}
