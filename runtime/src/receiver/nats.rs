//! A reliable receiver for NATS JetStream, reading through a durable pull consumer.
//!
//! Each fetch becomes one block; its messages are acknowledged only after
//! [`ReceiverContext::store_block`] returns. A message fetched but never acknowledged (the
//! process died first) is redelivered by the server once the consumer's ack wait passes, so
//! nothing is lost (at-least-once; exactly-once needs the WAL and an idempotent sink on top).

use super::{BoxError, Receiver, ReceiverContext, StoreError};
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
        cx.spawn_fallible(
            format!("nats {}", crate::secrets::redact(&spec.url)),
            async move { receive(&spec, &cx2).await },
        );
    }
}

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
        // Messages the last stored block holds were stored but maybe never acknowledged
        // (a crash, a lost connection): acknowledge them only. Only the last block can be
        // in that state, as each block is acknowledged before the next fetch; redelivery
        // after the ack wait can come in any order, so this is a set, not a high mark.
        let stored = cx
            .last_position()
            .map(|p| parse_runs(&p))
            .unwrap_or_default();
        let mut fresh = Vec::new();
        for m in &messages {
            let seq = m.info()?.stream_sequence;
            if !stored.iter().any(|&(a, b)| (a..=b).contains(&seq)) {
                fresh.push((m, seq));
            }
        }
        let mut not_text = 0;
        let texts: Vec<&str> = fresh
            .iter()
            .filter_map(|(m, _)| {
                let t = std::str::from_utf8(&m.payload).ok();
                not_text += u64::from(t.is_none());
                t
            })
            .collect();
        cx.report_skipped(SkipReason::InvalidUtf8, not_text);
        if !fresh.is_empty() {
            let seqs: Vec<u64> = fresh.iter().map(|(_, seq)| *seq).collect();
            match cx.store_block_at(texts, Some(&runs(seqs))).await {
                Ok(()) => {}
                Err(StoreError::Stopped) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        for m in &messages {
            m.ack().await?;
        }
        client.flush().await?;
    }
}

/// Stream sequences as runs, `3-7,9,12-13`: the position a block records.
fn runs(mut seqs: Vec<u64>) -> String {
    seqs.sort_unstable();
    let mut out: Vec<(u64, u64)> = Vec::new();
    for s in seqs {
        match out.last_mut() {
            Some((_, b)) if s <= *b + 1 => *b = (*b).max(s),
            _ => out.push((s, s)),
        }
    }
    out.iter()
        .map(|&(a, b)| {
            if a == b {
                a.to_string()
            } else {
                format!("{a}-{b}")
            }
        })
        .collect::<Vec<_>>()
        .join(",")
}

/// The runs [`runs`] wrote; anything unreadable is left out.
fn parse_runs(text: &str) -> Vec<(u64, u64)> {
    text.split(',')
        .filter_map(|r| match r.split_once('-') {
            Some((a, b)) => Some((a.parse().ok()?, b.parse().ok()?)),
            None => r.parse().ok().map(|a| (a, a)),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sequences_round_trip_as_runs() {
        let text = runs(vec![9, 3, 4, 5, 12, 13, 7, 6]);
        assert_eq!(text, "3-7,9,12-13");
        assert_eq!(parse_runs(&text), [(3, 7), (9, 9), (12, 13)]);
        assert_eq!(runs(vec![]), "");
        assert!(parse_runs("").is_empty());
    }
}
