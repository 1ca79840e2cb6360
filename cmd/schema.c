/* syncctl schema init: apply schema SQL, the publication and the replication
 * role, idempotently and all-or-nothing.
 * syncctl schema client: the app's client-side schema, generated from the
 * sync rules and the live database as PowerSync's own generators write it. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "../lib/buf.h"
#include "../lib/clientschema.h"
#include "../lib/pg.h"
#include "../lib/replication.h"
#include "../lib/rules.h"
#include "../lib/schema.h"
#include "../lib/text.h"
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
	/* client; -1: not given */
	int lang;                  /* sc_cs_lang */
	int imports;               /* sc_cs_imports, through imports_words */
	bool type_comments;
} schema_opts;

/* --lang's words, in sc_cs_lang's order (the reference's schemaGenerators
 * keys, then Room and drift); --imports' in the order the issue lists them. */
#define LANG_WORDS "ts js js-legacy dart kotlin swift dotnet dotnet-class room drift"
#define IMPORTS_WORDS "web react-native auto"
static const sc_cs_imports imports_words[] = { SC_IMPORTS_WEB, SC_IMPORTS_REACT_NATIVE, SC_IMPORTS_AUTO };

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
	OPT_SETTING("rules", 0, SC_SET_RULES, "FILE", "client: the sync rules (default: SYNCCTL_RULES, the service config's sync_config)", .file = true,
		    .nonempty = true),
	OPT_ENUM(schema_opts, "lang", 0, lang, "LANG", LANG_WORDS, "client: the generator (default ts)",
		 .doc = "*room* is Room for Kotlin Multiplatform, *drift* the CREATE TABLE statements of drift and SQLDelight; "
			"the others are the keys of the reference's *schemaGenerators*. Each with that generator's defaults."),
	OPT_ENUM(schema_opts, "imports", 0, imports, "WHERE", IMPORTS_WORDS, "client, ts and js: import from web, react-native, or auto (the default)",
		 .doc = "The TS generator's *imports*: *auto* imports from *@powersync/web* with the *@powersync/react-native* "
			"line as a comment."),
	OPT_FLAG(schema_opts, "type-comments", 0, type_comments, "client: each column's source type as a comment",
		 .doc = "Where the generator writes them (its *includeTypeComments*)."),
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

/* ---- schema client ---- */

static cJSON *schema_json(const sc_cs_schema *cs, const char *text, const sc_cs_render_opts *ro)
{
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "lang", sc_cs_lang_name(ro->lang));
	cJSON *tables = cJSON_AddArrayToObject(j, "tables");
	for (size_t i = 0; i < cs->ntables; i++) {
		cJSON *t = cJSON_CreateObject();
		cJSON_AddStringToObject(t, "name", cs->tables[i].name);
		cJSON *cols = cJSON_AddArrayToObject(t, "columns");
		for (size_t k = 0; k < cs->tables[i].ncolumns; k++) {
			const sc_cs_column *c = &cs->tables[i].columns[k];
			cJSON *cj = cJSON_CreateObject();
			cJSON_AddStringToObject(cj, "name", c->name);
			cJSON_AddStringToObject(cj, "type", sc_cs_sql_type(c->flags));
			if (c->original)
				cJSON_AddStringToObject(cj, "source_type", c->original);
			else
				cJSON_AddNullToObject(cj, "source_type");
			cJSON_AddItemToArray(cols, cj);
		}
		cJSON_AddItemToArray(tables, t);
	}
	cJSON *streams = cJSON_AddArrayToObject(j, "streams");
	for (size_t i = 0; i < cs->nstreams; i++) {
		cJSON *st = cJSON_CreateObject();
		cJSON_AddStringToObject(st, "name", cs->streams[i].name);
		cJSON *ps = cJSON_AddArrayToObject(st, "parameters");
		for (size_t k = 0; k < cs->streams[i].nparams; k++) {
			cJSON *pj = cJSON_CreateObject();
			cJSON_AddStringToObject(pj, "name", cs->streams[i].params[k].name);
			cJSON_AddStringToObject(pj, "type", sc_cs_sql_type(cs->streams[i].params[k].flags));
			cJSON_AddItemToArray(ps, pj);
		}
		cJSON_AddItemToArray(streams, st);
	}
	cJSON *w = cJSON_AddArrayToObject(j, "warnings");
	for (size_t i = 0; i < cs->nwarnings; i++)
		cJSON_AddItemToArray(w, cJSON_CreateString(cs->warnings[i]));
	cJSON_AddStringToObject(j, "schema", text);
	return j;
}

/* The schema is the output, -q or not. */
static void schema_text(sc_ctx *ctx, FILE *out, void *data)
{
	(void)ctx;
	fputs(data, out);
}

/* Invalid rules: as 'rules validate' shows them, on stderr in text (stdout
 * and --output are the schema's, and stay untouched); with --json its
 * document. */
static int invalid_rules(sc_ctx *ctx, const sc_rules_result *r, const char *name)
{
	if (ctx->json) {
		sc_out out = { .json = sc_rules_json(r), .rc = SC_EXIT_PROBLEM };
		return sc_cli_output(ctx, &out);
	}
	size_t errors = sc_rules_count(r, SC_RULES_ERROR), warnings = sc_rules_count(r, SC_RULES_WARNING);
	char *diags = sc_rules_render(r, name, false);
	sc_buf b = SC_BUF_INIT;
	sc_text_append_safe(&b, diags, strlen(diags), true);
	if (b.len)
		fwrite(b.data, 1, b.len, stderr);
	sc_buf_free(&b);
	free(diags);
	char *safe = sc_text_safe(name);
	fprintf(stderr, "%s: invalid: %zu error%s, %zu warning%s\n", safe, errors, errors == 1 ? "" : "s", warnings,
		warnings == 1 ? "" : "s");
	free(safe);
	return SC_EXIT_PROBLEM;
}

static int run_client(sc_ctx *ctx, const schema_opts *o)
{
	int rc = sc_ctx_load_config(ctx);
	if (rc)
		return rc;
	sc_error err;
	sc_error_clear(&err);
	char *text;
	const char *name;
	sc_rules_result r;
	rc = sc_cli_rules(ctx, sc_config_get(&ctx->cfg, SC_SET_RULES, NULL),
			  "which rules? give --rules FILE, SYNCCTL_RULES, or --powersync-config", &r, &text, &name);
	if (rc)
		return rc;
	size_t warnings = sc_rules_count(&r, SC_RULES_WARNING);
	if (sc_rules_count(&r, SC_RULES_ERROR)) {
		rc = invalid_rules(ctx, &r, name);
		sc_rules_result_free(&r);
		free(text);
		return rc;
	}
	sc_cs_source src;
	memset(&src, 0, sizeof src);
	bool have_db = false;
	if (sc_config_get(&ctx->cfg, SC_SET_DB, NULL)) {
		sc_pg *pg = sc_cli_connect_db(ctx, &err);
		if (!pg || sc_cs_source_load(pg, &src, &err) != 0) {
			sc_pg_close(pg);
			sc_rules_result_free(&r);
			free(text);
			return sc_cli_fail(ctx, &err);
		}
		sc_pg_close(pg);
		have_db = true;
	}
	sc_cs_schema cs;
	if (sc_cs_compute(&r, have_db ? &src : NULL, &cs, &err) != 0) {
		rc = sc_cli_fail(ctx, &err);
	} else {
		sc_cs_render_opts ro = {
			o->lang >= 0 ? (sc_cs_lang)o->lang : SC_LANG_TS,
			o->imports >= 0 ? imports_words[o->imports] : SC_IMPORTS_AUTO,
			o->type_comments,
		};
		char *schema = sc_cs_render(&cs, &ro);
		if (!ctx->quiet)
			for (size_t i = 0; i < cs.nwarnings; i++)
				sc_cli_warn(ctx, "%s", cs.warnings[i]);
		sc_out out = { .json = schema_json(&cs, schema, &ro), .text = schema_text, .data = schema,
			       .rc = ctx->strict && (cs.nwarnings || warnings) ? SC_EXIT_PROBLEM : SC_EXIT_OK };
		rc = sc_cli_output(ctx, &out);
		free(schema);
		sc_cs_schema_free(&cs);
	}
	sc_cs_source_free(&src);
	sc_rules_result_free(&r);
	free(text);
	return rc;
}

/* The option of the other subcommand given, or NULL. */
static const char *init_option(const schema_opts *o)
{
	return o->files.n ? "--file" : o->tables.n ? "--tables" : o->all_tables ? "--all-tables" : o->publication ? "--publication"
	       : o->role ? "--role" : o->password_file ? "--password-file" : o->dry_run ? "--dry-run" : o->reapply ? "--reapply" : NULL;
}

static const char *client_option(const sc_ctx *ctx, const schema_opts *o)
{
	return ctx->cfg.flag[SC_SET_RULES] ? "--rules" : o->lang >= 0 ? "--lang" : o->imports >= 0 ? "--imports"
	       : o->type_comments ? "--type-comments" : NULL;
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	schema_opts o;
	memset(&o, 0, sizeof o);
	o.lang = o.imports = -1;
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc)) {
		/* parsed: --help or a usage error */
	} else if (first >= argc) {
		rc = sc_cli_usage_error(ctx, "which subcommand? 'schema init' or 'schema client'");
	} else if (strcmp(argv[first], "client") == 0) {
		if (argc - first > 1)
			rc = sc_cli_usage_error(ctx, "unexpected argument '%s' (the rules go with --rules)", argv[first + 1]);
		else if (init_option(&o))
			rc = sc_cli_usage_error(ctx, "%s is an option of 'schema init', not 'schema client'", init_option(&o));
		else if (o.imports >= 0 && o.lang >= 0 && o.lang != SC_LANG_TS && o.lang != SC_LANG_JS)
			rc = sc_cli_usage_error(ctx, "--imports applies to --lang ts and js only");
		else
			rc = run_client(ctx, &o);
	} else if (strcmp(argv[first], "init") != 0) {
		rc = sc_cli_usage_error(ctx, "unknown subcommand '%s' (init, client)", argv[first]);
	} else if (client_option(ctx, &o)) {
		rc = sc_cli_usage_error(ctx, "%s is an option of 'schema client', not 'schema init'", client_option(ctx, &o));
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
	"schema client [--rules FILE] [--db URI] [--lang LANG] [--imports web|react-native|auto]",
	"              [--type-comments] [--output FILE]",
	NULL,
};

const sc_cmd cmd_schema = {
	.name = "schema",
	.summary = "apply schema SQL, the publication and replication role; generate the client schema",
	.usage = usage,
	.description =
		"'schema init' applies the SQL files in one transaction, all of them or none, and\n"
		"records each (name and SHA-256) in syncctl.applied_files: a second run skips what\n"
		"is applied, and a file changed since it was applied is refused unless --reapply.\n"
		"It then creates the publication (FOR ALL TABLES, or --tables) or makes an existing\n"
		"one publish insert, update, delete and truncate, and with --role creates or updates\n"
		"a LOGIN REPLICATION BYPASSRLS role with SELECT on the synced tables. wal_level is\n"
		"checked (pg.wal_level fails unless logical), not changed: that needs a restart.\n"
		"--dry-run prints the SQL only.\n"
		"\n"
		"'schema client' prints the app's client-side schema (AppSchema.ts, schema.dart, ...):\n"
		"the tables and columns the sync rules send, typed as the sync service types them for\n"
		"the source database, written as PowerSync's own generators write them for --lang.\n"
		"Without a database only columns whose type does not come from it can be generated.",
	.subcommands = "init client",
	.opts = opts,
	.formats = SC_FMT_TEXT_JSON,
	.run = run,
};
