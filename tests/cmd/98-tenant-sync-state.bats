#!/usr/bin/env bats
# tenant-sync with state, case by case, on two real servers: one-sided
# edits and deletes, the delete guard and --restore, VACUUM FREEZE, a side
# restored from a dump, a side's state deleted, a read-only source, what is
# published, the lock message for an orphaned session, pruning, dry runs.

load helpers

setup_file() {
	pg_start_pair
}

teardown_file() {
	pg_stop_pair
}

setup() {
	W=$BATS_TEST_TMPDIR
	for u in "$A" "$B"; do
		q "$u" -c "DROP SCHEMA IF EXISTS syncctl CASCADE" -c "DROP TABLE IF EXISTS tasks" \
			-c "CREATE TABLE tasks (id int PRIMARY KEY, tenant_id text NOT NULL, title text, updated_at int NOT NULL DEFAULT 0)"
	done
}

ts() { sc tenant-sync --local "$A" --remote "$B" --table tasks "$@"; }

# rows URI: the table, one line.
rows() { q "$1" -c "SELECT coalesce(string_agg(id || ':' || coalesce(title, '-'), ' ' ORDER BY id), '') FROM tasks"; }

# field DIRECTION FIELD: a figure of the JSON report for tasks.
field() { json_get "[t for t in d['tables'] if t['direction'] == '$1'][0]['$2']"; }

fill() {
	q "$1" -c "INSERT INTO tasks SELECT g, 't' || (g % 3), 'task ' || g FROM generate_series(1, $2) g"
}

@test "both with state: an edit on one side crosses (no conflict), the same row edited on both is one; deletes are kept, then cross with --delete" {
	fill "$A" 5
	ts --direction both --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateless ]
	[ "$(json_get "d['mode_reason']")" = "first sync of tasks between these databases (no state recorded yet)" ]
	[ "$(json_get "d['state_recorded']")" = true ]
	[ "$(field to-remote inserted)" = 5 ]
	q "$A" -c "UPDATE tasks SET title = 'local edit' WHERE id = 1" -c "UPDATE tasks SET title = 'both, local' WHERE id = 3" \
		-c "DELETE FROM tasks WHERE id = 4" -c "INSERT INTO tasks VALUES (6, 't0', 'new on local')"
	q "$B" -c "UPDATE tasks SET title = 'remote edit' WHERE id = 2" -c "UPDATE tasks SET title = 'both, remote' WHERE id = 3" \
		-c "DELETE FROM tasks WHERE id = 5"
	ts --direction both
	expect_status 1
	[[ "$output" == *"tasks  to-remote  1         1        0        1     1          0  "* ]]
	[[ "$output" == *"tasks  to-local   0         1        0        1     1          0  "* ]]
	[[ "$output" == *"tasks: conflict (differs on both sides): 3"* ]]
	[[ "$output" == *"2 rows kept that the other side deleted or lacks (--delete deletes them; -v lists them)"* ]]
	[[ "$output" == *"mode: stateful (both databases' records of the last sync agree: only changed rows were read)"* ]]
	[[ "$output" == *"state: recorded (run "*"); the next run is stateful"* ]]
	[ "$(rows "$A")" = "1:local edit 2:remote edit 3:both, local 5:task 5 6:new on local" ]
	[ "$(rows "$B")" = "1:local edit 2:remote edit 3:both, remote 4:task 4 6:new on local" ]
	# The kept rows are not copied back, and stay unresolved run after run.
	ts --direction both --json
	expect_status 1
	[ "$(json_get "sorted((u['key'], u['kind'], u['reason']) for u in d['unresolved'])")" = '[["3", "conflict", "differs on both sides"], ["4", "kept", "deleted on local, kept on remote"], ["5", "kept", "deleted on remote, kept on local"]]' ]
	[ "$(rows "$A")" = "1:local edit 2:remote edit 3:both, local 5:task 5 6:new on local" ]
	# --delete: the deletes cross, each row kept where --restore finds it.
	ts --direction both --delete --conflict remote --json
	expect_status 0
	[ "$(field to-remote deleted)" = 1 ]
	[ "$(field to-local deleted)" = 1 ]
	[ "$(field to-local updated)" = 1 ]
	[ "$(json_get "d['unresolved']")" = "[]" ]
	[ "$(rows "$A")" = "1:local edit 2:remote edit 3:both, remote 6:new on local" ]
	[ "$(rows "$B")" = "$(rows "$A")" ]
	run_id=$(json_get "d['run_id']")
	[ "$(q "$A" -c "SELECT run_id || ' ' || table_schema || '.' || table_name || ' ' || reason || ' ' || (data->>'title') FROM syncctl.deleted_rows")" = "$run_id public.tasks deleted on remote task 5" ]
	[ "$(q "$B" -c "SELECT reason || ' ' || (data->>'id') FROM syncctl.deleted_rows")" = "deleted on local 4" ]
	# Nothing changed: nothing is read but the xmins.
	ts --direction both --delete -v
	expect_status 0
	[[ "$stderr" == *"tasks on local: 4 rows, 0 changed or written by the last run, 0 keys of the base gone"* ]]
	[[ "$stderr" != *"DECLARE sc_h"* ]]
}

@test "both --delete without usable state copies, deletes nothing, says so and records state; the next run propagates deletes" {
	fill "$A" 3
	fill "$B" 3
	q "$B" -c "DELETE FROM tasks WHERE id = 2"
	ts --direction both --delete
	expect_status 0
	[[ "$output" == *"note: --delete: without usable state a row on one side only may be new there or deleted on the other, so it was copied and nothing was deleted; deletes are propagated from the next run on"* ]]
	[ "$(rows "$B")" = "1:task 1 2:task 2 3:task 3" ]
	q "$B" -c "DELETE FROM tasks WHERE id = 2"
	ts --direction both --delete --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	[ "$(json_get "d['notes']")" = "[]" ]
	[ "$(field to-local deleted)" = 1 ]
	[ "$(rows "$A")" = "1:task 1 3:task 3" ]
}

@test "one side truncated: the next run refuses (exit 1, nothing written); --allow-big-delete deletes, and --restore brings every row back" {
	fill "$A" 300
	ts --direction both --delete
	expect_status 0
	before=$(rows "$B")
	q "$A" -c "TRUNCATE tasks"
	ts --direction both --delete --json
	expect_status 1
	[ "$(json_get "d['status']")" = delete_refused ]
	[ "$(json_get "d['refused']")" = '[{"table": "tasks", "side": "remote", "delete": 300, "rows": 300}]' ]
	[ "$(json_get "d['written']")" = false ]
	[ "$(json_get "d['state_reason']")" = "deletes over --max-delete: nothing was written" ]
	[ "$(rows "$B")" = "$before" ]
	[ -z "$(rows "$A")" ]
	ts --direction both --delete
	expect_status 1
	[[ "$output" == *"tasks: refused to delete 300 of the 300 rows on remote (over --max-delete; run with --allow-big-delete if that is meant)"* ]]
	[[ "$output" == *"nothing was written"* ]]
	# Limits: more than N rows and (by default also) more than P%.
	ts --direction both --delete --max-delete 299 --json
	expect_status 1
	[ "$(json_get "d['status']")" = delete_refused ]
	[ "$(rows "$B")" = "$before" ]
	ts --direction both --delete --allow-big-delete --json
	expect_status 0
	[ "$(field to-remote deleted)" = 300 ]
	[ -z "$(rows "$B")" ]
	run_id=$(json_get "d['run_id']")
	[ "$(q "$B" -c "SELECT count(*) FROM syncctl.deleted_rows WHERE run_id = '$run_id'")" = 300 ]
	# One key taken again on remote: that row is not restored (exit 1).
	q "$B" -c "INSERT INTO tasks VALUES (7, 't1', 'taken again')"
	sc tenant-sync --local "$A" --remote "$B" --restore "$run_id" --json
	expect_status 1
	[ "$(json_get "d['status']")" = partial ]
	[ "$(json_get "d['tables']")" = '[{"side": "remote", "table": "public.tasks", "restored": 299, "skipped": 1, "reason": "their keys are taken again"}]' ]
	[ "$(q "$B" -c "SELECT title FROM tasks WHERE id = 7")" = "taken again" ]
	q "$B" -c "DELETE FROM tasks WHERE id = 7"
	sc tenant-sync --local "$A" --remote "$B" --restore "$run_id"
	expect_status 0
	[[ "$output" == *"public.tasks: restored 1 rows on remote"* ]]
	[ "$(rows "$B")" = "$before" ]
	[ "$(q "$B" -c "SELECT count(*) FROM syncctl.deleted_rows")" = 0 ]
	sc tenant-sync --local "$A" --remote "$B" --restore "$run_id"
	expect_status 1
	[[ "$output" == *"nothing to restore for run $run_id"* ]]
	# The restored rows are new on remote: the next run brings them back.
	ts --direction both --delete --json
	expect_status 0
	[ "$(field to-local inserted)" = 300 ]
	[ "$(rows "$A")" = "$before" ]
}

@test "--max-delete N, P% and N,P%; --restore --dry-run and --table" {
	fill "$A" 200
	ts --direction to-remote --delete
	expect_status 0
	q "$A" -c "DELETE FROM tasks WHERE id <= 5"
	ts --direction to-remote --delete --max-delete 4 --json
	expect_status 1
	[ "$(json_get "d['refused'][0]['delete']")" = 5 ]
	ts --direction to-remote --delete --max-delete 2% --json
	expect_status 1
	ts --direction to-remote --delete --max-delete 4,5% --json
	expect_status 0
	[ "$(field to-remote deleted)" = 5 ]
	run_id=$(json_get "d['run_id']")
	sc tenant-sync --local "$A" --remote "$B" --restore "$run_id" --table other --json
	expect_status 1
	[ "$(json_get "d['status']")" = nothing_to_restore ]
	sc tenant-sync --local "$A" --remote "$B" --restore "$run_id" --table public.tasks --dry-run
	expect_status 0
	[[ "$output" == *"public.tasks: would restore 5 rows on remote"* ]]
	[ "$(q "$B" -c "SELECT count(*) FROM tasks")" = 195 ]
}

@test "the planner settings of a stateful read stay out of the writes: a trigger on each target sees the session's own" {
	# The stateful read turns the index-only count, hash joins and
	# aggregates and JIT off for its statements (lib/tenant_state.c,
	# sc_ts_plan), local to the transaction, and puts back the session's
	# own values: here enable_mergejoin off from PGOPTIONS.
	local names="'enable_hashagg', 'enable_hashjoin', 'enable_indexonlyscan', 'enable_mergejoin', 'jit'"
	fill "$A" 5
	ts --direction both
	expect_status 0
	for u in "$A" "$B"; do
		q "$u" -c "DROP TABLE IF EXISTS plan_log" -c "CREATE TABLE plan_log (s text)" \
			-c "CREATE OR REPLACE FUNCTION log_plan() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN
			    INSERT INTO plan_log SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings
			    WHERE name IN ($names); RETURN NEW; END \$\$" \
			-c "CREATE TRIGGER log_plan BEFORE INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION log_plan()"
	done
	q "$A" -c "UPDATE tasks SET title = 'local edit' WHERE id = 1" -c "INSERT INTO tasks VALUES (6, 't0', 'new on local')"
	q "$B" -c "UPDATE tasks SET title = 'remote edit' WHERE id = 2"
	q "$A" -c "TRUNCATE plan_log"
	q "$B" -c "TRUNCATE plan_log"
	PGOPTIONS='-c enable_mergejoin=off' ts --direction both --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	[ "$(field to-remote updated)" = 1 ]
	[ "$(field to-remote inserted)" = 1 ]
	[ "$(field to-local updated)" = 1 ]
	local want
	want=$(PGOPTIONS='-c enable_mergejoin=off' q "$A" -c "SELECT string_agg(name || '=' || setting, ' ' ORDER BY name) FROM pg_settings WHERE name IN ($names)")
	[[ "$want" == *"enable_hashjoin=on"*"enable_mergejoin=off"* ]]
	[ "$(q "$B" -c "SELECT string_agg(DISTINCT s, '|') || ' x' || count(*) FROM plan_log")" = "$want x2" ]
	[ "$(q "$A" -c "SELECT string_agg(DISTINCT s, '|') || ' x' || count(*) FROM plan_log")" = "$want x1" ]
	for u in "$A" "$B"; do q "$u" -c "DROP TABLE plan_log" -c "DROP FUNCTION log_plan() CASCADE"; done
}

@test "VACUUM FREEZE between runs: frozen rows stay unchanged (an edit on the other side still crosses, not a conflict)" {
	fill "$A" 50
	ts --direction both
	expect_status 0
	ts --direction both
	expect_status 0
	for u in "$A" "$B"; do q "$u" -c "VACUUM FREEZE tasks"; done
	q "$B" -c "UPDATE tasks SET title = 'remote edit' WHERE id = 7"
	ts --direction both --json -v
	expect_status 0
	[ "$(field to-local updated)" = 1 ]
	[ "$(json_get "d['conflicts']")" = "[]" ]
	[[ "$stderr" == *"tasks on local: 50 rows, 0 changed or written by the last run"* ]]
	[[ "$stderr" == *"tasks on remote: 50 rows, 1 changed or written by the last run"* ]]
	[ "$(rows "$A")" = "$(rows "$B")" ]
}

@test "one side dumped and restored into the same cluster: the run is stateless and says why, converges; the next is stateful" {
	q "$A" -c "CREATE DATABASE la"
	LA=${A%/postgres}/la
	q "$LA" -c "CREATE TABLE tasks (id int PRIMARY KEY, tenant_id text NOT NULL, title text, updated_at int NOT NULL DEFAULT 0)"
	fill "$LA" 10
	sc tenant-sync --local "$LA" --remote "$B" --table tasks --direction both
	expect_status 0
	pg_dump -d "$LA" -f "$W/la.sql"
	q "$A" -c "DROP DATABASE la" -c "CREATE DATABASE la"
	q "$LA" -f "$W/la.sql" >/dev/null
	# The dump carried the state (pg_dump copies UNLOGGED data); it names
	# a database that is gone.
	[ "$(q "$LA" -c "SELECT count(*) FROM syncctl.tenant_sync_state")" = 1 ]
	q "$B" -c "DELETE FROM tasks WHERE id = 3"
	sc tenant-sync --local "$LA" --remote "$B" --table tasks --direction both --delete --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateless ]
	[ "$(json_get "d['mode_reason']")" = "the local database is not the one of the last sync: re-created (its database OID changed: restored from a dump?)" ]
	# Stateless: the row deleted on remote is copied back, never deleted.
	[ "$(json_get "[t['inserted'] for t in d['tables']]")" = "[1, 0]" ]
	[ "$(rows "$LA")" = "$(rows "$B")" ]
	sc tenant-sync --local "$LA" --remote "$B" --table tasks --direction both --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	q "$A" -c "DROP DATABASE la"
}

@test "the state of one side deleted: stateless, says which, converges; its key tables are dropped" {
	fill "$A" 10
	ts --direction both
	expect_status 0
	q "$B" -c "DELETE FROM syncctl.tenant_sync_state"
	q "$A" -c "UPDATE tasks SET title = 'edit' WHERE id = 1"
	# Without state the edit is a difference on both sides, as before state.
	ts --direction both --json
	expect_status 1
	[ "$(json_get "d['mode_reason']")" = "the remote database has no record of the last sync of tasks (reset, lost in a crash, or a run ended between its two commits)" ]
	[ "$(json_get "d['conflicts']")" = '[{"table": "tasks", "key": "1", "reason": "differs on both sides"}]' ]
	ts --direction both --conflict local --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	[ "$(rows "$A")" = "$(rows "$B")" ]
	for u in "$A" "$B"; do
		[ "$(q "$u" -c "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'syncctl' AND c.relkind = 'r' AND c.relname LIKE 'tenant_sync_keys_%'")" = 1 ]
	done
	ts --direction both --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	# A recorded snapshot ahead of the database (a file-level copy put back):
	# not used.
	q "$A" -c "UPDATE syncctl.tenant_sync_state SET snapshot = '4294967296000:4294967296000:'"
	ts --direction both --json
	expect_status 0
	[ "$(json_get "d['mode_reason']")" = "the transaction counter of the local database went back since the last sync (restored from a file-level copy?)" ]
}

@test "a read-only source: to-remote is stateless and says why; nothing is created or written there" {
	q "$A" -c "DROP ROLE IF EXISTS reader" -c "CREATE ROLE reader LOGIN" -c "GRANT SELECT ON tasks TO reader"
	fill "$A" 4
	RO="postgresql://reader@127.0.0.1:$APORT/postgres"
	sc tenant-sync --local "$RO" --remote "$B" --table tasks --direction to-remote --json
	expect_status 0
	[ "$(json_get "d['mode_reason']")" = "the local database holds no state: the role may not create schema syncctl" ]
	[ "$(json_get "d['state_recorded']")" = false ]
	[ "$(json_get "d['state_reason']")" = "the local database cannot hold it: the role may not create schema syncctl" ]
	[ "$(field to-remote inserted)" = 4 ]
	[ "$(q "$A" -c "SELECT count(*) FROM pg_namespace WHERE nspname = 'syncctl'")" = 0 ]
	sc tenant-sync --local "$RO" --remote "$B" --table tasks --direction to-remote
	expect_status 0
	[[ "$output" == *"state: not recorded (the local database cannot hold it: the role may not create schema syncctl)"* ]]
	# --delete needs somewhere to keep what it deletes: the target has it.
	q "$A" -c "DELETE FROM tasks WHERE id = 4"
	sc tenant-sync --local "$RO" --remote "$B" --table tasks --direction to-remote --delete --json
	expect_status 0
	[ "$(field to-remote deleted)" = 1 ]
	[ "$(q "$B" -c "SELECT count(*) FROM syncctl.deleted_rows")" = 1 ]
	q "$A" -c "DROP OWNED BY reader" -c "DROP ROLE reader"
}

@test "the state is not published: FOR ALL TABLES leaves the UNLOGGED state out, ALTER PUBLICATION refuses it; deleted_rows has a primary key" {
	fill "$A" 3
	ts --direction both
	expect_status 0
	q "$A" -c "DROP PUBLICATION IF EXISTS everything" -c "CREATE PUBLICATION everything FOR ALL TABLES"
	[ "$(q "$A" -c "SELECT string_agg(schemaname || '.' || tablename, ' ' ORDER BY schemaname, tablename) FROM pg_publication_tables WHERE pubname = 'everything'")" = "public.tasks syncctl.deleted_rows" ]
	[ "$(q "$A" -c "SELECT string_agg(relname || ':' || relpersistence::text, ' ' ORDER BY relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'syncctl' AND c.relkind = 'r'")" = "deleted_rows:p tenant_sync_keys_1:u tenant_sync_state:u tenant_sync_unresolved_1:u" ]
	q "$A" -c "DROP PUBLICATION IF EXISTS chosen" -c "CREATE PUBLICATION chosen"
	run psql "$A" -XAtq -c "ALTER PUBLICATION chosen ADD TABLE syncctl.tenant_sync_state"
	[ "$status" -ne 0 ]
	[[ "$output" == *"cannot add relation \"tenant_sync_state\" to publication"* ]]
	# Pruning deletes from deleted_rows: its key gives it a replica identity.
	q "$A" -c "INSERT INTO syncctl.deleted_rows (run_id, deleted_at, table_schema, table_name, key_columns, reason, data)
		VALUES (gen_random_uuid(), now() - interval '40 days', 'public', 'tasks', '{id}', 'test', '{}')"
	ts --direction both --keep-deleted 50
	expect_status 0
	[ "$(q "$A" -c "SELECT count(*) FROM syncctl.deleted_rows")" = 1 ]
	ts --direction both
	expect_status 0
	[ "$(q "$A" -c "SELECT count(*) FROM syncctl.deleted_rows")" = 0 ]
	q "$A" -c "DROP PUBLICATION everything" -c "DROP PUBLICATION chosen"
}

# hold APP: a session holding tenant-sync's lock on local with that
# application name; its pid in $holder, closed by release.
hold() {
	mkfifo "$W/hold"
	PGAPPNAME=$1 psql "$A" -X -q -At -c "SELECT pg_backend_pid(), pg_advisory_lock(1937337955, 1953706033)" -f "$W/hold" >"$W/holder" &
	exec 8>"$W/hold"
	for _ in $(seq 50); do [ -s "$W/holder" ] && break; sleep 0.1; done
	holder=$(cut -d'|' -f1 "$W/holder")
}
release() { exec 8>&-; rm -f "$W/hold"; sleep 0.2; }

@test "the lock message tells the orphaned session of a killed run from a live run, and a client on another host" {
	host=$(hostname | cut -d. -f1)
	sleep 60 &
	live=$!
	hold "syncctl tenant-sync $live@$host"
	ts --direction both
	expect_status 3
	[[ "$stderr" == *"(server pid $holder holds the lock: application 'syncctl tenant-sync $live@$host', connected since "*"; the server still counts its client as connected; its client, process $live on this host, is running: a live run)"* ]]
	release
	kill "$live"
	wait "$live" || true
	hold "syncctl tenant-sync $live@$host"
	ts --direction both
	expect_status 3
	[[ "$stderr" == *"its client, process $live on this host, is gone: the orphaned session of a killed run, which the server ends when it notices (within a second from PostgreSQL 14, when its current statement ends before 14)"* ]]
	release
	hold "syncctl tenant-sync 4242@elsewhere"
	ts --direction both
	expect_status 3
	[[ "$stderr" == *"its client runs on host elsewhere"* ]]
	release
}

@test "a trigger on the target rewriting copied rows: compared by the next run (to-remote overwrites again; both reports a conflict)" {
	q "$B" -c "CREATE FUNCTION shout() RETURNS trigger LANGUAGE plpgsql AS \$\$ BEGIN NEW.title := upper(NEW.title); RETURN NEW; END \$\$" \
		-c "CREATE TRIGGER shout BEFORE INSERT OR UPDATE ON tasks FOR EACH ROW EXECUTE FUNCTION shout()"
	fill "$A" 3
	ts --direction to-remote --json
	expect_status 0
	[ "$(rows "$B")" = "1:TASK 1 2:TASK 2 3:TASK 3" ]
	ts --direction to-remote --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	[ "$(field to-remote updated)" = 3 ]
	ts --direction both --json
	expect_status 1
	[ "$(json_get "sorted((c['key'], c['reason']) for c in d['conflicts'])")" = '[["1", "differs, changed on neither side"], ["2", "differs, changed on neither side"], ["3", "differs, changed on neither side"]]' ]
	# Still a conflict on the next run: never forgotten.
	ts --direction both --json
	expect_status 1
	[ "$(json_get "d['conflicts_total']")" = 3 ]
	ts --direction both --conflict remote --json
	expect_status 0
	[ "$(rows "$A")" = "1:TASK 1 2:TASK 2 3:TASK 3" ]
	q "$B" -c "DROP TRIGGER shout ON tasks" -c "DROP FUNCTION shout()"
}

@test "--dry-run with state reads it, lists the keys, writes nothing (not the state either)" {
	fill "$A" 4
	ts --direction both
	expect_status 0
	recorded=$(q "$A" -c "SELECT run_id FROM syncctl.tenant_sync_state")
	q "$A" -c "DELETE FROM tasks WHERE id = 2" -c "UPDATE tasks SET title = 'x' WHERE id = 3"
	ts --direction both --delete --dry-run -v --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	[ "$(json_get "sorted((k['action'], k['on'], k['key']) for k in d['keys'])")" = '[["delete", "remote", "2"], ["update", "remote", "3"]]' ]
	[ "$(q "$A" -c "SELECT run_id FROM syncctl.tenant_sync_state")" = "$recorded" ]
	[ "$(q "$B" -c "SELECT count(*) FROM tasks")" = 4 ]
}

@test "one local database synced with two remotes keeps a record for each; --local and --remote swapped is stateless" {
	q "$B" -c "CREATE DATABASE c"
	C=${B%/postgres}/c
	q "$C" -c "CREATE TABLE tasks (id int PRIMARY KEY, tenant_id text NOT NULL, title text, updated_at int NOT NULL DEFAULT 0)"
	fill "$A" 3
	ts --direction both
	expect_status 0
	sc tenant-sync --local "$A" --remote "$C" --table tasks --direction both
	expect_status 0
	q "$A" -c "UPDATE tasks SET title = 'edit' WHERE id = 1"
	ts --direction both --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	sc tenant-sync --local "$A" --remote "$C" --table tasks --direction both --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	[ "$(field to-remote updated)" = 1 ]
	[ "$(q "$A" -c "SELECT count(*) FROM syncctl.tenant_sync_state")" = 2 ]
	sc tenant-sync --local "$B" --remote "$A" --table tasks --direction both --json
	expect_status 0
	[ "$(json_get "d['mode_reason']")" = "--local and --remote are the other way round than in the last sync" ]
	q "$B" -c "DROP DATABASE c"
}
