/* Unit tests: the report model and its renderers. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/report.h"

static void worst_status_ignores_skips_unless_all_skip(void **state)
{
	(void)state;
	sc_report r;
	sc_report_init(&r);
	sc_report_add(&r, "a", SC_CHECK_SKIP, "skipped");
	assert_int_equal(sc_report_status(&r), SC_CHECK_SKIP);
	sc_report_add(&r, "b", SC_CHECK_OK, "fine");
	assert_int_equal(sc_report_status(&r), SC_CHECK_OK);
	sc_report_add(&r, "c", SC_CHECK_WARN, "hmm");
	assert_int_equal(sc_report_status(&r), SC_CHECK_WARN);
	assert_int_equal(sc_report_exit_code(&r, false), 0);
	assert_int_equal(sc_report_exit_code(&r, true), 1);
	sc_report_add(&r, "d", SC_CHECK_FAIL, "bad");
	assert_int_equal(sc_report_exit_code(&r, false), 1);
	sc_report_free(&r);
}

static void json_has_the_documented_shape(void **state)
{
	(void)state;
	sc_report r;
	sc_report_init(&r);
	sc_check *c = sc_report_add(&r, "pg.wal_level", SC_CHECK_FAIL, "wal_level is %s", "replica");
	sc_check_set_hint(c, "ALTER SYSTEM SET wal_level = logical;");
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "wal_level", "replica");
	sc_check_set_details(c, d);
	sc_report_add(&r, "pg.role", SC_CHECK_OK, "role \"x\" ok");
	char *s = sc_report_render_json(&r);
	cJSON *doc = cJSON_Parse(s);
	assert_non_null(doc);
	assert_string_equal(cJSON_GetObjectItem(doc, "status")->valuestring, "fail");
	assert_true(cJSON_IsNumber(cJSON_GetObjectItem(doc, "duration_ms")));
	cJSON *checks = cJSON_GetObjectItem(doc, "checks");
	assert_int_equal(cJSON_GetArraySize(checks), 2);
	cJSON *c0 = cJSON_GetArrayItem(checks, 0);
	assert_string_equal(cJSON_GetObjectItem(c0, "id")->valuestring, "pg.wal_level");
	assert_string_equal(cJSON_GetObjectItem(c0, "status")->valuestring, "fail");
	assert_string_equal(cJSON_GetObjectItem(c0, "message")->valuestring, "wal_level is replica");
	assert_string_equal(cJSON_GetObjectItem(c0, "hint")->valuestring, "ALTER SYSTEM SET wal_level = logical;");
	assert_string_equal(cJSON_GetObjectItem(cJSON_GetObjectItem(c0, "details"), "wal_level")->valuestring, "replica");
	cJSON *c1 = cJSON_GetArrayItem(checks, 1);
	assert_true(cJSON_IsNull(cJSON_GetObjectItem(c1, "hint")));
	assert_string_equal(cJSON_GetObjectItem(c1, "message")->valuestring, "role \"x\" ok");
	cJSON_Delete(doc);
	free(s);
	sc_report_free(&r);
}

static void text_shows_hints_under_failures_and_quiet_hides_passes(void **state)
{
	(void)state;
	sc_report r;
	sc_report_init(&r);
	sc_report_add(&r, "ok.one", SC_CHECK_OK, "fine");
	sc_check *c = sc_report_add(&r, "bad", SC_CHECK_FAIL, "broken");
	sc_check_set_hint(c, "fix it");
	sc_render_opts o = { false, false, false, false, false };
	char *s = sc_report_render_text(&r, &o);
	assert_non_null(strstr(s, "  ok    ok.one  fine\n"));
	assert_non_null(strstr(s, "  FAIL  bad     broken\n"));
	assert_non_null(strstr(s, "hint: fix it\n"));
	assert_non_null(strstr(s, "FAILED: 1 failed, 0 warnings, 1 ok, 0 skipped"));
	assert_null(strstr(s, "\033["));
	free(s);
	o.quiet = true;
	s = sc_report_render_text(&r, &o);
	assert_null(strstr(s, "ok.one"));
	assert_non_null(strstr(s, "broken"));
	free(s);
	o.color = true;
	s = sc_report_render_text(&r, &o);
	assert_non_null(strstr(s, "\033[31mFAIL"));
	free(s);
	sc_report_free(&r);
}

static void table_aligns_utf8_cells(void **state)
{
	(void)state;
	static const char *const h[] = { "A", "B" };
	static const char *const r1[] = { "größe", "x" };
	static const char *const r2[] = { "ab", "y" };
	sc_table t;
	sc_table_init(&t, 2, h);
	sc_table_add(&t, r1);
	sc_table_add(&t, r2);
	char *s = sc_table_render(&t, "", false);
	assert_string_equal(s, "A      B\ngröße  x\nab     y\n");
	free(s);
	sc_table_free(&t);
}

static void nagios_status_line_perfdata_and_codes(void **state)
{
	(void)state;
	sc_report r;
	sc_report_init(&r);
	sc_check *c = sc_report_add(&r, "pg.slot.s1", SC_CHECK_OK, "active slot s1 | fine");
	sc_check_metric(c, "lag_bytes", 1024, "B");
	int code;
	char *s = sc_report_render_nagios(&r, false, &code);
	assert_int_equal(code, 0);
	assert_non_null(strstr(s, "SYNCCTL OK - 1 checks ok | failed=0;;;0 warnings=0;;;0 ok=1;;;0 pg.slot.s1_lag_bytes=1024B;;; duration="));
	assert_non_null(strstr(s, "\nOK pg.slot.s1: active slot s1 / fine\n"));
	free(s);
	sc_check_set_hint(sc_report_add(&r, "storage.keepalive", SC_CHECK_WARN, "old"), "look");
	s = sc_report_render_nagios(&r, false, &code);
	assert_int_equal(code, 1);
	assert_non_null(strstr(s, "SYNCCTL WARNING - 1 warnings: storage.keepalive old |"));
	assert_non_null(strstr(s, "\nWARNING storage.keepalive: old (fix: look)\n"));
	free(s);
	s = sc_report_render_nagios(&r, true, &code);
	assert_int_equal(code, 2);
	free(s);
	sc_report_add(&r, "it's odd=1", SC_CHECK_FAIL, "bad\nline");
	sc_check_metric(&r.checks[2], "rows", 3, "");
	sc_check_metric(&r.checks[2], "safe_bytes", 858993459.2, "B");
	sc_check_metric(&r.checks[2], "nan", NAN, "");
	s = sc_report_render_nagios(&r, false, &code);
	assert_int_equal(code, 2);
	assert_non_null(strstr(s, "SYNCCTL CRITICAL - 1 failed: it's odd=1 bad line |"));
	assert_non_null(strstr(s, " 'it''s odd_1_rows'=3;;; "));
	assert_non_null(strstr(s, " 'it''s odd_1_safe_bytes'=858993459.200B;;; 'it''s odd_1_nan'=U;;; "));
	free(s);
	sc_report_free(&r);
	sc_report_init(&r);
	sc_report_add(&r, "a", SC_CHECK_SKIP, "nothing");
	s = sc_report_render_nagios(&r, false, &code);
	assert_int_equal(code, 3);
	assert_non_null(strstr(s, "SYNCCTL UNKNOWN - nothing was checked"));
	free(s);
	sc_report_free(&r);
	s = sc_report_nagios_unknown("cannot connect | to x");
	assert_string_equal(s, "SYNCCTL UNKNOWN - cannot connect / to x\n");
	free(s);
}

static void prometheus_exposition_escapes_labels(void **state)
{
	(void)state;
	sc_report r;
	sc_report_init(&r);
	sc_check *c = sc_report_add(&r, "pg.slot.\"q\\", SC_CHECK_FAIL, "x");
	c->group = "source";
	sc_check_metric(c, "retained_bytes", 2048, "B");
	sc_report_add(&r, "b", SC_CHECK_SKIP, "y");
	sc_check_metric(&r.checks[1], "ratio", 0.25, "");
	sc_check_metric(&r.checks[1], "unknown_value", NAN, "");
	sc_check_metric(&r.checks[1], "big", INFINITY, "");
	char *s = sc_report_render_prometheus(&r, "slots", 1700000000.5, 1);
	assert_non_null(strstr(s, "# TYPE syncctl_check_status gauge\n"));
	assert_non_null(strstr(s, "syncctl_check_status{check=\"pg.slot.\\\"q\\\\\",group=\"source\"} 2\n"));
	assert_non_null(strstr(s, "syncctl_check_status{check=\"b\",group=\"slots\"} 3\n"));
	assert_non_null(strstr(s, "# TYPE syncctl_retained_bytes gauge\nsyncctl_retained_bytes{check=\"pg.slot.\\\"q\\\\\",group=\"source\"} 2048\n"));
	assert_non_null(strstr(s, "syncctl_status{command=\"slots\"} 2\n"));
	assert_non_null(strstr(s, "syncctl_run_timestamp_seconds{command=\"slots\"} 1700000000.500\n"));
	assert_non_null(strstr(s, "syncctl_exit_code{command=\"slots\"} 1\n"));
	assert_non_null(strstr(s, "syncctl_ratio{check=\"b\",group=\"slots\"} 0.25\n"));
	assert_non_null(strstr(s, "syncctl_unknown_value{check=\"b\",group=\"slots\"} NaN\n"));
	assert_non_null(strstr(s, "syncctl_big{check=\"b\",group=\"slots\"} +Inf\n"));
	free(s);
	sc_report_free(&r);
}

static void text_groups_checks_under_their_group(void **state)
{
	(void)state;
	sc_report r;
	sc_report_init(&r);
	sc_report_add(&r, "pg.connect", SC_CHECK_OK, "up")->group = "source";
	sc_report_add(&r, "rules.file", SC_CHECK_FAIL, "bad")->group = "rules";
	sc_render_opts o = { false, false, false, false, true };
	char *s = sc_report_render_text(&r, &o);
	assert_string_equal(s, "source\n  ok    pg.connect  up\n\nrules\n  FAIL  rules.file  bad\n");
	free(s);
	sc_report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(worst_status_ignores_skips_unless_all_skip),
		cmocka_unit_test(nagios_status_line_perfdata_and_codes),
		cmocka_unit_test(prometheus_exposition_escapes_labels),
		cmocka_unit_test(text_groups_checks_under_their_group),
		cmocka_unit_test(json_has_the_documented_shape),
		cmocka_unit_test(text_shows_hints_under_failures_and_quiet_hides_passes),
		cmocka_unit_test(table_aligns_utf8_cells),
	};
	return cmocka_run_group_tests_name("report", tests, NULL, NULL);
}
