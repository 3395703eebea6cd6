//! Sluice's micro-batch runtime: everything that runs.
//!
//! Duty: Spark Streaming's execution model — a [`StreamingContext`] owning a typed graph of
//! [`DStream`]s, a batch clock (`JobGenerator`) on an injectable [`Clock`], a `JobScheduler`
//! running each batch's output operations in time order, receivers (the [`receiver`]
//! trait, socket, and optional Redis Streams and NATS JetStream clients) supervised by a
//! `ReceiverTracker` whose blocks a `ReceivedBlockTracker` allocates to batches, direct
//! sources read by logged offset range ([`direct`]: Kafka, JetStream, files), rate control,
//! sinks, and fault tolerance: write-ahead logs ([`wal`], [`recovery`], group-committed by
//! [`group_commit`]), checkpoints of operator state ([`checkpoint`]), and fail points for
//! crash tests (feature `failpoints`); and what an operator sees of a run: the status page
//! and Prometheus metrics ([`status`]), the log ([`logging`]), with credentials redacted
//! ([`secrets`]); and the same pipeline on a timely dataflow cluster ([`cluster`]), each
//! worker computing the batch partitions it owns.
//! Invariants: batches start in time order and run one at a time (unless `concurrentJobs`),
//! a batch's output operations in definition order; every received block and every
//! direct-source record lands in exactly one batch; with a checkpoint directory, a block,
//! an offset range or a tracker decision is on disk before it takes effect, and a restart
//! runs again exactly the batches its checkpoint does not cover; a partition is a pure
//! function of its inputs, so a task can run again or twice at once ([`executor`]), and
//! records are therefore `Clone + Send + Sync` values, and serde types, since they cross
//! processes in a cluster ([`dstream::Data`]); bad input is counted and reported,
//! never a panic. May depend on tokio, rayon, timely, axum, tracing, database and broker
//! clients — never on `sluice-grammar` or `sluice-dsl`: generated pipelines link this
//! crate alone.

pub mod app;
pub mod block;
pub mod builtins;
pub mod checkpoint;
pub mod cluster;
pub mod context;
pub mod direct;
pub mod dstream;
pub mod error;
pub mod executor;
mod failpoint;
pub mod group_commit;
pub mod listener;
pub mod logging;
pub mod rate;
pub mod receiver;
pub mod recovery;
pub mod render;
pub mod scheduler;
pub mod secrets;
pub mod settings;
pub mod sinks;
pub mod status;
pub mod time;
pub mod tracker;
pub mod wal;

/// Locks `m`, going on when a panic elsewhere poisoned it: a panicking job or user closure
/// must not take the scheduler, the tracker or a log down with it.
pub(crate) fn lock<T>(m: &std::sync::Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

pub use context::{Pipeline, StreamingContext};
pub use dstream::{DStream, MapWithState, PartitionSink, State};
pub use error::{Error, Result};
pub use listener::{BatchInfo, StreamingEvent, StreamingListener};
pub use render::SparkString;
pub use scheduler::Termination;
pub use settings::{BatchFailure, Settings, Speculation};
pub use time::{BatchTime, Clock, ManualClock, SystemClock};
