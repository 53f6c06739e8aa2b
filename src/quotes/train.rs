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
            }
        }
    }
    labels
}

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
    let (test, train): (Vec<_>, Vec<_>) = arts.into_iter().enumerate().partition(|(i, _)| i % folds == fold);
    let strip = |v: Vec<(usize, (PathBuf, PathBuf))>| v.into_iter().map(|(_, a)| a).collect::<Vec<_>>();
    let (test, train) = (strip(test), strip(train));
    anyhow::ensure!(!train.is_empty() && !test.is_empty(), "too few articles under {} for {} folds", corpus.display(), folds);
    let (m, _, _) = train_on(&train, epochs, super::word_clusters(models)?)?;
    let (t, n, _) = eval::run_articles(&super::QuoteExtractor::with_tagger(m), &test)?;
    Ok(format!(
        "held-out fold {fold} of {folds}: trained on {} articles, scored on {n}, {epochs} epochs, {:.1} s\n{}",
        train.len(),
        start.elapsed().as_secs_f64(),
        eval::table(&t)
    ))
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
