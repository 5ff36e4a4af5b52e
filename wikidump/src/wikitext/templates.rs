//! What each template leaves on the page. We do not expand templates (that needs the
//! Template namespace and Lua modules); instead a table says, for the templates that
//! matter to readable prose, which argument is the visible text. Everything else
//! (citations, navigation boxes, hatnotes, maintenance tags) disappears.

use crate::model::Lang;

/// Rendered arguments of a template: `(lower-cased key if named, text)`.
pub(crate) type RenderedArgs = [(Option<String>, String)];

pub(crate) enum TemplateAction {
    Drop,
    /// Named arguments become `key: value` lines of the lead section.
    Infobox,
    /// Fixed text.
    Text(&'static str),
    /// The page title (`{{PAGENAME}}`).
    PageTitle,
    /// The n-th positional argument (1-based).
    Positional(usize),
    /// The first non-empty of these arguments (names or positions).
    FirstOf(&'static [&'static str]),
    /// A fixed prefix then the n-th positional argument (`c. 1500`).
    Prefixed(&'static str, usize),
    /// All positional arguments joined by a separator (`{{hlist|a|b}}`).
    JoinPositional(&'static str),
    /// All positional arguments on lines of their own.
    Lines,
    /// Computed from all rendered arguments.
    Custom(fn(&RenderedArgs, Lang) -> String),
}

/// `Template:Birth_date  and age` → `birth date and age`.
pub(crate) fn normalize_name(raw: &str) -> String {
    let mut name = raw.trim();
    for prefix in [
        "subst:",
        "safesubst:",
        "msgnw:",
        "template:",
        "Template:",
        "模板:",
        "Subst:",
    ] {
        if let Some(r) = name.strip_prefix(prefix) {
            name = r.trim_start();
        }
    }
    let name = name.replace('_', " ");
    let mut out = String::with_capacity(name.len());
    for word in name.split_whitespace() {
        if !out.is_empty() {
            out.push(' ');
        }
        out.push_str(word);
    }
    out.to_lowercase()
}

pub(crate) fn classify(name: &str, lang: Lang) -> TemplateAction {
    use TemplateAction::*;
    if name.starts_with('#') || name.contains(':') {
        // Parser functions ({{#if:…}}, {{#invoke:…}}) and magic words ({{DEFAULTSORT:…}}):
        // their result depends on data we do not have.
        return Drop;
    }
    if is_infobox(name) {
        return Infobox;
    }
    if let Some(action) = inline_text(name) {
        return action;
    }
    if name.starts_with("lang-") || name.starts_with("lang ") {
        // {{lang-fr|texte}}: the foreign text.
        return Positional(1);
    }
    if name.starts_with("cite") || name.starts_with("citation") {
        return Drop;
    }
    if lang == Lang::Zh {
        if let Some(action) = zh_inline_text(name) {
            return action;
        }
    }
    Drop
}

fn is_infobox(name: &str) -> bool {
    name.starts_with("infobox")
        || name.ends_with(" infobox")
        || name.contains("信息框")
        || name.contains("資訊框")
        || matches!(
            name,
            "taxobox"
                | "automatic taxobox"
                | "speciesbox"
                | "subspeciesbox"
                | "chembox"
                | "drugbox"
                | "geobox"
                | "planetbox"
                | "starbox"
                | "element box"
                | "persondata"
        )
}

fn inline_text(name: &str) -> Option<TemplateAction> {
    use TemplateAction::*;
    Some(match name {
        // Text kept as is.
        "nowrap"
        | "nobr"
        | "nobreak"
        | "small"
        | "smaller"
        | "big"
        | "larger"
        | "large"
        | "huge"
        | "smallcaps"
        | "sc"
        | "sc1"
        | "sc2"
        | "lower"
        | "sup"
        | "sub"
        | "su"
        | "em"
        | "strong"
        | "var"
        | "mvar"
        | "math"
        | "code"
        | "kbd"
        | "samp"
        | "tt"
        | "sic"
        | "not a typo"
        | "typo"
        | "proper name"
        | "linktext"
        | "vanchor"
        | "visible anchor"
        | "anchored"
        | "nowrap begin"
        | "center"
        | "centre"
        | "right"
        | "left"
        | "resize"
        | "font"
        | "font color"
        | "color"
        | "colored"
        | "text"
        | "abbr"
        | "abbrlink"
        | "tooltip"
        | "hover title"
        | "keypress"
        | "key press"
        | "angbr"
        | "bracket"
        | "ipa"
        | "ipa-all"
        | "ipablink"
        | "script"
        | "unicode"
        | "polytonic"
        | "ill"
        | "interlanguage link"
        | "interlanguage link multi"
        | "flagcountry"
        | "flag country"
        | "flag"
        | "flagu"
        | "country"
        | "quote"
        | "blockquote"
        | "cquote"
        | "quotation"
        | "poem quote"
        | "verse translation"
        | "lang"
        | "noitalic"
        | "nocaps"
        | "uc"
        | "lc"
        | "ucfirst"
        | "lcfirst"
        | "smallcaps all"
        | "serif"
        | "sans-serif"
        | "monospace"
        | "transl"
        | "transliteration"
        | "ipa link"
        | "section link"
        | "slink"
        | "chem2"
        | "nihongo2"
        | "w"
        | "wikt"
        | "wiktionary link"
        | "in lang"
        | "uss"
        | "hms"
        | "ship"
        | "sclass"
        | "gaps"
        | "var serif" => match name {
            // {{lang|fr|texte}}, {{transl|ja|romaji}}: text is the 2nd positional.
            "lang" | "transl" | "transliteration" | "script" | "ipa link" => Positional(2),
            "color" | "colored" | "font color" => FirstOf(&["2", "1"]),
            "quote" | "blockquote" | "cquote" | "quotation" => FirstOf(&["text", "quote", "1"]),
            "resize" => FirstOf(&["2", "1"]),
            "ship" | "uss" | "hms" => JoinPositional(" "),
            "gaps" => JoinPositional(" "),
            _ => Positional(1),
        },
        "nihongo" | "nihongo3" | "zh" | "chinese" | "korean" | "ko-hhrm" => {
            FirstOf(&["1", "c", "t", "s", "hangul", "2"])
        }
        "hlist" | "flatlist" | "plainlist" | "unbulleted list" | "ubl" | "ubil"
        | "bulleted list" | "bulleted" | "ordered list" | "pagelist" | "enum" => match name {
            "hlist" => JoinPositional(" · "),
            "flatlist" | "plainlist" => Lines,
            _ => Lines,
        },
        "div col" | "div col end" | "col-begin" | "col-end" | "col-break" | "clear" | "-"
        | "clr" | "clearleft" | "clearright" | "refbegin" | "refend" => Drop,
        "'" => Text("'"),
        "\"" => Text("\""),
        "!" => Text("|"),
        "=" => Text("="),
        "!!" => Text("||"),
        "·" | "dot" | "middot" | "dot separator" | "•" | "bull" | "bullet" => Text(" · "),
        "ndash" | "en dash" | "–" => Text("–"),
        "mdash" | "em dash" | "—" => Text("—"),
        "snd" | "spaced ndash" | "spaced en dash" | "spnd" | "sndash" => Text(" – "),
        "spaced mdash" | "spaced em dash" => Text(" — "),
        "nbsp" | "sp" | "space" | "thinsp" | "thin space" | "hair space" | "zwsp" => Text(" "),
        "okina" => Text("ʻ"),
        "shy" | "wbr" | "0" | "zwj" => Text(""),
        "pagename" | "pagenamebase" | "fullpagename" | "subpagename" => PageTitle,
        "c." | "circa" | "ca." | "ca" => Prefixed("c. ", 1),
        "fl." | "floruit" => Prefixed("fl. ", 1),
        "reign" | "r." => Prefixed("r. ", 1),
        "born in" => Prefixed("born ", 1),
        "as of" => Custom(as_of),
        "convert" | "cvt" => Custom(convert),
        "val" => Custom(val),
        "frac" | "fraction" | "sfrac" => Custom(frac),
        "us$" | "usd" => Custom(|a, _| currency("US$", a)),
        "£" | "gbp" => Custom(|a, _| currency("£", a)),
        "€" | "eur" => Custom(|a, _| currency("€", a)),
        "¥" | "yen" | "jpy" => Custom(|a, _| currency("¥", a)),
        "inrconvert" | "inr" => Custom(|a, _| currency("₹", a)),
        "sortname" => Custom(|a, _| join_first_positionals(a, 2, " ")),
        "ordinal" => Custom(ordinal),
        "birth date"
        | "birth date and age"
        | "bda"
        | "dob"
        | "death date"
        | "start date"
        | "end date"
        | "start date and age"
        | "end date and age"
        | "date"
        | "film date"
        | "release date"
        | "start-date"
        | "end-date"
        | "birth year and age"
        | "death year and age"
        | "birth-date"
        | "death-date"
        | "birth date and age2"
        | "dts"
        | "date and age"
        | "opening date"
        | "first aired" => Custom(date),
        "death date and age" | "dda" => Custom(death_date_and_age),
        "marriage" | "married" => Custom(|a, _| join_first_positionals(a, 1, "")),
        "coord" | "coor" | "coord missing" => Drop,
        // {{chem|H|2|O}} → H2O.
        "chem" | "chemf" | "chem name" => JoinPositional(""),
        // {{SimpleNuclide2|Carbon|14}} → Carbon-14.
        "simplenuclide" | "simplenuclide2" | "nuclide" | "iso" => JoinPositional("-"),
        "nts" | "ntsh" | "sort" | "sortkey" | "vr" | "overline" | "tmath" | "bigmath" | "mono"
        | "pre" | "lsj" | "google books" | "isbnt" => match name {
            "sort" | "sortkey" => FirstOf(&["2", "1"]),
            "lsj" | "google books" => FirstOf(&["2", "1"]),
            _ => Positional(1),
        },
        "pipe" => Text("|"),
        "sqrt" | "radic" => Prefixed("√", 1),
        "e" => Prefixed("×10^", 1),
        _ => return None,
    })
}

fn zh_inline_text(name: &str) -> Option<TemplateAction> {
    use TemplateAction::*;
    Some(match name {
        // {{le|中文名|English|显示}} / {{link-en|…}}: shows 3rd arg if given, else the 1st.
        "le"
        | "link-en"
        | "link-ja"
        | "link-de"
        | "link-fr"
        | "ill"
        | "internal link helper/en"
        | "link-ko"
        | "link-ru" => FirstOf(&["3", "1"]),
        // {{tsl|en|English|中文|显示}}.
        "tsl" | "translink" => FirstOf(&["4", "3", "2"]),
        "en" | "en-us" | "en-uk" | "lang-en" | "zh-hans" | "zh-hant" | "zh-cn" | "zh-tw"
        | "zh-hk" | "le-zh" | "bd" | "ruby" | "黑幕" | "专名号" | "專名號" | "僅限" => {
            Positional(1)
        }
        "ruby-zh-p" | "ruby-zh-b" => Positional(1),
        "bd1" => Custom(|a, _| join_first_positionals(a, 2, "－")),
        _ => return None,
    })
}

/// Infobox fields that are not text (images, layout, technical switches).
pub(crate) fn is_non_text_infobox_key(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    let k = k.trim();
    const EXACT: &[&str] = &[
        "alt",
        "caption",
        "embed",
        "child",
        "module",
        "onlysourced",
        "fetchwikidata",
        "qid",
        "footnotes",
        "bodyclass",
        "bodystyle",
        "above",
        "abovestyle",
        "below",
        "labelstyle",
        "datastyle",
        "headerstyle",
        "color",
        "colour",
        "box_width",
        "width",
        "size",
        "upright",
        "noicon",
        "nocat",
        "italic title",
        "italic_title",
        "image_map",
        "pushpin_map",
        "pushpin map",
        "relief",
        "mapframe",
        "coordinates",
        "coords",
        "coord",
        "coordinates_footnotes",
        "signature_alt",
        "dmy",
        "mdy",
        "blank_emblem_type",
        "module2",
        "module3",
        "data",
        "label",
        "website",
        "url",
        "homepage",
    ];
    EXACT.contains(&k)
        || k.starts_with("image")
        || k.ends_with("image")
        || k.starts_with("map")
        || k.contains("_map")
        || k.starts_with("logo")
        || k.starts_with("flag")
        || k.starts_with("seal")
        || k.starts_with("signature")
        || k.starts_with("coat")
        || k.ends_with("caption")
        || k.ends_with("_alt")
        || k.ends_with("size")
        || k.ends_with("style")
        || k.starts_with("pushpin")
        || k.ends_with("_ref")
        || k.ends_with("footnotes")
}

pub(crate) enum NsKind {
    File,
    Category,
    /// Any other namespace or interwiki prefix: not an article link.
    Other,
}

pub(crate) fn namespace_kind(prefix: &str) -> Option<NsKind> {
    Some(match prefix {
        "file" | "image" | "media" | "文件" | "檔案" | "档案" | "图像" | "圖像" | "媒体"
        | "媒體" | "图片" | "圖片" | "imagen" | "datei" | "fichier" => NsKind::File,
        "category" | "分类" | "分類" | "cat" => NsKind::Category,
        "wikipedia" | "wp" | "project" | "help" | "template" | "portal" | "user" | "special"
        | "talk" | "user talk" | "wikipedia talk" | "template talk" | "category talk"
        | "file talk" | "help talk" | "portal talk" | "draft" | "module" | "mediawiki" | "book"
        | "timedtext" | "wikt" | "wiktionary" | "commons" | "s" | "wikisource" | "q"
        | "wikiquote" | "b" | "wikibooks" | "n" | "wikinews" | "v" | "wikiversity" | "voy"
        | "wikivoyage" | "species" | "wikispecies" | "d" | "wikidata" | "mw" | "meta" | "m"
        | "w" | "wikimedia" | "foundation" | "wmf" | "phab" | "doi" | "iarchive" | "google"
        | "arxiv" | "rfc" | "hdl" | "jstor" | "oclc" | "isbn" | "维基百科" | "維基百科"
        | "帮助" | "幫助" | "模板" | "模块" | "模組" | "主题" | "主題" | "用户" | "用戶"
        | "特殊" | "讨论" | "討論" | "维基词典" | "維基詞典" => NsKind::Other,
        _ => return None,
    })
}

/// Wikipedia language codes as used in interlanguage links (`[[fr:Paris]]`).
pub(crate) fn is_language_code(prefix: &str) -> bool {
    let b = prefix.as_bytes();
    let simple = (2..=3).contains(&b.len()) && b.iter().all(|c| c.is_ascii_lowercase());
    simple
        || matches!(
            prefix,
            "simple"
                | "zh-yue"
                | "zh-min-nan"
                | "zh-classical"
                | "be-x-old"
                | "be-tarask"
                | "roa-rup"
                | "roa-tara"
                | "bat-smg"
                | "fiu-vro"
                | "nds-nl"
                | "map-bms"
                | "cbk-zam"
                | "zh-tw"
                | "zh-cn"
                | "als"
                | "arz"
                | "azb"
                | "ckb"
                | "pnb"
        )
}

/// Parser functions whose result is their (reformatted) argument.
pub(crate) fn text_function(name: &str) -> Option<fn(&str) -> String> {
    Some(match name {
        "formatnum" => format_number,
        "lc" => |s: &str| s.to_lowercase(),
        "uc" => |s: &str| s.to_uppercase(),
        "lcfirst" => |s: &str| {
            let mut c = s.chars();
            c.next()
                .map_or(String::new(), |f| f.to_lowercase().chain(c).collect())
        },
        "ucfirst" => |s: &str| {
            let mut c = s.chars();
            c.next()
                .map_or(String::new(), |f| f.to_uppercase().chain(c).collect())
        },
        _ => return None,
    })
}

/// `1234567.5` → `1,234,567.5`; anything that is not a plain number stays as is.
fn format_number(s: &str) -> String {
    let (int, frac) = s.split_once('.').map_or((s, None), |(i, f)| (i, Some(f)));
    let (sign, digits) = int.strip_prefix('-').map_or(("", int), |d| ("-", d));
    let plain = !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && frac.is_none_or(|f| f.bytes().all(|b| b.is_ascii_digit()));
    if !plain {
        return s.to_string();
    }
    let mut grouped = String::new();
    for (i, ch) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            grouped.push(',');
        }
        grouped.push(ch);
    }
    match frac {
        Some(f) => format!("{sign}{grouped}.{f}"),
        None => format!("{sign}{grouped}"),
    }
}

// ---- computed templates ----

fn positional_values(args: &RenderedArgs) -> Vec<&str> {
    args.iter()
        .filter(|(k, _)| k.is_none())
        .map(|(_, v)| v.as_str())
        .collect()
}

fn named<'a>(args: &'a RenderedArgs, key: &str) -> Option<&'a str> {
    args.iter()
        .find(|(k, _)| k.as_deref() == Some(key))
        .map(|(_, v)| v.as_str())
}

fn join_first_positionals(args: &RenderedArgs, n: usize, sep: &str) -> String {
    positional_values(args)
        .into_iter()
        .take(n)
        .filter(|s| !s.is_empty())
        .collect::<Vec<_>>()
        .join(sep)
}

/// Words that separate a range in `{{convert|5|-|10|km}}`.
fn is_range_word(s: &str) -> bool {
    matches!(
        s,
        "-" | "–"
            | "to"
            | "and"
            | "or"
            | "by"
            | "x"
            | "×"
            | "+/-"
            | "±"
            | "to(-)"
            | "and(-)"
            | "-to-"
    )
}

/// `{{convert|5|km}}` → `5 km`; `{{convert|5|-|10|km|mi}}` → `5–10 km`.
fn convert(args: &RenderedArgs, _lang: Lang) -> String {
    let p = positional_values(args);
    let Some(first) = p.first() else {
        return String::new();
    };
    let mut text = first.to_string();
    let mut i = 1;
    while i + 1 < p.len() && is_range_word(p[i]) {
        let sep = match p[i] {
            "-" | "–" => "–".to_string(),
            w => format!(" {w} "),
        };
        text.push_str(&sep);
        text.push_str(p[i + 1]);
        i += 2;
    }
    if let Some(unit) = p.get(i) {
        let unit = unit_name(unit);
        if !unit.is_empty() {
            text.push(' ');
            text.push_str(&unit);
        }
    }
    text
}

fn unit_name(u: &str) -> String {
    match u {
        "sqmi" | "sq mi" => "sq mi".into(),
        "km2" | "sqkm" => "km²".into(),
        "m2" => "m²".into(),
        "ft2" | "sqft" => "sq ft".into(),
        "m3" => "m³".into(),
        "C" | "°C" => "°C".into(),
        "F" | "°F" => "°F".into(),
        "mph" => "mph".into(),
        "km/h" | "kph" => "km/h".into(),
        "ftin" => "ft".into(),
        other => other.to_string(),
    }
}

/// `{{val|1.23|u=kg}}` → `1.23 kg`; `{{val|6.02|e=23}}` → `6.02×10^23`.
fn val(args: &RenderedArgs, _lang: Lang) -> String {
    let p = positional_values(args);
    let mut text = p.first().map(|s| s.to_string()).unwrap_or_default();
    if let Some(e) = named(args, "e") {
        text.push_str(&format!("×10^{e}"));
    }
    if let Some(u) = named(args, "u").or_else(|| named(args, "ul")) {
        text.push(' ');
        text.push_str(u);
    }
    text
}

/// `{{frac|1|2}}` → `1/2`; `{{frac|3|1|2}}` → `3 1/2`.
fn frac(args: &RenderedArgs, _lang: Lang) -> String {
    match positional_values(args).as_slice() {
        [a] => format!("1/{a}"),
        [a, b] => format!("{a}/{b}"),
        [a, b, c, ..] => format!("{a} {b}/{c}"),
        [] => String::new(),
    }
}

fn currency(symbol: &str, args: &RenderedArgs) -> String {
    match positional_values(args).first() {
        Some(v) if !v.is_empty() => format!("{symbol}{v}"),
        _ => symbol.to_string(),
    }
}

fn ordinal(args: &RenderedArgs, _lang: Lang) -> String {
    let Some(n) = positional_values(args).first().map(|s| s.to_string()) else {
        return String::new();
    };
    let suffix = match n.parse::<u64>() {
        Ok(v) if (11..=13).contains(&(v % 100)) => "th",
        Ok(v) if v % 10 == 1 => "st",
        Ok(v) if v % 10 == 2 => "nd",
        Ok(v) if v % 10 == 3 => "rd",
        Ok(_) => "th",
        Err(_) => "",
    };
    format!("{n}{suffix}")
}

fn as_of(args: &RenderedArgs, lang: Lang) -> String {
    let date = format_date(&positional_values(args), lang);
    if date.is_empty() {
        return String::new();
    }
    match lang {
        Lang::En => format!("As of {date}"),
        Lang::Zh => format!("截至{date}"),
    }
}

const MONTHS: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];

/// Date from `year|month|day` positionals (numbers or month names): `14 March 1879` in
/// English, `1879年3月14日` in Chinese. Ages "and age" templates compute from today's date
/// are left out on purpose: they would make the corpus depend on the ingest day.
fn format_date(p: &[&str], lang: Lang) -> String {
    let nums: Vec<&str> = p
        .iter()
        .map(|s| s.trim())
        .filter(|s| !s.is_empty())
        .collect();
    let Some(year) = nums.first() else {
        return String::new();
    };
    if !year.chars().all(|c| c.is_ascii_digit()) {
        // Already a written date ({{start date|March 1990}}).
        return year.to_string();
    }
    let month = nums.get(1).and_then(|m| month_number(m));
    let day = nums
        .get(2)
        .and_then(|d| d.parse::<u32>().ok())
        .filter(|d| (1..=31).contains(d));
    match (lang, month, day) {
        (Lang::En, Some(m), Some(d)) => format!("{d} {} {year}", MONTHS[m as usize - 1]),
        (Lang::En, Some(m), None) => format!("{} {year}", MONTHS[m as usize - 1]),
        (Lang::Zh, Some(m), Some(d)) => format!("{year}年{m}月{d}日"),
        (Lang::Zh, Some(m), None) => format!("{year}年{m}月"),
        (Lang::En, None, _) => year.to_string(),
        (Lang::Zh, None, _) => format!("{year}年"),
    }
}

fn month_number(m: &str) -> Option<u32> {
    if let Ok(n) = m.parse::<u32>() {
        return (1..=12).contains(&n).then_some(n);
    }
    let lower = m.to_ascii_lowercase();
    MONTHS
        .iter()
        .position(|name| {
            let n = name.to_ascii_lowercase();
            lower == n || (lower.len() >= 3 && n.starts_with(&lower))
        })
        .map(|i| i as u32 + 1)
}

fn date(args: &RenderedArgs, lang: Lang) -> String {
    format_date(&positional_values(args), lang)
}

/// `{{death date and age|1955|4|18|1879|3|14}}` → `18 April 1955 (aged 76)`.
fn death_date_and_age(args: &RenderedArgs, lang: Lang) -> String {
    let p = positional_values(args);
    let death = format_date(&p[..p.len().min(3)], lang);
    let num = |i: usize| p.get(i).and_then(|s| s.trim().parse::<i64>().ok());
    let age = match (num(0), num(1), num(2), num(3), num(4), num(5)) {
        (Some(dy), Some(dm), Some(dd), Some(by), Some(bm), Some(bd)) => {
            Some(dy - by - i64::from((dm, dd) < (bm, bd)))
        }
        (Some(dy), _, _, Some(by), _, _) => Some(dy - by),
        _ => None,
    };
    match (age, lang) {
        (Some(a), Lang::En) if a >= 0 => format!("{death} (aged {a})"),
        (Some(a), Lang::Zh) if a >= 0 => format!("{death}（{a}岁）"),
        _ => death,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(v: &[&str]) -> Vec<(Option<String>, String)> {
        v.iter()
            .map(|s| match s.split_once('=') {
                Some((k, v)) => (Some(k.to_string()), v.to_string()),
                None => (None, s.to_string()),
            })
            .collect()
    }

    #[test]
    fn computed_templates() {
        assert_eq!(convert(&args(&["5", "km"]), Lang::En), "5 km");
        assert_eq!(
            convert(&args(&["5", "-", "10", "km", "mi"]), Lang::En),
            "5–10 km"
        );
        assert_eq!(
            convert(&args(&["52419", "sqmi", "km2", "abbr=on"]), Lang::En),
            "52419 sq mi"
        );
        assert_eq!(date(&args(&["1879", "3", "14"]), Lang::En), "14 March 1879");
        assert_eq!(
            date(&args(&["1879", "3", "14", "df=y"]), Lang::Zh),
            "1879年3月14日"
        );
        assert_eq!(
            death_date_and_age(&args(&["1955", "4", "18", "1879", "3", "14"]), Lang::En),
            "18 April 1955 (aged 76)"
        );
        assert_eq!(frac(&args(&["1", "2"]), Lang::En), "1/2");
        assert_eq!(ordinal(&args(&["22"]), Lang::En), "22nd");
        assert_eq!(val(&args(&["1.23", "u=kg"]), Lang::En), "1.23 kg");
        assert_eq!(format_number("4903185"), "4,903,185");
        assert_eq!(format_number("-1234.50"), "-1,234.50");
        assert_eq!(format_number("12 km"), "12 km");
        assert!(matches!(
            classify("chem", Lang::En),
            TemplateAction::JoinPositional("")
        ));
    }

    #[test]
    fn names_normalise() {
        assert_eq!(
            normalize_name(" Template:Birth_date  and age\n"),
            "birth date and age"
        );
        assert!(matches!(
            classify("infobox person", Lang::En),
            TemplateAction::Infobox
        ));
        assert!(matches!(
            classify("cite web", Lang::En),
            TemplateAction::Drop
        ));
        assert!(matches!(classify("#if", Lang::En), TemplateAction::Drop));
    }
}
