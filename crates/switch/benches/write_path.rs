//! The recording write path, for BENCHMARKS.md: audio MB/s per core from
//! the recording tap through the vault container (sealed) to the switch's
//! spool (written and fsynced), beside the raw AES-256-GCM of the same
//! library on 16 KiB buffers and `openssl speed -evp aes-256-gcm`, all in
//! the same run.
//!
//! As in a recorded call: every 20 ms each call's tap takes one 160-byte
//! A-law packet per leg (`RecordingTap::handle_g711`), is drained to
//! two-channel A-law (`poll_chunk_g711`, as `recording.rs` does), the
//! audio goes into the call's `RecordingWriter` (a fresh data key wrapped
//! to the agency's public key), and each sealed 16 KiB chunk goes to the
//! real `Spool` (one thread, batched writes, an fsync per file per batch).
//! Stages are measured cumulatively: tap alone, tap + seal, tap + seal +
//! spool; audio bytes are the two-channel A-law the recording holds (16,000
//! bytes per call-second).
//!
//! `cargo bench -p callward-switch --bench write_path`. `WRITE_BENCH_CALLS`
//! (default 200) recordings of `WRITE_BENCH_SECONDS` (default 60) of audio
//! each; `WRITE_BENCH_DIR` where the spool writes (default the system temp
//! dir; say which file system).

use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use callward_media::{Channel, G711, RecordingTap, TapConfig};
use callward_switch::spool::Spool;
use callward_vault::{
    AgencyPrivateKey, CallId, ChannelLayout, Codec, OsRng, RecordingMeta, RecordingWriter,
};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default)
}

fn load() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

fn schedstat_ns(path: &Path) -> u64 {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

/// On-CPU nanoseconds of this thread.
fn this_thread_ns() -> u64 {
    schedstat_ns(Path::new("/proc/thread-self/schedstat"))
}

/// On-CPU nanoseconds of this process's threads named `name`.
fn threads_named_ns(name: &str) -> u64 {
    let Ok(tasks) = std::fs::read_dir("/proc/self/task") else {
        return 0;
    };
    tasks
        .filter_map(Result::ok)
        .filter(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|c| c.trim() == name))
        .map(|t| schedstat_ns(&t.path().join("schedstat")))
        .sum()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Stage {
    Tap,
    Seal,
    Spool,
}

struct Figures {
    audio_bytes: u64,
    main_ns: u64,
    spool_ns: u64,
    wall: Duration,
    /// From the last audio handed over to the last recording synced.
    sync_tail: Duration,
    sealed_bytes: u64,
}

fn run(stage: Stage, calls: usize, seconds: u64, dir: &Path) -> Figures {
    let mut rng = OsRng::new().expect("the OS RNG");
    let agency = AgencyPrivateKey::generate(&mut rng);
    let spool = (stage == Stage::Spool).then(|| Spool::start(dir.to_owned()).expect("spool"));
    // A speech-like A-law packet per leg.
    let packet = |phase: f64| {
        let pcm: Vec<i16> = (0..160)
            .map(|i| ((f64::from(i) * 0.07 + phase).sin() * 8000.0) as i16)
            .collect();
        let mut out = Vec::new();
        G711::Pcma.encode_into(&pcm, &mut out);
        out
    };
    let (station_pkt, outside_pkt) = (packet(0.0), packet(1.3));
    let start = Instant::now();
    let t0 = Instant::now();
    let main0 = this_thread_ns();
    let mut taps: Vec<RecordingTap> = (0..calls)
        .map(|_| RecordingTap::new(start, TapConfig::default()))
        .collect();
    let mut writers: Vec<Option<RecordingWriter>> = (0..calls)
        .map(|i| {
            (stage != Stage::Tap).then(|| {
                let id = format!("bench-{i:05}");
                let meta = RecordingMeta {
                    call_id: CallId::new(&id).expect("a valid call id"),
                    codec: Codec::Pcma,
                    layout: ChannelLayout::StationOutside,
                    key_epoch: 1,
                };
                let mut header = Vec::new();
                let w = RecordingWriter::start(&meta, agency.public_key(), &mut rng, &mut header)
                    .expect("writer");
                if let Some(s) = &spool {
                    s.create(&id, header);
                }
                w
            })
        })
        .collect();
    let ids: Vec<String> = (0..calls).map(|i| format!("bench-{i:05}")).collect();
    let mut audio = Vec::with_capacity(4096);
    let mut audio_bytes = 0u64;
    let mut sealed_bytes = 0u64;
    let ticks = seconds * 50;
    for tick in 0..ticks {
        let now = start + Duration::from_millis(20 * tick);
        let ts = (tick as u32).wrapping_mul(160);
        for (i, tap) in taps.iter_mut().enumerate() {
            tap.handle_g711(now, Channel::Station, 1, ts, G711::Pcma, &station_pkt);
            tap.handle_g711(now, Channel::Outside, 2, ts, G711::Pcma, &outside_pkt);
            tap.handle_timeout(now);
            audio.clear();
            while tap.poll_chunk_g711(G711::Pcma, &mut audio) {}
            audio_bytes += audio.len() as u64;
            if let Some(w) = &mut writers[i] {
                let mut sealed = Vec::new();
                w.push(&audio, &mut sealed).expect("seal");
                sealed_bytes += sealed.len() as u64;
                match &spool {
                    Some(s) => s.append(&ids[i], sealed),
                    None => drop(black_box(sealed)),
                }
            } else {
                black_box(&audio);
            }
        }
    }
    let mut done = Vec::new();
    for (i, (tap, w)) in taps.iter_mut().zip(writers.iter_mut()).enumerate() {
        tap.finish();
        audio.clear();
        while tap.poll_chunk_g711(G711::Pcma, &mut audio) {}
        audio_bytes += audio.len() as u64;
        if let Some(w) = w.take() {
            let mut last = Vec::new();
            let mut w = w;
            w.push(&audio, &mut last).expect("seal");
            w.finish(&mut last).expect("finish");
            sealed_bytes += last.len() as u64;
            if let Some(s) = &spool {
                done.push(s.finish(&ids[i], last));
            }
        }
    }
    let main_ns = this_thread_ns() - main0;
    let handed_over = Instant::now();
    for rx in done {
        rx.blocking_recv()
            .expect("the spool answers")
            .expect("synced");
    }
    let wall = t0.elapsed();
    let sync_tail = handed_over.elapsed();
    let spool_ns = threads_named_ns("cw-spool");
    if let Some(s) = spool {
        s.close();
    }
    Figures {
        audio_bytes,
        main_ns,
        spool_ns,
        wall,
        sync_tail,
        sealed_bytes,
    }
}

fn raw_aes_gcm(secs: f64) -> f64 {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).expect("key"));
    let mut buf = vec![0x55u8; 16 * 1024];
    let cpu0 = this_thread_ns();
    let t0 = Instant::now();
    let mut n = 0u64;
    while t0.elapsed().as_secs_f64() < secs {
        let tag = key
            .seal_in_place_separate_tag(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::empty(),
                black_box(&mut buf),
            )
            .expect("seal");
        let _ = black_box(tag);
        n += 1;
    }
    (n * 16 * 1024) as f64 / ((this_thread_ns() - cpu0) as f64 / 1e9) / 1e6
}

/// `openssl speed -evp aes-256-gcm` on 16 KiB blocks, MB/s (wall clock,
/// as openssl reports it).
fn openssl_speed() -> Option<f64> {
    let out = std::process::Command::new("openssl")
        .args([
            "speed",
            "-evp",
            "aes-256-gcm",
            "-bytes",
            "16384",
            "-seconds",
            "2",
        ])
        .output()
        .ok()?;
    let text = String::from_utf8_lossy(&out.stdout);
    let line = text.lines().rev().find(|l| l.starts_with("AES-256-GCM"))?;
    let k = line.split_whitespace().last()?.strip_suffix('k')?;
    Some(k.parse::<f64>().ok()? * 1000.0 / 1e6)
}

fn main() {
    let calls: usize = env("WRITE_BENCH_CALLS", 200);
    let seconds: u64 = env("WRITE_BENCH_SECONDS", 60);
    let base = std::env::var_os("WRITE_BENCH_DIR").map_or_else(std::env::temp_dir, Into::into);
    let dir = tempfile::tempdir_in(base).expect("temp dir");
    println!(
        "recording write path: {calls} recordings x {seconds} s of two-channel A-law, spool in {}; load {}",
        dir.path().display(),
        load()
    );
    let raw = raw_aes_gcm(2.0);
    println!("raw AES-256-GCM seal, 16 KiB, aws-lc-rs: {raw:.0} MB/s on-CPU");
    for (name, stage) in [
        ("tap (decode, mix, A-law encode)", Stage::Tap),
        ("tap + seal (container)", Stage::Seal),
        ("tap + seal + spool (write, fsync)", Stage::Spool),
    ] {
        let spool_dir = dir.path().join(format!("{:?}", stage as u8));
        let f = run(stage, calls, seconds, &spool_dir);
        let mb = f.audio_bytes as f64 / 1e6;
        let cpu = (f.main_ns + f.spool_ns) as f64 / 1e9;
        println!(
            "{name:<36} {:>7.0} MB/s per core on-CPU ({:.1} MB audio; call thread {:.2} s, spool thread {:.2} s on-CPU) \
             {:>6.0} MB/s wall; last sync {:.0} ms after the last chunk; {:.1} MB sealed; load {}",
            mb / cpu,
            mb,
            f.main_ns as f64 / 1e9,
            f.spool_ns as f64 / 1e9,
            mb / f.wall.as_secs_f64(),
            f.sync_tail.as_secs_f64() * 1e3,
            f.sealed_bytes as f64 / 1e6,
            load()
        );
    }
    match openssl_speed() {
        Some(v) => println!(
            "openssl speed -evp aes-256-gcm, 16 KiB: {v:.0} MB/s (wall); load {}",
            load()
        ),
        None => println!("openssl speed: not available"),
    }
}
