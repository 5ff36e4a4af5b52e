//! Running a task set: every (task, sample) pair not already in the output file becomes
//! an episode on its own tokio task, up to `concurrency` at once (the ONNX engine batches
//! their model calls). Trajectories are written in (task, sample) order whatever order
//! they finish in, so the file does not depend on timing, and a task's samples (its GRPO
//! group) are written together once all are finished, each with its leave-one-out
//! advantage ([`group`](super::group)). A crash loses at most the groups still in flight,
//! which a restart runs again whole ([`output`](super::output)).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use futures::StreamExt;
use serde_json::Value;
use simweb_tools::Toolbox;

use super::agent::{AgentConfig, AgentCtx, Paradigm};
use super::env::ToolEnv;
use super::error::RolloutError;
use super::group::finish_group;
use super::iter_research::{run_iter_research, run_synthesis};
use super::judge::Judge;
use super::output::TrajectoryFile;
use super::react::run_react;
use super::reward;
use super::seed::sample_seed;
use super::summary::{RunStats, Summary, SummaryRow};
use super::task::Task;
use super::trajectory::Trajectory;
use crate::backend::ChatBackend;

/// Settings of a run.
#[derive(Debug, Clone)]
pub struct RolloutConfig {
    /// Samples per task (a GRPO group).
    pub samples: usize,
    /// The run seed; sample and call seeds derive from it.
    pub seed: u64,
    pub paradigm: Paradigm,
    pub agent: AgentConfig,
    /// Episodes in flight at once.
    pub concurrency: usize,
    /// Print a progress line on stderr this often; `None`: quiet.
    pub progress_every: Option<Duration>,
}

impl Default for RolloutConfig {
    fn default() -> Self {
        RolloutConfig {
            samples: 1,
            seed: 0,
            paradigm: Paradigm::React,
            agent: AgentConfig::default(),
            concurrency: 8,
            progress_every: None,
        }
    }
}

/// Live counters for the progress line.
#[derive(Debug, Default)]
pub struct Progress {
    pub total: AtomicU64,
    pub done: AtomicU64,
    pub tokens: AtomicU64,
    pub tool_calls: AtomicU64,
}

impl Progress {
    pub fn line(&self, elapsed: Duration) -> String {
        let secs = elapsed.as_secs_f64().max(1e-9);
        format!(
            "rollout: {}/{} episodes, {:.1} tokens/s, {:.1} tool calls/s, {:.0} s",
            self.done.load(Ordering::Relaxed),
            self.total.load(Ordering::Relaxed),
            self.tokens.load(Ordering::Relaxed) as f64 / secs,
            self.tool_calls.load(Ordering::Relaxed) as f64 / secs,
            elapsed.as_secs_f64()
        )
    }
}

struct Inner {
    backend: Arc<dyn ChatBackend>,
    tools: ToolEnv,
    schemas: Arc<Vec<Value>>,
    agent: Arc<AgentConfig>,
    judge: Option<Judge>,
    config: RolloutConfig,
    progress: Arc<Progress>,
}

/// Runs tasks with one backend over one toolbox.
pub struct RolloutRunner {
    inner: Arc<Inner>,
}

/// Where the summary of a run writing `out` goes: `<out>.summary.json`.
pub fn summary_path(out: &Path) -> PathBuf {
    let mut name = out.as_os_str().to_owned();
    name.push(".summary.json");
    PathBuf::from(name)
}

impl RolloutRunner {
    pub fn new(
        backend: Arc<dyn ChatBackend>,
        toolbox: Arc<Toolbox>,
        config: RolloutConfig,
        judge: Option<Judge>,
    ) -> Self {
        let schemas = Arc::new(simweb_tools::react::prompt_schemas(toolbox.schemas()));
        RolloutRunner {
            inner: Arc::new(Inner {
                backend,
                tools: ToolEnv::new(toolbox, config.agent.max_calls_per_turn),
                schemas,
                agent: Arc::new(config.agent.clone()),
                judge,
                config,
                progress: Arc::new(Progress::default()),
            }),
        }
    }

    pub fn progress(&self) -> Arc<Progress> {
        Arc::clone(&self.inner.progress)
    }

    /// Runs every (task, sample) pair not yet in `out`, appends the trajectories, and
    /// writes and returns the summary over the whole file.
    pub async fn run(&self, tasks: &[Task], out: &Path) -> Result<Summary, RolloutError> {
        let config = &self.inner.config;
        if config.samples == 0 {
            return Err(RolloutError::Config("--samples must be at least 1".into()));
        }
        if config.concurrency == 0 {
            return Err(RolloutError::Config(
                "--concurrency must be at least 1".into(),
            ));
        }
        let (mut file, existing) = TrajectoryFile::open(out, config.samples)?;
        let jobs: Vec<(Task, usize)> = tasks
            .iter()
            .flat_map(|t| (0..config.samples).map(move |s| (t.clone(), s)))
            .filter(|(t, s)| !existing.done.contains(&(t.id.clone(), *s)))
            .collect();
        let progress = &self.inner.progress;
        progress.total.store(jobs.len() as u64, Ordering::Relaxed);
        let started = Instant::now();
        let reporter = config.progress_every.map(|every| {
            let progress = Arc::clone(progress);
            tokio::spawn(async move {
                let mut tick = tokio::time::interval(every);
                tick.tick().await;
                loop {
                    tick.tick().await;
                    eprintln!("{}", progress.line(started.elapsed()));
                }
            })
        });

        let mut run = RunStats {
            resumed: existing.done.len(),
            ..RunStats::default()
        };
        let mut rows = existing.rows;
        let mut episodes = futures::stream::iter(jobs)
            .map(|(task, sample)| {
                let inner = Arc::clone(&self.inner);
                tokio::spawn(async move { inner.episode(task, sample).await })
            })
            .buffered(config.concurrency);
        let mut outcome = Ok(());
        // The samples of the task in progress; jobs come in (task, sample) order and a
        // task's samples are all jobs or none (the file holds only whole groups).
        let mut group: Vec<Trajectory> = Vec::with_capacity(config.samples);
        while let Some(joined) = episodes.next().await {
            let trajectory = match joined {
                Ok(t) => t,
                Err(e) => {
                    outcome = Err(RolloutError::Config(format!("an episode panicked: {e}")));
                    break;
                }
            };
            progress.done.fetch_add(1, Ordering::Relaxed);
            if group
                .first()
                .is_some_and(|g| g.task_id != trajectory.task_id)
            {
                outcome = Err(RolloutError::Config(format!(
                    "task {:?} finished with {} of {} samples (a task listed twice?)",
                    group[0].task_id,
                    group.len(),
                    config.samples
                )));
                break;
            }
            group.push(trajectory);
            if group.len() < config.samples {
                continue;
            }
            finish_group(&mut group);
            if let Err(e) = file.append_group(&group) {
                outcome = Err(e);
                break;
            }
            for trajectory in group.drain(..) {
                run.add(&trajectory);
                rows.push(SummaryRow::from(&trajectory));
            }
        }
        if let Some(reporter) = reporter {
            reporter.abort();
            eprintln!("{}", progress.line(started.elapsed()));
        }
        outcome?;
        run.finish(started.elapsed());
        let summary = Summary::new(&rows, run);
        let path = summary_path(file.path());
        let json =
            serde_json::to_string_pretty(&summary).map_err(|e| RolloutError::output(&path, e))?;
        std::fs::write(&path, json + "\n").map_err(|e| RolloutError::output(&path, e))?;
        Ok(summary)
    }
}

impl Inner {
    async fn episode(&self, task: Task, sample: usize) -> Trajectory {
        let seed = sample_seed(self.config.seed, &task.id, sample);
        let ctx = AgentCtx {
            backend: Arc::clone(&self.backend),
            tools: self.tools.clone(),
            schemas: Arc::clone(&self.schemas),
            config: Arc::clone(&self.agent),
            seed,
            branch: 0,
            client: format!("rollout/{}/{sample}", task.id),
            started: Instant::now(),
            progress: Some(Arc::clone(&self.progress)),
        };
        let (episode, branches) = match self.config.paradigm {
            Paradigm::React => (run_react(&ctx, &task.question).await, Vec::new()),
            Paradigm::IterResearch => (run_iter_research(&ctx, &task.question).await, Vec::new()),
            Paradigm::Synthesis => run_synthesis(&ctx, &task.question).await,
        };
        let all_calls = || {
            branches
                .iter()
                .flat_map(|b| b.tool_calls.iter())
                .chain(episode.tool_calls.iter())
        };
        let rewards = reward::score(
            &task,
            episode.prediction.as_deref(),
            all_calls(),
            self.judge.as_ref(),
        )
        .await;
        let mut counts = BTreeMap::new();
        for call in all_calls() {
            let name = call.name.clone().unwrap_or_else(|| "<malformed>".into());
            *counts.entry(name).or_insert(0) += 1;
        }
        let timings = episode.timings;
        Trajectory {
            task_id: task.id,
            sample,
            seed,
            paradigm: self.config.paradigm,
            snapshot_id: self.tools.toolbox().snapshot_id().to_owned(),
            model_id: self.backend.model_id().to_owned(),
            question: task.question,
            answers: task.answers,
            rewards,
            // Filled in when the whole group is finished.
            group: String::new(),
            group_size: None,
            advantage: 0.0,
            loss_excluded: false,
            num_tool_calls: all_calls().count(),
            tool_call_counts: counts,
            episode,
            branches,
            timings,
        }
    }
}
