//! A map built by appending, in bounded memory: the ingest's title, URL and redirect
//! maps at any corpus size.
//!
//! Entries are buffered up to a byte budget, then sorted by key (stably, so that among
//! equal keys the earliest stays first) and written to a run file in the build dir.
//! [`SpillMap::drain_into`] merges the runs, keeping the first entry for every key: the
//! earliest run wins a tie, which is the earliest entry. Memory is the budget plus one
//! buffered reader per run, whatever the input size; disk is about the entries' size.
//! (It replaces a sled tree whose page table and cache grew with the corpus.)

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::fs::File;
use std::io::{BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

use crate::table::{TableError, TableWriter};

/// Appends entries; drains them into a sorted table with the first entry for each key.
pub struct SpillMap {
    dir: PathBuf,
    name: String,
    /// Keys and values of the buffered entries, back to back.
    bytes: Vec<u8>,
    /// (offset into `bytes`, key length, value length) of each buffered entry.
    entries: Vec<(usize, u32, u32)>,
    budget: usize,
    runs: Vec<PathBuf>,
    /// Entries dropped so far because an earlier one had the same key.
    duplicates: u64,
}

impl SpillMap {
    /// A map whose runs go to `dir/{name}.{n}.run`, buffering about `budget` bytes.
    pub fn new(dir: &Path, name: &str, budget: usize) -> SpillMap {
        SpillMap {
            dir: dir.to_path_buf(),
            name: name.to_string(),
            bytes: Vec::new(),
            entries: Vec::new(),
            budget,
            runs: Vec::new(),
            duplicates: 0,
        }
    }

    pub fn push(&mut self, key: &[u8], value: &[u8]) -> Result<(), TableError> {
        let too_large = || TableError::Format {
            path: self.dir.join(&self.name),
            reason: format!("an entry of {} bytes is too large", key.len() + value.len()),
        };
        let klen = u32::try_from(key.len()).map_err(|_| too_large())?;
        let vlen = u32::try_from(value.len()).map_err(|_| too_large())?;
        self.entries.push((self.bytes.len(), klen, vlen));
        self.bytes.extend_from_slice(key);
        self.bytes.extend_from_slice(value);
        if self.bytes.len() + self.entries.len() * 16 >= self.budget {
            self.spill()?;
        }
        Ok(())
    }

    fn key(&self, e: &(usize, u32, u32)) -> &[u8] {
        &self.bytes[e.0..e.0 + e.1 as usize]
    }

    /// Writes the buffer as one sorted run without duplicate keys.
    fn spill(&mut self) -> Result<(), TableError> {
        if self.entries.is_empty() {
            return Ok(());
        }
        let mut entries = std::mem::take(&mut self.entries);
        // Stable: among equal keys the earliest entry stays first and is the one kept.
        entries.sort_by(|a, b| self.key(a).cmp(self.key(b)));
        let path = self
            .dir
            .join(format!("{}.{}.run", self.name, self.runs.len()));
        let io = |source| TableError::Io {
            path: path.clone(),
            source,
        };
        let mut out = BufWriter::with_capacity(1 << 16, File::create(&path).map_err(io)?);
        let mut last: Option<&[u8]> = None;
        let mut dropped = 0;
        for e in &entries {
            let key = self.key(e);
            if last == Some(key) {
                dropped += 1;
                continue;
            }
            last = Some(key);
            let value = &self.bytes[e.0 + e.1 as usize..e.0 + e.1 as usize + e.2 as usize];
            out.write_all(&e.1.to_le_bytes()).map_err(io)?;
            out.write_all(&e.2.to_le_bytes()).map_err(io)?;
            out.write_all(key).map_err(io)?;
            out.write_all(value).map_err(io)?;
        }
        out.flush().map_err(io)?;
        self.duplicates += dropped;
        self.runs.push(path);
        self.bytes.clear();
        entries.clear();
        self.entries = entries;
        Ok(())
    }

    /// Merges every run into `table` in key order, the first entry for each key only,
    /// and deletes the runs. Returns the number of entries written.
    pub fn drain_into(self, table: &mut TableWriter) -> Result<u64, TableError> {
        self.drain(|key, value| table.add(key, value))
            .map(|drained| drained.written)
    }

    /// Hands every key, in order, with its first value to `sink`, and deletes the runs.
    pub fn drain(
        mut self,
        mut sink: impl FnMut(&[u8], &[u8]) -> Result<(), TableError>,
    ) -> Result<Drained, TableError> {
        self.spill()?;
        self.bytes = Vec::new();
        let mut runs = self
            .runs
            .iter()
            .map(|p| Run::open(p))
            .collect::<Result<Vec<_>, _>>()?;
        // Heads of the runs ordered by (key, run): equal keys pop in run order, so the
        // earliest entry comes first (the value must not take part in the order).
        let mut heads = BinaryHeap::new();
        for (i, run) in runs.iter_mut().enumerate() {
            if let Some((key, value)) = run.next()? {
                heads.push(Reverse((key, i, value)));
            }
        }
        let mut last: Option<Vec<u8>> = None;
        let mut written = 0;
        while let Some(Reverse((key, i, value))) = heads.pop() {
            if last.as_deref() != Some(&key[..]) {
                sink(&key, &value)?;
                written += 1;
                last = Some(key);
            } else {
                self.duplicates += 1;
            }
            if let Some((key, value)) = runs[i].next()? {
                heads.push(Reverse((key, i, value)));
            }
        }
        for path in &self.runs {
            std::fs::remove_file(path).map_err(|source| TableError::Io {
                path: path.clone(),
                source,
            })?;
        }
        Ok(Drained {
            written,
            duplicates: self.duplicates,
        })
    }
}

/// What [`SpillMap::drain`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Drained {
    /// Keys handed to the sink.
    pub written: u64,
    /// Entries dropped because an earlier entry had their key.
    pub duplicates: u64,
}

/// One run being merged.
struct Run {
    path: PathBuf,
    input: BufReader<File>,
}

impl Run {
    fn open(path: &Path) -> Result<Run, TableError> {
        let file = File::open(path).map_err(|source| TableError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Ok(Run {
            path: path.to_path_buf(),
            input: BufReader::with_capacity(1 << 16, file),
        })
    }

    /// The next (key, value), or `None` at the end of the run.
    #[allow(clippy::type_complexity)]
    fn next(&mut self) -> Result<Option<(Vec<u8>, Vec<u8>)>, TableError> {
        let io = |source| TableError::Io {
            path: self.path.clone(),
            source,
        };
        let mut lens = [0u8; 8];
        match self.input.read_exact(&mut lens) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
            Err(e) => return Err(io(e)),
        }
        let klen = u32::from_le_bytes([lens[0], lens[1], lens[2], lens[3]]) as usize;
        let vlen = u32::from_le_bytes([lens[4], lens[5], lens[6], lens[7]]) as usize;
        let mut key = vec![0; klen];
        let mut value = vec![0; vlen];
        self.input.read_exact(&mut key).map_err(io)?;
        self.input.read_exact(&mut value).map_err(io)?;
        Ok(Some((key, value)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::table::Table;

    /// Many runs, duplicate keys across and within runs: the first entry wins and the
    /// table is sorted.
    #[test]
    fn first_entry_wins_across_runs() {
        let dir = tempfile::tempdir().unwrap();
        let mut map = SpillMap::new(dir.path(), "m", 64);
        let mut expected = std::collections::BTreeMap::new();
        for i in 0..500u32 {
            let key = format!("k{:03}", (i * 7) % 97);
            let value = format!("v{i}");
            expected.entry(key.clone()).or_insert(value.clone());
            map.push(key.as_bytes(), value.as_bytes()).unwrap();
        }
        assert!(map.runs.len() > 10, "the budget forces many runs");
        let path = dir.path().join("m.tbl");
        let mut writer = TableWriter::create(&path, 256).unwrap();
        assert_eq!(map.drain_into(&mut writer).unwrap(), 97);
        writer.finish().unwrap();
        let table = Table::open(&path).unwrap();
        for (k, v) in &expected {
            assert_eq!(
                table.get(k.as_bytes()).unwrap().as_deref(),
                Some(v.as_bytes())
            );
        }
        let runs_left = std::fs::read_dir(dir.path())
            .unwrap()
            .filter(|e| e.as_ref().unwrap().path().extension() == Some("run".as_ref()))
            .count();
        assert_eq!(runs_left, 0);
    }
}
