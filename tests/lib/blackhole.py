#!/usr/bin/env python3
"""A TCP port on 127.0.0.1 that accepts connections and never answers.

Prints the port, then holds every connection open until killed (at most
120 s, so a forgotten one ends by itself)."""
import socket
import sys
import threading
import time

srv = socket.socket()
srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 0))
srv.listen(64)
print(srv.getsockname()[1], flush=True)
held = []


def accept_forever():
    while True:
        conn, _ = srv.accept()
        held.append(conn)


threading.Thread(target=accept_forever, daemon=True).start()
time.sleep(float(sys.argv[1]) if len(sys.argv) > 1 else 120)
