//! The JetStream direct source: a batch reads a range of stream sequence numbers, the way
//! the Kafka source reads offsets — one "partition" (0), whose offsets are the stream's
//! sequences. Nothing is acknowledged and no durable consumer is kept: the ranges in the
//! driver log are the source of truth, and the stream keeps the data.

use super::{BoxFuture, DirectSource, OffsetRange, Offsets, StartAt};
use crate::receiver::BoxError;
use async_nats::jetstream::{self, consumer};
use futures_util::StreamExt;
use tokio::sync::OnceCell;

/// Which JetStream stream a direct source reads.
#[derive(Clone, Debug, PartialEq)]
pub struct JetStreamDirectSpec {
    /// `nats://host:port`.
    pub url: String,
    /// The stream, which must exist.
    pub stream: String,
    /// Only messages on subjects matching this filter; empty for all.
    pub filter: String,
    pub start: StartAt,
    /// Messages asked for per fetch.
    pub fetch: usize,
}

impl JetStreamDirectSpec {
    pub fn new(url: &str, stream: &str) -> Self {
        JetStreamDirectSpec {
            url: url.to_string(),
            stream: stream.to_string(),
            filter: String::new(),
            start: StartAt::Latest,
            fetch: 1_000,
        }
    }
}

/// A [`DirectSource`] over one JetStream stream.
pub struct JetStreamDirect {
    spec: JetStreamDirectSpec,
    js: OnceCell<jetstream::Context>,
}

impl JetStreamDirect {
    pub fn new(spec: JetStreamDirectSpec) -> Self {
        JetStreamDirect {
            spec,
            js: OnceCell::new(),
        }
    }

    async fn stream(&self) -> Result<jetstream::stream::Stream, BoxError> {
        let js = self
            .js
            .get_or_try_init(|| async {
                let client = async_nats::connect(self.spec.url.as_str()).await?;
                Ok::<_, BoxError>(jetstream::new(client))
            })
            .await?;
        Ok(js.get_stream(&self.spec.stream).await?)
    }

    /// The stream's first sequence, and the one after its last.
    async fn bounds(&self) -> Result<(u64, u64), BoxError> {
        let info = self.stream().await?.get_info().await?;
        Ok((info.state.first_sequence, info.state.last_sequence + 1))
    }
}

fn offset(seq: u64) -> i64 {
    seq.min(i64::MAX as u64) as i64
}

impl DirectSource for JetStreamDirect {
    fn name(&self) -> String {
        format!("jetstream stream {}", self.spec.stream)
    }

    fn start_offsets(&self) -> BoxFuture<'_, Result<Offsets, BoxError>> {
        Box::pin(async move {
            let (first, end) = self.bounds().await?;
            let at = match self.spec.start {
                StartAt::Earliest => first,
                StartAt::Latest => end,
            };
            Ok([(0, offset(at))].into())
        })
    }

    fn end_offsets(&self) -> BoxFuture<'_, Result<Offsets, BoxError>> {
        Box::pin(async move { Ok([(0, offset(self.bounds().await?.1))].into()) })
    }

    fn fetch(&self, range: OffsetRange) -> BoxFuture<'_, Result<Vec<Vec<u8>>, BoxError>> {
        Box::pin(async move {
            let stream = self.stream().await?;
            // A consumer of our own for this read: starts at the range, acknowledges
            // nothing, and is deleted after (or by the server once idle).
            let consumer: consumer::PullConsumer = stream
                .create_consumer(consumer::pull::Config {
                    deliver_policy: consumer::DeliverPolicy::ByStartSequence {
                        start_sequence: range.from as u64,
                    },
                    ack_policy: consumer::AckPolicy::None,
                    filter_subject: self.spec.filter.clone(),
                    inactive_threshold: std::time::Duration::from_secs(60),
                    ..Default::default()
                })
                .await?;
            let name = consumer.cached_info().name.clone();
            let read = async {
                let mut values = Vec::with_capacity(range.count() as usize);
                let until = range.until as u64;
                loop {
                    let mut got = consumer
                        .fetch()
                        .max_messages(self.spec.fetch)
                        .messages()
                        .await?;
                    let mut any = false;
                    while let Some(m) = got.next().await {
                        let m = m?;
                        any = true;
                        let info = m.info()?;
                        if info.stream_sequence >= until {
                            return Ok::<_, BoxError>(values);
                        }
                        values.push(m.payload.to_vec());
                        if info.stream_sequence + 1 == until || info.pending == 0 {
                            // The range's last sequence, or no later message matches the
                            // filter: what is left of the range is other subjects.
                            return Ok(values);
                        }
                    }
                    if !any {
                        return Ok(values);
                    }
                }
            };
            let values = read.await;
            let _ = stream.delete_consumer(&name).await;
            values
        })
    }
}
