#!/usr/bin/python3
"""A small HTTP server on 127.0.0.1 for tests: serves files from a
directory; /slow answers after 30 s. Prints its port, then serves until
killed (at most 120 s)."""
import http.server
import os
import sys
import threading
import time


class Handler(http.server.SimpleHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/slow":
            time.sleep(30)
        return super().do_GET()

    def log_message(self, *args):
        pass


os.chdir(sys.argv[1])
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
srv.daemon_threads = True
print(srv.server_address[1], flush=True)
threading.Thread(target=srv.serve_forever, daemon=True).start()
time.sleep(120)
