//! The attribution tagger: a linear-chain CRF over tokens with BIO tags for source, cue and
//! content, decoded with Viterbi over a whole document (content may cross sentences).
//!
//! Features are syntax-free and cheap: hashed words and their neighbours, the word clusters
//! of the word and its neighbours (the entity stage's table), word shape,
//! lexicon classes (reporting verbs, pronouns, role nouns), quote state, distance to the
//! nearest reporting verb in the sentence, and the role the rules gave the token. Feature
//! indices are hashed into a fixed table, so the model is one flat weight array.

use std::io::{Read, Write};
use std::path::Path;
use std::sync::Arc;

use anyhow::Context;

use super::lexicon::*;
use super::rules::{Doc, Found};
use super::text::{Kind, ALLCAPS, CAP, DIGIT, INNERCAP};
use crate::entities::gazetteer::{hash_exact, hash_lower, Gazetteer};
use crate::record::QuoteKind;

/// Labels: O, B/I source, B/I cue, B/I content, and [`BRIDGE`].
pub const NL: usize = 8;
/// Outside every span, but between a cue and the content that follows it ("told [Fox News
/// anchor Megyn Kelly] that ..."): a state of its own, so that the chain remembers that a
/// content is due. Read as O once decoded.
pub const BRIDGE: u8 = 7;
/// O.
pub const O: u8 = 0;
/// Row stride of the weight table: one lane per label, 8 for aligned loads.
pub const STRIDE: usize = 8;
/// Feature table size (log2).
pub const BITS: u32 = 17;
/// Features per token.
pub const NF: usize = 39;
const MAGIC: &[u8; 8] = b"NMQTAG04";

/// Role of a label: 0 none, 1 source, 2 cue, 3 content.
#[inline]
pub fn role(l: u8) -> u8 {
    l.div_ceil(2)
}

/// Whether a label begins a span.
#[inline]
pub fn is_begin(l: u8) -> bool {
    l % 2 == 1
}

/// One row of the quantized weight table: the `NL` label weights as i16 (16 bytes, so a
/// row never straddles a cache line).
#[derive(Clone, Copy, Default)]
#[repr(C, align(16))]
pub struct QRow([i16; STRIDE]);

/// A trained tagger.
pub struct Tagger {
    /// Emission weights, `[feature][label]` (what training writes and the model file holds).
    w: Vec<f32>,
    /// `w` quantized to i16 (what tagging reads): half the size, so more of the table stays
    /// in the core's own cache, whose misses are most of the tagger's time.
    q: crate::mem::HugeTable<QRow>,
    /// Quantized units per unit of weight.
    qscale: f32,
    /// Transition weights `[prev][cur]` (index NL is the start state).
    pub trans: Vec<f32>,
    /// The word clusters the features read (shared with the entity stage when both run).
    pub lex: Arc<Gazetteer>,
}

/// The tagger's labels for one document.
pub struct Tagged {
    /// One label per token.
    pub labels: Vec<u8>,
}

/// The table row of feature template `t` with value `v`.
#[inline]
const fn mix(t: u64, v: u64) -> u32 {
    let x = (t.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ v).wrapping_mul(0xff51_afd7_ed55_8ccd);
    let x = x ^ (x >> 29);
    (x.wrapping_mul(0xc4ce_b9fe_1a85_ec53) >> (64 - BITS)) as u32
}

/// `mix(t, value(k))` for every `k < n`, computed at compile time: the templates over a few
/// small values (shapes, distance buckets, rule roles, quote state) read their rows from
/// these instead of hashing each token, with the same result.
macro_rules! mix_table {
    ($t:expr, $n:expr, |$k:ident| $v:expr) => {{
        let mut a = [0u32; $n];
        let mut $k = 0u64;
        while ($k as usize) < $n {
            a[$k as usize] = mix($t, $v);
            $k += 1;
        }
        a
    }};
}

/// Word shapes are 1..=8; code 0 stands for a place outside the document.
const fn shape_value(k: u64) -> u64 {
    if k == 0 {
        0xFFFF
    } else {
        k
    }
}

/// Distance buckets ([`bucket`]) are 0..=8, rule roles ([`rule_roles`], 9 outside the
/// document) 0..=9, quote states 0..=3.
const NB: usize = 9;
const NR: usize = 10;
static T_SHAPE: [u32; 9] = mix_table!(8, 9, |k| k);
static T_SHAPE3: [u32; 729] = mix_table!(9, 729, |k| (shape_value(k / 81) << 16) | ((k / 9 % 9) << 8) | shape_value(k % 9));
static T_BL: [u32; NB] = mix_table!(14, NB, |k| k);
static T_BR: [u32; NB] = mix_table!(15, NB, |k| k);
static T_BLR: [u32; NB * NB] = mix_table!(16, NB * NB, |k| ((k / 9) << 8) | (k % 9));
static T_REG: [u32; 4] = mix_table!(17, 4, |k| k);
static T_RR: [u32; NR] = mix_table!(18, NR, |k| k);
static T_RR3: [u32; NR * NR * NR] = mix_table!(19, NR * NR * NR, |k| ((k / 100) << 16) | ((k / 10 % 10) << 8) | (k % 10));
static T_POS: [u32; 3] = mix_table!(20, 3, |k| k);
static T_BL_SHAPE: [u32; NB * 9] = mix_table!(21, NB * 9, |k| ((k / 9) << 8) | (k % 9));
static T_PARA_SHAPE: [u32; 2 * 9] = mix_table!(22, 2 * 9, |k| ((k / 9) << 8) | (k % 9));
static T_RR_BL: [u32; NR * NB] = mix_table!(23, NR * NB, |k| ((k / 9) << 8) | (k % 9));
static T_COMMA: [u32; 2] = mix_table!(25, 2, |k| k);
static T_REG_BLR: [u32; 4 * NB * NB] = mix_table!(26, 4 * NB * NB, |k| ((k / 81) << 16) | ((k / 9 % 9) << 8) | (k % 9));
static T_RR_REG: [u32; NR * 4] = mix_table!(28, NR * 4, |k| ((k / 4) << 8) | (k % 4));
static T_SENT: [u32; NB * NB] = mix_table!(34, NB * NB, |k| ((k / 9) << 8) | (k % 9));

const LEXMASK: u32 = CUE | CUE_ING | CUE_WEAK | PRONOUN | ROLE | GROUP | DET | AUX | RELPRON | FUNC;

fn bucket(d: usize) -> u64 {
    match d {
        0 => 0,
        1 => 1,
        2 => 2,
        3 => 3,
        4..=6 => 4,
        7..=12 => 5,
        13..=25 => 6,
        usize::MAX => 8,
        _ => 7,
    }
}

/// Token roles given by the rules: 0 none, 1 source, 2 cue, 3 direct content, 4 partial
/// content, 5 indirect content, 6 term.
pub fn rule_roles(doc: &Doc, found: &[Found]) -> Vec<u8> {
    let n = doc.toks.len();
    let mut r = vec![0u8; n];
    for f in found {
        let code = match f.kind {
            QuoteKind::Direct => 3,
            QuoteKind::Partial => 4,
            QuoteKind::Indirect => 5,
            QuoteKind::Term => 6,
        };
        let a = doc.toks.partition_point(|t| (t.end as usize) <= f.content_marked.0);
        let b = doc.tok_from(f.content_marked.1);
        for x in r.iter_mut().take(b).skip(a) {
            *x = code;
        }
        if let Some((a, b)) = f.speaker {
            for x in r.iter_mut().take(b.min(n)).skip(a) {
                *x = 1;
            }
        }
        if let Some((a, b)) = f.cue {
            for x in r.iter_mut().take(b.min(n)).skip(a) {
                *x = 2;
            }
        }
    }
    r
}

/// Feature indices, `NF` per token; `lex` gives the word clusters.
pub fn features(doc: &Doc, rr: &[u8], lex: &Gazetteer) -> Vec<u32> {
    let clus = token_clusters(doc, lex);
    let toks = &doc.toks;
    let n = toks.len();
    let text = doc.text;
    // Per-token atoms.
    let mut wh = Vec::with_capacity(n);
    let mut shape = Vec::with_capacity(n);
    for t in toks {
        let (h, s) = match t.kind {
            Kind::Word => {
                let s = if t.has(ALLCAPS) {
                    1
                } else if t.has(CAP) {
                    2
                } else if t.has(DIGIT) {
                    3
                } else if t.has(INNERCAP) {
                    4
                } else {
                    5
                };
                (t.hash, s)
            }
            Kind::Punct => (t.ch as u64 | 1 << 40, 6),
            Kind::Quote => (t.ch as u64 | 2 << 40, 7),
            Kind::Para => (3 << 40, 8),
        };
        wh.push(h);
        shape.push(s as u64);
    }
    // Distance to the nearest strong cue to the left / right within the sentence.
    let mut cl = vec![usize::MAX; n];
    let mut cr = vec![usize::MAX; n];
    let mut first = vec![false; n];
    let mut last = vec![false; n];
    let mut sfrom = vec![0usize; n];
    let mut sto = vec![0usize; n];
    let mut cuew = vec![0u64; n];
    for &(a, b) in &doc.sents {
        let mut lastcue = 0u64;
        for i in a..b {
            sfrom[i] = i - a;
            sto[i] = b - 1 - i;
            cuew[i] = lastcue;
            if toks[i].has(CUE) {
                lastcue = toks[i].hash;
            }
        }
        if a < b {
            first[a] = true;
            last[b - 1] = true;
        }
        let mut d = usize::MAX;
        for i in a..b {
            if d != usize::MAX {
                d += 1;
            }
            cl[i] = d;
            if toks[i].has(CUE) {
                d = 0;
            }
        }
        let mut d = usize::MAX;
        for i in (a..b).rev() {
            if d != usize::MAX {
                d += 1;
            }
            cr[i] = d;
            if toks[i].has(CUE) {
                d = 0;
            }
        }
    }
    let mut reg_state = vec![0u64; n];
    for r in &doc.regs {
        let hi = r.close.min(n.saturating_sub(1));
        for x in reg_state.iter_mut().take(hi + 1).skip(r.open) {
            *x = 1;
        }
        if !r.no_open {
            reg_state[r.open] = 2;
        }
        if r.close < n {
            reg_state[r.close] = 3;
        }
    }
    let mut out = Vec::with_capacity(n * NF);
    let g = |v: &Vec<u64>, i: isize| -> u64 {
        if i < 0 || i as usize >= n {
            0xFFFF
        } else {
            v[i as usize]
        }
    };
    let lexf = |i: isize| -> u64 {
        if i < 0 || i as usize >= n {
            0xFFFF
        } else {
            (toks[i as usize].flags & LEXMASK) as u64
        }
    };
    let rrf = |i: isize| -> u64 {
        if i < 0 || i as usize >= n {
            9
        } else {
            rr[i as usize] as u64
        }
    };
    let c = |i: isize| -> [u16; 3] {
        if i < 0 || i as usize >= n {
            [u16::MAX; 3]
        } else {
            clus[i as usize]
        }
    };
    for i in 0..n {
        let ii = i as isize;
        let w0 = wh[i];
        let suf = {
            let t = &toks[i];
            if t.kind == Kind::Word {
                let s = t.text(text).as_bytes();
                let k = s.len().saturating_sub(3);
                let mut v = 0u64;
                for &b in &s[k..] {
                    v = v << 8 | b.to_ascii_lowercase() as u64;
                }
                v
            } else {
                0
            }
        };
        let bl = bucket(cl[i]);
        let br = bucket(cr[i]);
        let pos = if first[i] { 1 } else if last[i] { 2 } else { 0 };
        let comma_before_cue = (i + 1 < n && toks[i].is_punct(',') && cr[i] <= 3) as usize;
        let para_start = (i == 0 || toks[i - 1].kind == Kind::Para) as usize;
        // Small values as table indices (see `mix_table!`).
        let (sh, rg) = (shape[i] as usize, reg_state[i] as usize);
        let shape_at = |i: isize| if i < 0 || i as usize >= n { 0 } else { shape[i as usize] as usize };
        let (rp, r0, rn) = (rrf(ii - 1) as usize, rrf(ii) as usize, rrf(ii + 1) as usize);
        let (bl, br) = (bl as usize, br as usize);
        let f = [
            mix(0, 0),
            mix(1, w0),
            mix(2, g(&wh, ii - 1)),
            mix(3, g(&wh, ii + 1)),
            mix(4, g(&wh, ii - 2)),
            mix(5, g(&wh, ii + 2)),
            mix(6, g(&wh, ii - 1).rotate_left(17) ^ w0),
            mix(7, w0.rotate_left(17) ^ g(&wh, ii + 1)),
            T_SHAPE[sh],
            T_SHAPE3[shape_at(ii - 1) * 81 + sh * 9 + shape_at(ii + 1)],
            mix(10, lexf(ii)),
            mix(11, lexf(ii - 1)),
            mix(12, lexf(ii + 1)),
            mix(13, suf),
            T_BL[bl],
            T_BR[br],
            T_BLR[bl * NB + br],
            T_REG[rg],
            T_RR[r0],
            T_RR3[rp * 100 + r0 * 10 + rn],
            T_POS[pos],
            T_BL_SHAPE[bl * 9 + sh],
            T_PARA_SHAPE[para_start * 9 + sh],
            T_RR_BL[r0 * NB + bl],
            mix(24, g(&wh, ii - 1).rotate_left(9) ^ lexf(ii)),
            T_COMMA[comma_before_cue],
            T_REG_BLR[rg * NB * NB + bl * NB + br],
            mix(27, lexf(ii - 1) << 20 | lexf(ii)),
            T_RR_REG[r0 * 4 + rg],
            mix(29, lexf(ii - 2) << 20 | lexf(ii - 1)),
            mix(30, c(ii - 1)[1] as u64),
            mix(31, c(ii + 1)[1] as u64),
            mix(32, w0 ^ (bl as u64) << 56),
            mix(33, w0 ^ (br as u64) << 56),
            T_SENT[bucket(sfrom[i]) as usize * NB + bucket(sto[i]) as usize],
            mix(35, cuew[i] ^ (bl as u64) << 56),
            mix(36, c(ii)[0] as u64),
            mix(37, c(ii)[1] as u64),
            mix(38, c(ii)[2] as u64),
        ];
        out.extend_from_slice(&f);
    }
    out
}

/// Word clusters of each token at the three granularities of the cluster table, each plus
/// one (0: not a word, or a word the table does not hold). The table is far larger than the
/// CPU's caches, so each word's slot is asked for a few words ahead of its lookup.
pub fn token_clusters(doc: &Doc, lex: &Gazetteer) -> Vec<[u16; 3]> {
    const AHEAD: usize = 8;
    let mut out = vec![[0u16; 3]; doc.toks.len()];
    if lex.clusters_id() == 0 {
        return out;
    }
    let mut keys: Vec<(usize, u64, u64)> = Vec::with_capacity(doc.toks.len());
    for (i, t) in doc.toks.iter().enumerate() {
        if t.kind != Kind::Word {
            continue;
        }
        let w = t.text(doc.text);
        keys.push(if w.len() <= 48 && w.is_ascii() {
            // The tokenizer's hash is the lower-case hash; a word with no capital letter is
            // its own lower case.
            let l = unfold(t.hash);
            let e = if t.flags & (CAP | ALLCAPS | INNERCAP) == 0 { l } else { hash_exact(w) };
            (i, e, l)
        } else {
            (i, hash_exact(w), hash_lower(w))
        });
    }
    for &(_, e, l) in keys.iter().take(AHEAD) {
        lex.prefetch_clusters(e, l);
    }
    for (k, &(i, e, l)) in keys.iter().enumerate() {
        if let Some(&(_, e2, l2)) = keys.get(k + AHEAD) {
            lex.prefetch_clusters(e2, l2);
        }
        if let Some(c) = lex.clusters_of(e, l) {
            out[i] = c.map(|x| x.wrapping_add(1));
        }
    }
    out
}

/// Allowed transition: I-x only after B-x or I-x (`prev == NL`: at the start).
#[inline]
pub fn allowed(prev: usize, cur: usize) -> bool {
    if cur == 0 || cur % 2 == 1 {
        return true;
    }
    prev != NL && prev != 0 && role(prev as u8) == role(cur as u8)
}

/// Viterbi decoding of emission scores `[token][label]`, `stride` scores per token (the
/// first `NL` are the labels').
#[inline(always)]
pub fn viterbi(em: &[f32], stride: usize, trans: &[f32], n: usize) -> Vec<u8> {
    if n == 0 {
        return Vec::new();
    }
    // Transition matrix with forbidden moves at -inf, `STRIDE` labels wide so that a step
    // works on whole 8-lane rows.
    let mut tr = [[f32::NEG_INFINITY; STRIDE]; NL + 1];
    for p in 0..=NL {
        for y in 0..NL {
            if allowed(p, y) {
                tr[p][y] = trans[p * NL + y];
            }
        }
    }
    // The forward scores of every token; a chosen label's best previous label is found again
    // while tracing back, from the same sums in the same order, so the forward step needs no
    // back pointers (only maxima, one instruction a row).
    let mut fwd = vec![[f32::NEG_INFINITY; STRIDE]; n];
    for y in 0..NL {
        fwd[0][y] = em[y] + tr[NL][y];
    }
    let em = &em[..n * stride];
    for i in 1..n {
        let score = fwd[i - 1];
        let mut best = [0f32; STRIDE];
        for y in 0..STRIDE {
            best[y] = score[0] + tr[0][y];
        }
        for p in 1..NL {
            for y in 0..STRIDE {
                let s = score[p] + tr[p][y];
                best[y] = crate::crf::larger(best[y], s);
            }
        }
        let row = &em[i * stride..i * stride + NL];
        for y in 0..NL {
            fwd[i][y] = best[y] + row[y];
        }
    }
    let last = &fwd[n - 1];
    let mut y = (0..NL).max_by(|&a, &b| last[a].total_cmp(&last[b])).unwrap_or(0);
    let mut out = vec![0u8; n];
    for i in (0..n).rev() {
        out[i] = y as u8;
        if i > 0 {
            // The best previous label for `y`, the first one on a tie.
            let score = &fwd[i - 1];
            let (mut best, mut arg) = (score[0] + tr[0][y], 0usize);
            for p in 1..NL {
                let s = score[p] + tr[p][y];
                if s > best {
                    best = s;
                    arg = p;
                }
            }
            y = arg;
        }
    }
    out
}

/// Tokens ahead of the one being summed whose weight rows [`emissions`] asks for.
const EM_AHEAD: usize = 3;

/// Emission scores for feature rows (the `f32` weights training works on).
#[inline(always)]
pub fn emissions(w: &[f32], feats: &[u32], n: usize) -> Vec<f32> {
    let mut em = vec![0f32; n * NL];
    // The rows of a token a few places on are asked for while this token's are summed: the
    // table is larger than the core's own caches, and the loads then overlap. One token of
    // summing is too short to cover a load from the shared cache.
    let ask = |k: usize| {
        for &f in feats.get(k * NF..(k + 1) * NF).unwrap_or(&[]) {
            crate::mem::prefetch(&w[f as usize * STRIDE]);
        }
    };
    (0..EM_AHEAD).for_each(ask);
    for i in 0..n {
        ask(i + EM_AHEAD);
        let mut acc = [0f32; STRIDE];
        for &f in &feats[i * NF..(i + 1) * NF] {
            let base = f as usize * STRIDE;
            let ws: &[f32; STRIDE] = w[base..base + STRIDE].try_into().expect("stride");
            for y in 0..STRIDE {
                acc[y] += ws[y];
            }
        }
        em[i * NL..(i + 1) * NL].copy_from_slice(&acc[..NL]);
    }
    em
}

/// Emission scores from the quantized table, `STRIDE` per token: each
/// token's rows are summed exactly in integers, then scaled back. Rows are asked for ahead
/// as in [`emissions`]. Whole rows are summed, so that a row is one wide add.
#[inline(always)]
fn emissions_q(q: &[QRow], qscale: f32, feats: &[u32], n: usize) -> Vec<f32> {
    let mut em = vec![0f32; n * STRIDE];
    let ask = |k: usize| {
        for &f in feats.get(k * NF..(k + 1) * NF).unwrap_or(&[]) {
            crate::mem::prefetch(&q[f as usize]);
        }
    };
    (0..EM_AHEAD).for_each(ask);
    for i in 0..n {
        ask(i + EM_AHEAD);
        let mut acc = [0i32; STRIDE];
        for &f in &feats[i * NF..(i + 1) * NF] {
            let row = &q[f as usize].0;
            for y in 0..STRIDE {
                acc[y] += row[y] as i32;
            }
        }
        for (e, &a) in em[i * STRIDE..(i + 1) * STRIDE].iter_mut().zip(&acc) {
            *e = a as f32 / qscale;
        }
    }
    em
}

impl Tagger {
    /// A model of emission weights `w` (`[feature][label]`, `STRIDE` per row) and transitions
    /// `trans`; the table tagging reads is quantized from `w` here. The scale puts the largest
    /// weight at the i16 limit, and a token's sum of `NF` rows cannot overflow an i32.
    pub fn new(w: Vec<f32>, trans: Vec<f32>, lex: Arc<Gazetteer>) -> Tagger {
        let max = w.iter().fold(0f32, |m, &x| m.max(x.abs())).max(1e-9);
        let qscale = 32767.0 / max;
        let mut q = crate::mem::HugeTable::new(w.len() / STRIDE, QRow::default());
        for (row, ws) in q.iter_mut().zip(w.chunks_exact(STRIDE)) {
            for (x, &v) in row.0.iter_mut().zip(ws) {
                *x = (v * qscale).round() as i16;
            }
        }
        Tagger { w, q, qscale, trans, lex }
    }

    /// Loads a model file, with the word clusters of `lex`.
    pub fn load(p: &Path, lex: Arc<Gazetteer>) -> anyhow::Result<Tagger> {
        let f = std::fs::File::open(p).with_context(|| format!("opening {}", p.display()))?;
        let mut dec = zstd::stream::read::Decoder::new(f)?;
        let mut buf = Vec::new();
        dec.read_to_end(&mut buf).with_context(|| format!("reading {}", p.display()))?;
        anyhow::ensure!(buf.len() >= 8 && &buf[..8] == MAGIC, "{} is not a quote tagger model", p.display());
        let floats: Vec<f32> = buf[8..].chunks_exact(4).map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]])).collect();
        let nw = (1usize << BITS) * STRIDE;
        anyhow::ensure!(floats.len() == nw + (NL + 1) * NL, "{}: wrong model size", p.display());
        anyhow::ensure!(floats.iter().all(|x| x.is_finite()), "{}: corrupt weights", p.display());
        Ok(Tagger::new(floats[..nw].to_vec(), floats[nw..].to_vec(), lex))
    }

    /// Writes the model file (zstd-compressed).
    pub fn save(&self, p: &Path) -> anyhow::Result<()> {
        if let Some(d) = p.parent() {
            std::fs::create_dir_all(d)?;
        }
        let f = std::fs::File::create(p).with_context(|| format!("creating {}", p.display()))?;
        let mut enc = zstd::stream::write::Encoder::new(f, 19)?;
        enc.write_all(MAGIC)?;
        for x in self.w.iter().chain(&self.trans) {
            // Round tiny weights to zero: smaller file, same decisions.
            let v = if x.abs() < 1e-3 { 0.0f32 } else { *x };
            enc.write_all(&v.to_le_bytes())?;
        }
        enc.finish()?;
        Ok(())
    }

    /// Labels for one document, given the rule output.
    pub fn tag_with(&self, doc: &Doc, found: &[Found]) -> Tagged {
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                return unsafe { self.tag_with_avx2(doc, found) };
            }
        }
        self.tag_with_body(doc, found)
    }

    /// [`Tagger::tag_with`] compiled for AVX2: a weight row (8 floats) is one 256-bit add,
    /// and Viterbi's loops use the wide registers too. Same operations in the same order,
    /// hence the same labels.
    #[cfg(target_arch = "x86_64")]
    #[target_feature(enable = "avx2")]
    unsafe fn tag_with_avx2(&self, doc: &Doc, found: &[Found]) -> Tagged {
        self.tag_with_body(doc, found)
    }

    #[inline(always)]
    fn tag_with_body(&self, doc: &Doc, found: &[Found]) -> Tagged {
        let rr = rule_roles(doc, found);
        let n = doc.toks.len();
        // Every token is scored, as in training: a sentence with no listed cue, quote mark
        // or colon can still carry an attribution the model recognises.
        let feats = features(doc, &rr, &self.lex);
        let em = emissions_q(&self.q, self.qscale, &feats, n);
        let mut labels = viterbi(&em, STRIDE, &self.trans, n);
        for l in labels.iter_mut().filter(|l| **l == BRIDGE) {
            *l = O;
        }
        Tagged { labels }
    }
}

/// Reported content runs to the end of its sentence: a content span that stops early with
/// nothing but unlabelled tokens after it is extended to the sentence's final punctuation.
pub fn extend_contents(doc: &Doc, labels: &mut [u8]) {
    let toks = &doc.toks;
    for &(a, b) in &doc.sents {
        // Last content token of the sentence.
        let Some(last) = (a..b).rev().find(|&k| role(labels[k]) != 0) else { continue };
        if role(labels[last]) != 3 {
            continue;
        }
        let mut end = b;
        while end > last + 1 && (toks[end - 1].kind == Kind::Para || toks[end - 1].kind == Kind::Punct && matches!(toks[end - 1].ch, '.' | '!' | '?' | '…' | ':' | ';')) {
            end -= 1;
        }
        if end <= last + 1 || end - last > 60 {
            continue;
        }
        // Not into a clause that a comma and a participle or a subordinator open
        // (", applauding ...", ", while ..."; not ", as well as ..."): the report's own words.
        if toks[last + 1].is_punct(',') && last + 2 < end && toks[last + 2].kind == Kind::Word && !toks[last + 2].has(CAP) {
            let w = toks[last + 2].text(doc.text);
            let as_well = w == "as" && toks.get(last + 3).is_some_and(|t| t.text(doc.text) == "well");
            if w.len() > 4 && w.ends_with("ing") || matches!(w, "while" | "as" | "which" | "who" | "after" | "before") && !as_well {
                continue;
            }
        }
        // Do not run into a quote the rules left alone, or across a paragraph.
        if toks[last + 1..end].iter().any(|t| t.kind == Kind::Para || t.kind == Kind::Quote && super::text::is_double(t.ch)) {
            continue;
        }
        for l in labels.iter_mut().take(end).skip(last + 1) {
            *l = 6;
        }
    }
}

/// A partial quote whose cue follows it ("Clinton, though, would have to “go more to
/// center,” he said"): what was said takes in the reporter's words before the marks back to
/// the start of the sentence, unless a speaker, a cue, another quote or a lead-in colon or
/// dash stands between.
fn widen_to_subject(doc: &Doc, g: &mut Found) {
    let toks = &doc.toks;
    let (Some(c), true) = (g.cue, g.kind == QuoteKind::Partial) else { return };
    let (fa, fb) = g.content_marked;
    let ft = doc.tok_from(fa);
    if ft >= toks.len() || toks[c.0].start as usize <= fb {
        return;
    }
    let Some((sa, _)) = doc.sentence_of(ft) else { return };
    if doc.sentence_of(c.0).map(|s| s.0) != Some(sa) {
        return;
    }
    let a = (sa..ft).find(|&k| toks[k].is_word()).unwrap_or(ft);
    if a >= ft || g.speaker.is_some_and(|s| s.0 < ft) {
        return;
    }
    if toks[a..ft].iter().any(|t| t.kind != Kind::Word && t.kind != Kind::Punct || t.has(CUE)) {
        return;
    }
    if toks[ft - 1].kind == Kind::Punct && matches!(toks[ft - 1].ch, ':' | '—' | '–' | '-') {
        return;
    }
    g.content_marked.0 = toks[a].start as usize;
}

/// Most words of an addressee that [`after_addressee`] leaves out of a content.
const MAX_ADDRESSEE: usize = 8;

/// Where a content the tagger began right after a cue that takes an addressee ("told",
/// "asked", "urged") really begins: PolNeAR's content is the reported clause, not the person
/// told ("told [Fox News anchor Megyn Kelly] that ...", "asked [Sanders] how ..."). The
/// clause is found by its first word: "that", a subject pronoun or a question word, after a
/// few words and nothing else; otherwise the start stays. Not "to": PolNeAR's content mostly
/// keeps the one urged ("urged the candidate to dig in").
fn after_addressee(doc: &Doc, labels: &[u8], a: usize, b: usize) -> usize {
    let toks = &doc.toks;
    if a == 0 || role(labels[a - 1]) != 2 || !super::rules::is_addressee(toks[a - 1].text(doc.text)) {
        return a;
    }
    let opens = |k: usize| -> bool {
        let w = toks[k].text(doc.text);
        let w = w.split(['\'', '’']).next().unwrap_or(w).to_ascii_lowercase();
        matches!(w.as_str(), "that" | "he" | "she" | "they" | "we" | "i" | "it" | "there" | "how" | "whether" | "if" | "why" | "what" | "when" | "where" | "who")
    };
    if opens(a) {
        return a;
    }
    for (k, t) in toks.iter().enumerate().take(b.min(a + MAX_ADDRESSEE + 1)).skip(a + 1) {
        if !t.is_word() {
            return a;
        }
        if opens(k) {
            return k;
        }
    }
    a
}

/// Where a source `a..b` ends, as to the comma after it: PolNeAR's source takes in the comma
/// that closes an apposition ("Dow's chief executive, Andrew Liveris, said") and no other
/// ("Chris Christie, eager all evening to jab, said"). On PolNeAR train, 863 of the 866
/// sources that end in a comma hold another, and 748 of the 847 followed by one hold none.
fn source_comma(doc: &Doc, labels: &[u8], a: usize, b: usize) -> usize {
    let toks = &doc.toks;
    let inner = toks[a..b - 1].iter().any(|t| t.is_punct(','));
    if b - a > 1 && toks[b - 1].is_punct(',') && !inner {
        return b - 1;
    }
    if inner && !toks[b - 1].is_punct(',') && toks.get(b).is_some_and(|t| t.is_punct(',')) && labels[b] == O {
        return b + 1;
    }
    b
}

/// Contents, cue and source of one tagged attribution (token ranges).
type Group = (Vec<(usize, usize)>, Option<(usize, usize)>, Option<(usize, usize)>);

/// Turns labels into attributions: content and source spans attach to the nearest cue in
/// the same paragraph; split contents sharing a cue become one attribution.
pub fn combine(doc: &Doc, found: Vec<Found>, t: Tagged) -> Vec<Found> {
    let toks = &doc.toks;
    let n = toks.len();
    let mut labels = t.labels;
    extend_contents(doc, &mut labels);
    let labels = &labels;
    // Spans per role.
    let mut spans: Vec<(u8, usize, usize)> = Vec::new();
    let mut i = 0;
    while i < n {
        let l = labels[i];
        if l == O {
            i += 1;
            continue;
        }
        let r = role(l);
        let mut j = i + 1;
        while j < n && labels[j] != O && role(labels[j]) == r && !is_begin(labels[j]) {
            j += 1;
        }
        // A source does not begin inside quote marks ("on CBS's “Face the Nation,” House
        // Speaker Paul D. Ryan said"): it begins after the closing mark, if anything is left.
        let mut a = i;
        if r == 1 {
            if let Some(reg) = doc.in_reg.get(i).and_then(|&g| doc.regs.get(g as usize)) {
                if reg.open < i && reg.close < j {
                    a = (reg.close + 1..j).find(|&k| toks[k].is_word()).unwrap_or(j);
                }
            }
        }
        if r == 3 {
            a = after_addressee(doc, labels, a, j);
        }
        let mut b = j;
        if r == 1 && a < j {
            b = source_comma(doc, labels, a, j);
        }
        if a < b {
            spans.push((r, a, b));
        }
        i = j;
    }
    // Paragraph id per token.
    let mut para = vec![0u32; n];
    let mut p = 0;
    for (k, tk) in toks.iter().enumerate() {
        if tk.kind == Kind::Para {
            p += 1;
        }
        para[k] = p;
    }
    let cues: Vec<(usize, usize)> = spans.iter().filter(|s| s.0 == 2).map(|s| (s.1, s.2)).collect();
    let nearest_cue = |a: usize, b: usize| -> Option<usize> {
        let mut best: Option<(usize, usize)> = None;
        // Cues are sorted and disjoint: only the neighbours of the span can be nearest.
        let mid = cues.partition_point(|c| c.1 <= a);
        let lo = mid.saturating_sub(2);
        let hi = (mid + 3).min(cues.len());
        for (ci, &(ca, cb)) in cues.iter().enumerate().take(hi).skip(lo) {
            let d = a.saturating_sub(cb).max(ca.saturating_sub(b));
            // Content may sit a paragraph away from its cue (lead-ins); sources rarely.
            if d > 400 {
                continue;
            }
            if best.is_none_or(|(bd, _)| d < bd) {
                best = Some((d, ci));
            }
        }
        best.map(|b| b.1)
    };
    // A content belongs to a cue when little but the source and punctuation lies between.
    let near = |c: (usize, usize), a: usize, b: usize| -> bool {
        let (lo, hi) = if c.1 <= a { (c.1, a) } else if c.0 >= b { (b, c.0) } else { return true };
        if hi - lo > 40 {
            return false;
        }
        let mut words = 0;
        for k in lo..hi {
            let tk = &toks[k];
            if tk.kind == Kind::Word && role(labels[k]) != 1 {
                words += 1;
            }
        }
        words <= 6 && hi - lo <= 40
    };
    let mut groups: Vec<Group> = cues.iter().map(|&c| (Vec::new(), Some(c), None)).collect();
    let mut loose: Vec<Group> = Vec::new();
    for &(r, a, b) in &spans {
        match r {
            // A source belongs to a cue of its own paragraph and sentence.
            1 => match nearest_cue(a, b).filter(|&ci| para[cues[ci].0] == para[a] && doc.sentence_of(cues[ci].0) == doc.sentence_of(a)) {
                Some(ci) if groups[ci].2.is_none() => groups[ci].2 = Some((a, b)),
                _ => loose.push((Vec::new(), None, Some((a, b)))),
            },
            3 => match nearest_cue(a, b).filter(|&ci| near(cues[ci], a, b)) {
                Some(ci) => groups[ci].0.push((a, b)),
                None => loose.push((vec![(a, b)], None, None)),
            },
            _ => {}
        }
    }
    // Several contents share a cue only as the pieces of a split quote.
    let quoted = |&(a, b): &(usize, usize)| -> bool { doc.text[toks[a].start as usize..toks[b - 1].end as usize].chars().any(super::text::is_quote_char) };
    for g in groups.iter_mut() {
        if g.0.len() > 1 && !g.0.iter().all(quoted) {
            let c = g.1.unwrap_or((0, 0));
            let dist = |&(a, b): &(usize, usize)| if b <= c.0 { c.0 - b } else { a.saturating_sub(c.1) };
            let keep = (0..g.0.len()).min_by_key(|&k| dist(&g.0[k])).unwrap_or(0);
            let kept = g.0[keep];
            for (k, &sp) in g.0.iter().enumerate() {
                if k != keep {
                    loose.push((vec![sp], None, None));
                }
            }
            g.0 = vec![kept];
        }
    }
    groups.extend(loose);
    // Quoted material: the rules know the marks, the kinds and the speakers (pronouns,
    // continuation); the tagger knows how far PolNeAR's content reaches around a partial
    // quote. Indirect speech comes from the tagger alone.
    let mut out: Vec<Found> = Vec::new();
    let mut consumed = vec![false; groups.len()];
    // Every content span of every group, sorted by position (spans never overlap).
    let mut index: Vec<(usize, usize, usize, usize)> = Vec::new(); // (start, end, group, k)
    for (gi, grp) in groups.iter().enumerate() {
        for (k, &(a, b)) in grp.0.iter().enumerate() {
            index.push((toks[a].start as usize, toks[b - 1].end as usize, gi, k));
        }
    }
    index.sort_unstable();
    let gspan = |&(a, b): &(usize, usize)| (toks[a].start as usize, toks[b - 1].end as usize);
    for f in &found {
        if f.kind == QuoteKind::Indirect {
            continue;
        }
        if f.kind == QuoteKind::Term {
            out.push(f.clone());
            continue;
        }
        let (fa, fb) = f.content_marked;
        let mut g = f.clone();
        // A speaker right next to its cue ("Trump said", "said Trump") is the rules' best case.
        let rule_strong = match (f.speaker, f.cue) {
            (Some(sp), Some(c)) => sp.1 <= c.0 && c.0 - sp.1 <= 2 || sp.0 >= c.1 && sp.0 - c.1 <= 1,
            _ => false,
        };
        let first = index.partition_point(|x| x.1 <= fa);
        for &(ba, bb, gi, _) in index[first..].iter().take_while(|x| x.0 < fb) {
            let grp = &groups[gi];
            {
                // What is said inside the marks does not attribute the quote itself: it is
                // an attribution of its own, nested in the quote.
                let inside = |r: Option<(usize, usize)>| r.is_some_and(|(a, b)| toks[a].start as usize >= fa && toks[b - 1].end as usize <= fb);
                if inside(grp.1) || inside(grp.2) {
                    continue;
                }
                consumed[gi] = true;
                if f.kind == QuoteKind::Partial && ba <= fa && fb <= bb {
                    g.content = (ba, bb);
                    g.content_marked = (ba, bb);
                }
                let tag_strong = match (grp.2, grp.1) {
                    (Some(sp), Some(c)) => sp.1 <= c.0 && c.0 - sp.1 <= 2,
                    _ => false,
                };
                // A cue after a quote that closed its sentence belongs to the next one.
                let cue_after_end = grp.1.is_some_and(|c| toks[c.0].start as usize >= fb) && doc.text[fa..fb].trim_end_matches(|c: char| super::text::is_quote_char(c) || c.is_whitespace()).ends_with(['.', '!', '?']);
                if cue_after_end {
                    continue;
                }
                if (tag_strong || !rule_strong) && (grp.1.is_some() && grp.2.is_some() || g.speaker.is_none() && !g.continued) {
                    g.speaker = grp.2;
                    g.cue = grp.1;
                    g.continued = false;
                }
            }
        }
        widen_to_subject(doc, &mut g);
        // Several partial quotes of one sentence share one widened content.
        if let Some(last) = out.last() {
            if last.kind == QuoteKind::Partial && g.kind == QuoteKind::Partial && last.content_marked == g.content_marked {
                continue;
            }
        }
        out.push(g);
    }
    for (gi, (contents, cue, source)) in groups.into_iter().enumerate() {
        if consumed[gi] {
            continue;
        }
        if contents.is_empty() {
            // A source with neither a cue nor a content is not an attribution: no one is said
            // to say anything. (Held out on PolNeAR train, dropping these raised exact source F1
            // on every fifth and changed nothing else.)
            if cue.is_none() {
                continue;
            }
            // A cue, with or without its source, and no content still counts as an attribution
            // part: most such cues are PolNeAR's, their content missed.
            out.push(Found { kind: QuoteKind::Indirect, content: (0, 0), content_marked: (0, 0), cue, speaker: source, continued: false, confidence: 0.3, sentence: 0 });
            continue;
        }
        // A content with neither a cue nor a source near it is not reported: nobody is said
        // to have said it, and most such spans are not reported speech at all.
        if cue.is_none() && source.is_none() {
            continue;
        }
        for (k, sp) in contents.iter().enumerate() {
            let (ba, bb) = gspan(sp);
            let marked = doc.text[ba..bb].chars().any(super::text::is_double);
            out.push(Found {
                kind: if marked { QuoteKind::Partial } else { QuoteKind::Indirect },
                content: (ba, bb),
                content_marked: (ba, bb),
                cue,
                speaker: source,
                continued: k > 0,
                confidence: 0.6,
                sentence: 0,
            });
        }
    }
    out.sort_by_key(|f| (f.content_marked.0, f.content_marked.1));
    super::rules::continuation(doc, &mut out);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_clusters_reads_exact_then_lower_case_and_skips_non_words() {
        use std::io::Write as _;
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("clusters.tsv.gz");
        let mut enc = flate2::write::GzEncoder::new(std::fs::File::create(&p).unwrap(), flate2::Compression::fast());
        enc.write_all(b"# word\tk64\tk256\tk1024\nsaid\t1\t2\t3\nSmith\t4\t5\t6\n").unwrap();
        enc.finish().unwrap();
        let mut lex = Gazetteer::default();
        // No table: every token is 0.
        let doc = Doc::new("Smith SAID: plans.");
        assert!(token_clusters(&doc, &lex).iter().all(|c| *c == [0, 0, 0]));
        lex.load_clusters(&p).unwrap();
        let got = token_clusters(&doc, &lex);
        let words: Vec<&str> = doc.toks.iter().map(|t| t.text(doc.text)).collect();
        assert_eq!(words, ["Smith", "SAID", ":", "plans", "."]);
        // Ids are shifted by one so that 0 means "none"; "SAID" falls back to "said".
        assert_eq!(got, [[5, 6, 7], [2, 3, 4], [0, 0, 0], [0, 0, 0], [0, 0, 0]]);
    }

    /// The score of a label sequence under emissions `em` and transitions `trans` (`None`
    /// when a move is not allowed).
    fn path_score(em: &[f32], trans: &[f32], labels: &[usize]) -> Option<f32> {
        let mut prev = NL;
        let mut s = 0.0;
        for (i, &y) in labels.iter().enumerate() {
            if !allowed(prev, y) {
                return None;
            }
            s += trans[prev * NL + y] + em[i * NL + y];
            prev = y;
        }
        Some(s)
    }

    /// Labels with the content (B then I) on the words `from..to` of `doc` (word indices).
    fn content_labels(doc: &Doc, from: usize, to: usize) -> Vec<u8> {
        let words: Vec<usize> = (0..doc.toks.len()).filter(|&i| doc.toks[i].kind == Kind::Word).collect();
        let mut l = vec![O; doc.toks.len()];
        l[words[from]] = 5;
        for &i in &words[from + 1..to] {
            l[i] = 6;
        }
        l
    }

    #[test]
    fn unfolded_word_hash_is_the_entity_stages_lower_case_hash() {
        for w in ["said", "Trump", "U.S.", "NATO", "e-mail", "don't", "iPhone", "2,521", "a"] {
            assert_eq!(unfold(word_hash(w)), hash_lower(w), "{w}");
        }
        // Each token of a text gets the clusters the slow path (both hashes computed) gives.
        let text = "Smith SAID the U.S. plan, “Zelenskyy’s idea”, was naïve and extraordinarily-long-hyphenated-compound-words-beyond-forty-eight-bytes.";
        let doc = Doc::new(text);
        for t in doc.toks.iter().filter(|t| t.kind == Kind::Word) {
            let w = t.text(text);
            if w.len() <= 48 && w.is_ascii() {
                assert_eq!(unfold(t.hash), hash_lower(w), "{w}");
                if t.flags & (CAP | ALLCAPS | INNERCAP) == 0 {
                    assert_eq!(hash_exact(w), hash_lower(w), "{w}");
                }
            }
        }
    }

    #[test]
    fn tagged_content_without_cue_or_source_is_not_reported() {
        let text = "The leaders met in Paris. The deal is historic, Smith said.";
        let doc = Doc::new(text);
        // "The leaders met in Paris" alone: no cue, no source.
        let found = combine(&doc, Vec::new(), Tagged { labels: content_labels(&doc, 0, 5) });
        assert!(found.iter().all(|f| f.content.0 >= f.content.1), "{found:?}");
        // "The deal is historic" with the cue "said" and the source "Smith" after it.
        let mut l = content_labels(&doc, 5, 9);
        let at = |w: &str| doc.toks.iter().position(|t| t.text(text) == w).unwrap();
        l[at("Smith")] = 1;
        l[at("said")] = 3;
        let found = combine(&doc, Vec::new(), Tagged { labels: l });
        assert!(found.iter().any(|f| &text[f.content.0..f.content.1] == "The deal is historic" && f.cue.is_some() && f.speaker.is_some()), "{found:?}");
    }

    #[test]
    fn a_source_does_not_begin_inside_quote_marks() {
        let text = "In an interview on CBS's “Face the Nation,” Speaker Paul Ryan said his plan would fail.";
        let doc = Doc::new(text);
        let at = |w: &str| doc.toks.iter().position(|t| t.text(text) == w).unwrap();
        let mut l = vec![O; doc.toks.len()];
        l[at("Nation")] = 1;
        l[at("Nation") + 1..=at("Ryan")].fill(2);
        l[at("said")] = 3;
        l[at("his")] = 5;
        l[at("his") + 1..=at("fail")].fill(6);
        let found = combine(&doc, Vec::new(), Tagged { labels: l });
        let f = found.iter().find(|f| f.speaker.is_some()).expect("an attribution with a source");
        let (a, b) = f.speaker.unwrap();
        assert_eq!(&text[doc.toks[a].start as usize..doc.toks[b - 1].end as usize], "Speaker Paul Ryan");
    }

    #[test]
    fn a_partial_quote_with_its_cue_after_it_takes_in_the_start_of_its_sentence() {
        let marked = |text: &str| -> String {
            let doc = Doc::new(text);
            let found = super::super::rules::find(&doc);
            let n = doc.toks.len();
            let out = combine(&doc, found, Tagged { labels: vec![O; n] });
            let f = out.iter().find(|f| f.kind == QuoteKind::Partial).expect("a partial quote");
            text[f.content_marked.0..f.content_marked.1].to_string()
        };
        assert_eq!(marked("The new plan, though, will “fix nothing at all,” the senator said."), "The new plan, though, will “fix nothing at all,”");
        // a lead-in colon: what was said starts at the marks
        assert_eq!(marked("The mayor had one answer for them: “not this year,” an aide said."), "“not this year,”");
    }

    #[test]
    fn a_content_after_an_addressee_cue_starts_at_the_reported_clause() {
        // The tagger's content runs from right after the cue; what comes out of `combine`.
        let content_after = |text: &str, cue: &str| -> String {
            let doc = Doc::new(text);
            let at = doc.toks.iter().position(|t| t.text(text) == cue).unwrap();
            let end = doc.toks.iter().rposition(|t| t.is_word()).unwrap() + 1;
            let mut l = vec![O; doc.toks.len()];
            l[at + 1] = 5;
            l[at + 2..end].fill(6);
            l[0] = 1;
            l[at] = 3;
            let found = combine(&doc, Vec::new(), Tagged { labels: l });
            let f = found.iter().find(|f| f.content.0 < f.content.1).expect("a content");
            text[f.content.0..f.content.1].to_string()
        };
        assert_eq!(content_after("Trump told Fox News anchor Megyn Kelly that bullies should be fought.", "told"), "that bullies should be fought");
        assert_eq!(content_after("Clinton assured voters she’s with them.", "assured"), "she’s with them");
        assert_eq!(content_after("Reporters asked Sanders whether his age was fair game.", "asked"), "whether his age was fair game");
        // Not after other cues, not past punctuation, and not at "to": PolNeAR's content
        // mostly keeps the one urged ("urged the candidate to dig in").
        assert_eq!(content_after("Obama said voters that week were tired.", "said"), "voters that week were tired");
        assert_eq!(content_after("Trump told the crowd, at length, that he won.", "told"), "the crowd, at length, that he won");
        assert_eq!(content_after("Cruz urged the candidate to dig in.", "urged"), "the candidate to dig in");
        // Already at the clause.
        assert_eq!(content_after("She told reporters that it was over.", "reporters"), "that it was over");
    }

    #[test]
    fn a_source_keeps_the_comma_that_closes_an_apposition_only() {
        // Labels the words from `first` to `last` as the source, and the cue "said".
        let source = |text: &str, first: &str, last: &str, upto: usize| -> String {
            let doc = Doc::new(text);
            let at = |w: &str| doc.toks.iter().position(|t| t.text(text) == w).unwrap();
            let mut l = vec![O; doc.toks.len()];
            l[at(first)] = 1;
            l[at(first) + 1..at(last) + 1 + upto].fill(2);
            l[at("said")] = 3;
            l[at("said") + 1] = 5;
            l[at("said") + 2..doc.toks.len() - 1].fill(6);
            let found = combine(&doc, Vec::new(), Tagged { labels: l });
            let (a, b) = found.iter().find_map(|f| f.speaker).expect("a source");
            text[doc.toks[a].start as usize..doc.toks[b - 1].end as usize].to_string()
        };
        // A comma after a bare name is not the source's; the comma closing an apposition is.
        assert_eq!(source("Chris Christie, eager to jab, said he would win.", "Chris", "Christie", 1), "Chris Christie");
        assert_eq!(source("Andrew Liveris, Dow's chief, said it was over.", "Andrew", "chief", 0), "Andrew Liveris, Dow's chief,");
        assert_eq!(source("Andrew Liveris, Dow's chief, said it was over.", "Andrew", "chief", 1), "Andrew Liveris, Dow's chief,");
        assert_eq!(source("Mr. Smith said it was over.", "Mr.", "Smith", 0), "Mr. Smith");
    }

    #[test]
    fn content_extends_to_the_sentence_end_but_not_into_a_participle_clause() {
        let doc = Doc::new("He said the deal was historic for the whole region.");
        let mut l = content_labels(&doc, 2, 6);
        extend_contents(&doc, &mut l);
        let region = doc.toks.iter().position(|t| t.text(doc.text) == "region").unwrap();
        assert_eq!(l[region], 6);
        let doc = Doc::new("He called the deal historic, applauding the negotiators for their work.");
        let mut l = content_labels(&doc, 2, 5);
        let before = l.clone();
        extend_contents(&doc, &mut l);
        assert_eq!(l, before);
    }

    #[test]
    fn table_templates_give_the_rows_hashing_gives() {
        let text = "“We will win,” Trump said on Monday, adding that the deal was \"done.\"\n\nShe told reporters: “Not yet.” Officials said nothing.";
        let doc = Doc::new(text);
        let found = super::super::rules::find(&doc);
        let rr = rule_roles(&doc, &found);
        let feats = features(&doc, &rr, &Gazetteer::default());
        let n = doc.toks.len();
        // A template's value is recovered from its row in the one-value tables, then the
        // combined templates are hashed from those values as `mix` would.
        let find = |t: &[u32], row: u32| t.iter().position(|&x| x == row).expect("a row of the table") as u64;
        let at = |i: usize, k: usize| feats[i * NF + k];
        for i in 0..n {
            let (sh, bl, br) = (find(&T_SHAPE, at(i, 8)), find(&T_BL, at(i, 14)), find(&T_BR, at(i, 15)));
            let (rg, r0) = (find(&T_REG, at(i, 17)), find(&T_RR, at(i, 18)));
            let sh_at = |j: Option<usize>| j.filter(|&j| j < n).map_or(0xFFFF, |j| find(&T_SHAPE, at(j, 8)));
            let rr_at = |j: Option<usize>| j.filter(|&j| j < n).map_or(9, |j| find(&T_RR, at(j, 18)));
            assert_eq!(at(i, 9), mix(9, sh_at(i.checked_sub(1)) << 16 | sh << 8 | sh_at(Some(i + 1))));
            assert_eq!(at(i, 16), mix(16, bl << 8 | br));
            assert_eq!(at(i, 19), mix(19, rr_at(i.checked_sub(1)) << 16 | r0 << 8 | rr_at(Some(i + 1))));
            assert_eq!(at(i, 21), mix(21, bl << 8 | sh));
            assert_eq!(at(i, 23), mix(23, r0 << 8 | bl));
            assert_eq!(at(i, 26), mix(26, rg << 16 | bl << 8 | br));
            assert_eq!(at(i, 28), mix(28, r0 << 8 | rg));
            let para = (i == 0 || doc.toks[i - 1].kind == Kind::Para) as u64;
            assert_eq!(at(i, 22), mix(22, para << 8 | sh));
            // (a paragraph break between sentences belongs to none: 0 and 0)
            let (from, to) = doc.sents.iter().find(|s| s.0 <= i && i < s.1).map_or((0, 0), |&(a, b)| (i - a, b - 1 - i));
            assert_eq!(at(i, 34), mix(34, bucket(from) << 8 | bucket(to)));
            assert_eq!(at(i, 0), mix(0, 0));
        }
    }

    #[test]
    fn quantized_scores_match_the_float_weights() {
        let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
        let mut rnd = || crate::entities::tagger::xorshift(&mut x);
        let rows = 1usize << BITS;
        // Weights of both signs and many sizes, one of them the largest the scale meets.
        let mut w: Vec<f32> = (0..rows * STRIDE).map(|_| ((rnd() >> 40) as f32 / (1u64 << 24) as f32 - 0.5) * 6.0).collect();
        w[5] = -7.5;
        let m = Tagger::new(w.clone(), vec![0.0; (NL + 1) * NL], Arc::new(Gazetteer::default()));
        let n = 50;
        let feats: Vec<u32> = (0..n * NF).map(|_| (rnd() >> (64 - BITS)) as u32).collect();
        let exact = emissions(&w, &feats, n);
        let quant = emissions_q(&m.q, m.qscale, &feats, n);
        // Each row is off by at most half a quantization step per weight.
        let step = 7.5 / 32767.0;
        for i in 0..n {
            for y in 0..NL {
                let (a, b) = (exact[i * NL + y], quant[i * STRIDE + y]);
                assert!((a - b).abs() <= NF as f32 * step * 0.5 + 1e-4, "{a} vs {b}");
            }
        }
        // The largest weight keeps its value and sign at the i16 limit.
        assert_eq!(m.q[0].0[5], -32767);
    }

    /// Decoding as it was done with stored back pointers (the first best previous label),
    /// for the test below.
    fn viterbi_with_pointers(em: &[f32], trans: &[f32], n: usize) -> Vec<u8> {
        let tr = |p: usize, y: usize| if allowed(p, y) { trans[p * NL + y] } else { f32::NEG_INFINITY };
        let mut score: Vec<f32> = (0..NL).map(|y| em[y] + tr(NL, y)).collect();
        let mut back = vec![0u8; n * NL];
        for i in 1..n {
            let mut next = vec![0f32; NL];
            for y in 0..NL {
                let (mut best, mut arg) = (score[0] + tr(0, y), 0u8);
                for (p, &sp) in score.iter().enumerate().skip(1) {
                    let s = sp + tr(p, y);
                    if s > best {
                        best = s;
                        arg = p as u8;
                    }
                }
                next[y] = best + em[i * NL + y];
                back[i * NL + y] = arg;
            }
            score = next;
        }
        let mut y = (0..NL).max_by(|&a, &b| score[a].total_cmp(&score[b])).unwrap_or(0);
        let mut out = vec![0u8; n];
        for i in (0..n).rev() {
            out[i] = y as u8;
            if i > 0 {
                y = back[i * NL + y] as usize;
            }
        }
        out
    }

    /// On scores with many ties (small whole numbers), tracing back without stored pointers
    /// picks what stored pointers picked: the same sums, the same first best.
    #[test]
    fn tracing_back_chooses_as_stored_pointers_did() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        for n in [1usize, 2, 5, 17, 40] {
            for _ in 0..30 {
                let mut rnd = || (crate::entities::tagger::xorshift(&mut x) % 3) as f32;
                let em: Vec<f32> = (0..n * NL).map(|_| rnd()).collect();
                let trans: Vec<f32> = (0..(NL + 1) * NL).map(|_| rnd()).collect();
                assert_eq!(viterbi(&em, NL, &trans, n), viterbi_with_pointers(&em, &trans, n), "n={n}");
            }
        }
    }

    #[test]
    fn viterbi_finds_the_best_allowed_sequence() {
        let mut x: u64 = 0x2545_f491_4f6c_dd1d;
        let mut rnd = || (crate::entities::tagger::xorshift(&mut x) >> 40) as f32 / (1u64 << 24) as f32 * 4.0 - 2.0;
        for n in 1..=5 {
            for _ in 0..20 {
                let em: Vec<f32> = (0..n * NL).map(|_| rnd()).collect();
                let trans: Vec<f32> = (0..(NL + 1) * NL).map(|_| rnd()).collect();
                let got: Vec<usize> = viterbi(&em, NL, &trans, n).into_iter().map(usize::from).collect();
                let got_score = path_score(&em, &trans, &got).expect("an allowed sequence");
                let mut best = f32::NEG_INFINITY;
                for code in 0..NL.pow(n as u32) {
                    let labels: Vec<usize> = (0..n).map(|k| code / NL.pow(k as u32) % NL).collect();
                    if let Some(s) = path_score(&em, &trans, &labels) {
                        best = best.max(s);
                    }
                }
                assert!((got_score - best).abs() < 1e-4, "n={n}: {got_score} vs best {best}");
            }
        }
    }
}
