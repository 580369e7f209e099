//! Arbitrary bytes as what reaches the key service or its key directory:
//! keyd frames, request and response bodies, legal-hold and seal records,
//! and keyring text never panic, and a request that parses re-encodes to
//! the same body.

#![no_main]

use callward_vault::protocol::split_frame;
use callward_vault::{KeyRecord, Keyring, UnwrapRequest, UnwrapResponse};

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = split_frame(data);
    if let Ok(request) = UnwrapRequest::decode(data) {
        let frame = request.encode();
        assert_eq!(
            &frame[4..],
            data,
            "a parsed request re-encodes to its bytes"
        );
    }
    if let Ok(response) = UnwrapResponse::decode(data) {
        let frame = response.encode();
        assert_eq!(
            &frame[4..],
            data,
            "a parsed response re-encodes to its bytes"
        );
    }
    if let Ok(record) = KeyRecord::parse(data) {
        assert_eq!(record.as_bytes(), data);
    }
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(keyring) = Keyring::parse(text) {
            assert_eq!(Keyring::parse(&keyring.to_text()), Ok(keyring));
        }
    }
});
