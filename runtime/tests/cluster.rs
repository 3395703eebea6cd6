//! The same pipeline on one worker and on a timely cluster of three gives the same
//! results, batch by batch: on a manual clock, fed the same blocks, every output compared
//! exactly — shuffles (reduceByKey, groupByKey, join), windows recomputed and incremental,
//! count, repartition and transform, whose records cross workers.

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
}

const BATCHES: [&[&[&str]]; 5] = [
    &[&["a b a", "c"], &["b b"], &["d a", "e f g"], &["a"]],
    &[&["x y"], &["a a a b"], &["c c"]],
    &[],
    &[&["y x"], &["b"], &["q r s t u v w"], &["a"], &["z"]],
    &[&["a b c d e f"]],
];

fn settings() -> Settings {
    Settings {
        batch_interval: Duration::from_secs(1),
        block_interval: Duration::from_millis(50),
        shuffle_partitions: 5,
        ..Settings::default()
    }
}

/// Runs [`BATCHES`] through the pipeline on `workers` workers of one process.
fn run(workers: usize) -> BTreeMap<&'static str, BTreeMap<u64, Vec<String>>> {
    let mut cluster = (workers > 1)
        .then(|| Cluster::join(&ClusterOptions::new(workers, 1, 0, None).unwrap()).unwrap());
    let mut links = cluster
        .as_mut()
        .map(|c| std::mem::take(&mut c.links))
        .unwrap_or_default()
        .into_iter();
    let driver_link = links.next();
    let out = Outputs::default();
    let clock = Arc::new(ManualClock::new(10_000));
    let feed = Feed::default();
    let mut ssc = StreamingContext::with_clock(settings(), clock.clone()).unwrap();
    build(&mut ssc, feed.clone(), &out);
    std::thread::scope(|scope| {
        for link in links {
            scope.spawn(move || {
                let mut follower = StreamingContext::new(settings()).unwrap();
                build(&mut follower, Feed::default(), &Outputs::default());
                follower.follow_cluster(&link).unwrap();
            });
        }
        if let Some(link) = driver_link {
            ssc.drive_cluster(link).unwrap();
        }
        ssc.start().unwrap();
        let mut blocks = 0;
        for batch in BATCHES {
            for block in batch {
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
    assert_eq!(local.len(), 8, "every output ran: {:?}", local.keys());
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
