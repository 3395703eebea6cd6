//! The runtime end to end on a real loopback socket: counts are exact, the receiver
//! reconnects, and garbage is skipped and reported.

mod common;

use common::Events;
use sluice_runtime::listener::{SkipReason, StreamingEvent};
use sluice_runtime::{BatchTime, PartitionSink, Settings, StreamingContext};
use std::collections::BTreeMap;
use std::io::Write;
use std::net::TcpListener;
use std::sync::{Arc, Mutex};
use std::time::Duration;

#[derive(Clone, Default)]
struct Collect(Arc<Mutex<BTreeMap<String, i64>>>);

impl PartitionSink<(String, i64)> for Collect {
    fn name(&self) -> String {
        "collect".into()
    }
    fn write_partition(
        &self,
        _: BatchTime,
        _: usize,
        records: &mut dyn Iterator<Item = (String, i64)>,
    ) -> Result<(), String> {
        let mut m = self.0.lock().unwrap();
        for (k, v) in records {
            *m.entry(k).or_default() += v;
        }
        Ok(())
    }
}

fn settings() -> Settings {
    Settings {
        batch_interval: Duration::from_millis(100),
        block_interval: Duration::from_millis(20),
        receiver_restart_delay: Duration::from_millis(50),
        max_record_bytes: 1024,
        ..Settings::default()
    }
}

fn wordcount(ssc: &mut StreamingContext, port: u16) -> Collect {
    let out = Collect::default();
    ssc.socket_text_stream("127.0.0.1", port)
        .flat_map(sluice_runtime::builtins::split)
        .map(|w| (w, 1i64))
        .reduce_by_key(|a, b| a + b)
        .foreach_partition(out.clone());
    out
}

fn expected(text: &str) -> BTreeMap<String, i64> {
    let mut m = BTreeMap::new();
    for w in text.split_whitespace() {
        *m.entry(w.to_string()).or_default() += 1;
    }
    m
}

/// Waits until `cond` holds, for at most 20 s.
fn eventually(mut cond: impl FnMut() -> bool) {
    for _ in 0..400 {
        if cond() {
            return;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("condition not reached in 20 s");
}

#[test]
fn counts_are_exact_across_a_reconnect_and_garbage_is_counted() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let mut ssc = StreamingContext::new(settings()).unwrap();
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let out = wordcount(&mut ssc, port);
    ssc.start().unwrap();

    let first = "a b c\nb c\n  c  \n".repeat(500);
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(first.as_bytes()).unwrap();
    conn.write_all(b"\xff\xfe bad bytes\n").unwrap();
    conn.write_all(&vec![b'x'; 5000]).unwrap();
    conn.write_all(b"\nlast line no newline").unwrap();
    drop(conn);

    let second = "d a\n".repeat(300);
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(second.as_bytes()).unwrap();
    drop(conn);

    let want = expected(&format!("{first}last line no newline\n{second}"));
    eventually(|| *out.0.lock().unwrap() == want);
    ssc.stop(true).unwrap();
    assert_eq!(*out.0.lock().unwrap(), want);

    assert_eq!(events.skipped(SkipReason::InvalidUtf8), 1);
    assert_eq!(events.skipped(SkipReason::TooLong), 1);
    let ev = events.0.lock().unwrap();
    let started = ev
        .iter()
        .filter(|e| matches!(e, StreamingEvent::ReceiverStarted(_)))
        .count();
    let errors = ev
        .iter()
        .filter(|e| matches!(e, StreamingEvent::ReceiverError(_)))
        .count();
    assert!(started >= 2, "receiver restarted: {started} starts");
    assert!(errors >= 1);
    let mut times: Vec<u64> = ev
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::BatchCompleted(b) => Some(b.batch_time.0),
            _ => None,
        })
        .collect();
    assert!(
        times.windows(2).all(|w| w[0] + 100 == w[1]),
        "batches in time order, one per interval"
    );
    let records: u64 = ev
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::BatchCompleted(b) => Some(b.records),
            _ => None,
        })
        .sum();
    assert_eq!(records, 1500 + 1 + 300);
    times.dedup();
}

#[test]
fn graceful_stop_processes_everything_received_and_save_as_text_files_uses_spark_layout() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let dir = tempfile::tempdir().unwrap();
    let prefix = dir.path().join("wc");
    let mut ssc = StreamingContext::new(Settings {
        batch_interval: Duration::from_millis(300),
        ..settings()
    })
    .unwrap();
    ssc.socket_text_stream("127.0.0.1", port)
        .flat_map(sluice_runtime::builtins::split)
        .map(|w| (w, 1i64))
        .reduce_by_key(|a, b| a + b)
        .save_as_text_files(prefix.to_str().unwrap(), "");
    ssc.start().unwrap();
    let (mut conn, _) = server.accept().unwrap();
    let text = "x y\ny z z\n".repeat(1000);
    conn.write_all(text.as_bytes()).unwrap();
    // Stop while the data may still sit in the receiver's buffer: nothing may be lost.
    std::thread::sleep(Duration::from_millis(100));
    ssc.stop(true).unwrap();
    drop(conn);

    let mut total = BTreeMap::new();
    let mut dirs = 0;
    for entry in std::fs::read_dir(dir.path()).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_str().unwrap().to_string();
        let ms: u64 = name
            .strip_prefix("wc-")
            .expect("only batch dirs remain")
            .parse()
            .unwrap();
        assert_eq!(ms % 300, 0, "directory named by batch time");
        assert!(path.join("_SUCCESS").exists());
        assert!(path.join("part-00000").exists());
        dirs += 1;
        for part in std::fs::read_dir(&path).unwrap() {
            let part = part.unwrap().path();
            if part.file_name().unwrap() == "_SUCCESS" {
                continue;
            }
            for line in std::fs::read_to_string(&part).unwrap().lines() {
                let inner = line.strip_prefix('(').unwrap().strip_suffix(')').unwrap();
                let (w, n) = inner.rsplit_once(',').unwrap();
                *total.entry(w.to_string()).or_insert(0) += n.parse::<i64>().unwrap();
            }
        }
    }
    assert!(dirs >= 1);
    assert_eq!(total, expected(&text));
}

/// What a sink kept, per (batch time, partition).
type Written = Arc<Mutex<BTreeMap<(u64, usize), Vec<(String, i64)>>>>;

/// A sink that fails its first `failures` writes (a database that is down for a while),
/// then keeps each (batch, partition) once, as the jdbc sink does with its commit markers.
struct Flaky {
    failures: Mutex<usize>,
    written: Written,
}

impl PartitionSink<(String, i64)> for Flaky {
    fn name(&self) -> String {
        "flaky".into()
    }
    fn write_partition(
        &self,
        t: BatchTime,
        part: usize,
        records: &mut dyn Iterator<Item = (String, i64)>,
    ) -> Result<(), String> {
        let mut failures = self.failures.lock().unwrap();
        if *failures > 0 {
            *failures -= 1;
            return Err("the database is gone".into());
        }
        self.written
            .lock()
            .unwrap()
            .entry((t.0, part))
            .or_insert_with(|| records.collect());
        Ok(())
    }
}

fn flaky_context(
    failures: usize,
    retries: Option<u32>,
) -> (StreamingContext, TcpListener, Arc<Events>, Written) {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let mut ssc = StreamingContext::new(Settings {
        batch_retries: retries,
        // One attempt per task: each failure fails the job, whose retries are tested here.
        task_max_failures: 1,
        ..settings()
    })
    .unwrap();
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let written = Arc::default();
    ssc.socket_text_stream("127.0.0.1", port)
        .map(|w| (w, 1i64))
        .foreach_partition(Flaky {
            failures: Mutex::new(failures),
            written: Arc::clone(&written),
        });
    (ssc, server, events, written)
}

/// The retries the listener heard of: (attempt, delay in ms).
fn retries(events: &Events) -> Vec<(u32, u64)> {
    events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::BatchRetrying {
                attempt,
                delay_ms,
                error,
                what,
                ..
            } => {
                assert!(error.contains("the database is gone"), "{error}");
                assert!(what.contains("foreachPartition(flaky)"), "{what}");
                Some((*attempt, *delay_ms))
            }
            _ => None,
        })
        .collect()
}

#[test]
fn a_failing_output_is_retried_with_backoff_and_later_batches_wait_for_it() {
    let (mut ssc, server, events, written) = flaky_context(3, None);
    ssc.start().unwrap();
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(b"a\nb\n").unwrap();
    let total = || -> BTreeMap<String, i64> {
        let mut m = BTreeMap::new();
        for (k, v) in written.lock().unwrap().values().flatten() {
            *m.entry(k.clone()).or_default() += v;
        }
        m
    };
    for _ in 0..400 {
        if total().len() == 2 {
            break;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    ssc.stop(true).unwrap();
    assert_eq!(total(), BTreeMap::from([("a".into(), 1), ("b".into(), 1)]));
    assert_eq!(retries(&events), [(1, 100), (2, 200), (3, 400)]);
    let completed: Vec<(BatchTime, bool)> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::BatchCompleted(b) => Some((b.batch_time, b.failure.is_none())),
            _ => None,
        })
        .collect();
    assert!(completed.iter().all(|(_, ok)| *ok), "{completed:?}");
    assert!(
        completed.windows(2).all(|w| w[0].0 < w[1].0),
        "no batch overtook the retried one: {completed:?}"
    );
}

#[test]
fn a_failing_output_fails_the_pipeline_once_its_retries_run_out() {
    let (mut ssc, server, events, written) = flaky_context(usize::MAX, Some(2));
    ssc.start().unwrap();
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(b"a\nb\n").unwrap();
    let ended = ssc.await_termination(Some(Duration::from_secs(20)));
    let sluice_runtime::Termination::Failed(message) = ended else {
        panic!("expected a failure, got {ended:?}");
    };
    assert!(message.contains("the database is gone"), "{message}");
    assert!(ssc.stop(true).is_err(), "stop reports the failure");
    assert_eq!(retries(&events), [(1, 100), (2, 200)]);
    assert!(written.lock().unwrap().is_empty());
    let failed = events.0.lock().unwrap().iter().any(|e| {
        matches!(e, StreamingEvent::BatchCompleted(b) if b.failure.as_deref().is_some_and(|f| f.contains("foreachPartition(flaky)")))
    });
    assert!(failed, "the listener saw the failed batch");
}

#[test]
fn on_a_manual_clock_batches_are_exactly_the_clock_ticks() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let clock = Arc::new(sluice_runtime::ManualClock::new(10_000));
    let mut ssc = StreamingContext::with_clock(
        Settings {
            batch_interval: Duration::from_secs(1),
            block_interval: Duration::from_millis(200),
            ..settings()
        },
        clock.clone(),
    )
    .unwrap();
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let out = wordcount(&mut ssc, port);
    ssc.start().unwrap();
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all(b"x y x\n").unwrap();
    // Real time for the receiver to read; no batch can happen while the clock stands still.
    std::thread::sleep(Duration::from_millis(300));
    assert!(out.0.lock().unwrap().is_empty());
    for _ in 0..5 {
        clock.advance(200);
        std::thread::sleep(Duration::from_millis(20));
    }
    eventually(|| !out.0.lock().unwrap().is_empty());
    assert_eq!(*out.0.lock().unwrap(), expected("x y x"));
    conn.write_all(b"y\n").unwrap();
    std::thread::sleep(Duration::from_millis(300));
    for _ in 0..5 {
        clock.advance(200);
        std::thread::sleep(Duration::from_millis(20));
    }
    eventually(|| out.0.lock().unwrap().get("y") == Some(&2));
    let completed: Vec<(u64, u64)> = events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::BatchCompleted(b) => Some((b.batch_time.0, b.records)),
            _ => None,
        })
        .collect();
    assert_eq!(completed, [(11_000, 1), (12_000, 1)]);
    drop(ssc);
}

#[test]
fn a_socket_with_another_delimiter_splits_records_there() {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let mut ssc = StreamingContext::new(settings()).unwrap();
    let events = Arc::new(Events::default());
    ssc.add_listener(events.clone());
    let out = Collect::default();
    ssc.socket_stream("127.0.0.1", port, b';')
        .map(|r| (r, 1i64))
        .reduce_by_key(|a, b| a + b)
        .foreach_partition(out.clone());
    ssc.start().unwrap();
    let (mut conn, _) = server.accept().unwrap();
    conn.write_all("a b;c;a b;two\nlines;".repeat(100).as_bytes())
        .unwrap();
    drop(conn);
    let want: BTreeMap<String, i64> = [("a b".to_string(), 200), ("c".to_string(), 100)].into();
    eventually(|| *out.0.lock().unwrap() == want);
    ssc.stop(true).unwrap();
    assert_eq!(*out.0.lock().unwrap(), want);
    assert_eq!(events.skipped(SkipReason::LineBreak), 100);
}
