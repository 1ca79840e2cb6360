/* Unit tests: the option layer (declarations bound to their targets, the
 * table's own check) and the format rule. Linked with cmd/ but main.c, so
 * the command table here is the real one. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../cmd/cli.h"

const sc_cmd *const sc_commands[] = {
	&cmd_doctor, &cmd_slots, &cmd_publications, &cmd_schema, &cmd_rules, &cmd_token, &cmd_compare,
	&cmd_tenant_sync, &cmd_storage, &cmd_service, &cmd_watch, &cmd_version, &cmd_help, &cmd_completion, NULL,
};

typedef struct {
	bool flag;
	int choice;
	long n;
	int64_t size;
	double wait;
	const char *name;
	sc_list items;
	int wrong;
} test_opts;

static const sc_opt good_opts[] = {
	OPT_FLAG(test_opts, "flag", 'f', flag, "a flag"),
	OPT_ENUM(test_opts, "choice", 0, choice, "C", "red green blue", "a colour"),
	OPT_INT(test_opts, "n", 0, n, "N", 1, 10, "a number"),
	OPT_SIZE(test_opts, "size", 0, size, "SIZE", "a size"),
	OPT_DURATION(test_opts, "wait", 0, wait, "D", 60, "a duration"),
	OPT_STRING(test_opts, "name", 'N', name, "NAME", "a name", .nonempty = true),
	OPT_LIST(test_opts, "item", 'i', items, "ITEM", "an item"),
	OPT_SETTING("aud", 0, SC_SET_AUDIENCE, "AUD", "an audience", .repeatable = true),
	OPT_END,
};

static int run_nothing(sc_ctx *ctx, int argc, char **argv)
{
	(void)ctx;
	(void)argc;
	(void)argv;
	return 0;
}

static const char *const test_usage[] = { "test [options]", NULL };
static const sc_cmd cmd_test = { .name = "test", .summary = "t", .usage = test_usage, .opts = good_opts,
				  .formats = SC_FMT_TEXT_JSON, .run = run_nothing };

static int parse(sc_ctx *ctx, test_opts *o, int argc, const char **argv)
{
	memset(ctx, 0, sizeof *ctx);
	sc_config_init(&ctx->cfg);
	ctx->cmd = &cmd_test;
	memset(o, 0, sizeof *o);
	int rc = sc_cli_parse(ctx, argc, (char **)argv, o);
	return rc;
}

static void the_real_tables_are_clean(void **state)
{
	(void)state;
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int problems = sc_cli_lint(f, sc_commands);
	fclose(f);
	if (problems)
		fprintf(stderr, "%s", buf);
	assert_int_equal(problems, 0);
	free(buf);
}

static void a_declaration_without_target_or_handler_is_caught(void **state)
{
	(void)state;
	static const sc_opt bad[] = {
		{ .name = "raw", .type = SC_OPT_STRING, .arg = "X", .help = "declared by hand" },
		{ .name = "nofn", .type = SC_OPT_CALL, .arg = "X", .help = "no handler", SC_TARGET(test_opts, name) },
		OPT_FLAG(test_opts, "wrong", 0, wrong, "a flag on an int"),
		OPT_FLAG(test_opts, "dup", 'f', flag, "a short letter twice"),
		OPT_FLAG(test_opts, "again", 'f', flag, "the other"),
		OPT_FLAG(test_opts, "json", 0, flag, "shadows a global"),
		{ .name = "notype", .help = "no type", .targeted = true },
		OPT_END,
	};
	static const char *const u[] = { "bad", NULL };
	static const sc_cmd cmd_bad = { .name = "bad", .summary = "b", .usage = u, .opts = bad, .run = run_nothing };
	static const sc_cmd *const cmds[] = { &cmd_bad, NULL };
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);
	int problems = sc_cli_lint(f, cmds);
	fclose(f);
	assert_non_null(strstr(buf, "bad: --raw: declared without a target"));
	assert_non_null(strstr(buf, "bad: --raw: its target has 0 bytes, its type writes 8"));
	assert_non_null(strstr(buf, "bad: --nofn: a handler option without its handler"));
	assert_non_null(strstr(buf, "bad: --wrong: its target has 4 bytes, its type writes 1"));
	assert_non_null(strstr(buf, "bad: --again: -f is taken by --dup"));
	assert_non_null(strstr(buf, "bad: --json: shadows the global option"));
	/* A zero type ends the table: "notype" is never reached, as it is
	 * never parsed either. */
	if (problems != 6)
		fprintf(stderr, "%s", buf);
	assert_int_equal(problems, 6);
	free(buf);
}

static void options_write_their_targets_and_short_letters_are_aliases(void **state)
{
	(void)state;
	sc_ctx ctx;
	test_opts o;
	const char *argv[] = { "test", "-f", "--choice", "blue", "--n", "7", "--size", "2MB", "--wait", "1m",
			       "-N", "x", "-i", "a", "--item", "b", "--aud", "p", "--aud", "q", "rest", NULL };
	int first = parse(&ctx, &o, 21, argv);
	assert_int_equal(first, 20);
	assert_true(o.flag);
	assert_int_equal(o.choice, 2);
	assert_int_equal(o.n, 7);
	assert_int_equal(o.size, 2 * 1024 * 1024);
	assert_true(o.wait == 60.0);
	assert_string_equal(o.name, "x");
	assert_int_equal(o.items.n, 2);
	assert_string_equal(o.items.v[1], "b");
	assert_string_equal(ctx.cfg.flag[SC_SET_AUDIENCE], "p,q");
	sc_list_free(&o.items);
	sc_config_free(&ctx.cfg);
}

static void bad_values_are_usage_errors_naming_the_option(void **state)
{
	(void)state;
	sc_ctx ctx;
	test_opts o;
	const char *a1[] = { "test", "--n", "11", NULL };
	assert_int_equal(parse(&ctx, &o, 3, a1), -1);
	assert_string_equal(ctx.last_error, "--n takes a whole number from 1 to 10, not '11'");
	sc_config_free(&ctx.cfg);
	const char *a2[] = { "test", "--choice", "pink", NULL };
	assert_int_equal(parse(&ctx, &o, 3, a2), -1);
	assert_string_equal(ctx.last_error, "--choice takes red, green or blue, not 'pink'");
	sc_config_free(&ctx.cfg);
	const char *a3[] = { "test", "--wait", "2m", NULL };
	assert_int_equal(parse(&ctx, &o, 3, a3), -1);
	sc_config_free(&ctx.cfg);
	const char *a4[] = { "test", "--name", "", NULL };
	assert_int_equal(parse(&ctx, &o, 3, a4), -1);
	assert_string_equal(ctx.last_error, "--name needs a value");
	sc_config_free(&ctx.cfg);
	const char *a5[] = { "test", "--format", "nagios", NULL };
	assert_int_equal(parse(&ctx, &o, 3, a5), -1);
	assert_string_equal(ctx.last_error, "--format nagios is not one test gives (it gives text, json)");
	sc_config_free(&ctx.cfg);
	const char *a6[] = { "test", "--json", NULL };
	assert_int_equal(parse(&ctx, &o, 2, a6), 2);
	assert_int_equal(ctx.format, SC_FORMAT_JSON);
	sc_config_free(&ctx.cfg);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(the_real_tables_are_clean),
		cmocka_unit_test(a_declaration_without_target_or_handler_is_caught),
		cmocka_unit_test(options_write_their_targets_and_short_letters_are_aliases),
		cmocka_unit_test(bad_values_are_usage_errors_naming_the_option),
	};
	return cmocka_run_group_tests_name("cli", tests, NULL, NULL);
}
