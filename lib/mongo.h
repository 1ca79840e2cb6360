/* libmongoc, loaded when a command first needs it (dlopen), not linked.
 *
 * libmongoc initialises itself in a library constructor, before main, and
 * keeps counters in /dev/shm/mongoc-PID: when a killed process left a
 * segment with the PID this one got, it says "Falling back to malloc for
 * counters" on stderr, in every command, cron's -q runs included. Loaded
 * here, after main has set MONGOC_DISABLE_SHM=1 (sc_mongo_prepare), the
 * constructor runs without shared memory and commands that never touch
 * MongoDB never load it. Code that uses the API includes this header
 * instead of <mongoc/mongoc.h>: its calls go through the table. */
#ifndef SC_MONGO_H
#define SC_MONGO_H

#include <mongoc/mongoc.h>

#include "error.h"

#define SC_MONGO_API(X) \
	X(mongoc_init) \
	X(mongoc_cleanup) \
	X(mongoc_log_set_handler) \
	X(mongoc_get_version) \
	X(mongoc_uri_new) \
	X(mongoc_uri_new_with_error) \
	X(mongoc_uri_new_for_host_port) \
	X(mongoc_uri_destroy) \
	X(mongoc_uri_get_hosts) \
	X(mongoc_uri_get_database) \
	X(mongoc_uri_get_auth_source) \
	X(mongoc_uri_get_username) \
	X(mongoc_uri_get_password) \
	X(mongoc_uri_get_tls) \
	X(mongoc_uri_get_replica_set) \
	X(mongoc_uri_set_option_as_int32) \
	X(mongoc_uri_set_option_as_bool) \
	X(mongoc_uri_set_username) \
	X(mongoc_uri_set_password) \
	X(mongoc_uri_set_auth_source) \
	X(mongoc_client_new_from_uri) \
	X(mongoc_client_destroy) \
	X(mongoc_client_set_appname) \
	X(mongoc_client_command_simple) \
	X(mongoc_client_get_collection) \
	X(mongoc_client_get_database_names_with_opts) \
	X(mongoc_collection_find_with_opts) \
	X(mongoc_collection_destroy) \
	X(mongoc_cursor_next) \
	X(mongoc_cursor_error) \
	X(mongoc_cursor_destroy) \
	X(bson_new) \
	X(bson_destroy) \
	X(bson_init_static) \
	X(bson_strfreev) \
	X(bcon_new) \
	X(bson_bcon_magic) \
	X(bson_iter_init_find) \
	X(bson_iter_recurse) \
	X(bson_iter_next) \
	X(bson_iter_key) \
	X(bson_iter_type) \
	X(bson_iter_utf8) \
	X(bson_iter_document) \
	X(bson_iter_date_time) \
	X(bson_iter_as_int64) \
	X(bson_iter_as_bool)

typedef struct sc_mongo_api {
#define SC_MONGO_MEMBER(f) __typeof__(f) *f;
	SC_MONGO_API(SC_MONGO_MEMBER)
#undef SC_MONGO_MEMBER
} sc_mongo_api;

extern sc_mongo_api sc_mongo;

/* In main, before any thread: no shared-memory counters, ever. */
void sc_mongo_prepare(void);

/* Loads libbson and libmongoc once (thread-safe), installs the log handler
 * (their log lines go to -v) and initialises the driver. -1 with err (exit
 * 3) when the libraries cannot be loaded. */
int sc_mongo_load(sc_error *err);

/* mongoc_cleanup, when it was loaded. */
void sc_mongo_unload(void);

#ifndef SC_MONGO_IMPL
#define mongoc_init (*sc_mongo.mongoc_init)
#define mongoc_cleanup (*sc_mongo.mongoc_cleanup)
#define mongoc_log_set_handler (*sc_mongo.mongoc_log_set_handler)
#define mongoc_get_version (*sc_mongo.mongoc_get_version)
#define mongoc_uri_new (*sc_mongo.mongoc_uri_new)
#define mongoc_uri_new_with_error (*sc_mongo.mongoc_uri_new_with_error)
#define mongoc_uri_new_for_host_port (*sc_mongo.mongoc_uri_new_for_host_port)
#define mongoc_uri_destroy (*sc_mongo.mongoc_uri_destroy)
#define mongoc_uri_get_hosts (*sc_mongo.mongoc_uri_get_hosts)
#define mongoc_uri_get_database (*sc_mongo.mongoc_uri_get_database)
#define mongoc_uri_get_auth_source (*sc_mongo.mongoc_uri_get_auth_source)
#define mongoc_uri_get_username (*sc_mongo.mongoc_uri_get_username)
#define mongoc_uri_get_password (*sc_mongo.mongoc_uri_get_password)
#define mongoc_uri_get_tls (*sc_mongo.mongoc_uri_get_tls)
#define mongoc_uri_get_replica_set (*sc_mongo.mongoc_uri_get_replica_set)
#define mongoc_uri_set_option_as_int32 (*sc_mongo.mongoc_uri_set_option_as_int32)
#define mongoc_uri_set_option_as_bool (*sc_mongo.mongoc_uri_set_option_as_bool)
#define mongoc_uri_set_username (*sc_mongo.mongoc_uri_set_username)
#define mongoc_uri_set_password (*sc_mongo.mongoc_uri_set_password)
#define mongoc_uri_set_auth_source (*sc_mongo.mongoc_uri_set_auth_source)
#define mongoc_client_new_from_uri (*sc_mongo.mongoc_client_new_from_uri)
#define mongoc_client_destroy (*sc_mongo.mongoc_client_destroy)
#define mongoc_client_set_appname (*sc_mongo.mongoc_client_set_appname)
#define mongoc_client_command_simple (*sc_mongo.mongoc_client_command_simple)
#define mongoc_client_get_collection (*sc_mongo.mongoc_client_get_collection)
#define mongoc_client_get_database_names_with_opts (*sc_mongo.mongoc_client_get_database_names_with_opts)
#define mongoc_collection_find_with_opts (*sc_mongo.mongoc_collection_find_with_opts)
#define mongoc_collection_destroy (*sc_mongo.mongoc_collection_destroy)
#define mongoc_cursor_next (*sc_mongo.mongoc_cursor_next)
#define mongoc_cursor_error (*sc_mongo.mongoc_cursor_error)
#define mongoc_cursor_destroy (*sc_mongo.mongoc_cursor_destroy)
#define bson_new (*sc_mongo.bson_new)
#define bson_destroy (*sc_mongo.bson_destroy)
#define bson_init_static (*sc_mongo.bson_init_static)
#define bson_strfreev (*sc_mongo.bson_strfreev)
#define bcon_new (*sc_mongo.bcon_new)
#define bson_bcon_magic (*sc_mongo.bson_bcon_magic)
#define bson_iter_init_find (*sc_mongo.bson_iter_init_find)
#define bson_iter_recurse (*sc_mongo.bson_iter_recurse)
#define bson_iter_next (*sc_mongo.bson_iter_next)
#define bson_iter_key (*sc_mongo.bson_iter_key)
#define bson_iter_type (*sc_mongo.bson_iter_type)
#define bson_iter_utf8 (*sc_mongo.bson_iter_utf8)
#define bson_iter_document (*sc_mongo.bson_iter_document)
#define bson_iter_date_time (*sc_mongo.bson_iter_date_time)
#define bson_iter_as_int64 (*sc_mongo.bson_iter_as_int64)
#define bson_iter_as_bool (*sc_mongo.bson_iter_as_bool)
#endif

#endif
