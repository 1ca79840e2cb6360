#include "version.h"

#include <stdio.h>

#include <cjson/cJSON.h>
#include <curl/curl.h>
#include <libpq-fe.h>
#include <openssl/crypto.h>
#include <pg_query.h>
#include <sqlite3.h>
#include <yaml.h>

#include "mongo.h"

size_t sc_library_versions(sc_libversion *out, size_t max)
{
	size_t n = 0;
#define ADD(NAME, ...)                                                                  \
	do {                                                                            \
		if (n < max) {                                                          \
			out[n].name = NAME;                                             \
			snprintf(out[n].version, sizeof out[n].version, __VA_ARGS__);   \
			n++;                                                            \
		}                                                                       \
	} while (0)
	int pq = PQlibVersion();
	ADD("libpq", "%d.%d", pq / 10000, pq % 100);
	ADD("libcurl", "%s", curl_version_info(CURLVERSION_NOW)->version);
	ADD("OpenSSL", "%s", OpenSSL_version(OPENSSL_VERSION_STRING));
	ADD("cJSON", "%s", cJSON_Version());
	/* Loaded for the asking (lib/mongo.h). */
	sc_error e;
	if (sc_mongo_load(&e) == 0)
		ADD("libmongoc", "%s", mongoc_get_version());
	else
		ADD("libmongoc", "not loaded: %.200s", e.message);
	ADD("libyaml", "%s", yaml_get_version_string());
	ADD("SQLite", "%s", sqlite3_libversion());
	ADD("libpg_query", "%s (Postgres parser)", PG_VERSION);
#undef ADD
	return n;
}
