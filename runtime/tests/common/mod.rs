//! Helpers shared by the runtime's integration tests.
#![allow(dead_code, unused_imports)]

#[path = "../../../tests/common/kafka.rs"]
pub mod kafka;
#[path = "../../../tests/common/services.rs"]
mod services;
pub use services::{pg_client, service};

use sluice_runtime::listener::{SkipReason, StreamingEvent, StreamingListener};
use std::sync::Mutex;

/// Keeps every event a context posts.
#[derive(Default)]
pub struct Events(pub Mutex<Vec<StreamingEvent>>);

impl StreamingListener for Events {
    fn on_event(&self, e: &StreamingEvent) {
        self.0.lock().unwrap().push(e.clone());
    }
}

impl Events {
    /// Records skipped for `r`, over every report.
    pub fn skipped(&self, r: SkipReason) -> u64 {
        let ev = self.0.lock().unwrap();
        ev.iter()
            .filter_map(|e| match e {
                StreamingEvent::RecordsSkipped { reason, count, .. } if *reason == r => {
                    Some(*count)
                }
                _ => None,
            })
            .sum()
    }
}

/// Per batch time, the records an output saw (sorted).
pub type Seen = std::sync::Arc<Mutex<std::collections::BTreeMap<u64, Vec<String>>>>;

/// Records each non-empty batch of `input` into the returned map; panics on the
/// `fail_batch`-th non-empty batch (1-based), after recording it, when one is given.
pub fn record_batches(input: &sluice_runtime::DStream<String>, fail_batch: Option<usize>) -> Seen {
    let seen = Seen::default();
    let out = seen.clone();
    let with_data = Mutex::new(0usize);
    input.foreach_rdd(move |mut records, t| {
        if records.is_empty() {
            return;
        }
        records.sort();
        out.lock().unwrap().insert(t.0, records);
        let mut n = with_data.lock().unwrap();
        *n += 1;
        if Some(*n) == fail_batch {
            panic!("the output fails on batch {t}");
        }
    });
    seen
}

/// Advances a manual clock one second (the tests' batch interval) and waits, at most
/// 20 s, for that batch to complete.
pub fn run_batch(
    ssc: &sluice_runtime::StreamingContext,
    clock: &sluice_runtime::ManualClock,
) -> sluice_runtime::BatchTime {
    clock.advance(1_000);
    let want = sluice_runtime::BatchTime(sluice_runtime::Clock::now_ms(clock));
    for _ in 0..4_000 {
        if ssc.last_completed_batch() == Some(want) {
            return want;
        }
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    panic!("batch {want} did not complete");
}

/// The task events (retries, speculation) a context posted.
pub fn task_events(events: &Events) -> Vec<sluice_runtime::executor::TaskEvent> {
    events
        .0
        .lock()
        .unwrap()
        .iter()
        .filter_map(|e| match e {
            StreamingEvent::Task { event, .. } => Some(event.clone()),
            _ => None,
        })
        .collect()
}

/// A task's first attempt that hangs until released (or 60 s pass): a straggler.
pub struct Straggler {
    release: std::sync::mpsc::Sender<()>,
    ended: std::sync::Arc<std::sync::atomic::AtomicBool>,
}

impl Straggler {
    /// The straggler, and what a `map` calls with whether its record is the one that
    /// hangs: only the first such call hangs.
    pub fn new() -> (Straggler, impl Fn(bool) + Send + Sync + 'static) {
        use std::sync::atomic::{AtomicBool, Ordering};
        let (release, hold) = std::sync::mpsc::channel::<()>();
        let hold = Mutex::new(hold);
        let ended = std::sync::Arc::new(AtomicBool::new(false));
        let (first, done) = (AtomicBool::new(true), ended.clone());
        let stall = move |this_one: bool| {
            if this_one && first.swap(false, Ordering::SeqCst) {
                let _ = hold
                    .lock()
                    .unwrap()
                    .recv_timeout(std::time::Duration::from_secs(60));
                done.store(true, Ordering::SeqCst);
            }
        };
        (Straggler { release, ended }, stall)
    }

    pub fn has_ended(&self) -> bool {
        self.ended.load(std::sync::atomic::Ordering::SeqCst)
    }

    /// Lets the straggler go on, waits until it is past its hang, then `settle` longer for
    /// the rest of its attempt (its write, its commit request).
    pub fn release(&self, settle: std::time::Duration) {
        self.release.send(()).unwrap();
        for _ in 0..400 {
            if self.has_ended() {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(5));
        }
        std::thread::sleep(settle);
    }
}
