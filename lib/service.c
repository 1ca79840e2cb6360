/* The sync service and the app backend, judged as the service itself
 * behaves (powersync-service 1.25):
 *   probes         packages/service-core/src/routes/endpoints/probes.ts,
 *                  libs/lib-services/src/signals/probes/memory-probes.ts,
 *                  modules/module-core/src/CoreModule.ts (when they exist)
 *   diagnostics    packages/service-core/src/routes/endpoints/admin.ts,
 *                  packages/service-core/src/api/diagnostics.ts, and the
 *                  response types packages/types/src/definitions.ts, routes.ts
 *   admin auth     packages/service-core/src/routes/auth.ts (authApi)
 *   error codes    packages/service-errors/src/codes.ts; the envelope
 *                  packages/service-core/src/routes/route-register.ts
 *   /sync/stream   packages/service-core/src/routes/endpoints/sync-stream.ts,
 *                  packages/service-core/src/auth/KeyStore.ts, auth/utils.ts */
#include "service.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <cjson/cJSON.h>

#include "buf.h"
#include "http.h"
#include "replication.h"
#include "token.h"
#include "json.h"
#include "util.h"

#define MAX_BODY (1u << 20)

static char *url_join(const char *base, const char *path)
{
	size_t n = strlen(base);
	while (n && base[n - 1] == '/')
		n--;
	return sc_xasprintf("%.*s%s", (int)n, base, path);
}

/* The service's error envelope {"error": {code, status, description,
 * details}} (route-register.ts serviceErrorToResponse). */
typedef struct svc_error {
	const char *code, *description, *details;
	cJSON *doc;
} svc_error;

static bool parse_error(const char *body, svc_error *e)
{
	memset(e, 0, sizeof *e);
	e->doc = body ? sc_json_parse(body, strlen(body), NULL, 0) : NULL;
	cJSON *err = cJSON_GetObjectItemCaseSensitive(e->doc, "error");
	if (!cJSON_IsObject(err))
		return false;
	e->code = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "code"));
	e->description = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "description"));
	if (!e->description)
		e->description = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "message"));
	e->details = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(err, "details"));
	return e->code != NULL;
}

/* An answer shown in one line: the service's error envelope as its code and
 * description, an HTML page as such (never dumped), else the first 200
 * characters with control characters escaped. */
static char *summarize(const sc_http_response *resp)
{
	svc_error e;
	char *out;
	if (parse_error(resp->body, &e)) {
		out = sc_xasprintf("%s %s%s%s", e.code, e.description ? e.description : "",
				   e.details ? ": " : "", e.details ? e.details : "");
	} else {
		char *ct = sc_http_header(resp, "Content-Type");
		const char *b = resp->body ? resp->body : "";
		while (*b == ' ' || *b == '\n' || *b == '\r' || *b == '\t')
			b++;
		if ((ct && strstr(ct, "html")) || strncasecmp(b, "<!doctype html", 14) == 0 || strncasecmp(b, "<html", 5) == 0) {
			out = sc_xstrdup("(an HTML page)");
		} else if (!*b) {
			out = sc_xstrdup("(empty body)");
		} else {
			sc_buf s = SC_BUF_INIT;
			for (size_t i = 0; b[i] && i < 200; i++) {
				unsigned char ch = (unsigned char)b[i];
				if (ch == '\n' || ch == '\r' || ch == '\t')
					sc_buf_putc(&s, ' ');
				else if (ch < 0x20 || ch == 0x7f)
					sc_buf_printf(&s, "\\x%02x", ch);
				else
					sc_buf_putc(&s, (char)ch);
			}
			out = sc_buf_take(&s);
		}
		free(ct);
	}
	cJSON_Delete(e.doc);
	return out;
}

/* ---- probes ---- */

/* Returns false when the service did not answer at all: the other checks
 * would each wait out the timeout again. */
static bool probes(const sc_service_opts *o, sc_report *r)
{
	static const char *const names[] = { "startup", "readiness", "liveness" };
	for (int i = 0; i < 3; i++) {
		sc_report_mark(r);
		char id[64], path[64];
		snprintf(id, sizeof id, "service.probe.%s", names[i]);
		snprintf(path, sizeof path, "/probes/%s", names[i]);
		char *url = url_join(o->url, path);
		sc_http_response resp;
		sc_error err;
		if (sc_http_request("GET", url, NULL, NULL, o->timeout_s, MAX_BODY, &resp, &err) != 0) {
			sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "%s", err.message);
			sc_check_set_hint(c, "is the sync service running? (docker compose ps, or its logs); is --service right?");
			free(url);
			return false;
		}
		svc_error e;
		bool envelope = parse_error(resp.body, &e);
		cJSON *j = envelope || !resp.body ? NULL : sc_json_parse(resp.body, resp.len, NULL, 0);
		sc_check *c;
		if (resp.status == 200) {
			sc_report_add(r, id, SC_CHECK_OK, "%s: 200 in %.0f ms", names[i], resp.total_ms);
		} else if (resp.status == 400 && cJSON_IsObject(j)) {
			/* {"ready", "started", "touched_at"}: the same body for all three. */
			bool started = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "started"));
			const char *touched = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "touched_at"));
			if (i == 0) {
				c = sc_report_add(r, id, SC_CHECK_FAIL, "startup: 400, the service has not started (last touched: %s)",
						  touched ? touched : "never");
				sc_check_set_hint(c, "it is still starting, or failed to start: see its logs");
			} else if (i == 1) {
				c = sc_report_add(r, id, SC_CHECK_FAIL, "readiness: 400, the service says it is not ready (started: %s, last touched: %s)",
						  started ? "yes" : "no", touched ? touched : "never");
				sc_check_set_hint(c, "the service turns ready (and started) once its start-up has finished; until then it is starting, or stuck starting: see its logs");
			} else {
				c = sc_report_add(r, id, SC_CHECK_FAIL,
						  "liveness: 400, the service last reported itself alive at %s, 10 s or more ago",
						  touched ? touched : "?");
				sc_check_set_hint(c, "its replication loop touches the probe every few seconds; a stale one means replication is stuck or the process is overloaded: see its logs (syncctl storage shows the last keepalive)");
			}
		} else if (resp.status == 404 && envelope && strcmp(e.code, "PSYNC_S2002") == 0) {
			c = sc_report_add(r, id, SC_CHECK_WARN,
					  "%s: 404 PSYNC_S2002, the service runs without HTTP probes (healthcheck.probes.use_http is off)",
					  names[i]);
			sc_check_set_hint(c, "to probe it over HTTP, set in the service config: healthcheck: {probes: {use_http: true}} (a healthcheck.probes block turns every unlisted probe off)");
		} else {
			char *sum = summarize(&resp);
			c = sc_report_add(r, id, SC_CHECK_FAIL, "%s: HTTP %ld: %s", names[i], resp.status, sum);
			sc_check_set_hint(c, resp.status == 429 ? "the service's request queue is full: it is overloaded"
							     : "is this URL the sync service? (--service, POWERSYNC_URL)");
			free(sum);
		}
		cJSON_Delete(j);
		cJSON_Delete(e.doc);
		free(url);
		sc_http_response_free(&resp);
	}
	return true;
}

/* ---- diagnostics ---- */

/* The part of an id made of a name from outside: letters, digits, _ - . */
static void id_part(sc_buf *b, const char *s)
{
	for (const unsigned char *p = (const unsigned char *)(s ? s : "default"); *p; p++)
		sc_buf_putc(b, (isalnum(*p) || *p == '_' || *p == '-' || *p == '.') ? (char)*p : '_');
}

static char *make_id(const char *prefix, const char *a, const char *b)
{
	sc_buf id = SC_BUF_INIT;
	sc_buf_puts(&id, prefix);
	if (a) {
		sc_buf_putc(&id, '.');
		id_part(&id, a);
	}
	if (b) {
		sc_buf_putc(&id, '.');
		id_part(&id, b);
	}
	return sc_buf_take(&id);
}

static const char *err_level(const cJSON *e)
{
	const char *l = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "level"));
	return l ? l : "fatal";
}

static const char *err_message(const cJSON *e)
{
	const char *m = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(e, "message"));
	return m ? m : "(no message)";
}

/* Several errors as one check: the worst level decides, messages joined. */
/* The errors about one subject (the sync config, a table, a connection)
 * as one check: the worst level decides, the messages are joined, and
 * every entry is kept whole in its details. */
typedef struct err_group {
	sc_buf text;
	bool fatal, any;
	cJSON *entries;
} err_group;

#define ERR_GROUP_INIT { SC_BUF_INIT, false, false, NULL }

static void group_add(err_group *g, const cJSON *e)
{
	sc_buf_printf(&g->text, "%s%s", g->text.len ? "; " : "", err_message(e));
	g->fatal = g->fatal || strcmp(err_level(e), "warning") != 0;
	g->any = true;
	if (!g->entries)
		g->entries = cJSON_CreateArray();
	cJSON_AddItemToArray(g->entries, cJSON_Duplicate(e, 1));
}

static void group_free(err_group *g)
{
	sc_buf_free(&g->text);
	cJSON_Delete(g->entries);
	g->entries = NULL;
}

static sc_check *group_check(sc_report *r, const char *id, err_group *g, const char *what, const char *hint)
{
	sc_check *c = sc_report_add(r, id, g->fatal ? SC_CHECK_FAIL : SC_CHECK_WARN, "%s: %s", what, g->text.data);
	sc_check_set_hint(c, "%s", hint);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddItemToObject(d, "errors", g->entries);
	g->entries = NULL;
	sc_check_set_details(c, d);
	group_free(g);
	return c;
}

/* strstr, ignoring ASCII case. */
static bool contains(const char *hay, const char *needle)
{
	size_t n = strlen(needle);
	for (; *hay; hay++)
		if (strncasecmp(hay, needle, n) == 0)
			return true;
	return false;
}

/* "[PSYNC_S1146] ..." -> "PSYNC_S1146" */
static bool psync_code(const char *msg, char out[16])
{
	const char *p = strstr(msg, "PSYNC_");
	if (!p || strlen(p) < 11)
		return false;
	memcpy(out, p, 11);
	out[11] = '\0';
	for (int i = 6; i < 11; i++)
		if (!isalnum((unsigned char)out[i]))
			return false;
	return true;
}

static const char *error_hint(const char *msg)
{
	if (contains(msg, "PSYNC_S1146") || contains(msg, "replication slot"))
		return "the slot was lost: the service replaces the stream and replicates from scratch; raise max_slot_wal_keep_size (syncctl slots shows the slots)";
	if (contains(msg, "permission denied") || contains(msg, "WAL sender"))
		return "the replication role lacks a privilege: syncctl slots and syncctl publications check the role (REPLICATION, BYPASSRLS, SELECT on the tables)";
	if (contains(msg, "publication"))
		return "the service's message says the fix; syncctl publications checks the publication (default powersync) and its tables";
	if (contains(msg, "wal_level") || contains(msg, "max_replication_slots") || contains(msg, "max_wal_senders"))
		return "a server setting: syncctl slots checks wal_level, max_replication_slots and max_wal_senders";
	return "see the service's logs for the full error; syncctl doctor --only source checks the source database";
}

/* Table errors are also in the rules' errors (definitions.ts TableInfo):
 * they are reported once, under the table. */
static bool is_table_error(const cJSON *rules, const char *msg)
{
	const cJSON *conn, *t, *e;
	cJSON_ArrayForEach(conn, cJSON_GetObjectItemCaseSensitive(rules, "connections"))
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(conn, "tables"))
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(t, "errors"))
				if (strcmp(err_message(e), msg) == 0)
					return true;
	return false;
}

static double num_or(const cJSON *o, const char *key, bool *have)
{
	const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, key);
	*have = cJSON_IsNumber(v);
	return *have ? v->valuedouble : 0;
}

/* One SyncRulesStatus (definitions.ts): the active rules (prefix
 * "service") or the ones being deployed ("service.deploying"). */
static void rules_status(const cJSON *rules, bool active, bool replacing, sc_report *r)
{
	const char *prefix = active ? "service" : "service.deploying";
	char *rules_id = active ? sc_xstrdup("service.sync_rules") : sc_xstrdup("service.deploying");
	const cJSON *conns = cJSON_GetObjectItemCaseSensitive(rules, "connections");
	const cJSON *first = cJSON_GetArrayItem(conns, 0);
	const char *slot0 = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(first, "slot_name"));

	/* Sort the rules' errors by what they are about (diagnostics.ts adds
	 * them in this order: tables, last_fatal_error, the sync config's own,
	 * the WAL budget, the lag). */
	err_group config = ERR_GROUP_INIT, other = ERR_GROUP_INIT;
	const cJSON *lag = NULL, *budget_msg = NULL;
	cJSON *coded = cJSON_CreateObject(); /* code -> array of errors */
	const cJSON *e;
	cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(rules, "errors")) {
		const char *m = err_message(e);
		char code[16];
		if (strncmp(m, "No replicated commit in more than", 33) == 0 ||
		    strcmp(m, "No checkpoint found, cannot calculate replication lag") == 0)
			lag = e;
		else if (strncmp(m, "WAL budget is low:", 18) == 0)
			budget_msg = e;
		else if (is_table_error(rules, m))
			continue;
		else if (cJSON_GetObjectItemCaseSensitive(e, "location") || !cJSON_GetArraySize(conns))
			group_add(&config, e);
		else if (psync_code(m, code)) {
			cJSON *list = cJSON_GetObjectItemCaseSensitive(coded, code);
			if (!list)
				list = cJSON_AddArrayToObject(coded, code);
			cJSON_AddItemToArray(list, cJSON_Duplicate(e, 1));
		} else
			group_add(&other, e);
	}

	sc_report_mark(r);
	sc_check *c;
	if (config.any) {
		c = group_check(r, rules_id, &config, active ? "the active sync rules" : "the sync rules being deployed",
				"fix the sync rules (syncctl rules validate FILE --db ...) and redeploy");
	} else if (active) {
		c = sc_report_add(r, rules_id, SC_CHECK_OK, "active sync rules (slot %s)", slot0 ? slot0 : "?");
	} else {
		bool done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(first, "initial_replication_done"));
		c = sc_report_add(r, rules_id, done ? SC_CHECK_OK : SC_CHECK_WARN, "%s (slot %s) %s",
				  replacing ? "new sync rules, replacing the active ones," : "the first sync rules",
				  slot0 ? slot0 : "?",
				  done ? "have finished their initial replication and activate at the next checkpoint"
				       : "are in their initial replication");
		if (!done)
			sc_check_set_hint(c, replacing ? "clients are served from the active rules until the new ones take over"
						       : "clients get PSYNC_S2302 (no sync config) until it finishes");
	}
	(void)c;

	/* Per connection of the rules: initial replication, lag, the slot. */
	const cJSON *rc;
	cJSON_ArrayForEach(rc, conns) {
		const char *slot = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rc, "slot_name"));
		char *id = make_id(active ? "service.replication" : "service.deploying.replication", slot, NULL);
		sc_report_mark(r);
		bool have_lag, have_safe, have_max;
		double lag_b = num_or(rc, "replication_lag_bytes", &have_lag);
		double safe = num_or(rc, "safe_wal_size", &have_safe);
		double max = num_or(rc, "max_slot_wal_keep_size", &have_max);
		const char *wal = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(rc, "wal_status"));
		bool done = cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(rc, "initial_replication_done"));
		char *l = sc_format_size(have_lag ? (int64_t)lag_b : 0);
		if (wal && strcmp(wal, "lost") == 0) {
			c = sc_report_add(r, id, SC_CHECK_FAIL, "slot %s was invalidated (wal_status=lost): it cannot replicate any more",
					  slot ? slot : "?");
			sc_check_set_hint(c, "the service replaces the stream and replicates from scratch; raise max_slot_wal_keep_size");
		} else if (!done) {
			c = sc_report_add(r, id, SC_CHECK_WARN, "initial replication in progress (slot %s)", slot ? slot : "?");
			sc_check_set_hint(c, "wait for the snapshot to finish");
		} else if (wal && strcmp(wal, "unreserved") == 0) {
			c = sc_report_add(r, id, SC_CHECK_WARN,
					  "slot %s is about to be invalidated (wal_status=unreserved: it holds more WAL than max_slot_wal_keep_size)",
					  slot ? slot : "?");
			sc_check_set_hint(c, "let replication catch up now, or raise max_slot_wal_keep_size");
		} else if (have_lag && lag_b > 1073741824.0) {
			c = sc_report_add(r, id, SC_CHECK_WARN, "replication lags %s behind the source (slot %s)", l, slot ? slot : "?");
			sc_check_set_hint(c, "check the service's load and logs; syncctl slots shows the slot");
		} else {
			c = sc_report_add(r, id, SC_CHECK_OK, "replicating, lag %s (slot %s)", have_lag ? l : "unknown", slot ? slot : "?");
		}
		free(l);
		cJSON *d = cJSON_Duplicate(rc, 1);
		cJSON_DeleteItemFromObject(d, "tables");
		sc_check_set_details(c, d);
		if (have_lag)
			sc_check_metric(c, "lag_bytes", lag_b, "B");
		if (have_safe)
			sc_check_metric(c, "safe_wal_size_bytes", safe, "B");
		free(id);

		/* The WAL budget, by the one rule the slot checks share. */
		int pct = sc_wal_budget_pct(wal, have_safe ? &safe : NULL, have_max ? &max : NULL);
		if (pct >= 0) {
			id = make_id(active ? "service.wal_budget" : "service.deploying.wal_budget", slot, NULL);
			sc_report_mark(r);
			char *ms = sc_format_size((int64_t)max);
			if (pct <= SC_WAL_BUDGET_LOW_PCT) {
				char *m = sc_wal_budget_message(pct);
				c = sc_report_add(r, id, SC_CHECK_WARN, "%s", m);
				sc_check_set_hint(c, "ALTER SYSTEM SET max_slot_wal_keep_size = ...; SELECT pg_reload_conf(); (now %s), or find why replication falls behind", ms);
				free(m);
				budget_msg = NULL;
			} else {
				sc_report_add(r, id, SC_CHECK_OK, "WAL budget: %d%% of max_slot_wal_keep_size (%s) remains", pct, ms);
			}
			free(ms);
			free(id);
		}

		/* Tables with errors, one check a table. */
		const cJSON *t;
		cJSON_ArrayForEach(t, cJSON_GetObjectItemCaseSensitive(rc, "tables")) {
			if (!cJSON_GetArraySize(cJSON_GetObjectItemCaseSensitive(t, "errors")))
				continue;
			const char *schema = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "schema"));
			const char *name = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(t, "name"));
			char *tid = make_id(active ? "service.table" : "service.deploying.table", schema, name);
			char *what = sc_xasprintf("table %s.%s", schema ? schema : "?", name ? name : "?");
			err_group g = ERR_GROUP_INIT;
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(t, "errors"))
				group_add(&g, e);
			sc_report_mark(r);
			group_check(r, tid, &g, what, strstr(g.text.data, "publication")
				    ? "add it to the publication (the service's own message says how); syncctl publications --table checks it"
				    : "syncctl rules validate --db and syncctl publications check tables, keys and the publication");
			free(what);
			free(tid);
		}
	}

	/* The WAL budget message from a service whose connections carry no
	 * sizes (reported as the service words it). */
	if (budget_msg) {
		char *id = make_id(active ? "service.wal_budget" : "service.deploying.wal_budget", slot0, NULL);
		sc_report_mark(r);
		c = sc_report_add(r, id, SC_CHECK_WARN, "%s", err_message(budget_msg));
		sc_check_set_hint(c, "raise max_slot_wal_keep_size (ALTER SYSTEM ...; SELECT pg_reload_conf();), or find why replication falls behind");
		free(id);
	}

	/* Errors with a PSYNC code: one check each code. */
	for (const cJSON *list = coded->child; list; list = list->next) {
		char *id = make_id(prefix, "error", list->string);
		err_group g = ERR_GROUP_INIT;
		cJSON_ArrayForEach(e, list)
			group_add(&g, e);
		sc_report_mark(r);
		group_check(r, id, &g, "replication error", error_hint(g.text.data));
		free(id);
	}
	cJSON_Delete(coded);
	if (other.any) {
		char *id = make_id(prefix, "replication_error", NULL);
		sc_report_mark(r);
		group_check(r, id, &other, "replication error", error_hint(other.text.data));
		free(id);
	}

	/* The lag: the active rules only (diagnostics.ts). */
	if (active) {
		sc_report_mark(r);
		if (lag) {
			const char *m = err_message(lag);
			c = sc_report_add(r, "service.lag", strcmp(err_level(lag), "warning") == 0 ? SC_CHECK_WARN : SC_CHECK_FAIL,
					  "%s", m);
			sc_check_set_hint(c, "replication from the source has stalled: check the service's logs and its source connection (service.connection.*, syncctl slots, syncctl storage)");
		} else {
			sc_report_add(r, "service.lag", SC_CHECK_OK, "a commit or keepalive was replicated in the last 5 minutes");
		}
	}
	free(rules_id);
}

static bool diagnostics(const sc_service_opts *o, sc_report *r)
{
	sc_report_mark(r);
	if (!o->api_token) {
		sc_report_add(r, "service.diagnostics", SC_CHECK_SKIP,
			      "no admin API token: set --api-token-file, POWERSYNC_API_TOKEN or api.tokens in the service config to read its diagnostics");
		return false;
	}
	char *url = url_join(o->url, "/api/admin/v1/diagnostics");
	/* authApi accepts "Token X" and "Bearer X" alike. */
	char *auth = sc_xasprintf("Authorization: Bearer %s", o->api_token);
	const char *hdr[] = { auth, "Content-Type: application/json", "Accept: application/json", NULL };
	sc_http_response resp;
	sc_error err;
	int rc = sc_http_request("POST", url, hdr, "{}", o->timeout_s, MAX_BODY, &resp, &err);
	free(auth);
	free(url);
	if (rc != 0) {
		sc_report_add(r, "service.diagnostics", SC_CHECK_FAIL, "%s", err.message);
		return false;
	}
	bool deploying = false;
	char why[160] = "";
	cJSON *j = resp.body ? sc_json_parse(resp.body, resp.len, why, sizeof why) : NULL;
	cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
	if (resp.status == 401 || resp.status == 403) {
		char *sum = summarize(&resp);
		sc_check *c = sc_report_add(r, "service.diagnostics", SC_CHECK_FAIL, "the service refused the admin API token (HTTP %ld %s)",
					    resp.status, sum);
		sc_check_set_hint(c, "use one of the service config's api.tokens (the service answers the same for a wrong, a missing and a disabled token)");
		free(sum);
	} else if (resp.status == 200 && !j && why[0]) {
		sc_check *c = sc_report_add(r, "service.diagnostics", SC_CHECK_FAIL, "diagnostics answered HTTP 200 with a body that is not JSON: %s", why);
		sc_check_set_hint(c, "is --service the sync service's URL (POST /api/admin/v1/diagnostics), not a proxy's page?");
	} else if (resp.status != 200 || !cJSON_IsObject(d)) {
		char *sum = summarize(&resp);
		sc_check *c = sc_report_add(r, "service.diagnostics", SC_CHECK_FAIL, "diagnostics answered HTTP %ld: %s", resp.status, sum);
		sc_check_set_hint(c, "is --service the sync service's URL (POST /api/admin/v1/diagnostics)?");
		free(sum);
	} else {
		sc_report_add(r, "service.diagnostics", SC_CHECK_OK, "read the service's diagnostics");
		const cJSON *conn;
		cJSON_ArrayForEach(conn, cJSON_GetObjectItemCaseSensitive(d, "connections")) {
			char *id = make_id("service.connection", cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(conn, "id")), NULL);
			sc_report_mark(r);
			err_group g = ERR_GROUP_INIT;
			const cJSON *e;
			cJSON_ArrayForEach(e, cJSON_GetObjectItemCaseSensitive(conn, "errors"))
				group_add(&g, e);
			const char *uri = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(conn, "postgres_uri"));
			if (!cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(conn, "connected"))) {
				sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "the service cannot connect to its source database%s%s",
							    g.any ? ": " : "", g.any ? g.text.data : "");
				sc_check_set_hint(c, "check replication.connections in the service config, from the service's network; syncctl slots checks the database");
				group_free(&g);
			} else if (g.any) {
				group_check(r, id, &g, "source connection", error_hint(g.text.data));
			} else {
				sc_report_add(r, id, SC_CHECK_OK, "connected to its source database%s%s", uri ? " " : "", uri ? uri : "");
			}
			free(id);
		}
		cJSON *active = cJSON_GetObjectItemCaseSensitive(d, "active_sync_rules");
		cJSON *next = cJSON_GetObjectItemCaseSensitive(d, "deploying_sync_rules");
		deploying = cJSON_IsObject(next);
		if (cJSON_IsObject(active)) {
			rules_status(active, true, false, r);
		} else {
			sc_report_mark(r);
			sc_check *c = sc_report_add(r, "service.sync_rules", SC_CHECK_WARN, "%s",
						    deploying ? "no active sync rules yet: the first deploy is in its initial replication"
							      : "the service has no active sync rules");
			sc_check_set_hint(c, deploying ? "service.deploying shows its progress; clients get PSYNC_S2302 until it finishes"
						       : "deploy sync rules (sync_config in the service config); syncctl rules validate first");
		}
		if (deploying)
			rules_status(next, false, cJSON_IsObject(active), r);
	}
	cJSON_Delete(j);
	sc_http_response_free(&resp);
	return deploying;
}

/* A test token as the checks send it: sub syncctl-doctor, the accepted
 * audiences, a short life; NULL with err on failure. */
static char *mint_test_token(const sc_key *key, const char *kid, char *const *aud, size_t naud, long ttl,
			     long long now, sc_error *err)
{
	sc_mint_opts mo;
	memset(&mo, 0, sizeof mo);
	mo.sub = "syncctl-doctor";
	mo.aud = aud;
	mo.naud = naud;
	mo.ttl = ttl;
	cJSON *claims = sc_token_claims(&mo, now, err);
	char *token = claims ? sc_jwt_sign(sc_key_default_alg(key), key, kid, claims, err) : NULL;
	cJSON_Delete(claims);
	return token;
}

/* ---- /sync/stream ---- */

/* What a client-facing error code means (packages/service-errors codes.ts,
 * and where the service raises each). */
static const char *explain_code(const char *code, const char *desc)
{
	if (!code)
		return "see the message";
	if (strcmp(code, "PSYNC_S2101") == 0 || strcmp(code, "PSYNC_S2102") == 0) {
		/* S2101 is the generic auth error: the reason is in the text. */
		if (desc && strstr(desc, "Unexpected token algorithm"))
			return "the key with this kid pins another algorithm (its JWKS alg): mint with that algorithm or serve the key without alg";
		if (desc && (strstr(desc, "signature") || strstr(desc, "Signature")))
			return "the JWKS serves another key under this kid: serve this key's public half (syncctl token jwks --key KEY)";
		if (desc && strstr(desc, "missing a required claim"))
			return "the token lacks a claim the service requires (sub, iat, exp), or one of them is not a number";
		if (desc && strstr(desc, "parameters"))
			return "the token's parameters claim must be a JSON object";
		if (desc && strstr(desc, "well-formed"))
			return "the Authorization header does not carry a JWT";
		return "the token's kid or algorithm matches no key the service knows: serve this key in the JWKS (syncctl token jwks) or fix --kid";
	}
	if (strcmp(code, "PSYNC_S2103") == 0)
		return "the token expired: check the clocks and the token's lifetime";
	if (strcmp(code, "PSYNC_S2104") == 0)
		return "the token lives longer than the service allows (exp - iat at most 24h): mint shorter tokens";
	if (strcmp(code, "PSYNC_S2105") == 0)
		return "the token's aud is not one the service accepts: match client_auth.audience in the service config";
	if (strcmp(code, "PSYNC_S2106") == 0)
		return "the service saw no token: the Authorization header must be \"Token JWT\" or \"Bearer JWT\" (a proxy in front may strip it)";
	if (strcmp(code, "PSYNC_S2201") == 0)
		return "the service's own auth configuration fails (client_auth in its config): a service-side fix, see its logs";
	if (strcmp(code, "PSYNC_S2202") == 0 || strcmp(code, "PSYNC_S2203") == 0 || strcmp(code, "PSYNC_S2204") == 0)
		return "the service cannot fetch, or will not use, its JWKS: a service-side fix; the jwks_uri must be reachable from the service's network and not in a blocked range (block_local_jwks, jwks_reject_ip_ranges)";
	if (strcmp(code, "PSYNC_S2003") == 0)
		return "the service is restarting or shutting down: retry shortly";
	if (strcmp(code, "PSYNC_S2002") == 0)
		return "there is no /sync/stream here: is --service the sync service (not the app backend)?";
	return "see the service's documentation for this code";
}

static void stream(const sc_service_opts *o, bool deploying, sc_report *r)
{
	sc_report_mark(r);
	if (!o->key && o->key_error) {
		sc_check *c = sc_report_add(r, "service.stream", SC_CHECK_FAIL, "cannot mint a token to try a sync stream: %s", o->key_error);
		sc_check_set_hint(c, "POWERSYNC_PRIVATE_KEY holds a PEM private key or the base64 of a private JWK (as PowerSync's key generator writes it)");
		return;
	}
	if (!o->key) {
		sc_report_add(r, "service.stream", SC_CHECK_SKIP,
			      "no signing key: set --key or POWERSYNC_PRIVATE_KEY (and --aud) to try a real sync stream");
		return;
	}
	if (!o->naud) {
		sc_report_add(r, "service.stream", SC_CHECK_SKIP, "no audience: set --aud or SYNCCTL_AUDIENCE to try a real sync stream");
		return;
	}
	sc_error err;
	char *token = mint_test_token(o->key, o->kid, o->aud, o->naud, 60, (long long)time(NULL), &err);
	if (!token) {
		sc_report_add(r, "service.stream", SC_CHECK_FAIL, "cannot mint a token: %s", err.message);
		return;
	}
	char *url = url_join(o->url, "/sync/stream");
	char *auth = sc_xasprintf("Authorization: Token %s", token);
	free(token);
	const char *hdr[] = { auth, "Content-Type: application/json", "Accept: application/x-ndjson", NULL };
	sc_http_response resp;
	/* The stream stays open on success: its status is all that is read. */
	int rc = sc_http_request_head("POST", url, hdr, "{\"buckets\":[],\"include_checksum\":true,\"raw_data\":true}",
				      o->timeout_s, &resp, &err);
	free(auth);
	free(url);
	if (rc != 0) {
		sc_report_add(r, "service.stream", SC_CHECK_FAIL, "%s", err.message);
		return;
	}
	svc_error e;
	bool envelope = parse_error(resp.body, &e);
	sc_check *c;
	if (resp.status == 200) {
		sc_report_add(r, "service.stream", SC_CHECK_OK, "the service accepted a token from this key and audience (200)");
	} else if (envelope && strcmp(e.code, "PSYNC_S2302") == 0) {
		/* After auth succeeded (sync-stream.ts): not an auth problem. */
		c = sc_report_add(r, "service.stream", deploying ? SC_CHECK_WARN : SC_CHECK_FAIL,
				  "the service accepted the token, but has no sync config to serve yet (HTTP %ld PSYNC_S2302)", resp.status);
		sc_check_set_hint(c, deploying ? "the sync rules are still in their initial replication (service.deploying)"
					       : "deploy sync rules: sync_config in the service config (syncctl rules validate first)");
	} else if (resp.status == 429 && !envelope) {
		c = sc_report_add(r, "service.stream", SC_CHECK_FAIL, "HTTP 429: the service has as many sync connections as it allows");
		sc_check_set_hint(c, "raise api.parameters.max_concurrent_connections, or add service instances");
	} else {
		const char *desc = envelope ? e.description : NULL;
		bool service_side = envelope && (strncmp(e.code, "PSYNC_S22", 9) == 0);
		char *sum = envelope ? NULL : summarize(&resp);
		sc_buf m = SC_BUF_INIT;
		sc_buf_printf(&m, "the service refused the %s: HTTP %ld",
			      service_side ? "token because of its own auth setup" : "token", resp.status);
		if (envelope)
			sc_buf_printf(&m, " %s", e.code);
		if (desc || sum)
			sc_buf_printf(&m, ": %s", desc ? desc : sum);
		if (envelope && e.details)
			sc_buf_printf(&m, " (%s)", e.details);
		c = sc_report_add(r, "service.stream", SC_CHECK_FAIL, "%s", m.data);
		sc_buf_free(&m);
		/* Older services put the reason of an S2101 in details. */
		sc_check_set_hint(c, "%s", explain_code(envelope ? e.code : NULL,
							e.details && e.code && strcmp(e.code, "PSYNC_S2101") == 0 ? e.details : desc));
		free(sum);
	}
	cJSON_Delete(e.doc);
	sc_http_response_free(&resp);
}

void sc_service_check(const sc_service_opts *o, sc_report *r)
{
	if (!probes(o, r)) {
		sc_report_add(r, "service.diagnostics", SC_CHECK_SKIP, "not tried: the service did not answer");
		sc_report_add(r, "service.stream", SC_CHECK_SKIP, "not tried: the service did not answer");
		return;
	}
	bool deploying = diagnostics(o, r);
	stream(o, deploying, r);
}

/* ---- the app backend ---- */

static bool jwks_check(const char *jwks, int timeout_s, const char *id, sc_report *r, sc_keyset *out)
{
	sc_report_mark(r);
	sc_error err;
	bool url = sc_is_http_url(jwks);
	if (sc_token_load_jwks(jwks, timeout_s, out, &err) != 0) {
		sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "%s", err.message);
		sc_check_set_hint(c, url ? "the backend must serve {\"keys\": [...]} there (syncctl token jwks builds it)"
					 : "syncctl token jwks --key KEY.pem builds a JWKS");
		return false;
	}
	/* Kids must be unique: the service picks the key by kid. */
	for (size_t i = 0; i < out->n; i++)
		for (size_t k = i + 1; k < out->n; k++)
			if (out->keys[i].kid && out->keys[k].kid && strcmp(out->keys[i].kid, out->keys[k].kid) == 0) {
				sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL, "two keys share kid %s: the service cannot tell them apart", out->keys[i].kid);
				sc_check_set_hint(c, "give each key its own kid (the default is its thumbprint)");
				return false;
			}
	if (out->n == 0 || (url && out->skipped)) {
		sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL,
					    "%zu usable key(s); %zu skipped (an oct key at a JWKS URL is ignored by the service, as are keys not for signatures)",
					    out->n, out->skipped);
		sc_check_set_hint(c, "serve only public RSA, EC or OKP keys at a JWKS URL; configure shared secrets inline in the service");
		return out->n > 0;
	}
	sc_buf kids = SC_BUF_INIT;
	for (size_t i = 0; i < out->n; i++)
		sc_buf_printf(&kids, "%s%s", kids.len ? ", " : "", out->keys[i].kid ? out->keys[i].kid : "(no kid)");
	sc_report_add(r, id, SC_CHECK_OK, "%zu key(s): %s", out->n, kids.data);
	sc_buf_free(&kids);
	return true;
}

/* The first string in a JSON document that looks like a JWT. */
static const char *find_jwt(const cJSON *j)
{
	if (cJSON_IsString(j)) {
		const char *s = j->valuestring;
		int dots = 0;
		for (const char *p = s; *p; p++)
			dots += *p == '.';
		return dots == 2 && strncmp(s, "eyJ", 3) == 0 ? s : NULL;
	}
	for (const cJSON *c = j ? j->child : NULL; c; c = c->next) {
		const char *t = find_jwt(c);
		if (t)
			return t;
	}
	return NULL;
}

/* An http(s) URL with a host: what a client can connect to. */
static bool usable_url(const char *s)
{
	const char *p = strncmp(s, "https://", 8) == 0 ? s + 8 : strncmp(s, "http://", 7) == 0 ? s + 7 : NULL;
	return p && *p && *p != '/' && *p != ':';
}

static void token_check(const sc_backend_opts *o, const sc_keyset *ks, bool have_keys, sc_report *r)
{
	sc_report_mark(r);
	if (!o->token_endpoint) {
		sc_report_add(r, "backend.token", SC_CHECK_SKIP, "no token endpoint: set --token-endpoint URL to check it");
		return;
	}
	sc_http_response resp;
	sc_error err;
	const char *hdr[] = { "Accept: application/json", NULL };
	if (sc_http_request("GET", o->token_endpoint, hdr, NULL, o->timeout_s, MAX_BODY, &resp, &err) != 0) {
		sc_report_add(r, "backend.token", SC_CHECK_FAIL, "%s", err.message);
		return;
	}
	char *shown = sc_redact_secrets(o->token_endpoint);
	sc_check *c;
	if (resp.status == 404) {
		c = sc_report_add(r, "backend.token", SC_CHECK_FAIL, "no such endpoint (HTTP 404): %s", shown);
		sc_check_set_hint(c, "check --token-endpoint: the path the app's connector fetches its token from");
	} else if (resp.status < 200 || resp.status > 299) {
		char *sum = summarize(&resp);
		c = sc_report_add(r, "backend.token", SC_CHECK_FAIL, "the token endpoint answered HTTP %ld: %s", resp.status, sum);
		sc_check_set_hint(c, resp.status == 401 || resp.status == 403
					     ? "the endpoint wants the app's own login first: give a URL that hands out a token for a test user"
					     : "see the backend's logs");
		free(sum);
	} else {
		cJSON *j = resp.body ? sc_json_parse(resp.body, resp.len, NULL, 0) : NULL;
		const char *token = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "token"));
		if (!token)
			token = find_jwt(j);
		const char *ps_url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "powersync_url"));
		const char *url_key = "powersync_url";
		if (!ps_url) {
			ps_url = cJSON_GetStringValue(cJSON_GetObjectItemCaseSensitive(j, "endpoint"));
			url_key = "endpoint";
		}
		if (!token) {
			c = sc_report_add(r, "backend.token", SC_CHECK_FAIL, "the token endpoint's answer holds no JWT");
			sc_check_set_hint(c, "answer JSON such as {\"token\": \"eyJ...\", \"powersync_url\": \"https://...\"}");
		} else if (!have_keys) {
			sc_report_add(r, "backend.token", SC_CHECK_WARN, "got a token, but there is no usable JWKS to verify it against");
		} else {
			sc_verify_opts vo = { o->aud, o->naud, NULL, 60, 86400, (long long)time(NULL) };
			sc_jwt_result res;
			sc_jwt_verify(token, strlen(token), ks, &vo, &res);
			if (!res.valid) {
				sc_buf why = SC_BUF_INIT;
				for (size_t i = 0; i < res.nfailures; i++)
					sc_buf_printf(&why, "%s%s %s", i ? "; " : "", res.failures[i].code, res.failures[i].message);
				c = sc_report_add(r, "backend.token", SC_CHECK_FAIL, "the service would reject the endpoint's token: %s", why.data);
				sc_check_set_hint(c, "syncctl token verify TOKEN --jwks ... --aud ... explains each failure");
				sc_buf_free(&why);
			} else if (ps_url && !usable_url(ps_url)) {
				char *shown_url = sc_redact_secrets(ps_url);
				c = sc_report_add(r, "backend.token", SC_CHECK_WARN,
						  "the token verifies (kid %s), but the answer's %s \"%s\" is not a URL a client can connect to",
						  res.kid ? res.kid : "-", url_key, shown_url);
				sc_check_set_hint(c, "answer the sync service's public URL there, e.g. https://powersync.example.com (the client connects to it)");
				free(shown_url);
			} else {
				sc_report_add(r, "backend.token", SC_CHECK_OK, "the token endpoint's token verifies against the JWKS (kid %s)",
					      res.kid ? res.kid : "-");
			}
			sc_jwt_result_free(&res);
		}
		cJSON_Delete(j);
	}
	free(shown);
	sc_http_response_free(&resp);
}

/* A token for the upload endpoint, as the app's connector sends one: the
 * given one, else one minted with the configured signing key. */
static char *upload_token(const sc_backend_opts *o, const char **how)
{
	if (o->upload_token) {
		*how = "the given upload token";
		return sc_xstrdup(o->upload_token);
	}
	if (!o->key)
		return NULL;
	sc_error err;
	*how = "a token minted with the signing key";
	return mint_test_token(o->key, o->kid, o->aud, o->naud, 60, (long long)time(NULL), &err);
}

static void upload_check(const sc_backend_opts *o, sc_report *r)
{
	sc_report_mark(r);
	if (!o->upload_endpoint) {
		sc_report_add(r, "backend.upload", SC_CHECK_SKIP, "no upload endpoint: set --upload-endpoint URL to check it");
		return;
	}
	const char *how = NULL;
	char *token = upload_token(o, &how);
	if (!token && !o->upload_token && o->key_error)
		sc_log_verbose("upload check without a token: %s", o->key_error);
	char *auth = token ? sc_xasprintf("Authorization: Bearer %s", token) : NULL;
	const char *hdr[] = { "Content-Type: application/json", auth, NULL };
	sc_http_response resp;
	sc_error err;
	char *shown = sc_redact_secrets(o->upload_endpoint);
	sc_check *c;
	if (sc_http_request("POST", o->upload_endpoint, hdr, "{\"batch\":[]}", o->timeout_s, MAX_BODY, &resp, &err) != 0) {
		sc_report_add(r, "backend.upload", SC_CHECK_FAIL, "%s", err.message);
		goto out;
	}
	if (resp.status >= 200 && resp.status <= 299) {
		sc_report_add(r, "backend.upload", SC_CHECK_OK, "an empty upload batch was accepted (HTTP %ld%s%s)", resp.status,
			      token ? ", with " : "", token ? how : "");
	} else if ((resp.status == 401 || resp.status == 403) && !token) {
		c = sc_report_add(r, "backend.upload", SC_CHECK_WARN,
				  "the upload endpoint wants the app's credentials (HTTP %ld to a request without a token)", resp.status);
		sc_check_set_hint(c, "give --upload-token-file F, or a signing key (--key, --secret-file, or an HS key in client_auth.jwks) to send a token as the app's connector does");
	} else if (resp.status == 401 || resp.status == 403) {
		char *sum = summarize(&resp);
		c = sc_report_add(r, "backend.upload", SC_CHECK_FAIL, "the upload endpoint refused %s (HTTP %ld: %s)", how, resp.status, sum);
		sc_check_set_hint(c, "the backend verifies upload tokens with another key or audience than the one given here");
		free(sum);
	} else if (resp.status == 405) {
		char *allow = sc_http_header(&resp, "Allow");
		c = sc_report_add(r, "backend.upload", SC_CHECK_WARN,
				  "the upload endpoint does not take POST (HTTP 405%s%s%s)", allow ? "; it allows " : "",
				  allow ? allow : "", allow ? "" : "");
		sc_check_set_hint(c, "PowerSync defines no upload protocol: the app's own connector decides how changes are sent; this backend takes them with %s",
				  allow ? allow : "other methods");
		free(allow);
	} else if (resp.status == 404) {
		c = sc_report_add(r, "backend.upload", SC_CHECK_FAIL, "no such endpoint (HTTP 404): %s", shown);
		sc_check_set_hint(c, "check --upload-endpoint: the URL the app's connector sends its changes to");
	} else if (resp.status == 400 || resp.status == 422) {
		char *sum = summarize(&resp);
		c = sc_report_add(r, "backend.upload", SC_CHECK_FAIL, "an empty upload batch got HTTP %ld: %s", resp.status, sum);
		sc_check_set_hint(c, "the endpoint rejects {\"batch\": []}: if the app's connector sends another shape, this check does not apply to it");
		free(sum);
	} else {
		char *sum = summarize(&resp);
		c = sc_report_add(r, "backend.upload", SC_CHECK_FAIL, "an empty upload batch got HTTP %ld: %s", resp.status, sum);
		sc_check_set_hint(c, "see the backend's logs");
		free(sum);
	}
	sc_http_response_free(&resp);
out:
	free(shown);
	if (token) {
		memset(token, 0, strlen(token));
		free(token);
	}
	free(auth);
}

void sc_backend_check(const sc_backend_opts *o, sc_report *r)
{
	sc_keyset ks;
	memset(&ks, 0, sizeof ks);
	bool have_keys = false;
	if (o->jwks)
		have_keys = jwks_check(o->jwks, o->timeout_s, "backend.jwks", r, &ks);
	else
		sc_report_add(r, "backend.jwks", SC_CHECK_SKIP, "no JWKS configured: set --jwks or SYNCCTL_JWKS (or client_auth.jwks_uri)");
	token_check(o, &ks, have_keys, r);
	upload_check(o, r);
	sc_keyset_free(&ks);
}

/* One JWKS source as the service would use it: the keys join `all`. */
static void jwks_source_check(const sc_jwks_source *j, int timeout_s, sc_report *r, sc_keyset *all)
{
	sc_report_mark(r);
	if (j->refused) {
		sc_check *c = sc_report_add(r, j->id, SC_CHECK_FAIL, "the service refuses %s: %s", j->where, j->refused);
		sc_check_set_hint(c, "serve the JWKS from an address outside the blocked ranges, or change client_auth.jwks_reject_ip_ranges / block_local_jwks");
		return;
	}
	sc_keyset ks;
	memset(&ks, 0, sizeof ks);
	bool ok;
	if (j->json) {
		sc_error err;
		ok = sc_keyset_from_jwks(j->json, strlen(j->json), false, j->origin, &ks, &err) == 0;
		if (!ok) {
			sc_check *c = sc_report_add(r, j->id, SC_CHECK_FAIL, "%s", err.message);
			sc_check_set_hint(c, "fix %s in the service config: the service refuses keys it cannot read", j->origin);
			return;
		}
		sc_buf kids = SC_BUF_INIT;
		for (size_t i = 0; i < ks.n; i++)
			sc_buf_printf(&kids, "%s%s (%s)", kids.len ? ", " : "", ks.keys[i].kid ? ks.keys[i].kid : "no kid", ks.keys[i].kty);
		sc_report_add(r, j->id, SC_CHECK_OK, "%zu key(s) from %s: %s%s", ks.n, j->origin, kids.data,
			      j->supabase ? "; they take audience \"authenticated\" only" : "");
		sc_buf_free(&kids);
	} else {
		ok = jwks_check(j->where, timeout_s, j->id, r, &ks);
		if (ok && j->named_host && r->n && r->checks[r->n - 1].status == SC_CHECK_OK) {
			sc_check *c = &r->checks[r->n - 1];
			c->status = SC_CHECK_WARN;
			char *m = sc_xasprintf("%s; but the service blocks local addresses for its JWKS, and a compose service name such as this one resolves to a private address on the service's network", c->message);
			free(c->message);
			c->message = m;
			sc_check_set_hint(c, "the service will refuse it (PSYNC_S2203) when the name resolves into a blocked range: serve the JWKS from a public address, or drop block_local_jwks / the range");
		}
	}
	for (size_t i = 0; i < ks.n; i++) {
		sc_keyset_add(all, &ks.keys[i]);
		memset(&ks.keys[i], 0, sizeof ks.keys[i]);
	}
	ks.n = 0;
	sc_keyset_free(&ks);
}

void sc_auth_check(const sc_auth_opts *o, sc_report *r)
{
	sc_keyset ks;
	memset(&ks, 0, sizeof ks);
	for (size_t i = 0; i < o->njwks; i++)
		jwks_source_check(&o->jwks[i], o->timeout_s, r, &ks);
	if (!o->njwks)
		sc_report_add(r, "auth.jwks", SC_CHECK_SKIP, "no JWKS configured: set --jwks, SYNCCTL_JWKS or client_auth.jwks_uri");
	bool have = ks.n > 0;

	sc_report_mark(r);
	if (o->naud) {
		sc_buf a = SC_BUF_INIT;
		for (size_t i = 0; i < o->naud; i++)
			sc_buf_printf(&a, "%s%s", i ? ", " : "", o->aud[i]);
		sc_report_add(r, "auth.audience", SC_CHECK_OK, "accepted audience: %s", a.data);
		sc_buf_free(&a);
	} else {
		sc_check *c = sc_report_add(r, "auth.audience", o->njwks ? SC_CHECK_FAIL : SC_CHECK_SKIP,
					    "no audience configured: the service rejects every token (PSYNC_S2105)");
		sc_check_set_hint(c, "set client_auth.audience in the service config, and --aud or SYNCCTL_AUDIENCE here");
	}

	sc_report_mark(r);
	if (!o->key && o->key_error) {
		sc_check *c = sc_report_add(r, "auth.roundtrip", SC_CHECK_FAIL, "the signing key cannot be used: %s", o->key_error);
		sc_check_set_hint(c, "POWERSYNC_PRIVATE_KEY holds a PEM private key or the base64 of a private JWK (as PowerSync's key generator writes it)");
	} else if (!o->key) {
		sc_report_add(r, "auth.roundtrip", SC_CHECK_SKIP, "no signing key: set --key or POWERSYNC_PRIVATE_KEY for a mint-and-verify round trip");
	} else if (!have || !o->naud) {
		sc_report_add(r, "auth.roundtrip", SC_CHECK_SKIP, "a round trip needs a usable JWKS and an audience");
	} else {
		sc_error err;
		long long now = (long long)time(NULL);
		char *token = mint_test_token(o->key, o->kid, o->aud, o->naud, 300, now, &err);
		if (!token) {
			sc_report_add(r, "auth.roundtrip", SC_CHECK_FAIL, "cannot mint with the signing key: %s", err.message);
		} else {
			sc_verify_opts vo = { o->aud, o->naud, NULL, 60, 86400, now };
			sc_jwt_result res;
			sc_jwt_verify(token, strlen(token), &ks, &vo, &res);
			if (res.valid) {
				sc_report_add(r, "auth.roundtrip", SC_CHECK_OK, "a token minted with the signing key verifies against the JWKS (kid %s)",
					      res.kid ? res.kid : "-");
			} else {
				sc_check *c = sc_report_add(r, "auth.roundtrip", SC_CHECK_FAIL,
							    "a token minted with the signing key does not verify against the JWKS: %s",
							    res.nfailures ? res.failures[0].message : "?");
				sc_check_set_hint(c, "serve this key's public half in the JWKS (syncctl token jwks --key KEY) with the same kid");
			}
			sc_jwt_result_free(&res);
			free(token);
		}
	}
	sc_keyset_free(&ks);
}
