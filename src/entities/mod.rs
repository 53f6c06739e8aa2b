//! Entity recognition (per document) and linking mentions to canonical entities (whole run).
//!
//! Recognition: the text is cut by [`tokenize`], names are tagged by a trained linear-chain
//! CRF ([`tagger`]) with CoNLL types, then split into OntoNotes types with the
//! gazetteers ([`gazetteer`]): LOC -> GPE/LOC, MISC -> NORP/MISC; titles before a person's
//! name go to `Mention::title`; numeric entities come from deterministic rules ([`numeric`]).
//! Linking ([`link`]) groups the mentions of a run into canonical entities with stable ids.

pub mod conll;
pub mod gazetteer;
mod linking;
pub mod numeric;
pub mod tagger;
pub mod tokenize;
pub mod train;

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use anyhow::Context;
use serde::{Deserialize, Serialize};

use crate::record::{EntityLabel, Method, Mention, Span};
use gazetteer::{cat, hash_lower, phrase_hash, Gazetteer, HashMap64};
use tagger::{bilou_spans, Model};

pub use linking::{intern_names, link, link_names, local_names, DocNames, LinkedNames, LocalNames, Names};

/// File name of the tagger model inside the models folder.
pub const MODEL_FILE: &str = "ner.model";
/// Folder of the gazetteer lists inside the models folder.
pub const GAZETTEER_DIR: &str = "gazetteer";

/// `[[stage]] type = "extract_entities"` in a pipeline file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntitiesConfig {
    /// Folder holding the shipped model files, relative to the working directory.
    pub models: String,
    /// Run the numeric recognizers (DATE, TIME, MONEY, PERCENT, QUANTITY, CARDINAL, ORDINAL).
    pub numeric: bool,
}

impl Default for EntitiesConfig {
    fn default() -> Self {
        EntitiesConfig { models: "models".into(), numeric: true }
    }
}

/// Document-level corrections applied after tagging.
#[derive(Debug, Clone, Copy)]
pub struct PostConfig {
    /// Give every occurrence of a name the label most of its occurrences got.
    pub majority: bool,
    /// Tag untagged repeats of a name tagged elsewhere in the document.
    pub propagate: bool,
    /// A lone surname of a person named in full elsewhere in the document is a person.
    pub surnames: bool,
}

impl Default for PostConfig {
    fn default() -> Self {
        PostConfig { majority: false, propagate: true, surnames: true }
    }
}

/// A name found by the tagger, over tokens: CoNLL type index (see [`tagger::TYPES`]), token
/// range and confidence.
#[derive(Debug, Clone, PartialEq)]
pub struct NameSpan {
    /// Index into [`tagger::TYPES`].
    pub ty: usize,
    /// Token range.
    pub range: Range<usize>,
    /// Confidence in 0..=1.
    pub score: f32,
}

/// The loaded recognizer: statistical tagger, gazetteers and numeric rules.
pub struct Recognizer {
    model: Model,
    /// Shared with the quote tagger, which reads its word clusters.
    gaz: Arc<Gazetteer>,
    people: Gazetteer,
    /// Document-level corrections.
    pub post: PostConfig,
    /// Run the numeric recognizers.
    pub numeric: bool,
}

/// Words that start sentences and are never names on their own.
const NEVER_NAMES: &[&str] = &[
    "meanwhile", "despite", "however", "although", "though", "still", "yet", "also", "but",
    "and", "or", "so", "the", "a", "an", "this", "that", "these", "those", "it", "he", "she",
    "they", "we", "i", "you", "his", "her", "their", "our", "its", "my", "your", "if", "when",
    "while", "after", "before", "since", "during", "until", "because", "as", "at", "in", "on",
    "for", "from", "with", "without", "by", "of", "to", "into", "over", "under", "then", "there",
    "here", "now", "today", "officials", "regardless", "previously", "earlier", "later", "look",
    "well", "according", "neither", "either", "both", "all", "some", "many", "most", "several",
    "such", "what", "which", "who", "whom", "whose", "why", "how", "where", "not", "no", "yes",
    "okay", "ok", "thank", "thanks", "please", "just", "even", "only", "instead", "further",
    "furthermore", "moreover", "indeed", "overall", "finally", "first", "second", "third",
    "earlier", "follow", "live", "contact", "politics", "breaking", "update", "updated", "read",
    "watch", "more", "politico", "sources", "article", "section", "chapter", "paragraph",
];

fn is_never_name(w: &str) -> bool {
    w.len() <= 12 && NEVER_NAMES.iter().any(|x| x.eq_ignore_ascii_case(w)) && !w.eq_ignore_ascii_case("politico")
}

/// Last words of facility names ("Davis-Monthan Air Force Base", "Ben Gurion Airport").
const FACILITY_HEADS: &[&str] = &["base", "airport", "airfield", "aerodrome", "barracks", "dockyard", "shipyard", "spaceport"];

fn is_facility_head(w: &str) -> bool {
    FACILITY_HEADS.iter().any(|h| h.eq_ignore_ascii_case(w))
}

/// A name directly followed by a name that ends in a facility word is one place: the tagger
/// often splits "Davis-Monthan Air Force Base" into a name and an organization.
fn merge_facilities(tokens: &[&str], spans: &mut Vec<NameSpan>) {
    let loc = tagger::TYPES.iter().position(|&t| t == "LOC").expect("LOC type");
    let mut out: Vec<NameSpan> = Vec::with_capacity(spans.len());
    for s in spans.drain(..) {
        let head = tokens.get(s.range.end - 1).is_some_and(|w| is_facility_head(w));
        match out.last_mut() {
            Some(prev) if head && prev.range.end == s.range.start => {
                prev.range.end = s.range.end;
                prev.ty = loc;
                prev.score = prev.score.min(s.score);
            }
            _ => out.push(s),
        }
    }
    *spans = out;
}

/// Geographic feature words: a LOC ending in one is a place, not a polity.
const GEO_WORDS: &[&str] = &[
    "river", "sea", "ocean", "mountain", "mountains", "mount", "lake", "gulf", "bay", "valley",
    "peninsula", "island", "islands", "strait", "desert", "coast", "basin", "forest", "plain",
    "plains", "canal", "channel", "range", "region", "highlands", "steppe", "delta", "cape",
    "hills", "alps",
];

impl Recognizer {
    /// Loads the model files from `models_dir`.
    pub fn load(models_dir: &Path) -> anyhow::Result<Recognizer> {
        let model_path = models_dir.join(MODEL_FILE);
        if !model_path.exists() {
            anyhow::bail!("entity model {} not found (build it with `make model`)", model_path.display());
        }
        let model = Model::load(&model_path)?;
        let gaz = load_lexicon(models_dir)?;
        let mut r = Recognizer::from_parts(model, gaz);
        r.people = Gazetteer::load_one(&models_dir.join(GAZETTEER_DIR), "people", cat::PERSON)?;
        Ok(r)
    }

    /// Builds a recognizer from a model and gazetteer already in memory.
    pub fn from_parts(model: Model, gaz: Gazetteer) -> Recognizer {
        Recognizer { model, gaz: Arc::new(gaz), people: Gazetteer::default(), post: PostConfig::default(), numeric: true }
    }

    /// Builds a recognizer as the pipeline configures it.
    pub fn build(cfg: &EntitiesConfig) -> anyhow::Result<Recognizer> {
        let mut r = Recognizer::load(Path::new(&cfg.models))?;
        r.numeric = cfg.numeric;
        Ok(r)
    }

    /// The gazetteers.
    pub fn gazetteer(&self) -> &Gazetteer {
        &self.gaz
    }

    /// The gazetteers and word clusters, to share with another stage.
    pub fn lexicon(&self) -> Arc<Gazetteer> {
        Arc::clone(&self.gaz)
    }

    /// Names in one document given as tokens (normalized with [`tokenize::normalize_token`])
    /// and sentence ranges; CoNLL types. This is what `eval ner` scores.
    pub fn tag_names(&self, tokens: &[&str], sents: &[Range<usize>]) -> Vec<NameSpan> {
        let tagged = self.model.tag_doc(tokens, sents, &self.gaz);
        let mut spans: Vec<NameSpan> = Vec::new();
        for r in sents {
            if r.end > tokens.len() {
                continue;
            }
            for (ty, rr) in bilou_spans(&tagged.tags[r.clone()]) {
                let mut range = rr.start + r.start..rr.end + r.start;
                // a tagged name never starts or ends with punctuation: trim it
                let is_punct = |w: &str| !w.chars().any(|c| c.is_alphanumeric());
                while range.len() > 1 && is_punct(tokens[range.end - 1]) {
                    range.end -= 1;
                }
                while range.len() > 1 && is_punct(tokens[range.start]) {
                    range.start += 1;
                }
                if is_punct(tokens[range.start]) {
                    continue;
                }
                let m = tagged.margins[range.clone()].iter().fold(f32::INFINITY, |a, &b| a.min(b));
                spans.push(NameSpan { ty, range, score: m / (m + 2.0) });
            }
        }
        self.postprocess(tokens, sents, &mut spans);
        spans
    }

    fn postprocess(&self, tokens: &[&str], sents: &[Range<usize>], spans: &mut Vec<NameSpan>) {
        let hashes: Vec<u64> = tokens.iter().map(|t| hash_lower(t)).collect();
        let key = |r: &Range<usize>| phrase_hash(hashes[r.clone()].iter().copied());
        // drop lone sentence openers and function words
        spans.retain(|s| !(s.range.len() == 1 && is_never_name(tokens[s.range.start])));
        merge_facilities(tokens, spans);
        if self.post.surnames {
            let mut surnames: HashMap64<usize> = HashMap64::default();
            for s in spans.iter() {
                if s.ty == 0 && s.range.len() >= 2 {
                    *surnames.entry(hashes[s.range.end - 1]).or_insert(0) += 1;
                }
            }
            for s in spans.iter_mut() {
                if s.range.len() == 1 && s.ty != 0 && surnames.contains_key(&hashes[s.range.start]) {
                    s.ty = 0;
                }
            }
        }
        if self.post.majority {
            let mut votes: HashMap64<[f32; 4]> = HashMap64::default();
            for s in spans.iter() {
                votes.entry(key(&s.range)).or_insert([0.0; 4])[s.ty] += 0.5 + s.score;
            }
            for s in spans.iter_mut() {
                let v = votes[&key(&s.range)];
                let best = (0..4).fold(s.ty, |b, k| if v[k] > v[b] { k } else { b });
                s.ty = best;
            }
        }
        if self.post.propagate && !spans.is_empty() {
            // names tagged somewhere: phrase hash -> (type, length)
            let mut known: HashMap64<(usize, f32)> = HashMap64::default();
            let mut max_len = 0;
            for s in spans.iter() {
                if s.score < 0.5 {
                    continue;
                }
                known.entry(key(&s.range)).or_insert((s.ty, s.score));
                max_len = max_len.max(s.range.len());
            }
            let mut covered = vec![false; tokens.len()];
            for s in spans.iter() {
                for c in &mut covered[s.range.clone()] {
                    *c = true;
                }
            }
            let mut lower_seen: HashMap64<bool> = HashMap64::default();
            for (i, t) in tokens.iter().enumerate() {
                if t.chars().next().is_some_and(|c| c.is_lowercase()) {
                    lower_seen.insert(hashes[i], true);
                }
            }
            let mut added = Vec::new();
            for r in sents {
                let mut i = r.start;
                while i < r.end.min(tokens.len()) {
                    let mut found = None;
                    if !covered[i] && tokens[i].chars().next().is_some_and(|c| c.is_uppercase()) && !lower_seen.contains_key(&hashes[i]) {
                        let mut h = 0x1234_5678_9abc_def0u64;
                        for j in i..r.end.min(i + max_len) {
                            if covered[j] {
                                break;
                            }
                            h = gazetteer::combine(h, hashes[j]);
                            if let Some(&(ty, sc)) = known.get(&h) {
                                found = Some((ty, j + 1, sc));
                            }
                        }
                    }
                    match found {
                        Some((ty, end, sc)) if !(end == i + 1 && is_never_name(tokens[i])) => {
                            // do not split a longer capitalised run: next token capitalised and untagged
                            let next_cap = end < r.end && !covered[end] && tokens[end].chars().next().is_some_and(|c| c.is_uppercase());
                            let prev_cap = i > r.start && !covered[i - 1] && i - 1 != r.start && tokens[i - 1].chars().next().is_some_and(|c| c.is_uppercase());
                            if !next_cap && !prev_cap {
                                added.push(NameSpan { ty, range: i..end, score: sc * 0.8 });
                            }
                            i = end;
                        }
                        _ => i += 1,
                    }
                }
            }
            if !added.is_empty() {
                spans.extend(added);
                spans.sort_by_key(|s| s.range.start);
            }
        }
    }

    /// Every mention in `text`, sorted by start, non-overlapping, byte spans.
    pub fn extract(&self, text: &str) -> Vec<Mention> {
        let toks = tokenize::tokenize(text);
        if toks.is_empty() {
            return Vec::new();
        }
        let sents = tokenize::sentences(text, &toks);
        let norm: Vec<Cow<str>> = toks.iter().map(|t| tokenize::normalize_token(t.text(text))).collect();
        let refs: Vec<&str> = norm.iter().map(|c| c.as_ref()).collect();
        let hashes: Vec<u64> = refs.iter().map(|t| hash_lower(t)).collect();
        let names = self.refine_names(self.tag_names(&refs, &sents), &refs, &hashes, &sents);
        let mut covered = vec![false; toks.len()];
        let mut out: Vec<(Range<usize>, Mention)> = Vec::new();
        for s in &names {
            let mut r = s.range.clone();
            // a well-known person's surname typed as a place or organisation
            let c = self.gaz.lookup(&hashes[r.clone()]);
            let known_person = self.people.lookup(&hashes[r.clone()]) != 0;
            let ty = if known_person && c & (cat::COUNTRY | cat::STATE | cat::CITY | cat::ORG) == 0 { 0 } else { s.ty };
            let label = self.ontonotes_label(ty, &hashes[r.clone()], &refs[r.clone()]);
            let mut title = None;
            if label == EntityLabel::Person {
                // titles inside the span ("President Donald Trump") move out of the name
                let mut k = r.start;
                while k + 1 < r.end && self.is_title_token(hashes[k], refs[k]) {
                    k += 1;
                }
                let t_end = k;
                // titles before the span ("Ukrainian President", "White House Press Secretary")
                let mut t_start = r.start;
                if t_end > r.start || (r.start > 0 && self.is_title_token(hashes[r.start - 1], refs[r.start - 1])) {
                    let sent_start = sents.get(sents.partition_point(|x| x.end <= r.start)).map(|x| x.start).unwrap_or(0);
                    let mut j = r.start;
                    while j > sent_start {
                        let w = refs[j - 1];
                        let capital = w.chars().next().is_some_and(|c| c.is_uppercase());
                        if capital && !is_never_name(w) {
                            j -= 1;
                        } else {
                            break;
                        }
                    }
                    t_start = j;
                }
                if t_start < t_end {
                    title = Some(text[toks[t_start].start..toks[t_end - 1].end].to_string());
                }
                r.start = t_end;
            }
            if r.is_empty() {
                continue;
            }
            for c in &mut covered[r.clone()] {
                *c = true;
            }
            let span = Span::new(toks[r.start].start, toks[r.end - 1].end);
            out.push((r, Mention { span, label, method: Method::Model, score: s.score, title }));
        }
        // gazetteer places and nationalities the tagger missed
        self.gazetteer_mentions(text, &toks, &refs, &hashes, &sents, &mut covered, &mut out);
        if self.numeric {
            for (label, r) in numeric::recognize(&refs) {
                if covered[r.clone()].iter().any(|&c| c) {
                    continue;
                }
                let span = Span::new(toks[r.start].start, toks[r.end - 1].end);
                out.push((r, Mention { span, label, method: Method::Rule, score: 0.9, title: None }));
            }
        }
        out.sort_by_key(|(r, _)| (r.start, r.end));
        let mut res: Vec<Mention> = Vec::with_capacity(out.len());
        for (_, m) in out {
            if res.last().is_some_and(|l| l.span.end > m.span.start) {
                continue;
            }
            res.push(m);
        }
        res
    }

    /// Corrections for raw news text that CoNLL training does not teach: a role inside a
    /// name ("U.S. Air Force General Alexus Grynkewich" -> ORG + title + PERSON), a weekday
    /// glued to a name ("Fox & Friends Tuesday"), and names in headline lines (title case or
    /// all caps), which are kept only when the body of the report confirms them.
    #[allow(clippy::needless_range_loop)]
    fn refine_names(&self, names: Vec<NameSpan>, refs: &[&str], hashes: &[u64], sents: &[Range<usize>]) -> Vec<NameSpan> {
        let mut out = Vec::with_capacity(names.len());
        let mut marks: Vec<u16> = Vec::new();
        for s in names {
            let mut r = s.range.clone();
            while r.len() > 1 && numeric::is_weekday_or_month(refs[r.end - 1]) {
                r.end -= 1;
            }
            // a title inside a name of 3+ tokens, with a capitalised name after it
            if r.len() >= 3 {
                marks.clear();
                marks.resize(r.len(), 0);
                self.gaz.mark(&hashes[r.clone()], &mut marks);
                let ts = (1..r.len() - 1).find(|&k| marks[k] & cat::TITLE != 0 && marks[k - 1] & cat::TITLE == 0);
                if let Some(ts) = ts {
                    let mut te = ts;
                    while te < r.len() && marks[te] & cat::TITLE != 0 {
                        te += 1;
                    }
                    if te < r.len() && refs[r.start + te].chars().next().is_some_and(|c| c.is_uppercase()) {
                        out.push(NameSpan { ty: s.ty, range: r.start..r.start + ts, score: s.score });
                        // the person keeps its title through `extract`'s title detection
                        out.push(NameSpan { ty: 0, range: r.start + te..r.end, score: s.score });
                        continue;
                    }
                }
            }
            out.push(NameSpan { ty: s.ty, range: r, score: s.score });
        }
        // headline lines
        let headline: Vec<bool> = sents
            .iter()
            .map(|r| {
                let words: Vec<&str> = refs[r.clone()].iter().copied().filter(|w| w.chars().any(|c| c.is_alphabetic())).collect();
                let caps = words.iter().filter(|w| w.chars().next().is_some_and(|c| c.is_uppercase())).count();
                let last = refs[r.clone()].last().copied().unwrap_or("");
                words.len() >= 4 && caps * 10 >= words.len() * 8 && !matches!(last, "." | "?" | "!" | "\"" | "'")
            })
            .collect();
        if headline.iter().any(|&h| h) {
            let sent_of = |i: usize| sents.partition_point(|r| r.end <= i).min(sents.len().saturating_sub(1));
            let mut body: std::collections::HashSet<u64, std::hash::BuildHasherDefault<gazetteer::U64Hasher>> = Default::default();
            for s in &out {
                if !headline[sent_of(s.range.start)] {
                    body.insert(phrase_hash(hashes[s.range.clone()].iter().copied()));
                }
            }
            let mut body_ty: HashMap64<usize> = HashMap64::default();
            for s in &out {
                if !headline[sent_of(s.range.start)] {
                    body_ty.entry(phrase_hash(hashes[s.range.clone()].iter().copied())).or_insert(s.ty);
                }
            }
            let mut kept = Vec::with_capacity(out.len());
            for s in out {
                let h = phrase_hash(hashes[s.range.clone()].iter().copied());
                if !headline[sent_of(s.range.start)] || body.contains(&h) || self.gaz.lookup(&hashes[s.range.clone()]) & !cat::TITLE != 0 {
                    kept.push(s);
                    continue;
                }
                // keep the parts of a rejected headline name that the body confirms
                let mut i = s.range.start;
                while i < s.range.end {
                    let mut best = None;
                    let mut h = 0x1234_5678_9abc_def0u64;
                    for j in i..s.range.end {
                        h = gazetteer::combine(h, hashes[j]);
                        if let Some(&ty) = body_ty.get(&h) {
                            best = Some((ty, j + 1));
                        }
                    }
                    match best {
                        Some((ty, e)) => {
                            kept.push(NameSpan { ty, range: i..e, score: s.score });
                            i = e;
                        }
                        None => i += 1,
                    }
                }
            }
            out = kept;
        }
        out
    }

    #[allow(clippy::too_many_arguments)]
    fn gazetteer_mentions(
        &self,
        text: &str,
        toks: &[tokenize::Token],
        refs: &[&str],
        hashes: &[u64],
        sents: &[Range<usize>],
        covered: &mut [bool],
        out: &mut Vec<(Range<usize>, Mention)>,
    ) {
        let _ = text;
        let mut marks = Vec::new();
        for r in sents {
            let r = r.start..r.end.min(refs.len());
            marks.clear();
            marks.resize(r.len(), 0u16);
            self.gaz.mark(&hashes[r.clone()], &mut marks);
            let mut i = 0;
            while i < r.len() {
                let m = marks[i];
                let mut j = i + 1;
                while j < r.len() && marks[j] == m {
                    j += 1;
                }
                let want = m & (cat::COUNTRY | cat::STATE | cat::CITY | cat::DEMONYM | cat::GROUP | cat::REGION);
                let a = r.start + i;
                let b = r.start + j;
                let capital = refs[a].chars().next().is_some_and(|c| c.is_uppercase());
                if want != 0 && capital && !covered[a..b].iter().any(|&c| c) {
                    let label = if m & (cat::COUNTRY | cat::STATE | cat::CITY) != 0 {
                        EntityLabel::Gpe
                    } else if m & (cat::DEMONYM | cat::GROUP) != 0 {
                        EntityLabel::Norp
                    } else {
                        EntityLabel::Loc
                    };
                    // a capitalised neighbour means a longer name the tagger rejected ("New York Times")
                    let next_cap = b < r.end && refs[b].chars().next().is_some_and(|c| c.is_uppercase()) && !covered[b];
                    if !next_cap {
                        for c in &mut covered[a..b] {
                            *c = true;
                        }
                        let span = Span::new(toks[a].start, toks[b - 1].end);
                        out.push((a..b, Mention { span, label, method: Method::Gazetteer, score: 0.6, title: None }));
                    }
                }
                i = j;
            }
        }
    }

    fn is_title_token(&self, h: u64, w: &str) -> bool {
        let _ = w;
        self.gaz.lookup(&[h]) & cat::TITLE != 0
    }

    /// The OntoNotes label of a CoNLL-typed name.
    fn ontonotes_label(&self, ty: usize, hashes: &[u64], words: &[&str]) -> EntityLabel {
        match tagger::TYPES[ty] {
            "PER" => EntityLabel::Person,
            "ORG" => EntityLabel::Org,
            "LOC" => {
                let c = self.gaz.lookup(hashes);
                if c & cat::ORG != 0 && c & (cat::COUNTRY | cat::STATE | cat::CITY) == 0 {
                    EntityLabel::Org
                } else if c & (cat::COUNTRY | cat::STATE | cat::CITY | cat::PROVINCE) != 0 {
                    EntityLabel::Gpe
                } else if c & cat::REGION != 0
                    || words.iter().any(|w| GEO_WORDS.iter().any(|g| g.eq_ignore_ascii_case(w)))
                    || words.first().is_some_and(|w| w.eq_ignore_ascii_case("mount"))
                    || words.last().is_some_and(|w| is_facility_head(w))
                {
                    EntityLabel::Loc
                } else {
                    EntityLabel::Gpe
                }
            }
            _ => {
                let c = self.gaz.lookup(hashes);
                let plural_demonym = words.len() == 1 && words[0].ends_with('s') && self.gaz.lookup_text(&words[0][..words[0].len() - 1]) & cat::DEMONYM != 0;
                if c & (cat::DEMONYM | cat::GROUP) != 0 || plural_demonym {
                    EntityLabel::Norp
                } else if c & (cat::COUNTRY | cat::STATE | cat::CITY | cat::PROVINCE) != 0 {
                    // a name the lists know as a place, typed MISC by the tagger
                    EntityLabel::Gpe
                } else {
                    EntityLabel::Misc
                }
            }
        }
    }
}

/// File name of the word-cluster table inside the models folder.
pub const CLUSTERS_FILE: &str = "clusters.tsv.gz";

/// Loads the gazetteers and, when present, the word clusters of a models folder.
pub fn load_lexicon(models_dir: &Path) -> anyhow::Result<Gazetteer> {
    let mut gaz = Gazetteer::load(&models_dir.join(GAZETTEER_DIR))?;
    let cl = models_dir.join(CLUSTERS_FILE);
    if cl.exists() && std::env::var_os("NEWSMILL_NER_NO_CLUSTERS").is_none() {
        gaz.load_clusters(&cl)?;
    }
    Ok(gaz)
}

/// Tags every document of a CoNLL file and scores the names against its gold annotation.
pub fn eval_conll_score(rec: &Recognizer, conll: &Path) -> anyhow::Result<conll::Score> {
    let docs = conll::read_conll(conll)?;
    if docs.is_empty() {
        anyhow::bail!("{}: no tokens found (is it a CoNLL file?)", conll.display());
    }
    let norm: Vec<Vec<String>> = docs.iter().map(|d| d.tokens.iter().map(|t| tokenize::normalize_token(t).into_owned()).collect()).collect();
    let mut gold = Vec::new();
    for (di, d) in docs.iter().enumerate() {
        for (t, r) in d.gold_spans() {
            gold.push((t, di, r));
        }
    }
    let mut pred = Vec::new();
    let mut tokens = 0;
    let t0 = Instant::now();
    for (di, d) in docs.iter().enumerate() {
        let refs: Vec<&str> = norm[di].iter().map(|s| s.as_str()).collect();
        tokens += refs.len();
        for s in rec.tag_names(&refs, &d.sents) {
            pred.push((s.ty, di, s.range));
        }
    }
    let seconds = t0.elapsed().as_secs_f64();
    let mut sc = conll::score(&gold, &pred);
    sc.tokens = tokens;
    sc.seconds = seconds;
    Ok(sc)
}

/// `newsmill eval ner --conll FILE [--json]`: returns the report to print.
pub fn eval_conll(models_dir: &Path, conll: &Path, json: bool) -> anyhow::Result<String> {
    let rec = Recognizer::load(models_dir).context("loading the entity recognizer")?;
    let sc = eval_conll_score(&rec, conll)?;
    Ok(if json { sc.to_json() } else { sc.to_text() })
}

pub use linking::{EntityRow, Linked};

#[cfg(test)]
mod tests {
    use super::*;

    fn span(ty: usize, range: Range<usize>) -> NameSpan {
        NameSpan { ty, range, score: 0.9 }
    }

    /// A name followed at once by a name ending in a facility word becomes one place; names
    /// apart, or a second name that is no facility, stay as they are.
    #[test]
    fn facility_names_are_one_place() {
        let toks = ["at", "Davis-Monthan", "Air", "Force", "Base", "and", "Paris", "Ukraine", "Airport"];
        let loc = tagger::TYPES.iter().position(|&t| t == "LOC").expect("LOC");
        let mut spans = vec![span(3, 1..2), span(1, 2..5), span(2, 6..7), span(1, 7..8)];
        merge_facilities(&toks, &mut spans);
        assert_eq!(spans, vec![span(loc, 1..5), span(2, 6..7), span(1, 7..8)]);
        let mut apart = vec![span(0, 1..2), span(1, 3..5)];
        merge_facilities(&toks, &mut apart);
        assert_eq!(apart.len(), 2);
    }
}
