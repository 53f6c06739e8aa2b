//! LSH banding: proposes candidate pairs whose signatures agree on every row of at least one
//! band. It only proposes; the copy tier verifies every candidate before merging.

use std::collections::HashMap;
use xxhash_rust::xxh3::xxh3_64_with_seed;

/// Bucket size above which a bucket is chained (each member paired with the next one in
/// index order) instead of expanded into all pairs, so a pathological bucket (boilerplate
/// shared by thousands of documents) cannot make the candidate set quadratic.
pub const MAX_BUCKET_PAIRS: usize = 256;

/// Candidate pairs `(i, j)`, `i < j`, sorted and de-duplicated, among `sigs` (all of the same
/// length, at least `bands * rows`). `skip[i]` leaves document `i` out (e.g. empty texts).
pub fn candidates(sigs: &[&[u32]], skip: &[bool], bands: usize, rows: usize) -> Vec<(u32, u32)> {
    let mut pairs: Vec<(u32, u32)> = Vec::new();
    for band in 0..bands {
        let mut buckets: HashMap<u64, Vec<u32>> = HashMap::new();
        for (i, sig) in sigs.iter().enumerate() {
            if skip.get(i).copied().unwrap_or(false) || sig.len() < (band + 1) * rows {
                continue;
            }
            let slice = &sig[band * rows..(band + 1) * rows];
            let mut bytes = Vec::with_capacity(rows * 4);
            for v in slice {
                bytes.extend_from_slice(&v.to_le_bytes());
            }
            buckets.entry(xxh3_64_with_seed(&bytes, band as u64)).or_default().push(i as u32);
        }
        for (_, members) in buckets {
            if members.len() < 2 {
                continue;
            }
            // members are in index order (pushed in order).
            if members.len() <= MAX_BUCKET_PAIRS {
                for x in 0..members.len() {
                    for y in x + 1..members.len() {
                        pairs.push((members[x], members[y]));
                    }
                }
            } else {
                for w in members.windows(2) {
                    pairs.push((w[0], w[1]));
                }
            }
        }
    }
    pairs.sort_unstable();
    pairs.dedup();
    pairs
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
        let a = vec![1u32, 2, 3, 4];
        let b = vec![9u32, 9, 3, 4];
        let c = vec![7u32, 7, 7, 7];
        let sigs: Vec<&[u32]> = vec![&a, &b, &c];
        assert_eq!(candidates(&sigs, &[false; 3], 2, 2), vec![(0, 1)]);
        assert!(candidates(&sigs, &[false, true, false], 2, 2).is_empty());
    }

    #[test]
    fn probability_is_an_s_curve() {
        assert!(candidate_probability(0.9, 64, 4) > 0.999);
        assert!(candidate_probability(0.05, 64, 4) < 0.001);
    }
}
