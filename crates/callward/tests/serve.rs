//! `callward serve` as a user runs it: the real binary, real sockets, real
//! signals.

mod common;

use std::net::UdpSocket;

use common::{Server, http_get, run, scratch, stderr_lines};

const EPHEMERAL: [&str; 4] = [
    "--http-listen",
    "127.0.0.1:0",
    "--sip-listen",
    "127.0.0.1:0",
];

fn header<'a>(headers: &'a [(String, String)], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.as_str())
}

#[test]
fn serves_healthz_and_metrics_then_stops_cleanly_on_sigterm() {
    let dir = scratch("serve-sigterm");
    let data = dir.join("data");
    let mut args = EPHEMERAL.to_vec();
    args.extend(["--data-dir", data.to_str().unwrap()]);
    let mut server = Server::start(&args, &dir);
    let addr = server.wait_ready();

    let (status, _, body) = http_get(addr, "/healthz");
    assert_eq!((status, body.as_str()), (200, "ok"));

    let (status, headers, body) = http_get(addr, "/metrics");
    assert_eq!(status, 200);
    let content_type = header(&headers, "content-type").unwrap();
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    assert!(
        body.contains("callward_http_requests_total{route=\"/healthz\",status=\"200\"} 1\n"),
        "{body}"
    );
    assert!(data.is_dir(), "data dir created");

    server.signal("TERM");
    let status = server.wait_exit();
    assert!(status.success(), "exit {status:?}; log: {:#?}", server.log);
    let log = server.log.join("\n");
    assert!(log.contains("\"signal\":\"SIGTERM\""), "{log}");
    assert!(log.contains("callward stopped"), "{log}");
    assert!(std::net::TcpStream::connect(addr).is_err(), "port released");
}

#[test]
fn stops_cleanly_on_sigint() {
    let dir = scratch("serve-sigint");
    let mut args = EPHEMERAL.to_vec();
    args.extend(["--data-dir", "data"]);
    let mut server = Server::start(&args, &dir);
    server.wait_ready();
    server.signal("INT");
    let status = server.wait_exit();
    assert!(status.success(), "exit {status:?}; log: {:#?}", server.log);
    assert!(
        dir.join("data").is_dir(),
        "relative data dir is under the working dir"
    );
}

#[test]
fn config_file_supplies_settings_and_flags_override_it() {
    let dir = scratch("serve-config");
    std::fs::write(
        dir.join("callward.toml"),
        "data_dir = \"from-config\"\n[http]\nlisten = \"127.0.0.1:0\"\n[sip]\nlisten = \"127.0.0.1:0\"\ntrunk = \"192.0.2.9:5090\"\n",
    )
    .unwrap();
    let mut server = Server::start(
        &["--config", "callward.toml", "--trunk", "192.0.2.10:5091"],
        &dir,
    );
    let starting = server.wait_for("callward starting");
    assert_eq!(starting["trunk"], "192.0.2.10:5091", "flag wins over file");
    let addr = server.wait_ready();
    assert_eq!(http_get(addr, "/healthz").0, 200);
    assert!(dir.join("from-config").is_dir(), "data dir from the file");
    server.signal("TERM");
    assert!(server.wait_exit().success());
}

#[test]
fn unknown_config_key_is_named_and_nothing_is_written() {
    let dir = scratch("serve-unknown-key");
    std::fs::write(
        dir.join("callward.toml"),
        "[http]\nlisten = \"127.0.0.1:0\"\ncolour = \"blue\"\n",
    )
    .unwrap();
    let output = run(
        &["serve", "--config", "callward.toml", "--data-dir", "data"],
        &dir,
    );
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("error: config file callward.toml: line 3: "),
        "{lines:?}"
    );
    assert!(lines[0].contains("`colour`"), "{lines:?}");
    assert!(!dir.join("data").exists(), "data dir must not be created");
    assert!(!dir.join("callward-data").exists());
}

#[test]
fn data_dir_that_is_a_file_is_refused_and_untouched() {
    let dir = scratch("serve-data-file");
    std::fs::write(dir.join("data"), "precious").unwrap();
    let mut args = vec!["serve", "--data-dir", "data"];
    args.extend(EPHEMERAL);
    let output = run(&args, &dir);
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(
        lines,
        ["error: data dir data exists and is not a directory"]
    );
    assert_eq!(
        std::fs::read_to_string(dir.join("data")).unwrap(),
        "precious"
    );
}

#[test]
fn sip_port_in_use_is_a_clear_error_and_nothing_is_written() {
    let dir = scratch("serve-sip-in-use");
    let taken = UdpSocket::bind("127.0.0.1:0").unwrap();
    let taken_addr = taken.local_addr().unwrap().to_string();
    let output = run(
        &[
            "serve",
            "--data-dir",
            "data",
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            &taken_addr,
        ],
        &dir,
    );
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with(&format!("error: cannot listen for SIP on {taken_addr}: ")),
        "{lines:?}"
    );
    assert!(!dir.join("data").exists());
}

#[test]
fn malformed_address_is_a_usage_error() {
    let dir = scratch("serve-bad-addr");
    let output = run(&["serve", "--http-listen", "localhost:80"], &dir);
    assert_eq!(output.status.code(), Some(2));
    let stderr = String::from_utf8(output.stderr).unwrap();
    assert!(stderr.contains("--http-listen"), "{stderr}");
    assert!(!dir.join("callward-data").exists());
}

#[test]
fn missing_config_file_is_one_line() {
    let dir = scratch("serve-missing-config");
    let output = run(&["serve", "--config", "nope.toml"], &dir);
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("error: cannot read config file nope.toml: "),
        "{lines:?}"
    );
    assert!(!dir.join("callward-data").exists());
}

#[test]
fn invalid_rust_log_is_one_line() {
    let dir = scratch("serve-bad-rust-log");
    let output = std::process::Command::new(common::BIN)
        .args([
            "serve",
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            "127.0.0.1:0",
        ])
        .current_dir(&dir)
        .env("RUST_LOG", "callward=loud")
        .output()
        .unwrap();
    assert_eq!(output.status.code(), Some(1));
    let lines = stderr_lines(&output);
    assert_eq!(lines.len(), 1, "{lines:?}");
    assert!(
        lines[0].starts_with("error: invalid RUST_LOG: "),
        "{lines:?}"
    );
    assert_eq!(lines[0].matches("expected one of").count(), 1, "{lines:?}");
    assert!(!dir.join("callward-data").exists());
}
