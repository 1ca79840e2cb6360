#!/usr/bin/env bats
# The sync service's own config, read exactly as the service reads it
# (powersync-service 1.25: libs/lib-postgres and libs/lib-mongodb types.ts,
# compound-config-collector.ts, collectors/impl/yaml-env.ts), and configs
# written for a compose network used through --resolve. The real configs
# come from ../shared/corpora (read there, never copied).

load helpers

CORPUS=$ROOT/../shared/corpora

setup_file() {
	pg_start
	export URI=$PGTMP_URI DIR=$PGTMP_DIR PGPORT_T=$PGTMP_PORT
	export T=$BATS_FILE_TMPDIR
	# A CA and a server certificate for the compose name pg-db, served by
	# the test server (TLS on by reload).
	openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/ca.key" -out "$T/ca.pem" \
		-days 2 -subj "/CN=syncctl test CA" >/dev/null 2>&1
	openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout "$T/server.key" -out "$T/server.csr" \
		-subj "/CN=pg-db" >/dev/null 2>&1
	printf 'subjectAltName=DNS:pg-db\n' >"$T/san.ext"
	openssl x509 -req -in "$T/server.csr" -CA "$T/ca.pem" -CAkey "$T/ca.key" -CAcreateserial -out "$T/server.pem" \
		-days 2 -extfile "$T/san.ext" >/dev/null 2>&1
	cp "$T/server.pem" "$T/server.key" "$DIR/data/"
	[ "$(id -u)" -eq 0 ] && chown postgres "$DIR/data/server.pem" "$DIR/data/server.key"
	chmod 600 "$DIR/data/server.key"
	q "$URI" -c "ALTER SYSTEM SET ssl = on" -c "ALTER SYSTEM SET ssl_cert_file = 'server.pem'" \
		-c "ALTER SYSTEM SET ssl_key_file = 'server.key'" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.3
	q "$URI" -c "CREATE PUBLICATION powersync FOR ALL TABLES" >/dev/null
	# What the demos' backends serve as their JWKS.
	mkdir -p "$T/www/api/auth"
	"$SYNCCTL" token keygen --alg RS256 --kid demo --out "$T/demo.pem" >"$T/www/api/auth/keys" 2>/dev/null
}

teardown_file() {
	pg_stop "$DIR"
}

setup() {
	W=$BATS_TEST_TMPDIR
	SPID=
	HPID=
	MPID=
}

teardown() {
	[ -z "$SPID" ] || stop_server
	[ -z "$HPID" ] || kill "$HPID" 2>/dev/null || true
	[ -z "$MPID" ] || kill "$MPID" 2>/dev/null || true
}

need_corpus() {
	[ -d "$CORPUS" ] || skip "../shared/corpora is not here: the real configs are read from there"
}

# A JWKS server (the demos' backend) and a replica set (the demos' mongo),
# their ports in HPORT and MPORT.
start_backend() {
	$PY "$ROOT/tests/lib/httpd.py" "$T/www" >"$W/hport" &
	HPID=$!
	start_server fake_mongo.py replset --database "${1:-powersync_demo}"
	MPID=$SPID
	MPORT=$PORT
	SPID=
	for _ in $(seq 400); do [ -s "$W/hport" ] && break; sleep 0.05; done
	HPORT=$(cat "$W/hport")
}

setting() { json_get "d['settings']['$1']['$2']"; }

# ---- the real configs ----

@test "self-host-demo's config: every setting derived as the service derives it, each with its origin, through --resolve" {
	need_corpus
	start_backend
	start_server fake_stack.py --api-token use_a_better_token_in_production
	# The demo's .env, interpolated as docker compose does.
	cat >"$W/.env" <<-'ENV'
		PG_DATABASE_PASSWORD=mypassword
		PS_DATA_SOURCE_URI=postgresql://postgres:${PG_DATABASE_PASSWORD}@pg-db:5432/postgres
		DEMO_BACKEND_PORT=6060
		PS_JWKS_URL=http://demo-backend:${DEMO_BACKEND_PORT}/api/auth/keys
		PS_MONGO_URI=mongodb://mongo:27017/powersync_demo
		PS_PORT=8080
	ENV
	cfg=$CORPUS/service-configs/self-host-demo/config/powersync.yaml
	sc doctor --powersync-config "$cfg" --env-file "$W/.env" --resolve "pg-db:5432=127.0.0.1:$PGPORT_T" \
		--resolve "mongo:27017=127.0.0.1:$MPORT" --resolve "demo-backend:6060=127.0.0.1:$HPORT" \
		--resolve "localhost:8080=127.0.0.1:$PORT" --skip backend --json
	[ "$(setting db value)" = "postgresql://postgres:***@pg-db:5432/postgres (sslmode disable)" ]
	[ "$(setting db origin)" = "powersync config $cfg (replication.connections[0])" ]
	[ "$(setting sslmode value)" = disable ]
	[ "$(setting source_type value)" = postgresql ]
	[ "$(setting storage value)" = "mongodb://mongo:27017/powersync_demo" ]
	[ "$(setting storage_type value)" = mongodb ]
	[ "$(setting service value)" = "http://localhost:8080" ]
	[ "$(setting service origin)" = "powersync config $cfg (port)" ]
	[ "$(setting api_token value)" = "***" ]
	[ "$(setting api_token origin)" = "api.tokens[0]" ]
	[ "$(setting audience value)" = "powersync-dev,powersync" ]
	[ "$(json_get "d['settings']['jwks'][0]['value']")" = "http://demo-backend:6060/api/auth/keys" ]
	[ "$(setting rules value)" = "$CORPUS/service-configs/self-host-demo/config/sync_rules.yaml" ]
	[[ "$output" != *mypassword* && "$output" != *use_a_better_token* ]]
	[ "$(check_field config status)" = ok ]
	[ "$(check_field pg.connect status)" = ok ]
	[ "$(check_field storage.replica_set status)" = ok ]
	[ "$(check_field auth.jwks message)" = "1 key(s): demo" ]
	[ "$(check_field service.probe.startup status)" = ok ]
	[ "$(check_field service.diagnostics status)" = ok ]
}

@test "the other demos: a mongodb, mysql or mssql source is reported as such, never handed to libpq" {
	need_corpus
	for demo in nodejs-mongodb nodejs-mysql nodejs-mssql; do
		case $demo in
		nodejs-mongodb) src=mongodb://mongo:27017/powersync_demo_backend type=mongodb ;;
		nodejs-mysql) src=mysql://repl_user:good_password@mysql:3306/powersync type=mysql ;;
		nodejs-mssql) src='mssql://sa:Str0ng!Passw0rd@mssql:1433/powersync' type=mssql ;;
		esac
		PS_DATA_SOURCE_URI=$src PS_MONGO_URI=mongodb://mongo:27017/powersync_demo PS_PORT=8080 \
			PS_JWKS_URL=http://demo-backend:6060/api/auth/keys \
			sc doctor --only source --powersync-config "$CORPUS/service-configs/self-host-demo/demos/$demo/config/powersync.yaml" --json
		expect_status 0
		[ "$(check_field source status)" = skip ]
		[ "$(check_field source message)" = "the service config's source is a $type database (replication.connections[0].type): the Postgres checks do not apply" ]
		[ "$(setting source_type value)" = "$type" ]
		[[ "$output" != *good_password* && "$output" != *Str0ng* ]]
	done
	PS_DATA_SOURCE_URI=mongodb://mongo:27017/x PS_MONGO_URI=mongodb://mongo:27017/powersync_demo PS_PORT=8080 PS_JWKS_URL=http://x/ \
		sc slots --powersync-config "$CORPUS/service-configs/self-host-demo/demos/nodejs-mongodb/config/powersync.yaml"
	expect_status 2
	[[ "$stderr" == *"the service config's source is a mongodb database (replication.connections[0].type): syncctl's Postgres checks do not apply; give --db for a Postgres source" ]]
}

@test "the Postgres bucket storage demo: storage from its uri and sslmode, checked in a real server" {
	need_corpus
	PS_DATA_SOURCE_URI=postgresql://postgres:mypassword@pg-db:5432/postgres PS_STORAGE_SOURCE_URI=postgresql://postgres:postgres@pg-storage:5431/postgres \
		PS_PORT=8080 PS_JWKS_URL=http://demo-backend:6060/api/auth/keys \
		sc storage --powersync-config "$CORPUS/service-configs/self-host-demo/demos/nodejs-postgres-bucket-storage/config/powersync.yaml" \
		--resolve "pg-storage:5431=127.0.0.1:$PGPORT_T" --json
	expect_status 0
	[ "$(setting storage value)" = "postgresql://postgres:***@pg-storage:5431/postgres (sslmode disable)" ]
	[ "$(setting storage_type value)" = postgresql ]
	[ "$(check_field storage.connect status)" = ok ]
	[ "$(check_field storage.database message)" = "schema powersync has no sync_rules table (yet)" ]
}

@test "the supabase demo: supabase auth with its own jwks_uri and the authenticated audience" {
	need_corpus
	PS_DATA_SOURCE_URI=postgresql://postgres:postgres@supabase_db_powersync_demo:5432/postgres PS_MONGO_URI=mongodb://mongo:27017/powersync_demo \
		PS_PORT=8080 sc doctor --only auth --powersync-config "$CORPUS/service-configs/self-host-demo/demos/supabase/config/powersync.yaml" \
		--resolve "kong:8000=127.0.0.1:1" --timeout 2 --json
	[ "$(setting audience value)" = authenticated ]
	[ "$(json_get "d['settings']['jwks'][0]['value']")" = "http://kong:8000/auth/v1/.well-known/jwks.json" ]
	# The source is not a db.<ref>.supabase.co host: no JWKS is derived from it.
	[ "$(json_get "len(d['settings']['jwks'])")" = 1 ]
	[[ "$(check_field auth.jwks message)" == "cannot reach http://kong:8000/auth/v1/.well-known/jwks.json: "* ]]
}

@test "the service's local-dev template: a sync_rules.path that is not here is said, and --rules overrides it" {
	need_corpus
	cfg=$CORPUS/service-configs/powersync-service/service/local-dev/powersync-template.yaml
	sc doctor --only rules --powersync-config "$cfg" --json
	expect_status 0
	[ "$(check_field config.sync_rules.path status)" = warn ]
	[[ "$(check_field config.sync_rules.path message)" == "sync_rules.path sync-rules.yaml does not exist here ("*"/service/local-dev/sync-rules.yaml): a path inside the service's container? The rules are not checked from it" ]]
	[ "$(check_field rules status)" = skip ]
	sc doctor --only rules --powersync-config "$cfg" --rules "$CORPUS/service-configs/powersync-service/service/local-dev/sync-rules-template.yaml" --json
	[ "$(check_field rules.file status)" = ok ]
	[ "$(setting service value)" = "http://localhost:8080" ]
	[ "$(setting db value)" = "postgresql://postgres:***@localhost:5432/postgres (sslmode disable)" ]
}

@test "a real stack's config (flow-state): ?sslmode=require ignored, keys the service ignores, a container path, its inline HS key" {
	need_corpus
	cfg=$CORPUS/seed-stacks/flow-state/powersync-config.yaml
	sc doctor --powersync-config "$cfg" --only source --resolve "postgres:5432=127.0.0.1:$PGPORT_T" --json
	expect_status 1
	[ "$(check_field config.source.sslmode_in_uri status)" = warn ]
	[ "$(check_field config.source.sslmode_in_uri message)" = "replication.connections[0].uri sets sslmode=require, which the service ignores: it takes sslmode only from the sslmode key (verify-full, verify-ca or disable), here verify-full (the default)" ]
	[ "$(check_field config.unknown_key.replication.connections.0.slot message)" = "replication.connections[0].slot is not a key the service knows at this place: it ignores it" ]
	[[ "$(check_field config.unknown_key.replication.connections.0.slot hint)" == "did you mean slot_name_prefix? "* ]]
	has_check config.unknown_key.replication.connections.0.publication
	[ "$(check_field config.unknown_key.replication_storage message)" = "replication_storage is not a key the service knows at this place: it ignores it" ]
	[[ "$(check_field config.sync_rules.path message)" == "sync_rules.path /etc/powersync/sync-rules.yaml does not exist here"* ]]
	# verify-full, as the service would connect: against the self-signed
	# test certificate for another name it fails, and says why.
	[ "$(setting sslmode value)" = verify-full ]
	[ "$(check_field pg.connect status)" = fail ]
	hint=$(check_field pg.connect hint)
	[[ "$hint" == "the service config sets no sslmode, so the service (and syncctl) connect with verify-full;"* ]] ||
		{ echo "pg.connect: $(check_field pg.connect message); hint: $hint" >&2; false; }
	[ "$(json_get "d['settings']['signing_key']['origin']")" = "an HS key of client_auth.jwks in the service config" ]
	[ "$(json_get "d['settings']['signing_key']['kid']")" = local-dev-key ]
}

# ---- the source connection, field by field ----

cfg_pg() { # cfg_pg FILE EXTRA-YAML...: a Postgres source
	{ printf 'storage: {type: mongodb, uri: "mongodb://localhost/ps"}\nreplication:\n  connections:\n    - type: postgresql\n'
	  for l in "${@:2}"; do printf '      %s\n' "$l"; done; } >"$1"
}

@test "hostname, port, database, username and password override the uri's parts" {
	cfg_pg "$W/c.yaml" "uri: postgresql://nobody:wrong@elsewhere:1/nodb" "hostname: 127.0.0.1" "port: $PGPORT_T" \
		"database: postgres" "username: postgres" "password: secret-pw" "sslmode: disable"
	sc slots --powersync-config "$W/c.yaml" --json
	expect_status 0
	[ "$(json_get "[c for c in d['checks'] if c['id']=='pg.role'][0]['details']['role']")" = postgres ]
	[[ "$output$stderr" != *secret-pw* ]]
	sc doctor --only source --powersync-config "$W/c.yaml" --json
	[ "$(setting db value)" = "postgresql://postgres:***@127.0.0.1:$PGPORT_T/postgres (sslmode disable)" ]
}

@test "no sslmode means verify-full, as the service connects: a server without TLS refuses, and the check says why" {
	q "$URI" -c "ALTER SYSTEM SET ssl = off" -c "SELECT pg_reload_conf()" >/dev/null
	sleep 0.3
	cfg_pg "$W/c.yaml" "uri: postgresql://postgres:pw@127.0.0.1:$PGPORT_T/postgres"
	sc doctor --only source --powersync-config "$W/c.yaml" --json
	q "$URI" -c "ALTER SYSTEM SET ssl = on" -c "SELECT pg_reload_conf()" >/dev/null
	expect_status 1
	[ "$(setting sslmode value)" = verify-full ]
	[ "$(setting sslmode origin)" = "default of the service (the config sets none)" ]
	[[ "$(check_field pg.connect message)" == *"server does not support SSL, but SSL was required"* ]]
	[[ "$(check_field pg.connect hint)" == *"set sslmode: disable on replication.connections[0] for a server without TLS"* ]]
}

@test "--resolve on Postgres: libpq's hostaddr, so TLS verifies the configured name (and refuses another)" {
	cacert=$(sed 's/^/        /' "$T/ca.pem")
	printf 'storage: {type: mongodb, uri: "mongodb://localhost/ps"}\nreplication:\n  connections:\n    - type: postgresql\n      uri: postgresql://postgres:pw@pg-db:5432/postgres\n      sslmode: verify-full\n      cacert: |\n%s\n' "$cacert" >"$W/c.yaml"
	mkdir "$W/tmp"
	TMPDIR=$W/tmp sc slots --powersync-config "$W/c.yaml" --resolve "pg-db:5432=127.0.0.1:$PGPORT_T" -v --json
	expect_status 0
	[[ "$stderr" == *"--resolve: pg-db:5432 is reached at 127.0.0.1:$PGPORT_T"* ]]
	# The PEM text went to a private file, removed at exit.
	[ -z "$(ls -A "$W/tmp")" ]
	sed 's/pg-db:5432/db-two:5432/' "$W/c.yaml" >"$W/c2.yaml"
	sc slots --powersync-config "$W/c2.yaml" --resolve "db-two:5432=127.0.0.1:$PGPORT_T"
	expect_status 3
	[[ "$stderr" == *'server certificate for "pg-db" does not match host name "db-two"'* ]]
}

@test "the service's refusals of a source: each code and message, exit 2 for a command that needs it" {
	while IFS='|' read -r fields msg; do
		eval "cfg_pg \"\$W/c.yaml\" $fields"
		sc slots --powersync-config "$W/c.yaml"
		expect_status 2
		[ "$stderr" = "syncctl slots: error: the service config's source connection is refused: $msg" ] || {
			echo "for $fields: $stderr" >&2; false; }
	done <<-'CASES'
		'uri: mysql://u:p@h/d'|[PSYNC_S1109] Invalid URI - protocol must be postgresql, got "mysql"
		'uri: postgresql://u:p@h:80/d'|[PSYNC_S1110] Port 80 not supported
		'uri: postgresql://u:p@h/d' 'sslmode: verify-ca'|[PSYNC_S1104] Postgres connection: Explicit cacert is required for `sslmode: verify-ca`
		'database: d' 'username: u' 'password: p'|[PSYNC_S1106] Postgres connection: hostname required
		'uri: postgresql://h/d' 'password: p'|[PSYNC_S1107] Postgres connection: username required
		'uri: postgresql://u@h/d'|[PSYNC_S1108] Postgres connection: password required
		'uri: postgresql://u:p@h'|[PSYNC_S1105] Postgres connection: database required
		'uri: postgresql://u:p@h/d' 'sslmode: require'|sslmode must be verify-full, verify-ca or disable, not 'require' (the service refuses: /sslmode: const must be equal to constant)
	CASES
	cfg_pg "$W/c.yaml" 'uri: postgresql://u@h/d'
	sc doctor --only source --powersync-config "$W/c.yaml" --json
	expect_status 1
	[ "$(check_field config.source message)" = "[PSYNC_S1108] Postgres connection: password required (replication.connections[0]; the service refuses to start)" ]
	[ "$(check_field source status)" = fail ]
}

@test "the uri is read as uri-js reads it: escapes of reserved characters stay encoded, the query is ignored but connect_timeout" {
	cfg_pg "$W/c.yaml" "uri: postgresql://u:p%40ss%2Dw@127.0.0.1:$PGPORT_T/postgres?application_name=x" "sslmode: disable"
	sc doctor --only source --powersync-config "$W/c.yaml" -v --json
	[ "$(setting db value)" = "postgresql://u:***@127.0.0.1:$PGPORT_T/postgres (sslmode disable)" ]
	[[ "$stderr" != *p%40ss* && "$stderr" != *"p%40ss-w"* && "$output" != *"p%40ss"* ]]
}

@test "storage from discrete fields: MongoDB database, username, password; an unknown type; a missing uri" {
	printf 'storage:\n  type: mongodb\n  uri: mongodb://u:p@mongo:27017/ignored\n  database: appdata\n  username: ps\n  password: s3cret\n' >"$W/c.yaml"
	sc doctor --only config --powersync-config "$W/c.yaml" --json
	[ "$(setting storage value)" = "mongodb://ps:***@mongo:27017/appdata" ]
	[[ "$output$stderr" != *s3cret* ]]
	# (the stand-in has no authentication: the database field alone, through --resolve)
	start_server fake_mongo.py replset --database appdata
	printf 'storage:\n  type: mongodb\n  uri: mongodb://mongo:27017/ignored\n  database: appdata\n' >"$W/c.yaml"
	sc storage --powersync-config "$W/c.yaml" --resolve "mongo:27017=127.0.0.1:$PORT" -v --json
	stop_server
	expect_status 0
	[ "$(check_field storage.database message)" = "database appdata exists" ]
	[[ "$stderr" == *"--resolve: MongoDB mongo:27017 is reached at 127.0.0.1:$PORT, directly"* ]]
	printf 'storage:\n  type: redis\n  uri: redis://r/0\n' >"$W/c.yaml"
	sc doctor --only storage --powersync-config "$W/c.yaml" --json
	expect_status 1
	[ "$(check_field config.storage message)" = 'Invalid storage type: "redis"' ]
	[ "$(check_field storage status)" = fail ]
	printf 'storage:\n  type: mongodb\n  uri: mongodb://mongo:27017/\n' >"$W/c.yaml"
	sc storage --powersync-config "$W/c.yaml"
	expect_status 2
	[ "$stderr" = "syncctl storage: error: the service config's storage is refused: [PSYNC_S1105] MongoDB connection: database required" ]
	printf 'storage:\n  type: postgresql\n  hostname: 127.0.0.1\n  port: %s\n  database: postgres\n  username: postgres\n  password: x\n  sslmode: disable\n' "$PGPORT_T" >"$W/c.yaml"
	sc storage --powersync-config "$W/c.yaml" --json
	expect_status 0
	[ "$(check_field storage.connect status)" = ok ]
}

@test "port missing means 8080; both sync_config and sync_rules is the service's refusal" {
	printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\n' >"$W/c.yaml"
	sc doctor --only service --powersync-config "$W/c.yaml" --resolve "localhost:8080=127.0.0.1:1" --timeout 2 --json
	[ "$(setting service value)" = "http://localhost:8080" ]
	[ "$(setting service origin)" = "powersync config $W/c.yaml (port (not set: the service listens on 8080))" ]
	printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\nsync_config: {content: "bucket_definitions: {}"}\nsync_rules: {path: r.yaml}\n' >"$W/c.yaml"
	sc doctor --only rules --powersync-config "$W/c.yaml" --json
	expect_status 1
	[ "$(check_field config.sync_config message)" = 'Both `sync_config` and `sync_rules` are present in the service configuration. Please consolidate into one sync_config.' ]
	[ "$(check_field rules status)" = skip ]
}

@test "!env exactly as yaml-env.ts: ::string, ::number (JavaScript Number), ::boolean any case; its failures" {
	start_server fake_stack.py --api-token tok
	printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\nport: !env PS_P::number\napi:\n  tokens: [!env PS_T]\n' >"$W/c.yaml"
	PS_P=" 0x$(printf '%x' "$PORT") " PS_T=tok sc service --powersync-config "$W/c.yaml" --resolve "localhost:$PORT=127.0.0.1" --json
	stop_server
	[ "$(setting service value)" = "http://localhost:$PORT" ]
	[ "$(check_field service.diagnostics status)" = ok ]
	printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\nclient_auth:\n  block_local_jwks: !env PS_B::boolean\n  jwks_uri: http://127.0.0.1/keys\n' >"$W/c.yaml"
	PS_B=True sc doctor --only config --powersync-config "$W/c.yaml" --json
	[ "$(check_field config.client_auth.jwks_uri.0 message)" = "[PSYNC_S2203] IPs in this range are not supported: 127.0.0.1 (client_auth.jwks_uri http://127.0.0.1/keys: the service refuses to start)" ]
	while IFS='|' read -r yaml env msg; do
		printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\nport: %s\n' "$yaml" >"$W/c.yaml"
		env $env "$SYNCCTL" doctor --only config --powersync-config "$W/c.yaml" --json >"$W/out" 2>"$W/err" || true
		output=$(cat "$W/out")
		[ "$(json_get "[c['message'] for c in d['checks'] if c['id'].startswith('config.env')][0]")" = "$W/c.yaml:2:7: $msg (used at port)" ] || {
			echo "for $yaml $env: $output" >&2; false; }
	done <<-'CASES'
		!env PS_X::number|PS_X=nan|Environment variable "PS_X::number" is not a valid number. Got: "nan".
		!env PS_X::boolean|PS_X=yes|Environment variable "PS_X::boolean" is not a boolean. Expected "true" or "false", got "yes".
		!env PS_X::float|PS_X=1|Environment variable "PS_X::float" has an invalid type suffix "float".
		!env PS_UNSET_VAR|X=1|Attempted to substitute environment variable "PS_UNSET_VAR" which is undefined. Set this variable on the environment.
		!env HOME|X=1|Attempting to substitute environment variable HOME is not allowed. Variables must start with "PS_"
	CASES
	# An empty variable is set: Number("") is 0 (and port 0 is then the service's problem).
	printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\nport: !env PS_X::number\n' >"$W/c.yaml"
	PS_X= sc doctor --only config --powersync-config "$W/c.yaml" --json
	[ "$(setting service value)" = "http://localhost:0" ]
}

@test "an unset PS_ variable fails the config check; the groups that do not depend on it still run" {
	printf 'storage:\n  type: mongodb\n  uri: !env PS_MONGO_URI\nreplication:\n  connections:\n    - type: postgresql\n      uri: %s\n      password: x\n      sslmode: disable\nclient_auth:\n  jwks_uri: http://127.0.0.1:1/keys\n  audience: [powersync]\n' "$URI" >"$W/c.yaml"
	sc doctor --only source,auth --powersync-config "$W/c.yaml" --timeout 2 --json
	expect_status 1
	[ "$(check_field config.env.PS_MONGO_URI status)" = fail ]
	[ "$(check_field config.env.PS_MONGO_URI message)" = "$W/c.yaml:3:8: Attempted to substitute environment variable \"PS_MONGO_URI\" which is undefined. Set this variable on the environment. (used at storage.uri)" ]
	[ "$(check_field config.env.PS_MONGO_URI hint)" = "set PS_MONGO_URI in the environment or in --env-file: the service refuses to start without it" ]
	[ "$(check_field pg.connect status)" = ok ]
	has_check auth.audience
	[ "$(json_get "sorted(set(c['group'] for c in d['checks']))")" = '["auth", "config", "source"]' ]
	sc doctor --only storage --powersync-config "$W/c.yaml" --json
	[ "$(check_field storage status)" = fail ]
	[[ "$(check_field storage message)" == *'Attempted to substitute environment variable "PS_MONGO_URI" which is undefined'* ]]
}

@test "client_auth: a jwks_uri list (each checked), inline jwks, supabase with a db.<ref>.supabase.co source and its secret" {
	$PY "$ROOT/tests/lib/httpd.py" "$T/www" >"$W/hport" &
	HPID=$!
	for _ in $(seq 400); do [ -s "$W/hport" ] && break; sleep 0.05; done
	HPORT=$(cat "$W/hport")
	cat >"$W/c.yaml" <<-YAML
		storage: {type: mongodb, uri: "mongodb://m/ps"}
		replication:
		  connections:
		    - type: postgresql
		      uri: postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co:5432/postgres
		client_auth:
		  jwks_uri: [http://backend-a:$HPORT/api/auth/keys, http://backend-b:$HPORT/api/auth/keys]
		  audience: [powersync]
		  supabase: true
		  supabase_jwt_secret: a-supabase-secret
		  jwks:
		    keys:
		      - {kty: oct, kid: inline-hs, alg: HS256, k: c2VjcmV0}
	YAML
	sc doctor --only auth --powersync-config "$W/c.yaml" --resolve "backend-a:$HPORT=127.0.0.1" \
		--resolve "backend-b:$HPORT=127.0.0.1" --resolve "abcdefghijklmnop.supabase.co:443=127.0.0.1:1" --timeout 2 --json
	[ "$(check_field auth.jwks message)" = "1 key(s): demo" ]
	[ "$(check_field auth.jwks.backend-b message)" = "1 key(s): demo" ]
	[ "$(check_field auth.jwks.inline message)" = "1 key(s) from client_auth.jwks: inline-hs (oct)" ]
	[[ "$(check_field auth.jwks.supabase message)" == "cannot reach https://abcdefghijklmnop.supabase.co/auth/v1/.well-known/jwks.json"* ]]
	[ "$(check_field auth.jwks.supabase_secret message)" = '1 key(s) from client_auth.supabase_jwt_secret: no kid (oct); they take audience "authenticated" only' ]
	[[ "$output" != *a-supabase-secret* ]]
	# The inline HS key signs the round trip, and verifies among all keys.
	[ "$(check_field auth.roundtrip message)" = "a token minted with the signing key verifies against the JWKS (kid inline-hs)" ]
}

@test "block_local_jwks and jwks_reject_ip_ranges: an IP literal is refused as the service refuses it; a compose name warns" {
	printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\nclient_auth:\n  jwks_reject_ip_ranges: ["203.0.113.0/24"]\n  jwks_uri: [http://203.0.113.7/keys, http://demo-backend:6060/api/auth/keys]\n  audience: [a]\n' >"$W/c.yaml"
	sc doctor --only auth --powersync-config "$W/c.yaml" --resolve "demo-backend:6060=127.0.0.1:1" --timeout 2 --json
	[ "$(check_field auth.jwks status)" = fail ]
	[ "$(check_field auth.jwks message)" = "the service refuses http://203.0.113.7/keys: [PSYNC_S2203] IPs in this range are not supported: 203.0.113.7" ]
	[ "$(check_field config.client_auth.jwks_uri.0 status)" = fail ]
	$PY "$ROOT/tests/lib/httpd.py" "$T/www" >"$W/hport" &
	HPID=$!
	for _ in $(seq 400); do [ -s "$W/hport" ] && break; sleep 0.05; done
	HPORT=$(cat "$W/hport")
	printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\nclient_auth:\n  block_local_jwks: true\n  jwks_uri: http://demo-backend:6060/api/auth/keys\n  audience: [a]\n' >"$W/c.yaml"
	sc doctor --only auth --powersync-config "$W/c.yaml" --resolve "demo-backend:6060=127.0.0.1:$HPORT" --json
	[ "$(check_field auth.jwks status)" = warn ]
	[[ "$(check_field auth.jwks message)" == "1 key(s): demo; but the service blocks local addresses for its JWKS, and a compose service name such as this one resolves to a private address"* ]]
	printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\nclient_auth:\n  block_local_jwks: true\n  jwks_uri: "http://[::1]:6060/keys"\n' >"$W/c.yaml"
	sc doctor --only config --powersync-config "$W/c.yaml" --json
	[ "$(check_field config.client_auth.jwks_uri.0 message)" = "[PSYNC_S2202] IPv6 support not enabled for JWKS URI (client_auth.jwks_uri http://[::1]:6060/keys: the service refuses to start)" ]
}

@test "--resolve on HTTP: the service URL and the JWKS of a compose network, Host kept" {
	start_server fake_stack.py --jwks "$T/www/api/auth/keys"
	sc doctor --only service,auth --service http://powersync:8080 --jwks http://demo-backend:6060/jwks.json --aud a \
		--resolve "powersync:8080=127.0.0.1:$PORT" --resolve "demo-backend:6060=127.0.0.1:$PORT" -v --json
	stop_server
	[ "$(check_field service.probe.startup status)" = ok ]
	[ "$(check_field auth.jwks message)" = "1 key(s): demo" ]
	sc doctor --only service --service http://powersync:8080 --resolve "bad" --json
	expect_status 2
	[[ "$stderr" == *"--resolve takes HOST[:PORT]=ADDR[:PORT], not 'bad'"* ]]
}

@test "--env-file interpolates as docker compose does" {
	cat >"$W/.env" <<-'ENV'
		A=one
		B=${A}-two
		C=$A/$$literal
		D=${UNSET_VAR:-fallback}
		E=${EMPTY-dash-only}
		EMPTY=
		F=${EMPTY:-colon-dash}
		G=${EMPTY-kept-empty}
		H='${A} not in single quotes'
		I="${A} in double quotes"
		J=${A:+alternate}
		L=${UNSET_VAR:-${A}-nested}
		PS_DATA_SOURCE_URI=postgresql://postgres:pw@127.0.0.1:${PGPORT_T}/postgres
	ENV
	printf 'storage: {type: mongodb, uri: "mongodb://m/ps"}\nreplication:\n  connections:\n    - {type: postgresql, uri: !env PS_DATA_SOURCE_URI, sslmode: disable}\n' >"$W/c.yaml"
	# ${PGPORT_T} comes from the process environment (tests/unit/test_config.c
	# checks every form's value).
	sc slots --env-file "$W/.env" --powersync-config "$W/c.yaml" --json
	expect_status 0
	printf 'X=${NEEDED:?set NEEDED first}\n' >"$W/bad.env"
	sc slots --env-file "$W/bad.env"
	expect_status 2
	[ "$stderr" = "syncctl slots: error: $W/bad.env:1: required variable NEEDED is missing a value: set NEEDED first" ]
	printf 'X=${broken\n' >"$W/bad.env"
	sc slots --env-file "$W/bad.env"
	expect_status 2
	[[ "$stderr" == *"$W/bad.env:1: invalid interpolation format"* ]]
}

@test "discovery: ./powersync/service.yaml of the powersync CLI's layout, its sync_config.path beside it; --powersync-config none" {
	mkdir -p "$W/proj/powersync"
	printf '_type: self-hosted\nstorage: {type: mongodb, uri: "mongodb://m/ps"}\nreplication:\n  connections:\n    - {type: postgresql, uri: "%s", password: x, sslmode: disable}\nsync_config:\n  path: sync-config.yaml\n' "$URI" >"$W/proj/powersync/service.yaml"
	printf 'bucket_definitions:\n  g:\n    data: [SELECT id FROM t]\n' >"$W/proj/powersync/sync-config.yaml"
	cd "$W/proj"
	sc doctor --only config,rules -v --json
	[ "$(setting powersync_config value)" = "powersync/service.yaml" ]
	[ "$(setting powersync_config origin)" = "discovered: ./powersync/service.yaml" ]
	[ "$(setting rules value)" = "powersync/sync-config.yaml" ]
	[[ "$stderr" == *"using the service config ./powersync/service.yaml (--powersync-config none turns this off)"* ]]
	! has_check config.unknown_key._type
	sc slots --json
	expect_status 0
	sc slots --powersync-config none
	expect_status 3
}

@test "POWERSYNC_PRIVATE_KEY as PowerSync's key generator writes it (base64 of a JWK); an unusable key fails only the checks that need it" {
	jwk=$($PY - "$T/demo.pem" <<-'PY'
		import base64, json, sys
		from jwcrypto import jwk
		k = jwk.JWK.from_pem(open(sys.argv[1], 'rb').read())
		d = json.loads(k.export_private())
		d.update(alg='RS256', kid='demo')
		print(base64.urlsafe_b64encode(json.dumps(d).encode()).decode())
	PY
	)
	POWERSYNC_PRIVATE_KEY=$jwk sc doctor --only auth --jwks "$T/www/api/auth/keys" --aud a --json
	expect_status 0
	[ "$(check_field auth.roundtrip message)" = "a token minted with the signing key verifies against the JWKS (kid demo)" ]
	POWERSYNC_PRIVATE_KEY=$jwk sc token mint --sub u1 --aud a
	expect_status 0
	POWERSYNC_PRIVATE_KEY=not-a-key sc doctor --only source --db "$URI" --json
	expect_status 0
	POWERSYNC_PRIVATE_KEY=not-a-key sc doctor --only auth --jwks "$T/www/api/auth/keys" --aud a --json
	expect_status 1
	[ "$(check_field auth.roundtrip message)" = "the signing key cannot be used: POWERSYNC_PRIVATE_KEY is neither a PEM key nor the base64 of a JSON Web Key" ]
}

@test "the known-key list equals the config schema the service publishes (npm @powersync/service-schema), plus the newer keys it names" {
	PEERS=$("$ROOT/tests/lib/npm-peers" @powersync/service-schema@1.25.0)
	run node "$PEERS/schema_keys.mjs"
	[ "$status" -eq 0 ]
	printf '%s\n' "$output" | sort >"$W/schema"
	"$SYNCCTL" completion config-keys | sort >"$W/ours"
	extra=$(comm -13 "$W/schema" "$W/ours")
	missing=$(comm -23 "$W/schema" "$W/ours")
	[ -z "$missing" ] || { echo "the schema knows, syncctl does not: $missing" >&2; false; }
	[ "$extra" = "$(printf '%s\n' _type replication.connections[]{type=postgresql}.snapshot_socket_timeout \
		storage{generic}.default_storage_version storage{type=mongodb}.default_storage_version \
		storage{type=mongodb}.max_pool_size storage{type=postgresql}.default_storage_version | sort)" ]
}
