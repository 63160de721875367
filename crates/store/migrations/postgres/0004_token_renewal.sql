-- A renewed session token retires the old one: every node must forget it.
CREATE TRIGGER sessions_token_renewed AFTER UPDATE OF token_hash ON sessions
    FOR EACH ROW WHEN (OLD.token_hash IS DISTINCT FROM NEW.token_hash)
    EXECUTE FUNCTION sessiond_notify();
