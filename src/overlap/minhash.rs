//! MinHash signatures: a fixed-size sketch per document whose slot-wise agreement estimates
//! the Jaccard similarity of two shingle sets. The hash family is derived from a fixed seed
//! (exposed as constants) so a signature never changes between versions unless the recorded
//! metadata says so, and signatures computed on different shards can be compared.

use serde::Serialize;

use crate::overlap::shingle::mix64;

/// Seed of the MinHash hash family (multiply-shift hashes drawn with splitmix64).
pub const MINHASH_SEED: u64 = 0x6e65_7773_6d69_6c6c; // "newsmill"
/// Number of hash functions (permutations) per signature.
pub const NUM_PERM: usize = 256;
/// Bins of the character-shingle signature (verification only), a one-permutation
/// signature ([`OnePermHasher`]).
pub const CHAR_NUM_PERM: usize = 256;
/// Seed of the character-shingle hash family.
pub const CHAR_MINHASH_SEED: u64 = MINHASH_SEED ^ 0x6368_6172; // "char"
/// Version of the signature scheme; bumped whenever a signature of the same text changes.
/// Version 2 keeps 16 bits of each slot (b-bit MinHash), halving the signature's memory.
/// Version 3 makes the character signature a one-permutation signature.
pub const SIGNATURE_VERSION: u32 = 3;
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
    /// How the character signature is made.
    pub char_hash: &'static str,
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
        char_hash: "byte 5-grams of the space-joined body words, splitmix64 finalizer per window; one-permutation MinHash: h = splitmix64(x ^ char_seed), bin = (h>>32)*bins>>32, slot = min low32(h); empty bins take the slot of the first filled bin probed by splitmix64(rotl(char_seed,17) ^ (bin<<32 | attempt))",
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
    mix64(*state)
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

/// One-permutation MinHash with optimal densification: each shingle is hashed once, the top
/// bits of its hash choose one of the signature's bins and the low 32 bits compete for that
/// bin's minimum; an empty bin then takes the value of a filled bin found by a fixed probe
/// sequence of its own. Two sets' signatures agree in a bin with probability equal to their
/// Jaccard similarity, as with one permutation per bin, but a document costs one hash per
/// shingle instead of one per shingle and bin (Li, Owen and Zhang, "One Permutation
/// Hashing", 2012; Shrivastava, "Optimal Densification for Fast and Accurate Minwise
/// Hashing", 2017).
#[derive(Debug, Clone)]
pub struct OnePermHasher {
    seed: u64,
    bins: usize,
}

impl OnePermHasher {
    /// A signature of `bins` bins (at least one), hashed with `seed`.
    pub fn new(seed: u64, bins: usize) -> OnePermHasher {
        OnePermHasher { seed, bins: bins.max(1) }
    }

    /// The signature of a shingle set given as hashes, repeats allowed (all `u32::MAX` for
    /// an empty set).
    pub fn signature(&self, shingles: &[u64]) -> Vec<u32> {
        let mut sig = vec![u32::MAX; self.bins];
        let mut filled = vec![false; self.bins];
        for &x in shingles {
            let h = mix64(x ^ self.seed);
            // The high 32 bits pick the bin (a multiply-shift range reduction), the low 32
            // are the bin's candidate minimum.
            let bin = (((h >> 32) * self.bins as u64) >> 32) as usize;
            sig[bin] = sig[bin].min(h as u32);
            filled[bin] = true;
        }
        if shingles.is_empty() || filled.iter().all(|&f| f) {
            return sig;
        }
        for i in 0..self.bins {
            if filled[i] {
                continue;
            }
            // Probe bins with the bin's own hash sequence until one was filled by a shingle
            // (its value is its own, never a borrowed one); at least one was, so this ends
            // (in `bins / filled` probes on average).
            let mut attempt = 0u64;
            loop {
                let p = mix64(self.seed.rotate_left(17) ^ ((i as u64) << 32 | attempt));
                let j = (((p >> 32) * self.bins as u64) >> 32) as usize;
                if filled[j] {
                    sig[i] = sig[j];
                    break;
                }
                attempt += 1;
            }
        }
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

    /// The one-permutation signature estimates Jaccard like the full family: on character
    /// shingles of two long texts that share about two thirds of their windows, and on short
    /// sets that leave most bins empty (filled by densification).
    #[test]
    fn one_permutation_estimate_tracks_exact_jaccard() {
        use crate::overlap::shingle::{char_shingles, CHAR_SHINGLE};
        let h = OnePermHasher::new(CHAR_MINHASH_SEED, CHAR_NUM_PERM);
        let base: Vec<String> = (0..600).map(|i| format!("w{}", i * 7919 % 1009)).collect();
        let mut other = base.clone();
        for w in other.iter_mut().skip(400) {
            w.push('x');
        }
        let (ta, tb) = (base.join(" "), other.join(" "));
        let (a, b) = (char_shingles(&ta, CHAR_SHINGLE), char_shingles(&tb, CHAR_SHINGLE));
        let exact = {
            let (mut sa, mut sb) = (a.clone(), b.clone());
            sa.sort_unstable();
            sa.dedup();
            sb.sort_unstable();
            sb.dedup();
            jaccard(&sa, &sb)
        };
        let est = estimate_jaccard(&h.signature(&a), &h.signature(&b));
        assert!((est - exact).abs() < 0.1, "est {est} exact {exact}");
        // Short sets: 40 and 60 shingles sharing 40, far fewer than the 256 bins.
        let s: Vec<u64> = (0..60u64).map(crate::overlap::shingle::mix64).collect();
        let est = estimate_jaccard(&h.signature(&s[..40]), &h.signature(&s));
        assert!((est - 40.0 / 60.0).abs() < 0.15, "est {est}");
        assert!(h.signature(&s).iter().all(|&v| v != u32::MAX), "densification fills every bin");
    }

    #[test]
    fn one_permutation_signature_basics() {
        let h = OnePermHasher::new(CHAR_MINHASH_SEED, CHAR_NUM_PERM);
        assert_eq!(h.signature(&[]), vec![u32::MAX; CHAR_NUM_PERM]);
        let s: Vec<u64> = (0..500u64).map(crate::overlap::shingle::mix64).collect();
        // Repeats and order do not change a signature.
        let mut twice: Vec<u64> = s.iter().rev().copied().collect();
        twice.extend(&s);
        assert_eq!(h.signature(&s), h.signature(&twice));
        assert_ne!(h.signature(&s), OnePermHasher::new(1, CHAR_NUM_PERM).signature(&s));
        assert_eq!(OnePermHasher::new(1, 0).signature(&s).len(), 1);
        // A change here means SIGNATURE_VERSION must be bumped.
        let bytes: Vec<u8> = h.signature(&s[..50]).iter().flat_map(|v| v.to_le_bytes()).collect();
        let stable = xxhash_rust::xxh3::xxh3_64(&bytes);
        assert_eq!(stable, STABLE_CHAR_SIG_HASH, "character signature changed: {stable:#x}");
    }

    const STABLE_CHAR_SIG_HASH: u64 = 0xe7f3_ffb8_19cb_1efc;

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
