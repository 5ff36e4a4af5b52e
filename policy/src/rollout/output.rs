//! The trajectory file: JSON lines, each appended with one write and made durable with
//! fsync before the next, so a killed run leaves at most one partial last line. Opening
//! an existing file cuts such a line off and reports the (task, sample) pairs already
//! done, which the runner then skips.
//!
//! One writer per file: opening takes an exclusive lock on `<file>.lock` (holding the
//! writer's pid) for as long as the `TrajectoryFile` lives, so a second run on the same
//! `--out` fails at once naming the first, instead of interleaving duplicate lines. A file
//! that already holds a (task, sample) twice is refused rather than miscounted.

use std::collections::{BTreeMap, BTreeSet};
use std::fs::{File, OpenOptions, TryLockError};
use std::io::{Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::error::RolloutError;
use super::summary::SummaryRow;
use super::trajectory::Trajectory;

/// An open trajectory file, positioned at its end.
pub struct TrajectoryFile {
    path: PathBuf,
    file: File,
    /// Held (locked) for the life of the writer.
    _lock: File,
}

/// What an existing trajectory file already holds.
#[derive(Debug, Default)]
pub struct Existing {
    /// (task id, sample) pairs with a complete line.
    pub done: BTreeSet<(String, usize)>,
    /// Their summary fields, in file order.
    pub rows: Vec<SummaryRow>,
    /// Bytes of a partial last line that were cut off.
    pub truncated_bytes: u64,
}

#[derive(Deserialize)]
struct Key {
    task_id: String,
    sample: usize,
}

impl TrajectoryFile {
    /// Opens (creating) `path` for appending, repairing a partial last line.
    pub fn open(path: &Path) -> Result<(Self, Existing), RolloutError> {
        let err = |e: std::io::Error| RolloutError::output(path, e);
        if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(err)?;
        }
        let lock = lock_writer(path)?;
        let mut file = OpenOptions::new()
            .read(true)
            .append(true)
            .create(true)
            .open(path)
            .map_err(err)?;
        let mut bytes = Vec::new();
        file.read_to_end(&mut bytes).map_err(err)?;
        let complete = match bytes.iter().rposition(|b| *b == b'\n') {
            Some(last_newline) => last_newline + 1,
            None => 0,
        };
        let mut existing = Existing {
            truncated_bytes: (bytes.len() - complete) as u64,
            ..Existing::default()
        };
        if existing.truncated_bytes > 0 {
            tracing::warn!(
                path = %path.display(),
                bytes = existing.truncated_bytes,
                "cutting off a partial last line (an interrupted write); its episode runs again"
            );
            file.set_len(complete as u64).map_err(err)?;
            file.sync_all().map_err(err)?;
            file.seek(SeekFrom::End(0)).map_err(err)?;
        }
        let text = std::str::from_utf8(&bytes[..complete])
            .map_err(|e| RolloutError::output(path, format!("not UTF-8: {e}")))?;
        let mut first_line: BTreeMap<(String, usize), usize> = BTreeMap::new();
        for (i, line) in text.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let bad = |e: serde_json::Error| {
                RolloutError::output(path, format!("line {} is not a trajectory: {e}", i + 1))
            };
            let key: Key = serde_json::from_str(line).map_err(bad)?;
            let row: SummaryRow = serde_json::from_str(line).map_err(bad)?;
            let pair = (key.task_id, key.sample);
            if let Some(first) = first_line.get(&pair) {
                return Err(RolloutError::output(
                    path,
                    format!(
                        "line {} repeats task {:?} sample {} of line {first}: two runs wrote this file at once; keep one line per (task, sample) before resuming",
                        i + 1,
                        pair.0,
                        pair.1
                    ),
                ));
            }
            first_line.insert(pair.clone(), i + 1);
            existing.done.insert(pair);
            existing.rows.push(row);
        }
        Ok((
            TrajectoryFile {
                path: path.to_owned(),
                file,
                _lock: lock,
            },
            existing,
        ))
    }

    /// Appends one trajectory as a line and waits until it is on disk.
    pub fn append(&mut self, trajectory: &Trajectory) -> Result<(), RolloutError> {
        let mut line = serde_json::to_string(trajectory)
            .map_err(|e| RolloutError::output(&self.path, format!("serialising: {e}")))?;
        line.push('\n');
        self.file
            .write_all(line.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| RolloutError::output(&self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// `<path>.lock`, exclusively locked and holding this process's pid; fails naming the
/// pid of the process that holds it.
fn lock_writer(path: &Path) -> Result<File, RolloutError> {
    let mut name = path.as_os_str().to_owned();
    name.push(".lock");
    let lock_path = PathBuf::from(name);
    let err = |e: std::io::Error| RolloutError::output(&lock_path, e);
    let mut lock = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&lock_path)
        .map_err(err)?;
    match lock.try_lock() {
        Ok(()) => {}
        Err(TryLockError::WouldBlock) => {
            let mut holder = String::new();
            let _ = lock.read_to_string(&mut holder);
            let holder = holder.trim();
            let who = if holder.is_empty() {
                "another process".to_string()
            } else {
                format!("another process (pid {holder})")
            };
            return Err(RolloutError::output(
                path,
                format!(
                    "{who} is writing this file; wait for it to finish or choose another output"
                ),
            ));
        }
        Err(TryLockError::Error(e)) => return Err(err(e)),
    }
    lock.set_len(0).map_err(err)?;
    lock.write_all(format!("{}\n", std::process::id()).as_bytes())
        .map_err(err)?;
    Ok(lock)
}
