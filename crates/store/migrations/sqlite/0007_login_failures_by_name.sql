-- Failed logins are counted per name as presented (lower-cased), whether or not a user has
-- it, with the client address, so that a name locks only on failures from several addresses
-- and an unknown name behaves exactly like a known one.
DROP TABLE login_failures;
CREATE TABLE login_failures (
    name    TEXT NOT NULL,
    address TEXT NOT NULL,
    at      INTEGER NOT NULL
);
CREATE INDEX login_failures_by_name ON login_failures (name, at);
CREATE INDEX login_failures_by_time ON login_failures (at);
CREATE TABLE login_locks (
    name         TEXT PRIMARY KEY,
    locked_until INTEGER NOT NULL
);
