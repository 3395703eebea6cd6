//! Sluice: Spark Streaming's model — micro-batches, receivers, exactly-once sinks — as a
//! dataflow DSL compiled to Rust.
//!
//! Duty: the facade users depend on (`sluice::stream!`, [`prelude`]) and the home of the
//! `sluice` CLI. Invariant: generated code reaches the runtime only through
//! [`__private`], so a `stream!` pipeline needs nothing but this crate.
//! May depend on every Sluice crate.

pub use sluice_macros::{flow, stream};

/// What a program that runs pipelines usually needs.
pub mod prelude {
    pub use sluice_runtime::listener::{StreamingEvent, StreamingListener};
    pub use sluice_runtime::{Pipeline, Settings, StreamingContext, Termination};
}

/// The runtime, as generated code names it. Not a stable API.
#[doc(hidden)]
pub use sluice_runtime as __private;
