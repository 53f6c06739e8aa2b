//! Linear-chain CRF arithmetic shared by the entity tagger and the attribution tagger:
//! forward-backward in log space over a flat `[token][label]` emission array, and the
//! stochastic-gradient step of the L2-regularized conditional log-likelihood for the
//! transition table. Each tagger keeps its own features, weight layout and decoding.
//!
//! Layout: `l` labels; a transition table is `(l + 1) * l` scores, row `p` for the previous
//! label and row `l` for a sequence's first label. `follow(p, y)` says whether `y` may come
//! after `p` (`p == l`: at the start); `end(y)` whether a sequence may end with `y`.

/// The larger of two decoding scores, which are never NaN (sums of finite scores and minus
/// infinity): one `maxps` in a vector loop, without the NaN handling of `f32::max`. The
/// value is `f32::max`'s.
#[inline(always)]
pub(crate) fn larger(a: f32, b: f32) -> f32 {
    if b > a {
        b
    } else {
        a
    }
}

/// log(sum(exp(v))) without overflow; minus infinity for an empty or all-impossible `v`.
pub(crate) fn log_sum_exp(v: &[f64]) -> f64 {
    let m = v.iter().fold(f64::NEG_INFINITY, |m, &x| m.max(x));
    if m == f64::NEG_INFINITY {
        return m;
    }
    m + v.iter().map(|&x| (x - m).exp()).sum::<f64>().ln()
}

/// Forward-backward over one sequence of `em.len() / l` tokens. Fills `alpha[i * l + y]`
/// (log-sum of the scores of every allowed prefix ending in `y` at `i`, its emission
/// included) and `beta[i * l + y]` (of every allowed continuation after it); returns the log
/// partition function.
pub(crate) fn forward_backward(
    em: &[f32],
    l: usize,
    trans: &[f64],
    follow: impl Fn(usize, usize) -> bool,
    end: impl Fn(usize) -> bool,
    alpha: &mut Vec<f64>,
    beta: &mut Vec<f64>,
) -> f64 {
    let n = em.len() / l;
    if n == 0 || trans.len() != (l + 1) * l {
        return f64::NEG_INFINITY;
    }
    alpha.clear();
    alpha.resize(n * l, f64::NEG_INFINITY);
    beta.clear();
    beta.resize(n * l, f64::NEG_INFINITY);
    let mut buf = vec![f64::NEG_INFINITY; l];
    for y in 0..l {
        if follow(l, y) {
            alpha[y] = trans[l * l + y] + em[y] as f64;
        }
    }
    for i in 1..n {
        for y in 0..l {
            for (p, b) in buf.iter_mut().enumerate() {
                *b = if follow(p, y) { alpha[(i - 1) * l + p] + trans[p * l + y] } else { f64::NEG_INFINITY };
            }
            alpha[i * l + y] = log_sum_exp(&buf) + em[i * l + y] as f64;
        }
    }
    for y in 0..l {
        beta[(n - 1) * l + y] = if end(y) { 0.0 } else { f64::NEG_INFINITY };
    }
    for i in (0..n - 1).rev() {
        for y in 0..l {
            for (z, b) in buf.iter_mut().enumerate() {
                *b = if follow(y, z) { trans[y * l + z] + em[(i + 1) * l + z] as f64 + beta[(i + 1) * l + z] } else { f64::NEG_INFINITY };
            }
            beta[i * l + y] = log_sum_exp(&buf);
        }
    }
    for y in 0..l {
        buf[y] = alpha[(n - 1) * l + y] + beta[(n - 1) * l + y];
    }
    log_sum_exp(&buf)
}

/// The score of the gold label sequence `gold` under `em` and `trans`.
pub(crate) fn path_score(em: &[f32], l: usize, trans: &[f64], gold: &[u8]) -> f64 {
    let mut s = 0.0;
    for (i, &g) in gold.iter().enumerate() {
        let prev = if i == 0 { l } else { gold[i - 1] as usize };
        s += trans[prev * l + g as usize] + em[i * l + g as usize] as f64;
    }
    s
}

/// The probability of each label at token `i`, from forward-backward, into `out`.
pub(crate) fn marginals(alpha: &[f64], beta: &[f64], log_z: f64, l: usize, i: usize, out: &mut [f64]) {
    for y in 0..l {
        out[y] = (alpha[i * l + y] + beta[i * l + y] - log_z).exp();
    }
}

/// The gradient step of the transition table: `trans` moves by `eta` times (gold transition
/// counts minus their expectations). `trans_before` holds the scores forward-backward used.
#[allow(clippy::too_many_arguments)]
pub(crate) fn step_transitions(
    em: &[f32],
    l: usize,
    trans_before: &[f64],
    follow: impl Fn(usize, usize) -> bool,
    alpha: &[f64],
    beta: &[f64],
    log_z: f64,
    gold: &[u8],
    eta: f64,
    trans: &mut [f64],
) {
    let n = gold.len();
    for i in 0..n {
        let g = gold[i] as usize;
        if i == 0 {
            for y in 0..l {
                trans[l * l + y] -= eta * (alpha[y] + beta[y] - log_z).exp();
            }
            trans[l * l + g] += eta;
            continue;
        }
        for p in 0..l {
            let a = alpha[(i - 1) * l + p];
            if a == f64::NEG_INFINITY {
                continue;
            }
            for y in 0..l {
                if follow(p, y) {
                    let pr = (a + trans_before[p * l + y] + em[i * l + y] as f64 + beta[i * l + y] - log_z).exp();
                    trans[p * l + y] -= eta * pr;
                }
            }
        }
        trans[gold[i - 1] as usize * l + g] += eta;
    }
}

/// Stochastic gradient descent on the L2-regularized conditional log-likelihood: the
/// emission weights (rows of `stride` floats, the first `l` of each used) are kept divided
/// by a running `scale`, so that the weight decay of every step costs one multiplication;
/// the learning rate at step `t` is `eta0 / (1 + lambda eta0 t)`.
pub(crate) struct Sgd {
    /// Emission weights; the true weights are these times `scale`.
    pub w: Vec<f32>,
    /// The L2 decay applied so far, not yet folded into `w`.
    pub scale: f64,
    /// Transition table, `(l + 1) * l`.
    pub trans: Vec<f64>,
    l: usize,
    stride: usize,
    lambda: f64,
    eta0: f64,
    t: u64,
    p: Vec<f64>,
    g: Vec<f32>,
}

impl Sgd {
    /// Zero weights: `rows` rows of `stride` floats for `l` labels; `lambda` is the L2
    /// strength per step.
    pub(crate) fn new(rows: usize, stride: usize, l: usize, lambda: f64, eta0: f64) -> Sgd {
        Sgd { w: vec![0.0; rows * stride], scale: 1.0, trans: vec![0.0; (l + 1) * l], l, stride, lambda, eta0, t: 0, p: vec![0.0; l], g: vec![0.0; l] }
    }

    /// One step on a sequence whose (scaled) emissions `em` forward-backward turned into
    /// `alpha`, `beta` and `log_z`; `rows(i)` are the weight rows of token `i`'s features.
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn step<I: IntoIterator<Item = usize>>(
        &mut self,
        em: &[f32],
        follow: impl Fn(usize, usize) -> bool,
        alpha: &[f64],
        beta: &[f64],
        log_z: f64,
        gold: &[u8],
        rows: impl Fn(usize) -> I,
    ) {
        let l = self.l;
        let before = self.trans.clone();
        let eta = self.eta0 / (1.0 + self.lambda * self.eta0 * self.t as f64);
        self.t += 1;
        let decay = 1.0 - eta * self.lambda;
        self.scale *= decay;
        for x in self.trans.iter_mut() {
            *x *= decay;
        }
        let step = (eta / self.scale) as f32;
        for (i, &gi) in gold.iter().enumerate() {
            marginals(alpha, beta, log_z, l, i, &mut self.p);
            for (g, &p) in self.g.iter_mut().zip(&self.p) {
                *g = -(p as f32);
            }
            self.g[gi as usize] += 1.0;
            for row in rows(i) {
                let b = row * self.stride;
                for (w, &g) in self.w[b..b + l].iter_mut().zip(&self.g) {
                    *w += step * g;
                }
            }
        }
        step_transitions(em, l, &before, follow, alpha, beta, log_z, gold, eta, &mut self.trans);
        if self.scale < 1e-6 {
            let scale = self.scale;
            for x in self.w.iter_mut() {
                *x = (*x as f64 * scale) as f32;
            }
            self.scale = 1.0;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Three labels where 2 may not follow 0 nor start a sequence, and 1 may not end one.
    fn follow(p: usize, y: usize) -> bool {
        !(y == 2 && (p == 0 || p == 3))
    }
    fn end(y: usize) -> bool {
        y != 1
    }

    fn sequences(n: usize) -> Vec<Vec<u8>> {
        let mut out: Vec<Vec<u8>> = vec![vec![]];
        for i in 0..n {
            out = out
                .into_iter()
                .flat_map(|s| {
                    (0..3u8)
                        .filter(|&y| follow(if i == 0 { 3 } else { s[i - 1] as usize }, y as usize) && (i + 1 < n || end(y as usize)))
                        .map(|y| {
                            let mut t = s.clone();
                            t.push(y);
                            t
                        })
                        .collect::<Vec<_>>()
                })
                .collect();
        }
        out
    }

    /// Forward-backward's partition function and marginals, and the transition step, are
    /// what brute force over every allowed sequence gives.
    #[test]
    fn matches_brute_force() {
        let l = 3;
        let n = 4;
        let em: Vec<f32> = (0..n * l).map(|k| ((k * 7919) % 13) as f32 / 5.0 - 1.0).collect();
        let trans: Vec<f64> = (0..(l + 1) * l).map(|k| ((k * 104729) % 11) as f64 / 4.0 - 1.2).collect();
        let (mut alpha, mut beta) = (Vec::new(), Vec::new());
        let log_z = forward_backward(&em, l, &trans, follow, end, &mut alpha, &mut beta);
        let all = sequences(n);
        let scores: Vec<f64> = all.iter().map(|s| path_score(&em, l, &trans, s)).collect();
        let brute = log_sum_exp(&scores);
        assert!((log_z - brute).abs() < 1e-9);
        let mut m = vec![0.0; l];
        for i in 0..n {
            marginals(&alpha, &beta, log_z, l, i, &mut m);
            for (y, &my) in m.iter().enumerate() {
                let q: f64 = all.iter().zip(&scores).filter(|(s, _)| s[i] as usize == y).map(|(_, &v)| (v - brute).exp()).sum();
                assert!((my - q).abs() < 1e-9, "marginal ({i}, {y})");
            }
        }
        // expected transition counts, by brute force
        let gold = &all[0];
        let mut want = trans.clone();
        for (s, &v) in all.iter().zip(&scores) {
            let p = (v - brute).exp();
            for i in 0..n {
                let prev = if i == 0 { l } else { s[i - 1] as usize };
                want[prev * l + s[i] as usize] -= 0.5 * p;
            }
        }
        for i in 0..n {
            let prev = if i == 0 { l } else { gold[i - 1] as usize };
            want[prev * l + gold[i] as usize] += 0.5;
        }
        let mut got = trans.clone();
        step_transitions(&em, l, &trans, follow, &alpha, &beta, log_z, gold, 0.5, &mut got);
        for (a, b) in got.iter().zip(&want) {
            assert!((a - b).abs() < 1e-9);
        }
    }
}
