//! Story tier: different reports of the same event, which may share few words.
//!
//! Evidence per document: a TF-IDF vector (sublinear tf, idf over the run) of content words,
//! plus name features: the canonical entity ids when the entity stage supplied them, else
//! capitalised words that do not start a sentence (a text-only stand-in for names), plus
//! the quotes the document carries. Two documents' similarity is the cosine of these vectors,
//! damped by the gap between their publication times when both are known.
//!
//! Clustering is average-linkage agglomeration over a sparse k-nearest-neighbour graph,
//! starting from the copy clusters, merging while the average similarity between two
//! clusters is at least a threshold. Average linkage does not chain: two reports of two
//! different earthquakes may each be close to a third "earthquake" report, but their
//! clusters merge only if the reports are close on average.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::cmp::Ordering;
use std::collections::{BinaryHeap, HashMap};
use xxhash_rust::xxh3::Xxh3Builder;

use super::ids::stable_id;
use super::{OverlapDoc, OverlapQuote, StoryRow};

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
    /// Weight of the name features (entities, or capitalised words) relative to the words.
    pub name_weight: f64,
    /// Weight of adjacent content-word pairs ("malaysia airline") relative to the words.
    pub bigram_weight: f64,
    /// Weight of the shared-quote features relative to the words.
    pub quote_weight: f64,
    /// Neighbours kept per document in the similarity graph.
    pub neighbours: usize,
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
            headline_words: 30,
            name_weight: 0.25,
            quote_weight: 1.0,
            bigram_weight: 0.2,
            neighbours: 30,
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

fn is_stop(w: &str) -> bool {
    STOP.binary_search(&w).is_ok()
}

/// A light suffix folding so "earthquakes"/"earthquake", "killed"/"kill" meet.
fn fold(w: &str) -> String {
    let n = w.chars().count();
    if n > 4 && w.ends_with("ies") {
        return format!("{}y", &w[..w.len() - 3]);
    }
    if n > 4 && (w.ends_with("sses") || w.ends_with("shes") || w.ends_with("ches")) {
        return w[..w.len() - 2].to_string();
    }
    if n > 3 && w.ends_with('s') && !w.ends_with("ss") && !w.ends_with("us") && !w.ends_with("is") {
        return w[..w.len() - 1].to_string();
    }
    if n > 5 && w.ends_with("ed") {
        return w[..w.len() - 2].to_string();
    }
    if n > 6 && w.ends_with("ing") {
        return w[..w.len() - 3].to_string();
    }
    w.to_string()
}

/// The features of one document before weighting: term -> count.
fn features(
    doc: &OverlapDoc,
    quote_keys: &[String],
    config: &StoriesConfig,
) -> Vec<(String, f64, u8)> {
    let mut counts: HashMap<(String, u8), f64, Xxh3Builder> = HashMap::default();
    let mut add = |k: String, kind: u8| *counts.entry((k, kind)).or_default() += 1.0;
    let text: String = match doc.title {
        Some(t) if !doc.text.starts_with(t) => format!("{t}\n{}", doc.text),
        _ => doc.text.to_string(),
    };
    let use_entities = !doc.entity_ids.is_empty();
    for line in text.lines() {
        // Title-case lines (headlines) say nothing about which words are names.
        let toks = tokens(line);
        let caps = toks.iter().filter(|(_, cap, _)| *cap).count();
        let title_case = toks.len() >= 3 && caps * 10 >= toks.len() * 6;
        let mut prev: Option<String> = None;
        for (w, cap, sentence_start) in &toks {
            let lw = w.to_lowercase();
            if lw.chars().count() < 2 || is_stop(&lw) {
                prev = None;
                continue;
            }
            let f = fold(&lw);
            if config.bigram_weight > 0.0 {
                if let Some(p) = prev.take() {
                    add(format!("{p} {f}"), 3);
                }
                prev = Some(f.clone());
            }
            add(f, 0);
            if !use_entities && *cap && !*sentence_start && !title_case && config.name_weight > 0.0
            {
                add(lw, 1);
            }
        }
    }
    if use_entities && config.name_weight > 0.0 {
        for e in &doc.entity_ids {
            add(e.to_string(), 1);
        }
    }
    if config.quote_weight > 0.0 {
        for q in quote_keys {
            add(q.clone(), 2);
        }
    }
    let mut v: Vec<(String, f64, u8)> = counts
        .into_iter()
        .map(|((k, kind), c)| (k, c, kind))
        .collect();
    v.sort_unstable_by(|a, b| (a.2, &a.0).cmp(&(b.2, &b.0)));
    v
}

/// Words of a line with (is capitalised, starts a sentence).
fn tokens(line: &str) -> Vec<(&str, bool, bool)> {
    let mut spans: Vec<(usize, usize)> = Vec::new();
    let mut start = None;
    for (i, c) in line.char_indices() {
        if c.is_alphanumeric() || (c == '\'' && start.is_some()) {
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

/// Sparse L2-normalised vectors, one per document, as (term index, weight) sorted by index.
fn vectors(
    docs: &[OverlapDoc],
    quote_keys: &[Vec<String>],
    config: &StoriesConfig,
) -> Vec<Vec<(u32, f32)>> {
    let feats: Vec<Vec<(String, f64, u8)>> = docs
        .par_iter()
        .enumerate()
        .map(|(i, d)| features(d, &quote_keys[i], config))
        .collect();
    let n = docs.len();
    // Term ids by first occurrence, documents in order, features sorted within a document:
    // deterministic for a given document order (and `run` fixes that order by doc_id).
    let mut vocab: HashMap<(&str, u8), u32, Xxh3Builder> = HashMap::default();
    let mut df: Vec<u32> = Vec::new();
    for f in &feats {
        for (k, _, kind) in f {
            let next = df.len() as u32;
            let id = *vocab.entry((k.as_str(), *kind)).or_insert(next);
            if id == next {
                df.push(0);
            }
            df[id as usize] += 1;
        }
    }
    let max_df = if n >= 20 {
        (config.max_df * n as f64).ceil() as u32
    } else {
        u32::MAX
    };
    feats
        .par_iter()
        .map(|f| {
            let mut v: Vec<(u32, f32)> = Vec::with_capacity(f.len());
            let mut norm2 = [0.0f64; 4];
            let mut raw: Vec<(u32, f64, u8)> = Vec::with_capacity(f.len());
            for (k, c, kind) in f {
                let t = vocab[&(k.as_str(), *kind)];
                let d = df[t as usize];
                if d > max_df || (*kind == 2 && d < 2) {
                    continue;
                }
                let idf = ((1.0 + n as f64) / (1.0 + d as f64)).ln() + 1.0;
                let w = (1.0 + c.ln()) * idf;
                norm2[*kind as usize] += w * w;
                raw.push((t, w, *kind));
            }
            // Each kind normalised on its own, then weighted, then the whole vector normalised.
            let kw = [
                1.0,
                config.name_weight,
                config.quote_weight,
                config.bigram_weight,
            ];
            let mut total = 0.0;
            for (_, w, kind) in raw.iter_mut() {
                let k = *kind as usize;
                *w = *w / norm2[k].sqrt().max(1e-12) * kw[k].sqrt();
                total += *w * *w;
            }
            let total = total.sqrt().max(1e-12);
            for (t, w, _) in raw {
                if w > 0.0 {
                    v.push((t, (w / total) as f32));
                }
            }
            v.sort_unstable_by_key(|x| x.0);
            v
        })
        .collect()
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

/// Terms found in more documents than this are skipped when looking for neighbours.
const MAX_POSTING: usize = 1000;

/// The sparse similarity graph: for every document its `k` most similar others (ties by
/// index), symmetrised; edges as (i, j, sim) with i < j, sorted.
fn graph(
    docs: &[OverlapDoc],
    copy_of: &[usize],
    vecs: &[Vec<(u32, f32)>],
    config: &StoriesConfig,
) -> Vec<(u32, u32, f32)> {
    let n_terms = vecs
        .iter()
        .flat_map(|v| v.iter().map(|x| x.0 + 1))
        .max()
        .unwrap_or(0) as usize;
    let mut postings: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n_terms];
    for (i, v) in vecs.iter().enumerate() {
        for &(t, w) in v {
            postings[t as usize].push((i as u32, w));
        }
    }
    let k = config.neighbours;
    let n = vecs.len();
    let lists: Vec<Vec<(u32, f32)>> = (0..n)
        .into_par_iter()
        .map_init(
            || (vec![0.0f32; n], Vec::<u32>::new()),
            |(acc, touched), i| {
                // Dense accumulator with a touched list: no hashing in the inner loop.
                for &(t, w) in &vecs[i] {
                    let posting = &postings[t as usize];
                    // A term carried by very many reports names no particular event, and
                    // walking its postings for every document would make the graph quadratic.
                    if posting.len() > MAX_POSTING {
                        continue;
                    }
                    for &(j, wj) in posting {
                        if j as usize != i {
                            let a = &mut acc[j as usize];
                            if *a == 0.0 {
                                touched.push(j);
                            }
                            *a += w * wj;
                        }
                    }
                }
                touched.sort_unstable();
                let mut l: Vec<(u32, f32)> = touched
                    .drain(..)
                    .map(|j| {
                        let s = std::mem::take(&mut acc[j as usize]);
                        (
                            j,
                            s * time_factor(
                                docs[i].published_at,
                                docs[j as usize].published_at,
                                config,
                            ) as f32,
                        )
                    })
                    .filter(|&(_, s)| s > 0.0)
                    .collect();
                let by_sim =
                    |a: &(u32, f32), b: &(u32, f32)| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0));
                if l.len() > k {
                    l.select_nth_unstable_by(k, by_sim);
                    l.truncate(k);
                }
                l.sort_unstable_by(by_sim);
                // Keep only k entries' worth of memory, not the whole candidate list's.
                l.shrink_to_fit();
                l
            },
        )
        .collect();
    // The local scale of a document: its similarity to its `scale_rank`-th neighbour outside
    // its own copy cluster (copies would make every scale ~1).
    let floor = config.scale_floor.max(1e-3) as f32;
    let sigma: Vec<f32> = lists
        .iter()
        .enumerate()
        .map(|(i, l)| {
            if config.scale_rank == 0 {
                return 1.0;
            }
            let others: Vec<f32> = l
                .iter()
                .filter(|(j, _)| copy_of[*j as usize] != copy_of[i])
                .map(|x| x.1)
                .collect();
            if others.is_empty() {
                floor.max(1.0)
            } else {
                others[(config.scale_rank - 1).min(others.len() - 1)].max(floor)
            }
        })
        .collect();
    let mut edges: Vec<(u32, u32, f32)> = Vec::new();
    for (i, l) in lists.iter().enumerate() {
        for &(j, s) in l {
            let s = s / (sigma[i] * sigma[j as usize]).sqrt();
            let (a, b) = if (i as u32) < j {
                (i as u32, j)
            } else {
                (j, i as u32)
            };
            edges.push((a, b, s));
        }
    }
    edges.sort_by_key(|x| (x.0, x.1));
    edges.dedup_by(|x, y| x.0 == y.0 && x.1 == y.1);
    edges
}

#[derive(PartialEq)]
struct Cand {
    avg: f64,
    a: u32,
    b: u32,
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
        // Highest average first; ties by smallest ids (reversed: BinaryHeap is a max-heap).
        self.avg
            .total_cmp(&o.avg)
            .then_with(|| (o.a, o.b).cmp(&(self.a, self.b)))
    }
}

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
    // Cluster adjacency: sums of similarities between clusters, keyed by root.
    let mut adj: Vec<HashMap<u32, f64, Xxh3Builder>> = vec![HashMap::default(); n];
    for &(i, j, s) in edges {
        let (a, b) = (root0[i as usize], root0[j as usize]);
        if a != b {
            *adj[a as usize].entry(b).or_default() += s as f64;
            *adj[b as usize].entry(a).or_default() += s as f64;
        }
    }
    let mut version = vec![0u32; n];
    let mut alive: Vec<bool> = (0..n).map(|i| root0[i] == i as u32).collect();
    let mut heap = BinaryHeap::new();
    for a in 0..n {
        if !alive[a] {
            continue;
        }
        for (&b, &s) in &adj[a] {
            if (a as u32) < b {
                let avg = s / (size[a] as f64 * size[b as usize] as f64);
                if avg >= threshold {
                    heap.push(Cand {
                        avg,
                        a: a as u32,
                        b,
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
        // Merge b into a (a < b).
        let nb = std::mem::take(&mut adj[b]);
        alive[b] = false;
        adj[a].remove(&(b as u32));
        for (x, s) in nb {
            if x as usize == a {
                continue;
            }
            *adj[a].entry(x).or_default() += s;
            let m = &mut adj[x as usize];
            m.remove(&(b as u32));
            *m.entry(a as u32).or_default() += s;
        }
        size[a] += size[b];
        version[a] += 1;
        uf.union(a as u32, b as u32);
        let mut ns: Vec<(u32, f64)> = adj[a].iter().map(|(&x, &s)| (x, s)).collect();
        ns.sort_by_key(|x| x.0);
        for (x, s) in ns {
            let avg = s / (size[a] as f64 * size[x as usize] as f64);
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
                    va: version[p as usize],
                    vb: version[q as usize],
                });
            }
        }
    }
    uf.roots()
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
pub fn centroid_linkage(
    n: usize,
    init: &[usize],
    vecs: &[Vec<(u32, f32)>],
    edges: &[(u32, u32, f32)],
    threshold: f64,
) -> Vec<u32> {
    let mut uf = super::unionfind::UnionFind::new(n);
    for (i, &g) in init.iter().enumerate() {
        uf.union(i as u32, g as u32);
    }
    let root0 = uf.roots();
    let mut sum: Vec<Vec<(u32, f32)>> = vec![Vec::new(); n];
    for i in 0..n {
        let r = root0[i] as usize;
        sum[r] = merge_sparse(&sum[r], &vecs[i]);
    }
    let mut norm: Vec<f64> = sum.iter().map(|v| dot_sparse(v, v).sqrt()).collect();
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
        norm[a] = dot_sparse(&sum[a], &sum[a]).sqrt();
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
                    va: version[p as usize],
                    vb: version[q as usize],
                });
            }
        }
    }
    uf.roots()
}

/// Canonical key of a quote for the story features (its normalized words).
fn quote_key(text: &str) -> Option<String> {
    let w = super::shingle::words(text);
    if w.len() < 5 {
        return None;
    }
    Some(format!("q:{}", w[..5].join(" ")))
}

/// Clusters the documents into stories. `canonical[i]` is the copy-cluster canonical of
/// document `i` (copies always share a story).
pub fn cluster(
    docs: &[OverlapDoc],
    canonical: &[usize],
    quotes: &[OverlapQuote],
    config: &StoriesConfig,
) -> StoryClusters {
    let n = docs.len();
    if n == 0 {
        return StoryClusters::default();
    }
    let mut quote_keys: Vec<Vec<String>> = vec![Vec::new(); n];
    for q in quotes {
        if q.doc < n {
            if let Some(k) = quote_key(q.text) {
                quote_keys[q.doc].push(k);
            }
        }
    }
    let t = std::time::Instant::now();
    let vecs = vectors(docs, &quote_keys, config);
    tracing::debug!(step = "vectors", seconds = t.elapsed().as_secs_f64(), "story tier");
    let t = std::time::Instant::now();
    let edges = graph(docs, canonical, &vecs, config);
    tracing::debug!(step = "graph", edges = edges.len(), seconds = t.elapsed().as_secs_f64(), "story tier");
    let t = std::time::Instant::now();
    let linkage = match config.linkage {
        Linkage::Auto => {
            let mut lens: Vec<usize> = docs
                .iter()
                .map(|d| d.text.split_whitespace().count())
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
            average_linkage(n, canonical, &edges, config.min_similarity)
        }
        Linkage::Centroid => {
            centroid_linkage(n, canonical, &vecs, &edges, config.min_centroid_similarity)
        }
    };
    tracing::debug!(step = "linkage", seconds = t.elapsed().as_secs_f64(), "story tier");
    rows(docs, &roots, &edges)
}

fn rows(docs: &[OverlapDoc], roots: &[u32], edges: &[(u32, u32, f32)]) -> StoryClusters {
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
    let n_chars: Vec<usize> = docs.iter().map(|d| d.text.chars().count()).collect();
    let mut story_id = vec![String::new(); n];
    let mut out = Vec::with_capacity(members.len());
    for (_, m) in members {
        // The id comes from the story's first report (earliest, then longest, then smallest id)
        // so it stays put while later reports join.
        let anchor = *m
            .iter()
            .min_by(|&&x, &&y| {
                let k = |i: usize| {
                    (
                        docs[i].published_at.is_none(),
                        docs[i].published_at.unwrap_or(i64::MAX),
                        std::cmp::Reverse(n_chars[i]),
                        docs[i].doc_id,
                    )
                };
                k(x).cmp(&k(y))
            })
            .unwrap();
        let id = stable_id("story", &[docs[anchor].doc_id]);
        let rep = *m
            .iter()
            .max_by(|&&x, &&y| {
                within[x]
                    .total_cmp(&within[y])
                    .then_with(|| docs[y].doc_id.cmp(docs[x].doc_id))
            })
            .unwrap();
        let mut ent: HashMap<&str, usize> = HashMap::new();
        for &i in &m {
            for e in &docs[i].entity_ids {
                *ent.entry(e).or_default() += 1;
            }
            story_id[i] = id.clone();
        }
        let mut ent: Vec<(&str, usize)> = ent.into_iter().collect();
        ent.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let title = docs[rep].title.map(str::to_string).or_else(|| {
            docs[rep]
                .text
                .lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .filter(|l| l.chars().count() <= 200)
                .map(str::to_string)
        });
        out.push(StoryRow {
            story_id: id,
            n_documents: m.len() as u64,
            representative_doc_id: docs[rep].doc_id.to_string(),
            title,
            top_entities: ent
                .into_iter()
                .take(5)
                .map(|(e, _)| e.to_string())
                .collect(),
        });
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

    fn doc<'a>(id: &'a str, text: &'a str) -> OverlapDoc<'a> {
        OverlapDoc {
            doc_id: id,
            text,
            title: None,
            published_at: None,
            entity_ids: Vec::new(),
        }
    }

    #[test]
    fn stop_list_is_sorted() {
        let mut s = STOP.to_vec();
        s.sort_unstable();
        assert_eq!(s, STOP);
    }

    #[test]
    fn folding() {
        assert_eq!(fold("earthquakes"), "earthquake");
        assert_eq!(fold("injuries"), "injury");
        assert_eq!(fold("status"), "status");
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
    fn two_events_of_one_kind_stay_apart() {
        let a1 = "A magnitude 6.1 earthquake struck Sumatra on Tuesday, Indonesian officials said. Padang was shaken.";
        let a2 = "The Sumatra earthquake of magnitude 6.1 damaged houses in Padang, officials in Indonesia said.";
        let b1 = "A 4.5 earthquake hit Northern California near Cloverdale. Residents of Sonoma County felt it.";
        let b2 =
            "Sonoma County residents felt a 4.5 earthquake near Cloverdale in Northern California.";
        let docs = vec![doc("a1", a1), doc("b1", b1), doc("a2", a2), doc("b2", b2)];
        for linkage in [Linkage::Average, Linkage::Centroid] {
            let out = cluster(
                &docs,
                &[0, 1, 2, 3],
                &[],
                &StoriesConfig {
                    linkage,
                    ..Default::default()
                },
            );
            assert_eq!(out.story_id[0], out.story_id[2]);
            assert_eq!(out.story_id[1], out.story_id[3]);
            assert_ne!(out.story_id[0], out.story_id[1]);
            assert_eq!(out.rows.len(), 2);
        }
    }

    #[test]
    fn copies_share_a_story() {
        let docs = vec![doc("a", "alpha beta"), doc("b", "gamma delta")];
        let out = cluster(&docs, &[0, 0], &[], &StoriesConfig::default());
        assert_eq!(out.story_id[0], out.story_id[1]);
    }
}
