#!/usr/bin/env bats
# The sync-service stand-in cannot drift from the real service: every
# diagnostics answer it can give is decoded with the service's own codecs
# (npm @powersync/service-types, tests/conformance/service_types.mjs) and
# must come back equal. Answers without a codec (the probes' state, the
# error envelope) follow the files fake_stack.py cites.

load helpers

setup_file() {
	export PEERS=$("$ROOT/tests/lib/npm-peers")
}

@test "the codec check itself catches an unknown key, a wrong type, a wrong level and a null optional" {
	run node "$PEERS/service_types.mjs" --self-test
	[ "$status" -eq 0 ]
	[ "$output" = ok ]
}

@test "every diagnostics scenario of the stand-in decodes with DiagnosticsResponse, unchanged" {
	local n=0
	while read -r name; do
		start_server fake_stack.py --api-token t0k --diagnostics "$name"
		run node "$PEERS/service_types.mjs" "http://127.0.0.1:$PORT" t0k
		stop_server
		[ "$status" -eq 0 ] || { echo "scenario $name: $output" >&2; false; }
		[ "$output" = ok ]
		n=$((n + 1))
	done < <($PY "$ROOT/tests/lib/fake_stack.py" --list-scenarios)
	[ "$n" -ge 16 ]
}
