//! Rate control: a per-receiver limiter and Spark's PID rate estimator for backpressure.
//!
//! A receiver asks its [`RateLimiter`] for permission before it stores records; the limit is
//! the configured maximum rate, lowered by backpressure. After every batch the
//! [`RateController`] feeds the batch's figures to a [`PidRateEstimator`] per input stream
//! and pushes the new rate to that stream's receiver through the `ReceiverTracker`, or, for
//! a direct source, to the [`DirectRates`] the batch clock plans the next ranges with.

use crate::block::StreamId;
use crate::direct::DirectId;
use crate::listener::{StreamingEvent, StreamingListener};
use crate::settings::PidSettings;
use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::{Duration, Instant};

/// Paces a receiver to at most `rate` records per second (0: unlimited). Smooth, like
/// Guava's `RateLimiter` that Spark uses: a request waits until the permits it asks for
/// would have accrued, so a burst never exceeds the rate by more than one request.
pub struct RateLimiter {
    /// The configured ceiling (`maxRate`), 0 for none.
    max_rate: u64,
    rate: AtomicU64,
    next_free: Mutex<Option<Instant>>,
}

impl RateLimiter {
    /// A limiter starting at `initial` records/s (0: none), never above `max_rate` (0: none).
    pub fn new(max_rate: u64, initial: u64) -> Self {
        let l = RateLimiter {
            max_rate,
            rate: AtomicU64::new(max_rate),
            next_free: Mutex::new(None),
        };
        if initial > 0 {
            l.update(initial);
        }
        l
    }

    /// The limit now in force, records per second; 0 when unlimited.
    pub fn rate(&self) -> u64 {
        self.rate.load(Ordering::Relaxed)
    }

    /// Sets a new limit, capped by the configured maximum; 0 is ignored (Spark's
    /// `updateRate`: an estimator never lifts the limit altogether).
    pub fn update(&self, new_rate: u64) {
        if new_rate == 0 {
            return;
        }
        let r = if self.max_rate > 0 {
            new_rate.min(self.max_rate)
        } else {
            new_rate
        };
        self.rate.store(r, Ordering::Relaxed);
    }

    /// How long a request for `n` records must wait, reserving them; zero when unlimited.
    pub fn reserve(&self, n: usize, now: Instant) -> Duration {
        let rate = self.rate();
        if rate == 0 || n == 0 {
            return Duration::ZERO;
        }
        let mut next = self.next_free.lock().unwrap_or_else(|e| e.into_inner());
        let start = next.map_or(now, |t| t.max(now));
        let cost = Duration::from_secs_f64(n as f64 / rate as f64);
        *next = Some(start + cost);
        start - now
    }

    /// Waits until `n` more records may be stored.
    pub async fn acquire(&self, n: usize) {
        let wait = self.reserve(n, Instant::now());
        if !wait.is_zero() {
            tokio::time::sleep(wait).await;
        }
    }
}

/// Spark's `PIDRateEstimator`: a new rate from how the last batch went. The error is the
/// gap between the rate in force and the rate the batch was processed at; the integral
/// term is the backlog the scheduling delay stands for, as a rate.
#[derive(Clone, Debug)]
pub struct PidRateEstimator {
    batch_ms: u64,
    pid: PidSettings,
    first_run: bool,
    latest_time: u64,
    latest_rate: f64,
    latest_error: f64,
}

impl PidRateEstimator {
    pub fn new(batch_ms: u64, pid: PidSettings) -> Self {
        PidRateEstimator {
            batch_ms: batch_ms.max(1),
            pid,
            first_run: true,
            latest_time: 0,
            latest_rate: -1.0,
            latest_error: -1.0,
        }
    }

    /// The rate for the coming batches, given a batch that ended at `time` (ms) with
    /// `elements` records, `processing_ms` of work and `scheduling_ms` of delay. `None`
    /// when there is nothing to learn (no records, no work, an old batch) and on the first
    /// batch, which only sets the starting rate.
    pub fn compute(
        &mut self,
        time: u64,
        elements: u64,
        processing_ms: u64,
        scheduling_ms: u64,
    ) -> Option<f64> {
        if time <= self.latest_time || elements == 0 || processing_ms == 0 {
            return None;
        }
        let since_update = (time - self.latest_time) as f64 / 1000.0;
        let processing_rate = elements as f64 / processing_ms as f64 * 1000.0;
        let error = self.latest_rate - processing_rate;
        let historical_error = scheduling_ms as f64 * processing_rate / self.batch_ms as f64;
        let d_error = (error - self.latest_error) / since_update;
        let new_rate = (self.latest_rate
            - self.pid.proportional * error
            - self.pid.integral * historical_error
            - self.pid.derivative * d_error)
            .max(self.pid.min_rate);
        self.latest_time = time;
        if self.first_run {
            self.latest_rate = processing_rate;
            self.latest_error = 0.0;
            self.first_run = false;
            None
        } else {
            self.latest_rate = new_rate;
            self.latest_error = error;
            Some(new_rate)
        }
    }
}

/// An input whose rate backpressure controls.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum RateTarget {
    Receiver(StreamId),
    Direct(DirectId),
}

/// Where new rates go: the receiver tracker and the direct sources' rates, or a test's
/// recorder.
pub trait RateSink: Send + Sync {
    fn send_rate_update(&self, target: RateTarget, rate: u64);
}

/// The latest estimated rate of each direct source, records per second for the whole
/// source, which the batch clock splits across partitions by lag.
#[derive(Default)]
pub struct DirectRates(Mutex<BTreeMap<DirectId, u64>>);

impl DirectRates {
    pub fn get(&self, source: DirectId) -> Option<u64> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&source)
            .copied()
    }

    pub fn set(&self, source: DirectId, rate: u64) {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(source, rate);
    }
}

/// Listens for completed batches and pushes a new rate per input (Spark's
/// `ReceiverRateController` and `DirectKafkaRateController`).
pub struct RateController<S> {
    estimators: Mutex<BTreeMap<RateTarget, PidRateEstimator>>,
    sink: S,
}

impl<S: RateSink> RateController<S> {
    pub fn new(
        streams: impl IntoIterator<Item = RateTarget>,
        batch_ms: u64,
        pid: PidSettings,
        sink: S,
    ) -> Self {
        let estimators = streams
            .into_iter()
            .map(|s| (s, PidRateEstimator::new(batch_ms, pid)))
            .collect();
        RateController {
            estimators: Mutex::new(estimators),
            sink,
        }
    }
}

impl<S: RateSink> StreamingListener for RateController<S> {
    fn on_event(&self, event: &StreamingEvent) {
        let StreamingEvent::BatchCompleted(b) = event else {
            return;
        };
        let (Some(end), Some(processing), Some(scheduling)) =
            (b.processing_end, b.processing_delay(), b.scheduling_delay())
        else {
            return;
        };
        let mut estimators = self.estimators.lock().unwrap_or_else(|e| e.into_inner());
        for (target, est) in estimators.iter_mut() {
            let elements = match target {
                RateTarget::Receiver(s) => b.stream_records.get(s),
                RateTarget::Direct(d) => b.direct_records.get(d),
            };
            let elements = elements.copied().unwrap_or(0);
            if let Some(rate) = est.compute(end, elements, processing, scheduling) {
                self.sink.send_rate_update(*target, rate as u64);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_limited_request_waits_for_its_permits_and_a_free_one_does_not() {
        let l = RateLimiter::new(0, 0);
        let t0 = Instant::now();
        assert_eq!(l.reserve(1_000_000, t0), Duration::ZERO);
        l.update(1_000);
        assert_eq!(
            l.reserve(500, t0),
            Duration::ZERO,
            "the first request goes at once"
        );
        assert_eq!(l.reserve(500, t0), Duration::from_millis(500));
        assert_eq!(l.reserve(1, t0 + Duration::from_secs(2)), Duration::ZERO);
    }

    #[test]
    fn updates_are_capped_by_the_configured_maximum_and_zero_is_ignored() {
        let l = RateLimiter::new(5_000, 0);
        assert_eq!(l.rate(), 5_000);
        l.update(100_000);
        assert_eq!(l.rate(), 5_000);
        l.update(300);
        assert_eq!(l.rate(), 300);
        l.update(0);
        assert_eq!(l.rate(), 300);
        assert_eq!(RateLimiter::new(0, 700).rate(), 700);
    }

    fn pid() -> PidSettings {
        PidSettings::default()
    }

    #[test]
    fn the_first_batch_only_sets_the_starting_rate() {
        let mut e = PidRateEstimator::new(1_000, pid());
        assert_eq!(
            e.compute(1_000, 0, 100, 0),
            None,
            "no records: nothing learnt"
        );
        assert_eq!(e.compute(1_000, 1_000, 100, 0), None);
        assert_eq!(e.compute(1_000, 1_000, 100, 0), None, "same time again");
        // Processed 10 000/s again with no delay: the error is zero, the rate stays.
        assert_eq!(e.compute(2_000, 1_000, 100, 0), Some(10_000.0));
    }

    #[test]
    fn a_slow_batch_with_a_backlog_lowers_the_rate_below_the_processing_rate() {
        let mut e = PidRateEstimator::new(1_000, pid());
        e.compute(1_000, 10_000, 1_000, 0); // 10 000/s
                                            // Now 10 000 records took 2 s (5 000/s), with 1 s of scheduling delay.
        let r = e.compute(3_000, 10_000, 2_000, 1_000).unwrap();
        // 10 000 - 1.0 * (10 000 - 5 000) - 0.2 * (1 000 * 5 000 / 1 000) = 4 000
        assert!((r - 4_000.0).abs() < 1e-9, "{r}");
        // However bad it gets, never below the minimum rate.
        let r = e.compute(4_000, 10, 10_000, 60_000).unwrap();
        assert_eq!(r, 100.0);
    }

    #[derive(Default)]
    struct Recorder(Mutex<Vec<(RateTarget, u64)>>);
    impl RateSink for &'static Recorder {
        fn send_rate_update(&self, target: RateTarget, rate: u64) {
            self.0.lock().unwrap().push((target, rate));
        }
    }

    #[test]
    fn the_controller_estimates_each_stream_from_its_own_records() {
        let rec: &'static Recorder = Box::leak(Box::default());
        let targets = [
            RateTarget::Receiver(0),
            RateTarget::Receiver(1),
            RateTarget::Direct(0),
        ];
        let c = RateController::new(targets, 1_000, pid(), rec);
        let batch = |t: u64, a: u64, b: u64| {
            StreamingEvent::BatchCompleted(crate::BatchInfo {
                batch_time: crate::BatchTime(t),
                records: a + b + a / 2,
                stream_records: [(0, a), (1, b)].into(),
                direct_records: [(0, a / 2)].into(),
                submission_time: t,
                processing_start: Some(t),
                processing_end: Some(t + 500),
                failure: None,
            })
        };
        c.on_event(&batch(1_000, 1_000, 0));
        c.on_event(&batch(2_000, 2_000, 0));
        // Stream 0: 2 000/s then 4 000/s: 2 000 - (2 000 - 4 000) = 4 000. Stream 1 had no
        // records, so nothing is pushed for it. The direct source had half as many.
        assert_eq!(
            *rec.0.lock().unwrap(),
            [
                (RateTarget::Receiver(0), 4_000),
                (RateTarget::Direct(0), 2_000)
            ]
        );
    }
}
