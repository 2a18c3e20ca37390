-- 0003_token_restrictions: each account's token restrictions document, as
-- the JSON text the client posted (text, not jsonb: jsonb reorders keys,
-- and the order of rule keys decides which rule matches first). They go
-- with their account.

CREATE TABLE token_restrictions (
	account_id text PRIMARY KEY REFERENCES accounts (id) ON DELETE CASCADE,
	document   text NOT NULL,
	modified   timestamptz NOT NULL
);
