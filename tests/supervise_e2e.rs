//! `sluice run --supervise` (seed 002's driver restart): a pipeline that crashes over and
//! over — built with fail points, it kills itself at every twelfth partition it commits
//! (so only while there is data to write; the last run can then stop cleanly) — is
//! started again each time, resumes from its checkpoint, and still writes every record of
//! a Kafka topic to PostgreSQL exactly once; SIGTERM to `sluice` stops it gracefully.

mod common;

use common::*;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

#[test]
fn a_supervised_pipeline_survives_repeated_crashes_and_stops_on_sigterm() {
    let (Some(pg), Some(broker)) = (pg_url(), service("SLUICE_TEST_KAFKA_BROKER")) else {
        return;
    };
    let id = std::process::id();
    let (topic, table) = (format!("supervised-{id}"), format!("supervised_{id}"));
    let rt = tokio::runtime::Runtime::new().unwrap();
    let client = pg_client(&rt, &pg);
    rt.block_on(client.batch_execute(&format!("DROP TABLE IF EXISTS {table}")))
        .unwrap();
    let lines = kafka::seq_lines(30, 40);
    let want = kafka::seq_expected(&lines);
    let t = kafka::Topic::create(&broker, &topic, 3);
    for (p, chunk) in lines.chunks(100).enumerate() {
        t.produce(p % t.partitions(), chunk);
    }
    let dir = tempfile::tempdir().unwrap();
    // 50 records per partition per 200 ms batch, 4 batches a run: several runs.
    let flow = write_flow(
        dir.path(),
        "supervised.flow",
        &kafka::seq_flow(&topic, &table, "  maxRatePerPartition = 250\n"),
    );
    build_flow(&flow, &["--fail-points"]);
    let mut sluice = sluice();
    sluice
        .current_dir(dir.path())
        .args(["run", "--dev", "--fail-points", "--supervise"])
        .arg(&flow)
        .env("PG_URL", &pg)
        .env("KAFKA_BROKERS", &broker)
        .env("FAILPOINTS", "sink_commit.after=11*off->return")
        .stderr(Stdio::piped());
    let child = sluice.spawn().unwrap();
    let deadline = Instant::now() + Duration::from_secs(90);
    while kafka::seq_rows(&rt, &client, &table).len() < want.len() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
    }
    Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    let restarts = stderr.matches("restart").count();
    assert!(restarts >= 2, "the pipeline was restarted: {stderr}");
    assert!(
        stderr.contains("signal: 9"),
        "it died by the fail point's SIGKILL: {stderr}"
    );
    assert_eq!(kafka::seq_rows(&rt, &client, &table), want, "{stderr}");
    // Whether it came during a run or between two, SIGTERM is a clean stop.
    assert!(
        out.status.success(),
        "sluice ended with {}: {stderr}",
        out.status
    );
}
