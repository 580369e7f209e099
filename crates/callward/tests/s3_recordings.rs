//! Recordings in a real S3-compatible object store: `scripts/garage-up`
//! starts a single-node Garage (scripts/test installs it; this test fails,
//! never skips, when it cannot start), `serve --demo` is configured with
//! `[recordings] store = "s3://recordings/site-1"`, SIPp places a demo
//! call, and the sealed recording moves to the bucket: listed there through
//! `object_store`, gone from local disk, opening with the agency keys, and
//! no run of SIPp's speech in clear in any file or object.

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
    server.wait_ready();
    let mut demo = Demo {
        server,
        dir: dir.clone(),
        data: data.clone(),
        sip,
        trunk_port,
    };

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

    // `recording export` and `verify --all` read from the bucket, given
    // the same config and credentials.
    let cli = |args: &[&str]| {
        let mut full = vec![
            "recording",
            "--data-dir",
            data.to_str().unwrap(),
            "--config",
            config.to_str().unwrap(),
        ];
        full.extend_from_slice(args);
        Command::new(env!("CARGO_BIN_EXE_callward"))
            .args(&full)
            .envs(env[..2].iter().copied())
            .current_dir(&dir)
            .output()
            .unwrap()
    };
    let wav = dir.join("call.wav");
    let out = cli(&[
        "export",
        call["id"].as_str().unwrap(),
        "--out",
        wav.to_str().unwrap(),
        "--reason",
        "s3 store test",
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let wav_len = std::fs::metadata(&wav).unwrap().len() as usize;
    assert_eq!(wav_len, 44 + opened.audio.len() * 2);
    let out = cli(&["verify", "--all"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && stdout.contains("1 recordings checked, 0 bad"),
        "{stdout}"
    );
}
