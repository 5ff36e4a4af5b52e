//! The trajectory file: JSON lines, appended a GRPO group at a time (all samples of a
//! task, one write, then fsync), so a killed run leaves at most one group partly written,
//! at the end of the file. Opening an existing file cuts off a partial last line and then
//! the lines of an incomplete last group, and reports the (task, sample) pairs already
//! done, which the runner then skips.
//!
//! Groups are whole or absent because every line carries its group's advantage, computed
//! from the rewards of all its samples: rerunning only the missing samples of a group
//! could give them other rewards (a sampling server is not deterministic) and leave the
//! written advantages wrong. So the rule is: a group is written only once all its samples
//! are finished; an incomplete group at the end of the file (a crash while writing it,
//! or a file from before groups were written whole) is cut off and run again whole; an
//! incomplete group anywhere else, or one whose lines record another `group_size`, means
//! the file was written with another `--samples`, and is refused (growing a group would
//! leave the advantages already written stale).
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
    /// (task id, sample) pairs with a complete line in a complete group.
    pub done: BTreeSet<(String, usize)>,
    /// Their summary fields, in file order.
    pub rows: Vec<SummaryRow>,
    /// Bytes of a partial last line that were cut off.
    pub truncated_bytes: u64,
    /// Complete lines of an incomplete last group that were cut off (run again whole).
    pub cut_lines: usize,
}

#[derive(Deserialize)]
struct Key {
    task_id: String,
    sample: usize,
    /// Absent in files written before lines carried it.
    #[serde(default)]
    group_size: Option<usize>,
}

/// One complete line of an existing file.
struct Line {
    key: Key,
    row: SummaryRow,
    /// Byte offset where the line starts.
    start: usize,
    /// 1-based line number in the file.
    number: usize,
}

impl TrajectoryFile {
    /// Opens (creating) `path` for appending groups of `samples` samples, repairing a
    /// partial last line and cutting off an incomplete last group (see the module doc).
    pub fn open(path: &Path, samples: usize) -> Result<(Self, Existing), RolloutError> {
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
                "cutting off a partial last line (an interrupted write); its group runs again"
            );
        }
        let text = std::str::from_utf8(&bytes[..complete])
            .map_err(|e| RolloutError::output(path, format!("not UTF-8: {e}")))?;
        let mut lines = read_lines(path, text)?;
        let keep = complete_groups(path, &lines, samples)?;
        if keep < lines.len() {
            existing.cut_lines = lines.len() - keep;
            tracing::warn!(
                path = %path.display(),
                task = %lines[keep].key.task_id,
                lines = existing.cut_lines,
                "cutting off the incomplete last group (an interrupted run); it runs again whole"
            );
        }
        let end = lines.get(keep).map_or(complete, |l| l.start);
        if end < bytes.len() {
            file.set_len(end as u64).map_err(err)?;
            file.sync_all().map_err(err)?;
            file.seek(SeekFrom::End(0)).map_err(err)?;
        }
        lines.truncate(keep);
        for line in lines {
            existing.done.insert((line.key.task_id, line.key.sample));
            existing.rows.push(line.row);
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

    /// Appends the lines of one group with one write and waits until they are on disk.
    pub fn append_group(&mut self, group: &[Trajectory]) -> Result<(), RolloutError> {
        let mut text = String::new();
        for trajectory in group {
            text.push_str(
                &serde_json::to_string(trajectory)
                    .map_err(|e| RolloutError::output(&self.path, format!("serialising: {e}")))?,
            );
            text.push('\n');
        }
        self.file
            .write_all(text.as_bytes())
            .and_then(|()| self.file.sync_data())
            .map_err(|e| RolloutError::output(&self.path, e))
    }

    pub fn path(&self) -> &Path {
        &self.path
    }
}

/// The complete lines of `text` with their keys and summary fields; a line that is not a
/// trajectory, or a (task, sample) written twice, is an error naming the line.
fn read_lines(path: &Path, text: &str) -> Result<Vec<Line>, RolloutError> {
    let mut lines = Vec::new();
    let mut first_line: BTreeMap<(String, usize), usize> = BTreeMap::new();
    let mut start = 0;
    for (i, line) in text.split_inclusive('\n').enumerate() {
        let line_start = start;
        start += line.len();
        if line.trim().is_empty() {
            continue;
        }
        let bad = |e: serde_json::Error| {
            RolloutError::output(path, format!("line {} is not a trajectory: {e}", i + 1))
        };
        let key: Key = serde_json::from_str(line).map_err(bad)?;
        let row: SummaryRow = serde_json::from_str(line).map_err(bad)?;
        let pair = (key.task_id.clone(), key.sample);
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
        first_line.insert(pair, i + 1);
        lines.push(Line {
            key,
            row,
            start: line_start,
            number: i + 1,
        });
    }
    Ok(lines)
}

/// How many leading lines to keep: all of them, or all but an incomplete group at the end.
/// A group is complete when it holds samples `0..samples`; an incomplete one elsewhere, or
/// one written with another group size, is an error.
fn complete_groups(path: &Path, lines: &[Line], samples: usize) -> Result<usize, RolloutError> {
    let mut by_task: BTreeMap<&str, BTreeSet<usize>> = BTreeMap::new();
    for line in lines {
        by_task
            .entry(line.key.task_id.as_str())
            .or_default()
            .insert(line.key.sample);
    }
    let complete = |task: &str| {
        by_task
            .get(task)
            .is_some_and(|s| (0..samples).all(|i| s.contains(&i)))
    };
    // The last group: the run of lines at the end with the last line's task.
    let tail_start = match lines.last() {
        Some(last) => lines
            .iter()
            .rposition(|l| l.key.task_id != last.key.task_id)
            .map_or(0, |i| i + 1),
        None => 0,
    };
    for (i, line) in lines.iter().enumerate() {
        let task = line.key.task_id.as_str();
        let number = line.number;
        if complete(task) {
            continue;
        }
        // Written by a run with another group size: not ours to cut.
        if let Some(n) = line.key.group_size.filter(|&n| n != samples) {
            return Err(RolloutError::output(
                path,
                format!(
                    "line {number} holds task {task:?} from a run with --samples {n}, this run has --samples {samples}: resume with --samples {n}, or write to another file"
                ),
            ));
        }
        if i < tail_start {
            let have = by_task.get(task).map_or(0, BTreeSet::len);
            return Err(RolloutError::output(
                path,
                format!(
                    "task {task:?} (line {number}) has {have} of {samples} samples and is not the last group: the file was written with another --samples; resume with that, or write to another file"
                ),
            ));
        }
    }
    match lines.last() {
        Some(last) if !complete(&last.key.task_id) => Ok(tail_start),
        _ => Ok(lines.len()),
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
