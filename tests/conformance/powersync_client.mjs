// Builds a real PowerSync client database with the official SDK
// (@powersync/node), for syncctl compare's tests:
//   node powersync_client.mjs DIR
// Creates DIR/client.db with tables todos, lists and the local-only drafts;
// writes rows as the app would (ps_crud gets the uploads), plus rows as a
// sync would leave them (ps_data__*, ps_untyped); prints "ready" and keeps
// the database open (WAL mode) until stdin closes.
import { PowerSyncDatabase, Schema, Table, column } from '@powersync/node';

const dir = process.argv[2];
const schema = new Schema({
  todos: new Table({ description: column.text, list_id: column.text, owner_id: column.text, done: column.integer }),
  lists: new Table({ name: column.text, owner_id: column.text }),
  drafts: new Table({ body: column.text }, { localOnly: true }),
});
const db = new PowerSyncDatabase({ schema, database: { dbFilename: 'client.db', dbLocation: dir } });
await db.init();

// Synced rows, as the sync client writes them (no upload queued).
for (const [id, owner] of [['t-1', 'alice'], ['t-2', 'alice'], ['t-3', 'bob']]) {
  await db.execute("INSERT INTO ps_data__todos(id, data) VALUES (?, json_object('description', ?, 'owner_id', ?))", [id, id, owner]);
}
await db.execute("INSERT INTO ps_data__lists(id, data) VALUES ('l-1', json_object('name', 'shared', 'owner_id', 'alice'))");
await db.execute("INSERT INTO ps_untyped(type, id, data) VALUES ('comments', 'c-1', '{}'), ('comments', 'c-2', '{}'), ('tags', 'g-1', '{}')");
// The time of the last complete sync, as the client records it (unix seconds).
await db.execute("INSERT INTO ps_sync_state(priority, last_synced_at) VALUES (2147483647, 1795000000)");

// Local writes, as the app makes them: these queue uploads in ps_crud.
await db.execute("INSERT INTO todos(id, description, owner_id, done) VALUES ('t-4', 'new', 'alice', 0)");
await db.execute("INSERT INTO todos(id, description, owner_id, done) VALUES ('t-5', 'newer', 'alice', 0)");
await db.execute("UPDATE todos SET done = 1 WHERE id = 't-1'");
await db.execute("DELETE FROM todos WHERE id = 't-5'");
await db.execute("INSERT INTO drafts(id, body) VALUES ('d-1', 'scratch')");

console.log('ready');
process.stdin.resume();
process.stdin.on('end', async () => {
  await db.close();
  process.exit(0);
});
