-- Settings datastore: one row per API item ("video.output.0", "system.room", ...),
-- the value being the JSON of that item's persisted settings.
CREATE TABLE settings (
    key   TEXT PRIMARY KEY NOT NULL,
    value TEXT NOT NULL
) STRICT;

-- Login accounts. `phc` is an argon2id PHC string; the password itself is never stored.
CREATE TABLE accounts (
    name TEXT PRIMARY KEY NOT NULL,
    phc  TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('administrator'))
) STRICT;
