//! Posing questions over a [`FactGraph`]: each attempt (its own seeded generator) builds a
//! candidate at one level and language, and the candidate becomes a task only if every
//! check passes. Rejections are counted by reason, so the funnel is visible.
//!
//! - Level 1, one hop: a page named by a link sentence (or infobox entry) of another page;
//!   ask an attribute of it.
//! - Level 2, a chain: a seeded walk of 2–4 hops over sentence-backed links (walked
//!   backwards from the answer fact, so every chain ends at an answerable page).
//! - Level 3, fuzzy constraints: years become decades (`early 1930s`), numbers ranges,
//!   plus categories, linked entities and the title's first letter, added until exactly
//!   one page of the corpus satisfies them all.

use std::collections::{BTreeMap, BTreeSet};

use serde::{Deserialize, Serialize};
use simweb_wikidump::{Corpus, Lang};

use crate::error::TaskError;
use crate::facts::{Entity, Fact, FactGraph, GraphStats};
use crate::formal::{
    entity_term, evaluate, var, Binding, Triple, IN_CATEGORY, LINKS_TO, LINK_PREFIX, TITLE_STARTS,
};
use crate::render::{self, Ask, Constraint, Hop};
use crate::rng::Rng;
use crate::values::{askable_key, describe_year, number_span, Value};
use crate::verify::{bm25_rank, check_claim, claim_of, Claim};

/// How to synthesize.
#[derive(Debug, Clone)]
pub struct SynthOptions {
    pub n: usize,
    pub seed: u64,
    /// Languages to pose questions in (taken in turn).
    pub langs: Vec<Lang>,
    /// Levels (1, 2, 3) to pose, taken in turn.
    pub levels: Vec<u8>,
    /// Levels 2–3 are rejected when BM25 ranks the answer page within this many hits.
    pub shortcut_k: usize,
    /// Give up after `n * max_attempts_per_task` attempts.
    pub max_attempts_per_task: usize,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            n: 100,
            seed: 0,
            langs: vec![Lang::En, Lang::Zh],
            levels: vec![1, 2, 3],
            shortcut_k: 5,
            max_attempts_per_task: 40,
        }
    }
}

/// One line of `tasks.jsonl`. `id`, `question`, `answers` and `evidence` are what
/// `simweb rollout` reads; the rest documents how the task was made and checked.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SynthTask {
    pub id: String,
    pub question: String,
    /// The canonical answer first, then aliases (redirects) and normalised forms.
    pub answers: Vec<String>,
    pub lang: Lang,
    pub level: u8,
    pub hops: usize,
    /// The constraint set; `answer_variable` is the variable the answer binds.
    pub formalization: Vec<Triple>,
    pub answer_variable: String,
    /// URLs of the pages that prove the constraints, in chain order.
    pub evidence: Vec<String>,
    pub evidence_docs: Vec<EvidenceDoc>,
    pub difficulty: Difficulty,
    pub snapshot_id: String,
    pub seed: u64,
}

/// A page of the evidence and the triples (indexes into `formalization`) it proves.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EvidenceDoc {
    pub doc_id: String,
    pub url: String,
    pub title: String,
    pub proves: Vec<usize>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Difficulty {
    pub hops: usize,
    pub constraints: usize,
    /// Pages linking to the answer page.
    pub answer_in_degree: u32,
    /// BM25 rank of the answer page for the question text (top 100), `None` beyond.
    pub bm25_rank: Option<usize>,
}

/// The funnel and the output's make-up.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct SynthReport {
    pub graph: GraphStats,
    pub attempts: usize,
    pub candidates: usize,
    pub unique: usize,
    pub evidence_checked: usize,
    pub shortcut_free: usize,
    pub written: usize,
    /// Reason -> attempts rejected for it.
    pub rejected: BTreeMap<String, usize>,
    pub by_level: BTreeMap<String, usize>,
    pub by_lang: BTreeMap<String, usize>,
}

/// A candidate before its checks.
struct Candidate {
    level: u8,
    lang: Lang,
    hops: usize,
    question: String,
    triples: Vec<Triple>,
    answer_var: String,
    intended: Binding,
    answers: Vec<String>,
    /// The page the answer is read from (the shortcut check looks for it).
    answer_page: u32,
    /// For each triple: its subject page and the claim it makes there.
    claims: Vec<(u32, Claim)>,
}

/// Per-language pools the attempts draw from (built once).
struct Pools {
    /// (entity, fact) pairs an attempt can ask about, on pages something links to.
    asked: BTreeMap<Lang, Vec<(u32, usize)>>,
    /// Pages with enough attributes for a multi-constraint question.
    described: BTreeMap<Lang, Vec<u32>>,
    /// For each entity, the (source, fact index) pairs whose infobox links to it.
    fact_incoming: Vec<Vec<(u32, usize)>>,
}

/// Synthesizes up to `opts.n` verified tasks.
pub fn synthesize(
    corpus: &Corpus,
    graph: &FactGraph,
    opts: &SynthOptions,
) -> Result<(Vec<SynthTask>, SynthReport), TaskError> {
    if opts.levels.is_empty() || opts.levels.iter().any(|l| !(1..=3).contains(l)) {
        return Err(TaskError::Options(format!(
            "levels must be among 1, 2, 3 (got {:?})",
            opts.levels
        )));
    }
    if opts.langs.is_empty() {
        return Err(TaskError::Options("no language selected".into()));
    }
    let pools = pools(graph);
    let mut report = SynthReport {
        graph: graph.stats(),
        ..SynthReport::default()
    };
    let mut tasks = Vec::new();
    let mut questions = BTreeSet::new();
    let max_attempts = opts.n.saturating_mul(opts.max_attempts_per_task.max(1));
    let snapshot_short: String = graph.snapshot_id.chars().take(8).collect();
    // Each level gets an equal share of `n` (the first levels take the remainder) and
    // attempts go round the levels that still need tasks, so a level that is hard to
    // pose in this corpus does not crowd out the others; languages alternate per level.
    let quota: Vec<usize> = (0..opts.levels.len())
        .map(|i| opts.n / opts.levels.len() + usize::from(i < opts.n % opts.levels.len()))
        .collect();
    let per_level_attempts = max_attempts / opts.levels.len();
    let mut written = vec![0usize; opts.levels.len()];
    let mut tried = vec![0usize; opts.levels.len()];
    let mut attempt = 0usize;
    let mut turn = 0usize;
    while tasks.len() < opts.n && attempt < max_attempts {
        let open: Vec<usize> = (0..opts.levels.len())
            .filter(|&i| written[i] < quota[i] && tried[i] < per_level_attempts)
            .collect();
        if open.is_empty() {
            break;
        }
        let slot = open[turn % open.len()];
        turn += 1;
        let level = opts.levels[slot];
        let lang = opts.langs[tried[slot] % opts.langs.len()];
        tried[slot] += 1;
        let mut rng = Rng::derive(opts.seed, &[b"attempt", &(attempt as u64).to_le_bytes()]);
        attempt += 1;
        report.attempts += 1;
        let built = match level {
            1 => chain_candidate(graph, &pools, lang, 1, &mut rng),
            2 => {
                let hops = 2 + rng.below(3);
                chain_candidate(graph, &pools, lang, hops, &mut rng)
            }
            _ => constraint_candidate(graph, &pools, lang, &mut rng),
        };
        let candidate = match built {
            Ok(c) => c,
            Err(reason) => {
                *report
                    .rejected
                    .entry(format!("no_candidate:{reason}"))
                    .or_default() += 1;
                continue;
            }
        };
        report.candidates += 1;
        match check(corpus, graph, &candidate, opts, &mut report, &questions)? {
            Ok(rank) => {
                questions.insert(candidate.question.clone());
                let id = format!("{snapshot_short}-s{}-{:05}", opts.seed, tasks.len());
                written[slot] += 1;
                *report.by_level.entry(format!("level{level}")).or_default() += 1;
                *report.by_lang.entry(lang.code().to_owned()).or_default() += 1;
                tasks.push(finish(graph, candidate, id, rank, opts.seed));
            }
            Err(reason) => *report.rejected.entry(reason).or_default() += 1,
        }
    }
    report.written = tasks.len();
    Ok((tasks, report))
}

/// Runs the checks in funnel order; `Ok(bm25 rank)` when the candidate survives.
fn check(
    corpus: &Corpus,
    graph: &FactGraph,
    c: &Candidate,
    opts: &SynthOptions,
    report: &mut SynthReport,
    questions: &BTreeSet<String>,
) -> Result<Result<Option<usize>, String>, TaskError> {
    let answers = evaluate(graph, c.lang, &c.triples, &c.answer_var);
    if answers != [c.intended.clone()] {
        return Ok(Err(if answers.len() > 1 {
            "not_unique".into()
        } else {
            "formalization_mismatch".into()
        }));
    }
    report.unique += 1;
    for (page, claim) in &c.claims {
        if check_claim(corpus, &graph.entity(*page).doc_id, claim).is_err() {
            return Ok(Err("evidence_missing".into()));
        }
    }
    report.evidence_checked += 1;
    let page = graph.entity(c.answer_page);
    let rank = bm25_rank(corpus, c.lang, &c.question, &page.doc_id)?;
    if c.level >= 2 && rank.is_some_and(|r| r <= opts.shortcut_k) {
        return Ok(Err("shortcut".into()));
    }
    report.shortcut_free += 1;
    if questions.contains(&c.question) {
        return Ok(Err("duplicate".into()));
    }
    Ok(Ok(rank))
}

fn finish(
    graph: &FactGraph,
    c: Candidate,
    id: String,
    rank: Option<usize>,
    seed: u64,
) -> SynthTask {
    let mut evidence_docs: Vec<EvidenceDoc> = Vec::new();
    for (i, (page, _)) in c.claims.iter().enumerate() {
        let e = graph.entity(*page);
        match evidence_docs.iter_mut().find(|d| d.doc_id == e.doc_id) {
            Some(d) => d.proves.push(i),
            None => evidence_docs.push(EvidenceDoc {
                doc_id: e.doc_id.clone(),
                url: e.url.clone(),
                title: e.title.clone(),
                proves: vec![i],
            }),
        }
    }
    SynthTask {
        id,
        question: c.question,
        answers: c.answers,
        lang: c.lang,
        level: c.level,
        hops: c.hops,
        difficulty: Difficulty {
            hops: c.hops,
            constraints: c.triples.len(),
            answer_in_degree: graph.entity(c.answer_page).in_degree,
            bm25_rank: rank,
        },
        formalization: c.triples,
        answer_variable: c.answer_var,
        evidence: evidence_docs.iter().map(|d| d.url.clone()).collect(),
        evidence_docs,
        snapshot_id: graph.snapshot_id.clone(),
        seed,
    }
}

fn askable(f: &Fact) -> bool {
    f.value.is_answerable() && askable_key(&f.attr)
}

fn pools(graph: &FactGraph) -> Pools {
    let mut fact_incoming: Vec<Vec<(u32, usize)>> = vec![Vec::new(); graph.entities.len()];
    for (s, e) in graph.entities.iter().enumerate() {
        for (k, f) in e.facts.iter().enumerate() {
            if let Some(t) = f.target {
                if t as usize != s && askable_key(&f.attr) {
                    fact_incoming[t as usize].push((s as u32, k));
                }
            }
        }
    }
    let mut asked: BTreeMap<Lang, Vec<(u32, usize)>> = BTreeMap::new();
    let mut described: BTreeMap<Lang, Vec<u32>> = BTreeMap::new();
    for (i, e) in graph.entities.iter().enumerate() {
        if e.skip {
            continue;
        }
        let reachable = !graph.incoming[i].is_empty() || !fact_incoming[i].is_empty();
        for (k, f) in e.facts.iter().enumerate() {
            if reachable && askable(f) {
                asked.entry(e.lang).or_default().push((i as u32, k));
            }
        }
        // The title's initial is always a constraint; one more makes a question.
        let more = !e.edges.is_empty()
            || e.categories.iter().any(|c| subject_category(c))
            || e.facts.iter().any(|f| {
                askable_key(&f.attr)
                    && (f.target.is_some()
                        || matches!(f.value, Value::Year { .. } | Value::Number { .. }))
            });
        if more && e.title.chars().next().is_some_and(char::is_alphanumeric) {
            described.entry(e.lang).or_default().push(i as u32);
        }
    }
    Pools {
        asked,
        described,
        fact_incoming,
    }
}

/// The answers to a question about `f`: a year as the year, a number as shown and
/// plain, a linked value also by its page's title and aliases.
fn answers_for(graph: &FactGraph, f: &Fact) -> Vec<String> {
    let mut out: Vec<String> = Vec::new();
    match f.value {
        Value::Year { year } => out.push(year.to_string()),
        Value::Number { value } => {
            out.push(f.raw.clone());
            out.push(
                crate::values::strip_parentheticals(&f.raw)
                    .trim()
                    .to_owned(),
            );
            out.push(crate::values::format_number(value));
            out.push(format!("{value}"));
        }
        _ => {
            out.push(f.raw.clone());
            out.push(
                crate::values::strip_parentheticals(&f.raw)
                    .trim()
                    .to_owned(),
            );
        }
    }
    out.retain(|a| !a.is_empty());
    if let (Some(t), false) = (f.target, matches!(f.value, Value::Year { .. })) {
        let e = graph.entity(t);
        out.push(e.title.clone());
        out.extend(e.aliases.iter().cloned());
    }
    let mut seen = BTreeSet::new();
    out.retain(|a| seen.insert(a.clone()));
    out
}

fn chain_candidate(
    graph: &FactGraph,
    pools: &Pools,
    lang: Lang,
    hops: usize,
    rng: &mut Rng,
) -> Result<Candidate, String> {
    let pool = pools.asked.get(&lang).map(Vec::as_slice).unwrap_or(&[]);
    let &(answer_page, fact) = rng
        .pick(pool)
        .ok_or_else(|| format!("no_answerable_fact_{}", lang.code()))?;
    // Walk backwards from the answer page: every step picks a page linking to the
    // current one, never revisiting a page.
    let mut path = vec![answer_page];
    let mut steps: Vec<Step> = Vec::new();
    while steps.len() < hops {
        let cur = path[0];
        let mut options: Vec<(u32, Step)> = graph.incoming[cur as usize]
            .iter()
            .filter(|(s, _)| !path.contains(s) && graph.entity(*s).lang == lang)
            .map(|&(s, k)| (s, Step::Link(k as usize)))
            .collect();
        options.extend(
            pools.fact_incoming[cur as usize]
                .iter()
                .filter(|(s, _)| !path.contains(s))
                .map(|&(s, k)| (s, Step::Fact(k))),
        );
        let Some((source, step)) = rng.pick(&options).cloned() else {
            break;
        };
        path.insert(0, source);
        steps.insert(0, step);
    }
    let min = if hops == 1 { 1 } else { 2 };
    if steps.len() < min {
        return Err(format!("no_path_{}_hops", hops.min(2)));
    }
    let hops = steps.len();
    let start = graph.entity(path[0]);
    let mut triples = Vec::new();
    let mut claims = Vec::new();
    let mut rendered = Vec::new();
    for (j, step) in steps.iter().enumerate() {
        let subject = if j == 0 {
            entity_term(&start.title)
        } else {
            var(&format!("X{j}"))
        };
        let object = var(&format!("X{}", j + 1));
        let page = graph.entity(path[j]);
        match step {
            Step::Link(k) => {
                let edge = &page.edges[*k];
                let masked = page.masked(edge);
                let triple = [subject, format!("{LINK_PREFIX}{masked}"), object];
                let target = &graph.entity(edge.target).title;
                claims.push((
                    path[j],
                    claim_of(&triple, Some((&edge.anchor, target)), None),
                ));
                triples.push(triple);
                rendered.push(Hop::Link { masked });
            }
            Step::Fact(k) => {
                let f = &page.facts[*k];
                let triple = [subject, f.attr.clone(), object];
                claims.push((path[j], claim_of(&triple, None, Some(&f.raw))));
                triples.push(triple);
                rendered.push(Hop::Fact { key: f.key.clone() });
            }
        }
    }
    let answer_entity = graph.entity(answer_page);
    let f = &answer_entity.facts[fact];
    let last = [var(&format!("X{hops}")), f.attr.clone(), var("ANS")];
    claims.push((answer_page, claim_of(&last, None, Some(&f.raw))));
    triples.push(last);
    let ask = match f.value {
        Value::Year { .. } => Ask::Year {
            attr: f.attr.clone(),
            key: f.key.clone(),
        },
        _ => Ask::Value { key: f.key.clone() },
    };
    let claims = claims
        .into_iter()
        .map(|(p, c)| c.map(|c| (p, c)).ok_or_else(|| "unclaimable".to_string()))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Candidate {
        level: if hops == 1 { 1 } else { 2 },
        lang,
        hops,
        question: render::chain(lang, &start.title, &rendered, &ask),
        triples,
        answer_var: var("ANS"),
        intended: match f.target {
            Some(t) => Binding::Entity(t),
            None => Binding::Literal(f.raw.clone()),
        },
        answers: answers_for(graph, f),
        answer_page,
        claims,
    })
}

#[derive(Debug, Clone, Copy)]
enum Step {
    Link(usize),
    Fact(usize),
}

/// Categories that describe the page's maintenance state, not its subject.
fn subject_category(c: &str) -> bool {
    let l = c.to_lowercase();
    ![
        "articles",
        "pages",
        "wikipedia",
        "cs1",
        "stub",
        "webarchive",
        "use dmy",
        "use mdy",
        "short description",
        "wikidata",
        "template",
        "redirect",
        "dates",
        "条目",
        "页面",
        "维基",
    ]
    .iter()
    .any(|m| l.contains(m))
}

/// The constraints a page offers, as (triple, rendering, claim).
fn constraint_options(
    graph: &FactGraph,
    e: &Entity,
    rng: &mut Rng,
) -> Vec<(Triple, Constraint, Claim)> {
    let x = var("X");
    let mut out = Vec::new();
    for f in &e.facts {
        if !askable_key(&f.attr) {
            continue;
        }
        if let Some(t) = f.target {
            let title = graph.entity(t).title.clone();
            out.push((
                [x.clone(), f.attr.clone(), entity_term(&title)],
                Constraint::Entity {
                    key: f.key.clone(),
                    title,
                },
                Claim::Value(f.raw.clone()),
            ));
            continue;
        }
        match f.value {
            Value::Year { year } => {
                let span = describe_year(year, rng.coin());
                out.push((
                    [x.clone(), f.attr.clone(), span.clone()],
                    Constraint::Years {
                        attr: f.attr.clone(),
                        key: f.key.clone(),
                        span,
                    },
                    Claim::Value(f.raw.clone()),
                ));
            }
            Value::Number { value } => {
                if let Some((lo, hi)) = number_span(value) {
                    let span = format!("between {lo} and {hi}");
                    out.push((
                        [x.clone(), f.attr.clone(), span.clone()],
                        Constraint::Numbers {
                            key: f.key.clone(),
                            span,
                        },
                        Claim::Value(f.raw.clone()),
                    ));
                }
            }
            _ => {}
        }
    }
    for edge in &e.edges {
        let title = graph.entity(edge.target).title.clone();
        out.push((
            [x.clone(), LINKS_TO.to_owned(), entity_term(&title)],
            Constraint::LinksTo(title.clone()),
            Claim::Links {
                anchor: edge.anchor.clone(),
                title,
            },
        ));
    }
    for c in e.categories.iter().filter(|c| subject_category(c)) {
        out.push((
            [x.clone(), IN_CATEGORY.to_owned(), c.clone()],
            Constraint::Category(c.clone()),
            Claim::Category(c.clone()),
        ));
    }
    if let Some(first) = e.title.chars().next().filter(|c| c.is_alphanumeric()) {
        let initial = first.to_string();
        out.push((
            [x.clone(), TITLE_STARTS.to_owned(), initial.clone()],
            Constraint::Initial(initial.clone()),
            Claim::TitleStart(initial),
        ));
    }
    out
}

fn constraint_candidate(
    graph: &FactGraph,
    pools: &Pools,
    lang: Lang,
    rng: &mut Rng,
) -> Result<Candidate, String> {
    let pool = pools.described.get(&lang).map(Vec::as_slice).unwrap_or(&[]);
    let &x = rng
        .pick(pool)
        .ok_or_else(|| format!("no_described_page_{}", lang.code()))?;
    let e = graph.entity(x);
    let mut options = constraint_options(graph, e, rng);
    rng.shuffle(&mut options);
    // The title's initial alone says little; it only ever narrows others down.
    options.sort_by_key(|(t, _, _)| t[1] == TITLE_STARTS);
    let mut chosen: Vec<(Triple, Constraint, Claim)> = Vec::new();
    let answer = var("X");
    for option in options {
        if chosen.len() == 4 {
            break;
        }
        chosen.push(option);
        let triples: Vec<Triple> = chosen.iter().map(|(t, _, _)| t.clone()).collect();
        if chosen.len() >= 2 && evaluate(graph, lang, &triples, &answer).len() <= 1 {
            break;
        }
    }
    if chosen.len() < 2 {
        return Err("too_few_constraints".into());
    }
    let constraints: Vec<Constraint> = chosen.iter().map(|(_, c, _)| c.clone()).collect();
    let mut answers = vec![e.title.clone()];
    answers.extend(e.aliases.iter().cloned());
    Ok(Candidate {
        level: 3,
        lang,
        hops: 0,
        question: render::constraints(lang, &constraints),
        triples: chosen.iter().map(|(t, _, _)| t.clone()).collect(),
        answer_var: answer,
        intended: Binding::Entity(x),
        answers,
        answer_page: x,
        claims: chosen.into_iter().map(|(_, _, c)| (x, c)).collect(),
    })
}
