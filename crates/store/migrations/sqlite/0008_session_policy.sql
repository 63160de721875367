-- Per-role session policy (issue 20): an idle time-out, a lifetime and a cap on concurrent
-- sessions, each optional (NULL: the server's setting). Kept apart from `roles`, whose
-- built-in rows are rewritten at every start, so that a policy set on a built-in role stays.
CREATE TABLE role_policies (
    role            TEXT PRIMARY KEY REFERENCES roles(name) ON DELETE CASCADE,
    idle_timeout_us INTEGER,
    lifetime_us     INTEGER,
    max_sessions    INTEGER
);

-- The idle time-out a session was opened under, when its user's roles set one (NULL: the
-- server's --idle-timeout).
ALTER TABLE sessions ADD COLUMN idle_timeout_us INTEGER;
