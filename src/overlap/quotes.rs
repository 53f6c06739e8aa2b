//! Quote tier: the same utterance reported by several documents, despite changes of
//! punctuation, dashes and commas, case, bracketed insertions ("[the]"), truncation or a
//! different cut. Quotes are compared as word sequences: two quotes are one utterance when
//! the longest common subsequence of their words covers most of the shorter one. Candidates
//! come from shared word trigrams; clusters from union-find; ids from the text of the
//! cluster's first report, so they stay put while later reports join.

use serde::{Deserialize, Serialize};
use std::collections::HashMap;

use super::ids::stable_id;
use super::shingle::{mix64, word_hash, words};
use super::unionfind::UnionFind;
use super::{OverlapDoc, OverlapQuote, QuoteClusterRow};

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
/// brackets are kept: "[the]" usually stands for a word of the utterance).
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

/// Clusters the run's quotes: for each quote its cluster id (None when it has no words), and
/// the clusters sorted by id.
pub fn cluster(
    docs: &[OverlapDoc],
    quotes: &[OverlapQuote],
    config: &QuoteClustersConfig,
) -> (Vec<Option<String>>, Vec<QuoteClusterRow>) {
    let n = quotes.len();
    let toks: Vec<Vec<String>> = quotes.iter().map(|q| quote_words(q.text)).collect();
    let hashes: Vec<Vec<u64>> = toks
        .iter()
        .map(|t| t.iter().map(|w| word_hash(w)).collect())
        .collect();
    // Candidates: quotes sharing a word trigram (or, when shorter, their whole text).
    let mut buckets: HashMap<u64, Vec<u32>> = HashMap::new();
    for (i, h) in hashes.iter().enumerate() {
        if h.is_empty() || quotes[i].doc >= docs.len() {
            continue;
        }
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
        for k in keys {
            buckets.entry(k).or_default().push(i as u32);
        }
    }
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for (_, m) in buckets {
        let m: &[u32] = if m.len() > 512 { &m[..512] } else { &m };
        for x in 0..m.len() {
            for y in x + 1..m.len() {
                pairs.push((m[x], m[y]));
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    let mut uf = UnionFind::new(n);
    for (i, j) in pairs {
        let (qi, qj) = (&quotes[i as usize], &quotes[j as usize]);
        if let (Some(a), Some(b)) = (qi.speaker_entity_id, qj.speaker_entity_id) {
            if a != b {
                continue;
            }
        }
        if same_utterance(&hashes[i as usize], &hashes[j as usize], config) {
            uf.union(i, j);
        }
    }
    let roots = uf.roots();
    let mut members: HashMap<u32, Vec<usize>> = HashMap::new();
    for i in 0..n {
        if !hashes[i].is_empty() && quotes[i].doc < docs.len() {
            members.entry(roots[i]).or_default().push(i);
        }
    }
    let mut of = vec![None; n];
    let mut rows = Vec::with_capacity(members.len());
    let doc_key = |d: usize| {
        (
            docs[d].published_at.is_none(),
            docs[d].published_at.unwrap_or(i64::MAX),
            docs[d].doc_id,
        )
    };
    for (_, m) in members {
        // The first report: earliest document, then the longest version, then the text.
        let anchor = *m
            .iter()
            .min_by(|&&x, &&y| {
                doc_key(quotes[x].doc)
                    .cmp(&doc_key(quotes[y].doc))
                    .then(toks[y].len().cmp(&toks[x].len()))
                    .then(quotes[x].text.cmp(quotes[y].text))
            })
            .unwrap();
        let id = stable_id("quote", &[&toks[anchor].join(" ")]);
        let longest = *m
            .iter()
            .min_by(|&&x, &&y| {
                toks[y]
                    .len()
                    .cmp(&toks[x].len())
                    .then(quotes[x].text.cmp(quotes[y].text))
            })
            .unwrap();
        let mut speakers: HashMap<&str, usize> = HashMap::new();
        let mut doc_ids: Vec<&str> = Vec::new();
        for &i in &m {
            if let Some(s) = quotes[i].speaker_entity_id {
                *speakers.entry(s).or_default() += 1;
            }
            doc_ids.push(docs[quotes[i].doc].doc_id);
            of[i] = Some(id.clone());
        }
        doc_ids.sort_unstable();
        doc_ids.dedup();
        let speaker = speakers
            .into_iter()
            .max_by(|a, b| a.1.cmp(&b.1).then(b.0.cmp(a.0)))
            .map(|(s, _)| s.to_string());
        rows.push(QuoteClusterRow {
            quote_cluster_id: id,
            text: quotes[longest].text.trim().to_string(),
            speaker_entity_id: speaker,
            n_documents: doc_ids.len() as u64,
            first_doc_id: docs[quotes[anchor].doc].doc_id.to_string(),
        });
    }
    rows.sort_by(|a, b| a.quote_cluster_id.cmp(&b.quote_cluster_id));
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
    fn lcs_lengths() {
        assert_eq!(lcs(&[1, 2, 3, 4], &[1, 3, 4, 5]), 3);
        assert_eq!(lcs(&[], &[1]), 0);
    }

    #[test]
    fn clusters_count_documents_and_respect_speakers() {
        let docs: Vec<OverlapDoc> = ["d1", "d2", "d3"]
            .iter()
            .map(|id| OverlapDoc {
                doc_id: id,
                text: "",
                title: None,
                published_at: None,
                entity_ids: vec![],
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
        let r = rows
            .iter()
            .find(|r| Some(&r.quote_cluster_id) == of[0].as_ref())
            .unwrap();
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
