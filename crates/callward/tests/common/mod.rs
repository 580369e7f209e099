//! Runs the real `callward` binary. Waits are bounded by channels with
//! timeouts, so a hung server fails the test instead of hanging it.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Output, Stdio};
use std::sync::mpsc::{Receiver, RecvTimeoutError, channel};
use std::time::{Duration, Instant};

pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_callward");

/// Long enough for a loaded CI machine, short enough to notice a hang.
pub(crate) const DEADLINE: Duration = Duration::from_secs(20);

/// A fresh, empty directory for one test under cargo's scratch space.
pub(crate) fn scratch(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("callward-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Runs `callward ARGS` to completion.
pub(crate) fn run(args: &[&str], cwd: &Path) -> Output {
    Command::new(BIN)
        .args(args)
        .current_dir(cwd)
        .env_remove("RUST_LOG")
        .stdin(Stdio::null())
        .output()
        .unwrap()
}

/// Runs `callward admin --data-dir DATA --key-dir KEYS ARGS` from DATA's
/// parent, KEYS as [`admin_key_dir`] says.
pub(crate) fn admin(data: &Path, args: &[&str]) -> Output {
    admin_with_stdin(data, args, "")
}

/// [`admin`] with `stdin` as its standard input (a new user's password).
pub(crate) fn admin_with_stdin(data: &Path, args: &[&str], stdin: &str) -> Output {
    let keys = admin_key_dir(data);
    let mut full = vec![
        "admin",
        "--data-dir",
        data.to_str().unwrap(),
        "--key-dir",
        keys.to_str().unwrap(),
    ];
    full.extend_from_slice(args);
    let mut child = Command::new(BIN)
        .args(&full)
        .current_dir(data.parent().unwrap())
        .env_remove("RUST_LOG")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(stdin.as_bytes())
        .unwrap();
    child.wait_with_output().unwrap()
}

/// The key directory whose log key signs admin changes to DATA: the demo
/// server's `callward-keys` beside DATA if there is one, else `keys` beside
/// it (what the test sites use; `admin facility create` makes it on a new
/// data dir).
pub(crate) fn admin_key_dir(data: &Path) -> PathBuf {
    let parent = data.parent().unwrap();
    let demo = parent.join("callward-keys");
    if demo.is_dir() {
        demo
    } else {
        parent.join("keys")
    }
}

/// stderr as text, with its non-empty lines.
pub(crate) fn stderr_lines(output: &Output) -> Vec<String> {
    String::from_utf8(output.stderr.clone())
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(str::to_owned)
        .collect()
}

/// A running `callward serve --log-format json`, killed on drop if still running.
pub(crate) struct Server {
    pid: u32,
    lines: Receiver<String>,
    exited: Receiver<ExitStatus>,
    status: Option<ExitStatus>,
    /// Every stderr line read so far, for failure messages.
    pub(crate) log: Vec<String>,
}

impl Server {
    pub(crate) fn start(extra_args: &[&str], cwd: &Path) -> Self {
        Self::start_env(extra_args, cwd, &[])
    }

    /// Like [`Server::start`], with extra environment variables (e.g. `RUST_LOG`).
    pub(crate) fn start_env(extra_args: &[&str], cwd: &Path, env: &[(&str, &str)]) -> Self {
        let mut child = Command::new(BIN)
            .args(["serve", "--log-format", "json"])
            .args(extra_args)
            .current_dir(cwd)
            .env_remove("RUST_LOG")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let (line_tx, lines) = channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines() {
                let Ok(line) = line else { break };
                if line_tx.send(line).is_err() {
                    break;
                }
            }
        });
        let pid = child.id();
        let (exit_tx, exited) = channel();
        std::thread::spawn(move || {
            let status = child.wait().unwrap();
            let _ = exit_tx.send(status);
        });
        Self {
            pid,
            lines,
            exited,
            status: None,
            log: Vec::new(),
        }
    }

    /// Waits for the JSON log event whose message is `message`, returning its fields.
    pub(crate) fn wait_for(&mut self, message: &str) -> serde_json::Value {
        self.wait_for_within(message, DEADLINE)
    }

    /// [`Server::wait_for`] with its own time limit.
    pub(crate) fn wait_for_within(&mut self, message: &str, limit: Duration) -> serde_json::Value {
        match self.try_wait_for(message, limit) {
            Some(fields) => fields,
            None => panic!("no {message:?} log within {limit:?}; log: {:#?}", self.log),
        }
    }

    /// The next log event whose message is `message`, within `limit`;
    /// `None` on timeout. Panics if the server exits first.
    pub(crate) fn try_wait_for(
        &mut self,
        message: &str,
        limit: Duration,
    ) -> Option<serde_json::Value> {
        let deadline = Instant::now() + limit;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.log.push(line.clone());
                    let Ok(event) = serde_json::from_str::<serde_json::Value>(&line) else {
                        continue;
                    };
                    if event["fields"]["message"] == message {
                        return Some(event["fields"].clone());
                    }
                }
                Err(RecvTimeoutError::Timeout) => return None,
                Err(RecvTimeoutError::Disconnected) => {
                    panic!("server exited before {message:?}; log: {:#?}", self.log)
                }
            }
        }
    }

    /// The HTTP address from the "callward ready" log line.
    pub(crate) fn wait_ready(&mut self) -> SocketAddr {
        let fields = self.wait_for("callward ready");
        fields["http_addr"]
            .as_str()
            .expect("ready log names http_addr")
            .parse()
            .unwrap()
    }

    /// The server's process id.
    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    pub(crate) fn signal(&self, name: &str) {
        let status = Command::new("kill")
            .arg(format!("-{name}"))
            .arg(self.pid.to_string())
            .status()
            .unwrap();
        assert!(status.success(), "kill -{name} failed");
    }

    /// Waits for the process to exit, at most `DEADLINE`.
    pub(crate) fn wait_exit(&mut self) -> ExitStatus {
        let status = self
            .exited
            .recv_timeout(DEADLINE)
            .unwrap_or_else(|_| panic!("server still running after {DEADLINE:?}"));
        self.status = Some(status);
        // Collect the rest of stderr; the reader ends when the pipe closes.
        while let Ok(line) = self.lines.recv_timeout(DEADLINE) {
            self.log.push(line);
        }
        status
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if self.status.is_none() && self.exited.try_recv().is_err() {
            let _ = Command::new("kill")
                .args(["-KILL", &self.pid.to_string()])
                .status();
        }
    }
}

/// A minimal HTTP/1.1 GET: (status code, headers, body).
pub(crate) fn http_get(addr: SocketAddr, path: &str) -> (u16, Vec<(String, String)>, String) {
    let (code, headers, body) = http_request(addr, "GET", path, &[], None);
    (code, headers, String::from_utf8_lossy(&body).into_owned())
}

/// One HTTP/1.1 request with `headers` and, if given, a JSON `body`:
/// (status code, headers with lower-case names, body bytes).
pub(crate) fn http_request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> (u16, Vec<(String, String)>, Vec<u8>) {
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let body = body.map(serde_json::Value::to_string).unwrap_or_default();
    let extra: String = headers
        .iter()
        .map(|(k, v)| format!("{k}: {v}\r\n"))
        .collect();
    let content = if body.is_empty() {
        String::new()
    } else {
        format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        )
    };
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{extra}{content}\r\n{body}"
    )
    .unwrap();
    let mut response = Vec::new();
    stream.read_to_end(&mut response).unwrap();
    let end = response
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {:?}", String::from_utf8_lossy(&response)));
    let head = String::from_utf8_lossy(&response[..end]).into_owned();
    let mut head_lines = head.split("\r\n");
    let status_line = head_lines.next().unwrap();
    let code = status_line
        .split(' ')
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or_else(|| panic!("bad status line {status_line:?}"));
    let headers = head_lines
        .filter_map(|l| l.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    (code, headers, response[end + 4..].to_vec())
}

/// One HTTP/1.1 request, its body as text: (status code, body).
pub(crate) fn http(
    addr: SocketAddr,
    method: &str,
    path: &str,
    headers: &[(&str, &str)],
    body: Option<&serde_json::Value>,
) -> (u16, String) {
    let (code, _, body) = http_request(addr, method, path, headers, body);
    (code, String::from_utf8_lossy(&body).into_owned())
}

/// Signs demo user `username` (password `demo-<username>`) in through
/// the API, enrolling TOTP at a first sign-in when the role needs it: the
/// session token.
pub(crate) fn api_sign_in(addr: SocketAddr, username: &str) -> String {
    let password = format!("demo-{username}");
    use callward_core::auth::totp::{TotpSecret, base32_decode, code_at};
    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/sessions",
        &[],
        Some(&serde_json::json!({"username": username, "password": password})),
    );
    if code == 201 {
        return json_of(&body)["token"].as_str().unwrap().to_owned();
    }
    assert_eq!(code, 202, "{body}");
    let enrol = json_of(&body);
    let uri = enrol["otpauth_uri"].as_str().unwrap();
    let secret = uri
        .split("secret=")
        .nth(1)
        .and_then(|s| s.split('&').next())
        .unwrap();
    let secret = TotpSecret::new(base32_decode(secret).unwrap()).unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let (code, body) = http(
        addr,
        "POST",
        "/api/v1/sessions/enrolment",
        &[],
        Some(&serde_json::json!({
            "enrolment_token": enrol["enrolment_token"],
            "code": code_at(&secret, now),
        })),
    );
    assert_eq!(code, 201, "{body}");
    json_of(&body)["token"].as_str().unwrap().to_owned()
}

/// `body` as JSON; the test fails with the body if it is not.
pub(crate) fn json_of(body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{e}: {body}"))
}

/// A recording's audio (two-channel A-law, station first), opened through
/// the agency keys in `key_dir` as the key service would: the server never
/// could.
pub(crate) fn recording_audio(key_dir: &Path, data: &Path, id: &str) -> Vec<u8> {
    let keys = callward_vault::KeyDir::open(key_dir, data).expect("the agency key directory");
    let path = data.join("recordings").join(format!("{id}.cwrec"));
    let bytes = std::fs::read(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    let recording = callward_vault::open(&bytes, &keys)
        .unwrap_or_else(|e| panic!("{} does not open complete: {e}", path.display()));
    assert_eq!(recording.header.call_id().as_str(), id);
    recording.audio
}

/// How many samples of each channel (station, outside) of two-channel
/// A-law are well above silence.
pub(crate) fn loud_samples(audio: &[u8]) -> [usize; 2] {
    let mut loud = [0usize; 2];
    for frame in audio.chunks_exact(2) {
        for (ch, code) in frame.iter().enumerate() {
            if callward_media::G711::Pcma
                .decode_sample(*code)
                .unsigned_abs()
                > 500
            {
                loud[ch] += 1;
            }
        }
    }
    loud
}

/// The speech SIPp sends (`g711a.pcap`'s RTP payloads, A-law), cut into
/// 160-byte runs that are not near-silence, each also as 16-bit PCM.
fn sipp_speech_runs() -> Vec<Vec<u8>> {
    let pcap = std::fs::read("/usr/share/sip-tester/g711a.pcap").expect("SIPp's speech sample");
    let mut payload = Vec::new();
    let mut at = 24;
    while at + 16 <= pcap.len() {
        let len = u32::from_le_bytes(pcap[at + 8..at + 12].try_into().unwrap()) as usize;
        let frame = &pcap[at + 16..(at + 16 + len).min(pcap.len())];
        // Ethernet (14), IPv4 without options (20), UDP (8), RTP (12).
        if frame.len() > 54 {
            payload.extend_from_slice(&frame[54..]);
        }
        at += 16 + len;
    }
    let mut runs = Vec::new();
    for run in payload.chunks_exact(160) {
        let mut distinct = [false; 256];
        run.iter().for_each(|b| distinct[usize::from(*b)] = true);
        if distinct.iter().filter(|d| **d).count() < 24 {
            continue;
        }
        runs.push(run.to_vec());
        let pcm: Vec<u8> = run
            .iter()
            .flat_map(|c| callward_media::G711::Pcma.decode_sample(*c).to_le_bytes())
            .collect();
        runs.push(pcm);
    }
    assert!(runs.len() >= 200, "only {} speech runs", runs.len());
    runs
}

/// Invariant: no run of the speech SIPp sent appears, in A-law or as
/// 16-bit PCM, in any file under `root`. Returns how many files and runs
/// were checked.
pub(crate) fn assert_no_speech_under(root: &Path) -> (usize, usize) {
    let runs = sipp_speech_runs();
    // Index each run by its first 8 bytes; confirm a hit on the whole run.
    let mut index: std::collections::HashMap<[u8; 8], Vec<usize>> = Default::default();
    for (i, r) in runs.iter().enumerate() {
        index.entry(r[..8].try_into().unwrap()).or_default().push(i);
    }
    let mut files = 0;
    let mut stack = vec![root.to_owned()];
    while let Some(dir) = stack.pop() {
        for e in std::fs::read_dir(&dir).unwrap() {
            let path = e.unwrap().path();
            if path.is_dir() {
                stack.push(path);
                continue;
            }
            let Ok(bytes) = std::fs::read(&path) else {
                continue;
            };
            files += 1;
            for (off, w) in bytes.windows(8).enumerate() {
                if let Some(hits) = index.get(<&[u8; 8]>::try_from(w).unwrap()) {
                    for &i in hits {
                        let run = &runs[i];
                        assert!(
                            !bytes[off..].starts_with(run),
                            "speech sent by SIPp appears in clear in {} at byte {off}",
                            path.display()
                        );
                    }
                }
            }
        }
    }
    (files, runs.len())
}

/// Adds `n` people to the demo facility through `callward admin`, each
/// with its own PIN and the funded number approved; returns a SIPp
/// injection file of their PINs, one digit per field.
pub(crate) fn add_people(data: &Path, n: u32) -> PathBuf {
    let mut inf = String::from("SEQUENTIAL\n");
    for i in 1..=n {
        let pin = format!("7{i:02}3{i:02}");
        let booking = format!("CALLER-{i:03}");
        for args in [
            vec![
                "person",
                "create",
                "--facility",
                "Demo County Jail",
                "--booking-id",
                &booking,
                "--name",
                "Test Caller",
                "--pin",
                &pin,
            ],
            vec![
                "contact",
                "add",
                "--facility",
                "Demo County Jail",
                "--booking-id",
                &booking,
                "--number",
                "+15551230001",
                "--label",
                "Family",
            ],
        ] {
            let out = admin(data, &args);
            assert!(
                out.status.success(),
                "admin {args:?}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        let digits: Vec<String> = pin.chars().map(String::from).collect();
        inf.push_str(&digits.join(";"));
        inf.push('\n');
    }
    let path = data.parent().unwrap().join("pins.csv");
    std::fs::write(&path, inf).unwrap();
    path
}

/// A UDP port free a moment ago, for SIPp or the server to bind.
pub(crate) fn free_port() -> u16 {
    UdpSocket::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A SIPp scenario: this crate's own (`tests/sipp/`), else the switch's.
pub(crate) fn scenario(name: &str) -> PathBuf {
    let own = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/sipp")
        .join(name);
    if own.is_file() {
        own
    } else {
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../switch/tests/sipp")
            .join(name)
    }
}

/// SIPp running `name` from `work` (which gets a `pcap` link to SIPp's
/// audio), bound to `ip`, with `args` after the common ones.
pub(crate) fn sipp(name: &str, ip: &str, work: &Path, args: &[&str]) -> Child {
    std::fs::create_dir_all(work).unwrap();
    let _ = std::os::unix::fs::symlink("/usr/share/sip-tester", work.join("pcap"));
    Command::new("sipp")
        .current_dir(work)
        .arg("-sf")
        .arg(scenario(name))
        .args(["-i", ip, "-mi", ip])
        .args([
            "-nostdin",
            "-timeout",
            "120s",
            "-timeout_error",
            "-trace_err",
        ])
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("sipp must be installed (Debian package sip-tester)")
}

/// Waits for a child at most `limit`, killing it on timeout.
pub(crate) fn wait(child: &mut Child, limit: Duration, what: &str) -> ExitStatus {
    let deadline = Instant::now() + limit;
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("{what} still running after {limit:?}");
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// SIPp's error log from `work`, to explain a failure.
pub(crate) fn sipp_errors(work: &Path) -> String {
    let mut out = String::new();
    for e in std::fs::read_dir(work).into_iter().flatten().flatten() {
        let p = e.path();
        if p.to_string_lossy().ends_with("_errors.log") {
            out.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
        }
    }
    out
}

/// `callward serve --demo` on loopback with free ports, the data dir
/// `<dir>/data`, run from `dir` (so its agency keys are `<dir>/callward-keys`).
pub(crate) struct Demo {
    pub(crate) server: Server,
    pub(crate) dir: PathBuf,
    pub(crate) data: PathBuf,
    /// Where the stations send SIP (`127.0.0.1:PORT`).
    pub(crate) sip: String,
    /// The port the trunk SIPp must listen on.
    pub(crate) trunk_port: u16,
    /// The HTTP listener (console, API).
    pub(crate) http: SocketAddr,
}

impl Demo {
    /// The access log, decoded, from `audit export`, oldest first.
    pub(crate) fn log_entries(&self) -> Vec<callward_audit::Entry> {
        let stamp = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let out_file = self.dir.join(format!("log-{stamp}.json"));
        let keys = self.key_dir();
        let out = run(
            &[
                "audit",
                "--data-dir",
                self.data.to_str().unwrap(),
                "--key-dir",
                keys.to_str().unwrap(),
                "export",
                "--out",
                out_file.to_str().unwrap(),
            ],
            &self.dir,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let v = json_of(&std::fs::read_to_string(&out_file).unwrap());
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
                callward_audit::Entry::decode(&bytes).unwrap()
            })
            .collect()
    }

    /// Starts the server and waits until it is ready.
    pub(crate) fn start(dir: &Path) -> Self {
        Self::start_with(dir, &[])
    }

    /// [`Demo::start`] with more `serve` flags (e.g. `--config FILE`).
    pub(crate) fn start_with(dir: &Path, extra: &[&str]) -> Self {
        let data = dir.join("data");
        let (sip, trunk_port) = (format!("127.0.0.1:{}", free_port()), free_port());
        let mut args = Self::args_for(&data, &sip, trunk_port);
        args.extend(extra.iter().map(|a| (*a).to_owned()));
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let mut server = Server::start(&args, dir);
        let http = server.wait_ready();
        Self {
            server,
            dir: dir.to_owned(),
            data,
            sip,
            trunk_port,
            http,
        }
    }

    fn args_for(data: &Path, sip: &str, trunk_port: u16) -> Vec<String> {
        let trunk = format!("127.0.0.1:{trunk_port}");
        [
            "--demo",
            "--data-dir",
            data.to_str().unwrap(),
            "--http-listen",
            "127.0.0.1:0",
            "--sip-listen",
            sip,
            "--trunk",
            &trunk,
        ]
        .map(str::to_owned)
        .to_vec()
    }

    /// Starts the server again on the same data dir and ports (after it
    /// stopped or was killed); does not wait for it to be ready.
    pub(crate) fn restart(&mut self) {
        let args = Self::args_for(&self.data, &self.sip, self.trunk_port);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        self.server = Server::start(&args, &self.dir);
    }

    /// The agency key directory `serve --demo` created.
    pub(crate) fn key_dir(&self) -> PathBuf {
        self.dir.join("callward-keys")
    }

    /// `callward calls list --json`, read while or after the server runs.
    pub(crate) fn calls(&self) -> Vec<serde_json::Value> {
        let out = run(
            &[
                "calls",
                "--data-dir",
                self.data.to_str().unwrap(),
                "list",
                "--json",
            ],
            &self.dir,
        );
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        serde_json::from_slice::<serde_json::Value>(&out.stdout)
            .unwrap()
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// SIPp as the trunk (the called party) with `scenario`, for `calls`
    /// calls, its media on `media_port`.
    pub(crate) fn trunk(&self, scenario: &str, calls: u32, media_port: u16) -> Child {
        sipp(
            scenario,
            "127.0.0.1",
            &self.dir.join("trunk"),
            &[
                "-p",
                &self.trunk_port.to_string(),
                "-mp",
                &media_port.to_string(),
                "-m",
                &calls.to_string(),
            ],
        )
    }

    /// SIPp as station-101 with `scenario`, `calls` calls at once, its
    /// media on `media_port`, with `extra` arguments (e.g. `-inf FILE`).
    pub(crate) fn station(
        &self,
        scenario: &str,
        calls: u32,
        media_port: u16,
        extra: &[&str],
    ) -> Child {
        let calls = calls.to_string();
        let port = free_port().to_string();
        let media = media_port.to_string();
        let mut args = vec![
            "-p", &port, "-mp", &media, "-m", &calls, "-l", &calls, "-r", &calls,
        ];
        args.extend_from_slice(extra);
        args.push(&self.sip);
        sipp(scenario, "127.0.0.1", &self.dir.join("station"), &args)
    }
}
