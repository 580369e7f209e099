//! Recording tap: two aligned channels through loss, reordering, SSRC
//! changes and one-sided silence.

use std::time::{Duration, Instant};

use callward_media::{Channel, RecordingTap, TapConfig};

const MS: Duration = Duration::from_millis(1);

/// Packet `i` of a 20 ms stream whose samples all hold `value`.
fn frame(value: i16) -> Vec<i16> {
    vec![value; 160]
}

fn drain(tap: &mut RecordingTap, into: &mut Vec<(i16, i16)>) {
    while let Some(c) = tap.poll_chunk() {
        into.extend(c.chunks_exact(2).map(|f| (f[0], f[1])));
    }
}

/// Frames of the whole call, with the tap driven every 20 ms.
fn record(
    events: &[(u64, Channel, u32, u32, i16)],
    end_ms: u64,
) -> (Vec<(i16, i16)>, RecordingTap) {
    let t0 = Instant::now();
    let mut tap = RecordingTap::new(t0, TapConfig::default());
    let mut out = Vec::new();
    let mut sorted = events.to_vec();
    sorted.sort_by_key(|e| e.0);
    let mut it = sorted.iter().peekable();
    let mut ms = 0;
    while ms <= end_ms {
        let now = t0 + MS * u32::try_from(ms).unwrap();
        while let Some(&&(at, ch, ssrc, ts, v)) = it.peek() {
            if at > ms {
                break;
            }
            tap.handle_samples(now, ch, ssrc, ts, &frame(v));
            it.next();
        }
        tap.handle_timeout(now);
        drain(&mut tap, &mut out);
        ms += 1;
    }
    tap.finish();
    drain(&mut tap, &mut out);
    (out, tap)
}

#[test]
fn channels_stay_aligned_through_loss_and_reorder() {
    let mut ev = Vec::new();
    for i in 0..100u32 {
        let at = 20 * u64::from(i) + 20;
        // Station: packet 10 lost, packets 20 and 21 swapped (21 arrives first).
        if i != 10 {
            let at = match i {
                20 => at + 25,
                _ => at,
            };
            ev.push((at, Channel::Station, 1, 160 * i, 1000));
        }
        // Outside: own SSRC and timestamps, arriving 7 ms later.
        ev.push((at + 7, Channel::Outside, 2, 50_000 + 160 * i, -1000));
    }
    let (frames, tap) = record(&ev, 2500);
    let stats = tap.stats();
    assert_eq!(stats.samples[0], 99 * 160);
    assert_eq!(stats.samples[1], 100 * 160);
    assert_eq!(stats.late_samples, [0, 0]);
    // The station's lost packet is exactly 160 silent frames, in place.
    let station: Vec<i16> = frames.iter().map(|f| f.0).collect();
    let first = station.iter().position(|&s| s == 1000).unwrap();
    let run: Vec<i16> = station[first..first + 100 * 160].to_vec();
    assert!(run[..1600].iter().all(|&s| s == 1000));
    assert!(
        run[1600..1760].iter().all(|&s| s == 0),
        "loss filled with silence"
    );
    assert!(
        run[1760..].iter().all(|&s| s == 1000),
        "reordered packets in place"
    );
    // The outside channel is offset from the station by its 7 ms arrival lag at most.
    let outside_first = frames.iter().position(|f| f.1 == -1000).unwrap();
    let lag = outside_first.abs_diff(first);
    assert!(lag <= 7 * 8, "lag {lag}");
    // And the channels end where they should: same length, frames out of both.
    assert_eq!(frames.len() % 160, 0);
    assert_eq!(stats.frames_out as usize, frames.len());
}

#[test]
fn ssrc_change_reanchors_by_arrival() {
    let mut ev = Vec::new();
    for i in 0..50u32 {
        ev.push((20 * u64::from(i) + 20, Channel::Station, 1, 160 * i, 500));
        ev.push((20 * u64::from(i) + 20, Channel::Outside, 9, 160 * i, 600));
    }
    // After 1 s the station source changes SSRC and restarts its timestamps
    // (a replayed capture); the outside keeps going.
    for i in 0..50u32 {
        let at = 1020 + 20 * u64::from(i);
        ev.push((at, Channel::Station, 3, 160 * i, 700));
        ev.push((at, Channel::Outside, 9, 160 * (50 + i), 600));
    }
    let (frames, tap) = record(&ev, 2200);
    assert_eq!(tap.stats().resyncs[0], 1);
    let first_700 = frames.iter().position(|f| f.0 == 700).unwrap();
    let first_500 = frames.iter().position(|f| f.0 == 500).unwrap();
    let delta = first_700 - first_500;
    assert!(
        (8000 - 160..=8000 + 160).contains(&delta),
        "second source 1 s after the first: {delta}"
    );
    // No overlap or gap between the two station sources beyond a packet.
    let last_500 = frames.iter().rposition(|f| f.0 == 500).unwrap();
    assert!(first_700 - last_500 <= 161);
    // The outside channel is continuous across the change.
    let outside: Vec<i16> = frames
        .iter()
        .map(|f| f.1)
        .skip_while(|&s| s == 0)
        .take(100 * 160)
        .collect();
    assert!(outside.iter().all(|&s| s == 600));
}

#[test]
fn one_side_silent_is_still_written() {
    let mut ev = Vec::new();
    for i in 0..25u32 {
        ev.push((20 * u64::from(i) + 20, Channel::Outside, 1, 160 * i, 42));
    }
    let (frames, _) = record(&ev, 1000);
    assert!(frames.len() >= 25 * 160);
    assert!(frames.iter().all(|f| f.0 == 0));
    assert_eq!(frames.iter().filter(|f| f.1 == 42).count(), 25 * 160);
}

#[test]
fn too_late_packets_dropped_and_memory_bounded() {
    let t0 = Instant::now();
    let mut tap = RecordingTap::new(t0, TapConfig::default());
    let mut out = Vec::new();
    tap.handle_samples(t0 + 20 * MS, Channel::Station, 1, 0, &frame(5));
    tap.handle_timeout(t0 + 1000 * MS);
    drain(&mut tap, &mut out);
    assert_eq!(out.len(), (1000 - 200) * 8);
    // A packet whose time was written out long ago: counted, dropped.
    tap.handle_samples(t0 + 1000 * MS, Channel::Station, 1, 160, &frame(6));
    assert_eq!(tap.stats().late_samples[0], 160);
    // Wild timestamps re-anchor instead of reaching into the future.
    for k in 0..1000u32 {
        tap.handle_samples(
            t0 + 1000 * MS,
            Channel::Outside,
            2,
            k.wrapping_mul(0x9E37_79B9),
            &frame(7),
        );
    }
    tap.handle_timeout(t0 + 3000 * MS);
    drain(&mut tap, &mut out);
    tap.finish();
    drain(&mut tap, &mut out);
    assert!(out.iter().all(|f| f.0 != 6));
    assert!(out.iter().any(|f| f.1 == 7));
    assert_eq!(out.len() % 160, 0);
    // The next chunk is due a chunk plus the jitter window after what was written.
    let written = Duration::from_micros(out.len() as u64 * 125);
    assert_eq!(tap.poll_timeout(), t0 + written + 220 * MS);
}

#[test]
fn g711_output() {
    let t0 = Instant::now();
    let mut tap = RecordingTap::new(t0, TapConfig::default());
    tap.handle_g711(
        t0,
        Channel::Station,
        1,
        0,
        callward_media::G711::Pcma,
        &[0xD5; 160],
    );
    tap.finish();
    let mut out = Vec::new();
    assert!(tap.poll_chunk_g711(callward_media::G711::Pcmu, &mut out));
    assert_eq!(out.len(), 320);
    // Station A-law +8 → µ-law 0xFE; the silent outside channel is µ-law +0.
    assert_eq!(&out[..2], &[0xFE, 0xFF]);
    assert!(!tap.poll_chunk_g711(callward_media::G711::Pcmu, &mut out));
}

#[test]
fn short_clip_replayed_with_old_timestamps_is_recorded_again() {
    // 300 ms clip, then the same clip (same SSRC and timestamps) 600 ms
    // after it started: too close for the timestamps to look like a jump,
    // so the first four packets of the replay are too late to place, then
    // the fifth re-anchors the channel and the rest is recorded.
    let mut ev = Vec::new();
    for round in 0..2u64 {
        for i in 0..15u32 {
            let v = if round == 0 { 100 } else { 200 };
            ev.push((
                20 + round * 600 + 20 * u64::from(i),
                Channel::Station,
                1,
                160 * i,
                v,
            ));
        }
    }
    let (frames, tap) = record(&ev, 2500);
    let stats = tap.stats();
    assert_eq!(stats.late_samples[0], 4 * 160);
    assert_eq!(stats.resyncs[0], 1);
    assert_eq!(frames.iter().filter(|f| f.0 == 100).count(), 15 * 160);
    assert_eq!(frames.iter().filter(|f| f.0 == 200).count(), 11 * 160);
}

#[test]
fn undrained_output_overruns_instead_of_growing() {
    // A driver that never drains: memory stays fixed, the excess is counted.
    let t0 = Instant::now();
    let mut tap = RecordingTap::new(t0, TapConfig::default());
    for i in 0..200u32 {
        let now = t0 + MS * (20 * i + 20);
        tap.handle_samples(now, Channel::Station, 1, 160 * i, &frame(3));
    }
    let stats = tap.stats();
    assert!(stats.overrun_samples[0] > 0);
    assert_eq!(stats.samples[0] + stats.overrun_samples[0], 200 * 160);
    // Draining afterwards still yields well-formed chunks.
    let mut out = Vec::new();
    drain(&mut tap, &mut out);
    assert!(!out.is_empty());
    assert!(out.iter().all(|f| f.0 == 3 || f.0 == 0));
}
