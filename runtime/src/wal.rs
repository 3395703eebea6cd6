//! A write-ahead log: records appended to segment files, each checked by CRC32C, recovered
//! in order after a crash.
//!
//! Layout: a directory of segments `wal-<id>.log` (ids consecutive, 20 decimal digits).
//! A segment starts with a 20-byte header — the magic `SLUICEW1`, the sequence number of
//! its first record (u64 LE) and a CRC32C of both (u32 LE); then records, each a 24-byte header
//! — payload length (u32 LE), CRC32C (u32 LE) of everything after it, a sequence number
//! (u64 LE, one more than the record before, across segments) and a time (u64 LE,
//! milliseconds, chosen by the writer and used to clean old segments) — and the payload.
//! The sequence numbers make a lost run of records visible even where every remaining
//! record is intact (a segment cut short at a record boundary, a missing segment). A new segment is started when the active one passes its size or age
//! limit, and on every open: recovery never appends to a segment a crash may have torn.
//!
//! Recovery reads every segment in order. A torn tail — a partial or garbled last record of
//! the last segment, with nothing valid after it — is cut off at the last valid record.
//! Anything else is damage, and an error that names the file and the offset: a bad record
//! with valid data after it, a short or garbled segment that is not the last, a missing
//! segment between two present ones. (Spark's reader skips such damage silently; losing
//! records that were acknowledged is exactly what a WAL exists to prevent.)

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

const MAGIC: &[u8; 8] = b"SLUICEW1";
const SEGMENT_HEADER: usize = 20;
const HEADER: usize = 24;
/// The longest payload a record may carry.
pub const MAX_RECORD: usize = 1 << 30;

/// When appended records are forced to disk.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FsyncPolicy {
    /// After every append.
    Always,
    /// When the owner calls [`WriteAheadLog::sync`] (once per batch by default).
    Batch,
    /// Never (tests and throwaway runs; a crash of the machine may lose records).
    Never,
}

#[derive(Clone, Debug, PartialEq)]
pub struct WalConfig {
    pub dir: PathBuf,
    /// Start a new segment once the active one holds this many bytes.
    pub max_segment_bytes: u64,
    /// Start a new segment once the active one is this old.
    pub max_segment_age: Duration,
    pub fsync: FsyncPolicy,
}

impl WalConfig {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        WalConfig {
            dir: dir.into(),
            max_segment_bytes: 64 << 20,
            max_segment_age: Duration::from_secs(60),
            fsync: FsyncPolicy::Batch,
        }
    }
}

/// Where a record lives, to read it back (Spark's `WriteAheadLogRecordHandle`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct RecordHandle {
    /// The record's sequence number.
    pub seq: u64,
    pub segment: u64,
    /// Offset of the record's header in the segment.
    pub offset: u64,
    pub len: u32,
}

/// A record found by recovery.
#[derive(Clone, Debug, PartialEq)]
pub struct Recovered {
    pub handle: RecordHandle,
    pub time_ms: u64,
    pub payload: Vec<u8>,
}

/// A torn tail that recovery cut off.
#[derive(Clone, Debug, PartialEq)]
pub struct Cut {
    pub path: PathBuf,
    /// Where the segment now ends.
    pub offset: u64,
    /// How many bytes were removed.
    pub dropped: u64,
}

/// What [`WriteAheadLog::open`] found.
#[derive(Debug, Default, PartialEq)]
pub struct Recovery {
    pub records: Vec<Recovered>,
    pub cut: Option<Cut>,
}

#[derive(Debug, thiserror::Error)]
pub enum WalError {
    #[error("write-ahead log {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    #[error("write-ahead log {} is damaged at offset {offset}: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("a write-ahead log record of {0} bytes is larger than the limit of {MAX_RECORD}")]
    TooLarge(usize),
}

impl WalError {
    /// The same error again, for each of several records it failed.
    pub fn duplicate(&self) -> WalError {
        match self {
            WalError::Io { path, source } => WalError::Io {
                path: path.clone(),
                source: std::io::Error::new(source.kind(), source.to_string()),
            },
            WalError::Corrupt {
                path,
                offset,
                reason,
            } => WalError::Corrupt {
                path: path.clone(),
                offset: *offset,
                reason: reason.clone(),
            },
            WalError::TooLarge(n) => WalError::TooLarge(*n),
        }
    }

    fn io(path: &Path) -> impl FnOnce(std::io::Error) -> WalError + '_ {
        move |source| WalError::Io {
            path: path.to_path_buf(),
            source,
        }
    }

    fn corrupt(path: &Path, offset: u64, reason: impl Into<String>) -> WalError {
        WalError::Corrupt {
            path: path.to_path_buf(),
            offset,
            reason: reason.into(),
        }
    }
}

type Result<T> = std::result::Result<T, WalError>;

struct Segment {
    path: PathBuf,
    /// The latest record time in it; none when it holds no record.
    max_time: Option<u64>,
}

struct Active {
    id: u64,
    file: File,
    len: u64,
    created: Instant,
}

/// An open log: appends to the active segment, reads records back, cleans old segments.
pub struct WriteAheadLog {
    cfg: WalConfig,
    segments: BTreeMap<u64, Segment>,
    active: Option<Active>,
    next_id: u64,
    next_seq: u64,
}

fn segment_path(dir: &Path, id: u64) -> PathBuf {
    dir.join(format!("wal-{id:020}.log"))
}

fn segment_id(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("wal-")?.strip_suffix(".log")?;
    (digits.len() == 20 && digits.bytes().all(|b| b.is_ascii_digit()))
        .then(|| digits.parse().ok())
        .flatten()
}

fn checksum(len: u32, seq: u64, time: u64, payload: &[u8]) -> u32 {
    let c = crc32c::crc32c(&len.to_le_bytes());
    let c = crc32c::crc32c_append(c, &seq.to_le_bytes());
    let c = crc32c::crc32c_append(c, &time.to_le_bytes());
    crc32c::crc32c_append(c, payload)
}

/// A record as parsed.
struct Parsed<'a> {
    seq: u64,
    time: u64,
    payload: &'a [u8],
}

/// One record parsed at `pos` of `bytes`, if whole and intact.
fn parse_at(bytes: &[u8], pos: usize) -> Option<Parsed<'_>> {
    let head = bytes.get(pos..pos.checked_add(HEADER)?)?;
    let len = u32::from_le_bytes(head[0..4].try_into().ok()?);
    let crc = u32::from_le_bytes(head[4..8].try_into().ok()?);
    let seq = u64::from_le_bytes(head[8..16].try_into().ok()?);
    let time = u64::from_le_bytes(head[16..24].try_into().ok()?);
    if len as usize > MAX_RECORD {
        return None;
    }
    let payload = bytes.get(pos + HEADER..pos + HEADER + len as usize)?;
    (checksum(len, seq, time, payload) == crc).then_some(Parsed { seq, time, payload })
}

/// Whether an intact record starts anywhere after `pos`: then the bad record at `pos` is
/// damage in the middle, not a torn tail.
fn valid_record_after(bytes: &[u8], pos: usize) -> bool {
    (pos + 1..bytes.len().saturating_sub(HEADER - 1)).any(|p| parse_at(bytes, p).is_some())
}

/// The segment header: the magic, the sequence number its first record has (or will
/// have), and a CRC32C of both.
fn segment_header(first_seq: u64) -> [u8; SEGMENT_HEADER] {
    let mut h = [0; SEGMENT_HEADER];
    h[..8].copy_from_slice(MAGIC);
    h[8..16].copy_from_slice(&first_seq.to_le_bytes());
    let crc = crc32c::crc32c(&h[..16]);
    h[16..].copy_from_slice(&crc.to_le_bytes());
    h
}

/// Reads one segment's records, checking that each follows the one before: `next` is the
/// sequence number expected next (none before the first segment) and is advanced.
/// `Ok(Some(offset))` asks the caller to cut a torn tail there (only in the last segment).
fn scan(
    path: &Path,
    id: u64,
    bytes: &[u8],
    last: bool,
    next: &mut Option<u64>,
    out: &mut Vec<Recovered>,
) -> Result<Option<u64>> {
    let missing = |offset: usize, found: u64, expected: u64| {
        WalError::corrupt(
            path,
            offset as u64,
            format!(
                "record {found} comes where record {expected} should: records are missing \
                 (a segment cut short or removed?)"
            ),
        )
    };
    if bytes.len() < SEGMENT_HEADER {
        return if last {
            Ok(Some(0))
        } else {
            Err(WalError::corrupt(
                path,
                0,
                "the segment header is cut short",
            ))
        };
    }
    let header = &bytes[..SEGMENT_HEADER];
    let first = u64::from_le_bytes(header[8..16].try_into().expect("8 bytes"));
    if &header[..8] != MAGIC || segment_header(first) != header {
        return Err(WalError::corrupt(
            path,
            0,
            "not a Sluice write-ahead log segment, or its header is damaged",
        ));
    }
    match *next {
        Some(expected) if expected != first => return Err(missing(0, first, expected)),
        _ => *next = Some(first),
    }
    let mut pos = SEGMENT_HEADER;
    while pos < bytes.len() {
        match parse_at(bytes, pos) {
            Some(p) => {
                let expected = next.expect("set from the header");
                if p.seq != expected {
                    return Err(missing(pos, p.seq, expected));
                }
                *next = Some(expected.wrapping_add(1));
                out.push(Recovered {
                    handle: RecordHandle {
                        seq: p.seq,
                        segment: id,
                        offset: pos as u64,
                        len: p.payload.len() as u32,
                    },
                    time_ms: p.time,
                    payload: p.payload.to_vec(),
                });
                pos += HEADER + p.payload.len();
            }
            None if last && !valid_record_after(bytes, pos) => return Ok(Some(pos as u64)),
            None => {
                let reason = if bytes.len() - pos < HEADER {
                    "a record header is cut short"
                } else {
                    "a record is cut short or fails its checksum"
                };
                return Err(WalError::corrupt(path, pos as u64, reason));
            }
        }
    }
    Ok(None)
}

fn sync_dir(dir: &Path) -> Result<()> {
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(WalError::io(dir))
}

impl WriteAheadLog {
    /// Opens the log in `cfg.dir` (created if missing), recovering every record in order
    /// and cutting a torn tail. Appends then go to a new segment.
    pub fn open(cfg: WalConfig) -> Result<(Self, Recovery)> {
        std::fs::create_dir_all(&cfg.dir).map_err(WalError::io(&cfg.dir))?;
        let mut ids = Vec::new();
        for entry in std::fs::read_dir(&cfg.dir).map_err(WalError::io(&cfg.dir))? {
            let entry = entry.map_err(WalError::io(&cfg.dir))?;
            if let Some(id) = segment_id(&entry.file_name().to_string_lossy()) {
                ids.push(id);
            }
        }
        ids.sort_unstable();
        if let Some(w) = ids.windows(2).find(|w| w[1] != w[0] + 1) {
            return Err(WalError::corrupt(
                &segment_path(&cfg.dir, w[0] + 1),
                0,
                format!(
                    "segment {} is missing between {} and {}",
                    w[0] + 1,
                    w[0],
                    w[1]
                ),
            ));
        }
        let mut recovery = Recovery::default();
        let mut segments = BTreeMap::new();
        let mut next_seq = None;
        for (i, &id) in ids.iter().enumerate() {
            let path = segment_path(&cfg.dir, id);
            let bytes = std::fs::read(&path).map_err(WalError::io(&path))?;
            let before = recovery.records.len();
            let last = i + 1 == ids.len();
            if let Some(offset) = scan(
                &path,
                id,
                &bytes,
                last,
                &mut next_seq,
                &mut recovery.records,
            )? {
                recovery.cut = Some(Cut {
                    path: path.clone(),
                    offset,
                    dropped: bytes.len() as u64 - offset,
                });
                if offset < SEGMENT_HEADER as u64 {
                    // Torn before its header was whole: the segment never held a record.
                    std::fs::remove_file(&path).map_err(WalError::io(&path))?;
                    sync_dir(&cfg.dir)?;
                    continue;
                }
                let f = OpenOptions::new()
                    .write(true)
                    .open(&path)
                    .map_err(WalError::io(&path))?;
                f.set_len(offset).map_err(WalError::io(&path))?;
                f.sync_all().map_err(WalError::io(&path))?;
            }
            let max_time = recovery.records[before..].iter().map(|r| r.time_ms).max();
            segments.insert(id, Segment { path, max_time });
        }
        let next_id = segments.keys().last().map_or(1, |l| l + 1);
        let next_seq = next_seq.unwrap_or(1);
        let wal = WriteAheadLog {
            cfg,
            segments,
            active: None,
            next_id,
            next_seq,
        };
        Ok((wal, recovery))
    }

    fn roll(&mut self) -> Result<()> {
        if let Some(old) = self.active.take() {
            if self.cfg.fsync != FsyncPolicy::Never {
                let path = &self.segments[&old.id].path;
                old.file.sync_data().map_err(WalError::io(path))?;
            }
        }
        let id = self.next_id;
        let path = segment_path(&self.cfg.dir, id);
        let mut file = OpenOptions::new()
            .create_new(true)
            .append(true)
            .open(&path)
            .map_err(WalError::io(&path))?;
        let started = file
            .write_all(&segment_header(self.next_seq))
            .and_then(|()| file.sync_all());
        if let Err(e) = started {
            let _ = std::fs::remove_file(&path);
            return Err(WalError::io(&path)(e));
        }
        sync_dir(&self.cfg.dir)?;
        self.next_id += 1;
        self.segments.insert(
            id,
            Segment {
                path,
                max_time: None,
            },
        );
        self.active = Some(Active {
            id,
            file,
            len: SEGMENT_HEADER as u64,
            created: Instant::now(),
        });
        Ok(())
    }

    /// Appends a record stamped `time_ms`. On an error (a full disk, say) nothing of the
    /// record stays in the log and the log remains usable: the caller may retry.
    pub fn append(&mut self, time_ms: u64, payload: &[u8]) -> Result<RecordHandle> {
        if payload.len() > MAX_RECORD {
            return Err(WalError::TooLarge(payload.len()));
        }
        let size = (HEADER + payload.len()) as u64;
        let full = self.active.as_ref().is_none_or(|a| {
            a.len > SEGMENT_HEADER as u64
                && (a.len + size > self.cfg.max_segment_bytes
                    || a.created.elapsed() >= self.cfg.max_segment_age)
        });
        if full {
            self.roll()?;
        }
        let Some(active) = self.active.as_mut() else {
            unreachable!("roll() leaves an active segment or fails")
        };
        let segment = self.segments.get_mut(&active.id).expect("active is listed");
        let len = payload.len() as u32;
        let seq = self.next_seq;
        let mut record = Vec::with_capacity(size as usize);
        record.extend_from_slice(&len.to_le_bytes());
        record.extend_from_slice(&checksum(len, seq, time_ms, payload).to_le_bytes());
        record.extend_from_slice(&seq.to_le_bytes());
        record.extend_from_slice(&time_ms.to_le_bytes());
        record.extend_from_slice(payload);
        let written = active.file.write_all(&record).and_then(|()| {
            if self.cfg.fsync == FsyncPolicy::Always {
                active.file.sync_data()
            } else {
                Ok(())
            }
        });
        if let Err(e) = written {
            // Take back whatever part of the record reached the file.
            if active.file.set_len(active.len).is_err() {
                // The segment cannot be trusted to end where we think: start a new one.
                self.active = None;
            }
            return Err(WalError::io(&segment.path)(e));
        }
        self.next_seq += 1;
        let handle = RecordHandle {
            seq,
            segment: active.id,
            offset: active.len,
            len,
        };
        active.len += size;
        segment.max_time = Some(segment.max_time.map_or(time_ms, |t| t.max(time_ms)));
        Ok(handle)
    }

    /// Forces what was appended to disk (the `Batch` policy's sync point).
    pub fn sync(&mut self) -> Result<()> {
        match (&self.active, self.cfg.fsync) {
            (Some(a), FsyncPolicy::Always | FsyncPolicy::Batch) => a
                .file
                .sync_data()
                .map_err(WalError::io(&self.segments[&a.id].path)),
            _ => Ok(()),
        }
    }

    /// Reads one record back.
    pub fn read(&self, h: &RecordHandle) -> Result<Vec<u8>> {
        let path = segment_path(&self.cfg.dir, h.segment);
        let mut f = File::open(&path).map_err(WalError::io(&path))?;
        let mut bytes = vec![0; HEADER + h.len as usize];
        f.seek(SeekFrom::Start(h.offset))
            .and_then(|_| f.read_exact(&mut bytes))
            .map_err(WalError::io(&path))?;
        match parse_at(&bytes, 0) {
            Some(p) if p.seq == h.seq => Ok(p.payload.to_vec()),
            _ => Err(WalError::corrupt(
                &path,
                h.offset,
                "the record fails its checksum or is another record",
            )),
        }
    }

    /// Deletes every segment, but the active one, whose records are all older than
    /// `before_ms`; returns how many it deleted.
    pub fn clean(&mut self, before_ms: u64) -> Result<usize> {
        let active = self.active.as_ref().map(|a| a.id);
        // Only a prefix may go: a gap would read as a missing segment.
        let old: Vec<u64> = self
            .segments
            .iter()
            .take_while(|(id, s)| Some(**id) != active && s.max_time.is_none_or(|t| t < before_ms))
            .map(|(id, _)| *id)
            .collect();
        for id in &old {
            let s = self.segments.remove(id).expect("listed");
            std::fs::remove_file(&s.path).map_err(WalError::io(&s.path))?;
        }
        if !old.is_empty() {
            sync_dir(&self.cfg.dir)?;
        }
        Ok(old.len())
    }

    /// The segments on disk, oldest first.
    pub fn segment_paths(&self) -> Vec<PathBuf> {
        self.segments.values().map(|s| s.path.clone()).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cfg(dir: &Path) -> WalConfig {
        WalConfig {
            max_segment_bytes: 200,
            fsync: FsyncPolicy::Never,
            ..WalConfig::new(dir)
        }
    }

    fn payload(i: u64) -> Vec<u8> {
        format!("record {i} {}", "x".repeat((i % 7) as usize)).into_bytes()
    }

    /// Writes `n` records with times 0..n, closes the log, returns their handles.
    fn write(dir: &Path, n: u64) -> Vec<RecordHandle> {
        let (mut wal, rec) = WriteAheadLog::open(cfg(dir)).unwrap();
        assert!(rec.records.is_empty());
        (0..n)
            .map(|i| wal.append(i, &payload(i)).unwrap())
            .collect()
    }

    fn payloads(rec: &Recovery) -> Vec<Vec<u8>> {
        rec.records.iter().map(|r| r.payload.clone()).collect()
    }

    #[test]
    fn records_come_back_in_order_across_segments_and_by_handle() {
        let dir = tempfile::tempdir().unwrap();
        let handles = write(dir.path(), 40);
        assert_eq!(
            handles.iter().map(|h| h.seq).collect::<Vec<_>>(),
            (1..=40).collect::<Vec<_>>()
        );
        let (wal, rec) = WriteAheadLog::open(cfg(dir.path())).unwrap();
        assert!(wal.segment_paths().len() > 3, "rolled by size");
        assert_eq!(payloads(&rec), (0..40).map(payload).collect::<Vec<_>>());
        assert_eq!(rec.cut, None);
        let got: Vec<RecordHandle> = rec.records.iter().map(|r| r.handle).collect();
        assert_eq!(got, handles);
        assert_eq!(wal.read(&handles[17]).unwrap(), payload(17));
        assert_eq!(rec.records[17].time_ms, 17);
    }

    #[test]
    fn a_torn_tail_is_cut_at_the_last_whole_record_wherever_the_tear_is() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 5);
        let last = wal_files(dir.path()).pop().unwrap();
        let whole = std::fs::read(&last).unwrap();
        let (_, rec) = WriteAheadLog::open(cfg(dir.path())).unwrap();
        let n = rec.records.len();
        let last_start = rec.records[n - 1].handle.offset as usize;
        for tear in last_start + 1..whole.len() {
            std::fs::write(&last, &whole[..tear]).unwrap();
            let (_, rec) = WriteAheadLog::open(cfg(dir.path())).unwrap();
            assert_eq!(rec.records.len(), n - 1, "tear at {tear}");
            let cut = rec.cut.expect("a cut");
            assert_eq!(
                (cut.offset, cut.dropped),
                (last_start as u64, (tear - last_start) as u64)
            );
            assert_eq!(std::fs::metadata(&last).unwrap().len(), last_start as u64);
        }
    }

    #[test]
    fn a_segment_torn_inside_its_header_is_removed_and_the_log_goes_on() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 3);
        let torn = segment_path(dir.path(), 2);
        std::fs::write(&torn, &segment_header(4)[..5]).unwrap();
        let (mut wal, rec) = WriteAheadLog::open(cfg(dir.path())).unwrap();
        assert_eq!(rec.records.len(), 3);
        assert_eq!(rec.cut.map(|c| c.dropped), Some(5));
        assert!(!torn.exists());
        wal.append(3, &payload(3)).unwrap();
        drop(wal);
        let (_, rec) = WriteAheadLog::open(cfg(dir.path())).unwrap();
        assert_eq!(payloads(&rec), (0..4).map(payload).collect::<Vec<_>>());
    }

    fn wal_files(dir: &Path) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn a_garbled_last_record_is_a_torn_tail_but_damage_before_valid_records_is_an_error() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 3);
        let seg = wal_files(dir.path()).pop().unwrap();
        let clean = std::fs::read(&seg).unwrap();
        // Flip the last byte: the last record is garbled, nothing follows it.
        let mut b = clean.clone();
        *b.last_mut().unwrap() ^= 0x40;
        std::fs::write(&seg, &b).unwrap();
        let (_, rec) = WriteAheadLog::open(cfg(dir.path())).unwrap();
        assert_eq!(payloads(&rec), [payload(0), payload(1)]);
        // Flip a byte of the first record: valid records follow, so it is damage.
        let mut b = clean.clone();
        b[SEGMENT_HEADER + HEADER + 2] ^= 0x01;
        std::fs::write(&seg, &b).unwrap();
        let err = WriteAheadLog::open(cfg(dir.path()))
            .err()
            .expect("an error");
        let msg = err.to_string();
        assert!(msg.contains(&seg.display().to_string()), "{msg}");
        assert!(msg.contains(&format!("offset {SEGMENT_HEADER}")), "{msg}");
        assert_eq!(std::fs::read(&seg).unwrap(), b, "nothing is cut on damage");
    }

    #[test]
    fn damage_in_an_earlier_segment_and_a_missing_segment_are_errors() {
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 30);
        let files = wal_files(dir.path());
        assert!(files.len() >= 3);
        let first = std::fs::read(&files[0]).unwrap();
        std::fs::write(&files[0], &first[..first.len() - 3]).unwrap();
        let msg = WriteAheadLog::open(cfg(dir.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("wal-00000000000000000001.log"), "{msg}");
        // Cut short exactly at a record boundary: every record left is intact, but the
        // sequence numbers show what is gone.
        std::fs::write(&files[0], &first).unwrap();
        let (_, rec) = WriteAheadLog::open(cfg(dir.path())).unwrap();
        let last_of_first = rec
            .records
            .iter()
            .rfind(|r| r.handle.segment == 1)
            .unwrap()
            .handle
            .offset;
        std::fs::write(&files[0], &first[..last_of_first as usize]).unwrap();
        let msg = WriteAheadLog::open(cfg(dir.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("wal-00000000000000000002.log"), "{msg}");
        assert!(msg.contains("records are missing"), "{msg}");
        std::fs::write(&files[0], &first).unwrap();
        std::fs::remove_file(&files[1]).unwrap();
        let msg = WriteAheadLog::open(cfg(dir.path()))
            .err()
            .unwrap()
            .to_string();
        assert!(msg.contains("segment 2 is missing"), "{msg}");
    }

    #[test]
    fn clean_removes_only_a_prefix_of_old_segments() {
        let dir = tempfile::tempdir().unwrap();
        let (mut wal, _) = WriteAheadLog::open(cfg(dir.path())).unwrap();
        for i in 0..30 {
            wal.append(i, &payload(i)).unwrap();
        }
        let before = wal.segment_paths().len();
        let removed = wal.clean(15).unwrap();
        assert!(removed > 0 && removed < before);
        drop(wal);
        let (_, rec) = WriteAheadLog::open(cfg(dir.path())).unwrap();
        let times: Vec<u64> = rec.records.iter().map(|r| r.time_ms).collect();
        assert!(times.iter().all(|&t| t >= removed as u64), "{times:?}");
        assert!(times.contains(&15) && times.contains(&29), "{times:?}");
    }

    /// WAL files are untrusted: random bytes as segments never panic, and recovery either
    /// fails with a location or returns only records that were really written.
    #[test]
    fn random_segments_never_panic() {
        let mut seed: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let dir = tempfile::tempdir().unwrap();
        write(dir.path(), 12);
        let files = wal_files(dir.path());
        let originals: Vec<Vec<u8>> = files.iter().map(|f| std::fs::read(f).unwrap()).collect();
        for _ in 0..300 {
            for (f, o) in files.iter().zip(&originals) {
                let mut b = o.clone();
                if next() % 3 == 0 && !b.is_empty() {
                    let i = (next() % b.len() as u64) as usize;
                    b[i] = next() as u8;
                }
                if next() % 4 == 0 {
                    b.truncate((next() % (b.len() as u64 + 1)) as usize);
                }
                std::fs::write(f, &b).unwrap();
            }
            match WriteAheadLog::open(cfg(dir.path())) {
                Ok((_, rec)) => {
                    for r in &rec.records {
                        assert_eq!(r.payload, payload(r.time_ms));
                    }
                }
                Err(WalError::Corrupt { .. }) => {}
                Err(e) => panic!("unexpected {e}"),
            }
        }
    }
}
