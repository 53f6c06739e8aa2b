//! Tokenizer and sentence splitter for news text.
//!
//! The entity tagger was trained on CoNLL-style tokens (possessive `'s` split off, hyphenated
//! words kept whole, punctuation separate), so raw reports are cut the same way here. The
//! tokenizer works on byte offsets into the original text and never allocates per token; the
//! quote stage may reuse it, so it is a small self-contained public API:
//!
//! * [`tokenize`] / [`tokenize_into`]: tokens with byte spans and a coarse [`TokenKind`];
//! * [`sentences`]: sentence ranges over those tokens;
//! * [`normalize_token`]: the ASCII form of a token's text (curly quotes and apostrophes, dashes).
//!
//! It knows about abbreviations (U.S., D.C., Gen., Sen., Jan.), initials, curly and straight
//! quotes and apostrophes (including ‘ misused for ’), em and en dashes, possessives
//! ("Trump’s" -> "Trump" + "’s"), contractions, hyphenated names, URLs, handles and e-mail
//! addresses.

use std::borrow::Cow;
use std::ops::Range;

/// What a token is, coarsely.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TokenKind {
    /// Letters (possibly with digits, hyphens, inner periods as in "U.S.", or an apostrophe).
    Word,
    /// Digits, possibly with separators ("25,000", "3.5", "10:30", "1996-08-22").
    Number,
    /// A clitic split off a word: possessive "’s", "n't", "'re", "'ll", ...
    Clitic,
    /// Punctuation, quotes, dashes and symbols.
    Punct,
    /// `http://...`, `https://...`, `www....`
    Url,
    /// `name@host.tld`
    Email,
    /// `@handle` or `#hashtag`
    Handle,
}

/// One token: a byte range into the text and its kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Token {
    /// First byte.
    pub start: usize,
    /// One past the last byte.
    pub end: usize,
    /// Coarse kind.
    pub kind: TokenKind,
}

impl Token {
    /// The token's text.
    pub fn text<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }
}

/// Abbreviations that keep their final period (lower-cased, without the period).
const ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "sr", "jr", "st", "gen", "sen", "rep", "gov", "lt", "col",
    "maj", "capt", "cmdr", "adm", "sgt", "cpl", "pvt", "rev", "hon", "pres", "supt", "insp", "fr",
    "jan", "feb", "mar", "apr", "jun", "jul", "aug", "sep", "sept", "oct", "nov", "dec", "mon",
    "tue", "tues", "wed", "thu", "thur", "thurs", "fri", "sat", "sun", "inc", "corp", "co", "ltd",
    "llc", "plc", "bros", "dept", "univ", "assn", "ave", "blvd", "rd", "mt", "ft", "no", "nos",
    "vs", "v", "etc", "approx", "est", "e.g", "i.e", "a.m", "p.m", "ala", "ariz", "ark", "calif",
    "colo", "conn", "del", "fla", "ga", "ill", "ind", "kan", "kans", "ky", "la", "md", "mass",
    "mich", "minn", "miss", "mo", "mont", "neb", "nev", "okla", "ore", "pa", "penn", "tenn", "tex",
    "va", "vt", "wash", "wis", "wyo", "op", "cf", "fig", "vol", "pp", "ed", "eds",
];

/// Abbreviations that are titles: never end a sentence.
const TITLE_ABBREVIATIONS: &[&str] = &[
    "mr", "mrs", "ms", "dr", "prof", "gen", "sen", "rep", "gov", "lt", "col", "maj", "capt",
    "cmdr", "adm", "sgt", "cpl", "pvt", "rev", "hon", "pres", "supt", "insp", "fr", "st", "mt",
    "ft", "no", "vs", "v",
];

/// Prefixes split off a hyphenated word when the rest is a name ("then-NATO", "pro-Russian").
const SPLIT_PREFIXES: &[&str] = &[
    "then", "ex", "pro", "anti", "non", "post", "pre", "neo", "mid", "all", "un", "trans", "pan",
    "inter", "intra", "former",
];

fn is_apostrophe(c: char) -> bool {
    matches!(c, '\'' | '’' | '‘' | 'ʼ' | '`')
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '\u{0300}'..='\u{036f}')
}

fn lower_eq(s: &str, list: &[&str]) -> bool {
    if s.len() > 8 {
        return false;
    }
    let mut buf = [0u8; 8];
    for (i, b) in s.bytes().enumerate() {
        buf[i] = b.to_ascii_lowercase();
    }
    let l = &buf[..s.len()];
    list.iter().any(|a| a.as_bytes() == l)
}

/// Tokenizes `text` into a new vector.
pub fn tokenize(text: &str) -> Vec<Token> {
    let mut out = Vec::with_capacity(text.len() / 5 + 1);
    tokenize_into(text, &mut out);
    out
}

/// Tokenizes `text`, appending to `out` (cleared first), so a caller can reuse the buffer.
pub fn tokenize_into(text: &str, out: &mut Vec<Token>) {
    out.clear();
    let b = text.as_bytes();
    let n = b.len();
    let mut i = 0;
    while i < n {
        let c = match text[i..].chars().next() {
            Some(c) => c,
            None => break,
        };
        let cl = c.len_utf8();
        if c.is_whitespace() || c.is_control() || matches!(c, '\u{200b}' | '\u{feff}') {
            i += cl;
            continue;
        }
        // URLs.
        if starts_with_ci(&b[i..], b"http://") || starts_with_ci(&b[i..], b"https://") || starts_with_ci(&b[i..], b"www.") {
            let mut j = i;
            while j < n {
                let ch = text[j..].chars().next().unwrap_or(' ');
                if ch.is_whitespace() || matches!(ch, '"' | '“' | '”' | '<' | '>') {
                    break;
                }
                j += ch.len_utf8();
            }
            // Trailing punctuation belongs to the sentence, not the URL.
            while j > i + 4 && matches!(b[j - 1], b'.' | b',' | b')' | b';' | b':' | b'!' | b'?') {
                j -= 1;
            }
            out.push(Token { start: i, end: j, kind: TokenKind::Url });
            i = j;
            continue;
        }
        // Handles and hashtags.
        if (c == '@' || c == '#') && i + 1 < n {
            let j = scan_while(text, i + 1, |ch| ch.is_alphanumeric() || ch == '_');
            if j > i + 1 && (i == 0 || !is_word_char(prev_char(text, i))) {
                out.push(Token { start: i, end: j, kind: TokenKind::Handle });
                i = j;
                continue;
            }
        }
        if is_word_char(c) {
            i = scan_word(text, i, out);
            continue;
        }
        // A clitic right after an acronym or other word token: "U.S.’s".
        if is_apostrophe(c) && out.last().is_some_and(|t| t.end == i && t.kind == TokenKind::Word) {
            let k = i + cl;
            let e = scan_while(text, k, |ch| ch.is_alphabetic());
            if e > k && matches!(text[k..e].to_ascii_lowercase().as_str(), "s" | "re" | "ll" | "ve" | "m" | "d") {
                out.push(Token { start: i, end: e, kind: TokenKind::Clitic });
                i = e;
                continue;
            }
        }
        // Runs of the same punctuation: "...", "--", "!!".
        if matches!(c, '.' | '-' | '!' | '?' | '*' | '=' | '_') {
            let j = scan_while(text, i, |ch| ch == c);
            let j = if c == '.' || c == '-' || c == '=' || c == '_' || c == '*' { j } else { i + cl };
            out.push(Token { start: i, end: j, kind: TokenKind::Punct });
            i = j;
            continue;
        }
        // An apostrophe starting a clitic after a word that ended in a closing quote is rare;
        // elsewhere a lone apostrophe or quote is punctuation.
        out.push(Token { start: i, end: i + cl, kind: TokenKind::Punct });
        i += cl;
    }
}

fn starts_with_ci(hay: &[u8], needle: &[u8]) -> bool {
    hay.len() >= needle.len() && hay[..needle.len()].eq_ignore_ascii_case(needle)
}

fn prev_char(text: &str, i: usize) -> char {
    text[..i].chars().next_back().unwrap_or(' ')
}

fn char_at(text: &str, i: usize) -> Option<char> {
    text.get(i..).and_then(|s| s.chars().next())
}

fn scan_while(text: &str, mut i: usize, f: impl Fn(char) -> bool) -> usize {
    while let Some(c) = char_at(text, i) {
        if !f(c) {
            break;
        }
        i += c.len_utf8();
    }
    i
}

/// Scans the word (or number, e-mail) starting at `start`, pushes its token(s), returns the end.
fn scan_word(text: &str, start: usize, out: &mut Vec<Token>) -> usize {
    let first = char_at(text, start).unwrap_or(' ');
    // Numbers: digits joined by , . : / - when a digit follows.
    if first.is_ascii_digit() {
        let mut j = scan_while(text, start, |c| c.is_ascii_digit());
        while let Some(sep @ (',' | '.' | ':' | '/' | '-')) = char_at(text, j) {
            let k = j + sep.len_utf8();
            if !char_at(text, k).is_some_and(|c| c.is_ascii_digit()) {
                break;
            }
            j = scan_while(text, k, |c| c.is_ascii_digit());
        }
        // Glued letters: "2nd", "1990s", "5km", "F-16s" handled as words below.
        let k = scan_while(text, j, |c| c.is_alphabetic());
        if k > j {
            // ordinals and decades stay one token; units ("5km") are split.
            let suf = &text[j..k];
            if matches!(suf.to_ascii_lowercase().as_str(), "st" | "nd" | "rd" | "th" | "s") {
                j = k;
            }
        }
        out.push(Token { start, end: j, kind: TokenKind::Number });
        return j;
    }
    // E-mail: a run of non-space chars containing '@' followed by a dotted domain.
    {
        let j = scan_while(text, start, |c| c.is_alphanumeric() || matches!(c, '.' | '_' | '-' | '+' | '%'));
        if char_at(text, j) == Some('@') {
            let k = scan_while(text, j + 1, |c| c.is_alphanumeric() || matches!(c, '.' | '-'));
            let mut k2 = k;
            while k2 > j + 1 && text.as_bytes()[k2 - 1] == b'.' {
                k2 -= 1;
            }
            if text[j + 1..k2].contains('.') {
                out.push(Token { start, end: k2, kind: TokenKind::Email });
                return k2;
            }
        }
    }
    // Acronyms with periods: "U.S.", "D.C.", "U.K.", "e.g.", initials "J."
    {
        let mut j = start;
        let mut letters = 0;
        loop {
            let c = match char_at(text, j) {
                Some(c) if c.is_alphabetic() => c,
                _ => break,
            };
            let k = j + c.len_utf8();
            if char_at(text, k) != Some('.') {
                break;
            }
            // a single letter then '.'
            j = k + 1;
            letters += 1;
            // continue only if next is a single letter followed by '.'
            match char_at(text, j) {
                Some(c2) if c2.is_alphabetic() && char_at(text, j + c2.len_utf8()) == Some('.') => continue,
                _ => break,
            }
        }
        if letters >= 1 && j > start {
            let next = char_at(text, j);
            let glued_word = next.is_some_and(|c| c.is_alphabetic() && letters >= 2);
            let ends_letters = next.is_some_and(is_word_char);
            if letters >= 2 || !ends_letters {
                // "U.S.-led": the hyphen and the rest follow as their own tokens.
                let _ = glued_word;
                out.push(Token { start, end: j, kind: TokenKind::Word });
                return j;
            }
        }
    }
    // Ordinary word: letters/digits, inner hyphens, inner apostrophes (O'Brien, don't).
    let mut j = start;
    loop {
        j = scan_while(text, j, is_word_char);
        match char_at(text, j) {
            Some('-') | Some('‐') | Some('‑') => {
                let k = j + char_at(text, j).map(|c| c.len_utf8()).unwrap_or(1);
                if char_at(text, k).is_some_and(is_word_char) {
                    // split "then-NATO", "pro-Russian"
                    let prefix = &text[start..j];
                    let next_upper = char_at(text, k).is_some_and(|c| c.is_uppercase());
                    let prefix_lower = prefix.chars().all(|c| c.is_lowercase());
                    if next_upper && prefix_lower && lower_eq(prefix, SPLIT_PREFIXES) {
                        out.push(Token { start, end: j, kind: TokenKind::Word });
                        out.push(Token { start: j, end: k, kind: TokenKind::Punct });
                        return scan_word(text, k, out);
                    }
                    j = k;
                    continue;
                }
                break;
            }
            Some(a) if is_apostrophe(a) => {
                let k = j + a.len_utf8();
                let rest_end = scan_while(text, k, |c| c.is_alphabetic());
                let rest = &text[k..rest_end];
                let rest_is_word = rest_end > k && !char_at(text, rest_end).is_some_and(|c| c.is_numeric());
                if !rest_is_word {
                    break;
                }
                let rl = rest.to_ascii_lowercase();
                let word = &text[start..j];
                // n't: "don't" -> "do" + "n't"
                if rl == "t" && word.len() > 1 && word.ends_with(['n', 'N']) {
                    let nstart = j - 1;
                    out.push(Token { start, end: nstart, kind: TokenKind::Word });
                    out.push(Token { start: nstart, end: rest_end, kind: TokenKind::Clitic });
                    return rest_end;
                }
                if matches!(rl.as_str(), "s" | "re" | "ll" | "ve" | "m" | "d") {
                    out.push(Token { start, end: j, kind: TokenKind::Word });
                    out.push(Token { start: j, end: rest_end, kind: TokenKind::Clitic });
                    return rest_end;
                }
                // O'Brien, D'Alema: keep whole.
                j = rest_end;
                continue;
            }
            Some('.') => {
                // "Gen.", "Jan.": keep the period on known abbreviations.
                let word = &text[start..j];
                if lower_eq(word, ABBREVIATIONS) && word.chars().next().is_some_and(|c| c.is_uppercase() || word.len() <= 3) {
                    j += 1;
                }
                break;
            }
            _ => break,
        }
    }
    out.push(Token { start, end: j, kind: TokenKind::Word });
    // A word ending in a plural possessive apostrophe ("leaders’ ") leaves it to the caller as
    // punctuation.
    j
}

/// True if `tok` is an abbreviation that keeps its period (so a following capital does not
/// necessarily start a sentence).
fn is_title_abbrev(tok: &str) -> bool {
    let t = tok.strip_suffix('.').unwrap_or(tok);
    lower_eq(t, TITLE_ABBREVIATIONS) || (t.chars().count() == 1 && t.chars().all(|c| c.is_uppercase()))
}

/// Sentence ranges (token index ranges) over `tokens` of `text`. A newline always ends a
/// sentence; `.`, `!`, `?` end one when a capital, digit or opening quote follows (closing quotes
/// and brackets stay with the sentence). Titles ("Gen.") and initials ("J.") never end one.
pub fn sentences(text: &str, tokens: &[Token]) -> Vec<Range<usize>> {
    let mut out = Vec::new();
    let mut s = 0;
    let n = tokens.len();
    let mut i = 0;
    while i < n {
        let t = tokens[i];
        let mut end_here = false;
        // newline between this token and the next
        if i + 1 < n && text[t.end..tokens[i + 1].start].contains('\n') {
            end_here = true;
        } else if i + 1 < n {
            let tt = t.text(text);
            let terminal = matches!(tt, "." | "!" | "?" | "..." | "?!" | "!?")
                || (t.kind == TokenKind::Word && tt.ends_with('.') && tt.len() > 1 && !is_title_abbrev(tt) && !tt[..tt.len() - 1].contains('.'))
                || (t.kind == TokenKind::Word && tt.len() > 2 && tt.ends_with('.') && tt[..tt.len() - 1].contains('.') && next_is_sentence_start_strong(text, tokens, i + 1));
            if terminal && !(tt.len() > 1 && is_title_abbrev(tt) && tt.ends_with('.')) {
                // absorb closing quotes/brackets
                let mut j = i + 1;
                while j < n && matches!(tokens[j].text(text), "\"" | "”" | "’" | "'" | ")" | "]" | "»") && tokens[j].start == tokens[j - 1].end {
                    j += 1;
                }
                if j < n && starts_sentence(text, tokens[j]) && tokens[j].start > tokens[j - 1].end || j < n && text[tokens[j - 1].end..tokens[j].start].contains('\n') {
                    out.push(s..j);
                    s = j;
                    i = j;
                    continue;
                }
                // glued sentences "weeks.President": a period token directly followed by a capital word
                if j < n && tt == "." && tokens[j].start == t.end && tokens[j].kind == TokenKind::Word && i > 0 && tokens[i - 1].kind == TokenKind::Word {
                    let w = tokens[j].text(text);
                    if w.chars().next().is_some_and(|c| c.is_uppercase()) && w.chars().skip(1).any(|c| c.is_lowercase()) {
                        out.push(s..j);
                        s = j;
                        i = j;
                        continue;
                    }
                }
            }
        }
        if end_here {
            out.push(s..i + 1);
            s = i + 1;
        }
        i += 1;
    }
    if s < n {
        out.push(s..n);
    }
    out
}

fn starts_sentence(text: &str, t: Token) -> bool {
    let c = t.text(text).chars().next().unwrap_or(' ');
    c.is_uppercase() || c.is_ascii_digit() || matches!(c, '"' | '“' | '‘' | '\'' | '(' | '[' | '—' | '–')
}

/// After an acronym with periods ("U.S."), a new sentence starts only when the next word is a
/// typical sentence opener (a pronoun or determiner), not a name.
fn next_is_sentence_start_strong(text: &str, tokens: &[Token], j: usize) -> bool {
    if j >= tokens.len() {
        return false;
    }
    let w = tokens[j].text(text);
    matches!(
        w,
        "The" | "A" | "An" | "He" | "She" | "It" | "They" | "We" | "I" | "This" | "That" | "But"
            | "And" | "In" | "On" | "At" | "His" | "Her" | "Their" | "Its" | "Our" | "There"
            | "These" | "Those" | "However" | "Meanwhile" | "Still" | "So" | "Yet" | "If"
            | "When" | "While" | "As" | "After" | "Before" | "Since" | "Although" | "For"
    ) || matches!(w, "“" | "\"")
}

/// The ASCII form of a token as the tagger sees it: curly quotes and apostrophes become
/// straight ones, dashes become `--`/`-`; other text is returned unchanged (no allocation).
pub fn normalize_token(s: &str) -> Cow<'_, str> {
    if s.is_ascii() {
        return Cow::Borrowed(s);
    }
    if !s.chars().any(|c| matches!(c, '’' | '‘' | 'ʼ' | '“' | '”' | '„' | '—' | '–' | '‐' | '‑' | '…')) {
        return Cow::Borrowed(s);
    }
    let mut o = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '’' | '‘' | 'ʼ' => o.push('\''),
            '“' | '”' | '„' => o.push('"'),
            '—' | '–' => o.push_str("--"),
            '‐' | '‑' => o.push('-'),
            '…' => o.push_str("..."),
            c => o.push(c),
        }
    }
    Cow::Owned(o)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn toks(s: &str) -> Vec<&str> {
        tokenize(s).iter().map(|t| t.text(s)).collect()
    }

    #[test]
    fn possessives_and_curly_apostrophes() {
        assert_eq!(toks("Trump’s plan"), vec!["Trump", "’s", "plan"]);
        assert_eq!(toks("Trump‘s plan"), vec!["Trump", "‘s", "plan"]);
        assert_eq!(toks("Trump's plan"), vec!["Trump", "'s", "plan"]);
        assert_eq!(toks("the U.S.’s role"), vec!["the", "U.S.", "’s", "role"]);
        assert_eq!(toks("we‘re going"), vec!["we", "‘re", "going"]);
        assert_eq!(toks("don’t"), vec!["do", "n’t"]);
        assert_eq!(toks("O'Brien said"), vec!["O'Brien", "said"]);
        assert_eq!(toks("leaders’ talks"), vec!["leaders", "’", "talks"]);
    }

    #[test]
    fn abbreviations_and_initials() {
        assert_eq!(toks("Washington, D.C. on Monday"), vec!["Washington", ",", "D.C.", "on", "Monday"]);
        assert_eq!(toks("Gen. Mark Milley"), vec!["Gen.", "Mark", "Milley"]);
        assert_eq!(toks("on Jan. 5"), vec!["on", "Jan.", "5"]);
        assert_eq!(toks("George W. Bush"), vec!["George", "W.", "Bush"]);
        assert_eq!(toks("U.S.-led force"), vec!["U.S.", "-", "led", "force"]);
    }

    #[test]
    fn dashes_hyphens_quotes() {
        assert_eq!(toks("assurance — and"), vec!["assurance", "—", "and"]);
        assert_eq!(toks("Secretary-General Mark Rutte"), vec!["Secretary-General", "Mark", "Rutte"]);
        assert_eq!(toks("then-NATO chief"), vec!["then", "-", "NATO", "chief"]);
        assert_eq!(toks("“no-fly zone”"), vec!["“", "no-fly", "zone", "”"]);
        assert_eq!(toks("Davis-Monthan Air"), vec!["Davis-Monthan", "Air"]);
    }

    #[test]
    fn numbers_urls_mail_handles() {
        assert_eq!(toks("25,000 to 30,000"), vec!["25,000", "to", "30,000"]);
        assert_eq!(toks("$90 billion"), vec!["$", "90", "billion"]);
        assert_eq!(toks("3.5% in 1990s, the 2nd"), vec!["3.5", "%", "in", "1990s", ",", "the", "2nd"]);
        assert_eq!(toks("see https://t.co/k7oGQc8Vx8."), vec!["see", "https://t.co/k7oGQc8Vx8", "."]);
        assert_eq!(toks("Contact howard@thewarzone.com."), vec!["Contact", "howard@thewarzone.com", "."]);
        assert_eq!(toks("by @POTUS #Ukraine"), vec!["by", "@POTUS", "#Ukraine"]);
        assert_eq!(toks("F-16s"), vec!["F-16s"]);
    }

    #[test]
    fn sentence_splitting() {
        let s = "Trump met Zelensky in Washington, D.C. on Monday. Gen. Smith said it. The end!\nNEW HEADLINE";
        let t = tokenize(s);
        let ss: Vec<String> = sentences(s, &t)
            .into_iter()
            .map(|r| s[t[r.start].start..t[r.end - 1].end].to_string())
            .collect();
        assert_eq!(ss, vec!["Trump met Zelensky in Washington, D.C. on Monday.", "Gen. Smith said it.", "The end!", "NEW HEADLINE"]);
        let s2 = "He said “it is over.” Then he left.";
        let t2 = tokenize(s2);
        assert_eq!(sentences(s2, &t2).len(), 2);
    }

    #[test]
    fn normalization() {
        assert_eq!(normalize_token("’s"), "'s");
        assert_eq!(normalize_token("—"), "--");
        assert!(matches!(normalize_token("Trump"), Cow::Borrowed(_)));
    }

    proptest::proptest! {
        #[test]
        fn tokens_are_ordered_and_on_boundaries(text in "(?s)(\\PC|[ \n.’‘“”—–'\"@#:/$%A-Za-z0-9-]){0,200}") {
            let t = tokenize(&text);
            let mut last = 0;
            for tok in &t {
                proptest::prop_assert!(tok.start >= last && tok.start < tok.end && tok.end <= text.len());
                proptest::prop_assert!(text.is_char_boundary(tok.start) && text.is_char_boundary(tok.end));
                last = tok.end;
            }
            let ss = sentences(&text, &t);
            let mut next = 0;
            for r in &ss {
                proptest::prop_assert_eq!(r.start, next);
                proptest::prop_assert!(r.end > r.start);
                next = r.end;
            }
            proptest::prop_assert_eq!(next, t.len());
        }
    }
}
