#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "buf.h"
#include "util.h"
#include "yamldoc.h"

#define MAX_CONFIG_BYTES (4u * 1024u * 1024u)

static const struct {
	const char *flag;
	const char *env[3];
} setting_defs[SC_SETTING_COUNT] = {
	[SC_SET_DB] = { "--db", { "SYNCCTL_DB", "DATABASE_URL", NULL } },
	[SC_SET_SERVICE] = { "--service", { "POWERSYNC_URL", NULL, NULL } },
	[SC_SET_STORAGE] = { "--storage", { "SYNCCTL_STORAGE", NULL, NULL } },
	[SC_SET_JWKS] = { "--jwks", { "SYNCCTL_JWKS", NULL, NULL } },
	[SC_SET_KID] = { "--kid", { "POWERSYNC_KEY_ID", NULL, NULL } },
	[SC_SET_AUDIENCE] = { "--aud", { "SYNCCTL_AUDIENCE", NULL, NULL } },
	[SC_SET_RULES] = { "--rules", { "SYNCCTL_RULES", NULL, NULL } },
	[SC_SET_LOCAL_DB] = { "--local", { "SYNCCTL_LOCAL_DB", NULL, NULL } },
	[SC_SET_REMOTE_DB] = { "--remote", { "SYNCCTL_REMOTE_DB", NULL, NULL } },
};

const char *sc_setting_flag(sc_setting_id id) { return setting_defs[id].flag; }
const char *sc_setting_env(sc_setting_id id) { return setting_defs[id].env[0]; }

void sc_config_init(sc_config *c) { memset(c, 0, sizeof *c); }

void sc_config_free(sc_config *c)
{
	for (int i = 0; i < SC_SETTING_COUNT; i++) {
		free(c->flag[i]);
		free(c->ps[i]);
	}
	sc_dotenv_free(&c->env_file);
	free(c->env_file_path);
	free(c->ps_path);
	free(c->ps_storage_type);
	free(c->ps_rules_content);
	if (c->ps_api_token) {
		memset(c->ps_api_token, 0, strlen(c->ps_api_token));
		free(c->ps_api_token);
	}
	free(c->ps_jwks_json);
	free(c->origin);
	memset(c, 0, sizeof *c);
}

void sc_config_set_flag(sc_config *c, sc_setting_id id, const char *value)
{
	free(c->flag[id]);
	c->flag[id] = value ? sc_xstrdup(value) : NULL;
}

/* ---- dotenv ---- */

void sc_dotenv_free(sc_dotenv *d)
{
	for (size_t i = 0; i < d->n; i++) {
		free(d->items[i].key);
		free(d->items[i].value);
	}
	free(d->items);
	d->items = NULL;
	d->n = 0;
}

const char *sc_dotenv_get(const sc_dotenv *d, const char *key)
{
	/* The last assignment wins, as when a shell sources the file. */
	for (size_t i = d->n; i-- > 0;)
		if (strcmp(d->items[i].key, key) == 0)
			return d->items[i].value;
	return NULL;
}

static void dotenv_add(sc_dotenv *d, char *key, char *value)
{
	d->items = sc_xrealloc(d->items, (d->n + 1) * sizeof *d->items);
	d->items[d->n].key = key;
	d->items[d->n].value = value;
	d->n++;
}

int sc_dotenv_parse(sc_dotenv *out, const char *text, const char *name, sc_error *err)
{
	const char *p = text;
	int line = 0;
	while (*p) {
		line++;
		const char *eol = p + strcspn(p, "\n");
		const char *s = p;
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		if (s == eol || *s == '#' || (*s == '\r' && s + 1 == eol))
			goto next;
		if (strncmp(s, "export", 6) == 0 && (s[6] == ' ' || s[6] == '\t')) {
			s += 6;
			while (s < eol && (*s == ' ' || *s == '\t'))
				s++;
		}
		const char *k = s;
		while (s < eol && (isalnum((unsigned char)*s) || *s == '_' || *s == '.'))
			s++;
		if (s == k || isdigit((unsigned char)*k)) {
			sc_error_set(err, SC_EXIT_USAGE, "%s:%d: expected KEY=VALUE", name, line);
			return -1;
		}
		char *key = sc_xstrndup(k, (size_t)(s - k));
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		if (s == eol || *s != '=') {
			free(key);
			sc_error_set(err, SC_EXIT_USAGE, "%s:%d: expected KEY=VALUE", name, line);
			return -1;
		}
		s++;
		while (s < eol && (*s == ' ' || *s == '\t'))
			s++;
		sc_buf v = SC_BUF_INIT;
		if (s < eol && (*s == '"' || *s == '\'')) {
			char q = *s++;
			/* A quoted value may span lines (PEM keys in .env files do). */
			const char *end = s;
			while (*end && *end != q) {
				if (q == '"' && *end == '\\' && end[1])
					end++;
				end++;
			}
			if (*end != q) {
				free(key);
				sc_buf_free(&v);
				sc_error_set(err, SC_EXIT_USAGE, "%s:%d: unterminated %s quote",
					     name, line, q == '"' ? "double" : "single");
				return -1;
			}
			for (const char *c = s; c < end; c++) {
				if (*c == '\n')
					line++;
				if (q == '"' && *c == '\\' && c + 1 < end) {
					c++;
					switch (*c) {
					case 'n': sc_buf_putc(&v, '\n'); break;
					case 't': sc_buf_putc(&v, '\t'); break;
					case 'r': sc_buf_putc(&v, '\r'); break;
					default: sc_buf_putc(&v, *c); break;
					}
				} else {
					sc_buf_putc(&v, *c);
				}
			}
			eol = end + 1 + strcspn(end + 1, "\n");
		} else {
			const char *e = s;
			/* An unquoted value ends at " #" (a comment) or the line's end. */
			while (e < eol && !(*e == '#' && e > s && (e[-1] == ' ' || e[-1] == '\t')))
				e++;
			while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
				e--;
			sc_buf_append(&v, s, (size_t)(e - s));
		}
		dotenv_add(out, key, sc_buf_take(&v));
next:
		p = *eol ? eol + 1 : eol;
	}
	return 0;
}

int sc_config_load_env_file(sc_config *c, const char *path, sc_error *err)
{
	char *text = sc_read_file(path, MAX_CONFIG_BYTES, NULL, "env file", err);
	if (!text)
		return -1;
	sc_dotenv_free(&c->env_file);
	int rc = sc_dotenv_parse(&c->env_file, text, path, err);
	free(text);
	free(c->env_file_path);
	c->env_file_path = sc_xstrdup(path);
	return rc;
}

/* ---- the service's YAML config ---- */

static const char *lookup_env(sc_config *c, const char *name)
{
	const char *v = getenv(name);
	if (!v)
		v = sc_dotenv_get(&c->env_file, name);
	return v;
}

/* Resolves every !env scalar in place. Nodes are visited once each (the
 * node table, not the tree), so aliases cannot multiply the work. */
static int resolve_env_tags(sc_config *c, sc_yaml *y, const char *name, sc_error *err)
{
	for (yaml_node_t *n = y->doc.nodes.start; n < y->doc.nodes.top; n++) {
		const char *tag = (const char *)n->tag;
		if (!tag || (strcmp(tag, "!env") != 0 && strcmp(tag, "!env_number") != 0 &&
			     strcmp(tag, "!env_boolean") != 0))
			continue;
		size_t line = n->start_mark.line + 1, col = n->start_mark.column + 1;
		if (n->type != YAML_SCALAR_NODE) {
			sc_error_set(err, SC_EXIT_USAGE, "%s:%zu:%zu: %s must be followed by a variable name",
				     name, line, col, tag);
			return -1;
		}
		const char *spec = (const char *)n->data.scalar.value;
		char var[256];
		const char *type = strcmp(tag, "!env_number") == 0 ? "number"
				   : strcmp(tag, "!env_boolean") == 0 ? "boolean" : "string";
		const char *sep = strstr(spec, "::");
		size_t vlen = sep ? (size_t)(sep - spec) : strlen(spec);
		if (vlen >= sizeof var)
			vlen = sizeof var - 1;
		memcpy(var, spec, vlen);
		var[vlen] = '\0';
		if (sep)
			type = sep + 2;
		if (strncmp(var, "PS_", 3) != 0) {
			sc_error_set(err, SC_EXIT_USAGE,
				     "%s:%zu:%zu: attempting to substitute environment variable %s is not allowed; variables must start with \"PS_\"",
				     name, line, col, var);
			return -1;
		}
		const char *value = lookup_env(c, var);
		if (!value) {
			sc_error_set(err, SC_EXIT_USAGE,
				     "%s:%zu:%zu: environment variable %s (from !env) is not set; set it in the environment or in --env-file",
				     name, line, col, var);
			return -1;
		}
		if (strcmp(type, "number") == 0) {
			char *end;
			errno = 0;
			(void)strtod(value, &end);
			if (!*value || *end || errno) {
				sc_error_set(err, SC_EXIT_USAGE,
					     "%s:%zu:%zu: environment variable %s is not a valid number",
					     name, line, col, var);
				return -1;
			}
		} else if (strcmp(type, "boolean") == 0) {
			if (strcmp(value, "true") != 0 && strcmp(value, "false") != 0) {
				sc_error_set(err, SC_EXIT_USAGE,
					     "%s:%zu:%zu: environment variable %s is not a valid boolean (true or false)",
					     name, line, col, var);
				return -1;
			}
		} else if (strcmp(type, "string") != 0) {
			sc_error_set(err, SC_EXIT_USAGE, "%s:%zu:%zu: unknown !env type \"%s\" (string, number or boolean)",
				     name, line, col, type);
			return -1;
		}
		free(n->data.scalar.value);
		n->data.scalar.value = (yaml_char_t *)sc_xstrdup(value);
		n->data.scalar.length = strlen(value);
	}
	return 0;
}

/* Appends key='value' to a libpq keyword/value connection string. */
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

static char *dup_scalar(yaml_node_t *n)
{
	const char *s = sc_yaml_scalar(n);
	return s ? sc_xstrdup(s) : NULL;
}

static int type_error(yaml_node_t *n, const char *name, const char *key, const char *want,
		      sc_error *err)
{
	sc_error_set(err, SC_EXIT_USAGE, "%s:%zu:%zu: %s must be %s", name,
		     n->start_mark.line + 1, n->start_mark.column + 1, key, want);
	return -1;
}

static int read_connection(sc_config *c, sc_yaml *y, yaml_node_t *root, const char *name,
			   sc_error *err)
{
	yaml_node_t *conns = sc_yaml_path(y, root, "replication.connections");
	if (!conns)
		return 0;
	if (conns->type != YAML_SEQUENCE_NODE)
		return type_error(conns, name, "replication.connections", "a list", err);
	yaml_node_t *conn = sc_yaml_item(y, conns, 0);
	if (!conn)
		return 0;
	if (conn->type != YAML_MAPPING_NODE)
		return type_error(conn, name, "replication.connections[0]", "a mapping", err);
	const char *uri = sc_yaml_scalar(sc_yaml_get(y, conn, "uri"));
	if (uri && *uri) {
		/* The service takes the uri whole; so do we. */
		free(c->ps[SC_SET_DB]);
		c->ps[SC_SET_DB] = sc_xstrdup(uri);
		return 0;
	}
	sc_buf b = SC_BUF_INIT;
	static const struct { const char *yaml; const char *libpq; } fields[] = {
		{ "hostname", "host" }, { "port", "port" }, { "database", "dbname" },
		{ "username", "user" }, { "password", "password" }, { "sslmode", "sslmode" },
	};
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		yaml_node_t *v = sc_yaml_get(y, conn, fields[i].yaml);
		if (!v)
			continue;
		if (v->type != YAML_SCALAR_NODE) {
			sc_buf_free(&b);
			return type_error(v, name, fields[i].yaml, "a scalar", err);
		}
		conninfo_add(&b, fields[i].libpq, sc_yaml_scalar(v));
	}
	free(c->ps[SC_SET_DB]);
	c->ps[SC_SET_DB] = b.len ? sc_buf_take(&b) : NULL;
	sc_buf_free(&b);
	return 0;
}

/* A path relative to the config file's directory. */
static char *relative_to(const char *config_path, const char *path)
{
	if (path[0] == '/')
		return sc_xstrdup(path);
	const char *slash = strrchr(config_path, '/');
	if (!slash)
		return sc_xstrdup(path);
	return sc_xasprintf("%.*s/%s", (int)(slash - config_path), config_path, path);
}

int sc_config_load_powersync_text(sc_config *c, const char *text, size_t len,
				  const char *name, sc_error *err)
{
	sc_yaml y;
	if (sc_yaml_load(&y, text, len, name, err) != 0) {
		/* Say what the file is: the same YAML errors in a rules file read
		 * differently. */
		char msg[sizeof err->message];
		snprintf(msg, sizeof msg, "%s", err->message);
		sc_error_set(err, SC_EXIT_USAGE, "powersync config %s", msg);
		return -1;
	}
	int rc = -1;
	yaml_node_t *root = sc_yaml_root(&y);
	if (!root || root->type != YAML_MAPPING_NODE) {
		sc_error_set(err, SC_EXIT_USAGE, "powersync config %s: expected a mapping at the top level", name);
		goto out;
	}
	if (resolve_env_tags(c, &y, name, err) != 0) {
		char msg[sizeof err->message];
		snprintf(msg, sizeof msg, "%s", err->message);
		sc_error_set(err, SC_EXIT_USAGE, "powersync config %s", msg);
		goto out;
	}
	if (read_connection(c, &y, root, name, err) != 0)
		goto out;

	yaml_node_t *storage = sc_yaml_get(&y, root, "storage");
	if (storage && storage->type == YAML_MAPPING_NODE) {
		free(c->ps_storage_type);
		c->ps_storage_type = dup_scalar(sc_yaml_get(&y, storage, "type"));
		free(c->ps[SC_SET_STORAGE]);
		c->ps[SC_SET_STORAGE] = dup_scalar(sc_yaml_get(&y, storage, "uri"));
	}

	yaml_node_t *auth = sc_yaml_get(&y, root, "client_auth");
	if (auth && auth->type == YAML_MAPPING_NODE) {
		yaml_node_t *jwks = sc_yaml_get(&y, auth, "jwks_uri");
		free(c->ps[SC_SET_JWKS]);
		c->ps[SC_SET_JWKS] = jwks && jwks->type == YAML_SEQUENCE_NODE
					     ? dup_scalar(sc_yaml_item(&y, jwks, 0))
					     : dup_scalar(jwks);
		yaml_node_t *aud = sc_yaml_get(&y, auth, "audience");
		sc_buf b = SC_BUF_INIT;
		for (size_t i = 0; i < sc_yaml_len(aud); i++) {
			const char *a = sc_yaml_scalar(sc_yaml_item(&y, aud, i));
			if (a)
				sc_buf_printf(&b, "%s%s", b.len ? "," : "", a);
		}
		if (sc_yaml_scalar(aud))
			sc_buf_puts(&b, sc_yaml_scalar(aud));
		free(c->ps[SC_SET_AUDIENCE]);
		c->ps[SC_SET_AUDIENCE] = b.len ? sc_buf_take(&b) : NULL;
		sc_buf_free(&b);
		/* Inline keys (packages/types/src/config/PowerSyncConfig.ts
		 * client_auth.jwks): the only private keys a config holds are
		 * its HS secrets. */
		yaml_node_t *inline_jwks = sc_yaml_get(&y, auth, "jwks");
		free(c->ps_jwks_json);
		c->ps_jwks_json = NULL;
		if (inline_jwks) {
			cJSON *j = sc_yaml_to_json(&y, inline_jwks);
			c->ps_jwks_json = j ? cJSON_PrintUnformatted(j) : NULL;
			cJSON_Delete(j);
		}
	}

	/* The admin API token (api.tokens; compound-config-collector.ts). */
	yaml_node_t *tokens = sc_yaml_path(&y, root, "api.tokens");
	const char *token0 = sc_yaml_scalar(sc_yaml_item(&y, tokens, 0));
	free(c->ps_api_token);
	c->ps_api_token = token0 && *token0 ? sc_xstrdup(token0) : NULL;

	yaml_node_t *rules = sc_yaml_get(&y, root, "sync_config");
	if (!rules)
		rules = sc_yaml_get(&y, root, "sync_rules");
	if (rules && rules->type == YAML_MAPPING_NODE) {
		const char *path = sc_yaml_scalar(sc_yaml_get(&y, rules, "path"));
		free(c->ps[SC_SET_RULES]);
		c->ps[SC_SET_RULES] = path ? relative_to(name, path) : NULL;
		free(c->ps_rules_content);
		c->ps_rules_content = dup_scalar(sc_yaml_get(&y, rules, "content"));
	}

	const char *port = sc_yaml_scalar(sc_yaml_get(&y, root, "port"));
	free(c->ps[SC_SET_SERVICE]);
	c->ps[SC_SET_SERVICE] = port ? sc_xasprintf("http://localhost:%s", port) : NULL;
	rc = 0;
out:
	sc_yaml_free(&y);
	return rc;
}

int sc_config_load_powersync(sc_config *c, const char *path, sc_error *err)
{
	size_t len;
	char *text = sc_read_file(path, MAX_CONFIG_BYTES, &len, "powersync config", err);
	if (!text)
		return -1;
	int rc = sc_config_load_powersync_text(c, text, len, path, err);
	free(text);
	if (rc == 0) {
		free(c->ps_path);
		c->ps_path = sc_xstrdup(path);
	}
	return rc;
}

const char *sc_config_env(sc_config *c, const char *name)
{
	const char *v = getenv(name);
	if (v && *v)
		return v;
	v = sc_dotenv_get(&c->env_file, name);
	return v && *v ? v : NULL;
}

const char *sc_config_get(sc_config *c, sc_setting_id id, const char **origin)
{
	const char *v = NULL;
	free(c->origin);
	c->origin = NULL;
	if (c->flag[id]) {
		v = c->flag[id];
		c->origin = sc_xstrdup(setting_defs[id].flag);
	}
	for (int i = 0; !v && i < 3 && setting_defs[id].env[i]; i++) {
		const char *e = getenv(setting_defs[id].env[i]);
		if (e && *e) {
			v = e;
			c->origin = sc_xstrdup(setting_defs[id].env[i]);
		}
	}
	for (int i = 0; !v && i < 3 && setting_defs[id].env[i]; i++) {
		const char *e = sc_dotenv_get(&c->env_file, setting_defs[id].env[i]);
		if (e && *e) {
			v = e;
			c->origin = sc_xasprintf("%s in %s", setting_defs[id].env[i], c->env_file_path);
		}
	}
	if (!v && c->ps[id]) {
		v = c->ps[id];
		c->origin = sc_xasprintf("powersync config %s", c->ps_path ? c->ps_path : "");
	}
	if (origin)
		*origin = c->origin ? c->origin : "default";
	return v;
}
