#!/usr/bin/python3
"""A stand-in for the sync service and the app backend, on 127.0.0.1, for
tests: no sync service can be installed here. It plays the documented
protocol (DESIGN.md §6):

  GET  /probes/startup|readiness|liveness   {"ready","started","touched_at"}, 200 or 400
  POST /api/admin/v1/diagnostics            needs "Authorization: Bearer TOKEN"
  POST /sync/stream                         "Authorization: Token JWT", verified as the
                                            service does (kid, alg, aud list, lifetime,
                                            exp); 200 and NDJSON, or 401 with a PSYNC code
  GET  /jwks.json                           the --jwks file
  GET  /api/auth/token                      {"token": <contents of --token-file>}
  POST /api/data                            --upload-status (default 200)

Prints its port, serves until killed (at most 120 s)."""
import argparse
import datetime
import http.server
import json
import sys
import threading
import time

from jwcrypto import jwk, jws

ap = argparse.ArgumentParser()
ap.add_argument('--jwks')
ap.add_argument('--aud', action='append', default=[])
ap.add_argument('--api-token')
ap.add_argument('--diagnostics')
ap.add_argument('--not-ready', action='store_true')
ap.add_argument('--token-file')
ap.add_argument('--upload-status', type=int, default=200)
args = ap.parse_args()

HEALTHY = {"connections": [{"id": "default", "uri": "postgresql://db/app", "connected": True, "errors": []}],
           "active_sync_rules": {"connections": [{"id": "1", "tag": "default", "slot_name": "powersync_1_a3f2",
                                                  "initial_replication_done": True, "replication_lag_bytes": 1024,
                                                  "tables": []}], "errors": []}}


def psync_error(code, message):
    return {"error": {"code": code, "status": 401, "description": message, "name": "AuthorizationError"}}


def verify(token):
    """The service's checks, enough to tell its error codes apart."""
    try:
        header_b64 = token.split('.')[0]
        header = json.loads(jws.base64url_decode(header_b64))
        keys = json.load(open(args.jwks))["keys"]
        kid = header.get("kid")
        key = next((k for k in keys if k.get("kid") == kid), None)
        if key is None:
            return psync_error("PSYNC_S2101", "Could not find an appropriate key in the keystore. The key is missing or no key matched the token KID")
        if key.get("alg") and key["alg"] != header.get("alg"):
            return psync_error("PSYNC_S2101", f"Unexpected token algorithm {header.get('alg')}")
        obj = jws.JWS()
        obj.deserialize(token)
        obj.verify(jwk.JWK(**key), alg=header.get("alg"))
        claims = json.loads(obj.payload)
    except Exception as e:  # a malformed or forged token: the service's general code
        return psync_error("PSYNC_S2101", f"Token is not a well-formed JWT or its signature fails: {e}")
    now = time.time()
    if claims.get("exp", 0) + 60 <= now:
        return psync_error("PSYNC_S2103", "JWT has expired")
    aud = claims.get("aud")
    auds = aud if isinstance(aud, list) else [aud]
    if not any(a in args.aud for a in auds):
        return psync_error("PSYNC_S2105", f'Unexpected "aud" claim value: {json.dumps(aud)}')
    if claims.get("exp", 0) - claims.get("iat", 0) > 86400:
        return psync_error("PSYNC_S2104", "Token must expire in a maximum of 86400 seconds")
    return None


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send_json(self, status, doc):
        body = json.dumps(doc).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path.startswith("/probes/"):
            ok = not args.not_ready or self.path == "/probes/liveness"
            self.send_json(200 if ok else 400, {"ready": ok, "started": True,
                                               "touched_at": datetime.datetime.utcnow().isoformat() + "Z"})
        elif self.path == "/jwks.json" and args.jwks:
            self.send_json(200, json.load(open(args.jwks)))
        elif self.path.startswith("/api/auth/token") and args.token_file:
            self.send_json(200, {"token": open(args.token_file).read().strip(), "powersync_url": "http://x"})
        else:
            self.send_json(404, {"error": "not found"})

    def do_POST(self):
        length = int(self.headers.get("Content-Length", 0))
        self.rfile.read(length)
        auth = self.headers.get("Authorization", "")
        if self.path == "/api/admin/v1/diagnostics":
            if not args.api_token or auth != f"Bearer {args.api_token}":
                self.send_json(401, psync_error("PSYNC_S2106", "Authentication required"))
                return
            doc = json.load(open(args.diagnostics)) if args.diagnostics else HEALTHY
            self.send_json(200, {"data": doc})
        elif self.path == "/sync/stream":
            if not auth.startswith("Token "):
                self.send_json(401, psync_error("PSYNC_S2106", "Authentication required"))
                return
            err = verify(auth[len("Token "):])
            if err:
                self.send_json(401, err)
                return
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.end_headers()
            self.wfile.write(b'{"checkpoint":{"last_op_id":"0","buckets":[]}}\n')
            self.wfile.flush()
            time.sleep(1)
        elif self.path == "/api/data":
            self.send_json(args.upload_status, {"ok": args.upload_status < 300})
        else:
            self.send_json(404, {"error": "not found"})

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
time.sleep(120)
