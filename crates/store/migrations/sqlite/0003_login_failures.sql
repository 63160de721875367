-- Failed logins per user, for account lockout. Kept apart from `users` so that a failed
-- login does not rewrite (and, on PostgreSQL, announce) the user's record.
CREATE TABLE login_failures (
    user_id      INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    failures     INTEGER NOT NULL,
    window_start INTEGER NOT NULL,
    locked_until INTEGER
);
