//! Backpressure on a real socket: a pipeline offered twice what it can process keeps its
//! scheduling delay bounded when backpressure is on, and falls further behind every batch
//! when it is off. Both runs have the same receiver maximum rate; only backpressure differs.

use sluice_runtime::listener::{BatchInfo, StreamingEvent, StreamingListener};
use sluice_runtime::{Settings, StreamingContext};
use std::io::Write;
use std::net::TcpListener;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// The pipeline's cost: 20 µs of work per record, so at most 50 000 records/s.
const CAPACITY: u64 = 50_000;
const BATCH_MS: u64 = 200;

#[derive(Default)]
struct Completed(Mutex<Vec<BatchInfo>>);
impl StreamingListener for Completed {
    fn on_event(&self, e: &StreamingEvent) {
        if let StreamingEvent::BatchCompleted(b) = e {
            self.0.lock().unwrap().push(b.clone());
        }
    }
}

/// Offers records as fast as the receiver takes them, runs for `secs`, and returns the
/// completed batches and the rate limit in force at the end.
fn overload(backpressure: bool, secs: u64) -> (Vec<BatchInfo>, u64) {
    let server = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = server.local_addr().unwrap().port();
    let done = Arc::new(AtomicBool::new(false));
    let feeding = done.clone();
    let feeder = std::thread::spawn(move || {
        let (mut conn, _) = server.accept().unwrap();
        let chunk = "a record of about thirty bytes\n".repeat(256);
        while !feeding.load(Ordering::Relaxed) {
            if conn.write_all(chunk.as_bytes()).is_err() {
                return;
            }
        }
    });
    let settings = Settings {
        batch_interval: Duration::from_millis(BATCH_MS),
        block_interval: Duration::from_millis(50),
        receiver_max_rate: 2 * CAPACITY,
        backpressure,
        ..Settings::default()
    };
    let mut ssc = StreamingContext::new(settings).unwrap();
    let completed = Arc::new(Completed::default());
    ssc.add_listener(completed.clone());
    ssc.socket_text_stream("127.0.0.1", port)
        .foreach_rdd(|records, _| {
            std::thread::sleep(Duration::from_micros(
                records.len() as u64 * 1_000_000 / CAPACITY,
            ))
        });
    ssc.start().unwrap();
    std::thread::sleep(Duration::from_secs(secs));
    let limit = ssc.receiver_rate_limits()[0].1;
    done.store(true, Ordering::Relaxed);
    ssc.stop(false).unwrap();
    feeder.join().unwrap();
    let batches = completed.0.lock().unwrap().clone();
    (batches, limit)
}

#[test]
fn backpressure_bounds_the_scheduling_delay_of_an_overloaded_pipeline() {
    let (batches, limit) = overload(true, 6);
    let delays: Vec<u64> = batches
        .iter()
        .filter_map(|b| b.scheduling_delay())
        .collect();
    // After the estimator has settled (half the run), delay stays within two batches.
    let settled = &delays[delays.len() / 2..];
    assert!(settled.len() >= 5, "too few batches: {delays:?}");
    assert!(
        settled.iter().all(|&d| d <= 2 * BATCH_MS),
        "scheduling delays with backpressure: {delays:?}"
    );
    assert!(
        limit < 2 * CAPACITY && limit > CAPACITY / 4,
        "rate limit {limit}/s should settle near the capacity {CAPACITY}/s"
    );

    let (batches, limit) = overload(false, 3);
    let delays: Vec<u64> = batches
        .iter()
        .filter_map(|b| b.scheduling_delay())
        .collect();
    assert_eq!(
        limit,
        2 * CAPACITY,
        "without backpressure the limit stays at maxRate"
    );
    assert!(
        delays.last().copied().unwrap_or(0) > 4 * BATCH_MS,
        "without backpressure the delay should grow: {delays:?}"
    );
}
