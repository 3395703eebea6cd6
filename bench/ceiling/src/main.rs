//! The ceiling the benchmark measures Sluice against: the fastest socket word count one
//! thread can be written as, with no framework. It reads the feeder's lines from a loopback
//! socket in large chunks, splits them into words without allocating, counts each batch's
//! words in a pre-sized foldhash map (a word is copied only when new to the map), and
//! after each batch interval prints a line as the Spark peer does:
//! `BATCH t=<ms> records=<lines> sched_ms=<ms> proc_ms=<ms>`, where `proc_ms` is the time
//! spent counting and `sched_ms` how late the batch's report is.
//!
//! usage: sluice-ceiling PORT BATCH_MS SECONDS

use std::collections::HashMap;
use std::io::Read;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

fn main() {
    let args: Vec<u64> = std::env::args()
        .skip(1)
        .map(|a| a.parse().expect("PORT BATCH_MS SECONDS, as numbers"))
        .collect();
    let [port, batch_ms, seconds] = args[..] else {
        panic!("usage: sluice-ceiling PORT BATCH_MS SECONDS");
    };
    let mut socket = connect(port as u16);
    socket
        .set_read_timeout(Some(Duration::from_millis(batch_ms.min(100))))
        .expect("a read timeout");
    let end = Instant::now() + Duration::from_secs(seconds);
    let interval = Duration::from_millis(batch_ms);
    let mut next = Instant::now() + interval;
    let mut counts: HashMap<Vec<u8>, u64, foldhash::fast::FixedState> =
        HashMap::with_capacity_and_hasher(1 << 16, Default::default());
    let mut buf = vec![0u8; 1 << 20];
    let mut carry = 0; // bytes of an unfinished line at the start of `buf`
    let (mut lines, mut busy) = (0u64, Duration::ZERO);
    while Instant::now() < end {
        match socket.read(&mut buf[carry..]) {
            Ok(0) => break,
            Ok(n) => {
                let start = Instant::now();
                let filled = carry + n;
                let done = memchr::memrchr(b'\n', &buf[..filled]).map_or(0, |i| i + 1);
                for line in buf[..done].split(|b| *b == b'\n') {
                    if line.is_empty() {
                        continue;
                    }
                    lines += 1;
                    for word in line
                        .split(|b| b.is_ascii_whitespace())
                        .filter(|w| !w.is_empty())
                    {
                        match counts.get_mut(word) {
                            Some(c) => *c += 1,
                            None => {
                                counts.insert(word.to_vec(), 1);
                            }
                        }
                    }
                }
                buf.copy_within(done..filled, 0);
                carry = filled - done;
                busy += start.elapsed();
            }
            Err(e)
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) => {}
            Err(e) => panic!("reading the feed: {e}"),
        }
        let now = Instant::now();
        if now >= next {
            let late = now - next;
            let t = SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .unwrap()
                .as_millis()
                - late.as_millis();
            println!(
                "BATCH t={t} records={lines} sched_ms={} proc_ms={} words={}",
                late.as_millis(),
                busy.as_millis(),
                counts.values().sum::<u64>()
            );
            counts.clear();
            (lines, busy) = (0, Duration::ZERO);
            next += interval;
        }
    }
}

/// Connects to the feeder on loopback, retrying while it starts.
fn connect(port: u16) -> std::net::TcpStream {
    for _ in 0..100 {
        if let Ok(s) = std::net::TcpStream::connect(("127.0.0.1", port)) {
            return s;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("no feeder on 127.0.0.1:{port}");
}
