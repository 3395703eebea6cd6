//! The `jdbc` sink's modes against the real PostgreSQL that `scripts/test.sh` starts: add
//! (counts), replace (state) and append (rows), each exactly once per batch and partition.

mod common;

use common::{pg_client, run_batch, service, task_events, Events, Straggler};
use sluice_runtime::executor::TaskEvent;
use sluice_runtime::sinks::{Jdbc, WriteMode};
use sluice_runtime::{
    BatchTime, ManualClock, PartitionSink, Settings, Speculation, StreamingContext,
};
use std::sync::Arc;
use std::time::Duration;

/// The table's rows, sorted.
fn rows(
    rt: &tokio::runtime::Runtime,
    client: &tokio_postgres::Client,
    table: &str,
) -> Vec<(String, i64)> {
    let mut v: Vec<(String, i64)> = rt
        .block_on(client.query(&format!("SELECT k, v FROM {table}"), &[]))
        .unwrap()
        .iter()
        .map(|r| (r.get(0), r.get(1)))
        .collect();
    v.sort();
    v
}

#[test]
fn add_replace_and_append_each_write_a_batch_once() {
    let Some(url) = service("SLUICE_TEST_PG_URL") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = std::process::id();
    let client = pg_client(&rt, &url);
    let rows = |table: &str| rows(&rt, &client, table);
    let write = |sink: &Jdbc, t: u64, pairs: &[(&str, i64)]| {
        let mut it = pairs.iter().map(|(k, v)| (k.to_string(), *v));
        sink.write_partition(BatchTime(t), 0, &mut it).unwrap();
    };
    let sink = |table: &str, mode| {
        Jdbc::postgres(
            rt.handle().clone(),
            table,
            &url,
            &format!("{table}(k, v)"),
            2,
            mode,
        )
        .unwrap()
    };
    let (add, replace, append) = (
        format!("modes_add_{id}"),
        format!("modes_replace_{id}"),
        format!("modes_append_{id}"),
    );
    let batches: [(u64, &[(&str, i64)]); 3] = [
        (1_000, &[("a", 1), ("b", 5), ("a", 2)]),
        (2_000, &[("a", 7)]),
        (2_000, &[("a", 7)]), // batch 2000 replayed: written once
    ];
    for (table, mode) in [
        (&add, WriteMode::Add),
        (&replace, WriteMode::Replace),
        (&append, WriteMode::Append),
    ] {
        let s = sink(table, mode);
        for (t, pairs) in batches {
            write(&s, t, pairs);
        }
    }
    assert_eq!(rows(&add), [("a".into(), 10), ("b".into(), 5)]);
    assert_eq!(rows(&replace), [("a".into(), 7), ("b".into(), 5)]);
    assert_eq!(
        rows(&append),
        [
            ("a".into(), 1),
            ("a".into(), 2),
            ("a".into(), 7),
            ("b".into(), 5)
        ]
    );
    // Another pipeline with a sink of the same name into the same table, at the same
    // batch time: its commits are its own, not taken for the first pipeline's.
    let other = sink(&add, WriteMode::Add).for_pipeline("another pipeline");
    write(&other, 2_000, &[("a", 7)]);
    write(&other, 2_000, &[("a", 7)]);
    assert_eq!(rows(&add), [("a".into(), 17), ("b".into(), 5)]);
    rt.block_on(client.batch_execute(&format!(
        "DROP TABLE {add}; DROP TABLE {replace}; DROP TABLE {append}"
    )))
    .unwrap();
}

/// With speculation on, a straggling partition is written by its speculative copy, and
/// the straggler, ending later, finds the copy's commit marker and writes nothing.
#[test]
fn a_speculative_copy_and_its_straggler_write_a_partition_once() {
    let Some(url) = service("SLUICE_TEST_PG_URL") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = pg_client(&rt, &url);
    let table = format!("speculation_{}", std::process::id());
    let clock = Arc::new(ManualClock::new(10_000));
    let settings = Settings {
        batch_interval: Duration::from_secs(1),
        worker_threads: 2,
        shuffle_partitions: 4,
        speculation: Some(Speculation::default()),
        ..Settings::default()
    };
    let mut ssc = StreamingContext::with_clock(settings, clock.clone()).unwrap();
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let (straggler, stall) = Straggler::new();
    let words: Vec<String> = (0..40).map(|i| format!("w{}", i % 10)).collect();
    let sink = Jdbc::postgres(
        rt.handle().clone(),
        "counts",
        &url,
        &format!("{table}(k, v)"),
        2,
        WriteMode::Add,
    )
    .unwrap();
    ssc.queue_stream(vec![words])
        .map(|w| (w, 1i64))
        .reduce_by_key(|a, b| a + b)
        .map(move |(k, v)| {
            stall(k == "w7");
            (k, v)
        })
        .foreach_partition(sink);
    let rows = || rows(&rt, &client, &table);
    let want: Vec<(String, i64)> = (0..10).map(|i| (format!("w{i}"), 4)).collect();
    ssc.start().unwrap();
    run_batch(&ssc, &clock);
    assert!(
        !straggler.has_ended(),
        "the batch did not wait for the straggler"
    );
    assert_eq!(rows(), want);
    // The straggler's transaction finds the marker: nothing is added twice.
    straggler.release(Duration::from_millis(300));
    ssc.stop(false).unwrap();
    assert_eq!(rows(), want);
    assert!(
        task_events(&events)
            .iter()
            .any(|e| matches!(e, TaskEvent::SpeculationWon { .. })),
        "{:?}",
        task_events(&events)
    );
    rt.block_on(client.batch_execute(&format!("DROP TABLE {table}")))
        .unwrap();
}
