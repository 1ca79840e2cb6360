#!/usr/bin/env bats
# syncctl token: keys, JWKS, minting and verification, interoperable with
# the npm package jose and Debian's python3-jwcrypto, and safe against the
# known JWT attacks.

load helpers

ALGS="RS256 RS384 RS512 ES256 ES384 ES512 EdDSA"
PYTHON=/usr/bin/python3
JWCRYPTO="$ROOT/tests/conformance/jwcrypto_peer.py"

setup_file() {
	export PEERS=$("$ROOT/tests/lib/npm-peers")
	export K=$BATS_FILE_TMPDIR/keys
	mkdir -p "$K"
	for alg in $ALGS; do
		"$SYNCCTL" token keygen --alg "$alg" --kid "sc-$alg" --out "$K/$alg.pem" >"$K/$alg.jwks" 2>/dev/null
		node "$PEERS/jose_peer.mjs" gen "$alg" "$K"
	done
	printf 'a-shared-secret-of-some-length\n' >"$K/secret"
	chmod 600 "$K/secret"
}

setup() {
	W=$BATS_TEST_TMPDIR
	NOW=$(date +%s)
}

jose() { node "$PEERS/jose_peer.mjs" "$@"; }

# mint_rs [options]: an RS256 token from the test key, kid sc-RS256, aud p.
mint_rs() {
	"$SYNCCTL" token mint --key "$K/RS256.pem" --kid sc-RS256 --sub user-1 --aud p "$@"
}

# error_codes: the codes of the errors in $output (verify --json).
messages() {
	json_get "' | '.join(e['message'] for e in d['errors'])"
}

@test "keygen writes the private key 0600 and prints a public JWKS with the documented members" {
	sc token keygen --alg ES256 --out "$W/k.pem"
	expect_status 0
	[ "$(stat -c %a "$W/k.pem")" = 600 ]
	[ "$(json_get "sorted(d['keys'][0])")" = '["alg", "crv", "kid", "kty", "use", "x", "y"]' ]
	[ "$(json_get "d['keys'][0]['use']")" = sig ]
	sc token keygen --alg EdDSA --out "$W/e.pem"
	[ "$(json_get "sorted(d['keys'][0])")" = '["alg", "crv", "kid", "kty", "use", "x"]' ]
	[ "$(json_get "d['keys'][0]['crv']")" = Ed25519 ]
	sc token keygen --out "$W/r.pem"
	[ "$(json_get "sorted(d['keys'][0])")" = '["alg", "e", "kid", "kty", "n", "use"]' ]
	[ "$(json_get "d['keys'][0]['alg']")" = RS256 ]
	[ "$(openssl pkey -in "$W/r.pem" -noout -text | head -1)" = "Private-Key: (2048 bit, 2 primes)" ]
}

@test "keygen refuses to overwrite a key without --force, and replaces it with --force" {
	sc token keygen --alg EdDSA --out "$W/k.pem"
	before=$(sha256sum "$W/k.pem")
	sc token keygen --alg EdDSA --out "$W/k.pem"
	expect_status 2
	[[ "$stderr" == *"exists; refusing to overwrite a key without --force"* ]]
	[ "$(sha256sum "$W/k.pem")" = "$before" ]
	sc token keygen --alg EdDSA --out "$W/k.pem" --force
	expect_status 0
	[ "$(sha256sum "$W/k.pem")" != "$before" ]
	[ "$(stat -c %a "$W/k.pem")" = 600 ]
}

@test "the default kid is the RFC 7638 thumbprint (as jwcrypto computes it)" {
	for alg in RS256 ES384 EdDSA; do
		sc token keygen --alg "$alg" --out "$W/$alg.pem"
		kid=$(json_get "d['keys'][0]['kid']")
		want=$($PYTHON -c 'import sys; from jwcrypto import jwk; print(jwk.JWK.from_pem(open(sys.argv[1],"rb").read()).thumbprint())' "$W/$alg.pem")
		[ "$kid" = "$want" ]
	done
}

@test "token jwks: several keys, private or public PEM, never a private parameter" {
	openssl pkey -in "$K/ES256.pem" -pubout -out "$W/es-pub.pem"
	sc token jwks --key "$K/RS256.pem" --key "$W/es-pub.pem" --key "$K/EdDSA.pem"
	expect_status 0
	[ "$(json_get "[k['kty'] for k in d['keys']]")" = '["RSA", "EC", "OKP"]' ]
	[ "$(json_get "sorted(set(m for k in d['keys'] for m in k) & {'d','p','q','dp','dq','qi','k'})")" = "[]" ]
	sc token jwks --key "$K/RS256.pem" --key "$K/EdDSA.pem" --kid one
	expect_status 2
}

@test "conformance: tokens minted here verify with jose and jwcrypto, for every algorithm" {
	for alg in $ALGS; do
		token=$("$SYNCCTL" token mint --key "$K/$alg.pem" --alg "$alg" --kid "sc-$alg" --sub "user-$alg" --aud p)
		run jose verify "$token" "$K/$alg.jwks" p
		[ "$output" = "ok user-$alg" ] || { echo "jose: $alg: exit $status: $output (token: $token)" >&2; false; }
		run $PYTHON "$JWCRYPTO" verify "$token" "$K/$alg.jwks" p
		[ "$output" = "ok user-$alg" ] || { echo "jwcrypto: $alg: $output" >&2; false; }
	done
}

@test "conformance: tokens jose mints verify here with jose's JWKS, for every algorithm" {
	for alg in $ALGS; do
		token=$(jose sign "$alg" "$K" "jose-user" p)
		sc token verify "$token" --jwks "$K/jose-$alg.jwks" --aud p --json
		[ "$(json_get "d['valid']")" = true ] || { echo "$alg: $output" >&2; false; }
		[ "$(json_get "d['kid']")" = "jose-$alg" ]
	done
}

@test "conformance: tokens jwcrypto mints, and JWKS it writes, are accepted here" {
	for alg in RS256 ES256 ES512 EdDSA; do
		token=$($PYTHON "$JWCRYPTO" sign "$alg" "$K/$alg.pem" py-kid py-user p)
		$PYTHON "$JWCRYPTO" jwks "$K/$alg.pem" py-kid "$alg" >"$W/py.jwks"
		sc token verify "$token" --jwks "$W/py.jwks" --aud p --json
		[ "$(json_get "d['valid']")" = true ] || { echo "$alg: $output" >&2; false; }
	done
}

@test "conformance: HS256/384/512 with a shared secret, both ways with jose" {
	for alg in HS256 HS384 HS512; do
		token=$(jose hs-sign "$alg" "$K/secret" hs-user p)
		sc token verify "$token" --secret-file "$K/secret" --aud p
		expect_status 0
		token=$("$SYNCCTL" token mint --secret-file "$K/secret" --alg "$alg" --sub hs-user --aud p)
		run jose hs-verify "$alg" "$token" "$K/secret" p
		[ "$output" = "ok hs-user" ]
	done
}

@test "published vectors: RFC 7515 A.2 (RS256), A.3 (ES256) and RFC 8037 A.4 (Ed25519) signatures verify" {
	cat >"$W/rfc.jwks" <<-'JSON'
	{"keys":[
	 {"kty":"RSA","n":"ofgWCuLjybRlzo0tZWJjNiuSfb4p4fAkd_wWJcyQoTbji9k0l8W26mPddxHmfHQp-Vaw-4qPCJrcS2mJPMEzP1Pt0Bm4d4QlL-yRT-SFd2lZS-pCgNMsD1W_YpRPEwOWvG6b32690r2jZ47soMZo9wGzjb_7OMg0LOL-bSf63kpaSHSXndS5z5rexMdbBYUsLA9e-KXBdQOS-UTo7WTBEMa2R2CapHg665xsmtdVMTBQY4uDZlxvb3qCo5ZwKh9kG4LT6_I5IhlJH7aGhyxXFvUK-DWNmoudF8NAco9_h9iaGNj8q2ethFkMLs91kzk2PAcDTW9gb54h4FRWyuXpoQ","e":"AQAB"},
	 {"kty":"EC","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"},
	 {"kty":"OKP","crv":"Ed25519","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}
	]}
	JSON
	rs="eyJhbGciOiJSUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.cC4hiUPoj9Eetdgtv3hF80EGrhuB__dzERat0XF9g2VtQgr9PJbu3XOiZj5RZmh7AAuHIm4Bh-0Qc_lF5YKt_O8W2Fp5jujGbds9uJdbF9CUAr7t1dnZcAcQjbKBYNX4BAynRFdiuB--f_nZLgrnbyTyWzO75vRK5h6xBArLIARNPvkSjtQBMHlb1L07Qe7K0GarZRmB_eSN9383LcOLn6_dO--xi12jzDwusC-eOkHWEsqtFZESc6BfI7noOPqvhJ1phCnvWh6IeYI2w9QOYEUipUTI8np6LbgGY9Fs98rqVt5AXLIhWkWywlVmtVrBp0igcN_IoypGlUPQGe77Rw"
	es="eyJhbGciOiJFUzI1NiJ9.eyJpc3MiOiJqb2UiLA0KICJleHAiOjEzMDA4MTkzODAsDQogImh0dHA6Ly9leGFtcGxlLmNvbS9pc19yb290Ijp0cnVlfQ.DtEhU3ljbEg8L38VWAfUAqOyKAM6-Xx-F4GawxaepmXFCgfTjDxw5djxLa8ISlSApmWQxfKTUJqPP3-Kg6NU1Q"
	ed="eyJhbGciOiJFZERTQSJ9.RXhhbXBsZSBvZiBFZDI1NTE5IHNpZ25pbmc.hgyY0il_MGCjP0JzlnLWG1PPOt7-09PGcvMg3AIbQR6dWbhijcNR4ki4iylGjg5BhVsPt9g7sVvpAr_MuM0KAg"
	# The tokens have no kid: the keys without kid are tried.
	for t in "$rs" "$es" "$ed"; do
		sc token verify "$t" --jwks "$W/rfc.jwks" --aud joe --at 1300819000 --json
		[ "$(json_get "d['signature_valid']")" = true ] || { echo "$output" >&2; false; }
		# Not valid JWTs for the service (no sub, no aud; A.4 has no claims at all).
		expect_status 1
	done
	# One bit off and the signature fails.
	sc token verify "${es%Q}A" --jwks "$W/rfc.jwks" --aud joe --at 1300819000 --json
	[ "$(json_get "d['signature_valid']")" = false ]
}

@test "a valid token: exit 0, one line naming sub, kid, alg and expiry" {
	token=$(mint_rs)
	sc token verify "$token" --jwks "$K/RS256.jwks" --aud p
	expect_status 0
	[[ "$output" == "valid: sub user-1, kid sc-RS256, RS256, expires "*" (in "*" s)" ]]
	echo "$token" | { sc token verify - --jwks "$K/RS256.jwks" --aud p; expect_status 0; }
}

# expect_rejected REASON TOKEN [verify options]: exit 1 and the reason.
expect_rejected() {
	local reason=$1 token=$2
	shift 2
	sc token verify "$token" --json "$@"
	expect_status 1
	[ "$(json_get "d['valid']")" = false ]
	[[ "$(messages)" == *"$reason"* ]] || { echo "want '$reason' in: $(messages)" >&2; false; }
	# Never the full signature in what is printed.
	local sig=${token##*.}
	if [ ${#sig} -gt 16 ]; then [[ "$output$stderr" != *"$sig"* ]]; fi
}

@test "security: alg none is refused" {
	t=$("$ROOT/tests/lib/forge" '{"alg":"none"}' "{\"sub\":\"u\",\"aud\":\"p\",\"iat\":$NOW,\"exp\":$((NOW + 60))}" -)
	expect_rejected "Unsupported token algorithm none: unsigned tokens are never accepted" "$t" --jwks "$K/RS256.jwks" --aud p
}

@test "security: HS256 signed with the RSA public key (algorithm confusion) is refused" {
	openssl pkey -in "$K/RS256.pem" -pubout -out "$W/pub.pem"
	t=$("$SYNCCTL" token mint --secret-file "$W/pub.pem" --alg HS256 --kid sc-RS256 --sub u --aud p 2>/dev/null)
	expect_rejected "Unexpected token algorithm HS256 (key sc-RS256: alg RS256, kty RSA)" "$t" --jwks "$K/RS256.jwks" --aud p
	# Also when the key is given as a PEM without alg: its kty pins RS*.
	expect_rejected "Could not find an appropriate key" "$t" --key "$W/pub.pem" --aud p
}

@test "security: a wrong signature, a truncated token, bad base64url, an extra segment" {
	t=$(mint_rs)
	sig=${t##*.}
	other=$(mint_rs --sub someone-else)
	expect_rejected "signature verification failed" "${t%.*}.${other##*.}" --jwks "$K/RS256.jwks" --aud p
	expect_rejected "signature verification failed" "${t%.*}.${sig:0:40}" --jwks "$K/RS256.jwks" --aud p
	expect_rejected "the payload is not base64url" "${t%%.*}.e*yJ.${sig}" --jwks "$K/RS256.jwks" --aud p
	expect_rejected "it has 4 parts (needs 3)" "$t.abc" --jwks "$K/RS256.jwks" --aud p
	expect_rejected "it has 2 parts (needs 3)" "${t%.*}" --jwks "$K/RS256.jwks" --aud p
}

@test "security: an unknown kid lists the kids it knows" {
	t=$(mint_rs --kid not-a-known-kid)
	expect_rejected "token kid: not-a-known-kid; known keys: sc-RS256" "$t" --jwks "$K/RS256.jwks" --aud p
}

@test "security: a key whose alg differs from the token's is refused" {
	sed 's/"alg":\t*"RS256"/"alg": "RS512"/' "$K/RS256.jwks" >"$W/rs512.jwks"
	grep -q RS512 "$W/rs512.jwks"
	expect_rejected "Unexpected token algorithm RS256 (key sc-RS256: alg RS512, kty RSA)" "$(mint_rs)" --jwks "$W/rs512.jwks" --aud p
}

@test "security: expired, nbf in the future, iat in the future beyond the leeway, lifetime over the max" {
	expect_rejected "JWT has expired" "$(mint_rs --at $((NOW - 1000)))" --jwks "$K/RS256.jwks" --aud p
	[ "$(json_get "[e['code'] for e in d['errors']]")" = '["PSYNC_S2103"]' ]
	# Within the 60 s leeway an expired token still passes.
	sc token verify "$(mint_rs --at $((NOW - 330)))" --jwks "$K/RS256.jwks" --aud p
	expect_status 0
	expect_rejected '"nbf" claim timestamp check failed' "$(mint_rs --claim-json nbf=$((NOW + 600)))" --jwks "$K/RS256.jwks" --aud p
	expect_rejected '"iat" claim timestamp check failed' "$(mint_rs --at $((NOW + 600)))" --jwks "$K/RS256.jwks" --aud p
	expect_rejected "Token must expire in a maximum of 86400 seconds, got 172800s" "$(mint_rs --ttl 2d --allow-long-ttl)" --jwks "$K/RS256.jwks" --aud p
	[ "$(json_get "[e['code'] for e in d['errors']]")" = '["PSYNC_S2104"]' ]
	expect_rejected "maximum of 600 seconds, got 3600s" "$(mint_rs --ttl 1h)" --jwks "$K/RS256.jwks" --aud p --max-lifetime 10m
}

@test "security: aud missing or wrong, iss wrong, sub missing, parameters not an object, crit" {
	expect_rejected 'JWT payload is missing a required claim "aud"' "$("$SYNCCTL" token mint --key "$K/RS256.pem" --kid sc-RS256 --sub u 2>/dev/null)" --jwks "$K/RS256.jwks" --aud p
	expect_rejected 'Unexpected "aud" claim value: "p" (this configuration allows ["q","r"])' "$(mint_rs)" --jwks "$K/RS256.jwks" --aud q --aud r
	[ "$(json_get "[e['code'] for e in d['errors']]")" = '["PSYNC_S2105"]' ]
	expect_rejected 'no audience is configured, so every token fails' "$(mint_rs)" --jwks "$K/RS256.jwks"
	expect_rejected 'unexpected "iss" claim value' "$(mint_rs --iss https://a.example)" --jwks "$K/RS256.jwks" --aud p --iss https://b.example
	t=$("$ROOT/tests/lib/forge" '{"alg":"RS256","kid":"sc-RS256"}' "{\"aud\":\"p\",\"iat\":$NOW,\"exp\":$((NOW + 60))}" "$K/RS256.pem")
	expect_rejected 'JWT payload is missing a required claim "sub"' "$t" --jwks "$K/RS256.jwks" --aud p
	[ "$(json_get "d['signature_valid']")" = true ]
	t=$("$ROOT/tests/lib/forge" '{"alg":"RS256","kid":"sc-RS256"}' "{\"sub\":\"u\",\"aud\":\"p\",\"iat\":$NOW,\"exp\":$((NOW + 60)),\"parameters\":[1,2]}" "$K/RS256.pem")
	expect_rejected "Payload parameters must be an object" "$t" --jwks "$K/RS256.jwks" --aud p
	t=$("$ROOT/tests/lib/forge" '{"alg":"RS256","kid":"sc-RS256","crit":["exp"]}' "{\"sub\":\"u\",\"aud\":\"p\",\"iat\":$NOW,\"exp\":$((NOW + 60))}" "$K/RS256.pem")
	expect_rejected "critical (crit) are not supported" "$t" --jwks "$K/RS256.jwks" --aud p
}

@test "security: every failure is reported at once" {
	t=$(mint_rs --at $((NOW - 5000)) --iss x)
	sc token verify "$t" --jwks "$K/RS256.jwks" --aud q --iss y --json
	expect_status 1
	[ "$(json_get "[e['code'] for e in d['errors']]")" = '["PSYNC_S2103", "PSYNC_S2105", "PSYNC_S2101"]' ]
}

@test "security: a 1 MB token is refused quickly (exit 1), also in --batch" {
	head -c 1048576 /dev/zero | tr '\0' 'a' >"$W/big"
	sc token verify - --jwks "$K/RS256.jwks" --aud p --json <"$W/big"
	expect_status 1
	[ "$(messages)" = "Token is not a well-formed JWT: it is 1048576 bytes long (the limit is 65536)" ]
	sc token verify --batch --jwks "$K/RS256.jwks" --aud p <"$W/big"
	expect_status 1
	[[ "$output" == *'"valid":false'* ]]
}

@test "security: a duplicated member in the header is refused" {
	t=$("$ROOT/tests/lib/forge" '{"alg":"RS256","kid":"sc-RS256","alg":"HS256"}' "{\"sub\":\"u\",\"aud\":\"p\",\"iat\":$NOW,\"exp\":$((NOW + 60))}" "$K/RS256.pem")
	expect_rejected "the header has a member twice" "$t" --jwks "$K/RS256.jwks" --aud p
}

@test "verify --batch: one JSON line per token, exit 1 when any is invalid" {
	{ mint_rs; mint_rs --sub user-2; mint_rs --kid nope; } >"$W/tokens"
	sc token verify --batch --jwks "$K/RS256.jwks" --aud p <"$W/tokens"
	expect_status 1
	[ "$(wc -l <<<"$output")" -eq 3 ]
	[ "$(sed -n 2p <<<"$output" | $PYTHON -c 'import json,sys; d=json.load(sys.stdin); print(d["line"], d["valid"], d["sub"])')" = "2 True user-2" ]
	[ "$(sed -n 3p <<<"$output" | $PYTHON -c 'import json,sys; print(json.load(sys.stdin)["valid"])')" = False ]
	head -2 "$W/tokens" | { sc token verify --batch --jwks "$K/RS256.jwks" --aud p; expect_status 0; }
}

@test "mint: claims, default 5 minute ttl, parameters object, --json fields" {
	sc token mint --key "$K/EdDSA.pem" --sub u7 --aud a1 --aud a2 --iss me --param org=acme --param role=admin \
		--claim team=blue --claim-json flags='{"beta":true}' --json --at 1800000000
	expect_status 0
	[ "$(json_get "d['user_id']")" = u7 ]
	[ "$(json_get "d['expires_at']")" = "2027-01-15T08:05:00Z" ]
	[ "$(json_get "d['powersync_url']")" = null ]
	t=$(json_get "d['token']")
	sc token decode "$t" --json --at 1800000000
	[ "$(json_get "d['claims']['exp'] - d['claims']['iat']")" = 300 ]
	[ "$(json_get "d['claims']['aud']")" = '["a1", "a2"]' ]
	[ "$(json_get "d['claims']['parameters']")" = '{"org": "acme", "role": "admin"}' ]
	[ "$(json_get "d['claims']['flags']")" = '{"beta": true}' ]
	[ "$(json_get "d['claims']['team']")" = blue ]
	[ "$(json_get "d['header']['alg']")" = EdDSA ]
}

@test "mint: a ttl over 24h is refused unless --allow-long-ttl; no aud warns" {
	sc token mint --key "$K/RS256.pem" --sub u --aud p --ttl 25h
	expect_status 2
	[[ "$stderr" == *"over 24h: the sync service rejects such tokens (PSYNC_S2104)"* ]]
	[ -z "$output" ]
	sc token mint --key "$K/RS256.pem" --sub u
	expect_status 0
	[[ "$stderr" == *"no --aud: the sync service rejects a token without an audience it accepts"* ]]
	sc token mint --key "$K/RS256.pem" --sub u --aud p --claim sub=evil
	expect_status 2
}

@test "mint: POWERSYNC_PRIVATE_KEY and POWERSYNC_KEY_ID from the environment; a loose key file warns" {
	POWERSYNC_PRIVATE_KEY=$(cat "$K/ES256.pem") POWERSYNC_KEY_ID=env-kid sc token mint --sub u --aud p
	expect_status 0
	sc token decode "$output" --json
	[ "$(json_get "d['header']['kid']")" = env-kid ]
	cp "$K/ES256.pem" "$W/loose.pem"
	chmod 644 "$W/loose.pem"
	sc token mint --key "$W/loose.pem" --sub u --aud p
	expect_status 0
	[[ "$stderr" == *"$W/loose.pem is readable by group or others"* ]]
	[[ "$stderr" != *PRIVATE* ]]
}

@test "unusable keys: a non-key file, a JWKS that is not JSON, exit 2 without key material" {
	printf 'not a key\n' >"$W/bad.pem"
	sc token mint --key "$W/bad.pem" --sub u --aud p
	expect_status 2
	[ "$stderr" = "syncctl token: error: key file $W/bad.pem is not a PEM private or public key" ]
	printf '{"keys": [' >"$W/bad.jwks"
	sc token verify "$(mint_rs)" --jwks "$W/bad.jwks" --aud p
	expect_status 2
	[[ "$stderr" == *"JWKS file $W/bad.jwks is not valid JSON"* ]]
	printf '{"keys":[{"kty":"EC","crv":"P-256","x":"AAAA","y":"AAAA"}]}' >"$W/bad2.jwks"
	sc token verify "$(mint_rs)" --jwks "$W/bad2.jwks" --aud p
	expect_status 2
	[[ "$stderr" == *"keys[0] lacks a valid x or y for its curve"* ]]
}

@test "decode: header and claims marked unverified, times in UTC, remaining lifetime" {
	t=$(mint_rs --at 1800000000)
	sc token decode "$t" --at 1800000100
	expect_status 0
	[[ "$stderr" == *"UNVERIFIED"* ]]
	[ "$(json_get "d['verified']")" = false ]
	[ "$(json_get "d['times']")" = '{"iat": "2027-01-15T08:00:00Z", "exp": "2027-01-15T08:05:00Z"}' ]
	[ "$(json_get "d['expires_in']")" = 200 ]
	sc token decode "not.a-token"
	expect_status 2
}

# A JWKS server on 127.0.0.1 for the http tests.
start_http() {
	local dir=$1
	coproc HTTPD { exec $PYTHON "$ROOT/tests/lib/httpd.py" "$dir"; }
	read -r HTTP_PORT <&"${HTTPD[0]}"
}

@test "JWKS over HTTP: served keys verify; 404, invalid JSON and a slow server are exit 3" {
	mkdir -p "$W/www"
	cp "$K/RS256.jwks" "$W/www/jwks.json"
	printf 'nope' >"$W/www/broken.json"
	start_http "$W/www"
	sc token verify "$(mint_rs)" --jwks "http://127.0.0.1:$HTTP_PORT/jwks.json" --aud p
	expect_status 0
	sc token verify "$(mint_rs)" --jwks "http://127.0.0.1:$HTTP_PORT/missing.json" --aud p
	expect_status 3
	[[ "$stderr" == *"failed with HTTP 404"* ]]
	sc token verify "$(mint_rs)" --jwks "http://127.0.0.1:$HTTP_PORT/broken.json" --aud p
	expect_status 3
	[[ "$stderr" == *"is not valid JSON"* ]]
	start=$(date +%s%N)
	sc token verify "$(mint_rs)" --jwks "http://127.0.0.1:$HTTP_PORT/slow" --aud p --timeout 2
	elapsed=$(( ($(date +%s%N) - start) / 1000000 ))
	kill "$HTTPD_PID" 2>/dev/null || true
	expect_status 3
	[[ "$stderr" == *"did not answer within 2 s"* ]]
	[ "$elapsed" -lt 5000 ]
}

@test "JWKS over HTTP: an oct key is skipped, as the service does; a file keeps it" {
	mkdir -p "$W/www"
	k=$(printf 'a-shared-secret-of-some-length' | base64 -w0 | tr '+/' '-_' | tr -d '=')
	printf '{"keys":[{"kty":"oct","kid":"hs","k":"%s"}]}' "$k" >"$W/www/oct.json"
	start_http "$W/www"
	t=$("$SYNCCTL" token mint --secret-file "$K/secret" --kid hs --sub u --aud p)
	sc token verify "$t" --jwks "http://127.0.0.1:$HTTP_PORT/oct.json" --aud p
	kill "$HTTPD_PID" 2>/dev/null || true
	expect_status 3
	[[ "$stderr" == *"no usable keys (1 skipped: oct keys"* ]]
	sc token verify "$t" --jwks "$W/www/oct.json" --aud p
	expect_status 0
}

@test "an unreachable JWKS URL is exit 3" {
	sc token verify "$(mint_rs)" --jwks "http://127.0.0.1:1/jwks.json" --aud p
	expect_status 3
	[[ "$stderr" == *"cannot reach http://127.0.0.1:1/jwks.json"* ]]
}

@test "verify takes the accepted audience from SYNCCTL_AUDIENCE (a comma list)" {
	SYNCCTL_AUDIENCE=q,p sc token verify "$(mint_rs)" --jwks "$K/RS256.jwks"
	expect_status 0
	SYNCCTL_AUDIENCE=q,r sc token verify "$(mint_rs)" --jwks "$K/RS256.jwks" --json
	expect_status 1
	[[ "$(messages)" == *'(this configuration allows ["q","r"])'* ]]
}
