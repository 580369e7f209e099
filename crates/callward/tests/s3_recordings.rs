//! Recordings in a real S3-compatible object store: `scripts/garage-up`
//! starts a single-node Garage (scripts/test installs it; this test fails,
//! never skips, when it cannot start), `serve --demo` is configured with
//! `[recordings] store = "s3://recordings/site-1"`, the agency keys are
//! rotated while it runs, SIPp places a demo call, and the sealed recording
//! moves to the bucket: listed there through `object_store`, gone from local
//! disk, wrapped to the new epoch, opening with the agency keys, and no run
//! of SIPp's speech in clear in any file or object. Then, through the real
//! binary and the store `serve` recorded in the data dir: it is exported,
//! put on legal hold and kept by the expiry job, sealed when its number is
//! registered as privileged (export refused, `verify --all` counts it as
//! sealed), and expired once the hold is released: every object gone from
//! the bucket, the call record kept and noted expired.

mod common;

use std::path::Path;
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{Demo, Server, free_port, scratch, wait};
use object_store::ObjectStore;
use object_store::path::Path as ObjectPath;

/// A running Garage, killed when dropped.
struct Garage {
    pid: u32,
    env: Vec<(String, String)>,
}

impl Garage {
    fn start(dir: &Path) -> Self {
        let script = concat!(env!("CARGO_MANIFEST_DIR"), "/../../scripts/garage-up");
        let out = Command::new(script)
            .arg(dir)
            .output()
            .expect("scripts/garage-up runs");
        assert!(
            out.status.success(),
            "Garage did not start (scripts/test installs it):\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let env: Vec<(String, String)> = String::from_utf8(out.stdout)
            .unwrap()
            .lines()
            .filter_map(|l| l.split_once('='))
            .map(|(k, v)| (k.to_owned(), v.to_owned()))
            .collect();
        let pid = env
            .iter()
            .find(|(k, _)| k == "GARAGE_PID")
            .and_then(|(_, v)| v.parse().ok())
            .expect("GARAGE_PID");
        Self { pid, env }
    }

    fn get(&self, key: &str) -> &str {
        self.env
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
            .unwrap_or_else(|| panic!("{key} from garage-up"))
    }

    fn client(&self) -> Arc<dyn ObjectStore> {
        Arc::new(
            object_store::aws::AmazonS3Builder::new()
                .with_endpoint(self.get("S3_ENDPOINT"))
                .with_allow_http(true)
                .with_virtual_hosted_style_request(false)
                .with_region(self.get("S3_REGION"))
                .with_bucket_name(self.get("S3_BUCKET"))
                .with_access_key_id(self.get("S3_ACCESS_KEY_ID"))
                .with_secret_access_key(self.get("S3_SECRET_ACCESS_KEY"))
                .build()
                .unwrap(),
        )
    }
}

impl Drop for Garage {
    fn drop(&mut self) {
        let _ = Command::new("kill").arg(self.pid.to_string()).status();
    }
}

/// Every object in the bucket, with its bytes.
fn objects(rt: &tokio::runtime::Runtime, store: &dyn ObjectStore) -> Vec<(ObjectPath, Vec<u8>)> {
    rt.block_on(async {
        let mut out = Vec::new();
        let mut dirs = vec![None::<ObjectPath>];
        while let Some(prefix) = dirs.pop() {
            let listed = store.list_with_delimiter(prefix.as_ref()).await.unwrap();
            dirs.extend(listed.common_prefixes.into_iter().map(Some));
            for meta in listed.objects {
                let bytes = store
                    .get(&meta.location)
                    .await
                    .unwrap()
                    .bytes()
                    .await
                    .unwrap();
                out.push((meta.location, bytes.to_vec()));
            }
        }
        out
    })
}

#[test]
fn a_recorded_demo_call_ends_up_in_the_bucket_not_on_disk() {
    let dir = scratch("s3-recordings");
    let garage = Garage::start(&dir.join("garage"));
    // Credentials only in the environment; the file names the store.
    let config = dir.join("callward.toml");
    std::fs::write(
        &config,
        format!(
            "[recordings]\nstore = \"s3://{}/site-1\"\nendpoint = \"{}\"\nregion = \"{}\"\n",
            garage.get("S3_BUCKET"),
            garage.get("S3_ENDPOINT"),
            garage.get("S3_REGION"),
        ),
    )
    .unwrap();
    let env = [
        ("CALLWARD_S3_ACCESS_KEY_ID", garage.get("S3_ACCESS_KEY_ID")),
        (
            "CALLWARD_S3_SECRET_ACCESS_KEY",
            garage.get("S3_SECRET_ACCESS_KEY"),
        ),
        ("RUST_LOG", "callward=debug,callward_switch=debug"),
    ];
    let data = dir.join("data");
    let (sip, trunk_port) = (format!("127.0.0.1:{}", free_port()), free_port());
    let trunk = format!("127.0.0.1:{trunk_port}");
    let args = [
        "--demo",
        "--config",
        config.to_str().unwrap(),
        "--data-dir",
        data.to_str().unwrap(),
        "--http-listen",
        "127.0.0.1:0",
        "--sip-listen",
        &sip,
        "--trunk",
        &trunk,
    ];
    let mut server = Server::start_env(&args, &dir, &env);
    let http = server.wait_ready();
    let mut demo = Demo {
        server,
        dir: dir.clone(),
        data: data.clone(),
        sip,
        trunk_port,
        http,
    };

    // Rotated while serve runs: the call below is wrapped to epoch 2
    // without a restart.
    let keys_dir = dir.join("callward-keys");
    let rotated = Command::new(env!("CARGO_BIN_EXE_callward"))
        .args(["keys", "rotate", "--key-dir"])
        .arg(&keys_dir)
        .arg("--data-dir")
        .arg(&data)
        .output()
        .unwrap();
    assert!(
        rotated.status.success(),
        "{}",
        String::from_utf8_lossy(&rotated.stderr)
    );

    let mut trunk_sipp = demo.trunk("trunk_answer_accept.xml", 1, 16300);
    let mut station = demo.station("station_call.xml", 1, 16400, &[]);
    let station_ok = wait(&mut station, Duration::from_secs(100), "station SIPp").success();
    let trunk_ok = wait(&mut trunk_sipp, Duration::from_secs(30), "trunk SIPp").success();
    assert!(
        station_ok && trunk_ok,
        "SIPp failed; server log: {:#?}",
        demo.server.log
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let call = loop {
        if let Some(first) = demo.calls().first() {
            break first.clone();
        }
        assert!(Instant::now() < deadline, "no call record within 10 s");
        std::thread::sleep(Duration::from_millis(200));
    };
    let recording = call["recording_id"]
        .as_str()
        .expect("a recording id")
        .to_owned();
    // The move is logged once the object is read back and the file deleted.
    let moved = demo.server.wait_for("recording moved to the object store");
    eprintln!("moved: {moved}");
    demo.server.signal("TERM");
    assert!(demo.server.wait_exit().success(), "{:#?}", demo.server.log);
    // The secret never reaches the log.
    let log = format!("{:?}", demo.server.log);
    assert!(
        !log.contains(garage.get("S3_SECRET_ACCESS_KEY")),
        "the S3 secret was logged"
    );

    // In the bucket, under the prefix; not on local disk.
    let rt = tokio::runtime::Runtime::new().unwrap();
    let store = garage.client();
    let objects = objects(&rt, store.as_ref());
    let names: Vec<String> = objects.iter().map(|(p, _)| p.to_string()).collect();
    assert_eq!(names, [format!("site-1/{recording}.cwrec")]);
    let local = data.join("recordings").join(format!("{recording}.cwrec"));
    assert!(
        !local.exists(),
        "{} is still on local disk",
        local.display()
    );

    // It opens complete with the agency keys, both voices in it.
    let keys = callward_vault::KeyDir::open(&dir.join("callward-keys"), &data).unwrap();
    let opened = callward_vault::open(&objects[0].1, &keys).expect("the object opens complete");
    assert_eq!(opened.header.call_id().as_str(), recording);
    assert_eq!(
        opened.header.key_epoch(),
        2,
        "the call after `keys rotate` uses the new epoch"
    );
    let loud = common::loud_samples(&opened.audio);
    assert!(loud[0] >= 8000 && loud[1] >= 8000, "loud samples {loud:?}");

    // No speech in clear in any file under the data dir or any object.
    let (files, _) = common::assert_no_speech_under(&data);
    let objects_dir = dir.join("objects");
    std::fs::create_dir_all(&objects_dir).unwrap();
    for (i, (_, bytes)) in objects.iter().enumerate() {
        std::fs::write(objects_dir.join(i.to_string()), bytes).unwrap();
    }
    let (checked, runs) = common::assert_no_speech_under(&objects_dir);
    assert_eq!(checked, objects.len());
    eprintln!("no clear speech: {runs} runs checked in {files} files and {checked} objects");

    let cli = Cli {
        dir: &dir,
        data: &data,
        keys: &keys_dir,
        creds: [
            ("CALLWARD_S3_ACCESS_KEY_ID", garage.get("S3_ACCESS_KEY_ID")),
            (
                "CALLWARD_S3_SECRET_ACCESS_KEY",
                garage.get("S3_SECRET_ACCESS_KEY"),
            ),
        ],
    };
    let call_id = call["id"].as_str().unwrap();

    // serve recorded its store in the data dir (never the credentials).
    let recorded = std::fs::read_to_string(data.join("recording-store.json")).unwrap();
    assert!(recorded.contains("s3://recordings/site-1"), "{recorded}");
    assert!(!recorded.contains(garage.get("S3_SECRET_ACCESS_KEY")));
    assert!(!recorded.contains(garage.get("S3_ACCESS_KEY_ID")));

    // (a) Exported: from the bucket the data dir names, credentials from
    // --config's store and the environment, or the environment alone.
    let wav = dir.join("call.wav");
    let export = |wav: &Path, with_config: bool| {
        let mut args = vec![
            "recording",
            "export",
            call_id,
            "--out",
            wav.to_str().unwrap(),
        ];
        args.extend(["--reason", "s3 store test"]);
        cli.run(&args, with_config.then_some(config.as_path()), true)
    };
    let out = export(&wav, true);
    assert!(out.status.success(), "{}", text(&out));
    let wav_len = std::fs::metadata(&wav).unwrap().len() as usize;
    assert_eq!(wav_len, 44 + opened.audio.len() * 2);
    let out = export(&dir.join("call-2.wav"), false);
    assert!(out.status.success(), "{}", text(&out));
    // Without credentials: one error line naming what to pass.
    let out = cli.run(&["recording", "verify", "--all"], None, false);
    let err = text(&out);
    assert!(!out.status.success());
    assert!(
        err.contains("s3://recordings/site-1")
            && err.contains("--config")
            && err.contains("CALLWARD_S3_ACCESS_KEY_ID"),
        "{err}"
    );
    // A config naming another store is refused.
    let other = dir.join("other.toml");
    std::fs::write(&other, "[recordings]\nstore = \"s3://elsewhere/x\"\n").unwrap();
    let out = cli.run(&["recording", "verify", "--all"], Some(&other), true);
    assert!(
        !out.status.success() && text(&out).contains("s3://elsewhere/x"),
        "{}",
        text(&out)
    );
    let out = cli.run(&["recording", "verify", "--all"], None, true);
    assert!(
        out.status.success() && text(&out).contains("1 recordings checked, 0 bad"),
        "{}",
        text(&out)
    );

    // (b) On legal hold: the hold record is an object beside the
    // recording, and the expiry job keeps a recording past retention.
    let out = cli.run(
        &[
            "recordings",
            "hold",
            "add",
            call_id,
            "--by",
            "investigator",
            "--reason",
            "case 7",
        ],
        None,
        true,
    );
    assert!(out.status.success(), "{}", text(&out));
    let names = |rt: &tokio::runtime::Runtime| -> Vec<String> {
        let mut n: Vec<String> = crate::objects(rt, store.as_ref())
            .iter()
            .map(|(p, _)| p.to_string())
            .collect();
        n.sort();
        n
    };
    let object = format!("site-1/{recording}.cwrec");
    assert_eq!(names(&rt), [object.clone(), format!("{object}.hold")]);
    // Four hundred days old: past the demo facility's 365.
    age_calls(&rt, &data, 400);
    let report = cli.expire();
    assert_eq!(
        (report["deleted"].as_u64(), report["held"].as_u64()),
        (Some(0), Some(1)),
        "{report}"
    );
    assert_eq!(names(&rt), [object.clone(), format!("{object}.hold")]);
    let out = export(&dir.join("call-3.wav"), false);
    assert!(out.status.success(), "held, still exported: {}", text(&out));

    // (d) Sealed: registering the number it called as privileged seals it
    // in the bucket (seal record beside it, agency wrap erased).
    let out = cli.run(
        &[
            "admin",
            "--json",
            "privileged",
            "register",
            "--number",
            "+15551230001",
            "--attorney",
            "Ada Counsel",
            "--bar-number",
            "123456",
            "--bar-state",
            "TX",
        ],
        None,
        true,
    );
    assert!(out.status.success(), "{}", text(&out));
    let registered: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(registered["privilege_seal"]["sealed"], 1, "{registered}");
    assert_eq!(
        names(&rt),
        [
            object.clone(),
            format!("{object}.hold"),
            format!("{object}.seal")
        ]
    );
    let sealed_bytes = crate::objects(&rt, store.as_ref())
        .into_iter()
        .find(|(p, _)| p.to_string() == object)
        .unwrap()
        .1;
    let header = callward_vault::RecordingHeader::parse(&sealed_bytes).unwrap();
    assert!(callward_vault::keyrecord::sealed_to(&header).is_some());
    assert!(
        callward_vault::open(&sealed_bytes, &keys).is_err(),
        "the agency key no longer opens it"
    );
    let out = export(&dir.join("call-4.wav"), false);
    assert!(
        !out.status.success() && text(&out).contains("sealed for privilege review"),
        "{}",
        text(&out)
    );
    let out = cli.run(&["recording", "verify", "--all"], None, true);
    assert!(
        out.status.success()
            && text(&out).contains("1 recordings checked, 0 bad, 1 sealed for privilege review"),
        "{}",
        text(&out)
    );

    // (c) Expired once released: recording and key records gone from the
    // bucket; the call record stays, noted expired.
    let out = cli.run(
        &[
            "recordings",
            "hold",
            "remove",
            call_id,
            "--by",
            "investigator",
        ],
        None,
        true,
    );
    assert!(out.status.success(), "{}", text(&out));
    let report = cli.expire();
    assert_eq!(report["deleted"], 1, "{report}");
    assert!(
        names(&rt).is_empty(),
        "left in the bucket: {:?}",
        names(&rt)
    );
    let report = cli.expire();
    assert_eq!(report["deleted"], 0, "{report}");
    assert_eq!(demo.calls().len(), 1, "the call record is kept");
    assert_eq!(expired_calls(&rt, &data), 1);
    let out = export(&dir.join("call-5.wav"), false);
    assert!(
        !out.status.success() && text(&out).contains("deleted at the end of its retention period"),
        "{}",
        text(&out)
    );
}

fn text(out: &std::process::Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// The real binary against the data dir, keys, and (when asked) the S3
/// credentials in the environment.
struct Cli<'a> {
    dir: &'a Path,
    data: &'a Path,
    keys: &'a Path,
    creds: [(&'static str, &'a str); 2],
}

impl Cli<'_> {
    fn run(&self, args: &[&str], config: Option<&Path>, creds: bool) -> std::process::Output {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_callward"));
        cmd.args(&args[..1]);
        // `admin` and `recording(s)` take the flags before their subcommand.
        cmd.arg("--data-dir").arg(self.data);
        if args[0] != "admin" {
            cmd.arg("--key-dir").arg(self.keys);
        }
        if let Some(c) = config {
            cmd.arg("--config").arg(c);
        }
        cmd.args(&args[1..]);
        if args[0] == "admin" {
            cmd.arg("--key-dir").arg(self.keys);
        }
        cmd.env_remove("CALLWARD_S3_ACCESS_KEY_ID")
            .env_remove("CALLWARD_S3_SECRET_ACCESS_KEY");
        if creds {
            cmd.envs(self.creds.iter().copied());
        }
        cmd.current_dir(self.dir).output().unwrap()
    }

    fn expire(&self) -> serde_json::Value {
        let out = self.run(
            &["recordings", "expire", "--shred-grace-hours", "0", "--json"],
            None,
            true,
        );
        assert!(out.status.success(), "{}", text(&out));
        serde_json::from_slice(&out.stdout).unwrap()
    }
}

/// Moves every call `days` back, as someone with the database file could.
fn age_calls(rt: &tokio::runtime::Runtime, data: &Path, days: i64) {
    rt.block_on(async {
        let pool =
            sqlx::SqlitePool::connect(&format!("sqlite://{}", data.join("callward.db").display()))
                .await
                .unwrap();
        sqlx::query("UPDATE calls SET offered_ms = offered_ms - ?")
            .bind(days * 86_400_000)
            .execute(&pool)
            .await
            .unwrap();
        pool.close().await;
    });
}

/// How many calls the store notes as expired.
fn expired_calls(rt: &tokio::runtime::Runtime, data: &Path) -> i64 {
    rt.block_on(async {
        let pool =
            sqlx::SqlitePool::connect(&format!("sqlite://{}", data.join("callward.db").display()))
                .await
                .unwrap();
        let n: (i64,) = sqlx::query_as("SELECT count(*) FROM recording_expiries")
            .fetch_one(&pool)
            .await
            .unwrap();
        pool.close().await;
        n.0
    })
}
