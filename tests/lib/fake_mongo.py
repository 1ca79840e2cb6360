#!/usr/bin/python3
"""A MongoDB wire-protocol server for the storage tests (Debian's
python3-mockupdb): no mongod can be installed here.

  fake_mongo.py MODE [options]   MODE: replset, standalone, sharded, uninitiated
    --state S --snapshot-done 0|1 --keepalive-age SECONDS --slot NAME
    --fatal MESSAGE --version V --database NAME (exists) --no-rules

Answers hello/isMaster as that kind of server, buildInfo, listDatabases,
find on <database>.sync_rules, and replSetInitiate (which turns an
uninitiated server into a replica set). Prints its port; serves until killed
(at most 120 s)."""
import argparse
import datetime
import time

from bson import Int64
from mockupdb import MockupDB, OpMsg

ap = argparse.ArgumentParser()
ap.add_argument('mode')
ap.add_argument('--state', default='ACTIVE')
ap.add_argument('--snapshot-done', type=int, default=1)
ap.add_argument('--keepalive-age', type=int, default=10)
ap.add_argument('--slot', default='powersync_1_a3f2')
ap.add_argument('--fatal', default=None)
ap.add_argument('--version', default='7.0.2')
ap.add_argument('--database', default='powersync')
ap.add_argument('--no-rules', action='store_true')
args = ap.parse_args()

state = {"mode": args.mode}


def hello_doc():
    doc = {"ismaster": True, "isWritablePrimary": True, "maxWireVersion": 17, "minWireVersion": 0,
           "maxBsonObjectSize": 16777216, "maxMessageSizeBytes": 48000000, "maxWriteBatchSize": 100000,
           "localTime": datetime.datetime.utcnow(), "connectionId": 1, "ok": 1}
    if state["mode"] == "replset":
        doc.update({"setName": "rs0", "hosts": [f"localhost:{srv.port}"], "primary": f"localhost:{srv.port}",
                    "me": f"localhost:{srv.port}", "setVersion": 1})
    elif state["mode"] == "sharded":
        doc["msg"] = "isdbgrid"
    elif state["mode"] == "uninitiated":
        doc.update({"ismaster": False, "isWritablePrimary": False, "secondary": False, "isreplicaset": True,
                    "info": "Does not have a valid replica set config"})
    return doc


def reply(req):
    name = req.command_name.lower() if hasattr(req, "command_name") else ""
    if name in ("hello", "ismaster"):
        return req.reply(hello_doc())
    if name == "buildinfo":
        return req.reply({"version": args.version, "ok": 1})
    if name == "listdatabases":
        return req.reply({"databases": [{"name": args.database, "sizeOnDisk": 1, "empty": False},
                                        {"name": "admin", "sizeOnDisk": 1, "empty": False}], "ok": 1})
    if name == "replsetinitiate":
        if state["mode"] == "uninitiated":
            state["mode"] = "replset"
            return req.reply({"ok": 1})
        return req.reply({"ok": 0, "errmsg": "already initialized", "code": 23})
    if name == "find":
        docs = []
        if not args.no_rules:
            doc = {"_id": 1, "state": args.state, "snapshot_done": bool(args.snapshot_done),
                   "slot_name": args.slot,
                   "last_keepalive_ts": datetime.datetime.utcnow() - datetime.timedelta(seconds=args.keepalive_age)}
            if args.fatal:
                doc["last_fatal_error"] = args.fatal
            docs.append(doc)
        return req.reply({"cursor": {"id": Int64(0), "ns": f"{req.doc.get('$db', 'x')}.sync_rules", "firstBatch": docs}, "ok": 1})
    if name in ("ping", "endsessions", "killcursors"):
        return req.reply({"ok": 1})
    return req.reply({"ok": 0, "errmsg": f"no such command: {name}", "code": 59})


srv = MockupDB(auto_ismaster=None)
srv.autoresponds(lambda req: reply(req) or True)
srv.run()
print(srv.port, flush=True)
time.sleep(120)
