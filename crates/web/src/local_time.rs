//! Times as one agency's people read them: in the time zone its facilities
//! keep when they all keep the same one, otherwise in UTC. Either way the
//! zone is written beside the time, so no reader has to guess.

use callward_core::AgencyId;
use callward_store::{SqliteStore, Store as _, StoreError};
use jiff::Timestamp;
use jiff::tz::TimeZone;

/// The zone of `agency`'s facilities, or UTC when they keep several (or
/// the agency has none).
pub(crate) async fn agency_zone(
    store: &SqliteStore,
    agency: AgencyId,
) -> Result<TimeZone, StoreError> {
    let mut zone: Option<callward_core::FacilityTimeZone> = None;
    for f in store.list_facilities().await? {
        if store.facility_agency(f.id).await? != agency {
            continue;
        }
        match &zone {
            None => zone = Some(f.timezone),
            Some(z) if z.name() == f.timezone.name() => {}
            Some(_) => return Ok(TimeZone::UTC),
        }
    }
    Ok(zone.map_or(TimeZone::UTC, |z| z.zone()))
}

/// `at` in `zone` to the minute, with the zone's abbreviation
/// (`2026-11-23 08:15 CST`).
pub(crate) fn minute(at: Timestamp, zone: &TimeZone) -> String {
    at.to_zoned(zone.clone())
        .strftime("%Y-%m-%d %H:%M %Z")
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_minute_is_shown_in_the_zone_with_its_name() {
        let at: Timestamp = "2026-11-23T14:15:30Z".parse().unwrap();
        let chicago = TimeZone::get("America/Chicago").unwrap();
        assert_eq!(minute(at, &chicago), "2026-11-23 08:15 CST");
        assert_eq!(minute(at, &TimeZone::UTC), "2026-11-23 14:15 UTC");
    }
}
