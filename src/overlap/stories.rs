//! Story tier: different reports of the same event, which may share few words.
//!
//! Evidence per document: a TF-IDF vector (sublinear tf, idf over the run) of content words,
//! plus name features (capitalised words that do not start a sentence, and the canonical
//! entity ids when the entity stage supplied them), plus the quotes the document carries
//! (counted like rare words). Two documents' similarity is the cosine of these vectors,
//! damped by the gap between their publication times when both are known.
//!
//! Clustering is average-linkage agglomeration over a sparse k-nearest-neighbour graph,
//! starting from the copy clusters, merging while the average similarity between two
//! clusters is at least a threshold. Average linkage does not chain: two reports of two
//! different earthquakes may each be close to a third "earthquake" report, but their
//! clusters merge only if the reports are close on average. Runs of headlines use centroid
//! linkage instead, after which a lone headline may join the sizeable story it leans to.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use xxhash_rust::xxh3::xxh3_64;

use super::ids::stable_id;
use super::shingle::mix64;
use super::{Doc, StoryRow};

/// Thresholds of the story tier (`[stage.stories]` in a pipeline file).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct StoriesConfig {
    /// Average linkage: two clusters merge while their mean (locally scaled) pairwise
    /// similarity is at least this.
    pub min_similarity: f64,
    /// Centroid linkage: two clusters merge while the cosine of their summed vectors is at
    /// least this.
    pub min_centroid_similarity: f64,
    /// Under `linkage = "auto"`, runs whose median document has fewer words than this are
    /// treated as headlines (centroid linkage); longer ones as articles (average linkage).
    pub headline_words: usize,
    /// Weight of the name features (capitalised words, and the canonical entities when the run
    /// has an entity stage) relative to the words.
    pub name_weight: f64,
    /// Weight of adjacent content-word pairs ("malaysia airline") relative to the words.
    pub bigram_weight: f64,
    /// Weight of the shared-quote features relative to the words.
    pub quote_weight: f64,
    /// Centroid linkage: a report left alone (or in a pair) after the agglomeration joins the
    /// adjacent story of at least `ATTACH_MIN_STORY` reports whose summed vector is closest to
    /// it, when that cosine is at least this (0: never). A headline shares too few words with
    /// its story's other reports to win a merge on its own, but it still leans to one story.
    pub attach_similarity: f64,
    /// Neighbours kept per document in the similarity graph.
    pub neighbours: usize,
    /// At most this many terms (the heaviest) are kept of a document's vector, so that the
    /// tier's memory grows with the number of documents, not their length (0: no limit).
    pub max_terms: usize,
    /// Neighbours are looked for among the documents that share one of a document's this many
    /// heaviest terms (then scored on all terms); 0: all terms.
    pub probe_terms: usize,
    /// A document is found through its this many heaviest terms only (the postings that
    /// propose neighbours hold no other), which bounds the tier's index by the number of
    /// documents; 0: all terms.
    pub index_terms: usize,
    /// Terms in more than this share of the run's documents are ignored (when the run has at
    /// least 20 documents).
    pub max_df: f64,
    /// How two clusters' similarity is measured: "centroid" (cosine of the clusters' summed
    /// vectors; large, diffuse stories of short headlines still attract their reports),
    /// "average" (mean of the locally scaled pairwise similarities on the neighbour graph;
    /// best on full articles) or "auto" (by the run's median document length).
    pub linkage: Linkage,
    /// Local scaling: when positive, a similarity is divided by the geometric mean of the two
    /// documents' similarities to their `scale_rank`-th nearest neighbour, so the threshold
    /// means the same for headlines and for full articles.
    pub scale_rank: usize,
    /// Local scaling never divides by less than this (small runs have no meaningful k-th
    /// neighbour).
    pub scale_floor: f64,
    /// Publication times closer than this many days do not reduce similarity.
    pub time_window_days: f64,
    /// Beyond the window, similarity is multiplied by exp(-extra_days / time_scale_days).
    pub time_scale_days: f64,
}

impl Default for StoriesConfig {
    fn default() -> Self {
        StoriesConfig {
            min_similarity: 0.6,
            min_centroid_similarity: 0.175,
            attach_similarity: 0.08,
            headline_words: 30,
            name_weight: 0.35,
            quote_weight: 1.0,
            bigram_weight: 0.2,
            neighbours: 30,
            max_terms: 0,
            probe_terms: 24,
            index_terms: 64,
            scale_rank: 3,
            linkage: Linkage::Auto,
            scale_floor: 0.15,
            max_df: 0.5,
            time_window_days: 3.0,
            time_scale_days: 7.0,
        }
    }
}

impl StoriesConfig {
    /// Every problem with the thresholds, at once.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if bad(self.min_similarity, 0.0) || !(0.0..=1.0).contains(&self.min_centroid_similarity) {
            p.push(
                "stories: min_similarity must be >= 0 and min_centroid_similarity in [0, 1]"
                    .to_string(),
            );
        }
        if !(0.0..=1.0).contains(&self.attach_similarity) {
            p.push("stories: attach_similarity must lie in [0, 1]".to_string());
        }
        if bad(self.name_weight, 0.0) || bad(self.quote_weight, 0.0) {
            p.push("stories: weights must be non-negative".to_string());
        }
        if self.neighbours == 0 {
            p.push("stories: neighbours must be positive".to_string());
        }
        if !(self.max_df > 0.0 && self.max_df <= 1.0) {
            p.push(format!(
                "stories: max_df must lie in (0, 1], got {}",
                self.max_df
            ));
        }
        if bad(self.time_window_days, 0.0)
            || self.time_scale_days.is_nan()
            || self.time_scale_days <= 0.0
        {
            p.push("stories: time_window_days must be >= 0 and time_scale_days > 0".to_string());
        }
        p
    }
}

/// Cluster-to-cluster similarity of the agglomeration.
#[derive(Debug, Clone, Copy, Deserialize, Serialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Linkage {
    /// Centroid for headline-length runs, average for articles.
    Auto,
    /// Mean pairwise similarity.
    Average,
    /// Cosine of the summed vectors.
    Centroid,
}

/// True when `x` is NaN or below `min`.
fn bad(x: f64, min: f64) -> bool {
    x.is_nan() || x < min
}

/// The story tier's result.
#[derive(Debug, Clone, Default)]
pub struct StoryClusters {
    /// The story id of every document, in input order.
    pub story_id: Vec<String>,
    /// One row per story, sorted by story_id.
    pub rows: Vec<StoryRow>,
}

/// English function words and reporting verbs that say nothing about the event.
const STOP: &[&str] = &[
    "a",
    "about",
    "above",
    "according",
    "after",
    "again",
    "against",
    "all",
    "also",
    "am",
    "an",
    "and",
    "any",
    "ap",
    "are",
    "around",
    "as",
    "at",
    "back",
    "be",
    "because",
    "been",
    "before",
    "being",
    "below",
    "between",
    "both",
    "but",
    "by",
    "can",
    "could",
    "day",
    "de",
    "did",
    "do",
    "does",
    "doing",
    "down",
    "during",
    "each",
    "even",
    "few",
    "first",
    "for",
    "from",
    "further",
    "get",
    "got",
    "had",
    "has",
    "have",
    "having",
    "he",
    "her",
    "here",
    "hers",
    "herself",
    "him",
    "himself",
    "his",
    "how",
    "i",
    "if",
    "in",
    "into",
    "is",
    "it",
    "its",
    "itself",
    "just",
    "la",
    "last",
    "like",
    "made",
    "make",
    "many",
    "may",
    "me",
    "more",
    "most",
    "mr",
    "mrs",
    "ms",
    "much",
    "my",
    "myself",
    "new",
    "news",
    "no",
    "nor",
    "not",
    "now",
    "of",
    "off",
    "on",
    "once",
    "one",
    "only",
    "or",
    "other",
    "our",
    "ours",
    "ourselves",
    "out",
    "over",
    "own",
    "people",
    "report",
    "reported",
    "reports",
    "reuters",
    "s",
    "said",
    "same",
    "say",
    "says",
    "she",
    "should",
    "since",
    "so",
    "some",
    "still",
    "such",
    "t",
    "than",
    "that",
    "the",
    "their",
    "theirs",
    "them",
    "themselves",
    "then",
    "there",
    "these",
    "they",
    "this",
    "those",
    "through",
    "time",
    "to",
    "told",
    "too",
    "two",
    "under",
    "until",
    "up",
    "us",
    "very",
    "via",
    "was",
    "we",
    "well",
    "were",
    "what",
    "when",
    "where",
    "which",
    "while",
    "who",
    "whom",
    "why",
    "will",
    "with",
    "would",
    "year",
    "years",
    "you",
    "your",
    "yours",
    "yourself",
];

/// Whether a lowercased word's hash is a stop word's (a hash set of the stop words' hashes,
/// hashed again with one multiply).
fn is_stop_hash(h: u64) -> bool {
    type Set = std::collections::HashSet<u64, std::hash::BuildHasherDefault<crate::entities::gazetteer::U64Hasher>>;
    static SET: std::sync::OnceLock<Set> = std::sync::OnceLock::new();
    SET.get_or_init(|| STOP.iter().map(|w| xxh3_64(w.as_bytes())).collect()).contains(&h)
}

/// A light suffix folding so "earthquakes"/"earthquake", "killed"/"kill" meet.
fn fold(w: &str) -> std::borrow::Cow<'_, str> {
    use std::borrow::Cow;
    let n = w.chars().count();
    if n > 4 && w.ends_with("ies") {
        return Cow::Owned(format!("{}y", &w[..w.len() - 3]));
    }
    if n > 4 && (w.ends_with("sses") || w.ends_with("shes") || w.ends_with("ches")) {
        return Cow::Borrowed(&w[..w.len() - 2]);
    }
    if n > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        return Cow::Borrowed(&w[..w.len() - 1]);
    }
    if n > 5 && w.ends_with("ed") {
        return Cow::Borrowed(&w[..w.len() - 2]);
    }
    if n > 6 && w.ends_with("ing") {
        return Cow::Borrowed(&w[..w.len() - 3]);
    }
    Cow::Borrowed(w)
}

/// Feature kinds, kept in the low two bits of a term key: content words, names (canonical
/// entities or capitalised words), quotes, adjacent content-word pairs.
const WORD: u32 = 0;
const NAME: u32 = 1;
const QUOTE: u32 = 2;
const BIGRAM: u32 = 3;

/// The key of a term: its hash with the kind in the low two bits.
#[inline]
fn term_key(hash: u64, kind: u32) -> u32 {
    ((hash >> 32) as u32 & !3) | kind
}

#[inline]
fn kind_of(key: u32) -> usize {
    (key & 3) as usize
}

/// A document keeps at most this many distinct terms of its text (the most frequent), so a
/// very long report costs the story tier no more than a long one.
pub const MAX_DOC_TERMS: usize = 2048;

/// The story terms of a document's text: 32-bit hashed keys (kind in the low two bits; two
/// terms of a run rarely share a key, and when they do it only blurs their weight), sorted, with
/// their counts. Capitalised words inside sentences are kept as name terms (beside the
/// canonical entities, when the run has an entity stage).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct DocTerms {
    /// Term keys, ascending.
    pub keys: Vec<u32>,
    /// Occurrences of each key (saturating).
    pub counts: Vec<u16>,
}

/// The story terms of a text and its headline (words, adjacent-word pairs and capitalised
/// words; terms are hashed, never stored as strings).
pub fn doc_terms(text: &str, title: Option<&str>, config: &StoriesConfig) -> DocTerms {
    let mut keys: Vec<u32> = Vec::new();
    let mut lw = String::new();
    let title = title.filter(|t| !text.starts_with(t));
    for line in title.into_iter().chain(std::iter::once(text)).flat_map(str::lines) {
        // Title-case lines (headlines) say nothing about which words are names.
        let toks = tokens(line);
        let caps = toks.iter().filter(|(_, cap, _)| *cap).count();
        let title_case = toks.len() >= 3 && caps * 10 >= toks.len() * 6;
        let mut prev: Option<u64> = None;
        for (w, cap, sentence_start) in &toks {
            lw.clear();
            if w.is_ascii() {
                lw.push_str(w);
                lw.make_ascii_lowercase();
            } else {
                lw.extend(w.chars().flat_map(char::to_lowercase));
            }
            let lh = xxh3_64(lw.as_bytes());
            if lw.chars().nth(1).is_none() || is_stop_hash(lh) {
                prev = None;
                continue;
            }
            let folded = fold(&lw);
            // Folding only ever shortens a word.
            let f = if folded.len() == lw.len() {
                lh
            } else {
                xxh3_64(folded.as_bytes())
            };
            if config.bigram_weight > 0.0 {
                if let Some(p) = prev {
                    keys.push(term_key(mix64(p.rotate_left(17) ^ f), BIGRAM));
                }
                prev = Some(f);
            }
            keys.push(term_key(f, WORD));
            if *cap && !*sentence_start && !title_case && config.name_weight > 0.0 {
                keys.push(term_key(lh, NAME));
            }
        }
    }
    keys.sort_unstable();
    let mut counted: Vec<(u32, u16)> = Vec::with_capacity(keys.len());
    for k in keys {
        match counted.last_mut() {
            Some((last, c)) if *last == k => *c = c.saturating_add(1),
            _ => counted.push((k, 1)),
        }
    }
    if counted.len() > MAX_DOC_TERMS {
        counted.select_nth_unstable_by(MAX_DOC_TERMS, |a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        counted.truncate(MAX_DOC_TERMS);
        counted.sort_unstable_by_key(|x| x.0);
    }
    DocTerms {
        keys: counted.iter().map(|x| x.0).collect(),
        counts: counted.iter().map(|x| x.1).collect(),
    }
}

/// The features of one document before weighting: (term key, count), sorted by key: its text
/// terms, its canonical entities beside the capitalised words (the two see different things:
/// an entity joins "Zelensky" and "Zelenskyy" and names the people of a title-case headline,
/// which has no capitalised-word evidence; the words keep each part of a name), and the quotes
/// it carries.
fn features(doc: &Doc, terms: &DocTerms, quote_keys: &[u64], config: &StoriesConfig) -> Vec<(u32, f32)> {
    let mut out: Vec<(u32, f32)> = terms
        .keys
        .iter()
        .zip(&terms.counts)
        .filter(|(&k, _)| config.name_weight > 0.0 || kind_of(k) != NAME as usize)
        .filter(|(&k, _)| config.bigram_weight > 0.0 || kind_of(k) != BIGRAM as usize)
        .map(|(&k, &c)| (k, c as f32))
        .collect();
    let before = out.len();
    if config.name_weight > 0.0 {
        out.extend(
            doc.entity_ids
                .iter()
                .map(|(e, c)| (term_key(xxh3_64(e.as_bytes()), NAME), c as f32)),
        );
    }
    if config.quote_weight > 0.0 {
        out.extend(quote_keys.iter().map(|&q| (term_key(q, QUOTE), 1.0)));
    }
    if out.len() > before {
        // An entity's key may meet a capitalised word's (both are name keys): their counts add.
        out.sort_unstable_by_key(|x| x.0);
        out.dedup_by(|later, kept| {
            let same = later.0 == kept.0;
            if same {
                kept.1 += later.1;
            }
            same
        });
    }
    out
}

/// Words of a line with (is capitalised, starts a sentence). A word is a run of letters and
/// digits, with apostrophes inside it (a trailing one is dropped) and a decimal point or
/// thousands separator between digits ("6.1", "25,000"). It starts a sentence when it is the
/// line's first or the text since the previous word holds `.`, `!`, `?`, `:`, `"` or `“`.
/// One pass over the bytes; only non-ASCII characters are decoded.
fn tokens(line: &str) -> Vec<(&str, bool, bool)> {
    let b = line.as_bytes();
    let mut out = Vec::new();
    let mut start: Option<usize> = None;
    let mut sentence_start = true;
    let mut push = |s: usize, e: usize, sentence_start: bool| {
        let w = line[s..e].trim_end_matches('\'');
        if let Some(c) = w.chars().next() {
            out.push((w, c.is_uppercase(), sentence_start));
        }
    };
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        let (in_word, len, mark) = if c.is_ascii() {
            let in_number = (c == b'.' || c == b',')
                && start.is_some()
                && i > 0
                && b[i - 1].is_ascii_digit()
                && b.get(i + 1).is_some_and(u8::is_ascii_digit);
            let in_word = c.is_ascii_alphanumeric() || (c == b'\'' && start.is_some()) || in_number;
            (in_word, 1, matches!(c, b'.' | b'!' | b'?' | b':' | b'"'))
        } else {
            // `i` only ever moves by whole characters, so it is on a character boundary.
            let Some(ch) = line[i..].chars().next() else { break };
            (ch.is_alphanumeric(), ch.len_utf8(), ch == '\u{201c}')
        };
        if in_word {
            start.get_or_insert(i);
        } else {
            if let Some(s) = start.take() {
                push(s, i, sentence_start);
                sentence_start = false;
            }
            sentence_start |= mark;
        }
        i += len;
    }
    if let Some(s) = start {
        push(s, line.len(), sentence_start);
    }
    out
}

/// A document's story vector: term ids, sorted, and their weights, L2-normalised over all of
/// the document's terms. Only terms another document shares (and at most
/// [`StoriesConfig::max_terms`] of them, the heaviest) are stored; `rest` is the squared
/// weight of the others, so that sums of vectors (centroid linkage) keep their true norm.
///
/// The vectors are the largest share of the story tier's memory, so they are packed in one
/// allocation: the number of terms (u32), the weights as 16-bit fractions of 1 (all lie in
/// (0, 1]), then the ids as 16-bit gaps from the previous id (two bytes a term instead of
/// four; a rare wider gap takes [`GAP_ESCAPE`] there and four bytes at the end).
#[derive(Debug, Clone, Default)]
struct StoryVec {
    data: Box<[u8]>,
    rest: f32,
}

/// One unit of a 16-bit weight.
const WEIGHT_UNIT: f32 = 1.0 / 65535.0;

/// A 16-bit weight as a fraction of 1.
#[inline]
fn weight(q: u16) -> f32 {
    q as f32 * WEIGHT_UNIT
}

/// A gap between two ids that does not fit 16 bits is written as this mark, and the gap itself
/// (32 bits) after all the 16-bit gaps, in order.
const GAP_ESCAPE: u16 = u16::MAX;

fn put_u16(out: &mut Vec<u8>, x: u16) {
    out.extend_from_slice(&x.to_le_bytes());
}

impl StoryVec {
    /// Quantizes `terms` (sorted by id, weights in (0, 1]) of a vector whose squared norm is
    /// 1: what rounds to zero, and what is not stored, counts in `rest`.
    fn new(terms: &[(u32, f32)]) -> StoryVec {
        debug_assert!(terms.windows(2).all(|w| w[0].0 < w[1].0), "term ids must be sorted");
        let mut kept = 0.0f32;
        let q: Vec<(u32, u16)> = terms
            .iter()
            .map(|&(t, x)| (t, (x.clamp(0.0, 1.0) * 65535.0).round() as u16))
            .filter(|&(_, q)| q > 0)
            .collect();
        let mut data = Vec::with_capacity(4 + q.len() * 4);
        data.extend_from_slice(&(q.len() as u32).to_le_bytes());
        for &(_, w) in &q {
            put_u16(&mut data, w);
            let f = weight(w);
            kept += f * f;
        }
        let mut last = 0u32;
        let mut wide: Vec<u32> = Vec::new();
        for &(t, _) in &q {
            let gap = t - last;
            if gap < GAP_ESCAPE as u32 {
                put_u16(&mut data, gap as u16);
            } else {
                put_u16(&mut data, GAP_ESCAPE);
                wide.push(gap);
            }
            last = t;
        }
        for g in wide {
            data.extend_from_slice(&g.to_le_bytes());
        }
        StoryVec { data: data.into_boxed_slice(), rest: (1.0 - kept).max(0.0) }
    }

    /// Asks the CPU to start loading the whole vector (each of its cache lines): it is read
    /// from end to end soon, from a random place in a heap far larger than the caches.
    #[inline(always)]
    fn prefetch_all(&self) {
        for b in self.data.iter().step_by(64) {
            crate::mem::prefetch(b);
        }
    }

    /// The number of terms and where the weights start.
    #[inline(always)]
    fn header(&self) -> (usize, usize) {
        match self.data.get(..4) {
            Some(b) => (u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize, 4),
            None => (0, 0),
        }
    }

    /// The 16-bit weights in id order.
    fn weights(&self) -> impl Iterator<Item = u16> + '_ {
        let (n, p) = self.header();
        self.data[p..p + 2 * n].chunks_exact(2).map(|b| u16::from_le_bytes([b[0], b[1]]))
    }

    /// (term id, 16-bit weight) pairs in id order.
    #[inline(always)]
    fn iter_q(&self) -> impl Iterator<Item = (u32, u16)> + '_ {
        let (n, p) = self.header();
        let gaps = &self.data[p + 2 * n..p + 4 * n];
        let mut wide = self.data[p + 4 * n..].chunks_exact(4);
        let mut id = 0u32;
        self.weights().zip(gaps.chunks_exact(2)).map(move |(w, g)| {
            let g = u16::from_le_bytes([g[0], g[1]]);
            id += if g == GAP_ESCAPE {
                wide.next().map_or(0, |b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]))
            } else {
                g as u32
            };
            (id, w)
        })
    }

    /// (term id, weight) pairs in id order.
    #[inline(always)]
    fn iter(&self) -> impl Iterator<Item = (u32, f32)> + '_ {
        self.iter_q().map(|(t, q)| (t, weight(q)))
    }

    fn pairs(&self) -> Vec<(u32, f32)> {
        self.iter().collect()
    }

    fn len(&self) -> usize {
        self.header().0
    }
}

/// Per term key: (document frequency, term id or `u32::MAX` when the term is not indexed).
/// The keys are already hashes, so the map hashes them with one multiply: hashing each with
/// xxh3's streaming hasher made up most of the story vectors' lookup time.
type Vocab = HashMap<u32, (u32, u32), std::hash::BuildHasherDefault<crate::entities::gazetteer::U64Hasher>>;

/// How many features ahead a story vector asks for a term's slot in the [`TermTable`].
const TERM_AHEAD: usize = 8;

/// One slot of a [`TermTable`]: a term key with its document frequency and id; a document
/// frequency of 0 marks an empty slot (every counted term has at least 1).
#[derive(Clone, Copy, Default)]
struct TermSlot {
    key: u32,
    df: u32,
    id: u32,
}

/// The story vocabulary once counted, for the lookups of every document's every feature: one
/// flat table with linear probing (at most two thirds full), so that a slot can be asked for
/// ahead of its lookup. A general hash map does not say where a key's slot is.
struct TermTable {
    slots: Vec<TermSlot>,
    shift: u32,
}

impl TermTable {
    fn new(vocab: &Vocab) -> TermTable {
        let bits = (vocab.len() * 3 / 2 + 1).next_power_of_two().trailing_zeros().max(4);
        let mut t = TermTable { slots: vec![TermSlot::default(); 1 << bits], shift: 64 - bits };
        let mask = t.slots.len() - 1;
        for (&key, &(df, id)) in vocab {
            let mut i = t.home(key);
            while t.slots[i].df != 0 {
                i = (i + 1) & mask;
            }
            t.slots[i] = TermSlot { key, df: df.max(1), id };
        }
        t
    }

    /// The slot a key's probe starts at (the top bits of a multiplicative hash).
    #[inline(always)]
    fn home(&self, key: u32) -> usize {
        ((key as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15) >> self.shift) as usize
    }

    #[inline(always)]
    fn prefetch(&self, key: u32) {
        crate::mem::prefetch(&self.slots[self.home(key)]);
    }

    /// (document frequency, id) of a key.
    #[inline]
    fn get(&self, key: u32) -> Option<(u32, u32)> {
        let mask = self.slots.len() - 1;
        let mut i = self.home(key);
        loop {
            let s = self.slots[i];
            if s.df == 0 {
                return None;
            }
            if s.key == key {
                return Some((s.df, s.id));
            }
            i = (i + 1) & mask;
        }
    }
}

/// Where the story tier reads the documents' terms from.
pub enum Terms<'a> {
    /// In memory, one list per document in the tier's order.
    Memory(Vec<DocTerms>),
    /// Spilled to a file; its `k`-th entry belongs to the tier's document `rank[k]`.
    Spilled {
        /// The spill.
        spill: &'a super::spill::SpilledDocs,
        /// The tier's index of each spilled document.
        rank: &'a [usize],
    },
}

/// Documents per block when the terms are walked (and, in memory, freed) block by block.
const BLOCK: usize = 8192;

impl Terms<'_> {
    /// Calls `f(docs, terms)` block by block, `terms[k]` being document `docs[k]`'s. With
    /// `free`, terms held in memory are freed as soon as their block is done.
    fn for_blocks(&mut self, free: bool, mut f: impl FnMut(&[usize], &[DocTerms])) -> std::io::Result<()> {
        match self {
            Terms::Memory(v) => {
                for lo in (0..v.len()).step_by(BLOCK) {
                    let hi = (lo + BLOCK).min(v.len());
                    let docs: Vec<usize> = (lo..hi).collect();
                    f(&docs, &v[lo..hi]);
                    if free {
                        for t in &mut v[lo..hi] {
                            *t = DocTerms::default();
                        }
                    }
                }
                Ok(())
            }
            Terms::Spilled { spill, rank } => spill.for_blocks(BLOCK, |first, block| f(&rank[first..first + block.len()], &block)),
        }
    }
}

/// The story vectors of a run, in two passes over the texts (document frequencies, then
/// weights), so that no document's full feature list outlives its own computation.
fn vectors_of(docs: &[Doc], mut terms: Terms, quote_keys: &[Vec<u64>], config: &StoriesConfig) -> std::io::Result<Vec<StoryVec>> {
    let n = docs.len();
    let feats = |i: usize, t: &DocTerms| features(&docs[i], t, &quote_keys[i], config);
    let merge = |a: Vocab, b: Vocab| {
        let (mut big, small) = if a.len() >= b.len() { (a, b) } else { (b, a) };
        for (k, (d, _)) in small {
            big.entry(k).or_insert((0, u32::MAX)).0 += d;
        }
        big
    };
    let mut vocab = Vocab::default();
    terms.for_blocks(false, |ids, ts| {
        let part = (0..ts.len())
            .into_par_iter()
            .fold(Vocab::default, |mut m, k| {
                for (key, _) in feats(ids[k], &ts[k]) {
                    m.entry(key).or_insert((0, u32::MAX)).0 += 1;
                }
                m
            })
            .reduce(Vocab::default, merge);
        vocab = merge(std::mem::take(&mut vocab), part);
    })?;
    tracing::debug!(vocab = vocab.len(), "story vocabulary");
    let max_df = if n >= 20 {
        (config.max_df * n as f64).ceil() as u32
    } else {
        u32::MAX
    };
    // A term counts when it is neither too common nor (for quotes) carried by one document
    // only; it is indexed when another document could share it. Ids follow the sorted keys,
    // so they do not depend on thread timing.
    let counts = |k: u32, d: u32| d <= max_df && !(kind_of(k) == QUOTE as usize && d < 2);
    let mut indexed: Vec<u32> = vocab
        .iter()
        .filter(|(&k, &(d, _))| d >= 2 && counts(k, d))
        .map(|(&k, _)| k)
        .collect();
    indexed.sort_unstable();
    for (id, k) in indexed.iter().enumerate() {
        if let Some(e) = vocab.get_mut(k) {
            e.1 = id as u32;
        }
    }
    drop(indexed);
    let table = TermTable::new(&vocab);
    drop(vocab);
    let kw = [
        1.0,
        config.name_weight,
        config.quote_weight,
        config.bigram_weight,
    ];
    let max_terms = if config.max_terms == 0 { usize::MAX } else { config.max_terms };
    let vector = |i: usize, t: &DocTerms| {
        let mut norm2 = [0.0f64; 4];
        let mut raw: Vec<(u32, f64, usize)> = Vec::new();
        let f = feats(i, t);
        for (x, &(k, c)) in f.iter().enumerate() {
            // The table is read at random (megabytes at scale): the slot of a key a few
            // features ahead is asked for while this one is looked up.
            if let Some(&(ahead, _)) = f.get(x + TERM_AHEAD) {
                table.prefetch(ahead);
            }
            // Every feature was counted, so every key is there.
            let Some((d, id)) = table.get(k) else { continue };
            if !counts(k, d) {
                continue;
            }
            let idf = ((1.0 + n as f64) / (1.0 + d as f64)).ln() + 1.0;
            let w = (1.0 + (c as f64).ln()) * idf;
            norm2[norm_group(kind_of(k))] += w * w;
            raw.push((id, w, kind_of(k)));
        }
        // Each kind normalised on its own (quotes with the words, see `norm_group`), then
        // weighted, then the whole vector normalised.
        let mut total = 0.0;
        for (_, w, kind) in raw.iter_mut() {
            *w = *w / norm2[norm_group(*kind)].sqrt().max(1e-12) * kw[*kind].sqrt();
            total += *w * *w;
        }
        let total = total.sqrt().max(1e-12);
        let mut terms: Vec<(u32, f32)> = raw
            .into_iter()
            .filter(|&(id, w, _)| id != u32::MAX && w > 0.0)
            .map(|(id, w, _)| (id, (w / total) as f32))
            .collect();
        if terms.len() > max_terms {
            let heavier = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
            terms.select_nth_unstable_by(max_terms, heavier);
            terms.truncate(max_terms);
        }
        terms.sort_unstable_by_key(|x| x.0);
        StoryVec::new(&terms)
    };
    // Block by block, each block's terms freed (or read from the spill) as its vectors are
    // made, so that the terms and the vectors of the whole run are never held at once.
    let mut out: Vec<StoryVec> = (0..n).map(|_| StoryVec::default()).collect();
    terms.for_blocks(true, |ids, ts| {
        let block: Vec<StoryVec> = (0..ts.len()).into_par_iter().map(|k| vector(ids[k], &ts[k])).collect();
        for (k, v) in block.into_iter().enumerate() {
            out[ids[k]] = v;
        }
    })?;
    Ok(out)
}

/// The kind whose norm a term's weight is divided by. Shared quotes are few (most documents
/// have none or one), so normalised on their own a single shared quote would hold a fixed share
/// of its document's vector, and every story-mate that does not carry it would look that much
/// further away; they are normalised with the words instead, each counting like a rare word.
fn norm_group(kind: usize) -> usize {
    if kind == QUOTE as usize {
        WORD as usize
    } else {
        kind
    }
}

/// Time factor between two documents.
fn time_factor(a: Option<i64>, b: Option<i64>, config: &StoriesConfig) -> f64 {
    match (a, b) {
        (Some(a), Some(b)) => {
            let days = (a - b).unsigned_abs() as f64 / 86_400e6;
            let extra = days - config.time_window_days;
            if extra <= 0.0 {
                1.0
            } else {
                (-extra / config.time_scale_days).exp()
            }
        }
        _ => 1.0,
    }
}

/// The (16-bit) weight of the `m`-th heaviest term of a vector: the terms at least this heavy
/// are its `m` heaviest (more on ties). 0, which admits all terms, when `m` is 0 or the vector
/// has no more than `m`.
fn weight_floor(mut w: Vec<u16>, m: usize) -> u16 {
    if m == 0 || w.len() <= m {
        return 0;
    }
    let (_, nth, _) = w.select_nth_unstable_by(m - 1, |a, b| b.cmp(a));
    *nth
}

/// Terms found in more documents than this do not propose neighbours (walking their postings
/// for every document would make the graph quadratic); they still count in the exact
/// similarity of the proposed pairs.
const MAX_POSTING: usize = 1000;

/// `v` cut into its rows, row `i` being `v[off[i]..off[i + 1]]` (`off` ascending, from 0 to at
/// most `v.len()`), so that the rows can be worked on in parallel.
fn split_rows<'a, T>(mut v: &'a mut [T], off: &[usize]) -> Vec<&'a mut [T]> {
    let mut rows = Vec::with_capacity(off.len().saturating_sub(1));
    for w in off.windows(2) {
        let (row, rest) = std::mem::take(&mut v).split_at_mut(w[1] - w[0]);
        rows.push(row);
        v = rest;
    }
    rows
}

/// How many postings ahead the candidate search asks for the accumulator entry it will add to.
const AHEAD: usize = 8;

/// How many candidates ahead the exact scoring asks for a candidate's vector (and twice as far
/// ahead, for where the vector is).
const VEC_AHEAD: usize = 3;

/// The sparse similarity graph: for every document its `k` most similar others (ties by
/// index), symmetrised; edges as (i, j, sim) with i < j, sorted.
fn graph(
    docs: &[Doc],
    copy_of: &[usize],
    vecs: &[StoryVec],
    config: &StoriesConfig,
) -> Vec<(u32, u32, f32)> {
    let n_terms = vecs
        .par_iter()
        .filter_map(|v| v.iter_q().last().map(|(t, _)| t + 1))
        .max()
        .unwrap_or(0) as usize;
    // Postings as one array in term order (offsets per term), filled in two passes: no
    // per-term allocation and no growth slack. A document is posted under its `index_terms`
    // heaviest terms only: a neighbour is proposed by sharing one of those and one of the
    // searching document's `probe_terms` heaviest.
    // A term posted by more than MAX_POSTING documents proposes nothing, so its posting is
    // not stored at all; documents and weights sit in two arrays (six bytes an entry, not
    // eight with padding).
    let floors: Vec<u16> = vecs
        .par_iter()
        .map(|v| weight_floor(v.weights().collect(), config.index_terms))
        .collect();
    let mut start = vec![0usize; n_terms + 1];
    for (v, &f) in vecs.iter().zip(&floors) {
        for (t, _) in v.iter_q().filter(|x| x.1 >= f) {
            start[t as usize + 1] += 1;
        }
    }
    let walked: Vec<bool> = start[1..].iter().map(|&c| c <= MAX_POSTING).collect();
    for t in 0..n_terms {
        start[t + 1] = start[t] + if walked[t] { start[t + 1] } else { 0 };
    }
    let mut posted_doc = vec![0u32; start[n_terms]];
    let mut posted_w = vec![0u16; start[n_terms]];
    let mut fill = start.clone();
    for (i, (v, &f)) in vecs.iter().zip(&floors).enumerate() {
        for (t, q) in v.iter_q().filter(|x| x.1 >= f && walked[x.0 as usize]) {
            posted_doc[fill[t as usize]] = i as u32;
            posted_w[fill[t as usize]] = q;
            fill[t as usize] += 1;
        }
    }
    drop(fill);
    // A term's posted documents and their weights.
    let posting = |t: u32| {
        let r = start[t as usize]..start[t as usize + 1];
        (&posted_doc[r.clone()], &posted_w[r])
    };
    let k = config.neighbours;
    let n = vecs.len();
    // Publication times in one array: read for every candidate, they would otherwise be two
    // dependent lookups (the document, then its prepared form) at random places.
    let times: Vec<Option<i64>> = docs.iter().map(|d| d.published_at()).collect();
    let by_sim = |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
    let probe = if config.probe_terms == 0 { usize::MAX } else { config.probe_terms };
    let pool = k.saturating_mul(2);
    // Neighbour lists, flat: document i's list (best first) is `nb[off[i]..off[i + 1]]`.
    // Computed in blocks so that only one block's lists are ever held as separate vectors.
    // Room for k neighbours each is asked for up front (only the pages filled count), so
    // the array does not grow by doubling; when that much cannot be had, it grows as needed.
    let mut nb: Vec<(u32, f32)> = Vec::new();
    let _ = nb.try_reserve_exact(n.saturating_mul(k));
    let mut off: Vec<usize> = Vec::with_capacity(n + 1);
    off.push(0);
    const LIST_BLOCK: usize = 1 << 16;
    for lo in (0..n).step_by(LIST_BLOCK) {
        let block: Vec<Vec<(u32, f32)>> = (lo..(lo + LIST_BLOCK).min(n))
            .into_par_iter()
            .map_init(
                || {
                    let dense = vec![0.0f32; n_terms];
                    let held = vec![0u64; n_terms.div_ceil(64)];
                    (vec![0.0f32; n], Vec::<u32>::new(), dense, held, Vec::<(u32, u16)>::new())
                },
                |(acc, touched, dense, held, own), i| {
                    // Candidates: documents sharing one of this document's heaviest terms,
                    // ranked by the part of the dot product those terms give (a dense
                    // accumulator with a touched list: no hashing in the inner loop); the best
                    // are then scored exactly over all terms.
                    own.clear();
                    own.extend(vecs[i].iter_q());
                    let mut order: Vec<usize> = (0..own.len()).collect();
                    if own.len() > probe {
                        order.select_nth_unstable_by(probe, |&a, &b| {
                            own[b].1.cmp(&own[a].1).then(own[a].0.cmp(&own[b].0))
                        });
                        order.truncate(probe);
                    }
                    for &x in &order {
                        let (t, w) = (own[x].0, weight(own[x].1));
                        let (docs_of, weights) = posting(t);
                        for (p, (&j, &qj)) in docs_of.iter().zip(weights).enumerate() {
                            // The accumulator is read at random (megabytes at scale): ask for
                            // the entry a few postings ahead while this one is added.
                            if let Some(&ahead) = docs_of.get(p + AHEAD) {
                                crate::mem::prefetch(&acc[ahead as usize]);
                            }
                            if j as usize != i {
                                let a = &mut acc[j as usize];
                                if *a == 0.0 {
                                    touched.push(j);
                                }
                                *a += w * weight(qj);
                            }
                        }
                    }
                    // No need to sort the candidates by id: every choice below is by a total
                    // order (similarity, then id), so the same list comes out in any order.
                    let mut l: Vec<(u32, f32)> = touched
                        .drain(..)
                        .map(|j| (j, std::mem::take(&mut acc[j as usize])))
                        .collect();
                    if l.len() > pool {
                        l.select_nth_unstable_by(pool, by_sim);
                        l.truncate(pool);
                    }
                    // Exact scores against this document's vector spread out by term id. A
                    // bit per term says which entries are set: the bit array is 32 times
                    // smaller than the weights and stays in cache, so a candidate's term that
                    // this document lacks (most of them) costs no read of the large array.
                    // Such a term adds a zero, as it did when its entry was read.
                    for &(t, q) in own.iter() {
                        dense[t as usize] = weight(q);
                        held[t as usize / 64] |= 1 << (t % 64);
                    }
                    // Each candidate's vector is its own allocation somewhere in the heap:
                    // all its lines are asked for a few candidates ahead (and where it is, and
                    // the candidate's time, further ahead still).
                    for &(j, _) in l.iter().take(2 * VEC_AHEAD) {
                        crate::mem::prefetch(&vecs[j as usize]);
                        crate::mem::prefetch(&times[j as usize]);
                    }
                    for &(j, _) in l.iter().take(VEC_AHEAD) {
                        vecs[j as usize].prefetch_all();
                    }
                    for c in 0..l.len() {
                        if let Some(&(ahead, _)) = l.get(c + 2 * VEC_AHEAD) {
                            crate::mem::prefetch(&vecs[ahead as usize]);
                            crate::mem::prefetch(&times[ahead as usize]);
                        }
                        if let Some(&(ahead, _)) = l.get(c + VEC_AHEAD) {
                            vecs[ahead as usize].prefetch_all();
                        }
                        let (j, s) = &mut l[c];
                        *s = vecs[*j as usize]
                            .iter()
                            .map(|(t, w)| {
                                // Without a branch (whether a term is shared is a coin toss):
                                // a term not held reads entry 0, which is in cache, times 0.
                                let bit = (held[t as usize / 64] >> (t % 64)) & 1;
                                dense[t as usize * bit as usize] * w * bit as f32
                            })
                            .sum();
                        *s *= time_factor(times[i], times[*j as usize], config) as f32;
                    }
                    for &(t, _) in own.iter() {
                        dense[t as usize] = 0.0;
                        held[t as usize / 64] = 0;
                    }
                    l.retain(|&(_, s)| s > 0.0);
                    if l.len() > k {
                        l.select_nth_unstable_by(k, by_sim);
                        l.truncate(k);
                    }
                    l.sort_unstable_by(by_sim);
                    // Hold k entries until the block is copied out, not the candidate pool.
                    l.shrink_to_fit();
                    l
                },
            )
            .collect();
        for l in block {
            nb.extend_from_slice(&l);
            off.push(nb.len());
        }
    }
    drop((posted_doc, posted_w, walked));
    drop(start);
    // The local scale of a document: its similarity to its `scale_rank`-th neighbour outside
    // its own copy cluster (copies would make every scale ~1).
    let floor = config.scale_floor.max(1e-3) as f32;
    let sigma: Vec<f32> = (0..n)
        .into_par_iter()
        .map(|i| {
            if config.scale_rank == 0 {
                return 1.0;
            }
            let mut others = nb[off[i]..off[i + 1]].iter().filter(|(j, _)| copy_of[*j as usize] != copy_of[i]);
            match others.clone().nth(config.scale_rank - 1).or_else(|| others.next_back()) {
                None => floor.max(1.0),
                Some(&(_, s)) => s.max(floor),
            }
        })
        .collect();
    // Scaled similarities; each list then in neighbour order, for the lookups below.
    split_rows(&mut nb, &off).into_par_iter().enumerate().for_each(|(i, l)| {
        for (j, s) in l.iter_mut() {
            *s /= (sigma[i] * sigma[*j as usize]).sqrt();
        }
        l.sort_unstable_by_key(|x| x.0);
    });
    let list = |i: usize| &nb[off[i]..off[i + 1]];
    // One edge per pair, (smaller, larger), ordered: a pair in both lists takes the smaller
    // document's entry. Counted first, so that the edge array is allocated once at its size.
    // The entry of `i`'s list for `j` is an edge unless `j`'s list holds the same pair and is
    // the smaller document's; an edge sits in the row of the pair's smaller document.
    let counted = |i: usize, j: u32| j as usize > i || list(j as usize).binary_search_by_key(&(i as u32), |x| x.0).is_err();
    let owner = |i: usize, j: u32| i.min(j as usize);
    // Whether each entry is an edge, found on the pool (the binary searches are the cost).
    let is_edge: Vec<bool> = (0..n)
        .into_par_iter()
        .flat_map_iter(|i| list(i).iter().map(move |&(j, _)| counted(i, j)))
        .collect();
    // The entries of `i`'s list that are edges.
    let edges_in = |i: usize| list(i).iter().zip(&is_edge[off[i]..off[i + 1]]).filter(|x| *x.1).map(|x| *x.0);
    let mut row = vec![0usize; n + 1];
    for i in 0..n {
        for (j, _) in edges_in(i) {
            row[owner(i, j) + 1] += 1;
        }
    }
    for a in 0..n {
        row[a + 1] += row[a];
    }
    let mut edges: Vec<(u32, u32, f32)> = vec![(0, 0, 0.0); row[n]];
    let mut fill = row.clone();
    for i in 0..n {
        for (j, s) in edges_in(i) {
            let a = owner(i, j);
            edges[fill[a]] = (a as u32, if a == i { j } else { i as u32 }, s);
            fill[a] += 1;
        }
    }
    drop((nb, off, fill, is_edge));
    split_rows(&mut edges, &row).into_par_iter().for_each(|r| r.sort_unstable_by_key(|x| x.1));
    edges
}

#[derive(PartialEq)]
struct Cand {
    avg: f64,
    /// The two clusters' names (`a < b`), which order ties.
    a: u32,
    b: u32,
    /// Where each is held, and its version when this candidate was made.
    sa: u32,
    sb: u32,
    va: u32,
    vb: u32,
}
impl Eq for Cand {}
impl PartialOrd for Cand {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Cand {
    fn cmp(&self, o: &Self) -> Ordering {
        // Highest average first; ties by smallest names (reversed: BinaryHeap is a max-heap).
        self.avg
            .total_cmp(&o.avg)
            .then_with(|| (o.a, o.b).cmp(&(self.a, self.b)))
    }
}

/// How many neighbours ahead average linkage asks for a neighbour's adjacency list.
const LINK_AHEAD: usize = 4;

/// Average-linkage agglomeration over a sparse graph, from initial groups: `init[i]` is the
/// group of element `i` (any index; equal = same group). Missing edges count as similarity 0.
/// Returns each element's final group representative (the smallest element index in it).
pub fn average_linkage(
    n: usize,
    init: &[usize],
    edges: &[(u32, u32, f32)],
    threshold: f64,
) -> Vec<u32> {
    let mut uf = super::unionfind::UnionFind::new(n);
    for (i, &g) in init.iter().enumerate() {
        uf.union(i as u32, g as u32);
    }
    let root0 = uf.roots();
    let mut size = vec![0u32; n];
    for &r in &root0 {
        size[r as usize] += 1;
    }
    // Cluster adjacency: per root, its neighbours' roots (ascending) and the sums of the
    // similarities between the two clusters, in two parallel arrays (12 bytes a link; a hash
    // map per cluster took twice that and more). Each pair's sum adds its edges in edge order.
    let mut degree = vec![0usize; n];
    for &(i, j, _) in edges {
        let (a, b) = (root0[i as usize], root0[j as usize]);
        if a != b {
            degree[a as usize] += 1;
            degree[b as usize] += 1;
        }
    }
    let mut nbr: Vec<Vec<u32>> = degree.iter().map(|&d| Vec::with_capacity(d)).collect();
    let mut sim: Vec<Vec<f64>> = degree.iter().map(|&d| Vec::with_capacity(d)).collect();
    drop(degree);
    // The edges come by their smaller end: the larger end's list is anywhere. Ask for its
    // root, then for where its lists are, then for their last entries (next to where
    // the edge goes), each a few edges ahead.
    for (k, &(i, j, s)) in edges.iter().enumerate() {
        if let Some(e) = edges.get(k + 4 * LINK_AHEAD) {
            crate::mem::prefetch(&root0[e.1 as usize]);
        }
        if let Some(e) = edges.get(k + 2 * LINK_AHEAD) {
            let r = root0[e.1 as usize] as usize;
            crate::mem::prefetch(&nbr[r]);
            crate::mem::prefetch(&sim[r]);
        }
        if let Some(e) = edges.get(k + LINK_AHEAD) {
            let r = root0[e.1 as usize] as usize;
            if let (Some(x), Some(y)) = (nbr[r].last(), sim[r].last()) {
                crate::mem::prefetch(x);
                crate::mem::prefetch(y);
            }
        }
        let (a, b) = (root0[i as usize], root0[j as usize]);
        if a != b {
            nbr[a as usize].push(b);
            sim[a as usize].push(s as f64);
            nbr[b as usize].push(a);
            sim[b as usize].push(s as f64);
        }
    }
    // Per cluster (on the pool): neighbours in ascending order, one sum each. The sort is
    // stable, so a pair's sum adds its edges in edge order.
    nbr.par_iter_mut().zip(sim.par_iter_mut()).for_each_init(Vec::new, |tmp: &mut Vec<(u32, f64)>, (ids, sums)| {
        tmp.clear();
        tmp.extend(ids.iter().copied().zip(sums.iter().copied()));
        tmp.sort_by_key(|x| x.0);
        ids.clear();
        sums.clear();
        for &(b, s) in tmp.iter() {
            match ids.last() {
                Some(&x) if x == b => *sums.last_mut().expect("parallel arrays") += s,
                _ => {
                    ids.push(b);
                    sums.push(0.0 + s);
                }
            }
        }
        ids.shrink_to_fit();
        sums.shrink_to_fit();
    });
    // A cluster is named by its smallest root, which orders ties, and is held in the slot of
    // whichever of its two parts had more neighbours: a merge then renames the entries of the
    // part with fewer neighbours in its neighbours' lists, and puts the shorter list into the
    // longer. Which slot holds a cluster changes no sum: x + y is y + x.
    let mut name: Vec<u32> = (0..n as u32).collect();
    let mut version = vec![0u32; n];
    let mut alive: Vec<bool> = (0..n).map(|i| root0[i] == i as u32).collect();
    let mut heap = BinaryHeap::new();
    for a in 0..n {
        if !alive[a] {
            continue;
        }
        for (&b, &s) in nbr[a].iter().zip(&sim[a]) {
            if (a as u32) < b {
                let avg = s / (size[a] as f64 * size[b as usize] as f64);
                if avg >= threshold {
                    heap.push(Cand {
                        avg,
                        a: a as u32,
                        b,
                        sa: a as u32,
                        sb: b,
                        va: 0,
                        vb: 0,
                    });
                }
            }
        }
    }
    while let Some(c) = heap.pop() {
        // Where the candidate's two clusters are held.
        let (ha, hb) = (c.sa as usize, c.sb as usize);
        if !alive[ha] || !alive[hb] || version[ha] != c.va || version[hb] != c.vb {
            continue;
        }
        // Merge the slot with fewer neighbours (b) into the other (a).
        let (a, b) = if nbr[hb].len() > nbr[ha].len() { (hb, ha) } else { (ha, hb) };
        name[a] = c.a;
        let (nb, sb) = (std::mem::take(&mut nbr[b]), std::mem::take(&mut sim[b]));
        alive[b] = false;
        link_remove(&mut nbr[a], &mut sim[a], b as u32);
        link_merge(&mut nbr[a], &mut sim[a], &nb, &sb, a as u32);
        // The neighbours' lists are scattered over the heap: ask for where each is a few
        // neighbours ahead, and for the middle of its ids (where the search starts) nearer.
        for (k, (&x, &s)) in nb.iter().zip(&sb).enumerate() {
            if let Some(&y) = nb.get(k + 2 * LINK_AHEAD) {
                crate::mem::prefetch(&nbr[y as usize]);
                crate::mem::prefetch(&sim[y as usize]);
            }
            if let Some(&y) = nb.get(k + LINK_AHEAD) {
                let l = &nbr[y as usize];
                if let Some(m) = l.get(l.len() / 2) {
                    crate::mem::prefetch(m);
                }
            }
            if x as usize == a {
                continue;
            }
            link_rename(&mut nbr[x as usize], &mut sim[x as usize], b as u32, a as u32, s);
        }
        size[a] += size[b];
        version[a] += 1;
        uf.union(a as u32, b as u32);
        // A neighbour's average is at most its sum over this cluster's size: most are passed
        // over on that (with a margin far above rounding) without reading the neighbour's size.
        let bound = threshold * size[a] as f64 * (1.0 - 1e-9);
        for (&x, &s) in nbr[a].iter().zip(&sim[a]) {
            if s < bound {
                continue;
            }
            let avg = s / (size[a] as f64 * size[x as usize] as f64);
            if avg >= threshold {
                let ((p, sp), (q, sq)) = if name[a] < name[x as usize] {
                    ((name[a], a as u32), (name[x as usize], x))
                } else {
                    ((name[x as usize], x), (name[a], a as u32))
                };
                heap.push(Cand {
                    avg,
                    a: p,
                    b: q,
                    sa: sp,
                    sb: sq,
                    va: version[sp as usize],
                    vb: version[sq as usize],
                });
            }
        }
    }
    uf.roots()
}

/// Removes neighbour `x` from a cluster's sorted adjacency, if there.
fn link_remove(ids: &mut Vec<u32>, sums: &mut Vec<f64>, x: u32) {
    if let Ok(k) = ids.binary_search(&x) {
        ids.remove(k);
        sums.remove(k);
    }
}

/// In a cluster's sorted adjacency, neighbour `from` becomes `to` (the cluster `from` merged
/// into) and `s` is added to `to`'s sum (from 0 when `to` is new): the same as removing `from`
/// and adding `s` for `to`, but when `to` is new only the entries between the two move.
fn link_rename(ids: &mut Vec<u32>, sums: &mut Vec<f64>, from: u32, to: u32, s: f64) {
    let Ok(kf) = ids.binary_search(&from) else {
        return link_add(ids, sums, to, s);
    };
    // Where `to` is or would go, in the list without `from`.
    let found = if to < from {
        ids[..kf].binary_search(&to)
    } else {
        ids[kf + 1..].binary_search(&to).map(|k| k + kf).map_err(|k| k + kf)
    };
    match found {
        Ok(k) => {
            ids.remove(kf);
            sums.remove(kf);
            sums[k] += s;
        }
        Err(k) => {
            if k < kf {
                ids.copy_within(k..kf, k + 1);
                sums.copy_within(k..kf, k + 1);
            } else {
                ids.copy_within(kf + 1..k + 1, kf);
                sums.copy_within(kf + 1..k + 1, kf);
            }
            ids[k] = to;
            sums[k] = 0.0 + s;
        }
    }
}

/// Adds `s` to the sum for neighbour `x` in a cluster's sorted adjacency (from 0 when new).
fn link_add(ids: &mut Vec<u32>, sums: &mut Vec<f64>, x: u32, s: f64) {
    match ids.binary_search(&x) {
        Ok(k) => sums[k] += s,
        Err(k) => {
            ids.insert(k, x);
            sums.insert(k, 0.0 + s);
        }
    }
}

/// Cluster `b`'s sorted adjacency merged into `a`'s, the sums of a neighbour they share
/// added, neighbour `skip` left out of `b`'s. In place: `b`'s entries (the shorter list) are
/// looked up in `a`'s, and the new ones put in with one backward pass.
fn link_merge(ids: &mut Vec<u32>, sums: &mut Vec<f64>, b_ids: &[u32], b_sums: &[f64], skip: u32) {
    // New neighbours, with where each goes in `a`'s list as it is (ascending).
    let mut new: Vec<(usize, u32, f64)> = Vec::new();
    for (&y, &s) in b_ids.iter().zip(b_sums) {
        if y == skip {
            continue;
        }
        match ids.binary_search(&y) {
            Ok(k) => sums[k] += s,
            Err(k) => new.push((k, y, 0.0 + s)),
        }
    }
    if new.is_empty() {
        return;
    }
    let old = ids.len();
    ids.resize(old + new.len(), 0);
    sums.resize(old + new.len(), 0.0);
    // From the back: the entries at and after a new one's place move up by the number of new
    // ones up to it.
    let mut end = old;
    for (m, &(k, y, s)) in new.iter().enumerate().rev() {
        ids.copy_within(k..end, k + m + 1);
        sums.copy_within(k..end, k + m + 1);
        ids[k + m] = y;
        sums[k + m] = s;
        end = k;
    }
}

fn merge_sparse(a: &[(u32, f32)], b: &[(u32, f32)]) -> Vec<(u32, f32)> {
    let mut out = Vec::with_capacity(a.len() + b.len());
    let (mut i, mut j) = (0, 0);
    while i < a.len() || j < b.len() {
        if j >= b.len() || (i < a.len() && a[i].0 < b[j].0) {
            out.push(a[i]);
            i += 1;
        } else if i >= a.len() || b[j].0 < a[i].0 {
            out.push(b[j]);
            j += 1;
        } else {
            out.push((a[i].0, a[i].1 + b[j].1));
            i += 1;
            j += 1;
        }
    }
    out
}

fn dot_sparse(a: &[(u32, f32)], b: &[(u32, f32)]) -> f64 {
    let (mut i, mut j, mut s) = (0, 0, 0.0f64);
    while i < a.len() && j < b.len() {
        match a[i].0.cmp(&b[j].0) {
            Ordering::Less => i += 1,
            Ordering::Greater => j += 1,
            Ordering::Equal => {
                s += a[i].1 as f64 * b[j].1 as f64;
                i += 1;
                j += 1;
            }
        }
    }
    s
}

#[allow(clippy::needless_range_loop)]
/// Centroid-linkage agglomeration: clusters adjacent in the neighbour graph merge, best
/// first, while the cosine of their summed vectors is at least `threshold`.
fn centroid_linkage(
    n: usize,
    init: &[usize],
    vecs: &[StoryVec],
    edges: &[(u32, u32, f32)],
    threshold: f64,
    attach: f64,
) -> Vec<u32> {
    let mut uf = super::unionfind::UnionFind::new(n);
    for (i, &g) in init.iter().enumerate() {
        uf.union(i as u32, g as u32);
    }
    let root0 = uf.roots();
    let mut sum: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    // Squared weight of the terms no other document shares (they add to a sum's norm only).
    let mut rest = vec![0.0f64; n];
    for i in 0..n {
        let r = root0[i] as usize;
        sum[r] = merge_sparse(&sum[r], &vecs[i].pairs());
        rest[r] += vecs[i].rest as f64;
    }
    let mut norm: Vec<f64> = sum
        .iter()
        .zip(&rest)
        .map(|(v, r)| (dot_sparse(v, v) + r).sqrt())
        .collect();
    let mut adj: Vec<std::collections::BTreeSet<u32>> = vec![Default::default(); n];
    for &(i, j, _) in edges {
        let (a, b) = (root0[i as usize], root0[j as usize]);
        if a != b {
            adj[a as usize].insert(b);
            adj[b as usize].insert(a);
        }
    }
    let cos = |sum: &Vec<Vec<(u32, f32)>>, norm: &Vec<f64>, a: usize, b: usize| {
        let d = norm[a] * norm[b];
        if d <= 0.0 {
            0.0
        } else {
            dot_sparse(&sum[a], &sum[b]) / d
        }
    };
    let mut version = vec![0u32; n];
    let mut alive: Vec<bool> = (0..n).map(|i| root0[i] == i as u32).collect();
    let mut size = vec![0u32; n];
    for &r in &root0 {
        size[r as usize] += 1;
    }
    let mut heap = BinaryHeap::new();
    for a in 0..n {
        for &b in &adj[a] {
            if (a as u32) < b {
                let avg = cos(&sum, &norm, a, b as usize);
                if avg >= threshold {
                    heap.push(Cand {
                        avg,
                        a: a as u32,
                        b,
                        sa: a as u32,
                        sb: b,
                        va: 0,
                        vb: 0,
                    });
                }
            }
        }
    }
    while let Some(c) = heap.pop() {
        let (a, b) = (c.a as usize, c.b as usize);
        if !alive[a] || !alive[b] || version[a] != c.va || version[b] != c.vb {
            continue;
        }
        alive[b] = false;
        let sb = std::mem::take(&mut sum[b]);
        sum[a] = merge_sparse(&sum[a], &sb);
        rest[a] += rest[b];
        norm[a] = (dot_sparse(&sum[a], &sum[a]) + rest[a]).sqrt();
        let nb = std::mem::take(&mut adj[b]);
        for x in nb {
            if x as usize != a {
                adj[a].insert(x);
                adj[x as usize].remove(&(b as u32));
                adj[x as usize].insert(a as u32);
            }
        }
        adj[a].remove(&(b as u32));
        version[a] += 1;
        size[a] += size[b];
        uf.union(a as u32, b as u32);
        let ns: Vec<u32> = adj[a].iter().copied().collect();
        for x in ns {
            let avg = cos(&sum, &norm, a, x as usize);
            if avg >= threshold {
                let (p, q) = if (a as u32) < x {
                    (a as u32, x)
                } else {
                    (x, a as u32)
                };
                heap.push(Cand {
                    avg,
                    a: p,
                    b: q,
                    sa: p,
                    sb: q,
                    va: version[p as usize],
                    vb: version[q as usize],
                });
            }
        }
    }
    if attach > 0.0 {
        // Decided on the finished clusters, then applied, so that one attachment does not
        // change another's centroid.
        let mut moves = Vec::new();
        for a in (0..n).filter(|&a| alive[a] && size[a] <= ATTACH_MAX_SIZE) {
            let mut best: Option<(f64, u32)> = None;
            for &x in adj[a].iter().filter(|&&x| size[x as usize] >= ATTACH_MIN_STORY) {
                let c = cos(&sum, &norm, a, x as usize);
                // adj is ordered, so ties go to the smaller root.
                if c >= attach && best.is_none_or(|(bc, _)| c > bc) {
                    best = Some((c, x));
                }
            }
            if let Some((_, x)) = best {
                moves.push((a as u32, x));
            }
        }
        for (a, x) in moves {
            uf.union(a, x);
        }
    }
    uf.roots()
}

/// Clusters of at most this many reports may be attached to a story by `attach_similarity`.
const ATTACH_MAX_SIZE: u32 = 2;
/// ... and only to a story of at least this many.
const ATTACH_MIN_STORY: u32 = 5;

/// Canonical key of a quote for the story features (its first five normalized words; none
/// for a shorter quote).
pub fn quote_key(text: &str) -> Option<u64> {
    // The words as the copy tier reads them, without a String per word (a key is made for
    // every quote of the run).
    let (mut buf, mut key, mut n) = (String::new(), String::new(), 0);
    super::shingle::for_each_word(text, &mut buf, |w| {
        if n < 5 {
            if n > 0 {
                key.push(' ');
            }
            key.push_str(w);
        }
        n += 1;
    });
    (n >= 5).then(|| xxh3_64(key.as_bytes()))
}

/// The story vectors of a run's documents (see [`cluster`]): built from the documents'
/// terms, entities and quotes, after which the terms are no longer needed.
pub struct Vectors(Vec<StoryVec>);

/// Builds the story vectors of `docs`, with the [`quote_key`]s of the run's quotes as
/// (document index, key) pairs.
pub fn vectors(docs: &[Doc], terms: Terms, quotes: &[(usize, u64)], config: &StoriesConfig) -> std::io::Result<Vectors> {
    let n = docs.len();
    let mut quote_keys: Vec<Vec<u64>> = vec![Vec::new(); n];
    for &(doc, k) in quotes {
        if doc < n {
            quote_keys[doc].push(k);
        }
    }
    let t = std::time::Instant::now();
    let vecs = vectors_of(docs, terms, &quote_keys, config)?;
    tracing::debug!(
        step = "vectors",
        terms = vecs.iter().map(StoryVec::len).sum::<usize>(),
        seconds = t.elapsed().as_secs_f64(),
        peak_rss_mb = crate::mem::peak_rss_mb(), rss_mb = crate::mem::rss_mb(),
        "story tier"
    );
    Ok(Vectors(vecs))
}

/// Clusters the documents into stories from their [`vectors`]. `canonical[i]` is the
/// copy-cluster canonical of document `i` (copies always share a story).
pub fn cluster(
    docs: &[Doc],
    canonical: &[usize],
    vecs: Vectors,
    config: &StoriesConfig,
) -> StoryClusters {
    let n = docs.len();
    if n == 0 {
        return StoryClusters::default();
    }
    let vecs = vecs.0;
    let t = std::time::Instant::now();
    let edges = graph(docs, canonical, &vecs, config);
    tracing::debug!(step = "graph", edges = edges.len(), seconds = t.elapsed().as_secs_f64(), peak_rss_mb = crate::mem::peak_rss_mb(), rss_mb = crate::mem::rss_mb(), "story tier");
    let t = std::time::Instant::now();
    let linkage = match config.linkage {
        Linkage::Auto => {
            let mut lens: Vec<usize> = docs
                .iter()
                .map(|d| d.prepared.sig.n_words as usize)
                .collect();
            lens.sort_unstable();
            if lens[lens.len() / 2] < config.headline_words {
                Linkage::Centroid
            } else {
                Linkage::Average
            }
        }
        l => l,
    };
    let roots = match linkage {
        Linkage::Auto | Linkage::Average => {
            // The vectors are done with once the graph is built.
            drop(vecs);
            average_linkage(n, canonical, &edges, config.min_similarity)
        }
        Linkage::Centroid => {
            centroid_linkage(n, canonical, &vecs, &edges, config.min_centroid_similarity, config.attach_similarity)
        }
    };
    tracing::debug!(step = "linkage", seconds = t.elapsed().as_secs_f64(), peak_rss_mb = crate::mem::peak_rss_mb(), rss_mb = crate::mem::rss_mb(), "story tier");
    rows(docs, &roots, &edges)
}

fn rows(docs: &[Doc], roots: &[u32], edges: &[(u32, u32, f32)]) -> StoryClusters {
    let n = docs.len();
    let mut members: HashMap<u32, Vec<usize>> = HashMap::new();
    for (i, &r) in roots.iter().enumerate() {
        members.entry(r).or_default().push(i);
    }
    // Within-story similarity sums, for the representative (medoid).
    let mut within = vec![0.0f64; n];
    for &(i, j, s) in edges {
        if roots[i as usize] == roots[j as usize] {
            within[i as usize] += s as f64;
            within[j as usize] += s as f64;
        }
    }
    let n_chars: Vec<u64> = docs.iter().map(|d| d.prepared.sig.n_chars).collect();
    // Each story's row on its own (on the pool); the rows are sorted by id at the end, so the
    // order they are made in does not matter.
    let groups: Vec<Vec<usize>> = members.into_values().collect();
    let made: Vec<(StoryRow, Vec<usize>)> = groups
        .into_par_iter()
        .map(|m| {
            // The id comes from the story's first report (earliest, then longest, then
            // smallest id) so it stays put while later reports join.
            let anchor = *m
                .iter()
                .min_by(|&&x, &&y| {
                    let k = |i: usize| {
                        (
                            docs[i].published_at().is_none(),
                            docs[i].published_at().unwrap_or(i64::MAX),
                            std::cmp::Reverse(n_chars[i]),
                            docs[i].doc_id(),
                        )
                    };
                    k(x).cmp(&k(y))
                })
                .expect("a story has a member");
            let id = stable_id("story", &[docs[anchor].doc_id()]);
            let rep = *m
                .iter()
                .max_by(|&&x, &&y| {
                    within[x]
                        .total_cmp(&within[y])
                        .then_with(|| docs[y].doc_id().cmp(docs[x].doc_id()))
                })
                .expect("a story has a member");
            let mut ent: HashMap<&str, usize> = HashMap::new();
            for &i in &m {
                for (e, c) in docs[i].entity_ids.iter() {
                    *ent.entry(e).or_default() += c as usize;
                }
            }
            let mut ent: Vec<(&str, usize)> = ent.into_iter().collect();
            ent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
            let row = StoryRow {
                story_id: id,
                n_documents: m.len() as u64,
                representative_doc_id: docs[rep].doc_id().to_string(),
                title: docs[rep].prepared.lead.clone(),
                top_entities: ent.into_iter().take(5).map(|(e, _)| e.to_string()).collect(),
            };
            (row, m)
        })
        .collect();
    let mut story_id = vec![String::new(); n];
    let mut out = Vec::with_capacity(made.len());
    for (row, m) in made {
        for i in m {
            story_id[i] = row.story_id.clone();
        }
        out.push(row);
    }
    out.sort_by(|a, b| a.story_id.cmp(&b.story_id));
    StoryClusters {
        story_id,
        rows: out,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::overlap::{prepare, OverlapConfig, PreparedDoc};

    fn doc(id: &str, text: &str) -> PreparedDoc {
        prepare(id, text, None, None, &OverlapConfig::default())
    }

    fn terms(p: &[PreparedDoc]) -> Vec<DocTerms> {
        p.iter().map(|p| p.terms.clone()).collect()
    }

    fn views(p: &[PreparedDoc]) -> Vec<Doc<'_>> {
        p.iter()
            .map(|p| Doc {
                prepared: p,
                entity_ids: Default::default(),
            })
            .collect()
    }

    #[test]
    fn quote_keys_are_the_first_five_words() {
        let by_words = |t: &str| {
            let w = crate::overlap::shingle::words(t);
            (w.len() >= 5).then(|| xxh3_64(w[..5].join(" ").as_bytes()))
        };
        for t in [
            "“We will not stand for it,” he said, “not now, not ever.”",
            "Four words only here",
            "ÉTÉ à Paris: l'Œuvre -- 2,521 shooting incidents",
            "  ...one, two; three!four\nfive six",
            "",
        ] {
            assert_eq!(quote_key(t), by_words(t), "{t}");
        }
        assert!(quote_key("Four words only here").is_none());
    }

    #[test]
    fn stop_list_is_sorted() {
        let mut s = STOP.to_vec();
        s.sort_unstable();
        assert_eq!(s, STOP);
    }

    #[test]
    fn stop_words_are_found_by_their_hash_and_others_are_not() {
        assert!(STOP.iter().all(|w| is_stop_hash(xxh3_64(w.as_bytes()))));
        for w in ["earthquake", "zelensky", "kyiv", "said", "ukraine", "the president", ""] {
            assert_eq!(is_stop_hash(xxh3_64(w.as_bytes())), STOP.binary_search(&w).is_ok(), "{w}");
        }
    }

    /// The tokenizer as first written, one `char` at a time: the reference for [`tokens`].
    fn tokens_by_chars(line: &str) -> Vec<(&str, bool, bool)> {
        let mut spans: Vec<(usize, usize)> = Vec::new();
        let mut start = None;
        let b = line.as_bytes();
        for (i, c) in line.char_indices() {
            // A decimal point or thousands separator between digits stays inside the number
            // ("6.1", "7.1", "25,000").
            let in_number = (c == '.' || c == ',')
                && start.is_some()
                && i > 0
                && b[i - 1].is_ascii_digit()
                && b.get(i + 1).is_some_and(u8::is_ascii_digit);
            if c.is_alphanumeric() || (c == '\'' && start.is_some()) || in_number {
                if start.is_none() {
                    start = Some(i);
                }
            } else if let Some(s) = start.take() {
                spans.push((s, i));
            }
        }
        if let Some(s) = start {
            spans.push((s, line.len()));
        }
        let mut out = Vec::with_capacity(spans.len());
        let mut last_end = 0;
        for (k, &(s, e)) in spans.iter().enumerate() {
            let gap = &line[last_end..s];
            let sentence_start = k == 0 || gap.contains(['.', '!', '?', ':', '"', '\u{201c}']);
            last_end = e;
            let w = line[s..e].trim_end_matches('\'');
            if w.is_empty() {
                continue;
            }
            let cap = w.chars().next().map(|c| c.is_uppercase()).unwrap_or(false);
            out.push((w, cap, sentence_start));
        }
        out
    }

    #[test]
    fn tokens_match_the_char_by_char_reference() {
        let alphabet: Vec<char> = "aZ09 .,'!?:\"\u{201c}\u{201d}-ÉéßİДж日\u{301}\t".chars().collect();
        let mut x = 0x2545_f491_4f6c_dd1du64;
        let mut next = || (crate::entities::tagger::xorshift(&mut x) >> 33) as usize;
        for _ in 0..20_000 {
            let mut line = String::new();
            for _ in 0..next() % 24 {
                line.push(alphabet[next() % alphabet.len()]);
            }
            assert_eq!(tokens(&line), tokens_by_chars(&line), "{line:?}");
        }
        assert_eq!(
            tokens("He said: \u{201c}Kyiv's 6.1 quake, 25,000 hurt.\u{201d} Then 'we' left"),
            tokens_by_chars("He said: \u{201c}Kyiv's 6.1 quake, 25,000 hurt.\u{201d} Then 'we' left")
        );
    }

    #[test]
    fn folding() {
        assert_eq!(fold("earthquakes"), "earthquake");
        assert_eq!(fold("injuries"), "injury");
        assert_eq!(fold("status"), "status");
    }

    #[test]
    fn numbers_keep_their_decimal_point() {
        let words: Vec<&str> = tokens("A 6.1 quake, then 25,000 fled; iOS 7.1. Done.").iter().map(|x| x.0).collect();
        assert_eq!(words, vec!["A", "6.1", "quake", "then", "25,000", "fled", "iOS", "7.1", "Done"]);
    }

    #[test]
    fn names_are_capitalised_words_inside_sentences() {
        let t = tokens("The actress Tara Reid entered rehab. She said");
        let caps: Vec<&str> = t
            .iter()
            .filter(|(_, c, s)| *c && !*s)
            .map(|x| x.0)
            .collect();
        assert_eq!(caps, vec!["Tara", "Reid"]);
    }

    #[test]
    fn average_linkage_does_not_chain() {
        // 0-1 close, 1-2 close, 0-2 unrelated: single link would join all three.
        let edges = vec![(0, 1, 0.9), (1, 2, 0.5)];
        let r = average_linkage(3, &[0, 1, 2], &edges, 0.4);
        assert_eq!(r, vec![0, 0, 2]);
        let r = average_linkage(3, &[0, 1, 2], &edges, 0.2);
        assert_eq!(r, vec![0, 0, 0]);
    }

    #[test]
    fn a_lone_headline_attaches_to_the_closest_sizeable_story() {
        let v = |terms: Vec<(u32, f32)>| StoryVec::new(&terms);
        // 0-4: one story; 5 shares one of its terms, weakly; 6-7: a pair; 8 leans to the pair.
        let mut vecs: Vec<StoryVec> = (0..5).map(|_| v(vec![(1, 0.8), (2, 0.6)])).collect();
        vecs.push(v(vec![(1, 0.3)]));
        vecs.extend((0..2).map(|_| v(vec![(3, 1.0)])));
        vecs.push(v(vec![(3, 0.3)]));
        let mut edges: Vec<(u32, u32, f32)> = Vec::new();
        for i in 0..5 {
            for j in i + 1..5 {
                edges.push((i, j, 1.0));
            }
        }
        edges.extend([(4, 5, 0.2), (6, 7, 1.0), (6, 8, 0.2)]);
        let init: Vec<usize> = (0..9).collect();
        let roots = centroid_linkage(9, &init, &vecs, &edges, 0.5, 0.0);
        assert!(roots[..5].iter().all(|&r| r == roots[0]));
        assert_ne!(roots[5], roots[0]);
        assert_eq!(roots[6], roots[7]);
        // cos(5, story) = 0.3 * 4 / 5 = 0.24
        let roots = centroid_linkage(9, &init, &vecs, &edges, 0.5, 0.2);
        assert_eq!(roots[5], roots[0]);
        // A pair is not a story to attach to.
        assert_ne!(roots[8], roots[6]);
        let roots = centroid_linkage(9, &init, &vecs, &edges, 0.5, 0.3);
        assert_ne!(roots[5], roots[0]);
    }

    /// Average linkage the plain way: every pair of clusters scored afresh after each merge,
    /// the best (ties: smallest ids) merged while its average reaches the threshold.
    fn average_linkage_by_rescoring(n: usize, init: &[usize], edges: &[(u32, u32, f32)], threshold: f64) -> Vec<u32> {
        let mut uf = crate::overlap::unionfind::UnionFind::new(n);
        for (i, &g) in init.iter().enumerate() {
            uf.union(i as u32, g as u32);
        }
        loop {
            let roots = uf.roots();
            let mut sum: std::collections::BTreeMap<(u32, u32), f64> = Default::default();
            for &(i, j, s) in edges {
                let (a, b) = (roots[i as usize], roots[j as usize]);
                if a != b {
                    *sum.entry((a.min(b), a.max(b))).or_default() += s as f64;
                }
            }
            let size = |r: u32| roots.iter().filter(|&&x| x == r).count() as f64;
            let best = sum
                .iter()
                .map(|(&(a, b), &s)| (s / (size(a) * size(b)), a, b))
                .filter(|x| x.0 >= threshold)
                .max_by(|x, y| x.0.total_cmp(&y.0).then_with(|| (y.1, y.2).cmp(&(x.1, x.2))));
            match best {
                Some((_, a, b)) => uf.union(a, b),
                None => return roots,
            }
        }
    }

    #[test]
    fn average_linkage_merges_as_rescoring_every_pair_would() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = |m: u64| crate::entities::tagger::xorshift(&mut x) % m;
        for round in 0..400 {
            let n = 2 + rnd(24) as usize;
            // Some starting groups (copies), then edges with similarities in sixteenths, so
            // that sums are exact and ties are common.
            let init: Vec<usize> = (0..n).map(|i| if rnd(4) == 0 { rnd(i as u64 + 1) as usize } else { i }).collect();
            let mut edges = Vec::new();
            for i in 0..n as u32 {
                for j in i + 1..n as u32 {
                    if rnd(3) == 0 {
                        edges.push((i, j, (1 + rnd(16)) as f32 / 16.0));
                    }
                }
            }
            let threshold = [0.25, 0.4, 0.5, 0.75][round % 4];
            let want = average_linkage_by_rescoring(n, &init, &edges, threshold);
            assert_eq!(average_linkage(n, &init, &edges, threshold), want, "round {round}: n {n}, init {init:?}, edges {edges:?}");
        }
    }

    fn link_merge_by_walk(a_ids: &[u32], a_sums: &[f64], b_ids: &[u32], b_sums: &[f64], skip: u32) -> (Vec<u32>, Vec<f64>) {
        let mut ids = Vec::with_capacity(a_ids.len() + b_ids.len());
        let mut sums = Vec::with_capacity(a_ids.len() + b_ids.len());
        let (mut i, mut j) = (0, 0);
        while i < a_ids.len() || j < b_ids.len() {
            if j < b_ids.len() && b_ids[j] == skip {
                j += 1;
                continue;
            }
            match (a_ids.get(i), b_ids.get(j)) {
                (Some(&x), Some(&y)) if x == y => {
                    ids.push(x);
                    sums.push(a_sums[i] + b_sums[j]);
                    i += 1;
                    j += 1;
                }
                (Some(&x), Some(&y)) if x < y => {
                    ids.push(x);
                    sums.push(a_sums[i]);
                    i += 1;
                }
                (Some(&x), None) => {
                    ids.push(x);
                    sums.push(a_sums[i]);
                    i += 1;
                }
                (_, Some(&y)) => {
                    ids.push(y);
                    sums.push(0.0 + b_sums[j]);
                    j += 1;
                }
                (None, None) => break,
            }
        }
        (ids, sums)
    }

    #[test]
    fn merging_adjacencies_in_place_is_the_sorted_merge() {
        let mut x: u64 = 0x3c6e_f372_fe94_f82b;
        let mut rnd = |m: u64| crate::entities::tagger::xorshift(&mut x) % m;
        let list = |rnd: &mut dyn FnMut(u64) -> u64, len: u64| {
            let mut ids: Vec<u32> = (0..rnd(len)).map(|_| rnd(40) as u32).collect();
            ids.sort_unstable();
            ids.dedup();
            let sums: Vec<f64> = ids.iter().map(|_| rnd(16) as f64 / 16.0).collect();
            (ids, sums)
        };
        for _ in 0..3000 {
            let (a_ids, a_sums) = list(&mut rnd, 30);
            let (b_ids, b_sums) = list(&mut rnd, 12);
            let skip = rnd(40) as u32;
            let want = link_merge_by_walk(&a_ids, &a_sums, &b_ids, &b_sums, skip);
            let (mut ids, mut sums) = (a_ids.clone(), a_sums.clone());
            link_merge(&mut ids, &mut sums, &b_ids, &b_sums, skip);
            assert_eq!((ids, sums), want, "{a_ids:?} + {b_ids:?} without {skip}");
        }
    }

    #[test]
    fn renaming_a_neighbour_is_removing_it_and_adding_the_other() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = |m: u64| crate::entities::tagger::xorshift(&mut x) % m;
        for _ in 0..2000 {
            let mut ids: Vec<u32> = (0..rnd(12)).map(|_| rnd(20) as u32).collect();
            ids.sort_unstable();
            ids.dedup();
            let sums: Vec<f64> = ids.iter().map(|_| rnd(16) as f64 / 16.0).collect();
            let from = rnd(20) as u32;
            let to = (from + 1 + rnd(19) as u32) % 20;
            let s = rnd(16) as f64 / 16.0;
            let (mut want_ids, mut want_sums) = (ids.clone(), sums.clone());
            link_remove(&mut want_ids, &mut want_sums, from);
            link_add(&mut want_ids, &mut want_sums, to, s);
            let (mut got_ids, mut got_sums) = (ids.clone(), sums.clone());
            link_rename(&mut got_ids, &mut got_sums, from, to, s);
            assert_eq!((got_ids, got_sums), (want_ids, want_sums), "{ids:?} {sums:?} {from} -> {to} + {s}");
        }
    }

    #[test]
    fn two_events_of_one_kind_stay_apart() {
        let a1 = "A magnitude 6.1 earthquake struck Sumatra on Tuesday, Indonesian officials said. Padang was shaken.";
        let a2 = "The Sumatra earthquake of magnitude 6.1 damaged houses in Padang, officials in Indonesia said.";
        let b1 = "A 4.5 earthquake hit Northern California near Cloverdale. Residents of Sonoma County felt it.";
        let b2 =
            "Sonoma County residents felt a 4.5 earthquake near Cloverdale in Northern California.";
        let prepared = vec![doc("a1", a1), doc("b1", b1), doc("a2", a2), doc("b2", b2)];
        let docs = views(&prepared);
        for linkage in [Linkage::Average, Linkage::Centroid] {
            let config = StoriesConfig {
                linkage,
                ..Default::default()
            };
            let out = cluster(&docs, &[0, 1, 2, 3], vectors(&docs, Terms::Memory(terms(&prepared)), &[], &config).unwrap(), &config);
            assert_eq!(out.story_id[0], out.story_id[2]);
            assert_eq!(out.story_id[1], out.story_id[3]);
            assert_ne!(out.story_id[0], out.story_id[1]);
            assert_eq!(out.rows.len(), 2);
        }
    }

    #[test]
    fn vectors_store_shared_terms_and_keep_the_norm_of_the_rest() {
        let prepared = vec![
            doc("a", "volcano erupted near Naples; ash clouds closed the airport"),
            doc("b", "the volcano near Naples erupted again overnight"),
            doc("c", "parliament passed the budget after a long debate"),
        ];
        let docs = views(&prepared);
        let config = StoriesConfig::default();
        let v = vectors_of(&docs, Terms::Memory(terms(&prepared)), &[vec![], vec![], vec![]], &config).unwrap();
        for sv in &v {
            let kept: f32 = sv.iter().map(|x| x.1 * x.1).sum();
            assert!((kept + sv.rest - 1.0).abs() < 1e-4, "{sv:?}");
        }
        // "c" shares no term with the others: nothing of it is stored, all its weight is rest.
        assert_eq!(v[2].len(), 0);
        assert!(v[0].len() > 0);
        assert!(dot_sparse(&v[0].pairs(), &v[1].pairs()) > 0.3);
        // The pruned vector keeps the heaviest terms only.
        let pruned = vectors_of(
            &docs,
            Terms::Memory(terms(&prepared)),
            &[vec![], vec![], vec![]],
            &StoriesConfig {
                max_terms: 1,
                ..config
            },
        )
        .unwrap();
        assert_eq!(pruned[0].len(), 1);
        assert_eq!(pruned[0].weights().next(), v[0].weights().max());
    }

    #[test]
    fn a_shared_quote_does_not_push_apart_the_story_mates_without_it() {
        let prepared = vec![
            doc("a", "The volcano near Naples erupted overnight and ash closed the airport, officials said."),
            doc("b", "Ash from the erupting volcano near Naples closed the airport overnight."),
            doc("c", "The Naples airport closed overnight as the volcano erupted and ash fell."),
        ];
        let docs = views(&prepared);
        let config = StoriesConfig::default();
        let quote = quote_key("we have never seen this much ash here").unwrap();
        let plain = vectors_of(&docs, Terms::Memory(terms(&prepared)), &[vec![], vec![], vec![]], &config).unwrap();
        let quoted = vectors_of(&docs, Terms::Memory(terms(&prepared)), &[vec![quote], vec![quote], vec![]], &config).unwrap();
        let cos = |v: &[StoryVec], i: usize, j: usize| dot_sparse(&v[i].pairs(), &v[j].pairs());
        // The quote brings a and b closer, and costs a and c little.
        assert!(cos(&quoted, 0, 1) > cos(&plain, 0, 1));
        assert!(cos(&quoted, 0, 2) >= 0.9 * cos(&plain, 0, 2), "{} vs {}", cos(&quoted, 0, 2), cos(&plain, 0, 2));
    }

    #[test]
    fn entities_are_name_features_beside_the_capitalised_words() {
        let prepared = vec![doc("a", "Officials in Kyiv said that Volodymyr Zelenskyy would travel.")];
        let mut ents = crate::overlap::DocEntities::new(vec!["ent-zelensky"]);
        ents.push_doc([(0, 2)]);
        let with = Doc { prepared: &prepared[0], entity_ids: ents.get(0) };
        let config = StoriesConfig::default();
        let names = |d: &Doc| -> Vec<(u32, f32)> {
            features(d, &prepared[0].terms, &[], &config).into_iter().filter(|x| kind_of(x.0) == NAME as usize).collect()
        };
        let text_only = names(&views(&prepared)[0]);
        let both = names(&with);
        // Kyiv, Volodymyr, Zelenskyy from the text; the entity (twice) beside them.
        assert_eq!(text_only.len(), 3);
        assert_eq!(both.len(), 4);
        let entity = term_key(xxh3_64(b"ent-zelensky"), NAME);
        assert!(both.contains(&(entity, 2.0)));
        assert!(both.windows(2).all(|w| w[0].0 < w[1].0), "sorted, no repeated key");
    }

    #[test]
    fn weight_floor_admits_the_heaviest_terms() {
        let v = [100u16, 500, 300, 500, 200];
        assert_eq!(weight_floor(v.to_vec(), 2), 500);
        assert_eq!(weight_floor(v.to_vec(), 3), 300);
        assert_eq!(v.iter().filter(|&&x| x >= weight_floor(v.to_vec(), 3)).count(), 3);
        assert_eq!(weight_floor(v.to_vec(), 0), 0);
        assert_eq!(weight_floor(v.to_vec(), 5), 0);
    }

    #[test]
    fn packed_vectors_give_back_their_ids_and_weights() {
        let ids = [0u32, 1, 127, 65_534, 131_068, 131_069, 196_604, 1 << 21, 1 << 28, u32::MAX - 1];
        let terms: Vec<(u32, f32)> = ids.iter().enumerate().map(|(k, &t)| (t, 0.1 + k as f32 * 0.05)).collect();
        let v = StoryVec::new(&terms);
        assert_eq!(v.len(), ids.len());
        assert_eq!(v.iter_q().map(|x| x.0).collect::<Vec<u32>>(), ids);
        for ((_, w), (_, x)) in v.iter().zip(&terms) {
            assert!((w - x).abs() < 1e-4);
        }
        let empty = StoryVec::default();
        assert_eq!((empty.len(), empty.iter().count()), (0, 0));
        assert_eq!(StoryVec::new(&[]).len(), 0);
    }

    #[test]
    fn weights_keep_sixteen_bits_and_the_norm() {
        let v = StoryVec::new(&[(3, 0.6), (7, 0.0000001), (9, 0.8)]);
        // The weight too small for 16 bits goes to the rest; the norm stays 1.
        assert_eq!(v.iter_q().map(|x| x.0).collect::<Vec<u32>>(), vec![3, 9]);
        let p = v.pairs();
        assert!((p[0].1 - 0.6).abs() < 1e-4 && (p[1].1 - 0.8).abs() < 1e-4, "{p:?}");
        let kept: f32 = p.iter().map(|x| x.1 * x.1).sum();
        assert!((kept + v.rest - 1.0).abs() < 1e-4);
    }

    #[test]
    fn a_long_text_keeps_its_most_frequent_terms_only() {
        let mut text = String::new();
        for i in 0..3 * MAX_DOC_TERMS {
            text.push_str(&format!("w{i}x "));
        }
        text.push_str("volcano volcano volcano");
        let t = doc_terms(&text, None, &StoriesConfig::default());
        assert_eq!(t.keys.len(), MAX_DOC_TERMS);
        assert!(t.keys.windows(2).all(|w| w[0] < w[1]));
        let volcano = term_key(xxh3_64(b"volcano"), WORD);
        let at = t.keys.binary_search(&volcano).expect("the most frequent word is kept");
        assert_eq!(t.counts[at], 3);
    }

    #[test]
    fn copies_share_a_story() {
        let prepared = vec![doc("a", "alpha beta"), doc("b", "gamma delta")];
        let docs = views(&prepared);
        let config = StoriesConfig::default();
        let out = cluster(&docs, &[0, 0], vectors(&docs, Terms::Memory(terms(&prepared)), &[], &config).unwrap(), &config);
        assert_eq!(out.story_id[0], out.story_id[1]);
    }
}
