#!/usr/bin/env python3
"""`syncctl rules validate` against the npm reference on a corpus of sync
rules written by others (../shared/corpora/rules-powersync: PowerSync's own
test strings and demos), which is read where it lies and never copied.

  rules_corpus.py SYNCCTL PEERS_DIR CASES_DIR README

One node process computes every reference verdict; syncctl runs once per
file (four at a time). For each file: the same verdict as the reference,
except the files tests/rules/README.md lists under "Newer source" (a table
of file | 0.38.1 | newer | why): there syncctl must give the newer
verdict, and the reference must still give its old one (when it no longer
does, the list is stale and the test says so). For files both call
invalid where the reference locates its first fatal error: syncctl must
report an error on that line in at least 95% of them (the issue's target;
the figure is printed). Prints TAP, then a summary line."""
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

syncctl, peers, cases, readme = sys.argv[1:5]
files = sorted(os.path.abspath(os.path.join(cases, f)) for f in os.listdir(cases) if f.endswith(('.yaml', '.yml')))

newer = {}
section = False
for line in open(readme):
    if line.startswith('## '):
        section = line.strip().lower().startswith('## newer source')
    m = re.match(r'\|\s*`?([\w.-]+\.ya?ml)`?\s*\|\s*(valid|invalid)\s*\|\s*(valid|invalid)\s*\|', line)
    if section and m:
        newer[m.group(1)] = (m.group(2) == 'valid', m.group(3) == 'valid')

out = subprocess.run(['node', os.path.join(peers, 'rules_ref.mjs')] + files,
                     capture_output=True, text=True, check=True, cwd=peers).stdout
ref = {}
for line in out.splitlines():
    d = json.loads(line)
    ref[d['file']] = d


def run(f):
    p = subprocess.run([syncctl, 'rules', 'validate', f, '--json'], capture_output=True, text=True)
    if p.returncode == 2:
        return f, (False, set(), p.stderr.strip())
    if p.returncode not in (0, 1):
        return f, (None, set(), f'exit {p.returncode}: {p.stderr.strip()[:300]}')
    d = json.loads(p.stdout)
    return f, (d['valid'], {e['line'] for e in d['errors'] if e['severity'] == 'error' and e['line']}, '')


with ThreadPoolExecutor(4) as ex:
    ours = dict(ex.map(run, files))

failed = agree = located = on_line = 0
print(f'1..{len(files)}')
for i, f in enumerate(files, 1):
    name = os.path.basename(f)
    r = ref[f]
    valid, lines, why = ours[f]
    fatal = [e for e in r['errors'] if e['type'] != 'warning']
    first = next((e['line'] for e in fatal if 'line' in e), None)
    rv = 'valid' if r['valid'] else 'invalid'
    if valid is None:
        failed += 1
        print(f'not ok {i} {name}: syncctl {why}')
        continue
    if name in newer:
        old, new = newer[name]
        if r['valid'] != old:
            failed += 1
            print(f'not ok {i} {name}: listed as newer-source ({old} -> {new}) but the reference now says {rv}: update tests/rules/README.md')
        elif valid != new:
            failed += 1
            print(f'not ok {i} {name}: the newer source says {"valid" if new else "invalid"}, syncctl {"valid" if valid else "invalid"}')
        else:
            print(f'ok {i} {name}: newer source: {"valid" if new else "invalid"} (0.38.1: {rv})')
        continue
    if valid != r['valid']:
        failed += 1
        print(f'not ok {i} {name}: syncctl {"valid" if valid else "invalid"} {sorted(lines)} {why}; reference {rv}: '
              f'{[(e.get("line"), e["message"][:80]) for e in fatal]}')
        continue
    agree += 1
    note = ''
    if not r['valid'] and first:
        located += 1
        if first in lines:
            on_line += 1
        else:
            note = f' # first fatal error on line {first}, syncctl {sorted(lines)}'
    print(f'ok {i} {name}: both {rv}{note}')

pct = 100.0 * on_line / located if located else 100.0
print(f'# verdicts: {agree} of {len(files) - len(newer)} agree with the reference, '
      f'{len(newer)} follow the newer source; first fatal line: {on_line} of {located} ({pct:.1f}%)')
if pct < 95:
    failed += 1
    print(f'not ok {len(files) + 1} location agreement {pct:.1f}% is below 95%')
sys.exit(1 if failed else 0)
