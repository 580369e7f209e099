//! `callward keyd`: the key service as its own process. Serves unwrap
//! requests (`callward_vault::protocol`, `docs/keys.md`) on a Unix socket
//! that only its owner may use (0600), until SIGTERM or SIGINT.
//!
//! It holds no key in memory between requests: each unwrap reads the epoch
//! key file, so `callward keys shred` in another process takes effect at
//! once. Logs name the call id, epoch and outcome, never a key. A key is
//! released only for a request carrying access-log evidence that
//! `access_log::LogGate` admits.

use std::io::ErrorKind;
use std::os::unix::fs::{FileTypeExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use anyhow::{Context as _, bail};
use callward_vault::protocol::{FRAME_PREFIX_LEN, MAX_FRAME_LEN, split_frame};
use callward_vault::{KeyDir, KeyError, UnwrapRequest, UnwrapResponse};
use clap::Args;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{UnixListener, UnixStream};
use tokio::signal::unix::{SignalKind, signal};

use crate::cli::DataDirArg;
use crate::keys::KeyDirArg;

/// How long a connection may wait between bytes before it is closed.
const IDLE_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(60);

#[derive(Debug, Args)]
pub(crate) struct KeydArgs {
    #[command(flatten)]
    key_dir: KeyDirArg,
    /// Only used to refuse a key directory inside it.
    #[command(flatten)]
    data_dir: DataDirArg,
    /// Unix socket to serve on (created 0600; a stale one is replaced).
    #[arg(long, value_name = "PATH")]
    socket: PathBuf,
}

pub(crate) async fn run(args: KeydArgs) -> anyhow::Result<()> {
    let mut term = signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?;
    let mut int = signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?;
    let dir = KeyDir::open(&args.key_dir.key_dir, &args.data_dir.data_dir)?;
    let keyring = dir.keyring()?;
    // Keys are released only against access-log evidence (docs/keys.md).
    let gate = std::sync::Arc::new(crate::access_log::LogGate::open(&args.key_dir.key_dir)?);
    let listener = bind_private(&args.socket)?;
    tracing::info!(
        socket = %args.socket.display(),
        current_epoch = keyring.current().number,
        "keyd ready"
    );
    loop {
        tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => {
                    let dir = dir.clone();
                    let gate = gate.clone();
                    tokio::spawn(async move {
                        if let Err(e) = serve_connection(stream, dir, gate).await {
                            tracing::debug!(error = %e, "keyd connection ended");
                        }
                    });
                }
                Err(e) => tracing::warn!(error = %e, "keyd accept failed"),
            },
            _ = term.recv() => { tracing::info!(signal = "SIGTERM", "stopping"); break; }
            _ = int.recv() => { tracing::info!(signal = "SIGINT", "stopping"); break; }
        }
    }
    drop(listener);
    let _ = std::fs::remove_file(&args.socket);
    Ok(())
}

/// Binds the socket under a temporary name, makes it 0600, then renames it
/// into place: no moment where another user could connect.
fn bind_private(path: &Path) -> anyhow::Result<UnixListener> {
    match std::fs::symlink_metadata(path) {
        Ok(meta) if meta.file_type().is_socket() => {
            if std::os::unix::net::UnixStream::connect(path).is_ok() {
                bail!("{} is in use by a running key service", path.display());
            }
            std::fs::remove_file(path)
                .with_context(|| format!("cannot remove stale socket {}", path.display()))?;
        }
        Ok(_) => bail!("{} exists and is not a socket", path.display()),
        Err(e) if e.kind() == ErrorKind::NotFound => {}
        Err(e) => return Err(e).with_context(|| format!("cannot use {}", path.display())),
    }
    let mut tmp = path.as_os_str().to_owned();
    tmp.push(format!(".{}.tmp", std::process::id()));
    let tmp = PathBuf::from(tmp);
    let _ = std::fs::remove_file(&tmp);
    let listener = std::os::unix::net::UnixListener::bind(&tmp)
        .with_context(|| format!("cannot listen on {}", tmp.display()))?;
    std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(0o600))
        .and_then(|()| std::fs::rename(&tmp, path))
        .with_context(|| format!("cannot listen on {}", path.display()))?;
    listener.set_nonblocking(true)?;
    Ok(UnixListener::from_std(listener)?)
}

/// Answers requests on one connection until the client closes it. A
/// malformed request gets a `Refused` answer and the connection is closed.
async fn serve_connection(
    mut stream: UnixStream,
    dir: KeyDir,
    gate: std::sync::Arc<crate::access_log::LogGate>,
) -> anyhow::Result<()> {
    let mut buf = Vec::with_capacity(1024);
    loop {
        let body = loop {
            match split_frame(&buf) {
                Ok(Some((body, used))) => {
                    let body = body.to_vec();
                    buf.drain(..used);
                    break body;
                }
                Ok(None) => {}
                Err(e) => {
                    let answer = UnwrapResponse::Error(KeyError::Refused(e.to_string()));
                    stream.write_all(&answer.encode()).await?;
                    return Ok(());
                }
            }
            let mut chunk = [0u8; 4096];
            let room = (FRAME_PREFIX_LEN + MAX_FRAME_LEN).saturating_sub(buf.len());
            let read = stream.read(&mut chunk[..room.min(4096)]);
            // A client that stops mid-request, or idles, gives its slot back.
            let Ok(n) = tokio::time::timeout(IDLE_TIMEOUT, read).await else {
                return Ok(());
            };
            let n = n?;
            if n == 0 {
                return Ok(());
            }
            buf.extend_from_slice(&chunk[..n]);
        };
        let request = match UnwrapRequest::decode(&body) {
            Ok(request) => request,
            Err(e) => {
                tracing::info!(error = %e, "keyd refused a malformed request");
                let answer = UnwrapResponse::Error(KeyError::Refused(e.to_string()));
                stream.write_all(&answer.encode()).await?;
                return Ok(());
            }
        };
        let call_id = request.header.call_id().to_string();
        let epoch = request.header.key_epoch();
        let via_hold = request.hold_record.is_some();
        let dir = dir.clone();
        let gate = gate.clone();
        // One unwrap at a time per process would keep `audit.seen` strictly
        // ordered; concurrent ones may save an older checkpoint last, which
        // only lets a later request prove consistency from that one.
        let answer = tokio::task::spawn_blocking(move || dir.unwrap(&request, gate.as_ref()))
            .await
            .unwrap_or_else(|_| Err(KeyError::Unavailable("the unwrap task failed".into())));
        let answer = match answer {
            Ok(key) => {
                tracing::info!(%call_id, epoch, via_hold, "keyd released a data key");
                UnwrapResponse::Key(key)
            }
            Err(e) => {
                tracing::info!(%call_id, epoch, via_hold, error = %e, "keyd refused an unwrap");
                UnwrapResponse::Error(e)
            }
        };
        stream.write_all(&answer.encode()).await?;
    }
}
