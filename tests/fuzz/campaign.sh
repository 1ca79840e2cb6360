#!/bin/sh
# campaign.sh SECONDS TARGET...: a long fuzzing run of each target (built
# by `make fuzz`), two at a time at the lowest priority (the build machines
# are shared), each from its seeds (as `make fuzz` gives them) into its own
# corpus build/fuzz/campaign-NAME. Prints a line a target: executions,
# crashes (artifacts left in build/fuzz/campaign-NAME-*), wall time.
# Exit 1 when any target crashed, leaked or hung.
set -u
secs=${1:?usage: campaign.sh SECONDS TARGET...}
shift
cd "$(dirname "$0")/../.." || exit 2
one() {
	name=$1
	corpus=build/fuzz/campaign-$name
	mkdir -p "$corpus"
	dict=
	[ -f "tests/fuzz/$name.dict" ] && dict=-dict=tests/fuzz/$name.dict
	shared=
	for d in $(tests/fuzz/shared-seeds "$name"); do [ -d "$d" ] && shared="$shared $d"; done
	start=$(date +%s)
	# shellcheck disable=SC2086
	nice -n 19 "build/fuzz/fuzz_$name" -max_total_time="$secs" -timeout=25 -print_final_stats=1 \
		-artifact_prefix="$corpus-" $dict "$corpus" "tests/fuzz/corpus/$name" $shared \
		>"$corpus.log" 2>&1
	rc=$?
	end=$(date +%s)
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$corpus.log")
	crashes=$(find build/fuzz -maxdepth 1 -name "campaign-$name-*" -type f | wc -l)
	echo "$name: ${execs:-?} executions, $crashes crashes, $((end - start)) s wall, exit $rc" | tee "$corpus.result"
	[ "$rc" -eq 0 ] && [ "$crashes" -eq 0 ]
}
status=0
while [ $# -gt 0 ]; do
	one "$1" &
	a=$!
	b=
	if [ $# -gt 1 ]; then
		one "$2" &
		b=$!
		shift
	fi
	shift
	wait "$a" || status=1
	[ -z "$b" ] || wait "$b" || status=1
done
exit $status
