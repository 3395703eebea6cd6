//! Batch times and the injectable clock (Spark's `Clock`, `SystemClock`, `ManualClock`).

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The time a batch stands for, in milliseconds since the Unix epoch; always a multiple of
/// the batch interval, as in Spark (it names output directories: `prefix-<ms>`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct BatchTime(pub u64);

impl BatchTime {
    pub fn millis(self) -> u64 {
        self.0
    }
}

impl std::fmt::Display for BatchTime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} ms", self.0)
    }
}

/// A boxed future, so that [`Clock`] stays object-safe.
pub type WaitFuture<'a> = Pin<Box<dyn Future<Output = ()> + Send + 'a>>;

/// Where the scheduler and block generators read time from. Tests use [`ManualClock`] so
/// that scheduling and recovery are deterministic and fast.
pub trait Clock: Send + Sync + 'static {
    /// Milliseconds since the Unix epoch.
    fn now_ms(&self) -> u64;
    /// Resolves once `now_ms() >= t`.
    fn wait_till(&self, t: u64) -> WaitFuture<'_>;
}

/// Wall-clock time.
#[derive(Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now_ms(&self) -> u64 {
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_millis() as u64)
            .unwrap_or(0)
    }

    fn wait_till(&self, t: u64) -> WaitFuture<'_> {
        Box::pin(async move {
            loop {
                let now = self.now_ms();
                if now >= t {
                    return;
                }
                tokio::time::sleep(std::time::Duration::from_millis(t - now)).await;
            }
        })
    }
}

/// A clock that moves only when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: AtomicU64,
    tick: tokio::sync::watch::Sender<u64>,
}

impl ManualClock {
    pub fn new(start_ms: u64) -> Self {
        ManualClock {
            now: AtomicU64::new(start_ms),
            tick: tokio::sync::watch::channel(start_ms).0,
        }
    }

    /// Moves time forward and wakes whoever waits for a time now reached.
    pub fn advance(&self, ms: u64) {
        let now = self.now.fetch_add(ms, Ordering::SeqCst) + ms;
        self.tick.send_replace(now);
    }
}

impl Clock for ManualClock {
    fn now_ms(&self) -> u64 {
        self.now.load(Ordering::SeqCst)
    }

    fn wait_till(&self, t: u64) -> WaitFuture<'_> {
        let mut rx = self.tick.subscribe();
        Box::pin(async move {
            // The sender lives as long as the clock, so this only ends when t is reached.
            let _ = rx.wait_for(|&now| now >= t).await;
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_waiters_only_when_their_time_comes() {
        let clock = std::sync::Arc::new(ManualClock::new(1_000));
        let c = clock.clone();
        let waiter = tokio::spawn(async move { c.wait_till(3_000).await });
        clock.advance(1_000);
        tokio::task::yield_now().await;
        assert!(!waiter.is_finished());
        clock.advance(1_000);
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter)
            .await
            .expect("waiter woke")
            .unwrap();
        assert_eq!(clock.now_ms(), 3_000);
    }
}
