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
