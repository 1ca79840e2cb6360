/* Unit tests: sizes, secrets, offsets, hashes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/util.h"

static void parse_size_accepts_postgres_units(void **state)
{
	(void)state;
	int64_t v;
	assert_true(sc_parse_size("1GB", &v));
	assert_int_equal(v, 1073741824LL);
	assert_true(sc_parse_size("64kB", &v));
	assert_int_equal(v, 65536);
	assert_true(sc_parse_size("512 MB", &v));
	assert_int_equal(v, 536870912LL);
	assert_true(sc_parse_size("100", &v));
	assert_int_equal(v, 100);
}

static void parse_size_rejects_nonsense(void **state)
{
	(void)state;
	int64_t v;
	assert_false(sc_parse_size("", &v));
	assert_false(sc_parse_size("lots", &v));
	assert_false(sc_parse_size("-1GB", &v));
	assert_false(sc_parse_size("1PB", &v));
	assert_false(sc_parse_size("99999999999TB", &v));
}

static void format_size_is_readable(void **state)
{
	(void)state;
	char *s = sc_format_size(12);
	assert_string_equal(s, "12 bytes");
	free(s);
	s = sc_format_size(1536);
	assert_string_equal(s, "1.5 kB");
	free(s);
	s = sc_format_size(1073741824LL * 20);
	assert_string_equal(s, "20 GB");
	free(s);
}

static void redact_masks_uri_passwords(void **state)
{
	(void)state;
	char *s = sc_redact_secrets("postgresql://alice:s3cr%40t@db.example:5432/app?sslmode=require");
	assert_string_equal(s, "postgresql://alice:***@db.example:5432/app?sslmode=require");
	free(s);
	/* A password containing '@': the last '@' ends the userinfo. */
	s = sc_redact_secrets("postgres://bob:p@ss@host/db");
	assert_string_equal(s, "postgres://bob:***@host/db");
	free(s);
	s = sc_redact_secrets("postgres://host/db?user=x&password=hunter2&sslmode=disable");
	assert_string_equal(s, "postgres://host/db?user=x&password=***&sslmode=disable");
	free(s);
	s = sc_redact_secrets("host=h password='it\\'s secret' dbname=d");
	assert_null(strstr(s, "secret"));
	free(s);
	s = sc_redact_secrets("postgres://user@host/db");
	assert_string_equal(s, "postgres://user@host/db");
	free(s);
}

static void scrub_removes_every_occurrence(void **state)
{
	(void)state;
	char *s = sc_scrub("pw=abc, again abc.", "abc");
	assert_string_equal(s, "pw=***, again ***.");
	free(s);
	s = sc_scrub("nothing here", "");
	assert_string_equal(s, "nothing here");
	free(s);
}

static void line_of_offset_counts_lines_and_columns(void **state)
{
	(void)state;
	int col;
	assert_int_equal(sc_line_of_offset("ab\ncd\nef", 0, &col), 1);
	assert_int_equal(col, 1);
	assert_int_equal(sc_line_of_offset("ab\ncd\nef", 4, &col), 2);
	assert_int_equal(col, 2);
	assert_int_equal(sc_line_of_offset("ab\ncd\nef", 6, &col), 3);
	assert_int_equal(col, 1);
}

static void sha256_matches_the_known_vector(void **state)
{
	(void)state;
	char hex[65];
	sc_sha256_hex("abc", 3, hex);
	assert_string_equal(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void parse_seconds_bounds(void **state)
{
	(void)state;
	int v;
	assert_true(sc_parse_seconds("10", &v));
	assert_int_equal(v, 10);
	assert_false(sc_parse_seconds("0", &v));
	assert_false(sc_parse_seconds("10s", &v));
	assert_false(sc_parse_seconds("86401", &v));
}

static void parse_duration_units_and_bounds(void **state)
{
	(void)state;
	double d;
	assert_true(sc_parse_duration("0.5", &d));
	assert_true(d == 0.5);
	assert_true(sc_parse_duration("30s", &d));
	assert_true(d == 30);
	assert_true(sc_parse_duration("1.5h", &d));
	assert_true(d == 5400);
	assert_true(sc_parse_duration("2d", &d));
	assert_true(d == 172800);
	assert_false(sc_parse_duration("0", &d));
	assert_false(sc_parse_duration("-1m", &d));
	assert_false(sc_parse_duration("5x", &d));
	assert_false(sc_parse_duration("5mm", &d));
	assert_false(sc_parse_duration("nan", &d));
	assert_false(sc_parse_duration("inf", &d));
	assert_false(sc_parse_duration("3651d", &d));
	assert_false(sc_parse_duration("", &d));

	long w;
	assert_true(sc_parse_whole_duration("5m", &w));
	assert_int_equal(w, 300);
	assert_true(sc_parse_whole_duration("0.5m", &w));
	assert_int_equal(w, 30);
	assert_false(sc_parse_whole_duration("0.5", &w));
	assert_false(sc_parse_whole_duration("1.25s", &w));
}

static void format_age_reads_as_people_say_it(void **state)
{
	(void)state;
	char *a = sc_format_age(42);
	assert_string_equal(a, "42 s");
	free(a);
	a = sc_format_age(600);
	assert_string_equal(a, "10 min");
	free(a);
	a = sc_format_age(5 * 3600);
	assert_string_equal(a, "5 h");
	free(a);
	a = sc_format_age(3 * 86400);
	assert_string_equal(a, "3 d");
	free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parse_size_accepts_postgres_units),
		cmocka_unit_test(parse_size_rejects_nonsense),
		cmocka_unit_test(format_size_is_readable),
		cmocka_unit_test(redact_masks_uri_passwords),
		cmocka_unit_test(scrub_removes_every_occurrence),
		cmocka_unit_test(line_of_offset_counts_lines_and_columns),
		cmocka_unit_test(sha256_matches_the_known_vector),
		cmocka_unit_test(parse_seconds_bounds),
		cmocka_unit_test(parse_duration_units_and_bounds),
		cmocka_unit_test(format_age_reads_as_people_say_it),
	};
	return cmocka_run_group_tests_name("util", tests, NULL, NULL);
}
