//! The tamper-evident access log: an append-only Merkle log (RFC 6962
//! hashing), signed checkpoints, inclusion and consistency proofs.
//!
//! Every read of a recording or call record is appended here before the data
//! is released (invariant 4).
