//! Every parser of user input in the domain: arbitrary text never panics,
//! and what is accepted survives a round trip through its display form.

use callward_core::*;
use proptest::prelude::*;

proptest! {
    #[test]
    fn calling_hours_never_panic_and_round_trip(s in "\\PC{0,24}") {
        if let Ok(h) = CallingHours::parse(&s) {
            prop_assert_eq!(CallingHours::parse(&h.to_string()), Ok(h));
        }
    }

    #[test]
    fn well_formed_hours_parse(oh in 0i8..24, om in 0i8..60, ch in 0i8..24, cm in 0i8..60) {
        let s = format!("{oh:02}:{om:02}-{ch:02}:{cm:02}");
        let h = CallingHours::parse(&s).unwrap();
        if (oh, om) != (ch, cm) {
            prop_assert_eq!(h.to_string(), s);
        }
    }

    #[test]
    fn dollars_never_panic_and_round_trip(s in "\\PC{0,16}") {
        if let Ok(c) = Cents::parse_dollars(&s) {
            prop_assert!(c.0 >= 0);
            prop_assert_eq!(Cents::parse_dollars(&c.to_string()), Ok(c));
        }
    }

    #[test]
    fn cents_display_parses_back(c in 0i64..100_000_000_000) {
        prop_assert_eq!(Cents::parse_dollars(&Cents(c).to_string()), Ok(Cents(c)));
    }

    #[test]
    fn text_fields_never_panic(s in "\\PC{0,80}") {
        let _ = Name::parse_field("name", &s);
        let _ = Code::parse_field("code", &s);
        let _ = Username::parse(&s);
        let _ = UsState::parse(&s);
        let _ = s.parse::<FacilityKind>();
        let _ = s.parse::<Language>();
        let _ = s.parse::<PersonStatus>();
        let _ = s.parse::<Verification>();
        let _ = s.parse::<Role>();
        let _ = FacilityTimeZone::parse(&s);
        let _ = facility::parse_gateway(&s);
        let _ = lists::validate_bar_number(&s);
        for len in [4u8, 6, 12] {
            let _ = Pin::parse(&s, len);
        }
    }
}
