#define SC_MONGO_IMPL
#include "mongo.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* The sonames Debian's libmongoc-1.0-0 and libbson-1.0-0 install. */
#define BSON_SO "libbson-1.0.so.0"
#define MONGOC_SO "libmongoc-1.0.so.0"

sc_mongo_api sc_mongo;

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char load_error[512];
static bool loaded;

void sc_mongo_prepare(void)
{
	setenv("MONGOC_DISABLE_SHM", "1", 1);
}

/* libmongoc's own log lines go to -v, never to a command's stderr. */
static void mongo_log(mongoc_log_level_t level, const char *domain, const char *message, void *data)
{
	(void)data;
	if (level <= MONGOC_LOG_LEVEL_WARNING)
		sc_log_verbose("%s: %s", domain, message);
}

static void load(void)
{
	void *bson = dlopen(BSON_SO, RTLD_NOW | RTLD_GLOBAL);
	void *mongoc = bson ? dlopen(MONGOC_SO, RTLD_NOW | RTLD_GLOBAL) : NULL;
	if (!mongoc) {
		const char *e = dlerror();
		snprintf(load_error, sizeof load_error, "cannot load libmongoc (%s, %s): %s; install libmongoc-1.0-0",
			 MONGOC_SO, BSON_SO, e ? e : "not found");
		return;
	}
	const char *missing = NULL;
	/* A function pointer from dlsym's void *, through memcpy: C leaves the
	 * direct conversion undefined, POSIX requires it to work. */
#define SC_MONGO_RESOLVE(f)                                                  \
	{                                                                    \
		void *sym = dlsym(strncmp(#f, "mongoc_", 7) == 0 ? mongoc : bson, #f); \
		if (!sym && !missing)                                        \
			missing = #f;                                        \
		memcpy(&sc_mongo.f, &sym, sizeof sym);                       \
	}
	SC_MONGO_API(SC_MONGO_RESOLVE)
#undef SC_MONGO_RESOLVE
	if (missing) {
		snprintf(load_error, sizeof load_error, "libmongoc (%s) lacks %s: syncctl needs libmongoc 1.17 or later",
			 MONGOC_SO, missing);
		return;
	}
	sc_mongo.mongoc_log_set_handler(mongo_log, NULL);
	sc_mongo.mongoc_init();
	loaded = true;
}

int sc_mongo_load(sc_error *err)
{
	pthread_once(&once, load);
	if (loaded)
		return 0;
	sc_error_set(err, SC_EXIT_FAILED, "%s", load_error);
	return -1;
}

void sc_mongo_unload(void)
{
	if (loaded)
		sc_mongo.mongoc_cleanup();
}
