//! Deterministic chunking of a [`Document`] into section-sized [`Passage`]s.
//!
//! Search indexes these chunks and shows the best one as the snippet; `visit` ranks a
//! page's chunks against a goal. Both must see the *same* chunks, so this is the one
//! function that defines them, and it depends on nothing but the document.

use crate::model::{Document, Passage};
use crate::normalize::is_cjk;

/// A chunk grows paragraph by paragraph up to this many word units...
pub const MAX_UNITS: usize = 200;
/// ...and is only closed early (before a paragraph that would overflow it) once it has
/// at least this many, so passages stay in the ~100–200 word range.
pub const MIN_UNITS: usize = 100;

/// Splits every section into passages of at most [`MAX_UNITS`] word units, never across a
/// section boundary (a passage has one heading path). Empty sections yield nothing.
pub fn passages(doc: &Document) -> Vec<Passage> {
    passages_through(doc, u32::MAX)
}

/// The first passages of [`passages`], through ordinal `last` (all of them when the page
/// has fewer): reading one passage at query time need not cut the sections after it.
pub fn passages_through(doc: &Document, last: u32) -> Vec<Passage> {
    let mut out = Vec::new();
    for section in &doc.sections {
        if out.len() > last as usize {
            break;
        }
        for text in chunk_text(&section.text) {
            out.push(Passage {
                doc_id: doc.id.clone(),
                ordinal: out.len() as u32,
                heading_path: section.heading_path.clone(),
                text,
            });
        }
    }
    out
}

/// Word units: whitespace-separated words, with each CJK ideograph counting half a word
/// (Chinese has no spaces; ~2 characters carry about one English word of content).
pub fn word_units(text: &str) -> usize {
    // One pass, ASCII a byte at a time: search cuts a page's passages per hit, so this
    // runs over whole pages at query time. A word counts one unit if it has any
    // character that is not a CJK ideograph; ideographs add half a unit each.
    let (mut units, mut cjk) = (0usize, 0usize);
    let mut other_in_word = false;
    let bytes = text.as_bytes();
    let mut i = 0;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            // `char::is_whitespace` on ASCII; no ASCII character is an ideograph.
            i += 1;
            if matches!(b, b' ' | b'\t' | b'\n' | 0x0b | 0x0c | b'\r') {
                units += usize::from(other_in_word);
                other_in_word = false;
            } else {
                other_in_word = true;
            }
            continue;
        }
        let Some(c) = text[i..].chars().next() else {
            break;
        };
        i += c.len_utf8();
        if c.is_whitespace() {
            units += usize::from(other_in_word);
            other_in_word = false;
        } else if is_cjk(c) {
            cjk += 1;
        } else {
            other_in_word = true;
        }
    }
    units + usize::from(other_in_word) + cjk.div_ceil(2)
}

/// Paragraphs (lines) are packed greedily; a paragraph that alone exceeds the maximum is
/// split into sentences first, and a sentence that still does is cut by words.
fn chunk_text(text: &str) -> Vec<String> {
    let mut pieces: Vec<(String, usize)> = Vec::new();
    for para in text.lines().map(str::trim).filter(|p| !p.is_empty()) {
        let units = word_units(para);
        if units <= MAX_UNITS {
            pieces.push((para.to_string(), units));
        } else {
            for piece in split_long(para) {
                let u = word_units(&piece);
                pieces.push((piece, u));
            }
        }
    }
    let mut chunks = Vec::new();
    let mut current = String::new();
    let mut current_units = 0usize;
    for (piece, units) in pieces {
        if !current.is_empty() && current_units + units > MAX_UNITS && current_units >= MIN_UNITS {
            chunks.push(std::mem::take(&mut current));
            current_units = 0;
        }
        if !current.is_empty() && current_units + units > MAX_UNITS {
            // Too small to stand alone but would overflow: still close it, so no chunk
            // exceeds the maximum.
            chunks.push(std::mem::take(&mut current));
            current_units = 0;
        }
        if !current.is_empty() {
            current.push('\n');
        }
        current.push_str(&piece);
        current_units += units;
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

/// Splits an over-long paragraph at sentence ends, packing sentences up to the maximum.
fn split_long(para: &str) -> Vec<String> {
    let mut sentences: Vec<String> = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = para.char_indices().collect();
    for (i, &(pos, c)) in chars.iter().enumerate() {
        let next_is_space = chars.get(i + 1).is_none_or(|&(_, n)| n.is_whitespace());
        let end = match c {
            '。' | '！' | '？' | '；' => true,
            '.' | '!' | '?' => next_is_space,
            _ => false,
        };
        if end {
            let stop = pos + c.len_utf8();
            sentences.push(para[start..stop].trim().to_string());
            start = stop;
        }
    }
    if start < para.len() {
        sentences.push(para[start..].trim().to_string());
    }
    let mut out = Vec::new();
    let mut current = String::new();
    let mut units = 0usize;
    for sentence in sentences.into_iter().filter(|s| !s.is_empty()) {
        let u = word_units(&sentence);
        if u > MAX_UNITS {
            if !current.is_empty() {
                out.push(std::mem::take(&mut current));
                units = 0;
            }
            out.extend(split_by_words(&sentence));
            continue;
        }
        if units + u > MAX_UNITS && !current.is_empty() {
            out.push(std::mem::take(&mut current));
            units = 0;
        }
        if !current.is_empty() {
            current.push(' ');
        }
        current.push_str(&sentence);
        units += u;
    }
    if !current.is_empty() {
        out.push(current);
    }
    out
}

/// Last resort for a run-on sentence: cut just before [`MAX_UNITS`] units, counting in
/// half units (a space-separated word is two halves, a CJK ideograph one).
fn split_by_words(sentence: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut current = String::new();
    let mut halves = 0usize;
    for c in sentence.chars() {
        if c.is_whitespace() {
            halves += 2;
        } else if is_cjk(c) {
            halves += 1;
        }
        if halves >= 2 * MAX_UNITS - 4 {
            if !current.trim().is_empty() {
                out.push(current.trim().to_string());
            }
            current.clear();
            halves = usize::from(is_cjk(c));
        }
        current.push(c);
    }
    if !current.trim().is_empty() {
        out.push(current.trim().to_string());
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::{Lang, Section};

    fn doc(sections: Vec<(&[&str], String)>) -> Document {
        Document {
            id: "t:1".into(),
            title: "T".into(),
            url: "u".into(),
            lang: Lang::En,
            timestamp: None,
            sections: sections
                .into_iter()
                .map(|(h, text)| Section {
                    heading_path: h.iter().map(|s| s.to_string()).collect(),
                    text,
                })
                .collect(),
            categories: vec![],
            links: vec![],
        }
    }

    #[test]
    fn passages_stay_within_bounds_and_sections() {
        let para = "word ".repeat(70);
        let long = "This is a sentence with some words. ".repeat(80);
        let d = doc(vec![
            (&[], format!("{para}\n{para}\n{para}\n{para}")),
            (&["History"], "short section".into()),
            (&["Long"], long),
            (&["Empty"], "  \n ".into()),
        ]);
        let ps = passages(&d);
        assert!(
            ps.iter().all(|p| word_units(&p.text) <= MAX_UNITS),
            "{ps:?}"
        );
        assert_eq!(ps[0].heading_path, Vec::<String>::new());
        assert_eq!(
            ps.iter().filter(|p| p.heading_path == ["History"]).count(),
            1
        );
        assert!(ps.iter().filter(|p| p.heading_path == ["Long"]).count() >= 3);
        assert!(ps.iter().all(|p| p.heading_path != ["Empty"]));
        for (i, p) in ps.iter().enumerate() {
            assert_eq!(p.ordinal as usize, i);
        }
        assert_eq!(passages(&d), ps, "chunking is deterministic");
        // Any prefix through an ordinal is the same passages, cut no further than the
        // section that holds it.
        for last in 0..ps.len() as u32 + 2 {
            let prefix = passages_through(&d, last);
            assert!(prefix.len() > last as usize || prefix.len() == ps.len());
            assert_eq!(prefix[..], ps[..prefix.len()], "through {last}");
        }
        assert_eq!(
            passages_through(&d, 0).len(),
            ps.iter().filter(|p| p.heading_path.is_empty()).count(),
            "the first section only"
        );
    }

    /// The definition `word_units` implements in one pass.
    fn word_units_by_words(text: &str) -> usize {
        let (mut units, mut cjk) = (0, 0);
        for word in text.split_whitespace() {
            let ideographs = word.chars().filter(|c| is_cjk(*c)).count();
            cjk += ideographs;
            units += usize::from(ideographs < word.chars().count());
        }
        units + cjk.div_ceil(2)
    }

    #[test]
    fn word_units_counts_words_and_half_ideographs() {
        for text in [
            "",
            "   ",
            "one",
            " two  words ",
            "tabs\tand\nnew\r\nlines\x0bvt\x0cff\u{a0}nbsp\u{2003}em",
            "a-b c.d (e) 1,000 \x00 \x1f x",
            "Émile Zola – naturalisme",
            "数学是研究数量、结构",
            "C语言 and 数学 mixed 3个",
        ] {
            assert_eq!(word_units(text), word_units_by_words(text), "{text:?}");
        }
        // Every ASCII character between two letters and on its own.
        let ascii: String = (0u8..128)
            .map(|b| format!("x{c}y {c} ", c = b as char))
            .collect();
        assert_eq!(word_units(&ascii), word_units_by_words(&ascii));
        // Two words, then two ideographs counting half a word each.
        assert_eq!(word_units("Émile Zola 数学"), 3);
    }

    #[test]
    fn chinese_text_is_chunked_by_characters() {
        let text = "数学是研究数量、结构以及空间等概念的一门学科。".repeat(60);
        let d = doc(vec![(&[], text.clone())]);
        let ps = passages(&d);
        assert!(ps.len() > 1);
        assert!(ps.iter().all(|p| word_units(&p.text) <= MAX_UNITS));
        let joined: String = ps
            .iter()
            .map(|p| p.text.as_str())
            .collect::<Vec<_>>()
            .join("");
        assert_eq!(joined.replace(' ', ""), text);
    }
}
