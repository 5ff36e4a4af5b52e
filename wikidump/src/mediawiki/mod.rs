//! Reading MediaWiki `pages-articles` XML dumps (export schema 0.10/0.11): plain XML,
//! single-stream `.bz2` and multistream `.bz2` (decompressed in parallel).
//!
//! The format is detected from the file's first bytes, never from its name, so a renamed
//! or mislabelled file still reads (or fails with a message saying what it really is).
//! Pages come out in input order whatever the number of threads: the output of an ingest
//! must not depend on thread timing.

mod bunzip;
mod bz2;
mod error;
mod sniff;
mod xml;

use std::fs::File;
use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

pub use error::DumpError;
pub use sniff::{sniff_file, InputFormat};

use crate::model::Lang;

/// One `<page>` as it stands in the dump, before any wikitext cleaning.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawPage {
    pub title: String,
    pub ns: i64,
    pub id: u64,
    /// Timestamp of the (latest) revision, ISO 8601 as in the dump.
    pub timestamp: Option<String>,
    /// `<redirect title="..."/>` when the page is a redirect.
    pub redirect: Option<String>,
    /// Wikitext of the (latest) revision.
    pub text: String,
    /// Offset of `<page>` in the decompressed XML stream, for error messages.
    pub byte_offset: u64,
}

/// What the dump says about itself (`<siteinfo>`, `xml:lang`), resolved to what we need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DumpInfo {
    /// From `<dbname>` (`enwiki`), `<base>` URL or `xml:lang`; else the caller's hint; else `En`.
    pub lang: Lang,
    pub site_name: Option<String>,
    /// `<dbname>` as given, e.g. `enwiki`.
    pub db_name: Option<String>,
    /// Detected container format.
    pub format: InputFormat,
}

/// How to open a dump.
#[derive(Debug, Clone, Default)]
pub struct DumpOptions {
    /// Wikimedia's `*-multistream-index.txt.bz2` (`offset:pageid:title` lines) for a
    /// multistream dump. Without it, stream boundaries are found by scanning.
    pub multistream_index: Option<PathBuf>,
    /// Decompression threads for multistream input; 0 = available parallelism.
    pub threads: usize,
    /// Language to assume when the dump does not say (no `<siteinfo>`, no `xml:lang`).
    pub lang_hint: Option<Lang>,
}

/// Pages of an opened dump, in input order. After an `Err` it yields nothing more, except
/// for [`DumpError::is_page_local`] errors (one unusable page), after which it goes on.
pub struct DumpPages {
    inner: xml::PageReader<Box<dyn BufRead + Send>>,
    input_consumed: Arc<AtomicU64>,
}

impl Iterator for DumpPages {
    type Item = Result<RawPage, DumpError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.inner.next_page()
    }
}

impl DumpPages {
    /// Bytes of decompressed XML consumed so far.
    pub fn xml_position(&self) -> u64 {
        self.inner.position()
    }

    /// Bytes of the input file consumed so far (compressed bytes for bz2): progress and
    /// ETA against the file size. Read-ahead makes it run slightly ahead of the pages.
    pub fn input_position(&self) -> u64 {
        self.input_consumed.load(Ordering::Relaxed)
    }
}

/// Opens a MediaWiki XML dump (plain, `.bz2` single-stream or multistream; detected by
/// content) and reads its header, so the language is known before the first page.
pub fn open_dump(path: &Path, opts: &DumpOptions) -> Result<(DumpInfo, DumpPages), DumpError> {
    let format = sniff_file(path)?;
    let (reader, input_consumed): (Box<dyn BufRead + Send>, _) = match format {
        InputFormat::MediaWikiXml => {
            let consumed = Arc::new(AtomicU64::new(0));
            let file = File::open(path).map_err(|e| DumpError::io(path, e))?;
            let reader = bz2::CountingReader {
                inner: BufReader::with_capacity(1 << 16, file),
                consumed: consumed.clone(),
            };
            (Box::new(reader), consumed)
        }
        InputFormat::Bzip2 => bz2::open(path, opts)?,
        other => {
            return Err(DumpError::NotMediaWiki {
                file: path.to_path_buf(),
                found: other.describe().to_string(),
            })
        }
    };
    let (header, inner) = xml::PageReader::start(reader, path)?;
    let lang = header.lang.or(opts.lang_hint).unwrap_or(Lang::En);
    let info = DumpInfo {
        lang,
        site_name: header.site_name,
        db_name: header.db_name,
        format,
    };
    Ok((
        info,
        DumpPages {
            inner,
            input_consumed,
        },
    ))
}

/// Reads at most `limit` bytes from `r` (used to sniff decompressed content).
fn read_prefix(r: &mut impl Read, limit: usize) -> std::io::Result<Vec<u8>> {
    let mut buf = Vec::with_capacity(limit);
    r.take(limit as u64).read_to_end(&mut buf)?;
    Ok(buf)
}
