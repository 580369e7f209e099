//! The recording vault: the encrypted recording container, the key hierarchy
//! and object storage.
//!
//! Call servers hold only the agency's public key, so they can write
//! recordings and never read them (invariant 3).
