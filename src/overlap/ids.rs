//! Stable ids: xxh3-64 hex of content, with a per-table prefix, never counters or time.

use xxhash_rust::xxh3::xxh3_64;

/// `xxh3_64(kind \0 parts joined by \0)` as 16 hex digits.
pub fn stable_id(kind: &str, parts: &[&str]) -> String {
    let mut buf = Vec::with_capacity(64);
    buf.extend_from_slice(kind.as_bytes());
    for p in parts {
        buf.push(0);
        buf.extend_from_slice(p.as_bytes());
    }
    crate::normalize::hex_id(xxh3_64(&buf))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_stable_hex_and_kind_specific() {
        let a = stable_id("dup", &["doc1"]);
        assert_eq!(a.len(), 16);
        assert_eq!(a, stable_id("dup", &["doc1"]));
        assert_ne!(a, stable_id("story", &["doc1"]));
        assert_ne!(stable_id("q", &["a", "bc"]), stable_id("q", &["ab", "c"]));
    }
}
