//! Received blocks: what a receiver hands over every block interval.

use std::sync::Arc;

/// Which input stream a block belongs to (Spark's `streamId`).
pub type StreamId = usize;

/// A run of text records received together. The text is valid UTF-8 (it is a `String`),
/// each record followed by `\n`; records never contain `\n`. A block is written once and
/// then shared read-only between the batch's jobs.
#[derive(Debug, PartialEq)]
pub struct Block {
    pub stream: StreamId,
    /// Unique within its stream, increasing.
    pub id: u64,
    pub data: String,
    pub records: usize,
}

impl Block {
    /// The block's records, each without its terminator.
    pub fn lines(&self) -> impl Iterator<Item = &str> {
        self.data.split_terminator('\n')
    }
}

/// An owning iterator over a block's records, so a partition can be computed on any thread.
pub struct BlockRecords {
    block: Arc<Block>,
    pos: usize,
}

impl BlockRecords {
    pub fn new(block: Arc<Block>) -> Self {
        BlockRecords { block, pos: 0 }
    }
}

impl Iterator for BlockRecords {
    type Item = String;

    fn next(&mut self) -> Option<String> {
        let rest = &self.block.data[self.pos..];
        if rest.is_empty() {
            return None;
        }
        let end = memchr::memchr(b'\n', rest.as_bytes()).unwrap_or(rest.len());
        self.pos += (end + 1).min(rest.len());
        Some(rest[..end].to_string())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn records_come_back_in_order_without_terminators() {
        let b = Arc::new(Block {
            stream: 0,
            id: 0,
            data: "a b\n\nc\n".into(),
            records: 3,
        });
        let owned: Vec<String> = BlockRecords::new(b.clone()).collect();
        assert_eq!(owned, ["a b", "", "c"]);
        assert_eq!(b.lines().collect::<Vec<_>>(), ["a b", "", "c"]);
    }
}
