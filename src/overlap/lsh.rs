//! LSH banding: proposes candidate pairs whose signatures agree on every row of at least one
//! band. It only proposes; the copy tier verifies every candidate before merging.

use rayon::prelude::*;

use super::shingle::mix64;

/// Bucket size above which a bucket is chained (each member paired with the next one in
/// index order) instead of expanded into all pairs, so a pathological bucket (boilerplate
/// shared by thousands of documents) cannot make the candidate set quadratic.
pub const MAX_BUCKET_PAIRS: usize = 256;

/// Candidate pairs `(i, j)`, `i < j`, sorted and de-duplicated, among `sigs` (all of the same
/// length, at least `bands * rows`). `skip[i]` leaves document `i` out (e.g. empty texts).
///
/// A pair of close copies meets in most bands; the bands' pairs are merged into one sorted,
/// de-duplicated list as they are made, so memory holds each pair once, not once per band.
pub fn candidates(sigs: &[&[u16]], skip: &[bool], bands: usize, rows: usize) -> Vec<(u32, u32)> {
    (0..bands)
        .into_par_iter()
        .fold(Vec::new, |acc, band| merge_sorted(acc, band_pairs(sigs, skip, band, rows)))
        .reduce(Vec::new, merge_sorted)
}

/// The pairs of one band, sorted and distinct.
fn band_pairs(sigs: &[&[u16]], skip: &[bool], band: usize, rows: usize) -> Vec<(u32, u32)> {
    // (band key, doc) sorted: equal keys are adjacent, members in index order.
    let mut keys: Vec<(u64, u32)> = sigs
        .iter()
        .enumerate()
        .filter(|(i, sig)| !skip.get(*i).copied().unwrap_or(false) && sig.len() >= (band + 1) * rows)
        .map(|(i, sig)| {
            let mut h = (band as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
            for &v in &sig[band * rows..(band + 1) * rows] {
                h = mix64(h ^ v as u64);
            }
            (h, i as u32)
        })
        .collect();
    keys.sort_unstable();
    let mut pairs = Vec::new();
    let mut s = 0;
    while s < keys.len() {
        let mut e = s + 1;
        while e < keys.len() && keys[e].0 == keys[s].0 {
            e += 1;
        }
        let members = &keys[s..e];
        if members.len() <= MAX_BUCKET_PAIRS {
            for x in 0..members.len() {
                for y in x + 1..members.len() {
                    pairs.push((members[x].1, members[y].1));
                }
            }
        } else {
            for w in members.windows(2) {
                pairs.push((w[0].1, w[1].1));
            }
        }
        s = e;
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
}

/// The union of two sorted, distinct lists, sorted and distinct.
fn merge_sorted(a: Vec<(u32, u32)>, b: Vec<(u32, u32)>) -> Vec<(u32, u32)> {
    if a.is_empty() {
        return b;
    }
    if b.is_empty() {
        return a;
    }
    let mut out = Vec::with_capacity(a.len().max(b.len()));
    let (mut i, mut j) = (0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => {
                out.push(a[i]);
                i += 1;
            }
            std::cmp::Ordering::Greater => {
                out.push(b[j]);
                j += 1;
            }
            std::cmp::Ordering::Equal => {
                out.push(a[i]);
                i += 1;
                j += 1;
            }
        }
    }
    out.extend_from_slice(&a[i..]);
    out.extend_from_slice(&b[j..]);
    out
}

/// Probability that a pair with Jaccard `j` becomes a candidate under `bands` x `rows`.
pub fn candidate_probability(j: f64, bands: usize, rows: usize) -> f64 {
    1.0 - (1.0 - j.powi(rows as i32)).powi(bands as i32)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identical_signatures_are_candidates() {
        let a = vec![1u16, 2, 3, 4];
        let b = vec![9u16, 9, 3, 4];
        let c = vec![7u16, 7, 7, 7];
        let sigs: Vec<&[u16]> = vec![&a, &b, &c];
        assert_eq!(candidates(&sigs, &[false; 3], 2, 2), vec![(0, 1)]);
        assert!(candidates(&sigs, &[false, true, false], 2, 2).is_empty());
    }

    #[test]
    fn bands_merge_into_one_sorted_distinct_list() {
        assert_eq!(
            merge_sorted(vec![(0, 1), (0, 3), (2, 5)], vec![(0, 2), (0, 3), (4, 5)]),
            vec![(0, 1), (0, 2), (0, 3), (2, 5), (4, 5)]
        );
        // Three documents equal in every band, one apart: each pair once, whatever the bands.
        let same = vec![5u16; 12];
        let other: Vec<u16> = (0..12).collect();
        let sigs: Vec<&[u16]> = vec![&same, &other, &same, &same];
        assert_eq!(candidates(&sigs, &[false; 4], 4, 3), vec![(0, 2), (0, 3), (2, 3)]);
    }

    #[test]
    fn probability_is_an_s_curve() {
        assert!(candidate_probability(0.9, 64, 4) > 0.999);
        assert!(candidate_probability(0.05, 64, 4) < 0.001);
    }
}
