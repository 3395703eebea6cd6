//! Per-batch operators with Spark's meaning, on queued batches and a manual clock, so
//! every batch's input and output is exact.

mod common;

use sluice_runtime::settings::BatchFailure;
use sluice_runtime::{BatchTime, DStream, ManualClock, PartitionSink, Settings, StreamingContext};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// Collects each batch's elements, by batch time.
struct Collect<T>(Arc<Mutex<BTreeMap<u64, Vec<T>>>>);

impl<T: Send> PartitionSink<T> for Collect<T> {
    fn name(&self) -> String {
        "collect".into()
    }
    fn write_partition(
        &self,
        t: BatchTime,
        _: usize,
        records: &mut dyn Iterator<Item = T>,
    ) -> Result<(), String> {
        self.0
            .lock()
            .unwrap()
            .entry(t.0)
            .or_default()
            .extend(records);
        Ok(())
    }
}

/// Builds a pipeline on queued batches, runs `n` batches on a manual clock, and returns
/// each batch's output (sorted, so partitioning does not matter), in time order.
fn run<T, U>(
    batches: Vec<Vec<T>>,
    n: u64,
    build: impl FnOnce(&mut StreamingContext, DStream<T>) -> DStream<U>,
) -> Vec<Vec<U>>
where
    T: sluice_runtime::dstream::Data,
    U: Ord + sluice_runtime::dstream::Data,
{
    let clock = Arc::new(ManualClock::new(10_000));
    let mut ssc = StreamingContext::with_clock(
        Settings {
            batch_interval: Duration::from_secs(1),
            shuffle_partitions: 3,
            ..Settings::default()
        },
        clock.clone(),
    )
    .unwrap();
    let input = ssc.queue_stream(batches);
    let out = Arc::new(Mutex::new(BTreeMap::new()));
    build(&mut ssc, input).foreach_partition(Collect(out.clone()));
    ssc.start().unwrap();
    for i in 1..=n {
        clock.advance(1_000);
        let want = BatchTime(10_000 + i * 1_000);
        for _ in 0..1_000 {
            if ssc.last_completed_batch() == Some(want) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        assert_eq!(ssc.last_completed_batch(), Some(want), "batch {i} ran");
    }
    ssc.stop(false).unwrap();
    let mut got = std::mem::take(&mut *out.lock().unwrap());
    (1..=n)
        .map(|i| {
            let mut b = got.remove(&(10_000 + i * 1_000)).unwrap_or_default();
            b.sort();
            b
        })
        .collect()
}

fn words(s: &str) -> Vec<String> {
    s.split_whitespace().map(String::from).collect()
}

#[test]
fn count_gives_one_element_per_batch_even_when_empty() {
    let got = run(vec![words("a b c"), vec![], words("d")], 4, |_, s| {
        s.count()
    });
    assert_eq!(got, [vec![3], vec![0], vec![1], vec![0]]);
}

#[test]
fn reduce_folds_each_batch_and_gives_nothing_for_an_empty_one() {
    let got = run(vec![vec![1i64, 2, 3], vec![], vec![10]], 3, |_, s| {
        s.reduce(|a, b| a + b)
    });
    assert_eq!(got, [vec![6], vec![], vec![10]]);
}

#[test]
fn count_by_value_counts_within_each_batch() {
    let got = run(vec![words("a b a"), words("a")], 2, |_, s| {
        s.count_by_value()
    });
    assert_eq!(
        got,
        [
            vec![("a".to_string(), 2), ("b".to_string(), 1)],
            vec![("a".to_string(), 1)]
        ]
    );
}

#[test]
fn union_pairs_batches_of_the_same_time() {
    let got = run(vec![vec![1i64], vec![2]], 2, |ssc, s| {
        let other = ssc.queue_stream(vec![vec![100i64, 200], vec![]]);
        s.union(&other)
    });
    assert_eq!(got, [vec![1, 100, 200], vec![2]]);
}

#[test]
fn map_values_flat_map_values_and_group_by_key_keep_keys() {
    let pairs = vec![vec![
        ("a".to_string(), 1i64),
        ("b".to_string(), 2),
        ("a".to_string(), 3),
    ]];
    let mapped = run(pairs.clone(), 1, |_, s| s.map_values(|v| v * 10));
    assert_eq!(
        mapped,
        [vec![
            ("a".to_string(), 10),
            ("a".to_string(), 30),
            ("b".to_string(), 20)
        ]]
    );
    let flat = run(pairs.clone(), 1, |_, s| s.flat_map_values(|v| 0..v));
    assert_eq!(flat[0].len(), 1 + 2 + 3);
    assert_eq!(flat[0].iter().filter(|(k, _)| k == "a").count(), 4);
    let grouped = run(pairs, 1, |_, s| {
        s.group_by_key().map(|(k, mut vs)| {
            vs.sort();
            (k, vs)
        })
    });
    assert_eq!(
        grouped,
        [vec![
            ("a".to_string(), vec![1, 3]),
            ("b".to_string(), vec![2])
        ]]
    );
}

#[test]
fn every_output_of_a_batch_sees_the_same_queued_batch() {
    let clock = Arc::new(ManualClock::new(0));
    let mut ssc = StreamingContext::with_clock(Settings::default(), clock.clone()).unwrap();
    let s = ssc.queue_stream(vec![vec![1i64, 2]]);
    let a = Arc::new(Mutex::new(BTreeMap::new()));
    let b = Arc::new(Mutex::new(BTreeMap::new()));
    s.count().foreach_partition(Collect(a.clone()));
    s.foreach_partition(Collect(b.clone()));
    ssc.start().unwrap();
    clock.advance(1_000);
    for _ in 0..1_000 {
        if ssc.last_completed_batch().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    ssc.stop(false).unwrap();
    assert_eq!(a.lock().unwrap().get(&1_000), Some(&vec![2]));
    assert_eq!(b.lock().unwrap().get(&1_000).map(Vec::len), Some(2));
}

#[test]
fn window_gives_the_last_length_of_batches_every_slide() {
    // Batch 1s, first batch at 11s, zero time 10s: the window (3s, 2s) produces at 12s,
    // 14s, 16s, each holding the batches of the 3s before it.
    let got = run(
        vec![vec![1i64], vec![2], vec![3], vec![4], vec![5]],
        6,
        |_, s| {
            s.window(Duration::from_secs(3), Duration::from_secs(2))
                .unwrap()
        },
    );
    assert_eq!(
        got,
        [
            vec![],
            vec![1, 2],
            vec![],
            vec![2, 3, 4],
            vec![],
            vec![4, 5]
        ]
    );
}

#[test]
fn a_window_feeds_per_batch_operators_and_checks_its_durations() {
    let got = run(vec![vec![1i64, 1], vec![1], vec![1, 1, 1]], 3, |_, s| {
        s.window(Duration::from_secs(2), Duration::from_secs(1))
            .unwrap()
            .count()
    });
    assert_eq!(got, [vec![2], vec![3], vec![4]]);
    let clock = Arc::new(ManualClock::new(0));
    let mut ssc = StreamingContext::with_clock(Settings::default(), clock).unwrap();
    let s = ssc.queue_stream(vec![vec![1i64]]);
    assert!(s
        .window(Duration::from_millis(1500), Duration::from_secs(1))
        .is_err());
    assert!(s.window(Duration::from_secs(2), Duration::ZERO).is_err());
}

#[test]
fn text_file_stream_reads_each_new_file_once_and_ignores_hidden_ones() {
    let dir = tempfile::tempdir().unwrap();
    let put = |name: &str, text: &[u8]| {
        let tmp = dir.path().join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, dir.path().join(name)).unwrap();
    };
    let clock = Arc::new(ManualClock::new(10_000));
    let mut ssc = StreamingContext::with_clock(Settings::default(), clock.clone()).unwrap();
    let out = Arc::new(Mutex::new(BTreeMap::new()));
    ssc.text_file_stream(dir.path().to_str().unwrap())
        .flat_map(sluice_runtime::builtins::split)
        .count_by_value()
        .foreach_partition(Collect(out.clone()));
    ssc.start().unwrap();
    put("a.txt", b"x y\nx\n");
    std::fs::write(dir.path().join(".partial"), "ignored while hidden\n").unwrap();
    std::fs::write(dir.path().join("_SUCCESS"), "").unwrap();
    let step = |i: u64| {
        clock.advance(1_000);
        for _ in 0..1_000 {
            if ssc.last_completed_batch() == Some(BatchTime(10_000 + i * 1_000)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("batch {i} did not run");
    };
    step(1);
    put("b.txt", b"y\r\nz \xff\n");
    step(2);
    step(3);
    ssc.stop(false).unwrap();
    let got = out.lock().unwrap();
    let sorted = |t: u64| {
        let mut v: Vec<(String, i64)> = got.get(&t).cloned().unwrap_or_default();
        v.sort();
        v
    };
    assert_eq!(sorted(11_000), [("x".to_string(), 2), ("y".to_string(), 1)]);
    assert_eq!(
        sorted(12_000),
        [
            ("y".to_string(), 1),
            ("z".to_string(), 1),
            ("\u{fffd}".to_string(), 1)
        ]
    );
    assert_eq!(sorted(13_000), []);
}

/// With a checkpoint directory the files taken are logged: after a crash a restart reads
/// the failed batch's file again and no other file twice.
#[test]
fn text_file_stream_reads_each_file_once_across_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in");
    std::fs::create_dir(&input).unwrap();
    let put = |name: &str, text: &str| {
        let tmp = input.join(format!(".{name}.tmp"));
        std::fs::write(&tmp, text).unwrap();
        std::fs::rename(&tmp, input.join(name)).unwrap();
    };
    type Seen = Arc<Mutex<Vec<(u64, Vec<String>)>>>;
    let context = |clock: Arc<ManualClock>, fail_on: Option<&'static str>| {
        let settings = Settings {
            checkpoint_dir: Some(dir.path().join("ckpt")),
            on_batch_failure: BatchFailure::Stop,
            ..Settings::default()
        };
        let mut ssc = StreamingContext::with_clock(settings, clock).unwrap();
        let seen = Seen::default();
        let out = seen.clone();
        ssc.text_file_stream(input.to_str().unwrap())
            .foreach_rdd(move |mut lines, t| {
                lines.sort();
                if fail_on.is_some_and(|f| lines.iter().any(|l| l == f)) {
                    panic!("the output fails on {lines:?}");
                }
                if !lines.is_empty() {
                    out.lock().unwrap().push((t.0, lines));
                }
            });
        (ssc, seen)
    };
    let step = |ssc: &StreamingContext, clock: &ManualClock| {
        clock.advance(1_000);
        let want = BatchTime(sluice_runtime::Clock::now_ms(clock));
        for _ in 0..1_000 {
            if ssc.last_completed_batch() == Some(want)
                || ssc.await_termination(Some(Duration::ZERO))
                    != sluice_runtime::Termination::Running
            {
                return;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        panic!("batch {want} did not run");
    };
    let clock = Arc::new(ManualClock::new(10_000));
    let (mut ssc, seen) = context(clock.clone(), Some("b"));
    ssc.start().unwrap();
    put("a.txt", "a\n");
    step(&ssc, &clock);
    // A name that sorts before a.txt: a restart must not number the files anew.
    put("0b.txt", "b\n");
    step(&ssc, &clock);
    assert!(ssc.stop(false).is_err(), "the batch reading 0b.txt failed");
    drop(ssc);
    assert_eq!(*seen.lock().unwrap(), [(11_000, vec!["a".to_string()])]);

    let (mut ssc, seen) = context(clock.clone(), None);
    ssc.start().unwrap();
    step(&ssc, &clock);
    put("c.txt", "c\n");
    step(&ssc, &clock);
    step(&ssc, &clock);
    ssc.stop(false).unwrap();
    let seen = seen.lock().unwrap();
    let lines: Vec<&str> = seen
        .iter()
        .flat_map(|(_, l)| l)
        .map(String::as_str)
        .collect();
    assert_eq!(lines, ["b", "c"], "{seen:?}");
    assert_eq!(seen[0].0, 12_000, "0b.txt at its batch's time");
}

#[test]
fn glom_repartition_map_partitions_and_transform() {
    let got = run(vec![(1..=7i64).collect()], 1, |_, s| {
        s.repartition(3).glom().map(|p| p.len() as i64)
    });
    assert_eq!(got, [vec![2, 2, 3]]);
    let got = run(vec![(1..=7i64).collect()], 1, |_, s| {
        s.repartition(3)
            .map_partitions(|p| vec![p.iter().sum::<i64>()])
    });
    assert_eq!(got, [vec![1 + 2 + 3, 4 + 5, 6 + 7]]);
    let got = run(vec![vec![3i64, 1, 2], vec![]], 2, |_, s| {
        s.transform(|mut all| {
            all.sort();
            all.into_iter().rev().take(2).collect::<Vec<_>>()
        })
    });
    assert_eq!(got, [vec![2, 3], vec![]]);
}

#[test]
fn foreach_rdd_sees_each_whole_batch_with_its_time() {
    let clock = Arc::new(ManualClock::new(10_000));
    let mut ssc = StreamingContext::with_clock(Settings::default(), clock.clone()).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let sink = seen.clone();
    ssc.queue_stream(vec![vec![1i64, 2], vec![3]])
        .repartition(2)
        .foreach_rdd(move |batch, t| sink.lock().unwrap().push((t.0, batch)));
    ssc.start().unwrap();
    for i in 1..=2u64 {
        clock.advance(1_000);
        for _ in 0..1_000 {
            if ssc.last_completed_batch() == Some(BatchTime(10_000 + i * 1_000)) {
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
    }
    ssc.stop(false).unwrap();
    assert_eq!(
        *seen.lock().unwrap(),
        [(11_000, vec![1, 2]), (12_000, vec![3])]
    );
}

fn kv(pairs: &[(&str, i64)]) -> Vec<(String, i64)> {
    pairs.iter().map(|(k, v)| (k.to_string(), *v)).collect()
}

#[test]
fn joins_pair_the_two_streams_batches_of_the_same_time() {
    let left = vec![kv(&[("a", 1), ("a", 2), ("b", 3)]), kv(&[("c", 4)])];
    let right = || vec![kv(&[("a", 10), ("d", 40)]), vec![]];
    let s = |x: &str| x.to_string();
    let joined = run(left.clone(), 2, |ssc, l| l.join(&ssc.queue_stream(right())));
    assert_eq!(joined, [vec![(s("a"), (1, 10)), (s("a"), (2, 10))], vec![]]);
    let left_outer = run(left.clone(), 2, |ssc, l| {
        l.left_outer_join(&ssc.queue_stream(right()))
    });
    assert_eq!(
        left_outer,
        [
            vec![
                (s("a"), (1, Some(10))),
                (s("a"), (2, Some(10))),
                (s("b"), (3, None))
            ],
            vec![(s("c"), (4, None))]
        ]
    );
    let right_outer = run(left.clone(), 1, |ssc, l| {
        l.right_outer_join(&ssc.queue_stream(right()))
    });
    assert_eq!(
        right_outer,
        [vec![
            (s("a"), (Some(1), 10)),
            (s("a"), (Some(2), 10)),
            (s("d"), (None, 40))
        ]]
    );
    let full = run(left.clone(), 1, |ssc, l| {
        l.full_outer_join(&ssc.queue_stream(right()))
    });
    assert_eq!(full[0].len(), 4);
    assert!(
        full[0].contains(&(s("b"), (Some(3), None)))
            && full[0].contains(&(s("d"), (None, Some(40))))
    );
    let grouped = run(left, 1, |ssc, l| {
        l.cogroup(&ssc.queue_stream(right()))
            .map(|(k, (mut vs, ws))| {
                vs.sort();
                (k, (vs, ws))
            })
    });
    assert_eq!(
        grouped,
        [vec![
            (s("a"), (vec![1, 2], vec![10])),
            (s("b"), (vec![3], vec![])),
            (s("d"), (vec![], vec![40]))
        ]]
    );
}

#[test]
fn update_state_by_key_keeps_state_touches_only_keys_with_data_and_removes_on_none() {
    let calls = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counter = calls.clone();
    let batches = vec![
        kv(&[("a", 1), ("b", 1)]),
        kv(&[("a", 1)]),
        vec![],
        kv(&[("b", 5)]),
    ];
    let got = run(batches, 4, move |_, s| {
        let counter = counter.clone();
        s.update_state_by_key(move |vs: Vec<i64>, old: Option<i64>| {
            counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let total = old.unwrap_or(0) + vs.iter().sum::<i64>();
            // A key whose total passes 5 is dropped.
            (total <= 5).then_some(total)
        })
    });
    let s = |x: &str| x.to_string();
    assert_eq!(
        got,
        [
            vec![(s("a"), 1), (s("b"), 1)],
            vec![(s("a"), 2), (s("b"), 1)],
            vec![(s("a"), 2), (s("b"), 1)],
            vec![(s("a"), 2)],
        ]
    );
    assert_eq!(
        calls.load(std::sync::atomic::Ordering::Relaxed),
        4, // 2 keys, then 1, then none, then 1
        "only keys with new data are visited"
    );
}

#[test]
fn map_with_state_maps_each_record_and_times_out_idle_keys_once() {
    let batches = vec![
        kv(&[("a", 1)]),
        kv(&[("b", 1)]),
        vec![],
        vec![],
        kv(&[("a", 1)]),
    ];
    let f = |k: &String, v: Option<i64>, st: &mut sluice_runtime::State<i64>| {
        if st.is_timing_out() {
            (k.clone(), -1)
        } else {
            let n = st.get().copied().unwrap_or(0) + v.unwrap_or(0);
            st.update(n);
            (k.clone(), n)
        }
    };
    let mapped = run(batches.clone(), 5, move |_, s| {
        s.map_with_state(Some(Duration::from_secs(2)), f).mapped
    });
    let s = |x: &str| x.to_string();
    assert_eq!(
        mapped,
        [
            vec![(s("a"), 1)],
            vec![(s("b"), 1)],
            vec![(s("a"), -1)],
            vec![(s("b"), -1)],
            vec![(s("a"), 1)]
        ]
    );
    let snapshots = run(batches, 5, move |_, s| {
        s.map_with_state(Some(Duration::from_secs(2)), f).snapshots
    });
    assert_eq!(
        snapshots,
        [
            vec![(s("a"), 1)],
            vec![(s("a"), 1), (s("b"), 1)],
            vec![(s("b"), 1)],
            vec![],
            vec![(s("a"), 1)]
        ]
    );
}

#[test]
fn combine_by_key_builds_per_key_averages() {
    let batches = vec![kv(&[("a", 1), ("a", 3), ("b", 10), ("a", 5)])];
    let got = run(batches, 1, |_, s| {
        s.repartition(3)
            .combine_by_key(
                |v| (v, 1i64),
                |(sum, n), v| (sum + v, n + 1),
                |(s1, n1), (s2, n2)| (s1 + s2, n1 + n2),
            )
            .map_values(|(sum, n)| sum / n)
    });
    assert_eq!(got, [vec![("a".to_string(), 3), ("b".to_string(), 10)]]);
}

#[test]
fn incremental_window_with_an_inverse_matches_the_recomputed_window() {
    let batches = vec![
        kv(&[("a", 1), ("b", 2)]),
        kv(&[("a", 1)]),
        vec![],
        kv(&[("c", 5), ("a", 1)]),
        kv(&[("b", 1)]),
        vec![],
        vec![],
        kv(&[("a", 2)]),
    ];
    for (length, slide) in [(3, 1), (4, 2), (2, 2)] {
        let (length, slide) = (Duration::from_secs(length), Duration::from_secs(slide));
        let recomputed = run(batches.clone(), 8, move |_, s| {
            s.window(length, slide).unwrap().reduce_by_key(|a, b| a + b)
        });
        let incremental = run(batches.clone(), 8, move |_, s| {
            s.reduce_by_key_and_window_inv(
                |a, b| a + b,
                |a, b| a - b,
                length,
                slide,
                Some(|kv: &(String, i64)| kv.1 != 0),
            )
            .unwrap()
        });
        assert_eq!(incremental, recomputed, "window {length:?} slide {slide:?}");
    }
}

/// How many batches ran at once at most, on a manual clock that ticks 6 batches at once,
/// each batch's output taking 100 ms; and what they saw.
fn overlap(concurrent_jobs: usize) -> (usize, Vec<i64>) {
    let clock = Arc::new(ManualClock::new(10_000));
    let mut ssc = StreamingContext::with_clock(
        Settings {
            batch_interval: Duration::from_secs(1),
            concurrent_jobs,
            ..Settings::default()
        },
        clock.clone(),
    )
    .unwrap();
    let running = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let most = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let seen = Arc::new(Mutex::new(Vec::new()));
    let (r, m, out) = (running.clone(), most.clone(), seen.clone());
    ssc.queue_stream((1..=6i64).map(|i| vec![i]).collect())
        .foreach_rdd(move |xs, _| {
            let now = r.fetch_add(1, std::sync::atomic::Ordering::SeqCst) + 1;
            m.fetch_max(now, std::sync::atomic::Ordering::SeqCst);
            std::thread::sleep(Duration::from_millis(100));
            out.lock().unwrap().extend(xs);
            r.fetch_sub(1, std::sync::atomic::Ordering::SeqCst);
        });
    ssc.start().unwrap();
    clock.advance(6_000);
    for _ in 0..1_000 {
        if seen.lock().unwrap().len() == 6 {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    ssc.stop(false).unwrap();
    let mut seen = seen.lock().unwrap().clone();
    seen.sort();
    (most.load(std::sync::atomic::Ordering::SeqCst), seen)
}

#[test]
fn concurrent_jobs_run_batches_at_once_and_each_once() {
    let (most, seen) = overlap(1);
    assert_eq!(
        (most, seen),
        (1, (1..=6).collect()),
        "one at a time by default"
    );
    let (most, seen) = overlap(3);
    assert!(most >= 2, "batches overlapped: at most {most} at once");
    assert!(most <= 3, "never more than concurrentJobs: {most}");
    assert_eq!(seen, (1..=6).collect::<Vec<_>>());
}

#[test]
fn concurrent_jobs_are_refused_with_state() {
    let mut ssc = StreamingContext::new(Settings {
        concurrent_jobs: 2,
        ..Settings::default()
    })
    .unwrap();
    ssc.queue_stream(vec![vec![("a".to_string(), 1i64)]])
        .update_state_by_key(|vs: Vec<i64>, s: Option<i64>| {
            Some(s.unwrap_or(0) + vs.iter().sum::<i64>())
        })
        .print(1);
    let err = ssc.start().expect_err("refused").to_string();
    assert!(err.contains("concurrentJobs = 2"), "{err}");
}

/// Every listener event Spark has, in Spark's order: streaming started; per batch
/// submitted, started, each output operation started and completed, completed.
#[test]
fn the_listener_hears_every_event_in_order() {
    let clock = Arc::new(ManualClock::new(10_000));
    let mut ssc = StreamingContext::with_clock(Settings::default(), clock.clone()).unwrap();
    let events = Arc::new(common::Events::default());
    ssc.add_listener(events.clone());
    let s = ssc.queue_stream(vec![vec![1i64, 2]]);
    s.foreach_rdd(|_, _| {});
    s.count().foreach_rdd(|_, _| {});
    ssc.start().unwrap();
    clock.advance(1_000);
    for _ in 0..1_000 {
        if ssc.last_completed_batch() == Some(BatchTime(11_000)) {
            break;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    ssc.stop(false).unwrap();
    use sluice_runtime::StreamingEvent as E;
    let names: Vec<String> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            E::StreamingStarted(_) => Some("started".to_string()),
            E::BatchSubmitted(b) if b.batch_time.0 == 11_000 => Some("submitted".into()),
            E::BatchStarted(b) if b.batch_time.0 == 11_000 => Some("batch started".into()),
            E::OutputOperationStarted(o) if o.batch_time.0 == 11_000 => {
                Some(format!("op {} started", o.id))
            }
            E::OutputOperationCompleted(o) if o.batch_time.0 == 11_000 => {
                assert!(o.end.is_some() && o.failure.is_none());
                Some(format!("op {} completed", o.id))
            }
            E::BatchCompleted(b) if b.batch_time.0 == 11_000 => Some("batch completed".into()),
            _ => None,
        })
        .collect();
    assert_eq!(
        names,
        [
            "started",
            "submitted",
            "batch started",
            "op 0 started",
            "op 0 completed",
            "op 1 started",
            "op 1 completed",
            "batch completed"
        ]
    );
}

/// Windows and state against references computed independently, by brute force over the
/// whole input, on random batches (proptest): a recomputed window and an incremental one
/// (with an inverse) equal the sum of the batches each window covers; `updateStateByKey`
/// equals a fold over every batch so far.
mod properties {
    use super::*;
    use proptest::prelude::*;

    /// Up to 8 batches of (key from 4, value from -3..=5) pairs, some empty.
    fn batches() -> impl Strategy<Value = Vec<Vec<(String, i64)>>> {
        proptest::collection::vec(
            proptest::collection::vec(
                (0..4u8, -3..=5i64).prop_map(|(k, v)| (format!("k{k}"), v)),
                0..6,
            ),
            1..8,
        )
    }

    /// Per key, the sum of the batches with index in `range` (keys with no value left out).
    fn sum_of(batches: &[Vec<(String, i64)>], range: std::ops::Range<usize>) -> Vec<(String, i64)> {
        let mut m: BTreeMap<String, i64> = BTreeMap::new();
        for b in &batches[range.start.min(batches.len())..range.end.min(batches.len())] {
            for (k, v) in b {
                *m.entry(k.clone()).or_default() += v;
            }
        }
        m.into_iter().collect()
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(24))]

        #[test]
        fn windows_equal_the_sum_of_the_batches_they_cover(
            input in batches(),
            (length, slide) in (1..4u64).prop_flat_map(|s| (s..=4u64 / s * s).prop_map(move |l| (l - l % s, s))),
        ) {
            let n = input.len() as u64 + length;
            let (len_d, slide_d) = (Duration::from_secs(length), Duration::from_secs(slide));
            let recomputed = run(input.clone(), n, move |_, s| {
                s.window(len_d, slide_d).unwrap().reduce_by_key(|a, b| a + b)
            });
            let incremental = run(input.clone(), n, move |_, s| {
                s.reduce_by_key_and_window_inv(|a, b| a + b, |a, b| a - b, len_d, slide_d, None)
                    .unwrap()
            });
            for i in 1..=n {
                // Batch i (1-based) is a window time when i is a multiple of the slide.
                let at = (i - 1) as usize;
                if i % slide != 0 {
                    prop_assert!(recomputed[at].is_empty() && incremental[at].is_empty());
                    continue;
                }
                let want = sum_of(&input, i.saturating_sub(length) as usize..i as usize);
                prop_assert_eq!(&recomputed[at], &want, "recomputed window at batch {}", i);
                // The incremental window keeps keys whose values came back to zero (as
                // Spark's does without a filter): compare without them.
                let kept: Vec<(String, i64)> = incremental[at]
                    .iter()
                    .filter(|(k, v)| *v != 0 || want.iter().any(|(w, _)| w == k))
                    .cloned()
                    .collect();
                prop_assert_eq!(&kept, &want, "incremental window at batch {}", i);
            }
        }

        #[test]
        fn update_state_by_key_equals_a_fold_over_the_input(input in batches()) {
            let n = input.len() as u64;
            let got = run(input.clone(), n, |_, s| {
                s.update_state_by_key(|vs: Vec<i64>, st: Option<i64>| {
                    Some(st.unwrap_or(0) + vs.iter().sum::<i64>())
                })
            });
            for i in 1..=n as usize {
                prop_assert_eq!(&got[i - 1], &sum_of(&input, 0..i), "state after batch {}", i);
            }
        }
    }
}
