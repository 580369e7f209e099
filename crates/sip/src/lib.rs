//! SIP for callward: messages, transactions (RFC 3261 §17), dialogs and an SDP
//! offer/answer subset.
//!
//! Sans-IO: nothing here opens a socket, reads a clock or draws randomness.
//! Bytes, the current time and fresh identifiers go in; datagrams to send,
//! events and the next timeout come out. That makes a 32-second INVITE timeout
//! a microsecond test and lets a fuzzer replay any input exactly.

pub mod dialog;
pub mod header;
pub mod lint;
pub mod message;
pub mod method;
pub mod sdp;
pub mod syntax;
pub mod transaction;
pub mod uri;
pub mod validate;

pub use header::{CSeq, Contacts, Header, HeaderName, MediaType, NameAddr, Transport, Via};
pub use message::{Framing, Headers, Message, ParseError, Request, Response, StatusCode};
pub use method::Method;
pub use uri::{Host, Param, SipUri, TelUri, Uri};
