//! The rule-based quote finder: quoted regions become direct or partial quotes (or terms),
//! attributed to a cue and a speaker phrase found next to them; sentences with a reporting
//! verb and no quote marks give indirect quotes.
//!
//! The rules work on the token layer of [`super::text`]: a speaker phrase is a run of
//! capitalised words, role and group nouns with their determiners, or a pronoun; a cue is a
//! reporting verb from [`super::lexicon`] or "according to".

use super::lexicon::*;
use super::text::{self, Kind, Region, Tok, CAP, DIGIT, INNERCAP};
use crate::record::QuoteKind;

/// A quote found by the rules, in token and byte coordinates.
#[derive(Debug, Clone)]
pub struct Found {
    /// Direct, partial, indirect or term.
    pub kind: QuoteKind,
    /// Byte range of the content (marks excluded).
    pub content: (usize, usize),
    /// Byte range of the content with its marks (what PolNeAR annotates).
    pub content_marked: (usize, usize),
    /// Token range of the cue.
    pub cue: Option<(usize, usize)>,
    /// Token range of the speaker phrase.
    pub speaker: Option<(usize, usize)>,
    /// True when the speaker was carried over from the previous quote.
    pub continued: bool,
    /// Confidence in 0..=1.
    pub confidence: f32,
    /// Index of the sentence holding the start of the content.
    pub sentence: usize,
}

/// The analysed document: tokens, regions, sentences.
pub struct Doc<'a> {
    /// The text.
    pub text: &'a str,
    /// Its tokens.
    pub toks: Vec<Tok>,
    /// Quoted regions.
    pub regs: Vec<Region>,
    /// Sentences as token ranges `[a, b)`.
    pub sents: Vec<(usize, usize)>,
    /// For each token, the region it lies in (marks included), or `usize::MAX`.
    pub in_reg: Vec<u32>,
}

const NONE: u32 = u32::MAX;

impl<'a> Doc<'a> {
    /// Tokenizes and segments `text`.
    pub fn new(text: &'a str) -> Doc<'a> {
        let toks = text::tokenize(text);
        let regs = text::regions(text, &toks);
        let ends = text::sentence_ends(text, &toks, &regs);
        let n = toks.len();
        let mut in_reg = vec![NONE; n];
        for (ri, r) in regs.iter().enumerate() {
            let hi = if r.close < n { r.close + 1 } else { n };
            for x in in_reg.iter_mut().take(hi).skip(r.open) {
                *x = ri as u32;
            }
        }
        let mut sents = Vec::new();
        let mut s = 0;
        for i in 0..n {
            if ends[i] {
                let e = if toks[i].kind == Kind::Para { i } else { i + 1 };
                if e > s {
                    sents.push((s, e));
                }
                s = i + 1;
            }
        }
        if n > s {
            sents.push((s, n));
        }
        Doc { text, toks, regs, sents, in_reg }
    }

    fn outside(&self, i: usize) -> bool {
        self.in_reg[i] == NONE
    }

    /// The speaker phrase as reported (token range): the speaker as found, with a name
    /// coordinated with it ([`Doc::speaker_start`]) and what describes it
    /// ([`Doc::speaker_end`]).
    pub fn speaker_phrase(&self, speaker: (usize, usize), cue: Option<(usize, usize)>, content: (usize, usize)) -> (usize, usize) {
        (self.speaker_start(speaker), self.speaker_end(speaker, cue, content))
    }

    /// Where a speaker phrase ends once what describes it is taken in, as PolNeAR's sources
    /// do: a party label ("Rep. Jim Clyburn (D-S.C.)") and an appositive ("Kenneth Baer, a
    /// former Obama administration official who runs Crosscut Strategies"). Before its cue the
    /// appositive runs to the comma that precedes the cue (kept, closing the pair); after its
    /// cue, to the end of the sentence, or, when a clause of its own follows the description
    /// ("..., a Texas consultant who said he ..."), to the comma or relative pronoun that
    /// opens that clause. Token range in, token end out (`speaker.1` when nothing describes
    /// it).
    pub fn speaker_end(&self, speaker: (usize, usize), cue: Option<(usize, usize)>, content: (usize, usize)) -> usize {
        const MAX: usize = 40;
        let toks = &self.toks;
        // What was said is never part of who said it ("According to sources, the Pentagon
        // is exploring ...").
        let n = if content.1 > content.0 && speaker.1 <= toks.len() && speaker.1 > 0 && content.0 >= toks[speaker.1 - 1].end as usize {
            self.tok_from(content.0)
        } else {
            toks.len()
        };
        let (a, b) = speaker;
        let Some((ca, cb)) = cue else { return b };
        if b == 0 || b > n || a >= b {
            return b;
        }
        let mut j = b;
        // A bracketed label: "(D-N.C.)", "(R-Utah)".
        if j < n && toks[j].is_punct('(') {
            if let Some(k) = (j + 1..n.min(j + 8)).find(|&k| toks[k].is_punct(')')) {
                if toks[j + 1..k].iter().all(|t| t.kind != Kind::Para && t.kind != Kind::Quote) {
                    j = k + 1;
                }
            }
        }
        // Words that cannot describe a speaker: another attribution, a clause of its own.
        let plain = |lo: usize, hi: usize| {
            toks[lo..hi].iter().all(|t| match t.kind {
                Kind::Word => t.flags & (CUE | CUE_ING | CUE_WEAK) == 0,
                Kind::Punct => !matches!(t.ch, ';' | ':' | '.' | '!' | '?' | '—' | '–'),
                _ => false,
            })
        };
        let opens_appositive = |k: usize| {
            k < n && toks[k].is_word() && {
                let t = &toks[k];
                let w = self.word(k);
                t.flags & (DET | RELPRON | ROLE) != 0
                    || t.has(DIGIT)
                    || t.has(CAP)
                    || t.flags & (FUNC | AUX | PRONOUN | CUE | CUE_ING | CUE_WEAK) == 0 && !w.ends_with("ly")
            }
        };
        if b <= ca {
            // "X, a Y at Z, said": the gap to the cue is one comma-delimited description.
            if j > ca {
                // The cue is inside the brackets: they are not a label.
                return b;
            }
            if j == ca || j >= n {
                return j;
            }
            if toks[j].is_punct(',') && ca >= j + 3 && ca <= n && ca - j <= MAX && toks[ca - 1].is_punct(',') && opens_appositive(j + 1) && plain(j + 1, ca - 1) {
                return ca;
            }
            return if plain(b, j) { j } else { b };
        }
        if cb <= a {
            // "said X, a Y at Z." : the description runs to the end of the sentence.
            let Some((_, se)) = self.sentence_of(b - 1) else { return b };
            // Back from `hi` over trailing punctuation (a closing bracket stays), not below `lo`.
            let trim = |lo: usize, mut hi: usize| {
                while hi > lo && !toks[hi - 1].is_word() && !toks[hi - 1].is_punct(')') {
                    hi -= 1;
                }
                hi
            };
            let end = trim(j, se.min(n));
            if j < end && toks[j].is_punct(',') && end - j <= MAX && opens_appositive(j + 1) {
                if plain(j + 1, end) {
                    return end;
                }
                // A clause of its own after the description ("said Lionel Sosa, a Texas media
                // consultant and an influential Hispanic Republican who said he would not
                // vote ..."): the description stops where that clause begins, at a comma or a
                // relative pronoun before the first word that cannot describe a speaker.
                let bad = (j + 1..end).find(|&k| !plain(k, k + 1)).unwrap_or(end);
                let cut = (j + 2..=bad.min(end - 1)).rev().find(|&k| toks[k].is_punct(',') || toks[k].is_word() && toks[k].has(RELPRON));
                if let Some(c) = cut.map(|c| trim(j + 1, c)).filter(|&c| c > j + 1) {
                    return c;
                }
            }
            return j;
        }
        b
    }

    /// The first token that starts at or after byte `byte` (the token count when none does).
    pub(super) fn tok_from(&self, byte: usize) -> usize {
        self.toks.partition_point(|t| (t.start as usize) < byte)
    }

    /// The sentence (token range) holding token `i`.
    pub(super) fn sentence_of(&self, i: usize) -> Option<(usize, usize)> {
        self.sents.get(self.sents.partition_point(|s| s.1 <= i)).copied()
    }

    fn word(&self, i: usize) -> &str {
        self.toks[i].text(self.text)
    }

    /// Where a speaker phrase starts once a name coordinated with it is taken in ("Obama and
    /// Clinton said": the speakers are both). The name must open its clause (start the
    /// sentence or follow a quote mark or a comma). Token index in, token index out.
    pub fn speaker_start(&self, speaker: (usize, usize)) -> usize {
        let toks = &self.toks;
        let a = speaker.0;
        if a < 2 || a >= toks.len() || !toks[a - 1].is_word() || !self.word(a - 1).eq_ignore_ascii_case("and") || !self.outside(a - 1) {
            return a;
        }
        // The capitalised words before "and".
        let mut s = a - 1;
        while s > 0 && s + 6 > a && toks[s - 1].is_word() && toks[s - 1].has(CAP) && self.outside(s - 1) && toks[s - 1].flags & (CUE | CUE_WEAK | PRONOUN) == 0 {
            s -= 1;
        }
        if s == a - 1 {
            return a;
        }
        let opens = self.sentence_of(a).is_some_and(|x| x.0 == s) || s > 0 && (toks[s - 1].kind == Kind::Quote || toks[s - 1].kind == Kind::Para || toks[s - 1].is_punct(','));
        if opens {
            s
        } else {
            a
        }
    }

    /// Where reported content starts once the "that" introducing a quotation is taken in, as
    /// PolNeAR's contents do ("said that, “For those few people ...”"). `start` is a byte
    /// offset; it is returned unchanged unless it is an opening mark right after "that".
    pub fn lead_in_start(&self, start: usize) -> usize {
        let toks = &self.toks;
        let k = self.tok_from(start);
        if k == 0 || k >= toks.len() || toks[k].start as usize != start || toks[k].kind != Kind::Quote {
            return start;
        }
        let mut j = k - 1;
        if toks[j].is_punct(',') && j > 0 {
            j -= 1;
        }
        if toks[j].is_word() && self.outside(j) && self.word(j).eq_ignore_ascii_case("that") {
            toks[j].start as usize
        } else {
            start
        }
    }

    fn is_cue(&self, i: usize) -> Option<(usize, usize)> {
        let t = &self.toks[i];
        if !t.is_word() {
            return None;
        }
        if t.has(CUE) && !t.has(super::text::ALLCAPS | CAP) {
            // A noun after a determiner or a possessive ("the pledge", "Trump’s vow").
            if i > 0 && self.toks[i - 1].is_word() {
                let p = self.word(i - 1);
                if self.toks[i - 1].has(DET) && !self.toks[i - 1].has(AUX) && !p.eq_ignore_ascii_case("then") && !p.eq_ignore_ascii_case("that")
                    || p.ends_with("’s")
                    || p.ends_with("'s")
                {
                    return None;
                }
            }
            // "continued to attack"
            if i + 1 < self.toks.len() && self.word(i + 1) == "to" && self.word(i).starts_with("continu") {
                return None;
            }
            return Some((i, i + 1));
        }
        if self.word(i).eq_ignore_ascii_case("according") && i + 1 < self.toks.len() && self.word(i + 1).eq_ignore_ascii_case("to") {
            return Some((i, i + 2));
        }
        None
    }

    fn namey(&self, i: usize) -> bool {
        let t = &self.toks[i];
        t.is_word() && (t.has(CAP) || t.has(INNERCAP)) && (!t.has(FUNC) || t.has(ROLE | GROUP | DET))
    }

    /// The speaker phrase ending just before token `c` (skipping auxiliaries, adverbs, a
    /// time phrase and an appositive between commas), not reaching below `lo`.
    pub fn np_before(&self, c: usize, lo: usize) -> Option<(usize, usize)> {
        let toks = &self.toks;
        let mut j = c;
        let mut guard = 0;
        loop {
            guard += 1;
            if guard > 4 {
                break;
            }
            while j > lo && toks[j - 1].is_word() && toks[j - 1].has(AUX) && !toks[j - 1].has(CAP) && self.outside(j - 1) {
                j -= 1;
            }
            // "on Tuesday", "Tuesday", "last week"
            if j > lo + 1 && toks[j - 1].is_word() && toks[j - 1].has(TIMEWORD) && toks[j - 1].has(CAP) && self.word(j - 2).eq_ignore_ascii_case("on") {
                j -= 2;
                continue;
            }
            if j > lo && toks[j - 1].is_word() && toks[j - 1].has(TIMEWORD) && toks[j - 1].has(CAP) && toks[j - 1].has(FUNC) {
                j -= 1;
                continue;
            }
            // Appositive: "Putin, speaking to legislators, said".
            if j > lo + 1 && toks[j - 1].is_punct(',') {
                let mut k = j - 1;
                let floor = lo.max(j.saturating_sub(25));
                while k > floor && !toks[k - 1].is_punct(',') {
                    if toks[k - 1].kind != Kind::Word && toks[k - 1].kind != Kind::Punct {
                        break;
                    }
                    k -= 1;
                }
                if k > floor && toks[k - 1].is_punct(',') {
                    j = k - 1;
                    continue;
                }
                return None;
            }
            break;
        }
        if j <= lo {
            return None;
        }
        let h = j - 1;
        if !self.outside(h) {
            return None;
        }
        let t = &toks[h];
        if !t.is_word() {
            return None;
        }
        if t.has(PRONOUN | RELPRON) && !(t.has(CAP) && t.has(ROLE)) {
            if self.word(h).eq_ignore_ascii_case("it") || self.word(h).eq_ignore_ascii_case("you") {
                return Some((h, j));
            }
            return Some((h, j));
        }
        if !(self.namey(h) || t.has(ROLE | GROUP)) || t.has(CUE) && !t.has(CAP) {
            return None;
        }
        if t.has(DET) && !t.has(GROUP | ROLE | CAP) {
            return None;
        }
        let mut a = h;
        while a > lo && self.outside(a - 1) {
            let p = &toks[a - 1];
            if !p.is_word() {
                break;
            }
            let ok = self.namey(a - 1)
                || p.has(ROLE | GROUP | DET) && !p.has(CUE)
                || p.has(DIGIT)
                || (self.word(a - 1) == "of" && a >= 2 && self.namey(a - 2) && self.namey(a))
                || (self.word(a - 1) == "and" && a >= 2 && self.namey(a - 2) && self.namey(a) && toks[h].has(GROUP));
            if !ok {
                break;
            }
            a -= 1;
        }
        while a < h && (toks[a].has(FUNC) && !toks[a].has(DET | ROLE | GROUP) || self.word(a) == "of" || self.word(a) == "and") {
            a += 1;
        }
        Some((a, j))
    }

    /// The speaker phrase starting at token `j` (inverted "said Trump", "according to X").
    pub fn np_after(&self, j: usize, hi: usize) -> Option<(usize, usize)> {
        let toks = &self.toks;
        if j >= hi || !self.outside(j) || !toks[j].is_word() {
            return None;
        }
        if toks[j].has(PRONOUN) && !toks[j].has(DET) {
            return Some((j, j + 1));
        }
        let mut e = j;
        let mut content = false;
        while e < hi && self.outside(e) && toks[e].is_word() {
            let t = &toks[e];
            let w = self.word(e);
            if self.namey(e) || t.has(ROLE | GROUP) {
                content = true;
            } else {
                let joiner = (w == "of" || w == "and") && content && e + 1 < hi && self.namey(e + 1);
                let lead = (t.has(DET) || t.has(DIGIT)) && !content;
                if !(joiner || lead) {
                    break;
                }
            }
            // Stop before a day name after a name ("Trump Tuesday").
            if content && t.has(TIMEWORD) && t.has(CAP) && e > j {
                break;
            }
            e += 1;
        }
        while e > j && (toks[e - 1].has(DET) && !toks[e - 1].has(ROLE | GROUP | CAP) || self.word(e - 1) == "of") {
            e -= 1;
        }
        if !content || e == j {
            return None;
        }
        Some((j, e))
    }

    /// Speaker of cue token `c` in the sentence `[lo, hi)`.
    fn speaker_of(&self, c: (usize, usize), lo: usize, hi: usize) -> Option<(usize, usize)> {
        let ct = &self.toks[c.0];
        let according = c.1 - c.0 == 2;
        if according {
            return self.np_after(c.1, hi);
        }
        if ct.has(CUE_ING) {
            if let Some(s) = self.np_before(c.0, lo) {
                if s.1 == c.0 {
                    return Some(s);
                }
            }
            // The subject of the sentence's main cue, else its first phrase.
            for i in lo.max(c.0.saturating_sub(60))..c.0 {
                if self.outside(i) && self.toks[i].has(CUE) && !self.toks[i].has(CUE_ING) {
                    if let Some(s) = self.np_before(i, lo) {
                        return Some(s);
                    }
                }
            }
            return self.np_after(lo, hi).filter(|s| s.0 == lo);
        }
        let addressee = is_addressee(self.word(c.0));
        if let Some(s) = self.np_before(c.0, lo) {
            return Some(s);
        }
        if !addressee {
            return self.np_after(c.1, hi);
        }
        None
    }
}

/// Verbs whose object is the addressee, not the speaker ("told reporters").
pub(super) fn is_addressee(w: &str) -> bool {
    let w = w.to_ascii_lowercase();
    matches!(w.as_str(), "told" | "tell" | "tells" | "telling" | "asked" | "ask" | "asks" | "asking" | "informed" | "urged" | "warned" | "assured" | "reminded")
}

fn word_count(text: &str, a: usize, b: usize) -> usize {
    text[a..b].split_whitespace().count()
}

/// Finds every quote the rules can see.
pub fn find(doc: &Doc) -> Vec<Found> {
    let text = doc.text;
    let toks = &doc.toks;
    let n = toks.len();
    let mut out: Vec<Found> = Vec::new();
    let mut ri = 0;
    for (si, &(sa, sb)) in doc.sents.iter().enumerate() {
        // Regions starting in this sentence.
        let mut sent_regs = Vec::new();
        while ri < doc.regs.len() && doc.regs[ri].open < sb {
            if doc.regs[ri].open >= sa {
                sent_regs.push(ri);
            }
            ri += 1;
        }
        let cues: Vec<(usize, usize)> = (sa..sb).filter(|&i| doc.outside(i)).filter_map(|i| doc.is_cue(i)).collect();
        // First reporter's word (or comma) of the sentence: a quote before it opens the sentence.
        let first_textual = (sa..sb).find(|&i| doc.outside(i) && (toks[i].is_word() || toks[i].is_punct(','))).unwrap_or(sb);
        if sent_regs.is_empty() {
            // Indirect speech.
            if let Some(f) = indirect(doc, si, sa, sb, &cues) {
                out.push(f);
            }
            continue;
        }
        for (k, &r) in sent_regs.iter().enumerate() {
            let reg = doc.regs[r];
            let (ca, cb) = reg.content;
            let marked = if reg.no_open {
                (ca, if reg.close < n { toks[reg.close].end as usize } else { cb })
            } else {
                // The opening mark belongs to the span, unless a speaker label ("PENCE:") was
                // cut from the content's start.
                let start = if ca > toks[reg.open].end as usize { ca } else { toks[reg.open].start as usize };
                (start, if reg.close < n && toks[reg.close].kind == Kind::Quote { toks[reg.close].end as usize } else { cb })
            };
            let prev_close = if k > 0 { doc.regs[sent_regs[k - 1]].close + 1 } else { sa };
            let next_open = if k + 1 < sent_regs.len() { doc.regs[sent_regs[k + 1]].open } else { sb };
            let after_lo = (reg.close + 1).min(n);
            // Content shape.
            let inner = text[ca..cb].trim_end();
            let last_ch = inner.chars().last().unwrap_or(' ');
            let ends_punct = matches!(last_ch, ',' | '.' | '!' | '?' | '…' | ':' | ';' | '—' | '-');
            let first_ch = text[ca..cb].trim_start().chars().next().unwrap_or(' ');
            let words = word_count(text, ca, cb);
            // Outside tokens before the mark, in this sentence.
            // Only the last stretch before the mark matters (bounded: no quadratic work on a
            // huge sentence holding many quotes).
            let before: Vec<usize> = (sa.max(reg.open.saturating_sub(64))..reg.open).filter(|&i| doc.outside(i)).collect();
            let after_first = (after_lo..sb).find(|&i| doc.outside(i));

            let mut cue: Option<(usize, usize)> = None;
            let mut speaker: Option<(usize, usize)> = None;
            let mut lead_in = false;
            // 1. Attribution right after the quote.
            if let Some(f) = after_first {
                let mut j = f;
                if toks[j].is_punct(',') {
                    j += 1;
                }
                if j < sb && doc.outside(j) {
                    if let Some(c) = doc.is_cue(j) {
                        if toks[j].has(CUE) && !toks[j].has(CUE_ING) && !is_addressee(doc.word(j)) {
                            // Inverted: "said Trump" (or "he said" order handled below).
                            if let Some(s) = doc.np_after(c.1, next_open) {
                                cue = Some(c);
                                speaker = Some(s);
                            }
                        }
                    }
                    if cue.is_none() {
                        // "Trump said", "then-NATO Secretary General Jens Stoltenberg said".
                        let lim = next_open.min(j + 14);
                        for c in j..lim {
                            if !doc.outside(c) {
                                break;
                            }
                            if let Some(cc) = doc.is_cue(c) {
                                if let Some(s) = doc.np_before(cc.0, j) {
                                    if s.0 == j {
                                        cue = Some(cc);
                                        speaker = Some(s);
                                    }
                                }
                                break;
                            }
                        }
                    }
                    if cue.is_none() && toks[j].kind == Kind::Punct && matches!(toks[j].ch, '—' | '–' | '―' | '-') {
                        // "“...” — Jens Stoltenberg": the dash is the cue.
                        if let Some(s) = doc.np_after(j + 1, next_open) {
                            speaker = Some(s);
                            cue = Some((j, j + 1));
                        }
                    }
                }
            }
            // 2. Lead-in before the quote: "Leavitt said: “", "telling Fox News, “".
            if speaker.is_none() && !before.is_empty() {
                let last = *before.last().unwrap();
                let lt = &toks[last];
                if last + 1 == reg.open && (lt.is_punct(':') || lt.is_punct(',') || lt.is_punct('—') || lt.is_word()) {
                    let floor = before.first().copied().unwrap_or(sa).max(prev_close);
                    let mut found = None;
                    for c in (floor..=last).rev().take(16) {
                        if let Some(cc) = doc.is_cue(c) {
                            found = Some(cc);
                            break;
                        }
                    }
                    if let Some(cc) = found {
                        let s = doc.speaker_of(cc, sa, reg.open);
                        cue = Some(cc);
                        speaker = s;
                        lead_in = lt.is_punct(':') || lt.is_punct(',') || lt.is_punct('—');
                    } else if lt.is_punct(':') {
                        if let Some(s) = doc.np_before(last, floor) {
                            if s.0 == floor {
                                cue = Some((last, last + 1));
                                speaker = Some(s);
                                lead_in = true;
                            }
                        }
                    }
                }
            }
            // 3. Any cue in the sentence (partial quotes).
            if cue.is_none() {
                // The sentence's main (first finite) cue with a speaker, else the nearest.
                let lo_i = cues.partition_point(|c| c.0 + 300 < reg.open);
                let hi_i = cues.partition_point(|c| c.1 <= reg.open).max(lo_i);
                let near = &cues[lo_i..hi_i];
                let main = near.iter().filter(|c| !toks[c.0].has(CUE_ING)).take(8).find_map(|&c| doc.speaker_of(c, sa, sb).map(|s| (c, s)));
                if let Some((c, s)) = main {
                    cue = Some(c);
                    speaker = Some(s);
                } else {
                    let pre = near.last();
                    let post = cues.get(hi_i).filter(|c| c.0 > reg.close && c.0 < reg.close + 300);
                    if let Some(&c) = pre.or(post) {
                        cue = Some(c);
                        speaker = doc.speaker_of(c, sa, sb);
                    }
                }
            }
            // Kind.
            let starts_sentence = first_textual >= reg.open;
            let full = ends_punct || first_ch.is_uppercase() && words >= 4;
            let mut kind = if (starts_sentence || lead_in) && (full || words >= 6) {
                QuoteKind::Direct
            } else {
                QuoteKind::Partial
            };
            if reg.no_open {
                kind = QuoteKind::Direct;
            }
            // Terms: short fragments used as names, not speech.
            let prev_word = before.last().filter(|&&i| i + 1 == reg.open).map(|&i| &toks[i]);
            let after_det = prev_word.is_some_and(|t| t.has(TERM_DET));
            let title_like = {
                let ws: Vec<&str> = text[ca..cb].split_whitespace().collect();
                !ws.is_empty() && ws.len() <= 8 && ws.iter().all(|w| w.chars().next().is_some_and(|c| c.is_uppercase() || !c.is_alphabetic()) || w.len() <= 3)
            };
            if kind == QuoteKind::Partial && !ends_punct && (words <= 4 && (after_det || cue.is_none()) || title_like && cue.is_none()) {
                kind = QuoteKind::Term;
            }
            // A show or a publication named where it was said ("told CNN’s “State of the
            // Union,”", "said on “Fox News Sunday.”"): a title, whatever cue is near.
            if kind != QuoteKind::Direct && title_like && words <= 5 && !text[ca..cb].contains(['!', '?']) {
                let on_or_possessive = prev_word.is_some_and(|t| {
                    let w = t.text(text);
                    w == "on" || w.ends_with("'s") || w.ends_with("’s")
                });
                if on_or_possessive {
                    kind = QuoteKind::Term;
                }
            }
            let mut conf = match kind {
                QuoteKind::Direct => 0.9,
                QuoteKind::Partial => 0.7,
                _ => 0.6,
            };
            if reg.recovered {
                conf -= 0.2;
            }
            if kind == QuoteKind::Term {
                cue = None;
                speaker = None;
            }
            out.push(Found {
                kind,
                content: (ca, cb),
                content_marked: marked,
                cue,
                speaker,
                continued: false,
                confidence: conf,
                sentence: si,
            });
        }
        // Indirect speech in the same sentence outside the quotes is left to the tagger.
    }
    continuation(doc, &mut out);
    out
}

/// A quote with no attribution of its own continues the previous speaker when nothing
/// but that quote's own sentence (or a paragraph break) intervenes.
pub(crate) fn continuation(doc: &Doc, out: &mut [Found]) {
    for i in 1..out.len() {
        if out[i].speaker.is_some() || out[i].kind == QuoteKind::Term || out[i].kind == QuoteKind::Indirect {
            continue;
        }
        // Find the previous speech quote.
        let mut p = i;
        while p > 0 {
            p -= 1;
            if out[p].kind != QuoteKind::Term {
                break;
            }
        }
        let prev = out[p].clone();
        if prev.speaker.is_none() || prev.kind == QuoteKind::Term || prev.kind == QuoteKind::Indirect {
            continue;
        }
        // Same sentence, or the next one (optionally across a paragraph break).
        let gap_ok = out[i].sentence == prev.sentence || out[i].sentence == prev.sentence + 1 && out[i].kind == QuoteKind::Direct;
        if !gap_ok {
            continue;
        }
        // The current quote must start its sentence.
        let (sa, _) = doc.sents[out[i].sentence];
        let starts = (sa..doc.toks.len()).find(|&k| doc.toks[k].kind != Kind::Para).is_some_and(|k| doc.toks[k].start as usize >= out[i].content_marked.0 || out[i].sentence == prev.sentence);
        if !starts {
            continue;
        }
        out[i].speaker = prev.speaker;
        out[i].continued = true;
        if out[i].sentence == prev.sentence {
            out[i].cue = prev.cue;
        }
        out[i].confidence = (prev.confidence - 0.1).max(0.3);
    }
}

/// Indirect speech in a sentence without quote marks: "X said (that) ...", "..., X said.",
/// "according to X, ...", "..., according to X."
fn indirect(doc: &Doc, si: usize, sa: usize, sb: usize, cues: &[(usize, usize)]) -> Option<Found> {
    let toks = &doc.toks;
    let mut end = sb;
    while end > sa && (toks[end - 1].kind == Kind::Para || toks[end - 1].kind == Kind::Punct && matches!(toks[end - 1].ch, '.' | '!' | '?' | '…')) {
        end -= 1;
    }
    if end <= sa + 2 {
        return None;
    }
    for &c in cues {
        let t = &toks[c.0];
        if t.has(CUE_ING) {
            continue;
        }
        let according = c.1 - c.0 == 2;
        let speaker = doc.speaker_of(c, sa, sb)?;
        let (ca, cb);
        if according {
            if c.0 == sa || (c.0 == sa + 1 && toks[sa].has(FUNC)) {
                // "According to X, content."
                let mut k = speaker.1;
                if k < end && toks[k].is_punct(',') {
                    k += 1;
                }
                if k >= end {
                    return None;
                }
                ca = toks[k].start as usize;
                cb = toks[end - 1].end as usize;
            } else if c.0 > sa + 2 && toks[c.0 - 1].is_punct(',') && speaker.1 >= end {
                ca = toks[sa].start as usize;
                cb = toks[c.0 - 2].end as usize;
            } else {
                continue;
            }
        } else if speaker.1 <= c.0 {
            // "X said (that) content" or "content, X said."
            if speaker.0 > sa + 2 && toks[speaker.0 - 1].is_punct(',') && c.1 + 3 >= end {
                ca = toks[sa].start as usize;
                cb = toks[speaker.0 - 2].end as usize;
            } else {
                let mut k = c.1;
                let w = doc.word(c.0).to_ascii_lowercase();
                if matches!(w.as_str(), "told" | "tells" | "tell" | "telling" | "informed" | "assured" | "warned") {
                    if let Some(o) = doc.np_after(k, end) {
                        k = o.1;
                    }
                }
                // Skip a time phrase right after the cue ("on Tuesday").
                while k + 1 < end && doc.word(k).eq_ignore_ascii_case("on") && toks[k + 1].has(TIMEWORD) {
                    k += 2;
                }
                if k < end && toks[k].is_punct(',') {
                    k += 1;
                }
                if k >= end || end - k < 3 {
                    continue;
                }
                if !toks[k].is_word() {
                    continue;
                }
                ca = toks[k].start as usize;
                cb = toks[end - 1].end as usize;
            }
        } else {
            // Inverted "..., said X."
            if c.0 > sa + 2 && toks[c.0 - 1].is_punct(',') {
                ca = toks[sa].start as usize;
                cb = toks[c.0 - 2].end as usize;
            } else {
                continue;
            }
        }
        if cb <= ca {
            continue;
        }
        return Some(Found {
            kind: QuoteKind::Indirect,
            content: (ca, cb),
            content_marked: (ca, cb),
            cue: Some(c),
            speaker: Some(speaker),
            continued: false,
            confidence: 0.6,
            sentence: si,
        });
    }
    None
}
