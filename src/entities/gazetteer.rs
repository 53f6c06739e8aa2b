//! Name lists (countries, US states, cities, demonyms, regions, organisations, titles, first
//! names) loaded from `models/gazetteer/*.txt`.
//!
//! They serve three purposes: features for the tagger ("this token is inside a known city
//! name"), the split of the CoNLL types into OntoNotes ones (LOC -> GPE/LOC, MISC -> NORP/MISC),
//! and titles kept off person names ("Ukrainian President"). Phrases are stored as a hash of
//! their lower-cased tokens, so lookups over a token stream never allocate.

use std::collections::HashMap;
use std::path::Path;

use super::tokenize::{normalize_token, tokenize};

/// Category bits of a gazetteer entry.
pub mod cat {
    /// Sovereign countries and common short forms.
    pub const COUNTRY: u16 = 1 << 0;
    /// US states.
    pub const STATE: u16 = 1 << 1;
    /// Major cities, capitals.
    pub const CITY: u16 = 1 << 2;
    /// Nationality and group adjectives and nouns ("Ukrainian", "Americans").
    pub const DEMONYM: u16 = 1 << 3;
    /// Continents, seas, regions: places that are not polities.
    pub const REGION: u16 = 1 << 4;
    /// Well-known organisations and acronyms.
    pub const ORG: u16 = 1 << 5;
    /// Titles and roles written before a person's name.
    pub const TITLE: u16 = 1 << 6;
    /// Common given names.
    pub const FIRSTNAME: u16 = 1 << 7;
    /// Religious and political groups ("Republicans", "Muslim").
    pub const GROUP: u16 = 1 << 8;
    /// Provinces, regions with a government (oblasts, Canadian provinces, ...).
    pub const PROVINCE: u16 = 1 << 9;
    /// Well-known people (full names and surnames).
    pub const PERSON: u16 = 1 << 10;
    /// The phrase continues: a longer entry starts with these tokens.
    pub const PREFIX: u16 = 1 << 15;
    /// Every category with its file name.
    pub const FILES: [(u16, &str); 10] = [
        (COUNTRY, "countries"),
        (STATE, "us_states"),
        (CITY, "cities"),
        (DEMONYM, "demonyms"),
        (REGION, "regions"),
        (ORG, "organizations"),
        (TITLE, "titles"),
        (FIRSTNAME, "first_names"),
        (GROUP, "groups"),
        (PROVINCE, "provinces"),
    ];
}

/// A hasher for keys that are already hashes (64-bit, or 32-bit like the story terms' keys):
/// one multiply instead of SipHash or a streaming xxh3.
#[derive(Default, Clone, Copy)]
pub struct U64Hasher(u64);

impl std::hash::Hasher for U64Hasher {
    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
    #[inline]
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ b as u64).wrapping_mul(0x9E3779B97F4A7C15);
        }
    }
    #[inline]
    fn write_u64(&mut self, i: u64) {
        self.0 = (i ^ (i >> 29)).wrapping_mul(0x9E3779B97F4A7C15);
    }
    #[inline]
    fn write_u32(&mut self, i: u32) {
        self.write_u64(i as u64);
    }
}

/// A map keyed by 64-bit hashes.
pub type HashMap64<V> = HashMap<u64, V, std::hash::BuildHasherDefault<U64Hasher>>;

/// Hash of one token's lower-cased text (FNV-1a over the UTF-8 of the lower-cased chars).
#[inline]
pub fn hash_lower(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for b in s.bytes() {
        if b < 128 {
            h ^= b.to_ascii_lowercase() as u64;
            h = h.wrapping_mul(0x100000001b3);
        } else {
            // non-ASCII: fall back to per-char lowering
            return hash_lower_slow(s);
        }
    }
    h
}

fn hash_lower_slow(s: &str) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    let mut buf = [0u8; 4];
    for c in s.chars() {
        for lc in c.to_lowercase() {
            for b in lc.encode_utf8(&mut buf).bytes() {
                h ^= b as u64;
                h = h.wrapping_mul(0x100000001b3);
            }
        }
    }
    h
}

/// Combines a phrase hash with the next token's hash.
#[inline]
pub fn combine(h: u64, t: u64) -> u64 {
    (h.rotate_left(23) ^ t).wrapping_mul(0x9E3779B97F4A7C15)
}

/// Hash of a whole phrase, token by token.
pub fn phrase_hash(tokens: impl IntoIterator<Item = u64>) -> u64 {
    let mut h = 0x1234_5678_9abc_def0u64;
    for t in tokens {
        h = combine(h, t);
    }
    h
}

/// One entry of [`ClusterTable`]: 16 bytes, four to a cache line.
#[derive(Debug, Clone, Copy, Default)]
#[repr(C)]
struct ClusterSlot {
    key: u64,
    clusters: [u16; 3],
    used: u16,
}

/// Word clusters by word hash: open addressing with linear probing in one flat table, at most
/// two thirds full and placed for huge pages. A lookup usually reads one cache line, and
/// that line can be asked for ahead of the lookup ([`ClusterTable::prefetch`]); the table has
/// about 700k words, far more than the CPU's caches hold, so most lookups of a word the
/// tagger has not seen lately wait on memory.
#[derive(Default, Clone)]
struct ClusterTable {
    slots: crate::mem::HugeTable<ClusterSlot>,
    /// Right shift taking a mixed key to its home slot.
    shift: u32,
}

impl std::fmt::Debug for ClusterTable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClusterTable").field("slots", &self.slots.len()).finish()
    }
}

impl ClusterTable {
    /// The table of `entries`; a key given twice keeps its last clusters.
    fn new(entries: &[(u64, [u16; 3])]) -> ClusterTable {
        if entries.is_empty() {
            return ClusterTable::default();
        }
        let n = (entries.len() + entries.len() / 2).next_power_of_two().max(2);
        let mut t = ClusterTable { slots: crate::mem::HugeTable::new(n, ClusterSlot::default()), shift: 64 - n.trailing_zeros() };
        let mask = n - 1;
        for &(key, clusters) in entries {
            let mut i = t.home(key);
            while t.slots[i].used != 0 && t.slots[i].key != key {
                i = (i + 1) & mask;
            }
            t.slots[i] = ClusterSlot { key, clusters, used: 1 };
        }
        t
    }

    #[inline(always)]
    fn home(&self, key: u64) -> usize {
        (key.wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    #[inline]
    fn get(&self, key: u64) -> Option<[u16; 3]> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let s = &self.slots[i];
            if s.used == 0 {
                return None;
            }
            if s.key == key {
                return Some(s.clusters);
            }
            i = (i + 1) & mask;
        }
    }

    #[inline]
    fn prefetch(&self, key: u64) {
        if !self.slots.is_empty() {
            crate::mem::prefetch(&self.slots[self.home(key)]);
        }
    }
}

/// The loaded lists.
#[derive(Debug, Default, Clone)]
pub struct Gazetteer {
    map: HashMap64<u16>,
    max_len: usize,
    /// Canonical spellings of country aliases ("u.s." -> "United States"), by phrase hash.
    canonical: HashMap64<String>,
    /// Word clusters (three granularities) by FNV hash of the exact word.
    clusters: ClusterTable,
    /// Identifies the loaded cluster table (0: none), so that caches of per-word results can
    /// tell one table from another.
    clusters_id: u64,
}

/// FNV-1a hash of the exact bytes (the tagger's `exact` hash; equals [`hash_lower`] of an
/// already lower-case ASCII word).
pub fn hash_exact(s: &str) -> u64 {
    hash_exact_bytes(s.as_bytes())
}

fn hash_exact_bytes(s: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf29ce484222325;
    for &b in s {
        h ^= b as u64;
        h = h.wrapping_mul(0x100000001b3);
    }
    h
}

/// A decimal u16 as `str::parse` reads it (an optional `+`, then ASCII digits only).
fn parse_u16(x: &[u8]) -> Option<u16> {
    let d = x.strip_prefix(b"+").unwrap_or(x);
    if d.is_empty() {
        return None;
    }
    let mut v: u16 = 0;
    for &b in d {
        if !b.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((b - b'0') as u16)?;
    }
    Some(v)
}

impl Gazetteer {
    /// Loads one list file as category `bit` (missing file: empty).
    pub fn load_one(dir: &Path, name: &str, bit: u16) -> anyhow::Result<Gazetteer> {
        let mut g = Gazetteer::default();
        let p = dir.join(format!("{name}.txt"));
        if p.exists() {
            let text = std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?;
            g.add_lines(bit, &text);
        }
        Ok(g)
    }

    /// Loads every `models/gazetteer/<name>.txt` that exists. Lines are phrases; `#` starts a
    /// comment; `a = b` declares `a` an alias of canonical `b` (both are entries).
    pub fn load(dir: &Path) -> anyhow::Result<Gazetteer> {
        let mut g = Gazetteer::default();
        for (bit, name) in cat::FILES {
            let p = dir.join(format!("{name}.txt"));
            if !p.exists() {
                continue;
            }
            let text = std::fs::read_to_string(&p).map_err(|e| anyhow::anyhow!("reading {}: {e}", p.display()))?;
            g.add_lines(bit, &text);
        }
        Ok(g)
    }

    /// Loads word clusters from a gzip-compressed `word<TAB>c1<TAB>c2<TAB>c3` file.
    pub fn load_clusters(&mut self, path: &Path) -> anyhow::Result<()> {
        use std::io::Read;
        let f = std::fs::File::open(path).map_err(|e| anyhow::anyhow!("opening {}: {e}", path.display()))?;
        let mut text = String::new();
        flate2::read::GzDecoder::new(f).read_to_string(&mut text).map_err(|e| anyhow::anyhow!("reading {}: {e}", path.display()))?;
        static NEXT_ID: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);
        self.clusters_id = NEXT_ID.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut entries: Vec<(u64, [u16; 3])> = Vec::with_capacity(text.len() / 16);
        // Byte-level splitting (memchr): the table has about 700k lines, and splitting them
        // as strings took most of the model load time.
        let bytes = text.as_bytes();
        let mut start = 0;
        while start < bytes.len() {
            let end = memchr::memchr(b'\n', &bytes[start..]).map_or(bytes.len(), |k| start + k);
            let line = &bytes[start..end];
            start = end + 1;
            let line = line.strip_suffix(b"\r").unwrap_or(line);
            if line.first() == Some(&b'#') {
                continue;
            }
            let mut it = line.split(|&b| b == b'\t');
            let (Some(w), Some(a), Some(b), Some(c)) = (it.next(), it.next(), it.next(), it.next()) else { continue };
            let p = |x: &[u8]| parse_u16(x).unwrap_or(u16::MAX);
            entries.push((hash_exact_bytes(w), [p(a), p(b), p(c)]));
        }
        self.clusters = ClusterTable::new(&entries);
        Ok(())
    }

    /// Identifies the cluster table: equal for two gazetteers only when their tables are
    /// equal (0 when there is none).
    pub fn clusters_id(&self) -> u64 {
        self.clusters_id
    }

    /// The clusters of a word by its exact hash, else by its lower-case hash.
    #[inline]
    pub fn clusters_of(&self, exact: u64, lower: u64) -> Option<[u16; 3]> {
        self.clusters.get(exact).or_else(|| self.clusters.get(lower))
    }

    /// Asks for the table lines that [`Gazetteer::clusters_of`] will read for these hashes,
    /// so that a caller with many words to look up can have the reads overlap.
    #[inline]
    pub fn prefetch_clusters(&self, exact: u64, lower: u64) {
        self.clusters.prefetch(exact);
        self.clusters.prefetch(lower);
    }

    /// Adds the entries of one list (the file format of [`Gazetteer::load`]).
    pub fn add_lines(&mut self, bit: u16, text: &str) {
        for line in text.lines() {
            let line = line.split('#').next().unwrap_or("").trim();
            if line.is_empty() {
                continue;
            }
            let (alias, canon) = match line.split_once(" = ") {
                Some((a, c)) => (a.trim(), Some(c.trim())),
                None => (line, None),
            };
            let h = self.add(bit, alias);
            if let Some(c) = canon {
                self.add(bit, c);
                self.canonical.insert(h, c.to_string());
            }
        }
    }

    /// Adds one phrase; returns its hash.
    pub fn add(&mut self, bit: u16, phrase: &str) -> u64 {
        let toks = tokenize(phrase);
        let hs: Vec<u64> = toks.iter().map(|t| hash_lower(&normalize_token(t.text(phrase)))).collect();
        let mut h = 0x1234_5678_9abc_def0u64;
        for (i, &t) in hs.iter().enumerate() {
            h = combine(h, t);
            if i + 1 < hs.len() {
                *self.map.entry(h).or_insert(0) |= cat::PREFIX;
            }
        }
        *self.map.entry(h).or_insert(0) |= bit;
        self.max_len = self.max_len.max(hs.len());
        h
    }

    /// Categories of the phrase made of these token hashes (0 if none).
    pub fn lookup(&self, token_hashes: &[u64]) -> u16 {
        self.map.get(&phrase_hash(token_hashes.iter().copied())).copied().unwrap_or(0) & !cat::PREFIX
    }

    /// Categories of a phrase given as text.
    pub fn lookup_text(&self, phrase: &str) -> u16 {
        let toks = tokenize(phrase);
        let hs: Vec<u64> = toks.iter().map(|t| hash_lower(&normalize_token(t.text(phrase)))).collect();
        self.lookup(&hs)
    }

    /// The canonical name a phrase is an alias of, if the lists declare one.
    pub fn canonical_of(&self, token_hashes: &[u64]) -> Option<&str> {
        self.canonical.get(&phrase_hash(token_hashes.iter().copied())).map(|s| s.as_str())
    }

    /// Number of entries (phrases and prefixes).
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// True when nothing is loaded.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// Marks, for each token of one sentence (given as lower-case hashes), the categories of
    /// every longest gazetteer phrase covering it. `out` gets one entry per token.
    #[allow(clippy::needless_range_loop)]
    pub fn mark(&self, hashes: &[u64], out: &mut [u16]) {
        let n = hashes.len();
        for o in out.iter_mut() {
            *o = 0;
        }
        if self.map.is_empty() {
            return;
        }
        let mut i = 0;
        while i < n {
            let mut h = 0x1234_5678_9abc_def0u64;
            let mut best = (0usize, 0u16);
            for j in i..n.min(i + self.max_len) {
                h = combine(h, hashes[j]);
                match self.map.get(&h) {
                    Some(&v) => {
                        if v & !cat::PREFIX != 0 {
                            best = (j + 1 - i, v & !cat::PREFIX);
                        }
                        if v & cat::PREFIX == 0 {
                            break;
                        }
                    }
                    None => break,
                }
            }
            if best.0 > 0 {
                for o in &mut out[i..i + best.0] {
                    *o |= best.1;
                }
                i += best.0;
            } else {
                i += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cluster_table_finds_what_a_map_finds() {
        let mut state = 7u64;
        let mut next = || {
            state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
            crate::overlap::shingle::mix64(state)
        };
        // Keys that share their home slot's neighbourhood (small keys) and spread ones; some
        // given twice, where the later clusters win as in a map.
        let mut entries: Vec<(u64, [u16; 3])> = (0..5000u64).map(|k| (k, [k as u16, 1, 2])).collect();
        entries.extend((0..20_000).map(|i| (next(), [i as u16, 3, 4])));
        entries.extend((0..100u64).map(|k| (k * 7, [9, 9, 9])));
        let map: HashMap<u64, [u16; 3]> = entries.iter().copied().collect();
        let t = ClusterTable::new(&entries);
        for (&k, &v) in &map {
            assert_eq!(t.get(k), Some(v), "key {k}");
        }
        for _ in 0..20_000 {
            let k = next();
            assert_eq!(t.get(k), map.get(&k).copied());
        }
        assert_eq!(ClusterTable::new(&[]).get(3), None);
    }

    #[test]
    fn parse_u16_reads_what_str_parse_reads() {
        for x in ["0", "7", "1023", "65535", "65536", "", "+", "+12", "-1", "1 2", "x", "００"] {
            assert_eq!(parse_u16(x.as_bytes()), x.parse::<u16>().ok(), "{x:?}");
        }
    }

    #[test]
    fn multi_token_longest_match() {
        let mut g = Gazetteer::default();
        g.add(cat::STATE, "New York");
        g.add(cat::CITY, "New York City");
        g.add(cat::COUNTRY, "U.S.");
        let s = ["in", "New", "York", "City", "and", "U.S.", "New"];
        let hs: Vec<u64> = s.iter().map(|t| hash_lower(t)).collect();
        let mut out = vec![0; hs.len()];
        g.mark(&hs, &mut out);
        assert_eq!(out, vec![0, cat::CITY, cat::CITY, cat::CITY, 0, cat::COUNTRY, 0]);
        assert_eq!(g.lookup_text("new york"), cat::STATE);
    }

    #[test]
    fn aliases() {
        let mut g = Gazetteer::default();
        g.add_lines(cat::COUNTRY, "US = United States\n# comment\nAmerica = United States\n");
        let h = [hash_lower("america")];
        assert_eq!(g.canonical_of(&h), Some("United States"));
        assert_eq!(g.lookup_text("United States"), cat::COUNTRY);
    }
}
