//! Story terms, MinHash signatures and quote texts spilled to a file while the first pass
//! runs, and read back when the tiers that use them run: the signatures all at once, into one
//! arena, for the copy tier; the terms block by block when the story vectors are built; the
//! quote texts, into one string, for the quote tier. They are the largest part of what the
//! overlap stage needs of a report (a few hundred keys, 1 KB of signature and a few quotes)
//! and nothing needs them before the stage's own tier, so a run holds them on disk, not in
//! memory, until then: the tiers' peaks do not add up. Held in memory per document, the
//! signatures would also leave a hole in the heap when the copy tier frees them, a hole the
//! allocator cannot hand back because the documents' small long-lived allocations sit between
//! them.
//!
//! The file lives in the output folder (`.spill-<run id>`), is removed when the spill is
//! dropped, and is swept by the next run if a killed run left it behind.

use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use super::stories::DocTerms;

/// Removes the file when dropped (unless it was handed on).
struct Owned(Option<PathBuf>);

impl Drop for Owned {
    fn drop(&mut self) {
        if let Some(p) = self.0.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Documents being written, one after another. A document's record is a header (its term
/// count (u32), its two signature lengths (u16 each), its quote count and the bytes of its
/// quotes (u32 each)), its term keys (u32 each), their counts (u16 each), its word and
/// character signatures (u16 slots), then each quote's length (u32) and UTF-8 text; all
/// little-endian.
pub struct DocSpill {
    path: Owned,
    w: BufWriter<File>,
    at: Mark,
    /// One document's record, made whole before it is written: a thousand small writes a
    /// document, each through the writer's checks, cost more than the record itself.
    record: Vec<u8>,
}

/// A point to go back to ([`DocSpill::rewind`]).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Mark {
    docs: usize,
    bytes: u64,
    /// Word and character signature slots written.
    slots: [u64; 2],
    /// Quotes and quote text bytes written.
    quotes: u64,
    quote_bytes: u64,
}

/// Appends `v` to `out`, little-endian.
fn put_u16s(out: &mut Vec<u8>, v: &[u16]) {
    out.extend(v.iter().flat_map(|x| x.to_le_bytes()));
}

impl DocSpill {
    /// Creates (or empties) the spill file at `path`.
    pub fn create(path: &Path) -> io::Result<DocSpill> {
        let f = File::options().read(true).write(true).create(true).truncate(true).open(path)?;
        Ok(DocSpill { path: Owned(Some(path.to_path_buf())), w: BufWriter::with_capacity(1 << 20, f), at: Mark::default(), record: Vec::new() })
    }

    /// Appends one document's terms, signatures (each at most `u16::MAX` slots; longer ones
    /// are cut) and quote texts.
    pub fn push(&mut self, t: &DocTerms, minhash: &[u16], char_minhash: &[u16], quotes: &[&str]) -> io::Result<()> {
        debug_assert_eq!(t.keys.len(), t.counts.len());
        let n = t.keys.len().min(t.counts.len());
        let minhash = &minhash[..minhash.len().min(u16::MAX as usize)];
        let char_minhash = &char_minhash[..char_minhash.len().min(u16::MAX as usize)];
        let quote_bytes: usize = quotes.iter().map(|q| q.len()).sum();
        let (Ok(n_quotes), Ok(qb)) = (u32::try_from(quotes.len()), u32::try_from(quote_bytes)) else {
            return Err(io::Error::other("a document's quotes exceed 4 GB"));
        };
        let r = &mut self.record;
        r.clear();
        r.extend_from_slice(&(n as u32).to_le_bytes());
        put_u16s(r, &[minhash.len() as u16, char_minhash.len() as u16]);
        r.extend_from_slice(&n_quotes.to_le_bytes());
        r.extend_from_slice(&qb.to_le_bytes());
        r.extend(t.keys[..n].iter().flat_map(|k| k.to_le_bytes()));
        put_u16s(r, &t.counts[..n]);
        put_u16s(r, minhash);
        put_u16s(r, char_minhash);
        for q in quotes {
            r.extend_from_slice(&(q.len() as u32).to_le_bytes());
            r.extend_from_slice(q.as_bytes());
        }
        self.w.write_all(r)?;
        self.at.docs += 1;
        self.at.bytes += r.len() as u64;
        self.at.quotes += quotes.len() as u64;
        self.at.quote_bytes += quote_bytes as u64;
        self.at.slots[0] += minhash.len() as u64;
        self.at.slots[1] += char_minhash.len() as u64;
        Ok(())
    }

    /// Documents written so far.
    pub fn len(&self) -> usize {
        self.at.docs
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.at.docs == 0
    }

    /// Where the spill stands now.
    pub fn mark(&self) -> Mark {
        self.at
    }

    /// Forgets every document written after `m`.
    pub fn rewind(&mut self, m: Mark) -> io::Result<()> {
        self.w.flush()?;
        let f = self.w.get_mut();
        f.set_len(m.bytes)?;
        f.seek(SeekFrom::Start(m.bytes))?;
        self.at = m;
        Ok(())
    }

    /// Ends writing; the documents can then be read back.
    pub fn finish(mut self) -> io::Result<SpilledDocs> {
        self.w.flush()?;
        let path = self.path.0.take();
        Ok(SpilledDocs { path: Owned(path), at: self.at })
    }
}

/// Bytes of a record's header: the term count, the two signature lengths, the quote count and
/// the quotes' bytes.
const HEADER: usize = 16;

/// A record's header.
struct Header {
    terms: usize,
    word: usize,
    chars: usize,
    quotes: usize,
    quote_bytes: usize,
}

impl Header {
    /// Bytes of the quotes' part of the record (their lengths and texts).
    fn quote_part(&self) -> i64 {
        4 * self.quotes as i64 + self.quote_bytes as i64
    }
}

/// Spilled documents, readable in the order they were written.
pub struct SpilledDocs {
    path: Owned,
    at: Mark,
}

/// The MinHash signatures of a run in two arrays (one allocation each, freed as a whole),
/// indexed by the order the documents were spilled in.
#[derive(Debug, Default)]
pub struct Minhashes {
    word: Vec<u16>,
    chars: Vec<u16>,
    /// Where document `k`'s slots start in `word` and in `chars` (one more entry at the end).
    start: Vec<[u64; 2]>,
}

impl Minhashes {
    /// Document `k`'s word-shingle signature.
    pub fn word(&self, k: usize) -> &[u16] {
        &self.word[self.start[k][0] as usize..self.start[k + 1][0] as usize]
    }

    /// Document `k`'s character-shingle signature.
    pub fn chars(&self, k: usize) -> &[u16] {
        &self.chars[self.start[k][1] as usize..self.start[k + 1][1] as usize]
    }
}

fn read_header(r: &mut impl Read) -> io::Result<Header> {
    let mut h = [0u8; HEADER];
    r.read_exact(&mut h)?;
    let u32_at = |i: usize| u32::from_le_bytes([h[i], h[i + 1], h[i + 2], h[i + 3]]) as usize;
    Ok(Header {
        terms: u32_at(0),
        word: u16::from_le_bytes([h[4], h[5]]) as usize,
        chars: u16::from_le_bytes([h[6], h[7]]) as usize,
        quotes: u32_at(8),
        quote_bytes: u32_at(12),
    })
}

/// The quote texts of a run in one string, in the order they were spilled.
#[derive(Debug, Default)]
pub struct QuoteTexts {
    text: String,
    /// Where quote `k` ends in `text` (it starts where quote `k - 1` ends).
    ends: Vec<u64>,
}

impl QuoteTexts {
    /// Quotes held.
    pub fn len(&self) -> usize {
        self.ends.len()
    }

    /// True when no quote is held.
    pub fn is_empty(&self) -> bool {
        self.ends.is_empty()
    }

    /// Quote `k`'s text.
    pub fn get(&self, k: usize) -> &str {
        let start = if k == 0 { 0 } else { self.ends[k - 1] as usize };
        &self.text[start..self.ends[k] as usize]
    }
}

fn read_u16s(r: &mut impl Read, n: usize, into: &mut Vec<u16>) -> io::Result<()> {
    let mut raw = vec![0u8; 2 * n];
    r.read_exact(&mut raw)?;
    into.extend(raw.chunks_exact(2).map(|x| u16::from_le_bytes([x[0], x[1]])));
    Ok(())
}

impl SpilledDocs {
    /// Documents in the spill.
    pub fn len(&self) -> usize {
        self.at.docs
    }

    /// True when the spill holds no document.
    pub fn is_empty(&self) -> bool {
        self.at.docs == 0
    }

    fn reader(&self) -> io::Result<Option<BufReader<File>>> {
        match self.path.0.as_ref() {
            Some(path) => Ok(Some(BufReader::with_capacity(1 << 20, File::open(path)?))),
            None => Ok(None),
        }
    }

    /// Every document's signatures, read in one pass into arrays of exactly their size.
    pub fn minhashes(&self) -> io::Result<Minhashes> {
        let mut m = Minhashes {
            word: Vec::with_capacity(self.at.slots[0] as usize),
            chars: Vec::with_capacity(self.at.slots[1] as usize),
            start: Vec::with_capacity(self.at.docs + 1),
        };
        m.start.push([0, 0]);
        let Some(mut r) = self.reader()? else { return Ok(m) };
        for _ in 0..self.at.docs {
            let h = read_header(&mut r)?;
            r.seek_relative(6 * h.terms as i64)?;
            read_u16s(&mut r, h.word, &mut m.word)?;
            read_u16s(&mut r, h.chars, &mut m.chars)?;
            r.seek_relative(h.quote_part())?;
            m.start.push([m.word.len() as u64, m.chars.len() as u64]);
        }
        Ok(m)
    }

    /// Every quote text, read in one pass into a string of exactly their size.
    pub fn quote_texts(&self) -> io::Result<QuoteTexts> {
        let mut q = QuoteTexts {
            text: String::with_capacity(self.at.quote_bytes as usize),
            ends: Vec::with_capacity(self.at.quotes as usize),
        };
        let Some(mut r) = self.reader()? else { return Ok(q) };
        let mut raw = Vec::new();
        for _ in 0..self.at.docs {
            let h = read_header(&mut r)?;
            r.seek_relative(6 * h.terms as i64 + 2 * (h.word + h.chars) as i64)?;
            for _ in 0..h.quotes {
                let mut b4 = [0u8; 4];
                r.read_exact(&mut b4)?;
                raw.resize(u32::from_le_bytes(b4) as usize, 0);
                r.read_exact(&mut raw)?;
                let text = std::str::from_utf8(&raw).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                q.text.push_str(text);
                q.ends.push(q.text.len() as u64);
            }
        }
        Ok(q)
    }

    /// Calls `f(first, terms)` for consecutive blocks of at most `block` documents, `first`
    /// being the index of the block's first document.
    pub fn for_blocks(&self, block: usize, mut f: impl FnMut(usize, Vec<DocTerms>)) -> io::Result<()> {
        let Some(mut r) = self.reader()? else { return Ok(()) };
        let block = block.max(1);
        let mut first = 0;
        while first < self.at.docs {
            let n = block.min(self.at.docs - first);
            let mut terms = Vec::with_capacity(n);
            for _ in 0..n {
                terms.push(read_one(&mut r)?);
            }
            f(first, terms);
            first += n;
        }
        Ok(())
    }
}

/// One record's terms (its signatures skipped).
fn read_one(r: &mut BufReader<File>) -> io::Result<DocTerms> {
    let h = read_header(r)?;
    let n = h.terms;
    let mut raw = vec![0u8; 6 * n];
    r.read_exact(&mut raw)?;
    r.seek_relative(2 * (h.word + h.chars) as i64 + h.quote_part())?;
    let (k, c) = raw.split_at(4 * n);
    Ok(DocTerms {
        keys: k.chunks_exact(4).map(|x| u32::from_le_bytes([x[0], x[1], x[2], x[3]])).collect(),
        counts: c.chunks_exact(2).map(|x| u16::from_le_bytes([x[0], x[1]])).collect(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn terms(i: u32) -> DocTerms {
        let n = (i % 7) as usize;
        DocTerms { keys: (0..n as u32).map(|k| k * 31 + i).collect(), counts: (0..n as u16).map(|c| c + 1).collect() }
    }

    fn sig(i: u32, salt: u16) -> Vec<u16> {
        (0..(i % 5) as u16).map(|x| x * 7 + salt + i as u16).collect()
    }

    #[test]
    fn spilled_documents_read_back_in_blocks_and_rewind_forgets() {
        let dir = std::env::temp_dir().join(format!("newsmill-spill-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".spill-test");
        let mut s = DocSpill::create(&path).unwrap();
        let quotes = |i: u32| -> Vec<String> { (0..i % 3).map(|k| format!("quote {k} of “{i}”")).collect() };
        let push = |s: &mut DocSpill, i: u32| {
            let q = quotes(i);
            let q: Vec<&str> = q.iter().map(String::as_str).collect();
            s.push(&terms(i), &sig(i, 1), &sig(i + 1, 1000), &q).unwrap()
        };
        for i in 0..10 {
            push(&mut s, i);
        }
        let m = s.mark();
        for i in 100..105 {
            push(&mut s, i);
        }
        s.rewind(m).unwrap();
        for i in 10..23 {
            push(&mut s, i);
        }
        assert_eq!(s.len(), 23);
        let r = s.finish().unwrap();
        let mut seen = Vec::new();
        r.for_blocks(4, |first, block| {
            assert_eq!(first, seen.len());
            assert!(block.len() <= 4);
            seen.extend(block);
        })
        .unwrap();
        assert_eq!(seen, (0..23).map(terms).collect::<Vec<_>>());
        let m = r.minhashes().unwrap();
        for i in 0..23u32 {
            assert_eq!(m.word(i as usize), sig(i, 1).as_slice());
            assert_eq!(m.chars(i as usize), sig(i + 1, 1000).as_slice());
        }
        assert_eq!(m.word.capacity(), m.word.len(), "the arrays are allocated at their size");
        let q = r.quote_texts().unwrap();
        let want: Vec<String> = (0..23).flat_map(quotes).collect();
        assert_eq!((0..q.len()).map(|k| q.get(k).to_string()).collect::<Vec<_>>(), want);
        assert_eq!(q.text.capacity(), q.text.len());
        drop(r);
        assert!(!path.exists(), "the spill file is removed with the spill");
        let _ = fs::remove_dir_all(&dir);
    }
}
