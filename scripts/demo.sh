#!/usr/bin/env bash
# make demo: a throwaway Postgres with the sample task-app schema, then
# syncctl schema init, slots and publications against it.
set -euo pipefail
cd "$(dirname "$0")/.."

env=$(tests/lib/pgtmp start)
eval "$env"
work=$(mktemp -d)
trap 'kill "${httpd_pid:-0}" 2>/dev/null || true; tests/lib/pgtmp stop "$PGTMP_DIR"; rm -rf "$work"' EXIT
export SYNCCTL_DB=$PGTMP_URI
# The replication role's password, in a file only its owner can read.
(umask 077 && printf 'demo-only-password\n' >"$work/password.txt")

if [ -t 1 ]; then
	step() { printf '\n\033[1m$ %s\033[0m\n' "$*"; }
else
	step() { printf '\n$ %s\n' "$*"; }
fi

echo "A throwaway Postgres (wal_level=logical) is running at $PGTMP_URI"

step syncctl schema init -f demo/schema.sql --role powersync_role --password-file "$work/password.txt"
./syncctl schema init -f demo/schema.sql --role powersync_role --password-file "$work/password.txt"

step syncctl schema init -f demo/schema.sql "   # again: nothing to do"
./syncctl schema init -f demo/schema.sql

# What the sync service would leave behind: its replication slot.
psql "$PGTMP_URI" -XAtq -c "SELECT 1 FROM pg_create_logical_replication_slot('powersync_1_a3f2', 'pgoutput')" >/dev/null

step syncctl slots
./syncctl slots

step syncctl publications --table tasks --table projects
./syncctl publications --table tasks --table projects

# The auth chain of the sandbox: a signing key, its JWKS served on
# 127.0.0.1 as an app backend would, and the sample sync rules.
mkdir -p "$work/www"
./syncctl token keygen --alg ES256 --kid demo-key --out "$work/demo-key.pem" >"$work/www/jwks.json" 2>/dev/null
/usr/bin/python3 tests/lib/httpd.py "$work/www" >"$work/httpd.port" &
httpd_pid=$!
for _ in $(seq 100); do [ -s "$work/httpd.port" ] && break; sleep 0.05; done
jwks="http://127.0.0.1:$(cat "$work/httpd.port")/jwks.json"

step syncctl doctor --rules demo/sync-rules.yaml --jwks "$jwks" --key demo-key.pem --kid demo-key --aud powersync
./syncctl doctor --rules demo/sync-rules.yaml --jwks "$jwks" --key "$work/demo-key.pem" --kid demo-key --aud powersync

printf '\nDone; the server is stopped and its directory removed.\n'
