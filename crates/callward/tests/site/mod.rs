//! A data dir with one facility and a key directory beside it, recordings
//! written as a call server writes them (the agency public key only) and
//! their call records stored: the set-up of the retention and privilege
//! seal tests.

#![allow(dead_code, reason = "each test file uses part of it")]

use std::path::PathBuf;
use std::process::Output;

use callward_core::callflow::{Disposition, HungUpBy};
use callward_core::{CallDetailRecord, E164Number, FacilityId, PersonId, StationId};
use callward_store::{SqliteStore, Store as _};
use callward_vault::{
    AgencyPublicKey, CallId, ChannelLayout, Codec, RecordingMeta, RecordingWriter,
};
use jiff::{SignedDuration, Timestamp};

use crate::common::{admin, run, scratch};

/// The OS RNG, for writing test recordings.
fn os_rng() -> callward_vault::OsRng {
    callward_vault::OsRng::new().unwrap()
}

/// A data dir with one facility, and a key directory beside it.
pub(crate) struct Site {
    pub(crate) root: PathBuf,
}

impl Site {
    pub(crate) fn new(name: &str, retention_days: &str) -> Self {
        let root = scratch(name);
        let site = Self { root };
        let made = admin(
            &site.data(),
            &[
                "facility",
                "create",
                "--name",
                "J",
                "--kind",
                "jail",
                "--adp",
                "500",
                "--timezone",
                "UTC",
                "--gateway",
                "127.0.0.1",
                "--retention-days",
                retention_days,
                "--json",
            ],
        );
        let text = ok(made);
        let f: serde_json::Value = serde_json::from_str(&text).unwrap();
        assert_eq!(f["retention_days"].to_string(), retention_days);
        ok(site.cmd(&["keys", "init"], true));
        site
    }

    pub(crate) fn data(&self) -> PathBuf {
        self.root.join("data")
    }

    /// `callward ARGS --data-dir D [--key-dir K]`.
    pub(crate) fn cmd(&self, args: &[&str], key_dir: bool) -> Output {
        let data = self.data();
        let keys = self.root.join("keys");
        let mut dirs = vec!["--data-dir", data.to_str().unwrap()];
        if key_dir {
            dirs.extend(["--key-dir", keys.to_str().unwrap()]);
        }
        // `keys` takes them after its subcommand, the others before theirs.
        let at = if args[0] == "keys" { args.len() } else { 1 };
        let mut full: Vec<&str> = args[..at].to_vec();
        full.extend(dirs);
        full.extend(&args[at..]);
        run(&full, &self.root)
    }

    pub(crate) fn current_epoch(&self) -> serde_json::Value {
        let list: serde_json::Value =
            serde_json::from_str(&ok(self.cmd(&["keys", "list", "--json"], true))).unwrap();
        list.as_array()
            .unwrap()
            .iter()
            .find(|e| e["status"] == "current")
            .unwrap()
            .clone()
    }

    /// Writes a recording of call `id` to the current epoch and stores its
    /// call record, offered `days_ago`.
    pub(crate) fn recorded_call(&self, id: &str, number: &str, days_ago: i64) {
        let epoch = self.current_epoch();
        let hex = epoch["public_key"].as_str().unwrap();
        let bytes: Vec<u8> = (0..hex.len())
            .step_by(2)
            .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
            .collect();
        let public = AgencyPublicKey::from_bytes(&bytes).unwrap();
        let meta = RecordingMeta {
            call_id: CallId::new(id).unwrap(),
            codec: Codec::Pcma,
            layout: ChannelLayout::StationOutside,
            key_epoch: u32::try_from(epoch["epoch"].as_u64().unwrap()).unwrap(),
        };
        let mut out = Vec::new();
        let mut writer = RecordingWriter::start(&meta, &public, &mut os_rng(), &mut out).unwrap();
        writer.push(&[0xd5; 16_000], &mut out).unwrap();
        writer.finish(&mut out).unwrap();
        let dir = self.data().join("recordings");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join(format!("{id}.cwrec")), &out).unwrap();

        let offered = Timestamp::now() - SignedDuration::from_hours(24 * days_ago);
        let cdr = CallDetailRecord {
            id: id.into(),
            facility_id: FacilityId(1),
            station_id: StationId(1),
            person_id: Some(PersonId(1)),
            number: Some(E164Number::parse(number).unwrap()),
            privileged: false,
            disposition: Disposition::Completed,
            hung_up_by: HungUpBy::Station,
            offered_at: offered,
            answered_at: Some(offered + SignedDuration::from_secs(10)),
            accepted_at: Some(offered + SignedDuration::from_secs(25)),
            ended_at: offered + SignedDuration::from_secs(85),
            billable_seconds: 60,
            time_limit_reached: false,
            limit: None,
            blocked_by_called_party: false,
            recording_id: Some(id.to_owned()),
            rate_cents_per_minute: Some(0),
            payer_account_id: None,
            charge_cents: 0,
        };
        let db = self.data().join("callward.db");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store = SqliteStore::open(&db).await.unwrap();
                store.record_call(&cdr).await.unwrap();
                store.close().await;
            });
    }

    pub(crate) fn recording(&self, id: &str) -> PathBuf {
        self.data().join("recordings").join(format!("{id}.cwrec"))
    }

    pub(crate) fn export(&self, id: &str) -> Output {
        let out = self.root.join(format!("{id}-{}.wav", rand_suffix()));
        self.cmd(
            &[
                "recording",
                "export",
                id,
                "--out",
                out.to_str().unwrap(),
                "--reason",
                "case 12",
            ],
            true,
        )
    }

    pub(crate) fn expire(&self) -> serde_json::Value {
        let text = ok(self.cmd(
            &["recordings", "expire", "--shred-grace-hours", "0", "--json"],
            true,
        ));
        serde_json::from_str(&text).unwrap()
    }
}

pub(crate) fn rand_suffix() -> u64 {
    let mut b = [0u8; 8];
    getrandom::fill(&mut b).unwrap();
    u64::from_le_bytes(b)
}

#[track_caller]
pub(crate) fn ok(output: Output) -> String {
    assert!(
        output.status.success(),
        "failed: {}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8(output.stdout).unwrap()
}

#[track_caller]
pub(crate) fn fails_with(output: &Output, text: &str) {
    let err = String::from_utf8_lossy(&output.stderr);
    assert!(
        !output.status.success(),
        "expected a failure naming {text:?}"
    );
    assert!(err.contains(text), "expected {text:?} in: {err}");
}

pub(crate) fn calls(site: &Site) -> Vec<serde_json::Value> {
    let text = ok(site.cmd(&["calls", "list", "--json"], true));
    serde_json::from_str::<serde_json::Value>(&text)
        .unwrap()
        .as_array()
        .unwrap()
        .clone()
}
