//! The tantivy indexes: per language, one over pages and one over passages.
//!
//! Pages rank documents (title boosted over body); passages pick the snippet shown for
//! a page. Layout: `index/{lang}/pages`, `index/{lang}/passages`.
//!
//! Only what ranking reads is kept: term frequencies without positions (every query is
//! a disjunction of term queries; no phrase query runs), and the passage index stores
//! nothing but each passage's page id and ordinal. Its text is the document store's:
//! [`crate::passages`] of the stored document, recomputed at read time, so the corpus
//! holds every text once.
//!
//! Determinism: every document carries `seq`, its position in ingest order, as a fast
//! field, and hits are ordered by (score desc, seq asc) inside the collector, so neither
//! segment layout nor thread timing can change which documents tie-break into the top k.
//! BM25 statistics are searcher-wide, so scores do not depend on segmenting either; the
//! writer merges each index at the end of an ingest into segments of up to about 1 GiB
//! (one per index up to about a million articles), which bounds the publish's memory.

use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};
use std::path::{Path, PathBuf};

use tantivy::collector::{Collector, SegmentCollector};
use tantivy::columnar::ColumnValues;
use tantivy::indexer::NoMergePolicy;
use tantivy::query::{BooleanQuery, BoostQuery, EnableScoring, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, IndexRecordOption, OwnedValue, Schema, TextFieldIndexing, TextOptions, FAST, STORED,
    STRING,
};
use tantivy::snippet::SnippetGenerator;
use tantivy::{
    DocAddress, DocId, DocSet, Index, IndexReader, IndexWriter, ReloadPolicy, Score,
    SegmentOrdinal, SegmentReader, TantivyDocument, Term, TERMINATED,
};

use crate::analyzers::{self, index_tokenizer_name, EnglishTerms};
use crate::model::{Document, Lang, Passage};

/// A query word that is a word of the title, unstemmed, counts this much more than a
/// body match; a title match only through the stem counts [`TITLE_BOOST`]. (Measured in
/// BENCHMARKS "Scale, sixth step": without it, question-style queries rank slightly
/// better, but a title query over a passage corpus — `Ray Charles` in wiki-18's layout —
/// ranks albums named after him first, and no stemmed-title boost fixes both.)
pub const EXACT_TITLE_BOOST: Score = 3.0;
/// A title match only through the stem counts this much (a body match counts 1).
pub const TITLE_BOOST: Score = 0.5;
/// Heading matches count this much more than passage text matches.
pub const HEADING_BOOST: Score = 1.5;
/// Indexing memory per writer (tantivy splits it across its single thread).
const WRITER_MEMORY: usize = 64 << 20;

/// Fields of the page index.
#[derive(Clone, Copy)]
struct PageFields {
    doc_id: Field,
    seq: Field,
    title: Field,
    /// The title again, unstemmed.
    title_exact: Field,
    /// The body again, unstemmed: a page that has the query's exact word outranks one
    /// that only shares its stem.
    body_exact: Field,
    body: Field,
}

/// Fields of the passage index.
#[derive(Clone, Copy)]
struct PassageFields {
    doc_id: Field,
    seq: Field,
    ordinal: Field,
    title: Field,
    heading: Field,
    text: Field,
}

/// An indexed, unstored text field: frequencies, no positions (see the module docs).
/// English values arrive analysed ([`EnglishTerms`]), stemmed or exact by field.
fn text_options(lang: Lang) -> TextOptions {
    TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer(index_tokenizer_name(lang))
            .set_index_option(IndexRecordOption::WithFreqs),
    )
}

fn page_schema(lang: Lang) -> (Schema, PageFields) {
    let mut b = Schema::builder();
    let f = PageFields {
        doc_id: b.add_text_field("doc_id", STRING | STORED),
        seq: b.add_u64_field("seq", FAST),
        title: b.add_text_field("title", text_options(lang)),
        title_exact: b.add_text_field("title_exact", text_options(lang)),
        body: b.add_text_field("body", text_options(lang)),
        body_exact: b.add_text_field("body_exact", text_options(lang)),
    };
    (b.build(), f)
}

fn passage_schema(lang: Lang) -> (Schema, PassageFields) {
    let mut b = Schema::builder();
    let f = PassageFields {
        doc_id: b.add_text_field("doc_id", STRING | STORED),
        seq: b.add_u64_field("seq", FAST),
        ordinal: b.add_u64_field("ordinal", STORED),
        title: b.add_text_field("title", text_options(lang)),
        heading: b.add_text_field("heading", text_options(lang)),
        text: b.add_text_field("text", text_options(lang)),
    };
    (b.build(), f)
}

/// Directory of a language's indexes inside a data dir.
pub fn lang_dir(data_dir: &Path, lang: Lang) -> PathBuf {
    data_dir.join("index").join(lang.code())
}

/// Languages that have an index under `data_dir`, sorted.
pub fn languages_in(data_dir: &Path) -> Vec<Lang> {
    [Lang::En, Lang::Zh]
        .into_iter()
        .filter(|&l| {
            lang_dir(data_dir, l)
                .join("pages")
                .join("meta.json")
                .is_file()
        })
        .collect()
}

/// Joins a heading path for storage and display: `History > Early years`.
pub fn join_heading(path: &[String]) -> String {
    path.join(" > ")
}

/// Writes one language's page and passage indexes during an ingest.
pub struct LangIndexWriter {
    lang: Lang,
    dir: PathBuf,
    pages: (Index, IndexWriter, PageFields),
    passages: (Index, IndexWriter, PassageFields),
    page_seq: u64,
    passage_seq: u64,
    /// English pages are analysed here, once for all their fields.
    terms: EnglishTerms,
}

impl LangIndexWriter {
    pub fn create(data_dir: &Path, lang: Lang) -> tantivy::Result<LangIndexWriter> {
        let dir = lang_dir(data_dir, lang);
        let pages_dir = dir.join("pages");
        let passages_dir = dir.join("passages");
        std::fs::create_dir_all(&pages_dir)?;
        std::fs::create_dir_all(&passages_dir)?;
        let (ps, pf) = page_schema(lang);
        let pages = Index::create_in_dir(&pages_dir, ps)?;
        analyzers::register(&pages);
        let pw = pages.writer_with_num_threads(1, WRITER_MEMORY)?;
        pw.set_merge_policy(Box::new(NoMergePolicy));
        let (qs, qf) = passage_schema(lang);
        let passages = Index::create_in_dir(&passages_dir, qs)?;
        analyzers::register(&passages);
        let qw = passages.writer_with_num_threads(1, WRITER_MEMORY)?;
        qw.set_merge_policy(Box::new(NoMergePolicy));
        Ok(LangIndexWriter {
            lang,
            dir,
            pages: (pages, pw, pf),
            passages: (passages, qw, qf),
            page_seq: 0,
            passage_seq: 0,
            terms: EnglishTerms::default(),
        })
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// Adds a page and its passages (computed by the caller with [`crate::passages`]).
    pub fn add(&mut self, doc: &Document, passages: &[Passage]) -> tantivy::Result<()> {
        match self.lang {
            Lang::En => self.add_analysed(doc, passages),
            Lang::Zh => self.add_segmented(doc, passages),
        }
    }

    /// English: every text is analysed once. The page body's terms are its headings'
    /// and its passages' (the passages cut the sections at whitespace, so they hold the
    /// sections' words), each passage's are its own, and the title's serve the page and
    /// every passage.
    fn add_analysed(&mut self, doc: &Document, passages: &[Passage]) -> tantivy::Result<()> {
        let terms = &mut self.terms;
        let (mut title_exact, mut title) = (String::new(), String::new());
        terms.analyse(&doc.title, &mut title_exact, &mut title);
        let (mut body_exact, mut body) = (String::new(), String::new());
        for section in &doc.sections {
            for h in &section.heading_path {
                terms.analyse(h, &mut body_exact, &mut body);
            }
        }
        let mut passage_docs = Vec::with_capacity(passages.len());
        let (_, _, f) = &self.passages;
        let mut heading: Option<(&[String], String)> = None;
        let mut scratch = String::new();
        for p in passages {
            let mut text = String::new();
            terms.analyse(&p.text, &mut body_exact, &mut text);
            if !text.is_empty() {
                analyzers::push_term(&mut body, &text);
            }
            if heading
                .as_ref()
                .is_none_or(|(path, _)| *path != p.heading_path.as_slice())
            {
                let mut terms_of_path = String::new();
                scratch.clear();
                terms.analyse(
                    &join_heading(&p.heading_path),
                    &mut scratch,
                    &mut terms_of_path,
                );
                heading = Some((&p.heading_path, terms_of_path));
            }
            let mut d = TantivyDocument::default();
            d.add_text(f.doc_id, &p.doc_id);
            d.add_u64(f.seq, self.passage_seq);
            d.add_u64(f.ordinal, u64::from(p.ordinal));
            d.add_text(f.title, &title);
            d.add_text(f.heading, heading.as_ref().map_or("", |(_, t)| t.as_str()));
            d.add_text(f.text, text);
            passage_docs.push(d);
            self.passage_seq += 1;
        }
        let (_, writer, f) = &self.pages;
        let mut page = TantivyDocument::default();
        page.add_text(f.doc_id, &doc.id);
        page.add_u64(f.seq, self.page_seq);
        page.add_text(f.title, title);
        page.add_text(f.title_exact, title_exact);
        page.add_text(f.body, body);
        page.add_text(f.body_exact, body_exact);
        writer.add_document(page)?;
        self.page_seq += 1;
        let (_, writer, _) = &self.passages;
        for d in passage_docs {
            writer.add_document(d)?;
        }
        Ok(())
    }

    /// Chinese: the index segments each field's text (a passage's words are segmented
    /// in the passage, where a cut can change how the words around it split).
    fn add_segmented(&mut self, doc: &Document, passages: &[Passage]) -> tantivy::Result<()> {
        let (_, writer, f) = &self.pages;
        let mut page = TantivyDocument::default();
        page.add_text(f.doc_id, &doc.id);
        page.add_u64(f.seq, self.page_seq);
        page.add_text(f.title, &doc.title);
        page.add_text(f.title_exact, &doc.title);
        for section in &doc.sections {
            for h in &section.heading_path {
                page.add_text(f.body, h);
                page.add_text(f.body_exact, h);
            }
            page.add_text(f.body, &section.text);
            page.add_text(f.body_exact, &section.text);
        }
        writer.add_document(page)?;
        self.page_seq += 1;

        let (_, writer, f) = &self.passages;
        for p in passages {
            let mut d = TantivyDocument::default();
            d.add_text(f.doc_id, &p.doc_id);
            d.add_u64(f.seq, self.passage_seq);
            d.add_u64(f.ordinal, u64::from(p.ordinal));
            d.add_text(f.title, &doc.title);
            d.add_text(f.heading, join_heading(&p.heading_path));
            d.add_text(f.text, &p.text);
            writer.add_document(d)?;
            self.passage_seq += 1;
        }
        Ok(())
    }

    /// Commits, then merges each index's segments into as few as [`merge_limit`] allows
    /// and waits for it.
    pub fn finish(self) -> tantivy::Result<()> {
        self.finish_with_limit(merge_limit())
    }

    fn finish_with_limit(self, limit: u64) -> tantivy::Result<()> {
        let (pages, mut pw, _) = self.pages;
        let (passages, mut qw, _) = self.passages;
        // The last in-memory segments are written by each writer's one indexing thread:
        // both at once, so the two cores stay busy. The merges stay one after the
        // other, since each maps up to `limit` bytes of segments.
        std::thread::scope(|scope| {
            let pages_commit = scope.spawn(|| pw.commit());
            let passages_commit = qw.commit();
            let pages_commit = pages_commit.join().unwrap_or_else(|_| {
                Err(tantivy::TantivyError::SystemError(
                    "the page index's commit panicked".into(),
                ))
            });
            pages_commit.and(passages_commit)
        })?;
        merge_committed(&pages, pw, &self.dir.join("pages"), limit)?;
        merge_committed(&passages, qw, &self.dir.join("passages"), limit)
    }
}

/// The most input one merge at the end of an ingest reads, in bytes of segment files
/// (default 1 GiB; `SIMWEB_MERGE_MB` overrides it). A merge maps its inputs, and every
/// page it reads stays in the ingest's RSS until the merge is done, so this bounds the
/// peak memory of the publish whatever the corpus size. A corpus up to about a million
/// articles ends with one segment per index; a larger one with several of about this size.
fn merge_limit() -> u64 {
    std::env::var("SIMWEB_MERGE_MB")
        .ok()
        .and_then(|v| v.parse::<u64>().ok())
        .unwrap_or(1024)
        .max(1)
        << 20
}

/// Merges a committed index's segments in groups of at most `limit` bytes.
fn merge_committed(
    index: &Index,
    mut writer: IndexWriter,
    dir: &Path,
    limit: u64,
) -> tantivy::Result<()> {
    // A segment's files are named `{uuid}.{component}`.
    let mut by_segment: BTreeMap<String, u64> = BTreeMap::new();
    for entry in std::fs::read_dir(dir)? {
        let entry = entry?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if let Some((segment, _)) = name.split_once('.') {
            *by_segment.entry(segment.to_string()).or_default() += entry.metadata()?.len();
        }
    }
    let sized = index
        .searchable_segment_metas()?
        .iter()
        .map(|m| {
            let bytes = by_segment.get(&m.id().uuid_string()).copied();
            (bytes.unwrap_or(0), m.id())
        })
        .collect();
    for group in merge_groups(sized, limit) {
        if group.len() > 1 {
            writer.merge(&group).wait()?;
        }
    }
    writer.wait_merging_threads()
}

/// Splits segments `(bytes, id)` into the fewest groups of at most `limit` bytes that an
/// even split allows: as many groups as the total needs, largest segment first into the
/// group with the fewest bytes (ties to the lower group, then by id, so the split depends
/// only on the sizes). Results never depend on it: BM25 statistics are searcher-wide and
/// ties break on `seq`.
fn merge_groups<Id: Ord + Copy>(mut sized: Vec<(u64, Id)>, limit: u64) -> Vec<Vec<Id>> {
    let total: u64 = sized.iter().map(|(b, _)| b).sum();
    let n = usize::try_from(total.div_ceil(limit.max(1)))
        .unwrap_or(usize::MAX)
        .clamp(1, sized.len().max(1));
    sized.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)));
    let mut groups: Vec<(u64, Vec<Id>)> = vec![(0, Vec::new()); n];
    for (bytes, id) in sized {
        let (_, smallest) = groups
            .iter()
            .enumerate()
            .map(|(i, g)| (g.0, i))
            .min()
            .unwrap_or((0, 0));
        groups[smallest].0 += bytes;
        groups[smallest].1.push(id);
    }
    groups.into_iter().map(|(_, ids)| ids).collect()
}

/// A ranked page (its title, URL and text are the document store's).
#[derive(Debug, Clone)]
pub struct PageHit {
    pub doc_id: String,
    pub score: Score,
}

/// A passage ranked on its own (Search-R1's retrieval unit): which page, which of its
/// [`crate::passages`].
#[derive(Debug, Clone)]
pub struct RankedPassage {
    pub doc_id: String,
    pub ordinal: u32,
    pub score: Score,
}

/// Cuts snippets for one query: built once per search and used for every hit.
pub struct Snippets {
    generator: SnippetGenerator,
    max_chars: usize,
}

impl Snippets {
    /// The best fragment of `text` for the query (at most the `max_chars` given to
    /// [`LangIndex::snippets`]) and the byte ranges of matched terms inside it; the
    /// text's start when nothing matches.
    pub fn cut(&self, text: &str) -> (String, Vec<std::ops::Range<usize>>) {
        let snippet = self.generator.snippet(text);
        if snippet.fragment().is_empty() {
            (prefix_chars(text, self.max_chars), Vec::new())
        } else {
            snap_to_sentence(text, snippet.fragment(), snippet.highlighted())
        }
    }
}

/// Read side of one language's indexes.
pub struct LangIndex {
    lang: Lang,
    pages: (IndexReader, PageFields),
    passages: (IndexReader, PassageFields),
    /// Where the pages' and the passages' posting lists lie, for read-ahead hints.
    page_postings: PostingsFiles,
    passage_postings: PostingsFiles,
}

/// Where each segment's posting lists start in its `.idx` file, field by field, so that
/// a query's lists can be read ahead all at once ([`crate::readahead`]). tantivy names a
/// list by its byte range inside the field's part of that file (`TermInfo`); the part's
/// own offset is found once, at open, from the file's mapping.
struct PostingsFiles {
    /// By segment id (`uuid_string`).
    segments: BTreeMap<String, SegmentPostings>,
}

struct SegmentPostings {
    file: std::fs::File,
    /// Each indexed field's part of the file starts here.
    fields: BTreeMap<Field, u64>,
}

impl PostingsFiles {
    /// Locates every segment's field parts. A segment whose layout cannot be found is
    /// left out: its lists are read on demand, as without hints.
    fn locate(reader: &IndexReader, dir: &Path) -> PostingsFiles {
        let searcher = reader.searcher();
        let mut segments = BTreeMap::new();
        for segment in searcher.segment_readers() {
            let id = segment.segment_id().uuid_string();
            match SegmentPostings::locate(searcher.index(), dir, &id) {
                Ok(Some(found)) => {
                    segments.insert(id, found);
                }
                Ok(None) => tracing::debug!(segment = %id, "postings not mapped: no read-ahead"),
                Err(e) => tracing::debug!(segment = %id, error = %e, "no read-ahead"),
            }
        }
        PostingsFiles { segments }
    }

    /// Hints the posting lists of `terms` in every segment.
    fn read_ahead(&self, searcher: &tantivy::Searcher, terms: &[Term]) {
        for segment in searcher.segment_readers() {
            let Some(layout) = self.segments.get(&segment.segment_id().uuid_string()) else {
                continue;
            };
            for term in terms {
                let field = term.field();
                let Some(&start) = layout.fields.get(&field) else {
                    continue;
                };
                let info = segment
                    .inverted_index(field)
                    .and_then(|inverted| Ok(inverted.get_term_info(term)?));
                if let Ok(Some(info)) = info {
                    let range = info.postings_range;
                    crate::readahead::will_need(
                        &layout.file,
                        start + range.start as u64,
                        range.len() as u64,
                    );
                }
            }
        }
    }
}

/// The terms `query` reads the postings of.
fn terms_of(query: &dyn Query) -> Vec<Term> {
    let mut terms = Vec::new();
    query.query_terms(&mut |term, _| terms.push(term.clone()));
    terms
}

impl SegmentPostings {
    fn locate(index: &Index, dir: &Path, id: &str) -> tantivy::Result<Option<SegmentPostings>> {
        use tantivy::directory::Directory;
        let name = format!("{id}.idx");
        let whole = index.directory().open_read(Path::new(&name))?;
        let bytes = whole.read_bytes()?;
        let composite = tantivy::directory::CompositeFile::open(&whole)?;
        // A mapped file hands out slices of one mapping, so a part's address less the
        // file's is its offset. Checked: the offset must fall inside the file and hold
        // the part's bytes (another directory could copy instead of mapping).
        let base = bytes.as_slice().as_ptr() as usize;
        let mut fields = BTreeMap::new();
        for (field, entry) in index.schema().fields() {
            if !entry.is_indexed() {
                continue;
            }
            let Some(part) = composite.open_read(field) else {
                continue;
            };
            let part = part.read_bytes()?;
            let offset = (part.as_slice().as_ptr() as usize).wrapping_sub(base);
            let head = &part.as_slice()[..part.len().min(64)];
            if bytes.as_slice().get(offset..offset + head.len()) != Some(head) {
                return Ok(None);
            }
            fields.insert(field, offset as u64);
        }
        Ok(Some(SegmentPostings {
            file: std::fs::File::open(dir.join(&name))?,
            fields,
        }))
    }
}

/// Hints, in a background thread, the files every query reads a little of: term
/// dictionaries, field norms, fast fields and stored ids (about 150 MB per million
/// articles; not the posting lists, which [`PostingsFiles`] hints query by query).
fn read_ahead_small_files(dirs: Vec<PathBuf>) {
    let spawned = std::thread::Builder::new()
        .name("index-readahead".into())
        .spawn(move || {
            for dir in dirs {
                let Ok(entries) = std::fs::read_dir(&dir) else {
                    continue;
                };
                let mut paths: Vec<PathBuf> = entries.flatten().map(|e| e.path()).collect();
                paths.sort();
                for path in paths {
                    let small = path
                        .extension()
                        .and_then(|e| e.to_str())
                        .is_some_and(|e| matches!(e, "term" | "fieldnorm" | "fast" | "store"));
                    if let (true, Ok(file)) = (small, std::fs::File::open(&path)) {
                        crate::readahead::will_need_all(&file);
                    }
                }
            }
        });
    if let Err(e) = spawned {
        tracing::debug!(error = %e, "no index read-ahead thread");
    }
}

fn open_reader(path: &Path) -> tantivy::Result<IndexReader> {
    let index = Index::open_in_dir(path)?;
    analyzers::register(&index);
    index
        .reader_builder()
        .reload_policy(ReloadPolicy::Manual)
        .try_into()
}

fn stored_str(doc: &TantivyDocument, field: Field) -> Option<String> {
    doc.get_first(field)
        .and_then(|v| match OwnedValue::from(v) {
            OwnedValue::Str(s) => Some(s),
            _ => None,
        })
}

fn stored_u64(doc: &TantivyDocument, field: Field) -> Option<u64> {
    doc.get_first(field)
        .and_then(|v| match OwnedValue::from(v) {
            OwnedValue::U64(n) => Some(n),
            _ => None,
        })
}

/// The top `limit` documents by (score desc, seq asc): ties resolve by ingest order, never
/// by doc address (which depends on how segments were merged).
fn top_by_score_then_seq(limit: usize) -> TopByScoreThenSeq {
    TopByScoreThenSeq {
        limit: limit.max(1),
    }
}

/// A top-k collector that reads a document's `seq` only when its score can still enter
/// the top k. (`TopDocs::tweak_score` computed the (score, seq) key for every matching
/// document: at a million pages that fast-field read was ~30 % of a search.)
struct TopByScoreThenSeq {
    limit: usize,
}

/// A scored document; greater = ranks first (higher score, then lower seq).
#[derive(Debug, Clone, Copy)]
struct Ranked {
    score: Score,
    seq: u64,
    addr: DocAddress,
}

impl Ord for Ranked {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.score
            .total_cmp(&other.score)
            .then_with(|| other.seq.cmp(&self.seq))
            .then_with(|| other.addr.cmp(&self.addr))
    }
}

impl PartialOrd for Ranked {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for Ranked {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == std::cmp::Ordering::Equal
    }
}

impl Eq for Ranked {}

impl Collector for TopByScoreThenSeq {
    type Fruit = Vec<(Score, DocAddress)>;
    type Child = SegmentTop;

    fn for_segment(
        &self,
        segment_ord: SegmentOrdinal,
        segment: &SegmentReader,
    ) -> tantivy::Result<SegmentTop> {
        Ok(SegmentTop {
            limit: self.limit,
            segment_ord,
            seq: segment
                .fast_fields()
                .u64("seq")?
                .first_or_default_col(u64::MAX),
            kept: BinaryHeap::with_capacity(self.limit + 1),
        })
    }

    fn requires_scoring(&self) -> bool {
        true
    }

    fn merge_fruits(&self, segments: Vec<Vec<Ranked>>) -> tantivy::Result<Self::Fruit> {
        let mut all: Vec<Ranked> = segments.into_iter().flatten().collect();
        all.sort_by(|a, b| b.cmp(a));
        all.truncate(self.limit);
        Ok(all.into_iter().map(|r| (r.score, r.addr)).collect())
    }
}

/// One segment's best documents, in a min-heap (its top is the worst kept).
struct SegmentTop {
    limit: usize,
    segment_ord: SegmentOrdinal,
    seq: std::sync::Arc<dyn ColumnValues<u64>>,
    kept: BinaryHeap<Reverse<Ranked>>,
}

impl SegmentCollector for SegmentTop {
    type Fruit = Vec<Ranked>;

    fn collect(&mut self, doc: DocId, score: Score) {
        if self.kept.len() == self.limit {
            // Below the worst kept score it cannot enter, whatever its seq.
            if self.kept.peek().is_some_and(|w| score < w.0.score) {
                return;
            }
        }
        let ranked = Ranked {
            score,
            seq: self.seq.get_val(doc),
            addr: DocAddress::new(self.segment_ord, doc),
        };
        if self.kept.len() < self.limit {
            self.kept.push(Reverse(ranked));
        } else if self.kept.peek().is_some_and(|w| ranked > w.0) {
            self.kept.pop();
            self.kept.push(Reverse(ranked));
        }
    }

    fn harvest(self) -> Vec<Ranked> {
        self.kept.into_iter().map(|r| r.0).collect()
    }
}

impl LangIndex {
    pub fn open(data_dir: &Path, lang: Lang) -> tantivy::Result<LangIndex> {
        let dir = lang_dir(data_dir, lang);
        let pages = open_reader(&dir.join("pages"))?;
        let passages = open_reader(&dir.join("passages"))?;
        // Field ids come from the stored schema (a missing field = not our index).
        let ps = pages.searcher().schema().clone();
        let qs = passages.searcher().schema().clone();
        let pf = PageFields {
            doc_id: ps.get_field("doc_id")?,
            seq: ps.get_field("seq")?,
            title: ps.get_field("title")?,
            title_exact: ps.get_field("title_exact")?,
            body: ps.get_field("body")?,
            body_exact: ps.get_field("body_exact")?,
        };
        let qf = PassageFields {
            doc_id: qs.get_field("doc_id")?,
            seq: qs.get_field("seq")?,
            ordinal: qs.get_field("ordinal")?,
            title: qs.get_field("title")?,
            heading: qs.get_field("heading")?,
            text: qs.get_field("text")?,
        };
        let page_postings = PostingsFiles::locate(&pages, &dir.join("pages"));
        let passage_postings = PostingsFiles::locate(&passages, &dir.join("passages"));
        read_ahead_small_files(vec![dir.join("pages"), dir.join("passages")]);
        Ok(LangIndex {
            lang,
            pages: (pages, pf),
            passages: (passages, qf),
            page_postings,
            passage_postings,
        })
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    pub fn page_count(&self) -> u64 {
        self.pages.0.searcher().num_docs()
    }

    pub fn passage_count(&self) -> u64 {
        self.passages.0.searcher().num_docs()
    }

    /// Top `limit` pages for the analysed `terms` and the unstemmed `exact_terms` (an
    /// OR of exact title^3, stemmed title^0.5, and body matches both stemmed and exact).
    pub fn search_pages(
        &self,
        terms: &[String],
        exact_terms: &[String],
        limit: usize,
    ) -> tantivy::Result<Vec<PageHit>> {
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let (reader, f) = &self.pages;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in terms {
            clauses.push((Occur::Should, boosted(f.title, t, TITLE_BOOST)));
            clauses.push((Occur::Should, term_query(f.body, t)));
        }
        for t in exact_terms {
            clauses.push((Occur::Should, boosted(f.title_exact, t, EXACT_TITLE_BOOST)));
            clauses.push((Occur::Should, term_query(f.body_exact, t)));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = reader.searcher();
        self.page_postings.read_ahead(&searcher, &terms_of(&query));
        let top = searcher.search(&query, &top_by_score_then_seq(limit))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            let doc: TantivyDocument = searcher.doc(addr)?;
            hits.push(PageHit {
                doc_id: stored_str(&doc, f.doc_id).unwrap_or_default(),
                score,
            });
        }
        Ok(hits)
    }

    /// Top `limit` passages for the analysed `terms` over passage text, heading and page
    /// title. Ties keep ingest order.
    pub fn search_passages(
        &self,
        terms: &[String],
        limit: usize,
    ) -> tantivy::Result<Vec<RankedPassage>> {
        if terms.is_empty() || limit == 0 {
            return Ok(Vec::new());
        }
        let (reader, f) = &self.passages;
        let mut clauses: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in terms {
            clauses.push((Occur::Should, term_query(f.text, t)));
            clauses.push((Occur::Should, term_query(f.title, t)));
            clauses.push((Occur::Should, boosted(f.heading, t, HEADING_BOOST)));
        }
        let query = BooleanQuery::new(clauses);
        let searcher = reader.searcher();
        self.passage_postings
            .read_ahead(&searcher, &terms_of(&query));
        let top = searcher.search(&query, &top_by_score_then_seq(limit))?;
        let mut hits = Vec::with_capacity(top.len());
        for (score, addr) in top {
            hits.push(self.passage_ref(&searcher, addr, score)?);
        }
        Ok(hits)
    }

    fn passage_ref(
        &self,
        searcher: &tantivy::Searcher,
        addr: DocAddress,
        score: Score,
    ) -> tantivy::Result<RankedPassage> {
        let f = &self.passages.1;
        let doc: TantivyDocument = searcher.doc(addr)?;
        Ok(RankedPassage {
            doc_id: stored_str(&doc, f.doc_id).unwrap_or_default(),
            ordinal: stored_u64(&doc, f.ordinal).unwrap_or(0) as u32,
            score,
        })
    }

    /// For each page of `doc_ids`, the ordinal of its passage that best matches `terms`
    /// (text and heading; ties to the earlier passage), the first passage when none
    /// matches (e.g. a title-only hit), `None` for a page with no passages.
    ///
    /// One pass for all pages: each page's passages come from the postings of its id,
    /// and one scorer of the snippet query seeks to them in doc order, instead of one
    /// filtered search per page. A passage's ordinal is its rank among its page's
    /// passages in ingest order (they are indexed in ordinal order), so no stored
    /// document is read.
    pub fn best_passages(
        &self,
        doc_ids: &[&str],
        terms: &[String],
    ) -> tantivy::Result<Vec<Option<u32>>> {
        let (reader, f) = &self.passages;
        let searcher = reader.searcher();
        let query = (!terms.is_empty()).then(|| self.snippet_query(terms));
        let id_terms: Vec<Term> = doc_ids
            .iter()
            .map(|id| Term::from_field_text(f.doc_id, id))
            .collect();
        let mut hinted = id_terms.clone();
        if let Some(query) = &query {
            hinted.extend(terms_of(query));
        }
        self.passage_postings.read_ahead(&searcher, &hinted);
        let weight = match &query {
            Some(query) => Some(query.weight(EnableScoring::enabled_from_searcher(&searcher))?),
            None => None,
        };
        // Per page: (seq, score when matched) of every passage, over all segments.
        let mut scored: Vec<Vec<(u64, Option<Score>)>> = vec![Vec::new(); doc_ids.len()];
        for segment in searcher.segment_readers() {
            let ids = segment.inverted_index(f.doc_id)?;
            let seqs = segment
                .fast_fields()
                .u64("seq")?
                .first_or_default_col(u64::MAX);
            let mut members: Vec<(DocId, usize)> = Vec::new();
            for (page, term) in id_terms.iter().enumerate() {
                if let Some(mut postings) = ids.read_postings(term, IndexRecordOption::Basic)? {
                    while postings.doc() != TERMINATED {
                        // (A published index has no deletes; a deleted doc still has postings.)
                        if !segment.is_deleted(postings.doc()) {
                            members.push((postings.doc(), page));
                        }
                        postings.advance();
                    }
                }
            }
            // A scorer only moves forward.
            members.sort_unstable();
            let mut scorer = match &weight {
                Some(w) => Some(w.scorer(segment, 1.0)?),
                None => None,
            };
            for (doc, page) in members {
                let score = scorer.as_mut().and_then(|s| {
                    let at = if s.doc() < doc { s.seek(doc) } else { s.doc() };
                    (at == doc).then(|| s.score())
                });
                scored[page].push((seqs.get_val(doc), score));
            }
        }
        Ok(scored
            .into_iter()
            .map(|mut passages| {
                passages.sort_unstable_by_key(|p| p.0);
                let mut best: Option<(usize, Score)> = None;
                for (ordinal, (_, score)) in passages.iter().enumerate() {
                    if let Some(score) = *score {
                        if best.is_none_or(|(_, b)| score > b) {
                            best = Some((ordinal, score));
                        }
                    }
                }
                match best {
                    Some((ordinal, _)) => Some(ordinal as u32),
                    None => (!passages.is_empty()).then_some(0),
                }
            })
            .collect())
    }

    /// What a snippet highlights: the query's terms in passage text and headings.
    fn snippet_query(&self, terms: &[String]) -> BooleanQuery {
        let f = &self.passages.1;
        let mut matches: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        for t in terms {
            matches.push((Occur::Should, term_query(f.text, t)));
            matches.push((Occur::Should, boosted(f.heading, t, HEADING_BOOST)));
        }
        BooleanQuery::new(matches)
    }

    /// A snippet cutter for `terms`, fragments of at most `max_chars`: what
    /// `SnippetGenerator::create` builds for the snippet query's text terms (each weighted
    /// 1 / (1 + doc freq)), with [`analyzers::snippet_analyzer`] in place of the index's.
    pub fn snippets(&self, terms: &[String], max_chars: usize) -> tantivy::Result<Snippets> {
        let (reader, f) = &self.passages;
        let searcher = reader.searcher();
        let mut weights = BTreeMap::new();
        for t in terms {
            let doc_freq = searcher.doc_freq(&Term::from_field_text(f.text, t))?;
            if doc_freq > 0 {
                weights.insert(t.clone(), 1.0 / (1.0 + doc_freq as Score));
            }
        }
        let generator = SnippetGenerator::new(
            weights,
            analyzers::snippet_analyzer(self.lang),
            f.text,
            max_chars,
        );
        Ok(Snippets {
            generator,
            max_chars,
        })
    }
}

fn term_query(field: Field, text: &str) -> Box<dyn Query> {
    Box::new(TermQuery::new(
        Term::from_field_text(field, text),
        IndexRecordOption::WithFreqs,
    ))
}

fn boosted(field: Field, text: &str, boost: Score) -> Box<dyn Query> {
    Box::new(BoostQuery::new(term_query(field, text), boost))
}

/// The first `max_chars` characters of `text`, cut at a word boundary when possible.
/// Tantivy picks the densest window of matches, which often starts mid-sentence
/// ("glaucoma. Ray Charles ..."). When the window opens with a short sentence tail that
/// holds no match, start at the next sentence instead and spend the freed length at the
/// end (cut at a word boundary), as a search engine's snippet would. Highlight ranges
/// (byte ranges in the fragment) move with it.
fn snap_to_sentence(
    text: &str,
    fragment: &str,
    highlights: &[std::ops::Range<usize>],
) -> (String, Vec<std::ops::Range<usize>>) {
    let unchanged = || (fragment.to_string(), highlights.to_vec());
    let Some(offset) = text.find(fragment) else {
        return unchanged();
    };
    if offset == 0 || is_sentence_start(&text[..offset]) {
        return unchanged();
    }
    let first_match = highlights
        .iter()
        .map(|h| h.start)
        .min()
        .unwrap_or(fragment.len());
    let Some(skip) = next_sentence_start(fragment) else {
        return unchanged();
    };
    if skip > first_match || skip > fragment.len() / 3 {
        return unchanged();
    }
    let start = offset + skip;
    let budget = fragment.len();
    let mut end = (start + budget).min(text.len());
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let mid_word = text[end..].starts_with(char::is_alphanumeric)
        && text[..end].ends_with(char::is_alphanumeric);
    if end < text.len() && mid_word {
        if let Some(space) = text[start..end].rfind(char::is_whitespace) {
            if space > budget / 2 {
                end = start + space;
            }
        }
    }
    let new_fragment = text[start..end].trim_end().to_string();
    let moved = highlights
        .iter()
        .filter(|h| h.start >= skip && h.end - skip <= new_fragment.len())
        .map(|h| h.start - skip..h.end - skip)
        .collect();
    (new_fragment, moved)
}

/// Whether text that ends here ends a sentence (or a line).
fn is_sentence_start(before: &str) -> bool {
    let trimmed = before.trim_end_matches([' ', '\t']);
    before.ends_with('\n')
        || trimmed.ends_with(['。', '！', '？'])
        || (before.len() > trimmed.len() && trimmed.ends_with(['.', '!', '?']))
}

/// Byte offset in `fragment` where its second sentence (or line) begins.
fn next_sentence_start(fragment: &str) -> Option<usize> {
    fragment.char_indices().find_map(|(i, c)| {
        let after = i + c.len_utf8();
        let rest = &fragment[after..];
        let boundary = match c {
            '\n' | '。' | '！' | '？' => true,
            '.' | '!' | '?' => rest.starts_with([' ', '\n']),
            _ => false,
        };
        if !boundary {
            return None;
        }
        let next = after + (rest.len() - rest.trim_start().len());
        (next < fragment.len()).then_some(next)
    })
}

pub fn prefix_chars(text: &str, max_chars: usize) -> String {
    match text.char_indices().nth(max_chars) {
        None => text.to_string(),
        Some((cut, _)) => {
            let head = &text[..cut];
            match head.rfind(char::is_whitespace) {
                Some(space) if space > cut / 2 => head[..space].to_string(),
                _ => head.to_string(),
            }
        }
    }
}

#[cfg(test)]
#[allow(clippy::single_range_in_vec_init)] // highlight lists of one range
mod tests {
    /// Every segment's layout is found, and the bytes a read-ahead hint names, read from
    /// the file, are the posting list tantivy reads for the term.
    fn read_ahead_finds_the_lists(
        reader: &super::IndexReader,
        files: &super::PostingsFiles,
        field: super::Field,
        terms: &[&str],
    ) {
        use std::os::unix::fs::FileExt;
        use tantivy::directory::Directory;
        let searcher = reader.searcher();
        assert_eq!(files.segments.len(), searcher.segment_readers().len());
        let mut checked = 0;
        for segment in searcher.segment_readers() {
            let id = segment.segment_id().uuid_string();
            let layout = &files.segments[&id];
            let whole = searcher
                .index()
                .directory()
                .open_read(std::path::Path::new(&format!("{id}.idx")))
                .unwrap();
            let composite = tantivy::directory::CompositeFile::open(&whole).unwrap();
            let part = composite.open_read(field).unwrap();
            let inverted = segment.inverted_index(field).unwrap();
            for term in terms {
                let term = super::Term::from_field_text(field, term);
                let Some(info) = inverted.get_term_info(&term).unwrap() else {
                    continue;
                };
                let range = info.postings_range;
                let want = part.slice(range.clone()).read_bytes().unwrap();
                let mut got = vec![0u8; range.len()];
                layout
                    .file
                    .read_exact_at(&mut got, layout.fields[&field] + range.start as u64)
                    .unwrap();
                assert_eq!(got, want.as_slice());
                checked += 1;
            }
        }
        assert!(checked > 0);
    }

    /// Search, passage search and the best-passage pass give the same results over an
    /// index left in many segments (a merge limit of one byte keeps every commit's
    /// segment) as over the same documents in one segment.
    #[test]
    fn many_segments_rank_like_one() {
        use super::*;
        use crate::model::Section;
        let words = [
            "river", "music", "war", "city", "science", "film", "king", "island",
        ];
        let docs: Vec<Document> = (0..24usize)
            .map(|i| {
                let para = |k: usize| {
                    (0..60)
                        .map(|j| words[(i * 7 + j * (k + 1)) % words.len()])
                        .collect::<Vec<_>>()
                        .join(" ")
                };
                Document {
                    id: format!("t:{i}"),
                    title: format!("{} {i}", words[i % words.len()]),
                    url: format!("https://en.wikipedia.org/wiki/T{i}"),
                    lang: Lang::En,
                    timestamp: None,
                    sections: vec![Section {
                        heading_path: vec![words[(i + 3) % words.len()].to_string()],
                        text: (0..4).map(para).collect::<Vec<_>>().join("\n"),
                    }],
                    categories: Vec::new(),
                    links: Vec::new(),
                }
            })
            .collect();
        let build = |segmented: bool| {
            let dir = tempfile::tempdir().unwrap();
            let mut w = LangIndexWriter::create(dir.path(), Lang::En).unwrap();
            for doc in &docs {
                w.add(doc, &crate::passages::passages(doc)).unwrap();
                if segmented {
                    w.pages.1.commit().unwrap();
                    w.passages.1.commit().unwrap();
                }
            }
            w.finish_with_limit(if segmented { 1 } else { u64::MAX })
                .unwrap();
            let index = LangIndex::open(dir.path(), Lang::En).unwrap();
            (dir, index)
        };
        let (_one_dir, one) = build(false);
        let (_many_dir, many) = build(true);
        let segments = |i: &LangIndex| i.pages.0.searcher().segment_readers().len();
        assert_eq!(segments(&one), 1);
        assert!(segments(&many) > 10, "{} segments", segments(&many));
        let ids: Vec<String> = docs.iter().map(|d| d.id.clone()).collect();
        let ids: Vec<&str> = ids.iter().map(String::as_str).collect();
        for index in [&one, &many] {
            let f = index.pages.1;
            read_ahead_finds_the_lists(&index.pages.0, &index.page_postings, f.body, &words);
            let q = index.passages.1;
            read_ahead_finds_the_lists(&index.passages.0, &index.passage_postings, q.doc_id, &ids);
        }
        for query in [
            &["river"][..],
            &["war", "king"],
            &["film", "island", "music"],
        ] {
            let terms: Vec<String> = query.iter().map(|t| t.to_string()).collect();
            let pages = |i: &LangIndex| {
                i.search_pages(&terms, &terms, 10)
                    .unwrap()
                    .into_iter()
                    .map(|h| (h.doc_id, h.score.to_bits()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(pages(&one), pages(&many), "{query:?}");
            let passages = |i: &LangIndex| {
                i.search_passages(&terms, 10)
                    .unwrap()
                    .into_iter()
                    .map(|p| (p.doc_id, p.ordinal, p.score.to_bits()))
                    .collect::<Vec<_>>()
            };
            assert_eq!(passages(&one), passages(&many), "{query:?}");
            assert_eq!(
                one.best_passages(&ids, &terms).unwrap(),
                many.best_passages(&ids, &terms).unwrap(),
                "{query:?}"
            );
        }
    }

    #[test]
    fn merge_groups_split_evenly_within_the_limit() {
        use super::merge_groups;
        // Everything fits: one group of all segments.
        assert_eq!(
            merge_groups(vec![(3, 'a'), (5, 'b'), (2, 'c')], 100),
            [vec!['b', 'a', 'c']]
        );
        // 30 bytes at a limit of 12: three groups, largest first into the lightest.
        let groups = merge_groups(
            vec![
                (6, 'a'),
                (5, 'b'),
                (4, 'c'),
                (4, 'd'),
                (3, 'e'),
                (3, 'f'),
                (3, 'g'),
                (2, 'h'),
            ],
            12,
        );
        assert_eq!(
            groups,
            [vec!['a', 'f'], vec!['b', 'e', 'g'], vec!['c', 'd', 'h']]
        );
        // Never more groups than segments; no segments, no merge.
        assert_eq!(merge_groups(vec![(50, 'a'), (50, 'b')], 1).len(), 2);
        assert_eq!(
            merge_groups(Vec::<(u64, char)>::new(), 10),
            [Vec::<char>::new()]
        );
    }

    use super::*;

    #[test]
    fn a_snippet_that_opens_mid_sentence_starts_at_the_next_sentence() {
        let text = "Charles started losing his vision at the age of 6 due to glaucoma.\nRay Charles\nBorn: 1930 in Albany, Georgia, a city.";
        let fragment = "glaucoma.\nRay Charles\nBorn: 1930";
        let at = fragment.find("Ray").unwrap();
        let (snapped, highlights) = snap_to_sentence(text, fragment, &[at..at + 3]);
        assert_eq!(snapped, "Ray Charles\nBorn: 1930 in Albany");
        assert_eq!(highlights, [0..3]);
        assert_eq!(&snapped[highlights[0].clone()], "Ray");
    }

    #[test]
    fn a_snippet_keeps_its_start_when_the_tail_holds_a_match_or_it_starts_a_sentence() {
        let text = "Alpha beta. Gamma delta epsilon zeta.";
        // Starts a sentence already.
        let (s, _) = snap_to_sentence(text, "Gamma delta", &[0..5]);
        assert_eq!(s, "Gamma delta");
        // The partial sentence holds the match: keep it.
        let (s, h) = snap_to_sentence(text, "beta. Gamma delta", &[0..4]);
        assert_eq!((s.as_str(), h), ("beta. Gamma delta", vec![0..4]));
        // Chinese full stops end sentences too.
        let zh = "他是歌手。雷·查尔斯出生于佐治亚州。";
        let frag = &zh[zh.find("歌手").unwrap()..];
        let at = frag.find("雷").unwrap();
        let (s, _) = snap_to_sentence(zh, frag, &[at..at + 3]);
        assert!(s.starts_with("雷·查尔斯"), "{s}");
    }
}
