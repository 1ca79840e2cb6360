/* libFuzzer target for the token and JWKS parsers: the first byte picks
 * the parser, the rest is its input. Nothing may crash, leak or read out of
 * bounds, whatever the bytes. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../../lib/jose.h"

static sc_keyset keys;

static void setup(void)
{
	static const char jwks[] =
		"{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"
		"{\"kty\":\"EC\",\"kid\":\"ec\",\"crv\":\"P-256\",\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
		"\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"},"
		"{\"kty\":\"oct\",\"kid\":\"hs\",\"k\":\"c2VjcmV0\"}]}";
	sc_error err;
	if (sc_keyset_from_jwks(jwks, strlen(jwks), false, "fuzz", &keys, &err) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (!keys.n)
		setup();
	if (size < 1)
		return 0;
	const char *in = (const char *)data + 1;
	size_t len = size - 1;
	switch (data[0] % 4) {
	case 0: {
		char *aud[] = { "p" };
		sc_verify_opts o = { aud, 1, "iss", 60, 86400, 1800000000LL };
		sc_jwt_result r;
		sc_jwt_verify(in, len, &keys, &o, &r);
		cJSON *j = sc_jwt_result_json(&r);
		cJSON_Delete(j);
		sc_jwt_result_free(&r);
		break;
	}
	case 1: {
		sc_keyset ks;
		sc_error err;
		if (sc_keyset_from_jwks(in, len, data[0] & 4, "fuzz", &ks, &err) == 0) {
			for (size_t i = 0; i < ks.n; i++) {
				cJSON *j = ks.keys[i].pkey ? sc_key_public_jwk(&ks.keys[i]) : NULL;
				cJSON_Delete(j);
			}
			sc_keyset_free(&ks);
		}
		break;
	}
	case 2: {
		cJSON *h, *c;
		sc_error err;
		if (sc_jwt_decode(in, len, &h, &c, &err) == 0) {
			cJSON_Delete(h);
			cJSON_Delete(c);
		}
		break;
	}
	case 3: {
		size_t n;
		unsigned char *b = sc_b64url_decode(in, len, &n);
		if (b) {
			char *e = sc_b64url_encode(b, n);
			/* Strict decoding: what decodes re-encodes to itself. */
			if (strlen(e) != len || memcmp(e, in, len) != 0)
				abort();
			free(e);
			free(b);
		}
		break;
	}
	}
	return 0;
}
