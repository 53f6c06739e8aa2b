//! Training entry point for the quote tagger.

use std::path::Path;

/// Trains the tagger on a PolNeAR-style folder and writes `out`.
pub fn train(_corpus: &Path, _out: &Path, _epochs: usize) -> anyhow::Result<String> {
    anyhow::bail!("not yet")
}
