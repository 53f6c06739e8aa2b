//! Training of the attribution tagger from PolNeAR-style brat data: gold spans become BIO
//! token labels, and an averaged structured perceptron learns the weights. Deterministic:
//! the same data and epochs give the same model file.

use std::path::Path;
use std::time::Instant;

use anyhow::Context;
use rayon::prelude::*;

use super::eval::{self, CharAttr};
use super::rules::{self, Doc};
use super::tagger::{self, Tagger, NF, NL};

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

/// Trains the tagger on a PolNeAR-style folder and writes `out`; returns a summary line.
pub fn train(corpus: &Path, out: &Path, epochs: usize) -> anyhow::Result<String> {
    let start = Instant::now();
    let arts = eval::articles(corpus).with_context(|| format!("reading corpus {}", corpus.display()))?;
    anyhow::ensure!(!arts.is_empty(), "no annotated articles under {}", corpus.display());
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
            let feats = tagger::features(&doc, &rr);
            let labels = gold_labels(&doc, &gold);
            Ok(chunks(&doc, feats, labels))
        })
        .collect::<anyhow::Result<Vec<_>>>()?
        .into_iter()
        .flatten()
        .collect();
    data.retain(|e| !e.labels.is_empty());
    let ntok: usize = data.iter().map(|e| e.labels.len()).sum();
    let mut m = Tagger::empty();
    let mut acc_w = vec![0f32; m.w.len()];
    let mut acc_t = vec![0f32; m.trans.len()];
    let mut c: f32 = 1.0;
    let mut order: Vec<usize> = (0..data.len()).collect();
    let mut seed: u64 = 0x5eed;
    for _ep in 0..epochs {
        // Deterministic shuffle.
        for i in (1..order.len()).rev() {
            seed = seed.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
            let j = (seed >> 33) as usize % (i + 1);
            order.swap(i, j);
        }
        for &d in &order {
            let ex = &data[d];
            let n = ex.labels.len();
            let em = tagger::emissions(&m.w, &ex.feats, n);
            let pred = tagger::viterbi(&em, &m.trans, n);
            if pred != ex.labels {
                for i in 0..n {
                    let (g, p) = (ex.labels[i] as usize, pred[i] as usize);
                    if g != p {
                        for &f in &ex.feats[i * NF..(i + 1) * NF] {
                            let b = f as usize * tagger::STRIDE;
                            m.w[b + g] += 1.0;
                            acc_w[b + g] += c;
                            m.w[b + p] -= 1.0;
                            acc_w[b + p] -= c;
                        }
                    }
                    let pg = if i == 0 { NL } else { ex.labels[i - 1] as usize };
                    let pp = if i == 0 { NL } else { pred[i - 1] as usize };
                    if (pg, g) != (pp, p) {
                        m.trans[pg * NL + g] += 1.0;
                        acc_t[pg * NL + g] += c;
                        m.trans[pp * NL + p] -= 1.0;
                        acc_t[pp * NL + p] -= c;
                    }
                }
            }
            c += 1.0;
        }
    }
    for (w, a) in m.w.iter_mut().zip(&acc_w) {
        *w -= a / c;
    }
    for (w, a) in m.trans.iter_mut().zip(&acc_t) {
        *w -= a / c;
    }
    m.save(out)?;
    let size = std::fs::metadata(out).map(|m| m.len()).unwrap_or(0);
    Ok(format!(
        "trained on {} articles ({} chunks, {} tokens), {} epochs, in {:.1} s; wrote {} ({} bytes)",
        arts.len(),
        data.len(),
        ntok,
        epochs,
        start.elapsed().as_secs_f64(),
        out.display(),
        size
    ))
}
