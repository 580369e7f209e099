//! Runs the real `callward` binary. Waits are bounded by channels with
//! timeouts, so a hung server fails the test instead of hanging it.

#![allow(dead_code, reason = "each test file uses a different part")]

use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Output, Stdio};
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

/// Runs `callward admin --data-dir DATA ARGS` from DATA's parent.
pub(crate) fn admin(data: &Path, args: &[&str]) -> Output {
    let mut full = vec!["admin", "--data-dir", data.to_str().unwrap()];
    full.extend_from_slice(args);
    run(&full, data.parent().unwrap())
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
                        return event["fields"].clone();
                    }
                }
                Err(RecvTimeoutError::Timeout) => {
                    panic!("no {message:?} log within {limit:?}; log: {:#?}", self.log)
                }
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
    let mut stream = TcpStream::connect_timeout(&addr, DEADLINE).unwrap();
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut response = String::new();
    stream.read_to_string(&mut response).unwrap();
    let (head, body) = response
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("no header end in {response:?}"));
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
    (code, headers, body.to_owned())
}
