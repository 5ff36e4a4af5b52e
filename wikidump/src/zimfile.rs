//! Kiwix ZIM archives: HTML articles and redirects, read with the `zim` crate.
//!
//! Old-scheme archives (format <= 6.0, e.g. the 2020 sample) keep articles in namespace
//! `A`; new-scheme archives keep everything in `C` and mark articles by MIME type. Only
//! `text/html` entries become documents; images, CSS and JS are skipped silently (they
//! are assets, not pages), other non-HTML entries are counted as skipped.

use std::path::{Path, PathBuf};

use zim::{DirectoryEntry, MimeType, Namespace, Target, Zim};

use crate::error::IngestError;
use crate::model::{Lang, Redirect};

/// What the archive says about itself.
#[derive(Debug, Clone)]
pub struct ZimInfo {
    pub lang: Lang,
    /// Metadata `Date` (YYYY-MM-DD), used as every article's timestamp.
    pub date: Option<String>,
}

/// One entry to turn into a [`crate::SourceItem`].
#[derive(Debug, Clone)]
pub enum ZimEntry {
    /// An HTML article: cleaned by a worker.
    Html {
        /// Entry path, e.g. `Ray_Charles`.
        path: String,
        title: String,
        html: Vec<u8>,
    },
    Redirect(Redirect),
    Skipped {
        title: String,
        reason: String,
    },
}

/// Iterates the article entries of a ZIM archive in URL order.
pub struct ZimEntries {
    zim: Zim,
    path: PathBuf,
    lang: Lang,
    namespace: Namespace,
    next: u32,
    end: u32,
    failed: bool,
}

fn zim_err(path: &Path, e: impl std::fmt::Display) -> IngestError {
    IngestError::Zim {
        path: path.to_path_buf(),
        message: e.to_string(),
    }
}

/// ISO 639-3 (what ZIM metadata uses) or 639-1 -> our languages.
fn lang_from_code(code: &str) -> Option<Lang> {
    let first = code
        .split(',')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    match first.as_str() {
        "eng" | "en" => Some(Lang::En),
        "zho" | "chi" | "zh" => Some(Lang::Zh),
        _ => None,
    }
}

/// Opens an archive; the language comes from its `Language` metadata, else the hint,
/// else English.
pub fn open_zim(
    path: &Path,
    lang_hint: Option<Lang>,
) -> Result<(ZimInfo, ZimEntries), IngestError> {
    let zim = Zim::new(path).map_err(|e| zim_err(path, e))?;
    let meta = |name: &str| -> Option<String> {
        zim.metadata(name)
            .ok()
            .flatten()
            .and_then(|c| c.to_vec().ok())
            .map(|b| String::from_utf8_lossy(&b).trim().to_string())
    };
    let lang = meta("Language")
        .and_then(|c| lang_from_code(&c))
        .or(lang_hint)
        .unwrap_or(Lang::En);
    let date = meta("Date").filter(|d| !d.is_empty());
    let old = zim
        .namespace_range(Namespace::Articles)
        .map_err(|e| zim_err(path, e))?;
    let (namespace, range) = if old.is_empty() {
        let new = zim
            .namespace_range(Namespace::UserContent)
            .map_err(|e| zim_err(path, e))?;
        (Namespace::UserContent, new)
    } else {
        (Namespace::Articles, old)
    };
    Ok((
        ZimInfo { lang, date },
        ZimEntries {
            zim,
            path: path.to_path_buf(),
            lang,
            namespace,
            next: range.start,
            end: range.end,
            failed: false,
        },
    ))
}

impl ZimEntries {
    /// (entries read, entries in the article namespace) for progress reporting.
    pub fn progress(&self) -> (u64, u64) {
        (u64::from(self.next), u64::from(self.end))
    }

    fn title_of(entry: &DirectoryEntry) -> String {
        if entry.title.is_empty() {
            crate::normalize::display_title(&entry.url)
        } else {
            entry.title.clone()
        }
    }

    /// mwoffliner sometimes stores a page that redirected at scrape time as a full copy
    /// of its target: the entry `A/The_Pages_of_My_Mind` holds the HTML of, and is
    /// titled, "Ray Charles", which has its own entry. Indexing both would show every
    /// hit twice under one URL, so such a copy becomes the redirect it was.
    fn copy_of_another_article(
        &self,
        entry: &DirectoryEntry,
        title: &str,
    ) -> Result<Option<Redirect>, IngestError> {
        let own_title = crate::normalize::display_title(&entry.url);
        if crate::normalize::title_key(&own_title, self.lang)
            == crate::normalize::title_key(title, self.lang)
        {
            return Ok(None);
        }
        let target_path = title.replace(' ', "_");
        let target = self
            .zim
            .get_by_path(self.namespace, &target_path)
            .map_err(|e| zim_err(&self.path, format!("looking up {title:?}: {e}")))?;
        Ok(match target {
            Some(target) if target.url != entry.url => Some(Redirect {
                lang: self.lang,
                from: own_title,
                to: title.to_string(),
                fragment: None,
            }),
            _ => None,
        })
    }

    fn read(&self, idx: u32) -> Result<ZimEntry, IngestError> {
        let entry = self
            .zim
            .get_by_url_index(idx)
            .map_err(|e| zim_err(&self.path, format!("entry {idx}: {e}")))?;
        let title = Self::title_of(&entry);
        match (&entry.mime_type, &entry.target) {
            (MimeType::Redirect, Some(Target::Redirect(target))) => {
                let to = self.zim.get_by_url_index(*target).map_err(|e| {
                    zim_err(&self.path, format!("redirect target of {title:?}: {e}"))
                })?;
                let (to_path, fragment) = match to.url.split_once('#') {
                    Some((p, f)) => (p.to_string(), Some(f.replace('_', " "))),
                    None => (to.url.clone(), None),
                };
                let to_title = if to.title.is_empty() {
                    crate::normalize::display_title(&to_path)
                } else {
                    to.title.clone()
                };
                Ok(ZimEntry::Redirect(Redirect {
                    lang: self.lang,
                    from: title,
                    to: to_title,
                    fragment,
                }))
            }
            (MimeType::Type(mime), _) if mime.starts_with("text/html") => {
                if let Some(redirect) = self.copy_of_another_article(&entry, &title)? {
                    return Ok(ZimEntry::Redirect(redirect));
                }
                let content = self
                    .zim
                    .entry_content(&entry)
                    .map_err(|e| zim_err(&self.path, format!("content of {title:?}: {e}")))?;
                let html = match content {
                    Some(c) => c
                        .to_vec()
                        .map_err(|e| zim_err(&self.path, format!("content of {title:?}: {e}")))?,
                    None => Vec::new(),
                };
                Ok(ZimEntry::Html {
                    path: entry.url.clone(),
                    title,
                    html,
                })
            }
            (MimeType::Type(mime), _) => Ok(ZimEntry::Skipped {
                title,
                reason: format!("zim: non-HTML entry ({mime})"),
            }),
            (other, _) => Ok(ZimEntry::Skipped {
                title,
                reason: format!("zim: {other:?} entry"),
            }),
        }
    }
}

impl Iterator for ZimEntries {
    type Item = Result<ZimEntry, IngestError>;

    fn next(&mut self) -> Option<Self::Item> {
        while !self.failed && self.next < self.end {
            let idx = self.next;
            self.next += 1;
            let item = self.read(idx);
            if item.is_err() {
                self.failed = true;
            }
            // Old-scheme archives keep assets in `-`/`I`, so everything in `A` is a page;
            // new-scheme `C` mixes assets in: skip those silently.
            if self.namespace == Namespace::UserContent {
                if let Ok(ZimEntry::Skipped { .. }) = item {
                    continue;
                }
            }
            return Some(item);
        }
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zim_language_codes() {
        assert_eq!(lang_from_code("eng"), Some(Lang::En));
        assert_eq!(lang_from_code("zho,eng"), Some(Lang::Zh));
        assert_eq!(lang_from_code("fra"), None);
    }
}
