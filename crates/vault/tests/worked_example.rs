//! The worked example in docs/recording-format.md is a real file: this test
//! rebuilds it from the inputs the document names and checks the hex dump
//! there byte for byte, and that the document's private key reads it.

mod common;

use callward_vault::{
    AgencyPrivateKey, CallId, ChannelLayout, Codec, InMemoryKeyProvider, RecordingMeta,
    RecordingWriter, StreamEnd, open,
};
use common::TestRng;

fn dump(bytes: &[u8]) -> String {
    let mut s = String::new();
    for (n, line) in bytes.chunks(16).enumerate() {
        s.push_str(&format!("{:08x}:", n * 16));
        for pair in line.chunks(2) {
            s.push(' ');
            for b in pair {
                s.push_str(&format!("{b:02x}"));
            }
        }
        s.push('\n');
    }
    s
}

#[test]
fn the_documented_example_is_byte_exact() {
    let agency = AgencyPrivateKey::from_bytes(&[0x42; 32]).unwrap();
    let meta = RecordingMeta {
        call_id: CallId::new("call-1").unwrap(),
        codec: Codec::Pcmu,
        layout: ChannelLayout::Mono,
        key_epoch: 1,
    };
    let mut rng = TestRng::new(2026);
    let mut file = Vec::new();
    let mut w = RecordingWriter::start(&meta, agency.public_key(), &mut rng, &mut file).unwrap();
    w.push(&[0xff; 16], &mut file).unwrap();
    w.finish(&mut file).unwrap();

    let keys = InMemoryKeyProvider::with_key(1, agency);
    let rec = open(&file, &keys).unwrap();
    assert_eq!(rec.audio, [0xff; 16]);
    assert_eq!(rec.end, StreamEnd::Complete);

    let doc = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../docs/recording-format.md"
    ))
    .expect("docs/recording-format.md exists");
    let expected = dump(&file);
    let block = doc
        .split("<!-- worked-example-dump -->\n```\n")
        .nth(1)
        .and_then(|rest| rest.split("```").next())
        .unwrap_or_default();
    assert_eq!(
        block, expected,
        "the hex dump in docs/recording-format.md is stale; it should read:\n{expected}"
    );
}
