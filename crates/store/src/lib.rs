//! Persistence for callward behind traits, with SQLite as the embedded
//! default. Each backend keeps its own migration folder and runs the same
//! contract test suite.
