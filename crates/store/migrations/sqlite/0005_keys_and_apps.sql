-- RSA public keys of users (bots sign their login JWTs with the private half).
CREATE TABLE user_keys (
    id          TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    public_key  TEXT NOT NULL,               -- PEM
    created_at  INTEGER NOT NULL
);
CREATE INDEX user_keys_user ON user_keys(user_id);

-- Extension apps that may act on behalf of the users they list.
CREATE TABLE apps (
    app_id      TEXT PRIMARY KEY,
    name        TEXT NOT NULL,
    public_key  TEXT NOT NULL,               -- PEM
    permissions TEXT NOT NULL,               -- JSON array of permission names
    users       TEXT NOT NULL,               -- JSON array of user ids
    enabled     INTEGER NOT NULL,
    created_at  INTEGER NOT NULL
);

-- An app's own session (before it acts for a user); only the token's hash is kept.
CREATE TABLE app_sessions (
    token_hash  BLOB PRIMARY KEY,
    app_id      TEXT NOT NULL REFERENCES apps(app_id) ON DELETE CASCADE,
    created_at  INTEGER NOT NULL,
    expires_at  INTEGER NOT NULL
);
