/* A loaded YAML document (libyaml's document API) with line/column marks,
 * plus the few lookups the config and rules readers need. Aliases are
 * references to one node, so nothing here expands them. */
#ifndef SC_YAMLDOC_H
#define SC_YAMLDOC_H

#include <stdbool.h>
#include <stddef.h>

#include <yaml.h>

#include "error.h"

typedef struct sc_yaml {
	yaml_document_t doc;
	bool loaded;
} sc_yaml;

/* Loads the first document. A parse error is exit 2, "NAME:LINE:COL: ...".
 * An empty input loads with no root. */
int sc_yaml_load(sc_yaml *y, const char *text, size_t len, const char *name, sc_error *err);
void sc_yaml_free(sc_yaml *y);
yaml_node_t *sc_yaml_root(sc_yaml *y);
/* Value of `key` in a mapping node, or NULL. */
yaml_node_t *sc_yaml_get(sc_yaml *y, yaml_node_t *map, const char *key);
/* i-th item of a sequence node, or NULL. */
yaml_node_t *sc_yaml_item(sc_yaml *y, yaml_node_t *seq, size_t i);
size_t sc_yaml_len(yaml_node_t *seq);
/* The text of a scalar node, or NULL for any other node. */
const char *sc_yaml_scalar(yaml_node_t *n);
/* Walks a dotted path of mapping keys ("replication.connections"). */
yaml_node_t *sc_yaml_path(sc_yaml *y, yaml_node_t *from, const char *path);

/* A node as JSON, as a YAML 1.2 core-schema loader (the service's `yaml`
 * package) would type it: mappings, sequences, and plain scalars that are
 * null/true/false or numbers typed; everything else a string. Nesting
 * deeper than 64 gives NULL. Aliases are followed. */
#include <cjson/cJSON.h>
cJSON *sc_yaml_to_json(sc_yaml *y, yaml_node_t *n);

#endif
