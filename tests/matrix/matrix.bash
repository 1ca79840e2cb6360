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

