/* Unit tests: the sync service's answers as `syncctl service` judges them
 * (sc_service_*_answer), without HTTP. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/http.h"
#include "../../lib/report.h"
#include "../../lib/service.h"

static const sc_check *find(const sc_report *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->checks[i].id, id) == 0)
			return &r->checks[i];
	fail_msg("no check %s", id);
	return NULL;
}

static void diagnostics(const char *body, sc_report *r)
{
	sc_http_response resp;
	memset(&resp, 0, sizeof resp);
	resp.status = 200;
	resp.body = (char *)body;
	resp.len = strlen(body);
	sc_report_init(r);
	sc_service_diagnostics_answer(&resp, r);
}

#define CONN "{\"id\":\"default\",\"postgres_uri\":\"postgresql://pg-db:5432/postgres\",\"connected\":true,\"errors\":[]}"

/* Found by tests/fuzz/fuzz_service.c: sizes past what 64 bits hold
 * (1e41 bytes) were converted to integers as they were (undefined);
 * they are shown as the largest size instead, and still judged. */
static void sizes_too_large_for_64_bits_are_shown_as_the_largest(void **state)
{
	(void)state;
	sc_report r;
	diagnostics("{\"data\":{\"connections\":[" CONN "],\"active_sync_rules\":{\"connections\":[{\"id\":\"default\","
		    "\"slot_name\":\"powersync_1_a3f2\",\"initial_replication_done\":true,\"tables\":[],"
		    "\"replication_lag_bytes\":1e30,\"wal_status\":\"extended\",\"safe_wal_size\":1e40,"
		    "\"max_slot_wal_keep_size\":1e41}],\"errors\":[]}}}",
		    &r);
	const sc_check *c = find(&r, "service.replication.powersync_1_a3f2");
	assert_int_equal(c->status, SC_CHECK_WARN);
	assert_string_equal(c->message, "replication lags 8388608 TB behind the source (slot powersync_1_a3f2)");
	c = find(&r, "service.wal_budget.powersync_1_a3f2");
	assert_int_equal(c->status, SC_CHECK_WARN);
	assert_string_equal(c->hint, "ALTER SYSTEM SET max_slot_wal_keep_size = ...; SELECT pg_reload_conf(); (now 8388608 TB), or find why replication falls behind");
	sc_report_free(&r);

	/* A lag below what 64 bits hold is no lag to warn of. */
	diagnostics("{\"data\":{\"connections\":[" CONN "],\"active_sync_rules\":{\"connections\":[{\"id\":\"default\","
		    "\"slot_name\":\"powersync_1_a3f2\",\"initial_replication_done\":true,\"tables\":[],"
		    "\"replication_lag_bytes\":-1e30}],\"errors\":[]}}}",
		    &r);
	c = find(&r, "service.replication.powersync_1_a3f2");
	assert_int_equal(c->status, SC_CHECK_OK);
	sc_report_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(sizes_too_large_for_64_bits_are_shown_as_the_largest),
	};
	return cmocka_run_group_tests_name("service", tests, NULL, NULL);
}
