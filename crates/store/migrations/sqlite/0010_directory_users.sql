-- Users from a directory (issue 21): the entry's DN; NULL for users sessiond owns. Their
-- passwords are never stored: a login binds to the directory as them.
ALTER TABLE users ADD COLUMN directory_dn TEXT;
