#!/usr/bin/python3
"""A MongoDB wire-protocol server for the storage tests (Debian's
python3-mockupdb): no mongod can be installed here.

  fake_mongo.py MODE [options]   MODE: replset, standalone, sharded, uninitiated
    --scenario NAME       the sync state the service left in the database (below)
    --keepalive-age S     age of last_keepalive_ts of the active rules (default 10)
    --checkpoint-age S    age of last_checkpoint_ts (default: none written)
    --no-timestamps       neither timestamp written (a stream that never committed)
    --slot NAME           slot_name of the first replication stream
    --fail CMD:CODE:MSG   answer command CMD (find, listDatabases, ...) with
                          that server error (repeatable)
    --version V --database NAME (the database listDatabases shows)

Answers hello/isMaster as that kind of server, buildInfo, listDatabases,
find (filters with equality, $in, $or and dotted paths into arrays, sort on
one key, limit) and replSetInitiate (which turns an uninitiated server into
a replica set). Prints its port; serves until killed (at most 120 s).

The documents follow the sync service's own MongoDB storage
(powersync-service 1.25, modules/module-mongodb-storage):
  sync_rules            src/storage/implementation/models.ts (SyncRuleDocumentBase),
                        v1/models.ts (SyncRuleDocumentV1: storage versions 1, 2),
                        v3/models.ts (ReplicationStreamDocumentV3, SyncRuleConfigStateV3)
  source_tables         models.ts SourceTableDocument (+ group_id, v1/models.ts);
  source_table_<id>     v3/models.ts SourceTableDocumentV3 (storage version 3)
How the rows come to be: a new stream is inserted PROCESSING
(MongoBucketStorage.ts updateSyncConfigV1InTransaction); reportError sets
last_fatal_error/_ts and leaves state alone (MongoSyncBucketStorage.ts);
restartReplication (a missing or invalidated slot) turns the active row
ERRORED and inserts a PROCESSING replacement (MongoBucketStorage.ts
restartReplication / errorActiveStreamForReplacement); the service reads the
active rules as the highest _id in ACTIVE|ERRORED and the deploying ones as
the highest _id in PROCESSING or with a PROCESSING sync_configs entry
(getActiveSyncConfigInternal, getDeployingSyncConfigInternal)."""
import argparse
import datetime
import time

from bson import Int64, ObjectId
from mockupdb import MockupDB

ap = argparse.ArgumentParser()
ap.add_argument('mode')
ap.add_argument('--scenario', default='active')
ap.add_argument('--keepalive-age', type=int, default=10)
ap.add_argument('--checkpoint-age', type=int, default=None)
ap.add_argument('--no-timestamps', action='store_true')
ap.add_argument('--slot', default='powersync_1_a3f2')
ap.add_argument('--fail', action='append', default=[])
ap.add_argument('--version', default='7.0.2')
ap.add_argument('--database', default='powersync')
args = ap.parse_args()

state = {"mode": args.mode}
NOW = datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def now():
    return datetime.datetime.now(datetime.timezone.utc).replace(tzinfo=None)


def ago(seconds):
    return None if seconds is None else NOW - datetime.timedelta(seconds=seconds)


# The service's own error texts (modules/module-postgres/src/replication/WalStream.ts
# initSlot / checkSlotHealth, MissingReplicationSlotError).
LOST_SLOT = ("[PSYNC_S1146] Replication slot {slot} was invalidated (reason: wal_removed). "
             "Increase max_slot_wal_keep_size on the source database and delete the existing slot to recover.")
LOST_DURING_SNAPSHOT = ("[PSYNC_S1146] Replication slot {slot} was invalidated during snapshot. "
                        "Increase max_slot_wal_keep_size on the source database.")
PERMISSION = "permission denied for table lists"


def stream_v1(_id, state_, slot, snapshot_done, fatal=None, fatal_age=None, version=2, keepalive=True):
    """SyncRuleDocumentV1 as written by the service (v1/models.ts; created in
    MongoBucketStorage.ts, committed by MongoBucketBatchV1.ts commit/keepalive:
    last_checkpoint Long, keepalive_op string, timestamps Date)."""
    committed = snapshot_done and keepalive and not args.no_timestamps
    return {
        "_id": _id, "state": state_, "snapshot_done": snapshot_done,
        "snapshot_lsn": None if snapshot_done else "0/16B3748",
        "slot_name": slot,
        "last_checkpoint": Int64(1042) if committed else None,
        "last_checkpoint_lsn": "00000000/016B3790" if committed else None,
        "no_checkpoint_before": "00000000/016B3790" if snapshot_done else None,
        "keepalive_op": "1042" if committed else None,
        "last_checkpoint_ts": ago(args.checkpoint_age) if committed else None,
        "last_keepalive_ts": ago(args.keepalive_age) if keepalive and not args.no_timestamps else None,
        "last_fatal_error": fatal,
        "last_fatal_error_ts": ago(fatal_age) if fatal else None,
        "storage_version": version,
        "content": "bucket_definitions:\n  global:\n    data:\n      - SELECT * FROM lists\n",
    }


def stream_v3(_id, top_state, slot, configs, fatal=None, fatal_age=None):
    """ReplicationStreamDocumentV3 (v3/models.ts): per-config state in
    sync_configs[], errors and timestamps at the top level only."""
    return {
        "_id": _id, "state": top_state, "storage_version": 3, "slot_name": slot, "snapshot_lsn": None,
        "sync_configs": [{"_id": ObjectId(), "state": s, "snapshot_done": done,
                          "last_checkpoint": Int64(7) if done else None,
                          "last_checkpoint_lsn": "00000000/016B3790" if done else None,
                          "no_checkpoint_before": None} for s, done in configs],
        "last_persisted_op": Int64(7), "resume_lsn": "00000000/016B3790",
        "last_checkpoint_ts": ago(args.checkpoint_age),
        "last_keepalive_ts": None if args.no_timestamps else ago(args.keepalive_age),
        "last_fatal_error": fatal, "last_fatal_error_ts": ago(fatal_age) if fatal else None,
    }


def table(group, name, done, replicated=None, estimated=None):
    """SourceTableDocument (models.ts): snapshot_status exists only while the
    table's snapshot runs (MongoBucketBatch.ts updateTableProgress;
    markTableSnapshotDone unsets it)."""
    doc = {"_id": ObjectId(), "group_id": group, "connection_id": 1, "relation_id": 16400,
           "schema_name": "public", "table_name": name, "replica_id_columns": None,
           "replica_id_columns2": [{"name": "id", "type_oid": 2950}], "snapshot_done": done}
    if replicated is not None:
        doc["snapshot_status"] = {"total_estimated_count": estimated, "replicated_count": replicated, "last_key": None}
    return doc


def progress(group, collection="source_tables"):
    return {collection: [table(group, "lists", True), table(group, "todos", False, 1200, 5000),
                         table(group, "users", False)]}


def scenario(name):
    slot1 = args.slot
    slot2 = "powersync_2_5b1c"
    s = {"sync_rules": []}
    if name == "none":
        pass
    elif name == "active":
        s["sync_rules"] = [stream_v1(1, "ACTIVE", slot1, True)]
    elif name == "active-v1":
        s["sync_rules"] = [stream_v1(1, "ACTIVE", slot1, True, version=1)]
    elif name == "active-fatal":
        # A replication failure: reportError, state stays ACTIVE.
        s["sync_rules"] = [stream_v1(1, "ACTIVE", slot1, True, fatal=PERMISSION, fatal_age=42)]
    elif name == "errored-replaced":
        # restartReplication after the slot was lost: the old row ERRORED
        # (keeps its error, stops replicating), a PROCESSING replacement.
        s["sync_rules"] = [stream_v1(1, "ERRORED", slot1, True, fatal=LOST_SLOT.format(slot=slot1), fatal_age=600),
                           stream_v1(2, "PROCESSING", slot2, False, keepalive=False)]
        s.update(progress(2))
    elif name == "errored":
        s["sync_rules"] = [stream_v1(1, "ERRORED", slot1, True, fatal=LOST_SLOT.format(slot=slot1), fatal_age=600)]
    elif name == "replacing":
        # A redeploy: ACTIVE keeps serving while the new rules snapshot.
        s["sync_rules"] = [stream_v1(1, "ACTIVE", slot1, True), stream_v1(2, "PROCESSING", slot2, False, keepalive=False)]
        s.update(progress(2))
    elif name == "first-deploy":
        s["sync_rules"] = [stream_v1(1, "PROCESSING", slot1, False, keepalive=False)]
        s.update(progress(1))
    elif name == "snapshot-done":
        s["sync_rules"] = [stream_v1(1, "PROCESSING", slot1, True, keepalive=False)]
    elif name == "deploy-fatal":
        # The slot invalidated during the initial snapshot: not retried by a
        # new stream (shouldRetryReplication), the row stays PROCESSING.
        s["sync_rules"] = [stream_v1(1, "PROCESSING", slot1, False, keepalive=False,
                                     fatal=LOST_DURING_SNAPSHOT.format(slot=slot1), fatal_age=30)]
        s.update(progress(1))
    elif name == "history":
        # Older rows the service keeps: STOP and TERMINATED are never current.
        s["sync_rules"] = [stream_v1(1, "TERMINATED", "powersync_1_0000", True),
                           stream_v1(2, "STOP", "powersync_2_0000", True),
                           stream_v1(3, "ACTIVE", slot1, True)]
    elif name == "v3-active":
        s["sync_rules"] = [stream_v3(1, "ACTIVE", slot1, [("ACTIVE", True)])]
        s["source_table_1"] = [table(1, "lists", True)]
    elif name == "v3-replacing":
        # Incremental reprocessing: one stream holds the active config and a
        # PROCESSING one (MongoBucketStorage.ts updateSyncConfigV3InTransaction).
        s["sync_rules"] = [stream_v3(1, "ACTIVE", slot1, [("ACTIVE", True), ("PROCESSING", False)])]
        s.update(progress(1, "source_table_1"))
    elif name == "v3-fatal":
        s["sync_rules"] = [stream_v3(1, "ACTIVE", slot1, [("ACTIVE", True)], fatal=PERMISSION, fatal_age=5)]
    else:
        raise SystemExit(f"fake_mongo.py: unknown scenario {name}")
    return s


scenario(args.scenario)  # an unknown scenario fails at start
FAILURES = {}
for f in args.fail:
    cmd, code, msg = f.split(":", 2)
    FAILURES[cmd.lower()] = (int(code), msg)


def get_path(doc, path):
    """Values at a dotted path; arrays are searched element-wise, as MongoDB does."""
    vals = [doc]
    for part in path.split("."):
        nxt = []
        for v in vals:
            if isinstance(v, list):
                nxt.extend(x.get(part) for x in v if isinstance(x, dict) and part in x)
            elif isinstance(v, dict) and part in v:
                nxt.append(v[part])
        vals = nxt
    out = []
    for v in vals:
        out.extend(v if isinstance(v, list) else [v])
    return out


def matches(doc, flt):
    for key, cond in flt.items():
        if key == "$or":
            if not any(matches(doc, c) for c in cond):
                return False
            continue
        if key == "$and":
            if not all(matches(doc, c) for c in cond):
                return False
            continue
        vals = get_path(doc, key)
        if isinstance(cond, dict) and any(k.startswith("$") for k in cond):
            for op, arg in cond.items():
                if op == "$in" and not any(v in arg for v in vals):
                    return False
                if op == "$exists" and bool(vals) != bool(arg):
                    return False
                if op == "$ne" and arg in vals:
                    return False
        elif cond not in vals:
            return False
    return True


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
    name = req.command_name.lower() if getattr(req, "command_name", None) else ""
    if name in FAILURES:
        code, msg = FAILURES[name]
        return req.reply({"ok": 0, "errmsg": msg, "code": code, "codeName": "Unauthorized" if code == 13 else "Error"})
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
        db = req.doc.get("$db", "x")
        coll = req.doc["find"]
        # Ages are of the moment of the request, so a loaded machine does
        # not make "5 s ago" six.
        global NOW
        NOW = now()
        docs = scenario(args.scenario).get(coll, []) if db == args.database else []
        docs = [d for d in docs if matches(d, req.doc.get("filter", {}))]
        for key, direction in reversed(list((req.doc.get("sort") or {}).items())):
            docs.sort(key=lambda d: get_path(d, key)[:1], reverse=direction < 0)
        limit = abs(int(req.doc.get("limit", 0) or 0))
        if limit:
            docs = docs[:limit]
        return req.reply({"cursor": {"id": Int64(0), "ns": f"{db}.{coll}", "firstBatch": docs}, "ok": 1})
    if name in ("ping", "endsessions", "killcursors"):
        return req.reply({"ok": 1})
    return req.reply({"ok": 0, "errmsg": f"no such command: {name}", "code": 59})


srv = MockupDB(auto_ismaster=None)
srv.autoresponds(lambda req: reply(req) or True)
srv.run()
print(srv.port, flush=True)
time.sleep(120)
