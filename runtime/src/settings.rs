//! Pipeline settings: what a `.flow` file's `settings { … }` block and the command line set.

use std::time::Duration;

/// Everything a pipeline can be tuned by. Generated code fills it from the `settings` block;
/// the pipeline binary's flags override it.
#[derive(Clone, Debug, PartialEq)]
pub struct Settings {
    /// The pipeline's name (Spark's `appName`): it names the pipeline's commits in sinks.
    pub app_name: String,
    /// The batch interval (Spark's `batchDuration`).
    pub batch_interval: Duration,
    /// How often a receiver cuts its buffer into a block (`spark.streaming.blockInterval`).
    pub block_interval: Duration,
    /// How many partitions a shuffle (`reduceByKey`, …) produces.
    pub shuffle_partitions: usize,
    /// How many worker threads run partitions.
    pub worker_threads: usize,
    /// How many batches may run at once (Spark's `spark.streaming.concurrentJobs`); above
    /// 1, batches may finish out of order, and stateful operators are refused.
    pub concurrent_jobs: usize,
    /// How long a receiver waits before it reconnects (`spark.streaming.receiverRestartDelay`).
    pub receiver_restart_delay: Duration,
    /// Records longer than this many bytes are skipped and counted.
    pub max_record_bytes: usize,
    /// At most this many records per second per receiver; 0 for no limit
    /// (`spark.streaming.receiver.maxRate`).
    pub receiver_max_rate: u64,
    /// Adapt each receiver's rate to what the pipeline processes
    /// (`spark.streaming.backpressure.enabled`).
    pub backpressure: bool,
    /// The rate receivers start at under backpressure, before the first estimate; 0 for
    /// none (`spark.streaming.backpressure.initialRate`).
    pub backpressure_initial_rate: u64,
    /// The backpressure estimator's gains.
    pub pid: PidSettings,
    /// Keep each batch's input at least this long after its batch (Spark's
    /// `ssc.remember`); windows extend it to their length on their own.
    pub remember: Duration,
    /// Where checkpoints and write-ahead logs live (Spark's `ssc.checkpoint(dir)`).
    pub checkpoint_dir: Option<std::path::PathBuf>,
    /// Log every received block before it counts as received, and the block tracker's
    /// decisions before they take effect (`spark.streaming.receiver.writeAheadLog.enable`).
    pub write_ahead_log: bool,
    /// At most this many records per second from each partition of a direct source; 0
    /// for no limit (`spark.streaming.kafka.maxRatePerPartition`).
    pub max_rate_per_partition: u64,
    /// How many times a failed step of a batch (an output operation's error, a direct
    /// source's fetch) is tried again before the pipeline fails; `None`: until it succeeds
    /// or the pipeline stops. Later batches wait meanwhile.
    pub batch_retries: Option<u32>,
    /// How many times one partition task may fail (panic or error) before its job fails
    /// (Spark's `spark.task.maxFailures`); each attempt recomputes the partition from its
    /// inputs.
    pub task_max_failures: u32,
    /// Run a second copy of a task much slower than its siblings, first result wins
    /// (Spark's `spark.speculation`); off by default, as in Spark.
    pub speculation: Option<Speculation>,
    /// What happens to a batch whose output kept panicking.
    pub on_batch_failure: BatchFailure,
}

/// When a task counts as slow enough for a speculative copy, with Spark's defaults
/// (`spark.speculation.quantile`, `.multiplier`, `.minTaskRuntime`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Speculation {
    /// The fraction of a task set that must have finished first.
    pub quantile: f64,
    /// How many times the finished tasks' median a task must have run.
    pub multiplier: f64,
    /// And at least this long.
    pub min_runtime: Duration,
}

impl Default for Speculation {
    fn default() -> Self {
        Speculation {
            quantile: 0.75,
            multiplier: 1.5,
            min_runtime: Duration::from_millis(100),
        }
    }
}

/// What happens to a batch whose output operation kept failing by panics.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum BatchFailure {
    /// Report it, keep it in the log (a restart runs it again) and go on with the next
    /// batch, as Spark does; a pipeline with state stops instead.
    Skip,
    /// Stop the pipeline (it exits with an error; a restart runs the batch again).
    Stop,
}

/// Gains of the PID rate estimator, with Spark's defaults
/// (`spark.streaming.backpressure.pid.*`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PidSettings {
    pub proportional: f64,
    pub integral: f64,
    pub derivative: f64,
    /// Records per second the estimate never goes below.
    pub min_rate: f64,
}

impl Default for PidSettings {
    fn default() -> Self {
        PidSettings {
            proportional: 1.0,
            integral: 0.2,
            derivative: 0.0,
            min_rate: 100.0,
        }
    }
}

impl Default for Settings {
    fn default() -> Self {
        let cores = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(2);
        Settings {
            app_name: "sluice".into(),
            batch_interval: Duration::from_secs(1),
            block_interval: Duration::from_millis(200),
            shuffle_partitions: cores,
            worker_threads: cores,
            concurrent_jobs: 1,
            receiver_restart_delay: Duration::from_millis(500),
            max_record_bytes: 1 << 20,
            receiver_max_rate: 0,
            backpressure: false,
            backpressure_initial_rate: 0,
            pid: PidSettings::default(),
            remember: Duration::ZERO,
            checkpoint_dir: None,
            write_ahead_log: false,
            max_rate_per_partition: 0,
            batch_retries: None,
            task_max_failures: 4,
            speculation: None,
            on_batch_failure: BatchFailure::Skip,
        }
    }
}

impl Settings {
    /// The block interval, never longer than the batch interval and never zero.
    pub fn effective_block_interval(&self) -> Duration {
        self.block_interval
            .min(self.batch_interval)
            .max(Duration::from_millis(1))
    }
}

/// Parses `500ms`, `2s`, `1m`, `1h` (the flow language's duration literals).
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let t = text.trim();
    let split = t
        .find(|c: char| !c.is_ascii_digit())
        .ok_or_else(|| format!("`{t}` has no unit: write 500ms, 2s, 1m or 1h"))?;
    let n: u64 = t[..split]
        .parse()
        .map_err(|_| format!("`{t}` does not start with a number"))?;
    let unit = match &t[split..] {
        "ms" => 1,
        "s" => 1_000,
        "m" => 60_000,
        "h" => 3_600_000,
        u => return Err(format!("unknown unit `{u}` in `{t}`: use ms, s, m or h")),
    };
    n.checked_mul(unit)
        .map(Duration::from_millis)
        .ok_or_else(|| format!("`{t}` is too long"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_with_units_and_reject_the_rest() {
        assert_eq!(parse_duration("100ms"), Ok(Duration::from_millis(100)));
        assert_eq!(parse_duration("2s"), Ok(Duration::from_secs(2)));
        assert_eq!(parse_duration("1m"), Ok(Duration::from_secs(60)));
        assert!(parse_duration("10").is_err());
        assert!(parse_duration("5d").is_err());
        assert!(parse_duration("s").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
    }
}
