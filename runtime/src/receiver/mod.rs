//! Receivers and their supervisor (Spark's `Receiver`, `ReceiverSupervisor` and
//! `BlockGenerator`).
//!
//! A [`Receiver`] is started by its supervisor, launches its work with
//! [`ReceiverContext::spawn`] and stores what it receives through the context. Records
//! stored one by one are buffered and cut into a [`Block`] every block interval (unreliable:
//! what is buffered when the process dies is lost); records stored with
//! [`ReceiverContext::store_block`] become a block at once, and the call returns only once
//! the block is stored, so a reliable receiver acknowledges its source after it. A receiver
//! asks to be restarted with [`ReceiverContext::restart`]: the supervisor stops it, waits the
//! restart delay and starts it again. Every store waits for the receiver's rate limit.

mod socket;

#[cfg(feature = "nats")]
pub mod nats;
#[cfg(feature = "redis")]
pub mod redis;

pub use socket::{LineFramer, SocketReceiver};

use crate::block::{Block, StreamId};
use crate::listener::{ListenerBus, ReceiverInfo, SkipReason, StreamingEvent};
use crate::rate::RateLimiter;
use crate::settings::Settings;
use crate::time::Clock;
use crate::tracker::ReceivedBlockTracker;
use crate::wal::WalError;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::{mpsc, watch};

/// A source of text records, written by a user or by Sluice (Spark's `Receiver`).
///
/// `on_start` launches the receiving work with [`ReceiverContext::spawn`] and returns at
/// once; the work stores records through the context and ends when
/// [`ReceiverContext::stopped`] resolves. `on_stop` releases whatever `on_start` acquired
/// outside those tasks. Both are called again on every restart.
pub trait Receiver: Send + 'static {
    /// How the receiver appears in events and messages.
    fn name(&self) -> String;
    fn on_start(&mut self, cx: &ReceiverContext);
    fn on_stop(&mut self) {}
}

#[derive(Default)]
struct Buffer {
    data: String,
    records: usize,
}

/// Buffers one receiver's records, cuts them into blocks, and paces them.
pub struct ReceiverSupervisor {
    stream: StreamId,
    name: String,
    max_record_bytes: usize,
    buffer: Mutex<Buffer>,
    next_block: AtomicU64,
    blocks: Arc<ReceivedBlockTracker>,
    bus: Arc<ListenerBus>,
    limiter: RateLimiter,
    tasks: Mutex<Vec<tokio::task::JoinHandle<()>>>,
    clock: Arc<dyn Clock>,
    /// Where in its source the last stored block ended (recovered from the log, then
    /// kept up to date).
    position: Mutex<Option<String>>,
}

/// Where a supervisor starts: the next block id and the recovered source position.
#[derive(Clone, Debug, Default)]
pub struct Resume {
    pub next_block: u64,
    pub position: Option<String>,
}

impl ReceiverSupervisor {
    pub fn new(
        stream: StreamId,
        name: String,
        settings: &Settings,
        blocks: Arc<ReceivedBlockTracker>,
        bus: Arc<ListenerBus>,
        clock: Arc<dyn Clock>,
        resume: Resume,
    ) -> Self {
        let initial = if settings.backpressure {
            settings.backpressure_initial_rate
        } else {
            0
        };
        ReceiverSupervisor {
            stream,
            name,
            max_record_bytes: settings.max_record_bytes,
            buffer: Mutex::new(Buffer::default()),
            next_block: AtomicU64::new(resume.next_block),
            blocks,
            bus,
            limiter: RateLimiter::new(settings.receiver_max_rate, initial),
            tasks: Mutex::new(Vec::new()),
            clock,
            position: Mutex::new(resume.position),
        }
    }

    pub fn stream(&self) -> StreamId {
        self.stream
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    /// The rate limit in force, records per second (0: none).
    pub fn rate_limit(&self) -> u64 {
        self.limiter.rate()
    }

    /// Takes a new rate from the rate controller.
    pub fn update_rate(&self, rate: u64) {
        self.limiter.update(rate);
    }

    fn info(&self, active: bool, last_error: Option<String>) -> ReceiverInfo {
        ReceiverInfo {
            stream: self.stream,
            name: self.name.clone(),
            active,
            last_error,
        }
    }

    fn post(&self, event: StreamingEvent) {
        self.bus.post(event);
    }

    fn buffer(&self) -> std::sync::MutexGuard<'_, Buffer> {
        self.buffer.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Appends `records` records given as text, each followed by `\n`.
    fn push(&self, text: &str, records: usize) {
        if records == 0 {
            return;
        }
        let mut b = self.buffer();
        b.data.push_str(text);
        b.records += records;
    }

    /// Hands a block to the tracker (through the write-ahead log when it is on); on a
    /// failure the block comes back with the error.
    fn add_block(
        &self,
        data: String,
        records: usize,
        position: Option<&str>,
    ) -> Result<(), (WalError, Block)> {
        let block = Block {
            stream: self.stream,
            id: self.next_block.fetch_add(1, Ordering::Relaxed),
            data,
            records,
        };
        self.blocks.add_block(block, self.clock.now_ms(), position)
    }

    /// Turns what is buffered into a block and reports it; does nothing when empty. If the
    /// block cannot be logged, its records go back to the front of the buffer (nothing is
    /// dropped) and the error is reported; the next cut tries again.
    pub fn cut_block(&self) {
        let taken = {
            let mut b = self.buffer();
            if b.records == 0 {
                return;
            }
            std::mem::take(&mut *b)
        };
        if let Err((e, block)) = self.add_block(taken.data, taken.records, None) {
            let mut b = self.buffer();
            let newer = std::mem::replace(&mut b.data, block.data);
            b.data.push_str(&newer);
            b.records += block.records;
            drop(b);
            self.post(StreamingEvent::ReceiverError(self.info(
                true,
                Some(format!("storing a block failed, will retry: {e}")),
            )));
        }
    }

    /// Cuts a block every `interval` on `clock` until stopped.
    pub(crate) async fn generate_blocks(
        self: Arc<Self>,
        clock: Arc<dyn Clock>,
        interval: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        let step = interval.as_millis().max(1) as u64;
        let mut next = (clock.now_ms() / step + 1) * step;
        loop {
            tokio::select! {
                _ = clock.wait_till(next) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            self.cut_block();
            next += step;
        }
    }

    /// Runs `receiver` until `stop`: starts it, and restarts it (after `restart_delay`)
    /// whenever it asks to be. Returns once every task it spawned has ended.
    pub(crate) async fn supervise(
        self: Arc<Self>,
        mut receiver: Box<dyn Receiver>,
        restart_delay: Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        loop {
            let (generation, stopped) = watch::channel(false);
            let (restart_tx, mut restart_rx) = mpsc::unbounded_channel();
            let cx = ReceiverContext {
                sup: self.clone(),
                stopped,
                restart: restart_tx,
            };
            receiver.on_start(&cx);
            drop(cx);
            self.post(StreamingEvent::ReceiverStarted(self.info(true, None)));
            let restart = tokio::select! {
                _ = stop.wait_for(|s| *s) => None,
                m = restart_rx.recv() => m,
            };
            if restart.is_none() && !*stop.borrow() {
                // Every task ended without asking for a restart: the source is exhausted.
                let _ = stop.wait_for(|s| *s).await;
            }
            generation.send_replace(true);
            receiver.on_stop();
            self.join_tasks().await;
            let Some(message) = restart else {
                return;
            };
            self.post(StreamingEvent::ReceiverError(
                self.info(false, Some(message)),
            ));
            tokio::select! {
                _ = tokio::time::sleep(restart_delay) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Waits for the tasks of the stopped generation; a task that ignores the stop for
    /// more than ten seconds is aborted.
    async fn join_tasks(&self) {
        let tasks = std::mem::take(&mut *self.tasks.lock().unwrap_or_else(|e| e.into_inner()));
        for mut t in tasks {
            if tokio::time::timeout(Duration::from_secs(10), &mut t)
                .await
                .is_err()
            {
                t.abort();
            }
        }
    }
}

/// What a running receiver stores through; cheap to clone into its tasks. One context
/// belongs to one start of the receiver: after a restart, the old one reports stopped.
#[derive(Clone)]
pub struct ReceiverContext {
    sup: Arc<ReceiverSupervisor>,
    stopped: watch::Receiver<bool>,
    restart: mpsc::UnboundedSender<String>,
}

/// What a receiver's work may fail with.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Why records were not stored: do not acknowledge them.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
pub enum StoreError {
    #[error("the receiver was stopped")]
    Stopped,
    #[error("the write-ahead log failed: {0}")]
    Log(String),
}

impl ReceiverContext {
    /// The input stream this receiver feeds.
    pub fn stream(&self) -> StreamId {
        self.sup.stream
    }

    /// Records longer than this many bytes are skipped and counted.
    pub fn max_record_bytes(&self) -> usize {
        self.sup.max_record_bytes
    }

    /// Runs `work` on the I/O runtime; the supervisor waits for it on stop and restart.
    pub fn spawn(&self, work: impl Future<Output = ()> + Send + 'static) {
        let task = tokio::runtime::Handle::current().spawn(work);
        self.sup
            .tasks
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(task);
    }

    /// Runs `work` like [`spawn`](ReceiverContext::spawn), dropping it when the receiver
    /// stops; if it fails, asks for a restart with `source` and the error as the message.
    pub fn spawn_fallible<E: std::fmt::Display>(
        &self,
        source: String,
        work: impl Future<Output = Result<(), E>> + Send + 'static,
    ) {
        let cx = self.clone();
        self.spawn(async move {
            let result = tokio::select! {
                r = work => r,
                _ = cx.stopped() => Ok(()),
            };
            if let Err(e) = result {
                cx.restart(format!("{source}: {e}; reconnecting"));
            }
        });
    }

    pub fn is_stopped(&self) -> bool {
        *self.stopped.borrow()
    }

    /// Resolves when the receiver is asked to stop (a stop or a restart).
    pub async fn stopped(&self) {
        let mut s = self.stopped.clone();
        let _ = s.wait_for(|s| *s).await;
    }

    /// Asks the supervisor to stop this receiver and start it again after the restart
    /// delay; `message` is reported as the receiver's error.
    pub fn restart(&self, message: impl Into<String>) {
        let _ = self.restart.send(message.into());
    }

    /// Reports a problem the receiver carries on through.
    pub fn report_error(&self, message: impl Into<String>) {
        self.sup.post(StreamingEvent::ReceiverError(
            self.sup.info(true, Some(message.into())),
        ));
    }

    /// Reports records dropped instead of stored, with why.
    pub fn report_skipped(&self, reason: SkipReason, count: u64) {
        if count > 0 {
            self.sup.post(StreamingEvent::RecordsSkipped {
                stream: self.sup.stream,
                reason,
                count,
            });
        }
    }

    /// Stores one record into the buffer the next block is cut from.
    pub async fn store(&self, record: &str) {
        self.store_many([record]).await;
    }

    /// Stores records into the buffer the next block is cut from. A record containing a
    /// line break or longer than `max_record_bytes` is skipped and reported.
    pub async fn store_many<'a>(&self, records: impl IntoIterator<Item = &'a str>) {
        let (text, n) = self.validate(records);
        self.pace(n).await;
        self.sup.push(&text, n);
    }

    /// Waits for the rate limit, but not past a stop: what was received is kept.
    async fn pace(&self, n: usize) {
        tokio::select! {
            _ = self.sup.limiter.acquire(n) => {}
            _ = self.stopped() => {}
        }
    }

    /// Stores records already framed as text, each followed by `\n` (the socket receiver's
    /// fast path: no copy per record).
    pub(crate) async fn store_framed(&self, text: &str, records: usize) {
        self.pace(records).await;
        self.sup.push(text, records);
    }

    /// Stores records as one block of their own and returns once the block is stored (in
    /// the write-ahead log, when it is on), so the caller may acknowledge them to its
    /// source. Skips as [`store_many`] does.
    ///
    /// [`store_many`]: ReceiverContext::store_many
    pub async fn store_block<'a>(
        &self,
        records: impl IntoIterator<Item = &'a str>,
    ) -> Result<(), StoreError> {
        self.store_block_at(records, None).await
    }

    /// [`store_block`](ReceiverContext::store_block), recording where in the source the
    /// block ends (an entry id, a sequence number), so that after a crash the receiver can
    /// tell, by [`last_position`](ReceiverContext::last_position), what it already stored.
    pub async fn store_block_at<'a>(
        &self,
        records: impl IntoIterator<Item = &'a str>,
        position: Option<&str>,
    ) -> Result<(), StoreError> {
        let (text, n) = self.validate(records);
        tokio::select! {
            _ = self.sup.limiter.acquire(n) => {}
            _ = self.stopped() => return Err(StoreError::Stopped),
        }
        if n == 0 {
            return Ok(());
        }
        self.sup
            .add_block(text, n, position)
            .map_err(|(e, _)| StoreError::Log(e.to_string()))?;
        if let Some(p) = position {
            *self.sup.position.lock().unwrap_or_else(|e| e.into_inner()) = Some(p.to_string());
        }
        Ok(())
    }

    /// The source position of the last block stored with one — in this run, or before a
    /// crash as the write-ahead log recovered it. A reliable receiver acknowledges
    /// redelivered records up to it without storing them again.
    pub fn last_position(&self) -> Option<String> {
        self.sup
            .position
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    fn validate<'a>(&self, records: impl IntoIterator<Item = &'a str>) -> (String, usize) {
        let (mut text, mut n, mut breaks, mut long) = (String::new(), 0, 0, 0);
        for r in records {
            if r.len() > self.sup.max_record_bytes {
                long += 1;
            } else if r.contains('\n') {
                breaks += 1;
            } else {
                text.push_str(r);
                text.push('\n');
                n += 1;
            }
        }
        self.report_skipped(SkipReason::LineBreak, breaks);
        self.report_skipped(SkipReason::TooLong, long);
        (text, n)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::BatchTime;

    fn supervisor(settings: &Settings) -> (Arc<ReceiverSupervisor>, Arc<ReceivedBlockTracker>) {
        let tracker = Arc::new(ReceivedBlockTracker::default());
        let sup = ReceiverSupervisor::new(
            3,
            "test".into(),
            settings,
            tracker.clone(),
            Arc::new(ListenerBus::default()),
            Arc::new(crate::SystemClock),
            Resume::default(),
        );
        (Arc::new(sup), tracker)
    }

    #[test]
    fn supervisor_cuts_blocks_only_when_something_is_buffered() {
        let (sup, tracker) = supervisor(&Settings::default());
        sup.cut_block();
        assert!(!tracker.has_unallocated_blocks());
        sup.push("a\nb\n", 2);
        sup.cut_block();
        sup.push("c\n", 1);
        sup.cut_block();
        tracker
            .allocate_blocks_to_batch(BatchTime(1), Default::default())
            .unwrap();
        let blocks = tracker.blocks_of_batch(BatchTime(1));
        let ids: Vec<u64> = blocks.of(3).iter().map(|b| b.id).collect();
        assert_eq!(ids, [0, 1]);
        assert_eq!(blocks.records(), 3);
    }

    /// Stores, restarts once when asked, and counts its starts and stops.
    struct Flaky {
        starts: Arc<AtomicU64>,
        stops: Arc<AtomicU64>,
    }

    impl Receiver for Flaky {
        fn name(&self) -> String {
            "flaky".into()
        }
        fn on_start(&mut self, cx: &ReceiverContext) {
            let first = self.starts.fetch_add(1, Ordering::SeqCst) == 0;
            let cx2 = cx.clone();
            cx.spawn(async move {
                if first {
                    cx2.store_many(["one", "two\nlines", "three"]).await;
                    cx2.restart("first start fails");
                } else {
                    cx2.store_block(["four", "five"]).await.unwrap();
                }
                cx2.stopped().await;
            });
        }
        fn on_stop(&mut self) {
            self.stops.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test]
    async fn a_restart_stops_and_starts_the_receiver_and_keeps_what_it_stored() {
        let (sup, tracker) = supervisor(&Settings::default());
        let events = Arc::new(crate::listener::tests::Collect::default());
        sup.bus.add(events.clone());
        let (starts, stops) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let flaky = Flaky {
            starts: starts.clone(),
            stops: stops.clone(),
        };
        let (stop_tx, stop_rx) = watch::channel(false);
        let task = tokio::spawn(sup.clone().supervise(
            Box::new(flaky),
            Duration::from_millis(10),
            stop_rx,
        ));
        while !tracker.has_unallocated_blocks() {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        stop_tx.send_replace(true);
        task.await.unwrap();
        sup.cut_block();
        assert_eq!(starts.load(Ordering::SeqCst), 2);
        assert_eq!(stops.load(Ordering::SeqCst), 2);
        tracker
            .allocate_blocks_to_batch(BatchTime(1), Default::default())
            .unwrap();
        let blocks = tracker.blocks_of_batch(BatchTime(1));
        let data: Vec<&str> = blocks.of(3).iter().map(|b| b.data.as_str()).collect();
        assert_eq!(data, ["four\nfive\n", "one\nthree\n"]);
        let ev = events.0.lock().unwrap();
        assert!(ev.contains(&StreamingEvent::RecordsSkipped {
            stream: 3,
            reason: SkipReason::LineBreak,
            count: 1
        }));
        assert!(ev
            .iter()
            .any(|e| matches!(e, StreamingEvent::ReceiverError(r)
            if r.last_error.as_deref() == Some("first start fails"))));
    }
}
