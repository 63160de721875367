-- Failed logins per user, for account lockout. Kept apart from `users` so that a failed
-- login does not rewrite (and, on PostgreSQL, announce) the user's record.
CREATE TABLE login_failures (
    user_id      BIGINT PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
    failures     BIGINT NOT NULL,
    window_start BIGINT NOT NULL,
    locked_until BIGINT
);
