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
