/* lib/json and lib/text: JSON from outside read as JSON.parse reads it,
 * JSON written as valid UTF-8, text that a terminal shows and never obeys. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/json.h"
#include "../../lib/text.h"

static cJSON *parse(const char *t, char *why)
{
	return sc_json_parse(t, strlen(t), why, 200);
}

static void escaped_nul_keeps_the_whole_string(void **state)
{
	(void)state;
	char why[200];
	cJSON *j = parse("{\"kid\":\"k1\\u0000x\",\"alg\":\"RS256\",\"k\\u0000\":1}", why);
	assert_non_null(j);
	const char *kid = cJSON_GetObjectItemCaseSensitive(j, "kid")->valuestring;
	assert_string_equal(kid, "k1" SC_NUL_MARK "x");
	assert_true(sc_json_has_nul(kid));
	assert_string_not_equal(kid, "k1");
	assert_false(sc_json_has_nul(cJSON_GetObjectItemCaseSensitive(j, "alg")->valuestring));
	assert_null(cJSON_GetObjectItemCaseSensitive(j, "k"));
	char *out = sc_json_print(j, false);
	assert_string_equal(out, "{\"kid\":\"k1\\u0000x\",\"alg\":\"RS256\",\"k\\u0000\":1}");
	free(out);
	cJSON_Delete(j);
	/* An escaped backslash before u0000 is not a NUL. */
	j = parse("[\"a\\\\u0000\"]", why);
	assert_string_equal(cJSON_GetArrayItem(j, 0)->valuestring, "a\\u0000");
	cJSON_Delete(j);
}

static void raw_c0_bytes_are_replacement_characters(void **state)
{
	(void)state;
	char why[200];
	/* Raw C0 80 in the input is not UTF-8: U+FFFD, never the NUL mark. */
	cJSON *j = parse("[\"a\xC0\x80\"]", why);
	assert_non_null(j);
	assert_false(sc_json_has_nul(cJSON_GetArrayItem(j, 0)->valuestring));
	char *out = sc_json_print(j, false);
	assert_string_equal(out, "[\"a\xEF\xBF\xBD\\ufffd\"]");
	free(out);
	cJSON_Delete(j);
}

static void refusals_say_why(void **state)
{
	(void)state;
	char why[200];
	assert_null(sc_json_parse("{\"a\":1}\0", 8, why, sizeof why));
	assert_string_equal(why, "a NUL byte at byte 7");
	assert_null(parse("{\"a\":\"x\x01y\"}", why));
	assert_string_equal(why, "a raw control character (0x01) in a string at byte 7: JSON needs it escaped");
	assert_null(parse("[1] x", why));
	assert_string_equal(why, "data after the JSON value at byte 4");
	assert_null(parse("{\"a\":}", why));
	assert_string_equal(why, "not valid JSON at byte 5");
	size_t n = 20000;
	char *deep = malloc(2 * n + 1);
	memset(deep, '[', n);
	memset(deep + n, ']', n);
	deep[2 * n] = '\0';
	assert_null(parse(deep, why));
	assert_string_equal(why, "nested deeper than 1000 levels");
	/* 1000 levels are fine. */
	memset(deep + 1000, ']', 1000);
	deep[2000] = '\0';
	cJSON *j = parse(deep, why);
	assert_non_null(j);
	cJSON_Delete(j);
	free(deep);
	j = parse("  {\"a\": [1, 2]}\n", why);
	assert_non_null(j);
	cJSON_Delete(j);
}

static void printed_json_is_utf8(void **state)
{
	(void)state;
	cJSON *j = cJSON_CreateObject();
	cJSON_AddStringToObject(j, "h\xff", "\xff\xfe\xc0\xaf ok \xc3\xa9 \xed\xa0\x80 \xf4\x90\x80\x80");
	char *out = sc_json_print(j, false);
	assert_string_equal(out, "{\"h\\ufffd\":\"\\ufffd\\ufffd\\ufffd\\ufffd ok \xc3\xa9 \\ufffd\\ufffd\\ufffd \\ufffd\\ufffd\\ufffd\\ufffd\"}");
	free(out);
	cJSON_Delete(j);
	sc_buf b = SC_BUF_INIT;
	sc_json_append_string(&b, "q\"\\\n\x1b\xff\xc3\xa9" SC_NUL_MARK);
	assert_string_equal(sc_buf_str(&b), "\"q\\\"\\\\\\n\\u001b\\ufffd\xc3\xa9\\u0000\"");
	sc_buf_free(&b);
}

static void text_shows_controls_escaped(void **state)
{
	(void)state;
	char *s = sc_text_safe("k\x1b]0;pwned\x07 \x1b[2J\tok\n\x7f \xc2\x9b \xe2\x80\xae \xff " SC_NUL_MARK " \xc3\xa9 \\x");
	assert_string_equal(s, "k\\x1b]0;pwned\\x07 \\x1b[2J\tok\\x0a\\x7f \\u009b \\u202e \\xff \\u0000 \xc3\xa9 \\x");
	free(s);
	sc_buf b = SC_BUF_INIT;
	sc_text_append_safe(&b, "a\nb\rc", 5, true);
	assert_string_equal(sc_buf_str(&b), "a\nb\\x0dc");
	sc_buf_free(&b);
	assert_true(sc_text_is_safe("plain \xc3\xa9\n\ttext", strlen("plain \xc3\xa9\n\ttext")));
	assert_false(sc_text_is_safe("\x1b", 1));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(escaped_nul_keeps_the_whole_string),
		cmocka_unit_test(raw_c0_bytes_are_replacement_characters),
		cmocka_unit_test(refusals_say_why),
		cmocka_unit_test(printed_json_is_utf8),
		cmocka_unit_test(text_shows_controls_escaped),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
