#!/usr/bin/env python3
"""`syncctl schema client` against PowerSync's own schema generators, byte
for byte, on the corpus tests/clientschema/corpus against real databases.

  clientschema_corpus.py SYNCCTL PEERS_DIR CORPUS_DIR BASE_URI WORKDIR [--sanitizer]

Each corpus file names its database in a `# database: NAME` line (created
from tests/clientschema/db/NAME.sql by the caller, at BASE_URI/NAME). Every
file is generated in every variant: each --lang, each --lang with
--type-comments, and ts and js with each --imports. syncctl runs once per
file and variant (two at a time, one under the sanitizers); one node process computes every
reference output (clientschema_ref.mjs, its StaticSchema read from the same
database as the service's getConnectionSchema reads it).

tests/clientschema/DIVERGENCES lists the files where the reference cannot
generate (its generator throws): there the reference must still throw with
the message given, and syncctl's output must equal the files kept under
tests/clientschema/expected/FILE/. Prints TAP, then a summary line.

With --sanitizer (the ASan+UBSan binary, some ten times slower) every file
is generated in one variant (ts with type comments) and every variant is
generated for the first four files: each file's computation and each
renderer runs under the sanitizers, the whole product under the release
binary."""
import difflib
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

syncctl, peers, corpus, base, work = sys.argv[1:6]
sanitizer = '--sanitizer' in sys.argv[6:]
root = os.path.dirname(os.path.abspath(corpus))
files = sorted(os.path.join(os.path.abspath(corpus), f) for f in os.listdir(corpus) if f.endswith('.yaml'))
langs = ['ts', 'js', 'js-legacy', 'dart', 'kotlin', 'swift', 'dotnet', 'dotnet-class', 'room', 'drift']
variants = [{'name': l, 'lang': l} for l in langs]
variants += [{'name': f'{l}-comments', 'lang': l, 'typeComments': True} for l in langs]
variants += [{'name': f'{l}-{i}', 'lang': l, 'imports': i} for l in ('ts', 'js') for i in ('web', 'react-native', 'auto')]

divergent = {}
for line in open(os.path.join(root, 'DIVERGENCES')):
    m = re.match(r'^([\w.-]+\.yaml): the reference throws: (.+)$', line.strip())
    if m:
        divergent[m.group(1)] = m.group(2)


def database(f):
    for line in open(f):
        m = re.match(r'^# database: (\w+)\s*$', line)
        if m:
            return f'{base}/{m.group(1)}'
    raise SystemExit(f'{f}: no "# database: NAME" line')


def args(v):
    a = ['--lang', v['lang']]
    if v.get('typeComments'):
        a.append('--type-comments')
    if v.get('imports'):
        a += ['--imports', v['imports']]
    return a


def run(job):
    f, v = job
    p = subprocess.run([syncctl, 'schema', 'client', '--rules', f, '--db', database(f)] + args(v),
                       capture_output=True, text=True)
    return (f, v['name']), (p.returncode, p.stdout, p.stderr)


def wanted(f, v):
    return not sanitizer or v['name'] == 'ts-comments' or files.index(f) < 4


jobs = [(f, v) for f in files for v in variants if wanted(f, v)]
# make check runs two test files at once on two cores: one syncctl at a time
# under the sanitizers, two otherwise, so the other file's timings hold.
with ThreadPoolExecutor(1 if sanitizer else 2) as ex:
    ours = dict(ex.map(run, jobs))

refjobs = [{'rules': f, 'db': database(f), 'out': os.path.join(work, os.path.basename(f)), 'variants': variants} for f in files]
with open(os.path.join(work, 'jobs.json'), 'w') as fh:
    json.dump(refjobs, fh)
out = subprocess.run(['node', os.path.join(peers, 'clientschema_ref.mjs'), os.path.join(work, 'jobs.json')],
                     capture_output=True, text=True, check=True, cwd=peers).stdout
ref = {}
for line in out.splitlines():
    d = json.loads(line)
    ref[d['rules']] = d


def first_diff(want, got, label):
    d = list(difflib.unified_diff(want.splitlines(True), got.splitlines(True), 'reference', 'syncctl', n=1))
    return f'{label}:\n' + ''.join(d[:30])


failed = 0
print(f'1..{len(files)}')
for i, f in enumerate(files, 1):
    name = os.path.basename(f)
    r = ref[f]
    problems = []
    mine = [v for v in variants if wanted(f, v)]
    for v in mine:
        rc, text, err = ours[(f, v['name'])]
        if re.search(r'AddressSanitizer|LeakSanitizer|runtime error:|UndefinedBehaviorSanitizer', err):
            problems.append(f'{v["name"]}: sanitizer report:\n{err}')
        elif rc != 0:
            problems.append(f'{v["name"]}: syncctl exited {rc}: {err.strip()[:500]}')
    if not problems and name in divergent:
        want = [f'{v["name"]}: {divergent[name]}' for v in variants]
        if r['errors'] != want:
            problems.append(f'listed in DIVERGENCES, but the reference now says {r["errors"][:2]}: update tests/clientschema/DIVERGENCES')
        for v in mine:
            path = os.path.join(root, 'expected', name, v['name'])
            if os.path.exists(path):
                expected = open(path).read()
                if ours[(f, v['name'])][1] != expected:
                    problems.append(first_diff(expected, ours[(f, v['name'])][1], f'{v["name"]} (expected/{name}/{v["name"]})'))
        if not os.path.isdir(os.path.join(root, 'expected', name)):
            problems.append(f'no expected outputs in tests/clientschema/expected/{name}/')
    elif not problems:
        if not r['ok']:
            problems.append(f'the reference refused it: {r["errors"][:3]}')
        for v in mine:
            path = os.path.join(work, name, v['name'])
            want = open(path).read() if os.path.exists(path) else None
            got = ours[(f, v['name'])][1]
            if want is None:
                problems.append(f'{v["name"]}: no reference output')
            elif want != got:
                problems.append(first_diff(want, got, v['name']))
    if problems:
        failed += 1
        print(f'not ok {i} {name}')
        for p in problems[:3]:
            print('# ' + p.replace('\n', '\n# '))
    else:
        how = 'as DIVERGENCES says' if name in divergent else 'byte-equal'
        print(f'ok {i} {name}: {len(mine)} outputs {how}')
print(f'# {len(files)} files, {len(jobs)} outputs of {len(variants)} variants: {len(files) - failed} files agree, {failed} differ')
sys.exit(1 if failed else 0)
