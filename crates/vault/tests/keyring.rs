//! The key directory: epochs, rotation, shredding, permission refusals,
//! legal hold and privilege sealing, and the write-only writer.

mod common;

use std::os::unix::fs::PermissionsExt as _;
use std::path::{Path, PathBuf};

use callward_vault::keydir::{
    HOLD_KEY_FILE, KEYRING_FILE, REVIEW_KEY_FILE, epoch_key_file, read_key_file,
};
use callward_vault::keyrecord::sealed_to;
use callward_vault::{AccessGate, LogEvidence};
use callward_vault::{
    AgencyPrivateKey, CallId, ChannelLayout, Codec, ContainerError, EpochStatus, HoldKeys,
    InMemoryKeyProvider, KeyDir, KeyDirError, KeyError, KeyProvider, KeyRecord, Keyring,
    RecordKind, RecordingHeader, RecordingMeta, RecordingWriter, UnwrapRequest, WriterKey, open,
    open_sealed, rewrap_for_hold, seal,
};
use common::TestRng;

/// A gate with a fixed answer: the vault's part is to ask it, and to
/// refuse a request that carries no evidence at all. The binary's gate
/// (callward-audit proofs) has its own tests.
struct Gate(bool);

impl AccessGate for Gate {
    fn admit(&self, _: &RecordingHeader, _: &LogEvidence) -> Result<(), KeyError> {
        if self.0 {
            Ok(())
        } else {
            Err(KeyError::Refused("not in the log".into()))
        }
    }
}

fn evidence() -> LogEvidence {
    LogEvidence {
        entry: vec![1],
        index: 0,
        inclusion: Vec::new(),
        checkpoint: String::new(),
        consistency_from: 0,
        consistency: Vec::new(),
    }
}

/// The request with (stub) evidence, as a gated service expects it.
fn gated(request: UnwrapRequest) -> UnwrapRequest {
    request.with_evidence(evidence())
}

const T0: i64 = 1_790_000_000;

/// A fresh directory under cargo's scratch space holding a data dir and
/// room for a key dir beside it.
fn scratch(name: &str) -> (PathBuf, PathBuf) {
    let root = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("keyring-{name}"));
    let _ = std::fs::remove_dir_all(&root);
    let data = root.join("data");
    std::fs::create_dir_all(&data).unwrap();
    (root.join("keys"), data)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// A recording written the way a call server does: with the writer key only.
fn record(writer: &WriterKey, call_id: &str, audio: &[u8], rng: &mut TestRng) -> Vec<u8> {
    let meta = RecordingMeta {
        call_id: CallId::new(call_id).unwrap(),
        codec: Codec::Pcmu,
        layout: ChannelLayout::StationOutside,
        key_epoch: writer.epoch,
    };
    let mut out = Vec::new();
    let mut w = RecordingWriter::start(&meta, &writer.public, rng, &mut out).unwrap();
    w.push(audio, &mut out).unwrap();
    w.finish(&mut out).unwrap();
    out
}

fn audio(seed: u8, len: usize) -> Vec<u8> {
    (0..len).map(|i| (i as u8).wrapping_mul(7) ^ seed).collect()
}

fn key_err(result: Result<impl std::fmt::Debug, ContainerError>) -> KeyError {
    match result {
        Err(ContainerError::Key(e)) => e,
        other => panic!("expected a key error, got {other:?}"),
    }
}

#[test]
fn create_makes_a_private_directory_with_one_current_epoch() {
    let (keys, data) = scratch("create");
    let mut rng = TestRng::new(1);
    let (dir, keyring) = KeyDir::create(&keys, &data, T0, &mut rng).unwrap();
    assert_eq!(mode(&keys), 0o700);
    for file in [
        epoch_key_file(1),
        HOLD_KEY_FILE.into(),
        REVIEW_KEY_FILE.into(),
    ] {
        assert_eq!(mode(&keys.join(&file)), 0o600, "{file}");
        assert_eq!(std::fs::read(keys.join(&file)).unwrap().len(), 32, "{file}");
    }
    assert_eq!(keyring.epochs().len(), 1);
    let first = &keyring.epochs()[0];
    assert_eq!(
        (first.number, first.status, first.created_unix),
        (1, EpochStatus::Current, T0)
    );
    assert_eq!(
        dir.keyring().unwrap(),
        keyring,
        "the file reads back as written"
    );
    // The hold and review keys are distinct from the epoch key.
    let ids = [
        first.key_id(),
        keyring.hold_public().key_id(),
        keyring.review_public().key_id(),
    ];
    assert!(ids[0] != ids[1] && ids[1] != ids[2] && ids[0] != ids[2]);

    let again = KeyDir::create(&keys, &data, T0, &mut rng).unwrap_err();
    assert!(
        matches!(again, KeyDirError::AlreadyInitialised(_)),
        "{again}"
    );
}

#[test]
fn rotate_makes_a_new_current_epoch_and_old_recordings_still_open() {
    let (keys, data) = scratch("rotate");
    let mut rng = TestRng::new(2);
    let (dir, keyring) = KeyDir::create(&keys, &data, T0, &mut rng).unwrap();
    let w1 = keyring.writer_key();
    let rec1 = record(&w1, "call-e1", &audio(1, 20_000), &mut rng);

    let e2 = dir.rotate(T0 + 60, &mut rng).unwrap();
    assert_eq!(
        (e2.number, e2.status, e2.created_unix),
        (2, EpochStatus::Current, T0 + 60)
    );
    let keyring = dir.keyring().unwrap();
    let statuses: Vec<_> = keyring
        .epochs()
        .iter()
        .map(|e| (e.number, e.status))
        .collect();
    assert_eq!(
        statuses,
        [(1, EpochStatus::Retired), (2, EpochStatus::Current)]
    );
    let w2 = keyring.writer_key();
    assert_eq!(w2.epoch, 2);
    assert_ne!(w2.public, w1.public);
    let rec2 = record(&w2, "call-e2", &audio(2, 100), &mut rng);
    assert_eq!(RecordingHeader::parse(&rec2).unwrap().key_epoch(), 2);

    assert_eq!(open(&rec1, &dir).unwrap().audio, audio(1, 20_000));
    assert_eq!(open(&rec2, &dir).unwrap().audio, audio(2, 100));
    assert_eq!(dir.rotate(T0 + 120, &mut rng).unwrap().number, 3);
}

#[test]
fn shred_makes_that_epochs_recordings_unreadable_and_leaves_the_others() {
    let (keys, data) = scratch("shred");
    let mut rng = TestRng::new(3);
    let (dir, keyring) = KeyDir::create(&keys, &data, T0, &mut rng).unwrap();
    let rec1 = record(&keyring.writer_key(), "call-old", &audio(1, 500), &mut rng);
    dir.rotate(T0 + 1, &mut rng).unwrap();
    let rec2 = record(
        &dir.keyring().unwrap().writer_key(),
        "call-new",
        &audio(2, 500),
        &mut rng,
    );
    assert!(open(&rec1, &dir).is_ok());

    // The current epoch cannot be shredded.
    let err = dir.shred(2, T0 + 2).unwrap_err();
    assert!(err.to_string().contains("current epoch"), "{err}");
    assert!(keys.join(epoch_key_file(2)).exists());
    let err = dir.shred(9, T0 + 2).unwrap_err();
    assert!(err.to_string().contains("no epoch 9"), "{err}");

    assert!(!dir.shred(1, T0 + 2).unwrap(), "first shred");
    assert!(
        !keys.join(epoch_key_file(1)).exists(),
        "the key file is gone"
    );
    let tomb = dir.keyring().unwrap();
    assert_eq!(
        tomb.epoch(1).unwrap().status,
        EpochStatus::Shredded { at_unix: T0 + 2 }
    );
    assert!(
        dir.shred(1, T0 + 3).unwrap(),
        "a repeat says it already was"
    );

    let err = key_err(open(&rec1, &dir));
    assert_eq!(err, KeyError::Shredded { epoch: 1 });
    assert_eq!(
        err.to_string(),
        "epoch 1 was crypto-shredded: its recordings can no longer be read"
    );
    assert_eq!(open(&rec2, &dir).unwrap().audio, audio(2, 500));
}

#[test]
fn a_key_open_to_group_or_others_is_refused_naming_the_file() {
    let (keys, data) = scratch("perms");
    let mut rng = TestRng::new(4);
    let (dir, keyring) = KeyDir::create(&keys, &data, T0, &mut rng).unwrap();
    let rec = record(&keyring.writer_key(), "call-p", &audio(3, 10), &mut rng);
    let key_file = keys.join(epoch_key_file(1));
    for bad in [0o640, 0o604, 0o620, 0o602] {
        std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(bad)).unwrap();
        let err = read_key_file(&key_file).unwrap_err();
        assert!(matches!(err, KeyDirError::Unsafe { .. }), "{bad:o}: {err}");
        let text = err.to_string();
        assert!(text.contains(&key_file.display().to_string()), "{text}");
        assert!(text.contains(&format!("{bad:o}")), "{text}");
        let KeyError::Unavailable(why) = key_err(open(&rec, &dir)) else {
            panic!("expected Unavailable");
        };
        assert!(why.contains("epoch-00000001.key"), "{why}");
    }
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o600)).unwrap();
    assert!(open(&rec, &dir).is_ok());

    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o750)).unwrap();
    let err = KeyDir::open(&keys, &data).unwrap_err();
    assert!(matches!(err, KeyDirError::Unsafe { .. }), "{err}");
    assert!(err.to_string().contains("chmod 700"), "{err}");
    std::fs::set_permissions(&keys, std::fs::Permissions::from_mode(0o700)).unwrap();
    assert!(KeyDir::open(&keys, &data).is_ok());
}

#[test]
fn a_key_dir_inside_the_data_dir_is_refused() {
    let (_, data) = scratch("inside");
    let mut rng = TestRng::new(5);
    for inside in [data.join("keys"), data.join("a/b/keys"), data.clone()] {
        let err = KeyDir::create(&inside, &data, T0, &mut rng).unwrap_err();
        assert!(matches!(err, KeyDirError::InsideDataDir { .. }), "{err}");
        assert!(err.to_string().contains("inside the data dir"), "{err}");
    }
    assert!(!data.join("keys").exists(), "nothing was created");
    assert!(!data.join("a").exists(), "nothing was created");

    // A path that looks outside but resolves inside (through a symlink) is
    // refused; what counts is where the files really are.
    let root = data.parent().unwrap();
    let keys = root.join("keys");
    KeyDir::create(&keys, &data, T0, &mut rng).unwrap();
    let linked_data = root.join("data-link");
    std::os::unix::fs::symlink(&data, &linked_data).unwrap();
    let err = KeyDir::create(&linked_data.join("k2"), &data, T0, &mut rng).unwrap_err();
    assert!(matches!(err, KeyDirError::InsideDataDir { .. }), "{err}");
    std::fs::rename(&keys, data.join("moved-keys")).unwrap();
    let err = KeyDir::open(&linked_data.join("moved-keys"), &data).unwrap_err();
    assert!(matches!(err, KeyDirError::InsideDataDir { .. }), "{err}");
    std::fs::rename(data.join("moved-keys"), &keys).unwrap();
    // Beside it is fine.
    assert!(KeyDir::open(&keys, &data).is_ok());
}

#[test]
fn a_writer_with_only_the_public_keys_writes_and_cannot_read() {
    let (keys, data) = scratch("writer");
    let mut rng = TestRng::new(6);
    let (dir, _) = KeyDir::create(&keys, &data, T0, &mut rng).unwrap();

    // The switch's side: the keyring text (public keys) and nothing else,
    // in a directory of its own, as a config would carry it.
    let switch = data.join("switch-keys");
    std::fs::create_dir_all(&switch).unwrap();
    std::fs::set_permissions(&switch, std::fs::Permissions::from_mode(0o700)).unwrap();
    std::fs::copy(keys.join(KEYRING_FILE), switch.join(KEYRING_FILE)).unwrap();
    let text = std::fs::read_to_string(switch.join(KEYRING_FILE)).unwrap();
    let writer = Keyring::parse(&text).unwrap().writer_key();
    let rec = record(&writer, "call-w", &audio(9, 2_000), &mut rng);

    // It can write, and everything it holds fails to read what it wrote.
    let elsewhere = Path::new(env!("CARGO_TARGET_TMPDIR")).join("keyring-writer-elsewhere");
    let switch_dir = KeyDir::open(&switch, &elsewhere).unwrap();
    let KeyError::Unavailable(why) = key_err(open(&rec, &switch_dir)) else {
        panic!("expected Unavailable");
    };
    assert!(why.contains("epoch-00000001.key"), "{why}");
    assert!(matches!(
        key_err(open(&rec, &InMemoryKeyProvider::new())),
        KeyError::UnknownKey { epoch: 1, .. }
    ));
    // The key service reads it.
    assert_eq!(open(&rec, &dir).unwrap().audio, audio(9, 2_000));
}

#[test]
fn a_hold_record_keeps_a_recording_readable_after_its_epoch_is_shredded() {
    let (keys, data) = scratch("hold");
    let mut rng = TestRng::new(7);
    let (dir, keyring) = KeyDir::create(&keys, &data, T0, &mut rng).unwrap();
    let held = record(
        &keyring.writer_key(),
        "call-held",
        &audio(4, 40_000),
        &mut rng,
    );
    let other = record(&keyring.writer_key(), "call-other", &audio(5, 40), &mut rng);
    let header = RecordingHeader::parse(&held).unwrap();
    let hold = rewrap_for_hold(&header, &dir, keyring.hold_public(), &mut rng).unwrap();
    assert_eq!(hold.kind(), RecordKind::LegalHold);
    // Stored and read back as a sidecar.
    let reparsed = KeyRecord::parse(hold.as_bytes()).unwrap();
    assert_eq!(reparsed, hold);

    dir.rotate(T0 + 1, &mut rng).unwrap();
    dir.shred(1, T0 + 2).unwrap();
    assert_eq!(key_err(open(&held, &dir)), KeyError::Shredded { epoch: 1 });

    let hold_key = dir.hold_key().unwrap();
    let opened = open(
        &held,
        &HoldKeys {
            record: &hold,
            key: &hold_key,
        },
    )
    .unwrap();
    assert_eq!(opened.audio, audio(4, 40_000));
    // Through the key service's request path too.
    let request = UnwrapRequest::new(header.clone()).with_hold_record(hold.clone());
    // Not without evidence, nor with evidence the gate refuses.
    assert!(matches!(
        dir.unwrap(&request, &Gate(true)).unwrap_err(),
        KeyError::Refused(why) if why.contains("no access-log evidence")
    ));
    assert_eq!(
        dir.unwrap(&gated(request.clone()), &Gate(false))
            .unwrap_err(),
        KeyError::Refused("not in the log".into())
    );
    assert!(dir.unwrap(&gated(request), &Gate(true)).is_ok());
    assert_eq!(
        dir.unwrap(&gated(UnwrapRequest::new(header)), &Gate(true))
            .unwrap_err(),
        KeyError::Shredded { epoch: 1 }
    );

    // A hold record opens only the recording it was made for.
    let err = key_err(open(
        &other,
        &HoldKeys {
            record: &hold,
            key: &hold_key,
        },
    ));
    assert!(matches!(err, KeyError::Refused(_)), "{err:?}");
    // And only with the hold key.
    let review = read_key_file(&keys.join(REVIEW_KEY_FILE)).unwrap();
    let err = key_err(open(
        &held,
        &HoldKeys {
            record: &hold,
            key: &review,
        },
    ));
    assert!(matches!(err, KeyError::Refused(_)), "{err:?}");
    // A damaged record does not open.
    let mut bad = hold.as_bytes().to_vec();
    let last = bad.len() - 1;
    bad[last] ^= 1;
    let bad = KeyRecord::parse(&bad).unwrap();
    assert_eq!(
        key_err(open(
            &held,
            &HoldKeys {
                record: &bad,
                key: &hold_key
            }
        )),
        KeyError::UnwrapFailed
    );
}

#[test]
fn a_sealed_recording_is_refused_by_the_ordinary_path_and_opened_by_the_review_key() {
    let (keys, data) = scratch("seal");
    let mut rng = TestRng::new(8);
    let (dir, keyring) = KeyDir::create(&keys, &data, T0, &mut rng).unwrap();
    let original = record(
        &keyring.writer_key(),
        "call-attorney",
        &audio(6, 30_000),
        &mut rng,
    );
    let header = RecordingHeader::parse(&original).unwrap();
    // A hold record made earlier, to show it cannot get around the seal.
    let hold = rewrap_for_hold(&header, &dir, keyring.hold_public(), &mut rng).unwrap();

    let sealed = seal(&header, &dir, keyring.review_public(), &mut rng).unwrap();
    assert_eq!(sealed.record.kind(), RecordKind::PrivilegeSeal);
    assert_eq!(sealed.header.len(), header.len(), "overwritable in place");
    assert!(sealed.record.made_for(&header));
    assert!(!hold.made_for(&RecordingHeader::parse(&sealed.header).unwrap()));
    assert_eq!(
        callward_vault::keyrecord::sealed_header(&header, sealed.record.key_id()),
        sealed.header
    );
    let mut file = original.clone();
    file[..header.len()].copy_from_slice(&sealed.header);

    // The agency wrap is gone from the file.
    let wrap = &original[header.len() - 80..header.len()];
    assert!(!file.windows(80).any(|w| w == wrap));
    let sealed_header = RecordingHeader::parse(&file).unwrap();
    assert_eq!(
        sealed_to(&sealed_header),
        Some(keyring.review_public().key_id())
    );

    // The ordinary path: refused with a clear error...
    let err = key_err(open(&file, &dir));
    assert_eq!(
        err,
        KeyError::Sealed {
            review_key: keyring.review_public().key_id()
        }
    );
    assert!(
        err.to_string().contains("sealed for privilege review"),
        "{err}"
    );
    assert_eq!(
        dir.unwrap(
            &gated(UnwrapRequest::new(sealed_header.clone())),
            &Gate(true)
        )
        .unwrap_err(),
        err
    );
    // ...and unable: the epoch private key has nothing left to open, even
    // used directly, and the old hold record's data key cannot rebuild the
    // stream key without the destroyed header bytes.
    let epoch_key = read_key_file(&keys.join(epoch_key_file(1))).unwrap();
    struct Raw(InMemoryKeyProvider);
    impl KeyProvider for Raw {
        fn unwrap_data_key(
            &self,
            h: &RecordingHeader,
        ) -> Result<callward_vault::DataKey, KeyError> {
            self.0.unwrap_data_key(h)
        }
    }
    let raw = Raw(InMemoryKeyProvider::with_key(1, epoch_key));
    assert!(open(&file, &raw).is_err());
    let hold_key = dir.hold_key().unwrap();
    assert!(
        open(
            &file,
            &HoldKeys {
                record: &hold,
                key: &hold_key
            }
        )
        .is_err()
    );
    let data_key = HoldKeys {
        record: &hold,
        key: &hold_key,
    }
    .unwrap_data_key(&header)
    .unwrap();
    struct Leaked(callward_vault::DataKey);
    impl KeyProvider for Leaked {
        fn unwrap_data_key(
            &self,
            _: &RecordingHeader,
        ) -> Result<callward_vault::DataKey, KeyError> {
            Ok(self.0.clone())
        }
    }
    assert!(matches!(
        open(&file, &Leaked(data_key)),
        Err(ContainerError::Stream(_))
    ));

    // The review key opens it; the epoch key and the hold key do not.
    let review = read_key_file(&keys.join(REVIEW_KEY_FILE)).unwrap();
    let seal_record = KeyRecord::parse(sealed.record.as_bytes()).unwrap();
    let opened = open_sealed(&file, &seal_record, &review).unwrap();
    assert_eq!(opened.audio, audio(6, 30_000));
    assert_eq!(opened.header.call_id().as_str(), "call-attorney");
    assert!(open_sealed(&file, &seal_record, &hold_key).is_err());
    assert!(open_sealed(&file, &seal_record, &AgencyPrivateKey::generate(&mut rng)).is_err());

    // Nothing is sealed twice, and a seal record of one call does not open another.
    assert!(matches!(
        seal(&sealed_header, &dir, keyring.review_public(), &mut rng),
        Err(ContainerError::Key(KeyError::Sealed { .. }))
    ));
    let other = record(&keyring.writer_key(), "call-other", &audio(1, 10), &mut rng);
    let other_sealed = seal(
        &RecordingHeader::parse(&other).unwrap(),
        &dir,
        keyring.review_public(),
        &mut rng,
    )
    .unwrap();
    let mut other_file = other;
    other_file[..other_sealed.header.len()].copy_from_slice(&other_sealed.header);
    assert!(open_sealed(&other_file, &seal_record, &review).is_err());
    assert!(open_sealed(&other_file, &other_sealed.record, &review).is_ok());
}

#[test]
fn keyring_text_round_trips_and_refuses_damage() {
    let (keys, data) = scratch("text");
    let mut rng = TestRng::new(10);
    let (dir, _) = KeyDir::create(&keys, &data, T0, &mut rng).unwrap();
    dir.rotate(T0 + 5, &mut rng).unwrap();
    dir.rotate(T0 + 6, &mut rng).unwrap();
    dir.shred(1, T0 + 7).unwrap();
    let keyring = dir.keyring().unwrap();
    let text = keyring.to_text();
    assert_eq!(Keyring::parse(&text).unwrap(), keyring);
    assert!(text.contains("epoch 1 shredded"), "{text}");

    let two_current = text.replace("retired", "current");
    let one_deleted: String = text
        .lines()
        .filter(|l| !l.contains("current"))
        .map(|l| format!("{l}\n"))
        .collect();
    let doubled = format!("{text}{}\n", text.lines().last().unwrap());
    let bad_key = text.replacen("epoch 2 retired", "epoch 2 retired ", 1);
    for (name, bad) in [
        ("two current", two_current),
        ("no current", one_deleted),
        ("repeated epoch", doubled),
        ("extra field", bad_key),
        ("wrong first line", text.replacen("v1", "v2", 1)),
        ("empty", String::new()),
    ] {
        assert!(Keyring::parse(&bad).is_err(), "{name} accepted");
    }
}

#[test]
fn an_epoch_expires_a_retention_period_after_its_successor_was_created() {
    let (keys, data) = scratch("expire");
    let mut rng = TestRng::new(11);
    let (dir, _) = KeyDir::create(&keys, &data, T0, &mut rng).unwrap();
    let day = 86_400;
    dir.rotate(T0 + 30 * day, &mut rng).unwrap(); // epoch 2
    dir.rotate(T0 + 60 * day, &mut rng).unwrap(); // epoch 3, current
    let keyring = dir.keyring().unwrap();
    let retention = 90 * day;
    assert_eq!(
        keyring.expired_epochs(T0 + 119 * day, retention),
        Vec::<u32>::new()
    );
    assert_eq!(keyring.expired_epochs(T0 + 120 * day, retention), [1]);
    assert_eq!(keyring.expired_epochs(T0 + 150 * day, retention), [1, 2]);
    // The current epoch never expires, however old.
    assert_eq!(keyring.expired_epochs(T0 + 10_000 * day, retention), [1, 2]);
    dir.shred(1, T0 + 120 * day).unwrap();
    assert_eq!(
        dir.keyring()
            .unwrap()
            .expired_epochs(T0 + 150 * day, retention),
        [2]
    );
}
