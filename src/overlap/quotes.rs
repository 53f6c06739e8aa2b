//! Quote tier (in progress).

use serde::{Deserialize, Serialize};

/// Thresholds of the quote tier (`[stage.quotes]` in a pipeline file).
#[derive(Debug, Clone, Deserialize, Serialize, PartialEq, Default)]
#[serde(deny_unknown_fields, default)]
pub struct QuoteClustersConfig {}

impl QuoteClustersConfig {
    /// Every problem with the thresholds, at once.
    pub fn validate(&self) -> Vec<String> {
        Vec::new()
    }
}

/// Clusters quotes.
pub fn cluster(_docs: &[super::OverlapDoc], quotes: &[super::OverlapQuote], _c: &QuoteClustersConfig) -> (Vec<Option<String>>, Vec<super::QuoteClusterRow>) {
    (vec![None; quotes.len()], Vec::new())
}
