//! Receivers and their supervisor (Spark's `ReceiverSupervisor` with its `BlockGenerator`).
//!
//! A receiver stores records into its supervisor's buffer; every block interval the
//! supervisor cuts the buffer into a [`Block`] and hands it to the `ReceivedBlockTracker`.
//! The socket receiver is unreliable, as Spark's is: what the peer sent but the process had
//! not yet cut into a block is lost if the process dies.

use crate::block::{Block, StreamId};
use crate::listener::{ListenerBus, ReceiverInfo, SkipReason, StreamingEvent};
use crate::settings::Settings;
use crate::time::Clock;
use crate::tracker::ReceivedBlockTracker;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use tokio::io::AsyncReadExt;
use tokio::sync::watch;

/// What a receiver is; the tracker launches one task per spec.
#[derive(Clone, Debug, PartialEq)]
pub enum ReceiverSpec {
    /// Lines of text from a TCP server (`socketTextStream`).
    Socket { host: String, port: u16 },
}

impl ReceiverSpec {
    pub fn name(&self) -> String {
        match self {
            ReceiverSpec::Socket { host, port } => format!("socket {host}:{port}"),
        }
    }

    pub(crate) async fn run(
        self,
        sup: Arc<ReceiverSupervisor>,
        settings: Settings,
        stop: watch::Receiver<bool>,
    ) {
        match self {
            ReceiverSpec::Socket { host, port } => {
                SocketReceiver {
                    host,
                    port,
                    sup,
                    settings,
                    stop,
                }
                .run()
                .await
            }
        }
    }
}

#[derive(Default)]
struct Buffer {
    data: String,
    records: usize,
}

/// Buffers one receiver's records and cuts them into blocks.
pub struct ReceiverSupervisor {
    stream: StreamId,
    buffer: Mutex<Buffer>,
    next_block: AtomicU64,
    blocks: Arc<ReceivedBlockTracker>,
    bus: Arc<ListenerBus>,
}

impl ReceiverSupervisor {
    pub fn new(stream: StreamId, blocks: Arc<ReceivedBlockTracker>, bus: Arc<ListenerBus>) -> Self {
        ReceiverSupervisor {
            stream,
            buffer: Mutex::new(Buffer::default()),
            next_block: AtomicU64::new(0),
            blocks,
            bus,
        }
    }

    pub fn stream(&self) -> StreamId {
        self.stream
    }

    /// Stores `records` records given as text, each followed by `\n`.
    pub fn store_many(&self, text: &str, records: usize) {
        if records == 0 {
            return;
        }
        let mut b = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
        b.data.push_str(text);
        b.records += records;
    }

    /// Turns what is buffered into a block and reports it; does nothing when empty.
    pub fn cut_block(&self) {
        let taken = {
            let mut b = self.buffer.lock().unwrap_or_else(|e| e.into_inner());
            if b.records == 0 {
                return;
            }
            std::mem::take(&mut *b)
        };
        self.blocks.add_block(Block {
            stream: self.stream,
            id: self.next_block.fetch_add(1, Ordering::Relaxed),
            data: taken.data,
            records: taken.records,
        });
    }

    fn post(&self, event: StreamingEvent) {
        self.bus.post(event);
    }

    /// Cuts a block every `interval` on `clock` until stopped.
    pub(crate) async fn generate_blocks(
        self: Arc<Self>,
        clock: Arc<dyn Clock>,
        interval: std::time::Duration,
        mut stop: watch::Receiver<bool>,
    ) {
        let step = interval.as_millis().max(1) as u64;
        let mut next = (clock.now_ms() / step + 1) * step;
        loop {
            tokio::select! {
                _ = clock.wait_till(next) => {}
                _ = stop.wait_for(|s| *s) => return,
            }
            self.cut_block();
            next += step;
        }
    }
}

/// Reads `\n`-terminated lines (a `\r` before the `\n` is dropped, as Java's `readLine`
/// does) and stores them; reconnects after the restart delay when the connection fails
/// or the peer closes it.
struct SocketReceiver {
    host: String,
    port: u16,
    sup: Arc<ReceiverSupervisor>,
    settings: Settings,
    stop: watch::Receiver<bool>,
}

impl SocketReceiver {
    fn info(&self, active: bool, last_error: Option<String>) -> ReceiverInfo {
        ReceiverInfo {
            stream: self.sup.stream,
            name: format!("socket {}:{}", self.host, self.port),
            active,
            last_error,
        }
    }

    async fn run(mut self) {
        let addr = format!("{}:{}", self.host, self.port);
        loop {
            let connected = tokio::select! {
                c = tokio::net::TcpStream::connect(&addr) => c,
                _ = self.stop.wait_for(|s| *s) => return,
            };
            let problem = match connected {
                Ok(stream) => {
                    self.sup
                        .post(StreamingEvent::ReceiverStarted(self.info(true, None)));
                    match self.read_lines(stream).await {
                        Ok(true) => return,
                        Ok(false) => format!("{addr} closed the connection; reconnecting"),
                        Err(e) => format!("reading from {addr} failed: {e}; reconnecting"),
                    }
                }
                Err(e) => format!("connecting to {addr} failed: {e}; retrying"),
            };
            self.sup.post(StreamingEvent::ReceiverError(
                self.info(false, Some(problem)),
            ));
            tokio::select! {
                _ = tokio::time::sleep(self.settings.receiver_restart_delay) => {}
                _ = self.stop.wait_for(|s| *s) => return,
            }
        }
    }

    /// Reads until the peer closes (`Ok(false)`) or the receiver is stopped (`Ok(true)`).
    async fn read_lines(&mut self, mut stream: tokio::net::TcpStream) -> std::io::Result<bool> {
        let mut framer = LineFramer::new(self.settings.max_record_bytes);
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = tokio::select! {
                n = stream.read(&mut buf) => n?,
                _ = self.stop.wait_for(|s| *s) => return Ok(true),
            };
            if n == 0 {
                framer.finish();
            } else {
                framer.push(&buf[..n]);
            }
            let (text, records) = framer.output();
            self.sup.store_many(text, records);
            for (reason, count) in framer.take_skips() {
                self.sup.post(StreamingEvent::RecordsSkipped {
                    stream: self.sup.stream,
                    reason,
                    count,
                });
            }
            framer.clear_output();
            if n == 0 {
                return Ok(false);
            }
        }
    }
}

/// Splits a byte stream into validated text records. Complete records collect in the
/// output, each followed by `\n`; records that are not UTF-8 or are longer than the limit
/// are counted, not kept. Bytes may arrive cut anywhere.
pub struct LineFramer {
    max: usize,
    pending: Vec<u8>,
    /// Inside a record already known to be too long: drop bytes up to its end.
    skipping: bool,
    out: String,
    records: usize,
    invalid_utf8: u64,
    too_long: u64,
}

impl LineFramer {
    /// A framer keeping records of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        LineFramer {
            max,
            pending: Vec::new(),
            skipping: false,
            out: String::new(),
            records: 0,
            invalid_utf8: 0,
            too_long: 0,
        }
    }

    /// Takes the next bytes of the stream.
    pub fn push(&mut self, mut chunk: &[u8]) {
        while let Some(nl) = memchr::memchr(b'\n', chunk) {
            let (line, rest) = (&chunk[..nl], &chunk[nl + 1..]);
            if self.skipping {
                self.skipping = false;
            } else if self.pending.is_empty() {
                self.record(line);
            } else if self.pending.len() + line.len() > self.max + 1 {
                self.pending.clear();
                self.too_long += 1;
            } else {
                let mut whole = std::mem::take(&mut self.pending);
                whole.extend_from_slice(line);
                self.record(&whole);
                whole.clear();
                self.pending = whole;
            }
            chunk = rest;
        }
        if self.skipping || chunk.is_empty() {
            return;
        }
        if self.pending.len() + chunk.len() > self.max + 1 {
            self.pending.clear();
            self.skipping = true;
            self.too_long += 1;
        } else {
            self.pending.extend_from_slice(chunk);
        }
    }

    /// End of stream: a last record without a terminator still counts.
    pub fn finish(&mut self) {
        if !self.pending.is_empty() {
            let last = std::mem::take(&mut self.pending);
            self.record(&last);
        }
        self.skipping = false;
    }

    fn record(&mut self, line: &[u8]) {
        let line = line.strip_suffix(b"\r").unwrap_or(line);
        if line.len() > self.max {
            self.too_long += 1;
            return;
        }
        match std::str::from_utf8(line) {
            Ok(text) => {
                self.out.push_str(text);
                self.out.push('\n');
                self.records += 1;
            }
            Err(_) => self.invalid_utf8 += 1,
        }
    }

    /// The complete records so far (each followed by `\n`) and how many there are.
    pub fn output(&self) -> (&str, usize) {
        (&self.out, self.records)
    }

    /// Forgets the records handed on, keeping any partial record.
    pub fn clear_output(&mut self) {
        self.out.clear();
        self.records = 0;
    }

    /// Records skipped since the last call, by reason.
    pub fn take_skips(&mut self) -> impl Iterator<Item = (SkipReason, u64)> {
        let skips = [
            (
                SkipReason::InvalidUtf8,
                std::mem::take(&mut self.invalid_utf8),
            ),
            (SkipReason::TooLong, std::mem::take(&mut self.too_long)),
        ];
        skips.into_iter().filter(|&(_, n)| n > 0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(chunks: &[&[u8]], max: usize) -> (String, usize, u64, u64) {
        let mut f = LineFramer::new(max);
        for c in chunks {
            f.push(c);
        }
        f.finish();
        (f.out, f.records, f.invalid_utf8, f.too_long)
    }

    #[test]
    fn lines_split_across_chunks_are_joined_and_crlf_is_trimmed() {
        let (out, n, bad, long) = frame(&[b"hello wo", b"rld\r\nsecond\n", b"last"], 100);
        assert_eq!(out, "hello world\nsecond\nlast\n");
        assert_eq!((n, bad, long), (3, 0, 0));
    }

    #[test]
    fn invalid_utf8_and_overlong_lines_are_counted_and_the_rest_kept() {
        let long = vec![b'x'; 50];
        let (out, n, bad, too_long) = frame(
            &[
                b"ok\n\xff\xfe\n",
                &long[..20],
                &long[20..],
                b"\nafter\n",
                &long,
                b"\n",
            ],
            10,
        );
        assert_eq!(out, "ok\nafter\n");
        assert_eq!((n, bad, too_long), (2, 1, 2));
    }

    #[test]
    fn a_record_exactly_at_the_limit_is_kept() {
        let (out, n, _, long) = frame(&[b"12345", b"67890\n"], 10);
        assert_eq!((out.as_str(), n, long), ("1234567890\n", 1, 0));
    }

    /// Socket bytes are untrusted: random bytes cut at random chunk boundaries never
    /// panic, every line is either kept or counted, and what is kept is exactly the valid
    /// lines.
    #[test]
    fn random_bytes_in_random_chunks_are_kept_or_counted() {
        let mut seed: u64 = 0x1234_5678_9abc_def1;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..2_000 {
            let len = (next() % 400) as usize;
            let alphabet: &[u8] = b"ab \n\r\xff\xc3\xa9x";
            let bytes: Vec<u8> = (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect();
            let max = 1 + (next() % 20) as usize;
            let mut f = LineFramer::new(max);
            let mut rest = &bytes[..];
            while !rest.is_empty() {
                let n = 1 + (next() as usize % rest.len());
                f.push(&rest[..n]);
                rest = &rest[n..];
            }
            f.finish();
            let want: Vec<String> = bytes
                .split(|&b| b == b'\n')
                .enumerate()
                .filter(|(i, l)| !(l.is_empty() && *i == bytes.split(|&b| b == b'\n').count() - 1))
                .map(|(_, l)| l.strip_suffix(b"\r").unwrap_or(l))
                .filter(|l| l.len() <= max)
                .filter_map(|l| std::str::from_utf8(l).ok().map(str::to_owned))
                .collect();
            let got: Vec<&str> = f.out.split_terminator('\n').collect();
            assert_eq!(got, want, "input {bytes:?} max {max}");
            let lines = bytes.split(|&b| b == b'\n').count()
                - usize::from(bytes.last() == Some(&b'\n') || bytes.is_empty());
            assert_eq!(
                f.records + (f.invalid_utf8 + f.too_long) as usize,
                lines,
                "input {bytes:?} max {max}"
            );
        }
    }

    #[test]
    fn supervisor_cuts_blocks_only_when_something_is_buffered() {
        let tracker = Arc::new(ReceivedBlockTracker::default());
        let sup = ReceiverSupervisor::new(3, tracker.clone(), Arc::new(ListenerBus::default()));
        sup.cut_block();
        assert!(!tracker.has_unallocated_blocks());
        sup.store_many("a\nb\n", 2);
        sup.cut_block();
        sup.store_many("c\n", 1);
        sup.cut_block();
        tracker.allocate_blocks_to_batch(crate::BatchTime(1));
        let blocks = tracker.blocks_of_batch(crate::BatchTime(1));
        let ids: Vec<u64> = blocks.of(3).iter().map(|b| b.id).collect();
        assert_eq!(ids, [0, 1]);
        assert_eq!(blocks.records(), 3);
    }
}
