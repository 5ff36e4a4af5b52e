//! Question templates, English and Chinese. A question says exactly what its
//! formalization says, no more: quoted sentences and infobox keys appear as the page
//! shows them, so an agent that follows the steps can find every piece by search and visit.

use simweb_wikidump::Lang;

use crate::values::{format_number, parse_number_span, year_span};

/// One hop of a chain.
#[derive(Debug, Clone, PartialEq)]
pub enum Hop {
    /// The page's sentence links its blank to the next page.
    Link { masked: String },
    /// The page's infobox lists the next page under `key`.
    Fact { key: String },
}

/// What is asked about the last page of a chain.
#[derive(Debug, Clone, PartialEq)]
pub enum Ask {
    Year { attr: String, key: String },
    Value { key: String },
}

/// One constraint of a multi-constraint question.
#[derive(Debug, Clone, PartialEq)]
pub enum Constraint {
    /// A year span (`early 1930s`) of an attribute.
    Years {
        attr: String,
        key: String,
        span: String,
    },
    /// A number span (`between 100000 and 200000`).
    Numbers {
        key: String,
        span: String,
    },
    /// The attribute links to this page.
    Entity {
        key: String,
        title: String,
    },
    /// The page links to this page.
    LinksTo(String),
    Category(String),
    Initial(String),
}

/// A chain question: start page, hops, then the ask about the page reached.
pub fn chain(lang: Lang, start: &str, hops: &[Hop], ask: &Ask) -> String {
    let mut q = String::new();
    match lang {
        Lang::En => {
            q.push_str(&format!("Start at the Wikipedia article \"{start}\"."));
            for (i, hop) in hops.iter().enumerate() {
                let here = if i == 0 { "In it" } else { "In that article" };
                match hop {
                    Hop::Link { masked } => q.push_str(&format!(
                        " {here}, the sentence \"{masked}\" links the blank (___) to another article; go there."
                    )),
                    Hop::Fact { key } => q.push_str(&format!(
                        " {here}, the infobox entry \"{key}\" links to another article; go there."
                    )),
                }
            }
            let subject = "the subject of the article you reach";
            q.push(' ');
            q.push_str(&ask_en(ask, subject));
        }
        Lang::Zh => {
            q.push_str(&format!("从维基百科条目「{start}」出发。"));
            for (i, hop) in hops.iter().enumerate() {
                let here = if i == 0 { "其中" } else { "在该条目中" };
                match hop {
                    Hop::Link { masked } => q.push_str(&format!(
                        "{here}，句子「{masked}」的空白处（___）链接到另一个条目，前往该条目。"
                    )),
                    Hop::Fact { key } => q.push_str(&format!(
                        "{here}，信息框的「{key}」一栏链接到另一个条目，前往该条目。"
                    )),
                }
            }
            q.push_str(&ask_zh(ask, "最终到达的条目的主题"));
        }
    }
    q
}

fn ask_en(ask: &Ask, subject: &str) -> String {
    match ask {
        Ask::Year { attr, key } => match attr.as_str() {
            "born" => format!("In which year was {subject} born?"),
            "died" => format!("In which year did {subject} die?"),
            "founded" => format!("In which year was {subject} founded?"),
            "released" => format!("In which year was {subject} released?"),
            _ => format!("Which year does the infobox give as the \"{key}\" of {subject}?"),
        },
        Ask::Value { key } => {
            format!("What does the infobox give as the \"{key}\" of {subject}?")
        }
    }
}

fn ask_zh(ask: &Ask, subject: &str) -> String {
    match ask {
        Ask::Year { attr, key } => match attr.as_str() {
            "born" => format!("{subject}出生于哪一年？"),
            "died" => format!("{subject}于哪一年去世？"),
            "founded" => format!("{subject}成立于哪一年？"),
            _ => format!("{subject}的信息框中「{key}」一栏是哪一年？"),
        },
        Ask::Value { key } => format!("{subject}的信息框中「{key}」一栏是什么？"),
    }
}

/// A multi-constraint question: the one page whose subject satisfies all constraints.
pub fn constraints(lang: Lang, cs: &[Constraint]) -> String {
    match lang {
        Lang::En => {
            let parts: Vec<String> = cs.iter().map(constraint_en).collect();
            format!(
                "Which Wikipedia article's subject matches all of the following: {}? Give the article's title.",
                parts.join("; ")
            )
        }
        Lang::Zh => {
            let parts: Vec<String> = cs.iter().map(constraint_zh).collect();
            format!(
                "哪个维基百科条目的主题同时满足以下条件：{}？请给出条目标题。",
                parts.join("；")
            )
        }
    }
}

fn constraint_en(c: &Constraint) -> String {
    match c {
        Constraint::Years { attr, key, span } => match attr.as_str() {
            "born" => format!("born in the {span}"),
            "died" => format!("died in the {span}"),
            "founded" => format!("founded in the {span}"),
            "released" => format!("released in the {span}"),
            _ => format!("its infobox \"{key}\" falls in the {span}"),
        },
        Constraint::Numbers { key, span } => {
            let (lo, hi) = parse_number_span(span).unwrap_or_default();
            format!(
                "its infobox \"{key}\" is at least {} and below {}",
                format_number(lo),
                format_number(hi)
            )
        }
        Constraint::Entity { key, title } => {
            format!("its infobox \"{key}\" links to the article \"{title}\"")
        }
        Constraint::LinksTo(t) => format!("its article links to the article \"{t}\""),
        Constraint::Category(c) => format!("it is in the category \"{c}\""),
        Constraint::Initial(i) => format!("its title starts with \"{i}\""),
    }
}

fn constraint_zh(c: &Constraint) -> String {
    match c {
        Constraint::Years { key, span, .. } => {
            let (lo, hi) = year_span(span).unwrap_or_default();
            let decade = lo - lo.rem_euclid(10);
            let part = match (lo.rem_euclid(10), hi.rem_euclid(10)) {
                (0, 9) => "",
                (0, _) => "初",
                (4, _) => "中期",
                _ => "末期",
            };
            format!("信息框「{key}」在{decade}年代{part}")
        }
        Constraint::Numbers { key, span } => {
            let (lo, hi) = parse_number_span(span).unwrap_or_default();
            format!(
                "信息框「{key}」不小于{}且小于{}",
                format_number(lo),
                format_number(hi)
            )
        }
        Constraint::Entity { key, title } => format!("信息框「{key}」链接到条目「{title}」"),
        Constraint::LinksTo(t) => format!("其条目链接到条目「{t}」"),
        Constraint::Category(c) => format!("属于分类「{c}」"),
        Constraint::Initial(i) => format!("标题以「{i}」开头"),
    }
}
