//! bzip2 input: single-stream files are decompressed sequentially while streaming;
//! multistream files (Wikimedia's `*-multistream.xml.bz2`, ~100 pages per stream) are cut
//! at stream boundaries and the streams decompressed on worker threads, then put back in
//! input order before XML parsing, so the output is the same as the sequential path.
//!
//! Boundaries come from the `-index.txt.bz2` when given (`offset:pageid:title` lines),
//! otherwise from scanning for a stream header (`BZh1`..`BZh9`) directly followed by a
//! block magic (`0x314159265359`) or end-of-stream magic (`0x177245385090`); a chance
//! match inside compressed data (probability ~2^-80 per byte) would make that stream fail
//! to decompress with an error, never yield wrong text silently.

use std::collections::BTreeMap;
use std::fmt;
use std::fs::File;
use std::io::{self, BufRead, BufReader, Cursor, Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use crossbeam_channel::{bounded, unbounded, Receiver, Sender};

use super::sniff::{describe_head, is_bz2_header};
use super::{read_prefix, DumpError, DumpOptions};

/// How far into a file we look for a second stream before deciding it is single-stream
/// (a multistream dump's first stream holds only `<siteinfo>`, a few KB).
const MULTISTREAM_PROBE: usize = 8 << 20;
const READ_CHUNK: usize = 4 << 20;

/// Why decompression stopped, carried inside an `io::Error` through the XML reader and
/// turned back into a [`DumpError`] with the file name by the XML layer.
#[derive(Debug, Clone)]
pub(crate) struct StreamFailure {
    /// Offset in the compressed file.
    pub offset: u64,
    pub kind: FailureKind,
}

#[derive(Debug, Clone)]
pub(crate) enum FailureKind {
    Truncated,
    Corrupt(String),
    Io(String),
}

impl fmt::Display for StreamFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.kind {
            FailureKind::Truncated => {
                write!(f, "unexpected end of bz2 stream at byte {}", self.offset)
            }
            FailureKind::Corrupt(d) => write!(f, "corrupt bz2 data near byte {}: {d}", self.offset),
            FailureKind::Io(d) => write!(f, "read error near byte {}: {d}", self.offset),
        }
    }
}

impl std::error::Error for StreamFailure {}

impl StreamFailure {
    fn from_io(e: &io::Error, offset: u64) -> Self {
        let kind = match e.kind() {
            io::ErrorKind::UnexpectedEof => FailureKind::Truncated,
            io::ErrorKind::InvalidInput | io::ErrorKind::InvalidData => {
                FailureKind::Corrupt(e.to_string())
            }
            _ => FailureKind::Io(e.to_string()),
        };
        StreamFailure { offset, kind }
    }

    fn into_io(self) -> io::Error {
        io::Error::other(self)
    }

    pub(crate) fn into_dump_error(self, file: &Path) -> DumpError {
        let file = file.to_path_buf();
        match self.kind {
            FailureKind::Truncated => DumpError::TruncatedBz2 {
                file,
                offset: self.offset,
            },
            FailureKind::Corrupt(detail) => DumpError::CorruptBz2 {
                file,
                offset: self.offset,
                detail,
            },
            FailureKind::Io(detail) => DumpError::Io {
                file,
                source: io::Error::other(format!("near byte {}: {detail}", self.offset)),
            },
        }
    }
}

/// Opens a bz2 dump, choosing the parallel path when it has several streams.
/// Also returns the count of compressed bytes consumed so far (progress).
pub(crate) fn open(
    path: &Path,
    opts: &DumpOptions,
) -> Result<(Box<dyn BufRead + Send>, Arc<AtomicU64>), DumpError> {
    let threads = if opts.threads == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.threads
    };
    let consumed = Arc::new(AtomicU64::new(0));
    let reader: Box<dyn Read + Send> = if let Some(index) = &opts.multistream_index {
        let offsets = read_index(index, path)?;
        Box::new(ParallelStreams::spawn(
            path,
            Boundaries::Index(offsets),
            threads,
            consumed.clone(),
        )?)
    } else if threads > 1 && has_second_stream(path)? {
        Box::new(ParallelStreams::spawn(
            path,
            Boundaries::Scan,
            threads,
            consumed.clone(),
        )?)
    } else {
        Box::new(sequential(path, consumed.clone())?)
    };
    Ok((check_xml_inside(path, reader)?, consumed))
}

/// Checks that the decompressed data is MediaWiki XML, then hands back a reader that
/// still starts at byte 0 of it.
fn check_xml_inside(
    path: &Path,
    mut reader: Box<dyn Read + Send>,
) -> Result<Box<dyn BufRead + Send>, DumpError> {
    let prefix = read_prefix(&mut reader, 4096).map_err(|e| io_to_dump_error(e, path))?;
    if prefix.is_empty() {
        return Err(DumpError::NotMediaWiki {
            file: path.to_path_buf(),
            found: "bz2 data that decompresses to nothing".into(),
        });
    }
    if !prefix.windows(10).any(|w| w == b"<mediawiki") {
        return Err(DumpError::NotMediaWiki {
            file: path.to_path_buf(),
            found: format!(
                "bz2 data that is not MediaWiki XML (decompressed starts with {})",
                describe_head(&prefix)
            ),
        });
    }
    Ok(Box::new(BufReader::with_capacity(
        1 << 16,
        Cursor::new(prefix).chain(reader),
    )))
}

/// Turns an error from one of our readers back into a typed error naming the file.
pub(crate) fn io_to_dump_error(e: io::Error, path: &Path) -> DumpError {
    if let Some(failure) = e
        .get_ref()
        .and_then(|inner| inner.downcast_ref::<StreamFailure>())
    {
        return failure.clone().into_dump_error(path);
    }
    DumpError::io(path, e)
}

/// A `BufRead` that counts the bytes its consumer has consumed (the compressed offset).
pub(crate) struct CountingReader<R> {
    pub inner: R,
    pub consumed: Arc<AtomicU64>,
}

impl<R: Read> Read for CountingReader<R>
where
    R: BufRead,
{
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.consumed.fetch_add(n as u64, Ordering::Relaxed);
        Ok(n)
    }
}

impl<R: BufRead> BufRead for CountingReader<R> {
    fn fill_buf(&mut self) -> io::Result<&[u8]> {
        self.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        self.consumed.fetch_add(amt as u64, Ordering::Relaxed);
        self.inner.consume(amt);
    }
}

/// Sequential decompression of all concatenated streams, with compressed offsets in errors.
struct Sequential {
    decoder: bzip2::bufread::MultiBzDecoder<CountingReader<BufReader<File>>>,
    consumed: Arc<AtomicU64>,
}

fn sequential(path: &Path, consumed: Arc<AtomicU64>) -> Result<Sequential, DumpError> {
    let file = File::open(path).map_err(|e| DumpError::io(path, e))?;
    let counting = CountingReader {
        inner: BufReader::with_capacity(1 << 16, file),
        consumed: consumed.clone(),
    };
    Ok(Sequential {
        decoder: bzip2::bufread::MultiBzDecoder::new(counting),
        consumed,
    })
}

impl Read for Sequential {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        self.decoder.read(buf).map_err(|e| {
            StreamFailure::from_io(&e, self.consumed.load(Ordering::Relaxed)).into_io()
        })
    }
}

/// True when a second bz2 stream header appears early in the file.
fn has_second_stream(path: &Path) -> Result<bool, DumpError> {
    let mut file = File::open(path).map_err(|e| DumpError::io(path, e))?;
    let head = read_prefix(&mut file, MULTISTREAM_PROBE).map_err(|e| DumpError::io(path, e))?;
    Ok(find_stream_header(&head, 1).is_some())
}

/// Position of the next stream header at or after `from`.
pub(crate) fn find_stream_header(buf: &[u8], from: usize) -> Option<usize> {
    const BLOCK: [u8; 6] = [0x31, 0x41, 0x59, 0x26, 0x53, 0x59];
    const EOS: [u8; 6] = [0x17, 0x72, 0x45, 0x38, 0x50, 0x90];
    let mut i = from;
    while i + 10 <= buf.len() {
        let rest = &buf[i..];
        match rest.iter().position(|&b| b == b'B') {
            None => return None,
            Some(p) => {
                let at = i + p;
                if at + 10 > buf.len() {
                    return None;
                }
                let cand = &buf[at..at + 10];
                if is_bz2_header(cand) && (cand[4..] == BLOCK || cand[4..] == EOS) {
                    return Some(at);
                }
                i = at + 1;
            }
        }
    }
    None
}

/// Reads the stream start offsets from a Wikimedia multistream index.
fn read_index(index: &Path, dump: &Path) -> Result<Vec<u64>, DumpError> {
    let file = File::open(index).map_err(|e| DumpError::io(index, e))?;
    let mut head = [0u8; 4];
    let mut probe = File::open(index).map_err(|e| DumpError::io(index, e))?;
    let n = probe.read(&mut head).map_err(|e| DumpError::io(index, e))?;
    let reader: Box<dyn BufRead> = if is_bz2_header(&head[..n]) {
        Box::new(BufReader::new(bzip2::read::MultiBzDecoder::new(
            BufReader::new(file),
        )))
    } else {
        Box::new(BufReader::new(file))
    };
    let dump_len = std::fs::metadata(dump)
        .map_err(|e| DumpError::io(dump, e))?
        .len();
    let mut offsets = vec![0u64];
    for (i, line) in reader.lines().enumerate() {
        let line_no = i as u64 + 1;
        let line = line.map_err(|e| DumpError::Index {
            file: index.to_path_buf(),
            line: line_no,
            detail: e.to_string(),
        })?;
        if line.trim().is_empty() {
            continue;
        }
        let bad = |detail: String| DumpError::Index {
            file: index.to_path_buf(),
            line: line_no,
            detail,
        };
        let offset: u64 = line
            .split(':')
            .next()
            .and_then(|s| s.trim().parse().ok())
            .ok_or_else(|| bad(format!("expected `offset:pageid:title`, got {line:?}")))?;
        if offset >= dump_len {
            return Err(bad(format!(
                "offset {offset} is past the end of {} ({dump_len} bytes)",
                dump.display()
            )));
        }
        if offsets.last() != Some(&offset) {
            offsets.push(offset);
        }
    }
    offsets.sort_unstable();
    offsets.dedup();
    Ok(offsets)
}

enum Boundaries {
    Scan,
    Index(Vec<u64>),
}

/// One compressed stream (or a producer failure) on its way to a worker.
struct Segment {
    seq: u64,
    offset: u64,
    data: Result<Vec<u8>, StreamFailure>,
}

/// (sequence number, end offset of the stream in the file, decompressed bytes).
type Decoded = (u64, u64, Result<Vec<u8>, StreamFailure>);

/// Parallel multistream decompression behind a plain `Read`, in input order.
///
/// A producer thread cuts the file into streams, `threads` workers decompress them, and
/// the reader re-orders by sequence number. Tickets bound how far the producer may run
/// ahead of the reader, so memory stays bounded however slow the consumer is.
struct ParallelStreams {
    results: Receiver<Decoded>,
    tickets: Sender<()>,
    pending: BTreeMap<u64, (u64, Result<Vec<u8>, StreamFailure>)>,
    /// Compressed bytes handed to the reader so far (end of the current stream).
    consumed: Arc<AtomicU64>,
    next_seq: u64,
    current: Vec<u8>,
    pos: usize,
    failed: bool,
}

impl ParallelStreams {
    fn spawn(
        path: &Path,
        bounds: Boundaries,
        threads: usize,
        consumed: Arc<AtomicU64>,
    ) -> Result<Self, DumpError> {
        let file = File::open(path).map_err(|e| DumpError::io(path, e))?;
        let ahead = threads * 4 + 2;
        let (ticket_tx, ticket_rx) = bounded::<()>(ahead);
        for _ in 0..ahead {
            let _ = ticket_tx.send(());
        }
        let (work_tx, work_rx) = bounded::<Segment>(threads * 2);
        let (result_tx, result_rx) = unbounded::<Decoded>();
        let path_buf: PathBuf = path.to_path_buf();
        std::thread::Builder::new()
            .name("bz2-split".into())
            .spawn(move || produce(file, bounds, work_tx, ticket_rx, &path_buf))
            .map_err(|e| DumpError::io(path, e))?;
        for i in 0..threads {
            let rx = work_rx.clone();
            let tx = result_tx.clone();
            std::thread::Builder::new()
                .name(format!("bz2-worker-{i}"))
                .spawn(move || {
                    for seg in rx {
                        let end = seg.offset + seg.data.as_ref().map_or(0, |d| d.len() as u64);
                        let out = seg.data.and_then(|d| decompress_stream(&d, seg.offset));
                        if tx.send((seg.seq, end, out)).is_err() {
                            break;
                        }
                    }
                })
                .map_err(|e| DumpError::io(path, e))?;
        }
        Ok(ParallelStreams {
            results: result_rx,
            tickets: ticket_tx,
            pending: BTreeMap::new(),
            consumed,
            next_seq: 0,
            current: Vec::new(),
            pos: 0,
            failed: false,
        })
    }

    /// Loads the next stream's bytes in order; false at the end of input.
    fn advance(&mut self) -> io::Result<bool> {
        loop {
            if let Some((end, out)) = self.pending.remove(&self.next_seq) {
                self.next_seq += 1;
                self.consumed.fetch_max(end, Ordering::Relaxed);
                let _ = self.tickets.try_send(());
                match out {
                    Ok(bytes) => {
                        self.current = bytes;
                        self.pos = 0;
                        return Ok(true);
                    }
                    Err(failure) => {
                        self.failed = true;
                        return Err(failure.into_io());
                    }
                }
            }
            match self.results.recv() {
                Ok((seq, end, out)) => {
                    self.pending.insert(seq, (end, out));
                }
                Err(_) => return Ok(false),
            }
        }
    }
}

impl Read for ParallelStreams {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        if self.failed {
            return Ok(0);
        }
        while self.pos >= self.current.len() {
            if !self.advance()? {
                return Ok(0);
            }
        }
        let n = buf.len().min(self.current.len() - self.pos);
        buf[..n].copy_from_slice(&self.current[self.pos..self.pos + n]);
        self.pos += n;
        Ok(n)
    }
}

/// Decompresses one stream (or, defensively, several concatenated ones): with
/// [`bunzip`](super::bunzip), else (a stream it rejects) with libbz2, whose errors name
/// what is wrong.
fn decompress_stream(data: &[u8], offset: u64) -> Result<Vec<u8>, StreamFailure> {
    let mut out = Vec::with_capacity(data.len() * 5);
    match super::bunzip::decode(data, &mut out) {
        Ok(()) => return Ok(out),
        Err(why) => {
            tracing::debug!(offset, reason = why.0, "bz2 stream left to libbz2");
            out.clear();
        }
    }
    let mut decoder = bzip2::bufread::MultiBzDecoder::new(data);
    match decoder.read_to_end(&mut out) {
        Ok(_) => Ok(out),
        Err(e) => {
            let at = match e.kind() {
                io::ErrorKind::UnexpectedEof => offset + data.len() as u64,
                _ => offset,
            };
            Err(StreamFailure::from_io(&e, at))
        }
    }
}

/// The producer: cuts the file into streams and sends them, in order, to the workers.
fn produce(
    mut file: File,
    bounds: Boundaries,
    work: Sender<Segment>,
    tickets: Receiver<()>,
    path: &Path,
) {
    let mut seq = 0u64;
    let mut send = |offset: u64, data: Result<Vec<u8>, StreamFailure>| -> bool {
        if tickets.recv().is_err() {
            return false;
        }
        let ok = work.send(Segment { seq, offset, data }).is_ok();
        seq += 1;
        ok
    };
    match bounds {
        Boundaries::Index(offsets) => {
            let len = match file.metadata() {
                Ok(m) => m.len(),
                Err(e) => {
                    send(0, Err(StreamFailure::from_io(&e, 0)));
                    return;
                }
            };
            for (i, &start) in offsets.iter().enumerate() {
                let end = offsets.get(i + 1).copied().unwrap_or(len);
                let data = read_range(&mut file, start, end);
                let data = data.and_then(|d| {
                    if is_bz2_header(&d) {
                        Ok(d)
                    } else {
                        Err(StreamFailure {
                            offset: start,
                            kind: FailureKind::Corrupt(format!(
                                "the multistream index says a stream starts here, but there is no bz2 header in {}",
                                path.display()
                            )),
                        })
                    }
                });
                let failed = data.is_err();
                if !send(start, data) || failed {
                    return;
                }
            }
        }
        Boundaries::Scan => {
            let mut buf: Vec<u8> = Vec::new();
            let mut buf_start = 0u64;
            let mut search_from = 1usize;
            let mut chunk = vec![0u8; READ_CHUNK];
            loop {
                if let Some(p) = find_stream_header(&buf, search_from) {
                    let rest = buf.split_off(p);
                    let stream = std::mem::replace(&mut buf, rest);
                    if !send(buf_start, Ok(stream)) {
                        return;
                    }
                    buf_start += p as u64;
                    search_from = 1;
                    continue;
                }
                search_from = buf.len().saturating_sub(9).max(1);
                match file.read(&mut chunk) {
                    Ok(0) => {
                        if !buf.is_empty() {
                            send(buf_start, Ok(buf));
                        }
                        return;
                    }
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => {
                        send(
                            buf_start + buf.len() as u64,
                            Err(StreamFailure::from_io(&e, buf_start + buf.len() as u64)),
                        );
                        return;
                    }
                }
            }
        }
    }
}

fn read_range(file: &mut File, start: u64, end: u64) -> Result<Vec<u8>, StreamFailure> {
    let fail = |e: io::Error| StreamFailure::from_io(&e, start);
    file.seek(SeekFrom::Start(start)).map_err(fail)?;
    let mut data = vec![0u8; end.saturating_sub(start) as usize];
    file.read_exact(&mut data).map_err(fail)?;
    Ok(data)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_stream_headers_only_with_block_magic() {
        let mut buf = b"BZh91AY&SYxxxxBZh9noBZh5".to_vec();
        buf.extend_from_slice(&[0x17, 0x72, 0x45, 0x38, 0x50, 0x90, 0]);
        assert_eq!(find_stream_header(&buf, 0), Some(0));
        assert_eq!(find_stream_header(&buf, 1), Some(20));
        assert_eq!(find_stream_header(b"BZh91AY&S", 0), None);
    }
}
