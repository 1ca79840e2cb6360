#!/usr/bin/python3
"""seeds.py: writes the seed corpora of the fuzz targets whose inputs the
tests build in code (service, pgoutput, dotenv, psconfig, jwks) into
tests/fuzz/corpus/NAME/. The service's answers are those of the test
stand-in tests/lib/fake_stack.py (its diagnostics scenarios and error
envelopes, read from its source); the pgoutput messages are those of
tests/cmd/60-watch.bats's changes, framed as fuzz_pgoutput.c reads them;
the dotenv files and service configs are those of tests/cmd/40-config.bats,
41-service-config.bats and tests/unit/test_config.c. Run from anywhere;
the files are committed, run it again after changing it."""
import json, os, struct, sys, types
here = os.path.dirname(os.path.abspath(__file__))
root = os.path.join(here, "corpus")
C = lambda n: os.makedirs(f"{root}/{n}", exist_ok=True) or f"{root}/{n}"

# ---- service: bodies from tests/lib/fake_stack.py's scenarios ----
src = open(os.path.join(here, "../lib/fake_stack.py")).read()
src = src[:src.index("def b64d(")]
jw = types.ModuleType("jwcrypto"); jw.jwk = jw.jws = None
sys.modules["jwcrypto"] = jw
sys.argv = ["fake_stack.py"]
g = {"__name__": "fake_stack"}
exec(compile(src, "fake_stack.py", "exec"), g)
d = C("service")
STAT = {200: 0, 400: 1, 401: 2, 403: 3, 404: 4, 429: 7, 500: 8, 502: 9}
HDR = b"HTTP/1.1 %d X\r\ncontent-type: application/json; charset=utf-8\r\n\r\n"
def svc(name, which, status, body, headers=True):
    b = json.dumps(body, separators=(",", ":")).encode() if not isinstance(body, bytes) else body
    data = bytes([which, STAT[status]]) + ((HDR % status) if headers else b"") + b
    open(f"{d}/{name}", "wb").write(data)
for s in ["healthy", "unlimited-wal", "old-service", "wal-low", "unreserved", "lag-fatal", "lost-slot",
          "first-deploy", "none", "table-errors", "publication-missing", "disconnected", "replication-error",
          "config-error", "unparsable"]:
    svc(f"diag-{s}", 3, 200, {"data": g["scenario"](s)}, headers=s != "none")
svc("diag-401", 3, 401, g["service_error"](401, "PSYNC_S2101", "Authorization failed", "AuthorizationError"))
svc("diag-html", 3, 200, b"<html><body>proxy</body></html>")
svc("diag-nul", 3, 200, b'{"data":{"connections":[{"id":"a\\u0000b","connected":true}]}}')
state = {"ready": False, "started": False, "touched_at": "2026-01-02T03:04:05.000Z"}
svc("probe-startup-400", 0, 400, state)
svc("probe-readiness-400", 1, 400, state)
svc("probe-liveness-400", 2, 400, dict(state, ready=True, started=True))
svc("probe-ok", 0, 200, dict(state, ready=True, started=True))
svc("probe-off", 1, 404, g["route_not_found"]("GET", "/probes/readiness"))
svc("probe-429", 2, 429, b"Too Many Requests", headers=False)
for code, desc in [("PSYNC_S2105", 'Unexpected "aud" claim value: ["x"]'), ("PSYNC_S2103", '"exp" claim timestamp check failed'),
                   ("PSYNC_S2102", "Could not find an appropriate key in the keystore. The key is missing or no key matched the token KID"),
                   ("PSYNC_S2204", "Could not fetch JWKS"), ("PSYNC_S2106", "Authentication required")]:
    svc(f"stream-{code}", 4, 401, g["service_error"](401, code, desc, "AuthorizationError"))
svc("stream-legacy", 4, 401, g["service_error"](401, "PSYNC_S2101", "Authorization failed", "AuthorizationError", details="Token expired"))
svc("stream-S2302", 12, 500, g["service_error"](500, "PSYNC_S2302", "No sync rules available", "ServiceError"))
svc("stream-ok", 4, 200, b'{"checkpoint":{"last_op_id":"1","buckets":[]}}\n', headers=True)
svc("stream-html", 4, 502, b"<html>Bad Gateway</html>")

# ---- pgoutput: the messages of tests/cmd/60-watch.bats's changes ----
d = C("pgoutput")
s_ = lambda x: x.encode() + b"\0"
def rel(relid, ns, name, cols, ident=b"d"):
    m = b"R" + struct.pack(">I", relid) + s_(ns) + s_(name) + ident + struct.pack(">H", len(cols))
    for key, cname, oid in cols:
        m += bytes([1 if key else 0]) + s_(cname) + struct.pack(">Ii", oid, -1)
    return m
def tup(vals):
    m = struct.pack(">H", len(vals))
    for v in vals:
        if v is None: m += b"n"
        elif v is ...: m += b"u"
        else:
            v = v.encode() if isinstance(v, str) else v
            m += b"t" + struct.pack(">I", len(v)) + v
    return m
LSN, TS = 0x16B3790, 820000000000000
begin = b"B" + struct.pack(">QqI", LSN, TS, 740)
commit = b"C" + b"\0" + struct.pack(">QQq", LSN, LSN + 40, TS)
todos = rel(16384, "public", "todos", [(True, "id", 25), (False, "title", 25), (False, "done", 16), (False, "body", 25)])
lists = rel(16390, "public", "lists", [(True, "id", 23), (False, "name", 25)], b"f")
odd = rel(16400, "Weird Schema", "Tab\x1b[2Jle", [(True, "i\x07d", 25), (False, "v", 25)])
ins = b"I" + struct.pack(">I", 16384) + b"N" + tup(["1", "buy milk", "f", "two words\nand 'quotes'"])
upd = b"U" + struct.pack(">I", 16384) + b"N" + tup(["1", "buy milk", "t", ...])
upd_k = b"U" + struct.pack(">I", 16384) + b"K" + tup(["0", None, None, None]) + b"N" + tup(["1", "x", "t", None])
upd_o = b"U" + struct.pack(">I", 16390) + b"O" + tup(["7", "old"]) + b"N" + tup(["7", "new"])
dele = b"D" + struct.pack(">I", 16384) + b"K" + tup(["1", None, None, None])
dele_o = b"D" + struct.pack(">I", 16390) + b"O" + tup(["7", "new"])
trunc = b"T" + struct.pack(">IB", 2, 0) + struct.pack(">II", 16384, 16390)
hostile = b"I" + struct.pack(">I", 16400) + b"N" + tup(["\x1b]0;title\x07", b"\xff\xfe\xc0\xaf \xe2\x80\xae"])
msg = b"M" + b"\1" + struct.pack(">Q", LSN) + s_("syncctl-probe") + struct.pack(">I", 5) + b"12345"
typ = b"Y" + struct.pack(">I", 16500) + s_("public") + s_("mood")
origin = b"O" + struct.pack(">Q", LSN) + s_("origin1")
def framed(name, flags, msgs):
    data = bytes([flags | 1]) + b"".join(struct.pack(">H", len(m)) + m for m in msgs)
    open(f"{d}/{name}", "wb").write(data)
framed("insert", 0, [todos, begin, ins, commit])
framed("update-delete", 0, [todos, lists, begin, upd, upd_k, upd_o, dele, dele_o, commit])
framed("truncate", 0, [todos, lists, begin, trunc, commit])
framed("filtered", 2, [todos, lists, odd, begin, ins, upd_o, hostile, commit])
framed("count", 4, [todos, begin, ins, upd, dele, ins, commit])
framed("hostile", 0, [odd, begin, hostile, commit])
framed("other", 0, [typ, origin, begin, msg, commit])
open(f"{d}/one-relation", "wb").write(b"\0" + todos)

# ---- dotenv: tests/unit/test_config.c, tests/cmd/40-config.bats, 41-service-config.bats ----
d = C("dotenv")
W = lambda n, t: open(f"{d}/{n}", "w").write(t)
W("quotes", "# a comment\nexport A=plain value # trailing comment\nB='single # not a comment'\n"
  "C=\"double\\nline \\\"quoted\\\"\"\n\nD=\"multi\nline\"\nE=\nA=second\n")
W("interpolation", "A=one\nB=${A}-two\nC=$A/$$literal\nD=${UNSET_VAR:-fallback}\nE=${EMPTY-dash-only}\nEMPTY=\n"
  "F=${EMPTY:-colon-dash}\nG=${EMPTY-kept-empty}\nH='${A} not in single quotes'\nI=\"${A} in double quotes\"\n"
  "J=${A:+alternate}\nL=${UNSET_VAR:-${A}-nested}\nM=${FUZZ_SET}\nN=${FUZZ_DOLLAR:+x}\n")
W("demo", "PG_DATABASE_PASSWORD=mypassword\nPS_DATA_SOURCE_URI=postgresql://postgres:${PG_DATABASE_PASSWORD}@pg-db:5432/postgres\n"
  "DEMO_BACKEND_PORT=6060\nPS_JWKS_URL=http://demo-backend:${DEMO_BACKEND_PORT}/api/auth/keys\n"
  "PS_MONGO_URI=mongodb://mongo:27017/powersync_demo\nPS_PORT=8080\n")
W("export", "# comment\nexport SYNCCTL_DB=\"postgresql://postgres@127.0.0.1:5432/postgres\"\n")
W("required", "X=${NEEDED:?set NEEDED first}\n")
W("broken", "X=${broken\n")
W("not-a-setting", "GOOD=1\nthis is not a setting\n")
W("crlf", "A=1\r\nB=\"two\r\nlines\"\r\n")

# ---- psconfig: tests/cmd/40-config.bats and 41-service-config.bats ----
d = C("psconfig")
W("env-uri", "replication:\n  connections:\n    - type: postgresql\n      uri: !env PS_PG_URI\n      sslmode: disable\n"
  "storage:\n  type: mongodb\n  uri: mongodb://localhost:27017/powersync\nport: 8080\n")
W("fields", "replication:\n  connections:\n    - type: postgresql\n      hostname: 127.0.0.1\n      port: !env PS_PORT::number\n"
  "      database: postgres\n      username: pwuser\n      password: !env PS_EMPTY\n      sslmode: disable\n")
W("unset", "replication:\n  connections:\n    - type: postgresql\n      uri: !env PS_NOT_SET_ANYWHERE\n")
W("not-ps", "replication:\n  connections:\n    - type: postgresql\n      uri: !env NOT_PS\n")
W("cacert", "storage: {type: mongodb, uri: \"mongodb://localhost/ps\"}\nreplication:\n  connections:\n    - type: postgresql\n"
  "      uri: postgresql://postgres:pw@pg-db:5432/postgres\n      sslmode: verify-full\n      cacert: !env PS_CACERT\n")
W("mongo-fields", "storage:\n  type: mongodb\n  uri: mongodb://u:p@mongo:27017/ignored\n  database: appdata\n  username: ps\n  password: s3cret\n")
W("mongo-env", "storage:\n  type: mongodb\n  uri: !env PS_MONGO_URI\n")
W("storage-pg", "storage:\n  type: postgresql\n  hostname: 127.0.0.1\n  port: 5432\n  database: postgres\n  username: postgres\n  password: x\n  sslmode: disable\n")
W("storage-redis", "storage:\n  type: redis\n  uri: redis://r/0\n")
W("both-rules", "storage: {type: mongodb, uri: \"mongodb://m/ps\"}\nsync_config: {content: \"bucket_definitions: {}\"}\nsync_rules: {path: r.yaml}\n")
W("port-tokens", "storage: {type: mongodb, uri: \"mongodb://m/ps\"}\nport: !env PS_HEX::number\napi:\n  tokens: [!env PS_SECRET]\n")
W("boolean", "storage: {type: mongodb, uri: \"mongodb://m/ps\"}\nclient_auth:\n  block_local_jwks: !env PS_BOOL::boolean\n  jwks_uri: !env PS_JWKS_URI\n")
W("client-auth", "storage: {type: mongodb, uri: \"mongodb://m/ps\"}\nreplication:\n  connections:\n    - type: postgresql\n"
  "      uri: postgresql://postgres:pw@db.abcdefghijklmnop.supabase.co:5432/postgres\nclient_auth:\n"
  "  jwks_uri: [http://backend-a:1/api/auth/keys, http://backend-b:1/api/auth/keys]\n  audience: [powersync]\n"
  "  supabase: true\n  supabase_jwt_secret: a-supabase-secret\n  jwks:\n    keys:\n      - {kty: oct, kid: inline-hs, alg: HS256, k: c2VjcmV0}\n"
  "  jwks_reject_ip_ranges: [\"203.0.113.0/24\"]\n")
W("self-hosted", "_type: self-hosted\nstorage: {type: mongodb, uri: \"mongodb://m/ps\"}\nreplication:\n  connections:\n"
  "    - {type: postgresql, uri: \"postgresql://postgres@127.0.0.1:5432/postgres\", password: x, sslmode: disable}\n"
  "sync_config:\n  path: sync-config.yaml\n")
W("inline-rules", "storage: {type: mongodb, uri: \"mongodb://m/ps\"}\nsync_config:\n  content: |\n    bucket_definitions:\n"
  "      g:\n        data: [SELECT id FROM t]\nunknown_key: 1\nport: !env PS_X::string\n")
W("anchors", "base: &b {type: postgresql, uri: !env PS_PG_URI}\nreplication:\n  connections:\n    - *b\n    - <<: *b\n      tag: two\n")

# ---- jwks: fuzz_token's JWKS seeds without their selector byte, keys like tests/unit/test_jose.c's and 41-service-config.bats' inline jwks ----
d = C("jwks")
for f in os.listdir(f"{root}/token"):
    if f.startswith("jwks"):
        open(f"{d}/{f}", "wb").write(open(f"{root}/token/{f}", "rb").read()[1:])
W("oct", '{"keys":[{"kty":"oct","kid":"inline-hs","alg":"HS256","k":"c2VjcmV0"}]}')
W("okp", '{"keys":[{"kty":"OKP","crv":"Ed25519","kid":"ed","x":"11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}]}')
W("ec-private", '{"kty":"EC","crv":"P-256","kid":"ec","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU",'
  '"y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0","d":"jpsQnnGQmL-YBIffH1136cLSp2iJDbyTTYlmjuOFtqA"}')
W("nul-kid", '{"keys":[{"kty":"oct","kid":"k1\\u0000x","k":"c2VjcmV0"}]}')
W("use-enc", '{"keys":[{"kty":"EC","use":"enc","crv":"P-256","x":"f83OJ3D2xF1Bg8vub9tLe1gHMzV76e8Tus9uPHvRVEU","y":"x_FEzRu9m36HLN_tue659LNpXW6pCyStikYjKIWI5a0"}]}')
