//! The socket receiver (Spark's `SocketReceiver`) and the line framer it reads with.
//!
//! Unreliable, as Spark's is: what the peer sent but the process had not yet cut into a
//! block is lost if the process dies.

use super::{Receiver, ReceiverContext};
use crate::listener::SkipReason;
use tokio::io::AsyncReadExt;

/// Reads `\n`-terminated lines (a `\r` before the `\n` is dropped, as Java's `readLine`
/// does) from a TCP server and stores them; restarts, and so reconnects, when the
/// connection fails or the peer closes it.
pub struct SocketReceiver {
    host: String,
    port: u16,
    delimiter: u8,
}

impl SocketReceiver {
    /// Lines ending in `\n`.
    pub fn new(host: &str, port: u16) -> Self {
        Self::with_delimiter(host, port, b'\n')
    }

    /// Records ending in `delimiter`.
    pub fn with_delimiter(host: &str, port: u16, delimiter: u8) -> Self {
        SocketReceiver {
            host: host.to_string(),
            port,
            delimiter,
        }
    }
}

impl Receiver for SocketReceiver {
    fn name(&self) -> String {
        format!("socket {}:{}", self.host, self.port)
    }

    fn on_start(&mut self, cx: &ReceiverContext) {
        let addr = format!("{}:{}", self.host, self.port);
        let delimiter = self.delimiter;
        let cx2 = cx.clone();
        cx.spawn(async move {
            let connected = tokio::select! {
                c = tokio::net::TcpStream::connect(&addr) => c,
                _ = cx2.stopped() => return,
            };
            let problem = match connected {
                Ok(stream) => match read_records(&cx2, stream, delimiter).await {
                    Ok(true) => return,
                    Ok(false) => format!("{addr} closed the connection; reconnecting"),
                    Err(e) => format!("reading from {addr} failed: {e}; reconnecting"),
                },
                Err(e) => format!("connecting to {addr} failed: {e}; retrying"),
            };
            cx2.restart(problem);
        });
    }
}

/// Reads until the peer closes (`Ok(false)`) or the receiver is stopped (`Ok(true)`).
async fn read_records(
    cx: &ReceiverContext,
    mut stream: tokio::net::TcpStream,
    delimiter: u8,
) -> std::io::Result<bool> {
    let mut framer = LineFramer::with_delimiter(cx.max_record_bytes(), delimiter);
    let mut buf = vec![0u8; 64 * 1024];
    loop {
        let n = tokio::select! {
            n = stream.read(&mut buf) => n?,
            _ = cx.stopped() => return Ok(true),
        };
        if n == 0 {
            framer.finish();
        } else {
            framer.push(&buf[..n]);
        }
        let (text, records) = framer.output();
        cx.store_framed(text, records).await;
        for (reason, count) in framer.take_skips() {
            cx.report_skipped(reason, count);
        }
        framer.clear_output();
        if n == 0 {
            return Ok(false);
        }
    }
}

/// Splits a byte stream into validated text records at a delimiter byte (`\n` by
/// default). Complete records collect in the output, each followed by `\n`; records that
/// are not UTF-8, are longer than the limit or (with another delimiter) hold a `\n` are
/// counted, not kept. Bytes may arrive cut anywhere.
pub struct LineFramer {
    max: usize,
    delimiter: u8,
    pending: Vec<u8>,
    /// Inside a record already known to be too long: drop bytes up to its end.
    skipping: bool,
    out: String,
    records: usize,
    invalid_utf8: u64,
    too_long: u64,
    line_breaks: u64,
}

impl LineFramer {
    /// A framer of `\n`-terminated lines of at most `max` bytes.
    pub fn new(max: usize) -> Self {
        Self::with_delimiter(max, b'\n')
    }

    /// A framer of records ending in `delimiter`, of at most `max` bytes.
    pub fn with_delimiter(max: usize, delimiter: u8) -> Self {
        LineFramer {
            max,
            delimiter,
            pending: Vec::new(),
            skipping: false,
            out: String::new(),
            records: 0,
            invalid_utf8: 0,
            too_long: 0,
            line_breaks: 0,
        }
    }

    /// Takes the next bytes of the stream.
    pub fn push(&mut self, mut chunk: &[u8]) {
        while let Some(nl) = memchr::memchr(self.delimiter, chunk) {
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
        let line = if self.delimiter == b'\n' {
            line.strip_suffix(b"\r").unwrap_or(line)
        } else if memchr::memchr(b'\n', line).is_some() {
            self.line_breaks += 1;
            return;
        } else {
            line
        };
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
            (SkipReason::LineBreak, std::mem::take(&mut self.line_breaks)),
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
    fn another_delimiter_splits_records_and_records_holding_a_line_break_are_counted() {
        let mut f = LineFramer::with_delimiter(100, b';');
        for chunk in [&b"a b;c"[..], b"\r;x\ny;", b"last"] {
            f.push(chunk);
        }
        f.finish();
        assert_eq!(f.out, "a b\nc\r\nlast\n");
        assert_eq!((f.records, f.line_breaks), (3, 1));
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
}
