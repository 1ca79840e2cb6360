-- The database most of tests/clientschema/corpus runs against: a task app,
-- with a column of every kind the service's type registry tells apart
-- (modules/module-postgres/src/types/registry.ts): the builtins it maps to
-- integer, real and blob, text-like builtins, arrays, an enum, domains
-- (one over another, one over an array), a composite type, and shapes
-- getConnectionSchema lists or leaves out (partitions, a partitioned
-- parent, views, a dropped column, another schema, quoted names).
CREATE TYPE priority AS ENUM ('low', 'normal', 'high');
CREATE DOMAIN rating AS double precision CHECK (VALUE BETWEEN 0 AND 5);
CREATE DOMAIN small_count AS int2;
CREATE DOMAIN nested_count AS small_count;
CREATE DOMAIN tag_list AS text[];
CREATE DOMAIN email AS varchar(320);
CREATE TYPE address AS (street text, zip int4);

CREATE TABLE orgs (id uuid PRIMARY KEY, name text NOT NULL, plan text, seats int, created_at timestamptz);
CREATE TABLE users (
	id uuid PRIMARY KEY, org_id uuid REFERENCES orgs, email email, name varchar(120), is_admin boolean,
	created_at timestamptz, avatar bytea, settings jsonb, "2fa" boolean, last_seen timestamp);
CREATE TABLE lists (id uuid PRIMARY KEY, name text, owner_id uuid, org_id uuid, created_at timestamp, archived bool, position int4, tmp int);
ALTER TABLE lists DROP COLUMN tmp;
ALTER TABLE lists ADD COLUMN color text;
CREATE TABLE todos (
	id uuid PRIMARY KEY, list_id uuid, description text, completed boolean, completed_at timestamptz,
	created_by uuid, assigned_to uuid, priority priority, rating rating, estimate numeric(10, 2), hours real,
	weight float8, views bigint, small small_count, nested nested_count, tags text[], labels tag_list,
	meta jsonb, doc json, home address, due date, remind_at time, ip inet, "Camel" text, "1" int4, "10" text,
	"with space" text, oid_ref oid, char_code "char", money_col money, bits bit(3), xml_col xml);
CREATE TABLE memberships (id uuid PRIMARY KEY, org_id uuid, user_id uuid, role text, since date);
CREATE TABLE comments (id uuid PRIMARY KEY, todo_id uuid, author_id uuid, body text, created_at timestamptz, likes int8);
CREATE TABLE attachments (id text PRIMARY KEY, todo_id uuid, name text, size bigint, data bytea, checksum bytea);

-- A table pattern's tables (todos_archive_%), with columns that differ.
CREATE TABLE todos_archive_2023 (id uuid PRIMARY KEY, description text, year int2, done bool);
CREATE TABLE todos_archive_2024 (id uuid PRIMARY KEY, description text, year int4, done_at timestamptz, note text);

-- Partitions are tables (relkind r) the service lists; the parent is not.
CREATE TABLE events (id uuid, at timestamptz NOT NULL, kind text, payload jsonb, PRIMARY KEY (id, at)) PARTITION BY RANGE (at);
CREATE TABLE events_2024 PARTITION OF events FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
CREATE TABLE events_2025 PARTITION OF events FOR VALUES FROM ('2025-01-01') TO ('2026-01-01');

CREATE VIEW open_todos AS SELECT id, description FROM todos WHERE NOT completed;
CREATE MATERIALIZED VIEW todo_counts AS SELECT list_id, count(*) AS n FROM todos GROUP BY list_id;

CREATE TABLE "Projects" ("Id" text PRIMARY KEY, "Title" text, "Budget" numeric, "ownerId" uuid);
CREATE TABLE "12" (id text PRIMARY KEY, v int);

CREATE SCHEMA app;
CREATE TABLE app.notes (id text PRIMARY KEY, body text, n int8, pinned boolean);
CREATE TABLE app.todos (id text PRIMARY KEY, title text, owner text);

-- Names the generators turn into identifiers (toCamelCase, upper first letter).
CREATE TABLE "todo-items" (id text PRIMARY KEY, "item-name" text, "__weird__name" int, _private text, "a-b_c" real);
