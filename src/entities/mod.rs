//! Entity recognition (per document) and linking mentions to canonical entities (whole run).
//!
//! STUB: the interface the pipeline calls; the recognizer and linker fill it in.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::record::{EntityLabel, Mention};

/// `[[stage]] type = "extract_entities"` in a pipeline file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct EntitiesConfig {
    /// Folder holding the shipped model files, relative to the working directory.
    pub models: String,
}

impl Default for EntitiesConfig {
    fn default() -> Self {
        EntitiesConfig { models: "models".into() }
    }
}

/// The loaded recognizer: statistical tagger, gazetteers and numeric rules.
pub struct Recognizer {}

impl Recognizer {
    /// Loads the model files from `models_dir`.
    pub fn load(_models_dir: &Path) -> anyhow::Result<Recognizer> {
        Ok(Recognizer {})
    }

    /// Every mention in `text`, sorted by start, non-overlapping, byte spans.
    pub fn extract(&self, _text: &str) -> Vec<Mention> {
        Vec::new()
    }
}

/// One canonical entity of a run (a row of the `entities` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct EntityRow {
    /// Stable hash of the canonical key.
    pub entity_id: String,
    /// Label of the canonical entity.
    pub label: EntityLabel,
    /// Canonical name.
    pub name: String,
    /// Every surface form seen, sorted.
    pub aliases: Vec<String>,
    /// Number of mentions linked to it.
    pub n_mentions: u64,
    /// Number of documents with at least one such mention.
    pub n_documents: u64,
}

/// The result of linking a run's mentions.
#[derive(Debug, Default, Clone)]
pub struct Linked {
    /// For each input document, for each of its mentions, the entity id (None: not linked).
    pub mention_entity: Vec<Vec<Option<String>>>,
    /// The canonical entities, sorted by entity_id.
    pub entities: Vec<EntityRow>,
}

/// Links the mentions of every document of a run into canonical entities.
/// `docs[i]` is (document text, its mentions).
pub fn link(docs: &[(&str, &[Mention])]) -> Linked {
    Linked {
        mention_entity: docs.iter().map(|(_, m)| vec![None; m.len()]).collect(),
        entities: Vec::new(),
    }
}

/// `newsmill eval ner --conll FILE [--json]`: returns the report to print.
pub fn eval_conll(_models_dir: &Path, _conll: &Path, _json: bool) -> anyhow::Result<String> {
    anyhow::bail!("entity evaluation is not built yet")
}
