//! Errors: `Error` stops a run (bad config, an unwritable output); `Reject` refuses one
//! input record, which becomes a row of `rejects` and never stops the run.

use std::path::{Path, PathBuf};

/// A failure that stops the run.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Reading or writing a file failed.
    #[error("{path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: std::io::Error,
    },
    /// The pipeline file could not be read or parsed.
    #[error("could not parse pipeline file {path}: {detail}")]
    ParsePipeline {
        /// The file.
        path: PathBuf,
        /// The parser's message.
        detail: String,
    },
    /// The pipeline file parsed but is invalid; every problem is listed.
    #[error("pipeline {path} is invalid:\n{}", problems.iter().map(|p| format!("  - {p}")).collect::<Vec<_>>().join("\n"))]
    InvalidPipeline {
        /// The file.
        path: PathBuf,
        /// Each problem, with stage and key.
        problems: Vec<String>,
    },
    /// A table did not match its declared schema (a bug, caught before writing).
    #[error("schema check failed: {0}")]
    Schema(String),
    /// Writing a table failed.
    #[error("could not write {path}: {detail}")]
    Write {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        detail: String,
    },
    /// Another run holds the output folder's lock (exit code 75).
    #[error("output folder {path} is locked by another run ({holder}); try again when it finishes")]
    Locked {
        /// The output folder.
        path: PathBuf,
        /// What the lock file says about its holder.
        holder: String,
    },
    /// A model or resource could not be loaded.
    #[error("could not load {what}: {detail}")]
    Load {
        /// What was being loaded.
        what: String,
        /// What went wrong.
        detail: String,
    },
}

impl Error {
    /// An I/O error on `path`.
    pub fn io(path: &Path, source: std::io::Error) -> Error {
        Error::Io { path: path.to_path_buf(), source }
    }

    /// The process exit code for this error: 2 usage, 75 lock held, 1 otherwise.
    pub fn exit_code(&self) -> u8 {
        match self {
            Error::ParsePipeline { .. } | Error::InvalidPipeline { .. } => 2,
            Error::Locked { .. } => 75,
            _ => 1,
        }
    }
}

/// Why an input record was refused (the `reason` column of `rejects`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RejectReason {
    /// The file could not be read.
    Unreadable,
    /// NUL-heavy or otherwise binary content.
    Binary,
    /// No text after normalization.
    Empty,
    /// A JSONL line that is not a JSON object.
    MalformedJson,
    /// A CSV row the parser could not read.
    MalformedCsv,
    /// The record has no text in the configured text field.
    MissingTextField,
    /// Larger than the per-document size cap.
    TooLarge,
    /// Compressed data that could not be decompressed.
    BadCompression,
}

impl RejectReason {
    /// The reason as written in `rejects`.
    pub fn as_str(self) -> &'static str {
        match self {
            RejectReason::Unreadable => "unreadable",
            RejectReason::Binary => "binary",
            RejectReason::Empty => "empty",
            RejectReason::MalformedJson => "malformed_json",
            RejectReason::MalformedCsv => "malformed_csv",
            RejectReason::MissingTextField => "missing_text_field",
            RejectReason::TooLarge => "too_large",
            RejectReason::BadCompression => "bad_compression",
        }
    }
}

/// One refused record.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Reject {
    /// Input file.
    pub source_file: String,
    /// Line or row, 1-based; 0 for the whole file.
    pub source_record: u64,
    /// Machine-readable reason.
    pub reason: RejectReason,
    /// Human detail.
    pub detail: String,
}
