#include "storage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <mongoc/mongoc.h>

#include "buf.h"
#include "pg.h"
#include "util.h"

#define KEEPALIVE_WARN_S (5 * 60)
#define KEEPALIVE_FAIL_S (15 * 60)

/* libmongoc's own log lines (such as its shared-memory counters warning at
 * start-up) would land on every command's stderr: they go to -v instead. */
static void mongo_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	(void)data;
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		sc_log_verbose("%s: %s", domain, message);
}

void sc_storage_global_init(void)
{
	mongoc_log_set_handler(mongo_log, NULL);
	mongoc_init();
}
void sc_storage_global_cleanup(void) { mongoc_cleanup(); }

/* The state of the service's current sync rules, from either storage. */
typedef struct sync_state {
	bool found;
	char state[32];
	bool snapshot_done;
	char fatal[512];
	bool have_keepalive;
	long long keepalive;     /* unix seconds */
	char slot[128];
} sync_state;

static void check_sync_state(const sc_storage_opts *o, const sync_state *st, sc_report *r)
{
	sc_report_mark(r);
	if (!st->found) {
		sc_check *c = sc_report_add(r, "storage.sync_rules", SC_CHECK_WARN,
					    "no sync rules are stored: the service has not deployed any yet");
		sc_check_set_hint(c, "start the sync service with sync rules configured (sync_config in its config)");
		return;
	}
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "state", st->state);
	cJSON_AddBoolToObject(d, "snapshot_done", st->snapshot_done);
	cJSON_AddStringToObject(d, "slot_name", st->slot);
	sc_check *c;
	if (strcmp(st->state, "ACTIVE") == 0) {
		c = sc_report_add(r, "storage.sync_rules", SC_CHECK_OK, "sync rules are ACTIVE (slot %s)", st->slot);
	} else if (strcmp(st->state, "PROCESSING") == 0 && !st->snapshot_done) {
		c = sc_report_add(r, "storage.sync_rules", SC_CHECK_WARN, "initial replication in progress (state PROCESSING)");
		sc_check_set_hint(c, "wait for the snapshot to finish; syncctl service shows the replication lag");
	} else if (strcmp(st->state, "PROCESSING") == 0) {
		c = sc_report_add(r, "storage.sync_rules", SC_CHECK_OK, "sync rules are PROCESSING, snapshot done");
	} else if (strcmp(st->state, "ERRORED") == 0) {
		c = sc_report_add(r, "storage.sync_rules", SC_CHECK_FAIL, "sync rules ERRORED: %s",
				  st->fatal[0] ? st->fatal : "(no last_fatal_error recorded)");
		sc_check_set_hint(c, "fix the cause above, then redeploy the sync rules (or restart the service)");
	} else {
		c = sc_report_add(r, "storage.sync_rules", SC_CHECK_WARN, "current sync rules are in state %s", st->state);
	}
	sc_check_set_details(c, d);

	sc_report_mark(r);
	if (st->have_keepalive) {
		long long age = o->now - st->keepalive;
		char *a = sc_xasprintf("%lld s", age);
		if (age > KEEPALIVE_FAIL_S) {
			c = sc_report_add(r, "storage.keepalive", SC_CHECK_FAIL,
					  "last replication keepalive was %s ago (over 15 minutes): replication has stopped", a);
			sc_check_set_hint(c, "check the sync service's logs and its connection to the source database (syncctl slots)");
		} else if (age > KEEPALIVE_WARN_S) {
			c = sc_report_add(r, "storage.keepalive", SC_CHECK_WARN,
					  "last replication keepalive was %s ago (over 5 minutes)", a);
			sc_check_set_hint(c, "check that the sync service is running and replicating");
		} else {
			sc_report_add(r, "storage.keepalive", SC_CHECK_OK, "last replication keepalive %s ago", a);
		}
		free(a);
	}

	sc_report_mark(r);
	if (!o->source_db || !st->slot[0]) {
		sc_report_add(r, "storage.slot", SC_CHECK_SKIP, "%s",
			      st->slot[0] ? "no source database configured to look for the slot (set --db or SYNCCTL_DB)"
					  : "the sync rules name no slot");
		return;
	}
	sc_error err;
	sc_pg *pg = sc_pg_connect(o->source_db, "the source database", o->timeout_s, &err);
	if (!pg) {
		c = sc_report_add(r, "storage.slot", SC_CHECK_FAIL, "cannot look for slot %s: %s", st->slot, err.message);
		return;
	}
	const char *p[] = { st->slot };
	PGresult *res = sc_pg_exec(pg, pg->server_version >= 130000
					   ? "SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1"
					   : "SELECT NULL::text FROM pg_replication_slots WHERE slot_name = $1",
				   1, p, &err);
	if (!res) {
		sc_report_add(r, "storage.slot", SC_CHECK_FAIL, "cannot look for slot %s: %s", st->slot, err.message);
	} else if (PQntuples(res) == 0) {
		c = sc_report_add(r, "storage.slot", SC_CHECK_FAIL,
				  "the storage points at slot %s, which does not exist on the source database", st->slot);
		sc_check_set_hint(c, "the service recreates it when its sync rules are redeployed; check that storage and source belong together");
	} else if (sc_pg_get(res, 0, 0) && strcmp(sc_pg_get(res, 0, 0), "lost") == 0) {
		c = sc_report_add(r, "storage.slot", SC_CHECK_FAIL, "slot %s was invalidated (wal_status=lost)", st->slot);
		sc_check_set_hint(c, "redeploy the sync rules so the service replicates from scratch; raise max_slot_wal_keep_size");
	} else {
		sc_report_add(r, "storage.slot", SC_CHECK_OK, "slot %s exists on the source database", st->slot);
	}
	PQclear(res);
	sc_pg_close(pg);
}

/* ---- MongoDB ---- */

/* A client for the first host of the URI alone, with its credentials and
 * TLS setting: a replica set that is not initiated yet (or a replicaSet
 * option naming one that does not exist yet) must still answer. */
static mongoc_client_t *mongo_client(const char *uri_s, int timeout_s, char *why, size_t whylen)
{
	bson_error_t berr;
	mongoc_uri_t *given = mongoc_uri_new_with_error(uri_s, &berr);
	if (!given) {
		snprintf(why, whylen, "invalid MongoDB URI: %.400s", berr.message);
		return NULL;
	}
	const mongoc_host_list_t *h = mongoc_uri_get_hosts(given);
	mongoc_uri_t *uri = h ? mongoc_uri_new_for_host_port(h->host, h->port) : NULL;
	if (!uri) {
		mongoc_uri_destroy(given);
		snprintf(why, whylen, "the MongoDB URI names no host");
		return NULL;
	}
	if (mongoc_uri_get_username(given))
		mongoc_uri_set_username(uri, mongoc_uri_get_username(given));
	if (mongoc_uri_get_password(given))
		mongoc_uri_set_password(uri, mongoc_uri_get_password(given));
	if (mongoc_uri_get_auth_source(given))
		mongoc_uri_set_auth_source(uri, mongoc_uri_get_auth_source(given));
	if (mongoc_uri_get_tls(given))
		mongoc_uri_set_option_as_bool(uri, MONGOC_URI_TLS, true);
	mongoc_uri_destroy(given);
	int ms = timeout_s * 1000;
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SERVERSELECTIONTIMEOUTMS, ms);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_CONNECTTIMEOUTMS, ms);
	mongoc_uri_set_option_as_int32(uri, MONGOC_URI_SOCKETTIMEOUTMS, ms);
	/* One server, as named: a replica set that is not initiated yet must
	 * still answer. */
	mongoc_uri_set_option_as_bool(uri, MONGOC_URI_DIRECTCONNECTION, true);
	mongoc_client_t *c = mongoc_client_new_from_uri(uri);
	mongoc_uri_destroy(uri);
	if (!c)
		snprintf(why, whylen, "cannot use that MongoDB URI");
	else
		mongoc_client_set_appname(c, "syncctl");
	return c;
}

static const char *bson_str(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_UTF8(&it))
		return bson_iter_utf8(&it, NULL);
	return NULL;
}

static bool bson_true(const bson_t *doc, const char *key)
{
	bson_iter_t it;
	return bson_iter_init_find(&it, doc, key) && bson_iter_as_bool(&it);
}

static void mongo_sync_state(mongoc_client_t *client, const char *db, sync_state *st)
{
	memset(st, 0, sizeof *st);
	mongoc_collection_t *coll = mongoc_client_get_collection(client, db, "sync_rules");
	/* The current rules: ACTIVE first, then ERRORED and PROCESSING. */
	bson_t *filter = BCON_NEW("state", "{", "$in", "[", BCON_UTF8("ACTIVE"), BCON_UTF8("PROCESSING"),
				  BCON_UTF8("ERRORED"), "]", "}");
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
	const bson_t *doc;
	int best = 99;
	while (mongoc_cursor_next(cur, &doc)) {
		const char *state = bson_str(doc, "state");
		if (!state)
			continue;
		int rank = strcmp(state, "ACTIVE") == 0 ? 0 : strcmp(state, "ERRORED") == 0 ? 1 : 2;
		if (rank >= best)
			continue;
		best = rank;
		st->found = true;
		snprintf(st->state, sizeof st->state, "%s", state);
		st->snapshot_done = bson_true(doc, "snapshot_done");
		const char *fatal = bson_str(doc, "last_fatal_error");
		snprintf(st->fatal, sizeof st->fatal, "%s", fatal ? fatal : "");
		const char *slot = bson_str(doc, "slot_name");
		snprintf(st->slot, sizeof st->slot, "%s", slot ? slot : "");
		bson_iter_t it;
		st->have_keepalive = false;
		if (bson_iter_init_find(&it, doc, "last_keepalive_ts") && BSON_ITER_HOLDS_DATE_TIME(&it)) {
			st->have_keepalive = true;
			st->keepalive = bson_iter_date_time(&it) / 1000;
		}
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
}

static void check_mongo(const sc_storage_opts *o, sc_report *r)
{
	sc_report_mark(r);
	char why[512] = "";
	mongoc_client_t *client = mongo_client(o->uri, o->timeout_s, why, sizeof why);
	if (!client) {
		sc_check *c = sc_report_add(r, "storage.connect", SC_CHECK_FAIL, "%s", why);
		sc_check_set_hint(c, "mongodb://HOST:27017/powersync (see the storage section of the service config)");
		return;
	}
	bson_t *cmd = BCON_NEW("hello", BCON_INT32(1));
	bson_t reply;
	bson_error_t berr;
	bool ok = mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &berr);
	bson_destroy(cmd);
	char *shown = sc_redact_secrets(o->uri);
	if (!ok) {
		char *msg = sc_scrub(berr.message, NULL);
		sc_check *c = sc_report_add(r, "storage.connect", SC_CHECK_FAIL, "cannot reach MongoDB at %s within %d s: %s",
					    shown, o->timeout_s, msg);
		sc_check_set_hint(c, "check that mongod runs and that the URI's host and port are right");
		free(msg);
		bson_destroy(&reply);
		free(shown);
		mongoc_client_destroy(client);
		return;
	}
	sc_report_add(r, "storage.connect", SC_CHECK_OK, "connected to MongoDB at %s", shown);
	free(shown);

	sc_report_mark(r);
	const char *set = bson_str(&reply, "setName");
	const char *msg = bson_str(&reply, "msg");
	sc_check *c;
	if (set) {
		c = sc_report_add(r, "storage.replica_set", SC_CHECK_OK, "replica set %s", set);
	} else if (msg && strcmp(msg, "isdbgrid") == 0) {
		c = sc_report_add(r, "storage.replica_set", SC_CHECK_FAIL,
				  "this is a sharded cluster (mongos): the sync service needs a replica set");
		sc_check_set_hint(c, "point the storage URI at a replica set");
	} else if (bson_true(&reply, "isreplicaset")) {
		c = sc_report_add(r, "storage.replica_set", SC_CHECK_FAIL,
				  "mongod runs with a replica set name but the set was never initiated");
		sc_check_set_hint(c, "syncctl storage init (or: mongosh --eval 'rs.initiate()')");
	} else {
		c = sc_report_add(r, "storage.replica_set", SC_CHECK_FAIL,
				  "MongoDB is a standalone server: the sync service needs a replica set (change streams)");
		sc_check_set_hint(c, "start mongod with --replSet rs0, then run: mongosh --eval 'rs.initiate()' (or syncctl storage init)");
	}
	bson_destroy(&reply);

	sc_report_mark(r);
	cmd = BCON_NEW("buildInfo", BCON_INT32(1));
	if (mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &berr)) {
		const char *v = bson_str(&reply, "version");
		int major = v ? atoi(v) : 0;
		if (!v)
			sc_report_add(r, "storage.version", SC_CHECK_WARN, "MongoDB did not say its version");
		else if (major < 6) {
			c = sc_report_add(r, "storage.version", SC_CHECK_WARN, "MongoDB %s is older than 6.0, which the service expects", v);
			sc_check_set_hint(c, "upgrade MongoDB to 6.0 or later");
		} else {
			sc_report_add(r, "storage.version", SC_CHECK_OK, "MongoDB %s", v);
		}
	}
	bson_destroy(&reply);
	bson_destroy(cmd);

	sc_report_mark(r);
	mongoc_uri_t *uri = mongoc_uri_new(o->uri);
	const char *db = uri ? mongoc_uri_get_database(uri) : NULL;
	char *dbname = db ? sc_xstrdup(db) : NULL;
	mongoc_uri_destroy(uri);
	if (!dbname) {
		c = sc_report_add(r, "storage.database", SC_CHECK_FAIL, "the storage URI names no database");
		sc_check_set_hint(c, "add it to the URI: mongodb://HOST:27017/powersync");
		mongoc_client_destroy(client);
		return;
	}
	char **names = mongoc_client_get_database_names_with_opts(client, NULL, &berr);
	bool exists = false;
	for (size_t i = 0; names && names[i]; i++)
		exists = exists || strcmp(names[i], dbname) == 0;
	bson_strfreev(names);
	if (exists) {
		sc_report_add(r, "storage.database", SC_CHECK_OK, "database %s exists", dbname);
	} else {
		c = sc_report_add(r, "storage.database", SC_CHECK_WARN, "database %s does not exist (yet)", dbname);
		sc_check_set_hint(c, "the service creates it on its first start; if it has run, check the URI's database name");
	}
	sync_state st;
	mongo_sync_state(client, dbname, &st);
	free(dbname);
	mongoc_client_destroy(client);
	check_sync_state(o, &st, r);
}

/* ---- Postgres storage ---- */

static void check_pg_storage(const sc_storage_opts *o, sc_report *r)
{
	sc_report_mark(r);
	sc_error err;
	sc_pg *pg = sc_pg_connect(o->uri, "the bucket storage", o->timeout_s, &err);
	if (!pg) {
		sc_check *c = sc_report_add(r, "storage.connect", SC_CHECK_FAIL, "%s", err.message);
		sc_check_set_hint(c, "check the storage URI (storage.uri in the service config)");
		return;
	}
	sc_report_add(r, "storage.connect", SC_CHECK_OK, "connected to Postgres bucket storage at %s", pg->display);
	sc_report_mark(r);
	PGresult *res = sc_pg_exec(pg, "SELECT to_regclass('powersync.sync_rules') IS NOT NULL", 0, NULL, &err);
	if (!res || !sc_pg_get_bool(res, 0, 0)) {
		sc_check *c = sc_report_add(r, "storage.database", SC_CHECK_WARN, "schema powersync has no sync_rules table (yet)");
		sc_check_set_hint(c, "the service creates it on its first start; if it has run, check the storage URI");
		PQclear(res);
		sc_pg_close(pg);
		return;
	}
	PQclear(res);
	sc_report_add(r, "storage.database", SC_CHECK_OK, "schema powersync is in place");
	res = sc_pg_exec(pg,
		"SELECT state, coalesce(snapshot_done, false), coalesce(last_fatal_error, ''),"
		" extract(epoch FROM last_keepalive_ts)::bigint, coalesce(slot_name, '')"
		" FROM powersync.sync_rules WHERE state IN ('ACTIVE', 'PROCESSING', 'ERRORED')"
		" ORDER BY CASE state WHEN 'ACTIVE' THEN 0 WHEN 'ERRORED' THEN 1 ELSE 2 END, id DESC LIMIT 1", 0, NULL, &err);
	sync_state st;
	memset(&st, 0, sizeof st);
	if (!res) {
		sc_report_add(r, "storage.sync_rules", SC_CHECK_FAIL, "cannot read powersync.sync_rules: %s", err.message);
		sc_pg_close(pg);
		return;
	}
	if (PQntuples(res) == 1) {
		st.found = true;
		snprintf(st.state, sizeof st.state, "%s", sc_pg_get(res, 0, 0));
		st.snapshot_done = sc_pg_get_bool(res, 0, 1);
		snprintf(st.fatal, sizeof st.fatal, "%s", sc_pg_get(res, 0, 2));
		st.have_keepalive = sc_pg_get(res, 0, 3) != NULL;
		st.keepalive = sc_pg_get_ll(res, 0, 3, 0);
		snprintf(st.slot, sizeof st.slot, "%s", sc_pg_get(res, 0, 4));
	}
	PQclear(res);
	sc_pg_close(pg);
	check_sync_state(o, &st, r);
}

void sc_storage_check(const sc_storage_opts *o, sc_report *r)
{
	bool mongo = o->type ? strcmp(o->type, "mongodb") == 0 : strncmp(o->uri, "mongodb", 7) == 0;
	if (mongo)
		check_mongo(o, r);
	else
		check_pg_storage(o, r);
}

int sc_storage_init_replica_set(const char *uri_s, int timeout_s, char *message, size_t msglen, int *exit_code)
{
	char why[512] = "";
	*exit_code = 0;
	mongoc_client_t *client = mongo_client(uri_s, timeout_s, why, sizeof why);
	if (!client) {
		snprintf(message, msglen, "%s", why);
		*exit_code = 2;
		return -1;
	}
	bson_t *cmd = BCON_NEW("hello", BCON_INT32(1));
	bson_t reply;
	bson_error_t berr;
	int rc = -1;
	if (!mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &berr)) {
		snprintf(message, msglen, "cannot reach MongoDB within %d s: %.400s", timeout_s, berr.message);
		*exit_code = 3;
		goto out;
	}
	if (bson_str(&reply, "setName")) {
		snprintf(message, msglen, "replica set %s is already initiated: nothing to do", bson_str(&reply, "setName"));
		rc = 1;
		goto out;
	}
	if (!bson_true(&reply, "isreplicaset")) {
		snprintf(message, msglen, "mongod runs without a replica set name: restart it with --replSet rs0 first");
		*exit_code = 1;
		rc = -1;
		goto out;
	}
	bson_destroy(&reply);
	/* The one member is the server as the URI names it. */
	mongoc_uri_t *uri = mongoc_uri_new(uri_s);
	const mongoc_host_list_t *h = uri ? mongoc_uri_get_hosts(uri) : NULL;
	char host[300];
	snprintf(host, sizeof host, "%s", h ? h->host_and_port : "localhost:27017");
	const char *set = uri ? mongoc_uri_get_replica_set(uri) : NULL;
	char setname[128];
	snprintf(setname, sizeof setname, "%s", set ? set : "rs0");
	mongoc_uri_destroy(uri);
	bson_destroy(cmd);
	cmd = BCON_NEW("replSetInitiate", "{", "_id", BCON_UTF8(setname), "members", "[", "{", "_id", BCON_INT32(0),
		       "host", BCON_UTF8(host), "}", "]", "}");
	if (!mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &berr)) {
		snprintf(message, msglen, "replSetInitiate failed: %.400s", berr.message);
		*exit_code = 1;
		goto out;
	}
	snprintf(message, msglen, "initiated replica set %s with one member, %s", setname, host);
	rc = 0;
out:
	bson_destroy(&reply);
	bson_destroy(cmd);
	mongoc_client_destroy(client);
	return rc;
}
