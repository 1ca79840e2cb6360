#!/usr/bin/env python3
"""Conformance of `syncctl rules validate` with the npm reference
(@powersync/service-sync-rules, SqlSyncRules.validate).

  rules_compare.py SYNCCTL PEERS_DIR CORPUS_DIR DIVERGENCES_FILE

For every file: both must agree on valid/invalid, and on the line of each
fatal error the reference locates. When the reference also reports errors
without a position (its schema checks), syncctl may say more, with lines.
syncctl exiting 2 (YAML it cannot load) counts as invalid. Files listed in
DIVERGENCES_FILE ("name: reason") are deliberate and reported, not failed.
Prints one TAP line per file."""
import json
import os
import subprocess
import sys

syncctl, peers, corpus, div_file = sys.argv[1:5]
files = sorted(os.path.abspath(os.path.join(corpus, f)) for f in os.listdir(corpus) if f.endswith(".yaml"))
divergent = {}
for line in open(div_file):
    line = line.strip()
    if line and not line.startswith('#'):
        name, _, why = line.partition(':')
        divergent[name.strip()] = why.strip()

out = subprocess.run(['node', os.path.join(peers, 'rules_ref.mjs')] + files,
                     capture_output=True, text=True, check=True, cwd=peers).stdout
reference = {}
for line in out.splitlines():
    d = json.loads(line)
    reference[d['file']] = d

failed = 0
print(f'1..{len(files)}')
for i, f in enumerate(files, 1):
    name = os.path.basename(f)
    p = subprocess.run([syncctl, 'rules', 'validate', f, '--json'], capture_output=True, text=True)
    if p.returncode == 2:
        valid, lines = False, None
    elif p.returncode in (0, 1):
        d = json.loads(p.stdout)
        valid = d['valid']
        lines = sorted({e['line'] for e in d['errors'] if e['severity'] == 'error' and e['line']})
    else:
        print(f'not ok {i} {name}: syncctl exited {p.returncode}: {p.stderr.strip()}')
        failed += 1
        continue
    r = reference[f]
    rlines = sorted({e['line'] for e in r['errors'] if e['type'] != 'warning' and 'line' in e})
    unlocated = any(e['type'] != 'warning' and 'line' not in e for e in r['errors'])
    if lines is None:
        ok = not r['valid']
    elif unlocated:
        ok = valid == r['valid'] and set(rlines) <= set(lines)
    else:
        ok = valid == r['valid'] and lines == rlines
    verdict = 'valid' if r['valid'] else 'invalid'
    if ok:
        print(f'ok {i} {name}: both {verdict}' + (f', fatal lines {rlines}' if rlines else ''))
    elif name in divergent:
        print(f'ok {i} {name} # SKIP deliberate divergence: {divergent[name]}')
    else:
        failed += 1
        print(f'not ok {i} {name}: syncctl {"valid" if valid else "invalid"} lines {lines}; '
              f'reference {verdict} lines {rlines}: {[e["message"][:80] for e in r["errors"]]}')
sys.exit(1 if failed else 0)
