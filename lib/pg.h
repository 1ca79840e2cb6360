/* Postgres connections with deadlines and secret-free errors (libpq). */
#ifndef SC_PG_H
#define SC_PG_H

#include <stdbool.h>

#include <libpq-fe.h>

#include "error.h"

typedef struct sc_pg {
	PGconn *conn;
	int timeout_s;     /* per statement, client side and statement_timeout */
	char *secret;      /* the password, scrubbed from every message */
	char *display;     /* user@host:port/dbname, never with the password */
	int server_version;
	const char *log_as; /* -v shows this instead of the next statement's text */
} sc_pg;

/* Checks that a connection string or URI parses; exit 2 naming `what`
 * (e.g. "--db") when not. An empty string means libpq's PG* defaults. */
int sc_pg_check_conninfo(const char *conninfo, const char *what, sc_error *err);
/* True when the connection string carries a password. */
bool sc_pg_conninfo_has_password(const char *conninfo);
/* user@host:port/dbname for messages. */
char *sc_pg_describe(const char *conninfo);

/* Connects within timeout_s (libpq connect_timeout) and sets
 * statement_timeout and lock_timeout to the same. Exit 2 for a malformed
 * string, 3 for anything the server or network refused. */
sc_pg *sc_pg_connect(const char *conninfo, const char *what, int timeout_s, sc_error *err);
/* A walsender connection (replication=database): replication commands and
 * simple queries only, so no session settings are made. */
sc_pg *sc_pg_connect_replication(const char *conninfo, const char *what, int timeout_s,
				 sc_error *err);
/* One statement through the simple query protocol (which a replication
 * connection needs), with the same deadline and error rules as sc_pg_exec. */
PGresult *sc_pg_simple(sc_pg *pg, const char *sql, sc_error *err);
/* A libpq message with the password masked. */
char *sc_pg_clean_message(const sc_pg *pg, const char *msg);
void sc_pg_close(sc_pg *pg);

/* Runs one statement with parameters, waiting at most the timeout. Returns
 * the result on success; on a server error returns NULL with err set to
 * exit 3 and the server's message (SQLSTATE in err text not included).
 * sc_pg_exec_keep returns the error result too (caller clears it), NULL
 * only when the connection failed or timed out. */
PGresult *sc_pg_exec(sc_pg *pg, const char *sql, int nparams, const char *const *params,
		     sc_error *err);
PGresult *sc_pg_exec_keep(sc_pg *pg, const char *sql, int nparams, const char *const *params,
			  sc_error *err);
/* Sends a statement without waiting; sc_pg_wait waits for its result
 * (NULL with err set on an error; COPY IN/OUT results are returned for the
 * caller to stream). A pg with timeout_s 0 waits without a deadline. */
int sc_pg_send(sc_pg *pg, const char *sql, int nparams, const char *const *params, sc_error *err);
PGresult *sc_pg_wait(sc_pg *pg, sc_error *err);
/* Session settings under which equal values print alike on any two
 * servers (UTC, ISO dates, postgres intervals, exact floats, hex bytea,
 * UTF-8), so hashes of a row's text can be compared across servers. */
int sc_pg_canonical_session(sc_pg *pg, sc_error *err);
/* Runs a statement and discards its result; 0 or -1. */
int sc_pg_command(sc_pg *pg, const char *sql, int nparams, const char *const *params,
		  sc_error *err);

/* An identifier quoted only when it needs it (the server's quote_ident). */
char *sc_pg_quote_ident(sc_pg *pg, const char *name);
/* A literal for hints and dry runs (PQescapeLiteral). */
char *sc_pg_quote_literal(sc_pg *pg, const char *value);

/* Value helpers for results. */
const char *sc_pg_get(const PGresult *r, int row, int col); /* NULL for SQL NULL */
bool sc_pg_get_bool(const PGresult *r, int row, int col);
long long sc_pg_get_ll(const PGresult *r, int row, int col, long long dflt);

#endif
