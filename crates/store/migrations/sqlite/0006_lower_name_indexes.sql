-- Both engines look names up as lower(name) = lower($1) (one SQL text for both); these
-- expression indexes keep those look-ups indexed on SQLite too.
CREATE INDEX users_lower_name ON users (lower(name));
CREATE INDEX groups_lower_name ON groups (lower(name));
CREATE INDEX sessions_lower_server ON sessions (lower(server), lower(client_name));
