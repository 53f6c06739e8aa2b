//! Story terms spilled to a file while the first pass runs, and read back block by block when
//! the story vectors are built. The terms are the largest part of a prepared document (a few
//! hundred keys per report) and nothing needs them before the story tier, so a run holds them
//! on disk, not in memory, between the two.
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

/// Terms being written, one document after another.
pub struct TermSpill {
    path: Owned,
    w: BufWriter<File>,
    docs: usize,
    bytes: u64,
}

/// A point to go back to ([`TermSpill::rewind`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Mark {
    docs: usize,
    bytes: u64,
}

impl TermSpill {
    /// Creates (or empties) the spill file at `path`.
    pub fn create(path: &Path) -> io::Result<TermSpill> {
        let f = File::options().read(true).write(true).create(true).truncate(true).open(path)?;
        Ok(TermSpill { path: Owned(Some(path.to_path_buf())), w: BufWriter::with_capacity(1 << 20, f), docs: 0, bytes: 0 })
    }

    /// Appends one document's terms.
    pub fn push(&mut self, t: &DocTerms) -> io::Result<()> {
        debug_assert_eq!(t.keys.len(), t.counts.len());
        let n = t.keys.len().min(t.counts.len());
        self.w.write_all(&(n as u32).to_le_bytes())?;
        for k in &t.keys[..n] {
            self.w.write_all(&k.to_le_bytes())?;
        }
        for c in &t.counts[..n] {
            self.w.write_all(&c.to_le_bytes())?;
        }
        self.docs += 1;
        self.bytes += 4 + 6 * n as u64;
        Ok(())
    }

    /// Documents written so far.
    pub fn len(&self) -> usize {
        self.docs
    }

    /// True when nothing was written.
    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    /// Where the spill stands now.
    pub fn mark(&self) -> Mark {
        Mark { docs: self.docs, bytes: self.bytes }
    }

    /// Forgets every document written after `m`.
    pub fn rewind(&mut self, m: Mark) -> io::Result<()> {
        self.w.flush()?;
        let f = self.w.get_mut();
        f.set_len(m.bytes)?;
        f.seek(SeekFrom::Start(m.bytes))?;
        self.docs = m.docs;
        self.bytes = m.bytes;
        Ok(())
    }

    /// Ends writing; the terms can then be read back.
    pub fn finish(mut self) -> io::Result<SpilledTerms> {
        self.w.flush()?;
        let path = self.path.0.take();
        Ok(SpilledTerms { path: Owned(path), docs: self.docs })
    }
}

/// Spilled terms, readable in the order they were written.
pub struct SpilledTerms {
    path: Owned,
    docs: usize,
}

impl SpilledTerms {
    /// Documents in the spill.
    pub fn len(&self) -> usize {
        self.docs
    }

    /// True when the spill holds no document.
    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    /// Calls `f(first, terms)` for consecutive blocks of at most `block` documents, `first`
    /// being the index of the block's first document.
    pub fn for_blocks(&self, block: usize, mut f: impl FnMut(usize, Vec<DocTerms>)) -> io::Result<()> {
        let Some(path) = self.path.0.as_ref() else { return Ok(()) };
        let mut r = BufReader::with_capacity(1 << 20, File::open(path)?);
        let block = block.max(1);
        let mut first = 0;
        while first < self.docs {
            let n = block.min(self.docs - first);
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

fn read_one(r: &mut impl Read) -> io::Result<DocTerms> {
    let mut b4 = [0u8; 4];
    r.read_exact(&mut b4)?;
    let n = u32::from_le_bytes(b4) as usize;
    let mut raw = vec![0u8; 6 * n];
    r.read_exact(&mut raw)?;
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

    #[test]
    fn spilled_terms_read_back_in_blocks_and_rewind_forgets() {
        let dir = std::env::temp_dir().join(format!("newsmill-spill-{}", std::process::id()));
        fs::create_dir_all(&dir).unwrap();
        let path = dir.join(".spill-test");
        let mut s = TermSpill::create(&path).unwrap();
        for i in 0..10 {
            s.push(&terms(i)).unwrap();
        }
        let m = s.mark();
        for i in 100..105 {
            s.push(&terms(i)).unwrap();
        }
        s.rewind(m).unwrap();
        for i in 10..23 {
            s.push(&terms(i)).unwrap();
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
        drop(r);
        assert!(!path.exists(), "the spill file is removed with the spill");
        let _ = fs::remove_dir_all(&dir);
    }
}
