-- Access tokens: long-lived bearer credentials for one user. Only the SHA-256 of the bearer
-- string is kept.
CREATE TABLE access_tokens (
    id              TEXT PRIMARY KEY,           -- 22 decimal digits
    token_hash      BYTEA NOT NULL UNIQUE,
    user_id         BIGINT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    creator_id      BIGINT NOT NULL,
    creation_time   BIGINT NOT NULL,
    expiration_time BIGINT,
    enabled         BOOLEAN NOT NULL
);
CREATE INDEX access_tokens_user ON access_tokens (user_id, id);

-- Every node forgets a token that was disabled, changed or deleted elsewhere.
CREATE OR REPLACE FUNCTION sessiond_notify() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    channel text := 'sessiond:' || TG_TABLE_SCHEMA;
BEGIN
    IF TG_TABLE_NAME = 'sessions' THEN
        PERFORM pg_notify(channel, 's:' || NEW.id);
    ELSIF TG_TABLE_NAME = 'access_tokens' THEN
        PERFORM pg_notify(channel, 'a:' || OLD.id);
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

CREATE TRIGGER access_tokens_changed AFTER UPDATE OR DELETE ON access_tokens
    FOR EACH ROW EXECUTE FUNCTION sessiond_notify();
