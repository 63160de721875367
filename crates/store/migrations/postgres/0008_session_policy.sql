-- Per-role session policy (issue 20): an idle time-out, a lifetime and a cap on concurrent
-- sessions, each optional (NULL: the server's setting). Kept apart from `roles`, whose
-- built-in rows are rewritten at every start, so that a policy set on a built-in role stays.
CREATE TABLE role_policies (
    role            TEXT PRIMARY KEY REFERENCES roles(name) ON DELETE CASCADE,
    idle_timeout_us BIGINT,
    lifetime_us     BIGINT,
    max_sessions    BIGINT
);

-- The idle time-out a session was opened under, when its user's roles set one (NULL: the
-- server's --idle-timeout).
ALTER TABLE sessions ADD COLUMN idle_timeout_us BIGINT;

-- Every node reloads its roles when a policy changes.
CREATE TRIGGER role_policies_changed AFTER INSERT OR UPDATE OR DELETE ON role_policies
    FOR EACH ROW EXECUTE FUNCTION sessiond_notify();

-- An admin's new end for a session: every node rereads it.
CREATE TRIGGER sessions_expiry_changed AFTER UPDATE OF expires_at ON sessions
    FOR EACH ROW WHEN (OLD.expires_at IS DISTINCT FROM NEW.expires_at)
    EXECUTE FUNCTION sessiond_notify();
