// The npm reference implementation of sync rules validation, for the
// conformance suite: `node rules_ref.mjs FILE...` prints one JSON line per
// file: {"file", "valid", "errors": [{"type", "message", "line", "column"}]}.
// Node 20 lacks Object.groupBy/Map.groupBy, which the streams compiler
// calls: the polyfills come first.
import './groupby_polyfill.mjs';
const { SqlSyncRules } = await import('@powersync/service-sync-rules');
const { readFileSync } = await import('node:fs');

function lineCol(text, offset) {
  let line = 1, col = 1;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') { line++; col = 1; } else col++;
  }
  return { line, column: col };
}

for (const file of process.argv.slice(2)) {
  const text = readFileSync(file, 'utf8');
  let errors;
  try {
    errors = SqlSyncRules.validate(text, { defaultSchema: 'public' });
  } catch (e) {
    errors = [{ type: 'fatal', message: String(e.message ?? e) }];
  }
  const out = errors.map((e) => {
    const start = e.location?.start;
    // Errors the reference places at offset 0 carry no real position (its
    // schema checks, 'streams are required'): reported without a line.
    return { type: e.type ?? 'fatal', message: e.message, ...(typeof start === 'number' && start > 0 ? lineCol(text, start) : {}) };
  });
  console.log(JSON.stringify({ file, valid: !out.some((e) => e.type !== 'warning'), errors: out }));
}
