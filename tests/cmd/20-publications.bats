#!/usr/bin/env bats
# syncctl publications against a real throwaway server; every failing check
# is produced for real.

load helpers

setup_file() {
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	q "$URI" -c "CREATE TABLE tasks (id uuid PRIMARY KEY, title text)" \
		-c "CREATE TABLE lists (id int PRIMARY KEY, name text)" \
		-c "CREATE ROLE app LOGIN"
	export APP_URI=${URI/postgres@/app@}
}

teardown_file() {
	pg_stop "$DIR"
}

@test "no publication: pg.publication fails with the CREATE PUBLICATION hint" {
	sc publications --db "$URI" --json
	expect_status 1
	[ "$(check_field pg.publication status)" = fail ]
	[[ "$(check_field pg.publication hint)" == "CREATE PUBLICATION powersync FOR ALL TABLES;"* ]]
	[ "$(json_get "d['publications']")" = "[]" ]
}

@test "a publication without delete fails pg.publication.operations with the SET hint" {
	q "$URI" -c "CREATE PUBLICATION powersync FOR TABLE tasks WITH (publish = 'insert, update, truncate')"
	sc publications --db "$URI" --json
	expect_status 1
	[ "$(check_field pg.publication status)" = ok ]
	[ "$(check_field pg.publication.operations status)" = fail ]
	[[ "$(check_field pg.publication.operations message)" == *"does not publish delete"* ]]
	[ "$(check_field pg.publication.operations hint)" = "ALTER PUBLICATION powersync SET (publish = 'insert, update, delete, truncate');" ]
}

@test "the listing shows operations and tables of every publication" {
	q "$URI" -c "CREATE PUBLICATION other FOR TABLE lists"
	sc publications --db "$URI" --json
	[ "$(json_get "[p['publish'] for p in d['publications'] if p['name']=='powersync'][0]")" = '["insert", "update", "truncate"]' ]
	[ "$(json_get "[p['tables'] for p in d['publications'] if p['name']=='other'][0]")" = '["public.lists"]' ]
	sc publications --db "$URI"
	[[ "$output" == *"other        insert,update,delete,truncate  no          no        public.lists"* ]]
}

@test "all four operations and a keyed table pass (exit 0)" {
	q "$URI" -c "ALTER PUBLICATION powersync SET (publish = 'insert, update, delete, truncate')"
	sc publications --db "$URI" --json
	expect_status 0
	[ "$(check_field pg.publication.operations status)" = ok ]
	[ "$(check_field pg.publication.replica_identity status)" = ok ]
}

@test "a keyless table in the publication fails pg.publication.replica_identity" {
	q "$URI" -c "CREATE TABLE notes (body text)" -c "ALTER PUBLICATION powersync ADD TABLE notes"
	sc publications --db "$URI" --json
	expect_status 1
	[ "$(check_field pg.publication.replica_identity status)" = fail ]
	[[ "$(check_field pg.publication.replica_identity message)" == *"public.notes"* ]]
	[[ "$(check_field pg.publication.replica_identity hint)" == *"ALTER TABLE public.notes REPLICA IDENTITY FULL;"* ]]
	[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.publication.replica_identity'][0]['details'][0]['replica_identity']")" = "default (no primary key)" ]
}

@test "REPLICA IDENTITY FULL makes the keyless table acceptable; NOTHING fails" {
	q "$URI" -c "ALTER TABLE notes REPLICA IDENTITY FULL"
	sc publications --db "$URI" --json
	expect_status 0
	q "$URI" -c "ALTER TABLE tasks REPLICA IDENTITY NOTHING"
	sc publications --db "$URI" --json
	expect_status 1
	[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.publication.replica_identity'][0]['details'][0]")" = '{"table": "public.tasks", "replica_identity": "nothing"}' ]
	q "$URI" -c "ALTER TABLE tasks REPLICA IDENTITY DEFAULT"
}

@test "an RLS table warns when the role lacks BYPASSRLS; --strict makes it exit 1" {
	q "$URI" -c "ALTER TABLE tasks ENABLE ROW LEVEL SECURITY"
	sc publications --db "$APP_URI" --json
	expect_status 0
	[ "$(check_field pg.publication.rls status)" = warn ]
	[ "$(check_field pg.publication.rls hint)" = "ALTER ROLE app WITH BYPASSRLS;" ]
	[ "$(json_get "d['status']")" = warn ]
	sc publications --db "$APP_URI" --json --strict
	expect_status 1
	# The superuser bypasses RLS: no warning.
	sc publications --db "$URI" --json
	[ "$(json_get "[c['id'] for c in d['checks'] if c['id']=='pg.publication.rls']")" = "[]" ]
}

@test "--table: a table outside the publication fails with the ADD TABLE hint" {
	sc publications --db "$URI" --table tasks --table lists --table public.nope --json
	expect_status 1
	[ "$(check_field pg.publication.table.tasks status)" = ok ]
	[ "$(check_field pg.publication.table.lists status)" = fail ]
	[ "$(check_field pg.publication.table.lists hint)" = "ALTER PUBLICATION powersync ADD TABLE public.lists;" ]
	[ "$(check_field pg.publication.table.public.nope status)" = fail ]
	[[ "$(check_field pg.publication.table.public.nope message)" == "table public.nope does not exist" ]]
}

@test "--name checks another publication" {
	sc publications --db "$URI" --name other --json
	expect_status 0
	[[ "$(check_field pg.publication message)" == "publication other exists (listed tables, 1 tables)" ]]
}

@test "publish_via_partition_root fails pg.publication.via_root" {
	q "$URI" -c "ALTER PUBLICATION other SET (publish_via_partition_root = true)"
	sc publications --db "$URI" --name other --json
	expect_status 1
	[ "$(check_field pg.publication.via_root status)" = fail ]
	[ "$(check_field pg.publication.via_root hint)" = "ALTER PUBLICATION other SET (publish_via_partition_root = false);" ]
}

@test "a hostile --table name is only ever a parameter" {
	sc publications --db "$URI" --table "tasks; DROP TABLE lists" --table 'x"y' --json
	expect_status 1
	[ "$(check_field "pg.publication.table.tasks; DROP TABLE lists" status)" = fail ]
	[ "$(q "$URI" -c "SELECT count(*) FROM pg_class WHERE relname = 'lists'")" = 1 ]
}
