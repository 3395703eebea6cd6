//! `DStream<T>`: a typed node of the operator graph, and the operators on it.
//!
//! Narrow operators (`map`, `flat_map`, `filter`) compose lazily: a batch's partition is an
//! iterator built through the whole chain and run once, on a worker thread. A shuffle
//! (`reduce_by_key`) combines per input partition first (map-side combine), then merges per
//! output partition, both in parallel. Output operations register a job in the graph.

use crate::block::{BlockRecords, StreamId};
use crate::cluster::Link;
use crate::executor::{Attempt, Executor, Task, TaskFailure};
use crate::listener::{ListenerBus, StreamingEvent};
use crate::render::SparkString;
use crate::settings::Settings;
use crate::time::BatchTime;
use crate::tracker::{AllocatedBlocks, ReceivedBlockTracker};
use serde::de::DeserializeOwned;
use serde::Serialize;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hash};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Where a batch's input blocks are found: the tracker on the driver; what the driver
/// sent, on the other workers of a cluster.
pub trait BatchInputs: Sync {
    fn blocks_of_batch(&self, t: BatchTime) -> AllocatedBlocks;
}

impl BatchInputs for ReceivedBlockTracker {
    fn blocks_of_batch(&self, t: BatchTime) -> AllocatedBlocks {
        ReceivedBlockTracker::blocks_of_batch(self, t)
    }
}

/// What computing one batch needs.
pub struct BatchCx<'a> {
    pub time: BatchTime,
    /// The blocks allocated to `time`.
    pub blocks: AllocatedBlocks,
    /// Where the blocks of other (remembered) batches come from, for windows.
    pub tracker: &'a dyn BatchInputs,
    pub exec: &'a Executor,
    /// Where task retries and speculation are reported.
    pub bus: &'a ListenerBus,
    pub settings: &'a Settings,
    /// The time before the first batch (Spark's `zeroTime`): windows and slides count from it.
    pub zero: BatchTime,
    /// How far back past batches are kept, in milliseconds (the longest window).
    pub remember_ms: u64,
    /// In a cluster: this worker's link to the others ([`crate::cluster`]).
    pub cluster: Option<&'a Link>,
}

impl<'a> BatchCx<'a> {
    /// The context of an earlier batch, for a window looking back.
    pub fn at(&self, time: BatchTime) -> BatchCx<'a> {
        BatchCx {
            time,
            blocks: self.tracker.blocks_of_batch(time),
            tracker: self.tracker,
            exec: self.exec,
            bus: self.bus,
            settings: self.settings,
            zero: self.zero,
            remember_ms: self.remember_ms,
            cluster: self.cluster,
        }
    }
}

impl BatchCx<'_> {
    /// Whether partition `i` of a batch is computed here: always, unless in a cluster.
    pub fn owns(&self, i: usize) -> bool {
        self.cluster.is_none_or(|c| c.owns(i))
    }

    /// Present partitions as `Some`, the others' as `None`, by index.
    fn owned<T>(&self, parts: impl IntoIterator<Item = Partition<T>>) -> Vec<Option<Partition<T>>> {
        parts
            .into_iter()
            .enumerate()
            .map(|(i, p)| self.owns(i).then_some(p))
            .collect()
    }

    /// Items each worker holds, by partition index, brought together at the driver in
    /// index order; `None` elsewhere.
    fn collect_at_driver<R: Serialize + DeserializeOwned>(
        &self,
        mut items: Vec<(usize, R)>,
    ) -> Option<Vec<R>> {
        if let Some(c) = self.cluster {
            let out = items.into_iter().map(|x| (0, x)).collect();
            items = c.exchange(out).into_iter().map(|(_, x)| x).collect();
            if !c.is_driver() {
                return None;
            }
        }
        items.sort_by_key(|(i, _)| *i);
        Some(items.into_iter().map(|(_, x)| x).collect())
    }

    /// Items addressed to partitions (`(partition, item)`), each sent to the worker that
    /// owns its partition; returns what this worker got.
    fn send_to_owners<R: Serialize + DeserializeOwned>(
        &self,
        items: Vec<(usize, R)>,
    ) -> Vec<(usize, R)> {
        let Some(c) = self.cluster else { return items };
        let (mine, theirs): (Vec<_>, Vec<_>) = items.into_iter().partition(|(i, _)| c.owns(*i));
        let out = theirs
            .into_iter()
            .map(|(i, x)| (c.owner(i), (i, x)))
            .collect();
        let mut got = mine;
        got.extend(c.exchange(out).into_iter().map(|(_, x)| x));
        got
    }

    /// The batch as the driver sees it: in local mode `rdd` itself; in a cluster every
    /// worker's partitions computed and sent to the driver (at most `limit` records each),
    /// which gets them all in index order, and `None` elsewhere.
    fn at_driver<T: Data>(&self, rdd: Rdd<T>, limit: Option<usize>) -> Option<Rdd<T>> {
        if self.cluster.is_none() {
            return Some(rdd);
        }
        let len = rdd.parts.len();
        let take = limit.unwrap_or(usize::MAX);
        let items = self.run_present(rdd, move |it| it.take(take).collect::<Vec<T>>());
        let mut parts = self.collect_at_driver(items)?;
        parts.resize_with(len, Vec::new);
        Some(Rdd {
            parts: parts
                .into_iter()
                .map(|p| Some(shared_partition(Arc::new(p))))
                .collect(),
        })
    }

    /// `f` over each partition computed here, as tasks; the results with their
    /// partitions' indices.
    fn run_present<T: 'static, R: Send + 'static>(
        &self,
        rdd: Rdd<T>,
        f: impl Fn(Records<T>) -> R + Clone + Send + Sync + 'static,
    ) -> Vec<(usize, R)> {
        let (index, tasks): (Vec<usize>, Vec<_>) =
            present(rdd).map(|(i, p)| (i, task(p, f.clone()))).unzip();
        index.into_iter().zip(self.run_tasks(tasks)).collect()
    }

    /// Runs re-runnable tasks, speculatively when the settings say so. A task failing all
    /// its attempts fails the job: this unwinds with the [`TaskFailure`], which the job
    /// scheduler reports.
    pub fn run_tasks<R: Send + 'static>(&self, tasks: Vec<Task<R>>) -> Vec<R> {
        self.try_run_tasks(tasks, true)
            .unwrap_or_else(|failure| std::panic::resume_unwind(Box::new(failure)))
    }

    /// Runs re-runnable tasks; `speculate` says whether two attempts may run at once.
    pub fn try_run_tasks<R: Send + 'static>(
        &self,
        tasks: Vec<Task<R>>,
        speculate: bool,
    ) -> Result<Vec<R>, TaskFailure> {
        self.exec.run(tasks, speculate, &|event| {
            self.bus.post(StreamingEvent::Task {
                batch: self.time,
                event,
            })
        })
    }
}

/// A task that computes `f` over a partition's records.
fn task<T: 'static, R: 'static>(
    p: Partition<T>,
    f: impl Fn(Records<T>) -> R + Send + Sync + 'static,
) -> Task<R> {
    Arc::new(move |_: &Attempt| Ok(f(p())))
}

/// One partition of a batch: produces its records when run, as often as it is run
/// (a failed or slow task runs again from its inputs).
pub type Partition<T> = Arc<dyn Fn() -> Records<T> + Send + Sync>;

/// A partition yielding clones of shared records.
fn shared_partition<T: Data>(records: Arc<Vec<T>>) -> Partition<T> {
    Arc::new(move || {
        let records = records.clone();
        Box::new((0..records.len()).map(move |i| records[i].clone())) as Records<T>
    })
}

/// A batch's data for one stream, as lazily computed partitions (Spark's RDD). In a
/// cluster, a partition another worker computes is `None` here; indices are the same on
/// every worker.
pub struct Rdd<T> {
    pub parts: Vec<Option<Partition<T>>>,
}

/// The partitions of `rdd` computed here, with their indices.
fn present<T>(rdd: Rdd<T>) -> impl Iterator<Item = (usize, Partition<T>)> {
    rdd.parts
        .into_iter()
        .enumerate()
        .filter_map(|(i, p)| p.map(|p| (i, p)))
}

/// Records that may cross workers of a cluster and be kept in checkpoints: what a
/// stream's elements must be.
pub trait Data: Clone + Send + Sync + Serialize + DeserializeOwned + 'static {}

impl<T: Clone + Send + Sync + Serialize + DeserializeOwned + 'static> Data for T {}

/// A graph node: computes its batch from its parents'.
pub trait Node<T>: Send + Sync {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<T>;
}

/// An output operation's job body: computes and writes one batch.
pub(crate) type Job = Box<dyn Fn(&BatchCx<'_>) -> Result<(), String> + Send + Sync>;

/// An output operation, run once per batch as one job.
pub(crate) struct OutputOp {
    pub name: String,
    pub run: Job,
    /// Runs only at times a multiple of this after the zero time (a windowed stream's
    /// slide); every batch when `None`.
    pub slide_ms: Option<u64>,
}

/// How an output operation's run failed.
pub(crate) enum OutputFailure {
    /// It returned an error (a sink that is down): it may run again later.
    Error(String),
    /// It panicked, or a task of it kept failing: the batch fails.
    Panic(String),
}

impl std::fmt::Display for OutputFailure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutputFailure::Error(m) | OutputFailure::Panic(m) => f.write_str(m),
        }
    }
}

impl OutputOp {
    /// Runs the operation for `cx`'s batch, catching a panic (its own, or the
    /// [`TaskFailure`] of a task that kept failing).
    pub fn run_caught(&self, cx: &BatchCx<'_>) -> Result<(), OutputFailure> {
        match std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| (self.run)(cx))) {
            Ok(ran) => ran.map_err(OutputFailure::Error),
            Err(panic) => Err(OutputFailure::Panic(
                match panic.downcast::<TaskFailure>() {
                    Ok(failure) => failure.to_string(),
                    Err(panic) => crate::executor::panic_message(&*panic),
                },
            )),
        }
    }

    /// Whether the operation runs at batch `t`.
    pub fn due(&self, t: BatchTime, zero: BatchTime) -> bool {
        self.slide_ms
            .is_none_or(|slide| (t.0 - zero.0).is_multiple_of(slide))
    }
}

/// The operator graph a context owns; streams register their output operations here.
pub(crate) struct Graph {
    /// Shared, so batches running at once (concurrent jobs) each hold them.
    pub outputs: Mutex<Vec<Arc<OutputOp>>>,
    /// The batch interval, in milliseconds.
    pub batch_ms: u64,
    /// How long batches are kept: the `remember` setting, or the longest window.
    pub remember_ms: std::sync::atomic::AtomicU64,
    /// The operators that keep state across batches, by stable id, in definition order.
    pub stateful: Mutex<Vec<(String, Arc<dyn Stateful>)>>,
}

/// An operator whose state a checkpoint keeps.
pub(crate) trait Stateful: Send + Sync {
    /// The state's Rust type, so a restart can tell a changed pipeline.
    fn state_type(&self) -> String;
    /// The state after the last batch applied, encoded, with that batch's time.
    fn snapshot(&self) -> Option<(BatchTime, Vec<u8>)>;
    /// Replaces the state with a snapshot, spread over `partitions` partitions.
    fn restore(&self, time: BatchTime, bytes: &[u8], partitions: usize) -> Result<(), String>;
}

impl Graph {
    pub fn new(batch_ms: u64, remember_ms: u64) -> Self {
        Graph {
            outputs: Mutex::default(),
            batch_ms,
            remember_ms: remember_ms.into(),
            stateful: Mutex::default(),
        }
    }

    /// Registers a stateful operator; its id is its name and its rank among the stateful
    /// operators, which stays the same as long as the pipeline's text does.
    pub fn add_stateful(&self, op: &str, node: Arc<dyn Stateful>) {
        let mut all = self.stateful.lock().unwrap_or_else(|e| e.into_inner());
        let id = format!("{op}#{}", all.len());
        all.push((id, node));
    }
}

/// A discretized stream of `T`.
pub struct DStream<T> {
    node: Arc<dyn Node<T>>,
    graph: Arc<Graph>,
    /// Set on windowed streams: how often they produce a batch, in milliseconds.
    slide_ms: Option<u64>,
}

impl<T> Clone for DStream<T> {
    fn clone(&self) -> Self {
        DStream {
            node: self.node.clone(),
            graph: self.graph.clone(),
            slide_ms: self.slide_ms,
        }
    }
}

/// The records of one input stream: one partition per received block.
pub(crate) struct ReceiverInput {
    pub stream: StreamId,
}

impl Node<String> for ReceiverInput {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<String> {
        block_partitions(cx, cx.blocks.of(self.stream))
    }
}

/// A partition per block, each yielding the block's records.
fn block_partitions(cx: &BatchCx<'_>, blocks: &[Arc<crate::block::Block>]) -> Rdd<String> {
    let parts = blocks.iter().map(|b| {
        let b = b.clone();
        Arc::new(move || {
            Box::new(BlockRecords::new(b.clone())) as Box<dyn Iterator<Item = String> + Send>
        }) as Partition<String>
    });
    Rdd {
        parts: cx.owned(parts),
    }
}

/// The records a batch fetched from one direct source: one partition per source partition.
pub(crate) struct DirectInput {
    pub source: crate::direct::DirectId,
}

impl Node<String> for DirectInput {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<String> {
        block_partitions(cx, cx.blocks.fetched_of(self.source))
    }
}

/// Batches given in advance, one per batch interval (Spark's `queueStream` with
/// `oneAtATime`); an empty batch once the queue is drained. For tests and examples.
pub(crate) struct QueueInput<T> {
    state: Mutex<QueueState<T>>,
}

struct QueueState<T> {
    queue: std::collections::VecDeque<Vec<T>>,
    /// The batch each time took, so every output operation of a batch sees the same one.
    taken: std::collections::BTreeMap<BatchTime, Arc<Vec<T>>>,
}

impl<T> QueueInput<T> {
    pub fn new(batches: Vec<Vec<T>>) -> Self {
        QueueInput {
            state: Mutex::new(QueueState {
                queue: batches.into(),
                taken: Default::default(),
            }),
        }
    }
}

impl<T: Data> Node<T> for QueueInput<T> {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<T> {
        let mut s = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let batch = match s.taken.get(&cx.time) {
            Some(b) => b.clone(),
            None => {
                let b = Arc::new(s.queue.pop_front().unwrap_or_default());
                s.taken = s
                    .taken
                    .split_off(&BatchTime(cx.time.0.saturating_sub(cx.remember_ms)));
                s.taken.insert(cx.time, b.clone());
                b
            }
        };
        Rdd {
            parts: cx.owned([shared_partition(batch)]),
        }
    }
}

/// The batches of the last `length_ms`, as one batch (Spark's `WindowedDStream`).
struct Window<T> {
    parent: Arc<dyn Node<T>>,
    length_ms: u64,
    /// The parent's interval: the window's batches are this far apart.
    step_ms: u64,
}

impl<T: 'static> Node<T> for Window<T> {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<T> {
        let t = cx.time.0;
        let mut parts = Vec::new();
        let mut s = t.saturating_sub(self.length_ms) + self.step_ms;
        while s <= t {
            if s > cx.zero.0 {
                parts.extend(self.parent.compute(&cx.at(BatchTime(s))).parts);
            }
            s += self.step_ms;
        }
        Rdd { parts }
    }
}

/// Every record of a batch at the driver, partitions computed in parallel, in partition
/// order; `None` on the other workers of a cluster.
fn gather<T: Data>(cx: &BatchCx<'_>, rdd: Rdd<T>) -> Option<Vec<T>> {
    let rdd = cx.at_driver(rdd, None)?;
    let tasks = present(rdd)
        .map(|(_, p)| task(p, |it| it.collect::<Vec<T>>()))
        .collect();
    Some(cx.run_tasks(tasks).into_iter().flatten().collect())
}

/// A batch's records spread over `n` partitions.
struct Repartition<T> {
    parent: Arc<dyn Node<T>>,
    n: usize,
}

impl<T: Data> Node<T> for Repartition<T> {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<T> {
        let mut shares = Vec::new();
        if let Some(all) = gather(cx, self.parent.compute(cx)) {
            let total = all.len();
            let mut all = all.into_iter();
            for i in 0..self.n {
                // Partition i takes its even share; the first `total % n` take one more.
                let len = total / self.n + usize::from(i < total % self.n);
                shares.push((i, all.by_ref().take(len).collect::<Vec<T>>()));
            }
        }
        // In a cluster the driver split the batch: each share goes to its partition's owner.
        let mut parts: Vec<Option<Partition<T>>> = (0..self.n).map(|_| None).collect();
        for (i, share) in cx.send_to_owners(shares) {
            parts[i] = Some(shared_partition(Arc::new(share)));
        }
        Rdd { parts }
    }
}

/// A function of a whole batch (`transform`).
struct Gathered<T, U> {
    parent: Arc<dyn Node<T>>,
    f: Arc<dyn Fn(Vec<T>) -> Vec<U> + Send + Sync>,
}

impl<T: Data, U: Data> Node<U> for Gathered<T, U> {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<U> {
        let out = gather(cx, self.parent.compute(cx)).map(|all| (self.f)(all));
        Rdd {
            parts: vec![out.map(|out| shared_partition(Arc::new(out)))],
        }
    }
}

/// Several streams' partitions side by side (Spark's `union`).
struct Union<T> {
    parents: Vec<Arc<dyn Node<T>>>,
}

impl<T: 'static> Node<T> for Union<T> {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<T> {
        Rdd {
            parts: self
                .parents
                .iter()
                .flat_map(|p| p.compute(cx).parts)
                .collect(),
        }
    }
}

/// Folds one partition to at most one value.
type PartitionFold<T, U> = Arc<dyn Fn(Records<T>) -> Option<U> + Send + Sync>;

/// A batch folded to at most one element: computed per partition in parallel, then
/// combined (`count`, `reduce`).
struct Fold<T, U> {
    parent: Arc<dyn Node<T>>,
    per_partition: PartitionFold<T, U>,
    combine: Arc<dyn Fn(U, U) -> U + Send + Sync>,
    /// What an empty batch gives: `count` says 0, `reduce` says nothing.
    empty: Option<fn() -> U>,
}

impl<T: 'static, U: Data> Node<U> for Fold<T, U> {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<U> {
        let f = self.per_partition.clone();
        let per_partition = cx.run_present(self.parent.compute(cx), move |it| f(it));
        let folded = cx.collect_at_driver(per_partition).map(|all| {
            all.into_iter()
                .flatten()
                .reduce(|a, b| (self.combine)(a, b))
                .or_else(|| self.empty.map(|e| e()))
        });
        Rdd {
            parts: vec![folded.map(|f| shared_partition(Arc::new(f.into_iter().collect())))],
        }
    }
}

struct Narrow<T, U> {
    parent: Arc<dyn Node<T>>,
    apply: Arc<dyn Fn(Records<T>) -> Records<U> + Send + Sync>,
}

/// A boxed partition iterator.
pub type Records<T> = Box<dyn Iterator<Item = T> + Send>;

impl<T: 'static, U: 'static> Node<U> for Narrow<T, U> {
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<U> {
        let parts = self
            .parent
            .compute(cx)
            .parts
            .into_iter()
            .map(|p| {
                let apply = self.apply.clone();
                p.map(|p| Arc::new(move || apply(p())) as Partition<U>)
            })
            .collect();
        Rdd { parts }
    }
}

impl<T: Data> DStream<T> {
    pub(crate) fn new(node: Arc<dyn Node<T>>, graph: Arc<Graph>) -> Self {
        DStream {
            node,
            graph,
            slide_ms: None,
        }
    }

    /// How often this stream produces a batch: the batch interval, or a window's slide.
    pub fn slide(&self) -> std::time::Duration {
        std::time::Duration::from_millis(self.slide_ms.unwrap_or(self.graph.batch_ms))
    }

    /// A stream computed from this one, producing batches as often as this one does.
    fn derive<U>(&self, node: Arc<dyn Node<U>>) -> DStream<U> {
        DStream {
            node,
            graph: self.graph.clone(),
            slide_ms: self.slide_ms,
        }
    }

    /// Spark's `window(length, slide)`: every `slide`, the elements of the batches of the
    /// last `length`. Both must be multiples of this stream's own interval.
    pub fn window(
        &self,
        length: std::time::Duration,
        slide: std::time::Duration,
    ) -> crate::Result<DStream<T>> {
        let own = self.slide_ms.unwrap_or(self.graph.batch_ms);
        let (length_ms, slide_ms) = (length.as_millis() as u64, slide.as_millis() as u64);
        for (what, ms) in [("window length", length_ms), ("slide", slide_ms)] {
            if ms == 0 || !ms.is_multiple_of(own) {
                return Err(crate::Error::Settings(format!(
                    "the {what} ({ms}ms) must be a positive multiple of the stream's interval ({own}ms)"
                )));
            }
        }
        self.graph
            .remember_ms
            .fetch_max(length_ms + own, std::sync::atomic::Ordering::Relaxed);
        Ok(DStream {
            node: Arc::new(Window {
                parent: self.node.clone(),
                length_ms,
                step_ms: own,
            }),
            graph: self.graph.clone(),
            slide_ms: Some(slide_ms),
        })
    }

    fn narrow<U: Send + 'static>(
        &self,
        apply: impl Fn(Records<T>) -> Records<U> + Send + Sync + 'static,
    ) -> DStream<U> {
        self.derive(Arc::new(Narrow {
            parent: self.node.clone(),
            apply: Arc::new(apply),
        }))
    }

    /// Spark's `map`.
    pub fn map<U, F>(&self, f: F) -> DStream<U>
    where
        U: Data,
        F: Fn(T) -> U + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.narrow(move |it| {
            let f = f.clone();
            Box::new(it.map(move |x| f(x)))
        })
    }

    /// Spark's `flatMap`.
    pub fn flat_map<U, I, F>(&self, f: F) -> DStream<U>
    where
        U: Data,
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
        F: Fn(T) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.narrow(move |it| {
            let f = f.clone();
            Box::new(it.flat_map(move |x| f(x)))
        })
    }

    /// Spark's `filter`.
    pub fn filter<F>(&self, f: F) -> DStream<T>
    where
        F: Fn(&T) -> bool + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.narrow(move |it| {
            let f = f.clone();
            Box::new(it.filter(move |x| f(x)))
        })
    }

    /// Spark's `union`: the elements of both streams.
    pub fn union(&self, other: &DStream<T>) -> DStream<T> {
        self.derive(Arc::new(Union {
            parents: vec![self.node.clone(), other.node.clone()],
        }))
    }

    /// Spark's `count`: one element per batch, the number of elements (0 when empty).
    pub fn count(&self) -> DStream<i64> {
        self.derive(Arc::new(Fold {
            parent: self.node.clone(),
            per_partition: Arc::new(|it: Records<T>| Some(it.count() as i64)),
            combine: Arc::new(|a: i64, b: i64| a + b),
            empty: Some(|| 0),
        }))
    }

    /// Spark's `reduce`: one element per batch, all elements folded with `f`; nothing
    /// for an empty batch.
    pub fn reduce<F>(&self, f: F) -> DStream<T>
    where
        F: Fn(T, T) -> T + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        self.derive(Arc::new(Fold {
            parent: self.node.clone(),
            per_partition: Arc::new(move |it: Records<T>| it.reduce(|a, b| f(a, b))),
            combine: Arc::new(move |a, b| g(a, b)),
            empty: None,
        }))
    }

    /// Spark's `glom`: each partition as one element, the vector of its records.
    pub fn glom(&self) -> DStream<Vec<T>> {
        self.narrow(|it| Box::new(std::iter::once(it.collect::<Vec<T>>())))
    }

    /// Spark's `mapPartitions`: `f` over all records of a partition at once.
    pub fn map_partitions<U, I, F>(&self, f: F) -> DStream<U>
    where
        U: Data,
        I: IntoIterator<Item = U> + 'static,
        I::IntoIter: Send + 'static,
        F: Fn(Vec<T>) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.narrow(move |it| Box::new(f(it.collect()).into_iter()))
    }

    /// Spark's `repartition(n)`: the batch's records spread evenly over `n` partitions,
    /// keeping their order.
    pub fn repartition(&self, n: usize) -> DStream<T> {
        self.derive(Arc::new(Repartition {
            parent: self.node.clone(),
            n: n.max(1),
        }))
    }

    /// Spark's `transform`, on the whole batch: `f` receives every record of the batch
    /// and returns the new batch (one partition).
    pub fn transform<U, I, F>(&self, f: F) -> DStream<U>
    where
        U: Data,
        I: IntoIterator<Item = U>,
        F: Fn(Vec<T>) -> I + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        self.derive(Arc::new(Gathered {
            parent: self.node.clone(),
            f: Arc::new(move |all: Vec<T>| f(all).into_iter().collect()),
        }))
    }

    /// Spark's `foreachRDD`, on the whole batch: `f` receives every record of the batch
    /// and the batch time, on the job thread, once per batch.
    pub fn foreach_rdd<F>(&self, f: F)
    where
        F: Fn(Vec<T>, BatchTime) + Send + Sync + 'static,
    {
        self.register("foreachRDD".into(), move |cx, rdd| {
            if let Some(all) = gather(cx, rdd) {
                f(all, cx.time);
            }
            Ok(())
        });
    }

    /// Spark's `countByValue`: each distinct element with how often it occurs.
    pub fn count_by_value(&self) -> DStream<(T, i64)>
    where
        T: Hash + Eq,
    {
        self.map(|x| (x, 1i64))
            .reduce_by_key(|a, b| a.wrapping_add(b))
    }

    fn register(
        &self,
        name: String,
        run: impl Fn(&BatchCx<'_>, Rdd<T>) -> Result<(), String> + Send + Sync + 'static,
    ) {
        let node = self.node.clone();
        let op = OutputOp {
            name,
            run: Box::new(move |cx| run(cx, node.compute(cx))),
            slide_ms: self.slide_ms,
        };
        self.graph
            .outputs
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(Arc::new(op));
    }

    /// Spark's `print(num)`: the batch time and the first `num` records on standard output.
    pub fn print(&self, num: usize)
    where
        T: SparkString,
    {
        self.register(format!("print({num})"), move |cx, rdd| {
            let Some(rdd) = cx.at_driver(rdd, Some(num + 1)) else {
                return Ok(());
            };
            let mut text = format!(
                "-------------------------------------------\nTime: {}\n-------------------------------------------\n",
                cx.time
            );
            let mut taken = 0;
            'parts: for (_, p) in present(rdd) {
                for x in p() {
                    if taken == num {
                        text.push_str("...\n");
                        break 'parts;
                    }
                    x.write_spark(&mut text);
                    text.push('\n');
                    taken += 1;
                }
            }
            text.push('\n');
            let mut out = std::io::stdout().lock();
            out.write_all(text.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| format!("writing to standard output: {e}"))
        });
    }

    /// Spark's `saveAsTextFiles(prefix, suffix)`: each batch into the directory
    /// `prefix-<batch ms>[.suffix]`, one `part-NNNNN` file per partition and a `_SUCCESS`
    /// marker. The directory appears whole: it is written under a temporary name and renamed.
    pub fn save_as_text_files(&self, prefix: &str, suffix: &str)
    where
        T: SparkString,
    {
        let (prefix, suffix) = (prefix.to_string(), suffix.to_string());
        self.register(format!("saveAsTextFiles({prefix})"), move |cx, rdd| {
            let Some(rdd) = cx.at_driver(rdd, None) else {
                return Ok(());
            };
            let dir = batch_dir(&prefix, &suffix, cx.time);
            save_partitions(cx, &dir, rdd)
        });
    }

    /// Spark's `foreachPartition`: hands each partition of each batch to `sink`, in parallel.
    pub fn foreach_partition<S>(&self, sink: S)
    where
        S: PartitionSink<T> + 'static,
    {
        let sink = Arc::new(sink);
        self.register(
            format!("foreachPartition({})", sink.name()),
            move |cx, rdd| {
                let time = cx.time;
                let tasks = present(rdd)
                    .map(|(i, p)| {
                        let sink = sink.clone();
                        Arc::new(move |_: &Attempt| sink.write_partition(time, i, &mut p()))
                            as Task<()>
                    })
                    .collect();
                write_all(cx, tasks, sink.idempotent())
            },
        );
    }
}

/// Where an output operation's partitions go.
pub trait PartitionSink<T>: Send + Sync {
    /// A name for messages.
    fn name(&self) -> String;
    /// Writes one partition of batch `time`; an error fails the attempt, which runs again
    /// (then the batch's job, which runs again later).
    fn write_partition(
        &self,
        time: BatchTime,
        partition: usize,
        records: &mut dyn Iterator<Item = T>,
    ) -> Result<(), String>;
    /// Whether two attempts writing the same partition, also at the same time, leave one
    /// copy of it: only then may a slow partition be written speculatively.
    fn idempotent(&self) -> bool {
        false
    }
}

/// Runs an output operation's tasks. A task that kept panicking fails the job at once
/// (the scheduler's batch failure policy decides what follows); one that kept returning
/// an error (a sink that is down) makes the job fail with it and be tried again later.
fn write_all(cx: &BatchCx<'_>, tasks: Vec<Task<()>>, speculate: bool) -> Result<(), String> {
    match cx.try_run_tasks(tasks, speculate) {
        Ok(_) => Ok(()),
        Err(failure) if failure.panicked => std::panic::resume_unwind(Box::new(failure)),
        Err(failure) => Err(failure.to_string()),
    }
}

fn batch_dir(prefix: &str, suffix: &str, time: BatchTime) -> PathBuf {
    if suffix.is_empty() {
        PathBuf::from(format!("{prefix}-{}", time.0))
    } else {
        PathBuf::from(format!("{prefix}-{}.{suffix}", time.0))
    }
}

/// Writes a batch's directory: each attempt of a partition writes a file of its own in a
/// scratch directory, and the attempt allowed to commit moves it into place, so attempts
/// running at once (a retry, a speculative copy) never write the same file.
fn save_partitions<T: SparkString + Send + 'static>(
    cx: &BatchCx<'_>,
    dir: &Path,
    rdd: Rdd<T>,
) -> Result<(), String> {
    let io = |e: std::io::Error| format!("{}: {e}", dir.display());
    let parent = dir
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(parent).map_err(io)?;
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let attempts = parent.join(format!(".{name}.attempts-{}", std::process::id()));
    for d in [&tmp, &attempts] {
        if d.exists() {
            std::fs::remove_dir_all(d).map_err(io)?;
        }
        std::fs::create_dir_all(d).map_err(io)?;
    }
    let tasks = present(rdd)
        .map(|(i, p)| {
            let (tmp, attempts) = (tmp.clone(), attempts.clone());
            Arc::new(move |a: &Attempt| {
                let scratch = attempts.join(format!("part-{i:05}.{}", a.number));
                let written = (|| -> std::io::Result<bool> {
                    let mut w = std::io::BufWriter::new(std::fs::File::create(&scratch)?);
                    let mut line = String::new();
                    for x in p() {
                        line.clear();
                        x.write_spark(&mut line);
                        line.push('\n');
                        w.write_all(line.as_bytes())?;
                    }
                    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
                    if !a.can_commit() {
                        return Ok(false);
                    }
                    std::fs::rename(&scratch, tmp.join(format!("part-{i:05}")))?;
                    Ok(true)
                })();
                if !matches!(written, Ok(true)) {
                    let _ = std::fs::remove_file(&scratch);
                }
                written
                    .map(|_| ())
                    .map_err(|e| format!("{}: {e}", scratch.display()))
            }) as Task<()>
        })
        .collect();
    write_all(cx, tasks, true)?;
    let _ = std::fs::remove_dir_all(&attempts);
    std::fs::File::create(tmp.join("_SUCCESS")).map_err(io)?;
    if dir.exists() {
        // A batch run again after recovery replaces its earlier output.
        std::fs::remove_dir_all(dir).map_err(io)?;
    }
    std::fs::rename(&tmp, dir).map_err(io)
}

/// The hasher shuffles partition by: fixed, so a key lands in the same partition in every
/// process and every run.
fn shuffle_hasher() -> foldhash::fast::FixedState {
    foldhash::fast::FixedState::with_seed(0x5ca1_ab1e)
}

type ShuffleMap<K, V> = HashMap<K, V, foldhash::fast::FixedState>;

/// The shuffle behind `combine_by_key` and `reduce_by_key`: each input partition folds
/// its records into one combiner per key and output partition (map-side combine), then
/// each output partition merges the combiners of its keys.
struct CombineByKey<K, V, C, FC, FV, FM> {
    parent: Arc<dyn Node<(K, V)>>,
    create: Arc<FC>,
    merge_value: Arc<FV>,
    merge_combiners: Arc<FM>,
    combiner: std::marker::PhantomData<fn() -> C>,
}

impl<K, V, C, FC, FV, FM> Node<(K, C)> for CombineByKey<K, V, C, FC, FV, FM>
where
    K: Hash + Eq + Data,
    V: Send + 'static,
    C: Default + Data,
    FC: Fn(V) -> C + Send + Sync + 'static,
    FV: Fn(C, V) -> C + Send + Sync + 'static,
    FM: Fn(C, C) -> C + Send + Sync + 'static,
{
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<(K, C)> {
        let n = cx.settings.shuffle_partitions.max(1);
        let map_side = present(self.parent.compute(cx))
            .map(|(_, p)| {
                let (create, merge_value) = (self.create.clone(), self.merge_value.clone());
                task(p, move |records| {
                    let hasher = shuffle_hasher();
                    let mut buckets: Vec<ShuffleMap<K, C>> = (0..n)
                        .map(|_| HashMap::with_capacity_and_hasher(1024, hasher.clone()))
                        .collect();
                    for (k, v) in records {
                        let bucket = &mut buckets[(hasher.hash_one(&k) % n as u64) as usize];
                        match bucket.get_mut(&k) {
                            Some(slot) => {
                                let old = std::mem::take(slot);
                                *slot = merge_value(old, v);
                            }
                            None => {
                                bucket.insert(k, create(v));
                            }
                        }
                    }
                    buckets
                })
            })
            .collect();
        let mut by_partition: Vec<Vec<ShuffleMap<K, C>>> = (0..n).map(|_| Vec::new()).collect();
        for buckets in cx.run_tasks(map_side) {
            for (i, b) in buckets.into_iter().enumerate() {
                if !b.is_empty() {
                    by_partition[i].push(b);
                }
            }
        }
        if cx.cluster.is_some() {
            // A partition another worker owns: its combiners merged here, then sent there.
            let merge = &*self.merge_combiners;
            let out: Vec<(usize, Vec<(K, C)>)> = by_partition
                .iter_mut()
                .enumerate()
                .filter(|(r, maps)| !cx.owns(*r) && !maps.is_empty())
                .map(|(r, maps)| {
                    let mut merged = maps.pop().expect("not empty");
                    for m in maps.drain(..) {
                        for (k, c) in m {
                            combine(&mut merged, k, c, merge);
                        }
                    }
                    (r, merged.into_iter().collect())
                })
                .collect();
            for (r, pairs) in cx.send_to_owners(out) {
                let mut m = HashMap::with_capacity_and_hasher(pairs.len(), shuffle_hasher());
                m.extend(pairs);
                by_partition[r].push(m);
            }
        }
        // The map side's output stays as it is, shared: each run of a reduce partition
        // (a retry, a speculative copy) merges its combiners again, like a reduce task
        // reading shuffle files.
        let parts = by_partition
            .into_iter()
            .enumerate()
            .map(|(r, mut maps)| {
                if !cx.owns(r) {
                    return None;
                }
                maps.sort_by_key(|m| std::cmp::Reverse(m.len()));
                let maps = Arc::new(maps);
                let merge = self.merge_combiners.clone();
                Some(Arc::new(move || match &maps[..] {
                    [] => Box::new(std::iter::empty()) as Records<(K, C)>,
                    [_] => {
                        let keys: Vec<(K, C)> = maps[0]
                            .iter()
                            .map(|(k, c)| (k.clone(), c.clone()))
                            .collect();
                        Box::new(keys.into_iter())
                    }
                    [largest, rest @ ..] => {
                        let mut merged = largest.clone();
                        for m in rest {
                            for (k, c) in m {
                                combine(&mut merged, k.clone(), c.clone(), &*merge);
                            }
                        }
                        Box::new(merged.into_iter())
                    }
                }) as Partition<(K, C)>)
            })
            .collect();
        Rdd { parts }
    }
}

type Reducer<V> = Arc<dyn Fn(V, V) -> V + Send + Sync>;

/// Which keys an incremental window keeps (Spark's `filterFunc`).
pub type KeepKey<K, V> = fn(&(K, V)) -> bool;

/// An incrementally maintained keyed window (`reduce_by_key_and_window_inv`).
struct InvWindow<K, V> {
    /// Each batch reduced by key, hash partitioned like the state.
    per_batch: Arc<dyn Node<(K, V)>>,
    f: Reducer<V>,
    inv: Reducer<V>,
    keep: Option<KeepKey<K, V>>,
    length_ms: u64,
    slide_ms: u64,
    step_ms: u64,
    /// The window last computed: its time and its per-partition maps.
    state: Mutex<Memo<Vec<ShuffleMap<K, V>>>>,
}

impl<K, V> InvWindow<K, V>
where
    K: Hash + Eq + Data,
    V: Data,
{
    /// The per-batch reductions of the batches in `(from, to]` after the zero time, by partition.
    fn batches(&self, cx: &BatchCx<'_>, from: u64, to: u64, n: usize) -> Vec<Vec<(K, V)>> {
        let mut by_part: Vec<Vec<(K, V)>> = (0..n).map(|_| Vec::new()).collect();
        let mut s = from + self.step_ms;
        while s <= to {
            if s > cx.zero.0 {
                let rdd = self.per_batch.compute(&cx.at(BatchTime(s)));
                for (i, recs) in cx.run_present(rdd, |records| records.collect::<Vec<_>>()) {
                    by_part[i % n].extend(recs);
                }
            }
            s += self.step_ms;
        }
        by_part
    }
}

impl<K, V> Node<(K, V)> for InvWindow<K, V>
where
    K: Hash + Eq + Data,
    V: Data,
{
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<(K, V)> {
        let n = cx.settings.shuffle_partitions.max(1);
        let t = cx.time.0;
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let maps = match state.as_ref() {
            Some((at, maps)) if at.0 == t => maps.clone(),
            previous => {
                let prev = previous
                    .filter(|(at, m)| at.0 + self.slide_ms == t && m.len() == n)
                    .map(|(_, m)| m.clone());
                let (base, entered, left): (Vec<ShuffleMap<K, V>>, _, _) = match prev {
                    // Slide the previous window: add what entered, subtract what left.
                    Some(prev) => (
                        prev.iter().cloned().collect(),
                        self.batches(cx, t - self.slide_ms, t, n),
                        self.batches(
                            cx,
                            (t - self.slide_ms).saturating_sub(self.length_ms),
                            t.saturating_sub(self.length_ms),
                            n,
                        ),
                    ),
                    // No previous window: reduce the whole window.
                    None => (
                        (0..n)
                            .map(|_| HashMap::with_hasher(shuffle_hasher()))
                            .collect(),
                        self.batches(cx, t.saturating_sub(self.length_ms), t, n),
                        (0..n).map(|_| Vec::new()).collect(),
                    ),
                };
                let tasks: Vec<_> = base
                    .into_iter()
                    .zip(entered.into_iter().zip(left))
                    .map(|(mut map, (entered, left))| {
                        let (f, inv, keep) = (self.f.clone(), self.inv.clone(), self.keep);
                        move || {
                            for (k, v) in entered {
                                let merged = match map.remove(&k) {
                                    Some(old) => f(old, v),
                                    None => v,
                                };
                                map.insert(k, merged);
                            }
                            for (k, v) in left {
                                if let Some(old) = map.remove(&k) {
                                    map.insert(k, inv(old, v));
                                }
                            }
                            if let Some(keep) = keep {
                                map.retain(|k, v| keep(&(k.clone(), v.clone())));
                            }
                            map
                        }
                    })
                    .collect();
                let maps = Arc::new(cx.exec.run_once(tasks));
                *state = Some((cx.time, maps.clone()));
                maps
            }
        };
        let parts = (0..maps.len()).map(|i| {
            let maps = maps.clone();
            Arc::new(move || {
                let items: Vec<(K, V)> = maps[i]
                    .iter()
                    .map(|(k, v)| (k.clone(), v.clone()))
                    .collect();
                Box::new(items.into_iter()) as Records<(K, V)>
            }) as Partition<(K, V)>
        });
        Rdd {
            parts: cx.owned(parts),
        }
    }
}

type StateMap<K, S> = HashMap<K, S, foldhash::fast::FixedState>;

/// The state of `update_state_by_key`: one map per shuffle partition, and the batch last
/// applied, so a batch is applied once however many outputs read it. A batch's outputs
/// read the maps themselves (shared, not copied); by the next batch they have let go, and
/// the maps are updated in place.
struct StateStore<K, S> {
    maps: Vec<Arc<StateMap<K, S>>>,
    last: Option<BatchTime>,
}

/// The batch a stateful node last computed, with its result: a batch is applied to the
/// state once, however many outputs read it.
type Memo<T> = Option<(BatchTime, Arc<T>)>;

type UpdateFn<V, S> = Arc<dyn Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync>;

struct StateByKey<K, V, S> {
    /// The new values of each key in the batch, hash partitioned.
    parent: Arc<dyn Node<(K, Vec<V>)>>,
    f: UpdateFn<V, S>,
    state: Mutex<StateStore<K, S>>,
}

impl<K, V, S> Node<(K, S)> for StateByKey<K, V, S>
where
    K: Hash + Eq + Data,
    V: Send + 'static,
    S: Data,
{
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<(K, S)> {
        let mut store = self.state.lock().unwrap_or_else(|e| e.into_inner());
        if store.last != Some(cx.time) {
            let n = cx.settings.shuffle_partitions.max(1);
            let mut maps = std::mem::take(&mut store.maps);
            maps.resize_with(n, || Arc::new(HashMap::with_hasher(shuffle_hasher())));
            let updates = self.parent.compute(cx).parts;
            // The parent is hash partitioned the same way: partition i updates map i.
            let tasks: Vec<_> = maps
                .into_iter()
                .zip(aligned(updates))
                .map(|(map, part)| {
                    let f = self.f.clone();
                    move || {
                        // Unshared once the last batch's outputs are done: no copy.
                        let mut map = Arc::try_unwrap(map).unwrap_or_else(|m| (*m).clone());
                        for (k, vs) in part.map(|p| p()).into_iter().flatten() {
                            let old = map.remove(&k);
                            if let Some(new) = f(vs, old) {
                                map.insert(k, new);
                            }
                        }
                        Arc::new(map)
                    }
                })
                .collect();
            store.maps = cx.exec.run_once(tasks);
            store.last = Some(cx.time);
        }
        let parts = store.maps.iter().map(|map| {
            let map = map.clone();
            Arc::new(move || {
                let pairs: Vec<(K, S)> = map.iter().map(|(k, s)| (k.clone(), s.clone())).collect();
                Box::new(pairs.into_iter()) as Records<(K, S)>
            }) as Partition<(K, S)>
        });
        Rdd {
            parts: cx.owned(parts),
        }
    }
}

/// `(K, S)` as Rust names it: a keyed state's type, for checkpoint fingerprints.
fn pair_type<K, S>() -> String {
    format!(
        "({}, {})",
        std::any::type_name::<K>(),
        std::any::type_name::<S>()
    )
}

/// Spreads `(key, value)` pairs over `n` maps by the shuffle hash.
fn spread<K: Hash + Eq, T>(
    pairs: Vec<(K, T)>,
    n: usize,
) -> Vec<HashMap<K, T, foldhash::fast::FixedState>> {
    let hasher = shuffle_hasher();
    let mut maps: Vec<_> = (0..n.max(1))
        .map(|_| HashMap::with_hasher(shuffle_hasher()))
        .collect();
    let len = maps.len() as u64;
    for (k, v) in pairs {
        maps[(hasher.hash_one(&k) % len) as usize].insert(k, v);
    }
    maps
}

impl<K, V, S> Stateful for StateByKey<K, V, S>
where
    K: Hash + Eq + Data,
    V: Send + 'static,
    S: Data,
{
    fn state_type(&self) -> String {
        pair_type::<K, S>()
    }

    fn snapshot(&self) -> Option<(BatchTime, Vec<u8>)> {
        let store = self.state.lock().unwrap_or_else(|e| e.into_inner());
        let t = store.last?;
        let pairs: Vec<(&K, &S)> = store.maps.iter().flat_map(|m| m.iter()).collect();
        Some((t, postcard::to_allocvec(&pairs).ok()?))
    }

    fn restore(&self, _: BatchTime, bytes: &[u8], partitions: usize) -> Result<(), String> {
        let pairs: Vec<(K, S)> = postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
        let mut store = self.state.lock().unwrap_or_else(|e| e.into_inner());
        store.maps = spread(pairs, partitions)
            .into_iter()
            .map(Arc::new)
            .collect();
        store.last = None;
        Ok(())
    }
}

/// A key's state as `map_with_state`'s function sees it (Spark's `State`).
#[derive(Debug)]
pub struct State<S> {
    value: Option<S>,
    timing_out: bool,
}

impl<S> State<S> {
    pub fn exists(&self) -> bool {
        self.value.is_some()
    }

    pub fn get(&self) -> Option<&S> {
        self.value.as_ref()
    }

    /// Sets the state; ignored for a key that is timing out, which is dropped regardless.
    pub fn update(&mut self, s: S) {
        if !self.timing_out {
            self.value = Some(s);
        }
    }

    pub fn remove(&mut self) {
        self.value = None;
    }

    /// True in the last call for a key whose timeout passed.
    pub fn is_timing_out(&self) -> bool {
        self.timing_out
    }
}

/// The two streams `map_with_state` gives: the function's results, and every key's state
/// after each batch (Spark's `stateSnapshots()`).
pub struct MapWithState<K, S, U> {
    pub mapped: DStream<U>,
    pub snapshots: DStream<(K, S)>,
}

/// One batch of `map_with_state`, by partition: results and state snapshot.
type MapWithStateOutput<K, S, U> = (Vec<Vec<U>>, Vec<Vec<(K, S)>>);

type MapFn<K, V, S, U> = Arc<dyn Fn(&K, Option<V>, &mut State<S>) -> U + Send + Sync>;

/// A key's state and the time of its last record.
struct Keyed<S> {
    value: S,
    last_seen: u64,
}

/// One partition's states, with a queue of (deadline, key) so that timeouts visit only
/// keys that are due; an entry whose key was seen since is skipped when reached.
struct KeyedPartition<K, S> {
    states: HashMap<K, Keyed<S>, foldhash::fast::FixedState>,
    deadlines: std::collections::VecDeque<(u64, K)>,
}

struct KeyedStore<K, S, U> {
    parts: Vec<KeyedPartition<K, S>>,
    last: Memo<MapWithStateOutput<K, S, U>>,
}

struct MapWithStateNode<K, V, S, U> {
    parent: Arc<dyn Node<(K, Vec<V>)>>,
    f: MapFn<K, V, S, U>,
    timeout_ms: Option<u64>,
    store: Mutex<KeyedStore<K, S, U>>,
}

impl<K, V, S, U> MapWithStateNode<K, V, S, U>
where
    K: Hash + Eq + Data,
    V: Send + 'static,
    S: Data,
    U: Send + Sync + 'static,
{
    fn output(&self, cx: &BatchCx<'_>) -> Arc<MapWithStateOutput<K, S, U>> {
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        if let Some((t, out)) = &store.last {
            if *t == cx.time {
                return out.clone();
            }
        }
        let n = cx.settings.shuffle_partitions.max(1);
        let mut parts = std::mem::take(&mut store.parts);
        parts.resize_with(n, || KeyedPartition {
            states: HashMap::with_hasher(shuffle_hasher()),
            deadlines: Default::default(),
        });
        let updates = self.parent.compute(cx).parts;
        let now = cx.time.0;
        let timeout = self.timeout_ms;
        let tasks: Vec<_> = parts
            .into_iter()
            .zip(aligned(updates))
            .map(|(mut part, records)| {
                let f = self.f.clone();
                move || {
                    let mut mapped = Vec::new();
                    for (k, vs) in records.map(|p| p()).into_iter().flatten() {
                        let mut state = State {
                            value: part.states.remove(&k).map(|s| s.value),
                            timing_out: false,
                        };
                        for v in vs {
                            mapped.push(f(&k, Some(v), &mut state));
                        }
                        if let Some(value) = state.value {
                            if let Some(t) = timeout {
                                part.deadlines.push_back((now + t, k.clone()));
                            }
                            part.states.insert(
                                k,
                                Keyed {
                                    value,
                                    last_seen: now,
                                },
                            );
                        }
                    }
                    if let Some(t) = timeout {
                        while part.deadlines.front().is_some_and(|(due, _)| *due <= now) {
                            let (_, k) = part.deadlines.pop_front().expect("front exists");
                            let due = part.states.get(&k).is_some_and(|s| s.last_seen + t <= now);
                            if due {
                                let old = part.states.remove(&k).map(|s| s.value);
                                let mut state = State {
                                    value: old,
                                    timing_out: true,
                                };
                                mapped.push(f(&k, None, &mut state));
                            }
                        }
                    }
                    let snapshot: Vec<(K, S)> = part
                        .states
                        .iter()
                        .map(|(k, s)| (k.clone(), s.value.clone()))
                        .collect();
                    (part, mapped, snapshot)
                }
            })
            .collect();
        let mut mapped_all = Vec::new();
        let mut snaps = Vec::new();
        for (part, mapped, snap) in cx.exec.run_once(tasks) {
            store.parts.push(part);
            mapped_all.push(mapped);
            snaps.push(snap);
        }
        let out = Arc::new((mapped_all, snaps));
        store.last = Some((cx.time, out.clone()));
        out
    }
}

impl<K, V, S, U> Stateful for MapWithStateNode<K, V, S, U>
where
    K: Hash + Eq + Data,
    V: Send + 'static,
    S: Data,
    U: Send + Sync + 'static,
{
    fn state_type(&self) -> String {
        pair_type::<K, S>()
    }

    /// Each key with its state and the time of its last record (its timeout follows).
    fn snapshot(&self) -> Option<(BatchTime, Vec<u8>)> {
        let store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        let (t, _) = store.last.as_ref()?;
        let keys: Vec<(&K, &S, u64)> = store
            .parts
            .iter()
            .flat_map(|p| p.states.iter().map(|(k, s)| (k, &s.value, s.last_seen)))
            .collect();
        Some((*t, postcard::to_allocvec(&keys).ok()?))
    }

    fn restore(&self, _: BatchTime, bytes: &[u8], partitions: usize) -> Result<(), String> {
        let keys: Vec<(K, S, u64)> = postcard::from_bytes(bytes).map_err(|e| e.to_string())?;
        let maps = spread(
            keys.into_iter()
                .map(|(k, value, last_seen)| (k, Keyed { value, last_seen }))
                .collect(),
            partitions,
        );
        let parts = maps
            .into_iter()
            .map(|states| {
                let mut due: Vec<(u64, K)> = match self.timeout_ms {
                    Some(t) => states
                        .iter()
                        .map(|(k, s)| (s.last_seen + t, k.clone()))
                        .collect(),
                    None => Vec::new(),
                };
                due.sort_by_key(|(d, _)| *d);
                KeyedPartition {
                    states,
                    deadlines: due.into(),
                }
            })
            .collect();
        let mut store = self.store.lock().unwrap_or_else(|e| e.into_inner());
        store.parts = parts;
        store.last = None;
        Ok(())
    }
}

/// One of the two streams of a shared computation (`map_with_state`'s results or snapshots).
struct Projection<K, V, S, U, T> {
    node: Arc<MapWithStateNode<K, V, S, U>>,
    pick: Pick<K, S, U, T>,
}

/// Which half of `map_with_state`'s output a projection reads.
type Pick<K, S, U, T> = fn(&MapWithStateOutput<K, S, U>) -> &Vec<Vec<T>>;

impl<K, V, S, U, T> Node<T> for Projection<K, V, S, U, T>
where
    K: Hash + Eq + Data,
    V: Send + 'static,
    S: Data,
    U: Send + Sync + 'static,
    T: Clone + Send + 'static,
{
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<T> {
        let out = self.node.output(cx);
        let pick = self.pick;
        let parts = (0..pick(&out).len()).map(|i| {
            let out = out.clone();
            Arc::new(move || {
                let out = out.clone();
                let n = pick(&out)[i].len();
                Box::new((0..n).map(move |j| pick(&out)[i][j].clone())) as Records<T>
            }) as Partition<T>
        });
        Rdd {
            parts: cx.owned(parts),
        }
    }
}

/// The parent's partitions, then `None` forever: paired with a stateful node's partitions,
/// partition i of the (same-hash) parent updates state partition i, and state partitions
/// beyond the parent's (or, in a cluster, another worker's) get no records.
fn aligned<T>(updates: Vec<Option<Partition<T>>>) -> impl Iterator<Item = Option<Partition<T>>> {
    updates.into_iter().chain(std::iter::repeat_with(|| None))
}

/// The values as options, or one `None` when there are none: an outer join's missing side.
fn or_none<T>(xs: Vec<T>) -> Vec<Option<T>> {
    if xs.is_empty() {
        vec![None]
    } else {
        xs.into_iter().map(Some).collect()
    }
}

/// Every `(k, (v, w))` for `v` in `vs`, `w` in `ws`.
fn pairs<K: Clone, A: Clone, B: Clone>(k: K, vs: Vec<A>, ws: Vec<B>) -> Vec<(K, (A, B))> {
    let mut out = Vec::with_capacity(vs.len() * ws.len());
    for v in &vs {
        for w in &ws {
            out.push((k.clone(), (v.clone(), w.clone())));
        }
    }
    out
}

/// Both sides of a batch hash partitioned by key and grouped (`cogroup`, the joins).
struct CoGroup<K, V, W> {
    left: Arc<dyn Node<(K, V)>>,
    right: Arc<dyn Node<(K, W)>>,
}

type Buckets<K, T> = Vec<Vec<(K, T)>>;

/// Both sides' records of one cogroup partition.
type CoGroupInput<K, V, W> = (Vec<(K, V)>, Vec<(K, W)>);

/// A key with a value from either stream or both: what `fullOuterJoin` produces.
pub type FullOuterJoined<K, V, W> = (K, (Option<V>, Option<W>));

/// A key with its values from two streams: what `cogroup` produces.
pub type CoGrouped<K, V, W> = (K, (Vec<V>, Vec<W>));

/// Splits every partition of `rdd` into `n` buckets by key hash, in parallel.
fn bucket<K: Hash + Send + 'static, T: Send + 'static>(
    cx: &BatchCx<'_>,
    rdd: Rdd<(K, T)>,
    n: usize,
) -> Vec<Buckets<K, T>> {
    let tasks = present(rdd)
        .map(|(_, p)| {
            task(p, move |records| {
                let hasher = shuffle_hasher();
                let mut out: Buckets<K, T> = (0..n).map(|_| Vec::new()).collect();
                for (k, v) in records {
                    out[(hasher.hash_one(&k) % n as u64) as usize].push((k, v));
                }
                out
            })
        })
        .collect();
    cx.run_tasks(tasks)
}

impl<K, V, W> Node<CoGrouped<K, V, W>> for CoGroup<K, V, W>
where
    K: Hash + Eq + Data,
    V: Data,
    W: Data,
{
    fn compute(&self, cx: &BatchCx<'_>) -> Rdd<CoGrouped<K, V, W>> {
        let n = cx.settings.shuffle_partitions.max(1);
        let mut left: Vec<Vec<Vec<(K, V)>>> = (0..n).map(|_| Vec::new()).collect();
        for buckets in bucket(cx, self.left.compute(cx), n) {
            for (i, b) in buckets.into_iter().enumerate() {
                left[i].push(b);
            }
        }
        let mut right: Vec<Vec<Vec<(K, W)>>> = (0..n).map(|_| Vec::new()).collect();
        for buckets in bucket(cx, self.right.compute(cx), n) {
            for (i, b) in buckets.into_iter().enumerate() {
                right[i].push(b);
            }
        }
        if cx.cluster.is_some() {
            // A partition another worker owns: both sides' records sent there.
            let out: Vec<(usize, CoGroupInput<K, V, W>)> = (0..n)
                .filter(|r| !cx.owns(*r))
                .map(|r| {
                    let l = std::mem::take(&mut left[r]).into_iter().flatten().collect();
                    let w = std::mem::take(&mut right[r])
                        .into_iter()
                        .flatten()
                        .collect();
                    (r, (l, w))
                })
                .collect();
            for (r, (l, w)) in cx.send_to_owners(out) {
                left[r].push(l);
                right[r].push(w);
            }
        }
        // Each run of a partition groups the shared buckets again (see `CombineByKey`).
        let parts = left.into_iter().zip(right).map(|sides| {
            let sides = Arc::new(sides);
            Arc::new(move || {
                let mut groups: HashMap<K, (Vec<V>, Vec<W>), foldhash::fast::FixedState> =
                    HashMap::with_hasher(shuffle_hasher());
                for (k, v) in sides.0.iter().flatten() {
                    groups.entry(k.clone()).or_default().0.push(v.clone());
                }
                for (k, w) in sides.1.iter().flatten() {
                    groups.entry(k.clone()).or_default().1.push(w.clone());
                }
                Box::new(groups.into_iter()) as Records<CoGrouped<K, V, W>>
            }) as Partition<_>
        });
        Rdd {
            parts: cx.owned(parts),
        }
    }
}

fn combine<K: Hash + Eq, V: Default>(
    map: &mut ShuffleMap<K, V>,
    k: K,
    v: V,
    f: &impl Fn(V, V) -> V,
) {
    match map.get_mut(&k) {
        Some(slot) => {
            let old = std::mem::take(slot);
            *slot = f(old, v);
        }
        None => {
            map.insert(k, v);
        }
    }
}

impl<K, V> DStream<(K, V)>
where
    K: Hash + Eq + Data,
    V: Default + Data,
{
    /// Spark's `mapValues`: `f` applied to each value, keys kept.
    pub fn map_values<W, F>(&self, f: F) -> DStream<(K, W)>
    where
        W: Data,
        F: Fn(V) -> W + Send + Sync + 'static,
    {
        self.map(move |(k, v)| (k, f(v)))
    }

    /// Spark's `flatMapValues`: each value of `f`'s result paired with the key.
    pub fn flat_map_values<W, I, F>(&self, f: F) -> DStream<(K, W)>
    where
        W: Data,
        I: IntoIterator<Item = W> + 'static,
        I::IntoIter: Send + 'static,
        F: Fn(V) -> I + Send + Sync + 'static,
    {
        self.flat_map(move |(k, v)| f(v).into_iter().map(move |w| (k.clone(), w)))
    }

    /// Spark's `groupByKey`: per batch, every value of each key, hash partitioned.
    pub fn group_by_key(&self) -> DStream<(K, Vec<V>)> {
        self.map(|(k, v)| (k, vec![v])).reduce_by_key(|mut a, b| {
            a.extend(b);
            a
        })
    }

    /// Spark's `updateStateByKey`, touching only the keys that got data: per batch, `f`
    /// gets each such key's new values and its state so far (`None` for a new key) and
    /// returns the new state (`None` removes the key). The stream carries every key's
    /// state after the batch. Keys without new data are not visited (Spark visits every
    /// key every batch); expire them with `mapWithState`'s timeouts instead.
    pub fn update_state_by_key<S, F>(&self, f: F) -> DStream<(K, S)>
    where
        K: Serialize + DeserializeOwned,
        S: Data,
        F: Fn(Vec<V>, Option<S>) -> Option<S> + Send + Sync + 'static,
    {
        let node = Arc::new(StateByKey {
            parent: self.group_by_key().node,
            f: Arc::new(f),
            state: Mutex::new(StateStore {
                maps: Vec::new(),
                last: None,
            }),
        });
        self.graph.add_stateful("updateStateByKey", node.clone());
        self.derive(node)
    }

    /// Spark's `mapWithState`: `f` is called once per record with its key, its value and
    /// the key's state, and its results form the returned stream. With a timeout, a key
    /// that got no record for that long is called once more with no value and a state
    /// that `is_timing_out()`, then dropped. Only keys with records or a due timeout are
    /// visited.
    pub fn map_with_state<S, U, F>(
        &self,
        timeout: Option<std::time::Duration>,
        f: F,
    ) -> MapWithState<K, S, U>
    where
        K: Serialize + DeserializeOwned,
        S: Data,
        U: Data,
        F: Fn(&K, Option<V>, &mut State<S>) -> U + Send + Sync + 'static,
    {
        let node = Arc::new(MapWithStateNode {
            parent: self.group_by_key().node,
            f: Arc::new(f),
            timeout_ms: timeout.map(|t| t.as_millis() as u64),
            store: Mutex::new(KeyedStore {
                parts: Vec::new(),
                last: None,
            }),
        });
        self.graph.add_stateful("mapWithState", node.clone());
        MapWithState {
            mapped: self.derive(Arc::new(Projection {
                node: node.clone(),
                pick: |o: &MapWithStateOutput<K, S, U>| &o.0,
            })),
            snapshots: self.derive(Arc::new(Projection {
                node,
                pick: |o: &MapWithStateOutput<K, S, U>| &o.1,
            })),
        }
    }

    /// Spark's `cogroup`: per batch, each key of either stream with all its values from
    /// this one and from `other`, hash partitioned.
    pub fn cogroup<W: Data>(&self, other: &DStream<(K, W)>) -> DStream<CoGrouped<K, V, W>> {
        self.derive(Arc::new(CoGroup {
            left: self.node.clone(),
            right: other.node.clone(),
        }))
    }

    /// Spark's `join`: per batch, every pairing of a value of this stream with a value of
    /// `other` under the same key.
    pub fn join<W>(&self, other: &DStream<(K, W)>) -> DStream<(K, (V, W))>
    where
        W: Data,
    {
        self.cogroup(other)
            .flat_map(|(k, (vs, ws))| pairs(k, vs, ws))
    }

    /// Spark's `leftOuterJoin`: as `join`, and keys only this stream has, with `None`.
    pub fn left_outer_join<W>(&self, other: &DStream<(K, W)>) -> DStream<(K, (V, Option<W>))>
    where
        W: Data,
    {
        self.cogroup(other).flat_map(|(k, (vs, ws))| {
            let ws = or_none(ws);
            pairs(k, vs, ws)
        })
    }

    /// Spark's `rightOuterJoin`: as `join`, and keys only `other` has, with `None`.
    pub fn right_outer_join<W>(&self, other: &DStream<(K, W)>) -> DStream<(K, (Option<V>, W))>
    where
        W: Data,
    {
        self.cogroup(other).flat_map(|(k, (vs, ws))| {
            let vs = or_none(vs);
            pairs(k, vs, ws)
        })
    }

    /// Spark's `fullOuterJoin`: as `join`, and keys only one stream has, with `None`.
    pub fn full_outer_join<W>(&self, other: &DStream<(K, W)>) -> DStream<FullOuterJoined<K, V, W>>
    where
        W: Data,
    {
        self.cogroup(other).flat_map(|(k, (vs, ws))| {
            let vs = or_none(vs);
            let ws = or_none(ws);
            pairs(k, vs, ws)
        })
    }

    /// Spark's `reduceByKey`: per batch, the values of each key folded with `f`, hash
    /// partitioned into `shuffle_partitions` partitions.
    pub fn reduce_by_key<F>(&self, f: F) -> DStream<(K, V)>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        self.combine_by_key(|v| v, move |a, b| f(a, b), move |a, b| g(a, b))
    }

    /// Spark's `reduceByKeyAndWindow` with an inverse function: every `slide`, each key's
    /// values over the last `length`, kept incrementally — the previous window's result,
    /// plus the batches that entered (with `f`), minus those that left (with `inv`). Keys
    /// for which `keep` is false afterwards (say, a count back to 0) are dropped.
    pub fn reduce_by_key_and_window_inv<F, G>(
        &self,
        f: F,
        inv: G,
        length: std::time::Duration,
        slide: std::time::Duration,
        keep: Option<KeepKey<K, V>>,
    ) -> crate::Result<DStream<(K, V)>>
    where
        F: Fn(V, V) -> V + Send + Sync + 'static,
        G: Fn(V, V) -> V + Send + Sync + 'static,
    {
        let f = Arc::new(f);
        let g = f.clone();
        let per_batch = self.reduce_by_key(move |a, b| g(a, b));
        // Validates the durations and remembers the batches a slide must subtract.
        let window = per_batch.window(length, slide)?;
        let own = self.slide_ms.unwrap_or(self.graph.batch_ms);
        let (length_ms, slide_ms) = (length.as_millis() as u64, slide.as_millis() as u64);
        self.graph.remember_ms.fetch_max(
            length_ms + slide_ms + own,
            std::sync::atomic::Ordering::Relaxed,
        );
        Ok(DStream {
            node: Arc::new(InvWindow {
                per_batch: per_batch.node,
                f,
                inv: Arc::new(inv),
                keep,
                length_ms,
                slide_ms,
                step_ms: own,
                state: Mutex::new(None),
            }),
            graph: self.graph.clone(),
            slide_ms: window.slide_ms,
        })
    }

    /// Spark's `combineByKey`: per batch, each key's values folded into a combiner —
    /// `create` makes one from a key's first value in a partition, `merge_value` adds a
    /// value, `merge_combiners` joins the combiners of different partitions.
    pub fn combine_by_key<C, FC, FV, FM>(
        &self,
        create: FC,
        merge_value: FV,
        merge_combiners: FM,
    ) -> DStream<(K, C)>
    where
        C: Default + Data,
        FC: Fn(V) -> C + Send + Sync + 'static,
        FV: Fn(C, V) -> C + Send + Sync + 'static,
        FM: Fn(C, C) -> C + Send + Sync + 'static,
    {
        self.derive(Arc::new(CombineByKey {
            parent: self.node.clone(),
            create: Arc::new(create),
            merge_value: Arc::new(merge_value),
            merge_combiners: Arc::new(merge_combiners),
            combiner: std::marker::PhantomData,
        }))
    }
}

impl<T, S: PartitionSink<T> + ?Sized> PartitionSink<T> for Arc<S> {
    fn name(&self) -> String {
        (**self).name()
    }

    fn write_partition(
        &self,
        time: BatchTime,
        partition: usize,
        records: &mut dyn Iterator<Item = T>,
    ) -> Result<(), String> {
        (**self).write_partition(time, partition, records)
    }

    fn idempotent(&self) -> bool {
        (**self).idempotent()
    }
}
