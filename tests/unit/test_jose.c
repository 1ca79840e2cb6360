/* Unit tests: base64url strictness, JWKS import, thumbprints, sign/verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "../../lib/jose.h"
#include "../../lib/json.h"

static void b64url_round_trips_and_is_strict(void **state)
{
	(void)state;
	const char *in = "any carnal pleas";
	char *e = sc_b64url_encode(in, strlen(in));
	assert_string_equal(e, "YW55IGNhcm5hbCBwbGVhcw");
	size_t n;
	unsigned char *d = sc_b64url_decode(e, strlen(e), &n);
	assert_int_equal(n, strlen(in));
	assert_memory_equal(d, in, n);
	free(d);
	free(e);
	assert_null(sc_b64url_decode("YW55IGNhcm5hbCBwbGVhcw==", 24, &n)); /* padding */
	assert_null(sc_b64url_decode("YW+5", 4, &n));                      /* base64, not url */
	assert_null(sc_b64url_decode("Y", 1, &n));                         /* impossible length */
	assert_null(sc_b64url_decode("YR", 2, &n));                        /* non-zero spare bits */
	d = sc_b64url_decode("", 0, &n);
	assert_non_null(d);
	assert_int_equal(n, 0);
	free(d);
}

static void rfc8037_thumbprint(void **state)
{
	(void)state;
	const char *jwks = "{\"keys\":[{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";
	sc_keyset ks;
	sc_error err;
	assert_int_equal(sc_keyset_from_jwks(jwks, strlen(jwks), false, "t", &ks, &err), 0);
	assert_int_equal(ks.n, 1);
	char *t = sc_key_thumbprint(&ks.keys[0]);
	assert_string_equal(t, "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k");
	free(t);
	sc_keyset_free(&ks);
}

static void jwks_uri_skips_oct_and_non_signature_keys(void **state)
{
	(void)state;
	const char *jwks = "{\"keys\":[{\"kty\":\"oct\",\"k\":\"c2VjcmV0\"},"
			   "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"use\":\"enc\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"},"
			   "{\"kty\":\"OKP\",\"crv\":\"Ed25519\",\"kid\":\"ok\",\"x\":\"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo\"}]}";
	sc_keyset ks;
	sc_error err;
	assert_int_equal(sc_keyset_from_jwks(jwks, strlen(jwks), true, "t", &ks, &err), 0);
	assert_int_equal(ks.n, 1);
	assert_int_equal(ks.skipped, 2);
	assert_string_equal(ks.keys[0].kid, "ok");
	sc_keyset_free(&ks);
	/* From a file, the oct key is kept (inline keys may be secrets). */
	assert_int_equal(sc_keyset_from_jwks(jwks, strlen(jwks), false, "t", &ks, &err), 0);
	assert_int_equal(ks.n, 2);
	sc_keyset_free(&ks);
}

/* Found by tests/fuzz/fuzz_jwks.c: an EC private JWK whose public half
 * imported but whose d is missing or not base64url leaked the public key
 * (LeakSanitizer fails this test without the fix). */
static void ec_private_jwk_without_a_valid_d_is_refused_whole(void **state)
{
	(void)state;
	const char *pub = "{\"kty\":\"EC\",\"crv\":\"P-256\",\"kid\":\"ec\","
			  "\"x\":\"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU\","
			  "\"y\":\"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0\"";
	const char *ds[] = { "}", ",\"d\":\"jpsQnnGQ\xd9\xd9mL-YBIffH1136cLSp2iJDbyTTYlmjuOFtqA\"}", ",\"d\":\"\"}", ",\"d\":7}" };
	for (size_t i = 0; i < sizeof ds / sizeof ds[0]; i++) {
		char jwk[512];
		snprintf(jwk, sizeof jwk, "%s%s", pub, ds[i]);
		sc_key k;
		sc_error err;
		assert_int_equal(sc_key_from_private_jwk(jwk, strlen(jwk), "POWERSYNC_PRIVATE_KEY", &k, &err), -1);
		assert_int_equal(err.code, SC_EXIT_USAGE);
		assert_string_equal(err.message, "POWERSYNC_PRIVATE_KEY: the JSON Web Key lacks d");
		assert_null(k.pkey);
	}
	/* With its d, the same key imports. */
	char jwk[512];
	snprintf(jwk, sizeof jwk, "%s,\"d\":\"jpsQnnGQmL-YBIffH1136cLSp2iJDbyTTYlmjuOFtqA\"}", pub);
	sc_key k;
	sc_error err;
	assert_int_equal(sc_key_from_private_jwk(jwk, strlen(jwk), "POWERSYNC_PRIVATE_KEY", &k, &err), 0);
	assert_true(k.has_private);
	assert_string_equal(k.kid, "ec");
	sc_key_free(&k);
}

static void key_pins_the_algorithm_family(void **state)
{
	(void)state;
	sc_key k;
	sc_error err;
	assert_int_equal(sc_key_generate(SC_ALG_ES384, 0, &k, &err), 0);
	assert_true(sc_key_accepts(&k, SC_ALG_ES384));
	assert_false(sc_key_accepts(&k, SC_ALG_ES256));
	assert_false(sc_key_accepts(&k, SC_ALG_HS384));
	k.alg = SC_ALG_UNKNOWN;
	assert_true(sc_key_accepts(&k, SC_ALG_ES384));
	assert_false(sc_key_accepts(&k, SC_ALG_RS256));
	sc_key_free(&k);
}

static void signed_token_verifies_and_tampering_fails(void **state)
{
	(void)state;
	sc_key k;
	sc_error err;
	assert_int_equal(sc_key_generate(SC_ALG_EDDSA, 0, &k, &err), 0);
	k.kid = strdup("k1");
	cJSON *claims = cJSON_Parse("{\"sub\":\"u\",\"aud\":\"p\",\"iat\":1000,\"exp\":1300}");
	char *t = sc_jwt_sign(SC_ALG_EDDSA, &k, "k1", claims, &err);
	assert_non_null(t);
	sc_keyset ks = { 0 };
	sc_keyset_add(&ks, &k);
	char *aud[] = { "p" };
	sc_verify_opts o = { aud, 1, NULL, 60, 86400, 1100 };
	sc_jwt_result r;
	sc_jwt_verify(t, strlen(t), &ks, &o, &r);
	assert_true(r.valid);
	assert_string_equal(r.kid, "k1");
	sc_jwt_result_free(&r);
	t[strlen(t) - 3] = t[strlen(t) - 3] == 'A' ? 'B' : 'A';
	sc_jwt_verify(t, strlen(t), &ks, &o, &r);
	assert_false(r.valid);
	assert_false(r.signature_valid);
	sc_jwt_result_free(&r);
	free(t);
	cJSON_Delete(claims);
	sc_keyset_free(&ks);
}

/* sub as the service makes a user id of it: BaseJwtPayload.userIdJson
 * (powersync-service packages/sync-rules/src/types.ts, jsonValueToSqlite in
 * utils.ts) then JwtPayload.userIdString; the expected values of true and of
 * an object are those of service-core test/src/auth.test.ts "KeyStore
 * normalizes sub claim values". */
static void user_id_is_what_the_service_makes_of_sub(void **state)
{
	(void)state;
	static const struct { const char *json, *want; } cases[] = {
		{ "\"user-1\"", "user-1" },
		{ "true", "1" },
		{ "false", "0" },
		{ "null", "null" },
		{ "{\"id\":1,\"name\":\"test\"}", "{\"id\":1.0,\"name\":\"test\"}" },
		{ "42", "42" },
		{ "-7", "-7" },
		{ "1.5", "1.5" },
		{ "0.1", "0.1" },
		{ "-0", "0" },
		{ "1e21", "1e+21" },
		{ "1e-7", "1e-7" },
		{ "0.000001", "0.000001" },
		{ "9007199254740993", "9007199254740992" },
		{ "123456789012345678901", "123456789012345680000" },
		/* JavaScript's key order: array indices first, ascending. */
		{ "{\"b\":1,\"2\":2,\"1\":[3,\"x\"]}", "{\"1\":[3.0,\"x\"],\"2\":2.0,\"b\":1.0}" },
		{ "\"u\\u0000x\"", "u" SC_NUL_MARK "x" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char why[128];
		cJSON *j = sc_json_parse(cases[i].json, strlen(cases[i].json), why, sizeof why);
		assert_non_null(j);
		char *u = sc_jwt_user_id(j);
		assert_string_equal(u, cases[i].want);
		free(u);
		cJSON_Delete(j);
	}
	assert_null(sc_jwt_user_id(NULL));
}

/* A JWK member with an escaped NUL is refused with the member named; an alg
 * naming no algorithm the service takes (RFC 7517 A.3's A128KW) too. */
static void jwks_refuses_nul_members_and_foreign_algs(void **state)
{
	(void)state;
	static const struct { const char *jwks, *why; } cases[] = {
		{ "{\"keys\":[{\"kty\":\"oct\",\"kid\":\"k1\\u0000x\",\"k\":\"c2VjcmV0\"}]}", "t: keys[0] has a \"kid\" member holding a NUL character (\"k1\\u0000x\")" },
		{ "{\"keys\":[{\"kty\":\"oct\",\"key_ops\":[\"sign\",\"verify\\u0000\"],\"k\":\"c2VjcmV0\"}]}", "t: keys[0] has a \"key_ops\" member holding a NUL character (\"verify\\u0000\")" },
		{ "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"A128KW\",\"k\":\"c2VjcmV0\"}]}", "t: keys[0] has alg \"A128KW\", which is no algorithm the service verifies tokens with" },
		{ "{\"keys\":[{\"kty\":\"oct\",\"alg\":7,\"k\":\"c2VjcmV0\"}]}", "t: keys[0] has alg 7, which is no algorithm" },
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		sc_keyset ks;
		sc_error err;
		sc_error_clear(&err);
		assert_int_equal(sc_keyset_from_jwks(cases[i].jwks, strlen(cases[i].jwks), false, "t", &ks, &err), -1);
		assert_int_equal(err.code, 2);
		if (strncmp(err.message, cases[i].why, strlen(cases[i].why)) != 0)
			fail_msg("case %zu: %s", i, err.message);
	}
	/* A falsy alg is no alg, as in KeySpec.matchesAlgorithm. */
	const char *ok = "{\"keys\":[{\"kty\":\"oct\",\"alg\":\"\",\"k\":\"c2VjcmV0\"}]}";
	sc_keyset ks;
	sc_error err;
	assert_int_equal(sc_keyset_from_jwks(ok, strlen(ok), false, "t", &ks, &err), 0);
	assert_true(sc_key_accepts(&ks.keys[0], SC_ALG_HS256));
	sc_keyset_free(&ks);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(b64url_round_trips_and_is_strict),
		cmocka_unit_test(rfc8037_thumbprint),
		cmocka_unit_test(jwks_uri_skips_oct_and_non_signature_keys),
		cmocka_unit_test(ec_private_jwk_without_a_valid_d_is_refused_whole),
		cmocka_unit_test(key_pins_the_algorithm_family),
		cmocka_unit_test(signed_token_verifies_and_tampering_fails),
		cmocka_unit_test(user_id_is_what_the_service_makes_of_sub),
		cmocka_unit_test(jwks_refuses_nul_members_and_foreign_algs),
	};
	return cmocka_run_group_tests_name("jose", tests, NULL, NULL);
}
