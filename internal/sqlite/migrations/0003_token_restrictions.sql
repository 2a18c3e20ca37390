-- 0003_token_restrictions: each account's token restrictions document, as
-- the JSON text the client posted (TEXT, not a parsed form: the order of
-- rule keys decides which rule matches first). They go with their account.

CREATE TABLE token_restrictions (
    account_id TEXT PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
    document   TEXT NOT NULL,
    modified   INTEGER NOT NULL
);
