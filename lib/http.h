/* HTTP with deadlines (libcurl). */
#ifndef SC_HTTP_H
#define SC_HTTP_H

#include <stddef.h>

#include "error.h"

/* Once per process, before any thread: libcurl's global state. */
void sc_http_global_init(void);
void sc_http_global_cleanup(void);

typedef struct sc_http_response {
	long status;
	char *body;         /* NUL-terminated */
	size_t len;
	double total_ms;
	char *headers;      /* the last response's header lines, NUL-terminated */
} sc_http_response;

/* The value of a response header (case-insensitive name, the last one
 * when repeated), trimmed; a fresh string, or NULL. */
char *sc_http_header(const sc_http_response *resp, const char *name);

/* GET (body NULL) or POST (body with content type) within timeout_s
 * (connect and total). Only http and https; at most max_bytes of body.
 * Failure to get any answer is exit 3 with curl's reason. */
int sc_http_request(const char *method, const char *url, const char *const *headers,
		    const char *body, int timeout_s, size_t max_bytes,
		    sc_http_response *resp, sc_error *err);
/* As sc_http_request, but a 2xx answer is not read past its first bytes:
 * for streams that stay open (the sync service's /sync/stream). */
int sc_http_request_head(const char *method, const char *url, const char *const *headers,
			 const char *body, int timeout_s, sc_http_response *resp, sc_error *err);
void sc_http_response_free(sc_http_response *resp);

#endif
