-- callward schema, version 9: indexes for investigator search
-- (crates/store/src/search.rs). Results are ordered by offered time, then
-- call id, and paged by that key; each index ends in (offered_ms, id) so a
-- page is a range scan of one index that stops after the page's rows,
-- with no sort, even where many calls share a millisecond.

DROP INDEX IF EXISTS calls_by_offered;
DROP INDEX IF EXISTS calls_by_person;
DROP INDEX IF EXISTS calls_by_number;
DROP INDEX IF EXISTS calls_by_facility;

CREATE INDEX calls_search_by_offered ON calls (offered_ms, id);
CREATE INDEX calls_search_by_person ON calls (person_id, offered_ms, id);
CREATE INDEX calls_search_by_number ON calls (number, offered_ms, id);
CREATE INDEX calls_search_by_facility ON calls (facility_id, offered_ms, id);
CREATE INDEX calls_search_by_facility_disposition ON calls (facility_id, disposition, offered_ms, id);
