-- 0009_tree: the ancestry of every account as rows (ancestor_id, id), one
-- per ancestor. The descendants of an account are then one range of the
-- primary key, already in id order, so a page of them reads only that
-- page; their number is a count over the same range, from the index alone.
-- Accounts never move, so a row is written once, with its account.
--
-- accounts.descendants counts the rows naming an account as ancestor, kept
-- by the writes that add or remove an account below it: children's counts
-- are then read with the children, whatever the shape of the tree (a
-- count over the index range was at the mercy of the planner's estimate,
-- which in a flat tree says every child has every account below it).

CREATE TABLE account_tree (
    ancestor_id TEXT NOT NULL,
    id          TEXT NOT NULL REFERENCES accounts (id) ON DELETE CASCADE,
    PRIMARY KEY (ancestor_id, id)
) WITHOUT ROWID;
-- For the cascade when an account is deleted.
CREATE INDEX account_tree_id ON account_tree (id);

INSERT INTO account_tree (ancestor_id, id)
WITH RECURSIVE up (id, ancestor) AS (
    SELECT id, parent_id FROM accounts WHERE parent_id <> ''
    UNION ALL
    SELECT up.id, a.parent_id FROM up JOIN accounts a ON a.id = up.ancestor WHERE a.parent_id <> ''
)
SELECT ancestor, id FROM up;

ALTER TABLE accounts ADD COLUMN descendants INTEGER NOT NULL DEFAULT 0;
UPDATE accounts SET descendants = (SELECT count(*) FROM account_tree t WHERE t.ancestor_id = accounts.id);
