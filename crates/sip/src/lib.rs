//! SIP for callward: messages, transactions (RFC 3261 §17), dialogs and an SDP
//! offer/answer subset.
//!
//! Sans-IO: nothing here opens a socket, reads a clock or draws randomness.
//! Bytes, the current time and fresh identifiers go in; datagrams to send,
//! events and the next timeout come out. That makes a 32-second INVITE timeout
//! a microsecond test and lets a fuzzer replay any input exactly.
//!
//! Map: [`message`] (framing, [`Request`], [`Response`]), [`header`] and
//! [`uri`] (typed values), [`validate`] (what a UAS refuses and with which
//! status), [`lint`] (`callward sip lint`), [`transaction`] (RFC 3261 §17
//! state machines with timers A–M), [`dialog`] (dialogs, route sets, forks)
//! and [`sdp`] (session descriptions and offer/answer).

#![warn(missing_docs)]

pub mod dialog;
pub mod header;
pub mod lint;
pub mod list;
pub mod message;
pub mod method;
pub mod sdp;
pub mod syntax;
pub mod text;
pub mod transaction;
pub mod uri;
pub mod validate;

pub use header::{CSeq, Contacts, Header, HeaderName, MediaType, NameAddr, Transport, Via};
pub use list::List;
pub use message::{Framing, Headers, Message, ParseError, Request, Response, StatusCode};
pub use method::Method;
pub use text::Text;
pub use uri::{Host, Param, SipUri, TelUri, Uri};
