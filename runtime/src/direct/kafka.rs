//! The Kafka direct source, over rskafka: a batch reads an offset range of every partition
//! of one topic.
//!
//! End offsets are read from a Fetch's high watermark rather than ListOffsets: some
//! Kafka-protocol brokers (tansu 0.6) answer ListOffsets a batch off. A fetch that starts
//! at a later record batch than the one holding the offset asked for is asked again from
//! further back, so a range that starts inside a batch loses nothing.

use super::{BoxFuture, DirectSource, OffsetRange, Offsets, StartAt};
use crate::receiver::BoxError;
use rskafka::client::partition::{OffsetAt, PartitionClient, UnknownTopicHandling};
use rskafka::client::{Client, ClientBuilder};
use rskafka::BackoffConfig;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::OnceCell;

/// Which topic a Kafka source reads, and how.
#[derive(Clone, Debug, PartialEq)]
pub struct KafkaSpec {
    /// `host:port` of the bootstrap brokers.
    pub brokers: Vec<String>,
    pub topic: String,
    pub start: StartAt,
    /// Bytes asked for per fetch request.
    pub fetch_bytes: i32,
}

impl KafkaSpec {
    pub fn new(brokers: &str, topic: &str) -> Self {
        KafkaSpec {
            brokers: brokers.split(',').map(|b| b.trim().to_string()).collect(),
            topic: topic.to_string(),
            start: StartAt::Latest,
            fetch_bytes: 4 << 20,
        }
    }
}

struct Connected {
    partitions: BTreeMap<i32, PartitionClient>,
}

/// A [`DirectSource`] over one Kafka topic. Connects on first use; a failed request gives
/// an error after rskafka's bounded retries, and the next use tries again.
pub struct KafkaSource {
    spec: KafkaSpec,
    conn: OnceCell<Arc<Connected>>,
}

impl KafkaSource {
    pub fn new(spec: KafkaSpec) -> Self {
        KafkaSource {
            spec,
            conn: OnceCell::new(),
        }
    }

    async fn client(spec: &KafkaSpec) -> Result<Client, BoxError> {
        Ok(ClientBuilder::new(spec.brokers.clone())
            .client_id("sluice")
            .backoff_config(BackoffConfig {
                init_backoff: Duration::from_millis(50),
                max_backoff: Duration::from_secs(1),
                base: 2.0,
                deadline: Some(Duration::from_secs(5)),
            })
            .build()
            .await?)
    }

    async fn connected(&self) -> Result<Arc<Connected>, BoxError> {
        let conn = self
            .conn
            .get_or_try_init(|| async {
                let client = Self::client(&self.spec).await?;
                let topics = client.list_topics().await?;
                let topic = topics
                    .into_iter()
                    .find(|t| t.name == self.spec.topic)
                    .ok_or_else(|| format!("the broker has no topic `{}`", self.spec.topic))?;
                let mut partitions = BTreeMap::new();
                for p in topic.partitions {
                    let c = client
                        .partition_client(self.spec.topic.clone(), p, UnknownTopicHandling::Error)
                        .await?;
                    partitions.insert(p, c);
                }
                Ok::<_, BoxError>(Arc::new(Connected { partitions }))
            })
            .await?;
        Ok(conn.clone())
    }

    /// A partition's high watermark: the offset after its last record.
    async fn high_watermark(c: &PartitionClient) -> Result<i64, BoxError> {
        let earliest = c.get_offset(OffsetAt::Earliest).await?;
        let (_, high) = c.fetch_records(earliest, 1..1, 0).await?;
        Ok(high)
    }
}

impl DirectSource for KafkaSource {
    fn name(&self) -> String {
        format!("kafka topic {}", self.spec.topic)
    }

    fn start_offsets(&self) -> BoxFuture<'_, Result<Offsets, BoxError>> {
        Box::pin(async move {
            let conn = self.connected().await?;
            let mut out = Offsets::new();
            for (&p, c) in &conn.partitions {
                let at = match self.spec.start {
                    StartAt::Earliest => c.get_offset(OffsetAt::Earliest).await?,
                    StartAt::Latest => Self::high_watermark(c).await?,
                };
                out.insert(p, at);
            }
            Ok(out)
        })
    }

    fn end_offsets(&self) -> BoxFuture<'_, Result<Offsets, BoxError>> {
        Box::pin(async move {
            let conn = self.connected().await?;
            let mut out = Offsets::new();
            for (&p, c) in &conn.partitions {
                out.insert(p, Self::high_watermark(c).await?);
            }
            Ok(out)
        })
    }

    fn fetch(&self, range: OffsetRange) -> BoxFuture<'_, Result<Vec<Vec<u8>>, BoxError>> {
        Box::pin(async move {
            let conn = self.connected().await?;
            let c = conn.partitions.get(&range.partition).ok_or_else(|| {
                format!(
                    "topic {} has no partition {}",
                    self.spec.topic, range.partition
                )
            })?;
            let mut values = Vec::with_capacity(range.count() as usize);
            let mut next = range.from;
            // Where the next request asks from: `next`, or further back when the broker
            // answered from a later record batch than the one holding `next`, or with
            // nothing (tansu 0.6 answers from the first batch that starts at or after the
            // offset asked).
            let mut at = next;
            let mut back = 1;
            let mut low = None;
            while next < range.until {
                // No waiting: the range is below the high watermark, so its records are there.
                let (records, high) = c.fetch_records(at, 1..self.spec.fetch_bytes, 0).await?;
                let first = records.iter().map(|r| r.offset).min();
                // Records from a later batch, or none though the partition goes on past
                // `next`: the batch holding `next` was skipped.
                let skipped = match first {
                    Some(f) => f > next,
                    None => high > next,
                };
                if skipped {
                    let low = match low {
                        Some(l) => l,
                        None => *low.insert(c.get_offset(OffsetAt::Earliest).await?),
                    };
                    if at > low {
                        at = next.saturating_sub(back).max(low);
                        back *= 2;
                        continue;
                    }
                    // Asked from the partition's start: the offsets really have a gap.
                }
                let before = next;
                let last = records.iter().map(|r| r.offset).max();
                for r in records {
                    if r.offset < next {
                        continue;
                    }
                    if r.offset >= range.until {
                        break;
                    }
                    next = r.offset + 1;
                    values.push(r.record.value.unwrap_or_default());
                }
                if next == before {
                    if let Some(last) = last.filter(|l| *l < next) {
                        // Asked from further back and got only records before `next`.
                        at = last + 1;
                        continue;
                    }
                    // Nothing at or after `next`: the range reaches past the partition's end.
                    return Err(format!(
                        "partition {} of topic {} ends at offset {high}, but the batch reads \
                         offsets {}..{}: records were deleted or the topic was recreated",
                        range.partition, self.spec.topic, range.from, range.until
                    )
                    .into());
                }
                at = next;
                back = 1;
            }
            Ok(values)
        })
    }
}
