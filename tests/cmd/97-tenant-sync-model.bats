#!/usr/bin/env bats
# tenant-sync with state against a model: random rounds of edits on two real
# servers, each followed by a `both` run (random policy, with and without
# --delete, sometimes paused while the application edits, sometimes reading
# every row); after each run both databases equal what the three-way merge
# in tests/lib/ts_model.py computes, and the reported conflicts, unresolved
# keys and mode are exactly its. Fewer rounds under the sanitizers.

load helpers

setup_file() {
	pg_start_pair
}

teardown_file() {
	pg_stop_pair
}

@test "model: random rounds of edits on both sides, each followed by tenant-sync both; both databases and the report equal the model's" {
	case "$SYNCCTL" in
	*/asan/*) rounds=${MODEL_ROUNDS:-60} ;;
	*) rounds=${MODEL_ROUNDS:-220} ;;
	esac
	status=0
	SYNCCTL=$SYNCCTL LOCAL=$A REMOTE=$B ROUNDS=$rounds $PY "$ROOT/tests/lib/ts_model.py" >"$BATS_TEST_TMPDIR/model" 2>&1 || status=$?
	sed 's/^/# /' "$BATS_TEST_TMPDIR/model" >&3
	[ "$status" -eq 0 ]
	# Every kind of round happened at least once (in the long run; the
	# sanitizer pass runs fewer rounds and checks the commonest).
	local all=("same row edited on both sides" "mode stateless" "mode stateful" "kept delete" "delete propagated")
	[[ "$SYNCCTL" == */asan/* ]] || all+=("delete against update" "a deleted key inserted again" \
		"trigger rewrote a row" "edits during a paused run" "a paused run failed on an edited row" \
		"every row read (forced)" "conflict: differs on both sides" "conflict: differs" "conflict: deleted on X" \
		"conflict: the same updated time on both sides" "policy skip" "policy newer --delete" "policy local" \
		"policy remote --delete")
	for what in "${all[@]}"; do
		grep -q "  $what\$" "$BATS_TEST_TMPDIR/model" || { echo "never happened: $what" >&2; return 1; }
	done
}
