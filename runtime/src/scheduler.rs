//! Spark's `JobGenerator` (the batch clock) and `JobScheduler` (runs job sets in order).

use crate::block::Block;
use crate::checkpoint;
use crate::direct::{self, DirectId, DirectSource, OffsetRange, Offsets};
use crate::dstream::{BatchCx, Graph, OutputFailure};
use crate::executor::Executor;
use crate::listener::{BatchInfo, ListenerBus, OutputOperationInfo, StreamingEvent};
use crate::lock;
use crate::settings::{BatchFailure, Settings};
use crate::time::{BatchTime, Clock};
use crate::tracker::{AllocatedBlocks, ReceivedBlockTracker};
use std::collections::BTreeMap;
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
    /// Set when `stop` begins: retries give up, so the batch stays incomplete.
    stopping: std::sync::atomic::AtomicBool,
}

impl TerminationSignal {
    pub fn request_stop(&self) {
        let _s = lock(&self.state);
        self.stopping
            .store(true, std::sync::atomic::Ordering::SeqCst);
        self.changed.notify_all();
    }

    pub fn stopping(&self) -> bool {
        self.stopping.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Sleeps `d`, or less if a stop is requested meanwhile; true if it was.
    pub fn sleep_unless_stopping(&self, d: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + d;
        let mut s = lock(&self.state);
        loop {
            if self.stopping() {
                return true;
            }
            let now = std::time::Instant::now();
            if now >= deadline {
                return false;
            }
            s = self
                .changed
                .wait_timeout(s, deadline - now)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    pub fn set(&self, t: Termination) {
        let mut s = lock(&self.state);
        // A failure is never overwritten by a later plain stop.
        if !matches!(*s, Some(Termination::Failed(_))) {
            *s = Some(t);
        }
        self.changed.notify_all();
    }

    pub fn get(&self) -> Termination {
        lock(&self.state).clone().unwrap_or(Termination::Running)
    }

    /// Waits until the context fails or stops, or `timeout` passes.
    pub fn wait(&self, timeout: Option<std::time::Duration>) -> Termination {
        let deadline = timeout.map(|t| std::time::Instant::now() + t);
        let mut s = lock(&self.state);
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
    /// The direct sources, by id.
    pub direct: Arc<[Arc<dyn DirectSource>]>,
    /// Where direct sources' fetches run.
    pub io: tokio::runtime::Handle,
    /// The batches running now.
    pub in_flight: Mutex<std::collections::BTreeSet<BatchTime>>,
    /// The batches skipped as failed: kept in the log for a restart.
    pub skipped: Mutex<std::collections::BTreeSet<BatchTime>>,
    /// In a cluster: the driver's side of it.
    pub cluster: Option<crate::cluster::Driver>,
}

/// The first wait before a failed step of a batch is tried again; it doubles per attempt.
const RETRY_FIRST: std::time::Duration = std::time::Duration::from_millis(100);
/// The longest wait between two attempts.
const RETRY_MAX: std::time::Duration = std::time::Duration::from_secs(5);

impl JobScheduler {
    /// Runs job sets in the order they arrive (which is time order) until the sender hangs
    /// up, `settings.concurrent_jobs` at a time (Spark's `concurrentJobs`, default 1).
    /// Once a batch is given up (a stop during its retries, or a failure), no later batch
    /// starts: with one job at a time, none overtakes it.
    pub fn run(self, jobs: mpsc::Receiver<JobSet>) {
        let given_up = std::sync::atomic::AtomicBool::new(false);
        let jobs = Mutex::new(jobs);
        let work = || loop {
            let next = lock(&jobs).recv();
            let Ok(set) = next else { return };
            if !given_up.load(std::sync::atomic::Ordering::SeqCst) && !self.run_job_set(set.info) {
                given_up.store(true, std::sync::atomic::Ordering::SeqCst);
            }
        };
        std::thread::scope(|scope| {
            for _ in 1..self.settings.concurrent_jobs.max(1) {
                scope.spawn(work);
            }
            work();
        });
        if let Some(driver) = &self.cluster {
            driver.stop();
        }
    }

    /// Runs `step` until it succeeds, waiting [`RETRY_FIRST`], twice that, … up to
    /// [`RETRY_MAX`] between attempts and posting each failure. Gives up with the last
    /// error once `settings.batch_retries` attempts failed or the context is stopping.
    fn with_retries(
        &self,
        t: BatchTime,
        what: &str,
        mut step: impl FnMut() -> Result<(), String>,
    ) -> Result<(), String> {
        let mut delay = RETRY_FIRST;
        let mut attempt = 0u32;
        loop {
            let error = match step() {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            attempt += 1;
            if self.settings.batch_retries.is_some_and(|n| attempt > n)
                || self.termination.stopping()
            {
                return Err(error);
            }
            self.bus.post(StreamingEvent::BatchRetrying {
                batch: t,
                what: what.to_string(),
                attempt,
                error: error.clone(),
                delay_ms: delay.as_millis() as u64,
            });
            if self.termination.sleep_unless_stopping(delay) {
                return Err(error);
            }
            delay = (delay * 2).min(RETRY_MAX);
        }
    }

    /// Fetches the offset ranges of batch `t` from the direct sources (once: a batch read
    /// before, for a window, keeps its records) and keeps them with the batch.
    fn fetch_direct(&self, t: BatchTime, blocks: &mut AllocatedBlocks) -> Result<(), String> {
        for (&id, ranges) in &blocks.ranges {
            if blocks.fetched.contains_key(&id) {
                continue;
            }
            let source = self.direct[id].clone();
            let mut fetched = Vec::new();
            self.with_retries(t, &format!("reading {}", source.name()), || {
                let owns = |j: usize| self.cluster.as_ref().is_none_or(|d| d.link().owns(j));
                fetched = self
                    .io
                    .block_on(fetch_ranges(source.clone(), id, ranges, owns))?;
                Ok(())
            })
            .map_err(|e| format!("reading {}: {e}", source.name()))?;
            for (b, skipped) in &fetched {
                if *skipped > 0 {
                    self.bus.post(StreamingEvent::Warning(format!(
                        "batch {t}: {}: partition {}: skipped {skipped} record(s): {}",
                        source.name(),
                        b.id,
                        crate::listener::SkipReason::InvalidUtf8
                    )));
                }
            }
            let fetched: Vec<Arc<Block>> = fetched.into_iter().map(|(b, _)| b).collect();
            blocks.fetched.insert(id, fetched.clone());
            self.blocks.set_fetched(t, id, fetched);
        }
        Ok(())
    }

    /// Fetches the direct ranges of the earlier batches a window of batch `t` may look
    /// back at, when they were not fetched (a restart forgets what it had fetched; the log
    /// keeps the ranges), so a window is whole after a restart too.
    fn fetch_remembered(&self, t: BatchTime) -> Result<(), String> {
        let remember = self
            .graph
            .remember_ms
            .load(std::sync::atomic::Ordering::Relaxed);
        let from = BatchTime(t.0.saturating_sub(remember));
        for earlier in self
            .blocks
            .unfetched(from, BatchTime(t.0.saturating_sub(1)))
        {
            let mut blocks = self.blocks.blocks_of_batch(earlier);
            self.fetch_direct(earlier, &mut blocks)?;
        }
        Ok(())
    }

    /// Runs batch `t`'s output operations; false if the batch was given up.
    fn run_job_set(&self, info: BatchInfo) -> bool {
        let t = info.batch_time;
        lock(&self.in_flight).insert(t);
        let done = self.run_batch(info);
        lock(&self.in_flight).remove(&t);
        done
    }

    /// The batch a cleanup after batch `t` must keep: the oldest other batch still
    /// running (with concurrent jobs) or skipped as failed, whose input a restart needs.
    fn oldest_running(&self, t: BatchTime) -> Option<BatchTime> {
        let running = lock(&self.in_flight).iter().find(|b| **b != t).copied();
        let skipped = lock(&self.skipped).first().copied();
        running.into_iter().chain(skipped).min()
    }

    fn run_batch(&self, mut info: BatchInfo) -> bool {
        let t = info.batch_time;
        let mut blocks = self.blocks.blocks_of_batch(t);
        info.processing_start = Some(self.clock.now_ms());
        self.bus.post(StreamingEvent::BatchStarted(info.clone()));
        if let Err(e) = self
            .fetch_remembered(t)
            .and_then(|()| self.fetch_direct(t, &mut blocks))
        {
            return self.give_up(info, e);
        }
        let cx = BatchCx {
            time: t,
            blocks,
            tracker: &*self.blocks,
            exec: &self.exec,
            bus: &self.bus,
            settings: &self.settings,
            zero: BatchTime(self.zero_ms),
            remember_ms: self
                .graph
                .remember_ms
                .load(std::sync::atomic::Ordering::Relaxed),
            cluster: self.cluster.as_ref().map(|d| d.link()),
        };
        if let Some(driver) = &self.cluster {
            driver.announce(&cx);
        }
        let outputs = lock(&self.graph.outputs).clone();
        let mut failed = None;
        for (id, op) in outputs.iter().enumerate() {
            if !op.due(t, cx.zero) {
                continue;
            }
            let mut op_info = OutputOperationInfo {
                batch_time: t,
                id,
                name: op.name.clone(),
                start: self.clock.now_ms(),
                end: None,
                failure: None,
            };
            self.bus
                .post(StreamingEvent::OutputOperationStarted(op_info.clone()));
            // A partition task that fails runs again from its inputs, up to
            // `task_max_failures` attempts (the executor's business). Past that, an error
            // (a sink or a file system that fails) fails the operation, which is tried
            // again later until it succeeds; a panic (a bug, bad data), or one on the
            // driver's side of the operation, fails the batch.
            let mut panicked = None;
            let mut run = || match op.run_caught(&cx) {
                Ok(()) => Ok(()),
                Err(OutputFailure::Error(e)) => Err(e),
                Err(OutputFailure::Panic(message)) => {
                    panicked = Some(message);
                    Ok(())
                }
            };
            // In a cluster every worker runs the operation in step with the others: one
            // that failed cannot run it again alone, so the batch fails (and the cluster
            // restarts from the log).
            let ran = if self.cluster.is_some() {
                run()
            } else {
                self.with_retries(t, &format!("output operation {}", op.name), run)
            };
            let is_panic = panicked.is_some();
            let outcome = panicked.map(Err).unwrap_or(ran);
            op_info.end = Some(self.clock.now_ms());
            op_info.failure = outcome.as_ref().err().cloned();
            self.bus
                .post(StreamingEvent::OutputOperationCompleted(op_info));
            if let Err(e) = outcome {
                let message = format!("output operation {} failed for batch {t}: {e}", op.name);
                failed = Some((message, is_panic));
                break;
            }
        }
        if let Some((message, is_panic)) = failed {
            if is_panic && self.skips_failed_batches() && self.cluster.is_none() {
                return self.skip(info, message);
            }
            return self.give_up(info, message);
        }
        info.processing_end = Some(self.clock.now_ms());
        self.bus.post(StreamingEvent::BatchCompleted(info.clone()));
        {
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
                    Ok(()) => {
                        let mut before = BatchTime(t.0.saturating_sub(cx.remember_ms));
                        if let Some(running) = self.oldest_running(t) {
                            before = before.min(running);
                        }
                        self.blocks.cleanup_old_batches(before)
                    }
                    Err(_) => Ok(()),
                });
            if let Err(e) = logged {
                self.bus.post(StreamingEvent::Warning(format!(
                    "batch {t}: the write-ahead log failed after the batch completed: {e}"
                )));
            }
            // With concurrent jobs batches may finish out of order: the latest stays.
            self.completed.send_if_modified(|c| {
                let later = c.is_none_or(|c| c < t);
                if later {
                    *c = Some(t);
                }
                later
            });
        }
        true
    }

    /// Whether a batch whose output keeps panicking is skipped rather than stopping the
    /// pipeline: by the policy setting, and never with state, which must see every batch.
    fn skips_failed_batches(&self) -> bool {
        self.settings.on_batch_failure == BatchFailure::Skip
            && lock(&self.graph.stateful).is_empty()
    }

    /// Tells the listener that batch `info` ended now, failed with `message`.
    fn report_failed(&self, mut info: BatchInfo, message: &str) {
        info.processing_end = Some(self.clock.now_ms());
        info.failure = Some(message.to_string());
        self.bus.post(StreamingEvent::BatchCompleted(info));
    }

    /// Skips batch `info`, failed: reported, not marked complete and kept in the log (no
    /// cleanup passes it), so a restart runs it again; later batches go on.
    fn skip(&self, info: BatchInfo, message: String) -> bool {
        let t = info.batch_time;
        lock(&self.skipped).insert(t);
        self.report_failed(info, &message);
        self.bus.post(StreamingEvent::Warning(format!(
            "batch {t} skipped: {message}; it stays in the log, and a restart runs it again"
        )));
        true
    }

    /// Ends batch `info` as failed: it is not marked complete, so a restart runs it again.
    /// A stop during its retries only stops the pipeline; any other failure fails it.
    fn give_up(&self, info: BatchInfo, message: String) -> bool {
        self.report_failed(info, &message);
        if !self.termination.stopping() {
            self.termination.set(Termination::Failed(message));
        }
        false
    }
}

/// Reads `ranges` of one direct source, all partitions at once: a block per non-empty
/// range, in range order (the partitions of the batch's input), with how many of its
/// records were skipped as not UTF-8. In a cluster only the partitions this worker `owns`
/// (by their index) are read; the others' are empty blocks here.
pub(crate) async fn fetch_ranges(
    source: Arc<dyn DirectSource>,
    id: DirectId,
    ranges: &[OffsetRange],
    owns: impl Fn(usize) -> bool,
) -> Result<Vec<(Arc<Block>, u64)>, String> {
    let mut tasks = tokio::task::JoinSet::new();
    let mut blocks = Vec::new();
    let non_empty = ranges.iter().copied().filter(|r| r.count() > 0);
    for (i, range) in non_empty.enumerate() {
        if !owns(i) {
            let elsewhere = direct::to_block(id, &range, Vec::new()).0;
            blocks.push((i, Arc::new(elsewhere), 0));
            continue;
        }
        let source = source.clone();
        tasks.spawn(async move { (i, range, source.fetch(range).await) });
    }
    while let Some(done) = tasks.join_next().await {
        let (i, range, values) = done.map_err(|e| e.to_string())?;
        let values = values.map_err(|e| {
            format!(
                "partition {} offsets {}..{}: {e}",
                range.partition, range.from, range.until
            )
        })?;
        let (block, skipped) = direct::to_block(id, &range, values);
        blocks.push((i, Arc::new(block), skipped));
    }
    blocks.sort_by_key(|(i, _, _)| *i);
    Ok(blocks.into_iter().map(|(_, b, s)| (b, s)).collect())
}

impl JobScheduler {
    /// Checkpoints every stateful operator's state after batch `t`, when there are any and
    /// a checkpoint directory is set.
    fn write_checkpoint(&self, t: BatchTime) -> Result<(), String> {
        let Some(dir) = &self.settings.checkpoint_dir else {
            return Ok(());
        };
        let ops = lock(&self.graph.stateful).clone();
        if ops.is_empty() {
            return Ok(());
        }
        if let Some(driver) = &self.cluster {
            // The checkpoint of `t` is whole once every worker's share of it is durable.
            driver.snapshots_written(t)?;
        }
        let cp = checkpoint::take(t.0, self.settings.batch_interval.as_millis() as u64, &ops);
        crate::failpoint::crash_point!("checkpoint.before");
        checkpoint::write(dir, &cp).map_err(|e| e.to_string())?;
        crate::failpoint::crash_point!("checkpoint.after");
        Ok(())
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
    /// The direct sources, by id.
    pub direct: Arc<[Arc<dyn DirectSource>]>,
    /// `maxRatePerPartition` and the batch interval, for the direct sources' ranges.
    pub limit: direct::RateLimit,
    /// Backpressure's latest rate per direct source.
    pub rates: Arc<crate::rate::DirectRates>,
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
            self.generate(t).await;
        }
        let mut t = first;
        loop {
            tokio::select! {
                _ = self.clock.wait_till(t) => {}
                _ = control.wait_for(|c| *c == GeneratorControl::Stop) => return,
            }
            self.generate(BatchTime(t)).await;
            if let GeneratorControl::DrainUntil(until) = *control.borrow() {
                if t >= until && !self.blocks.has_unallocated_blocks() {
                    return;
                }
            }
            t += self.interval_ms;
        }
    }

    /// The offset ranges batch `t` reads from each direct source. A source that cannot be
    /// asked gets no range this batch (a warning says why); the next batch reads on from
    /// where the last range ended.
    async fn plan_direct(&self, t: BatchTime) -> BTreeMap<DirectId, Vec<OffsetRange>> {
        let mut planned = BTreeMap::new();
        for (id, source) in self.direct.iter().enumerate() {
            let next = self.blocks.next_offsets(id);
            let ranges = async {
                let ends = source.end_offsets().await?;
                let known = |n: &Offsets| ends.keys().all(|p| n.contains_key(p));
                let start = match &next {
                    Some(n) if known(n) => Offsets::new(),
                    _ => source.start_offsets().await?,
                };
                let limit = direct::RateLimit {
                    estimated: self.rates.get(id),
                    ..self.limit
                };
                direct::plan(next.as_ref(), &start, &ends, &limit)
                    .map_err(crate::receiver::BoxError::from)
            };
            match ranges.await {
                Ok(r) => {
                    planned.insert(id, r);
                }
                Err(e) => self.bus.post(StreamingEvent::Warning(format!(
                    "batch {t}: {}: no records this batch: {e}",
                    source.name()
                ))),
            }
        }
        planned
    }

    async fn generate(&self, t: BatchTime) {
        // A batch recovered from the log keeps its logged ranges (the allocation below is
        // then ignored): plan only new batches.
        let ranges = if self.blocks.is_allocated(t) {
            BTreeMap::new()
        } else {
            self.plan_direct(t).await
        };
        if let Err(e) = self.blocks.allocate_blocks_to_batch(t, ranges) {
            self.bus.post(StreamingEvent::Warning(format!(
                "batch {t}: received blocks wait for a later batch, as the write-ahead log failed: {e}"
            )));
        }
        let blocks = self.blocks.blocks_of_batch(t);
        let info = BatchInfo {
            batch_time: t,
            records: blocks.records(),
            stream_records: blocks.stream_records(),
            direct_records: blocks.direct_records(),
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
            direct: Arc::new([]),
            limit: direct::RateLimit::default(),
            rates: Arc::default(),
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
