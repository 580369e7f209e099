-- callward schema, version 2: call records (CDRs).

CREATE TABLE calls (
    id                      TEXT    PRIMARY KEY,
    facility_id             INTEGER NOT NULL REFERENCES facilities (id) ON DELETE RESTRICT,
    station_id              INTEGER NOT NULL,
    person_id               INTEGER,
    number                  TEXT,
    privileged              INTEGER NOT NULL CHECK (privileged IN (0, 1)),
    disposition             TEXT    NOT NULL,
    hung_up_by              TEXT    NOT NULL CHECK (hung_up_by IN ('station', 'outside', 'system')),
    offered_ms              INTEGER NOT NULL,
    answered_ms             INTEGER,
    accepted_ms             INTEGER,
    ended_ms                INTEGER NOT NULL,
    billable_seconds        INTEGER NOT NULL CHECK (billable_seconds >= 0),
    time_limit_reached      INTEGER NOT NULL CHECK (time_limit_reached IN (0, 1)),
    blocked_by_called_party INTEGER NOT NULL CHECK (blocked_by_called_party IN (0, 1)),
    recording_id            TEXT,
    rate_cents_per_minute   INTEGER,
    charge_cents            INTEGER NOT NULL CHECK (charge_cents >= 0),
    -- Invariant 1, enforced by the database too: a privileged call never has a recording.
    CHECK (privileged = 0 OR recording_id IS NULL)
);
-- Investigators search by person and date, by number, by facility and disposition.
CREATE INDEX calls_by_offered ON calls (offered_ms);
CREATE INDEX calls_by_person ON calls (person_id, offered_ms);
CREATE INDEX calls_by_number ON calls (number, offered_ms);
CREATE INDEX calls_by_facility ON calls (facility_id, disposition, offered_ms);
