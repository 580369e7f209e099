//! Recording container throughput on one core, beside the raw AES-256-GCM
//! of the same library (aws-lc-rs) on 16 KiB buffers: the container's cost
//! over the bare AEAD is key derivation, chunk framing and one copy.
//!
//! `cargo bench -p callward-vault --bench container` (release profile).
//! `VAULT_BENCH_SECS` sets the time per case (default 2).
//! Compare with `openssl speed -evp aes-256-gcm` run in the same session.

use std::hint::black_box;
use std::time::{Duration, Instant};

use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, Nonce, UnboundKey};
use callward_vault::chunked::{CHUNK_SIZE, Decryptor};
use callward_vault::{
    AgencyPrivateKey, CallId, ChannelLayout, Codec, InMemoryKeyProvider, RecordingHeader,
    RecordingMeta, RecordingWriter, open,
};

/// Not a CSPRNG: a fixed byte pattern, enough for timing.
struct BenchRng(u8);

impl rand_core::TryRng for BenchRng {
    type Error = core::convert::Infallible;
    fn try_next_u32(&mut self) -> Result<u32, Self::Error> {
        self.0 = self.0.wrapping_add(1);
        Ok(u32::from(self.0))
    }
    fn try_next_u64(&mut self) -> Result<u64, Self::Error> {
        self.0 = self.0.wrapping_add(1);
        Ok(u64::from(self.0))
    }
    fn try_fill_bytes(&mut self, dst: &mut [u8]) -> Result<(), Self::Error> {
        for b in dst {
            self.0 = self.0.wrapping_add(1);
            *b = self.0;
        }
        Ok(())
    }
}
impl rand_core::TryCryptoRng for BenchRng {}

/// Nanoseconds this thread has spent on a CPU (Linux), so time the
/// scheduler gave to other processes on a busy machine is not counted.
fn on_cpu_ns() -> Option<u64> {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()?
        .split_whitespace()
        .next()?
        .parse()
        .ok()
}

/// Runs `f` (which processes `bytes` bytes) repeatedly for the configured
/// time; prints wall-clock and on-CPU MB/s (10^6 bytes per second) and
/// returns the on-CPU figure (wall-clock where schedstat is missing).
fn measure(name: &str, bytes: usize, mut f: impl FnMut()) -> f64 {
    let secs = std::env::var("VAULT_BENCH_SECS")
        .ok()
        .and_then(|s| s.parse::<f64>().ok())
        .unwrap_or(2.0);
    // Warm up.
    let warm = Instant::now();
    while warm.elapsed() < Duration::from_millis(200) {
        f();
    }
    let cpu_start = on_cpu_ns();
    let start = Instant::now();
    let mut iters = 0u64;
    while start.elapsed().as_secs_f64() < secs {
        f();
        iters += 1;
    }
    let elapsed = start.elapsed().as_secs_f64();
    let total = bytes as f64 * iters as f64;
    let wall = total / elapsed / 1e6;
    let cpu = match (cpu_start, on_cpu_ns()) {
        (Some(a), Some(b)) if b > a => total / ((b - a) as f64 / 1e9) / 1e6,
        _ => wall,
    };
    println!("{name:<48} {cpu:>7.0} MB/s on-CPU {wall:>7.0} MB/s wall  ({iters} iterations)");
    cpu
}

fn main() {
    let key = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, &[7; 32]).expect("key"));
    let mut buf = vec![0x55u8; CHUNK_SIZE];
    let raw_seal = measure(
        "raw AES-256-GCM seal, 16 KiB (aws-lc-rs)",
        CHUNK_SIZE,
        || {
            let tag = key
                .seal_in_place_separate_tag(
                    Nonce::assume_unique_for_key([1; 12]),
                    Aad::empty(),
                    black_box(&mut buf),
                )
                .expect("seal");
            let _ = black_box(tag);
        },
    );
    let mut sealed = vec![0x55u8; CHUNK_SIZE];
    let tag = key
        .seal_in_place_separate_tag(
            Nonce::assume_unique_for_key([1; 12]),
            Aad::empty(),
            &mut sealed,
        )
        .expect("seal");
    let mut plain = vec![0u8; CHUNK_SIZE];
    let raw_open = measure(
        "raw AES-256-GCM open, 16 KiB (aws-lc-rs)",
        CHUNK_SIZE,
        || {
            key.open_separate_gather(
                Nonce::assume_unique_for_key([1; 12]),
                Aad::empty(),
                black_box(&sealed),
                tag.as_ref(),
                &mut plain,
            )
            .expect("open");
            black_box(&plain);
        },
    );

    // A 16 MiB recording (about 17 minutes of two-channel G.711).
    let len = 16 << 20;
    let audio: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
    let mut rng = BenchRng(0);
    let agency = AgencyPrivateKey::generate(&mut rng);
    let public = agency.public_key().clone();
    let keys = InMemoryKeyProvider::with_key(1, agency);
    let meta = RecordingMeta {
        call_id: CallId::new("bench-call").expect("id"),
        codec: Codec::Pcma,
        layout: ChannelLayout::StationOutside,
        key_epoch: 1,
    };
    let mut out = Vec::with_capacity(len + len / 1000 + 4096);
    let mut write = |piece: usize, out: &mut Vec<u8>| {
        out.clear();
        let mut w = RecordingWriter::start(&meta, &public, &mut rng, out).expect("start");
        for part in audio.chunks(piece) {
            w.push(part, out).expect("push");
        }
        w.finish(out).expect("finish");
    };
    let enc_16k = measure("container encrypt, 16 KiB pushes", len, || {
        write(CHUNK_SIZE, &mut out)
    });
    let enc_320 = measure("container encrypt, 320-byte pushes (20 ms)", len, || {
        write(320, &mut out)
    });
    // As the switch uses it: audio arrives in 20 ms packets from a small,
    // cache-hot buffer and each sealed chunk is handed to the file at once.
    let packet = [0x55u8; 320];
    let enc_stream = measure("container encrypt, 320-byte packets, drained", len, || {
        let mut sink = Vec::with_capacity(2 * 16400);
        let mut w = RecordingWriter::start(&meta, &public, &mut rng, &mut sink).expect("start");
        for _ in 0..len / packet.len() {
            w.push(&packet, &mut sink).expect("push");
            black_box(&sink);
            sink.clear();
        }
        w.finish(&mut sink).expect("finish");
    });
    let file = out;
    let header = RecordingHeader::parse(&file).expect("header");
    let data_key = {
        use callward_vault::KeyProvider;
        keys.unwrap_data_key(&header).expect("unwrap")
    };
    let mut plain_out = Vec::with_capacity(len);
    let dec_stream = measure("container decrypt, streaming (key unwrapped)", len, || {
        plain_out.clear();
        let mut d = Decryptor::new(&data_key, header.as_bytes());
        d.push(&file[header.len()..], &mut plain_out).expect("push");
        d.finish(&mut plain_out).expect("finish");
        black_box(&plain_out);
    });
    let dec_drained = measure("container decrypt, 16 KiB reads, drained", len, || {
        let mut d = Decryptor::new(&data_key, header.as_bytes());
        for part in file[header.len()..].chunks(16400) {
            d.push(part, &mut plain_out).expect("push");
            black_box(&plain_out);
            plain_out.clear();
        }
        d.finish(&mut plain_out).expect("finish");
    });
    let dec_open = measure("container decrypt, open() incl. HPKE unwrap", len, || {
        black_box(open(&file, &keys).expect("open"));
    });
    println!();
    let pct = |x: f64, raw: f64| 100.0 * x / raw;
    println!(
        "encrypt vs raw seal: {:.0}% (16 KiB pushes), {:.0}% (320-byte pushes), {:.0}% (packets, drained)",
        pct(enc_16k, raw_seal),
        pct(enc_320, raw_seal),
        pct(enc_stream, raw_seal)
    );
    println!(
        "decrypt vs raw open: {:.0}% (whole stream), {:.0}% (16 KiB reads, drained), {:.0}% (open())",
        pct(dec_stream, raw_open),
        pct(dec_drained, raw_open),
        pct(dec_open, raw_open)
    );
}
