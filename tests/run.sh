#!/usr/bin/env bash
# Runs every test and ends with one line: "N passed, N failed".
#   unit tests (C, cmocka, under ASan+UBSan)
#   command tests (bats) against ./syncctl, then against build/asan/syncctl
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

# libmongoc keeps counters in /dev/shm/mongoc-PID and removes them at exit;
# a process that is killed (the tests SIGKILL some on purpose) leaves its
# segment, and a later process given the same PID then warns on stderr at
# start-up. Segments of processes that are gone are removed before and after.
clean_shm() {
	for f in /dev/shm/mongoc-*; do
		[ -e "$f" ] || continue
		kill -0 "${f##*-}" 2>/dev/null || rm -f "$f"
	done
}
clean_shm
trap 'rm -f "$log"; clean_shm' EXIT

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

echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ] && [ "$passed" -gt 0 ]
