-- The local operator's exports count against a quota too (issue 7, item 5;
-- docs/access-control.md, "The local operator"). `recording export` without
-- --user runs as the server's own CLI user, who has no console account: its
-- releases and approval requests name it as `local:uid-<uid>` instead of a
-- user id. SQLite cannot relax NOT NULL in place, so both tables are
-- rebuilt (ids kept). Order matters with foreign keys on: the new releases
-- table refers to approvals_new, the old tables are dropped (releases
-- first: nothing refers to it), and the renames carry the reference along.

CREATE TABLE approvals_new (
    id              INTEGER PRIMARY KEY,
    agency_id       INTEGER NOT NULL REFERENCES agencies (id),
    requester       INTEGER REFERENCES users (id),
    -- Set instead of requester for the local operator.
    local_requester TEXT CHECK (local_requester IS NULL OR length(local_requester) BETWEEN 7 AND 80),
    count           INTEGER NOT NULL CHECK (count >= 1),
    reason          TEXT    NOT NULL,
    created_ms      INTEGER NOT NULL,
    expires_ms      INTEGER NOT NULL,
    state           TEXT    NOT NULL DEFAULT 'pending'
                    CHECK (state IN ('pending', 'granted', 'refused', 'used')),
    decided_by      INTEGER REFERENCES users (id),
    decided_ms      INTEGER,
    CHECK ((requester IS NULL) <> (local_requester IS NULL)),
    -- The two-person rule, in the schema too.
    CHECK (decided_by IS NULL OR requester IS NULL OR decided_by <> requester),
    CHECK ((state = 'pending') = (decided_by IS NULL))
);
INSERT INTO approvals_new (id, agency_id, requester, count, reason, created_ms, expires_ms,
                           state, decided_by, decided_ms)
    SELECT id, agency_id, requester, count, reason, created_ms, expires_ms,
           state, decided_by, decided_ms FROM approvals;

CREATE TABLE releases_new (
    id           INTEGER PRIMARY KEY,
    user_id      INTEGER REFERENCES users (id),
    -- Set instead of user_id for the local operator (no case: it has none).
    local_user   TEXT CHECK (local_user IS NULL OR length(local_user) BETWEEN 7 AND 80),
    recording_id TEXT    NOT NULL,
    case_id      INTEGER REFERENCES cases (id),
    approval_id  INTEGER REFERENCES approvals_new (id),
    at_ms        INTEGER NOT NULL,
    CHECK ((user_id IS NULL) <> (local_user IS NULL)),
    CHECK (user_id IS NULL OR case_id IS NOT NULL)
);
INSERT INTO releases_new (id, user_id, recording_id, case_id, approval_id, at_ms)
    SELECT id, user_id, recording_id, case_id, approval_id, at_ms FROM releases;

DROP TABLE releases;
DROP TABLE approvals;
ALTER TABLE approvals_new RENAME TO approvals;
ALTER TABLE releases_new RENAME TO releases;
CREATE INDEX releases_user_time ON releases (user_id, at_ms);
CREATE INDEX releases_local_time ON releases (local_user, at_ms) WHERE local_user IS NOT NULL;
