/* Option parsing, help, errors and configuration loading shared by every
 * command; output is cmd/output.c. */
#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <libgen.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/buf.h"
#include "../lib/netaddr.h"
#include "../lib/pg.h"
#include "../lib/rules.h"
#include "../lib/util.h"
#include "../lib/text.h"
#include "cli.h"

static int resolve_opt(sc_ctx *ctx, const sc_opt *o, const char *arg, void *target)
{
	(void)o;
	sc_error err;
	if (sc_resolve_add(arg, &err) != 0)
		return sc_cli_usage_error(ctx, "%s", err.message);
	sc_list_push(target, (char *)arg);
	return 0;
}

const sc_opt sc_global_opts[] = {
	OPT_VALUE(sc_ctx, "json", 0, format, SC_FORMAT_JSON, "print one JSON document on stdout (--format json)"),
	OPT_ENUM(sc_ctx, "format", 0, format, "FORMAT", "text json nagios prometheus",
		 "output: text (default), json, nagios (plugin status line and exit codes), prometheus (text exposition)",
		 .doc = "Where a command declares it (its --help says which it has; another is a usage error): "
			"*json* one JSON document on stdout; *nagios* the Monitoring Plugins guidelines' output, "
			"a status line \"SYNCCTL STATUS - summary | perfdata\" then a line per check, with the "
			"plugin exit codes 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN instead of syncctl's own "
			"(usage errors and servers that cannot be reached are UNKNOWN); *prometheus* the text "
			"exposition format for node_exporter's textfile collector."),
	OPT_ENUM(sc_ctx, "color", 0, color_mode, "WHEN", "auto always never", "colour: auto (default), always, never"),
	OPT_FLAG(sc_ctx, "quiet", 'q', quiet, "print only failures"),
	OPT_FLAG(sc_ctx, "verbose", 'v', verbose, "add detail: SQL run, URLs fetched, check details"),
	OPT_FLAG(sc_ctx, "strict", 0, strict, "treat warnings as failures (exit 1)"),
	OPT_INT(sc_ctx, "timeout", 0, timeout, "SECONDS", 1, 86400, "deadline for each network operation (default 10)"),
	OPT_FILE(sc_ctx, "env-file", 0, env_file, "FILE", "read settings from a dotenv file (KEY=VALUE, compose interpolation)"),
	OPT_STRING(sc_ctx, "powersync-config", 0, ps_config, "FILE", "read settings from the sync service's YAML config (none: do not look for ./powersync/service.yaml)",
		   .file = true, .nonempty = true),
	OPT_CALL(sc_ctx, "resolve", 0, resolve, "HOST[:PORT]=ADDR[:PORT]", resolve_opt,
		 "connect to ADDR for HOST (repeatable), e.g. the names of a compose network", .repeatable = true),
	OPT_FILE(sc_ctx, "output", 0, output, "FILE", "write the output to FILE (atomically: a temporary file, then renamed)",
		 .doc = "Checked before the command does anything: a missing or read-only directory, or a directory by "
			"that name, is exit 3 at once."),
	{ .name = "help", .short_name = 'h', .type = SC_OPT_FLAG, .help = "show this help", .targeted = true },
	OPT_END,
};

/* The array doubles when full (at 1, 2, 4, ... items: the capacity is n
 * rounded up to a power of two), so 50,000 --tenant cost 17 reallocs, not
 * 50,000 copies of a growing array. */
void sc_list_push(sc_list *l, char *s)
{
	if ((l->n & (l->n - 1)) == 0)
		l->v = sc_xrealloc(l->v, (l->n ? 2 * l->n : 1) * sizeof *l->v);
	l->v[l->n++] = s;
}

void sc_list_free(sc_list *l)
{
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void vmsg(const sc_ctx *ctx, const char *kind, const char *fmt, va_list ap, char *keep, size_t keeplen)
{
	char msg[1024];
	vsnprintf(msg, sizeof msg, fmt, ap);
	/* One line, and what a terminal would obey shown escaped: messages
	 * carry names and server texts from outside. */
	char *safe = sc_text_safe(msg);
	fputs("syncctl", stderr);
	if (ctx && ctx->cmd)
		fprintf(stderr, " %s", ctx->cmd->name);
	fprintf(stderr, ": %s%s\n", kind, safe);
	free(safe);
	if (keep)
		snprintf(keep, keeplen, "%s", msg);
}

void sc_cli_error(sc_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(ctx, "error: ", fmt, ap, ctx ? ctx->last_error : NULL, ctx ? sizeof ctx->last_error : 0);
	va_end(ap);
}

void sc_cli_warn(const sc_ctx *ctx, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vmsg(ctx, "warning: ", fmt, ap, NULL, 0);
	va_end(ap);
}

int sc_cli_fail(sc_ctx *ctx, const sc_error *err)
{
	sc_cli_error(ctx, "%s", err->message);
	return err->code ? err->code : SC_EXIT_FAILED;
}

int sc_cli_usage_error(sc_ctx *ctx, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	const char *name = ctx && ctx->cmd ? ctx->cmd->name : NULL;
	char *safe = sc_text_safe(msg);
	fprintf(stderr, "syncctl%s%s: %s (see 'syncctl %s%s--help')\n", name ? " " : "",
		name ? name : "", safe, name ? name : "", name ? " " : "");
	free(safe);
	if (ctx)
		snprintf(ctx->last_error, sizeof ctx->last_error, "%s", msg);
	return SC_EXIT_USAGE;
}

bool sc_cli_stderr_is_tty(void) { return isatty(STDERR_FILENO); }

bool sc_cli_color_stdout(const sc_ctx *ctx)
{
	if (ctx->color_mode == 1)
		return true;
	if (ctx->color_mode == 2 || ctx->output)
		return false;
	const char *nc = getenv("NO_COLOR");
	if (nc && *nc)
		return false;
	const char *term = getenv("TERM");
	if (term && strcmp(term, "dumb") == 0)
		return false;
	return isatty(STDOUT_FILENO);
}

static size_t count_opts(const sc_opt *o)
{
	size_t n = 0;
	while (o && o[n].type != SC_OPT_END)
		n++;
	return n;
}

/* "a, b or c" from "a b c" */
static char *word_list(const char *words)
{
	sc_buf b = SC_BUF_INIT;
	size_t n = 0;
	for (const char *p = words; *p;) {
		size_t len = strcspn(p, " ");
		n++;
		p += len;
		while (*p == ' ')
			p++;
	}
	size_t i = 0;
	for (const char *p = words; *p; i++) {
		size_t len = strcspn(p, " ");
		sc_buf_printf(&b, "%s%.*s", i == 0 ? "" : i + 1 == n ? " or " : ", ", (int)len, p);
		p += len;
		while (*p == ' ')
			p++;
	}
	return sc_buf_take(&b);
}

/* The index of word in "a b c", or -1. */
static int word_index(const char *words, const char *word)
{
	int i = 0;
	size_t wl = strlen(word);
	for (const char *p = words; *p; i++) {
		size_t len = strcspn(p, " ");
		if (len == wl && strncmp(p, word, wl) == 0)
			return i;
		p += len;
		while (*p == ' ')
			p++;
	}
	return -1;
}

/* Applies one option's argument to its target. 0, or a usage error's 2. */
static int apply(sc_ctx *ctx, const sc_opt *o, const char *arg, void *base)
{
	void *t = (char *)base + o->offset;
	if (arg && o->nonempty && !*arg)
		return sc_cli_usage_error(ctx, "--%s needs a value", o->name);
	switch (o->type) {
	case SC_OPT_FLAG:
		*(bool *)t = true;
		return 0;
	case SC_OPT_VALUE:
		*(int *)t = (int)o->min;
		return 0;
	case SC_OPT_STRING:
		*(const char **)t = arg;
		return 0;
	case SC_OPT_LIST:
		sc_list_push(t, (char *)arg);
		return 0;
	case SC_OPT_INT: {
		char *end;
		errno = 0;
		long v = strtol(arg, &end, 10);
		if (errno || end == arg || *end || v < o->min || v > o->max)
			return sc_cli_usage_error(ctx, "--%s takes a whole number from %ld to %ld, not '%s'", o->name, o->min, o->max, arg);
		*(long *)t = v;
		return 0;
	}
	case SC_OPT_DURATION: {
		double v;
		if (!sc_parse_duration(arg, &v) || (o->max && v > (double)o->max))
			return sc_cli_usage_error(ctx, "--%s takes a duration such as 30, 90s, 5m or 1h%s, not '%s'", o->name,
						  o->max == 86400 ? " (at most 1d)" : "", arg);
		*(double *)t = v;
		return 0;
	}
	case SC_OPT_SIZE:
		if (!sc_parse_size(arg, (int64_t *)t))
			return sc_cli_usage_error(ctx, "--%s takes a size such as 512MB or 1GB, not '%s'", o->name, arg);
		return 0;
	case SC_OPT_ENUM: {
		int i = word_index(o->values, arg);
		if (i < 0) {
			char *w = word_list(o->values);
			int rc = sc_cli_usage_error(ctx, "--%s takes %s, not '%s'", o->name, w, arg);
			free(w);
			return rc;
		}
		*(int *)t = i;
		return 0;
	}
	case SC_OPT_SETTING:
		if (o->repeatable && ctx->cfg.flag[o->setting]) {
			char *v = sc_xasprintf("%s,%s", ctx->cfg.flag[o->setting], arg);
			sc_config_set_flag(&ctx->cfg, o->setting, v);
			free(v);
		} else {
			sc_config_set_flag(&ctx->cfg, o->setting, arg);
		}
		return 0;
	case SC_OPT_CALL:
		return o->fn(ctx, o, arg, t);
	case SC_OPT_END:
		break;
	}
	return sc_cli_usage_error(ctx, "--%s is declared without a type", o->name);
}

static bool takes_arg(const sc_opt *o) { return o->type != SC_OPT_FLAG && o->type != SC_OPT_VALUE; }

static void log_stderr(const char *line) { fprintf(stderr, "syncctl: %s\n", line); }

int sc_cli_parse(sc_ctx *ctx, int argc, char **argv, void *opts)
{
	const sc_opt *cmd_opts = ctx->cmd ? ctx->cmd->opts : NULL;
	size_t ng = count_opts(sc_global_opts), nc = count_opts(cmd_opts);
	struct option *lo = sc_xcalloc(ng + nc + 1, sizeof *lo);
	const sc_opt **by_val = sc_xcalloc(ng + nc, sizeof *by_val);
	sc_buf shorts = SC_BUF_INIT;
	/* ':' first: a missing argument is told apart from an unknown option;
	 * '+' before the command: options after it belong to the command. */
	sc_buf_puts(&shorts, ctx->cmd ? ":" : "+:");
	size_t k = 0;
	for (int pass = 0; pass < 2; pass++) {
		const sc_opt *set = pass == 0 ? sc_global_opts : cmd_opts;
		for (size_t i = 0; set && set[i].type != SC_OPT_END; i++) {
			lo[k].name = set[i].name;
			lo[k].has_arg = takes_arg(&set[i]) ? required_argument : no_argument;
			lo[k].val = 256 + (int)k;
			by_val[k] = &set[i];
			k++;
			if (set[i].short_name) {
				sc_buf_putc(&shorts, (char)set[i].short_name);
				if (takes_arg(&set[i]))
					sc_buf_putc(&shorts, ':');
			}
		}
	}
	int rc = 0;
	opterr = 0;
	optind = 0;
	for (;;) {
		int c = getopt_long(argc, argv, shorts.data, lo, NULL);
		if (c == -1)
			break;
		if (c == '?' || c == ':') {
			const char *bad = argv[optind > 1 ? optind - 1 : 1];
			if (optopt && optopt < 256 && c == '?')
				sc_cli_usage_error(ctx, "unknown option '-%c'", optopt);
			else if (c == '?')
				sc_cli_usage_error(ctx, "unknown option '%s'", bad);
			else
				sc_cli_usage_error(ctx, "option '%s' needs a value", bad);
			rc = -1;
			break;
		}
		/* A short letter is an alias of its long option. */
		const sc_opt *o = NULL;
		if (c >= 256)
			o = by_val[c - 256];
		for (size_t i = 0; !o && i < k; i++)
			if (by_val[i]->short_name == c)
				o = by_val[i];
		if (!o) {
			sc_cli_usage_error(ctx, "unknown option '-%c'", c);
			rc = -1;
			break;
		}
		if (strcmp(o->name, "help") == 0) {
			if (ctx->cmd)
				sc_cli_print_help(stdout, ctx->cmd);
			else
				sc_cli_print_overview(stdout);
			rc = -2;
			break;
		}
		bool global = o >= sc_global_opts && o < sc_global_opts + ng;
		if (apply(ctx, o, optarg, global ? (void *)ctx : opts) != 0) {
			rc = -1;
			break;
		}
	}
	ctx->json = ctx->format == SC_FORMAT_JSON;
	/* The format, once the command is known: one it declares. */
	if (rc == 0 && ctx->cmd) {
		unsigned have = ctx->cmd->formats ? ctx->cmd->formats : SC_FMT(SC_FORMAT_TEXT);
		if (!(have & SC_FMT(ctx->format))) {
			static const char *const names[] = { "text", "json", "nagios", "prometheus" };
			sc_buf w = SC_BUF_INIT;
			for (int f = 0; f < 4; f++)
				if (have & SC_FMT(f))
					sc_buf_printf(&w, "%s%s", w.len ? ", " : "", names[f]);
			int fmt = ctx->format;
			ctx->format = SC_FORMAT_TEXT; /* the error itself is text */
			sc_cli_usage_error(ctx, "--format %s is not one %s gives (it gives %s)", names[fmt], ctx->cmd->name, w.data);
			sc_buf_free(&w);
			rc = -1;
		}
	}
	if (rc == 0)
		rc = optind;
	if (ctx->verbose)
		sc_log_set(log_stderr);
	free(lo);
	free(by_val);
	sc_buf_free(&shorts);
	return rc;
}

/* Why --output FILE could not be written at the end (0: it could): a
 * directory by that name, or a directory that is missing or not writable
 * for the temporary file beside it. */
static int output_place(const char *path)
{
	struct stat st;
	if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
		return EISDIR;
	char *d = sc_xstrdup(path);
	int e = access(dirname(d), W_OK | X_OK) == 0 ? 0 : errno;
	free(d);
	return e;
}

bool sc_cli_start(sc_ctx *ctx, int argc, char **argv, void *opts, int *first, int *rc)
{
	*first = sc_cli_parse(ctx, argc, argv, opts);
	if (*first < 0) {
		*rc = *first == -2 ? SC_EXIT_OK : SC_EXIT_USAGE;
		return false;
	}
	/* Before the work, not after it: a cron job's tenant-sync that wrote
	 * both databases and then could not write its report. */
	int e = ctx->output ? output_place(ctx->output) : 0;
	if (e) {
		sc_cli_error(ctx, "cannot write --output %s: %s", ctx->output, strerror(e));
		*rc = SC_EXIT_FAILED;
		return false;
	}
	return true;
}

/* ---- the tables' own check ---- */

static size_t type_size(sc_opt_type t)
{
	switch (t) {
	case SC_OPT_FLAG: return sizeof(bool);
	case SC_OPT_VALUE: case SC_OPT_ENUM: return sizeof(int);
	case SC_OPT_STRING: return sizeof(const char *);
	case SC_OPT_LIST: return sizeof(sc_list);
	case SC_OPT_INT: return sizeof(long);
	case SC_OPT_DURATION: return sizeof(double);
	case SC_OPT_SIZE: return sizeof(int64_t);
	default: return 0;
	}
}

static int lint_table(FILE *out, const char *where, const sc_opt *opts, bool global)
{
	int problems = 0;
	for (size_t i = 0; opts && opts[i].type != SC_OPT_END; i++) {
		const sc_opt *o = &opts[i];
		const char *name = o->name ? o->name : "(no name)";
#define PROBLEM(...) do { fprintf(out, "%s: --%s: ", where, name); fprintf(out, __VA_ARGS__); fputc('\n', out); problems++; } while (0)
		if (!o->name || !*o->name)
			PROBLEM("an option without a name");
		if (!o->help || !*o->help)
			PROBLEM("no help text");
		if (!o->targeted && o->type != SC_OPT_SETTING)
			PROBLEM("declared without a target (use the OPT_* macros)");
		if (o->type == SC_OPT_CALL && !o->fn)
			PROBLEM("a handler option without its handler");
		if (o->type == SC_OPT_ENUM && (!o->values || !*o->values))
			PROBLEM("an enum without values");
		if (o->type == SC_OPT_SETTING && (o->setting < 0 || o->setting >= SC_SETTING_COUNT))
			PROBLEM("a setting that does not exist");
		size_t want = type_size(o->type);
		if (want && o->size != want && strcmp(name, "help") != 0)
			PROBLEM("its target has %zu bytes, its type writes %zu", o->size, want);
		if (takes_arg(o) && !o->arg)
			PROBLEM("takes a value but names none (.arg)");
		if (!takes_arg(o) && o->arg)
			PROBLEM("names a value (.arg) but takes none");
		for (size_t k = 0; k < i; k++) {
			if (opts[k].name && o->name && strcmp(opts[k].name, o->name) == 0)
				PROBLEM("declared twice");
			if (o->short_name && opts[k].short_name == o->short_name)
				PROBLEM("-%c is taken by --%s", o->short_name, opts[k].name);
		}
		if (!global) {
			for (size_t k = 0; sc_global_opts[k].type != SC_OPT_END; k++) {
				if (o->name && strcmp(sc_global_opts[k].name, o->name) == 0)
					PROBLEM("shadows the global option");
				if (o->short_name && sc_global_opts[k].short_name == o->short_name)
					PROBLEM("-%c is the global --%s", o->short_name, sc_global_opts[k].name);
			}
		}
#undef PROBLEM
	}
	return problems;
}

int sc_cli_lint(FILE *out, const sc_cmd *const *commands)
{
	int problems = lint_table(out, "global", sc_global_opts, true);
	for (size_t i = 0; commands[i]; i++) {
		problems += lint_table(out, commands[i]->name, commands[i]->opts, false);
		if (!commands[i]->usage || !commands[i]->usage[0]) {
			fprintf(out, "%s: no usage\n", commands[i]->name);
			problems++;
		}
	}
	return problems;
}

/* ---- help ---- */

static void opt_left(char *left, size_t len, const sc_opt *o)
{
	const char *a = o->arg;
	if (o->short_name)
		snprintf(left, len, "-%c, --%s%s%s", o->short_name, o->name, a ? " " : "", a ? a : "");
	else
		snprintf(left, len, "    --%s%s%s", o->name, a ? " " : "", a ? a : "");
}

static void print_opts(FILE *out, const sc_opt *opts)
{
	for (size_t i = 0; opts && opts[i].type != SC_OPT_END; i++) {
		char left[96];
		opt_left(left, sizeof left, &opts[i]);
		if (strlen(left) > 28)
			fprintf(out, "  %s\n  %-28s  %s\n", left, "", opts[i].help);
		else
			fprintf(out, "  %-28s  %s\n", left, opts[i].help);
	}
}

static const char *const format_names[] = { "text", "json", "nagios", "prometheus" };

void sc_cli_print_help(FILE *out, const sc_cmd *cmd)
{
	/* A form goes on in the entries that start with a blank. */
	for (size_t i = 0; cmd->usage[i]; i++) {
		bool cont = cmd->usage[i][0] == ' ';
		if (cont)
			fprintf(out, "%*s%s\n", 7 + 8, "", cmd->usage[i]);
		else
			fprintf(out, "%s syncctl %s\n", i ? "      " : "Usage:", cmd->usage[i]);
	}
	fprintf(out, "\n%s\n", cmd->description ? cmd->description : cmd->summary);
	if (count_opts(cmd->opts)) {
		fputs("\nOptions:\n", out);
		print_opts(out, cmd->opts);
	}
	fputs("\nGlobal options:\n", out);
	print_opts(out, sc_global_opts);
	unsigned have = cmd->formats ? cmd->formats : SC_FMT(SC_FORMAT_TEXT);
	fputs("\nFormats:", out);
	for (int f = 0; f < 4; f++)
		if (have & SC_FMT(f))
			fprintf(out, " %s", format_names[f]);
	if (cmd->format_note)
		fprintf(out, " (%s)", cmd->format_note);
	fputc('\n', out);
	fprintf(out, "\nExit status: 0 ok, 1 problems found, 2 usage error or unusable input, 3 could not do the job%s.\n"
		     "See syncctl-%s(1) for more.\n",
		have & SC_FMT(SC_FORMAT_NAGIOS) ? " (--format nagios: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN)" : "", cmd->name);
}

void sc_cli_print_overview(FILE *out)
{
	fputs("Usage: syncctl [global options] COMMAND [options] [args]\n\n"
	      "Operate offline-first sync deployments: the source Postgres, its replication\n"
	      "slots and publications, the schema, and more.\n\nCommands:\n", out);
	for (size_t i = 0; sc_commands[i]; i++)
		fprintf(out, "  %-14s %s\n", sc_commands[i]->name, sc_commands[i]->summary);
	fputs("\nGlobal options:\n", out);
	print_opts(out, sc_global_opts);
	fputs("\nRun 'syncctl help COMMAND' for a command's options; man syncctl for the rest.\n", out);
}

/* ---- documentation generated from the table ---- */

/* A usage form in scdoc: literal words bold, metavariables (upper case)
 * underlined, brackets and bars as they are. */
static void scdoc_form(sc_buf *b, const char *form, bool first_word_is_cmd)
{
	const char *p = form;
	bool first = true;
	if (first_word_is_cmd)
		sc_buf_puts(b, "*syncctl ");
	while (*p) {
		if (strchr("[]|().", *p) || *p == ' ') {
			if (*p == '[' && (p == form || b->len == 0 || b->data[b->len - 1] == '\n'))
				sc_buf_putc(b, '\\');
			sc_buf_putc(b, *p++);
			continue;
		}
		size_t len = strcspn(p, " []|()");
		/* a trailing ".." of a repeatable item is punctuation */
		while (len > 1 && p[len - 1] == '.')
			len--;
		bool meta = true;
		bool has_alpha = false;
		for (size_t i = 0; i < len; i++) {
			if (islower((unsigned char)p[i]))
				meta = false;
			if (isalpha((unsigned char)p[i]))
				has_alpha = true;
		}
		if (first && first_word_is_cmd) {
			sc_buf_append(b, p, len);
			sc_buf_putc(b, '*');
		} else if (p[0] == '-' || !meta || !has_alpha) {
			if (p[0] == '-') {
				/* --opt=VALUE or --opt */
				size_t ol = strcspn(p, "= []|()");
				if (ol > len)
					ol = len;
				sc_buf_putc(b, '*');
				sc_buf_append(b, p, ol);
				sc_buf_putc(b, '*');
				if (ol < len)
					sc_buf_append(b, p + ol, len - ol);
			} else if (has_alpha) {
				sc_buf_putc(b, '*');
				sc_buf_append(b, p, len);
				sc_buf_putc(b, '*');
			} else {
				sc_buf_append(b, p, len);
			}
		} else {
			sc_buf_putc(b, '_');
			sc_buf_append(b, p, len);
			sc_buf_putc(b, '_');
		}
		first = false;
		p += len;
	}
}

static void man_synopsis(sc_buf *b, const sc_cmd *cmd)
{
	for (size_t i = 0; cmd->usage[i]; i++) {
		bool cont = cmd->usage[i][0] == ' ';
		if (cont) {
			sc_buf_puts(b, "\n");
			scdoc_form(b, cmd->usage[i] + strspn(cmd->usage[i], " "), false);
		} else {
			if (i)
				sc_buf_puts(b, "\n\n");
			scdoc_form(b, cmd->usage[i], true);
		}
	}
	sc_buf_putc(b, '\n');
}

/* syncctl(1) documents the program and the commands without a page of
 * their own (help, version, completion): its SYNOPSIS has them all. */
char *sc_cli_man_synopsis(const sc_cmd *cmd)
{
	sc_buf b = SC_BUF_INIT;
	if (cmd) {
		man_synopsis(&b, cmd);
		return sc_buf_take(&b);
	}
	sc_buf_puts(&b, "*syncctl* [_global options_] _COMMAND_ [_options_] [_args_]\n");
	for (size_t i = 0; sc_commands[i]; i++)
		if (sc_commands[i]->on_main_page) {
			sc_buf_putc(&b, '\n');
			man_synopsis(&b, sc_commands[i]);
		}
	return sc_buf_take(&b);
}

static void man_opts(sc_buf *b, const sc_opt *opts)
{
	for (size_t i = 0; opts && opts[i].type != SC_OPT_END; i++) {
		const sc_opt *o = &opts[i];
		if (i)
			sc_buf_putc(b, '\n');
		if (o->short_name)
			sc_buf_printf(b, "*-%c*, ", o->short_name);
		sc_buf_printf(b, "*--%s*", o->name);
		if (o->arg)
			sc_buf_printf(b, " _%s_", o->arg);
		sc_buf_puts(b, "\n\t");
		/* The help line as a sentence (plain text: scdoc's marks escaped),
		 * then the longer text, which is scdoc already. */
		for (const char *p = o->help; *p; p++) {
			if (p == o->help && *p == '-')
				sc_buf_puts(b, "\\");
			if (*p == '*' || *p == '_' || *p == '\\')
				sc_buf_putc(b, '\\');
			sc_buf_putc(b, p == o->help ? (char)toupper((unsigned char)*p) : *p);
		}
		sc_buf_putc(b, '.');
		if (o->repeatable && !strstr(o->help, "repeatable"))
			sc_buf_puts(b, " Repeatable.");
		if (o->type == SC_OPT_ENUM && !strstr(o->help, o->values)) {
			char *w = word_list(o->values);
			sc_buf_printf(b, " One of %s.", w);
			free(w);
		}
		if (o->doc)
			sc_buf_printf(b, " %s", o->doc);
		sc_buf_putc(b, '\n');
	}
}

char *sc_cli_man_options(const sc_cmd *cmd)
{
	sc_buf b = SC_BUF_INIT;
	if (!cmd) {
		man_opts(&b, sc_global_opts);
		return sc_buf_take(&b);
	}
	man_opts(&b, cmd->opts);
	if (count_opts(cmd->opts))
		sc_buf_putc(&b, '\n');
	unsigned have = cmd->formats ? cmd->formats : SC_FMT(SC_FORMAT_TEXT);
	sc_buf_puts(&b, "The global options of *syncctl*(1) apply. Formats (*--format*):");
	for (int f = 0; f < 4; f++)
		if (have & SC_FMT(f))
			sc_buf_printf(&b, " %s", format_names[f]);
	if (cmd->format_note)
		sc_buf_printf(&b, " (%s)", cmd->format_note);
	sc_buf_puts(&b, ".\n");
	return sc_buf_take(&b);
}

char *sc_cli_readme_usage(const sc_cmd *cmd)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; cmd->usage[i]; i++) {
		bool cont = cmd->usage[i][0] == ' ';
		if (cont)
			sc_buf_printf(&b, "    %*s%s\n", (int)strlen("syncctl "), "", cmd->usage[i]);
		else
			sc_buf_printf(&b, "    syncctl %s\n", cmd->usage[i]);
	}
	return sc_buf_take(&b);
}

const sc_cmd *sc_cli_find(const char *name, bool *ambiguous)
{
	const sc_cmd *hit = NULL;
	size_t nhits = 0, len = strlen(name);
	*ambiguous = false;
	for (size_t i = 0; sc_commands[i]; i++) {
		if (strcmp(sc_commands[i]->name, name) == 0)
			return sc_commands[i];
		if (len && strncmp(sc_commands[i]->name, name, len) == 0) {
			hit = sc_commands[i];
			nhits++;
		}
	}
	if (nhits > 1) {
		*ambiguous = true;
		return NULL;
	}
	return hit;
}

int sc_ctx_load_config(sc_ctx *ctx)
{
	sc_error err;
	sc_error_clear(&err);
	if (ctx->env_file && sc_config_load_env_file(&ctx->cfg, ctx->env_file, &err) != 0)
		return sc_cli_fail(ctx, &err);
	const char *ps = ctx->ps_config ? ctx->ps_config : getenv("POWERSYNC_CONFIG_PATH");
	bool discovered = false;
	if (ps && strcmp(ps, "none") == 0) {
		ps = NULL;
	} else if (!ps || !*ps) {
		/* The layout of the powersync CLI's `init self-hosted`. */
		if (access("powersync/service.yaml", R_OK) == 0) {
			ps = "powersync/service.yaml";
			discovered = true;
		}
	}
	if (ps && *ps) {
		if (sc_config_load_powersync(&ctx->cfg, ps, &err) != 0)
			return sc_cli_fail(ctx, &err);
		ctx->cfg.ps_discovered = discovered;
		if (discovered)
			sc_log_verbose("using the service config ./powersync/service.yaml (--powersync-config none turns this off)");
		for (size_t i = 0; i < ctx->cfg.nissues; i++)
			sc_log_verbose("service config: %s", ctx->cfg.issues[i].message);
	}
	return 0;
}

const char *sc_cli_db(sc_ctx *ctx, const char **origin)
{
	const char *db = sc_config_get(&ctx->cfg, SC_SET_DB, origin);
	if (ctx->cfg.flag[SC_SET_DB] && sc_pg_conninfo_has_password(ctx->cfg.flag[SC_SET_DB]))
		sc_cli_warn(ctx, "a password in --db is visible to other users in ps; use SYNCCTL_DB, --env-file or ~/.pgpass");
	return db ? db : "";
}

sc_pg *sc_cli_connect_db(sc_ctx *ctx, sc_error *err)
{
	const char *origin;
	const char *db = sc_cli_db(ctx, &origin);
	if (!*db && !getenv("PGHOST") && !getenv("PGDATABASE")) {
		/* The service config names the source but it cannot be used. */
		const char *why = sc_config_blocked(&ctx->cfg, SC_SET_DB);
		const char *type = ctx->cfg.ps_source_type;
		if (why) {
			sc_error_set(err, SC_EXIT_USAGE, "%s", why);
			return NULL;
		}
		if (type && strcmp(type, "postgresql") != 0) {
			sc_error_set(err, SC_EXIT_USAGE, "the service config's source is a %s database (replication.connections[0].type): syncctl's Postgres checks do not apply; give --db for a Postgres source", type);
			return NULL;
		}
	}
	char *what = sc_xasprintf("the source database (from %s)", *db ? origin : "libpq's PG* defaults");
	sc_pg *pg = sc_pg_connect(db, what, ctx->timeout, err);
	free(what);
	return pg;
}

int sc_cli_settings(sc_ctx *ctx, sc_settings *s)
{
	sc_error err;
	sc_error_clear(&err);
	int rc = sc_settings_resolve(&ctx->cfg, s, &err);
	for (size_t i = 0; i < s->nwarnings; i++)
		sc_cli_warn(ctx, "%s", s->warnings[i]);
	if (rc != 0)
		return sc_cli_fail(ctx, &err);
	if (ctx->cfg.flag[SC_SET_DB] && sc_pg_conninfo_has_password(ctx->cfg.flag[SC_SET_DB]))
		sc_cli_warn(ctx, "a password in --db is visible to other users in ps; use SYNCCTL_DB, --env-file or ~/.pgpass");
	return 0;
}

int sc_cli_rules(sc_ctx *ctx, const char *path, const char *which, sc_rules_result *r, char **text, const char **name)
{
	sc_error err;
	sc_error_clear(&err);
	size_t len = 0;
	*name = path;
	if (path) {
		*text = sc_read_file(path, SC_RULES_MAX_BYTES, &len, "rules file", &err);
		if (!*text)
			return sc_cli_fail(ctx, &err);
	} else if (ctx->cfg.ps_rules_content) {
		*text = sc_xstrdup(ctx->cfg.ps_rules_content);
		len = strlen(*text);
		*name = "sync_config.content";
	} else {
		*text = NULL;
		return sc_cli_usage_error(ctx, "%s", which);
	}
	if (sc_rules_validate(*text, len, *name, r, &err) != 0) {
		sc_rules_result_free(r);
		free(*text);
		*text = NULL;
		return sc_cli_fail(ctx, &err);
	}
	return 0;
}
