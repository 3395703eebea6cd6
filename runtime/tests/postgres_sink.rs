//! The `jdbc` sink's modes against the real PostgreSQL that `scripts/test.sh` starts: add
//! (counts), replace (state) and append (rows), each exactly once per batch and partition.

mod common;

use common::{pg_client, service};
use sluice_runtime::sinks::{Jdbc, WriteMode};
use sluice_runtime::{BatchTime, PartitionSink};

#[test]
fn add_replace_and_append_each_write_a_batch_once() {
    let Some(url) = service("SLUICE_TEST_PG_URL") else {
        return;
    };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let id = std::process::id();
    let client = pg_client(&rt, &url);
    let rows = |table: &str| -> Vec<(String, i64)> {
        let mut v: Vec<(String, i64)> = rt
            .block_on(client.query(&format!("SELECT k, v FROM {table}"), &[]))
            .unwrap()
            .iter()
            .map(|r| (r.get(0), r.get(1)))
            .collect();
        v.sort();
        v
    };
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
