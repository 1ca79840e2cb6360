/* syncctl schema init: apply schema SQL, the publication and the replication
 * role, idempotently and all-or-nothing.
 * syncctl schema client: the app's client-side schema, generated from the
 * sync rules and the live database as PowerSync's own generators write it. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <errno.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/clientschema.h"
#include "../lib/pg.h"
#include "../lib/rules.h"
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
	/* client */
	bool db_given, lang_given, imports_given, type_comments;
	sc_cs_lang lang;
	sc_cs_imports imports;
	const char *output;
	const char *init_opt;      /* an option only 'init' takes */
	const char *client_opt;    /* an option only 'client' takes */
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
	{ "rules", 0, required_argument, "FILE", "client: the sync rules (default: SYNCCTL_RULES, the service config's sync_config)", OPT_RULES, "file" },
	{ "lang", 0, required_argument, "LANG", "client: ts (default), js, js-legacy, dart, kotlin, swift, dotnet, dotnet-class, room, drift", OPT_LANG,
	  "ts js js-legacy dart kotlin swift dotnet dotnet-class room drift" },
	{ "imports", 0, required_argument, "WHERE", "client, ts and js: import from web, react-native, or auto (both; the default)", OPT_IMPORTS, "web react-native auto" },
	{ "type-comments", 0, no_argument, NULL, "client: each column's source type as a comment", OPT_TYPE_COMMENTS, NULL },
	{ "output", 'o', required_argument, "FILE", "client: write the schema to FILE (atomically) instead of stdout", OPT_OUTPUT, "file" },
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
	case OPT_DB:
		sc_config_set_flag(&ctx->cfg, SC_SET_DB, arg);
		o->db_given = true;
		return 0;
	case OPT_RULES: o->client_opt = "--rules"; sc_config_set_flag(&ctx->cfg, SC_SET_RULES, arg); return 0;
	case OPT_LANG:
		o->client_opt = "--lang";
		if (!sc_cs_lang_parse(arg, &o->lang))
			return sc_cli_usage_error(ctx, "--lang takes ts, js, js-legacy, dart, kotlin, swift, dotnet, dotnet-class, room or drift, not '%s'", arg);
		o->lang_given = true;
		return 0;
	case OPT_IMPORTS:
		o->client_opt = "--imports";
		if (strcmp(arg, "web") == 0)
			o->imports = SC_IMPORTS_WEB;
		else if (strcmp(arg, "react-native") == 0)
			o->imports = SC_IMPORTS_REACT_NATIVE;
		else if (strcmp(arg, "auto") == 0)
			o->imports = SC_IMPORTS_AUTO;
		else
			return sc_cli_usage_error(ctx, "--imports takes web, react-native or auto, not '%s'", arg);
		o->imports_given = true;
		return 0;
	case OPT_TYPE_COMMENTS: o->client_opt = "--type-comments"; o->type_comments = true; return 0;
	case 'o':
	case OPT_OUTPUT:
		o->client_opt = "--output";
		if (!*arg)
			return sc_cli_usage_error(ctx, "--output needs a file name");
		o->output = arg;
		return 0;
	}
	/* The rest are init's. */
	switch (id) {
	case 'f':
	case OPT_FILE: o->init_opt = "--file"; push(&o->files, &o->nfiles, sc_xstrdup(arg)); return 0;
	case OPT_PUBLICATION:
		if (!*arg)
			return sc_cli_usage_error(ctx, "--publication needs a name");
		o->init_opt = "--publication";
		o->publication = arg;
		return 0;
	case OPT_TABLES: {
		o->init_opt = "--tables";
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
	case OPT_ALL_TABLES: o->init_opt = "--all-tables"; o->all_tables = true; return 0;
	case OPT_ROLE:
		if (!*arg)
			return sc_cli_usage_error(ctx, "--role needs a name");
		o->init_opt = "--role";
		o->role = arg;
		return 0;
	case OPT_PASSWORD_FILE: o->init_opt = "--password-file"; o->password_file = arg; return 0;
	case 'n':
	case OPT_DRY_RUN: o->init_opt = "--dry-run"; o->dry_run = true; return 0;
	case OPT_REAPPLY: o->init_opt = "--reapply"; o->reapply = true; return 0;
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


/* ---- schema client ---- */

/* Writes text to path through a temporary file beside it and a rename, so
 * a reader never sees half a schema. */
static int write_atomically(const char *path, const char *text, sc_error *err)
{
	char *tmp = sc_xasprintf("%s.XXXXXX", path);
	int fd = mkstemp(tmp);
	if (fd < 0) {
		sc_error_set(err, SC_EXIT_USAGE, "--output %s: cannot create a file beside it: %s", path, strerror(errno));
		free(tmp);
		return -1;
	}
	size_t len = strlen(text), done = 0;
	while (done < len) {
		ssize_t w = write(fd, text + done, len - done);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		done += (size_t)w;
	}
	/* mkstemp makes it 0600; a schema is source code, readable as any. */
	mode_t mask = umask(0);
	umask(mask);
	bool ok = done == len && fchmod(fd, 0666 & ~mask) == 0 && fsync(fd) == 0;
	ok = close(fd) == 0 && ok;
	if (!ok || rename(tmp, path) != 0) {
		sc_error_set(err, SC_EXIT_USAGE, "--output %s: %s", path, strerror(errno ? errno : EIO));
		unlink(tmp);
		free(tmp);
		return -1;
	}
	free(tmp);
	return 0;
}

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

static int run_client(sc_ctx *ctx, schema_opts *o)
{
	int rc = sc_ctx_load_config(ctx);
	if (rc)
		return rc;
	sc_error err;
	sc_error_clear(&err);
	const char *path = sc_config_get(&ctx->cfg, SC_SET_RULES, NULL);
	char *text;
	size_t len = 0;
	const char *name = path;
	if (path) {
		text = sc_read_file(path, SC_RULES_MAX_BYTES, &len, "rules file", &err);
		if (!text)
			return sc_cli_fail(ctx, &err);
	} else if (ctx->cfg.ps_rules_content) {
		text = sc_xstrdup(ctx->cfg.ps_rules_content);
		len = strlen(text);
		name = "sync_config.content";
	} else {
		return sc_cli_usage_error(ctx, "which rules? give --rules FILE, SYNCCTL_RULES, or --powersync-config");
	}
	sc_rules_result r;
	if (sc_rules_validate(text, len, name, &r, &err) != 0) {
		sc_rules_result_free(&r);
		free(text);
		return sc_cli_fail(ctx, &err);
	}
	size_t errors = sc_rules_count(&r, SC_RULES_ERROR), warnings = sc_rules_count(&r, SC_RULES_WARNING);
	if (errors) {
		/* As 'rules validate' shows them; stdout stays for the schema. */
		if (ctx->json) {
			cJSON *j = sc_rules_json(&r);
			char *s = cJSON_Print(j);
			puts(s);
			free(s);
			cJSON_Delete(j);
		} else {
			char *diags = sc_rules_render(&r, name, false);
			fputs(diags, stderr);
			free(diags);
			fprintf(stderr, "%s: invalid: %zu error%s, %zu warning%s\n", name, errors, errors == 1 ? "" : "s", warnings,
				warnings == 1 ? "" : "s");
		}
		sc_rules_result_free(&r);
		free(text);
		return SC_EXIT_PROBLEM;
	}
	sc_cs_source src;
	memset(&src, 0, sizeof src);
	bool have_db = false;
	const char *db = sc_config_get(&ctx->cfg, SC_SET_DB, NULL);
	if (o->db_given || db) {
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
	rc = SC_EXIT_OK;
	if (sc_cs_compute(&r, have_db ? &src : NULL, &cs, &err) != 0) {
		rc = sc_cli_fail(ctx, &err);
	} else {
		sc_cs_render_opts ro = { o->lang_given ? o->lang : SC_LANG_TS, o->imports, o->type_comments };
		char *out = sc_cs_render(&cs, &ro);
		if (!ctx->quiet)
			for (size_t i = 0; i < cs.nwarnings; i++)
				sc_cli_warn(ctx, "%s", cs.warnings[i]);
		if (o->output && write_atomically(o->output, out, &err) != 0) {
			rc = sc_cli_fail(ctx, &err);
		} else if (ctx->json) {
			cJSON *j = schema_json(&cs, out, &ro);
			if (o->output)
				cJSON_AddStringToObject(j, "output", o->output);
			char *s = cJSON_Print(j);
			puts(s);
			free(s);
			cJSON_Delete(j);
		} else if (!o->output) {
			fputs(out, stdout);
		}
		free(out);
		if (rc == SC_EXIT_OK && ctx->strict && (cs.nwarnings || warnings))
			rc = SC_EXIT_PROBLEM;
		sc_cs_schema_free(&cs);
	}
	sc_cs_source_free(&src);
	sc_rules_result_free(&r);
	free(text);
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
		rc = sc_cli_usage_error(ctx, "which subcommand? 'schema init' or 'schema client'");
	} else if (strcmp(argv[first], "client") == 0) {
		if (argc - first > 1)
			rc = sc_cli_usage_error(ctx, "unexpected argument '%s' (the rules go with --rules)", argv[first + 1]);
		else if (o.init_opt)
			rc = sc_cli_usage_error(ctx, "%s is an option of 'schema init', not 'schema client'", o.init_opt);
		else if (o.imports_given && o.lang_given && o.lang != SC_LANG_TS && o.lang != SC_LANG_JS)
			rc = sc_cli_usage_error(ctx, "--imports applies to --lang ts and js only");
		else
			rc = run_client(ctx, &o);
	} else if (strcmp(argv[first], "init") != 0) {
		rc = sc_cli_usage_error(ctx, "unknown subcommand '%s' (init, client)", argv[first]);
	} else if (o.client_opt) {
		rc = sc_cli_usage_error(ctx, "%s is an option of 'schema client', not 'schema init'", o.client_opt);
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
		"reported, not changed (that needs a restart). --dry-run prints the SQL only.\n"
		"\n"
		"'schema client' prints the app's client-side schema (AppSchema.ts, schema.dart, ...):\n"
		"the tables and columns the sync rules send, typed as the sync service types them for\n"
		"the source database, written as PowerSync's own generators write them for --lang.\n"
		"Without a database only columns whose type does not come from it can be generated.",
	.subcommands = "init client",
	.opts = opts,
	.reports = true,
	.run = run,
};
