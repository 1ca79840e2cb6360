/* libFuzzer target for watch's pgoutput decoder (lib/watch.c) and its
 * renderers: the XLogData payloads of a replication stream (Relation,
 * Begin, Insert, Update, Delete, Truncate, Commit, Message, Type, Origin)
 * fed one at a time, each change rendered as a text line and a JSON line.
 *
 * The first byte sets the run: bit 0 frames the rest as messages (each a
 * 2-byte big-endian length and that many bytes, the last one whatever is
 * left), else the rest is one message; bit 1 filters on two tables; bit 2
 * stops after 3 changes. Every JSON line must parse. Nothing may crash,
 * leak or hang, whatever the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "../../lib/buf.h"
#include "../../lib/watch.h"

static void on_change(const sc_change *c, void *data)
{
	(void)data;
	sc_buf b = SC_BUF_INIT;
	sc_watch_change_text(&b, c);
	sc_buf_free(&b);
	sc_watch_change_json(&b, c);
	cJSON *j = cJSON_ParseWithLength(b.data, b.len);
	if (!cJSON_IsObject(j))
		abort(); /* watch --format json wrote a line that is not JSON */
	cJSON_Delete(j);
	sc_buf_free(&b);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	uint8_t flags = data[0];
	data++;
	size--;
	char *tables[] = { "public.todos", "lists" };
	sc_watch_opts o;
	memset(&o, 0, sizeof o);
	o.publication = "powersync";
	if (flags & 2) {
		o.tables = tables;
		o.ntables = 2;
	}
	o.count = flags & 4 ? 3 : 0;
	sc_watch_callbacks cb = { on_change, NULL, NULL, NULL };
	sc_watch_stats st;
	sc_watch_decoder *d = sc_watch_decoder_new(&o, &cb, &st);
	if (!(flags & 1)) {
		sc_watch_decode(d, data, size);
	} else {
		while (size) {
			size_t n = size >= 2 ? (size_t)data[0] << 8 | data[1] : 0;
			size_t hdr = size >= 2 ? 2 : size;
			data += hdr;
			size -= hdr;
			if (n > size)
				n = size;
			if (sc_watch_decode(d, data, n))
				break;
			data += n;
			size -= n;
		}
	}
	sc_watch_decoder_free(d);
	sc_watch_stats_free(&st);
	return 0;
}
