#!/usr/bin/python3
"""A stand-in for the sync service and an app backend, on 127.0.0.1, for
tests: the sync service cannot be installed here. Every answer follows
powersync-service 1.25's own source (files named at each handler); the
diagnostics bodies are decoded with the real codecs of the npm package
@powersync/service-types in tests/cmd/81-service-types.bats.

The service
  GET  /probes/startup|readiness|liveness  endpoints/probes.ts: the probe state
       {"ready","started","touched_at"} with 200 or 400; with --probes off a
       404 PSYNC_S2002 (RouteNotFound: CoreModule.ts registers no probe routes)
  POST /api/admin/v1/diagnostics           endpoints/admin.ts + api/diagnostics.ts,
       wrapped {"data": ...} by route-register.ts; auth as routes/auth.ts authApi
  POST /sync/stream                        endpoints/sync-stream.ts, auth as
       auth/KeyStore.ts verifyJwt + auth/utils.ts mapJoseError
The backend (PowerSync defines no protocol for it; two real shapes)
  GET  /jwks.json                          the --jwks file
  GET  /api/auth/token                     {"token", "powersync_url"} (--token-file)
  POST /api/data                           {"batch": [...]} (--upload-status,
       --upload-secret: an HS256 token required, as an Express backend does)
  PUT|PATCH|DELETE /api/upload_data/       powersync-django-backend-todolist-demo
       api/views.py: @api_view(['PUT','PATCH','DELETE']); POST is 405 with Allow
  anything else: an HTML 404 page, as Django and Express answer

Prints its port, serves until killed (at most 120 s).
  fake_stack.py --list-scenarios   prints the diagnostics scenario names"""
import argparse
import base64
import datetime
import hashlib
import hmac
import http.server
import json
import re
import sys
import threading
import time

from jwcrypto import jwk, jws

ap = argparse.ArgumentParser()
ap.add_argument('--jwks')
ap.add_argument('--aud', action='append', default=[])
ap.add_argument('--api-token', action='append', default=[])
ap.add_argument('--diagnostics', default='healthy')
ap.add_argument('--probes', default='up', choices=['up', 'starting', 'stale', 'off'])
ap.add_argument('--no-sync-config', action='store_true')
ap.add_argument('--shutting-down', action='store_true')
ap.add_argument('--jwks-failing', action='store_true')
ap.add_argument('--legacy-auth-errors', action='store_true')
ap.add_argument('--token-file')
ap.add_argument('--token-url', default='http://localhost:8080')
ap.add_argument('--upload-status', type=int, default=200)
ap.add_argument('--upload-secret')
ap.add_argument('--list-scenarios', action='store_true')
args = ap.parse_args()

STARTED = datetime.datetime.now(datetime.timezone.utc)


def iso(dt):
    # JSON.stringify of a Date: toISOString(), milliseconds and Z.
    return dt.astimezone(datetime.timezone.utc).strftime('%Y-%m-%dT%H:%M:%S.') + f"{dt.microsecond // 1000:03d}Z"


def ago(seconds):
    return iso(datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=seconds))


# ---- diagnostics, built as packages/service-core/src/api/diagnostics.ts builds them ----

def connection_status(connected=True, errors=()):
    """ConnectionStatus (definitions.ts) as admin.ts sends it: the adapter's
    ConnectionStatusV2 with postgres_uri; `uri` is dropped by the codec's
    encode. PostgresRouteAPIAdapter.getConnectionStatus: no ts on errors."""
    return {"id": "default", "postgres_uri": "postgresql://pg-db:5432/postgres", "connected": connected,
            "errors": [{"level": "fatal", "message": m} for m in errors]}


def table(name, errors=(), schema="public"):
    """TableInfo (definitions.ts), from replication-utils.ts getDebugTablesInfo."""
    return {"schema": schema, "name": name, "replication_id": ["id"], "data_queries": True,
            "parameter_queries": False, "errors": [{"level": l, "message": m} for l, m in errors]}


def lag_error(last_seconds):
    """diagnostics.ts: seconds since max(last_checkpoint_ts, last_keepalive_ts);
    fatal over 15 minutes, warning over 5."""
    if last_seconds > 15 * 60:
        return {"level": "fatal", "message": f"No replicated commit in more than {last_seconds}s", "ts": ago(0)}
    if last_seconds > 5 * 60:
        return {"level": "warning", "message": f"No replicated commit in more than {last_seconds}s", "ts": ago(0)}
    return None


def wal_error(safe, maximum, status):
    """diagnostics.ts: the WAL budget rule."""
    if status == 'lost' or safe is None or maximum is None or maximum <= 0:
        return None
    pct = max(0, int((safe / maximum * 100) + 0.5))
    if pct > 50:
        return None
    return {"level": "warning",
            "message": f"WAL budget is low: {pct}% remaining. The replication slot may be invalidated if WAL "
                       "consumption continues at this rate. Consider increasing max_slot_wal_keep_size.",
            "ts": ago(0)}


def rules_status(slot, active, done=True, tables=(), fatal=None, config_errors=(), last_seconds=10,
                 lag_bytes=1024, wal=None):
    """SyncRulesStatus (definitions.ts) from getSyncRulesStatus: errors in
    its order (tables, last_fatal_error, sync config, WAL budget, lag); the
    lag only for the active rules; optional fields left out, never null
    (ts-codec's optional() refuses null)."""
    conn = {"id": "default", "tag": "default", "slot_name": slot, "initial_replication_done": done,
            "tables": list(tables)}
    if done:
        conn["last_lsn"] = "00000000/016B3790"
        conn["last_checkpoint_ts"] = ago(last_seconds)
        conn["last_keepalive_ts"] = ago(last_seconds)
    if lag_bytes is not None:
        conn["replication_lag_bytes"] = lag_bytes
    if wal:
        for k in ("wal_status", "safe_wal_size", "max_slot_wal_keep_size"):
            if wal.get(k) is not None:
                conn[k] = wal[k]
    errors = [e for t in tables for e in t["errors"]]
    if fatal:
        errors.append({"level": "fatal", "message": fatal, "ts": ago(30)})
    errors.extend(config_errors)
    if wal:
        e = wal_error(wal.get("safe_wal_size"), wal.get("max_slot_wal_keep_size"), wal.get("wal_status"))
        if e:
            errors.append(e)
    if active:
        e = lag_error(last_seconds)
        if e:
            errors.append(e)
    return {"connections": [conn], "errors": errors}


GB = 1024 ** 3
SLOT = "powersync_1_a3f2"
SLOT2 = "powersync_2_5b1c"
LOST = (f"[PSYNC_S1146] Replication slot {SLOT} was invalidated (reason: wal_removed). "
        "Increase max_slot_wal_keep_size on the source database and delete the existing slot to recover.")


def scenario(name):
    c = connection_status()
    reserved = {"wal_status": "reserved", "safe_wal_size": int(0.8 * GB), "max_slot_wal_keep_size": GB}
    if name == "healthy":
        return {"connections": [c], "active_sync_rules": rules_status(SLOT, True, wal=reserved)}
    if name == "unlimited-wal":
        # max_slot_wal_keep_size -1: PostgresRouteAPIAdapter.getSlotWalBudget leaves the sizes out.
        return {"connections": [c], "active_sync_rules": rules_status(SLOT, True, wal={"wal_status": "reserved"})}
    if name == "old-service":
        # A service from before the WAL fields and the lag bytes.
        return {"connections": [c], "active_sync_rules": rules_status(SLOT, True, lag_bytes=None)}
    if name == "wal-low":
        return {"connections": [c], "active_sync_rules": rules_status(
            SLOT, True, wal={"wal_status": "extended", "safe_wal_size": int(0.3 * GB), "max_slot_wal_keep_size": GB})}
    if name == "unreserved":
        return {"connections": [c], "active_sync_rules": rules_status(
            SLOT, True, wal={"wal_status": "unreserved", "safe_wal_size": 0, "max_slot_wal_keep_size": GB})}
    if name == "lag-warning":
        return {"connections": [c], "active_sync_rules": rules_status(SLOT, True, last_seconds=420, wal=reserved)}
    if name == "lag-fatal":
        return {"connections": [c], "active_sync_rules": rules_status(SLOT, True, last_seconds=1000, wal=reserved)}
    if name == "lost-slot":
        # WalStream: the lost slot in last_fatal_error; restartReplication: the
        # old rules ERRORED (still the active ones), a new stream deploying.
        return {"connections": [c],
                "active_sync_rules": rules_status(SLOT, True, fatal=LOST, last_seconds=1000,
                                                  wal={"wal_status": "lost", "max_slot_wal_keep_size": GB}),
                "deploying_sync_rules": rules_status(SLOT2, False, done=False, lag_bytes=None)}
    if name == "first-deploy":
        return {"connections": [c], "deploying_sync_rules": rules_status(SLOT, False, done=False, lag_bytes=None)}
    if name == "none":
        return {"connections": [c]}
    if name == "table-errors":
        return {"connections": [c], "active_sync_rules": rules_status(SLOT, True, wal=reserved, tables=[
            table("todos", [("warning", "Table public.todos not found.")]),
            table("lists", [("fatal", "Table public.lists is not part of publication 'powersync'. "
                                      "Run: `ALTER PUBLICATION powersync ADD TABLE public.lists`."),
                            ("warning", "[PSYNC_S1145] Row Level Security is enabled on table \"lists\". To make sure "
                                        "that powersync can read the table, run: 'ALTER ROLE powersync BYPASSRLS'.")]),
            table("users")])}
    if name == "publication-missing":
        # getConnectionStatus: checkSourceConfiguration threw (replication-utils.ts).
        c = connection_status(True, ["[PSYNC_S1141] Publication 'powersync' does not exist. Run: `CREATE PUBLICATION "
                                     "powersync FOR ALL TABLES`, or read the documentation for details."])
        return {"connections": [c], "active_sync_rules": rules_status(SLOT, True, wal=reserved)}
    if name == "disconnected":
        c = connection_status(False, ["connect ECONNREFUSED 10.0.0.5:5432"])
        rs = rules_status(SLOT, True, tables=[table("lists", [("fatal", "connection failed")])], lag_bytes=None)
        return {"connections": [c], "active_sync_rules": rs}
    if name == "replication-error":
        return {"connections": [c], "active_sync_rules": rules_status(
            SLOT, True, fatal="permission denied for table lists", wal=reserved)}
    if name == "config-error":
        err = {"level": "fatal", "message": "Function 'no_such_fn' is not defined",
               "location": {"start_offset": 64, "end_offset": 78}, "ts": ago(0)}
        warn = {"level": "warning", "message": "Potentially dangerous query based on parameters set by the client.",
                "location": {"start_offset": 20, "end_offset": 40}, "ts": ago(0)}
        return {"connections": [c], "active_sync_rules": rules_status(SLOT, True, config_errors=[err, warn], wal=reserved)}
    if name == "unparsable":
        # getSyncRulesStatus when the stored sync config does not parse.
        return {"connections": [c], "active_sync_rules": {"connections": [], "errors": [
            {"level": "fatal", "message": "Unexpected end of YAML", "ts": ago(0)}]}}
    raise SystemExit(f"fake_stack.py: unknown diagnostics scenario {name}")


SCENARIOS = ["healthy", "unlimited-wal", "old-service", "wal-low", "unreserved", "lag-warning", "lag-fatal",
             "lost-slot", "first-deploy", "none", "table-errors", "publication-missing", "disconnected",
             "replication-error", "config-error", "unparsable"]
if args.list_scenarios:
    print("\n".join(SCENARIOS))
    sys.exit(0)
scenario(args.diagnostics)  # an unknown name fails at start


# ---- errors, as route-register.ts sends a ServiceError's errorData ----

def service_error(status, code, description, name, details=None, severity=None):
    e = {"code": code, "status": status, "description": description}
    if details is not None:
        e["details"] = details
    if severity is not None:
        e["severity"] = severity
    e["name"] = name
    return {"error": e}


def route_not_found(method, path):
    """RouteNotFound (service-errors errors.ts): severity info."""
    return service_error(404, "PSYNC_S2002", "The path does not exist on this server", "RouteNotFound",
                         details=f'The path {method} "{path}" does not exist on this server', severity="info")


def auth_error(code, description):
    """AuthorizationError (service-errors errors.ts): always 401."""
    if args.legacy_auth_errors:
        # Older services raised one generic code and put the reason in details.
        return service_error(401, "PSYNC_S2101", "Authorization failed", "AuthorizationError", details=description)
    return service_error(401, code, description, "AuthorizationError")


def b64d(s):
    return base64.urlsafe_b64decode(s + "=" * (-len(s) % 4))


def verify(token):
    """KeyStore.verifyJwt: the key by kid (its alg pinned), jose's checks
    (signature; required claims sub, iat, exp, checked in reverse order; exp
    with 60 s tolerance; iat never against the clock, iss never), then the
    audience, the lifetime (at most 86400 s) and the parameters claim."""
    parts = token.split('.')
    try:
        header = json.loads(b64d(parts[0]))
        payload = json.loads(b64d(parts[1]))
        assert len(parts) == 3
    except Exception:
        return auth_error("PSYNC_S2101", "Token is not a well-formed JWT. Check the token format.")
    keys = json.load(open(args.jwks))["keys"] if args.jwks else []
    key = next((k for k in keys if k.get("kid") == header.get("kid")), None)
    if key is not None and key.get("alg") and key["alg"] != header.get("alg"):
        return auth_error("PSYNC_S2101", f"Unexpected token algorithm {header.get('alg')}")
    if key is None:
        if args.jwks_failing:
            return auth_error("PSYNC_S2204", "JWKS request failed")
        return auth_error("PSYNC_S2101", "Could not find an appropriate key in the keystore. The key is missing "
                                         "or no key matched the token KID")
    try:
        obj = jws.JWS()
        obj.deserialize(token)
        obj.verify(jwk.JWK(**key), alg=header.get("alg"))
    except Exception:
        return auth_error("PSYNC_S2101", "signature verification failed")
    for claim in ("exp", "iat", "sub"):
        if claim not in payload:
            return auth_error("PSYNC_S2101", f'JWT payload is missing a required claim "{claim}"')
    now = time.time()
    if not isinstance(payload.get("iat"), (int, float)):
        return auth_error("PSYNC_S2101", 'JWT payload is missing a required claim "iat"')
    if not isinstance(payload.get("exp"), (int, float)):
        return auth_error("PSYNC_S2101", 'JWT payload is missing a required claim "exp"')
    if payload["exp"] <= now - 60:
        return auth_error("PSYNC_S2103", "JWT has expired")
    if "aud" not in payload:
        return auth_error("PSYNC_S2105", 'JWT payload is missing a required claim "aud"')
    auds = payload["aud"] if isinstance(payload["aud"], list) else [payload["aud"]]
    if not any(a in args.aud for a in auds):
        return auth_error("PSYNC_S2105", f'Unexpected "aud" claim value: {json.dumps(payload["aud"], separators=(",", ":"))}')
    lifetime = payload["exp"] - payload["iat"]
    if lifetime > 86400:
        return auth_error("PSYNC_S2104", f"Token must expire in a maximum of 86400 seconds, got {int(lifetime)}s")
    if "parameters" in payload and not isinstance(payload["parameters"], dict):
        return auth_error("PSYNC_S2101", "Payload parameters must be an object")
    return None


def hs256_ok(auth):
    m = re.match(r"^Bearer (\S+)$", auth or "")
    if not m:
        return False
    try:
        h, p, s = m.group(1).split(".")
        want = hmac.new(open(args.upload_secret, "rb").read().rstrip(b"\n"), f"{h}.{p}".encode(), hashlib.sha256).digest()
        return hmac.compare_digest(want, b64d(s)) and json.loads(b64d(h)).get("alg") == "HS256"
    except Exception:
        return False


HTML_404 = (b'<!doctype html>\n<html lang="en">\n<head>\n  <title>Not Found</title>\n</head>\n<body>\n'
            b'  <h1>Not Found</h1><p>The requested resource was not found on this server.</p>\n</body>\n</html>\n')


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def send_body(self, status, body, ctype, headers=()):
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def send_json(self, status, doc, headers=()):
        self.send_body(status, json.dumps(doc, separators=(",", ":")).encode(), "application/json; charset=utf-8", headers)

    def not_found_service(self):
        # route-register.ts: the not-found handler's RouteNotFound.
        self.send_json(404, route_not_found(self.command, self.path))

    def not_found_backend(self):
        self.send_body(404, HTML_404, "text/html; charset=utf-8")

    def probe(self):
        if args.probes == "off":
            # CoreModule.ts registers no probe routes: the not-found handler answers.
            return self.send_json(404, route_not_found(self.command, self.path))
        # memory-probes.ts: ready and started turn true together; touched_at
        # is refreshed by the replication loop (liveness: under 10 s old).
        started = args.probes != "starting"
        touched = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=30 if args.probes == "stale" else 0)
        state = {"ready": started, "started": started, "touched_at": iso(touched)}
        if self.path == "/probes/startup" or self.path == "/probes/readiness":
            ok = started
        elif self.path == "/probes/liveness":
            ok = (datetime.datetime.now(datetime.timezone.utc) - touched).total_seconds() < 10
        else:
            return self.not_found_service()
        self.send_json(200 if ok else 400, state)

    def admin_authorized(self):
        # routes/auth.ts authApi: /^(Token|Bearer) (\S+)$/ against api.tokens;
        # every refusal is the same S2101 (endpoint.ts).
        m = re.match(r"^(Token|Bearer) (\S+)$", self.headers.get("Authorization", ""))
        return bool(args.api_token) and m is not None and m.group(2) in args.api_token

    def do_GET(self):
        if self.path.startswith("/probes/"):
            self.probe()
        elif self.path == "/jwks.json" and args.jwks:
            self.send_json(200, json.load(open(args.jwks)))
        elif self.path.startswith("/api/auth/token") and args.token_file:
            self.send_json(200, {"token": open(args.token_file).read().strip(), "powersync_url": args.token_url})
        elif self.path.startswith("/api/admin/") or self.path.startswith("/sync/"):
            self.not_found_service()
        else:
            self.not_found_backend()

    def read_body(self):
        length = int(self.headers.get("Content-Length", 0) or 0)
        return self.rfile.read(length)

    def do_POST(self):
        body = self.read_body()
        auth = self.headers.get("Authorization", "")
        if self.path == "/api/admin/v1/diagnostics":
            try:
                params = json.loads(body or b"{}")
            except ValueError:
                return self.send_json(400, {"error": {"name": "FastifyError", "code": "FST_ERR_CTP_INVALID_JSON_BODY", "status": 400,
                                                      "description": "Body is not valid JSON but content-type is set to 'application/json'"}})
            if "sync_rules_content" in params and not isinstance(params["sync_rules_content"], bool):
                return self.send_json(400, service_error(400, "PSYNC_S2001", "Validation failed", "ValidationError",
                                                         details='["/sync_rules_content: type must be boolean"]'))
            if not self.admin_authorized():
                return self.send_json(401, service_error(401, "PSYNC_S2101", "Authorization failed", "AuthorizationError"))
            self.send_json(200, {"data": scenario(args.diagnostics)})
        elif self.path == "/sync/stream":
            m = re.match(r"^(Token|Bearer) (\S+)$", auth)
            if not m:
                return self.send_json(401, auth_error("PSYNC_S2106", "Authentication required"))
            err = verify(m.group(2))
            if err:
                return self.send_json(401, err)
            if args.shutting_down:
                # sync-stream.ts: routerEngine.closed, checked after auth.
                return self.send_json(503, {"error": {"status": 503, "code": "PSYNC_S2003",
                                                      "description": "Service temporarily unavailable", "name": "ServiceError"}})
            if args.no_sync_config:
                return self.send_json(500, {"error": {"status": 500, "code": "PSYNC_S2302",
                                                      "description": "No sync config available", "name": "ServiceError"}})
            self.send_response(200)
            self.send_header("Content-Type", "application/x-ndjson")
            self.send_header("X-Accel-Buffering", "no")
            self.end_headers()
            self.wfile.write(b'{"checkpoint":{"last_op_id":"0","write_checkpoint":null,"buckets":[]}}\n')
            self.wfile.flush()
            time.sleep(1)
        elif self.path == "/api/data":
            if args.upload_secret and not hs256_ok(auth):
                return self.send_json(401, {"message": "Unauthorized"})
            self.send_json(args.upload_status, {"ok": args.upload_status < 300})
        elif self.path == "/api/upload_data/":
            # Django REST framework's 405 for a method the view does not list.
            self.send_json(405, {"detail": 'Method "POST" not allowed.'}, headers=[("Allow", "PUT, PATCH, DELETE, OPTIONS")])
        elif self.path.startswith("/api/admin/") or self.path.startswith("/sync/") or self.path.startswith("/probes/"):
            self.not_found_service()
        else:
            self.not_found_backend()

    def do_PUT(self):
        self.read_body()
        if self.path == "/api/upload_data/":
            self.send_json(200, {"message": "Todo updated"})
        else:
            self.not_found_backend()

    do_PATCH = do_PUT

    def log_message(self, *a):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
time.sleep(120)
