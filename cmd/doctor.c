/* syncctl doctor: every configured check of the deployment, groups run
 * concurrently, one report. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../lib/buf.h"
#include "../lib/jose.h"
#include "../lib/pg.h"
#include "../lib/replication.h"
#include "../lib/rules.h"
#include "../lib/service.h"
#include "../lib/storage.h"
#include "../lib/util.h"
#include "cli.h"

static const char *const groups[] = { "config", "source", "rules", "auth", "storage", "service", "backend", NULL };
#define NGROUPS 7

typedef struct {
	sc_settings s;
	const char *only;
	const char *skip;
} doctor_opts;

static int groups_opt(sc_ctx *ctx, const sc_opt *o, const char *arg, void *target);

static const sc_opt opts[] = {
	SETTINGS_OPTS(doctor_opts),
	OPT_SETTING("rules", 0, SC_SET_RULES, "FILE", "the sync rules (default: SYNCCTL_RULES, the service config)", .file = true),
	OPT_CALL(doctor_opts, "only", 0, only, "GROUPS", groups_opt,
		 "run only these groups: config,source,rules,auth,storage,service,backend (config always runs unless skipped)",
		 .values = "config source rules auth storage service backend"),
	OPT_CALL(doctor_opts, "skip", 0, skip, "GROUPS", groups_opt, "skip these groups",
		 .values = "config source rules auth storage service backend"),
	OPT_END,
};

static bool valid_groups(const char *list, char *bad, size_t badlen)
{
	char *copy = sc_xstrdup(list);
	bool ok = true;
	for (char *t = strtok(copy, ","); t && ok; t = strtok(NULL, ",")) {
		bool found = false;
		for (int i = 0; groups[i]; i++)
			found = found || strcmp(groups[i], t) == 0;
		if (!found) {
			snprintf(bad, badlen, "%s", t);
			ok = false;
		}
	}
	free(copy);
	return ok;
}

static bool in_list(const char *list, const char *g)
{
	if (!list)
		return false;
	size_t n = strlen(g);
	for (const char *p = list; *p;) {
		size_t k = strcspn(p, ",");
		if (k == n && strncmp(p, g, n) == 0)
			return true;
		p += k;
		if (*p == ',')
			p++;
	}
	return false;
}

static int groups_opt(sc_ctx *ctx, const sc_opt *o, const char *arg, void *target)
{
	(void)o;
	char bad[64];
	if (!valid_groups(arg, bad, sizeof bad))
		return sc_cli_usage_error(ctx, "unknown group '%s' (config, source, rules, auth, storage, service, backend)", bad);
	*(const char **)target = arg;
	return 0;
}

typedef struct job {
	const char *group;
	const sc_settings *s;
	const sc_config *cfg;
	int timeout;
	sc_report report;
	pthread_t thread;
	bool started;
} job;

/* What the service config says, as the service would take it: what it
 * refuses to start on fails, what it ignores warns. */
static void config_group(job *j)
{
	sc_report *r = &j->report;
	const sc_config *c = j->cfg;
	if (!c->ps_path)
		return;
	for (size_t i = 0; i < c->nissues; i++) {
		sc_check *k = sc_report_add(r, c->issues[i].id, c->issues[i].fail ? SC_CHECK_FAIL : SC_CHECK_WARN, "%s",
					    c->issues[i].message);
		if (c->issues[i].hint)
			sc_check_set_hint(k, "%s", c->issues[i].hint);
	}
	bool fail = false;
	for (size_t i = 0; i < c->nissues; i++)
		fail = fail || c->issues[i].fail;
	sc_report_add(r, "config", fail ? SC_CHECK_FAIL : SC_CHECK_OK, fail ? "the service would refuse to start with %s (see above)"
									  : "%s reads as the service reads it",
		      c->ps_path);
}

static void source_group(job *j)
{
	sc_report *r = &j->report;
	const sc_settings *s = j->s;
	if (!s->db) {
		sc_check *c;
		if (s->db_blocked) {
			c = sc_report_add(r, "source", SC_CHECK_FAIL, "the source database of the service config cannot be used: %s", s->db_blocked);
			sc_check_set_hint(c, "fix the service config (see the config checks), or give --db");
		} else if (s->db_skip) {
			c = sc_report_add(r, "source", SC_CHECK_SKIP, "the service config's source is a %s database (replication.connections[0].type): the Postgres checks do not apply", s->db_skip);
			sc_check_set_hint(c, "syncctl checks Postgres sources; give --db for one");
		} else {
			c = sc_report_add(r, "source", SC_CHECK_SKIP, "no source database configured");
			sc_check_set_hint(c, "set --db, SYNCCTL_DB or DATABASE_URL, or --powersync-config");
		}
		return;
	}
	sc_error err;
	sc_pg *pg = sc_pg_connect(s->db, "the source database", j->timeout, &err);
	if (!pg) {
		sc_check *c = sc_report_add(r, "pg.connect", SC_CHECK_FAIL, "%s", err.message);
		if (s->db_sslmode_default && (strstr(err.message, "SSL") || strstr(err.message, "certificate")))
			sc_check_set_hint(c, "the service config sets no sslmode, so the service (and syncctl) connect with verify-full; "
					     "set sslmode: disable on replication.connections[0] for a server without TLS, or verify-ca with cacert");
		else
			sc_check_set_hint(c, "check the connection string, that Postgres runs and accepts connections from here");
		return;
	}
	sc_report_add(r, "pg.connect", SC_CHECK_OK, "connected to %s", pg->display);
	if (sc_replication_check_settings(pg, r, &err) != 0 ||
	    sc_replication_check_slots(pg, r, SC_DEFAULT_MAX_RETAINED, &err) != 0 ||
	    sc_publication_check(pg, r, SC_DEFAULT_PUBLICATION, NULL, 0, &err) != 0)
		sc_report_add(r, "pg.queries", SC_CHECK_FAIL, "%s", err.message);
	cJSON_DeleteItemFromObject(r->extra, "slots");
	sc_pg_close(pg);
}

static void rules_group(job *j)
{
	sc_report *r = &j->report;
	const sc_settings *s = j->s;
	if (!s->rules && !s->rules_content && s->rules_blocked) {
		sc_check *c = sc_report_add(r, "rules", SC_CHECK_SKIP, "%s", s->rules_blocked);
		sc_check_set_hint(c, "give --rules FILE (or SYNCCTL_RULES)");
		return;
	}
	if (!s->rules && !s->rules_content) {
		sc_check *c = sc_report_add(r, "rules", SC_CHECK_SKIP, "no sync rules configured");
		sc_check_set_hint(c, "set --rules FILE, SYNCCTL_RULES, or --powersync-config (sync_config)");
		return;
	}
	sc_error err;
	size_t len = 0;
	char *text = s->rules ? sc_read_file(s->rules, SC_RULES_MAX_BYTES, &len, "rules file", &err)
			      : sc_xstrdup(s->rules_content);
	const char *name = s->rules ? s->rules : "sync_config.content";
	if (!text) {
		sc_report_add(r, "rules.file", SC_CHECK_FAIL, "%s", err.message);
		return;
	}
	if (!s->rules)
		len = strlen(text);
	sc_rules_result res;
	if (sc_rules_validate(text, len, name, &res, &err) != 0) {
		sc_check *c = sc_report_add(r, "rules.file", SC_CHECK_FAIL, "%s", err.message);
		sc_check_set_hint(c, "syncctl rules validate %s", name);
		sc_rules_result_free(&res);
		free(text);
		return;
	}
	bool live = false;
	if (sc_rules_count(&res, SC_RULES_ERROR) == 0 && s->db) {
		sc_pg *pg = sc_pg_connect(s->db, "the source database", j->timeout, &err);
		if (pg && sc_rules_check_live(pg, SC_DEFAULT_PUBLICATION, &res, &err) == 0)
			live = true;
		else
			sc_report_add(r, "rules.live", SC_CHECK_FAIL, "cannot check the rules against the database: %s", err.message);
		sc_pg_close(pg);
	}
	size_t errors = sc_rules_count(&res, SC_RULES_ERROR), warnings = sc_rules_count(&res, SC_RULES_WARNING);
	cJSON *details = sc_rules_json(&res);
	sc_check *c;
	if (errors) {
		const sc_rules_diag *first = NULL;
		for (size_t i = 0; i < res.ndiags && !first; i++)
			if (res.diags[i].severity == SC_RULES_ERROR)
				first = &res.diags[i];
		c = sc_report_add(r, "rules.file", SC_CHECK_FAIL, "%zu error(s) in %s; first: line %d: %s", errors, name,
				  first->line, first->message);
		sc_check_set_hint(c, "syncctl rules validate %s%s shows each with its line", name, live || s->db ? " --db ..." : "");
	} else if (warnings) {
		c = sc_report_add(r, "rules.file", SC_CHECK_WARN, "%s is valid with %zu warning(s)%s", name, warnings,
				  live ? ", and matches the database" : "");
		sc_check_set_hint(c, "syncctl rules validate %s shows them", name);
	} else {
		c = sc_report_add(r, "rules.file", SC_CHECK_OK, "%s is valid (%d definitions)%s", name,
				  cJSON_GetArraySize(res.buckets), live ? " and matches the database" : "");
	}
	sc_check_set_details(c, details);
	sc_rules_result_free(&res);
	free(text);
}

static void auth_group(job *j)
{
	const sc_settings *s = j->s;
	sc_auth_opts ao = { s->jwks, s->njwks, s->key, s->kid, s->aud, s->naud, j->timeout, s->key_error };
	sc_auth_check(&ao, &j->report);
}

static void storage_group(job *j)
{
	const sc_settings *s = j->s;
	if (!s->storage && s->storage_blocked) {
		sc_check *c = sc_report_add(&j->report, "storage", SC_CHECK_FAIL, "the bucket storage of the service config cannot be used: %s", s->storage_blocked);
		sc_check_set_hint(c, "fix the service config (see the config checks), or give --storage URI");
		return;
	}
	if (!s->storage) {
		sc_check *c = sc_report_add(&j->report, "storage", SC_CHECK_SKIP, "no bucket storage configured");
		sc_check_set_hint(c, "set --storage URI, SYNCCTL_STORAGE, or --powersync-config (storage.uri)");
		return;
	}
	sc_storage_opts so = { s->storage, s->storage_type, s->db, j->timeout, 0 };
	sc_error err;
	/* A check that could not be made is a failing check of the group. */
	(void)sc_storage_check(&so, &j->report, &err);
}

static void service_group(job *j)
{
	const sc_settings *s = j->s;
	if (!s->service) {
		sc_check *c = sc_report_add(&j->report, "service", SC_CHECK_SKIP, "no sync service URL configured");
		sc_check_set_hint(c, "set --service URL or POWERSYNC_URL (or port in the service config)");
		return;
	}
	sc_service_opts so = { s->service, s->api_token, s->key, s->kid, s->aud, s->naud, j->timeout, s->key_error };
	sc_service_check(&so, &j->report);
}

static void backend_group(job *j)
{
	const sc_settings *s = j->s;
	/* The backend serves the first JWKS URL. */
	const char *jwks_url = s->njwks && sc_is_http_url(s->jwks[0].where) && !s->jwks[0].refused ? s->jwks[0].where : NULL;
	if (!jwks_url && !s->token_endpoint && !s->upload_endpoint) {
		sc_check *c = sc_report_add(&j->report, "backend", SC_CHECK_SKIP, "no app backend endpoints configured");
		sc_check_set_hint(c, "set --jwks URL, --token-endpoint URL, --upload-endpoint URL");
		return;
	}
	sc_backend_opts bo = { jwks_url, s->token_endpoint, s->upload_endpoint, s->aud, s->naud, j->timeout,
			       s->upload_token, s->key, s->kid, s->key_error };
	sc_backend_check(&bo, &j->report);
}

static void *run_job(void *arg)
{
	job *j = arg;
	if (strcmp(j->group, "config") == 0)
		config_group(j);
	else if (strcmp(j->group, "source") == 0)
		source_group(j);
	else if (strcmp(j->group, "rules") == 0)
		rules_group(j);
	else if (strcmp(j->group, "auth") == 0)
		auth_group(j);
	else if (strcmp(j->group, "storage") == 0)
		storage_group(j);
	else if (strcmp(j->group, "service") == 0)
		service_group(j);
	else
		backend_group(j);
	return NULL;
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	doctor_opts o;
	memset(&o, 0, sizeof o);
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc))
		return rc;
	if (first < argc)
		return sc_cli_usage_error(ctx, "unexpected argument '%s'", argv[first]);
	if ((rc = sc_ctx_load_config(ctx)) != 0)
		return rc;
	if ((rc = sc_cli_settings(ctx, &o.s)) != 0) {
		sc_settings_free(&o.s);
		return rc;
	}
	job jobs[NGROUPS];
	memset(jobs, 0, sizeof jobs);
	sc_report all;
	sc_report_init(&all);
	/* Independent groups at once: each bounded by --timeout per
	 * operation, the whole run by the slowest group. */
	for (int i = 0; i < NGROUPS; i++) {
		jobs[i].group = groups[i];
		jobs[i].s = &o.s;
		jobs[i].cfg = &ctx->cfg;
		jobs[i].timeout = ctx->timeout;
		sc_report_init(&jobs[i].report);
		/* The config's own checks always run (unless skipped): a config the
		 * service would refuse matters whatever else is checked. */
		bool wanted = !o.only || in_list(o.only, groups[i]) || strcmp(groups[i], "config") == 0;
		if (!wanted || in_list(o.skip, groups[i]))
			continue;
		jobs[i].started = pthread_create(&jobs[i].thread, NULL, run_job, &jobs[i]) == 0;
		if (!jobs[i].started)
			run_job(&jobs[i]);
	}
	for (int i = 0; i < NGROUPS; i++)
		if (jobs[i].started)
			pthread_join(jobs[i].thread, NULL);
	for (int i = 0; i < NGROUPS; i++) {
		sc_report_append(&all, &jobs[i].report, groups[i]);
		sc_report_free(&jobs[i].report);
	}
	cJSON_AddItemToObject(all.extra, "settings", sc_settings_json(&ctx->cfg, &o.s));
	rc = sc_cli_print_report(ctx, &all, NULL);
	sc_report_free(&all);
	sc_settings_free(&o.s);
	return rc;
}

static const char *const usage[] = {
	"doctor [--db URI] [--storage URI] [--service URL] [--api-token-file F] [--jwks URL|FILE]",
	"       [--key FILE|--secret-file F] [--kid KID] [--aud AUD].. [--rules FILE] [--token-endpoint URL]",
	"       [--upload-endpoint URL [--upload-token-file F]] [--only GROUPS] [--skip GROUPS] [--strict]",
	"       [--format FORMAT]",
	NULL,
};

const sc_cmd cmd_doctor = {
	.name = "doctor",
	.summary = "every configured check of the deployment, in one report",
	.usage = usage,
	.description =
		"Checks everything that is configured, in groups run at once: source (the\n"
		"checks of slots and publications), rules (validation and the live-database\n"
		"checks), auth (JWKS, audience, a mint-and-verify round trip), storage (replica\n"
		"set, sync state), service (probes, diagnostics, a real sync stream) and backend\n"
		"(JWKS URL, token and upload endpoints). What is not configured is skipped, with\n"
		"the setting that would enable it. Every failure names its fix.",
	.opts = opts,
	.formats = SC_FMT_ALL,
	.run = run,
};
