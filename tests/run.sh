#!/usr/bin/env bash
# Runs every test and ends with one line: "N passed, N failed".
#   unit tests (C, cmocka, under ASan+UBSan)
#   command tests (bats) against ./syncctl, then against build/asan/syncctl
#   the Postgres matrix (tests/matrix): every command on each major 11 to 18
#   and across majors, against ./syncctl; Postgres 11 against the ASan build
set -uo pipefail
cd "$(dirname "$0")/.."

passed=0 failed=0
log=$(mktemp)

# count_tap: adds a TAP stream's ok / not ok lines to the totals.
count_tap() {
	local p f
	p=$(grep -cE '^ok ' "$log" || true)
	f=$(grep -cE '^not ok ' "$log" || true)
	passed=$((passed + p))
	failed=$((failed + f))
}

trap 'rm -f "$log"' EXIT

export ASAN_OPTIONS=detect_leaks=1:exitcode=99:fast_unwind_on_malloc=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1:exitcode=98

echo "== unit tests (ASan+UBSan)"
for t in build/asan/tests/test_*; do
	[ -x "$t" ] || continue
	CMOCKA_MESSAGE_OUTPUT=TAP "$t" >"$log" 2>&1
	rc=$?
	cat "$log"
	count_tap
	if [ $rc -ne 0 ] && ! grep -q '^not ok' "$log"; then
		echo "not ok - $t exited $rc"
		failed=$((failed + 1))
	fi
done

echo "== fuzz targets (libFuzzer, ${FUZZ_SECONDS:-15} s each)"
if command -v clang >/dev/null; then
	if make --no-print-directory -s fuzz FUZZ_SECONDS="${FUZZ_SECONDS:-15}" >"$log" 2>&1; then
		grep '^fuzz: .* ok' "$log" | sed 's/^fuzz: /ok - fuzz /'
		passed=$((passed + $(grep -c '^fuzz: .* ok' "$log")))
	else
		cat "$log"
		echo "not ok - fuzz"
		failed=$((failed + 1))
	fi
else
	echo "not ok - fuzz: clang is not installed (make deps installs it)"
	failed=$((failed + 1))
fi

jobs=()
command -v parallel >/dev/null && jobs=(--jobs "$(nproc)" --no-parallelize-within-files)
for bin in ./syncctl build/asan/syncctl; do
	echo "== command tests: $bin"
	SYNCCTL=$PWD/${bin#./} bats --tap "${jobs[@]}" tests/cmd >"$log" 2>&1
	cat "$log"
	count_tap
done

# Postgres 11 to 18: the server binaries, installed once into a cache
# (tests/lib/pg-bin). A major that cannot be installed fails here, and its
# matrix tests fail too: nothing is skipped.
echo "== Postgres 11 to 18: server binaries"
tests/lib/pg-bin --all >"$log" 2>"$log.err"
rc=$?
sed 's/^\([0-9]*\) /ok - Postgres \1 server binaries in /' "$log"
passed=$((passed + $(grep -c . "$log")))
if [ $rc -ne 0 ]; then
	cat "$log.err"
	echo "not ok - Postgres server binaries: the install failed (above)"
	failed=$((failed + 1))
fi
rm -f "$log.err"

# matrix BIN JOB..: each JOB is a major (tests/matrix/smoke.bats on it) or
# another file of tests/matrix; several at once (their servers mostly wait),
# their TAP printed in order. A job that exits non-zero without a failing
# test (bats itself broke) counts as a failure.
matrix() {
	local bin=$PWD/${1#./} dir job
	shift
	dir=$(mktemp -d)
	# shellcheck disable=SC2016 # the script is bash -c's, its $1.. its own
	printf '%s\n' "$@" | xargs -P "${MATRIX_JOBS:-4}" -I{} bash -c '
		job=$1
		case $job in
		[0-9]*) SYNCCTL_PG_MAJOR=$job SYNCCTL=$2 bats --tap tests/matrix/smoke.bats ;;
		*) SYNCCTL=$2 bats --tap "tests/matrix/$job.bats" ;;
		esac >"$3/$job.tap" 2>&1
		echo $? >"$3/$job.rc"' _ {} "$bin" "$dir"
	for job in "$@"; do
		cat "$dir/$job.tap"
		if [ "$(cat "$dir/$job.rc" 2>/dev/null)" != 0 ] && ! grep -q '^not ok' "$dir/$job.tap"; then
			echo "not ok - matrix $job exited $(cat "$dir/$job.rc" 2>/dev/null || echo '?')"
		fi
	done >"$log"
	rm -rf "$dir"
	cat "$log"
	count_tap
}
echo "== Postgres matrix: every command on 11 to 18, and across majors: ./syncctl"
matrix ./syncctl facts cross 11 12 13 14 15 16 17 18
echo "== Postgres matrix: Postgres 11: build/asan/syncctl"
matrix build/asan/syncctl 11

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
