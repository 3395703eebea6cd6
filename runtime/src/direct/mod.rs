//! Direct sources (Spark's Kafka direct API): no receiver, no received data to log.
//!
//! Before a batch runs, the batch clock plans one [`OffsetRange`] per partition of each
//! direct source — from where the previous batch ended to the partition's end now, capped
//! by `maxRatePerPartition` — and the block tracker logs the ranges with the batch's
//! allocation. The batch then fetches exactly those records. After a crash, a batch that
//! did not complete runs again on the same ranges, and the next new batch starts where the
//! last logged one ended: every record lands in exactly one batch, without a receiver
//! write-ahead log. The source keeps the data; the log keeps only offsets.

pub mod files;
#[cfg(feature = "nats")]
pub mod jetstream;
#[cfg(feature = "kafka")]
pub mod kafka;

use crate::block::Block;
use crate::receiver::BoxError;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;

/// Where a partition never read before starts (Spark's `auto.offset.reset`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StartAt {
    Earliest,
    Latest,
}

/// Which direct source of the pipeline (in the order they were declared).
pub type DirectId = usize;

/// The records of one partition a batch reads: offsets `from` (inclusive) to `until`
/// (exclusive), Spark's `OffsetRange`.
#[derive(Serialize, Deserialize, Clone, Copy, Debug, PartialEq, Eq)]
pub struct OffsetRange {
    pub partition: i32,
    pub from: i64,
    pub until: i64,
}

impl OffsetRange {
    pub fn count(&self) -> u64 {
        (self.until - self.from).max(0) as u64
    }
}

/// A boxed future, so direct sources can be kept as trait objects.
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Per partition, an offset.
pub type Offsets = BTreeMap<i32, i64>;

/// A source that batches read by offset range.
pub trait DirectSource: Send + Sync + 'static {
    /// Names the source in messages (`kafka topic words`).
    fn name(&self) -> String;
    /// Where a partition never read before starts (Spark's `auto.offset.reset`).
    fn start_offsets(&self) -> BoxFuture<'_, Result<Offsets, BoxError>>;
    /// Per partition, the offset after the last record available now.
    fn end_offsets(&self) -> BoxFuture<'_, Result<Offsets, BoxError>>;
    /// The values of the records in `range`, in offset order.
    fn fetch(&self, range: OffsetRange) -> BoxFuture<'_, Result<Vec<Vec<u8>>, BoxError>>;
}

/// What limits how many records a batch reads from a direct source.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct RateLimit {
    /// Records per second per partition (`maxRatePerPartition`); 0 for none.
    pub max_per_partition: u64,
    /// Backpressure's latest estimate for the whole source, records per second.
    pub estimated: Option<u64>,
    pub batch_ms: u64,
}

impl RateLimit {
    /// At most how many records each partition gives the next batch, from how far behind
    /// each is (Spark's `maxMessagesPerPartition`): the estimated rate split in proportion
    /// to the lags, never above the per-partition maximum; at least one record for a
    /// partition that has any. `None`: no limit.
    pub fn caps(&self, lags: &BTreeMap<i32, u64>) -> Option<BTreeMap<i32, u64>> {
        let total: u64 = lags.values().sum();
        let per_second: BTreeMap<i32, f64> = match self.estimated.filter(|r| *r > 0) {
            Some(rate) => lags
                .iter()
                .map(|(&p, &lag)| {
                    let share = if total == 0 {
                        0.0
                    } else {
                        lag as f64 / total as f64 * rate as f64
                    };
                    let share = match self.max_per_partition {
                        0 => share,
                        max => share.min(max as f64),
                    };
                    (p, share)
                })
                .collect(),
            None if self.max_per_partition > 0 => lags
                .keys()
                .map(|&p| (p, self.max_per_partition as f64))
                .collect(),
            None => return None,
        };
        let seconds = self.batch_ms as f64 / 1_000.0;
        Some(
            per_second
                .into_iter()
                .map(|(p, rate)| (p, ((rate * seconds) as u64).max(1)))
                .collect(),
        )
    }
}

/// The ranges of the next batch: each partition of `ends` from `next` (or `start`, for a
/// partition not read before) to its end, at most what `limit` allows. Every partition
/// gets a range, an empty one when nothing is new, so the log always holds every position.
pub fn plan(
    next: Option<&Offsets>,
    start: &Offsets,
    ends: &Offsets,
    limit: &RateLimit,
) -> Result<Vec<OffsetRange>, String> {
    if let Some(next) = next {
        if let Some((partition, at)) = next.iter().find(|(p, _)| !ends.contains_key(p)) {
            return Err(format!(
                "partition {partition} (read up to offset {at}) is gone from the source"
            ));
        }
    }
    let mut froms = BTreeMap::new();
    for (&partition, &end) in ends {
        let from = next
            .and_then(|n| n.get(&partition))
            .or_else(|| start.get(&partition))
            .copied()
            .unwrap_or(0);
        if end < from {
            return Err(format!(
                "partition {partition} ends at offset {end}, before offset {from} where the \
                 pipeline left off: the topic was truncated or recreated"
            ));
        }
        froms.insert(partition, from);
    }
    let lags = froms
        .iter()
        .map(|(p, from)| (*p, (ends[p] - from) as u64))
        .collect();
    let caps = limit.caps(&lags);
    Ok(froms
        .into_iter()
        .map(|(partition, from)| {
            let end = ends[&partition];
            let until = match caps.as_ref().and_then(|c| c.get(&partition)) {
                Some(&cap) => end.min(from.saturating_add(cap.min(i64::MAX as u64) as i64)),
                None => end,
            };
            OffsetRange {
                partition,
                from,
                until,
            }
        })
        .collect())
}

/// Moves each source's next offsets past `ranges`: where the batch after them starts.
/// The one rule both a running tracker and a replay of its log follow.
pub fn advance<'a>(
    next: &mut BTreeMap<DirectId, Offsets>,
    ranges: impl IntoIterator<Item = (&'a DirectId, &'a Vec<OffsetRange>)>,
) {
    for (source, rs) in ranges {
        let at = next.entry(*source).or_default();
        at.extend(rs.iter().map(|r| (r.partition, r.until)));
    }
}

/// The records of one fetched range as a block: each value's lines, as the socket and
/// file sources give lines. Values that are not UTF-8 are skipped and counted.
pub fn to_block(stream: usize, range: &OffsetRange, values: Vec<Vec<u8>>) -> (Block, u64) {
    let mut data = String::with_capacity(values.iter().map(|v| v.len() + 1).sum());
    let mut records = 0;
    let mut skipped = 0;
    for v in values {
        match String::from_utf8(v) {
            Ok(text) => {
                for line in text.lines() {
                    data.push_str(line);
                    data.push('\n');
                    records += 1;
                }
            }
            Err(_) => skipped += 1,
        }
    }
    let block = Block {
        stream,
        id: range.partition as u64,
        data,
        records,
    };
    (block, skipped)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn offsets(pairs: &[(i32, i64)]) -> Offsets {
        pairs.iter().copied().collect()
    }

    #[test]
    fn plans_continue_where_the_last_batch_ended_and_respect_the_cap() {
        let start = offsets(&[(0, 0), (1, 0)]);
        let ends = offsets(&[(0, 10), (1, 3)]);
        let cap4 = RateLimit {
            max_per_partition: 4,
            estimated: None,
            batch_ms: 1_000,
        };
        let first = plan(None, &start, &ends, &cap4).unwrap();
        assert_eq!(
            first,
            [
                OffsetRange {
                    partition: 0,
                    from: 0,
                    until: 4
                },
                OffsetRange {
                    partition: 1,
                    from: 0,
                    until: 3
                }
            ]
        );
        let next = offsets(&[(0, 4), (1, 3)]);
        let second = plan(Some(&next), &start, &ends, &RateLimit::default()).unwrap();
        assert_eq!(second[0].from, 4);
        assert_eq!(second[0].until, 10);
        assert_eq!(second[1].count(), 0, "nothing new still gets a range");
        // A partition added later starts at its start offset.
        let ends = offsets(&[(0, 10), (1, 3), (2, 5)]);
        let third = plan(
            Some(&next),
            &offsets(&[(2, 1)]),
            &ends,
            &RateLimit::default(),
        )
        .unwrap();
        assert_eq!(third[2].from, 1);
    }

    #[test]
    fn a_source_behind_the_pipeline_is_an_error_not_a_silent_rewind() {
        let next = offsets(&[(0, 8)]);
        let none = RateLimit::default();
        let err = plan(Some(&next), &Offsets::new(), &offsets(&[(0, 5)]), &none).unwrap_err();
        assert!(err.contains("before offset 8"), "{err}");
        let err = plan(Some(&next), &Offsets::new(), &Offsets::new(), &none).unwrap_err();
        assert!(err.contains("gone"), "{err}");
    }

    #[test]
    fn under_backpressure_the_rate_is_split_by_lag_and_capped_per_partition() {
        let lags: BTreeMap<i32, u64> = [(0, 900), (1, 100), (2, 0)].into();
        let mut limit = RateLimit {
            max_per_partition: 0,
            estimated: Some(1_000),
            batch_ms: 500,
        };
        // 1 000/s for half a second, 90 % of the lag on partition 0.
        assert_eq!(limit.caps(&lags), Some([(0, 450), (1, 50), (2, 1)].into()));
        limit.max_per_partition = 600;
        assert_eq!(limit.caps(&lags), Some([(0, 300), (1, 50), (2, 1)].into()));
        limit.estimated = None;
        assert_eq!(
            limit.caps(&lags),
            Some([(0, 300), (1, 300), (2, 300)].into())
        );
        limit.max_per_partition = 0;
        assert_eq!(limit.caps(&lags), None);
    }

    #[test]
    fn values_become_lines_and_non_text_is_counted() {
        let range = OffsetRange {
            partition: 2,
            from: 0,
            until: 3,
        };
        let (block, skipped) = to_block(
            1,
            &range,
            vec![b"a b".to_vec(), vec![0xff, 0xfe], b"c\nd".to_vec()],
        );
        assert_eq!(block.data, "a b\nc\nd\n");
        assert_eq!(block.records, 3);
        assert_eq!(block.id, 2);
        assert_eq!(skipped, 1);
    }
}
