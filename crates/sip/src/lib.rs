//! SIP for callward: messages, transactions (RFC 3261 §17), dialogs and an SDP
//! offer/answer subset.
//!
//! Sans-IO: nothing here opens a socket, reads a clock or draws randomness.
//! Bytes, the current time and fresh identifiers go in; datagrams to send,
//! events and the next timeout come out. That makes a 32-second INVITE timeout
//! a microsecond test and lets a fuzzer replay any input exactly.
