# Shared by the command tests (bats). SYNCCTL names the binary under test:
# ./syncctl, or build/asan/syncctl for the sanitizer run.
ROOT=$(cd "$BATS_TEST_DIRNAME/../.." && pwd)
SYNCCTL=${SYNCCTL:-$ROOT/syncctl}
PGTMP=$ROOT/tests/lib/pgtmp
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:exitcode=99:abort_on_error=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=98}
export LSAN_OPTIONS=${LSAN_OPTIONS:-exitcode=97}
# The tests never read the developer's own settings.
unset SYNCCTL_DB DATABASE_URL PGHOST PGPORT PGUSER PGDATABASE PGPASSWORD POWERSYNC_CONFIG_PATH
export NO_COLOR=1

# sc ARGS...: runs syncctl, capturing stdout in $output, stderr in $stderr
# and the exit status in $status. A sanitizer report fails the test.
sc() {
	local errf="$BATS_TEST_TMPDIR/stderr.$$" outf="$BATS_TEST_TMPDIR/stdout.$$"
	# `|| status=$?` keeps bats' ERR trap out of an expected failure.
	status=0
	"$SYNCCTL" "$@" >"$outf" 2>"$errf" || status=$?
	output=$(cat "$outf")
	stderr=$(cat "$errf")
	if grep -qE 'AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer' "$errf"; then
		echo "sanitizer report from: syncctl $*" >&2
		cat "$errf" >&2
		return 1
	fi
	return 0
}

# expect_status N: fails with the command's output when the status differs.
expect_status() {
	if [ "$status" -ne "$1" ]; then
		echo "expected exit $1, got $status" >&2
		echo "stdout: $output" >&2
		echo "stderr: $stderr" >&2
		return 1
	fi
}

# Debian's python3, which has python3-mockupdb and python3-jwcrypto (and
# starts at once, where a python3 on PATH may be a slow shim).
PY=/usr/bin/python3

# jq-free JSON queries: json_get EXPR reads $output as JSON and prints the
# Python expression's value (d is the document).
json_get() {
	$PY -c 'import json,sys; d=json.load(sys.stdin); v=eval(sys.argv[1]); print(json.dumps(v) if isinstance(v,(dict,list,bool)) or v is None else v)' "$1" <<<"$output"
}

# check_field ID FIELD: a field of the check with that id.
check_field() {
	json_get "[c for c in d['checks'] if c['id']=='$1'][0]['$2']"
}

pg_start() {
	local env
	env=$("$PGTMP" start "$@") || return 1
	eval "$env"
}

pg_stop() {
	[ -n "${1:-}" ] && "$PGTMP" stop "$1"
}

# pg_start_pair: the two servers of the tenant-sync tests, local (A, ADIR,
# APORT) and remote (B, BDIR); pg_stop_pair stops both.
pg_start_pair() {
	pg_start || return 1
	export A=$PGTMP_URI ADIR=$PGTMP_DIR APORT=$PGTMP_PORT
	pg_start || return 1
	export B=$PGTMP_URI BDIR=$PGTMP_DIR
}

pg_stop_pair() {
	pg_stop "${ADIR:-}"
	pg_stop "${BDIR:-}"
}

# psql against a URI, quiet, failing on errors.
q() {
	local uri=$1
	shift
	psql "$uri" -X -q -v ON_ERROR_STOP=1 -At "$@"
}


# start_server SCRIPT ARGS..: a test server from tests/lib in the
# background; its port in $PORT, its pid in $SPID.
start_server() {
	local script=$1
	shift
	$PY "$ROOT/tests/lib/$script" "$@" >"$BATS_TEST_TMPDIR/port" 2>"$BATS_TEST_TMPDIR/server.err" &
	SPID=$!
	# Up to 20 s: python3 with its imports starts slowly on a loaded machine.
	for _ in $(seq 400); do
		[ -s "$BATS_TEST_TMPDIR/port" ] && break
		kill -0 "$SPID" 2>/dev/null || break
		sleep 0.05
	done
	PORT=$(head -1 "$BATS_TEST_TMPDIR/port")
	[ -n "$PORT" ] || { cat "$BATS_TEST_TMPDIR/server.err" >&2; return 1; }
}

stop_server() {
	kill "$SPID" 2>/dev/null || true
	wait "$SPID" 2>/dev/null || true
}

mongo_uri() { echo "mongodb://127.0.0.1:$PORT/powersync"; }

# has_check ID: the report in $output has a check with that id.
has_check() {
	[ "$(json_get "any(c['id']=='$1' for c in d['checks'])")" = true ]
}

# watch_slot_ready URI PID: waits (at most 20 s) until the watch process
# PID streams from its slot; fails with its stderr ($W/err) if it exits first.
watch_slot_ready() {
	for _ in $(seq 400); do
		[ "$(q "$1" -c "SELECT count(*) FROM pg_replication_slots WHERE slot_name = 'syncctl_watch_$2' AND active")" = 1 ] && return 0
		kill -0 "$2" 2>/dev/null || break
		sleep 0.05
	done
	cat "$W/err" >&2
	return 1
}

# watch_start ARGS..: syncctl watch --db $URI in the background, JSON
# lines into $W/out; returns once its slot streams.
watch_start() {
	"$SYNCCTL" watch --db "$URI" --format json "$@" >"$W/out" 2>"$W/err" &
	WPID=$!
	watch_slot_ready "$URI" "$WPID"
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
