//! Quote tier: the same utterance reported by several documents, despite changes of
//! punctuation, dashes and commas, case, bracketed insertions ("\[the\]"), truncation or a
//! different cut. Quotes are compared as word sequences: two quotes are one utterance when
//! the longest common subsequence of their words covers most of the shorter one. Candidates
//! come from shared word trigrams; clusters from union-find; ids from the text of the
//! cluster's first report, so they stay put while later reports join.

use rayon::prelude::*;
use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::ids::stable_id;
use super::shingle::{mix64, word_hash, words};
use super::unionfind::UnionFind;
use super::{Doc, OverlapQuote, QuoteClusterRow};

/// Thresholds of the quote tier (`[stage.quotes]` in a pipeline file).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct QuoteClustersConfig {
    /// Share of the shorter quote's words that must appear, in order, in the longer one.
    pub min_overlap: f64,
    /// Quotes shorter than this many words join only identical quotes.
    pub min_words: usize,
}

impl Default for QuoteClustersConfig {
    fn default() -> Self {
        QuoteClustersConfig {
            min_overlap: 0.8,
            min_words: 4,
        }
    }
}

impl QuoteClustersConfig {
    /// Every problem with the thresholds, at once.
    pub fn validate(&self) -> Vec<String> {
        let mut p = Vec::new();
        if !(self.min_overlap > 0.0 && self.min_overlap <= 1.0) {
            p.push(format!(
                "quotes: min_overlap must lie in (0, 1], got {}",
                self.min_overlap
            ));
        }
        if self.min_words == 0 {
            p.push("quotes: min_words must be positive".to_string());
        }
        p
    }
}

/// The words of a quote: case, punctuation, dashes and brackets removed (the words inside
/// brackets are kept: "\[the\]" usually stands for a word of the utterance).
pub fn quote_words(text: &str) -> Vec<String> {
    words(text)
}

/// Length of the longest common subsequence of two word sequences.
pub fn lcs(a: &[u64], b: &[u64]) -> usize {
    if a.is_empty() || b.is_empty() {
        return 0;
    }
    let mut prev = vec![0usize; b.len() + 1];
    let mut cur = vec![0usize; b.len() + 1];
    for &x in a {
        for (j, &y) in b.iter().enumerate() {
            cur[j + 1] = if x == y {
                prev[j] + 1
            } else {
                cur[j].max(prev[j + 1])
            };
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// Size of the multiset intersection of two sorted sequences.
fn multiset_overlap(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

/// Are two quotes (as word hashes) the same utterance?
pub fn same_utterance(a: &[u64], b: &[u64], config: &QuoteClustersConfig) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    if a == b {
        return true;
    }
    let m = a.len().min(b.len());
    if m < config.min_words {
        return false;
    }
    // A cheap bound first: the LCS is at most the multiset overlap.
    let l = lcs(a, b);
    l as f64 >= config.min_overlap * m as f64
}

/// Quotes sharing a trigram with more than this many distinct quotes do not propose each
/// other through it.
const MAX_BUCKET: usize = 512;

/// Quotes checked in parallel against one snapshot of the clusters.
const VERIFY_BLOCK: usize = 1 << 15;

/// The keys by which quotes find each other: their word trigrams (or, when shorter, their
/// whole text), sorted and distinct.
fn candidate_keys(h: &[u64]) -> Vec<u64> {
    let mut keys: Vec<u64> = if h.len() < 3 {
        vec![mix64(
            h.iter().fold(h.len() as u64, |acc, &x| mix64(acc ^ x)),
        )]
    } else {
        h.windows(3)
            .map(|w| mix64(w[0] ^ w[1].rotate_left(21) ^ w[2].rotate_left(42)))
            .collect()
    };
    keys.sort_unstable();
    keys.dedup();
    keys
}

/// (key, quote) pairs sorted by key, with every [`Postings::STEP`]-th key copied into a small
/// directory. A key's pairs are found by a binary search of the directory (small enough to
/// stay in the core's cache), then of one step's pairs, then by galloping to the end of the
/// key's run: a few cache misses where a binary search of the whole array (millions of pairs
/// in a large run) would miss at nearly every one of its steps.
struct Postings {
    pairs: Vec<(u64, u32)>,
    dir: Vec<u64>,
}

impl Postings {
    const STEP: usize = 64;

    fn new(pairs: Vec<(u64, u32)>) -> Postings {
        let dir = pairs.iter().step_by(Self::STEP).map(|x| x.0).collect();
        Postings { pairs, dir }
    }

    /// The pairs of key `k` (empty when it has none).
    fn bucket(&self, k: u64) -> &[(u64, u32)] {
        let p = &self.pairs;
        // Steps before `b` start below `k`, the others at or above it: the first pair of `k`
        // (or where it would be) is in step `b - 1`, or starts step `b`.
        let b = self.dir.partition_point(|&x| x < k);
        let lo = b.saturating_sub(1) * Self::STEP;
        let hi = (b * Self::STEP).min(p.len()).max(lo);
        let s = lo + p[lo..hi].partition_point(|x| x.0 < k);
        if s >= p.len() || p[s].0 != k {
            return &[];
        }
        // Gallop: `p[last].0 == k`, and the run ends at or before `probe`.
        let (mut last, mut step) = (s, 1);
        let probe = loop {
            let probe = last + step;
            if probe >= p.len() || p[probe].0 != k {
                break probe.min(p.len());
            }
            last = probe;
            step *= 2;
        };
        let e = last + 1 + p[last + 1..probe].partition_point(|x| x.0 == k);
        &p[s..e]
    }
}

/// Clusters the run's quotes: for each quote its cluster, as an index into the clusters (None
/// when it has no words), and the clusters sorted by id.
pub fn cluster(
    docs: &[Doc],
    quotes: &[OverlapQuote],
    config: &QuoteClustersConfig,
) -> (Vec<Option<u32>>, Vec<QuoteClusterRow>) {
    cluster_in_blocks(docs, quotes, config, VERIFY_BLOCK)
}

/// [`cluster`], checking `block` quotes at a time against one snapshot of the clusters.
fn cluster_in_blocks(
    docs: &[Doc],
    quotes: &[OverlapQuote],
    config: &QuoteClustersConfig,
    block: usize,
) -> (Vec<Option<u32>>, Vec<QuoteClusterRow>) {
    let n = quotes.len();
    let hashes: Vec<Vec<u64>> = quotes
        .par_iter()
        .map(|q| quote_words(q.text).iter().map(|w| word_hash(w)).collect())
        .collect();
    let mut uf = UnionFind::new(n);
    // Identical quotes (same words, same speaker) are one utterance outright; only the first
    // of each goes on to the candidate search, so a quote carried by many reports costs one
    // search, not one per pair of reports.
    let mut first: HashMap<(&[u64], Option<&str>), u32> = HashMap::new();
    let mut searched: Vec<u32> = Vec::new();
    for (i, h) in hashes.iter().enumerate() {
        if h.is_empty() || quotes[i].doc >= docs.len() {
            continue;
        }
        match first.entry((h.as_slice(), quotes[i].speaker_entity_id)) {
            std::collections::hash_map::Entry::Occupied(e) => uf.union(*e.get(), i as u32),
            std::collections::hash_map::Entry::Vacant(e) => {
                e.insert(i as u32);
                searched.push(i as u32);
            }
        }
    }
    drop(first);
    // Candidates: quotes sharing a word trigram (or, when shorter, their whole text). The
    // (key, quote) pairs sit in one sorted array, so a key's quotes are a contiguous range
    // found by binary search: no per-key allocation.
    let mut postings: Vec<(u64, u32)> = searched
        .par_iter()
        .flat_map_iter(|&i| {
            candidate_keys(&hashes[i as usize])
                .into_iter()
                .map(move |k| (k, i))
        })
        .collect();
    postings.par_sort_unstable();
    postings.shrink_to_fit();
    let postings = Postings::new(postings);
    // Each searched quote's words sorted, for a cheap bound before the LCS.
    let mut sorted: Vec<Vec<u64>> = vec![Vec::new(); n];
    for &i in &searched {
        let mut s = hashes[i as usize].clone();
        s.sort_unstable();
        sorted[i as usize] = s;
    }
    // For each quote, the later quotes it shares a trigram with (a trigram found in very many
    // quotes is a turn of phrase, not a sign of one utterance, and proposes nothing), checked
    // at once: no list of all candidate pairs is ever held. A block of quotes is checked in
    // parallel against the clusters as they stood at the block's start, a pair already in one
    // cluster is skipped, and the pairs found are then joined in order: the clusters are the
    // connected components of the same-utterance pairs whatever the order or the thread count.
    let verified = |i: u32, roots: &[u32], seen: &mut Vec<bool>, touched: &mut Vec<u32>| -> Vec<u32> {
        let mut out = Vec::new();
        for k in candidate_keys(&hashes[i as usize]) {
            let m = postings.bucket(k);
            if m.len() > MAX_BUCKET {
                continue;
            }
            for &(_, j) in m {
                if j > i && !seen[j as usize] {
                    seen[j as usize] = true;
                    touched.push(j);
                }
            }
        }
        touched.sort_unstable();
        for j in touched.drain(..) {
            seen[j as usize] = false;
            // Already one utterance through other pairs: checking adds nothing.
            if roots[i as usize] == roots[j as usize] {
                continue;
            }
            let (qi, qj) = (&quotes[i as usize], &quotes[j as usize]);
            if let (Some(a), Some(b)) = (qi.speaker_entity_id, qj.speaker_entity_id) {
                if a != b {
                    continue;
                }
            }
            let (hi, hj) = (&hashes[i as usize], &hashes[j as usize]);
            // The LCS is at most the number of words the two share (as multisets).
            let m = hi.len().min(hj.len());
            if hi != hj
                && (multiset_overlap(&sorted[i as usize], &sorted[j as usize]) as f64)
                    < config.min_overlap * m as f64
            {
                continue;
            }
            if same_utterance(hi, hj, config) {
                out.push(j);
            }
        }
        out
    };
    for block in searched.chunks(block.max(1)) {
        let roots = uf.roots();
        let found: Vec<Vec<u32>> = block
            .par_iter()
            .map_init(|| (vec![false; n], Vec::new()), |(seen, touched), &i| verified(i, &roots, seen, touched))
            .collect();
        for (&i, js) in block.iter().zip(found) {
            for j in js {
                uf.union(i, j);
            }
        }
    }
    drop(sorted);
    drop(postings);
    let roots = uf.roots();
    let mut members: HashMap<u32, Vec<usize>> = HashMap::new();
    for i in 0..n {
        if !hashes[i].is_empty() && quotes[i].doc < docs.len() {
            members.entry(roots[i]).or_default().push(i);
        }
    }
    let mut rows: Vec<(u32, QuoteClusterRow)> = Vec::with_capacity(members.len());
    let doc_key = |d: usize| {
        (
            docs[d].published_at().is_none(),
            docs[d].published_at().unwrap_or(i64::MAX),
            docs[d].doc_id(),
        )
    };
    for (root, m) in members {
        // The first report: earliest document, then the longest version, then the text.
        let anchor = *m
            .iter()
            .min_by(|&&x, &&y| {
                doc_key(quotes[x].doc)
                    .cmp(&doc_key(quotes[y].doc))
                    .then(hashes[y].len().cmp(&hashes[x].len()))
                    .then(quotes[x].text.cmp(quotes[y].text))
            })
            .unwrap();
        let text_key = quote_words(quotes[anchor].text).join(" ");
        let longest = *m
            .iter()
            .min_by(|&&x, &&y| {
                hashes[y]
                    .len()
                    .cmp(&hashes[x].len())
                    .then(quotes[x].text.cmp(quotes[y].text))
            })
            .unwrap();
        let mut speakers: HashMap<&str, usize> = HashMap::new();
        let mut doc_ids: Vec<&str> = Vec::new();
        for &i in &m {
            if let Some(s) = quotes[i].speaker_entity_id {
                *speakers.entry(s).or_default() += 1;
            }
            doc_ids.push(docs[quotes[i].doc].doc_id());
        }
        doc_ids.sort_unstable();
        doc_ids.dedup();
        let speaker = speakers
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(s, _)| s.to_string());
        // The same words said by two different speakers are two utterances: the speaker is
        // part of the id, so ids stay unique.
        let id = match &speaker {
            Some(sp) => stable_id("quote", &[&text_key, sp]),
            None => stable_id("quote", &[&text_key]),
        };
        rows.push((
            root,
            QuoteClusterRow {
                quote_cluster_id: id,
                text: quotes[longest].text.trim().to_string(),
                speaker_entity_id: speaker,
                n_documents: doc_ids.len() as u64,
                first_doc_id: docs[quotes[anchor].doc].doc_id().to_string(),
            },
        ));
    }
    // Rows in a fixed order; should two clusters still share an id (the same words and
    // speaker kept apart because their candidates were cut off), the later ones get a
    // numbered id.
    rows.sort_by(|(_, a), (_, b)| {
        a.quote_cluster_id
            .cmp(&b.quote_cluster_id)
            .then_with(|| a.first_doc_id.cmp(&b.first_doc_id))
            .then_with(|| a.text.cmp(&b.text))
    });
    let mut base = String::new();
    let mut n_same = 0;
    for (_, row) in rows.iter_mut() {
        if row.quote_cluster_id == base {
            n_same += 1;
            row.quote_cluster_id = stable_id("quote", &[&base, &n_same.to_string()]);
        } else {
            n_same = 0;
            base = row.quote_cluster_id.clone();
        }
    }
    rows.sort_by(|a, b| a.1.quote_cluster_id.cmp(&b.1.quote_cluster_id));
    let final_index: HashMap<u32, u32> = rows.iter().enumerate().map(|(k, (root, _))| (*root, k as u32)).collect();
    // Quotes without words or outside the documents belong to no cluster (and their roots,
    // never joined to another, to no row).
    let of: Vec<Option<u32>> = roots.iter().map(|r| final_index.get(r).copied()).collect();
    let rows: Vec<QuoteClusterRow> = rows.into_iter().map(|(_, row)| row).collect();
    (of, rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn h(t: &str) -> Vec<u64> {
        quote_words(t).iter().map(|w| word_hash(w)).collect()
    }

    #[test]
    fn punctuation_dashes_and_cuts() {
        let c = QuoteClustersConfig::default();
        let a = h("You have my assurance \u{2014} and I\u{2019}m president. I\u{2019}m just trying to stop people from being killed,");
        let b = h("You have my assurance, and I'm president.");
        assert!(same_utterance(&a, &b, &c));
        assert!(same_utterance(
            &h("They are [the] first line of defense"),
            &h("they are first line of defense"),
            &c
        ));
        assert!(!same_utterance(
            &h("The economy is doing great"),
            &h("The economy is in deep trouble now"),
            &c
        ));
        assert!(!same_utterance(
            &h("no-fly zone"),
            &h("no-fly zone area"),
            &c
        ));
        assert!(same_utterance(&h("no-fly zone"), &h("No fly zone"), &c));
    }

    #[test]
    fn postings_buckets_are_the_runs_of_their_key() {
        let mut x = 0x2545_f491_4f6c_dd1du64;
        for (n, keys) in [(0usize, 1u64), (1, 1), (63, 5), (64, 3), (65, 70), (1000, 40), (5000, 3000), (700, 1)] {
            let mut pairs: Vec<(u64, u32)> = (0..n as u32)
                .map(|i| {
                    (crate::entities::tagger::xorshift(&mut x) % keys * 2, i)
                })
                .collect();
            pairs.sort_unstable();
            let p = Postings::new(pairs.clone());
            // every key present, every gap between two keys, and past both ends
            for k in 0..keys * 2 + 2 {
                let s = pairs.partition_point(|x| x.0 < k);
                let e = s + pairs[s..].partition_point(|x| x.0 == k);
                assert_eq!(p.bucket(k), &pairs[s..e], "n={n} keys={keys} k={k}");
            }
            assert!(p.bucket(u64::MAX).is_empty());
        }
    }

    #[test]
    fn multiset_overlap_bounds_the_lcs() {
        let (a, b) = (h("a b c a d"), h("d a c b a"));
        let (mut sa, mut sb) = (a.clone(), b.clone());
        sa.sort_unstable();
        sb.sort_unstable();
        assert_eq!(multiset_overlap(&sa, &sb), 5);
        assert!(lcs(&a, &b) <= 5);
        let (mut x, mut y) = (h("a a b"), h("a c"));
        x.sort_unstable();
        y.sort_unstable();
        assert_eq!(multiset_overlap(&x, &y), 1);
    }

    #[test]
    fn lcs_lengths() {
        assert_eq!(lcs(&[1, 2, 3, 4], &[1, 3, 4, 5]), 3);
        assert_eq!(lcs(&[], &[1]), 0);
    }

    #[test]
    fn clusters_are_the_components_of_all_matching_pairs() {
        // Quotes built from a small vocabulary, with repeats, cuts and edits, so that many
        // pairs share trigrams; the clusters must equal those of checking every pair that
        // shares a trigram.
        let vocab = ["we", "will", "win", "this", "war", "peace", "now", "and", "then", "talk"];
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let mut next = |m: u64| crate::entities::tagger::xorshift(&mut state) % m;
        let mut texts: Vec<String> = Vec::new();
        for _ in 0..150 {
            let len = 2 + next(9) as usize;
            let words: Vec<&str> = (0..len).map(|_| vocab[next(10) as usize]).collect();
            texts.push(words.join(" "));
            if next(3) == 0 {
                texts.push(words[..len - 1].join(", "));
            }
        }
        let speakers = [None, Some("e1"), Some("e2")];
        let config = QuoteClustersConfig::default();
        let n_docs = 40;
        let prepared: Vec<super::super::PreparedDoc> = (0..n_docs)
            .map(|d| super::super::prepare(&format!("d{d:02}"), "", None, None, &Default::default()))
            .collect();
        let docs: Vec<Doc> = prepared
            .iter()
            .map(|p| Doc { prepared: p, entity_ids: Default::default() })
            .collect();
        let quotes: Vec<OverlapQuote> = texts
            .iter()
            .enumerate()
            .map(|(k, t)| OverlapQuote {
                doc: k % n_docs,
                text: t,
                speaker_entity_id: speakers[k % 3],
            })
            .collect();
        let (of, _) = cluster(&docs, &quotes, &config);
        // Checked a few quotes at a time against each snapshot of the clusters, on the pool:
        // the same clusters.
        for block in [1, 7, 64] {
            assert_eq!(cluster_in_blocks(&docs, &quotes, &config, block).0, of, "block {block}");
        }
        let hashes: Vec<Vec<u64>> = texts
            .iter()
            .map(|t| quote_words(t).iter().map(|w| word_hash(w)).collect())
            .collect();
        let mut uf = UnionFind::new(texts.len());
        for i in 0..texts.len() {
            for j in i + 1..texts.len() {
                let (a, b) = (quotes[i].speaker_entity_id, quotes[j].speaker_entity_id);
                let speakers_agree = a.is_none() || b.is_none() || a == b;
                let (ki, kj) = (candidate_keys(&hashes[i]), candidate_keys(&hashes[j]));
                let share = ki.iter().any(|k| kj.binary_search(k).is_ok());
                if speakers_agree && share && same_utterance(&hashes[i], &hashes[j], &config) {
                    uf.union(i as u32, j as u32);
                }
            }
        }
        let roots = uf.roots();
        for i in 0..texts.len() {
            for j in i + 1..texts.len() {
                assert_eq!(
                    of[i] == of[j],
                    roots[i] == roots[j],
                    "{:?} / {:?}",
                    texts[i],
                    texts[j]
                );
            }
        }
    }

    #[test]
    fn clusters_count_documents_and_respect_speakers() {
        let config = super::super::OverlapConfig::default();
        let prepared: Vec<super::super::PreparedDoc> = ["d1", "d2", "d3"]
            .iter()
            .map(|id| super::super::prepare(id, "", None, None, &config))
            .collect();
        let docs: Vec<Doc> = prepared
            .iter()
            .map(|p| Doc {
                prepared: p,
                entity_ids: Default::default(),
            })
            .collect();
        let q = |doc, text, sp| OverlapQuote {
            doc,
            text,
            speaker_entity_id: sp,
        };
        let quotes =
            vec![
            q(
                0,
                "We'll let you know that maybe later today. We're meeting with seven great leaders",
                Some("trump"),
            ),
            q(1, "We\u{2019}ll let you know that maybe later today,", Some("trump")),
            q(2, "We'll let you know that maybe later today", Some("someone")),
            q(1, "", None),
        ];
        let (of, rows) = cluster(&docs, &quotes, &QuoteClustersConfig::default());
        assert_eq!(of[0], of[1]);
        assert_ne!(of[0], of[2]);
        assert_eq!(of[3], None);
        let r = &rows[of[0].unwrap() as usize];
        assert_eq!(
            (
                r.n_documents,
                r.first_doc_id.as_str(),
                r.speaker_entity_id.as_deref()
            ),
            (2, "d1", Some("trump"))
        );
        assert!(r
            .text
            .starts_with("We'll let you know that maybe later today. We're"));
    }
}
