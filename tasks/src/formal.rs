//! Formalizations: a task's constraint set as `[subject, predicate, object]` triples
//! (WebShaper's set formalization), and their evaluation over a [`FactGraph`].
//!
//! Terms: `V@NAME` is a variable, `E@Title` an entity of the task's language, anything
//! else a literal. Predicates:
//! - `links to via: <sentence with ___>`: the subject's page links the blank to the object;
//! - `in category`: the subject's page is in the literal category;
//! - `title starts with`: the subject's title starts with the literal;
//! - `links to`: the subject's page links (in a sentence) to the object;
//! - any other predicate is an infobox attribute ([`canonical_key`](crate::values::canonical_key));
//!   its object is a variable (bound to the value: an entity, or the raw text), an
//!   entity, a year span (`1930s`, `early 1930s`), a number span (`between 1 and 2`)
//!   or the exact raw value.
//!
//! Evaluation binds variables triple by triple, in order; the task's answer variable
//! must end with exactly one binding for the task to be unique.

use std::collections::BTreeSet;

use serde::{Deserialize, Serialize};
use simweb_wikidump::Lang;

use crate::facts::{Fact, FactGraph, BLANK};
use crate::values::{parse_number_span, year_span, Value};

pub type Triple = [String; 3];

pub const LINK_PREFIX: &str = "links to via: ";
pub const IN_CATEGORY: &str = "in category";
pub const TITLE_STARTS: &str = "title starts with";
pub const LINKS_TO: &str = "links to";

/// What a variable is bound to.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub enum Binding {
    Entity(u32),
    /// A non-entity value: its raw text.
    Literal(String),
}

pub fn var(name: &str) -> String {
    format!("V@{name}")
}

pub fn entity_term(title: &str) -> String {
    format!("E@{title}")
}

/// Every distinct binding of `answer` satisfying all triples. An unknown entity or an
/// unbound subject variable that no triple binds yields no answers.
pub fn evaluate(graph: &FactGraph, lang: Lang, triples: &[Triple], answer: &str) -> Vec<Binding> {
    let mut rows: Vec<Vec<(String, Binding)>> = vec![Vec::new()];
    for t in triples {
        let mut next = Vec::new();
        for row in &rows {
            let subjects: Vec<u32> = match subject_of(graph, lang, &t[0], row) {
                Some(s) => s,
                None => continue,
            };
            for s in subjects {
                let mut bound = row.clone();
                if t[0].starts_with("V@") && lookup(row, &t[0]).is_none() {
                    bound.push((t[0].clone(), Binding::Entity(s)));
                }
                for extended in apply(graph, lang, s, &t[1], &t[2], &bound) {
                    next.push(extended);
                }
            }
        }
        rows = next;
        if rows.is_empty() {
            break;
        }
    }
    let set: BTreeSet<Binding> = rows
        .into_iter()
        .filter_map(|row| lookup(&row, answer).cloned())
        .collect();
    set.into_iter().collect()
}

fn lookup<'a>(row: &'a [(String, Binding)], name: &str) -> Option<&'a Binding> {
    row.iter().find(|(n, _)| n == name).map(|(_, b)| b)
}

fn subject_of(
    graph: &FactGraph,
    lang: Lang,
    term: &str,
    row: &[(String, Binding)],
) -> Option<Vec<u32>> {
    if let Some(title) = term.strip_prefix("E@") {
        return graph.find(lang, title).map(|i| vec![i]);
    }
    if term.starts_with("V@") {
        return match lookup(row, term) {
            Some(Binding::Entity(i)) => Some(vec![*i]),
            Some(Binding::Literal(_)) => None,
            None => Some(
                (0..graph.entities.len() as u32)
                    .filter(|&i| graph.entity(i).lang == lang && !graph.entity(i).skip)
                    .collect(),
            ),
        };
    }
    None
}

/// The rows that extend `row` by the triple (subject already bound to `s`).
fn apply(
    graph: &FactGraph,
    lang: Lang,
    s: u32,
    predicate: &str,
    object: &str,
    row: &[(String, Binding)],
) -> Vec<Vec<(String, Binding)>> {
    let e = graph.entity(s);
    let keep = |ok: bool| if ok { vec![row.to_vec()] } else { Vec::new() };
    // The object's candidate bindings, filtered by what the object term requires.
    let bind = |candidates: Vec<Binding>| -> Vec<Vec<(String, Binding)>> {
        if object.starts_with("V@") {
            match lookup(row, object) {
                Some(b) => keep(candidates.contains(b)),
                None => candidates
                    .into_iter()
                    .map(|c| {
                        let mut r = row.to_vec();
                        r.push((object.to_owned(), c));
                        r
                    })
                    .collect(),
            }
        } else if let Some(title) = object.strip_prefix("E@") {
            let wanted = graph.find(lang, title);
            keep(wanted.is_some_and(|w| candidates.contains(&Binding::Entity(w))))
        } else {
            keep(candidates.contains(&Binding::Literal(object.to_owned())))
        }
    };
    if let Some(masked) = predicate.strip_prefix(LINK_PREFIX) {
        let targets = e
            .edges
            .iter()
            .filter(|edge| masked.contains(BLANK) && e.masked(edge) == masked)
            .map(|edge| Binding::Entity(edge.target))
            .collect();
        return bind(targets);
    }
    match predicate {
        LINKS_TO => bind(
            e.edges
                .iter()
                .map(|edge| Binding::Entity(edge.target))
                .collect(),
        ),
        IN_CATEGORY => keep(e.categories.iter().any(|c| c == object)),
        TITLE_STARTS => keep(!object.is_empty() && e.title.starts_with(object)),
        attr => {
            let facts: Vec<&Fact> = e.facts.iter().filter(|f| f.attr == attr).collect();
            if object.starts_with("V@") || object.starts_with("E@") {
                return bind(facts.iter().map(|f| binding_of(f)).collect());
            }
            keep(facts.iter().any(|f| matches_literal(f, object)))
        }
    }
}

fn binding_of(f: &Fact) -> Binding {
    match f.target {
        Some(t) => Binding::Entity(t),
        None => Binding::Literal(f.raw.clone()),
    }
}

/// Whether a fact satisfies a literal object: a year span, a number span or the raw text.
fn matches_literal(f: &Fact, object: &str) -> bool {
    if let Some((lo, hi)) = year_span(object) {
        return matches!(f.value, Value::Year { year } if (lo..=hi).contains(&year));
    }
    if let Some((lo, hi)) = parse_number_span(object) {
        return matches!(f.value, Value::Number { value } if value >= lo && value < hi);
    }
    f.raw == object
}
