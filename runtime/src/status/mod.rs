//! The status page and Prometheus metrics of a running pipeline (Spark's Streaming tab).
//!
//! [`StatusStore`] is a listener keeping what the page shows: the recent batches with their
//! delays and output operations, the receivers, totals, and the metrics registry it
//! updates as events arrive. [`serve`] puts it on HTTP (axum, on the context's I/O
//! runtime): `/` the page (one self-contained file, no script from elsewhere), `/api/status`
//! its data as JSON, `/metrics` the Prometheus text format.

use crate::block::StreamId;
use crate::executor::TaskEvent;
use crate::listener::{BatchInfo, OutputOperationInfo, StreamingEvent, StreamingListener};
use crate::lock;
use crate::time::BatchTime;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{exponential_buckets, Histogram};
use prometheus_client::registry::Registry;
use serde_json::{json, Value};
use std::collections::{BTreeMap, VecDeque};
use std::path::PathBuf;
use std::sync::{Arc, Mutex, OnceLock};

/// How many completed batches the page keeps (Spark's `spark.streaming.ui.retainedBatches`).
const RETAINED_BATCHES: usize = 1000;

/// The page, served as it is.
const PAGE: &str = include_str!("page.html");

/// The metrics, updated by events; gauges are read when scraped.
struct Metrics {
    registry: Registry,
    batches_completed: Counter,
    batches_failed: Counter,
    input_records: Counter,
    task_failures: Counter,
    speculative_tasks: Counter,
    batch_retries: Counter,
    records_skipped: Counter,
    scheduling_delay: Histogram,
    processing_delay: Histogram,
    total_delay: Histogram,
    receivers_active: Gauge,
    batches_waiting: Gauge,
    wal_bytes: Gauge,
    last_checkpoint_batch: Gauge,
}

impl Metrics {
    fn new(batch_ms: u64) -> Self {
        let delays = || Histogram::new(exponential_buckets(0.001, 2.0, 16));
        let mut m = Metrics {
            registry: Registry::with_prefix("sluice"),
            batches_completed: Counter::default(),
            batches_failed: Counter::default(),
            input_records: Counter::default(),
            task_failures: Counter::default(),
            speculative_tasks: Counter::default(),
            batch_retries: Counter::default(),
            records_skipped: Counter::default(),
            scheduling_delay: delays(),
            processing_delay: delays(),
            total_delay: delays(),
            receivers_active: Gauge::default(),
            batches_waiting: Gauge::default(),
            wal_bytes: Gauge::default(),
            last_checkpoint_batch: Gauge::default(),
        };
        let interval: Gauge<f64, std::sync::atomic::AtomicU64> = Gauge::default();
        interval.set(batch_ms as f64 / 1000.0);
        m.registry
            .register("batch_interval_seconds", "The batch interval", interval);
        let counters: Vec<(&str, &str, Counter)> = m
            .counters()
            .into_iter()
            .map(|(name, help, c)| (name, help, c.clone()))
            .collect();
        let r = &mut m.registry;
        for (name, help, c) in counters {
            r.register(name, help, c);
        }
        for (name, help, h) in [
            (
                "scheduling_delay_seconds",
                "From a batch's time to the start of its processing",
                &m.scheduling_delay,
            ),
            (
                "processing_delay_seconds",
                "Time a batch's output operations took",
                &m.processing_delay,
            ),
            (
                "total_delay_seconds",
                "From a batch's time to the end of its processing",
                &m.total_delay,
            ),
        ] {
            r.register(name, help, h.clone());
        }
        for (name, help, g) in [
            ("receivers_active", "Receivers running", &m.receivers_active),
            (
                "batches_waiting",
                "Batches submitted and not yet completed",
                &m.batches_waiting,
            ),
            (
                "wal_bytes",
                "Bytes in the write-ahead logs under the checkpoint directory",
                &m.wal_bytes,
            ),
            (
                "last_checkpoint_batch_time_ms",
                "The batch time of the newest checkpoint",
                &m.last_checkpoint_batch,
            ),
        ] {
            r.register(name, help, g.clone());
        }
        m
    }

    /// The counters, by name (without the `sluice_` prefix and `_total` suffix) and help:
    /// registered once, and the status page's totals.
    fn counters(&self) -> [(&'static str, &'static str, &Counter); 7] {
        let m = self;
        [
            (
                "batches_completed",
                "Batches whose output operations all ran",
                &m.batches_completed,
            ),
            (
                "batches_failed",
                "Batches that failed (reported, kept for a restart)",
                &m.batches_failed,
            ),
            (
                "input_records",
                "Records allocated to completed batches",
                &m.input_records,
            ),
            (
                "task_failures",
                "Partition task attempts that failed",
                &m.task_failures,
            ),
            (
                "speculative_tasks",
                "Speculative task attempts started",
                &m.speculative_tasks,
            ),
            (
                "batch_retries",
                "Failed batch steps tried again after a delay",
                &m.batch_retries,
            ),
            (
                "records_skipped",
                "Records receivers skipped as bad input",
                &m.records_skipped,
            ),
        ]
    }
}

/// Each receiver's stream and the rate limit in force on it, asked when the page is.
pub(crate) type RateLimits = Box<dyn Fn() -> Vec<(StreamId, u64)> + Send + Sync>;

/// What the status page shows, kept up to date by the events it hears.
pub struct StatusStore {
    app: String,
    batch_ms: u64,
    checkpoint_dir: Option<PathBuf>,
    /// The pipeline's graph as a mermaid flowchart (what `sluice graph` prints).
    graph: OnceLock<String>,
    /// The receivers' rate limits, once the context runs.
    rates: OnceLock<RateLimits>,
    state: Mutex<State>,
    metrics: Metrics,
}

#[derive(Default)]
struct State {
    started_ms: Option<u64>,
    completed: VecDeque<BatchInfo>,
    /// Submitted, not yet completed: (batch time, started processing).
    waiting: BTreeMap<BatchTime, bool>,
    outputs: BTreeMap<BatchTime, Vec<OutputOperationInfo>>,
    receivers: BTreeMap<StreamId, crate::listener::ReceiverInfo>,
    last_warning: Option<String>,
}

impl StatusStore {
    pub fn new(app: &str, batch_ms: u64, checkpoint_dir: Option<PathBuf>) -> Self {
        StatusStore {
            app: app.to_string(),
            batch_ms,
            checkpoint_dir,
            graph: OnceLock::new(),
            rates: OnceLock::new(),
            state: Mutex::default(),
            metrics: Metrics::new(batch_ms),
        }
    }

    /// The pipeline's graph, as `sluice graph` prints it.
    pub fn set_graph(&self, mermaid: &str) {
        let _ = self.graph.set(mermaid.to_string());
    }

    pub(crate) fn set_rates(&self, rates: RateLimits) {
        let _ = self.rates.set(rates);
    }

    /// The newest checkpoint's batch time and the bytes of the write-ahead logs.
    fn disk(&self) -> Option<(Option<u64>, u64)> {
        let dir = self.checkpoint_dir.as_ref()?;
        fn size(p: &std::path::Path) -> u64 {
            match std::fs::symlink_metadata(p) {
                Ok(m) if m.is_dir() => std::fs::read_dir(p)
                    .map(|d| d.filter_map(|e| e.ok()).map(|e| size(&e.path())).sum())
                    .unwrap_or(0),
                Ok(m) => m.len(),
                Err(_) => 0,
            }
        }
        // One pass: checkpoint files name their batch; the logs are the directories.
        let (mut latest, mut wal) = (None, 0);
        for entry in std::fs::read_dir(dir).ok()?.filter_map(|e| e.ok()) {
            let path = entry.path();
            if path.is_dir() {
                wal += size(&path);
            } else if let Some(t) = crate::checkpoint::time_of(&entry.file_name().to_string_lossy())
            {
                latest = latest.max(Some(t));
            }
        }
        Some((latest, wal))
    }

    /// Everything the page shows, as JSON.
    pub fn snapshot(&self, now_ms: u64) -> Value {
        let s = lock(&self.state);
        let rates: BTreeMap<StreamId, u64> = self
            .rates
            .get()
            .map(|f| f())
            .unwrap_or_default()
            .into_iter()
            .collect();
        let batches: Vec<Value> = s
            .completed
            .iter()
            .map(|b| {
                let outputs: Vec<Value> = s
                    .outputs
                    .get(&b.batch_time)
                    .into_iter()
                    .flatten()
                    .map(|o| {
                        json!({
                            "id": o.id,
                            "name": o.name,
                            "duration_ms": o.end.map(|e| e.saturating_sub(o.start)),
                            "failure": o.failure,
                        })
                    })
                    .collect();
                json!({
                    "time": b.batch_time.0,
                    "records": b.records,
                    "scheduling_ms": b.scheduling_delay(),
                    "processing_ms": b.processing_delay(),
                    "total_ms": b.total_delay(),
                    "failure": b.failure,
                    "outputs": outputs,
                })
            })
            .collect();
        let receivers: Vec<Value> = s
            .receivers
            .values()
            .map(|r| {
                json!({
                    "stream": r.stream,
                    "name": r.name,
                    "active": r.active,
                    "last_error": r.last_error,
                    "rate_limit": rates.get(&r.stream),
                })
            })
            .collect();
        let disk = self.disk().map(|(latest, wal)| {
            json!({
                "dir": self.checkpoint_dir.as_ref().map(|d| d.display().to_string()),
                "last_checkpoint_batch": latest,
                "wal_bytes": wal,
            })
        });
        json!({
            "app": self.app,
            "batch_ms": self.batch_ms,
            "now_ms": now_ms,
            "started_ms": s.started_ms,
            "batches": batches,
            "waiting": s.waiting.iter().map(|(t, running)| json!({"time": t.0, "running": running})).collect::<Vec<_>>(),
            "receivers": receivers,
            "totals": self
                .metrics
                .counters()
                .iter()
                .map(|(name, _, c)| (*name, c.get()))
                .collect::<BTreeMap<_, _>>(),
            "last_warning": s.last_warning,
            "graph": self.graph.get(),
            "checkpoint": disk,
        })
    }

    /// The metrics in Prometheus's text format.
    pub fn metrics_text(&self) -> String {
        {
            let s = lock(&self.state);
            let m = &self.metrics;
            m.receivers_active
                .set(s.receivers.values().filter(|r| r.active).count() as i64);
            m.batches_waiting.set(s.waiting.len() as i64);
        }
        if let Some((latest, wal)) = self.disk() {
            self.metrics.wal_bytes.set(wal as i64);
            self.metrics
                .last_checkpoint_batch
                .set(latest.unwrap_or(0) as i64);
        }
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.metrics.registry);
        text
    }
}

impl StreamingListener for StatusStore {
    fn on_event(&self, event: &StreamingEvent) {
        let mut guard = lock(&self.state);
        let s = &mut *guard;
        let m = &self.metrics;
        match event {
            StreamingEvent::StreamingStarted(t) => s.started_ms = Some(*t),
            StreamingEvent::BatchSubmitted(b) => {
                s.waiting.insert(b.batch_time, false);
            }
            StreamingEvent::BatchStarted(b) => {
                s.waiting.insert(b.batch_time, true);
            }
            StreamingEvent::BatchCompleted(b) => {
                s.waiting.remove(&b.batch_time);
                let seconds = |ms: Option<u64>| ms.map(|ms| ms as f64 / 1000.0);
                if b.failure.is_some() {
                    m.batches_failed.inc();
                } else {
                    m.batches_completed.inc();
                    m.input_records.inc_by(b.records);
                    for (h, v) in [
                        (&m.scheduling_delay, seconds(b.scheduling_delay())),
                        (&m.processing_delay, seconds(b.processing_delay())),
                        (&m.total_delay, seconds(b.total_delay())),
                    ] {
                        if let Some(v) = v {
                            h.observe(v);
                        }
                    }
                }
                s.completed.push_back(b.clone());
                while s.completed.len() > RETAINED_BATCHES {
                    if let Some(old) = s.completed.pop_front() {
                        s.outputs.remove(&old.batch_time);
                    }
                }
            }
            StreamingEvent::OutputOperationCompleted(o) => {
                s.outputs.entry(o.batch_time).or_default().push(o.clone());
            }
            StreamingEvent::ReceiverStarted(r)
            | StreamingEvent::ReceiverError(r)
            | StreamingEvent::ReceiverStopped(r) => {
                let keep_error = r.last_error.clone().or_else(|| {
                    s.receivers
                        .get(&r.stream)
                        .and_then(|old| old.last_error.clone())
                });
                s.receivers.insert(
                    r.stream,
                    crate::listener::ReceiverInfo {
                        last_error: keep_error,
                        ..r.clone()
                    },
                );
            }
            StreamingEvent::Task { event, .. } => match event {
                TaskEvent::Failed { .. } => {
                    m.task_failures.inc();
                }
                TaskEvent::SpeculationLaunched { .. } => {
                    m.speculative_tasks.inc();
                }
                TaskEvent::SpeculationWon { .. } => {}
            },
            StreamingEvent::BatchRetrying { .. } => {
                m.batch_retries.inc();
            }
            StreamingEvent::RecordsSkipped { count: n, .. } => {
                m.records_skipped.inc_by(*n);
            }
            StreamingEvent::Warning(w) => s.last_warning = Some(w.clone()),
            StreamingEvent::OutputOperationStarted(_) => {}
        }
    }
}

/// Serves `store` on `addr`, or on the next of the 16 ports after it that is free (as
/// Spark's UI does from 4040), on `rt`; returns the address bound.
pub fn serve(
    store: Arc<StatusStore>,
    clock: Arc<dyn crate::time::Clock>,
    rt: &tokio::runtime::Handle,
    addr: std::net::SocketAddr,
) -> std::io::Result<std::net::SocketAddr> {
    use axum::routing::get;
    let mut last = None;
    let listener = (0..=16u16)
        .filter_map(|i| {
            addr.port()
                .checked_add(i)
                .filter(|_| i == 0 || addr.port() != 0)
        })
        .find_map(|port| {
            let at = std::net::SocketAddr::new(addr.ip(), port);
            std::net::TcpListener::bind(at)
                .map_err(|e| last = Some(e))
                .ok()
        })
        .ok_or_else(|| last.unwrap_or_else(|| std::io::Error::other("no port to try")))?;
    listener.set_nonblocking(true)?;
    let bound = listener.local_addr()?;
    let (api, metrics) = (store.clone(), store);
    let app = axum::Router::new()
        .route("/", get(|| async { axum::response::Html(PAGE) }))
        .route(
            "/api/status",
            get(move || {
                let now = clock.now_ms();
                let body = api.snapshot(now);
                async move { axum::Json(body) }
            }),
        )
        .route(
            "/metrics",
            get(move || {
                let text = metrics.metrics_text();
                async move {
                    (
                        [(
                            axum::http::header::CONTENT_TYPE,
                            "application/openmetrics-text; version=1.0.0; charset=utf-8",
                        )],
                        text,
                    )
                }
            }),
        );
    let _guard = rt.enter();
    let listener = tokio::net::TcpListener::from_std(listener)?;
    rt.spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    Ok(bound)
}
