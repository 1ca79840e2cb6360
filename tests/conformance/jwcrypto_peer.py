#!/usr/bin/python3
"""Debian's python3-jwcrypto as a second, independent JOSE peer.

  sign ALG PEMFILE KID SUB AUD      a token signed with the PEM private key
  verify TOKEN JWKSFILE AUD         "ok SUB" and exit 0, or "fail MESSAGE" and exit 1
  jwks PEMFILE KID ALG              the public JWKS of a PEM key, as jwcrypto writes it
"""
import json
import sys
import time

from jwcrypto import jwk, jwt


def main(argv):
    cmd = argv[1]
    if cmd == "sign":
        alg, pem, kid, sub, aud = argv[2:7]
        key = jwk.JWK.from_pem(open(pem, "rb").read())
        now = int(time.time())
        token = jwt.JWT(header={"alg": alg, "kid": kid},
                        claims={"sub": sub, "aud": aud, "iat": now, "exp": now + 300})
        token.make_signed_token(key)
        print(token.serialize())
        return 0
    if cmd == "verify":
        token, jwks_file, aud = argv[2:5]
        keyset = jwk.JWKSet.from_json(open(jwks_file).read())
        try:
            t = jwt.JWT(jwt=token, key=keyset, check_claims={"aud": aud, "exp": None})
            print("ok", json.loads(t.claims)["sub"])
            return 0
        except Exception as e:  # every failure is a verdict here
            print("fail", e)
            return 1
    if cmd == "jwks":
        pem, kid, alg = argv[2:5]
        key = jwk.JWK.from_pem(open(pem, "rb").read())
        pub = json.loads(key.export_public())
        pub.update({"kid": kid, "alg": alg, "use": "sig"})
        print(json.dumps({"keys": [pub]}))
        return 0
    print("jwcrypto_peer: unknown command", cmd, file=sys.stderr)
    return 2


sys.exit(main(sys.argv))
