//! Media for callward: RTP/RTCP packets, G.711 A-law/µ-law, RFC 4733 and in-band DTMF,
//! prompt playout, the relay between two legs and the recording tap.
//!
//! Sans-IO: packets and the current time go in, packets to send and events
//! come out. The switch crate owns the sockets.
//!
//! # Map
//!
//! - [`rtp`], [`rtcp`] — packets (RFC 3550), parsed as borrowed views, written into `Vec<u8>`.
//! - [`g711`] — both laws, table-driven, and direct A-law ↔ µ-law transcoding.
//! - [`dtmf`] — [`Digit`], RFC 4733 telephone-events ([`TelephoneEventReceiver`],
//!   counting each event once however often its end packet is repeated) and SIP
//!   INFO bodies ([`parse_dtmf_info`]).
//! - [`goertzel`] — [`InbandDtmfDetector`] for a leg with neither.
//! - [`sender`] — [`RtpSender`], one leg's outgoing stream (SSRC, sequence,
//!   timestamp, marker) that prompts and relayed audio both write through.
//! - [`playout`] — [`PromptPlayer`], prompts paced at the leg's packet time.
//! - [`relay`] — [`Relay`] (one direction: transcoding, repacketising, rewriting)
//!   and [`Bridge`] (both directions plus an optional tap).
//! - [`tap`] — [`RecordingTap`], the two-channel recording stream.
//! - [`stats`] — [`ReceiveStats`], loss and jitter of a received source and
//!   its RTCP report block; [`RtpSender::sender_info`] gives the SR's sender part.
//!
//! # Driving it
//!
//! Every object is a plain struct: call `handle_*` with the current
//! [`Instant`](std::time::Instant) and input, then drain `poll_*` until it
//! returns `None`, and call `handle_timeout` at the `poll_timeout` instant.
//! Nothing here reads a clock, draws a random number or opens a socket; SSRCs
//! and initial sequence numbers and timestamps are passed in.
//!
//! ```
//! use std::time::{Duration, Instant};
//! use callward_media::*;
//!
//! let t0 = Instant::now(); // the driver's clock; this crate never reads one
//! // The station leg negotiated PCMA, 20 ms, telephone-event 101.
//! let mut to_station = RtpSender::new(SenderConfig {
//!     ssrc: 0x1234_5678,       // drawn by the driver
//!     initial_sequence: 4321,  // likewise
//!     initial_timestamp: 99,
//!     codec: G711::Pcma,
//!     ptime: Ptime::MS20,
//!     event_payload_type: Some(101),
//! });
//! let mut player = PromptPlayer::new();
//! player.play(t0, Prompt::new(G711::Pcma, vec![0xD5; 800])); // 100 ms
//! let mut digits = TelephoneEventReceiver::new(TelephoneEventConfig::new(101));
//!
//! let mut sent = 0;
//! while let Some(at) = player.poll_timeout() {
//!     player.handle_timeout(at, &mut to_station);
//!     digits.handle_timeout(at);
//!     while let Some(datagram) = to_station.poll_transmit() {
//!         sent += 1; // socket.send_to(datagram, station_addr)
//!         assert!(RtpPacket::parse(datagram).is_ok());
//!     }
//! }
//! assert_eq!(sent, 5);
//! assert_eq!(player.poll_event(), Some(PlayoutEvent::Finished));
//!
//! // A datagram from the station: a digit (the relay and tap see audio).
//! let datagram = [0x80, 0xE5, 0, 1, 0, 0, 0, 0, 0, 0, 0, 7, 1, 0x8A, 0x03, 0x20];
//! let packet = RtpPacket::parse(&datagram).unwrap();
//! assert!(digits.handle_rtp(t0 + Duration::from_millis(200), &packet));
//! assert_eq!(digits.poll_event().map(|e| e.digit), Some(Digit::D1));
//! ```
//!
//! # Recording and privilege
//!
//! Audio is decoded and kept only by a [`RecordingTap`], and the only way a
//! relayed packet reaches one is [`Bridge::attach_tap`]. A privileged call
//! never creates a tap, so nothing in this crate holds its audio beyond the
//! packet being relayed.

#![warn(missing_docs)]

pub mod dtmf;
pub mod g711;
pub mod goertzel;
pub mod playout;
pub mod relay;
pub mod rtcp;
pub mod rtp;
pub mod sender;
pub mod stats;
pub mod tap;

pub use dtmf::{
    Digit, DtmfEvent, DtmfSource, InfoDtmfError, TelephoneEvent, TelephoneEventConfig,
    TelephoneEventReceiver, parse_dtmf_info,
};
pub use g711::G711;
pub use goertzel::InbandDtmfDetector;
pub use playout::{PlayoutEvent, Prompt, PromptPlayer};
pub use relay::{Bridge, DtmfMode, Leg, Relay, RelayConfig, Relayed};
pub use rtcp::{RtcpCompound, RtcpError, RtcpPacket};
pub use rtp::{RtpError, RtpHeader, RtpPacket};
pub use sender::{Ptime, RtpSender, SenderConfig};
pub use stats::ReceiveStats;
pub use tap::{Channel, RecordingTap, TapConfig};
