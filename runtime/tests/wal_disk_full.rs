//! The write-ahead log on a full disk: a small filesystem of the test's own (a 256 KiB
//! tmpfs that `scripts/test.sh` mounts). Appends fail with ENOSPC and leave nothing
//! partial; every append that succeeded is recovered; when space returns, the same log
//! goes on.

mod common;

use sluice_runtime::wal::{FsyncPolicy, WalConfig, WalError, WriteAheadLog};

#[test]
fn a_full_disk_fails_appends_cleanly_and_the_log_goes_on_when_space_returns() {
    let Some(fs) = common::service("SLUICE_TEST_SMALL_FS") else {
        return;
    };
    let dir = tempfile::tempdir_in(&fs).unwrap();
    let cfg = WalConfig {
        max_segment_bytes: 32 * 1024,
        fsync: FsyncPolicy::Always,
        ..WalConfig::new(dir.path().join("wal"))
    };
    let (mut wal, _) = WriteAheadLog::open(cfg.clone()).unwrap();
    let record = |i: u64| format!("{i:08} {}", "x".repeat(1_000)).into_bytes();
    let mut acked = Vec::new();
    let mut failures = 0;
    for i in 0..2_000u64 {
        match wal.append(i, &record(i)) {
            Ok(_) => acked.push(i),
            Err(WalError::Io { source, .. }) => {
                assert_eq!(source.raw_os_error(), Some(28), "ENOSPC, got {source}");
                failures += 1;
                if failures == 5 {
                    break;
                }
            }
            Err(e) => panic!("unexpected {e}"),
        }
    }
    assert!(failures == 5 && !acked.is_empty(), "the disk filled up");

    // Recovery of the full disk: exactly what was acknowledged, nothing partial.
    let (_, rec) = WriteAheadLog::open(cfg.clone()).unwrap();
    let times: Vec<u64> = rec.records.iter().map(|r| r.time_ms).collect();
    assert_eq!(times, acked);
    assert_eq!(rec.cut, None, "a failed append leaves no torn tail");

    // Space returns: the old segments are cleaned, and the same log appends again.
    let last = *acked.last().unwrap();
    wal.clean(last + 1).unwrap();
    let more: Vec<u64> = (10_000..10_010).collect();
    for &i in &more {
        wal.append(i, &record(i)).unwrap();
    }
    drop(wal);
    let (_, rec) = WriteAheadLog::open(cfg).unwrap();
    let times: Vec<u64> = rec.records.iter().map(|r| r.time_ms).collect();
    assert!(times.ends_with(&more), "{times:?}");
    for r in &rec.records {
        assert_eq!(r.payload, record(r.time_ms));
    }
}
