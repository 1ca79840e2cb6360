#!/usr/bin/env bats
# tenant-sync killed at random moments (SIGKILL) and with its target server
# stopped mid-run: each database is always exactly its before-state or its
# after-state (its rows and its state), and the next run converges; a run
# killed between its two commits leaves records that differ, and the next
# run, stateless, converges; a run killed while its server works leaves an
# orphaned session that ends by itself, and the next run takes the lock.

load helpers

ROWS=${CRASH_ROWS:-250000}
# 20 kills with the release binary; the sanitizer pass (the same SQL, looking
# for memory errors) kills 5 times.
case "$SYNCCTL" in
*/asan/*) KILLS=${CRASH_KILLS:-5} SKILLS=${CRASH_STATEFUL_KILLS:-2} ;;
*) KILLS=${CRASH_KILLS:-20} SKILLS=${CRASH_STATEFUL_KILLS:-4} ;;
esac

setup_file() {
	pg_start_pair
	local t="CREATE TABLE big (id bigint PRIMARY KEY, tenant_id int, name text, doc jsonb, updated_at timestamptz);
		CREATE SCHEMA keep; CREATE TABLE keep.big (LIKE big);"
	q "$A" -c "$t" -c "INSERT INTO keep.big SELECT g, g % 20, 'name ' || g,
		jsonb_build_object('n', g, 'text', repeat(md5(g::text), 4)), '2026-01-01'::timestamptz + g * interval '1 s'
		FROM generate_series(1, $ROWS) g"
	# The remote side: 30% of the rows differ, 10% are missing, and it has
	# 5% of its own.
	q "$B" -c "$t" -c "INSERT INTO keep.big SELECT g, g % 20, CASE WHEN g % 10 < 3 THEN 'remote ' ELSE 'name ' END || g,
		jsonb_build_object('n', g, 'text', repeat(md5(g::text), 4)), '2026-01-01'::timestamptz + g * interval '1 s'
		FROM generate_series(1, $ROWS) g WHERE g % 10 <> 9
		UNION ALL SELECT g, g % 20, 'remote only', '{}', now() FROM generate_series($ROWS + 1, $ROWS * 21 / 20) g"
}

teardown_file() {
	pg_stop_pair
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# Both servers back to their before-state, at once: the rows, and no state
# (so the run is stateless) or, with `reset stateful`, the state saved by
# save_state (so the run is stateful: every row changed on both sides since).
reset() {
	local u state="DELETE FROM syncctl.tenant_sync_state"
	for u in "$A" "$B"; do
		if [ "${1:-}" = stateful ]; then
			state="DELETE FROM syncctl.tenant_sync_state; INSERT INTO syncctl.tenant_sync_state SELECT * FROM keep.state;
				DROP TABLE IF EXISTS syncctl.tenant_sync_keys_$(q "$u" -c "SELECT id FROM keep.state"),
					syncctl.tenant_sync_unresolved_$(q "$u" -c "SELECT id FROM keep.state");
				CREATE UNLOGGED TABLE syncctl.tenant_sync_keys_$(q "$u" -c "SELECT id FROM keep.state") AS SELECT * FROM keep.keys;
				ALTER TABLE syncctl.tenant_sync_keys_$(q "$u" -c "SELECT id FROM keep.state") ADD PRIMARY KEY (k1);
				CREATE UNLOGGED TABLE syncctl.tenant_sync_unresolved_$(q "$u" -c "SELECT id FROM keep.state") AS SELECT * FROM keep.unresolved;
				ALTER TABLE syncctl.tenant_sync_unresolved_$(q "$u" -c "SELECT id FROM keep.state") ADD PRIMARY KEY (k1)"
		fi
		q "$u" -c "BEGIN" -c "TRUNCATE big" -c "INSERT INTO big SELECT * FROM keep.big" \
			-c "DO \$\$ BEGIN IF to_regclass('syncctl.tenant_sync_state') IS NOT NULL THEN $state; END IF; END \$\$" -c "COMMIT" &
	done
	wait
}

# The state of a sync of the rows both before-states have (the same on
# both sides), kept in schema keep for `reset stateful`.
save_state() {
	local u
	for u in "$A" "$B"; do
		q "$u" -c "BEGIN" -c "TRUNCATE big" -c "INSERT INTO big SELECT * FROM keep.big WHERE id <= $ROWS AND id % 10 <> 9" \
			-c "UPDATE big SET name = 'name ' || id" -c "COMMIT"
	done
	sc "${SYNC[@]}" --local "$A" --remote "$B"
	expect_status 0
	for u in "$A" "$B"; do
		q "$u" -c "DROP TABLE IF EXISTS keep.state, keep.keys, keep.unresolved" \
			-c "CREATE TABLE keep.state AS SELECT * FROM syncctl.tenant_sync_state" >/dev/null
		local id
		id=$(q "$u" -c "SELECT id FROM keep.state")
		q "$u" -c "CREATE TABLE keep.keys AS SELECT * FROM syncctl.tenant_sync_keys_$id" \
			-c "CREATE TABLE keep.unresolved AS SELECT * FROM syncctl.tenant_sync_unresolved_$id"
		[ "$(q "$u" -c "SELECT count(*) FROM keep.keys")" = $((ROWS * 9 / 10)) ]
	done
}

# The rows, and the state a next run would start from (its run id and the
# base's keys), as one checksum.
sum() {
	PGTZ=UTC q "$1" -c "SELECT count(*) || ':' || md5(string_agg(b::text, E'\n' ORDER BY id)) FROM big b" \
		-c "DO \$\$ BEGIN IF to_regclass('syncctl.tenant_sync_state') IS NULL THEN
			CREATE TEMP VIEW st AS SELECT 'none' AS s; ELSE CREATE TEMP VIEW st AS SELECT coalesce((SELECT run_id::text || '/' ||
			base_rows FROM syncctl.tenant_sync_state), 'none') AS s; END IF; END \$\$" -c "SELECT s FROM st" | paste -sd' '
}

# sums: sa and sb, computed on both servers at once.
sums() {
	sum "$A" >"$W/sa" &
	sum "$B" >"$W/sb" &
	wait
	sa=$(cat "$W/sa") sb=$(cat "$W/sb")
}

# Waits until no syncctl session is left on either server (a killed
# client's backend ends when it next reads from the socket).
settle() {
	local u n
	for _ in $(seq 600); do
		n=0
		for u in "$A" "$B"; do
			n=$((n + $(q "$u" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'syncctl%'")))
		done
		[ "$n" -eq 0 ] && return 0
		sleep 0.1
	done
	echo "syncctl sessions still there after 60 s" >&2
	return 1
}

SYNC=(tenant-sync --direction both --conflict local --table big --timeout 30)

# rows SUM, state SUM: the parts of a checksum from sum.
rows() { echo "${1%% *}"; }
state() { echo "${1#* }"; }

# which SUM BEFORE AFTER_ROWS AFTER_BASE: "before" when the database is
# exactly its before-state (rows and state), "after" when it has the
# after-state's rows and a new run's state with the after-state's base;
# anything else fails.
which() {
	if [ "$1" = "$2" ]; then
		echo before
	elif [ "$(rows "$1")" = "$3" ] && [ "$(state "$1")" != "$(state "$2")" ] && [ "${1##*/}" = "$4" ]; then
		echo after
	else
		echo "neither before ($2) nor after ($3, base $4): $1" >&2
		return 1
	fi
}

# kills MODE N: N runs (stateless or stateful) killed at random moments.
kills() {
	local mode=$1 n=$2 i pid ka kb
	reset "$mode"
	a0=$(sum "$A") b0=$(sum "$B")
	start=$(date +%s%N)
	sc "${SYNC[@]}" --local "$A" --remote "$B" --json
	expect_status 0
	[ "$(json_get "d['mode']")" = "$mode" ]
	took=$((($(date +%s%N) - start) / 1000000))
	af=$(sum "$A") bf=$(sum "$B")
	# After: both sides hold the same rows, and they differ from before;
	# both recorded the same run, with the same base.
	[ "$(rows "$af")" = "$(rows "$bf")" ]
	[ "$(state "$af")" = "$(state "$bf")" ]
	[ "$(rows "$af")" != "$(rows "$a0")" ]
	[ "$(rows "$bf")" != "$(rows "$b0")" ]
	[ "${af%%:*}" = $((ROWS * 21 / 20)) ]
	[ "${af##*/}" = $((ROWS * 21 / 20)) ]
	echo "# one $mode run: $took ms" >&3
	declare -A seen
	for i in $(seq "$n"); do
		reset "$mode"
		"$SYNCCTL" "${SYNC[@]}" --local "$A" --remote "$B" >/dev/null 2>&1 &
		pid=$!
		sleep "$(python3 -c "import random; print(random.uniform(0.02, $took / 1000))")"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		settle
		sums
		ka=$(which "$sa" "$a0" "$(rows "$af")" "${af##*/}") || { echo "run $i: local" >&2; return 1; }
		kb=$(which "$sb" "$b0" "$(rows "$bf")" "${bf##*/}") || { echo "run $i: remote" >&2; return 1; }
		# Local commits first; both after means the same run on both.
		[ "$ka/$kb" != before/after ]
		[ "$ka/$kb" != after/after ] || [ "$(state "$sa")" = "$(state "$sb")" ]
		seen[$ka/$kb]=$((${seen[$ka/$kb]:-0} + 1))
		sc "${SYNC[@]}" --local "$A" --remote "$B" --wait 60 --json
		expect_status 0
		sums
		[ "$(rows "$sa")" = "$(rows "$af")" ]
		[ "$(rows "$sb")" = "$(rows "$bf")" ]
		[ "$(state "$sa")" = "$(state "$sb")" ]
	done
	for k in "${!seen[@]}"; do echo "# $mode, local/remote $k: ${seen[$k]} kills" >&3; done
}

@test "$KILLS stateless runs killed with SIGKILL at random moments: each database (rows and state) before or after, never between; the next run converges" {
	kills stateless "$KILLS"
}

@test "$SKILLS stateful runs killed with SIGKILL at random moments: each database before or after; the next run converges" {
	save_state
	kills stateful "$SKILLS"
}

@test "a run killed between its two commits: local has the new state, remote the old; the next run is stateless and converges" {
	reset
	sc "${SYNC[@]}" --local "$A" --remote "$B"
	expect_status 0
	q "$A" -c "UPDATE big SET name = 'local edit' WHERE id = 1"
	q "$B" -c "UPDATE big SET name = 'remote edit' WHERE id = 2"
	mkdir "$W/pause"
	SYNCCTL_TEST_PAUSE=between-commits:$W/pause "$SYNCCTL" "${SYNC[@]}" --local "$A" --remote "$B" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 600); do [ -e "$W/pause/paused" ] && break; sleep 0.1; done
	[ -e "$W/pause/paused" ]
	kill -9 "$pid"
	wait "$pid" || true
	settle
	[ "$(q "$A" -c "SELECT name FROM big WHERE id = 2")" = "remote edit" ]
	[ "$(q "$B" -c "SELECT name FROM big WHERE id = 1")" != "local edit" ]
	[ "$(q "$A" -c "SELECT run_id FROM syncctl.tenant_sync_state")" != "$(q "$B" -c "SELECT run_id FROM syncctl.tenant_sync_state")" ]
	sc "${SYNC[@]}" --local "$A" --remote "$B" --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateless ]
	[ "$(json_get "d['mode_reason']")" = "the two databases recorded different runs for big (a run ended between its two commits?)" ]
	sums
	[ "$(rows "$sa")" = "$(rows "$sb")" ]
	[ "$(q "$B" -c "SELECT name FROM big WHERE id = 1")" = "local edit" ]
	sc "${SYNC[@]}" --local "$A" --remote "$B" --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateful ]
	[ "$(json_get "d['tables'][0]['updated'] + d['tables'][1]['updated']")" = 0 ]
}

@test "a run killed while its server statement runs: its session ends by itself, and the next run with --wait takes the lock" {
	reset
	# --full: each server hashes and sorts every row in its first FETCH.
	"$SYNCCTL" "${SYNC[@]}" --full --local "$A" --remote "$B" >/dev/null 2>&1 &
	pid=$!
	for _ in $(seq 600); do
		orphan=$(q "$A" -c "SELECT pid FROM pg_stat_activity WHERE application_name LIKE 'syncctl tenant-sync %' AND state = 'active' AND query LIKE 'FETCH%'")
		[ -n "$orphan" ] && break
		sleep 0.02
	done
	[ -n "$orphan" ]
	kill -9 "$pid"
	killed=$(date +%s%N)
	wait "$pid" || true
	# The next run waits for the lock the orphaned session holds; nobody
	# terminates that session.
	"$SYNCCTL" "${SYNC[@]}" --local "$A" --remote "$B" --wait 120 --json >"$W/next" 2>"$W/next.err" &
	next=$!
	for _ in $(seq 12000); do
		[ "$(q "$A" -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $orphan")" = 0 ] && break
		sleep 0.01
	done
	gone=$(date +%s%N)
	status=0
	wait "$next" || status=$?
	output=$(cat "$W/next") stderr=$(cat "$W/next.err")
	expect_status 0
	[ "$(q "$A" -c "SELECT count(*) FROM pg_stat_activity WHERE pid = $orphan")" = 0 ]
	echo "# the orphaned session ended $((($gone - $killed) / 1000000)) ms after the kill" >&3
	# It ended because the server saw its client gone.
	grep -qE "connection to client lost|could not send data to client|could not receive data from client" "$ADIR/server.log"
	sums
	[ "$(rows "$sa")" = "$(rows "$sb")" ]
}

@test "the target server stopped mid-run: exit 3, nothing partial, the next run converges" {
	reset
	a0=$(sum "$A") b0=$(sum "$B")
	"$SYNCCTL" tenant-sync --local "$A" --remote "$B" --direction to-remote --delete --table big >"$W/out" 2>"$W/err" &
	pid=$!
	# Stopped while it writes: the changed rows arrive on the target.
	for _ in $(seq 500); do
		[ "$(q "$B" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name LIKE 'syncctl tenant-sync %' AND query LIKE 'COPY pg_temp.sc_d%'")" != 0 ] && break
		sleep 0.02
	done
	"$PGTMP" halt "$BDIR"
	status=0
	wait "$pid" || status=$?
	stderr=$(cat "$W/err")
	"$PGTMP" resume "$BDIR"
	expect_status 3
	[[ "$stderr" == *"127.0.0.1:"* ]]
	# The crash emptied remote's state (UNLOGGED): the next run is stateless.
	[ "$(rows "$(sum "$B")")" = "$(rows "$b0")" ]
	[ "$(state "$(sum "$B")")" = none ]
	[ "$(sum "$A")" = "$a0" ]
	sc tenant-sync --local "$A" --remote "$B" --direction to-remote --delete --table big --json
	expect_status 0
	[ "$(json_get "d['mode']")" = stateless ]
	[ "$(rows "$(sum "$B")")" = "$(rows "$a0")" ]
}
