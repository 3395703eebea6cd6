//! Partition tasks as Spark runs them: a failing task runs again alone, from its inputs
//! (`spark.task.maxFailures`), and a straggler is overtaken by a speculative copy
//! (`spark.speculation`) whose output is committed once.

mod common;

use common::{run_batch, task_events, Events, Straggler};
use sluice_runtime::executor::TaskEvent;
use sluice_runtime::{ManualClock, Settings, Speculation, StreamingContext};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

fn context(settings: Settings) -> (StreamingContext, Arc<ManualClock>, Arc<Events>) {
    let clock = Arc::new(ManualClock::new(10_000));
    let settings = Settings {
        batch_interval: Duration::from_secs(1),
        worker_threads: 2,
        ..settings
    };
    let ssc = StreamingContext::with_clock(settings, clock.clone()).unwrap();
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    (ssc, clock, events)
}

#[test]
fn a_panicking_task_runs_again_alone_from_its_inputs() {
    let (mut ssc, clock, events) = context(Settings::default());
    // 20 records in 4 partitions of 5: the partition holding 7 panics on its first run.
    let mapped: Arc<Vec<AtomicUsize>> = Arc::new((0..20).map(|_| AtomicUsize::new(0)).collect());
    let (counts, panicked) = (mapped.clone(), Arc::new(AtomicBool::new(false)));
    let out = Arc::new(Mutex::new(Vec::new()));
    let sink = out.clone();
    ssc.queue_stream(vec![(0..20i64).collect::<Vec<_>>()])
        .repartition(4)
        .map(move |x| {
            counts[x as usize].fetch_add(1, Ordering::SeqCst);
            if x == 7 && !panicked.swap(true, Ordering::SeqCst) {
                panic!("bad record {x}");
            }
            x * 10
        })
        .foreach_rdd(move |records, _| sink.lock().unwrap().extend(records));
    ssc.start().unwrap();
    run_batch(&ssc, &clock);
    ssc.stop(false).unwrap();
    let mut out = out.lock().unwrap().clone();
    out.sort();
    assert_eq!(out, (0..20i64).map(|x| x * 10).collect::<Vec<_>>());
    let mapped: Vec<usize> = mapped.iter().map(|c| c.load(Ordering::SeqCst)).collect();
    // Partition 1 (5..10) ran twice, up to the panic and then whole; no other partition
    // ran again.
    let mut want = vec![1; 20];
    for x in [5, 6, 7] {
        want[x] = 2;
    }
    assert_eq!(mapped, want);
    assert!(matches!(
        &task_events(&events)[..],
        [TaskEvent::Failed { partition: 1, attempt: 0, retrying: true, error }]
            if error.contains("bad record 7")
    ));
}

/// A partition whose first attempt hangs (until the test lets it go): with speculation
/// on, a copy overtakes it, the batch completes with every file exact, and the straggler,
/// when it ends, is refused the commit and leaves nothing behind.
#[test]
fn a_straggler_is_overtaken_by_a_speculative_copy_and_written_once() {
    let dir = tempfile::tempdir().unwrap();
    let (mut ssc, clock, events) = context(Settings {
        speculation: Some(Speculation::default()),
        ..Settings::default()
    });
    let (straggler, stall) = Straggler::new();
    let prefix = dir.path().join("out/batch");
    ssc.queue_stream(vec![(0..40i64).collect::<Vec<_>>()])
        .repartition(4)
        .map(move |x| {
            stall(x == 35);
            x
        })
        .save_as_text_files(prefix.to_str().unwrap(), "");
    ssc.start().unwrap();
    let t = run_batch(&ssc, &clock);
    assert!(
        !straggler.has_ended(),
        "the batch did not wait for the straggler"
    );
    let batch_dir = dir.path().join(format!("out/batch-{}", t.0));
    let read = |name: &str| std::fs::read_to_string(batch_dir.join(name)).unwrap();
    let part = |range: std::ops::Range<i64>| range.map(|x| format!("{x}\n")).collect::<String>();
    for (i, range) in [0..10, 10..20, 20..30, 30..40].into_iter().enumerate() {
        assert_eq!(read(&format!("part-{i:05}")), part(range), "part {i}");
    }
    // The straggler writes the rest of its scratch file and asks to commit.
    straggler.release(Duration::from_millis(200));
    ssc.stop(false).unwrap();
    let listing = |d: &std::path::Path| {
        let mut names: Vec<String> = std::fs::read_dir(d)
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        names.sort();
        names
    };
    assert_eq!(
        listing(&batch_dir),
        [
            "_SUCCESS",
            "part-00000",
            "part-00001",
            "part-00002",
            "part-00003"
        ]
    );
    assert_eq!(read("part-00003"), part(30..40));
    assert_eq!(
        listing(&dir.path().join("out")),
        [format!("batch-{}", t.0)],
        "no scratch files left"
    );
    let events = task_events(&events);
    assert!(
        matches!(
            &events[..],
            [
                TaskEvent::SpeculationLaunched {
                    partition: 3,
                    attempt: 1,
                    running_ms
                },
                TaskEvent::SpeculationWon {
                    partition: 3,
                    attempt: 1
                }
            ] if *running_ms >= 100
        ),
        "{events:?}"
    );
}
