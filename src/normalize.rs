//! Per-document normalization: Unicode NFC, line endings, whitespace, invisible characters;
//! and lifting structure out of the body into columns (section label, headline, dateline,
//! copyright and author-contact lines) instead of losing it. Odd typography (‘ used as an
//! apostrophe) is kept as written. The body that remains is `documents.text`.

use std::sync::LazyLock;

use regex::Regex;
use unicode_normalization::UnicodeNormalization;
use xxhash_rust::xxh3::xxh3_64;

use crate::config::NormalizeConfig;
use crate::error::{Reject, RejectReason};
use crate::ingest::RawRecord;

/// One normalized report: a row of `documents`.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Document {
    /// Stable id: hash of source identity and normalized text.
    pub doc_id: String,
    /// Input file.
    pub source_file: String,
    /// Line, row, or 1.
    pub source_record: u64,
    /// The record's own id.
    pub source_id: Option<String>,
    /// URL.
    pub url: Option<String>,
    /// Publisher.
    pub outlet: Option<String>,
    /// Section label lifted from the top.
    pub section: Option<String>,
    /// Headline.
    pub title: Option<String>,
    /// Author or contact.
    pub byline: Option<String>,
    /// Dateline.
    pub dateline: Option<String>,
    /// Publication time, microseconds since the epoch, UTC.
    pub published_at: Option<i64>,
    /// Language code when recognised.
    pub language: Option<String>,
    /// How the bytes were decoded.
    pub encoding: String,
    /// Normalized body.
    pub text: String,
    /// Code points in text.
    pub n_chars: u64,
    /// Whitespace-separated words in text.
    pub n_words: u64,
    /// xxh3-64 of text, hex.
    pub content_hash: String,
}

/// Hex form of a 64-bit hash, the form of every id newsmill writes.
pub fn hex_id(h: u64) -> String {
    format!("{h:016x}")
}

/// Normalizes one raw record, or refuses it when no text remains.
pub fn normalize(raw: RawRecord, cfg: &NormalizeConfig) -> Result<Document, Reject> {
    let reject = |reason, detail: &str| Reject {
        source_file: raw.source_file.clone(),
        source_record: raw.source_record,
        reason,
        detail: detail.to_string(),
    };
    let cleaned = clean_text(&raw.text);
    if cleaned.is_empty() {
        return Err(reject(RejectReason::Empty, "no text after whitespace normalization"));
    }
    let mut title = raw.title.as_deref().map(clean_inline).filter(|t| !t.is_empty());
    let mut outlet = raw.outlet.as_deref().map(clean_inline).filter(|t| !t.is_empty());
    let mut section = None;
    let mut byline = None;
    let mut dateline = None;
    let mut lines: Vec<String> = cleaned.split('\n').map(str::to_string).collect();

    if cfg.lift_boilerplate {
        lines.retain(|line| {
            if let Some(o) = copyright_outlet(line) {
                outlet.get_or_insert(o);
                return false;
            }
            if let Some((who, domain)) = contact_line(line) {
                byline.get_or_insert(who);
                if let Some(d) = domain {
                    outlet.get_or_insert(d);
                }
                return false;
            }
            true
        });
    }
    if cfg.lift_header {
        let first = |lines: &Vec<String>| lines.iter().position(|l| !l.trim().is_empty());
        // A section label ("Politics") directly followed by a headline.
        if let Some(i) = first(&lines) {
            let next = lines[i + 1..].iter().position(|l| !l.trim().is_empty()).map(|j| i + 1 + j);
            if is_section_label(&lines[i]) && next.is_some_and(|j| is_headline(&lines[j])) {
                section = Some(lines[i].trim().to_string());
                lines.drain(..=i);
            }
        }
        if let Some(i) = first(&lines) {
            let line = lines[i].trim().to_string();
            let more_follows = lines[i + 1..].iter().any(|l| !l.trim().is_empty());
            let same_as_title = title.as_deref().is_some_and(|t| t.eq_ignore_ascii_case(&line));
            if more_follows && (same_as_title || (title.is_none() && is_headline(&line))) {
                title.get_or_insert(line);
                lines.drain(..=i);
            }
        }
        if let Some(i) = lines.iter().position(|l| !l.trim().is_empty()) {
            if lines[i].len() < 400 && byline.is_none() {
                if let Some(c) = BY_LINE.captures(&lines[i]) {
                    byline = Some(c[1].trim().to_string());
                    lines.remove(i);
                }
            }
        }
        if let Some(i) = lines.iter().position(|l| !l.trim().is_empty()) {
            if let Some(m) = DATELINE.captures(&lines[i]) {
                let whole = m.get(2).expect("separator group").end();
                dateline = Some(m[1].trim().to_string());
                lines[i] = lines[i][whole..].to_string();
            }
        }
    }
    let text = join_lines(&lines);
    if text.is_empty() {
        return Err(reject(RejectReason::Empty, "no body text left after lifting headline and boilerplate"));
    }
    let identity = match &raw.source_id {
        Some(id) => format!("{}\u{1f}id={id}", raw.source_file),
        None => format!("{}\u{1f}{}", raw.source_file, raw.source_record),
    };
    let mut h = identity.into_bytes();
    h.push(0);
    h.extend_from_slice(text.as_bytes());
    Ok(Document {
        doc_id: hex_id(xxh3_64(&h)),
        source_file: raw.source_file,
        source_record: raw.source_record,
        source_id: raw.source_id,
        url: raw.url.map(|u| u.trim().to_string()).filter(|u| !u.is_empty()),
        outlet,
        section,
        title,
        byline,
        dateline,
        published_at: raw.published_at.as_deref().and_then(parse_time),
        language: guess_language(&text),
        encoding: raw.encoding.to_string(),
        n_chars: text.chars().count() as u64,
        n_words: text.split_whitespace().count() as u64,
        content_hash: hex_id(xxh3_64(text.as_bytes())),
        text,
    })
}

/// NFC, unified line endings, spaces for exotic whitespace, invisible characters dropped,
/// each line trimmed with inner runs collapsed, and at most one blank line in a row.
pub fn clean_text(s: &str) -> String {
    use unicode_normalization::{is_nfc_quick, IsNormalized};
    let mut out = String::with_capacity(s.len());
    let mut prev_space = false;
    // Most text is already NFC; the quick check avoids the composing iterator for it.
    let nfc: Box<dyn Iterator<Item = char>> =
        if is_nfc_quick(s.chars()) == IsNormalized::Yes { Box::new(s.chars()) } else { Box::new(s.nfc()) };
    let mut chars = nfc.peekable();
    while let Some(c) = chars.next() {
        let c = match c {
            '\r' => {
                if chars.peek() == Some(&'\n') {
                    chars.next();
                }
                '\n'
            }
            '\u{2028}' | '\u{2029}' | '\u{85}' => '\n',
            '\t' | '\u{a0}' | '\u{1680}' | '\u{2000}'..='\u{200a}' | '\u{202f}' | '\u{205f}' | '\u{3000}' | '\u{0b}' | '\u{0c}' => ' ',
            '\u{200b}' | '\u{feff}' | '\u{ad}' | '\u{2060}' => continue,
            c if c.is_control() && c != '\n' => continue,
            c => c,
        };
        if c == ' ' {
            if !prev_space {
                out.push(' ');
            }
            prev_space = true;
            continue;
        }
        prev_space = false;
        out.push(c);
    }
    let lines: Vec<&str> = out.split('\n').map(str::trim).collect();
    join_lines(&lines)
}

/// Joins lines, dropping leading and trailing blank lines and collapsing blank runs to one.
fn join_lines<S: AsRef<str>>(lines: &[S]) -> String {
    let mut out = String::new();
    let mut blank_run = 0;
    for l in lines {
        let l = l.as_ref().trim();
        if l.is_empty() {
            blank_run += 1;
            continue;
        }
        if !out.is_empty() {
            out.push_str(if blank_run > 0 { "\n\n" } else { "\n" });
        }
        blank_run = 0;
        out.push_str(l);
    }
    out
}

/// Cleans a one-line field (title, outlet).
fn clean_inline(s: &str) -> String {
    clean_text(s).split_whitespace().collect::<Vec<_>>().join(" ")
}

/// "Politics", "World News": one to three capitalised words, no punctuation.
fn is_section_label(line: &str) -> bool {
    let line = line.trim();
    let words: Vec<&str> = line.split_whitespace().collect();
    !words.is_empty()
        && words.len() <= 3
        && line.len() <= 30
        && words.iter().all(|w| w.chars().next().is_some_and(|c| c.is_uppercase()) && w.chars().all(|c| c.is_alphabetic() || c == '&' || c == '-'))
}

/// A short line that starts like a headline and lacks a sentence's final punctuation.
fn is_headline(line: &str) -> bool {
    let line = line.trim();
    let words = line.split_whitespace().count();
    let Some(first) = line.chars().next() else { return false };
    let last = line.chars().last().unwrap_or(' ');
    (2..=30).contains(&words)
        && line.len() <= 250
        && (first.is_uppercase() || first.is_ascii_digit())
        && !matches!(last, '.' | ',' | ';' | ':' | '”' | '"' | '’' | '\'' | '…')
        && !line.contains("http")
}

static COPYRIGHT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:©|\(c\)|copyright)\s*(?:©|\(c\))?\s*(?:\d{4}(?:\s*[-–]\s*\d{4})?)?\s*,?\s*(?P<who>[^.©]*?)\s*(?:[.,]?\s*all rights reserved\.?)?\s*\.?$")
        .expect("valid regex")
});

fn copyright_outlet(line: &str) -> Option<String> {
    let line = line.trim();
    let maybe = line.starts_with('©') || line.starts_with('(') || line.get(..9).is_some_and(|p| p.eq_ignore_ascii_case("copyright"));
    if line.len() > 200 || !maybe {
        return None;
    }
    let c = COPYRIGHT.captures(line)?;
    let who = c.name("who").map(|m| m.as_str().trim()).unwrap_or("");
    Some(who.to_string()).filter(|w| !w.is_empty() && w.split_whitespace().count() <= 8)
}

static CONTACT: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"(?i)^(?:contact|email|e-mail|write to)\s+(?:the\s+)?(?:author|reporter|writer|editor)s?\s*(?:at|:)?\s*:?\s*(?P<who>\S+@(?P<domain>[A-Za-z0-9.-]+\.[A-Za-z]{2,}))\.?$")
        .expect("valid regex")
});

fn contact_line(line: &str) -> Option<(String, Option<String>)> {
    let line = line.trim();
    if line.len() > 200 || !line.contains('@') {
        return None;
    }
    let c = CONTACT.captures(line)?;
    Some((c["who"].to_string(), c.name("domain").map(|d| d.as_str().to_ascii_lowercase())))
}

static BY_LINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^By\s+((?:[A-Z][\w.'’-]*\s*){1,4}(?:(?:,|and)\s+(?:[A-Z][\w.'’-]*\s*){1,4})*)$").expect("valid regex")
});

static DATELINE: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(r"^((?:[A-Z][A-Z.'’-]+)(?:[ ,]+(?:[A-Z][A-Za-z.'’-]*))*(?:\s*\([A-Za-z][^)]{0,40}\))?)(\s*(?:—|–|--|-)\s+)\S")
        .expect("valid regex")
});

/// Parses common publication-time forms into microseconds since the epoch, UTC.
pub fn parse_time(s: &str) -> Option<i64> {
    use chrono::{DateTime, NaiveDate, NaiveDateTime};
    let s = s.trim();
    if s.is_empty() {
        return None;
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Some(t.timestamp_micros());
    }
    if let Ok(t) = DateTime::parse_from_rfc2822(s) {
        return Some(t.timestamp_micros());
    }
    for f in ["%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f"] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, f) {
            return Some(t.and_utc().timestamp_micros());
        }
    }
    for f in ["%Y-%m-%d", "%Y/%m/%d", "%d %B %Y", "%B %d, %Y", "%b %d, %Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, f) {
            return Some(d.and_hms_opt(0, 0, 0)?.and_utc().timestamp_micros());
        }
    }
    // Unix seconds or milliseconds.
    if let Ok(n) = s.parse::<i64>() {
        return if n.abs() < 100_000_000_000 { n.checked_mul(1_000_000) } else { n.checked_mul(1_000) };
    }
    None
}

/// "en" when English function words make up a plausible share of the first words, else None.
pub fn guess_language(text: &str) -> Option<String> {
    let mut total = 0usize;
    let mut hits = 0usize;
    let mut buf = [0u8; 5];
    for w in text.split_whitespace().take(400) {
        total += 1;
        let w = w.trim_matches(|c: char| !c.is_alphanumeric());
        if w.len() > 5 || !w.is_ascii() {
            continue;
        }
        let lower = &mut buf[..w.len()];
        lower.copy_from_slice(w.as_bytes());
        lower.make_ascii_lowercase();
        if matches!(
            &*lower,
            b"the" | b"of" | b"and" | b"to" | b"in" | b"is" | b"that" | b"for" | b"on" | b"with" | b"was" | b"as"
                | b"it" | b"by" | b"he" | b"at" | b"said" | b"be" | b"are" | b"from" | b"has" | b"have" | b"his"
                | b"an" | b"this" | b"will"
        ) {
            hits += 1;
        }
    }
    (total >= 5 && hits * 100 >= total * 15).then(|| "en".to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> RawRecord {
        RawRecord {
            source_file: "f.txt".into(),
            source_record: 1,
            source_id: None,
            text: text.into(),
            title: None,
            url: None,
            published_at: None,
            outlet: None,
            encoding: "utf-8",
        }
    }

    #[test]
    fn whitespace_and_paragraphs() {
        let t = clean_text("  a\u{a0}\u{a0}b \r\n\r\n\r\n\tc\u{200b}d\n\ne  \n");
        assert_eq!(t, "a b\n\ncd\n\ne");
        assert_eq!(clean_text("one\ntwo"), "one\ntwo");
    }

    #[test]
    fn keeps_misused_apostrophes() {
        let d = normalize(raw("we‘re going to work with Ukraine, he said."), &NormalizeConfig::default()).unwrap();
        assert!(d.text.contains("we‘re"));
    }

    #[test]
    fn lifts_section_title_and_dateline() {
        let d = normalize(
            raw("Politics\nU.S. and Europe Plan Security for Ukraine\n\nWASHINGTON, D.C. — U.S. and European planners met on Monday."),
            &NormalizeConfig::default(),
        )
        .unwrap();
        assert_eq!(d.section.as_deref(), Some("Politics"));
        assert_eq!(d.title.as_deref(), Some("U.S. and Europe Plan Security for Ukraine"));
        assert_eq!(d.dateline.as_deref(), Some("WASHINGTON, D.C."));
        assert_eq!(d.text, "U.S. and European planners met on Monday.");
    }

    #[test]
    fn lifts_copyright_and_contact_lines() {
        let d = normalize(raw("Body text here is a sentence.\n© 2025 Newsmax. All rights reserved."), &NormalizeConfig::default()).unwrap();
        assert_eq!(d.outlet.as_deref(), Some("Newsmax"));
        assert_eq!(d.text, "Body text here is a sentence.");
        let d = normalize(raw("Body text.\nContact the author: howard@thewarzone.com"), &NormalizeConfig::default()).unwrap();
        assert_eq!(d.byline.as_deref(), Some("howard@thewarzone.com"));
        assert_eq!(d.outlet.as_deref(), Some("thewarzone.com"));
        assert_eq!(d.text, "Body text.");
    }

    #[test]
    fn a_sentence_is_not_a_headline() {
        let d = normalize(raw("Trump left open the possibility of a presence.\nMore text."), &NormalizeConfig::default()).unwrap();
        assert_eq!(d.title, None);
    }

    #[test]
    fn empty_after_cleaning_is_refused() {
        let e = normalize(raw(" \u{200b}\n\t "), &NormalizeConfig::default()).unwrap_err();
        assert_eq!(e.reason, RejectReason::Empty);
    }

    #[test]
    fn language_guess() {
        assert_eq!(guess_language("The president said on Tuesday that the talks will go on.").as_deref(), Some("en"));
        assert_eq!(guess_language("Le café de la place a fermé ses portes, a dit le maire."), None);
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("2025-08-19"), Some(1_755_561_600_000_000));
        assert_eq!(parse_time("2025-08-19T00:00:00Z"), Some(1_755_561_600_000_000));
        assert_eq!(parse_time("1755561600"), Some(1_755_561_600_000_000));
        assert_eq!(parse_time("yesterday"), None);
    }

    #[test]
    fn ids_are_stable() {
        let a = normalize(raw("Same text."), &NormalizeConfig::default()).unwrap();
        let b = normalize(raw("Same text."), &NormalizeConfig::default()).unwrap();
        assert_eq!(a.doc_id, b.doc_id);
        assert_eq!(a.doc_id.len(), 16);
    }

    mod props {
        use super::*;
        use proptest::prelude::*;

        proptest! {

            #[test]
            fn normalize_never_panics_and_text_is_clean(text in "(?s).{0,400}", title in proptest::option::of(".{0,40}")) {
                let mut r = raw(&text);
                r.title = title;
                match normalize(r, &NormalizeConfig::default()) {
                    Ok(d) => {
                        prop_assert!(!d.text.is_empty());
                        prop_assert!(!d.text.contains('\r'));
                        prop_assert!(!d.text.contains("\n\n\n"));
                        prop_assert_eq!(d.n_chars as usize, d.text.chars().count());
                        prop_assert_eq!(d.text.trim(), d.text.as_str());
                    }
                    Err(e) => prop_assert_eq!(e.reason, RejectReason::Empty),
                }
            }

            #[test]
            fn cleaning_is_idempotent(text in "(?s).{0,300}") {
                let once = clean_text(&text);
                prop_assert_eq!(clean_text(&once), once);
            }
        }
    }
}
