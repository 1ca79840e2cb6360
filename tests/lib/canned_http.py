#!/usr/bin/python3
"""An HTTP server on 127.0.0.1 that answers every request with bytes from a
directory, for hostile answers no real server would send on purpose: for
the path /a/b, DIR/a_b.body (sent as it is, no check that it is JSON or
UTF-8) with the status in DIR/a_b.status (default 200) and the content type
in DIR/a_b.type (default application/json); a path without a .body file is
404 with an empty JSON object. Prints its port, serves until killed (at
most 120 s)."""
import http.server
import os
import sys
import threading
import time

root = sys.argv[1]


class Handler(http.server.BaseHTTPRequestHandler):
    def answer(self):
        length = int(self.headers.get("Content-Length", 0) or 0)
        if length:
            self.rfile.read(length)
        base = os.path.join(root, self.path.split("?")[0].strip("/").replace("/", "_") or "index")

        def read(ext, default):
            try:
                with open(base + ext, "rb") as f:
                    return f.read()
            except FileNotFoundError:
                return default
        body = read(".body", None)
        status = int(read(".status", b"200" if body is not None else b"404"))
        ctype = read(".type", b"application/json").decode().strip()
        body = b"{}" if body is None else body
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = do_PUT = answer

    def log_message(self, *args):
        pass


srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
time.sleep(120)
