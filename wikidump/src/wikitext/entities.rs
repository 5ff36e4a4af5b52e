//! HTML character references left in wikitext (`&nbsp;`, `&ndash;`, `&#91;`), decoded to
//! characters. The XML layer has already undone the XML escaping of the dump itself.

/// Decodes named (common subset) and numeric character references; unknown ones stay.
pub(crate) fn decode_entities(s: &str) -> String {
    if !s.contains('&') {
        return s.to_string();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(amp) = rest.find('&') {
        out.push_str(&rest[..amp]);
        let tail = &rest[amp..];
        match decode_one(tail) {
            Some((decoded, used)) => {
                out.push_str(decoded.as_str());
                rest = &tail[used..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// `tail` starts with `&`; returns the decoded text and the bytes used.
fn decode_one(tail: &str) -> Option<(String, usize)> {
    let window = &tail.as_bytes()[..tail.len().min(34)];
    let semi = window.iter().position(|&c| c == b';')?;
    let name = &tail[1..semi];
    let used = semi + 1;
    if let Some(num) = name.strip_prefix('#') {
        let code = match num.strip_prefix(['x', 'X']) {
            Some(hex) => u32::from_str_radix(hex, 16).ok()?,
            None => num.parse::<u32>().ok()?,
        };
        let c = char::from_u32(code).filter(|c| *c != '\0')?;
        return Some((c.to_string(), used));
    }
    let c = match name {
        "nbsp" | "ensp" | "emsp" | "thinsp" | "#160" => " ",
        "amp" => "&",
        "lt" => "<",
        "gt" => ">",
        "quot" => "\"",
        "apos" => "'",
        "ndash" => "–",
        "mdash" => "—",
        "minus" => "−",
        "hellip" => "…",
        "lsquo" => "‘",
        "rsquo" => "’",
        "ldquo" => "“",
        "rdquo" => "”",
        "laquo" => "«",
        "raquo" => "»",
        "middot" => "·",
        "bull" => "•",
        "deg" => "°",
        "times" => "×",
        "divide" => "÷",
        "plusmn" => "±",
        "frac12" => "½",
        "frac14" => "¼",
        "frac34" => "¾",
        "sup2" => "²",
        "sup3" => "³",
        "prime" => "′",
        "Prime" => "″",
        "copy" => "©",
        "reg" => "®",
        "trade" => "™",
        "sect" => "§",
        "para" => "¶",
        "euro" => "€",
        "pound" => "£",
        "yen" => "¥",
        "cent" => "¢",
        "dagger" => "†",
        "Dagger" => "‡",
        "larr" => "←",
        "rarr" => "→",
        "harr" => "↔",
        "uarr" => "↑",
        "darr" => "↓",
        "le" => "≤",
        "ge" => "≥",
        "ne" => "≠",
        "asymp" => "≈",
        "infin" => "∞",
        "micro" => "µ",
        "zwj" | "zwnj" | "shy" | "lrm" | "rlm" => "",
        other => return more_entities(other).map(|c| (c.to_string(), used)),
    };
    Some((c.to_string(), used))
}

/// Greek letters, Latin letters with diacritics and mathematical symbols.
const MORE: &[(&str, &str)] = &[
    ("alpha", "α"),
    ("beta", "β"),
    ("gamma", "γ"),
    ("delta", "δ"),
    ("epsilon", "ε"),
    ("zeta", "ζ"),
    ("eta", "η"),
    ("theta", "θ"),
    ("iota", "ι"),
    ("kappa", "κ"),
    ("lambda", "λ"),
    ("mu", "μ"),
    ("nu", "ν"),
    ("xi", "ξ"),
    ("omicron", "ο"),
    ("pi", "π"),
    ("rho", "ρ"),
    ("sigmaf", "ς"),
    ("sigma", "σ"),
    ("tau", "τ"),
    ("upsilon", "υ"),
    ("phi", "φ"),
    ("chi", "χ"),
    ("psi", "ψ"),
    ("omega", "ω"),
    ("Alpha", "Α"),
    ("Beta", "Β"),
    ("Gamma", "Γ"),
    ("Delta", "Δ"),
    ("Epsilon", "Ε"),
    ("Zeta", "Ζ"),
    ("Eta", "Η"),
    ("Theta", "Θ"),
    ("Iota", "Ι"),
    ("Kappa", "Κ"),
    ("Lambda", "Λ"),
    ("Mu", "Μ"),
    ("Nu", "Ν"),
    ("Xi", "Ξ"),
    ("Omicron", "Ο"),
    ("Pi", "Π"),
    ("Rho", "Ρ"),
    ("Sigma", "Σ"),
    ("Tau", "Τ"),
    ("Upsilon", "Υ"),
    ("Phi", "Φ"),
    ("Chi", "Χ"),
    ("Psi", "Ψ"),
    ("Omega", "Ω"),
    ("fnof", "ƒ"),
    ("oelig", "œ"),
    ("OElig", "Œ"),
    ("szlig", "ß"),
    ("aelig", "æ"),
    ("AElig", "Æ"),
    ("eacute", "é"),
    ("egrave", "è"),
    ("agrave", "à"),
    ("aacute", "á"),
    ("ouml", "ö"),
    ("uuml", "ü"),
    ("auml", "ä"),
    ("Ouml", "Ö"),
    ("Uuml", "Ü"),
    ("Auml", "Ä"),
    ("ccedil", "ç"),
    ("ntilde", "ñ"),
    ("oslash", "ø"),
    ("aring", "å"),
    ("iexcl", "¡"),
    ("iquest", "¿"),
    ("ordm", "º"),
    ("ordf", "ª"),
    ("sdot", "⋅"),
    ("lowast", "∗"),
    ("radic", "√"),
    ("sum", "∑"),
    ("prod", "∏"),
    ("part", "∂"),
    ("nabla", "∇"),
    ("isin", "∈"),
    ("notin", "∉"),
    ("cap", "∩"),
    ("cup", "∪"),
    ("sub", "⊂"),
    ("sup", "⊃"),
    ("and", "∧"),
    ("or", "∨"),
    ("forall", "∀"),
    ("exist", "∃"),
    ("empty", "∅"),
    ("equiv", "≡"),
    ("sim", "∼"),
    ("cong", "≅"),
    ("prop", "∝"),
    ("ang", "∠"),
    ("there4", "∴"),
    ("perp", "⊥"),
    ("lArr", "⇐"),
    ("rArr", "⇒"),
    ("hArr", "⇔"),
    ("loz", "◊"),
    ("spades", "♠"),
    ("clubs", "♣"),
    ("hearts", "♥"),
    ("diams", "♦"),
    ("permil", "‰"),
    ("lsaquo", "‹"),
    ("rsaquo", "›"),
    ("sbquo", "‚"),
    ("bdquo", "„"),
    ("curren", "¤"),
    ("brvbar", "¦"),
    ("uml", "¨"),
    ("macr", "¯"),
    ("acute", "´"),
    ("cedil", "¸"),
    ("sup1", "¹"),
    ("not", "¬"),
    ("oline", "‾"),
    ("frasl", "⁄"),
    ("image", "ℑ"),
    ("weierp", "℘"),
    ("real", "ℜ"),
    ("alefsym", "ℵ"),
    ("crarr", "↵"),
];

fn more_entities(name: &str) -> Option<&'static str> {
    MORE.iter().find(|(n, _)| *n == name).map(|(_, c)| *c)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_named_and_numeric() {
        assert_eq!(
            decode_entities("a&nbsp;b &ndash; &#91;1&#x5D; &amp;amp;"),
            "a b – [1] &amp;"
        );
        assert_eq!(decode_entities("AT&T & co; &bogus;"), "AT&T & co; &bogus;");
        assert_eq!(decode_entities("&#0; &#xFFFFFFF;"), "&#0; &#xFFFFFFF;");
    }
}
