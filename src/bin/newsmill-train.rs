//! `newsmill-train`: trains the entity tagger (what `make model` runs).
//!
//! Usage: `newsmill-train --train FILE [--dev FILE] [--models DIR] [--epochs N] [--bits B] [--seed S]`,
//! or `newsmill-train --eval FILE [--json]` to score the model in `--models`.

use std::path::PathBuf;

use clap::Parser;
use newsmill::entities::tagger::TrainConfig;
use newsmill::entities::train::{train, TrainArgs};

#[derive(Parser)]
#[command(about = "Train the newsmill entity tagger from a CoNLL file")]
struct Opts {
    /// CoNLL training file.
    #[arg(long, required_unless_present = "eval")]
    train: Option<PathBuf>,
    /// Instead of training: score the shipped model on this CoNLL file (as `newsmill eval ner`).
    #[arg(long)]
    eval: Option<PathBuf>,
    /// With --eval: print JSON.
    #[arg(long)]
    json: bool,
    /// With --eval: document-level corrections to turn off (majority, propagate, surnames).
    #[arg(long, value_delimiter = ',')]
    no_post: Vec<String>,
    /// CoNLL dev file scored after each epoch (progress only).
    #[arg(long)]
    dev: Option<PathBuf>,
    /// Models folder: gazetteers are read from it, ner.model is written to it.
    #[arg(long, default_value = "models")]
    models: PathBuf,
    /// Passes over the training data.
    #[arg(long, default_value_t = TrainConfig::default().epochs)]
    epochs: usize,
    /// log2 of the number of weight-table rows.
    #[arg(long, default_value_t = TrainConfig::default().bits)]
    bits: u32,
    /// Shuffle seed.
    #[arg(long, default_value_t = TrainConfig::default().seed)]
    seed: u64,
}

fn main() {
    let o = Opts::parse();
    if let Some(conll) = &o.eval {
        let run = || -> anyhow::Result<String> {
            let mut rec = newsmill::entities::Recognizer::load(&o.models)?;
            for p in &o.no_post {
                match p.as_str() {
                    "majority" => rec.post.majority = false,
                    "propagate" => rec.post.propagate = false,
                    "surnames" => rec.post.surnames = false,
                    other => anyhow::bail!("unknown correction {other}"),
                }
            }
            let s = newsmill::entities::eval_conll_score(&rec, conll)?;
            Ok(if o.json { s.to_json() } else { s.to_text() })
        };
        match run() {
            Ok(r) => print!("{r}"),
            Err(e) => {
                eprintln!("newsmill-train: {e:#}");
                std::process::exit(1);
            }
        }
        return;
    }
    let args = TrainArgs { train: o.train.unwrap_or_default(), dev: o.dev, models: o.models, config: TrainConfig { epochs: o.epochs, bits: o.bits, seed: o.seed } };
    if let Err(e) = train(&args) {
        eprintln!("newsmill-train: {e:#}");
        std::process::exit(1);
    }
}
