-- A second database for tests/clientschema/corpus: a shop, with the column
-- types ERPs and storefronts use.
CREATE TABLE customers (id text PRIMARY KEY, email text, full_name text, loyalty_points int4, vip boolean,
	credit numeric(12, 2), region text, created_at timestamptz);
CREATE TABLE products (id text PRIMARY KEY, sku varchar(32), title text, price numeric(10, 2), price_cents int8,
	weight_kg real, in_stock bool, attributes jsonb, image bytea, category_id text);
CREATE TABLE orders (id text PRIMARY KEY, customer_id text, status text, total numeric(12, 2), total_cents int8,
	placed_at timestamptz, shipping jsonb, notes text);
CREATE TABLE order_items (id text PRIMARY KEY, order_id text, product_id text, quantity int2, unit_price float4,
	discount float8);
CREATE TABLE categories (id text PRIMARY KEY, name text, parent_id text, sort int4);
CREATE TABLE stores (id text PRIMARY KEY, name text, lat float8, lng float8, opened date);
