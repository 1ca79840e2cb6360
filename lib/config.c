#include "config.h"

#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <unistd.h>

#include "buf.h"
#include "util.h"

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

const char *sc_setting_name(sc_setting_id id)
{
	static const char *const names[SC_SETTING_COUNT] = {
		[SC_SET_DB] = "db", [SC_SET_SERVICE] = "service", [SC_SET_STORAGE] = "storage",
		[SC_SET_JWKS] = "jwks", [SC_SET_KID] = "kid", [SC_SET_AUDIENCE] = "audience",
		[SC_SET_RULES] = "rules", [SC_SET_LOCAL_DB] = "local", [SC_SET_REMOTE_DB] = "remote",
	};
	return names[id];
}

const char *sc_config_blocked(const sc_config *c, sc_setting_id id) { return c->blocked[id]; }
const char *sc_setting_env(sc_setting_id id) { return setting_defs[id].env[0]; }

void sc_config_init(sc_config *c) { memset(c, 0, sizeof *c); }

static void free_list(char **v, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(v[i]);
	free(v);
}

static void free_secret(char *s)
{
	if (s) {
		memset(s, 0, strlen(s));
		free(s);
	}
}

/* The private files made for PEM text go with the configuration. */
static void remove_tmpdir(const char *dir)
{
	DIR *d = opendir(dir);
	if (d) {
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
				continue;
			char *p = sc_xasprintf("%s/%s", dir, e->d_name);
			unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(dir);
}

void sc_config_free(sc_config *c)
{
	for (int i = 0; i < SC_SETTING_COUNT; i++) {
		free(c->flag[i]);
		free_secret(c->ps[i]);
		free(c->ps_where[i]);
		free(c->blocked[i]);
	}
	free(c->ps_source_type);
	free(c->ps_source_shown);
	free(c->ps_sslmode);
	free(c->ps_storage_shown);
	free_list(c->ps_jwks_uris, c->ps_njwks_uris);
	free(c->ps_supabase_jwks);
	free_secret(c->ps_supabase_secret);
	free_list(c->ps_reject_ranges, c->ps_nreject);
	for (size_t i = 0; i < c->nissues; i++) {
		free(c->issues[i].id);
		free(c->issues[i].message);
		free(c->issues[i].hint);
	}
	free(c->issues);
	if (c->tmpdir) {
		remove_tmpdir(c->tmpdir);
		free(c->tmpdir);
	}
	sc_dotenv_free(&c->env_file);
	free(c->env_file_path);
	free(c->ps_path);
	free(c->ps_storage_type);
	free(c->ps_rules_content);
	free_secret(c->ps_api_token);
	free_secret(c->ps_jwks_json);
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

/* A variable for interpolation: the process environment first, then the
 * lines of the file read so far (docker compose's order). */
static const char *interp_lookup(const sc_dotenv *d, const char *key)
{
	const char *v = getenv(key);
	return v ? v : sc_dotenv_get(d, key);
}

static bool var_char(char ch, bool first)
{
	return ch == '_' || (ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (!first && ch >= '0' && ch <= '9');
}

/* Docker compose's interpolation of one value: $VAR, ${VAR}, ${VAR:-d},
 * ${VAR-d}, ${VAR:+a}, ${VAR+a}, ${VAR:?msg}, ${VAR?msg} (defaults may
 * nest), $$ for a literal $. NULL with err on an error. */
static char *interpolate(const char *s, size_t len, const sc_dotenv *d, const char *name, int line,
			 int depth, sc_error *err)
{
	sc_buf b = SC_BUF_INIT;
	const char *end = s + len;
	for (const char *p = s; p < end; p++) {
		if (*p != '$') {
			sc_buf_putc(&b, *p);
			continue;
		}
		if (p + 1 < end && p[1] == '$') {
			sc_buf_putc(&b, '$');
			p++;
			continue;
		}
		if (p + 1 < end && var_char(p[1], true)) {
			const char *v = p + 1, *ve = v;
			while (ve < end && var_char(*ve, ve == v))
				ve++;
			char *key = sc_xstrndup(v, (size_t)(ve - v));
			const char *val = interp_lookup(d, key);
			sc_buf_puts(&b, val ? val : "");
			free(key);
			p = ve - 1;
			continue;
		}
		if (p + 1 < end && p[1] == '{') {
			/* The matching brace, counting nested ${...}. */
			const char *q = p + 2;
			int open = 1;
			while (q < end && open) {
				if (*q == '{')
					open++;
				else if (*q == '}')
					open--;
				if (open)
					q++;
			}
			const char *v = p + 2, *ve = v;
			while (ve < q && var_char(*ve, ve == v))
				ve++;
			if (q >= end || ve == v || depth > 8) {
				sc_buf_free(&b);
				sc_error_set(err, SC_EXIT_USAGE, "%s:%d: invalid interpolation format: %.*s", name, line,
					     (int)((q < end ? q + 1 : end) - p), p);
				return NULL;
			}
			char *key = sc_xstrndup(v, (size_t)(ve - v));
			const char *val = interp_lookup(d, key);
			const char *op = ve;
			bool colon = op < q && *op == ':';
			if (colon)
				op++;
			char kind = op < q ? *op : 0;
			const char *arg = op < q ? op + 1 : q;
			bool empty_or_unset = !val || (colon && !*val);
			if (kind == 0) {
				if (colon) {
					free(key);
					sc_buf_free(&b);
					sc_error_set(err, SC_EXIT_USAGE, "%s:%d: invalid interpolation format: %.*s", name, line, (int)(q + 1 - p), p);
					return NULL;
				}
				sc_buf_puts(&b, val ? val : "");
			} else if (kind == '-' || kind == '+' || kind == '?') {
				bool use_arg = kind == '-' ? empty_or_unset : kind == '+' ? !empty_or_unset : false;
				if (kind == '?' && empty_or_unset) {
					char *msg = interpolate(arg, (size_t)(q - arg), d, name, line, depth + 1, err);
					if (msg)
						sc_error_set(err, SC_EXIT_USAGE, "%s:%d: required variable %s is missing a value%s%s", name, line,
							     key, *msg ? ": " : "", msg);
					free(msg);
					free(key);
					sc_buf_free(&b);
					return NULL;
				}
				if (use_arg) {
					char *a = interpolate(arg, (size_t)(q - arg), d, name, line, depth + 1, err);
					if (!a) {
						free(key);
						sc_buf_free(&b);
						return NULL;
					}
					sc_buf_puts(&b, a);
					free(a);
				} else if (kind != '+') {
					sc_buf_puts(&b, val ? val : "");
				}
			} else {
				free(key);
				sc_buf_free(&b);
				sc_error_set(err, SC_EXIT_USAGE, "%s:%d: invalid interpolation format: %.*s", name, line, (int)(q + 1 - p), p);
				return NULL;
			}
			free(key);
			p = q;
			continue;
		}
		sc_buf_putc(&b, '$');
	}
	return sc_buf_take(&b);
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
		bool literal = false;
		int value_line = line;
		if (s < eol && (*s == '"' || *s == '\'')) {
			char q = *s++;
			literal = q == '\'';
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
		char *value = sc_buf_take(&v);
		if (!literal) {
			char *iv = interpolate(value, strlen(value), out, name, value_line, 0, err);
			free(value);
			if (!iv) {
				free(key);
				return -1;
			}
			value = iv;
		}
		dotenv_add(out, key, value);
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
		c->origin = sc_xasprintf("%s %s%s%s%s", c->ps_discovered ? "discovered service config" : "powersync config",
					 c->ps_path ? c->ps_path : "", c->ps_where[id] ? " (" : "",
					 c->ps_where[id] ? c->ps_where[id] : "", c->ps_where[id] ? ")" : "");
	}
	if (origin)
		*origin = c->origin ? c->origin : "default";
	return v;
}
