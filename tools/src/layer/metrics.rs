//! Counters and latency histograms per tool and outcome, for the server's `/metrics`.
//!
//! The outermost layer records one outcome per call; the retry layer counts retries.
//! [`Metrics::snapshot`] gives a sorted, plain-data view; [`MetricsSnapshot::to_prometheus`]
//! renders it in the Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use async_trait::async_trait;
use serde::Serialize;
use serde_json::Value;

use super::delegate_tool_descriptors;
use crate::error::ToolError;
use crate::tool::{CallContext, Tool, ToolOutput};

/// How a call ended, as seen from outside the whole layer stack.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Outcome {
    /// Answered by the cache.
    Hit,
    /// Answered by doing the work.
    Miss,
    /// Answered from the record/replay log.
    Replayed,
    /// Refused by a rate quota.
    Limited,
    /// Refused because the tool was saturated.
    Saturated,
    /// Any other error.
    Failed,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Hit,
        Outcome::Miss,
        Outcome::Replayed,
        Outcome::Limited,
        Outcome::Saturated,
        Outcome::Failed,
    ];

    pub fn label(self) -> &'static str {
        match self {
            Outcome::Hit => "hit",
            Outcome::Miss => "miss",
            Outcome::Replayed => "replayed",
            Outcome::Limited => "limited",
            Outcome::Saturated => "saturated",
            Outcome::Failed => "failed",
        }
    }
}

/// Upper bounds (seconds) of the latency buckets, Prometheus-style.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

#[derive(Debug, Default, Clone)]
struct Histogram {
    /// Non-cumulative counts per bucket; one extra slot for +Inf.
    buckets: [u64; LATENCY_BUCKETS.len() + 1],
    count: u64,
    sum_seconds: f64,
}

impl Histogram {
    fn observe(&mut self, latency: Duration) {
        let seconds = latency.as_secs_f64();
        let slot = LATENCY_BUCKETS
            .iter()
            .position(|bound| seconds <= *bound)
            .unwrap_or(LATENCY_BUCKETS.len());
        self.buckets[slot] += 1;
        self.count += 1;
        self.sum_seconds += seconds;
    }
}

#[derive(Debug, Default)]
struct ToolStats {
    outcomes: BTreeMap<Outcome, Histogram>,
    retries: u64,
}

/// Shared by every layer stack of one [`crate::Toolbox`].
#[derive(Debug, Default)]
pub struct Metrics {
    tools: Mutex<BTreeMap<String, ToolStats>>,
}

impl Metrics {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn record(&self, tool: &str, outcome: Outcome, latency: Duration) {
        let mut tools = self.tools.lock().unwrap_or_else(|e| e.into_inner());
        tools
            .entry(tool.to_string())
            .or_default()
            .outcomes
            .entry(outcome)
            .or_default()
            .observe(latency);
    }

    pub fn record_retry(&self, tool: &str) {
        let mut tools = self.tools.lock().unwrap_or_else(|e| e.into_inner());
        tools.entry(tool.to_string()).or_default().retries += 1;
    }

    /// A consistent copy of everything counted so far, sorted by tool and outcome.
    pub fn snapshot(&self) -> MetricsSnapshot {
        let tools = self.tools.lock().unwrap_or_else(|e| e.into_inner());
        let tools = tools
            .iter()
            .map(|(name, stats)| {
                let outcomes = stats
                    .outcomes
                    .iter()
                    .map(|(outcome, hist)| {
                        let mut cumulative = 0;
                        let mut buckets = Vec::with_capacity(LATENCY_BUCKETS.len() + 1);
                        for (i, count) in hist.buckets.iter().enumerate() {
                            cumulative += count;
                            let le = LATENCY_BUCKETS.get(i).copied().unwrap_or(f64::INFINITY);
                            buckets.push(BucketSnapshot {
                                le,
                                count: cumulative,
                            });
                        }
                        (
                            *outcome,
                            LatencySnapshot {
                                count: hist.count,
                                sum_seconds: hist.sum_seconds,
                                buckets,
                            },
                        )
                    })
                    .collect();
                (
                    name.clone(),
                    ToolMetricsSnapshot {
                        retries: stats.retries,
                        outcomes,
                    },
                )
            })
            .collect();
        MetricsSnapshot { tools }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct MetricsSnapshot {
    pub tools: BTreeMap<String, ToolMetricsSnapshot>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ToolMetricsSnapshot {
    /// Extra attempts made by the retry layer.
    pub retries: u64,
    pub outcomes: BTreeMap<Outcome, LatencySnapshot>,
}

impl ToolMetricsSnapshot {
    pub fn count(&self, outcome: Outcome) -> u64 {
        self.outcomes.get(&outcome).map_or(0, |l| l.count)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct LatencySnapshot {
    pub count: u64,
    pub sum_seconds: f64,
    /// Cumulative counts (`le` = upper bound in seconds, the last one +Inf).
    pub buckets: Vec<BucketSnapshot>,
}

#[derive(Debug, Clone, Serialize)]
pub struct BucketSnapshot {
    pub le: f64,
    pub count: u64,
}

impl MetricsSnapshot {
    /// Prometheus text exposition: `simweb_tool_calls_total{tool,outcome}`,
    /// `simweb_tool_retries_total{tool}` and the histogram
    /// `simweb_tool_latency_seconds{tool,outcome}`.
    pub fn to_prometheus(&self) -> String {
        let mut out = String::new();
        out.push_str("# HELP simweb_tool_calls_total Tool calls by final outcome.\n");
        out.push_str("# TYPE simweb_tool_calls_total counter\n");
        for (tool, stats) in &self.tools {
            for (outcome, latency) in &stats.outcomes {
                let _ = writeln!(
                    out,
                    "simweb_tool_calls_total{{tool=\"{tool}\",outcome=\"{}\"}} {}",
                    outcome.label(),
                    latency.count
                );
            }
        }
        out.push_str("# HELP simweb_tool_retries_total Extra attempts made by the retry layer.\n");
        out.push_str("# TYPE simweb_tool_retries_total counter\n");
        for (tool, stats) in &self.tools {
            let _ = writeln!(
                out,
                "simweb_tool_retries_total{{tool=\"{tool}\"}} {}",
                stats.retries
            );
        }
        out.push_str("# HELP simweb_tool_latency_seconds Tool call latency by final outcome.\n");
        out.push_str("# TYPE simweb_tool_latency_seconds histogram\n");
        for (tool, stats) in &self.tools {
            for (outcome, latency) in &stats.outcomes {
                let labels = format!("tool=\"{tool}\",outcome=\"{}\"", outcome.label());
                for bucket in &latency.buckets {
                    let le = if bucket.le.is_infinite() {
                        "+Inf".to_string()
                    } else {
                        bucket.le.to_string()
                    };
                    let _ = writeln!(
                        out,
                        "simweb_tool_latency_seconds_bucket{{{labels},le=\"{le}\"}} {}",
                        bucket.count
                    );
                }
                let _ = writeln!(
                    out,
                    "simweb_tool_latency_seconds_sum{{{labels}}} {}",
                    latency.sum_seconds
                );
                let _ = writeln!(
                    out,
                    "simweb_tool_latency_seconds_count{{{labels}}} {}",
                    latency.count
                );
            }
        }
        out
    }
}

/// The outermost layer: times every call and counts its final outcome.
pub(crate) struct MetricsLayer {
    inner: Arc<dyn Tool>,
    metrics: Arc<Metrics>,
}

impl MetricsLayer {
    pub(crate) fn wrap(inner: Arc<dyn Tool>, metrics: Arc<Metrics>) -> Arc<dyn Tool> {
        Arc::new(MetricsLayer { inner, metrics })
    }
}

fn classify(result: &Result<ToolOutput, ToolError>) -> Outcome {
    match result {
        Ok(output) if output.replayed => Outcome::Replayed,
        Ok(output) if output.cached => Outcome::Hit,
        Ok(_) => Outcome::Miss,
        Err(ToolError::RateLimited { .. }) => Outcome::Limited,
        Err(ToolError::Saturated { .. }) => Outcome::Saturated,
        Err(_) => Outcome::Failed,
    }
}

#[async_trait]
impl Tool for MetricsLayer {
    delegate_tool_descriptors!();

    async fn call(&self, args: &Value, ctx: &CallContext) -> Result<ToolOutput, ToolError> {
        let started = Instant::now();
        let result = self.inner.call(args, ctx).await;
        self.metrics
            .record(self.inner.name(), classify(&result), started.elapsed());
        result
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn histogram_buckets_are_cumulative_and_rendered() {
        let metrics = Metrics::new();
        metrics.record("search", Outcome::Miss, Duration::from_micros(300));
        metrics.record("search", Outcome::Miss, Duration::from_millis(30));
        metrics.record("search", Outcome::Hit, Duration::from_secs(60));
        metrics.record_retry("search");
        let snap = metrics.snapshot();
        let search = &snap.tools["search"];
        assert_eq!(search.count(Outcome::Miss), 2);
        assert_eq!(search.count(Outcome::Hit), 1);
        assert_eq!(search.retries, 1);
        let miss = &search.outcomes[&Outcome::Miss];
        assert_eq!(miss.buckets[0].count, 1); // <= 0.5 ms
        assert_eq!(miss.buckets[5].count, 1); // <= 25 ms: still only the first
        assert_eq!(miss.buckets[6].count, 2); // <= 50 ms
        assert_eq!(
            search.outcomes[&Outcome::Hit].buckets.last().unwrap().count,
            1
        );
        let text = snap.to_prometheus();
        assert!(text.contains("simweb_tool_calls_total{tool=\"search\",outcome=\"miss\"} 2"));
        assert!(text.contains(
            "simweb_tool_latency_seconds_bucket{tool=\"search\",outcome=\"hit\",le=\"+Inf\"} 1"
        ));
        assert!(text.contains("simweb_tool_retries_total{tool=\"search\"} 1"));
    }
}
