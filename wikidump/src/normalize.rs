//! Title normalisation and URL <-> title mapping.
//!
//! MediaWiki treats `albert_einstein`, `Albert Einstein` and `Albert%20Einstein` as the
//! same page, and zhwiki treats `數學` and `数学` as the same page through its variant
//! converter. The store keys titles by [`title_key`] so every spelling an agent may
//! produce resolves to one document.

use percent_encoding::percent_decode_str;

use crate::model::Lang;

/// Characters escaped in canonical URLs: the ASCII ones that would change a URL's
/// meaning. Everything else (including CJK) stays readable, as Wikipedia shows it.
fn needs_escape(c: char) -> bool {
    c.is_ascii_control()
        || matches!(
            c,
            '"' | '#' | '%' | '<' | '>' | '?' | '[' | ']' | '{' | '}' | '|'
        )
}

/// Traditional -> simplified Chinese folding (OpenCC tables, shared with the cleaner so
/// every stage folds the same way).
pub fn fold_zh(text: &str) -> String {
    crate::chinese::fold_to_simplified(text)
}

/// True when `text` contains CJK ideographs: used to route a query to the Chinese index.
pub fn has_cjk(text: &str) -> bool {
    text.chars().any(is_cjk)
}

/// CJK ideographs and the common CJK punctuation/kana blocks.
pub fn is_cjk(c: char) -> bool {
    matches!(c as u32,
        0x3040..=0x30FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// The display form of a title: percent-decoded, `_` -> space, whitespace collapsed, and
/// the first letter upper-cased (MediaWiki's `$wgCapitalLinks`, on for en and zh).
pub fn display_title(title: &str) -> String {
    let decoded = if title.contains('%') {
        percent_decode_str(title).decode_utf8_lossy().into_owned()
    } else {
        title.to_string()
    };
    let spaced = decoded.replace('_', " ");
    let collapsed = spaced.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut chars = collapsed.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

/// The lookup key of a title in `lang`: its display form, folded to simplified Chinese
/// for zh. Two titles with the same key are the same page.
pub fn title_key(title: &str, lang: Lang) -> String {
    let display = display_title(title);
    match lang {
        Lang::En => display,
        Lang::Zh => fold_zh(&display),
    }
}

/// A looser key (full lower-case) used only as a fallback when the exact key misses,
/// so `albert EINSTEIN` still finds the page.
pub fn folded_key(title: &str, lang: Lang) -> String {
    title_key(title, lang).to_lowercase()
}

/// `https://en.wikipedia.org/wiki/Albert_Einstein`, `https://zh.wikipedia.org/wiki/数学`.
pub fn canonical_url(title: &str, lang: Lang) -> String {
    let path = display_title(title).replace(' ', "_");
    let mut encoded = String::with_capacity(path.len());
    for c in path.chars() {
        if needs_escape(c) {
            encoded.push_str(&format!("%{:02X}", c as u32));
        } else {
            encoded.push(c);
        }
    }
    format!("https://{}.wikipedia.org/wiki/{encoded}", lang.code())
}

/// A title reference parsed from user input: a bare title, `Title#Section`, or a
/// Wikipedia URL (`https://en.wikipedia.org/wiki/Title#Section`,
/// `.../w/index.php?title=Title`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TitleRef {
    /// The language named by the URL host, if the input was a Wikipedia URL.
    pub lang: Option<Lang>,
    pub title: String,
    pub fragment: Option<String>,
}

/// Parses a title or a Wikipedia URL. Returns `None` for empty input.
pub fn parse_title_ref(input: &str) -> Option<TitleRef> {
    let input = input.trim();
    if input.is_empty() {
        return None;
    }
    let (lang, rest) = match strip_wikipedia_url(input) {
        Some((lang, rest)) => (lang, rest),
        None => (None, input.to_string()),
    };
    let (title, fragment) = match rest.split_once('#') {
        Some((t, f)) => {
            let f = display_fragment(f);
            (t.to_string(), if f.is_empty() { None } else { Some(f) })
        }
        None => (rest, None),
    };
    let title = display_title(&title);
    if title.is_empty() {
        return None;
    }
    Some(TitleRef {
        lang,
        title,
        fragment,
    })
}

fn display_fragment(fragment: &str) -> String {
    let decoded = percent_decode_str(fragment).decode_utf8_lossy();
    decoded.replace('_', " ").trim().to_string()
}

/// `https://xx.wikipedia.org/wiki/T` (any scheme, `m.` mobile hosts, `index.php?title=`)
/// -> (lang, `T[#frag]`). Unknown languages keep `None`.
fn strip_wikipedia_url(input: &str) -> Option<(Option<Lang>, String)> {
    let without_scheme = input
        .strip_prefix("https://")
        .or_else(|| input.strip_prefix("http://"))
        .or_else(|| input.strip_prefix("//"))?;
    let (host, path) = without_scheme.split_once('/')?;
    let host = host.to_ascii_lowercase();
    if !host.ends_with("wikipedia.org") {
        return None;
    }
    let lang = match host.split('.').next() {
        Some("en") => Some(Lang::En),
        Some("zh") => Some(Lang::Zh),
        _ => None,
    };
    if let Some(title) = path.strip_prefix("wiki/") {
        return Some((lang, title.to_string()));
    }
    if let Some(query) = path.split_once('?').map(|(_, q)| q) {
        for pair in query.split('&') {
            if let Some(t) = pair.strip_prefix("title=") {
                return Some((lang, t.replace('+', " ")));
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn display_title_normalises_case_underscores_and_escapes() {
        assert_eq!(display_title("albert_einstein"), "Albert einstein");
        assert_eq!(display_title("Albert%20Einstein"), "Albert Einstein");
        assert_eq!(display_title("  Ray   Charles "), "Ray Charles");
        assert_eq!(display_title("%E6%95%B0%E5%AD%A6"), "数学");
    }

    #[test]
    fn zh_keys_fold_traditional_to_simplified() {
        assert_eq!(title_key("數學", Lang::Zh), title_key("数学", Lang::Zh));
        assert_ne!(title_key("數學", Lang::En), title_key("数学", Lang::En));
    }

    #[test]
    fn parses_urls_and_fragments() {
        let r =
            parse_title_ref("https://en.wikipedia.org/wiki/Albert_Einstein#Early_life").unwrap();
        assert_eq!(r.lang, Some(Lang::En));
        assert_eq!(r.title, "Albert Einstein");
        assert_eq!(r.fragment.as_deref(), Some("Early life"));
        let r = parse_title_ref("https://zh.m.wikipedia.org/w/index.php?title=%E6%95%B0%E5%AD%A6")
            .unwrap();
        assert_eq!((r.lang, r.title.as_str()), (Some(Lang::Zh), "数学"));
        let r = parse_title_ref("anarchism").unwrap();
        assert_eq!(
            (r.lang, r.title.as_str(), r.fragment),
            (None, "Anarchism", None)
        );
        assert!(parse_title_ref("  ").is_none());
    }

    #[test]
    fn canonical_urls_keep_cjk_readable() {
        assert_eq!(
            canonical_url("Albert Einstein", Lang::En),
            "https://en.wikipedia.org/wiki/Albert_Einstein"
        );
        assert_eq!(
            canonical_url("数学", Lang::Zh),
            "https://zh.wikipedia.org/wiki/数学"
        );
        assert_eq!(
            canonical_url("What? #1", Lang::En),
            "https://en.wikipedia.org/wiki/What%3F_%231"
        );
    }
}
