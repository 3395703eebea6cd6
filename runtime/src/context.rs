//! `StreamingContext`: owns the graph, the settings and the running parts; `start`,
//! `await_termination`, graceful `stop`.

use crate::checkpoint;
use crate::direct::DirectSource;
use crate::dstream::{DStream, DirectInput, Graph, QueueInput, ReceiverInput, Stateful};
use crate::error::{Error, Result};
use crate::executor::Executor;
use crate::listener::{ListenerBus, StreamingListener};
use crate::lock;
use crate::rate::{DirectRates, RateController, RateTarget};
use crate::receiver::{Receiver, SocketReceiver};
use crate::recovery::{self, Metadata, Replayed};
use crate::scheduler::{
    GeneratorControl, JobGenerator, JobScheduler, Termination, TerminationSignal,
};
use crate::settings::Settings;
use crate::time::{BatchTime, Clock, SystemClock};
use crate::tracker::{RateSinks, ReceivedBlockTracker, ReceiverTracker};
use crate::wal::{FsyncPolicy, WalConfig};
use std::sync::{mpsc, Arc, Mutex};
use tokio::sync::watch;

/// A pipeline as generated code describes it: its settings and how to build its graph.
#[derive(Clone, Copy)]
pub struct Pipeline {
    pub name: &'static str,
    pub settings: fn() -> Settings,
    pub build: fn(&mut StreamingContext) -> Result<()>,
    /// The graph as a mermaid flowchart, as `sluice graph` prints it (the status page
    /// draws it).
    pub graph: &'static str,
}

impl Pipeline {
    /// A context with this pipeline's graph, built on `settings` (named after the
    /// pipeline); with a checkpoint directory, through [`StreamingContext::get_or_create`].
    pub fn context(&self, settings: Settings) -> Result<StreamingContext> {
        let settings = Settings {
            app_name: self.name.to_string(),
            ..settings
        };
        match settings.checkpoint_dir.clone() {
            Some(dir) => StreamingContext::get_or_create(dir, settings, self.build),
            None => {
                let mut ssc = StreamingContext::new(settings)?;
                (self.build)(&mut ssc)?;
                Ok(ssc)
            }
        }
    }
}

struct Running {
    receivers: Arc<ReceiverTracker>,
    generator: tokio::task::JoinHandle<()>,
    control: watch::Sender<GeneratorControl>,
    scheduler: std::thread::JoinHandle<()>,
    completed: watch::Receiver<Option<BatchTime>>,
}

/// The entry point of a streaming pipeline (Spark's `StreamingContext`).
pub struct StreamingContext {
    settings: Settings,
    clock: Arc<dyn Clock>,
    rt: tokio::runtime::Runtime,
    exec: Arc<Executor>,
    graph: Arc<Graph>,
    inputs: Vec<Box<dyn Receiver>>,
    direct: Vec<Arc<dyn DirectSource>>,
    bus: Arc<ListenerBus>,
    blocks: Arc<ReceivedBlockTracker>,
    termination: Arc<TerminationSignal>,
    running: Option<Running>,
    /// The status page's store, once asked for.
    status: Option<Arc<crate::status::StatusStore>>,
    /// In a cluster: worker 0's link, which makes this context the driver.
    cluster: Option<crate::cluster::Link>,
    /// The batch whose checkpointed state a start restored.
    resumed: Option<u64>,
}

impl StreamingContext {
    pub fn new(settings: Settings) -> Result<Self> {
        Self::with_clock(settings, Arc::new(SystemClock))
    }

    /// A context reading time from `clock` (a `ManualClock` in tests).
    pub fn with_clock(settings: Settings, clock: Arc<dyn Clock>) -> Result<Self> {
        if settings.batch_interval.as_millis() == 0 {
            return Err(Error::Settings(
                "the batch interval must be at least 1ms".into(),
            ));
        }
        let batch_ms = settings.batch_interval.as_millis() as u64;
        let remember_ms = settings.remember.as_millis() as u64;
        let rt = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .thread_name("sluice-io")
            .enable_all()
            .build()?;
        Ok(StreamingContext {
            exec: Arc::new(Executor::local(&settings)?),
            settings,
            clock,
            rt,
            graph: Arc::new(Graph::new(batch_ms, remember_ms)),
            inputs: Vec::new(),
            direct: Vec::new(),
            bus: Arc::new(ListenerBus::default()),
            blocks: Arc::new(ReceivedBlockTracker::default()),
            termination: Arc::new(TerminationSignal::default()),
            running: None,
            status: None,
            cluster: None,
            resumed: None,
        })
    }

    /// Spark's `StreamingContext.getOrCreate`: a context that resumes from the checkpoint
    /// in `dir` when there is one, and starts afresh otherwise. Spark rebuilds the graph
    /// from the checkpoint and calls its function only when there is none; Sluice always
    /// builds the graph with `build` — the code is the graph — and checks it against the
    /// checkpoint here, before anything starts: the same batch interval, operator ids and
    /// state types resume; anything else is refused with an error naming what changed.
    pub fn get_or_create(
        dir: impl Into<std::path::PathBuf>,
        settings: Settings,
        build: impl FnOnce(&mut StreamingContext) -> Result<()>,
    ) -> Result<StreamingContext> {
        let dir = dir.into();
        let mut ssc = StreamingContext::new(Settings {
            checkpoint_dir: Some(dir.clone()),
            ..settings
        })?;
        build(&mut ssc)?;
        ssc.metadata_fits(&dir)?;
        ssc.fitting_checkpoint(&dir)?;
        Ok(ssc)
    }

    /// The zero time and interval recorded in `dir`, if any, after checking the interval
    /// is this pipeline's.
    /// State is kept per worker, each worker with its own keys: a checkpoint resumes only
    /// on as many workers as wrote it (`dir/workers`; 1 when absent). Writes the count for
    /// this run.
    fn workers_fit(&self, dir: &std::path::Path) -> Result<()> {
        if self.stateful().is_empty() {
            return Ok(());
        }
        let peers = self.cluster.as_ref().map_or(1, |c| c.peers());
        let path = dir.join("workers");
        let io = |e: std::io::Error| Error::Checkpoint(format!("{}: {e}", path.display()));
        let wrote = match std::fs::read_to_string(&path) {
            Ok(text) => text.trim().parse::<usize>().map_err(|e| {
                Error::Checkpoint(format!("{}: not a number of workers: {e}", path.display()))
            })?,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => 1,
            Err(e) => return Err(io(e)),
        };
        if wrote != peers && checkpoint::latest(dir)?.0.is_some() {
            return Err(Error::Settings(format!(
                "the checkpoint in {} holds state kept by {wrote} worker(s), each with its own \
                 keys; this run has {peers}: run with {wrote} worker(s), or start from an empty \
                 checkpoint directory",
                dir.display()
            )));
        }
        std::fs::create_dir_all(dir).map_err(io)?;
        checkpoint::write_atomically(&path, format!("{peers}\n").as_bytes()).map_err(io)
    }

    fn metadata_fits(&self, dir: &std::path::Path) -> Result<Option<Metadata>> {
        let interval_ms = self.settings.batch_interval.as_millis() as u64;
        match recovery::read_metadata(dir)? {
            Some(m) if m.batch_ms != interval_ms => Err(Error::Settings(format!(
                "the checkpoint in {} was written with a {} ms batch interval, not {interval_ms} ms: \
                 keep the interval, or start from an empty checkpoint directory",
                dir.display(),
                m.batch_ms
            ))),
            m => Ok(m),
        }
    }

    pub fn settings(&self) -> &Settings {
        &self.settings
    }

    /// The I/O runtime, for sinks that talk to servers.
    pub fn io_handle(&self) -> tokio::runtime::Handle {
        self.rt.handle().clone()
    }

    /// Lines of text from a TCP server (Spark's `socketTextStream`); reconnects on failure.
    pub fn socket_text_stream(&mut self, host: &str, port: u16) -> DStream<String> {
        self.receiver_stream(SocketReceiver::new(host, port))
    }

    /// Records ending in `delimiter` from a TCP server (a byte other than `\n`: Spark's
    /// `socketStream` with a delimiter-splitting converter).
    pub fn socket_stream(&mut self, host: &str, port: u16, delimiter: u8) -> DStream<String> {
        self.receiver_stream(SocketReceiver::with_delimiter(host, port, delimiter))
    }

    /// The records a custom [`Receiver`] stores (Spark's `receiverStream`).
    pub fn receiver_stream(&mut self, receiver: impl Receiver) -> DStream<String> {
        let stream = self.inputs.len();
        self.inputs.push(Box::new(receiver));
        DStream::new(Arc::new(ReceiverInput { stream }), self.graph.clone())
    }

    /// The records of a direct source (Spark's `createDirectStream`): each batch reads an
    /// offset range of every partition, logged before the batch runs when a checkpoint
    /// directory is set, so a restart reads exactly the same records again.
    pub fn direct_stream(&mut self, source: impl DirectSource) -> DStream<String> {
        let id = self.direct.len();
        self.direct.push(Arc::new(source));
        DStream::new(Arc::new(DirectInput { source: id }), self.graph.clone())
    }

    /// The lines of the messages of a Kafka topic, read directly (Spark's
    /// `KafkaUtils.createDirectStream`).
    #[cfg(feature = "kafka")]
    pub fn kafka_stream(&mut self, spec: crate::direct::kafka::KafkaSpec) -> DStream<String> {
        self.direct_stream(crate::direct::kafka::KafkaSource::new(spec))
    }

    /// Lines of the files that appear in `dir` (Spark's `textFileStream`): each batch
    /// takes the files moved into the directory since the previous batch, and reads each
    /// once — across restarts too, with a checkpoint directory (see [`FileSource`]).
    ///
    /// [`FileSource`]: crate::direct::files::FileSource
    pub fn text_file_stream(&mut self, dir: &str) -> DStream<String> {
        let catalog = self
            .settings
            .checkpoint_dir
            .as_ref()
            .map(|c| c.join("textFileStream").join(self.direct.len().to_string()));
        self.direct_stream(crate::direct::files::FileSource::new(dir.into(), catalog))
    }

    /// A stream of batches given in advance, one per batch interval, then empty ones
    /// (Spark's `queueStream` with `oneAtATime`). For tests and examples.
    pub fn queue_stream<T: crate::dstream::Data>(&mut self, batches: Vec<Vec<T>>) -> DStream<T> {
        DStream::new(Arc::new(QueueInput::new(batches)), self.graph.clone())
    }

    /// Makes this context the driver of a cluster, through worker 0's link: each batch
    /// then runs on every worker of the cluster ([`crate::cluster`]). Before `start`.
    pub fn drive_cluster(&mut self, link: crate::cluster::Link) -> Result<()> {
        if !link.is_driver() {
            return Err(Error::State("can drive a cluster only from worker 0"));
        }
        self.cluster = Some(link);
        Ok(())
    }

    /// What a cluster cannot do yet, or at all: refused before anything starts.
    fn check_cluster(&self) -> Result<()> {
        if self.settings.concurrent_jobs > 1 {
            return Err(Error::Settings(
                "concurrentJobs > 1 cannot run on a cluster: its workers run batches in step"
                    .into(),
            ));
        }
        Ok(())
    }

    /// Runs this worker's share of every batch the cluster's driver orders, until it
    /// stops: what every worker but worker 0 does. Receivers, logs and committing
    /// checkpoints are the driver's business, not started here; this worker writes its
    /// share of each checkpoint.
    pub fn follow_cluster(&self, link: &crate::cluster::Link) -> Result<()> {
        if link.is_driver() {
            return Err(Error::State(
                "worker 0 drives the cluster; it cannot follow",
            ));
        }
        self.check_cluster()?;
        let follower = crate::cluster::Follower {
            link,
            outputs: lock(&self.graph.outputs).clone(),
            stateful: self.stateful(),
            direct: self.direct.clone(),
            io: self.rt.handle().clone(),
            exec: &self.exec,
            bus: &self.bus,
            settings: &self.settings,
            remember_ms: self
                .graph
                .remember_ms
                .load(std::sync::atomic::Ordering::Relaxed),
        };
        follower.run()
    }

    pub fn add_listener(&self, l: Arc<dyn StreamingListener>) {
        self.bus.add(l);
    }

    /// Starts the scheduler, the batch clock and the receivers.
    pub fn start(&mut self) -> Result<()> {
        if self.running.is_some() {
            return Err(Error::State("has already been started"));
        }
        if lock(&self.graph.outputs).is_empty() {
            return Err(Error::State("has no output operations registered"));
        }
        if self.settings.concurrent_jobs > 1 && !self.stateful().is_empty() {
            return Err(Error::Settings(format!(
                "concurrentJobs = {} needs a pipeline without updateStateByKey or \
                 mapWithState: their state must see batches in order",
                self.settings.concurrent_jobs
            )));
        }
        if self.cluster.is_some() {
            self.check_cluster()?;
        }
        let interval_ms = self.settings.batch_interval.as_millis() as u64;
        let (replayed, zero_ms, first) = self.recover(interval_ms)?;
        self.bus
            .post(crate::listener::StreamingEvent::StreamingStarted(
                self.clock.now_ms(),
            ));
        let direct: Arc<[Arc<dyn DirectSource>]> = std::mem::take(&mut self.direct).into();
        let (jobs_tx, jobs_rx) = mpsc::channel();
        let (completed_tx, completed) = watch::channel(None);
        let scheduler = JobScheduler {
            graph: self.graph.clone(),
            exec: self.exec.clone(),
            settings: self.settings.clone(),
            blocks: self.blocks.clone(),
            bus: self.bus.clone(),
            clock: self.clock.clone(),
            termination: self.termination.clone(),
            completed: completed_tx,
            zero_ms,
            direct: direct.clone(),
            io: self.rt.handle().clone(),
            in_flight: Mutex::default(),
            skipped: Mutex::default(),
            cluster: self
                .cluster
                .take()
                .map(|link| crate::cluster::Driver::new(link, self.resumed)),
        };
        let scheduler = std::thread::Builder::new()
            .name("sluice-jobs".into())
            .spawn(move || scheduler.run(jobs_rx))?;
        let receivers = Arc::new(ReceiverTracker::new(
            std::mem::take(&mut self.inputs),
            &self.settings,
            self.blocks.clone(),
            self.bus.clone(),
            self.clock.clone(),
            &replayed,
        ));
        if let Some(status) = &self.status {
            let receivers = receivers.clone();
            status.set_rates(Box::new(move || receivers.rate_limits()));
        }
        let rates = Arc::new(DirectRates::default());
        if self.settings.backpressure {
            let targets = receivers
                .rate_limits()
                .into_iter()
                .map(|(s, _)| RateTarget::Receiver(s))
                .chain((0..direct.len()).map(RateTarget::Direct));
            if self.settings.backpressure_initial_rate > 0 {
                for d in 0..direct.len() {
                    rates.set(d, self.settings.backpressure_initial_rate);
                }
            }
            self.bus.add(Arc::new(RateController::new(
                targets,
                interval_ms,
                self.settings.pid,
                RateSinks {
                    receivers: receivers.clone(),
                    direct: rates.clone(),
                },
            )));
        }
        receivers.start(self.rt.handle(), self.clock.clone(), &self.settings);
        let (control, control_rx) = watch::channel(GeneratorControl::Run);
        let generator = JobGenerator {
            clock: self.clock.clone(),
            interval_ms,
            blocks: self.blocks.clone(),
            bus: self.bus.clone(),
            jobs: jobs_tx,
            direct,
            limit: crate::direct::RateLimit {
                max_per_partition: self.settings.max_rate_per_partition,
                estimated: None,
                batch_ms: interval_ms,
            },
            rates,
        };
        let generator = self
            .rt
            .spawn(generator.run(replayed.pending, first, control_rx));
        self.running = Some(Running {
            receivers,
            generator,
            control,
            scheduler,
            completed,
        });
        Ok(())
    }

    /// With a checkpoint directory: keeps the zero time of the first run (so batch times
    /// and windows line up across restarts), replays the write-ahead logs when they are on,
    /// and restores stateful operators from the newest checkpoint. Returns what was
    /// replayed (with the batches to run again), the zero time and the first new batch time.
    fn recover(&mut self, interval_ms: u64) -> Result<(Replayed, u64, u64)> {
        let mut first = JobGenerator::first_batch_time(&*self.clock, interval_ms);
        let Some(dir) = self.settings.checkpoint_dir.clone() else {
            if self.settings.write_ahead_log {
                return Err(Error::Settings(
                    "the write-ahead log needs a checkpoint directory (`checkpoint`)".into(),
                ));
            }
            return Ok((Replayed::default(), first - interval_ms, first));
        };
        let zero_ms = match self.metadata_fits(&dir)? {
            Some(m) => m.zero_ms,
            None => {
                let zero_ms = first - interval_ms;
                recovery::write_metadata(
                    &dir,
                    &Metadata {
                        zero_ms,
                        batch_ms: interval_ms,
                    },
                )?;
                zero_ms
            }
        };
        let mut replayed = Replayed::default();
        // Direct sources' ranges go to the driver log even without the receiver log.
        if self.settings.write_ahead_log || !self.direct.is_empty() {
            let cfg = WalConfig {
                fsync: FsyncPolicy::Batch,
                ..WalConfig::new(&dir)
            };
            let receiver_logs = if self.settings.write_ahead_log {
                self.inputs.len()
            } else {
                0
            };
            let (logs, r) = recovery::open(&dir, receiver_logs, &cfg)?;
            self.blocks = Arc::new(ReceivedBlockTracker::with_logs(logs, &r, interval_ms));
            replayed = r;
        }
        self.workers_fit(&dir)?;
        let restored = self.restore_state(&dir)?;
        // In a cluster, the other workers restore their partitions' state as of this too.
        self.resumed = restored;
        if let Some(restored) = restored {
            // The state is as of `restored`: every later batch runs again on it, completed
            // or not (their outputs are idempotent in the sinks that need it).
            replayed.pending = replayed
                .allocated
                .keys()
                .filter(|t| t.0 > restored)
                .copied()
                .collect();
            first = first.max(restored + interval_ms);
        } else if !self.stateful().is_empty() {
            // State from the very start: run every logged batch again.
            replayed.pending = replayed.allocated.keys().copied().collect();
        }
        replayed.check_pending(&dir)?;
        if let Some(last) = replayed.last_allocated() {
            first = first.max(last.0 + interval_ms);
        }
        Ok((replayed, zero_ms, first))
    }

    fn stateful(&self) -> Vec<(String, Arc<dyn Stateful>)> {
        lock(&self.graph.stateful).clone()
    }

    /// The newest checkpoint in `dir` and its path, if this pipeline has stateful
    /// operators and there is one; an error naming what changed if it does not fit: an
    /// operator gone or new, or a state type changed.
    fn fitting_checkpoint(
        &self,
        dir: &std::path::Path,
    ) -> Result<Option<(std::path::PathBuf, checkpoint::Checkpoint)>> {
        let ops = self.stateful();
        if ops.is_empty() {
            return Ok(None);
        }
        let (found, skipped) = checkpoint::latest(dir)?;
        for s in skipped {
            self.bus.post(crate::listener::StreamingEvent::Warning(s));
        }
        let Some((path, cp)) = found else {
            return Ok(None);
        };
        let refuse = |what: String| {
            Err(Error::Checkpoint(format!(
                "{} does not fit this pipeline: {what}; run the old pipeline, or start from an \
                 empty checkpoint directory",
                path.display()
            )))
        };
        for saved in &cp.operators {
            if !ops.iter().any(|(id, _)| *id == saved.id) {
                return refuse(format!(
                    "it keeps state for `{}`, which the pipeline no longer has",
                    saved.id
                ));
            }
        }
        for (id, node) in &ops {
            let Some(saved) = cp.operators.iter().find(|o| o.id == *id) else {
                return refuse(format!("it has no state for `{id}`"));
            };
            if saved.state_type != node.state_type() {
                return refuse(format!(
                    "`{id}` kept {} and now keeps {}",
                    saved.state_type,
                    node.state_type()
                ));
            }
        }
        Ok(Some((path, cp)))
    }

    /// Restores every stateful operator from the newest checkpoint in `dir` that fits;
    /// returns the checkpoint's batch time.
    fn restore_state(&self, dir: &std::path::Path) -> Result<Option<u64>> {
        let Some((path, cp)) = self.fitting_checkpoint(dir)? else {
            return Ok(None);
        };
        checkpoint::restore(&cp, &self.stateful(), self.settings.shuffle_partitions)
            .map_err(|e| Error::Checkpoint(format!("{}: {e}", path.display())))?;
        Ok(Some(cp.time))
    }

    /// Tells, without starting, whether this pipeline could resume from the checkpoint in
    /// `dir`: a line saying what it would resume, or the error a start would give.
    pub fn check_checkpoint(&self, dir: &std::path::Path) -> Result<String> {
        let ops = self.stateful();
        Ok(match self.fitting_checkpoint(dir)? {
            Some((path, cp)) => format!(
                "{} fits: {} stateful operator(s) ({}) resume after batch {}",
                path.display(),
                ops.len(),
                ops.iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>()
                    .join(", "),
                cp.time
            ),
            None if ops.is_empty() => "the pipeline keeps no state: any checkpoint fits".into(),
            None => format!("no checkpoint in {}: the state starts empty", dir.display()),
        })
    }

    /// What the status page shows, kept from now on (a listener); the same store on every
    /// call.
    pub fn status(&mut self) -> Arc<crate::status::StatusStore> {
        if let Some(s) = &self.status {
            return s.clone();
        }
        let store = Arc::new(crate::status::StatusStore::new(
            &self.settings.app_name,
            self.settings.batch_interval.as_millis() as u64,
            self.settings.checkpoint_dir.clone(),
        ));
        self.bus.add(store.clone());
        self.status = Some(store.clone());
        store
    }

    /// Serves the status page, `/api/status` and `/metrics` on `addr` (or the next free
    /// port of the 16 after it); returns the address bound. Call before `start` to see
    /// every event.
    pub fn serve_status(&mut self, addr: std::net::SocketAddr) -> Result<std::net::SocketAddr> {
        let store = self.status();
        crate::status::serve(store, self.clock.clone(), self.rt.handle(), addr)
            .map_err(|e| Error::Settings(format!("cannot serve the status page on {addr}: {e}")))
    }

    /// Waits until the context stops or fails, or `timeout` passes.
    pub fn await_termination(&self, timeout: Option<std::time::Duration>) -> Termination {
        self.termination.wait(timeout)
    }

    /// Each receiver's input stream and the rate limit in force on it, records per second
    /// (0: none); empty before `start`.
    pub fn receiver_rate_limits(&self) -> Vec<(crate::block::StreamId, u64)> {
        self.running
            .as_ref()
            .map(|r| r.receivers.rate_limits())
            .unwrap_or_default()
    }

    /// The last batch whose jobs all finished.
    pub fn last_completed_batch(&self) -> Option<BatchTime> {
        self.running.as_ref().and_then(|r| *r.completed.borrow())
    }

    /// Stops the context. Graceful: stop receiving, let every received record reach a
    /// batch, finish every batch, then return — but a batch still retrying a failed step
    /// when the stop timeout (Spark's `gracefulStopTimeout`: 10 batch intervals, at least
    /// 10 s) runs out is given up, left incomplete for a restart to run again. Otherwise:
    /// stop receiving and generating at once, give up retries, and finish only the batches
    /// already submitted.
    pub fn stop(&mut self, graceful: bool) -> Result<()> {
        let Some(running) = self.running.take() else {
            return Ok(());
        };
        if !graceful {
            self.termination.request_stop();
        }
        self.rt.block_on(running.receivers.stop());
        let control = if graceful && self.termination.get() == Termination::Running {
            GeneratorControl::DrainUntil(self.clock.now_ms())
        } else {
            GeneratorControl::Stop
        };
        running.control.send_replace(control);
        let _ = self.rt.block_on(running.generator);
        // The generator owned the only job sender: the scheduler ends after the last set.
        let deadline = std::time::Instant::now()
            + (self.settings.batch_interval * 10).max(std::time::Duration::from_secs(10));
        while !running.scheduler.is_finished() {
            if std::time::Instant::now() >= deadline {
                self.termination.request_stop();
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        let _ = running.scheduler.join();
        self.termination.set(Termination::Stopped);
        match self.termination.get() {
            Termination::Failed(e) => Err(Error::Job {
                op: "pipeline".into(),
                batch: self.last_completed_batch().unwrap_or(BatchTime(0)),
                message: e,
            }),
            _ => Ok(()),
        }
    }
}

impl Drop for StreamingContext {
    fn drop(&mut self) {
        let _ = self.stop(false);
    }
}
