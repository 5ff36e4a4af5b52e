//! Small, deterministic text tools for ranking inside one page: a tokenizer for English
//! and Chinese, BM25 over a page's passages, and a sentence splitter. No model, no
//! global statistics: the page itself is the collection, so a visit depends only on
//! the page and the goal.

use std::collections::{BTreeMap, BTreeSet};

const STOPWORDS: [&str; 48] = [
    "a", "an", "and", "are", "as", "at", "be", "by", "did", "do", "does", "for", "from", "had",
    "has", "have", "he", "her", "his", "how", "in", "is", "it", "its", "of", "on", "or", "she",
    "that", "the", "their", "them", "there", "they", "this", "to", "was", "were", "what", "when",
    "where", "which", "who", "whom", "why", "will", "with", "find",
];

/// CJK Unified Ideographs (and extension A): segmented as unigrams plus bigrams.
fn is_cjk(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{F900}'..='\u{FAFF}')
}

/// Lower-cased words without stop words, lightly stemmed (plural `s`), and for Chinese
/// runs every character and every adjacent pair.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut cjk_run: Vec<char> = Vec::new();
    for c in text.chars() {
        if is_cjk(c) {
            flush_word(&mut word, &mut tokens);
            cjk_run.push(c);
        } else if c.is_alphanumeric() {
            flush_cjk(&mut cjk_run, &mut tokens);
            word.extend(c.to_lowercase());
        } else {
            flush_word(&mut word, &mut tokens);
            flush_cjk(&mut cjk_run, &mut tokens);
        }
    }
    flush_word(&mut word, &mut tokens);
    flush_cjk(&mut cjk_run, &mut tokens);
    tokens
}

fn flush_word(word: &mut String, tokens: &mut Vec<String>) {
    if word.is_empty() {
        return;
    }
    let w = std::mem::take(word);
    if STOPWORDS.contains(&w.as_str()) {
        return;
    }
    tokens.push(stem(w));
}

fn stem(word: String) -> String {
    let len = word.chars().count();
    if len > 4 && word.ends_with("ies") {
        return format!("{}y", &word[..word.len() - 3]);
    }
    if len > 3 && word.ends_with('s') && !word.ends_with("ss") && !word.ends_with("us") {
        return word[..word.len() - 1].to_string();
    }
    word
}

fn flush_cjk(run: &mut Vec<char>, tokens: &mut Vec<String>) {
    for c in run.iter() {
        tokens.push(c.to_string());
    }
    for pair in run.windows(2) {
        tokens.push(pair.iter().collect());
    }
    run.clear();
}

/// BM25 (k1 = 1.2, b = 0.75) of `query` against each of `docs`, with document
/// frequencies taken from `docs` themselves.
pub fn bm25_scores(query: &str, docs: &[&str]) -> Vec<f64> {
    let query_terms: BTreeSet<String> = tokenize(query).into_iter().collect();
    if query_terms.is_empty() || docs.is_empty() {
        return vec![0.0; docs.len()];
    }
    let doc_terms: Vec<BTreeMap<String, u32>> = docs
        .iter()
        .map(|doc| {
            let mut tf = BTreeMap::new();
            for token in tokenize(doc) {
                *tf.entry(token).or_insert(0) += 1;
            }
            tf
        })
        .collect();
    let lengths: Vec<f64> = doc_terms
        .iter()
        .map(|tf| tf.values().map(|&n| f64::from(n)).sum())
        .collect();
    let avg_len = (lengths.iter().sum::<f64>() / docs.len() as f64).max(1.0);
    let n = docs.len() as f64;
    let idf: BTreeMap<&str, f64> = query_terms
        .iter()
        .map(|term| {
            let df = doc_terms.iter().filter(|tf| tf.contains_key(term)).count() as f64;
            (term.as_str(), (1.0 + (n - df + 0.5) / (df + 0.5)).ln())
        })
        .collect();
    let (k1, b) = (1.2, 0.75);
    doc_terms
        .iter()
        .zip(&lengths)
        .map(|(tf, len)| {
            idf.iter()
                .map(|(term, idf)| {
                    let f = f64::from(tf.get(*term).copied().unwrap_or(0));
                    if f == 0.0 {
                        0.0
                    } else {
                        idf * f * (k1 + 1.0) / (f + k1 * (1.0 - b + b * len / avg_len))
                    }
                })
                .sum()
        })
        .collect()
}

/// Splits text into sentences, keeping each sentence verbatim (a substring of the
/// input, trimmed). Ends at `.`, `!`, `?` followed by a space and a capital, digit or
/// quote (not after a single capital, as in "J. Smith"), and at `。！？`.
pub fn sentences(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = text.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        let end = pos + c.len_utf8();
        let boundary = match c {
            '。' | '！' | '？' => true,
            '.' | '!' | '?' => {
                let next_is_space = chars.get(i + 1).is_some_and(|(_, n)| n.is_whitespace());
                let after = chars[i + 1..]
                    .iter()
                    .map(|(_, n)| *n)
                    .find(|n| !n.is_whitespace());
                let starts_sentence = after.is_some_and(|n| {
                    n.is_uppercase() || n.is_ascii_digit() || matches!(n, '"' | '“' | '(' | '\'')
                });
                let initial = c == '.'
                    && i >= 1
                    && chars[i - 1].1.is_uppercase()
                    && (i < 2 || !chars[i - 2].1.is_alphanumeric());
                next_is_space && starts_sentence && !initial
            }
            '\n' => chars.get(i + 1).is_some_and(|(_, n)| *n == '\n'),
            _ => false,
        };
        if boundary {
            push_trimmed(&text[start..end], &mut out);
            start = end;
        }
    }
    push_trimmed(&text[start..], &mut out);
    out
}

fn push_trimmed<'a>(piece: &'a str, out: &mut Vec<&'a str>) {
    let piece = piece.trim();
    if !piece.is_empty() {
        out.push(piece);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokenizes_english_and_chinese() {
        assert_eq!(
            tokenize("The Theories of Relativity, 1905!"),
            vec!["theory", "relativity", "1905"]
        );
        assert_eq!(
            tokenize("北京大学"),
            vec!["北", "京", "大", "学", "北京", "京大", "大学"]
        );
        assert_eq!(tokenize("in 北京 city"), vec!["北", "京", "北京", "city"]);
    }

    #[test]
    fn bm25_prefers_the_passage_about_the_query() {
        let docs = [
            "Einstein was born in Ulm in 1879.",
            "He developed the theory of relativity, one of the two pillars of modern physics.",
            "He received the Nobel Prize in Physics in 1921.",
        ];
        let scores = bm25_scores("When did he win the Nobel Prize?", &docs);
        assert!(scores[2] > scores[0] && scores[2] > scores[1], "{scores:?}");
        assert_eq!(bm25_scores("", &docs), vec![0.0; 3]);
    }

    #[test]
    fn sentences_are_verbatim_substrings() {
        let text = "Ray Charles was born in 1930. He was blind by age 7! J. Smith agreed. \
                    Was it 1930? \"Yes.\" 他出生于美国。后来成名";
        let parts = sentences(text);
        assert_eq!(
            parts,
            vec![
                "Ray Charles was born in 1930.",
                "He was blind by age 7!",
                "J. Smith agreed.",
                "Was it 1930?",
                "\"Yes.\" 他出生于美国。",
                "后来成名"
            ]
        );
        for part in parts {
            assert!(text.contains(part));
        }
    }
}
