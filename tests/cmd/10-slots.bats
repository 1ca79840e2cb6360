#!/usr/bin/env bats
# syncctl slots against real throwaway servers: one with wal_level=logical,
# one with wal_level=replica, one whose slots get invalidated.

load helpers

setup_file() {
	pg_start
	export LOGICAL_URI=$PGTMP_URI LOGICAL_DIR=$PGTMP_DIR
	pg_start --conf "wal_level = replica"
	export REPLICA_URI=$PGTMP_URI REPLICA_DIR=$PGTMP_DIR
	q "$LOGICAL_URI" -c "CREATE ROLE norepl LOGIN"
	export NOREPL_URI=${LOGICAL_URI/postgres@/norepl@}
}

teardown_file() {
	pg_stop "$LOGICAL_DIR"
	pg_stop "$REPLICA_DIR"
}

@test "a healthy server passes every settings check (exit 0), even --strict" {
	sc slots --db "$LOGICAL_URI" --strict
	expect_status 0
	sc slots --db "$LOGICAL_URI" --json
	expect_status 0
	[ "$(json_get "d['status']")" = ok ]
	[ "$(check_field pg.wal_level status)" = ok ]
	[ "$(check_field pg.max_replication_slots status)" = ok ]
	[ "$(check_field pg.max_wal_senders status)" = ok ]
	[ "$(check_field pg.role status)" = ok ]
	[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.max_replication_slots'][0]['details']['max']")" = 10 ]
}

@test "wal_level=replica fails pg.wal_level with the ALTER SYSTEM hint" {
	sc slots --db "$REPLICA_URI" --json
	expect_status 1
	[ "$(check_field pg.wal_level status)" = fail ]
	[[ "$(check_field pg.wal_level hint)" == "ALTER SYSTEM SET wal_level = logical; then restart Postgres" ]]
	[ "$(json_get "d['status']")" = fail ]
}

@test "a role without REPLICATION fails pg.role with the ALTER ROLE hint" {
	sc slots --db "$NOREPL_URI" --json
	expect_status 1
	[ "$(check_field pg.role status)" = fail ]
	[ "$(check_field pg.role hint)" = "ALTER ROLE norepl WITH REPLICATION;" ]
	[[ "$(check_field pg.role message)" == *"permission denied to start WAL sender"* ]]
}

@test "an inactive slot retaining more than --max-retained fails with the drop hint" {
	q "$LOGICAL_URI" -c "SELECT pg_create_logical_replication_slot('powersync_1_a3f2', 'test_decoding')" >/dev/null
	q "$LOGICAL_URI" -c "CREATE TABLE filler (x text); INSERT INTO filler SELECT repeat('x', 500) FROM generate_series(1, 2000)"
	sc slots --db "$LOGICAL_URI" --max-retained 64kB --json
	expect_status 1
	[ "$(check_field pg.slot.powersync_1_a3f2 status)" = fail ]
	[[ "$(check_field pg.slot.powersync_1_a3f2 message)" == *"filling the disk"* ]]
	[[ "$(check_field pg.slot.powersync_1_a3f2 hint)" == "if its consumer is gone for good: syncctl slots drop powersync_1_a3f2"* ]]
	# The slot's row is in the check's details.
	[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.slot.powersync_1_a3f2'][0]['details']['plugin']")" = test_decoding ]
	[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.slot.powersync_1_a3f2'][0]['details']['active']")" = false ]
	retained=$(json_get "[c for c in d['checks'] if c['id']=='pg.slot.powersync_1_a3f2'][0]['details']['retained_bytes']")
	[ "$retained" -gt 65536 ]
}

@test "the same slot under the default 1GB limit warns: with max_slot_wal_keep_size = -1 it can fill the disk (exit 0)" {
	sc slots --db "$LOGICAL_URI" --json
	expect_status 0
	[ "$(check_field pg.slot.powersync_1_a3f2 status)" = warn ]
	[[ "$(check_field pg.slot.powersync_1_a3f2 message)" == "inactive slot powersync_1_a3f2 retains "*" of WAL with no limit (max_slot_wal_keep_size = -1): it can fill the disk if its consumer does not come back" ]]
	[ "$(check_field pg.slot.powersync_1_a3f2 hint)" = "cap what a slot may retain: ALTER SYSTEM SET max_slot_wal_keep_size = '10GB'; SELECT pg_reload_conf(); (and if its consumer is gone for good: syncctl slots drop powersync_1_a3f2)" ]
	# The settings check shows the default as unlimited retention.
	[ "$(check_field pg.max_slot_wal_keep_size status)" = ok ]
	[ "$(check_field pg.max_slot_wal_keep_size message)" = "max_slot_wal_keep_size = -1: unlimited retention, a slot keeps all the WAL its consumer has not confirmed" ]
	[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.max_slot_wal_keep_size'][0]['details']")" = '{"max_slot_wal_keep_size": "-1", "bytes": -1, "unlimited": true}' ]
	sc slots --db "$LOGICAL_URI" --strict
	expect_status 1
}

@test "the human report shows the slot table before the checks" {
	sc slots --db "$LOGICAL_URI"
	expect_status 0
	[[ "$output" == *"SLOT"*"PLUGIN"*"WAL_STATUS"* ]]
	[[ "$output" == *"powersync_1_a3f2  test_decoding"* ]]
	[[ "$output" == *"OK with warnings: 0 failed, 1 warnings"* ]]
}

@test "-q prints nothing when every check passes" {
	sc slots --db "$LOGICAL_URI" -q
	expect_status 0
	[ -z "$output" ]
}

@test "slots drop refuses an active slot (exit 1) and leaves it in place" {
	q "$LOGICAL_URI" -c "SELECT pg_create_logical_replication_slot('active_slot', 'test_decoding')" >/dev/null
	/usr/lib/postgresql/15/bin/pg_recvlogical -d "$LOGICAL_URI" --slot active_slot --start \
		-f /dev/null >/dev/null 2>&1 3>&- &
	local pid=$!
	for _ in $(seq 50); do
		[ "$(q "$LOGICAL_URI" -c "SELECT active FROM pg_replication_slots WHERE slot_name = 'active_slot'")" = t ] && break
		sleep 0.1
	done
	sc slots --db "$LOGICAL_URI" --json
	local active
	active=$(json_get "[c for c in d['checks'] if c['id']=='pg.slot.active_slot'][0]['details']['active']")
	sc slots drop active_slot --db "$LOGICAL_URI" --yes
	kill "$pid"
	wait "$pid" 2>/dev/null || true
	[ "$active" = true ]
	expect_status 1
	[[ "$stderr" == *"is active (pid "*"refusing to drop it"* ]]
	[ "$(q "$LOGICAL_URI" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'active_slot'")" = 1 ]
}

@test "slots drop without --yes off a terminal is a usage error and drops nothing" {
	sc slots drop powersync_1_a3f2 --db "$LOGICAL_URI" </dev/null
	expect_status 2
	[[ "$stderr" == *"without --yes"* ]]
	[ "$(q "$LOGICAL_URI" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'powersync_1_a3f2'")" = 1 ]
}

@test "slots drop --yes drops an inactive slot" {
	sc slots drop powersync_1_a3f2 --db "$LOGICAL_URI" --yes
	expect_status 0
	[ "$output" = 'dropped replication slot "powersync_1_a3f2"' ]
	[ "$(q "$LOGICAL_URI" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'powersync_1_a3f2'")" = 0 ]
}

@test "slots drop of a missing slot exits 1 naming it" {
	sc slots drop no_such_slot --db "$LOGICAL_URI" --yes
	expect_status 1
	[[ "$stderr" == *'replication slot "no_such_slot" does not exist'* ]]
}

@test "no free replication slot fails pg.max_replication_slots" {
	pg_start --conf "max_replication_slots = 1"
	local uri=$PGTMP_URI dir=$PGTMP_DIR
	q "$uri" -c "SELECT pg_create_logical_replication_slot('only_one', 'test_decoding')" >/dev/null
	sc slots --db "$uri" --json
	pg_stop "$dir"
	expect_status 1
	[ "$(check_field pg.max_replication_slots status)" = fail ]
	[[ "$(check_field pg.max_replication_slots message)" == *"1 used, none free"* ]]
	[[ "$(check_field pg.max_replication_slots hint)" == "ALTER SYSTEM SET max_replication_slots = 10;"* ]]
}

@test "a lost slot (tiny max_slot_wal_keep_size, WAL generated, CHECKPOINT) fails" {
	pg_start --initdb --wal-segsize=1 --conf "max_slot_wal_keep_size = 1MB"
	local uri=$PGTMP_URI dir=$PGTMP_DIR
	q "$uri" -c "SELECT pg_create_logical_replication_slot('powersync_2_beef', 'test_decoding')" >/dev/null
	q "$uri" -c "CREATE TABLE w (x text)" -c "INSERT INTO w SELECT repeat('x', 1000) FROM generate_series(1, 5000)" \
		-c "SELECT pg_switch_wal()" -c "CHECKPOINT" >/dev/null
	sc slots --db "$uri" --json
	pg_stop "$dir"
	expect_status 1
	[ "$(check_field pg.slot.powersync_2_beef status)" = fail ]
	[[ "$(check_field pg.slot.powersync_2_beef message)" == *"invalidated (wal_status=lost)"* ]]
	[[ "$(check_field pg.slot.powersync_2_beef hint)" == "SELECT pg_drop_replication_slot('powersync_2_beef');"*"max_slot_wal_keep_size"* ]]
}

@test "--max-retained rejects a malformed size (exit 2)" {
	sc slots --db "$LOGICAL_URI" --max-retained lots
	expect_status 2
	[[ "$stderr" == *"--max-retained takes a size"* ]]
}

@test "colour: always colours the report, auto off a terminal does not, nor NO_COLOR" {
	sc slots --db "$LOGICAL_URI" --color=always
	[[ "$output" == *$'\033[32mok'* ]]
	sc slots --db "$LOGICAL_URI" --color=auto
	[[ "$output" != *$'\033['* ]]
	NO_COLOR=1 sc slots --db "$LOGICAL_URI"
	[[ "$output" != *$'\033['* ]]
}

@test "-v logs the connection and the SQL on stderr, stdout stays the report" {
	sc slots --db "$LOGICAL_URI" -v --json
	expect_status 0
	[[ "$stderr" == *"syncctl: connecting to postgres@127.0.0.1:"* ]]
	[[ "$stderr" == *"syncctl: SQL: SELECT current_setting('wal_level')"* ]]
	json_get "d['status']" >/dev/null
}
