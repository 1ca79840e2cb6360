/* Unit tests: watch's pgoutput decoder (sc_watch_decoder) and its text and
 * JSON renderers, fed messages as a replication stream sends them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/buf.h"
#include "../../lib/watch.h"

/* A message under construction. */
typedef struct msg {
	unsigned char b[256];
	size_t n;
} msg;

static void put_int(msg *m, uint64_t v, int bytes)
{
	for (int i = bytes - 1; i >= 0; i--)
		m->b[m->n++] = (unsigned char)(v >> (8 * i));
}

static void put_str(msg *m, const char *s)
{
	size_t l = strlen(s) + 1;
	memcpy(m->b + m->n, s, l);
	m->n += l;
}

/* Relation 16384 public.todos (id text, the key; title text). */
static msg relation(void)
{
	msg m = { .n = 0 };
	m.b[m.n++] = 'R';
	put_int(&m, 16384, 4);
	put_str(&m, "public");
	put_str(&m, "todos");
	m.b[m.n++] = 'd';
	put_int(&m, 2, 2);
	m.b[m.n++] = 1;
	put_str(&m, "id");
	put_int(&m, 25, 4);
	put_int(&m, 0xFFFFFFFF, 4);
	m.b[m.n++] = 0;
	put_str(&m, "title");
	put_int(&m, 25, 4);
	put_int(&m, 0xFFFFFFFF, 4);
	return m;
}

/* Begin: final LSN, commit time (microseconds since 2000-01-01), xid. */
static msg begin(uint64_t lsn, uint64_t pg_time_us, uint32_t xid)
{
	msg m = { .n = 0 };
	m.b[m.n++] = 'B';
	put_int(&m, lsn, 8);
	put_int(&m, pg_time_us, 8);
	put_int(&m, xid, 4);
	return m;
}

static msg insert(const char *id, const char *title)
{
	msg m = { .n = 0 };
	m.b[m.n++] = 'I';
	put_int(&m, 16384, 4);
	m.b[m.n++] = 'N';
	put_int(&m, 2, 2);
	m.b[m.n++] = 't';
	put_int(&m, strlen(id), 4);
	memcpy(m.b + m.n, id, strlen(id));
	m.n += strlen(id);
	m.b[m.n++] = 't';
	put_int(&m, strlen(title), 4);
	memcpy(m.b + m.n, title, strlen(title));
	m.n += strlen(title);
	return m;
}

typedef struct seen {
	sc_buf text, json;
} seen;

static void on_change(const sc_change *c, void *data)
{
	seen *s = data;
	sc_watch_change_text(&s->text, c);
	sc_watch_change_json(&s->json, c);
}

/* Feeds the messages; the lines rendered go to s. */
static void decode(seen *s, const msg *msgs, size_t n)
{
	sc_watch_opts o;
	memset(&o, 0, sizeof o);
	o.publication = "powersync";
	sc_watch_callbacks cb = { on_change, NULL, NULL, s };
	sc_watch_stats st;
	sc_watch_decoder *d = sc_watch_decoder_new(&o, &cb, &st);
	for (size_t i = 0; i < n; i++)
		sc_watch_decode(d, msgs[i].b, msgs[i].n);
	sc_watch_decoder_free(d);
	sc_watch_stats_free(&st);
}

static void seen_free(seen *s)
{
	sc_buf_free(&s->text);
	sc_buf_free(&s->json);
}

static void a_change_shows_its_transaction(void **state)
{
	(void)state;
	/* 2026-01-02 03:04:05.000006 UTC is 820638245000006 us after 2000. */
	msg m[] = { relation(), begin(0x16B3790, 820638245000006ULL, 740), insert("1", "buy milk") };
	seen s = { SC_BUF_INIT, SC_BUF_INIT };
	decode(&s, m, 3);
	assert_string_equal(s.text.data, "2026-01-02 03:04:05.000006 UTC  public.todos  INSERT  [id=1]  id=1 title='buy milk'\n");
	assert_string_equal(s.json.data,
			    "{\"commit_time\":\"2026-01-02T03:04:05.000006Z\",\"lsn\":\"0/16B3790\",\"xid\":740,"
			    "\"table\":\"public.todos\",\"op\":\"insert\",\"key\":{\"id\":\"1\"},"
			    "\"new\":{\"id\":\"1\",\"title\":\"buy milk\"},\"old\":null}\n");
	seen_free(&s);
}

/* Found by tests/fuzz/fuzz_pgoutput.c: a Begin whose commit time no
 * Postgres timestamp can hold overflowed the conversion to unix time
 * (signed overflow, undefined). Such a Begin is dropped whole, and the
 * changes after it show an unknown transaction (xid 0, LSN 0/0, the epoch),
 * not the last good one's. */
static void a_begin_with_an_impossible_time_is_dropped(void **state)
{
	(void)state;
	msg m[] = { relation(), begin(0x16B3790, 820638245000006ULL, 740), insert("1", "a"),
		    begin(0x16B3800, 0x7FFFFFFFFFFFFFF0ULL, 741), insert("2", "b") };
	seen s = { SC_BUF_INIT, SC_BUF_INIT };
	decode(&s, m, 5);
	assert_string_equal(s.text.data,
			    "2026-01-02 03:04:05.000006 UTC  public.todos  INSERT  [id=1]  id=1 title=a\n"
			    "1970-01-01 00:00:00.000000 UTC  public.todos  INSERT  [id=2]  id=2 title=b\n");
	assert_non_null(strstr(s.json.data, "{\"commit_time\":\"1970-01-01T00:00:00.000000Z\",\"lsn\":\"0/0\",\"xid\":0,"));
	seen_free(&s);

	/* The earliest time Postgres has, 4714-11-24 BC (year -4713), is kept;
	 * a microsecond before it is not. */
	msg early[] = { relation(), begin(1, (uint64_t)-211813488000000000LL, 7), insert("1", "a"),
			begin(2, (uint64_t)(-211813488000000000LL - 1), 8), insert("2", "b") };
	seen e = { SC_BUF_INIT, SC_BUF_INIT };
	decode(&e, early, 5);
	assert_string_equal(e.text.data,
			    "-4713-11-24 00:00:00.000000 UTC  public.todos  INSERT  [id=1]  id=1 title=a\n"
			    "1970-01-01 00:00:00.000000 UTC  public.todos  INSERT  [id=2]  id=2 title=b\n");
	seen_free(&e);
}

/* Before 1970 the fraction of a second counts forward from the second
 * before, as for any other time. */
static void a_time_before_1970_shows_its_fraction(void **state)
{
	(void)state;
	/* 1969-12-31 23:59:59.999999 UTC: one microsecond before the epoch. */
	msg m[] = { relation(), begin(1, (uint64_t)(-946684800000000LL - 1), 7), insert("1", "a") };
	seen s = { SC_BUF_INIT, SC_BUF_INIT };
	decode(&s, m, 3);
	assert_string_equal(s.text.data, "1969-12-31 23:59:59.999999 UTC  public.todos  INSERT  [id=1]  id=1 title=a\n");
	seen_free(&s);
}

/* A Begin cut short is dropped whole too. */
static void a_short_begin_is_dropped(void **state)
{
	(void)state;
	msg m[] = { relation(), begin(0x16B3790, 820638245000006ULL, 740), insert("1", "a"),
		    begin(0x16B3800, 820638246000000ULL, 741), insert("2", "b") };
	m[3].n -= 2;
	seen s = { SC_BUF_INIT, SC_BUF_INIT };
	decode(&s, m, 5);
	assert_non_null(strstr(s.json.data, "\n{\"commit_time\":\"1970-01-01T00:00:00.000000Z\",\"lsn\":\"0/0\",\"xid\":0,"));
	seen_free(&s);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(a_change_shows_its_transaction),
		cmocka_unit_test(a_begin_with_an_impossible_time_is_dropped),
		cmocka_unit_test(a_time_before_1970_shows_its_fraction),
		cmocka_unit_test(a_short_begin_is_dropped),
	};
	return cmocka_run_group_tests_name("watch", tests, NULL, NULL);
}
