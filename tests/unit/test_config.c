/* Unit tests: dotenv parsing, the service's YAML config, precedence. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/config.h"

static void dotenv_handles_quotes_comments_and_export(void **state)
{
	(void)state;
	sc_dotenv d = { 0 };
	sc_error err;
	const char *text =
		"# a comment\n"
		"export A=plain value # trailing comment\n"
		"B='single # not a comment'\n"
		"C=\"double\\nline \\\"quoted\\\"\"\n"
		"\n"
		"D=\"multi\nline\"\n"
		"E=\n"
		"A=second\n";
	assert_int_equal(sc_dotenv_parse(&d, text, ".env", &err), 0);
	assert_string_equal(sc_dotenv_get(&d, "A"), "second");
	assert_string_equal(sc_dotenv_get(&d, "B"), "single # not a comment");
	assert_string_equal(sc_dotenv_get(&d, "C"), "double\nline \"quoted\"");
	assert_string_equal(sc_dotenv_get(&d, "D"), "multi\nline");
	assert_string_equal(sc_dotenv_get(&d, "E"), "");
	assert_null(sc_dotenv_get(&d, "F"));
	sc_dotenv_free(&d);
}

static void dotenv_interpolates_as_docker_compose(void **state)
{
	(void)state;
	sc_dotenv d = { 0 };
	sc_error err;
	setenv("SC_UNIT_FROM_PROCESS", "proc", 1);
	unsetenv("SC_UNIT_UNSET");
	const char *text =
		"A=one\n"
		"B=${A}-two\n"
		"C=$A/$$literal\n"
		"D=${SC_UNIT_UNSET:-fallback}\n"
		"E=${EMPTY-dash-only}\n"
		"EMPTY=\n"
		"F=${EMPTY:-colon-dash}\n"
		"G=${EMPTY-kept-empty}\n"
		"H='${A} not in single quotes'\n"
		"I=\"${A} in double quotes\"\n"
		"J=${A:+alternate}\n"
		"K=${SC_UNIT_FROM_PROCESS}\n"
		"L=${SC_UNIT_UNSET:-${A}-nested}\n"
		"M=${EMPTY:+not-used}\n"
		"SC_UNIT_FROM_PROCESS=file\n"
		"N=$SC_UNIT_FROM_PROCESS\n";
	assert_int_equal(sc_dotenv_parse(&d, text, ".env", &err), 0);
	assert_string_equal(sc_dotenv_get(&d, "B"), "one-two");
	assert_string_equal(sc_dotenv_get(&d, "C"), "one/$literal");
	assert_string_equal(sc_dotenv_get(&d, "D"), "fallback");
	assert_string_equal(sc_dotenv_get(&d, "E"), "dash-only");
	assert_string_equal(sc_dotenv_get(&d, "F"), "colon-dash");
	assert_string_equal(sc_dotenv_get(&d, "G"), "");
	assert_string_equal(sc_dotenv_get(&d, "H"), "${A} not in single quotes");
	assert_string_equal(sc_dotenv_get(&d, "I"), "one in double quotes");
	assert_string_equal(sc_dotenv_get(&d, "J"), "alternate");
	assert_string_equal(sc_dotenv_get(&d, "K"), "proc");
	assert_string_equal(sc_dotenv_get(&d, "L"), "one-nested");
	assert_string_equal(sc_dotenv_get(&d, "M"), "");
	/* The process environment comes first. */
	assert_string_equal(sc_dotenv_get(&d, "N"), "proc");
	sc_dotenv_free(&d);
	assert_int_equal(sc_dotenv_parse(&d, "X=${SC_UNIT_UNSET?say why}\n", "x.env", &err), -1);
	assert_string_equal(err.message, "x.env:1: required variable SC_UNIT_UNSET is missing a value: say why");
	sc_dotenv_free(&d);
	unsetenv("SC_UNIT_FROM_PROCESS");
}

static void dotenv_reports_the_bad_line(void **state)
{
	(void)state;
	sc_dotenv d = { 0 };
	sc_error err;
	assert_int_equal(sc_dotenv_parse(&d, "OK=1\nnot a line\n", "x.env", &err), -1);
	assert_int_equal(err.code, 2);
	assert_string_equal(err.message, "x.env:2: expected KEY=VALUE");
	sc_dotenv_free(&d);
	assert_int_equal(sc_dotenv_parse(&d, "Q=\"open\n", "x.env", &err), -1);
	assert_string_equal(err.message, "x.env:1: unterminated double quote");
	sc_dotenv_free(&d);
}

static void powersync_config_fields_become_a_conninfo(void **state)
{
	(void)state;
	sc_config c;
	sc_config_init(&c);
	sc_error err;
	const char *y =
		"replication:\n"
		"  connections:\n"
		"    - type: postgresql\n"
		"      hostname: db.local\n"
		"      port: 5433\n"
		"      database: app\n"
		"      username: ps\n"
		"      password: \"it's\"\n"
		"      sslmode: verify-full\n"
		"storage:\n  type: mongodb\n  uri: mongodb://m/ps\n"
		"client_auth:\n  jwks_uri: http://app/jwks\n  audience: [a, b]\n"
		"sync_config:\n  path: rules.yaml\n"
		"port: 8080\n";
	assert_int_equal(sc_config_load_powersync_text(&c, y, strlen(y), "/etc/ps/config.yaml", &err), 0);
	const char *origin;
	/* verify-full without a cacert: the system's CA bundle. */
	assert_string_equal(sc_config_get(&c, SC_SET_DB, &origin),
			    "host='db.local' port='5433' dbname='app' user='ps' password='it\\'s' sslmode='verify-full'"
			    " sslrootcert='/etc/ssl/certs/ca-certificates.crt'");
	assert_string_equal(origin, "powersync config /etc/ps/config.yaml (replication.connections[0])");
	assert_string_equal(sc_config_get(&c, SC_SET_STORAGE, NULL), "mongodb://m/ps");
	assert_string_equal(c.ps_storage_type, "mongodb");
	assert_string_equal(sc_config_get(&c, SC_SET_JWKS, NULL), "http://app/jwks");
	assert_string_equal(sc_config_get(&c, SC_SET_AUDIENCE, NULL), "a,b");
	/* A sync_config.path that is not here (a container's path) is said. */
	assert_null(sc_config_get(&c, SC_SET_RULES, NULL));
	assert_string_equal(sc_config_blocked(&c, SC_SET_RULES),
			    "the service config's sync_config.path /etc/ps/rules.yaml does not exist here; give --rules FILE");
	assert_string_equal(sc_config_get(&c, SC_SET_SERVICE, NULL), "http://localhost:8080");
	sc_config_free(&c);
}

static void env_tags_resolve_and_unset_ones_fail(void **state)
{
	(void)state;
	sc_config c;
	sc_config_init(&c);
	sc_error err;
	setenv("PS_UNIT_URI", "postgresql://u:p@h/db", 1);
	const char *y = "replication:\n  connections:\n    - type: postgresql\n      uri: !env PS_UNIT_URI\n      sslmode: disable\n";
	assert_int_equal(sc_config_load_powersync_text(&c, y, strlen(y), "c.yaml", &err), 0);
	assert_string_equal(sc_config_get(&c, SC_SET_DB, NULL), "host='h' port='5432' dbname='db' user='u' password='p' sslmode='disable'");
	sc_config_free(&c);
	/* An unset variable blocks what uses it, and is an issue naming it. */
	sc_config_init(&c);
	unsetenv("PS_UNIT_URI");
	assert_int_equal(sc_config_load_powersync_text(&c, y, strlen(y), "c.yaml", &err), 0);
	assert_null(sc_config_get(&c, SC_SET_DB, NULL));
	assert_string_equal(sc_config_blocked(&c, SC_SET_DB),
			    "c.yaml:4:12: Attempted to substitute environment variable \"PS_UNIT_URI\" which is undefined. Set this variable on the environment.");
	assert_string_equal(c.issues[0].id, "config.env.PS_UNIT_URI");
	sc_config_free(&c);
	/* Numbers as JavaScript's Number(): "" is 0, 0x10 is 16, abc is refused. */
	sc_config_init(&c);
	setenv("PS_UNIT_N", "0x1F90", 1);
	const char *n = "port: !env PS_UNIT_N::number\n";
	assert_int_equal(sc_config_load_powersync_text(&c, n, strlen(n), "c.yaml", &err), 0);
	assert_string_equal(sc_config_get(&c, SC_SET_SERVICE, NULL), "http://localhost:8080");
	sc_config_free(&c);
	sc_config_init(&c);
	setenv("PS_UNIT_N", "abc", 1);
	assert_int_equal(sc_config_load_powersync_text(&c, n, strlen(n), "c.yaml", &err), 0);
	assert_non_null(strstr(sc_config_blocked(&c, SC_SET_SERVICE), "Environment variable \"PS_UNIT_N::number\" is not a valid number. Got: \"abc\"."));
	unsetenv("PS_UNIT_N");
	sc_config_free(&c);
}

static void flag_beats_environment_beats_env_file_beats_config(void **state)
{
	(void)state;
	sc_config c;
	sc_config_init(&c);
	sc_error err;
	const char *y = "replication:\n  connections:\n    - {type: postgresql, uri: 'postgres://u:p@cfg/db', sslmode: disable}\n";
	assert_int_equal(sc_config_load_powersync_text(&c, y, strlen(y), "c.yaml", &err), 0);
	const char *origin;
	unsetenv("SYNCCTL_DB");
	unsetenv("DATABASE_URL");
	assert_string_equal(sc_config_get(&c, SC_SET_DB, &origin), "host='cfg' port='5432' dbname='db' user='u' password='p' sslmode='disable'");
	assert_int_equal(sc_dotenv_parse(&c.env_file, "DATABASE_URL=from-env-file\n", ".env", &err), 0);
	c.env_file_path = strdup(".env");
	assert_string_equal(sc_config_get(&c, SC_SET_DB, &origin), "from-env-file");
	assert_string_equal(origin, "DATABASE_URL in .env");
	setenv("DATABASE_URL", "from-env", 1);
	assert_string_equal(sc_config_get(&c, SC_SET_DB, &origin), "from-env");
	setenv("SYNCCTL_DB", "from-syncctl-env", 1);
	assert_string_equal(sc_config_get(&c, SC_SET_DB, &origin), "from-syncctl-env");
	assert_string_equal(origin, "SYNCCTL_DB");
	sc_config_set_flag(&c, SC_SET_DB, "from-flag");
	assert_string_equal(sc_config_get(&c, SC_SET_DB, &origin), "from-flag");
	assert_string_equal(origin, "--db");
	unsetenv("SYNCCTL_DB");
	unsetenv("DATABASE_URL");
	sc_config_free(&c);
}

static void malformed_yaml_is_a_usage_error_with_position(void **state)
{
	(void)state;
	sc_config c;
	sc_config_init(&c);
	sc_error err;
	const char *y = "a: [1, 2\nb: 3\n";
	assert_int_equal(sc_config_load_powersync_text(&c, y, strlen(y), "bad.yaml", &err), -1);
	assert_int_equal(err.code, 2);
	assert_non_null(strstr(err.message, "powersync config bad.yaml:"));
	const char *list = "- 1\n- 2\n";
	assert_int_equal(sc_config_load_powersync_text(&c, list, strlen(list), "l.yaml", &err), -1);
	assert_string_equal(err.message, "powersync config l.yaml: expected a mapping at the top level");
	sc_config_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(dotenv_handles_quotes_comments_and_export),
		cmocka_unit_test(dotenv_interpolates_as_docker_compose),
		cmocka_unit_test(dotenv_reports_the_bad_line),
		cmocka_unit_test(powersync_config_fields_become_a_conninfo),
		cmocka_unit_test(env_tags_resolve_and_unset_ones_fail),
		cmocka_unit_test(flag_beats_environment_beats_env_file_beats_config),
		cmocka_unit_test(malformed_yaml_is_a_usage_error_with_position),
	};
	return cmocka_run_group_tests_name("config", tests, NULL, NULL);
}
