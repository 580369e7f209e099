//! `serve --demo`: the demo facility of DESIGN.md, seeded into an empty data dir.
//!
//! Seeding is idempotent: each item is created only if absent, and a marker
//! file written last records that seeding finished, so a dir seeded before
//! is left as it is and a seed cut short by a crash completes on the next
//! run. A data dir holding any other facility is refused.

use std::path::Path;

use anyhow::{Context as _, bail};
use callward_core::{
    AccountHolder, AgencyId, CallingHours, Cents, Code, E164Number, FacilityKind, FacilityTimeZone,
    Language, Name, Pin, Role, UsState, Username, Verification,
};
use callward_store::{NewFacility, NewPerson, NewPrivileged, NewStation, Store};
use jiff::Timestamp;

use crate::local::Local;

pub(crate) const FACILITY: &str = "Demo County Jail";
pub(crate) const STATION: &str = "station-101";
pub(crate) const BOOKING_ID: &str = "DEMO-0001";
pub(crate) const PIN: &str = "246810";
const MARKER: &str = "demo-seeded";
/// Console users, each with password `demo-<name>`.
pub(crate) const USERS: [(&str, Role); 5] = [
    ("admin", Role::Admin),
    ("investigator", Role::Investigator),
    ("supervisor", Role::Supervisor),
    ("auditor", Role::Auditor),
    ("attorney", Role::Attorney),
];

/// The demo's family user (password `demo-family`), bound to the funded
/// number's prepaid account.
pub(crate) const FAMILY_USER: (&str, &str) = ("family", "+15551230001");

/// What seeding did.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Seeded {
    /// The demo data was written now.
    Now,
    /// It was already there.
    Already,
}

fn number(s: &str) -> E164Number {
    // The demo numbers are constants known to parse (tested below).
    E164Number::parse(s).expect("demo numbers are valid")
}

fn name(s: &str) -> Name {
    Name::parse_field("name", s).expect("demo names are valid")
}

/// Seeds the demo data, or confirms it is there.
pub(crate) async fn seed(local: &Local) -> anyhow::Result<Seeded> {
    let marker = local.dir.path().join(MARKER);
    if marker.exists() {
        return Ok(Seeded::Already);
    }
    let store = &local.store;
    let facilities = store.list_facilities().await?;
    if facilities.iter().any(|f| f.name.as_str() != FACILITY) {
        bail!(
            "--demo seeds only an empty data dir, and {} already holds other facilities; use a fresh --data-dir",
            local.dir.path().display()
        );
    }
    let now = Timestamp::now();

    let facility = match store.facility_by_name(FACILITY).await? {
        Some(f) => f,
        None => {
            store
                .create_facility(NewFacility {
                    name: name(FACILITY),
                    kind: FacilityKind::Jail,
                    // 350-999: the medium jail tier.
                    average_daily_population: 500,
                    timezone: FacilityTimeZone::parse("America/Chicago")?,
                    gateways: vec!["127.0.0.1".parse()?],
                    // Around the clock, so the demo works whenever it is tried.
                    calling_hours: CallingHours::ALWAYS,
                    max_call_minutes: 15,
                    max_calls_per_day: None,
                    requires_approved_list: true,
                    pin_length: 6,
                    rate: None,
                })
                .await?
        }
    };

    if store.station_by_code(STATION).await?.is_none() {
        store
            .create_station(NewStation {
                facility_id: facility.id,
                code: Code::parse_field("station id", STATION)?,
                location: "Housing unit A".into(),
                do_not_record: false,
            })
            .await?;
    }

    let person = match store.person_by_booking(facility.id, BOOKING_ID).await? {
        Some(p) => p,
        None => {
            let pin = Pin::parse(PIN, facility.pin_length)?;
            store
                .create_person(NewPerson {
                    facility_id: facility.id,
                    booking_id: Code::parse_field("booking id", BOOKING_ID)?,
                    name: name("Sam Demo"),
                    language: Language::En,
                    pin: Some(local.pin_key.digest(facility.id, &pin)),
                })
                .await?
        }
    };

    for (n, label, balance) in [
        ("+15551230001", "Family (funded)", Cents(1000)),
        ("+15551230002", "Friend (no funds)", Cents(0)),
    ] {
        let n = number(n);
        if !store.is_approved(person.id, &n).await? {
            store
                .add_contact(person.id, n.clone(), label.into())
                .await?;
        }
        let account = match store.prepaid_account(&n).await? {
            Some(a) => a,
            None => store.open_account(AccountHolder::Prepaid(n), now).await?,
        };
        // Only a brand-new account is funded: without the marker no call can have spent it.
        if account.balance == Cents::ZERO && balance > Cents::ZERO {
            store
                .deposit(account.id, balance, "demo seed".into(), now)
                .await?;
        }
    }

    let attorney = number("+15559870001");
    let registration = match store.privileged_by_number(&attorney).await? {
        Some(r) => r,
        None => {
            store
                .register_privileged(
                    NewPrivileged {
                        number: attorney,
                        attorney_name: name("Alex Counsel"),
                        bar_number: "24000001".into(),
                        bar_state: UsState::parse("TX")?,
                    },
                    now,
                )
                .await?
        }
    };
    if registration.verification != Verification::Verified {
        store
            .set_verification(registration.id, Verification::Verified, "admin".into())
            .await?;
    }

    let blocked = number("+15550000666");
    if store
        .find_block(person.id, facility.id, &blocked)
        .await?
        .is_none()
    {
        store
            .add_block(
                callward_core::BlockScope::Facility(facility.id),
                blocked,
                "demo: blocked for the whole facility".into(),
                now,
            )
            .await?;
    }

    crate::users::seed_demo_agency(local).await?;
    let existing = store.list_users().await?;
    for (user, role) in USERS {
        if existing.iter().all(|u| u.username.as_str() != user) {
            let hash = callward_web::password::hash(&format!("demo-{user}"))?;
            store
                .create_user(Username::parse(user)?, role, hash, now)
                .await?;
        }
    }

    // The demo attorney holds the demo's verified number (its own page
    // shows it; registrations made with the CLI name no one).
    if let Some(user) = store
        .list_users()
        .await?
        .into_iter()
        .find(|u| u.username.as_str() == "attorney")
    {
        store.set_privileged_owner(registration.id, user.id).await?;
    }

    let (family, family_number) = FAMILY_USER;
    if existing.iter().all(|u| u.username.as_str() != family) {
        let hash = callward_web::password::hash(&format!("demo-{family}"))?;
        store
            .create_family_user(
                &Username::parse(family)?,
                AgencyId(1),
                &hash,
                &number(family_number),
                now.as_millisecond(),
            )
            .await?;
    }

    std::fs::write(
        &marker,
        b"demo data seeded; delete the data dir to start over\n",
    )
    .with_context(|| format!("cannot write {}", marker.display()))?;
    Ok(Seeded::Now)
}

/// What to tell a person who just started the demo.
pub(crate) fn instructions(
    http: std::net::SocketAddr,
    sip: std::net::SocketAddr,
    data_dir: &Path,
) -> String {
    let users: Vec<String> = USERS
        .iter()
        .map(|(u, _)| u)
        .chain([&FAMILY_USER.0])
        .map(|u| format!("{u} / demo-{u}"))
        .collect();
    format!(
        "Demo data: \"{FACILITY}\" (medium jail tier), gateway 127.0.0.1, station {STATION}, \
         booking {BOOKING_ID} with PIN {PIN}.\n\
         Numbers: +15551230001 approved ($10.00), +15551230002 approved ($0.00), \
         +15559870001 attorney (privileged, verified), +15550000666 blocked.\n\
         Console users (demo only): {users}.\n\
         Health: http://{http}/healthz   Metrics: http://{http}/metrics\n\
         A call: INVITE sip:ivr@{sip} with From user {STATION}, then PIN {PIN}# and a number#.\n\
         Look around: callward admin --data-dir {dir} facility show \"{FACILITY}\"",
        users = users.join(", "),
        dir = data_dir.display(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_constants_parse() {
        for n in [
            "+15551230001",
            "+15551230002",
            "+15559870001",
            "+15550000666",
        ] {
            number(n);
        }
        assert!(Pin::parse(PIN, 6).is_ok());
        for (u, _) in USERS {
            assert!(Username::parse(u).is_ok());
        }
        assert!(Username::parse(FAMILY_USER.0).is_ok());
        number(FAMILY_USER.1);
    }
}
