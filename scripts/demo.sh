#!/usr/bin/env bash
# make demo: a throwaway Postgres with the sample task-app schema, then
# syncctl schema init, slots, publications and doctor against it; then a
# second database (a hosted copy, say) kept in step with tenant-sync: a
# first, stateless round copies what each side has alone, a second, after
# an edit on each side, is stateful: both edits cross, no conflict.
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

# tenant-sync: the same tables in a second database, with a project of its
# own; the sample rows are on local only.
psql "$PGTMP_URI" -XAtq -c "CREATE DATABASE demo_remote"
export SYNCCTL_LOCAL_DB=$PGTMP_URI SYNCCTL_REMOTE_DB=${PGTMP_URI%/postgres}/demo_remote
pg_dump --schema-only --no-publications -t groups -t projects -t tasks "$PGTMP_URI" | psql "$SYNCCTL_REMOTE_DB" -XAtq -v ON_ERROR_STOP=1 >/dev/null
psql "$SYNCCTL_REMOTE_DB" -XAtq -v ON_ERROR_STOP=1 \
	-c "INSERT INTO groups (id, name, owner_id) VALUES ('6d5a1c1e-0000-4000-8000-000000000011', 'Work', '00000000-0000-4000-8000-0000000000aa')" \
	-c "INSERT INTO projects (id, group_id, owner_id, name) VALUES ('6d5a1c1e-0000-4000-8000-000000000012', '6d5a1c1e-0000-4000-8000-000000000011', '00000000-0000-4000-8000-0000000000aa', 'Report')" \
	-c "INSERT INTO tasks (project_id, owner_id, title) VALUES ('6d5a1c1e-0000-4000-8000-000000000012', '00000000-0000-4000-8000-0000000000aa', 'Write the report')"
echo
echo "A second database, $SYNCCTL_REMOTE_DB, has the same tables and a project of its own."
sync=(./syncctl tenant-sync --direction both --table groups --table projects --table tasks)

step syncctl tenant-sync --direction both --table groups --table projects --table tasks "   # first round: no state yet"
"${sync[@]}"

psql "$SYNCCTL_LOCAL_DB" -XAtq -c "UPDATE tasks SET done = true, updated_at = now() WHERE title = 'Plant tomatoes'"
psql "$SYNCCTL_REMOTE_DB" -XAtq -c "UPDATE tasks SET title = 'Write the report (draft)', updated_at = now() WHERE title = 'Write the report'"
echo
echo "Then an edit on each side: 'Plant tomatoes' done on local, 'Write the report' renamed on remote."

step syncctl tenant-sync --direction both --table groups --table projects --table tasks "   # second round: stateful"
"${sync[@]}"
for db in "$SYNCCTL_LOCAL_DB" "$SYNCCTL_REMOTE_DB"; do
	echo "$( [ "$db" = "$SYNCCTL_LOCAL_DB" ] && echo local || echo remote): $(psql "$db" -XAtq -c "SELECT string_agg(title || CASE WHEN done THEN ' (done)' ELSE '' END, ', ' ORDER BY title) FROM tasks")"
done

printf '\nDone; the server is stopped and its directory removed.\n'
