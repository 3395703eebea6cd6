//! Spark's `ReceivedBlockTracker` and `ReceiverTracker`: blocks in, batches out.

use crate::block::{Block, StreamId};
use crate::listener::{ListenerBus, ReceiverInfo, StreamingEvent};
use crate::rate::RateSink;
use crate::receiver::{Receiver, ReceiverSupervisor};
use crate::settings::Settings;
use crate::time::{BatchTime, Clock};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

/// The blocks of one batch, per input stream.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct AllocatedBlocks {
    pub streams: BTreeMap<StreamId, Vec<Arc<Block>>>,
}

impl AllocatedBlocks {
    pub fn of(&self, stream: StreamId) -> &[Arc<Block>] {
        self.streams.get(&stream).map(Vec::as_slice).unwrap_or(&[])
    }

    pub fn records(&self) -> u64 {
        self.stream_records().values().sum()
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
}

/// Keeps received blocks until a batch takes them. Every block lands in exactly one batch:
/// allocation moves all unallocated blocks to the batch, and a batch time is allocated once.
#[derive(Default)]
pub struct ReceivedBlockTracker {
    state: Mutex<TrackerState>,
}

impl ReceivedBlockTracker {
    fn state(&self) -> std::sync::MutexGuard<'_, TrackerState> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn add_block(&self, block: Block) {
        let mut s = self.state();
        s.unallocated
            .entry(block.stream)
            .or_default()
            .push(Arc::new(block));
    }

    /// Moves every unallocated block to batch `t`. A time at or before the last allocated
    /// one is ignored, so a batch is never allocated twice (Spark's guard, same reason).
    pub fn allocate_blocks_to_batch(&self, t: BatchTime) {
        let mut s = self.state();
        if s.last_allocated.is_some_and(|last| t <= last) {
            return;
        }
        let streams = std::mem::take(&mut s.unallocated);
        s.allocated.insert(t, AllocatedBlocks { streams });
        s.last_allocated = Some(t);
    }

    pub fn blocks_of_batch(&self, t: BatchTime) -> AllocatedBlocks {
        self.state().allocated.get(&t).cloned().unwrap_or_default()
    }

    pub fn has_unallocated_blocks(&self) -> bool {
        self.state().unallocated.values().any(|v| !v.is_empty())
    }

    /// Forgets batches older than `before` (their jobs are done).
    pub fn cleanup_old_batches(&self, before: BatchTime) {
        let mut s = self.state();
        s.allocated = s.allocated.split_off(&before);
    }
}

type Supervised = (Box<dyn Receiver>, Arc<ReceiverSupervisor>);

/// Launches the receivers, keeps their state, passes rate updates on, and stops them
/// (flushing their buffers).
pub struct ReceiverTracker {
    /// Until `start` takes them.
    receivers: Mutex<Vec<Supervised>>,
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
    ) -> Self {
        let receivers: Vec<_> = receivers
            .into_iter()
            .enumerate()
            .map(|(stream, r)| {
                let sup = ReceiverSupervisor::new(
                    stream,
                    r.name(),
                    settings,
                    blocks.clone(),
                    bus.clone(),
                );
                (r, Arc::new(sup))
            })
            .collect();
        ReceiverTracker {
            supervisors: receivers.iter().map(|(_, s)| s.clone()).collect(),
            receivers: Mutex::new(receivers),
            stop: tokio::sync::watch::channel(false).0,
            tasks: Mutex::new(Vec::new()),
            bus,
        }
    }

    /// Starts every receiver and its block generator on the given runtime.
    pub fn start(&self, rt: &tokio::runtime::Handle, clock: Arc<dyn Clock>, settings: &Settings) {
        let mut tasks = self.tasks.lock().unwrap_or_else(|e| e.into_inner());
        let receivers =
            std::mem::take(&mut *self.receivers.lock().unwrap_or_else(|e| e.into_inner()));
        for (receiver, sup) in receivers {
            tasks.push(rt.spawn(sup.clone().supervise(
                receiver,
                settings.receiver_restart_delay,
                self.stop.subscribe(),
            )));
            tasks.push(rt.spawn(sup.generate_blocks(
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
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
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

impl RateSink for Arc<ReceiverTracker> {
    fn send_rate_update(&self, stream: StreamId, rate: u64) {
        if let Some(s) = self.supervisors.iter().find(|s| s.stream() == stream) {
            s.update_rate(rate);
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
        t.add_block(block(0, 0, "a\n"));
        t.add_block(block(1, 0, "b\nc\n"));
        t.allocate_blocks_to_batch(BatchTime(1_000));
        t.add_block(block(0, 1, "d\n"));
        t.allocate_blocks_to_batch(BatchTime(1_000));
        assert!(
            t.has_unallocated_blocks(),
            "re-allocating a time is ignored"
        );
        t.allocate_blocks_to_batch(BatchTime(2_000));
        assert!(!t.has_unallocated_blocks());
        let b1 = t.blocks_of_batch(BatchTime(1_000));
        assert_eq!(b1.records(), 3);
        assert_eq!(b1.of(1).len(), 1);
        assert_eq!(t.blocks_of_batch(BatchTime(2_000)).of(0)[0].id, 1);
        t.cleanup_old_batches(BatchTime(2_000));
        assert_eq!(t.blocks_of_batch(BatchTime(1_000)).records(), 0);
        assert_eq!(t.blocks_of_batch(BatchTime(2_000)).records(), 1);
    }
}
