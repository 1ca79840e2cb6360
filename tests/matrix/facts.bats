#!/usr/bin/env bats
# Each version-specific check on a major that has it: max_slot_wal_keep_size
# and the WAL budget (13+), conflicting (16+), invalidation_reason and
# inactive_since (17+), idle_replication_slot_timeout (18), column lists and
# row filters (15+), publish_via_partition_root (13+) and partitioned tables.

load ../cmd/helpers
load matrix

setup() {
	W=$BATS_TEST_TMPDIR
	STARTED=()
}

teardown() {
	local d
	for d in "${STARTED[@]}"; do pg_stop "$d"; done
}

# start ARGS..: pg_start, remembered for teardown.
start() {
	pg_start "$@"
	STARTED+=("$PGTMP_DIR")
}

# wal URI: about 1 MB of WAL, then the next segment.
wal() {
	q "$1" -c "CREATE TABLE IF NOT EXISTS w (x text)" \
		-c "INSERT INTO w SELECT repeat('x', 1000) FROM generate_series(1, 1000)" \
		-c "SELECT pg_switch_wal()" >/dev/null
}

# slot_detail ID KEY: a field of the slot check's details in $output.
slot_detail() {
	json_get "[c for c in d['checks'] if c['id']=='$1'][0]['details']['$2']"
}

@test "PG 13: with a limit the settings check shows it, the WAL budget warns at half in the service's words, unreserved warns, lost fails" {
	start --major 13 --initdb --wal-segsize=1 --conf "max_slot_wal_keep_size = 8MB"
	local uri=$PGTMP_URI
	q "$uri" -c "SELECT pg_create_logical_replication_slot('powersync_3_cafe', 'test_decoding')" >/dev/null
	sc slots --db "$uri" --json
	expect_status 0
	[ "$(check_field pg.max_slot_wal_keep_size message)" = "max_slot_wal_keep_size = 8.0 MB: a slot retaining more WAL is invalidated" ]
	[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.max_slot_wal_keep_size'][0]['details']")" = '{"max_slot_wal_keep_size": "8MB", "bytes": 8388608, "unlimited": false}' ]
	# Under a limit an inactive slot is not the unlimited warning.
	[ "$(check_field pg.slot.powersync_3_cafe status)" = ok ]
	[[ "$(check_field pg.slot.powersync_3_cafe message)" == "inactive slot powersync_3_cafe, reserved, lag "*", retains "*", "*"% of its WAL budget left" ]]

	# Half the budget gone: the service's own warning.
	for _ in $(seq 20); do
		[ "$(q "$uri" -c "SELECT safe_wal_size <= 8388608 / 2 FROM pg_replication_slots")" = t ] && break
		wal "$uri"
	done
	sc slots --db "$uri" --json
	expect_status 0
	[ "$(slot_detail pg.slot.powersync_3_cafe wal_status)" = reserved ]
	safe=$(slot_detail pg.slot.powersync_3_cafe safe_wal_size)
	pct=$(python3 -c "import math; print(max(0, math.floor($safe / 8388608 * 100 + 0.5)))")
	[ "$pct" -le 50 ]
	[ "$(check_field pg.slot.powersync_3_cafe status)" = warn ]
	[ "$(check_field pg.slot.powersync_3_cafe message)" = "slot powersync_3_cafe: WAL budget is low: $pct% remaining. The replication slot may be invalidated if WAL consumption continues at this rate. Consider increasing max_slot_wal_keep_size." ]
	[ "$(check_field pg.slot.powersync_3_cafe hint)" = "let its consumer catch up, or raise the limit: ALTER SYSTEM SET max_slot_wal_keep_size = '16MB'; SELECT pg_reload_conf();" ]

	# Past the limit: unreserved, about to be invalidated.
	for _ in $(seq 20); do
		[ "$(q "$uri" -c "SELECT wal_status FROM pg_replication_slots")" = unreserved ] && break
		wal "$uri"
	done
	sc slots --db "$uri" --json
	[ "$(check_field pg.slot.powersync_3_cafe status)" = warn ]
	[[ "$(check_field pg.slot.powersync_3_cafe message)" == "slot powersync_3_cafe is about to be invalidated (wal_status=unreserved: it retains "*" MB, more than max_slot_wal_keep_size = 8.0 MB keeps; the next checkpoint may remove WAL it needs)" ]]

	# The checkpoint removes it: lost, and 13 has no reason to give.
	q "$uri" -c "CHECKPOINT"
	sc slots --db "$uri" --json
	expect_status 1
	[ "$(check_field pg.slot.powersync_3_cafe message)" = "slot powersync_3_cafe was invalidated (wal_status=lost): the WAL it needed is gone and its consumer cannot resume" ]
}

@test "PG 16 and 17: a lost slot on a primary is WAL removed (16 sets conflicting, 17 names invalidation_reason); 17 shows inactive_since" {
	for m in 16 17; do
		start --major "$m" --initdb --wal-segsize=1 --conf "max_slot_wal_keep_size = 1MB"
		local uri=$PGTMP_URI
		q "$uri" -c "SELECT pg_create_logical_replication_slot('powersync_2_beef', 'test_decoding')" >/dev/null
		sc slots --db "$uri" --json
		if [ "$m" = 17 ]; then
			since=$(slot_detail pg.slot.powersync_2_beef inactive_since)
			[[ "$since" == 20??-??-??T??:??:??Z ]]
			[[ "$(check_field pg.slot.powersync_2_beef message)" == "inactive slot powersync_2_beef (inactive since $since), reserved, lag "* ]]
		fi
		wal "$uri"
		wal "$uri"
		q "$uri" -c "CHECKPOINT"
		sc slots --db "$uri" --json
		expect_status 1
		[ "$(check_field pg.slot.powersync_2_beef status)" = fail ]
		if [ "$m" = 16 ]; then
			[ "$(slot_detail pg.slot.powersync_2_beef conflicting)" = true ]
			[ "$(check_field pg.slot.powersync_2_beef message)" = "slot powersync_2_beef was invalidated (wal_status=lost): the WAL it needed is gone and its consumer cannot resume" ]
		else
			[ "$(slot_detail pg.slot.powersync_2_beef conflicting)" = false ]
			[ "$(slot_detail pg.slot.powersync_2_beef invalidation_reason)" = wal_removed ]
			[ "$(check_field pg.slot.powersync_2_beef message)" = "slot powersync_2_beef was invalidated (wal_status=lost, invalidation_reason=wal_removed): the WAL it needed is gone and its consumer cannot resume" ]
		fi
		[[ "$(check_field pg.slot.powersync_2_beef hint)" == "SELECT pg_drop_replication_slot('powersync_2_beef'); so its consumer starts over, and raise max_slot_wal_keep_size"* ]]
	done
}

@test "PG 16 and 17 standbys: a slot the primary's wal_level invalidated is a conflict with recovery (16: conflicting, 17: wal_level_insufficient)" {
	for m in 16 17; do
		start --major "$m"
		local primary=$PGTMP_URI pdir=$PGTMP_DIR
		local env
		env=$("$PGTMP" standby "$pdir")
		eval "$env"
		STARTED+=("$PGTMP_DIR")
		local standby=$PGTMP_URI
		[ "$(q "$standby" -c "SELECT pg_is_in_recovery()")" = t ]
		# A logical slot on a standby waits for the primary's next snapshot.
		q "$standby" -c "SELECT pg_create_logical_replication_slot('powersync_5_beef', 'pgoutput')" >"$W/slot.out" 2>&1 &
		local cpid=$!
		for _ in $(seq 100); do
			kill -0 "$cpid" 2>/dev/null || break
			q "$primary" -c "SELECT pg_log_standby_snapshot()" >/dev/null
			sleep 0.1
		done
		wait "$cpid"
		q "$primary" -c "ALTER SYSTEM SET wal_level = replica"
		"$PGTMP" halt "$pdir"
		"$PGTMP" resume "$pdir"
		for _ in $(seq 100); do
			[ "$(q "$standby" -c "SELECT conflicting FROM pg_replication_slots")" = t ] && break
			sleep 0.1
		done
		sc slots --db "$standby" --json
		expect_status 1
		[ "$(slot_detail pg.slot.powersync_5_beef conflicting)" = true ]
		if [ "$m" = 16 ]; then
			[ "$(check_field pg.slot.powersync_5_beef message)" = "slot powersync_5_beef was invalidated (wal_status=lost, conflicting with recovery): on this standby, the primary removed rows its decoding needed or its wal_level fell below logical; its consumer cannot resume" ]
			[[ "$(check_field pg.slot.powersync_5_beef hint)" == *"keep wal_level = logical on the primary, and on the standby set hot_standby_feedback = on"* ]]
		else
			[ "$(slot_detail pg.slot.powersync_5_beef invalidation_reason)" = wal_level_insufficient ]
			[ "$(check_field pg.slot.powersync_5_beef message)" = "slot powersync_5_beef was invalidated (wal_status=lost, invalidation_reason=wal_level_insufficient): the primary's wal_level fell below logical, and its consumer cannot resume" ]
			[ "$(check_field pg.slot.powersync_5_beef hint)" = "on the primary: ALTER SYSTEM SET wal_level = logical; then restart it; then SELECT pg_drop_replication_slot('powersync_5_beef'); so its consumer starts over" ]
		fi
	done
}

@test "PG 18: a slot idle past idle_replication_slot_timeout fails with invalidation_reason=idle_timeout" {
	start --major 18 --conf "idle_replication_slot_timeout = 1s"
	local uri=$PGTMP_URI
	q "$uri" -c "SELECT pg_create_logical_replication_slot('powersync_4_dead', 'pgoutput')" >/dev/null
	# Checked at each checkpoint, once the slot has been idle a second.
	for _ in $(seq 40); do
		q "$uri" -c "CHECKPOINT"
		[ "$(q "$uri" -c "SELECT invalidation_reason FROM pg_replication_slots")" = idle_timeout ] && break
		sleep 0.25
	done
	sc slots --db "$uri" --json
	expect_status 1
	[ "$(check_field pg.slot.powersync_4_dead message)" = "slot powersync_4_dead was invalidated (wal_status=lost, invalidation_reason=idle_timeout): it was inactive for longer than idle_replication_slot_timeout, and its consumer cannot resume" ]
	[ "$(check_field pg.slot.powersync_4_dead hint)" = "SELECT pg_drop_replication_slot('powersync_4_dead'); so its consumer starts over, and raise idle_replication_slot_timeout (0 turns it off: ALTER SYSTEM SET idle_replication_slot_timeout = 0; SELECT pg_reload_conf();)" ]
}

# publication_lists URI: tables with a column list, a row filter, both, and
# a column list without the key.
publication_lists() {
	q "$1" -c "CREATE TABLE tasks (id int PRIMARY KEY, title text, secret text, done boolean)" \
		-c "CREATE TABLE notes (id int PRIMARY KEY, body text)" \
		-c "CREATE TABLE \"Odd\" (\"My Id\" int PRIMARY KEY, \"a b\" text, c text)" \
		-c "CREATE TABLE plain (id int PRIMARY KEY, v text)" \
		-c "CREATE PUBLICATION powersync FOR TABLE tasks (id, title, done) WHERE (id > 0), notes WHERE (id < 100), plain"
}

@test "PG 15 and 18: column lists and row filters are listed and reported; a list without the key fails" {
	for m in 15 18; do
		if [ "$m" = 15 ]; then start; else start --major "$m"; fi
		local uri=$PGTMP_URI
		publication_lists "$uri"
		sc publications --db "$uri" --json
		expect_status 0
		[ "$(json_get "[[p['column_lists'], p['row_filters']] for p in d['publications'] if p['name'] == 'powersync'][0]")" = '[{"public.tasks": ["id", "title", "done"]}, {"public.notes": "(id < 100)", "public.tasks": "(id > 0)"}]' ]
		[ "$(check_field pg.publication.columns status)" = ok ]
		[ "$(check_field pg.publication.columns message)" = "1 table(s) publish only some columns, and the sync service receives only those: public.tasks (id, title, done)" ]
		[ "$(check_field pg.publication.row_filter message)" = "2 table(s) publish only the rows their row filter matches; other rows never reach the sync service: public.notes WHERE (id < 100); public.tasks WHERE (id > 0)" ]
		sc publications --db "$uri"
		[[ "$output" == *"public.notes WHERE (id < 100), public.plain, public.tasks (id, title, done) WHERE (id > 0)"* ]]

		q "$uri" -c "ALTER PUBLICATION powersync ADD TABLE \"Odd\" (\"a b\")"
		sc publications --db "$uri" --json
		expect_status 1
		[ "$(check_field pg.publication.columns status)" = fail ]
		[ "$(check_field pg.publication.columns message)" = '1 table(s) with a column list that leaves out replica identity columns: public."Odd" (leaves out "My Id"); Postgres rejects their UPDATE and DELETE ("column list used by the publication does not cover the replica identity")' ]
		local hint
		hint=$(check_field pg.publication.columns hint)
		[ "$hint" = 'ALTER PUBLICATION powersync DROP TABLE public."Odd"; ALTER PUBLICATION powersync ADD TABLE public."Odd" ("a b", "My Id");' ]
		# What the check says is what Postgres does, and its hint repairs it.
		q "$uri" -c "INSERT INTO \"Odd\" VALUES (1, 'x', 'y')"
		if q "$uri" -c "UPDATE \"Odd\" SET c = 'z'" 2>"$W/update.err"; then
			echo "the UPDATE should have been rejected" >&2
			false
		fi
		grep -q "does not cover the replica identity" "$W/update.err"
		q "$uri" -c "$hint"
		q "$uri" -c "UPDATE \"Odd\" SET c = 'z'"
		sc publications --db "$uri" --json
		expect_status 0
	done
}

@test "PG 13: publish_via_partition_root fails via_root; a partitioned table is in through its partitions" {
	start --major 13
	local uri=$PGTMP_URI
	q "$uri" -c "CREATE TABLE meas (id int, d date, PRIMARY KEY (id, d)) PARTITION BY RANGE (d)" \
		-c "CREATE TABLE meas_2024 PARTITION OF meas FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')" \
		-c "CREATE TABLE meas_2025 PARTITION OF meas FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')" \
		-c "CREATE PUBLICATION powersync FOR TABLE meas WITH (publish_via_partition_root = true)"
	sc publications --db "$uri" --table meas --json
	expect_status 1
	[ "$(check_field pg.publication.via_root status)" = fail ]
	[ "$(check_field pg.publication.via_root hint)" = "ALTER PUBLICATION powersync SET (publish_via_partition_root = false);" ]
	[ "$(json_get "[p['via_partition_root'] for p in d['publications']][0]")" = true ]
	q "$uri" -c "$(check_field pg.publication.via_root hint)"
	sc publications --db "$uri" --table meas --table meas_2025 --json
	expect_status 0
	[ "$(check_field pg.publication.table.meas message)" = "partitioned table public.meas is in publication powersync through its partitions (public.meas_2024, public.meas_2025): the sync service receives their changes under the partitions' names" ]
	[ "$(check_field pg.publication.table.meas_2025 message)" = "table public.meas_2025 is in publication powersync" ]
	[ "$(json_get "[p['tables'] for p in d['publications']][0]")" = '["public.meas_2024", "public.meas_2025"]' ]
}

@test "PG 11: a partitioned table cannot be published, its partitions can: a missing one is named, with its own ADD TABLE" {
	start --major 11
	local uri=$PGTMP_URI
	q "$uri" -c "CREATE TABLE meas (id int, d date, PRIMARY KEY (id, d)) PARTITION BY RANGE (d)" \
		-c "CREATE TABLE meas_2024 PARTITION OF meas FOR VALUES FROM ('2024-01-01') TO ('2025-01-01')" \
		-c "CREATE TABLE meas_2025 PARTITION OF meas FOR VALUES FROM ('2025-01-01') TO ('2026-01-01')" \
		-c "CREATE PUBLICATION powersync FOR TABLE meas_2024"
	sc publications --db "$uri" --table meas --json
	expect_status 1
	[ "$(check_field pg.publication.table.meas message)" = "partitioned table public.meas: its partitions public.meas_2025 are not in publication powersync: their changes never reach the sync service" ]
	[ "$(check_field pg.publication.table.meas hint)" = "ALTER PUBLICATION powersync ADD TABLE public.meas_2025;" ]
	[ "$(json_get "[p['via_partition_root'] for p in d['publications']][0]")" = false ]
	q "$uri" -c "$(check_field pg.publication.table.meas hint)"
	sc publications --db "$uri" --table meas --json
	expect_status 0
}
