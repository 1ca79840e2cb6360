#!/usr/bin/env bats
# One output layer: --format text|json|nagios|prometheus, each command
# with the formats it declares; Nagios as the Monitoring Plugins guidelines
# define it (status line, perfdata, exit codes 0-3 replacing syncctl's
# own); Prometheus as the text exposition format, checked with promtool.
# And the option layer's table: lint, documentation regenerated from it.

load helpers

setup_file() {
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR
	q "$URI" -c "CREATE TABLE t (id int PRIMARY KEY, v text)" -c "CREATE PUBLICATION powersync FOR ALL TABLES" \
		-c "INSERT INTO t VALUES (1, 'a')" -c "SELECT pg_create_logical_replication_slot('idle_slot', 'pgoutput')" >/dev/null
	q "$URI" -c "CREATE DATABASE other" -c "CREATE DATABASE other2"
	export OTHER=${URI%/postgres}/other OTHER2=${URI%/postgres}/other2
	q "$OTHER" -c "CREATE TABLE t (id int PRIMARY KEY, v text)" -c "INSERT INTO t VALUES (1, 'a')" >/dev/null
	q "$OTHER2" -c "CREATE TABLE t (id int PRIMARY KEY, v text)" >/dev/null
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# nagios_line: the first line of $output matches the guidelines' form.
nagios_line() {
	[[ "$(head -1 <<<"$output")" =~ ^SYNCCTL\ (OK|WARNING|CRITICAL|UNKNOWN)\ -\ [^|]+(\ \|\ .*)?$ ]] || {
		echo "not a plugin status line: $(head -1 <<<"$output")" >&2; false; }
}

@test "--format nagios: the status line, perfdata for the figures measured, a line per check, the plugin's exit code" {
	sc slots --db "$URI" --format nagios
	# An inactive slot under unlimited retention warns: WARNING, exit 1.
	expect_status 1
	nagios_line
	[[ "$(head -1 <<<"$output")" == "SYNCCTL WARNING - 1 warnings: pg.slot.idle_slot "*" | failed=0;;;0 warnings=1;;;0 ok="* ]]
	[[ "$(head -1 <<<"$output")" == *" pg.slot.idle_slot_retained_bytes="*"B;;; "* ]]
	[[ "$output" == *$'\nOK pg.wal_level: wal_level is logical'* ]]
	sc slots --db "$URI" --format nagios --strict
	expect_status 2
	[[ "$output" == "SYNCCTL CRITICAL - "* ]]
	sc publications --db "$URI" --format nagios
	expect_status 0
	[[ "$output" == "SYNCCTL OK - "*" checks ok | "* ]]
}

@test "--format nagios: usage errors and servers that cannot be reached are UNKNOWN (3), with the reason" {
	sc slots --db "postgresql://postgres@127.0.0.1:1/postgres" --format nagios
	expect_status 3
	[[ "$output" == "SYNCCTL UNKNOWN - cannot connect to the source database (from --db) at postgres@127.0.0.1:1/postgres: "* ]]
	[ "$(wc -l <<<"$output")" -eq 1 ]
	sc slots --bogus --format nagios
	expect_status 3
	[ "$output" = "SYNCCTL UNKNOWN - unknown option '--bogus'" ]
	sc --format nagios slots --max-retained lots
	expect_status 3
	[ "$output" = "SYNCCTL UNKNOWN - --max-retained takes a size such as 512MB or 1GB, not 'lots'" ]
	sc doctor --format nagios
	expect_status 3
	[[ "$output" == "SYNCCTL UNKNOWN - nothing was checked"* ]]
}

@test "--format prometheus: the text exposition format promtool accepts, written atomically with --output" {
	sc slots --db "$URI" --format prometheus
	expect_status 0
	printf '%s\n' "$output" | promtool check metrics
	[[ "$output" == *$'\nsyncctl_check_status{check="pg.slot.idle_slot",group="slots"} 1\n'* ]]
	[[ "$output" == *$'\nsyncctl_retained_bytes{check="pg.slot.idle_slot",group="slots"} '* ]]
	[[ "$output" == *'syncctl_run_timestamp_seconds{command="slots"} '* ]]
	sc doctor --db "$URI" --only source --format prometheus --output "$W/syncctl.prom"
	expect_status 0
	[ -z "$output" ]
	promtool check metrics <"$W/syncctl.prom"
	grep -q '^syncctl_check_status{check="pg.connect",group="source"} 0$' "$W/syncctl.prom"
	[ "$(ls -A "$W" | grep -c 'syncctl.prom.tmp')" -eq 0 ]
	sc compare --local "$OTHER" --server "$URI" --format prometheus
	expect_status 0
	printf '%s\n' "$output" | promtool check metrics
	[[ "$output" == *'syncctl_server_rows{check="compare.table.t",group="compare"} 1'* ]]
}

@test "compare and tenant-sync speak nagios too: differing rows and conflicts as perfdata" {
	sc compare --local "$OTHER2" --server "$URI" --format nagios
	expect_status 2
	[[ "$(head -1 <<<"$output")" == "SYNCCTL CRITICAL - 2 failed: compare.table.t "* ]]
	[[ "$(head -1 <<<"$output")" == *"compare_differing_tables=1;;;"* ]]
	sc tenant-sync --local "$OTHER" --remote "$OTHER2" --direction to-remote --table t --format nagios
	expect_status 0
	[[ "$(head -1 <<<"$output")" == "SYNCCTL OK - "* ]]
	[[ "$(head -1 <<<"$output")" == *"tenant_sync.table.t_to_remote_inserted_rows=1;;;"* ]]
}

@test "storage and service speak both formats: keepalive age, replication lag and WAL budget as figures" {
	start_server fake_mongo.py replset --keepalive-age 400 --checkpoint-age 20
	sc storage --storage "$(mongo_uri)" --format nagios
	expect_status 0
	nagios_line
	[[ "$(head -1 <<<"$output")" == "SYNCCTL OK - 6 checks ok, 1 skipped | "*" storage.keepalive_age_seconds=20s;;; "* ]]
	sc storage --storage "$(mongo_uri)" --format prometheus
	expect_status 0
	printf '%s\n' "$output" | promtool check metrics
	[[ "$output" == *$'\nsyncctl_age_seconds{check="storage.keepalive",group="storage"} 20\n'* ]]
	[[ "$output" == *$'\nsyncctl_check_status{check="storage.slot",group="storage"} 3\n'* ]]
	sc storage --storage "$(mongo_uri)" --json
	[ "$(json_get "[c for c in d['checks'] if c['id']=='storage.keepalive'][0]['metrics']['age_seconds']")" = 20 ]
	stop_server
	echo admin-token >"$W/api-token"
	chmod 600 "$W/api-token"
	start_server fake_stack.py --api-token admin-token --diagnostics lag-warning
	sc service --service "http://127.0.0.1:$PORT" --api-token-file "$W/api-token" --format nagios
	expect_status 1
	nagios_line
	[[ "$(head -1 <<<"$output")" == "SYNCCTL WARNING - 1 warnings: service.lag "*" service.replication.powersync_1_a3f2_lag_bytes=1024B;;; service.replication.powersync_1_a3f2_safe_wal_size_bytes=858993459B;;; "* ]]
	[[ "$output" == *$'\nWARNING service.lag: '* ]]
	# Only the nagios format replaces the exit code: a warning is 0 here.
	sc service --service "http://127.0.0.1:$PORT" --api-token-file "$W/api-token" --format prometheus
	expect_status 0
	printf '%s\n' "$output" | promtool check metrics
	[[ "$output" == *$'\nsyncctl_lag_bytes{check="service.replication.powersync_1_a3f2",group="service"} 1024\n'* ]]
	[[ "$output" == *$'\nsyncctl_check_status{check="service.lag",group="service"} 1\n'* ]]
	[[ "$output" == *$'\nsyncctl_status{command="service"} 1\n'* ]]
	[[ "$output" == *$'\nsyncctl_exit_code{command="service"} 0\n'* ]]
	stop_server
}

@test "--output that cannot be written is refused before the work (exit 3): a missing or read-only directory, a directory by that name" {
	# The source is unreachable: the error is the output's, found first.
	sc slots --db "postgresql://postgres@127.0.0.1:1/postgres" --output "$W/missing/s.prom"
	expect_status 3
	[ "$stderr" = "syncctl slots: error: cannot write --output $W/missing/s.prom: No such file or directory" ]
	sc slots --db "postgresql://postgres@127.0.0.1:1/postgres" --output "$W"
	expect_status 3
	[ "$stderr" = "syncctl slots: error: cannot write --output $W: Is a directory" ]
	# tenant-sync writes nothing to either database then.
	q "$OTHER" -c "DROP TABLE IF EXISTS early" -c "CREATE TABLE early (id int PRIMARY KEY)" -c "INSERT INTO early VALUES (1)"
	q "$OTHER2" -c "DROP TABLE IF EXISTS early" -c "CREATE TABLE early (id int PRIMARY KEY)"
	sc tenant-sync --local "$OTHER" --remote "$OTHER2" --direction to-remote --table early --output "$W/missing/report.txt"
	expect_status 3
	[ "$(q "$OTHER2" -c "SELECT count(*) FROM early")" = 0 ]
	sc tenant-sync --local "$OTHER" --remote "$OTHER2" --direction to-remote --table early --output "$W/report.txt"
	expect_status 0
	[ "$(q "$OTHER2" -c "SELECT count(*) FROM early")" = 1 ]
	grep -q "^early  to-remote  1 " "$W/report.txt"
	if [ "$(id -u)" -ne 0 ]; then
		mkdir "$W/ro" && chmod 555 "$W/ro"
		sc slots --db "$URI" --output "$W/ro/s.prom"
		expect_status 3
		[ "$stderr" = "syncctl slots: error: cannot write --output $W/ro/s.prom: Permission denied" ]
	fi
	q "$OTHER" -c "DROP TABLE early"
	q "$OTHER2" -c "DROP TABLE early"
}

@test "--format prometheus when nothing could be checked: syncctl_status 3 and the exit code, so the textfile does not keep the last good run" {
	# The idle slot warns: status 1, exit 0.
	sc slots --db "$URI" --format prometheus --output "$W/s.prom"
	expect_status 0
	grep -q '^syncctl_status{command="slots"} 1$' "$W/s.prom"
	sc slots --db "postgresql://postgres@127.0.0.1:1/postgres" --format prometheus --output "$W/s.prom"
	expect_status 3
	[[ "$stderr" == *"cannot connect to the source database (from --db) at postgres@127.0.0.1:1/postgres"* ]]
	promtool check metrics <"$W/s.prom"
	grep -q '^syncctl_status{command="slots"} 3$' "$W/s.prom"
	grep -q '^syncctl_exit_code{command="slots"} 3$' "$W/s.prom"
	! grep -q '^syncctl_check_status{' "$W/s.prom"
	sc slots --max-retained lots --format prometheus
	expect_status 2
	grep -q '^syncctl_exit_code{command="slots"} 2$' <<<"$output"
	sc tenant-sync --local "$OTHER" --remote "$OTHER2" --direction to-remote --table t --dry-run --format prometheus
	expect_status 0
	printf '%s\n' "$output" | promtool check metrics
	[[ "$output" == *'syncctl_check_status{check="tenant_sync.table.t",group="tenant-sync"} 0'* ]]
}

@test "each command gives the formats it declares; another is a usage error naming them" {
	sc token decode --format nagios x
	expect_status 2
	[ "$stderr" = "syncctl token: --format nagios is not one token gives (it gives text, json) (see 'syncctl token --help')" ]
	sc watch --format prometheus
	expect_status 2
	[[ "$stderr" == *"--format prometheus is not one watch gives (it gives text, json)"* ]]
	sc help --format json
	expect_status 2
	sc slots drop x --format nagios --db "$URI"
	expect_status 2
	[[ "$stderr" == *"--format nagios is not one slots drop gives (it gives text, json)"* ]]
	sc slots --help
	[[ "$output" == *$'\nFormats: text json nagios prometheus\n'* ]]
	sc watch --help
	[[ "$output" == *$'\nFormats: text json (json is a stream: one JSON object a change, a line each)\n'* ]]
	# --json is --format json.
	sc version --json
	a=$output
	sc version --format json
	[ "$output" = "$a" ]
}

@test "the option tables pass their own check; the man pages, README synopses and completions are what the table generates" {
	sc completion lint
	expect_status 0
	[ -z "$output" ]
	run "$ROOT/scripts/gen-docs" --check "$SYNCCTL"
	[ "$status" -eq 0 ] || { echo "$output" >&2; false; }
}

@test "a usage that goes on over lines is printed aligned, syncctl once" {
	sc doctor --help
	[ "$(grep -c 'syncctl doctor' <<<"$output")" -eq 1 ]
	[[ "$(sed -n 2p <<<"$output")" == "                      [--key FILE|--secret-file F]"* ]]
}
