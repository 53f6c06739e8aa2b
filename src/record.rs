//! The plain data that flows between stages: documents, entity mentions and quotes.
//!
//! Every span inside the library is a *byte* range into `Document::text` (fast to slice in
//! Rust). The writers convert byte offsets to Unicode code-point offsets once, at the edge
//! (see `write::CharIndex`), because the output contract promises code points.

use serde::{Deserialize, Serialize};

/// A half-open byte range `[start, end)` into a document's normalized text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Span {
    /// First byte of the span.
    pub start: usize,
    /// One past the last byte of the span.
    pub end: usize,
}

impl Span {
    /// Builds a span; `start <= end` is the caller's promise.
    pub fn new(start: usize, end: usize) -> Span {
        debug_assert!(start <= end);
        Span { start, end }
    }
    /// The text this span covers.
    pub fn slice<'a>(&self, text: &'a str) -> &'a str {
        &text[self.start..self.end]
    }
    /// Number of bytes covered.
    pub fn len(&self) -> usize {
        self.end - self.start
    }
    /// True when the span covers nothing.
    pub fn is_empty(&self) -> bool {
        self.start == self.end
    }
}

/// Entity labels, OntoNotes names where they exist (see DESIGN.md).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum EntityLabel {
    /// People, including fictional.
    Person,
    /// Companies, agencies, institutions.
    Org,
    /// Countries, cities, states.
    Gpe,
    /// Other places: mountains, rivers, regions.
    Loc,
    /// Nationalities, religious and political groups.
    Norp,
    /// Other names: events, products, works.
    Misc,
    /// Absolute or relative dates or periods.
    Date,
    /// Times smaller than a day.
    Time,
    /// Monetary values.
    Money,
    /// Percentages.
    Percent,
    /// Measurements.
    Quantity,
    /// Numerals that are not another type.
    Cardinal,
    /// "first", "second", "3rd".
    Ordinal,
}

impl EntityLabel {
    /// Every label, in a fixed order.
    pub const ALL: [EntityLabel; 13] = [
        EntityLabel::Person,
        EntityLabel::Org,
        EntityLabel::Gpe,
        EntityLabel::Loc,
        EntityLabel::Norp,
        EntityLabel::Misc,
        EntityLabel::Date,
        EntityLabel::Time,
        EntityLabel::Money,
        EntityLabel::Percent,
        EntityLabel::Quantity,
        EntityLabel::Cardinal,
        EntityLabel::Ordinal,
    ];

    /// The label as written in the tables ("PERSON", "GPE", ...).
    pub fn as_str(self) -> &'static str {
        match self {
            EntityLabel::Person => "PERSON",
            EntityLabel::Org => "ORG",
            EntityLabel::Gpe => "GPE",
            EntityLabel::Loc => "LOC",
            EntityLabel::Norp => "NORP",
            EntityLabel::Misc => "MISC",
            EntityLabel::Date => "DATE",
            EntityLabel::Time => "TIME",
            EntityLabel::Money => "MONEY",
            EntityLabel::Percent => "PERCENT",
            EntityLabel::Quantity => "QUANTITY",
            EntityLabel::Cardinal => "CARDINAL",
            EntityLabel::Ordinal => "ORDINAL",
        }
    }

    /// Parses the table form back.
    pub fn parse(s: &str) -> Option<EntityLabel> {
        EntityLabel::ALL.into_iter().find(|l| l.as_str() == s)
    }

    /// True for the name types the statistical model covers.
    pub fn is_name(self) -> bool {
        matches!(
            self,
            EntityLabel::Person
                | EntityLabel::Org
                | EntityLabel::Gpe
                | EntityLabel::Loc
                | EntityLabel::Norp
                | EntityLabel::Misc
        )
    }
}

/// How a mention was found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// The statistical tagger.
    Model,
    /// A deterministic recognizer (dates, money, ...).
    Rule,
    /// A gazetteer lookup.
    Gazetteer,
}

impl Method {
    /// The method as written in the tables.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Model => "model",
            Method::Rule => "rule",
            Method::Gazetteer => "gazetteer",
        }
    }
}

/// One entity mention found in one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mention {
    /// Where the name is (possessive "’s" and titles excluded).
    pub span: Span,
    /// Its type.
    pub label: EntityLabel,
    /// Which recognizer found it.
    pub method: Method,
    /// Confidence in 0..=1.
    pub score: f32,
    /// A title or role written just before the name ("Ukrainian President"), if any.
    pub title: Option<String>,
}

/// What kind of quotation a `Quote` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum QuoteKind {
    /// Speech inside quote marks.
    Direct,
    /// A quoted fragment inside the reporter's sentence.
    Partial,
    /// Reported speech without quote marks.
    Indirect,
    /// Scare quotes, titles and terms: quoted but not speech; no speaker.
    Term,
}

impl QuoteKind {
    /// The kind as written in the tables.
    pub fn as_str(self) -> &'static str {
        match self {
            QuoteKind::Direct => "direct",
            QuoteKind::Partial => "partial",
            QuoteKind::Indirect => "indirect",
            QuoteKind::Term => "term",
        }
    }

    /// Speech in quote marks (direct or partial): the words as said, which the overlap stage
    /// compares across reports.
    pub fn is_verbatim(self) -> bool {
        matches!(self, QuoteKind::Direct | QuoteKind::Partial)
    }
}

/// One quotation found in one document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Quote {
    /// Direct, partial, indirect or term.
    pub kind: QuoteKind,
    /// What was said (for direct quotes: inside the marks, marks excluded).
    pub content: Span,
    /// The attribution cue ("said", "according to"), if found.
    pub cue: Option<Span>,
    /// The speaker as written ("White House Press Secretary Karoline Leavitt", "she"), if found.
    pub speaker: Option<Span>,
    /// Index into the document's mentions of the named person the speaker resolves to.
    pub speaker_mention: Option<usize>,
    /// Confidence in 0..=1.
    pub confidence: f32,
}
