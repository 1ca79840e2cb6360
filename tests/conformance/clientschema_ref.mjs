// The reference for `syncctl schema client`: PowerSync's own schema
// generators (npm @powersync/service-sync-rules, dist/schema-generators/),
// fed a StaticSchema built from a live Postgres database the way the
// service builds it for its schema API.
//
//   node clientschema_ref.mjs JOBS.json
//
// JOBS.json: [{"rules": FILE, "db": CONNINFO, "out": DIR, "variants":
//   [{"name", "lang", "typeComments", "imports"}]}]. Writes DIR/NAME for
// each variant; prints one JSON line per job: {"rules", "ok", "errors"}
// (errors: what fromYaml reported, or what a generator threw).
//
// The database is read through psql with the service's own statements,
// copied from modules/module-postgres/src/api/PostgresRouteAPIAdapter.ts
// (getConnectionSchema) and src/types/resolver.ts (fetchTypesForSchema,
// fetchTypes); the rows are turned into the schema API's answer as
// getConnectionSchema does, each column typed as types/registry.ts
// (CustomTypeRegistry) types it. One node process runs every job.

// Node 20 lacks Object.groupBy/Map.groupBy, which the streams compiler calls.
import './groupby_polyfill.mjs';
const sr = await import('@powersync/service-sync-rules');
const { readFileSync, writeFileSync, mkdirSync } = await import('node:fs');
const { execFileSync } = await import('node:child_process');

// psql: rows of text fields, separated by ASCII unit and record separators
// (JSON text never holds raw control characters).
function query(db, sql) {
  const out = execFileSync('psql', [db, '-X', '-q', '-v', 'ON_ERROR_STOP=1', '-A', '-t', '-F', '\x1f', '-R', '\x1e', '-c', sql], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  });
  return out
    .split('\x1e')
    .map((r) => r.replace(/^\n/, ''))
    .filter((r) => r.length)
    .map((r) => r.split('\x1f'));
}

// PostgresRouteAPIAdapter.getConnectionSchema's statement.
const CONNECTION_SCHEMA_SQL = `SELECT
tbl.schemaname,
tbl.tablename,
tbl.quoted_name,
json_agg(a ORDER BY attnum) as columns
FROM
(
  SELECT
    n.nspname as schemaname,
    c.relname as tablename,
    (quote_ident(n.nspname) || '.' || quote_ident(c.relname)) as quoted_name
  FROM
    pg_catalog.pg_class c
    JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace
  WHERE
    c.relkind = 'r'
    AND n.nspname not in ('information_schema', 'pg_catalog', 'pg_toast')
    AND n.nspname not like 'pg_temp_%'
    AND n.nspname not like 'pg_toast_temp_%'
    AND c.relnatts > 0
    AND has_schema_privilege(n.oid, 'USAGE') = true
    AND has_table_privilege(quote_ident(n.nspname) || '.' || quote_ident(c.relname), 'SELECT, INSERT, UPDATE, DELETE, TRUNCATE, REFERENCES, TRIGGER') = true
) as tbl
LEFT JOIN (
  SELECT
    attrelid,
    attname,
    atttypid,
    format_type(atttypid, atttypmod) as data_type,
    (SELECT typname FROM pg_catalog.pg_type WHERE oid = atttypid) as pg_type,
    attnum,
    attisdropped
  FROM
    pg_attribute
) as a ON (
  a.attrelid = tbl.quoted_name::regclass
  AND a.attnum > 0
  AND NOT a.attisdropped
  AND has_column_privilege(tbl.quoted_name, a.attname, 'SELECT, INSERT, UPDATE, REFERENCES')
)
GROUP BY schemaname, tablename, quoted_name`;

// resolver.ts fetchTypesForSchema
const TYPES_FOR_SCHEMA_SQL = `
SELECT DISTINCT a.atttypid AS type_oid
FROM pg_attribute a
JOIN pg_class c ON c.oid = a.attrelid
JOIN pg_namespace cn ON cn.oid = c.relnamespace
JOIN pg_type t ON t.oid = a.atttypid
JOIN pg_namespace tn ON tn.oid = t.typnamespace
WHERE a.attnum > 0
  AND NOT a.attisdropped
  AND cn.nspname not in ('information_schema', 'pg_catalog', 'pg_toast')
    `;

// resolver.ts fetchTypes (its $1, an int8[], written in as a literal here).
function fetchTypesSql(oids, multiRange) {
  const multiRangeDesc = `WHEN 'm' THEN json_build_object('inner', (SELECT rngsubtype FROM pg_range WHERE rngmultitypid = t.oid))`;
  return `
SELECT oid, t.typtype,
    CASE t.typtype
        WHEN 'b' THEN json_build_object('element_type', t.typelem, 'delim', (SELECT typdelim FROM pg_type i WHERE i.oid = t.typelem))
        WHEN 'd' THEN json_build_object('type', t.typbasetype)
        WHEN 'c' THEN json_build_object(
            'elements',
            (SELECT json_agg(json_build_object('name', a.attname, 'type', a.atttypid))
                FROM pg_attribute a
                WHERE a.attrelid = t.typrelid)
        )
        WHEN 'r' THEN json_build_object('inner', (SELECT rngsubtype FROM pg_range WHERE rngtypid = t.oid))
        ${multiRange ? multiRangeDesc : ''}
        ELSE NULL
    END AS desc
FROM pg_type t
WHERE t.oid = ANY('{${oids.join(',')}}'::int8[])
`;
}

// registry.ts CustomTypeRegistry: the builtins of jpgwire's PgTypeOid
// (packages/jpgwire/src/pgwire_types.ts) with the SQLite type its
// constructor gives each; arrays of builtins (ARRAY_TO_ELEM_OID) are text.
const PG_TYPE_OID = {
  TEXT: 25, UUID: 2950, VARCHAR: 1043, BOOL: 16, BYTEA: 17, INT2: 21, INT4: 23, OID: 26, INT8: 20,
  FLOAT4: 700, FLOAT8: 701, DATE: 1082, TIMESTAMP: 1114, TIMESTAMPTZ: 1184, TIME: 1083, JSON: 114,
  JSONB: 3802, PG_LSN: 3220,
};
const ARRAY_TO_ELEM_OID = [
  1000, 1001, 1002, 1003, 1016, 1005, 1006, 1007, 1008, 1009, 1028, 1010, 1011, 1012, 1013, 210, 270, 272, 273,
  199, 143, 271, 1017, 1018, 1019, 1020, 1027, 629, 1021, 1022, 0, 719, 791, 1040, 1041, 651, 775, 1034, 1014,
  1015, 1182, 1183, 1115, 1185, 1187, 1270, 1561, 1563, 1231, 2201, 2207, 2208, 2209, 2210, 4192, 2211, 4097,
  4090, 2951, 3221, 3643, 3644, 3645, 3735, 3770, 3807, 4073,
];

class Registry {
  constructor() {
    this.byOid = new Map();
    for (const builtin of Object.values(PG_TYPE_OID)) {
      let sqliteType;
      switch (builtin) {
        case PG_TYPE_OID.BYTEA: sqliteType = 'blob'; break;
        case PG_TYPE_OID.BOOL: case PG_TYPE_OID.INT2: case PG_TYPE_OID.INT4: case PG_TYPE_OID.OID: case PG_TYPE_OID.INT8:
          sqliteType = 'integer'; break;
        case PG_TYPE_OID.FLOAT4: case PG_TYPE_OID.FLOAT8: sqliteType = 'real'; break;
        default: sqliteType = 'text';
      }
      this.byOid.set(builtin, { type: 'builtin', sqliteType: () => sqliteType });
    }
    for (const arrayId of ARRAY_TO_ELEM_OID) this.byOid.set(arrayId, { type: 'builtin', sqliteType: () => 'text' });
  }
  knows(oid) { return this.byOid.has(oid); }
  lookupType(oid) { return this.byOid.get(oid) ?? { type: 'unknown', sqliteType: () => 'text' }; }
  setDomainType(oid, inner) {
    this.byOid.set(oid, { type: 'domain', innerId: inner, sqliteType: () => this.lookupType(inner).sqliteType() });
  }
}

function loadRegistry(db) {
  const registry = new Registry();
  const version = Number(query(db, 'SHOW server_version_num')[0][0]);
  const ids = query(db, TYPES_FOR_SCHEMA_SQL).map((r) => Number(r[0]));
  let pending = ids.filter((id) => !registry.knows(id));
  while (pending.length != 0) {
    const rows = query(db, fetchTypesSql(pending, version >= 140000));
    const stillPending = [];
    const requireType = (oid) => {
      if (!registry.knows(oid) && !pending.includes(oid) && !stillPending.includes(oid)) stillPending.push(oid);
    };
    for (const [oidText, typtype, descText] of rows) {
      const oid = Number(oidText);
      const desc = descText ? JSON.parse(descText) : null;
      switch (typtype) {
        case 'b':
          if (!registry.knows(oid)) {
            const inner = Number(desc.element_type);
            if (inner != 0) {
              requireType(inner);
              registry.byOid.set(oid, { type: 'array', innerId: inner, sqliteType: () => 'text' });
            }
          }
          break;
        case 'c':
          for (const { type } of desc.elements) requireType(Number(type));
          registry.byOid.set(oid, { type: 'composite', sqliteType: () => 'text' });
          break;
        case 'd': {
          const inner = Number(desc.type);
          registry.setDomainType(oid, inner);
          requireType(inner);
          break;
        }
        case 'r':
        case 'm':
          registry.byOid.set(oid, { type: typtype == 'r' ? 'range' : 'multirange', sqliteType: () => 'text' });
      }
    }
    pending = stillPending;
  }
  return registry;
}

// getConnectionSchema's answer (service_types.DatabaseSchema[]).
function connectionSchema(db) {
  const rows = query(db, CONNECTION_SCHEMA_SQL);
  const registry = loadRegistry(db);
  const schemas = {};
  for (const [schemaname, tablename, , columnsText] of rows) {
    const schema = (schemas[schemaname] ??= { name: schemaname, tables: [] });
    const table = { name: tablename, columns: [] };
    schema.tables.push(table);
    for (const column of JSON.parse(columnsText)) {
      let pg_type = column.pg_type;
      if (pg_type.startsWith('_')) pg_type = `${pg_type.substring(1)}[]`;
      const knownType = registry.lookupType(Number(column.atttypid));
      table.columns.push({
        name: column.attname,
        sqlite_type: sr.ExpressionType.fromTypeText(knownType.sqliteType()).typeFlags,
        type: column.data_type,
        internal_type: column.data_type,
        pg_type,
      });
    }
  }
  return Object.values(schemas);
}

const generators = {
  ts: (o) => new sr.TsSchemaGenerator({ language: sr.TsSchemaLanguage.ts, ...(o.imports ? { imports: o.imports } : {}) }),
  js: (o) => new sr.TsSchemaGenerator({ language: sr.TsSchemaLanguage.js, ...(o.imports ? { imports: o.imports } : {}) }),
  'js-legacy': () => sr.schemaGenerators.jsLegacy,
  dart: () => sr.schemaGenerators.dart,
  kotlin: () => sr.schemaGenerators.kotlin,
  swift: () => sr.schemaGenerators.swift,
  dotnet: () => sr.schemaGenerators.dotNet,
  'dotnet-class': () => sr.schemaGenerators.dotNetClass,
  room: () => new sr.RoomSchemaGenerator(),
  drift: () => sr.driftSchemaGenerator,
};
const IMPORTS = { web: 'web', 'react-native': 'reactNative', auto: 'auto' };

const jobs = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const schemas = new Map();
for (const job of jobs) {
  if (!schemas.has(job.db)) schemas.set(job.db, new sr.StaticSchema([{ tag: sr.DEFAULT_TAG, schemas: connectionSchema(job.db) }]));
  const schema = schemas.get(job.db);
  const yaml = readFileSync(job.rules, 'utf8');
  const errors = [];
  let config;
  try {
    const parsed = sr.SqlSyncRules.fromYaml(yaml, { defaultSchema: 'public', schema, throwOnError: false });
    config = parsed.config;
    for (const e of parsed.errors) if (e.type !== 'warning') errors.push(e.message);
  } catch (e) {
    errors.push(String(e.message ?? e));
  }
  mkdirSync(job.out, { recursive: true });
  if (config && !errors.length) {
    for (const v of job.variants) {
      try {
        const gen = generators[v.lang]({ imports: v.imports ? IMPORTS[v.imports] : undefined });
        writeFileSync(`${job.out}/${v.name}`, gen.generate(config, schema, { includeTypeComments: !!v.typeComments }));
      } catch (e) {
        errors.push(`${v.name}: ${e.message}`);
      }
    }
  }
  console.log(JSON.stringify({ rules: job.rules, ok: !errors.length, errors }));
}
