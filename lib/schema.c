#include "schema.h"
#include "replication.h"

#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>
#include <pg_query.h>

#include "buf.h"
#include "util.h"

#define MAX_SQL_FILE (64u * 1024u * 1024u)
/* Advisory lock key: two schema inits on one database take turns. */
#define SCHEMA_LOCK_KEY "7311962120154331"

typedef struct stmt {
	size_t offset;   /* byte offset in the file */
	size_t len;
} stmt;

typedef struct sql_file {
	const char *path;
	const char *name;   /* basename: the key in syncctl.applied_files */
	char *text;
	size_t len;
	char sha[65];
	stmt *stmts;
	size_t nstmts;
} sql_file;

typedef struct run {
	sc_pg *pg;
	bool dry_run;
	cJSON *statements;  /* every statement run (or that would run) */
	sc_error *err;
} run;

static void files_free(sql_file *f, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(f[i].text);
		free(f[i].stmts);
	}
	free(f);
}

/* Statement type of the first statement in a parse tree (JSON). */
static bool is_transaction_control(const char *sql)
{
	PgQueryParseResult pr = pg_query_parse(sql);
	bool tx = false;
	if (!pr.error && pr.parse_tree) {
		cJSON *tree = cJSON_Parse(pr.parse_tree);
		cJSON *stmts = cJSON_GetObjectItem(tree, "stmts");
		cJSON *first = cJSON_GetArrayItem(stmts, 0);
		cJSON *node = cJSON_GetObjectItem(cJSON_GetObjectItem(first, "stmt"), "TransactionStmt");
		tx = node != NULL;
		cJSON_Delete(tree);
	}
	pg_query_free_parse_result(pr);
	return tx;
}

/* Reads and splits a file with the real Postgres parser, so a syntax error
 * is found before anything runs. */
static int load_file(sql_file *f, const char *path, sc_error *err)
{
	memset(f, 0, sizeof *f);
	f->path = path;
	const char *slash = strrchr(path, '/');
	f->name = slash ? slash + 1 : path;
	f->text = sc_read_file(path, MAX_SQL_FILE, &f->len, "SQL file", err);
	if (!f->text)
		return -1;
	if (memchr(f->text, '\0', f->len)) {
		sc_error_set(err, SC_EXIT_USAGE, "%s: not a text file (it holds NUL bytes)", path);
		return -1;
	}
	sc_sha256_hex(f->text, f->len, f->sha);
	PgQuerySplitResult sr = pg_query_split_with_parser(f->text);
	if (sr.error) {
		int col;
		int line = sc_line_of_offset(f->text, sr.error->cursorpos > 0 ? (size_t)sr.error->cursorpos - 1 : 0, &col);
		sc_error_set(err, SC_EXIT_USAGE, "%s:%d:%d: %s", path, line, col, sr.error->message);
		pg_query_free_split_result(sr);
		return -1;
	}
	f->stmts = sc_xcalloc((size_t)sr.n_stmts, sizeof *f->stmts);
	for (int i = 0; i < sr.n_stmts; i++) {
		stmt s = { (size_t)sr.stmts[i]->stmt_location, (size_t)sr.stmts[i]->stmt_len };
		if (s.len == 0)
			s.len = f->len - s.offset;
		/* Leading blanks and comments belong to the previous split point. */
		while (s.len && (f->text[s.offset] == ' ' || f->text[s.offset] == '\n' ||
				 f->text[s.offset] == '\t' || f->text[s.offset] == '\r')) {
			s.offset++;
			s.len--;
		}
		char *one = sc_xstrndup(f->text + s.offset, s.len);
		bool tx = is_transaction_control(one);
		free(one);
		if (tx) {
			int line = sc_line_of_offset(f->text, s.offset, NULL);
			sc_error_set(err, SC_EXIT_USAGE,
				     "%s:%d: transaction control (BEGIN/COMMIT/ROLLBACK) is not allowed: schema init runs all files in one transaction of its own",
				     path, line);
			pg_query_free_split_result(sr);
			return -1;
		}
		f->stmts[f->nstmts++] = s;
	}
	pg_query_free_split_result(sr);
	return 0;
}

/* Byte offset of the 1-based character position Postgres reports. */
static size_t char_pos_to_offset(const char *s, size_t len, long pos)
{
	size_t off = 0;
	long chars = 1;
	while (off < len && chars < pos) {
		off++;
		while (off < len && ((unsigned char)s[off] & 0xC0) == 0x80)
			off++;
		chars++;
	}
	return off;
}

/* Runs one statement, or only records it in a dry run. A statement the
 * server rejects is a problem (exit 1); a lost connection is exit 3. */
static int exec_sql(run *ru, const char *sql, int n, const char *const *params, const char *shown)
{
	cJSON_AddItemToArray(ru->statements, cJSON_CreateString(shown ? shown : sql));
	if (ru->dry_run)
		return 0;
	ru->pg->log_as = shown;
	PGresult *res = sc_pg_exec_keep(ru->pg, sql, n, params, ru->err);
	if (!res)
		return -1;
	ExecStatusType st = PQresultStatus(res);
	PQclear(res);
	if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
		return 0;
	char msg[sizeof ru->err->message];
	snprintf(msg, sizeof msg, "%s", ru->err->message);
	sc_error_set(ru->err, SC_EXIT_PROBLEM, "%s: %s (nothing was applied)", shown ? shown : sql, msg);
	return -1;
}

static int apply_file(run *ru, sql_file *f)
{
	for (size_t i = 0; i < f->nstmts; i++) {
		char *sql = sc_xstrndup(f->text + f->stmts[i].offset, f->stmts[i].len);
		cJSON_AddItemToArray(ru->statements, cJSON_CreateString(sql));
		if (ru->dry_run) {
			free(sql);
			continue;
		}
		PGresult *res = sc_pg_exec_keep(ru->pg, sql, 0, NULL, ru->err);
		if (!res) {
			free(sql);
			return -1;
		}
		ExecStatusType st = PQresultStatus(res);
		if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
			const char *pos = PQresultErrorField(res, PG_DIAG_STATEMENT_POSITION);
			size_t off = f->stmts[i].offset;
			if (pos)
				off += char_pos_to_offset(sql, f->stmts[i].len, strtol(pos, NULL, 10));
			int col;
			int line = sc_line_of_offset(f->text, off, &col);
			char msg[sizeof ru->err->message];
			snprintf(msg, sizeof msg, "%s", ru->err->message);
			sc_error_set(ru->err, SC_EXIT_PROBLEM, "%s:%d:%d: %s (nothing was applied)",
				     f->path, line, col, msg);
			PQclear(res);
			free(sql);
			return -1;
		}
		PQclear(res);
		free(sql);
	}
	return 0;
}

/* A table name as given (t, schema.t, "Odd Name") in canonical quoted form,
 * via the server's own identifier rules; the input is only ever a parameter. */
static char *canonical_table(sc_pg *pg, const char *name, sc_error *err)
{
	const char *p[] = { name };
	PGresult *res = sc_pg_exec(pg, "SELECT string_agg(quote_ident(x), '.' ORDER BY n)"
				       " FROM unnest(parse_ident($1)) WITH ORDINALITY AS u(x, n)",
				   1, p, err);
	if (!res) {
		if (PQstatus(pg->conn) == CONNECTION_OK) {
			char msg[sizeof err->message];
			snprintf(msg, sizeof msg, "%s", err->message);
			sc_error_set(err, SC_EXIT_USAGE, "invalid table name %s for --tables: %s", name, msg);
		}
		return NULL;
	}
	char *s = sc_xstrdup(sc_pg_get(res, 0, 0) ? sc_pg_get(res, 0, 0) : name);
	PQclear(res);
	return s;
}

static int ensure_publication(run *ru, const sc_schema_opts *o, sc_report *r, bool *changed)
{
	sc_pg *pg = ru->pg;
	sc_report_mark(r);
	char *qpub = sc_pg_quote_ident(pg, o->publication);
	const char *p[] = { o->publication };
	const char *sql = pg->server_version >= 130000
		? "SELECT puballtables, pubinsert AND pubupdate AND pubdelete AND pubtruncate, pubviaroot"
		  " FROM pg_publication WHERE pubname = $1"
		: "SELECT puballtables, pubinsert AND pubupdate AND pubdelete AND pubtruncate, false"
		  " FROM pg_publication WHERE pubname = $1";
	PGresult *res = sc_pg_exec(pg, sql, 1, p, ru->err);
	if (!res) {
		free(qpub);
		return -1;
	}
	char **qtables = sc_xcalloc(o->ntables ? o->ntables : 1, sizeof *qtables);
	int rc = -1;
	sc_buf list = SC_BUF_INIT, done = SC_BUF_INIT;
	for (size_t i = 0; i < o->ntables; i++) {
		qtables[i] = canonical_table(pg, o->tables[i], ru->err);
		if (!qtables[i])
			goto out;
		sc_buf_printf(&list, "%s%s", i ? ", " : "", qtables[i]);
	}
	if (PQntuples(res) == 0) {
		char *s = o->ntables ? sc_xasprintf("CREATE PUBLICATION %s FOR TABLE %s", qpub, list.data)
				     : sc_xasprintf("CREATE PUBLICATION %s FOR ALL TABLES", qpub);
		int x = exec_sql(ru, s, 0, NULL, NULL);
		free(s);
		if (x != 0)
			goto out;
		sc_buf_printf(&done, "created publication %s %s", o->publication,
			      o->ntables ? "for the listed tables" : "FOR ALL TABLES");
		*changed = true;
	} else {
		bool all_tables = sc_pg_get_bool(res, 0, 0);
		if (!sc_pg_get_bool(res, 0, 1)) {
			char *s = sc_xasprintf("ALTER PUBLICATION %s SET (publish = 'insert, update, delete, truncate')", qpub);
			int x = exec_sql(ru, s, 0, NULL, NULL);
			free(s);
			if (x != 0)
				goto out;
			sc_buf_printf(&done, "publication %s now publishes insert, update, delete, truncate", o->publication);
			*changed = true;
		}
		if (sc_pg_get_bool(res, 0, 2)) {
			char *s = sc_xasprintf("ALTER PUBLICATION %s SET (publish_via_partition_root = false)", qpub);
			int x = exec_sql(ru, s, 0, NULL, NULL);
			free(s);
			if (x != 0)
				goto out;
			sc_buf_printf(&done, "%spublish_via_partition_root turned off", done.len ? "; " : "");
			*changed = true;
		}
		for (size_t i = 0; i < o->ntables && !all_tables; i++) {
			const char *pp[] = { o->publication, qtables[i] };
			sc_error qerr;
			PGresult *in = sc_pg_exec(pg,
				"SELECT 1 FROM pg_publication_tables WHERE pubname = $1"
				" AND format('%I.%I', schemaname, tablename)::regclass = to_regclass($2)",
				2, pp, &qerr);
			bool present = in && PQntuples(in) > 0;
			PQclear(in);
			if (present)
				continue;
			char *s = sc_xasprintf("ALTER PUBLICATION %s ADD TABLE %s", qpub, qtables[i]);
			int x = exec_sql(ru, s, 0, NULL, NULL);
			free(s);
			if (x != 0)
				goto out;
			sc_buf_printf(&done, "%sadded %s to publication %s", done.len ? "; " : "",
				      qtables[i], o->publication);
			*changed = true;
		}
		if (!done.len)
			sc_buf_printf(&done, "publication %s already publishes insert, update, delete, truncate%s",
				      o->publication, all_tables ? " FOR ALL TABLES" : "");
	}
	sc_report_add(r, "schema.publication", SC_CHECK_OK, "%s%s", ru->dry_run && *changed ? "would be: " : "", done.data);
	rc = 0;
out:
	for (size_t i = 0; i < o->ntables; i++)
		free(qtables[i]);
	free(qtables);
	sc_buf_free(&list);
	sc_buf_free(&done);
	PQclear(res);
	free(qpub);
	return rc;
}

static int ensure_role(run *ru, const sc_schema_opts *o, sc_report *r, bool *changed)
{
	sc_pg *pg = ru->pg;
	sc_report_mark(r);
	const char *p[] = { o->role };
	PGresult *res = sc_pg_exec(pg, "SELECT quote_ident($1), EXISTS (SELECT 1 FROM pg_roles WHERE rolname = $1)",
				   1, p, ru->err);
	if (!res)
		return -1;
	char *qrole = sc_xstrdup(sc_pg_get(res, 0, 0));
	bool exists = sc_pg_get_bool(res, 0, 1);
	PQclear(res);
	int rc = -1;
	char *pw = NULL;
	if (!exists && !o->role_password) {
		sc_error_set(ru->err, SC_EXIT_USAGE,
			     "role %s does not exist: give its password with --password-file FILE to create it", o->role);
		goto out;
	}
	if (o->role_password) {
		/* Hashed here (SCRAM, as the server is configured), so the
		 * password itself never travels or lands in a log. */
		char *enc = PQencryptPasswordConn(pg->conn, o->role_password, o->role, NULL);
		if (!enc) {
			sc_error_set(ru->err, SC_EXIT_FAILED, "cannot hash the password for role %s", o->role);
			goto out;
		}
		char *lit = sc_pg_quote_literal(pg, enc);
		PQfreemem(enc);
		pw = sc_xasprintf(" PASSWORD %s", lit);
		free(lit);
	}
	char *s = sc_xasprintf("%s ROLE %s WITH LOGIN REPLICATION BYPASSRLS%s", exists ? "ALTER" : "CREATE",
			       qrole, pw ? pw : "");
	char *shown = sc_xasprintf("%s ROLE %s WITH LOGIN REPLICATION BYPASSRLS%s", exists ? "ALTER" : "CREATE",
				   qrole, pw ? " PASSWORD '***'" : "");
	int x = exec_sql(ru, s, 0, NULL, shown);
	free(s);
	free(shown);
	if (x != 0)
		goto out;

	/* SELECT on the synced tables: the listed ones, or every table of every
	 * user schema (and future ones) for FOR ALL TABLES. */
	if (o->ntables) {
		for (size_t i = 0; i < o->ntables; i++) {
			char *qt = canonical_table(pg, o->tables[i], ru->err);
			if (!qt)
				goto out;
			const char *dot = strrchr(qt, '.');
			if (dot) {
				char *g = sc_xasprintf("GRANT USAGE ON SCHEMA %.*s TO %s", (int)(dot - qt), qt, qrole);
				x = exec_sql(ru, g, 0, NULL, NULL);
				free(g);
			}
			if (x == 0) {
				char *g = sc_xasprintf("GRANT SELECT ON %s TO %s", qt, qrole);
				x = exec_sql(ru, g, 0, NULL, NULL);
				free(g);
			}
			free(qt);
			if (x != 0)
				goto out;
		}
	} else {
		PGresult *sch = sc_pg_exec(pg,
			"SELECT quote_ident(nspname) FROM pg_namespace WHERE nspname NOT IN"
			" ('pg_catalog', 'information_schema', 'pg_toast', 'syncctl')"
			" AND nspname NOT LIKE 'pg\\_temp\\_%' AND nspname NOT LIKE 'pg\\_toast\\_temp\\_%'"
			" AND (nspname = 'public' OR nspowner <> 10) ORDER BY 1", 0, NULL, ru->err);
		if (!sch)
			goto out;
		for (int i = 0; i < PQntuples(sch) && x == 0; i++) {
			const char *ns = sc_pg_get(sch, i, 0);
			char *g1 = sc_xasprintf("GRANT USAGE ON SCHEMA %s TO %s", ns, qrole);
			char *g2 = sc_xasprintf("GRANT SELECT ON ALL TABLES IN SCHEMA %s TO %s", ns, qrole);
			char *g3 = sc_xasprintf("ALTER DEFAULT PRIVILEGES IN SCHEMA %s GRANT SELECT ON TABLES TO %s", ns, qrole);
			x = exec_sql(ru, g1, 0, NULL, NULL);
			if (x == 0)
				x = exec_sql(ru, g2, 0, NULL, NULL);
			if (x == 0)
				x = exec_sql(ru, g3, 0, NULL, NULL);
			free(g1);
			free(g2);
			free(g3);
		}
		PQclear(sch);
		if (x != 0)
			goto out;
	}
	*changed = true;
	sc_report_add(r, "schema.role", SC_CHECK_OK, "%s role %s with LOGIN, REPLICATION, BYPASSRLS and SELECT on the synced tables",
		      ru->dry_run ? (exists ? "would alter" : "would create") : (exists ? "altered" : "created"), o->role);
	rc = 0;
out:
	free(pw);
	free(qrole);
	return rc;
}

/* Schema init cannot change wal_level (that needs a restart), but the
 * deployment it prepares does not replicate without it: the same failing
 * check as slots and doctor. */
static void check_wal_level(sc_pg *pg, sc_report *r)
{
	sc_report_mark(r);
	sc_error e;
	PGresult *res = sc_pg_exec(pg, "SELECT current_setting('wal_level')", 0, NULL, &e);
	if (res && PQntuples(res) == 1)
		sc_check_wal_level(sc_pg_get(res, 0, 0), r);
	PQclear(res);
}

/* Phase 1: read and parse every file (nothing runs if one is bad); names
 * must be unique, since they are the ledger's keys. */
static int load_files(sql_file *files, const sc_schema_opts *o, sc_error *err)
{
	for (size_t i = 0; i < o->nfiles; i++) {
		if (load_file(&files[i], o->files[i], err) != 0)
			return -1;
		for (size_t j = 0; j < i; j++)
			if (strcmp(files[j].name, files[i].name) == 0) {
				sc_error_set(err, SC_EXIT_USAGE,
					     "%s and %s have the same name: applied files are recorded by name, so names must be unique",
					     files[j].path, files[i].path);
				return -1;
			}
	}
	return 0;
}

/* Phase 2: one transaction (read-only for --dry-run) holding the advisory
 * lock, so two runs take turns; whether the ledger exists. */
static int begin_locked(run *ru, bool *in_tx, bool *have_table)
{
	sc_pg *pg = ru->pg;
	const char *begin = ru->dry_run ? "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY" : "BEGIN";
	if (sc_pg_command(pg, begin, 0, NULL, ru->err) != 0)
		return -1;
	*in_tx = true;
	cJSON_AddItemToArray(ru->statements, cJSON_CreateString("BEGIN"));
	PGresult *lock = sc_pg_exec(pg, "SELECT pg_try_advisory_xact_lock(" SCHEMA_LOCK_KEY ")", 0, NULL, ru->err);
	if (!lock)
		return -1;
	bool locked = sc_pg_get_bool(lock, 0, 0);
	PQclear(lock);
	if (!locked) {
		sc_error_set(ru->err, SC_EXIT_FAILED, "another syncctl schema init is running on %s; try again when it is done",
			     pg->display);
		return -1;
	}
	PGresult *reg = sc_pg_exec(pg, "SELECT to_regclass('syncctl.applied_files') IS NOT NULL", 0, NULL, ru->err);
	if (!reg)
		return -1;
	*have_table = sc_pg_get_bool(reg, 0, 0);
	PQclear(reg);
	return 0;
}

static int create_ledger(run *ru)
{
	return exec_sql(ru, "CREATE SCHEMA IF NOT EXISTS syncctl", 0, NULL, NULL) != 0 ||
			       exec_sql(ru, "CREATE TABLE IF NOT EXISTS syncctl.applied_files ("
					    "name text PRIMARY KEY, sha256 text NOT NULL,"
					    " applied_at timestamptz NOT NULL DEFAULT now())", 0, NULL, NULL) != 0
		       ? -1 : 0;
}

/* What the ledger says of a file: its recorded hash and when (both NULL
 * when it was never applied). */
static int ledger_entry(run *ru, const sql_file *f, char **prev, char **when)
{
	const char *p[] = { f->name };
	PGresult *res = sc_pg_exec(ru->pg, "SELECT sha256, to_char(applied_at, 'YYYY-MM-DD HH24:MI:SS TZ')"
					   " FROM syncctl.applied_files WHERE name = $1", 1, p, ru->err);
	if (!res)
		return -1;
	if (PQntuples(res)) {
		*prev = sc_xstrdup(sc_pg_get(res, 0, 0));
		*when = sc_xstrdup(sc_pg_get(res, 0, 1));
	}
	PQclear(res);
	return 0;
}

/* Runs a file and records it in the ledger (the statement shown with the
 * name as a literal; run with parameters). */
static int apply_and_record(run *ru, sql_file *f)
{
	if (apply_file(ru, f) != 0)
		return -1;
	const char *p[] = { f->name, f->sha };
	const char *rec = "INSERT INTO syncctl.applied_files (name, sha256) VALUES ($1, $2)"
			  " ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()";
	char *lit = sc_pg_quote_literal(ru->pg, f->name);
	char *shown = sc_xasprintf("INSERT INTO syncctl.applied_files (name, sha256) VALUES (%s, '%s')"
				   " ON CONFLICT (name) DO UPDATE SET sha256 = EXCLUDED.sha256, applied_at = now()",
				   lit, f->sha);
	free(lit);
	int x = exec_sql(ru, rec, 2, p, shown);
	free(shown);
	return x;
}

/* Phase 3, one file: already applied (ok), changed since (fails, and
 * blocks every later file), or applied now. */
static int file_step(run *ru, const sc_schema_opts *o, sql_file *f, bool have_table, sc_report *r,
		     bool *blocked, bool *changed)
{
	sc_report_mark(r);
	char *prev = NULL, *when = NULL;
	if (have_table && ledger_entry(ru, f, &prev, &when) != 0)
		return -1;
	char *id = sc_xasprintf("schema.file.%s", f->name);
	cJSON *d = cJSON_CreateObject();
	cJSON_AddStringToObject(d, "path", f->path);
	cJSON_AddStringToObject(d, "sha256", f->sha);
	cJSON_AddNumberToObject(d, "statements", (double)f->nstmts);
	int rc = 0;
	if (prev && strcmp(prev, f->sha) == 0) {
		sc_check_set_details(sc_report_add(r, id, SC_CHECK_OK, "%s already applied (%s)", f->name, when), d);
	} else if (prev && !o->reapply) {
		sc_check *c = sc_report_add(r, id, SC_CHECK_FAIL,
					    "%s changed since it was applied on %s (sha256 was %.12s, is %.12s)",
					    f->name, when, prev, f->sha);
		sc_check_set_hint(c, "review the change; to run the whole file again: syncctl schema init --reapply -f %s", f->path);
		sc_check_set_details(c, d);
		*blocked = true;
	} else if (!*blocked && apply_and_record(ru, f) != 0) {
		cJSON_Delete(d);
		rc = -1;
	} else {
		*changed = true;
		sc_check_set_details(sc_report_add(r, id, SC_CHECK_OK, "%s %s%s (%zu statements)", f->name,
						   o->dry_run || *blocked ? "would be " : "",
						   prev ? "re-applied" : "applied", f->nstmts), d);
	}
	free(id);
	free(prev);
	free(when);
	return rc;
}

/* Phase 5: COMMIT, or for --dry-run ROLLBACK shown as the COMMIT it would be. */
static int finish(run *ru)
{
	if (ru->dry_run) {
		cJSON_AddItemToArray(ru->statements, cJSON_CreateString("COMMIT"));
		sc_pg_command(ru->pg, "ROLLBACK", 0, NULL, ru->err);
		return 0;
	}
	if (sc_pg_command(ru->pg, "COMMIT", 0, NULL, ru->err) != 0)
		return -1;
	cJSON_AddItemToArray(ru->statements, cJSON_CreateString("COMMIT"));
	return 0;
}

int sc_schema_init(sc_pg *pg, const sc_schema_opts *o, sc_report *r, sc_error *err)
{
	sql_file *files = sc_xcalloc(o->nfiles ? o->nfiles : 1, sizeof *files);
	bool in_tx = false, changed = false, blocked = false, have_table = false;
	run ru = { pg, o->dry_run, cJSON_CreateArray(), err };
	sc_error_clear(err);
	int rc = load_files(files, o, err);
	if (rc == 0)
		rc = begin_locked(&ru, &in_tx, &have_table);
	if (rc == 0 && !have_table && o->nfiles)
		rc = create_ledger(&ru);
	for (size_t i = 0; rc == 0 && i < o->nfiles; i++)
		rc = file_step(&ru, o, &files[i], have_table, r, &blocked, &changed);
	if (rc == 0 && blocked) {
		sc_error_set(err, SC_EXIT_PROBLEM, "a file changed since it was applied: nothing was applied (use --reapply to run it again)");
		rc = -1;
	}
	/* Phase 4: the publication, and the role. */
	if (rc == 0)
		rc = ensure_publication(&ru, o, r, &changed);
	if (rc == 0 && o->role)
		rc = ensure_role(&ru, o, r, &changed);
	if (rc == 0 && (rc = finish(&ru)) == 0) {
		in_tx = false;
		check_wal_level(pg, r);
	}
	if (in_tx && pg->conn && PQstatus(pg->conn) == CONNECTION_OK) {
		sc_error keep;
		sc_pg_command(pg, "ROLLBACK", 0, NULL, &keep);
	}
	int code = rc == 0 ? SC_EXIT_OK : err->code ? err->code : SC_EXIT_FAILED;
	cJSON_AddBoolToObject(r->extra, "changed", changed && code == SC_EXIT_OK && !o->dry_run);
	cJSON_AddBoolToObject(r->extra, "would_change", changed && code == SC_EXIT_OK);
	cJSON_AddBoolToObject(r->extra, "dry_run", o->dry_run);
	cJSON_AddItemToObject(r->extra, "statements", ru.statements);
	files_free(files, o->nfiles);
	return code;
}
