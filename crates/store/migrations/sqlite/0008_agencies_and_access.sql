-- Agencies, sign-in state, sessions, cases, approvals and releases
-- (issue 7, items 4 and 5; docs/access-control.md). Times are ms since the
-- Unix epoch, UTC.

CREATE TABLE agencies (
    id          INTEGER PRIMARY KEY,
    name        TEXT    NOT NULL UNIQUE,
    -- Recordings one person may release in any 24 hours without approval.
    daily_quota INTEGER NOT NULL DEFAULT 50 CHECK (daily_quota BETWEEN 0 AND 1000000),
    -- Most recordings in one export without approval.
    bulk_limit  INTEGER NOT NULL DEFAULT 10 CHECK (bulk_limit BETWEEN 1 AND 1000000),
    created_ms  INTEGER NOT NULL
);

-- Facilities and users from before agencies belong to the default agency.
INSERT INTO agencies (id, name, created_ms) VALUES (1, 'Default agency', 0);

-- ADD COLUMN cannot carry a REFERENCES clause with a non-NULL default
-- while foreign keys are on, so the triggers below keep these honest.
ALTER TABLE facilities ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 1;
ALTER TABLE users ADD COLUMN agency_id INTEGER NOT NULL DEFAULT 1;
-- Set when failed sign-ins lock the account (AC-7); cleared by an admin.
ALTER TABLE users ADD COLUMN locked_ms INTEGER;
-- The TOTP shared secret (raw bytes), NULL until enrolled.
ALTER TABLE users ADD COLUMN totp_secret BLOB CHECK (totp_secret IS NULL OR length(totp_secret) BETWEEN 10 AND 64);
-- The step of the last TOTP code accepted: that code and older are refused.
ALTER TABLE users ADD COLUMN last_totp_step INTEGER;

CREATE TRIGGER facilities_agency_insert BEFORE INSERT ON facilities
WHEN NOT EXISTS (SELECT 1 FROM agencies WHERE id = NEW.agency_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such agency'); END;
CREATE TRIGGER facilities_agency_update BEFORE UPDATE OF agency_id ON facilities
WHEN NOT EXISTS (SELECT 1 FROM agencies WHERE id = NEW.agency_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such agency'); END;
CREATE TRIGGER users_agency_insert BEFORE INSERT ON users
WHEN NOT EXISTS (SELECT 1 FROM agencies WHERE id = NEW.agency_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such agency'); END;
CREATE TRIGGER users_agency_update BEFORE UPDATE OF agency_id ON users
WHEN NOT EXISTS (SELECT 1 FROM agencies WHERE id = NEW.agency_id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: no such agency'); END;
CREATE TRIGGER agencies_in_use BEFORE DELETE ON agencies
WHEN EXISTS (SELECT 1 FROM facilities WHERE agency_id = OLD.id)
  OR EXISTS (SELECT 1 FROM users WHERE agency_id = OLD.id)
BEGIN SELECT RAISE(ABORT, 'FOREIGN KEY constraint failed: agency in use'); END;

-- Failed sign-ins, counted over the trailing 15 minutes.
CREATE TABLE login_failures (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    at_ms   INTEGER NOT NULL
);
CREATE INDEX login_failures_user ON login_failures (user_id, at_ms);

-- Console sessions. The token is never stored, only its SHA-256.
CREATE TABLE sessions (
    token_hash   BLOB    PRIMARY KEY CHECK (length(token_hash) = 32),
    user_id      INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_ms   INTEGER NOT NULL,
    last_seen_ms INTEGER NOT NULL,
    locked       INTEGER NOT NULL DEFAULT 0 CHECK (locked IN (0, 1))
) WITHOUT ROWID;

-- Investigation cases: content is released only inside an open one.
CREATE TABLE cases (
    id            INTEGER PRIMARY KEY,
    agency_id     INTEGER NOT NULL REFERENCES agencies (id),
    title         TEXT    NOT NULL,
    justification TEXT    NOT NULL,
    opened_by     INTEGER NOT NULL REFERENCES users (id),
    opened_ms     INTEGER NOT NULL,
    closed_by     INTEGER REFERENCES users (id),
    closed_ms     INTEGER,
    CHECK ((closed_by IS NULL) = (closed_ms IS NULL))
);

-- Requests for a supervisor's approval (over quota, bulk export).
CREATE TABLE approvals (
    id         INTEGER PRIMARY KEY,
    agency_id  INTEGER NOT NULL REFERENCES agencies (id),
    requester  INTEGER NOT NULL REFERENCES users (id),
    count      INTEGER NOT NULL CHECK (count >= 1),
    reason     TEXT    NOT NULL,
    created_ms INTEGER NOT NULL,
    expires_ms INTEGER NOT NULL,
    state      TEXT    NOT NULL DEFAULT 'pending'
               CHECK (state IN ('pending', 'granted', 'refused', 'used')),
    decided_by INTEGER REFERENCES users (id),
    decided_ms INTEGER,
    -- The two-person rule, in the schema too.
    CHECK (decided_by IS NULL OR decided_by <> requester),
    CHECK ((state = 'pending') = (decided_by IS NULL))
);

-- Every recording released to a person, for the quota.
CREATE TABLE releases (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER NOT NULL REFERENCES users (id),
    recording_id TEXT    NOT NULL,
    case_id      INTEGER NOT NULL REFERENCES cases (id),
    approval_id  INTEGER REFERENCES approvals (id),
    at_ms        INTEGER NOT NULL
);
CREATE INDEX releases_user_time ON releases (user_id, at_ms);
