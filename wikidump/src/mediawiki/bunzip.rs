//! A bzip2 decoder for the multistream path, faster than libbz2 where ingest spends its
//! decode time: undoing the Burrows–Wheeler transform.
//!
//! libbz2 recovers a block by following one chain of up to 900 K dependent loads through
//! a 3.6 MB table; each load waits for the one before (`perf` puts ~90 % of its
//! block-output time on that one instruction). Here the chain is cut into pieces that
//! are walked side by side ([`Walk`]), so a dozen loads are in flight at once, and
//! Huffman symbols are read through a lookup table instead of bit by bit. On one core
//! this decodes a dump ~1.8x as fast as libbz2 (BENCHMARKS, "Scale, eighth step").
//!
//! Every block's CRC and each stream's combined CRC are checked. A stream this decoder
//! does not handle (randomised blocks, written only by bzip2 before 0.9.5) or finds
//! wrong in any way is [`Rejected`]; the caller then decodes that stream with libbz2, so
//! a corrupt dump is reported exactly as before and no bad byte gets through.

use std::cell::RefCell;

/// Why a stream was not decoded here (the caller falls back to libbz2).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Rejected(pub &'static str);

type Res<T> = Result<T, Rejected>;

const BLOCK_MAGIC: u64 = 0x3141_5926_5359;
const END_MAGIC: u64 = 0x1772_4538_5090;
/// Symbols per Huffman group selector.
const GROUP_SIZE: usize = 50;
const MAX_GROUPS: usize = 6;
const MAX_CODE_LEN: u32 = 20;
/// Symbols: RUNA, RUNB, up to 255 move-to-front indexes, end of block.
const MAX_ALPHA: usize = 258;
/// Codes up to this long are decoded by one table lookup (most are: bzip2's are short).
const LOOKUP_BITS: u32 = 12;

/// Decodes every bzip2 stream in `data` (normally one), appending the output to `out`.
/// On `Err`, `out` may hold part of the output; the caller discards it.
pub(crate) fn decode(data: &[u8], out: &mut Vec<u8>) -> Res<()> {
    SCRATCH.with_borrow_mut(|scratch| {
        let mut bits = Bits::new(data);
        let mut streams = 0;
        while streams == 0 || !bits.at_end() {
            decode_stream(&mut bits, scratch, out)?;
            streams += 1;
        }
        Ok(())
    })
}

/// Buffers reused across the blocks a thread decodes (a block needs ~6 MB of them).
#[derive(Default)]
struct Scratch {
    /// The block's last column (the transform's output), after Huffman, MTF and run decoding.
    last: Vec<u8>,
    /// Successor table: `fwd[LF(i)] = i << 8 | last[i]`.
    fwd: Vec<u32>,
    walk: Walk,
    /// The block before its initial run-length coding is undone.
    text: Vec<u8>,
}

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::default());
}

fn decode_stream(bits: &mut Bits, scratch: &mut Scratch, out: &mut Vec<u8>) -> Res<()> {
    if bits.read(24)? != u32::from_be_bytes([0, b'B', b'Z', b'h']) {
        return Err(Rejected("no stream header"));
    }
    let level = bits.read(8)?;
    if !(u32::from(b'1')..=u32::from(b'9')).contains(&level) {
        return Err(Rejected("bad block size"));
    }
    let max_block = (level - u32::from(b'0')) as usize * 100_000;
    let mut combined: u32 = 0;
    loop {
        let magic = u64::from(bits.read(24)?) << 24 | u64::from(bits.read(24)?);
        let crc = bits.read(32)?;
        match magic {
            BLOCK_MAGIC => {
                let start = out.len();
                decode_block(bits, scratch, max_block, out)?;
                if crc32(&out[start..]) != crc {
                    return Err(Rejected("block CRC mismatch"));
                }
                combined = combined.rotate_left(1) ^ crc;
            }
            END_MAGIC => {
                if crc != combined {
                    return Err(Rejected("stream CRC mismatch"));
                }
                bits.align();
                return Ok(());
            }
            _ => return Err(Rejected("bad block magic")),
        }
    }
}

/// One block, from its randomised bit to its end-of-block symbol; the text goes to `out`.
fn decode_block(bits: &mut Bits, s: &mut Scratch, max_block: usize, out: &mut Vec<u8>) -> Res<()> {
    if bits.read(1)? != 0 {
        return Err(Rejected("randomised block"));
    }
    let orig = bits.read(24)? as usize;

    // The bytes the block uses, in order: move-to-front indexes refer to this list.
    let mut alphabet = [0u8; 256];
    let mut in_use = 0;
    let ranges = bits.read(16)?;
    for hi in 0..16 {
        if ranges & (0x8000 >> hi) != 0 {
            let used = bits.read(16)?;
            for lo in 0..16 {
                if used & (0x8000 >> lo) != 0 {
                    alphabet[in_use] = (hi * 16 + lo) as u8;
                    in_use += 1;
                }
            }
        }
    }
    if in_use == 0 {
        return Err(Rejected("block uses no bytes"));
    }
    let alpha_size = in_use + 2;

    let groups = bits.read(3)? as usize;
    if !(2..=MAX_GROUPS).contains(&groups) {
        return Err(Rejected("bad Huffman group count"));
    }
    let selector_count = bits.read(15)? as usize;
    if selector_count == 0 {
        return Err(Rejected("no selectors"));
    }
    let mut order: [u8; MAX_GROUPS] = [0, 1, 2, 3, 4, 5];
    let mut selectors = Vec::with_capacity(selector_count);
    for _ in 0..selector_count {
        let mut j = 0;
        while bits.read(1)? == 1 {
            j += 1;
            if j >= groups {
                return Err(Rejected("bad selector"));
            }
        }
        let g = order[j];
        order.copy_within(0..j, 1);
        order[0] = g;
        selectors.push(g);
    }

    let mut tables = Vec::with_capacity(groups);
    for _ in 0..groups {
        let mut lengths = [0u8; MAX_ALPHA];
        let mut len = bits.read(5)?;
        for slot in lengths.iter_mut().take(alpha_size) {
            loop {
                if !(1..=MAX_CODE_LEN).contains(&len) {
                    return Err(Rejected("bad code length"));
                }
                if bits.read(1)? == 0 {
                    break;
                }
                if bits.read(1)? == 0 {
                    len += 1;
                } else {
                    len -= 1;
                }
            }
            *slot = len as u8;
        }
        tables.push(Huffman::new(&lengths[..alpha_size])?);
    }

    // Symbols: move-to-front indexes, with runs of index 0 written in bijective base 2
    // (RUNA = 1, RUNB = 2 at each power).
    let end_of_block = (in_use + 1) as u16;
    let last = &mut s.last;
    last.clear();
    let mut freq = [0u32; 256];
    let mut mtf = alphabet;
    let mut run = 0usize;
    let mut run_weight = 1usize;
    let mut selector = 0;
    let mut left = 0;
    let mut table = &tables[0];
    loop {
        if left == 0 {
            let g = *selectors
                .get(selector)
                .ok_or(Rejected("ran out of selectors"))?;
            table = &tables[usize::from(g)];
            selector += 1;
            left = GROUP_SIZE;
        }
        left -= 1;
        let sym = table.decode(bits)?;
        if sym <= 1 {
            run += run_weight << sym;
            run_weight <<= 1;
            if run > max_block {
                return Err(Rejected("run longer than the block"));
            }
            continue;
        }
        if run > 0 {
            if last.len() + run > max_block {
                return Err(Rejected("block longer than its size"));
            }
            let byte = mtf[0];
            last.resize(last.len() + run, byte);
            freq[usize::from(byte)] += run as u32;
            run = 0;
            run_weight = 1;
        }
        if sym == end_of_block {
            break;
        }
        let index = usize::from(sym - 1);
        if index >= in_use || last.len() >= max_block {
            return Err(Rejected("bad symbol"));
        }
        let byte = mtf[index];
        mtf.copy_within(0..index, 1);
        mtf[0] = byte;
        last.push(byte);
        freq[usize::from(byte)] += 1;
    }
    let n = last.len();
    if orig >= n {
        return Err(Rejected("origin pointer past the block"));
    }

    // The successor table: row i's last byte c is the first byte of row LF(i) = cftab[c]++.
    let mut cftab = [0u32; 256];
    let mut sum = 0;
    for (c, f) in cftab.iter_mut().zip(freq) {
        *c = sum;
        sum += f;
    }
    s.fwd.clear();
    s.fwd.resize(n, 0);
    for (i, &c) in last.iter().enumerate() {
        let slot = &mut cftab[usize::from(c)];
        let j = *slot;
        *slot += 1;
        s.fwd[j as usize] = (i as u32) << 8 | u32::from(c);
    }
    if s.walk.run(&s.fwd, orig, &mut s.text).is_err() {
        // A periodic block (the text is one string repeated) has one cycle per
        // repetition: walk n steps of the origin's, as libbz2 does.
        walk_one_chain(&s.fwd, orig, &mut s.text);
    }
    undo_initial_runs(&s.text, out);
    Ok(())
}

/// Chains walked at once: enough independent loads in flight to cover a load's latency.
const LANES: usize = 12;
/// Chains a block is cut into: more than [`LANES`], so that lanes stay busy while the
/// last, randomly long, chains finish.
const CHAINS: usize = 96;

/// Undoes the Burrows–Wheeler transform with [`LANES`] independent chains of loads.
///
/// The successor table is one cycle through all rows; following it from the origin row
/// yields the text. Cut the cycle at [`CHAINS`] rows (the origin and evenly spaced
/// others): the walk from each cut row up to the next yields one piece of the text,
/// independent of the others, so the pieces are walked side by side. Where each piece
/// ends says which piece follows it; starting from the origin's, that order puts them
/// back together. A table that is not one cycle is rejected: a piece running past the
/// block's length, or pieces that do not chain up into all of them. That is corrupt
/// data, or a periodic block, which the caller walks as one chain.
#[derive(Default)]
struct Walk {
    /// One bit per row: is a piece's first row.
    cuts: Vec<u64>,
    /// (first row, piece), sorted by row: which piece a cut row starts.
    starts: Vec<(u32, u32)>,
    /// Per piece: (lane, start, end) of its bytes in `lanes`' buffers, and the piece after it.
    pieces: Vec<((usize, usize, usize), u32)>,
    /// Each lane's output, its pieces one after another.
    lanes: [Vec<u8>; LANES],
}

/// A lane's current piece and the row it is at.
#[derive(Clone, Copy)]
struct Active {
    piece: usize,
    row: usize,
    from: usize,
}

impl Walk {
    fn run(&mut self, fwd: &[u32], origin: usize, text: &mut Vec<u8>) -> Res<()> {
        let n = fwd.len();
        let chains = CHAINS.min(n);
        self.starts.clear();
        self.starts.push((origin as u32, 0));
        for k in 1..chains {
            let row = k * n / chains;
            if row != origin {
                self.starts.push((row as u32, self.starts.len() as u32));
            }
        }
        let pieces = self.starts.len();
        self.cuts.clear();
        self.cuts.resize(n / 64 + 1, 0);
        for &(row, _) in &self.starts {
            self.cuts[row as usize / 64] |= 1 << (row % 64);
        }
        self.pieces.clear();
        self.pieces.resize(pieces, ((0, 0, 0), u32::MAX));
        for lane in &mut self.lanes {
            lane.clear();
        }
        // The pieces' first rows, in piece order (`starts` is sorted by row for lookups).
        let first_rows: Vec<u32> = self.starts.iter().map(|&(row, _)| row).collect();
        self.starts.sort_unstable();
        let mut next = 0;
        let mut take_next = |from: usize| {
            (next < pieces).then(|| {
                next += 1;
                Active {
                    piece: next - 1,
                    row: first_rows[next - 1] as usize,
                    from,
                }
            })
        };
        let mut lanes: [Option<Active>; LANES] = std::array::from_fn(|_| take_next(0));
        let mut walked = 0usize;
        loop {
            let mut busy = false;
            for (i, slot) in lanes.iter_mut().enumerate() {
                let Some(active) = slot else { continue };
                busy = true;
                let x = fwd[active.row];
                self.lanes[i].push(x as u8);
                walked += 1;
                active.row = (x >> 8) as usize;
                if self.cuts[active.row / 64] >> (active.row % 64) & 1 == 0 {
                    continue;
                }
                // The piece ends where another begins.
                let at = self
                    .starts
                    .binary_search_by_key(&(active.row as u32), |&(row, _)| row)
                    .map_err(|_| Rejected("walk reached an unknown cut"))?;
                let end = self.lanes[i].len();
                self.pieces[active.piece] = ((i, active.from, end), self.starts[at].1);
                *slot = take_next(end);
            }
            if !busy {
                break;
            }
            if walked > n {
                return Err(Rejected("successor table is not one cycle"));
            }
        }
        text.clear();
        let mut piece = 0u32;
        for _ in 0..pieces {
            let ((lane, from, end), after) = self.pieces[piece as usize];
            text.extend_from_slice(&self.lanes[lane][from..end]);
            piece = after;
        }
        if piece != 0 || text.len() != n {
            return Err(Rejected("successor table is not one cycle"));
        }
        Ok(())
    }
}

/// The text from following the successor table `n` steps from the origin.
fn walk_one_chain(fwd: &[u32], origin: usize, text: &mut Vec<u8>) {
    text.clear();
    let mut row = origin;
    for _ in 0..fwd.len() {
        let x = fwd[row];
        text.push(x as u8);
        row = (x >> 8) as usize;
    }
}

/// The first stage of bzip2 wrote 4 equal bytes then a count (0–255) of further copies;
/// counting starts again after each count byte.
fn undo_initial_runs(text: &[u8], out: &mut Vec<u8>) {
    let mut from = 0;
    let mut j = 3;
    while j < text.len() {
        let b = text[j];
        if text[j - 1] != b || text[j - 2] != b || text[j - 3] != b {
            j += 1;
            continue;
        }
        out.extend_from_slice(&text[from..=j]);
        match text.get(j + 1) {
            Some(&count) => out.resize(out.len() + usize::from(count), b),
            None => return,
        }
        from = j + 2;
        j = from + 3;
    }
    if from < text.len() {
        out.extend_from_slice(&text[from..]);
    }
}

/// A canonical Huffman code as bzip2 assigns it: shorter codes first, ties by symbol.
struct Huffman {
    /// For each `LOOKUP_BITS`-bit prefix: `symbol << 5 | length`, or 0 when the code is longer.
    lookup: Vec<u16>,
    /// Longer codes: per length, the first code, how many, and where they start in `sorted`.
    first: [u32; MAX_CODE_LEN as usize + 1],
    count: [u32; MAX_CODE_LEN as usize + 1],
    start: [u32; MAX_CODE_LEN as usize + 1],
    sorted: Vec<u16>,
    max_len: u32,
}

impl Huffman {
    fn new(lengths: &[u8]) -> Res<Huffman> {
        let mut count = [0u32; MAX_CODE_LEN as usize + 1];
        for &l in lengths {
            count[usize::from(l)] += 1;
        }
        let mut first = [0u32; MAX_CODE_LEN as usize + 1];
        let mut start = [0u32; MAX_CODE_LEN as usize + 1];
        let (mut code, mut index) = (0u32, 0u32);
        let mut max_len = 0;
        for len in 1..=MAX_CODE_LEN as usize {
            first[len] = code;
            start[len] = index;
            if code + count[len] > 1 << len {
                return Err(Rejected("over-subscribed Huffman code"));
            }
            if count[len] > 0 {
                max_len = len as u32;
            }
            code = (code + count[len]) << 1;
            index += count[len];
        }
        let mut sorted = Vec::with_capacity(lengths.len());
        for len in 1..=MAX_CODE_LEN as u8 {
            for (sym, _) in lengths.iter().enumerate().filter(|(_, &l)| l == len) {
                sorted.push(sym as u16);
            }
        }
        let mut lookup = vec![0u16; 1 << LOOKUP_BITS];
        for len in 1..=LOOKUP_BITS.min(max_len) {
            let l = len as usize;
            for k in 0..count[l] {
                let sym = sorted[(start[l] + k) as usize];
                let code = first[l] + k;
                let shift = LOOKUP_BITS - len;
                let entry = sym << 5 | len as u16;
                for slot in &mut lookup[(code << shift) as usize..((code + 1) << shift) as usize] {
                    *slot = entry;
                }
            }
        }
        Ok(Huffman {
            lookup,
            first,
            count,
            start,
            sorted,
            max_len,
        })
    }

    fn decode(&self, bits: &mut Bits) -> Res<u16> {
        bits.fill(MAX_CODE_LEN)?;
        let entry = self.lookup[bits.peek(LOOKUP_BITS) as usize];
        if entry != 0 {
            bits.consume(u32::from(entry & 31));
            return Ok(entry >> 5);
        }
        let window_bits = self.max_len.max(LOOKUP_BITS + 1);
        let window = bits.peek(window_bits);
        for len in LOOKUP_BITS + 1..=self.max_len {
            let code = window >> (window_bits - len);
            let l = len as usize;
            if code >= self.first[l] && code - self.first[l] < self.count[l] {
                bits.consume(len);
                return Ok(self.sorted[(self.start[l] + code - self.first[l]) as usize]);
            }
        }
        Err(Rejected("bad Huffman code"))
    }
}

/// Big-endian bit reader. Past the end of the data it reads zeros, and fails once more
/// than a few bytes of them have been consumed.
struct Bits<'a> {
    data: &'a [u8],
    /// Next byte to load into `buf`.
    pos: usize,
    /// Unconsumed bits at the top; the next one is bit 63.
    buf: u64,
    /// How many of `buf`'s bits are loaded.
    have: u32,
}

impl<'a> Bits<'a> {
    fn new(data: &'a [u8]) -> Self {
        Bits {
            data,
            pos: 0,
            buf: 0,
            have: 0,
        }
    }

    /// Makes at least `n` (≤ 56) bits available.
    #[inline]
    fn fill(&mut self, n: u32) -> Res<()> {
        if self.have >= n {
            return Ok(());
        }
        if let Some(word) = self.data.get(self.pos..self.pos + 8) {
            let word = u64::from_be_bytes(word.try_into().unwrap_or_default());
            // Bits below `have` that are already loaded get OR-ed with their own values.
            self.buf |= word >> self.have;
            let bytes = (63 - self.have) / 8;
            self.pos += bytes as usize;
            self.have += bytes * 8;
            return Ok(());
        }
        while self.have <= 56 {
            let byte = self.data.get(self.pos).copied().unwrap_or(0);
            self.buf |= u64::from(byte) << (56 - self.have);
            self.pos += 1;
            self.have += 8;
        }
        if self.pos > self.data.len() + 8 {
            return Err(Rejected("truncated"));
        }
        Ok(())
    }

    #[inline]
    fn peek(&self, n: u32) -> u32 {
        (self.buf >> (64 - n)) as u32
    }

    #[inline]
    fn consume(&mut self, n: u32) {
        self.buf <<= n;
        self.have -= n;
    }

    fn read(&mut self, n: u32) -> Res<u32> {
        self.fill(n)?;
        let v = self.peek(n);
        self.consume(n);
        if self.consumed_bits() > self.data.len() as u64 * 8 {
            return Err(Rejected("truncated"));
        }
        Ok(v)
    }

    fn consumed_bits(&self) -> u64 {
        self.pos as u64 * 8 - u64::from(self.have)
    }

    /// Skips to the next byte boundary (streams start on one).
    fn align(&mut self) {
        self.consume(self.have % 8);
    }

    fn at_end(&self) -> bool {
        self.consumed_bits() >= self.data.len() as u64 * 8
    }
}

/// bzip2's CRC-32: polynomial 0x04C11DB7, most significant bit first.
fn crc32(bytes: &[u8]) -> u32 {
    let t = &CRC_TABLES;
    let mut crc = !0u32;
    let mut words = bytes.chunks_exact(8);
    for w in &mut words {
        let a = crc ^ u32::from_be_bytes([w[0], w[1], w[2], w[3]]);
        let b = u32::from_be_bytes([w[4], w[5], w[6], w[7]]);
        crc = t[7][(a >> 24) as usize]
            ^ t[6][(a >> 16 & 0xff) as usize]
            ^ t[5][(a >> 8 & 0xff) as usize]
            ^ t[4][(a & 0xff) as usize]
            ^ t[3][(b >> 24) as usize]
            ^ t[2][(b >> 16 & 0xff) as usize]
            ^ t[1][(b >> 8 & 0xff) as usize]
            ^ t[0][(b & 0xff) as usize];
    }
    for &byte in words.remainder() {
        crc = crc << 8 ^ t[0][((crc >> 24) as u8 ^ byte) as usize];
    }
    !crc
}

/// `CRC_TABLES[k][b]`: the CRC register's change for byte `b` followed by `k` zero bytes
/// (slicing by 8).
static CRC_TABLES: [[u32; 256]; 8] = crc_tables();

const fn crc_tables() -> [[u32; 256]; 8] {
    let mut t = [[0u32; 256]; 8];
    let mut i = 0;
    while i < 256 {
        let mut c = (i as u32) << 24;
        let mut bit = 0;
        while bit < 8 {
            c = if c & 0x8000_0000 != 0 {
                c << 1 ^ 0x04C1_1DB7
            } else {
                c << 1
            };
            bit += 1;
        }
        t[0][i] = c;
        i += 1;
    }
    let mut k = 1;
    while k < 8 {
        let mut i = 0;
        while i < 256 {
            let prev = t[k - 1][i];
            t[k][i] = prev << 8 ^ t[0][(prev >> 24) as usize];
            i += 1;
        }
        k += 1;
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};

    fn compress(data: &[u8], level: u32) -> Vec<u8> {
        let mut enc = bzip2::write::BzEncoder::new(Vec::new(), bzip2::Compression::new(level));
        enc.write_all(data).unwrap();
        enc.finish().unwrap()
    }

    fn libbz2(data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        bzip2::read::MultiBzDecoder::new(data)
            .read_to_end(&mut out)
            .unwrap();
        out
    }

    fn ours(data: &[u8]) -> Res<Vec<u8>> {
        let mut out = Vec::new();
        decode(data, &mut out).map(|()| out)
    }

    /// A deterministic byte generator (xorshift), so the tests need no RNG crate.
    fn noise(n: usize, seed: u64, alphabet: u8) -> Vec<u8> {
        let mut x = seed | 1;
        (0..n)
            .map(|_| {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x % u64::from(alphabet)) as u8
            })
            .collect()
    }

    fn cases() -> Vec<(String, Vec<u8>)> {
        let text = b"The quick brown fox jumps over the lazy dog. ".repeat(5_000);
        let mut runs = Vec::new();
        for len in [1usize, 3, 4, 5, 8, 255, 258, 259, 260, 1000, 70_000] {
            runs.extend(std::iter::repeat_n(b'x', len));
            runs.push(b'y');
            runs.extend(std::iter::repeat_n(b'y', len));
        }
        vec![
            ("one byte".into(), b"a".to_vec()),
            ("four equal bytes at the end".into(), b"abcdddd".to_vec()),
            ("all byte values".into(), (0..=255u8).collect()),
            ("text".into(), text),
            ("runs".into(), runs),
            ("noise, 256 values".into(), noise(300_000, 7, 255)),
            ("noise, 3 values".into(), noise(300_000, 11, 3)),
            ("zeros".into(), vec![0; 2_000_000]),
            // One string repeated: the successor table is one cycle per repetition.
            ("periodic".into(), b"ab".repeat(40_000)),
            ("periodic, odd period".into(), b"abcabcabd".repeat(30_000)),
        ]
    }

    #[test]
    fn decodes_what_libbz2_decodes() {
        for (name, data) in cases() {
            for level in [1, 9] {
                let packed = compress(&data, level);
                assert_eq!(
                    ours(&packed).as_deref(),
                    Ok(&data[..]),
                    "{name}, level {level}"
                );
            }
        }
    }

    #[test]
    fn decodes_concatenated_streams_and_several_blocks() {
        let a = noise(250_000, 3, 20);
        let b = b"second stream ".repeat(10_000);
        let mut packed = compress(&a, 1);
        packed.extend(compress(&b, 1));
        let expected = [a, b].concat();
        assert_eq!(libbz2(&packed), expected);
        assert_eq!(ours(&packed), Ok(expected));
    }

    #[test]
    fn damaged_streams_are_rejected_never_decoded_wrong() {
        let data = b"Some wikitext, with [[links]] and {{templates}}. ".repeat(200);
        let packed = compress(&data, 9);
        for cut in 0..packed.len() {
            assert!(ours(&packed[..cut]).is_err(), "truncated at {cut}");
        }
        for at in (0..packed.len() * 8).step_by(7) {
            let mut bad = packed.clone();
            bad[at / 8] ^= 1 << (at % 8);
            if let Ok(out) = ours(&bad) {
                assert_eq!(out, data, "bit {at} flipped");
            }
        }
        assert_eq!(ours(b""), Err(Rejected("truncated")));
        let mut trailing = packed.clone();
        trailing.extend_from_slice(b"junk");
        assert!(ours(&trailing).is_err());
    }

    #[test]
    fn crc_by_eight_matches_byte_at_a_time() {
        let data = noise(10_001, 5, 255);
        for end in [0, 1, 7, 8, 9, 100, 10_001] {
            let mut crc = !0u32;
            for &b in &data[..end] {
                crc = crc << 8 ^ CRC_TABLES[0][((crc >> 24) as u8 ^ b) as usize];
            }
            assert_eq!(crc32(&data[..end]), !crc, "{end} bytes");
        }
    }

    #[test]
    fn the_sample_dumps_decode_here_not_in_the_fallback() {
        let dir = simweb_testkit::samples();
        let mut checked = 0;
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            if path.extension().is_some_and(|e| e == "bz2") {
                let packed = std::fs::read(&path).unwrap();
                assert_eq!(ours(&packed), Ok(libbz2(&packed)), "{}", path.display());
                checked += 1;
            }
        }
        assert!(checked >= 2, "no .bz2 samples in {}", dir.display());
    }
}

/// Single-thread speed against libbz2 on a whole multistream dump (BENCHMARKS, "Scale,
/// eighth step"): `BUNZIP_FILE=<dump.xml.bz2> cargo test --release -p simweb-wikidump
/// --lib speed_against_libbz2 -- --ignored --nocapture`.
#[cfg(test)]
mod speed {
    use std::io::Read;
    use std::time::Instant;

    #[test]
    #[ignore = "a benchmark: needs BUNZIP_FILE and a release build"]
    fn speed_against_libbz2() {
        let path = std::env::var("BUNZIP_FILE").expect("BUNZIP_FILE names a .bz2 file");
        let data = std::fs::read(&path).expect("BUNZIP_FILE is readable");
        for round in 1..=3 {
            let t = Instant::now();
            let mut ours = Vec::new();
            super::decode(&data, &mut ours).expect("decodes here, not in the fallback");
            let ours_s = t.elapsed().as_secs_f64();
            let t = Instant::now();
            let mut theirs = Vec::new();
            bzip2::read::MultiBzDecoder::new(&data[..])
                .read_to_end(&mut theirs)
                .expect("libbz2 decodes it");
            let theirs_s = t.elapsed().as_secs_f64();
            assert!(ours == theirs, "outputs differ");
            eprintln!(
                "round {round}: bunzip {ours_s:.3} s, libbz2 {theirs_s:.3} s ({:.2}x), {} MB out",
                theirs_s / ours_s,
                ours.len() >> 20
            );
        }
    }
}
