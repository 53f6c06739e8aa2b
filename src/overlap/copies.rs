//! Copy tier: exact copies (same normalized word sequence) and near copies (syndicated wire
//! copies, truncations, light edits, OCR noise). Named sub-steps, datatrove-style:
//! 1. `sketch`: per document, in parallel, a [`DocSignature`] (content hash, shingle count,
//!    MinHash signature); nothing else of the text is needed afterwards, so the later steps
//!    can run from per-shard signature files;
//! 2. `candidates`: exact groups by content hash, then LSH banding over one representative
//!    per exact group;
//! 3. `verify`: a candidate pair is merged only when its estimated Jaccard similarity, or its
//!    containment (so that a truncated copy matches its original), clears a threshold;
//! 4. `cluster`: union-find, then the canonical copy by an explicit rule: earliest
//!    `published_at` (unknown last), then the longest text, then the smallest `doc_id`.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::lsh;
use super::minhash::{estimate_jaccard_slots, to_slots, MinHasher, OnePermHasher, CHAR_MINHASH_SEED, CHAR_NUM_PERM};
use super::shingle::{char_shingles, shingles_of_hashes, word_hashes, CHAR_SHINGLE, SHINGLE_WORDS};
use super::unionfind::UnionFind;

/// Thresholds of the copy tier (`[stage.copies]` in a pipeline file).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct CopiesConfig {
    /// LSH bands (bands x rows must not exceed the signature length, 256).
    pub bands: usize,
    /// Rows per LSH band.
    pub rows: usize,
    /// A candidate pair with estimated Jaccard at least this is a copy.
    pub min_jaccard: f64,
    /// A candidate pair whose smaller shingle set is contained at least this much in the
    /// larger one is a copy (truncated re-publications).
    pub min_containment: f64,
    /// A candidate pair whose character-shingle signatures agree on at least this share of
    /// slots (estimated Jaccard of character 5-grams, robust to OCR noise) is a copy; above
    /// 1 the check is off.
    pub min_char_jaccard: f64,
    /// Containment only counts when the smaller document has at least this many shingles
    /// (a one-line text is "contained" in too many others).
    pub min_containment_shingles: usize,
}

impl Default for CopiesConfig {
    fn default() -> Self {
        CopiesConfig {
            bands: 85,
            rows: 3,
            min_jaccard: 0.47,
            min_containment: 0.9,
            min_char_jaccard: 0.65,
            min_containment_shingles: 15,
        }
    }
}

impl CopiesConfig {
    /// Every problem with the thresholds, at once.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if self.bands == 0 || self.rows == 0 {
            p.push("copies: bands and rows must be positive".to_string());
        } else if self.bands * self.rows > super::minhash::NUM_PERM {
            p.push(format!(
                "copies: bands x rows = {} exceeds the {} permutations",
                self.bands * self.rows,
                super::minhash::NUM_PERM
            ));
        }
        for (name, v) in [
            ("min_jaccard", self.min_jaccard),
            ("min_containment", self.min_containment),
            ("min_char_jaccard", self.min_char_jaccard.min(1.0)),
        ] {
            if !(0.0..=1.0).contains(&v) || v.is_nan() {
                p.push(format!("copies: {name} must lie in [0, 1], got {v}"));
            }
        }
        p
    }
}

/// Everything the copy tier keeps of one document: a fixed-size record, independent of the
/// length of the text, and serializable (a shard can write these and a merge step read them).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DocSignature {
    /// The document.
    pub doc_id: String,
    /// Hash of the normalized word sequence (equal for exact copies).
    pub content_hash: u64,
    /// Number of words after normalization.
    pub n_words: u32,
    /// Number of distinct shingles.
    pub n_shingles: u32,
    /// Length of the text in characters (the canonical rule prefers the longest).
    pub n_chars: u64,
    /// Publication time, microseconds since the epoch.
    pub published_at: Option<i64>,
    /// MinHash signature of the word shingles (LSH and verification), 16 bits per slot.
    pub minhash: Vec<u16>,
    /// MinHash signature of the character shingles (verification only), 16 bits per slot.
    pub char_minhash: Vec<u16>,
}

impl DocSignature {
    /// Frees the MinHash signatures (what the copy tier compares), keeping the document's
    /// facts: once the copy tier is done nothing else needs them.
    pub fn free_minhashes(&mut self) {
        self.minhash = Vec::new();
        self.char_minhash = Vec::new();
    }
}

/// The two fixed hash families of the copy tier.
#[derive(Debug, Clone)]
pub struct Hashers {
    /// Word-shingle family.
    pub words: MinHasher,
    /// Character-shingle signature.
    pub chars: OnePermHasher,
}

impl Default for Hashers {
    fn default() -> Self {
        Hashers {
            words: MinHasher::default(),
            chars: OnePermHasher::new(CHAR_MINHASH_SEED, CHAR_NUM_PERM),
        }
    }
}

/// Sub-step 1: the signature of one document.
pub fn sketch(
    hashers: &Hashers,
    doc_id: &str,
    text: &str,
    published_at: Option<i64>,
) -> DocSignature {
    let wh = word_hashes(text);
    let sh = shingles_of_hashes(&wh.body, SHINGLE_WORDS);
    let ch = char_shingles(&wh.body_text, CHAR_SHINGLE);
    DocSignature {
        doc_id: doc_id.to_string(),
        content_hash: wh.content_hash,
        n_words: wh.n_words as u32,
        n_shingles: sh.len() as u32,
        n_chars: text.chars().count() as u64,
        published_at,
        minhash: to_slots(&hashers.words.signature(&sh)),
        char_minhash: to_slots(&hashers.chars.signature(&ch)),
    }
}

/// The hash families, built once per process.
pub fn hashers() -> &'static Hashers {
    static HASHERS: std::sync::OnceLock<Hashers> = std::sync::OnceLock::new();
    HASHERS.get_or_init(Hashers::default)
}

/// Sub-step 1 over many documents, in parallel; the result is in input order.
pub fn sketch_all<'a, I>(docs: I) -> Vec<DocSignature>
where
    I: IntoParallelIterator<Item = (&'a str, &'a str, Option<i64>)>,
    I::Iter: IndexedParallelIterator,
{
    let hashers = hashers();
    docs.into_par_iter()
        .map(|(id, text, at)| sketch(hashers, id, text, at))
        .collect()
}

/// What the copy tier compares of one document: its facts and its two MinHash signatures,
/// wherever they are held (in the [`DocSignature`] itself, or in a run's signature arena once
/// the document's own copies were spilled).
#[derive(Debug, Clone, Copy)]
pub struct SigView<'a> {
    /// The document's facts (id, hash, counts, time).
    pub facts: &'a DocSignature,
    /// Its word-shingle signature.
    pub minhash: &'a [u16],
    /// Its character-shingle signature.
    pub char_minhash: &'a [u16],
}

impl DocSignature {
    /// The signature as the copy tier compares it.
    pub fn view(&self) -> SigView<'_> {
        SigView { facts: self, minhash: &self.minhash, char_minhash: &self.char_minhash }
    }
}

/// Estimated Jaccard similarity and containment (intersection over the smaller set) of two
/// documents, from their signatures and shingle counts alone.
pub fn similarity(a: SigView, b: SigView) -> (f64, f64) {
    let j = estimate_jaccard_slots(a.minhash, b.minhash);
    let (na, nb) = (a.facts.n_shingles as f64, b.facts.n_shingles as f64);
    let small = na.min(nb);
    if small <= 0.0 {
        return (0.0, 0.0);
    }
    let inter = j / (1.0 + j) * (na + nb);
    (j, (inter / small).min(1.0))
}

/// How a document relates to its copy cluster.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Relation {
    /// No other copy in the run.
    Unique,
    /// Same normalized text as the canonical copy (for the canonical copy: it has one).
    Exact,
    /// A near copy.
    Near,
}

impl Relation {
    /// The name used in the `duplicates` table.
    pub fn as_str(self) -> &'static str {
        match self {
            Relation::Unique => "unique",
            Relation::Exact => "exact",
            Relation::Near => "near",
        }
    }
}

/// The copy tier's decision for one document.
#[derive(Debug, Clone, PartialEq)]
pub struct CopyAssignment {
    /// Index of the canonical copy of its cluster (itself when unique or canonical).
    pub canonical: usize,
    /// Estimated Jaccard similarity to the canonical copy (1.0 for exact copies and for the
    /// canonical copy itself).
    pub similarity: f32,
    /// Its relation.
    pub relation: Relation,
}

/// True when `a` should stand for a cluster rather than `b` (the canonical rule).
pub fn precedes(a: &DocSignature, b: &DocSignature) -> bool {
    let key = |d: &DocSignature| {
        (
            d.published_at.is_none(),
            d.published_at.unwrap_or(i64::MAX),
            std::cmp::Reverse(d.n_chars),
        )
    };
    match key(a).cmp(&key(b)) {
        std::cmp::Ordering::Less => true,
        std::cmp::Ordering::Greater => false,
        std::cmp::Ordering::Equal => a.doc_id < b.doc_id,
    }
}

/// Sub-steps 2-4 over the signatures of a run (or of all shards): one assignment per input.
pub fn cluster<S: std::borrow::Borrow<DocSignature>>(
    sigs: &[S],
    config: &CopiesConfig,
) -> Vec<CopyAssignment> {
    let views: Vec<SigView> = sigs.iter().map(|s| s.borrow().view()).collect();
    cluster_views(&views, config)
}

/// [`cluster`] over signatures wherever they are held.
pub fn cluster_views(sigs: &[SigView], config: &CopiesConfig) -> Vec<CopyAssignment> {
    let n = sigs.len();
    let mut uf = UnionFind::new(n);
    // Exact groups: the first document of each normalized text represents it in LSH.
    let mut first: HashMap<u64, usize> = HashMap::new();
    let mut skip = vec![false; n];
    for (i, s) in sigs.iter().map(|s| s.facts).enumerate() {
        if s.n_words == 0 {
            skip[i] = true;
            continue;
        }
        match first.get(&s.content_hash) {
            Some(&r) => {
                uf.union(r as u32, i as u32);
                skip[i] = true;
            }
            None => {
                first.insert(s.content_hash, i);
            }
        }
    }
    // Candidates, then verification in parallel.
    let views: Vec<&[u16]> = sigs.iter().map(|s| s.minhash).collect();
    let pairs = lsh::candidates(&views, &skip, config.bands, config.rows);
    let accepted: Vec<(u32, u32)> = pairs
        .into_par_iter()
        .filter(|&(i, j)| verify(sigs[i as usize], sigs[j as usize], config))
        .collect();
    for (i, j) in accepted {
        uf.union(i, j);
    }
    // Canonical copy per cluster.
    let roots = uf.roots();
    let mut canon: HashMap<u32, usize> = HashMap::new();
    let mut size: HashMap<u32, usize> = HashMap::new();
    for (i, &r) in roots.iter().enumerate() {
        *size.entry(r).or_default() += 1;
        let c = canon.entry(r).or_insert(i);
        if precedes(sigs[i].facts, sigs[*c].facts) {
            *c = i;
        }
    }
    let mut out: Vec<CopyAssignment> = (0..n)
        .map(|i| {
            let r = roots[i];
            let c = canon[&r];
            if size[&r] == 1 {
                return CopyAssignment {
                    canonical: i,
                    similarity: 1.0,
                    relation: Relation::Unique,
                };
            }
            if sigs[i].facts.content_hash == sigs[c].facts.content_hash && sigs[i].facts.n_words > 0 {
                CopyAssignment {
                    canonical: c,
                    similarity: 1.0,
                    relation: Relation::Exact,
                }
            } else {
                let (j, _) = similarity(sigs[i], sigs[c]);
                CopyAssignment {
                    canonical: c,
                    similarity: j as f32,
                    relation: Relation::Near,
                }
            }
        })
        .collect();
    // The canonical copy's relation: exact when it has an exact copy, else near.
    let mut has_exact: HashMap<usize, bool> = HashMap::new();
    for (i, a) in out.iter().enumerate() {
        if a.canonical != i && a.relation != Relation::Unique {
            let e = has_exact.entry(a.canonical).or_insert(false);
            *e |= a.relation == Relation::Exact;
        }
    }
    for (c, e) in has_exact {
        out[c].relation = if e { Relation::Exact } else { Relation::Near };
        out[c].similarity = 1.0;
    }
    out
}

/// Sub-step 3: is a candidate pair a copy?
pub fn verify(a: SigView, b: SigView, config: &CopiesConfig) -> bool {
    let (j, c) = similarity(a, b);
    if j >= config.min_jaccard {
        return true;
    }
    if config.min_char_jaccard <= 1.0
        && estimate_jaccard_slots(a.char_minhash, b.char_minhash) >= config.min_char_jaccard
    {
        return true;
    }
    a.facts.n_shingles.min(b.facts.n_shingles) as usize >= config.min_containment_shingles
        && c >= config.min_containment
}

#[cfg(test)]
mod tests {
    use super::*;

    fn text(n: usize, salt: &str) -> String {
        (0..n)
            .map(|i| format!("{salt}{} ", (i * 7919) % 1000))
            .collect()
    }

    fn sig(id: &str, t: &str, at: Option<i64>) -> DocSignature {
        sketch(&Hashers::default(), id, t, at)
    }

    #[test]
    fn exact_near_truncated_and_unique() {
        let base = text(300, "w");
        let exact = base.to_uppercase().replace(' ', " , ");
        let truncated: String = base.split(' ').take(150).collect::<Vec<_>>().join(" ");
        let other = text(300, "z");
        let sigs = vec![
            sig("a", &base, Some(10)),
            sig("b", &exact, Some(5)),
            sig("c", &truncated, None),
            sig("d", &other, None),
        ];
        let out = cluster(&sigs, &CopiesConfig::default());
        assert_eq!(out[0].canonical, 1, "earliest published_at wins");
        assert_eq!(out[0].relation, Relation::Exact);
        assert_eq!(out[2].canonical, 1);
        assert_eq!(out[2].relation, Relation::Near);
        assert_eq!(
            out[3],
            CopyAssignment {
                canonical: 3,
                similarity: 1.0,
                relation: Relation::Unique
            }
        );
    }

    #[test]
    fn canonical_rule_breaks_ties_by_length_then_id() {
        let a = sig("b", "x y z", None);
        let mut b = sig("a", "x y z", None);
        assert!(precedes(&b, &a));
        b.n_chars = 1;
        assert!(precedes(&a, &b));
        let mut c = sig("c", "x", Some(0));
        c.n_chars = 0;
        assert!(precedes(&c, &a));
    }

    #[test]
    fn empty_texts_are_unique() {
        let sigs = vec![sig("a", "", None), sig("b", "  ", None)];
        let out = cluster(&sigs, &CopiesConfig::default());
        assert!(out.iter().all(|a| a.relation == Relation::Unique));
    }

    #[test]
    fn containment_estimate() {
        let base = text(400, "w");
        let half: String = base.split(' ').take(200).collect::<Vec<_>>().join(" ");
        let (j, c) = similarity(sig("a", &base, None).view(), sig("b", &half, None).view());
        assert!(j < 0.7 && c > 0.85, "j {j} c {c}");
    }

    #[test]
    fn config_validation_reports_all_problems() {
        let c = CopiesConfig {
            bands: 100,
            rows: 3,
            min_jaccard: 2.0,
            ..Default::default()
        };
        assert_eq!(c.validate().len(), 2);
        assert!(CopiesConfig::default().validate().is_empty());
    }
}
