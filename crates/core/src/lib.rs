//! The callward domain: facilities and their rate tiers, stations, people in
//! custody, numbers, lists, the privileged registry, accounts, and the
//! decision whether a call may be placed and on what terms.
//!
//! Pure: no I/O, no clock, no randomness. Time and secrets are passed in.
