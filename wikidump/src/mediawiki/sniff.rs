//! Input format detection from the first bytes of a file (magic numbers), never from its
//! name: dumps get renamed, and `.xml.bz2` files sometimes hold something else.

use std::fs::File;
use std::path::Path;

use super::DumpError;

/// Container formats simweb can ingest.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum InputFormat {
    /// Uncompressed MediaWiki export XML.
    MediaWikiXml,
    /// bzip2 (single-stream or multistream); the content is checked when opened.
    Bzip2,
    /// Kiwix ZIM archive.
    Zim,
    /// One JSON object per line.
    Jsonl,
}

impl InputFormat {
    pub fn describe(self) -> &'static str {
        match self {
            InputFormat::MediaWikiXml => "MediaWiki XML",
            InputFormat::Bzip2 => "bzip2",
            InputFormat::Zim => "a ZIM archive",
            InputFormat::Jsonl => "JSONL",
        }
    }
}

const SNIFF_LEN: usize = 4096;

/// Detects the format of `path` from its first bytes.
pub fn sniff_file(path: &Path) -> Result<InputFormat, DumpError> {
    let mut file = File::open(path).map_err(|e| DumpError::io(path, e))?;
    let head = super::read_prefix(&mut file, SNIFF_LEN).map_err(|e| DumpError::io(path, e))?;
    sniff_bytes(&head).map_err(|e| e.into_error(path))
}

/// Why a prefix was not recognised; turned into a [`DumpError`] naming the file.
pub(crate) enum SniffFailure {
    Empty,
    Unknown(String),
}

impl SniffFailure {
    pub(crate) fn into_error(self, path: &Path) -> DumpError {
        match self {
            SniffFailure::Empty => DumpError::Empty {
                file: path.to_path_buf(),
            },
            SniffFailure::Unknown(head) => DumpError::UnknownFormat {
                file: path.to_path_buf(),
                head,
            },
        }
    }
}

pub(crate) fn sniff_bytes(head: &[u8]) -> Result<InputFormat, SniffFailure> {
    if head.is_empty() {
        return Err(SniffFailure::Empty);
    }
    if is_bz2_header(head) {
        return Ok(InputFormat::Bzip2);
    }
    if head.starts_with(&[0x5A, 0x49, 0x4D, 0x04]) {
        return Ok(InputFormat::Zim);
    }
    let text = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
    let first = text.iter().position(|b| !b.is_ascii_whitespace());
    match first.map(|i| text[i]) {
        Some(b'<') if contains(text, b"<mediawiki") => Ok(InputFormat::MediaWikiXml),
        Some(b'{') => Ok(InputFormat::Jsonl),
        None => Err(SniffFailure::Empty),
        _ => Err(SniffFailure::Unknown(describe_head(head))),
    }
}

/// `BZh` + block size digit: the start of every bzip2 stream.
pub(crate) fn is_bz2_header(b: &[u8]) -> bool {
    b.len() >= 4 && &b[..3] == b"BZh" && (b'1'..=b'9').contains(&b[3])
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// First bytes of a file, printable for an error message: `"%PDF-1.4" (25 50 44 46 ...)`.
pub(crate) fn describe_head(head: &[u8]) -> String {
    let shown = &head[..head.len().min(16)];
    let ascii: String = shown
        .iter()
        .map(|&b| {
            if b.is_ascii_graphic() || b == b' ' {
                b as char
            } else {
                '.'
            }
        })
        .collect();
    let hex: Vec<String> = shown.iter().map(|b| format!("{b:02x}")).collect();
    format!("{ascii:?} ({})", hex.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn detects_by_magic_bytes() {
        assert!(matches!(sniff_bytes(b"BZh91AY&SY"), Ok(InputFormat::Bzip2)));
        assert!(matches!(
            sniff_bytes(b"\xEF\xBB\xBF  <mediawiki xmlns=\"x\">"),
            Ok(InputFormat::MediaWikiXml)
        ));
        assert!(matches!(
            sniff_bytes(b"{\"id\": 1}\n"),
            Ok(InputFormat::Jsonl)
        ));
        assert!(matches!(
            sniff_bytes(&[0x5A, 0x49, 0x4D, 0x04, 0, 0]),
            Ok(InputFormat::Zim)
        ));
        assert!(matches!(sniff_bytes(b""), Err(SniffFailure::Empty)));
        assert!(matches!(sniff_bytes(b"   \n"), Err(SniffFailure::Empty)));
        match sniff_bytes(b"%PDF-1.4 blah") {
            Err(SniffFailure::Unknown(head)) => assert!(head.contains("%PDF"), "{head}"),
            _ => panic!("PDF must be unknown"),
        }
        assert!(matches!(
            sniff_bytes(b"<html><body>"),
            Err(SniffFailure::Unknown(_))
        ));
    }
}
