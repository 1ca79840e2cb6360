/* libFuzzer target for the sync rules front end: YAML (libyaml) and every
 * query (libpg_query) through the checks, the offset maps and the
 * renderers. Nothing may crash, leak or read out of bounds. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/rules.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	sc_rules_result r;
	sc_error err;
	if (sc_rules_validate(text, size, "fuzz.yaml", &r, &err) == 0) {
		char *s = sc_rules_render(&r, "fuzz.yaml", false);
		free(s);
		cJSON *j = sc_rules_json(&r);
		cJSON_Delete(j);
	}
	sc_rules_result_free(&r);
	free(text);
	return 0;
}
