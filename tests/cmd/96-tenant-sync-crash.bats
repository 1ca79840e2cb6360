#!/usr/bin/env bats
# tenant-sync killed at random moments (SIGKILL) and with its target server
# stopped mid-run: each database is always exactly its before-state or its
# after-state, and the next run converges.

load helpers

ROWS=${CRASH_ROWS:-250000}
# 20 kills with the release binary; the sanitizer pass (the same SQL, looking
# for memory errors) kills 5 times.
case "$SYNCCTL" in
*/asan/*) KILLS=${CRASH_KILLS:-5} ;;
*) KILLS=${CRASH_KILLS:-20} ;;
esac

setup_file() {
	pg_start
	export A=$PGTMP_URI ADIR=$PGTMP_DIR
	pg_start
	export B=$PGTMP_URI BDIR=$PGTMP_DIR
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
	pg_stop "$ADIR"
	pg_stop "$BDIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# Both servers back to their before-state, at once.
reset() {
	local u
	for u in "$A" "$B"; do
		q "$u" -c "BEGIN" -c "TRUNCATE big" -c "INSERT INTO big SELECT * FROM keep.big" -c "COMMIT" &
	done
	wait
}

sum() {
	PGTZ=UTC q "$1" -c "SELECT count(*) || ':' || md5(string_agg(b::text, E'\n' ORDER BY id)) FROM big b"
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
			n=$((n + $(q "$u" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'syncctl'")))
		done
		[ "$n" -eq 0 ] && return 0
		sleep 0.1
	done
	echo "syncctl sessions still there after 60 s" >&2
	return 1
}

SYNC=(tenant-sync --direction both --conflict local --table big --timeout 30)

@test "$KILLS runs killed with SIGKILL at random moments: each database before or after, never between; the next run converges" {
	reset
	a0=$(sum "$A") b0=$(sum "$B")
	start=$(date +%s%N)
	sc "${SYNC[@]}" --local "$A" --remote "$B"
	expect_status 0
	took=$((($(date +%s%N) - start) / 1000000))
	af=$(sum "$A") bf=$(sum "$B")
	# After: both sides hold the same rows, and they differ from before.
	[ "$af" = "$bf" ]
	[ "$af" != "$a0" ]
	[ "$bf" != "$b0" ]
	[ "${af%%:*}" = $((ROWS * 21 / 20)) ]
	echo "# one run: $took ms" >&3
	declare -A seen
	for i in $(seq "$KILLS"); do
		reset
		"$SYNCCTL" "${SYNC[@]}" --local "$A" --remote "$B" >/dev/null 2>&1 &
		pid=$!
		sleep "$(python3 -c "import random; print(random.uniform(0.02, $took / 1000))")"
		kill -9 "$pid" 2>/dev/null || true
		wait "$pid" || true
		settle
		sums
		case "$sa" in "$a0") ka=before ;; "$af") ka=after ;; *) echo "run $i: local is neither before nor after: $sa" >&2; return 1 ;; esac
		case "$sb" in "$b0") kb=before ;; "$bf") kb=after ;; *) echo "run $i: remote is neither before nor after: $sb" >&2; return 1 ;; esac
		seen[$ka/$kb]=$((${seen[$ka/$kb]:-0} + 1))
		sc "${SYNC[@]}" --local "$A" --remote "$B" --wait 60
		expect_status 0
		sums
		[ "$sa" = "$af" ]
		[ "$sb" = "$bf" ]
	done
	for k in "${!seen[@]}"; do echo "# local/remote $k: ${seen[$k]} kills" >&3; done
}

@test "the target server stopped mid-run: exit 3, nothing partial, the next run converges" {
	reset
	a0=$(sum "$A") b0=$(sum "$B")
	"$SYNCCTL" tenant-sync --local "$A" --remote "$B" --direction to-remote --delete --table big >"$W/out" 2>"$W/err" &
	pid=$!
	# Stopped while it writes: the changed rows arrive on the target.
	for _ in $(seq 500); do
		[ "$(q "$B" -c "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'syncctl' AND query LIKE 'COPY pg_temp.sc_d%'")" != 0 ] && break
		sleep 0.02
	done
	"$PGTMP" halt "$BDIR"
	status=0
	wait "$pid" || status=$?
	stderr=$(cat "$W/err")
	"$PGTMP" resume "$BDIR"
	expect_status 3
	[[ "$stderr" == *"127.0.0.1:"* ]]
	[ "$(sum "$B")" = "$b0" ]
	[ "$(sum "$A")" = "$a0" ]
	sc tenant-sync --local "$A" --remote "$B" --direction to-remote --delete --table big --json
	expect_status 0
	[ "$(sum "$B")" = "$a0" ]
}
