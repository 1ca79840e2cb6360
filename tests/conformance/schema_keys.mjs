// Every key path the sync service's published config schema knows
// (npm @powersync/service-schema, json-schema/powersync-config.json), in
// the notation lib/psconfig.c's list uses: "[]" an array item, "{type=X}"
// or "{kty=X}" the anyOf branch whose const is X, "{generic}" the branch
// without one. Records (a schema as additionalProperties) are not listed.
import fs from 'node:fs';
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
const file = process.argv[2] ?? require.resolve('@powersync/service-schema/schema.json');
const root = JSON.parse(fs.readFileSync(file, 'utf8'));
const paths = new Set();

function visit(node, path) {
  if (!node || typeof node !== 'object') return;
  if (path) paths.add(path);
  for (const [key, sub] of Object.entries(node.properties ?? {})) visit(sub, path ? `${path}.${key}` : key);
  if (node.items) visit(node.items, `${path}[]`);
  for (const branch of node.anyOf ?? []) {
    if (branch.type !== 'object' && !branch.properties) continue;
    const props = branch.properties ?? {};
    const disc = props.type?.const !== undefined ? 'type' : props.kty?.const !== undefined ? 'kty' : null;
    const tag = disc ? `{${disc}=${props[disc].const}}` : '{generic}';
    for (const [key, sub] of Object.entries(props)) visit(sub, `${path}${tag}.${key}`);
    if (branch.items) visit(branch.items, `${path}${tag}[]`);
  }
}

visit(root, '');
console.log([...paths].join('\n'));
