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
