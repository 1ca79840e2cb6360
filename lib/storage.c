#include "storage.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "mongo.h"
#include "netaddr.h"
#include "pg.h"
#include "util.h"

/* What the service judges replication lag by (packages/service-core/src/api/
 * diagnostics.ts): seconds since max(last_checkpoint_ts, last_keepalive_ts) of
 * the active rules, a warning over 5 minutes, fatal over 15 (strictly over). */
#define KEEPALIVE_WARN_S (5 * 60)
#define KEEPALIVE_FAIL_S (15 * 60)

/* libmongoc is loaded when a MongoDB check first needs it (lib/mongo.h). */
void sc_storage_global_init(void) { sc_mongo_prepare(); }
void sc_storage_global_cleanup(void) { sc_mongo_unload(); }

/* One replication stream as the service keeps it (a row of sync_rules, or
 * for storage version 3 a stream with the sync configs in question). */
typedef struct stream {
	bool found;
	long long id;
	char state[16];          /* the stream's state (top level) */
	bool snapshot_done;      /* of the configs in question */
	int storage_version;
	char fatal[768];         /* last_fatal_error, or "" */
	bool have_fatal_ts;
	double fatal_ts_ms;
	bool have_keepalive, have_checkpoint;
	double keepalive_ms, checkpoint_ms;
	char slot[128];
	bool have_progress;      /* source tables read */
	long tables, tables_done;
	long long replicated, estimated;
	bool estimate_unknown;
} stream;

/* The service's current rules (the highest id in ACTIVE or ERRORED) and the
 * ones being deployed (the highest in PROCESSING): getActiveSyncConfig and
 * getDeployingSyncConfig in both storage modules. */
typedef struct sync_state {
	stream active, next;
} sync_state;

static cJSON *stream_json(const stream *st)
{
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "id", (double)st->id);
	cJSON_AddStringToObject(d, "state", st->state);
	cJSON_AddBoolToObject(d, "snapshot_done", st->snapshot_done);
	cJSON_AddStringToObject(d, "slot_name", st->slot);
	if (st->storage_version)
		cJSON_AddNumberToObject(d, "storage_version", st->storage_version);
	if (st->fatal[0])
		cJSON_AddStringToObject(d, "last_fatal_error", st->fatal);
	else
		cJSON_AddNullToObject(d, "last_fatal_error");
	if (st->have_progress) {
		cJSON *p = cJSON_AddObjectToObject(d, "snapshot");
		cJSON_AddNumberToObject(p, "tables", (double)st->tables);
		cJSON_AddNumberToObject(p, "tables_done", (double)st->tables_done);
		cJSON_AddNumberToObject(p, "rows_replicated", (double)st->replicated);
		if (st->estimate_unknown)
			cJSON_AddNullToObject(p, "rows_estimated");
		else
			cJSON_AddNumberToObject(p, "rows_estimated", (double)st->estimated);
	}
	return d;
}

/* " (recorded 42 s ago)" or, where the storage keeps no time (Postgres), "". */
static char *fatal_age(const stream *st, double now_ms)
{
	if (!st->have_fatal_ts)
		return sc_xstrdup("");
	char *a = sc_format_age((now_ms - st->fatal_ts_ms) / 1000.0);
	char *s = sc_xasprintf(" (recorded %s ago)", a);
	free(a);
	return s;
}

/* "3 of 5 tables, 1200 of ~5000 rows in the tables still copying" */
static char *progress_text(const stream *st)
{
	if (!st->have_progress)
		return sc_xstrdup("");
	sc_buf b = SC_BUF_INIT;
	sc_buf_printf(&b, ": %ld of %ld tables copied", st->tables_done, st->tables);
	if (st->replicated || st->estimated) {
		if (st->estimate_unknown)
			sc_buf_printf(&b, ", %lld rows of the tables still copying", st->replicated);
		else
			sc_buf_printf(&b, ", %lld of ~%lld rows of the tables still copying", st->replicated, st->estimated);
	}
	return sc_buf_take(&b);
}

/* A hint for a replication error the service recorded, from its text. */
static const char *fatal_hint(const char *fatal)
{
	if (strstr(fatal, "PSYNC_S1146") || strstr(fatal, "replication slot"))
		return "the slot was lost: the service starts over with a new stream; raise max_slot_wal_keep_size so it does not happen again (syncctl slots shows the slots)";
	if (strstr(fatal, "permission denied"))
		return "grant the replication role what the message names (syncctl publications checks the role and the tables)";
	return "the service retries and clears this on its next successful commit; its logs have the full error (syncctl slots and publications check the source)";
}

static void check_active(const sync_state *s, double now_ms, sc_report *r)
{
	sc_report_mark(r);
	const stream *a = &s->active, *n = &s->next;
	sc_check *c;
	if (!a->found) {
		if (n->found) {
			c = sc_report_add(r, "storage.sync_rules", SC_CHECK_WARN,
					  "no active sync rules yet: the first deploy (#%lld, slot %s) is in its initial replication",
					  n->id, n->slot);
			sc_check_set_hint(c, "clients get PSYNC_S2302 until it finishes; storage.deploying shows its progress");
		} else {
			c = sc_report_add(r, "storage.sync_rules", SC_CHECK_WARN,
					  "no sync rules are stored: the service has not deployed any yet");
			sc_check_set_hint(c, "start the sync service with sync rules configured (sync_config in its config)");
		}
		return;
	}
	char *age = fatal_age(a, now_ms);
	if (strcmp(a->state, "ERRORED") == 0) {
		c = sc_report_add(r, "storage.sync_rules", SC_CHECK_FAIL,
				  "sync rules #%lld ERRORED: %s%s; clients are still served from them, but nothing replicates",
				  a->id, a->fatal[0] ? a->fatal : "(no last_fatal_error recorded)", age);
		if (n->found)
			sc_check_set_hint(c, "the service is replacing them with #%lld (storage.deploying); %s", n->id,
					  fatal_hint(a->fatal));
		else
			sc_check_set_hint(c, "%s; then restart the service or redeploy the sync rules", fatal_hint(a->fatal));
	} else if (a->fatal[0]) {
		c = sc_report_add(r, "storage.sync_rules", SC_CHECK_FAIL,
				  "sync rules #%lld are ACTIVE but replication is failing: %s%s", a->id, a->fatal, age);
		sc_check_set_hint(c, "%s", fatal_hint(a->fatal));
	} else {
		c = sc_report_add(r, "storage.sync_rules", SC_CHECK_OK, "sync rules are ACTIVE (slot %s)", a->slot);
	}
	free(age);
	sc_check_set_details(c, stream_json(a));
}

static void check_next(const sync_state *s, double now_ms, sc_report *r)
{
	const stream *a = &s->active, *n = &s->next;
	if (!n->found)
		return;
	sc_report_mark(r);
	char *what = a->found && a->id == n->id
		? sc_xasprintf("new sync rules in stream #%lld (slot %s), replacing its active ones,", n->id, n->slot)
		: a->found ? sc_xasprintf("sync rules #%lld (slot %s), replacing #%lld (%s),", n->id, n->slot, a->id, a->state)
			   : sc_xasprintf("sync rules #%lld (slot %s), the first deploy,", n->id, n->slot);
	char *prog = progress_text(n);
	sc_check *c;
	if (n->fatal[0]) {
		char *age = fatal_age(n, now_ms);
		c = sc_report_add(r, "storage.deploying", SC_CHECK_FAIL, "%s fail to replicate: %s%s", what, n->fatal, age);
		sc_check_set_hint(c, "%s", fatal_hint(n->fatal));
		free(age);
	} else if (!n->snapshot_done) {
		c = sc_report_add(r, "storage.deploying", SC_CHECK_WARN, "%s are in their initial replication%s", what, prog);
		sc_check_set_hint(c, "wait for the snapshot to finish; they become active at the first checkpoint after it");
	} else {
		c = sc_report_add(r, "storage.deploying", SC_CHECK_OK,
				  "%s have their snapshot and become active at the next checkpoint", what);
	}
	sc_check_set_details(c, stream_json(n));
	free(prog);
	free(what);
}

static void check_keepalive(const sync_state *s, double now_ms, sc_report *r)
{
	const stream *a = &s->active;
	if (!a->found)
		return;
	sc_report_mark(r);
	if (!a->have_keepalive && !a->have_checkpoint) {
		sc_check *c = sc_report_add(r, "storage.keepalive", SC_CHECK_WARN,
					    "No checkpoint found, cannot calculate replication lag");
		sc_check_set_hint(c, "the active rules never recorded a commit or keepalive: check the service's replication logs");
		return;
	}
	double last = a->have_checkpoint ? a->checkpoint_ms : 0;
	if (a->have_keepalive && a->keepalive_ms > last)
		last = a->keepalive_ms;
	/* Math.round((Date.now() - lastTime) / 1000) */
	long long age = (long long)floor((now_ms - last) / 1000.0 + 0.5);
	char *a_s = sc_format_age((double)age);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddNumberToObject(d, "age_seconds", (double)age);
	sc_check *c;
	if (age > KEEPALIVE_FAIL_S) {
		c = sc_report_add(r, "storage.keepalive", SC_CHECK_FAIL,
				  "No replicated commit in more than %llds (%s, over 15 minutes): replication has stopped", age, a_s);
		sc_check_set_hint(c, "check the sync service's logs and its connection to the source database (syncctl slots)");
	} else if (age > KEEPALIVE_WARN_S) {
		c = sc_report_add(r, "storage.keepalive", SC_CHECK_WARN,
				  "No replicated commit in more than %llds (%s, over 5 minutes)", age, a_s);
		sc_check_set_hint(c, "check that the sync service is running and replicating");
	} else {
		c = sc_report_add(r, "storage.keepalive", SC_CHECK_OK, "last replicated commit or keepalive %s ago", a_s);
	}
	sc_check_set_details(c, d);
	sc_check_metric(c, "age_seconds", (double)age, "s");
	free(a_s);
}

/* The slot of rules that replicate (ACTIVE, or PROCESSING) on the source. */
static void check_slot(const sc_storage_opts *o, const stream *st, const char *id, sc_report *r)
{
	sc_report_mark(r);
	if (!o->source_db) {
		sc_report_add(r, id, SC_CHECK_SKIP,
			      "no source database configured to look for slot %s (set --db or SYNCCTL_DB)", st->slot);
		return;
	}
	sc_error err;
	sc_pg *pg = sc_pg_connect(o->source_db, "the source database", o->timeout_s, &err);
	if (!pg) {
		sc_report_add(r, id, SC_CHECK_FAIL, "cannot look for slot %s: %s", st->slot, err.message);
		return;
	}
	const char *p[] = { st->slot };
	PGresult *res = sc_pg_exec(pg, pg->server_version >= 130000
					   ? "SELECT wal_status FROM pg_replication_slots WHERE slot_name = $1"
					   : "SELECT NULL::text FROM pg_replication_slots WHERE slot_name = $1",
				   1, p, &err);
	sc_check *c;
	if (!res) {
		sc_report_add(r, id, SC_CHECK_FAIL, "cannot look for slot %s: %s", st->slot, err.message);
	} else if (PQntuples(res) == 0) {
		c = sc_report_add(r, id, SC_CHECK_FAIL,
				  "the storage points at slot %s, which does not exist on the source database", st->slot);
		sc_check_set_hint(c, "the service recreates it when its sync rules are redeployed; check that storage and source belong together");
	} else if (sc_pg_get(res, 0, 0) && strcmp(sc_pg_get(res, 0, 0), "lost") == 0) {
		c = sc_report_add(r, id, SC_CHECK_FAIL, "slot %s was invalidated (wal_status=lost)", st->slot);
		sc_check_set_hint(c, "the service replaces the stream (ERRORED, then a new PROCESSING one); raise max_slot_wal_keep_size");
	} else {
		sc_report_add(r, id, SC_CHECK_OK, "slot %s exists on the source database", st->slot);
	}
	PQclear(res);
	sc_pg_close(pg);
}

static void check_sync_state(const sc_storage_opts *o, const sync_state *s, sc_report *r)
{
	double now_ms = o->now_ms > 0 ? o->now_ms : sc_wall_ms();
	check_active(s, now_ms, r);
	check_next(s, now_ms, r);
	check_keepalive(s, now_ms, r);
	const stream *a = &s->active;
	if (a->found && strcmp(a->state, "ACTIVE") == 0)
		check_slot(o, a, "storage.slot", r);
	if (s->next.found && !(a->found && a->id == s->next.id))
		check_slot(o, &s->next, "storage.deploying.slot", r);
}

/* A check that could not be made: the server's own message, and -1 (exit 3
 * for `storage`; a failing check of the group inside doctor). */
static int could_not(sc_report *r, const char *id, const char *message, sc_error *err)
{
	sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "%s", message);
	sc_check_set_hint(c, "give the storage user read access to the service's storage (the user the service itself connects as has it)");
	sc_error_set(err, SC_EXIT_FAILED, "%s", message);
	return -1;
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
	/* --resolve: the seed host at the rule's address; replica-set members
	 * announce their compose names, so the one server is used directly. */
	const sc_resolve_rule *rule = h ? sc_resolve_find(h->host, h->port) : NULL;
	if (rule)
		sc_log_verbose("--resolve: MongoDB %s is reached at %s:%d, directly (the replica set's members announce names only its network resolves)",
			       h->host_and_port, rule->addr, rule->to_port ? rule->to_port : h->port);
	mongoc_uri_t *uri = !h ? NULL : rule ? mongoc_uri_new_for_host_port(rule->addr, (uint16_t)(rule->to_port ? rule->to_port : h->port))
					      : mongoc_uri_new_for_host_port(h->host, h->port);
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

static bool bson_number(bson_iter_t *it, long long *out)
{
	if (BSON_ITER_HOLDS_INT32(it) || BSON_ITER_HOLDS_INT64(it) || BSON_ITER_HOLDS_DOUBLE(it)) {
		*out = bson_iter_as_int64(it);
		return true;
	}
	return false;
}

static bool bson_date_ms(const bson_t *doc, const char *key, double *ms)
{
	bson_iter_t it;
	if (bson_iter_init_find(&it, doc, key) && BSON_ITER_HOLDS_DATE_TIME(&it)) {
		*ms = (double)bson_iter_date_time(&it);
		return true;
	}
	return false;
}

/* Reads one sync_rules document. For storage version 3 the state and
 * snapshot of the embedded sync_configs whose state is one of `want` count
 * (the service keeps errors and timestamps at the stream's top level only:
 * MongoPersistedSyncConfigContent.ts syncConfigStatusFromV3); false when
 * none is. */
static bool mongo_stream(const bson_t *doc, const char *const *want, stream *st)
{
	memset(st, 0, sizeof *st);
	bson_iter_t it;
	if (bson_iter_init_find(&it, doc, "_id"))
		bson_number(&it, &st->id);
	const char *state = bson_str(doc, "state");
	snprintf(st->state, sizeof st->state, "%s", state ? state : "?");
	long long v = 0;
	if (bson_iter_init_find(&it, doc, "storage_version") && bson_number(&it, &v))
		st->storage_version = (int)v;
	bson_iter_t configs;
	if (bson_iter_init_find(&it, doc, "sync_configs") && BSON_ITER_HOLDS_ARRAY(&it) &&
	    bson_iter_recurse(&it, &configs)) {
		int matched = 0;
		bool all_done = true;
		while (bson_iter_next(&configs)) {
			if (!BSON_ITER_HOLDS_DOCUMENT(&configs))
				continue;
			const uint8_t *data;
			uint32_t len;
			bson_iter_document(&configs, &len, &data);
			bson_t cfg;
			if (!bson_init_static(&cfg, data, len))
				continue;
			const char *cs = bson_str(&cfg, "state");
			bool wanted = false;
			for (size_t i = 0; cs && want[i]; i++)
				wanted = wanted || strcmp(cs, want[i]) == 0;
			if (!wanted)
				continue;
			matched++;
			all_done = all_done && bson_true(&cfg, "snapshot_done");
			if (strcmp(cs, "PROCESSING") == 0)
				snprintf(st->state, sizeof st->state, "%s", cs);
		}
		if (!matched)
			return false;
		st->snapshot_done = all_done;
	} else {
		st->snapshot_done = bson_true(doc, "snapshot_done");
	}
	const char *fatal = bson_str(doc, "last_fatal_error");
	snprintf(st->fatal, sizeof st->fatal, "%s", fatal ? fatal : "");
	st->have_fatal_ts = bson_date_ms(doc, "last_fatal_error_ts", &st->fatal_ts_ms);
	st->have_keepalive = bson_date_ms(doc, "last_keepalive_ts", &st->keepalive_ms);
	st->have_checkpoint = bson_date_ms(doc, "last_checkpoint_ts", &st->checkpoint_ms);
	const char *slot = bson_str(doc, "slot_name");
	/* Old documents lack slot_name; the service then uses powersync_<id>
	 * (MongoPersistedSyncConfigContent.ts). */
	if (slot)
		snprintf(st->slot, sizeof st->slot, "%s", slot);
	else
		snprintf(st->slot, sizeof st->slot, "powersync_%lld", st->id);
	st->found = true;
	return true;
}

/* The newest document matching `filter`, as the service finds it
 * (findOne with sort {_id: -1}). 0 found or not, -1 on a server error. */
static int mongo_find_stream(mongoc_client_t *client, const char *db, bson_t *filter,
			     const char *const *want, stream *st, char *why, size_t whylen)
{
	memset(st, 0, sizeof *st);
	mongoc_collection_t *coll = mongoc_client_get_collection(client, db, "sync_rules");
	bson_t *opts = BCON_NEW("sort", "{", "_id", BCON_INT32(-1), "}", "limit", BCON_INT64(1));
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, opts, NULL);
	const bson_t *doc;
	while (mongoc_cursor_next(cur, &doc))
		if (!st->found)
			mongo_stream(doc, want, st);
	bson_error_t berr;
	int rc = 0;
	if (mongoc_cursor_error(cur, &berr)) {
		snprintf(why, whylen, "%.600s (code %u)", berr.message, berr.code);
		rc = -1;
	}
	mongoc_cursor_destroy(cur);
	bson_destroy(opts);
	mongoc_collection_destroy(coll);
	return rc;
}

/* The snapshot progress of a stream's tables: source_tables by group_id
 * (storage versions 1, 2), source_table_<id> (version 3); progress is in
 * snapshot_status while a table copies (MongoBucketBatch.ts
 * updateTableProgress). Best effort: the progress is a detail. */
static void mongo_progress(mongoc_client_t *client, const char *db, stream *st)
{
	char name[64];
	bson_t *filter;
	if (st->storage_version >= 3) {
		snprintf(name, sizeof name, "source_table_%lld", st->id);
		filter = bson_new();
	} else {
		snprintf(name, sizeof name, "source_tables");
		filter = BCON_NEW("group_id", BCON_INT64(st->id));
	}
	mongoc_collection_t *coll = mongoc_client_get_collection(client, db, name);
	mongoc_cursor_t *cur = mongoc_collection_find_with_opts(coll, filter, NULL, NULL);
	const bson_t *doc;
	while (mongoc_cursor_next(cur, &doc)) {
		st->tables++;
		if (bson_true(doc, "snapshot_done"))
			st->tables_done++;
		bson_iter_t it, sub;
		long long v;
		if (bson_iter_init_find(&it, doc, "snapshot_status") && BSON_ITER_HOLDS_DOCUMENT(&it) &&
		    bson_iter_recurse(&it, &sub)) {
			while (bson_iter_next(&sub)) {
				if (!bson_number(&sub, &v))
					continue;
				if (strcmp(bson_iter_key(&sub), "replicated_count") == 0)
					st->replicated += v;
				else if (strcmp(bson_iter_key(&sub), "total_estimated_count") == 0) {
					if (v < 0)
						st->estimate_unknown = true;
					else
						st->estimated += v;
				}
			}
		}
	}
	bson_error_t berr;
	st->have_progress = !mongoc_cursor_error(cur, &berr) && st->tables > 0;
	mongoc_cursor_destroy(cur);
	bson_destroy(filter);
	mongoc_collection_destroy(coll);
}

static int mongo_sync_state(mongoc_client_t *client, const char *db, sync_state *s, char *why, size_t whylen)
{
	static const char *const active_states[] = { "ACTIVE", "ERRORED", NULL };
	static const char *const next_states[] = { "PROCESSING", NULL };
	bson_t *f = BCON_NEW("state", "{", "$in", "[", BCON_UTF8("ACTIVE"), BCON_UTF8("ERRORED"), "]", "}");
	int rc = mongo_find_stream(client, db, f, active_states, &s->active, why, whylen);
	bson_destroy(f);
	if (rc != 0)
		return rc;
	f = BCON_NEW("$or", "[", "{", "state", BCON_UTF8("PROCESSING"), "}", "{", "sync_configs.state",
		     BCON_UTF8("PROCESSING"), "}", "]");
	rc = mongo_find_stream(client, db, f, next_states, &s->next, why, whylen);
	bson_destroy(f);
	if (rc == 0 && s->next.found)
		mongo_progress(client, db, &s->next);
	return rc;
}

static int check_mongo(const sc_storage_opts *o, sc_report *r, sc_error *err)
{
	sc_report_mark(r);
	if (sc_mongo_load(err) != 0) {
		sc_check *c = sc_report_add(r, "storage.connect", SC_CHECK_FAIL, "%s", err->message);
		sc_check_set_hint(c, "apt-get install libmongoc-1.0-0");
		return -1;
	}
	char why[700] = "";
	mongoc_client_t *client = mongo_client(o->uri, o->timeout_s, why, sizeof why);
	if (!client) {
		sc_check *c = sc_report_add(r, "storage.connect", SC_CHECK_FAIL, "%s", why);
		sc_check_set_hint(c, "mongodb://HOST:27017/powersync (see the storage section of the service config)");
		sc_error_set(err, SC_EXIT_USAGE, "%s", why);
		return -1;
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
		sc_error_set(err, SC_EXIT_FAILED, "%s", c->message);
		free(msg);
		bson_destroy(&reply);
		free(shown);
		mongoc_client_destroy(client);
		return -1;
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
		return 0;
	}
	int rc = 0;
	char **names = mongoc_client_get_database_names_with_opts(client, NULL, &berr);
	if (!names) {
		char *m = sc_xasprintf("cannot list the databases to find %s: %.600s (code %u)", dbname, berr.message, berr.code);
		rc = could_not(r, "storage.database", m, err);
		free(m);
	} else {
		bool exists = false;
		for (size_t i = 0; names[i]; i++)
			exists = exists || strcmp(names[i], dbname) == 0;
		if (exists) {
			sc_report_add(r, "storage.database", SC_CHECK_OK, "database %s exists", dbname);
		} else {
			c = sc_report_add(r, "storage.database", SC_CHECK_WARN, "database %s does not exist (yet)", dbname);
			sc_check_set_hint(c, "the service creates it on its first start; if it has run, check the URI's database name");
		}
	}
	bson_strfreev(names);
	sync_state st;
	memset(&st, 0, sizeof st);
	sc_report_mark(r);
	if (mongo_sync_state(client, dbname, &st, why, sizeof why) != 0) {
		char *m = sc_xasprintf("cannot read the sync rules in %s.sync_rules: %s", dbname, why);
		rc = could_not(r, "storage.sync_rules", m, err);
		free(m);
	} else {
		check_sync_state(o, &st, r);
	}
	free(dbname);
	mongoc_client_destroy(client);
	return rc;
}

/* ---- Postgres storage ---- */

/* powersync.sync_rules as module-postgres-storage's migrations lay it out
 * (src/migrations/scripts/1684951997326-init.ts and later): one row per
 * stream at every storage version, no last_fatal_error_ts column. Only
 * columns of the first migration are read, so older services work too. */
static const char PG_STREAM_COLUMNS[] =
	"id, state, snapshot_done, coalesce(last_fatal_error, ''),"
	" (extract(epoch FROM last_keepalive_ts) * 1000)::float8,"
	" (extract(epoch FROM last_checkpoint_ts) * 1000)::float8, coalesce(slot_name, ''),"
	" coalesce((to_jsonb(r) ->> 'storage_version')::int, 1)";

static int pg_stream(sc_pg *pg, const char *where, stream *st, sc_error *err)
{
	memset(st, 0, sizeof *st);
	char *sql = sc_xasprintf("SELECT %s FROM powersync.sync_rules r WHERE %s ORDER BY id DESC LIMIT 1",
				 PG_STREAM_COLUMNS, where);
	PGresult *res = sc_pg_exec(pg, sql, 0, NULL, err);
	free(sql);
	if (!res)
		return -1;
	if (PQntuples(res) == 1) {
		st->found = true;
		st->id = sc_pg_get_ll(res, 0, 0, 0);
		snprintf(st->state, sizeof st->state, "%s", sc_pg_get(res, 0, 1));
		st->snapshot_done = sc_pg_get_bool(res, 0, 2);
		snprintf(st->fatal, sizeof st->fatal, "%s", sc_pg_get(res, 0, 3));
		if ((st->have_keepalive = sc_pg_get(res, 0, 4) != NULL))
			st->keepalive_ms = strtod(sc_pg_get(res, 0, 4), NULL);
		if ((st->have_checkpoint = sc_pg_get(res, 0, 5) != NULL))
			st->checkpoint_ms = strtod(sc_pg_get(res, 0, 5), NULL);
		snprintf(st->slot, sizeof st->slot, "%s", sc_pg_get(res, 0, 6));
		st->storage_version = (int)sc_pg_get_ll(res, 0, 7, 1);
	}
	PQclear(res);
	return 0;
}

/* Snapshot progress from powersync.source_tables (the snapshot_* columns of
 * migration 1749024804042-snapshot-progress.ts, read through to_jsonb so a
 * service from before it still answers). */
static void pg_progress(sc_pg *pg, stream *st)
{
	char id[32];
	snprintf(id, sizeof id, "%lld", st->id);
	const char *p[] = { id };
	sc_error err;
	PGresult *res = sc_pg_exec(pg,
		"SELECT count(*), count(*) FILTER (WHERE snapshot_done),"
		" coalesce(sum((to_jsonb(t) ->> 'snapshot_replicated_count')::bigint), 0),"
		" coalesce(sum(greatest((to_jsonb(t) ->> 'snapshot_total_estimated_count')::bigint, 0)), 0),"
		" coalesce(bool_or((to_jsonb(t) ->> 'snapshot_total_estimated_count')::bigint < 0), false)"
		" FROM powersync.source_tables t WHERE group_id = $1::int", 1, p, &err);
	if (res && PQntuples(res) == 1 && sc_pg_get_ll(res, 0, 0, 0) > 0) {
		st->have_progress = true;
		st->tables = (long)sc_pg_get_ll(res, 0, 0, 0);
		st->tables_done = (long)sc_pg_get_ll(res, 0, 1, 0);
		st->replicated = sc_pg_get_ll(res, 0, 2, 0);
		st->estimated = sc_pg_get_ll(res, 0, 3, 0);
		st->estimate_unknown = sc_pg_get_bool(res, 0, 4);
	}
	PQclear(res);
}

static int check_pg_storage(const sc_storage_opts *o, sc_report *r, sc_error *err)
{
	sc_report_mark(r);
	sc_pg *pg = sc_pg_connect(o->uri, "the bucket storage", o->timeout_s, err);
	if (!pg) {
		sc_check *c = sc_report_add(r, "storage.connect", SC_CHECK_FAIL, "%s", err->message);
		sc_check_set_hint(c, "check the storage URI (storage.uri in the service config)");
		return -1;
	}
	sc_report_add(r, "storage.connect", SC_CHECK_OK, "connected to Postgres bucket storage at %s", pg->display);
	sc_report_mark(r);
	int rc = 0;
	PGresult *res = sc_pg_exec(pg, "SELECT to_regclass('powersync.sync_rules') IS NOT NULL", 0, NULL, err);
	if (!res) {
		char *m = sc_xasprintf("cannot look for schema powersync: %s", err->message);
		rc = could_not(r, "storage.database", m, err);
		free(m);
		sc_pg_close(pg);
		return rc;
	}
	if (!sc_pg_get_bool(res, 0, 0)) {
		sc_check *c = sc_report_add(r, "storage.database", SC_CHECK_WARN, "schema powersync has no sync_rules table (yet)");
		sc_check_set_hint(c, "the service creates it on its first start; if it has run, check the storage URI");
		PQclear(res);
		sc_pg_close(pg);
		return 0;
	}
	PQclear(res);
	sc_report_add(r, "storage.database", SC_CHECK_OK, "schema powersync is in place");
	sync_state st;
	memset(&st, 0, sizeof st);
	sc_report_mark(r);
	if (pg_stream(pg, "state IN ('ACTIVE', 'ERRORED')", &st.active, err) != 0 ||
	    pg_stream(pg, "state = 'PROCESSING'", &st.next, err) != 0) {
		char *m = sc_xasprintf("cannot read powersync.sync_rules: %s", err->message);
		rc = could_not(r, "storage.sync_rules", m, err);
		free(m);
	} else {
		if (st.next.found)
			pg_progress(pg, &st.next);
		sc_pg_close(pg);
		pg = NULL;
		check_sync_state(o, &st, r);
	}
	sc_pg_close(pg);
	return rc;
}

int sc_storage_check(const sc_storage_opts *o, sc_report *r, sc_error *err)
{
	sc_error_clear(err);
	bool mongo = o->type ? strcmp(o->type, "mongodb") == 0 : strncmp(o->uri, "mongodb", 7) == 0;
	return mongo ? check_mongo(o, r, err) : check_pg_storage(o, r, err);
}

int sc_storage_init_replica_set(const char *uri_s, int timeout_s, char *message, size_t msglen, sc_error *err)
{
	char why[512] = "";
	sc_error_clear(err);
	message[0] = '\0';
	if (sc_mongo_load(err) != 0)
		return -1;
	mongoc_client_t *client = mongo_client(uri_s, timeout_s, why, sizeof why);
	if (!client) {
		sc_error_set(err, SC_EXIT_USAGE, "%s", why);
		return -1;
	}
	bson_t *cmd = BCON_NEW("hello", BCON_INT32(1));
	bson_t reply;
	bson_error_t berr;
	int rc = -1;
	if (!mongoc_client_command_simple(client, "admin", cmd, NULL, &reply, &berr)) {
		sc_error_set(err, SC_EXIT_FAILED, "cannot reach MongoDB within %d s: %.400s", timeout_s, berr.message);
		goto out;
	}
	if (bson_str(&reply, "setName")) {
		snprintf(message, msglen, "replica set %s is already initiated: nothing to do", bson_str(&reply, "setName"));
		rc = 1;
		goto out;
	}
	if (!bson_true(&reply, "isreplicaset")) {
		sc_error_set(err, SC_EXIT_PROBLEM, "mongod runs without a replica set name: restart it with --replSet rs0 first");
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
		sc_error_set(err, SC_EXIT_PROBLEM, "replSetInitiate failed: %.400s", berr.message);
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
