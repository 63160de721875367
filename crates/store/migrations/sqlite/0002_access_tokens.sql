-- Access tokens: long-lived bearer credentials for one user. Only the SHA-256 of the bearer
-- string is kept.
CREATE TABLE access_tokens (
    id              TEXT PRIMARY KEY,           -- 22 decimal digits
    token_hash      BLOB NOT NULL UNIQUE,
    user_id         INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    creator_id      INTEGER NOT NULL,
    creation_time   INTEGER NOT NULL,
    expiration_time INTEGER,
    enabled         INTEGER NOT NULL
);
CREATE INDEX access_tokens_user ON access_tokens(user_id, id);
