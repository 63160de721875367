-- sessiond schema, SQLite engine. Instants are microseconds since the Unix epoch.

CREATE TABLE groups (
    id      INTEGER PRIMARY KEY,
    name    TEXT NOT NULL UNIQUE COLLATE NOCASE,
    sid     TEXT,
    gid     TEXT
);

CREATE TABLE users (
    id                  INTEGER PRIMARY KEY,
    name                TEXT NOT NULL UNIQUE COLLATE NOCASE,
    account_type        TEXT NOT NULL CHECK (account_type IN ('NORMAL', 'SYSTEM', 'SDL')),
    primary_group       INTEGER NOT NULL REFERENCES groups(id),
    can_change_password INTEGER NOT NULL,
    enabled             INTEGER NOT NULL,
    password_hash       TEXT,
    profile             TEXT NOT NULL,   -- JSON: the descriptive fields (model::Profile)
    created_at          INTEGER NOT NULL,
    updated_at          INTEGER NOT NULL
);

CREATE TABLE group_members (
    group_id INTEGER NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);

CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    builtin     INTEGER NOT NULL
);

CREATE TABLE role_privileges (
    role      TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    privilege TEXT NOT NULL,
    PRIMARY KEY (role, privilege)
);

CREATE TABLE user_roles (
    user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    token_hash         BLOB NOT NULL UNIQUE,
    user_id            INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    server             TEXT NOT NULL,
    client_name        TEXT NOT NULL,
    client_type        TEXT NOT NULL,
    console_type       INTEGER NOT NULL,
    transport          TEXT,
    auth_method        TEXT NOT NULL,
    actor              TEXT,
    access_token_id    TEXT,
    browser_session_id TEXT,
    login_time         INTEGER NOT NULL,
    last_active        INTEGER NOT NULL,
    expires_at         INTEGER,
    logout_time        INTEGER,
    end_reason         TEXT,
    num_opens          INTEGER NOT NULL DEFAULT 0,
    user_flags         INTEGER NOT NULL DEFAULT 0,
    shares             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX sessions_user ON sessions(user_id, login_time);
CREATE INDEX sessions_active ON sessions(logout_time) WHERE logout_time IS NULL;
CREATE INDEX sessions_ended ON sessions(logout_time) WHERE logout_time IS NOT NULL;
CREATE INDEX sessions_server ON sessions(server, client_name);

CREATE TABLE audit (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    time        INTEGER NOT NULL,
    kind        TEXT NOT NULL,
    actor_id    INTEGER,
    actor_name  TEXT,
    session_id  TEXT,
    client      TEXT,
    subject     TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_time ON audit(time);
