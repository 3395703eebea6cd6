//! Group commit: writers of one write-ahead log share its fsyncs (Spark's
//! `BatchedWriteAheadLog` for the driver log, which every receiver's block reports go
//! through).
//!
//! A writer queues its record and waits. Whichever waiting writer finds no group being
//! written becomes the leader: it takes every queued record, appends them in queue order,
//! syncs once, and hands each writer its own outcome. Records queued meanwhile form the
//! next group. A record is acknowledged only once synced; one whose append failed (a full
//! disk) left nothing in the log, and a failed sync fails every record of its group.

use crate::lock;
use crate::wal::{WalError, WriteAheadLog};
use std::collections::HashMap;
use std::sync::{Condvar, Mutex};

#[derive(Default)]
struct Queue {
    /// (ticket, time, payload), in arrival order.
    records: Vec<(u64, u64, Vec<u8>)>,
    next_ticket: u64,
    /// A leader is writing a group.
    leading: bool,
    outcomes: HashMap<u64, Result<(), WalError>>,
    /// Groups written (one sync each).
    groups: u64,
}

/// A write-ahead log that many threads commit records to.
pub struct GroupLog {
    log: Mutex<WriteAheadLog>,
    queue: Mutex<Queue>,
    served: Condvar,
}

impl GroupLog {
    pub fn new(log: WriteAheadLog) -> Self {
        GroupLog {
            log: Mutex::new(log),
            queue: Mutex::default(),
            served: Condvar::new(),
        }
    }

    /// Appends a record stamped `time_ms` and returns once it is synced, or failed.
    pub fn commit(&self, time_ms: u64, payload: Vec<u8>) -> Result<(), WalError> {
        let mut q = lock(&self.queue);
        let ticket = q.next_ticket;
        q.next_ticket += 1;
        q.records.push((ticket, time_ms, payload));
        loop {
            if let Some(outcome) = q.outcomes.remove(&ticket) {
                return outcome;
            }
            if !q.leading {
                q.leading = true;
                let group = std::mem::take(&mut q.records);
                drop(q);
                let outcomes = self.write(group);
                q = lock(&self.queue);
                q.outcomes.extend(outcomes);
                q.leading = false;
                q.groups += 1;
                self.served.notify_all();
                continue;
            }
            q = self.served.wait(q).unwrap_or_else(|e| e.into_inner());
        }
    }

    /// Appends a group and syncs it once: each record's outcome.
    fn write(&self, group: Vec<(u64, u64, Vec<u8>)>) -> Vec<(u64, Result<(), WalError>)> {
        let mut log = lock(&self.log);
        let mut outcomes = Vec::with_capacity(group.len());
        let mut appended = Vec::with_capacity(group.len());
        for (ticket, time_ms, payload) in group {
            match log.append(time_ms, &payload) {
                Ok(_) => appended.push(ticket),
                Err(e) => outcomes.push((ticket, Err(e))),
            }
        }
        match log.sync() {
            Ok(()) => outcomes.extend(appended.into_iter().map(|t| (t, Ok(())))),
            Err(e) => outcomes.extend(appended.into_iter().map(|t| (t, Err(e.duplicate())))),
        }
        outcomes
    }

    /// Runs `f` on the log, between groups (to clean old segments, say).
    pub fn with_log<R>(&self, f: impl FnOnce(&mut WriteAheadLog) -> R) -> R {
        f(&mut lock(&self.log))
    }

    /// How many groups (syncs) have been written.
    pub fn groups(&self) -> u64 {
        lock(&self.queue).groups
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wal::{FsyncPolicy, WalConfig};
    use std::sync::Arc;

    #[test]
    fn concurrent_writers_share_syncs_and_every_record_lands_once_in_order() {
        let dir = tempfile::tempdir().unwrap();
        let cfg = WalConfig {
            fsync: FsyncPolicy::Batch,
            ..WalConfig::new(dir.path())
        };
        let (log, _) = WriteAheadLog::open(cfg.clone()).unwrap();
        let log = Arc::new(GroupLog::new(log));
        let (writers, each) = (8u64, 100u64);
        let threads: Vec<_> = (0..writers)
            .map(|w| {
                let log = log.clone();
                std::thread::spawn(move || {
                    for i in 0..each {
                        log.commit(i, format!("{w}:{i}").into_bytes()).unwrap();
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        let groups = log.groups();
        eprintln!(
            "{} records from {writers} writers in {groups} syncs",
            writers * each
        );
        assert!(
            groups < writers * each,
            "{groups} syncs for {} records: no group formed",
            writers * each
        );
        drop(log);
        let (_, recovered) = WriteAheadLog::open(cfg).unwrap();
        let mut next = vec![0u64; writers as usize];
        for r in &recovered.records {
            let text = String::from_utf8(r.payload.clone()).unwrap();
            let (w, i) = text.split_once(':').unwrap();
            let (w, i): (usize, u64) = (w.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[w], "writer {w}'s records in order, each once");
            next[w] += 1;
        }
        assert!(next.iter().all(|n| *n == each), "{next:?}");
    }
}
