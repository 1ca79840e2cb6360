-- A small task app: the sample schema `make demo` loads.
CREATE TABLE groups (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name text NOT NULL,
    owner_id uuid NOT NULL,
    created_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE projects (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    group_id uuid REFERENCES groups (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL,
    name text NOT NULL,
    archived boolean NOT NULL DEFAULT false,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE tasks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    project_id uuid NOT NULL REFERENCES projects (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL,
    title text NOT NULL,
    done boolean NOT NULL DEFAULT false,
    due_at timestamptz,
    updated_at timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE subtasks (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    title text NOT NULL,
    done boolean NOT NULL DEFAULT false
);

CREATE TABLE timer_sessions (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    task_id uuid NOT NULL REFERENCES tasks (id) ON DELETE CASCADE,
    owner_id uuid NOT NULL,
    started_at timestamptz NOT NULL,
    stopped_at timestamptz
);

CREATE TABLE notifications (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL,
    body text NOT NULL,
    read_at timestamptz
);

CREATE TABLE settings (
    id uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    user_id uuid NOT NULL UNIQUE,
    theme text NOT NULL DEFAULT 'system',
    data jsonb NOT NULL DEFAULT '{}'
);

INSERT INTO groups (id, name, owner_id) VALUES
    ('6d5a1c1e-0000-4000-8000-000000000001', 'Home', '00000000-0000-4000-8000-0000000000aa');
INSERT INTO projects (id, group_id, owner_id, name) VALUES
    ('6d5a1c1e-0000-4000-8000-000000000002', '6d5a1c1e-0000-4000-8000-000000000001',
     '00000000-0000-4000-8000-0000000000aa', 'Garden');
INSERT INTO tasks (project_id, owner_id, title) VALUES
    ('6d5a1c1e-0000-4000-8000-000000000002', '00000000-0000-4000-8000-0000000000aa', 'Plant tomatoes'),
    ('6d5a1c1e-0000-4000-8000-000000000002', '00000000-0000-4000-8000-0000000000aa', 'Fix the fence');
