//! The same pipeline on one worker and on a timely cluster of three gives the same
//! results, batch by batch: on a manual clock, fed the same blocks, every output compared
//! exactly — shuffles (reduceByKey, groupByKey, join), windows recomputed and incremental,
//! count, repartition and transform, whose records cross workers, and state
//! (updateStateByKey, mapWithState with a timeout) across a restart from a checkpoint,
//! each worker keeping and restoring its own keys.

use sluice_runtime::cluster::{Cluster, ClusterOptions};
use sluice_runtime::receiver::{Receiver, ReceiverContext};
use sluice_runtime::{BatchTime, Clock, DStream, ManualClock, Settings, StreamingContext};
use std::collections::{BTreeMap, VecDeque};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Blocks to store, taken one at a time; `stored` counts those in the tracker.
#[derive(Clone, Default)]
struct Feed {
    pending: Arc<Mutex<VecDeque<Vec<String>>>>,
    stored: Arc<AtomicUsize>,
}

impl Receiver for Feed {
    fn name(&self) -> String {
        "feed".into()
    }
    fn on_start(&mut self, cx: &ReceiverContext) {
        let (feed, cx2) = (self.clone(), cx.clone());
        cx.spawn(async move {
            while !cx2.is_stopped() {
                let next = feed.pending.lock().unwrap().pop_front();
                match next {
                    Some(lines) => {
                        cx2.store_block(lines.iter().map(String::as_str))
                            .await
                            .unwrap();
                        feed.stored.fetch_add(1, Ordering::SeqCst);
                    }
                    None => tokio::time::sleep(Duration::from_millis(1)).await,
                }
            }
        });
    }
}

/// Per output, per batch time, the records it saw (sorted).
type Outputs = Arc<Mutex<BTreeMap<&'static str, BTreeMap<u64, Vec<String>>>>>;

fn record<T: sluice_runtime::dstream::Data + std::fmt::Debug>(
    s: &DStream<T>,
    name: &'static str,
    out: &Outputs,
) {
    let out = out.clone();
    s.foreach_rdd(move |records, t| {
        let mut lines: Vec<String> = records.iter().map(|r| format!("{r:?}")).collect();
        lines.sort();
        out.lock()
            .unwrap()
            .entry(name)
            .or_default()
            .insert(t.0, lines);
    });
}

/// The pipeline under test: every kind of operator whose records cross workers.
fn build(ssc: &mut StreamingContext, feed: Feed, out: &Outputs) {
    let lines = ssc.receiver_stream(feed);
    let words = lines
        .flat_map(sluice_runtime::builtins::split)
        .map(|w| (w, 1i64));
    let counts = words.reduce_by_key(|a, b| a + b);
    record(&counts, "reduceByKey", out);
    record(
        &words
            .reduce_by_key_and_window_inv(
                |a, b| a + b,
                |a, b| a - b,
                Duration::from_secs(3),
                Duration::from_secs(1),
                Some(|(_, n): &(String, i64)| *n != 0),
            )
            .unwrap(),
        "reduceByKeyAndWindow(inverse)",
        out,
    );
    record(
        &lines
            .window(Duration::from_secs(2), Duration::from_secs(1))
            .unwrap()
            .count(),
        "window.count",
        out,
    );
    record(
        &words
            .group_by_key()
            .map(|(k, vs)| (k, vs.iter().sum::<i64>())),
        "groupByKey",
        out,
    );
    record(&counts.join(&counts.map_values(|c| c * 10)), "join", out);
    record(
        &lines.repartition(4).glom().map(|p| p.len()),
        "repartition.glom",
        out,
    );
    record(
        &lines.transform(|mut all: Vec<String>| {
            all.sort();
            all.dedup();
            all
        }),
        "transform",
        out,
    );
    record(
        &words.map(|(w, _)| w.len() as i64).reduce(|a, b| a.max(b)),
        "reduce",
        out,
    );
    record(
        &words.update_state_by_key(|vs: Vec<i64>, s: Option<i64>| {
            Some(s.unwrap_or(0) + vs.iter().sum::<i64>())
        }),
        "updateStateByKey",
        out,
    );
    let seen = words.map_with_state(
        Some(Duration::from_secs(2)),
        |k: &String, v: Option<i64>, s: &mut sluice_runtime::State<i64>| {
            let n = s.get().copied().unwrap_or(0) + v.unwrap_or(0);
            if !s.is_timing_out() {
                s.update(n);
            }
            format!("{k}:{n}:{}", s.is_timing_out())
        },
    );
    record(&seen.mapped, "mapWithState", out);
    record(&seen.snapshots, "mapWithState.snapshots", out);
}

const BATCHES: [&[&[&str]]; 6] = [
    &[&["a b a", "c"], &["b b"], &["d a", "e f g"], &["a"]],
    &[&["x y"], &["a a a b"], &["c c"]],
    &[],
    &[&["y x"], &["b"], &["q r s t u v w"], &["a"], &["z"]],
    &[&["a b c d e f"]],
    &[&["a"], &["p"]],
];

/// The restart comes after this many batches.
const BEFORE_RESTART: usize = 3;

fn settings(dir: &std::path::Path) -> Settings {
    Settings {
        batch_interval: Duration::from_secs(1),
        block_interval: Duration::from_millis(50),
        shuffle_partitions: 5,
        checkpoint_dir: Some(dir.to_path_buf()),
        ..Settings::default()
    }
}

type Results = BTreeMap<&'static str, BTreeMap<u64, Vec<String>>>;

/// Runs [`BATCHES`] through the pipeline on `workers` workers of one process, stopping
/// and starting again from its checkpoint after [`BEFORE_RESTART`] of them.
fn run(workers: usize) -> Results {
    let dir = tempfile::tempdir().unwrap();
    let mut all = run_part(workers, dir.path(), 10_000, &BATCHES[..BEFORE_RESTART]);
    let later = run_part(
        workers,
        dir.path(),
        10_000 + 1_000 * BEFORE_RESTART as u64,
        &BATCHES[BEFORE_RESTART..],
    );
    for (name, batches) in later {
        all.entry(name).or_default().extend(batches);
    }
    all
}

/// Runs `batches` from `start_ms` on, on a context that resumes from `dir`.
fn run_part(
    workers: usize,
    dir: &std::path::Path,
    start_ms: u64,
    batches: &[&[&[&str]]],
) -> Results {
    let mut cluster = (workers > 1)
        .then(|| Cluster::join(&ClusterOptions::new(workers, 1, 0, None).unwrap()).unwrap());
    let mut links = cluster
        .as_mut()
        .map(|c| std::mem::take(&mut c.links))
        .unwrap_or_default()
        .into_iter();
    let driver_link = links.next();
    let out = Outputs::default();
    let clock = Arc::new(ManualClock::new(start_ms));
    let feed = Feed::default();
    let mut ssc = StreamingContext::with_clock(settings(dir), clock.clone()).unwrap();
    build(&mut ssc, feed.clone(), &out);
    std::thread::scope(|scope| {
        for link in links {
            scope.spawn(move || {
                let mut follower = StreamingContext::new(settings(dir)).unwrap();
                build(&mut follower, Feed::default(), &Outputs::default());
                follower.follow_cluster(&link).unwrap();
            });
        }
        if let Some(link) = driver_link {
            ssc.drive_cluster(link).unwrap();
        }
        ssc.start().unwrap();
        let mut blocks = 0;
        for batch in batches {
            for block in *batch {
                feed.pending
                    .lock()
                    .unwrap()
                    .push_back(block.iter().map(|s| s.to_string()).collect());
                blocks += 1;
            }
            while feed.stored.load(Ordering::SeqCst) < blocks {
                std::thread::sleep(Duration::from_millis(1));
            }
            // Past a block interval, so every stored block is cut before the batch.
            clock.advance(100);
            std::thread::sleep(Duration::from_millis(20));
            clock.advance(900);
            let want = BatchTime(clock.now_ms());
            while ssc.last_completed_batch() != Some(want) {
                std::thread::sleep(Duration::from_millis(2));
            }
        }
        ssc.stop(false).unwrap();
    });
    drop(ssc);
    if let Some(c) = cluster {
        c.wait().unwrap();
    }
    let got = out.lock().unwrap().clone();
    got
}

#[test]
fn three_workers_give_exactly_what_one_gives_batch_by_batch() {
    let local = run(1);
    assert_eq!(local.len(), 11, "every output ran: {:?}", local.keys());
    // The state went on from the checkpoint: `a` counted over every batch.
    assert!(
        local["updateStateByKey"][&16_000].contains(&"(\"a\", 10)".to_string()),
        "{:?}",
        local["updateStateByKey"]
    );
    // The reference itself is right where it is easy to tell.
    assert_eq!(
        local["reduceByKey"][&11_000],
        [
            "(\"a\", 4)",
            "(\"b\", 3)",
            "(\"c\", 1)",
            "(\"d\", 1)",
            "(\"e\", 1)",
            "(\"f\", 1)",
            "(\"g\", 1)"
        ]
    );
    let cluster = run(3);
    for (name, batches) in &local {
        assert_eq!(batches, &cluster[name], "{name}");
    }
}

/// Each worker keeps its own keys' state: a checkpoint written by three workers does not
/// resume on one (which would lose two thirds of the keys), and says so before starting.
#[test]
fn a_checkpoint_of_three_workers_does_not_resume_on_one() {
    let dir = tempfile::tempdir().unwrap();
    let three = run_part(3, dir.path(), 10_000, &BATCHES[..2]);
    assert!(three["updateStateByKey"].contains_key(&12_000));
    let mut ssc =
        StreamingContext::with_clock(settings(dir.path()), Arc::new(ManualClock::new(12_000)))
            .unwrap();
    build(&mut ssc, Feed::default(), &Outputs::default());
    let err = ssc.start().expect_err("refused").to_string();
    assert!(err.contains("kept by 3 worker(s)"), "{err}");
}
