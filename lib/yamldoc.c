#include "yamldoc.h"

#include <stdlib.h>
#include <string.h>

int sc_yaml_load(sc_yaml *y, const char *text, size_t len, const char *name, sc_error *err)
{
	memset(y, 0, sizeof *y);
	yaml_parser_t parser;
	if (!yaml_parser_initialize(&parser)) {
		sc_error_set(err, SC_EXIT_FAILED, "%s: cannot initialise the YAML parser", name);
		return -1;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
	if (!yaml_parser_load(&parser, &y->doc)) {
		const char *what = parser.problem ? parser.problem : "malformed YAML";
		if (parser.error == YAML_READER_ERROR) {
			/* Encoding errors carry a byte offset, not a mark. */
			sc_error_set(err, SC_EXIT_USAGE, "%s: byte %zu: %s (the file must be UTF-8 text)", name,
				     parser.problem_offset, what);
			yaml_parser_delete(&parser);
			return -1;
		}
		size_t line = parser.problem_mark.line + 1, col = parser.problem_mark.column + 1;
		if (parser.context)
			sc_error_set(err, SC_EXIT_USAGE, "%s:%zu:%zu: %s %s", name, line, col,
				     what, parser.context);
		else
			sc_error_set(err, SC_EXIT_USAGE, "%s:%zu:%zu: %s", name, line, col, what);
		yaml_parser_delete(&parser);
		return -1;
	}
	yaml_parser_delete(&parser);
	/* A "\0" escape puts a NUL inside a scalar, and everything reading the
	 * document takes scalars as C strings: cut there, "k1\0x" would read
	 * as "k1". The service keeps the whole string; syncctl refuses it. */
	for (yaml_node_t *n = y->doc.nodes.start; n < y->doc.nodes.top; n++)
		if (n->type == YAML_SCALAR_NODE && strlen((const char *)n->data.scalar.value) != n->data.scalar.length) {
			sc_error_set(err, SC_EXIT_USAGE, "%s:%zu:%zu: a NUL character (\\0) in a value: not supported", name,
				     n->start_mark.line + 1, n->start_mark.column + 1);
			yaml_document_delete(&y->doc);
			return -1;
		}
	y->loaded = true;
	return 0;
}

void sc_yaml_free(sc_yaml *y)
{
	if (y->loaded)
		yaml_document_delete(&y->doc);
	y->loaded = false;
}

yaml_node_t *sc_yaml_root(sc_yaml *y)
{
	return y->loaded ? yaml_document_get_root_node(&y->doc) : NULL;
}

const char *sc_yaml_scalar(yaml_node_t *n)
{
	if (!n || n->type != YAML_SCALAR_NODE)
		return NULL;
	return (const char *)n->data.scalar.value;
}

yaml_node_t *sc_yaml_get(sc_yaml *y, yaml_node_t *map, const char *key)
{
	if (!map || map->type != YAML_MAPPING_NODE)
		return NULL;
	for (yaml_node_pair_t *p = map->data.mapping.pairs.start;
	     p < map->data.mapping.pairs.top; p++) {
		const char *k = sc_yaml_scalar(yaml_document_get_node(&y->doc, p->key));
		if (k && strcmp(k, key) == 0)
			return yaml_document_get_node(&y->doc, p->value);
	}
	return NULL;
}

size_t sc_yaml_len(yaml_node_t *seq)
{
	if (!seq || seq->type != YAML_SEQUENCE_NODE)
		return 0;
	return (size_t)(seq->data.sequence.items.top - seq->data.sequence.items.start);
}

yaml_node_t *sc_yaml_item(sc_yaml *y, yaml_node_t *seq, size_t i)
{
	if (i >= sc_yaml_len(seq))
		return NULL;
	return yaml_document_get_node(&y->doc, seq->data.sequence.items.start[i]);
}

yaml_node_t *sc_yaml_path(sc_yaml *y, yaml_node_t *from, const char *path)
{
	char key[128];
	yaml_node_t *n = from;
	while (n && *path) {
		size_t len = strcspn(path, ".");
		if (len >= sizeof key)
			return NULL;
		memcpy(key, path, len);
		key[len] = '\0';
		n = sc_yaml_get(y, n, key);
		path += len;
		if (*path == '.')
			path++;
	}
	return n;
}

static bool plain_number(const char *s)
{
	/* [-+]? ( digits ( . digits? )? | . digits ) ( [eE] [-+]? digits )? */
	const char *p = s;
	if (*p == '-' || *p == '+')
		p++;
	bool digits = false;
	while (*p >= '0' && *p <= '9') {
		p++;
		digits = true;
	}
	if (*p == '.') {
		p++;
		while (*p >= '0' && *p <= '9') {
			p++;
			digits = true;
		}
	}
	if (!digits)
		return false;
	if (*p == 'e' || *p == 'E') {
		p++;
		if (*p == '-' || *p == '+')
			p++;
		if (!(*p >= '0' && *p <= '9'))
			return false;
		while (*p >= '0' && *p <= '9')
			p++;
	}
	return *p == '\0';
}

static cJSON *to_json(sc_yaml *y, yaml_node_t *n, int depth)
{
	if (!n || depth > 64)
		return NULL;
	if (n->type == YAML_SCALAR_NODE) {
		const char *v = (const char *)n->data.scalar.value;
		/* libyaml gives untagged scalars the str tag: the style decides. */
		if (n->data.scalar.style == YAML_PLAIN_SCALAR_STYLE) {
			if (strcmp(v, "null") == 0 || strcmp(v, "~") == 0 || !*v || strcmp(v, "Null") == 0 || strcmp(v, "NULL") == 0)
				return cJSON_CreateNull();
			if (strcmp(v, "true") == 0 || strcmp(v, "True") == 0 || strcmp(v, "TRUE") == 0)
				return cJSON_CreateTrue();
			if (strcmp(v, "false") == 0 || strcmp(v, "False") == 0 || strcmp(v, "FALSE") == 0)
				return cJSON_CreateFalse();
			if (plain_number(v))
				return cJSON_CreateNumber(strtod(v, NULL));
		}
		return cJSON_CreateString(v);
	}
	if (n->type == YAML_SEQUENCE_NODE) {
		cJSON *a = cJSON_CreateArray();
		for (yaml_node_item_t *i = n->data.sequence.items.start; i < n->data.sequence.items.top; i++) {
			cJSON *v = to_json(y, yaml_document_get_node(&y->doc, *i), depth + 1);
			if (!v) {
				cJSON_Delete(a);
				return NULL;
			}
			cJSON_AddItemToArray(a, v);
		}
		return a;
	}
	if (n->type == YAML_MAPPING_NODE) {
		cJSON *o = cJSON_CreateObject();
		for (yaml_node_pair_t *p = n->data.mapping.pairs.start; p < n->data.mapping.pairs.top; p++) {
			const char *k = sc_yaml_scalar(yaml_document_get_node(&y->doc, p->key));
			cJSON *v = to_json(y, yaml_document_get_node(&y->doc, p->value), depth + 1);
			if (!k || !v) {
				cJSON_Delete(v);
				cJSON_Delete(o);
				return NULL;
			}
			cJSON_AddItemToObject(o, k, v);
		}
		return o;
	}
	return NULL;
}

cJSON *sc_yaml_to_json(sc_yaml *y, yaml_node_t *n)
{
	return to_json(y, n, 0);
}
