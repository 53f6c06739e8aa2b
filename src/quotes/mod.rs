//! Quotation extraction with speakers (per document).
//!
//! Who said what: direct quotes in any quote-mark style, partial quotes inside the reporter's
//! sentence, indirect (reported) speech, and quoted terms that are not speech. Rules handle
//! quote marks, cues and speakers ([`rules`]); a linear-chain CRF tagger trained
//! on PolNeAR adds indirect speech ([`tagger`]); [`resolve`] links speakers to the person
//! mentions of the entity stage. [`eval_polnear`] scores the stage on brat attribution data.

pub mod eval;
pub mod lexicon;
pub mod resolve;
pub mod rules;
pub mod tagger;
pub mod text;
pub mod train;

use std::path::Path;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use crate::entities::gazetteer::Gazetteer;
use crate::record::{Mention, Quote, QuoteKind, Span};

pub use eval::eval_polnear;

/// `[[stage]] type = "extract_quotes"` in a pipeline file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotesConfig {
    /// Folder holding the shipped model files, relative to the working directory.
    pub models: String,
    /// Use the trained tagger for indirect speech (when its model file is present).
    pub tagger: bool,
    /// Keep quoted terms (scare quotes, titles) as kind `term`.
    pub keep_terms: bool,
}

impl Default for QuotesConfig {
    fn default() -> Self {
        QuotesConfig { models: "models".into(), tagger: true, keep_terms: true }
    }
}

/// File name of the tagger model inside the models folder.
pub const MODEL_FILE: &str = "quotes-tagger.bin";

/// The word clusters of a models folder, as the tagger's features read them (an empty table
/// when the folder has none).
pub fn word_clusters(models_dir: &Path) -> anyhow::Result<Arc<Gazetteer>> {
    let mut g = Gazetteer::default();
    let p = models_dir.join(crate::entities::CLUSTERS_FILE);
    if p.exists() {
        g.load_clusters(&p)?;
    }
    Ok(Arc::new(g))
}

/// The loaded quote extractor.
pub struct QuoteExtractor {
    tagger: Option<tagger::Tagger>,
    keep_terms: bool,
}

/// One attribution in byte coordinates, before conversion to a [`Quote`]: what the
/// evaluation scores.
#[derive(Debug, Clone)]
pub struct Attribution {
    /// Kind of the quote.
    pub kind: QuoteKind,
    /// Content segments (marks included, as PolNeAR annotates them).
    pub content: Vec<(usize, usize)>,
    /// Cue span.
    pub cue: Option<(usize, usize)>,
    /// Speaker span.
    pub source: Option<(usize, usize)>,
}

impl QuoteExtractor {
    /// Loads what it needs from `models_dir` and the config. A missing tagger model is not
    /// an error: the rules then cover indirect speech alone.
    pub fn load(models_dir: &Path, config: &QuotesConfig) -> anyhow::Result<QuoteExtractor> {
        QuoteExtractor::load_with(models_dir, config, None)
    }

    /// [`QuoteExtractor::load`], with the word clusters of an entity recognizer loaded from the
    /// same folder (`lexicon`), so that the table is read and held once.
    pub fn load_with(models_dir: &Path, config: &QuotesConfig, lexicon: Option<Arc<Gazetteer>>) -> anyhow::Result<QuoteExtractor> {
        let path = models_dir.join(MODEL_FILE);
        let tagger = if config.tagger && path.exists() {
            let lex = match lexicon {
                Some(l) if l.clusters_id() != 0 => l,
                _ => word_clusters(models_dir)?,
            };
            if lex.clusters_id() == 0 {
                tracing::warn!("word clusters {} not found: the quote tagger runs without them and finds less", models_dir.join(crate::entities::CLUSTERS_FILE).display());
            }
            Some(tagger::Tagger::load(&path, lex)?)
        } else {
            if config.tagger {
                tracing::warn!("quote tagger model {} not found: indirect speech from rules only", path.display());
            }
            None
        };
        Ok(QuoteExtractor { tagger, keep_terms: config.keep_terms })
    }

    /// An extractor with the rules only (no model files).
    pub fn rules_only() -> QuoteExtractor {
        QuoteExtractor { tagger: None, keep_terms: true }
    }

    /// An extractor with the given tagger.
    pub fn with_tagger(t: tagger::Tagger) -> QuoteExtractor {
        QuoteExtractor { tagger: Some(t), keep_terms: true }
    }

    /// The rule and tagger output for one document, before conversion.
    fn found(&self, doc: &rules::Doc) -> Vec<rules::Found> {
        let mut found = rules::find(doc);
        if let Some(t) = &self.tagger {
            let tagged = t.tag_with(doc, &found);
            found = tagger::combine(doc, found, tagged);
        }
        found
    }

    /// Every quote in `text`; `mentions` are the document's entity mentions (may be empty),
    /// sorted by start. `Quote::speaker_mention` indexes into `mentions`.
    pub fn extract(&self, text: &str, mentions: &[Mention]) -> Vec<Quote> {
        let doc = rules::Doc::new(text);
        let found = self.found(&doc);
        let tok_span = |r: (usize, usize)| -> (usize, usize) { (doc.toks[r.0].start as usize, doc.toks[r.1 - 1].end as usize) };
        let speakers: Vec<Option<(usize, usize)>> = found.iter().map(|f| f.speaker.map(tok_span)).collect();
        let sent_starts: Vec<usize> = doc.sents.iter().filter(|s| s.0 < doc.toks.len()).map(|s| doc.toks[s.0].start as usize).collect();
        let resolved = resolve::resolve(text, &speakers, mentions, &sent_starts);
        let mut out = Vec::with_capacity(found.len());
        let mut seen = std::collections::HashSet::with_capacity(found.len());
        for (i, f) in found.iter().enumerate() {
            if f.kind == QuoteKind::Term && !self.keep_terms {
                continue;
            }
            // A speaker and a cue whose content was not found report nothing: such a row
            // would have no text, and its id (made from the content's place) would not be
            // its own.
            if f.content.0 >= f.content.1 {
                continue;
            }
            // Two finds of one quotation (a partial quote holding two quoted fragments
            // reaches the same reported content from each) are one row: the first.
            if !seen.insert((f.kind, f.content)) {
                continue;
            }
            out.push(Quote {
                kind: f.kind,
                content: Span::new(f.content.0, f.content.1),
                cue: f.cue.map(tok_span).map(|(a, b)| Span::new(a, b)),
                speaker: f.speaker.map(|r| tok_span(doc.speaker_phrase(r, f.cue, f.content_marked))).map(|(a, b)| Span::new(a, b)),
                speaker_mention: resolved[i],
                confidence: f.confidence,
            });
        }
        out
    }

    /// Attributions as PolNeAR annotates them: split quotes sharing a cue become one
    /// attribution with a discontinuous content, a quotation's content takes in the "that"
    /// introducing it and a speaker what describes it; terms are left out.
    pub fn attributions(&self, text: &str) -> Vec<Attribution> {
        let doc = rules::Doc::new(text);
        let found = self.found(&doc);
        attributions_of(text, &doc, &found)
    }
}

/// The attributions of the quotes found in one document (see [`QuoteExtractor::attributions`]).
fn attributions_of(text: &str, doc: &rules::Doc, found: &[rules::Found]) -> Vec<Attribution> {
    let tok_span = |r: (usize, usize)| -> (usize, usize) { (doc.toks[r.0].start as usize, doc.toks[r.1 - 1].end as usize) };
    let mut out: Vec<Attribution> = Vec::new();
    let mut by_cue: std::collections::HashMap<(usize, usize), usize> = std::collections::HashMap::new();
    let mut cores: Vec<Option<(usize, usize)>> = Vec::new();
    for f in found {
        if f.kind == QuoteKind::Term {
            continue;
        }
        let cue = f.cue.map(tok_span);
        // Attributions are matched on the speaker as found; they report it with what
        // describes it.
        let core = f.speaker.map(tok_span);
        let source = f.speaker.map(|r| tok_span(doc.speaker_phrase(r, f.cue, f.content_marked)));
        let content: Vec<(usize, usize)> = if f.content_marked.1 > f.content_marked.0 { vec![(doc.lead_in_start(f.content_marked.0), f.content_marked.1)] } else { Vec::new() };
        if let Some(c) = cue {
            // Words outside marks that share the cue of a quotation in marks are not a
            // piece of that quotation: they stand alone, their cue and source already
            // reported with the quotation.
            if by_cue.get(&c).is_some_and(|&k| f.kind != QuoteKind::Direct && opens_with_mark(text, &out[k].content) && !content.is_empty() && !opens_with_mark(text, &content)) {
                out.push(Attribution { kind: f.kind, content, cue: None, source: None });
                cores.push(core);
                continue;
            }
            if let Some(&k) = by_cue.get(&c) {
                out[k].content.extend(content);
                if out[k].source.is_none() {
                    out[k].source = source;
                    cores[k] = core;
                }
                continue;
            }
            by_cue.insert(c, out.len());
        } else if f.continued && core.is_some() {
            // The same speaker's previous quote, a few attributions back at most.
            let from = out.len().saturating_sub(3);
            if let Some(k) = (from..out.len()).rev().find(|&k| cores[k] == core) {
                out[k].content.extend(content);
                continue;
            }
        }
        out.push(Attribution { kind: f.kind, content, cue, source });
        cores.push(core);
    }
    for a in &mut out {
        join_content(text, &mut a.content);
    }
    out
}

/// True when the first of `content`'s segments opens with a quote mark.
fn opens_with_mark(text: &str, content: &[(usize, usize)]) -> bool {
    content.first().is_some_and(|&(a, _)| text[a..].starts_with(text::is_quote_char))
}

/// Joins an attribution's content segments that only a conjunction or a comma separates
/// ("he wishes he could have stayed longer | but | that his team did everything it could"):
/// what one cue introduces on both sides of "but" or "and" is one thing said, and the
/// annotation convention marks it as one span.
fn join_content(text: &str, content: &mut Vec<(usize, usize)>) {
    if content.len() < 2 {
        return;
    }
    content.sort_unstable();
    let mut out: Vec<(usize, usize)> = Vec::with_capacity(content.len());
    for &(a, b) in content.iter() {
        if let Some(last) = out.last_mut() {
            if a >= last.1 && text.get(last.1..a).is_some_and(conjunction_gap) {
                last.1 = last.1.max(b);
                continue;
            }
        }
        out.push((a, b));
    }
    *content = out;
}

/// True when `gap` holds a conjunction (but, and, or, yet) and nothing else apart from
/// commas and spaces.
fn conjunction_gap(gap: &str) -> bool {
    let mut words = 0;
    for w in gap.split(|c: char| c.is_whitespace() || c == ',').filter(|w| !w.is_empty()) {
        if !matches!(w.to_ascii_lowercase().as_str(), "but" | "and" | "or" | "yet") {
            return false;
        }
        words += 1;
    }
    words == 1
}

#[cfg(test)]
mod tests;
