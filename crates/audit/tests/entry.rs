//! The entry encoding: round trips, canonical form, and a parser that never
//! panics on arbitrary bytes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use callward_audit::entry::{FORMAT_VERSION, MAX_FIELD_LEN};
use callward_audit::{Action, Entry, EntryError, ObjectKind, Source, Timestamp};
use proptest::prelude::*;

fn sample() -> Entry {
    Entry {
        user: "inv.jones".to_owned(),
        role: "investigator".to_owned(),
        agency: "Demo County Sheriff".to_owned(),
        action: Action::Listen,
        object_kind: ObjectKind::Recording,
        object_id: "rec-0001".to_owned(),
        case_id: "2026-CR-0042".to_owned(),
        justification: "witness tampering inquiry".to_owned(),
        time: Timestamp::from_unix(1_795_000_000, 25).expect("valid"),
        source: Source::Ip(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 10))),
    }
}

#[test]
fn sample_round_trips_and_every_truncation_fails() {
    let e = sample();
    let bytes = e.encode().expect("encodes");
    assert_eq!(bytes[0], FORMAT_VERSION);
    assert_eq!(Entry::decode(&bytes), Ok(e));
    for n in 0..bytes.len() {
        assert!(
            Entry::decode(&bytes[..n]).is_err(),
            "prefix of {n} bytes decoded"
        );
    }
    let mut longer = bytes;
    longer.push(0);
    assert_eq!(Entry::decode(&longer), Err(EntryError::Trailing));
}

#[test]
fn unknown_version_codes_and_bad_text_are_refused() {
    let bytes = sample().encode().expect("encodes");
    let mut v2 = bytes.clone();
    v2[0] = 2;
    assert_eq!(Entry::decode(&v2), Err(EntryError::Version));
    assert_eq!(Entry::decode(&[]), Err(EntryError::Version));

    // The action code follows three length-prefixed strings.
    let action_at = 1 + (4 + 9) + (4 + 12) + (4 + 19);
    assert_eq!(bytes[action_at], Action::Listen.code());
    let mut bad = bytes.clone();
    bad[action_at] = 0;
    assert_eq!(Entry::decode(&bad), Err(EntryError::UnknownCode));
    let mut bad = bytes.clone();
    bad[action_at + 1] = 200;
    assert_eq!(Entry::decode(&bad), Err(EntryError::UnknownCode));

    // Invalid UTF-8 in the user name.
    let mut bad = bytes.clone();
    bad[5] = 0xff;
    assert_eq!(Entry::decode(&bad), Err(EntryError::NotUtf8));

    // A length beyond the limit is refused before reading on.
    let mut bad = bytes;
    bad[1..5].copy_from_slice(&u32::MAX.to_be_bytes());
    assert_eq!(Entry::decode(&bad), Err(EntryError::TooLong));
}

#[test]
fn debug_leaves_out_queries_and_justifications() {
    let mut e = sample();
    e.action = Action::Search;
    e.object_kind = ObjectKind::Query;
    e.object_id = "number:+15551230001".to_owned();
    e.justification = "calls to +15559870001".to_owned();
    let dbg = format!("{e:?}");
    assert!(
        !dbg.contains("5551230001") && !dbg.contains("5559870001"),
        "{dbg}"
    );
    assert!(
        dbg.contains("<query, 19 bytes>") && dbg.contains("inv.jones"),
        "{dbg}"
    );
    // Other object ids are identifiers and are shown.
    assert!(format!("{:?}", sample()).contains("rec-0001"));
}

#[test]
fn overlong_fields_do_not_encode() {
    let mut e = sample();
    e.justification = "x".repeat(MAX_FIELD_LEN + 1);
    assert_eq!(e.encode(), Err(EntryError::TooLong));
    e.justification = "x".repeat(MAX_FIELD_LEN);
    let bytes = e.encode().expect("at the limit encodes");
    assert_eq!(Entry::decode(&bytes), Ok(e));
}

#[test]
fn codes_are_distinct_and_round_trip() {
    for a in Action::ALL {
        assert_eq!(Action::from_code(a.code()), Some(a));
    }
    for k in ObjectKind::ALL {
        assert_eq!(ObjectKind::from_code(k.code()), Some(k));
    }
    assert_eq!(Timestamp::from_unix(1, 100), None);
    assert_eq!(
        Timestamp::from_unix(12, 34).map(Timestamp::centis),
        Some(1234)
    );
}

fn text() -> impl Strategy<Value = String> {
    prop_oneof![Just(String::new()), "\\PC{0,40}", "[a-z0-9 .:+/-]{1,20}"]
}

fn source() -> impl Strategy<Value = Source> {
    prop_oneof![
        any::<[u8; 4]>().prop_map(|a| Source::Ip(IpAddr::V4(Ipv4Addr::from(a)))),
        any::<[u8; 16]>().prop_map(|a| Source::Ip(IpAddr::V6(Ipv6Addr::from(a)))),
        text().prop_map(Source::Local),
    ]
}

prop_compose! {
    fn entry()(
        user in text(), role in text(), agency in text(),
        action in prop::sample::select(Action::ALL.to_vec()),
        object_kind in prop::sample::select(ObjectKind::ALL.to_vec()),
        object_id in text(), case_id in text(), justification in text(),
        time in any::<u64>(), source in source(),
    ) -> Entry {
        Entry { user, role, agency, action, object_kind, object_id, case_id, justification,
                time: Timestamp(time), source }
    }
}

proptest! {
    #[test]
    fn encode_then_decode_is_identity(e in entry()) {
        let bytes = e.encode().expect("short fields encode");
        prop_assert_eq!(Entry::decode(&bytes), Ok(e));
    }

    #[test]
    fn distinct_entries_encode_distinctly(a in entry(), b in entry()) {
        prop_assume!(a != b);
        prop_assert_ne!(a.encode().expect("encodes"), b.encode().expect("encodes"));
    }

    #[test]
    fn arbitrary_bytes_never_panic_and_accepted_bytes_are_canonical(
        bytes in prop::collection::vec(any::<u8>(), 0..300)
    ) {
        prop_assert_eq!(Entry::check(&bytes).is_ok(), Entry::decode(&bytes).is_ok());
        if let Ok(e) = Entry::decode(&bytes) {
            prop_assert_eq!(e.encode().expect("decoded entries encode"), bytes);
        }
    }

    #[test]
    fn mutated_encodings_never_panic(e in entry(), at in any::<prop::sample::Index>(), byte in any::<u8>()) {
        let mut bytes = e.encode().expect("encodes");
        let i = at.index(bytes.len());
        bytes[i] = byte;
        prop_assert_eq!(Entry::check(&bytes), Entry::decode(&bytes).map(|_| ()));
        if let Ok(d) = Entry::decode(&bytes) {
            prop_assert_eq!(d.encode().expect("encodes"), bytes);
        }
    }
}
