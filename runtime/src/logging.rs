//! A pipeline's log: tracing events on standard error, as text lines (the default) or one
//! JSON object per line (`--log-format json`), and, on a terminal, a one-line live status
//! (batches done, input rate, delays) redrawn after each batch below the log.

use crate::listener::{StreamingEvent, StreamingListener};
use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};

/// How log lines are written.
#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// `time LEVEL message`, for people.
    Text,
    /// One JSON object per line (`timestamp`, `level`, `message`), for log collectors.
    Json,
}

/// Whether the live status line is on screen: a log line clears it first.
static LIVE: AtomicBool = AtomicBool::new(false);

/// Standard error, clearing the live status line before a log line.
struct Stderr;

impl Write for Stderr {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let mut err = std::io::stderr().lock();
        if LIVE.swap(false, Ordering::Relaxed) {
            err.write_all(b"\r\x1b[2K")?;
        }
        err.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}

/// Installs the log for this process; returns whether the live status line fits (text
/// on a terminal). A second call changes nothing.
pub fn init(format: LogFormat) -> bool {
    let builder = tracing_subscriber::fmt()
        .with_writer(|| Stderr)
        .with_target(false)
        .with_ansi(std::io::stderr().is_terminal());
    let installed = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
    installed.is_ok() && format == LogFormat::Text && std::io::stderr().is_terminal()
}

/// The one-line live status: after each batch, how many ran, the last one's input rate
/// and delays, redrawn in place.
pub struct LiveStatus {
    batch_ms: u64,
    done: std::sync::atomic::AtomicU64,
}

impl LiveStatus {
    pub fn new(batch_ms: u64) -> Self {
        LiveStatus {
            batch_ms: batch_ms.max(1),
            done: Default::default(),
        }
    }

    /// The line after a batch.
    fn line(&self, b: &crate::listener::BatchInfo, done: u64) -> String {
        let rate = b.records as f64 * 1000.0 / self.batch_ms as f64;
        let ms = |d: Option<u64>| d.map_or("-".to_string(), |d| format!("{d} ms"));
        format!(
            "batches {done} | input {rate:.0} records/s | scheduling {} | processing {} | total {}",
            ms(b.scheduling_delay()),
            ms(b.processing_delay()),
            ms(b.total_delay())
        )
    }
}

impl StreamingListener for LiveStatus {
    fn on_event(&self, event: &StreamingEvent) {
        if let StreamingEvent::BatchCompleted(b) = event {
            let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
            let mut err = std::io::stderr().lock();
            let _ = write!(err, "\r\x1b[2K{}", self.line(b, done));
            let _ = err.flush();
            LIVE.store(true, Ordering::Relaxed);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::listener::BatchInfo;
    use crate::time::BatchTime;

    #[test]
    fn the_live_line_shows_the_rate_and_delays() {
        let live = LiveStatus::new(500);
        let b = BatchInfo {
            batch_time: BatchTime(1_000),
            records: 250,
            stream_records: Default::default(),
            direct_records: Default::default(),
            submission_time: 1_000,
            processing_start: Some(1_004),
            processing_end: Some(1_030),
            failure: None,
        };
        assert_eq!(
            live.line(&b, 7),
            "batches 7 | input 500 records/s | scheduling 4 ms | processing 26 ms | total 30 ms"
        );
    }
}
