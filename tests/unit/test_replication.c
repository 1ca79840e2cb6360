/* Unit tests: the WAL budget rule shared by the slot checks and the
 * service's diagnostics (powersync-service
 * packages/service-core/src/api/diagnostics.ts). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/replication.h"

static void budget_is_the_rounded_share_of_the_limit(void **state)
{
	(void)state;
	double max = 1024.0 * 1024 * 1024, safe = max / 2;
	assert_int_equal(sc_wal_budget_pct("reserved", &safe, &max), 50);
	safe = max * 0.505; /* Math.round(50.5) is 51 */
	assert_int_equal(sc_wal_budget_pct("extended", &safe, &max), 51);
	safe = max * 0.504;
	assert_int_equal(sc_wal_budget_pct("reserved", &safe, &max), 50);
	safe = -4096; /* Postgres reports a negative safe_wal_size past the limit */
	assert_int_equal(sc_wal_budget_pct("unreserved", &safe, &max), 0);
	safe = max * 3;
	assert_int_equal(sc_wal_budget_pct("reserved", &safe, &max), 300);
}

static void budget_does_not_apply_without_a_limit_or_to_a_lost_slot(void **state)
{
	(void)state;
	double max = 1024, safe = 10, zero = 0;
	assert_int_equal(sc_wal_budget_pct("lost", &safe, &max), -1);
	assert_int_equal(sc_wal_budget_pct("reserved", NULL, &max), -1);
	assert_int_equal(sc_wal_budget_pct("reserved", &safe, NULL), -1);
	assert_int_equal(sc_wal_budget_pct("reserved", &safe, &zero), -1);
	assert_int_equal(sc_wal_budget_pct(NULL, &safe, &max), 1);
}

/* Found with tests/fuzz/fuzz_service.c: the service's JSON can say 1e400,
 * which reads as infinity; infinity over infinity has no share (it was
 * converted to int as NaN, undefined). */
static void budget_of_infinite_sizes(void **state)
{
	(void)state;
	double max = 1024, inf = HUGE_VAL;
	assert_int_equal(sc_wal_budget_pct("reserved", &inf, &inf), -1);
	assert_int_equal(sc_wal_budget_pct("reserved", &inf, &max), 1000000000);
	double neg = -HUGE_VAL;
	assert_int_equal(sc_wal_budget_pct("reserved", &neg, &max), 0);
	assert_int_equal(sc_wal_budget_pct("reserved", &max, &inf), 0);
}

static void budget_message_is_the_services(void **state)
{
	(void)state;
	char *m = sc_wal_budget_message(12);
	assert_string_equal(m, "WAL budget is low: 12% remaining. The replication slot may be invalidated if WAL"
			       " consumption continues at this rate. Consider increasing max_slot_wal_keep_size.");
	free(m);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(budget_is_the_rounded_share_of_the_limit),
		cmocka_unit_test(budget_does_not_apply_without_a_limit_or_to_a_lost_slot),
		cmocka_unit_test(budget_of_infinite_sizes),
		cmocka_unit_test(budget_message_is_the_services),
	};
	return cmocka_run_group_tests_name("replication", tests, NULL, NULL);
}
