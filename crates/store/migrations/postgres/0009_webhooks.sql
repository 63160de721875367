-- Webhooks (issue 20): endpoints, the outbox of events, each endpoint's queue and its dead
-- letters. Events are written by the triggers below, in the transaction of the change they
-- announce, and only when some endpoint subscribes to their kind: without endpoints a
-- login writes nothing more than before.

CREATE TABLE webhook_endpoints (
    id                    TEXT PRIMARY KEY,
    url                   TEXT NOT NULL,
    kinds                 TEXT NOT NULL,  -- event kinds, separated by single spaces
    description           TEXT NOT NULL,
    secret                TEXT NOT NULL,  -- whsec_...: signing needs the key itself
    previous_secret       TEXT,           -- still signing until previous_secret_until
    previous_secret_until BIGINT,
    created_at            BIGINT NOT NULL,
    -- Delivery: one node at a time holds an endpoint (its lease), so that the cluster
    -- delivers each event once and in order.
    lease_owner           TEXT,
    lease_until           BIGINT,
    failures              BIGINT NOT NULL DEFAULT 0,
    retry_at              BIGINT,
    last_error            TEXT,
    last_delivered_at     BIGINT
);

CREATE TABLE events (
    id          BIGSERIAL PRIMARY KEY,
    msg_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          BIGINT NOT NULL,
    user_id     BIGINT,
    username    TEXT,
    session_id  TEXT,
    reason      TEXT,
    server      TEXT,
    client      TEXT,
    auth_method TEXT,
    until       BIGINT
);

CREATE TABLE webhook_queue (
    endpoint_id   TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id      BIGINT NOT NULL REFERENCES events(id),
    attempts      BIGINT NOT NULL DEFAULT 0,
    failing_since BIGINT,  -- the endpoint has been failing since, with this event queued
    PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_queue_event ON webhook_queue(event_id);

CREATE TABLE webhook_dead_letters (
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id    BIGINT NOT NULL REFERENCES events(id),
    attempts    BIGINT NOT NULL,
    failed_at   BIGINT NOT NULL,
    last_error  TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_dead_letters_event ON webhook_dead_letters(event_id);

-- Writes an event of kind `k` when an endpoint subscribes to it, and queues it for each.
CREATE FUNCTION sessiond_event(k TEXT, at BIGINT, uid BIGINT, uname TEXT, sid TEXT,
                               why TEXT, srv TEXT, cli TEXT, auth TEXT, till BIGINT)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    eid BIGINT;
BEGIN
    IF NOT EXISTS (SELECT 1 FROM webhook_endpoints
                   WHERE position(' ' || k || ' ' IN ' ' || kinds || ' ') > 0) THEN
        RETURN;
    END IF;
    INSERT INTO events (msg_id, kind, at, user_id, username, session_id, reason, server, client,
                        auth_method, until)
    VALUES ('msg_' || replace(gen_random_uuid()::text, '-', ''), k, at, uid, uname, sid, why, srv,
            cli, auth, till)
    RETURNING id INTO eid;
    INSERT INTO webhook_queue (endpoint_id, event_id)
    SELECT id, eid FROM webhook_endpoints
    WHERE position(' ' || k || ' ' IN ' ' || kinds || ' ') > 0;
END $$;

CREATE FUNCTION sessiond_session_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        IF NEW.logout_time IS NULL THEN
            PERFORM sessiond_event('session.created', NEW.login_time, NEW.user_id,
                (SELECT name FROM users WHERE id = NEW.user_id), NEW.id, NULL, NEW.server,
                NEW.client_name, NEW.auth_method, NULL);
        END IF;
    ELSIF OLD.logout_time IS NULL AND NEW.logout_time IS NOT NULL THEN
        PERFORM sessiond_event('session.ended', NEW.logout_time, NEW.user_id,
            (SELECT name FROM users WHERE id = NEW.user_id), NEW.id, NEW.end_reason, NEW.server,
            NEW.client_name, NULL, NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER sessions_events AFTER INSERT OR UPDATE OF logout_time ON sessions
    FOR EACH ROW EXECUTE FUNCTION sessiond_session_event();

CREATE FUNCTION sessiond_user_event() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.enabled AND NOT NEW.enabled THEN
        PERFORM sessiond_event('user.disabled', NEW.updated_at, NEW.id, NEW.name, NULL, NULL,
            NULL, NULL, NULL, NULL);
    END IF;
    RETURN NULL;
END $$;

CREATE TRIGGER users_events AFTER UPDATE OF enabled ON users
    FOR EACH ROW EXECUTE FUNCTION sessiond_user_event();

-- Locks are kept by the name presented, whether or not a user has it: only a user's name
-- makes an event (an unknown name tells no receiver anything).
CREATE FUNCTION sessiond_lock_event() RETURNS trigger LANGUAGE plpgsql AS $$
DECLARE
    u RECORD;
BEGIN
    IF TG_OP = 'UPDATE' AND NEW.locked_until <= OLD.locked_until THEN
        RETURN NULL;
    END IF;
    FOR u IN SELECT id, name FROM users WHERE lower(name) = NEW.name LOOP
        PERFORM sessiond_event('user.locked',
            (extract(epoch FROM clock_timestamp()) * 1000000)::BIGINT, u.id, u.name, NULL,
            NULL, NULL, NULL, NULL, NEW.locked_until);
    END LOOP;
    RETURN NULL;
END $$;

CREATE TRIGGER login_locks_events AFTER INSERT OR UPDATE OF locked_until ON login_locks
    FOR EACH ROW EXECUTE FUNCTION sessiond_lock_event();
