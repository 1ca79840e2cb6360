/* syncctl schema init: apply schema SQL, the publication and the replication
 * role, idempotently and all-or-nothing. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/buf.h"
#include "../lib/pg.h"
#include "../lib/schema.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct {
	char **files;
	size_t nfiles;
	char **tables;
	size_t ntables;
	bool all_tables;
	const char *publication;
	const char *role;
	const char *password_file;
	bool dry_run, reapply;
} schema_opts;

static const sc_opt opts[] = {
	{ "db", 0, required_argument, "URI", "source Postgres (default: SYNCCTL_DB, DATABASE_URL, PG* variables)", OPT_DB, NULL },
	{ "file", 'f', required_argument, "FILE", "SQL file to apply (repeatable; in order, all in one transaction)", OPT_FILE, "file" },
	{ "publication", 0, required_argument, "NAME", "publication to create or fix (default powersync)", OPT_PUBLICATION, NULL },
	{ "tables", 0, required_argument, "T,..", "publish these tables only (comma list)", OPT_TABLES, NULL },
	{ "all-tables", 0, no_argument, NULL, "publish all tables (the default)", OPT_ALL_TABLES, NULL },
	{ "role", 0, required_argument, "NAME", "create or update this replication role (LOGIN REPLICATION BYPASSRLS)", OPT_ROLE, NULL },
	{ "password-file", 0, required_argument, "FILE", "the role's password, read from a file (never argv)", OPT_PASSWORD_FILE, "file" },
	{ "dry-run", 'n', no_argument, NULL, "print the SQL it would run and change nothing", OPT_DRY_RUN, NULL },
	{ "reapply", 0, no_argument, NULL, "run files again whose content changed since they were applied", OPT_REAPPLY, NULL },
	{ 0 },
};

static void push(char ***v, size_t *n, char *s)
{
	*v = sc_xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = s;
}

static int on_opt(sc_ctx *ctx, int id, const char *arg, void *data)
{
	schema_opts *o = data;
	switch (id) {
	case OPT_DB: sc_config_set_flag(&ctx->cfg, SC_SET_DB, arg); return 0;
	case 'f':
	case OPT_FILE: push(&o->files, &o->nfiles, sc_xstrdup(arg)); return 0;
	case OPT_PUBLICATION:
		if (!*arg)
			return sc_cli_usage_error(ctx, "--publication needs a name");
		o->publication = arg;
		return 0;
	case OPT_TABLES: {
		const char *p = arg;
		while (*p) {
			size_t n = strcspn(p, ",");
			char *t = sc_xstrndup(p, n);
			char *s = t;
			while (*s == ' ')
				s++;
			size_t l = strlen(s);
			while (l && s[l - 1] == ' ')
				s[--l] = '\0';
			if (*s)
				push(&o->tables, &o->ntables, sc_xstrdup(s));
			free(t);
			p += n;
			if (*p == ',')
				p++;
		}
		if (!o->ntables)
			return sc_cli_usage_error(ctx, "--tables needs at least one table name");
		return 0;
	}
	case OPT_ALL_TABLES: o->all_tables = true; return 0;
	case OPT_ROLE:
		if (!*arg)
			return sc_cli_usage_error(ctx, "--role needs a name");
		o->role = arg;
		return 0;
	case OPT_PASSWORD_FILE: o->password_file = arg; return 0;
	case 'n':
	case OPT_DRY_RUN: o->dry_run = true; return 0;
	case OPT_REAPPLY: o->reapply = true; return 0;
	}
	return -1;
}

static char *read_password(sc_ctx *ctx, const char *path, sc_error *err)
{
	struct stat st;
	if (stat(path, &st) == 0 && (st.st_mode & 077))
		sc_cli_warn(ctx, "password file %s is readable by group or others; chmod 600 %s", path, path);
	size_t len;
	char *pw = sc_read_file(path, 4096, &len, "password file", err);
	if (!pw)
		return NULL;
	while (len && (pw[len - 1] == '\n' || pw[len - 1] == '\r'))
		pw[--len] = '\0';
	if (!len || strlen(pw) != len) {
		free(pw);
		sc_error_set(err, SC_EXIT_USAGE, "password file %s is empty or not text", path);
		return NULL;
	}
	return pw;
}

static void print_dry_run(const sc_report *r)
{
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(r->extra, "statements"))
		printf("%s;\n", s->valuestring);
}

static int run_init(sc_ctx *ctx, schema_opts *o)
{
	int rc = sc_ctx_load_config(ctx);
	if (rc)
		return rc;
	sc_error err;
	sc_error_clear(&err);
	char *password = NULL;
	if (o->password_file && !(password = read_password(ctx, o->password_file, &err)))
		return sc_cli_fail(ctx, &err);
	sc_pg *pg = sc_cli_connect_db(ctx, &err);
	if (!pg) {
		free(password);
		return sc_cli_fail(ctx, &err);
	}
	sc_schema_opts so = {
		.files = o->files, .nfiles = o->nfiles,
		.publication = o->publication ? o->publication : "powersync",
		.tables = o->tables, .ntables = o->ntables,
		.role = o->role, .role_password = password,
		.dry_run = o->dry_run, .reapply = o->reapply,
	};
	sc_report r;
	sc_report_init(&r);
	int code = sc_schema_init(pg, &so, &r, &err);
	if (code != SC_EXIT_OK) {
		/* The checks say which file; the error line says why. */
		if (ctx->json) {
			cJSON_AddStringToObject(r.extra, "error", err.message);
			sc_check *c = sc_report_add(&r, "schema.init", SC_CHECK_FAIL, "%s", err.message);
			(void)c;
			char *s = sc_report_render_json(&r);
			puts(s);
			free(s);
		} else {
			if (r.n && !ctx->quiet) {
				sc_render_opts ro = { sc_cli_color_stdout(ctx), true, false, false, false };
				char *s = sc_report_render_text(&r, &ro);
				fputs(s, stdout);
				free(s);
			}
			sc_cli_error(ctx, "%s", err.message);
		}
		rc = code;
	} else if (o->dry_run && !ctx->json) {
		print_dry_run(&r);
		bool would = cJSON_IsTrue(cJSON_GetObjectItem(r.extra, "would_change"));
		fprintf(stderr, "syncctl schema: dry run: %s; nothing was changed\n",
			would ? "the statements above would run" : "nothing to do");
		rc = sc_report_exit_code(&r, ctx->strict);
	} else {
		bool changed = cJSON_IsTrue(cJSON_GetObjectItem(r.extra, "changed"));
		if (!ctx->json)
			cJSON_DeleteItemFromObject(r.extra, "statements");
		rc = sc_cli_print_report(ctx, &r, NULL);
		if (!ctx->json && !ctx->quiet)
			puts(changed ? "schema init: applied" : "schema init: nothing to do");
	}
	sc_report_free(&r);
	sc_pg_close(pg);
	free(password);
	return rc;
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	schema_opts o;
	memset(&o, 0, sizeof o);
	int first = sc_cli_parse(ctx, argc, argv, on_opt, &o);
	int rc;
	if (first == -2 || first < 0) {
		rc = first == -2 ? SC_EXIT_OK : SC_EXIT_USAGE;
	} else if (first >= argc) {
		rc = sc_cli_usage_error(ctx, "which subcommand? 'schema init'");
	} else if (strcmp(argv[first], "init") != 0) {
		rc = sc_cli_usage_error(ctx, "unknown subcommand '%s' (init)", argv[first]);
	} else if (argc - first > 1) {
		rc = sc_cli_usage_error(ctx, "unexpected argument '%s' (SQL files go with -f)", argv[first + 1]);
	} else if (o.all_tables && o.ntables) {
		rc = sc_cli_usage_error(ctx, "--tables and --all-tables exclude each other");
	} else if (o.password_file && !o.role) {
		rc = sc_cli_usage_error(ctx, "--password-file goes with --role");
	} else {
		rc = run_init(ctx, &o);
	}
	for (size_t i = 0; i < o.nfiles; i++)
		free(o.files[i]);
	for (size_t i = 0; i < o.ntables; i++)
		free(o.tables[i]);
	free(o.files);
	free(o.tables);
	return rc;
}

static const char *const usage[] = {
	"schema init [--db URI] [-f FILE]... [--publication NAME] [--tables T,..|--all-tables]",
	"            [--role NAME --password-file FILE] [--dry-run] [--reapply]",
	NULL,
};

const sc_cmd cmd_schema = {
	.name = "schema",
	.summary = "apply schema SQL, create the publication and replication role, idempotently",
	.usage = usage,
	.description =
		"'schema init' applies the SQL files in one transaction, all of them or none, and\n"
		"records each (name and SHA-256) in syncctl.applied_files: a second run skips what\n"
		"is applied, and a file changed since it was applied is refused unless --reapply.\n"
		"It then creates the publication (FOR ALL TABLES, or --tables) or makes an existing\n"
		"one publish insert, update, delete and truncate, and with --role creates or updates\n"
		"a LOGIN REPLICATION BYPASSRLS role with SELECT on the synced tables. wal_level is\n"
		"reported, not changed (that needs a restart). --dry-run prints the SQL only.",
	.subcommands = "init",
	.opts = opts,
	.reports = true,
	.run = run,
};
