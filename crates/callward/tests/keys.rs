//! `callward keys ...` and `callward keyd` through the real binary: a key
//! directory is created, rotated, listed and shredded; keyd, as its own
//! process, unwraps a data key over its socket and refuses after a shred,
//! a legal hold keeps a recording readable, a seal makes it refuse. Every
//! request to keyd carries access-log evidence (the test plays the log,
//! signing with the key directory's `audit.key`); one without is refused.

mod common;

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::os::unix::fs::PermissionsExt as _;
use std::os::unix::net::UnixStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::mpsc::{Receiver, channel};

use callward_vault::protocol::split_frame;
use callward_vault::{
    AgencyPublicKey, CallId, ChannelLayout, Codec, DataKey, KeyError, KeyProvider, KeyRecord,
    RecordingHeader, RecordingMeta, RecordingWriter, UnwrapRequest, UnwrapResponse, open,
};
use common::{BIN, DEADLINE, run, scratch};

/// Runs `callward keys SUB --key-dir K --data-dir D ARGS`.
fn keys(root: &Path, sub: &str, args: &[&str]) -> Output {
    let key_dir = root.join("keys");
    let data_dir = root.join("data");
    let mut full = vec![
        "keys",
        sub,
        "--key-dir",
        key_dir.to_str().unwrap(),
        "--data-dir",
        data_dir.to_str().unwrap(),
    ];
    full.extend_from_slice(args);
    run(&full, root)
}

/// A data dir at ROOT/data (one facility), whose access log key changes
/// are appended to.
fn make_data_dir(root: &Path) {
    let out = common::admin(
        &root.join("data"),
        &[
            "facility",
            "create",
            "--name",
            "J",
            "--kind",
            "jail",
            "--adp",
            "10",
            "--timezone",
            "UTC",
            "--gateway",
            "127.0.0.1",
        ],
    );
    assert!(out.status.success(), "{}", stderr(&out));
}

fn stdout(output: &Output) -> String {
    String::from_utf8(output.stdout.clone()).unwrap()
}

fn stderr(output: &Output) -> String {
    String::from_utf8(output.stderr.clone()).unwrap()
}

#[track_caller]
fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}{}",
        stdout(&output),
        stderr(&output)
    );
    String::from_utf8(output.stdout).unwrap()
}

fn list(root: &Path) -> Vec<serde_json::Value> {
    let text = ok(keys(root, "list", &["--json"]));
    serde_json::from_str::<serde_json::Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

/// The OS RNG, for writing test recordings.
fn os_rng() -> callward_vault::OsRng {
    callward_vault::OsRng::new().unwrap()
}

fn hex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap())
        .collect()
}

/// Writes a recording as a call server would, with only the public key
/// `keys list --json` shows for `epoch`.
fn write_recording(root: &Path, epoch: &serde_json::Value, call_id: &str, audio: &[u8]) -> PathBuf {
    let public = AgencyPublicKey::from_bytes(&hex(epoch["public_key"].as_str().unwrap())).unwrap();
    let meta = RecordingMeta {
        call_id: CallId::new(call_id).unwrap(),
        codec: Codec::Pcmu,
        layout: ChannelLayout::StationOutside,
        key_epoch: u32::try_from(epoch["epoch"].as_u64().unwrap()).unwrap(),
    };
    let mut bytes = Vec::new();
    let mut writer = RecordingWriter::start(&meta, &public, &mut os_rng(), &mut bytes).unwrap();
    writer.push(audio, &mut bytes).unwrap();
    writer.finish(&mut bytes).unwrap();
    let path = root.join(format!("{call_id}.cwrec"));
    std::fs::write(&path, &bytes).unwrap();
    path
}

/// Hands out one data key (what a reader does with keyd's answer).
struct Released(DataKey);

impl KeyProvider for Released {
    fn unwrap_data_key(&self, _: &RecordingHeader) -> Result<DataKey, KeyError> {
        Ok(self.0.clone())
    }
}

/// The audit log as the test keeps it: entries appended, and evidence for
/// keyd, which has admitted everything up to `seen`.
struct TestLog {
    log: callward_audit::Log<callward_audit::MemoryStore>,
    seen: u64,
}

impl TestLog {
    /// Signs with the key directory's log key (seed, then the origin).
    fn new(key_dir: &Path) -> Self {
        let bytes = std::fs::read(key_dir.join("audit.key")).unwrap();
        let (seed, origin) = bytes.split_at(32);
        let origin = std::str::from_utf8(origin).unwrap();
        let signer =
            callward_audit::NoteSigner::from_seed(origin, seed.try_into().unwrap()).unwrap();
        let log =
            callward_audit::Log::open(callward_audit::MemoryStore::new(), origin, signer).unwrap();
        Self { log, seen: 0 }
    }

    /// Logs an export of this recording and returns the request with its
    /// evidence.
    fn request(&mut self, header: RecordingHeader) -> UnwrapRequest {
        let entry = callward_audit::Entry {
            user: "inv.jones".into(),
            role: "investigator".into(),
            agency: "Demo County".into(),
            action: callward_audit::Action::Export,
            object_kind: callward_audit::ObjectKind::Recording,
            object_id: header.call_id().to_string(),
            case_id: String::new(),
            justification: "test".into(),
            time: callward_audit::Timestamp(179_500_000_000 + self.log.size()),
            source: callward_audit::Source::Local("test".into()),
        };
        self.log.append(&[entry]).unwrap();
        let size = self.log.size();
        let hashes = |v: Vec<callward_audit::Hash>| v.into_iter().map(|h| h.0).collect();
        let evidence = callward_vault::LogEvidence {
            entry: self.log.entry(size - 1).unwrap().encode().unwrap(),
            index: size - 1,
            inclusion: hashes(self.log.inclusion_proof(size - 1, size).unwrap()),
            checkpoint: self.log.checkpoint().unwrap().to_owned(),
            consistency_from: self.seen,
            consistency: if self.seen == 0 {
                Vec::new()
            } else {
                hashes(self.log.consistency_proof(self.seen, size).unwrap())
            },
        };
        self.seen = size;
        UnwrapRequest::new(header).with_evidence(evidence)
    }
}

/// Sends one request over the socket and reads the answer.
fn ask(socket: &Path, request: &UnwrapRequest) -> Result<DataKey, KeyError> {
    let mut stream = UnixStream::connect(socket).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.write_all(&request.encode()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 256];
    loop {
        if let Some((body, _)) = split_frame(&buf).unwrap() {
            return match UnwrapResponse::decode(body).unwrap() {
                UnwrapResponse::Key(key) => Ok(key),
                UnwrapResponse::Error(e) => Err(e),
            };
        }
        let n = stream.read(&mut chunk).unwrap();
        assert!(n > 0, "keyd closed the connection without answering");
        buf.extend_from_slice(&chunk[..n]);
    }
}

fn header_of(path: &Path) -> RecordingHeader {
    RecordingHeader::parse(&std::fs::read(path).unwrap()).unwrap()
}

/// A running `callward keyd`, killed on drop.
struct Keyd {
    child: Child,
    lines: Receiver<String>,
}

impl Keyd {
    fn start(root: &Path, socket: &Path) -> Self {
        let mut child = Command::new(BIN)
            .args(["--log-format", "json", "keyd", "--key-dir"])
            .arg(root.join("keys"))
            .arg("--data-dir")
            .arg(root.join("data"))
            .arg("--socket")
            .arg(socket)
            .current_dir(root)
            .env_remove("RUST_LOG")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Self { child, lines }
    }

    /// Waits for the log event with this message; returns every line seen.
    fn wait_for(&self, message: &str) -> Vec<String> {
        let mut seen = Vec::new();
        loop {
            let line = self
                .lines
                .recv_timeout(DEADLINE)
                .unwrap_or_else(|_| panic!("no {message:?} from keyd; log: {seen:#?}"));
            let event: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            seen.push(line);
            if event["fields"]["message"] == message {
                return seen;
            }
        }
    }
}

impl Drop for Keyd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

#[test]
fn init_rotate_list_and_shred() {
    let root = scratch("keys-cli");
    let out = ok(keys(&root, "init", &[]));
    assert!(out.contains("epoch 1"), "{out}");
    let key_dir = root.join("keys");
    assert_eq!(mode(&key_dir), 0o700);
    for file in ["epoch-00000001.key", "hold.key", "review.key"] {
        assert_eq!(mode(&key_dir.join(file)), 0o600, "{file}");
    }
    assert!(
        !root.join("data").exists(),
        "keys init does not create a data dir"
    );

    let again = keys(&root, "init", &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(
        stderr(&again).contains("already holds a keyring"),
        "{}",
        stderr(&again)
    );

    // Key changes are logged first, in the data dir's log.
    make_data_dir(&root);
    let out = ok(keys(&root, "rotate", &[]));
    assert!(out.contains("epoch 2"), "{out}");
    let epochs = list(&root);
    assert_eq!(epochs.len(), 2);
    assert_eq!(epochs[0]["epoch"], 1);
    assert_eq!(epochs[0]["status"], "retired");
    assert_eq!(epochs[1]["status"], "current");
    for e in &epochs {
        assert_eq!(e["key_id"].as_str().unwrap().len(), 16, "{e}");
        assert_eq!(e["public_key"].as_str().unwrap().len(), 64, "{e}");
        assert!(e["created"].as_str().unwrap().ends_with('Z'), "{e}");
        assert!(e["shredded_at"].is_null(), "{e}");
    }
    assert_ne!(epochs[0]["key_id"], epochs[1]["key_id"]);
    // The table names them too.
    let table = ok(keys(&root, "list", &[]));
    assert!(
        table.contains("retired") && table.contains("current"),
        "{table}"
    );

    let current = keys(&root, "shred", &["2"]);
    assert_eq!(current.status.code(), Some(1));
    assert!(
        stderr(&current).contains("rotate to a new one before shredding"),
        "{}",
        stderr(&current)
    );
    let out = ok(keys(&root, "shred", &["1"]));
    assert!(out.contains("epoch 1 shredded"), "{out}");
    assert!(!key_dir.join("epoch-00000001.key").exists());
    let epochs = list(&root);
    assert_eq!(epochs[0]["status"], "shredded");
    assert!(epochs[0]["shredded_at"].as_str().unwrap().ends_with('Z'));
    assert_eq!(epochs[1]["status"], "current");
    let out = ok(keys(&root, "shred", &["1"]));
    assert!(out.contains("already shredded"), "{out}");
}

#[test]
fn keys_are_refused_inside_the_data_dir_or_open_to_others() {
    let root = scratch("keys-refused");
    let data = root.join("data");
    let inside = data.join("keys");
    let out = run(
        &[
            "keys",
            "init",
            "--key-dir",
            inside.to_str().unwrap(),
            "--data-dir",
            data.to_str().unwrap(),
        ],
        &root,
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        stderr(&out).contains("inside the data dir"),
        "{}",
        stderr(&out)
    );
    assert!(!inside.exists());

    ok(keys(&root, "init", &[]));
    make_data_dir(&root);
    let key_file = root.join("keys/epoch-00000001.key");
    std::fs::set_permissions(&key_file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let recording = write_recording(&root, &list(&root)[0], "call-perm", b"abc");
    let out = keys(&root, "hold", &[recording.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    let err = stderr(&out);
    assert!(
        err.contains("epoch-00000001.key") && err.contains("644"),
        "{err}"
    );
    assert!(!root.join("call-perm.cwrec.hold").exists());
}

#[test]
fn keyd_unwraps_over_its_socket_and_refuses_after_shred() {
    let root = scratch("keyd");
    ok(keys(&root, "init", &[]));
    make_data_dir(&root);
    let epoch1 = list(&root)[0].clone();
    let audio: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
    let held = write_recording(&root, &epoch1, "call-held", &audio);
    let plain = write_recording(&root, &epoch1, "call-plain", &audio[..100]);
    ok(keys(&root, "rotate", &[]));
    let epoch2 = list(&root)[1].clone();
    let privileged = write_recording(&root, &epoch2, "call-attorney", &audio[..3_000]);

    let socket = root.join("keyd.sock");
    let keyd = Keyd::start(&root, &socket);
    keyd.wait_for("keyd ready");
    let meta = std::fs::symlink_metadata(&socket).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);

    // No key without access-log evidence.
    let err = ask(&socket, &UnwrapRequest::new(header_of(&plain))).unwrap_err();
    assert!(
        matches!(&err, KeyError::Refused(why) if why.contains("no access-log evidence")),
        "{err:?}"
    );
    let mut access = TestLog::new(&root.join("keys"));
    // An unwrap: the released key opens the recording.
    let key = ask(&socket, &access.request(header_of(&plain))).unwrap();
    let opened = open(&std::fs::read(&plain).unwrap(), &Released(key)).unwrap();
    assert_eq!(opened.audio, &audio[..100]);

    // A legal hold, then the epoch is shredded by another process.
    let out = ok(keys(&root, "hold", &[held.to_str().unwrap()]));
    assert!(out.contains("held 1 recordings"), "{out}");
    let hold_file = root.join("call-held.cwrec.hold");
    assert_eq!(mode(&hold_file), 0o600);
    ok(keys(&root, "shred", &["1"]));

    let err = ask(&socket, &access.request(header_of(&plain))).unwrap_err();
    assert_eq!(err, KeyError::Shredded { epoch: 1 });
    assert_eq!(
        err.to_string(),
        "epoch 1 was crypto-shredded: its recordings can no longer be read"
    );
    // The held one is still readable through its hold record.
    let record = KeyRecord::parse(&std::fs::read(&hold_file).unwrap()).unwrap();
    let request = access.request(header_of(&held)).with_hold_record(record);
    let key = ask(&socket, &request).unwrap();
    assert_eq!(
        open(&std::fs::read(&held).unwrap(), &Released(key))
            .unwrap()
            .audio,
        audio
    );

    // Sealing: keyd refuses the sealed recording, and a second seal counts none.
    assert!(ask(&socket, &access.request(header_of(&privileged))).is_ok());
    let out = ok(keys(&root, "seal", &[privileged.to_str().unwrap()]));
    assert!(out.contains("sealed 1 recordings"), "{out}");
    assert!(root.join("call-attorney.cwrec.seal").exists());
    let err = ask(&socket, &access.request(header_of(&privileged))).unwrap_err();
    assert!(matches!(err, KeyError::Sealed { .. }), "{err:?}");
    let out = ok(keys(&root, "seal", &[privileged.to_str().unwrap()]));
    assert!(out.contains("sealed 0 recordings"), "{out}");

    // Garbage gets a refusal, not a crash; keyd goes on serving.
    let mut stream = UnixStream::connect(&socket).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    stream.write_all(&[0, 0, 0, 3, 1, 1, 99]).unwrap();
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).unwrap();
    let (body, _) = split_frame(&answer).unwrap().unwrap();
    assert!(matches!(
        UnwrapResponse::decode(body).unwrap(),
        UnwrapResponse::Error(KeyError::Refused(_))
    ));
    assert!(ask(&socket, &access.request(header_of(&privileged))).is_err());

    // No key bytes in the log.
    let log = keyd.wait_for("keyd refused an unwrap");
    let key = ask(
        &socket,
        &access
            .request(header_of(&held))
            .with_hold_record(KeyRecord::parse(&std::fs::read(&hold_file).unwrap()).unwrap()),
    )
    .unwrap();
    // A stale checkpoint: evidence from before what keyd has seen.
    let mut behind = TestLog::new(&root.join("keys"));
    let err = ask(&socket, &behind.request(header_of(&held))).unwrap_err();
    assert!(
        matches!(&err, KeyError::Refused(why) if why.contains("stale checkpoint")),
        "{err:?}"
    );
    // A proof from a size keyd did not admit last: it names the size to
    // prove from (status 09), and the proof from there releases.
    let admitted = access.seen;
    access.seen = 1;
    let err = ask(&socket, &access.request(header_of(&held))).unwrap_err();
    assert_eq!(
        err,
        KeyError::ConsistencyNeeded {
            from_size: admitted
        }
    );
    access.seen = admitted;
    let record = KeyRecord::parse(&std::fs::read(&hold_file).unwrap()).unwrap();
    assert!(
        ask(
            &socket,
            &access.request(header_of(&held)).with_hold_record(record)
        )
        .is_ok()
    );
    let key_hex: String = {
        let frame = UnwrapResponse::Key(key).encode();
        frame[6..].iter().map(|b| format!("{b:02x}")).collect()
    };
    for line in log {
        assert!(!line.contains(&key_hex), "key in log: {line}");
    }

    // SIGTERM stops it and removes the socket.
    let status = Command::new("kill")
        .args(["-TERM", &keyd.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    keyd.wait_for("stopping");
    let mut keyd = keyd;
    let status = keyd.child.wait().unwrap();
    assert!(status.success(), "{status:?}");
    assert!(!socket.exists());
}

#[test]
fn expire_shreds_expired_epochs_and_deletes_all_but_held_recordings() {
    let root = scratch("keys-expire");
    ok(keys(&root, "init", &[]));
    make_data_dir(&root);
    let recordings = root.join("recordings");
    std::fs::create_dir_all(&recordings).unwrap();
    let epoch1 = list(&root)[0].clone();
    let held = write_recording(&root, &epoch1, "call-kept", b"held audio");
    let gone = write_recording(&root, &epoch1, "call-gone", b"expired audio");
    let (held, gone) = (
        recordings.join(held.file_name().unwrap()),
        recordings.join(gone.file_name().unwrap()),
    );
    std::fs::rename(root.join("call-kept.cwrec"), &held).unwrap();
    std::fs::rename(root.join("call-gone.cwrec"), &gone).unwrap();
    ok(keys(&root, "hold", &[held.to_str().unwrap()]));
    ok(keys(&root, "rotate", &[]));
    let epoch2 = list(&root)[1].clone();
    let current = recordings.join("call-new.cwrec");
    std::fs::rename(
        write_recording(&root, &epoch2, "call-new", b"new"),
        &current,
    )
    .unwrap();
    let dir = recordings.to_str().unwrap();

    // Within the retention period: nothing happens.
    let out = ok(keys(
        &root,
        "expire",
        &["--retention-days", "30", "--recordings", dir],
    ));
    assert!(out.contains("no epoch has expired"), "{out}");
    assert!(gone.exists() && held.exists());
    assert_eq!(list(&root)[0]["status"], "retired");

    let out = ok(keys(
        &root,
        "expire",
        &["--retention-days", "0", "--recordings", dir],
    ));
    assert!(
        out.contains("epoch 1 expired and shredded: deleted 1 recordings, kept 1 on legal hold"),
        "{out}"
    );
    assert_eq!(list(&root)[0]["status"], "shredded");
    assert_eq!(list(&root)[1]["status"], "current");
    assert!(!gone.exists(), "the unheld recording is deleted");
    assert!(held.exists() && current.exists());

    // The held one still opens through keyd and its hold record.
    let socket = root.join("keyd.sock");
    let keyd = Keyd::start(&root, &socket);
    keyd.wait_for("keyd ready");
    let record =
        KeyRecord::parse(&std::fs::read(recordings.join("call-kept.cwrec.hold")).unwrap()).unwrap();
    let mut log = TestLog::new(&root.join("keys"));
    let key = ask(
        &socket,
        &log.request(header_of(&held)).with_hold_record(record),
    )
    .unwrap();
    assert_eq!(
        open(&std::fs::read(&held).unwrap(), &Released(key))
            .unwrap()
            .audio,
        b"held audio"
    );
}

#[test]
fn seal_goes_through_a_hold_record_skips_the_shredded_and_finishes_an_interrupted_seal() {
    let root = scratch("keys-seal");
    ok(keys(&root, "init", &[]));
    make_data_dir(&root);
    let epoch1 = list(&root)[0].clone();
    let held = write_recording(&root, &epoch1, "call-held", b"held");
    let lost = write_recording(&root, &epoch1, "call-lost", b"lost");
    ok(keys(&root, "hold", &[held.to_str().unwrap()]));
    ok(keys(&root, "rotate", &[]));
    ok(keys(&root, "shred", &["1"]));
    let epoch2 = list(&root)[1].clone();
    let fresh = write_recording(&root, &epoch2, "call-fresh", b"fresh");
    let original = std::fs::read(&fresh).unwrap();

    let out = ok(keys(
        &root,
        "seal",
        &[
            held.to_str().unwrap(),
            lost.to_str().unwrap(),
            fresh.to_str().unwrap(),
        ],
    ));
    assert!(
        out.contains("sealed 2 recordings (0 already sealed, 1 unreadable: epoch shredded)"),
        "{out}"
    );
    assert!(!root.join("call-lost.cwrec.seal").exists());
    for sealed in [&held, &fresh] {
        let header = header_of(sealed);
        assert!(
            callward_vault::keyrecord::sealed_to(&header).is_some(),
            "{}",
            sealed.display()
        );
    }

    // A crash after the seal record was written, before the header was:
    // put the original header back; the next run finishes the seal.
    std::fs::write(&fresh, &original).unwrap();
    let socket = root.join("keyd.sock");
    let keyd = Keyd::start(&root, &socket);
    keyd.wait_for("keyd ready");
    let mut log = TestLog::new(&root.join("keys"));
    assert!(ask(&socket, &log.request(header_of(&fresh))).is_ok());
    let out = ok(keys(&root, "seal", &[fresh.to_str().unwrap()]));
    assert!(
        out.contains("sealed 1 recordings (0 already sealed"),
        "{out}"
    );
    let err = ask(&socket, &log.request(header_of(&fresh))).unwrap_err();
    assert!(matches!(err, KeyError::Sealed { .. }), "{err:?}");
    assert_ne!(std::fs::read(&fresh).unwrap(), original);
}

mod access_site;

/// Every `keys` command that changes state appends exactly one entry to
/// the data dir's access log (issue 7, item 2: key operations are logged
/// first), generated over the commands: each with its action and object.
#[test]
fn every_key_change_appends_its_entry() {
    use callward_audit::{Action, ObjectKind};
    let root = scratch("keys-logged");
    make_data_dir(&root);
    let site = access_site::Site::at(&root, &root.join("data"), &root.join("keys"));
    ok(keys(&root, "init", &[]));
    // The facility made the data dir and the log key, logging its creation;
    // init then found the log key there and logged after making the keys.
    let log = site.log();
    assert_eq!(log.len(), 2, "{log:?}");
    assert_eq!(
        (log[0].action, log[0].object_kind, log[0].object_id.as_str()),
        (Action::AdminChange, ObjectKind::Facility, "J")
    );
    assert_eq!(
        (log[1].action, log[1].object_kind, log[1].object_id.as_str()),
        (Action::KeyChange, ObjectKind::Key, "keyring")
    );
    let epoch1 = list(&root)[0].clone();
    let a = write_recording(&root, &epoch1, "call-a", b"audio a");
    let b = write_recording(&root, &epoch1, "call-b", b"audio b");
    let (a, b) = (a.to_str().unwrap(), b.to_str().unwrap());
    /// Subcommand, its arguments, and the entry it must append.
    type Case<'a> = (&'a str, Vec<&'a str>, Action, ObjectKind, &'a str, &'a str);
    let cases: [Case<'_>; 5] = [
        (
            "rotate",
            vec![],
            Action::KeyChange,
            ObjectKind::Key,
            "keyring",
            "rotate",
        ),
        (
            "hold",
            vec![a],
            Action::KeyChange,
            ObjectKind::Recording,
            "call-a",
            "legal hold record",
        ),
        (
            "seal",
            vec![b],
            Action::PrivilegeSeal,
            ObjectKind::Recording,
            "call-b",
            "privilege seal",
        ),
        (
            "shred",
            vec!["1"],
            Action::KeyChange,
            ObjectKind::Key,
            "epoch 1",
            "crypto-shred",
        ),
        (
            "expire",
            vec![
                "--retention-days",
                "1",
                "--recordings",
                root.to_str().unwrap(),
            ],
            Action::KeyChange,
            ObjectKind::Key,
            "keyring",
            "expire: retention 1 days",
        ),
    ];
    for (sub, args, action, kind, object, what) in cases {
        let before = site.log().len();
        ok(keys(&root, sub, &args));
        let log = site.log();
        assert_eq!(log.len(), before + 1, "keys {sub}: {:?}", &log[before..]);
        let e = &log[before];
        assert_eq!(
            (
                e.action,
                e.object_kind,
                e.object_id.as_str(),
                e.justification.as_str()
            ),
            (action, kind, object, what),
            "keys {sub}"
        );
        assert_eq!(e.role, "local operator", "keys {sub}");
    }
    // A read changes nothing and logs nothing.
    let before = site.log().len();
    list(&root);
    assert_eq!(site.log().len(), before);
}

/// If the entry cannot be appended, the key change does not happen: a log
/// key others may read is refused, and so the rotation and the hold are.
#[test]
fn a_key_change_that_cannot_be_logged_does_not_happen() {
    use std::os::unix::fs::PermissionsExt as _;
    let root = scratch("keys-unlogged");
    ok(keys(&root, "init", &[]));
    let recording = write_recording(&root, &list(&root)[0], "call-x", b"audio");
    // No data dir, so no log: refused.
    let out = keys(&root, "rotate", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("logged first"), "{}", stderr(&out));
    make_data_dir(&root);
    std::fs::set_permissions(
        root.join("keys/audit.key"),
        std::fs::Permissions::from_mode(0o644),
    )
    .unwrap();
    let out = keys(&root, "rotate", &[]);
    assert_eq!(out.status.code(), Some(1));
    assert!(stderr(&out).contains("audit.key"), "{}", stderr(&out));
    let out = keys(&root, "hold", &[recording.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(list(&root).len(), 1, "no new epoch");
    assert!(!root.join("call-x.cwrec.hold").exists(), "no hold record");
}

/// `recordings hold add|remove` and `recordings expire` (retention's key
/// operations) append their entry first too, one per command.
#[test]
fn holds_and_the_expiry_job_append_their_entries() {
    use callward_audit::{Action, ObjectKind};
    let root = scratch("keys-retention-logged");
    let site = access_site::Site::new(&root);
    site.add_recording("call-r", 1);
    let runs: [(&[&str], ObjectKind, &str); 3] = [
        (
            &[
                "hold",
                "add",
                "call-r",
                "--by",
                "clerk",
                "--reason",
                "court hold 7",
            ],
            ObjectKind::Recording,
            "call-r",
        ),
        (
            &["hold", "remove", "call-r", "--by", "clerk"],
            ObjectKind::CallRecord,
            "call-r",
        ),
        (&["expire"], ObjectKind::Key, "keyring"),
    ];
    for (args, kind, object) in runs {
        let before = site.log().len();
        let out = site.run("recordings", args, "");
        assert!(
            out.status.success(),
            "{args:?}: {}",
            access_site::text(&out)
        );
        let log = site.log();
        assert_eq!(log.len(), before + 1, "{args:?}: {:?}", &log[before..]);
        let e = &log[before];
        assert_eq!(
            (e.action, e.object_kind, e.object_id.as_str()),
            (Action::KeyChange, kind, object),
            "{args:?}"
        );
    }
}

/// Registering a privileged number seals its earlier recordings, and each
/// seal is logged before it is made.
#[test]
fn retroactive_privilege_seals_are_logged() {
    use callward_audit::{Action, ObjectKind};
    let root = scratch("keys-seal-logged");
    let site = access_site::Site::new(&root);
    site.add_recording("call-p", 1);
    let before = site.log().len();
    let out = site.run(
        "admin",
        &[
            "privileged",
            "register",
            "--number",
            "+15551230001",
            "--attorney",
            "Alex Counsel",
            "--bar-number",
            "24000001",
            "--bar-state",
            "TX",
        ],
        "",
    );
    assert!(out.status.success(), "{}", access_site::text(&out));
    let log = site.log();
    let seals: Vec<_> = log[before..]
        .iter()
        .filter(|e| e.action == Action::PrivilegeSeal)
        .collect();
    assert_eq!(seals.len(), 1, "{:?}", &log[before..]);
    assert_eq!(seals[0].object_kind, ObjectKind::Recording);
    assert_eq!(seals[0].object_id, "call-p");
}
