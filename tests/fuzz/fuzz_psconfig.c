/* libFuzzer target for the sync service's own config as syncctl reads it
 * (lib/psconfig.c): YAML through libyaml, `!env` tags against a few PS_
 * variables set here, the source and storage connections (uri-js style
 * URIs, libmongoc's for MongoDB), client_auth, sync_config, port and
 * api.tokens, the unknown-key walk. PEM text in the config is written to
 * private files: TMPDIR points at a directory of this process's own, and
 * sc_config_free must leave it empty after every input. Nothing may crash,
 * leak or hang, whatever the bytes. */
#include <dirent.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../../lib/config.h"
#include "../../lib/mongo.h"

static char tmpdir[4096];

static void remove_tmpdir(void)
{
	rmdir(tmpdir);
}

static bool dir_is_empty(const char *dir)
{
	DIR *d = opendir(dir);
	if (!d)
		return false;
	struct dirent *e;
	bool empty = true;
	while (empty && (e = readdir(d)) != NULL)
		empty = strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0;
	closedir(d);
	return empty;
}

static void setup(void)
{
	const char *base = getenv("TMPDIR");
	snprintf(tmpdir, sizeof tmpdir, "%s/fuzz-psconfig.XXXXXX", base && *base ? base : "/tmp");
	if (!mkdtemp(tmpdir))
		abort();
	atexit(remove_tmpdir);
	setenv("TMPDIR", tmpdir, 1);
	/* !env PS_X, PS_X::number, ::boolean: values of every kind. */
	setenv("PS_PG_URI", "postgresql://user:p%40ss@db.abcdefghijklmnop.supabase.co:5432/postgres?sslmode=require", 1);
	setenv("PS_MONGO_URI", "mongodb://mongo:27017/powersync_demo?replicaSet=rs0", 1);
	setenv("PS_PORT", "8080", 1);
	setenv("PS_HEX", " 0x1F ", 1);
	setenv("PS_BOOL", "TRUE", 1);
	setenv("PS_EMPTY", "", 1);
	setenv("PS_JWKS_URI", "http://127.0.0.1:6060/api/auth/keys", 1);
	setenv("PS_SECRET", "c2VjcmV0", 1);
	setenv("PS_CACERT", "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n", 1);
	setenv("NOT_PS", "x", 1);
	/* As main does: libmongoc (for MongoDB storage URIs) without shared
	 * memory, loaded once here rather than inside the first input. */
	sc_mongo_prepare();
	sc_error err;
	if (sc_mongo_load(&err) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setup();
		ready = true;
	}
	sc_config c;
	sc_config_init(&c);
	sc_error err;
	/* libyaml reads a length, not a C string: the bytes go as they are. */
	if (sc_config_load_powersync_text(&c, (const char *)data, size, "fuzz/powersync.yaml", &err) == 0) {
		for (int i = 0; i < SC_SETTING_COUNT; i++) {
			const char *origin;
			sc_config_get(&c, (sc_setting_id)i, &origin);
		}
	}
	bool wrote = c.tmpdir != NULL;
	sc_config_free(&c);
	/* The PEM files go with the config: nothing may pile up. */
	if (wrote && !dir_is_empty(tmpdir))
		abort();
	return 0;
}
