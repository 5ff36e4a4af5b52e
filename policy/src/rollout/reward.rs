//! The rewards of a finished episode: exact match and token F1 against the gold answers
//! (QA normalisation, [`simweb_tools::reward`]), the optional LLM judge, and evidence
//! recall from the doc ids/URLs the tools showed the model.

use std::collections::BTreeSet;

use simweb_tools::reward;

use super::judge::Judge;
use super::task::Task;
use super::trajectory::{Rewards, ToolCallRecord};

/// Scores a prediction (`None`: the agent never answered, every score is 0).
pub async fn score<'a>(
    task: &Task,
    prediction: Option<&str>,
    calls: impl Iterator<Item = &'a ToolCallRecord>,
    judge: Option<&Judge>,
) -> Rewards {
    let (exact_match, f1) = match prediction {
        Some(p) if !task.answers.is_empty() => {
            let s = reward::score(p, &task.answers);
            (s.exact_match, s.f1)
        }
        _ => (0.0, 0.0),
    };
    let judge = match (judge, prediction) {
        (Some(judge), Some(p)) if !task.answers.is_empty() => {
            Some(judge.judge(&task.question, p, &task.answers).await)
        }
        _ => None,
    };
    let seen: BTreeSet<String> = calls
        .flat_map(|c| c.sources.iter())
        .map(|s| normalize_source(s))
        .collect();
    Rewards {
        exact_match,
        f1,
        judge,
        evidence_recall: evidence_recall(&task.evidence, &seen),
    }
}

/// Share of `evidence` (doc ids or URLs) found in `seen` (already normalised); `None`
/// when the task lists no evidence.
pub fn evidence_recall(evidence: &[String], seen: &BTreeSet<String>) -> Option<f64> {
    if evidence.is_empty() {
        return None;
    }
    let wanted: BTreeSet<String> = evidence.iter().map(|e| normalize_source(e)).collect();
    let found = wanted.iter().filter(|e| seen.contains(*e)).count();
    Some(found as f64 / wanted.len() as f64)
}

/// A doc id as is; a URL without scheme, `www.`, `m.` (mobile) or trailing slash, so
/// `http://en.m.wikipedia.org/wiki/X/` and `https://en.wikipedia.org/wiki/X` match.
pub fn normalize_source(source: &str) -> String {
    let s = source.trim();
    let Some(rest) = s
        .strip_prefix("https://")
        .or_else(|| s.strip_prefix("http://"))
    else {
        return s.to_owned();
    };
    let rest = rest.strip_prefix("www.").unwrap_or(rest);
    let rest = rest.replacen(".m.wikipedia.org", ".wikipedia.org", 1);
    rest.trim_end_matches('/').to_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recall_counts_evidence_the_tools_showed() {
        let seen: BTreeSet<String> = ["enwiki:1", "https://en.wikipedia.org/wiki/Ray_Charles"]
            .iter()
            .map(|s| normalize_source(s))
            .collect();
        let evidence = vec![
            "enwiki:1".to_string(),
            "http://en.m.wikipedia.org/wiki/Ray_Charles/".to_string(),
            "enwiki:9".to_string(),
        ];
        let r = evidence_recall(&evidence, &seen).unwrap();
        assert!((r - 2.0 / 3.0).abs() < 1e-12, "{r}");
        assert_eq!(evidence_recall(&[], &seen), None);
    }
}
