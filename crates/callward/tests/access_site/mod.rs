//! A data dir and key dir driven through the real binary, for the access
//! tests (`access_control.rs`, `insider.rs`): commands with stdin, console
//! users with their TOTP secrets, codes that wait for a fresh step, the
//! access log decoded from `audit export`, and recordings written with the
//! agency's public key as the switch writes them.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};

use callward_audit::Entry;
use callward_core::CallDetailRecord;
use callward_core::auth::TotpSecret;
use callward_core::auth::totp::{base32_decode, code_at};
use callward_core::callflow::{Disposition, HungUpBy};
use callward_store::{SqliteStore, Store as _};
use callward_vault::{
    AgencyPublicKey, CallId, ChannelLayout, Codec, OsRng, RecordingMeta, RecordingWriter,
};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_callward");

/// stdout and stderr as one text, for messages.
pub(crate) fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

pub(crate) fn now_secs() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// The TOTP secret from `admin user create|reset-totp` output.
pub(crate) fn secret_from(out: &Output) -> TotpSecret {
    let stdout = String::from_utf8_lossy(&out.stdout);
    let uri = stdout
        .split_whitespace()
        .find(|w| w.starts_with("otpauth://totp/"))
        .unwrap_or_else(|| panic!("no otpauth URI in {stdout}"));
    let b32 = uri
        .split(['?', '&'])
        .find_map(|p| p.strip_prefix("secret="))
        .unwrap();
    TotpSecret::new(base32_decode(b32).unwrap()).unwrap()
}

/// A data dir and its key dir.
pub(crate) struct Site {
    pub(crate) dir: PathBuf,
    pub(crate) data: PathBuf,
    pub(crate) keys: PathBuf,
    /// The last TOTP step each user signed in with (codes are single use).
    steps: HashMap<String, u64>,
}

impl Site {
    /// A fresh site under `dir`: keys, then one facility ("Test Jail").
    pub(crate) fn new(dir: &Path) -> Self {
        let mut site = Self::at(dir, &dir.join("data"), &dir.join("keys"));
        let out = site.run("keys", &["init"], "");
        assert!(out.status.success(), "{}", text(&out));
        let out = site.run(
            "admin",
            &[
                "facility",
                "create",
                "--name",
                "Test Jail",
                "--kind",
                "jail",
                "--adp",
                "100",
                "--timezone",
                "UTC",
                "--gateway",
                "127.0.0.1",
            ],
            "",
        );
        assert!(out.status.success(), "{}", text(&out));
        site.steps.clear();
        site
    }

    /// A site whose dirs exist already (e.g. made by `serve --demo`).
    pub(crate) fn at(dir: &Path, data: &Path, keys: &Path) -> Self {
        Self {
            dir: dir.to_owned(),
            data: data.to_owned(),
            keys: keys.to_owned(),
            steps: HashMap::new(),
        }
    }

    /// `callward GROUP [SUB] --data-dir D --key-dir K ARGS` from the site's
    /// dir as local user `ops`, with `stdin`. (`keys` takes the flags on
    /// its subcommand, the other groups on the group: `admin`'s --key-dir,
    /// whose log key signs every change, too.)
    pub(crate) fn run(&self, group: &str, args: &[&str], stdin: &str) -> Output {
        self.run_as("ops", group, args, stdin)
    }

    /// [`Self::run`] with `$USER` set to `user`.
    pub(crate) fn run_as(&self, user: &str, group: &str, args: &[&str], stdin: &str) -> Output {
        let (data, keys) = (self.data.to_str().unwrap(), self.keys.to_str().unwrap());
        let mut full: Vec<&str> = vec![group];
        match group {
            "keys" => {
                full.extend_from_slice(&args[..1]);
                full.extend_from_slice(&["--data-dir", data, "--key-dir", keys]);
                full.extend_from_slice(&args[1..]);
            }
            _ => {
                full.extend_from_slice(&["--data-dir", data, "--key-dir", keys]);
                full.extend_from_slice(args);
            }
        }
        let mut cmd = Command::new(BIN);
        cmd.args(&full)
            .current_dir(&self.dir)
            .env_remove("RUST_LOG")
            .env("USER", user)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = cmd.spawn().unwrap();
        child
            .stdin
            .take()
            .unwrap()
            .write_all(stdin.as_bytes())
            .unwrap();
        child.wait_with_output().unwrap()
    }

    /// Creates a console user; their TOTP secret (for roles that need one).
    pub(crate) fn create_user(&self, name: &str, role: &str, password: &str) -> Option<TotpSecret> {
        let out = self.run(
            "admin",
            &["user", "create", name, "--role", role],
            &format!("{password}\n"),
        );
        assert!(out.status.success(), "{}", text(&out));
        String::from_utf8_lossy(&out.stdout)
            .contains("otpauth://")
            .then(|| secret_from(&out))
    }

    /// Password and an unused TOTP code for `user`: this step's, or the
    /// next one's (the server accepts ±1 step), else it waits for a step.
    pub(crate) fn creds(&mut self, user: &str, secret: &TotpSecret, password: &str) -> String {
        loop {
            let now = now_secs() / 30;
            let step = self.steps.get(user).map_or(now, |&last| now.max(last + 1));
            if step <= now + 1 {
                self.steps.insert(user.to_owned(), step);
                return format!("{password}\n{}\n", code_at(secret, step * 30));
            }
            std::thread::sleep(std::time::Duration::from_millis(250));
        }
    }

    /// The access log, decoded, from `audit export`.
    pub(crate) fn log(&self) -> Vec<Entry> {
        let file = self.dir.join("log-export.json");
        let _ = std::fs::remove_file(&file);
        let out = self.run("audit", &["export", "--out", file.to_str().unwrap()], "");
        assert!(out.status.success(), "{}", text(&out));
        let v: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(&file).unwrap()).unwrap();
        std::fs::remove_file(&file).unwrap();
        v["entries"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| {
                let hex = e[1].as_str().unwrap();
                let bytes: Vec<u8> = (0..hex.len())
                    .step_by(2)
                    .map(|i| u8::from_str_radix(&hex[i..i + 2], 16).unwrap())
                    .collect();
                Entry::decode(&bytes).unwrap()
            })
            .collect()
    }

    /// The current epoch's public key, from `keys list --json`.
    fn public_key(&self) -> AgencyPublicKey {
        let listed = self.run("keys", &["list", "--json"], "");
        assert!(listed.status.success(), "{}", text(&listed));
        let epochs: serde_json::Value = serde_json::from_slice(&listed.stdout).unwrap();
        let current = epochs
            .as_array()
            .unwrap()
            .iter()
            .find(|e| e["status"] == "current")
            .unwrap_or(&epochs[0]);
        let hex = current["public_key"].as_str().unwrap();
        let public: Vec<u8> = (0..32)
            .map(|i| u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap())
            .collect();
        AgencyPublicKey::from_bytes(&public).unwrap()
    }

    /// Stores a recorded call `id` of facility 1 with `seconds` of a
    /// two-channel tone, sealed as the switch seals it (epoch 1).
    pub(crate) fn add_recording(&self, id: &str, seconds: usize) {
        let meta = RecordingMeta {
            call_id: CallId::new(id).unwrap(),
            codec: Codec::Pcma,
            layout: ChannelLayout::StationOutside,
            key_epoch: 1,
        };
        let pcm: Vec<i16> = (0..seconds * 8000)
            .flat_map(|i| {
                let s = |f: f64| {
                    ((i as f64 * f * std::f64::consts::TAU / 8000.0).sin() * 8000.0) as i16
                };
                [s(440.0), s(697.0)]
            })
            .collect();
        let mut audio = Vec::new();
        callward_media::G711::Pcma.encode_into(&pcm, &mut audio);
        let mut bytes = Vec::new();
        let mut rng = OsRng::new().unwrap();
        let public = self.public_key();
        let mut w = RecordingWriter::start(&meta, &public, &mut rng, &mut bytes).unwrap();
        w.push(&audio, &mut bytes).unwrap();
        w.finish(&mut bytes).unwrap();
        let dir = self.data.join("recordings");
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(callward_switch::recording_path(&dir, id), bytes).unwrap();
        let cdr: CallDetailRecord = serde_json::from_value(serde_json::json!({
            "id": id,
            "facility_id": 1,
            "station_id": 1,
            "person_id": 1,
            "number": "+15551230001",
            "privileged": false,
            "disposition": Disposition::Completed.to_string(),
            "hung_up_by": HungUpBy::Station.to_string(),
            "offered_at": "2026-11-20T10:00:00Z",
            "answered_at": "2026-11-20T10:00:10Z",
            "accepted_at": "2026-11-20T10:00:25Z",
            "ended_at": "2026-11-20T10:01:40Z",
            "billable_seconds": seconds,
            "time_limit_reached": false,
            "blocked_by_called_party": false,
            "recording_id": id,
            "rate_cents_per_minute": 7,
            "payer_account_id": null,
            "charge_cents": 0,
        }))
        .unwrap();
        self.with_store(|store| async move {
            store.record_call(&cdr).await.unwrap();
        });
    }

    /// Runs `f` on the site's store, then closes it.
    pub(crate) fn with_store<F, Fut>(&self, f: F)
    where
        F: FnOnce(SqliteStore) -> Fut,
        Fut: Future<Output = ()>,
    {
        let db = self.data.join("callward.db");
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                let store = SqliteStore::open(&db).await.unwrap();
                f(store.clone()).await;
                store.close().await;
            });
    }

    /// One `SELECT count(*) ...` on the site's database.
    pub(crate) fn count(&self, sql: &str) -> i64 {
        let db = self.data.join("callward.db");
        let mut n = 0;
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap()
            .block_on(async {
                use sqlx::Connection as _;
                let url = format!("sqlite://{}", db.display());
                let mut conn = sqlx::SqliteConnection::connect(&url).await.unwrap();
                n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
                    .fetch_one(&mut conn)
                    .await
                    .unwrap();
            });
        n
    }
}
