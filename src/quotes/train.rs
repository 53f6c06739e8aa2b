//! Training of the attribution tagger from PolNeAR-style brat data: gold spans become BIO
//! token labels, and a linear-chain CRF learns the weights by stochastic gradient descent on
//! the L2-regularized conditional log-likelihood. Deterministic: the same data and epochs
//! give the same model file.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;

use super::eval::{self, CharAttr};
use super::rules::{self, Doc};
use super::tagger::{self, Tagger, NF, NL};
use crate::crf;
use crate::entities::gazetteer::Gazetteer;

/// BIO labels of the tokens of `doc` from gold attributions (char offsets).
pub fn gold_labels(doc: &Doc, gold: &[CharAttr]) -> Vec<u8> {
    let text = doc.text;
    let mut byte_of_char: Vec<usize> = text.char_indices().map(|(b, _)| b).collect();
    byte_of_char.push(text.len());
    let nc = byte_of_char.len() - 1;
    let toks = &doc.toks;
    let mut labels = vec![0u8; toks.len()];
    for a in gold {
        // Token ranges of this attribution's parts, for the bridges between them.
        let mut mine = Vec::new();
        for (r, segs) in [(1u8, &a.source), (2u8, &a.cue), (3u8, &a.content)] {
            let Some(segs) = segs else { continue };
            for &(cs, ce) in segs {
                let (bs, be) = (byte_of_char[cs.min(nc)], byte_of_char[ce.min(nc)]);
                let i0 = toks.partition_point(|t| (t.end as usize) <= bs);
                let mut first = true;
                let mut i = i0;
                while i < toks.len() && (toks[i].start as usize) < be {
                    if toks[i].kind != super::text::Kind::Para || !first {
                        labels[i] = if first { 2 * r - 1 } else { 2 * r };
                        first = false;
                    }
                    i += 1;
                }
                if i > i0 {
                    mine.push((i0, i, r));
                }
            }
        }
        // Unlabelled tokens between a cue and the content that follows it, in one paragraph
        // and a few words apart, are a bridge ("told [reporters on Sunday] that ..."); a later
        // attribution's part labels them over as it does any token. (Held out on PolNeAR
        // train, bridging every pair of neighbouring parts lowered content F1; bridging from
        // the cue on raised all five means a little.)
        mine.sort_unstable();
        for w in mine.windows(2) {
            let (a, b) = (w[0].1, w[1].0);
            if (w[0].2, w[1].2) != (2, 3) || a >= b || b - a > MAX_BRIDGE || toks[a..b].iter().any(|t| t.kind == super::text::Kind::Para) {
                continue;
            }
            for l in labels[a..b].iter_mut().filter(|l| **l == tagger::O) {
                *l = tagger::BRIDGE;
            }
        }
    }
    labels
}

/// Most tokens a [`tagger::BRIDGE`] spans.
const MAX_BRIDGE: usize = 12;

struct Example {
    feats: Vec<u32>,
    labels: Vec<u8>,
}

/// Splits a document into training chunks at paragraph breaks that no gold span crosses.
fn chunks(doc: &Doc, feats: Vec<u32>, labels: Vec<u8>) -> Vec<Example> {
    let n = labels.len();
    let mut out = Vec::new();
    let mut s = 0;
    for i in 0..n {
        let cut = doc.toks[i].kind == super::text::Kind::Para && (i + 1 >= n || !(labels[i + 1] != 0 && labels[i + 1].is_multiple_of(2))) && i + 1 - s >= 40;
        if cut || i + 1 == n {
            let e = i + 1;
            out.push(Example { feats: feats[s * NF..e * NF].to_vec(), labels: labels[s..e].to_vec() });
            s = e;
        }
    }
    out
}

/// Trains the tagger on a PolNeAR-style folder, with the word clusters of the `models`
/// folder, and writes `out`; returns a summary line.
pub fn train(corpus: &Path, models: &Path, out: &Path, epochs: usize) -> anyhow::Result<String> {
    let start = Instant::now();
    let arts = eval::articles(corpus).with_context(|| format!("reading corpus {}", corpus.display()))?;
    anyhow::ensure!(!arts.is_empty(), "no annotated articles under {}", corpus.display());
    let (m, chunks, ntok) = train_on(&arts, epochs, super::word_clusters(models)?)?;
    m.save(out)?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "trained on {} articles ({} chunks, {} tokens), {} epochs, in {:.1} s; wrote {} ({} bytes)",
        arts.len(),
        chunks,
        ntok,
        epochs,
        start.elapsed().as_secs_f64(),
        out.display(),
        size
    ))
}

/// Held-out scores on a training folder: the articles are dealt into `folds` parts by their
/// place in name order, the tagger is trained on every part but `fold` and scored on that one.
/// This is how the tagger's features and settings are chosen without looking at dev.
pub fn holdout(corpus: &Path, models: &Path, epochs: usize, fold: usize, folds: usize) -> anyhow::Result<String> {
    anyhow::ensure!(folds >= 2 && fold < folds, "fold must be below folds, and folds at least 2");
    let start = Instant::now();
    let arts = eval::articles(corpus).with_context(|| format!("reading corpus {}", corpus.display()))?;
    let h = held_out(&arts, super::word_clusters(models)?, epochs, fold, folds, corpus)?;
    Ok(format!(
        "held-out fold {fold} of {folds}: trained on {} articles, scored on {}, {epochs} epochs, {:.1} s\n{}",
        h.trained,
        h.scored,
        start.elapsed().as_secs_f64(),
        eval::table(&h.tally)
    ))
}

/// Every fold of [`holdout`] in turn (two or more at once on the thread pool): each fold's
/// exact F1, their mean (the figure settings are chosen by), and one table pooled over the
/// whole folder, each article scored by the tagger that was not trained on it.
pub fn holdout_all(corpus: &Path, models: &Path, epochs: usize, folds: usize) -> anyhow::Result<String> {
    anyhow::ensure!(folds >= 2, "folds must be at least 2");
    let start = Instant::now();
    let arts = eval::articles(corpus).with_context(|| format!("reading corpus {}", corpus.display()))?;
    let lex = super::word_clusters(models)?;
    let runs: Vec<HeldOut> = (0..folds).into_par_iter().map(|k| held_out(&arts, lex.clone(), epochs, k, folds, corpus)).collect::<anyhow::Result<_>>()?;
    // Exact F1 of source, cue and content over all attributions, then of source and content
    // over those with quote marks.
    let figures = |h: &HeldOut| {
        let r = eval::report(&h.tally, h.scored, 0.0);
        let (all, quoted) = (r.exact, r.quoted_only.exact);
        [all.source.f1, all.cue.f1, all.content.f1, quoted.source.f1, quoted.content.f1]
    };
    let line = |f: [f64; 5]| format!("source {:.4}, cue {:.4}, content {:.4}; quoted source {:.4}, quoted content {:.4}", f[0], f[1], f[2], f[3], f[4]);
    let mut out = format!("held-out folds of {}: {folds} folds, {epochs} epochs, {:.1} s\nexact F1\n", corpus.display(), start.elapsed().as_secs_f64());
    let mut mean = [0.0; 5];
    let mut pooled = eval::Tally::default();
    for (k, h) in runs.iter().enumerate() {
        let f = figures(h);
        out.push_str(&format!("  fold {k} ({} trained, {} scored): {}\n", h.trained, h.scored, line(f)));
        for (m, x) in mean.iter_mut().zip(f) {
            *m += x / folds as f64;
        }
        pooled.add(&h.tally);
    }
    out.push_str(&format!("  mean of the folds: {}\n", line(mean)));
    out.push_str(&format!("pooled over all {} articles, each scored by the tagger not trained on it:\n{}", arts.len(), eval::table(&pooled)));
    Ok(out)
}

/// One held-out fold's counts, and how many articles it was trained and scored on.
struct HeldOut {
    tally: eval::Tally,
    trained: usize,
    scored: usize,
}

/// Trains on every part of `arts` but `fold` and scores on that one (see [`holdout`]).
fn held_out(arts: &[(PathBuf, PathBuf)], lex: Arc<Gazetteer>, epochs: usize, fold: usize, folds: usize, corpus: &Path) -> anyhow::Result<HeldOut> {
    let (test, train): (Vec<_>, Vec<_>) = arts.iter().cloned().enumerate().partition(|(i, _)| i % folds == fold);
    let strip = |v: Vec<(usize, (PathBuf, PathBuf))>| v.into_iter().map(|(_, a)| a).collect::<Vec<_>>();
    let (test, train) = (strip(test), strip(train));
    anyhow::ensure!(!train.is_empty() && !test.is_empty(), "too few articles under {} for {} folds", corpus.display(), folds);
    let (m, _, _) = train_on(&train, epochs, lex)?;
    let (tally, scored, _) = eval::run_articles(&super::QuoteExtractor::with_tagger(m), &test)?;
    Ok(HeldOut { tally, trained: train.len(), scored })
}

/// Trains a tagger on the given (text, .ann) pairs; returns it with the number of training
/// chunks and tokens.
fn train_on(arts: &[(PathBuf, PathBuf)], epochs: usize, lex: Arc<Gazetteer>) -> anyhow::Result<(Tagger, usize, usize)> {
    let mut data: Vec<Example> = arts
        .par_iter()
        .map(|(t, a)| -> anyhow::Result<Vec<Example>> {
            let text = std::fs::read_to_string(t)?;
            let ann = std::fs::read_to_string(a)?;
            let chars: Vec<char> = text.chars().collect();
            let gold = eval::parse_ann(&ann, &chars);
            let doc = Doc::new(&text);
            let found = rules::find(&doc);
            let rr = tagger::rule_roles(&doc, &found);
            let feats = tagger::features(&doc, &rr, &lex);
            let labels = gold_labels(&doc, &gold);
            Ok(chunks(&doc, feats, labels))
        })
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    data.retain(|e| !e.labels.is_empty());
    let ntok: usize = data.iter().map(|e| e.labels.len()).sum();
    Ok((train_crf(&data, epochs, C2, ETA0, lex), data.len(), ntok))
}

/// L2 regularization strength (as CRFsuite's `c2`). With the learning rate and the number of
/// passes (`make quotes-model`), chosen on the five held-out fifths of PolNeAR train
/// (`make quotes-holdout FOLD=k`), not on dev.
const C2: f64 = 0.6;
/// Initial learning rate: `eta0 / (1 + lambda eta0 t)` at step `t`.
const ETA0: f64 = 0.0015;

/// How many times per pass of the second half the weights are added into the average. With
/// one snapshot per pass (the end of each), where the last few steps of a pass happened to
/// lead could decide the model: on one held-out fold, exact content F1 was 0.461 with one
/// shuffle and 0.491 with two others; with twenty snapshots, 0.491, 0.493 and 0.494.
const SNAPSHOTS: usize = 20;

/// Trains the tagger's weights and transitions: one SGD step per training chunk, the weight
/// decay of L2 kept as a running scale, and the weights at [`SNAPSHOTS`] evenly spaced points
/// of each pass of the second half averaged into the model, which reads the clusters of `lex`.
fn train_crf(data: &[Example], epochs: usize, c2: f64, eta0: f64, lex: Arc<Gazetteer>) -> Tagger {
    let mut sgd = crf::Sgd::new(1usize << tagger::BITS, tagger::STRIDE, NL, 2.0 * c2 / data.len().max(1) as f64, eta0);
    let end = |_: usize| true;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut seed: u64 = 0x5eed;
    let mut avg = Average::new(&sgd);
    let (mut alpha, mut beta) = (Vec::new(), Vec::new());
    for ep in 0..epochs {
        // Deterministic shuffle.
        for i in (1..order.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (seed >> 33) as usize % (i + 1);
            order.swap(i, j);
        }
        let averaging = 2 * ep + 2 > epochs;
        let mut loglik = 0.0;
        let every = order.len().div_ceil(SNAPSHOTS).max(1);
        for (step, &d) in order.iter().enumerate() {
            if averaging && (step + 1) % every == 0 && step + 1 < order.len() {
                avg.add(&sgd);
            }
            let ex = &data[d];
            let n = ex.labels.len();
            let mut em = tagger::emissions(&sgd.w, &ex.feats, n);
            for x in em.iter_mut() {
                *x = (*x as f64 * sgd.scale) as f32;
            }
            let log_z = crf::forward_backward(&em, NL, &sgd.trans, tagger::allowed, end, &mut alpha, &mut beta);
            if !log_z.is_finite() {
                continue;
            }
            loglik += crf::path_score(&em, NL, &sgd.trans, &ex.labels) - log_z;
            sgd.step(&em, tagger::allowed, &alpha, &beta, log_z, &ex.labels, |i| ex.feats[i * NF..(i + 1) * NF].iter().map(|&f| f as usize));
        }
        tracing::info!(epoch = ep, loglik, "quote tagger epoch");
        if averaging {
            avg.add(&sgd);
        }
    }
    avg.into_tagger(lex)
}

/// Running sums of the weights and transitions averaged into the model, and how many
/// snapshots they hold.
struct Average {
    w: Vec<f64>,
    trans: Vec<f64>,
    n: usize,
}

impl Average {
    fn new(sgd: &crf::Sgd) -> Average {
        Average { w: vec![0.0; sgd.w.len()], trans: vec![0.0; sgd.trans.len()], n: 0 }
    }

    /// Adds the current weights (with the L2 decay's running scale) and transitions.
    fn add(&mut self, sgd: &crf::Sgd) {
        for (a, &b) in self.w.iter_mut().zip(&sgd.w) {
            *a += b as f64 * sgd.scale;
        }
        for (a, &b) in self.trans.iter_mut().zip(&sgd.trans) {
            *a += b;
        }
        self.n += 1;
    }

    /// The averaged model.
    fn into_tagger(self, lex: Arc<Gazetteer>) -> Tagger {
        let k = self.n.max(1) as f64;
        let w = self.w.iter().map(|&x| (x / k) as f32).collect();
        let trans = self.trans.iter().map(|&x| (x / k) as f32).collect();
        Tagger::new(w, trans, lex)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A PolNeAR-style folder of `n` short articles, each with one annotated attribution.
    fn corpus(n: usize) -> tempfile::TempDir {
        let dir = tempfile::tempdir().expect("temp dir");
        std::fs::create_dir_all(dir.path().join("text")).expect("text dir");
        std::fs::create_dir_all(dir.path().join("attributions")).expect("attributions dir");
        for k in 0..n {
            let text = format!("Officials met on day {k}. “We will build {k} bridges,” Smith said. The talks went on.");
            let chars: Vec<char> = text.chars().collect();
            let at = |s: &str| {
                let c: Vec<char> = s.chars().collect();
                let a = (0..chars.len()).find(|&i| chars[i..].starts_with(&c)).expect("span in text");
                (a, a + c.len())
            };
            let (c0, c1) = at(&format!("“We will build {k} bridges,”"));
            let (s0, s1) = at("Smith");
            let (q0, q1) = at("said");
            let ann = format!(
                "T1\tSource {s0} {s1}\tSmith\nT2\tCue {q0} {q1}\tsaid\nT3\tContent {c0} {c1}\tx\nT4\tAttribution {q0} {q1}\tsaid\nE1\tAttribution:T4 Content:T3 Cue:T2 Source:T1\n"
            );
            std::fs::write(dir.path().join(format!("text/a{k}.txt")), text).expect("text");
            std::fs::write(dir.path().join(format!("attributions/a{k}_x1.ann")), ann).expect("ann");
        }
        dir
    }

    #[test]
    fn gold_labels_bridge_a_cue_to_its_content_only() {
        let text = "Trump told Fox News anchor Megyn Kelly that bullies should be fought. “No,” she said on Sunday.";
        let span = |w: &str| -> Option<Vec<(usize, usize)>> {
            let b = text.find(w).unwrap();
            let a = text[..b].chars().count();
            Some(vec![(a, a + w.chars().count())])
        };
        let gold = vec![
            CharAttr { source: span("Trump"), cue: span("told"), content: span("that bullies should be fought"), quoted: false },
            CharAttr { source: span("she"), cue: span("said"), content: span("“No,”"), quoted: true },
        ];
        let doc = Doc::new(text);
        let labels = gold_labels(&doc, &gold);
        let words = |l: u8| -> Vec<&str> { doc.toks.iter().zip(&labels).filter(|(_, &x)| x == l).map(|(t, _)| t.text(text)).collect() };
        // The addressee between "told" and "that" is a bridge; what follows a cue with its
        // content before it ("on Sunday") and what lies between a source and its cue is not.
        assert_eq!(words(tagger::BRIDGE), ["Fox", "News", "anchor", "Megyn", "Kelly"]);
        assert_eq!(words(tagger::O).iter().filter(|w| w.chars().all(char::is_alphabetic)).collect::<Vec<_>>(), [&"on", &"Sunday"]);
    }

    #[test]
    fn every_fold_is_held_out_once_and_the_pooled_table_counts_every_article() {
        let dir = corpus(6);
        let models = dir.path().join("no-models");
        let out = holdout_all(dir.path(), &models, 1, 3).expect("holdout");
        for k in 0..3 {
            assert!(out.contains(&format!("fold {k} (4 trained, 2 scored)")), "{out}");
        }
        assert!(out.contains("mean of the folds"), "{out}");
        assert!(out.contains("pooled over all 6 articles"), "{out}");
        // One gold attribution per article, each counted once in the pooled table.
        assert!(out.contains("(6 / "), "{out}");
        // The pooled counts are the sum of the folds' own.
        let arts = eval::articles(dir.path()).expect("articles");
        let mut sum = eval::Tally::default();
        for k in 0..3 {
            sum.add(&held_out(&arts, Arc::new(Gazetteer::default()), 1, k, 3, dir.path()).expect("fold").tally);
        }
        assert!(out.ends_with(&eval::table(&sum)), "{out}");
        assert!(holdout_all(dir.path(), &models, 1, 1).is_err());
    }
}
