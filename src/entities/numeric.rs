//! Deterministic recognizers for the numeric entity types: DATE, TIME, MONEY, PERCENT,
//! QUANTITY, CARDINAL and ORDINAL.
//!
//! These follow closed patterns ("$90 billion", "August 18", "25,000 to 30,000", "600 miles")
//! that a handful of rules gets right more reliably than a model trained on CoNLL, which does
//! not annotate them. They run over the tokenizer's tokens and return token ranges.

use std::ops::Range;

use crate::record::EntityLabel;

const MONTHS: &[&str] = &[
    "january", "february", "march", "april", "may", "june", "july", "august", "september",
    "october", "november", "december", "jan.", "feb.", "mar.", "apr.", "jun.", "jul.", "aug.",
    "sep.", "sept.", "oct.", "nov.", "dec.",
];
const WEEKDAYS: &[&str] = &["monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday"];
const RELATIVE_DAYS: &[&str] = &["today", "yesterday", "tomorrow"];
const PERIODS: &[&str] = &["day", "days", "week", "weeks", "month", "months", "year", "years", "decade", "decades", "century", "centuries", "weekend", "quarter"];
const TIME_UNITS: &[&str] = &["hour", "hours", "minute", "minutes", "second", "seconds"];
const NUMBER_WORDS: &[&str] = &[
    "two", "three", "four", "five", "six", "seven", "eight", "nine", "ten", "eleven", "twelve",
    "thirteen", "fourteen", "fifteen", "sixteen", "seventeen", "eighteen", "nineteen", "twenty",
    "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety", "hundred", "dozen",
    "dozens", "hundreds", "thousand", "thousands", "million", "millions", "billion", "billions",
    "trillion", "trillions",
];
const SCALES: &[&str] = &["hundred", "thousand", "million", "billion", "trillion", "bn", "mln", "m", "k", "tn", "hundreds", "thousands", "millions", "billions", "trillions"];
const CURRENCY_SYMBOLS: &[&str] = &["$", "€", "£", "¥", "₴", "₽", "us$", "c$", "a$", "hk$"];
const CURRENCY_WORDS: &[&str] = &[
    "dollar", "dollars", "euro", "euros", "pound", "pounds", "sterling", "yen", "yuan", "rubles",
    "roubles", "ruble", "rouble", "hryvnias", "hryvnia", "francs", "franc", "rupees", "rupee",
    "pesos", "peso", "cents", "cent", "marks", "usd", "eur", "gbp",
];
const UNITS: &[&str] = &[
    "mile", "miles", "kilometer", "kilometers", "kilometre", "kilometres", "km", "meter",
    "meters", "metre", "metres", "m", "feet", "foot", "ft", "inch", "inches", "yard", "yards",
    "kg", "kilogram", "kilograms", "kilos", "gram", "grams", "tons", "tonnes", "ton", "tonne",
    "lbs", "lb", "ounces", "ounce", "acres", "acre", "hectares", "hectare", "gallons", "gallon",
    "liters", "litres", "liter", "litre", "barrels", "barrel", "degrees", "degree", "mph", "knots",
    "megawatts", "gigawatts", "mw", "gw", "kwh", "cm", "mm", "km2", "sq", "square", "cubic",
    "bpd",
];
const ORDINAL_WORDS: &[&str] = &[
    "first", "second", "third", "fourth", "fifth", "sixth", "seventh", "eighth", "ninth",
    "tenth", "eleventh", "twelfth", "thirteenth", "fourteenth", "fifteenth", "twentieth",
    "thirtieth", "fortieth", "fiftieth", "hundredth", "thousandth",
];
const DATE_MODIFIERS: &[&str] = &["last", "next", "this", "past", "coming", "previous", "early", "late", "mid", "earlier", "later"];

/// True for weekday and month names (which do not end a person's or an organisation's name).
pub fn is_weekday_or_month(w: &str) -> bool {
    w.chars().next().is_some_and(|c| c.is_uppercase()) && (is_in(w, WEEKDAYS) || (is_in(w, MONTHS) && !is_in(w, &["may", "march", "august"])))
}

fn is_in(w: &str, list: &[&str]) -> bool {
    list.iter().any(|x| x.eq_ignore_ascii_case(w))
}

fn is_digits(w: &str) -> bool {
    !w.is_empty() && w.bytes().next().is_some_and(|b| b.is_ascii_digit()) && w.bytes().all(|b| b.is_ascii_digit() || matches!(b, b',' | b'.'))
}

fn is_number(w: &str) -> bool {
    is_digits(w) || is_in(w, NUMBER_WORDS)
}

fn is_year(w: &str) -> bool {
    w.len() == 4 && w.bytes().all(|b| b.is_ascii_digit()) && matches!(w.parse::<u32>(), Ok(1800..=2100))
}

fn is_decade(w: &str) -> bool {
    // "1990s", "90s"
    let b = w.as_bytes();
    (b.len() == 5 || b.len() == 3) && b[b.len() - 1] == b's' && b[..b.len() - 1].iter().all(|c| c.is_ascii_digit()) && b[b.len() - 2] == b'0'
}

fn is_day_number(w: &str) -> bool {
    matches!(w.trim_end_matches(|c: char| c.is_ascii_alphabetic()).parse::<u32>(), Ok(1..=31)) && w.len() <= 4
}

fn is_ordinal_token(w: &str) -> bool {
    if is_in(w, ORDINAL_WORDS) {
        return true;
    }
    let l = w.len();
    l >= 3 && w.as_bytes()[..l - 2].iter().all(|b| b.is_ascii_digit()) && is_in(&w[l - 2..], &["st", "nd", "rd", "th"])
}

fn is_clock(w: &str) -> bool {
    // 10:30, 9:05
    let Some((h, m)) = w.split_once(':') else { return false };
    matches!(h.parse::<u32>(), Ok(0..=24)) && m.len() == 2 && m.bytes().all(|b| b.is_ascii_digit())
}

fn is_ampm(w: &str) -> bool {
    is_in(w, &["a.m.", "p.m.", "am", "pm", "a.m", "p.m"])
}

fn is_iso_date(w: &str) -> bool {
    // 2025-08-19 or 19/08/2025 or 8/19/2025
    let parts: Vec<&str> = w.split(['-', '/']).collect();
    parts.len() == 3 && parts.iter().all(|p| !p.is_empty() && p.len() <= 4 && p.bytes().all(|b| b.is_ascii_digit())) && parts.iter().any(|p| p.len() == 4 || p.len() == 2)
}

/// Lower-case words that can start a numeric entity (besides digits and currency symbols).
fn trigger_words() -> &'static std::collections::HashSet<String> {
    static SET: std::sync::OnceLock<std::collections::HashSet<String>> = std::sync::OnceLock::new();
    SET.get_or_init(|| {
        let mut set = std::collections::HashSet::new();
        for list in [MONTHS, WEEKDAYS, RELATIVE_DAYS, NUMBER_WORDS, ORDINAL_WORDS, DATE_MODIFIERS, CURRENCY_SYMBOLS, &["noon", "midnight"][..]] {
            for w in list {
                set.insert(w.to_string());
            }
        }
        set
    })
}

/// Cheap pre-check: can a numeric entity start at this token?
#[inline]
fn may_start(w: &str) -> bool {
    let Some(b) = w.bytes().next() else { return false };
    if b.is_ascii_digit() || !b.is_ascii() {
        return true;
    }
    if w.len() > 12 {
        return false;
    }
    let mut buf = [0u8; 12];
    for (i, c) in w.bytes().enumerate() {
        buf[i] = c.to_ascii_lowercase();
    }
    std::str::from_utf8(&buf[..w.len()]).is_ok_and(|l| trigger_words().contains(l))
}

/// Finds numeric entities over `tokens` (token texts, normalized). Returns label, token range
/// pairs sorted and non-overlapping.
pub fn recognize(tokens: &[&str]) -> Vec<(EntityLabel, Range<usize>)> {
    let n = tokens.len();
    let mut out = Vec::new();
    let mut i = 0;
    let t = |k: usize| -> &str { tokens.get(k).copied().unwrap_or("") };
    while i < n {
        if !may_start(tokens[i]) {
            i += 1;
            continue;
        }
        if let Some((label, end)) = match_at(tokens, i) {
            // extend ranges: "25,000 to 30,000", "$1 billion to $2 billion"
            let mut end = end;
            let mut label = label;
            if matches!(label, EntityLabel::Cardinal | EntityLabel::Money | EntityLabel::Percent | EntityLabel::Quantity) && end < n {
                let sep = t(end);
                if is_in(sep, &["to", "-", "--"]) || sep == "–" {
                    if let Some((l2, e2)) = match_at(tokens, end + 1) {
                        if (l2 == label || (label == EntityLabel::Cardinal && matches!(l2, EntityLabel::Money | EntityLabel::Percent | EntityLabel::Quantity)))
                            && !(sep.eq_ignore_ascii_case("and") && label == EntityLabel::Cardinal)
                        {
                            label = l2;
                            end = e2;
                        }
                    }
                }
            }
            // "between 2014 and 2022" stays two dates.
            // Leading modifiers: "about 600 miles" stays "600 miles" (OntoNotes includes
            // "about"; we keep the bare amount so surfaces compare across reports).
            out.push((label, i..end));
            i = end;
        } else {
            i += 1;
        }
    }
    out
}

/// The entity starting at token `i`, if any: its label and end.
fn match_at(tokens: &[&str], i: usize) -> Option<(EntityLabel, usize)> {
    let n = tokens.len();
    let t = |k: usize| -> &str { tokens.get(k).copied().unwrap_or("") };
    let w = t(i);
    if w.is_empty() {
        return None;
    }
    // MONEY with a symbol: "$ 90 billion", "US$ 5"
    if is_in(w, CURRENCY_SYMBOLS) && is_digits(t(i + 1)) {
        let mut e = i + 2;
        while e < n && is_in(t(e), SCALES) {
            e += 1;
        }
        return Some((EntityLabel::Money, e));
    }
    // Date: month (day) (, year) | month year
    if is_in(w, MONTHS) && (w.chars().next().is_some_and(|c| c.is_uppercase())) {
        // "May" is also a verb/name: require a day or year after it, or a preceding preposition.
        let mut e = i + 1;
        let mut ok = !w.eq_ignore_ascii_case("may") && !w.eq_ignore_ascii_case("march");
        if e < n && is_day_number(t(e)) {
            e += 1;
            ok = true;
            if t(e) == "," && is_year(t(e + 1)) {
                e += 2;
            } else if is_year(t(e)) {
                e += 1;
            }
        } else if e < n && is_year(t(e)) {
            e += 1;
            ok = true;
        }
        if ok {
            return Some((EntityLabel::Date, e));
        }
    }
    // "18 August (2025)"
    if is_day_number(w) && is_in(t(i + 1), MONTHS) && t(i + 1).chars().next().is_some_and(|c| c.is_uppercase()) {
        let mut e = i + 2;
        if is_year(t(e)) {
            e += 1;
        }
        return Some((EntityLabel::Date, e));
    }
    // Weekday (+ day part -> TIME)
    if is_in(w, WEEKDAYS) && w.chars().next().is_some_and(|c| c.is_uppercase()) {
        if is_in(t(i + 1), &["morning", "afternoon", "evening", "night"]) {
            return Some((EntityLabel::Time, i + 2));
        }
        return Some((EntityLabel::Date, i + 1));
    }
    if is_in(w, RELATIVE_DAYS) {
        return Some((EntityLabel::Date, i + 1));
    }
    // "last week", "this year", "next month", "past decade", "earlier this year"
    if is_in(w, DATE_MODIFIERS) {
        if is_in(t(i + 1), &["this", "last", "next"]) && is_in(t(i + 2), PERIODS) && is_in(w, &["earlier", "later"]) {
            return Some((EntityLabel::Date, i + 3));
        }
        if is_in(t(i + 1), PERIODS) && !is_in(w, &["earlier", "later", "early", "late"]) {
            return Some((EntityLabel::Date, i + 2));
        }
        if is_in(t(i + 1), WEEKDAYS) {
            return Some((EntityLabel::Date, i + 2));
        }
        if is_in(w, &["this", "last"]) && is_in(t(i + 1), &["morning", "afternoon", "evening"]) {
            return Some((EntityLabel::Time, i + 2));
        }
        return None;
    }
    if is_iso_date(w) {
        return Some((EntityLabel::Date, i + 1));
    }
    if is_decade(w) {
        return Some((EntityLabel::Date, i + 1));
    }
    // TIME: 10:30 (a.m.), 9 p.m.
    if is_clock(w) {
        let e = if is_ampm(t(i + 1)) { i + 2 } else { i + 1 };
        return Some((EntityLabel::Time, e));
    }
    if is_digits(w) && is_ampm(t(i + 1)) {
        return Some((EntityLabel::Time, i + 2));
    }
    if is_in(w, &["noon", "midnight"]) {
        return Some((EntityLabel::Time, i + 1));
    }
    // ORDINAL
    if is_ordinal_token(w) {
        // "second" as a time unit: "a second", "30 seconds"
        if w.eq_ignore_ascii_case("second") && i > 0 && is_in(t(i - 1), &["a", "per", "every"]) {
            return None;
        }
        return Some((EntityLabel::Ordinal, i + 1));
    }
    // Years
    if is_year(w) && !is_in(t(i + 1), UNITS) && !is_in(t(i + 1), SCALES) && !is_in(t(i + 1), CURRENCY_WORDS) && !is_in(t(i + 1), PERIODS) && t(i + 1) != "%" {
        return Some((EntityLabel::Date, i + 1));
    }
    if is_number(w) {
        // number (+ number words) (+ scale)
        let mut e = i + 1;
        while e < n && (is_in(t(e), SCALES) || is_in(t(e), NUMBER_WORDS) || (t(e) == "-" && is_in(t(e + 1), NUMBER_WORDS))) {
            e += if t(e) == "-" { 2 } else { 1 };
        }
        let lower_word = !is_digits(w) && w.chars().all(|c| c.is_lowercase());
        let nx = t(e);
        if nx == "%" || is_in(nx, &["percent", "pct"]) {
            return Some((EntityLabel::Percent, e + 1));
        }
        if is_in(nx, &["per"]) && is_in(t(e + 1), &["cent"]) {
            return Some((EntityLabel::Percent, e + 2));
        }
        if is_in(nx, &["percentage"]) && is_in(t(e + 1), &["point", "points"]) {
            return Some((EntityLabel::Percent, e + 2));
        }
        if is_in(nx, CURRENCY_WORDS) {
            return Some((EntityLabel::Money, e + 1));
        }
        if nx == "of" && is_in(t(e + 1), &["dollars", "euros", "pounds"]) {
            return Some((EntityLabel::Money, e + 2));
        }
        if is_in(nx, UNITS) && (is_digits(w) || !nx.eq_ignore_ascii_case("m")) {
            let mut e2 = e + 1;
            if is_in(nx, &["square", "sq", "cubic"]) {
                if is_in(t(e2), UNITS) {
                    e2 += 1;
                } else {
                    return Some((EntityLabel::Cardinal, e));
                }
            }
            return Some((EntityLabel::Quantity, e2));
        }
        if is_in(nx, TIME_UNITS) {
            return Some((EntityLabel::Time, e + 1));
        }
        if is_in(nx, PERIODS) {
            let mut e2 = e + 1;
            if is_in(t(e2), &["ago", "later", "earlier", "old"]) {
                e2 += 1;
            }
            return Some((EntityLabel::Date, e2));
        }
        // A bare scale word on its own ("billions of ...") is not a number worth a mention
        // unless it is followed by a currency.
        if lower_word && is_in(w, SCALES) {
            return None;
        }
        return Some((EntityLabel::Cardinal, e));
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::entities::tokenize::{normalize_token, tokenize};

    fn rec(s: &str) -> Vec<(EntityLabel, String)> {
        let toks = tokenize(s);
        let norm: Vec<String> = toks.iter().map(|t| normalize_token(t.text(s)).into_owned()).collect();
        let refs: Vec<&str> = norm.iter().map(|x| x.as_str()).collect();
        recognize(&refs)
            .into_iter()
            .map(|(l, r)| (l, s[toks[r.start].start..toks[r.end - 1].end].to_string()))
            .collect()
    }

    fn one(s: &str, label: EntityLabel, surface: &str) {
        let r = rec(s);
        assert!(r.contains(&(label, surface.to_string())), "{s:?}: expected {label:?} {surface:?}, got {r:?}");
    }

    #[test]
    fn dates() {
        one("During a summit on August 18, European leaders", EntityLabel::Date, "August 18");
        one("said on Tuesday.", EntityLabel::Date, "Tuesday");
        one("invasion in February 2022, the", EntityLabel::Date, "February 2022");
        one("annexed Crimea in 2014.", EntityLabel::Date, "2014");
        one("on Aug. 18, 2025 at", EntityLabel::Date, "Aug. 18, 2025");
        one("on 18 August 2025", EntityLabel::Date, "18 August 2025");
        one("Eight years later, he", EntityLabel::Date, "Eight years later");
        one("since the 1990s", EntityLabel::Date, "1990s");
        one("talks last week", EntityLabel::Date, "last week");
        one("BRUSSELS 1996-08-22", EntityLabel::Date, "1996-08-22");
        one("earlier this year officials", EntityLabel::Date, "earlier this year");
        // "May" alone is not a date
        assert!(rec("Theresa May said").is_empty());
        assert!(rec("it may rain").is_empty());
    }

    #[test]
    fn times() {
        one("Tuesday morning when", EntityLabel::Time, "Tuesday morning");
        one("at 10:30 a.m. local", EntityLabel::Time, "10:30 a.m.");
        one("ends 24 hours of uncertainty", EntityLabel::Time, "24 hours");
        one("at 9 pm", EntityLabel::Time, "9 pm");
    }

    #[test]
    fn money() {
        one("buying $90 billion worth", EntityLabel::Money, "$90 billion");
        one("paid 5 million euros", EntityLabel::Money, "5 million euros");
        one("cost €1.5 bn in", EntityLabel::Money, "€1.5 bn");
        one("between $1 billion and $2 billion", EntityLabel::Money, "$1 billion");
    }

    #[test]
    fn percent() {
        one("rose 3.5% in", EntityLabel::Percent, "3.5%");
        one("fell 12 percent", EntityLabel::Percent, "12 percent");
        one("two percentage points", EntityLabel::Percent, "two percentage points");
    }

    #[test]
    fn quantity() {
        one("across 600 miles of front lines", EntityLabel::Quantity, "600 miles");
        one("a 5 km stretch", EntityLabel::Quantity, "5 km");
        one("300 square miles", EntityLabel::Quantity, "300 square miles");
    }

    #[test]
    fn cardinal() {
        one("about 25,000 to 30,000 European troops", EntityLabel::Cardinal, "25,000 to 30,000");
        one("seven great leaders", EntityLabel::Cardinal, "seven");
        one("Four European officials", EntityLabel::Cardinal, "Four");
        one("more than 1,200 people", EntityLabel::Cardinal, "1,200");
        one("three million people", EntityLabel::Cardinal, "three million");
        // "one" and scale words alone are not cardinals
        assert!(rec("no one knows").is_empty());
        assert!(rec("billions of people").is_empty());
    }

    #[test]
    fn ordinal() {
        one("the first to report", EntityLabel::Ordinal, "first");
        one("its fourth year", EntityLabel::Ordinal, "fourth");
        one("the 3rd time", EntityLabel::Ordinal, "3rd");
        assert!(rec("wait a second").is_empty());
    }
}
