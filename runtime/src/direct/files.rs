//! `textFileStream` as a direct source: the files moved into a directory, read once each.
//!
//! Every file the source has seen gets the next number in a catalog, in the order the
//! listings found them (sorted by name within one listing); a batch reads a range of
//! catalog numbers, one "partition" (0), like Kafka offsets. With a checkpoint directory
//! the catalog is a write-ahead log of file names, appended and synced before the batch
//! that reads them is logged, and never cleaned (a name per file): a restart knows every
//! file taken, reads a failed batch's files again, and takes each new file once.

use super::{BoxFuture, DirectSource, OffsetRange, Offsets};
use crate::receiver::BoxError;
use crate::wal::{FsyncPolicy, WalConfig, WriteAheadLog};
use std::collections::HashSet;
use std::os::unix::ffi::{OsStrExt, OsStringExt};
use std::path::PathBuf;
use std::sync::Mutex;

#[derive(Default)]
struct Catalog {
    /// The file with number `i` is `files[i]`.
    files: Vec<PathBuf>,
    seen: HashSet<PathBuf>,
    log: Option<WriteAheadLog>,
    opened: bool,
}

/// The files that appear in `dir`, as a [`DirectSource`].
pub struct FileSource {
    dir: PathBuf,
    /// Where the catalog's log lives, with a checkpoint directory.
    catalog_dir: Option<PathBuf>,
    catalog: Mutex<Catalog>,
}

impl FileSource {
    pub fn new(dir: PathBuf, catalog_dir: Option<PathBuf>) -> Self {
        FileSource {
            dir,
            catalog_dir,
            catalog: Mutex::default(),
        }
    }

    /// The catalog, its log replayed on first use.
    fn catalog(&self) -> Result<std::sync::MutexGuard<'_, Catalog>, BoxError> {
        let mut c = self.catalog.lock().unwrap_or_else(|e| e.into_inner());
        if !c.opened {
            if let Some(dir) = &self.catalog_dir {
                let (log, recovered) = WriteAheadLog::open(WalConfig {
                    fsync: FsyncPolicy::Batch,
                    ..WalConfig::new(dir)
                })?;
                for r in recovered.records {
                    let path = PathBuf::from(std::ffi::OsString::from_vec(r.payload));
                    c.seen.insert(path.clone());
                    c.files.push(path);
                }
                c.log = Some(log);
            }
            c.opened = true;
        }
        Ok(c)
    }

    /// Lists the directory and numbers the files not seen before (hidden ones, starting
    /// with `.` or `_`, are ignored: a writer renames a file into place when complete).
    /// Returns the number after the last file.
    fn refresh(&self) -> Result<i64, BoxError> {
        let mut c = self.catalog()?;
        let mut new: Vec<PathBuf> = match std::fs::read_dir(&self.dir) {
            Ok(entries) => entries
                .filter_map(|e| e.ok())
                .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
                .filter(|e| {
                    let name = e.file_name();
                    let bytes = name.as_bytes();
                    !bytes.starts_with(b".") && !bytes.starts_with(b"_")
                })
                .map(|e| e.path())
                .filter(|p| !c.seen.contains(p))
                .collect(),
            // A directory not created yet has no files.
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Vec::new(),
            Err(e) => return Err(format!("listing {}: {e}", self.dir.display()).into()),
        };
        new.sort();
        if let (Some(log), false) = (c.log.as_mut(), new.is_empty()) {
            let now = std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64);
            for f in &new {
                log.append(now, f.as_os_str().as_bytes())?;
            }
            log.sync()?;
        }
        for f in new {
            c.seen.insert(f.clone());
            c.files.push(f);
        }
        Ok(c.files.len() as i64)
    }
}

impl DirectSource for FileSource {
    fn name(&self) -> String {
        format!("textFileStream {}", self.dir.display())
    }

    fn start_offsets(&self) -> BoxFuture<'_, Result<Offsets, BoxError>> {
        // The first batch takes the files already there.
        Box::pin(async { Ok([(0, 0)].into()) })
    }

    fn end_offsets(&self) -> BoxFuture<'_, Result<Offsets, BoxError>> {
        Box::pin(async move { Ok([(0, self.refresh()?)].into()) })
    }

    fn fetch(&self, range: OffsetRange) -> BoxFuture<'_, Result<Vec<Vec<u8>>, BoxError>> {
        Box::pin(async move {
            let files: Vec<PathBuf> = {
                let c = self.catalog()?;
                let (from, until) = (range.from as usize, range.until as usize);
                c.files.get(from..until).map(<[_]>::to_vec).ok_or_else(|| {
                    format!(
                        "the batch reads files {from}..{until} of {}, which knows {}",
                        self.dir.display(),
                        c.files.len()
                    )
                })?
            };
            let mut values = Vec::with_capacity(files.len());
            for f in files {
                // A file that vanished before it was read gives no records. Bytes that are
                // not UTF-8 become U+FFFD, as Spark's Hadoop `Text` decoding does.
                let bytes = std::fs::read(&f).unwrap_or_default();
                values.push(String::from_utf8_lossy(&bytes).into_owned().into_bytes());
            }
            Ok(values)
        })
    }
}
