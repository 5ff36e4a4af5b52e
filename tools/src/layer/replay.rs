//! Record / replay: a session's tool calls and results in an append-only JSONL log, and
//! strict replay from it with zero index or sandbox work.
//!
//! Crash safety: each record is one `write` of a whole line followed by `fsync`, so a
//! crash can only leave a torn *last* line; loading ignores a final line without its
//! newline (with a warning) and appending first terminates it.

use std::collections::BTreeMap;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, RwLock};

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::delegate_tool_descriptors;
use crate::error::{SetupError, ToolError};
use crate::tool::{CallContext, Tool, ToolOutput};

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum ReplayMode {
    /// Call the tools; no log.
    #[default]
    Live,
    /// Call the tools and append every call and its result to the log.
    Record,
    /// Answer only from the log; a call not in it fails with `ReplayMiss`.
    Replay,
    /// Answer from the log when it has the call, else call the tool (not recorded).
    ReplayOrLive,
}

impl ReplayMode {
    pub fn label(self) -> &'static str {
        match self {
            ReplayMode::Live => "live",
            ReplayMode::Record => "record",
            ReplayMode::Replay => "replay",
            ReplayMode::ReplayOrLive => "replay-or-live",
        }
    }
}

impl std::str::FromStr for ReplayMode {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "live" => Ok(ReplayMode::Live),
            "record" => Ok(ReplayMode::Record),
            "replay" => Ok(ReplayMode::Replay),
            "replay-or-live" => Ok(ReplayMode::ReplayOrLive),
            other => Err(format!(
                "unknown replay mode `{other}` (expected live, record, replay or replay-or-live)"
            )),
        }
    }
}

/// How a recorded call ended.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RecordedOutcome {
    Ok { text: String, data: Value },
    Err(ToolError),
}

/// One line of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
struct LogLine {
    v: u32,
    key: String,
    tool: String,
    args: Value,
    outcome: RecordedOutcome,
}

/// The log of one toolbox, shared by every tool's replay layer.
pub struct Recorder {
    mode: ReplayMode,
    path: PathBuf,
    /// First recording of each key (the same key always produced the same bytes).
    entries: RwLock<BTreeMap<String, RecordedOutcome>>,
    file: Option<Arc<Mutex<File>>>,
}

impl Recorder {
    pub fn open(path: &Path, mode: ReplayMode) -> Result<Self, SetupError> {
        let io_err = |source| SetupError::ReplayLog {
            path: path.display().to_string(),
            source,
        };
        let entries = match mode {
            ReplayMode::Replay | ReplayMode::ReplayOrLive => load(path).map_err(io_err)?,
            _ => BTreeMap::new(),
        };
        let file = if mode == ReplayMode::Record {
            if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
                std::fs::create_dir_all(parent).map_err(io_err)?;
            }
            let mut file = OpenOptions::new()
                .create(true)
                .read(true)
                .append(true)
                .open(path)
                .map_err(io_err)?;
            terminate_torn_line(&mut file).map_err(io_err)?;
            Some(Arc::new(Mutex::new(file)))
        } else {
            None
        };
        Ok(Recorder {
            mode,
            path: path.to_path_buf(),
            entries: RwLock::new(entries),
            file,
        })
    }

    pub fn mode(&self) -> ReplayMode {
        self.mode
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Recordings loaded for replay.
    pub fn len(&self) -> usize {
        self.entries.read().map(|e| e.len()).unwrap_or(0)
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lookup(&self, key: &str) -> Option<RecordedOutcome> {
        self.entries.read().ok()?.get(key).cloned()
    }

    async fn append(&self, line: LogLine) -> Result<(), ToolError> {
        let Some(file) = &self.file else {
            return Ok(());
        };
        let mut bytes = serde_json::to_vec(&line)
            .map_err(|e| ToolError::Internal(format!("cannot serialise a recording: {e}")))?;
        bytes.push(b'\n');
        let file = Arc::clone(file);
        // Runs to completion even if the caller is cancelled: a line is all or nothing.
        tokio::task::spawn_blocking(move || -> std::io::Result<()> {
            let mut file = file.lock().unwrap_or_else(|e| e.into_inner());
            file.write_all(&bytes)?;
            file.sync_data()
        })
        .await
        .map_err(|e| ToolError::Internal(format!("recording task failed: {e}")))?
        .map_err(|e| ToolError::Internal(format!("cannot append to the replay log: {e}")))
    }
}

fn load(path: &Path) -> std::io::Result<BTreeMap<String, RecordedOutcome>> {
    let mut text = String::new();
    File::open(path)?.read_to_string(&mut text)?;
    let mut entries = BTreeMap::new();
    let complete = match text.rfind('\n') {
        Some(end) => &text[..=end],
        None => "",
    };
    if complete.len() < text.len() {
        tracing::warn!(path = %path.display(), "ignoring a torn last line in the replay log");
    }
    for (number, line) in complete.lines().enumerate() {
        if line.trim().is_empty() {
            continue;
        }
        match serde_json::from_str::<LogLine>(line) {
            Ok(record) => {
                entries.entry(record.key).or_insert(record.outcome);
            }
            Err(err) => tracing::warn!(
                path = %path.display(), line = number + 1, error = %err,
                "skipping an unreadable replay log line"
            ),
        }
    }
    Ok(entries)
}

/// After a crash mid-write the file may end without a newline; start on a fresh line.
fn terminate_torn_line(file: &mut File) -> std::io::Result<()> {
    let len = file.metadata()?.len();
    if len == 0 {
        return Ok(());
    }
    let mut text = Vec::new();
    file.read_to_end(&mut text)?;
    if text.last() != Some(&b'\n') {
        file.write_all(b"\n")?;
        file.sync_data()?;
    }
    Ok(())
}

/// Why record logs could not be merged. Nothing is written when any of these occur.
#[derive(Debug, thiserror::Error)]
pub enum MergeError {
    #[error("cannot read the replay log {path}: {source}")]
    Read {
        path: String,
        #[source]
        source: std::io::Error,
    },
    #[error("{path}:{line}: not a replay log line: {reason}")]
    Unreadable {
        path: String,
        line: usize,
        reason: String,
    },
    #[error(
        "call {key} (`{tool}`) was recorded with different results in {first} and {second}: \
         the tool was not deterministic between the recordings, so no merged log can \
         replay both"
    )]
    Conflict {
        key: String,
        tool: String,
        first: String,
        second: String,
    },
    #[error("cannot write the merged log {path}: {source}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// What [`merge`] did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct MergeReport {
    /// Complete lines read, per input in the order given.
    pub lines_read: Vec<usize>,
    /// Torn last lines (a crash mid-append) that were left out.
    pub torn_lines: usize,
    /// Lines that repeated a call already recorded with the same result.
    pub duplicates: usize,
    /// Lines written: one per distinct call.
    pub written: usize,
}

/// Merges record logs (one per replica, say) into one log that `replay` serves from
/// anywhere: one line per distinct call, ordered by call key, so the output is the
/// same bytes whatever the order or interleaving of the inputs. The same call recorded
/// with different results is a [`MergeError::Conflict`]; a line that does not parse is
/// an error naming its file and line (only a torn *last* line is left out, as replay
/// itself does). The output is written to a temporary file and renamed into place.
pub fn merge(inputs: &[PathBuf], output: &Path) -> Result<MergeReport, MergeError> {
    let mut merged: BTreeMap<String, (LogLine, String)> = BTreeMap::new();
    let mut report = MergeReport {
        lines_read: Vec::with_capacity(inputs.len()),
        torn_lines: 0,
        duplicates: 0,
        written: 0,
    };
    for input in inputs {
        let shown = input.display().to_string();
        let text = std::fs::read_to_string(input).map_err(|source| MergeError::Read {
            path: shown.clone(),
            source,
        })?;
        let complete = match text.rfind('\n') {
            Some(end) => &text[..=end],
            None => "",
        };
        if complete.len() < text.len() {
            report.torn_lines += 1;
        }
        let mut read = 0;
        for (number, line) in complete.lines().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            let record: LogLine =
                serde_json::from_str(line).map_err(|e| MergeError::Unreadable {
                    path: shown.clone(),
                    line: number + 1,
                    reason: e.to_string(),
                })?;
            read += 1;
            match merged.get(&record.key) {
                Some((kept, _)) if kept.outcome == record.outcome && kept.tool == record.tool => {
                    report.duplicates += 1;
                }
                Some((kept, from)) => {
                    return Err(MergeError::Conflict {
                        key: record.key.clone(),
                        tool: kept.tool.clone(),
                        first: from.clone(),
                        second: format!("{shown}:{}", number + 1),
                    })
                }
                None => {
                    let from = format!("{shown}:{}", number + 1);
                    merged.insert(record.key.clone(), (record, from));
                }
            }
        }
        report.lines_read.push(read);
    }
    let mut bytes = Vec::new();
    for (line, _) in merged.values() {
        serde_json::to_writer(&mut bytes, line).map_err(|e| MergeError::Write {
            path: output.display().to_string(),
            source: std::io::Error::other(e),
        })?;
        bytes.push(b'\n');
    }
    report.written = merged.len();
    write_atomically(output, &bytes).map_err(|source| MergeError::Write {
        path: output.display().to_string(),
        source,
    })?;
    Ok(report)
}

/// Writes `bytes` to `path` through a synced temporary file beside it and a rename, so
/// a crash leaves either the old file or the whole new one.
fn write_atomically(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let dir = path
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let name = path
        .file_name()
        .ok_or_else(|| std::io::Error::other("the output path names no file"))?;
    let tmp = dir.join(format!(
        ".{}.tmp-{}",
        name.to_string_lossy(),
        std::process::id()
    ));
    let result = (|| {
        let mut file = File::create(&tmp)?;
        file.write_all(bytes)?;
        file.sync_all()?;
        std::fs::rename(&tmp, path)?;
        File::open(dir)?.sync_all()
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result
}

pub(crate) struct ReplayLayer {
    inner: Arc<dyn Tool>,
    recorder: Arc<Recorder>,
}

impl ReplayLayer {
    pub(crate) fn wrap(inner: Arc<dyn Tool>, recorder: Arc<Recorder>) -> Arc<dyn Tool> {
        Arc::new(ReplayLayer { inner, recorder })
    }

    fn replayed(outcome: RecordedOutcome) -> Result<ToolOutput, ToolError> {
        match outcome {
            RecordedOutcome::Ok { text, data } => Ok(ToolOutput {
                text,
                data,
                cached: false,
                replayed: true,
            }),
            RecordedOutcome::Err(err) => Err(err),
        }
    }
}

/// Load shedding depends on the moment, not on the call: never recorded.
fn worth_recording(result: &Result<ToolOutput, ToolError>) -> bool {
    !matches!(
        result,
        Err(ToolError::RateLimited { .. } | ToolError::Saturated { .. })
    )
}

#[async_trait]
impl Tool for ReplayLayer {
    delegate_tool_descriptors!();

    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        match self.recorder.mode {
            ReplayMode::Live => self.inner.call(args, ctx).await,
            ReplayMode::Replay => match self.recorder.lookup(&ctx.key.digest) {
                Some(outcome) => Self::replayed(outcome),
                None => Err(ToolError::ReplayMiss {
                    call: ctx.key.to_string(),
                }),
            },
            ReplayMode::ReplayOrLive => match self.recorder.lookup(&ctx.key.digest) {
                Some(outcome) => Self::replayed(outcome),
                None => self.inner.call(args, ctx).await,
            },
            ReplayMode::Record => {
                let result = self.inner.call(args, ctx).await;
                if worth_recording(&result) {
                    let outcome = match &result {
                        Ok(output) => RecordedOutcome::Ok {
                            text: output.text.clone(),
                            data: output.data.clone(),
                        },
                        Err(err) => RecordedOutcome::Err(err.clone()),
                    };
                    self.recorder
                        .append(LogLine {
                            v: 1,
                            key: ctx.key.digest.clone(),
                            tool: self.inner.name().to_string(),
                            args: args.clone(),
                            outcome,
                        })
                        .await?;
                }
                result
            }
        }
    }
}
