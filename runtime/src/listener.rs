//! Streaming listener events (Spark's `StreamingListener`) and the bus that delivers them.

use crate::block::StreamId;
use crate::time::BatchTime;
use std::collections::BTreeMap;
use std::io::Write;
use std::sync::{Arc, Mutex, RwLock};

/// One batch as the scheduler saw it; times are clock milliseconds.
#[derive(Clone, Debug, PartialEq)]
pub struct BatchInfo {
    pub batch_time: BatchTime,
    /// Input records allocated to the batch, over all input streams.
    pub records: u64,
    /// The same, per receiver input stream.
    pub stream_records: BTreeMap<StreamId, u64>,
    /// The records of each direct source's offset ranges.
    pub direct_records: BTreeMap<crate::direct::DirectId, u64>,
    pub submission_time: u64,
    pub processing_start: Option<u64>,
    pub processing_end: Option<u64>,
    /// Set when an output operation failed.
    pub failure: Option<String>,
}

impl BatchInfo {
    /// Time from the batch's time to the start of its first job.
    pub fn scheduling_delay(&self) -> Option<u64> {
        self.processing_start
            .map(|s| s.saturating_sub(self.batch_time.0))
    }

    /// Time the batch's jobs took.
    pub fn processing_delay(&self) -> Option<u64> {
        Some(self.processing_end?.saturating_sub(self.processing_start?))
    }

    /// Scheduling delay plus processing delay.
    pub fn total_delay(&self) -> Option<u64> {
        self.processing_end
            .map(|e| e.saturating_sub(self.batch_time.0))
    }
}

/// A receiver as the tracker sees it.
#[derive(Clone, Debug, PartialEq)]
pub struct ReceiverInfo {
    pub stream: StreamId,
    pub name: String,
    pub active: bool,
    pub last_error: Option<String>,
}

/// One output operation's run for one batch (Spark's `OutputOperationInfo`).
#[derive(Clone, Debug, PartialEq)]
pub struct OutputOperationInfo {
    pub batch_time: BatchTime,
    /// Its rank among the pipeline's output operations, in definition order.
    pub id: usize,
    pub name: String,
    pub start: u64,
    pub end: Option<u64>,
    pub failure: Option<String>,
}

/// Everything a listener hears about.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamingEvent {
    /// The context started, at this clock time.
    StreamingStarted(u64),
    BatchSubmitted(BatchInfo),
    BatchStarted(BatchInfo),
    BatchCompleted(BatchInfo),
    OutputOperationStarted(OutputOperationInfo),
    OutputOperationCompleted(OutputOperationInfo),
    ReceiverStarted(ReceiverInfo),
    ReceiverError(ReceiverInfo),
    ReceiverStopped(ReceiverInfo),
    /// Something went wrong that the pipeline carries on through.
    Warning(String),
    /// A partition task of a batch failed and may run again, or was run speculatively
    /// (Spark's task-level `SparkListener` events, for the batch they belong to).
    Task {
        batch: BatchTime,
        event: crate::executor::TaskEvent,
    },
    /// A step of a batch failed (a sink, a direct source's fetch) and is tried again after
    /// `delay_ms`; the batch does not complete, and later batches wait, until it succeeds.
    BatchRetrying {
        batch: BatchTime,
        what: String,
        attempt: u32,
        error: String,
        delay_ms: u64,
    },
    /// Records a receiver dropped instead of storing, with why; `count` is since the last report.
    RecordsSkipped {
        stream: StreamId,
        reason: SkipReason,
        count: u64,
    },
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SkipReason {
    InvalidUtf8,
    TooLong,
    /// A record handed to a receiver's `store` contained a line break.
    LineBreak,
    /// A broker message lacked the field that holds the record.
    MissingField,
}

impl std::fmt::Display for SkipReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            SkipReason::InvalidUtf8 => "not valid UTF-8",
            SkipReason::TooLong => "longer than max_record_bytes",
            SkipReason::LineBreak => "contains a line break",
            SkipReason::MissingField => "has no record field",
        })
    }
}

/// Hears every event, on the thread that posted it; must not block for long.
pub trait StreamingListener: Send + Sync {
    fn on_event(&self, event: &StreamingEvent);
}

/// Delivers events to every registered listener, in registration order.
#[derive(Default)]
pub struct ListenerBus {
    listeners: RwLock<Vec<Arc<dyn StreamingListener>>>,
}

impl ListenerBus {
    pub fn add(&self, l: Arc<dyn StreamingListener>) {
        self.listeners
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .push(l);
    }

    pub fn post(&self, event: StreamingEvent) {
        for l in self
            .listeners
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            l.on_event(&event);
        }
    }
}

/// Writes one JSON object per completed batch (`--batch-log`).
pub struct BatchLog {
    out: Mutex<Box<dyn Write + Send>>,
}

impl BatchLog {
    pub fn new(out: Box<dyn Write + Send>) -> Self {
        BatchLog {
            out: Mutex::new(out),
        }
    }
}

impl StreamingListener for BatchLog {
    fn on_event(&self, event: &StreamingEvent) {
        if let StreamingEvent::BatchCompleted(b) = event {
            let line = serde_json::json!({
                "batch_time_ms": b.batch_time.0,
                "records": b.records,
                "scheduling_delay_ms": b.scheduling_delay(),
                "processing_delay_ms": b.processing_delay(),
                "total_delay_ms": b.total_delay(),
                "failure": b.failure,
            });
            let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
            let _ = writeln!(out, "{line}");
            let _ = out.flush();
        }
    }
}

/// Spark's `StatsReportListener`: after every batch, the distribution (minimum, quartiles,
/// maximum) of the delays of the last `window` batches, on standard error.
pub struct StatsReporter {
    window: usize,
    recent: Mutex<std::collections::VecDeque<BatchInfo>>,
    out: Mutex<Box<dyn Write + Send>>,
}

impl StatsReporter {
    pub fn new(window: usize, out: Box<dyn Write + Send>) -> Self {
        StatsReporter {
            window: window.max(1),
            recent: Mutex::default(),
            out: Mutex::new(out),
        }
    }
}

/// Minimum, 25 %, median, 75 % and maximum of `xs` (nearest rank), in that order.
fn quartiles(mut xs: Vec<u64>) -> Option<[u64; 5]> {
    if xs.is_empty() {
        return None;
    }
    xs.sort_unstable();
    let at = |q: usize| xs[(q * (xs.len() - 1)) / 4];
    Some([at(0), at(1), at(2), at(3), at(4)])
}

impl StreamingListener for StatsReporter {
    fn on_event(&self, event: &StreamingEvent) {
        let StreamingEvent::BatchCompleted(b) = event else {
            return;
        };
        let mut recent = self.recent.lock().unwrap_or_else(|e| e.into_inner());
        recent.push_back(b.clone());
        while recent.len() > self.window {
            recent.pop_front();
        }
        let mut text = format!(
            "batch {}: delays over the last {} batches (ms: min 25% 50% 75% max)\n",
            b.batch_time,
            recent.len()
        );
        for (what, delay) in [
            (
                "scheduling",
                BatchInfo::scheduling_delay as fn(&BatchInfo) -> Option<u64>,
            ),
            ("processing", BatchInfo::processing_delay),
            ("total", BatchInfo::total_delay),
        ] {
            if let Some(q) = quartiles(recent.iter().filter_map(delay).collect()) {
                text.push_str(&format!(
                    "  {what:<10} {} {} {} {} {}\n",
                    q[0], q[1], q[2], q[3], q[4]
                ));
            }
        }
        let mut out = self.out.lock().unwrap_or_else(|e| e.into_inner());
        let _ = out.write_all(text.as_bytes());
        let _ = out.flush();
    }
}

/// Reports receiver trouble, skipped records, failed tasks and failed batches to the log.
/// A receiver error that repeats (a server that stays down) is reported once, and again
/// when it changes or once a batch with records has completed since.
#[derive(Default)]
pub struct ConsoleReporter {
    last_error: Mutex<Option<String>>,
}

impl StreamingListener for ConsoleReporter {
    fn on_event(&self, event: &StreamingEvent) {
        match event {
            StreamingEvent::ReceiverError(r) => {
                let line = format!(
                    "receiver {} (stream {}): {}",
                    r.name,
                    r.stream,
                    r.last_error.as_deref().unwrap_or("error")
                );
                let mut last = self.last_error.lock().unwrap_or_else(|e| e.into_inner());
                if last.as_deref() != Some(line.as_str()) {
                    tracing::warn!("{line}");
                    *last = Some(line);
                }
            }
            // Data got through since: the next error is news again.
            StreamingEvent::BatchCompleted(b) if b.records > 0 && b.failure.is_none() => {
                *self.last_error.lock().unwrap_or_else(|e| e.into_inner()) = None;
            }
            StreamingEvent::RecordsSkipped {
                stream,
                reason,
                count,
            } => tracing::warn!("stream {stream}: skipped {count} record(s): {reason}"),
            StreamingEvent::Warning(w) => tracing::warn!("{w}"),
            StreamingEvent::BatchRetrying {
                batch,
                what,
                attempt,
                error,
                delay_ms,
            } => tracing::warn!(
                "batch {batch}: {what} failed (attempt {attempt}): {error}; \
                 trying again in {delay_ms} ms"
            ),
            StreamingEvent::BatchCompleted(b) if b.failure.is_some() => tracing::error!(
                "batch {} failed: {}",
                b.batch_time,
                b.failure.as_deref().unwrap_or("")
            ),
            StreamingEvent::Task {
                batch,
                event:
                    crate::executor::TaskEvent::Failed {
                        partition,
                        attempt,
                        error,
                        retrying,
                    },
            } => tracing::warn!(
                "batch {batch}: partition {partition} attempt {attempt} failed: {error}{}",
                if *retrying { "; running it again" } else { "" }
            ),
            _ => {}
        }
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Keeps every event, for tests.
    #[derive(Default)]
    pub(crate) struct Collect(pub Mutex<Vec<StreamingEvent>>);
    impl StreamingListener for Collect {
        fn on_event(&self, event: &StreamingEvent) {
            self.0.lock().unwrap().push(event.clone());
        }
    }

    #[test]
    fn delays_follow_spark_definitions() {
        let b = BatchInfo {
            batch_time: BatchTime(10_000),
            records: 5,
            stream_records: BTreeMap::new(),
            direct_records: BTreeMap::new(),
            submission_time: 10_000,
            processing_start: Some(10_040),
            processing_end: Some(10_300),
            failure: None,
        };
        assert_eq!(b.scheduling_delay(), Some(40));
        assert_eq!(b.processing_delay(), Some(260));
        assert_eq!(b.total_delay(), Some(300));
    }

    #[derive(Clone, Default)]
    struct Shared(Arc<Mutex<Vec<u8>>>);
    impl Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_stats_reporter_prints_delay_quartiles_over_its_window() {
        let buf = Shared::default();
        let r = StatsReporter::new(4, Box::new(buf.clone()));
        for (i, processing) in [10u64, 40, 20, 30, 1_000].into_iter().enumerate() {
            let t = 1_000 * (i as u64 + 1);
            r.on_event(&StreamingEvent::BatchCompleted(BatchInfo {
                batch_time: BatchTime(t),
                records: 1,
                stream_records: BTreeMap::new(),
                direct_records: BTreeMap::new(),
                submission_time: t,
                processing_start: Some(t + 5),
                processing_end: Some(t + 5 + processing),
                failure: None,
            }));
        }
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let last = text.rsplit("batch 5000").next().unwrap();
        // The window holds the last 4: processing 40, 20, 30, 1000.
        assert!(last.contains("over the last 4 batches"), "{text}");
        assert!(last.contains("processing 20 20 30 40 1000"), "{last}");
        assert!(last.contains("scheduling 5 5 5 5 5"), "{last}");
        assert_eq!(quartiles(vec![]), None);
    }

    #[test]
    fn batch_log_writes_one_json_line_per_completed_batch() {
        let buf = Shared::default();
        let log = BatchLog::new(Box::new(buf.clone()));
        let b = BatchInfo {
            batch_time: BatchTime(2_000),
            records: 7,
            stream_records: BTreeMap::new(),
            direct_records: BTreeMap::new(),
            submission_time: 2_000,
            processing_start: Some(2_001),
            processing_end: Some(2_011),
            failure: None,
        };
        log.on_event(&StreamingEvent::BatchStarted(b.clone()));
        log.on_event(&StreamingEvent::BatchCompleted(b));
        let text = String::from_utf8(buf.0.lock().unwrap().clone()).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert_eq!(lines.len(), 1);
        let v: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(v["batch_time_ms"], 2_000);
        assert_eq!(v["records"], 7);
        assert_eq!(v["scheduling_delay_ms"], 1);
        assert_eq!(v["processing_delay_ms"], 10);
        assert_eq!(v["total_delay_ms"], 11);
    }
}
