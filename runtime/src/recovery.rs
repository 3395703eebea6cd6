//! What the write-ahead logs hold and how a restart rebuilds the tracker from them.
//!
//! With `writeAheadLog` on, the checkpoint directory holds (Spark's layout):
//! - `receivedData/<stream>/`: each receiver's log of the blocks it stored ([`StoredBlock`]);
//! - `receivedBlockMetadata/`: the driver's log of [`TrackerEvent`]s — a block added, a
//!   batch allocated, a batch completed, old batches cleaned — each written before it
//!   takes effect;
//! - `metadata`: the pipeline's zero time and batch interval, written once, atomically.
//!
//! Replaying the driver log gives back the blocks not yet in a batch, the batches allocated
//! but not completed (run again, with the same time and the same blocks, before any new
//! batch), and per stream the last block id and source position stored.

use crate::block::{Block, StreamId};
use crate::direct::{DirectId, OffsetRange, Offsets};
use crate::time::BatchTime;
use crate::wal::{Recovered, WalConfig, WalError, WriteAheadLog};
use serde::{Deserialize, Serialize};
use std::borrow::Cow;
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A block as a receiver's log holds it: borrowed when written, owned when read back.
#[derive(Serialize, Deserialize, Debug, PartialEq)]
pub struct StoredBlock<'a> {
    pub stream: StreamId,
    pub id: u64,
    pub records: usize,
    pub data: Cow<'a, str>,
    /// Where in its source the block ends (a Redis entry id, a JetStream sequence).
    pub position: Option<Cow<'a, str>>,
}

/// The driver log's events (Spark's `ReceivedBlockTrackerLogEvent`s, and a completion).
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub enum TrackerEvent {
    /// A block was stored in its stream's receiver log (found there by stream and id).
    BlockAdded { stream: StreamId, id: u64 },
    /// The blocks of batch `time`, by stream and id, and the offset ranges it reads from
    /// each direct source (every partition, empty ranges included).
    BatchAllocated {
        time: u64,
        blocks: Vec<(StreamId, u64)>,
        ranges: Vec<(DirectId, Vec<OffsetRange>)>,
    },
    /// Every output operation of batch `time` succeeded.
    BatchCompleted { time: u64 },
    /// Batches before `before` are forgotten.
    BatchCleanup { before: u64 },
}

/// Encodes a log payload: a format version byte, then postcard.
pub fn encode<T: Serialize>(value: &T) -> Vec<u8> {
    let mut out = vec![FORMAT];
    out.extend(postcard::to_allocvec(value).expect("log payloads always serialize"));
    out
}

const FORMAT: u8 = 1;

fn decode<T: for<'de> Deserialize<'de>>(r: &Recovered, log: &Path) -> Result<T, RecoveryError> {
    match r.payload.split_first() {
        Some((&FORMAT, rest)) => postcard::from_bytes(rest).map_err(|e| RecoveryError::Format {
            log: log.to_path_buf(),
            seq: r.handle.seq,
            reason: e.to_string(),
        }),
        _ => Err(RecoveryError::Format {
            log: log.to_path_buf(),
            seq: r.handle.seq,
            reason: format!(
                "unknown format version {:?} (this build reads {FORMAT})",
                r.payload.first()
            ),
        }),
    }
}

#[derive(Debug, thiserror::Error)]
pub enum RecoveryError {
    #[error(transparent)]
    Wal(#[from] WalError),
    #[error("record {seq} of {} cannot be read: {reason}", log.display())]
    Format {
        log: PathBuf,
        seq: u64,
        reason: String,
    },
    #[error("{} names block {id} of stream {stream}, which no receiver log holds", log.display())]
    MissingBlock {
        log: PathBuf,
        stream: StreamId,
        id: u64,
    },
    #[error("{}: {reason}", path.display())]
    Metadata { path: PathBuf, reason: String },
    #[error("{}: batch {time} must run again but some of its blocks were already cleaned", log.display())]
    Incomplete { log: PathBuf, time: u64 },
}

/// The logs of a pipeline with the write-ahead log on.
pub struct Logs {
    pub driver: WriteAheadLog,
    pub receivers: Vec<WriteAheadLog>,
}

/// What a restart picks up from the logs.
#[derive(Default)]
pub struct Replayed {
    pub unallocated: BTreeMap<StreamId, Vec<Arc<Block>>>,
    pub allocated: BTreeMap<BatchTime, BTreeMap<StreamId, Vec<Arc<Block>>>>,
    /// The offset ranges of each allocated batch, per direct source.
    pub ranges: BTreeMap<BatchTime, BTreeMap<DirectId, Vec<OffsetRange>>>,
    /// Per direct source, where the next batch starts: the ends of the last logged ranges.
    pub next_offsets: BTreeMap<DirectId, Offsets>,
    /// Allocated batches that did not complete, oldest first: to run again.
    pub pending: Vec<BatchTime>,
    /// Per stream: the next block id, and the position of the last block stored.
    pub next_block: HashMap<StreamId, u64>,
    pub positions: HashMap<StreamId, String>,
    /// Allocated batches some of whose blocks were cleaned from the receiver logs: they
    /// completed long ago, and cannot run again.
    pub incomplete: BTreeSet<BatchTime>,
}

impl Replayed {
    pub fn last_allocated(&self) -> Option<BatchTime> {
        self.allocated.keys().next_back().copied()
    }

    /// Fails if a batch to run again lost blocks to a cleanup.
    pub fn check_pending(&self, log: &Path) -> Result<(), RecoveryError> {
        match self.pending.iter().find(|t| self.incomplete.contains(t)) {
            Some(t) => Err(RecoveryError::Incomplete {
                log: log.to_path_buf(),
                time: t.0,
            }),
            None => Ok(()),
        }
    }
}

/// Opens the logs under `dir` for `streams` receivers and replays them.
pub fn open(
    dir: &Path,
    streams: usize,
    base: &WalConfig,
) -> Result<(Logs, Replayed), RecoveryError> {
    let cfg = |p: PathBuf| WalConfig {
        dir: p,
        ..base.clone()
    };
    let driver_dir = dir.join("receivedBlockMetadata");
    let (driver, events) = WriteAheadLog::open(cfg(driver_dir.clone()))?;
    let mut receivers = Vec::new();
    let mut stored: HashMap<(StreamId, u64), StoredBlock<'static>> = HashMap::new();
    for s in 0..streams {
        let rdir = dir.join("receivedData").join(s.to_string());
        let (log, rec) = WriteAheadLog::open(cfg(rdir.clone()))?;
        for r in &rec.records {
            let b: StoredBlock<'static> = decode(r, &rdir)?;
            stored.insert((b.stream, b.id), b);
        }
        receivers.push(log);
    }
    let mut out = Replayed::default();
    let mut blocks: HashMap<(StreamId, u64), Arc<Block>> = HashMap::new();
    let mut completed = BTreeSet::new();
    let mut missing: BTreeSet<(StreamId, u64)> = BTreeSet::new();
    for r in &events.records {
        match decode::<TrackerEvent>(r, &driver_dir)? {
            TrackerEvent::BlockAdded { stream, id } => {
                let Some(sb) = stored.remove(&(stream, id)) else {
                    // Its receiver segment was cleaned: fine if its batch was cleaned too,
                    // an error if anything still needs it (checked below and by the caller).
                    missing.insert((stream, id));
                    continue;
                };
                let next = out.next_block.entry(stream).or_default();
                *next = (*next).max(id + 1);
                if let Some(p) = sb.position {
                    out.positions.insert(stream, p.into_owned());
                }
                let block = Arc::new(Block {
                    stream,
                    id,
                    data: sb.data.into_owned(),
                    records: sb.records,
                });
                blocks.insert((stream, id), block.clone());
                out.unallocated.entry(stream).or_default().push(block);
            }
            TrackerEvent::BatchAllocated {
                time,
                blocks: ids,
                ranges,
            } => {
                crate::direct::advance(&mut out.next_offsets, ranges.iter().map(|(d, r)| (d, r)));
                out.ranges
                    .insert(BatchTime(time), ranges.into_iter().collect());
                let mut batch: BTreeMap<StreamId, Vec<Arc<Block>>> = BTreeMap::new();
                for (stream, id) in ids {
                    if missing.remove(&(stream, id)) {
                        out.incomplete.insert(BatchTime(time));
                    }
                    if let Some(b) = blocks.remove(&(stream, id)) {
                        batch.entry(stream).or_default().push(b);
                    }
                    if let Some(v) = out.unallocated.get_mut(&stream) {
                        v.retain(|b| b.id != id);
                    }
                }
                out.allocated.insert(BatchTime(time), batch);
            }
            TrackerEvent::BatchCompleted { time } => {
                completed.insert(time);
            }
            TrackerEvent::BatchCleanup { before } => {
                out.allocated = out.allocated.split_off(&BatchTime(before));
                out.ranges = out.ranges.split_off(&BatchTime(before));
                out.incomplete = out.incomplete.split_off(&BatchTime(before));
            }
        }
    }
    if let Some(&(stream, id)) = missing.iter().next() {
        return Err(RecoveryError::MissingBlock {
            log: driver_dir,
            stream,
            id,
        });
    }
    out.unallocated.retain(|_, v| !v.is_empty());
    out.pending = out
        .allocated
        .keys()
        .filter(|t| !completed.contains(&t.0))
        .copied()
        .collect();
    Ok((Logs { driver, receivers }, out))
}

/// The pipeline's zero time and interval, kept so a restart keeps the same batch times
/// (and the same window boundaries).
#[derive(Serialize, Deserialize, Debug, PartialEq, Clone, Copy)]
pub struct Metadata {
    pub zero_ms: u64,
    pub batch_ms: u64,
}

/// Reads `dir/metadata`, if it was written.
pub fn read_metadata(dir: &Path) -> Result<Option<Metadata>, RecoveryError> {
    let path = dir.join("metadata");
    let bad = |reason: String| RecoveryError::Metadata {
        path: path.clone(),
        reason,
    };
    match std::fs::read(&path) {
        Ok(bytes) => match bytes.split_first() {
            Some((&FORMAT, rest)) => postcard::from_bytes(rest)
                .map(Some)
                .map_err(|e| bad(e.to_string())),
            _ => Err(bad("unknown format version".into())),
        },
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(bad(e.to_string())),
    }
}

/// Writes `dir/metadata` atomically: a temporary file, fsync, rename, fsync of the directory.
pub fn write_metadata(dir: &Path, m: &Metadata) -> Result<(), RecoveryError> {
    let path = dir.join("metadata");
    let bad = |e: std::io::Error| RecoveryError::Metadata {
        path: path.clone(),
        reason: e.to_string(),
    };
    std::fs::create_dir_all(dir).map_err(bad)?;
    crate::checkpoint::write_atomically(&path, &encode(m)).map_err(bad)
}
