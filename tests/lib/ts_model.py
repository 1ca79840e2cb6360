#!/usr/bin/python3
"""Model test of syncctl tenant-sync --direction both with state.

Random rounds of inserts, updates and deletes on two real databases (same
row on both sides, delete against update, a deleted key inserted again, a
trigger on remote that rewrites some values, edits while a run waits at its
test-only pause point), each followed by a `both` run with a random policy,
with or without --delete (sometimes --full, sometimes forced to read every
row). After each run both databases must hold exactly what a small
three-way merge computes here, and the run must report exactly its
conflicts and unresolved keys (with their reasons) and its mode.

The model follows the issue's rules, not the implementation:
  - a row is changed on a side when something other than the last run wrote
    it since that run's snapshot (the last run's own writes count as
    unchanged, except on remote, whose trigger may have altered them: there
    they are compared);
  - the base is the set of keys both sides agreed on after the last run;
  - a key left unresolved keeps the change flags it had.

Usage: ts_model.py (environment: SYNCCTL, LOCAL, REMOTE, ROUNDS, SEED)
"""
import json
import os
import random
import subprocess
import sys
import tempfile
import time

SYNCCTL = os.environ["SYNCCTL"]
URI = {"local": os.environ["LOCAL"], "remote": os.environ["REMOTE"]}
ROUNDS = int(os.environ.get("ROUNDS", "200"))
SEED = int(os.environ.get("SEED", str(int(time.time() * 1000) % 1000000)))
KEYS = range(1, 13)
SIDES = ("local", "remote")

rng = random.Random(SEED)
coverage = {}


def cover(what):
    coverage[what] = coverage.get(what, 0) + 1


def fail(msg):
    print("model test failed (SEED=%d): %s" % (SEED, msg), file=sys.stderr)
    sys.exit(1)


def psql(side, sql):
    p = subprocess.run(["psql", URI[side], "-XAtq", "-v", "ON_ERROR_STOP=1", "-c", sql],
                       capture_output=True, text=True)
    if p.returncode != 0:
        fail("psql on %s: %s\n%s" % (side, sql, p.stderr))
    return p.stdout


def trig(side, v):
    """The trigger on remote: a value ending in # gets a ! appended."""
    return v + "!" if side == "remote" and v.endswith("#") else v


class Side:
    def __init__(self, name):
        self.name = name
        self.rows = {}    # key -> (v, u)
        self.tag = {}     # key -> "old" | "ours" | "changed" (present rows)

    def cls(self, k):
        """0 unchanged, 1 written by the last run and to be compared, 2 changed."""
        t = self.tag[k]
        if t == "changed":
            return 2
        if t == "ours":
            return 1 if self.name == "remote" else 0
        return 0


side = {s: Side(s) for s in SIDES}
base = set()          # keys both sides agreed on
unres = {}            # key -> (changed on local, changed on remote)
have_state = False
clock = [0]


def tick():
    clock[0] += 1
    return clock[0]


def app_edit(s, sqls, force_key=None):
    """One random application write on side s (recorded in the model)."""
    d = side[s]
    k = force_key if force_key is not None else rng.choice(KEYS)
    if k in d.rows:
        if rng.random() < 0.35:
            sqls.append("DELETE FROM m WHERE id = %d" % k)
            del d.rows[k]
            del d.tag[k]
            return k, "delete"
        v = "%s%d%s" % (s[0], tick(), "#" if rng.random() < 0.12 else "")
        u = clock[0] if rng.random() < 0.8 else 7  # sometimes the same updated time
        sqls.append("UPDATE m SET v = '%s', u = %d WHERE id = %d" % (v, u, k))
        d.rows[k] = (trig(s, v), u)
        d.tag[k] = "changed"
        return k, "update"
    v = "%s%d%s" % (s[0], tick(), "#" if rng.random() < 0.12 else "")
    u = clock[0] if rng.random() < 0.8 else 7
    sqls.append("INSERT INTO m VALUES (%d, '%s', %d)" % (k, v, u))
    d.rows[k] = (trig(s, v), u)
    d.tag[k] = "changed"
    return k, "insert"


def edits(n_local, n_remote, same_key=False):
    done = {s: [] for s in SIDES}
    sqls = {s: [] for s in SIDES}
    forced = rng.choice(KEYS) if same_key else None
    for s, n in (("local", n_local), ("remote", n_remote)):
        for i in range(n):
            done[s].append(app_edit(s, sqls[s], forced if i == 0 else None))
    for s in SIDES:
        if sqls[s]:
            psql(s, "; ".join(sqls[s]))
    return done


def decide(policy, delete, stateful):
    """The run, computed on the state before it: the writes on each side,
    the conflicts and kept keys with their reasons, the new base and
    unresolved keys."""
    L, R = side["local"], side["remote"]
    writes = {s: {} for s in SIDES}   # key -> ("ins"|"upd", value) or ("del", None)
    conflicts, kept = {}, {}
    new_base, new_unres = set(base) if stateful else set(), dict(unres) if stateful else {}
    keys = set(L.rows) | set(R.rows) | (base | set(unres) if stateful else set())

    def send(frm, k, kind):
        to = "remote" if frm == "local" else "local"
        writes[to][k] = (kind, side[frm].rows[k])

    def settle(k, why):
        """Both present and different: --conflict."""
        if policy == "local":
            send("local", k, "upd")
            return True
        if policy == "remote":
            send("remote", k, "upd")
            return True
        if policy == "newer":
            ul, ur = L.rows[k][1], R.rows[k][1]
            if ul != ur:
                send("local" if ul > ur else "remote", k, "upd")
                return True
            why = "the same updated time on both sides"
        conflicts[k] = why
        return False

    for k in sorted(keys):
        pl, pr = k in L.rows, k in R.rows
        if not stateful:
            # Stateless: one-sided rows cross; rows that differ are conflicts.
            if pl and pr:
                if L.rows[k] != R.rows[k] and not settle(k, "differs on both sides"):
                    new_unres[k] = (True, True)
                new_base.add(k)
            elif pl or pr:
                send("local" if pl else "remote", k, "ins")
                new_base.add(k)
            continue
        inb = k in base
        cl, cr = unres.get(k, (False, False))
        # Changed since the agreed state: written by someone else, new (not
        # in the base), deleted (in the base, gone), or carried over.
        dl = cl or ((L.cls(k) == 2 or not inb) if pl else inb)
        dr = cr or ((R.cls(k) == 2 or not inb) if pr else inb)
        looked_at = (pl and L.cls(k) != 0) or (pr and R.cls(k) != 0) or (inb != pl) or (inb != pr) or k in unres
        if not looked_at:
            if L.rows.get(k) != R.rows.get(k):
                fail("model: key %d unchanged on both sides but different: %r %r" % (k, L.rows.get(k), R.rows.get(k)))
            continue

        def resolved(present):
            new_unres.pop(k, None)
            if present:
                new_base.add(k)
            else:
                new_base.discard(k)

        if pl and pr and L.rows[k] == R.rows[k]:
            resolved(True)
        elif not pl and not pr:
            resolved(False)
        elif pl and pr:
            if dl and not dr:
                send("local", k, "upd")
                resolved(True)
            elif dr and not dl:
                send("remote", k, "upd")
                resolved(True)
            elif settle(k, "differs on both sides" if dl else "differs, changed on neither side"):
                resolved(True)
            else:
                new_unres[k] = (True, True)
        else:
            on = "local" if pl else "remote"
            off = "remote" if pl else "local"
            d_on, d_off = (dl, dr) if pl else (dr, dl)
            if not d_off:
                send(on, k, "ins")
                resolved(True)
            elif not d_on:
                if delete:
                    writes[on][k] = ("del", None)
                    resolved(False)
                else:
                    kept[k] = "deleted on %s, kept on %s" % (off, on)
                    new_unres[k] = (on == "remote", on == "local")
            else:
                pick = {"local": "local", "remote": "remote"}.get(policy)
                if policy == "newer" or pick == on:
                    send(on, k, "ins")
                    resolved(True)
                elif pick == off and delete:
                    writes[on][k] = ("del", None)
                    resolved(False)
                elif pick == off:
                    kept[k] = "deleted on %s, kept on %s" % (off, on)
                    new_unres[k] = (on == "remote", on == "local")
                else:
                    conflicts[k] = "deleted on %s, changed on %s" % (off, on)
                    new_unres[k] = (True, True)
    return writes, conflicts, kept, new_base, new_unres


def dump(s):
    out = psql(s, "SELECT id, v, u FROM m ORDER BY id")
    rows = {}
    for line in out.splitlines():
        i, v, u = line.split("|")
        rows[int(i)] = (v, int(u))
    return rows


def check_db(when):
    for s in SIDES:
        got = dump(s)
        if got != side[s].rows:
            fail("%s: %s holds %r, the model %r" % (when, s, got, side[s].rows))


def run(rnd):
    global base, unres, have_state
    policy = rng.choice(["skip", "newer", "local", "remote"])
    delete = rng.random() < 0.5
    full = rng.random() < 0.06
    force_full = rng.random() < 0.3
    pause = rng.random() < 0.2
    args = [SYNCCTL, "tenant-sync", "--local", URI["local"], "--remote", URI["remote"], "--direction", "both",
            "--table", "m", "--conflict", policy, "--updated-column", "u", "--json"]
    if delete:
        args.append("--delete")
    if full:
        args.append("--full")
    stateful = have_state and not full
    writes, conflicts, kept, new_base, new_unres = decide(policy, delete, stateful)
    env = dict(os.environ)
    if force_full:
        env["SYNCCTL_TEST_FULL"] = "1"
    pdir = None
    if pause:
        pdir = tempfile.mkdtemp()
        env["SYNCCTL_TEST_PAUSE"] = "before-write:" + pdir
    proc = subprocess.Popen(args, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env)
    fails = False
    if pause:
        for _ in range(3000):
            if os.path.exists(pdir + "/paused") or proc.poll() is not None:
                break
            time.sleep(0.01)
        if not os.path.exists(pdir + "/paused"):
            out, err = proc.communicate()
            fail("round %d: the run did not pause: %s %s" % (rnd, out, err))
        # Edits while the run waits: the run read its snapshot before them.
        done = edits(rng.randint(0, 2), rng.randint(0, 2))
        cover("edits during a paused run")
        for s in SIDES:
            paused_edits[s] = {k for k, _ in done[s]}
            for k, _ in done[s]:
                if k in writes[s]:
                    fails = True
        open(pdir + "/resume", "w").close()
    out, err = proc.communicate()
    if pdir:
        for f in ("paused", "resume"):
            try:
                os.unlink(os.path.join(pdir, f))
            except FileNotFoundError:
                pass
        os.rmdir(pdir)
    if "Sanitizer" in err or "runtime error:" in err:
        fail("round %d: sanitizer report:\n%s" % (rnd, err))
    if fails:
        # A row the run would write was changed while it waited: nothing is
        # written, and the state stays as it was.
        if proc.returncode != 3 or "could not serialize" not in err and "duplicate key" not in err:
            fail("round %d: expected the run to fail (exit 3), got %d: %s %s" % (rnd, proc.returncode, out, err))
        cover("a paused run failed on an edited row")
        check_db("round %d (failed run)" % rnd)
        return
    want_rc = 1 if conflicts else 0
    if proc.returncode != want_rc:
        fail("round %d: exit %d, the model expects %d\nstdout: %s\nstderr: %s" % (rnd, proc.returncode, want_rc, out, err))
    d = json.loads(out)
    mode = "stateful" if stateful else "stateless"
    if d["mode"] != mode:
        fail("round %d: mode %s (%s), the model expects %s" % (rnd, d["mode"], d["mode_reason"], mode))
    got_conflicts = {int(c["key"]): c["reason"] for c in d["conflicts"]}
    if got_conflicts != conflicts:
        fail("round %d: conflicts %r, the model's %r" % (rnd, got_conflicts, conflicts))
    got_unres = {(int(u["key"]), u["kind"], u["reason"]) for u in d["unresolved"]}
    want_unres = {(k, "conflict", r) for k, r in conflicts.items()} | {(k, "kept", r) for k, r in kept.items()}
    if got_unres != want_unres:
        fail("round %d: unresolved %r, the model's %r" % (rnd, sorted(got_unres), sorted(want_unres)))
    # After the run: what it wrote is its own; edits made while it waited
    # came after its snapshot and stay changed; everything else is old.
    for s in SIDES:
        dd = side[s]
        for k in dd.tag:
            if not (dd.tag[k] == "changed" and k in paused_edits.get(s, set())):
                dd.tag[k] = "old"
        for k, (kind, row) in writes[s].items():
            if kind == "del":
                del dd.rows[k]
                del dd.tag[k]
            else:
                dd.rows[k] = (trig(s, row[0]), row[1])
                dd.tag[k] = "ours"
    base, unres, have_state = new_base, new_unres, True
    cover("mode " + mode)
    cover("policy " + policy + (" --delete" if delete else ""))
    if force_full and stateful:
        cover("every row read (forced)")
    for k, why in conflicts.items():
        cover("conflict: " + why.split(",")[0].replace("local", "X").replace("remote", "X"))
    if kept:
        cover("kept delete")
    if any(kind == "del" for s in SIDES for kind, _ in writes[s].values()):
        cover("delete propagated")
    check_db("round %d" % rnd)


paused_edits = {}


def main():
    for s in SIDES:
        psql(s, "DROP TABLE IF EXISTS m; DROP SCHEMA IF EXISTS syncctl CASCADE;"
                " CREATE TABLE m (id int PRIMARY KEY, v text NOT NULL, u bigint NOT NULL)")
    psql("remote", "CREATE FUNCTION m_mark() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
                   " IF NEW.v LIKE '%#' THEN NEW.v := NEW.v || '!'; END IF; RETURN NEW; END $$;"
                   " CREATE TRIGGER m_mark BEFORE INSERT OR UPDATE ON m FOR EACH ROW EXECUTE FUNCTION m_mark()")
    deleted_keys = {s: set() for s in SIDES}
    t0 = time.time()
    for rnd in range(1, ROUNDS + 1):
        same = rng.random() < 0.3
        done = edits(rng.randint(0, 3), rng.randint(0, 3), same_key=same)
        keys = {s: {k for k, _ in done[s]} for s in SIDES}
        if keys["local"] & keys["remote"]:
            cover("same row edited on both sides")
            for k in keys["local"] & keys["remote"]:
                ops = {dict(done[s])[k] for s in SIDES}
                if "delete" in ops and ops & {"update", "insert"}:
                    cover("delete against update")
        for s in SIDES:
            for k, op in done[s]:
                if op == "insert" and k in deleted_keys[s]:
                    cover("a deleted key inserted again")
                if op == "delete":
                    deleted_keys[s].add(k)
        if any(v.endswith("#!") for v, _ in side["remote"].rows.values()):
            cover("trigger rewrote a row")
        paused_edits.clear()
        run(rnd)
    took = time.time() - t0
    print("%d rounds in %.1f s (SEED=%d)" % (ROUNDS, took, SEED))
    for what in sorted(coverage):
        print("  %5d  %s" % (coverage[what], what))


if __name__ == "__main__":
    main()
