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
    previous_secret_until INTEGER,
    created_at            INTEGER NOT NULL,
    -- Delivery: one node at a time holds an endpoint (its lease), so that the cluster
    -- delivers each event once and in order.
    lease_owner           TEXT,
    lease_until           INTEGER,
    failures              INTEGER NOT NULL DEFAULT 0,
    retry_at              INTEGER,
    last_error            TEXT,
    last_delivered_at     INTEGER
);

CREATE TABLE events (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    msg_id      TEXT NOT NULL,
    kind        TEXT NOT NULL,
    at          INTEGER NOT NULL,
    user_id     INTEGER,
    username    TEXT,
    session_id  TEXT,
    reason      TEXT,
    server      TEXT,
    client      TEXT,
    auth_method TEXT,
    until       INTEGER
);

CREATE TABLE webhook_queue (
    endpoint_id   TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id      INTEGER NOT NULL REFERENCES events(id),
    attempts      INTEGER NOT NULL DEFAULT 0,
    failing_since INTEGER,  -- the endpoint has been failing since, with this event queued
    PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_queue_event ON webhook_queue(event_id);

CREATE TABLE webhook_dead_letters (
    endpoint_id TEXT NOT NULL REFERENCES webhook_endpoints(id) ON DELETE CASCADE,
    event_id    INTEGER NOT NULL REFERENCES events(id),
    attempts    INTEGER NOT NULL,
    failed_at   INTEGER NOT NULL,
    last_error  TEXT NOT NULL,
    PRIMARY KEY (endpoint_id, event_id)
);
CREATE INDEX webhook_dead_letters_event ON webhook_dead_letters(event_id);

-- Every event is queued for each endpoint that subscribes to its kind.
CREATE TRIGGER event_queued AFTER INSERT ON events
BEGIN
    INSERT INTO webhook_queue (endpoint_id, event_id)
    SELECT id, NEW.id FROM webhook_endpoints
    WHERE instr(' ' || kinds || ' ', ' ' || NEW.kind || ' ') > 0;
END;

CREATE TRIGGER event_session_created AFTER INSERT ON sessions
WHEN NEW.logout_time IS NULL AND EXISTS (SELECT 1 FROM webhook_endpoints
    WHERE instr(' ' || kinds || ' ', ' session.created ') > 0)
BEGIN
    INSERT INTO events (msg_id, kind, at, user_id, username, session_id, server, client, auth_method)
    VALUES ('msg_' || lower(hex(randomblob(16))), 'session.created', NEW.login_time, NEW.user_id,
            (SELECT name FROM users WHERE id = NEW.user_id), NEW.id, NEW.server,
            NEW.client_name, NEW.auth_method);
END;

CREATE TRIGGER event_session_ended AFTER UPDATE OF logout_time ON sessions
WHEN OLD.logout_time IS NULL AND NEW.logout_time IS NOT NULL AND EXISTS (SELECT 1 FROM
    webhook_endpoints WHERE instr(' ' || kinds || ' ', ' session.ended ') > 0)
BEGIN
    INSERT INTO events (msg_id, kind, at, user_id, username, session_id, reason, server, client)
    VALUES ('msg_' || lower(hex(randomblob(16))), 'session.ended', NEW.logout_time, NEW.user_id,
            (SELECT name FROM users WHERE id = NEW.user_id), NEW.id, NEW.end_reason, NEW.server,
            NEW.client_name);
END;

CREATE TRIGGER event_user_disabled AFTER UPDATE OF enabled ON users
WHEN OLD.enabled AND NOT NEW.enabled AND EXISTS (SELECT 1 FROM webhook_endpoints
    WHERE instr(' ' || kinds || ' ', ' user.disabled ') > 0)
BEGIN
    INSERT INTO events (msg_id, kind, at, user_id, username)
    VALUES ('msg_' || lower(hex(randomblob(16))), 'user.disabled', NEW.updated_at, NEW.id, NEW.name);
END;

-- Locks are kept by the name presented, whether or not a user has it: only a user's name
-- makes an event (an unknown name tells no receiver anything).
CREATE TRIGGER event_user_locked AFTER INSERT ON login_locks
WHEN EXISTS (SELECT 1 FROM webhook_endpoints WHERE instr(' ' || kinds || ' ', ' user.locked ') > 0)
BEGIN
    INSERT INTO events (msg_id, kind, at, user_id, username, until)
    SELECT 'msg_' || lower(hex(randomblob(16))), 'user.locked',
           CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER), id, name, NEW.locked_until
    FROM users WHERE name = NEW.name;
END;

CREATE TRIGGER event_user_locked_again AFTER UPDATE OF locked_until ON login_locks
WHEN NEW.locked_until > OLD.locked_until AND EXISTS (SELECT 1 FROM webhook_endpoints
    WHERE instr(' ' || kinds || ' ', ' user.locked ') > 0)
BEGIN
    INSERT INTO events (msg_id, kind, at, user_id, username, until)
    SELECT 'msg_' || lower(hex(randomblob(16))), 'user.locked',
           CAST((julianday('now') - 2440587.5) * 86400000000.0 AS INTEGER), id, name, NEW.locked_until
    FROM users WHERE name = NEW.name;
END;
