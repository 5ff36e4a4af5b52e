//! Curating a task pool with the policy's own rollouts (`simweb tasks curate`), and the
//! cold-start SFT set by rejection sampling.
//!
//! A task's rollout group (its `--samples N` trajectories) gives its pass rate: the share
//! of samples that *solve* it, i.e. whose metric (exact match, F1 or the judge's verdict)
//! reaches the threshold. GRPO learns only from groups with mixed outcomes: a task every
//! sample solves, or none does, has zero advantages everywhere ([`group`](super::group))
//! and costs a rollout for nothing. Curation therefore keeps exactly the tasks with
//! `0 < pass rate < 1`, and counts apart the all-solved, the none-solved and the tasks
//! without trajectories. Kept tasks are written as their original lines (every field,
//! in its order, byte for byte) with `pass_rate` and `samples` appended, so the pool can
//! be any task file: synthesized, a benchmark, a user's own.
//!
//! The SFT set is the correct trajectories (rejection sampling), filtered to those with at
//! least `min_tool_calls` tool calls and at most `max_tokens` generated tokens, the first
//! by sample index per task or all of them. Each becomes an OpenAI-style chat line whose
//! messages carry `loss`: true exactly on the assistant turns, the model's own words; the
//! system prompt, the question and the tool responses are context. ReAct trajectories
//! are one example each (the whole conversation; when the forced-answer prompt left turns
//! out, `messages` still has them all). IterResearch trajectories are one example per
//! round (system prompt, that round's workspace, the reply), since each round is a call
//! of its own. Research-synthesis is not exported (its branches may be wrong even when
//! the synthesis is right); such trajectories are counted in the report.
//!
//! Everything is deterministic: outputs follow the task file's order (curated tasks) or
//! the trajectory file's (SFT), maps are sorted, and no clock is read.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::io::{BufRead, BufReader, BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;
use simweb_tools::react::Role;

use super::agent::Paradigm;
use super::error::RolloutError;
use super::task::TaskLine;
use super::trajectory::{Rewards, Trajectory};

/// Pass-rate histogram bins (tenths).
pub const HISTOGRAM_BINS: usize = 10;

/// What decides whether a sample solved its task.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// `rewards.exact_match`.
    Em,
    /// `rewards.f1`.
    F1,
    /// The LLM judge's verdict: 1 when it said correct, else 0.
    Judge,
}

impl std::str::FromStr for Metric {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "em" | "exact_match" => Ok(Metric::Em),
            "f1" => Ok(Metric::F1),
            "judge" => Ok(Metric::Judge),
            other => Err(format!("unknown metric {other:?} (em, f1, judge)")),
        }
    }
}

impl Metric {
    pub fn as_str(self) -> &'static str {
        match self {
            Metric::Em => "em",
            Metric::F1 => "f1",
            Metric::Judge => "judge",
        }
    }

    /// The sample's score; `None` for `judge` when the rollout ran without a judge.
    pub fn score(self, rewards: &Rewards) -> Option<f64> {
        match self {
            Metric::Em => Some(rewards.exact_match),
            Metric::F1 => Some(rewards.f1),
            Metric::Judge => {
                rewards
                    .judge
                    .as_ref()
                    .map(|j| if j.correct == Some(true) { 1.0 } else { 0.0 })
            }
        }
    }
}

/// How many correct trajectories of one task go into the SFT set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PerTask {
    /// The first (by sample index) that passes the filters.
    One,
    /// Every one that passes the filters.
    All,
}

impl std::str::FromStr for PerTask {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "one" => Ok(PerTask::One),
            "all" => Ok(PerTask::All),
            other => Err(format!("unknown --sft-per-task {other:?} (one, all)")),
        }
    }
}

/// The SFT filters.
#[derive(Debug, Clone, PartialEq)]
pub struct SftOptions {
    /// Keep trajectories with at least this many tool calls (a cold-start set should
    /// show the model researching, not answering from memory).
    pub min_tool_calls: usize,
    /// Keep trajectories that generated at most this many tokens (branches included).
    pub max_tokens: Option<usize>,
    pub per_task: PerTask,
}

impl Default for SftOptions {
    fn default() -> Self {
        SftOptions {
            min_tool_calls: 0,
            max_tokens: None,
            per_task: PerTask::One,
        }
    }
}

#[derive(Debug, Clone, PartialEq)]
pub struct CurateOptions {
    pub metric: Metric,
    /// A sample solves its task when its score is at least this.
    pub threshold: f64,
    /// Select the SFT set too (written by [`Curation::write_sft`]).
    pub sft: Option<SftOptions>,
}

impl Default for CurateOptions {
    fn default() -> Self {
        CurateOptions {
            metric: Metric::Em,
            threshold: 1.0,
            sft: None,
        }
    }
}

/// One bin of the pass-rate histogram: tasks with `from <= pass rate < to` (the last bin
/// includes 1).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Bin {
    pub from: f64,
    pub to: f64,
    pub tasks: usize,
}

/// Counts over a set of tasks (all of them, or those of one `level` or `lang`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Counts {
    pub tasks: usize,
    pub with_trajectories: usize,
    pub without_trajectories: usize,
    /// Every sample solved the task (dropped).
    pub all_solved: usize,
    /// No sample solved the task (dropped).
    pub none_solved: usize,
    /// Mixed outcomes (kept).
    pub kept: usize,
    /// Mean pass rate over the tasks with trajectories.
    pub mean_pass_rate: f64,
    pub histogram: Vec<Bin>,
}

impl Default for Counts {
    fn default() -> Self {
        Counts {
            tasks: 0,
            with_trajectories: 0,
            without_trajectories: 0,
            all_solved: 0,
            none_solved: 0,
            kept: 0,
            mean_pass_rate: 0.0,
            histogram: (0..HISTOGRAM_BINS)
                .map(|i| Bin {
                    from: i as f64 / HISTOGRAM_BINS as f64,
                    to: (i + 1) as f64 / HISTOGRAM_BINS as f64,
                    tasks: 0,
                })
                .collect(),
        }
    }
}

impl Counts {
    /// Adds a task: `None` without trajectories, else (solved, samples).
    fn add(&mut self, outcome: Option<(usize, usize)>) {
        self.tasks += 1;
        let Some((solved, samples)) = outcome else {
            self.without_trajectories += 1;
            return;
        };
        let n = self.with_trajectories as f64;
        self.with_trajectories += 1;
        let rate = solved as f64 / samples as f64;
        // A running mean, so the counts need no second pass.
        self.mean_pass_rate = (self.mean_pass_rate * n + rate) / (n + 1.0);
        // Integer arithmetic, so 3/10 lands in bin 3 whatever floats would say.
        let bin = (solved * HISTOGRAM_BINS / samples).min(HISTOGRAM_BINS - 1);
        self.histogram[bin].tasks += 1;
        if solved == samples {
            self.all_solved += 1;
        } else if solved == 0 {
            self.none_solved += 1;
        } else {
            self.kept += 1;
        }
    }
}

/// What the SFT selection kept and why the rest was left out.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SftReport {
    /// Correct trajectories of listed tasks (the candidates).
    pub correct: usize,
    pub fewer_tool_calls: usize,
    pub too_many_tokens: usize,
    /// Research-synthesis trajectories (not exported).
    pub unsupported_paradigm: usize,
    /// Passed the filters, but the task already had its one (`--sft-per-task one`).
    pub beyond_one_per_task: usize,
    /// Trajectories selected.
    pub trajectories: usize,
    /// Tasks with at least one selected trajectory.
    pub tasks: usize,
    /// Lines written (IterResearch gives one per round); 0 until written.
    pub examples: usize,
}

/// The report of a curation (written as JSON, printed as a table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CurateReport {
    pub metric: Metric,
    pub threshold: f64,
    /// Trajectory lines read.
    pub trajectories: usize,
    /// Of those, lines of tasks the task file does not list (ignored).
    pub unknown_task_trajectories: usize,
    #[serde(flatten)]
    pub counts: Counts,
    /// The same counts per task `level`, when task lines carry one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_level: BTreeMap<String, Counts>,
    /// The same counts per task `lang`, when task lines carry one.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub by_lang: BTreeMap<String, Counts>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sft: Option<SftReport>,
}

/// What a trajectory line contributes before any output is written.
struct Sample {
    sample: usize,
    solved: bool,
    tool_calls: usize,
    completion_tokens: usize,
    paradigm: Paradigm,
}

/// A curation, ready to write.
#[derive(Debug)]
pub struct Curation {
    pub report: CurateReport,
    /// The kept tasks' lines, in task file order.
    kept: Vec<String>,
    /// (task id, sample) of the SFT trajectories.
    sft: BTreeSet<(String, usize)>,
}

/// Reads the trajectories of `tasks` and decides what to keep. Errors name the file and
/// the line.
pub fn curate(
    tasks: &[TaskLine],
    trajectories: &Path,
    options: &CurateOptions,
) -> Result<Curation, RolloutError> {
    let listed: BTreeSet<&str> = tasks.iter().map(|t| t.task.id.as_str()).collect();
    let mut groups: BTreeMap<String, Vec<Sample>> = BTreeMap::new();
    let mut read = 0;
    let mut unknown = 0;
    for_each_trajectory(trajectories, |line, t| {
        read += 1;
        if !listed.contains(t.task_id.as_str()) {
            unknown += 1;
            return Ok(());
        }
        let score = options.metric.score(&t.rewards).ok_or_else(|| {
            format!(
                "task {:?} sample {} has no judge verdict: roll out with --judge-openai or --judge-self, or curate with --metric em|f1",
                t.task_id, t.sample
            )
        })?;
        let group = groups.entry(t.task_id.clone()).or_default();
        if group.iter().any(|s| s.sample == t.sample) {
            return Err(format!(
                "task {:?} sample {} appears twice (again on line {line})",
                t.task_id, t.sample
            ));
        }
        group.push(Sample {
            sample: t.sample,
            solved: score >= options.threshold,
            tool_calls: t.num_tool_calls,
            completion_tokens: t.completion_tokens(),
            paradigm: t.paradigm,
        });
        Ok(())
    })?;

    let mut counts = Counts::default();
    let mut by_level: BTreeMap<String, Counts> = BTreeMap::new();
    let mut by_lang: BTreeMap<String, Counts> = BTreeMap::new();
    let mut kept = Vec::new();
    let mut sft = BTreeSet::new();
    let mut sft_report = options.sft.as_ref().map(|_| SftReport::default());
    for task in tasks {
        let group = groups.get_mut(&task.task.id);
        let outcome = group.as_ref().map(|g| {
            let solved = g.iter().filter(|s| s.solved).count();
            (solved, g.len())
        });
        counts.add(outcome);
        for (key, map) in [("level", &mut by_level), ("lang", &mut by_lang)] {
            if let Some(value) = task.fields.get(key).filter(|v| !v.is_null()) {
                map.entry(label(value)).or_default().add(outcome);
            }
        }
        if let Some((solved, samples)) = outcome.filter(|(s, n)| *s > 0 && s < n) {
            kept.push(annotated_line(
                task,
                solved as f64 / samples as f64,
                samples,
            ));
        }
        if let (Some(filters), Some(report), Some(group)) =
            (&options.sft, sft_report.as_mut(), group)
        {
            group.sort_by_key(|s| s.sample);
            let before = report.trajectories;
            for s in group.iter().filter(|s| s.solved) {
                report.correct += 1;
                if s.paradigm == Paradigm::Synthesis {
                    report.unsupported_paradigm += 1;
                } else if s.tool_calls < filters.min_tool_calls {
                    report.fewer_tool_calls += 1;
                } else if filters.max_tokens.is_some_and(|n| s.completion_tokens > n) {
                    report.too_many_tokens += 1;
                } else if filters.per_task == PerTask::One && report.trajectories > before {
                    report.beyond_one_per_task += 1;
                } else {
                    report.trajectories += 1;
                    sft.insert((task.task.id.clone(), s.sample));
                }
            }
            if report.trajectories > before {
                report.tasks += 1;
            }
        }
    }
    Ok(Curation {
        report: CurateReport {
            metric: options.metric,
            threshold: options.threshold,
            trajectories: read,
            unknown_task_trajectories: unknown,
            counts,
            by_level,
            by_lang,
            sft: sft_report,
        },
        kept,
        sft,
    })
}

/// A `level` or `lang` value as a report key: strings as they are, anything else as JSON.
fn label(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// The task's original line with `pass_rate` and `samples` appended. Appending to the
/// text keeps every field, its order and its formatting; a line that already has either
/// key (a curated file curated again) is rewritten from its fields instead.
fn annotated_line(task: &TaskLine, pass_rate: f64, samples: usize) -> String {
    let rate = Value::from(pass_rate);
    if task.fields.contains_key("pass_rate") || task.fields.contains_key("samples") {
        let mut fields = task.fields.clone();
        fields.insert("pass_rate".into(), rate);
        fields.insert("samples".into(), Value::from(samples));
        return Value::Object(fields).to_string();
    }
    // A JSON object's text ends with its closing brace, and a task has fields.
    let body = task.text.strip_suffix('}').unwrap_or(&task.text);
    format!("{body},\"pass_rate\":{rate},\"samples\":{samples}}}")
}

/// Calls `f(line number, trajectory)` for every line of the file; a line that is not a
/// trajectory, or an error `f` returns, becomes an error naming the file and line.
fn for_each_trajectory(
    path: &Path,
    mut f: impl FnMut(usize, Trajectory) -> Result<(), String>,
) -> Result<(), RolloutError> {
    let err = |line: usize, reason: String| RolloutError::Trajectories {
        path: path.to_owned(),
        line,
        reason,
    };
    let file = std::fs::File::open(path).map_err(|e| err(0, e.to_string()))?;
    for (index, line) in BufReader::new(file).lines().enumerate() {
        let number = index + 1;
        let line = line.map_err(|e| err(number, e.to_string()))?;
        if line.trim().is_empty() {
            continue;
        }
        let trajectory: Trajectory = serde_json::from_str(&line)
            .map_err(|e| err(number, format!("not a trajectory: {e}")))?;
        f(number, trajectory).map_err(|reason| err(number, reason))?;
    }
    Ok(())
}

/// One message of an SFT example.
#[derive(Debug, Serialize)]
struct SftMessage<'a> {
    role: &'static str,
    content: &'a str,
    /// True exactly on the model's own turns.
    loss: bool,
}

/// One line of the SFT file.
#[derive(Debug, Serialize)]
struct SftExample<'a> {
    messages: Vec<SftMessage<'a>>,
    task_id: &'a str,
    sample: usize,
    /// IterResearch: the round (0-based) this example is.
    #[serde(skip_serializing_if = "Option::is_none")]
    round: Option<usize>,
}

fn sft_message(m: &simweb_tools::react::Message) -> SftMessage<'_> {
    let (role, loss) = match m.role {
        Role::System => ("system", false),
        Role::User => ("user", false),
        Role::Assistant => ("assistant", true),
    };
    SftMessage {
        role,
        content: &m.content,
        loss,
    }
}

/// The SFT examples of one trajectory (see the module doc).
fn sft_examples(t: &Trajectory) -> Vec<SftExample<'_>> {
    let messages = &t.episode.messages;
    match t.paradigm {
        Paradigm::React => vec![SftExample {
            messages: messages.iter().map(sft_message).collect(),
            task_id: &t.task_id,
            sample: t.sample,
            round: None,
        }],
        Paradigm::IterResearch => {
            let Some((system, rounds)) = messages.split_first() else {
                return Vec::new();
            };
            rounds
                .chunks_exact(2)
                .enumerate()
                .map(|(round, pair)| SftExample {
                    messages: std::iter::once(system)
                        .chain(pair)
                        .map(sft_message)
                        .collect(),
                    task_id: &t.task_id,
                    sample: t.sample,
                    round: Some(round),
                })
                .collect()
        }
        Paradigm::Synthesis => Vec::new(),
    }
}

impl Curation {
    /// The kept tasks' lines.
    pub fn kept_lines(&self) -> &[String] {
        &self.kept
    }

    /// Writes the kept tasks, one line each, in task file order.
    pub fn write_tasks(&self, out: &Path) -> Result<(), RolloutError> {
        let text: String = self.kept.iter().map(|l| format!("{l}\n")).collect();
        write_atomically(out, |w| w.write_all(text.as_bytes()))
    }

    /// Writes the report as pretty JSON.
    pub fn write_report(&self, out: &Path) -> Result<(), RolloutError> {
        let json = serde_json::to_string_pretty(&self.report).map_err(|e| write_error(out, e))?;
        write_atomically(out, |w| writeln!(w, "{json}"))
    }

    /// Reads `trajectories` again and writes the selected ones as SFT examples, in file
    /// order; fills `report.sft.examples`. Does nothing without SFT options.
    pub fn write_sft(&mut self, trajectories: &Path, out: &Path) -> Result<(), RolloutError> {
        let Some(report) = self.report.sft.as_mut() else {
            return Ok(());
        };
        let mut examples = 0;
        let selected = &self.sft;
        let mut failure: Option<RolloutError> = None;
        let written = write_atomically(out, |w| {
            let result = for_each_trajectory(trajectories, |_, t| {
                if !selected.contains(&(t.task_id.clone(), t.sample)) {
                    return Ok(());
                }
                for example in sft_examples(&t) {
                    let line = serde_json::to_string(&example).map_err(|e| e.to_string())?;
                    writeln!(w, "{line}").map_err(|e| format!("writing the SFT set: {e}"))?;
                    examples += 1;
                }
                Ok(())
            });
            result.map_err(|e| {
                failure = Some(e);
                std::io::Error::other("reading the trajectories failed")
            })
        });
        // A bad trajectory line is reported as itself, not as a failed write.
        if let Some(e) = failure {
            return Err(e);
        }
        written?;
        report.examples = examples;
        Ok(())
    }
}

fn write_error(path: &Path, e: impl fmt::Display) -> RolloutError {
    RolloutError::Write {
        path: path.to_owned(),
        reason: e.to_string(),
    }
}

/// Writes `path` through a temporary file beside it, renamed into place when complete, so
/// an interrupted curation never leaves a half-written output.
fn write_atomically(
    path: &Path,
    fill: impl FnOnce(&mut BufWriter<std::fs::File>) -> std::io::Result<()>,
) -> Result<(), RolloutError> {
    if let Some(parent) = path.parent().filter(|p| !p.as_os_str().is_empty()) {
        std::fs::create_dir_all(parent).map_err(|e| write_error(path, e))?;
    }
    let mut name = path.as_os_str().to_owned();
    name.push(format!(".tmp-{}", std::process::id()));
    let tmp = PathBuf::from(name);
    let result = (|| {
        let mut w = BufWriter::new(std::fs::File::create(&tmp)?);
        fill(&mut w)?;
        w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if let Err(e) = result {
        let _ = std::fs::remove_file(&tmp);
        return Err(write_error(path, e));
    }
    Ok(())
}

impl fmt::Display for CurateReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = &self.counts;
        writeln!(
            f,
            "{} tasks, {} with trajectories ({} without); {} trajectories read ({} of unlisted tasks); solved = {} >= {}",
            c.tasks,
            c.with_trajectories,
            c.without_trajectories,
            self.trajectories,
            self.unknown_task_trajectories,
            self.metric.as_str(),
            self.threshold
        )?;
        writeln!(
            f,
            "all solved {} (dropped), none solved {} (dropped), mixed {} (kept); mean pass rate {:.3}",
            c.all_solved, c.none_solved, c.kept, c.mean_pass_rate
        )?;
        writeln!(f, "pass rate   tasks")?;
        let widest = c
            .histogram
            .iter()
            .map(|b| b.tasks)
            .max()
            .unwrap_or(0)
            .max(1);
        for b in &c.histogram {
            writeln!(
                f,
                "  {:.1}-{:.1} {:>7} {}",
                b.from,
                b.to,
                b.tasks,
                "#".repeat((b.tasks * 40).div_ceil(widest))
            )?;
        }
        for (name, groups) in [("level", &self.by_level), ("lang", &self.by_lang)] {
            if groups.is_empty() {
                continue;
            }
            writeln!(
                f,
                "{name:<10} {:>6} {:>9} {:>6} {:>6} {:>6} {:>9}",
                "tasks", "w/ traj", "all", "none", "kept", "mean pass"
            )?;
            for (key, g) in groups {
                writeln!(
                    f,
                    "{key:<10} {:>6} {:>9} {:>6} {:>6} {:>6} {:>9.3}",
                    g.tasks,
                    g.with_trajectories,
                    g.all_solved,
                    g.none_solved,
                    g.kept,
                    g.mean_pass_rate
                )?;
            }
        }
        if let Some(s) = &self.sft {
            write!(
                f,
                "sft: {} trajectories of {} tasks -> {} examples; of {} correct: {} with too few tool calls, {} with too many tokens, {} research-synthesis (not exported), {} beyond one per task",
                s.trajectories,
                s.tasks,
                s.examples,
                s.correct,
                s.fewer_tool_calls,
                s.too_many_tokens,
                s.unsupported_paradigm,
                s.beyond_one_per_task
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_bin_pass_rates_exactly_and_classify_groups() {
        let mut c = Counts::default();
        for outcome in [
            Some((3, 10)),
            Some((0, 4)),
            Some((4, 4)),
            Some((9, 10)),
            None,
        ] {
            c.add(outcome);
        }
        let bins: Vec<usize> = c.histogram.iter().map(|b| b.tasks).collect();
        assert_eq!(bins, [1, 0, 0, 1, 0, 0, 0, 0, 0, 2]);
        assert_eq!(
            (c.tasks, c.with_trajectories, c.without_trajectories),
            (5, 4, 1)
        );
        assert_eq!((c.all_solved, c.none_solved, c.kept), (1, 1, 2));
        assert!((c.mean_pass_rate - (0.3 + 0.0 + 1.0 + 0.9) / 4.0).abs() < 1e-12);
    }

    #[test]
    fn annotated_lines_keep_the_original_text() {
        let line = |text: &str| {
            let fields = match serde_json::from_str(text).unwrap() {
                Value::Object(m) => m,
                _ => unreachable!(),
            };
            TaskLine {
                task: super::super::task::Task {
                    id: "a".into(),
                    question: "q".into(),
                    answers: vec![],
                    evidence: vec![],
                },
                fields,
                text: text.into(),
                line: 1,
            }
        };
        assert_eq!(
            annotated_line(&line(r#"{"question": "q", "id": "a", "level": 2}"#), 0.5, 4),
            r#"{"question": "q", "id": "a", "level": 2,"pass_rate":0.5,"samples":4}"#
        );
        assert_eq!(
            annotated_line(
                &line(r#"{"id":"a","question":"q","pass_rate":1.0}"#),
                0.25,
                8
            ),
            r#"{"id":"a","pass_rate":0.25,"question":"q","samples":8}"#
        );
    }
}
