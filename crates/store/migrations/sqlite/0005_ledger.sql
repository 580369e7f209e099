-- callward schema, version 5: the money ledger (docs/billing.md).
--
-- Double entry in integer cents. A transaction is a header row and its
-- postings; the postings are written first and the header seals them: it is
-- refused unless they sum to zero, and no posting may join a sealed
-- transaction. Nothing here is ever updated or deleted (corrections are
-- reversals). accounts.balance_cents stays as a cache of the account's
-- postings, kept by a trigger and refused if it ever disagrees.

ALTER TABLE accounts ADD COLUMN closed_ms INTEGER;

-- What rating decided, kept with the record: who paid, whether the call was
-- dropped for a technical reason (a redial soon after continues it), and
-- the call it continues.
ALTER TABLE calls ADD COLUMN payer_account_id INTEGER REFERENCES accounts (id);
ALTER TABLE calls ADD COLUMN dropped INTEGER NOT NULL DEFAULT 0 CHECK (dropped IN (0, 1));
ALTER TABLE calls ADD COLUMN continuation_of TEXT;

CREATE TABLE ledger_transactions (
    id                    INTEGER PRIMARY KEY,
    at_ms                 INTEGER NOT NULL,
    kind                  TEXT    NOT NULL
        CHECK (kind IN ('deposit', 'call', 'call_refund', 'payout', 'reversal', 'closure')),
    reference             TEXT,    -- deposit, payout
    channel               TEXT     -- deposit: who recorded it
        CHECK (channel IS NULL OR channel IN ('admin', 'family_page')),
    recorded_by           TEXT,    -- deposit by an admin: the user name
    call_id               TEXT,    -- call, call_refund
    number                TEXT,    -- call
    billed_seconds        INTEGER CHECK (billed_seconds IS NULL OR billed_seconds >= 0),
    rate_cents_per_minute INTEGER CHECK (rate_cents_per_minute IS NULL OR rate_cents_per_minute >= 0),
    reason                TEXT,    -- call_refund, reversal
    reverses              INTEGER, -- reversal
    CHECK ((kind IN ('deposit', 'payout')) = (reference IS NOT NULL)),
    CHECK ((kind = 'deposit') = (channel IS NOT NULL)),
    CHECK ((kind IN ('call', 'call_refund')) = (call_id IS NOT NULL)),
    CHECK ((kind = 'call') = (billed_seconds IS NOT NULL AND rate_cents_per_minute IS NOT NULL)),
    CHECK ((kind = 'reversal') = (reverses IS NOT NULL AND reverses < id))
);
-- Exactly once: one charge per call id, one reversal per transaction.
CREATE UNIQUE INDEX ledger_one_charge_per_call ON ledger_transactions (call_id) WHERE kind = 'call';
CREATE UNIQUE INDEX ledger_one_reversal_each ON ledger_transactions (reverses) WHERE kind = 'reversal';

CREATE TABLE ledger_postings (
    transaction_id INTEGER NOT NULL,
    seq            INTEGER NOT NULL CHECK (seq >= 0),
    book           TEXT    NOT NULL CHECK (book IN ('account', 'funding', 'call_revenue', 'paid_out')),
    account_id     INTEGER REFERENCES accounts (id) ON DELETE RESTRICT,
    amount_cents   INTEGER NOT NULL,
    PRIMARY KEY (transaction_id, seq),
    CHECK ((book = 'account') = (account_id IS NOT NULL))
);
CREATE INDEX ledger_postings_by_account ON ledger_postings (account_id, transaction_id)
    WHERE account_id IS NOT NULL;

-- Append only.
CREATE TRIGGER ledger_transactions_append_only_u BEFORE UPDATE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are never updated; post a reversal'); END;
CREATE TRIGGER ledger_transactions_append_only_d BEFORE DELETE ON ledger_transactions
BEGIN SELECT RAISE(ABORT, 'ledger transactions are never deleted; post a reversal'); END;
CREATE TRIGGER ledger_postings_append_only_u BEFORE UPDATE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are never updated; post a reversal'); END;
CREATE TRIGGER ledger_postings_append_only_d BEFORE DELETE ON ledger_postings
BEGIN SELECT RAISE(ABORT, 'ledger postings are never deleted; post a reversal'); END;

-- A header seals postings that balance; a sealed transaction takes no more.
CREATE TRIGGER ledger_transactions_balance BEFORE INSERT ON ledger_transactions
WHEN (SELECT count(*) FROM ledger_postings WHERE transaction_id = NEW.id) = 0
  OR (SELECT sum(amount_cents) FROM ledger_postings WHERE transaction_id = NEW.id) != 0
BEGIN SELECT RAISE(ABORT, 'a ledger transaction''s postings must sum to zero'); END;
CREATE TRIGGER ledger_postings_sealed BEFORE INSERT ON ledger_postings
WHEN EXISTS (SELECT 1 FROM ledger_transactions WHERE id = NEW.transaction_id)
BEGIN SELECT RAISE(ABORT, 'a ledger transaction is sealed once written'); END;

-- The deposits made before the ledger become ledger deposits, and an
-- account's balance not explained by them (none, unless the file was
-- edited) an opening deposit, so no money appears or disappears.
INSERT INTO ledger_postings (transaction_id, seq, book, account_id, amount_cents)
    SELECT id, 0, 'funding', NULL, -amount_cents FROM account_entries WHERE amount_cents > 0;
INSERT INTO ledger_postings (transaction_id, seq, book, account_id, amount_cents)
    SELECT id, 1, 'account', account_id, amount_cents FROM account_entries WHERE amount_cents > 0;
INSERT INTO ledger_transactions (id, at_ms, kind, reference, channel, recorded_by)
    SELECT id, created_ms, 'deposit',
           CASE WHEN length(trim(reference)) BETWEEN 1 AND 64 THEN trim(reference)
                ELSE 'before-ledger-' || id END,
           'admin', 'cli'
    FROM account_entries WHERE amount_cents > 0;

CREATE TEMP TABLE ledger_opening AS
    SELECT a.id AS account_id,
           (SELECT coalesce(max(id), 0) FROM account_entries) + a.id AS tx_id,
           a.balance_cents - coalesce(
               (SELECT sum(amount_cents) FROM account_entries e
                WHERE e.account_id = a.id AND e.amount_cents > 0), 0) AS missing,
           a.created_ms AS at_ms
    FROM accounts a;
INSERT INTO ledger_postings (transaction_id, seq, book, account_id, amount_cents)
    SELECT tx_id, 0, 'funding', NULL, -missing FROM ledger_opening WHERE missing > 0;
INSERT INTO ledger_postings (transaction_id, seq, book, account_id, amount_cents)
    SELECT tx_id, 1, 'account', account_id, missing FROM ledger_opening WHERE missing > 0;
INSERT INTO ledger_transactions (id, at_ms, kind, reference, channel, recorded_by)
    SELECT tx_id, at_ms, 'deposit', 'balance before the ledger', 'admin', 'cli'
    FROM ledger_opening WHERE missing > 0;
DROP TABLE ledger_opening;

UPDATE accounts SET balance_cents = coalesce(
    (SELECT sum(amount_cents) FROM ledger_postings p WHERE p.account_id = accounts.id), 0);
DROP TABLE account_entries;

-- The balance cache follows the postings; any other change to it is refused,
-- and its CHECK (balance_cents >= 0) refuses a posting that overdraws.
CREATE TRIGGER ledger_postings_closed_account BEFORE INSERT ON ledger_postings
WHEN NEW.account_id IS NOT NULL
 AND (SELECT closed_ms FROM accounts WHERE id = NEW.account_id) IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'the account is closed'); END;
CREATE TRIGGER ledger_postings_balance AFTER INSERT ON ledger_postings
WHEN NEW.account_id IS NOT NULL
BEGIN
    UPDATE accounts SET balance_cents = balance_cents + NEW.amount_cents WHERE id = NEW.account_id;
END;
CREATE TRIGGER accounts_balance_is_the_ledgers BEFORE UPDATE OF balance_cents ON accounts
WHEN NEW.balance_cents IS NOT (SELECT coalesce(sum(amount_cents), 0) FROM ledger_postings
                               WHERE account_id = NEW.id)
BEGIN SELECT RAISE(ABORT, 'an account''s balance is the sum of its ledger postings'); END;
CREATE TRIGGER accounts_closed_stay_closed BEFORE UPDATE OF closed_ms ON accounts
WHEN OLD.closed_ms IS NOT NULL
BEGIN SELECT RAISE(ABORT, 'a closed account stays closed'); END;
