//! Immutable tables: the published document store's file format.
//!
//! A published corpus never changes, so its key→value tables need no write path, no log
//! and no lock: each is one file of entries cut into blocks of a configured size (default
//! [`BLOCK_BYTES`]), each block a zstd frame (with its content checksum), then an index,
//! then a fixed footer. Any number of processes read it at once with positioned reads
//! (`pread`), and a reader holds only the index in memory, compactly: all keys in one
//! buffer, about 8 bytes per entry beside the key bytes. Compared with the sled tree it
//! replaces, the store shrinks several-fold (sled keeps values uncompressed inside a
//! log-structured page cache).
//!
//! ```text
//! block*   zstd( (varint klen, key, varint vlen, value)* )
//! index    zstd( u64 blocks, (u64 offset, u32 len, u32 raw_len)*, (varint klen, key, varint block)* )
//! footer   u64 index offset | u64 index len | u64 index raw len | u64 entries | magic
//! ```
//!
//! Two kinds share the layout. A *sorted* table ([`TableWriter`], magic `SWTABLE1`)
//! takes its entries in strictly increasing key order and indexes each block by its first
//! key. A *keyed* table ([`KeyedTableWriter`], magic `SWKEYED1`) takes them in any order:
//! blocks follow arrival order and the index has one entry per key, sorted, so the writer
//! never holds more than one block of values (the `docs` table is written this way while
//! ingest runs, in input order); its keys wait in sorted runs on disk and the index is
//! compressed as they are merged into it, so it never holds them all either.
//!
//! Integers are little-endian. A truncated or foreign file fails at open (footer), a
//! damaged block at read (zstd checksum), each naming the file.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};

use crate::spill::SpillMap;

/// Default uncompressed bytes per block: small enough that a point read decompresses
/// little (zstd decodes ~1 GB/s, so a read costs ~1 µs per KiB of block), large enough for
/// zstd to find the redundancy between neighbouring entries. A block holds at least one
/// entry, so a larger value is one block of its own.
pub const BLOCK_BYTES: usize = 4 << 10;
const MAGIC: &[u8; 8] = b"SWTABLE1";
const KEYED_MAGIC: &[u8; 8] = b"SWKEYED1";
const FOOTER: usize = 40;
/// zstd level: ~3 compresses at hundreds of MB/s per core, well ahead of ingest.
const LEVEL: i32 = 3;

/// A table that cannot be written or read.
#[derive(Debug, thiserror::Error)]
pub enum TableError {
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: not a simweb table or truncated: {reason}", path.display())]
    Format { path: PathBuf, reason: String },
    #[error("{}: block at byte {offset} is damaged: {reason}", path.display())]
    Corrupt {
        path: PathBuf,
        offset: u64,
        reason: String,
    },
    #[error("{}: keys must be added in strictly increasing order (keyed tables: unique)", path.display())]
    Unsorted { path: PathBuf },
}

/// Where one compressed block is.
#[derive(Clone, Copy)]
struct Block {
    offset: u64,
    len: u32,
    raw_len: u32,
}

/// Keys in one buffer (`ends[i]` closes key `i`), each with its block number.
#[derive(Default)]
struct Keys {
    bytes: Vec<u8>,
    ends: Vec<u32>,
    blocks: Vec<u32>,
}

impl Keys {
    fn len(&self) -> usize {
        self.ends.len()
    }

    fn key(&self, i: usize) -> &[u8] {
        let start = if i == 0 { 0 } else { self.ends[i - 1] as usize };
        &self.bytes[start..self.ends[i] as usize]
    }

    fn push(&mut self, key: &[u8], block: u32) -> Option<()> {
        self.bytes.extend_from_slice(key);
        self.ends.push(u32::try_from(self.bytes.len()).ok()?);
        self.blocks.push(block);
        Some(())
    }
}

/// Writes a sorted table; keys must arrive in strictly increasing byte order.
pub struct TableWriter {
    path: PathBuf,
    out: BufWriter<File>,
    compressor: zstd::bulk::Compressor<'static>,
    block: Vec<u8>,
    block_entries: usize,
    block_first: Vec<u8>,
    last_key: Option<Vec<u8>>,
    blocks: Vec<Block>,
    /// First key of each block (sorted tables; a keyed table indexes every key instead).
    first_keys: Keys,
    index_first_keys: bool,
    offset: u64,
    entries: u64,
    block_bytes: usize,
}

impl TableWriter {
    /// A table whose blocks close once they hold `block_bytes` uncompressed bytes.
    pub fn create(path: &Path, block_bytes: usize) -> Result<TableWriter, TableError> {
        let io = |source| TableError::Io {
            path: path.to_path_buf(),
            source,
        };
        let file = File::create(path).map_err(io)?;
        let mut compressor = zstd::bulk::Compressor::new(LEVEL).map_err(io)?;
        compressor.include_checksum(true).map_err(io)?;
        Ok(TableWriter {
            path: path.to_path_buf(),
            out: BufWriter::with_capacity(1 << 20, file),
            compressor,
            block: Vec::with_capacity(block_bytes * 2),
            block_entries: 0,
            block_first: Vec::new(),
            last_key: None,
            blocks: Vec::new(),
            first_keys: Keys::default(),
            index_first_keys: true,
            offset: 0,
            entries: 0,
            block_bytes: block_bytes.max(1),
        })
    }

    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<(), TableError> {
        if self.last_key.as_deref().is_some_and(|last| last >= key) {
            return Err(TableError::Unsorted {
                path: self.path.clone(),
            });
        }
        if self.block_entries == 0 {
            self.block_first = key.to_vec();
        }
        self.append(key, value)?;
        match &mut self.last_key {
            // Reuse the buffer: a freeze adds millions of small entries.
            Some(last) => {
                last.clear();
                last.extend_from_slice(key);
            }
            None => self.last_key = Some(key.to_vec()),
        }
        Ok(())
    }

    /// Adds an entry to the open block and closes the block once it is full.
    fn append(&mut self, key: &[u8], value: &[u8]) -> Result<(), TableError> {
        put_varint(&mut self.block, key.len() as u64);
        self.block.extend_from_slice(key);
        put_varint(&mut self.block, value.len() as u64);
        self.block.extend_from_slice(value);
        self.block_entries += 1;
        self.entries += 1;
        if self.block.len() >= self.block_bytes {
            self.flush_block()?;
        }
        Ok(())
    }

    /// The number the open block will have.
    fn current_block(&self) -> Result<u32, TableError> {
        u32::try_from(self.blocks.len()).map_err(|_| self.too_large())
    }

    fn io(&self, source: std::io::Error) -> TableError {
        TableError::Io {
            path: self.path.clone(),
            source,
        }
    }

    fn too_large(&self) -> TableError {
        TableError::Format {
            path: self.path.clone(),
            reason: "over 4 GiB in one entry, 2^32 blocks or 4 GiB of keys".into(),
        }
    }

    fn flush_block(&mut self) -> Result<(), TableError> {
        if self.block_entries == 0 {
            return Ok(());
        }
        let frame = self
            .compressor
            .compress(&self.block)
            .map_err(|e| self.io(e))?;
        self.out.write_all(&frame).map_err(|e| self.io(e))?;
        let number = self.current_block()?;
        if self.index_first_keys {
            let first = std::mem::take(&mut self.block_first);
            self.first_keys
                .push(&first, number)
                .ok_or_else(|| self.too_large())?;
        }
        self.blocks.push(Block {
            offset: self.offset,
            len: u32::try_from(frame.len()).map_err(|_| self.too_large())?,
            raw_len: u32::try_from(self.block.len()).map_err(|_| self.too_large())?,
        });
        self.offset += frame.len() as u64;
        self.block.clear();
        self.block_entries = 0;
        Ok(())
    }

    /// Writes the last block, the index and the footer, and syncs the file.
    pub fn finish(mut self) -> Result<u64, TableError> {
        self.flush_block()?;
        let keys = std::mem::take(&mut self.first_keys);
        self.write_index(MAGIC, |index| {
            (0..keys.len()).try_for_each(|i| index.key(keys.key(i), keys.blocks[i]))
        })
    }

    /// The index (blocks, then the keys `add_keys` hands over, in order) and the footer.
    /// The index is compressed as it is written, so a table with millions of keys never
    /// holds them all in memory.
    fn write_index(
        mut self,
        magic: &[u8; 8],
        add_keys: impl FnOnce(&mut IndexEncoder<'_>) -> Result<(), TableError>,
    ) -> Result<u64, TableError> {
        let index_offset = self.offset;
        let mut index = IndexEncoder::new(&mut self.out, &self.path)?;
        index.write(&(self.blocks.len() as u64).to_le_bytes())?;
        for block in &self.blocks {
            index.write(&block.offset.to_le_bytes())?;
            index.write(&block.len.to_le_bytes())?;
            index.write(&block.raw_len.to_le_bytes())?;
        }
        add_keys(&mut index)?;
        let (len, raw_len) = index.finish()?;
        let mut footer = Vec::with_capacity(FOOTER);
        footer.extend_from_slice(&index_offset.to_le_bytes());
        footer.extend_from_slice(&len.to_le_bytes());
        footer.extend_from_slice(&raw_len.to_le_bytes());
        footer.extend_from_slice(&self.entries.to_le_bytes());
        footer.extend_from_slice(magic);
        self.out.write_all(&footer).map_err(|e| self.io(e))?;
        let file = self.out.into_inner().map_err(|e| TableError::Io {
            path: self.path.clone(),
            source: e.into_error(),
        })?;
        file.sync_all().map_err(|source| TableError::Io {
            path: self.path.clone(),
            source,
        })?;
        Ok(self.entries)
    }
}

/// A table's index as it is written: one zstd frame (with its checksum), streamed.
struct IndexEncoder<'a> {
    path: &'a Path,
    zstd: zstd::stream::write::Encoder<'static, Counted<&'a mut BufWriter<File>>>,
    raw_len: u64,
    varint: Vec<u8>,
}

impl<'a> IndexEncoder<'a> {
    fn new(out: &'a mut BufWriter<File>, path: &'a Path) -> Result<IndexEncoder<'a>, TableError> {
        let io = |source| TableError::Io {
            path: path.to_path_buf(),
            source,
        };
        let mut zstd = zstd::stream::write::Encoder::new(
            Counted {
                inner: out,
                bytes: 0,
            },
            LEVEL,
        )
        .map_err(io)?;
        zstd.include_checksum(true).map_err(io)?;
        Ok(IndexEncoder {
            path,
            zstd,
            raw_len: 0,
            varint: Vec::with_capacity(10),
        })
    }

    fn write(&mut self, bytes: &[u8]) -> Result<(), TableError> {
        self.raw_len += bytes.len() as u64;
        self.zstd.write_all(bytes).map_err(|source| TableError::Io {
            path: self.path.to_path_buf(),
            source,
        })
    }

    /// One key entry: its length, the key, its block number.
    fn key(&mut self, key: &[u8], block: u32) -> Result<(), TableError> {
        let mut varint = std::mem::take(&mut self.varint);
        varint.clear();
        put_varint(&mut varint, key.len() as u64);
        self.write(&varint)?;
        self.write(key)?;
        varint.clear();
        put_varint(&mut varint, u64::from(block));
        self.write(&varint)?;
        self.varint = varint;
        Ok(())
    }

    /// Ends the frame; returns its compressed and raw lengths.
    fn finish(self) -> Result<(u64, u64), TableError> {
        let counted = self.zstd.finish().map_err(|source| TableError::Io {
            path: self.path.to_path_buf(),
            source,
        })?;
        Ok((counted.bytes, self.raw_len))
    }
}

/// A writer that counts what passes through it.
struct Counted<W> {
    inner: W,
    bytes: u64,
}

impl<W: Write> Write for Counted<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.bytes += n as u64;
        Ok(n)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

/// Memory for a keyed table's keys before a sorted run of them goes to disk.
const KEY_BUDGET: usize = 8 << 20;

/// Writes a keyed table: entries in any order, unique keys (checked at `finish`).
pub struct KeyedTableWriter {
    blocks: TableWriter,
    /// Every key so far with its block number (u32, little-endian), as sorted runs beside
    /// the table file, so memory does not grow with the number of keys.
    keys: SpillMap,
}

impl KeyedTableWriter {
    pub fn create(path: &Path, block_bytes: usize) -> Result<KeyedTableWriter, TableError> {
        KeyedTableWriter::with_key_budget(path, block_bytes, KEY_BUDGET)
    }

    fn with_key_budget(
        path: &Path,
        block_bytes: usize,
        key_budget: usize,
    ) -> Result<KeyedTableWriter, TableError> {
        let name = path
            .file_name()
            .map(|n| format!("{}.keys", n.to_string_lossy()))
            .unwrap_or_else(|| "keys".into());
        let dir = path.parent().unwrap_or(Path::new("."));
        let mut blocks = TableWriter::create(path, block_bytes)?;
        blocks.index_first_keys = false;
        Ok(KeyedTableWriter {
            blocks,
            keys: SpillMap::new(dir, &name, key_budget),
        })
    }

    pub fn add(&mut self, key: &[u8], value: &[u8]) -> Result<(), TableError> {
        let block = self.blocks.current_block()?;
        self.keys.push(key, &block.to_le_bytes())?;
        self.blocks.append(key, value)
    }

    /// Merges the keys' runs into the index (one entry per key, sorted), then the footer.
    /// A key added twice fails the table.
    pub fn finish(mut self) -> Result<u64, TableError> {
        self.blocks.flush_block()?;
        let path = self.blocks.path.clone();
        let keys = self.keys;
        self.blocks.write_index(KEYED_MAGIC, |index| {
            let drained = keys.drain(|key, block| {
                let block = <[u8; 4]>::try_from(block).map_err(|_| TableError::Format {
                    path: path.clone(),
                    reason: "a key run holds a block number that is not 4 bytes".into(),
                })?;
                index.key(key, u32::from_le_bytes(block))
            })?;
            // Failing here, before the footer, leaves a file no reader opens.
            if drained.duplicates > 0 {
                return Err(TableError::Unsorted { path: path.clone() });
            }
            Ok(())
        })
    }
}

/// A table opened for reading: the file and its index.
pub struct Table {
    path: PathBuf,
    file: File,
    blocks: Vec<Block>,
    /// First key of each block (sorted tables), or every key (keyed tables), sorted.
    keys: Keys,
    keyed: bool,
    entries: u64,
}

impl Table {
    pub fn open(path: &Path) -> Result<Table, TableError> {
        let io = |source| TableError::Io {
            path: path.to_path_buf(),
            source,
        };
        let format = |reason: String| TableError::Format {
            path: path.to_path_buf(),
            reason,
        };
        let file = File::open(path).map_err(io)?;
        let size = file.metadata().map_err(io)?.len();
        if size < FOOTER as u64 {
            return Err(format(format!("{size} bytes is shorter than the footer")));
        }
        let mut footer = [0u8; FOOTER];
        file.read_exact_at(&mut footer, size - FOOTER as u64)
            .map_err(io)?;
        let keyed = match &footer[32..] {
            m if m == MAGIC => false,
            m if m == KEYED_MAGIC => true,
            _ => return Err(format("no table footer".into())),
        };
        let word =
            |i: usize| u64::from_le_bytes(footer[i * 8..i * 8 + 8].try_into().unwrap_or([0; 8]));
        let (index_offset, index_len, index_raw, entries) = (word(0), word(1), word(2), word(3));
        if index_offset.checked_add(index_len) != Some(size - FOOTER as u64) {
            return Err(format("the index does not end at the footer".into()));
        }
        let mut frame = vec![0u8; index_len as usize];
        file.read_exact_at(&mut frame, index_offset).map_err(io)?;
        let raw = zstd::bulk::decompress(&frame, index_raw as usize)
            .map_err(|e| format(format!("index: {e}")))?;
        let (blocks, keys) =
            parse_index(&raw, index_offset).ok_or_else(|| format("index entries".into()))?;
        Ok(Table {
            path: path.to_path_buf(),
            file,
            blocks,
            keys,
            keyed,
            entries,
        })
    }

    /// Number of entries.
    pub fn len(&self) -> u64 {
        self.entries
    }

    pub fn is_empty(&self) -> bool {
        self.entries == 0
    }

    /// The value of `key`, reading and decompressing the one block that may hold it.
    pub fn get(&self, key: &[u8]) -> Result<Option<Vec<u8>>, TableError> {
        let Some(block) = self.block_for(key) else {
            return Ok(None);
        };
        let raw = self.read_block(block)?;
        let mut entries = Entries { raw: &raw, at: 0 };
        while let Some(entry) = entries.next() {
            let (k, v) = entry.map_err(|reason| self.corrupt(block, reason))?;
            match k.cmp(key) {
                std::cmp::Ordering::Equal => return Ok(Some(v.to_vec())),
                // Blocks of a keyed table are in arrival order, not key order.
                std::cmp::Ordering::Greater if !self.keyed => break,
                _ => continue,
            }
        }
        Ok(None)
    }

    /// Starts reading the block [`Table::get`] of `key` will read ([`crate::readahead`]).
    pub fn read_ahead(&self, key: &[u8]) {
        if let Some(block) = self.block_for(key) {
            crate::readahead::will_need(&self.file, block.offset, u64::from(block.len));
        }
    }

    /// The one block that may hold `key`.
    fn block_for(&self, key: &[u8]) -> Option<Block> {
        let n = self.keys.len();
        // First index entry whose key is greater than `key`.
        let (mut lo, mut hi) = (0usize, n);
        while lo < hi {
            let mid = (lo + hi) / 2;
            if self.keys.key(mid) <= key {
                lo = mid + 1;
            } else {
                hi = mid;
            }
        }
        let at = lo.checked_sub(1)?;
        if self.keyed && self.keys.key(at) != key {
            return None;
        }
        self.blocks.get(self.keys.blocks[at] as usize).copied()
    }

    /// Every key in order.
    pub fn keys(&self) -> Box<dyn Iterator<Item = Result<Vec<u8>, TableError>> + '_> {
        if self.keyed {
            return Box::new((0..self.keys.len()).map(|i| Ok(self.keys.key(i).to_vec())));
        }
        Box::new(self.blocks.iter().flat_map(move |&block| {
            let keys: Vec<Result<Vec<u8>, TableError>> = match self.read_block(block) {
                Ok(raw) => {
                    let mut out = Vec::new();
                    let mut entries = Entries { raw: &raw, at: 0 };
                    while let Some(entry) = entries.next() {
                        match entry {
                            Ok((k, _)) => out.push(Ok(k.to_vec())),
                            Err(reason) => {
                                out.push(Err(self.corrupt(block, reason)));
                                break;
                            }
                        }
                    }
                    out
                }
                Err(e) => vec![Err(e)],
            };
            keys
        }))
    }

    fn read_block(&self, block: Block) -> Result<Vec<u8>, TableError> {
        let mut frame = vec![0u8; block.len as usize];
        self.file
            .read_exact_at(&mut frame, block.offset)
            .map_err(|source| TableError::Io {
                path: self.path.clone(),
                source,
            })?;
        decompress(&frame, block.raw_len as usize).map_err(|e| self.corrupt(block, e.to_string()))
    }

    fn corrupt(&self, block: Block, reason: String) -> TableError {
        TableError::Corrupt {
            path: self.path.clone(),
            offset: block.offset,
            reason,
        }
    }
}

/// Decompresses one block with this thread's zstd context (creating a context per read
/// cost as much as decoding a 16 KiB block).
fn decompress(frame: &[u8], raw_len: usize) -> std::io::Result<Vec<u8>> {
    thread_local! {
        static CONTEXT: std::cell::RefCell<Option<zstd::bulk::Decompressor<'static>>> =
            const { std::cell::RefCell::new(None) };
    }
    CONTEXT.with(|cell| {
        let mut slot = cell.borrow_mut();
        let context = match slot.as_mut() {
            Some(context) => context,
            None => slot.insert(zstd::bulk::Decompressor::new()?),
        };
        context.decompress(frame, raw_len)
    })
}

/// A key and its value, borrowed from a decompressed block.
type Entry<'a> = (&'a [u8], &'a [u8]);

/// Iterates the entries of one decompressed block.
struct Entries<'a> {
    raw: &'a [u8],
    at: usize,
}

impl<'a> Entries<'a> {
    fn next(&mut self) -> Option<Result<Entry<'a>, String>> {
        if self.at >= self.raw.len() {
            return None;
        }
        Some(
            self.entry()
                .ok_or_else(|| "an entry runs past its block".to_string()),
        )
    }

    fn entry(&mut self) -> Option<Entry<'a>> {
        let key = self.field()?;
        let value = self.field()?;
        Some((key, value))
    }

    fn field(&mut self) -> Option<&'a [u8]> {
        let (len, used) = get_varint(&self.raw[self.at..])?;
        let start = self.at + used;
        let end = start.checked_add(usize::try_from(len).ok()?)?;
        let field = self.raw.get(start..end)?;
        self.at = end;
        Some(field)
    }
}

fn parse_index(raw: &[u8], data_end: u64) -> Option<(Vec<Block>, Keys)> {
    let count = u64::from_le_bytes(raw.get(..8)?.try_into().ok()?);
    let mut at = 8usize;
    let mut blocks = Vec::with_capacity(usize::try_from(count).ok()?.min(raw.len() / 16));
    for _ in 0..count {
        let fixed = raw.get(at..at + 16)?;
        let block = Block {
            offset: u64::from_le_bytes(fixed[..8].try_into().ok()?),
            len: u32::from_le_bytes(fixed[8..12].try_into().ok()?),
            raw_len: u32::from_le_bytes(fixed[12..16].try_into().ok()?),
        };
        if block.offset.checked_add(u64::from(block.len))? > data_end {
            return None;
        }
        blocks.push(block);
        at += 16;
    }
    let mut keys = Keys::default();
    while at < raw.len() {
        let (klen, used) = get_varint(&raw[at..])?;
        at += used;
        let key_end = at.checked_add(usize::try_from(klen).ok()?)?;
        let key = raw.get(at..key_end)?;
        let (block, used) = get_varint(raw.get(key_end..)?)?;
        if block >= count {
            return None;
        }
        keys.push(key, u32::try_from(block).ok()?)?;
        at = key_end + used;
    }
    keys.bytes.shrink_to_fit();
    Some((blocks, keys))
}

fn put_varint(out: &mut Vec<u8>, mut n: u64) {
    while n >= 0x80 {
        out.push((n as u8) | 0x80);
        n >>= 7;
    }
    out.push(n as u8);
}

fn get_varint(bytes: &[u8]) -> Option<(u64, usize)> {
    let mut n = 0u64;
    for (i, &b) in bytes.iter().enumerate().take(10) {
        n |= u64::from(b & 0x7f) << (7 * i);
        if b & 0x80 == 0 {
            return Some((n, i + 1));
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(path: &Path, entries: &[(Vec<u8>, Vec<u8>)]) {
        let mut w = TableWriter::create(path, BLOCK_BYTES).unwrap();
        for (k, v) in entries {
            w.add(k, v).unwrap();
        }
        assert_eq!(w.finish().unwrap(), entries.len() as u64);
    }

    #[test]
    fn round_trip_across_many_blocks() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tbl");
        let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..20_000u32)
            .map(|i| {
                let k = format!("key-{i:08}").into_bytes();
                let v = format!("value {i} {}", "x".repeat((i % 97) as usize)).into_bytes();
                (k, v)
            })
            .collect();
        write(&path, &entries);
        let t = Table::open(&path).unwrap();
        assert_eq!(t.len(), 20_000);
        assert!(t.blocks.len() > 5, "several blocks: {}", t.blocks.len());
        for (k, v) in entries.iter().step_by(7) {
            assert_eq!(t.get(k).unwrap().as_deref(), Some(&v[..]));
        }
        assert_eq!(t.get(b"key-").unwrap(), None);
        assert_eq!(t.get(b"key-00000000x").unwrap(), None);
        assert_eq!(t.get(b"zzz").unwrap(), None);
        assert_eq!(t.get(b"").unwrap(), None);
        let keys: Vec<Vec<u8>> = t.keys().map(Result::unwrap).collect();
        assert_eq!(
            keys,
            entries.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>()
        );
    }

    #[test]
    fn keyed_tables_take_keys_in_any_order() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("k.tbl");
        // A small key budget: the keys go through many sorted runs.
        let mut w = KeyedTableWriter::with_key_budget(&path, 1024, 4096).unwrap();
        // A permutation of 0..5000, as input order would give ids.
        let order: Vec<u32> = (0..5000u32).map(|i| (i * 3001) % 5000).collect();
        for i in &order {
            w.add(
                format!("doc:{i}").as_bytes(),
                format!("body {i}").as_bytes(),
            )
            .unwrap();
        }
        assert_eq!(w.finish().unwrap(), 5000);
        let t = Table::open(&path).unwrap();
        for i in [0u32, 1, 17, 4999, 2500] {
            let v = t.get(format!("doc:{i}").as_bytes()).unwrap();
            assert_eq!(v.as_deref(), Some(format!("body {i}").as_bytes()));
        }
        assert_eq!(t.get(b"doc:5000").unwrap(), None);
        let keys: Vec<Vec<u8>> = t.keys().map(Result::unwrap).collect();
        let mut sorted = keys.clone();
        sorted.sort();
        assert_eq!(keys, sorted);
        assert_eq!(keys.len(), 5000);
        let files: Vec<String> = std::fs::read_dir(dir.path())
            .unwrap()
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect();
        assert_eq!(files, ["k.tbl"], "the key runs are gone");

        let mut dup = KeyedTableWriter::create(&dir.path().join("d.tbl"), 1024).unwrap();
        dup.add(b"a", b"1").unwrap();
        dup.add(b"a", b"2").unwrap();
        assert!(dup.finish().is_err());
        assert!(
            Table::open(&dir.path().join("d.tbl")).is_err(),
            "no footer written"
        );
    }

    #[test]
    fn empty_tables_work() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tbl");
        write(&path, &[]);
        let t = Table::open(&path).unwrap();
        assert!(t.is_empty() && t.get(b"a").unwrap().is_none() && t.keys().next().is_none());
    }

    #[test]
    fn unsorted_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let mut w = TableWriter::create(&dir.path().join("t.tbl"), BLOCK_BYTES).unwrap();
        w.add(b"b", b"1").unwrap();
        assert!(matches!(
            w.add(b"a", b"2"),
            Err(TableError::Unsorted { .. })
        ));
        assert!(matches!(
            w.add(b"b", b"2"),
            Err(TableError::Unsorted { .. })
        ));
    }

    #[test]
    fn truncated_and_damaged_files_are_named_errors() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.tbl");
        let entries: Vec<(Vec<u8>, Vec<u8>)> = (0..5_000u32)
            .map(|i| (format!("k{i:06}").into_bytes(), vec![b'v'; 50]))
            .collect();
        write(&path, &entries);
        let bytes = std::fs::read(&path).unwrap();

        std::fs::write(&path, &bytes[..bytes.len() - 3]).unwrap();
        let err = Table::open(&path).err().unwrap();
        assert!(matches!(err, TableError::Format { .. }), "{err}");
        assert!(err.to_string().contains("t.tbl"), "{err}");

        let mut damaged = bytes.clone();
        damaged[20] ^= 0xff;
        std::fs::write(&path, &damaged).unwrap();
        let t = Table::open(&path).unwrap();
        let err = t.get(b"k000001").unwrap_err();
        assert!(
            matches!(err, TableError::Corrupt { offset: 0, .. }),
            "{err}"
        );
    }
}
