//! The command line as typed (clap). `main.rs` turns it into library calls; nothing here
//! does work.

use std::path::PathBuf;

use clap::{Args, Parser, Subcommand, ValueEnum};

use crate::run::ProgressMode;
use crate::write::Format;

/// newsmill: entities, quotes and overlapping reports from raw news text, as Parquet and CSV tables.
#[derive(Debug, Parser)]
#[command(name = "newsmill", version, about, propagate_version = true)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run a pipeline: read inputs, extract, write tables.
    Run(RunArgs),
    /// Parse and check pipeline files, reporting every problem at once.
    Validate {
        /// Pipeline files to check.
        #[arg(required = true)]
        pipelines: Vec<PathBuf>,
    },
    /// Print every table and column with its type and description.
    Schema,
    /// Score an extractor on annotated data.
    #[command(subcommand)]
    Eval(EvalCommand),
}

/// `newsmill run`.
#[derive(Debug, Args)]
pub struct RunArgs {
    /// The pipeline file.
    #[arg(default_value = "pipelines/default.toml")]
    pub pipeline: PathBuf,
    /// Files, folders or globs to read instead of the pipeline's inputs (repeatable).
    #[arg(long = "input", value_name = "PATH")]
    pub inputs: Vec<String>,
    /// Output folder instead of the pipeline's.
    #[arg(long, value_name = "DIR")]
    pub output: Option<PathBuf>,
    /// Output format instead of the pipeline's.
    #[arg(long, value_enum)]
    pub format: Option<Format>,
    /// Worker threads (default: all cores).
    #[arg(long, value_name = "N")]
    pub threads: Option<std::num::NonZeroUsize>,
    /// Progress bars on stderr.
    #[arg(long, value_enum, default_value = "auto")]
    pub progress: ProgressMode,
    /// Log format on stderr (default: human on a terminal, JSON lines otherwise).
    #[arg(long, value_enum)]
    pub log_format: Option<LogFormat>,
    /// Reprocess every input, even when nothing changed since the last run.
    #[arg(long)]
    pub full: bool,
    /// Exit 3 (after committing) when more than N records, or P% of them, were refused.
    #[arg(long, value_name = "N|P%")]
    pub max_rejects: Option<crate::run::MaxRejects>,
    /// Print the run summary on stdout.
    #[arg(long, value_enum)]
    pub summary: Option<SummaryFormat>,
}

/// Log formats.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Summary formats for stdout.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum SummaryFormat {
    /// The run manifest as JSON.
    Json,
    /// The one-screen human summary.
    Human,
}

/// `newsmill eval ...`.
#[derive(Debug, Subcommand)]
pub enum EvalCommand {
    /// Entity recognition on a CoNLL-format file (gold tokenization).
    Ner {
        /// CoNLL file (word POS chunk NER columns, IOB tags).
        #[arg(long)]
        conll: PathBuf,
        /// Model folder.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Quote attribution on a PolNeAR-style brat folder.
    Quotes {
        /// Folder with text/*.txt and attributions/*.ann.
        #[arg(long)]
        polnear: PathBuf,
        /// Model folder.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
    },
    /// Duplicate or story clustering on JSONL or CSV with gold cluster labels.
    Dedup {
        /// JSONL or CSV file.
        #[arg(long)]
        input: PathBuf,
        /// Field or column holding the text.
        #[arg(long, default_value = "text")]
        text_field: String,
        /// Field or column holding the gold cluster label.
        #[arg(long)]
        gold_field: String,
        /// Field or column holding the document id.
        #[arg(long)]
        id_field: Option<String>,
        /// Which tier to score.
        #[arg(long, value_enum, default_value = "copies")]
        level: Level,
        /// Score with the overlap thresholds of this pipeline file (its `overlap` stage)
        /// instead of the defaults.
        #[arg(long)]
        pipeline: Option<PathBuf>,
        /// Folder of the model files with which the story tier's entities and quotes are
        /// found, as in a pipeline run with every stage on.
        #[arg(long, default_value = "models")]
        models: PathBuf,
        /// Score the story tier on the texts alone, without the entity and quote stages.
        #[arg(long)]
        text_only: bool,
        /// Print one JSON object.
        #[arg(long)]
        json: bool,
        /// Also write every document's id, gold and predicted cluster and text to this CSV file.
        #[arg(long)]
        predictions: Option<PathBuf>,
    },
}

/// Tiers `eval dedup` can score.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Level {
    /// Near-duplicate copies.
    Copies,
    /// Same-event stories.
    Stories,
}
