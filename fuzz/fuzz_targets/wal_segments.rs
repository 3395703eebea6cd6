//! WAL files are untrusted after a crash or a disk fault: write real records, damage the
//! segments (flipped bytes, a truncation), recover. Recovery never panics and never returns
//! a record that was not written: it gives back a prefix of the records, or an error.
#![no_main]

use sluice_runtime::wal::{FsyncPolicy, WalConfig, WalError, WriteAheadLog};

libfuzzer_sys::fuzz_target!(|input: (Vec<Vec<u8>>, Vec<(u16, u8)>, Option<u16>)| {
    let (records, flips, truncate) = input;
    let dir = std::env::temp_dir().join(format!("sluice-fuzz-wal-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let cfg = WalConfig {
        max_segment_bytes: 256,
        fsync: FsyncPolicy::Never,
        ..WalConfig::new(&dir)
    };
    let (mut wal, _) = WriteAheadLog::open(cfg.clone()).unwrap();
    for (i, r) in records.iter().enumerate() {
        wal.append(i as u64, r).unwrap();
    }
    let files = wal.segment_paths();
    drop(wal);
    let mut bytes: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
    let total: usize = bytes.iter().map(Vec::len).sum();
    // Positions index the concatenation of all segments.
    let locate = |mut pos: usize| -> Option<(usize, usize)> {
        for (i, b) in bytes.iter().enumerate() {
            if pos < b.len() {
                return Some((i, pos));
            }
            pos -= b.len();
        }
        None
    };
    let mut edits = Vec::new();
    for (pos, x) in flips {
        if total > 0 && x != 0 {
            if let Some(at) = locate(pos as usize % total) {
                edits.push((at, x));
            }
        }
    }
    let cut = truncate.and_then(|t| (total > 0).then(|| locate(t as usize % total)).flatten());
    for ((seg, off), x) in edits {
        bytes[seg][off] ^= x;
    }
    if let Some((seg, off)) = cut {
        bytes[seg].truncate(off);
    }
    for (f, b) in files.iter().zip(&bytes) {
        std::fs::write(f, b).unwrap();
    }
    match WriteAheadLog::open(cfg) {
        Ok((_, rec)) => {
            assert!(rec.records.len() <= records.len());
            for (i, (got, want)) in rec.records.iter().zip(&records).enumerate() {
                assert_eq!(got.handle.seq, i as u64 + 1, "a record out of place");
                assert_eq!(&got.payload, want, "recovered a record that was not written");
            }
        }
        Err(WalError::Corrupt { .. }) => {}
        Err(e) => panic!("unexpected error {e}"),
    }
    let _ = std::fs::remove_dir_all(&dir);
});
