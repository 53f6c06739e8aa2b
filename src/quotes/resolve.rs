//! Speaker resolution: which PERSON mention a speaker phrase ("she", "the president",
//! "Karoline Leavitt") stands for.
//!
//! Names resolve to the person mention inside them; pronouns to the most recent salient
//! person of compatible gender (sentence subjects and earlier speakers first, then the nearest
//! mention); role nouns to the person who holds that title in the report. Group speakers
//! ("officials", "they") stay unresolved.

use super::lexicon::{self, lexicon, FEM, FEMALE_NAME, GROUP, MALE_NAME, MASC, PRONOUN, ROLE};
use crate::record::{EntityLabel, Mention};

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Gender {
    Unknown,
    Male,
    Female,
}

struct Person {
    /// Mention index.
    idx: usize,
    /// Entity number (mentions sharing a surname).
    ent: usize,
    start: usize,
    /// Whether the mention is the subject of its sentence.
    subject: bool,
    /// Lowercased title words written before the name (from the mention or the text).
    title: String,
}

fn surname(s: &str) -> String {
    let w = s.split_whitespace().last().unwrap_or("");
    let w = w.trim_end_matches("’s").trim_end_matches("'s").trim_end_matches('’').trim_end_matches('\'');
    w.to_lowercase()
}

/// Resolves each speaker span (byte range) to a PERSON mention index.
/// `sent_starts` are the byte offsets where sentences start (sorted).
pub fn resolve(text: &str, speakers: &[Option<(usize, usize)>], mentions: &[Mention], sent_starts: &[usize]) -> Vec<Option<usize>> {
    let mut out = vec![None; speakers.len()];
    if mentions.is_empty() {
        return out;
    }
    let lx = lexicon();
    // Entities by surname.
    let mut keys: Vec<String> = Vec::new();
    let mut key_ids: std::collections::HashMap<String, usize> = std::collections::HashMap::new();
    let mut genders: Vec<Gender> = Vec::new();
    let mut persons: Vec<Person> = Vec::new();
    for (i, m) in mentions.iter().enumerate() {
        if m.label != EntityLabel::Person || m.span.end > text.len() || !text.is_char_boundary(m.span.start) || !text.is_char_boundary(m.span.end) {
            continue;
        }
        let s = m.span.slice(text);
        let key = surname(s);
        if key.is_empty() {
            continue;
        }
        let ent = match key_ids.get(&key) {
            Some(&e) => e,
            None => {
                key_ids.insert(key.clone(), keys.len());
                keys.push(key);
                genders.push(Gender::Unknown);
                keys.len() - 1
            }
        };
        // Title: the mention's, or capitalised words just before it in the text.
        let mut title = m.title.clone().unwrap_or_default().to_lowercase();
        let sent_start = match sent_starts.binary_search(&m.span.start) {
            Ok(k) => sent_starts[k],
            Err(0) => 0,
            Err(k) => sent_starts[k - 1],
        };
        // The sentence up to the name, at most its last 300 bytes.
        let mut from = sent_start.max(m.span.start.saturating_sub(300));
        while !text.is_char_boundary(from) {
            from += 1;
        }
        let subject_known = from == sent_start;
        let before = &text[from.min(m.span.start)..m.span.start];
        let mut lead: Vec<&str> = Vec::new();
        for w in before.split_whitespace().rev() {
            let f = lx.flags(w.trim_matches(|c: char| !c.is_alphanumeric() && c != '-'));
            if w.chars().next().is_some_and(|c| c.is_uppercase()) || f & ROLE != 0 || w.contains('-') {
                lead.push(w);
            } else {
                break;
            }
        }
        if title.is_empty() {
            lead.reverse();
            title = lead.join(" ").to_lowercase();
        }
        let subject = subject_known && before.split_whitespace().all(|w| w.chars().next().is_some_and(|c| c.is_uppercase() || c == '“' || c == '"'));
        // Gender from the first name.
        let first = s.split_whitespace().next().unwrap_or("");
        let f = lx.flags(first) | lx.flags(title.split_whitespace().last().unwrap_or(""));
        if genders[ent] == Gender::Unknown {
            if f & MALE_NAME != 0 && f & FEMALE_NAME == 0 {
                genders[ent] = Gender::Male;
            } else if f & FEMALE_NAME != 0 && f & MALE_NAME == 0 {
                genders[ent] = Gender::Female;
            }
        }
        persons.push(Person { idx: i, ent, start: m.span.start, subject, title });
    }
    if persons.is_empty() {
        return out;
    }
    persons.sort_by_key(|p| p.start);
    // Speakers in text order.
    let mut order: Vec<usize> = (0..speakers.len()).filter(|&i| speakers[i].is_some()).collect();
    order.sort_by_key(|&i| speakers[i].map(|s| s.0));
    // (position, entity) of earlier resolved speakers.
    let mut spoke: Vec<(usize, usize)> = Vec::new();
    let last_mention_of = |ent: usize, pos: usize| -> Option<usize> {
        persons.iter().rev().find(|p| p.ent == ent && p.start <= pos).map(|p| p.idx).or_else(|| persons.iter().find(|p| p.ent == ent).map(|p| p.idx))
    };
    for qi in order {
        let (a, b) = speakers[qi].unwrap_or((0, 0));
        if b > text.len() || a >= b {
            continue;
        }
        // A name inside the phrase.
        // Persons are sorted by position; look only at a window before the speaker (bounded
        // work per speaker, however long the report).
        let upto = persons.partition_point(|p| p.start < b);
        let from = persons.partition_point(|p| p.start + 20_000 < a);
        let window = &persons[from..upto];
        if let Some(p) = window.iter().rev().find(|p| p.start >= a && p.start < b) {
            out[qi] = Some(p.idx);
            spoke.push((a, p.ent));
            continue;
        }
        let phrase = &text[a..b];
        let words: Vec<&str> = phrase.split_whitespace().collect();
        let head = words.last().copied().unwrap_or("");
        let hf = lx.flags(head);
        if words.len() == 1 && hf & PRONOUN != 0 {
            let want = if hf & MASC != 0 {
                Gender::Male
            } else if hf & FEM != 0 {
                Gender::Female
            } else {
                continue; // they / I / we / it
            };
            // Candidates: earlier speakers and subjects, most recent first.
            let mut cands: Vec<(usize, usize)> = spoke.iter().rev().take(50).filter(|&&(p, _)| p < a).copied().collect();
            cands.extend(window.iter().filter(|p| p.subject && p.start < a).map(|p| (p.start, p.ent)));
            cands.sort_by_key(|c| std::cmp::Reverse(c.0));
            let near: Vec<(usize, usize)> = {
                let mut v: Vec<(usize, usize)> = window.iter().filter(|p| p.start < a).map(|p| (p.start, p.ent)).collect();
                v.sort_by_key(|c| std::cmp::Reverse(c.0));
                v
            };
            let pick = cands
                .iter()
                .find(|c| genders[c.1] == want)
                .or_else(|| near.iter().find(|c| genders[c.1] == want))
                .or_else(|| cands.iter().find(|c| genders[c.1] == Gender::Unknown))
                .or_else(|| near.iter().find(|c| genders[c.1] == Gender::Unknown))
                .copied();
            if let Some((_, ent)) = pick {
                if genders[ent] == Gender::Unknown {
                    genders[ent] = want;
                }
                out[qi] = last_mention_of(ent, a);
                spoke.push((a, ent));
            }
            continue;
        }
        if hf & ROLE != 0 && hf & GROUP == 0 && !head.chars().next().is_some_and(|c| c.is_uppercase()) || hf & ROLE != 0 && words.len() <= 3 && words.first().is_some_and(|w| w.eq_ignore_ascii_case("the")) {
            let role = head.to_lowercase();
            // Holders of the title; the most mentioned wins, then the most recent.
            let mut best: Option<(usize, usize, usize)> = None; // (count, last pos, ent)
            for p in window.iter().filter(|p| p.title.split(|c: char| !c.is_alphanumeric() && c != '-').any(|w| w == role)) {
                let count = window.iter().filter(|q| q.ent == p.ent && q.start < a.max(p.start + 1)).count();
                let cand = (count, p.start, p.ent);
                if best.is_none_or(|b| (cand.0, cand.1) > (b.0, b.1)) {
                    best = Some(cand);
                }
            }
            if let Some((_, _, ent)) = best {
                out[qi] = last_mention_of(ent, a);
                spoke.push((a, ent));
            }
        }
    }
    let _ = lexicon::CUE;
    out
}
