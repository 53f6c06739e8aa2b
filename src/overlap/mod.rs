//! Overlapping reports (whole run): copies, same-story clusters, the same quote across reports.
//!
//! STUB: the interface the pipeline calls; the overlap stage fills it in.

use serde::{Deserialize, Serialize};

/// `[[stage]] type = "overlap"` in a pipeline file.
#[derive(Debug, Clone, Deserialize, Serialize, Default)]
#[serde(deny_unknown_fields, default)]
pub struct OverlapConfig {}

/// What the overlap stage sees of one document.
#[derive(Debug, Clone)]
pub struct OverlapDoc<'a> {
    /// The document's id.
    pub doc_id: &'a str,
    /// Normalized body text.
    pub text: &'a str,
    /// Headline, if known.
    pub title: Option<&'a str>,
    /// Publication time, microseconds since the Unix epoch, UTC.
    pub published_at: Option<i64>,
    /// Canonical entity ids of the document's name mentions (one per mention, repeats kept).
    pub entity_ids: Vec<&'a str>,
}

/// What the overlap stage sees of one quote (direct and partial quotes of the run).
#[derive(Debug, Clone)]
pub struct OverlapQuote<'a> {
    /// Index into the `docs` slice.
    pub doc: usize,
    /// The quoted text.
    pub text: &'a str,
    /// Canonical speaker, when resolved.
    pub speaker_entity_id: Option<&'a str>,
}

/// A row of `duplicates` (one per document).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct DuplicateRow {
    /// The document.
    pub doc_id: String,
    /// Its copy cluster (a unique document is its own cluster).
    pub dup_cluster_id: String,
    /// True for the copy that stands for its cluster.
    pub is_canonical: bool,
    /// Similarity to the canonical copy (1.0 for the canonical one).
    pub similarity: f32,
    /// "unique", "exact" or "near".
    pub relation: String,
    /// Its same-event cluster.
    pub story_id: String,
}

/// A row of `stories`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoryRow {
    /// Stable id of the story.
    pub story_id: String,
    /// Number of documents in it.
    pub n_documents: u64,
    /// The document that best represents it.
    pub representative_doc_id: String,
    /// Its title (from the representative document).
    pub title: Option<String>,
    /// Most-mentioned canonical entity ids.
    pub top_entities: Vec<String>,
}

/// A row of `quote_clusters`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuoteClusterRow {
    /// Stable id of the utterance.
    pub quote_cluster_id: String,
    /// Its text (the longest version seen).
    pub text: String,
    /// Canonical speaker, when known.
    pub speaker_entity_id: Option<String>,
    /// Number of distinct documents carrying it (corroboration count).
    pub n_documents: u64,
    /// The earliest document carrying it.
    pub first_doc_id: String,
}

/// Everything the overlap stage decides.
#[derive(Debug, Clone, Default)]
pub struct OverlapOutput {
    /// One per input document, in input order.
    pub duplicates: Vec<DuplicateRow>,
    /// The story clusters, sorted by story_id.
    pub stories: Vec<StoryRow>,
    /// For each input quote, its cluster id.
    pub quote_cluster_of: Vec<Option<String>>,
    /// The quote clusters, sorted by id.
    pub quote_clusters: Vec<QuoteClusterRow>,
}

/// Runs the three tiers over a run's documents and quotes.
pub fn run(docs: &[OverlapDoc], quotes: &[OverlapQuote], _config: &OverlapConfig) -> OverlapOutput {
    let duplicates = docs
        .iter()
        .map(|d| DuplicateRow {
            doc_id: d.doc_id.to_string(),
            dup_cluster_id: d.doc_id.to_string(),
            is_canonical: true,
            similarity: 1.0,
            relation: "unique".into(),
            story_id: d.doc_id.to_string(),
        })
        .collect();
    OverlapOutput { duplicates, stories: Vec::new(), quote_cluster_of: vec![None; quotes.len()], quote_clusters: Vec::new() }
}

/// Which tier `newsmill eval dedup` scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalLevel {
    /// Near-duplicate copies.
    Copies,
    /// Same-event stories.
    Stories,
}

/// `newsmill eval dedup --input FILE --text-field F --gold-field G [--id-field I] [--level L] [--json]`.
pub fn eval_dedup(
    _input: &std::path::Path,
    _text_field: &str,
    _gold_field: &str,
    _id_field: Option<&str>,
    _level: EvalLevel,
    _json: bool,
) -> anyhow::Result<String> {
    anyhow::bail!("dedup evaluation is not built yet")
}
