//! Text -> word tokens -> hashed word shingles: the one place the copy tier decides what
//! "the same text" means (case, punctuation and whitespace do not count; words do).

use regex::Regex;
use std::sync::OnceLock;
use xxhash_rust::xxh3::xxh3_64;

/// Page furniture that syndication adds around a wire story: copyright notices, share and
/// follow prompts, breadcrumbs, "related stories", correction and contribution notes. A line
/// matching one of these (and shorter than 60 words) is not part of the story body.
fn boilerplate() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(
            r"(?ix)
            copyright | \u{a9} | \(c\)\s*\d{4} | all\ rights\ reserved
            | may\ not\ be\ (published|reproduced|redistributed)
            | ^[^a-z0-9]*(share|follow|like)\ (this|us|on)(?-u:\b)
            | ^[^a-z0-9]*(related|more)\ (stories|articles|news|coverage)(?-u:\b)
            | ^[^a-z0-9]*(read\ more|click\ here|sign\ up|subscribe|advertisement|sponsored|print|email)(?-u:\b)
            | contributed\ to\ this\ (report|story)
            | this\ (story|article)\ has\ been\ (corrected|updated)
            | ^[^>\n]{0,40}>[^>\n]{0,40}>
            ",
        )
        .expect("boilerplate pattern")
    })
}

/// A wire dateline opening a line: "SAN FRANCISCO (Reuters) -- ", "LONDON, May 3 (AP) - ".
fn dateline() -> &'static Regex {
    static RE: OnceLock<Regex> = OnceLock::new();
    RE.get_or_init(|| {
        Regex::new(r"^\s*[A-Z][A-Z .,'-]{1,40}(,[^()\n]{0,20})?\s*\([A-Za-z][A-Za-z .&-]{0,30}\)\s*(--|\u{2014}|\u{2013}|-)\s*")
            .expect("dateline pattern")
    })
}

/// The story body of a text: lines of page furniture dropped, wire datelines cut off.
/// Returns the kept pieces (borrowed), in order.
pub fn body(text: &str) -> Vec<&str> {
    let mut out = Vec::new();
    for line in text.lines() {
        let n_words = line.split_whitespace().count();
        if n_words < 60 && boilerplate().is_match(line) {
            continue;
        }
        match dateline().find(line) {
            Some(m) => out.push(&line[m.end()..]),
            None => out.push(line),
        }
    }
    out
}

/// Lower-cases one word into `buf` and returns its hash (ASCII fast path).
fn hash_word(word: &str, buf: &mut String) -> u64 {
    lower_into(word, buf);
    word_hash(buf)
}

fn lower_into(word: &str, buf: &mut String) {
    if word.is_ascii() {
        buf.clear();
        buf.push_str(word);
        buf.make_ascii_lowercase();
    } else {
        buf.clear();
        for c in word.chars() {
            buf.extend(c.to_lowercase());
        }
    }
}

/// Calls `f` with every lower-cased alphanumeric word of `text`.
pub(crate) fn for_each_word(text: &str, buf: &mut String, mut f: impl FnMut(&str)) {
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            lower_into(&text[s..i], buf);
            f(buf);
        }
    }
    if let Some(s) = start {
        lower_into(&text[s..], buf);
        f(buf);
    }
}

/// Calls `f` with the hash of every lower-cased alphanumeric word of `text`, allocation-free.
pub fn for_each_word_hash(text: &str, buf: &mut String, mut f: impl FnMut(u64)) {
    let mut start: Option<usize> = None;
    for (i, c) in text.char_indices() {
        if c.is_alphanumeric() {
            if start.is_none() {
                start = Some(i);
            }
        } else if let Some(s) = start.take() {
            f(hash_word(&text[s..i], buf));
        }
    }
    if let Some(s) = start {
        f(hash_word(&text[s..], buf));
    }
}

/// One pass over a text for the copy tier: the hash and count of all its words (the exact
/// relation), and the word hashes of its story body (boilerplate lines and datelines cut).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct WordHashes {
    /// [`content_hash`] of all words.
    pub content_hash: u64,
    /// Number of words in the whole text.
    pub n_words: usize,
    /// Word hashes of the body (all words when the body is empty).
    pub body: Vec<u64>,
    /// The body's lower-cased words joined by single spaces (for character shingles).
    pub body_text: String,
}

/// See [`WordHashes`].
pub fn word_hashes(text: &str) -> WordHashes {
    let mut buf = String::new();
    let mut out = WordHashes::default();
    let mut all: Vec<u64> = Vec::new();
    let mut all_text = String::new();
    let mut h: u64 = 0;
    for line in text.lines() {
        let start = all.len();
        let text_start = all_text.len();
        for_each_word(line, &mut buf, |w| {
            let wh = word_hash(w);
            h = mix64(h ^ wh).wrapping_add(0x9e37_79b9_7f4a_7c15);
            all.push(wh);
            all_text.push_str(w);
            all_text.push(' ');
        });
        if all.len() == start {
            continue;
        }
        if all.len() - start < 60 && boilerplate().is_match(line) {
            continue;
        }
        match dateline().find(line) {
            Some(m) => for_each_word(&line[m.end()..], &mut buf, |w| {
                out.body.push(word_hash(w));
                out.body_text.push_str(w);
                out.body_text.push(' ');
            }),
            None => {
                out.body.extend_from_slice(&all[start..]);
                out.body_text.push_str(&all_text[text_start..]);
            }
        }
    }
    out.content_hash = h;
    out.n_words = all.len();
    if out.body.is_empty() {
        out.body = all;
        out.body_text = all_text;
    }
    if out.body_text.ends_with(' ') {
        out.body_text.pop();
    }
    out
}

/// Bytes per character shingle of the copy tier's second signature.
pub const CHAR_SHINGLE: usize = 5;

/// The hashes of the `k`-byte windows of `text`, one per window in text order (a text shorter
/// than `k` bytes gives one shingle of all of it; an empty text none). On the lower-cased,
/// space-joined words these are character shingles, robust to OCR noise. A window that
/// occurs twice gives its hash twice: they only feed a MinHash, whose minimum does not change
/// with repeats, and most windows of a report occur once, so sorting them out would cost more
/// than hashing the few repeats.
pub fn char_shingles(text: &str, k: usize) -> Vec<u64> {
    let b = text.as_bytes();
    if b.is_empty() {
        return Vec::new();
    }
    let k = k.clamp(1, 8);
    let window = |bytes: &[u8]| {
        let v = bytes.iter().fold(0u64, |v, &x| (v << 8) | x as u64);
        mix64(v ^ (bytes.len() as u64) << 56)
    };
    if b.len() < k {
        return vec![window(b)];
    }
    // The window's bytes as one big-endian number, rolled along the text.
    let mask = if k == 8 { u64::MAX } else { (1u64 << (8 * k)) - 1 };
    let len = (k as u64) << 56;
    let mut v = b[..k - 1].iter().fold(0u64, |v, &x| (v << 8) | x as u64);
    b[k - 1..]
        .iter()
        .map(|&x| {
            v = ((v << 8) | x as u64) & mask;
            mix64(v ^ len)
        })
        .collect()
}

/// The sorted, de-duplicated `k`-word shingle hashes of a sequence of word hashes.
pub fn shingles_of_hashes(hs: &[u64], k: usize) -> Vec<u64> {
    let k = k.max(1);
    if hs.is_empty() {
        return Vec::new();
    }
    let n = if hs.len() < k { 1 } else { hs.len() - k + 1 };
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let end = (i + k).min(hs.len());
        let mut h: u64 = 0x9e37_79b9_7f4a_7c15;
        for &w in &hs[i..end] {
            h = (h.rotate_left(23) ^ w).wrapping_mul(0x100_0000_01b3);
        }
        out.push(mix64(h));
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The words of the story body of `text` (see [`body`] and [`words`]).
pub fn body_words(text: &str) -> Vec<String> {
    let mut w = Vec::new();
    for piece in body(text) {
        w.extend(words(piece));
    }
    w
}

/// Words per shingle of the copy tier (word 3-grams).
pub const SHINGLE_WORDS: usize = 3;

/// Splits `text` into lower-cased alphanumeric words (every other character separates words).
pub fn words(text: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    for c in text.chars() {
        if c.is_alphanumeric() {
            for l in c.to_lowercase() {
                cur.push(l);
            }
        } else if !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// A 64-bit hash of one word.
pub fn word_hash(w: &str) -> u64 {
    xxh3_64(w.as_bytes())
}

/// Final mixer (splitmix64), so combined word hashes spread over all 64 bits.
#[inline]
pub fn mix64(mut z: u64) -> u64 {
    z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
    z ^ (z >> 31)
}

/// The sorted, de-duplicated hashes of the `k`-word shingles of `words`. A text shorter than
/// `k` words gives one shingle of all its words; an empty text gives none.
pub fn shingles(words: &[String], k: usize) -> Vec<u64> {
    let hs: Vec<u64> = words.iter().map(|w| word_hash(w)).collect();
    shingles_of_hashes(&hs, k)
}

/// A hash of the whole normalized word sequence: equal for texts that differ only in case,
/// punctuation and spacing (the "exact" copy relation).
pub fn content_hash(words: &[String]) -> u64 {
    let mut h: u64 = 0;
    for w in words {
        h = mix64(h ^ word_hash(w)).wrapping_add(0x9e37_79b9_7f4a_7c15);
    }
    h
}

/// Exact Jaccard similarity of two sorted, de-duplicated hash sets.
pub fn jaccard(a: &[u64], b: &[u64]) -> f64 {
    let inter = intersection(a, b);
    let union = a.len() + b.len() - inter;
    if union == 0 {
        0.0
    } else {
        inter as f64 / union as f64
    }
}

/// Size of the intersection of two sorted, de-duplicated hash sets.
pub fn intersection(a: &[u64], b: &[u64]) -> usize {
    let (mut i, mut j, mut n) = (0, 0, 0);
    while i < a.len() && j < b.len() {
        match a[i].cmp(&b[j]) {
            std::cmp::Ordering::Less => i += 1,
            std::cmp::Ordering::Greater => j += 1,
            std::cmp::Ordering::Equal => {
                n += 1;
                i += 1;
                j += 1;
            }
        }
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn body_drops_furniture_and_datelines() {
        let t = "Home > News > World\nSAN FRANCISCO (Reuters) -- Quake hits city.\nIt was big.\nCopyright 2012 The Associated Press. All rights reserved.\nShare this article: Facebook Twitter";
        assert_eq!(body(t), vec!["Quake hits city.", "It was big."]);
        assert_eq!(
            body("The court (in Paris) - said no."),
            vec!["The court (in Paris) - said no."]
        );
    }

    #[test]
    fn one_pass_hashes_agree_with_words() {
        let t =
            "Home > News > World\nPARIS (AP) -- \u{c9}t\u{c9} Hot, SUMMER.\nIt was big.\nShare this article: Facebook";
        let wh = word_hashes(t);
        assert_eq!(wh.content_hash, content_hash(&words(t)));
        assert_eq!(wh.n_words, words(t).len());
        let body: Vec<u64> = body_words(t).iter().map(|w| word_hash(w)).collect();
        assert_eq!(wh.body, body);
        assert_eq!(shingles_of_hashes(&wh.body, 3), shingles(&body_words(t), 3));
        assert_eq!(wh.body_text, body_words(t).join(" "));
        assert_eq!(char_shingles("abcdef", 5).len(), 2);
        assert_eq!(char_shingles("abc", 5).len(), 1);
        assert!(char_shingles("", 5).is_empty());
        // Rolled along the text, each window hashes as it would on its own.
        let text = "the cat sat on the mat";
        for k in [1, 3, 5, 8] {
            let rolled = char_shingles(text, k);
            let alone: Vec<u64> = (0..=text.len() - k).map(|i| char_shingles(&text[i..i + k], k)[0]).collect();
            assert_eq!(rolled, alone, "k = {k}");
        }
    }

    #[test]
    fn words_ignore_case_and_punctuation() {
        assert_eq!(
            words("Hello, WORLD -- it's  42!"),
            vec!["hello", "world", "it", "s", "42"]
        );
        assert!(words(" ,.; ").is_empty());
    }

    #[test]
    fn shingles_count_and_dedup() {
        let w = words("a b c d a b c");
        // a b c / b c d / c d a / d a b / a b c (repeat)
        assert_eq!(shingles(&w, 3).len(), 4);
        assert_eq!(shingles(&words("one two"), 3).len(), 1);
        assert!(shingles(&[], 3).is_empty());
    }

    #[test]
    fn shingles_depend_on_word_order() {
        assert_ne!(shingles(&words("a b c"), 3), shingles(&words("c b a"), 3));
    }

    #[test]
    fn content_hash_ignores_formatting_only() {
        assert_eq!(
            content_hash(&words("The cat, sat.")),
            content_hash(&words("the  CAT sat"))
        );
        assert_ne!(
            content_hash(&words("the cat sat")),
            content_hash(&words("the sat cat"))
        );
    }

    #[test]
    fn jaccard_of_sets() {
        assert_eq!(jaccard(&[1, 2, 3], &[2, 3, 4]), 0.5);
        assert_eq!(jaccard(&[], &[]), 0.0);
        assert_eq!(intersection(&[1, 5, 9], &[5, 9, 10]), 2);
    }
}
