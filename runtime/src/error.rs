//! The runtime's error type.

/// What can go wrong while building or running a pipeline.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    #[error("invalid setting: {0}")]
    Settings(String),
    #[error("sink `{sink}`: {message}")]
    Sink { sink: String, message: String },
    #[error("output operation {op} failed for batch {batch}: {message}")]
    Job {
        op: String,
        batch: crate::BatchTime,
        message: String,
    },
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("the streaming context {0}")]
    State(&'static str),
    #[error("recovering from the checkpoint directory failed: {0}")]
    Recovery(#[from] crate::recovery::RecoveryError),
    #[error("{0}")]
    Checkpoint(String),
    #[error(transparent)]
    CheckpointIo(#[from] crate::checkpoint::CheckpointError),
}

pub type Result<T, E = Error> = std::result::Result<T, E>;
