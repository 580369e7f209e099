//! The `callward` binary: CLI, configuration, wiring, tracing and shutdown.

fn main() {}
