-- callward schema, version 1: facilities, stations, people, lists, accounts.
-- Times are integer milliseconds since the Unix epoch, UTC.

CREATE TABLE facilities (
    id                       INTEGER PRIMARY KEY,
    name                     TEXT    NOT NULL UNIQUE,
    kind                     TEXT    NOT NULL CHECK (kind IN ('prison', 'jail')),
    average_daily_population INTEGER NOT NULL CHECK (average_daily_population >= 0),
    timezone                 TEXT    NOT NULL,
    calling_hours            TEXT    NOT NULL,
    max_call_minutes         INTEGER NOT NULL CHECK (max_call_minutes BETWEEN 1 AND 600),
    max_calls_per_day        INTEGER CHECK (max_calls_per_day IS NULL OR max_calls_per_day >= 0),
    requires_approved_list   INTEGER NOT NULL CHECK (requires_approved_list IN (0, 1)),
    pin_length               INTEGER NOT NULL CHECK (pin_length BETWEEN 4 AND 12),
    created_ms               INTEGER NOT NULL
);

CREATE TABLE facility_gateways (
    facility_id INTEGER NOT NULL REFERENCES facilities (id) ON DELETE CASCADE,
    address     TEXT    NOT NULL,
    PRIMARY KEY (facility_id, address)
);

CREATE TABLE stations (
    id            INTEGER PRIMARY KEY,
    facility_id   INTEGER NOT NULL REFERENCES facilities (id) ON DELETE RESTRICT,
    code          TEXT    NOT NULL UNIQUE,
    location      TEXT    NOT NULL,
    enabled       INTEGER NOT NULL CHECK (enabled IN (0, 1)),
    do_not_record INTEGER NOT NULL CHECK (do_not_record IN (0, 1))
);

CREATE TABLE people (
    id            INTEGER PRIMARY KEY,
    facility_id   INTEGER NOT NULL REFERENCES facilities (id) ON DELETE RESTRICT,
    booking_id    TEXT    NOT NULL,
    name          TEXT    NOT NULL,
    language      TEXT    NOT NULL CHECK (language IN ('en', 'es')),
    status        TEXT    NOT NULL CHECK (status IN ('active', 'suspended', 'released')),
    do_not_record INTEGER NOT NULL CHECK (do_not_record IN (0, 1)),
    -- HMAC-SHA-256 of the PIN under a key kept outside the database.
    pin_digest    BLOB    CHECK (pin_digest IS NULL OR length(pin_digest) = 32),
    UNIQUE (facility_id, booking_id),
    UNIQUE (facility_id, pin_digest)
);

CREATE TABLE approved_contacts (
    id        INTEGER PRIMARY KEY,
    person_id INTEGER NOT NULL REFERENCES people (id) ON DELETE CASCADE,
    number    TEXT    NOT NULL,
    label     TEXT    NOT NULL,
    UNIQUE (person_id, number)
);

-- One table for the three blocklists; exactly one owner column is set.
CREATE TABLE blocks (
    id          INTEGER PRIMARY KEY,
    scope       TEXT    NOT NULL CHECK (scope IN ('person', 'facility', 'called_party')),
    person_id   INTEGER REFERENCES people (id) ON DELETE CASCADE,
    facility_id INTEGER REFERENCES facilities (id) ON DELETE CASCADE,
    number      TEXT    NOT NULL,
    reason      TEXT    NOT NULL,
    created_ms  INTEGER NOT NULL,
    CHECK ((scope = 'person') = (person_id IS NOT NULL)),
    CHECK ((scope = 'person') = (facility_id IS NULL))
);
-- NULLs are distinct in a UNIQUE constraint, so key on the owner explicitly.
CREATE UNIQUE INDEX blocks_unique ON blocks (scope, coalesce(person_id, facility_id), number);
CREATE INDEX blocks_by_number ON blocks (number);

CREATE TABLE privileged_numbers (
    id            INTEGER PRIMARY KEY,
    number        TEXT    NOT NULL UNIQUE,
    attorney_name TEXT    NOT NULL,
    bar_number    TEXT    NOT NULL,
    bar_state     TEXT    NOT NULL,
    verification  TEXT    NOT NULL CHECK (verification IN ('pending', 'verified', 'rejected')),
    verified_by   TEXT,
    created_ms    INTEGER NOT NULL
);

CREATE TABLE accounts (
    id            INTEGER PRIMARY KEY,
    kind          TEXT    NOT NULL CHECK (kind IN ('prepaid', 'debit')),
    number        TEXT,
    person_id     INTEGER REFERENCES people (id) ON DELETE RESTRICT,
    balance_cents INTEGER NOT NULL CHECK (balance_cents >= 0),
    created_ms    INTEGER NOT NULL,
    CHECK ((kind = 'prepaid') = (number IS NOT NULL)),
    CHECK ((kind = 'debit') = (person_id IS NOT NULL)),
    UNIQUE (number),
    UNIQUE (person_id)
);

-- Every change to a balance, with who asked and why. Never updated.
CREATE TABLE account_entries (
    id           INTEGER PRIMARY KEY,
    account_id   INTEGER NOT NULL REFERENCES accounts (id) ON DELETE RESTRICT,
    amount_cents INTEGER NOT NULL,
    kind         TEXT    NOT NULL CHECK (kind IN ('deposit')),
    reference    TEXT    NOT NULL,
    created_ms   INTEGER NOT NULL
);

CREATE TABLE pin_failures (
    station_id INTEGER NOT NULL REFERENCES stations (id) ON DELETE CASCADE,
    at_ms      INTEGER NOT NULL
);
CREATE INDEX pin_failures_by_station ON pin_failures (station_id, at_ms);

-- Console users. The password hash is argon2id in PHC string form.
CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    role          TEXT    NOT NULL,
    password_hash TEXT    NOT NULL,
    created_ms    INTEGER NOT NULL
);
