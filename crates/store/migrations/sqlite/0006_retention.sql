-- callward schema, version 6: retention periods, legal holds, expired
-- recordings and privilege seals (docs/keys.md). Times in Unix milliseconds.

-- A facility without a row keeps recordings for the default (365 days).
CREATE TABLE facility_retention (
    facility_id    INTEGER PRIMARY KEY REFERENCES facilities (id) ON DELETE CASCADE,
    retention_days INTEGER NOT NULL CHECK (retention_days BETWEEN 1 AND 36500)
);

-- Legal holds on recordings: placed and released, never deleted, so who
-- held what, when and why stays on record.
CREATE TABLE legal_holds (
    id           INTEGER PRIMARY KEY,
    call_id      TEXT    NOT NULL REFERENCES calls (id) ON DELETE RESTRICT,
    recording_id TEXT    NOT NULL,
    placed_by    TEXT    NOT NULL,
    reason       TEXT    NOT NULL,
    placed_ms    INTEGER NOT NULL,
    released_by  TEXT,
    released_ms  INTEGER,
    CHECK ((released_by IS NULL) = (released_ms IS NULL))
);
-- At most one hold in force per recording.
CREATE UNIQUE INDEX legal_holds_in_force ON legal_holds (recording_id) WHERE released_ms IS NULL;

-- Recordings deleted at the end of retention; the call record stays.
CREATE TABLE recording_expiries (
    call_id      TEXT    PRIMARY KEY REFERENCES calls (id) ON DELETE RESTRICT,
    recording_id TEXT    NOT NULL,
    expired_ms   INTEGER NOT NULL
);

-- One row per sealing run for a privileged number (registration or
-- verification): how many recordings of calls to it were sealed.
CREATE TABLE privilege_seals (
    id             INTEGER PRIMARY KEY,
    privileged_id  INTEGER NOT NULL,
    number_masked  TEXT    NOT NULL,
    sealed         INTEGER NOT NULL CHECK (sealed >= 0),
    already_sealed INTEGER NOT NULL CHECK (already_sealed >= 0),
    unreadable     INTEGER NOT NULL CHECK (unreadable >= 0),
    sealed_by      TEXT    NOT NULL,
    sealed_ms      INTEGER NOT NULL
);
