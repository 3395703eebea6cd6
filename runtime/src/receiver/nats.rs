//! A reliable receiver for NATS JetStream, reading through a durable pull consumer.
//!
//! Each fetch becomes one block; its messages are acknowledged only after
//! [`ReceiverContext::store_block`] returns. A message fetched but never acknowledged (the
//! process died first) is redelivered by the server once the consumer's ack wait passes, so
//! nothing is lost (at-least-once; exactly-once needs the WAL and an idempotent sink on top).

use super::{Receiver, ReceiverContext};
use crate::listener::SkipReason;
use async_nats::jetstream::{self, consumer, stream};
use futures_util::StreamExt;
use std::time::Duration;

/// Which JetStream messages a receiver reads, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct JetStreamSpec {
    /// `nats://host:port`.
    pub url: String,
    /// The JetStream stream; created on `subject` when it does not exist.
    pub stream: String,
    pub subject: String,
    /// The durable consumer's name: restarts resume where it left off.
    pub durable: String,
    /// Messages per fetch, at most.
    pub batch: usize,
    /// How long the server waits for an acknowledgement before it redelivers.
    pub ack_wait: Duration,
}

impl JetStreamSpec {
    /// Reads `subject` through stream `stream` as durable consumer `sluice`.
    pub fn new(url: &str, stream: &str, subject: &str) -> Self {
        JetStreamSpec {
            url: url.to_string(),
            stream: stream.to_string(),
            subject: subject.to_string(),
            durable: "sluice".into(),
            batch: 1_000,
            ack_wait: Duration::from_secs(30),
        }
    }
}

/// Spark-style receiver over a [`JetStreamSpec`].
pub struct JetStreamReceiver {
    spec: JetStreamSpec,
}

impl JetStreamReceiver {
    pub fn new(spec: JetStreamSpec) -> Self {
        JetStreamReceiver { spec }
    }
}

impl Receiver for JetStreamReceiver {
    fn name(&self) -> String {
        format!(
            "jetstream {} (consumer {})",
            self.spec.stream, self.spec.durable
        )
    }

    fn on_start(&mut self, cx: &ReceiverContext) {
        let spec = self.spec.clone();
        let cx2 = cx.clone();
        cx.spawn_fallible(format!("nats {}", spec.url), async move {
            receive(&spec, &cx2).await
        });
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

async fn receive(spec: &JetStreamSpec, cx: &ReceiverContext) -> Result<(), BoxError> {
    let client = async_nats::connect(spec.url.as_str()).await?;
    let js = jetstream::new(client.clone());
    let stream = js
        .get_or_create_stream(stream::Config {
            name: spec.stream.clone(),
            subjects: vec![spec.subject.clone()],
            ..Default::default()
        })
        .await?;
    let consumer: consumer::PullConsumer = stream
        .get_or_create_consumer(
            &spec.durable,
            consumer::pull::Config {
                durable_name: Some(spec.durable.clone()),
                ack_policy: consumer::AckPolicy::Explicit,
                ack_wait: spec.ack_wait,
                filter_subject: spec.subject.clone(),
                ..Default::default()
            },
        )
        .await?;
    loop {
        let mut fetched = consumer
            .fetch()
            .max_messages(spec.batch)
            .expires(Duration::from_millis(200))
            .messages()
            .await?;
        let mut messages = Vec::new();
        while let Some(m) = fetched.next().await {
            messages.push(m?);
        }
        if messages.is_empty() {
            continue;
        }
        let mut not_text = 0;
        let texts: Vec<&str> = messages
            .iter()
            .filter_map(|m| {
                let t = std::str::from_utf8(&m.payload).ok();
                not_text += u64::from(t.is_none());
                t
            })
            .collect();
        cx.report_skipped(SkipReason::InvalidUtf8, not_text);
        if cx.store_block(texts).await.is_err() {
            return Ok(());
        }
        for m in &messages {
            m.ack().await?;
        }
        client.flush().await?;
    }
}
