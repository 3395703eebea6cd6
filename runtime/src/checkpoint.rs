//! Checkpoints: the state of every stateful operator after a batch, so a restart resumes
//! it instead of starting empty.
//!
//! A checkpoint is one file, `checkpoint-<batch time>` in the checkpoint directory: the
//! magic `SLUICECK`, a format version byte, a CRC32C (u32 LE) of the body, and the body
//! (postcard): the batch time, the batch interval, and per operator its stable id, its
//! state's Rust type and its encoded state. It is written atomically — a temporary file,
//! fsync, rename, fsync of the directory — once per completed batch, in batch order by the
//! one scheduler thread (SPARK-11267 wrote them out of order); the last [`KEEP`] are kept.
//! Loading takes the newest file that is whole; a damaged one is reported and skipped.

use crate::dstream::Stateful;
use crate::time::BatchTime;
use serde::{Deserialize, Serialize};
use std::io::Write;
use std::path::{Path, PathBuf};
use std::sync::Arc;

const MAGIC: &[u8; 8] = b"SLUICECK";
const VERSION: u8 = 1;
/// How many checkpoints stay on disk.
pub const KEEP: usize = 3;

/// One operator's state in a checkpoint.
#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct OperatorState {
    /// `updateStateByKey#0`: the operator and its rank among stateful operators.
    pub id: String,
    pub state_type: String,
    /// The batch the state is after (an operator may not run every batch).
    pub time: u64,
    pub bytes: Vec<u8>,
}

#[derive(Serialize, Deserialize, Clone, Debug, PartialEq)]
pub struct Checkpoint {
    /// The batch after which the checkpoint was taken.
    pub time: u64,
    pub batch_ms: u64,
    pub operators: Vec<OperatorState>,
}

#[derive(Debug, thiserror::Error)]
pub enum CheckpointError {
    #[error("checkpoint {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> CheckpointError + '_ {
    move |source| CheckpointError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn file_name(time: u64) -> String {
    format!("checkpoint-{time:020}")
}

/// The batch time a checkpoint file is named after, if `name` is one.
pub(crate) fn time_of(name: &str) -> Option<u64> {
    let digits = name.strip_prefix("checkpoint-")?;
    (digits.len() == 20).then(|| digits.parse().ok()).flatten()
}

/// Writes `bytes` as `path` so that a reader (or a crash) sees the old file or the whole
/// new one: a temporary file beside it, fsync, rename, fsync of the directory.
pub(crate) fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.tmp"));
    {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(bytes)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    std::fs::File::open(dir).and_then(|d| d.sync_all())
}

/// Writes `cp` into `dir` atomically and deletes all but the newest [`KEEP`] checkpoints.
pub fn write(dir: &Path, cp: &Checkpoint) -> Result<PathBuf, CheckpointError> {
    std::fs::create_dir_all(dir).map_err(io(dir))?;
    let body = postcard::to_allocvec(cp).expect("checkpoints always serialize");
    let mut bytes = Vec::with_capacity(body.len() + 13);
    bytes.extend_from_slice(MAGIC);
    bytes.push(VERSION);
    bytes.extend_from_slice(&crc32c::crc32c(&body).to_le_bytes());
    bytes.extend_from_slice(&body);
    let path = dir.join(file_name(cp.time));
    write_atomically(&path, &bytes).map_err(io(&path))?;
    let times = times(dir)?;
    for old in times.iter().rev().skip(KEEP) {
        let p = dir.join(file_name(*old));
        std::fs::remove_file(&p).map_err(io(&p))?;
    }
    Ok(path)
}

/// The checkpoint times in `dir`, oldest first.
fn times(dir: &Path) -> Result<Vec<u64>, CheckpointError> {
    let mut times = Vec::new();
    match std::fs::read_dir(dir) {
        Ok(entries) => {
            for e in entries {
                let e = e.map_err(io(dir))?;
                if let Some(t) = time_of(&e.file_name().to_string_lossy()) {
                    times.push(t);
                }
            }
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io(dir)(e)),
    }
    times.sort_unstable();
    Ok(times)
}

fn decode(bytes: &[u8]) -> Result<Checkpoint, String> {
    let rest = bytes.strip_prefix(MAGIC).ok_or("not a Sluice checkpoint")?;
    let (&version, rest) = rest.split_first().ok_or("cut short")?;
    if version != VERSION {
        return Err(format!(
            "format version {version}, this build reads {VERSION}"
        ));
    }
    if rest.len() < 4 {
        return Err("cut short".into());
    }
    let (crc, body) = rest.split_at(4);
    if crc32c::crc32c(body).to_le_bytes() != crc {
        return Err("fails its checksum".into());
    }
    postcard::from_bytes(body).map_err(|e| e.to_string())
}

/// The state of `ops` after batch `time`.
pub(crate) fn take(time: u64, batch_ms: u64, ops: &[(String, Arc<dyn Stateful>)]) -> Checkpoint {
    let operators = ops
        .iter()
        .map(|(id, node)| {
            let (time, bytes) = node
                .snapshot()
                .map_or((0, Vec::new()), |(time, bytes)| (time.0, bytes));
            OperatorState {
                id: id.clone(),
                state_type: node.state_type(),
                time,
                bytes,
            }
        })
        .collect();
    Checkpoint {
        time,
        batch_ms,
        operators,
    }
}

/// Gives each of `ops` its state from `cp`, spread over `partitions` partitions.
pub(crate) fn restore(
    cp: &Checkpoint,
    ops: &[(String, Arc<dyn Stateful>)],
    partitions: usize,
) -> Result<(), String> {
    for (id, node) in ops {
        let saved = cp
            .operators
            .iter()
            .find(|o| o.id == *id)
            .ok_or_else(|| format!("no state for `{id}`"))?;
        if saved.state_type != node.state_type() {
            return Err(format!(
                "`{id}` kept {}, the pipeline keeps {}",
                saved.state_type,
                node.state_type()
            ));
        }
        if !saved.bytes.is_empty() {
            node.restore(BatchTime(saved.time), &saved.bytes, partitions)
                .map_err(|e| format!("`{id}`: {e}"))?;
        }
    }
    Ok(())
}

/// The checkpoint of batch `time` in `dir`.
pub fn at(dir: &Path, time: u64) -> Result<Checkpoint, String> {
    let path = dir.join(file_name(time));
    let bytes = std::fs::read(&path).map_err(|e| format!("{}: {e}", path.display()))?;
    decode(&bytes).map_err(|why| format!("{}: {why}", path.display()))
}

/// What [`latest`] found: the checkpoint and its path, and what it skipped.
pub type Latest = (Option<(PathBuf, Checkpoint)>, Vec<String>);

/// The newest whole checkpoint in `dir`, with a message for each newer one that was
/// damaged and skipped.
pub fn latest(dir: &Path) -> Result<Latest, CheckpointError> {
    let mut skipped = Vec::new();
    for t in times(dir)?.into_iter().rev() {
        let path = dir.join(file_name(t));
        let bytes = std::fs::read(&path).map_err(io(&path))?;
        match decode(&bytes) {
            Ok(cp) => return Ok((Some((path, cp)), skipped)),
            Err(why) => skipped.push(format!("skipped {}: {why}", path.display())),
        }
    }
    Ok((None, skipped))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cp(time: u64) -> Checkpoint {
        Checkpoint {
            time,
            batch_ms: 1_000,
            operators: vec![OperatorState {
                id: "updateStateByKey#0".into(),
                state_type: "(String, i64)".into(),
                time,
                bytes: vec![1, 2, 3, time as u8],
            }],
        }
    }

    #[test]
    fn the_newest_whole_checkpoint_wins_and_only_the_last_few_are_kept() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(latest(dir.path()).unwrap().0, None);
        for t in [1_000, 2_000, 3_000, 4_000, 5_000] {
            write(dir.path(), &cp(t)).unwrap();
        }
        assert_eq!(times(dir.path()).unwrap(), [3_000, 4_000, 5_000]);
        let (found, skipped) = latest(dir.path()).unwrap();
        assert_eq!(found.unwrap().1, cp(5_000));
        assert!(skipped.is_empty());

        // A flipped byte in the newest: reported, and the one before is used.
        let newest = dir.path().join(file_name(5_000));
        let mut bytes = std::fs::read(&newest).unwrap();
        let last = bytes.len() - 1;
        bytes[last] ^= 0x10;
        std::fs::write(&newest, &bytes).unwrap();
        let (found, skipped) = latest(dir.path()).unwrap();
        assert_eq!(found.unwrap().1, cp(4_000));
        assert_eq!(skipped.len(), 1);
        assert!(skipped[0].contains("checksum"), "{skipped:?}");
    }
}
