// Decodes what the sync-service stand-in (tests/lib/fake_stack.py) answers
// with the service's own codecs, the npm package @powersync/service-types
// (packages/types of powersync-service): DiagnosticsResponse for POST
// /api/admin/v1/diagnostics, whose body route-register.ts wraps as
// {"data": ...}. ts-codec drops keys it does not know, so the decoded value
// must also deep-equal what was sent: a misspelled or extra field fails.
//   node service_types.mjs URL API_TOKEN        one scenario, prints "ok"
//   node service_types.mjs --self-test          shows that drift is caught
import assert from 'node:assert/strict';
import { internal_routes } from '@powersync/service-types';

function check(data) {
  const decoded = internal_routes.DiagnosticsResponse.decode(data);
  assert.deepStrictEqual(JSON.parse(JSON.stringify(decoded)), data);
}

if (process.argv[2] === '--self-test') {
  const good = { connections: [{ id: 'default', postgres_uri: 'postgresql://h:5432/d', connected: true, errors: [] }] };
  check(good);
  const bad = [
    { connections: [{ ...good.connections[0], postgres_url: 'x' }] },             // unknown key
    { connections: [{ ...good.connections[0], connected: 'yes' }] },              // wrong type
    { connections: [], active_sync_rules: { connections: [], errors: [{ level: 'error', message: 'm' }] } },
    { connections: [], active_sync_rules: { connections: [{ id: '1', tag: 't', slot_name: 's',
        initial_replication_done: true, last_lsn: null, tables: [] }], errors: [] } } // null for an optional field
  ];
  let caught = 0;
  for (const b of bad) {
    try { check(b); } catch { caught++; }
  }
  console.log(caught === bad.length ? 'ok' : `only ${caught} of ${bad.length} drifts caught`);
  process.exit(caught === bad.length ? 0 : 1);
}

const [url, token] = process.argv.slice(2);
const res = await fetch(`${url}/api/admin/v1/diagnostics`, {
  method: 'POST',
  headers: { 'Content-Type': 'application/json', Authorization: `Token ${token}` },
  body: '{}'
});
const body = await res.json();
if (res.status !== 200) {
  console.log(`HTTP ${res.status}: ${JSON.stringify(body)}`);
  process.exit(1);
}
try {
  check(body.data);
  console.log('ok');
} catch (e) {
  console.log(e.message.split('\n').slice(0, 12).join('\n'));
  process.exit(1);
}
