//! `GET /metrics`: the tool layer's counters (from [`simweb_tools::Metrics`]) plus the
//! HTTP front door's own, in Prometheus text format.

use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;

use simweb_tools::{MetricsSnapshot, Outcome};

/// Counters of the HTTP layer.
#[derive(Debug, Default)]
pub struct HttpMetrics {
    /// (route template, status) → count. A BTreeMap so the output order is stable.
    responses: Mutex<BTreeMap<(String, u16), u64>>,
    /// Requests shed because `http.max_in_flight` were already running.
    pub shed: AtomicU64,
    /// Requests refused for a missing or wrong API key.
    pub unauthorized: AtomicU64,
    /// Python runs in flight through the SandboxFusion endpoint.
    pub sandbox_in_flight: AtomicU64,
}

impl HttpMetrics {
    pub fn record(&self, route: &str, status: u16) {
        let mut responses = self.responses.lock().unwrap_or_else(|p| p.into_inner());
        *responses.entry((route.to_string(), status)).or_insert(0) += 1;
    }

    fn responses(&self) -> BTreeMap<(String, u16), u64> {
        self.responses
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone()
    }
}

/// Everything `/metrics` shows beyond the tool layer's own exposition.
pub struct Gauges {
    pub in_flight: usize,
    pub max_in_flight: usize,
    pub episodes_stored: usize,
    pub sandbox_slots: Option<usize>,
}

/// Renders the full exposition.
pub fn render(tools: &MetricsSnapshot, http: &HttpMetrics, gauges: &Gauges) -> String {
    let mut out = tools.to_prometheus();
    out.push_str("# HELP simweb_tool_cache_hit_ratio Cache hits over hits and misses, per tool.\n");
    out.push_str("# TYPE simweb_tool_cache_hit_ratio gauge\n");
    for (tool, stats) in &tools.tools {
        let hits = stats.count(Outcome::Hit) as f64;
        let misses = stats.count(Outcome::Miss) as f64;
        let ratio = if hits + misses > 0.0 {
            hits / (hits + misses)
        } else {
            0.0
        };
        let _ = writeln!(
            out,
            "simweb_tool_cache_hit_ratio{{tool=\"{tool}\"}} {ratio}"
        );
    }
    out.push_str("# HELP simweb_tool_refused_total Calls refused by a rate quota (limited) or for saturation.\n");
    out.push_str("# TYPE simweb_tool_refused_total counter\n");
    for (tool, stats) in &tools.tools {
        for outcome in [Outcome::Limited, Outcome::Saturated] {
            let _ = writeln!(
                out,
                "simweb_tool_refused_total{{tool=\"{tool}\",reason=\"{}\"}} {}",
                outcome.label(),
                stats.count(outcome)
            );
        }
    }
    out.push_str("# HELP simweb_http_responses_total HTTP responses by route and status.\n");
    out.push_str("# TYPE simweb_http_responses_total counter\n");
    for ((route, status), count) in http.responses() {
        let _ = writeln!(
            out,
            "simweb_http_responses_total{{route=\"{}\",status=\"{status}\"}} {count}",
            escape_label(&route)
        );
    }
    let counters = [
        (
            "simweb_http_shed_total",
            "Requests shed with 503 because too many were in flight.",
            http.shed.load(Ordering::Relaxed),
        ),
        (
            "simweb_http_unauthorized_total",
            "Requests refused for a missing or unknown API key.",
            http.unauthorized.load(Ordering::Relaxed),
        ),
    ];
    for (name, help, value) in counters {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} counter\n{name} {value}"
        );
    }
    let mut gauge_lines = vec![
        (
            "simweb_http_in_flight",
            "Requests being handled now.",
            gauges.in_flight as f64,
        ),
        (
            "simweb_http_max_in_flight",
            "Configured bound on requests handled at once.",
            gauges.max_in_flight as f64,
        ),
        (
            "simweb_episodes_stored",
            "Episodes in the store (live and not yet swept).",
            gauges.episodes_stored as f64,
        ),
        (
            "simweb_sandbox_fusion_in_flight",
            "Python runs in flight through the SandboxFusion endpoint.",
            http.sandbox_in_flight.load(Ordering::Relaxed) as f64,
        ),
    ];
    if let Some(slots) = gauges.sandbox_slots {
        gauge_lines.push((
            "simweb_sandbox_slots",
            "Python sandbox runs allowed at once.",
            slots as f64,
        ));
    }
    for (name, help, value) in gauge_lines {
        let _ = writeln!(
            out,
            "# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}"
        );
    }
    out
}

fn escape_label(value: &str) -> String {
    value
        .replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}
