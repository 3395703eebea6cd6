//! The Kafka direct source against a real Kafka-protocol broker that `scripts/test.sh`
//! starts (tansu): every record is read by exactly one batch, `maxRatePerPartition` caps
//! each batch, and after a failed batch a restart reads exactly the logged ranges again,
//! then goes on after them.

mod common;

use common::{kafka, record_batches, service, Events, Seen};
use sluice_runtime::direct::kafka::KafkaSpec;
use sluice_runtime::direct::StartAt;
use sluice_runtime::settings::BatchFailure;
use sluice_runtime::{Settings, StreamingContext, StreamingEvent, Termination};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

const PARTITIONS: usize = 3;

/// Creates `topic` with [`PARTITIONS`] partitions and writes `n` records `r{i} w{i % 7}`,
/// record `i` to partition `i % PARTITIONS`, in record batches of 97.
fn produce(broker: &str, topic: &str, n: usize) -> kafka::Topic {
    produce_in_batches(broker, topic, n, 97)
}

fn produce_in_batches(broker: &str, topic: &str, n: usize, batch: usize) -> kafka::Topic {
    let t = kafka::Topic::create(broker, topic, PARTITIONS as i32);
    for p in 0..PARTITIONS {
        let lines: Vec<String> = (0..n)
            .filter(|i| i % PARTITIONS == p)
            .map(|i| format!("r{i} w{}", i % 7))
            .collect();
        // Several produce requests, so the partitions hold several record batches.
        for chunk in lines.chunks(batch) {
            t.produce(p, chunk);
        }
    }
    t
}

fn topic_name(test: &str) -> String {
    format!(
        "{test}-{}-{}",
        std::process::id(),
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_millis()
    )
}

fn context(
    broker: &str,
    topic: &str,
    dir: &std::path::Path,
    max_rate: u64,
    fail_batch: Option<usize>,
) -> (StreamingContext, Seen, Arc<Events>) {
    let settings = Settings {
        batch_interval: Duration::from_millis(100),
        checkpoint_dir: Some(dir.to_path_buf()),
        max_rate_per_partition: max_rate,
        on_batch_failure: BatchFailure::Stop,
        ..Settings::default()
    };
    context_with(broker, topic, settings, fail_batch)
}

fn context_with(
    broker: &str,
    topic: &str,
    settings: Settings,
    fail_batch: Option<usize>,
) -> (StreamingContext, Seen, Arc<Events>) {
    let mut ssc = StreamingContext::new(settings).unwrap();
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let mut spec = KafkaSpec::new(broker, topic);
    spec.start = StartAt::Earliest;
    let seen = record_batches(&ssc.kafka_stream(spec), fail_batch);
    (ssc, seen, events)
}

fn all_records(n: usize) -> Vec<String> {
    let mut v: Vec<String> = (0..n).map(|i| format!("r{i} w{}", i % 7)).collect();
    v.sort();
    v
}

/// Waits for `cond`; on a timeout, fails with the warnings and retries the context posted.
fn eventually(events: &Events, what: &str, mut cond: impl FnMut() -> bool) {
    for _ in 0..600 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    let trouble: Vec<String> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter(|e| {
            matches!(
                e,
                StreamingEvent::Warning(_) | StreamingEvent::BatchRetrying { .. }
            )
        })
        .map(|e| format!("{e:?}"))
        .collect();
    panic!("not reached in 30 s: {what}; the context said: {trouble:#?}");
}

fn seen_records(seen: &Seen) -> Vec<String> {
    let mut v: Vec<String> = seen.lock().unwrap().values().flatten().cloned().collect();
    v.sort();
    v
}

#[test]
fn every_record_lands_in_one_batch_and_the_rate_caps_each_batch() {
    let Some(broker) = service("SLUICE_TEST_KAFKA_BROKER") else {
        return;
    };
    let topic = topic_name("capped");
    let n = 3_000;
    produce(&broker, &topic, n);
    let dir = tempfile::tempdir().unwrap();
    // 2 000 records/s per partition at 100 ms batches: at most 200 per partition a batch.
    let (mut ssc, seen, events) = context(&broker, &topic, dir.path(), 2_000, None);
    ssc.start().unwrap();
    eventually(&events, "every record was read", || {
        seen_records(&seen).len() >= n
    });
    ssc.stop(true).unwrap();
    assert_eq!(
        seen_records(&seen),
        all_records(n),
        "each record exactly once"
    );
    let sizes: Vec<usize> = seen.lock().unwrap().values().map(Vec::len).collect();
    assert!(
        sizes.iter().all(|s| *s <= 200 * PARTITIONS),
        "capped batches: {sizes:?}"
    );
    assert!(sizes.len() >= 5, "the cap spread the topic: {sizes:?}");
    // The listener's input size is the ranges' size.
    let counted: u64 = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::BatchCompleted(b) => Some(b.records),
            _ => None,
        })
        .sum();
    assert_eq!(counted, n as u64);
}

/// Ranges that start inside a record batch — here every range but the first, each
/// partition being one batch of 20 — are read whole.
#[test]
fn ranges_inside_one_record_batch_are_read_whole() {
    let Some(broker) = service("SLUICE_TEST_KAFKA_BROKER") else {
        return;
    };
    let topic = topic_name("inside");
    let n = 60;
    produce_in_batches(&broker, &topic, n, 20);
    let dir = tempfile::tempdir().unwrap();
    // 30 records/s per partition at 100 ms batches: 3 records per partition a batch.
    let (mut ssc, seen, events) = context(&broker, &topic, dir.path(), 30, None);
    ssc.start().unwrap();
    eventually(&events, "every record was read", || {
        seen_records(&seen).len() >= n
    });
    ssc.stop(true).unwrap();
    assert_eq!(seen_records(&seen), all_records(n));
    assert!(seen.lock().unwrap().len() >= 7, "3 a partition a batch");
}

/// Under backpressure, a batch's share of the estimated rate goes to the partitions in
/// proportion to how far behind each is (Spark's `maxMessagesPerPartition`).
#[test]
fn backpressure_splits_the_rate_across_partitions_by_lag() {
    let Some(broker) = service("SLUICE_TEST_KAFKA_BROKER") else {
        return;
    };
    let topic = topic_name("lagged");
    let t = kafka::Topic::create(&broker, &topic, 3);
    let part =
        |p: usize, n: usize| -> Vec<String> { (0..n).map(|i| format!("p{p} {i}")).collect() };
    t.produce(0, &part(0, 1_200));
    t.produce(1, &part(1, 300));
    let dir = tempfile::tempdir().unwrap();
    let settings = Settings {
        batch_interval: Duration::from_millis(100),
        checkpoint_dir: Some(dir.path().to_path_buf()),
        backpressure: true,
        backpressure_initial_rate: 1_000,
        ..Settings::default()
    };
    let (mut ssc, seen, events) = context_with(&broker, &topic, settings, None);
    ssc.start().unwrap();
    eventually(&events, "every record was read", || {
        seen_records(&seen).len() >= 1_500
    });
    ssc.stop(true).unwrap();
    let mut want: Vec<String> = part(0, 1_200).into_iter().chain(part(1, 300)).collect();
    want.sort();
    assert_eq!(seen_records(&seen), want, "each record exactly once");
    // The first batch: 1 000/s for 100 ms, 4/5 of the lag on partition 0.
    let seen = seen.lock().unwrap();
    let first = seen.values().next().unwrap();
    let from = |p: &str| first.iter().filter(|r| r.starts_with(p)).count();
    assert_eq!((from("p0 "), from("p1 ")), (80, 20), "{first:?}");
}

#[test]
fn a_restart_reads_the_logged_ranges_of_an_unfinished_batch_again_then_goes_on() {
    let Some(broker) = service("SLUICE_TEST_KAFKA_BROKER") else {
        return;
    };
    let topic = topic_name("replayed");
    let n = 2_400;
    produce(&broker, &topic, n);
    let dir = tempfile::tempdir().unwrap();
    let (mut ssc, seen, _) = context(&broker, &topic, dir.path(), 1_000, Some(3));
    ssc.start().unwrap();
    let ended = ssc.await_termination(Some(Duration::from_secs(30)));
    assert!(matches!(ended, Termination::Failed(_)), "{ended:?}");
    assert!(ssc.stop(false).is_err());
    drop(ssc);
    let first_run = seen.lock().unwrap().clone();
    let (&failed_at, failed_records) = first_run.iter().next_back().unwrap();
    assert_eq!(first_run.len(), 3);

    // New records after the crash must come after the logged ranges, never inside them.
    let (mut ssc, seen, events) = context(&broker, &topic, dir.path(), 1_000, None);
    ssc.start().unwrap();
    eventually(&events, "the rest was read", || {
        let done: usize = first_run.values().take(2).map(Vec::len).sum();
        seen_records(&seen).len() + done >= n
    });
    ssc.stop(true).unwrap();
    let second_run = seen.lock().unwrap().clone();
    assert_eq!(
        second_run.get(&failed_at),
        Some(failed_records),
        "the unfinished batch ran again, at its time, on the same records"
    );
    let mut all: Vec<String> = first_run
        .range(..failed_at)
        .chain(second_run.iter())
        .flat_map(|(_, r)| r.clone())
        .collect();
    all.sort();
    assert_eq!(all, all_records(n), "0 lost, 0 duplicated");
}

/// SPARK-20050: a graceful stop left the last batch's offsets uncommitted, so a restart
/// read it again. Here the last batch's completion is logged before the stop returns: a
/// restart reads nothing twice and goes on with what arrives after.
#[test]
fn after_a_graceful_stop_a_restart_reads_nothing_again() {
    let Some(broker) = service("SLUICE_TEST_KAFKA_BROKER") else {
        return;
    };
    let topic = topic_name("graceful");
    let n = 900;
    let t = produce(&broker, &topic, n);
    let dir = tempfile::tempdir().unwrap();
    let (mut ssc, seen, events) = context(&broker, &topic, dir.path(), 0, None);
    ssc.start().unwrap();
    eventually(&events, "the topic was read", || {
        seen_records(&seen).len() >= n
    });
    ssc.stop(true).unwrap();
    drop(ssc);

    let (mut ssc, seen, events) = context(&broker, &topic, dir.path(), 0, None);
    ssc.start().unwrap();
    // More records, in the same partitions, after the restart.
    t.produce(1, &["after the restart".to_string()]);
    eventually(&events, "the new record was read", || {
        !seen_records(&seen).is_empty()
    });
    std::thread::sleep(Duration::from_millis(300));
    ssc.stop(true).unwrap();
    assert_eq!(seen_records(&seen), ["after the restart"]);
}

/// A window after a restart is whole: the batches it looks back at from before the crash
/// are read again from their logged ranges (a restart keeps no fetched records). Each
/// window's counts must equal the counts of the batches it covers, as the raw stream saw
/// them in either run.
#[test]
fn a_window_after_a_restart_covers_the_batches_before_the_crash() {
    let Some(broker) = service("SLUICE_TEST_KAFKA_BROKER") else {
        return;
    };
    let topic = topic_name("windowed");
    let n = 900;
    produce(&broker, &topic, n);
    let dir = tempfile::tempdir().unwrap();
    type PerBatch = Arc<Mutex<BTreeMap<u64, BTreeMap<String, i64>>>>;
    let raw = PerBatch::default();
    let windows = PerBatch::default();
    let run = |fail_at: Option<usize>| {
        let mut ssc = StreamingContext::new(Settings {
            batch_interval: Duration::from_millis(100),
            checkpoint_dir: Some(dir.path().to_path_buf()),
            max_rate_per_partition: 300,
            on_batch_failure: BatchFailure::Stop,
            ..Settings::default()
        })
        .unwrap();
        let mut spec = KafkaSpec::new(&broker, &topic);
        spec.start = StartAt::Earliest;
        let words = ssc
            .kafka_stream(spec)
            .map(|r| r.split_once(' ').map(|(_, w)| w.to_string()).unwrap_or(r));
        let out = raw.clone();
        words.foreach_rdd(move |ws, t| {
            let mut counts = BTreeMap::new();
            for w in ws {
                *counts.entry(w).or_insert(0) += 1;
            }
            out.lock().unwrap().insert(t.0, counts);
        });
        let out = windows.clone();
        let with_data = Arc::new(Mutex::new(0usize));
        words
            .map(|w| (w, 1i64))
            .reduce_by_key_and_window_inv(
                |a, b| a + b,
                |a, b| a - b,
                Duration::from_millis(500),
                Duration::from_millis(100),
                Some(|(_, n): &(String, i64)| *n != 0),
            )
            .unwrap()
            .foreach_rdd(move |pairs, t| {
                if pairs.is_empty() {
                    return;
                }
                out.lock().unwrap().insert(t.0, pairs.into_iter().collect());
                let mut k = with_data.lock().unwrap();
                *k += 1;
                if Some(*k) == fail_at {
                    panic!("the window's output fails at {t}");
                }
            });
        ssc.start().unwrap();
        ssc
    };
    let mut ssc = run(Some(4));
    let ended = ssc.await_termination(Some(Duration::from_secs(30)));
    assert!(matches!(ended, Termination::Failed(_)), "{ended:?}");
    let _ = ssc.stop(false);
    drop(ssc);
    let crashed_at = *windows.lock().unwrap().keys().next_back().unwrap();
    let mut ssc = run(None);
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    eventually(&events, "the topic was read", || {
        raw.lock()
            .unwrap()
            .values()
            .flat_map(|c| c.values())
            .sum::<i64>()
            >= n as i64
    });
    // Until the last records have slid out of the window.
    std::thread::sleep(Duration::from_millis(700));
    ssc.stop(true).unwrap();
    let raw = raw.lock().unwrap();
    let windows = windows.lock().unwrap();
    let after: Vec<&u64> = windows.keys().filter(|t| **t > crashed_at).collect();
    assert!(!after.is_empty(), "windows after the restart");
    for (t, got) in windows.iter() {
        let mut want: BTreeMap<String, i64> = BTreeMap::new();
        for (_, counts) in raw.range(t.saturating_sub(499)..=*t) {
            for (w, c) in counts {
                *want.entry(w.clone()).or_default() += c;
            }
        }
        assert_eq!(got, &want, "the window at {t} (crash at {crashed_at})");
    }
}
