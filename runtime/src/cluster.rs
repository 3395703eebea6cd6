//! Running one pipeline on a timely dataflow cluster.
//!
//! Every process runs the same pipeline binary with timely's options (`--workers W
//! --processes N --process I --hostfile F`); each timely worker computes a share of every
//! batch with the same operator code as local mode. A batch's partitions each belong to one
//! worker (the owner of partition `i` is worker `i % peers`); a worker computes the
//! partitions it owns and holds the others as absent. Where records must meet — a shuffle
//! by key, an output the driver writes — they cross workers through one long-lived timely
//! dataflow: each crossing is an epoch in which every worker sends its outgoing records,
//! routed by timely's `Exchange` to their destination worker, and the epoch is over for a
//! worker when its probe's frontier has passed it, so every worker has everything addressed
//! to it. All workers make the same crossings in the same order, because they run the same
//! graph over the same batches: the crossings of batch t are that batch's epochs.
//!
//! Worker 0 of process 0 is the driver: it alone runs the batch clock, the receivers and
//! direct sources, the tracker and its write-ahead log, checkpoints and the listener; each
//! batch begins with a crossing in which it hands every worker the batch's input blocks
//! that worker owns. A lost process ends the whole cluster (fail-stop): the survivors exit,
//! and a restart of every process resumes from the driver's log and checkpoint.

use crate::block::{Block, StreamId};
use crate::checkpoint;
use crate::direct::{DirectId, DirectSource, OffsetRange};
use crate::dstream::{BatchCx, BatchInputs, OutputOp, Stateful};
use crate::executor::Executor;
use crate::listener::ListenerBus;
use crate::settings::Settings;
use crate::time::BatchTime;
use crate::tracker::AllocatedBlocks;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use std::cell::RefCell;
use std::collections::BTreeMap;
use std::rc::Rc;
use std::sync::{mpsc, Arc};
use timely::container::CapacityContainerBuilder;
use timely::dataflow::channels::pact::Pipeline;
use timely::dataflow::operators::generic::operator::Operator;
use timely::dataflow::operators::{Exchange, Input, Probe};
use timely::dataflow::{InputHandle, ProbeHandle};

/// Where this process sits in a cluster, as timely's options say it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ClusterOptions {
    /// Worker threads per process.
    pub workers: usize,
    /// Processes in the cluster.
    pub processes: usize,
    /// This process's index, `0..processes`; process 0 is the driver.
    pub process: usize,
    /// `host:port` of every process, in process order.
    pub addresses: Vec<String>,
    /// How long to wait for every process to connect before giving up (timely itself
    /// would wait for ever, for a process that may have died).
    pub connect_timeout: std::time::Duration,
}

impl ClusterOptions {
    /// The options of timely's command line; `hostfile` holds one `host:port` per line,
    /// and without it process `i` listens on `localhost:2101+i` (timely's default).
    pub fn new(
        workers: usize,
        processes: usize,
        process: usize,
        hostfile: Option<&std::path::Path>,
    ) -> Result<Self, String> {
        if workers == 0 || processes == 0 {
            return Err("--workers and --processes must be at least 1".into());
        }
        if process >= processes {
            return Err(format!(
                "--process {process} is not below --processes {processes}"
            ));
        }
        let addresses = match hostfile {
            Some(path) => {
                let text = std::fs::read_to_string(path)
                    .map_err(|e| format!("hostfile {}: {e}", path.display()))?;
                let hosts: Vec<String> = text
                    .lines()
                    .map(str::trim)
                    .filter(|l| !l.is_empty() && !l.starts_with('#'))
                    .map(String::from)
                    .collect();
                if hosts.len() < processes {
                    return Err(format!(
                        "hostfile {} names {} process(es), --processes is {processes}",
                        path.display(),
                        hosts.len()
                    ));
                }
                hosts.into_iter().take(processes).collect()
            }
            None => (0..processes)
                .map(|i| format!("localhost:{}", 2101 + i))
                .collect(),
        };
        Ok(ClusterOptions {
            workers,
            processes,
            process,
            addresses,
            connect_timeout: std::time::Duration::from_secs(60),
        })
    }

    /// Whether these options ask for more than one worker.
    pub fn is_cluster(&self) -> bool {
        self.workers * self.processes > 1
    }

    fn timely_config(&self) -> timely::Config {
        let communication = if self.processes > 1 {
            timely::CommunicationConfig::Cluster {
                threads: self.workers,
                process: self.process,
                addresses: self.addresses.clone(),
                report: false,
                zerocopy: false,
            }
        } else {
            timely::CommunicationConfig::Process(self.workers)
        };
        timely::Config {
            communication,
            worker: timely::WorkerConfig::default(),
        }
    }
}

/// What a worker received, by epoch: `(source worker, encoded records)`.
type Inbox = BTreeMap<u64, Vec<(usize, Vec<u8>)>>;

/// A message of a crossing: destination worker, source worker, encoded records.
type Message = (u64, u64, Vec<u8>);

/// One crossing asked of a worker's timely thread.
struct Crossing {
    out: Vec<(usize, Vec<u8>)>,
    reply: mpsc::SyncSender<Vec<(usize, Vec<u8>)>>,
}

/// A worker's handle on the cluster, usable from any thread: what it is, and the
/// crossings its timely thread makes for it.
pub struct Link {
    index: usize,
    peers: usize,
    crossings: mpsc::Sender<Crossing>,
    /// Encoded bytes sent to other workers so far.
    sent: std::sync::atomic::AtomicU64,
}

impl Link {
    /// This worker's index among all workers of the cluster.
    pub fn index(&self) -> usize {
        self.index
    }

    /// How many workers the cluster has.
    pub fn peers(&self) -> usize {
        self.peers
    }

    /// How many encoded bytes this worker has sent to the others.
    pub fn bytes_sent(&self) -> u64 {
        self.sent.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Whether this worker is the driver (worker 0).
    pub fn is_driver(&self) -> bool {
        self.index == 0
    }

    /// The worker partition `i` of a batch belongs to.
    pub fn owner(&self, i: usize) -> usize {
        i % self.peers
    }

    /// Whether partition `i` of a batch belongs to this worker.
    pub fn owns(&self, i: usize) -> bool {
        self.owner(i) == self.index
    }

    /// One crossing: sends each `(destination worker, record)`, waits until every worker
    /// made the same crossing, and returns what was sent to this worker as `(source worker,
    /// record)`, in source order (each source's records in the order it sent them).
    ///
    /// Panics if the cluster is gone (a lost process ends every worker: fail-stop).
    pub fn exchange<T: Serialize + DeserializeOwned>(
        &self,
        out: Vec<(usize, T)>,
    ) -> Vec<(usize, T)> {
        let out: Vec<(usize, Vec<u8>)> = out
            .into_iter()
            .map(|(to, x)| {
                let bytes = postcard::to_stdvec(&x)
                    .unwrap_or_else(|e| panic!("cannot encode a record to send: {e}"));
                (to, bytes)
            })
            .collect();
        let away: usize = out
            .iter()
            .filter(|(to, _)| *to != self.index)
            .map(|(_, b)| b.len())
            .sum();
        self.sent
            .fetch_add(away as u64, std::sync::atomic::Ordering::Relaxed);
        let (reply, answer) = mpsc::sync_channel(1);
        self.crossings
            .send(Crossing { out, reply })
            .unwrap_or_else(|_| panic!("the cluster has stopped"));
        let received = answer
            .recv()
            .unwrap_or_else(|_| panic!("the cluster has stopped"));
        received
            .into_iter()
            .map(|(from, bytes)| {
                let x = postcard::from_bytes(&bytes)
                    .unwrap_or_else(|e| panic!("a record from worker {from} does not decode: {e}"));
                (from, x)
            })
            .collect()
    }
}

/// A running cluster membership: this process's workers' links, and timely's threads.
pub struct Cluster {
    /// One per worker of this process, by worker index.
    pub links: Vec<Link>,
    guards: timely::communication::WorkerGuards<()>,
}

impl Cluster {
    /// Joins the cluster (timely connects the processes: this waits for all of them) and
    /// starts this process's workers. A timely thread that panics — a peer lost — ends
    /// the process, as a lost process ends the cluster.
    pub fn join(options: &ClusterOptions) -> Result<Self, String> {
        fail_stop_on_lost_peers();
        let joined = Arc::new(std::sync::atomic::AtomicBool::new(false));
        if options.processes > 1 {
            let (joined, timeout) = (joined.clone(), options.connect_timeout);
            std::thread::spawn(move || {
                std::thread::sleep(timeout);
                if !joined.load(std::sync::atomic::Ordering::SeqCst) {
                    tracing::error!(
                        "cluster: not every process connected within {timeout:?}; stopping"
                    );
                    std::process::exit(2);
                }
            });
        }
        let (tx, rx) = mpsc::channel::<Link>();
        let tx = std::sync::Mutex::new(tx);
        let guards = timely::execute(options.timely_config(), move |worker| {
            let (crossings, requests) = mpsc::channel();
            let link = Link {
                index: worker.index(),
                peers: worker.peers(),
                crossings,
                sent: Default::default(),
            };
            if crate::lock(&tx).send(link).is_err() {
                return;
            }
            serve(worker, requests);
        })?;
        let mut links: Vec<Link> = (0..options.workers)
            .map(|_| {
                rx.recv()
                    .map_err(|_| "a timely worker did not start".to_string())
            })
            .collect::<Result<_, _>>()?;
        links.sort_by_key(Link::index);
        joined.store(true, std::sync::atomic::Ordering::SeqCst);
        tracing::info!(
            "cluster: process {} of {} connected ({} worker(s) each)",
            options.process,
            options.processes,
            options.workers
        );
        Ok(Cluster { links, guards })
    }

    /// Waits for this process's timely workers to finish (each once its links are dropped).
    pub fn wait(self) -> Result<(), String> {
        drop(self.links);
        for r in self.guards.join() {
            r?;
        }
        Ok(())
    }
}

/// A panic on one of timely's threads means the cluster is broken (a peer's connection
/// lost): exit at once rather than wait on a crossing that cannot end.
fn fail_stop_on_lost_peers() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            previous(info);
            let thread = std::thread::current();
            if thread.name().is_some_and(|n| n.starts_with("timely:")) {
                tracing::error!(
                    "cluster: {} failed; stopping this process",
                    thread.name().unwrap_or("?")
                );
                std::process::exit(3);
            }
        }));
    });
}

/// A worker's timely thread: makes the crossings asked through its link, one epoch each,
/// until the link is dropped.
fn serve(worker: &mut timely::worker::Worker, requests: mpsc::Receiver<Crossing>) {
    let me = worker.index();
    let mut input = InputHandle::<u64, CapacityContainerBuilder<Vec<Message>>>::new();
    let probe = ProbeHandle::new();
    let inbox: Rc<RefCell<Inbox>> = Rc::default();
    let arrived = inbox.clone();
    worker.dataflow::<u64, _, _>(|scope| {
        scope
            .input_from(&mut input)
            .container::<Vec<Message>>()
            .exchange(|m: &Message| m.0)
            // Takes each epoch's messages in; emits nothing. The probe after it passes an
            // epoch only once this operator consumed all of that epoch's messages.
            .unary::<CapacityContainerBuilder<Vec<()>>, _, _, _>(
                Pipeline,
                "SluiceInbox",
                move |_cap, _info| {
                    move |input, _output| {
                        input.for_each(|cap, data| {
                            let Some(&time) = cap.least() else { return };
                            let mut arrived = arrived.borrow_mut();
                            let epoch = arrived.entry(time).or_default();
                            epoch.extend(
                                data.drain(..)
                                    .map(|(_, from, bytes)| (from as usize, bytes)),
                            );
                        });
                    }
                },
            )
            .probe_with(&probe);
    });
    let mut epoch = 0u64;
    while let Ok(Crossing { out, reply }) = requests.recv() {
        for (to, bytes) in out {
            input.send((to as u64, me as u64, bytes));
        }
        epoch += 1;
        input.advance_to(epoch);
        while probe.less_than(input.time()) {
            worker.step();
        }
        let mut received = inbox.borrow_mut().remove(&(epoch - 1)).unwrap_or_default();
        received.sort_by_key(|(from, _)| *from);
        let _ = reply.send(received);
    }
}

/// A block as it travels to the worker that owns it: `(stream, id, text, records)`.
type WireBlock = (StreamId, u64, String, usize);

/// One batch's input as one worker gets it: the received blocks it owns, and `None` for
/// the others' (so indices, hence owners, are the same everywhere); and every direct
/// source's offset ranges, whose partitions each worker reads itself.
#[derive(Serialize, Deserialize, Default)]
struct Shipped {
    streams: Vec<(StreamId, Vec<Option<WireBlock>>)>,
    ranges: Vec<(DirectId, Vec<OffsetRange>)>,
}

/// What the driver tells the other workers before each batch.
#[derive(Serialize, Deserialize)]
enum Order {
    /// Run batch `time`, with its input and that of the earlier batches a window may read
    /// which this worker has not had yet.
    Batch {
        time: u64,
        zero: u64,
        inputs: Vec<(u64, Shipped)>,
        /// On the first batch after a restart from a checkpoint: the batch whose state to
        /// restore first.
        resume: Option<u64>,
    },
    /// The pipeline stopped.
    Stop,
}

/// The blocks worker `to` owns, in place; `None` for the others'.
fn ship(link: &Link, blocks: &[Arc<Block>], to: usize) -> Vec<Option<WireBlock>> {
    blocks
        .iter()
        .enumerate()
        .map(|(i, b)| (link.owner(i) == to).then(|| (b.stream, b.id, b.data.clone(), b.records)))
        .collect()
}

fn unship(blocks: Vec<Option<WireBlock>>, stream: StreamId) -> Vec<Arc<Block>> {
    blocks
        .into_iter()
        .map(|b| {
            let (stream, id, data, records) = b.unwrap_or((stream, 0, String::new(), 0));
            Arc::new(Block {
                stream,
                id,
                data,
                records,
            })
        })
        .collect()
}

/// The driver's side of a cluster: worker 0's link, and which batches' input the other
/// workers have had.
pub(crate) struct Driver {
    link: Link,
    /// Bytes of received blocks shipped to other workers so far.
    shipped: std::sync::atomic::AtomicU64,
    sent: std::sync::Mutex<std::collections::BTreeSet<BatchTime>>,
    /// The checkpoint the driver resumed from, until the others are told.
    resume: std::sync::Mutex<Option<u64>>,
}

impl Driver {
    pub fn new(link: Link, resume: Option<u64>) -> Self {
        Driver {
            link,
            shipped: Default::default(),
            sent: Default::default(),
            resume: std::sync::Mutex::new(resume),
        }
    }

    pub fn link(&self) -> &Link {
        &self.link
    }

    /// Starts batch `cx.time` on every worker: each gets the blocks it owns of this batch
    /// and of the remembered batches it has not had.
    pub fn announce(&self, cx: &BatchCx<'_>) {
        let t = cx.time;
        let from = BatchTime(t.0.saturating_sub(cx.remember_ms));
        let mut sent = crate::lock(&self.sent);
        let mut times: Vec<BatchTime> = (0..)
            .map(|k| {
                BatchTime(t.0.saturating_sub(k * cx.settings.batch_interval.as_millis() as u64))
            })
            // This batch, and those a window may still read (none without windows).
            .take_while(|b| *b >= from && *b > cx.zero)
            .filter(|b| !sent.contains(b))
            .collect();
        times.sort();
        let batches: Vec<(BatchTime, AllocatedBlocks)> = times
            .iter()
            .map(|b| {
                (
                    *b,
                    if *b == t {
                        cx.blocks.clone()
                    } else {
                        cx.tracker.blocks_of_batch(*b)
                    },
                )
            })
            .collect();
        let resume = crate::lock(&self.resume).take();
        let out = (1..self.link.peers())
            .map(|to| {
                let inputs = batches
                    .iter()
                    .map(|(b, blocks)| {
                        let shipped = Shipped {
                            streams: blocks
                                .streams
                                .iter()
                                .map(|(s, bs)| (*s, ship(&self.link, bs, to)))
                                .collect(),
                            ranges: blocks
                                .ranges
                                .iter()
                                .map(|(d, rs)| (*d, rs.clone()))
                                .collect(),
                        };
                        (b.0, shipped)
                    })
                    .collect();
                let order = Order::Batch {
                    time: t.0,
                    zero: cx.zero.0,
                    inputs,
                    resume,
                };
                (to, order)
            })
            .collect();
        let shipped: usize = batches
            .iter()
            .flat_map(|(_, blocks)| blocks.streams.values())
            .flat_map(|bs| bs.iter().enumerate())
            .filter(|(i, _)| !self.link.owns(*i))
            .map(|(_, b)| b.data.len())
            .sum();
        self.shipped
            .fetch_add(shipped as u64, std::sync::atomic::Ordering::Relaxed);
        self.link.exchange(out);
        sent.extend(times);
        *sent = sent.split_off(&from);
    }

    /// Waits until every other worker wrote its state's snapshot of batch `t`: only then
    /// may the driver commit the checkpoint of `t` (its own snapshot, written last).
    pub fn snapshots_written(&self, t: BatchTime) -> Result<(), String> {
        let acks = self.link.exchange::<Result<u64, String>>(Vec::new());
        if acks.len() + 1 != self.link.peers() {
            return Err(format!(
                "{} of {} workers acknowledged their snapshot of batch {t}",
                acks.len(),
                self.link.peers() - 1
            ));
        }
        for (from, ack) in acks {
            match ack {
                Ok(time) if time == t.0 => {}
                Ok(time) => return Err(format!("worker {from} snapshotted batch {time}, not {t}")),
                Err(e) => return Err(format!("worker {from}: {e}")),
            }
        }
        Ok(())
    }

    /// Tells every worker that the pipeline stopped.
    pub fn stop(&self) {
        let out = (1..self.link.peers()).map(|to| (to, Order::Stop)).collect();
        self.link.exchange(out);
        tracing::info!(
            "worker 0: stopped the cluster; sent {} bytes to other workers ({} of them \
             received blocks they own)",
            self.link.bytes_sent(),
            self.shipped.load(std::sync::atomic::Ordering::Relaxed)
        );
    }
}

/// The input a worker other than the driver got, by batch.
#[derive(Default)]
struct Received(std::sync::Mutex<BTreeMap<BatchTime, AllocatedBlocks>>);

impl BatchInputs for Received {
    fn blocks_of_batch(&self, t: BatchTime) -> AllocatedBlocks {
        crate::lock(&self.0).get(&t).cloned().unwrap_or_default()
    }
}

/// What a worker other than the driver needs to run its share of each batch.
pub(crate) struct Follower<'a> {
    pub link: &'a Link,
    pub outputs: Vec<Arc<OutputOp>>,
    /// The operators keeping state, by id: this worker's partitions of it.
    pub stateful: Vec<(String, Arc<dyn Stateful>)>,
    /// The direct sources, whose partitions this worker reads itself.
    pub direct: Vec<Arc<dyn DirectSource>>,
    /// Where their reads run.
    pub io: tokio::runtime::Handle,
    pub exec: &'a Executor,
    pub bus: &'a ListenerBus,
    pub settings: &'a Settings,
    pub remember_ms: u64,
}

impl Follower<'_> {
    /// Runs the batches the driver orders, its share of each output operation in
    /// definition order, until the driver stops. A failure here ends the worker (and
    /// with its process, the cluster): the driver cannot run the batch again alone.
    pub fn run(&self) -> crate::Result<()> {
        let received = Received::default();
        let (mut batches, mut partitions) = (0u64, 0usize);
        loop {
            let order = self
                .link
                .exchange::<Order>(Vec::new())
                .pop()
                .map(|(_, o)| o);
            let Some(Order::Batch {
                time,
                zero,
                inputs,
                resume,
            }) = order
            else {
                tracing::info!(
                    "worker {}: the driver stopped; ran {batches} batch(es), {partitions} \
                     input partition(s) of them here; sent {} bytes to other workers",
                    self.link.index(),
                    self.link.bytes_sent()
                );
                return Ok(());
            };
            let t = BatchTime(time);
            {
                let mut all = crate::lock(&received.0);
                for (b, shipped) in inputs {
                    let mut fetched = BTreeMap::new();
                    for (d, ranges) in &shipped.ranges {
                        fetched.insert(*d, self.fetch(BatchTime(b), *d, ranges)?);
                    }
                    let blocks = AllocatedBlocks {
                        streams: shipped
                            .streams
                            .into_iter()
                            .map(|(s, bs)| (s, unship(bs, s)))
                            .collect(),
                        ranges: shipped.ranges.into_iter().collect(),
                        fetched,
                    };
                    all.insert(BatchTime(b), blocks);
                }
                *all = all.split_off(&BatchTime(time.saturating_sub(self.remember_ms)));
            }
            if let Some(at) = resume {
                self.restore(at)?;
            }
            let blocks = received.blocks_of_batch(t);
            batches += 1;
            partitions += (blocks.streams.values().chain(blocks.fetched.values()))
                .flat_map(|bs| bs.iter().enumerate())
                .filter(|(i, _)| self.link.owns(*i))
                .count();
            let cx = BatchCx {
                time: t,
                blocks,
                tracker: &received,
                exec: self.exec,
                bus: self.bus,
                settings: self.settings,
                zero: BatchTime(zero),
                remember_ms: self.remember_ms,
                cluster: Some(self.link),
            };
            for op in self.outputs.iter().filter(|op| op.due(t, cx.zero)) {
                op.run_caught(&cx).map_err(|e| crate::Error::Job {
                    op: op.name.clone(),
                    batch: t,
                    message: format!("on worker {}: {e}", self.link.index()),
                })?;
            }
            if let Some(dir) = self.snapshot_dir() {
                // This worker's share of the checkpoint of `t`; the driver commits it once
                // every worker's is written.
                let cp = checkpoint::take(
                    time,
                    self.settings.batch_interval.as_millis() as u64,
                    &self.stateful,
                );
                let written = checkpoint::write(&dir, &cp)
                    .map(|_| time)
                    .map_err(|e| e.to_string());
                self.link.exchange(vec![(0, written)]);
            }
        }
    }

    /// Reads the partitions of direct source `d` this worker owns in `ranges` (a few
    /// tries: a broker may be briefly away); the others' are empty here.
    fn fetch(
        &self,
        batch: BatchTime,
        d: DirectId,
        ranges: &[OffsetRange],
    ) -> crate::Result<Vec<Arc<Block>>> {
        let source = self.direct.get(d).cloned().ok_or_else(|| {
            crate::Error::Settings(format!(
                "the driver reads direct source {d}, this worker has none"
            ))
        })?;
        let mut delay = std::time::Duration::from_millis(100);
        let mut attempt = 0;
        loop {
            attempt += 1;
            let owns = |j: usize| self.link.owns(j);
            match self.io.block_on(crate::scheduler::fetch_ranges(
                source.clone(),
                d,
                ranges,
                owns,
            )) {
                Ok(blocks) => return Ok(blocks.into_iter().map(|(b, _)| b).collect()),
                Err(e) if attempt >= 5 => {
                    return Err(crate::Error::Job {
                        op: format!("reading {}", source.name()),
                        batch,
                        message: format!("on worker {}: {e}", self.link.index()),
                    })
                }
                Err(_) => {
                    std::thread::sleep(delay);
                    delay *= 2;
                }
            }
        }
    }

    /// Where this worker keeps its share of the checkpoints: `worker-I` in the checkpoint
    /// directory, when the pipeline keeps state.
    fn snapshot_dir(&self) -> Option<std::path::PathBuf> {
        let dir = self.settings.checkpoint_dir.as_ref()?;
        (!self.stateful.is_empty()).then(|| dir.join(format!("worker-{}", self.link.index())))
    }

    /// Restores this worker's state as of the checkpoint of batch `at`.
    fn restore(&self, at: u64) -> crate::Result<()> {
        let Some(dir) = self.snapshot_dir() else {
            return Ok(());
        };
        checkpoint::at(&dir, at)
            .and_then(|cp| {
                checkpoint::restore(&cp, &self.stateful, self.settings.shuffle_partitions)
            })
            .map_err(|e| crate::Error::Checkpoint(format!("worker {}: {e}", self.link.index())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three workers cross twice: each gets exactly what was addressed to it, by source.
    #[test]
    fn every_worker_gets_what_was_sent_to_it_in_source_order() {
        let options = ClusterOptions::new(3, 1, 0, None).unwrap();
        let cluster = Cluster::join(&options).unwrap();
        std::thread::scope(|s| {
            for link in &cluster.links {
                s.spawn(move || {
                    for round in 0..2u32 {
                        let me = link.index() as u32;
                        let out = (0..3)
                            .flat_map(|to| (0..2).map(move |k| (to, (round, me, to as u32, k))))
                            .collect();
                        let got = link.exchange::<(u32, u32, u32, u32)>(out);
                        let expected: Vec<(usize, (u32, u32, u32, u32))> = (0..3u32)
                            .flat_map(|from| {
                                (0..2).map(move |k| (from as usize, (round, from, me, k)))
                            })
                            .collect();
                        assert_eq!(got, expected);
                    }
                });
            }
        });
        cluster.wait().unwrap();
    }
}
