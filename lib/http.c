#include "http.h"

#include <stdio.h>
#include <stdlib.h>
#include <stdbool.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "buf.h"
#include "netaddr.h"
#include "util.h"

void sc_http_global_init(void) { curl_global_init(CURL_GLOBAL_DEFAULT); }
void sc_http_global_cleanup(void) { curl_global_cleanup(); }

typedef struct sink {
	sc_buf buf;
	sc_buf head;
	size_t max;
	int too_big;
	CURL *curl;
	bool stop_on_2xx;
	bool stopped;
} sink;

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	sink *s = userdata;
	size_t n = size * nmemb;
	if (s->stop_on_2xx) {
		long code = 0;
		curl_easy_getinfo(s->curl, CURLINFO_RESPONSE_CODE, &code);
		if (code >= 200 && code <= 299) {
			s->stopped = true;
			return 0;
		}
	}
	if (s->buf.len + n > s->max) {
		s->too_big = 1;
		return 0;
	}
	sc_buf_append(&s->buf, ptr, n);
	return n;
}

/* Header lines of the last response only (a redirect's are dropped). */
static size_t on_header(char *ptr, size_t size, size_t nmemb, void *userdata)
{
	sink *s = userdata;
	size_t n = size * nmemb;
	if (n >= 5 && strncmp(ptr, "HTTP/", 5) == 0) {
		sc_buf_free(&s->head);
		s->head = (sc_buf)SC_BUF_INIT;
	}
	if (s->head.len + n < 65536)
		sc_buf_append(&s->head, ptr, n);
	return n;
}

char *sc_http_header(const sc_http_response *resp, const char *name)
{
	char *found = NULL;
	size_t nlen = strlen(name);
	for (const char *p = resp->headers; p && *p;) {
		size_t len = strcspn(p, "\n");
		if (len > nlen && p[nlen] == ':' && strncasecmp(p, name, nlen) == 0) {
			const char *v = p + nlen + 1;
			const char *e = p + len;
			while (v < e && (*v == ' ' || *v == '\t'))
				v++;
			while (e > v && (e[-1] == '\r' || e[-1] == ' ' || e[-1] == '\t'))
				e--;
			free(found);
			found = sc_xstrndup(v, (size_t)(e - v));
		}
		p += len;
		if (*p)
			p++;
	}
	return found;
}

static int request(const char *method, const char *url, const char *const *headers,
		   const char *body, int timeout_s, size_t max_bytes, bool stop_on_2xx,
		   sc_http_response *resp, sc_error *err)
{
	memset(resp, 0, sizeof *resp);
	CURL *c = curl_easy_init();
	if (!c) {
		sc_error_set(err, SC_EXIT_FAILED, "cannot start an HTTP request");
		return -1;
	}
	char *shown = sc_redact_secrets(url);
	sc_log_verbose("HTTP %s %s", method, shown);
	sink s = { SC_BUF_INIT, SC_BUF_INIT, max_bytes, 0, c, stop_on_2xx, false };
	struct curl_slist *hl = NULL;
	for (size_t i = 0; headers && headers[i]; i++)
		hl = curl_slist_append(hl, headers[i]);
	char ua[64];
	snprintf(ua, sizeof ua, "syncctl/%s", "0.1.0");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, (long)timeout_s);
	curl_easy_setopt(c, CURLOPT_USERAGENT, ua);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &s);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, &s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	/* --resolve: curl connects to the rule's address, the URL's host name
	 * stays (Host header, TLS name). */
	struct curl_slist *connect_to = NULL;
	for (size_t i = 0; i < sc_resolve_count(); i++) {
		const sc_resolve_rule *r = sc_resolve_at(i);
		bool v6 = strchr(r->addr, ':') != NULL;
		char port[8] = "", to[8] = "";
		if (r->port)
			snprintf(port, sizeof port, "%d", r->port);
		if (r->to_port)
			snprintf(to, sizeof to, "%d", r->to_port);
		char *e = sc_xasprintf("%s:%s:%s%s%s:%s", r->host, port, v6 ? "[" : "", r->addr, v6 ? "]" : "", to);
		connect_to = curl_slist_append(connect_to, e);
		free(e);
	}
	if (connect_to)
		curl_easy_setopt(c, CURLOPT_CONNECT_TO, connect_to);
	if (strcmp(method, "GET") != 0) {
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body ? body : "");
	}
	CURLcode rc = curl_easy_perform(c);
	int ret = 0;
	if (rc == CURLE_WRITE_ERROR && s.stopped)
		rc = CURLE_OK;
	if (rc != CURLE_OK) {
		if (s.too_big)
			sc_error_set(err, SC_EXIT_FAILED, "%s answered with more than %zu bytes", shown, max_bytes);
		else if (rc == CURLE_OPERATION_TIMEDOUT)
			sc_error_set(err, SC_EXIT_FAILED, "%s did not answer within %d s", shown, timeout_s);
		else
			sc_error_set(err, SC_EXIT_FAILED, "cannot reach %s: %s", shown, curl_easy_strerror(rc));
		sc_buf_free(&s.buf);
		sc_buf_free(&s.head);
		ret = -1;
	} else {
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
		double t = 0;
		curl_easy_getinfo(c, CURLINFO_TOTAL_TIME, &t);
		resp->total_ms = t * 1000.0;
		resp->len = s.buf.len;
		resp->body = sc_buf_take(&s.buf);
		resp->headers = sc_buf_take(&s.head);
	}
	curl_slist_free_all(hl);
	curl_slist_free_all(connect_to);
	curl_easy_cleanup(c);
	free(shown);
	return ret;
}

int sc_http_request(const char *method, const char *url, const char *const *headers,
		    const char *body, int timeout_s, size_t max_bytes,
		    sc_http_response *resp, sc_error *err)
{
	return request(method, url, headers, body, timeout_s, max_bytes, false, resp, err);
}

int sc_http_request_head(const char *method, const char *url, const char *const *headers,
			 const char *body, int timeout_s, sc_http_response *resp, sc_error *err)
{
	return request(method, url, headers, body, timeout_s, 1u << 20, true, resp, err);
}

void sc_http_response_free(sc_http_response *resp)
{
	free(resp->body);
	free(resp->headers);
	memset(resp, 0, sizeof *resp);
}
