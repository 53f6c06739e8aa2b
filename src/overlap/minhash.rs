//! MinHash signatures: a fixed-size sketch per document whose slot-wise agreement estimates
//! the Jaccard similarity of two shingle sets. The hash family is derived from a fixed seed
//! (exposed as constants) so a signature never changes between versions unless the recorded
//! metadata says so, and signatures computed on different shards can be compared.

use serde::Serialize;

/// Seed of the MinHash hash family (multiply-shift hashes drawn with splitmix64).
pub const MINHASH_SEED: u64 = 0x6e65_7773_6d69_6c6c; // "newsmill"
/// Number of hash functions (permutations) per signature.
pub const NUM_PERM: usize = 256;
/// Number of hash functions of the character-shingle signature (verification only).
pub const CHAR_NUM_PERM: usize = 256;
/// Seed of the character-shingle hash family.
pub const CHAR_MINHASH_SEED: u64 = MINHASH_SEED ^ 0x6368_6172; // "char"
/// Version of the signature scheme; bumped whenever a signature of the same text changes.
/// Version 2 keeps 16 bits of each slot (b-bit MinHash), halving the signature's memory.
pub const SIGNATURE_VERSION: u32 = 2;
/// Bits kept of each MinHash slot: the high 16 of the 32-bit minimum.
pub const SLOT_BITS: u32 = 16;

/// What a signature depends on, for the run metadata.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SignatureMetadata {
    /// Signature scheme version.
    pub version: u32,
    /// Hash family seed.
    pub seed: u64,
    /// Permutations per signature.
    pub num_perm: usize,
    /// Words per shingle.
    pub shingle_words: usize,
    /// LSH bands.
    pub bands: usize,
    /// Rows per LSH band.
    pub rows: usize,
    /// Character-signature permutations.
    pub char_num_perm: usize,
    /// Character-signature seed.
    pub char_seed: u64,
    /// Bytes per character shingle.
    pub char_shingle: usize,
    /// Bits kept per slot (the high bits of the 32-bit minimum).
    pub slot_bits: u32,
    /// Shingle hashing and normalization.
    pub shingle_hash: &'static str,
}

/// The metadata of the signatures the copy tier computes with `bands` x `rows`.
pub fn metadata(bands: usize, rows: usize) -> SignatureMetadata {
    SignatureMetadata {
        version: SIGNATURE_VERSION,
        seed: MINHASH_SEED,
        num_perm: NUM_PERM,
        shingle_words: crate::overlap::shingle::SHINGLE_WORDS,
        bands,
        rows,
        char_num_perm: CHAR_NUM_PERM,
        char_seed: CHAR_MINHASH_SEED,
        char_shingle: crate::overlap::shingle::CHAR_SHINGLE,
        slot_bits: SLOT_BITS,
        shingle_hash: "lowercase alphanumeric words of the body; xxh3-64 per word, combined per shingle, splitmix64 finalizer; x = low32(h ^ h>>32); h_i(x) = fmix32(x ^ s_i), s_i 32-bit seeds drawn with splitmix64",
    }
}

/// The fixed hash family: `h_i(x) = fmix32(x ^ s_i)` (the MurmurHash3 finalizer, a bijection
/// on 32-bit words, so each `h_i` is a pseudo-random permutation) over `x`, the 64-bit shingle
/// hash folded to 32 bits, with 32-bit seeds `s_i`. All arithmetic is 32-bit, so the loop
/// over the slots vectorises (and uses AVX2 where the CPU has it).
#[derive(Debug, Clone)]
pub struct MinHasher {
    seeds: Vec<u32>,
}

#[inline(always)]
fn fmix32(mut h: u32) -> u32 {
    h ^= h >> 16;
    h = h.wrapping_mul(0x85eb_ca6b);
    h ^= h >> 13;
    h = h.wrapping_mul(0xc2b2_ae35);
    h ^ (h >> 16)
}

#[inline(always)]
fn update(sig: &mut [u32], seeds: &[u32], shingles: &[u64]) {
    for &x in shingles {
        let x = (x ^ (x >> 32)) as u32;
        for (s, &seed) in sig.iter_mut().zip(seeds) {
            *s = (*s).min(fmix32(x ^ seed));
        }
    }
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn update_avx2(sig: &mut [u32], seeds: &[u32], shingles: &[u64]) {
    update(sig, seeds, shingles)
}

#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx512f")]
unsafe fn update_avx512(sig: &mut [u32], seeds: &[u32], shingles: &[u64]) {
    update(sig, seeds, shingles)
}

fn splitmix(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9e37_79b9_7f4a_7c15);
    crate::overlap::shingle::mix64(*state)
}

impl Default for MinHasher {
    fn default() -> Self {
        MinHasher::new(MINHASH_SEED, NUM_PERM)
    }
}

impl MinHasher {
    /// A family of `num_perm` hashes drawn from `seed`.
    pub fn new(seed: u64, num_perm: usize) -> MinHasher {
        let mut s = seed;
        MinHasher {
            seeds: (0..num_perm).map(|_| splitmix(&mut s) as u32).collect(),
        }
    }

    /// Number of slots of a signature.
    pub fn num_perm(&self) -> usize {
        self.seeds.len()
    }

    /// The signature of a shingle set (all `u32::MAX` for an empty set).
    pub fn signature(&self, shingles: &[u64]) -> Vec<u32> {
        let mut sig = vec![u32::MAX; self.seeds.len()];
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx512f") {
                // SAFETY: the CPU supports AVX-512F (checked just above).
                unsafe { update_avx512(&mut sig, &self.seeds, shingles) };
                return sig;
            }
            if std::is_x86_feature_detected!("avx2") {
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { update_avx2(&mut sig, &self.seeds, shingles) };
                return sig;
            }
        }
        update(&mut sig, &self.seeds, shingles);
        sig
    }
}

/// A 32-bit signature cut to its stored form: the high [`SLOT_BITS`] bits of each slot.
pub fn to_slots(sig: &[u32]) -> Vec<u16> {
    sig.iter().map(|&v| (v >> (32 - SLOT_BITS)) as u16).collect()
}

/// The Jaccard estimate from stored (b-bit) slots: two different minima share their high
/// bits by chance with probability 2^-b, which the estimate takes out.
pub fn estimate_jaccard_slots(a: &[u16], b: &[u16]) -> f64 {
    if a.is_empty() || a.len() != b.len() {
        return 0.0;
    }
    let eq = a.iter().zip(b).filter(|(x, y)| x == y).count() as f64 / a.len() as f64;
    let chance = 1.0 / (1u64 << SLOT_BITS) as f64;
    ((eq - chance) / (1.0 - chance)).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fraction of equal full (32-bit) slots: the plain MinHash estimate, which the stored
    /// slots are checked against.
    fn estimate_jaccard(a: &[u32], b: &[u32]) -> f64 {
        let eq = a.iter().zip(b).filter(|(x, y)| x == y).count();
        eq as f64 / a.len() as f64
    }
    use crate::overlap::shingle::{jaccard, shingles, words};

    #[test]
    fn same_seed_same_signature() {
        let s = shingles(&words("the quick brown fox jumps over the lazy dog"), 3);
        assert_eq!(
            MinHasher::default().signature(&s),
            MinHasher::new(MINHASH_SEED, NUM_PERM).signature(&s)
        );
        assert_ne!(
            MinHasher::default().signature(&s),
            MinHasher::new(1, NUM_PERM).signature(&s)
        );
    }

    #[test]
    fn estimate_tracks_exact_jaccard() {
        let base: Vec<String> = (0..400).map(|i| format!("w{i}")).collect();
        let mut other = base.clone();
        for w in other.iter_mut().skip(300) {
            w.push('x');
        }
        let (a, b) = (shingles(&base, 3), shingles(&other, 3));
        let h = MinHasher::default();
        let est = estimate_jaccard(&h.signature(&a), &h.signature(&b));
        let exact = jaccard(&a, &b);
        assert!((est - exact).abs() < 0.1, "est {est} exact {exact}");
    }

    #[test]
    fn signature_is_stable_across_versions() {
        // A change here means SIGNATURE_VERSION must be bumped.
        let s = shingles(&words("stable signatures across releases"), 3);
        let sig = MinHasher::default().signature(&s);
        let h = xxhash_rust::xxh3::xxh3_64(
            &sig.iter()
                .flat_map(|v| v.to_le_bytes())
                .collect::<Vec<u8>>(),
        );
        assert_eq!(h, STABLE_SIG_HASH, "signature changed: {h:#x}");
    }

    const STABLE_SIG_HASH: u64 = 0xca69_906d_b19d_c19d;

    /// Every build of the loop the CPU can run gives the portable loop's signature.
    #[test]
    fn vector_builds_match_the_portable_loop() {
        let s: Vec<u64> = (0..5_000u64).map(crate::overlap::shingle::mix64).collect();
        let h = MinHasher::default();
        let mut plain = vec![u32::MAX; h.num_perm()];
        update(&mut plain, &h.seeds, &s);
        assert_eq!(h.signature(&s), plain);
        #[cfg(target_arch = "x86_64")]
        {
            if std::is_x86_feature_detected!("avx2") {
                let mut v = vec![u32::MAX; h.num_perm()];
                // SAFETY: the CPU supports AVX2 (checked just above).
                unsafe { update_avx2(&mut v, &h.seeds, &s) };
                assert_eq!(v, plain);
            }
            if std::is_x86_feature_detected!("avx512f") {
                let mut v = vec![u32::MAX; h.num_perm()];
                // SAFETY: the CPU supports AVX-512F (checked just above).
                unsafe { update_avx512(&mut v, &h.seeds, &s) };
                assert_eq!(v, plain);
            }
        }
    }

    #[test]
    fn slot_estimates_match_full_estimates() {
        let a = shingles(&words(&"alpha beta gamma delta epsilon zeta eta theta iota kappa ".repeat(3)), 3);
        let mut bw: Vec<String> = words("alpha beta gamma delta epsilon zeta eta theta iota kappa");
        bw.extend(words("lambda mu nu xi omicron pi rho"));
        let b = shingles(&bw, 3);
        let h = MinHasher::default();
        let (sa, sb) = (h.signature(&a), h.signature(&b));
        let full = estimate_jaccard(&sa, &sb);
        let cut = estimate_jaccard_slots(&to_slots(&sa), &to_slots(&sb));
        assert!((full - cut).abs() < 0.02, "full {full} cut {cut}");
        assert_eq!(estimate_jaccard_slots(&to_slots(&sa), &to_slots(&sa)), 1.0);
    }
}
