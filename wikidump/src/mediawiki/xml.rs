//! Streaming `<mediawiki>` XML reader: the `<siteinfo>` header, then one [`RawPage`] per
//! `<page>`, holding at most one page in memory.

use std::io::{self, BufRead};
use std::path::{Path, PathBuf};

use quick_xml::events::{BytesStart, Event};
use quick_xml::Reader;

use super::bz2::StreamFailure;
use super::{DumpError, RawPage};
use crate::model::Lang;

/// What the dump header says about the wiki.
#[derive(Debug, Default)]
pub(crate) struct Header {
    pub lang: Option<Lang>,
    pub site_name: Option<String>,
    pub db_name: Option<String>,
}

pub(crate) struct PageReader<R: BufRead> {
    reader: Reader<R>,
    buf: Vec<u8>,
    path: PathBuf,
    /// Offset of a `<page>` start tag already read but not yet parsed.
    page_start: Option<u64>,
    done: bool,
}

/// Which page field the current text belongs to.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Field {
    Title,
    Ns,
    Id,
    Timestamp,
    Text,
    Other,
}

impl<R: BufRead> PageReader<R> {
    /// Reads up to the first `<page>` (or the end), returning the header.
    pub(crate) fn start(input: R, path: &Path) -> Result<(Header, Self), DumpError> {
        let mut me = PageReader {
            reader: Reader::from_reader(input),
            buf: Vec::with_capacity(1 << 16),
            path: path.to_path_buf(),
            page_start: None,
            done: false,
        };
        let header = me.read_header()?;
        Ok((header, me))
    }

    pub(crate) fn position(&self) -> u64 {
        self.reader.buffer_position()
    }

    pub(crate) fn next_page(&mut self) -> Option<Result<RawPage, DumpError>> {
        if self.done {
            return None;
        }
        let result = match self.page_start.take() {
            Some(offset) => self.read_page(offset).map(Some),
            None => self.seek_page().and_then(|found| match found {
                Some(offset) => self.read_page(offset).map(Some),
                None => Ok(None),
            }),
        };
        match result {
            Ok(Some(page)) => Some(Ok(page)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = !e.is_page_local();
                Some(Err(e))
            }
        }
    }

    fn read_header(&mut self) -> Result<Header, DumpError> {
        let mut header = Header::default();
        let mut stack: Vec<String> = Vec::new();
        let mut saw_root = false;
        loop {
            let start = self.reader.buffer_position();
            let event = self
                .reader
                .read_event_into(&mut self.buf)
                .map_err(|e| xml_error(e, start, &self.reader, &self.path, None))?;
            match event {
                Event::Start(e) => {
                    let name = e.name().as_ref().to_string();
                    if name == "mediawiki" {
                        saw_root = true;
                        if let Some(lang) = attr(&e, "xml:lang") {
                            header.lang = header.lang.or(lang_from_code(&lang));
                        }
                    } else if name == "page" {
                        self.page_start = Some(start_offset(&self.reader, &e));
                        break;
                    }
                    stack.push(name);
                }
                Event::End(_) => {
                    stack.pop();
                }
                Event::Text(t) => {
                    let text = t.xml10_content();
                    match stack.last().map(String::as_str) {
                        Some("sitename") => header.site_name = Some(text.trim().to_string()),
                        Some("dbname") => {
                            let db = text.trim().to_string();
                            // dbname is more specific than xml:lang; it wins.
                            if let Some(lang) = db.strip_suffix("wiki").and_then(lang_from_code) {
                                header.lang = Some(lang);
                            }
                            header.db_name = Some(db);
                        }
                        Some("base") if header.db_name.is_none() => {
                            if let Some(lang) = lang_from_base_url(text.trim()) {
                                header.lang = Some(lang);
                            }
                        }
                        _ => {}
                    }
                }
                Event::Eof => {
                    self.done = true;
                    break;
                }
                _ => {}
            }
            self.buf.clear();
        }
        self.buf.clear();
        if !saw_root {
            return Err(DumpError::Xml {
                file: self.path.clone(),
                offset: self.reader.buffer_position(),
                page: None,
                detail: "no <mediawiki> root element".into(),
            });
        }
        Ok(header)
    }

    /// Skips to the next `<page>`; `None` at `</mediawiki>`.
    fn seek_page(&mut self) -> Result<Option<u64>, DumpError> {
        loop {
            self.buf.clear();
            let start = self.reader.buffer_position();
            let event = self
                .reader
                .read_event_into(&mut self.buf)
                .map_err(|e| xml_error(e, start, &self.reader, &self.path, None))?;
            match event {
                Event::Start(e) if e.name().as_ref() == "page" => {
                    return Ok(Some(start_offset(&self.reader, &e)));
                }
                Event::End(e) if e.name().as_ref() == "mediawiki" => return Ok(None),
                Event::Eof => {
                    return Err(DumpError::Xml {
                        file: self.path.clone(),
                        offset: self.reader.buffer_position(),
                        page: None,
                        detail: "unexpected end of input: missing </mediawiki> (truncated file?)"
                            .into(),
                    })
                }
                _ => {}
            }
        }
    }

    fn read_page(&mut self, offset: u64) -> Result<RawPage, DumpError> {
        let mut title = String::new();
        let mut ns = String::new();
        let mut id = String::new();
        let mut timestamp = String::new();
        let mut text = String::new();
        let mut redirect: Option<String> = None;
        // Element names below <page>.
        let mut stack: Vec<String> = Vec::new();
        let mut field = Field::Other;
        loop {
            self.buf.clear();
            let page_title = (!title.is_empty()).then(|| title.clone());
            let start = self.reader.buffer_position();
            let event = self
                .reader
                .read_event_into(&mut self.buf)
                .map_err(|e| xml_error(e, start, &self.reader, &self.path, page_title.clone()))?;
            match event {
                Event::Start(e) => {
                    let name = e.name().as_ref().to_string();
                    if name == "redirect" {
                        redirect = attr(&e, "title");
                    }
                    if name == "revision" {
                        // Keep only the last revision if a dump has several.
                        timestamp.clear();
                        text.clear();
                    }
                    stack.push(name);
                    field = field_for(&stack);
                }
                Event::Empty(e) if e.name().as_ref() == "redirect" => {
                    redirect = attr(&e, "title");
                }
                Event::End(_) => {
                    if stack.is_empty() {
                        // </page>
                        break;
                    }
                    stack.pop();
                    field = field_for(&stack);
                }
                Event::Text(t) => push_field(
                    field,
                    &t.xml10_content(),
                    [&mut title, &mut ns, &mut id, &mut timestamp, &mut text],
                ),
                Event::CData(t) => push_field(
                    field,
                    &t.xml10_content(),
                    [&mut title, &mut ns, &mut id, &mut timestamp, &mut text],
                ),
                Event::GeneralRef(r) => {
                    let resolved = match r.resolve_char_ref() {
                        Ok(Some(c)) => c.to_string(),
                        _ => match r.as_ref() {
                            "amp" => "&".into(),
                            "lt" => "<".into(),
                            "gt" => ">".into(),
                            "quot" => "\"".into(),
                            "apos" => "'".into(),
                            other => {
                                return Err(DumpError::Xml {
                                    file: self.path.clone(),
                                    offset: self.reader.buffer_position(),
                                    page: page_title,
                                    detail: format!("unknown entity &{other};"),
                                })
                            }
                        },
                    };
                    push_field(
                        field,
                        &resolved,
                        [&mut title, &mut ns, &mut id, &mut timestamp, &mut text],
                    );
                }
                Event::Eof => {
                    return Err(DumpError::Xml {
                        file: self.path.clone(),
                        offset: self.reader.buffer_position(),
                        page: page_title,
                        detail: "unexpected end of input inside <page> (truncated file?)".into(),
                    })
                }
                _ => {}
            }
        }
        // The XML around this page is fine, only its fields are not: the page is reported
        // and reading goes on (`DumpError::BadPage`).
        let bad = |detail: String| DumpError::BadPage {
            file: self.path.clone(),
            offset,
            title: title.trim().to_string(),
            detail,
        };
        if title.trim().is_empty() {
            return Err(bad("<page> without <title>".into()));
        }
        // Older exports may omit <ns>; the article namespace is the only sane default.
        let ns: i64 = if ns.trim().is_empty() {
            0
        } else {
            ns.trim()
                .parse()
                .map_err(|_| bad(format!("<ns> is not a number: {ns:?}")))?
        };
        let id: u64 = id
            .trim()
            .parse()
            .map_err(|_| bad(format!("<id> is not a number: {id:?}")))?;
        Ok(RawPage {
            title: title.trim().to_string(),
            ns,
            id,
            timestamp: (!timestamp.trim().is_empty()).then(|| timestamp.trim().to_string()),
            redirect: redirect.filter(|r| !r.trim().is_empty()),
            text,
            byte_offset: offset,
        })
    }
}

fn field_for(stack: &[String]) -> Field {
    match stack {
        [a] if a == "title" => Field::Title,
        [a] if a == "ns" => Field::Ns,
        [a] if a == "id" => Field::Id,
        [r, a] if r == "revision" && a == "timestamp" => Field::Timestamp,
        [r, a] if r == "revision" && a == "text" => Field::Text,
        _ => Field::Other,
    }
}

fn push_field(field: Field, s: &str, [title, ns, id, timestamp, text]: [&mut String; 5]) {
    match field {
        Field::Title => title.push_str(s),
        Field::Ns => ns.push_str(s),
        Field::Id => id.push_str(s),
        Field::Timestamp => timestamp.push_str(s),
        Field::Text => text.push_str(s),
        Field::Other => {}
    }
}

/// Offset of a start tag that has just been read.
fn start_offset<R>(reader: &Reader<R>, e: &BytesStart<'_>) -> u64 {
    let tag_len = e.name().as_ref().len() + e.attributes_raw().len() + 2;
    reader.buffer_position().saturating_sub(tag_len as u64)
}

fn attr(e: &BytesStart<'_>, key: &str) -> Option<String> {
    e.attributes()
        .flatten()
        .find(|a| a.key.as_ref() == key)
        .and_then(|a| {
            a.normalized_value(quick_xml::XmlVersion::Implicit1_0)
                .ok()
                .map(|v| v.into_owned())
        })
}

/// `en`, `zh`, `zh-hans`… → our languages; other wikis are read as English-like.
fn lang_from_code(code: &str) -> Option<Lang> {
    let code = code.to_ascii_lowercase();
    match code.split(['-', '_']).next() {
        Some("en") | Some("simple") => Some(Lang::En),
        Some("zh") => Some(Lang::Zh),
        _ => None,
    }
}

fn lang_from_base_url(url: &str) -> Option<Lang> {
    let host = url.split("://").nth(1)?.split('/').next()?;
    lang_from_code(host.split('.').next()?)
}

/// `event_start`: the decompressed offset where the failing event began. A decoding
/// error is located from it (quick-xml reports invalid UTF-8 relative to the event, and
/// its `error_position` only tracks syntax errors).
fn xml_error<R>(
    e: quick_xml::Error,
    event_start: u64,
    reader: &Reader<R>,
    path: &Path,
    page: Option<String>,
) -> DumpError {
    match e {
        // Our decompressors wrap their failures (with compressed offsets) in io errors.
        quick_xml::Error::Io(io_err) => match io_err
            .get_ref()
            .and_then(|inner| inner.downcast_ref::<StreamFailure>())
        {
            Some(failure) => failure.clone().into_dump_error(path),
            None => DumpError::io(path, io::Error::new(io_err.kind(), io_err.to_string())),
        },
        quick_xml::Error::Encoding(quick_xml::encoding::EncodingError::Utf8(utf8)) => {
            DumpError::Xml {
                file: path.to_path_buf(),
                offset: event_start + utf8.valid_up_to() as u64,
                page,
                detail: match utf8.error_len() {
                    Some(n) => format!("invalid UTF-8 ({n} bad byte(s))"),
                    None => "invalid UTF-8 (a truncated sequence)".into(),
                },
            }
        }
        other => DumpError::Xml {
            file: path.to_path_buf(),
            offset: match reader.error_position() {
                0 => event_start,
                at => at,
            },
            page,
            detail: other.to_string(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(xml: &str) -> (Header, Vec<Result<RawPage, DumpError>>) {
        let (h, mut r) = PageReader::start(xml.as_bytes(), Path::new("t.xml")).unwrap();
        let mut pages = Vec::new();
        while let Some(p) = r.next_page() {
            pages.push(p);
        }
        (h, pages)
    }

    #[test]
    fn reads_pages_entities_and_redirects() {
        let xml = r#"<mediawiki xml:lang="zh"><siteinfo><sitename>W</sitename></siteinfo>
<page><title>A &amp; B</title><ns>0</ns><id>7</id><redirect title="C &quot;x&quot;"/>
<revision><id>99</id><timestamp>2020-01-01T00:00:00Z</timestamp><text xml:space="preserve">x &lt;ref&gt; &#x4E2D;</text></revision></page>
</mediawiki>"#;
        let (h, pages) = read_all(xml);
        assert_eq!(h.lang, Some(Lang::Zh));
        assert_eq!(h.site_name.as_deref(), Some("W"));
        assert_eq!(pages.len(), 1);
        let p = pages[0].as_ref().unwrap();
        assert_eq!(p.title, "A & B");
        assert_eq!(p.id, 7);
        assert_eq!(p.redirect.as_deref(), Some("C \"x\""));
        assert_eq!(p.text, "x <ref> 中");
        assert_eq!(p.timestamp.as_deref(), Some("2020-01-01T00:00:00Z"));
        assert_eq!(
            &xml[p.byte_offset as usize..p.byte_offset as usize + 6],
            "<page>"
        );
    }

    #[test]
    fn truncated_xml_is_an_error_naming_the_page() {
        let xml = "<mediawiki><page><title>Half</title><ns>0</ns><id>1</id><revision><text>abc";
        let (_, pages) = read_all(xml);
        let err = pages.last().unwrap().as_ref().unwrap_err().to_string();
        assert!(err.contains("t.xml") && err.contains("Half"), "{err}");
        let (_, pages) = read_all("<mediawiki><page><title>A</title><ns>0</ns><id>1</id></page>");
        assert!(pages[0].is_ok());
        assert!(pages[1]
            .as_ref()
            .unwrap_err()
            .to_string()
            .contains("missing </mediawiki>"));
    }

    #[test]
    fn a_page_with_bad_fields_is_reported_and_reading_goes_on() {
        let xml = "<mediawiki><page><title>Bad</title><ns>0</ns><id>x1</id></page>\
                   <page><title>Good</title><id>2</id></page></mediawiki>";
        let (_, pages) = read_all(xml);
        assert_eq!(pages.len(), 2);
        let err = pages[0].as_ref().unwrap_err();
        assert!(err.is_page_local());
        assert!(
            err.to_string().contains("Bad") && err.to_string().contains("<id>"),
            "{err}"
        );
        let good = pages[1].as_ref().unwrap();
        assert_eq!((good.title.as_str(), good.ns, good.id), ("Good", 0, 2));
    }

    #[test]
    fn mismatched_tags_are_malformed_xml() {
        let (_, pages) = read_all("<mediawiki><page><title>A</ns></page></mediawiki>");
        let err = pages[0].as_ref().unwrap_err().to_string();
        assert!(err.contains("malformed XML"), "{err}");
    }
}
