//! `callward serve`: bind the sockets, prepare the data dir, run the call
//! switch and the HTTP server, and stop cleanly on SIGTERM or SIGINT.

use std::time::Duration;

use anyhow::Context as _;
use callward_web::AppState;
use callward_web::metrics::Registry;
use tokio::net::{TcpListener, UdpSocket};
use tokio::signal::unix::{Signal, SignalKind, signal};
use tokio::sync::oneshot;

use crate::config::ServeOptions;
use crate::demo;
use crate::local::Local;

/// How long open HTTP connections may take to finish after a stop signal.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(10);

/// Runs the server until a stop signal. Returns an error, having written
/// nothing, if a socket cannot be bound or the data dir cannot be used.
pub(crate) async fn run(opts: ServeOptions) -> anyhow::Result<()> {
    // Registered before anything else so a signal sent as soon as we are
    // ready is never missed.
    let mut signals = StopSignals::new()?;

    // Rate caps before anything is written: an invalid tariff file stops
    // the start with its name and what is wrong.
    let tariffs = std::sync::Arc::new(crate::billing::load_tariffs(&opts.tariffs_dir)?);

    // Sockets first: a port in use is the likeliest failure and must not
    // leave a fresh data dir behind.
    let http = TcpListener::bind(opts.http_listen)
        .await
        .with_context(|| format!("cannot listen for HTTP on {}", opts.http_listen))?;
    let sip = UdpSocket::bind(opts.sip_listen)
        .await
        .with_context(|| format!("cannot listen for SIP on {}", opts.sip_listen))?;
    let http_addr = http.local_addr().context("HTTP listener has no address")?;
    let sip_addr = sip.local_addr().context("SIP socket has no address")?;

    let local = Local::open_or_create(&opts.data_dir).await?;
    let recordings = std::sync::Arc::new(opts.recordings.open(local.dir.path())?);
    // Readers (`recording export`, retention, holds, seals) use the store
    // recorded here; a data dir whose recordings went elsewhere is refused.
    crate::recording_store::record_for_serve(&opts.recordings, local.dir.path())?;
    let data_dir = &local.dir;
    let (keys, recording_key) =
        crate::agency_keys::open(&opts.key_dir, data_dir.path(), opts.demo)?;
    // Recovered records are rated under the loaded tariffs, like live ones.
    let rating_store = local.store.clone().with_tariffs(tariffs.clone());
    let interrupted =
        crate::recovery::recover_interrupted_calls(&rating_store, &keys, data_dir.path()).await?;
    if interrupted > 0 {
        tracing::warn!(calls = interrupted, "calls interrupted by a crash recorded");
    }
    // Re-sealed and earlier unmoved recordings go to the object store now;
    // any that fail stay in the spool, readable, until the next start.
    let (moved, unmoved) = recordings.move_all_sealed().await;
    tracing::info!(store = %recordings.describe(), moved, unmoved, "recording store");
    tracing::info!(epoch = recording_key.epoch, key_id = %recording_key.public.key_id(), "recording key");
    // New calls follow `keys rotate` without a restart: the keyring (public
    // keys only) is looked at as each recording starts.
    let recording_key = callward_switch::RecordingKey::following(
        keys.path().join(callward_vault::keydir::KEYRING_FILE),
        recording_key,
    );

    if opts.demo {
        match demo::seed(&local).await? {
            demo::Seeded::Now => tracing::info!("demo data seeded"),
            demo::Seeded::Already => tracing::info!("demo data already present"),
        }
        println!(
            "{}",
            demo::instructions(http_addr, sip_addr, data_dir.path())
        );
    }

    let registry = Registry::new();
    // The console's sign-in service, logging to the data dir's access log
    // (the key directory's audit key, made by agency_keys::open).
    let signer = crate::audit_key::load(&opts.key_dir)?;
    let log = callward_web::access_log::AccessLog::open(&local.store, signer)
        .await
        .context("cannot open the access log")?;
    let log = std::sync::Arc::new(tokio::sync::Mutex::new(log));
    let sessions = callward_web::auth::Sessions::new(local.store.clone(), log.clone());
    let state = AppState::with_sessions(registry, sessions).context("cannot register metrics")?;
    // The administrator's console pages: PINs are digested under the data
    // dir's key, and verifying an attorney's number seals as the CLI does.
    state.set_admin_tools(callward_web::console::AdminTools {
        pin_key: local.pin_key.clone(),
        sealer: Some(std::sync::Arc::new(crate::privilege_seal::ConsoleSealer {
            data_dir: data_dir.path().to_owned(),
            key_dir: opts.key_dir.clone(),
        })),
        tariffs: Some(tariffs.clone()),
    });
    // Playback and export in the console: the export's own path, from the
    // appended entry to the watermarked WAV.
    state.set_recordings(std::sync::Arc::new(ConsoleRecordings {
        release: crate::release::Release::open(
            &opts.key_dir,
            data_dir.path(),
            (*recordings).clone(),
        )?,
        store: local.store.clone(),
        log: log.clone(),
    }));

    tracing::info!(
        version = env!("CARGO_PKG_VERSION"),
        data_dir = %data_dir.path().display(),
        trunk = %opts.trunk,
        "callward starting"
    );

    // Retention: the expiry job at start and then every interval; it never
    // shreds the epoch this switch writes to.
    let expiry_task = tokio::spawn(crate::retention::run_periodically(
        local.store.clone(),
        opts.key_dir.clone(),
        data_dir.path().to_owned(),
        crate::recording_files::RecordingFiles::new((*recordings).clone()),
        recording_key.clone(),
        opts.expiry_interval,
        log.clone(),
    ));

    let mut switch_config = callward_switch::SwitchConfig::new(
        opts.trunk,
        opts.prompts_dir.clone(),
        data_dir.path().to_owned(),
        recording_key.current(),
    );
    switch_config.recording_key = recording_key;
    switch_config.call_timeouts.media_inactivity = opts.media_timeout;
    switch_config.max_calls = opts.max_calls;
    switch_config.recording_store = Some(recordings);
    // Live monitoring: the console lists and subscribes to the switch's
    // recorded calls in progress.
    state.set_live(std::sync::Arc::new(SwitchLive(std::sync::Arc::clone(
        &switch_config.live,
    ))));
    // The switch's terms and the store's rating use the same schedules.
    crate::billing::log_loaded(&tariffs);
    let services =
        callward_switch::StoreServices::new(rating_store, local.pin_key.clone(), tariffs);
    let (stop_switch, switch_stopped) = oneshot::channel::<()>();
    let mut switch_task = tokio::spawn(callward_switch::run(sip, services, switch_config, async {
        let _ = switch_stopped.await;
    }));

    let (stop_http, http_stopped) = oneshot::channel::<()>();
    let mut http_task = tokio::spawn(callward_web::serve(http, state.clone(), async {
        // A dropped sender also means stop.
        let _ = http_stopped.await;
    }));
    state.set_ready(true);
    tracing::info!(%http_addr, %sip_addr, "callward ready");

    tokio::select! {
        name = signals.recv() => tracing::info!(signal = name, "stopping"),
        result = &mut http_task => {
            // The HTTP server only returns on its own if it failed.
            state.set_ready(false);
            switch_task.abort();
            return match result {
                Ok(Ok(())) => Err(anyhow::anyhow!("HTTP server stopped unexpectedly")),
                Ok(Err(err)) => Err(err).context("HTTP server failed"),
                Err(err) => Err(err).context("HTTP server task failed"),
            };
        }
        result = &mut switch_task => {
            // The switch only returns on its own if it could not start.
            state.set_ready(false);
            http_task.abort();
            return match result {
                Ok(Ok(())) => Err(anyhow::anyhow!("call switch stopped unexpectedly")),
                Ok(Err(err)) => Err(err).context("call switch failed"),
                Err(err) => Err(err).context("call switch task failed"),
            };
        }
    }

    state.set_ready(false);
    let _ = stop_switch.send(());
    match tokio::time::timeout(DRAIN_TIMEOUT, &mut switch_task).await {
        Ok(Ok(Ok(()))) => {}
        Ok(Ok(Err(err))) => tracing::warn!(error = %err, "call switch failed while stopping"),
        Ok(Err(err)) => tracing::warn!(error = %err, "call switch task failed while stopping"),
        Err(_) => {
            tracing::warn!(
                timeout_ms = DRAIN_TIMEOUT.as_millis(),
                "call switch still stopping; dropping it"
            );
            switch_task.abort();
        }
    }
    let _ = stop_http.send(());
    tokio::select! {
        result = &mut http_task => match result {
            Ok(Ok(())) => {}
            Ok(Err(err)) => tracing::warn!(error = %err, "HTTP server failed while stopping"),
            Err(err) => tracing::warn!(error = %err, "HTTP server task failed while stopping"),
        },
        () = tokio::time::sleep(DRAIN_TIMEOUT) => {
            tracing::warn!(timeout_ms = DRAIN_TIMEOUT.as_millis(), "HTTP connections still open; closing them");
            http_task.abort();
        }
        name = signals.recv() => {
            tracing::warn!(signal = name, "second stop signal; closing HTTP connections now");
            http_task.abort();
        }
    }
    expiry_task.abort();
    local.store.close().await;
    tracing::info!("callward stopped");
    Ok(())
}

/// SIGTERM and SIGINT.
struct StopSignals {
    term: Signal,
    int: Signal,
}

impl StopSignals {
    fn new() -> anyhow::Result<Self> {
        Ok(Self {
            term: signal(SignalKind::terminate()).context("cannot listen for SIGTERM")?,
            int: signal(SignalKind::interrupt()).context("cannot listen for SIGINT")?,
        })
    }

    /// The name of the next signal to arrive.
    async fn recv(&mut self) -> &'static str {
        tokio::select! {
            _ = self.term.recv() => "SIGTERM",
            _ = self.int.recv() => "SIGINT",
        }
    }
}

/// The switch's recorded calls in progress, as the console's
/// [`callward_web::live::LiveAudio`].
#[derive(Debug)]
struct SwitchLive(std::sync::Arc<callward_switch::LiveCalls>);

impl callward_web::live::LiveAudio for SwitchLive {
    fn calls(&self) -> Vec<callward_core::OpenCall> {
        self.0.list()
    }

    fn listen(
        &self,
        id: &str,
    ) -> Option<(
        callward_core::OpenCall,
        tokio::sync::broadcast::Receiver<std::sync::Arc<[u8]>>,
    )> {
        self.0.listen(id).map(|l| (l.call, l.audio))
    }
}

/// The console's playback and export: [`crate::release::Release`], the
/// path `recording export` takes, behind the web crate's trait.
struct ConsoleRecordings {
    release: crate::release::Release,
    store: callward_store::SqliteStore,
    log: std::sync::Arc<tokio::sync::Mutex<callward_web::access_log::AccessLog>>,
}

impl std::fmt::Debug for ConsoleRecordings {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ConsoleRecordings")
    }
}

impl callward_web::release::Recordings for ConsoleRecordings {
    fn wav<'a>(
        &'a self,
        call_id: &'a str,
        recording: &'a str,
        entry: u64,
    ) -> callward_web::release::WavFuture<'a> {
        Box::pin(async move {
            // The log gives the entry's inclusion proof and checkpoint;
            // it is held for the release (appends wait meanwhile).
            let log = self.log.lock().await;
            self.release
                .wav(&self.store, &log, call_id, recording, entry)
                .await
                .map(|w| callward_web::release::Wav {
                    bytes: w.bytes,
                    seconds: w.seconds,
                })
                .map_err(|e| format!("{e:#}"))
        })
    }
}
