// Object.groupBy and Map.groupBy for Node 20, which lacks them and whose
// @powersync/service-sync-rules streams compiler calls them. Imported
// first by the reference runners (rules_ref.mjs, clientschema_ref.mjs).
if (!Object.groupBy) {
  Object.groupBy = (items, key) => {
    const out = Object.create(null);
    let i = 0;
    for (const item of items) (out[key(item, i++)] ??= []).push(item);
    return out;
  };
}
if (!Map.groupBy) {
  Map.groupBy = (items, key) => {
    const out = new Map();
    let i = 0;
    for (const item of items) {
      const k = key(item, i++);
      if (!out.has(k)) out.set(k, []);
      out.get(k).push(item);
    }
    return out;
  };
}
