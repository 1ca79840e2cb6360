#include "pg.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "netaddr.h"
#include "util.h"

static char *conninfo_value(PQconninfoOption *opts, const char *key)
{
	for (PQconninfoOption *o = opts; o && o->keyword; o++)
		if (strcmp(o->keyword, key) == 0 && o->val && *o->val)
			return o->val;
	return NULL;
}

/* A libpq message with the password (known or guessed) masked. */
static char *clean_message(const char *msg, const char *secret, const char *conninfo)
{
	char *a = sc_scrub(msg, secret);
	char *b = sc_redact_secrets(a);
	free(a);
	/* A message quoting the raw conninfo is replaced by its redacted form. */
	if (conninfo && *conninfo && strstr(b, conninfo)) {
		char *c = sc_scrub(b, conninfo);
		free(b);
		b = c;
	}
	return b;
}

int sc_pg_check_conninfo(const char *conninfo, const char *what, sc_error *err)
{
	if (!conninfo || !*conninfo)
		return 0;
	char *errmsg = NULL;
	PQconninfoOption *opts = PQconninfoParse(conninfo, &errmsg);
	if (!opts) {
		char *clean = clean_message(errmsg ? errmsg : "malformed", NULL, conninfo);
		char *shown = sc_redact_secrets(conninfo);
		sc_error_set(err, SC_EXIT_USAGE, "invalid connection string for %s (%s): %s", what,
			     shown, clean);
		free(shown);
		free(clean);
		PQfreemem(errmsg);
		return -1;
	}
	PQconninfoFree(opts);
	return 0;
}

bool sc_pg_conninfo_has_password(const char *conninfo)
{
	if (!conninfo || !*conninfo)
		return false;
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	bool has = opts && conninfo_value(opts, "password") != NULL;
	PQconninfoFree(opts);
	return has;
}

char *sc_pg_describe(const char *conninfo)
{
	PQconninfoOption *opts = PQconninfoParse(conninfo ? conninfo : "", NULL);
	if (!opts)
		return sc_redact_secrets(conninfo);
	const char *user = conninfo_value(opts, "user");
	const char *host = conninfo_value(opts, "host");
	const char *port = conninfo_value(opts, "port");
	const char *db = conninfo_value(opts, "dbname");
	if (!user)
		user = getenv("PGUSER");
	if (!host)
		host = getenv("PGHOST");
	if (!port)
		port = getenv("PGPORT");
	if (!db)
		db = getenv("PGDATABASE");
	char *s = sc_xasprintf("%s%s%s%s%s/%s", user ? user : "", user ? "@" : "",
			       host ? host : "local socket", port ? ":" : "", port ? port : "",
			       db ? db : (user ? user : ""));
	PQconninfoFree(opts);
	return s;
}

char *sc_pg_clean_message(const sc_pg *pg, const char *msg)
{
	return clean_message(msg, pg->secret, NULL);
}

static sc_pg *connect_with(const char *conninfo, const char *what, int timeout_s, bool replication,
			   sc_error *err)
{
	if (!conninfo)
		conninfo = "";
	if (sc_pg_check_conninfo(conninfo, what, err) != 0)
		return NULL;
	sc_pg *pg = sc_xcalloc(1, sizeof *pg);
	pg->timeout_s = timeout_s > 0 ? timeout_s : 10;
	pg->display = sc_pg_describe(conninfo);
	PQconninfoOption *opts = PQconninfoParse(conninfo, NULL);
	const char *pw = opts ? conninfo_value(opts, "password") : NULL;
	if (!pw)
		pw = getenv("PGPASSWORD");
	pg->secret = pw ? sc_xstrdup(pw) : NULL;
	PQconninfoFree(opts);

	char timeout[16];
	/* libpq's minimum effective connect_timeout is 2 s. */
	snprintf(timeout, sizeof timeout, "%d", pg->timeout_s < 2 ? 2 : pg->timeout_s);
	/* Keepalives and tcp_user_timeout notice a peer that went away
	 * silently, so even a statement without a deadline cannot hang. */
	char idle[16], user_ms[24];
	snprintf(idle, sizeof idle, "%d", pg->timeout_s);
	snprintf(user_ms, sizeof user_ms, "%d", pg->timeout_s * 3000);
	/* --resolve: the configured host name stays (TLS verifies it), the
	 * address libpq connects to is the rule's. */
	const char *keys[12] = { "dbname", "connect_timeout", "fallback_application_name", "keepalives",
				 "keepalives_idle", "keepalives_interval", "keepalives_count",
				 "tcp_user_timeout" };
	const char *vals[12] = { conninfo, timeout, "syncctl", "1", idle, idle, "3", user_ms };
	int nk = 8;
	char to_port[8];
	const sc_resolve_rule *rule = NULL;
	if (sc_resolve_count()) {
		PQconninfoOption *o = PQconninfoParse(conninfo, NULL);
		const char *host = o ? conninfo_value(o, "host") : NULL;
		const char *port_s = o ? conninfo_value(o, "port") : NULL;
		if (!host)
			host = getenv("PGHOST");
		if (!port_s)
			port_s = getenv("PGPORT");
		rule = sc_resolve_find(host, port_s ? atoi(port_s) : 5432);
		if (rule) {
			keys[nk] = "hostaddr";
			vals[nk++] = rule->addr;
			if (rule->to_port) {
				snprintf(to_port, sizeof to_port, "%d", rule->to_port);
				keys[nk] = "port";
				vals[nk++] = to_port;
			}
			sc_log_verbose("--resolve: %s:%s is reached at %s:%s", host, port_s ? port_s : "5432", rule->addr,
				       rule->to_port ? to_port : (port_s ? port_s : "5432"));
		}
		PQconninfoFree(o);
	}
	if (replication) {
		keys[nk] = "replication";
		vals[nk++] = "database";
	}
	keys[nk] = NULL;
	vals[nk] = NULL;
	sc_log_verbose("connecting to %s (timeout %d s)", pg->display, pg->timeout_s);
	pg->conn = PQconnectdbParams(keys, vals, 1);
	if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
		char *msg = clean_message(pg->conn ? PQerrorMessage(pg->conn) : "out of memory",
					  pg->secret, conninfo);
		sc_error_set(err, SC_EXIT_FAILED, "cannot connect to %s at %s: %s", what,
			     pg->display, msg);
		free(msg);
		sc_pg_close(pg);
		return NULL;
	}
	pg->server_version = PQserverVersion(pg->conn);
	if (replication)
		return pg;
	char ms[32];
	snprintf(ms, sizeof ms, "%d", pg->timeout_s * 1000);
	const char *p[] = { ms };
	if (sc_pg_command(pg, "SELECT set_config('statement_timeout', $1, false), "
			      "set_config('lock_timeout', $1, false)", 1, p, err) != 0) {
		sc_pg_close(pg);
		return NULL;
	}
	return pg;
}

sc_pg *sc_pg_connect(const char *conninfo, const char *what, int timeout_s, sc_error *err)
{
	return connect_with(conninfo, what, timeout_s, false, err);
}

sc_pg *sc_pg_connect_replication(const char *conninfo, const char *what, int timeout_s,
				 sc_error *err)
{
	return connect_with(conninfo, what, timeout_s, true, err);
}

void sc_pg_close(sc_pg *pg)
{
	if (!pg)
		return;
	if (pg->conn)
		PQfinish(pg->conn);
	free(pg->secret);
	free(pg->display);
	free(pg);
}

static void set_server_error(sc_pg *pg, PGresult *res, sc_error *err)
{
	const char *primary = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
	const char *detail = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
	char *msg = sc_xasprintf("%s%s%s", primary ? primary : PQresultErrorMessage(res),
				 detail ? " (" : "", detail ? detail : "");
	if (detail) {
		char *m2 = sc_xasprintf("%s)", msg);
		free(msg);
		msg = m2;
	}
	char *clean = clean_message(msg, pg->secret, NULL);
	sc_error_set(err, SC_EXIT_FAILED, "%s", clean);
	free(clean);
	free(msg);
}

/* Waits for the answer to what was sent, within the deadline. */
static PGresult *wait_result(sc_pg *pg, sc_error *err)
{
	/* timeout_s 0: a long data statement with no client deadline (the
	 * server's lock_timeout and TCP keepalives still end a stall). */
	bool forever = pg->timeout_s <= 0;
	double deadline = sc_now_ms() + pg->timeout_s * 1000.0 + 500.0;
	int fd = PQsocket(pg->conn);
	while (PQisBusy(pg->conn)) {
		double left = forever ? 60000.0 : deadline - sc_now_ms();
		if (left <= 0) {
			sc_error_set(err, SC_EXIT_FAILED,
				     "%s did not answer within %d s (raise --timeout if the work is slow)",
				     pg->display, pg->timeout_s);
			/* The connection is in an unknown state: nothing more is sent. */
			PQfinish(pg->conn);
			pg->conn = NULL;
			return NULL;
		}
		struct pollfd pfd = { .fd = fd, .events = POLLIN };
		int rc = poll(&pfd, 1, (int)left);
		if (rc < 0 && errno != EINTR) {
			sc_error_set(err, SC_EXIT_FAILED, "waiting for %s: %s", pg->display,
				     strerror(errno));
			return NULL;
		}
		if (rc > 0 && !PQconsumeInput(pg->conn)) {
			char *m = clean_message(PQerrorMessage(pg->conn), pg->secret, NULL);
			sc_error_set(err, SC_EXIT_FAILED, "lost the connection to %s: %s",
				     pg->display, m);
			free(m);
			return NULL;
		}
	}
	PGresult *keep = NULL, *r;
	while ((r = PQgetResult(pg->conn)) != NULL) {
		ExecStatusType st = PQresultStatus(r);
		if (!keep || st == PGRES_FATAL_ERROR) {
			PQclear(keep);
			keep = r;
		} else {
			PQclear(r);
		}
		/* COPY results end the wait: the caller streams. */
		if (st == PGRES_COPY_BOTH || st == PGRES_COPY_OUT || st == PGRES_COPY_IN)
			break;
	}
	if (!keep) {
		sc_error_set(err, SC_EXIT_FAILED, "no result from %s", pg->display);
		return NULL;
	}
	ExecStatusType st = PQresultStatus(keep);
	if (st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_COPY_BOTH &&
	    st != PGRES_COPY_OUT && st != PGRES_COPY_IN) {
		if (PQstatus(pg->conn) == CONNECTION_BAD) {
			char *m = clean_message(PQerrorMessage(pg->conn), pg->secret, NULL);
			sc_error_set(err, SC_EXIT_FAILED, "lost the connection to %s: %s",
				     pg->display, m);
			free(m);
			PQclear(keep);
			return NULL;
		}
		set_server_error(pg, keep, err);
	}
	return keep;
}

int sc_pg_send(sc_pg *pg, const char *sql, int nparams, const char *const *params, sc_error *err)
{
	if (!pg->conn) {
		sc_error_set(err, SC_EXIT_FAILED, "the connection to %s is closed", pg->display);
		return -1;
	}
	sc_log_verbose("SQL: %s", sql);
	if (!PQsendQueryParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
		char *m = clean_message(PQerrorMessage(pg->conn), pg->secret, NULL);
		sc_error_set(err, SC_EXIT_FAILED, "lost the connection to %s: %s", pg->display, m);
		free(m);
		return -1;
	}
	return 0;
}

PGresult *sc_pg_wait(sc_pg *pg, sc_error *err)
{
	if (!pg->conn) {
		sc_error_set(err, SC_EXIT_FAILED, "the connection to %s is closed", pg->display);
		return NULL;
	}
	PGresult *r = wait_result(pg, err);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (r && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_COPY_IN &&
	    st != PGRES_COPY_OUT) {
		PQclear(r);
		return NULL;
	}
	return r;
}

int sc_pg_canonical_session(sc_pg *pg, sc_error *err)
{
	/* UTF8, so both sides of a comparison send the same bytes; except a
	 * SQL_ASCII database, which converts nothing and may hold any byte:
	 * with UTF8 the server would refuse its own names and values as
	 * parameters. Its bytes then pass as they are (output is made safe by
	 * lib/json.h and lib/text.h), and a UTF8 peer refuses what is not. */
	const char *server = PQparameterStatus(pg->conn, "server_encoding");
	const char *enc = server && strcmp(server, "SQL_ASCII") == 0 ? "SQL_ASCII" : "UTF8";
	if (PQsetClientEncoding(pg->conn, enc) != 0) {
		sc_error_set(err, SC_EXIT_FAILED, "%s cannot use client_encoding %s", pg->display, enc);
		return -1;
	}
	return sc_pg_command(pg, "SELECT set_config('TimeZone', 'UTC', false), set_config('DateStyle', 'ISO, MDY', false),"
			     " set_config('IntervalStyle', 'postgres', false), set_config('extra_float_digits', '3', false),"
			     " set_config('bytea_output', 'hex', false)", 0, NULL, err);
}

PGresult *sc_pg_exec_keep(sc_pg *pg, const char *sql, int nparams, const char *const *params,
			  sc_error *err)
{
	if (!pg->conn) {
		sc_error_set(err, SC_EXIT_FAILED, "the connection to %s is closed", pg->display);
		return NULL;
	}
	/* A statement holding a secret (a password hash) is logged as its
	 * redacted form. */
	sc_log_verbose("SQL: %s", pg->log_as ? pg->log_as : sql);
	pg->log_as = NULL;
	if (!PQsendQueryParams(pg->conn, sql, nparams, NULL, params, NULL, NULL, 0)) {
		char *m = clean_message(PQerrorMessage(pg->conn), pg->secret, NULL);
		sc_error_set(err, SC_EXIT_FAILED, "lost the connection to %s: %s", pg->display, m);
		free(m);
		return NULL;
	}
	return wait_result(pg, err);
}

PGresult *sc_pg_simple(sc_pg *pg, const char *sql, sc_error *err)
{
	if (!pg->conn) {
		sc_error_set(err, SC_EXIT_FAILED, "the connection to %s is closed", pg->display);
		return NULL;
	}
	sc_log_verbose("SQL: %s", sql);
	if (!PQsendQuery(pg->conn, sql)) {
		char *m = clean_message(PQerrorMessage(pg->conn), pg->secret, NULL);
		sc_error_set(err, SC_EXIT_FAILED, "lost the connection to %s: %s", pg->display, m);
		free(m);
		return NULL;
	}
	PGresult *r = wait_result(pg, err);
	ExecStatusType st = r ? PQresultStatus(r) : PGRES_FATAL_ERROR;
	if (r && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK && st != PGRES_COPY_BOTH) {
		PQclear(r);
		return NULL;
	}
	return r;
}

PGresult *sc_pg_exec(sc_pg *pg, const char *sql, int nparams, const char *const *params,
		     sc_error *err)
{
	if (!pg->conn || PQstatus(pg->conn) != CONNECTION_OK) {
		sc_error_set(err, SC_EXIT_FAILED, "the connection to %s is closed", pg->display);
		return NULL;
	}
	PGresult *r = sc_pg_exec_keep(pg, sql, nparams, params, err);
	if (r && PQresultStatus(r) != PGRES_TUPLES_OK && PQresultStatus(r) != PGRES_COMMAND_OK) {
		PQclear(r);
		return NULL;
	}
	return r;
}

int sc_pg_command(sc_pg *pg, const char *sql, int nparams, const char *const *params,
		  sc_error *err)
{
	PGresult *r = sc_pg_exec(pg, sql, nparams, params, err);
	if (!r)
		return -1;
	PQclear(r);
	return 0;
}

char *sc_pg_quote_ident(sc_pg *pg, const char *name)
{
	sc_error e;
	const char *p[] = { name };
	PGresult *r = pg && pg->conn ? sc_pg_exec(pg, "SELECT quote_ident($1)", 1, p, &e) : NULL;
	if (r && PQntuples(r) == 1) {
		char *s = sc_xstrdup(PQgetvalue(r, 0, 0));
		PQclear(r);
		return s;
	}
	PQclear(r);
	sc_buf b = SC_BUF_INIT;
	sc_buf_putc(&b, '"');
	for (const char *c = name; *c; c++) {
		if (*c == '"')
			sc_buf_putc(&b, '"');
		sc_buf_putc(&b, *c);
	}
	sc_buf_putc(&b, '"');
	return sc_buf_take(&b);
}

char *sc_pg_quote_literal(sc_pg *pg, const char *value)
{
	char *q = pg && pg->conn ? PQescapeLiteral(pg->conn, value, strlen(value)) : NULL;
	if (q) {
		char *s = sc_xstrdup(q);
		PQfreemem(q);
		return s;
	}
	sc_buf b = SC_BUF_INIT;
	sc_buf_putc(&b, '\'');
	for (const char *c = value; *c; c++) {
		if (*c == '\'')
			sc_buf_putc(&b, '\'');
		sc_buf_putc(&b, *c);
	}
	sc_buf_putc(&b, '\'');
	return sc_buf_take(&b);
}

const char *sc_pg_get(const PGresult *r, int row, int col)
{
	if (!r || row >= PQntuples(r) || col >= PQnfields(r) || PQgetisnull(r, row, col))
		return NULL;
	return PQgetvalue(r, row, col);
}

bool sc_pg_get_bool(const PGresult *r, int row, int col)
{
	const char *v = sc_pg_get(r, row, col);
	return v && v[0] == 't';
}

long long sc_pg_get_ll(const PGresult *r, int row, int col, long long dflt)
{
	const char *v = sc_pg_get(r, row, col);
	if (!v)
		return dflt;
	char *end;
	long long n = strtoll(v, &end, 10);
	return end == v ? dflt : n;
}
