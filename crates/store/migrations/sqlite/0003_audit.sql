-- callward schema, version 3: the audit log (docs/audit-log.md, "Storage layout").

-- Entry rows: the canonical entry encoding by index.
CREATE TABLE audit_entries (
    idx   INTEGER PRIMARY KEY CHECK (idx >= 0),
    entry BLOB    NOT NULL
);

-- Every complete-subtree hash, keyed by its completion-order position
-- (2j - popcount(j) + level, j the last entry it covers), so verification
-- scans it in step with audit_entries.
CREATE TABLE audit_nodes (
    pos  INTEGER PRIMARY KEY CHECK (pos >= 0),
    hash BLOB    NOT NULL CHECK (length(hash) = 32)
);

-- One signed checkpoint (C2SP signed note) per appended batch.
CREATE TABLE audit_checkpoints (
    size INTEGER PRIMARY KEY CHECK (size > 0),
    note TEXT    NOT NULL
);

-- Append-only. Someone with write access to the file can drop these
-- triggers; `callward audit verify` still names what they changed.
CREATE TRIGGER audit_entries_no_update BEFORE UPDATE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_entries_no_delete BEFORE DELETE ON audit_entries
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_nodes_no_update BEFORE UPDATE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_nodes_no_delete BEFORE DELETE ON audit_nodes
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_update BEFORE UPDATE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
CREATE TRIGGER audit_checkpoints_no_delete BEFORE DELETE ON audit_checkpoints
BEGIN SELECT RAISE(ABORT, 'the audit log is append-only'); END;
