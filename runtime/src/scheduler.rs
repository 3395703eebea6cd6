//! Spark's `JobGenerator` (the batch clock) and `JobScheduler` (runs job sets in order).

use crate::checkpoint::{self, Checkpoint, OperatorState};
use crate::dstream::{BatchCx, Graph};
use crate::executor::Executor;
use crate::listener::{BatchInfo, ListenerBus, StreamingEvent};
use crate::settings::Settings;
use crate::time::{BatchTime, Clock};
use crate::tracker::ReceivedBlockTracker;
use std::sync::{mpsc, Arc, Condvar, Mutex};
use tokio::sync::watch;

/// The jobs of one batch: one per output operation, run in definition order.
#[derive(Debug)]
pub(crate) struct JobSet {
    pub info: BatchInfo,
}

/// How the context ended, for `await_termination`.
#[derive(Clone, Debug, PartialEq)]
pub enum Termination {
    Running,
    Stopped,
    Failed(String),
}

/// Shared between the scheduler and whoever awaits termination.
#[derive(Default)]
pub(crate) struct TerminationSignal {
    state: Mutex<Option<Termination>>,
    changed: Condvar,
}

impl TerminationSignal {
    pub fn set(&self, t: Termination) {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        // A failure is never overwritten by a later plain stop.
        if !matches!(*s, Some(Termination::Failed(_))) {
            *s = Some(t);
        }
        self.changed.notify_all();
    }

    pub fn get(&self) -> Termination {
        self.state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            .unwrap_or(Termination::Running)
    }

    /// Waits until the context fails or stops, or `timeout` passes.
    pub fn wait(&self, timeout: Option<std::time::Duration>) -> Termination {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(t) = s.clone() {
                return t;
            }
            match deadline {
                None => s = self.changed.wait(s).unwrap_or_else(|e| e.into_inner()),
                Some(d) => {
                    let now = std::time::Instant::now();
                    if now >= d {
                        return Termination::Running;
                    }
                    s = self
                        .changed
                        .wait_timeout(s, d - now)
                        .unwrap_or_else(|e| e.into_inner())
                        .0;
                }
            }
        }
    }
}

/// Everything the scheduler thread needs.
pub(crate) struct JobScheduler {
    pub graph: Arc<Graph>,
    pub exec: Arc<Executor>,
    pub settings: Settings,
    pub blocks: Arc<ReceivedBlockTracker>,
    pub bus: Arc<ListenerBus>,
    pub clock: Arc<dyn Clock>,
    pub termination: Arc<TerminationSignal>,
    /// The time of the last batch whose jobs all finished.
    pub completed: watch::Sender<Option<BatchTime>>,
    /// The zero time: one interval before the first batch the pipeline ever ran.
    pub zero_ms: u64,
}

impl JobScheduler {
    /// Runs job sets in the order they arrive (which is time order) until the sender hangs up.
    pub fn run(self, jobs: mpsc::Receiver<JobSet>) {
        for set in jobs {
            self.run_job_set(set.info);
        }
    }

    fn run_job_set(&self, mut info: BatchInfo) {
        let t = info.batch_time;
        let blocks = self.blocks.blocks_of_batch(t);
        info.processing_start = Some(self.clock.now_ms());
        self.bus.post(StreamingEvent::BatchStarted(info.clone()));
        let cx = BatchCx {
            time: t,
            blocks,
            tracker: &self.blocks,
            exec: &self.exec,
            settings: &self.settings,
            zero: BatchTime(self.zero_ms),
            remember_ms: self
                .graph
                .remember_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        };
        let outputs = self.graph.outputs.lock().unwrap_or_else(|e| e.into_inner());
        for op in outputs.iter() {
            if op
                .slide_ms
                .is_some_and(|slide| !(t.0 - cx.zero.0).is_multiple_of(slide))
            {
                continue;
            }
            let run = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (op.run)(&cx)));
            let failure = match run {
                Ok(Ok(())) => None,
                Ok(Err(e)) => Some(e),
                Err(panic) => Some(panic_message(&*panic)),
            };
            if let Some(e) = failure {
                let message = format!("output operation {} failed for batch {t}: {e}", op.name);
                info.failure = Some(message.clone());
                self.termination.set(Termination::Failed(message));
                break;
            }
        }
        drop(outputs);
        info.processing_end = Some(self.clock.now_ms());
        self.bus.post(StreamingEvent::BatchCompleted(info.clone()));
        if info.failure.is_none() {
            // Without a checkpoint of this batch's state, the logged batches since the last
            // one must stay: a restart runs them again on the older state.
            let checkpointed = self.write_checkpoint(t);
            if let Err(e) = &checkpointed {
                self.bus.post(StreamingEvent::Warning(format!(
                    "batch {t}: writing the checkpoint failed: {e}"
                )));
            }
            // Failing to log these only means a restart runs the batch again.
            let logged = self
                .blocks
                .batch_completed(t)
                .and_then(|()| match checkpointed {
                    Ok(()) => self
                        .blocks
                        .cleanup_old_batches(BatchTime(t.0.saturating_sub(cx.remember_ms))),
                    Err(_) => Ok(()),
                });
            if let Err(e) = logged {
                self.bus.post(StreamingEvent::Warning(format!(
                    "batch {t}: the write-ahead log failed after the batch completed: {e}"
                )));
            }
            self.completed.send_replace(Some(t));
        }
    }
}

impl JobScheduler {
    /// Checkpoints every stateful operator's state after batch `t`, when there are any and
    /// a checkpoint directory is set.
    fn write_checkpoint(&self, t: BatchTime) -> Result<(), String> {
        let Some(dir) = &self.settings.checkpoint_dir else {
            return Ok(());
        };
        let ops = self
            .graph
            .stateful
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        if ops.is_empty() {
            return Ok(());
        }
        let operators = ops
            .iter()
            .map(|(id, node)| {
                let (time, bytes) = node
                    .snapshot()
                    .map_or((0, Vec::new()), |(time, bytes)| (time.0, bytes));
                OperatorState {
                    id: id.clone(),
                    state_type: node.state_type(),
                    time,
                    bytes,
                }
            })
            .collect();
        let cp = Checkpoint {
            time: t.0,
            batch_ms: self.settings.batch_interval.as_millis() as u64,
            operators,
        };
        checkpoint::write(dir, &cp)
            .map(|_| ())
            .map_err(|e| e.to_string())
    }
}

fn panic_message(p: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = p.downcast_ref::<&str>() {
        format!("panicked: {s}")
    } else if let Some(s) = p.downcast_ref::<String>() {
        format!("panicked: {s}")
    } else {
        "panicked".to_string()
    }
}

/// The batch clock: every batch interval, allocate the received blocks to the batch and
/// submit its job set.
pub(crate) struct JobGenerator {
    pub clock: Arc<dyn Clock>,
    pub interval_ms: u64,
    pub blocks: Arc<ReceivedBlockTracker>,
    pub bus: Arc<ListenerBus>,
    pub jobs: mpsc::Sender<JobSet>,
}

/// What the context tells the generator while it runs.
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) enum GeneratorControl {
    Run,
    /// Generate batches until one at or after this time has taken every received block.
    DrainUntil(u64),
    /// Stop at once.
    Stop,
}

impl JobGenerator {
    /// The first batch time: the next multiple of the interval after now (Spark's
    /// `RecurringTimer.getStartTime`).
    pub fn first_batch_time(clock: &dyn Clock, interval_ms: u64) -> u64 {
        (clock.now_ms() / interval_ms + 1) * interval_ms
    }

    /// Submits the `pending` batches a restart recovered, then runs from batch time
    /// `first` ([`Self::first_batch_time`], read when the context starts, so the first
    /// batch does not depend on when this task is first polled).
    pub async fn run(
        self,
        pending: Vec<BatchTime>,
        first: u64,
        mut control: watch::Receiver<GeneratorControl>,
    ) {
        for t in pending {
            self.generate(t);
        }
        let mut t = first;
        loop {
            tokio::select! {
                _ = self.clock.wait_till(t) => {}
                _ = control.wait_for(|c| *c == GeneratorControl::Stop) => return,
            }
            self.generate(BatchTime(t));
            if let GeneratorControl::DrainUntil(until) = *control.borrow() {
                if t >= until && !self.blocks.has_unallocated_blocks() {
                    return;
                }
            }
            t += self.interval_ms;
        }
    }

    fn generate(&self, t: BatchTime) {
        if let Err(e) = self.blocks.allocate_blocks_to_batch(t) {
            self.bus.post(StreamingEvent::Warning(format!(
                "batch {t}: received blocks wait for a later batch, as the write-ahead log failed: {e}"
            )));
        }
        let blocks = self.blocks.blocks_of_batch(t);
        let info = BatchInfo {
            batch_time: t,
            records: blocks.records(),
            stream_records: blocks.stream_records(),
            submission_time: self.clock.now_ms(),
            processing_start: None,
            processing_end: None,
            failure: None,
        };
        self.bus.post(StreamingEvent::BatchSubmitted(info.clone()));
        // The scheduler outlives the generator; a send can only fail during teardown.
        let _ = self.jobs.send(JobSet { info });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::block::Block;
    use crate::listener::StreamingListener;
    use crate::time::ManualClock;

    #[derive(Default)]
    struct Events(Mutex<Vec<StreamingEvent>>);
    impl StreamingListener for Events {
        fn on_event(&self, e: &StreamingEvent) {
            self.0.lock().unwrap().push(e.clone());
        }
    }

    #[tokio::test]
    async fn generator_emits_aligned_batches_on_the_manual_clock_and_allocates_blocks() {
        let clock = Arc::new(ManualClock::new(10_250));
        let blocks = Arc::new(ReceivedBlockTracker::default());
        let bus = Arc::new(ListenerBus::default());
        let events = Arc::new(Events::default());
        bus.add(events.clone());
        let (tx, rx) = mpsc::channel();
        let gen = JobGenerator {
            clock: clock.clone(),
            interval_ms: 500,
            blocks: blocks.clone(),
            bus,
            jobs: tx,
        };
        let (ctl, ctl_rx) = watch::channel(GeneratorControl::Run);
        let first = JobGenerator::first_batch_time(&*clock, 500);
        let task = tokio::spawn(gen.run(Vec::new(), first, ctl_rx));
        blocks
            .add_block(
                Block {
                    stream: 0,
                    id: 0,
                    data: "x\ny\n".into(),
                    records: 2,
                },
                0,
                None,
            )
            .unwrap();
        clock.advance(250);
        let first = tokio::task::spawn_blocking(move || {
            let a = rx.recv().unwrap();
            (a, rx)
        })
        .await
        .unwrap();
        assert_eq!(first.0.info.batch_time, BatchTime(10_500));
        assert_eq!(first.0.info.records, 2);
        clock.advance(500);
        let rx = first.1;
        let second = tokio::task::spawn_blocking(move || rx.recv().unwrap())
            .await
            .unwrap();
        assert_eq!(second.info.batch_time, BatchTime(11_000));
        assert_eq!(second.info.records, 0);
        ctl.send_replace(GeneratorControl::Stop);
        task.await.unwrap();
        let submitted = events
            .0
            .lock()
            .unwrap()
            .iter()
            .filter(|e| matches!(e, StreamingEvent::BatchSubmitted(_)))
            .count();
        assert_eq!(submitted, 2);
    }

    #[test]
    fn termination_keeps_the_first_failure() {
        let t = TerminationSignal::default();
        assert_eq!(
            t.wait(Some(std::time::Duration::from_millis(1))),
            Termination::Running
        );
        t.set(Termination::Failed("boom".into()));
        t.set(Termination::Stopped);
        assert_eq!(t.get(), Termination::Failed("boom".into()));
    }
}
