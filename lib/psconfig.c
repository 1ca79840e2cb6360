/* The sync service's own config, read exactly as the service reads it
 * (powersync-service 1.25; the file each rule follows is named where it is
 * applied). What the service would refuse to start on, or silently ignore,
 * becomes an issue; the settings that depend on it are blocked with the
 * reason, and everything else is still derived. */
#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>


#include "buf.h"
#include "netaddr.h"
#include "mongo.h"
#include "util.h"
#include "yamldoc.h"

#define MAX_CONFIG_BYTES (4u * 1024u * 1024u)
#define SYSTEM_CA_BUNDLE "/etc/ssl/certs/ca-certificates.crt"

/* Every key the service's config schema knows, as the npm package
 * @powersync/service-schema 1.25.0 (json-schema/powersync-config.json)
 * lists them: "[]" an item, "{type=X}" / "{kty=X}" the branch for that
 * value; tests/cmd/41-service-config.bats checks this list against the
 * schema file. Then keys the newer source knows (packages/types
 * PowerSyncConfig.ts, module-postgres types.ts, module-mongodb-storage
 * types.ts at 1.25+), and `_type`, which the powersync CLI's template
 * writes and the service drops. */
static const char *const known_keys[] = {
	"replication",
	"replication.connections",
	"replication.connections[]",
	"replication.connections[]{generic}.type",
	"replication.connections[]{generic}.id",
	"replication.connections[]{generic}.tag",
	"replication.connections[]{generic}.debug_api",
	"replication.connections[]{type=mongodb}.type",
	"replication.connections[]{type=mongodb}.id",
	"replication.connections[]{type=mongodb}.tag",
	"replication.connections[]{type=mongodb}.debug_api",
	"replication.connections[]{type=mongodb}.uri",
	"replication.connections[]{type=mongodb}.database",
	"replication.connections[]{type=mongodb}.username",
	"replication.connections[]{type=mongodb}.password",
	"replication.connections[]{type=mongodb}.reject_ip_ranges",
	"replication.connections[]{type=mongodb}.reject_ip_ranges[]",
	"replication.connections[]{type=mongodb}.post_images",
	"replication.connections[]{type=mongodb}.heartbeat_interval_seconds",
	"replication.connections[]{type=mssql}.type",
	"replication.connections[]{type=mssql}.id",
	"replication.connections[]{type=mssql}.tag",
	"replication.connections[]{type=mssql}.debug_api",
	"replication.connections[]{type=mssql}.uri",
	"replication.connections[]{type=mssql}.username",
	"replication.connections[]{type=mssql}.password",
	"replication.connections[]{type=mssql}.database",
	"replication.connections[]{type=mssql}.schema",
	"replication.connections[]{type=mssql}.hostname",
	"replication.connections[]{type=mssql}.port",
	"replication.connections[]{type=mssql}.cacert",
	"replication.connections[]{type=mssql}.tls_servername",
	"replication.connections[]{type=mssql}.authentication",
	"replication.connections[]{type=mssql}.authentication{type=default}.type",
	"replication.connections[]{type=mssql}.authentication{type=default}.options",
	"replication.connections[]{type=mssql}.authentication{type=default}.options.userName",
	"replication.connections[]{type=mssql}.authentication{type=default}.options.password",
	"replication.connections[]{type=mssql}.authentication{type=azure-active-directory-service-principal-secret}.type",
	"replication.connections[]{type=mssql}.authentication{type=azure-active-directory-service-principal-secret}.options",
	"replication.connections[]{type=mssql}.authentication{type=azure-active-directory-service-principal-secret}.options.clientId",
	"replication.connections[]{type=mssql}.authentication{type=azure-active-directory-service-principal-secret}.options.clientSecret",
	"replication.connections[]{type=mssql}.authentication{type=azure-active-directory-service-principal-secret}.options.tenantId",
	"replication.connections[]{type=mssql}.reject_ip_ranges",
	"replication.connections[]{type=mssql}.reject_ip_ranges[]",
	"replication.connections[]{type=mssql}.additionalConfig",
	"replication.connections[]{type=mssql}.additionalConfig.pollingIntervalMs",
	"replication.connections[]{type=mssql}.additionalConfig.pollingBatchSize",
	"replication.connections[]{type=mssql}.additionalConfig.trustServerCertificate",
	"replication.connections[]{type=mssql}.heartbeat_interval_seconds",
	"replication.connections[]{type=mysql}.type",
	"replication.connections[]{type=mysql}.id",
	"replication.connections[]{type=mysql}.tag",
	"replication.connections[]{type=mysql}.debug_api",
	"replication.connections[]{type=mysql}.uri",
	"replication.connections[]{type=mysql}.hostname",
	"replication.connections[]{type=mysql}.port",
	"replication.connections[]{type=mysql}.username",
	"replication.connections[]{type=mysql}.password",
	"replication.connections[]{type=mysql}.database",
	"replication.connections[]{type=mysql}.server_id",
	"replication.connections[]{type=mysql}.cacert",
	"replication.connections[]{type=mysql}.client_certificate",
	"replication.connections[]{type=mysql}.client_private_key",
	"replication.connections[]{type=mysql}.reject_ip_ranges",
	"replication.connections[]{type=mysql}.reject_ip_ranges[]",
	"replication.connections[]{type=mysql}.binlog_queue_memory_limit",
	"replication.connections[]{type=postgresql}.type",
	"replication.connections[]{type=postgresql}.id",
	"replication.connections[]{type=postgresql}.tag",
	"replication.connections[]{type=postgresql}.debug_api",
	"replication.connections[]{type=postgresql}.uri",
	"replication.connections[]{type=postgresql}.hostname",
	"replication.connections[]{type=postgresql}.port",
	"replication.connections[]{type=postgresql}.username",
	"replication.connections[]{type=postgresql}.password",
	"replication.connections[]{type=postgresql}.database",
	"replication.connections[]{type=postgresql}.sslmode",
	"replication.connections[]{type=postgresql}.cacert",
	"replication.connections[]{type=postgresql}.client_certificate",
	"replication.connections[]{type=postgresql}.client_private_key",
	"replication.connections[]{type=postgresql}.tls_servername",
	"replication.connections[]{type=postgresql}.reject_ip_ranges",
	"replication.connections[]{type=postgresql}.reject_ip_ranges[]",
	"replication.connections[]{type=postgresql}.slot_name_prefix",
	"replication.connections[]{type=postgresql}.max_pool_size",
	"replication.connections[]{type=postgresql}.connect_timeout",
	"replication.connections[]{type=postgresql}.heartbeat_interval_seconds",
	"replication.connections[]{type=convex}.type",
	"replication.connections[]{type=convex}.id",
	"replication.connections[]{type=convex}.tag",
	"replication.connections[]{type=convex}.debug_api",
	"replication.connections[]{type=convex}.deployment_url",
	"replication.connections[]{type=convex}.deploy_key",
	"replication.connections[]{type=convex}.polling_interval_ms",
	"replication.connections[]{type=convex}.request_timeout_ms",
	"replication.connections[]{type=convex}.reject_ip_ranges",
	"replication.connections[]{type=convex}.reject_ip_ranges[]",
	"client_auth",
	"client_auth.jwks_uri",
	"client_auth.block_local_jwks",
	"client_auth.jwks_reject_ip_ranges",
	"client_auth.jwks_reject_ip_ranges[]",
	"client_auth.jwks",
	"client_auth.jwks.keys",
	"client_auth.jwks.keys[]",
	"client_auth.jwks.keys[]{kty=RSA}.kty",
	"client_auth.jwks.keys[]{kty=RSA}.kid",
	"client_auth.jwks.keys[]{kty=RSA}.n",
	"client_auth.jwks.keys[]{kty=RSA}.e",
	"client_auth.jwks.keys[]{kty=RSA}.alg",
	"client_auth.jwks.keys[]{kty=RSA}.use",
	"client_auth.jwks.keys[]{kty=oct}.kty",
	"client_auth.jwks.keys[]{kty=oct}.kid",
	"client_auth.jwks.keys[]{kty=oct}.k",
	"client_auth.jwks.keys[]{kty=oct}.alg",
	"client_auth.jwks.keys[]{kty=oct}.use",
	"client_auth.jwks.keys[]{kty=OKP}.kty",
	"client_auth.jwks.keys[]{kty=OKP}.kid",
	"client_auth.jwks.keys[]{kty=OKP}.crv",
	"client_auth.jwks.keys[]{kty=OKP}.x",
	"client_auth.jwks.keys[]{kty=OKP}.alg",
	"client_auth.jwks.keys[]{kty=OKP}.use",
	"client_auth.jwks.keys[]{kty=EC}.kty",
	"client_auth.jwks.keys[]{kty=EC}.kid",
	"client_auth.jwks.keys[]{kty=EC}.crv",
	"client_auth.jwks.keys[]{kty=EC}.x",
	"client_auth.jwks.keys[]{kty=EC}.y",
	"client_auth.jwks.keys[]{kty=EC}.alg",
	"client_auth.jwks.keys[]{kty=EC}.use",
	"client_auth.supabase",
	"client_auth.supabase_jwt_secret",
	"client_auth.audience",
	"client_auth.audience[]",
	"api",
	"api.tokens",
	"api.tokens[]",
	"api.parameters",
	"api.parameters.max_concurrent_connections",
	"api.parameters.max_data_fetch_concurrency",
	"api.parameters.max_buckets_per_connection",
	"api.parameters.max_parameter_query_results",
	"api.parameters.checkpoint_request_retention_minutes",
	"api.parameters.bucket_count_cache_ttl_minutes",
	"storage",
	"storage{generic}.type",
	"storage{generic}.max_pool_size",
	"storage{type=postgresql}.type",
	"storage{type=postgresql}.max_pool_size",
	"storage{type=postgresql}.id",
	"storage{type=postgresql}.tag",
	"storage{type=postgresql}.uri",
	"storage{type=postgresql}.hostname",
	"storage{type=postgresql}.port",
	"storage{type=postgresql}.username",
	"storage{type=postgresql}.password",
	"storage{type=postgresql}.database",
	"storage{type=postgresql}.sslmode",
	"storage{type=postgresql}.cacert",
	"storage{type=postgresql}.client_certificate",
	"storage{type=postgresql}.client_private_key",
	"storage{type=postgresql}.tls_servername",
	"storage{type=postgresql}.reject_ip_ranges",
	"storage{type=postgresql}.reject_ip_ranges[]",
	"storage{type=postgresql}.slot_name_prefix",
	"storage{type=postgresql}.connect_timeout",
	"storage{type=postgresql}.batch_limits",
	"storage{type=postgresql}.batch_limits.max_estimated_size",
	"storage{type=postgresql}.batch_limits.max_record_count",
	"storage{type=postgresql}.batch_limits.max_current_data_batch_size",
	"storage{type=mongodb}.type",
	"storage{type=mongodb}.uri",
	"storage{type=mongodb}.database",
	"storage{type=mongodb}.username",
	"storage{type=mongodb}.password",
	"storage{type=mongodb}.reject_ip_ranges",
	"storage{type=mongodb}.reject_ip_ranges[]",
	"storage{type=mongodb}.bulk_read_preference",
	"storage{type=mongodb}.clear_batch_throttle_rate",
	"storage{type=mongodb}.object_storage",
	"storage{type=mongodb}.object_storage.type",
	"storage{type=mongodb}.object_storage.bucket",
	"storage{type=mongodb}.object_storage.region",
	"storage{type=mongodb}.object_storage.prefix",
	"storage{type=mongodb}.object_storage.endpoint",
	"storage{type=mongodb}.object_storage.force_path_style",
	"storage{type=mongodb}.object_storage.access_key_id",
	"storage{type=mongodb}.object_storage.secret_access_key",
	"storage{type=mongodb}.object_storage.concurrency_limit",
	"storage{type=mongodb}.object_storage.inline_threshold_bytes",
	"port",
	"sync_config",
	"sync_config.path",
	"sync_config.content",
	"sync_config.exit_on_error",
	"sync_rules",
	"sync_rules.path",
	"sync_rules.content",
	"sync_rules.exit_on_error",
	"metadata",
	"migrations",
	"migrations.disable_auto_migration",
	"telemetry",
	"telemetry.prometheus_port",
	"telemetry.disable_telemetry_sharing",
	"telemetry.internal_service_endpoint",
	"healthcheck",
	"healthcheck.probes",
	"healthcheck.probes.use_filesystem",
	"healthcheck.probes.use_http",
	"healthcheck.probes.use_legacy",
	"system",
	"system.logging",
	"system.logging.level",
	"system.logging.format",
	"parameters",
	/* newer than the published schema */
	"storage{generic}.default_storage_version",
	"storage{type=postgresql}.default_storage_version",
	"storage{type=mongodb}.default_storage_version",
	"storage{type=mongodb}.max_pool_size",
	"replication.connections[]{type=postgresql}.snapshot_socket_timeout",
	/* the powersync CLI's own */
	"_type",
};

const char *const *sc_config_known_keys(size_t *n)
{
	*n = sizeof known_keys / sizeof known_keys[0];
	return known_keys;
}

static bool known(const char *path)
{
	for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++)
		if (strcmp(known_keys[i], path) == 0)
			return true;
	return false;
}

static bool has_branches(const char *path)
{
	size_t n = strlen(path);
	for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++)
		if (strncmp(known_keys[i], path, n) == 0 && known_keys[i][n] == '{')
			return true;
	return false;
}

typedef struct loader {
	sc_config *c;
	sc_yaml *y;
	const char *name;
	size_t nnodes;
	char **node_err;   /* why a node's !env could not be resolved */
	char **node_path;  /* where each node sits: storage.uri */
} loader;

static size_t node_index(loader *l, yaml_node_t *n) { return (size_t)(n - l->y->doc.nodes.start); }

static yaml_node_t *node_at(loader *l, int id) { return yaml_document_get_node(&l->y->doc, id); }

static void add_issue(sc_config *c, const char *id, bool fail, const char *hint, const char *fmt, ...)
	__attribute__((format(printf, 5, 6)));

static void add_issue(sc_config *c, const char *id, bool fail, const char *hint, const char *fmt, ...)
{
	for (size_t i = 0; i < c->nissues; i++)
		if (strcmp(c->issues[i].id, id) == 0)
			return;
	va_list ap;
	va_start(ap, fmt);
	char msg[2048];
	vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	c->issues = sc_xrealloc(c->issues, (c->nissues + 1) * sizeof *c->issues);
	sc_config_issue *is = &c->issues[c->nissues++];
	is->id = sc_xstrdup(id);
	is->fail = fail;
	is->message = sc_xstrdup(msg);
	is->hint = hint ? sc_xstrdup(hint) : NULL;
}

static void block(sc_config *c, sc_setting_id id, const char *why)
{
	if (!c->blocked[id])
		c->blocked[id] = sc_xstrdup(why);
	free(c->ps[id]);
	c->ps[id] = NULL;
}

/* ---- !env (collectors/impl/yaml-env.ts) ---- */

static bool js_space(int ch) { return ch == ' ' || ch == '\t' || ch == '\n' || ch == '\r' || ch == '\v' || ch == '\f'; }

/* JavaScript's Number(string): trimmed; "" is 0; Infinity; 0x, 0o, 0b
 * integers; decimal literals; anything else NaN (false). */
static bool js_number(const char *s, double *out)
{
	while (js_space((unsigned char)*s))
		s++;
	size_t n = strlen(s);
	while (n && js_space((unsigned char)s[n - 1]))
		n--;
	char buf[512];
	if (n >= sizeof buf)
		return false;
	memcpy(buf, s, n);
	buf[n] = '\0';
	if (!n) {
		*out = 0;
		return true;
	}
	const char *p = buf;
	int sign = 1;
	if (*p == '+' || *p == '-') {
		sign = *p == '-' ? -1 : 1;
		p++;
	}
	if (strcmp(p, "Infinity") == 0) {
		*out = sign * INFINITY;
		return true;
	}
	if (p == buf && p[0] == '0' && p[1] && strchr("xXoObB", p[1])) {
		int base = strchr("xX", p[1]) ? 16 : strchr("oO", p[1]) ? 8 : 2;
		const char *d = p + 2;
		if (!*d)
			return false;
		double v = 0;
		for (; *d; d++) {
			int x = isdigit((unsigned char)*d) ? *d - '0' : isxdigit((unsigned char)*d) ? tolower((unsigned char)*d) - 'a' + 10 : 99;
			if (x >= base)
				return false;
			v = v * base + x;
		}
		*out = v;
		return true;
	}
	/* digits [. digits] | . digits, then an optional exponent */
	const char *q = p;
	bool digits = false;
	while (isdigit((unsigned char)*q)) {
		q++;
		digits = true;
	}
	if (*q == '.') {
		q++;
		while (isdigit((unsigned char)*q)) {
			q++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*q == 'e' || *q == 'E') {
		q++;
		if (*q == '+' || *q == '-')
			q++;
		if (!isdigit((unsigned char)*q))
			return false;
		while (isdigit((unsigned char)*q))
			q++;
	}
	if (*q)
		return false;
	*out = sign * strtod(p, NULL);
	return true;
}

/* A number as JavaScript prints it: integers without a point. */
static char *js_number_text(double v)
{
	if (isinf(v))
		return sc_xstrdup(v < 0 ? "-Infinity" : "Infinity");
	if (v == floor(v) && fabs(v) < 1e21)
		return sc_xasprintf("%.0f", v);
	for (int prec = 1; prec <= 17; prec++) {
		char *s = sc_xasprintf("%.*g", prec, v);
		if (strtod(s, NULL) == v)
			return s;
		free(s);
	}
	return sc_xasprintf("%.17g", v);
}

static const char *lookup_env(sc_config *c, const char *name)
{
	const char *v = getenv(name);
	if (!v)
		v = sc_dotenv_get(&c->env_file, name);
	return v;
}

static void set_scalar(yaml_node_t *n, const char *value, yaml_scalar_style_t style)
{
	free(n->data.scalar.value);
	n->data.scalar.value = (yaml_char_t *)sc_xstrdup(value);
	n->data.scalar.length = strlen(value);
	n->data.scalar.style = style;
}

static void resolve_env(loader *l, yaml_node_t *n, const char *path)
{
	sc_config *c = l->c;
	const char *spec = (const char *)n->data.scalar.value;
	size_t line = n->start_mark.line + 1, col = n->start_mark.column + 1;
	char where[1024];
	snprintf(where, sizeof where, "%s:%zu:%zu", l->name, line, col);
	char *why = NULL;
	/* The prefix is checked on the whole scalar, before the split. */
	if (strncmp(spec, "PS_", 3) != 0) {
		why = sc_xasprintf("Attempting to substitute environment variable %s is not allowed. Variables must start with \"PS_\"", spec);
	} else {
		const char *sep = strstr(spec, "::");
		char *name = sep ? sc_xstrndup(spec, (size_t)(sep - spec)) : sc_xstrdup(spec);
		char *type = NULL;
		if (sep) {
			const char *t = sep + 2, *t2 = strstr(t, "::");
			type = t2 ? sc_xstrndup(t, (size_t)(t2 - t)) : sc_xstrdup(t);
		} else {
			type = sc_xstrdup("string");
		}
		const char *value = lookup_env(c, name);
		double num;
		if (!value) {
			why = sc_xasprintf("Attempted to substitute environment variable \"%s\" which is undefined. Set this variable on the environment.", spec);
			char *id = sc_xasprintf("config.env.%s", name);
			char *hint = sc_xasprintf("set %s in the environment or in --env-file: the service refuses to start without it", name);
			add_issue(c, id, true, hint, "%s: %s (used at %s)", where, why, path);
			free(hint);
			free(id);
		} else if (strcmp(type, "string") == 0) {
			set_scalar(n, value, YAML_DOUBLE_QUOTED_SCALAR_STYLE);
		} else if (strcmp(type, "number") == 0) {
			if (!js_number(value, &num)) {
				why = sc_xasprintf("Environment variable \"%s\" is not a valid number. Got: \"%s\".", spec, value);
			} else {
				char *t = js_number_text(num);
				set_scalar(n, t, YAML_PLAIN_SCALAR_STYLE);
				free(t);
			}
		} else if (strcmp(type, "boolean") == 0) {
			if (strcasecmp(value, "true") == 0)
				set_scalar(n, "true", YAML_PLAIN_SCALAR_STYLE);
			else if (strcasecmp(value, "false") == 0)
				set_scalar(n, "false", YAML_PLAIN_SCALAR_STYLE);
			else
				why = sc_xasprintf("Environment variable \"%s\" is not a boolean. Expected \"true\" or \"false\", got \"%s\".", spec, value);
		} else {
			why = sc_xasprintf("Environment variable \"%s\" has an invalid type suffix \"%s\".", spec, type);
		}
		if (why && value) {
			char *id = sc_xasprintf("config.env.%s", name);
			add_issue(c, id, true, "the service refuses to start with this value", "%s: %s (used at %s)", where, why, path);
			free(id);
		}
		free(name);
		free(type);
	}
	if (why) {
		if (strncmp(spec, "PS_", 3) != 0)
			add_issue(c, "config.env", true, "only PS_ variables may be substituted: rename the variable",
				  "%s: %s (used at %s)", where, why, path);
		l->node_err[node_index(l, n)] = sc_xasprintf("%s: %s", where, why);
		free(why);
	}
}

/* Gives every node its path and resolves each !env scalar once. */
static void walk(loader *l, yaml_node_t *n, const char *path, int depth)
{
	if (!n || depth > 64)
		return;
	size_t i = node_index(l, n);
	if (l->node_path[i])
		return; /* an alias: the first place counts */
	l->node_path[i] = sc_xstrdup(path);
	if (n->type == YAML_SCALAR_NODE) {
		if (n->tag && strcmp((const char *)n->tag, "!env") == 0)
			resolve_env(l, n, path);
		return;
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		size_t k = 0;
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++, k++) {
			char *p = sc_xasprintf("%s[%zu]", path, k);
			walk(l, node_at(l, *it), p, depth + 1);
			free(p);
		}
		return;
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *k = sc_yaml_scalar(node_at(l, p->key));
		char *sub = *path ? sc_xasprintf("%s.%s", path, k ? k : "?") : sc_xstrdup(k ? k : "?");
		walk(l, node_at(l, p->value), sub, depth + 1);
		free(sub);
	}
}

/* ---- reading values ---- */

/* A scalar of a mapping; *blocked gets the reason when the value came from
 * an !env that could not be resolved. */
static const char *get_str(loader *l, yaml_node_t *map, const char *key, const char **blocked)
{
	yaml_node_t *n = sc_yaml_get(l->y, map, key);
	if (!n)
		return NULL;
	const char *err = l->node_err[node_index(l, n)];
	if (err) {
		if (blocked && !*blocked)
			*blocked = err;
		return NULL;
	}
	return sc_yaml_scalar(n);
}

static const char *path_of(loader *l, yaml_node_t *n) { return n ? l->node_path[node_index(l, n)] : "?"; }

/* Plain true/false (the core schema's booleans). */
static int get_bool(loader *l, yaml_node_t *map, const char *key)
{
	yaml_node_t *n = sc_yaml_get(l->y, map, key);
	const char *v = sc_yaml_scalar(n);
	if (!v || l->node_err[node_index(l, n)])
		return -1;
	if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0)
		return 1;
	if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0)
		return 0;
	return -1;
}

/* ---- URIs as uri-js 4.4.1 parses them (libs/lib-postgres types.ts) ---- */

typedef struct uri_parts {
	char *scheme, *userinfo, *host, *path, *query;
	bool has_port;
	long port;         /* -1: a port that is not a number */
} uri_parts;

static void uri_free(uri_parts *u)
{
	free(u->scheme);
	free(u->userinfo);
	free(u->host);
	free(u->path);
	free(u->query);
	memset(u, 0, sizeof *u);
}

static bool unreserved(int ch) { return isalnum(ch) || ch == '-' || ch == '.' || ch == '_' || ch == '~'; }

/* uri-js decodes only escapes of unreserved characters and keeps the
 * others encoded (upper-case): a password p%40ss reaches Postgres as p%40ss. */
static char *normalize_escapes(const char *s, size_t len)
{
	sc_buf b = SC_BUF_INIT;
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '%' && i + 2 < len && isxdigit((unsigned char)s[i + 1]) && isxdigit((unsigned char)s[i + 2])) {
			char hex[3] = { s[i + 1], s[i + 2], 0 };
			int ch = (int)strtol(hex, NULL, 16);
			if (unreserved(ch))
				sc_buf_putc(&b, (char)ch);
			else
				sc_buf_printf(&b, "%%%02X", ch);
			i += 2;
		} else if (s[i] == ' ') {
			sc_buf_puts(&b, "%20");
		} else {
			sc_buf_putc(&b, s[i]);
		}
	}
	return sc_buf_take(&b);
}

static bool uri_parse(const char *s, uri_parts *u)
{
	memset(u, 0, sizeof *u);
	const char *colon = strchr(s, ':');
	const char *p = s;
	if (colon && colon > s) {
		bool ok = isalpha((unsigned char)s[0]);
		for (const char *q = s; q < colon && ok; q++)
			ok = isalnum((unsigned char)*q) || *q == '+' || *q == '-' || *q == '.';
		if (ok) {
			u->scheme = sc_xstrndup(s, (size_t)(colon - s));
			for (char *q = u->scheme; *q; q++)
				*q = (char)tolower((unsigned char)*q);
			p = colon + 1;
		}
	}
	if (strncmp(p, "//", 2) == 0) {
		p += 2;
		size_t alen = strcspn(p, "/?#");
		const char *auth = p, *aend = p + alen;
		const char *at = memchr(auth, '@', alen);
		if (at) {
			u->userinfo = normalize_escapes(auth, (size_t)(at - auth));
			auth = at + 1;
		}
		const char *hend;
		if (*auth == '[') {
			const char *close = memchr(auth, ']', (size_t)(aend - auth));
			if (!close)
				return false;
			u->host = sc_xstrndup(auth + 1, (size_t)(close - auth - 1));
			hend = close + 1;
		} else {
			const char *pc = memchr(auth, ':', (size_t)(aend - auth));
			hend = pc ? pc : aend;
			u->host = normalize_escapes(auth, (size_t)(hend - auth));
		}
		for (char *q = u->host; *q; q++)
			*q = (char)tolower((unsigned char)*q);
		if (hend < aend && *hend == ':') {
			u->has_port = true;
			char *end;
			errno = 0;
			long v = strtol(hend + 1, &end, 10);
			u->port = (end == hend + 1 || end != aend || errno) ? -1 : v;
		}
		p = aend;
	}
	size_t plen = strcspn(p, "?#");
	u->path = normalize_escapes(p, plen);
	p += plen;
	if (*p == '?') {
		p++;
		u->query = sc_xstrndup(p, strcspn(p, "#"));
	}
	return true;
}

/* A query parameter's value (first one), or NULL. */
static char *query_param(const char *query, const char *key)
{
	size_t klen = strlen(key);
	for (const char *p = query; p && *p;) {
		size_t len = strcspn(p, "&");
		if (len > klen && strncmp(p, key, klen) == 0 && p[klen] == '=')
			return sc_xstrndup(p + klen + 1, len - klen - 1);
		p += len;
		if (*p)
			p++;
	}
	return NULL;
}

/* key='value' for a libpq connection string. */
static void conninfo_add(sc_buf *b, const char *key, const char *value)
{
	if (!value || !*value)
		return;
	if (b->len)
		sc_buf_putc(b, ' ');
	sc_buf_printf(b, "%s='", key);
	for (const char *p = value; *p; p++) {
		if (*p == '\'' || *p == '\\')
			sc_buf_putc(b, '\\');
		sc_buf_putc(b, *p);
	}
	sc_buf_putc(b, '\'');
}

/* PEM text from the config into a private file libpq can read. */
static char *pem_file(sc_config *c, const char *what, const char *pem)
{
	if (!c->tmpdir) {
		char tmpl[] = "/tmp/syncctl-pem.XXXXXX";
		const char *base = getenv("TMPDIR");
		char *t = base && *base ? sc_xasprintf("%s/syncctl-pem.XXXXXX", base) : sc_xstrdup(tmpl);
		if (!mkdtemp(t)) {
			free(t);
			return NULL;
		}
		c->tmpdir = t;
	}
	char *path = sc_xasprintf("%s/%s.pem", c->tmpdir, what);
	FILE *f = fopen(path, "w");
	if (!f) {
		free(path);
		return NULL;
	}
	chmod(path, 0600);
	fputs(pem, f);
	if (fclose(f) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* The service's normalizeConnectionConfig (libs/lib-postgres/src/types/
 * types.ts): fields over the URI's parts, sslmode from the config only
 * (default verify-full), its refusals in its order. Returns a libpq
 * connection string, or NULL with *refusal set. */
static char *pg_normalize(loader *l, yaml_node_t *conn, const char *what_id, const char **blocked,
			  char **refusal, char **shown, char **sslmode_out, bool *sslmode_default,
			  char **host_out)
{
	sc_config *c = l->c;
	const char *uri_s = get_str(l, conn, "uri", blocked);
	const char *f_host = get_str(l, conn, "hostname", blocked);
	const char *f_port = get_str(l, conn, "port", blocked);
	const char *f_db = get_str(l, conn, "database", blocked);
	const char *f_user = get_str(l, conn, "username", blocked);
	const char *f_pass = get_str(l, conn, "password", blocked);
	const char *f_ssl = get_str(l, conn, "sslmode", blocked);
	const char *cacert = get_str(l, conn, "cacert", blocked);
	const char *ccert = get_str(l, conn, "client_certificate", blocked);
	const char *ckey = get_str(l, conn, "client_private_key", blocked);
	if (*blocked)
		return NULL;
	uri_parts u;
	memset(&u, 0, sizeof u);
	if (uri_s) {
		uri_parse(uri_s, &u);
		if (!u.scheme || (strcmp(u.scheme, "postgresql") != 0 && strcmp(u.scheme, "postgres") != 0)) {
			*refusal = u.scheme ? sc_xasprintf("[PSYNC_S1109] Invalid URI - protocol must be postgresql, got \"%s\"", u.scheme)
					    : sc_xstrdup("[PSYNC_S1109] Invalid URI - protocol must be postgresql, got undefined");
			uri_free(&u);
			return NULL;
		}
	}
	const char *host = f_host ? f_host : u.host ? u.host : "";
	long port = 5432;
	if (f_port)
		port = strtol(f_port, NULL, 10); /* parseInt */
	else if (u.has_port)
		port = u.port;
	char *db = sc_xstrdup(f_db ? f_db : u.path && u.path[0] == '/' ? u.path + 1 : u.path ? u.path : "");
	char *uuser = NULL, *upass = NULL;
	if (u.userinfo) {
		/* userinfo.split(':'): the first two parts */
		size_t a = strcspn(u.userinfo, ":");
		uuser = sc_xstrndup(u.userinfo, a);
		if (u.userinfo[a]) {
			const char *rest = u.userinfo + a + 1;
			upass = sc_xstrndup(rest, strcspn(rest, ":"));
		}
	}
	const char *user = f_user ? f_user : uuser ? uuser : "";
	const char *pass = f_pass ? f_pass : upass ? upass : "";
	const char *sslmode = f_ssl ? f_ssl : "verify-full";
	char *out = NULL;
	if (port != -1 && (port < 1024 || port > 65535))
		*refusal = sc_xasprintf("[PSYNC_S1110] Port %ld not supported", port);
	else if (port == -1)
		*refusal = sc_xstrdup("[PSYNC_S1110] the port is not a number");
	else if (strcmp(sslmode, "verify-full") != 0 && strcmp(sslmode, "verify-ca") != 0 && strcmp(sslmode, "disable") != 0)
		*refusal = sc_xasprintf("sslmode must be verify-full, verify-ca or disable, not '%s' (the service refuses: /sslmode: const must be equal to constant)", sslmode);
	else if (strcmp(sslmode, "verify-ca") == 0 && !cacert)
		*refusal = sc_xstrdup("[PSYNC_S1104] Postgres connection: Explicit cacert is required for `sslmode: verify-ca`");
	else if (!*host)
		*refusal = sc_xstrdup("[PSYNC_S1106] Postgres connection: hostname required");
	else if (!*user)
		*refusal = sc_xstrdup("[PSYNC_S1107] Postgres connection: username required");
	else if (!*pass)
		*refusal = sc_xstrdup("[PSYNC_S1108] Postgres connection: password required");
	else if (!*db)
		*refusal = sc_xstrdup("[PSYNC_S1105] Postgres connection: database required");
	if (!*refusal) {
		sc_buf b = SC_BUF_INIT;
		char portbuf[16];
		snprintf(portbuf, sizeof portbuf, "%ld", port);
		conninfo_add(&b, "host", host);
		conninfo_add(&b, "port", portbuf);
		conninfo_add(&b, "dbname", db);
		conninfo_add(&b, "user", user);
		conninfo_add(&b, "password", pass);
		conninfo_add(&b, "sslmode", sslmode);
		if (strcmp(sslmode, "disable") != 0) {
			char *ca = NULL;
			if (cacert) {
				char *n = sc_xasprintf("%s-cacert", what_id);
				ca = pem_file(c, n, cacert);
				free(n);
			} else if (access(SYSTEM_CA_BUNDLE, R_OK) == 0) {
				/* The system's CA bundle (libpq 15 has no sslrootcert=system). */
				ca = sc_xstrdup(SYSTEM_CA_BUNDLE);
			}
			conninfo_add(&b, "sslrootcert", ca);
			free(ca);
			if (ccert && ckey) {
				char *n1 = sc_xasprintf("%s-client-cert", what_id), *n2 = sc_xasprintf("%s-client-key", what_id);
				char *f1 = pem_file(c, n1, ccert), *f2 = pem_file(c, n2, ckey);
				conninfo_add(&b, "sslcert", f1);
				conninfo_add(&b, "sslkey", f2);
				free(f1);
				free(f2);
				free(n1);
				free(n2);
			}
		}
		out = sc_buf_take(&b);
		*shown = sc_xasprintf("postgresql://%s:***@%s:%ld/%s (sslmode %s)", user, host, port, db, sslmode);
		*sslmode_out = sc_xstrdup(sslmode);
		*sslmode_default = f_ssl == NULL;
		*host_out = sc_xstrdup(host);
		/* A ?sslmode= in the uri has no effect (types.ts: "Configuration not
		 * supported via URI"). */
		char *q = u.query ? query_param(u.query, "sslmode") : NULL;
		if (q) {
			yaml_node_t *un = sc_yaml_get(l->y, conn, "uri");
			char *id = sc_xasprintf("config.%s.sslmode_in_uri", what_id);
			char *hint = sc_xasprintf("set sslmode next to uri in the config: disable (no TLS), verify-ca with cacert, or verify-full (the default)");
			add_issue(c, id, false, hint, "%s sets sslmode=%s, which the service ignores: it takes sslmode only from the sslmode key (verify-full, verify-ca or disable), here %s%s",
				  path_of(l, un), q, sslmode, f_ssl ? "" : " (the default)");
			free(hint);
			free(id);
			free(q);
		}
	}
	free(db);
	free(uuser);
	free(upass);
	uri_free(&u);
	return out;
}

static void read_source(loader *l, yaml_node_t *root)
{
	sc_config *c = l->c;
	yaml_node_t *conns = sc_yaml_path(l->y, root, "replication.connections");
	if (!conns)
		return;
	if (conns->type != YAML_SEQUENCE_NODE) {
		add_issue(c, "config.source", true, NULL, "replication.connections must be a list (the service refuses: replication > connections > Expected an array)");
		block(c, SC_SET_DB, "replication.connections in the service config is not a list");
		return;
	}
	if (sc_yaml_len(conns) > 1)
		add_issue(c, "config.source.count", true, "keep one entry under replication.connections",
			  "Only a single replication data source is supported currently (replication.connections has %zu)", sc_yaml_len(conns));
	yaml_node_t *conn = sc_yaml_item(l->y, conns, 0);
	if (!conn)
		return;
	free(c->ps_where[SC_SET_DB]);
	c->ps_where[SC_SET_DB] = sc_xstrdup("replication.connections[0]");
	if (conn->type != YAML_MAPPING_NODE) {
		add_issue(c, "config.source", true, NULL, "replication.connections[0] must be a mapping");
		block(c, SC_SET_DB, "replication.connections[0] in the service config is not a mapping");
		return;
	}
	const char *blocked = NULL;
	const char *type = get_str(l, conn, "type", &blocked);
	if (blocked) {
		block(c, SC_SET_DB, blocked);
		return;
	}
	if (!type) {
		add_issue(c, "config.source", true, "add type: postgresql (or the source's type) to replication.connections[0]",
			  "replication.connections[0] has no type, which the service requires (postgresql, mongodb, mysql, mssql or convex)");
		block(c, SC_SET_DB, "replication.connections[0] has no type");
		return;
	}
	static const char *const types[] = { "postgresql", "mongodb", "mysql", "mssql", "convex", NULL };
	bool known_type = false;
	for (int i = 0; types[i]; i++)
		known_type = known_type || strcmp(types[i], type) == 0;
	if (!known_type) {
		add_issue(c, "config.source", true, NULL, "Invalid connection types: \"%s\" (replication.connections[0].type)", type);
		char *why = sc_xasprintf("replication.connections[0].type is \"%s\", which the service does not know", type);
		block(c, SC_SET_DB, why);
		free(why);
		return;
	}
	c->ps_source_type = sc_xstrdup(type);
	if (strcmp(type, "postgresql") != 0)
		return; /* a source for another module: not for libpq */
	char *refusal = NULL, *shown = NULL, *sslmode = NULL, *host = NULL;
	bool sslmode_default = false;
	char *conninfo = pg_normalize(l, conn, "source", &blocked, &refusal, &shown, &sslmode, &sslmode_default, &host);
	if (blocked) {
		block(c, SC_SET_DB, blocked);
	} else if (refusal) {
		add_issue(c, "config.source", true, "fix replication.connections[0] in the service config", "%s (replication.connections[0]; the service refuses to start)", refusal);
		char *why = sc_xasprintf("the service config's source connection is refused: %s", refusal);
		block(c, SC_SET_DB, why);
		free(why);
	} else {
		free(c->ps[SC_SET_DB]);
		c->ps[SC_SET_DB] = conninfo;
		conninfo = NULL;
		c->ps_source_shown = shown;
		shown = NULL;
		c->ps_sslmode = sslmode;
		sslmode = NULL;
		c->ps_sslmode_default = sslmode_default;
	}
	/* Supabase's JWKS is derived from the source's host name (auth/utils.ts
	 * getSupabaseJwksUrl): db.<ref>.supabase.co, the explicit hostname first. */
	if (host) {
		size_t n = strlen(host);
		if (n > 16 && strncmp(host, "db.", 3) == 0 && strcmp(host + n - 12, ".supabase.co") == 0) {
			char *ref = sc_xstrndup(host + 3, n - 15);
			bool word = *ref != '\0';
			for (const char *p = ref; *p; p++)
				word = word && (isalnum((unsigned char)*p) || *p == '_');
			if (word)
				c->ps_supabase_jwks = sc_xasprintf("https://%s.supabase.co/auth/v1/.well-known/jwks.json", ref);
			free(ref);
		}
	}
	free(conninfo);
	free(refusal);
	free(shown);
	free(sslmode);
	free(host);
}

/* MongoDB, as lib-mongodb's normalizeMongoConfig: uri required, database
 * from the field else the URI's first path segment, credentials from the
 * fields else the URI's. */
static char *mongo_normalize(loader *l, yaml_node_t *st, const char **blocked, char **refusal)
{
	const char *uri_s = get_str(l, st, "uri", blocked);
	const char *f_db = get_str(l, st, "database", blocked);
	const char *f_user = get_str(l, st, "username", blocked);
	const char *f_pass = get_str(l, st, "password", blocked);
	if (*blocked)
		return NULL;
	if (!uri_s) {
		*refusal = sc_xstrdup("storage.uri is required for MongoDB storage (the service refuses: must have required property 'uri')");
		return NULL;
	}
	if (strncmp(uri_s, "mongodb://", 10) != 0 && strncmp(uri_s, "mongodb+srv://", 14) != 0) {
		*refusal = sc_xstrdup("[PSYNC_S1109] MongoDB connection: invalid URI - Invalid scheme, expected connection string to start with \"mongodb://\" or \"mongodb+srv://\"");
		return NULL;
	}
	sc_error le;
	if (sc_mongo_load(&le) != 0) {
		*refusal = sc_xasprintf("storage.uri cannot be read here: %s", le.message);
		return NULL;
	}
	bson_error_t berr;
	mongoc_uri_t *u = mongoc_uri_new_with_error(uri_s, &berr);
	if (!u) {
		*refusal = sc_xasprintf("[PSYNC_S1109] MongoDB connection: invalid URI - %s", berr.message);
		return NULL;
	}
	const char *db = f_db ? f_db : mongoc_uri_get_database(u);
	if (!db || !*db) {
		*refusal = sc_xstrdup("[PSYNC_S1105] MongoDB connection: database required");
		mongoc_uri_destroy(u);
		return NULL;
	}
	/* The URI again with the fields in it: scheme, credentials, hosts,
	 * /database, ?options. */
	const char *scheme_end = strstr(uri_s, "://") + 3;
	size_t alen = strcspn(scheme_end, "/?");
	const char *at = NULL;
	for (const char *q = scheme_end; q < scheme_end + alen; q++)
		if (*q == '@')
			at = q;
	const char *hosts = at ? at + 1 : scheme_end;
	const char *rest = scheme_end + alen;
	const char *query = strchr(rest, '?');
	const char *user = f_user ? f_user : mongoc_uri_get_username(u);
	const char *pass = f_pass ? f_pass : mongoc_uri_get_password(u);
	sc_buf b = SC_BUF_INIT;
	sc_buf_append(&b, uri_s, (size_t)(scheme_end - uri_s));
	if (user) {
		for (const char *q = user; *q; q++)
			sc_buf_printf(&b, unreserved((unsigned char)*q) ? "%c" : "%%%02X", (unsigned char)*q);
		if (pass) {
			sc_buf_putc(&b, ':');
			for (const char *q = pass; *q; q++)
				sc_buf_printf(&b, unreserved((unsigned char)*q) ? "%c" : "%%%02X", (unsigned char)*q);
		}
		sc_buf_putc(&b, '@');
	}
	sc_buf_append(&b, hosts, (size_t)(scheme_end + alen - hosts));
	sc_buf_putc(&b, '/');
	for (const char *q = db; *q; q++)
		sc_buf_printf(&b, unreserved((unsigned char)*q) ? "%c" : "%%%02X", (unsigned char)*q);
	if (query)
		sc_buf_puts(&b, query);
	mongoc_uri_destroy(u);
	return sc_buf_take(&b);
}

static void read_storage(loader *l, yaml_node_t *root)
{
	sc_config *c = l->c;
	yaml_node_t *st = sc_yaml_get(l->y, root, "storage");
	if (!st) {
		add_issue(c, "config.storage", true, "add a storage section (type mongodb or postgresql, with its uri)",
			  "the service config has no storage section, which the service requires");
		return;
	}
	free(c->ps_where[SC_SET_STORAGE]);
	c->ps_where[SC_SET_STORAGE] = sc_xstrdup("storage");
	if (st->type != YAML_MAPPING_NODE) {
		add_issue(c, "config.storage", true, NULL, "storage must be a mapping (the service refuses: storage > Expected a map)");
		block(c, SC_SET_STORAGE, "storage in the service config is not a mapping");
		return;
	}
	const char *blocked = NULL;
	const char *type = get_str(l, st, "type", &blocked);
	if (blocked) {
		block(c, SC_SET_STORAGE, blocked);
		return;
	}
	if (!type || (strcmp(type, "mongodb") != 0 && strcmp(type, "postgresql") != 0)) {
		add_issue(c, "config.storage", true, "storage.type is mongodb or postgresql", "Invalid storage type: \"%s\"", type ? type : "undefined");
		block(c, SC_SET_STORAGE, "storage.type in the service config is neither mongodb nor postgresql");
		return;
	}
	c->ps_storage_type = sc_xstrdup(type);
	char *refusal = NULL, *value = NULL;
	if (strcmp(type, "mongodb") == 0) {
		value = mongo_normalize(l, st, &blocked, &refusal);
		if (value)
			c->ps_storage_shown = sc_redact_secrets(value);
	} else {
		char *sslmode = NULL, *host = NULL;
		bool dflt;
		value = pg_normalize(l, st, "storage", &blocked, &refusal, &c->ps_storage_shown, &sslmode, &dflt, &host);
		free(sslmode);
		free(host);
	}
	if (blocked) {
		block(c, SC_SET_STORAGE, blocked);
	} else if (refusal) {
		add_issue(c, "config.storage", true, "fix storage in the service config", "%s (storage; the service refuses to start)", refusal);
		char *why = sc_xasprintf("the service config's storage is refused: %s", refusal);
		block(c, SC_SET_STORAGE, why);
		free(why);
	} else {
		free(c->ps[SC_SET_STORAGE]);
		c->ps[SC_SET_STORAGE] = value;
		value = NULL;
	}
	free(value);
	free(refusal);
}

static void push_str(char ***v, size_t *n, const char *s)
{
	*v = sc_xrealloc(*v, (*n + 1) * sizeof **v);
	(*v)[(*n)++] = sc_xstrdup(s);
}

/* client_auth (compound-config-collector.ts; RemoteJWKSCollector.ts). */
static void read_auth(loader *l, yaml_node_t *root)
{
	sc_config *c = l->c;
	yaml_node_t *auth = sc_yaml_get(l->y, root, "client_auth");
	if (!auth || auth->type != YAML_MAPPING_NODE)
		return;
	const char *blocked = NULL;
	/* IP ranges first: the jwks_uri checks use them. */
	yaml_node_t *ranges = sc_yaml_get(l->y, auth, "jwks_reject_ip_ranges");
	for (size_t i = 0; i < sc_yaml_len(ranges); i++) {
		const char *r = sc_yaml_scalar(sc_yaml_item(l->y, ranges, i));
		if (r)
			push_str(&c->ps_reject_ranges, &c->ps_nreject, r);
	}
	if (get_bool(l, auth, "block_local_jwks") == 1) {
		push_str(&c->ps_reject_ranges, &c->ps_nreject, "local");
		c->ps_reject_ipv6 = true;
	}
	yaml_node_t *ju = sc_yaml_get(l->y, auth, "jwks_uri");
	free(c->ps_where[SC_SET_JWKS]);
	c->ps_where[SC_SET_JWKS] = sc_xstrdup("client_auth.jwks_uri");
	size_t n = ju && ju->type == YAML_SEQUENCE_NODE ? sc_yaml_len(ju) : ju ? 1 : 0;
	for (size_t i = 0; i < n; i++) {
		yaml_node_t *item = ju->type == YAML_SEQUENCE_NODE ? sc_yaml_item(l->y, ju, i) : ju;
		const char *err = item ? l->node_err[node_index(l, item)] : NULL;
		const char *uri = sc_yaml_scalar(item);
		if (err) {
			if (i == 0)
				block(c, SC_SET_JWKS, err);
			continue;
		}
		if (!uri)
			continue;
		if (!sc_is_http_url(uri)) {
			bool has_scheme = strstr(uri, "://") != NULL;
			if (has_scheme)
				add_issue(c, "config.client_auth.jwks_uri", true, "jwks_uri must be an http(s) URL",
					  "[PSYNC_S3103] Only http(s) is supported for jwks_uri, got: \"%s\"", uri);
			else
				add_issue(c, "config.client_auth.jwks_uri", true, "jwks_uri must be an http(s) URL",
					  "[PSYNC_S3102] Invalid jwks_uri: \"%s\" Details: Invalid URL", uri);
			continue;
		}
		/* An IP literal is judged at start-up (resolveAgent); a name when the
		 * service resolves it. */
		uri_parts u;
		uri_parse(uri, &u);
		bool is_ip = false;
		sc_error e;
		sc_error_clear(&e);
		char *refused = u.host ? sc_ip_refusal(u.host, c->ps_reject_ranges, c->ps_nreject, c->ps_reject_ipv6, &is_ip, &e) : NULL;
		if (e.code)
			add_issue(c, "config.client_auth.jwks_reject_ip_ranges", true, "write each range as a CIDR (10.0.0.0/8) or local", "%s", e.message);
		if (refused) {
			char *id = sc_xasprintf("config.client_auth.jwks_uri.%zu", i);
			add_issue(c, id, true, "serve the JWKS from an address outside the blocked ranges, or change client_auth.jwks_reject_ip_ranges / block_local_jwks",
				  "%s (client_auth.jwks_uri %s: the service refuses to start)", refused, uri);
			free(id);
			free(refused);
		}
		uri_free(&u);
		push_str(&c->ps_jwks_uris, &c->ps_njwks_uris, uri);
		if (!c->ps[SC_SET_JWKS] && !c->blocked[SC_SET_JWKS])
			c->ps[SC_SET_JWKS] = sc_xstrdup(uri);
	}
	/* Inline keys, every kty (oct included: the only private keys a config
	 * holds). */
	yaml_node_t *inline_jwks = sc_yaml_get(l->y, auth, "jwks");
	if (inline_jwks) {
		cJSON *j = sc_yaml_to_json(l->y, inline_jwks);
		c->ps_jwks_json = j ? cJSON_PrintUnformatted(j) : NULL;
		cJSON_Delete(j);
	}
	/* audience: a list (the codec refuses a string). */
	yaml_node_t *aud = sc_yaml_get(l->y, auth, "audience");
	free(c->ps_where[SC_SET_AUDIENCE]);
	c->ps_where[SC_SET_AUDIENCE] = sc_xstrdup("client_auth.audience");
	if (aud && aud->type != YAML_SEQUENCE_NODE) {
		add_issue(c, "config.client_auth.audience", true, "write it as a list: audience: [\"powersync\"]",
			  "client_auth.audience must be a list (the service refuses: client_auth > audience > Expected an array but got string)");
		block(c, SC_SET_AUDIENCE, "client_auth.audience in the service config is not a list");
	} else if (aud) {
		sc_buf b = SC_BUF_INIT;
		for (size_t i = 0; i < sc_yaml_len(aud); i++) {
			yaml_node_t *it = sc_yaml_item(l->y, aud, i);
			if (l->node_err[node_index(l, it)]) {
				blocked = l->node_err[node_index(l, it)];
				continue;
			}
			const char *a = sc_yaml_scalar(it);
			if (a)
				sc_buf_printf(&b, "%s%s", b.len ? "," : "", a);
		}
		if (blocked)
			block(c, SC_SET_AUDIENCE, blocked);
		else if (b.len)
			c->ps[SC_SET_AUDIENCE] = sc_buf_take(&b);
		sc_buf_free(&b);
	}
	c->ps_supabase = get_bool(l, auth, "supabase") == 1;
	const char *secret = get_str(l, auth, "supabase_jwt_secret", NULL);
	if (secret && c->ps_supabase)
		c->ps_supabase_secret = sc_xstrdup(secret);
	if (!c->ps_supabase) {
		free(c->ps_supabase_jwks);
		c->ps_supabase_jwks = NULL;
	}
}

static char *relative_to(const char *config_path, const char *path)
{
	if (path[0] == '/')
		return sc_xstrdup(path);
	const char *slash = strrchr(config_path, '/');
	if (!slash)
		return sc_xstrdup(path);
	return sc_xasprintf("%.*s/%s", (int)(slash - config_path), config_path, path);
}

/* sync_config, or its old name sync_rules (config-collector.ts; the sync
 * collectors: path, relative to the config's directory, beats content). */
static void read_rules(loader *l, yaml_node_t *root)
{
	sc_config *c = l->c;
	yaml_node_t *a = sc_yaml_get(l->y, root, "sync_config"), *b = sc_yaml_get(l->y, root, "sync_rules");
	if (a && b) {
		add_issue(c, "config.sync_config", true, "keep only sync_config",
			  "Both `sync_config` and `sync_rules` are present in the service configuration. Please consolidate into one sync_config.");
		block(c, SC_SET_RULES, "the service config has both sync_config and sync_rules, which the service refuses");
		return;
	}
	yaml_node_t *rules = a ? a : b;
	if (!rules || rules->type != YAML_MAPPING_NODE)
		return;
	const char *key = a ? "sync_config" : "sync_rules";
	const char *blocked = NULL;
	const char *path = get_str(l, rules, "path", &blocked);
	const char *content = get_str(l, rules, "content", &blocked);
	free(c->ps_where[SC_SET_RULES]);
	c->ps_where[SC_SET_RULES] = sc_xasprintf("%s.%s", key, path ? "path" : "content");
	if (blocked) {
		block(c, SC_SET_RULES, blocked);
		return;
	}
	if (path && *path) {
		char *full = relative_to(l->name, path);
		if (access(full, R_OK) != 0) {
			char *id = sc_xasprintf("config.%s.path", key);
			add_issue(c, id, false, "give the rules file here with --rules FILE (or SYNCCTL_RULES)",
				  "%s.path %s does not exist here (%s): a path inside the service's container? The rules are not checked from it",
				  key, path, full);
			free(id);
			char *why = sc_xasprintf("the service config's %s.path %s does not exist here; give --rules FILE", key, full);
			block(c, SC_SET_RULES, why);
			free(why);
			free(full);
			return;
		}
		c->ps[SC_SET_RULES] = full;
	} else if (content) {
		c->ps_rules_content = sc_xstrdup(content);
	}
}

/* ---- keys the service does not know ---- */

static char *suggest(const char *parent, const char *key)
{
	/* A known sibling that contains the key, or that the key contains. */
	size_t pl = strlen(parent);
	for (size_t i = 0; i < sizeof known_keys / sizeof known_keys[0]; i++) {
		const char *k = known_keys[i];
		if (strncmp(k, parent, pl) != 0 || k[pl] != '.' || strchr(k + pl + 1, '.') || strchr(k + pl + 1, '['))
			continue;
		const char *name = k + pl + 1;
		if (strstr(name, key) || strstr(key, name))
			return sc_xasprintf("did you mean %s? ", name);
	}
	return sc_xstrdup("");
}

static void unknown_keys(loader *l, yaml_node_t *n, const char *norm, int depth)
{
	if (!n || depth > 64)
		return;
	if (n->type == YAML_SEQUENCE_NODE) {
		char *p = sc_xasprintf("%s[]", norm);
		for (yaml_node_item_t *it = n->data.sequence.items.start; it < n->data.sequence.items.top; it++)
			unknown_keys(l, node_at(l, *it), p, depth + 1);
		free(p);
		return;
	}
	if (n->type != YAML_MAPPING_NODE)
		return;
	/* Records: any key. */
	if (strcmp(norm, "metadata") == 0 || strcmp(norm, "parameters") == 0)
		return;
	char *base = sc_xstrdup(norm);
	if (has_branches(norm)) {
		const char *disc = NULL;
		char *cand = NULL;
		const char *t = sc_yaml_scalar(sc_yaml_get(l->y, n, "type"));
		const char *kty = sc_yaml_scalar(sc_yaml_get(l->y, n, "kty"));
		if (t) {
			cand = sc_xasprintf("%s{type=%s}.type", norm, t);
			disc = "type";
		} else if (kty) {
			cand = sc_xasprintf("%s{kty=%s}.kty", norm, kty);
			disc = "kty";
		}
		free(base);
		if (cand && known(cand))
			base = sc_xasprintf("%s{%s=%s}", norm, disc, disc[0] == 't' ? t : kty);
		else
			base = sc_xasprintf("%s{generic}", norm);
		free(cand);
	}
	for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
		const char *k = sc_yaml_scalar(node_at(l, p->key));
		if (!k)
			continue;
		char *kp = *base ? sc_xasprintf("%s.%s", base, k) : sc_xstrdup(k);
		yaml_node_t *v = node_at(l, p->value);
		if (!known(kp)) {
			/* The generic branch of a known type lists fewer keys: a key
			 * is unknown only if no branch of that type knows it. */
			const char *where = path_of(l, v);
			sc_buf idb = SC_BUF_INIT;
			sc_buf_puts(&idb, "config.unknown_key.");
			for (const char *c = where; *c; c++)
				if (*c == '[')
					sc_buf_putc(&idb, '.');
				else if (*c != ']')
					sc_buf_putc(&idb, *c);
			char *id = sc_buf_take(&idb);
			char *sug = suggest(base, k);
			char *hint = sc_xasprintf("%sremove it, or move it where the service reads it (its config reference lists the keys)", sug);
			add_issue(l->c, id, false, hint, "%s is not a key the service knows at this place: it ignores it", where);
			free(hint);
			free(sug);
			free(id);
		} else {
			unknown_keys(l, v, kp, depth + 1);
		}
		free(kp);
	}
	free(base);
}

/* ---- the whole file ---- */

int sc_config_load_powersync_text(sc_config *c, const char *text, size_t len, const char *name, sc_error *err)
{
	sc_yaml y;
	if (sc_yaml_load(&y, text, len, name, err) != 0) {
		char msg[sizeof err->message];
		snprintf(msg, sizeof msg, "%s", err->message);
		sc_error_set(err, SC_EXIT_USAGE, "powersync config %s", msg);
		return -1;
	}
	yaml_node_t *root = sc_yaml_root(&y);
	if (!root || root->type != YAML_MAPPING_NODE) {
		sc_error_set(err, SC_EXIT_USAGE, "powersync config %s: expected a mapping at the top level", name);
		sc_yaml_free(&y);
		return -1;
	}
	free(c->ps_path);
	c->ps_path = sc_xstrdup(name);
	loader l = { c, &y, name, (size_t)(y.doc.nodes.top - y.doc.nodes.start), NULL, NULL };
	l.node_err = sc_xcalloc(l.nnodes + 1, sizeof *l.node_err);
	l.node_path = sc_xcalloc(l.nnodes + 1, sizeof *l.node_path);
	walk(&l, root, "", 0);
	read_source(&l, root);
	read_storage(&l, root);
	read_auth(&l, root);
	read_rules(&l, root);
	/* port (portCodec: a number or parseInt of a string), default 8080. */
	const char *blocked = NULL;
	const char *port = get_str(&l, root, "port", &blocked);
	free(c->ps_where[SC_SET_SERVICE]);
	c->ps_where[SC_SET_SERVICE] = sc_xstrdup(port ? "port" : "port (not set: the service listens on 8080)");
	if (blocked) {
		block(c, SC_SET_SERVICE, blocked);
	} else {
		long p = port ? strtol(port, NULL, 10) : 8080;
		free(c->ps[SC_SET_SERVICE]);
		c->ps[SC_SET_SERVICE] = sc_xasprintf("http://localhost:%ld", p);
	}
	/* api.tokens[0]: the admin token (compound-config-collector.ts). */
	const char *token0 = sc_yaml_scalar(sc_yaml_item(&y, sc_yaml_path(&y, root, "api.tokens"), 0));
	if (token0 && *token0)
		c->ps_api_token = sc_xstrdup(token0);
	unknown_keys(&l, root, "", 0);
	for (size_t i = 0; i <= l.nnodes; i++) {
		free(l.node_err[i]);
		free(l.node_path[i]);
	}
	free(l.node_err);
	free(l.node_path);
	sc_yaml_free(&y);
	return 0;
}

int sc_config_load_powersync(sc_config *c, const char *path, sc_error *err)
{
	size_t len;
	char *text = sc_read_file(path, MAX_CONFIG_BYTES, &len, "powersync config", err);
	if (!text)
		return -1;
	int rc = sc_config_load_powersync_text(c, text, len, path, err);
	free(text);
	return rc;
}
