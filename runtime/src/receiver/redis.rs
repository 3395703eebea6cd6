//! A reliable receiver for Redis Streams, reading as a member of a consumer group.
//!
//! Each read becomes one block; its entries are acknowledged (`XACK`) only after
//! [`ReceiverContext::store_block`] returns, so an entry whose block was never stored stays
//! pending in the group. On every (re)start the receiver first re-reads its own pending
//! entries, then reads new ones: nothing acknowledged is lost, nothing unacknowledged is
//! skipped (at-least-once; exactly-once needs the WAL and an idempotent sink on top).

use super::{BoxError, Receiver, ReceiverContext, StoreError};
use crate::listener::SkipReason;
use redis::streams::{StreamReadOptions, StreamReadReply};
use redis::AsyncCommands;

/// Where a Redis stream is read from: which stream, as which group member, which field.
#[derive(Clone, Debug, PartialEq)]
pub struct RedisStreamSpec {
    /// `redis://host:port/db`.
    pub url: String,
    /// The stream's key.
    pub stream: String,
    pub group: String,
    pub consumer: String,
    /// The entry field holding the record's text.
    pub field: String,
    /// Entries per read, at most.
    pub batch: usize,
}

impl RedisStreamSpec {
    /// Reads `stream` as consumer `sluice` of group `sluice`, the text in field `data`.
    pub fn new(url: &str, stream: &str) -> Self {
        RedisStreamSpec {
            url: url.to_string(),
            stream: stream.to_string(),
            group: "sluice".into(),
            consumer: "sluice".into(),
            field: "data".into(),
            batch: 1_000,
        }
    }
}

/// Spark-style receiver over a [`RedisStreamSpec`].
pub struct RedisStreamReceiver {
    spec: RedisStreamSpec,
}

impl RedisStreamReceiver {
    pub fn new(spec: RedisStreamSpec) -> Self {
        RedisStreamReceiver { spec }
    }
}

impl Receiver for RedisStreamReceiver {
    fn name(&self) -> String {
        format!(
            "redis stream {} (group {})",
            self.spec.stream, self.spec.group
        )
    }

    fn on_start(&mut self, cx: &ReceiverContext) {
        let spec = self.spec.clone();
        let cx2 = cx.clone();
        cx.spawn_fallible(
            format!("redis {}", crate::secrets::redact(&spec.url)),
            async move { receive(&spec, &cx2).await },
        );
    }
}

/// A stream entry id `<ms>-<seq>` as a comparable pair.
fn entry_id(id: &str) -> Option<(u64, u64)> {
    let (ms, seq) = id.split_once('-')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

async fn receive(spec: &RedisStreamSpec, cx: &ReceiverContext) -> Result<(), BoxError> {
    let client = redis::Client::open(spec.url.as_str())?;
    let mut con = client.get_multiplexed_async_connection().await?;
    // From the start of the stream when the group is new; BUSYGROUP when it exists.
    let created: redis::RedisResult<()> = con
        .xgroup_create_mkstream(&spec.stream, &spec.group, "0")
        .await;
    if let Err(e) = created {
        if e.code() != Some("BUSYGROUP") {
            return Err(e.into());
        }
    }
    // "0": this consumer's pending entries, until none are left; then ">": new ones.
    let mut pending = true;
    loop {
        let mut opts = StreamReadOptions::default()
            .group(&spec.group, &spec.consumer)
            .count(spec.batch);
        if !pending {
            opts = opts.block(200);
        }
        let from = if pending { "0" } else { ">" };
        let reply: Option<StreamReadReply> =
            con.xread_options(&[&spec.stream], &[from], &opts).await?;
        let entries: Vec<_> = reply
            .into_iter()
            .flat_map(|r| r.keys)
            .flat_map(|k| k.ids)
            .collect();
        if entries.is_empty() {
            pending = false;
            continue;
        }
        // Entries a previous start stored but could not acknowledge: acknowledge only.
        let stored = cx.last_position().and_then(|p| entry_id(&p));
        let fresh: Vec<_> = entries
            .iter()
            .filter(|e| entry_id(&e.id).is_none_or(|id| stored.is_none_or(|s| id > s)))
            .collect();
        let (mut missing, mut not_text) = (0, 0);
        let texts: Vec<String> = fresh
            .iter()
            .filter_map(|e| match e.map.get(&spec.field) {
                None => {
                    missing += 1;
                    None
                }
                Some(v) => match redis::from_redis_value_ref::<String>(v) {
                    Ok(s) => Some(s),
                    Err(_) => {
                        not_text += 1;
                        None
                    }
                },
            })
            .collect();
        cx.report_skipped(SkipReason::MissingField, missing);
        cx.report_skipped(SkipReason::InvalidUtf8, not_text);
        if let Some(last) = fresh.last() {
            match cx
                .store_block_at(texts.iter().map(String::as_str), Some(&last.id))
                .await
            {
                Ok(()) => {}
                Err(StoreError::Stopped) => return Ok(()),
                Err(e) => return Err(e.into()),
            }
        }
        let ids: Vec<&str> = entries.iter().map(|e| e.id.as_str()).collect();
        let _: usize = con.xack(&spec.stream, &spec.group, &ids).await?;
    }
}
