//! Text analyzers shared by indexing and querying (they must be identical on both sides).
//!
//! - `simweb_en`: words, lower-cased, ASCII-folded, English stop words removed, Snowball
//!   stemming (so `developed` matches `develops`).
//! - `simweb_en_exact`: the same without stemming, for the page-title field that ranks
//!   an exact title word above a stem collision (`relativity` vs `relations`, both `relat`).
//! - `simweb_zh`: traditional -> simplified folding, then jieba segmentation (search
//!   mode), lower-cased; punctuation dropped. Folding happens inside the analyzer, so
//!   `數學` in a query or a page meets `数学` in the index.
//!
//! English index fields do not run an analyzer at indexing time: [`EnglishTerms`] analyses
//! a page once, as `simweb_en` / `simweb_en_exact` would, and the fields receive its
//! terms joined by spaces, split again by the `simweb_pre_analyzed` tokenizer. A page's
//! words used to be analysed once per field they feed (body, exact body, passage text);
//! the terms are the same, so the postings are too.

use rustc_hash::FxHashMap;
use std::cell::RefCell;

use tantivy::tokenizer::{
    AsciiFoldingFilter, LowerCaser, RemoveLongFilter, SimpleTokenizer, StopWordFilter,
    TextAnalyzer, Token, TokenFilter, TokenStream, Tokenizer,
};
use tantivy::Index;

use crate::model::Lang;
use crate::normalize::fold_zh;

pub const EN_ANALYZER: &str = "simweb_en";
pub const ZH_ANALYZER: &str = "simweb_zh";
pub const EN_EXACT_ANALYZER: &str = "simweb_en_exact";
/// The tokenizer of fields whose values are already-analysed terms joined by spaces.
pub const PRE_ANALYZED: &str = "simweb_pre_analyzed";

/// Tokenizer name for a language's index text fields: English values arrive analysed
/// by [`EnglishTerms`]; Chinese ones are segmented by the index.
pub fn index_tokenizer_name(lang: Lang) -> &'static str {
    match lang {
        Lang::En => PRE_ANALYZED,
        Lang::Zh => ZH_ANALYZER,
    }
}

/// Registers the analyzers on an index (tantivy does not persist tokenizers).
pub fn register(index: &Index) {
    index.tokenizers().register(EN_ANALYZER, english());
    index
        .tokenizers()
        .register(EN_EXACT_ANALYZER, english_exact());
    index
        .tokenizers()
        .register(ZH_ANALYZER, chinese_in_offset_order());
    index.tokenizers().register(
        PRE_ANALYZED,
        TextAnalyzer::from(SpaceSplitTokenizer::default()),
    );
}

/// English text analysed once into the terms of both English analyzers: appended to
/// `exact` as `simweb_en_exact` would emit them and to `stemmed` as `simweb_en` would,
/// each joined by single spaces (no term contains a space: the words are alphanumeric
/// runs, and neither ASCII folding nor the stemmer adds one). One per indexing thread.
///
/// Words are Zipfian, so most of a page's words were seen before: a [`TermMemo`] maps
/// each word, as [`next_word`] cuts it (as tantivy's `SimpleTokenizer` does), to both its terms, and only a word it does not
/// hold goes through the filters (lower-casing, folding, stop words) and the stemmer.
/// The filters see one word at a time and never split or join words, so the terms are
/// the same.
pub struct EnglishTerms {
    filters: TextAnalyzer,
    stemmer: frostem::Stemmer,
    memo: TermMemo,
}

impl Default for EnglishTerms {
    fn default() -> Self {
        EnglishTerms::with_memo(TermMemo::new(TERM_MEMO_WORDS))
    }
}

impl EnglishTerms {
    fn with_memo(memo: TermMemo) -> Self {
        EnglishTerms {
            filters: english_exact(),
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
            memo,
        }
    }

    /// Appends the terms of `text`; returns how many.
    pub fn analyse(&mut self, text: &str, exact: &mut String, stemmed: &mut String) -> usize {
        let mut n = 0;
        let mut rest = text;
        while let Some((word, after)) = next_word(rest) {
            rest = after;
            let fresh;
            let terms = match self.memo.find(word) {
                Some(slot) => self.memo.terms(slot),
                None => {
                    fresh = word_terms(&mut self.filters, &self.stemmer, word);
                    let terms = fresh.as_ref().map(|(e, s)| (e.as_str(), s.as_str()));
                    self.memo.insert(word, terms);
                    terms
                }
            };
            if let Some((e, s)) = terms {
                push_term(exact, e);
                push_term(stemmed, s);
                n += 1;
            }
        }
        n
    }
}

/// The first word of `text` and the text after it: a longest run of alphanumeric
/// characters, as tantivy's `SimpleTokenizer` cuts them (a test compares the two), with
/// ASCII a byte at a time.
fn next_word(text: &str) -> Option<(&str, &str)> {
    let start = alphanumeric_from(text, 0, true)?;
    let end = alphanumeric_from(text, start, false).unwrap_or(text.len());
    Some((&text[start..end], &text[end..]))
}

/// Where the first character from byte `from` whose `is_alphanumeric` equals `wanted` starts.
fn alphanumeric_from(text: &str, from: usize, wanted: bool) -> Option<usize> {
    let bytes = text.as_bytes();
    let mut i = from;
    while i < bytes.len() {
        let b = bytes[i];
        if b.is_ascii() {
            if b.is_ascii_alphanumeric() == wanted {
                return Some(i);
            }
            i += 1;
        } else {
            let c = text[i..].chars().next()?;
            if c.is_alphanumeric() == wanted {
                return Some(i);
            }
            i += c.len_utf8();
        }
    }
    None
}

/// One word's exact term and stem, or `None` for a word the filters drop.
fn word_terms(
    filters: &mut TextAnalyzer,
    stemmer: &frostem::Stemmer,
    word: &str,
) -> Option<(String, String)> {
    let mut stream = filters.token_stream(word);
    if !stream.advance() {
        return None;
    }
    let exact = std::mem::take(&mut stream.token_mut().text);
    let stem = stemmer.stem(&exact).into_owned();
    Some((exact, stem))
}

/// Distinct words an [`EnglishTerms`] memo holds before it starts over: 1 MB of slots
/// and ~1.5 MB of text, so the commonest words stay in a core's L2 cache.
const TERM_MEMO_WORDS: usize = 1 << 16;

/// Words mapped to their terms, laid out for the cache: open addressing over a table of
/// 8-byte slots, each packing a hash tag, the three lengths and where the word, its exact
/// term and its stem lie, side by side, in one text arena. A hit reads one slot and one
/// run of text, where a `HashMap<String, String>` read the slot, the key's heap block and
/// the value's. Full, it starts over; the terms never depend on what it holds.
struct TermMemo {
    /// 0 = empty, else a [`Slot`] packed by [`Slot::pack`].
    slots: Vec<u64>,
    arena: String,
    words: usize,
    capacity: usize,
}

/// One remembered word: its text at `at` in the arena, then its exact term and stem.
#[derive(Clone, Copy, PartialEq, Debug)]
struct Slot {
    tag: u16,
    word_len: u8,
    /// [`DROPPED`] for a word the filters drop (then `stem_len` is 0).
    exact_len: u8,
    stem_len: u8,
    at: u32,
}

/// `exact_len` of a dropped word; every remembered length is below it.
const DROPPED: u8 = u8::MAX;
/// Arena offsets have 24 bits; the memo starts over before it would need more.
const ARENA_LIMIT: usize = (1 << 24) - 3 * DROPPED as usize;

impl Slot {
    /// Never 0: `at + 1` is.
    fn pack(self) -> u64 {
        u64::from(self.tag) << 48
            | u64::from(self.word_len) << 40
            | u64::from(self.exact_len) << 32
            | u64::from(self.stem_len) << 24
            | u64::from(self.at + 1)
    }

    fn unpack(slot: u64) -> Slot {
        Slot {
            tag: (slot >> 48) as u16,
            word_len: (slot >> 40) as u8,
            exact_len: (slot >> 32) as u8,
            stem_len: (slot >> 24) as u8,
            at: (slot & 0xff_ffff) as u32 - 1,
        }
    }
}

impl TermMemo {
    fn new(capacity: usize) -> TermMemo {
        TermMemo {
            // At most half full, so probes stay short.
            slots: vec![0; (capacity * 2).next_power_of_two()],
            arena: String::new(),
            words: 0,
            capacity,
        }
    }

    /// The slot index holding `word`, or the empty one where it belongs, and its tag.
    fn probe(&self, word: &str) -> (usize, u16) {
        use std::hash::BuildHasher;
        let hash = rustc_hash::FxBuildHasher.hash_one(word);
        let tag = (hash >> 48) as u16;
        let mask = self.slots.len() - 1;
        let mut i = (hash as usize) & mask;
        loop {
            let packed = self.slots[i];
            if packed == 0 {
                return (i, tag);
            }
            let slot = Slot::unpack(packed);
            if slot.tag == tag && usize::from(slot.word_len) == word.len() {
                let at = slot.at as usize;
                if self.arena.get(at..at + word.len()) == Some(word) {
                    return (i, tag);
                }
            }
            i = (i + 1) & mask;
        }
    }

    /// `word`'s slot, if it is remembered.
    fn find(&self, word: &str) -> Option<Slot> {
        let (i, _) = self.probe(word);
        match self.slots[i] {
            0 => None,
            packed => Some(Slot::unpack(packed)),
        }
    }

    /// The exact term and stem `slot` holds; `None` for a dropped word.
    fn terms(&self, slot: Slot) -> Option<(&str, &str)> {
        if slot.exact_len == DROPPED {
            return None;
        }
        let exact = slot.at as usize + usize::from(slot.word_len);
        let stem = exact + usize::from(slot.exact_len);
        Some((
            self.arena.get(exact..stem)?,
            self.arena.get(stem..stem + usize::from(slot.stem_len))?,
        ))
    }

    /// Remembers `word`'s terms (`None` = dropped), unless a length does not fit a
    /// slot's byte.
    fn insert(&mut self, word: &str, terms: Option<(&str, &str)>) {
        let len = |t: &str| u8::try_from(t.len()).ok().filter(|&n| n < DROPPED);
        let Some(word_len) = len(word) else {
            return;
        };
        let (exact_len, stem_len) = match terms {
            Some((e, s)) => match (len(e), len(s)) {
                (Some(e), Some(s)) => (e, s),
                _ => return,
            },
            None => (DROPPED, 0),
        };
        if self.words >= self.capacity || self.arena.len() > ARENA_LIMIT {
            self.slots.fill(0);
            self.arena.clear();
            self.words = 0;
        }
        let (i, tag) = self.probe(word);
        let slot = Slot {
            tag,
            word_len,
            exact_len,
            stem_len,
            at: self.arena.len() as u32,
        };
        self.arena.push_str(word);
        if let Some((e, s)) = terms {
            self.arena.push_str(e);
            self.arena.push_str(s);
        }
        self.slots[i] = slot.pack();
        self.words += 1;
    }
}

/// Appends `term` to a space-joined list.
pub(crate) fn push_term(list: &mut String, term: &str) {
    if !list.is_empty() {
        list.push(' ');
    }
    list.push_str(term);
}

/// Splits a [`PRE_ANALYZED`] value at its spaces: each piece is one term.
#[derive(Clone, Default)]
struct SpaceSplitTokenizer {
    token: Token,
}

struct SpaceSplitStream<'a> {
    text: &'a str,
    /// Where the next term starts; past the end once the last is out.
    next: usize,
    token: &'a mut Token,
}

impl Tokenizer for SpaceSplitTokenizer {
    type TokenStream<'a> = SpaceSplitStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> SpaceSplitStream<'a> {
        self.token.reset();
        SpaceSplitStream {
            text,
            next: if text.is_empty() { 1 } else { 0 },
            token: &mut self.token,
        }
    }
}

impl TokenStream for SpaceSplitStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next > self.text.len() {
            return false;
        }
        let rest = &self.text[self.next..];
        let len = rest.find(' ').unwrap_or(rest.len());
        self.token.text.clear();
        self.token.text.push_str(&rest[..len]);
        self.token.offset_from = self.next;
        self.token.offset_to = self.next + len;
        self.token.position = self.token.position.wrapping_add(1);
        self.next += len + 1;
        true
    }

    fn token(&self) -> &Token {
        self.token
    }

    fn token_mut(&mut self) -> &mut Token {
        self.token
    }
}

/// The analyzer a snippet re-tokenises passage text with: the index's text analyzer,
/// with English stems remembered per thread ([`Memo::PerThread`]; the same stems, a
/// test shows).
pub fn snippet_analyzer(lang: Lang) -> TextAnalyzer {
    match lang {
        Lang::En => english_words().filter(MemoStemmer(Memo::PerThread)).build(),
        Lang::Zh => chinese_in_offset_order(),
    }
}

/// The analyzer for `lang`, for tokenising queries outside an index.
pub fn analyzer(lang: Lang) -> TextAnalyzer {
    match lang {
        Lang::En => english(),
        Lang::Zh => chinese(),
    }
}

const EN_STOP_WORDS: &[&str] = &[
    "a", "an", "and", "are", "as", "at", "be", "but", "by", "for", "if", "in", "into", "is", "it",
    "no", "not", "of", "on", "or", "such", "that", "the", "their", "then", "there", "these",
    "they", "this", "to", "was", "will", "with", "what", "which", "who", "whom", "when", "where",
    "why", "how", "did", "does", "do",
];

/// Words, lower-cased, ASCII-folded, stop words dropped: what both English analyzers share.
fn english_words() -> tantivy::tokenizer::TextAnalyzerBuilder<impl Tokenizer> {
    TextAnalyzer::builder(SimpleTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .filter(LowerCaser)
        .filter(AsciiFoldingFilter)
        .filter(StopWordFilter::remove(
            EN_STOP_WORDS.iter().map(|w| w.to_string()),
        ))
}

fn english_exact() -> TextAnalyzer {
    english_words().build()
}

fn english() -> TextAnalyzer {
    english_words()
        .filter(MemoStemmer(Memo::PerAnalyzer))
        .build()
}

/// Distinct words an analyzer's memo remembers before it starts over (~5 MB each).
const STEM_MEMO_WORDS: usize = 1 << 16;

/// Distinct words each thread's memo remembers before it starts over (~0.4 MB): a server
/// has a thread per concurrent search, so it stays small, and the few thousand
/// commonest words are most of any passage.
const THREAD_STEM_MEMO_WORDS: usize = 1 << 12;

thread_local! {
    /// Stems this thread computed through a [`Memo::PerThread`] stemmer.
    static THREAD_STEMS: RefCell<FxHashMap<String, String>> = RefCell::new(FxHashMap::default());
}

/// Where a [`MemoStemmer`] remembers stems.
#[derive(Clone, Copy)]
enum Memo {
    /// In the analyzer instance: an indexing thread keeps one analyzer for the whole ingest.
    PerAnalyzer,
    /// In the thread, across analyzers: tantivy's snippet generator clones its analyzer
    /// for every passage, so a per-analyzer memo would start empty each time and cost an
    /// allocation and a map insert per word.
    PerThread,
}

/// English Snowball stemming (tantivy's `Stemmer`, the same `frostem` algorithm), with
/// the stems of words already seen remembered ([`Memo`]). Word frequencies are Zipfian,
/// so most tokens of a page repeat an earlier word and skip the stemmer, which was
/// ~15 % of ingest CPU. The stems are the same, so the index is too.
#[derive(Clone)]
struct MemoStemmer(Memo);

impl TokenFilter for MemoStemmer {
    type Tokenizer<T: Tokenizer> = MemoStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> MemoStemmerFilter<T> {
        MemoStemmerFilter {
            inner: tokenizer,
            memo: self.0,
            stems: FxHashMap::default(),
        }
    }
}

#[derive(Clone)]
struct MemoStemmerFilter<T> {
    inner: T,
    memo: Memo,
    /// The [`Memo::PerAnalyzer`] memo (empty for [`Memo::PerThread`]).
    stems: FxHashMap<String, String>,
}

impl<T: Tokenizer> Tokenizer for MemoStemmerFilter<T> {
    type TokenStream<'a> = MemoStemmerStream<'a, T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        MemoStemmerStream {
            tail: self.inner.token_stream(text),
            memo: self.memo,
            stems: &mut self.stems,
            stemmer: frostem::Stemmer::new(frostem::Algorithm::English),
        }
    }
}

struct MemoStemmerStream<'a, S> {
    tail: S,
    memo: Memo,
    stems: &'a mut FxHashMap<String, String>,
    stemmer: frostem::Stemmer,
}

impl<S: TokenStream> TokenStream for MemoStemmerStream<'_, S> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        match self.memo {
            Memo::PerAnalyzer => {
                stem_through(self.stems, STEM_MEMO_WORDS, &self.stemmer, &mut token.text)
            }
            Memo::PerThread => THREAD_STEMS.with_borrow_mut(|stems| {
                stem_through(
                    stems,
                    THREAD_STEM_MEMO_WORDS,
                    &self.stemmer,
                    &mut token.text,
                )
            }),
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}

/// Replaces `word` with its stem, from `stems` when it is there, else computed and
/// remembered (the memo starts over at `capacity` words).
fn stem_through(
    stems: &mut FxHashMap<String, String>,
    capacity: usize,
    stemmer: &frostem::Stemmer,
    word: &mut String,
) {
    if let Some(stem) = stems.get(word.as_str()) {
        word.clear();
        word.push_str(stem);
        return;
    }
    let stem = stemmer.stem(word).into_owned();
    if stems.len() >= capacity {
        stems.clear();
    }
    let word = std::mem::replace(word, stem.clone());
    stems.insert(word, stem);
}

fn chinese() -> TextAnalyzer {
    TextAnalyzer::builder(ZhTokenizer::default())
        .filter(RemoveLongFilter::limit(40))
        .build()
}

fn chinese_in_offset_order() -> TextAnalyzer {
    TextAnalyzer::builder(ZhTokenizer {
        tokens: Vec::new(),
        offset_order: true,
    })
    .filter(RemoveLongFilter::limit(40))
    .build()
}

/// Jieba over the simplified-folded text, with offsets mapped back to the original text
/// (folding is character-for-character in the common case; otherwise offsets are mapped
/// by character index and clamped, which only affects snippet highlighting).
#[derive(Clone, Default)]
pub struct ZhTokenizer {
    tokens: Vec<Token>,
    /// Stream tokens in offset order (the index and snippet analyzer).
    offset_order: bool,
}

/// Tokens produced eagerly by [`ZhTokenizer`].
pub struct VecTokenStream<'a> {
    tokens: &'a mut Vec<Token>,
    next: usize,
}

impl TokenStream for VecTokenStream<'_> {
    fn advance(&mut self) -> bool {
        if self.next < self.tokens.len() {
            self.next += 1;
            true
        } else {
            false
        }
    }

    fn token(&self) -> &Token {
        &self.tokens[self.next.max(1) - 1]
    }

    fn token_mut(&mut self) -> &mut Token {
        let i = self.next.max(1) - 1;
        &mut self.tokens[i]
    }
}

impl Tokenizer for ZhTokenizer {
    type TokenStream<'a> = VecTokenStream<'a>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> VecTokenStream<'a> {
        self.tokens = if self.offset_order {
            zh_tokens_in_offset_order(text)
        } else {
            zh_tokens(text)
        };
        VecTokenStream {
            tokens: &mut self.tokens,
            next: 0,
        }
    }
}

/// Segments `text` (after folding) into lower-cased word tokens with original offsets.
pub fn zh_tokens(text: &str) -> Vec<Token> {
    let folded = fold_zh(text);
    let folded_starts: Vec<usize> = folded.char_indices().map(|(i, _)| i).collect();
    let orig_starts: Vec<usize> = text.char_indices().map(|(i, _)| i).collect();
    let to_orig = |folded_byte: usize| -> usize {
        let char_idx = folded_starts.partition_point(|&b| b < folded_byte);
        orig_starts.get(char_idx).copied().unwrap_or(text.len())
    };
    let mut jieba = tantivy_jieba::JiebaTokenizer::new();
    let mut stream = jieba.token_stream(&folded);
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token();
        if !t.text.chars().any(char::is_alphanumeric) {
            continue;
        }
        out.push(Token {
            offset_from: to_orig(t.offset_from),
            offset_to: to_orig(t.offset_to).max(to_orig(t.offset_from)),
            position: out.len(),
            text: t.text.to_lowercase(),
            position_length: 1,
        });
    }
    out
}

/// [`zh_tokens`] in offset order. Search mode emits a word's parts and the word itself
/// out of offset order (`经济`, `济学`, then `经济学` from offset 0 again); tantivy's snippet
/// generator assumes offsets never go back (it subtracts a fragment's start from each
/// match's, which overflowed on such text), so the index analyzer, which the snippet
/// generator also uses, streams tokens in offset order. The terms are the same, so
/// ranking is unchanged.
fn zh_tokens_in_offset_order(text: &str) -> Vec<Token> {
    let mut out = zh_tokens(text);
    out.sort_by_key(|t| (t.offset_from, t.offset_to));
    for (i, t) in out.iter_mut().enumerate() {
        t.position = i;
    }
    out
}

/// The distinct analysed terms of `text`, in first-seen order.
pub fn query_terms(lang: Lang, text: &str) -> Vec<String> {
    distinct_tokens(analyzer(lang), text)
}

/// The query's distinct unstemmed terms, for the exact-title field.
pub fn exact_query_terms(lang: Lang, text: &str) -> Vec<String> {
    match lang {
        Lang::En => distinct_tokens(english_exact(), text),
        Lang::Zh => query_terms(lang, text),
    }
}

fn distinct_tokens(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
    let mut stream = analyzer.token_stream(text);
    let mut seen = std::collections::BTreeSet::new();
    let mut out = Vec::new();
    while stream.advance() {
        let t = stream.token().text.clone();
        if seen.insert(t.clone()) {
            out.push(t);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    /// All tokens of `text` through `analyzer`, in order.
    fn all_tokens(mut analyzer: TextAnalyzer, text: &str) -> Vec<String> {
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    #[test]
    fn english_terms_are_what_both_english_analyzers_emit() {
        let text = "The Théâtre de l'Odéon's 1,200 seats were REBUILT in 1819; \
                    Straße, naïve façades, ① and a supercalifragilisticexpialidociouslyxxxxxxxxx \
                    word, 東京 Tokyo-based developers developed developing. Ⅻ ﬁ";
        let text = format!("{text} {} the end", "long".repeat(80));
        let text = text.as_str();
        // The default memo, and one that starts over every few words.
        for mut terms in [
            EnglishTerms::default(),
            EnglishTerms::with_memo(TermMemo::new(3)),
        ] {
            // Twice: the second pass takes words from the memo.
            for _ in 0..2 {
                let (mut exact, mut stemmed) = (String::from("x"), String::new());
                let n = terms.analyse(text, &mut exact, &mut stemmed);
                let want_exact = all_tokens(english_exact(), text);
                let want_stemmed = all_tokens(english(), text);
                assert_eq!(n, want_exact.len());
                // Appended after what was there, space-joined.
                assert_eq!(exact, format!("x {}", want_exact.join(" ")));
                assert_eq!(stemmed, want_stemmed.join(" "));
                // The index's tokenizer gives the terms back.
                let pre = TextAnalyzer::from(SpaceSplitTokenizer::default());
                assert_eq!(all_tokens(pre.clone(), &stemmed), want_stemmed);
                assert!(want_stemmed
                    .iter()
                    .all(|t| !t.is_empty() && !t.contains(' ')));
                assert!(all_tokens(pre, "").is_empty());
            }
        }
    }

    #[test]
    fn words_are_cut_as_the_simple_tokenizer_cuts_them() {
        for text in [
            "",
            "   ",
            "plain words, and 3.14 numbers",
            "Théâtre de l'Odéon's 1,200 seats; Straße ① Ⅻ ﬁ 東京-based x²",
            "\u{300}combining\u{301}marks\u{200d}joiner",
            "trailing",
        ] {
            let mut ours = Vec::new();
            let mut rest = text;
            while let Some((word, after)) = next_word(rest) {
                ours.push(word.to_string());
                rest = after;
            }
            let theirs = all_tokens(TextAnalyzer::from(SimpleTokenizer::default()), text);
            assert_eq!(ours, theirs, "{text:?}");
        }
    }

    #[test]
    fn term_memo_slots_pack_every_field_apart() {
        for slot in [
            Slot {
                tag: u16::MAX,
                word_len: 254,
                exact_len: DROPPED,
                stem_len: 0,
                at: ARENA_LIMIT as u32,
            },
            Slot {
                tag: 0,
                word_len: 1,
                exact_len: 0,
                stem_len: 254,
                at: 0,
            },
            Slot {
                tag: 0x8001,
                word_len: 7,
                exact_len: 9,
                stem_len: 5,
                at: 123_456,
            },
        ] {
            assert_ne!(slot.pack(), 0);
            assert_eq!(Slot::unpack(slot.pack()), slot);
        }
    }

    #[test]
    fn english_stems_and_drops_stop_words() {
        assert_eq!(
            query_terms(Lang::En, "Who developed the Theory of Relativity?"),
            vec!["develop", "theori", "relat"]
        );
    }

    fn tokens(analyzer: &mut TextAnalyzer, text: &str) -> Vec<String> {
        let mut out = Vec::new();
        let mut stream = analyzer.token_stream(text);
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        out
    }

    /// The memos change nothing: the same stems as tantivy's own stemmer, for words
    /// seen for the first time, seen again, and seen again after the memo started over,
    /// whether the memo is the analyzer's (indexing) or the thread's (snippets).
    #[test]
    fn memo_stemmers_stem_as_tantivy_does() {
        use tantivy::tokenizer::{Language, Stemmer};
        let mut reference = english_words()
            .filter(Stemmer::new(Language::English))
            .build();
        let words: Vec<String> = (0..STEM_MEMO_WORDS + 500)
            .map(|i| format!("running{i} relational generously"))
            .collect();
        let text = format!("{} {}", words.join(" "), words[..200].join(" "));
        let again = "Developments in relativity theories developed relations";
        for mut memo in [english(), snippet_analyzer(Lang::En)] {
            assert_eq!(tokens(&mut memo, &text), tokens(&mut reference, &text));
            assert_eq!(tokens(&mut memo, again), tokens(&mut reference, again));
            // A clone (what a snippet generator makes per passage) stems the same.
            assert_eq!(
                tokens(&mut memo.clone(), again),
                tokens(&mut reference, again)
            );
        }
    }

    #[test]
    fn chinese_folds_traditional_and_segments() {
        let simplified = query_terms(Lang::Zh, "数学是一门学科");
        let traditional = query_terms(Lang::Zh, "數學是一門學科");
        assert_eq!(simplified, traditional);
        assert!(simplified.contains(&"数学".to_string()), "{simplified:?}");
        let toks = zh_tokens("數學，Hello");
        assert_eq!(
            &"數學，Hello"[toks[0].offset_from..toks[0].offset_to],
            "數學"
        );
        assert_eq!(toks.last().unwrap().text, "hello");
    }

    #[test]
    fn the_index_analyzer_streams_chinese_in_offset_order() {
        let text = "属于分类「经济学」；标题以「经」开头？";
        let mut analyzer = chinese_in_offset_order();
        let mut stream = analyzer.token_stream(text);
        let mut last = 0;
        let mut terms = Vec::new();
        while stream.advance() {
            let t = stream.token();
            assert!(t.offset_from >= last, "offsets went back at {t:?}");
            last = t.offset_from;
            terms.push(t.text.clone());
        }
        let mut unordered: Vec<String> = zh_tokens(text).into_iter().map(|t| t.text).collect();
        unordered.sort();
        terms.sort();
        assert_eq!(terms, unordered, "same terms in another order");
    }
}
