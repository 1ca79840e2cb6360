/* libFuzzer target for keys from outside: every input goes through each
 * reader, as a document can reach any of them:
 *   sc_keyset_from_jwks   a JWKS from a file and from a jwks_uri (oct keys
 *                         and keys not for signatures skipped there)
 *   sc_key_from_private_jwk   a private JWK (RSA with or without CRT
 *                         members, EC, OKP, oct)
 *   sc_token_key_from_text    POWERSYNC_PRIVATE_KEY: PEM, or the base64 of
 *                         a private JWK
 * and every key read is exported again (public JWK, thumbprint, private
 * PEM). Nothing may crash, leak or hang, whatever the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/jose.h"
#include "../../lib/token.h"

static void exercise(const sc_key *k)
{
	if (!k->pkey)
		return;
	cJSON_Delete(sc_key_public_jwk(k));
	free(sc_key_thumbprint(k));
	free(sc_key_private_pem(k));
	(void)sc_key_default_alg(k);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *in = (const char *)data;
	sc_error err;
	for (int from_uri = 0; from_uri < 2; from_uri++) {
		sc_keyset ks;
		if (sc_keyset_from_jwks(in, size, from_uri, "fuzz", &ks, &err) == 0) {
			for (size_t i = 0; i < ks.n; i++)
				exercise(&ks.keys[i]);
			sc_keyset_free(&ks);
		}
	}
	sc_key k;
	if (sc_key_from_private_jwk(in, size, "fuzz", &k, &err) == 0) {
		exercise(&k);
		sc_key_free(&k);
	}
	/* An environment variable's value: a C string. */
	char *text = malloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (sc_token_key_from_text(text, "POWERSYNC_PRIVATE_KEY", &k, &err) == 0) {
		exercise(&k);
		sc_key_free(&k);
	}
	free(text);
	return 0;
}
