/* syncctl schema init: apply schema SQL, the publication and the replication
 * role, idempotently and all-or-nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/buf.h"
#include "../lib/pg.h"
#include "../lib/replication.h"
#include "../lib/schema.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct {
	sc_list files;
	sc_list tables;
	bool all_tables;
	const char *publication;
	const char *role;
	const char *password_file;
	bool dry_run, reapply;
} schema_opts;

/* --tables a,b: a comma list, blanks around names dropped. */
static int tables_opt(sc_ctx *ctx, const sc_opt *opt, const char *arg, void *target)
{
	(void)opt;
	sc_list *l = target;
	size_t before = l->n;
	for (const char *p = arg; *p;) {
		size_t n = strcspn(p, ",");
		char *t = sc_xstrndup(p, n);
		char *s = t;
		while (*s == ' ')
			s++;
		size_t len = strlen(s);
		while (len && s[len - 1] == ' ')
			s[--len] = '\0';
		if (*s)
			sc_list_push(l, sc_xstrdup(s));
		free(t);
		p += n;
		if (*p == ',')
			p++;
	}
	if (l->n == before)
		return sc_cli_usage_error(ctx, "--tables needs at least one table name");
	return 0;
}

static const sc_opt opts[] = {
	OPT_SETTING("db", 0, SC_SET_DB, "URI", "source Postgres (default: SYNCCTL_DB, DATABASE_URL, PG* variables)"),
	OPT_LIST(schema_opts, "file", 'f', files, "FILE", "SQL file to apply (repeatable; in order, all in one transaction)", .file = true, .nonempty = true,
		 .doc = "Recorded by its base name, which must be unique among the files."),
	OPT_STRING(schema_opts, "publication", 0, publication, "NAME", "publication to create or fix (default powersync)", .nonempty = true),
	OPT_CALL(schema_opts, "tables", 0, tables, "T,..", tables_opt, "publish these tables only (comma list)",
		 .doc = "Schema-qualified or quoted names as SQL would write them."),
	OPT_FLAG(schema_opts, "all-tables", 0, all_tables, "publish all tables (the default)"),
	OPT_STRING(schema_opts, "role", 0, role, "NAME", "create or update this replication role (LOGIN REPLICATION BYPASSRLS)", .nonempty = true),
	OPT_FILE(schema_opts, "password-file", 0, password_file, "FILE", "the role's password, read from a file (never argv)",
		 .doc = "Its first line. Required to create a role. A file readable by group or others gets a warning."),
	OPT_FLAG(schema_opts, "dry-run", 'n', dry_run, "print the SQL it would run and change nothing",
		 .doc = "Exactly the SQL (BEGIN; ...; COMMIT;) on stdout, passwords as \\*\\*\\*; the state is read in a read-only transaction. With *--json* the report has *changed*, *dry_run* and *statements* beside the checks."),
	OPT_FLAG(schema_opts, "reapply", 0, reapply, "run files again whose content changed since they were applied"),
	OPT_END,
};

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

/* --dry-run: the statements it would run, and a word on stderr. */
static void dry_run_text(sc_ctx *ctx, FILE *out, void *data)
{
	(void)ctx;
	const sc_report *r = data;
	const cJSON *s;
	cJSON_ArrayForEach(s, cJSON_GetObjectItem(r->extra, "statements"))
		fprintf(out, "%s;\n", s->valuestring);
	bool would = cJSON_IsTrue(cJSON_GetObjectItem(r->extra, "would_change"));
	fprintf(stderr, "syncctl schema: dry run: %s; nothing was changed\n",
		would ? "the statements above would run" : "nothing to do");
}

/* A failed init: which file and statement (the failing checks); the error
 * line itself goes to stderr. */
static void failed_text(sc_ctx *ctx, FILE *out, void *data)
{
	const sc_report *r = data;
	if (!r->n || ctx->quiet)
		return;
	sc_render_opts ro = { sc_cli_color_stdout(ctx), true, false, false, false };
	char *s = sc_report_render_text(r, &ro);
	fputs(s, out);
	free(s);
}

static void applied_text(sc_ctx *ctx, FILE *out, void *data)
{
	const sc_report *r = data;
	sc_cli_report_text(ctx, out, r, NULL);
	if (!ctx->quiet)
		fputs(cJSON_IsTrue(cJSON_GetObjectItem(r->extra, "changed")) ? "schema init: applied\n" : "schema init: nothing to do\n", out);
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
		.files = o->files.v, .nfiles = o->files.n,
		.publication = o->publication ? o->publication : SC_DEFAULT_PUBLICATION,
		.tables = o->tables.v, .ntables = o->tables.n,
		.role = o->role, .role_password = password,
		.dry_run = o->dry_run, .reapply = o->reapply,
	};
	sc_report r;
	sc_report_init(&r);
	int code = sc_schema_init(pg, &so, &r, &err);
	if (code != SC_EXIT_OK) {
		/* The checks say which file; the error line says why. */
		cJSON_AddStringToObject(r.extra, "error", err.message);
		sc_report_add(&r, "schema.init", SC_CHECK_FAIL, "%s", err.message);
		sc_out out = { .report = &r, .text = failed_text, .data = &r, .rc = code };
		rc = sc_cli_output(ctx, &out);
		sc_cli_error(ctx, "%s", err.message);
	} else {
		sc_out out = { .report = &r, .text = o->dry_run ? dry_run_text : applied_text, .data = &r, .rc = -1 };
		rc = sc_cli_output(ctx, &out);
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
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc)) {
		/* parsed: --help or a usage error */
	} else if (first >= argc) {
		rc = sc_cli_usage_error(ctx, "which subcommand? 'schema init'");
	} else if (strcmp(argv[first], "init") != 0) {
		rc = sc_cli_usage_error(ctx, "unknown subcommand '%s' (init)", argv[first]);
	} else if (argc - first > 1) {
		rc = sc_cli_usage_error(ctx, "unexpected argument '%s' (SQL files go with -f)", argv[first + 1]);
	} else if (o.all_tables && o.tables.n) {
		rc = sc_cli_usage_error(ctx, "--tables and --all-tables exclude each other");
	} else if (o.password_file && !o.role) {
		rc = sc_cli_usage_error(ctx, "--password-file goes with --role");
	} else {
		rc = run_init(ctx, &o);
	}
	for (size_t i = 0; i < o.tables.n; i++)
		free(o.tables.v[i]);
	sc_list_free(&o.files);
	sc_list_free(&o.tables);
	return rc;
}

static const char *const usage[] = {
	"schema init [--db URI] [-f FILE].. [--publication NAME] [--tables T,..|--all-tables]",
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
		"checked (pg.wal_level fails unless logical), not changed: that needs a restart.\n"
		"--dry-run prints the SQL only.",
	.subcommands = "init",
	.opts = opts,
	.formats = SC_FMT_TEXT_JSON,
	.run = run,
};
