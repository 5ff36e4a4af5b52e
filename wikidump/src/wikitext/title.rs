//! Page titles, URLs and redirect targets in their canonical display form.

use crate::model::Lang;

/// Canonical display form of a title: `_` → space, whitespace collapsed, first letter
/// upper-case (MediaWiki's `first-letter` case rule, used by en and zh Wikipedia), HTML
/// entities decoded. Fragments are not stripped here.
pub fn normalize_title(raw: &str, _lang: Lang) -> String {
    let decoded = super::entities::decode_entities(raw);
    let spaced = decoded.replace('_', " ");
    let mut out = String::with_capacity(spaced.len());
    for word in spaced.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    let mut chars = out.chars();
    match chars.next() {
        Some(first) if first.is_lowercase() => first.to_uppercase().chain(chars).collect(),
        _ => out,
    }
}

/// One URL scheme for every source (wikitext, ZIM, JSONL): see [`crate::normalize::canonical_url`].
pub use crate::normalize::canonical_url;

/// Splits `Target#Section` into the normalised title and the fragment.
pub fn split_fragment(target: &str, lang: Lang) -> (String, Option<String>) {
    match target.split_once('#') {
        Some((page, frag)) => {
            let frag = frag.trim().replace('_', " ");
            (
                normalize_title(page, lang),
                (!frag.is_empty()).then_some(frag),
            )
        }
        None => (normalize_title(target, lang), None),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn titles_urls_fragments() {
        assert_eq!(
            normalize_title(" albert_einstein ", Lang::En),
            "Albert einstein"
        );
        assert_eq!(normalize_title("数学", Lang::Zh), "数学");
        assert_eq!(
            canonical_url("Albert Einstein", Lang::En),
            "https://en.wikipedia.org/wiki/Albert_Einstein"
        );
        assert_eq!(
            canonical_url("数学", Lang::Zh),
            "https://zh.wikipedia.org/wiki/数学"
        );
        assert_eq!(
            split_fragment("computer_accessibility#History", Lang::En),
            (
                "Computer accessibility".to_string(),
                Some("History".to_string())
            )
        );
    }
}
