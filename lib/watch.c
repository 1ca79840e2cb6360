#include "watch.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "buf.h"
#include "replication.h"
#include "util.h"

#define PG_EPOCH_US 946684800000000LL   /* 2000-01-01 in unix microseconds */
#define PROBE_PREFIX "syncctl-probe"
#define STATUS_EVERY_MS 1000.0

/* ---- a bounds-checked reader of pgoutput's binary messages ---- */

typedef struct rd {
	const unsigned char *p;
	size_t left;
	bool bad;
} rd;

static uint64_t rd_u(rd *r, int bytes)
{
	if (r->bad || r->left < (size_t)bytes) {
		r->bad = true;
		return 0;
	}
	uint64_t v = 0;
	for (int i = 0; i < bytes; i++)
		v = v << 8 | r->p[i];
	r->p += bytes;
	r->left -= (size_t)bytes;
	return v;
}

static char *rd_str(rd *r)
{
	const unsigned char *nul = r->bad ? NULL : memchr(r->p, 0, r->left);
	if (!nul) {
		r->bad = true;
		return sc_xstrdup("");
	}
	size_t n = (size_t)(nul - r->p);
	char *s = sc_xstrndup((const char *)r->p, n);
	r->p += n + 1;
	r->left -= n + 1;
	return s;
}

static const unsigned char *rd_bytes(rd *r, size_t n)
{
	if (r->bad || r->left < n) {
		r->bad = true;
		return NULL;
	}
	const unsigned char *b = r->p;
	r->p += n;
	r->left -= n;
	return b;
}

/* ---- relations ---- */

typedef struct relation {
	uint32_t id;
	char *schema, *name;
	int ncols;
	char **cols;
	bool *is_key;
	bool wanted;
} relation;

typedef struct tuple {
	int ncols;
	char **vals;
	char *kind;
} tuple;

typedef struct stream {
	const sc_watch_opts *o;
	const sc_watch_callbacks *cb;
	sc_watch_stats *stats;
	relation *rels;
	size_t nrels;
	long long commit_time_us;
	uint32_t xid;
	uint64_t commit_lsn;
	bool in_txn;
	uint64_t received;   /* highest WAL position seen */
	uint64_t confirmed;  /* what we report flushed */
	uint64_t pending;    /* commit end LSN not yet reported */
	bool done;
	/* probes */
	long long probe_seq;
	double probe_sent_ms;
	bool probe_waiting;
	pid_t pid;
} stream;

static void relation_free(relation *r)
{
	free(r->schema);
	free(r->name);
	for (int i = 0; i < r->ncols; i++)
		free(r->cols[i]);
	free(r->cols);
	free(r->is_key);
}

static relation *find_relation(stream *s, uint32_t id)
{
	for (size_t i = 0; i < s->nrels; i++)
		if (s->rels[i].id == id)
			return &s->rels[i];
	return NULL;
}

static bool table_wanted(const sc_watch_opts *o, const char *schema, const char *name)
{
	if (!o->ntables)
		return true;
	for (size_t i = 0; i < o->ntables; i++) {
		const char *t = o->tables[i];
		const char *dot = strchr(t, '.');
		if (dot) {
			size_t sl = (size_t)(dot - t);
			if (strlen(schema) == sl && strncmp(t, schema, sl) == 0 && strcmp(dot + 1, name) == 0)
				return true;
		} else if (strcmp(t, name) == 0) {
			return true;
		}
	}
	return false;
}

static void read_relation(stream *s, rd *r)
{
	relation rel;
	memset(&rel, 0, sizeof rel);
	rel.id = (uint32_t)rd_u(r, 4);
	rel.schema = rd_str(r);
	rel.name = rd_str(r);
	rd_u(r, 1); /* replica identity setting */
	int n = (int)rd_u(r, 2);
	if (r->bad || n < 0 || n > 1664) {
		r->bad = true;
		relation_free(&rel);
		return;
	}
	rel.cols = sc_xcalloc((size_t)n, sizeof *rel.cols);
	rel.is_key = sc_xcalloc((size_t)n, sizeof *rel.is_key);
	for (int i = 0; i < n; i++) {
		rel.is_key[i] = rd_u(r, 1) & 1;
		rel.cols[i] = rd_str(r);
		rd_u(r, 4); /* type oid */
		rd_u(r, 4); /* typmod */
		rel.ncols = i + 1;
	}
	rel.wanted = table_wanted(s->o, rel.schema, rel.name);
	relation *old = find_relation(s, rel.id);
	if (old) {
		relation_free(old);
		*old = rel;
	} else {
		s->rels = sc_xrealloc(s->rels, (s->nrels + 1) * sizeof *s->rels);
		s->rels[s->nrels++] = rel;
	}
}

static void tuple_free(tuple *t)
{
	for (int i = 0; i < t->ncols; i++)
		free(t->vals[i]);
	free(t->vals);
	free(t->kind);
	memset(t, 0, sizeof *t);
}

static void read_tuple(rd *r, tuple *t)
{
	memset(t, 0, sizeof *t);
	int n = (int)rd_u(r, 2);
	if (r->bad || n > 1664) {
		r->bad = true;
		return;
	}
	t->vals = sc_xcalloc((size_t)(n ? n : 1), sizeof *t->vals);
	t->kind = sc_xcalloc((size_t)(n ? n : 1), 1);
	for (int i = 0; i < n && !r->bad; i++) {
		char k = (char)rd_u(r, 1);
		t->kind[i] = k;
		t->ncols = i + 1;
		if (k == 't' || k == 'b') {
			uint32_t len = (uint32_t)rd_u(r, 4);
			const unsigned char *b = rd_bytes(r, len);
			t->vals[i] = b ? sc_xstrndup((const char *)b, len) : NULL;
			t->kind[i] = 't';
		} else if (k != 'n' && k != 'u') {
			r->bad = true;
		}
	}
}

static void emit(stream *s, const relation *rel, const char *op, tuple *newt, tuple *oldt, bool old_key_only)
{
	if (!rel->wanted || s->done)
		return;
	sc_change c;
	memset(&c, 0, sizeof c);
	c.op = op;
	c.schema = rel->schema;
	c.table = rel->name;
	c.commit_time_us = s->commit_time_us;
	c.xid = s->xid;
	c.lsn = s->commit_lsn;
	c.ncols = rel->ncols;
	c.names = (const char *const *)rel->cols;
	c.is_key = rel->is_key;
	/* A tuple shorter than its relation (a broken stream) is not shown:
	 * nothing is read past it. */
	if (newt && newt->ncols >= rel->ncols) {
		c.has_new = true;
		c.new_vals = (const char *const *)newt->vals;
		c.new_kind = newt->kind;
	}
	if (oldt && oldt->ncols >= rel->ncols) {
		c.has_old = true;
		c.old_vals = (const char *const *)oldt->vals;
		c.old_kind = oldt->kind;
		c.old_is_key_only = old_key_only;
	}
	s->cb->change(&c, s->cb->data);
	s->stats->changes++;
	if (s->o->count && !s->o->probe && s->stats->changes >= s->o->count) {
		s->done = true;
		s->stats->stopped_by = "count";
	}
}

static void handle_message(stream *s, const unsigned char *msg, size_t len)
{
	rd r = { msg, len, false };
	char type = (char)rd_u(&r, 1);
	switch (type) {
	case 'B':
		s->commit_lsn = rd_u(&r, 8);
		s->commit_time_us = (long long)rd_u(&r, 8) + PG_EPOCH_US;
		s->xid = (uint32_t)rd_u(&r, 4);
		s->in_txn = true;
		break;
	case 'C': {
		rd_u(&r, 1);
		rd_u(&r, 8);
		uint64_t end = rd_u(&r, 8);
		s->in_txn = false;
		if (end > s->pending)
			s->pending = end;
		break;
	}
	case 'R':
		read_relation(s, &r);
		break;
	case 'I':
	case 'U':
	case 'D': {
		relation *rel = find_relation(s, (uint32_t)rd_u(&r, 4));
		tuple newt = { 0 }, oldt = { 0 };
		bool have_old = false, key_only = false;
		char sub = (char)rd_u(&r, 1);
		if (type != 'I' && (sub == 'K' || sub == 'O')) {
			have_old = true;
			key_only = sub == 'K';
			read_tuple(&r, &oldt);
			if (type == 'U')
				sub = (char)rd_u(&r, 1);
		}
		if (type != 'D' && sub == 'N')
			read_tuple(&r, &newt);
		if (rel && !r.bad)
			emit(s, rel, type == 'I' ? "insert" : type == 'U' ? "update" : "delete",
			     type != 'D' ? &newt : NULL, have_old ? &oldt : NULL, key_only);
		tuple_free(&newt);
		tuple_free(&oldt);
		break;
	}
	case 'T': {
		uint32_t n = (uint32_t)rd_u(&r, 4);
		rd_u(&r, 1);
		for (uint32_t i = 0; i < n && !r.bad; i++) {
			relation *rel = find_relation(s, (uint32_t)rd_u(&r, 4));
			if (rel)
				emit(s, rel, "truncate", NULL, NULL, false);
		}
		break;
	}
	case 'M': {
		rd_u(&r, 1);       /* transactional flag */
		rd_u(&r, 8);       /* lsn */
		char *prefix = rd_str(&r);
		uint32_t clen = (uint32_t)rd_u(&r, 4);
		const unsigned char *content = rd_bytes(&r, clen);
		if (content && s->probe_waiting && strcmp(prefix, PROBE_PREFIX) == 0) {
			char want[64];
			int wl = snprintf(want, sizeof want, "%ld:%lld", (long)s->pid, s->probe_seq);
			if ((size_t)wl == clen && memcmp(want, content, clen) == 0) {
				double rtt = sc_now_ms() - s->probe_sent_ms;
				s->probe_waiting = false;
				s->stats->rtt_ms = sc_xrealloc(s->stats->rtt_ms,
							       (size_t)(s->stats->probes + 1) * sizeof(double));
				s->stats->rtt_ms[s->stats->probes++] = rtt;
				if (s->cb->probe)
					s->cb->probe(s->probe_seq, rtt, s->cb->data);
				if (s->o->count && s->stats->probes >= s->o->count) {
					s->done = true;
					s->stats->stopped_by = "count";
				}
			}
		}
		free(prefix);
		break;
	}
	default:
		/* Origin, Type and stream messages carry nothing shown here. */
		break;
	}
}

static void put_u64(unsigned char *p, uint64_t v)
{
	for (int i = 7; i >= 0; i--) {
		p[i] = (unsigned char)(v & 0xFF);
		v >>= 8;
	}
}

/* Standby status update: written = flushed = applied = what was printed. */
static int send_status(stream *s, PGconn *conn, bool reply)
{
	if (s->cb->flush)
		s->cb->flush(s->cb->data);
	if (s->pending > s->confirmed)
		s->confirmed = s->pending;
	unsigned char msg[34];
	msg[0] = 'r';
	put_u64(msg + 1, s->confirmed);
	put_u64(msg + 9, s->confirmed);
	put_u64(msg + 17, s->confirmed);
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	long long now_us = (long long)ts.tv_sec * 1000000LL + ts.tv_nsec / 1000 - PG_EPOCH_US;
	put_u64(msg + 25, (uint64_t)now_us);
	msg[33] = reply ? 1 : 0;
	if (PQputCopyData(conn, (const char *)msg, sizeof msg) != 1 || PQflush(conn) != 0)
		return -1;
	return 0;
}

/* pgoutput carries logical messages, the probes, only from Postgres 14
 * (its `messages` option); before that a probe never comes back. */
#define PROBE_MIN_VERSION 140000

static void probe_refusal(const sc_pg *pg, char *msg, size_t len)
{
	snprintf(msg, len, "watch --probe needs PostgreSQL 14 or later: before 14, pgoutput does not carry"
		 " logical messages, so no probe would come back (%s is PostgreSQL %d.%d)",
		 pg->display, pg->server_version / 10000, pg->server_version % 10000);
}

int sc_watch_preflight(sc_pg *pg, const char *publication, bool probe, sc_report *r, sc_error *err)
{
	sc_report all;
	sc_report_init(&all);
	if (sc_replication_check_settings(pg, &all, err) != 0) {
		sc_report_free(&all);
		return -1;
	}
	int fails = 0;
	for (size_t i = 0; i < all.n; i++) {
		sc_check *c = &all.checks[i];
		if (c->status != SC_CHECK_FAIL)
			continue;
		sc_check *d = sc_report_add(r, c->id, SC_CHECK_FAIL, "%s", c->message);
		if (c->hint)
			sc_check_set_hint(d, "%s", c->hint);
		fails++;
	}
	sc_report_free(&all);
	if (probe && pg->server_version < PROBE_MIN_VERSION) {
		char msg[512];
		probe_refusal(pg, msg, sizeof msg);
		sc_check *c = sc_report_add(r, "pg.probe", SC_CHECK_FAIL, "%s", msg);
		sc_check_set_hint(c, "watch without --probe shows the row changes on any version; the round trip needs the server upgraded to 14 or later");
		fails++;
	}
	const char *p[] = { publication };
	PGresult *res = sc_pg_exec(pg, "SELECT quote_ident($1), EXISTS (SELECT 1 FROM pg_publication WHERE pubname = $1)",
				   1, p, err);
	if (!res)
		return -1;
	if (!sc_pg_get_bool(res, 0, 1)) {
		sc_check *c = sc_report_add(r, "pg.publication", SC_CHECK_FAIL,
					    "publication %s does not exist: nothing is replicated to the sync service", publication);
		sc_check_set_hint(c, "CREATE PUBLICATION %s FOR ALL TABLES; (or: syncctl schema init)", sc_pg_get(res, 0, 0));
		fails++;
	}
	PQclear(res);
	return fails;
}

void sc_watch_stats_free(sc_watch_stats *s)
{
	free(s->rtt_ms);
	s->rtt_ms = NULL;
}

/* A transactional message: its commit flushes the WAL, so it travels as a
 * committed row change does (a non-transactional one waits for the WAL
 * writer, up to wal_writer_delay, before Postgres 17). */
static int send_probe(stream *s, sc_pg *pg, sc_error *err)
{
	s->probe_seq++;
	char payload[64];
	snprintf(payload, sizeof payload, "%ld:%lld", (long)s->pid, s->probe_seq);
	const char *p[] = { payload };
	s->probe_sent_ms = sc_now_ms();
	s->probe_waiting = true;
	return sc_pg_command(pg, "SELECT pg_logical_emit_message(true, '" PROBE_PREFIX "', $1)", 1, p, err);
}

/* Phase 1: a temporary slot (it goes with the session, whatever way that
 * ends; its name never collides with the service's powersync_* slots),
 * then START_REPLICATION on it. A refusal by a live server is a problem
 * found (exit 1), a lost connection could-not (3). */
static int start_stream(sc_pg *pg, const sc_watch_opts *o, sc_watch_stats *stats, sc_error *err)
{
	char *sql = sc_xasprintf("CREATE_REPLICATION_SLOT %s TEMPORARY LOGICAL pgoutput NOEXPORT_SNAPSHOT", stats->slot);
	PGresult *res = sc_pg_simple(pg, sql, err);
	free(sql);
	if (!res)
		goto refused;
	PQclear(res);

	char *ident = PQescapeIdentifier(pg->conn, o->publication, strlen(o->publication));
	char *lit = ident ? PQescapeLiteral(pg->conn, ident, strlen(ident)) : NULL;
	sql = sc_xasprintf("START_REPLICATION SLOT %s LOGICAL 0/0 (proto_version '1', publication_names %s%s)",
			   stats->slot, lit ? lit : "''", pg->server_version >= PROBE_MIN_VERSION ? ", messages 'true'" : "");
	PQfreemem(ident);
	PQfreemem(lit);
	res = sc_pg_simple(pg, sql, err);
	free(sql);
	if (!res)
		goto refused;
	bool copying = PQresultStatus(res) == PGRES_COPY_BOTH;
	PQclear(res);
	if (!copying) {
		sc_error_set(err, SC_EXIT_FAILED, "the server did not start streaming");
		return -1;
	}
	return 0;
refused:
	if (pg->conn && PQstatus(pg->conn) == CONNECTION_OK)
		err->code = SC_EXIT_PROBLEM;
	return -1;
}

/* One CopyData message: XLogData ('w') to the decoder, a keepalive ('k')
 * answered when the server asks. -1: the connection is lost. */
static int copy_data(stream *s, PGconn *conn, const char *buf, int n, double *last_status)
{
	rd r = { (const unsigned char *)buf, (size_t)n, false };
	char kind = (char)rd_u(&r, 1);
	if (kind == 'w') {
		rd_u(&r, 8);
		uint64_t wal_end = rd_u(&r, 8);
		rd_u(&r, 8);
		if (wal_end > s->received)
			s->received = wal_end;
		if (!r.bad)
			handle_message(s, r.p, r.left);
	} else if (kind == 'k') {
		uint64_t wal_end = rd_u(&r, 8);
		rd_u(&r, 8);
		bool reply = rd_u(&r, 1) != 0;
		/* Outside a transaction everything up to here is handled. */
		if (!s->in_txn && wal_end > s->pending)
			s->pending = wal_end;
		if (reply) {
			if (send_status(s, conn, false) != 0)
				return -1;
			*last_status = sc_now_ms();
		}
	}
	return 0;
}

/* How long the loop may sleep: until the next status, probe or the end of
 * --duration, and at most 200 ms, so signals are polled 5 times a second. */
static int wait_ms(const stream *s, double now, double start, double next_probe)
{
	const sc_watch_opts *o = s->o;
	double wait = STATUS_EVERY_MS;
	if (o->probe && !s->probe_waiting)
		wait = next_probe - now;
	if (o->duration_s > 0 && start + o->duration_s * 1000.0 - now < wait)
		wait = start + o->duration_s * 1000.0 - now;
	return wait < 0 ? 0 : wait > 200 ? 200 : (int)wait;
}

enum { STREAM_ENDED = 0, STREAM_FAILED = -1, STREAM_LOST = -2 };

/* Phase 2: stream until a signal, --duration, --count (s->done) or the
 * server ends it; probes and status updates on their timers. */
static int stream_loop(stream *s, sc_pg *pg, sc_pg *probe_pg, sc_error *err)
{
	const sc_watch_opts *o = s->o;
	PGconn *conn = pg->conn;
	int fd = PQsocket(conn);
	double start = sc_now_ms(), last_status = start, next_probe = start, last_heard = start;
	for (;;) {
		if (o->stop && *o->stop) {
			s->stats->stopped_by = "signal";
			return STREAM_ENDED;
		}
		if (s->done)
			return STREAM_ENDED;
		double now = sc_now_ms();
		if (o->duration_s > 0 && now - start >= o->duration_s * 1000.0) {
			s->stats->stopped_by = "duration";
			return STREAM_ENDED;
		}
		if (o->probe && !s->probe_waiting && now >= next_probe) {
			if (send_probe(s, probe_pg, err) != 0)
				return STREAM_FAILED;
			next_probe = now + o->interval_s * 1000.0;
		}
		if (now - last_status >= STATUS_EVERY_MS) {
			if (send_status(s, conn, false) != 0)
				return STREAM_LOST;
			last_status = now;
		}
		char *buf = NULL;
		int n = PQgetCopyData(conn, &buf, 1);
		if (n == 0) {
			/* Nothing buffered: wait for the socket, a timer, or a signal. */
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			int pr = poll(&pfd, 1, wait_ms(s, now, start, next_probe));
			if ((pr < 0 && errno != EINTR) || (pr > 0 && !PQconsumeInput(conn)))
				return STREAM_LOST;
			/* A server that says nothing for this long is gone (its
			 * keepalives come every wal_sender_timeout / 2). */
			if (sc_now_ms() - last_heard > 120000.0) {
				sc_error_set(err, SC_EXIT_FAILED, "%s sent nothing for 120 s", pg->display);
				return STREAM_FAILED;
			}
			continue;
		}
		if (n == -1)
			return STREAM_ENDED; /* the server ended the stream */
		if (n < 0)
			return STREAM_LOST;
		last_heard = sc_now_ms();
		int crc = copy_data(s, conn, buf, n, &last_status);
		PQfreemem(buf);
		if (crc != 0)
			return STREAM_LOST;
	}
}

/* Phase 3: report what was printed, then end the stream cleanly: after
 * PQputCopyEnd, read until -1 (within --timeout) before the results. */
static void end_stream(stream *s, PGconn *conn)
{
	send_status(s, conn, false);
	if (PQputCopyEnd(conn, NULL) != 1)
		return;
	int fd = PQsocket(conn);
	double deadline = sc_now_ms() + s->o->timeout_s * 1000.0;
	for (;;) {
		char *buf = NULL;
		int n = PQgetCopyData(conn, &buf, 1);
		if (buf)
			PQfreemem(buf);
		if (n == -1 || n == -2)
			break;
		if (n == 0) {
			if (sc_now_ms() > deadline)
				break;
			struct pollfd pfd = { .fd = fd, .events = POLLIN };
			if (poll(&pfd, 1, 100) > 0 && !PQconsumeInput(conn))
				break;
		}
	}
	PGresult *x;
	while ((x = PQgetResult(conn)) != NULL)
		PQclear(x);
}

int sc_watch_run(const char *conninfo, const char *what, const sc_watch_opts *o,
		 const sc_watch_callbacks *cb, sc_watch_stats *stats, sc_error *err)
{
	memset(stats, 0, sizeof *stats);
	stream s;
	memset(&s, 0, sizeof s);
	s.o = o;
	s.cb = cb;
	s.stats = stats;
	s.pid = getpid();
	snprintf(stats->slot, sizeof stats->slot, "syncctl_watch_%ld", (long)s.pid);
	int rc = -1;
	sc_pg *probe_pg = NULL;
	sc_pg *pg = sc_pg_connect_replication(conninfo, what, o->timeout_s, err);
	if (!pg)
		return -1;
	if (o->probe && pg->server_version < PROBE_MIN_VERSION) {
		char msg[512];
		probe_refusal(pg, msg, sizeof msg);
		sc_error_set(err, SC_EXIT_PROBLEM, "%s", msg);
		goto out;
	}
	if (o->probe && !(probe_pg = sc_pg_connect(conninfo, what, o->timeout_s, err)))
		goto out;
	if (start_stream(pg, o, stats, err) != 0)
		goto out;
	int sr = stream_loop(&s, pg, probe_pg, err);
	if (sr == STREAM_LOST) {
		char *m = sc_pg_clean_message(pg, PQerrorMessage(pg->conn));
		sc_error_set(err, SC_EXIT_FAILED, "lost the replication stream from %s: %s", pg->display, m);
		free(m);
		goto out;
	}
	if (sr == STREAM_FAILED)
		goto out;
	if (!stats->stopped_by)
		stats->stopped_by = "server";
	end_stream(&s, pg->conn);
	rc = 0;
out:
	for (size_t i = 0; i < s.nrels; i++)
		relation_free(&s.rels[i]);
	free(s.rels);
	sc_pg_close(probe_pg);
	sc_pg_close(pg);
	return rc;
}
