//! Typing infobox values and naming their keys: `September 23, 1930 Albany, Georgia` is a
//! year, `135,765` a number, `Montgomery` a short text; `birth date` and `Born` are the
//! same attribute. Only typed, short values make answers an exact-match reward can judge.

use serde::{Deserialize, Serialize};

/// What an infobox value is, as far as questions are concerned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Value {
    /// A date; questions ask for its year.
    Year { year: i32 },
    /// A quantity (the unit, if any, stays in the raw text).
    Number { value: f64 },
    /// A short name or phrase (at most six words).
    Text,
    /// Too long, a list, an image or a URL: kept for evidence, never asked about.
    Other,
}

impl Value {
    pub fn is_answerable(&self) -> bool {
        !matches!(self, Value::Other)
    }
}

const MONTHS: [&str; 12] = [
    "january",
    "february",
    "march",
    "april",
    "may",
    "june",
    "july",
    "august",
    "september",
    "october",
    "november",
    "december",
];

/// Keys whose values are never questions (pictures, captions, links, coordinates).
const UNASKABLE_KEYS: [&str; 14] = [
    "image",
    "caption",
    "website",
    "signature",
    "logo",
    "map",
    "alt",
    "url",
    "coordinates",
    "footnotes",
    "module",
    "embed",
    "image size",
    "label",
];

/// The attribute a key names: lower case, `_` as space, `(s)` dropped, and the usual
/// synonyms of person/organisation/work infoboxes folded together, so `Born` (a rendered
/// HTML infobox) and `birth date` (wikitext) are one attribute for uniqueness checks.
pub fn canonical_key(key: &str) -> String {
    let k = key
        .trim()
        .to_lowercase()
        .replace('_', " ")
        .replace("(s)", "");
    let k = k.split_whitespace().collect::<Vec<_>>().join(" ");
    let folded = match k.as_str() {
        "born" | "birth date" | "date of birth" | "出生" | "出生日期" | "出生时间" => {
            "born"
        }
        "died" | "death date" | "date of death" | "逝世" | "去世" | "逝世日期" | "死亡" => {
            "died"
        }
        "founded" | "established" | "formation" | "founded date" | "foundation" | "inception"
        | "成立" | "成立时间" | "创立" | "创建" => "founded",
        "released" | "release date" | "published" | "发行" | "发行时间" => "released",
        "birth place" | "place of birth" | "出生地" | "出生地点" => "birth place",
        "death place" | "place of death" | "逝世地点" => "death place",
        other => other,
    };
    folded.to_owned()
}

/// Whether a key can carry a question at all.
pub fn askable_key(canonical: &str) -> bool {
    !canonical.is_empty()
        && !UNASKABLE_KEYS.iter().any(|k| {
            canonical
                .strip_prefix(k)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with(' '))
        })
        && !canonical.ends_with(" image")
        && !canonical.ends_with(" caption")
}

/// Types a raw value.
pub fn classify(raw: &str) -> Value {
    let text = strip_parentheticals(raw);
    let text = text.trim();
    if text.is_empty() || text.chars().count() > 80 {
        return Value::Other;
    }
    let lower = text.to_lowercase();
    if lower.contains("http") || lower.contains("www.") || lower.contains(".com") {
        return Value::Other;
    }
    if let Some(year) = leading_date_year(text) {
        return Value::Year { year };
    }
    if let Some(value) = leading_number(text) {
        return Value::Number { value };
    }
    // A figure with something odd behind it (`1 E12`, `5,15 million`) is not a name.
    let first = text.split_whitespace().next().unwrap_or_default();
    if first
        .chars()
        .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    {
        return Value::Other;
    }
    let words = text.split_whitespace().count();
    let has_letters = text.chars().any(char::is_alphabetic);
    let listy = text.matches(',').count() > 1 || text.contains(';') || text.contains('·');
    let cjk = text.chars().any(simweb_wikidump::normalize::is_cjk);
    if has_letters
        && text.chars().count() >= 2
        && !listy
        && (words <= 6 && (!cjk || text.chars().count() <= 16))
    {
        Value::Text
    } else {
        Value::Other
    }
}

/// `(1930-09-23)September 23, 1930 Albany` -> `September 23, 1930 Albany`.
pub fn strip_parentheticals(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut depth = 0usize;
    for c in s.chars() {
        match c {
            '(' | '（' => depth += 1,
            ')' | '）' => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(c),
            _ => {}
        }
    }
    out.replace("  ", " ")
}

fn as_year(token: &str) -> Option<i32> {
    let t = token.trim_matches(|c: char| c == ',' || c == '.' || c == '年');
    if t.len() == 4 && t.chars().all(|c| c.is_ascii_digit()) {
        let y: i32 = t.parse().ok()?;
        if (1000..=2099).contains(&y) {
            return Some(y);
        }
    }
    None
}

/// The year of a value that starts with a date: `23 September 1930`, `September 23,
/// 1930 Albany, Georgia`, `1930-09-23`, `1879年3月14日`, a bare `2004`. A year behind
/// other words (`As of 2010, English 95.1%`) is not a date value.
fn leading_date_year(text: &str) -> Option<i32> {
    // ISO and CJK dates are one token.
    let first = text.split_whitespace().next()?;
    if let Some(y) = first.split(['-', '年']).next().and_then(as_year) {
        if first.len() == 4 || first.contains('-') || first.contains('年') {
            return Some(y);
        }
    }
    for (i, token) in text.split_whitespace().take(4).enumerate() {
        if let Some(y) = as_year(token) {
            return Some(y);
        }
        let t = token
            .trim_matches(|c: char| c == ',' || c == '.')
            .to_lowercase();
        let is_day = t.len() <= 2 && t.chars().all(|c| c.is_ascii_digit());
        let is_month = MONTHS.contains(&t.as_str()) || t == "c" || t == "circa";
        if !(is_day || is_month) || i == 3 {
            return None;
        }
    }
    None
}

/// `135,765`, `3.2`, `735.5 m`: a number, optionally followed by a unit of at most two
/// words. Ranks (`30th`) and codes are not numbers.
fn leading_number(text: &str) -> Option<f64> {
    let mut tokens = text.split_whitespace();
    let first = tokens.next()?;
    let rest: Vec<&str> = tokens.collect();
    if rest.len() > 2
        || !rest
            .iter()
            .all(|u| u.chars().all(|c| c.is_alphabetic() || "%²³/.".contains(c)))
    {
        return None;
    }
    let first = first.trim_end_matches('%');
    if !first.chars().next()?.is_ascii_digit()
        || !first
            .chars()
            .all(|c| c.is_ascii_digit() || c == ',' || c == '.')
    {
        return None;
    }
    // A comma must group thousands (`5,15` is a truncated figure, not a number).
    if first.contains(',')
        && first
            .split(',')
            .skip(1)
            .any(|g| g.len() != 3 || g.contains('.'))
    {
        return None;
    }
    first.replace(',', "").parse().ok()
}

/// Renders a number as infobox text does: thousands separators, no trailing `.0`.
pub fn format_number(v: f64) -> String {
    if v.fract() != 0.0 || v.abs() >= 1e15 {
        return format!("{v}");
    }
    let digits = format!("{}", v.abs() as u64);
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    if v < 0.0 {
        out.insert(0, '-');
    }
    out
}

/// `1930s`, `early 1930s`, `mid 1930s`, `late 1930s` as a closed year range.
pub fn year_span(descr: &str) -> Option<(i32, i32)> {
    let (part, decade) = match descr.split_once(' ') {
        Some((p, d)) => (Some(p), d),
        None => (None, descr),
    };
    let start: i32 = decade.strip_suffix('s')?.parse().ok()?;
    if start % 10 != 0 {
        return None;
    }
    match part {
        None => Some((start, start + 9)),
        Some("early") => Some((start, start + 3)),
        Some("mid") => Some((start + 4, start + 6)),
        Some("late") => Some((start + 7, start + 9)),
        Some(_) => None,
    }
}

/// The decade description of `year` at the chosen precision (`fine`: early/mid/late).
pub fn describe_year(year: i32, fine: bool) -> String {
    let decade = year - year.rem_euclid(10);
    if !fine {
        return format!("{decade}s");
    }
    let part = match year.rem_euclid(10) {
        0..=3 => "early",
        4..=6 => "mid",
        _ => "late",
    };
    format!("{part} {decade}s")
}

/// `[lo, hi)` around `v` at its order of magnitude: 135,765 -> [100,000, 200,000).
pub fn number_span(v: f64) -> Option<(f64, f64)> {
    if !(v.is_finite() && v >= 1.0) {
        return None;
    }
    let magnitude = 10f64.powi(v.log10().floor() as i32);
    let lo = (v / magnitude).floor() * magnitude;
    Some((lo, lo + magnitude))
}

/// `between 100000 and 200000` <-> (lo, hi).
pub fn parse_number_span(descr: &str) -> Option<(f64, f64)> {
    let rest = descr.strip_prefix("between ")?;
    let (lo, hi) = rest.split_once(" and ")?;
    Some((lo.parse().ok()?, hi.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn classifies_infobox_values() {
        assert_eq!(
            classify("(1930-09-23)September 23, 1930 Albany, Georgia, U.S."),
            Value::Year { year: 1930 }
        );
        assert_eq!(classify("14 March 1879"), Value::Year { year: 1879 });
        assert_eq!(classify("2024"), Value::Year { year: 2024 });
        assert_eq!(classify("1879年3月14日"), Value::Year { year: 1879 });
        assert_eq!(classify("135,765"), Value::Number { value: 135765.0 });
        assert_eq!(classify("735.5"), Value::Number { value: 735.5 });
        assert_eq!(classify("5,15"), Value::Other);
        assert_eq!(classify("1 E12"), Value::Other);
        assert_eq!(classify("N"), Value::Other);
        assert_eq!(classify("735.5 m"), Value::Number { value: 735.5 });
        assert_eq!(classify("Montgomery"), Value::Text);
        assert_eq!(classify("30th"), Value::Text);
        assert_eq!(
            classify("As of 2010, English 95.1%, Spanish 3.1%"),
            Value::Other
        );
        assert_eq!(classify("raycharles.com"), Value::Other);
        assert_eq!(
            classify("R&B soul blues gospel country jazz rock and roll"),
            Value::Other
        );
    }

    #[test]
    fn keys_fold_synonyms() {
        assert_eq!(canonical_key("Born"), "born");
        assert_eq!(canonical_key("birth_date"), "born");
        assert_eq!(canonical_key("Occupation(s)"), "occupation");
        assert!(!askable_key("image"));
        assert!(!askable_key("image size"));
        assert!(askable_key("seat"));
    }

    #[test]
    fn spans_round_trip() {
        assert_eq!(describe_year(1932, true), "early 1930s");
        assert_eq!(year_span("early 1930s"), Some((1930, 1933)));
        assert_eq!(year_span(&describe_year(1998, false)), Some((1990, 1999)));
        assert_eq!(number_span(135765.0), Some((100000.0, 200000.0)));
        assert_eq!(
            parse_number_span("between 100000 and 200000"),
            Some((100000.0, 200000.0))
        );
        assert_eq!(format_number(135765.0), "135,765");
        assert_eq!(format_number(3.2), "3.2");
    }
}
