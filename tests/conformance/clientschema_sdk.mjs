// Opens a client database with the official SDK (@powersync/node) using a
// schema written by `syncctl schema client --lang ts`, as an app would:
//
//   node clientschema_sdk.mjs SCHEMA.ts DIR [EDITS.json]
//
// The schema's import is pointed at @powersync/node and its types are
// stripped by npm typescript (transpileModule); EDITS.json, when given, is
// a list of [regex, replacement] applied to the TypeScript first (to make
// deliberately wrong schemas). Creates DIR/client.db with that schema, puts
// one row of each table named in $UNTYPED that the schema does not sync in
// ps_untyped (as a sync of those rules would), closes it, and prints the schema the SDK was given as JSON:
// [{"name", "localOnly", "columns": [{"name", "type"}]}].
import { existsSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';

const [schemaPath, dir, editsPath] = process.argv.slice(2);
let source = readFileSync(schemaPath, 'utf8');
source = source.replace(
  /^import \{([^}]*)\} from '@powersync\/(web|react-native)';\n(\/\/ OR: [^\n]*\n)?/m,
  "import {$1} from '@powersync/node';\n"
);
if (editsPath) {
  for (const [pattern, replacement] of JSON.parse(readFileSync(editsPath, 'utf8'))) {
    const re = new RegExp(pattern, 'm');
    if (!re.test(source)) throw new Error(`edit ${pattern} matches nothing`);
    source = source.replace(re, replacement);
  }
}
const js = ts.transpileModule(source, {
  compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
}).outputText;
mkdirSync(dir, { recursive: true });
writeFileSync(`${dir}/schema.mjs`, js);
// ESM resolves packages from the importing file: the app's own node_modules.
if (!existsSync(`${dir}/node_modules`)) symlinkSync(fileURLToPath(new URL('node_modules', import.meta.url)), `${dir}/node_modules`);
const { AppSchema } = await import(pathToFileURL(`${dir}/schema.mjs`).href);
const { PowerSyncDatabase } = await import('@powersync/node');

const db = new PowerSyncDatabase({ schema: AppSchema, database: { dbFilename: 'client.db', dbLocation: dir } });
await db.init();
// Rows of synced tables the schema does not declare (or declares local-only)
// are kept by the client in ps_untyped.
const synced = new Set(AppSchema.tables.filter((t) => !t.localOnly).map((t) => t.name));
for (const name of JSON.parse(process.env.UNTYPED ?? '[]').filter((n) => !synced.has(n))) {
  await db.execute('INSERT OR REPLACE INTO ps_untyped(type, id, data) VALUES (?, ?, ?)', [name, `${name}-1`, '{}']);
}
await db.close();
const declared = AppSchema.tables.map((t) => ({
  name: t.name,
  localOnly: !!t.localOnly,
  columns: t.columns.map((c) => ({ name: c.name, type: c.type })),
}));
console.log(JSON.stringify(declared));
process.exit(0);
