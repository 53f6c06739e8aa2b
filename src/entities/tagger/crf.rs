//! The linear-chain CRF of the name tagger: the hashed token features of the parent module,
//! a learned tag-transition table, Viterbi decoding under the BILOU constraints, and training
//! by stochastic gradient descent on the regularized conditional log-likelihood
//! (forward-backward per sentence, from [`crate::crf`]).
//!
//! Non-local evidence that depends on decisions (what earlier sentences of the document
//! called the same word) is taken sentence by sentence: a sentence is decoded with the
//! history of the sentences before it, then adds its own tags to the history.

use super::*;

/// Row of the transition table that holds the scores of a sentence's first tag.
pub(super) const START: usize = NT;
/// Length of a transition table: `NT + 1` rows (previous tag, then the start row) by `NT`.
pub(super) const TRANS_LEN: usize = (NT + 1) * NT;

/// Whether `next` may follow `prev` (`prev == START` for a sentence's first tag).
#[inline]
pub(super) fn may_follow(prev: usize, next: usize) -> bool {
    if prev == START {
        let (_, np) = untag(next as u8);
        return matches!(np, Pos::O | Pos::B | Pos::U);
    }
    allowed(prev as u8, next as u8)
}

/// Whether a sentence may end with `tag` (not inside an open name).
#[inline]
pub(super) fn may_end(tag: usize) -> bool {
    !matches!(untag(tag as u8).1, Pos::B | Pos::I)
}

/// Features from what earlier sentences of the document called this word.
#[inline(always)]
pub(super) fn history_features(t: &Tok, hist: Option<&[u16; 5]>, fs: &mut Feats) {
    let Some(h) = hist else { return };
    if t.flags & (F_INIT_CAP | F_ALL_CAPS) == 0 {
        return;
    }
    let mut best = 4usize;
    let mut bv = 0u16;
    for (k, &v) in h.iter().enumerate() {
        if v > bv {
            bv = v;
            best = k;
        }
    }
    let total: u16 = h.iter().sum();
    fs.push(64, best as u64);
    fs.push(65, combine(best as u64, t.sshape));
    fs.push(67, (best as u64) << 1 | (bv == total) as u64);
}

/// The transition table with the BILOU constraints folded in: a forbidden transition (or
/// start) scores minus infinity. `rows` is the table as `trans` lays it out (row `START` is
/// the first tag's); `cols[z][y]` is `rows[y * NT + z]`, the scores of every tag `y` that may
/// precede `z`, so that the backward pass of decoding adds whole rows instead of reducing
/// each row to one maximum.
#[derive(Debug, Default, Clone)]
pub(super) struct Masked {
    rows: Vec<f32>,
    cols: Vec<[f32; NT]>,
}

pub(super) fn masked(trans: &[f32]) -> Masked {
    let mut rows = vec![f32::NEG_INFINITY; TRANS_LEN];
    for p in 0..=NT {
        for y in 0..NT {
            if may_follow(p, y) {
                rows[p * NT + y] = trans.get(p * NT + y).copied().unwrap_or(0.0);
            }
        }
    }
    let cols = (0..NT).map(|z| std::array::from_fn(|y| rows[y * NT + z])).collect();
    Masked { rows, cols }
}

/// Viterbi decoding of one sentence: `em[i]` are the emission scores of token `i`, `tm` the
/// transition table from [`masked`]. Writes the best tag sequence to `tags` and, per token,
/// the margin between the best path and the best path through any other tag at that token
/// (from forward and backward max-marginals).
///
/// The forward pass keeps only the best scores; the back pointer of each chosen tag is
/// found again while tracing back, from the same sums in the same order (the first best
/// previous tag), so the tags are those that storing every back pointer gives.
///
/// Always inlined, so that in the tagger's AVX2 build its loops over the 17 tags use the
/// wide registers too (same operations in the same order, so the same tags and margins).
#[inline(always)]
pub(super) fn viterbi(em: &[[f32; NT]], tm: &Masked, tags: &mut [u8], margins: &mut [f32], fwd: &mut Vec<[f32; NT]>) {
    let n = em.len();
    if n == 0 || tm.rows.len() != TRANS_LEN || tm.cols.len() != NT {
        return;
    }
    let rows = &tm.rows;
    let row = |p: usize| -> &[f32; NT] { rows[p * NT..p * NT + NT].try_into().expect("row") };
    fwd.clear();
    fwd.resize(n, [f32::NEG_INFINITY; NT]);
    for y in 0..NT {
        fwd[0][y] = tm.rows[START * NT + y] + em[0][y];
    }
    for i in 1..n {
        let prev = fwd[i - 1];
        let mut best = [f32::NEG_INFINITY; NT];
        for (p, &fp) in prev.iter().enumerate() {
            let r = row(p);
            for y in 0..NT {
                best[y] = crate::crf::larger(best[y], fp + r[y]);
            }
        }
        for y in 0..NT {
            best[y] += em[i][y];
        }
        fwd[i] = best;
    }
    let mut best = f32::NEG_INFINITY;
    let mut arg = 0usize;
    for (y, &s) in fwd[n - 1].iter().enumerate() {
        if may_end(y) && s > best {
            best = s;
            arg = y;
        }
    }
    tags[n - 1] = arg as u8;
    for i in (1..n).rev() {
        let y = tags[i] as usize;
        let (mut best, mut arg) = (f32::NEG_INFINITY, 0usize);
        for (p, &fp) in fwd[i - 1].iter().enumerate() {
            let s = fp + rows[p * NT + y];
            if s > best {
                best = s;
                arg = p;
            }
        }
        tags[i - 1] = arg as u8;
    }
    // backward max-marginals: the best continuation from each (token, tag) to the end
    let mut bwd = [0f32; NT];
    for (y, b) in bwd.iter_mut().enumerate() {
        *b = if may_end(y) { 0.0 } else { f32::NEG_INFINITY };
    }
    for i in (0..n).rev() {
        if i + 1 < n {
            let mut nb = [f32::NEG_INFINITY; NT];
            for (z, col) in tm.cols.iter().enumerate() {
                let c = em[i + 1][z] + bwd[z];
                for y in 0..NT {
                    nb[y] = crate::crf::larger(nb[y], col[y] + c);
                }
            }
            bwd = nb;
        }
        let chosen = tags[i] as usize;
        let through = fwd[i][chosen] + bwd[chosen];
        let mut other = f32::NEG_INFINITY;
        for y in 0..NT {
            if y != chosen {
                other = crate::crf::larger(other, fwd[i][y] + bwd[y]);
            }
        }
        margins[i] = if other.is_finite() { through - other } else { 10.0 };
    }
}

/// Training settings.
#[derive(Debug, Clone)]
pub struct TrainConfig {
    /// Passes over the data.
    pub epochs: usize,
    /// log2 of the weight-table rows.
    pub bits: u32,
    /// Seed of the document shuffle.
    pub seed: u64,
    /// L2 regularization strength (as CRFsuite's `c2`: the objective is the log-likelihood
    /// minus `c2 * |w|^2`).
    pub c2: f64,
    /// Initial learning rate.
    pub eta0: f64,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig { epochs: 20, bits: 20, seed: 20030, c2: 0.3, eta0: 0.1 }
    }
}

/// Trains a CRF tagger by SGD on the L2-regularized conditional log-likelihood.
/// `on_epoch(epoch, model_so_far)` is called after each pass; deterministic for a seed.
pub fn train(docs: &[TrainDoc], gaz: &Gazetteer, cfg: &TrainConfig, mut on_epoch: impl FnMut(usize, &Model)) -> Model {
    let rows = 1usize << cfg.bits;
    let shift = 64 - cfg.bits;
    let n_sents: usize = docs.iter().map(|d| d.sents.len()).sum::<usize>().max(1);
    let mut sgd = crate::crf::Sgd::new(rows, NT, NT, 2.0 * cfg.c2 / n_sents as f64, cfg.eta0);
    let mut order: Vec<usize> = (0..docs.len()).collect();
    let mut rng = cfg.seed | 1;
    let mut st = DocState::default();
    let mut fs = Feats { f: [0; MAX_FEATS], n: 0, from: 0 };
    let mut feats: Vec<usize> = Vec::new();
    let mut offs: Vec<usize> = Vec::new();
    let mut em: Vec<[f32; NT]> = Vec::new();
    let mut alpha: Vec<f64> = Vec::new();
    let mut beta: Vec<f64> = Vec::new();
    let mut tags: Vec<u8> = Vec::new();
    let mut margins: Vec<f32> = Vec::new();
    let mut fwd = Vec::new();
    let mut sum: Option<(Vec<f64>, Vec<f64>)> = None;
    let mut averaged_n = 0usize;
    let mut last: Option<Model> = None;
    let snapshot = |w: &[f32], scale: f64, trans: &[f64]| -> Model {
        let mut m = Model::new(cfg.bits);
        for (a, &b) in m.w.iter_mut().zip(w) {
            *a = (b as f64 * scale) as f32;
        }
        m.trans = trans.iter().map(|&x| x as f32).collect();
        m.tmask = masked(&m.trans);
        m
    };
    for epoch in 0..cfg.epochs {
        for i in (1..order.len()).rev() {
            let j = (xorshift(&mut rng) % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut loglik = 0.0f64;
        for &di in &order {
            let d = &docs[di];
            let toks: Vec<&str> = d.tokens.iter().map(|s| s.as_str()).collect();
            st.prepare(&toks, &d.sents, gaz);
            for r in &d.sents {
                if r.end > toks.len() || r.is_empty() {
                    continue;
                }
                let n = r.len();
                feats.clear();
                offs.clear();
                em.clear();
                for i in r.clone() {
                    fs.n = 0;
                    fs.from = 0;
                    static_features(&st.toks, r, i, &mut fs);
                    context_features(&st, r, i, &mut fs);
                    let t = st.toks[i];
                    history_features(&t, st.history.get(&t.lower), &mut fs);
                    offs.push(feats.len());
                    let mut e = [0.0f32; NT];
                    for &f in &fs.f[..fs.n] {
                        let row = (f >> shift) as usize;
                        feats.push(row);
                        for (x, &wk) in e.iter_mut().zip(&sgd.w[row * NT..row * NT + NT]) {
                            *x += wk;
                        }
                    }
                    for x in e.iter_mut() {
                        *x = (*x as f64 * sgd.scale) as f32;
                    }
                    em.push(e);
                }
                offs.push(feats.len());
                let log_z = crate::crf::forward_backward(em.as_flattened(), NT, &sgd.trans, may_follow, may_end, &mut alpha, &mut beta);
                if !log_z.is_finite() {
                    continue;
                }
                let gold = &d.gold[r.clone()];
                loglik += crate::crf::path_score(em.as_flattened(), NT, &sgd.trans, gold) - log_z;
                // decode with the weights before this update, for the history
                tags.clear();
                tags.resize(n, 0);
                margins.clear();
                margins.resize(n, 0.0);
                let tm = masked(&sgd.trans.iter().map(|&x| x as f32).collect::<Vec<_>>());
                viterbi(&em, &tm, &mut tags, &mut margins, &mut fwd);
                sgd.step(em.as_flattened(), may_follow, &alpha, &beta, log_z, gold, |i| feats[offs[i]..offs[i + 1]].iter().copied());
                for (k, i) in r.clone().enumerate() {
                    let t = st.toks[i];
                    record_history(&mut st.history, &t, tags[k]);
                }
            }
        }
        let norm: f64 = sgd.w.iter().map(|&x| (x as f64 * sgd.scale).powi(2)).sum::<f64>();
        tracing::info!(epoch, loglik, norm, "crf epoch");
        let snap = snapshot(&sgd.w, sgd.scale, &sgd.trans);
        if 2 * epoch + 2 > cfg.epochs {
            // the weights after each pass of the second half are averaged: SGD's last
            // iterates wander around the optimum by the size of the step
            averaged_n += 1;
            match &mut sum {
                None => sum = Some((snap.w.iter().map(|&x| x as f64).collect::<Vec<f64>>(), snap.trans.iter().map(|&x| x as f64).collect::<Vec<f64>>())),
                Some((sw, st)) => {
                    sw.iter_mut().zip(&snap.w).for_each(|(a, &b)| *a += b as f64);
                    st.iter_mut().zip(&snap.trans).for_each(|(a, &b)| *a += b as f64);
                }
            }
            let (sw, st) = sum.as_ref().expect("sum");
            let mut avg = Model::new(cfg.bits);
            avg.w = sw.iter().map(|&x| (x / averaged_n as f64) as f32).collect();
            avg.trans = st.iter().map(|&x| (x / averaged_n as f64) as f32).collect();
            avg.tmask = masked(&avg.trans);
            on_epoch(epoch, &avg);
            last = Some(avg);
        } else {
            on_epoch(epoch, &snap);
            last = Some(snap);
        }
    }
    last.unwrap_or_else(|| snapshot(&sgd.w, sgd.scale, &sgd.trans))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every allowed tag sequence of length `n` (BILOU constraints, start and end).
    fn sequences(n: usize) -> Vec<Vec<usize>> {
        let mut out = vec![vec![]];
        for i in 0..n {
            let mut next = Vec::new();
            for s in &out {
                for y in 0..NT {
                    let prev = if i == 0 { START } else { s[i - 1] };
                    if may_follow(prev, y) && (i + 1 < n || may_end(y)) {
                        let mut t = s.clone();
                        t.push(y);
                        next.push(t);
                    }
                }
            }
            out = next;
        }
        out
    }

    fn path_score(em: &[[f32; NT]], trans: &[f32], s: &[usize]) -> f64 {
        let mut v = trans[START * NT + s[0]] as f64 + em[0][s[0]] as f64;
        for i in 1..s.len() {
            v += trans[s[i - 1] * NT + s[i]] as f64 + em[i][s[i]] as f64;
        }
        v
    }

    fn random_instance(n: usize, seed: u64) -> (Vec<[f32; NT]>, Vec<f32>) {
        let mut r = seed | 1;
        let mut x = || (xorshift(&mut r) % 2001) as f32 / 500.0 - 2.0;
        let em: Vec<[f32; NT]> = (0..n).map(|_| std::array::from_fn(|_| x())).collect();
        let trans: Vec<f32> = (0..TRANS_LEN).map(|_| x()).collect();
        (em, trans)
    }

    /// Decoding as it was done with stored back pointers (the first best previous tag), for
    /// the test below.
    fn viterbi_with_pointers(em: &[[f32; NT]], tm: &[f32]) -> Vec<u8> {
        let n = em.len();
        let mut fwd = vec![[f32::NEG_INFINITY; NT]; n];
        let mut back = vec![[0u8; NT]; n];
        for y in 0..NT {
            fwd[0][y] = tm[START * NT + y] + em[0][y];
        }
        for i in 1..n {
            for y in 0..NT {
                let mut best = f32::NEG_INFINITY;
                for p in 0..NT {
                    let s = fwd[i - 1][p] + tm[p * NT + y];
                    if s > best {
                        best = s;
                        back[i][y] = p as u8;
                    }
                }
                fwd[i][y] = best + em[i][y];
            }
        }
        let (mut best, mut arg) = (f32::NEG_INFINITY, 0usize);
        for (y, &s) in fwd[n - 1].iter().enumerate() {
            if may_end(y) && s > best {
                best = s;
                arg = y;
            }
        }
        let mut tags = vec![0u8; n];
        tags[n - 1] = arg as u8;
        for i in (1..n).rev() {
            tags[i - 1] = back[i][tags[i] as usize];
        }
        tags
    }

    /// On scores with many ties (small whole numbers), tracing back without stored pointers
    /// picks what stored pointers picked: the same sums, the same first best.
    #[test]
    fn tracing_back_chooses_as_stored_pointers_did() {
        let mut r = 0x9e37_79b9_7f4a_7c15u64;
        for n in [1usize, 2, 5, 17, 40] {
            for _ in 0..30 {
                let mut x = || (xorshift(&mut r) % 3) as f32;
                let em: Vec<[f32; NT]> = (0..n).map(|_| std::array::from_fn(|_| x())).collect();
                let trans: Vec<f32> = (0..TRANS_LEN).map(|_| x()).collect();
                let tm = masked(&trans);
                let mut tags = vec![0u8; n];
                viterbi(&em, &tm, &mut tags, &mut vec![0f32; n], &mut Vec::new());
                assert_eq!(tags, viterbi_with_pointers(&em, &tm.rows), "n={n}");
            }
        }
    }

    /// Viterbi finds the best allowed sequence that brute force finds, and its margins are
    /// the gaps between the best path and the best path through another tag.
    #[test]
    fn viterbi_is_the_brute_force_best() {
        for (n, seed) in [(1, 3u64), (2, 5), (3, 11), (4, 17), (4, 23)] {
            let (em, trans) = random_instance(n, seed);
            let all = sequences(n);
            let best = all.iter().max_by(|a, b| path_score(&em, &trans, a).total_cmp(&path_score(&em, &trans, b))).expect("some sequence");
            let mut tags = vec![0u8; n];
            let mut margins = vec![0f32; n];
            viterbi(&em, &masked(&trans), &mut tags, &mut margins, &mut Vec::new());
            let got: Vec<usize> = tags.iter().map(|&t| t as usize).collect();
            assert_eq!(&got, best, "n={n} seed={seed}");
            let top = path_score(&em, &trans, best);
            for i in 0..n {
                let other = all.iter().filter(|s| s[i] != best[i]).map(|s| path_score(&em, &trans, s)).fold(f64::NEG_INFINITY, f64::max);
                let want = if other.is_finite() { (top - other) as f32 } else { 10.0 };
                assert!((margins[i] - want).abs() < 1e-3, "margin {i}: {} vs {want}", margins[i]);
            }
        }
    }
}
