//! Chinese script variants: resolving MediaWiki's language-conversion markup
//! (`-{zh-hans:…;zh-hant:…}-`) to one variant and converting text between Simplified and
//! Traditional script.
//!
//! Conversion uses OpenCC's dictionaries through the pure-Rust `ferrous-opencc` crate
//! (Apache-2.0). We deliberately do not use the `zhconv` crate here: it is GPL-2.0+,
//! which a MIT/Apache-licensed binary cannot link without becoming GPL.
//!
//! Everyone who needs 简/繁 folding (documents, title lookup, index and query analysis)
//! should call [`to_variant`] / [`fold_to_simplified`] so that all stages agree.

use std::sync::OnceLock;

use ferrous_opencc::config::BuiltinConfig;
use ferrous_opencc::OpenCC;
use serde::{Deserialize, Serialize};

/// Target variant for Chinese text.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub enum ZhVariant {
    /// Simplified script (`zh-hans`), the default.
    #[default]
    #[serde(rename = "zh-hans")]
    Hans,
    /// Traditional script (`zh-hant`).
    #[serde(rename = "zh-hant")]
    Hant,
    /// Mainland China (`zh-cn`): Simplified script, also replacing Taiwan vocabulary
    /// (`網路` → `网络`; OpenCC `tw2sp`).
    #[serde(rename = "zh-cn")]
    Cn,
    /// Taiwan (`zh-tw`): Traditional script, Taiwan character forms.
    #[serde(rename = "zh-tw")]
    Tw,
    /// Hong Kong (`zh-hk`): Traditional script, Hong Kong character forms.
    #[serde(rename = "zh-hk")]
    Hk,
}

impl ZhVariant {
    pub const ALL: [ZhVariant; 5] = [
        ZhVariant::Hans,
        ZhVariant::Hant,
        ZhVariant::Cn,
        ZhVariant::Tw,
        ZhVariant::Hk,
    ];

    /// The MediaWiki variant code (`zh-hans`, …).
    pub fn code(self) -> &'static str {
        match self {
            ZhVariant::Hans => "zh-hans",
            ZhVariant::Hant => "zh-hant",
            ZhVariant::Cn => "zh-cn",
            ZhVariant::Tw => "zh-tw",
            ZhVariant::Hk => "zh-hk",
        }
    }

    /// Parses `zh-hans`, `hans`, `zh-CN`, … (case-insensitive).
    pub fn parse(s: &str) -> Option<ZhVariant> {
        let s = s.trim().to_ascii_lowercase();
        let s = s.strip_prefix("zh-").unwrap_or(&s);
        match s {
            "hans" | "sg" | "my" => Some(ZhVariant::Hans),
            "cn" => Some(ZhVariant::Cn),
            "hant" | "mo" => Some(ZhVariant::Hant),
            "tw" => Some(ZhVariant::Tw),
            "hk" => Some(ZhVariant::Hk),
            _ => None,
        }
    }

    /// Variant codes to look for in conversion markup, most preferred first (MediaWiki's
    /// fallback chains).
    fn fallbacks(self) -> &'static [&'static str] {
        match self {
            ZhVariant::Hans => &["zh-hans", "zh-cn", "zh-sg", "zh-my", "zh"],
            ZhVariant::Cn => &["zh-cn", "zh-hans", "zh-sg", "zh-my", "zh"],
            ZhVariant::Hant => &["zh-hant", "zh-tw", "zh-hk", "zh-mo", "zh"],
            ZhVariant::Tw => &["zh-tw", "zh-hant", "zh-hk", "zh-mo", "zh"],
            ZhVariant::Hk => &["zh-hk", "zh-hant", "zh-mo", "zh-tw", "zh"],
        }
    }

    /// True for the variants written in Simplified script.
    pub fn is_simplified(self) -> bool {
        matches!(self, ZhVariant::Hans | ZhVariant::Cn)
    }
}

impl std::fmt::Display for ZhVariant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

impl std::str::FromStr for ZhVariant {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        ZhVariant::parse(s).ok_or_else(|| {
            format!(
                "unknown Chinese variant {s:?} (expected zh-hans, zh-hant, zh-cn, zh-tw or zh-hk)"
            )
        })
    }
}

/// Lazily built converters, one per variant (building one loads its dictionaries).
fn converter(target: ZhVariant) -> Option<&'static OpenCC> {
    static CELLS: [OnceLock<Option<OpenCC>>; 5] = [
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
        OnceLock::new(),
    ];
    let (slot, config) = match target {
        ZhVariant::Hans => (0, BuiltinConfig::T2s),
        ZhVariant::Cn => (1, BuiltinConfig::Tw2sp),
        ZhVariant::Hant => (2, BuiltinConfig::S2t),
        ZhVariant::Tw => (3, BuiltinConfig::S2tw),
        ZhVariant::Hk => (4, BuiltinConfig::S2hk),
    };
    CELLS[slot]
        .get_or_init(|| match OpenCC::from_config(config) {
            Ok(c) => Some(c),
            Err(e) => {
                tracing::error!("cannot load OpenCC dictionaries for {target}: {e}");
                None
            }
        })
        .as_ref()
}

/// Converts plain text (no markup) to `target` script. Text without CJK passes through
/// untouched and cheaply.
pub fn to_variant(text: &str, target: ZhVariant) -> String {
    if !text.chars().any(is_cjk) {
        return text.to_string();
    }
    let Some(converter) = converter(target) else {
        return text.to_string();
    };
    // Wikitext is half ASCII (markup, references, URLs), which conversion leaves as is:
    // convert only the non-ASCII runs, several times faster than the whole text.
    let mut out = String::with_capacity(text.len() + text.len() / 8);
    let mut rest = text;
    while !rest.is_empty() {
        let ascii_len = rest.bytes().take_while(u8::is_ascii).count();
        out.push_str(&rest[..ascii_len]);
        rest = &rest[ascii_len..];
        let run_len = rest
            .char_indices()
            .find(|(_, c)| c.is_ascii() && !matches!(c, ' ' | '-' | '.' | '·'))
            .map_or(rest.len(), |(i, _)| i);
        if run_len > 0 {
            out.push_str(&converter.convert(&rest[..run_len]));
            rest = &rest[run_len..];
        }
    }
    out
}

/// Simplified-script folding for matching (titles, index and query terms): `數學` → `数学`.
pub fn fold_to_simplified(text: &str) -> String {
    to_variant(text, ZhVariant::Hans)
}

fn is_cjk(c: char) -> bool {
    matches!(c as u32, 0x3400..=0x4DBF | 0x4E00..=0x9FFF | 0xF900..=0xFAFF | 0x20000..=0x2FA1F)
}

/// Resolves conversion markup in wikitext and converts the rest to `target`.
///
/// - `-{zh-hans:甲;zh-hant:乙}-` → the text for `target` (with MediaWiki's fallbacks),
///   taken as written (not converted again);
/// - `-{text}-` and `-{R|text}-` → `text` verbatim (protected from conversion);
/// - `-{A|rules}-` → the text for `target`; `-{H|…}-`, `-{T|…}-`, `-{-|…}-` (rules
///   that only affect the rest of the page or the title) → nothing;
/// - `-{zh-hans;zh-hant|text}-` → `text`.
///
/// Page-wide rules from `-{H|…}-`, `-{A|…}-` and the manual (numbered) rules of
/// `{{NoteTA}}` are applied to the rest of the page ([`PageRules`]); NoteTA's named
/// groups (`G1=IT`) live in Wikipedia modules we do not have. Unclosed `-{` stays text.
pub fn resolve_conversion_markup(wikitext: &str, target: ZhVariant) -> String {
    PageRules::collect(wikitext, target).resolve(wikitext)
}

/// A page's own conversion rules for one target variant: `from` text → `to` text.
#[derive(Debug, Clone, Default)]
pub struct PageRules {
    target: ZhVariant,
    /// Longest `from` first, so longer words win over their prefixes.
    rules: Vec<(String, String)>,
    /// First bytes of the `from` texts: most positions are rejected with one lookup.
    first_bytes: Vec<bool>,
}

/// At most this many page rules are applied (a guard against rule spam).
const MAX_PAGE_RULES: usize = 256;

impl PageRules {
    /// Collects the rules defined anywhere in `wikitext`.
    pub fn collect(wikitext: &str, target: ZhVariant) -> PageRules {
        let mut rules: Vec<(String, String)> = Vec::new();
        let mut add_entries = |entries: &[(String, &str)]| {
            let Some(to) = target
                .fallbacks()
                .iter()
                .find_map(|code| entries.iter().find(|(c, _)| c == code).map(|(_, t)| *t))
            else {
                return;
            };
            for (_, from) in entries {
                if !from.is_empty() && *from != to && !rules.iter().any(|(f, _)| f == from) {
                    rules.push((from.to_string(), to.to_string()));
                }
            }
        };
        // -{H|…}- and -{A|…}-.
        let mut rest = wikitext;
        while let Some(p) = rest.find("-{") {
            let Some(end) = find_block_end(rest, p + 2) else {
                break;
            };
            let inner = &rest[p + 2..end];
            if let Some((flags, body)) = inner.split_once('|') {
                let flags = flags.trim().to_ascii_uppercase();
                if flags.split(';').any(|f| matches!(f.trim(), "H" | "A")) {
                    add_entries(&variant_entries(body));
                }
            }
            rest = &rest[end + 2..];
        }
        // {{NoteTA|1=zh-hans:…;zh-hant:…;|…}}: numbered or positional arguments.
        let lower = wikitext.to_ascii_lowercase();
        let mut from = 0;
        while let Some(p) = lower[from..].find("{{noteta") {
            let start = from + p;
            let Some(len) = wikitext[start..].find("}}") else {
                break;
            };
            for arg in wikitext[start + 2..start + len].split('|').skip(1) {
                let value = match arg.split_once('=') {
                    Some((key, value)) if key.trim().bytes().all(|b| b.is_ascii_digit()) => value,
                    Some(_) => continue,
                    None => arg,
                };
                add_entries(&variant_entries(value));
            }
            from = start + len;
        }
        rules.truncate(MAX_PAGE_RULES);
        rules.sort_by(|a, b| b.0.len().cmp(&a.0.len()).then_with(|| a.0.cmp(&b.0)));
        let mut first_bytes = vec![false; 256];
        for (from, _) in &rules {
            first_bytes[usize::from(from.as_bytes()[0])] = true;
        }
        PageRules {
            target,
            rules,
            first_bytes,
        }
    }

    /// Resolves conversion markup in `text` (any part of the page) and converts the
    /// rest, applying the page rules.
    pub fn resolve(&self, text: &str) -> String {
        let target = self.target;
        let mut out = String::with_capacity(text.len());
        let mut plain_start = 0;
        let mut i = 0;
        let bytes = text.as_bytes();
        while i + 1 < bytes.len() {
            if bytes[i] == b'-' && bytes[i + 1] == b'{' {
                if let Some(end) = find_block_end(text, i + 2) {
                    out.push_str(&self.convert_plain(&text[plain_start..i]));
                    let inner = &text[i + 2..end];
                    out.push_str(&resolve_block(inner, target));
                    i = end + 2;
                    plain_start = i;
                    continue;
                }
            }
            i += 1;
        }
        out.push_str(&self.convert_plain(&text[plain_start..]));
        out
    }

    /// Converts plain text, with page rules taking precedence over the dictionaries.
    fn convert_plain(&self, text: &str) -> String {
        if self.rules.is_empty() {
            return to_variant(text, self.target);
        }
        let mut out = String::with_capacity(text.len());
        let mut seg_start = 0;
        let mut i = 0;
        while i < text.len() {
            let rest = &text[i..];
            let candidate = self.first_bytes[usize::from(rest.as_bytes()[0])];
            if let Some((from, to)) = candidate
                .then(|| {
                    self.rules
                        .iter()
                        .find(|(f, _)| rest.starts_with(f.as_str()))
                })
                .flatten()
            {
                out.push_str(&to_variant(&text[seg_start..i], self.target));
                out.push_str(to);
                i += from.len();
                seg_start = i;
                continue;
            }
            i += rest.chars().next().map_or(1, char::len_utf8);
        }
        out.push_str(&to_variant(&text[seg_start..], self.target));
        out
    }
}

/// Index of the `}-` closing a block whose content starts at `from` (nesting-aware).
fn find_block_end(s: &str, from: usize) -> Option<usize> {
    let b = s.as_bytes();
    let mut depth = 0usize;
    let mut i = from;
    while i + 1 < b.len() {
        if b[i] == b'-' && b[i + 1] == b'{' {
            depth += 1;
            i += 2;
        } else if b[i] == b'}' && b[i + 1] == b'-' {
            if depth == 0 {
                return Some(i);
            }
            depth -= 1;
            i += 2;
        } else {
            i += 1;
        }
    }
    None
}

fn resolve_block(inner: &str, target: ZhVariant) -> String {
    // Flags before `|`: `-{H|…}-`, `-{zh-hans;zh-hant|text}-`.
    if let Some((flags, rest)) = inner.split_once('|') {
        let flags_t = flags.trim();
        let is_flag_list = !flags_t.is_empty()
            && flags_t.len() <= 40
            && flags_t.split(';').all(|f| {
                let f = f.trim();
                f.len() == 1 && f.chars().all(|c| c.is_ascii_alphabetic() || c == '-')
                    || is_variant_code(f)
            });
        if is_flag_list {
            let flags_u = flags_t.to_ascii_uppercase();
            let has = |f: &str| flags_u.split(';').any(|x| x.trim() == f);
            if has("H") || has("T") || has("-") || has("D") {
                return String::new();
            }
            if has("R") || flags_t.split(';').any(|f| is_variant_code(f.trim())) {
                return resolve_block_inner(rest, target, true);
            }
            return resolve_block_inner(rest, target, false);
        }
    }
    resolve_block_inner(inner, target, false)
}

/// `zh-hans:甲;zh-hant:乙` → the entry for `target`, or the whole text when it is not a
/// variant list (or when `raw`).
fn resolve_block_inner(inner: &str, target: ZhVariant, raw: bool) -> String {
    let entries = if raw {
        Vec::new()
    } else {
        variant_entries(inner)
    };
    if entries.is_empty() {
        // Nested markup inside a raw block still has to be resolved.
        if inner.contains("-{") {
            return resolve_conversion_markup_raw(inner, target);
        }
        return inner.to_string();
    }
    for code in target.fallbacks() {
        if let Some((_, text)) = entries.iter().find(|(c, _)| c == code) {
            return text.to_string();
        }
    }
    // No entry in the target's chain: convert the first one.
    to_variant(entries[0].1, target)
}

/// Like [`resolve_conversion_markup`] but without converting plain runs.
fn resolve_conversion_markup_raw(s: &str, target: ZhVariant) -> String {
    let mut out = String::new();
    let mut rest = s;
    while let Some(start) = rest.find("-{") {
        match find_block_end(rest, start + 2) {
            Some(end) => {
                out.push_str(&rest[..start]);
                out.push_str(&resolve_block(&rest[start + 2..end], target));
                rest = &rest[end + 2..];
            }
            None => break,
        }
    }
    out.push_str(rest);
    out
}

fn is_variant_code(s: &str) -> bool {
    let s = s.to_ascii_lowercase();
    s == "zh"
        || s.strip_prefix("zh-")
            .is_some_and(|v| ["hans", "hant", "cn", "tw", "hk", "mo", "sg", "my"].contains(&v))
}

/// Splits `zh-hans:甲;zh-hant:乙;` into entries; empty when the text is not such a list.
/// A `;` only separates entries when a variant code and `:` follow it, so values may
/// contain `;` and `:` (URLs, punctuation).
fn variant_entries(inner: &str) -> Vec<(String, &str)> {
    let mut entries = Vec::new();
    let mut rest = inner.trim_start();
    while let Some((code, after)) = rest.split_once(':') {
        let code = code.trim();
        if !is_variant_code(code) {
            break;
        }
        // Value runs to the next `;` that starts another entry.
        let mut cut = after.len();
        let mut search = 0;
        while let Some(p) = after[search..].find(';') {
            let at = search + p;
            let next = after[at + 1..].trim_start();
            let starts_entry = next
                .split_once(':')
                .is_some_and(|(c, _)| is_variant_code(c.trim()));
            if starts_entry || next.is_empty() {
                cut = at;
                break;
            }
            search = at + 1;
        }
        entries.push((code.to_ascii_lowercase(), after[..cut].trim()));
        if cut >= after.len() {
            break;
        }
        rest = &after[cut + 1..];
        if rest.trim().is_empty() {
            break;
        }
    }
    entries
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_traditional_to_simplified_and_back() {
        assert_eq!(fold_to_simplified("數學"), "数学");
        assert_eq!(to_variant("数学", ZhVariant::Hant), "數學");
        assert_eq!(to_variant("abc 123", ZhVariant::Hans), "abc 123");
    }

    #[test]
    fn resolves_variant_blocks_with_fallbacks() {
        let t = "相关-{zh-tw:資訊;zh-cn:信息;}-请参阅";
        assert_eq!(
            resolve_conversion_markup(t, ZhVariant::Hans),
            "相关信息请参阅"
        );
        assert_eq!(
            resolve_conversion_markup(t, ZhVariant::Tw),
            "相關資訊請參閱"
        );
        let t = "-{zh-hans:计算机; zh-hant:電腦;}-";
        assert_eq!(resolve_conversion_markup(t, ZhVariant::Hans), "计算机");
        assert_eq!(resolve_conversion_markup(t, ZhVariant::Hk), "電腦");
    }

    #[test]
    fn raw_and_rule_blocks() {
        // Plain block: kept verbatim, not converted.
        assert_eq!(
            resolve_conversion_markup("-{乾隆}-年間", ZhVariant::Hans),
            "乾隆年间"
        );
        assert_eq!(
            resolve_conversion_markup("a-{H|zh-hans:甲;zh-hant:乙}-b", ZhVariant::Hans),
            "ab"
        );
        assert_eq!(
            resolve_conversion_markup("-{A|zh-hans:甲;zh-hant:乙}-", ZhVariant::Hant),
            "乙"
        );
        assert_eq!(
            resolve_conversion_markup("-{R|raw: x;y}-", ZhVariant::Hans),
            "raw: x;y"
        );
        assert_eq!(
            resolve_conversion_markup("x -{ unclosed", ZhVariant::Hans),
            "x -{ unclosed"
        );
        assert_eq!(
            resolve_conversion_markup("-{zh-hans:http://a.b/c;zh-hant:http://d}-", ZhVariant::Hans),
            "http://a.b/c"
        );
    }

    #[test]
    fn zh_cn_also_converts_taiwan_vocabulary() {
        assert_eq!(to_variant("網路資訊", ZhVariant::Cn), "网络信息");
        assert_eq!(to_variant("網路資訊", ZhVariant::Hans), "网路资讯");
    }

    #[test]
    fn page_wide_rules_apply_to_the_rest_of_the_page() {
        let t = "-{H|zh-hans:软件;zh-hant:軟體;}-他使用軟體。";
        assert_eq!(
            resolve_conversion_markup(t, ZhVariant::Hans),
            "他使用软件。"
        );
        assert_eq!(
            resolve_conversion_markup(t, ZhVariant::Hant),
            "他使用軟體。"
        );
        let t = "{{NoteTA|zh-cn:信息; zh-hk:資訊; zh-tw:資訊;|G1=IT}}資訊科技";
        assert!(resolve_conversion_markup(t, ZhVariant::Cn).ends_with("信息科技"));
        // Rules found in one part of a page apply to another part.
        let rules = PageRules::collect("-{H|zh-hans:软件;zh-hant:軟體;}-", ZhVariant::Hans);
        assert_eq!(rules.resolve("軟體"), "软件");
    }

    #[test]
    fn parses_variant_names() {
        assert_eq!("zh-Hant".parse::<ZhVariant>(), Ok(ZhVariant::Hant));
        assert_eq!("zh-cn".parse::<ZhVariant>(), Ok(ZhVariant::Cn));
        assert_eq!("hans".parse::<ZhVariant>(), Ok(ZhVariant::Hans));
        assert!("fr".parse::<ZhVariant>().is_err());
    }
}
