//! Reading CoNLL-2003 files and scoring name spans the way `conlleval` does.
//!
//! Used by training (`make model`), by `newsmill eval ner` and by the floor test. The score
//! is exact-span micro precision/recall/F1, overall and per type, as `conlleval` prints it.

use std::collections::BTreeMap;
use std::ops::Range;
use std::path::Path;

use anyhow::Context;
use serde::Serialize;

use super::tagger::{iob_to_bilou, TrainDoc, TYPES};

/// One document of a CoNLL file: tokens, sentence ranges and gold IOB types.
#[derive(Debug, Clone, Default)]
pub struct ConllDoc {
    /// Token texts.
    pub tokens: Vec<String>,
    /// Sentence ranges over `tokens`.
    pub sents: Vec<Range<usize>>,
    /// Gold tag per token: `None` for O, else `(type index, has B- prefix)`.
    pub gold: Vec<Option<(usize, bool)>>,
}

impl ConllDoc {
    /// The gold spans `(type index, token range)` (conlleval chunk rules).
    pub fn gold_spans(&self) -> Vec<(usize, Range<usize>)> {
        let mut out = Vec::new();
        for r in &self.sents {
            let mut cur: Option<(usize, usize)> = None;
            for i in r.clone() {
                match self.gold[i] {
                    None => {
                        if let Some((t, s)) = cur.take() {
                            out.push((t, s..i));
                        }
                    }
                    Some((t, b)) => {
                        let cont = matches!(cur, Some((ct, _)) if ct == t) && !b;
                        if !cont {
                            if let Some((ct, s)) = cur.take() {
                                out.push((ct, s..i));
                            }
                            cur = Some((t, i));
                        }
                    }
                }
            }
            if let Some((t, s)) = cur {
                out.push((t, s..r.end));
            }
        }
        out
    }

    /// The document as training data (BILOU gold tags).
    pub fn to_train(&self) -> TrainDoc {
        let mut gold = vec![0u8; self.tokens.len()];
        for r in &self.sents {
            let bil = iob_to_bilou(&self.gold[r.clone()]);
            gold[r.clone()].copy_from_slice(&bil);
        }
        TrainDoc { tokens: self.tokens.clone(), sents: self.sents.clone(), gold }
    }
}

/// Reads a CoNLL file (`WORD ... NER` per line, blank lines between sentences,
/// `-DOCSTART-` between documents). IOB1 and IOB2 both work; unknown types are read as O.
pub fn read_conll(path: &Path) -> anyhow::Result<Vec<ConllDoc>> {
    let text = std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    Ok(parse_conll(&text))
}

/// Parses CoNLL text (see [`read_conll`]).
pub fn parse_conll(text: &str) -> Vec<ConllDoc> {
    let mut docs = Vec::new();
    let mut doc = ConllDoc::default();
    let mut sent_start = 0;
    let close_sent = |doc: &mut ConllDoc, sent_start: &mut usize| {
        if doc.tokens.len() > *sent_start {
            doc.sents.push(*sent_start..doc.tokens.len());
        }
        *sent_start = doc.tokens.len();
    };
    for line in text.lines() {
        let line = line.trim_end();
        if line.is_empty() {
            close_sent(&mut doc, &mut sent_start);
            continue;
        }
        let mut cols = line.split_whitespace();
        let word = cols.next().unwrap_or("");
        if word == "-DOCSTART-" {
            close_sent(&mut doc, &mut sent_start);
            if !doc.tokens.is_empty() {
                docs.push(std::mem::take(&mut doc));
            }
            sent_start = 0;
            continue;
        }
        let label = line.split_whitespace().last().unwrap_or("O");
        let gold = match label.split_once('-') {
            Some((p, t)) => TYPES.iter().position(|x| *x == t).map(|ti| (ti, p == "B")),
            None => None,
        };
        doc.tokens.push(word.to_string());
        doc.gold.push(gold);
    }
    close_sent(&mut doc, &mut sent_start);
    if !doc.tokens.is_empty() {
        docs.push(doc);
    }
    docs
}

/// Precision, recall and F1 of one label or overall.
#[derive(Debug, Clone, Copy, Default, Serialize, PartialEq)]
pub struct Prf {
    /// Correct / found.
    pub precision: f64,
    /// Correct / gold.
    pub recall: f64,
    /// Harmonic mean.
    pub f1: f64,
    /// Gold spans.
    pub gold: usize,
    /// Predicted spans.
    pub found: usize,
    /// Exactly matching spans.
    pub correct: usize,
}

impl Prf {
    fn new(gold: usize, found: usize, correct: usize) -> Prf {
        let p = if found > 0 { correct as f64 / found as f64 } else { 0.0 };
        let r = if gold > 0 { correct as f64 / gold as f64 } else { 0.0 };
        let f = if p + r > 0.0 { 2.0 * p * r / (p + r) } else { 0.0 };
        Prf { precision: p, recall: r, f1: f, gold, found, correct }
    }
}

/// A conlleval-style score.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Score {
    /// Micro-averaged over every label.
    pub overall: Prf,
    /// Per CoNLL label.
    pub by_label: BTreeMap<String, Prf>,
    /// Tokens tagged.
    pub tokens: usize,
    /// Seconds spent tagging (recognition only, no file I/O).
    pub seconds: f64,
}

/// Scores predicted spans against gold spans, both `(type index, doc index, token range)`.
pub fn score(gold: &[(usize, usize, Range<usize>)], pred: &[(usize, usize, Range<usize>)]) -> Score {
    use std::collections::HashSet;
    let g: HashSet<(usize, usize, usize, usize)> = gold.iter().map(|(t, d, r)| (*t, *d, r.start, r.end)).collect();
    let mut by: BTreeMap<String, (usize, usize, usize)> = BTreeMap::new();
    for ty in TYPES {
        by.insert(ty.to_string(), (0, 0, 0));
    }
    let (mut ng, mut nf, mut nc) = (0, 0, 0);
    for (t, _, _) in gold {
        by.get_mut(TYPES[*t]).expect("type").0 += 1;
        ng += 1;
    }
    for (t, d, r) in pred {
        let e = by.get_mut(TYPES[*t]).expect("type");
        e.1 += 1;
        nf += 1;
        if g.contains(&(*t, *d, r.start, r.end)) {
            e.2 += 1;
            nc += 1;
        }
    }
    Score {
        overall: Prf::new(ng, nf, nc),
        by_label: by.into_iter().map(|(k, (a, b, c))| (k, Prf::new(a, b, c))).collect(),
        tokens: 0,
        seconds: 0.0,
    }
}

impl Score {
    /// The report as `conlleval` lays it out, plus throughput.
    pub fn to_text(&self) -> String {
        let o = &self.overall;
        let mut s = format!(
            "processed {} tokens with {} phrases; found: {} phrases; correct: {}.\n",
            self.tokens, o.gold, o.found, o.correct
        );
        s += &format!(
            "overall: precision: {:6.2}%; recall: {:6.2}%; FB1: {:6.2}\n",
            100.0 * o.precision,
            100.0 * o.recall,
            100.0 * o.f1
        );
        for (k, p) in &self.by_label {
            s += &format!(
                "{:>12}: precision: {:6.2}%; recall: {:6.2}%; FB1: {:6.2}  {}\n",
                k,
                100.0 * p.precision,
                100.0 * p.recall,
                100.0 * p.f1,
                p.found
            );
        }
        let tps = if self.seconds > 0.0 { self.tokens as f64 / self.seconds } else { 0.0 };
        s += &format!("tagged {} tokens in {:.3} s: {:.0} tokens/s (one thread)\n", self.tokens, self.seconds, tps);
        s
    }

    /// One JSON object: overall, by_label, tokens, seconds.
    pub fn to_json(&self) -> String {
        let tps = if self.seconds > 0.0 { self.tokens as f64 / self.seconds } else { 0.0 };
        let v = serde_json::json!({
            "overall": {"precision": self.overall.precision, "recall": self.overall.recall, "f1": self.overall.f1,
                        "gold": self.overall.gold, "found": self.overall.found, "correct": self.overall.correct},
            "by_label": self.by_label.iter().map(|(k, p)| (k.clone(), serde_json::json!({
                "precision": p.precision, "recall": p.recall, "f1": p.f1, "gold": p.gold, "found": p.found, "correct": p.correct
            }))).collect::<serde_json::Map<String, serde_json::Value>>(),
            "tokens": self.tokens,
            "seconds": self.seconds,
            "tokens_per_second": tps,
        });
        v.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_chunks() {
        let t = "-DOCSTART- -X- -X- O\n\nEU NNP B-NP B-ORG\nrejects VBZ B-VP O\nGerman JJ B-NP B-MISC\n\nPeter NNP B-NP B-PER\nBlackburn NNP I-NP I-PER\n\n-DOCSTART- -X- -X- O\n\nA x x I-LOC\nB x x B-LOC\n";
        let d = parse_conll(t);
        assert_eq!(d.len(), 2);
        assert_eq!(d[0].sents, vec![0..3, 3..5]);
        assert_eq!(d[0].gold_spans(), vec![(1, 0..1), (3, 2..3), (0, 3..5)]);
        // IOB1: B- splits adjacent same-type chunks
        assert_eq!(d[1].gold_spans(), vec![(2, 0..1), (2, 1..2)]);
        let s = score(&[(0, 0, 0..2), (1, 0, 3..4)], &[(0, 0, 0..2), (1, 0, 3..5)]);
        assert_eq!(s.overall.correct, 1);
        assert!((s.overall.f1 - 0.5).abs() < 1e-9);
    }
}
