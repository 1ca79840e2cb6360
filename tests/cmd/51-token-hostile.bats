#!/usr/bin/env bats
# syncctl token against hostile input (issue 16): strings with an escaped
# NUL compared whole, control characters never reaching the terminal, every
# --json document valid UTF-8, nesting too deep named as such, and the
# verdicts the sync service gives (powersync-ja/powersync-service
# packages/service-core/src/auth/KeyStore.ts, KeySpec.ts, JwtPayload.ts;
# jose 4's jwtVerify as KeyStore calls it).

load helpers

PYTHON=/usr/bin/python3
AT=1800000000

setup_file() {
	export K=$BATS_FILE_TMPDIR/keys
	mkdir -p "$K"
	"$SYNCCTL" token keygen --alg RS256 --kid k1 --out "$K/k1.pem" >"$K/k1.jwks" 2>/dev/null
	"$SYNCCTL" token keygen --alg ES256 --kid e1 --out "$K/e1.pem" >"$K/e1.jwks" 2>/dev/null
}

setup() {
	W=$BATS_TEST_TMPDIR
}

# tok HEADER PAYLOAD: an RS256 token signed with k1 whose segments are
# exactly this JSON text (escapes such as \u0000 kept as written).
tok() { "$ROOT/tests/lib/forge" "$1" "$2" "$K/k1.pem"; }
claims() { printf '{"sub":"u","aud":"p","iat":%d,"exp":%d%s}' "$AT" $((AT + 300)) "${1:-}"; }
H='{"alg":"RS256","kid":"k1"}'
verify() { sc token verify "$@" --jwks "$K/k1.jwks" --aud p --at "$AT"; }

# messages / codes of verify --json
messages() { json_get "' | '.join(e['message'] for e in d['errors'])"; }
codes() { json_get "[e['code'] for e in d['errors']]"; }

# utf8_json: stdout is valid UTF-8 (decoded strictly) holding one JSON document per line given.
utf8_json() {
	$PYTHON -c 'import json,sys
b=sys.stdin.buffer.read()
t=b.decode("utf-8", errors="strict")
for l in (t.splitlines() if sys.argv[1] == "lines" else [t]):
    json.loads(l)' "${1:-doc}" <"$BATS_TEST_TMPDIR/stdout.$$"
}

# no_raw_controls: nothing syncctl printed holds a control character but
# newline and tab.
no_raw_controls() {
	! LC_ALL=C grep -qaP '[\x00-\x08\x0b-\x1f\x7f]' "$BATS_TEST_TMPDIR/stdout.$$" "$BATS_TEST_TMPDIR/stderr.$$"
}

@test "NUL: a kid \"k1\\u0000x\" does not select key k1" {
	verify "$(tok '{"alg":"RS256","kid":"k1\u0000x"}' "$(claims)")" --json
	expect_status 1
	[ "$(json_get "d['signature_valid']")" = false ]
	[ "$(json_get "d['header']['kid'] == 'k1\\x00x'")" = true ]
	[ "$(messages)" = 'Could not find an appropriate key in the keystore. The key is missing or no key matched the token KID (token kid: k1\u0000x; known keys: k1) (it holds a NUL character, shown as \u0000: the service compares the whole string)' ]
}

@test "NUL: alg \"RS256\\u0000x\" is not RS256" {
	verify "$(tok '{"alg":"RS256\u0000x","kid":"k1"}' "$(claims)")" --json
	expect_status 1
	[ "$(codes)" = '["PSYNC_S2101"]' ]
	[ "$(messages)" = 'Unsupported token algorithm RS256\u0000x (it holds a NUL character, shown as \u0000: the service compares the whole string)' ]
}

@test "NUL: aud \"powersync\\u0000.evil\" does not pass --aud powersync" {
	t=$(tok "$H" "{\"sub\":\"u\",\"aud\":\"powersync\\u0000.evil\",\"iat\":$AT,\"exp\":$((AT + 300))}")
	sc token verify "$t" --jwks "$K/k1.jwks" --aud powersync --at "$AT" --json
	expect_status 1
	[ "$(json_get "d['signature_valid']")" = true ]
	[ "$(codes)" = '["PSYNC_S2105"]' ]
	[ "$(messages)" = 'Unexpected "aud" claim value: "powersync\u0000.evil" (this configuration allows ["powersync"]; a value holds a NUL character, shown as \u0000: the service compares whole strings)' ]
	# In a list too.
	t=$(tok "$H" "{\"sub\":\"u\",\"aud\":[\"x\",\"powersync\\u0000\"],\"iat\":$AT,\"exp\":$((AT + 300))}")
	sc token verify "$t" --jwks "$K/k1.jwks" --aud powersync --at "$AT" --json
	expect_status 1
	[ "$(codes)" = '["PSYNC_S2105"]' ]
}

@test "NUL: iss \"https://i.example\\u0000.evil\" does not pass --iss https://i.example" {
	verify "$(tok "$H" "$(claims ',"iss":"https://i.example\u0000.evil"')")" --iss https://i.example --json
	expect_status 1
	[ "$(codes)" = '["SYNCCTL_ISS"]' ]
	[ "$(messages)" = "\"iss\" claim value \"https://i.example\\u0000.evil\" is not the one --iss requires, \"https://i.example\" (syncctl's own check: the sync service does not check iss) (it holds a NUL character, shown as \\u0000: the service compares the whole string)" ]
}

@test "NUL: a sub \"u1\\u0000x\" is kept whole: the user id the service makes, shown escaped in text" {
	t=$(tok "$H" "{\"sub\":\"u1\\u0000x\",\"aud\":\"p\",\"iat\":$AT,\"exp\":$((AT + 300))}")
	verify "$t" --json
	expect_status 0
	[ "$(json_get "d['claims']['sub'] == 'u1\\x00x' and d['user_id'] == 'u1\\x00x'")" = true ]
	[[ "$output" == *'"user_id":	"u1\u0000x"'* ]]
	verify "$t" --color never
	expect_status 0
	[ "$output" = 'valid: sub u1\u0000x, kid k1, RS256, expires 2027-01-15T08:05:00Z (in 300 s)' ]
}

@test "NUL: a typ \"JWT\\u0000x\" is kept whole in --json and in decode (the service does not check typ)" {
	t=$(tok '{"alg":"RS256","kid":"k1","typ":"JWT\u0000x"}' "$(claims)")
	verify "$t" --json
	expect_status 0
	[ "$(json_get "d['header']['typ'] == 'JWT\\x00x'")" = true ]
	sc token decode "$t"
	expect_status 0
	[[ "$output" == *'"typ":	"JWT\u0000x"'* ]]
}

# jwks_with FILE MEMBER: FILE's first key with MEMBER's value + NUL + "x"
# (key_ops: a list holding "verify\u0000x"), written to $W/nul.jwks.
jwks_with() {
	$PYTHON - "$1" "$2" "$W/nul.jwks" <<-'EOF'
		import json, sys
		d = json.load(open(sys.argv[1]))
		k, m = d["keys"][0], sys.argv[2]
		if m == "key_ops":
		    k[m] = ["verify\x00x"]
		elif m == "k":
		    d["keys"][0] = k = {"kty": "oct", "kid": "s1", "k": "c2VjcmV0LXNlY3JldA\x00x"}
		else:
		    k[m] = k[m] + "\x00x"
		json.dump(d, open(sys.argv[3], "w"))
	EOF
}

@test "NUL: a JWKS member holding a NUL (kid, kty, alg, use, crv, n, e, x, y, k, key_ops) is refused with the reason" {
	t=$(tok "$H" "$(claims)")
	for m in kid kty alg use e; do
		jwks_with "$K/k1.jwks" "$m"
		sc token verify "$t" --jwks "$W/nul.jwks" --aud p --at "$AT"
		expect_status 2
		v=$($PYTHON -c 'import json,sys; print(json.dumps(json.load(open(sys.argv[1]))["keys"][0][sys.argv[2]]))' "$W/nul.jwks" "$m")
		[ "$stderr" = "syncctl token: error: JWKS file $W/nul.jwks: keys[0] has a \"$m\" member holding a NUL character ($v): a key member with a NUL is refused (the service compares it whole, so it is not the value it looks like)" ] ||
			{ echo "member $m: $stderr" >&2; false; }
	done
	jwks_with "$K/k1.jwks" n
	sc token verify "$t" --jwks "$W/nul.jwks" --aud p --at "$AT"
	expect_status 2
	# A long value is cut, on a character boundary, with "...".
	[[ "$stderr" == *'keys[0] has a "n" member holding a NUL character ("'*'...): a key member with a NUL is refused'* ]]
	for m in crv x y; do
		jwks_with "$K/e1.jwks" "$m"
		sc token verify "$t" --jwks "$W/nul.jwks" --aud p --at "$AT"
		expect_status 2
		[[ "$stderr" == *"keys[0] has a \"$m\" member holding a NUL character ("*'\u0000x"): a key member with a NUL is refused'* ]]
	done
	jwks_with "$K/k1.jwks" k
	sc token verify "$t" --jwks "$W/nul.jwks" --aud p --at "$AT"
	expect_status 2
	[[ "$stderr" == *'keys[0] has a "k" member holding a NUL character ("c2VjcmV0LXNlY3JldA\u0000x")'* ]]
	jwks_with "$K/k1.jwks" key_ops
	sc token verify "$t" --jwks "$W/nul.jwks" --aud p --at "$AT"
	expect_status 2
	[[ "$stderr" == *'keys[0] has a "key_ops" member holding a NUL character ("verify\u0000x")'* ]]
}

@test "a JWKS key whose alg names no algorithm the service takes (RFC 7517 A.3 A128KW) is refused with the reason" {
	printf '{"keys":[{"kty":"oct","alg":"A128KW","k":"GawgguFyGrWKav7AX4VKUg"}]}' >"$W/a.jwks"
	sc token verify "$(tok "$H" "$(claims)")" --jwks "$W/a.jwks" --aud p --at "$AT"
	expect_status 2
	[ "$stderr" = "syncctl token: error: JWKS file $W/a.jwks: keys[0] has alg \"A128KW\", which is no algorithm the service verifies tokens with (RS256, RS384, RS512, ES256, ES384, ES512, EdDSA, HS256, HS384, HS512): the service would load the key and match no token's alg to it" ]
}

@test "text output: ESC and BEL from a token's kid, sub or claims are shown escaped, with --color never and always" {
	ks='{"alg":"RS256","kid":"k1\u001b[31mRED\u0007"}'
	ss="{\"sub\":\"\\u001b]0;pwned\\u0007\\u001b[2J\",\"aud\":\"p\",\"iat\":$AT,\"exp\":$((AT + 300))}"
	for color in never always; do
		verify "$(tok "$H" "$ss")" --color "$color"
		expect_status 0
		no_raw_controls
		[ "$output" = 'valid: sub \x1b]0;pwned\x07\x1b[2J, kid k1, RS256, expires 2027-01-15T08:05:00Z (in 300 s)' ]
		verify "$(tok "$ks" "$ss")" --color "$color"
		expect_status 1
		no_raw_controls
		[[ "$output" == *'(token kid: k1\x1b[31mRED\x07; known keys: k1)'* ]]
		sc --color "$color" token decode "$(tok "$ks" "$ss")"
		expect_status 0
		no_raw_controls
		[[ "$output" == *'"kid":	"k1\u001b[31mRED\u0007"'* ]]
	done
	# An aud, an iss and a kid in the JWKS come back escaped in the failure messages.
	verify "$(tok "$H" "$(claims ',"iss":"\u001b[5mI"')")" --iss x --color always
	no_raw_controls
	[[ "$output" == *'"iss" claim value "\u001b[5mI" is not the one --iss requires'* ]]
}

@test "--json is valid UTF-8 when a header holds the bytes ff fe c0 af (shown as U+FFFD), in verify, --batch and decode" {
	bad=$(printf '\xff\xfe\xc0\xaf')
	t=$(tok "{\"alg\":\"RS256\",\"kid\":\"k1\",\"x\":\"$bad\"}" "{\"sub\":\"s$bad\",\"aud\":\"p\",\"iat\":$AT,\"exp\":$((AT + 300))}")
	verify "$t" --json
	expect_status 0
	utf8_json
	[ "$(json_get "d['header']['x'] == '\\ufffd' * 4 and d['user_id'] == 's' + '\\ufffd' * 4")" = true ]
	tk=$(tok "{\"alg\":\"RS256\",\"kid\":\"k1$bad\"}" "$(claims)")
	verify "$tk" --json
	expect_status 1
	utf8_json
	# (sc_json_parse reads a raw C0 byte as U+FFFD, as a UTF-8 decoder does:
	# C0 80 is its mark for an escaped NUL, lib/json.h)
	[[ "$(messages)" == *'(token kid: k1\xff\xfe'$'\xef\xbf\xbd''\xaf; known keys: k1)'* ]]
	printf '%s\n%s\n' "$t" "$tk" >"$W/tokens"
	sc token verify --batch --jwks "$K/k1.jwks" --aud p --at "$AT" <"$W/tokens"
	expect_status 1
	utf8_json lines
	sc --json token decode "$t"
	expect_status 0
	utf8_json
	[ "$(json_get "d['header']['x'] == '\\ufffd' * 4")" = true ]
	# Text shows the bytes escaped, never raw.
	verify "$tk"
	[[ "$output" == *'token kid: k1\xff\xfe'$'\xef\xbf\xbd''\xaf;'* ]]
}

@test "deep nesting: a payload nested 20,000 deep is 'nested deeper than 1000 levels', not 'not a JSON object'" {
	deep=$($PYTHON -c 'print("[" * 20000 + "]" * 20000)')
	t=$(tok "$H" "$(claims ",\"x\":$deep")")
	verify "$t" --json
	expect_status 1
	[ "$(codes)" = '["SYNCCTL_NESTING"]' ]
	[ "$(messages)" = "The token's payload cannot be read here: it is nested deeper than 1000 levels (syncctl reads JSON to that depth; the service's JSON.parse reads deeper, so its verdict is not known)" ]
	sc token decode "$t"
	expect_status 2
	[ "$stderr" = "syncctl token: error: not a JWT: The token's payload cannot be read here: it is nested deeper than 1000 levels (syncctl reads JSON to that depth; the service's JSON.parse reads deeper, so its verdict is not known)" ]
	$PYTHON -c 'print("{\"keys\":" + "[" * 2000 + "]" * 2000 + "}")' >"$W/deep.jwks"
	sc token verify "$t" --jwks "$W/deep.jwks" --aud p --at "$AT"
	expect_status 2
	[ "$stderr" = "syncctl token: error: JWKS file $W/deep.jwks cannot be read as JSON: nested deeper than 1000 levels (syncctl reads JSON to that depth)" ]
}

@test "verdict: a sub of any JSON type is accepted, with the user id the service makes of it" {
	# KeyStore normalizes sub (service-core test/src/auth.test.ts "KeyStore
	# normalizes sub claim values": true is "1", {"id":1,"name":"test"} is
	# {"id":1.0,"name":"test"}); a number is as JavaScript prints it.
	for pair in '42|42' '1.5|1.5' '1e21|1e+21' 'true|1' 'false|0' 'null|null' '{"id":1,"name":"test"}|{"id":1.0,"name":"test"}'; do
		sub=${pair%%|*} want=${pair#*|}
		verify "$(tok "$H" "{\"sub\":$sub,\"aud\":\"p\",\"iat\":$AT,\"exp\":$((AT + 300))}")" --json
		expect_status 0
		[ "$(json_get "d['user_id']")" = "$want" ] || { echo "sub $sub: $(json_get "d['user_id']")" >&2; false; }
	done
	verify "$(tok "$H" "{\"sub\":42,\"aud\":\"p\",\"iat\":$AT,\"exp\":$((AT + 300))}")"
	expect_status 0
	[ "$output" = 'valid: sub 42, kid k1, RS256, expires 2027-01-15T08:05:00Z (in 300 s)' ]
}

@test "verdict: iat ahead of the clock is no error (jose checks iat only with maxTokenAge, which the service does not pass)" {
	verify "$(tok "$H" "{\"sub\":\"u\",\"aud\":\"p\",\"iat\":$((AT + 120)),\"exp\":$((AT + 300))}")" --json
	expect_status 0
	[ "$(codes)" = '[]' ]
}

@test "verdict: --iss is syncctl's own check, reported as such (SYNCCTL_ISS, not PSYNC_S2101)" {
	verify "$(tok "$H" "$(claims ',"iss":"https://a.example"')")" --iss https://b.example --json
	expect_status 1
	[ "$(codes)" = '["SYNCCTL_ISS"]' ]
	[ "$(messages)" = "\"iss\" claim value \"https://a.example\" is not the one --iss requires, \"https://b.example\" (syncctl's own check: the sync service does not check iss)" ]
	verify "$(tok "$H" "$(claims)")" --iss https://b.example --json
	[ "$(messages)" = "the token has no \"iss\" claim; --iss requires \"https://b.example\" (syncctl's own check: the sync service does not check iss)" ]
	# Without --iss an iss is never looked at, as in the service.
	verify "$(tok "$H" "$(claims ',"iss":"anything"')")" --json
	expect_status 0
}

@test "verdict: a token expired within the 60 s leeway reads 'expired 44 s ago (within the 60 s leeway)'" {
	t=$(tok "$H" "{\"sub\":\"u\",\"aud\":\"p\",\"iat\":$((AT - 300)),\"exp\":$((AT - 44))}")
	verify "$t"
	expect_status 0
	[ "$output" = 'valid: sub u, kid k1, RS256, exp 2027-01-15T07:59:16Z, expired 44 s ago (within the 60 s leeway)' ]
	verify "$t" --leeway 50
	expect_status 0
	[ "$output" = 'valid: sub u, kid k1, RS256, exp 2027-01-15T07:59:16Z, expired 44 s ago (within the 50 s leeway)' ]
	verify "$t" --leeway 30 --json
	expect_status 1
	[ "$(messages)" = 'JWT has expired (exp was 44 s ago, beyond the 30 s leeway)' ]
}

@test "mint --claim-json keeps an escaped NUL as written (read as any JSON here)" {
	sc token mint --key "$K/k1.pem" --kid k1 --sub u --aud p --at "$AT" --claim-json 'x="a\u0000b"'
	expect_status 0
	sc --json token decode "$output"
	[ "$(json_get "d['claims']['x'] == 'a\\x00b'")" = true ]
	sc token mint --key "$K/k1.pem" --sub u --aud p --claim-json 'x={"a":1,}'
	expect_status 2
	[[ "$stderr" == "syncctl token: error: --claim-json x: the value is not JSON (not valid JSON "* ]]
}

@test "a value one byte over what a message shows is cut with '...' (65-byte kid, 101-byte iss)" {
	kid=$(printf 'a%.0s' $(seq 65))
	verify "$(tok "{\"alg\":\"RS256\",\"kid\":\"$kid\"}" "$(claims)")" --json
	expect_status 1
	[[ "$(messages)" == *"(token kid: ${kid:0:64}...; known keys: k1)" ]]
	iss=$(printf 'i%.0s' $(seq 101))
	verify "$(tok "$H" "$(claims)")" --iss "$iss" --json
	expect_status 1
	[ "$(messages)" = "the token has no \"iss\" claim; --iss requires \"${iss:0:100}...\" (syncctl's own check: the sync service does not check iss)" ]
}
