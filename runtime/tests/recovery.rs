//! Recovery from the write-ahead logs, on a manual clock, with regression tests for the
//! Spark bugs in this area: a log ending in an allocation (SPARK-5233), a failed job set
//! must not count as complete (SPARK-18905), recovered batches must not run twice
//! (SPARK-12122), a failed log write must not lose unallocated blocks (SPARK-23438),
//! checkpoints written out of order (SPARK-11267), cleanup dropping the metadata of batches
//! still to run (SPARK-6222), blocks lost to a racing allocation (SPARK-23991).

mod common;

use common::Events;
use sluice_runtime::block::Block;
use sluice_runtime::executor::TaskEvent;
use sluice_runtime::receiver::{Receiver, ReceiverContext};
use sluice_runtime::recovery::{self, Metadata};
use sluice_runtime::settings::BatchFailure;
use sluice_runtime::tracker::ReceivedBlockTracker;
use sluice_runtime::wal::{FsyncPolicy, WalConfig};
use sluice_runtime::{
    BatchTime, Clock, ManualClock, Settings, StreamingContext, StreamingEvent, Termination,
};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn wal_cfg(dir: &Path) -> WalConfig {
    WalConfig {
        fsync: FsyncPolicy::Never,
        ..WalConfig::new(dir)
    }
}

/// A tracker logging into `dir` for one stream, as a previous run had it.
fn previous_run(dir: &Path) -> ReceivedBlockTracker {
    let (logs, replayed) = recovery::open(dir, 1, &wal_cfg(dir)).unwrap();
    ReceivedBlockTracker::with_logs(logs, &replayed, 1_000)
}

fn block(id: u64, lines: &[&str]) -> Block {
    Block {
        stream: 0,
        id,
        data: lines.iter().map(|l| format!("{l}\n")).collect(),
        records: lines.len(),
    }
}

/// Stores `lines` as one block when it starts, then waits to be stopped; the flag turns
/// true once the block is in the tracker (at once when there are no lines).
struct Once(Vec<&'static str>, Stored);

type Stored = Arc<AtomicBool>;

impl Receiver for Once {
    fn name(&self) -> String {
        "once".into()
    }
    fn on_start(&mut self, cx: &ReceiverContext) {
        let (lines, stored, cx2) = (self.0.clone(), self.1.clone(), cx.clone());
        cx.spawn(async move {
            if !lines.is_empty() {
                cx2.store_block(lines.iter().copied()).await.unwrap();
            }
            stored.store(true, Ordering::SeqCst);
            cx2.stopped().await;
        });
    }
}

type Seen = Arc<Mutex<Vec<(u64, Vec<String>)>>>;

/// Starts `ssc` and waits until its `Once` receiver has stored its block, so that the
/// block lands in the first batch however slowly the receiver starts.
fn start(ssc: &mut StreamingContext, stored: &AtomicBool) {
    ssc.start().unwrap();
    for _ in 0..5_000 {
        if stored.load(Ordering::SeqCst) {
            return;
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("the receiver did not store its block");
}

/// A context on `dir` at `now_ms`, one receiver, recording each batch's records; with
/// `fail_at`, the output fails on that batch.
fn context(
    dir: &Path,
    clock: Arc<ManualClock>,
    lines: Vec<&'static str>,
    fail_at: Option<u64>,
) -> (StreamingContext, Seen, Stored) {
    context_remembering(dir, clock, lines, fail_at, Duration::ZERO)
}

fn context_remembering(
    dir: &Path,
    clock: Arc<ManualClock>,
    lines: Vec<&'static str>,
    fail_at: Option<u64>,
    remember: Duration,
) -> (StreamingContext, Seen, Stored) {
    let settings = Settings {
        batch_interval: Duration::from_secs(1),
        block_interval: Duration::from_millis(100),
        checkpoint_dir: Some(dir.to_path_buf()),
        write_ahead_log: true,
        remember,
        on_batch_failure: BatchFailure::Stop,
        ..Settings::default()
    };
    let mut ssc = StreamingContext::with_clock(settings, clock).unwrap();
    let seen = Seen::default();
    let out = seen.clone();
    let stored = Stored::default();
    ssc.receiver_stream(Once(lines, stored.clone()))
        .foreach_rdd(move |mut records, t| {
            if Some(t.0) == fail_at {
                panic!("output fails at {t}");
            }
            records.sort();
            out.lock().unwrap().push((t.0, records));
        });
    (ssc, seen, stored)
}

/// Advances the clock 100 ms at a time up to `t`, until the context ends (a failure).
fn advance_until_it_ends(ssc: &StreamingContext, clock: &ManualClock, t: u64) {
    for _ in 0..2_000 {
        if ssc.await_termination(Some(Duration::ZERO)) != Termination::Running {
            return;
        }
        if clock.now_ms() < t {
            clock.advance(100);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
}

/// Advances the clock a batch at a time until `t` has completed.
fn run_until(ssc: &StreamingContext, clock: &ManualClock, t: u64) {
    for _ in 0..2_000 {
        if ssc.last_completed_batch().is_some_and(|c| c.0 >= t) {
            return;
        }
        if clock.now_ms() < t {
            clock.advance(100);
        }
        std::thread::sleep(Duration::from_millis(2));
    }
    panic!("batch {t} did not complete");
}

#[test]
fn a_log_ending_in_an_allocation_reruns_that_batch_once_then_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    {
        // SPARK-5233: the previous run allocated batch 2000, received one more block and
        // died before the batch completed.
        let t = previous_run(dir.path());
        t.add_block(block(0, &["a b"]), 1_500, None).unwrap();
        t.add_block(block(1, &["c"]), 1_600, None).unwrap();
        t.allocate_blocks_to_batch(BatchTime(2_000), Default::default())
            .unwrap();
        t.add_block(block(2, &["d"]), 2_100, None).unwrap();
        recovery::write_metadata(
            dir.path(),
            &Metadata {
                zero_ms: 1_000,
                batch_ms: 1_000,
            },
        )
        .unwrap();
    }
    let clock = Arc::new(ManualClock::new(5_500));
    let (mut ssc, seen, stored) = context(dir.path(), clock.clone(), vec![], None);
    start(&mut ssc, &stored);
    run_until(&ssc, &clock, 7_000);
    ssc.stop(false).unwrap();
    let runs = seen.lock().unwrap().clone();
    // Batch 2000 again, with exactly its blocks; block 2 in the first new batch; nothing
    // twice (SPARK-12122), and new batches continue on the old zero time's grid.
    assert_eq!(runs[0], (2_000, vec!["a b".to_string(), "c".to_string()]));
    assert_eq!(runs[1], (6_000, vec!["d".to_string()]));
    let times: Vec<u64> = runs.iter().map(|r| r.0).collect();
    assert!(times.windows(2).all(|w| w[0] < w[1]), "{times:?}");
    drop(ssc);

    // A third start finds everything completed: nothing runs again.
    let (mut ssc, seen, stored) = context(dir.path(), clock.clone(), vec![], None);
    start(&mut ssc, &stored);
    let after = clock.now_ms() + 2_000;
    run_until(&ssc, &clock, after);
    ssc.stop(false).unwrap();
    let runs = seen.lock().unwrap().clone();
    assert!(
        runs.iter().all(|(t, r)| *t > 7_000 && r.is_empty()),
        "{runs:?}"
    );
}

#[test]
fn a_failed_batch_is_not_complete_and_runs_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(10_000));
    // SPARK-18905: the output fails on the batch holding the block.
    let (mut ssc, _, stored) = context(dir.path(), clock.clone(), vec!["x y", "z"], Some(11_000));
    start(&mut ssc, &stored);
    advance_until_it_ends(&ssc, &clock, 11_000);
    assert!(matches!(
        ssc.await_termination(Some(Duration::ZERO)),
        Termination::Failed(_)
    ));
    assert!(ssc.stop(false).is_err());
    drop(ssc);
    assert_batch_11000_runs_again(dir.path(), &clock);
}

/// After a failed batch 11 000 holding `x y` and `z`: a restart runs it first.
fn assert_batch_11000_runs_again(dir: &Path, clock: &Arc<ManualClock>) {
    let (mut ssc, seen, stored) = context(dir, clock.clone(), vec![], None);
    start(&mut ssc, &stored);
    run_until(&ssc, clock, 11_000);
    ssc.stop(false).unwrap();
    let runs = seen.lock().unwrap().clone();
    assert_eq!(
        runs.first(),
        Some(&(11_000, vec!["x y".to_string(), "z".to_string()])),
        "{runs:?}"
    );
}

#[test]
fn a_failed_allocation_write_keeps_the_blocks_for_a_later_batch() {
    let dir = tempfile::tempdir().unwrap();
    // Every append starts a segment, so a missing directory fails the next write.
    let cfg = WalConfig {
        max_segment_bytes: 1,
        ..wal_cfg(dir.path())
    };
    let (logs, replayed) = recovery::open(dir.path(), 1, &cfg).unwrap();
    let t = ReceivedBlockTracker::with_logs(logs, &replayed, 1_000);
    t.add_block(block(0, &["kept"]), 500, None).unwrap();
    let driver = dir.path().join("receivedBlockMetadata");
    let aside = dir.path().join("aside");
    std::fs::rename(&driver, &aside).unwrap();
    // SPARK-23438: the allocation cannot be logged, so it does not happen.
    assert!(t
        .allocate_blocks_to_batch(BatchTime(1_000), Default::default())
        .is_err());
    assert!(t.has_unallocated_blocks());
    assert_eq!(t.blocks_of_batch(BatchTime(1_000)).records(), 0);
    std::fs::rename(&aside, &driver).unwrap();
    t.allocate_blocks_to_batch(BatchTime(2_000), Default::default())
        .unwrap();
    assert_eq!(t.blocks_of_batch(BatchTime(2_000)).records(), 1);
    drop(t);
    let (_, replayed) = recovery::open(dir.path(), 1, &cfg).unwrap();
    assert_eq!(replayed.pending, [BatchTime(2_000)]);
    assert_eq!(replayed.allocated[&BatchTime(2_000)][&0][0].data, "kept\n");
}

#[test]
fn remember_keeps_batches_that_long_and_no_longer() {
    for (remember, oldest) in [(Duration::ZERO, 20_000), (Duration::from_secs(3), 17_000)] {
        let dir = tempfile::tempdir().unwrap();
        let clock = Arc::new(ManualClock::new(10_000));
        let (mut ssc, _, stored) =
            context_remembering(dir.path(), clock.clone(), vec!["a"], None, remember);
        start(&mut ssc, &stored);
        run_until(&ssc, &clock, 20_000);
        ssc.stop(false).unwrap();
        drop(ssc);
        let (_, replayed) = recovery::open(dir.path(), 1, &wal_cfg(dir.path())).unwrap();
        let kept: Vec<u64> = replayed.allocated.keys().map(|t| t.0).collect();
        assert_eq!(
            kept.first(),
            Some(&oldest),
            "remember {remember:?}: {kept:?}"
        );
        assert!(replayed.pending.is_empty(), "{:?}", replayed.pending);
    }
}

/// Word counts kept by `updateStateByKey` (or, with `as_text`, the same counts kept as
/// strings), recording each batch's state.
fn counting_context(
    dir: &Path,
    clock: Arc<ManualClock>,
    lines: Vec<&'static str>,
    as_text: bool,
) -> (StreamingContext, Seen, Stored) {
    let settings = Settings {
        batch_interval: Duration::from_secs(1),
        checkpoint_dir: Some(dir.to_path_buf()),
        write_ahead_log: true,
        ..Settings::default()
    };
    let mut ssc = StreamingContext::with_clock(settings, clock).unwrap();
    let seen = Seen::default();
    let out = seen.clone();
    let stored = Stored::default();
    let pairs = ssc
        .receiver_stream(Once(lines, stored.clone()))
        .flat_map(sluice_runtime::builtins::split)
        .map(|w| (w, 1i64));
    let render = move |mut state: Vec<String>, t: BatchTime| {
        state.sort();
        out.lock().unwrap().push((t.0, state));
    };
    if as_text {
        pairs
            .update_state_by_key(|vs: Vec<i64>, s: Option<String>| {
                let n: i64 = s.map_or(0, |s| s.parse().unwrap()) + vs.iter().sum::<i64>();
                Some(n.to_string())
            })
            .map(|(k, v)| format!("{k}={v}"))
            .foreach_rdd(render);
    } else {
        pairs
            .update_state_by_key(|vs: Vec<i64>, s: Option<i64>| {
                Some(s.unwrap_or(0) + vs.iter().sum::<i64>())
            })
            .map(|(k, v)| format!("{k}={v}"))
            .foreach_rdd(render);
    }
    (ssc, seen, stored)
}

#[test]
fn state_is_checkpointed_and_a_restart_goes_on_from_it() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(10_000));
    let (mut ssc, _, stored) =
        counting_context(dir.path(), clock.clone(), vec!["a b a", "c"], false);
    start(&mut ssc, &stored);
    run_until(&ssc, &clock, 12_000);
    ssc.stop(false).unwrap();
    drop(ssc);
    let (found, _) = sluice_runtime::checkpoint::latest(dir.path()).unwrap();
    assert_eq!(found.unwrap().1.time, 12_000);

    let (mut ssc, seen, stored) = counting_context(dir.path(), clock.clone(), vec!["a d"], false);
    start(&mut ssc, &stored);
    run_until(&ssc, &clock, 14_000);
    ssc.stop(false).unwrap();
    let runs = seen.lock().unwrap().clone();
    let last = &runs.last().unwrap().1;
    assert_eq!(last, &["a=3", "b=1", "c=1", "d=1"], "{runs:?}");
    drop(ssc);

    // The same operator keeping another type: refused, naming what changed.
    let (mut ssc, _, _) = counting_context(dir.path(), clock.clone(), vec![], true);
    let err = ssc
        .start()
        .expect_err("a changed state type is refused")
        .to_string();
    assert!(err.contains("updateStateByKey#0"), "{err}");
    assert!(err.contains("i64") && err.contains("String"), "{err}");
}

#[test]
fn the_newest_checkpoint_is_the_latest_batch_not_the_latest_write() {
    // SPARK-11267: checkpoints written out of order must not make an older one win.
    use sluice_runtime::checkpoint::{self, Checkpoint};
    let dir = tempfile::tempdir().unwrap();
    for time in [5_000, 3_000] {
        let cp = Checkpoint {
            time,
            batch_ms: 1_000,
            operators: Vec::new(),
        };
        checkpoint::write(dir.path(), &cp).unwrap();
        std::thread::sleep(Duration::from_millis(5));
    }
    let (found, _) = checkpoint::latest(dir.path()).unwrap();
    assert_eq!(found.unwrap().1.time, 5_000);
}

#[test]
fn cleaning_after_a_batch_keeps_the_batches_still_to_run() {
    // SPARK-6222: cleanup after batch 1000 completed must not drop the metadata of batches
    // allocated after it and not yet run.
    let dir = tempfile::tempdir().unwrap();
    let t = previous_run(dir.path());
    for (i, time) in [1_000u64, 2_000, 3_000].into_iter().enumerate() {
        t.add_block(block(i as u64, &["x"]), time - 500, None)
            .unwrap();
        t.allocate_blocks_to_batch(BatchTime(time), Default::default())
            .unwrap();
    }
    t.batch_completed(BatchTime(1_000)).unwrap();
    t.cleanup_old_batches(BatchTime(1_000)).unwrap();
    assert_eq!(t.blocks_of_batch(BatchTime(2_000)).records(), 1);
    drop(t);
    let (_, replayed) = recovery::open(dir.path(), 1, &wal_cfg(dir.path())).unwrap();
    assert_eq!(replayed.pending, [BatchTime(2_000), BatchTime(3_000)]);
    assert!(replayed.incomplete.is_empty());
}

/// `get_or_create` (Spark's `getOrCreate`): resumes from a fitting checkpoint, starts
/// afresh on an empty directory, and refuses a changed pipeline when it is created —
/// before anything starts — naming what changed.
#[test]
fn get_or_create_resumes_a_fitting_checkpoint_and_refuses_a_changed_pipeline() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(10_000));
    let (mut ssc, _, stored) = counting_context(dir.path(), clock.clone(), vec!["a b a"], false);
    start(&mut ssc, &stored);
    run_until(&ssc, &clock, 11_000);
    ssc.stop(false).unwrap();
    drop(ssc);

    let settings = Settings {
        batch_interval: Duration::from_secs(1),
        write_ahead_log: true,
        ..Settings::default()
    };
    let counts = |as_text: bool| {
        move |ssc: &mut StreamingContext| {
            let pairs = ssc
                .receiver_stream(Once(vec![], Arc::default()))
                .map(|w| (w, 1i64));
            if as_text {
                pairs
                    .update_state_by_key(|_: Vec<i64>, s: Option<String>| s)
                    .print(1);
            } else {
                pairs
                    .update_state_by_key(|_: Vec<i64>, s: Option<i64>| s)
                    .print(1);
            }
            Ok(())
        }
    };
    let fresh = tempfile::tempdir().unwrap();
    assert!(StreamingContext::get_or_create(fresh.path(), settings.clone(), counts(true)).is_ok());
    let same = StreamingContext::get_or_create(dir.path(), settings.clone(), counts(false))
        .expect("the same pipeline resumes");
    assert!(same
        .check_checkpoint(dir.path())
        .unwrap()
        .contains("resume after batch 11000"));
    let err = StreamingContext::get_or_create(dir.path(), settings.clone(), counts(true))
        .err()
        .expect("a changed state type is refused")
        .to_string();
    assert!(
        err.contains("updateStateByKey#0") && err.contains("String"),
        "{err}"
    );
    let err = StreamingContext::get_or_create(
        dir.path(),
        Settings {
            batch_interval: Duration::from_millis(500),
            ..settings
        },
        counts(false),
    )
    .err()
    .expect("a changed batch interval is refused")
    .to_string();
    assert!(err.contains("1000 ms batch interval"), "{err}");
}

/// SPARK-23991: blocks added while a batch is being allocated were lost (the allocation
/// cleared a queue it had copied before the new block arrived). Here two receivers add
/// blocks while batches are allocated as fast as possible: every block lands in exactly
/// one batch, and the log replays the same assignment.
#[test]
fn blocks_added_during_allocations_land_in_exactly_one_batch() {
    let dir = tempfile::tempdir().unwrap();
    let (logs, replayed) = recovery::open(dir.path(), 2, &wal_cfg(dir.path())).unwrap();
    let t = Arc::new(ReceivedBlockTracker::with_logs(logs, &replayed, 1_000));
    let adders: Vec<_> = (0..2)
        .map(|stream| {
            let t = t.clone();
            std::thread::spawn(move || {
                for id in 0..500u64 {
                    let b = Block {
                        stream,
                        id,
                        data: format!("{stream}/{id}\n"),
                        records: 1,
                    };
                    t.add_block(b, id, None).unwrap();
                }
            })
        })
        .collect();
    let mut time = 1_000;
    while !adders.iter().all(|a| a.is_finished()) {
        t.allocate_blocks_to_batch(BatchTime(time), Default::default())
            .unwrap();
        time += 1_000;
    }
    for a in adders {
        a.join().unwrap();
    }
    t.allocate_blocks_to_batch(BatchTime(time), Default::default())
        .unwrap();
    let mut placed: BTreeMap<(usize, u64), Vec<u64>> = BTreeMap::new();
    for at in (1_000..=time).step_by(1_000) {
        for (stream, blocks) in t.blocks_of_batch(BatchTime(at)).streams {
            for b in blocks {
                placed.entry((stream, b.id)).or_default().push(at);
            }
        }
    }
    assert_eq!(placed.len(), 1_000, "every block placed");
    assert!(
        placed.values().all(|at| at.len() == 1),
        "no block in two batches"
    );
    assert!(time > 2_000, "allocations ran while blocks arrived");
    drop(t);
    let (_, replayed) = recovery::open(dir.path(), 2, &wal_cfg(dir.path())).unwrap();
    let mut logged: BTreeMap<(usize, u64), Vec<u64>> = BTreeMap::new();
    for (at, streams) in &replayed.allocated {
        for (stream, blocks) in streams {
            for b in blocks {
                logged.entry((*stream, b.id)).or_default().push(at.0);
            }
        }
    }
    assert_eq!(logged, placed, "the log replays the same batches");
}

/// With concurrent jobs, a later batch that completes first must not clean up the log of
/// an earlier one still running: when the earlier one then fails, a restart runs it again.
#[test]
fn with_concurrent_jobs_a_later_batch_keeps_an_earlier_running_one_in_the_log() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(10_000));
    let mut ssc = StreamingContext::with_clock(
        Settings {
            batch_interval: Duration::from_secs(1),
            block_interval: Duration::from_millis(100),
            checkpoint_dir: Some(dir.path().to_path_buf()),
            write_ahead_log: true,
            concurrent_jobs: 2,
            on_batch_failure: BatchFailure::Stop,
            ..Settings::default()
        },
        clock.clone(),
    )
    .unwrap();
    let stored = Stored::default();
    ssc.receiver_stream(Once(vec!["x y", "z"], stored.clone()))
        .foreach_rdd(|_, t| {
            if t.0 == 11_000 {
                // Still running while batch 12 000 completes and cleans up.
                std::thread::sleep(Duration::from_millis(400));
                panic!("the output fails on batch {t}");
            }
        });
    start(&mut ssc, &stored);
    advance_until_it_ends(&ssc, &clock, 12_000);
    assert!(
        ssc.last_completed_batch() >= Some(BatchTime(12_000)),
        "12 000 overtook"
    );
    assert!(ssc.stop(false).is_err());
    drop(ssc);
    assert_batch_11000_runs_again(dir.path(), &clock);
}

/// The default policy for a batch whose task keeps panicking (Spark's, with SPARK-18905
/// fixed): after `task_max_failures` attempts of the task, each recomputed from the
/// partition's input and reported, the batch is skipped — the pipeline goes on with later
/// batches — but it is not marked complete and no cleanup drops it, so a restart runs it
/// again.
#[test]
fn a_batch_that_keeps_panicking_is_skipped_then_run_again_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let clock = Arc::new(ManualClock::new(10_000));
    let settings = Settings {
        batch_interval: Duration::from_secs(1),
        block_interval: Duration::from_millis(100),
        checkpoint_dir: Some(dir.path().to_path_buf()),
        write_ahead_log: true,
        ..Settings::default()
    };
    let mut ssc = StreamingContext::with_clock(settings, clock.clone()).unwrap();
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let attempts = Arc::new(Mutex::new(0));
    let tries = attempts.clone();
    let stored = Stored::default();
    ssc.receiver_stream(Once(vec!["x y", "z"], stored.clone()))
        .map(move |r| {
            if r == "z" {
                *tries.lock().unwrap() += 1;
                panic!("cannot map {r}");
            }
            r
        })
        .foreach_rdd(|_, _| {});
    start(&mut ssc, &stored);
    run_until(&ssc, &clock, 13_000);
    assert_eq!(
        ssc.await_termination(Some(Duration::ZERO)),
        Termination::Running,
        "the pipeline goes on"
    );
    ssc.stop(false).unwrap();
    drop(ssc);
    assert_eq!(
        *attempts.lock().unwrap(),
        4,
        "Spark's spark.task.maxFailures"
    );
    let ev = events.0.lock().unwrap();
    let failed: Vec<(u32, bool)> = ev
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::Task {
                batch,
                event:
                    TaskEvent::Failed {
                        attempt,
                        retrying,
                        error,
                        ..
                    },
            } if batch.0 == 11_000 => {
                assert!(error.contains("cannot map z"), "{error}");
                Some((*attempt, *retrying))
            }
            _ => None,
        })
        .collect();
    assert_eq!(
        failed,
        [(0, true), (1, true), (2, true), (3, false)],
        "every attempt reported"
    );
    assert!(
        !ev.iter()
            .any(|e| matches!(e, StreamingEvent::BatchRetrying { .. })),
        "a panic is not retried as a whole job"
    );
    assert!(ev.iter().any(|e| matches!(e,
        StreamingEvent::BatchCompleted(b) if b.batch_time.0 == 11_000 && b.failure.as_deref().is_some_and(|f| f.contains("failed 4 times")))));
    drop(ev);
    assert_batch_11000_runs_again(dir.path(), &clock);
}
