//! Tokens, quote-mark pairing and sentence boundaries: the layer every quote rule and the
//! tagger read. One pass over the text, no allocation per token beyond the token vector.
//!
//! Quote marks are paired per paragraph. Apostrophes (including ‘ misused inside words, as in
//! "we‘re") are part of words, never marks. The multi-paragraph convention (an opening mark on
//! each paragraph, a closing mark on the last) gives one region; a mark left open at the end
//! of a paragraph is closed there, and a stray closing mark with no opener is recovered from
//! the last colon or the paragraph start.

use super::lexicon::{self, lexicon};

/// First letter is uppercase.
pub const CAP: u32 = 1 << 24;
/// Every letter is uppercase (and there are at least two).
pub const ALLCAPS: u32 = 1 << 25;
/// Contains a digit.
pub const DIGIT: u32 = 1 << 26;
/// Not capitalised but holds an uppercase letter ("then-NATO", "iPhone").
pub const INNERCAP: u32 = 1 << 27;

/// What a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Letters and digits (with inner apostrophes, hyphens, dots).
    Word,
    /// One punctuation character (or `--`).
    Punct,
    /// A quote mark (double or single, any style).
    Quote,
    /// A line break: paragraph boundary.
    Para,
}

/// One token: a byte range of the text.
#[derive(Debug, Clone, Copy)]
pub struct Tok {
    /// First byte.
    pub start: u32,
    /// One past the last byte.
    pub end: u32,
    /// What it is.
    pub kind: Kind,
    /// The first character (punctuation and marks).
    pub ch: char,
    /// Lexicon flags plus [`CAP`], [`ALLCAPS`], [`DIGIT`].
    pub flags: u32,
    /// [`lexicon::word_hash`] of words; 0 otherwise.
    pub hash: u64,
}

impl Tok {
    /// The token's text.
    #[inline]
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start as usize..self.end as usize]
    }
    /// True for a word token.
    #[inline]
    pub fn is_word(&self) -> bool {
        self.kind == Kind::Word
    }
    /// True when any of `f` is set.
    #[inline]
    pub fn has(&self, f: u32) -> bool {
        self.flags & f != 0
    }
    /// True for punctuation `c`.
    #[inline]
    pub fn is_punct(&self, c: char) -> bool {
        self.kind == Kind::Punct && self.ch == c
    }
}

#[inline]
fn is_apostrophe_char(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | 'ʼ' | '`')
}

/// True for every character treated as a quote mark.
#[inline]
pub fn is_quote_char(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '‟' | '«' | '»' | '‘' | '’' | '\'' | '‚' | '‹' | '›' | '「' | '」' | '『' | '』')
}

/// True for double quote marks (guillemets included).
#[inline]
pub fn is_double(c: char) -> bool {
    matches!(c, '"' | '“' | '”' | '„' | '‟' | '«' | '»' | '「' | '」' | '『' | '』')
}

/// Splits `text` into tokens.
pub fn tokenize(text: &str) -> Vec<Tok> {
    let lx = lexicon();
    let bytes = text.as_bytes();
    let mut toks: Vec<Tok> = Vec::with_capacity(text.len() / 5 + 4);
    let mut i = 0usize;
    let n = bytes.len();
    let char_at = |i: usize| -> Option<char> { text.get(i..).and_then(|s| s.chars().next()) };
    while i < n {
        let b = bytes[i];
        if b < 0x80 {
            let c = b as char;
            if c == '\n' {
                if !matches!(toks.last(), Some(t) if t.kind == Kind::Para) {
                    toks.push(Tok { start: i as u32, end: i as u32 + 1, kind: Kind::Para, ch: '\n', flags: 0, hash: 0 });
                }
                i += 1;
                continue;
            }
            if c.is_ascii_whitespace() || c.is_ascii_control() {
                i += 1;
                continue;
            }
            if c.is_ascii_alphanumeric() {
                i = word(text, i, &mut toks, lx);
                continue;
            }
            if c == '<' {
                if let Some(end) = markup_tag_end(bytes, i) {
                    i = end;
                    continue;
                }
            }
            // '' after a letter inside a word is handled by `word`; here it is a mark.
            if c == '-' && bytes.get(i + 1) == Some(&b'-') {
                toks.push(Tok { start: i as u32, end: i as u32 + 2, kind: Kind::Punct, ch: '—', flags: 0, hash: 0 });
                i += 2;
                continue;
            }
            // Typewriter doubles: ''quoted'' and ``quoted'' are double marks.
            if (c == '\'' || c == '`') && bytes.get(i + 1) == Some(&b) {
                toks.push(Tok { start: i as u32, end: i as u32 + 2, kind: Kind::Quote, ch: '"', flags: 0, hash: 0 });
                i += 2;
                continue;
            }
            let kind = if c == '"' || c == '\'' { Kind::Quote } else { Kind::Punct };
            toks.push(Tok { start: i as u32, end: i as u32 + 1, kind, ch: c, flags: 0, hash: 0 });
            i += 1;
            continue;
        }
        let c = match char_at(i) {
            Some(c) => c,
            None => {
                i += 1;
                continue;
            }
        };
        let l = c.len_utf8();
        if c.is_alphanumeric() {
            i = word(text, i, &mut toks, lx);
            continue;
        }
        if c.is_whitespace() {
            if (c == '\u{2028}' || c == '\u{2029}') && !matches!(toks.last(), Some(t) if t.kind == Kind::Para) {
                toks.push(Tok { start: i as u32, end: (i + l) as u32, kind: Kind::Para, ch: '\n', flags: 0, hash: 0 });
            }
            i += l;
            continue;
        }
        let kind = if is_quote_char(c) { Kind::Quote } else { Kind::Punct };
        if kind == Kind::Punct && (c.is_control() || c == '\u{200b}' || c == '\u{feff}') {
            i += l;
            continue;
        }
        toks.push(Tok { start: i as u32, end: (i + l) as u32, kind, ch: c, flags: 0, hash: 0 });
        i += l;
    }
    toks
}

/// The longest markup tag the tokenizer steps over.
const MAX_TAG: usize = 2048;

/// When a markup tag (`<p>`, `</tweet>`, `<tweet author="X" id="1">`, `<br/>`) starts at byte
/// `i`, the byte after its `>`. Tags left in scraped or exported text (an embedded post's
/// wrapper, a stray `<br>`) are not prose: their names are not words and the marks around
/// their attribute values are not quote marks, so the tokenizer steps over them. A tag is
/// `<`, an optional `/`, a letter, then name characters, then `>`, `/>` or attributes up to
/// `>`, all on one line; anything else (`a < b`, `<john@example.com>`) stays text.
fn markup_tag_end(bytes: &[u8], i: usize) -> Option<usize> {
    let mut j = i + 1;
    if bytes.get(j) == Some(&b'/') {
        j += 1;
    }
    if !bytes.get(j)?.is_ascii_alphabetic() {
        return None;
    }
    while bytes.get(j).is_some_and(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b':' | b'_')) {
        j += 1;
    }
    match *bytes.get(j)? {
        b'>' => return Some(j + 1),
        b'/' if bytes.get(j + 1) == Some(&b'>') => return Some(j + 2),
        b' ' | b'\t' => {}
        _ => return None,
    }
    let limit = bytes.len().min(i + MAX_TAG);
    let mut quote: Option<u8> = None;
    while j < limit {
        let b = bytes[j];
        match quote {
            Some(q) if b == q => quote = None,
            Some(_) => {}
            None if b == b'"' || b == b'\'' => quote = Some(b),
            None if b == b'>' => return Some(j + 1),
            None if b == b'<' => return None,
            None => {}
        }
        if b == b'\n' {
            return None;
        }
        j += 1;
    }
    None
}

/// Reads one word starting at `i`; returns the byte after it.
fn word(text: &str, start: usize, toks: &mut Vec<Tok>, lx: &lexicon::Lexicon) -> usize {
    let bytes = text.as_bytes();
    let n = bytes.len();
    let mut i = start;
    let mut upper = 0u32;
    let mut lower = 0u32;
    let mut digit = false;
    let mut first_upper = false;
    let mut first = true;
    let mut has_dot = false;
    loop {
        // ASCII letters and digits in bulk.
        while i < n {
            let b = bytes[i];
            if b.is_ascii_lowercase() {
                lower += 1;
            } else if b.is_ascii_uppercase() {
                upper += 1;
                if first {
                    first_upper = true;
                }
            } else if b.is_ascii_digit() {
                digit = true;
            } else {
                break;
            }
            first = false;
            i += 1;
        }
        if i >= n {
            break;
        }
        let b = bytes[i];
        let (c, l) = if b < 0x80 {
            (b as char, 1)
        } else {
            match text[i..].chars().next() {
                Some(c) => (c, c.len_utf8()),
                None => break,
            }
        };
        if c.is_alphanumeric() {
            if c.is_uppercase() {
                upper += 1;
                if first {
                    first_upper = true;
                }
            } else if c.is_lowercase() {
                lower += 1;
            } else if c.is_ascii_digit() {
                digit = true;
            }
            first = false;
            i += l;
            continue;
        }
        // Inner joiners: apostrophes, hyphens, dots, commas in numbers, ampersand.
        if matches!(c, '-' | '.' | ',' | '&' | '/') || is_apostrophe_char(c) {
            let next = text.get(i + l..).and_then(|s| s.chars().next());
            let ok = match next {
                Some(nc) if nc.is_alphanumeric() => match c {
                    ',' => digit && nc.is_ascii_digit(),
                    '/' => digit && nc.is_ascii_digit(),
                    '.' => {
                        // U.S. / 3.5 / e.g. ; not "end.Next" unless single letters.
                        let prev_seg = text[start..i].rsplit(['.', '-']).next().unwrap_or("");
                        (digit && nc.is_ascii_digit()) || prev_seg.chars().count() <= 2
                    }
                    _ => true,
                },
                _ => false,
            };
            if ok {
                if c == '.' {
                    has_dot = true;
                }
                i += l;
                continue;
            }
        }
        break;
    }
    // A final period belongs to abbreviations and initials.
    let w = &text[start..i];
    if i < n && bytes[i] == b'.' {
        let single_initial = w.chars().count() == 1 && first_upper;
        if single_initial || has_dot && w.split(['.', '-']).all(|s| s.chars().count() <= 2) || lx.flags(w) & lexicon::ABBREV != 0 {
            i += 1;
        }
    }
    let w = &text[start..i];
    let hash = lexicon::word_hash(w);
    let mut flags = if w.len() <= 40 { lx.flags_hash(hash) } else { 0 };
    if first_upper {
        flags |= CAP;
    }
    if upper >= 2 && lower == 0 {
        flags |= ALLCAPS;
    }
    if digit {
        flags |= DIGIT;
    }
    if !first_upper && upper > 0 {
        flags |= INNERCAP;
    }
    toks.push(Tok { start: start as u32, end: i as u32, kind: Kind::Word, ch: ' ', flags, hash });
    i
}

/// A quoted region: token indices of its marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Region {
    /// Token index of the opening mark (or of the first token when recovered without one).
    pub open: usize,
    /// Token index of the closing mark, or of the token that ends the region when recovered
    /// (a paragraph break or the end of the text: then `close == toks.len()`).
    pub close: usize,
    /// Byte range of what is inside the marks.
    pub content: (usize, usize),
    /// True when a mark was missing and the region was recovered.
    pub recovered: bool,
    /// True when there is no opening mark token (recovered from a stray closer).
    pub no_open: bool,
}

#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Role {
    Open,
    Close,
    Either,
}

fn space_like(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c.is_whitespace() || matches!(c, '(' | '[' | '{' | '—' | '–' | '-' | '/' | '>' | '<'),
    }
}

fn closing_context(c: Option<char>) -> bool {
    match c {
        None => true,
        Some(c) => c.is_whitespace() || matches!(c, ',' | '.' | ';' | ':' | '!' | '?' | ')' | ']' | '}' | '—' | '–' | '-' | '<' | '…'),
    }
}

fn role_of(text: &str, t: &Tok) -> Role {
    let before = text[..t.start as usize].chars().next_back();
    let after = text[t.end as usize..].chars().next();
    let ls = space_like(before) || before.is_some_and(is_quote_char);
    let rs = closing_context(after) || after.is_some_and(is_quote_char);
    match t.ch {
        '„' | '«' | '‚' | '‹' | '「' | '『' => Role::Open,
        '»' | '›' | '」' | '』' => Role::Close,
        '“' => {
            if !ls && rs {
                Role::Close
            } else {
                Role::Open
            }
        }
        '”' => {
            if ls && !rs {
                Role::Open
            } else {
                Role::Close
            }
        }
        _ => {
            if ls && !rs {
                Role::Open
            } else if !ls && rs {
                Role::Close
            } else {
                Role::Either
            }
        }
    }
}

/// Pairs quote marks into regions (sorted, non-overlapping, outermost only).
pub fn regions(text: &str, toks: &[Tok]) -> Vec<Region> {
    let mut out: Vec<Region> = Vec::new();
    // Paragraph ranges in token indices.
    let mut paras: Vec<(usize, usize)> = Vec::new();
    let mut s = 0;
    for (i, t) in toks.iter().enumerate() {
        if t.kind == Kind::Para {
            if i > s {
                paras.push((s, i));
            }
            s = i + 1;
        }
    }
    if toks.len() > s {
        paras.push((s, toks.len()));
    }
    // Doubles, with nesting of other mark families and multi-paragraph continuation.
    // The stack holds (token, family); only outermost pairs become regions.
    let mut stack: Vec<(usize, u8)> = Vec::new();
    let mut inner: Vec<Region> = Vec::new();
    let mut pi = 0;
    while pi < paras.len() {
        let (a, b) = paras[pi];
        let mut k = a;
        while k < b {
            let t = &toks[k];
            if t.kind == Kind::Quote && is_double(t.ch) {
                let role = role_of(text, t);
                let fam = family(t.ch);
                let target = if role == Role::Open {
                    None
                } else {
                    stack.iter().rposition(|&(_, f)| closes_family(t.ch, f)).or_else(|| {
                        // Straight and curly marks mixed in one pair ("“...," he said"): a
                        // mark that can only close ends the one quote left open.
                        // Not when the next mark of either style closes the quote in its own
                        // style ("“A 6" pipe burst,” he said").
                        let f = stack.first().map_or(0, |s| s.1);
                        let own_close_later = toks[k + 1..b]
                            .iter()
                            .filter(|x| x.kind == Kind::Quote)
                            .find(|x| family(x.ch) == fam || closes_family(x.ch, f))
                            .is_some_and(|x| family(x.ch) != fam && role_of(text, x) != Role::Open);
                        (role == Role::Close && stack.len() == 1 && mixes_with(t.ch, f) && !own_close_later).then_some(0)
                    })
                };
                if let Some(depth) = target {
                    let (o, _) = stack[depth];
                    stack.truncate(depth);
                    if stack.is_empty() {
                        out.push(Region { open: o, close: k, content: (toks[o].end as usize, t.start as usize), recovered: depth > 0, no_open: false });
                        inner.clear();
                    } else if depth == 1 {
                        // A balanced pair right under an opener not yet closed: the region
                        // if that opener turns out to be a stray mark.
                        inner.push(Region { open: o, close: k, content: (toks[o].end as usize, t.start as usize), recovered: false, no_open: false });
                    }
                } else if role == Role::Close && stack.is_empty() {
                    // Stray closer: recover from the last colon in the paragraph (outside
                    // earlier regions) or from the paragraph start.
                    let floor = out.last().map(|r| r.close + 1).unwrap_or(0).max(a);
                    let mut from = floor;
                    for j in (floor..k).rev() {
                        if toks[j].is_punct(':') {
                            from = j + 1;
                            break;
                        }
                    }
                    if from < k && toks[k].start as usize - toks[from].start as usize <= 1500 {
                        out.push(Region { open: from, close: k, content: (toks[from].start as usize, t.start as usize), recovered: true, no_open: true });
                    }
                } else if role != Role::Close {
                    if stack.last().is_some_and(|&(_, f)| f == fam) {
                        // The same family cannot nest: the earlier quote was never closed.
                        let (o, _) = stack[0];
                        if stack.len() == 1 && k > o + 1 {
                            out.push(Region { open: o, close: k, content: (toks[o].end as usize, toks[k - 1].end as usize), recovered: true, no_open: false });
                            stack.clear();
                            inner.clear();
                        } else {
                            stack.pop();
                        }
                    }
                    stack.push((k, fam));
                }
            }
            k += 1;
        }
        if let Some(&(o, fam)) = stack.first() {
            // Multi-paragraph convention: the next paragraph opens with a mark.
            let cont = continues(text, toks, &paras[pi + 1..], fam);
            stack.truncate(1);
            if cont {
                let (na, nb) = paras[pi + 1];
                paras[pi + 1] = (na + 1, nb);
                pi += 1;
                continue;
            }
            // Recover at the paragraph boundary; but an opener whose paragraph holds
            // balanced pairs of its own is the stray mark, and those pairs are the quotes.
            let last = b - 1;
            if !inner.is_empty() {
                out.append(&mut inner);
            } else if last > o {
                out.push(Region { open: o, close: b, content: (toks[o].end as usize, toks[last].end as usize), recovered: true, no_open: false });
            }
            stack.clear();
        }
        pi += 1;
    }
    // Singles at top level, paired per paragraph.
    let mut singles: Vec<Region> = Vec::new();
    for &(a, b) in &paras {
        let mut o: Option<usize> = None;
        let mut ri = out.partition_point(|r| r.close < a);
        let mut k = a;
        while k < b {
            while ri < out.len() && out[ri].close < k {
                ri += 1;
            }
            let inside = ri < out.len() && out[ri].open <= k && k <= out[ri].close;
            let t = &toks[k];
            if !inside && t.kind == Kind::Quote && !is_double(t.ch) {
                let role = role_of(text, t);
                match o {
                    None => {
                        if role == Role::Open && t.ch != '’' {
                            o = Some(k);
                        }
                    }
                    Some(oo) => {
                        if role == Role::Close && t.ch != '‘' {
                            singles.push(Region {
                                open: oo,
                                close: k,
                                content: (toks[oo].end as usize, t.start as usize),
                                recovered: false,
                                no_open: false,
                            });
                            o = None;
                        }
                    }
                }
            }
            k += 1;
        }
    }
    if !singles.is_empty() {
        out.extend(singles);
        out.sort_by_key(|r| (r.open, std::cmp::Reverse(r.close)));
        let mut kept: Vec<Region> = Vec::with_capacity(out.len());
        for r in out {
            if let Some(l) = kept.last() {
                if r.open <= l.close {
                    continue;
                }
            }
            kept.push(r);
        }
        out = kept;
    }
    // A transcript's speaker label ("WALLACE:") opening a quote is not what was said.
    for r in out.iter_mut() {
        if let Some(after) = speaker_label_end(text, toks, r.open + 1, r.close) {
            if after < r.close {
                r.content.0 = r.content.0.max(toks[after].start as usize);
            }
        }
    }
    // Drop empty regions.
    out.retain(|r| r.content.1 > r.content.0);
    out
}

/// When tokens from `j` read as a speaker label (one to four capitalised words, no lower-case
/// letters, then a colon: "WALLACE:", "MR. SMITH:"), the index of the token after the colon.
fn speaker_label_end(text: &str, toks: &[Tok], j: usize, end: usize) -> Option<usize> {
    let mut caps = 0;
    let mut k = j;
    while k < end && k < j + 6 {
        let t = &toks[k];
        if t.is_word() {
            if t.text(text).chars().any(|c| c.is_lowercase()) || caps == 4 {
                return None;
            }
            caps += 1;
        } else if t.is_punct(':') {
            return (caps > 0).then_some(k + 1);
        } else if !t.is_punct('.') {
            return None;
        }
        k += 1;
    }
    None
}

/// Under the multi-paragraph convention, whether a quote left open at the end of a paragraph
/// goes on into `next[0]`: that paragraph opens with a mark, does not open with a speaker label
/// (a transcript's "WALLACE:"), and the chain of such paragraphs ends in a closing mark. A
/// chain that never closes is unbalanced marks, recovered paragraph by paragraph instead of
/// swallowing the rest of the article.
fn continues(text: &str, toks: &[Tok], next: &[(usize, usize)], fam: u8) -> bool {
    let opens = |a: usize, b: usize| {
        let t = &toks[a];
        a < b && t.kind == Kind::Quote && family(t.ch) == fam && role_of(text, t) != Role::Close
    };
    let Some(&(na, nb)) = next.first() else { return false };
    if !opens(na, nb) {
        return false;
    }
    // "WALLACE:" or "MR. SMITH:" right after the mark: a new speaker, a new quote.
    if speaker_label_end(text, toks, na + 1, nb).is_some() {
        return false;
    }
    for &(a, b) in next {
        if !opens(a, b) {
            return false;
        }
        if toks[a + 1..b].iter().any(|t| t.kind == Kind::Quote && closes_family(t.ch, fam) && role_of(text, t) != Role::Open) {
            return true;
        }
    }
    false
}

/// Sentence boundaries outside quotes: `ends[i]` is true when token `i` ends a sentence.
/// Tokens inside a region never end a sentence, except a region whose content ends with a
/// period and that is followed by a capitalised word not starting an attribution.
pub fn sentence_ends(text: &str, toks: &[Tok], regs: &[Region]) -> Vec<bool> {
    let _ = text;
    let n = toks.len();
    let mut ends = vec![false; n];
    let mut inside = vec![false; n];
    for r in regs {
        let lo = r.open.min(n);
        let hi = r.close.min(n);
        for x in inside.iter_mut().take(hi).skip(lo + usize::from(!r.no_open)) {
            *x = true;
        }
    }
    for i in 0..n {
        let t = &toks[i];
        if inside[i] {
            continue;
        }
        if t.kind == Kind::Para {
            ends[i] = true;
            continue;
        }
        if t.kind == Kind::Punct && matches!(t.ch, '.' | '!' | '?' | '…') {
            // Next token that is not a mark.
            let mut j = i + 1;
            while j < n && toks[j].kind == Kind::Quote && !opens_region(regs, j) {
                j += 1;
            }
            // A closing bracket goes with what follows it: "(D-N.C.), head of" goes on.
            let mut k = j;
            while k < n && (toks[k].is_punct(')') || toks[k].is_punct(']')) {
                k += 1;
            }
            let next_ok = k >= n || {
                let u = &toks[k];
                u.kind == Kind::Para || u.kind == Kind::Quote || (u.is_word() && (u.has(CAP) || u.has(DIGIT))) || u.kind == Kind::Punct && !matches!(u.ch, ',' | ';' | ':')
            };
            if next_ok {
                ends[(k.max(i + 1) - 1).min(n - 1)] = true;
            }
        }
    }
    // Regions whose content ends a sentence: “... .” Next sentence.
    for r in regs {
        if r.no_open || r.close >= n || toks[r.close].kind != Kind::Quote {
            continue;
        }
        let c = r.close;
        if c == 0 || !toks[c - 1].is_punct('.') {
            continue;
        }
        let j = c + 1;
        if j >= n {
            ends[c] = true;
            continue;
        }
        let u = &toks[j];
        let starts_attr = u.is_word() && {
            // A cue within the next four words, with no punctuation before it, means the
            // attribution follows ("Trump said").
            // A cue word right after a determiner is a noun ("The pledge, delivered ...").
            let w = &toks[j..n.min(j + 5)];
            let w = &w[..w.iter().position(|t| t.kind == Kind::Punct).unwrap_or(w.len())];
            (0..w.len()).any(|k| w[k].has(lexicon::CUE) && !(k > 0 && w[k - 1].has(lexicon::DET)))
        };
        if (u.kind == Kind::Quote || (u.is_word() && u.has(CAP))) && !starts_attr {
            ends[c] = true;
        }
    }
    ends
}

/// Mark families: straight, curly, low-9, guillemet, corner.
fn family(c: char) -> u8 {
    match c {
        '"' => 0,
        '“' | '”' | '‟' => 1,
        '„' => 2,
        '«' | '»' => 3,
        _ => 4,
    }
}

/// Whether mark `c` can close an opener of family `f`.
fn closes_family(c: char, f: u8) -> bool {
    match f {
        0 => c == '"',
        1 => c == '”' || c == '“',
        2 => c == '“' || c == '”',
        3 => c == '»' || c == '«',
        _ => c == '」' || c == '』',
    }
}

/// Whether `c` may close an opener of family `f` of the other Latin double style: straight
/// and curly marks, mixed by editing or by a keyboard's substitution.
fn mixes_with(c: char, f: u8) -> bool {
    matches!((c, f), ('"', 1) | ('”', 0) | ('“', 0))
}

fn opens_region(regs: &[Region], j: usize) -> bool {
    regs.binary_search_by_key(&j, |r| r.open).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn quotes(text: &str) -> Vec<String> {
        let t = tokenize(text);
        regions(text, &t).iter().map(|r| text[r.content.0..r.content.1].to_string()).collect()
    }

    #[test]
    fn markup_tags_are_stepped_over_and_other_angle_brackets_stay() {
        let t = "<tweet pic=\"\" author=\"JebBush\" id='1'>Praying for the victims.</tweet>.\n<p>He said “yes.”<br/> Mail <john@example.com> if a < b or a <b.";
        let w: Vec<&str> = tokenize(t).iter().map(|x| x.text(t)).collect();
        assert_eq!(w, vec!["Praying", "for", "the", "victims", ".", ".", "\n", "He", "said", "“", "yes", ".", "”", "Mail", "<", "john", "@", "example", ".", "com", ">", "if", "a", "<", "b", "or", "a", "<", "b", "."]);
        assert_eq!(quotes(t), vec!["yes."]);
        // A tag left open at the end of a line is text.
        let t = "<tweet author=\"X\"\nHe said “no.”";
        assert!(tokenize(t).iter().any(|x| x.text(t) == "tweet"));
    }

    #[test]
    fn apostrophes_are_words() {
        let t = "“Well, we‘re going to work with Ukraine. We‘re going,” Trump‘s aide said.";
        assert_eq!(quotes(t), vec!["Well, we‘re going to work with Ukraine. We‘re going,"]);
        let toks = tokenize("Trump‘s U.S. Sen. Cruz");
        let w: Vec<&str> = toks.iter().map(|x| x.text("Trump‘s U.S. Sen. Cruz")).collect();
        assert_eq!(w, vec!["Trump‘s", "U.S.", "Sen.", "Cruz"]);
    }

    #[test]
    fn every_style() {
        assert_eq!(quotes("He said \"yes, sir\" and left."), vec!["yes, sir"]);
        assert_eq!(quotes("Il a dit « oui » hier."), vec![" oui "]);
        assert_eq!(quotes("Er sagte „ja“ gestern."), vec!["ja"]);
        assert_eq!(quotes("She said ‘no way’ twice."), vec!["no way"]);
        assert_eq!(quotes("She said 'no way' twice, in the voters' view."), vec!["no way"]);
        assert_eq!(quotes("“He said ‘never’ to me,” she said."), vec!["He said ‘never’ to me,"]);
        assert_eq!(quotes("''It isn't reform,'' he said. ``Nor is it,'' she said."), vec!["It isn't reform,", "Nor is it,"]);
    }

    #[test]
    fn straight_and_curly_marks_mixed_in_one_pair() {
        let t = "“We will win,\" Smith said. \"And soon.” He left.";
        assert_eq!(quotes(t), vec!["We will win,", "And soon."]);
        // A mark of the other style inside a quote that closes in its own style is content.
        assert_eq!(quotes("“A 6\" pipe burst,” he said."), vec!["A 6\" pipe burst,"]);
        assert_eq!(quotes("He said \"yes\" and “no” today."), vec!["yes", "no"]);
    }

    #[test]
    fn multi_paragraph_chain_must_close_and_stops_at_speaker_labels() {
        // every paragraph opens with a mark, none closes: per-paragraph recovery
        let t = "“First never closed.\n“Second never closed.\n“Third never closed.\nAfter.";
        assert_eq!(quotes(t), vec!["First never closed.", "Second never closed.", "Third never closed."]);
        // a transcript: each paragraph is its own quote
        let t = "\"WALLACE: Why would he do that?\n\"PENCE: Well, look.\n\"That is all.\"";
        let q = quotes(t);
        assert_eq!(q.len(), 2, "{q:?}");
        assert_eq!(q, vec!["Why would he do that?", "Well, look.\n\"That is all."]);
    }

    #[test]
    fn multi_paragraph_and_recovery() {
        let t = "“First paragraph.\n“Second paragraph.”\nNext.";
        assert_eq!(quotes(t), vec!["First paragraph.\n“Second paragraph."]);
        let t = "“Never closed here.\nThe reporter goes on. “Fine,” she said.";
        assert_eq!(quotes(t), vec!["Never closed here.", "Fine,"]);
        let t = "The White House: U.S. troops won’t be there. But we can help” https://t.co/x";
        assert_eq!(quotes(t), vec!["U.S. troops won’t be there. But we can help"]);
    }

    /// A quote that closes its sentence ends it when the next words are no attribution,
    /// even if one of them is a cue word used as a noun ("The pledge").
    #[test]
    fn a_closed_quote_ends_its_sentence_before_a_cue_noun() {
        let t = "He told Fox News, “You have my assurance.” The pledge, delivered later, ends it. “Yes.” Trump said it.";
        let toks = tokenize(t);
        let ends = sentence_ends(t, &toks, &regions(t, &toks));
        let at: Vec<&str> = (0..toks.len()).filter(|&i| ends[i]).map(|i| toks[i].text(t)).collect();
        assert_eq!(at, vec!["”", ".", "."]);
    }

    #[test]
    fn party_and_state_labels_do_not_end_sentences() {
        let t = "“Yes,” said Rep. Butterfield (D-N.C.), head of the caucus. Then (he left.) Next.";
        let toks = tokenize(t);
        assert!(toks.iter().any(|x| x.text(t) == "D-N.C."), "{:?}", toks.iter().map(|x| x.text(t)).collect::<Vec<_>>());
        let ends = sentence_ends(t, &toks, &regions(t, &toks));
        let at: Vec<&str> = (0..toks.len()).filter(|&i| ends[i]).map(|i| toks[i].text(t)).collect();
        assert_eq!(at, vec![".", ")", "."]);
    }

    #[test]
    fn a_chain_continues_only_in_the_family_of_its_opener() {
        // stray straight marks opening paragraphs: the curly quotes in them are the quotes (a
        // paragraph with none is recovered whole, as any unclosed quote is)
        let t = "\"She called it a “rant,” and more.\n\"Melanie went on.\n“It never crossed my mind,” she said.";
        assert_eq!(quotes(t), vec!["rant,", "Melanie went on.", "It never crossed my mind,"]);
        // a straight chain closed by a curly mark is not one quote
        let t = "\"First part.\n\"Second part.”\nAfter.";
        let q = quotes(t);
        assert_eq!((q.len(), q[0].as_str()), (2, "First part."), "{q:?}");
    }
}
