//! The seed's word count run as a user runs it: `sluice run` on a .flow file, a real text
//! served over loopback, output checked exactly — in Spark's text layout and in PostgreSQL.

mod common;

use common::*;
use std::collections::BTreeMap;

#[test]
fn text_files_hold_exactly_the_word_counts_of_the_text() {
    let dir = tempfile::tempdir().unwrap();
    let text = corpus();
    let (l, port) = listener();
    let feeder = feed(l, vec![text.clone().into_bytes()]);
    let flow = write_flow(
        dir.path(),
        "wc.flow",
        &format!(
            "// word count into text files\nsettings {{ batch = 200ms }}\n\
             socket(\"127.0.0.1\", {port}) | flatMap split | map (w, 1) | reduceByKey + | saveAsTextFiles(\"out/wc\")\n"
        ),
    );
    let log = dir.path().join("batches.jsonl");
    run_flow(
        dir.path(),
        &flow,
        // `--batch` overrides the file's 200ms.
        &[
            "--batch",
            "250ms",
            "--for",
            "3s",
            "--batch-log",
            log.to_str().unwrap(),
        ],
        &[],
    );
    feeder.join().unwrap();

    let (counts, batches) = sum_text_files(&dir.path().join("out"), "wc");
    assert_counts(&counts, &word_counts(&text));
    let log = batch_log(&log);
    assert_eq!(log.len(), batches, "one log line per batch directory");
    let records: u64 = log.iter().map(|b| b["records"].as_u64().unwrap()).sum();
    assert_eq!(records as usize, text.lines().count());
    let times: Vec<u64> = log
        .iter()
        .map(|b| b["batch_time_ms"].as_u64().unwrap())
        .collect();
    assert!(
        times.iter().all(|t| t % 250 == 0),
        "batch times are multiples of the interval"
    );
    assert!(
        times.windows(2).all(|w| w[1] - w[0] == 250),
        "one batch per interval, in order: {times:?}"
    );
    for b in &log {
        for key in [
            "batch_time_ms",
            "scheduling_delay_ms",
            "processing_delay_ms",
            "total_delay_ms",
        ] {
            assert!(b[key].is_u64(), "{key} in {b}");
        }
    }
}

#[test]
fn the_seed_example_leaves_exact_counts_in_postgresql() {
    let Some(url) = pg_url() else { return };
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = pg_client(&rt, &url);
    // Only this test's table: other tests' pipelines keep their batch markers in
    // sluice_commits meanwhile (a batch time is never reused, so old markers are harmless).
    rt.block_on(client.batch_execute("DROP TABLE IF EXISTS streaming_itemcount"))
        .unwrap();

    // The example verbatim, but for the host: "master" is the seed's cluster, not ours.
    let example = std::fs::read_to_string(repo().join("examples/network_wordcount.flow")).unwrap();
    let seed_line = "socket(\"master\", 9999) | flatMap split | map (w, 1) | reduceByKey + | foreachPartition jdbc";
    assert!(
        example.contains(seed_line),
        "the example keeps the seed's line verbatim"
    );
    let dir = tempfile::tempdir().unwrap();
    let text = corpus();
    let (l, port) = listener();
    let feeder = feed(l, vec![text.clone().into_bytes()]);
    let flow = write_flow(
        dir.path(),
        "network_wordcount.flow",
        &example
            .replace(
                "socket(\"master\", 9999)",
                &format!("socket(\"127.0.0.1\", {port})"),
            )
            .replace("batch = 1s", "batch = 200ms"),
    );
    run_flow(
        dir.path(),
        &flow,
        &["--for", "3s"],
        &[("SLUICE_PG_URL", &url)],
    );
    feeder.join().unwrap();

    let rows = rt
        .block_on(client.query("SELECT item, count FROM streaming_itemcount", &[]))
        .unwrap();
    let got: BTreeMap<String, i64> = rows.iter().map(|r| (r.get(0), r.get(1))).collect();
    assert_counts(&got, &word_counts(&text));
    let commits: i64 = rt
        .block_on(client.query_one(
            "SELECT count(*) FROM sluice_commits WHERE sink = 'flow_network_wordcount:jdbc:streaming_itemcount'",
            &[],
        ))
        .unwrap()
        .get(0);
    assert!(commits >= 1, "each written partition is recorded");
}
