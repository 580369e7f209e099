-- callward schema, version 4: the call journal. A row per call in
-- progress (from authorisation), rewritten at each step and every few
-- seconds while bridged; storing the call's record deletes it in the same
-- transaction. Rows left at start-up are calls a crash interrupted.

CREATE TABLE calls_open (
    id                    TEXT    PRIMARY KEY,
    facility_id           INTEGER NOT NULL REFERENCES facilities (id) ON DELETE RESTRICT,
    station_id            INTEGER NOT NULL,
    person_id             INTEGER,
    number                TEXT,
    privileged            INTEGER NOT NULL CHECK (privileged IN (0, 1)),
    offered_ms            INTEGER NOT NULL,
    answered_ms           INTEGER,
    accepted_ms           INTEGER,
    recording_id          TEXT,
    rate_cents_per_minute INTEGER,
    payer_account_id      INTEGER,
    max_seconds           INTEGER NOT NULL CHECK (max_seconds >= 0),
    last_seen_ms          INTEGER NOT NULL,
    seq                   INTEGER NOT NULL,
    -- Invariant 1 here too: a privileged call never has a recording.
    CHECK (privileged = 0 OR recording_id IS NULL)
);
