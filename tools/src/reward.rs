//! Rewards for question answering: exact match and token F1, as QA benchmarks score.
//!
//! Normalisation follows the SQuAD / Natural Questions evaluation scripts that
//! Search-R1 and the deep-research benchmarks reuse: lowercase, drop punctuation,
//! drop the articles "a", "an", "the", collapse whitespace. One deliberate extension:
//! CJK ideographs count as one token each, since Chinese and Japanese text has no
//! spaces and whitespace tokens would make F1 all-or-nothing there.

use serde::{Deserialize, Serialize};

/// The score of one prediction against a task's gold answers (the best over them).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Score {
    /// 1.0 when the normalised prediction equals a normalised gold answer, else 0.0.
    pub exact_match: f64,
    /// The best token-level F1 against any gold answer, in [0, 1].
    pub f1: f64,
}

/// Scores a prediction against every gold answer and keeps the best of each metric.
/// No gold answers means nothing to match: both scores are 0.
pub fn score<S: AsRef<str>>(prediction: &str, golds: &[S]) -> Score {
    Score {
        exact_match: exact_match(prediction, golds),
        f1: f1(prediction, golds),
    }
}

/// Lowercases, removes punctuation and the articles a/an/the, collapses whitespace.
pub fn normalize_answer(text: &str) -> String {
    tokens(text).join(" ")
}

/// 1.0 if the prediction matches any gold answer after normalisation, else 0.0.
pub fn exact_match<S: AsRef<str>>(prediction: &str, golds: &[S]) -> f64 {
    let prediction = normalize_answer(prediction);
    let hit = golds
        .iter()
        .any(|gold| normalize_answer(gold.as_ref()) == prediction);
    if hit {
        1.0
    } else {
        0.0
    }
}

/// The best token F1 of the prediction against any gold answer.
pub fn f1<S: AsRef<str>>(prediction: &str, golds: &[S]) -> f64 {
    let predicted = tokens(prediction);
    golds
        .iter()
        .map(|gold| token_f1(&predicted, &tokens(gold.as_ref())))
        .fold(0.0, f64::max)
}

/// F1 over token multisets. If either side is empty the score is 1 only when both
/// are (the SQuAD 2.0 convention for "no answer").
fn token_f1(predicted: &[String], gold: &[String]) -> f64 {
    if predicted.is_empty() || gold.is_empty() {
        return if predicted.is_empty() && gold.is_empty() {
            1.0
        } else {
            0.0
        };
    }
    let mut remaining: Vec<&String> = gold.iter().collect();
    let mut common = 0usize;
    for token in predicted {
        if let Some(pos) = remaining.iter().position(|g| *g == token) {
            remaining.swap_remove(pos);
            common += 1;
        }
    }
    if common == 0 {
        return 0.0;
    }
    let precision = common as f64 / predicted.len() as f64;
    let recall = common as f64 / gold.len() as f64;
    2.0 * precision * recall / (precision + recall)
}

/// The normalised tokens of a text.
fn tokens(text: &str) -> Vec<String> {
    let mut spaced = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        if is_cjk_ideograph(c) {
            spaced.push(' ');
            spaced.push(c);
            spaced.push(' ');
        } else if c.is_alphanumeric() || c.is_whitespace() {
            spaced.push(c);
        }
        // Anything else is punctuation or a symbol and is dropped, as SQuAD drops
        // `string.punctuation` (without splitting the word it sat in: "U.S." -> "us").
    }
    spaced
        .split_whitespace()
        .filter(|t| !matches!(*t, "a" | "an" | "the"))
        .map(str::to_owned)
        .collect()
}

fn is_cjk_ideograph(c: char) -> bool {
    matches!(c as u32,
        0x4E00..=0x9FFF | 0x3400..=0x4DBF | 0x20000..=0x2A6DF | 0xF900..=0xFAFF | 0x3040..=0x30FF)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn normalisation_matches_the_squad_script() {
        assert_eq!(normalize_answer("The  Eiffel Tower!"), "eiffel tower");
        assert_eq!(normalize_answer("An apple, a day."), "apple day");
        assert_eq!(normalize_answer("U.S.A."), "usa");
        assert_eq!(
            normalize_answer("Theory of relativity"),
            "theory of relativity"
        );
        assert_eq!(normalize_answer("  \tthe\n"), "");
        assert_eq!(normalize_answer("ÉCOLE Normale"), "école normale");
    }

    #[test]
    fn exact_match_takes_the_best_gold() {
        assert_eq!(
            exact_match("the Eiffel tower", &["Eiffel Tower", "Tour Eiffel"]),
            1.0
        );
        assert_eq!(exact_match("Eiffel", &["Eiffel Tower"]), 0.0);
        assert_eq!(exact_match("anything", &[] as &[&str]), 0.0);
    }

    #[test]
    fn f1_counts_overlapping_tokens() {
        // prediction: [albert, einstein, physicist]; gold: [albert, einstein] -> p=2/3, r=1.
        let f = f1("Albert Einstein, physicist", &["Albert Einstein"]);
        assert!((f - 0.8).abs() < 1e-12, "{f}");
        assert_eq!(f1("Niels Bohr", &["Albert Einstein"]), 0.0);
        // Best over golds.
        assert_eq!(f1("Bohr", &["Albert Einstein", "Bohr"]), 1.0);
        // Repeated tokens count once per occurrence on each side.
        let f = f1("paris paris", &["paris"]);
        assert!((f - 2.0 / 3.0).abs() < 1e-12, "{f}");
    }

    #[test]
    fn empty_answers_follow_squad2() {
        assert_eq!(f1("", &[""]), 1.0);
        assert_eq!(f1("the", &["x"]), 0.0);
        assert_eq!(f1("x", &["a"]), 0.0);
    }

    #[test]
    fn cjk_text_gets_per_character_tokens() {
        assert_eq!(normalize_answer("北京市。"), "北 京 市");
        let f = f1("北京", &["北京市"]);
        assert!((f - 0.8).abs() < 1e-12, "{f}");
        assert_eq!(exact_match("北京市", &["北京市"]), 1.0);
    }

    #[test]
    fn score_combines_both_metrics() {
        let s = score("1912", &["23 June 1912"]);
        assert_eq!(s.exact_match, 0.0);
        assert!((s.f1 - 0.5).abs() < 1e-12);
    }
}
