//! Helpers shared by the integration tests.
#![allow(dead_code)]

use std::path::PathBuf;

/// The repository root (where Cargo.toml is).
pub fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// `../shared/corpora/<name>` if present; tests that need it skip (with a message) when not.
pub fn corpus(name: &str) -> Option<PathBuf> {
    let p = repo_root().join("..").join("shared").join("corpora").join(name);
    if p.exists() {
        Some(p)
    } else {
        eprintln!("skipping: corpus {} not found (expected ../shared/corpora beside the checkout)", p.display());
        None
    }
}

/// The built `newsmill` binary.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_newsmill"))
}
