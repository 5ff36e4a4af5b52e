//! The fact graph of a corpus, built from what ingest already records:
//! - infobox `key: value` lines of the lead -> typed facts (a year, a number, a short
//!   text), and an entity when the value is the anchor of a link to another page;
//! - outgoing links -> edges, each with the sentence that carries the link (an edge
//!   without such a sentence cannot be described to an agent, so it is dropped);
//! - categories -> membership; redirects -> answer aliases.
//!
//! Disambiguation and list pages are kept as link sources but never posed about. The graph
//! is a pure function of the corpus snapshot, built once and cached in the data dir.

use std::collections::{BTreeMap, HashMap};
use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use serde::{Deserialize, Serialize};
use simweb_wikidump::normalize::title_key;
use simweb_wikidump::{Corpus, Document, Lang};

use crate::error::TaskError;
use crate::values::{askable_key, canonical_key, classify, Value};

/// Bump when the graph's content or layout changes (old caches are then rebuilt).
pub const FACTS_VERSION: u32 = 2;

/// One page of the corpus.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entity {
    pub doc_id: String,
    pub title: String,
    pub url: String,
    pub lang: Lang,
    /// Redirect titles that lead here, sorted: accepted answers besides the title.
    pub aliases: Vec<String>,
    pub facts: Vec<Fact>,
    pub categories: Vec<String>,
    pub edges: Vec<Edge>,
    /// The sentences `edges` point into.
    pub sentences: Vec<String>,
    /// Distinct pages with an edge here.
    pub in_degree: u32,
    /// Disambiguation or list page: never the subject of a question.
    pub skip: bool,
}

/// An infobox line.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Fact {
    /// The key as the page shows it.
    pub key: String,
    /// [`canonical_key`] of `key`: what constraints match on.
    pub attr: String,
    /// The value as the page shows it.
    pub raw: String,
    pub value: Value,
    /// The entity the value links to, when it is a link to a page of the corpus.
    pub target: Option<u32>,
}

/// A link to another page of the corpus, with the sentence that carries it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Edge {
    pub target: u32,
    pub anchor: String,
    /// Index into the page's `sentences`: the sentence (as on the page) containing
    /// `anchor` exactly once. Sentences carry several links, so they are stored once.
    pub sentence: u32,
}

impl Entity {
    /// The sentence that carries `edge`.
    pub fn sentence(&self, edge: &Edge) -> &str {
        self.sentences
            .get(edge.sentence as usize)
            .map(String::as_str)
            .unwrap_or_default()
    }

    /// The sentence of `edge` with the link's anchor replaced by `___`: how questions
    /// quote it.
    pub fn masked(&self, edge: &Edge) -> String {
        self.sentence(edge).replacen(&edge.anchor, BLANK, 1)
    }
}

/// At most this many edges per page (the first in page order): real pages link hundreds
/// of pages, and a chain needs only a few ways out of each.
pub const MAX_EDGES_PER_PAGE: usize = 48;

/// The blank that stands for a link's anchor in a quoted sentence.
pub const BLANK: &str = "___";

/// Every page, with its facts and edges, indexed by position.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FactGraph {
    pub version: u32,
    pub snapshot_id: String,
    pub entities: Vec<Entity>,
    /// For each entity, the (source, edge index) pairs pointing at it.
    pub incoming: Vec<Vec<(u32, u32)>>,
    /// (language, title) -> entity, built on first use.
    #[serde(skip)]
    by_title: OnceLock<HashMap<(Lang, String), u32>>,
}

impl FactGraph {
    /// The graph of `corpus`: read from `<cache>/facts/<snapshot id>.v{N}.json` when
    /// that holds this snapshot's graph, else built and cached there. The cache lives
    /// outside the data dir, which is published once and never written again (several
    /// processes may have it open); an unwritable cache only costs the rebuild.
    pub fn load_or_build(corpus: &Corpus, cache_dir: &Path) -> Result<FactGraph, TaskError> {
        let path = cache_path(cache_dir, corpus.snapshot_id());
        if let Ok(file) = std::fs::File::open(&path) {
            match serde_json::from_reader::<_, FactGraph>(std::io::BufReader::new(file)) {
                Ok(g) if g.version == FACTS_VERSION && g.snapshot_id == corpus.snapshot_id() => {
                    return Ok(g)
                }
                Ok(_) => tracing::info!(path = %path.display(), "fact graph cache is stale"),
                Err(e) => {
                    tracing::warn!(path = %path.display(), error = %e, "unreadable fact graph cache")
                }
            }
        }
        let graph = FactGraph::build(corpus)?;
        if let Err(e) = write_atomically(&path, &graph) {
            tracing::warn!(path = %path.display(), error = %e, "cannot cache the fact graph");
        }
        Ok(graph)
    }

    /// Builds the graph (no cache). Links are resolved through the corpus's title and
    /// redirect tables, so documents are read once, one at a time, in `workers` threads:
    /// memory holds the graph, not the corpus.
    pub fn build(corpus: &Corpus) -> Result<FactGraph, TaskError> {
        let ids = corpus.doc_ids()?;
        let position: HashMap<&str, u32> = ids
            .iter()
            .enumerate()
            .map(|(i, id)| (id.as_str(), i as u32))
            .collect();
        let mut by_key: HashMap<(Lang, String), u32> = HashMap::new();
        for (lang, key, doc_id) in corpus.titles()? {
            if let Some(&i) = position.get(doc_id.as_str()) {
                by_key.insert((lang, key), i);
            }
        }
        let mut aliases: BTreeMap<u32, Vec<String>> = BTreeMap::new();
        let mut redirect_to: HashMap<(Lang, String), u32> = HashMap::new();
        for r in corpus.redirects()? {
            if let Some(&target) = by_key.get(&(r.lang, title_key(&r.to, r.lang))) {
                redirect_to.insert((r.lang, title_key(&r.from, r.lang)), target);
                if r.fragment.is_none() {
                    aliases.entry(target).or_default().push(r.from.clone());
                }
            }
        }
        let resolve = |lang: Lang, title: &str| -> Option<u32> {
            let k = (lang, title_key(title, lang));
            by_key.get(&k).or_else(|| redirect_to.get(&k)).copied()
        };

        // Contiguous chunks per worker, joined in order: the graph does not depend on
        // the thread count.
        let workers = std::thread::available_parallelism()
            .map(|n| n.get())
            .unwrap_or(1)
            .clamp(1, 8);
        let chunk = ids.len().div_ceil(workers).max(1);
        let parts: Vec<Result<Vec<Entity>, TaskError>> = std::thread::scope(|scope| {
            let handles: Vec<_> = ids
                .chunks(chunk)
                .enumerate()
                .map(|(c, part)| {
                    let resolve = &resolve;
                    scope.spawn(move || {
                        let mut out = Vec::with_capacity(part.len());
                        for (k, id) in part.iter().enumerate() {
                            let me = (c * chunk + k) as u32;
                            let doc = corpus.document(id)?.ok_or_else(|| {
                                TaskError::Corpus(simweb_wikidump::CorpusError::Store {
                                    message: format!("document {id} listed but not stored"),
                                })
                            })?;
                            out.push(read_entity(&doc, me, resolve));
                        }
                        Ok(out)
                    })
                })
                .collect();
            handles
                .into_iter()
                .map(|h| {
                    h.join().unwrap_or_else(|_| {
                        Err(TaskError::Options("a fact-graph worker panicked".into()))
                    })
                })
                .collect()
        });
        let mut entities: Vec<Entity> = Vec::with_capacity(ids.len());
        for part in parts {
            entities.extend(part?);
        }
        for (i, entity) in entities.iter_mut().enumerate() {
            let mut a = aliases.remove(&(i as u32)).unwrap_or_default();
            a.sort();
            a.dedup();
            a.retain(|t| t != &entity.title && names_the_page(t, &entity.title, entity.lang));
            entity.aliases = a;
        }
        let mut incoming: Vec<Vec<(u32, u32)>> = vec![Vec::new(); entities.len()];
        for (s, e) in entities.iter().enumerate() {
            for (k, edge) in e.edges.iter().enumerate() {
                incoming[edge.target as usize].push((s as u32, k as u32));
            }
        }
        for (t, inc) in incoming.iter().enumerate() {
            let mut sources: Vec<u32> = inc.iter().map(|(s, _)| *s).collect();
            sources.dedup();
            entities[t].in_degree = sources.len() as u32;
        }
        Ok(FactGraph {
            version: FACTS_VERSION,
            snapshot_id: corpus.snapshot_id().to_owned(),
            entities,
            incoming,
            by_title: OnceLock::new(),
        })
    }

    pub fn entity(&self, i: u32) -> &Entity {
        &self.entities[i as usize]
    }

    /// The entity titled `title` in `lang` (exact title, as stored; the first page of
    /// that title when a corpus holds two).
    pub fn find(&self, lang: Lang, title: &str) -> Option<u32> {
        self.by_title
            .get_or_init(|| {
                let mut m = HashMap::with_capacity(self.entities.len());
                for (i, e) in self.entities.iter().enumerate() {
                    m.entry((e.lang, e.title.clone())).or_insert(i as u32);
                }
                m
            })
            .get(&(lang, title.to_owned()))
            .copied()
    }

    /// Counts for the synthesis summary.
    pub fn stats(&self) -> GraphStats {
        let mut s = GraphStats::default();
        for e in &self.entities {
            s.entities += 1;
            s.skipped += usize::from(e.skip);
            s.facts += e.facts.len();
            s.answerable_facts += e
                .facts
                .iter()
                .filter(|f| f.value.is_answerable() && askable_key(&f.attr))
                .count();
            s.entity_facts += e.facts.iter().filter(|f| f.target.is_some()).count();
            s.edges += e.edges.len();
            s.category_links += e.categories.len();
            s.aliases += e.aliases.len();
        }
        s
    }
}

/// Sizes of a fact graph.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct GraphStats {
    pub entities: usize,
    pub skipped: usize,
    pub facts: usize,
    pub answerable_facts: usize,
    pub entity_facts: usize,
    pub edges: usize,
    pub category_links: usize,
    pub aliases: usize,
}

/// Where `snapshot_id`'s graph is cached under `cache_dir`.
pub fn cache_path(cache_dir: &Path, snapshot_id: &str) -> PathBuf {
    cache_dir
        .join("facts")
        .join(format!("{snapshot_id}.v{FACTS_VERSION}.json"))
}

fn write_atomically(path: &Path, graph: &FactGraph) -> std::io::Result<()> {
    let dir = path.parent().unwrap_or(Path::new("."));
    std::fs::create_dir_all(dir)?;
    let tmp = dir.join(format!(".facts.{}.tmp", std::process::id()));
    let mut w = std::io::BufWriter::new(std::fs::File::create(&tmp)?);
    serde_json::to_writer(&mut w, graph).map_err(std::io::Error::other)?;
    w.into_inner().map_err(|e| e.into_error())?.sync_all()?;
    std::fs::rename(&tmp, path)
}

/// Whether a page is a disambiguation or list page.
fn is_skipped(doc: &Document) -> bool {
    let t = doc.title.to_lowercase();
    let lead = doc
        .sections
        .first()
        .map(|s| s.text.as_str())
        .unwrap_or_default();
    t == "main page"
        || t.starts_with("list of")
        || t.starts_with("lists of")
        || t.contains("(disambiguation)")
        || doc.title.contains("消歧义")
        || doc
            .categories
            .iter()
            .any(|c| c.to_lowercase().contains("disambiguation") || c.contains("消歧义"))
        || lead.contains("may refer to")
        || lead.contains("可以指")
}

/// `key: value` of an infobox line (short key, no sentence punctuation in it).
pub fn infobox_line(line: &str) -> Option<(&str, &str)> {
    let (k, v, max_key) = match line.split_once(": ") {
        Some((k, v)) => (k, v, 32),
        // Chinese prose uses `：` too; an infobox key is a short noun.
        None => line.split_once('：').map(|(k, v)| (k, v, 8))?,
    };
    let k = k.trim();
    let v = v.trim();
    let ok_key = !k.is_empty()
        && line.chars().count() <= 200
        && k.chars().count() <= max_key
        && k.split_whitespace().count() <= 4
        && !k.contains(['.', ',', '"', '“', '(', '（', '。', '，', '、'])
        && k.chars().next().is_some_and(|c| c.is_alphabetic());
    (ok_key && !v.is_empty()).then_some((k, v))
}

fn read_entity(doc: &Document, me: u32, resolve: &impl Fn(Lang, &str) -> Option<u32>) -> Entity {
    // Infobox lines lead the first section (wikitext) or follow its first paragraph
    // (rendered HTML from ZIM); prose lines stay text for edge sentences.
    let mut facts = Vec::new();
    let mut prose: Vec<&str> = Vec::new();
    for (i, section) in doc.sections.iter().enumerate() {
        for line in section.text.lines() {
            match (i == 0).then(|| infobox_line(line)).flatten() {
                Some((k, v)) => {
                    let attr = canonical_key(k);
                    if !facts.iter().any(|f: &Fact| f.attr == attr) {
                        facts.push(Fact {
                            key: k.to_owned(),
                            attr,
                            raw: v.to_owned(),
                            value: classify(v),
                            target: None,
                        });
                    }
                }
                None => prose.push(line),
            }
        }
    }
    let sentences: Vec<&str> = prose
        .iter()
        .flat_map(|l| split_sentences(l, doc.lang))
        .collect();

    let mut edges: Vec<Edge> = Vec::new();
    let mut kept: Vec<String> = Vec::new();
    for link in &doc.links {
        let Some(target) = resolve(doc.lang, &link.target) else {
            continue;
        };
        let anchor = link.anchor.trim();
        if target == me || anchor.chars().count() < 2 {
            continue;
        }
        for f in &mut facts {
            if f.target.is_none() && (f.raw == anchor || f.raw == link.target) {
                f.target = Some(target);
            }
        }
        if edges.len() >= MAX_EDGES_PER_PAGE || edges.iter().any(|e| e.target == target) {
            continue;
        }
        let carrier = sentences.iter().find(|s| {
            let n = s.chars().count();
            (30..=320).contains(&n)
                && s.matches(anchor).count() == 1
                && prose_like(s, doc.lang)
                && !infobox_like(s)
        });
        let carrier = carrier.filter(|s| masked_ok(&s.replacen(anchor, BLANK, 1), doc.lang));
        if let Some(sentence) = carrier {
            let index = match kept.iter().position(|k| k == sentence) {
                Some(i) => i,
                None => {
                    kept.push((*sentence).to_owned());
                    kept.len() - 1
                }
            };
            edges.push(Edge {
                target,
                anchor: anchor.to_owned(),
                sentence: index as u32,
            });
        }
    }
    Entity {
        doc_id: doc.id.clone(),
        title: doc.title.clone(),
        url: doc.url.clone(),
        lang: doc.lang,
        aliases: Vec::new(),
        facts,
        categories: doc.categories.clone(),
        edges,
        sentences: kept,
        in_degree: 0,
        skip: is_skipped(doc),
    }
}

/// A sentence an agent can search for: words, not a table row or a list of titles.
fn prose_like(s: &str, lang: Lang) -> bool {
    let words_ok = match lang {
        Lang::En => s.split_whitespace().count() >= 6,
        Lang::Zh => {
            s.chars()
                .filter(|c| simweb_wikidump::normalize::is_cjk(*c))
                .count()
                >= 10
        }
    };
    let ends = s.ends_with(['.', '!', '?', '"', '。', '！', '？', '”', '」']);
    words_ok && ends && !s.contains('|') && !s.contains(" · ") && !s.contains(": ")
}

/// The masked sentence must still say something besides the blank.
fn masked_ok(masked: &str, lang: Lang) -> bool {
    let rest = masked.replace(BLANK, "");
    match lang {
        Lang::En => rest.split_whitespace().count() >= 5,
        Lang::Zh => {
            rest.chars()
                .filter(|c| simweb_wikidump::normalize::is_cjk(*c))
                .count()
                >= 8
        }
    }
}

/// Whether a redirect title names the page (shares a word, or for Chinese a character,
/// with the title) rather than something the page covers (a song on a singer's page).
fn names_the_page(alias: &str, title: &str, lang: Lang) -> bool {
    match lang {
        Lang::En => {
            let words = |s: &str| -> Vec<String> {
                s.split(|c: char| !c.is_alphanumeric())
                    .filter(|w| w.len() > 1)
                    .map(str::to_lowercase)
                    .collect()
            };
            let t = words(title);
            words(alias).iter().any(|w| t.contains(w))
        }
        Lang::Zh => alias.chars().any(|c| title.contains(c)),
    }
}

fn infobox_like(s: &str) -> bool {
    infobox_line(s).is_some() && !s.ends_with(['.', '。'])
}

/// Sentences of one line: English ends at `. `/`! `/`? ` before a capital (`U.S. state`
/// and initials stay inside), Chinese at `。！？`.
pub fn split_sentences(line: &str, lang: Lang) -> Vec<&str> {
    let mut out = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = line.char_indices().collect();
    for (k, &(i, c)) in chars.iter().enumerate() {
        let end = match (lang, c) {
            (Lang::Zh, '。' | '！' | '？') => Some(i + c.len_utf8()),
            (_, '.' | '!' | '?') => {
                let next = chars.get(k + 1).map(|x| x.1);
                let after = chars.get(k + 2).map(|x| x.1);
                let word_before: String = line[start..i]
                    .rsplit(' ')
                    .next()
                    .unwrap_or_default()
                    .to_owned();
                let abbreviation = word_before.chars().count() <= 2 || word_before.contains('.');
                (next == Some(' ')
                    && after.is_some_and(|a| a.is_uppercase() || a == '"')
                    && !abbreviation)
                    .then_some(i + 1)
            }
            _ => None,
        };
        if let Some(end) = end {
            let s = line[start..end].trim();
            if !s.is_empty() {
                out.push(s);
            }
            start = end;
        }
    }
    let s = line[start..].trim();
    if !s.is_empty() {
        out.push(s);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_sentences_keeping_abbreviations() {
        assert_eq!(
            split_sentences(
                "Charles was born in Albany, Georgia, U.S. He moved. Later J. Smith came.",
                Lang::En
            ),
            vec![
                "Charles was born in Albany, Georgia, U.S. He moved.",
                "Later J. Smith came."
            ]
        );
        assert_eq!(
            split_sentences("数学是一门学科。它很古老！", Lang::Zh),
            vec!["数学是一门学科。", "它很古老！"]
        );
    }

    #[test]
    fn reads_infobox_lines() {
        assert_eq!(
            infobox_line("seat: Montgomery"),
            Some(("seat", "Montgomery"))
        );
        assert_eq!(
            infobox_line("Born: (1930-09-23)September 23, 1930"),
            Some(("Born", "(1930-09-23)September 23, 1930"))
        );
        assert_eq!(
            infobox_line("In his paper of that year he wrote: light is quanta"),
            None
        );
        assert_eq!(infobox_line("no colon here"), None);
    }
}
