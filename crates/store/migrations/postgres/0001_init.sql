-- sessiond schema, PostgreSQL engine. Instants are microseconds since the Unix epoch (as in
-- the SQLite engine, so both engines decode rows the same way).

CREATE SEQUENCE groups_id_seq START 1001;
CREATE TABLE groups (
    id      BIGINT PRIMARY KEY DEFAULT nextval('groups_id_seq'),
    name    TEXT NOT NULL,
    sid     TEXT,
    gid     TEXT
);
ALTER SEQUENCE groups_id_seq OWNED BY groups.id;
CREATE UNIQUE INDEX groups_name ON groups (lower(name));

-- Users number from 501; admin is created with the explicit id 500.
CREATE SEQUENCE users_id_seq START 501;
CREATE TABLE users (
    id                  BIGINT PRIMARY KEY DEFAULT nextval('users_id_seq'),
    name                TEXT NOT NULL,
    account_type        TEXT NOT NULL CHECK (account_type IN ('NORMAL', 'SYSTEM', 'SDL')),
    primary_group       BIGINT NOT NULL REFERENCES groups(id),
    can_change_password BOOLEAN NOT NULL,
    enabled             BOOLEAN NOT NULL,
    password_hash       TEXT,
    profile             TEXT NOT NULL,   -- JSON: the descriptive fields (model::Profile)
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
ALTER SEQUENCE users_id_seq OWNED BY users.id;
CREATE UNIQUE INDEX users_name ON users (lower(name));

CREATE TABLE group_members (
    group_id BIGINT NOT NULL REFERENCES groups(id) ON DELETE CASCADE,
    user_id  BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    PRIMARY KEY (group_id, user_id)
);
CREATE INDEX group_members_user ON group_members (user_id);

CREATE TABLE roles (
    name        TEXT PRIMARY KEY,
    description TEXT NOT NULL,
    builtin     BOOLEAN NOT NULL
);

CREATE TABLE role_privileges (
    role      TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    privilege TEXT NOT NULL,
    PRIMARY KEY (role, privilege)
);

CREATE TABLE user_roles (
    user_id BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    role    TEXT NOT NULL REFERENCES roles(name) ON DELETE CASCADE,
    PRIMARY KEY (user_id, role)
);

CREATE TABLE sessions (
    id                 TEXT PRIMARY KEY,
    token_hash         BYTEA NOT NULL UNIQUE,
    user_id            BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    server             TEXT NOT NULL,
    client_name        TEXT NOT NULL,
    client_type        TEXT NOT NULL,
    console_type       INTEGER NOT NULL,
    transport          TEXT,
    auth_method        TEXT NOT NULL,
    actor              TEXT,
    access_token_id    TEXT,
    browser_session_id TEXT,
    login_time         BIGINT NOT NULL,
    last_active        BIGINT NOT NULL,
    expires_at         BIGINT,
    logout_time        BIGINT,
    end_reason         TEXT,
    num_opens          BIGINT NOT NULL DEFAULT 0,
    user_flags         BIGINT NOT NULL DEFAULT 0,
    shares             TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX sessions_user ON sessions (user_id, login_time);
CREATE INDEX sessions_active ON sessions (logout_time) WHERE logout_time IS NULL;
CREATE INDEX sessions_ended ON sessions (logout_time) WHERE logout_time IS NOT NULL;
CREATE INDEX sessions_server ON sessions (lower(server), lower(client_name));

CREATE TABLE audit (
    id          BIGSERIAL PRIMARY KEY,
    time        BIGINT NOT NULL,
    kind        TEXT NOT NULL,
    actor_id    BIGINT,
    actor_name  TEXT,
    session_id  TEXT,
    client      TEXT,
    subject     TEXT,
    detail      TEXT NOT NULL
);
CREATE INDEX audit_time ON audit (time);

-- Every node caches who is behind each token. These triggers tell all nodes, in the same
-- transaction as the change, what they must forget: an ended session, a changed or deleted
-- user, a change of roles. The channel is per schema, so schemas sharing a database (tests)
-- do not hear each other.
CREATE FUNCTION sessiond_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    channel text := 'sessiond:' || TG_TABLE_SCHEMA;
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify(channel, 's:' || NEW.id);
    ELSIF TG_TABLE_NAME = 'users' THEN
        PERFORM pg_notify(channel, 'u:' || OLD.id);
    ELSIF TG_TABLE_NAME = 'user_roles' THEN
        IF TG_OP = 'DELETE' THEN
            PERFORM pg_notify(channel, 'u:' || OLD.user_id);
        ELSE
            PERFORM pg_notify(channel, 'u:' || NEW.user_id);
        END IF;
    ELSE
        PERFORM pg_notify(channel, 'r');
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sessions_ended AFTER UPDATE OF logout_time ON sessions
    FOR EACH ROW WHEN (OLD.logout_time IS NULL AND NEW.logout_time IS NOT NULL)
    EXECUTE FUNCTION sessiond_notify();
CREATE TRIGGER users_changed AFTER UPDATE OR DELETE ON users
    FOR EACH ROW EXECUTE FUNCTION sessiond_notify();
CREATE TRIGGER user_roles_changed AFTER INSERT OR UPDATE OR DELETE ON user_roles
    FOR EACH ROW EXECUTE FUNCTION sessiond_notify();
CREATE TRIGGER roles_changed AFTER INSERT OR UPDATE OR DELETE ON roles
    FOR EACH STATEMENT EXECUTE FUNCTION sessiond_notify();
CREATE TRIGGER role_privileges_changed AFTER INSERT OR UPDATE OR DELETE ON role_privileges
    FOR EACH STATEMENT EXECUTE FUNCTION sessiond_notify();
