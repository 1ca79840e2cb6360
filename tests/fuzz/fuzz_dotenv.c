/* libFuzzer target for the dotenv reader (--env-file, lib/config.c
 * sc_dotenv_parse): KEY=VALUE lines, export, comments, both quotes across
 * lines, and docker compose's interpolation ($VAR, ${VAR:-d} nested,
 * ${VAR:?msg}, $$) against a few variables set here and earlier lines.
 * Nothing may crash, leak or hang, whatever the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/config.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static bool ready;
	if (!ready) {
		setenv("FUZZ_SET", "from the environment", 1);
		setenv("FUZZ_EMPTY", "", 1);
		setenv("FUZZ_DOLLAR", "a$b${c}", 1);
		ready = true;
	}
	/* The file's text as sc_config_load_env_file hands it over: read up to
	 * its first NUL. */
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	sc_dotenv d = { 0 };
	sc_error err;
	if (sc_dotenv_parse(&d, text, "fuzz.env", &err) == 0) {
		for (size_t i = 0; i < d.n; i++)
			if (sc_dotenv_get(&d, d.items[i].key) == NULL)
				abort(); /* every key read back */
	}
	sc_dotenv_free(&d);
	free(text);
	return 0;
}
