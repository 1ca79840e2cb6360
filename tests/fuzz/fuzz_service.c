/* libFuzzer target for the sync service's answers as `syncctl service`
 * and doctor judge them (lib/service.c): a probe's, the admin
 * diagnostics' (POST /api/admin/v1/diagnostics), the /sync/stream's, and
 * the error envelope and summary of any of them; then the report in every
 * format. The input is an HTTP answer:
 *   byte 0   what answered: % 5 = 0..2 the startup, readiness, liveness
 *            probe, 3 the diagnostics, 4 the stream (bit 3: with sync rules
 *            being deployed)
 *   byte 1   its status: one of the statuses the checks tell apart
 *   then     header lines, a blank line ("\r\n\r\n"), the body; without a
 *            blank line all of it is the body.
 * Every JSON document must parse. Nothing may crash, leak or hang,
 * whatever the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../lib/report.h"
#include "../../lib/service.h"

static const long statuses[] = { 200, 400, 401, 403, 404, 405, 422, 429, 500, 502, 503, 204, 301, 0, 999, -1 };

static const char *find_blank_line(const char *p, size_t n)
{
	for (size_t i = 0; i + 4 <= n; i++)
		if (memcmp(p + i, "\r\n\r\n", 4) == 0)
			return p + i;
	return NULL;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	int which = data[0] % 5;
	bool deploying = data[0] & 8;
	long status = statuses[data[1] % (sizeof statuses / sizeof statuses[0])];
	const char *in = (const char *)data + 2;
	size_t len = size - 2;
	const char *blank = find_blank_line(in, len);
	sc_http_response resp;
	memset(&resp, 0, sizeof resp);
	resp.status = status;
	resp.total_ms = 12.5;
	const char *body = blank ? blank + 4 : in;
	/* As libcurl hands them over: NUL-terminated copies. */
	resp.len = (size_t)(in + len - body);
	resp.body = malloc(resp.len + 1);
	memcpy(resp.body, body, resp.len);
	resp.body[resp.len] = '\0';
	if (blank) {
		size_t hl = (size_t)(blank - in) + 2;
		resp.headers = malloc(hl + 1);
		memcpy(resp.headers, in, hl);
		resp.headers[hl] = '\0';
	}
	sc_report r;
	sc_report_init(&r);
	if (which < 3)
		sc_service_probe_answer(which, &resp, &r);
	else if (which == 3)
		sc_service_diagnostics_answer(&resp, &r);
	else
		sc_service_stream_answer(&resp, deploying, &r);

	char *json = sc_report_render_json(&r);
	cJSON *j = cJSON_Parse(json);
	if (!cJSON_IsObject(j))
		abort(); /* --json wrote a document that is not JSON */
	cJSON_Delete(j);
	free(json);
	sc_render_opts ro = { .verbose = true };
	free(sc_report_render_text(&r, &ro));
	int code;
	free(sc_report_render_nagios(&r, false, &code));
	free(sc_report_render_prometheus(&r, "service", 1700000000.0, sc_report_exit_code(&r, false)));
	sc_report_free(&r);
	free(resp.body);
	free(resp.headers);
	return 0;
}
