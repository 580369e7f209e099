-- Family (called party) users (issues 8 and 9; docs/access-control.md):
-- each is bound to exactly one prepaid account, the called party's number,
-- and reads or changes only that account. One account may have several
-- family users; a user has at most one account.

CREATE TABLE family_accounts (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    account_id INTEGER NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
    created_ms INTEGER NOT NULL
);
CREATE INDEX family_accounts_account ON family_accounts (account_id);

-- Only family users, and only to prepaid accounts (a number).
CREATE TRIGGER family_accounts_prepaid BEFORE INSERT ON family_accounts
WHEN NOT EXISTS (SELECT 1 FROM accounts WHERE id = NEW.account_id AND kind = 'prepaid')
  OR NOT EXISTS (SELECT 1 FROM users WHERE id = NEW.user_id AND role = 'family')
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: only a family user, bound to a prepaid account'); END;
CREATE TRIGGER family_accounts_frozen BEFORE UPDATE ON family_accounts
BEGIN SELECT RAISE(ABORT, 'CHECK constraint failed: a family binding is not changed; delete the user'); END;
