//! Overlapping reports (whole run): copies, same-story clusters, the same quote across reports.
//!
//! A whole-run (barrier) stage in three tiers, each a named sub-step with its own thresholds:
//! [`copies`] (exact and near copies: MinHash + LSH + verification + union-find),
//! [`stories`] (different reports of the same event: TF-IDF, shared names, time, average
//! linkage) and [`quotes`] (the same utterance across reports). Ids are xxh3 hashes of
//! content ([`ids`]); the output does not depend on input order or thread count.

use std::collections::HashMap;

use rayon::prelude::*;
use serde::{Deserialize, Serialize};

pub mod copies;
pub mod eval;
pub mod ids;
pub mod lsh;
pub mod minhash;
pub mod quotes;
pub mod shingle;
pub mod spill;
pub mod stories;
pub mod unionfind;

pub use copies::{CopiesConfig, DocSignature};
pub use minhash::{SignatureMetadata, MINHASH_SEED, NUM_PERM, SIGNATURE_VERSION};
pub use quotes::QuoteClustersConfig;
pub use stories::StoriesConfig;

/// `[[stage]] type = "overlap"` in a pipeline file; one sub-table per tier
/// (`[stage.copies]`, `[stage.stories]`, `[stage.quotes]`).
#[derive(Debug, Clone, Deserialize, Serialize, Default, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OverlapConfig {
    /// Copy tier thresholds.
    pub copies: CopiesConfig,
    /// Story tier thresholds.
    pub stories: StoriesConfig,
    /// Quote tier thresholds.
    pub quotes: QuoteClustersConfig,
}

impl OverlapConfig {
    /// Every problem with the configuration, at once (empty when valid).
    pub fn validate(&self) -> Vec<String> {
        let mut p = self.copies.validate();
        p.extend(self.stories.validate());
        p.extend(self.quotes.validate());
        p
    }

    /// What the copy signatures depend on (seed, permutations, shingles, bands), for the run
    /// metadata: signatures are comparable across runs while this stays the same.
    pub fn signature_metadata(&self) -> SignatureMetadata {
        minhash::metadata(self.copies.bands, self.copies.rows)
    }
}

/// What the overlap stage keeps of one document: the copy signature, the story terms (at most
/// [`stories::MAX_DOC_TERMS`]) and a headline, never the text, so that its memory grows with
/// the number of documents and not with their length. Computed per document, in parallel,
/// while the text is at hand ([`prepare`]); serializable, so shards can write them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PreparedDoc {
    /// The copy tier's signature (also the document's id, time, length and word count).
    pub sig: DocSignature,
    /// The story tier's terms of the text (hashed, sorted) with their counts.
    pub terms: stories::DocTerms,
    /// The headline, or else the text's first line when it is short enough to be one.
    pub lead: Option<String>,
}

/// Prepares one document for the overlap stage.
pub fn prepare(
    doc_id: &str,
    text: &str,
    title: Option<&str>,
    published_at: Option<i64>,
    config: &OverlapConfig,
) -> PreparedDoc {
    PreparedDoc {
        sig: copies::sketch(copies::hashers(), doc_id, text, published_at),
        terms: stories::doc_terms(text, title, &config.stories),
        lead: title.map(str::to_string).or_else(|| {
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty())
                .filter(|l| l.chars().count() <= 200)
                .map(str::to_string)
        }),
    }
}

/// What a tier sees of one prepared document.
#[derive(Debug, Clone)]
pub struct Doc<'a> {
    /// Its prepared form.
    pub prepared: &'a PreparedDoc,
    /// Canonical entity ids of the document's name mentions, each with its number of
    /// mentions.
    pub entity_ids: EntityCounts<'a>,
}

/// One document's canonical entities with their numbers of mentions (a view into
/// [`DocEntities`]).
#[derive(Debug, Clone, Copy, Default)]
pub struct EntityCounts<'a> {
    items: &'a [(u32, u32)],
    names: &'a [&'a str],
}

impl<'a> EntityCounts<'a> {
    /// True when the document has no linked entity.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// (entity id, mentions), in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = (&'a str, u32)> + 'a {
        let names = self.names;
        self.items.iter().map(move |&(e, c)| (names[e as usize], c))
    }
}

/// Every document's canonical entities with their numbers of mentions, in one flat array:
/// an entity is a 32-bit index into the run's entity ids, not a string per document.
#[derive(Debug, Clone, Default)]
pub struct DocEntities<'a> {
    names: Vec<&'a str>,
    /// `items[offsets[i]..offsets[i + 1]]` are document `i`'s.
    offsets: Vec<usize>,
    items: Vec<(u32, u32)>,
}

impl<'a> DocEntities<'a> {
    /// An empty list over the run's entity ids (`names[e]` is entity `e`'s id).
    pub fn new(names: Vec<&'a str>) -> DocEntities<'a> {
        DocEntities { names, offsets: vec![0], items: Vec::new() }
    }

    /// Adds the next document's (entity index, mentions) pairs.
    ///
    /// Panics when an index is not one of the entity ids given to [`DocEntities::new`].
    pub fn push_doc(&mut self, entities: impl IntoIterator<Item = (u32, u32)>) {
        for (e, c) in entities {
            assert!((e as usize) < self.names.len(), "entity index {e} out of range");
            self.items.push((e, c));
        }
        self.offsets.push(self.items.len());
    }

    /// Document `i`'s entities (none when `i` is out of range).
    pub fn get(&self, i: usize) -> EntityCounts<'_> {
        match (self.offsets.get(i), self.offsets.get(i + 1)) {
            (Some(&a), Some(&b)) => EntityCounts { items: &self.items[a..b], names: &self.names },
            _ => EntityCounts::default(),
        }
    }
}

impl<'a> Doc<'a> {
    /// The document's id.
    pub fn doc_id(&self) -> &'a str {
        &self.prepared.sig.doc_id
    }

    /// Publication time, microseconds since the Unix epoch, UTC.
    pub fn published_at(&self) -> Option<i64> {
        self.prepared.sig.published_at
    }
}

/// What the overlap stage is given of one document with its text (see [`run`]).
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
    /// For each input quote, its cluster: an index into `quote_clusters` (none for a quote
    /// without words).
    pub quote_cluster_of: Vec<Option<u32>>,
    /// The quote clusters, sorted by id.
    pub quote_clusters: Vec<QuoteClusterRow>,
}

/// Runs the three tiers over a run's documents (with their texts) and quotes: prepares every
/// document in parallel, then [`run_prepared`].
pub fn run(docs: &[OverlapDoc], quotes: &[OverlapQuote], config: &OverlapConfig) -> OverlapOutput {
    let prepared: Vec<PreparedDoc> = docs
        .par_iter()
        .map(|d| prepare(d.doc_id, d.text, d.title, d.published_at, config))
        .collect();
    let mut index: HashMap<&str, u32> = HashMap::new();
    let mut names: Vec<&str> = Vec::new();
    let per_doc: Vec<Vec<(u32, u32)>> = docs
        .iter()
        .map(|d| {
            let ids = d.entity_ids.iter().map(|&e| {
                *index.entry(e).or_insert_with(|| {
                    names.push(e);
                    names.len() as u32 - 1
                })
            });
            mention_counts(ids)
        })
        .collect();
    let mut entities = DocEntities::new(names);
    for d in per_doc {
        entities.push_doc(d);
    }
    run_prepared(prepared, &entities, quotes, config)
}

/// Entities with their number of occurrences, in order of first occurrence.
fn mention_counts(ids: impl Iterator<Item = u32>) -> Vec<(u32, u32)> {
    let mut out: Vec<(u32, u32)> = Vec::new();
    for e in ids {
        match out.iter_mut().find(|x| x.0 == e) {
            Some(x) => x.1 += 1,
            None => out.push((e, 1)),
        }
    }
    out
}

/// Runs the three tiers over prepared documents, each with the canonical entity ids of its
/// name mentions and their counts (`entity_ids[i]` for `docs[i]`), and the run's quotes.
///
/// The documents are consumed tier by tier: the copy signatures are freed once the copy tier
/// is done, the story terms once the story vectors are built, so the stage's peak memory is
/// not the sum of the tiers'.
///
/// The result depends only on the set of documents and quotes, never on their order or the
/// thread count: the tiers see the documents sorted by `doc_id` (then content), and the rows
/// are mapped back to input order.
pub fn run_prepared(
    docs: Vec<PreparedDoc>,
    entity_ids: &DocEntities,
    quotes: &[OverlapQuote],
    config: &OverlapConfig,
) -> OverlapOutput {
    run_any(docs, None, entity_ids, Quotes::Memory(quotes), config).expect("documents held in memory are read without I/O")
}

/// What the story tier needs of a quote whose text was spilled (see [`finish_spilled`]).
#[derive(Debug, Clone)]
pub struct SpilledQuote<'a> {
    /// Index into the `docs` slice.
    pub doc: usize,
    /// The quote's [`stories::quote_key`] (from its text, before it was spilled).
    pub story_key: Option<u64>,
    /// Canonical speaker, when resolved.
    pub speaker_entity_id: Option<&'a str>,
}

/// The overlap stage once its copy tier is done: the documents in the tiers' order with
/// their copy assignments, and the spill the later tiers read back. The copy tier needs
/// neither the run's entities nor its quotes, so a run does it while it links entities.
pub struct CopiesDone {
    /// `order[r]` is the input index of the tiers' `r`-th document; `rank` the inverse.
    order: Vec<usize>,
    rank: Vec<usize>,
    sorted: Vec<PreparedDoc>,
    assignments: Vec<copies::CopyAssignment>,
    spill: Option<spill::SpilledDocs>,
}

/// [`run_prepared`] over documents whose story terms, MinHash signatures and quote texts were
/// spilled to a file while they were prepared (`spill` holds `docs[i]`'s terms and signatures
/// as its `i`-th entry, and the text of the run's `k`-th quote as its `k`-th quote; the
/// documents' own terms and signatures are empty), in two steps. This first one sorts the
/// documents into the tiers' order and runs the copy tier; it fails when the spill does not
/// hold one entry per document or cannot be read back.
pub fn copies_first(docs: Vec<PreparedDoc>, spill: spill::SpilledDocs, config: &OverlapConfig) -> std::io::Result<CopiesDone> {
    if spill.len() != docs.len() {
        return Err(std::io::Error::other(format!("the spill holds {} documents, the run {}", spill.len(), docs.len())));
    }
    start(docs, Some(spill), config)
}

/// The second step after [`copies_first`]: the story and quote tiers, and the rows. Fails
/// when the spill does not hold one text per quote (`quotes[k]`'s is its `k`-th), or cannot
/// be read back.
pub fn finish_spilled(
    done: CopiesDone,
    entity_ids: &DocEntities,
    quotes: &[SpilledQuote],
    config: &OverlapConfig,
) -> std::io::Result<OverlapOutput> {
    finish(done, entity_ids, Quotes::Spilled(quotes), config)
}

/// The run's quotes, with their texts in memory or in the spill.
enum Quotes<'a> {
    Memory(&'a [OverlapQuote<'a>]),
    Spilled(&'a [SpilledQuote<'a>]),
}

fn run_any(
    docs: Vec<PreparedDoc>,
    spill: Option<spill::SpilledDocs>,
    entity_ids: &DocEntities,
    quotes: Quotes,
    config: &OverlapConfig,
) -> std::io::Result<OverlapOutput> {
    finish(start(docs, spill, config)?, entity_ids, quotes, config)
}

/// Sorts the documents into the tiers' order and runs tier 1 (copies) on their signatures,
/// which nothing needs afterwards.
fn start(docs: Vec<PreparedDoc>, spill: Option<spill::SpilledDocs>, config: &OverlapConfig) -> std::io::Result<CopiesDone> {
    let key = |d: &PreparedDoc| {
        let s = &d.sig;
        (s.doc_id.clone(), s.content_hash, s.n_chars, s.published_at)
    };
    let mut order: Vec<usize> = (0..docs.len()).collect();
    order.par_sort_by_cached_key(|&i| key(&docs[i]));
    let mut rank = vec![0usize; docs.len()];
    for (r, &i) in order.iter().enumerate() {
        rank[i] = r;
    }
    let mut slots: Vec<Option<PreparedDoc>> = docs.into_iter().map(Some).collect();
    let mut sorted: Vec<PreparedDoc> = order
        .iter()
        .map(|&i| slots[i].take().expect("each document once"))
        .collect();
    drop(slots);
    tracing::debug!(docs = sorted.len(), spilled = spill.is_some(), rss_mb = crate::mem::rss_mb(), "overlap input");
    let t = std::time::Instant::now();
    let assignments = match &spill {
        Some(spill) => {
            // Read back into one arena in spill order; tier document rank[k] is spilled k.
            let minhashes = spill.minhashes()?;
            let mut views: Vec<Option<copies::SigView>> = vec![None; sorted.len()];
            for (k, &r) in rank.iter().enumerate() {
                views[r] = Some(copies::SigView { facts: &sorted[r].sig, minhash: minhashes.word(k), char_minhash: minhashes.chars(k) });
            }
            let views: Vec<copies::SigView> = views.into_iter().map(|v| v.expect("one spilled entry per document")).collect();
            copies::cluster_views(&views, &config.copies)
        }
        None => {
            let sigs: Vec<&DocSignature> = sorted.iter().map(|d| &d.sig).collect();
            copies::cluster(&sigs, &config.copies)
        }
    };
    for d in sorted.iter_mut() {
        d.sig.free_minhashes();
    }
    tracing::debug!(tier = "copies", seconds = t.elapsed().as_secs_f64(), peak_rss_mb = crate::mem::peak_rss_mb(), rss_mb = crate::mem::rss_mb(), "overlap tier done");
    Ok(CopiesDone { order, rank, sorted, assignments, spill })
}

/// Tiers 2 (stories, seeded with the copy clusters) and 3 (quotes) after [`start`], and the
/// rows in input order.
fn finish(done: CopiesDone, entity_ids: &DocEntities, quotes: Quotes, config: &OverlapConfig) -> std::io::Result<OverlapOutput> {
    let CopiesDone { order, rank, mut sorted, assignments, spill } = done;
    let sorted_entities: Vec<EntityCounts> = order.iter().map(|&i| entity_ids.get(i)).collect();
    let tier_doc = |doc: usize| rank.get(doc).copied().unwrap_or(usize::MAX);
    let n_quotes = match quotes {
        Quotes::Memory(q) => q.len(),
        Quotes::Spilled(q) => q.len(),
    };
    // Tier 2 needs of the quotes only their story keys, by the tiers' document index.
    let story_keys: Vec<(usize, u64)> = match quotes {
        Quotes::Memory(q) => q.iter().filter_map(|q| Some((tier_doc(q.doc), stories::quote_key(q.text)?))).collect(),
        Quotes::Spilled(q) => q.iter().filter_map(|q| Some((tier_doc(q.doc), q.story_key?))).collect(),
    };
    let t = std::time::Instant::now();
    // The terms are not needed once the vectors are built.
    let canonical: Vec<usize> = assignments.iter().map(|a| a.canonical).collect();
    let terms = match &spill {
        Some(spill) => stories::Terms::Spilled { spill, rank: &rank },
        None => stories::Terms::Memory(sorted.iter_mut().map(|d| std::mem::take(&mut d.terms)).collect()),
    };
    let vecs = stories::vectors(&views(&sorted, &sorted_entities), terms, &story_keys, &config.stories)?;
    let story = stories::cluster(&views(&sorted, &sorted_entities), &canonical, vecs, &config.stories);
    tracing::debug!(tier = "stories", seconds = t.elapsed().as_secs_f64(), peak_rss_mb = crate::mem::peak_rss_mb(), rss_mb = crate::mem::rss_mb(), "overlap tier done");
    drop(story_keys);
    // Tier 3: quotes, with their texts (read back from the spill only now), in the tiers'
    // document order.
    let t = std::time::Instant::now();
    let texts = match &quotes {
        Quotes::Spilled(q) => {
            let texts = match &spill {
                Some(spill) => spill.quote_texts()?,
                None => return Err(std::io::Error::other("spilled quotes without a spill")),
            };
            if texts.len() != q.len() {
                return Err(std::io::Error::other(format!("the spill holds {} quotes, the run {}", texts.len(), q.len())));
            }
            texts
        }
        Quotes::Memory(_) => spill::QuoteTexts::default(),
    };
    let tier_quotes: Vec<OverlapQuote> = match quotes {
        Quotes::Memory(q) => q.iter().map(|q| OverlapQuote { doc: tier_doc(q.doc), ..q.clone() }).collect(),
        Quotes::Spilled(q) => q
            .iter()
            .enumerate()
            .map(|(k, q)| OverlapQuote { doc: tier_doc(q.doc), text: texts.get(k), speaker_entity_id: q.speaker_entity_id })
            .collect(),
    };
    let mut qorder: Vec<usize> = (0..tier_quotes.len()).collect();
    qorder.sort_by(|&a, &b| {
        let (qa, qb) = (&tier_quotes[a], &tier_quotes[b]);
        (qa.doc, qa.text, qa.speaker_entity_id).cmp(&(qb.doc, qb.text, qb.speaker_entity_id))
    });
    let sorted_quotes: Vec<OverlapQuote> = qorder.iter().map(|&k| tier_quotes[k].clone()).collect();
    drop(tier_quotes);
    let docs = views(&sorted, &sorted_entities);
    let (quote_cluster_sorted, quote_clusters) = quotes::cluster(&docs, &sorted_quotes, &config.quotes);
    drop(sorted_quotes);
    drop(texts);
    tracing::debug!(tier = "quotes", seconds = t.elapsed().as_secs_f64(), peak_rss_mb = crate::mem::peak_rss_mb(), rss_mb = crate::mem::rss_mb(), "overlap tier done");
    let mut quote_cluster_of = vec![None; n_quotes];
    for (r, c) in quote_cluster_sorted.into_iter().enumerate() {
        quote_cluster_of[qorder[r]] = c;
    }
    // Rows in input order (on the pool): input document i is the tiers' rank[i].
    let duplicates: Vec<DuplicateRow> = rank
        .par_iter()
        .map(|&r| {
            let (d, a) = (&docs[r], &assignments[r]);
            DuplicateRow {
                doc_id: d.doc_id().to_string(),
                dup_cluster_id: ids::stable_id("dup", &[docs[a.canonical].doc_id()]),
                is_canonical: a.canonical == r,
                similarity: a.similarity,
                relation: a.relation.as_str().to_string(),
                story_id: story.story_id[r].clone(),
            }
        })
        .collect();
    Ok(OverlapOutput {
        duplicates,
        stories: story.rows,
        quote_cluster_of,
        quote_clusters,
    })
}

/// The tiers' view of the documents.
fn views<'a>(docs: &'a [PreparedDoc], entity_ids: &[EntityCounts<'a>]) -> Vec<Doc<'a>> {
    docs.iter()
        .zip(entity_ids)
        .map(|(p, &e)| Doc { prepared: p, entity_ids: e })
        .collect()
}

/// Which tier `newsmill eval dedup` scores.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EvalLevel {
    /// Near-duplicate copies.
    Copies,
    /// Same-event stories.
    Stories,
}

/// The fields (JSONL) or columns (CSV) `eval dedup` reads.
#[derive(Debug, Clone, Copy)]
pub struct EvalFields<'a> {
    /// The text.
    pub text: &'a str,
    /// The gold cluster label.
    pub gold: &'a str,
    /// The document id (else the record number).
    pub id: Option<&'a str>,
}

/// `newsmill eval dedup --input FILE --text-field F --gold-field G [--id-field I] [--level L]
/// [--pipeline P] [--models DIR | --text-only] [--json] [--predictions OUT.csv]`.
///
/// Reads JSONL (or CSV when the name ends in `.csv`), runs the tier with the given
/// thresholds and returns the report: human-readable lines, or with `json` one object
/// `{"ari", "pair_precision", "pair_recall", "pair_f1", "documents", "seconds"}`. The story
/// tier is given the entities and quotes that the entity and quote stages find with the model
/// files in `models` (as in a pipeline run with every stage on); without `models`, the texts
/// alone. With `predictions`, also writes every document's id, gold and predicted cluster and
/// text there.
pub fn eval_dedup(
    input: &std::path::Path,
    fields: EvalFields,
    level: EvalLevel,
    config: &OverlapConfig,
    models: Option<&std::path::Path>,
    json: bool,
    predictions: Option<&std::path::Path>,
) -> anyhow::Result<String> {
    let docs = eval::read_labelled(input, fields.text, fields.gold, fields.id)?;
    let extracted = match (level, models) {
        (EvalLevel::Stories, Some(dir)) => Some(eval::extract(&docs, dir)?),
        _ => None,
    };
    let (scores, pred) = eval::evaluate(&docs, level, config, extracted.as_ref());
    if let Some(path) = predictions {
        eval::write_predictions(path, &docs, &pred)?;
    }
    Ok(eval::report(input, level, extracted.is_some(), &scores, json))
}
