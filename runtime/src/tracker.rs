//! Spark's `ReceivedBlockTracker` and `ReceiverTracker`: blocks in, batches out.

use crate::block::{Block, StreamId};
use crate::direct::{DirectId, OffsetRange, Offsets};
use crate::failpoint::crash_point;
use crate::group_commit::GroupLog;
use crate::listener::{ListenerBus, ReceiverInfo, StreamingEvent};
use crate::lock;
use crate::rate::{DirectRates, RateSink, RateTarget};
use crate::receiver::{Receiver, ReceiverSupervisor, Resume};
use crate::recovery::{self, Logs, Replayed, StoredBlock, TrackerEvent};
use crate::settings::Settings;
use crate::time::{BatchTime, Clock};
use crate::wal::{WalError, WriteAheadLog};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The input of one batch: blocks per receiver stream, and offset ranges per direct
/// source with the records fetched for them (once the batch has fetched them).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AllocatedBlocks {
    pub streams: BTreeMap<StreamId, Vec<Arc<Block>>>,
    pub ranges: BTreeMap<DirectId, Vec<OffsetRange>>,
    pub fetched: BTreeMap<DirectId, Vec<Arc<Block>>>,
}

impl AllocatedBlocks {
    pub fn of(&self, stream: StreamId) -> &[Arc<Block>] {
        self.streams.get(&stream).map(Vec::as_slice).unwrap_or(&[])
    }

    /// The fetched records of direct source `source`, a block per partition.
    pub fn fetched_of(&self, source: DirectId) -> &[Arc<Block>] {
        self.fetched.get(&source).map(Vec::as_slice).unwrap_or(&[])
    }

    /// Records received, and offsets to read from direct sources.
    pub fn records(&self) -> u64 {
        self.stream_records().values().sum::<u64>() + self.direct_records().values().sum::<u64>()
    }

    /// Offsets to read, per direct source.
    pub fn direct_records(&self) -> BTreeMap<DirectId, u64> {
        self.ranges
            .iter()
            .map(|(d, rs)| (*d, rs.iter().map(OffsetRange::count).sum()))
            .collect()
    }

    /// Records per input stream.
    pub fn stream_records(&self) -> BTreeMap<StreamId, u64> {
        self.streams
            .iter()
            .map(|(s, blocks)| (*s, blocks.iter().map(|b| b.records as u64).sum()))
            .collect()
    }
}

#[derive(Default)]
struct TrackerState {
    unallocated: BTreeMap<StreamId, Vec<Arc<Block>>>,
    allocated: BTreeMap<BatchTime, AllocatedBlocks>,
    last_allocated: Option<BatchTime>,
    /// Per direct source, where the next batch's ranges start.
    next_offsets: BTreeMap<DirectId, Offsets>,
}

/// The write-ahead logs, when on: one for the tracker's events, and one per receiver for
/// block data when the receiver write-ahead log is on (none when only direct sources'
/// ranges are logged).
struct TrackerLogs {
    /// Committed in groups: every receiver's block reports go through it.
    driver: GroupLog,
    receivers: Vec<Mutex<WriteAheadLog>>,
    /// Segments are kept this long past the batches that need them.
    margin_ms: u64,
}

/// Keeps received blocks until a batch takes them. Every block lands in exactly one batch:
/// allocation moves all unallocated blocks to the batch, and a batch time is allocated once.
/// With the write-ahead log on, each change is logged (and synced) before it takes effect.
#[derive(Default)]
pub struct ReceivedBlockTracker {
    state: Mutex<TrackerState>,
    logs: Option<TrackerLogs>,
}

impl ReceivedBlockTracker {
    /// A tracker logging to `logs`, starting from what they replayed.
    pub fn with_logs(logs: Logs, replayed: &Replayed, batch_ms: u64) -> Self {
        let state = TrackerState {
            unallocated: replayed.unallocated.clone(),
            allocated: replayed
                .allocated
                .iter()
                .map(|(t, streams)| {
                    (
                        *t,
                        AllocatedBlocks {
                            streams: streams.clone(),
                            ranges: replayed.ranges.get(t).cloned().unwrap_or_default(),
                            fetched: BTreeMap::new(),
                        },
                    )
                })
                .collect(),
            last_allocated: replayed.last_allocated(),
            next_offsets: replayed.next_offsets.clone(),
        };
        ReceivedBlockTracker {
            state: Mutex::new(state),
            logs: Some(TrackerLogs {
                driver: GroupLog::new(logs.driver),
                receivers: logs.receivers.into_iter().map(Mutex::new).collect(),
                margin_ms: 2 * batch_ms,
            }),
        }
    }

    fn state(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        lock(&self.state)
    }

    fn log_event(&self, time_ms: u64, event: &TrackerEvent) -> Result<(), WalError> {
        match &self.logs {
            Some(logs) => logs.driver.commit(time_ms, recovery::encode(event)),
            None => Ok(()),
        }
    }

    /// Adds a received block: with the log on, its data goes to its receiver's log and the
    /// addition to the tracker's log first. On an error nothing is added and the block is
    /// handed back.
    pub fn add_block(
        &self,
        block: Block,
        now_ms: u64,
        position: Option<&str>,
    ) -> Result<(), (WalError, Block)> {
        if let Some(log) = self
            .logs
            .as_ref()
            .and_then(|l| l.receivers.get(block.stream))
        {
            let stored = StoredBlock {
                stream: block.stream,
                id: block.id,
                records: block.records,
                data: (&block.data).into(),
                position: position.map(Into::into),
            };
            let logged = (|| {
                crash_point!("block_store.before");
                {
                    let mut log = lock(log);
                    log.append(now_ms, &recovery::encode(&stored))?;
                    log.sync()?;
                }
                let added = TrackerEvent::BlockAdded {
                    stream: block.stream,
                    id: block.id,
                };
                self.log_event(now_ms, &added)?;
                crash_point!("block_store.after");
                Ok(())
            })();
            if let Err(e) = logged {
                return Err((e, block));
            }
        }
        self.push(block);
        Ok(())
    }

    fn push(&self, block: Block) {
        self.state()
            .unallocated
            .entry(block.stream)
            .or_default()
            .push(Arc::new(block));
    }

    /// Moves every unallocated block to batch `t`, with the offset ranges it reads from
    /// direct sources. A time at or before the last allocated one is ignored, so a batch
    /// is never allocated twice (Spark's guard, same reason). If the allocation cannot be
    /// logged, the blocks stay unallocated and the ranges unread, for a later batch
    /// (SPARK-23438), and the error is returned.
    pub fn allocate_blocks_to_batch(
        &self,
        t: BatchTime,
        ranges: BTreeMap<DirectId, Vec<OffsetRange>>,
    ) -> Result<(), WalError> {
        let mut s = self.state();
        if s.last_allocated.is_some_and(|last| t <= last) {
            return Ok(());
        }
        if let Some(logs) = &self.logs {
            // Blocks of streams without a receiver log are not logged: a restart cannot
            // read them again.
            let blocks = s
                .unallocated
                .iter()
                .filter(|(stream, _)| **stream < logs.receivers.len())
                .flat_map(|(stream, v)| v.iter().map(|b| (*stream, b.id)))
                .collect();
            let ranges = ranges.iter().map(|(d, r)| (*d, r.clone())).collect();
            crash_point!("allocation.before");
            self.log_event(
                t.0,
                &TrackerEvent::BatchAllocated {
                    time: t.0,
                    blocks,
                    ranges,
                },
            )?;
            crash_point!("allocation.after");
        }
        crate::direct::advance(&mut s.next_offsets, &ranges);
        let streams = std::mem::take(&mut s.unallocated);
        s.allocated.insert(
            t,
            AllocatedBlocks {
                streams,
                ranges,
                fetched: BTreeMap::new(),
            },
        );
        s.last_allocated = Some(t);
        Ok(())
    }

    /// Where the next batch's ranges of direct source `source` start, if a batch read it
    /// before.
    pub fn next_offsets(&self, source: DirectId) -> Option<Offsets> {
        self.state().next_offsets.get(&source).cloned()
    }

    /// The batches from `from` to `to` with offset ranges not fetched yet (after a
    /// restart, those a window looks back at).
    pub fn unfetched(&self, from: BatchTime, to: BatchTime) -> Vec<BatchTime> {
        if from > to {
            return Vec::new();
        }
        self.state()
            .allocated
            .range(from..=to)
            .filter(|(_, b)| b.ranges.keys().any(|d| !b.fetched.contains_key(d)))
            .map(|(t, _)| *t)
            .collect()
    }

    /// Keeps the records batch `t` fetched from direct source `source`, for windows that
    /// look back at the batch.
    pub fn set_fetched(&self, t: BatchTime, source: DirectId, blocks: Vec<Arc<Block>>) {
        if let Some(b) = self.state().allocated.get_mut(&t) {
            b.fetched.insert(source, blocks);
        }
    }

    /// Whether batch `t` was allocated (now or before a restart).
    pub fn is_allocated(&self, t: BatchTime) -> bool {
        self.state().last_allocated.is_some_and(|last| t <= last)
    }

    pub fn blocks_of_batch(&self, t: BatchTime) -> AllocatedBlocks {
        self.state().allocated.get(&t).cloned().unwrap_or_default()
    }

    pub fn has_unallocated_blocks(&self) -> bool {
        self.state().unallocated.values().any(|v| !v.is_empty())
    }

    /// Records that every output of batch `t` succeeded, so a restart does not run it again.
    pub fn batch_completed(&self, t: BatchTime) -> Result<(), WalError> {
        crash_point!("batch_completed.before");
        self.log_event(t.0, &TrackerEvent::BatchCompleted { time: t.0 })?;
        crash_point!("batch_completed.after");
        Ok(())
    }

    /// Forgets batches older than `before` (their jobs are done), and deletes log segments
    /// nothing needs any more.
    pub fn cleanup_old_batches(&self, before: BatchTime) -> Result<(), WalError> {
        self.log_event(before.0, &TrackerEvent::BatchCleanup { before: before.0 })?;
        {
            let mut s = self.state();
            s.allocated = s.allocated.split_off(&before);
        }
        if let Some(logs) = &self.logs {
            let old = before.0.saturating_sub(logs.margin_ms);
            for log in &logs.receivers {
                lock(log).clean(old)?;
            }
            logs.driver.with_log(|l| l.clean(old))?;
        }
        Ok(())
    }
}

/// Launches the receivers, keeps their state, passes rate updates on, and stops them
/// (flushing their buffers).
pub struct ReceiverTracker {
    /// Until `start` takes them; the i-th is supervised by `supervisors[i]`.
    receivers: Mutex<Vec<Box<dyn Receiver>>>,
    supervisors: Vec<Arc<ReceiverSupervisor>>,
    stop: tokio::sync::watch::Sender<bool>,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    bus: Arc<ListenerBus>,
}

impl ReceiverTracker {
    pub fn new(
        receivers: Vec<Box<dyn Receiver>>,
        settings: &Settings,
        blocks: Arc<ReceivedBlockTracker>,
        bus: Arc<ListenerBus>,
        clock: Arc<dyn Clock>,
        replayed: &Replayed,
    ) -> Self {
        let supervisors = receivers
            .iter()
            .enumerate()
            .map(|(stream, r)| {
                let resume = Resume {
                    next_block: replayed.next_block.get(&stream).copied().unwrap_or(0),
                    position: replayed.positions.get(&stream).cloned(),
                };
                let sup = ReceiverSupervisor::new(
                    stream,
                    r.name(),
                    settings,
                    blocks.clone(),
                    bus.clone(),
                    clock.clone(),
                    resume,
                );
                Arc::new(sup)
            })
            .collect();
        ReceiverTracker {
            supervisors,
            receivers: Mutex::new(receivers),
            stop: tokio::sync::watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
            bus,
        }
    }

    /// Starts every receiver and its block generator on the given runtime.
    pub fn start(&self, rt: &tokio::runtime::Handle, clock: Arc<dyn Clock>, settings: &Settings) {
        let mut tasks = lock(&self.tasks);
        let receivers = std::mem::take(&mut *lock(&self.receivers));
        for (receiver, sup) in receivers.into_iter().zip(&self.supervisors) {
            tasks.push(rt.spawn(sup.clone().supervise(
                receiver,
                settings.receiver_restart_delay,
                self.stop.subscribe(),
            )));
            tasks.push(rt.spawn(sup.clone().generate_blocks(
                clock.clone(),
                settings.effective_block_interval(),
                self.stop.subscribe(),
            )));
        }
    }

    /// The rate limit of each receiver's stream, records per second (0: none).
    pub fn rate_limits(&self) -> Vec<(StreamId, u64)> {
        self.supervisors
            .iter()
            .map(|s| (s.stream(), s.rate_limit()))
            .collect()
    }

    /// Stops every receiver, then cuts what each had buffered into a last block, so nothing
    /// stored is lost on stop (SPARK-10224).
    pub async fn stop(&self) {
        self.stop.send_replace(true);
        let tasks = std::mem::take(&mut *lock(&self.tasks));
        for t in tasks {
            let _ = t.await;
        }
        for sup in &self.supervisors {
            sup.cut_block();
            self.bus.post(StreamingEvent::ReceiverStopped(ReceiverInfo {
                stream: sup.stream(),
                name: sup.name().to_string(),
                active: false,
                last_error: None,
            }));
        }
    }
}

/// Where the rate controller's updates go: receivers' limiters and direct sources' rates.
pub struct RateSinks {
    pub receivers: Arc<ReceiverTracker>,
    pub direct: Arc<DirectRates>,
}

impl RateSink for RateSinks {
    fn send_rate_update(&self, target: RateTarget, rate: u64) {
        match target {
            RateTarget::Receiver(stream) => {
                if let Some(s) = self
                    .receivers
                    .supervisors
                    .iter()
                    .find(|s| s.stream() == stream)
                {
                    s.update_rate(rate);
                }
            }
            RateTarget::Direct(source) => self.direct.set(source, rate),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(stream: StreamId, id: u64, text: &str) -> Block {
        Block {
            stream,
            id,
            data: text.into(),
            records: text.lines().count(),
        }
    }

    #[test]
    fn each_block_lands_in_exactly_one_batch() {
        let t = ReceivedBlockTracker::default();
        t.add_block(block(0, 0, "a\n"), 0, None).unwrap();
        t.add_block(block(1, 0, "b\nc\n"), 0, None).unwrap();
        t.allocate_blocks_to_batch(BatchTime(1_000), Default::default())
            .unwrap();
        t.add_block(block(0, 1, "d\n"), 0, None).unwrap();
        t.allocate_blocks_to_batch(BatchTime(1_000), Default::default())
            .unwrap();
        assert!(
            t.has_unallocated_blocks(),
            "re-allocating a time is ignored"
        );
        t.allocate_blocks_to_batch(BatchTime(2_000), Default::default())
            .unwrap();
        assert!(!t.has_unallocated_blocks());
        let b1 = t.blocks_of_batch(BatchTime(1_000));
        assert_eq!(b1.records(), 3);
        assert_eq!(b1.of(1).len(), 1);
        assert_eq!(t.blocks_of_batch(BatchTime(2_000)).of(0)[0].id, 1);
        t.cleanup_old_batches(BatchTime(2_000)).unwrap();
        assert_eq!(t.blocks_of_batch(BatchTime(1_000)).records(), 0);
        assert_eq!(t.blocks_of_batch(BatchTime(2_000)).records(), 1);
    }
}
