# Shared by the Postgres matrix tests (tests/matrix/*.bats), after
# ../cmd/helpers.

# The system's Python for json_get and friends: they need nothing else,
# and a version manager's shim on PATH can cost half a second a call,
# which the matrix makes hundreds of.
python3() { /usr/bin/python3 "$@"; }

# fill_rows URI: the same rows, of every column type the schema has.
fill_rows() {
	q "$1" -c "INSERT INTO lists VALUES ('00000000-0000-0000-0000-000000000001', 'home', 'alice'),
			('00000000-0000-0000-0000-000000000002', 'Grüße, 世界', NULL)" \
		-c "INSERT INTO todos VALUES
			(1, '00000000-0000-0000-0000-000000000001', 'milk', false, 0.1, 0.1, 1.50,
			 '{\"a\": {\"b\": 1}, \"c\": 2}', '{x,\"y z\"}', '2026-01-02 03:04:05.678901+00', '\\x00ff'),
			(2, '00000000-0000-0000-0000-000000000001', 'bread', true, 1e300, -0.5, -2.00,
			 '[1, 2.50, null]', '{}', '1999-12-31 23:59:59+00', ''),
			(3, '00000000-0000-0000-0000-000000000002', NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL, NULL)"
}

# rows URI: every row of both tables as text, under settings every major
# prints alike, with the floats' exact binary beside them.
rows() {
	PGOPTIONS='-c TimeZone=UTC -c extra_float_digits=0' q "$1" \
		-c "SELECT l::text FROM lists l ORDER BY id" \
		-c "SELECT t::text, float8send(t.score), float4send(t.ratio) FROM todos t ORDER BY id"
}

# pg_start_majors MAJOR..: one server of each major, started at once; sets
# URI_<major> and DIR_<major> (exported). Fails if any does not start.
pg_start_majors() {
	local m pids=() rc=0
	for m in "$@"; do
		"$PGTMP" start --major "$m" >"$BATS_FILE_TMPDIR/pg$m.env" 2>"$BATS_FILE_TMPDIR/pg$m.err" &
		pids+=($!)
	done
	for m in "${pids[@]}"; do wait "$m" || rc=1; done
	for m in "$@"; do
		if [ ! -s "$BATS_FILE_TMPDIR/pg$m.env" ]; then
			echo "Postgres $m did not start:" >&2
			cat "$BATS_FILE_TMPDIR/pg$m.err" >&2
			rc=1
			continue
		fi
		eval "$(cat "$BATS_FILE_TMPDIR/pg$m.env")"
		export "URI_$m=$PGTMP_URI" "DIR_$m=$PGTMP_DIR"
	done
	return $rc
}

# pg_stop_majors MAJOR..: stops what pg_start_majors started.
pg_stop_majors() {
	local m d
	for m in "$@"; do
		d=DIR_$m
		pg_stop "${!d:-}"
	done
}

SCHEMA_SQL="CREATE TABLE lists (id uuid PRIMARY KEY, name text NOT NULL, owner_id text);
CREATE TABLE todos (id int PRIMARY KEY, list_id uuid REFERENCES lists (id), title text,
	done boolean, score float8, ratio real, amount numeric(10, 2), meta jsonb,
	tags text[], due timestamptz, blob bytea);"

# watch_start ARGS..: syncctl watch --db $URI in the background, JSON lines
# into $W/out; returns once its slot streams.
watch_start() {
	"$SYNCCTL" watch --db "$URI" --format json "$@" >"$W/out" 2>"$W/err" &
	WPID=$!
	for _ in $(seq 200); do
		[ "$(q "$URI" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'syncctl_watch_$WPID' AND active")" = 1 ] && return 0
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.05
	done
	cat "$W/err" >&2
	return 1
}

# watch_wait: waits (at most 20 s) for it to exit; its status in $WSTATUS.
watch_wait() {
	for _ in $(seq 400); do
		kill -0 "$WPID" 2>/dev/null || break
		sleep 0.05
	done
	if kill -0 "$WPID" 2>/dev/null; then
		kill -9 "$WPID"
		rm -f "/dev/shm/mongoc-$WPID"
		echo "watch did not stop" >&2
		return 1
	fi
	WSTATUS=0
	wait "$WPID" || WSTATUS=$?
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:' "$W/err"; then
		cat "$W/err" >&2
		return 1
	fi
}

# line N EXPR: a Python expression over the N-th JSON line of $W/out (d).
line() {
	sed -n "${1}p" "$W/out" | python3 -c 'import json,sys; d=json.load(sys.stdin); v=eval(sys.argv[1]); print(json.dumps(v, ensure_ascii=False) if not isinstance(v,str) else v)' "$2"
}
