-- The attorney's own pages (issue 9; docs/console.md, "attorney"): a
-- registration made by an attorney user names that user, so the attorney
-- sees its own registrations and nobody else's; registrations made with
-- the CLI name no one. A privilege review request asks the agency to
-- review recordings of calls to a registered number in a date range
-- (recordings already found are sealed when the number is registered and
-- again when it is verified; the request records what the attorney asked
-- and whether the agency has reviewed it).

ALTER TABLE privileged_numbers ADD COLUMN registered_by INTEGER REFERENCES users (id) ON DELETE SET NULL;
CREATE INDEX privileged_numbers_registered_by ON privileged_numbers (registered_by);

CREATE TABLE privilege_reviews (
    id            INTEGER PRIMARY KEY,
    privileged_id INTEGER NOT NULL REFERENCES privileged_numbers (id) ON DELETE CASCADE,
    requested_by  INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    since_ms      INTEGER NOT NULL,
    until_ms      INTEGER NOT NULL,
    reason        TEXT    NOT NULL,
    state         TEXT    NOT NULL CHECK (state IN ('requested', 'reviewed')),
    created_ms    INTEGER NOT NULL,
    reviewed_by   TEXT,
    reviewed_ms   INTEGER,
    CHECK (since_ms <= until_ms),
    CHECK ((state = 'reviewed') = (reviewed_ms IS NOT NULL))
);
CREATE INDEX privilege_reviews_by_user ON privilege_reviews (requested_by);
