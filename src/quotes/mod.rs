//! Quotation extraction with speakers (per document).
//!
//! STUB: the interface the pipeline calls; the quote stage fills it in.

use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::record::{Mention, Quote};

/// `[[stage]] type = "extract_quotes"` in a pipeline file.
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct QuotesConfig {
    /// Folder holding the shipped model files, relative to the working directory.
    pub models: String,
}

impl Default for QuotesConfig {
    fn default() -> Self {
        QuotesConfig { models: "models".into() }
    }
}

/// The loaded quote extractor.
pub struct QuoteExtractor {}

impl QuoteExtractor {
    /// Loads what it needs from `models_dir` and the config.
    pub fn load(_models_dir: &Path, _config: &QuotesConfig) -> anyhow::Result<QuoteExtractor> {
        Ok(QuoteExtractor {})
    }

    /// Every quote in `text`; `mentions` are the document's entity mentions (may be empty),
    /// sorted by start. `Quote::speaker_mention` indexes into `mentions`.
    pub fn extract(&self, _text: &str, _mentions: &[Mention]) -> Vec<Quote> {
        Vec::new()
    }
}

/// `newsmill eval quotes --polnear DIR [--json]`: returns the report to print.
pub fn eval_polnear(_models_dir: &Path, _dir: &Path, _json: bool) -> anyhow::Result<String> {
    anyhow::bail!("quote evaluation is not built yet")
}
