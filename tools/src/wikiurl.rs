//! Turning what an agent passes to `visit` into a Wikipedia page reference.
//!
//! Accepted: `https://en.wikipedia.org/wiki/Title`, any language subdomain and the
//! mobile `en.m.` form, `http`, scheme-less `//host/…` and `host/…`, `/w/index.php?title=`,
//! Chinese variant paths (`/zh-cn/标题`), percent-encoding, `#Section`, and bare titles
//! (`Albert Einstein`, `Albert_Einstein#Early life`). Everything else (other sites,
//! `javascript:` and other non-web schemes, broken percent-encoding) is a page that
//! cannot be read, which `visit` answers like the live tool answers an unreachable page.

use simweb_wikidump::Lang;

/// A page reference resolved from the agent's string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PageTarget {
    Wiki {
        /// From the URL's subdomain; `None` for bare titles and `www.wikipedia.org`.
        lang: Option<Lang>,
        /// Display form: percent-decoded, underscores as spaces, trimmed.
        title: String,
        fragment: Option<String>,
    },
    /// Not something this offline web can serve; the reason is for structured output.
    Unreadable { reason: String },
}

fn unreadable(reason: impl Into<String>) -> PageTarget {
    PageTarget::Unreadable {
        reason: reason.into(),
    }
}

/// Schemes that are never web pages (and must never be "fetched").
const NON_WEB_SCHEMES: [&str; 10] = [
    "javascript:",
    "data:",
    "vbscript:",
    "file:",
    "mailto:",
    "about:",
    "blob:",
    "chrome:",
    "ftp:",
    "tel:",
];

/// Chinese Wikipedia serves script/region variants under these path prefixes.
const ZH_VARIANT_PATHS: [&str; 9] = [
    "/zh/",
    "/zh-cn/",
    "/zh-hans/",
    "/zh-hant/",
    "/zh-tw/",
    "/zh-hk/",
    "/zh-sg/",
    "/zh-mo/",
    "/zh-my/",
];

pub fn parse_target(input: &str) -> PageTarget {
    let input = input.trim();
    if input.is_empty() {
        return unreadable("empty URL");
    }
    let lower = input.to_ascii_lowercase();
    if let Some(scheme) = NON_WEB_SCHEMES.iter().find(|s| lower.starts_with(*s)) {
        return unreadable(format!("`{scheme}` URLs are not web pages"));
    }
    let rest = if let Some(pos) = input.find("://") {
        let scheme = &lower[..pos];
        if scheme != "http" && scheme != "https" {
            return unreadable(format!("unsupported URL scheme `{scheme}`"));
        }
        &input[pos + 3..]
    } else if let Some(rest) = input.strip_prefix("//") {
        rest
    } else if looks_like_wikipedia_host(&lower) {
        input
    } else {
        return bare_title(input);
    };
    parse_url_rest(rest)
}

fn looks_like_wikipedia_host(lower: &str) -> bool {
    let host = lower.split(['/', '?', '#']).next().unwrap_or("");
    host == "wikipedia.org" || host.ends_with(".wikipedia.org")
}

fn bare_title(input: &str) -> PageTarget {
    let (title, fragment) = match input.split_once('#') {
        Some((title, fragment)) => (title, Some(fragment)),
        None => (input, None),
    };
    let title = title.replace('_', " ").trim().to_string();
    if title.is_empty() {
        return unreadable("empty page title");
    }
    PageTarget::Wiki {
        lang: None,
        title,
        fragment: fragment.and_then(clean_fragment),
    }
}

fn parse_url_rest(rest: &str) -> PageTarget {
    let host_end = rest.find(['/', '?', '#']).unwrap_or(rest.len());
    let (authority, after_host) = rest.split_at(host_end);
    // Drop user info and port.
    let host = authority.rsplit('@').next().unwrap_or(authority);
    let host = host.split(':').next().unwrap_or(host).to_ascii_lowercase();
    if !(host == "wikipedia.org" || host.ends_with(".wikipedia.org")) {
        return unreadable(format!(
            "`{host}` is not part of this offline web (Wikipedia only)"
        ));
    }
    let lang = match host.strip_suffix("wikipedia.org").unwrap_or("") {
        "" | "www." | "m." => None,
        sub => {
            let code = sub.split('.').next().unwrap_or("");
            match code {
                "en" => Some(Lang::En),
                "zh" => Some(Lang::Zh),
                other => {
                    return unreadable(format!(
                        "the `{other}` Wikipedia is not part of this offline web"
                    ))
                }
            }
        }
    };

    let (before_fragment, fragment) = match after_host.split_once('#') {
        Some((head, fragment)) => (head, Some(fragment)),
        None => (after_host, None),
    };
    let (path, query) = match before_fragment.split_once('?') {
        Some((path, query)) => (path, Some(query)),
        None => (before_fragment, None),
    };

    let raw_title = if let Some(title) = path.strip_prefix("/wiki/") {
        title.to_string()
    } else if let Some(title) = ZH_VARIANT_PATHS.iter().find_map(|p| path.strip_prefix(p)) {
        title.to_string()
    } else if path == "/w/index.php" || path == "/index.php" {
        match query.and_then(|q| query_param(q, "title")) {
            Some(title) => title.replace('+', " "),
            None => return unreadable("index.php URL without a `title=` parameter"),
        }
    } else {
        return unreadable(format!("no article in the URL path `{path}`"));
    };

    let title = match percent_decode(&raw_title) {
        Ok(title) => title.replace('_', " ").trim().to_string(),
        Err(reason) => return unreadable(format!("invalid URL: {reason}")),
    };
    if title.is_empty() {
        return unreadable("empty page title");
    }
    let fragment = match fragment.map(percent_decode).transpose() {
        Ok(fragment) => fragment.as_deref().and_then(clean_fragment),
        Err(reason) => return unreadable(format!("invalid URL fragment: {reason}")),
    };
    PageTarget::Wiki {
        lang,
        title,
        fragment,
    }
}

fn query_param<'a>(query: &'a str, name: &str) -> Option<&'a str> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .map(|(_, value)| value)
}

fn clean_fragment(fragment: &str) -> Option<String> {
    let fragment = fragment.replace('_', " ").trim().to_string();
    (!fragment.is_empty()).then_some(fragment)
}

/// Strict percent-decoding: every `%` must start two hex digits and the bytes must be
/// UTF-8 (browsers and MediaWiki reject the rest too).
pub fn percent_decode(input: &str) -> Result<String, String> {
    let bytes = input.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        if bytes[i] == b'%' {
            let hex = bytes
                .get(i + 1..i + 3)
                .and_then(|h| std::str::from_utf8(h).ok())
                .and_then(|h| u8::from_str_radix(h, 16).ok());
            match hex {
                Some(byte) => {
                    out.push(byte);
                    i += 3;
                }
                None => {
                    let bad: String = input[i..].chars().take(3).collect();
                    return Err(format!("bad percent-escape `{bad}`"));
                }
            }
        } else {
            out.push(bytes[i]);
            i += 1;
        }
    }
    String::from_utf8(out).map_err(|_| "percent-escapes do not decode to UTF-8".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wiki(lang: Option<Lang>, title: &str, fragment: Option<&str>) -> PageTarget {
        PageTarget::Wiki {
            lang,
            title: title.to_string(),
            fragment: fragment.map(str::to_string),
        }
    }

    #[test]
    fn every_accepted_url_form() {
        let en = Some(Lang::En);
        let cases = [
            (
                "https://en.wikipedia.org/wiki/Albert_Einstein",
                wiki(en, "Albert Einstein", None),
            ),
            (
                "http://en.wikipedia.org/wiki/Albert_Einstein",
                wiki(en, "Albert Einstein", None),
            ),
            (
                "https://en.m.wikipedia.org/wiki/Albert_Einstein",
                wiki(en, "Albert Einstein", None),
            ),
            (
                "//en.wikipedia.org/wiki/Albert_Einstein",
                wiki(en, "Albert Einstein", None),
            ),
            (
                "en.wikipedia.org/wiki/Albert_Einstein",
                wiki(en, "Albert Einstein", None),
            ),
            (
                "HTTPS://EN.WIKIPEDIA.ORG/wiki/Albert_Einstein",
                wiki(en, "Albert Einstein", None),
            ),
            (
                "https://en.wikipedia.org/wiki/Albert_Einstein#Early_life",
                wiki(en, "Albert Einstein", Some("Early life")),
            ),
            (
                "https://en.wikipedia.org/w/index.php?title=Albert_Einstein&oldid=1",
                wiki(en, "Albert Einstein", None),
            ),
            (
                "https://en.wikipedia.org/w/index.php?action=view&title=Albert+Einstein",
                wiki(en, "Albert Einstein", None),
            ),
            (
                "https://en.wikipedia.org/wiki/Caf%C3%A9_au_lait",
                wiki(en, "Café au lait", None),
            ),
            (
                "https://zh.wikipedia.org/wiki/%E5%8C%97%E4%BA%AC",
                wiki(Some(Lang::Zh), "北京", None),
            ),
            (
                "https://zh.wikipedia.org/zh-cn/北京",
                wiki(Some(Lang::Zh), "北京", None),
            ),
            (
                "https://www.wikipedia.org/wiki/Paris",
                wiki(None, "Paris", None),
            ),
            ("Albert Einstein", wiki(None, "Albert Einstein", None)),
            (
                "Albert_Einstein#Early life",
                wiki(None, "Albert Einstein", Some("Early life")),
            ),
            (
                "Star Wars: A New Hope",
                wiki(None, "Star Wars: A New Hope", None),
            ),
            ("100% pure", wiki(None, "100% pure", None)),
        ];
        for (input, expected) in cases {
            assert_eq!(parse_target(input), expected, "{input}");
        }
    }

    #[test]
    fn unreadable_inputs_say_why() {
        let reason = |input: &str| match parse_target(input) {
            PageTarget::Unreadable { reason } => reason,
            other => panic!("{input} parsed as {other:?}"),
        };
        assert!(reason("javascript:alert(1)").contains("javascript:"));
        assert!(reason("JavaScript:alert(1)").contains("javascript:"));
        assert!(reason("data:text/html,<b>x</b>").contains("data:"));
        assert!(reason("https://example.com/page").contains("example.com"));
        assert!(reason("https://evil.com/en.wikipedia.org/wiki/X").contains("evil.com"));
        assert!(reason("https://en.wikipedia.org.evil.com/wiki/X").contains("evil.com"));
        assert!(reason("https://de.wikipedia.org/wiki/Berlin").contains("`de` Wikipedia"));
        assert!(reason("https://en.wikipedia.org/wiki/Bad%ZZ").contains("bad percent-escape"));
        assert!(reason("https://en.wikipedia.org/wiki/Bad%E5").contains("UTF-8"));
        assert!(reason("https://en.wikipedia.org/wiki/Bad%4").contains("bad percent-escape"));
        assert!(reason("https://en.wikipedia.org/wiki/Bad%FF%FE").contains("UTF-8"));
        assert!(reason("https://en.wikipedia.org/").contains("no article"));
        assert!(reason("https://en.wikipedia.org/w/index.php?oldid=3").contains("title="));
        assert!(reason("ftp://en.wikipedia.org/wiki/X").contains("ftp:"));
        assert!(reason("gopher://en.wikipedia.org/wiki/X").contains("gopher"));
        assert!(reason("   ").contains("empty"));
        assert!(reason("https://en.wikipedia.org/wiki/_").contains("empty"));
    }
}
