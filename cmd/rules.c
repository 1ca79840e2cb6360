/* syncctl rules validate: a sync rules file checked as the sync service
 * would check it, and against the live database. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../lib/buf.h"
#include "../lib/pg.h"
#include "../lib/replication.h"
#include "../lib/rules.h"
#include "../lib/util.h"
#include "cli.h"

typedef struct {
	const char *publication;
} rules_opts;

static const sc_opt opts[] = {
	OPT_SETTING("rules", 0, SC_SET_RULES, "FILE", "the rules file (default: SYNCCTL_RULES, the service config's sync_config)", .file = true,
		    .doc = "When not given as the argument."),
	OPT_SETTING("db", 0, SC_SET_DB, "URI", "also check against this database (default: the configured source DB, if any)"),
	OPT_STRING(rules_opts, "publication", 0, publication, "NAME", "the publication tables must be in (default powersync)", .nonempty = true),
	OPT_END,
};

static char *summary(const sc_rules_result *r, const char *name)
{
	sc_buf b = SC_BUF_INIT;
	int n = cJSON_GetArraySize(r->buckets);
	size_t warnings = sc_rules_count(r, SC_RULES_WARNING);
	sc_buf_printf(&b, "%s: valid: %d %s, %zu warning%s\n", name, n,
		      r->edition >= 3 || (n && strcmp(cJSON_GetStringValue(cJSON_GetObjectItem(cJSON_GetArrayItem(r->buckets, 0), "kind")), "stream") == 0)
			      ? (n == 1 ? "definition" : "definitions") : (n == 1 ? "bucket" : "buckets"),
		      warnings, warnings == 1 ? "" : "s");
	const cJSON *bk;
	cJSON_ArrayForEach(bk, r->buckets) {
		sc_buf params = SC_BUF_INIT, src = SC_BUF_INIT;
		const cJSON *x;
		cJSON_ArrayForEach(x, cJSON_GetObjectItem(bk, "parameters"))
			sc_buf_printf(&params, "%s%s", params.len ? ", " : "", x->valuestring);
		cJSON_ArrayForEach(x, cJSON_GetObjectItem(bk, "source_tables"))
			sc_buf_printf(&src, "%s%s", src.len ? ", " : "", x->valuestring);
		const cJSON *prio = cJSON_GetObjectItem(bk, "priority");
		sc_buf_printf(&b, "  %-6s %s(%s)%s%s  <- %s\n", cJSON_GetStringValue(cJSON_GetObjectItem(bk, "kind")),
			      cJSON_GetStringValue(cJSON_GetObjectItem(bk, "name")), sc_buf_str(&params),
			      prio ? " priority " : "", prio ? (prio->valueint == 0 ? "0" : prio->valueint == 1 ? "1" : prio->valueint == 2 ? "2" : "3") : "",
			      src.len ? src.data : "(no tables)");
		sc_buf_free(&params);
		sc_buf_free(&src);
	}
	sc_buf src = SC_BUF_INIT, out = SC_BUF_INIT;
	const cJSON *x;
	cJSON_ArrayForEach(x, r->source_tables)
		sc_buf_printf(&src, "%s%s", src.len ? ", " : "", x->valuestring);
	cJSON_ArrayForEach(x, r->output_tables)
		sc_buf_printf(&out, "%s%s", out.len ? ", " : "", x->valuestring);
	sc_buf_printf(&b, "source tables: %s\noutput tables: %s\n", src.len ? src.data : "none", out.len ? out.data : "none");
	sc_buf_free(&src);
	sc_buf_free(&out);
	return sc_buf_take(&b);
}

struct findings {
	const sc_rules_result *r;
	const char *name;
};

/* Like a compiler's: each finding with its line and caret, then a verdict
 * (or, valid, what the rules define). */
static void findings_text(sc_ctx *ctx, FILE *out, void *data)
{
	const struct findings *f = data;
	size_t errors = sc_rules_count(f->r, SC_RULES_ERROR), warnings = sc_rules_count(f->r, SC_RULES_WARNING);
	char *diags = sc_rules_render(f->r, f->name, sc_cli_color_stdout(ctx));
	fputs(diags, out);
	free(diags);
	if (errors) {
		fprintf(out, "%s: invalid: %zu error%s, %zu warning%s\n", f->name, errors, errors == 1 ? "" : "s",
			warnings, warnings == 1 ? "" : "s");
	} else if (!ctx->quiet) {
		char *s = summary(f->r, f->name);
		fputs(s, out);
		free(s);
	}
}

static int validate(sc_ctx *ctx, rules_opts *o, const char *path)
{
	sc_error err;
	sc_error_clear(&err);
	char *text;
	const char *name;
	sc_rules_result r;
	int rc = sc_cli_rules(ctx, path, "which rules file? give FILE, --rules FILE, SYNCCTL_RULES, or --powersync-config", &r,
			      &text, &name);
	if (rc)
		return rc;
	const char *db = sc_config_get(&ctx->cfg, SC_SET_DB, NULL);
	if (db && sc_rules_count(&r, SC_RULES_ERROR) == 0) {
		sc_pg *pg = sc_cli_connect_db(ctx, &err);
		if (!pg || sc_rules_check_live(pg, o->publication ? o->publication : SC_DEFAULT_PUBLICATION, &r, &err) != 0)
			rc = sc_cli_fail(ctx, &err);
		sc_pg_close(pg);
	}
	if (rc == 0) {
		size_t errors = sc_rules_count(&r, SC_RULES_ERROR), warnings = sc_rules_count(&r, SC_RULES_WARNING);
		struct findings f = { &r, name };
		sc_out out = { .json = sc_rules_json(&r), .text = findings_text, .data = &f,
			       .rc = errors || (ctx->strict && warnings) ? SC_EXIT_PROBLEM : SC_EXIT_OK };
		rc = sc_cli_output(ctx, &out);
	}
	sc_rules_result_free(&r);
	free(text);
	return rc;
}

static int run(sc_ctx *ctx, int argc, char **argv)
{
	rules_opts o = { NULL };
	int first, rc;
	if (!sc_cli_start(ctx, argc, argv, &o, &first, &rc))
		return rc;
	if (first >= argc || strcmp(argv[first], "validate") != 0)
		return sc_cli_usage_error(ctx, first >= argc ? "which subcommand? 'rules validate'" : "unknown subcommand '%s' (validate)",
					  first < argc ? argv[first] : "");
	if (argc - first > 2)
		return sc_cli_usage_error(ctx, "one rules file at a time");
	if ((rc = sc_ctx_load_config(ctx)) != 0)
		return rc;
	const char *path = argc - first == 2 ? argv[first + 1] : sc_config_get(&ctx->cfg, SC_SET_RULES, NULL);
	return validate(ctx, &o, path);
}

static const char *const usage[] = {
	"rules validate [FILE] [--db URI] [--publication NAME] [--strict] [--format FORMAT]",
	NULL,
};

const sc_cmd cmd_rules = {
	.name = "rules",
	.summary = "validate a sync rules file, optionally against the live database",
	.usage = usage,
	.description =
		"'rules validate' checks a sync rules (sync config) YAML file as the sync service\n"
		"would: its structure, and every query with the real Postgres parser against\n"
		"PowerSync's rules for bucket definitions and sync streams. Findings are shown like\n"
		"a compiler's (FILE:LINE:COL, the line, a caret). With a database (--db or the\n"
		"configured source DB) it also checks that every table and column exists, and\n"
		"that tables are in the publication with a key or replica identity.",
	.subcommands = "validate",
	.opts = opts,
	.formats = SC_FMT_TEXT_JSON,
	.run = run,
};
